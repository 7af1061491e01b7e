# %% [markdown]
# # Tutorial 7 — PPO, GRPO and RLOO, measured against the exact optimum
#
# Tutorial 6 reached the optimum of the RL fine-tuning objective
#
#     J_beta(pi) = E_{y ~ p_pi}[ r(y) ] - beta * KL( p_pi || p_ref )
#
# without sampling. The methods LLM trainers run instead *sample* sentences from the current
# model and step along an estimate of the gradient: REINFORCE with a leave-one-out baseline
# (RLOO; Ahmadian et al. 2024), GRPO (Shao et al. 2024) and its correction Dr. GRPO (Liu et
# al. 2025), and PPO with a per-token KL penalty (Ziegler et al. 2019; Ouyang et al. 2022).
# Their papers argue about bias, variance, KL estimators, clipping and length. On the toy
# language MDP every one of those claims is a *measurement*: the exact gradient, the exact KL
# and the exact optimum are known, so we can hold each sampled quantity against the truth.
#
# 1. which gradient estimates are unbiased (RLOO) and which are not (GRPO);
# 2. the three KL estimators k1, k2, k3: bias and variance;
# 3. what group normalization and clipping do;
# 4. the length bias of GRPO's loss ("grpo" vs "dr_grpo");
# 5. PPO with its KL penalty, and every method on the reward–KL frontier.

# %%
import matplotlib.pyplot as plt
import numpy as np

import mdptoolkit as mt
from mdptoolkit import plot

lm = mt.language.toy(max_len=4)       # 260 prefixes, 1555 sentences: everything is fast
ref = lm.reference_policy
beta = 0.3
lengths = np.array([len(y) for y in lm.sequences])
print(lm)
print(f"exact optimum of J_beta at beta = {beta}: {mt.rlhf.optimum(lm, beta):.4f} "
      f"(beta log Z); the reference scores {mt.rlhf.measure(lm, ref, beta)[0]:.4f}")

# %% [markdown]
# ## 1. Unbiased or not: every estimator against `exact_gradient`
#
# All the methods tune tabular softmax logits theta (one per prefix and token). The *score
# function* identity gives the exact gradient of J_beta as an expectation over sentences,
#
#     grad J_beta = E_y[ R(y) grad log p_theta(y) ],   R(y) = r(y) - beta log(p_theta(y)/p_ref(y)),
#
# so one sampled sentence gives an unbiased estimate (REINFORCE). RLOO subtracts from R_k the
# mean score of the *other* G - 1 sentences of its group: a baseline independent of y_k, so
# still unbiased, with less variance. GRPO divides the centred rewards by the group's standard
# deviation and each sentence's token terms by its length; Dr. GRPO removes both divisions.
#
# `mt.rlhf.gradient_estimates` returns one estimate per group, laid out like
# `mt.exact_gradient`. How do we tell "unbiased" from noise over 1820 coordinates? If the
# estimates g_1..g_n have mean g_bar and per-coordinate variances summing to tr(Cov), then for
# an unbiased estimator E|| g_bar - grad J ||^2 = tr(Cov) / n. The *noise ratio*
#
#     n || g_bar - target ||^2 / tr(Cov)
#
# is about 1 for an unbiased estimator of `target` (a few at most: a handful of rarely
# visited prefixes carry most of the variance), and grows like n for a biased one. We take the
# gradient at a point away from the reference (there the KL term matters):

# %%
theta = np.log(mt.rlhf.optimal_policy(lm, 1.0))   # a fine-tuned model, not yet at beta = 0.3
param = mt.TabularSoftmax(*ref.shape, allowed=ref > 0)
exact = mt.exact_gradient(lm.mdp, param, theta, beta=beta, reference=ref)[1].ravel()
n, G = 4000, 4


def noise_ratio(g, target):
    return len(g) * np.sum((g.mean(axis=0) - target) ** 2) / g.var(axis=0, ddof=1).sum()


estimates = {name: mt.rlhf.gradient_estimates(lm, theta, estimator=name, num_generations=G,
                                              n=n, beta=beta, seed=0)
             for name in ("reinforce", "rloo", "grpo", "dr_grpo")}
print(f"{'estimator':<10} {'noise ratio':>12} {'best scale c':>13} {'ratio vs c*grad':>16} "
      f"{'tr(Cov)':>9}")
for name, g in estimates.items():
    c = g.mean(axis=0) @ exact / (exact @ exact)   # the multiple of grad J closest to the mean
    print(f"{name:<10} {noise_ratio(g, exact):12.2f} {c:13.3f} "
          f"{noise_ratio(g, c * exact):16.2f} {g.var(axis=0).sum():9.4f}")
assert noise_ratio(estimates["reinforce"], exact) < 5
assert noise_ratio(estimates["rloo"], exact) < 5
grpo_c = estimates["grpo"].mean(axis=0) @ exact / (exact @ exact)
assert noise_ratio(estimates["grpo"], grpo_c * exact) > 20   # biased in *direction*
# RLOO: same mean as REINFORCE, a fraction of its variance
assert estimates["rloo"].var(axis=0).sum() < 0.5 * estimates["reinforce"].var(axis=0).sum()

# %% [markdown]
# REINFORCE and RLOO are unbiased (ratio near 1), and RLOO's variance is a fraction of
# REINFORCE's. GRPO is biased, and not only in scale: even the best multiple of the exact
# gradient is far more than noise away from its mean. Dr. GRPO is off by a scale (its group
# mean includes the sentence itself: a factor (G - 1)/G, and the loss divides by G·L), but at
# beta > 0 its per-token k3 penalty also pulls in a direction that is not that of the KL
# term of J_beta (Section 5 shows where that leads) — exercise 3 checks that at beta = 0 it
# is exactly (G - 1)/(G L) times the gradient.

# %% [markdown]
# ## 2. Three estimators of the KL
#
# A trainer never sees KL(p_pi || p_ref); it estimates it from the tokens it sampled, with the
# per-token ratio rho = pi_ref(a|s) / pi(a|s) (Schulman 2020):
#
#     k1 = -log rho,     k2 = (log rho)^2 / 2,     k3 = rho - 1 - log rho.
#
# Summed over the tokens of a sentence, k1 is log(p_pi(y)/p_ref(y)) exactly (the chain rule),
# so its mean is the KL. k3 adds rho - 1, whose mean given the prefix is
# sum_a pi_ref(a|s) - 1 = 0: still unbiased, and every term is >= 0. k2 is a different
# divergence that only agrees with the KL to second order near the reference.

# %%
print(f"{'policy':<14} {'exact KL':>9} | {'k1 mean':>8} {'k1 sd':>6} | {'k2 mean':>8} "
      f"{'k2 sd':>6} | {'k3 mean':>8} {'k3 sd':>6}")
kl_bias = {}
for b in (3.0, 1.0, 0.3):
    tuned = mt.rlhf.optimal_policy(lm, b)
    kl = mt.rlhf.kl(lm, tuned)
    row = {e: mt.rlhf.kl_estimates(lm, tuned, estimator=e, n=20_000, seed=1)
           for e in ("k1", "k2", "k3")}
    kl_bias[b] = {e: v.mean() - kl for e, v in row.items()}
    print(f"p*_beta={b:<6} {kl:9.4f} | " + " | ".join(
        f"{row[e].mean():8.4f} {row[e].std():6.3f}" for e in ("k1", "k2", "k3")))
    se = {e: v.std(ddof=1) / np.sqrt(v.size) for e, v in row.items()}
    assert abs(kl_bias[b]["k1"]) < 4.5 * se["k1"] and abs(kl_bias[b]["k3"]) < 4.5 * se["k3"]
    assert row["k3"].min() >= 0 and row["k1"].min() < 0
    if b <= 1.0:   # away from the reference, k2's bias is many standard errors
        assert abs(kl_bias[b]["k2"]) > 10 * se["k2"]
    k_sd = {e: v.std() for e, v in row.items()}
    if b == 3.0:
        assert k_sd["k3"] < 0.5 * k_sd["k1"]   # near the reference: k3 is the quieter one
assert k_sd["k3"] > 2 * k_sd["k1"]             # at p*_0.3: the heavy tail of rho

# %% [markdown]
# k1 and k3 agree with the exact KL; k1 takes negative values on single sentences, k3 never
# does. k2's bias grows as the policy moves away from the reference (exercise 2). And k3's
# famous low variance holds only *near* the reference: at p*_0.3 some tokens the reference
# likes have become rare under the policy, rho = pi_ref/pi is huge on them, and k3's standard
# deviation is several times k1's.
#
# The identity behind PPO's per-token penalty: the token log-ratios of a sentence sum to its
# sequence log-ratio, so a penalty of beta·log(pi/pi_ref) on every token is the sequence-level
# KL shaping r(y) - beta log(p(y)/p_ref(y)) — same objective, just paid token by token. We
# check it on three sentences by walking their prefixes:

# %%
tuned = mt.rlhf.optimal_policy(lm, beta)
p, p_ref = lm.sequence_probability_array(tuned), lm.sequence_probability_array(ref)
for sentence in ("the cat sat", "the mat", "dog"):
    y = tuple(sentence.split())
    steps = [(y[:t], y[t]) for t in range(len(y))] + [(y, lm.eos)]   # the tokens, then eos
    per_token = sum(np.log(tuned[lm.state_of(s), lm.actions.index(a)]
                           / ref[lm.state_of(s), lm.actions.index(a)]) for s, a in steps)
    i = lm.sequence_index(sentence)
    print(f"{sentence!r:14}: sum of token log-ratios {per_token:+.6f}, "
          f"log p(y)/p_ref(y) {np.log(p[i] / p_ref[i]):+.6f}")
    assert np.isclose(per_token, np.log(p[i] / p_ref[i]), atol=1e-12)

# %% [markdown]
# ## 3. What group normalization and clipping do
#
# **Group normalization.** GRPO's advantage (r - mean)/(std + 1e-4) does not change when the
# reward is multiplied by a constant: the step size no longer depends on the reward's units.
# RLOO's advantage scales with the reward, so a reward 10 times larger acts as a learning rate
# 10 times larger. (A group whose rewards all tie gets advantage 0 and teaches nothing.)

# %%
scaled = mt.language.LanguageMDP(lm.vocab, lm.max_len, 10 * lm.rewards, reference=ref)
runs = {}
for name, model in (("reward", lm), ("10 x reward", scaled)):
    runs["grpo", name] = mt.rlhf.grpo(model, lr=1.0, steps=100, seed=0)
    runs["rloo", name] = mt.rlhf.rloo(model, lr=2.0, steps=100, seed=0)
for method in ("grpo", "rloo"):
    a, b = runs[method, "reward"].policy, runs[method, "10 x reward"].policy
    print(f"{method}: max |policy change| when the reward is scaled by 10: "
          f"{np.abs(a - b).max():.2e}")
assert np.abs(runs["grpo", "reward"].policy - runs["grpo", "10 x reward"].policy).max() < 1e-2
assert np.abs(runs["rloo", "reward"].policy - runs["rloo", "10 x reward"].policy).max() > 0.1

# %% [markdown]
# (GRPO's policies differ only through the 1e-4 added to the std.) The price was measured in
# Section 1: dividing by a *sampled* std couples the group's samples, and the estimate is no
# longer an unbiased gradient.
#
# **Clipping.** PPO reuses each sampled batch for several epochs. After the first, the policy
# has moved and the surrogate weighs each token by the ratio rho = pi_theta/pi_old; the clip
# stops the gradient of a token once rho leaves [1 - eps, 1 + eps] in the direction its
# advantage pushes. Eight epochs per batch, with and without the clip:

# %%
print(f"{'cliprange':>9} {'final gap':>10} {'largest one-step change of J':>30} "
      f"{'tokens clipped':>15}")
clip_runs = {}
for eps in (0.1, 0.2, 1e3):
    clip_runs[eps] = [mt.rlhf.ppo(lm, kl_coef=beta, cliprange=eps, num_ppo_epochs=8, lr=0.5,
                                  steps=60, seed=s) for s in range(3)]
    gap = np.mean([r.gap for r in clip_runs[eps]])
    jump = np.mean([np.abs(np.diff(r.history["J"])).max() for r in clip_runs[eps]])
    clipped = np.mean([r.history["clip_fraction"].mean() for r in clip_runs[eps]])
    print(f"{eps:9g} {gap:10.3f} {jump:30.3f} {clipped:15.1%}")
assert np.mean([r.gap for r in clip_runs[1e3]]) > 10 * np.mean([r.gap for r in clip_runs[0.2]])

# %% [markdown]
# Without the clip (cliprange 1000) eight epochs on one batch overfit it: J jumps by more
# than the whole initial gap in one step and the run ends far from the optimum. With the clip,
# a few percent of the tokens are clipped and each batch moves the policy only so far.

# %% [markdown]
# ## 4. Length bias: "grpo" against "dr_grpo"
#
# GRPO's loss averages each sentence's token terms over its own length |o|. For a wrong
# answer (negative advantage) every token of a *long* one is pushed down less than every token
# of a short one, so wrong answers drift longer (Liu et al. 2025). Dr. GRPO sums the tokens
# and divides by a constant. We take a reward that is 1 for the target sentence and 0 for
# everything else, as with a verifier, turn off the std scaling in both to isolate the length
# term, and follow the exact mean length of the *wrong* answers:

# %%
verifier = mt.language.LanguageMDP(lm.vocab, lm.max_len,
                                   (lm.rewards == lm.rewards.max()).astype(float),
                                   reference=ref)
wrong = verifier.rewards < 1


def wrong_length(policy):
    q = verifier.sequence_probability_array(policy)[wrong]
    return q @ lengths[wrong] / q.sum()


print(f"reference: mean length of wrong answers {wrong_length(ref):.3f}")
length_runs = {}
for loss_type, lr in (("grpo", 2.0), ("dr_grpo", 2.0 * lm.max_len / 3)):   # comparable steps
    length_runs[loss_type] = [mt.rlhf.grpo(verifier, loss_type=loss_type, scale_rewards="none",
                                           lr=lr, steps=60, seed=s) for s in range(4)]
    hit = np.mean([verifier.sequence_probability_array(r.policy)[~wrong].sum()
                   for r in length_runs[loss_type]])
    long = np.mean([wrong_length(r.policy) for r in length_runs[loss_type]])
    print(f"{loss_type:8}: Pr(correct) {hit:.3f}, mean length of wrong answers {long:.3f}")
assert (np.mean([wrong_length(r.policy) for r in length_runs["grpo"]])
        > np.mean([wrong_length(r.policy) for r in length_runs["dr_grpo"]]) + 0.05)

# %% [markdown]
# ## 5. PPO with its KL penalty, and every method on the reward–KL frontier
#
# PPO pays the reward at the last token and, at every token, a penalty kl_coef·k with k = k1
# or k3 at the sampling policy; a tabular critic gives GAE advantages; the clipped surrogate
# runs for `num_ppo_epochs`. With k1 the penalties of a sentence sum to the sequence KL
# shaping (Section 2), so PPO optimizes J_beta at beta = kl_coef. Strip it down — one epoch,
# no clip, lam = gamma = 1, no critic, no whitening — and, without the penalty, its step *is*
# the REINFORCE step, sample for sample. With the penalty the two differ only in which KL
# terms multiply a token's score: REINFORCE uses the whole sentence's, PPO only those paid
# from that token on (causality), an estimate with the same mean (checked in the test suite)
# and less variance.

# %%
plain = dict(num_ppo_epochs=1, cliprange=1e6, lam=1.0, gamma=1.0, vf_lr=0.0,
             whiten_advantages=False)
a = mt.rlhf.ppo(lm, kl_coef=0.0, lr=0.5, steps=5, batch_size=16, seed=5, **plain)
b = mt.rlhf.reinforce(lm, beta=0.0, lr=0.5, steps=5, batch_size=16, seed=5)
print("kl_coef = 0: max |theta_PPO - theta_REINFORCE| =", np.abs(a.theta - b.theta).max())
assert np.allclose(a.theta, b.theta, rtol=0, atol=1e-12)
a = mt.rlhf.ppo(lm, kl_coef=beta, lr=0.5, steps=5, batch_size=16, seed=5, **plain)
b = mt.rlhf.reinforce(lm, beta=beta, lr=0.5, steps=5, batch_size=16, seed=5)
print(f"kl_coef = {beta}: max |theta_PPO - theta_REINFORCE| =", np.abs(a.theta - b.theta).max())

# %% [markdown]
# Now every method from the reference, 300 steps each, on the exact reward–KL frontier
# (the Gibbs policies p*_beta for all beta). A method's gap to the optimum of J_beta is the
# height of its point below the line of slope beta that touches the frontier at p*_beta.

# %%
methods = {
    "rloo": mt.rlhf.rloo(lm, beta=beta, lr=2.0, steps=300, seed=0),
    "grpo": mt.rlhf.grpo(lm, beta=beta, lr=1.0, steps=300, seed=0),
    "dr_grpo": mt.rlhf.grpo(lm, beta=beta, loss_type="dr_grpo", scale_rewards="none",
                            lr=4.0, steps=300, seed=0),
    "ppo (k1)": mt.rlhf.ppo(lm, kl_coef=beta, lr=0.5, steps=300, seed=0),
    "ppo (k3)": mt.rlhf.ppo(lm, kl_coef=beta, kl_estimator="k3", lr=0.5, steps=300, seed=0),
}
star = mt.rlhf.optimal_policy(lm, beta)
best = mt.rlhf.optimum(lm, beta)
J_star, r_star, kl_star = mt.rlhf.measure(lm, star, beta)
for name, run in methods.items():
    print(f"{name:9}: reward {run.history['reward'][-1]:+.4f}  KL {run.history['kl'][-1]:.4f}"
          f"  J_beta {run.J:+.4f}  gap {run.gap:.4f}  (from {run.history['gap'][0]:.4f})")
print(f"p*_beta  : reward {r_star:+.4f}  KL {kl_star:.4f}  J_beta {J_star:+.4f}")

fig, (left, right) = plt.subplots(1, 2, figsize=(12.5, 4.8), layout="constrained")
plot.reward_kl_frontier(lm, methods, ax=left)
grid = np.linspace(0, 2.2, 2)
left.plot(grid, best + beta * grid, ":", color="0.4", label=r"$J_\beta = J^*$")
left.plot([kl_star], [r_star], "*", color="gold", markeredgecolor="k", markersize=14,
          label=r"$p^*_\beta$")
left.legend(fontsize="small", loc="lower right")
for k, (name, run) in enumerate(methods.items()):
    right.semilogy(run.history["gap"], color=f"C{k}", label=name)
right.set_xlabel("step")
right.set_ylabel(r"exact gap $J^* - J_\beta(\pi)$")
right.legend(fontsize="small")
right.grid(alpha=0.3)
fig.savefig("07_frontier.png", dpi=100)
for name in ("rloo", "ppo (k1)"):
    assert methods[name].gap < 0.05 * methods[name].history["gap"][0]
for name in ("grpo", "dr_grpo"):   # the k3 loss term: a fixed point with less KL than p*_beta
    assert methods[name].gap > 3 * methods["rloo"].gap
    assert methods[name].history["kl"][-1] < kl_star
assert methods["ppo (k3)"].history["kl"][-1] > kl_star   # k3 as a reward: more KL

# %% [markdown]
# RLOO and PPO with k1 end next to p*_beta. GRPO and Dr. GRPO stop short, on the side of
# less KL: their per-token k3 term in the *loss* has the gradient of the reverse per-token KL
# KL(pi_ref || pi), not of beta·KL(p_pi || p_ref), so their fixed point is not the optimum of
# J_beta. PPO with k3 in the *reward* overshoots to more KL: the expected sum of k3 is the
# KL, but a reward's score-function gradient ignores that the reward itself depends on pi —
# for k1 the missing term E[grad k1] has mean 0, for k3 it is
# E_a[(1 - pi_ref/pi) grad log pi] = sum_a (pi - pi_ref) grad log pi, which is not. An
# unbiased estimate of a *value* need not give an unbiased *gradient*.

# %% [markdown]
# ## Exercises
#
# **Exercise 1 (RLOO and the group size).** RLOO's variance falls as the group grows. Measure
# tr(Cov) of the "rloo" estimate at `theta` for G = 2, 4, 8 (n = 2000 groups, per-group
# estimates are averages over G sentences) and check that it decreases, and that the
# estimator stays unbiased (noise ratio below 5) for each G.
#
# **Exercise 2 (k2's bias).** Show that the bias of k2 grows with the distance to the
# reference: using `kl_bias` from Section 2, check that |bias of k2| increases as beta
# decreases (3.0, 1.0, 0.3), while the KL itself increases.
#
# **Exercise 3 (Dr. GRPO at beta = 0).** At beta = 0 the "dr_grpo" estimate has mean
# (G - 1)/(G L) times grad J_0 (G = 4, L = `lm.max_len`). Check it with the noise ratio.

# %% [markdown]
# ### Solution to exercise 1

# %% tags=["solution"]
variances = {}
for g_size in (2, 4, 8):
    g = mt.rlhf.gradient_estimates(lm, theta, estimator="rloo", num_generations=g_size,
                                   n=2000, beta=beta, seed=2)
    variances[g_size] = g.var(axis=0).sum()
    print(f"G = {g_size}: tr(Cov) = {variances[g_size]:.4f}, noise ratio "
          f"{noise_ratio(g, exact):.2f}")
    assert noise_ratio(g, exact) < 5
assert variances[2] > variances[4] > variances[8]

# %% [markdown]
# ### Solution to exercise 2

# %% tags=["solution"]
k2_bias = [abs(kl_bias[b]["k2"]) for b in (3.0, 1.0, 0.3)]
kls = [mt.rlhf.kl(lm, mt.rlhf.optimal_policy(lm, b)) for b in (3.0, 1.0, 0.3)]
print("KL:", np.round(kls, 4), " |bias of k2|:", np.round(k2_bias, 4))
assert kls[0] < kls[1] < kls[2] and k2_bias[0] < k2_bias[1] < k2_bias[2]

# %% [markdown]
# ### Solution to exercise 3

# %% tags=["solution"]
exact0 = mt.exact_gradient(lm.mdp, param, theta)[1].ravel()
dr = mt.rlhf.gradient_estimates(lm, theta, estimator="dr_grpo", num_generations=4, n=4000,
                                seed=3)
c = (4 - 1) / (4 * lm.max_len)
print(f"noise ratio against {c:.4f} x grad J_0: {noise_ratio(dr, c * exact0):.2f}; "
      f"against grad J_0 itself: {noise_ratio(dr, exact0):.0f}")
assert noise_ratio(dr, c * exact0) < 5 < noise_ratio(dr, exact0)
