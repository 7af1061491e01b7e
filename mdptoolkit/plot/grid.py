r"""Grid worlds: a heat map of :math:`V` with policy arrows, walls, cliffs and terminal cells."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .. import _validation as val
from .._typing import ArrayLike
from ..operators import optimal_actions
from ._common import _new_axes

if TYPE_CHECKING:
    from matplotlib.artist import Artist
    from matplotlib.axes import Axes
    from matplotlib.quiver import Quiver

    from ..envs import GridWorld

_ARROWS = {"up": (-1, 0), "right": (0, 1), "down": (1, 0), "left": (0, -1)}
_MIN_PROBABILITY = 0.02  # stochastic policies: actions less likely than this get no arrow


def _grid_info(grid: GridWorld) -> tuple[int, int, np.ndarray, np.ndarray, np.ndarray,
                                       np.ndarray]:
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


def _arrow_weights(grid: GridWorld, policy: ArrayLike | None, V: np.ndarray,
                   all_optimal: bool, atol: float) -> np.ndarray | None:
    """(S, A) weights of the arrows to draw."""
    mdp = grid.mdp
    if all_optimal:
        if policy is not None:
            raise ValueError("pass either policy or all_optimal=True (the arrows of every "
                             "action optimal for V), not both")

        return optimal_actions(mdp, V, atol=atol).astype(np.float64)
    if policy is None:
        return None
    return np.asarray(val.as_policy_matrix(mdp, policy))


def _draw_arrows(ax: Axes, grid: GridWorld, weights: np.ndarray, skip: np.ndarray, *,
                 offset: float = 0.0, color: str = "black") -> Quiver | None:
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


#: What a terminal cell's layout character says in the picture and in the legend.
TERMINAL_TEXT = {"G": ("G", "G goal"), "H": ("H", "H hole"), "+": ("+1", "+1 exit"),
                 "-": ("−1", "−1 exit"), "T": ("", "")}


def _mark_cells(ax: Axes, cells: np.ndarray, walls: np.ndarray, cliffs: np.ndarray,
                terminal: np.ndarray) -> None:
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch, Rectangle

    handles: list[Artist] = []
    for (r, c) in np.argwhere(walls):
        ax.add_patch(Rectangle((c - 0.5, r - 0.5), 1, 1, facecolor="0.2", edgecolor="0.2",
                               zorder=2))
    for (r, c) in np.argwhere(cliffs):
        ax.add_patch(Rectangle((c - 0.5, r - 0.5), 1, 1, facecolor="#e8c4c4", hatch="xx",
                               edgecolor="#a04040", linewidth=0, zorder=2))
    kinds = []
    for (r, c) in np.argwhere(terminal):
        char = str(cells[r, c])
        text, kind = TERMINAL_TEXT.get(char, (char, f"{char} terminal"))
        kinds.append(kind)
        ax.add_patch(Rectangle((c - 0.5, r - 0.5), 1, 1, facecolor="0.93", edgecolor="none",
                               zorder=2))
        ax.add_patch(Rectangle((c - 0.44, r - 0.44), 0.88, 0.88, fill=False, edgecolor="black",
                               linewidth=2, linestyle="--", zorder=2))
        ax.text(c, r, text, ha="center", va="center", fontsize="large",
                fontweight="bold", color="black", zorder=4)
    start = (cells == "S") & ~walls & ~terminal
    for (r, c) in np.argwhere(start):  # the start, in the lower left corner of its cell
        ax.text(c - 0.4, r + 0.4, "S", ha="left", va="bottom", fontsize="medium",
                fontweight="bold", color="black", zorder=5,
                bbox=dict(boxstyle="round,pad=0.15", facecolor="white", edgecolor="black",
                          linewidth=0.8))
    if start.any():
        handles.append(Line2D([], [], linestyle="none", marker="$S$", color="black",
                              markersize=8, label="start"))
    if walls.any():
        handles.append(Patch(facecolor="0.2", label="wall"))
    if cliffs.any():
        handles.append(Patch(facecolor="#e8c4c4", hatch="xx", edgecolor="#a04040",
                             label="cliff"))
    if terminal.any():
        kinds = [k for k in dict.fromkeys(kinds) if k]
        what = f" ({', '.join(kinds)})" if kinds else ""
        handles.append(Patch(facecolor="0.93", edgecolor="black", linestyle="--", linewidth=2,
                             label=f"terminal, V = 0{what}"))
    if handles:
        ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.02),
                  ncol=len(handles), frameon=False, fontsize="small", handlelength=1.5)


def _grid_axes(ax: Axes, H: int, W: int) -> None:
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


def _figsize(H: int, W: int) -> tuple[float, float]:
    unit = min(1.1, 9.0 / max(H, W, 1))
    return (max(5.0, W * unit + 2.2), max(4.0, H * unit + 1.8))


def values(grid: GridWorld, V: ArrayLike, policy: ArrayLike | None = None, *,
           all_optimal: bool = False, atol: float = 1e-6, actions: ArrayLike | None = None,
           annotate: bool | None = None, cmap: str = "viridis", vmin: float | None = None,
           vmax: float | None = None, colorbar: bool = True, title: str | None = None,
           ax: Axes | None = None) -> Axes:
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
    actions : array_like of bool (S, A), optional
        Draw an arrow for exactly these actions (e.g. the tied maximizers of a finite-horizon
        :math:`Q_t`, whose optimal actions ``V`` alone does not give); then ``policy`` must be
        None and ``all_optimal`` False.
    annotate : bool, optional
        Write the value in each cell (default: when the grid has at most 12 columns).
    cmap : str, default "viridis"
    vmin, vmax : float, optional
        The colour scale's ends (default: the values' range), e.g. one scale for several
        panels.
    colorbar : bool, default True
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
    if actions is not None:
        if policy is not None or all_optimal:
            raise ValueError("pass one of policy, all_optimal=True and actions; got more")
        actions = np.asarray(actions, dtype=bool)
        expected = (grid.mdp.n_states, grid.mdp.n_actions)
        if actions.shape != expected:
            raise ValueError(f"actions must be a boolean (S, A) = {expected} mask; got shape "
                             f"{actions.shape}")
        weights: np.ndarray | None = actions.astype(np.float64)
    else:
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
    image = ax.imshow(shown, cmap=cmap, origin="upper", interpolation="nearest", zorder=1,
                      vmin=vmin, vmax=vmax)
    if colorbar:  # a wide grid leaves its (equal-aspect) axes shorter than the space it got
        ax.figure.colorbar(image, ax=ax, label="V(s)",
                           shrink=float(np.clip(1.3 * H / W, 0.5, 0.85)))
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
    if weights is not None:
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


def _value_format(V: np.ndarray) -> str:
    finite = np.abs(V[np.isfinite(V)])
    if finite.size and np.allclose(finite, np.round(finite), rtol=0, atol=1e-9):
        return ".0f"  # integer values (step counts): no ".00"
    big = finite.max() if finite.size else 1.0
    if big >= 1000:
        return ".0f"
    if big >= 100:
        return ".1f"
    if big >= 1:
        return ".2f"
    return ".3f"


def policy(grid: GridWorld, policy: ArrayLike, *, title: str | None = None,
           ax: Axes | None = None) -> Axes:
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
    weights = np.asarray(val.as_policy_matrix(grid.mdp, policy))
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
