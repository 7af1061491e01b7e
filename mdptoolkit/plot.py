r"""Plots of solver results, values and policies (matplotlib, imported only when a plot is drawn).

Every function takes an optional ``ax`` (a new figure is made when it is None), draws on it and
returns it; none calls ``plt.show()``. The y-data of every curve are the numbers in the result's
``history``, unchanged, so a plot can be checked by reading its lines back.

==============================  ===============================================================
function                        draws
==============================  ===============================================================
:func:`convergence`             residual / error bound / gap per iteration, log scale, ``tol``
:func:`learning_curves`         :math:`J(\pi_k)` of gradient or sampled methods, mean and band
                                over seeds, against the DP optimum :math:`J^*`
:func:`values`                  heat map of :math:`V` on a grid world, policy arrows, walls and
                                terminal cells marked
:func:`policy`                  the arrows alone
:func:`line`                    :math:`V` over states and the policy (e.g. the gambler's stake)
:func:`sequence_distribution`   the most likely sentences of a language MDP policy
==============================  ===============================================================

Examples
--------
>>> import matplotlib; matplotlib.use("Agg")
>>> import mdptoolkit as mt
>>> from mdptoolkit import envs, plot
>>> env = envs.sutton_barto_5x5()
>>> methods = ("value_iteration", "modified_policy_iteration")
>>> ax = plot.convergence([mt.solve(env.mdp, method=m) for m in methods])
>>> [line.get_label() for line in ax.get_lines()]
['value_iteration', 'modified_policy_iteration', 'tol = 1e-08']
>>> ax.get_ylabel()
'error bound on $\\max_s |V_k(s) - V^*(s)|$'
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import numpy as np

from . import _validation as val

__all__ = ["convergence", "learning_curves", "values", "policy", "line", "sequence_distribution"]

#: How each history key reads on an axis.
KEY_LABELS = {
    "residual": r"residual $\max_s |V_{k+1}(s) - V_k(s)|$",
    "error_bound": r"error bound on $\max_s |V_k(s) - V^*(s)|$",
    "gap": r"gap $J^* - J(\pi_k)$",
    "J": r"$J(\pi_k) = \mu^\top V^{\pi_k}$",
    "grad_norm": r"$\|\nabla_\theta J(\theta_k)\|$",
    "policy_changes": "states whose action changed",
    "critic_error": r"critic error $\max_s |w_k(s) - V^{\pi_k}(s)|$",
    "objective": "LP objective",
    "error": r"error $\max_s |V_k(s) - V^\pi(s)|$",
    "q_error": r"$\max_{s,a} |Q_k(s,a) - Q^*(s,a)|$",
}
_NOT_MEASURES = ("elapsed", "episode")  # history entries that are x coordinates

# which history key each kind of solver message compares with tol (see result.MESSAGES)
_TOL_KEYS = {"error_bound": "span bound", "residual": "max|V_k+1 - V_k|", "grad_norm": "|grad J|"}
_TOL = re.compile(r"tol = ([-+0-9.eE]+|inf)")

_ARROWS = {"up": (-1, 0), "right": (0, 1), "down": (1, 0), "left": (0, -1)}
_MIN_PROBABILITY = 0.02  # stochastic policies: actions less likely than this get no arrow


# --------------------------------------------------------------------------- shared helpers

def _new_axes(ax, figsize):
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax


def _labelled(results, labels):
    """[(label, result)] from one result, a sequence, or a mapping label -> result."""
    if isinstance(results, Mapping):
        pairs = [(str(k), v) for k, v in results.items()]
    else:
        if not isinstance(results, Sequence) or isinstance(results, str):
            results = [results]
        pairs = [(getattr(r, "method", f"result {i}"), r) for i, r in enumerate(results)]
    if not pairs:
        raise ValueError("results must hold at least one result; got none")
    if labels is not None:
        labels = [str(label) for label in labels]
        if len(labels) != len(pairs):
            raise ValueError(f"labels must have one entry per result; got {len(labels)} labels "
                             f"for {len(pairs)} results")
        return list(zip(labels, (r for _, r in pairs)))
    counts = {}
    for label, _ in pairs:
        counts[label] = counts.get(label, 0) + 1
    seen, out = {}, []
    for label, r in pairs:  # the same method twice: number them
        if counts[label] > 1:
            seen[label] = seen.get(label, 0) + 1
            label = f"{label} #{seen[label]}"
        out.append((label, r))
    return out


def _history(result):
    history = getattr(result, "history", None)
    if not isinstance(history, Mapping):
        raise TypeError(f"results must be solver results with a history mapping; got "
                        f"{type(result).__name__}")
    return history


def _default_key(result):
    """The natural convergence measure of a result (see :func:`convergence`)."""
    history = _history(result)
    if "gap" in history:
        return "gap"
    bound = history.get("error_bound")
    if bound is not None and np.isfinite(bound).any():
        return "error_bound"
    if "residual" in history:
        return "residual"
    if "error" in history:
        return "error"  # sampled evaluation: distance to V^pi
    if "J" in history and getattr(result, "converged", False):
        return "gap"  # policy iteration: exact, so the last J is J*
    for key in history:
        if key not in _NOT_MEASURES:
            return key
    raise ValueError(f"result of {getattr(result, 'method', '?')!r} has no history to plot")


def _series(result, key, label):
    """The y-data of ``key``: the history entry itself, or J[-1] - J for an exact method."""
    history = _history(result)
    if key in history:
        return np.asarray(history[key], dtype=np.float64)
    if key == "gap" and "J" in history and getattr(result, "converged", False):
        J = np.asarray(history["J"], dtype=np.float64)
        return J[-1] - J
    raise ValueError(f"key must name a history entry of every result; got {key!r}, which "
                     f"{label!r} lacks (it has {sorted(history)})")


def _steps(result, n):
    """x of n history entries: the recorded episodes of sampled methods, else iteration
    numbers (from 0 when the history records the start)."""
    episode = _history(result).get("episode")
    if episode is not None and len(episode) == n:
        return np.asarray(episode)
    iterations = getattr(result, "iterations", None)
    start = 0 if iterations is not None and n == iterations + 1 else 1
    return np.arange(start, start + n)


def _x_label(results):
    """"iteration", "episode" (sampled methods) or both."""
    kinds = {"episode" if "episode" in _history(r) else "iteration" for r in results}
    return " / ".join(sorted(kinds, reverse=True))


def _tol_of(result, key):
    """The tol a converged result's stopping rule compared ``key`` with, else None."""
    marker = _TOL_KEYS.get(key)
    message = getattr(result, "message", "")
    if marker is None or marker not in message:
        return None
    match = _TOL.search(message)
    return float(match.group(1)) if match else None


def _mark_infinite(ax, xs, y, color):
    """Draw ±inf entries (e.g. J = -inf of a policy that never terminates, gamma = 1) as
    markers on the top (+inf) or bottom (-inf) edge, where a line cannot go."""
    xs = np.asarray(xs, dtype=np.float64)
    for sign, height, marker in ((1, 0.98, "^"), (-1, 0.02, "v")):
        hit = np.isinf(y) & (np.sign(y) == sign)
        if hit.any():
            ax.plot(xs[hit], np.full(hit.sum(), height), linestyle="none", marker=marker,
                    markersize=4, color=color, alpha=0.6, transform=ax.get_xaxis_transform(),
                    clip_on=False, label="_infinite")
    return bool(np.isinf(y).any())


def _explain_infinite(ax):
    ax.plot([], [], linestyle="none", marker="^", color="0.4",
            label="±∞ on the edge (a policy that never terminates)")


def _integer_ticks(axis):
    from matplotlib.ticker import MaxNLocator

    axis.set_major_locator(MaxNLocator(integer=True))


def _check_choice(value, name, choices):
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}; got {value!r}")


# --------------------------------------------------------------------------- convergence

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


# --------------------------------------------------------------------------- grid worlds

def _grid_info(grid):
    for attr in ("shape", "mdp", "actions"):
        if not hasattr(grid, attr):
            raise TypeError(f"grid must be a grid world (mdptoolkit.envs.GridWorld) with "
                            f"shape, mdp and actions; got {type(grid).__name__}")
    H, W = grid.shape
    unknown = [a for a in grid.actions if a not in _ARROWS]
    if unknown:
        raise ValueError(f"grid actions must be compass directions {tuple(_ARROWS)}; got "
                         f"{unknown[0]!r}")
    cells = getattr(grid, "cells", None)
    cells = np.asarray(cells) if cells is not None else np.full((H, W), ".")
    walls = cells == "#"
    cliffs = cells == "C"
    terminal = np.asarray(grid.mdp.terminal).reshape(H, W) & ~walls & ~cliffs
    return H, W, cells, walls, cliffs, terminal


def _arrow_weights(grid, policy, V, all_optimal, atol):
    """(S, A) weights of the arrows to draw."""
    mdp = grid.mdp
    if all_optimal:
        if policy is not None:
            raise ValueError("pass either policy or all_optimal=True (the arrows of every "
                             "action optimal for V), not both")
        from .operators import optimal_actions

        return optimal_actions(mdp, V, atol=atol).astype(np.float64)
    if policy is None:
        return None
    return np.asarray(val.as_policy_matrix(mdp, policy))


def _draw_arrows(ax, grid, weights, skip, *, offset=0.0, color="black"):
    H, W = grid.shape
    deltas = np.array([_ARROWS[a] for a in grid.actions], dtype=np.float64)  # (A, 2) (dr, dc)
    weights = np.where(skip.ravel()[:, None], 0.0, weights)
    s, a = np.nonzero(weights >= _MIN_PROBABILITY)
    if s.size == 0:
        return None
    single = np.bincount(s, minlength=H * W).max() == 1 and np.allclose(weights[s, a], 1.0)
    # one arrow per cell: across the cell; several: from the centre, longer when more likely
    length = 0.6 if single else 0.1 + 0.25 * weights[s, a]
    rows, cols = np.divmod(s, W)
    U = deltas[a, 1] * length
    Vv = deltas[a, 0] * length
    return ax.quiver(cols, rows + offset, U, Vv, angles="xy", scale_units="xy", scale=1,
                     pivot="middle" if single else "tail", color=color,
                     width=float(np.clip(0.04 / W, 0.003, 0.01)), headwidth=4, headlength=4,
                     headaxislength=3.5, minlength=0, minshaft=0.5, zorder=3)


def _mark_cells(ax, cells, walls, cliffs, terminal):
    from matplotlib.patches import Patch, Rectangle

    handles = []
    for (r, c) in np.argwhere(walls):
        ax.add_patch(Rectangle((c - 0.5, r - 0.5), 1, 1, facecolor="0.2", edgecolor="0.2",
                               zorder=2))
    for (r, c) in np.argwhere(cliffs):
        ax.add_patch(Rectangle((c - 0.5, r - 0.5), 1, 1, facecolor="#e8c4c4", hatch="xx",
                               edgecolor="#a04040", linewidth=0, zorder=2))
    for (r, c) in np.argwhere(terminal):
        ax.add_patch(Rectangle((c - 0.5, r - 0.5), 1, 1, facecolor="0.93", edgecolor="none",
                               zorder=2))
        ax.add_patch(Rectangle((c - 0.44, r - 0.44), 0.88, 0.88, fill=False, edgecolor="black",
                               linewidth=2, linestyle="--", zorder=2))
        ax.text(c, r, str(cells[r, c]), ha="center", va="center", fontsize="large",
                fontweight="bold", color="black", zorder=4)
    if walls.any():
        handles.append(Patch(facecolor="0.2", label="wall"))
    if cliffs.any():
        handles.append(Patch(facecolor="#e8c4c4", hatch="xx", edgecolor="#a04040",
                             label="cliff"))
    if terminal.any():
        handles.append(Patch(facecolor="0.93", edgecolor="black", linestyle="--", linewidth=2,
                             label="terminal (V = 0)"))
    if handles:
        ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.02),
                  ncol=len(handles), frameon=False, fontsize="small", handlelength=1.5)


def _grid_axes(ax, H, W):
    ax.set_xlim(-0.5, W - 0.5)
    ax.set_ylim(H - 0.5, -0.5)  # row 0 at the top
    ax.set_aspect("equal")
    ax.xaxis.tick_top()
    ax.xaxis.set_label_position("top")
    ax.set_xticks(range(W))
    ax.set_yticks(range(H))
    ax.set_xlabel("column")
    ax.set_ylabel("row")
    ax.set_xticks(np.arange(-0.5, W, 1), minor=True)
    ax.set_yticks(np.arange(-0.5, H, 1), minor=True)
    ax.grid(True, which="minor", color="white", linewidth=1)
    ax.tick_params(which="minor", length=0)
    if max(H, W) > 20:
        step = int(np.ceil(max(H, W) / 10))
        ax.set_xticks(range(0, W, step))
        ax.set_yticks(range(0, H, step))


def _figsize(H, W):
    unit = min(1.1, 9.0 / max(H, W, 1))
    return (max(5.0, W * unit + 2.2), max(4.0, H * unit + 1.8))


def values(grid, V, policy=None, *, all_optimal=False, atol=1e-6, annotate=None,
           cmap="viridis", title=None, ax=None):
    r"""Heat map of a grid world's values, with arrows for a policy.

    Parameters
    ----------
    grid : mdptoolkit.envs.GridWorld
    V : array_like (S,)
        Values, one per state (row-major cells).
    policy : array_like, optional
        Deterministic (S,) — one arrow per cell — or stochastic (S, A) — one arrow from the
        cell's centre per action of probability at least 0.02, longer when more likely
        (length 0.1 + 0.25·π(a|s) cells). No arrows when None.
    all_optimal : bool, default False
        Draw an arrow for every action that is optimal with respect to ``V`` (all tied
        actions, :func:`mdptoolkit.optimal_actions` with ``atol``), as in Sutton & Barto's
        Figure 3.5; then ``policy`` must be None.
    atol : float, default 1e-6
        Tolerance for ties when ``all_optimal`` (a value iteration result is exact only to its
        ``tol``).
    annotate : bool, optional
        Write the value in each cell (default: when the grid has at most 12 columns).
    cmap : str, default "viridis"
    title : str, optional
    ax : matplotlib.axes.Axes, optional

    Returns
    -------
    matplotlib.axes.Axes
        With the heat map as its first image and the arrows as a
        :class:`matplotlib.quiver.Quiver` (one arrow per drawn action; none at walls, cliffs
        and terminal cells). Walls are dark, cliffs hatched, terminal cells framed and
        labelled with their layout character; a colorbar shows the scale.

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import mdptoolkit as mt
    >>> from mdptoolkit import envs, plot
    >>> env = envs.sutton_barto_5x5()
    >>> V = mt.value_iteration(env.mdp, tol=1e-10).V
    >>> ax = plot.values(env, V, all_optimal=True)
    >>> arrows = ax.collections[-1]
    >>> len(arrows.get_offsets())  # Figure 3.5: 9 cells with 1 optimal action, 14 with 2, 2 with 4
    45
    """
    H, W, cells, walls, cliffs, terminal = _grid_info(grid)
    V = np.asarray(val.as_values(grid.mdp, V))
    weights = _arrow_weights(grid, policy, V, all_optimal, atol)
    if annotate is None:
        annotate = W <= 12 and H <= 12
    ax = _new_axes(ax, _figsize(H, W))
    shown = V.reshape(H, W).astype(np.float64)
    # walls and cliffs are not states; terminal values are 0 by convention: keep all three off
    # the colour scale so that it shows the values that matter
    shown = np.where(walls | cliffs | terminal, np.nan, shown)
    if np.isnan(shown).all():
        shown = np.where(walls | cliffs, np.nan, V.reshape(H, W).astype(np.float64))
    image = ax.imshow(shown, cmap=cmap, origin="upper", interpolation="nearest", zorder=1)
    # a wide grid leaves its (equal-aspect) axes shorter than the space it was given
    ax.figure.colorbar(image, ax=ax, label="V(s)", shrink=float(np.clip(1.3 * H / W, 0.5, 0.85)))
    _grid_axes(ax, H, W)
    _mark_cells(ax, cells, walls, cliffs, terminal)
    has_arrows = weights is not None
    if annotate:
        norm = image.norm
        colormap = image.get_cmap()
        fmt = _value_format(V[~(walls | cliffs).ravel()])
        for r in range(H):
            for c in range(W):
                if walls[r, c] or cliffs[r, c] or terminal[r, c]:
                    continue
                rgb = colormap(norm(shown[r, c]))[:3]
                dark = 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2] < 0.5
                ax.text(c, r - 0.34 if has_arrows else r, format(shown[r, c], fmt),
                        ha="center", va="center", fontsize="small" if has_arrows else "medium",
                        color="white" if dark else "black", zorder=4)
    if has_arrows:
        arrows = _draw_arrows(ax, grid, weights, walls | cliffs | terminal, color="white",
                              offset=0.1 if annotate else 0.0)
        if arrows is not None:
            arrows.set_edgecolor("black")
            arrows.set_linewidth(0.6)
    if title is None:
        title = "values" + (" and all optimal actions" if all_optimal else
                            " and policy" if has_arrows else "")
        name = getattr(grid, "name", None)
        title = f"{name}: {title}" if name else title.capitalize()
    ax.set_title(title)
    return ax


def _value_format(V):
    finite = np.abs(V[np.isfinite(V)])
    big = finite.max() if finite.size else 1.0
    if big >= 1000:
        return ".0f"
    if big >= 100:
        return ".1f"
    if big >= 1:
        return ".2f"
    return ".3f"


def policy(grid, policy, *, title=None, ax=None):
    r"""Arrows of a policy on a grid world, without values.

    Parameters
    ----------
    grid : mdptoolkit.envs.GridWorld
    policy : array_like
        Deterministic (S,) or stochastic (S, A) (arrows as in :func:`values`).
    title : str, optional
    ax : matplotlib.axes.Axes, optional

    Returns
    -------
    matplotlib.axes.Axes
        The arrows are its last collection, a :class:`matplotlib.quiver.Quiver`.

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import mdptoolkit as mt
    >>> from mdptoolkit import envs, plot
    >>> env = envs.russell_norvig_4x3()
    >>> ax = plot.policy(env, mt.policy_iteration(env.mdp).policy)
    >>> len(ax.collections[-1].get_offsets())  # 12 cells - 1 wall - 2 terminal
    9
    """
    H, W, cells, walls, cliffs, terminal = _grid_info(grid)
    weights = _arrow_weights(grid, policy, None, False, 0.0)
    ax = _new_axes(ax, _figsize(H, W))
    ax.set_facecolor("0.96")
    _grid_axes(ax, H, W)
    ax.grid(True, which="minor", color="0.7", linewidth=0.8)
    _mark_cells(ax, cells, walls, cliffs, terminal)
    _draw_arrows(ax, grid, weights, walls | cliffs | terminal, color="black")
    if title is None:
        name = getattr(grid, "name", None)
        title = f"{name}: policy" if name else "Policy"
    ax.set_title(title)
    return ax


# --------------------------------------------------------------------------- line plots

def _action_axis(env, mdp):
    """(values of each action index, axis label) for the policy panel."""
    A = mdp.n_actions
    kind = type(env).__name__
    if kind == "GamblersProblem":
        return np.arange(A), "stake"
    if kind == "JacksCarRental":
        return np.arange(A) - getattr(env, "max_move", (A - 1) // 2), "cars moved (1 → 2)"
    return np.arange(A), "action"


def line(env_or_mdp, V, policy=None, *, all_optimal=False, atol=1e-6, policy_ax=None,
         title=None, ax=None):
    r"""Values over states and the policy, in the style of Sutton & Barto's Figure 4.3.

    Parameters
    ----------
    env_or_mdp : Environment or MDP
        For :func:`~mdptoolkit.envs.gamblers_problem` the states read as capital and the
        actions as stakes; for :func:`~mdptoolkit.envs.jacks_car_rental` as cars moved.
    V : array_like (S,)
        Values; terminal states are left out of the line (their value is 0 by convention).
    policy : array_like, optional
        Deterministic (S,) or stochastic (S, A) (its most likely action is drawn), drawn as a
        step line on a second panel.
    all_optimal : bool, default False
        Also mark, as dots, every action optimal with respect to ``V`` (ties within ``atol``):
        the gambler's problem has many optimal stakes.
    atol : float, default 1e-6
    policy_ax : matplotlib.axes.Axes, optional
        Where to draw the policy. Default: a second panel below when ``ax`` is None, else a
        twin y axis of ``ax``.
    title : str, optional
    ax : matplotlib.axes.Axes, optional

    Returns
    -------
    matplotlib.axes.Axes
        The values' Axes (the policy's is ``ax.figure.axes[-1]`` when this function made it).

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import mdptoolkit as mt
    >>> from mdptoolkit import envs, plot
    >>> env = envs.gamblers_problem()
    >>> result = mt.value_iteration(env.mdp, tol=1e-12)
    >>> ax = plot.line(env, result.V, result.policy)
    >>> ax.get_ylabel(), ax.figure.axes[-1].get_ylabel(), ax.figure.axes[-1].get_xlabel()
    ('value V(s)', 'stake', 'capital')
    """
    mdp = getattr(env_or_mdp, "mdp", env_or_mdp)
    if not hasattr(mdp, "n_states"):
        raise TypeError(f"env_or_mdp must be an environment or an MDP; got "
                        f"{type(env_or_mdp).__name__}")
    S = mdp.n_states
    V = np.asarray(val.as_values(mdp, V))
    terminal = np.asarray(mdp.terminal)
    states = np.arange(S)
    kind = type(env_or_mdp).__name__
    xlabel = "capital" if kind == "GamblersProblem" else "state"
    if kind == "JacksCarRental":
        xlabel = f"state = cars at 1 · {env_or_mdp.max_cars + 1} + cars at 2"
    wants_policy = policy is not None or all_optimal
    if ax is None:
        import matplotlib.pyplot as plt

        if wants_policy and policy_ax is None:
            _, (ax, policy_ax) = plt.subplots(2, 1, figsize=(7, 6.5), sharex=True,
                                              layout="constrained")
        else:
            _, ax = plt.subplots(figsize=(7, 4), layout="constrained")
    marker = "." if S <= 150 else None
    ax.plot(states, np.where(terminal, np.nan, V), marker=marker, label="V(s)")
    ax.set_ylabel("value V(s)")
    ax.grid(True, alpha=0.3)
    if title is None:
        title = "values" + (" and policy" if wants_policy else "")
        name = getattr(env_or_mdp, "name", None)
        title = f"{name}: {title}" if name else title.capitalize()
    ax.set_title(title)
    if not wants_policy:
        ax.set_xlabel(xlabel)
        _integer_ticks(ax.xaxis)
        if mdp.state_names and S <= 12 and kind not in ("GamblersProblem", "JacksCarRental"):
            ax.set_xticks(states, list(mdp.state_names))
        return ax
    twin = policy_ax is None
    if twin:
        policy_ax = ax.twinx()
    action_values, action_label = _action_axis(env_or_mdp, mdp)
    if all_optimal:
        from .operators import optimal_actions

        best = optimal_actions(mdp, V, atol=atol) & ~terminal[:, None]
        s, a = np.nonzero(best)
        policy_ax.scatter(s, action_values[a], s=6, color="0.55", zorder=1,
                          label=f"all optimal {action_label}s")
    if policy is not None:
        pi = np.asarray(val.as_policy_matrix(mdp, policy))
        chosen = action_values[np.argmax(pi, axis=1)].astype(np.float64)
        deterministic = np.ndim(policy) == 1
        policy_ax.step(states, np.where(terminal, np.nan, chosen), where="mid", color="C1",
                       linewidth=1.5, zorder=2, marker="o" if S <= 30 else None, markersize=4,
                       label="policy" if deterministic else "most likely action")
    policy_ax.set_ylabel(action_label)
    for a_ in (ax, policy_ax):
        _integer_ticks(a_.xaxis)
    if mdp.state_names and S <= 12 and kind not in ("GamblersProblem", "JacksCarRental"):
        for a_ in (ax, policy_ax):
            a_.set_xticks(states, list(mdp.state_names))
    if not twin:
        policy_ax.grid(True, alpha=0.3)
        policy_ax.set_xlabel(xlabel)
        if kind not in ("GamblersProblem", "JacksCarRental") and mdp.action_names \
                and mdp.n_actions <= 12:
            policy_ax.set_yticks(action_values, list(mdp.action_names))
    else:
        ax.set_xlabel(xlabel)
    if all_optimal or twin:
        handles, labels = [], []
        for a_ in ((ax, policy_ax) if twin else (policy_ax,)):
            h, l_ = a_.get_legend_handles_labels()
            handles += h
            labels += l_
        policy_ax.legend(handles, labels, loc="best", fontsize="small")
    return ax


# --------------------------------------------------------------------------- language MDPs

def sequence_distribution(language_mdp, policy, k=10, *, title=None, ax=None):
    r"""Horizontal bar chart of the ``k`` most likely complete sequences under a policy.

    Parameters
    ----------
    language_mdp : mdptoolkit.language.LanguageMDP
    policy : array_like
        Deterministic (S,) or stochastic (S, A) policy of ``language_mdp.mdp``.
    k : int, default 10
        Number of sequences (fewer when fewer have positive probability).
    title : str, optional
    ax : matplotlib.axes.Axes, optional

    Returns
    -------
    matplotlib.axes.Axes
        Bars from the most likely (top) down, each labelled with its sentence
        (``"(empty)"`` for the empty sequence) and probability.

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> from mdptoolkit import language, plot
    >>> lm = language.toy(max_len=3)
    >>> ax = plot.sequence_distribution(lm, lm.reference_policy, k=3)
    >>> [t.get_text() for t in ax.get_yticklabels()][0]
    'the mat'
    """
    if not hasattr(language_mdp, "top_sequences"):
        raise TypeError(f"language_mdp must be a LanguageMDP; got {type(language_mdp).__name__}")
    top = language_mdp.top_sequences(policy, k)
    names = [" ".join(map(str, y)) if y else "(empty)" for y, _ in top]
    probs = np.array([p for _, p in top], dtype=np.float64)
    ax = _new_axes(ax, (7, 1.2 + 0.38 * max(len(top), 1)))
    positions = np.arange(len(top))
    bars = ax.barh(positions, probs, color="C0", height=0.7)
    ax.bar_label(bars, labels=[f"{p:.3f}" for p in probs], padding=3, fontsize="small")
    ax.set_yticks(positions, names)
    ax.invert_yaxis()  # most likely on top
    ax.set_xlim(0, max(probs.max() * 1.18, 1e-12) if probs.size else 1)
    ax.set_xlabel("probability of the complete sequence")
    ax.grid(True, axis="x", alpha=0.3)
    ax.set_title(title if title is not None else f"{len(top)} most likely sequences")
    return ax
