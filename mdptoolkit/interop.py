"""Conversion from and to other libraries' layouts (the only module that knows them).

- pymdptoolbox: ``P`` of shape (A, S, S) or a list of A sparse (S, S) matrices; ``R`` of shape
  (S,), (S, A), (A, S, S) or a list of A (S, S) matrices.
- gymnasium toy-text: ``P[s][a] = [(prob, next_state, reward, terminated), ...]``.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from .exceptions import MDPValidationError
from .mdp import MDP

__all__ = ["from_pymdptoolbox", "to_pymdptoolbox", "from_gymnasium"]


def from_pymdptoolbox(P, R, gamma, **kwargs):
    """Build an :class:`~mdptoolkit.MDP` from pymdptoolbox's ``(P, R)``.

    Parameters
    ----------
    P : ndarray (A, S, S) or sequence of A sparse (S, S) matrices
        ``P[a][s, s2]`` = Pr(s2 | s, a). A sequence of sparse matrices gives a sparse MDP.
    R : ndarray (S,), (S, A) or (A, S, S), or sequence of A (S, S) matrices
        Rewards as pymdptoolbox accepts them.
    gamma : float
        Discount factor.
    **kwargs
        Passed on to :class:`~mdptoolkit.MDP` (``mu``, ``terminal``, ...).

    Returns
    -------
    MDP

    Examples
    --------
    >>> import numpy as np, mdptoolkit as mt
    >>> P = np.array([[[0.5, 0.5], [0.8, 0.2]], [[0.0, 1.0], [0.1, 0.9]]])  # (A, S, S)
    >>> R = np.array([[5.0, 10.0], [-1.0, 2.0]])  # (S, A)
    >>> mdp = mt.MDP.from_pymdptoolbox(P, R, 0.9)
    >>> mdp.P[1, 0], mdp.n_actions
    (array([0.8, 0.2]), 2)
    """
    if isinstance(P, np.ndarray) and P.dtype != object:
        if P.ndim != 3 or P.shape[1] != P.shape[2]:
            raise MDPValidationError(f"pymdptoolbox P must have shape (A, S, S); got {P.shape}")
        A, S, _ = P.shape
        P_ours = np.asarray(P, dtype=np.float64).transpose(1, 0, 2)
        sparse = False
    else:
        mats = list(P)
        if not mats:
            raise MDPValidationError("pymdptoolbox P must hold at least one action")
        A = len(mats)
        S = mats[0].shape[0]
        for a, m in enumerate(mats):
            if m.shape != (S, S):
                raise MDPValidationError(f"pymdptoolbox P[{a}] must have shape ({S}, {S}); got {m.shape}")
        sparse = any(sp.issparse(m) for m in mats)
        if sparse:
            stacked = sp.vstack([sp.csr_array(m) for m in mats], format="csr")  # row a*S + s
            perm = (np.arange(A)[None, :] * S + np.arange(S)[:, None]).ravel()  # row s*A + a
            P_ours = sp.csr_array(stacked[perm])
        else:
            P_ours = np.stack([np.asarray(m, dtype=np.float64) for m in mats], axis=1)
    R_ours = _rewards_from_pymdptoolbox(R, S, A, P_ours, sparse)
    return MDP(P_ours, R_ours, gamma, **kwargs)


def _rewards_from_pymdptoolbox(R, S, A, P_ours, sparse):
    if isinstance(R, np.ndarray) and R.dtype != object:
        if R.shape in ((S,), (S, A)):
            return R
        if R.shape == (A, S, S):
            if sparse:
                Rflat = R.transpose(1, 0, 2).reshape(S * A, S)
                return np.asarray(P_ours.multiply(Rflat).sum(axis=1)).reshape(S, A)
            return R.transpose(1, 0, 2)
        raise MDPValidationError(f"pymdptoolbox R must have shape ({S},), ({S}, {A}) or "
                                 f"({A}, {S}, {S}); got {R.shape}")
    mats = list(R)
    if len(mats) != A:
        raise MDPValidationError(f"pymdptoolbox R must hold {A} matrices; got {len(mats)}")
    cols = []
    for a, m in enumerate(mats):
        if m.shape != (S, S):
            raise MDPValidationError(f"pymdptoolbox R[{a}] must have shape ({S}, {S}); got {m.shape}")
        if sparse:
            Pa = P_ours[np.arange(S) * A + a]
        else:
            Pa = P_ours[:, a, :]
        prod = sp.csr_array(Pa).multiply(sp.csr_array(m)) if sp.issparse(m) or sparse else Pa * m
        cols.append(np.asarray(prod.sum(axis=1)).ravel())
    return np.stack(cols, axis=1)


def to_pymdptoolbox(mdp):
    """Return ``(P, R)`` in pymdptoolbox's layout.

    ``P`` is an (A, S, S) array for a dense MDP and a list of A CSR (S, S) matrices for a sparse
    one; ``R`` is (S, A). pymdptoolbox has no notion of disallowed actions, so an MDP with any is
    refused rather than silently changed.

    Examples
    --------
    >>> import numpy as np, mdptoolkit as mt
    >>> mdp = mt.MDP(np.ones((1, 2, 1)), [[1.0, 2.0]], 0.9)
    >>> P, R = mdp.to_pymdptoolbox()
    >>> P.shape, R.shape
    ((2, 1, 1), (1, 2))
    """
    if not mdp.allowed.all():
        s, a = np.argwhere(~mdp.allowed)[0]
        raise MDPValidationError(f"pymdptoolbox has no disallowed actions; action {a} is "
                                 f"disallowed at state {s} ({int((~mdp.allowed).sum())} pairs)")
    S, A = mdp.n_states, mdp.n_actions
    if mdp.is_sparse:
        P = mdp.P
        P_out = [sp.csr_matrix(P[np.arange(S) * A + a]) for a in range(A)]
    else:
        P_out = np.array(mdp.P.transpose(1, 0, 2))
    return P_out, np.array(mdp.R)
