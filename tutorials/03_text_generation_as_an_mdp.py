# %% [markdown]
# # Tutorial 3 — Text generation as an MDP
#
# RL fine-tuning of a language model is an MDP in disguise, and with a tiny vocabulary it is
# a *finite* one that we can solve exactly. `mt.language.toy()` builds it:
#
# | MDP             | text generation                                                      |
# |-----------------|----------------------------------------------------------------------|
# | state s         | an unfinished prefix y_{<t} (a tuple of tokens); one terminal state  |
# | action a        | the next token: a word of the vocabulary, or `<eos>`                 |
# | transition P    | append the token; `<eos>` (or reaching max_len) completes y          |
# | reward R        | r(y), a "reward model" score of the finished text, paid at the end   |
# | policy pi(a\|s) | the language model: pi(y) = prod_t pi(y_t \| y_{<t})                 |
# | mu, gamma       | the empty prefix `<bos>`, gamma = 1                                  |
#
# So J(pi) = mu . V^pi = E_{y ~ pi}[ r(y) ]: the expected reward of a generated sentence.
# Because the state is the whole prefix, the MDP is a tree and V^pi, Q^pi and d^pi are
# computed exactly by one backward sweep. We solve it by dynamic programming, then by the
# methods used to fine-tune language models — exact policy gradient, natural policy
# gradient, actor-critic, and REINFORCE (sampled) — and compare each with the DP optimum.

# %%
import matplotlib.pyplot as plt
import numpy as np

import mdptoolkit as mt
from mdptoolkit.testing import assert_optimal_policy, assert_policy_value

lm = mt.language.toy()
mdp = lm.mdp
print(lm)
print("actions:", lm.actions)
print("a few states:", [" ".join(lm.prefixes[s]) or "<bos>" for s in (0, 1, 8, 50)])

# %% [markdown]
# ## 1. The reward model and the reference model
#
# The toy reward scores a sentence by its fluency under a small bigram model (the mean
# log-probability of `<bos> y <eos>`), adds a bonus of 1 when it contains the phrase
# "the cat sat", and subtracts 0.1 per token. The *reference* model pi_ref — the "pretrained
# model" that fine-tuning starts from — is that bigram model, trained on four sentences
# ("the cat sat on the mat", "the dog sat on the mat", "the cat sat", "the dog sat").

# %%
for sentence in ["the cat sat", "the dog sat", "the mat", "the cat sat on mat", "cat", ""]:
    print(f"r({sentence!r:22}) = {lm.reward_of(sentence):+.4f}")

ref = lm.reference_policy  # (S, A): pi_ref(a | prefix)
print(f"\nJ(pi_ref) = E_(y ~ pi_ref)[r(y)] = {mt.expected_return(mdp, ref):.4f}")
for y, p in lm.top_sequences(ref, 4):
    print(f"  pi_ref({' '.join(y)!r}) = {p:.3f}")

# %% [markdown]
# The reference model's favourite sentence, "the mat", is a bigram artefact (every "on the"
# is followed by "mat"); the sentence we reward comes second.
#
# ## 2. The dynamic-programming optimum
#
# The Bellman optimality equation on the tree says V*(prefix) = max over next tokens of the
# value after appending it; policy iteration (or value iteration: with gamma = 1 on a tree it
# is exact after max_len + 1 sweeps) solves it.

# %%
dp = mt.policy_iteration(mdp)
print(dp.message)
print("optimal sentence and its probability:", lm.top_sequences(dp.policy, 1))
J_star = float(mdp.mu @ dp.V)
print(f"J* = V*(<bos>) = {J_star:.4f} = r('the cat sat') = {lm.reward_of('the cat sat'):.4f}")
assert_optimal_policy(mdp, dp.policy)
assert abs(mt.value_iteration(mdp).V[0] - J_star) < 1e-12

# %% [markdown]
# ## 3. Policy-gradient methods
#
# Parametrize the model by a tabular softmax, pi_theta(a|s) proportional to exp theta[s, a],
# and start from the reference model (theta_0 = log pi_ref), as fine-tuning starts from the
# pretrained model. The policy gradient theorem gives the gradient *exactly*:
#
#     dJ / dtheta[s, a] = d^pi(s) * pi(a|s) * A^pi(s, a),    A^pi = Q^pi - V^pi,
#
# where d^pi(s) is here the probability that the prefix s is generated. We compare:
#
# - **policy gradient** (`mt.policy_gradient`): theta += lr * grad J;
# - **natural policy gradient** (`natural=True`): theta += lr * A^pi, the gradient
#   preconditioned by the Fisher information; it is not slowed down where d^pi(s) is tiny;
# - **actor-critic** (`mt.actor_critic`): the same update with a learned critic w in place
#   of V^pi (here its exact-expectation version, critic initialised at V^{pi_ref});
# - **REINFORCE** (`mt.reinforce`): the gradient *estimated* from sampled sentences,
#   sum_t (G_t - b(s_t)) grad log pi(a_t|s_t), with a learned value baseline b.
#
# Every result's `history` records the *exact* J(pi_k) and the gap J* - J(pi_k).

# %%
theta0 = np.log(ref)  # the reference model's logits
V_ref = mt.evaluate_policy(mdp, ref)
iterations = 100
exact_methods = {
    "policy gradient (lr = 10)": mt.policy_gradient(mdp, theta0=theta0, iterations=iterations),
    "natural policy gradient (lr = 1)": mt.policy_gradient(mdp, natural=True, theta0=theta0,
                                                           iterations=iterations),
    "natural actor-critic": mt.actor_critic(mdp, natural=True, theta0=theta0, w0=V_ref,
                                            iterations=iterations),
}
for name, result in exact_methods.items():
    print(f"{name:34s} gap {result.gap:.2e} after {result.iterations:3d} updates")

episodes = 600
reinforce_runs = [mt.reinforce(mdp, lr=1.0, episodes=episodes, theta0=theta0,
                               baseline="value", seed=seed, eval_every=20) for seed in range(3)]
sampled_ac = mt.sampled_actor_critic(mdp, actor_lr=1.0, critic_lr=0.5, episodes=episodes,
                                     theta0=theta0, seed=0, eval_every=20)
for run in reinforce_runs:
    (y, p), = lm.top_sequences(run.policy, 1)
    print(f"REINFORCE, {run.episodes} episodes: gap {run.gap:.2e}, "
          f"top sentence {' '.join(y)!r} with probability {p:.4f}")
print(f"sampled actor-critic, {episodes} episodes: gap {sampled_ac.gap:.2e}")

# %% [markdown]
# ## 4. Curves against the optimum
#
# Left: the gap of the exact methods on a log scale (`mt.plot.convergence`). Right: J of the
# sampled methods against the number of sentences sampled, with the DP optimum as a dashed
# line (`mt.plot.learning_curves`; the three REINFORCE seeds as a mean and a min–max band).

# %%
fig, (left, right) = plt.subplots(1, 2, figsize=(13, 4.8), layout="constrained")
mt.plot.convergence(exact_methods, ax=left)
left.set_title("Exact gradients: gap $J^* - J(\\pi_k)$")
mt.plot.learning_curves({"REINFORCE + value baseline": reinforce_runs,
                         "sampled actor-critic": sampled_ac}, ax=right)
right.set_title("Sampled gradients: $J(\\pi_k)$ vs sentences sampled")
fig.savefig("03_curves.png", dpi=100)

# %% [markdown]
# The natural gradient reaches the optimum to 1e-10 in a few dozen steps, the vanilla
# gradient slows down as the policy becomes nearly deterministic (the softmax saturates:
# the gradient d^pi pi A^pi vanishes as pi(a|s) -> 0 or 1). REINFORCE learns from samples
# only: once it generates "the cat sat" nearly always and its baseline has learned the
# return of that sentence, G_t - b(s_t) is 0, and it learns only from the rare samples of
# other sentences.
#
# ## 5. The distribution over sentences
#
# `lm.sequence_probabilities(policy)` gives the exact probability of every complete
# sentence; `mt.plot.sequence_distribution` draws the most likely ones.

# %%
fig, axes = plt.subplots(1, 3, figsize=(15, 3.8), layout="constrained")
for ax, (title, policy) in zip(axes, [("reference model $\\pi_{ref}$", ref),
                                      (f"REINFORCE after {episodes} sentences",
                                       reinforce_runs[0].policy),
                                      ("DP optimum", dp.policy)]):
    mt.plot.sequence_distribution(lm, policy, k=6, ax=ax, title=title)
    ax.set_ylim(5.5, -0.5)  # room for 6 bars in every panel, even with a single sentence
fig.savefig("03_sentences.png", dpi=100)

# %% [markdown]
# The unregularized optimum is a single deterministic sentence: all diversity of the
# reference model is lost. Tutorial 4 adds the KL penalty that RL fine-tuning uses to
# prevent that.
#
# ## Exercises
#
# **Exercise 1.** Verify the policy gradient theorem at theta_0: compute
# d^pi(s) pi(a|s) A^pi(s, a) yourself from `mt.occupancy`, `mt.evaluate_q` and
# `mt.evaluate_policy`, and compare with the exact gradient of `mt.exact_gradient`.
#
# **Exercise 2.** Change the reward model so that the bonus goes to "dog sat"
# (`mt.language.toy(target="dog sat")`). What is the new optimal sentence? Check the DP
# policy with `assert_optimal_policy`. Fine-tune the reference model with natural policy
# gradient and check that it reaches J* to 1e-6. Then try
# `assert_optimal_policy(dog.mdp, tuned.policy, atol=1e-6)`: why does it fail, although the
# fine-tuned model is optimal for J = mu . V?

# %%
# Your answers to the exercises go here. (In the instructor's copy the solutions follow,
# in cells tagged "solution"; tutorials/README.md says how to strip them.)

# %% [markdown] tags=["solution"]
# ### Solution to exercise 1

# %% tags=["solution"]
d = mt.occupancy(mdp, ref)
Q = mt.evaluate_q(mdp, ref)
V = mt.evaluate_policy(mdp, ref)
by_hand = d[:, None] * ref * (Q - V[:, None])
J0, grad = mt.exact_gradient(mdp, None, theta0)
np.testing.assert_allclose(by_hand, grad, atol=1e-12)
print(f"J(theta_0) = {J0:.4f}; largest gradient entry at prefix "
      f"{' '.join(lm.prefixes[np.unravel_index(grad.argmax(), grad.shape)[0]]) or '<bos>'!r}")

# %% [markdown] tags=["solution"]
# ### Solution to exercise 2

# %% tags=["solution"]
dog = mt.language.toy(target="dog sat")
best = mt.policy_iteration(dog.mdp)
assert_optimal_policy(dog.mdp, best.policy)
print("new optimum:", " ".join(dog.top_sequences(best.policy, 1)[0][0]))
tuned = mt.policy_gradient(dog.mdp, natural=True, theta0=np.log(dog.reference_policy),
                           iterations=200)
print(tuned.message)
assert tuned.optimum - tuned.J <= 1e-6
assert_policy_value(dog.mdp, tuned.policy, mt.evaluate_policy(dog.mdp, tuned.policy))
for y, p in dog.top_sequences(tuned.policy, 2):
    print(f"fine-tuned model: p({' '.join(y)!r}) = {p:.3g}")

# %% [markdown] tags=["solution"]
# `assert_optimal_policy` checks V^pi = V* in *every* state, but the gradient
# d^pi(s) pi(a|s) A^pi(s, a) is weighted by the probability d^pi(s) of reaching s. Prefixes
# the fine-tuned model (almost) never generates, such as "the mat", are left (almost) as the
# reference model had them: optimal for J = mu . V^pi, not in every state.

# %% tags=["solution"]
try:
    assert_optimal_policy(dog.mdp, tuned.policy, atol=1e-6)
except AssertionError as err:
    print("\n".join(str(err).splitlines()[:6]))
state = dog.state_of("the mat")
print(f"d^pi('the mat') = {mt.occupancy(dog.mdp, tuned.policy)[state]:.2e}")
