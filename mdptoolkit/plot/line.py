r"""One-dimensional state spaces: :math:`V` over the states and the policy (e.g. the gambler's
stake)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from .. import _validation as val
from .._typing import ArrayLike
from ..operators import optimal_actions
from ._common import _integer_ticks, _legend_below

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from ..envs import Environment
    from ..mdp import MDP


def _action_axis(env: object, mdp: Any) -> tuple[np.ndarray, str]:
    """(values of each action index, axis label) for the policy panel."""
    A = mdp.n_actions
    kind = type(env).__name__
    if kind == "GamblersProblem":
        return np.arange(A), "stake"
    if kind == "JacksCarRental":
        return np.arange(A) - getattr(env, "max_move", (A - 1) // 2), "cars moved (1 → 2)"
    return np.arange(A), "action"


def line(env_or_mdp: Environment | MDP, V: ArrayLike, policy: ArrayLike | None = None, *,
         all_optimal: bool = False, atol: float = 1e-6, policy_ax: Axes | None = None,
         title: str | None = None, ax: Axes | None = None) -> Axes:
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
        Mark, as dots, every action optimal with respect to ``V`` (ties within ``atol``), as
        in Sutton & Barto's Figure 4.3: the gambler's problem has many optimal stakes. A
        ``policy`` given too is then drawn as crosses (one choice among the tied ones), not as
        a line jumping between them.
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
    mdp: Any = getattr(env_or_mdp, "mdp", env_or_mdp)
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
        columns = getattr(env_or_mdp, "max_cars") + 1
        xlabel = f"state = cars at 1 · {columns} + cars at 2"
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
    if policy_ax is None:
        policy_ax = ax.twinx()
    action_values, action_label = _action_axis(env_or_mdp, mdp)
    if all_optimal:
        best = optimal_actions(mdp, V, atol=atol) & ~terminal[:, None]
        s, a = np.nonzero(best)
        policy_ax.scatter(s, action_values[a], s=18 if S <= 150 else 6, color="C0", zorder=2,
                          label=f"every optimal {action_label} (ties within {atol:g})")
    if policy is not None:
        pi = np.asarray(val.as_policy_matrix(mdp, policy))
        chosen = action_values[np.argmax(pi, axis=1)].astype(np.float64)
        deterministic = np.ndim(policy) == 1
        label = "policy" if deterministic else "most likely action"
        chosen = np.where(terminal, np.nan, chosen)
        if all_optimal:  # one of the tied choices: marks, not a line jumping between them
            policy_ax.plot(states, chosen, linestyle="none", marker="x", markersize=4,
                           color="C1", zorder=3, label=f"the {label}'s choice")
        else:
            policy_ax.step(states, chosen, where="mid", color="C1", linewidth=1.5, zorder=2,
                           marker="o" if S <= 30 else None, markersize=4, label=label)
    stochastic = policy is not None and np.ndim(policy) == 2
    policy_ax.set_ylabel(f"most likely {action_label}" if stochastic and not all_optimal
                         else action_label)
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
        handles: list[Any] = []
        labels: list[str] = []
        for a_ in ((ax, policy_ax) if twin else (policy_ax,)):
            h, l_ = a_.get_legend_handles_labels()
            handles += h
            labels += l_
        if twin:
            policy_ax.legend(handles, labels, loc="best", fontsize="small")
        else:
            _legend_below(policy_ax, handles, labels, ncol=2)
    return ax
