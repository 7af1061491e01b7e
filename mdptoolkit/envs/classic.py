r"""Small classic MDPs: pymdptoolbox's forest, RiverSwim and Sutton & Barto's short corridor."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ..mdp import MDP
from ._base import Environment, check_bytes, check_int, check_real

__all__ = ["forest", "river_swim", "short_corridor"]


def forest(S: int = 3, r1: float = 4.0, r2: float = 2.0, p: float = 0.1, *, gamma: float = 0.96,
           sparse: bool = False, max_bytes: int | None = None) -> Environment:
    r"""The forest-management MDP of pymdptoolbox's ``mdptoolbox.example.forest``.

    A forest is managed in age classes 0..S-1. Each year the manager either waits (action 0) or
    cuts (action 1). Waiting lets the forest grow one class (staying in the oldest one), except
    that a fire, with probability ``p``, burns it back to class 0; waiting in the oldest class
    earns ``r1``. Cutting returns it to class 0 and earns 1, or ``r2`` in the oldest class, or 0
    in class 0.

    Parameters
    ----------
    S : int >= 2, default 3
        Number of age classes.
    r1 : float > 0, default 4
        Reward of waiting in the oldest class.
    r2 : float > 0, default 2
        Reward of cutting in the oldest class.
    p : float in [0, 1], default 0.1
        Probability of a fire in a year.
    gamma : float, default 0.96
        pymdptoolbox's examples use 0.96 (and 0.9).
    sparse : bool, default False
        Store P as a sparse (S·A, S) matrix.
    max_bytes : int, optional
        Limit on the estimated peak memory (default 2**32, 4 GiB; about ``48*S*S`` bytes
        dense, ``400*S`` sparse): a larger instance is refused before anything is allocated.

    Returns
    -------
    Environment
        ``S`` states, 2 actions (``"wait"``, ``"cut"``); P and R equal pymdptoolbox's
        ``forest(S, r1, r2, p)`` arrays, ``P[a, s, s2]`` and ``R[s, a]``.

    Notes
    -----
    With the defaults and gamma = 0.96, "wait" is optimal everywhere and
    :math:`V^* = (74.6496, 78.1056, 82.1056)` exactly (solve
    :math:`(I - \gamma P_\text{wait}) V = R_\text{wait}`). pymdptoolbox's own
    ``ValueIteration(P, R, 0.96)`` reports ``(5.93215488, 9.38815488, 13.38815488)``: it stops
    after 4 iterations because its test bounds the *span* of :math:`V_{k+1} - V_k`, which
    guarantees an optimal policy but leaves every value short of :math:`V^*` by almost the same
    constant (68.71744512). :func:`mdptoolkit.value_iteration` returns values with a guaranteed
    :math:`\max_s |V(s) - V^*(s)| \le` ``tol`` when it converges, so it reports the values
    above.

    Examples
    --------
    >>> import mdptoolkit as mt
    >>> from mdptoolkit import envs
    >>> env = envs.forest()
    >>> result = mt.policy_iteration(env.mdp)
    >>> result.V.round(4), result.policy
    (array([74.6496, 78.1056, 82.1056]), array([0, 0, 0]))
    """
    S = check_int(S, "S", minimum=2)
    r1 = check_real(r1, "r1", low=0.0, low_open=True)
    r2 = check_real(r2, "r2", low=0.0, low_open=True)
    p = check_real(p, "p", low=0.0, high=1.0)
    check_bytes(400 * S if sparse else 48 * S * S, max_bytes, "forest",
                f"for S={S}, sparse={sparse}" + ("" if sparse else " (pass sparse=True)"))
    s = np.arange(S)
    older = np.minimum(s + 1, S - 1)
    # rows s*2 + a: wait -> {0: p, older: 1 - p}; cut -> {0: 1}
    rows = np.concatenate([2 * s, 2 * s, 2 * s + 1])
    cols = np.concatenate([np.zeros(S, int), older, np.zeros(S, int)])
    vals = np.concatenate([np.full(S, p), np.full(S, 1.0 - p), np.ones(S)])
    P = sp.csr_array((vals, (rows, cols)), shape=(2 * S, S))  # duplicates add up
    if not sparse:
        P = P.toarray().reshape(S, 2, S)
    R = np.zeros((S, 2))
    R[S - 1, 0] = r1
    R[1:, 1] = 1.0
    R[S - 1, 1] = r2
    mdp = MDP(P, R, gamma, state_names=[f"age {a}" for a in s], action_names=["wait", "cut"])
    return Environment(mdp=mdp, name="forest")


def river_swim(n: int = 6, *, small_reward: float = 5.0, large_reward: float = 10_000.0,
               gamma: float = 0.95, max_bytes: int | None = None) -> Environment:
    r"""RiverSwim (Strehl & Littman, 2008, Figure 1): a chain where exploration pays off.

    States 0..n-1 along a river, the agent starting at the left bank (state 0). Swimming left
    (action 0) with the current always succeeds. Swimming right (action 1) against the current
    moves right with probability 0.3, stays with 0.6 and drifts left with 0.1 in the middle
    states; at the left bank it moves right with 0.3 and stays with 0.7; at the right end it
    stays with 0.3 and drifts left with 0.7. Swimming left at the left bank earns
    ``small_reward``; staying at the right end while swimming right earns ``large_reward``
    (so :math:`R(n-1, \text{right}) = 0.3 \cdot` ``large_reward``).

    Parameters
    ----------
    n : int >= 2, default 6
    small_reward, large_reward : float, default 5 and 10000
    gamma : float, default 0.95
    max_bytes : int, optional
        Limit on the estimated peak memory (default 2**32, 4 GiB; about ``48*n*n`` bytes, P
        being dense): a larger chain is refused before anything is allocated.

    Returns
    -------
    Environment
        ``n`` states, 2 actions (``"left"``, ``"right"``), :math:`\mu` on state 0.

    Notes
    -----
    The myopic policy "always left" earns ``small_reward`` per step at the bank, value
    ``small_reward / (1 - gamma)`` = 100 at state 0 for the defaults; "always right" is optimal
    for the defaults but its reward lies n - 1 unlikely steps away, which makes RiverSwim a
    standard test of exploration for sampling-based learners.

    Examples
    --------
    >>> import numpy as np, mdptoolkit as mt
    >>> from mdptoolkit import envs
    >>> env = envs.river_swim()
    >>> round(float(mt.evaluate_policy(env.mdp, np.zeros(6, dtype=int))[0]), 6)
    100.0
    >>> mt.policy_iteration(env.mdp).policy
    array([1, 1, 1, 1, 1, 1])
    """
    n = check_int(n, "n", minimum=2)
    check_bytes(48 * n * n, max_bytes, "river_swim", f"for n={n} (its P is dense)")
    small_reward = check_real(small_reward, "small_reward")
    large_reward = check_real(large_reward, "large_reward")
    s = np.arange(n)
    left, right = np.maximum(s - 1, 0), np.minimum(s + 1, n - 1)
    P = np.zeros((n, 2, n))
    P[s, 0, left] = 1.0
    # swimming right: 0.3 forward, 0.6 stay, 0.1 back (middle states)
    # numpy's stubs reject a tuple of index arrays in ufunc.at, which numpy accepts
    np.add.at(P, (s, 1, right), 0.3)  # type: ignore[arg-type]
    np.add.at(P, (s, 1, s), 0.6)  # type: ignore[arg-type]
    np.add.at(P, (s, 1, left), 0.1)  # type: ignore[arg-type]
    P[n - 1, 1] = 0.0
    P[n - 1, 1, [n - 2, n - 1]] = [0.7, 0.3]
    R = np.zeros((n, 2))
    R[0, 0] = small_reward
    R[n - 1, 1] = 0.3 * large_reward
    mu = np.zeros(n)
    mu[0] = 1.0
    mdp = MDP(P, R, gamma, mu=mu, action_names=["left", "right"])
    return Environment(mdp=mdp, name="river_swim")


def short_corridor(*, gamma: float = 1.0) -> Environment:
    r"""The short corridor with switched actions, Sutton & Barto (2018), Example 13.1.

    States 0, 1, 2 and the terminal goal 3, left to right; actions left (0) and right (1);
    every step earns -1. In states 0 and 2 the actions move as named (left in state 0 stays
    put); in state 1 they are switched: right moves to state 0 and left to state 2.
    :math:`\mu` puts all mass on state 0. The states look alike to the agent, which motivates
    stochastic policies: all states share one probability ``p`` of choosing right.

    Parameters
    ----------
    gamma : float, default 1

    Returns
    -------
    Environment
        4 states (state 3 terminal), 2 actions (``"left"``, ``"right"``).

    Notes
    -----
    With the shared policy :math:`\pi(\text{right}) = p` in every state,

    .. math::

        v_\pi(s_0) = \frac{2p - 4}{p (1 - p)},

    largest at :math:`p = 2 - \sqrt{2} \approx 0.586`, where it is :math:`-(6 + 4\sqrt{2})
    \approx -11.66` (Figure 13.1). The two shared deterministic policies (p = 0 or 1) never
    reach the goal. The MDP itself tells the states apart, so its optimal (per-state) policy
    reaches the goal in 3 steps: :math:`v_*(s_0) = -3`.

    Examples
    --------
    >>> import numpy as np, mdptoolkit as mt
    >>> from mdptoolkit import envs
    >>> env = envs.short_corridor()
    >>> p = 2 - np.sqrt(2)
    >>> policy = np.tile([1 - p, p], (4, 1))
    >>> round(float(mt.expected_return(env.mdp, policy)), 4)
    -11.6569
    """
    P = np.zeros((4, 2, 4))
    P[0, 0, 0] = P[0, 1, 1] = 1.0
    P[1, 0, 2] = P[1, 1, 0] = 1.0  # switched
    P[2, 0, 1] = P[2, 1, 3] = 1.0
    P[3, :, 3] = 1.0
    R = np.full((4, 2), -1.0)
    mdp = MDP(P, R, gamma, mu=[1.0, 0.0, 0.0, 0.0], terminal=[False, False, False, True],
              state_names=["start", "switched", "right", "goal"], action_names=["left", "right"])
    return Environment(mdp=mdp, name="short_corridor")
