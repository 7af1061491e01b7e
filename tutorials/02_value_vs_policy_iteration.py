# %% [markdown]
# # Tutorial 2 — Value iteration vs policy iteration
#
# Two classic ways to solve the Bellman optimality equation V* = T V*, with
# (T V)(s) = max_a [ R(s, a) + gamma * sum_s' P(s'|s, a) V(s') ]:
#
# - **value iteration** applies T again and again: V_{k+1} = T V_k. Each step is cheap (one
#   matrix-vector product); it converges like gamma^k and must decide when to stop.
# - **policy iteration** (Howard) alternates *exact* evaluation of pi_k (a linear solve,
#   V^{pi_k} = (I - gamma P_{pi_k})^{-1} R_{pi_k}) and greedy improvement
#   pi_{k+1} = greedy(V^{pi_k}). Each step is expensive; it stops, exactly, after a handful.
#
# We reproduce Sutton & Barto (2018), *Reinforcement Learning: An Introduction*, 2nd ed.:
# Figure 4.1 (iterative policy evaluation on the 4x4 grid, Example 4.1) and Figure 3.5
# (v* and the optimal actions on the 5x5 grid, Example 3.5); then we compare the two
# algorithms' convergence and look at what value iteration's stopping rule guarantees.

# %%
import matplotlib.pyplot as plt
import numpy as np

import mdptoolkit as mt
from mdptoolkit import envs
from mdptoolkit.testing import assert_bellman_optimal, assert_optimal_policy, assert_policy_value

np.set_printoptions(precision=2, suppress=True, linewidth=100)

# %% [markdown]
# ## 1. Figure 4.1: iterative policy evaluation on the 4x4 grid
#
# Sixteen cells, the two shaded corners are terminal, every move earns -1, moves off the grid
# leave the agent in place, gamma = 1. The equiprobable random policy pi(a|s) = 1/4.
# Iterative policy evaluation applies the Bellman *expectation* operator,
# V_{k+1} = T^pi V_k, from V_0 = 0 (`mt.bellman_expectation`). The book's left column:

# %%
grid4 = envs.sutton_barto_4x4()
mdp4 = grid4.mdp
random_policy = np.full((mdp4.n_states, mdp4.n_actions), 0.25)

V_k = {0: np.zeros(mdp4.n_states)}
V = V_k[0]
for k in range(1, 11):
    V = mt.bellman_expectation(mdp4, V, random_policy)
    V_k[k] = V
V_k["inf"] = mt.evaluate_policy(mdp4, random_policy)  # the fixed point, by a linear solve
for k in (1, 2, 3, 10, "inf"):
    print(f"k = {k}:\n{V_k[k].reshape(4, 4)}")

# Figure 4.1, k = infinity (Sutton & Barto 2018)
book_41 = np.array([[0, -14, -20, -22],
                    [-14, -18, -20, -20],
                    [-20, -20, -18, -14],
                    [-22, -20, -14, 0]])
assert np.allclose(V_k["inf"].reshape(4, 4), book_41)
assert_policy_value(mdp4, random_policy, book_41.ravel(), atol=1e-9)

# %% [markdown]
# The right column of Figure 4.1 shows the policy that is greedy with respect to each V_k —
# every action whose one-step look-ahead R(s, a) + sum_s' P(s'|s, a) V_k(s') is largest.
# `mt.plot.values(grid, V, all_optimal=True)` draws exactly these arrows (all ties).

# %%
fig, axes = plt.subplots(2, 3, figsize=(14, 8.5), layout="constrained")
for ax, k in zip(axes.flat, (0, 1, 2, 3, 10, "inf")):
    mt.plot.values(grid4, V_k[k], all_optimal=True, ax=ax,
                   title=f"$v_k$ for k = {'∞' if k == 'inf' else k} and its greedy actions")
fig.suptitle("Sutton & Barto Figure 4.1: random-policy values and greedy policies")
fig.savefig("02_figure_4_1.png", dpi=100)

# %% [markdown]
# From k = 3 on, the greedy policy is already optimal, long before V_k has converged: the
# greedy policy of the *random* policy's values is optimal. The assertion helper agrees.

# %%
assert_optimal_policy(mdp4, mt.greedy_policy(mdp4, V_k[3]))
assert_optimal_policy(mdp4, mt.greedy_policy(mdp4, V_k["inf"]))

# %% [markdown]
# ## 2. Figure 3.5: v* and every optimal action on the 5x5 grid
#
# From A = (0, 1) every action jumps to A' = (4, 1) for +10, from B = (0, 3) to B' = (2, 3)
# for +5; bumping into the wall costs -1; gamma = 0.9. Value iteration gives v*:

# %%
grid5 = envs.sutton_barto_5x5()
mdp5 = grid5.mdp
vi = mt.value_iteration(mdp5, tol=1e-10)
print(vi.V.reshape(5, 5))

# Figure 3.5, middle panel (Sutton & Barto 2018)
book_35 = np.array([[22.0, 24.4, 22.0, 19.4, 17.5],
                    [19.8, 22.0, 19.8, 17.8, 16.0],
                    [17.8, 19.8, 17.8, 16.0, 14.4],
                    [16.0, 17.8, 16.0, 14.4, 13.0],
                    [14.4, 16.0, 14.4, 13.0, 11.7]])
assert np.allclose(vi.V.reshape(5, 5), book_35, atol=0.05)
assert_bellman_optimal(mdp5, vi.V, atol=1e-10)

ax = mt.plot.values(grid5, vi.V, all_optimal=True,
                    title="Sutton & Barto Figure 3.5: $v_*$ and all optimal actions")
ax.figure.savefig("02_figure_3_5.png", dpi=100)

# %% [markdown]
# ## 3. Convergence: value iteration vs policy iteration
#
# `result.history` holds one number per iteration. For value iteration the natural measure
# is `error_bound`, a *guaranteed* bound on max_s |V_k(s) - V*(s)| (section 4). Policy
# iteration is exact, so its measure is the gap J* - J(pi_k) with J(pi) = mu . V^pi.
# `mt.plot.convergence` picks each result's measure and draws them on a log scale; the two
# are not the same quantity, so policy iteration's gap gets its own axis, on the right. We add
# modified policy iteration (m = 5 cheap evaluation sweeps T^pi per greedy step), which sits
# in between, and do it for gamma = 0.9 (the book's) and gamma = 0.99.

# %%
fig, axes = plt.subplots(1, 2, figsize=(13, 4.8), layout="constrained")
for ax, gamma in zip(axes, (0.9, 0.99)):
    mdp = mdp5.replace(gamma=gamma)
    results = [mt.value_iteration(mdp, tol=1e-8),
               mt.modified_policy_iteration(mdp, m=5, tol=1e-8),
               mt.policy_iteration(mdp)]
    mt.plot.convergence(results, ax=ax)
    ax.set_title(f"5x5 grid, gamma = {gamma}")
    for r in results:
        print(f"gamma = {gamma}: {r.method:26s} {r.iterations:5d} iterations, "
              f"{r.history['elapsed'][-1] * 1e3:7.2f} ms")
fig.savefig("02_vi_vs_pi.png", dpi=100)

# %% [markdown]
# Value iteration needs hundreds of sweeps (thousands at gamma = 0.99: its error shrinks
# only like gamma^k), policy iteration three evaluations whatever gamma. On this small grid a
# 25 x 25 linear solve is cheap, so policy iteration also wins on the clock; on large MDPs one
# exact evaluation costs as much as very many sweeps, which is why modified policy iteration
# exists (compare the clocks with `mt.plot.convergence(results, x="elapsed")`). mdptoolkit's
# `policy_iteration` takes the middle road for gamma < 1: it evaluates each policy by sweeps
# warm-started from the previous policy's values, run until the span bound certifies the
# round-off level of a direct solve, and solves directly only when the sweeps would cost
# more (`result.history["sweeps"]` shows which: 0 means a direct solve). The policies are
# Howard's either way; `evaluation="direct"` gives the textbook algorithm to the letter.
#
# ## 4. The stopping rule, and why the last iterate is off by a constant
#
# When should value iteration stop? The textbook rule stops when
# max|V_{k+1} - V_k| < tol (1 - gamma) / (2 gamma). mdptoolkit uses a sharper one
# (MacQueen 1966; Puterman 2005, Thm 6.6.3). With m and M the min and max of T V - V,
#
#     T V + gamma/(1-gamma) * m  <=  V*  <=  T V + gamma/(1-gamma) * M    (every state).
#
# So V* is pinned down to a band whose width gamma/(1-gamma) (M - m) depends only on the
# *span* M - m of T V - V, not on its size. The solver returns the band's midpoint
# T V + gamma/(1-gamma) (m + M)/2 and stops when the band is narrow enough. The span can
# shrink much faster than gamma^k, because a *constant* error c shrinks by only a factor
# gamma per step (T(V + c) = T V + gamma c) but never affects the span.
#
# We see this on a random Garnet MDP (50 states, 4 actions, 5 successors per pair) at
# gamma = 0.99, redoing the iterations by hand to look inside.

# %%
garnet = envs.random_mdp(50, 4, branching=5, gamma=0.99, seed=0).mdp
V_star = mt.policy_iteration(garnet).V  # exact up to round-off
result = mt.value_iteration(garnet, tol=1e-6)
print(result.message)

gamma = garnet.gamma
V = np.zeros(garnet.n_states)
bound, err_corrected, err_plain = [], [], []
for k in range(result.iterations):
    TV = mt.bellman_optimality(garnet, V)
    m, M = (TV - V).min(), (TV - V).max()
    midpoint = TV + gamma / (1 - gamma) * (m + M) / 2
    bound.append(gamma / (1 - gamma) * (M - m) / 2)
    err_corrected.append(np.abs(midpoint - V_star).max())
    err_plain.append(np.abs(TV - V_star).max())
    V = TV

assert np.allclose(bound, result.history["error_bound"], rtol=1e-6)  # the solver's history
assert all(e <= b + 1e-9 for e, b in zip(err_corrected, bound))  # the bound holds every step
assert np.abs(result.V - V_star).max() <= 1e-6  # the guarantee at the stop

offset = TV - V_star  # the uncorrected last iterate
print(f"stopped after {result.iterations} iterations")
print(f"uncorrected T V - V*: between {offset.min():.6f} and {offset.max():.6f} (a constant)")
print(f"returned midpoint:    max|V - V*| = {np.abs(result.V - V_star).max():.2e}")
n_textbook = int(np.ceil(np.log(1e-6 * (1 - gamma) ** 2 / (2 * gamma * np.abs(V_star).max()))
                         / np.log(gamma)))
print(f"the sup-norm rule would need about {n_textbook} iterations")

# %%
fig, ax = plt.subplots(figsize=(7.5, 4.5), layout="constrained")
ks = np.arange(1, result.iterations + 1)
ax.semilogy(ks, bound, label="guaranteed bound (history['error_bound'])")
ax.semilogy(ks, err_corrected, "--", label="true error of the midpoint")
ax.semilogy(ks, err_plain, label="true error of the plain iterate $V_{k+1} = TV_k$")
ax.axhline(1e-6, color="black", linestyle=":", label="tol = 1e-6")
ax.set_xlabel("iteration k")
ax.set_ylabel(r"$\max_s |V(s) - V^*(s)|$")
ax.set_title(r"Garnet(50, 4, 5), $\gamma$ = 0.99: the span rule stops early")
ax.legend(fontsize="small", loc="upper right", bbox_to_anchor=(1, 0.92))
fig.savefig("02_stopping_rule.png", dpi=100)

# %% [markdown]
# The plain iterate is still off by a large constant when the rule stops (its error decays
# like 0.99^k); the midpoint correction removes exactly that constant. A solver that stops
# on the span but returns T V uncorrected is off by up to gamma/(1-gamma) max|m| — here
# about 60 per state, with a "converged" flag.
#
# ## 5. Without the model: Q-learning vs Sarsa on the cliff (Figure 6.4)
#
# Dynamic programming reads P and R. The sampling learners only *act*: `mt.q_learning` and
# `mt.sarsa` run epsilon-greedy episodes from mu and update Q from each step. Sutton & Barto's
# Figure 6.4 (Example 6.6, epsilon = 0.1, alpha = 0.5) plots the sum of rewards earned during
# each training episode: Q-learning learns the optimal path along the cliff edge (return -13)
# but, exploring, falls off now and then; Sarsa learns the longer safe path, whose online
# return is better. Each result keeps these sums in `result.returns`, and
# `mt.plot.learning_curves(..., key="returns")` averages them over runs (the book uses 100
# runs; 10 are enough to see it) and smooths them.

# %%
cliff = envs.cliff_walking()
runs = {name: [learn(cliff.mdp, episodes=500, alpha=0.5, epsilon=0.1, seed=k, eval_every=500)
               for k in range(10)]
        for name, learn in (("Sarsa", mt.sarsa), ("Q-learning", mt.q_learning))}
ax = mt.plot.learning_curves(runs, key="returns", smooth=10, band=False)
ax.set_ylim(-100, -10)  # the book's range
ax.set_title("Sutton & Barto Figure 6.4: cliff walking, epsilon = 0.1")
ax.figure.savefig("02_figure_6_4.png", dpi=100)
online = {name: np.mean([r.returns[-100:] for r in rs]) for name, rs in runs.items()}
print({name: round(float(v), 1) for name, v in online.items()})
assert online["Sarsa"] > online["Q-learning"]  # safe beats optimal, while exploring
assert all(r.J == -13 for r in runs["Q-learning"])  # ... but Q-learning's greedy path is optimal

# %% [markdown]
# ## Exercises
#
# **Exercise 1.** Gauss–Seidel value iteration updates states in place, in index order
# (`mt.value_iteration(mdp, gauss_seidel=True)`). On the 5x5 grid at gamma = 0.9, does it
# need fewer iterations? Check with `assert_bellman_optimal` that its answer is still within
# tol of v*, and with `assert_optimal_policy` that its greedy policy is optimal.
#
# **Exercise 2.** The 4x4 grid is undiscounted (gamma = 1): there the span bound does not
# exist and `tol` bounds only the residual (read `result.message`). Show that v*(s) is minus
# the number of steps to the nearest terminal corner, and check it with
# `assert_bellman_optimal`.

# %%
# Your answers to the exercises go here. (In the instructor's copy the solutions follow,
# in cells tagged "solution"; tutorials/README.md says how to strip them.)

# %% [markdown] tags=["solution"]
# ### Solution to exercise 1

# %% tags=["solution"]
jacobi = mt.value_iteration(mdp5, tol=1e-8)
seidel = mt.value_iteration(mdp5, tol=1e-8, gauss_seidel=True)
print(f"Jacobi: {jacobi.iterations} iterations, Gauss-Seidel: {seidel.iterations} iterations")
assert_bellman_optimal(mdp5, seidel.V, atol=1e-8)
assert_optimal_policy(mdp5, seidel.policy)

# %% [markdown] tags=["solution"]
# ### Solution to exercise 2

# %% tags=["solution"]
result4 = mt.value_iteration(mdp4)
print(result4.message)
rows, cols = np.divmod(np.arange(16), 4)
steps = np.minimum(rows + cols, (3 - rows) + (3 - cols))  # Manhattan distance to a corner
assert_bellman_optimal(mdp4, -steps.astype(float), atol=1e-9)
print((-steps).reshape(4, 4))
