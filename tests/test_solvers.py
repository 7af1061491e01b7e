r"""The dynamic-programming solvers: their results (flags, messages, history, frozen, repr), the
guarantees their docstrings state, and the failure modes they must report instead of returning a
wrong answer.

Reference optima are certified inside the tests (:func:`exact_optimum`): policy iteration proposes
a policy, its value is computed by a dense solve refined with long-double residuals, and every
other action is checked to be strictly worse in long double, so the policy is optimal by the policy
improvement theorem. Guarantees are then asserted exactly as documented (``<= tol``), never an
iteration count. Dense and sparse MDPs are parametrized side by side; every solver is parametrized,
not looped inside a test.
"""

import dataclasses
import itertools
import re
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.special import logsumexp

import mdptoolkit as mt
from _helpers import as_kind, dense_P, random_P
from mdptoolkit import ConvergenceWarning

LONG = np.longdouble


# ---------------------------------------------------------------------- helpers



def random_mdp(kind, seed, *, n_states=30, n_actions=4, gamma=0.9, branching=3, reward=(0.0, 1.0),
               terminal=False, mu=None):
    rng = np.random.default_rng(seed)
    P = random_P(rng, n_states, n_actions, branching)
    R = rng.uniform(*reward, size=(n_states, n_actions))
    term = np.zeros(n_states, bool)
    if terminal:
        term[[1, n_states - 2]] = True
    return mt.MDP(as_kind(P, kind), R, gamma, terminal=term, mu=mu)


def policy_matrix(mdp, policy):
    policy = np.asarray(policy)
    if policy.ndim == 2:
        return policy
    pi = np.zeros((mdp.n_states, mdp.n_actions))
    pi[np.arange(mdp.n_states), policy] = 1.0
    return pi


def refined_value(mdp, policy):
    """V^pi to about machine precision: a dense float64 solve plus long-double residual
    refinement."""
    pi = policy_matrix(mdp, policy).astype(LONG)
    P = dense_P(mdp).astype(LONG)
    R0 = np.where(mdp.allowed, mdp.R, 0.0).astype(LONG)
    P_pi = np.einsum("sa,sat->st", pi, P)
    R_pi = (pi * R0).sum(axis=1)
    N = np.flatnonzero(~mdp.terminal)
    M = np.eye(N.size, dtype=LONG) - LONG(mdp.gamma) * P_pi[np.ix_(N, N)]
    M64 = M.astype(np.float64)
    x = np.linalg.solve(M64, R_pi[N].astype(np.float64))
    for _ in range(5):
        residual = R_pi[N] - M @ x.astype(LONG)
        x = x + np.linalg.solve(M64, residual.astype(np.float64))
    V = np.zeros(mdp.n_states)
    V[N] = x
    return V


def exact_optimum(mdp):
    """(V*, pi*) certified optimal (see the module docstring)."""
    policy = mt.policy_iteration(mdp).policy
    assert mdp.allowed[np.arange(mdp.n_states), policy].all()
    V = refined_value(mdp, policy)
    Q = (np.where(mdp.allowed, mdp.R, 0.0).astype(LONG) + LONG(mdp.gamma)
         * np.einsum("sat,t->sa", dense_P(mdp).astype(LONG), V.astype(LONG)))
    advantage = Q - V.astype(LONG)[:, None]
    others = mdp.allowed & ~mdp.terminal[:, None]
    others[np.arange(mdp.n_states), policy] = False
    margin = 1e-9 * max(1.0, float(np.abs(V).max()))
    assert (advantage[others] < -margin).all(), "test set-up: the reference MDP has near-ties"
    N = ~mdp.terminal
    assert np.abs(advantage[np.arange(mdp.n_states), policy][N]).max() <= margin
    return V, policy


@pytest.fixture(params=["dense", "sparse"])
def kind(request):
    return request.param


# ---------------------------------------------------------------------- every solver
SOLVERS = {
    "value_iteration": lambda mdp, **kw: mt.value_iteration(mdp, **kw),
    "value_iteration-gauss_seidel": lambda mdp, **kw: mt.value_iteration(mdp, gauss_seidel=True,
                                                                         **kw),
    "policy_iteration": lambda mdp, **kw: mt.policy_iteration(mdp, **kw),
    "modified_policy_iteration": lambda mdp, **kw: mt.modified_policy_iteration(mdp, **kw),
    "linear_programming": lambda mdp, **kw: mt.linear_programming(mdp, **kw),
    "backward_induction": lambda mdp, **kw: mt.backward_induction(mdp, 4, **kw),
    "relative_value_iteration": lambda mdp, **kw: mt.relative_value_iteration(mdp, **kw),
    "soft_value_iteration": lambda mdp, **kw: mt.soft_value_iteration(mdp, 0.5, **kw),
}
ITERATIVE = ["value_iteration", "value_iteration-gauss_seidel", "policy_iteration",
             "modified_policy_iteration", "relative_value_iteration", "soft_value_iteration"]

SPAN_MESSAGE = (r"converged: span bound gamma/\(1-gamma\)\*span\(TV - V\) = \S+ <= tol = 1e-08 "
                r"\(max\|V - V\*\| <= \S+\)")
CONVERGED_MESSAGES = {
    "value_iteration": SPAN_MESSAGE,
    "value_iteration-gauss_seidel": SPAN_MESSAGE,
    "policy_iteration": (r"converged: policy stable after \d+ improvement steps "
                         r"\((exact evaluation|evaluation exact to round-off: warm-started sweeps "
                         r"certified by the span bound)\)"),
    "modified_policy_iteration": SPAN_MESSAGE,
    "linear_programming": (r"converged: HiGHS status 0 \(.*Optimal.*\); greedy policy evaluated "
                           r"exactly"),
    "backward_induction": r"converged: 4 backward steps \(exact\)",
    "relative_value_iteration": (r"converged: span\(T V - V\) bounds the gain to within \S+ "
                                 r"<= tol = 1e-08"),
    "soft_value_iteration": SPAN_MESSAGE,
}
HISTORY_KEYS = {
    "value_iteration": {"residual", "error_bound", "elapsed"},
    "value_iteration-gauss_seidel": {"residual", "error_bound", "elapsed"},
    "policy_iteration": {"policy_changes", "J", "sweeps", "elapsed"},
    "modified_policy_iteration": {"residual", "error_bound", "policy_changes", "elapsed"},
    "linear_programming": {"objective"},
    "backward_induction": {"residual", "elapsed"},
    "relative_value_iteration": {"gain_lower", "gain_upper", "residual", "elapsed"},
    "soft_value_iteration": {"residual", "error_bound", "elapsed"},
}


def method_name(solver):
    return solver.split("-")[0]


@pytest.fixture(scope="module")
def small_mdps():
    """Full random transitions (unichain and aperiodic, so every solver converges)."""
    return {kind: random_mdp(kind, 100, n_states=12, n_actions=3, branching=None, reward=(-1, 1))
            for kind in ("dense", "sparse")}


@pytest.mark.parametrize("solver", sorted(SOLVERS))
def test_result_fields_flags_and_message(small_mdps, kind, solver):
    mdp = small_mdps[kind]
    result = SOLVERS[solver](mdp)
    assert isinstance(result, mt.SolverResult)
    assert result.method == method_name(solver)
    assert result.converged is True
    assert re.fullmatch(CONVERGED_MESSAGES[solver], result.message), result.message
    assert isinstance(result.iterations, int) and result.iterations >= 1
    S, A = mdp.n_states, mdp.n_actions
    if solver == "backward_induction":
        assert result.V.shape == (5, S) and result.Q.shape == (4, S, A)
        assert result.policy.shape == (4, S)
    else:
        assert result.V.shape == (S,) and result.Q.shape == (S, A)
        expected = (S, A) if solver == "soft_value_iteration" else (S,)
        assert result.policy.shape == expected
    if solver != "soft_value_iteration":
        assert np.issubdtype(result.policy.dtype, np.integer)
    assert np.isfinite(result.V).all() and np.isfinite(result.Q).all()
    assert (result.occupancy is not None) == (solver == "linear_programming")
    assert (result.gain is not None) == (solver == "relative_value_iteration")


@pytest.mark.parametrize("solver", sorted(SOLVERS))
def test_history_has_one_entry_per_iteration(small_mdps, kind, solver):
    # DESIGN.md: "history maps a name to a 1-D NumPy array with one entry per iteration".
    result = SOLVERS[solver](small_mdps[kind])
    assert HISTORY_KEYS[solver] <= set(result.history)
    for name, values in result.history.items():
        assert isinstance(values, np.ndarray) and values.ndim == 1, name
        assert len(values) == result.iterations, (name, len(values), result.iterations)
    if "elapsed" in result.history:
        elapsed = result.history["elapsed"]
        assert (elapsed >= 0).all() and (np.diff(elapsed) >= 0).all()


@pytest.mark.parametrize("solver", sorted(SOLVERS))
def test_result_is_frozen(small_mdps, kind, solver):
    result = SOLVERS[solver](small_mdps[kind])
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.V = np.zeros(3)
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.converged = False
    for name in ("V", "Q", "policy", "occupancy"):
        array = getattr(result, name)
        if array is None:
            continue
        with pytest.raises(ValueError, match="read-only"):
            array[(0,) * array.ndim] = 1
    with pytest.raises(TypeError):
        result.history["extra"] = np.zeros(1)
    key = sorted(result.history)[0]
    with pytest.raises(ValueError, match="read-only"):
        result.history[key][0] = 1.0


@pytest.fixture(scope="module")
def big_mdp():
    """10,000 states, sparse: action 0 steps to s+1, action 1 jumps 1 or 2 ahead; the last state is
    terminal."""
    n = 10_000
    rng = np.random.default_rng(101)
    s = np.arange(n)
    rows = np.concatenate([2 * s, 2 * s + 1, 2 * s + 1])
    cols = np.concatenate([np.minimum(s + 1, n - 1), np.minimum(s + 1, n - 1),
                           np.minimum(s + 2, n - 1)])
    vals = np.concatenate([np.ones(n), np.full(n, 0.5), np.full(n, 0.5)])
    terminal = np.zeros(n, bool)
    terminal[-1] = True
    return mt.MDP(sp.csr_array((vals, (rows, cols)), shape=(2 * n, n)), rng.random((n, 2)), 0.9,
                  terminal=terminal)


@pytest.mark.parametrize("solver", sorted(set(SOLVERS) - {"value_iteration-gauss_seidel"}))
def test_repr_is_summary_first_and_short(big_mdp, solver):
    options = {"relative_value_iteration": {"max_iter": 20}}.get(solver, {})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # RVI is cut short on purpose
        result = SOLVERS[solver](big_mdp, **options)
    text = repr(result)
    first = text.splitlines()[0]
    assert first.startswith(f"SolverResult(method='{method_name(solver)}', converged="
                            f"{result.converged}, iterations={result.iterations}")
    assert "message=" in text.splitlines()[1]
    assert len(text) < 1000 and len(text.splitlines()) <= 10, text
    assert "shape=(10000,)" in text or "shape=(5, 10000)" in text
    assert "..." not in text  # no truncated array dump


# ---------------------------------------------------------------------- value iteration: guarantee
@pytest.mark.parametrize("gamma", [0.9, 0.99, 0.999])
@pytest.mark.parametrize("structure", ["3-successors", "dense"])
@pytest.mark.parametrize("seed", [0, 1])
def test_value_iteration_guarantee(kind, gamma, structure, seed):
    # Documented: on converged=True, max|V - V*| <= tol and max|V^policy - V*| <= tol.
    mdp = random_mdp(kind, seed, gamma=gamma, branching=3 if structure == "3-successors" else None)
    V_star, _ = exact_optimum(mdp)
    tol = 1e-8
    result = mt.value_iteration(mdp, tol=tol)
    assert result.converged, result.message
    assert np.abs(result.V - V_star).max() <= tol
    assert np.abs(refined_value(mdp, result.policy) - V_star).max() <= tol
    assert 0 <= result.error_bound <= tol
    assert result.history["error_bound"][-1] == result.error_bound
    # SolverResult.error_bound is documented as "a guaranteed bound on max|V - V*|"
    assert np.abs(result.V - V_star).max() <= result.error_bound


@pytest.mark.parametrize("reward", [(0.0, 1.0), (0.5, 1.5), (-1.0, 1.0), (10.0, 11.0)],
                         ids=["U(0,1)", "U(.5,1.5)", "U(-1,1)", "U(10,11)"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_value_iteration_at_gamma_0_9999_is_right_or_says_why(kind, reward, seed):
    # Either the guarantee holds, or converged=False with a message that says why, and a
    # ConvergenceWarning - never a wrong answer with converged=True.
    mdp = random_mdp(kind, seed, gamma=0.9999, reward=reward)
    V_star, _ = exact_optimum(mdp)
    tol = 1e-8
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = mt.value_iteration(mdp, tol=tol)
    if result.converged:
        assert np.abs(result.V - V_star).max() <= tol
        assert np.abs(refined_value(mdp, result.policy) - V_star).max() <= tol
        # SolverResult.error_bound is documented as "a guaranteed bound on max|V - V*|"
        assert np.abs(result.V - V_star).max() <= result.error_bound
        assert not any(issubclass(w.category, ConvergenceWarning) for w in caught)
    else:
        assert result.message.startswith("stopped: ")
        # the message says why: a stall at round-off, the precision the float model allows, or
        # the iteration budget
        assert any(why in result.message for why in
                   ("stalled", "max_iter", "limits the guaranteed accuracy"))
        # issue 21 item 1: even then V is the corrected midpoint and error_bound holds
        assert np.abs(result.V - V_star).max() <= result.error_bound
        assert any(issubclass(w.category, ConvergenceWarning) and str(w.message) == result.message
                   for w in caught)


def rounded_mdp(kind, seed, gamma):
    """A random MDP whose probabilities are given to 10 decimals, as in a printed table: its rows
    sum to 1 within ~1e-10, which validation accepts (rtol = 1e-9)."""
    rng = np.random.default_rng(seed)
    P = np.round(random_P(rng, 30, 4, 3), 10)
    return mt.MDP(as_kind(P, kind), rng.uniform(0, 1, size=(30, 4)), gamma)


@pytest.mark.parametrize("solver, gamma", [
    ("value_iteration", 0.9), ("value_iteration", 0.99), ("value_iteration", 0.999),
    ("modified_policy_iteration", 0.9), ("modified_policy_iteration", 0.99),
    ("modified_policy_iteration", 0.999),
    ("value_iteration-gauss_seidel", 0.99),  # a Python loop over states: one gamma is enough
])
def test_guarantee_for_rows_accepted_within_the_row_sum_tolerance(kind, solver, gamma):
    # The model accepts these rows; V* is the optimum of the model as stored (the fixed point of
    # its T, which policy iteration and LP compute). The solver must still be right or say why.
    mdp = rounded_mdp(kind, 0, gamma)
    defect = np.abs(dense_P(mdp).sum(axis=2) - 1).max()
    assert 0 < defect <= 1e-9  # the test exercises inexact rows that validation accepts
    V_star, _ = exact_optimum(mdp)
    tol = 1e-8
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = SOLVERS[solver](mdp, tol=tol)
    if result.converged:
        assert np.abs(result.V - V_star).max() <= tol
        assert np.abs(refined_value(mdp, result.policy) - V_star).max() <= tol
    else:
        assert result.message.startswith("stopped: ")
        assert any(issubclass(w.category, ConvergenceWarning) for w in caught)


def test_value_iteration_stops_when_round_off_makes_tol_unreachable(kind):
    # With gamma = 0.9999 and values ~1e4, one ulp of V is ~2e-12 and the bound multiplies the
    # span by gamma/(1-gamma) ~ 1e4: tol = 1e-14 cannot be certified. The method must notice the
    # stall, say so and warn, rather than run to max_iter or claim convergence.
    mdp = random_mdp(kind, 3, gamma=0.9999, reward=(0.5, 1.5))
    with pytest.warns(ConvergenceWarning, match=r"stalled"):
        result = mt.value_iteration(mdp, tol=1e-14)
    assert result.converged is False
    V_star, _ = exact_optimum(mdp)  # issue 21 item 1: the stalled run's bound still holds
    assert np.abs(result.V - V_star).max() <= result.error_bound
    assert result.error_bound == result.history["error_bound"][-1]
    assert result.message.startswith("stopped: the bound gamma/(1-gamma)*span(TV - V) stalled at ")
    assert "use a larger tol" in result.message and "max_iter" not in result.message
    assert len(result.history["residual"]) == result.iterations


@pytest.mark.parametrize("gamma", [0.9, 0.99])
@pytest.mark.parametrize("seed", [0, 1])
def test_gauss_seidel_guarantee(kind, gamma, seed):
    mdp = random_mdp(kind, seed + 10, gamma=gamma, terminal=seed == 1)
    V_star, _ = exact_optimum(mdp)
    tol = 1e-8
    result = mt.value_iteration(mdp, tol=tol, gauss_seidel=True)
    assert result.converged, result.message
    assert np.abs(result.V - V_star).max() <= tol
    assert np.abs(refined_value(mdp, result.policy) - V_star).max() <= tol
    assert np.abs(result.V - V_star).max() <= result.error_bound <= tol


def test_uncorrected_last_iterate_is_off_by_a_constant(kind):
    # Peers (e.g. pymdptoolbox) stop on the same span test but return the last iterate T^k V0.
    # By Puterman (2005) Thm 6.6.3, V* - T^k V0 lies in [gamma/(1-gamma) m, gamma/(1-gamma) M]: its
    # spread is at most 2 * error_bound, but its level is ~ gamma^k * mean reward / (1 - gamma).
    mdp = random_mdp(kind, 4, gamma=0.99)
    V_star, _ = exact_optimum(mdp)
    tol = 1e-6
    result = mt.value_iteration(mdp, tol=tol)
    assert result.converged
    V = np.zeros(mdp.n_states)
    for _ in range(result.iterations):  # what a peer returns after the same iterations
        V = mt.bellman_optimality(mdp, V)
    peer_error = V_star - V
    assert np.ptp(peer_error) <= 2 * result.error_bound + 1e-9  # a constant shift ...
    assert peer_error.min() > 1000 * tol  # ... and a large one
    assert np.abs(result.V - V_star).max() <= tol  # while the corrected values are within tol


def test_value_iteration_with_gamma_one_bounds_the_residual(kind):
    mdp = sutton_barto_4x4(kind)
    tol = 1e-8
    result = mt.value_iteration(mdp, tol=tol)
    assert result.converged
    assert result.message.endswith("(gamma = 1: tol bounds the Bellman residual, not the distance "
                                   "to V*)")
    assert result.error_bound is None
    assert np.abs(mt.bellman_optimality(mdp, result.V) - result.V).max() <= tol


def test_value_iteration_keeps_the_callers_initial_values(kind):
    mdp = random_mdp(kind, 5, terminal=True)
    V0 = np.full(mdp.n_states, 3.0)
    result = mt.value_iteration(mdp, V0=V0)
    np.testing.assert_array_equal(V0, 3.0)
    assert (result.V[mdp.terminal] == 0).all()


# ---------------------------------------------------------------------- stopping early
def advance_chain(kind, n=8, gamma=0.95):
    """Action 0 stays and earns 0.1; action 1 advances to s+1 and earns 0; in the last state
    either action stays and earns 1. Greedy-on-R policies stay; the optimum advances: every
    method needs several iterations."""
    P = np.zeros((n, 2, n))
    R = np.zeros((n, 2))
    for s in range(n - 1):
        P[s, 0, s] = 1.0
        P[s, 1, s + 1] = 1.0
        R[s, 0] = 0.1
    P[n - 1, :, n - 1] = 1.0
    R[n - 1] = 1.0
    return mt.MDP(as_kind(P, kind), R, gamma)


@pytest.mark.parametrize("solver", ITERATIVE)
def test_max_iter_exhausted_warns_and_does_not_converge(kind, solver):
    mdp = advance_chain(kind)
    with pytest.warns(ConvergenceWarning, match=r"stopped: max_iter=2 reached") as record:
        result = SOLVERS[solver](mdp, max_iter=2)
    assert result.converged is False
    assert result.message.startswith("stopped: max_iter=2 reached; ")
    assert result.iterations == 2  # fixed by max_iter itself
    # issue 21 item 1: a bound on every exit where one exists (none for the gain's bias)
    if solver == "relative_value_iteration":
        assert result.error_bound is None
    else:
        V_star = mt.policy_iteration(mdp, evaluation="direct").V  # exact (ties at the end)
        if solver != "soft_value_iteration":
            assert np.abs(result.V - V_star).max() <= result.error_bound
        assert result.error_bound == result.history.get("error_bound", [result.error_bound])[-1]
    assert all(len(v) == 2 for v in result.history.values())
    assert np.isfinite(result.V).all()
    # the warning points at the caller's line, not inside the library
    assert record[0].filename == __file__


@pytest.mark.parametrize("solver", ITERATIVE)
def test_callback_stops_early(kind, solver):
    mdp = advance_chain(kind)
    calls = []

    def callback(k, state):
        calls.append(k)
        assert state.V.shape == (mdp.n_states,)
        return k == 2

    result = SOLVERS[solver](mdp, callback=callback)
    assert calls == [1, 2]
    assert result.converged is False
    assert result.message.startswith("stopped: callback returned True at iteration 2")
    assert result.iterations == 2
    assert all(len(v) == 2 for v in result.history.values())


@pytest.mark.parametrize("solver", ITERATIVE)
def test_callback_returning_false_changes_nothing(kind, solver):
    mdp = advance_chain(kind)
    plain = SOLVERS[solver](mdp)
    ks = []
    observed = SOLVERS[solver](mdp, callback=lambda k, state: ks.append(k))
    assert observed.converged and plain.converged
    np.testing.assert_array_equal(observed.V, plain.V)
    assert observed.iterations == plain.iterations
    assert ks == list(range(1, len(ks) + 1)) and len(ks) >= plain.iterations - 1


# ---------------------------------------------------------------------- policy iteration
def grid(kind, n, goals, gamma, cost=None):
    """n x n grid, row-major, actions up/down/left/right (walls keep you in place), reward -1 per
    step (or -cost[s] in state s), goal cells terminal."""
    S = n * n
    moves = [(-1, 0), (1, 0), (0, -1), (0, 1)]
    P = np.zeros((S, 4, S))
    for s in range(S):
        r, c = divmod(s, n)
        for a, (dr, dc) in enumerate(moves):
            r2, c2 = min(max(r + dr, 0), n - 1), min(max(c + dc, 0), n - 1)
            P[s, a, r2 * n + c2] = 1.0
    terminal = np.zeros(S, bool)
    terminal[list(goals)] = True
    step = -np.ones(S) if cost is None else -np.asarray(cost, dtype=float)
    return mt.MDP(as_kind(P, kind), np.repeat(step[:, None], 4, axis=1), gamma, terminal=terminal)


def sutton_barto_4x4(kind):
    # Sutton & Barto (2018), Example 4.1: 4x4 grid, terminal corners 0 and 15, reward -1, gamma = 1.
    return grid(kind, 4, [0, 15], 1.0)


def manhattan(n, s, goals):
    r, c = divmod(s, n)
    return min(abs(r - g // n) + abs(c - g % n) for g in goals)


@pytest.mark.parametrize("gamma", [0.9, 1.0])
def test_policy_iteration_on_exact_ties_terminates_without_cycling(kind, gamma):
    # A 5x5 grid with the goal in the centre is symmetric: most cells have two equally good
    # moves, whose Q-values agree up to round-off.
    mdp = grid(kind, 5, [12], gamma)
    seen = []
    result = mt.policy_iteration(mdp, callback=lambda k, state: seen.append(tuple(state.policy)))
    assert result.converged, result.message
    assert len(set(seen)) == len(seen)  # no policy visited twice
    assert result.history["policy_changes"][-1] == 0
    J = result.history["J"]
    assert (np.diff(J) >= -1e-12 * max(1.0, np.abs(J).max())).all()
    d = np.array([manhattan(5, s, [12]) for s in range(25)])
    expected = -d.astype(float) if gamma == 1.0 else -(1 - gamma ** d) / (1 - gamma)
    np.testing.assert_allclose(result.V, expected, rtol=1e-12, atol=1e-12)
    P = dense_P(mdp)
    nxt = np.argmax(P[np.arange(25), result.policy], axis=1)
    assert all(d[nxt[s]] == d[s] - 1 for s in range(25) if s != 12)


def test_policy_iteration_default_start_on_sutton_barto_4x4(kind):
    # Sutton & Barto (2018), Example 4.1 / Figure 4.1: optimal values are minus the number of
    # steps to the nearest terminal corner. With gamma = 1 a greedy-on-R start (all ties: "up"
    # everywhere) would be improper; the default start must be proper.
    mdp = sutton_barto_4x4(kind)
    result = mt.policy_iteration(mdp)
    assert result.converged
    expected = -np.array([manhattan(4, s, [0, 15]) for s in range(16)], dtype=float)
    np.testing.assert_array_equal(result.V, expected)
    assert (np.diff(result.history["J"]) >= 0).all()


def test_policy_iteration_default_start_then_improves_on_a_weighted_grid(kind):
    # Same 4x4 grid, but cells 1 and 4 (next to the corner 0) cost 5 per step: the proper
    # starting policy (shortest paths) walks through them, so PI has to improve it.
    cost = np.ones(16)
    cost[[1, 4]] = 5.0
    mdp = grid(kind, 4, [0, 15], 1.0, cost=cost)
    # V* by Bellman-Ford on the deterministic grid (<= 16 sweeps are exact)
    P = dense_P(mdp)
    V = np.zeros(16)
    for _ in range(16):
        V = np.where(mdp.terminal, 0.0, (mdp.R + np.einsum("sat,t->sa", P, V)).max(axis=1))
    result = mt.policy_iteration(mdp)
    assert result.converged
    np.testing.assert_array_equal(result.V, V)
    J = result.history["J"]
    assert len(J) >= 2 and (np.diff(J) >= 0).all() and J[-1] > J[0]


def test_policy_iteration_on_random_mdps_is_exact(kind):
    mdp = random_mdp(kind, 6, gamma=0.95)
    V_star, policy = exact_optimum(mdp)
    result = mt.policy_iteration(mdp)
    np.testing.assert_array_equal(result.policy, policy)
    np.testing.assert_allclose(result.V, V_star, rtol=1e-12, atol=1e-12)
    assert (np.diff(result.history["J"]) >= -1e-12).all()
    assert result.history["policy_changes"][-1] == 0


# ---------------------------------------------------------------------- modified policy iteration
@pytest.mark.parametrize("m", [0, 1, 5, 50])
@pytest.mark.parametrize("gamma", [0.9, 0.99])
def test_modified_policy_iteration_guarantee(kind, m, gamma):
    mdp = random_mdp(kind, 7, gamma=gamma)
    V_star, _ = exact_optimum(mdp)
    tol = 1e-8
    result = mt.modified_policy_iteration(mdp, m=m, tol=tol)
    assert result.converged, result.message
    assert np.abs(result.V - V_star).max() <= tol
    assert np.abs(refined_value(mdp, result.policy) - V_star).max() <= tol
    assert np.abs(result.V - V_star).max() <= result.error_bound <= tol
    assert len(result.history["policy_changes"]) == result.iterations


# ---------------------------------------------------------------------- linear programming
@pytest.mark.parametrize("gamma", [0.9, 0.99])
@pytest.mark.parametrize("terminal", [False, True], ids=["no-terminal", "terminal"])
def test_linear_programming_values_and_occupancy(kind, gamma, terminal):
    mu = np.random.default_rng(8).dirichlet(np.ones(30))
    mdp = random_mdp(kind, 9, gamma=gamma, terminal=terminal, mu=mu)
    V_star, _ = exact_optimum(mdp)
    result = mt.linear_programming(mdp)
    assert result.converged, result.message
    np.testing.assert_allclose(result.V, V_star, rtol=1e-11, atol=1e-11)
    x = result.occupancy
    pi = policy_matrix(mdp, result.policy)
    np.testing.assert_allclose(x, mt.occupancy(mdp, result.policy)[:, None] * pi, rtol=1e-12,
                               atol=1e-14)
    assert (x >= 0).all() and (x[mdp.terminal] == 0).all()
    if not terminal:
        assert x.sum() == pytest.approx(1 / (1 - gamma), rel=1e-11)
    # x solves the dual LP: flow conservation and strong duality x . R = mu . V*
    P = dense_P(mdp)
    inflow = np.einsum("sa,sat->t", x, P)
    N = ~mdp.terminal
    np.testing.assert_allclose((x.sum(axis=1) - gamma * inflow)[N], mu[N], rtol=1e-10, atol=1e-12)
    assert (x * mdp.R).sum() == pytest.approx(mu @ V_star, rel=1e-10)


# ---------------------------------------------------------------------- average reward
def test_relative_value_iteration_on_a_periodic_two_cycle(kind):
    # 0 -> 1 earning 1, 1 -> 0 earning 3: the chain is periodic; gain (1 + 3) / 2 = 2,
    # bias h = (0, 1) from h(0) + g = 1 + h(1).
    P = np.array([[[0.0, 1.0]], [[1.0, 0.0]]])
    result = mt.relative_value_iteration(mt.MDP(as_kind(P, kind), [[1.0], [3.0]], 1.0), tol=1e-10)
    assert result.converged, result.message
    assert result.gain == pytest.approx(2.0, abs=1e-10)
    np.testing.assert_allclose(result.V, [0.0, 1.0], atol=1e-9)
    assert result.V[0] == 0.0


def test_relative_value_iteration_on_a_periodic_cycle_with_a_choice(kind):
    # State 0: go to 1 earning 1, or stay earning 1.5; state 1: back to 0 earning 3 or 2.
    # The cycle earns (1 + 3)/2 = 2 > 1.5 per step, so g* = 2 with the periodic chain.
    P = np.zeros((2, 2, 2))
    P[0, 0, 1] = P[0, 1, 0] = P[1, 0, 0] = P[1, 1, 0] = 1.0
    mdp = mt.MDP(as_kind(P, kind), [[1.0, 1.5], [3.0, 2.0]], 0.9)  # gamma is ignored
    result = mt.relative_value_iteration(mdp, tol=1e-10)
    assert result.converged
    assert result.gain == pytest.approx(2.0, abs=1e-10)
    np.testing.assert_array_equal(result.policy, [0, 0])


def stationary(P_pi):
    """The stationary distribution of a unichain transition matrix: nu P = nu, sum(nu) = 1."""
    n = P_pi.shape[0]
    M = np.vstack([P_pi.T - np.eye(n), np.ones((1, n))])
    b = np.zeros(n + 1)
    b[-1] = 1.0
    nu, *_ = np.linalg.lstsq(M, b, rcond=None)
    assert np.allclose(nu @ P_pi, nu, atol=1e-12) and (nu > -1e-12).all()
    return nu


@pytest.mark.parametrize("transient", [False, True], ids=["irreducible", "with-transient-state"])
def test_relative_value_iteration_gain_from_stationary_distributions(kind, transient):
    # Unichain MDP with 4 states and 2 actions: the optimal gain is the best over the 16
    # deterministic policies of stationary . R_pi (Puterman 2005, §8.3), computed here directly.
    rng = np.random.default_rng(10)
    P = random_P(rng, 4, 2) + 0.05
    if transient:
        P[:, :, 3] = 0.0  # nothing enters state 3: it is transient under every policy
    P /= P.sum(axis=2, keepdims=True)
    R = rng.normal(size=(4, 2))
    mdp = mt.MDP(as_kind(P, kind), R, 0.95)
    gains = []
    for actions in itertools.product(range(2), repeat=4):
        idx = (np.arange(4), np.array(actions))
        gains.append(stationary(P[idx]) @ R[idx])
    g_star = max(gains)
    tol = 1e-10
    result = mt.relative_value_iteration(mdp, tol=tol)
    assert result.converged, result.message
    assert abs(result.gain - g_star) <= tol
    assert result.V[0] == 0.0
    # the returned (h, g) satisfy the average-reward optimality equation to within tol
    h = result.V
    Th = (R + np.einsum("sat,t->sa", P, h)).max(axis=1)
    assert np.abs(Th - h - result.gain).max() <= tol * (1 + 1e-6)


# ---------------------------------------------------------------------- soft value iteration
def soft_fixed_point(mdp, beta, ref):
    """V*_beta by iterating the soft Bellman operator written out here, to round-off."""
    P = dense_P(mdp)
    logref = np.log(np.where(ref > 0, ref, 1.0)) + np.where(ref > 0, 0.0, -np.inf)
    V = np.zeros(mdp.n_states)
    for _ in range(5000):
        Q = np.where(mdp.allowed, mdp.R, -np.inf) + mdp.gamma * np.einsum("sat,t->sa", P, V)
        V_new = np.where(mdp.terminal, 0.0, beta * logsumexp(Q / beta + logref, axis=1))
        if np.abs(V_new - V).max() <= 1e-15 * max(1.0, np.abs(V).max()):
            break
        V = V_new
    return V_new


def reference_policy(mdp, which, seed=11):
    if which == "uniform":
        return None, mdp.allowed / mdp.allowed.sum(axis=1, keepdims=True)
    rng = np.random.default_rng(seed)
    ref = (rng.random(mdp.allowed.shape) + 0.05) * mdp.allowed
    ref /= ref.sum(axis=1, keepdims=True)
    return ref, ref


@pytest.mark.parametrize("beta", [0.05, 0.5, 5.0])
@pytest.mark.parametrize("which", ["uniform", "given"])
def test_soft_value_iteration_guarantee_and_policy(kind, beta, which):
    mdp = random_mdp(kind, 12, n_states=15, n_actions=3, gamma=0.9)
    reference, ref = reference_policy(mdp, which)
    tol = 1e-8
    result = mt.soft_value_iteration(mdp, beta, reference=reference, tol=tol)
    assert result.converged, result.message
    V_soft = soft_fixed_point(mdp, beta, ref)
    assert np.abs(result.V - V_soft).max() <= result.error_bound <= tol
    # the returned policy is softmax(Q / beta) against the reference, for the returned Q
    np.testing.assert_allclose(result.policy, mt.softmax_policy(result.Q, beta, reference),
                               rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(result.policy.sum(axis=1), 1.0, rtol=1e-12)
    # and its regularized value is within tol of the regularized optimum
    V_policy = mt.evaluate_policy(mdp, result.policy, beta=beta, reference=reference)
    assert np.abs(V_policy - V_soft).max() <= tol


@pytest.mark.parametrize("gamma", [1.0, 0.9])
def test_soft_value_iteration_closed_form_on_one_step(kind, gamma):
    # One decision then a terminal state: V(0) = beta log sum_a ref(a) exp(R(0, a) / beta) and
    # pi(a) = ref(a) exp(R(0, a) / beta) / exp(V(0) / beta); action 2 is disallowed.
    P = np.zeros((2, 3, 2))
    P[:, :, 1] = 1.0
    R = np.array([[1.0, 2.0, -np.inf], [0.0, 0.0, 0.0]])
    ref = np.array([[0.25, 0.75, 0.0], [1 / 3, 1 / 3, 1 / 3]])
    mdp = mt.MDP(as_kind(P, kind), R, gamma, terminal=[False, True])
    beta = 0.7
    result = mt.soft_value_iteration(mdp, beta, reference=ref, tol=1e-12)
    assert result.converged
    V0 = beta * np.log(0.25 * np.exp(1.0 / beta) + 0.75 * np.exp(2.0 / beta))
    np.testing.assert_allclose(result.V, [V0, 0.0], rtol=1e-13, atol=1e-13)
    expected = (np.array([0.25 * np.exp(1.0 / beta), 0.75 * np.exp(2.0 / beta), 0.0])
                / np.exp(V0 / beta))
    np.testing.assert_allclose(result.policy[0], expected, rtol=1e-12)
    assert result.policy[0, 2] == 0.0


@pytest.mark.parametrize("beta", [1.0, 0.1, 0.01, 0.001])
def test_soft_value_iteration_tends_to_the_hard_optimum(kind, beta):
    # With a uniform reference over k_s allowed actions, T V - beta log k_s <= T_beta V <= T V, so
    # 0 <= V* - V*_beta <= beta log A / (1 - gamma); the softmax policy pi_beta earns
    # V^pi_beta >= V*_beta (its KL penalty is >= 0), hence 0 <= V* - V^pi_beta <= the same bound.
    mdp = random_mdp(kind, 13, n_states=15, n_actions=3, gamma=0.9)
    V_star, _ = exact_optimum(mdp)
    tol = 1e-9
    result = mt.soft_value_iteration(mdp, beta, tol=tol)
    bound = beta * np.log(3) / (1 - 0.9)
    gap = V_star - result.V
    assert (gap >= -tol).all() and (gap <= bound + tol).all()
    gap_policy = V_star - mt.evaluate_policy(mdp, result.policy)
    assert (gap_policy >= -1e-9).all() and (gap_policy <= bound + tol).all()


# ---------------------------------------------------------------------- solve()
SOLVE_OPTIONS = {
    "value_iteration": {"tol": 1e-9},
    "policy_iteration": {},
    "modified_policy_iteration": {"m": 3},
    "linear_programming": {},
    "backward_induction": {"horizon": 3},
    "relative_value_iteration": {},
    "soft_value_iteration": {"beta": 0.3},
}


@pytest.mark.parametrize("name", sorted(SOLVE_OPTIONS))
def test_solve_dispatches_by_function_name(small_mdps, kind, name):
    mdp = small_mdps[kind]
    options = SOLVE_OPTIONS[name]
    result = mt.solve(mdp, method=name, **options)
    direct = getattr(mt, name)(mdp, **options)
    assert result.method == name
    np.testing.assert_array_equal(result.V, direct.V)
    np.testing.assert_array_equal(result.policy, direct.policy)


def test_solve_unknown_name_lists_the_valid_ones(small_mdps):
    with pytest.raises(ValueError,
                       match=r"method must be one of .*; got 'value-iteration'") as info:
        mt.solve(small_mdps["dense"], method="value-iteration")
    for name in SOLVE_OPTIONS:
        assert repr(name) in str(info.value)


def test_solve_passes_bad_options_to_the_solver(small_mdps):
    with pytest.raises(TypeError):
        mt.solve(small_mdps["dense"], method="policy_iteration", tol=1e-3)


# ---------------------------------------------------------------------- allowed actions
def masked_mdp(kind):
    """Random MDP in which the disallowed actions look irresistible (reward +10) and have empty
    rows of P; plus the same MDP with every disallowed action replaced by a copy of an allowed
    one, which has the same optimal gain."""
    rng = np.random.default_rng(14)
    S, A = 10, 3
    P = random_P(rng, S, A)
    R = rng.normal(size=(S, A))
    allowed = rng.random((S, A)) < 0.6
    allowed[np.arange(S), rng.integers(0, A, S)] = True
    P_masked = np.where(allowed[:, :, None], P, 0.0)
    R_masked = np.where(allowed, R, 10.0)
    first = np.argmax(allowed, axis=1)
    P_copy, R_copy = P.copy(), R.copy()
    for s, a in zip(*np.nonzero(~allowed)):
        P_copy[s, a], R_copy[s, a] = P[s, first[s]], R[s, first[s]]
    masked = mt.MDP(as_kind(P_masked, kind), R_masked, 0.9, allowed=allowed)
    copied = mt.MDP(as_kind(P_copy, kind), R_copy, 0.9)
    return masked, copied


@pytest.mark.parametrize("solver", sorted(SOLVERS))
def test_allowed_is_respected(kind, solver):
    masked, copied = masked_mdp(kind)
    result = SOLVERS[solver](masked)
    allowed = masked.allowed
    if solver == "soft_value_iteration":
        assert (result.policy[~allowed] == 0.0).all()
        np.testing.assert_allclose(result.policy.sum(axis=1), 1.0, rtol=1e-12)
    elif solver == "backward_induction":
        assert allowed[np.arange(masked.n_states)[None, :], result.policy].all()
        assert np.isneginf(result.Q[:, ~allowed]).all()
        P = dense_P(masked)
        V = np.zeros(masked.n_states)
        for t in range(3, -1, -1):  # four steps of backward induction over allowed actions only
            V = np.where(allowed, masked.R + masked.gamma * P @ V, -np.inf).max(axis=1)
            np.testing.assert_allclose(result.V[t], V, rtol=1e-12, atol=1e-12)
        return
    else:
        assert allowed[np.arange(masked.n_states), result.policy].all()
    assert np.isneginf(result.Q[~allowed]).all()
    if solver == "relative_value_iteration":
        assert result.gain == pytest.approx(mt.relative_value_iteration(copied).gain, abs=2e-8)
    elif solver != "soft_value_iteration":
        V_star, _ = exact_optimum(masked)  # certified over the allowed actions only
        np.testing.assert_allclose(result.V, V_star, rtol=0, atol=1e-8)


# ---------------------------------------------------------------------- PI's evaluation by sweeps
@pytest.mark.parametrize("gamma", [0.5, 0.9, 0.99])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_policy_iteration_by_sweeps_takes_howards_steps(kind, gamma, seed):
    # The sweeps stop at the round-off level of a direct solve and the improvement step allows
    # for their certified error, so the sequence of policies is Howard's (random rewards: no ties).
    # With terminal states the span bound gains nothing over the sup norm (their values are
    # pinned at 0), so at gamma >= 0.9 these 60-state systems are cheaper to solve directly.
    terminal = seed == 2
    mdp = random_mdp(kind, seed, n_states=60, gamma=gamma, terminal=terminal)
    direct = mt.policy_iteration(mdp, evaluation="direct")
    sweeps = mt.policy_iteration(mdp, evaluation="sweeps")
    assert (direct.history["sweeps"] == 0).all()
    assert sweeps.history["sweeps"].any() == (not terminal or gamma == 0.5)
    np.testing.assert_array_equal(sweeps.history["policy_changes"],
                                  direct.history["policy_changes"])
    np.testing.assert_array_equal(sweeps.policy, direct.policy)
    V_star, policy = exact_optimum(mdp)
    np.testing.assert_array_equal(sweeps.policy, policy)
    # as documented
    exact_level = 20 * np.finfo(float).eps * (1 + np.abs(V_star).max()) / (1 - gamma)
    assert np.abs(sweeps.V - V_star).max() <= exact_level
    assert np.abs(sweeps.V - V_star).max() <= sweeps.error_bound
    assert direct.message.endswith("(exact evaluation)")
    if sweeps.history["sweeps"].any():
        assert sweeps.message.endswith("(evaluation exact to round-off: warm-started sweeps "
                                       "certified by the span bound)")


def test_policy_iteration_solves_directly_when_sweeps_would_be_slow(kind):
    # A 400-state corridor at gamma = 0.9999: T^pi contracts by about gamma per sweep, so the
    # sweeps would need ~10^5 steps; the observed rate sends the evaluation to the direct solve.
    S = 400
    P = np.zeros((S, 2, S))
    s = np.arange(S)
    P[s, 0, np.maximum(s - 1, 0)] = 1.0
    P[s, 1, np.minimum(s + 1, S - 1)] = 1.0
    R = np.zeros((S, 2))
    R[S - 1, :] = 1.0
    R[0, :] = 0.5
    mdp = mt.MDP(as_kind(P, kind), R, 0.9999)
    result = mt.policy_iteration(mdp)
    assert (result.history["sweeps"] == 0).any()
    V_star, policy = exact_optimum(mdp)
    np.testing.assert_array_equal(result.policy, policy)
    np.testing.assert_allclose(result.V, V_star, rtol=1e-9)


def test_policy_iteration_evaluation_options_are_checked(small_mdps):
    with pytest.raises(ValueError, match=r"evaluation must be 'auto', 'direct' or 'sweeps'; "
                                         r"got 'lu'"):
        mt.policy_iteration(small_mdps["dense"], evaluation="lu")
    episodic = small_mdps["dense"].replace(gamma=1.0, terminal=np.arange(12) == 0)
    with pytest.raises(ValueError, match=r"evaluation='sweeps' needs gamma < 1 \(the span bound "
                                         r"certifies nothing at gamma = 1\); use 'direct'"):
        mt.policy_iteration(episodic, evaluation="sweeps")
