"""Regression tests for the solver-side defects of issue 21 (one test per item, named for what
it guards; each failed before its fix)."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp

import mdptoolkit as mt
from mdptoolkit.exceptions import ConvergenceWarning


def random_dense_mdp(seed, n_states, n_actions, gamma, scale=1.0):
    rng = np.random.default_rng(seed)
    P = rng.random((n_states, n_actions, n_states))
    P /= P.sum(axis=2, keepdims=True)
    return mt.MDP(P, scale * rng.random((n_states, n_actions)), gamma)


def exact_values(mdp):
    return mt.policy_iteration(mdp, evaluation="direct").V


def quiet(solver, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return solver(*args, **kwargs)


# ---------------------------------------------------------------------- item 1
@pytest.mark.parametrize("stop", [{"max_iter": 5}, {"max_iter": 50}, {"tol": 1e-12}],
                         ids=["max_iter=5", "max_iter=50", "stall"])
def test_value_iteration_returns_corrected_values_and_a_bound_when_it_stops_short(stop):
    # issue 21 item 1: S=231, A=3, gamma=0.995, rewards ~1e4 - the uncorrected iterate was off
    # by ~1e6 with error_bound None; the midpoint of the span bounds is certified on any exit.
    mdp = random_dense_mdp(0, 231, 3, 0.995, scale=1e4)
    V_star = exact_values(mdp)
    result = quiet(mt.value_iteration, mdp, **stop)
    assert result.converged is False
    assert result.error_bound is not None
    assert np.abs(result.V - V_star).max() <= result.error_bound
    assert "corrected midpoint" in result.message
    if stop != {"max_iter": 5}:
        assert np.abs(result.V - V_star).max() < 1e-6


def test_value_iteration_near_gamma_one_returns_corrected_values_within_its_bound():
    # issue 21 item 1: gamma = 0.9999999 on a 4-state MDP was off by ~1e7
    mdp = random_dense_mdp(3, 4, 2, 0.9999999)
    V_star = exact_values(mdp)
    result = quiet(mt.value_iteration, mdp)
    assert np.abs(result.V - V_star).max() <= result.error_bound < 1.0
    assert "gamma = 0.9999999 " in result.message


def test_soft_and_modified_iterations_return_corrected_values_when_stopped_by_max_iter():
    mdp = random_dense_mdp(1, 40, 3, 0.99, scale=100.0)
    V_star = exact_values(mdp)
    result = quiet(mt.modified_policy_iteration, mdp, max_iter=2)
    assert result.converged is False
    assert np.abs(result.V - V_star).max() <= result.error_bound
    strict = mt.soft_value_iteration(mdp, 1.0, tol=1e-8)
    result = quiet(mt.soft_value_iteration, mdp, 1.0, max_iter=3)
    assert result.converged is False
    assert np.abs(result.V - strict.V).max() <= result.error_bound + strict.error_bound


def test_value_iteration_at_gamma_one_says_no_bound_when_stopped():
    P = np.zeros((3, 1, 3))
    P[0, 0, 1] = P[1, 0, 2] = P[2, 0, 2] = 1.0
    mdp = mt.MDP(P, [[1.0], [1.0], [0.0]], 1.0, terminal=[False, False, True])
    result = quiet(mt.value_iteration, mdp, max_iter=1)
    assert result.converged is False and result.error_bound is None
    assert "with gamma = 1 nothing bounds max|V - V*| (error_bound is None)" in result.message


# ---------------------------------------------------------------------- item 2
def random_walk(n=1000, gamma=0.999):
    """Left/right moves that succeed with probability 0.9 on a line; rewards at both ends."""
    s = np.arange(n)
    left, right = np.maximum(s - 1, 0), np.minimum(s + 1, n - 1)
    P = np.zeros((n, 2, n))
    for a, (to, back) in enumerate([(left, right), (right, left)]):
        np.add.at(P, (s, a, to), 0.9)
        np.add.at(P, (s, a, back), 0.1)
    R = np.zeros((n, 2))
    R[-1] = 1.0
    R[0] = 0.5
    return mt.MDP(sp.csr_array(P.reshape(2 * n, n)), R, gamma)


def test_modified_policy_iteration_does_not_stall_above_round_off():
    # issue 21 item 2: it stopped after 207 greedy steps with bound 271 and max|V - V*| = 262,
    # blaming floating point; a pause of its span far above round-off is no stall
    mdp = random_walk()
    V_star = exact_values(mdp)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        result = mt.modified_policy_iteration(mdp, tol=1e-6)
    assert result.converged is True
    assert np.abs(result.V - V_star).max() <= result.error_bound <= 1e-6


# ---------------------------------------------------------------------- item 3
def huge_reward_mdp(gamma=0.99):
    return random_dense_mdp(0, 3, 2, gamma, scale=0.0).replace(R=np.full((3, 2), 1e307))


OVERFLOW = "the values overflow float64"


@pytest.mark.parametrize("call", [
    lambda mdp: mt.policy_iteration(mdp),
    lambda mdp: mt.policy_iteration(mdp, evaluation="direct"),
    lambda mdp: mt.value_iteration(mdp),
    lambda mdp: mt.value_iteration(mdp, gauss_seidel=True),
    lambda mdp: mt.modified_policy_iteration(mdp),
    lambda mdp: mt.soft_value_iteration(mdp, 1.0),
    lambda mdp: mt.linear_programming(mdp),
    lambda mdp: mt.evaluate_policy(mdp, np.zeros(3, dtype=int)),
    lambda mdp: mt.evaluate_policy(mdp, np.zeros(3, dtype=int), method="iterative"),
], ids=["PI", "PI-direct", "VI", "VI-GS", "MPI", "softVI", "LP", "evaluate", "evaluate-iterative"])
def test_values_that_overflow_float64_are_refused_not_returned(call):
    # issue 21 item 3: rewards 1e307 at gamma 0.99: PI returned converged=True with V = inf and
    # error_bound NaN, evaluate_policy inf, value_iteration blamed the row sums of P
    with pytest.raises(mt.MDPValidationError, match=r"max\|R\|/\(1 - gamma\) = inf .*" + OVERFLOW):
        call(huge_reward_mdp())


def test_values_that_overflow_at_gamma_one_are_refused():
    # no a-priori bound at gamma = 1: the non-finite result is caught
    n = 40
    P = np.zeros((n, 1, n))
    P[np.arange(n - 1), 0, np.arange(1, n)] = 1.0
    P[n - 1, 0, n - 1] = 1.0
    terminal = np.zeros(n, bool)
    terminal[-1] = True
    mdp = mt.MDP(P, np.full((n, 1), 1e307), 1.0, terminal=terminal)
    for call in (lambda: mt.policy_iteration(mdp),
                 lambda: mt.evaluate_policy(mdp, np.zeros(n, int)),
                 lambda: mt.backward_induction(mdp, 60)):
        with pytest.raises(mt.MDPValidationError, match=r"got (inf|nan) at V\[.*" + OVERFLOW), \
                np.errstate(over="ignore", invalid="ignore"):
            call()


# ---------------------------------------------------------------------- item 7
def test_backward_induction_refuses_a_horizon_too_large_before_allocating():
    # issue 21 item 7: backward_induction(mdp, 10**9) tried to allocate 30 GB
    mdp = random_dense_mdp(0, 2, 2, 1.0)
    with pytest.raises(mt.MDPValidationError,
                       match=r"must take at most max_bytes=8,589,934,592 bytes; got .* = "
                             r"64,000,000,016 bytes \(59.6 GiB\) for horizon H=1,000,000,000"):
        mt.backward_induction(mdp, 10**9)
    assert mt.backward_induction(mdp, 3, max_bytes=10**6).V.shape == (4, 2)


# ---------------------------------------------------------------------- item 8
def test_linear_programming_refuses_an_unknown_option_listing_the_valid_ones():
    # issue 21 item 8: options={"bogus": 1} only warned, and the LP ran with the defaults
    mdp = random_dense_mdp(0, 4, 2, 0.9)
    with pytest.raises(mt.MDPValidationError,
                       match=r"options must name HiGHS options .*unknown 'bogus' .*valid: .*"
                             r"presolve.*time_limit|time_limit.*presolve"):
        mt.linear_programming(mdp, options={"bogus": 1})
    with pytest.raises(TypeError, match="options must be a dict"):
        mt.linear_programming(mdp, options=[("presolve", False)])
    assert mt.linear_programming(mdp, options={"presolve": False}).converged


# ---------------------------------------------------------------------- item 11
def sutton_barto_grid():
    """Sutton & Barto (2018), Example 4.1: 4x4 grid, corners terminal, reward -1 per move."""
    S, moves = 16, [(-1, 0), (1, 0), (0, -1), (0, 1)]
    P = np.zeros((S, 4, S))
    for s in range(S):
        r, c = divmod(s, 4)
        for a, (dr, dc) in enumerate(moves):
            P[s, a, 4 * min(max(r + dr, 0), 3) + min(max(c + dc, 0), 3)] = 1.0
    terminal = np.zeros(S, bool)
    terminal[[0, 15]] = True
    return mt.MDP(P, -np.ones((S, 4)), 1.0, terminal=terminal)


def test_policy_iteration_starts_from_a_stochastic_policy():
    # issue 21 item 11, DESIGN.md: Sutton & Barto start Figure 4.1 from the equiprobable policy;
    # the greedy policy of its values is already optimal (Figure 4.1, right column), so one
    # improvement step and one check; V* = -(moves to the nearest corner)
    mdp = sutton_barto_grid()
    result = mt.policy_iteration(mdp, policy0=np.full((16, 4), 0.25))
    assert result.converged is True and result.iterations == 2
    expected = -np.array([[0, 1, 2, 3], [1, 2, 3, 2], [2, 3, 2, 1], [3, 2, 1, 0]], float)
    np.testing.assert_allclose(result.V.reshape(4, 4), expected, atol=1e-12)
    assert result.history["policy_changes"].tolist() == [14, 0]
    V_random = mt.evaluate_policy(mdp, np.full((16, 4), 0.25))
    assert result.history["J"][0] == pytest.approx(mdp.mu @ V_random)


def test_policy_iteration_takes_a_one_hot_policy0_as_the_deterministic_one():
    mdp = random_dense_mdp(2, 6, 3, 0.9)
    policy = np.array([0, 1, 2, 0, 1, 2])
    one_hot = np.eye(3)[policy]
    a, b = mt.policy_iteration(mdp, policy0=policy), mt.policy_iteration(mdp, policy0=one_hot)
    assert a.history["policy_changes"].tolist() == b.history["policy_changes"].tolist()
    np.testing.assert_array_equal(a.V, b.V)


# ---------------------------------------------------------------------- item 14
DP_SOLVERS = {
    "value_iteration": lambda mdp, **kw: mt.value_iteration(mdp, **kw),
    "gauss_seidel": lambda mdp, **kw: mt.value_iteration(mdp, gauss_seidel=True, **kw),
    "policy_iteration": lambda mdp, **kw: mt.policy_iteration(mdp, **kw),
    "modified_policy_iteration": lambda mdp, **kw: mt.modified_policy_iteration(mdp, **kw),
    "soft_value_iteration": lambda mdp, **kw: mt.soft_value_iteration(mdp, 0.5, **kw),
    "relative_value_iteration": lambda mdp, **kw: mt.relative_value_iteration(mdp, **kw),
    "linear_programming": lambda mdp, **kw: mt.linear_programming(mdp, **kw),
    "backward_induction": lambda mdp, **kw: mt.backward_induction(mdp, 7, **kw),
}
EXITS = {"converged": {}, "max_iter": {"max_iter": 2},
         "callback": {"callback": lambda k, state: k == 2}}


@pytest.mark.parametrize("exit_", sorted(EXITS))
@pytest.mark.parametrize("solver", sorted(DP_SOLVERS))
def test_dp_histories_have_one_entry_per_iteration_on_every_exit(solver, exit_):
    # issue 21 item 14: one entry per iteration in every DP solver, on every exit path
    if solver in ("linear_programming", "backward_induction") and exit_ != "converged":
        pytest.skip("no max_iter or callback")
    mdp = random_dense_mdp(4, 12, 3, 0.95)
    result = quiet(DP_SOLVERS[solver], mdp, **EXITS[exit_])
    assert result.history
    for name, values in result.history.items():
        assert values.shape == (result.iterations,), (name, values.shape, result.iterations)


@pytest.mark.parametrize("solver", sorted(set(mt.solvers.SOLVERS)))
def test_dp_docstrings_state_the_history_rule(solver):
    doc = " ".join(mt.solvers.SOLVERS[solver].__doc__.split())
    assert "one entry per" in doc, solver
