r"""Two-dimensional state spaces that are not grid worlds (Jack's car rental): the policy as a
picture of regions with contour labels, :math:`V` as a heat map with labelled contours, in the
style of Sutton & Barto's Figure 4.2."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .. import _validation as val
from .._typing import ArrayLike

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from ..envs import Environment


def _layout(env: Environment) -> tuple[tuple[int, int], tuple[str, str], np.ndarray, str, str]:
    """(shape, axis labels (rows, columns), action values, action label, origin)."""
    mdp = getattr(env, "mdp", None)
    shape = getattr(env, "shape", None)
    if mdp is None or shape is None or len(shape) != 2 or shape[0] * shape[1] != mdp.n_states:
        raise TypeError(f"env must be an environment with a two-dimensional state space "
                        f"(.mdp and .shape with shape[0] * shape[1] == n_states, such as "
                        f"envs.jacks_car_rental()); got {type(env).__name__}")
    labels = getattr(env, "axis_labels", None)
    origin = "lower" if labels is not None else "upper"  # counts grow upwards, rows go down
    labels = labels if labels is not None else ("row", "column")
    action_values = np.asarray(getattr(env, "action_values", np.arange(mdp.n_actions)))
    return tuple(shape), labels, action_values, getattr(env, "action_label", "action"), origin


def _picture_axes(ax: Axes, shape: tuple[int, int], labels: tuple[str, str],
                  origin: str) -> None:
    H, W = shape
    ax.set_xlim(-0.5, W - 0.5)
    ax.set_ylim((-0.5, H - 0.5) if origin == "lower" else (H - 0.5, -0.5))
    ax.set_aspect("equal")
    ax.set_xlabel(labels[1])
    ax.set_ylabel(labels[0])
    step = max(1, int(np.ceil(max(H, W) / 5)))
    ax.set_xticks(range(0, W, step))
    ax.set_yticks(range(0, H, step))


def _region_labels(ax: Axes, table: np.ndarray, fontsize: str) -> None:
    """Write each region's action value once, at the cell of the region nearest its centre."""
    from scipy import ndimage

    for value in np.unique(table):
        regions, n = ndimage.label(table == value)
        for k in range(1, n + 1):
            cells = np.argwhere(regions == k)
            if len(cells) < 2 and n > 1:
                continue  # a lone cell: its colour says enough
            centre = cells.mean(axis=0)
            r, c = cells[np.argmin(((cells - centre) ** 2).sum(axis=1))]
            ax.text(c, r, f"{value:g}", ha="center", va="center", fontsize=fontsize,
                    fontweight="bold", color="black", zorder=4,
                    bbox=dict(boxstyle="round,pad=0.15", facecolor="white", alpha=0.8,
                              linewidth=0))


def state_grid(env: Environment, V: ArrayLike | None = None, policy: ArrayLike | None = None, *,
               contours: bool = True, cmap: str = "viridis", title: str | None = None,
               ax: Axes | None = None, value_ax: Axes | None = None) -> Axes:
    r"""The policy and the values of a two-dimensional state space, as pictures.

    Sutton & Barto's Figure 4.2 for Jack's car rental: the policy as a
    ``shape[0]`` x ``shape[1]`` picture (cars at location 1 on the vertical axis, at location 2
    on the horizontal one), coloured by the net number of cars moved, its regions outlined
    and each labelled with its number; :math:`V` as a heat map with labelled contour lines.

    Parameters
    ----------
    env : Environment
        With ``.mdp`` and ``.shape`` = (rows, columns), the state of cell ``(i, j)`` being
        ``i * columns + j`` (e.g. :func:`~mdptoolkit.envs.jacks_car_rental`). Optional:
        ``axis_labels`` (what the rows and columns count; then row 0 is drawn at the bottom),
        ``action_values`` and ``action_label`` (what an action index means, e.g. cars moved).
    V : array_like (S,), optional
        Values, drawn on ``value_ax``.
    policy : array_like, optional
        Deterministic (S,) or stochastic (S, A) (its most likely action), drawn on ``ax``.
    contours : bool, default True
        Outline the policy's regions and label them; draw labelled contour lines of V.
    cmap : str, default "viridis"
        Colour map of V (the policy uses a diverging map centred on 0).
    title : str, optional
    ax : matplotlib.axes.Axes, optional
        Where the policy goes (V when no policy is given).
    value_ax : matplotlib.axes.Axes, optional
        Where V goes when both are given. Default: a second panel to the right of ``ax``
        when ``ax`` is None.

    Returns
    -------
    matplotlib.axes.Axes
        ``ax``: its first image is the ``shape`` picture (of the policy's action values, or of
        V); with both, V's heat map is the first image of ``value_ax`` (the figure's other
        picture).

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import mdptoolkit as mt
    >>> from mdptoolkit import envs, plot
    >>> env = envs.jacks_car_rental()
    >>> result = mt.policy_iteration(env.mdp)
    >>> ax = plot.state_grid(env, result.V, result.policy)
    >>> ax.images[0].get_array().shape, ax.get_ylabel(), ax.get_xlabel()
    ((21, 21), 'cars at location 1', 'cars at location 2')
    >>> int(ax.images[0].get_array()[20, 0]), int(ax.images[0].get_array()[0, 20])  # pi*
    (5, -4)
    """
    if V is None and policy is None:
        raise ValueError("state_grid needs V, policy or both; got neither")
    shape, labels, action_values, action_label, origin = _layout(env)
    mdp = env.mdp
    both = V is not None and policy is not None
    if ax is None:
        import matplotlib.pyplot as plt

        if both and value_ax is None:
            _, (ax, value_ax) = plt.subplots(1, 2, figsize=(12, 5.2), layout="constrained")
        else:
            _, ax = plt.subplots(figsize=(6.4, 5.2), layout="constrained")
    elif both and value_ax is None:
        raise ValueError("pass value_ax (where V goes) with ax when drawing both V and policy")
    name = getattr(env, "name", None)
    prefix = f"{name}: " if name else ""
    if policy is not None:
        pi = np.asarray(val.as_policy_matrix(mdp, policy))
        table = action_values[np.argmax(pi, axis=1)].reshape(shape).astype(np.float64)
        _draw_policy(ax, table, action_values, action_label, contours)
        _picture_axes(ax, shape, labels, origin)
        ax.set_title(f"{prefix}policy" if title is None else title)
    if V is not None:
        target = value_ax if both and value_ax is not None else ax
        values = np.asarray(val.as_values(mdp, V)).reshape(shape)
        _draw_values(target, values, cmap, contours)
        _picture_axes(target, shape, labels, origin)
        target.set_title((f"{prefix}values V" if title is None or both else title))
    return ax


def _draw_policy(ax: Axes, table: np.ndarray, action_values: np.ndarray, action_label: str,
                 contours: bool) -> None:
    import matplotlib
    from matplotlib.colors import BoundaryNorm, ListedColormap

    low, high = int(action_values.min()), int(action_values.max())
    levels = np.arange(low, high + 1)
    reach = max(abs(low), abs(high), 1)
    base = matplotlib.colormaps["RdBu_r"]
    colours = ListedColormap([base(0.5 + 0.42 * v / reach) for v in levels])
    norm = BoundaryNorm(np.arange(low - 0.5, high + 1), colours.N)
    image = ax.imshow(table, cmap=colours, norm=norm, origin="lower", interpolation="nearest",
                      zorder=1)
    bar = ax.figure.colorbar(image, ax=ax, ticks=levels, shrink=0.85)
    bar.set_label(action_label)
    if contours and np.unique(table).size > 1:
        boundaries = np.arange(low - 0.5, high + 1)[1:-1]
        ax.contour(table, levels=boundaries, colors="black", linewidths=1.0,
                   linestyles="solid", zorder=3, origin="lower")
        _region_labels(ax, table, "small" if max(table.shape) > 12 else "medium")


def _draw_values(ax: Axes, values: np.ndarray, cmap: str, contours: bool) -> None:
    image = ax.imshow(values, cmap=cmap, origin="lower", interpolation="nearest", zorder=1)
    bar = ax.figure.colorbar(image, ax=ax, shrink=0.85)
    bar.set_label("V(s)")
    finite = values[np.isfinite(values)]
    if contours and finite.size and finite.max() > finite.min():
        lines = ax.contour(values, levels=6, colors="white", linewidths=0.9, zorder=3,
                           origin="lower")
        ax.clabel(lines, fmt=lambda v: f"{v:.4g}", fontsize="small", inline=True)
