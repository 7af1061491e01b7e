"""Tests of mdptoolkit.testing: the assertion helpers pass on right answers and FAIL on wrong ones,
and the strategies draw valid MDPs and policies with the options asked for."""

import subprocess
import sys

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import assume, find, given
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

import mdptoolkit as mt
from mdptoolkit.testing import assert_bellman_optimal, assert_optimal_policy, assert_policy_value
from mdptoolkit.testing.strategies import TEMPTING_REWARD, mdps, policies


# ---------------------------------------------------------------------- small known MDPs
def puterman_two_state(gamma=0.95):
    """Puterman (2005) §3.1: in state 0, action 0 earns 5 and stays w.p. 0.5, action 1 earns 10
    and moves to state 1, where the only action earns -1 forever. At gamma = 0.95:
    V*(1) = -1 / (1 - 0.95) = -20 and V*(0) = (5 - 0.475 * 20) / (1 - 0.475) = -60/7 (action 0)."""
    P = np.zeros((2, 2, 2))
    P[0, 0] = [0.5, 0.5]
    P[0, 1] = [0, 1]
    P[1, :] = [0, 1]
    return mt.MDP(P, [[5.0, 10.0], [-1.0, -1.0]], gamma)


V_STAR = np.array([-60 / 7, -20.0])


def corridor(n=4, gamma=1.0, names=False):
    """States 0..n-1 in a row, n-1 terminal; action 0 steps right (reward -1), action 1 stays
    (reward -1). Optimal: always right, V*(s) = -(n - 1 - s); 'stay' is improper at gamma = 1."""
    P = np.zeros((n, 2, n))
    for s in range(n):
        P[s, 0, min(s + 1, n - 1)] = 1
        P[s, 1, s] = 1
    terminal = np.arange(n) == n - 1
    if names:
        names = dict(state_names=[f"c{s}" for s in range(n)], action_names=["right", "stay"])
    else:
        names = {}
    return mt.MDP(P, -np.ones((n, 2)), gamma, terminal=terminal, **names)


def chain_of_choices(n=16, gamma=0.5):
    """n states in a cycle 0 -> 1 -> ... -> 0. Action 0 earns 1, action 1 earns 0; both move on.
    V*(s) = 1 / (1 - gamma) for all s."""
    P = np.zeros((n, 2, n))
    P[np.arange(n), :, (np.arange(n) + 1) % n] = 1
    R = np.tile([1.0, 0.0], (n, 1))
    return mt.MDP(P, R, gamma)


# ---------------------------------------------------------------------- assert_bellman_optimal
def test_bellman_optimal_passes_on_the_exact_value():
    assert_bellman_optimal(puterman_two_state(), V_STAR)
    assert_bellman_optimal(puterman_two_state(), V_STAR + 5e-9, atol=1e-8)


def test_bellman_optimal_fails_on_a_perturbed_value():
    V = V_STAR + [1e-3, 0.0]
    with pytest.raises(AssertionError, match=r"(?s)V is not optimal to tolerance atol=1e-08.*"
                       r"Mismatched states: 1 / 2 \(50%\).*Worst state 0: V\[0\] = -8\.5704"):
        assert_bellman_optimal(puterman_two_state(), V)


def test_bellman_optimal_report_counts_mismatched_states():
    mdp = chain_of_choices(16)
    V = np.full(16, 2.0)
    V[[3, 7, 11]] += [1e-6, -3e-6, 2e-6]
    with pytest.raises(AssertionError, match=r"(?s)Mismatched states: 3 / 16 \(18\.8%\).*"
                       r"Max absolute difference among states: 3e-06.*Worst state 7"):
        assert_bellman_optimal(mdp, V, atol=1e-7)


def test_bellman_optimal_atol_bounds_the_error_not_the_residual():
    # V* + c has Bellman residual (1 - gamma) c = 1e-9 < atol, but its error c = 1e-6 > atol
    mdp = puterman_two_state(gamma=0.999)
    V_star = np.array([(5 - 0.4995 * 1000) / (1 - 0.4995), -1000.0])
    assert np.abs(mt.bellman_optimality(mdp, V_star + 1e-6) - (V_star + 1e-6)).max() < 1e-8
    assert_bellman_optimal(mdp, V_star, atol=1e-8)
    with pytest.raises(AssertionError, match=r"Mismatched states: 2 / 2"):
        assert_bellman_optimal(mdp, V_star + 1e-6, atol=1e-8)
    assert_bellman_optimal(mdp, V_star + 1e-6, atol=2e-6)


def test_bellman_optimal_episodic_gamma_one():
    mdp = corridor(5, names=True)
    assert_bellman_optimal(mdp, [-4.0, -3.0, -2.0, -1.0, 0.0])
    with pytest.raises(AssertionError, match=r"Worst state 4 \('c4'\): V\[4\] = 1, V\*\[4\] = 0"):
        assert_bellman_optimal(mdp, [-4.0, -3.0, -2.0, -1.0, 1.0])


def test_bellman_optimal_rejects_non_finite_values():
    with pytest.raises(AssertionError, match=r"V must be finite; got nan at V\[1\]"):
        assert_bellman_optimal(puterman_two_state(), [-60 / 7, np.nan])


def test_bellman_optimal_without_a_proper_policy_raises():
    P = np.zeros((2, 1, 2))
    P[:, 0, 0] = 1  # state 0 loops forever; terminal state 1 is unreachable
    mdp = mt.MDP(P, -np.ones((2, 1)), 1.0, terminal=[False, True])
    with pytest.raises(mt.ImproperPolicyError, match="no policy reaches a terminal state"):
        assert_bellman_optimal(mdp, [0.0, 0.0])


@pytest.mark.parametrize("atol", [-1.0, np.inf, np.nan, "1e-8"])
def test_helpers_reject_a_bad_atol(atol):
    with pytest.raises(ValueError, match="atol must be a finite number >= 0"):
        assert_bellman_optimal(puterman_two_state(), V_STAR, atol=atol)


def test_helpers_reject_a_wrong_shape():
    with pytest.raises(mt.MDPValidationError, match=r"V must have shape \(2,\); got \(3,\)"):
        assert_bellman_optimal(puterman_two_state(), np.zeros(3))
    with pytest.raises(TypeError, match="mdp must be an mdptoolkit.MDP"):
        assert_bellman_optimal("not an mdp", V_STAR)


# ---------------------------------------------------------------------- assert_policy_value
def test_policy_value_passes_on_the_exact_value():
    mdp = puterman_two_state()
    assert_policy_value(mdp, np.array([1, 0]), [10 - 0.95 * 20, -20.0])
    assert_policy_value(mdp, np.array([[0.0, 1.0], [1.0, 0.0]]), [-9.0, -20.0])
    assert_policy_value(corridor(4), np.array([0, 0, 0, 1]), [-3.0, -2.0, -1.0, 0.0])


def test_policy_value_fails_on_a_perturbed_value():
    with pytest.raises(AssertionError, match=r"(?s)V is not the value of the policy.*"
                       r"Mismatched states: 1 / 2 \(50%\).*Worst state 1: V\[1\] = -19\.9, "
                       r"V\^pi\[1\] = -20.*Residual max\|T\^pi V - V\|"):
        assert_policy_value(puterman_two_state(), np.array([1, 0]), [-9.0, -19.9])


def test_policy_value_fails_for_the_value_of_another_policy():
    with pytest.raises(AssertionError, match=r"Mismatched states: 1 / 2"):
        assert_policy_value(puterman_two_state(), np.array([0, 0]), [-9.0, -20.0])


def test_policy_value_of_an_improper_policy_raises():
    with pytest.raises(mt.ImproperPolicyError, match="never reaches one"):
        assert_policy_value(corridor(4), np.array([0, 1, 0, 0]), np.zeros(4))


def test_policy_helpers_fail_on_a_disallowed_action():
    mdp = mt.MDP(puterman_two_state().P, [[5.0, 10.0], [-1.0, -np.inf]], 0.95)
    with pytest.raises(AssertionError, match=r"policy must choose allowed actions; got action 1 "
                                             r"at state 1"):
        assert_policy_value(mdp, np.array([0, 1]), V_STAR)
    with pytest.raises(AssertionError, match=r"probability 0 to disallowed actions; got 0\.5 for "
                                             r"action 1 at state 1"):
        assert_optimal_policy(mdp, np.array([[1.0, 0.0], [0.5, 0.5]]))


# ---------------------------------------------------------------------- assert_optimal_policy
def test_optimal_policy_passes_on_an_optimal_policy():
    assert_optimal_policy(puterman_two_state(), np.array([0, 0]))
    assert_optimal_policy(corridor(4), np.array([0, 0, 0, 1]))  # any action at the terminal state
    assert_optimal_policy(chain_of_choices(4), np.tile([1.0, 0.0], (4, 1)))


def test_optimal_policy_fails_on_a_suboptimal_policy_and_names_the_better_action():
    with pytest.raises(AssertionError, match=r"(?s)policy is not optimal to tolerance atol=1e-08.*"
                       r"Worst state 0: V\^pi\[0\] = -9, V\*\[0\] = -8\.57.*"
                       r"At state 0 the policy takes action 1 \(Q\* = -9\); better: action 0"):
        assert_optimal_policy(puterman_two_state(), np.array([1, 0]))


def test_optimal_policy_fails_on_a_mixing_policy():
    with pytest.raises(AssertionError, match=r"(?s)Mismatched states: 16 / 16.*At state 0 the "
                       r"policy mixes actions \{0: 0\.5, 1: 0\.5\}.*better: action 0"):
        assert_optimal_policy(chain_of_choices(16), np.full((16, 2), 0.5))


def test_optimal_policy_names_the_culprit_when_the_loss_is_downstream():
    # at gamma = 0.9 "stay" is allowed to loop: staying at state 2 forever is worth -10, not -1
    mdp = corridor(4, gamma=0.9, names=True)
    policy = np.array([0, 0, 1, 0])
    with pytest.raises(AssertionError, match=r"(?s)Worst state 2 \('c2'\).*At state 2 \('c2'\) the "
                       r"policy takes action 1 \('stay'\).*better: action 0 \('right'\)"):
        assert_optimal_policy(mdp, policy)
    # at the worst state the choice itself can be right, the loss coming later
    P = np.zeros((3, 1, 3))
    P[0, 0, 1] = P[1, 0, 2] = P[2, 0, 2] = 1
    P = np.concatenate([P, P], axis=1)  # two actions, same moves
    mdp = mt.MDP(P, [[0.0, -np.inf], [0.0, 1.0], [0.0, 0.0]], 1.0, terminal=[False, False, True])
    with pytest.raises(AssertionError, match=r"(?s)Worst state 0.*At state 0 the policy's choice "
                       r"is optimal.*At state 1 the policy takes action 0 \(Q\* = 0\); "
                       r"better: action 1"):
        assert_optimal_policy(mdp, np.array([0, 0, 0]))


# ---------------------------------------------------------------------- helpers on random MDPs
@given(mdps(sparse=None, with_allowed=True), st.data())
def test_helpers_pass_on_exact_answers_and_fail_on_perturbed_ones(mdp, data):
    result = mt.policy_iteration(mdp)
    assert_bellman_optimal(mdp, result.V, atol=1e-8)
    assert_optimal_policy(mdp, result.policy, atol=1e-8)
    assert_policy_value(mdp, result.policy, result.V, atol=1e-8)
    s = data.draw(st.integers(0, mdp.n_states - 1), label="perturbed state")
    delta = data.draw(st.sampled_from([-1e-4, 1e-4, 1.0]), label="delta")
    V = result.V.copy()
    V[s] += delta
    pattern = rf"(?s)Mismatched states: 1 / {mdp.n_states} .*Worst state {s}"
    with pytest.raises(AssertionError, match=pattern):
        assert_bellman_optimal(mdp, V, atol=1e-6)
    with pytest.raises(AssertionError, match=pattern):
        assert_policy_value(mdp, result.policy, V, atol=1e-6)


# at least two actions and two states, so that most drawn MDPs have a worse action to swap in
# (with one action or every state terminal there is none, and assume() would discard them all)
@given(mdps(st.integers(2, 6), st.integers(2, 3), sparse=None, with_allowed=True,
            with_terminal=True), st.data())
def test_optimal_policy_fails_on_a_policy_with_a_worse_action(mdp, data):
    result = mt.policy_iteration(mdp)
    V_star, policy = result.V, result.policy
    Q = mt.q_values(mdp, V_star)
    worse = np.argwhere(mdp.allowed & (Q < V_star[:, None] - 1e-5))
    assume(len(worse) > 0)
    s, a = worse[data.draw(st.integers(0, len(worse) - 1), label="swap")]
    policy = policy.copy()
    policy[s] = a  # V^policy(s) <= Q*(s, a) < V*(s) - 1e-5
    with pytest.raises(AssertionError, match=r"policy is not optimal to tolerance atol=1e-06"):
        assert_optimal_policy(mdp, policy, atol=1e-6)


# ---------------------------------------------------------------------- strategies: mdps
@given(mdps())
def test_default_mdps_are_small_dense_and_discounted(mdp):
    assert isinstance(mdp, mt.MDP) and not mdp.is_sparse
    assert 1 <= mdp.n_states <= 6 and 1 <= mdp.n_actions <= 3
    assert 0 <= mdp.gamma <= 0.95
    assert mdp.allowed.all() and not mdp.terminal.any()
    assert np.abs(np.asarray(mdp.P).sum(axis=2) - 1).max() < 1e-12
    assert np.abs(mdp.R).max() <= 1.0
    np.testing.assert_allclose(mdp.mu, 1 / mdp.n_states)


@given(mdps(n_states=4, n_actions=st.integers(2, 3), sparse=True, gamma=0.5, reward_bound=3.0))
def test_mdps_sizes_gamma_sparse_and_reward_bound(mdp):
    assert mdp.n_states == 4 and mdp.n_actions in (2, 3) and mdp.gamma == 0.5
    assert mdp.is_sparse and sp.issparse(mdp.P) and mdp.P.shape == (4 * mdp.n_actions, 4)
    assert np.abs(mdp.R).max() <= 3.0


def test_mdps_sparse_none_draws_both_forms():
    find(mdps(sparse=None), lambda m: m.is_sparse)
    find(mdps(sparse=None), lambda m: not m.is_sparse)


@given(mdps(sparse=None, with_allowed=True, reward_bound=2.0))
def test_mdps_with_allowed_keep_an_action_and_make_the_others_adversarial(mdp):
    allowed = mdp.allowed
    assert allowed.any(axis=1).all()
    P = mdp.P.toarray().reshape(mdp.n_states, mdp.n_actions, -1) if mdp.is_sparse else mdp.P
    live = ~mdp.terminal
    assert (P[~allowed & live[:, None]] == 0).all()
    assert (mdp.R[~allowed] == TEMPTING_REWARD * 2.0).all()
    assert np.abs(mdp.R[allowed]).max() <= 2.0


def test_mdps_with_allowed_do_disallow_actions():
    find(mdps(with_allowed=True), lambda m: not m.allowed.all())


@pytest.mark.parametrize("well_conditioned", [True, False])
@given(data=st.data())
def test_mdps_with_terminal_make_every_policy_proper(well_conditioned, data):
    mdp = data.draw(mdps(sparse=None, with_terminal=True, with_allowed=True,
                         well_conditioned=well_conditioned))
    eps = 0.1 if well_conditioned else 1e-3
    S, A = mdp.n_states, mdp.n_actions
    P = mdp.P.toarray().reshape(S, A, S) if mdp.is_sparse else np.asarray(mdp.P)
    term = mdp.terminal
    assert term.any()
    np.testing.assert_array_equal(P[term][:, :, term].sum(axis=2), 1.0)  # absorbing
    assert (mdp.R[term][mdp.allowed[term]] == 0).all()
    to_terminal = P[:, :, term].sum(axis=2)
    assert (to_terminal[~term][mdp.allowed[~term]] >= eps * (1 - 1e-12)).all()
    # hence every policy is proper, even at gamma = 1: its value is defined and bounded
    episodic = mdp.replace(gamma=1.0)
    policy = data.draw(policies(episodic))
    V = mt.evaluate_policy(episodic, policy)
    assert np.abs(V).max() <= 1.0 / eps * (1 + 1e-9)


@given(mdps(gamma=1.0))
def test_mdps_at_gamma_one_always_have_terminal_states(mdp):
    assert mdp.gamma == 1.0 and mdp.terminal.any()


@given(mdps(sparse=None, gamma=1.0, with_allowed=True, proper="optimal"))
def test_mdps_proper_optimal_are_stochastic_shortest_path_problems(mdp):
    S, A = mdp.n_states, mdp.n_actions
    P = mdp.P.toarray().reshape(S, A, S) if mdp.is_sparse else np.asarray(mdp.P)
    live = ~mdp.terminal
    R_live = mdp.R[live][mdp.allowed[live]]
    assert (R_live <= -0.1).all() and (R_live >= -1.0 - 1e-12).all()
    to_terminal = np.where(mdp.allowed, P[:, :, mdp.terminal].sum(axis=2), 0.0)
    assert (to_terminal[live].max(axis=1, initial=0.0) >= 0.1 - 1e-12).all()
    assert_optimal_policy(mdp, mt.policy_iteration(mdp).policy)


@given(mdps(n_states=st.integers(3, 6), n_actions=2, sparse=None, branching=2, with_terminal=True,
            with_allowed=True))
def test_mdps_branching_bounds_the_successors(mdp):
    S, A = mdp.n_states, mdp.n_actions
    P = mdp.P.toarray().reshape(S, A, S) if mdp.is_sparse else np.asarray(mdp.P)
    successors = (P > 0).sum(axis=2)
    assert (successors[mdp.allowed] <= 2 + 1).all()  # + 1: the terminal state mixed in


@given(mdps(n_states=5, sparse=None, with_terminal=True))
def test_well_conditioned_mdps_have_no_tiny_probabilities(mdp):
    P = mdp.P.data if mdp.is_sparse else np.asarray(mdp.P)
    assert P[P > 0].min() >= 1 / (100 * mdp.n_states)


@given(mdps(well_conditioned=False, random_mu=True))
def test_mdps_ill_conditioned_and_random_mu(mdp):
    assert 0 <= mdp.gamma <= 0.999
    assert abs(mdp.mu.sum() - 1) < 1e-12 and (mdp.mu >= 0).all()


@given(mdps(gamma=st.floats(0.2, 0.3)))
def test_mdps_take_a_gamma_strategy(mdp):
    assert 0.2 <= mdp.gamma <= 0.3


@pytest.mark.parametrize("kwargs, message", [
    (dict(n_states=0), "n_states must be an integer >= 1"),
    (dict(n_actions=1.5), "n_actions must be an integer >= 1"),
    (dict(gamma=1.5), r"gamma must be a number in \[0, 1\]"),
    (dict(sparse="yes"), "sparse must be True, False or None"),
    (dict(branching=0), "branching must be None or an integer >= 1"),
    (dict(proper="some"), "proper must be 'all' or 'optimal'"),
    (dict(reward_bound=-1.0), "reward_bound must be a positive finite number"),
])
def test_mdps_reject_invalid_arguments(kwargs, message):
    with pytest.raises(InvalidArgument, match=message):
        mdps(**kwargs)


# ---------------------------------------------------------------------- strategies: policies
@given(data=st.data())
def test_deterministic_policies_choose_allowed_actions(data):
    mdp = data.draw(mdps(with_allowed=True, with_terminal=True))
    policy = data.draw(policies(mdp, deterministic=True))
    assert policy.shape == (mdp.n_states,) and np.issubdtype(policy.dtype, np.integer)
    assert mdp.allowed[np.arange(mdp.n_states), policy].all()


@given(data=st.data())
def test_stochastic_policies_are_distributions_over_allowed_actions(data):
    mdp = data.draw(mdps(with_allowed=True, with_terminal=True))
    policy = data.draw(policies(mdp, deterministic=False))
    assert policy.shape == (mdp.n_states, mdp.n_actions)
    assert (policy >= 0).all() and np.abs(policy.sum(axis=1) - 1).max() < 1e-12
    assert (policy[~mdp.allowed] == 0).all()


def test_policies_draw_both_kinds_by_default():
    mdp = puterman_two_state()
    find(policies(mdp), lambda p: p.ndim == 1)
    find(policies(mdp), lambda p: p.ndim == 2)
    with pytest.raises(InvalidArgument, match="deterministic must be True, False or None"):
        policies(mdp, deterministic="sometimes")
    with pytest.raises(InvalidArgument, match="mdp must be an mdptoolkit.MDP"):
        policies(np.zeros((2, 2, 2)))


# ---------------------------------------------------------------------- imports
def _run(code):
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)


def test_import_mdptoolkit_does_not_import_hypothesis():
    done = _run("import sys, mdptoolkit, mdptoolkit.testing; print('hypothesis' in sys.modules)")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"


def test_assertion_helpers_work_without_hypothesis():
    code = ("import sys; sys.modules['hypothesis'] = None\n"  # makes `import hypothesis` fail
            "import numpy as np, mdptoolkit as mt\n"
            "from mdptoolkit.testing import assert_optimal_policy\n"
            "assert_optimal_policy(mt.MDP(np.ones((1, 2, 1)), [[0.0, 1.0]], 0.5), np.array([1]))\n"
            "try:\n"
            "    from mdptoolkit.testing import mdps\n"
            "except ImportError:\n"
            "    print('strategies need hypothesis')\n")
    done = _run(code)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "strategies need hypothesis"


def test_helpers_say_to_pass_env_mdp_when_given_an_environment():
    env = mt.envs.forest()
    with pytest.raises(TypeError, match=r"got Environment: pass its \.mdp \(env\.mdp\)"):
        assert_bellman_optimal(env, np.zeros(3), atol=1e-6)
    with pytest.raises(TypeError, match=r"got LanguageMDP: pass its \.mdp"):
        assert_optimal_policy(mt.language.toy(), np.zeros(3, dtype=int), atol=1e-6)
