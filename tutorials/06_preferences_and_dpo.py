# %% [markdown]
# # Tutorial 6 — Preferences, reward models and DPO, computed exactly
#
# Tutorial 4 optimized a known reward r(y). In practice the reward is learned from human
# *preferences*: a labeller sees two answers y1, y2 and says which is better. The standard
# model of such labels is Bradley–Terry (1952),
#
#     Pr(y1 preferred to y2) = sigma( r(y1) - r(y2) ),    sigma(x) = 1 / (1 + exp(-x)).
#
# RLHF (Christiano et al. 2017; Ouyang et al. 2022) fits a reward model to the labels, then
# maximizes J_beta(pi) = E_pi[r_hat] - beta * KL(pi || pi_ref). DPO (Rafailov et al. 2023)
# skips the reward model: it fits the policy's *implicit reward*
# beta * log( pi(y) / pi_ref(y) ) to the labels directly. On the toy language MDP everything is
# exact — no sampling noise in the gradients, no approximation in the KL — so we can watch:
#
# 1. preferences and the Bradley–Terry fit (and when it does not exist);
# 2. DPO against the exact optimum p*_beta of the RLHF objective;
# 3. IPO vs DPO on deterministic preferences;
# 4. best-of-n sampling and its KL bound;
# 5. reward over-optimization (Gao et al. 2022).

# %%
import matplotlib.pyplot as plt
import numpy as np

import mdptoolkit as mt

lm = mt.language.toy()
r = lm.rewards  # the gold reward r(y), by sequence index
p_ref = lm.sequence_probability_array(lm.reference_policy)
print(lm)

# %% [markdown]
# ## 1. Preferences and the Bradley–Terry reward model
#
# `mt.rlhf.sample_preferences` draws both answers of each pair from the reference model and
# labels them with Bradley–Terry probabilities of the gold reward:

# %%
prefs = mt.rlhf.sample_preferences(lm, 20_000, seed=0)
print(prefs)
agree = np.mean(r[prefs.chosen] > r[prefs.rejected])
print(f"the labeller picks the higher-reward answer in {agree:.1%} of the pairs")

# %% [markdown]
# The maximum-likelihood reward is fixed only up to a constant (only differences enter
# sigma), and it exists only if no group of answers *always* wins against the rest (Zermelo
# 1929; Ford 1957). With 9331 sentences, rarely sampled ones are compared once or twice and
# always win or always lose: the data are *separable*. The fit says so instead of returning
# huge numbers:

# %%
fit0 = mt.rlhf.fit_reward_model(lm, prefs)
print(fit0.converged, fit0.message[:260], "...")

# %% [markdown]
# A small ridge penalty (a Gaussian prior on each reward) makes the maximum unique and
# finite. On the sentences compared often the fitted reward tracks the gold one, up to the
# constant:

# %%
fit = mt.rlhf.fit_reward_model(lm, prefs, l2=0.1)
print(fit.message)
counts = np.bincount(np.concatenate([prefs.chosen, prefs.rejected]), minlength=len(r))
often = counts >= 200
shift = np.mean(r[often] - fit.rewards[often])
print(f"{often.sum()} sentences compared >= 200 times: corr(fit, gold) = "
      f"{np.corrcoef(fit.rewards[often], r[often])[0, 1]:.3f}, "
      f"max |fit + c - gold| = {np.abs(fit.rewards[often] + shift - r[often]).max():.3f}")

# %% [markdown]
# ## 2. DPO finds the optimum of the RLHF objective
#
# DPO minimizes L(theta) = mean_k -log sigma(beta * h_k) with the margin
# h = log pi(y_w)/pi_ref(y_w) - log pi(y_l)/pi_ref(y_l). Rafailov et al. (2023, §4–5) show
# that, on the *population* of Bradley–Terry pairs, its minimizer is p*_beta, the exact optimum
# of J_beta. We check it on a smaller toy (max_len 2: 43 sentences), giving every ordered pair
# its exact probability as a weight:

# %%
small = mt.language.toy(max_len=2)
N = len(small.sequences)
p_small = small.sequence_probability_array(small.reference_policy)
i, j = (a.ravel() for a in np.meshgrid(np.arange(N), np.arange(N), indexing="ij"))
i, j = i[i != j], j[i != j]
weights = p_small[i] * p_small[j] / (1 + np.exp(-(small.rewards[i] - small.rewards[j])))
population = mt.rlhf.Preferences(i, j, weights=weights)
beta = 0.5
dpo_pop = mt.rlhf.preference_optimization(small, population, beta=beta, lr=20.0,
                                          iterations=2000)
gibbs = small.sequence_probability_array(mt.rlhf.optimal_policy(small, beta))
print(dpo_pop.message)
print("max |p_DPO - p*_beta| =",
      np.abs(small.sequence_probability_array(dpo_pop.policy) - gibbs).max())
assert np.allclose(small.sequence_probability_array(dpo_pop.policy), gibbs, atol=1e-5)

# %% [markdown]
# (We passed a step size 7.5 times the conservative default, and it still takes a couple of
# thousand steps: the gradient with respect to the logits of a rare sentence is proportional
# to its probability, so plain gradient descent is slow on the tails of the distribution.)

# %% [markdown]
# With a finite sample of pairs, DPO optimizes the reward implied by that sample instead —
# and our sample is separable (section 1), so that loss has no minimizer at all: the message
# says so, and the number of steps acts as the regularizer. Its trajectory in the
# (KL, expected gold reward) plane still stays close to the exact frontier traced by p*_beta
# as beta varies (`mt.plot.reward_kl_frontier`): every point of the frontier is the best
# expected reward any policy reaches at that KL.

# %%
dpo = mt.rlhf.preference_optimization(lm, prefs, beta=0.3, iterations=150)
print(dpo.message[:200], "...")
best = {f"best-of-{n}": mt.rlhf.best_of_n(lm, n) for n in (4, 16, 64)}
ax = mt.plot.reward_kl_frontier(lm, {"DPO, β = 0.3": dpo, **best})
ax.set_title("Expected gold reward against KL to the reference")
ax.figure.savefig("06_frontier.png", dpi=100)

# %% [markdown]
# ## 3. IPO vs DPO on deterministic preferences
#
# Suppose the labeller is *deterministic*: the higher reward always wins. Then every compared
# pair is one-sided, and the DPO loss -log sigma(beta h) keeps decreasing as h grows: it has no
# minimizer, and DPO drifts arbitrarily far from the reference however large beta is. IPO
# (Azar et al. 2023) regresses the margin to 1/(2 beta) instead, (h - 1/(2 beta))^2, so beta
# keeps its meaning as a regularizer. (The pairs share sentences and the margins add up,
# h(a, c) = h(a, b) + h(b, c), so not every margin can sit at 1/(2 beta): IPO settles at a
# least-squares compromise, with a bounded KL.)

# %%
greedy_chosen = np.where(r[prefs.chosen] >= r[prefs.rejected], prefs.chosen, prefs.rejected)
greedy_rejected = np.where(r[prefs.chosen] >= r[prefs.rejected], prefs.rejected, prefs.chosen)
keep = greedy_chosen != greedy_rejected
deterministic = mt.rlhf.Preferences(greedy_chosen[keep][:2000], greedy_rejected[keep][:2000])
beta = 0.5
runs = {name: mt.rlhf.preference_optimization(lm, deterministic, loss_type=name, beta=beta,
                                              iterations=300) for name in ("sigmoid", "ipo")}
for name, run in runs.items():
    print(f"{name:8s} converged={run.converged}  KL={run.history['kl'][-1]:.3f}  "
          f"mean margin={run.history['margin'][-1]:.3f}")
assert not runs["sigmoid"].converged and "no finite minimizer" in runs["sigmoid"].message
assert runs["ipo"].history["kl"][-1] < runs["sigmoid"].history["kl"][-1] / 5

fig, axes = plt.subplots(1, 2, figsize=(11, 4), layout="constrained")
for name, run in runs.items():
    axes[0].plot(run.history["margin"], label="DPO" if name == "sigmoid" else "IPO")
    axes[1].plot(run.history["kl"], label="DPO" if name == "sigmoid" else "IPO")
axes[0].axhline(1 / (2 * beta), color="gray", linestyle=":",
                label=r"IPO's per-pair target $1/(2\beta)$")
axes[0].set_ylabel("mean margin h")
axes[1].set_ylabel(r"KL($\pi$ ‖ $\pi_{ref}$)")
for ax in axes:
    ax.set_xlabel("iteration")
    ax.legend()
fig.savefig("06_ipo_vs_dpo.png", dpi=100)

# %% [markdown]
# ## 4. Best-of-n and its KL
#
# Best-of-n draws n answers from pi_ref and keeps the best. Its distribution is exact
# (`mt.rlhf.best_of_n`), and its KL to the reference is at most log n - (n - 1)/n (Beirami et
# al. 2024) — the "analytical" formula often quoted as if it were the KL itself:

# %%
print(f"{'n':>5}  {'E[r]':>7}  {'KL':>6}  {'bound':>6}  win rate")
for n in (1, 2, 4, 16, 64, 256, 1024):
    bon = mt.rlhf.best_of_n(lm, n)
    print(f"{n:5d}  {bon.expected_reward:7.3f}  {bon.kl:6.3f}  {bon.kl_bound:6.3f}  "
          f"{bon.win_rate:.3f}")
    assert bon.kl <= bon.kl_bound + 1e-12

# %% [markdown]
# ## 5. Reward over-optimization
#
# Fit a proxy reward on a few thousand comparisons, then optimize it ever harder: by the exact
# optimum of the proxy objective as beta decreases, and by best-of-n as n grows. The proxy
# keeps rising; the gold reward rises, then falls — Goodhart's law, with the functional forms
# of Gao, Schulman & Hilton (2022) fitted to it.

# %%
over = mt.rlhf.overoptimization(lm, seed=0)
print(over)
ax = mt.plot.overoptimization(over)
ax.figure.savefig("06_overoptimization.png", dpi=100)

# %% [markdown]
# ## Exercises
#
# **Exercise 1 (Bradley–Terry by hand).** Sentence "the cat sat" beats "the mat" 3 times and
# loses once. Build the `Preferences`, fit the reward model, and check that the difference of
# the fitted rewards is log 3 and that the two rewards have mean 0.
#
# **Exercise 2 (label smoothing).** With label smoothing eps, DPO assumes each label is
# flipped with probability eps: the loss is -(1 - eps) log sigma(beta h) - eps log sigma(-beta h).
# Show that on one-sided data its minimizer is h = log((1 - eps)/eps) / beta, and check it with
# `preference_optimization(..., label_smoothing=0.1)` on the pair of exercise 1 (one-sided:
# 3 wins, no loss).

# %% [markdown]
# ### Solution to exercise 1

# %% tags=["solution"]
a, b = lm.sequence_index("the cat sat"), lm.sequence_index("the mat")
three_to_one = mt.rlhf.Preferences([a, a, a, b], [b, b, b, a])
solved = mt.rlhf.fit_reward_model(lm, three_to_one)
assert solved.converged
assert np.isclose(solved.rewards[a] - solved.rewards[b], np.log(3))
assert np.isclose(solved.rewards[a] + solved.rewards[b], 0.0)
print(solved.rewards[[a, b]])

# %% [markdown]
# ### Solution to exercise 2
#
# d/dh of the loss is beta * ( -(1 - eps) sigma(-beta h) + eps sigma(beta h) ), which vanishes
# when sigma(beta h) / sigma(-beta h) = exp(beta h) = (1 - eps) / eps.

# %% tags=["solution"]
eps, beta = 0.1, 0.5
one_sided = mt.rlhf.Preferences([a, a, a], [b, b, b])
smoothed = mt.rlhf.preference_optimization(lm, one_sided, beta=beta, label_smoothing=eps,
                                           iterations=3000, tol=1e-10)
p = lm.sequence_probability_array(smoothed.policy)
h = np.log(p[a] / p_ref[a]) - np.log(p[b] / p_ref[b])
print(smoothed.message)
print(f"margin {h:.6f}  vs  log((1 - eps)/eps)/beta = {np.log((1 - eps) / eps) / beta:.6f}")
assert np.isclose(h, np.log((1 - eps) / eps) / beta, atol=1e-6)
