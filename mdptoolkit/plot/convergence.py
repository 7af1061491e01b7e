r"""Convergence and learning curves: residuals, error bounds and gaps per iteration, and
:math:`J(\pi_k)` of gradient or sampled methods against the DP optimum."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from .. import _validation as val
from ._common import (KEY_LABELS, _attribute_steps, _default_key, _explain_infinite,
                      _history, _integer_ticks, _labelled, _legend_below,
                      _mark_infinite, _new_axes, _plain_log_ticks, _series, _steps, _tol_of,
                      _x_label)

if TYPE_CHECKING:
    from matplotlib.axes import Axes

# which quantities share a y axis: distances in units of V, gaps in units of J, ...
_UNITS = {"error_bound": "V", "residual": "V", "error": "V", "critic_error": "V",
          "q_error": "V", "gap": "J", "J": "J"}


def convergence(results: Any, *, key: str | None = None, logy: bool = True,
                x: Literal["iteration", "elapsed"] = "iteration",
                tol: float | Literal[False] | None = None, labels: Sequence[str] | None = None,
                ax: Axes | None = None) -> Axes:
    r"""Convergence curves: one line per result, labelled by method, on a log y axis.

    Parameters
    ----------
    results : result, sequence of results, or mapping label -> result
        :class:`~mdptoolkit.SolverResult`, :class:`~mdptoolkit.GradientResult` or any result
        with a ``history`` mapping.
    key : str, optional
        The history entry to plot for every result. Default: each result's natural measure —
        ``gap`` (:math:`J^* - J(\pi_k)`) when the history has one (gradient and sampled
        methods); else ``error_bound`` (value iteration and modified policy iteration with
        :math:`\gamma < 1`: the guaranteed :math:`\max_s|V_k(s) - V^*(s)|`); else
        ``residual`` (:math:`\gamma = 1`, backward induction); else ``error`` (sampled
        evaluation: :math:`\max_s|V_k(s) - V^\pi(s)|`); for policy iteration, which is exact,
        ``gap`` = last ``J`` minus ``J``; else the first entry of the history.
    logy : bool, default True
        Log scale on y, with plain tick labels; entries <= 0 are left out: a method that
        reaches its target exactly (policy iteration's gap, value iteration's residual on an
        acyclic problem) gets a ``v`` marker at the bottom of the axes at the *first*
        iteration where it does, with its own legend entry.
    x : {"iteration", "elapsed"}, default "iteration"
        Horizontal axis: the iteration number (0 = the start, when the history records it;
        for sampled methods the history's ``episode``) or the ``elapsed`` seconds in the
        history.
    tol : float or False, optional
        Draw a dotted horizontal line at ``tol``. Default: the ``tol`` of each converged
        result whose stopping rule compared the plotted quantity with it (read from its
        message); False draws none.
    labels : sequence of str, optional
        Legend labels (default: the methods' names, numbered when repeated).
    ax : matplotlib.axes.Axes, optional

    Returns
    -------
    matplotlib.axes.Axes
        Quantities in different units — distances to :math:`V^*` (``error_bound``,
        ``residual``, ``error``) and gaps in :math:`J` (``gap``) — are not drawn on one
        scale: the first kind goes on ``ax``, the others on a twin y axis on the right
        (``ax.figure.axes[-1]`` when ``ax`` was made here), dashed. The legend, one entry per
        curve, marker and reference line, sits below the axes, off the data.

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import numpy as np, mdptoolkit as mt
    >>> from mdptoolkit import envs, plot
    >>> mdp = envs.sutton_barto_5x5().mdp
    >>> vi = mt.value_iteration(mdp, tol=1e-6)
    >>> ax = plot.convergence([vi, mt.policy_iteration(mdp)])
    >>> ax.get_yscale(), ax.get_lines()[0].get_label()  # mixed measures: named in the legend
    ('log', 'value_iteration: error bound')
    >>> np.array_equal(ax.get_lines()[0].get_ydata(), vi.history["error_bound"])
    True
    >>> twin = ax.figure.axes[-1]  # policy iteration's J-gap: another quantity, another axis
    >>> twin.get_lines()[0].get_label(), twin.get_ylabel()
    ('policy_iteration: gap (right axis)', 'gap $J^* - J(\\pi_k)$')
    """
    val.check_choice(x, "x", ("iteration", "elapsed"))
    pairs = _labelled(results, labels)
    ax = _new_axes(ax, (7, 4.5))
    drawn = []  # (label, result, key, xs, y)
    for label, result in pairs:
        k = key if key is not None else _default_key(result)
        y = _series(result, k, label)
        if x == "elapsed":
            if "elapsed" not in _history(result):
                raise ValueError(f"x='elapsed' needs an 'elapsed' history; {label!r} has none")
            xs = np.asarray(_history(result)["elapsed"], dtype=np.float64)[-y.size:]
        else:
            xs = _steps(result, y.size)
        drawn.append((label, result, k, xs, y))
    # quantities of different units (a distance to V*, a gap in J, a gradient norm) get
    # their own y axis: the first on ax, the others on a twin axis on the right
    units = list(dict.fromkeys(_UNITS.get(k, k) for _, _, k, _, _ in drawn))
    axes = {units[0]: ax}
    if len(units) > 1:
        twin = ax.twinx()
        for unit in units[1:]:
            axes[unit] = twin
    for a in dict.fromkeys(axes.values()):
        if logy:
            a.set_yscale("log", nonpositive="mask")
            positive = [y for _, _, k, _, y in drawn if axes[_UNITS.get(k, k)] is a
                        and np.any(np.isfinite(y) & (y > 0))]
            if not positive:  # every curve is 0 from the start (e.g. an optimal policy0)
                a.set_ylim(1e-3, 1.0)
    mixed_keys = len({k for _, _, k, _, _ in drawn}) > 1
    tols: dict[tuple[float, int], tuple[float, Axes]] = {}
    infinite, styles = False, iter(("--", "-.", ":") * len(drawn))
    for i, (label, result, k, xs, y) in enumerate(drawn):
        a = axes[_UNITS.get(k, k)]
        name = f"{label}: {k.replace('_', ' ')}" if mixed_keys else label
        name += " (right axis)" if a is not ax else ""
        marker = "o" if y.size <= 30 else None
        linestyle = next(styles) if a is not ax else "-"
        (curve,) = a.plot(xs, y, marker=marker, markersize=4, label=name, color=f"C{i}",
                          linestyle=linestyle)
        infinite |= _mark_infinite(a, xs, y, curve.get_color())
        reached = np.flatnonzero(y <= 0) if logy else np.zeros(0, int)
        if reached.size and np.isfinite(y[reached[0]]):  # reached its target exactly
            first = reached[0]
            step = "iteration" if x == "iteration" else "t ="
            where = f"{step} {xs[first]:g}" if x == "iteration" else f"{xs[first]:.3g} s"
            a.plot([xs[first]], [0.02], linestyle="none", marker="v", color=curve.get_color(),
                   markersize=9, markeredgecolor="black", markeredgewidth=0.6,
                   transform=a.get_xaxis_transform(), clip_on=False,
                   label=f"{label}: exactly 0 from {where}")
        if tol is None:
            t = _tol_of(result, k) if getattr(result, "converged", False) else None
            if t is not None and t > 0:
                tols.setdefault((t, id(a)), (t, a))
    if tol is not None and tol is not False:
        tols = {(float(tol), id(ax)): (float(tol), ax)}
    for t, a in tols.values():
        a.axhline(t, color="0.3", linestyle=":", linewidth=1.2, label=f"tol = {t:g}")
    if infinite:
        _explain_infinite(ax)
    for a in dict.fromkeys(axes.values()):
        keys = list(dict.fromkeys(k for _, _, k, _, _ in drawn if axes[_UNITS.get(k, k)] is a))
        a.set_ylabel(KEY_LABELS.get(keys[0], keys[0]) if len(keys) == 1 else
                     " / ".join(k.replace("_", " ") for k in keys))
        if logy:
            _plain_log_ticks(a.yaxis)
    ax.set_xlabel(_x_label([r for _, r in pairs]) if x == "iteration" else "elapsed time (s)")
    if x == "iteration":
        _integer_ticks(ax.xaxis)
    ax.set_title("Convergence")
    ax.grid(True, which="major", alpha=0.3)
    handles, names = [], []
    for a in dict.fromkeys(axes.values()):
        h, n = a.get_legend_handles_labels()
        handles += h
        names += n
    _legend_below(ax, handles, names)
    return ax


# --------------------------------------------------------------------------- learning curves

def learning_curves(results: Any, *, optimum: float | Literal[False] | None = None,
                    key: str = "J", band: bool | Literal["minmax", "std"] = True,
                    center: Literal["mean", "median"] = "mean", logy: bool = False,
                    smooth: int | None = None, labels: Sequence[str] | None = None,
                    ax: Axes | None = None) -> Axes:
    r"""Learning curves of gradient or sampled methods against the DP optimum.

    Parameters
    ----------
    results : result, sequence of results, or mapping label -> result or list of results
        A sequence draws one curve per result (labelled by method). A mapping whose value is a
        list draws the mean over those results (e.g. one per seed) with a band; the runs are
        cut to the shortest history. x is the iteration, or for sampled methods the
        history's ``episode``.
    optimum : float or False, optional
        Height of the dashed reference line :math:`J^*`. Default: the results' common
        ``optimum`` attribute when ``key == "J"`` (:class:`~mdptoolkit.GradientResult` carries
        the DP optimum of its objective); False draws none.
    key : str, default "J"
        The history entry to plot, or a one-dimensional array attribute of the results, such
        as ``returns`` of :func:`~mdptoolkit.q_learning` and :func:`~mdptoolkit.sarsa` (the
        sum of rewards of every training episode, x = episode 1, 2, ...: Sutton & Barto's
        Figure 6.4).
    band : bool or {"minmax", "std"}, default True
        For lists of runs: shade min–max (True or "minmax") or mean ± one standard deviation
        ("std") across runs; False draws the centre line only.
    center : {"mean", "median"}, default "mean"
        The line drawn for lists of runs. The median is robust to runs whose greedy policy
        does not terminate at some evaluation (J = −∞ with :math:`\gamma = 1`), which make
        the mean −∞ there (drawn as markers on the bottom edge).
    logy : bool, default False
    smooth : int, optional
        Draw the moving average over this many consecutive entries of each run (a "valid"
        window: the curve starts at entry ``smooth``); the band is taken across the smoothed
        runs. Noisy per-episode quantities such as ``returns`` need it.
    labels : sequence of str, optional
        Legend labels, one per curve.
    ax : matplotlib.axes.Axes, optional

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import mdptoolkit as mt
    >>> from mdptoolkit import envs, plot
    >>> mdp = envs.short_corridor().mdp
    >>> runs = {"PG, lr": [mt.policy_gradient(mdp, lr=lr, iterations=50) for lr in (0.1, 0.2)],
    ...         "natural PG": mt.policy_gradient(mdp, natural=True, iterations=50)}
    >>> ax = plot.learning_curves(runs)
    >>> [line.get_label() for line in ax.get_lines()]
    ['PG, lr (mean of 2, min–max band)', 'natural PG', 'DP optimum J* = -3']

    Sutton & Barto's Figure 6.4, Q-learning against Sarsa on the cliff (sum of rewards per
    episode, smoothed, averaged over runs):

    >>> cliff = envs.cliff_walking().mdp
    >>> runs = {name: [learn(cliff, episodes=100, alpha=0.5, seed=k) for k in range(3)]
    ...         for name, learn in (("Sarsa", mt.sarsa), ("Q-learning", mt.q_learning))}
    >>> ax = plot.learning_curves(runs, key="returns", smooth=10, band=False)
    >>> ax.get_lines()[0].get_label(), ax.get_xlabel()
    ('Sarsa (mean of 3, 10-episode moving average)', 'episode')
    """
    if band is True:
        band = "minmax"
    if smooth is not None and (isinstance(smooth, bool) or not isinstance(smooth, int)
                               or smooth < 1):
        raise ValueError(f"smooth must be a positive integer (a window length) or None; "
                         f"got {smooth!r}")
    if band is not False:
        val.check_choice(band, "band", ("minmax", "std"))
    val.check_choice(center, "center", ("mean", "median"))
    if isinstance(results, Mapping):
        groups = [(str(k), list(v) if isinstance(v, Sequence) else [v])
                  for k, v in results.items()]
        if labels is not None:
            labels = [str(label) for label in labels]
            if len(labels) != len(groups):
                raise ValueError(f"labels must have one entry per curve; got {len(labels)} "
                                 f"labels for {len(groups)} curves")
            groups = [(label, runs) for label, (_, runs) in zip(labels, groups)]
    else:
        groups = [(label, [r]) for label, r in _labelled(results, labels)]
    for label, runs in groups:
        if not runs:
            raise ValueError(f"results[{label!r}] must hold at least one result; got none")
    ax = _new_axes(ax, (7, 4.5))
    if logy:
        ax.set_yscale("log", nonpositive="mask")
    all_results, infinite = [], False
    for label, runs in groups:
        ys = [_series(r, key, label) for r in runs]
        n = min(y.size for y in ys)
        Y = np.stack([y[:n] for y in ys])
        xs = _attribute_steps(runs[0], key, n)
        xs = _steps(runs[0], ys[0].size)[:n] if xs is None else xs
        window = ""
        if smooth is not None and smooth > 1:
            if n < smooth:
                raise ValueError(f"smooth must be at most the length of the runs; got "
                                 f"smooth={smooth} for {n} entries of {label!r}")
            kernel = np.full(smooth, 1.0 / smooth)
            Y = np.stack([np.convolve(y, kernel, mode="valid") for y in Y])
            xs = xs[smooth - 1:]
            unit = "episode" if "episode" in _x_label(runs) else "iteration"
            window = f"{smooth}-{unit} moving average"
        if len(runs) == 1:
            (curve,) = ax.plot(xs, Y[0], label=f"{label} ({window})" if window else label)
            infinite |= _mark_infinite(ax, xs, Y[0], curve.get_color())
        else:
            with np.errstate(invalid="ignore"):  # -inf and +inf runs: no mean
                mean = Y.mean(axis=0)
                sd = Y.std(axis=0)
            middle = mean if center == "mean" else np.median(Y, axis=0)
            spread = {"minmax": ", min–max band", "std": ", ±1 std band"}.get(str(band), "")
            spread += f", {window}" if window else ""
            (curve,) = ax.plot(xs, middle, label=f"{label} ({center} of {len(runs)}{spread})")
            infinite |= _mark_infinite(ax, xs, middle, curve.get_color())
            if band:
                low, high = ((Y.min(axis=0), Y.max(axis=0)) if band == "minmax" else
                             (mean - sd, mean + sd))
                ax.fill_between(xs, low, high, where=np.isfinite(low) & np.isfinite(high),
                                color=curve.get_color(), alpha=0.2, linewidth=0, label="_band")
        all_results.extend(runs)
    if optimum is None and key == "J":
        optima = [getattr(r, "optimum", None) for r in all_results]
        known = [o for o in optima if o is not None]
        if known and len(known) == len(optima) and np.allclose(known, known[0]):
            optimum = float(known[0])
    if optimum is not None and optimum is not False:
        ax.axhline(float(optimum), color="black", linestyle="--", linewidth=1.2,
                   label=f"DP optimum J* = {float(optimum):.4g}")
    if infinite:
        _explain_infinite(ax)
    ax.set_xlabel(_x_label(all_results))
    _integer_ticks(ax.xaxis)
    ax.set_ylabel(KEY_LABELS.get(key, key))
    ax.set_title("Learning curves")
    ax.grid(True, alpha=0.3)
    if logy:
        _plain_log_ticks(ax.yaxis)
    _legend_below(ax)
    return ax
