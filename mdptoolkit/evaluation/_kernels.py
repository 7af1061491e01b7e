r"""Compiled sweeps of iterative policy evaluation (Numba), beside the NumPy path of
:func:`mdptoolkit.evaluation.sweeps.sweep_values`, and the helpers that the compiled loops of
:mod:`mdptoolkit.solvers._kernels` share with them.

:func:`eval_sweeps_csr` runs ``n`` sweeps :math:`y = R_\pi + \gamma P_\pi x` over the CSR rows
of a policy's chain without returning to Python, the last one computing the statistics of
:math:`y - x` (its minimum and maximum, :math:`\max|y|`) that the span bound needs in the same
pass. The functions are plain Python (tested without Numba); :func:`compiled` returns them
compiled when Numba is installed (``pip install mdptoolkit[fast]``), else None. Numba is
imported on first use only.
"""

from __future__ import annotations

import math
import types
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from .._typing import FloatArray, IntArray

#: Chains with at least this many transitions use the compiled sweeps (when Numba is
#: installed); below it a sweep costs microseconds either way.
MIN_WORK = 1 << 11

prange = range  # numba.prange in the compiled copies of the parallel loops


def _blocks(S, n_blocks, b):
    size = (S + n_blocks - 1) // n_blocks
    return b * size, min(S, (b + 1) * size)


def _row_dot(indptr, indices, data, row, x):
    """sum_p data[p] x[indices[p]] over the CSR row (unsigned indices: no negative-index
    wraparound in the compiled loop, which then runs at the speed of SciPy's C++ product)."""
    p = np.uint64(indptr[row])
    end = np.uint64(indptr[row + 1])
    one = np.uint64(1)
    acc = 0.0
    while p < end:
        acc += data[p] * x[np.uint64(indices[p])]
        p += one
    return acc


def _track(t, v, lo, hi, big, bad):
    """The statistics (min and max of new - old, max|new|, a flag for a non-finite new value)
    updated with an entry that went from v to t."""
    d = t - v
    if not math.isfinite(t):
        bad = 1.0
    return min(lo, d), max(hi, d), max(big, abs(t)), bad


def eval_sweeps_csr(indptr: IntArray, indices: IntArray, data: FloatArray, rows: IntArray,
                    gamma: float, R: FloatArray, x: FloatArray, y: FloatArray, n: int,
                    stats: FloatArray) -> bool:
    """``n`` >= 1 sweeps y = R + gamma P x over the CSR rows ``rows`` (one per state: a
    policy's rows of the MDP's own matrix, no gathered copy), swapping the two buffers between
    sweeps; returns True when the last result is in ``y`` (else in ``x``, the previous one in
    ``y``), with the statistics of (last - previous) in ``stats``: per block of states the
    minimum, the maximum, max|last| and a flag for non-finite values."""
    S = R.shape[0]
    n_blocks = stats.shape[0]
    src, dst = x, y
    for k in range(n):
        last = k == n - 1
        for b in prange(n_blocks):
            s0, s1 = _blocks(S, n_blocks, b)
            lo, hi, big, bad = np.inf, -np.inf, 0.0, 0.0
            for s in range(s0, s1):
                acc = R[s] + gamma * _row_dot(indptr, indices, data, rows[s], src)
                dst[s] = acc
                if last:
                    lo, hi, big, bad = _track(acc, src[s], lo, hi, big, bad)
            if last:
                stats[b, 0], stats[b, 1], stats[b, 2], stats[b, 3] = lo, hi, big, bad
        if not last:
            src, dst = dst, src
    return n % 2 == 1


def sweep_loop_csr(indptr: IntArray, indices: IntArray, data: FloatArray, rows: IntArray,
                   gamma: float, R: FloatArray, x: FloatArray, y: FloatArray,
                   stats: FloatArray, checked_k: FloatArray, checked_span: FloatArray,
                   max_sweeps: int, tol: float, rel: float, factor: float, row_error: float,
                   scale: float, patience: int, window: int, blind: int
                   ) -> tuple[bool, float, int, bool]:
    """The whole loop of :func:`~mdptoolkit.evaluation.sweeps.sweep_values` (its NumPy branch
    line by line: the same checks, the same rate and schedule of checked sweeps, the same
    give-up rules) over :func:`eval_sweeps_csr`, without returning to Python between checks.

    ``checked_k`` and ``checked_span`` (at least ``max_sweeps`` long) receive the checked
    sweeps. Returns (certified, bound, sweeps, in_y): when certified, the corrected values are
    in ``y`` if ``in_y`` else in ``x``."""
    best, best_k = np.inf, 0
    n_checked = 0
    next_check = 1
    in_y = True  # whether the local y is the caller's y
    k = 0
    while k < max_sweeps:
        n_run = max(1, min(next_check, max_sweeps) - k)
        if not eval_sweeps_csr(indptr, indices, data, rows, gamma, R, x, y, n_run, stats):
            x, y = y, x
            in_y = not in_y
        k += n_run
        lo, hi = stats[0, 0], stats[0, 1]
        span = hi - lo
        if not math.isfinite(span):
            return False, np.inf, k, in_y
        half = factor * span / 2
        if half <= tol + 2 * rel * scale or n_checked % 8 == 0:
            top, bottom = -np.inf, np.inf
            for s in range(y.shape[0]):
                top = max(top, y[s])
                bottom = min(bottom, y[s])
            scale = max(top, -bottom)
            offset = factor * (hi + lo) / 2
            model = factor * row_error * (abs(offset) + scale)
            if half + model <= tol + rel * scale:
                for s in range(y.shape[0]):
                    y[s] += offset
                return True, half + model, k, in_y
        if span < best:
            best, best_k = span, k
        elif k - best_k >= patience:
            break
        checked_k[n_checked], checked_span[n_checked] = k, span
        n_checked += 1
        next_check = k + 1
        if n_checked >= 3:
            i = n_checked - 3
            while i > 0 and k - checked_k[i] < window:
                i -= 1
            k0, span0 = checked_k[i], checked_span[i]
            rate = (span / span0) ** (1.0 / (k - k0)) if span0 > 0 else 0.0
            if rate >= 1.0:
                if k >= window:
                    break
                continue  # as the NumPy loop: no swap (the next sweeps start from x again)
            target = 2.0 * (tol + rel * scale) / factor
            need = math.log(target / span) / math.log(rate) if 0.0 < rate and target < span \
                else 0.0
            if k >= window and k + need > max_sweeps:
                break
            next_check = k + 1 + int(min(blind, max(0.0, need / 2 - 1)))
        x, y = y, x
        in_y = not in_y
    return False, np.inf, k, in_y


class PolicyRows(NamedTuple):
    """A policy's chain as its rows of the MDP's action-major CSR matrix: ``rows[s]`` is the row
    of (s, pi(s)). The compiled sweeps read them in place; ``nnz`` counts their entries."""
    indptr: np.ndarray
    indices: np.ndarray
    data: np.ndarray
    rows: np.ndarray
    shape: tuple[int, int]
    nnz: int


#: The loops uncompiled (for tests, and to read).
PYTHON = types.SimpleNamespace(eval_sweeps_csr=eval_sweeps_csr,
                                sweep_loop_csr=sweep_loop_csr, parallel=False)

_compiled: dict[bool, Any] = {}  # parallel flag -> namespace, or False when Numba is not installed


def compiled(parallel: bool = False) -> types.SimpleNamespace | None:
    """:data:`PYTHON` compiled by Numba (block loops over the cores when ``parallel``), or
    None without Numba."""
    if parallel not in _compiled:
        try:
            import numba
        except ImportError:
            _compiled[parallel] = False
        else:
            jit = jitter(numba, parallel, dict(globals()))
            jit(_blocks, inline="always")
            jit(_row_dot, inline="always")
            jit(_track, inline="always")
            sweeps = jit(eval_sweeps_csr, parallel=parallel)
            _compiled[parallel] = types.SimpleNamespace(
                eval_sweeps_csr=sweeps, sweep_loop_csr=jit(sweep_loop_csr), parallel=parallel)
    return _compiled[parallel] or None


def jitter(numba: Any, parallel: bool, glob: dict[str, Any]) -> Callable[..., Any]:
    """``jit(f, **flags)``: f compiled by Numba with the globals ``glob`` (where ``prange`` is
    Numba's when ``parallel``), entered there under f's name so that the functions compiled
    after it call the compiled one; each variant gets its own on-disk cache entry."""
    suffix = "_parallel" if parallel else ""
    glob["prange"] = numba.prange if parallel else range

    def jit(f: Callable[..., Any], **flags: Any) -> Any:
        g = types.FunctionType(f.__code__, glob, f.__name__ + suffix, f.__defaults__,
                               f.__closure__)
        g.__qualname__ = f.__qualname__ + suffix
        g.__module__ = f.__module__
        try:
            out = numba.njit(cache=True, nogil=True, **flags)(g)
        except RuntimeError:  # pragma: no cover - no writable place for the cache
            out = numba.njit(nogil=True, **flags)(g)
        glob[f.__name__] = out
        return out

    return jit
