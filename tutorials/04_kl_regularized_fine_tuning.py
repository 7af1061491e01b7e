# %% [markdown]
# # Tutorial 4 — The KL-regularized objective of RL fine-tuning
#
# Tutorial 3 ended with a problem: the optimum of E[r(y)] is a single sentence, and all the
# diversity of the reference model pi_ref is gone. RL fine-tuning of language models
# (Ziegler et al. 2019; Ouyang et al. 2022) therefore maximizes a *regularized* objective
# with a temperature beta > 0:
#
#     J_beta(pi) = E_{y ~ pi}[ r(y) ] - beta * KL( pi || pi_ref ).
#
# In MDP terms this is the return with the per-step reward
# R(s, a) - beta * KL(pi(.|s) || pi_ref(.|s)): transitions are deterministic, so the per-token
# KL terms along a sentence add up to the sentence-level KL (the chain rule of KL). Its
# optimum solves the **soft Bellman equation**
#
#     V*_beta(s) = beta * log sum_a pi_ref(a|s) exp( Q*_beta(s, a) / beta ),
#     pi*(a|s) proportional to pi_ref(a|s) exp( Q*_beta(s, a) / beta ),
#
# and on a language MDP it has a closed form: the reference model tilted by the reward,
#
#     p*(y) = pi_ref(y) exp( r(y) / beta ) / Z,    Z = sum_y pi_ref(y) exp( r(y) / beta ),
#     V*_beta(<bos>) = beta * log Z.
#
# We compute it by soft value iteration, check it against brute-force enumeration of all
# sentences, see what beta does, and let natural policy gradient find it.

# %%
import matplotlib.pyplot as plt
import numpy as np

import mdptoolkit as mt
from mdptoolkit.testing import assert_optimal_policy

lm = mt.language.toy()
mdp, ref = lm.mdp, lm.reference_policy
r = lm.rewards  # r(y) for every complete sentence y, by sequence index
p_ref = lm.sequence_probability_array(ref)  # pi_ref(y), same indexing
print(f"{len(r)} sentences; pi_ref sums to {p_ref.sum():.12f}")


def kl(p, q):
    """KL(p || q) between two distributions over sentences."""
    support = p > 0
    return float(np.sum(p[support] * np.log(p[support] / q[support])))


# %% [markdown]
# ## 1. Per-token KL = sentence KL
#
# `mt.expected_return(mdp, pi, beta=beta, reference=ref)` evaluates the regularized objective
# from per-step rewards. For any policy — here the uniform one — it equals
# E_pi[r] - beta * KL(pi || pi_ref) computed over whole sentences:

# %%
beta = 0.3
uniform = np.full((mdp.n_states, mdp.n_actions), 1 / mdp.n_actions)
p_uniform = lm.sequence_probability_array(uniform)
per_step = mt.expected_return(mdp, uniform, beta=beta, reference=ref)
sentence_level = p_uniform @ r - beta * kl(p_uniform, p_ref)
print(f"per-step: {per_step:.10f}   sentence-level: {sentence_level:.10f}")
assert np.isclose(per_step, sentence_level)

# %% [markdown]
# ## 2. Soft value iteration, and the tilted reference by brute force

# %%
soft = mt.soft_value_iteration(mdp, beta, reference=ref, tol=1e-12)
print(soft.message)
p_soft = lm.sequence_probability_array(soft.policy)

w = p_ref * np.exp((r - r.max()) / beta)  # pi_ref(y) exp(r(y)/beta), scaled for stability
p_star = w / w.sum()
log_Z = np.log(w.sum()) + r.max() / beta
np.testing.assert_allclose(p_soft, p_star, atol=1e-12)
assert np.isclose(soft.V[0], beta * log_Z)
print(f"V*_beta(<bos>) = {soft.V[0]:.10f} = beta log Z = {beta * log_Z:.10f}")
for y, p in lm.top_sequences(soft.policy, 4):
    print(f"  p*({' '.join(y)!r}) = {p:.4f}   (pi_ref: {p_ref[lm.sequence_index(y)]:.4f})")

# %% [markdown]
# ## 3. What beta does
#
# Small beta: the optimum chases the reward and moves far from pi_ref (large KL). Large beta:
# it stays close to pi_ref and earns little more than it. In between lies the trade-off
# that fine-tuning tunes.

# %%
betas = [0.1, 0.2, 0.3, 0.5, 1.0, 3.0]
rows = []
print(f"{'beta':>5}  {'E[r]':>8}  {'KL':>6}  {'J_beta':>8}  most likely sentence")
for b in betas:
    policy = mt.soft_value_iteration(mdp, b, reference=ref, tol=1e-12).policy
    p = lm.sequence_probability_array(policy)
    rows.append((b, p @ r, kl(p, p_ref), policy))
    (y, top), = lm.top_sequences(policy, 1)
    print(f"{b:5.2f}  {p @ r:8.4f}  {kl(p, p_ref):6.3f}  {p @ r - b * kl(p, p_ref):8.4f}  "
          f"{' '.join(y)!r} ({top:.2f})")

# %% [markdown]
# The whole curve, from the closed form p* (checked above) on a fine grid of beta, with the
# values of the table as dots:

# %%
curve = []
for b in np.geomspace(0.02, 20, 60):
    w_b = p_ref * np.exp((r - r.max()) / b)
    p_b = w_b / w_b.sum()
    curve.append((kl(p_b, p_ref), p_b @ r))

fig, ax = plt.subplots(figsize=(7, 4.5), layout="constrained")
ax.plot(*np.transpose(curve), color="C0", label=r"optimum $p^*_\beta$ as $\beta$ varies")
for b, e_r, k, _ in rows:
    ax.plot(k, e_r, "o", color="C0")
    ax.annotate(f"β = {b:g}", (k, e_r), textcoords="offset points", xytext=(7, -12))
ax.axhline(lm.reward_of("the cat sat"), color="black", linestyle="--",
           label="unregularized optimum: r('the cat sat')")
ax.axhline(p_ref @ r, color="gray", linestyle=":", label="reference model (no fine-tuning)")
ax.set_xlim(-0.1, 2.75)
ax.set_xlabel(r"KL($p^*_\beta$ ‖ $\pi_{ref}$)")
ax.set_ylabel("expected reward E[r(y)] of the optimum")
ax.set_title("The reward–KL trade-off of the regularized optimum")
ax.legend(loc="center right", fontsize="small")
fig.savefig("04_reward_vs_kl.png", dpi=100)

fig, axes = plt.subplots(2, 2, figsize=(12, 6.5), layout="constrained")
panels = [(f"optimum for β = {b:g}", policy) for b, _, _, policy in rows if b in (0.1, 0.3, 1.0)]
panels.append((r"reference model $\pi_{ref}$ (β → ∞)", ref))
for ax, (title, policy) in zip(axes.flat, panels):
    mt.plot.sequence_distribution(lm, policy, k=5, ax=ax, title=title)
fig.savefig("04_optimum_by_beta.png", dpi=100)

# %% [markdown]
# ## 4. Natural policy gradient reaches the regularized optimum
#
# `mt.policy_gradient(..., beta=beta, reference=ref)` ascends J_beta with exact gradients;
# its `optimum` is the soft DP optimum, and `history["gap"]` is measured against it. For the
# tabular softmax the natural step is theta += lr * A_beta (the soft advantage); with
# lr = 1/beta it is exactly soft policy iteration (Cen et al. 2021) and on a tree of depth 5
# it lands on the optimum in a handful of steps.

# %%
theta0 = np.log(ref)  # start from the reference model
runs = {
    "policy gradient (lr = 10)": mt.policy_gradient(mdp, beta=beta, reference=ref,
                                                    theta0=theta0, iterations=100),
    "natural PG (lr = 1)": mt.policy_gradient(mdp, natural=True, beta=beta, reference=ref,
                                              theta0=theta0, iterations=100),
    f"natural PG (lr = 1/β = {1 / beta:.3g})": mt.policy_gradient(
        mdp, natural=True, lr=1 / beta, beta=beta, reference=ref, theta0=theta0, iterations=100),
}
for name, run in runs.items():
    print(f"{name:28s} {run.iterations:4d} steps, gap {run.gap:.1e}")
    assert np.isclose(run.optimum, soft.V[0])

natural = runs["natural PG (lr = 1)"]
np.testing.assert_allclose(lm.sequence_probability_array(natural.policy), p_star, atol=1e-8)

# gaps at round-off level (<= 0) cannot go on a log axis: a marker at the bottom shows where
# each method reached the optimum exactly
ax = mt.plot.convergence(runs)
ax.set_title(f"KL-regularized objective, β = {beta}: gap to the soft DP optimum")
ax.figure.savefig("04_natural_pg.png", dpi=100)

# %% [markdown]
# ## Exercises
#
# **Exercise 1 (the reward is hidden in the optimum).** Invert the closed form: show that
# r(y) = beta * log( p*(y) / pi_ref(y) ) + beta * log Z for every sentence y, and check it
# numerically for beta = 0.3. (This identity is the starting point of direct preference
# optimization, Rafailov et al. 2023.)
#
# **Exercise 2 (beta -> 0).** Show that 0 <= J* - V*_beta(<bos>) <= beta * (-log pi_ref(y*)),
# with J* the unregularized optimum and y* = "the cat sat" its sentence (hint: Z is at least
# the term of y*). Check the bound for beta = 0.01 and 0.001, and check with
# `assert_optimal_policy` that at beta = 0.001 the most likely action of the soft optimum in
# every state is an optimal policy for the unregularized objective.

# %%
# Your answers to the exercises go here. (In the instructor's copy the solutions follow,
# in cells tagged "solution"; tutorials/README.md says how to strip them.)

# %% [markdown] tags=["solution"]
# ### Solution to exercise 1

# %% tags=["solution"]
recovered = beta * np.log(p_star / p_ref) + beta * log_Z
np.testing.assert_allclose(recovered, r, atol=1e-9)
print("max |recovered - r| =", np.abs(recovered - r).max())

# %% [markdown] tags=["solution"]
# ### Solution to exercise 2
#
# beta log Z >= beta log( pi_ref(y*) exp(r(y*)/beta) ) = J* + beta log pi_ref(y*), and
# beta log Z <= beta log( sum_y pi_ref(y) exp(J*/beta) ) = J*.

# %% tags=["solution"]
J_star = float(mdp.mu @ mt.policy_iteration(mdp).V)
p_ref_star = p_ref[lm.sequence_index("the cat sat")]
for b in (0.01, 0.001):
    soft_b = mt.soft_value_iteration(mdp, b, reference=ref, tol=1e-12)
    gap = J_star - soft_b.V[0]
    print(f"beta = {b}: J* - V*_beta = {gap:.6f} <= {b * -np.log(p_ref_star):.6f}")
    assert -1e-12 <= gap <= b * -np.log(p_ref_star) + 1e-12
assert_optimal_policy(mdp, soft_b.policy.argmax(axis=1))
