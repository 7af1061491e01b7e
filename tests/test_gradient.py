"""Exact policy gradient, natural policy gradient and expected actor-critic."""

import sys

import numpy as np
import pytest
import scipy.sparse as sp

import mdptoolkit as mt
from mdptoolkit import language
from mdptoolkit.gradient import _fused
from mdptoolkit.gradient._prefix_tree import tree_of
from mdptoolkit.envs import random_mdp, short_corridor


@pytest.fixture(scope="module")
def toy():
    return language.toy()


def finite_differences(f, theta, h=1e-6):
    grad = np.zeros_like(theta)
    flat = grad.reshape(-1)
    for i in range(theta.size):
        e = np.zeros(theta.size)
        e[i] = h
        e = e.reshape(theta.shape)
        flat[i] = (f(theta + e) - f(theta - e)) / (2 * h)
    return grad


def masked_random_mdp(sparse, gamma=0.9, seed=0):
    """A small random MDP with some disallowed actions and a terminal state."""
    base = random_mdp(6, 3, branching=3, sparse=sparse, seed=seed).mdp
    allowed = np.ones((6, 3), bool)
    allowed[1, 2] = allowed[4, 0] = False
    terminal = np.zeros(6, bool)
    terminal[5] = True
    return base.replace(allowed=allowed, terminal=terminal, gamma=gamma)


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
@pytest.mark.parametrize("beta", [0.0, 0.3])
def test_tabular_gradient_equals_finite_differences(sparse, beta):
    mdp = masked_random_mdp(sparse)
    param = mt.TabularSoftmax(6, 3, allowed=mdp.allowed)
    rng = np.random.default_rng(1)
    theta = rng.normal(size=(6, 3))
    J, grad = mt.exact_gradient(mdp, param, theta, beta=beta)
    J_of = lambda t: mt.expected_return(mdp, param.policy(t), beta=beta)  # noqa: E731
    assert J == pytest.approx(J_of(theta), abs=1e-12)
    np.testing.assert_allclose(grad, finite_differences(J_of, theta), atol=1e-7)
    # disallowed actions carry no gradient
    assert grad[1, 2] == 0 and grad[4, 0] == 0


@pytest.mark.parametrize("sparse_features", [False, True], ids=["dense-phi", "sparse-phi"])
def test_loglinear_gradient_equals_finite_differences(sparse_features):
    mdp = masked_random_mdp(False, gamma=0.95, seed=3)
    rng = np.random.default_rng(2)
    phi = rng.normal(size=(6, 3, 4))
    features = sp.csr_array(phi.reshape(18, 4)) if sparse_features else phi
    param = mt.LogLinear(features, allowed=mdp.allowed, n_actions=3)
    theta = rng.normal(size=4)
    reference = mt.softmax_policy(np.where(mdp.allowed, rng.normal(size=(6, 3)), -np.inf), 1.0)
    for beta in (0.0, 0.5):
        J_of = lambda t: mt.expected_return(mdp, param.policy(t), beta=beta,  # noqa: E731
                                            reference=reference)
        J, grad = mt.exact_gradient(mdp, param, theta, beta=beta, reference=reference)
        assert J == pytest.approx(J_of(theta), abs=1e-12)
        np.testing.assert_allclose(grad, finite_differences(J_of, theta), atol=1e-7)


def test_gradient_on_the_language_mdp_equals_finite_differences(toy):
    mdp = toy.mdp
    features = language.bigram_features(toy)
    param = mt.LogLinear(features, allowed=mdp.allowed)
    theta = np.random.default_rng(0).normal(scale=0.3, size=param.dim)
    for beta in (0.0, 0.2):
        ref = toy.reference_policy
        J_of = lambda t: mt.expected_return(mdp, param.policy(t), beta=beta,  # noqa: E731
                                            reference=ref)
        _, grad = mt.exact_gradient(mdp, param, theta, beta=beta, reference=ref)
        idx = np.random.default_rng(1).choice(param.dim, 12, replace=False)
        for i in idx:  # a sample of coordinates keeps the test fast
            e = np.zeros(param.dim)
            e[i] = 1e-6
            fd = (J_of(theta + e) - J_of(theta - e)) / 2e-6
            assert grad[i] == pytest.approx(fd, abs=1e-7)


def test_tabular_formula_d_pi_advantage():
    # For TabularSoftmax and beta = 0: grad[s, a] = d(s) pi(a|s) A(s, a) (Agarwal et al. 2021)
    mdp = masked_random_mdp(True)
    param = mt.TabularSoftmax(6, 3, allowed=mdp.allowed)
    theta = np.random.default_rng(5).normal(size=(6, 3))
    pi = param.policy(theta)
    d = mt.occupancy(mdp, pi)
    V = mt.evaluate_policy(mdp, pi)
    Q = np.where(mdp.allowed, mt.evaluate_q(mdp, pi), 0.0)
    expected = d[:, None] * pi * (Q - V[:, None])
    _, grad = mt.exact_gradient(mdp, param, theta)
    np.testing.assert_allclose(grad, expected, atol=1e-12)


def test_kl_regularized_policy_gradient_reaches_the_closed_form(toy):
    # With terminal rewards r(y) the KL-regularized optimum is p*(y) ∝ pi_ref(y) exp(r(y)/beta)
    beta = 0.5
    ref = toy.reference_policy
    result = mt.policy_gradient(toy.mdp, natural=True, beta=beta, reference=ref, iterations=200)
    assert result.converged
    p = toy.sequence_probabilities(result.policy)
    p_ref = toy.sequence_probabilities(ref)
    seqs = list(p_ref)
    weights = np.array([p_ref[y] * np.exp(toy.reward_of(y) / beta) for y in seqs])
    Z = weights.sum()
    np.testing.assert_allclose([p[y] for y in seqs], weights / Z, atol=1e-9)
    assert result.optimum == pytest.approx(beta * np.log(Z), abs=1e-9)
    assert result.J == pytest.approx(result.optimum, abs=1e-9)


def iterations_to(gap_history, threshold):
    below = np.flatnonzero(np.asarray(gap_history) < threshold)
    return int(below[0]) if below.size else None


def test_toy_vanilla_natural_and_actor_critic_reach_the_optimum(toy):
    mdp = toy.mdp
    vanilla = mt.policy_gradient(mdp, lr=100.0, iterations=300)
    natural = mt.policy_gradient(mdp, natural=True, iterations=300)
    ac = mt.actor_critic(mdp, natural=True, iterations=400)
    for result in (vanilla, natural, ac):
        assert result.history["gap"][-1] < 1e-3, result
        assert result.history["gap"].min() >= -1e-9  # never above the DP optimum
    # natural PG needs far fewer iterations than vanilla PG at the same default settings
    slow = mt.policy_gradient(mdp, iterations=300)
    k_nat = iterations_to(natural.history["gap"], 1e-3)
    k_van = iterations_to(slow.history["gap"], 1e-3)
    assert k_nat is not None and k_nat <= 20
    assert k_van is None or k_van >= 10 * k_nat


def test_exact_critic_reproduces_policy_gradient_step_for_step(toy):
    pg = mt.policy_gradient(toy.mdp, iterations=15, lr=5.0)
    ac = mt.actor_critic(toy.mdp, critic="exact", iterations=15, actor_lr=5.0)
    np.testing.assert_allclose(ac.history["J"], pg.history["J"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(ac.theta, pg.theta, atol=1e-10)
    assert np.all(ac.history["critic_error"] < 1e-12)


@pytest.mark.parametrize("critic", ["td", "mc"])
def test_actor_critic_critic_error_shrinks(critic):
    mdp = mt.envs.sutton_barto_4x4().mdp
    result = mt.actor_critic(mdp, natural=True, critic=critic, iterations=300)
    err = result.history["critic_error"]
    assert err[-1] < 0.1 * err[0]
    assert result.gap < 1e-6


def test_short_corridor_shared_probability_policy():
    # Sutton & Barto (2018) Example 13.1: J(p) = (2p - 4)/(p(1 - p)), maximum at p = 2 - sqrt(2)
    mdp = short_corridor().mdp
    phi = np.zeros((mdp.n_states, 2, 1))
    phi[:, 1, 0] = 1.0
    result = mt.policy_gradient(mdp, param=mt.LogLinear(phi, allowed=mdp.allowed), lr=0.1,
                                iterations=500)
    assert result.converged
    assert result.policy[0, 1] == pytest.approx(2 - np.sqrt(2), abs=1e-3)
    assert result.J == pytest.approx(-11.657, abs=1e-3)
    assert result.optimum == pytest.approx(-3.0)  # a state-dependent policy does better
    assert result.gap == pytest.approx(-3.0 + 11.657, abs=1e-3)


def test_restricted_bigram_class_stops_with_a_positive_gap(toy):
    param = mt.LogLinear(language.bigram_features(toy), allowed=toy.mdp.allowed)
    result = mt.policy_gradient(toy.mdp, param=param, natural=True, iterations=200)
    tabular = mt.policy_gradient(toy.mdp, natural=True, iterations=200)
    assert tabular.gap < 1e-6
    assert result.J <= result.optimum + 1e-9
    assert result.history["J"][-1] >= result.history["J"][0]


def test_too_large_step_on_an_episodic_problem_stops_with_a_message():
    mdp = short_corridor().mdp
    phi = np.zeros((mdp.n_states, 2, 1))
    phi[:, 1, 0] = 1.0
    result = mt.policy_gradient(mdp, param=mt.LogLinear(phi, allowed=mdp.allowed), lr=1.0,
                                iterations=100)
    assert not result.converged
    assert "improper" in result.message and "smaller step size" in result.message
    assert np.isfinite(result.J)
    assert len(result.history["J"]) == result.iterations + 1


def test_history_lengths_and_frozen_result():
    mdp = masked_random_mdp(False)
    result = mt.policy_gradient(mdp, iterations=7)
    assert result.iterations == 7
    for key in ("J", "gap", "grad_norm", "elapsed"):
        assert result.history[key].shape == (8,)
    np.testing.assert_allclose(result.history["gap"], result.optimum - result.history["J"])
    with pytest.raises(AttributeError):
        result.J = 0.0
    with pytest.raises(ValueError):
        result.theta[0, 0] = 1.0
    assert repr(result).startswith("GradientResult(method='policy_gradient'")


def test_callback_stops_early():
    mdp = masked_random_mdp(False)
    seen = []
    result = mt.policy_gradient(mdp, iterations=50,
                                callback=lambda k, state: seen.append(state.J) or k == 3)
    assert result.iterations == 3 and not result.converged
    assert "callback" in result.message


def test_bad_inputs_are_refused():
    mdp = masked_random_mdp(False)
    with pytest.raises(mt.MDPValidationError, match="param must be for 6 states and 3 actions"):
        mt.exact_gradient(mdp, mt.TabularSoftmax(5, 3), np.zeros((5, 3)))
    with pytest.raises(mt.MDPValidationError, match="theta must have shape"):
        mt.exact_gradient(mdp, None, np.zeros(3))
    with pytest.raises(mt.MDPValidationError, match="param must allow at least one action the "
                                                    "MDP allows in every state; got none at"):
        only_disallowed = ~mdp.allowed & ~mdp.terminal[:, None]
        only_disallowed[~only_disallowed.any(axis=1)] = True
        mt.exact_gradient(mdp, mt.TabularSoftmax(6, 3, allowed=only_disallowed), np.zeros((6, 3)))
    with pytest.raises(TypeError, match="param must be a parametrization"):
        mt.exact_gradient(mdp, "tabular", np.zeros((6, 3)))
    with pytest.raises(ValueError, match="lr must be finite and > 0"):
        mt.policy_gradient(mdp, lr=-1.0)
    with pytest.raises(ValueError, match="critic must be 'td', 'mc' or 'exact'"):
        mt.actor_critic(mdp, critic="lstd")
    with pytest.raises(ValueError, match=r"critic_lr must be in \(0, 1\]"):
        mt.actor_critic(mdp, critic_lr=2.0)
    with pytest.raises(TypeError, match="needs n_actions"):
        mt.LogLinear(sp.csr_array(np.ones((6, 2))))


def test_without_numba_the_prefix_tree_uses_its_numpy_passes(monkeypatch):
    monkeypatch.setitem(sys.modules, "numba", None)  # import numba now fails
    monkeypatch.setattr(_fused, "_compiled", None)  # not tried yet
    assert _fused.compiled() is None
    monkeypatch.setattr(_fused, "MIN_ENTRIES", 0)  # the compiled loops would be wanted
    lm = language.toy()
    theta = np.random.default_rng(8).normal(size=(lm.mdp.n_states, lm.mdp.n_actions))
    J, W = tree_of(lm.mdp).gradient(lm.mdp, theta)
    pi = mt.TabularSoftmax(*theta.shape).policy(theta)
    assert J == pytest.approx(mt.expected_return(lm.mdp, pi), abs=1e-12)


def test_large_language_mdps_take_the_compiled_loops_by_default(monkeypatch):
    pytest.importorskip("numba")
    ids, lengths = language.sequence_ids(6, 7)  # 55 987 prefixes x 7 actions > MIN_ENTRIES
    lm = language.LanguageMDP(list("abcdef"), 7, np.cos(np.arange(ids.shape[0])) - 0.1 * lengths)
    mdp = lm.mdp
    assert mdp.n_states * mdp.n_actions >= _fused.MIN_ENTRIES
    theta = np.random.default_rng(9).normal(size=(mdp.n_states, mdp.n_actions))
    calls = []
    loops = _fused.compiled()
    monkeypatch.setattr(_fused, "compiled", lambda: calls.append(1) or loops)
    for beta in (0.0, 0.2):
        J, grad = mt.exact_gradient(mdp, None, theta, beta=beta, reference=lm.reference_policy)
        assert calls == [1]
        calls.clear()
        with monkeypatch.context() as m:  # the NumPy passes, as without Numba
            m.setattr(_fused, "MIN_ENTRIES", np.inf)
            J2, grad2 = mt.exact_gradient(mdp, None, theta, beta=beta,
                                          reference=lm.reference_policy)
        assert not calls
        assert J == pytest.approx(J2, rel=1e-12)
        np.testing.assert_allclose(grad, grad2, rtol=1e-9, atol=1e-15)


def test_default_vanilla_step_stays_stable_for_a_large_kl_coefficient():
    # lr = 10 made the KL term's curvature (about beta/2 per unit of occupancy) overshoot at
    # beta = 5: the gap grew from 0.07 to 9.7 in five steps on the toy language MDP
    lm = mt.language.toy()
    start = mt.policy_gradient(lm.mdp, beta=5.0, reference=lm.reference_policy, iterations=0)
    result = mt.policy_gradient(lm.mdp, beta=5.0, reference=lm.reference_policy, iterations=50)
    assert np.all(np.diff(result.history["J"]) >= -1e-12)  # monotone ascent
    assert result.gap < start.gap


def test_parametrizations_refuse_a_state_without_allowed_actions_as_mdp_does():
    # one check (in _validation) for MDP and the parametrizations: the first such state and how
    # many there are
    allowed = np.ones((3, 2), bool)
    allowed[1] = allowed[2] = False
    message = (r"every state must have at least one allowed action; got none at state 1 "
               r"\(2 such states\)")
    with pytest.raises(mt.MDPValidationError, match=message):
        mt.TabularSoftmax(3, 2, allowed=allowed)
    with pytest.raises(mt.MDPValidationError, match=message):
        mt.LogLinear(np.ones((3, 2, 1)), allowed=allowed)
