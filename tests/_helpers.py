"""Helpers shared by the test files (not a test module)."""

import numpy as np
import scipy.sparse as sp


def random_P(rng, n_states, n_actions, branching=None):
    """Random (S, A, S) transitions; with ``branching``, that many successors per row."""
    P = rng.random((n_states, n_actions, n_states))
    if branching is not None:
        keep = np.argsort(rng.random((n_states, n_actions, n_states)), axis=2) < branching
        P = np.where(keep, P, 0.0)
    return P / P.sum(axis=2, keepdims=True)


def as_kind(P, kind):
    """Dense (S, A, S) array, or the same transitions as a sparse (S*A, S) CSR matrix."""
    P = np.asarray(P, dtype=float)
    if kind == "dense":
        return P
    n_states, n_actions, _ = P.shape
    return sp.csr_array(P.reshape(n_states * n_actions, n_states))


def dense_P(mdp):
    """mdp.P as a dense (S, A, S) array whatever the storage."""
    if mdp.is_sparse:
        return mdp.P.toarray().reshape(mdp.n_states, mdp.n_actions, mdp.n_states)
    return np.asarray(mdp.P)
