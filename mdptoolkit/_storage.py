"""Storage helpers of the model: reading P into the action-major layout (dense or CSR),
canonical frozen CSR matrices, terminal rows, and the check (and round-off renormalization)
of the rows of P."""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from . import _validation as val
from ._typing import ArrayLike, BoolArray, FloatArray, IntArray
from .exceptions import MDPValidationError


def index_dtype(n: int) -> type[np.signedinteger[Any]]:
    return np.int32 if n < np.iinfo(np.int32).max else np.int64


def as_csr(matrix: Any, copy: bool = True) -> Any:
    """A canonical CSR matrix (sorted, summed duplicates, small index dtype); a copy unless
    ``copy=False`` and ``matrix`` is already a float64 CSR array we own."""
    csr = sp.csr_array(matrix, dtype=np.float64, copy=copy)
    csr.sum_duplicates()
    csr.sort_indices()
    itype = index_dtype(max(csr.nnz, max(csr.shape)))
    csr.indices = csr.indices.astype(itype, copy=False)
    csr.indptr = csr.indptr.astype(itype, copy=False)
    return csr


def freeze_csr(csr: Any) -> Any:
    for arr in (csr.data, csr.indices, csr.indptr):
        arr.flags.writeable = False
    return csr


def state_to_action_major(n_states: int, n_actions: int) -> IntArray:
    """Row permutation: action-major row a*S + s takes state-major row s*A + a."""
    return (np.arange(n_states)[None, :] * n_actions + np.arange(n_actions)[:, None]).ravel()


def read_dense(P: ArrayLike) -> tuple[FloatArray, float]:
    """Check a dense (S, A, S) P and copy it once into the action-major (A, S, S) layout;
    returns it and the row-sum tolerance of the input's precision."""
    try:
        P = np.asarray(P)
        val.check_real_dtype(P, "P")
        rtol = val.row_sum_rtol(P.dtype, P.shape[-1] if P.ndim else 1)
        P = np.asarray(P, dtype=np.float64)
    except (TypeError, ValueError) as err:
        if isinstance(err, MDPValidationError):
            raise
        raise TypeError(f"P must be array-like of probabilities or a scipy.sparse matrix; "
                        f"got {type(P).__name__}") from err
    if P.ndim != 3 or P.shape[0] != P.shape[2]:
        hint = (" (a flat (S*A, S) P must be a scipy.sparse matrix; reshape a dense one to "
                "(S, A, S))") if P.ndim == 2 else ""
        raise MDPValidationError(f"P must have shape (S, A, S); got {P.shape}{hint}")
    if P.shape[0] == 0 or P.shape[1] == 0:
        raise MDPValidationError(f"P must have at least one state and one action; got {P.shape}")
    Pam = np.ascontiguousarray(P.transpose(1, 0, 2))
    if Pam is P or np.shares_memory(Pam, P):
        Pam = Pam.copy()
    val.check_finite(Pam.transpose(1, 0, 2), "P")
    bad = val.check_probabilities(Pam, "P")
    if bad is not None:
        value, flat, n_bad = bad
        a, s, s2 = np.unravel_index(flat, Pam.shape)
        raise MDPValidationError(f"P entries must be probabilities in [0, 1]; got "
                                 f"{val.fmt_num(value)} at P[{s}, {a}, {s2}] ({n_bad} bad entries)")
    return Pam, rtol


def read_sparse(P: Any) -> tuple[Any, int, int, float]:
    """Check a sparse (S*A, S) P (row s*A + a); returns its action-major CSR copy (row
    a*S + s), S, A and the row-sum tolerance of the input's precision."""
    if P.ndim != 2:
        raise MDPValidationError(f"a sparse P must have shape (S*A, S); got {P.shape}")
    n_rows, S = P.shape
    if S == 0 or n_rows % S != 0 or n_rows == 0:
        raise MDPValidationError(f"a sparse P must have shape (S*A, S) with S*A a multiple of "
                                 f"S; got {P.shape}")
    A = n_rows // S
    if P.dtype.kind == "c":
        val.check_real_dtype(sp.csr_array(P).data, "P", lambda k: f"stored entry {k} of P")
    rtol = val.row_sum_rtol(P.dtype, S)
    csr = as_csr(P)

    def where(k):
        row = int(np.searchsorted(csr.indptr, k, side="right") - 1)
        s, a = divmod(row, A)
        return f"P[{s}*A + {a}, {csr.indices[k]}]"

    nonfinite = ~np.isfinite(csr.data)
    if nonfinite.any():
        k = int(np.argmax(nonfinite))
        raise MDPValidationError(f"P must be finite; got {csr.data[k]!r} at {where(k)} "
                                 f"({int(nonfinite.sum())} non-finite entries)")
    bad = val.check_probabilities(csr.data, "P")
    if bad is not None:
        value, k, n_bad = bad
        raise MDPValidationError(f"P entries must be probabilities in [0, 1]; got "
                                 f"{val.fmt_num(value)} at {where(k)} ({n_bad} bad entries)")
    return as_csr(csr[state_to_action_major(S, A)], copy=False), S, A, rtol


def absorbing_csr(Pcsr: Any, terminal: BoolArray, S: int, A: int) -> Any:
    """The action-major CSR P with the rows of terminal states made self-loops."""
    idx = np.flatnonzero(terminal)
    rows = (np.arange(A)[:, None] * S + idx).ravel()
    if (np.diff(Pcsr.indptr)[rows] == 1).all():
        first = Pcsr.indptr[rows]
        if (Pcsr.indices[first] == np.tile(idx, A)).all() and (Pcsr.data[first] == 1.0).all():
            return Pcsr  # terminal rows are already absorbing
    keep = np.tile(~terminal, A).astype(np.float64)
    loops = sp.csr_array((np.ones(A * idx.size), (rows, np.tile(idx, A))), shape=(A * S, S))
    out = as_csr(sp.diags_array(keep) @ Pcsr + loops, copy=False)
    out.eliminate_zeros()
    return out


def check_rows(Pam: FloatArray | None, Pcsr: Any, allowed: BoolArray, terminal: BoolArray,
               rtol: float = val.ROW_SUM_RTOL) -> float:
    """Check that every allowed row of P sums to 1, renormalize in place the rows accepted
    within the tolerance but off by more than round-off (so that the stored model is stochastic
    and the bounds that assume it, like the span rule, hold), and return the largest deviation
    of a used row sum from 1 (what the stopping rules must allow for).

    ``Pam`` is the dense action-major (A, S, S) array, or None and ``Pcsr`` the (A*S, S) CSR;
    ``rtol`` is the tolerance of the input's precision (``_validation.row_sum_rtol``)."""
    S, A = allowed.shape
    if Pam is not None:
        sums_am = Pam.sum(axis=2)  # (A, S)
    else:
        sums_am = np.asarray(Pcsr.sum(axis=1)).reshape(A, S)
    err = val.row_sum_error(sums_am.T.ravel().copy(), allowed.ravel(), rtol)
    if err is not None:
        pos, total, n_bad, n_rows = err
        s, a = divmod(pos, A)
        where = f"P[{s}, {a}, :]" if Pam is not None else f"P[{s}*A + {a}, :]"
        raise MDPValidationError(
            f"row {where} sums to {val.fmt_num(total)}, expected 1 (rtol={rtol:g}); "
            f"{n_bad} of {n_rows} allowed rows {'is' if n_bad == 1 else 'are'} bad")
    off = allowed.T & (np.abs(sums_am - 1.0) > 1e-12)
    scale = np.where(off, 1.0 / np.where(sums_am > 0, sums_am, 1.0), 1.0)
    if (scale != 1.0).any():
        if Pam is not None:
            Pam *= scale[:, :, None]
            sums_am = Pam.sum(axis=2)
        else:
            Pcsr.data *= np.repeat(scale.reshape(-1), np.diff(Pcsr.indptr))
            sums_am = np.asarray(Pcsr.sum(axis=1)).reshape(A, S)
    used = allowed.T & ~terminal[None, :]
    return float(np.abs(sums_am - 1.0)[used].max(initial=0.0))
