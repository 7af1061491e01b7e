"""mt.rlhf, part 1: DPO and its relatives, best-of-n and reward over-optimization.

Known answers: the DPO minimizer of the Bradley–Terry population loss is the Gibbs policy
p*(y) ∝ p_ref(y) exp(r(y)/beta) (Rafailov et al. 2023, §4–5); on a pair won k times and lost m
times the DPO margin is log(k/m)/beta, with label smoothing eps on one-sided data
log((1 - eps)/eps)/beta, and IPO's is (k - m)/(k + m)/(2 beta), 1/(2 beta) one-sided (Azar et
al. 2023, §5.2); best-of-n: p_n(y) = p(y)/p(G)·[F(r)^n − F(r⁻)^n] and KL ≤ log n − (n − 1)/n
(Beirami et al. 2024, Thm 1); over-optimization after Gao, Schulman & Hilton (2022).
"""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from numpy.testing import assert_allclose
from test_rlhf_preferences import random_policy, tiny_lm

import mdptoolkit as mt
from mdptoolkit.language import LanguageMDP


def three_sequences():
    """Sequences (), (a,), (b,) (indices 0, 1, 2) under a uniform reference: log p(a) - log p(b)
    = theta[0, 0] - theta[0, 1] (actions a, b, eos)."""
    return LanguageMDP(["a", "b"], 1, [0.0, 0.0, 0.0])


def margin(lm, policy, i, j):
    """h = log p(i)/p_ref(i) - log p(j)/p_ref(j) of a result's policy."""
    p = lm.sequence_probability_array(policy)
    p_ref = lm.sequence_probability_array(lm.reference_policy)
    return np.log(p[i] / p_ref[i]) - np.log(p[j] / p_ref[j])


def pair(k, m, i=1, j=2):
    return mt.rlhf.Preferences([i] * k + [j] * m, [j] * k + [i] * m)


# ---------------------------------------------------------------------- known margins
@pytest.mark.parametrize("k, m", [(3, 1), (1, 2), (5, 5)])
@pytest.mark.parametrize("beta", [0.5, 2.0])
def test_dpo_margin_is_log_odds_over_beta(k, m, beta):
    # DPO's implicit reward is the Bradley-Terry MLE: beta h = log(k/m) (Rafailov et al. 2023)
    lm = tiny_lm(0)
    result = mt.rlhf.preference_optimization(lm, pair(k, m, 2, 5), beta=beta, iterations=20_000,
                                             tol=1e-11)
    assert result.converged, result.message
    assert result.method == "dpo"
    assert_allclose(margin(lm, result.policy, 2, 5), np.log(k / m) / beta, atol=1e-7)


@pytest.mark.parametrize("eps", [0.1, 0.25])
def test_dpo_label_smoothing_on_one_sided_data(eps):
    lm = three_sequences()
    beta = 0.5
    result = mt.rlhf.preference_optimization(lm, pair(4, 0), beta=beta, label_smoothing=eps,
                                             iterations=20_000, tol=1e-11)
    assert result.converged, result.message
    assert_allclose(margin(lm, result.policy, 1, 2), np.log((1 - eps) / eps) / beta, atol=1e-7)


@pytest.mark.parametrize("beta", [0.1, 0.5, 2.0])
def test_ipo_on_one_sided_data_stops_at_one_over_two_beta(beta):
    # Azar et al. (2023), §5.2: IPO regresses the margin to 1/(2 beta), DPO lets it run off
    lm = three_sequences()
    result = mt.rlhf.preference_optimization(lm, pair(3, 0), loss_type="ipo", beta=beta,
                                             iterations=5000, tol=1e-12)
    assert result.converged, result.message
    assert result.method == "ipo"
    assert_allclose(margin(lm, result.policy, 1, 2), 1 / (2 * beta), atol=1e-9)
    mixed = mt.rlhf.preference_optimization(lm, pair(3, 1), loss_type="ipo", beta=beta,
                                            iterations=5000, tol=1e-12)
    assert_allclose(margin(lm, mixed.policy, 1, 2), (3 - 1) / (3 + 1) / (2 * beta), atol=1e-9)


def test_plain_dpo_on_one_sided_data_never_converges():
    lm = three_sequences()
    result = mt.rlhf.preference_optimization(lm, pair(2, 0), beta=0.5, iterations=2000, tol=1e-3)
    assert not result.converged
    assert "no finite minimizer" in result.message and "separable" in result.message
    h = result.history["margin"]
    assert np.all(np.diff(h) > 0) and h[-1] > 10  # the margin keeps growing
    assert result.history["grad_norm"][-1] <= 1e-3  # although the gradient fades


def test_robust_dpo_margin_and_divergence():
    # robust loss = Bradley-Terry with effective counts k(1-eps) - m eps, m(1-eps) - k eps
    lm = three_sequences()
    eps, beta, k, m = 0.1, 1.0, 3, 1
    result = mt.rlhf.preference_optimization(lm, pair(k, m), loss_type="robust", beta=beta,
                                             label_smoothing=eps, iterations=20_000, tol=1e-11)
    assert result.converged, result.message
    expected = np.log((k * (1 - eps) - m * eps) / (m * (1 - eps) - k * eps)) / beta
    assert_allclose(margin(lm, result.policy, 1, 2), expected, atol=1e-7)
    one_sided = mt.rlhf.preference_optimization(lm, pair(3, 0), loss_type="robust", beta=beta,
                                                label_smoothing=eps, iterations=200)
    assert not one_sided.converged and "unbounded below" in one_sided.message


def test_hinge_stops_once_every_margin_reaches_one_over_beta():
    lm = three_sequences()
    result = mt.rlhf.preference_optimization(lm, pair(2, 0), loss_type="hinge", beta=0.5)
    assert result.converged and result.history["loss"][-1] == 0.0
    assert margin(lm, result.policy, 1, 2) >= 1 / 0.5 - 1e-12


def test_dpo_population_optimum_is_the_gibbs_policy():
    # Rafailov et al. (2023), §4-5: with exact Bradley-Terry pair probabilities over all pairs,
    # the DPO minimizer has p_theta = p*_beta, the optimum of the RLHF objective at that beta
    lm = tiny_lm(2)
    N = len(lm.sequences)
    p = lm.sequence_probability_array(lm.reference_policy)
    r = lm.rewards
    i, j = (a.ravel() for a in np.meshgrid(np.arange(N), np.arange(N), indexing="ij"))
    i, j = i[i != j], j[i != j]
    weights = p[i] * p[j] / (1 + np.exp(-(r[i] - r[j])))
    prefs = mt.rlhf.Preferences(i, j, weights=weights)
    beta = 0.5
    result = mt.rlhf.preference_optimization(lm, prefs, beta=beta, iterations=3000, tol=1e-10)
    assert result.converged, result.message
    gibbs = lm.sequence_probability_array(mt.rlhf.optimal_policy(lm, beta))
    assert_allclose(lm.sequence_probability_array(result.policy), gibbs, atol=1e-8)
    assert abs(result.gap) < 1e-12 and abs(result.history["gap"][-1]) < 1e-12


# ---------------------------------------------------------------------- properties
@pytest.mark.parametrize("loss_type, eps", [("sigmoid", 0.0), ("sigmoid", 0.2), ("ipo", 0.0),
                                            ("hinge", 0.0), ("robust", 0.2)])
@given(beta=st.floats(0.05, 5.0), h0=st.floats(-20, 20), step=st.floats(0.01, 3.0))
def test_each_loss_is_convex_in_the_margin(loss_type, eps, beta, h0, step):
    # on three_sequences with pair ((a,) over (b,)), h = theta[0, 0] - theta[0, 1] exactly
    lm = three_sequences()
    prefs = pair(1, 0)

    def loss(h):
        theta = np.zeros((2, 3))
        theta[0, 0] = h
        result = mt.rlhf.preference_optimization(lm, prefs, loss_type=loss_type, beta=beta,
                                                 label_smoothing=eps, iterations=0, theta0=theta)
        assert_allclose(result.history["margin"][0], h, atol=1e-12)
        return result.history["loss"][0]

    values = [loss(h0 - step), loss(h0), loss(h0 + step)]
    assert values[0] - 2 * values[1] + values[2] >= -1e-9 * (1 + max(map(abs, values)))


@pytest.mark.parametrize("loss_type, eps", [("sigmoid", 0.0), ("sigmoid", 0.1), ("ipo", 0.0),
                                            ("robust", 0.1)])
@given(seed=st.integers(0, 10_000))
def test_dataset_gradient_equals_finite_differences(loss_type, eps, seed):
    lm = tiny_lm(seed % 5)
    rng = np.random.default_rng(seed)
    N = len(lm.sequences)
    prefs = mt.rlhf.Preferences(rng.integers(0, N, 12), rng.integers(0, N, 12))
    theta = np.log(lm.reference_policy) + rng.normal(size=lm.reference_policy.shape)
    lr = 1e-3
    kwargs = dict(loss_type=loss_type, beta=0.7, label_smoothing=eps)
    one_step = mt.rlhf.preference_optimization(lm, prefs, lr=lr, iterations=1, theta0=theta,
                                               tol=0.0, **kwargs)
    grad = (theta - one_step.theta) / lr  # theta_1 = theta_0 - lr * grad L

    def loss(th):
        return mt.rlhf.preference_optimization(lm, prefs, iterations=0, theta0=th,
                                               **kwargs).history["loss"][0]

    h = 1e-6
    numeric = np.zeros_like(theta)
    for s, a in np.ndindex(*theta.shape):
        e = np.zeros_like(theta)
        e[s, a] = h
        numeric[s, a] = (loss(theta + e) - loss(theta - e)) / (2 * h)
    numeric[-1] = 0.0  # the terminal row does not enter any sequence
    assert_allclose(grad, numeric, atol=1e-7)
    assert_allclose(one_step.history["grad_norm"][0], np.linalg.norm(grad), rtol=1e-9)


def test_history_and_result():
    lm = mt.language.toy(max_len=3)
    prefs = mt.rlhf.sample_preferences(lm, 500, seed=0)
    result = mt.rlhf.preference_optimization(lm, prefs, beta=0.3, iterations=25)
    assert set(result.history) == {"loss", "margin", "J", "gap", "reward", "kl", "grad_norm",
                                   "elapsed"}
    assert all(len(v) == 26 for v in result.history.values())
    assert result.history["kl"][0] == 0.0 and abs(result.history["margin"][0]) < 1e-14
    assert_allclose(result.history["loss"][0], np.log(2))
    assert_allclose(result.history["gap"], result.optimum - result.history["J"])
    assert_allclose(result.optimum, mt.rlhf.optimum(lm, 0.3))
    J, reward, kl = mt.rlhf.measure(lm, result.policy, 0.3)
    assert_allclose([J, reward, kl], [result.history[k][-1] for k in ("J", "reward", "kl")])
    assert np.all(np.diff(result.history["loss"]) < 0)
    again = mt.rlhf.preference_optimization(lm, prefs, beta=0.3, iterations=25)
    assert np.array_equal(result.theta, again.theta)  # deterministic
    assert not result.theta.flags.writeable
    stopped = mt.rlhf.preference_optimization(lm, prefs, beta=0.3, iterations=25,
                                              callback=lambda k, state: k == 3)
    assert stopped.iterations == 3 and len(stopped.history["J"]) == 4
    assert "callback" in stopped.message


def test_preference_optimization_errors():
    lm = three_sequences()
    prefs = pair(1, 0)
    run = mt.rlhf.preference_optimization
    with pytest.raises(mt.MDPValidationError, match=r"loss_type must be one of 'sigmoid', 'ipo', "
                                                    r"'hinge', 'robust'; got 'kto'"):
        run(lm, prefs, loss_type="kto")
    with pytest.raises(mt.MDPValidationError, match=r"beta must be finite and > 0; got 0"):
        run(lm, prefs, beta=0.0)
    with pytest.raises(mt.MDPValidationError,
                       match=r"label_smoothing must be in \[0, 0.5\); got 0.5"):
        run(lm, prefs, label_smoothing=0.5)
    with pytest.raises(mt.MDPValidationError,
                       match=r"label_smoothing must be in \[0, 0.5\); got -0.1"):
        run(lm, prefs, label_smoothing=-0.1)
    with pytest.raises(mt.MDPValidationError, match=r"label_smoothing must be in \[0, 0.5\) "
                                                    r"\(the robust loss divides"):
        run(lm, prefs, loss_type="robust", label_smoothing=0.5)
    with pytest.raises(mt.MDPValidationError,
                       match=r"label_smoothing must be 0 for loss_type='ipo'"):
        run(lm, prefs, loss_type="ipo", label_smoothing=0.1)
    with pytest.raises(mt.MDPValidationError, match=r"lr must be finite and > 0; got -1"):
        run(lm, prefs, lr=-1.0)
    with pytest.raises(mt.MDPValidationError, match=r"iterations must be >= 0; got -1"):
        run(lm, prefs, iterations=-1)
    with pytest.raises(mt.MDPValidationError, match=r"prefs.rejected indices must be < "
                                                    r"n_sequences = 3; got 3 at rejected\[1\]"):
        run(lm, mt.rlhf.Preferences([1, 1], [2, 3]))
    features = np.zeros((2, 3, 1))
    # a wrong kind of object is a TypeError (STYLE.md, Errors), not a bad value
    with pytest.raises(TypeError, match=r"param must be None or a TabularSoftmax \(the exact "
                                        r"path gradient is tabular\); got LogLinear"):
        run(lm, prefs, param=mt.LogLinear(features))
    with pytest.raises(mt.MDPValidationError, match=r"prefs must have a positive total weight"):
        run(lm, mt.rlhf.Preferences([1], [2], weights=[0.0]))
    zeros = LanguageMDP(["a", "b"], 1, [0.0, 0.0, 0.0], reference=np.array([[0.5, 0.0, 0.5]] * 2))
    with pytest.raises(mt.MDPValidationError, match=r"reference probability > 0.*sequence 2 at "
                                                    r"rejected\[0\]"):
        run(zeros, pair(1, 0))


# ---------------------------------------------------------------------- best-of-n
def test_best_of_n_with_one_draw_is_the_base():
    lm = tiny_lm(0, max_len=3)
    pi = random_policy(lm, 1)
    bon = mt.rlhf.best_of_n(lm, 1, policy=pi)
    assert_allclose(bon.probabilities, lm.sequence_probability_array(pi), atol=1e-15)
    assert abs(bon.kl) < 1e-15 and bon.kl_bound == 0.0
    assert_allclose(bon.win_rate, 0.5)
    assert_allclose(lm.sequence_probability_array(bon.policy), bon.probabilities, atol=1e-15)


def test_best_of_n_ties_are_shared():
    # rewards 0, 1, 1 under a uniform reference; best of 2: Pr(max = 1) = 1 - (1/3)^2 = 8/9,
    # split evenly between the tied sequences
    lm = LanguageMDP(["a", "b"], 1, [0.0, 1.0, 1.0])
    bon = mt.rlhf.best_of_n(lm, 2)
    assert_allclose(bon.probabilities, [1 / 9, 4 / 9, 4 / 9], atol=1e-15)
    assert_allclose(bon.expected_reward, 8 / 9)
    assert_allclose(bon.kl, 1 / 9 * np.log(1 / 3) + 8 / 9 * np.log(4 / 3))
    # Pr(beat an independent draw) + 1/2 Pr(tie): (1/9)(1/6) + (8/9)(1/3 + 1/3)
    assert_allclose(bon.win_rate, 1 / 54 + 16 / 27)


@given(seed=st.integers(0, 10_000), n=st.integers(1, 300), decimals=st.integers(0, 3))
def test_best_of_n_kl_is_below_the_bound(seed, n, decimals):
    # Beirami et al. (2024), Thm 1; rounding the rewards makes ties
    lm = tiny_lm(seed % 5, max_len=3)
    reward = np.round(np.random.default_rng(seed).normal(size=len(lm.sequences)), decimals)
    bon = mt.rlhf.best_of_n(lm, n, reward=reward)
    assert bon.kl <= bon.kl_bound + 1e-12
    assert_allclose(bon.probabilities.sum(), 1.0, atol=1e-12)
    assert np.all(bon.probabilities >= 0) and 0.5 - 1e-12 <= bon.win_rate <= 1.0


def test_best_of_n_agrees_with_monte_carlo():
    lm = tiny_lm(3, max_len=2)  # 7 sequences
    reward = np.round(lm.rewards, 0)  # with ties
    n, runs = 4, 100_000
    bon = mt.rlhf.best_of_n(lm, n, reward=reward)
    rng = np.random.default_rng(0)
    p = lm.sequence_probability_array(lm.reference_policy)
    draws = rng.choice(len(p), size=(runs, n), p=p)
    values = reward[draws]
    best = values == values.max(axis=1, keepdims=True)
    pick = np.argmax(best * rng.random((runs, n)), axis=1)  # uniform among the tied draws
    chosen = draws[np.arange(runs), pick]
    freq = np.bincount(chosen, minlength=len(p)) / runs
    se = np.sqrt(bon.probabilities * (1 - bon.probabilities) / runs)
    assert np.all(np.abs(freq - bon.probabilities) <= 4 * se + 1e-12)
    other = reward[rng.choice(len(p), size=runs, p=p)]
    wins = np.mean((reward[chosen] > other) + 0.5 * (reward[chosen] == other))
    assert abs(wins - bon.win_rate) < 4 * 0.5 / np.sqrt(runs)


def test_best_of_n_errors():
    lm = tiny_lm(0)
    with pytest.raises(mt.MDPValidationError, match=r"n must be >= 1; got 0"):
        mt.rlhf.best_of_n(lm, 0)
    with pytest.raises(TypeError, match=r"n must be an integer"):
        mt.rlhf.best_of_n(lm, 2.0)


# ---------------------------------------------------------------------- over-optimization
def test_overoptimization_gold_rises_then_falls():
    # Gao, Schulman & Hilton (2022): optimizing a fitted proxy ever harder first helps, then
    # hurts the gold reward, while the proxy keeps rising
    lm = mt.language.toy()
    res = mt.rlhf.overoptimization(lm, seed=0)
    for gold, proxy in ((res.rl_gold, res.rl_proxy), (res.bon_gold, res.bon_proxy)):
        assert np.all(np.diff(proxy) > -1e-12)
        peak = int(np.argmax(gold))
        assert 0 < peak < len(gold) - 1
        assert gold[peak] > res.gold_ref + 0.3 and gold[-1] < gold[peak] - 0.3
    assert np.all(np.diff(res.rl_kl) > -1e-12) and np.all(np.diff(res.bon_kl) > -1e-12)
    assert np.all(res.bon_kl <= np.log(res.ns) - (res.ns - 1) / res.ns + 1e-12)
    assert np.all(np.isfinite(res.rl_coef)) and np.all(np.isfinite(res.bon_coef))
    assert res.rl_coef[0] > 0 and res.bon_coef[0] > 0 and res.bon_coef[1] > 0
    again = mt.rlhf.overoptimization(lm, seed=0)
    assert np.array_equal(res.rl_gold, again.rl_gold)
    assert "OveroptimizationResult" in repr(res) and len(repr(res)) < 800
    assert float(mt.rlhf.gao_bon(2.0, 1.0, 0.5)) == 0.0
    assert float(mt.rlhf.gao_rl(0.0, 1.0, 0.5)) == 0.0


def test_overoptimization_errors():
    lm = tiny_lm(0)
    with pytest.raises(mt.MDPValidationError, match=r"betas must be > 0"):
        mt.rlhf.overoptimization(lm, betas=[1.0, 0.0])
    with pytest.raises(mt.MDPValidationError, match=r"ns must be >= 1; got 0"):
        mt.rlhf.overoptimization(lm, ns=[0, 2])
    with pytest.raises(mt.MDPValidationError, match=r"n_comparisons must be >= 0"):
        mt.rlhf.overoptimization(lm, n_comparisons=-5)
