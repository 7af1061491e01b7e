r"""Convergence and learning curves: residuals, error bounds and gaps per iteration, and
:math:`J(\pi_k)` of gradient or sampled methods against the DP optimum."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from ._common import (KEY_LABELS, _check_choice, _default_key,
    _explain_infinite, _history, _integer_ticks, _labelled, _mark_infinite, _new_axes, _series, _steps, _tol_of, _x_label)


def convergence(results, *, key=None, logy=True, x="iteration", tol=None, labels=None, ax=None):
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
        Log scale on y; entries <= 0 are left out (a method that reaches its target exactly,
        such as policy iteration, gets a ``v`` marker at the bottom of the axes at the
        iteration where it does).
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

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import numpy as np, mdptoolkit as mt
    >>> from mdptoolkit import envs, plot
    >>> mdp = envs.sutton_barto_5x5().mdp
    >>> vi = mt.value_iteration(mdp, tol=1e-6)
    >>> ax = plot.convergence([vi, mt.policy_iteration(mdp)])
    >>> ax.get_yscale(), ax.get_lines()[0].get_label()  # mixed measures: named in the legend
    ('log', 'value_iteration: error bound on $\\max_s |V_k(s) - V^*(s)|$')
    >>> np.array_equal(ax.get_lines()[0].get_ydata(), vi.history["error_bound"])
    True
    """
    _check_choice(x, "x", ("iteration", "elapsed"))
    pairs = _labelled(results, labels)
    ax = _new_axes(ax, (7, 4.5))
    if logy:
        ax.set_yscale("log", nonpositive="mask")
    curves, tols, infinite = [], [], False
    for label, result in pairs:
        k = key if key is not None else _default_key(result)
        y = _series(result, k, label)
        if x == "elapsed":
            if "elapsed" not in _history(result):
                raise ValueError(f"x='elapsed' needs an 'elapsed' history; {label!r} has none")
            xs = np.asarray(_history(result)["elapsed"], dtype=np.float64)[-y.size:]
        else:
            xs = _steps(result, y.size)
        marker = "o" if y.size <= 30 else None
        (curve,) = ax.plot(xs, y, marker=marker, markersize=4, label=label)
        curves.append((curve, k))
        infinite |= _mark_infinite(ax, xs, y, curve.get_color())
        if logy and y.size and not y[-1] > 0:  # reached its target exactly
            ax.plot([xs[-1]], [0.02], marker="v", color=curve.get_color(), markersize=8,
                    transform=ax.get_xaxis_transform(), clip_on=False, label="_exact")
        if tol is None:
            t = _tol_of(result, k) if getattr(result, "converged", False) else None
            if t is not None and t > 0 and t not in tols:
                tols.append(t)
    if tol is not None and tol is not False:
        tols = [float(tol)]
    for t in tols:
        ax.axhline(t, color="0.3", linestyle=":", linewidth=1.2, label=f"tol = {t:g}")
    if infinite:
        _explain_infinite(ax)
    unique = list(dict.fromkeys(k for _, k in curves))
    if len(unique) > 1:  # mixed measures: say which is which in the legend
        for curve, k in curves:
            curve.set_label(f"{curve.get_label()}: {KEY_LABELS.get(k, k)}")
        ax.set_ylabel(" / ".join(k.replace("_", " ") for k in unique))
    else:
        ax.set_ylabel(KEY_LABELS.get(unique[0], unique[0]))
    ax.set_xlabel(_x_label([r for _, r in pairs]) if x == "iteration" else "elapsed time (s)")
    if x == "iteration":
        _integer_ticks(ax.xaxis)
    ax.set_title("Convergence")
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(loc="best", fontsize="small")
    return ax


# --------------------------------------------------------------------------- learning curves

def learning_curves(results, *, optimum=None, key="J", band=True, center="mean", logy=False,
                    labels=None, ax=None):
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
        The history entry to plot.
    band : bool or {"minmax", "std"}, default True
        For lists of runs: shade min–max (True or "minmax") or mean ± one standard deviation
        ("std") across runs; False draws the centre line only.
    center : {"mean", "median"}, default "mean"
        The line drawn for lists of runs. The median is robust to runs whose greedy policy
        does not terminate at some evaluation (J = −∞ with :math:`\gamma = 1`), which make
        the mean −∞ there (drawn as markers on the bottom edge).
    logy : bool, default False
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
    """
    if band is True:
        band = "minmax"
    if band is not False:
        _check_choice(band, "band", ("minmax", "std"))
    _check_choice(center, "center", ("mean", "median"))
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
        xs = _steps(runs[0], ys[0].size)[:n]
        if len(runs) == 1:
            (curve,) = ax.plot(xs, Y[0], label=label)
            infinite |= _mark_infinite(ax, xs, Y[0], curve.get_color())
        else:
            with np.errstate(invalid="ignore"):  # -inf and +inf runs: no mean
                mean = Y.mean(axis=0)
                sd = Y.std(axis=0)
            middle = mean if center == "mean" else np.median(Y, axis=0)
            spread = {"minmax": ", min–max band", "std": ", ±1 std band"}.get(band, "")
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
        if optima and all(o is not None for o in optima) and np.allclose(optima, optima[0]):
            optimum = float(optima[0])
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
    ax.legend(loc="best", fontsize="small")
    return ax
