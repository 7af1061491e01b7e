r"""Iterative evaluation: sweeps :math:`V \leftarrow R_\pi + \gamma P_\pi V`, certified by the
span bound (:mod:`mdptoolkit._stopping`), and the warm-started sweeps of policy iteration.
"""

from __future__ import annotations

import warnings

import numpy as np
import scipy.sparse as sp

from .. import _validation as val
from .._stopping import EPS, SpanRule
from .._typing import FloatArray, Matrix
from ..exceptions import ConvergenceWarning
from ..mdp import MDP
from ..operators import _csr_matvec
from . import _kernels
from .chain import CSRRows


def _evaluate_iterative(mdp: MDP, P_pi: Matrix, R_pi: FloatArray, tol: float,
                        max_iter: int | None) -> FloatArray:
    tol = val.check_positive(tol, "tol")
    gamma = mdp.gamma
    span0 = np.ptp(R_pi) + 1e-300
    if max_iter is None:
        max_iter = default_max_iter(gamma, tol, span0)
    max_iter = val.check_positive(max_iter, "max_iter", integer=True)
    rule = SpanRule(gamma, tol, mdp.n_states, row_error=mdp._row_error)
    V = np.zeros(mdp.n_states)
    for k in range(1, max_iter + 1):
        V_new = R_pi + gamma * (P_pi @ V)
        if rule.update(k, V, V_new):
            out = rule.corrected(V_new)
            out[mdp.terminal] = 0.0
            return out
        V = V_new
        if rule.stop_reason:
            break
    message = rule.failure_message(k, max_iter, float(np.abs(V).max()))
    warnings.warn(f"iterative evaluation {message}", ConvergenceWarning, stacklevel=3)
    return V


# ---------------------------------------------------------------------- warm-started sweeps
SWEEP_PATIENCE = 50  # sweeps without a new smallest span before the sweeps give up
RATE_WINDOW = 20  # sweeps before the rate of decrease may send the evaluation to a direct solve
BLIND_SWEEPS = 16  # most sweeps in a row without checking the bound


def sweep_budget(P_pi: Matrix, dense_direct: bool) -> int:
    """Sweeps of ``V <- R_pi + gamma P_pi V`` that cost about as much as one direct solve.

    A cost model, deterministic on purpose (results must not depend on the machine's load).
    A sweep costs about ``nnz(P_pi) + S`` memory-bound multiply-adds. LAPACK's LU (dense MDPs,
    ``dense_direct``) costs ``S^3/3`` flops at roughly 20x that rate; SuperLU on sparse
    grid-like MDPs was measured at about ``12 S^1.5`` (300x300 grid: 0.45 s, the time of
    about 700 sweeps)."""
    n = P_pi.shape[0]
    per_sweep = (n * n if isinstance(P_pi, np.ndarray) else P_pi.nnz) + n
    direct = n ** 3 / 60 if dense_direct else 12 * n ** 1.5
    return int(max(100, direct / per_sweep))


def sweep_values(P_pi: Matrix, R_pi: FloatArray, gamma: float, V0: FloatArray, tol: float,
                 max_sweeps: int, *, rel: float = 0.0, row_error: float = EPS,
                 compiled: bool | None = None) -> tuple[FloatArray | None, float, int]:
    r"""Warm-started evaluation by sweeps, certified by the span bound.

    Applies :math:`T^\pi V = R_\pi + \gamma P_\pi V` from ``V0`` until the MacQueen bound
    :math:`\tfrac{\gamma}{2(1-\gamma)}\,\mathrm{sp}(T^\pi V - V)` (plus the row-sum round-off
    term of :class:`~mdptoolkit._stopping.SpanRule`) is at most ``tol + rel * max|V|``, and
    returns the midpoint of the bounds, which is within that bound of :math:`V^\pi` in every state
    (Puterman 2005, Thm 6.6.3, applied to the single-policy operator). ``gamma < 1``.

    Returns ``(V, bound, sweeps)``; ``V`` is None when the bound would not reach its target
    within ``max_sweeps`` sweeps (judged from the span's geometric rate, so hopeless runs stop
    early) or stops improving (round-off), and the caller solves directly.

    The bound is checked on some sweeps only: from the rate observed so far the sweeps
    predict how many more are needed and run half of them (at most :data:`BLIND_SWEEPS`)
    without computing ``T^pi V - V``, which is most of a sweep's cost on small MDPs. The
    returned V is always certified by a checked sweep. With Numba (the ``fast`` extra) the
    whole loop, checks and decisions included, runs as one compiled call
    (:func:`~mdptoolkit.evaluation._kernels.sweep_loop_csr`, the same rules line by line)
    when ``compiled`` is True, or when it is None and the chain has
    :data:`~._kernels.MIN_WORK` transitions or more.
    """
    factor = gamma / (1.0 - gamma)
    row_error = max(float(row_error), EPS)
    x = np.array(V0, dtype=np.float64)
    y = np.empty_like(x)
    diff = np.empty_like(x)
    if isinstance(P_pi, _kernels.PolicyRows):  # the compiled sweeps only
        compiled = True
    elif isinstance(P_pi, CSRRows) and _csr_matvec is None:  # pragma: no cover - old SciPy
        P_pi = sp.csr_array((P_pi.data, P_pi.indices, P_pi.indptr), shape=P_pi.shape)
    csr = not isinstance(P_pi, np.ndarray) and _csr_matvec is not None
    if csr:  # a SciPy sparse matrix, or CSRRows (the same three arrays, unchecked)
        if sp.issparse(P_pi) and not isinstance(P_pi, sp.csr_array):
            P_pi = sp.csr_array(P_pi)
        n = P_pi.shape[0]
        indptr, indices = P_pi.indptr, P_pi.indices
        rows = getattr(P_pi, "rows", None)
        # gamma folded in once, not per sweep (the compiled sweeps take it as it is)
        data = P_pi.data * gamma if rows is None else P_pi.data
    scale = max(float(x.max()), -float(x.min()))  # max|V|, refreshed as the sweeps go
    best, best_k = np.inf, 0
    checked: list[tuple[int, float]] = []  # (sweep, span) of the checked sweeps
    next_check = 1
    if compiled is None:  # the caller's choice (the size of its MDP), else this chain's size
        compiled = P_pi.nnz >= _kernels.MIN_WORK
    kernels = _kernels.compiled() if csr and compiled else None
    if kernels is not None:
        R_pi = np.array(R_pi, dtype=np.float64)  # writable: Numba reads read-only arrays slower
        stats = np.empty((1, 4))
        g = gamma if rows is not None else 1.0
        if rows is None:
            rows = np.arange(n)
        # the whole loop in compiled code: the same decisions, no Python between checks
        size = max(int(max_sweeps), 1)
        done, bound, k, in_y = kernels.sweep_loop_csr(
            indptr, indices, data, rows, g, R_pi, x, y, stats, np.empty(size), np.empty(size),
            int(max_sweeps), float(tol), float(rel), factor, row_error, scale, SWEEP_PATIENCE,
            RATE_WINDOW, BLIND_SWEEPS)
        return ((y if in_y else x) if done else None), bound, k
    k = 0
    while k < max_sweeps:
        k += 1
        if csr:
            np.copyto(y, R_pi)
            _csr_matvec(n, n, indptr, indices, data, x, y)
        else:
            y = R_pi + gamma * (P_pi @ x)
        if k < next_check:
            x, y = y, x
            continue
        np.subtract(y, x, out=diff)
        lo, hi = float(np.minimum.reduce(diff)), float(np.maximum.reduce(diff))
        span = hi - lo
        if not np.isfinite(span):
            return None, np.inf, k
        half = factor * span / 2
        if half <= tol + 2 * rel * scale or len(checked) % 8 == 0:
            scale = max(float(np.maximum.reduce(y)), -float(np.minimum.reduce(y)))
            offset = factor * (hi + lo) / 2
            model = factor * row_error * (abs(offset) + scale)
            if half + model <= tol + rel * scale:
                y += offset
                return y, half + model, k
        if span < best:
            best, best_k = span, k
        elif k - best_k >= SWEEP_PATIENCE:
            break
        checked.append((k, span))
        next_check = k + 1
        if len(checked) >= 3:
            # the rate over the last RATE_WINDOW sweeps or more (the span need not shrink at
            # every sweep, so shorter windows mistake a pause for a stall)
            i = len(checked) - 3
            while i > 0 and k - checked[i][0] < RATE_WINDOW:
                i -= 1
            k0, span0 = checked[i]
            rate = (span / span0) ** (1.0 / (k - k0)) if span0 > 0 else 0.0
            if rate >= 1.0:
                if k >= RATE_WINDOW:
                    break  # no progress at all: a direct solve is the way
                continue
            target = 2.0 * (tol + rel * scale) / factor
            need = np.log(target / span) / np.log(rate) if 0.0 < rate and target < span else 0.0
            if k >= RATE_WINDOW and k + need > max_sweeps:
                break  # at this rate the sweeps would cost more than a direct solve
            next_check = k + 1 + int(min(BLIND_SWEEPS, max(0.0, need / 2 - 1)))
        x, y = y, x
    return None, np.inf, k


def default_max_iter(gamma: float, tol: float, span0: float, cap: int = 1_000_000,
                     gamma1: int = 100_000) -> int:
    """Iterations after which gamma/(1-gamma) * gamma**k * span0 <= tol (the span contracts by
    at least gamma per step), capped; ``gamma1`` when gamma = 1."""
    if gamma >= 1.0:
        return gamma1
    scale = gamma * span0
    if scale <= tol * (1 - gamma):  # already within tol after one step (covers gamma = 0)
        return 2
    need = np.log(tol * (1 - gamma) / scale) / np.log(gamma)
    return int(min(cap, max(2, np.ceil(need) + 2)))
