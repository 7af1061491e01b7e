# %% [markdown]
# # Tutorial 5 — Testing your own solver
#
# You have written a solver. How do you know it is right? Checking it on one textbook example
# catches little: bugs hide in corner cases (one state, gamma = 0, ties, absorbing states)
# and in stopping rules that are only *almost* right. `mt.testing` gives you two tools:
#
# - **assertion helpers** that compare a claim with an independent exact computation and
#   explain a failure:
#   `assert_bellman_optimal(mdp, V, atol)` (max_s |V(s) - V*(s)| <= atol),
#   `assert_policy_value(mdp, policy, V, atol)` (max_s |V(s) - V^pi(s)| <= atol) and
#   `assert_optimal_policy(mdp, policy, atol)` (max_s |V^pi(s) - V*(s)| <= atol);
# - **hypothesis strategies** `mdps()` and `policies(mdp)` that draw random valid MDPs and
#   policies, so that a property ("my V is optimal") is checked on many examples, and a
#   failure is *shrunk* to the smallest MDP that shows it.
#
# We write a deliberately simple value-iteration solver, test it, and then watch the tools
# catch a classic bug.

# %%
import numpy as np
from hypothesis import Phase, given, note, settings, strategies as st
from hypothesis.extra import numpy as hnp

import mdptoolkit as mt
from mdptoolkit.testing import assert_bellman_optimal, assert_optimal_policy, assert_policy_value
from mdptoolkit.testing.strategies import mdps, policies

# every property below runs on the same examples each time, quickly and without writing a
# .hypothesis/ folder; "explain" is left out to keep the failure reports short
checks = settings(max_examples=40, derandomize=True, database=None, deadline=None,
                  phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink])

# %% [markdown]
# ## 1. A tiny solver of our own
#
# Value iteration V_{k+1} = T V_k with (T V)(s) = max_a [R(s, a) + gamma sum_s' P(s'|s, a) V(s')],
# and the classic stopping rule (Puterman 2005, Thm 6.3.1): stop when
#
#     max_s |V_{k+1}(s) - V_k(s)| < tol * (1 - gamma) / (2 gamma).
#
# Then max_s |V_{k+1}(s) - V*(s)| < tol / 2, and the policy greedy with respect to V_{k+1} is
# tol-optimal: max_s |V^pi(s) - V*(s)| < tol. Those two guarantees are what we test.

# %%
def my_value_iteration(mdp, tol=1e-6):
    """Value iteration on a dense MDP; returns (V, greedy policy)."""
    P, R, gamma = np.asarray(mdp.P), np.asarray(mdp.R), mdp.gamma
    # with gamma = 0 one step is exact (hypothesis found the division by zero here)
    threshold = tol * (1 - gamma) / (2 * gamma) if gamma > 0 else np.inf
    V = np.zeros(mdp.n_states)
    while True:
        V_next = (R + gamma * P @ V).max(axis=1)  # P @ V: (S, A, S) @ (S,) -> (S, A)
        if np.abs(V_next - V).max() < threshold:
            break
        V = V_next
    policy = (R + gamma * P @ V_next).argmax(axis=1)  # greedy with respect to V_{k+1}
    return V_next, policy


def my_evaluate(mdp, policy):
    """V^pi = (I - gamma P_pi)^-1 R_pi for a deterministic (S,) or stochastic (S, A) policy."""
    S, A = mdp.n_states, mdp.n_actions
    pi = np.eye(A)[policy] if np.ndim(policy) == 1 else np.asarray(policy)
    R_pi = np.einsum("sa,sa->s", pi, np.asarray(mdp.R))
    P_pi = np.einsum("sa,sat->st", pi, np.asarray(mdp.P))
    return np.linalg.solve(np.eye(S) - mdp.gamma * P_pi, R_pi)


# %% [markdown]
# A first sanity check on a textbook example, Sutton & Barto's 5x5 grid (Example 3.5):

# %%
grid = mt.envs.sutton_barto_5x5()
V, policy = my_value_iteration(grid.mdp)
print(np.round(V.reshape(5, 5), 1))
assert_bellman_optimal(grid.mdp, V, atol=0.5e-6)
assert_optimal_policy(grid.mdp, policy, atol=1e-6)

# %% [markdown]
# ## 2. Property tests with hypothesis
#
# `mdps()` draws MDPs with 1–6 states, 1–3 actions and gamma in [0, 0.95] (read its docstring
# for the options: sparse, terminal states, allowed-action masks, ill-conditioned ones).
# `policies(mdp)` draws deterministic and stochastic policies of a drawn MDP; `st.data()`
# lets a test draw one thing after another.

# %%
@checks
@given(mdps())
def test_value_iteration_is_optimal(mdp):
    V, policy = my_value_iteration(mdp, tol=1e-6)
    assert_bellman_optimal(mdp, V, atol=0.5e-6)
    assert_optimal_policy(mdp, policy, atol=1e-6)


@checks
@given(st.data())
def test_evaluation(data):
    mdp = data.draw(mdps())
    policy = data.draw(policies(mdp))
    assert_policy_value(mdp, policy, my_evaluate(mdp, policy), atol=1e-9)


test_value_iteration_is_optimal()
test_evaluation()
print("both properties hold on 40 random MDPs each")

# %% [markdown]
# (In a test suite you would put these functions in `tests/test_my_solver.py` and let
# pytest call them; here we call them directly.)
#
# ## 3. Catching a bug
#
# A very common mistake: stop when the *residual* max|V_{k+1} - V_k| is below tol, and
# believe that V is then within tol of V*. It is not: the error can be as large as
# gamma / (1 - gamma) times the residual — 19 times at gamma = 0.95.

# %%
def buggy_value_iteration(mdp, tol=1e-6):
    P, R, gamma = np.asarray(mdp.P), np.asarray(mdp.R), mdp.gamma
    V = np.zeros(mdp.n_states)
    while True:
        V_next = (R + gamma * P @ V).max(axis=1)
        if np.abs(V_next - V).max() < tol:  # BUG: the residual is not the error
            return V_next, (R + gamma * P @ V_next).argmax(axis=1)
        V = V_next


# %% [markdown]
# On the 5x5 grid the helper fails and its report says how: how many states are off, the
# worst one with V and V* there, and the Bellman residual (small! that is the trap).

# %%
V_bad, _ = buggy_value_iteration(grid.mdp, tol=1e-6)
try:
    assert_bellman_optimal(grid.mdp, V_bad, atol=1e-6)
except AssertionError as err:
    print(err)

# %% [markdown]
# Hypothesis finds the bug without being told where to look, and shrinks the failing MDP to
# the simplest one it can: a single state with a single action. `note` adds the MDP's
# numbers to the report.

# %%
@checks
@given(mdps())
def test_buggy_value_iteration_is_optimal(mdp):
    note(f"P = {np.asarray(mdp.P).tolist()}, R = {mdp.R.tolist()}, gamma = {mdp.gamma}")
    V, _ = buggy_value_iteration(mdp, tol=1e-6)
    assert_bellman_optimal(mdp, V, atol=1e-6)


try:
    test_buggy_value_iteration_is_optimal()
    raise RuntimeError("the bug should have been found")
except AssertionError as err:
    print(err)
    print("\n".join(getattr(err, "__notes__", [])))

# %% [markdown]
# With one state, reward R and discount gamma, V* = R / (1 - gamma), and V_k = R (1 - gamma^k)
# / (1 - gamma) stops when the residual R gamma^k falls below tol, leaving the error
# R gamma^{k+1} / (1 - gamma) — above tol whenever gamma > 1/2.
#
# ## Exercises
#
# **Exercise 1.** `mdps(with_allowed=True)` draws MDPs in which some actions are not allowed
# (`mdp.allowed[s, a]` is False). Their rows of P are zero and their reward is a *tempting*
# 100, so a solver that ignores the mask picks them. Run `test_value_iteration_is_optimal`
# with this strategy: it fails. Fix `my_value_iteration` so that it only maximizes over
# allowed actions, and check that the test passes.
#
# **Exercise 2.** Write a property test of the fact that makes value iteration work: T is a
# gamma-contraction in the sup norm, max|T U - T V| <= gamma max|U - V|, for any MDP and any
# two value vectors U, V (draw them with `hypothesis.extra.numpy.arrays`). Use
# `mt.bellman_optimality` for T.

# %%
# Your answers to the exercises go here. (In the instructor's copy the solutions follow,
# in cells tagged "solution"; tutorials/README.md says how to strip them.)

# %% [markdown] tags=["solution"]
# ### Solution to exercise 1

# %% tags=["solution"]
@checks
@given(mdps(with_allowed=True))
def test_ignoring_the_mask(mdp):
    V, policy = my_value_iteration(mdp, tol=1e-6)
    assert_optimal_policy(mdp, policy, atol=1e-6)


try:
    test_ignoring_the_mask()
except AssertionError as err:
    print(str(err).splitlines()[1])  # e.g. "policy must choose allowed actions; ..."


def my_value_iteration_with_mask(mdp, tol=1e-6):
    P, gamma = np.asarray(mdp.P), mdp.gamma
    R = np.where(mdp.allowed, mdp.R, -np.inf)  # a disallowed action is never the max
    threshold = tol * (1 - gamma) / (2 * gamma) if gamma > 0 else np.inf
    V = np.zeros(mdp.n_states)
    while True:
        V_next = (R + gamma * P @ V).max(axis=1)
        if np.abs(V_next - V).max() < threshold:
            break
        V = V_next
    return V_next, (R + gamma * P @ V_next).argmax(axis=1)


@checks
@given(mdps(with_allowed=True))
def test_value_iteration_with_mask(mdp):
    V, policy = my_value_iteration_with_mask(mdp, tol=1e-6)
    assert_bellman_optimal(mdp, V, atol=0.5e-6)
    assert_optimal_policy(mdp, policy, atol=1e-6)


test_value_iteration_with_mask()
print("the masked solver passes")

# %% [markdown] tags=["solution"]
# ### Solution to exercise 2

# %% tags=["solution"]
@checks
@given(st.data())
def test_bellman_operator_is_a_contraction(data):
    mdp = data.draw(mdps())
    values = hnp.arrays(np.float64, mdp.n_states, elements=st.floats(-100, 100))
    U, V = data.draw(values), data.draw(values)
    lhs = np.abs(mt.bellman_optimality(mdp, U) - mt.bellman_optimality(mdp, V)).max()
    assert lhs <= mdp.gamma * np.abs(U - V).max() + 1e-9


test_bellman_operator_is_a_contraction()
print("T is a gamma-contraction on every MDP tried")
