r"""Compiled loops of the dynamic-programming solvers (Numba), beside the NumPy path they
accelerate (:class:`mdptoolkit.operators._Backup`, the sweeps of
:mod:`mdptoolkit.evaluation.sweeps`).

NumPy runs a Bellman backup as a matrix–vector product followed by passes over the (A, S)
buffer (add R, the maximum over actions, TV − V, its minimum and maximum, max|TV|); on small
MDPs the time is the Python overhead of those calls and of the loop around them, on large ones
the passes around the product. The loops here do it in one pass over the rows of P, with the
span bookkeeping of :class:`mdptoolkit._stopping.SpanRule` on the fly:

- :func:`backup_csr` / :func:`backup_dense`: :math:`TV(s) = \max_a R(a, s) + \gamma P_{a,s} V`
  and the minimum and maximum of :math:`TV - V` and :math:`\max|TV|`, per block of states
  (one block per thread: ``prange`` over blocks where the work pays for a second core);
- :func:`vi_loop_csr` / :func:`vi_loop_dense`: whole runs of value iteration with the span
  rule's decisions inside (no Python per iteration), stopping at the first iteration that needs
  the rule's judgement (converged, a precision limit, a non-finite value, a pause of the bound
  that may be a stall) so that Python replays the statistics and decides exactly as the NumPy
  path does;
- :func:`gs_sweep_csr` / :func:`gs_sweep_dense`: one shifted Gauss–Seidel sweep in place,
  and :func:`gs_loop_csr` / :func:`gs_loop_dense` the whole Gauss–Seidel run (the NumPy path
  is a Python loop over states: meant for teaching and small MDPs);
- :func:`pi_loop_csr`: whole runs of policy iteration (certified sweeps, improvement, tie
  tolerance, update) with the decisions of the Python loop, handing a step back to Python
  only when its evaluation needs the direct solve;
- the sweeps of policy evaluation are in :mod:`mdptoolkit.evaluation._kernels`, beside
  :func:`~mdptoolkit.evaluation.sweeps.sweep_values`.

The functions are plain Python, so the logic runs (slowly) and is tested without Numba;
:func:`compiled` returns them compiled when Numba is installed (``pip install
mdptoolkit[fast]``) and None otherwise. Numba is imported on first use only, never by
``import mdptoolkit``, and the compiled code is cached on disk where the package directory is
writable, so compilation (a few seconds) is paid once per machine.
"""

from __future__ import annotations

import math
import types
from typing import Any

import numpy as np

from .._typing import FloatArray, IntArray
from ..evaluation import _kernels as _shared
from ..mdp import MDP

#: MDPs with at least this many transitions + state-action pairs use the compiled loops (when
#: Numba is installed); below it a solve takes well under a millisecond either way and a first
#: call would import Numba for nothing.
MIN_WORK = 1 << 11
#: Above this work per backup value iteration keeps the NumPy path: there the per-iteration
#: Python is a few percent of a backup, and in one benchmark run the compiled loop was 1.14x
#: (Garnet, 4.8e5) and 1.32x (300x300 grid, 1.8e6) the NumPy path's time, both memory bound.
MAX_WORK = 1 << 18
#: Dense matrices larger than this stay with BLAS's GEMV (2.3x faster than the compiled row
#: loop on a full 2000x4 MDP).
DENSE_WORK = 1 << 16
#: Work (transitions per backup) from which a backup is split over the cores. Measured on the
#: 2-vCPU machine of benchmarks/README.md, shared with other work: the parallel backup took
#: twice the serial one's wall time (grid300: 10.7 against 5.1 ms; value iteration on a
#: 20,000-state Garnet MDP: 148 against 30 ms), the second core being rarely free; so it is
#: used only above the largest workloads measured there (grid1000 has 1.6e7 transitions).
PARALLEL_WORK = 1 << 25

# event codes of the value-iteration loop
CONTINUE, DONE, PRECISION, DIVERGED, PAUSE = 0, 1, 2, 3, 4
# events of the policy-iteration loop: a stable policy, the last step allowed, sweeps gave up
PI_STABLE, PI_MORE, PI_DIRECT = 0, 1, 2
#: The window of Gauss–Seidel iterations over which the bound must fall at least as fast as
#: Jacobi iteration guarantees, else the run goes on with Jacobi backups
#: (:mod:`mdptoolkit.solvers._gauss_seidel`).
GS_PATIENCE = 10
#: What the loops return: (iterations, event code, best bound, its iteration, swapped).
LoopResult = tuple[int, int, float, int, bool]

prange = range  # numba.prange in the compiled copies of the parallel loops
_blocks, _row_dot, _track = _shared._blocks, _shared._row_dot, _shared._track
_sweep_loop = _shared.sweep_loop_csr  # the compiled one in the compiled loops


def _reduce(stats):
    """(min of TV - V, max of TV - V, max|TV|, all finite) over the blocks' rows of stats."""
    lo, hi, big, ok = np.inf, -np.inf, 0.0, True
    for b in range(stats.shape[0]):
        lo = min(lo, stats[b, 0])
        hi = max(hi, stats[b, 1])
        big = max(big, stats[b, 2])
        ok = ok and stats[b, 3] == 0.0
    return lo, hi, big, ok


def backup_csr(indptr: IntArray, indices: IntArray, data: FloatArray, R: FloatArray,
               gamma: float, V: FloatArray, TV: FloatArray, stats: FloatArray) -> None:
    """TV = max_a R[a] + gamma P_a V over the action-major CSR rows (row a*S + s); ``stats``
    (n_blocks, 4) gets per block min/max of TV - V, max|TV| and a flag for non-finite TV.

    Each block reads its rows action by action, in storage order (the maximum is kept in TV
    as it goes, branch-free: which action wins is unpredictable), so P streams through once,
    as in a plain CSR product. ``R`` must be a writable array (Numba reads read-only arrays
    markedly slower)."""
    A, S = R.shape
    n_blocks = stats.shape[0]
    one = np.uint64(1)
    for b in prange(n_blocks):
        s0, s1 = _blocks(S, n_blocks, b)
        for a in range(A - 1):
            # the block's rows of action a are consecutive: one running position in data
            p = np.uint64(indptr[a * S + s0])
            for s in range(s0, s1):
                end = np.uint64(indptr[a * S + s + 1])
                acc = 0.0
                while p < end:
                    acc += data[p] * V[np.uint64(indices[p])]
                    p += one
                # R = -inf: a disallowed action; the maximum branch-free (the winner is random)
                TV[s] = max(TV[s] if a > 0 else -np.inf, R[a, s] + gamma * acc)
        # the last action, with the statistics of TV - V in the same pass
        a = A - 1
        p = np.uint64(indptr[a * S + s0])
        lo, hi, big, bad = np.inf, -np.inf, 0.0, 0.0
        for s in range(s0, s1):
            end = np.uint64(indptr[a * S + s + 1])
            acc = 0.0
            while p < end:
                acc += data[p] * V[np.uint64(indices[p])]
                p += one
            t = max(TV[s] if a > 0 else -np.inf, R[a, s] + gamma * acc)
            TV[s] = t
            lo, hi, big, bad = _track(t, V[s], lo, hi, big, bad)
        stats[b, 0], stats[b, 1], stats[b, 2], stats[b, 3] = lo, hi, big, bad


def backup_dense(P: FloatArray, R: FloatArray, gamma: float, V: FloatArray, TV: FloatArray,
                 stats: FloatArray) -> None:
    """:func:`backup_csr` for a dense action-major (A*S, S) P."""
    A, S = R.shape
    n_blocks = stats.shape[0]
    for b in prange(n_blocks):
        s0, s1 = _blocks(S, n_blocks, b)
        for a in range(A):
            base = a * S
            for s in range(s0, s1):
                row = P[base + s]
                acc = 0.0
                for j in range(S):
                    acc += row[j] * V[j]
                TV[s] = max(TV[s] if a > 0 else -np.inf, R[a, s] + gamma * acc)
        lo, hi, big, bad = np.inf, -np.inf, 0.0, 0.0
        for s in range(s0, s1):
            lo, hi, big, bad = _track(TV[s], V[s], lo, hi, big, bad)
        stats[b, 0], stats[b, 1], stats[b, 2], stats[b, 3] = lo, hi, big, bad


def _vi_step(stats, history, i, tol, factor, weight, row_error, best, best_k, k, patience):
    """The span rule's decision after iteration k (its statistics in ``stats``): an event code
    and the updated (best bound, its iteration), as :meth:`SpanRule.update` decides, with
    :data:`PAUSE` after ``patience`` iterations without a new best bound (Python judges
    whether that is a stall)."""
    lo, hi, big, ok = _reduce(stats)
    history[i, 0], history[i, 1], history[i, 2] = lo, hi, big
    span = hi - lo
    offset = factor * (hi + lo) / 2
    model = factor * row_error * (abs(offset) + big)
    value = weight * span + model
    if model > tol and weight * span <= tol:
        return PRECISION, best, best_k
    if not math.isfinite(value) or not ok:
        return DIVERGED, best, best_k
    if value <= tol:
        return DONE, best, best_k
    if value < best:
        return CONTINUE, value, k
    return (PAUSE if k - best_k >= patience else CONTINUE), best, best_k


def vi_loop_csr(indptr: IntArray, indices: IntArray, data: FloatArray, R: FloatArray,
                gamma: float,
                V: FloatArray, TV: FloatArray, stats: FloatArray, history: FloatArray,
                n_max: int, tol: float, factor: float, weight: float, row_error: float,
                best: float, best_k: int, k0: int, patience: int) -> LoopResult:
    """Up to ``n_max`` >= 1 iterations V <- TV, ``history[i]`` getting the (min, max of TV - V,
    max|TV|) of iteration i; returns (iterations, event code, best bound, its iteration,
    swapped) with the decisions of the span rule of :class:`~mdptoolkit._stopping.SpanRule`
    (gamma < 1). On return the last iterate is in V and T of it in TV, or the other way round
    when ``swapped`` (the buffers trade places between iterations, no copy). A pause of
    ``patience`` iterations without a new best bound returns :data:`PAUSE`: whether it is a
    stall is the rule's call."""
    swapped = False
    for i in range(n_max):
        k = k0 + i + 1
        backup_csr(indptr, indices, data, R, gamma, V, TV, stats)
        code, best, best_k = _vi_step(stats, history, i, tol, factor, weight, row_error, best,
                                      best_k, k, patience)
        if code != CONTINUE or i + 1 == n_max:
            return i + 1, code, best, best_k, swapped
        V, TV = TV, V
        swapped = not swapped
    return 0, CONTINUE, best, best_k, swapped


def vi_loop_dense(P: FloatArray, R: FloatArray, gamma: float,
                  V: FloatArray, TV: FloatArray, stats: FloatArray, history: FloatArray,
                  n_max: int, tol: float, factor: float, weight: float, row_error: float,
                  best: float, best_k: int, k0: int, patience: int) -> LoopResult:
    """:func:`vi_loop_csr` for a dense action-major (A*S, S) P."""
    swapped = False
    for i in range(n_max):
        k = k0 + i + 1
        backup_dense(P, R, gamma, V, TV, stats)
        code, best, best_k = _vi_step(stats, history, i, tol, factor, weight, row_error, best,
                                      best_k, k, patience)
        if code != CONTINUE or i + 1 == n_max:
            return i + 1, code, best, best_k, swapped
        V, TV = TV, V
        swapped = not swapped
    return 0, CONTINUE, best, best_k, swapped


def improve_csr(indptr: IntArray, indices: IntArray, data: FloatArray, R: FloatArray,
                gamma: float, V: FloatArray, policy: IntArray, best: FloatArray,
                current: FloatArray, greedy: IntArray) -> None:
    """Policy iteration's improvement pass: per state the best Q (``best``), the lowest action
    attaining it (``greedy``) and the Q of the current action (``current``)."""
    A, S = R.shape
    for s in range(S):
        top = -np.inf
        arg = 0
        for a in range(A):
            q = R[a, s] + gamma * _row_dot(indptr, indices, data, a * S + s, V)
            if q > top:
                top = q
                arg = a
            if a == policy[s]:
                current[s] = q
        best[s] = top
        greedy[s] = arg


def pi_loop_csr(indptr: IntArray, indices: IntArray, data: FloatArray, R: FloatArray,
                gamma: float, policy: IntArray, V: FloatArray, terminal: IntArray,
                mu: FloatArray, tie_tol: float, rel: float, row_error: float, eps: float,
                dense_direct: bool, history: FloatArray, k0: int, max_iter: int
                ) -> tuple[int, int, float]:
    """Policy iteration's steps k0 + 1, k0 + 2, ... (sweeps evaluation) without Python, as
    :func:`~mdptoolkit.solvers.policy_iteration.policy_iteration` runs them through
    :func:`~mdptoolkit.evaluation.sweeps.sweep_values` and :func:`improve_csr`: the same
    sweep budget, certified sweeps (:func:`~mdptoolkit.evaluation._kernels.sweep_loop_csr`),
    tie tolerance (``tie_tol`` < 0: the round-off floor ``64 eps max(1, max|V|)``) and update.

    ``policy`` and ``V`` are updated in place; ``history[i]`` gets step k0 + 1 + i's
    (policy changes, J, sweeps). Returns (steps done, event, certified error of V): event
    0 = the policy is stable, 1 = ``max_iter`` reached with the policy still improving, 2 =
    the sweeps gave up at the step after the ones done (V and policy are then the last done
    step's: the caller evaluates that policy directly and carries on)."""
    A, S = R.shape
    factor = gamma / (1.0 - gamma)
    x, y = np.empty(S), np.empty(S)
    R_pi = np.empty(S)
    rows = np.empty(S, dtype=np.int64)
    best, current = np.empty(S), np.empty(S)
    greedy = np.empty(S, dtype=np.int64)
    stats = np.empty((1, 4))
    error = 0.0
    for k in range(k0 + 1, max_iter + 1):
        i = k - k0 - 1
        nnz = 0
        for s in range(S):
            rows[s] = policy[s] * S + s
            R_pi[s] = R[policy[s], s]
            nnz += indptr[rows[s] + 1] - indptr[rows[s]]
        direct = S ** 3 / 60 if dense_direct else 12 * S ** 1.5  # as sweep_budget
        budget = int(max(100, direct / (nnz + S)))
        top, bottom = -np.inf, np.inf
        for s in range(S):
            x[s] = V[s]
            top = max(top, V[s])
            bottom = min(bottom, V[s])
        checked_k, checked_span = np.empty(budget), np.empty(budget)
        done, bound, used, in_y = _sweep_loop(
            indptr, indices, data, rows, gamma, R_pi, x, y, stats, checked_k, checked_span,
            budget, rel, rel, factor, row_error, max(top, -bottom), 50, 20, 16)
        if not done:
            return i, PI_DIRECT, error
        out = y if in_y else x
        error = max(bound, 1e-300)
        big = 0.0
        for s in range(S):
            V[s] = 0.0 if terminal[s] else out[s]
            big = max(big, abs(V[s]))
        improve_csr(indptr, indices, data, R, gamma, V, policy, best, current, greedy)
        tol = 64 * eps * max(1.0, big) if tie_tol < 0 else tie_tol
        changed = 0
        J = 0.0
        for s in range(S):
            J += mu[s] * V[s]
            if best[s] > current[s] + tol + 2 * gamma * error:
                policy[s] = greedy[s]
                changed += 1
        history[i, 0], history[i, 1], history[i, 2] = changed, J, used
        if changed == 0:
            return i + 1, PI_STABLE, error
    return max_iter - k0, PI_MORE, error


def gs_loop_csr(indptr: IntArray, indices: IntArray, data: FloatArray, R: FloatArray,
                gamma: float,
                V: FloatArray, TV: FloatArray, stats: FloatArray, history: FloatArray,
                n_max: int, tol: float, factor: float, weight: float, row_error: float,
                best: float, best_k: int, k0: int, patience: int,
                jacobi_from: IntArray, recent: FloatArray, RT: FloatArray) -> LoopResult:
    """Gauss–Seidel value iteration (:mod:`mdptoolkit.solvers._gauss_seidel`) as
    :func:`vi_loop_csr` runs Jacobi's: each iteration a forward sweep of V in place, the
    Jacobi backup TV = T V with its statistics, the rule's decision, and the restart
    V = TV + gamma/(1-gamma) (min + max)/2 of TV - V. When the sweeps fall behind
    (:func:`_gs_give_up`, which keeps the last bounds in ``recent``), ``jacobi_from[0]`` gets
    that iteration and the sweeps stop (the rest of the run is Jacobi iteration; 0:
    sweeping). ``RT``: R state-major for the sweep. On return V is the last iterate and
    TV = T V (``swapped`` is always False)."""
    for i in range(n_max):
        k = k0 + i + 1
        if jacobi_from[0] == 0:  # TV is free until the backup: the sweep's scratch
            gs_sweep_csr(indptr, indices, data, RT, gamma, V, TV)
        backup_csr(indptr, indices, data, R, gamma, V, TV, stats)
        code, best, best_k = _vi_step(stats, history, i, tol, factor, weight, row_error, best,
                                      best_k, k, patience)
        if jacobi_from[0] == 0:
            _gs_give_up(history[i], k, gamma, factor, row_error, jacobi_from, recent)
        if code != CONTINUE or i + 1 == n_max:
            return i + 1, code, best, best_k, False
        _restart(V, TV, factor * (history[i, 0] + history[i, 1]) / 2)
    return 0, CONTINUE, best, best_k, False


def gs_loop_dense(P: FloatArray, R: FloatArray, gamma: float,
                  V: FloatArray, TV: FloatArray, stats: FloatArray, history: FloatArray,
                  n_max: int, tol: float, factor: float, weight: float, row_error: float,
                  best: float, best_k: int, k0: int, patience: int,
                  jacobi_from: IntArray, recent: FloatArray, RT: FloatArray) -> LoopResult:
    """:func:`gs_loop_csr` for a dense action-major (A*S, S) P."""
    for i in range(n_max):
        k = k0 + i + 1
        if jacobi_from[0] == 0:  # TV is free until the backup: the sweep's scratch
            gs_sweep_dense(P, RT, gamma, V, TV)
        backup_dense(P, R, gamma, V, TV, stats)
        code, best, best_k = _vi_step(stats, history, i, tol, factor, weight, row_error, best,
                                      best_k, k, patience)
        if jacobi_from[0] == 0:
            _gs_give_up(history[i], k, gamma, factor, row_error, jacobi_from, recent)
        if code != CONTINUE or i + 1 == n_max:
            return i + 1, code, best, best_k, False
        _restart(V, TV, factor * (history[i, 0] + history[i, 1]) / 2)
    return 0, CONTINUE, best, best_k, False


def _restart(V, TV, offset):
    """V = TV + offset: the next Gauss–Seidel iterate, from the midpoint of the bounds."""
    for s in range(V.shape[0]):
        V[s] = TV[s] + offset


def _gs_give_up(stats, k, gamma, factor, row_error, jacobi_from, recent):
    """Stop the Gauss–Seidel sweeps (``jacobi_from[0] = k``) when, at iteration k, the bound
    (from ``stats`` = min, max of TV - V and max|TV|, as :class:`SpanRule` computes it) has
    fallen by less over the last :data:`GS_PATIENCE` iterations than the factor
    gamma^GS_PATIENCE that Jacobi iteration's span contraction guarantees (a stall included).
    ``recent`` (GS_PATIENCE,) keeps the bounds of the last iterations (inf before)."""
    lo, hi, big = stats[0], stats[1], stats[2]
    bound = factor * (hi - lo) / 2 + factor * row_error * (abs(factor * (hi + lo) / 2) + big)
    W = recent.shape[0]
    i = k % W
    if recent[i] < np.inf and bound > recent[i] * gamma ** W:  # recent[i]: iteration k - W
        jacobi_from[0] = k
    recent[i] = bound


def gs_sweep_csr(indptr: IntArray, indices: IntArray, data: FloatArray, RT: FloatArray,
                 gamma: float, V: FloatArray, new: FloatArray) -> None:
    r"""One shifted Gauss–Seidel sweep of V in place, in index order
    (:mod:`mdptoolkit.solvers._gauss_seidel`): each updated value is stored less the mean
    change of the states updated so far (itself included), so that every later state reads
    it shifted back and the sweep commutes with constants like the Jacobi operator. ``RT`` is
    R state-major, (S, A) (one state's rewards side by side); ``new`` (S,) is scratch for the
    unshifted values, copied into V at the end."""
    S, A = RT.shape
    total = 0.0  # the sum of the changes V_new - V_old of the states updated so far
    for s in range(S):
        best = -np.inf
        for a in range(A):
            best = max(best, RT[s, a] + gamma * _row_dot(indptr, indices, data, a * S + s, V))
        total += best - V[s]
        new[s] = best
        V[s] = best - total / (s + 1)
    V[:] = new


def gs_sweep_dense(P: FloatArray, RT: FloatArray, gamma: float, V: FloatArray,
                   new: FloatArray) -> None:
    """:func:`gs_sweep_csr` for a dense action-major (A*S, S) P."""
    S, A = RT.shape
    total = 0.0
    for s in range(S):
        best = -np.inf
        for a in range(A):
            row = P[a * S + s]
            acc = 0.0
            for j in range(S):
                acc += row[j] * V[j]
            best = max(best, RT[s, a] + gamma * acc)
        total += best - V[s]
        new[s] = best
        V[s] = best - total / (s + 1)
    V[:] = new


#: The loops uncompiled (for tests, and to read).
PYTHON = types.SimpleNamespace(
    backup_csr=backup_csr, backup_dense=backup_dense, vi_loop_csr=vi_loop_csr,
    vi_loop_dense=vi_loop_dense, gs_sweep_csr=gs_sweep_csr, gs_sweep_dense=gs_sweep_dense,
    gs_loop_csr=gs_loop_csr, gs_loop_dense=gs_loop_dense, improve_csr=improve_csr,
    pi_loop_csr=pi_loop_csr, parallel=False)

_compiled: dict[bool, Any] = {}  # parallel flag -> namespace, or False when Numba is not installed


def compiled(parallel: bool = False) -> types.SimpleNamespace | None:
    """The loops compiled by Numba (a namespace like :data:`PYTHON`), with the block loops
    over states spread over the cores when ``parallel``; None without Numba."""
    if parallel not in _compiled:
        try:
            import numba
        except ImportError:
            _compiled[parallel] = False
        else:
            _compiled[parallel] = _compile(numba, parallel)
    return _compiled[parallel] or None


def _compile(numba: Any, parallel: bool) -> types.SimpleNamespace:
    glob = dict(globals())
    jit = _shared.jitter(numba, parallel, glob)
    sweeps = _shared.compiled()
    assert sweeps is not None  # (Numba imports: this is its compilation)
    glob["_sweep_loop"] = sweeps.sweep_loop_csr
    jit(_blocks, inline="always")
    jit(_reduce)
    jit(_row_dot, inline="always")  # per row: a call would cost as much as the row
    jit(_track, inline="always")
    jit(_vi_step)
    jit(_gs_give_up)
    jit(_restart, inline="always")
    names = dict(backup_csr=jit(backup_csr, parallel=parallel),
                 backup_dense=jit(backup_dense, parallel=parallel))
    names.update(vi_loop_csr=jit(vi_loop_csr), vi_loop_dense=jit(vi_loop_dense),
                 gs_sweep_csr=jit(gs_sweep_csr), gs_sweep_dense=jit(gs_sweep_dense))
    names.update(gs_loop_csr=jit(gs_loop_csr), gs_loop_dense=jit(gs_loop_dense),
                 improve_csr=jit(improve_csr))
    names.update(pi_loop_csr=jit(pi_loop_csr))
    return types.SimpleNamespace(**names, parallel=parallel)


def for_mdp(mdp: MDP, upto: int | None = MAX_WORK) -> types.SimpleNamespace | None:
    """The compiled loops to use on ``mdp`` (parallel ones for very large MDPs), or None for
    the NumPy path: Numba missing, an MDP too small for compilation to pay, or one whose work
    per backup exceeds ``upto`` (None: no limit) — there NumPy's passes cost little next to
    the product itself. Dense storage stays with BLAS (a compiled row loop does not
    vectorize its sums) except on tiny MDPs, where the Python around BLAS is the cost."""
    op = mdp._op
    dense = isinstance(op, np.ndarray)
    work = (op.size if dense else op.nnz) + op.shape[0]
    if work < MIN_WORK or (upto is not None and work > upto) or (dense and work > DENSE_WORK):
        return None
    return compiled(parallel=work >= PARALLEL_WORK)


def n_blocks(kernels: types.SimpleNamespace) -> int:
    """Blocks of states per backup: one per thread of the parallel loops."""
    if not kernels.parallel:
        return 1
    import numba

    return int(numba.get_num_threads())
