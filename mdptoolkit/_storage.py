"""Storage helpers of the model: canonical frozen CSR matrices, the action-major row order, and
the check (and round-off renormalization) of the rows of P."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from . import _validation as val
from .exceptions import MDPValidationError


def index_dtype(n):
    return np.int32 if n < np.iinfo(np.int32).max else np.int64


def as_csr(matrix, copy=True):
    """A canonical CSR matrix (sorted, summed duplicates, small index dtype); a copy unless
    ``copy=False`` and ``matrix`` is already a float64 CSR array we own."""
    csr = sp.csr_array(matrix, dtype=np.float64, copy=copy)
    csr.sum_duplicates()
    csr.sort_indices()
    itype = index_dtype(max(csr.nnz, max(csr.shape)))
    csr.indices = csr.indices.astype(itype, copy=False)
    csr.indptr = csr.indptr.astype(itype, copy=False)
    return csr


def freeze_csr(csr):
    for arr in (csr.data, csr.indices, csr.indptr):
        arr.flags.writeable = False
    return csr


def state_to_action_major(n_states, n_actions):
    """Row permutation: action-major row a*S + s takes state-major row s*A + a."""
    return (np.arange(n_states)[None, :] * n_actions + np.arange(n_actions)[:, None]).ravel()


def check_rows(Pam, Pcsr, allowed, terminal):
    """Check that every allowed row of P sums to 1, renormalize in place the rows accepted
    within the tolerance but off by more than round-off (so that the stored model is stochastic
    and the bounds that assume it, like the span rule, hold), and return the largest deviation
    of a used row sum from 1 (what the stopping rules must allow for).

    ``Pam`` is the dense action-major (A, S, S) array, or None and ``Pcsr`` the (A*S, S) CSR."""
    S, A = allowed.shape
    if Pam is not None:
        sums_am = Pam.sum(axis=2)  # (A, S)
    else:
        sums_am = np.asarray(Pcsr.sum(axis=1)).reshape(A, S)
    err = val.row_sum_error(sums_am.T.ravel().copy(), allowed.ravel())
    if err is not None:
        pos, total, n_bad, n_rows = err
        s, a = divmod(pos, A)
        where = f"P[{s}, {a}, :]" if Pam is not None else f"P[{s}*A + {a}, :]"
        raise MDPValidationError(
            f"row {where} sums to {val.fmt_num(total)}, expected 1 (rtol={val.ROW_SUM_RTOL:g}); "
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
