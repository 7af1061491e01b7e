r"""Exact and iterative policy evaluation, occupancy, expected return, Q^pi and the regularized
objective, each checked against an independent computation written out in the test
(a dense ``numpy.linalg.solve`` of :math:`(I - \gamma P_\pi) V = R_\pi`, a bottom-up recursion on
a tree, or a closed form). Dense and sparse MDPs are parametrized side by side.
"""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp

import mdptoolkit as mt
from _helpers import as_kind, dense_P, random_P
from mdptoolkit import ImproperPolicyError, MDPValidationError


# ---------------------------------------------------------------------- helpers



def policy_matrix(mdp, policy):
    policy = np.asarray(policy)
    if policy.ndim == 1:
        pi = np.zeros((mdp.n_states, mdp.n_actions))
        pi[np.arange(mdp.n_states), policy] = 1.0
        return pi
    return policy


def chain(mdp, policy):
    """(P_pi, R_pi) written out densely, for the reference computations."""
    pi = policy_matrix(mdp, policy)
    P_pi = np.einsum("sa,sat->st", pi, dense_P(mdp))
    R_pi = np.where(pi > 0, pi * np.where(np.isfinite(mdp.R), mdp.R, 0.0), 0.0).sum(axis=1)
    return P_pi, R_pi


def reference_values(mdp, policy, reward=None):
    """V^pi by a dense solve over the non-terminal states (terminal states are worth 0)."""
    P_pi, R_pi = chain(mdp, policy)
    if reward is not None:
        R_pi = reward
    N = np.flatnonzero(~mdp.terminal)
    V = np.zeros(mdp.n_states)
    V[N] = np.linalg.solve(np.eye(N.size) - mdp.gamma * P_pi[np.ix_(N, N)], R_pi[N])
    return V


def random_mdp(kind, seed, *, n_states=12, n_actions=3, gamma=0.9, terminal=False, disallow=False,
               branching=None):
    rng = np.random.default_rng(seed)
    P = random_P(rng, n_states, n_actions, branching)
    R = rng.normal(size=(n_states, n_actions))
    if disallow:
        R[rng.random((n_states, n_actions)) < 0.3] = -np.inf
        R[np.arange(n_states), rng.integers(0, n_actions, n_states)] = rng.normal(size=n_states)
    term = np.zeros(n_states, bool)
    if terminal:
        term[[2, n_states - 1]] = True
    return mt.MDP(as_kind(P, kind), R, gamma, terminal=term)


def random_policy(mdp, stochastic, seed):
    rng = np.random.default_rng(seed)
    if not stochastic:
        scores = np.where(mdp.allowed, rng.random(mdp.allowed.shape), -1.0)
        return np.argmax(scores, axis=1)
    pi = rng.random(mdp.allowed.shape) * mdp.allowed
    return pi / pi.sum(axis=1, keepdims=True)


@pytest.fixture(params=["dense", "sparse"])
def kind(request):
    return request.param


@pytest.fixture(params=["deterministic", "stochastic"])
def stochastic(request):
    return request.param == "stochastic"


# ---------------------------------------------------------------------- direct and iterative
@pytest.mark.parametrize("gamma", [0.0, 0.5, 0.9, 0.99])
@pytest.mark.parametrize("terminal", [False, True], ids=["no-terminal", "terminal"])
def test_direct_evaluation_solves_the_bellman_equation(kind, stochastic, gamma, terminal):
    mdp = random_mdp(kind, 1, gamma=gamma, terminal=terminal, disallow=True)
    policy = random_policy(mdp, stochastic, 2)
    V = mt.evaluate_policy(mdp, policy)
    assert V.shape == (mdp.n_states,) and V.dtype == np.float64
    expected = reference_values(mdp, policy)
    np.testing.assert_allclose(V, expected, rtol=1e-11, atol=1e-11)
    assert (V[mdp.terminal] == 0).all()


@pytest.mark.parametrize("gamma", [0.5, 0.9, 0.99])
@pytest.mark.parametrize("tol", [1e-6, 1e-10])
def test_iterative_evaluation_is_within_tol(kind, stochastic, gamma, tol):
    # Documented guarantee for gamma < 1: max|V - V^pi| <= tol.
    mdp = random_mdp(kind, 3, gamma=gamma, terminal=True, disallow=True)
    policy = random_policy(mdp, stochastic, 4)
    V = mt.evaluate_policy(mdp, policy, method="iterative", tol=tol)
    expected = reference_values(mdp, policy)
    assert np.abs(V - expected).max() <= tol
    assert (V[mdp.terminal] == 0).all()


@pytest.mark.parametrize("gamma", [0.9, 0.99, 0.999])
def test_iterative_evaluation_for_rows_accepted_within_the_row_sum_tolerance(kind, stochastic,
                                                                              gamma):
    # Probabilities given to 10 decimals (as in a printed table): rows sum to 1 within ~1e-10,
    # which the model accepts. The documented guarantee max|V - V^pi| <= tol must still hold for
    # the model as stored, or a ConvergenceWarning must say that it does not.
    rng = np.random.default_rng(26)
    P = np.round(random_P(rng, 12, 3, 3), 10)
    mdp = mt.MDP(as_kind(P, kind), rng.uniform(0, 1, size=(12, 3)), gamma)
    assert 0 < np.abs(dense_P(mdp).sum(axis=2) - 1).max() <= 1e-9
    policy = random_policy(mdp, stochastic, 27)
    tol = 1e-8
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        V = mt.evaluate_policy(mdp, policy, method="iterative", tol=tol)
    if not any(issubclass(w.category, mt.ConvergenceWarning) for w in caught):
        assert np.abs(V - reference_values(mdp, policy)).max() <= tol


def test_direct_and_iterative_agree(kind, stochastic):
    mdp = random_mdp(kind, 5, gamma=0.95, branching=3)
    policy = random_policy(mdp, stochastic, 6)
    direct = mt.evaluate_policy(mdp, policy, method="direct")
    iterative = mt.evaluate_policy(mdp, policy, method="iterative", tol=1e-9)
    assert np.abs(direct - iterative).max() <= 1e-9


def test_iterative_evaluation_with_gamma_one_bounds_the_residual(kind, stochastic):
    # For gamma = 1 the documented guarantee is on the residual max|T^pi V - V| <= tol.
    rng = np.random.default_rng(7)
    n = 10
    P = random_P(rng, n, 2)
    P[:, :, n - 1] += 0.3  # every state reaches the terminal state
    P /= P.sum(axis=2, keepdims=True)
    terminal = np.zeros(n, bool)
    terminal[n - 1] = True
    mdp = mt.MDP(as_kind(P, kind), -rng.random((n, 2)), 1.0, terminal=terminal)
    policy = random_policy(mdp, stochastic, 8)
    tol = 1e-9
    V = mt.evaluate_policy(mdp, policy, method="iterative", tol=tol)
    residual = mt.bellman_expectation(mdp, V, policy) - V
    assert np.abs(residual).max() <= tol
    # and the exact value agrees with the dense solve
    np.testing.assert_allclose(mt.evaluate_policy(mdp, policy), reference_values(mdp, policy),
                               rtol=1e-11, atol=1e-11)


def test_iterative_evaluation_warns_when_max_iter_runs_out(kind):
    mdp = random_mdp(kind, 9, gamma=0.99)
    with pytest.warns(mt.ConvergenceWarning,
                      match=r"iterative evaluation stopped: max_iter=3 reached"):
        V = mt.evaluate_policy(mdp, np.zeros(mdp.n_states, int), method="iterative", max_iter=3)
    assert np.isfinite(V).all()


def test_evaluation_does_not_modify_the_policy(kind, stochastic):
    mdp = random_mdp(kind, 10, disallow=True)
    policy = random_policy(mdp, stochastic, 11)
    before = policy.copy()
    mt.evaluate_policy(mdp, policy)
    mt.occupancy(mdp, policy)
    np.testing.assert_array_equal(policy, before)


# ---------------------------------------------------------------------- acyclic chains and trees
def binary_tree(kind, depth, gamma, seed):
    """A complete binary tree whose leaves end in one absorbing terminal state.

    Internal node s has children 2s+1 and 2s+2; action 0 goes left with probability 0.7 and
    right with 0.3, action 1 goes right. Leaves move to the terminal state with either action.
    """
    rng = np.random.default_rng(seed)
    n_nodes = 2 ** (depth + 1) - 1
    done = n_nodes
    n = n_nodes + 1
    P = np.zeros((n, 2, n))
    for s in range(n_nodes):
        left, right = 2 * s + 1, 2 * s + 2
        if left < n_nodes:
            P[s, 0, left], P[s, 0, right] = 0.7, 0.3
            P[s, 1, right] = 1.0
        else:
            P[s, :, done] = 1.0
    P[done, :, done] = 1.0
    terminal = np.zeros(n, bool)
    terminal[done] = True
    return mt.MDP(as_kind(P, kind), rng.normal(size=(n, 2)), gamma, terminal=terminal)


def tree_values_bottom_up(mdp, policy):
    """V(s) = R_pi(s) + gamma * sum_c P_pi(s, c) V(c), children before parents."""
    P_pi, R_pi = chain(mdp, policy)
    V = np.zeros(mdp.n_states)
    for s in reversed(range(mdp.n_states)):  # children have larger indices than parents
        if mdp.terminal[s]:
            continue
        V[s] = R_pi[s] + mdp.gamma * P_pi[s] @ V
    return V


@pytest.mark.parametrize("gamma", [1.0, 0.9])
def test_acyclic_tree_evaluation(kind, stochastic, gamma):
    mdp = binary_tree(kind, 5, gamma, 12)
    policy = random_policy(mdp, stochastic, 13)
    expected = tree_values_bottom_up(mdp, policy)
    np.testing.assert_allclose(mt.evaluate_policy(mdp, policy), expected, rtol=1e-12, atol=1e-12)
    iterative = mt.evaluate_policy(mdp, policy, method="iterative", tol=1e-11)
    np.testing.assert_allclose(iterative, expected, rtol=0, atol=1e-10)


def jump_chain(kind, n, gamma):
    """States 0..n-1, state n-1 terminal. Action 0 steps to s+1 earning 1; action 1 jumps to
    the terminal state earning 5."""
    s = np.arange(n)
    rows = np.concatenate([2 * s, 2 * s + 1])
    cols = np.concatenate([np.minimum(s + 1, n - 1), np.full(n, n - 1)])
    P = sp.csr_array((np.ones(2 * n), (rows, cols)), shape=(2 * n, n))
    if kind == "dense":
        P = P.toarray().reshape(n, 2, n)
    R = np.column_stack([np.ones(n), np.full(n, 5.0)])
    terminal = np.zeros(n, bool)
    terminal[-1] = True
    return mt.MDP(P, R, gamma, terminal=terminal)


@pytest.mark.parametrize("kind, n", [("dense", 60), ("sparse", 60), ("sparse", 100_000)])
@pytest.mark.parametrize("gamma", [1.0, 0.999])
def test_acyclic_chain_closed_form(kind, n, gamma):
    # Under pi(0|s) = q: V(s) = a + b V(s+1) with a = q + 5(1 - q), b = q gamma and V(n-1) = 0,
    # so with k = n - 1 - s steps to go V(s) = a (1 - b^k) / (1 - b).
    mdp = jump_chain(kind, n, gamma)
    q = 0.9
    pi = np.column_stack([np.full(n, q), np.full(n, 1 - q)])
    k = n - 1 - np.arange(n)
    a, b = q + 5 * (1 - q), q * gamma
    expected = a * (1 - b ** k) / (1 - b)
    V = mt.evaluate_policy(mdp, pi)
    np.testing.assert_allclose(V, expected, rtol=1e-12, atol=1e-12)
    # the deterministic "always step" policy earns 1 per step for k steps
    V_step = mt.evaluate_policy(mdp, np.zeros(n, dtype=int))
    expected_step = k.astype(float) if gamma == 1.0 else (1 - gamma ** k) / (1 - gamma)
    np.testing.assert_allclose(V_step, expected_step, rtol=1e-12, atol=1e-12)


# ---------------------------------------------------------------------- improper policies
def loop_mdp(kind, names=True, terminal=True):
    """0 -(a0)-> 0 forever, 0 -(a1)-> 2 (terminal); 1 -> 0; 2 absorbing."""
    P = np.zeros((3, 2, 3))
    P[0, 0, 0] = P[0, 1, 2] = 1.0
    P[1, :, 0] = 1.0
    P[2, :, 2] = 1.0
    return mt.MDP(as_kind(P, kind), -np.ones((3, 2)), 1.0,
                  terminal=[False, False, True] if terminal else None,
                  state_names=["start", "mid", "goal"] if names else None)


IMPROPER_CALLS = {
    "direct": lambda m, pi: mt.evaluate_policy(m, pi, method="direct"),
    "iterative": lambda m, pi: mt.evaluate_policy(m, pi, method="iterative"),
    "occupancy": lambda m, pi: mt.occupancy(m, pi),
    "expected_return": lambda m, pi: mt.expected_return(m, pi),
    "evaluate_q": lambda m, pi: mt.evaluate_q(m, pi),
}


@pytest.mark.parametrize("call", sorted(IMPROPER_CALLS))
def test_improper_policy_is_refused_and_the_state_named(kind, call):
    mdp = loop_mdp(kind)
    with pytest.raises(ImproperPolicyError,
                       match=r"policy is improper: state 0 \(start\) never reaches a terminal "
                             r"state under it \(2 such states\), so with gamma = 1 its value is "
                             r"undefined"):
        IMPROPER_CALLS[call](mdp, np.array([0, 0, 0]))


@pytest.mark.parametrize("call", sorted(IMPROPER_CALLS))
def test_improper_stochastic_policy_names_the_first_stuck_state(kind, call):
    # state 0 reaches the goal with probability 1 (it leaves with probability 1/2 per step);
    # state 1 loops on itself and state 3 feeds it: both are named by count, 1 first
    P = np.zeros((4, 2, 4))
    P[0, 0, 0] = P[0, 1, 2] = 1.0
    P[1, :, 1] = 1.0
    P[2, :, 2] = 1.0
    P[3, :, 1] = 1.0
    mdp = mt.MDP(as_kind(P, kind), -np.ones((4, 2)), 1.0, terminal=[False, False, True, False])
    pi = np.array([[0.5, 0.5], [1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    with pytest.raises(ImproperPolicyError,
                       match=r"state 1 never reaches a terminal state under it \(2 such states\)"):
        IMPROPER_CALLS[call](mdp, pi)


@pytest.mark.parametrize("method", ["direct", "iterative"])
def test_without_terminal_states_the_message_suggests_what_to_do(kind, method):
    mdp = loop_mdp(kind, names=False, terminal=False)
    with pytest.raises(ImproperPolicyError,
                       match=r"state 0 never reaches a terminal state under it \(3 such states\).*"
                             r"mark terminal states with terminal=\.\.\., use gamma < 1, or "
                             r"relative_value_iteration"):
        mt.evaluate_policy(mdp, np.array([1, 0, 0]), method=method)


def test_a_proper_policy_with_a_cycle_is_evaluated(kind):
    # From state 0, pi stays with probability 1/2 and leaves with 1/2: it reaches the goal with
    # probability 1 after 2 steps on average, so V(0) = -2 and V(1) = -1 + V(0) = -3.
    mdp = loop_mdp(kind)
    pi = np.array([[0.5, 0.5], [1.0, 0.0], [1.0, 0.0]])
    for method in ("direct", "iterative"):
        np.testing.assert_allclose(mt.evaluate_policy(mdp, pi, method=method, tol=1e-12),
                                   [-2.0, -3.0, 0.0], rtol=0, atol=1e-11)
    np.testing.assert_allclose(mt.evaluate_policy(mdp, np.array([1, 0, 0])), [-1.0, -2.0, 0.0])
    # occupancy with mu uniform: d = mu + P^T d on the non-terminal states
    np.testing.assert_allclose(mt.occupancy(mdp, pi), [(1 / 3 + 1 / 3) * 2, 1 / 3, 0.0])


# ---------------------------------------------------------------------- occupancy
@pytest.mark.parametrize("gamma", [0.5, 0.9, 0.99])
@pytest.mark.parametrize("terminal", [False, True], ids=["no-terminal", "terminal"])
def test_occupancy_identities(kind, stochastic, gamma, terminal):
    mdp = random_mdp(kind, 14, gamma=gamma, terminal=terminal, disallow=True).replace(
        mu=np.random.default_rng(15).dirichlet(np.ones(12)))
    policy = random_policy(mdp, stochastic, 16)
    d = mt.occupancy(mdp, policy)
    P_pi, R_pi = chain(mdp, policy)
    N = ~mdp.terminal
    # d = mu + gamma P_pi^T d on the non-terminal states, 0 at terminal states
    np.testing.assert_allclose(d[N], (mdp.mu + gamma * P_pi.T @ d)[N], rtol=1e-11, atol=1e-12)
    assert (d[mdp.terminal] == 0).all()
    assert (d >= 0).all()
    if not terminal:
        assert d.sum() == pytest.approx(1 / (1 - gamma), rel=1e-11)
    else:
        assert d.sum() < 1 / (1 - gamma)
    # J = mu . V = d . R_pi
    V = mt.evaluate_policy(mdp, policy)
    J = mt.expected_return(mdp, policy)
    assert isinstance(J, float)
    assert J == pytest.approx(mdp.mu @ V, rel=1e-12, abs=1e-12)
    assert J == pytest.approx(d @ R_pi, rel=1e-10, abs=1e-10)


def test_occupancy_counts_expected_visits_when_gamma_is_one(kind, stochastic):
    mdp = binary_tree(kind, 3, 1.0, 17)
    policy = random_policy(mdp, stochastic, 18)
    d = mt.occupancy(mdp, policy)
    P_pi, R_pi = chain(mdp, policy)
    N = ~mdp.terminal
    np.testing.assert_allclose(d[N], (mdp.mu + P_pi.T @ d)[N], rtol=1e-12, atol=1e-14)
    # every path visits exactly one node per level: from a uniform start, visits sum to
    # sum over start nodes of (remaining depth + 1)
    depth_of = np.floor(np.log2(np.arange(1, mdp.n_states) + 0.5)).astype(int)  # node depth
    visits = (3 - depth_of + 1) / mdp.n_states
    assert d.sum() == pytest.approx(visits.sum(), rel=1e-12)
    assert mt.expected_return(mdp, policy) == pytest.approx(d @ R_pi, rel=1e-12, abs=1e-12)


# ---------------------------------------------------------------------- action values
def test_evaluate_q_is_consistent_with_V(kind, stochastic):
    mdp = random_mdp(kind, 19, gamma=0.9, terminal=True, disallow=True)
    policy = random_policy(mdp, stochastic, 20)
    Q = mt.evaluate_q(mdp, policy)
    V = mt.evaluate_policy(mdp, policy)
    assert Q.shape == (mdp.n_states, mdp.n_actions)
    assert np.isneginf(Q[~mdp.allowed]).all() and np.isfinite(Q[mdp.allowed]).all()
    # Q^pi(s, a) = R(s, a) + gamma sum_s' P(s'|s, a) V^pi(s') at allowed actions
    expected = mdp.R + mdp.gamma * np.einsum("sat,t->sa", dense_P(mdp), V)
    np.testing.assert_allclose(Q[mdp.allowed], expected[mdp.allowed], rtol=1e-12, atol=1e-12)
    # and sum_a pi(a|s) Q^pi(s, a) = V^pi(s); for a deterministic policy Q^pi[s, pi(s)] = V^pi(s)
    pi = policy_matrix(mdp, policy)
    expectation = (pi * np.where(mdp.allowed, Q, 0.0)).sum(axis=1)  # pi is 0 where Q is -inf
    np.testing.assert_allclose(expectation, V, rtol=1e-12, atol=1e-12)
    if not stochastic:
        np.testing.assert_allclose(Q[np.arange(mdp.n_states), policy], V, rtol=1e-12, atol=1e-12)


# ---------------------------------------------------------------------- regularized objective
def kl(pi, ref):
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(pi > 0, pi * np.log(pi / np.where(ref > 0, ref, 1.0)), 0.0)
    return terms.sum(axis=1)


@pytest.mark.parametrize("beta", [0.1, 1.0, 5.0])
@pytest.mark.parametrize("reference", ["uniform", "given"])
def test_regularized_evaluation_by_hand(kind, beta, reference):
    mdp = random_mdp(kind, 21, gamma=0.9, terminal=True, disallow=True)
    rng = np.random.default_rng(22)
    pi = random_policy(mdp, True, 23)
    if reference == "uniform":
        ref = None
        ref_matrix = mdp.allowed / mdp.allowed.sum(axis=1, keepdims=True)  # over allowed actions
    else:
        ref_matrix = rng.random(mdp.allowed.shape) * mdp.allowed + 1e-3 * mdp.allowed
        ref_matrix /= ref_matrix.sum(axis=1, keepdims=True)
        ref = ref_matrix
    _, R_pi = chain(mdp, pi)
    penalty = kl(pi, ref_matrix)
    penalty[mdp.terminal] = 0.0
    expected = reference_values(mdp, pi, reward=R_pi - beta * penalty)
    V = mt.evaluate_policy(mdp, pi, beta=beta, reference=ref)
    np.testing.assert_allclose(V, expected, rtol=1e-11, atol=1e-11)
    np.testing.assert_allclose(mt.evaluate_policy(mdp, pi, method="iterative", tol=1e-10,
                                                  beta=beta, reference=ref),
                               expected, rtol=0, atol=1e-10)
    assert mt.expected_return(mdp, pi, beta=beta, reference=ref) == pytest.approx(
        mdp.mu @ expected, rel=1e-11, abs=1e-11)
    # the soft Q charges the KL term of the next states only: V = sum_a pi (Q - beta log(pi/ref))
    Q = mt.evaluate_q(mdp, pi, beta=beta, reference=ref)
    N = ~mdp.terminal
    with np.errstate(divide="ignore", invalid="ignore"):
        soft = np.where(pi > 0, pi * (Q - beta * np.log(pi / ref_matrix)), 0.0).sum(axis=1)
    np.testing.assert_allclose(soft[N], V[N], rtol=1e-11, atol=1e-11)


def test_regularization_of_a_policy_equal_to_the_reference_is_free(kind):
    mdp = random_mdp(kind, 24, disallow=True)
    uniform = mdp.allowed / mdp.allowed.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(mt.evaluate_policy(mdp, uniform, beta=3.0),
                               mt.evaluate_policy(mdp, uniform), rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(mt.evaluate_policy(mdp, uniform, beta=0.0),
                                  mt.evaluate_policy(mdp, uniform))


def test_deterministic_policy_pays_log_of_the_number_of_actions(kind):
    # KL(delta_a || uniform over k actions) = log k per step; with gamma = 0.5 and all rewards 0
    # in a single absorbing-free state: V = -beta log 3 / (1 - 0.5).
    P = np.ones((1, 3, 1))
    mdp = mt.MDP(as_kind(P, kind), np.zeros((1, 3)), 0.5)
    V = mt.evaluate_policy(mdp, np.array([1]), beta=2.0)
    np.testing.assert_allclose(V, [-2.0 * np.log(3) / 0.5], rtol=1e-14)


def test_kl_is_infinite_where_the_reference_has_no_mass(kind):
    mdp = random_mdp(kind, 25, n_states=3, n_actions=2)
    ref = np.array([[0.5, 0.5], [1.0, 0.0], [0.5, 0.5]])
    pi = np.array([[0.5, 0.5], [0.5, 0.5], [1.0, 0.0]])
    pattern = (r"policy must be absolutely continuous w\.r\.t\. the reference \(KL is infinite "
               r"otherwise\); got pi\[1, 1\] = 0\.5 where reference\[1, 1\] = 0")
    with pytest.raises(MDPValidationError, match=pattern):
        mt.evaluate_policy(mdp, pi, beta=1.0, reference=ref)
    with pytest.raises(MDPValidationError, match=pattern):
        mt.expected_return(mdp, pi, beta=1.0, reference=ref)
    with pytest.raises(MDPValidationError, match=r"got pi\[1, 1\] = 1 where reference\[1, 1\] = 0"):
        mt.evaluate_policy(mdp, np.array([0, 1, 0]), beta=0.5, reference=ref)
    # a policy inside the reference's support is fine
    V = mt.evaluate_policy(mdp, np.array([[0.5, 0.5], [1.0, 0.0], [1.0, 0.0]]), beta=1.0,
                           reference=ref)
    assert np.isfinite(V).all()


def test_kl_is_not_charged_at_terminal_states(kind):
    P = np.zeros((2, 2, 2))
    P[:, :, 1] = 1.0
    mdp = mt.MDP(as_kind(P, kind), [[1.0, 1.0], [0.0, 0.0]], 1.0, terminal=[False, True])
    ref = np.array([[0.5, 0.5], [1.0, 0.0]])
    pi = np.array([[0.5, 0.5], [0.0, 1.0]])  # mass outside the reference only at the terminal
    np.testing.assert_allclose(mt.evaluate_policy(mdp, pi, beta=1.0, reference=ref), [1.0, 0.0])
