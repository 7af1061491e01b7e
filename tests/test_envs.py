"""The textbook environments reproduce their published numbers; their models are valid MDPs.

Each known answer quotes its source. Sutton & Barto = "Reinforcement Learning: An Introduction",
2nd ed. (2018); AIMA = Russell & Norvig, "Artificial Intelligence: A Modern Approach", 3rd ed.
"""

import math

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

import mdptoolkit as mt
from mdptoolkit import envs

UP, RIGHT, DOWN, LEFT = range(4)  # the action order of every grid world but FrozenLake

BUILDERS = {
    "sutton_barto_4x4": envs.sutton_barto_4x4,
    "sutton_barto_5x5": envs.sutton_barto_5x5,
    "cliff_walking": envs.cliff_walking,
    "gamblers_problem": envs.gamblers_problem,
    "jacks_car_rental": envs.jacks_car_rental,
    "short_corridor": envs.short_corridor,
    "russell_norvig_4x3": envs.russell_norvig_4x3,
    "frozen_lake_4x4": lambda: envs.frozen_lake("4x4"),
    "frozen_lake_8x8": lambda: envs.frozen_lake("8x8", is_slippery=False),
    "forest": envs.forest,
    "forest_sparse": lambda: envs.forest(10, sparse=True),
    "river_swim": envs.river_swim,
    "random_mdp": lambda: envs.random_mdp(30, 3, branching=4, seed=1),
    "random_mdp_sparse": lambda: envs.random_mdp(300, 3, branching=2, sparse=True, seed=1),
    "gridworld": lambda: envs.gridworld(["S.#.", ".C.G", "..H."], slip=0.3, step_reward=-0.1),
}


def dense_P(mdp):
    return mdp.P.toarray().reshape(mdp.n_states, mdp.n_actions, -1) if mdp.is_sparse else mdp.P


# ------------------------------------------------------------------ every model is a valid MDP
@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_model_is_a_valid_mdp(name):
    env = BUILDERS[name]()
    mdp = env.mdp
    assert isinstance(env, envs.Environment)
    P = dense_P(mdp)
    assert P.min() >= 0
    sums = P.sum(axis=2)
    assert_allclose(sums[mdp.allowed], 1.0, rtol=0, atol=1e-12)
    assert np.all(np.isfinite(mdp.R[mdp.allowed]))
    assert_allclose(mdp.mu.sum(), 1.0, atol=1e-12)
    assert not (mdp.mu[mdp.terminal] > 0).any()
    # the arrays as they are go through the constructor again, with every check on
    again = mt.MDP(mdp.P, mdp.R, mdp.gamma, mu=mdp.mu, terminal=mdp.terminal,
                   allowed=mdp.allowed)
    assert_array_equal(dense_P(again), P)


# ------------------------------------------------------------------ Sutton & Barto Example 4.1
# Figure 4.1, k = infinity: values of the equiprobable random policy (gamma = 1).
FIG_4_1 = np.array([[0, -14, -20, -22],
                    [-14, -18, -20, -20],
                    [-20, -20, -18, -14],
                    [-22, -20, -14, 0]], dtype=float)


@pytest.mark.parametrize("method", ["direct", "iterative"])
def test_sutton_barto_4x4_random_policy_figure_4_1(method):
    env = envs.sutton_barto_4x4()
    V = mt.evaluate_policy(env.mdp, np.full((16, 4), 0.25), method=method, tol=1e-10)
    assert_allclose(V.reshape(4, 4), FIG_4_1, atol=1e-6)


def test_sutton_barto_4x4_model_and_optimum():
    env = envs.sutton_barto_4x4()
    mdp = env.mdp
    assert mdp.gamma == 1.0
    assert_array_equal(np.flatnonzero(mdp.terminal), [0, 15])
    assert_array_equal(mdp.R[~mdp.terminal], -1.0)
    # off the grid leaves the state unchanged (Example 4.1)
    assert mdp.P[env.state_of(0, 1), UP, env.state_of(0, 1)] == 1.0
    assert mdp.P[env.state_of(1, 1), RIGHT, env.state_of(1, 2)] == 1.0
    # v* = -(steps to the nearest terminal corner); the greedy policy of Figure 4.1 attains it
    rows, cols = np.divmod(np.arange(16), 4)
    steps = np.minimum(rows + cols, 6 - rows - cols)
    result = mt.value_iteration(mdp)
    assert_allclose(result.V, -steps, atol=1e-9)
    greedy = mt.greedy_policy(mdp, FIG_4_1.ravel())
    assert_allclose(mt.evaluate_policy(mdp, greedy), -steps, atol=1e-9)


# ------------------------------------------------------------------ Sutton & Barto Example 3.5
# Figure 3.2: v of the equiprobable random policy; Figure 3.5: v*; both to one decimal.
FIG_3_2 = np.array([[3.3, 8.8, 4.4, 5.3, 1.5],
                    [1.5, 3.0, 2.3, 1.9, 0.5],
                    [0.1, 0.7, 0.7, 0.4, -0.4],
                    [-1.0, -0.4, -0.4, -0.6, -1.2],
                    [-1.9, -1.3, -1.2, -1.4, -2.0]])
FIG_3_5 = np.array([[22.0, 24.4, 22.0, 19.4, 17.5],
                    [19.8, 22.0, 19.8, 17.8, 16.0],
                    [17.8, 19.8, 17.8, 16.0, 14.4],
                    [16.0, 17.8, 16.0, 14.4, 13.0],
                    [14.4, 16.0, 14.4, 13.0, 11.7]])


def test_sutton_barto_5x5_random_policy_figure_3_2():
    env = envs.sutton_barto_5x5()
    V = mt.evaluate_policy(env.mdp, np.full((25, 4), 0.25))
    assert np.abs(V.reshape(5, 5) - FIG_3_2).max() <= 0.05 + 1e-12  # published to one decimal


@pytest.mark.parametrize("solver", [mt.value_iteration, mt.policy_iteration])
def test_sutton_barto_5x5_optimum_figure_3_5(solver):
    env = envs.sutton_barto_5x5()
    result = solver(env.mdp)
    assert np.abs(result.V.reshape(5, 5) - FIG_3_5).max() <= 0.05 + 1e-12
    assert round(float(result.V[env.state_of(0, 1)]), 1) == 24.4  # v*(A)
    # Figure 3.5's arrows in the top row: (0, 0) heads right to A, (0, 2) and (0, 4) left
    best = mt.optimal_actions(env.mdp, result.V, atol=1e-6)
    assert_array_equal(np.flatnonzero(best[env.state_of(0, 0)]), [RIGHT])
    assert_array_equal(np.flatnonzero(best[env.state_of(0, 2)]), [LEFT])
    assert_array_equal(np.flatnonzero(best[env.state_of(0, 4)]), [LEFT])
    assert best[env.state_of(0, 1)].all()  # from A every action jumps to A'


def test_sutton_barto_5x5_special_states():
    env = envs.sutton_barto_5x5()
    A, A2, B, B2 = (env.state_of(*c) for c in [(0, 1), (4, 1), (0, 3), (2, 3)])
    assert_array_equal(env.mdp.P[A, :, A2], 1.0)
    assert_array_equal(env.mdp.R[A], 10.0)
    assert_array_equal(env.mdp.P[B, :, B2], 1.0)
    assert_array_equal(env.mdp.R[B], 5.0)
    corner = env.state_of(4, 4)
    assert_array_equal(env.mdp.R[corner], [0.0, -1.0, -1.0, 0.0])  # down and right bump: -1
    assert not env.mdp.terminal.any()


# ------------------------------------------------------------------ gambler (Example 4.3)
def test_gamblers_problem_figure_4_3():
    env = envs.gamblers_problem(p_heads=0.4)
    mdp = env.mdp
    result = mt.value_iteration(mdp, tol=1e-12)
    V = result.V
    # Figure 4.3: v*(50) = 0.4 (stake everything); bold play gives v*(25) = p^2, v*(75) = p + qp
    assert_allclose(V[[25, 50, 75]], [0.16, 0.4, 0.64], atol=1e-9)
    assert V[0] == 0 and V[100] == 0
    assert np.all(np.diff(V[:100]) > 0)
    # the final policy of Figure 4.3 (the smallest optimal stake): triangles with spikes,
    # 25 at capital 25 and 75, 50 at capital 50
    best = mt.optimal_actions(mdp, V, atol=1e-9)
    smallest = best[1:100].argmax(axis=1)
    s = np.arange(1, 100)
    r = s % 25
    published = np.where(r == 0, np.where(s == 50, 50, 25), np.minimum(r, 25 - r))
    assert_array_equal(smallest, published)
    # bold play is optimal for p < 1/2 (Dubins & Savage)
    bold = np.minimum(np.arange(101), 100 - np.arange(101))
    bold[[0, 100]] = 0
    assert_allclose(mt.evaluate_policy(mdp, bold), V, atol=1e-9)


def test_gamblers_problem_model():
    env = envs.gamblers_problem(p_heads=0.25, goal=10)
    mdp = env.mdp
    assert (mdp.n_states, mdp.n_actions) == (11, 6)
    assert_array_equal(np.flatnonzero(mdp.terminal), [0, 10])
    assert_array_equal(np.flatnonzero(mdp.allowed[3]), [1, 2, 3])
    assert_array_equal(np.flatnonzero(mdp.allowed[8]), [1, 2])
    assert_array_equal(np.flatnonzero(mdp.allowed[10]), [0])
    assert mdp.P[3, 2, 5] == 0.25 and mdp.P[3, 2, 1] == 0.75
    assert mdp.R[8, 2] == 0.25 and mdp.R[8, 1] == 0.0  # +1 only on reaching the goal
    assert_allclose(mt.policy_iteration(mdp).V, mt.value_iteration(mdp, tol=1e-12).V, atol=1e-9)


# ------------------------------------------------------------------ Jack's car rental (4.2)
def jack_table():
    """The optimal policy pi_4 of Figure 4.2: cars moved from location 1 to 2 (negative: 2 to 1).

    Rows = cars at location 1 from 20 (top) down to 0, columns = cars at location 2 from 0 to 20,
    as the figure draws it. Computed with the exact model (whole Poisson tails); its regions are
    those of the figure: +5 in the top-left corner, 0 over the wide diagonal band, down to -4 at
    (0, 18..20).
    """
    rows = """
 5  5  5  5  4  4  3  3  3  3  2  2  2  2  2  1  1  1  0  0  0
 5  5  5  4  4  3  3  2  2  2  2  1  1  1  1  1  0  0  0  0  0
 5  5  5  4  3  3  2  2  1  1  1  1  0  0  0  0  0  0  0  0  0
 5  5  5  4  3  2  2  1  1  0  0  0  0  0  0  0  0  0  0  0  0
 5  5  5  4  3  2  1  1  0  0  0  0  0  0  0  0  0  0  0  0  0
 5  5  5  4  3  2  1  0  0  0  0  0  0  0  0  0  0  0  0  0  0
 5  5  4  4  3  2  1  0  0  0  0  0  0  0  0  0  0  0  0  0  0
 5  5  4  3  3  2  1  0  0  0  0  0  0  0  0  0  0  0  0  0  0
 5  5  4  3  2  2  1  0  0  0  0  0  0  0  0  0  0  0  0  0  0
 5  4  4  3  2  1  1  0  0  0  0  0  0  0  0  0  0  0  0  0  0
 4  4  3  3  2  1  0  0  0  0  0  0  0  0  0  0  0  0  0  0  0
 4  3  3  2  2  1  0  0  0  0  0  0  0  0  0  0  0  0  0  0  0
 3  3  2  2  1  1  0  0  0  0  0  0  0  0  0  0  0  0  0  0  0
 3  2  2  1  1  0  0  0  0  0  0  0  0  0  0  0  0  0  0  0  0
 2  2  1  1  0  0  0  0  0  0  0  0  0  0  0  0  0  0  0  0  0
 1  1  1  0  0  0  0  0  0  0  0  0  0  0  0  0  0  0  0  0  0
 0  0  0  0  0  0  0  0  0  0  0  0  0  0  0  0  0  0  0 -1 -1
 0  0  0  0  0  0  0  0  0  0  0  0  0  0  0 -1 -1 -1 -1 -1 -2
 0  0  0  0  0  0  0  0  0  0  0 -1 -1 -1 -1 -1 -2 -2 -2 -2 -2
 0  0  0  0  0  0  0  0  0 -1 -1 -1 -2 -2 -2 -2 -2 -3 -3 -3 -3
 0  0  0  0  0  0  0  0 -1 -1 -2 -2 -2 -3 -3 -3 -3 -3 -4 -4 -4
"""
    table = np.array(rows.split(), dtype=int).reshape(21, 21)
    return table[::-1]  # index [cars1, cars2]


@pytest.fixture(scope="module")
def jack():
    return envs.jacks_car_rental()


def test_jacks_car_rental_figure_4_2(jack):
    # Figure 4.2: policy iteration from pi_0 = "move nothing" stops at pi_4
    result = mt.policy_iteration(jack.mdp, policy0=np.full(441, 5))
    assert result.converged
    assert_array_equal(jack.moves(result.policy), jack_table())
    changes = result.history["policy_changes"]
    assert np.count_nonzero(changes) == 4  # pi_1 .. pi_4 differ from their predecessors
    # value iteration finds the same policy: its optimal actions are unique (gaps > 6e-4)
    vi = mt.value_iteration(jack.mdp, tol=1e-6)
    assert_array_equal(vi.policy, result.policy)
    assert_allclose(vi.V, result.V, atol=1e-6)


def test_jacks_car_rental_layout(jack):
    mdp = jack.mdp
    assert (mdp.n_states, mdp.n_actions, mdp.gamma) == (441, 11, 0.9)
    assert jack.state_of(3, 7) == 3 * 21 + 7 and jack.cars_of(3 * 21 + 7) == (3, 7)
    # moving more cars than a location has is disallowed
    s = jack.state_of(2, 1)
    assert_array_equal(np.flatnonzero(mdp.allowed[s]) - 5, [-1, 0, 1, 2])
    assert mdp.allowed[jack.state_of(20, 20)].all()


def _slow_location(N, lam_request, lam_return, top=60):
    """Evening counts and expected rentals of one location, by enumerating requests and returns."""
    pmf = [math.exp(-lam) * lam ** np.arange(top) / np.array([math.factorial(k) for k in
                                                                   range(top)], dtype=float)
           for lam in (lam_request, lam_return)]
    T = np.zeros((N + 1, N + 1))
    rented = np.zeros(N + 1)
    for n in range(N + 1):
        for x in range(top):  # requests (the tail beyond top is below 1e-40)
            served = min(x, n)
            rented[n] += pmf[0][x] * served
            for y in range(top):  # returns
                T[n, min(n - served + y, N)] += pmf[0][x] * pmf[1][y]
    return T, rented


def test_jacks_car_rental_model_matches_enumeration(jack):
    # rentals = min(request, cars available), returns usable the next day, cars beyond 20 lost,
    # $10 per rental, $2 per car moved: checked against a plain enumeration of the events
    T1, rented1 = _slow_location(20, 3, 3)
    T2, rented2 = _slow_location(20, 4, 2)
    P, R, allowed = jack.mdp.P, jack.mdp.R, jack.mdp.allowed
    for s in range(441):
        c1, c2 = divmod(s, 21)
        for a in np.flatnonzero(allowed[s]):
            m = a - 5
            n1, n2 = min(c1 - m, 20), min(c2 + m, 20)
            expected = np.outer(T1[n1], T2[n2]).ravel()
            assert_allclose(P[s, a], expected, rtol=0, atol=1e-13)
            assert R[s, a] == pytest.approx(10 * (rented1[n1] + rented2[n2]) - 2 * abs(m),
                                            abs=1e-10)


# ------------------------------------------------------------------ AIMA 4x3 world
# AIMA Figure 17.3: utilities with R(s) = -0.04 and gamma = 1 (row 0 is the top row, y = 3).
AIMA_UTILITIES = {(0, 0): 0.812, (0, 1): 0.868, (0, 2): 0.918,
                  (1, 0): 0.762, (1, 2): 0.660,
                  (2, 0): 0.705, (2, 1): 0.655, (2, 2): 0.611, (2, 3): 0.388}


@pytest.mark.parametrize("solver", [mt.value_iteration, mt.policy_iteration])
def test_russell_norvig_utilities_figure_17_3(solver):
    env = envs.russell_norvig_4x3()
    kwargs = {"tol": 1e-12} if solver is mt.value_iteration else {}
    V = solver(env.mdp, **kwargs).V
    for cell, utility in AIMA_UTILITIES.items():
        assert abs(V[env.state_of(*cell)] - utility) <= 0.0005, cell
    # Figure 17.2(a): the optimal policy
    policy = mt.greedy_policy(env.mdp, V)
    expected = {(0, 0): RIGHT, (0, 1): RIGHT, (0, 2): RIGHT, (1, 0): UP, (1, 2): UP,
                (2, 0): UP, (2, 1): LEFT, (2, 2): LEFT, (2, 3): LEFT}
    for cell, action in expected.items():
        assert policy[env.state_of(*cell)] == action, cell


def test_russell_norvig_model():
    env = envs.russell_norvig_4x3()
    mdp = env.mdp
    assert_array_equal(np.flatnonzero(mdp.terminal), [3, 5, 7])  # +1, the wall, -1
    # from (2, 2) moving up: 0.8 up to (1, 2), 0.1 left to (2, 1), 0.1 right to (2, 3)
    s = env.state_of(2, 2)
    assert_allclose(mdp.P[s, UP, [6, 9, 11]], [0.8, 0.1, 0.1])
    # next to the wall: moving right from (1, 0) bumps (0.8 stay), 0.1 up, 0.1 down
    s = env.state_of(1, 0)
    assert_allclose(mdp.P[s, RIGHT, [0, 4, 8]], [0.1, 0.8, 0.1])
    # entering an exit earns its +-1 on top of the step reward
    assert mdp.R[env.state_of(0, 2), RIGHT] == pytest.approx(-0.04 + 0.8 * 1.0)
    assert mdp.R[env.state_of(1, 2), RIGHT] == pytest.approx(-0.04 - 0.8 * 1.0)


# ------------------------------------------------------------------ cliff walking (6.6)
def test_cliff_walking_optimal_return_minus_13():
    env = envs.cliff_walking()
    result = mt.value_iteration(env.mdp)
    start = env.state_of(3, 0)
    assert env.mdp.mu[start] == 1.0
    assert result.V[start] == pytest.approx(-13.0, abs=1e-9)  # Example 6.6: 13 steps
    # the greedy path runs along the cliff edge: up, 11 x right, down
    s, path = start, [start]
    while not env.mdp.terminal[s]:
        s = int(np.argmax(env.mdp.P[s, result.policy[s]]))
        path.append(s)
    assert len(path) == 14 and path[-1] == env.state_of(3, 11)
    assert [env.cell_of(x)[0] for x in path[1:-1]] == [2] * 12


def test_cliff_walking_model():
    env = envs.cliff_walking()
    mdp = env.mdp
    start, edge = env.state_of(3, 0), env.state_of(2, 5)
    assert mdp.P[start, RIGHT, start] == 1.0 and mdp.R[start, RIGHT] == -100.0
    assert mdp.P[edge, DOWN, start] == 1.0 and mdp.R[edge, DOWN] == -100.0
    assert mdp.R[env.state_of(2, 11), DOWN] == -1.0  # into the goal: -1, then terminal
    assert mdp.terminal[env.state_of(3, 11)]


# ------------------------------------------------------------------ short corridor (13.1)
@pytest.mark.parametrize("p", [0.1, 0.3, 2 - math.sqrt(2), 0.7, 0.95])
def test_short_corridor_value_of_shared_stochastic_policy(p):
    # Example 13.1: with pi(right) = p in every state, v(s0) = (2p - 4) / (p (1 - p))
    env = envs.short_corridor()
    policy = np.tile([1 - p, p], (4, 1))
    V = mt.evaluate_policy(env.mdp, policy)
    assert V[0] == pytest.approx((2 * p - 4) / (p * (1 - p)), rel=1e-10)
    assert mt.expected_return(env.mdp, policy) == pytest.approx(V[0], rel=1e-12)


def test_short_corridor_best_shared_probability():
    env = envs.short_corridor()
    def J(p):
        return mt.expected_return(env.mdp, np.tile([1 - p, p], (4, 1)))

    grid = np.linspace(0.05, 0.95, 181)
    best = grid[int(np.argmax([J(p) for p in grid]))]
    assert abs(best - (2 - math.sqrt(2))) <= 0.0025  # the maximum is at p = 2 - sqrt(2) ...
    p_star = 2 - math.sqrt(2)
    assert J(p_star) > max(J(p_star - 1e-3), J(p_star + 1e-3))
    assert J(p_star) == pytest.approx(-(6 + 4 * math.sqrt(2)), rel=1e-12)  # ... about -11.66
    # the state-distinguishing optimum: 3 steps
    assert mt.value_iteration(env.mdp).V[0] == pytest.approx(-3.0)
    with pytest.raises(mt.ImproperPolicyError):
        mt.evaluate_policy(env.mdp, np.tile([0.0, 1.0], (4, 1)))  # p = 1 loops forever


# ------------------------------------------------------------------ pymdptoolbox's forest
@pytest.mark.parametrize("solver", [mt.value_iteration, mt.policy_iteration,
                                    mt.modified_policy_iteration, mt.linear_programming])
@pytest.mark.parametrize("sparse", [False, True])
def test_forest_optimum_gamma_096(solver, sparse):
    # pymdptoolbox's forest() with discount 0.96: V* = (74.6496, 78.1056, 82.1056), all "wait"
    # (the exact solution of (I - 0.96 P_wait) V = R_wait)
    env = envs.forest(sparse=sparse)
    result = solver(env.mdp)
    assert_allclose(result.V, [74.6496, 78.1056, 82.1056], atol=1e-6)
    assert_array_equal(result.policy, [0, 0, 0])


@pytest.mark.parametrize("args", [(), (3, 4, 2, 0.1), (10, 7.0, 3.0, 0.25), (2, 1.0, 5.0, 0.0),
                                  (6, 2.0, 1.5, 1.0)])
def test_forest_equals_pymdptoolbox_arrays(args):
    example = pytest.importorskip("mdptoolbox.example")
    P, R = example.forest(*args)
    theirs = mt.MDP.from_pymdptoolbox(P, R, 0.96)
    ours = envs.forest(*args).mdp
    assert_array_equal(ours.P, theirs.P)
    assert_array_equal(ours.R, theirs.R)
    sparse = envs.forest(*args, sparse=True).mdp
    assert_array_equal(sparse.P.toarray(), np.asarray(P).transpose(1, 0, 2).reshape(-1, len(R)))


def test_forest_pymdptoolbox_value_iteration_is_off_by_a_constant():
    # pymdptoolbox's ValueIteration stops on a span test and reports (5.93215488, 9.38815488,
    # 13.38815488) for gamma = 0.96: the right policy, values short of V* by ~68.7 everywhere
    pytest.importorskip("mdptoolbox")
    import mdptoolbox.example
    import mdptoolbox.mdp
    P, R = mdptoolbox.example.forest()
    vi = mdptoolbox.mdp.ValueIteration(P, R, 0.96)
    vi.run()
    theirs = np.array(vi.V)
    assert_allclose(theirs, [5.93215488, 9.38815488, 13.38815488], atol=1e-8)
    ours = mt.value_iteration(envs.forest().mdp).V
    gap = ours - theirs
    assert gap.min() > 68 and np.ptp(gap) < 1e-6  # the same constant at every state
    assert_allclose(ours, [74.6496, 78.1056, 82.1056], atol=1e-6)


# ------------------------------------------------------------------ RiverSwim
def test_river_swim():
    env = envs.river_swim()
    mdp = env.mdp
    assert_allclose(mdp.P[2, 1, [1, 2, 3]], [0.1, 0.6, 0.3])
    assert_allclose(mdp.P[0, 1, [0, 1]], [0.7, 0.3])
    assert_allclose(mdp.P[5, 1, [4, 5]], [0.7, 0.3])
    assert mdp.mu[0] == 1.0
    left = np.zeros(6, dtype=int)
    assert mt.evaluate_policy(mdp, left)[0] == pytest.approx(5.0 / (1 - 0.95))
    result = mt.policy_iteration(mdp)
    assert_array_equal(result.policy, np.ones(6, dtype=int))
    assert_allclose(mt.value_iteration(mdp, tol=1e-6).V, result.V, atol=1e-6)
    # with a tiny large_reward the myopic policy wins
    assert_array_equal(mt.policy_iteration(envs.river_swim(large_reward=1.0).mdp).policy[0], 0)


# ------------------------------------------------------------------ random MDPs (Garnet)
def test_random_mdp_is_reproducible_and_dense_equals_sparse():
    a = envs.random_mdp(40, 3, branching=5, seed=7).mdp
    b = envs.random_mdp(40, 3, branching=5, seed=7).mdp
    c = envs.random_mdp(40, 3, branching=5, seed=8).mdp
    s = envs.random_mdp(40, 3, branching=5, sparse=True, seed=7).mdp
    assert_array_equal(a.P, b.P)
    assert_array_equal(a.R, b.R)
    assert not np.array_equal(a.P, c.P)
    assert s.is_sparse
    assert_array_equal(s.P.toarray(), a.P.reshape(120, 40))
    assert_array_equal(s.R, a.R)
    rng = np.random.default_rng(7)
    assert_array_equal(envs.random_mdp(40, 3, branching=5, seed=rng).mdp.P, a.P)


@pytest.mark.parametrize("branching", [1, 3, 32, 33, 50])
def test_random_mdp_has_exactly_branching_successors(branching):
    mdp = envs.random_mdp(50, 4, branching=branching, seed=3).mdp
    assert_array_equal(np.count_nonzero(mdp.P, axis=2), branching)
    assert ((mdp.R >= 0) & (mdp.R < 1)).all()


def test_random_mdp_successor_sets_are_uniform():
    # every 2-subset of 5 states equally likely (the insertion draw has no bias)
    mdp = envs.random_mdp(5, 4000, branching=2, seed=11).mdp
    support = mdp.P.reshape(-1, 5) > 0
    codes = support @ (1 << np.arange(5))
    _, counts = np.unique(codes, return_counts=True)
    n = support.shape[0]
    assert len(counts) == 10
    assert np.abs(counts - n / 10).max() < 5 * math.sqrt(n * 0.1 * 0.9)


def test_random_mdp_large_sparse_builds():
    mdp = envs.random_mdp(100_000, 4, branching=3, sparse=True, seed=0).mdp
    assert mdp.n_states == 100_000 and mdp.nnz == 1_200_000


# ------------------------------------------------------------------ grid worlds
def slow_gridworld(layout, *, slip=0.0, step_reward=0.0, rewards=None, terminal="GH",
                   bump_reward=0.0, cliff_reward=-100.0, actions=("up", "right", "down", "left")):
    """Cell-by-cell reference: dense P (S, A, S) and R (S, A) by plain loops."""
    rewards = {"G": 1.0, "H": -1.0} if rewards is None else rewards
    H, W = len(layout), len(layout[0])
    S, A = H * W, len(actions)
    delta = {"up": (-1, 0), "right": (0, 1), "down": (1, 0), "left": (0, -1)}
    side = {"up": ("left", "right"), "down": ("left", "right"),
            "left": ("up", "down"), "right": ("up", "down")}
    start = [(r, c) for r in range(H) for c in range(W) if layout[r][c] == "S"]
    P, R = np.zeros((S, A, S)), np.zeros((S, A))
    for r in range(H):
        for c in range(W):
            s = r * W + c
            if layout[r][c] in "#C" + terminal:
                P[s, :, s] = 1.0
                continue
            for a, name in enumerate(actions):
                moves = [(name, 1 - slip), (side[name][0], slip / 2), (side[name][1], slip / 2)]
                for d, p in moves:
                    r2, c2 = r + delta[d][0], c + delta[d][1]
                    blocked = not (0 <= r2 < H and 0 <= c2 < W) or layout[r2][c2] == "#"
                    if blocked:
                        r2, c2 = r, c
                    if layout[r2][c2] == "C":
                        (r2, c2), reward = start[0], cliff_reward
                    else:
                        reward = (step_reward + rewards.get(layout[r2][c2], 0.0)
                                  + bump_reward * blocked)
                    P[s, a, r2 * W + c2] += p
                    R[s, a] += p * reward
    return P, R


GRID_CASES = [
    dict(layout=["S..#", ".#.G", "..H."], slip=0.2, step_reward=-0.04),
    dict(layout=["S...", "CCCG"], step_reward=-1.0, rewards={"G": 0.0}),
    dict(layout=["S.....", "..CC..", "#...HG"], slip=0.5, step_reward=-1, bump_reward=-2,
         cliff_reward=-10.0),
    dict(layout=["SFFF", "FHFH", "FFFH", "HFFG"], slip=2 / 3,
         rewards={"G": 1.0, "H": 0.0, "F": 0.0}, actions=("left", "down", "right", "up")),
]


@pytest.mark.parametrize("case", GRID_CASES)
@pytest.mark.parametrize("sparse", [False, True])
def test_gridworld_matches_cell_by_cell_reference(case, sparse):
    env = envs.gridworld(gamma=0.9, sparse=sparse, **case)
    P, R = slow_gridworld(**case)
    assert env.mdp.is_sparse == sparse
    assert_allclose(dense_P(env.mdp), P, atol=1e-15)
    assert_allclose(env.mdp.R, R, atol=1e-12)


def test_gridworld_numbering_and_helpers():
    env = envs.gridworld(["S.#.", "...G", "H..."])
    assert env.shape == (3, 4)
    assert env.layout == ("S.#.", "...G", "H...")
    for s in range(12):
        assert env.state_of(*env.cell_of(s)) == s
    assert env.state_of(2, 1) == 9 and env.cell_of(7) == (1, 3)
    assert env.mdp.state_names[9] == "(2, 1)"
    assert env.mdp.action_names == ("up", "right", "down", "left")
    assert_array_equal(env.action_deltas, [[-1, 0], [0, 1], [1, 0], [0, -1]])
    assert_array_equal(np.flatnonzero(env.mdp.terminal), [2, 7, 8])  # wall, goal, hole
    assert_array_equal(env.mdp.mu, np.eye(12)[0])
    grid = env.grid(np.arange(12.0))
    assert np.isnan(grid[0, 2]) and grid[2, 1] == 9.0
    with pytest.raises(ValueError,
                       match=r"cell must lie in the 3 x 4 grid; got \(row, col\) = \(3, 0\)"):
        env.state_of(3, 0)
    with pytest.raises(ValueError, match=r"state must be in 0..11; got 12"):
        env.cell_of(12)
    with pytest.raises(TypeError, match="row must be an integer; got float"):
        env.state_of(1.0, 2)


def test_gridworld_defaults_and_text_layout():
    env = envs.gridworld("""
        ...
        .#G
    """)
    assert env.shape == (2, 3)
    free = ~env.mdp.terminal
    assert_allclose(env.mdp.mu, free / free.sum())  # no S: uniform over free cells
    assert env.mdp.R[env.state_of(0, 2), DOWN] == 1.0  # default reward of G


def test_gridworld_jumps_and_bumps():
    env = envs.gridworld(["..", ".."], jumps={(0, 0): ((1, 1), 3.0)}, bump_reward=-1.0)
    assert_array_equal(env.mdp.P[0, :, 3], 1.0)
    assert_array_equal(env.mdp.R[0], 3.0)
    assert_array_equal(env.mdp.R[1], [-1.0, -1.0, 0.0, 0.0])


def test_gridworld_large_is_sparse_and_fast_to_index():
    env = envs.gridworld(["." * 300] * 299 + ["." * 299 + "G"], step_reward=-1.0, slip=0.1)
    mdp = env.mdp
    assert mdp.is_sparse and mdp.n_states == 90_000 and mdp.state_names is None
    s = env.state_of(150, 7)
    row = mdp.P[[s * 4 + RIGHT]].toarray().ravel()
    assert_allclose(row[[s + 1, s - 300, s + 300]], [0.9, 0.05, 0.05])


@pytest.mark.parametrize("layout, kwargs, error, match", [
    ([], {}, ValueError, "layout must have at least one row; got none"),
    (["..", "..."], {}, ValueError,
     "layout rows must all have the same length; got 2 in row 0 and 3 in row 1"),
    ([".X"], {}, ValueError, r"layout characters must be one of .*; got 'X' at row 0, col 1"),
    (["##"], {}, ValueError, "layout must have at least one free cell"),
    ([".C."], {}, ValueError,
     "a layout with cliff cells must have exactly one start cell 'S'; got 0"),
    (42, {}, TypeError, "layout must be a sequence of strings or a string; got int"),
    ([["."]], {}, TypeError, "layout rows must be strings; got list in row 0"),
    (["S."], {"slip": 1.5}, ValueError, r"slip must be in \[0, 1\]; got 1.5"),
    (["S."], {"gamma": -0.1}, ValueError, r"gamma must be in \[0, 1\]; got -0.1"),
    (["S."], {"step_reward": float("nan")}, ValueError, "step_reward must be finite; got nan"),
    (["S."], {"actions": ("up", "north")}, ValueError, "actions must be distinct names from"),
    (["S."], {"rewards": {"#": 1.0}}, ValueError, "rewards keys must be single layout characters"),
    (["S."], {"rewards": [1.0]}, TypeError,
     "rewards must be a dict of character to reward; got list"),
    (["S."], {"terminal": "S"}, ValueError, "terminal characters must not be one of"),
    (["S."], {"jumps": {(0, 0): ((5, 5), 1.0)}}, ValueError,
     r"jumps cells must lie in the 1 x 2 grid; got \(5, 5\)"),
])
def test_gridworld_bad_arguments(layout, kwargs, error, match):
    with pytest.raises(error, match=match):
        envs.gridworld(layout, **kwargs)


# ------------------------------------------------------------------ FrozenLake (no gymnasium)
def test_frozen_lake_known_values():
    # slippery 4x4 with gamma = 1: the best success probability from the start is 14/17
    env = envs.frozen_lake("4x4", gamma=1.0)
    assert env.actions == ("left", "down", "right", "up")
    V = mt.value_iteration(env.mdp, tol=1e-12).V
    assert V[0] == pytest.approx(14 / 17, abs=1e-9)
    assert mt.value_iteration(envs.frozen_lake("8x8", is_slippery=False, gamma=1.0).mdp).V[0] == 1.0
    custom = envs.frozen_lake(["SH", "FG"], is_slippery=False, gamma=0.5)
    assert mt.value_iteration(custom.mdp).V[0] == pytest.approx(0.5)  # down, then right: +1


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(map_name="5x5"), ValueError,
     r"map_name must be one of \['4x4', '8x8'\] or a custom map; got '5x5'"),
    (dict(map_name=["SX", "FG"]), ValueError,
     "FrozenLake maps must use only the letters S, F, H, G; got 'X'"),
    (dict(is_slippery=1), TypeError, "is_slippery must be a bool; got int"),
    (dict(success_rate=1.2), ValueError, r"success_rate must be in \[0, 1\]; got 1.2"),
    (dict(reward_schedule=(1, 0)), ValueError, "reward_schedule must be"),
])
def test_frozen_lake_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        envs.frozen_lake(**kwargs)


# ------------------------------------------------------------------ argument checks
@pytest.mark.parametrize("build, error, match", [
    (lambda: envs.gamblers_problem(p_heads=1.5), ValueError,
     r"p_heads must be in \[0, 1\]; got 1.5"),
    (lambda: envs.gamblers_problem(goal=1), ValueError, "goal must be >= 2; got 1"),
    (lambda: envs.gamblers_problem(goal=10.0), TypeError, "goal must be an integer; got float"),
    (lambda: envs.jacks_car_rental(max_cars=0), ValueError, "max_cars must be >= 1; got 0"),
    (lambda: envs.jacks_car_rental(request_rates=(3,)), ValueError,
     "request_rates must be a pair of Poisson means"),
    (lambda: envs.jacks_car_rental(return_rates=(3, -1)), ValueError,
     r"return_rates\[1\] must be finite and >= 0; got -1.0"),
    (lambda: envs.forest(S=1), ValueError, "S must be >= 2; got 1"),
    (lambda: envs.forest(r1=0), ValueError, "r1 must be finite and > 0; got 0.0"),
    (lambda: envs.forest(p=-0.5), ValueError, r"p must be in \[0, 1\]; got -0.5"),
    (lambda: envs.river_swim(n=1), ValueError, "n must be >= 2; got 1"),
    (lambda: envs.random_mdp(0, 2), ValueError, "n_states must be >= 1; got 0"),
    (lambda: envs.random_mdp(5, 2, branching=6), ValueError,
     "branching must be in 1..n_states=5; got 6"),
    (lambda: envs.random_mdp(5, 2, sparse=1), TypeError, "sparse must be a bool; got int"),
    (lambda: envs.random_mdp(10**5, 4), ValueError,
     r"a dense P must have at most 100,000,000 entries; got S\*A\*S = 40,000,000,000 "
     r"\(pass sparse=True\)"),
    (lambda: envs.random_mdp(5, 2, seed="x"), TypeError,
     "seed must be an int, a numpy Generator or None; got str"),
    (lambda: envs.russell_norvig_4x3(step_reward="a"), TypeError,
     "step_reward must be a real number; got str"),
    (lambda: envs.sutton_barto_5x5(gamma=2), ValueError, r"gamma must be in \[0, 1\]; got 2.0"),
])
def test_bad_arguments(build, error, match):
    with pytest.raises(error, match=match):
        build()


def test_jacks_car_rental_helpers_reject_bad_input(jack):
    with pytest.raises(ValueError, match=r"car counts must be in 0..20; got \(21, 0\)"):
        jack.state_of(21, 0)
    with pytest.raises(ValueError, match=r"state must be in 0..440; got 441"):
        jack.cars_of(441)
    with pytest.raises(ValueError, match=r"policy must be an integer array of shape \(441,\)"):
        jack.moves(np.zeros(441))


def test_environment_repr():
    assert repr(envs.forest()) == "Environment(name='forest', n_states=3, n_actions=2, gamma=0.96)"
    assert "shape=(4, 12)" in repr(envs.cliff_walking())
    assert "p_heads=0.4, goal=100" in repr(envs.gamblers_problem())
