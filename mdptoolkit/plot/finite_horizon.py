r"""Finite-horizon results (:func:`~mdptoolkit.backward_induction`) drawn as what they are: the
values :math:`V_t` of every stage and the non-stationary policy :math:`\pi_t`, not a
convergence curve."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ._common import _integer_ticks
from .grid import values as grid_values
from .line import _action_axis

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from ..envs import Environment
    from ..mdp import MDP
    from ..result import SolverResult


def _check(result: SolverResult) -> tuple[np.ndarray, np.ndarray]:
    V = np.asarray(getattr(result, "V", None))
    policy = np.asarray(getattr(result, "policy", None))
    if V.ndim != 2 or policy.ndim != 2 or V.shape[0] != policy.shape[0] + 1:
        raise ValueError(f"result must be a finite-horizon result (backward_induction: V of "
                         f"shape (horizon + 1, S), policy (horizon, S)); got V of shape "
                         f"{V.shape} and policy of shape {policy.shape}")
    return V, policy


def _default_times(horizon: int, n: int) -> list[int]:
    """Up to n decision times from 0 to horizon - 1, evenly spread, both ends included."""
    return sorted(set(np.linspace(0, horizon - 1, min(n, horizon)).round().astype(int).tolist()))


def stages(env_or_mdp: Environment | MDP, result: SolverResult, *,
           times: Sequence[int] | None = None,
           axes: Sequence[Axes] | None = None) -> list[Axes]:
    r"""The values per stage and the non-stationary policy of a finite-horizon result.

    Parameters
    ----------
    env_or_mdp : Environment or MDP
        A grid world gets one heat map per decision time t with an arrow for every action
        optimal at t (the ties of ``result.Q[t]``); anything else gets two panels:
        :math:`V_t(s)` over the states, one line per stage, and the policy as a (stage, state)
        picture coloured by action.
    result : SolverResult
        Of :func:`~mdptoolkit.backward_induction`: ``V`` (horizon + 1, S) with ``V[t]`` the
        value with horizon − t steps to go, ``policy`` (horizon, S) with ``policy[t]`` the
        decision at time t.
    times : sequence of int, optional
        The decision times to draw (grid worlds: one panel each; otherwise the stages whose
        value lines are drawn). Default: up to 4 (grids) or 6 times from 0 to horizon − 1.
    axes : sequence of matplotlib.axes.Axes, optional
        One per time (grid worlds) or two (values, policy). Default: a new figure.

    Returns
    -------
    list of matplotlib.axes.Axes

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import mdptoolkit as mt
    >>> from mdptoolkit import envs, plot
    >>> env = envs.gamblers_problem(goal=10)
    >>> result = mt.backward_induction(env.mdp, 3)
    >>> values_ax, policy_ax = plot.stages(env, result)
    >>> policy_ax.images[0].get_array().shape   # (horizon, S): pi_t for every t
    (3, 11)
    >>> [line.get_label() for line in values_ax.get_lines()][:2]
    ['t = 0 (3 steps to go)', 't = 1 (2 steps to go)']
    """
    V, policy = _check(result)
    horizon = policy.shape[0]
    grid = hasattr(env_or_mdp, "actions") and hasattr(env_or_mdp, "shape")
    if times is None:
        times = _default_times(horizon, 4 if grid else 6)
    times = [int(t) for t in times]
    bad = [t for t in times if not 0 <= t < horizon]
    if bad or not times:
        raise ValueError(f"times must be decision times in 0..{horizon - 1}; got {times}")
    if grid:
        Q = getattr(result, "Q", None)
        A = getattr(env_or_mdp, "mdp", env_or_mdp).n_actions
        Q = np.asarray(Q) if Q is not None and np.shape(Q) == policy.shape + (A,) else None
        return _grid_stages(env_or_mdp, V, policy, Q, times, axes)
    return _line_stages(env_or_mdp, V, policy, times, axes)


def _grid_stages(env: Any, V: np.ndarray, policy: np.ndarray, result_Q: np.ndarray | None,
                 times: list[int], axes: Sequence[Axes] | None) -> list[Axes]:
    horizon = policy.shape[0]
    if axes is None:
        import matplotlib.pyplot as plt

        H, W = env.shape
        n = len(times)
        _, grid = plt.subplots(1, n, figsize=(min(4.2 * n * max(1.0, W / H), 18), 4.6),
                               layout="constrained", squeeze=False)
        axes = list(grid[0])
    if len(axes) != len(times):
        raise ValueError(f"axes must hold one Axes per time; got {len(axes)} for {len(times)}")
    free = ~np.asarray(env.mdp.terminal)  # one colour scale for every panel
    shown = V[np.asarray(times)][:, free]
    vmin, vmax = (float(shown.min()), float(shown.max())) if shown.size else (None, None)
    ties = _tied_actions(env.mdp, result_Q) if result_Q is not None else None
    for i, (ax, t) in enumerate(zip(axes, times)):
        # every action optimal at time t: the ties of Q_t (else the policy's own choice)
        grid_values(env, V[t], policy[t] if ties is None else None,
                    actions=None if ties is None else ties[t], ax=ax, vmin=vmin, vmax=vmax,
                    colorbar=i == len(times) - 1,
                    title=f"t = {t}: $V_{{{t}}}$ and $\\pi_{{{t}}}$ ({_to_go(horizon - t)})")
    return list(axes)


def _tied_actions(mdp: MDP, Q: np.ndarray, rtol: float = 1e-9) -> np.ndarray:
    """(horizon, S, A) bool: the allowed actions within rtol * scale of the best at each time."""
    allowed = np.asarray(mdp.allowed)[None]
    Qm = np.where(allowed, Q, -np.inf)
    best = Qm.max(axis=2, keepdims=True)
    scale = max(1.0, float(np.abs(Q[np.isfinite(Q)]).max(initial=0.0)))
    return allowed & (Qm >= best - rtol * scale)


def _to_go(k: int) -> str:
    return f"{k} step{'s' if k != 1 else ''} to go"


def _line_stages(env_or_mdp: Environment | MDP, V: np.ndarray, policy: np.ndarray,
                 times: list[int], axes: Sequence[Axes] | None) -> list[Axes]:
    import matplotlib

    mdp = getattr(env_or_mdp, "mdp", env_or_mdp)
    horizon, S = policy.shape
    if axes is None:
        import matplotlib.pyplot as plt

        _, axes = plt.subplots(2, 1, figsize=(7, 7), layout="constrained", sharex=True)
    if len(axes) != 2:
        raise ValueError(f"axes must hold two Axes (values, policy); got {len(axes)}")
    values_ax, policy_ax = axes
    colours = matplotlib.colormaps["viridis"]
    terminal = np.asarray(mdp.terminal)
    states = np.arange(S)
    for i, t in enumerate(times):
        values_ax.plot(states, np.where(terminal, np.nan, V[t]),
                       color=colours(i / max(1, len(times) - 1) * 0.9),
                       marker="." if S <= 60 else None,
                       label=f"t = {t} ({_to_go(horizon - t)})")
    values_ax.set_ylabel("value $V_t(s)$")
    values_ax.grid(True, alpha=0.3)
    values_ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize="small",
                     frameon=False)
    name = getattr(env_or_mdp, "name", None)
    values_ax.set_title(f"{name + ': ' if name else ''}values per stage, horizon {horizon}")
    action_values, action_label = _action_axis(env_or_mdp, mdp)
    table = np.where(terminal[None, :], np.nan, action_values[policy].astype(np.float64))
    image = policy_ax.imshow(table, aspect="auto", origin="upper", interpolation="nearest",
                             cmap="viridis", extent=(-0.5, S - 0.5, horizon - 0.5, -0.5))
    policy_ax.figure.colorbar(image, ax=policy_ax, label=action_label, shrink=0.9)
    policy_ax.set_ylabel("decision time t")
    policy_ax.set_xlabel("capital" if type(env_or_mdp).__name__ == "GamblersProblem"
                         else "state")
    policy_ax.set_title(r"non-stationary policy $\pi_t(s)$ (blank: terminal)")
    _integer_ticks(policy_ax.yaxis)
    _integer_ticks(policy_ax.xaxis)
    return [values_ax, policy_ax]
