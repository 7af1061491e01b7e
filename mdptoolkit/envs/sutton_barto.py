r"""The grid worlds of Sutton & Barto, *Reinforcement Learning: An Introduction* (2nd ed., 2018).

- :func:`sutton_barto_4x4`: Example 4.1 (Figure 4.1), the small gridworld of iterative policy
  evaluation.
- :func:`sutton_barto_5x5`: Example 3.5 (Figures 3.2 and 3.5), the gridworld with the special
  states A and B.
- :func:`cliff_walking`: Example 6.6, the cliff of Sarsa vs Q-learning.

All three are deterministic, with actions up, right, down, left (in that index order) and
row-major states (state = row * W + col, row 0 at the top).
"""

from __future__ import annotations

from ._base import check_real
from .gridworld import GridWorld, gridworld

__all__ = ["sutton_barto_4x4", "sutton_barto_5x5", "cliff_walking"]


def sutton_barto_4x4(*, gamma: float = 1.0) -> GridWorld:
    r"""The 4 x 4 gridworld of Sutton & Barto (2018), Example 4.1.

    The two shaded corner cells (states 0 and 15) are terminal; every move earns -1, also the
    move into a terminal cell; moves off the grid leave the state unchanged; undiscounted.

    Parameters
    ----------
    gamma : float, default 1
        The book's task is undiscounted.

    Returns
    -------
    GridWorld
        16 states, 4 actions (up, right, down, left), terminal states 0 and 15.

    Notes
    -----
    Figure 4.1 (last row, k = infinity): the equiprobable random policy has the values

    ====  ====  ====  ====
       0   -14   -20   -22
     -14   -18   -20   -20
     -20   -20   -18   -14
     -22   -20   -14     0
    ====  ====  ====  ====

    and the greedy policy with respect to them is optimal, with :math:`v_*(s)` = minus the
    number of steps to the nearest corner.

    Examples
    --------
    >>> import numpy as np, mdptoolkit as mt
    >>> from mdptoolkit import envs
    >>> env = envs.sutton_barto_4x4()
    >>> random_policy = np.full((16, 4), 0.25)
    >>> mt.evaluate_policy(env.mdp, random_policy).reshape(4, 4).round(1)
    array([[  0., -14., -20., -22.],
           [-14., -18., -20., -20.],
           [-20., -20., -18., -14.],
           [-22., -20., -14.,   0.]])
    """
    env = gridworld(["T...", "....", "....", "...T"], gamma=gamma, step_reward=-1.0,
                    rewards={"T": 0.0}, terminal="T", name="sutton_barto_4x4")
    return env


def sutton_barto_5x5(*, gamma: float = 0.9) -> GridWorld:
    r"""The 5 x 5 gridworld of Sutton & Barto (2018), Example 3.5.

    From A = (0, 1) every action moves to A' = (4, 1) and earns +10; from B = (0, 3) every
    action moves to B' = (2, 3) and earns +5; a move off the grid leaves the state unchanged and
    earns -1; every other move earns 0. Continuing task, gamma = 0.9.

    Parameters
    ----------
    gamma : float, default 0.9

    Returns
    -------
    GridWorld
        25 states, 4 actions (up, right, down, left), no terminal state.

    Notes
    -----
    Figure 3.2 (equiprobable random policy) and Figure 3.5 (:math:`v_*`), to one decimal:

    ====  ====  ====  ====  ====     ====  ====  ====  ====  ====
     3.3   8.8   4.4   5.3   1.5     22.0  24.4  22.0  19.4  17.5
     1.5   3.0   2.3   1.9   0.5     19.8  22.0  19.8  17.8  16.0
     0.1   0.7   0.7   0.4  -0.4     17.8  19.8  17.8  16.0  14.4
    -1.0  -0.4  -0.4  -0.6  -1.2     16.0  17.8  16.0  14.4  13.0
    -1.9  -1.3  -1.2  -1.4  -2.0     14.4  16.0  14.4  13.0  11.7
    ====  ====  ====  ====  ====     ====  ====  ====  ====  ====

    Examples
    --------
    >>> import numpy as np, mdptoolkit as mt
    >>> from mdptoolkit import envs
    >>> env = envs.sutton_barto_5x5()
    >>> V = mt.evaluate_policy(env.mdp, np.full((25, 4), 0.25))
    >>> A, B = env.state_of(0, 1), env.state_of(0, 3)
    >>> round(float(V[A]), 1), round(float(V[B]), 1)   # v_random(A), v_random(B)
    (8.8, 5.3)
    """
    gamma = check_real(gamma, "gamma", low=0.0, high=1.0)
    return gridworld(["....."] * 5, gamma=gamma, bump_reward=-1.0,
                     jumps={(0, 1): ((4, 1), 10.0), (0, 3): ((2, 3), 5.0)},
                     name="sutton_barto_5x5")


def cliff_walking(*, gamma: float = 1.0) -> GridWorld:
    r"""The cliff-walking gridworld of Sutton & Barto (2018), Example 6.6.

    A 4 x 12 grid: start S at the bottom-left (state 36), goal G at the bottom-right (state 47,
    terminal), the cliff between them (states 37..46). Every move earns -1 (also the move into
    the goal); a move into the cliff earns -100 and sends the agent back to the start.
    Undiscounted. The same dynamics as gymnasium's ``CliffWalking-v1`` (same action order:
    up, right, down, left).

    Parameters
    ----------
    gamma : float, default 1

    Returns
    -------
    GridWorld
        48 states (the cliff cells are unreachable and modelled as terminal), 4 actions.

    Notes
    -----
    The optimal path runs along the edge of the cliff: 13 moves, return -13 from the start.

    Examples
    --------
    >>> import mdptoolkit as mt
    >>> from mdptoolkit import envs
    >>> env = envs.cliff_walking()
    >>> result = mt.value_iteration(env.mdp)
    >>> round(float(result.V[env.state_of(3, 0)]), 6)
    -13.0
    """
    layout = ["............", "............", "............", "SCCCCCCCCCCG"]
    return gridworld(layout, gamma=gamma, step_reward=-1.0, rewards={"G": 0.0},
                     cliff_reward=-100.0, name="cliff_walking")
