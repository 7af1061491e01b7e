"""The compiled loops of the DP solvers (issue 20): they agree with the NumPy path to round-off
on random dense and sparse MDPs with masks and terminal states, run as plain Python too, and the
Gauss–Seidel stopping rule's bound holds. Speed is measured in benchmarks/, never asserted here.
"""

import subprocess
import sys

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import mdptoolkit as mt
from mdptoolkit.evaluation import _kernels as eval_kernels
from mdptoolkit.operators import _Backup
from mdptoolkit.solvers import _gauss_seidel, _kernels

from _helpers import as_kind, random_P

PATHS = ["numpy", "python", "compiled"]


def masked_mdp(seed, kind, n_states=15, n_actions=3, gamma=0.9):
    """Random MDP with disallowed actions (every state keeps one) and two terminal states;
    stored dense (every successor) or sparse (4 successors per row)."""
    rng = np.random.default_rng(seed)
    P = random_P(rng, n_states, n_actions, None if kind == "dense" else 4)
    allowed = rng.random((n_states, n_actions)) < 0.7
    allowed[np.arange(n_states), rng.integers(0, n_actions, n_states)] = True
    terminal = np.zeros(n_states, bool)
    terminal[rng.choice(n_states, 2, replace=False)] = True
    R = rng.uniform(-1, 1, (n_states, n_actions))
    return mt.MDP(as_kind(P, kind), R, gamma, allowed=allowed, terminal=terminal)


@pytest.fixture
def path(request, monkeypatch):
    """Route the solvers through one implementation of the loops."""
    which = request.param
    if which == "numpy":
        monkeypatch.setattr(_kernels, "MIN_WORK", 1 << 62)
        monkeypatch.setattr(eval_kernels, "MIN_WORK", 1 << 62)
    else:
        if which == "compiled":
            pytest.importorskip("numba")
            solver_loops, eval_loops = _kernels.compiled(), eval_kernels.compiled()
        else:
            solver_loops, eval_loops = _kernels.PYTHON, eval_kernels.PYTHON
        monkeypatch.setattr(_kernels, "for_mdp", lambda mdp, upto=None: solver_loops)
        monkeypatch.setattr(eval_kernels, "compiled", lambda parallel=False: eval_loops)
        monkeypatch.setattr(eval_kernels, "MIN_WORK", 0)
    return which


def reference_values(mdp):
    return mt.policy_iteration(mdp, evaluation="direct").V


# ---------------------------------------------------------------------- one backup
@pytest.mark.parametrize("kind", ["dense", "sparse"])
@pytest.mark.parametrize("loops", ["python", "compiled"])
def test_fused_backup_equals_numpy_backup_with_its_statistics(kind, loops):
    if loops == "compiled":
        pytest.importorskip("numba")
    K = _kernels.compiled() if loops == "compiled" else _kernels.PYTHON
    for seed in range(4):
        mdp = masked_mdp(seed, kind)
        op = mdp._op
        assert sp.issparse(op) == (kind == "sparse")
        V = np.random.default_rng(seed).normal(size=mdp.n_states)
        expected = _Backup(mdp).max(V)[0]
        TV = np.empty_like(V)
        R = np.array(mdp._R_am)
        for n_blocks in (1, 2, 3):
            stats = np.empty((n_blocks, 4))
            if sp.issparse(op):
                K.backup_csr(op.indptr, op.indices, op.data, R, mdp.gamma, V, TV, stats)
            else:
                K.backup_dense(op, R, mdp.gamma, V, TV, stats)
            np.testing.assert_allclose(TV, expected, rtol=0, atol=1e-13)
            d = expected - V
            assert stats[:, 0].min() == pytest.approx(d.min(), abs=1e-13)
            assert stats[:, 1].max() == pytest.approx(d.max(), abs=1e-13)
            assert stats[:, 2].max() == pytest.approx(np.abs(expected).max(), abs=1e-13)
            assert not stats[:, 3].any()


# ---------------------------------------------------------------------- whole solvers
@pytest.mark.parametrize("path", PATHS, indirect=True)
@pytest.mark.parametrize("kind", ["dense", "sparse"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_value_iteration_paths_agree_to_round_off(path, kind, seed):
    mdp = masked_mdp(seed, kind, gamma=0.95)
    V_star = reference_values(mdp)
    result = mt.value_iteration(mdp, tol=1e-9)
    assert result.converged, result.message
    assert np.abs(result.V - V_star).max() <= result.error_bound <= 1e-9
    assert len(result.history["elapsed"]) == result.iterations
    assert (np.diff(result.history["elapsed"]) >= 0).all()
    assert result.V[mdp.terminal].tolist() == [0.0, 0.0]
    assert mdp.allowed[np.arange(mdp.n_states), result.policy].all()


@pytest.mark.parametrize("kind", ["dense", "sparse"])
def test_compiled_value_iteration_repeats_the_numpy_iterations(kind, monkeypatch):
    # the compiled loop replays the span rule's decisions: the same iterations, the same
    # history to round-off, on every exit (converged, max_iter, stall)
    pytest.importorskip("numba")
    mdp = masked_mdp(5, kind, n_states=40, gamma=0.99)
    runs = {}
    for which in ("numpy", "compiled"):
        monkeypatch.setattr(_kernels, "MIN_WORK", 1 << 62 if which == "numpy" else 0)
        with pytest.warns(mt.ConvergenceWarning, match="max_iter=7 reached"):
            stopped = mt.value_iteration(mdp, max_iter=7)
        runs[which] = [mt.value_iteration(mdp, tol=1e-8), stopped]
    for a, b in zip(runs["numpy"], runs["compiled"]):
        assert (a.iterations, a.converged) == (b.iterations, b.converged)
        np.testing.assert_allclose(a.V, b.V, rtol=1e-12, atol=1e-12)
        # (the bound is gamma/(1-gamma) times a difference of the values: round-off of |V|)
        scale = 1e-13 * mdp.gamma / (1 - mdp.gamma) * np.abs(a.V).max()
        np.testing.assert_allclose(a.history["error_bound"], b.history["error_bound"],
                                   rtol=1e-9, atol=scale)
        assert a.error_bound == pytest.approx(b.error_bound, rel=1e-9, abs=scale)


@pytest.mark.parametrize("path", PATHS, indirect=True)
@pytest.mark.parametrize("kind", ["dense", "sparse"])
def test_policy_iteration_paths_agree(path, kind):
    mdp = masked_mdp(3, kind, n_states=30, gamma=0.97)
    direct = mt.policy_iteration(mdp, evaluation="direct")
    result = mt.policy_iteration(mdp)
    np.testing.assert_array_equal(result.policy, direct.policy)
    np.testing.assert_allclose(result.V, direct.V, rtol=0, atol=1e-9)
    assert np.abs(result.V - direct.V).max() <= result.error_bound + 1e-12


def test_compiled_evaluation_sweeps_equal_numpy_sweeps():
    K = eval_kernels.PYTHON
    rng = np.random.default_rng(0)
    P = sp.csr_array(random_P(rng, 20, 1, 4)[:, 0])
    data = 0.9 * P.data
    R = rng.normal(size=20)
    x0 = rng.normal(size=20)
    for n in (1, 2, 5):
        x, y, stats = x0.copy(), np.empty(20), np.empty((2, 4))
        in_y = K.eval_sweeps_csr(P.indptr, P.indices, data, np.arange(20), 1.0, R, x, y, n,
                                 stats)
        last, prev = (y, x) if in_y else (x, y)
        expected = x0.copy()
        for _ in range(n):
            before, expected = expected, R + 0.9 * (P @ expected)
        np.testing.assert_allclose(last, expected, atol=1e-13)
        np.testing.assert_allclose(prev, before, atol=1e-13)
        assert stats[:, 0].min() == pytest.approx((expected - before).min(), abs=1e-13)
        assert stats[:, 1].max() == pytest.approx((expected - before).max(), abs=1e-13)



# ---------------------------------------------------------------------- policy iteration's loop
def ring_mdp(n_states=60, gamma=0.999):
    """Move one state along a ring or stay: the span of T^pi V - V shrinks by about gamma per
    sweep, so certified sweeps would need ~40 000 of them and policy iteration's evaluation
    gives way to the direct solve (the compiled loop hands that step back to Python)."""
    S = n_states
    P = np.zeros((S, 2, S))
    P[np.arange(S), 0, (np.arange(S) + 1) % S] = 1.0
    P[np.arange(S), 1, np.arange(S)] = 1.0
    R = np.random.default_rng(7).uniform(-1, 1, (S, 2))
    return mt.MDP(P, R, gamma)


def pi_step_by_step(mdp, **kwargs):
    """Policy iteration through the per-step loop (a callback keeps it out of the whole-loop
    kernel), with the same compiled evaluation and improvement."""
    return mt.policy_iteration(mdp, callback=lambda k, state: False, **kwargs)


@pytest.mark.parametrize("path", ["python", "compiled"], indirect=True)
@pytest.mark.parametrize("case", ["masked0", "masked1", "masked2", "forest", "ring"])
def test_policy_iteration_whole_loop_repeats_the_step_by_step_loop(path, case):
    # _kernels.pi_loop_csr runs Howard's steps without Python: the same policies, sweeps and
    # messages as the loop that returns to Python at every step (the ring's evaluations go to
    # the direct solve: the kernel hands those steps back and resumes)
    mdp = (forest() if case == "forest" else ring_mdp() if case == "ring"
           else masked_mdp(int(case[-1]), "sparse", n_states=40, gamma=0.97))
    assert sp.issparse(mdp._op)  # (policy iteration's compiled loops are for CSR storage)
    whole, steps = mt.policy_iteration(mdp), pi_step_by_step(mdp)
    assert (whole.iterations, whole.converged, whole.message) == \
        (steps.iterations, steps.converged, steps.message)
    np.testing.assert_array_equal(whole.policy, steps.policy)
    np.testing.assert_array_equal(whole.history["policy_changes"],
                                  steps.history["policy_changes"])
    np.testing.assert_array_equal(whole.history["sweeps"], steps.history["sweeps"])
    np.testing.assert_allclose(whole.history["J"], steps.history["J"], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(whole.V, steps.V, rtol=0, atol=1e-12)
    assert len(whole.history["elapsed"]) == whole.iterations
    assert (np.diff(whole.history["elapsed"]) >= 0).all()
    if case == "ring":
        assert (whole.history["sweeps"] == 0).any()
    with pytest.warns(mt.ConvergenceWarning, match="max_iter=2 reached"):
        stopped = mt.policy_iteration(mdp, max_iter=2)
    assert stopped.iterations == 2
    np.testing.assert_array_equal(stopped.history["policy_changes"],
                                  whole.history["policy_changes"][:2])


@pytest.mark.parametrize("path", ["python", "compiled"], indirect=True)
@pytest.mark.parametrize("chunk", [1, 3])
def test_policy_iteration_whole_loop_resumes_across_chunks(path, chunk, monkeypatch):
    # steps split over several compiled calls (PI_CHUNK) give the same run as one call
    solver = sys.modules["mdptoolkit.solvers.policy_iteration"]
    mdps = (forest(), ring_mdp())
    whole = [mt.policy_iteration(mdp) for mdp in mdps]
    monkeypatch.setattr(solver, "PI_CHUNK", chunk)
    for mdp, one in zip(mdps, whole):
        split = mt.policy_iteration(mdp)
        assert (split.iterations, split.message) == (one.iterations, one.message)
        np.testing.assert_array_equal(split.history["sweeps"], one.history["sweeps"])
        np.testing.assert_array_equal(split.history["policy_changes"],
                                      one.history["policy_changes"])
        np.testing.assert_array_equal(split.policy, one.policy)
        np.testing.assert_allclose(split.V, one.V, rtol=0, atol=1e-12)


@pytest.mark.parametrize("case", ["masked0", "masked1", "forest", "ring"])
def test_compiled_policy_iteration_repeats_the_numpy_steps(case, monkeypatch):
    # against the reference NumPy path: the same Howard steps (sweep counts may differ by a
    # checked sweep: the two paths round the sums differently), values to round-off level
    pytest.importorskip("numba")
    mdp = (forest() if case == "forest" else ring_mdp() if case == "ring"
           else masked_mdp(int(case[-1]), "sparse", n_states=40, gamma=0.97))
    runs = {}
    for which in ("numpy", "compiled"):
        monkeypatch.setattr(_kernels, "MIN_WORK", 1 << 62 if which == "numpy" else 0)
        monkeypatch.setattr(eval_kernels, "MIN_WORK", 1 << 62 if which == "numpy" else 0)
        runs[which] = mt.policy_iteration(mdp)
    a, b = runs["numpy"], runs["compiled"]
    assert (a.iterations, a.converged, a.message) == (b.iterations, b.converged, b.message)
    np.testing.assert_array_equal(a.policy, b.policy)
    np.testing.assert_array_equal(a.history["policy_changes"], b.history["policy_changes"])
    np.testing.assert_allclose(a.V, b.V, rtol=0, atol=1e-9)
    assert np.abs(a.V - b.V).max() <= a.error_bound + b.error_bound + 1e-12


@pytest.mark.parametrize("loops", ["python", "compiled"])
def test_compiled_sweep_loop_equals_the_numpy_sweeps(loops, monkeypatch):
    # evaluation._kernels.sweep_loop_csr is sweep_values's loop: certified to the same target
    from mdptoolkit.evaluation.sweeps import sweep_values
    if loops == "compiled":
        pytest.importorskip("numba")
    K = eval_kernels.compiled() if loops == "compiled" else eval_kernels.PYTHON
    monkeypatch.setattr(eval_kernels, "compiled", lambda parallel=False: K)
    rng = np.random.default_rng(3)
    P = sp.csr_array(random_P(rng, 50, 1, 4)[:, 0])
    R = rng.normal(size=50)
    V_pi = np.linalg.solve(np.eye(50) - 0.95 * P.toarray(), R)
    for tol, budget in ((1e-6, 1000), (1e-12, 1000), (1e-12, 5)):
        ref = sweep_values(P, R, 0.95, np.zeros(50), tol, budget, compiled=False)
        out = sweep_values(P, R, 0.95, np.zeros(50), tol, budget, compiled=True)
        assert (ref[0] is None) == (out[0] is None)
        assert abs(ref[2] - out[2]) <= 1
        if out[0] is not None:
            assert np.abs(out[0] - V_pi).max() <= out[1] + 1e-13 <= tol + 1e-13
            np.testing.assert_allclose(out[0], ref[0], rtol=0, atol=2 * tol)


# ---------------------------------------------------------------------- Gauss-Seidel
@settings(max_examples=25)
@given(seed=st.integers(0, 10_000), kind=st.sampled_from(["dense", "sparse"]),
       gamma=st.sampled_from([0.5, 0.9, 0.99]), tol=st.sampled_from([1e-4, 1e-8]))
def test_gauss_seidel_bound_holds_on_random_mdps(seed, kind, gamma, tol):
    # mdptoolkit.solvers._gauss_seidel: the span bound of one Jacobi backup of the Gauss-Seidel
    # iterate certifies the returned V and the greedy policy's loss, as for Jacobi
    mdp = masked_mdp(seed, kind, n_states=12, gamma=gamma)
    V_star = reference_values(mdp)
    result = mt.value_iteration(mdp, tol=tol, gauss_seidel=True)
    assert result.converged, result.message
    assert np.abs(result.V - V_star).max() <= result.error_bound <= tol
    V_pi = mt.evaluate_policy(mdp, result.policy)
    assert (V_star - V_pi).max() <= tol + 1e-12
    assert result.error_bound == result.history["error_bound"][-1]


@pytest.mark.parametrize("path", PATHS, indirect=True)
@pytest.mark.parametrize("kind", ["dense", "sparse"])
def test_gauss_seidel_paths_agree_and_stop_no_later_than_jacobi(path, kind):
    mdp = masked_mdp(7, kind, n_states=25, gamma=0.95)
    V_star = reference_values(mdp)
    jacobi = mt.value_iteration(mdp, tol=1e-8)
    gs = mt.value_iteration(mdp, tol=1e-8, gauss_seidel=True)
    assert gs.converged and np.abs(gs.V - V_star).max() <= gs.error_bound <= 1e-8
    assert gs.iterations <= jacobi.iterations
    assert len(gs.history["residual"]) == gs.iterations


def forest(n=1000, p=0.1, gamma=0.96):
    """pymdptoolbox's forest (as in benchmarks/_workloads.py)."""
    P = np.zeros((n, 2, n))
    s = np.arange(n)
    P[:, 0, 0] = p
    P[s[:-1], 0, s[:-1] + 1] = 1 - p
    P[n - 1, 0, n - 1] = 1 - p
    P[:, 1, 0] = 1.0
    R = np.zeros((n, 2))
    R[n - 1, 0] = 4.0
    R[1:, 1] = 1.0
    R[n - 1, 1] = 2.0
    return mt.MDP(P, R, gamma)


def test_gauss_seidel_needs_fewer_iterations_than_jacobi_on_the_forest():
    # issue 20: 222 Gauss-Seidel iterations against Jacobi's 127 before (forest, tol 1e-6);
    # now 64
    mdp = forest()
    jacobi = mt.value_iteration(mdp, tol=1e-6)
    gs = mt.value_iteration(mdp, tol=1e-6, gauss_seidel=True)
    assert gs.converged and gs.iterations < jacobi.iterations
    np.testing.assert_allclose(gs.V, jacobi.V, atol=1e-6)


SWEEPS = ["numpy", "python", "compiled"]


def sweep_of(mdp, which):
    if which == "numpy":
        return _gauss_seidel.forward_sweep(mdp, None)
    if which == "python":
        return _gauss_seidel.forward_sweep(mdp, _kernels.PYTHON)
    pytest.importorskip("numba")
    return _gauss_seidel.forward_sweep(mdp, _kernels.compiled())


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10_000), kind=st.sampled_from(["dense", "sparse"]),
       which=st.sampled_from(SWEEPS), c=st.floats(-100, 100),
       n_states=st.integers(3, 80))
def test_shifted_sweep_commutes_with_constants(seed, kind, which, c, n_states):
    # mdptoolkit.solvers._gauss_seidel: sweep(V + c) = sweep(V) + gamma c, as for T (the
    # property that lets the span rule see through the sweep); plain Gauss-Seidel fails it
    mdp = masked_mdp(seed, kind, n_states=n_states, gamma=0.9)
    sweep = sweep_of(mdp, which)
    V = np.random.default_rng(seed).normal(size=n_states)
    W, Wc = V.copy(), V + c
    sweep(W)
    sweep(Wc)
    np.testing.assert_allclose(Wc - W, 0.9 * c, atol=1e-11 * (1 + abs(c)))


@pytest.mark.parametrize("kind", ["dense", "sparse"])
def test_shifted_sweep_paths_agree_and_fix_v_star(kind):
    for seed in range(3):
        mdp = masked_mdp(seed, kind, n_states=70, gamma=0.95)  # three blocks, one partial
        V = np.random.default_rng(seed).normal(size=70)
        out = {}
        for which in SWEEPS:
            if which == "compiled" and _kernels.compiled() is None:
                continue
            out[which] = V.copy()
            sweep_of(mdp, which)(out[which])
        for W in out.values():
            np.testing.assert_allclose(W, out["numpy"], rtol=0, atol=1e-12)
        V_star = reference_values(mdp)
        W = V_star.copy()
        sweep_of(mdp, "numpy")(W)
        np.testing.assert_allclose(W, V_star, rtol=0, atol=1e-12)  # V* is its fixed point


@pytest.mark.parametrize("path", PATHS, indirect=True)
def test_gauss_seidel_beats_jacobi_on_a_random_sparse_mdp(path):
    # issue 20: on a 20,000-state Garnet plain sweeps needed 75 iterations against Jacobi's
    # 35 (the constant part of the error became a spread); the shifted sweep needs 15. Here
    # a Garnet MDP of 2000 states (4 actions, 5 successors, gamma 0.99)
    mdp = mt.envs.random_mdp(2000, 4, branching=5, sparse=True, gamma=0.99, seed=4).mdp
    jacobi = mt.value_iteration(mdp, tol=1e-6)
    gs = mt.value_iteration(mdp, tol=1e-6, gauss_seidel=True)
    assert gs.converged and "stopped" not in gs.message
    assert gs.iterations <= jacobi.iterations / 2
    np.testing.assert_allclose(gs.V, jacobi.V, atol=1e-6)


def test_gauss_seidel_converges_on_cliff_walking():
    # plain sweeps restarted from the midpoint never reached tol here (20,000 iterations);
    # Jacobi needs 15
    mdp = mt.envs.cliff_walking(gamma=0.99).mdp
    jacobi = mt.value_iteration(mdp, tol=1e-6)
    gs = mt.value_iteration(mdp, tol=1e-6, gauss_seidel=True)
    assert gs.converged and gs.iterations <= jacobi.iterations
    np.testing.assert_allclose(gs.V, jacobi.V, atol=1e-6)


@pytest.mark.parametrize("path", PATHS, indirect=True)
def test_gauss_seidel_falls_back_to_jacobi_when_the_sweeps_fall_behind(path):
    # a deterministic MDP (one successor per action): the shifted sweeps' bound falls more
    # slowly than gamma per iteration, the factor Jacobi's contraction guarantees; after a
    # window of such iterations the run goes on with Jacobi backups and converges, certified,
    # in about Jacobi's iterations
    mdp = mt.envs.random_mdp(100, 2, branching=1, gamma=0.99, seed=1).mdp
    result = mt.value_iteration(mdp, tol=1e-6, gauss_seidel=True)
    assert result.converged
    assert "Gauss-Seidel sweeps stopped at iteration" in result.message
    assert "went on with Jacobi backups" in result.message
    V_star = reference_values(mdp)
    assert np.abs(result.V - V_star).max() <= result.error_bound <= 1e-6
    jacobi = mt.value_iteration(mdp, tol=1e-6)
    assert result.iterations <= 1.1 * jacobi.iterations


def test_gauss_seidel_gives_up_when_the_bound_falls_slower_than_jacobis_guarantee():
    # _kernels._gs_give_up (the compiled loops run the same function; the path tests above
    # check their runs against the NumPy path's). Window GS_PATIENCE = 10, gamma = 0.9,
    # gamma/(1-gamma) = 9, no row error: the bound of stats (lo, hi, .) is 9 (hi - lo) / 2
    give_up = _kernels._gs_give_up
    W = _kernels.GS_PATIENCE
    recent, jacobi_from = np.full(W, np.inf), np.zeros(1, np.int64)
    for k in range(1, 3 * W):  # falling a little faster than gamma per iteration: not behind
        h = 0.899 ** k
        give_up(np.array([-h, h, 5.0]), k, 0.9, 9.0, 0.0, jacobi_from, recent)
    assert jacobi_from[0] == 0
    np.testing.assert_allclose(recent[(3 * W - 1) % W], 9 * 0.899 ** (3 * W - 1))
    h = 1.01 * 0.9 ** W * 0.899 ** (2 * W)  # 1 % above gamma^W times the bound W back
    give_up(np.array([-h, h, 5.0]), 3 * W, 0.9, 9.0, 0.0, jacobi_from, recent)
    assert jacobi_from[0] == 3 * W
    recent, jacobi_from = np.full(W, np.inf), np.zeros(1, np.int64)
    for k in range(1, W + 2):  # a stall: the same bound every iteration
        give_up(np.array([-1.0, 1.0, 5.0]), k, 0.9, 9.0, 0.0, jacobi_from, recent)
    assert jacobi_from[0] == W + 1


def test_gauss_seidel_gamma_one_bounds_the_residual_only():
    P = np.zeros((3, 1, 3))
    P[0, 0, 1] = P[1, 0, 2] = P[2, 0, 2] = 1.0
    mdp = mt.MDP(P, [[1.0], [2.0], [0.0]], 1.0, terminal=[False, False, True])
    result = mt.value_iteration(mdp, gauss_seidel=True)
    assert result.converged and result.error_bound is None
    np.testing.assert_allclose(result.V, [3.0, 2.0, 0.0])


# ---------------------------------------------------------------------- packaging
def test_import_does_not_import_numba():
    code = "import sys, mdptoolkit; print('numba' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_without_numba_the_solvers_take_the_numpy_path(monkeypatch):
    monkeypatch.setitem(sys.modules, "numba", None)  # import numba raises ImportError
    monkeypatch.setattr(_kernels, "_compiled", {})
    monkeypatch.setattr(eval_kernels, "_compiled", {})
    assert _kernels.compiled() is None and eval_kernels.compiled() is None
    mdp = forest()
    assert _kernels.for_mdp(mdp) is None
    assert mt.value_iteration(mdp, tol=1e-8).converged
