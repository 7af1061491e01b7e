r"""The gambler's problem of Sutton & Barto (2018), Example 4.3 (Figure 4.3)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..mdp import MDP
from ._base import Environment, check_int, check_real

__all__ = ["GamblersProblem", "gamblers_problem"]


@dataclass(frozen=True, repr=False)
class GamblersProblem(Environment):
    """The gambler's problem: an :class:`Environment` that also records ``p_heads`` and ``goal``.

    State ``s`` is the capital and action ``a`` is the stake, so ``policy[s]`` reads as "stake".
    """

    p_heads: float = 0.4
    goal: int = 100

    def _summary(self) -> str:
        return f"{super()._summary()}, p_heads={self.p_heads:g}, goal={self.goal}"


def gamblers_problem(p_heads: float = 0.4, goal: int = 100, *,
                     gamma: float = 1.0) -> GamblersProblem:
    r"""The gambler's problem of Sutton & Barto (2018), Example 4.3.

    A gambler with capital :math:`s \in \{1, \dots, \text{goal} - 1\}` stakes
    :math:`a \in \{1, \dots, \min(s, \text{goal} - s)\}` on a coin flip: heads (probability
    ``p_heads``) wins the stake, tails loses it. Reaching ``goal`` earns +1 and ends the
    episode; reaching 0 ends it with nothing. Undiscounted, so :math:`v_*(s)` is the largest
    probability of reaching the goal from capital :math:`s`.

    Parameters
    ----------
    p_heads : float in [0, 1], default 0.4
    goal : int >= 2, default 100
    gamma : float, default 1

    Returns
    -------
    GamblersProblem
        ``goal + 1`` states indexed by capital (0 and ``goal`` terminal); ``goal // 2 + 1``
        actions indexed by stake. Stakes ``1..min(s, goal - s)`` are the allowed actions; stake
        0 is allowed only in the two terminal states (which need one allowed action).

    Notes
    -----
    Every policy ends the game with probability 1 (the capital moves by at least 1 each
    flip), so gamma = 1 is proper. Figure 4.3 (p_heads = 0.4): :math:`v_*(50) = 0.4`,
    :math:`v_*(25) = 0.16`, :math:`v_*(75) = 0.64`; the final policy (the smallest optimal
    stake) stakes everything at 50, 25 at 25 and 75, and otherwise rises and falls in
    triangles, ``min(r, 25 - r)`` with ``r = s mod 25``. For p_heads < 1/2 bold play
    (stake ``min(s, goal - s)``) is optimal (Dubins & Savage, 1965).

    Examples
    --------
    >>> import mdptoolkit as mt
    >>> from mdptoolkit import envs
    >>> env = envs.gamblers_problem(p_heads=0.4)
    >>> env.mdp.n_states, env.mdp.n_actions, int(env.mdp.allowed.sum())
    (101, 51, 2502)
    >>> V = mt.value_iteration(env.mdp, tol=1e-12).V
    >>> V[[25, 50, 75]].round(6)
    array([0.16, 0.4 , 0.64])
    """
    p_heads = check_real(p_heads, "p_heads", low=0.0, high=1.0)
    goal = check_int(goal, "goal", minimum=2)
    S, A = goal + 1, goal // 2 + 1
    capital = np.arange(S)
    stake = np.arange(A)
    max_stake = np.minimum(capital, goal - capital)
    allowed = (stake[None, :] >= 1) & (stake[None, :] <= max_stake[:, None])
    terminal = (capital == 0) | (capital == goal)
    allowed[terminal, 0] = True
    win = np.clip(capital[:, None] + stake[None, :], 0, goal)  # (S, A); clipped where disallowed
    lose = np.clip(capital[:, None] - stake[None, :], 0, goal)
    s_idx, a_idx = np.indices((S, A))
    P = np.zeros((S, A, S))
    np.add.at(P, (s_idx, a_idx, win), p_heads)
    np.add.at(P, (s_idx, a_idx, lose), 1.0 - p_heads)
    R = p_heads * (win == goal)
    mdp = MDP(P, R, gamma, mu=np.where(terminal, 0.0, 1.0 / (S - 2)), terminal=terminal,
              allowed=allowed, state_names=[f"${s}" for s in capital],
              action_names=[f"stake {a}" for a in stake])
    return GamblersProblem(mdp=mdp, name="gamblers_problem", p_heads=p_heads, goal=goal)
