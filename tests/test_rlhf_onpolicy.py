"""On-policy RL fine-tuning (mt.rlhf.reinforce, rloo, grpo, ppo): known answers.

Every statistical check uses a fixed seed and a Bonferroni bound over the coordinates (max |z|
over d coordinates below ~4.5 has probability about 1 - d * 7e-6 under the null), so it is
deterministic and fails only when the estimator is wrong.
"""

import inspect

import numpy as np
import pytest

import mdptoolkit as mt
from mdptoolkit.exceptions import MDPValidationError
from mdptoolkit.rlhf import _sampling, onpolicy
from mdptoolkit.rlhf.onpolicy import _Model
from mdptoolkit.rlhf.proximal import clipped_weights, gae, token_rewards

Z_MAX = 4.5  # Bonferroni-safe bound on max |z| for the few dozen coordinates tested


def small_lm(*, zero=False):
    """V = 2, L = 3 (8 states, 3 actions, 15 sequences), a non-uniform reference and a reward
    that prefers "a a b"; with ``zero``, the reference never says "b" after "a b"."""
    def reference(prefix):
        p = np.array([0.5, 0.3, 0.2]) if len(prefix) % 2 == 0 else np.array([0.2, 0.5, 0.3])
        if zero and prefix == ("a", "b"):
            p = np.array([0.6, 0.0, 0.4])
        return p

    def reward(y):
        return float(y == ("a", "a", "b")) + 0.3 * y.count("b") - 0.2 * len(y)

    return mt.language.LanguageMDP(["a", "b"], 3, reward, reference=reference)


def exact(lm, theta, beta):
    ref = lm.reference_policy
    param = mt.TabularSoftmax(*ref.shape, allowed=ref > 0)
    return mt.exact_gradient(lm.mdp, param, theta, beta=beta, reference=ref)[1].ravel()


def max_z(samples, target):
    """max over coordinates of |mean - target| / standard error (0 where both vanish)."""
    n = samples.shape[0]
    se = samples.std(axis=0, ddof=1) / np.sqrt(n)
    diff = samples.mean(axis=0) - target
    z = np.where(se > 0, np.abs(diff) / np.where(se > 0, se, 1.0),
                 np.where(np.abs(diff) > 1e-12, np.inf, 0.0))
    return float(z.max())


def tilted_theta(lm, seed=1):
    """Logits away from the reference (a generic point to take gradients at)."""
    ref = lm.reference_policy
    noise = np.random.default_rng(seed).normal(0.0, 0.7, ref.shape)
    return np.where(ref > 0, np.log(np.where(ref > 0, ref, 1.0)) + noise, 0.0)


# ---------------------------------------------------------------------- sampling
def test_sampled_sequences_follow_the_policy_and_their_layout():
    # the empirical distribution of sampled sequence indices matches p_pi (chi-square-like
    # max-z over the 15 sequences); token arrays agree with lm.sequences
    lm = small_lm()
    model = _Model(lm)
    pi, _ = model.policy(tilted_theta(lm))
    batch = _sampling.sample_batch(lm, pi, 40000, np.random.default_rng(0))
    p = lm.sequence_probability_array(pi)
    freq = np.bincount(batch.index, minlength=p.size) / batch.n
    se = np.sqrt(p * (1 - p) / batch.n)
    assert np.all(np.abs(freq - p) <= Z_MAX * se + 1e-12)
    L, V = lm.max_len, len(lm.vocab)
    np.testing.assert_array_equal(batch.n_tokens, batch.lengths + (batch.lengths < L))
    for i in range(20):  # a few rows decoded against the sequence table
        y = lm.sequences[batch.index[i]]
        assert len(y) == batch.lengths[i]
        tokens = batch.actions[i, :batch.lengths[i]]
        assert tuple(lm.vocab[t] for t in tokens) == y
        if batch.lengths[i] < L:
            assert batch.actions[i, batch.lengths[i]] == V  # eos is the last token
    assert np.all(batch.states[~batch.mask] == lm.terminal_state)


def test_score_sum_is_the_sum_of_per_token_scores():
    # e_a - pi(.|s) per token, summed (a slow obviously-correct loop over a few tokens)
    lm = small_lm()
    pi, _ = _Model(lm).policy(tilted_theta(lm))
    batch = _sampling.sample_batch(lm, pi, 6, np.random.default_rng(3))
    w = np.random.default_rng(4).normal(size=batch.mask.shape)
    slow = np.zeros(pi.shape)
    for i, t in zip(*np.nonzero(batch.mask)):
        s, a = batch.states[i, t], batch.actions[i, t]
        slow[s] += w[i, t] * (np.eye(pi.shape[1])[a] - pi[s])
    np.testing.assert_allclose(_sampling.score_sum(pi, batch, w), slow, atol=1e-12)
    groups = np.array([0, 0, 1, 1, 2, 2])
    per_group = _sampling.score_sum(pi, batch, w, groups=groups, n_groups=3)
    np.testing.assert_allclose(per_group.sum(axis=0), slow, atol=1e-12)


# ---------------------------------------------------------------------- gradient estimates
@pytest.mark.parametrize("beta", [0.0, 0.3])
@pytest.mark.parametrize("estimator", ["rloo", "reinforce"])
def test_rloo_and_reinforce_are_unbiased(estimator, beta):
    # Ahmadian et al. (2024) §3.2, Kool et al. (2019): the leave-one-out baseline keeps the
    # score-function estimate unbiased; Williams (1992) for plain REINFORCE
    lm = small_lm()
    theta = tilted_theta(lm)
    g = mt.rlhf.gradient_estimates(lm, theta, estimator=estimator, num_generations=4,
                                   n=20000, beta=beta, seed=11)
    assert g.shape == (20000, lm.mdp.n_states * lm.mdp.n_actions)
    assert max_z(g, exact(lm, theta, beta)) < Z_MAX


def test_rloo_is_unbiased_with_a_reference_that_has_zeros():
    # the masked softmax keeps the reference's support, so the KL stays finite
    lm = small_lm(zero=True)
    theta = tilted_theta(lm)
    g = mt.rlhf.gradient_estimates(lm, theta, estimator="rloo", n=20000, beta=0.3, seed=5)
    assert np.isfinite(g).all()
    masked = ~(lm.reference_policy > 0).ravel()
    assert np.all(g[:, masked] == 0)
    assert max_z(g, exact(lm, theta, 0.3)) < Z_MAX


@pytest.mark.parametrize("beta", [0.0, 0.3])
def test_grpo_is_biased(beta):
    # Liu et al. (2025), Dr. GRPO §3.1: the std and length normalizations bias GRPO; the bias
    # is in direction, not only in scale: even the best multiple of the exact gradient is
    # many standard errors away
    lm = small_lm()
    theta = tilted_theta(lm)
    g = mt.rlhf.gradient_estimates(lm, theta, estimator="grpo", num_generations=4,
                                   n=20000, beta=beta, seed=11)
    target = exact(lm, theta, beta)
    mean = g.mean(axis=0)
    scale = float(mean @ target / (target @ target))
    assert max_z(g, scale * target) > 4 * Z_MAX   # measured: 47 and 71


def test_dr_grpo_is_a_scaled_unbiased_estimate_at_beta_zero():
    # Liu et al. (2025): without the std and length normalizations the direction is unbiased;
    # the group mean includes the sample itself, so E = (G - 1)/(G L) grad J (see the docstring)
    lm = small_lm()
    theta = tilted_theta(lm)
    G, L = 4, lm.max_len
    g = mt.rlhf.gradient_estimates(lm, theta, estimator="dr_grpo", num_generations=G,
                                   n=20000, seed=11)
    assert max_z(g, (G - 1) / (G * L) * exact(lm, theta, 0.0)) < Z_MAX


def test_estimators_see_the_same_groups_for_the_same_seed():
    lm = small_lm()
    theta = tilted_theta(lm)
    a = mt.rlhf.gradient_estimates(lm, theta, estimator="reinforce", n=50, seed=2)
    b = mt.rlhf.gradient_estimates(lm, theta, estimator="reinforce", n=50, seed=2)
    np.testing.assert_array_equal(a, b)


# ---------------------------------------------------------------------- KL estimates
def test_k1_and_k3_are_unbiased_k2_is_not():
    # Schulman (2020), "Approximating KL divergence": k1 and k3 unbiased, k3 >= 0, k2 biased
    lm = mt.language.toy(max_len=3)
    policy = mt.rlhf.optimal_policy(lm, 0.3)
    kl = mt.rlhf.kl(lm, policy)
    n = 100000
    k = {e: mt.rlhf.kl_estimates(lm, policy, estimator=e, n=n, seed=7)
         for e in ("k1", "k2", "k3")}
    se = {e: v.std(ddof=1) / np.sqrt(n) for e, v in k.items()}
    assert abs(k["k1"].mean() - kl) < Z_MAX * se["k1"]
    assert abs(k["k3"].mean() - kl) < Z_MAX * se["k3"]
    assert k["k3"].min() >= 0 and k["k2"].min() >= 0
    assert abs(k["k2"].mean() - kl) > 10 * Z_MAX * se["k2"]
    # the same sequences for every estimator: k1 = sum of -log rho, k2 = sum of (log rho)^2/2
    assert k["k1"].min() < 0


def test_per_token_k1_sums_to_the_sequence_log_ratio():
    # chain rule of probability on a deterministic prefix tree: sum_t beta log(pi/ref)(a_t|s_t)
    # = beta log(p(y)/p_ref(y)) for every sequence; so PPO's per-token k1 rewards sum to the
    # KL-shaped score r(y) - beta log(p/p_ref) of REINFORCE/RLOO, sequence by sequence
    lm = mt.language.toy(max_len=4)
    model = _Model(lm)
    pi, log_pi = model.policy(tilted_theta(lm))
    batch = _sampling.sample_batch(lm, pi, 2000, np.random.default_rng(0))
    beta = 0.2
    p = lm.sequence_probability_array(pi)[batch.index]
    p_ref = lm.sequence_probability_array(lm.reference_policy)[batch.index]
    per_token = token_rewards(model, batch, batch.token_values(log_pi), beta, "k1")
    shaped, r, _ = onpolicy.kl_shaped_scores(model, batch, log_pi, beta)
    np.testing.assert_allclose(per_token.sum(axis=1), r - beta * np.log(p / p_ref),
                               rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(per_token.sum(axis=1), shaped, rtol=1e-12, atol=1e-12)


# ---------------------------------------------------------------------- PPO = REINFORCE
PLAIN_PPO = dict(num_ppo_epochs=1, cliprange=1e6, lam=1.0, gamma=1.0, vf_lr=0.0,
                 whiten_advantages=False)


def test_one_plain_ppo_epoch_is_the_reinforce_step_on_the_same_batch():
    # Schulman et al. (2017) eq. 7 with rho = 1 at the first epoch, no critic, lam = gamma = 1:
    # the surrogate's gradient is the score-function (REINFORCE) gradient; both consume the
    # same random numbers, so with the same seed they see the same batch
    lm = mt.language.toy(max_len=4)
    a = mt.rlhf.ppo(lm, kl_coef=0.0, lr=0.7, steps=1, batch_size=16, seed=3, **PLAIN_PPO)
    b = mt.rlhf.reinforce(lm, beta=0.0, lr=0.7, steps=1, batch_size=16, seed=3)
    np.testing.assert_allclose(a.theta, b.theta, rtol=0, atol=1e-12)
    assert a.history["sample_reward"][0] == b.history["sample_reward"][0]


def test_plain_ppo_direction_is_unbiased_with_the_kl_penalty():
    # with kl_coef > 0 the advantage is the shaped return-to-go (causality: Sutton & Barto
    # 2018, §13.3), whose expectation is grad J_beta at beta = kl_coef
    lm = small_lm()
    model = _Model(lm)
    theta = tilted_theta(lm)
    pi, log_pi = model.policy(theta)
    n, kl_coef = 60000, 0.3
    batch = _sampling.sample_batch(lm, pi, n, np.random.default_rng(9))
    old = batch.token_values(log_pi)
    rewards = token_rewards(model, batch, old, kl_coef, "k1")
    adv = gae(rewards, np.zeros(rewards.shape), 1.0, 1.0)
    c, clipped = clipped_weights(adv, old, old, 0.2)
    assert not clipped.any()
    per_sequence = _sampling.score_sum(pi, batch, c * batch.mask, groups=np.arange(n),
                                       n_groups=n).reshape(n, -1)
    assert max_z(per_sequence, exact(lm, theta, kl_coef)) < Z_MAX


def test_gae_with_lambda_one_and_no_critic_is_the_return_to_go():
    rewards = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 0.0]])
    adv = gae(rewards, np.zeros((2, 3)), 1.0, 1.0)
    np.testing.assert_array_equal(adv, [[6.0, 5.0, 3.0], [9.0, 5.0, 0.0]])
    adv = gae(rewards, np.zeros((2, 3)), 0.5, 0.0)   # lam = 0: one-step TD
    np.testing.assert_array_equal(adv, rewards)


# ---------------------------------------------------------------------- training runs
RUNS = {
    "reinforce": lambda lm, seed: mt.rlhf.reinforce(lm, beta=0.1, lr=2.0, steps=150,
                                                    batch_size=8, seed=seed),
    "reinforce_exact_baseline": lambda lm, seed: mt.rlhf.reinforce(
        lm, beta=0.1, lr=2.0, steps=150, batch_size=8, baseline="exact", seed=seed),
    "rloo": lambda lm, seed: mt.rlhf.rloo(lm, beta=0.1, lr=2.0, steps=150, seed=seed),
    "grpo": lambda lm, seed: mt.rlhf.grpo(lm, beta=0.0, lr=1.0, steps=150, seed=seed),
    "grpo_kl_iterations": lambda lm, seed: mt.rlhf.grpo(lm, beta=0.1, lr=1.0, steps=150,
                                                        num_iterations=2, seed=seed),
    "dr_grpo": lambda lm, seed: mt.rlhf.grpo(lm, loss_type="dr_grpo", scale_rewards="none",
                                             lr=10.0, steps=150, seed=seed),
    "ppo": lambda lm, seed: mt.rlhf.ppo(lm, kl_coef=0.1, lr=0.5, steps=150, seed=seed),
    "ppo_k3": lambda lm, seed: mt.rlhf.ppo(lm, kl_coef=0.1, kl_estimator="k3", lr=0.5,
                                           steps=150, seed=seed),
}


@pytest.fixture(scope="module")
def toy():
    return mt.language.toy()


@pytest.mark.parametrize("name", sorted(RUNS))
def test_each_method_closes_most_of_the_gap_and_is_reproducible(name, toy):
    # the exact gap to the beta-regularized optimum (beta log Z, or max r at beta = 0) falls
    # far below its value at the reference; the same seed gives the same run, bit for bit
    run = RUNS[name](toy, 0)
    hist = run.history
    assert len(hist["J"]) == run.iterations + 1 == 151
    assert hist["gap"][-1] < 0.25 * hist["gap"][0]
    assert np.all(hist["gap"] >= -1e-12)
    assert run.converged is False and run.message.startswith("stopped: ran 150 sampled steps")
    assert run.gap == pytest.approx(hist["gap"][-1])
    again = RUNS[name](toy, 0)
    for key in ("J", "gap", "reward", "kl"):
        np.testing.assert_array_equal(again.history[key], hist[key])
    np.testing.assert_array_equal(again.theta, run.theta)
    other = RUNS[name](toy, 1)
    assert not np.array_equal(other.theta, run.theta)


def test_history_is_measured_exactly_from_the_mdp(toy):
    run = mt.rlhf.ppo(toy, kl_coef=0.2, lr=0.5, steps=5, seed=0)
    J, reward, kl = mt.rlhf.measure(toy, run.policy, 0.2)
    assert run.history["J"][-1] == J and run.history["reward"][-1] == reward
    assert run.history["kl"][-1] == kl and run.history["kl"][0] == 0.0
    assert run.optimum == mt.rlhf.optimum(toy, 0.2)
    assert len(run.history["clip_fraction"]) == 5 and len(run.history["elapsed"]) == 6
    assert run.history["elapsed"][0] == 0.0 and np.all(np.diff(run.history["elapsed"]) >= 0)
    np.testing.assert_allclose(run.policy.sum(axis=1), 1.0)
    with pytest.raises(ValueError):
        run.theta[0, 0] = 1.0   # read-only
    assert "gap=" in repr(run) and "history keys" in repr(run)


def test_ppo_critic_learns_and_the_clip_acts_after_the_first_epoch(toy):
    # the tabular critic moves toward the sampled returns: its squared error against them
    # falls well below that of no critic (value 0); the ratio is 1 at the first epoch (GRPO
    # with one iteration never clips) and the clip acts in later epochs
    kwargs = dict(kl_coef=0.1, lr=0.05, steps=40, seed=0)   # a slowly moving policy
    none = mt.rlhf.ppo(toy, vf_lr=0.0, **kwargs).history["value_error"]
    learned = mt.rlhf.ppo(toy, vf_lr=0.5, **kwargs)
    assert learned.history["value_error"][20:].mean() < 0.7 * none[20:].mean()  # 0.49 vs 1.01
    fast = mt.rlhf.ppo(toy, kl_coef=0.1, lr=0.5, steps=20, seed=0)
    assert fast.history["clip_fraction"].max() > 0
    single = mt.rlhf.grpo(toy, lr=1.0, steps=20, seed=0)
    assert np.all(single.history["clip_fraction"] == 0)
    several = mt.rlhf.grpo(toy, lr=1.0, steps=20, num_iterations=3, seed=0)
    assert several.history["clip_fraction"].max() > 0


def test_zero_steps_returns_the_reference(toy):
    run = mt.rlhf.rloo(toy, lr=1.0, steps=0, seed=0)
    np.testing.assert_allclose(run.policy[:-1], toy.reference_policy[:-1], atol=1e-15)
    assert run.iterations == 0 and len(run.history["J"]) == 1


# ---------------------------------------------------------------------- bad options
LM = small_lm()
BAD = [
    (mt.rlhf.reinforce, dict(lr=0.0, steps=1), "lr must be finite and > 0; got 0.0"),
    (mt.rlhf.reinforce, dict(lr=1.0, steps=-1), "steps must be >= 0; got -1"),
    (mt.rlhf.reinforce, dict(lr=1.0, steps=1, beta=-0.1), "beta must be finite and >= 0"),
    (mt.rlhf.reinforce, dict(lr=1.0, steps=1, batch_size=0), "batch_size must be >= 1"),
    (mt.rlhf.reinforce, dict(lr=1.0, steps=1, baseline="mean"),
     "baseline must be one of 'none', 'exact'; got 'mean'"),
    (mt.rlhf.rloo, dict(lr=1.0, steps=1, num_generations=1), "num_generations must be >= 2"),
    (mt.rlhf.rloo, dict(lr=np.inf, steps=1), "lr must be finite and > 0; got inf"),
    (mt.rlhf.grpo, dict(lr=1.0, steps=1, epsilon=1.5), r"epsilon must be in \(0, 1\); got 1.5"),
    (mt.rlhf.grpo, dict(lr=1.0, steps=1, scale_rewards="batch"),
     "scale_rewards must be one of 'group', 'none'; got 'batch'"),
    (mt.rlhf.grpo, dict(lr=1.0, steps=1, loss_type="bnpo"),
     "loss_type must be one of 'grpo', 'dr_grpo'; got 'bnpo'"),
    (mt.rlhf.grpo, dict(lr=1.0, steps=1, num_iterations=0), "num_iterations must be >= 1"),
    (mt.rlhf.ppo, dict(lr=1.0, steps=1, kl_estimator="k2"),
     "kl_estimator must be one of 'k1', 'k3'; got 'k2'"),
    (mt.rlhf.ppo, dict(lr=1.0, steps=1, lam=1.5), r"lam must be in \[0, 1\]; got 1.5"),
    (mt.rlhf.ppo, dict(lr=1.0, steps=1, gamma=-0.5), r"gamma must be in \[0, 1\]; got -0.5"),
    (mt.rlhf.ppo, dict(lr=1.0, steps=1, cliprange=0.0), "cliprange must be finite and > 0"),
    (mt.rlhf.ppo, dict(lr=1.0, steps=1, kl_coef=-1.0), "kl_coef must be finite and >= 0"),
    (mt.rlhf.ppo, dict(lr=1.0, steps=1, num_ppo_epochs=0), "num_ppo_epochs must be >= 1"),
    (mt.rlhf.ppo, dict(lr=1.0, steps=1, vf_lr=2.0), r"vf_lr must be in \[0, 1\]; got 2.0"),
    (mt.rlhf.ppo, dict(lr=1.0, steps=1, cliprange_value=-1.0),
     "cliprange_value must be finite and > 0"),
    (mt.rlhf.gradient_estimates, dict(theta=np.zeros((8, 3)), n=1, estimator="ppo"),
     "estimator must be one of 'reinforce', 'rloo', 'grpo', 'dr_grpo'; got 'ppo'"),
    (mt.rlhf.gradient_estimates, dict(theta=np.zeros((8, 3)), n=0), "n must be >= 1; got 0"),
    (mt.rlhf.gradient_estimates, dict(theta=np.zeros((8, 3)), n=1, estimator="rloo",
                                      num_generations=1), "num_generations must be >= 2"),
    (mt.rlhf.gradient_estimates, dict(theta=np.zeros((8, 2)), n=1),
     r"theta must have shape \(8, 3\); got \(8, 2\)"),
    (mt.rlhf.kl_estimates, dict(policy=LM.reference_policy, n=1, estimator="k4"),
     "estimator must be one of 'k1', 'k2', 'k3'; got 'k4'"),
    (mt.rlhf.kl_estimates, dict(policy=LM.reference_policy, n=0), "n must be >= 1"),
]


@pytest.mark.parametrize("function, options, message", BAD,
                         ids=[f"{f.__name__}-{'-'.join(o)}" for f, o, _ in BAD])
def test_bad_options_raise_validation_errors(function, options, message):
    with pytest.raises(MDPValidationError, match=message):
        function(LM, **options)


def test_kl_estimates_refuse_mass_outside_the_reference():
    lm = small_lm(zero=True)
    policy = np.full(lm.reference_policy.shape, 1 / 3)
    with pytest.raises(MDPValidationError, match="policy must give probability 0 where the "
                                                 "reference does"):
        mt.rlhf.kl_estimates(lm, policy, n=1)


def test_wrong_kinds_are_type_errors():
    with pytest.raises(TypeError, match="LanguageMDP"):
        mt.rlhf.rloo(LM.mdp, lr=1.0, steps=1)
    with pytest.raises(TypeError, match="lr must be a real number"):
        mt.rlhf.rloo(LM, lr="big", steps=1)
    with pytest.raises(TypeError, match="steps must be an integer"):
        mt.rlhf.grpo(LM, lr=1.0, steps=2.5)


# ---------------------------------------------------------------------- docstrings
PUBLIC = [mt.rlhf.reinforce, mt.rlhf.rloo, mt.rlhf.grpo, mt.rlhf.ppo,
          mt.rlhf.gradient_estimates, mt.rlhf.kl_estimates]
CITATIONS = {"rloo": "Ahmadian", "grpo": "Shao", "ppo": "Schulman", "kl_estimates": "Schulman",
             "gradient_estimates": "Liu", "reinforce": "Williams"}


@pytest.mark.parametrize("function", PUBLIC, ids=lambda f: f.__name__)
def test_public_functions_have_complete_docstrings_and_keyword_only_options(function):
    doc = inspect.getdoc(function)
    for section in ("Parameters", "Returns", "Raises", "Notes", "References", "Examples"):
        assert f"\n{section}\n---" in doc, section
    notes = doc.split("\nNotes\n-----\n")[1].split("\nReferences\n")[0]
    assert ".. math::" in notes   # the defining equation, under Notes
    assert CITATIONS[function.__name__] in doc.split("References")[1]
    parameters = list(inspect.signature(function).parameters.values())
    assert parameters[0].name == "lm"
    assert all(p.kind is p.KEYWORD_ONLY for p in parameters[2 if function in PUBLIC[4:] else 1:])


@pytest.mark.parametrize("name", ["rloo", "grpo_kl_iterations", "ppo"])
def test_policy_updated_on_visited_rows_equals_the_softmax_of_theta(name, toy):
    # the loop recomputes the policy only on the rows a step touched; the result must still be
    # the masked softmax of the final logits, everywhere
    run = RUNS[name](toy, 0)
    pi, _ = _Model(toy).policy(run.theta)
    np.testing.assert_allclose(run.policy, pi, rtol=0, atol=1e-15)
    assert mt.rlhf.measure(toy, pi, 0.1)[1] == pytest.approx(run.history["reward"][-1],
                                                             abs=1e-12)
