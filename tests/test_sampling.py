"""Sampling-based learners against the exact answers (issue 5).

Every check runs at a fixed seed, so a red test is reproducible; thresholds are stated next to
the settings that meet them. Known answers cite Sutton & Barto (2018), *Reinforcement
Learning: An Introduction*, 2nd ed.
"""

import dataclasses

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy import stats

import mdptoolkit as mt
from mdptoolkit import envs, language
from mdptoolkit.sampling import (ControlResult, EstimatorStats, EvaluationResult,
                                 PolicySearchResult, Trajectories, gradient_estimates,
                                 gradient_estimator_stats, mc_evaluation, q_learning, reinforce,
                                 sampled_actor_critic, sarsa, simulate, td_evaluation)


# ---------------------------------------------------------------------- fixtures
def random_walk():
    """Sutton & Barto Example 6.2: terminal L, non-terminal A..E (states 1..5), terminal R;
    start in C; +1 on the exit to the right. Two actions (left, right) taken with probability
    1/2 each, so the sampled rewards are exactly the book's. True values 1/6, ..., 5/6."""
    P = np.zeros((7, 2, 7))
    for s in range(1, 6):
        P[s, 0, s - 1] = P[s, 1, s + 1] = 1.0
    P[0, :, 0] = P[6, :, 6] = 1.0
    R = np.zeros((7, 2))
    R[5, 1] = 1.0
    mu = np.zeros(7)
    mu[3] = 1.0
    terminal = np.zeros(7, bool)
    terminal[[0, 6]] = True
    return mt.MDP(P, R, 1.0, mu=mu, terminal=terminal,
                  state_names=["L", "A", "B", "C", "D", "E", "R"])


RANDOM_WALK_POLICY = np.full((7, 2), 0.5)
RANDOM_WALK_V = np.array([0, 1, 2, 3, 4, 5, 0]) / 6


@pytest.fixture(scope="module")
def toy_lm():
    return language.toy()


def log_reference(lm):
    """Tabular logits of the toy's reference policy pi_ref (the add-0.1 bigram model)."""
    ref = lm.reference_policy
    return np.log(np.where(ref > 0, ref, 1.0))


def bigram_param(lm):
    """The bigram LogLinear policy and the parameters at which it equals pi_ref."""
    table = language.bigram_reference(language.TOY_CORPUS, language.TOY_VOCAB, smoothing=0.1)
    param = mt.LogLinear(language.bigram_features(lm))
    theta = np.log(table).ravel()
    return param, theta


def shared_right(n_states=4):
    """One parameter shared by every state: the log-odds of "right" (Example 13.1)."""
    phi = np.zeros((n_states, 2, 1))
    phi[:, 1, 0] = 1.0
    return mt.LogLinear(phi)


def greedy_path(env, policy, start):
    """Cells visited by a deterministic policy in a deterministic grid, start to terminal."""
    P = np.asarray(env.mdp.P)
    s, path = start, [env.cell_of(start)]
    for _ in range(env.mdp.n_states):
        s = int(np.argmax(P[s, policy[s]]))
        path.append(env.cell_of(s))
        if env.mdp.terminal[s]:
            return path
    return path + ["(no terminal reached)"]


# ---------------------------------------------------------------------- reproducibility
def _small_runs():
    corridor = envs.short_corridor().mdp
    grid = envs.sutton_barto_4x4().mdp
    uniform = np.full((16, 4), 0.25)
    return {
        "simulate": lambda seed: simulate(grid, uniform, episodes=50, max_steps=30, seed=seed),
        "td_evaluation": lambda seed: td_evaluation(grid, uniform, episodes=20, seed=seed),
        "mc_evaluation": lambda seed: mc_evaluation(grid, uniform, episodes=20, seed=seed),
        "q_learning": lambda seed: q_learning(grid, episodes=20, seed=seed),
        "sarsa": lambda seed: sarsa(grid, episodes=20, seed=seed),
        "reinforce": lambda seed: reinforce(corridor, lr=0.1, episodes=20, baseline="value",
                                            seed=seed),
        "reinforce_batch": lambda seed: reinforce(corridor, lr=0.1, episodes=20, batch=5,
                                                  baseline="mean", seed=seed),
        "sampled_actor_critic": lambda seed: sampled_actor_critic(
            corridor, actor_lr=0.1, critic_lr=0.2, episodes=20, seed=seed),
        "gradient_estimates": lambda seed: gradient_estimates(
            corridor, None, None, estimator="actor_critic", n=50, seed=seed),
        "gradient_estimator_stats": lambda seed: gradient_estimator_stats(
            corridor, None, None, n=50, seed=seed),
    }


def _arrays(result):
    """Every array and number in a result, flattened to a list for comparison."""
    if isinstance(result, np.ndarray):
        return [result]
    if isinstance(result, dict):
        return [a for k in sorted(result) for a in _arrays(result[k])]
    out = []
    for f in dataclasses.fields(result):
        value = getattr(result, f.name)
        if f.name == "history":
            out += [np.asarray(value[k]) for k in sorted(value)]
        elif isinstance(value, (np.ndarray, float, int)):
            out.append(np.asarray(value))
    return out


RUNS = _small_runs()


@pytest.mark.parametrize("name", sorted(RUNS))
def test_same_seed_same_numbers_and_different_seeds_differ(name):
    run = RUNS[name]
    first, again, other = _arrays(run(7)), _arrays(run(7)), _arrays(run(8))
    assert len(first) == len(again)
    for a, b in zip(first, again):
        assert_array_equal(a, b)  # bit for bit (NaN-free, so equality is exact)
    assert any(a.shape != b.shape or not np.array_equal(a, b) for a, b in zip(first, other))


@pytest.mark.parametrize("name", ["simulate", "q_learning", "reinforce"])
def test_a_generator_seed_is_the_same_as_its_int(name):
    run = RUNS[name]
    for a, b in zip(_arrays(run(3)), _arrays(run(np.random.default_rng(3)))):
        assert_array_equal(a, b)


# ---------------------------------------------------------------------- simulate
def _garnet(kind):
    if kind == "dense":
        return envs.random_mdp(20, 3, branching=4, seed=5).mdp
    if kind == "sparse":
        return envs.random_mdp(20, 3, branching=4, sparse=True, seed=5).mdp
    return envs.random_mdp(40, 2, seed=5).mdp  # full rows: 40 successors, the searchsorted path


@pytest.mark.parametrize("kind", ["dense", "sparse", "dense_full_rows"])
def test_simulate_frequencies_match_P_pi_and_mu(kind):
    mdp = _garnet(kind)
    S, A = mdp.n_states, mdp.n_actions
    pi = np.random.default_rng(0).dirichlet(np.ones(A), size=S)
    traj = simulate(mdp, pi, episodes=2000, max_steps=25, seed=11)
    s, a, s2 = traj.states[:, :-1].ravel(), traj.actions.ravel(), traj.states[:, 1:].ravel()
    assert (s2 >= 0).all()  # no terminal states: every episode runs 25 steps
    P = mdp.P.toarray().reshape(S, A, S) if mdp.is_sparse else np.asarray(mdp.P)
    counts = np.zeros((S, A, S))
    np.add.at(counts, (s, a, s2), 1)
    assert counts[P == 0].sum() == 0  # never a transition of probability 0
    assert_multinomial_fit(counts.reshape(S * A, S), P.reshape(S * A, S))
    n_sa = counts.sum(axis=2)
    assert_multinomial_fit(n_sa, pi)  # actions against pi
    starts = np.bincount(traj.states[:, 0], minlength=S)
    assert_multinomial_fit(starts[None, :], mdp.mu[None, :])  # start states against mu


def assert_multinomial_fit(counts, probs, level=1e-3):
    """Counts (rows, k) against multinomial probabilities (rows, k), two ways:

    - Pearson's chi-square over every row, cells with expected count below 5 pooled into one
      bin per row (dropped if the pool's expectation is still below 5: conservative);
    - exact binomial tails of every single cell, Bonferroni-corrected over the cells.
    Both p-values must exceed ``level`` (the seed is fixed, so this is a regression check
    with a false-alarm rate of about 2e-3 over reseeding).
    """
    n = counts.sum(axis=1, keepdims=True)
    E = n * probs
    big = E >= 5
    pool_O, pool_E = (counts * ~big).sum(axis=1), (E * ~big).sum(axis=1)
    keep_pool = pool_E >= 5
    O_cells = np.concatenate([counts[big], pool_O[keep_pool]])
    E_cells = np.concatenate([E[big], pool_E[keep_pool]])
    chi2 = ((O_cells - E_cells) ** 2 / E_cells).sum()
    rows = n[:, 0] > 0
    # each row's bins sum to its count only when nothing was dropped: one dof less then
    dof = int(O_cells.size - (keep_pool | (pool_E == 0))[rows].sum())
    assert stats.chi2.sf(chi2, dof) > level, (chi2, dof)
    support = (probs > 0) & rows[:, None]
    N = np.broadcast_to(n, counts.shape)[support]
    O, p = counts[support], probs[support]
    tail = np.minimum(stats.binom.sf(O - 1, N, p), stats.binom.cdf(O, N, p))
    assert min(1.0, 2 * tail.min() * support.sum()) > level, tail.min()


def test_simulate_dense_and_sparse_give_the_same_episodes():
    dense, sparse = _garnet("dense"), _garnet("sparse")
    pi = np.full((20, 3), 1 / 3)
    a = simulate(dense, pi, episodes=100, max_steps=10, seed=4)
    b = simulate(sparse, pi, episodes=100, max_steps=10, seed=4)
    assert_array_equal(a.states, b.states)
    assert_array_equal(a.rewards, b.rewards)


def test_simulate_layout_padding_and_termination():
    env = envs.sutton_barto_4x4()
    mdp = env.mdp
    traj = simulate(mdp, np.full((16, 4), 0.25), episodes=300, max_steps=40, seed=1)
    assert isinstance(traj, Trajectories)
    assert traj.states.shape == (300, 41) and traj.actions.shape == traj.rewards.shape == (300, 40)
    t = np.arange(41)
    L = traj.lengths
    assert ((traj.states >= 0) == (t[None, :] <= L[:, None])).all()
    assert ((traj.actions >= 0) == (t[None, :40] < L[:, None])).all()
    assert (traj.rewards[t[None, :40] >= L[:, None]] == 0).all()
    last = traj.states[np.arange(300), L]
    assert_array_equal(traj.terminated, mdp.terminal[last])
    # an episode ends on *entering* a terminal state: none earlier
    inner = (t[None, :] < L[:, None]) & (traj.states >= 0)
    assert not mdp.terminal[traj.states[inner]].any()
    assert (L[~traj.terminated] == 40).all()  # not terminated: cut at max_steps
    # rewards are R(s, a)
    valid = traj.actions >= 0
    assert_array_equal(traj.rewards[valid], mdp.R[traj.states[:, :-1][valid], traj.actions[valid]])
    assert "Trajectories(episodes=300, max_steps=40" in repr(traj)
    with pytest.raises(ValueError):
        traj.states[0, 0] = 3  # read-only
    with pytest.raises(dataclasses.FrozenInstanceError):
        traj.lengths = L


def test_simulate_cuts_continuing_tasks_and_handles_terminal_starts():
    forest = envs.forest().mdp
    traj = simulate(forest, np.zeros(3, dtype=int), episodes=5, max_steps=7, seed=0)
    assert (traj.lengths == 7).all() and not traj.terminated.any()
    grid = envs.sutton_barto_4x4().mdp
    start_in_goal = grid.replace(mu=np.eye(16)[0])
    traj = simulate(start_in_goal, np.zeros(16, dtype=int), episodes=3, max_steps=5, seed=0)
    assert (traj.lengths == 0).all() and traj.terminated.all()
    assert (traj.states[:, 0] == 0).all() and (traj.states[:, 1:] == -1).all()


def test_simulate_deterministic_policy_as_ints_or_one_hot():
    mdp = _garnet("sparse")
    policy = np.arange(20) % 3
    a = simulate(mdp, policy, episodes=30, max_steps=8, seed=2)
    b = simulate(mdp, np.eye(3)[policy], episodes=30, max_steps=8, seed=2)
    assert_array_equal(a.states, b.states)
    assert (a.actions[a.actions >= 0] == policy[a.states[:, :-1][a.actions >= 0]]).all()


def test_simulate_mean_return_matches_expected_return():
    # Sutton & Barto Example 4.1: the random policy on the 4x4 grid, J = mu . V_random
    mdp = envs.sutton_barto_4x4().mdp
    pi = np.full((16, 4), 0.25)
    traj = simulate(mdp, pi, episodes=20000, max_steps=400, seed=0)  # P(cut) ~ 1e-9
    assert traj.terminated.all()
    G = traj.returns
    J = mt.expected_return(mdp, pi)
    assert abs(G.mean() - J) < 4 * G.std() / np.sqrt(G.size)


def test_simulate_rejects_bad_input():
    mdp = envs.short_corridor().mdp
    pi = np.full((4, 2), 0.5)
    with pytest.raises(ValueError, match="episodes must be finite and > 0; got 0"):
        simulate(mdp, pi, episodes=0, max_steps=5)
    with pytest.raises(TypeError, match="max_steps must be an integer; got float"):
        simulate(mdp, pi, episodes=1, max_steps=5.0)
    with pytest.raises(mt.MDPValidationError, match=r"policy must have shape \(4,\)"):
        simulate(mdp, np.full((4, 3), 1 / 3), episodes=1, max_steps=5)
    with pytest.raises(TypeError, match="seed must be an int, a numpy Generator or None"):
        simulate(mdp, pi, episodes=1, max_steps=5, seed="x")


# ---------------------------------------------------------------------- TD and Monte Carlo
def test_td0_converges_on_the_random_walk():
    # Example 6.2 with a Robbins-Monro schedule alpha_k = (k + 1)^-0.7 and V0 = 1/2 (the
    # book's initial estimate): max error below 0.03 after 3000 episodes (0.014 at seed 0)
    mdp = random_walk()
    assert_allclose(mt.evaluate_policy(mdp, RANDOM_WALK_POLICY), RANDOM_WALK_V, atol=1e-12)
    result = td_evaluation(mdp, RANDOM_WALK_POLICY, episodes=3000, alpha=lambda k: (k + 1) ** -0.7,
                           V0=np.full(7, 0.5), seed=0)
    assert isinstance(result, EvaluationResult)
    error = result.history["error"]
    assert error.shape == (3001,)  # the start V0 and one entry per episode
    assert_array_equal(result.history["episode"], np.arange(3001))
    assert error[0] == pytest.approx(1 / 3)  # V0 = 0.5 vs V = 1/6 .. 5/6 (Example 6.2)
    assert result.error == error[-1] < 0.03
    assert_allclose(result.V, RANDOM_WALK_V, atol=0.03)
    assert result.V[0] == result.V[6] == 0.0


def test_td_beats_constant_alpha_mc_on_the_random_walk():
    # Example 6.2 / Figure 6.2 (right): after 100 episodes, averaged over runs, TD(0) with
    # alpha in {0.05, 0.1} has a lower RMS error than constant-alpha MC with alpha in
    # {0.02, 0.04} (measured: 0.037, 0.056 vs 0.087, 0.112 over 100 runs)
    mdp = random_walk()

    def rms(method, alpha):
        errors = [np.sqrt(np.mean((method(mdp, RANDOM_WALK_POLICY, episodes=100, alpha=alpha,
                                          V0=np.full(7, 0.5), seed=run).V
                                   - RANDOM_WALK_V)[1:6] ** 2)) for run in range(60)]
        return np.mean(errors)

    td = [rms(td_evaluation, a) for a in (0.05, 0.1)]
    mc = [rms(mc_evaluation, a) for a in (0.02, 0.04)]
    assert max(td) < min(mc), (td, mc)


@pytest.mark.parametrize("first_visit", [False, True])
def test_monte_carlo_sample_averages_converge(first_visit):
    # every-visit and first-visit MC with 1/N(s) averages: max error below 0.05 after 3000
    # episodes of the random walk, and below 2 on the 4x4 grid (values down to -22; measured
    # 1.38 every-visit, 0.89 first-visit at seed 0)
    result = mc_evaluation(random_walk(), RANDOM_WALK_POLICY, episodes=3000,
                           first_visit=first_visit, seed=0)
    assert result.error < 0.05
    grid = envs.sutton_barto_4x4().mdp
    result = mc_evaluation(grid, np.full((16, 4), 0.25), episodes=3000, first_visit=first_visit,
                           seed=0)
    assert result.error < 2.0 and result.history["error"][0] > 10


def test_first_visit_counts_each_state_once_per_episode():
    # the random walk with reward -1 per step, so G_t = -(T - t): with alpha = 1, first-visit
    # MC leaves V(s) at the return of the first visit of s; every-visit MC, updating in time
    # order, at the return of the last visit
    mdp = random_walk().replace(R=-np.ones((7, 2)))
    traj = simulate(mdp, RANDOM_WALK_POLICY, episodes=1, max_steps=1000, seed=3)
    T = int(traj.lengths[0])
    visits = traj.states[0, :T]
    assert np.unique(visits).size < T  # this episode revisits states
    first = mc_evaluation(mdp, RANDOM_WALK_POLICY, episodes=1, alpha=1.0, first_visit=True,
                          seed=3)
    every = mc_evaluation(mdp, RANDOM_WALK_POLICY, episodes=1, alpha=1.0, seed=3)
    for s in np.unique(visits):
        times = np.flatnonzero(visits == s)
        assert first.V[s] == -(T - times[0])
        assert every.V[s] == -(T - times[-1])


def test_evaluation_rejects_bad_input_and_improper_policies():
    mdp = random_walk()
    with pytest.raises(ValueError, match=r"alpha must be in \(0, 1\]; got 0.0"):
        td_evaluation(mdp, RANDOM_WALK_POLICY, episodes=1, alpha=0.0)
    with pytest.raises(ValueError, match=r"alpha\(0\) must be in \(0, 1\]; got 2.0"):
        td_evaluation(mdp, RANDOM_WALK_POLICY, episodes=1, alpha=lambda k: 2.0)
    with pytest.raises(TypeError, match="first_visit must be a bool; got str"):
        mc_evaluation(mdp, RANDOM_WALK_POLICY, episodes=1, first_visit="yes")
    with pytest.raises(mt.MDPValidationError, match=r"V0 must have shape \(7,\)"):
        td_evaluation(mdp, RANDOM_WALK_POLICY, episodes=1, V0=np.zeros(3))
    grid = envs.sutton_barto_4x4().mdp
    with pytest.raises(mt.ImproperPolicyError, match="policy must reach a terminal state"):
        td_evaluation(grid, np.zeros(16, dtype=int), episodes=1)  # "up" bumps forever in row 0


# ---------------------------------------------------------------------- Q-learning and Sarsa
def assert_optimal_everywhere(mdp, policy):
    V = mt.policy_iteration(mdp).V
    ok = mt.optimal_actions(mdp, V, atol=1e-9)[np.arange(mdp.n_states), policy]
    bad = np.flatnonzero(~ok & ~mdp.terminal)
    assert bad.size == 0, f"non-optimal greedy actions at states {bad}"


@pytest.mark.parametrize("method", [q_learning, sarsa])
def test_td_control_solves_the_4x4_grid(method):
    # Example 4.1's grid: 500 episodes, epsilon = 0.1, alpha_k = 0.5 / (1 + k/100): the greedy
    # policy is optimal in every state (10 of 10 seeds checked; seed 0 here)
    mdp = envs.sutton_barto_4x4().mdp
    result = method(mdp, episodes=500, alpha=lambda k: 0.5 / (1 + k / 100), epsilon=0.1, seed=0)
    assert isinstance(result, ControlResult)
    assert_optimal_everywhere(mdp, result.policy)
    assert result.optimum == pytest.approx(-28 / 14)  # mean distance to a corner: 28 / 14
    assert result.J == pytest.approx(result.optimum, abs=1e-9)
    hist = result.history
    assert_array_equal(hist["episode"], np.arange(0, 501, 5))
    assert hist["gap"][-1] == pytest.approx(0, abs=1e-9) and hist["gap"][0] > 0
    assert result.returns.shape == (500,)


@pytest.mark.parametrize("method", [q_learning, sarsa])
def test_td_control_solves_the_forest(method):
    # pymdptoolbox's forest (S=3, gamma=0.96): "wait" everywhere is optimal; 200 episodes of
    # 100 steps, alpha = 0.1, epsilon = 0.1 (10 of 10 seeds checked)
    mdp = envs.forest().mdp
    result = method(mdp, episodes=200, max_steps=100, alpha=0.1, epsilon=0.1, seed=0)
    assert_array_equal(result.policy, [0, 0, 0])
    assert result.gap == pytest.approx(0, abs=1e-9)
    assert result.steps == 200 * 100  # no terminal state: every episode is cut
    if method is q_learning:  # Q-learning estimates Q*; Sarsa the epsilon-greedy policy's Q
        assert result.history["q_error"][-1] < 0.1 * result.history["q_error"][0]


def test_cliff_walking_sarsa_takes_the_safe_path_and_q_learning_the_optimal_one():
    # Example 6.6 (epsilon = 0.1, alpha = 0.5, 500 episodes): Q-learning learns the optimal
    # path along the edge of the cliff, Sarsa a longer, safer path two or more rows away from
    # it (17 steps at seed 0); with exploration, Sarsa's online returns are better (Figure
    # 6.4: about -25 vs -50 per episode; measured -27.0 vs -51.7 over episodes 100..499).
    # The exact best epsilon-greedy policy keeps one row away (15 steps); Sarsa with
    # constant alpha = 0.5 stays farther out, as in the book's figure.
    env = envs.cliff_walking()
    start, goal = env.state_of(3, 0), env.state_of(3, 11)
    q = q_learning(env.mdp, episodes=500, alpha=0.5, epsilon=0.1, seed=0)
    s = sarsa(env.mdp, episodes=500, alpha=0.5, epsilon=0.1, seed=0)
    edge = [(3, 0)] + [(2, c) for c in range(12)] + [(3, 11)]
    assert greedy_path(env, q.policy, start) == edge
    assert q.J == q.optimum == -13.0
    safe = greedy_path(env, s.policy, start)
    assert safe[0] == (3, 0) and safe[-1] == env.cell_of(goal)
    # never next to the cliff between the start and goal columns
    assert not any(r >= 2 and 1 <= c <= 10 for r, c in safe)
    assert len(safe) - 1 > 13 and s.J == -(len(safe) - 1)
    online_q, online_s = q.returns[100:].mean(), s.returns[100:].mean()
    assert online_s > -35 > -40 > online_q, (online_s, online_q)


def test_control_schedules_and_validation():
    mdp = envs.short_corridor().mdp
    eps = []
    result = q_learning(mdp, episodes=30, epsilon=lambda k: eps.append(k) or 0.5 / (k + 1),
                        seed=0, eval_every=10)
    assert eps == list(range(30))
    assert_array_equal(result.history["episode"], [0, 10, 20, 30])
    assert result.Q.shape == (4, 2) and (result.Q[mdp.terminal] == 0).all()
    with pytest.raises(ValueError, match=r"epsilon must be in \[0, 1\]; got 1.5"):
        sarsa(mdp, episodes=1, epsilon=1.5)
    with pytest.raises(ValueError, match=r"epsilon\(0\) must be in \[0, 1\]; got -0.1"):
        sarsa(mdp, episodes=1, epsilon=lambda k: -0.1)
    with pytest.raises(TypeError, match="alpha must be a real number or a callable"):
        q_learning(mdp, episodes=1, alpha="fast")
    with pytest.raises(mt.MDPValidationError, match=r"Q0 must have shape \(4, 2\)"):
        q_learning(mdp, episodes=1, Q0=np.zeros(4))
    with pytest.raises(ValueError, match="eval_every must be finite and > 0; got 0"):
        q_learning(mdp, episodes=1, eval_every=0)


def test_greedy_policy_that_never_terminates_has_infinite_gap():
    # with Q = 0 and lowest-index ties the greedy policy of the corridor is "left" everywhere,
    # which never reaches the goal: J = -inf, gap = inf (documented), not an error
    mdp = envs.short_corridor().mdp
    result = q_learning(mdp, episodes=1, max_steps=1, seed=0)
    assert result.history["gap"][0] == np.inf and np.isneginf(result.history["J"][0])


# ---------------------------------------------------------------------- gradient estimators
def assert_unbiased(stat, where=None):
    """|mean - exact| <= 4 standard errors in every coordinate (or those in ``where``)."""
    where = np.ones(stat.bias.size, bool) if where is None else where
    z = np.abs(stat.bias[where]) / stat.standard_error[where]
    assert (stat.standard_error[where] > 0).all()
    assert z.max() <= 4, f"{stat.estimator}: max |bias|/se = {z.max():.2f}"


def test_estimators_are_unbiased_and_critics_cut_variance_on_the_toy_language_mdp(toy_lm):
    # the toy language MDP at pi_ref, bigram LogLinear policy (49 parameters), n = 20000:
    # every coordinate of every estimator within 4 standard errors of exact_gradient; total
    # variance relative to REINFORCE measured at 0.20 (exact-V baseline) and 0.13
    # (exact-critic TD error)
    mdp = toy_lm.mdp
    param, theta = bigram_param(toy_lm)
    assert_allclose(param.policy(theta)[~mdp.terminal], toy_lm.reference_policy[~mdp.terminal],
                    atol=1e-12)
    result = gradient_estimator_stats(mdp, param, theta, n=20000, seed=0)
    assert set(result) == {"reinforce", "baseline", "actor_critic"}
    J, grad = mt.exact_gradient(mdp, param, theta)
    for stat in result.values():
        assert isinstance(stat, EstimatorStats) and stat.n == 20000
        assert_allclose(stat.exact, grad)
        assert stat.J == pytest.approx(J)
        assert_unbiased(stat)
    ratio_baseline = result["baseline"].total_variance / result["reinforce"].total_variance
    ratio_critic = result["actor_critic"].total_variance / result["reinforce"].total_variance
    assert ratio_baseline < 0.3 and ratio_critic < 0.2, (ratio_baseline, ratio_critic)


def test_tabular_estimators_on_the_toy_language_mdp(toy_lm):
    # tabular softmax (10892 parameters) at pi_ref: an episode touches at most 5 states, so
    # coordinates of rarely visited pairs have too few nonzero samples for a normal standard
    # error; check the pairs visited 100 times or more in expectation (n d(s) pi(a|s) >= 100).
    # Variance ratios measured: 0.20 (baseline), 0.14 (actor-critic)
    mdp = toy_lm.mdp
    theta = log_reference(toy_lm)
    n = 20000
    result = gradient_estimator_stats(mdp, None, theta, n=n, seed=0)
    d = mt.occupancy(mdp, toy_lm.reference_policy)
    well_sampled = (n * d[:, None] * toy_lm.reference_policy).ravel() >= 100
    assert well_sampled.sum() > 50
    for stat in result.values():
        assert_unbiased(stat, well_sampled)
        # a coordinate no episode touched has zero mean and zero variance (never NaN)
        untouched = stat.standard_error == 0
        assert (stat.mean[untouched] == 0).all()
    assert result["baseline"].total_variance < 0.3 * result["reinforce"].total_variance
    assert result["actor_critic"].total_variance < 0.2 * result["reinforce"].total_variance


@pytest.mark.parametrize("case", ["corridor_shared", "corridor_tabular", "garnet"])
def test_estimators_are_unbiased_on_small_mdps(case):
    # n = 20000 on the short corridor (gamma = 1, Example 13.1) and n = 5000 on a random MDP
    # (gamma = 0.5, episodes cut at 60 steps: truncation bias 0.5^60, negligible)
    if case == "garnet":
        mdp = envs.random_mdp(6, 3, branching=3, gamma=0.5, seed=1).mdp
        param, theta = None, np.random.default_rng(0).normal(size=(6, 3))
        n, max_steps = 5000, 60
    else:
        mdp = envs.short_corridor().mdp
        param = shared_right() if case == "corridor_shared" else None
        theta = np.array([0.3]) if case == "corridor_shared" else np.array(
            [[0.0, 0.5], [-0.3, 0.2], [0.1, 0.0], [0.0, 0.0]])
        n, max_steps = 20000, 1000
    result = gradient_estimator_stats(mdp, param, theta, n=n, seed=1, max_steps=max_steps)
    active = result["reinforce"].standard_error > 0  # the terminal state's parameters never move
    for stat in result.values():
        assert_unbiased(stat, active)
        assert (stat.bias[~active] == -stat.exact[~active]).all()
        assert_allclose(stat.exact[~active], 0, atol=1e-12)
    assert result["baseline"].total_variance < result["reinforce"].total_variance
    assert result["actor_critic"].total_variance < result["reinforce"].total_variance


def test_gradient_estimates_rows_match_the_stats():
    mdp = envs.short_corridor().mdp
    param = shared_right()
    theta = np.array([0.2])
    stat = gradient_estimator_stats(mdp, param, theta, estimators=["baseline"], n=3000, seed=5)
    assert set(stat) == {"baseline"}
    rows = gradient_estimates(mdp, param, theta, estimator="baseline", n=3000, seed=5)
    assert rows.shape == (3000, 1)
    assert_allclose(rows.mean(axis=0), stat["baseline"].mean, rtol=1e-12)
    assert_allclose(rows.var(axis=0, ddof=1).sum(), stat["baseline"].total_variance, rtol=1e-9)
    # the episodes depend on the seed only: the three estimators share them, so on a 1-step
    # MDP with gamma = 0 (where G_0 = r_0 = delta_0 + V(s_0)) baseline and actor-critic agree
    bandit = mt.MDP(np.ones((1, 3, 1)), [[1.0, 2.0, 0.5]], 0.0)
    g_b = gradient_estimates(bandit, None, None, estimator="baseline", n=50, seed=2, max_steps=1)
    g_ac = gradient_estimates(bandit, None, None, estimator="actor_critic", n=50, seed=2,
                              max_steps=1)
    assert_allclose(g_b, g_ac, atol=1e-12)
    tabular = gradient_estimates(mdp, None, None, n=10, seed=0)
    assert tabular.shape == (10, 8)


def test_gradient_estimates_reject_bad_input():
    mdp = envs.short_corridor().mdp
    with pytest.raises(ValueError, match="estimator must be one of"):
        gradient_estimates(mdp, None, None, estimator="critic", n=5)
    with pytest.raises(mt.MDPValidationError, match=r"theta must have shape \(4, 2\)"):
        gradient_estimates(mdp, None, np.zeros(3), n=5)
    with pytest.raises(TypeError, match="param must be a parametrization"):
        gradient_estimates(mdp, "tabular", None, n=5)
    with pytest.raises(ValueError, match="n must be finite and > 0; got -1"):
        gradient_estimator_stats(mdp, None, None, n=-1)
    with pytest.raises(ValueError, match="estimators must name at least one estimator"):
        gradient_estimator_stats(mdp, None, None, estimators=[], n=5)


# ---------------------------------------------------------------------- REINFORCE, actor-critic
def test_reinforce_reaches_the_optimum_of_the_short_corridor():
    # Example 13.1 with the tabular softmax (the MDP tells the states apart, J* = -3): from the
    # uniform policy (J = -12, gap 9), lr = 0.05, no baseline, seed 0: gap below 0.1 within 300
    # episodes (measured: below 0.5 after 60, final 0.04)
    mdp = envs.short_corridor().mdp
    result = reinforce(mdp, lr=0.05, episodes=300, seed=0, eval_every=10)
    assert isinstance(result, PolicySearchResult)
    gap = result.history["gap"]
    assert gap[0] == pytest.approx(9.0) and result.optimum == -3.0
    assert result.gap < 0.1 and result.gap == gap[-1]
    assert result.J == pytest.approx(mt.expected_return(mdp, result.policy))
    assert result.updates == 300 and result.critic is None


@pytest.mark.parametrize("baseline", ["value", "mean"])
def test_reinforce_with_baselines_on_the_short_corridor(baseline):
    # as above with a baseline: gap below 0.2 within 300 episodes (measured 0.105 with the
    # learned value baseline, 0.083 with the running mean return)
    mdp = envs.short_corridor().mdp
    result = reinforce(mdp, lr=0.05, episodes=300, baseline=baseline, seed=0)
    assert result.gap < 0.2
    if baseline == "value":  # the learned baseline tracks V^pi on the states pi reaches
        assert result.critic.shape == (4,) and result.critic[3] == 0
        assert result.history["critic_error"][-1] < 1.0


def test_reinforce_with_the_shared_parameter_finds_the_best_stochastic_policy():
    # Example 13.1 / Figure 13.1: with one probability p of "right" shared by all states the
    # best policy is p = 2 - sqrt(2) ~ 0.586 with J = -(6 + 4 sqrt(2)) ~ -11.66, far from the
    # DP optimum -3 (gap 8.66 that no shared p closes). With the running-mean baseline, lr =
    # 0.001 and 4000 episodes, seeds 0-7 all ended within 0.06 of that J and 0.035 of that p
    # (without a baseline at lr = 0.005 the final iterate is noisy: off by up to 1.4 in J, so
    # a single seed said more about the platform's rounding than about REINFORCE)
    mdp = envs.short_corridor().mdp
    result = reinforce(mdp, param=shared_right(), lr=0.001, episodes=4000, baseline="mean",
                       seed=0)
    best = -(6 + 4 * np.sqrt(2))
    assert abs(result.J - best) < 0.3
    assert abs(result.policy[0, 1] - (2 - np.sqrt(2))) < 0.1
    assert result.gap == pytest.approx(-3 - result.J)


def test_reinforce_approaches_the_optimum_of_the_toy_language_mdp(toy_lm):
    # tabular REINFORCE from pi_ref (J = -1.256, gap 1.367 to J* = 0.1116, "the cat sat"),
    # lr = 1, learned value baseline (baseline_lr = 0.5), seed 0: gap below 0.05 within 400
    # episodes (4 of 4 seeds checked; without a baseline or from the uniform policy REINFORCE
    # can settle on a worse sentence, the plateaus of softmax policy gradients)
    mdp = toy_lm.mdp
    result = reinforce(mdp, lr=1.0, episodes=400, theta0=log_reference(toy_lm),
                       baseline="value", baseline_lr=0.5, seed=0, eval_every=50)
    gap = result.history["gap"]
    assert gap[0] == pytest.approx(1.3674, abs=1e-3)
    assert result.gap < 0.05, gap
    best = toy_lm.top_sequences(result.policy, 1)[0]
    assert best[0] == ("the", "cat", "sat") and best[1] > 0.9


def test_reinforce_batches():
    mdp = envs.short_corridor().mdp
    result = reinforce(mdp, lr=0.2, episodes=400, batch=20, baseline="mean", seed=0,
                       eval_every=100)
    assert result.updates == 20 and result.episodes == 400
    assert_array_equal(result.history["episode"], [0, 100, 200, 300, 400])
    assert result.gap < result.history["gap"][0] / 2


def test_sampled_actor_critic_on_the_short_corridor_and_the_language_mdp(toy_lm):
    # S&B §13.5 one-step actor-critic: actor_lr = 0.1, critic_lr = 0.2, 300 episodes on the
    # corridor (gap below 0.1; measured 0.015); from pi_ref on the toy language MDP
    # actor_lr = 1, critic_lr = 0.5, 600 episodes (gap below 0.1; measured 0.036)
    mdp = envs.short_corridor().mdp
    result = sampled_actor_critic(mdp, actor_lr=0.1, critic_lr=0.2, episodes=300, seed=0)
    assert result.method == "sampled_actor_critic"
    assert result.gap < 0.1
    assert result.history["critic_error"][-1] < 1.0
    lm = sampled_actor_critic(toy_lm.mdp, actor_lr=1.0, critic_lr=0.5, episodes=600,
                              theta0=log_reference(toy_lm), seed=0, eval_every=100)
    assert lm.gap < 0.1 < lm.history["gap"][0]


def test_policy_search_rejects_bad_input():
    mdp = envs.short_corridor().mdp
    with pytest.raises(ValueError, match="baseline must be None, 'value' or 'mean'; got 'exact'"):
        reinforce(mdp, lr=0.1, episodes=1, baseline="exact")
    with pytest.raises(ValueError, match="episodes must be a multiple of batch=10; got 15"):
        reinforce(mdp, lr=0.1, episodes=15, batch=10)
    with pytest.raises(ValueError, match="lr must be finite and > 0; got 0"):
        reinforce(mdp, lr=0, episodes=1)
    with pytest.raises(ValueError, match=r"critic_lr must be in \(0, 1\]; got 2.0"):
        sampled_actor_critic(mdp, actor_lr=0.1, critic_lr=2.0, episodes=1)
    with pytest.raises(ValueError, match="actor_lr must be finite and > 0; got -1"):
        sampled_actor_critic(mdp, actor_lr=-1, critic_lr=0.5, episodes=1)
    with pytest.raises(mt.MDPValidationError, match=r"theta must have shape \(4, 2\)"):
        reinforce(mdp, lr=0.1, episodes=1, theta0=np.zeros(2))


def test_result_reprs_are_summaries_and_results_are_frozen():
    mdp = envs.short_corridor().mdp
    result = reinforce(mdp, lr=0.05, episodes=10, seed=0)
    text = repr(result)
    assert text.startswith("PolicySearchResult(method='reinforce', episodes=10, updates=10")
    assert "history keys=['J', 'episode', 'gap']" in text
    for values in result.history.values():
        assert isinstance(values, np.ndarray) and values.ndim == 1
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.J = 0.0
    with pytest.raises(ValueError):
        result.theta[0, 0] = 1.0
    control = q_learning(mdp, episodes=3, seed=0)
    assert repr(control).startswith("ControlResult(method='q_learning', episodes=3")
    evaluation = td_evaluation(random_walk(), RANDOM_WALK_POLICY, episodes=3, seed=0)
    assert repr(evaluation).startswith("EvaluationResult(method='td_evaluation', episodes=3")
    big = simulate(envs.random_mdp(500, 2, branching=2, sparse=True, seed=0).mdp,
                   np.zeros(500, dtype=int), episodes=10000, max_steps=3, seed=0)
    assert len(repr(big)) < 200
