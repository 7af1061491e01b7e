"""mt.rlhf, part 1: the exact objective (KL, Gibbs optimum), preferences and the Bradley–Terry
reward model.

Known answers: the KL-regularized optimum p*(y) = p_ref(y) exp(r(y)/beta) / Z (Korbak, Perez &
Buckley 2022; Rafailov et al. 2023, eq. 4), checked against soft value iteration on lm.mdp;
the chain rule of the KL (Cover & Thomas 2006, Thm 2.5.3); the Bradley–Terry maximum likelihood
r_i - r_j = log(k/m) for k wins and m losses (Bradley & Terry 1952) and its existence condition
(Zermelo 1929; Ford 1957).
"""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from numpy.testing import assert_allclose

import mdptoolkit as mt
from mdptoolkit.language import LanguageMDP, sequence_ids
from mdptoolkit.rlhf import _tree


def tiny_lm(seed, vocab=("a", "b"), max_len=2, token_reward=False, zeros=False):
    """A language MDP with random rewards and a random reference (optionally with zeros)."""
    rng = np.random.default_rng(seed)
    n = sequence_ids(len(vocab), max_len)[1].size
    S = (n - len(vocab) ** max_len) + 1
    A = len(vocab) + 1
    ref = rng.dirichlet(np.ones(A), size=S)
    if zeros:
        ref[:-1, 0] = 0.0  # the first token is never produced
        ref /= ref.sum(axis=1, keepdims=True)
    tr = rng.normal(size=(S, A)) if token_reward else None
    return LanguageMDP(list(vocab), max_len, rng.normal(size=n), reference=ref, token_reward=tr)


def random_policy(lm, seed):
    rng = np.random.default_rng(seed)
    return rng.dirichlet(np.ones(lm.mdp.n_actions), size=lm.mdp.n_states)


def total_rewards(lm):
    """Return of every sequence in lm.mdp by walking its tokens (slow, obviously correct)."""
    V, R = len(lm.vocab), lm.mdp.R
    out = []
    for y in lm.sequences:
        s, total = 0, 0.0
        for k, t in enumerate(y):
            a = lm.vocab.index(t)
            total += R[s, a]
            if k < len(y) - 1:
                s = V * s + 1 + a
        if len(y) < lm.max_len:
            total += R[lm.state_of(y), V]
        out.append(total)
    return np.array(out)


# ---------------------------------------------------------------------- the objective
@pytest.mark.parametrize("beta", [0.1, 0.5, 2.0])
@pytest.mark.parametrize("seed", [0, 1])
def test_optimal_policy_is_the_tilted_reference(beta, seed):
    # p*(y) = p_ref(y) exp(r(y)/beta) / Z (Rafailov et al. 2023, eq. 4)
    lm = tiny_lm(seed, vocab=("a", "b", "c"), max_len=3)
    p_ref = lm.sequence_probability_array(lm.reference_policy)
    tilted = p_ref * np.exp(lm.rewards / beta)
    policy = mt.rlhf.optimal_policy(lm, beta)
    assert_allclose(lm.sequence_probability_array(policy), tilted / tilted.sum(), atol=1e-13)
    assert_allclose(mt.rlhf.optimum(lm, beta), beta * np.log(tilted.sum()), atol=1e-12)
    J, reward, kl = mt.rlhf.measure(lm, policy, beta)
    assert_allclose(J, mt.rlhf.optimum(lm, beta), atol=1e-12)


@pytest.mark.parametrize("token_reward", [False, True])
def test_optimal_policy_equals_soft_value_iteration(token_reward):
    lm = tiny_lm(3, max_len=3, token_reward=token_reward)
    beta = 0.7
    soft = mt.soft_value_iteration(lm.mdp, beta, reference=lm.reference_policy, tol=1e-13)
    policy = mt.rlhf.optimal_policy(lm, beta)
    assert_allclose(policy[:-1], soft.policy[:-1], atol=1e-12)
    assert_allclose(mt.rlhf.optimum(lm, beta), soft.V[0], atol=1e-11)
    # with token rewards r(y) is the total reward along y, i.e. the return in lm.mdp
    returns = total_rewards(lm)
    if not token_reward:
        assert_allclose(returns, lm.rewards, atol=1e-14)
    J, reward, _ = mt.rlhf.measure(lm, soft.policy, beta)
    assert_allclose(reward, lm.sequence_probability_array(soft.policy) @ returns, atol=1e-12)


def test_optimal_policy_with_a_given_reward_and_zeros_in_the_reference():
    lm = tiny_lm(4, max_len=3, zeros=True)
    reward = np.arange(len(lm.sequences), dtype=float) / 10
    policy = mt.rlhf.optimal_policy(lm, 0.5, reward=reward)
    p_ref = lm.sequence_probability_array(lm.reference_policy)
    tilted = p_ref * np.exp(reward / 0.5)
    assert_allclose(lm.sequence_probability_array(policy), tilted / tilted.sum(), atol=1e-13)
    assert np.all(policy[:-1, 0] == 0)


def test_optimum_at_beta_zero_is_the_best_reward():
    lm = mt.language.toy()
    assert mt.rlhf.optimum(lm, 0.0) == pytest.approx(lm.reward_of("the cat sat"), abs=1e-12)
    assert mt.rlhf.optimum(lm, 0.0) == pytest.approx(mt.policy_iteration(lm.mdp).V[0], abs=1e-12)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_kl_is_the_expected_sum_of_per_token_kls(seed):
    lm = tiny_lm(seed, vocab=("a", "b", "c"), max_len=3)
    pi = random_policy(lm, seed + 10)
    ref = lm.reference_policy
    p = lm.sequence_probability_array(pi)
    p_ref = lm.sequence_probability_array(ref)
    sequence_kl = float(p @ np.log(p / p_ref))
    # the chain rule: sum over prefixes of Pr(reach s) KL(pi(.|s) || ref(.|s))
    per_token = (pi * np.log(pi / ref)).sum(axis=1)
    reach = np.array([sum(p[j] for j, y in enumerate(lm.sequences) if y[:len(x)] == x)
                      for x in lm.prefixes])
    assert_allclose(mt.rlhf.kl(lm, pi), sequence_kl, rtol=1e-12)
    assert_allclose(mt.rlhf.kl(lm, pi), reach @ per_token[:-1], rtol=1e-12)
    assert mt.rlhf.kl(lm, ref) == 0.0


def test_kl_is_infinite_where_the_reference_has_no_mass():
    lm = tiny_lm(0, zeros=True)
    pi = random_policy(lm, 1)
    assert mt.rlhf.kl(lm, pi) == float("inf")
    J, reward, kl = mt.rlhf.measure(lm, pi, 0.5)
    assert J == -np.inf and np.isfinite(reward) and kl == np.inf
    assert mt.rlhf.measure(lm, pi, 0.0)[0] == reward  # beta = 0: no 0 * inf


@given(seed=st.integers(0, 10_000), beta=st.floats(0.05, 5.0))
def test_no_policy_beats_the_optimum(seed, beta):
    lm = tiny_lm(seed % 7)
    J, _, _ = mt.rlhf.measure(lm, random_policy(lm, seed), beta)
    assert J <= mt.rlhf.optimum(lm, beta) + 1e-12


@given(seed=st.integers(0, 10_000))
def test_path_gradient_equals_brute_force(seed):
    # sum_y w_y grad log p_theta(y) by finite differences of sum_y w_y log p_theta(y)
    lm = tiny_lm(seed % 5, max_len=3)
    rng = np.random.default_rng(seed)
    theta = rng.normal(size=(lm.mdp.n_states, lm.mdp.n_actions))
    w = rng.normal(size=len(lm.sequences))

    def objective(th):
        z = th - th.max(axis=1, keepdims=True)
        log_pi = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        return w @ _tree.sequence_log_probs(lm, log_pi)

    pi = np.exp(theta - theta.max(axis=1, keepdims=True))
    pi /= pi.sum(axis=1, keepdims=True)
    grad = _tree.path_gradient(lm, pi, w)
    eps = 1e-6
    numeric = np.zeros_like(theta)
    for s, a in np.ndindex(*theta.shape):
        e = np.zeros_like(theta)
        e[s, a] = eps
        numeric[s, a] = (objective(theta + e) - objective(theta - e)) / (2 * eps)
    assert_allclose(grad, numeric, atol=1e-7)


def test_objective_errors():
    lm = tiny_lm(0)
    with pytest.raises(mt.MDPValidationError, match=r"beta must be finite and > 0; got 0"):
        mt.rlhf.optimal_policy(lm, 0.0)
    with pytest.raises(mt.MDPValidationError, match=r"beta must be finite and >= 0; got -1"):
        mt.rlhf.measure(lm, lm.reference_policy, -1.0)
    with pytest.raises(mt.MDPValidationError, match=r"reward must have shape \(7,\)"):
        mt.rlhf.optimal_policy(lm, 1.0, reward=np.zeros(3))
    with pytest.raises(mt.MDPValidationError, match=r"reward must not contain NaN"):
        mt.rlhf.optimum(lm, 1.0, reward=np.full(7, np.nan))
    with pytest.raises(TypeError, match=r"lm must be a LanguageMDP"):
        mt.rlhf.kl(lm.mdp, lm.reference_policy)


# ---------------------------------------------------------------------- preferences
def test_preferences_are_frozen_and_validated():
    prefs = mt.rlhf.Preferences([3, 3, 1], np.array([1, 2, 3], dtype=np.int32))
    assert len(prefs) == 3 and prefs.chosen.dtype == np.int64
    assert not prefs.chosen.flags.writeable and not prefs.rejected.flags.writeable
    with pytest.raises(AttributeError):
        prefs.chosen = np.zeros(3, dtype=int)
    big = mt.rlhf.Preferences(np.arange(10_000), np.arange(10_000)[::-1])
    assert len(repr(big)) < 300 and "n=10000" in repr(big)
    with pytest.raises(mt.MDPValidationError, match=r"chosen and rejected must have the same "
                                                    r"length; got 2 and 3"):
        mt.rlhf.Preferences([1, 2], [1, 2, 3])
    with pytest.raises(mt.MDPValidationError, match=r"rejected must hold integer sequence "
                                                    r"indices; got dtype float64"):
        mt.rlhf.Preferences([1, 2], [1.0, 2.0])
    with pytest.raises(mt.MDPValidationError, match=r"chosen must be >= 0; got -4 at chosen\[1\]"):
        mt.rlhf.Preferences([1, -4], [1, 2])
    with pytest.raises(mt.MDPValidationError,
                       match=r"weights must be >= 0; got -1 at weights\[0\]"):
        mt.rlhf.Preferences([1, 2], [2, 1], weights=[-1.0, 1.0])


def test_sample_preferences_is_reproducible_and_follows_bradley_terry():
    lm = tiny_lm(5, max_len=1)  # 3 sequences
    a = mt.rlhf.sample_preferences(lm, 20_000, seed=1)
    b = mt.rlhf.sample_preferences(lm, 20_000, seed=1)
    assert np.array_equal(a.chosen, b.chosen) and np.array_equal(a.rejected, b.rejected)
    assert not np.array_equal(a.chosen, mt.rlhf.sample_preferences(lm, 20_000, seed=2).chosen)
    r, p = lm.rewards, lm.sequence_probability_array(lm.reference_policy)
    # pairs {0, 1}: Pr(0 chosen | the pair is {0, 1}) = sigma(r0 - r1)
    pair = ((a.chosen == 0) & (a.rejected == 1)) | ((a.chosen == 1) & (a.rejected == 0))
    won = np.mean(a.chosen[pair] == 0)
    expected = 1 / (1 + np.exp(-(r[0] - r[1])))
    assert abs(won - expected) < 4 * np.sqrt(expected * (1 - expected) / pair.sum())
    frequency = np.mean(pair)  # both drawn from p_ref independently
    assert abs(frequency - 2 * p[0] * p[1]) < 4 * np.sqrt(2 * p[0] * p[1] / 20_000)


def test_sample_preferences_errors():
    lm = tiny_lm(0)
    with pytest.raises(mt.MDPValidationError, match=r"n must be >= 0; got -1"):
        mt.rlhf.sample_preferences(lm, -1)
    with pytest.raises(TypeError, match=r"n must be an integer; got float"):
        mt.rlhf.sample_preferences(lm, 2.5)
    with pytest.raises(mt.MDPValidationError, match=r"policy must have shape"):
        mt.rlhf.sample_preferences(lm, 3, policy=np.ones((2, 2)))


# ---------------------------------------------------------------------- the reward model
@pytest.mark.parametrize("k, m", [(3, 1), (1, 4), (7, 7), (10, 3)])
def test_bradley_terry_known_answer(k, m):
    # i beats j k times and loses m times: r_i - r_j = log(k/m) (Bradley & Terry 1952)
    lm = tiny_lm(0)
    prefs = mt.rlhf.Preferences([2] * k + [5] * m, [5] * k + [2] * m)
    fit = mt.rlhf.fit_reward_model(lm, prefs)
    assert fit.converged, fit.message
    assert_allclose(fit.rewards[2] - fit.rewards[5], np.log(k / m), atol=1e-9)
    assert_allclose(fit.rewards[2] + fit.rewards[5], 0.0, atol=1e-12)  # the group has mean 0
    others = np.delete(np.arange(7), [2, 5])
    assert np.all(fit.rewards[others] == 0.0)  # never compared
    assert len(fit.history["loss"]) == fit.iterations + 1
    assert fit.loss == pytest.approx((k * np.log1p(m / k) + m * np.log1p(k / m)) / (k + m))


def test_bradley_terry_groups_are_centred_separately():
    lm = tiny_lm(0, vocab=("a", "b", "c"), max_len=2)  # 13 sequences
    prefs = mt.rlhf.Preferences([1, 2, 2, 3, 1, 7, 8, 8], [2, 1, 3, 2, 3, 8, 7, 7])
    fit = mt.rlhf.fit_reward_model(lm, prefs)
    assert fit.converged, fit.message
    assert_allclose(fit.rewards[[1, 2, 3]].sum(), 0.0, atol=1e-12)
    assert_allclose(fit.rewards[7] - fit.rewards[8], np.log(1 / 2), atol=1e-9)
    assert_allclose(fit.rewards[[7, 8]].sum(), 0.0, atol=1e-12)
    assert fit.groups[1] == fit.groups[3] != fit.groups[7] and fit.groups[0] == -1
    # a direct check of optimality: the gradient of the log-likelihood vanishes
    r = fit.rewards
    d = r[prefs.chosen] - r[prefs.rejected]
    s = 1 / (1 + np.exp(d))
    grad = np.bincount(prefs.chosen, s, minlength=13) - np.bincount(prefs.rejected, s, minlength=13)
    assert_allclose(grad, 0.0, atol=1e-9)


def test_bradley_terry_separable_data_is_reported_not_blown_up():
    # 3 always beats 1 and 2, which split 3:1: no finite maximum (Zermelo 1929; Ford 1957)
    lm = tiny_lm(0, vocab=("a", "b", "c"), max_len=2)
    prefs = mt.rlhf.Preferences([1, 1, 1, 2, 3, 3], [2, 2, 2, 1, 1, 2])
    fit = mt.rlhf.fit_reward_model(lm, prefs)
    assert not fit.converged
    assert "separable" in fit.message and "no finite maximum" in fit.message
    assert "sequence 3 always beats" in fit.message
    assert np.all(np.isfinite(fit.rewards)) and np.abs(fit.rewards).max() < 10
    assert_allclose(fit.rewards[1] - fit.rewards[2], np.log(3), atol=1e-9)  # the finite part
    assert fit.rewards[3] == 0.0


def test_bradley_terry_one_sided_pair():
    lm = tiny_lm(0)
    fit = mt.rlhf.fit_reward_model(lm, mt.rlhf.Preferences([1, 1], [2, 2]))
    assert not fit.converged and np.all(fit.rewards == 0)
    with_l2 = mt.rlhf.fit_reward_model(lm, mt.rlhf.Preferences([1, 1], [2, 2]), l2=1.0)
    assert with_l2.converged and with_l2.rewards[1] > 0 > with_l2.rewards[2]


@pytest.mark.parametrize("l2", [0.1, 1.0])
def test_bradley_terry_with_l2_is_the_unique_penalized_maximum(l2):
    lm = mt.language.toy(max_len=3)
    prefs = mt.rlhf.sample_preferences(lm, 2000, seed=0)
    fit = mt.rlhf.fit_reward_model(lm, prefs, l2=l2)
    assert fit.converged, fit.message
    r = fit.rewards
    d = r[prefs.chosen] - r[prefs.rejected]
    s = 1 / (1 + np.exp(d))
    n = len(r)
    grad = (np.bincount(prefs.chosen, s, minlength=n) - np.bincount(prefs.rejected, s, minlength=n)
            - l2 * r)
    assert_allclose(grad, 0.0, atol=1e-6)
    compared = np.zeros(n, bool)
    compared[prefs.chosen] = compared[prefs.rejected] = True
    assert np.all(r[~compared] == 0.0)
    # the fit tracks the gold reward on the often-compared sequences
    counts = np.bincount(np.concatenate([prefs.chosen, prefs.rejected]), minlength=n)
    often = counts >= 100
    assert np.corrcoef(r[often], lm.rewards[often])[0, 1] > 0.9


def test_bradley_terry_weights_equal_repetitions():
    lm = tiny_lm(0)
    weighted = mt.rlhf.fit_reward_model(lm, mt.rlhf.Preferences([1, 2], [2, 1], weights=[3.0, 1.0]))
    repeated = mt.rlhf.fit_reward_model(lm, mt.rlhf.Preferences([1, 1, 1, 2], [2, 2, 2, 1]))
    assert_allclose(weighted.rewards, repeated.rewards, atol=1e-12)


def test_fit_reward_model_is_deterministic_on_the_toy():
    lm = mt.language.toy()
    prefs = mt.rlhf.sample_preferences(lm, 20_000, seed=3)
    a = mt.rlhf.fit_reward_model(lm, prefs, l2=0.5)
    b = mt.rlhf.fit_reward_model(lm, prefs, l2=0.5)
    assert np.array_equal(a.rewards, b.rewards) and a.converged
    assert "RewardModelResult(converged=True" in repr(a) and len(repr(a)) < 600


def test_fit_reward_model_errors():
    lm = tiny_lm(0)
    prefs = mt.rlhf.Preferences([1, 9], [2, 1])
    with pytest.raises(mt.MDPValidationError, match=r"prefs.chosen indices must be < "
                                                    r"n_sequences = 7; got 9 at chosen\[1\]"):
        mt.rlhf.fit_reward_model(lm, prefs)
    good = mt.rlhf.Preferences([1], [2])
    with pytest.raises(mt.MDPValidationError, match=r"l2 must be finite and >= 0; got -1"):
        mt.rlhf.fit_reward_model(lm, good, l2=-1.0)
    with pytest.raises(mt.MDPValidationError, match=r"max_iter must be >= 0; got -2"):
        mt.rlhf.fit_reward_model(lm, good, max_iter=-2)
    with pytest.raises(TypeError, match=r"prefs must be a mt.rlhf.Preferences; got tuple"):
        mt.rlhf.fit_reward_model(lm, ([1], [2]))
