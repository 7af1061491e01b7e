# %% [markdown]
# # Tutorial 1 — MDPs and the Bellman equations
#
# A finite Markov decision process (MDP) is a tuple (S, A, P, R, gamma, mu):
#
# - states `0..S-1` and actions `0..A-1`;
# - transition probabilities `P[s, a, s2]` = P(s' | s, a);
# - expected immediate rewards `R[s, a]` = R(s, a);
# - a discount factor gamma in [0, 1] and an initial-state distribution mu.
#
# A (stationary, Markov) policy pi picks actions: deterministic, an integer array of
# shape (S,), or stochastic, a float array pi[s, a] = pi(a | s) of shape (S, A).
#
# In this tutorial we build Puterman's two-state example by hand (Puterman 2005,
# *Markov Decision Processes*, §3.1), compute the value V^pi of a policy by
# solving a linear system ourselves, check it against `mt.evaluate_policy` and the test
# helper `mt.testing.assert_policy_value`, and then meet the Bellman *optimality* equation.
#
# Run it as a script (`python tutorials/01_mdps_and_bellman.py`) or open it as a notebook
# with jupytext (`jupytext --to notebook tutorials/01_mdps_and_bellman.py`).

# %%
import matplotlib.pyplot as plt
import numpy as np

import mdptoolkit as mt
from mdptoolkit.testing import assert_bellman_optimal, assert_optimal_policy, assert_policy_value

np.set_printoptions(precision=4, suppress=True)

# %% [markdown]
# ## 1. Building an MDP by hand
#
# Puterman's example has two states. In s1 there are two actions:
#
# - a11: reward 5, then stay in s1 or move to s2 with probability 1/2 each;
# - a12: reward 10, then move to s2 for sure.
#
# In s2 there is one action, a21: reward -1, stay in s2 forever.
#
# State s2 has only one action, so action index 1 is *not allowed* there: the `allowed`
# mask (S, A) says so, and no solver will ever choose it. The rows of P and R at a
# disallowed action may hold anything (here zeros).

# %%
S, A = 2, 2
P = np.zeros((S, A, S))
P[0, 0] = [0.5, 0.5]  # s1, a11
P[0, 1] = [0.0, 1.0]  # s1, a12
P[1, 0] = [0.0, 1.0]  # s2, a21
R = np.array([[5.0, 10.0],
              [-1.0, 0.0]])
allowed = np.array([[True, True],
                    [True, False]])
gamma = 0.95

mdp = mt.MDP(P, R, gamma, allowed=allowed, state_names=["s1", "s2"],
             action_names=["first (a11 / a21)", "second (a12)"])
print(mdp)

# %% [markdown]
# `mt.MDP` validates its input: every allowed row of P must be a probability distribution.
# Mistakes are reported with the offending state and action:

# %%
bad = P.copy()
bad[0, 0] = [0.5, 0.4]
try:
    mt.MDP(bad, R, gamma, allowed=allowed)
except mt.MDPValidationError as err:
    print("MDPValidationError:", err)

# %% [markdown]
# ## 2. The value of a policy: a linear system
#
# The value of a policy is the expected discounted return from each state,
# V^pi(s) = E[ sum_t gamma^t R(s_t, a_t) | s_0 = s ]. Conditioning on the first step gives
# the **Bellman expectation equation**
#
#     V^pi = R_pi + gamma * P_pi V^pi,
#
# with R_pi(s) = sum_a pi(a|s) R(s, a) and P_pi(s, s') = sum_a pi(a|s) P(s'|s, a). The right
# hand side is the Bellman expectation operator T^pi applied to V^pi, so V^pi is the fixed
# point of T^pi. For gamma < 1 the matrix I - gamma P_pi is invertible and
#
#     V^pi = (I - gamma P_pi)^{-1} R_pi      (solve the system, never form the inverse).
#
# Take the policy "grab the 10" that chooses a12 in s1 (and a21 in s2):

# %%
policy = np.array([1, 0])  # deterministic: one action index per state

pi = np.zeros((S, A))  # the same policy as an (S, A) matrix pi(a|s)
pi[np.arange(S), policy] = 1.0
R_pi = np.einsum("sa,sa->s", pi, R)  # R_pi(s) = sum_a pi(a|s) R(s, a)
P_pi = np.einsum("sa,sat->st", pi, P)  # P_pi(s, s') = sum_a pi(a|s) P(s'|s, a)
V_by_hand = np.linalg.solve(np.eye(S) - gamma * P_pi, R_pi)
print("V^pi by hand:          ", V_by_hand)
print("mt.evaluate_policy:    ", mt.evaluate_policy(mdp, policy))

# %% [markdown]
# In closed form: V^pi(s2) = -1 / (1 - 0.95) = -20 and V^pi(s1) = 10 + 0.95 * (-20) = -9.
#
# `mt.testing.assert_policy_value(mdp, policy, V)` checks a claimed value against an
# independent exact computation; it passes silently, or raises an `AssertionError` with a
# report in the style of `numpy.testing.assert_allclose` (tutorial 5 shows such reports).

# %%
assert_policy_value(mdp, policy, V_by_hand, atol=1e-10)
assert_policy_value(mdp, policy, [-9.0, -20.0], atol=1e-10)
V_pi = mt.evaluate_policy(mdp, policy)
print("T^pi V^pi - V^pi =", mt.bellman_expectation(mdp, V_pi, policy) - V_pi)

# %% [markdown]
# The same machinery works for a stochastic policy. Flip a fair coin in s1:

# %%
coin = np.array([[0.5, 0.5],
                 [1.0, 0.0]])
V_coin = np.linalg.solve(np.eye(S) - gamma * np.einsum("sa,sat->st", coin, P),
                         np.einsum("sa,sa->s", coin, R))
assert_policy_value(mdp, coin, V_coin, atol=1e-10)
print("V of the coin-flip policy:", V_coin)

# %% [markdown]
# ## 3. Action values, occupancy and the expected return
#
# The action value Q^pi(s, a) = R(s, a) + gamma * sum_s' P(s'|s, a) V^pi(s') is the return
# of taking a first and following pi afterwards (`mt.evaluate_q`; a disallowed action gets
# -inf). The discounted occupancy d^pi(s) = sum_t gamma^t Pr(s_t = s), s_0 ~ mu, counts
# (discounted) visits (`mt.occupancy`). The expected return J(pi) = mu . V^pi can be computed
# either way:
#
#     J(pi) = sum_s mu(s) V^pi(s) = sum_s d^pi(s) R_pi(s).

# %%
Q_pi = mt.evaluate_q(mdp, policy)
d_pi = mt.occupancy(mdp, policy)
print("Q^pi =\n", Q_pi)
print(f"d^pi = {d_pi}  (sums to 1 / (1 - gamma) = {d_pi.sum():.6g})")
J_values = mt.expected_return(mdp, policy)
J_occupancy = float(d_pi @ R_pi)
print(f"J(pi) = mu . V^pi = {J_values:.6f} = d^pi . R_pi = {J_occupancy:.6f}")
assert np.isclose(J_values, J_occupancy)

# %% [markdown]
# Note Q^pi(s1, a11) = -8.775 > Q^pi(s1, a12) = V^pi(s1) = -9: switching s1 to a11 for one
# step and then following pi is better than pi. That is the seed of policy improvement.
#
# ## 4. The Bellman optimality equation
#
# The optimal value V*(s) = max_pi V^pi(s) satisfies the **Bellman optimality equation**
#
#     V*(s) = max_a [ R(s, a) + gamma * sum_s' P(s'|s, a) V*(s') ],   i.e.  V* = T V*,
#
# and any policy greedy with respect to V* is optimal. Here there are only two
# deterministic policies, so we can enumerate them, and V* is their state-wise maximum:

# %%
for candidate in ([0, 0], [1, 0]):
    print(f"policy {candidate}: V = {mt.evaluate_policy(mdp, np.array(candidate))}")
V_star = np.maximum(mt.evaluate_policy(mdp, np.array([0, 0])),
                    mt.evaluate_policy(mdp, np.array([1, 0])))
print("V* =", V_star, " T V* - V* =", mt.bellman_optimality(mdp, V_star) - V_star)
print("greedy policy of V*:", mt.greedy_policy(mdp, V_star))

# %% [markdown]
# The far-sighted action a11 (reward 5) beats the greedy grab a12 (reward 10):
# V*(s1) = (5 + 0.95 * 0.5 * (-20)) / (1 - 0.95 * 0.5) = -8.5714...
#
# The assertion helpers check optimality against an independent reference solver:
# `assert_bellman_optimal(mdp, V)` bounds max|V - V*| (an error, not a Bellman residual) and
# `assert_optimal_policy(mdp, policy)` bounds max|V^policy - V*|.

# %%
assert_bellman_optimal(mdp, V_star, atol=1e-10)
assert_optimal_policy(mdp, np.array([0, 0]))
result = mt.value_iteration(mdp, tol=1e-10)
print(result)

# %% [markdown]
# ## 5. Why value iteration converges: T is a contraction
#
# T is a gamma-contraction in the sup norm: max|T U - T V| <= gamma max|U - V|. So the
# iterates V_{k+1} = T V_k converge to its unique fixed point V* from *any* start, with the
# error shrinking at least like gamma^k. Two very different starting points:

# %%
fig, ax = plt.subplots(figsize=(7, 4), layout="constrained")
for V0, style in ((np.zeros(S), "-"), (np.array([40.0, 20.0]), "--")):
    V, trace = V0, [V0]
    for _ in range(150):
        V = mt.bellman_optimality(mdp, V)
        trace.append(V)
    trace = np.array(trace)
    for s, name in enumerate(mdp.state_names):
        ax.plot(trace[:, s], style, color=f"C{s}",
                label=f"$V_k$({name}) from $V_0$ = ({V0[0]:g}, {V0[1]:g})")
for s in range(S):
    ax.axhline(V_star[s], color="black", linewidth=0.8, linestyle=":")
ax.set_xlabel("iteration k")
ax.set_ylabel("$V_k(s)$")
ax.set_title("Value iteration $V_{k+1} = T V_k$: every start reaches $V^*$ (dotted)")
ax.legend(fontsize="small")
fig.savefig("01_value_iteration_contraction.png", dpi=100)

# %% [markdown]
# ## Exercises
#
# **Exercise 1.** For small gamma the future matters little, so the greedy grab a12 should
# win in s1. Find the discount gamma_c at which the optimal action in s1 switches from a12 to
# a11. (Hint: write V(s1) for both policies as functions of gamma, with
# V(s2) = -1 / (1 - gamma), and equate them.) Then check with `assert_optimal_policy`
# that [1, 0] is optimal just below gamma_c and [0, 0] just above.
#
# **Exercise 2.** Build the three-state MDP below and compute by hand (with `numpy` only) the
# value of the stochastic policy `pi2`; check your answer with `assert_policy_value`.
#
# - s0 (a "study" state): action 0 "study" earns -1 and moves to s1 w.p. 0.8 (else stays);
#   action 1 "relax" earns +1 and stays.
# - s1 ("exam"): action 0 earns +20 and moves to s2; action 1 earns 0 and moves back to s0.
# - s2 is terminal (absorbing, reward 0).
#
# with gamma = 0.9 and pi2 = "study w.p. 0.7 in s0, take the exam w.p. 0.9 in s1". Finally,
# find the optimal policy by enumerating the 4 deterministic policies.

# %%
# Your answers to the exercises go here. (In the instructor's copy the solutions follow,
# in cells tagged "solution"; tutorials/README.md says how to strip them.)

# %% [markdown] tags=["solution"]
# ### Solution to exercise 1
#
# a12 gives V(s1) = 10 - gamma / (1 - gamma); a11 gives
# V(s1) = (5 - 0.5 gamma / (1 - gamma)) / (1 - 0.5 gamma). Equating and multiplying out gives
# 5.5 gamma^2 - 10.5 gamma + 5 = 0, with roots 10/11 and 1. So gamma_c = 10/11 = 0.909...

# %% tags=["solution"]
gamma_c = 10 / 11
assert_optimal_policy(mdp.replace(gamma=gamma_c - 0.01), np.array([1, 0]))
assert_optimal_policy(mdp.replace(gamma=gamma_c + 0.01), np.array([0, 0]))
for g in (gamma_c - 0.01, gamma_c + 0.01):
    print(f"gamma = {g:.4f}: optimal policy {mt.policy_iteration(mdp.replace(gamma=g)).policy}")

# %% [markdown] tags=["solution"]
# ### Solution to exercise 2

# %% tags=["solution"]
P3 = np.zeros((3, 2, 3))
P3[0, 0] = [0.2, 0.8, 0.0]  # study
P3[0, 1] = [1.0, 0.0, 0.0]  # relax
P3[1, 0] = [0.0, 0.0, 1.0]  # take the exam
P3[1, 1] = [1.0, 0.0, 0.0]  # go back to studying
P3[2, :, 2] = 1.0  # terminal: absorbing
R3 = np.array([[-1.0, 1.0],
               [20.0, 0.0],
               [0.0, 0.0]])
exam = mt.MDP(P3, R3, 0.9, terminal=[False, False, True])
pi2 = np.array([[0.7, 0.3],
                [0.9, 0.1],
                [1.0, 0.0]])

R2 = np.einsum("sa,sa->s", pi2, R3)
P2 = np.einsum("sa,sat->st", pi2, P3)
V2 = np.linalg.solve(np.eye(3) - 0.9 * P2, R2)
assert_policy_value(exam, pi2, V2, atol=1e-10)
print("V^pi2 =", V2)

# an optimal policy is best in every state at once, so it also has the largest sum of values
values = {(a0, a1): mt.evaluate_policy(exam, np.array([a0, a1, 0]))
          for a0 in (0, 1) for a1 in (0, 1)}
for p, V in values.items():
    print(f"policy {p}: V = {V}")
best = np.array([*max(values, key=lambda p: values[p].sum()), 0])
assert_optimal_policy(exam, best)
print("optimal policy:", best, "(study, then take the exam)")
