"""Known answers from the textbooks, each model built here from the book's description.

- Puterman, M. L. (2005). Markov Decision Processes: Discrete Stochastic Dynamic Programming.
  Wiley. §3.1 (the two-state example) and §4.6.1 (the stochastic inventory model of §3.2.2 solved
  by backward induction).
- Sutton, R. S. & Barto, A. G. (2018). Reinforcement Learning: An Introduction, 2nd ed.
  Example 4.1 and Figure 4.1 (the 4x4 grid world).

Dense and sparse MDPs are parametrized side by side.
"""

from fractions import Fraction

import numpy as np
import pytest

import mdptoolkit as mt
from _helpers import as_kind



@pytest.fixture(params=["dense", "sparse"])
def kind(request):
    return request.param


# ---------------------------------------------------------------------- Puterman (2005), §3.1
def puterman_two_state(kind, gamma):
    """Puterman (2005), §3.1, Figure 3.1.1. In s1 action a11 earns 5 and stays in s1 or moves to
    s2 with probability 1/2 each; action a12 earns 10 and moves to s2. In s2 the only action a21
    earns -1 and stays (a second action index is disallowed through R = -inf)."""
    P = np.zeros((2, 2, 2))
    P[0, 0] = [0.5, 0.5]  # a11
    P[0, 1] = [0.0, 1.0]  # a12
    P[1, 0] = [0.0, 1.0]  # a21
    P[1, 1] = [0.0, 1.0]  # (disallowed)
    R = np.array([[5.0, 10.0], [-1.0, -np.inf]])
    return mt.MDP(as_kind(P, kind), R, gamma)


def puterman_two_state_optimum(gamma):
    r"""Closed form of v* for the two-state example.

    In s2: v(s2) = -1 + gamma v(s2), so v*(s2) = -1 / (1 - gamma).
    In s1 with a11: v = 5 + gamma (v/2 + v*(s2)/2),
    so v11 = (5 - gamma / (2(1 - gamma))) / (1 - gamma/2).
    In s1 with a12: v12 = 10 + gamma v*(s2) = 10 - gamma / (1 - gamma).
    Multiplying v11 - v12 by (1 - gamma/2)(1 - gamma) > 0 gives (11 gamma - 10)(1 - gamma) / 2, so
    a12 is optimal for gamma < 10/11, a11 for gamma > 10/11, both at gamma = 10/11, and
    v*(s1) = max(v11, v12). For gamma = 0.95: v*(s1) = -4.5 / 0.525 = -8.5714..., v*(s2) = -20
    (the values Puterman reports).
    """
    v2 = -1.0 / (1.0 - gamma)
    v11 = (5.0 - gamma / (2.0 * (1.0 - gamma))) / (1.0 - gamma / 2.0)
    v12 = 10.0 - gamma / (1.0 - gamma)
    return np.array([max(v11, v12), v2]), (0 if v11 > v12 else 1)


def test_puterman_closed_form_matches_the_published_values():
    v, action = puterman_two_state_optimum(0.95)
    np.testing.assert_allclose(v, [-60 / 7, -20.0], rtol=1e-13)  # -4.5 / 0.525 = -60/7
    assert round(v[0], 3) == -8.571 and action == 0


PUTERMAN_SOLVERS = {
    "value_iteration": lambda mdp: mt.value_iteration(mdp, tol=1e-10),
    "value_iteration-gauss_seidel": lambda mdp: mt.value_iteration(mdp, tol=1e-10,
                                                                   gauss_seidel=True),
    "policy_iteration": lambda mdp: mt.policy_iteration(mdp),
    "modified_policy_iteration": lambda mdp: mt.modified_policy_iteration(mdp, tol=1e-10),
    "linear_programming": lambda mdp: mt.linear_programming(mdp),
}


@pytest.mark.parametrize("solver", sorted(PUTERMAN_SOLVERS))
@pytest.mark.parametrize("gamma", [0.0, 0.5, 0.9, 0.95, 0.99])
def test_puterman_two_state_example(kind, solver, gamma):
    mdp = puterman_two_state(kind, gamma)
    v_star, action = puterman_two_state_optimum(gamma)
    result = PUTERMAN_SOLVERS[solver](mdp)
    assert result.converged, result.message
    np.testing.assert_allclose(result.V, v_star, rtol=0, atol=1e-10)
    np.testing.assert_array_equal(result.policy, [action, 0])


def test_puterman_two_state_tie_at_gamma_10_over_11(kind):
    # At gamma = 10/11 both actions in s1 are optimal: v*(s1) = 10 - 10 = 0 and v*(s2) = -11.
    gamma = 10 / 11
    mdp = puterman_two_state(kind, gamma)
    v_star, _ = puterman_two_state_optimum(gamma)
    np.testing.assert_allclose(v_star, [0.0, -11.0], atol=1e-12)
    result = mt.policy_iteration(mdp)
    np.testing.assert_allclose(result.V, v_star, atol=1e-12)
    np.testing.assert_array_equal(mt.optimal_actions(mdp, result.V), [[True, True], [True, False]])


# ---------------------------------------------------------------------- Puterman (2005), §4.6.1
# The stochastic inventory model of Puterman (2005) §3.2.2, solved by backward induction in §4.6.1:
# warehouse capacity M = 3; state s = units in stock at the start of a month; action a = units
# ordered (delivered at once), allowed when s + a <= M; demand D = 0, 1, 2 with probabilities
# 1/4, 1/2, 1/4; next state max(s + a - D, 0). Order cost O(a) = 4 + 2a for a > 0 (0 for a = 0),
# holding cost h(u) = u on u = s + a units, revenue f(j) = 8j on j units sold, so the expected
# reward is r(s, a) = F(s + a) - O(a) - h(s + a) with F(u) = sum_{j<u} f(j) p_j + f(u) q_u,
# q_u = Pr(D >= u). N = 4 decision epochs (three decisions), terminal reward 0, no discounting.
#
# Published optimal values u*_t(s) and decisions d*_t(s) (Puterman 2005, §4.6.1; the table is
# reproduced in NREL/dynamo example/inventory/Inv_demo.m, "Optimal Values: 4.1875 8.0625 12.125
# 14.1875 | 2 6.25 10 10.5 | 0 5 6 5" and "Optimal Policy: t=1: 3 0 0 0, t=2: 2 0 0 0,
# t=3: 0 0 0 0"):
#
#   s   u*_1     d*_1   u*_2   d*_2   u*_3   d*_3
#   0   67/16    3      2      2      0      0
#   1   129/16   0      25/4   0      5      0
#   2   194/16   0      10     0      6      0
#   3   227/16   0      21/2   0      5      0
PUBLISHED_U = [
    [Fraction(67, 16), Fraction(129, 16), Fraction(194, 16), Fraction(227, 16)],
    [Fraction(2), Fraction(25, 4), Fraction(10), Fraction(21, 2)],
    [Fraction(0), Fraction(5), Fraction(6), Fraction(5)],
    [Fraction(0)] * 4,
]
PUBLISHED_D = [[3, 0, 0, 0], [2, 0, 0, 0], [0, 0, 0, 0]]
DEMAND = [Fraction(1, 4), Fraction(1, 2), Fraction(1, 4)]
CAPACITY = 3


def inventory_reward(s, a):
    """r(s, a) = F(s + a) - O(a) - h(s + a), exactly (Puterman 2005, §3.2.2)."""
    u = s + a
    q_u = sum(DEMAND[j] for j in range(len(DEMAND)) if j >= u)
    F = sum(8 * j * DEMAND[j] for j in range(min(u, len(DEMAND)))) + 8 * u * q_u
    order = 4 + 2 * a if a > 0 else 0
    return F - order - u


def inventory_mdp(kind):
    n = CAPACITY + 1
    P = np.zeros((n, n, n))
    R = np.full((n, n), -np.inf)  # -inf: orders beyond capacity are not allowed
    for s in range(n):
        for a in range(n - s):
            R[s, a] = float(inventory_reward(s, a))
            for j, p in enumerate(DEMAND):
                P[s, a, max(s + a - j, 0)] += float(p)
        for a in range(n - s, n):
            P[s, a, s] = 1.0  # rows of disallowed orders are never used
    return mt.MDP(as_kind(P, kind), R, 1.0)


def test_inventory_rewards_match_puterman_table():
    # Puterman (2005), §3.2.2: r(0, .) = 0, -1, -2, -5; r(1, .) = 5, 0, -3; r(2, .) = 6, -1;
    # r(3, 0) = 5.
    table = [[inventory_reward(s, a) for a in range(CAPACITY + 1 - s)] for s in range(CAPACITY + 1)]
    assert table == [[0, -1, -2, -5], [5, 0, -3], [6, -1], [5]]


def test_inventory_exact_recursion_reproduces_the_published_table():
    # An exact rational recursion over the model as described, independent of the library:
    # it confirms that the model above is the book's before the library is tested on it.
    u = [Fraction(0)] * (CAPACITY + 1)
    for t in (2, 1, 0):
        values, decisions = [], []
        for s in range(CAPACITY + 1):
            q = {a: inventory_reward(s, a)
                 + sum(p * u[max(s + a - j, 0)] for j, p in enumerate(DEMAND))
                 for a in range(CAPACITY + 1 - s)}
            best = max(q.values())
            values.append(best)
            decisions.append([a for a, v in q.items() if v == best])
        assert values == PUBLISHED_U[t]
        assert decisions == [[d] for d in PUBLISHED_D[t]]  # the optimal order is unique
        u = values


def test_inventory_backward_induction(kind):
    mdp = inventory_mdp(kind)
    result = mt.backward_induction(mdp, 3)
    assert result.converged and result.method == "backward_induction"
    expected = np.array([[float(x) for x in row] for row in PUBLISHED_U])
    np.testing.assert_allclose(result.V, expected, rtol=1e-14, atol=1e-14)
    np.testing.assert_array_equal(result.policy, PUBLISHED_D)
    # Q[t] are the one-step look-ahead values: their maxima are V[t]
    np.testing.assert_allclose(result.Q.max(axis=2), expected[:3], rtol=1e-14, atol=1e-14)
    assert np.isneginf(result.Q[:, 3, 1:]).all()  # a full warehouse cannot order


def test_inventory_backward_induction_equals_value_iteration_steps(kind):
    # Backward induction over H steps equals H applications of T from the terminal values.
    mdp = inventory_mdp(kind)
    result = mt.backward_induction(mdp, 3, terminal_values=np.arange(4.0))
    V = np.arange(4.0)
    for t in (2, 1, 0):
        V = mt.bellman_optimality(mdp, V)
        np.testing.assert_allclose(result.V[t], V, rtol=1e-14)
    np.testing.assert_array_equal(result.V[3], np.arange(4.0))


# ------------------------------------------------------------- Sutton & Barto (2018), Ex. 4.1
def sutton_barto_4x4(kind):
    """Sutton & Barto (2018), Example 4.1: a 4x4 grid, cells numbered row-major, the two shaded
    corners (0 and 15) terminal, actions up/down/left/right, moves off the grid leave the state
    unchanged, reward -1 on every transition, undiscounted (gamma = 1)."""
    S = 16
    moves = [(-1, 0), (1, 0), (0, -1), (0, 1)]
    P = np.zeros((S, 4, S))
    for s in range(S):
        r, c = divmod(s, 4)
        for a, (dr, dc) in enumerate(moves):
            P[s, a, 4 * min(max(r + dr, 0), 3) + min(max(c + dc, 0), 3)] = 1.0
    terminal = np.zeros(S, bool)
    terminal[[0, 15]] = True
    return mt.MDP(as_kind(P, kind), -np.ones((S, 4)), 1.0, terminal=terminal)


RANDOM_POLICY = np.full((16, 4), 0.25)

# Sutton & Barto (2018), Figure 4.1, left column: v_k of iterative policy evaluation for the
# equiprobable random policy, shown to one decimal; k = infinity is v_pi (exact integers).
FIGURE_4_1 = {
    1: [[0.0, -1.0, -1.0, -1.0], [-1.0, -1.0, -1.0, -1.0], [-1.0, -1.0, -1.0, -1.0],
        [-1.0, -1.0, -1.0, 0.0]],
    2: [[0.0, -1.7, -2.0, -2.0], [-1.7, -2.0, -2.0, -2.0], [-2.0, -2.0, -2.0, -1.7],
        [-2.0, -2.0, -1.7, 0.0]],
    3: [[0.0, -2.4, -2.9, -3.0], [-2.4, -2.9, -3.0, -2.9], [-2.9, -3.0, -2.9, -2.4],
        [-3.0, -2.9, -2.4, 0.0]],
    10: [[0.0, -6.1, -8.4, -9.0], [-6.1, -7.7, -8.4, -8.4], [-8.4, -8.4, -7.7, -6.1],
         [-9.0, -8.4, -6.1, 0.0]],
}
V_RANDOM = [[0.0, -14.0, -20.0, -22.0], [-14.0, -18.0, -20.0, -20.0],
            [-20.0, -20.0, -18.0, -14.0], [-22.0, -20.0, -14.0, 0.0]]


def steps_to_nearest_corner():
    return np.array([min(r + c, (3 - r) + (3 - c)) for r in range(4) for c in range(4)],
                    dtype=float)


@pytest.mark.parametrize("method", ["direct", "iterative"])
def test_sutton_barto_random_policy_values(kind, method):
    mdp = sutton_barto_4x4(kind)
    tol = 1e-10
    V = mt.evaluate_policy(mdp, RANDOM_POLICY, method=method, tol=tol)
    # direct is exact up to round-off. Iterative with gamma = 1 stops when max|T^pi V - V| <= tol;
    # then V - v_pi = (I - P_pi)^-1 (V - T^pi V) on the non-terminal states, and the row sums of
    # (I - P_pi)^-1 are the expected numbers of steps to termination, -v_pi <= 22: error <= 22 tol.
    atol = 1e-12 if method == "direct" else 22 * tol * (1 + 1e-6)
    np.testing.assert_allclose(V.reshape(4, 4), V_RANDOM, rtol=0, atol=atol)


def test_sutton_barto_iterative_policy_evaluation_sweeps(kind):
    # v_{k+1} = T^pi v_k from v_0 = 0 (synchronous sweeps, as in Figure 4.1); the figure rounds
    # to one decimal (it shows -1.75 as -1.7).
    mdp = sutton_barto_4x4(kind)
    V = np.zeros(16)
    for k in range(1, 11):
        V = mt.bellman_expectation(mdp, V, RANDOM_POLICY)
        if k in FIGURE_4_1:
            np.testing.assert_allclose(V.reshape(4, 4), FIGURE_4_1[k], rtol=0, atol=0.05 + 1e-12)


OPTIMAL_SOLVERS = {
    "value_iteration": lambda mdp: mt.value_iteration(mdp),
    "policy_iteration": lambda mdp: mt.policy_iteration(mdp),
    "modified_policy_iteration": lambda mdp: mt.modified_policy_iteration(mdp),
    "linear_programming": lambda mdp: mt.linear_programming(mdp),
}


@pytest.mark.parametrize("solver", sorted(OPTIMAL_SOLVERS))
def test_sutton_barto_optimal_values(kind, solver):
    # The optimal value of a cell is minus the number of steps to the nearest terminal corner.
    mdp = sutton_barto_4x4(kind)
    result = OPTIMAL_SOLVERS[solver](mdp)
    assert result.converged, result.message
    np.testing.assert_allclose(result.V, -steps_to_nearest_corner(), rtol=0, atol=1e-8)
    np.testing.assert_array_equal(mt.evaluate_policy(mdp, result.policy),
                                  -steps_to_nearest_corner())


def test_sutton_barto_greedy_policy_of_the_random_policy_is_optimal(kind):
    # Figure 4.1, right column: the greedy policy with respect to v_pi of the random policy is
    # already optimal.
    mdp = sutton_barto_4x4(kind)
    V = mt.evaluate_policy(mdp, RANDOM_POLICY)
    greedy = mt.greedy_policy(mdp, V)
    np.testing.assert_array_equal(mt.evaluate_policy(mdp, greedy), -steps_to_nearest_corner())
