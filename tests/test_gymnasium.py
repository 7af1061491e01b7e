"""MDP.from_gymnasium against gymnasium's own toy-text environments, and FrozenLake round trips.

gymnasium is a test-only dependency: the tests that need it are skipped without it; the ones on
raw ``P`` dicts and on the missing-package message run everywhere.
"""

import sys

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

import mdptoolkit as mt
from mdptoolkit import envs


def gymnasium_values(P, gamma, *, tol=1e-12, max_iter=100_000):
    """Value iteration written straight from gymnasium's semantics, by plain loops:
    Q(s, a) = sum over listed (p, s2, r, done) of p * (r + gamma * V(s2) * (not done))."""
    V = np.zeros(len(P))
    for _ in range(max_iter):
        V_new = np.array([max(sum(p * (r + (0.0 if done else gamma * V[s2]))
                                  for p, s2, r, done in P[s][a]) for a in P[s])
                          for s in range(len(P))])
        if np.abs(V_new - V).max() <= tol:
            return V_new
        V = V_new
    raise AssertionError("reference value iteration did not converge")


def toy_text():
    gym = pytest.importorskip("gymnasium")
    from gymnasium.envs import toy_text
    return gym, toy_text


# ------------------------------------------------------------------ FrozenLake
@pytest.mark.parametrize("map_name", ["4x4", "8x8"])
@pytest.mark.parametrize("is_slippery", [True, False])
def test_frozen_lake_model_equals_gymnasium(map_name, is_slippery):
    gym, _ = toy_text()
    env = gym.make("FrozenLake-v1", map_name=map_name, is_slippery=is_slippery)
    theirs = mt.MDP.from_gymnasium(env, 0.99)  # read through the wrappers, via .unwrapped
    ours = envs.frozen_lake(map_name, is_slippery=is_slippery).mdp
    assert theirs.n_states == ours.n_states  # holes and goal are gymnasium's own terminal states
    assert_allclose(theirs.P, ours.P, atol=1e-15)
    assert_allclose(theirs.R, ours.R, atol=1e-15)
    assert_array_equal(theirs.terminal, ours.terminal)
    assert_array_equal(theirs.mu, ours.mu)
    # hence the same values and the same optimal policy
    V_theirs = mt.value_iteration(theirs, tol=1e-10).V
    V_ours = mt.value_iteration(ours, tol=1e-10).V
    assert_allclose(V_theirs, V_ours, atol=1e-10)
    # and both are gymnasium's values, computed from env.P with its own semantics
    assert_allclose(V_ours, gymnasium_values(env.unwrapped.P, 0.99, tol=1e-11), atol=1e-8)


def test_frozen_lake_options_equal_gymnasium():
    gym, toy_text_envs = toy_text()
    desc = ["SFFH", "FHFF", "FFFG"]
    try:
        env = toy_text_envs.FrozenLakeEnv(desc=desc, success_rate=0.6,
                                          reward_schedule=(2.0, -1.0, -0.05))
    except TypeError:
        pytest.skip("this gymnasium's FrozenLake has no success_rate / reward_schedule")
    theirs = mt.MDP.from_gymnasium(env, 0.9)
    ours = envs.frozen_lake(desc=desc, success_rate=0.6, reward_schedule=(2.0, -1.0, -0.05),
                            gamma=0.9).mdp
    assert_allclose(theirs.P, ours.P, atol=1e-15)
    assert_allclose(theirs.R, ours.R, atol=1e-15)
    assert_allclose(mt.value_iteration(ours, tol=1e-10).V,
                    gymnasium_values(env.P, 0.9, tol=1e-11), atol=1e-8)


def success_within(mdp, policy, horizon):
    """Exact Pr(reaching a reward-1 terminal within horizon steps) from each state."""
    S = mdp.n_states
    P_pi = mdp.P[np.arange(S), policy]
    R_pi = mdp.R[np.arange(S), policy]
    V = np.zeros(S)
    for _ in range(horizon):
        V = R_pi + P_pi @ V
    return V


@pytest.mark.parametrize("map_name, episodes", [("4x4", 3000), ("8x8", 1500)])
def test_optimal_policy_rolled_out_in_gymnasium(map_name, episodes):
    # our optimal policy, run in the real env: its success rate matches the computed value
    gym, _ = toy_text()
    ours = envs.frozen_lake(map_name, gamma=1.0)
    policy = mt.value_iteration(ours.mdp, tol=1e-12).policy
    env = gym.make("FrozenLake-v1", map_name=map_name)  # TimeLimit: 100 or 200 steps
    limit = env.spec.max_episode_steps
    expected = success_within(ours.mdp, policy, limit)[0]
    wins = 0
    state, _ = env.reset(seed=20240601)
    for _ in range(episodes):
        done = False
        while not done:
            state, reward, terminated, truncated, _ = env.step(int(policy[state]))
            done = terminated or truncated
        wins += reward == 1.0
        state, _ = env.reset()
    env.close()
    rate = wins / episodes
    sigma = np.sqrt(expected * (1 - expected) / episodes)
    assert abs(rate - expected) <= 4.5 * sigma + 1e-12, (rate, expected, sigma)
    if map_name == "4x4":
        assert expected > 0.7  # the 100-step limit barely matters: V*(0) = 14/17 = 0.8235


# ------------------------------------------------------------------ CliffWalking
def test_cliff_walking_equals_gymnasium():
    gym, _ = toy_text()
    env = gym.make("CliffWalking-v1") if "CliffWalking-v1" in gym.registry else None
    if env is None:
        env = gym.make("CliffWalking-v0")
    theirs = mt.MDP.from_gymnasium(env, 1.0)
    # stepping onto the goal is terminated, but gymnasium gives the goal cell dynamics of its
    # own: the terminated steps go to the extra absorbing state 48
    assert theirs.n_states == 49
    assert_array_equal(np.flatnonzero(theirs.terminal), [48])
    assert theirs.mu[36] == 1.0 and theirs.mu[48] == 0.0
    ours = envs.cliff_walking()
    V_theirs = mt.value_iteration(theirs).V
    V_ours = mt.value_iteration(ours.mdp).V
    normal = ~ours.mdp.terminal  # cliff cells and the goal are modelled differently
    assert_allclose(V_theirs[:48][normal], V_ours[normal], atol=1e-9)
    assert V_theirs[36] == pytest.approx(-13.0)
    assert_allclose(V_theirs[:48], gymnasium_values(env.unwrapped.P, 1.0), atol=1e-9)


def test_slippery_cliff_walking_equals_gridworld():
    gym, toy_text_envs = toy_text()
    try:
        env = toy_text_envs.CliffWalkingEnv(is_slippery=True)
    except TypeError:
        pytest.skip("this gymnasium's CliffWalking has no is_slippery")
    theirs = mt.MDP.from_gymnasium(env, 0.95)
    layout = ["." * 12] * 3 + ["S" + "C" * 10 + "G"]
    ours = envs.gridworld(layout, gamma=0.95, slip=2 / 3, step_reward=-1.0, rewards={"G": 0.0})
    normal = ~ours.mdp.terminal
    assert_allclose(theirs.P[:48][normal][:, :, :48], ours.mdp.P[normal][:, :, :48] *
                    (np.arange(48) != 47), atol=1e-15)  # into the goal: state 48 for them
    assert_allclose(theirs.R[:48][normal], ours.mdp.R[normal], atol=1e-12)
    assert_allclose(mt.value_iteration(theirs, tol=1e-10).V[:48][normal],
                    mt.value_iteration(ours.mdp, tol=1e-10).V[normal], atol=1e-8)


# ------------------------------------------------------------------ Taxi
@pytest.mark.parametrize("rainy", [False, True])
def test_taxi_values_equal_gymnasium(rainy):
    gym, toy_text_envs = toy_text()
    try:
        env = toy_text_envs.TaxiEnv(is_rainy=True) if rainy else toy_text_envs.TaxiEnv()
    except TypeError:
        pytest.skip("this gymnasium's Taxi has no is_rainy")
    mdp = mt.MDP.from_gymnasium(env, 0.9)
    # the drop-off is terminated but its target state keeps Taxi's dynamics: extra state 500
    assert mdp.n_states == 501 and mdp.terminal[500] and mdp.terminal.sum() == 1
    assert_allclose(mdp.mu[:500], env.initial_state_distrib)
    result = mt.value_iteration(mdp, tol=1e-10)
    assert_allclose(result.V[:500], gymnasium_values(env.P, 0.9, tol=1e-11), atol=1e-8)
    if not rainy:  # the optimal policy, run in the real env, delivers from every start
        for start in np.flatnonzero(env.initial_state_distrib):
            env.reset(seed=0)
            env.unwrapped.s = int(start)
            for _ in range(30):
                _, reward, terminated, _, _ = env.step(int(result.policy[env.unwrapped.s]))
                if terminated:
                    break
            assert terminated and reward == 20, start


def test_taxi_from_wrapped_env_and_sparse():
    gym, _ = toy_text()
    taxi_id = max(k for k in gym.registry if k.startswith("Taxi-"))
    dense = mt.MDP.from_gymnasium(gym.make(taxi_id), 0.9)
    sparse = mt.MDP.from_gymnasium(taxi_id, 0.9, sparse=True)  # an env id works too
    assert sparse.is_sparse and not dense.is_sparse
    assert_allclose(sparse.P.toarray(), dense.P.reshape(-1, 501))
    assert_allclose(mt.value_iteration(sparse).V, mt.value_iteration(dense).V, atol=1e-12)


# ------------------------------------------------------------------ raw P dicts
def test_duplicates_add_up_and_rewards_are_expected():
    P = {0: {0: [(0.25, 1, 2.0, False), (0.25, 1, 6.0, False), (0.5, 0, -1.0, False)],
             1: [(1.0, 1, 0.0, False)]},
         1: {0: [(1.0, 1, 0.0, True)], 1: [(1.0, 1, 0.0, True)]}}
    mdp = mt.MDP.from_gymnasium(P, 0.5)
    assert mdp.n_states == 2
    assert_allclose(mdp.P[0, 0], [0.5, 0.5])
    assert mdp.R[0, 0] == pytest.approx(0.25 * 2 + 0.25 * 6 - 0.5)
    assert_array_equal(mdp.terminal, [False, True])  # all-terminated, zero-reward rows
    assert_allclose(mdp.mu, [0.5, 0.5])


def test_terminated_transitions_stop_bootstrapping():
    # state 1 is entered by a terminated step but has dynamics of its own (reward 5 per step)
    P = {0: {0: [(0.5, 1, 1.0, True), (0.5, 0, 0.0, False)]},
         1: {0: [(1.0, 1, 5.0, False)]}}
    mdp = mt.MDP.from_gymnasium(P, 0.9, mu=[1.0, 0.0])
    assert mdp.n_states == 3 and mdp.terminal.tolist() == [False, False, True]
    assert_allclose(mdp.P[0, 0], [0.5, 0.0, 0.5])
    assert_allclose(mdp.mu, [1.0, 0.0, 0.0])
    V = mt.evaluate_policy(mdp, np.zeros(3, dtype=int))
    # V(0) = 0.5 * 1 + 0.5 * 0.9 V(0)  =>  V(0) = 0.5 / 0.55; V(1) = 5 / 0.1
    assert_allclose(V, [0.5 / 0.55, 50.0, 0.0])
    assert_allclose(V[:2], gymnasium_values(P, 0.9), atol=1e-9)


def test_missing_action_is_disallowed():
    P = {0: {0: [(1.0, 1, 1.0, True)], 1: [(1.0, 0, 0.0, False)]},
         1: {0: [(1.0, 1, 0.0, True)]}}
    mdp = mt.MDP.from_gymnasium(P, 0.9)
    assert_array_equal(mdp.allowed, [[True, True], [True, False]])
    assert mt.value_iteration(mdp).V[0] == pytest.approx(1.0)


@pytest.mark.parametrize("P, error, match", [
    ({0: {0: [(1.0, 0, 0.0)]}}, TypeError,
     r"P\[0\]\[0\] entries must be \(prob, next_state, reward, terminated\) tuples"),
    ({1: {0: [(1.0, 1, 0.0, False)]}}, mt.MDPValidationError,
     "P's states must be 0..S-1; got 1 keys from 1 to 1"),
    ({0: {0: [(1.0, 3, 0.0, False)]}}, mt.MDPValidationError,
     r"P's next states must be integers in 0..0; got 3"),
    ({0: {-1: [(1.0, 0, 0.0, False)]}}, mt.MDPValidationError,
     "P's actions must be integers 0..A-1; got -1"),
    ({0: {0: [(0.5, 0, 0.0, False)]}}, mt.MDPValidationError,
     r"row P\[0, 0, :\] sums to 0.5, expected 1"),
    ({0: [(1.0, 0, 0.0, False)]}, TypeError,
     r"P\[0\] must be a dict of actions to transition lists; got list"),
    ({}, mt.MDPValidationError, "P's states must be 0..S-1; got 0 keys"),
    ({0: {0: [(1.0, 1, 0.0, False)]}, 1: {}}, mt.MDPValidationError,
     "every state must list at least one action in P; got none at state 1"),
    ({0: {0: [5]}}, TypeError, r"P\[0\]\[0\] entries must be .*; got 5 at P\[0\]\[0\]\[0\]"),
])
def test_bad_P_dicts(P, error, match):
    with pytest.raises(error, match=match):
        mt.MDP.from_gymnasium(P, 0.9)


def test_bad_arguments():
    with pytest.raises(TypeError, match="env_or_P must be a gymnasium toy-text env .*; got list"):
        mt.MDP.from_gymnasium([1, 2], 0.9)
    with pytest.raises(TypeError, match="from_gymnasium derives terminal from P"):
        mt.MDP.from_gymnasium({0: {0: [(1.0, 0, 0.0, False)]}}, 0.9, terminal=[True])
    with pytest.raises(mt.MDPValidationError, match=r"gamma must be in \[0, 1\]; got 1.5"):
        mt.MDP.from_gymnasium({0: {0: [(1.0, 0, 0.0, False)]}}, 1.5)


def test_missing_gymnasium_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "gymnasium", None)  # import gymnasium now fails
    with pytest.raises(ImportError, match="pip install gymnasium"):
        mt.MDP.from_gymnasium("FrozenLake-v1", 0.9)


# ------------------------------------------------------------------ MDP.to_gymnasium
def gym_view_mdp(sparse):
    """A random MDP with a masked action and a terminal state, dense or sparse."""
    mdp = envs.random_mdp(6, 3, branching=3, sparse=sparse, seed=3).mdp
    allowed = np.ones((6, 3), dtype=bool)
    allowed[1, 2] = False
    terminal = np.zeros(6, dtype=bool)
    terminal[5] = True
    return mdp.replace(allowed=allowed, terminal=terminal)


@pytest.mark.parametrize("env", ["sutton_barto_4x4", "frozen_lake", "cliff_walking"])
def test_to_gymnasium_passes_gymnasiums_env_checker(env):
    pytest.importorskip("gymnasium")
    from gymnasium.utils.env_checker import check_env

    gym_env = getattr(envs, env)().mdp.to_gymnasium(max_episode_steps=30)
    check_env(gym_env, skip_render_check=True)


def test_to_gymnasium_of_a_grid_renders_the_map_and_passes_the_checker():
    pytest.importorskip("gymnasium")
    from gymnasium.utils.env_checker import check_env

    env = envs.russell_norvig_4x3().to_gymnasium(render_mode="ansi")
    check_env(env)
    state, _ = env.reset(seed=1)
    assert state == 8  # mu: the start cell S
    assert env.render() == "...+\n.#.-\n@...\n"


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
def test_to_gymnasium_samples_next_states_with_the_frequencies_of_P(sparse):
    pytest.importorskip("gymnasium")
    mdp = gym_view_mdp(sparse)
    P = mdp.P.toarray().reshape(6, 3, 6) if sparse else np.asarray(mdp.P)
    n = 4000
    for s, a in [(0, 0), (2, 1), (4, 2)]:
        env = mdp.replace(mu=np.eye(6)[s]).to_gymnasium()
        env.reset(seed=s)
        counts = np.zeros(6)
        for _ in range(n):
            assert env.reset()[0] == s
            s2, reward, terminated, truncated, info = env.step(a)
            counts[s2] += 1
            assert reward == mdp.R[s, a]
            assert terminated == bool(mdp.terminal[s2]) and not truncated
        p = P[s, a]
        # within 4.5 binomial standard errors (a false alarm about once in 10^5 cells)
        assert np.all(np.abs(counts / n - p) <= 4.5 * np.sqrt(p * (1 - p) / n) + 1e-12), (
            s, a, counts / n, p)


def test_to_gymnasium_resets_from_mu_reproducibly():
    pytest.importorskip("gymnasium")
    mdp = gym_view_mdp(False).replace(mu=[0.5, 0.0, 0.25, 0.25, 0.0, 0.0])
    env = mdp.to_gymnasium()
    starts = np.array([env.reset(seed=k)[0] for k in range(2000)])
    assert set(starts.tolist()) <= {0, 2, 3}
    assert abs(np.mean(starts == 0) - 0.5) < 4.5 * np.sqrt(0.25 / 2000)
    assert [env.reset(seed=7)[0] for _ in range(2)] == [env.reset(seed=7)[0]] * 2


def test_to_gymnasium_action_mask_and_disallowed_action():
    pytest.importorskip("gymnasium")
    mdp = gym_view_mdp(False).replace(mu=np.eye(6)[1])
    env = mdp.to_gymnasium()
    state, info = env.reset(seed=0)
    assert state == 1
    assert info["action_mask"].dtype == np.int8
    assert_array_equal(info["action_mask"], [1, 1, 0])
    with pytest.raises(ValueError, match=r"action must be allowed in the current state; got "
                                         r"action 2 at state 1 \(allowed: \[0, 1\]"):
        env.step(2)
    with pytest.raises(ValueError, match="action must be an integer in 0..2; got 3 at state 1"):
        env.step(3)
    _, _, _, _, info = env.step(np.int64(0))  # numpy integers are actions too
    assert_array_equal(info["action_mask"], mdp.allowed[env.unwrapped._state].astype(np.int8))


def test_to_gymnasium_truncates_after_max_episode_steps():
    pytest.importorskip("gymnasium")
    # Sutton & Barto's 5x5 grid has no terminal state: every episode is truncated
    env = envs.sutton_barto_5x5().mdp.to_gymnasium(max_episode_steps=7)
    env.reset(seed=0)
    flags = [env.step(1)[2:4] for _ in range(7)]
    assert flags == [(False, False)] * 6 + [(False, True)]
    env.reset()
    assert env.step(0)[3] is False  # reset starts a new count
    with pytest.raises(ValueError, match="max_episode_steps must be >= 1; got 0"):
        envs.sutton_barto_5x5().mdp.to_gymnasium(max_episode_steps=0)


def test_to_gymnasium_terminates_on_reaching_a_terminal_state():
    pytest.importorskip("gymnasium")
    env = envs.gridworld(["S.G"], gamma=1.0).mdp.to_gymnasium(max_episode_steps=2)
    env.reset(seed=0)
    right = 1
    assert env.step(right)[1:4] == (0.0, False, False)
    assert env.step(right)[1:4] == (1.0, True, False)  # terminated, not truncated


def test_import_mdptoolkit_does_not_import_gymnasium():
    code = "import sys, mdptoolkit; print('gymnasium' in sys.modules)"
    import subprocess
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_to_gymnasium_without_gymnasium_says_how_to_install(monkeypatch):
    from mdptoolkit import gym_env

    monkeypatch.setitem(sys.modules, "gymnasium", None)
    monkeypatch.setattr(gym_env, "_CLASS", {})
    with pytest.raises(ImportError, match="pip install gymnasium"):
        envs.sutton_barto_4x4().mdp.to_gymnasium()
