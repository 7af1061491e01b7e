"""Property tests of the theory the toolkit implements, over random MDPs from mdptoolkit.testing.

Every test runs on dense and sparse MDPs side by side. Assertions are guarantees (bounds,
residuals, fixed points), never iteration counts. The reference for V* and V^pi is the
independent implementation behind mdptoolkit.testing's assertion helpers (policy iteration with
direct solves), so the solvers are checked against code they do not share.
"""

import sys
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import note
from hypothesis import strategies as st
from hypothesis import given, settings
from hypothesis.extra import numpy as hnp

import mdptoolkit as mt
from mdptoolkit.testing import assert_bellman_optimal, assert_optimal_policy, assert_policy_value
from mdptoolkit.testing.strategies import mdps, policies

FORMS = pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
TOLS = st.sampled_from([1e-3, 1e-6, 1e-8])


# ---------------------------------------------------------------------- helpers
def describe(mdp):
    """Code that rebuilds ``mdp`` exactly (noted on failure: the MDP's repr is only a summary)."""
    with np.printoptions(threshold=sys.maxsize, floatmode="unique", linewidth=120):
        P = dense_P(mdp)
        form = "sp.csr_array(P.reshape(S * A, S))" if mdp.is_sparse else "P"
        arrays = {name: np.asarray(getattr(mdp, name)) for name in ("R", "mu", "terminal",
                                                                     "allowed")}
        return (f"S, A = {mdp.n_states}, {mdp.n_actions}\nP = np.{P!r}\nR = np.{arrays['R']!r}\n"
                f"mdp = mt.MDP({form}, R, {mdp.gamma!r}, mu=np.{arrays['mu']!r}, "
                f"terminal=np.{arrays['terminal']!r}, allowed=np.{arrays['allowed']!r})")


def draw_mdp(data, sparse, **options):
    """Draw an MDP, with the structural options drawn too unless given."""
    options.setdefault("with_allowed", data.draw(st.booleans(), label="with_allowed"))
    options.setdefault("with_terminal", data.draw(st.booleans(), label="with_terminal"))
    options.setdefault("branching", data.draw(st.sampled_from([None, 2]), label="branching"))
    mdp = data.draw(mdps(sparse=sparse, **options), label="mdp")
    note(describe(mdp))
    return mdp


def dense_P(mdp):
    S, A = mdp.n_states, mdp.n_actions
    return mdp.P.toarray().reshape(S, A, S) if mdp.is_sparse else np.asarray(mdp.P)


def other_form(mdp):
    """The same MDP with P stored the other way (dense <-> sparse)."""
    S, A = mdp.n_states, mdp.n_actions
    P = dense_P(mdp) if mdp.is_sparse else sp.csr_array(np.asarray(mdp.P).reshape(S * A, S))
    return mt.MDP(P, mdp.R, mdp.gamma, mu=mdp.mu, terminal=mdp.terminal, allowed=mdp.allowed)


def chain(mdp, policy):
    """Dense P_pi (S, S) and R_pi (S,) of a deterministic or stochastic policy."""
    pi = np.eye(mdp.n_actions)[policy] if np.ndim(policy) == 1 else np.asarray(policy)
    R0 = np.where(mdp.allowed, mdp.R, 0.0)
    return np.einsum("sa,sat->st", pi, dense_P(mdp)), np.einsum("sa,sa->s", pi, R0)


def scale(mdp, *arrays):
    """Magnitude for round-off slack: |R| and |V| of the arrays compared."""
    R = np.asarray(mdp.R)[mdp.allowed]
    return 1.0 + max([np.abs(R).max()] + [np.abs(a).max() for a in arrays])


def values(S, bound=10.0):
    return hnp.arrays(np.float64, S, elements=st.floats(-bound, bound, allow_subnormal=False))


def assert_respects_allowed(mdp, policy):
    policy = np.asarray(policy)
    if policy.ndim == 1:
        chosen = mdp.allowed[np.arange(mdp.n_states), policy]
        assert chosen.all(), f"disallowed action {policy[~chosen][0]} in state {np.argmin(chosen)}"
    else:
        assert (policy[~mdp.allowed] == 0).all(), "solver gave probability to a disallowed action"


SOLVERS = {
    "value_iteration": lambda mdp, tol: mt.value_iteration(mdp, tol=tol),
    "value_iteration_gauss_seidel": lambda mdp, tol: mt.value_iteration(mdp, tol=tol,
                                                                        gauss_seidel=True),
    "modified_policy_iteration": lambda mdp, tol: mt.modified_policy_iteration(mdp, tol=tol),
    "policy_iteration": lambda mdp, tol: mt.policy_iteration(mdp),
    "linear_programming": lambda mdp, tol: mt.linear_programming(mdp),
}
EXACT = {"policy_iteration", "linear_programming"}
ITERATIVE = ["value_iteration", "value_iteration_gauss_seidel", "modified_policy_iteration"]
SOLVER = pytest.mark.parametrize("solver", list(SOLVERS))


# ---------------------------------------------------------------------- solvers, guarantees
@FORMS
@SOLVER
@given(data=st.data())
def test_solvers_agree_on_V_star_and_return_optimal_policies(sparse, solver, data):
    mdp = draw_mdp(data, sparse)
    tol = 1e-8
    result = SOLVERS[solver](mdp, tol)
    assert result.converged, result.message
    assert_bellman_optimal(mdp, result.V, atol=tol)
    assert_optimal_policy(mdp, result.policy, atol=tol)
    assert_respects_allowed(mdp, result.policy)
    assert (result.V[mdp.terminal] == 0).all()
    Q = np.asarray(result.Q)
    assert np.isneginf(Q[~mdp.allowed]).all() and np.isfinite(Q[mdp.allowed]).all()


@FORMS
@pytest.mark.parametrize("solver", ITERATIVE)
@given(data=st.data())
def test_iterative_solvers_guarantee_tol_for_V_and_for_the_greedy_policy(sparse, solver, data):
    # the contract: on converged=True, max|V - V*| <= tol and max|V^policy - V*| <= tol
    mdp = draw_mdp(data, sparse, well_conditioned=data.draw(st.booleans(), label="well_cond"),
                   gamma=st.floats(0.0, 0.999))
    tol = data.draw(TOLS, label="tol")
    result = SOLVERS[solver](mdp, tol)
    assert result.converged, result.message  # the contract: reaches 1e-8 for gamma <= 0.999
    assert_bellman_optimal(mdp, result.V, atol=tol)
    assert_optimal_policy(mdp, result.policy, atol=tol)
    if result.error_bound is not None:
        assert result.error_bound <= tol


@FORMS
@pytest.mark.parametrize("solver", ITERATIVE)
@pytest.mark.parametrize("gamma", [0.99, 0.998046875, 0.999])
def test_iterative_solvers_reach_tol_near_gamma_one_on_a_two_state_chain(sparse, solver, gamma):
    # found by hypothesis: two states, one action, P(.|s) = (1/2, 1/2), R = 1, so V* = 1/(1-gamma);
    # the contract asks for tol = 1e-8 up to gamma = 0.999
    P = np.full((2, 1, 2), 0.5)
    mdp = mt.MDP(sp.csr_array(P.reshape(2, 2)) if sparse else P, np.ones((2, 1)), gamma)
    result = SOLVERS[solver](mdp, 1e-8)
    assert result.converged, result.message
    assert_bellman_optimal(mdp, result.V, atol=1e-8)


@FORMS
@pytest.mark.parametrize("solver", ["value_iteration", "modified_policy_iteration"])
@settings(max_examples=15)  # Gauss-Seidel is a Python loop over states: covered just above
@given(data=st.data())
def test_iterative_solvers_at_gamma_near_one_converge_or_say_why(sparse, solver, data):
    # at gamma = 0.9999 the contract allows converged=False, with a message and a warning, never
    # a silent wrong answer. The reference itself is only accurate to ~1e-16 |V| / (1 - gamma).
    mdp = draw_mdp(data, sparse, gamma=st.floats(0.999, 0.9999))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = SOLVERS[solver](mdp, 1e-8)
    if result.converged:
        rounding = 1e-16 * scale(mdp, result.V) / (1 - mdp.gamma)
        assert_bellman_optimal(mdp, result.V, atol=1e-8 + rounding)
        assert_optimal_policy(mdp, result.policy, atol=1e-8 + rounding)
    else:
        assert result.message.startswith("stopped"), result.message
        assert any(issubclass(w.category, mt.ConvergenceWarning) for w in caught)


@FORMS
@SOLVER
@given(data=st.data())
def test_solvers_on_episodic_problems_at_gamma_one(sparse, solver, data):
    # proper="optimal": only the optimal policy is guaranteed proper (stochastic shortest path)
    proper = data.draw(st.sampled_from(["all", "optimal"]), label="proper")
    if solver not in EXACT and proper == "optimal":
        proper = "all"  # VI/MPI bound the residual at gamma = 1; the error bound below needs "all"
    mdp = draw_mdp(data, sparse, gamma=1.0, proper=proper)
    tol = 1e-10
    result = SOLVERS[solver](mdp, tol)
    assert result.converged, result.message
    # with proper="all" each step ends w.p. >= 0.1, so T and T^pi are 0.9-contractions: a
    # residual max|V_k+1 - V_k| <= tol gives max|V - V*| <= tol / 0.1, and the greedy policy of
    # such a V loses at most 2 * 0.9 / 0.1 times that. Exact solvers meet 1e-8 outright.
    rounding = 1e-12 * scale(mdp)
    atol = 1e-8 if solver in EXACT else 10 * tol + rounding
    assert_bellman_optimal(mdp, result.V, atol=atol)
    assert_optimal_policy(mdp, result.policy, atol=1e-8 if solver in EXACT else 18 * atol)
    assert_respects_allowed(mdp, result.policy)
    assert (result.V[mdp.terminal] == 0).all()


@FORMS
@pytest.mark.parametrize("method", list(SOLVERS)[:1] + list(SOLVERS)[2:])
@settings(max_examples=10)
@given(data=st.data())
def test_solve_dispatches_to_the_named_solver(sparse, method, data):
    mdp = draw_mdp(data, sparse)
    result = mt.solve(mdp, method=method)
    assert result.method == method
    assert_optimal_policy(mdp, result.policy)
    np.testing.assert_array_equal(result.V, getattr(mt, method)(mdp).V)


@FORMS
@given(data=st.data())
def test_policy_iteration_never_decreases_J(sparse, data):
    mdp = draw_mdp(data, sparse, random_mu=True, gamma=st.one_of(st.floats(0, 0.99), st.just(1.0)))
    policy0 = data.draw(policies(mdp, deterministic=True), label="policy0")
    result = mt.policy_iteration(mdp, policy0=policy0)
    J = np.asarray(result.history["J"])
    assert J.ndim == 1 and J.size >= 1
    slack = 1e-12 * scale(mdp, J) / (1 - min(mdp.gamma, 0.99))
    assert (np.diff(J) >= -slack).all(), J
    assert J[-1] == pytest.approx(mt.expected_return(mdp, result.policy), abs=slack)
    assert_optimal_policy(mdp, result.policy)


# ---------------------------------------------------------------------- operators
@FORMS
@given(data=st.data())
def test_T_and_T_pi_are_gamma_contractions(sparse, data):
    mdp = draw_mdp(data, sparse)
    S = mdp.n_states
    V1, V2 = data.draw(values(S), label="V1"), data.draw(values(S), label="V2")
    policy = data.draw(policies(mdp), label="policy")
    slack = 1e-12 * scale(mdp, V1, V2)
    dist = np.abs(V1 - V2).max()
    T1, T2 = mt.bellman_optimality(mdp, V1), mt.bellman_optimality(mdp, V2)
    assert np.abs(T1 - T2).max() <= mdp.gamma * dist + slack
    E1, E2 = mt.bellman_expectation(mdp, V1, policy), mt.bellman_expectation(mdp, V2, policy)
    assert np.abs(E1 - E2).max() <= mdp.gamma * dist + slack


@FORMS
@given(data=st.data())
def test_T_and_T_pi_are_monotone(sparse, data):
    mdp = draw_mdp(data, sparse)
    S = mdp.n_states
    V1 = data.draw(values(S), label="V1")
    V2 = V1 + np.abs(data.draw(values(S, bound=1.0), label="bump"))  # V2 >= V1
    policy = data.draw(policies(mdp), label="policy")
    slack = 1e-12 * scale(mdp, V1, V2)
    assert (mt.bellman_optimality(mdp, V2) >= mt.bellman_optimality(mdp, V1) - slack).all()
    assert (mt.bellman_expectation(mdp, V2, policy)
            >= mt.bellman_expectation(mdp, V1, policy) - slack).all()
    # T dominates every T^pi, with equality for the greedy policy
    TV1 = mt.bellman_optimality(mdp, V1)
    assert (TV1 >= mt.bellman_expectation(mdp, V1, policy) - slack).all()
    greedy = mt.greedy_policy(mdp, V1)
    np.testing.assert_allclose(mt.bellman_expectation(mdp, V1, greedy), TV1, rtol=0, atol=slack)


@FORMS
@given(data=st.data())
def test_V_star_is_a_fixed_point_and_greedy_V_star_attains_it(sparse, data):
    mdp = draw_mdp(data, sparse, gamma=st.one_of(st.floats(0, 0.99), st.just(1.0)))
    V_star = mt.policy_iteration(mdp).V
    assert_bellman_optimal(mdp, V_star)
    slack = 1e-10 * scale(mdp, V_star)
    assert np.abs(mt.bellman_optimality(mdp, V_star) - V_star).max() <= slack
    greedy = mt.greedy_policy(mdp, V_star)
    assert_respects_allowed(mdp, greedy)
    assert_policy_value(mdp, greedy, V_star, atol=slack)
    assert_optimal_policy(mdp, greedy)
    # Q* from V* and from the greedy policy's evaluation agree
    np.testing.assert_allclose(mt.evaluate_q(mdp, greedy)[mdp.allowed],
                               mt.q_values(mdp, V_star)[mdp.allowed], rtol=0, atol=slack)
    # optimal_actions contains the greedy action
    assert mt.optimal_actions(mdp, V_star, atol=slack)[np.arange(mdp.n_states), greedy].all()


# ---------------------------------------------------------------------- dense == sparse
@SOLVER
@given(data=st.data())
def test_dense_and_sparse_forms_give_the_same_results(solver, data):
    mdp = draw_mdp(data, sparse=False)
    twin = other_form(mdp)
    assert twin.is_sparse
    V1, V2 = SOLVERS[solver](mdp, 1e-8).V, SOLVERS[solver](twin, 1e-8).V
    slack = 1e-8 if solver not in EXACT else 1e-10 * scale(mdp, V1)
    np.testing.assert_allclose(V1, V2, rtol=0, atol=2 * slack)
    V = data.draw(values(mdp.n_states), label="V")
    policy = data.draw(policies(mdp), label="policy")
    slack = 1e-12 * scale(mdp, V)
    np.testing.assert_allclose(mt.q_values(mdp, V), mt.q_values(twin, V), rtol=0, atol=slack)
    np.testing.assert_allclose(mt.bellman_expectation(mdp, V, policy),
                               mt.bellman_expectation(twin, V, policy), rtol=0, atol=slack)
    Vp = mt.evaluate_policy(mdp, policy)
    np.testing.assert_allclose(Vp, mt.evaluate_policy(twin, policy), rtol=0,
                               atol=1e-10 * scale(mdp, Vp))


# ---------------------------------------------------------------------- allowed and terminal
@FORMS
@given(data=st.data())
def test_soft_and_finite_horizon_solvers_respect_allowed_and_terminal(sparse, data):
    mdp = draw_mdp(data, sparse, with_allowed=True, with_terminal=True)
    soft = mt.soft_value_iteration(mdp, 0.1)
    assert_respects_allowed(mdp, soft.policy)
    assert (soft.V[mdp.terminal] == 0).all()
    horizon = data.draw(st.integers(1, 4), label="horizon")
    finite = mt.backward_induction(mdp, horizon)
    for t in range(horizon):
        assert_respects_allowed(mdp, finite.policy[t])
    assert (finite.V[:, mdp.terminal] == 0).all()
    greedy = mt.greedy_policy(mdp, data.draw(values(mdp.n_states), label="V"))
    assert_respects_allowed(mdp, greedy)


# ---------------------------------------------------------------------- soft value iteration
@FORMS
@given(data=st.data())
def test_soft_value_iteration_policy_is_the_softmax_of_its_Q(sparse, data):
    mdp = draw_mdp(data, sparse)
    beta = data.draw(st.sampled_from([0.01, 0.1, 1.0, 10.0]), label="beta")
    tol = 1e-9
    result = mt.soft_value_iteration(mdp, beta, tol=tol)
    assert result.converged, result.message
    pi = np.asarray(result.policy)
    np.testing.assert_allclose(pi, mt.softmax_policy(result.Q, beta), rtol=0, atol=1e-12)
    np.testing.assert_allclose(pi.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    # V is within tol of the soft fixed point: |T_beta V - V| <= (1 + gamma) tol
    slack = 1e-12 * scale(mdp, result.V)
    residual = mt.soft_bellman_optimality(mdp, result.V, beta) - result.V
    assert np.abs(residual).max() <= (1 + mdp.gamma) * tol + slack
    # and the returned policy's regularized value is V*_beta within 2 tol
    V_reg = mt.evaluate_policy(mdp, pi, beta=beta)
    assert np.abs(V_reg - result.V).max() <= 2 * tol + slack


@FORMS
@given(data=st.data())
def test_soft_optimum_tends_to_the_hard_optimum_as_beta_goes_to_zero(sparse, data):
    # 0 <= KL(pi || uniform over allowed) <= log(#allowed) gives, for gamma < 1,
    #   V* - beta log(A) / (1 - gamma) <= V*_beta <= V*   and the same for the softmax policy's
    # unregularized value V^{pi_beta} >= V*_beta
    mdp = draw_mdp(data, sparse, gamma=st.floats(0.0, 0.9))
    V_star = mt.policy_iteration(mdp).V
    log_a = np.log(mdp.allowed.sum(axis=1).max())
    tol = 1e-9
    for beta in [1.0, 0.1, 0.01, 0.001]:
        result = mt.soft_value_iteration(mdp, beta, tol=tol)
        assert result.converged, result.message
        width = beta * log_a / (1 - mdp.gamma) + 2 * tol + 1e-12 * scale(mdp, V_star)
        assert (result.V <= V_star + width).all() and (result.V >= V_star - width).all()
        V_pi = mt.evaluate_policy(mdp, result.policy)
        assert (V_pi >= V_star - width).all()


# ---------------------------------------------------------------------- backward induction
@FORMS
@given(data=st.data())
def test_backward_induction_is_H_steps_of_value_iteration(sparse, data):
    mdp = draw_mdp(data, sparse, gamma=st.one_of(st.floats(0.0, 1.0), st.just(1.0)))
    H = data.draw(st.integers(1, 6), label="horizon")
    V_H = data.draw(values(mdp.n_states), label="terminal_values")
    result = mt.backward_induction(mdp, H, terminal_values=V_H)
    V = np.asarray(result.V)
    assert V.shape == (H + 1, mdp.n_states) and result.policy.shape == (H, mdp.n_states)
    np.testing.assert_array_equal(V[H], V_H)
    expected = np.array(V_H)
    for t in range(H - 1, -1, -1):  # V[t] = T^(H - t) V_H
        expected = mt.bellman_optimality(mdp, expected)
        slack = 1e-12 * scale(mdp, expected) * (H - t)
        np.testing.assert_allclose(V[t], expected, rtol=0, atol=slack)
        # the decision at time t attains the max of Q_t = R + gamma P V[t + 1]
        Q_t = mt.q_values(mdp, V[t + 1])
        chosen = Q_t[np.arange(mdp.n_states), result.policy[t]]
        np.testing.assert_allclose(chosen, V[t], rtol=0, atol=slack)
        np.testing.assert_allclose(np.asarray(result.Q)[t][mdp.allowed], Q_t[mdp.allowed],
                                   rtol=0, atol=slack)


# ---------------------------------------------------------------------- evaluation
@FORMS
@given(data=st.data())
def test_evaluate_policy_direct_equals_iterative(sparse, data):
    mdp = draw_mdp(data, sparse, gamma=st.one_of(st.floats(0, 0.99), st.just(1.0)))
    policy = data.draw(policies(mdp), label="policy")
    direct = mt.evaluate_policy(mdp, policy)
    assert_policy_value(mdp, policy, direct, atol=1e-10 * scale(mdp, direct))
    tol = 1e-9
    iterative = mt.evaluate_policy(mdp, policy, method="iterative", tol=tol)
    # gamma < 1: tol bounds the error; gamma = 1 ("all" proper, each step ends w.p. >= 0.1):
    # tol bounds the residual, hence the error by tol / 0.1
    bound = tol if mdp.gamma < 1 else 10 * tol
    assert np.abs(iterative - direct).max() <= bound + 1e-12 * scale(mdp, direct)


@FORMS
@given(data=st.data())
def test_occupancy_solves_its_flow_equation_and_gives_the_return(sparse, data):
    mdp = draw_mdp(data, sparse, random_mu=True, gamma=st.one_of(st.floats(0, 0.99), st.just(1.0)))
    policy = data.draw(policies(mdp), label="policy")
    d = mt.occupancy(mdp, policy)
    P_pi, R_pi = chain(mdp, policy)
    live = ~mdp.terminal
    assert (d >= 0).all() and (d[mdp.terminal] == 0).all()
    # d = mu + gamma P_pi^T d on the non-terminal states (terminal states are not counted)
    flow = mdp.mu + mdp.gamma * P_pi.T @ d
    slack = 1e-10 * (1 + np.abs(d).max())
    np.testing.assert_allclose(d[live], flow[live], rtol=0, atol=slack)
    if mdp.gamma < 1 and not mdp.terminal.any():
        assert d.sum() == pytest.approx(1 / (1 - mdp.gamma), rel=1e-10)
    V = mt.evaluate_policy(mdp, policy)
    J = mt.expected_return(mdp, policy)
    slack = 1e-10 * scale(mdp, V) * (1 + np.abs(d).sum())
    assert J == pytest.approx(mdp.mu @ V, abs=slack)
    assert J == pytest.approx(d @ R_pi, abs=slack)


@settings(max_examples=60)
@given(hnp.arrays(np.float64, hnp.array_shapes(min_dims=2, max_dims=2, max_side=6),
                  elements=st.sampled_from([-np.inf, -1.0, 0.0, 0.5, 2.0])))
def test_greedy_rows_is_argmax_over_actions_lowest_index_first(Q_am):
    # ties are frequent with five values: the lowest action attaining the maximum must win
    from mdptoolkit.solvers._common import greedy_rows
    best = Q_am.max(axis=0)
    np.testing.assert_array_equal(greedy_rows(Q_am, best), np.argmax(Q_am, axis=0))


@settings(max_examples=40)
@given(st.integers(1, 8), st.integers(1, 8), st.floats(0.0, 1.0), st.integers(0, 2**32 - 1))
def test_csr_rows_equals_fancy_row_indexing(n_rows, n_cols, density, seed):
    from mdptoolkit.evaluation.chain import csr_rows
    rng = np.random.default_rng(seed)
    M = sp.random_array((n_rows, n_cols), density=density, format="csr", rng=rng)
    rows = rng.integers(0, n_rows, size=rng.integers(0, 12))
    np.testing.assert_array_equal(csr_rows(M, rows).toarray(), M.toarray()[rows])
