r"""The 4 x 3 world of Russell & Norvig, *Artificial Intelligence: A Modern Approach*.

Chapter 17 (3rd ed., §17.1, Figures 17.1-17.3): a 3-row, 4-column grid with one wall, two exits
(+1 and -1), motion that succeeds with probability 0.8 and slips to each side with 0.1, a reward
of -0.04 for every step from a non-terminal cell, and no discounting.
"""

from __future__ import annotations

from ._base import check_real
from .gridworld import GridWorld, gridworld

__all__ = ["russell_norvig_4x3"]


def russell_norvig_4x3(step_reward: float = -0.04, *, gamma: float = 1.0) -> GridWorld:
    r"""Russell & Norvig's 4 x 3 world (AIMA 3rd ed., Figure 17.1).

    The book's coordinates (x, y) have (1, 1) at the bottom-left; here cells are row-major with
    row 0 at the top, so the book's (x, y) is ``state_of(3 - y, x - 1)``:

    ====  ====  ====  ====
     0     1     2     3 (+1)
     4     5 #   6     7 (-1)
     8 S   9     10    11
    ====  ====  ====  ====

    The two exit cells (states 3 and 7, ``+`` and ``-`` in :attr:`~GridWorld.layout`) are
    terminal; entering them earns +1 or -1 on top of the step reward (the book's terminal
    rewards), and they then absorb with value 0, so our :math:`V` equals the book's utility
    :math:`U` at every non-terminal cell. State 5 is the
    wall (unreachable, modelled as terminal). Actions: up, right, down, left.

    Parameters
    ----------
    step_reward : float, default -0.04
        The book's :math:`R(s)` for non-terminal states.
    gamma : float, default 1

    Returns
    -------
    GridWorld

    Notes
    -----
    Figure 17.3 (step reward -0.04, gamma = 1), utilities:

    =====  =====  =====  =====
    0.812  0.868  0.918   +1
    0.762    #    0.660   -1
    0.705  0.655  0.611  0.388
    =====  =====  =====  =====

    and the optimal policy of Figure 17.2(a): up, up, right, right, right along the top; up at
    (3, 2); left along the bottom row.

    Examples
    --------
    >>> import mdptoolkit as mt
    >>> from mdptoolkit import envs
    >>> env = envs.russell_norvig_4x3()
    >>> V = mt.value_iteration(env.mdp, tol=1e-12).V
    >>> round(float(V[env.state_of(2, 0)]), 3)    # the start, (1, 1) in the book
    0.705
    """
    step_reward = check_real(step_reward, "step_reward")
    return gridworld(["...+", ".#.-", "S..."], gamma=gamma, step_reward=step_reward, slip=0.2,
                     rewards={"+": 1.0, "-": -1.0}, terminal="+-", name="russell_norvig_4x3")
