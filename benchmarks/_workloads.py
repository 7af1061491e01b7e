"""The benchmark workloads, built once as plain arrays (no library objects).

Every workload is a dict of NumPy arrays, saved to one ``.npz`` file that each measuring
process loads and converts to its library's layout outside the timed region:

- ``R`` (S, A) expected rewards and ``gamma``;
- dense transitions as ``P`` (S, A, S), or sparse ones as the CSR parts of the state-major
  (S*A, S) matrix (row ``s*A + a``): ``P_data``, ``P_indices``, ``P_indptr``, ``P_shape``.

Goal states are absorbing with reward 0 (no library-specific "terminal" flag), so that every
library solves the same MDP.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


def random_dense(S, A, k, gamma, seed):
    """Garnet-style random MDP stored dense: k successors per row (Dirichlet(1) probabilities,
    distinct uniformly chosen successors), rewards uniform on [0, 1)."""
    rng = np.random.default_rng(seed)
    P = np.zeros((S * A, S))
    if k >= S:
        P[:] = rng.dirichlet(np.ones(S), size=S * A)
    else:
        cols = np.argsort(rng.random((S * A, S)), axis=1)[:, :k]
        P[np.arange(S * A)[:, None], cols] = rng.dirichlet(np.ones(k), size=S * A)
    return dict(P=P.reshape(S, A, S), R=rng.random((S, A)), gamma=np.float64(gamma))


def garnet_sparse(S, A, k, gamma, seed):
    """Garnet MDP built sparse (a dense (S*A, S) array would not fit at S = 20,000): k distinct
    uniformly chosen successors per row with Dirichlet(1) probabilities, rewards uniform on
    [0, 1); state-major CSR (S*A, S)."""
    rng = np.random.default_rng(seed)
    n = S * A
    cols = np.empty((n, k), dtype=np.int64)
    for i in range(k):  # distinct successors: redraw the clashes (rare for k << S)
        cols[:, i] = rng.integers(0, S, size=n)
        while True:
            clash = (cols[:, :i] == cols[:, i:i + 1]).any(axis=1)
            if not clash.any():
                break
            cols[clash, i] = rng.integers(0, S, size=int(clash.sum()))
    vals = rng.dirichlet(np.ones(k), size=n)
    P = sp.csr_array((vals.ravel(), (np.repeat(np.arange(n), k), cols.ravel())), shape=(n, S))
    P.sort_indices()
    return dict(P_data=P.data, P_indices=P.indices.astype(np.int32),
                P_indptr=P.indptr.astype(np.int64), P_shape=np.array(P.shape),
                R=rng.random((S, A)), gamma=np.float64(gamma), random_graph=np.bool_(True))


def forest(S=1000, r1=4.0, r2=2.0, p=0.1, gamma=0.96):
    """pymdptoolbox's ``mdptoolbox.example.forest(S, r1, r2, p)`` as (S, A, S) and (S, A).

    Action 0 waits (the forest grows one age class, or burns back to class 0 with probability
    p), action 1 cuts (back to class 0). ``run.py`` checks it against pymdptoolbox's own when
    that is installed.
    """
    P = np.zeros((S, 2, S))
    s = np.arange(S)
    P[:, 0, 0] = p
    P[s[:-1], 0, s[:-1] + 1] = 1 - p
    P[S - 1, 0, S - 1] = 1 - p
    P[:, 1, 0] = 1.0
    R = np.zeros((S, 2))
    R[S - 1, 0] = r1
    R[1:, 1] = 1.0
    R[S - 1, 1] = r2
    return dict(P=P, R=R, gamma=np.float64(gamma))


def grid(n, slip=0.2, gamma=0.99):
    """n x n grid world, 4 actions (up, down, left, right), reward -1 per step, the goal in the
    bottom-right corner absorbing with reward 0. An action goes its way with probability
    1 - slip + slip/4 and each of the four ways with slip/4 (walls keep the agent in place).
    Sparse, state-major CSR (S*A, S) with up to 4 successors per row."""
    S, A = n * n, 4
    s = np.arange(S)
    r, c = np.divmod(s, n)
    nxt = [np.where(r > 0, s - n, s), np.where(r < n - 1, s + n, s),
           np.where(c > 0, s - 1, s), np.where(c < n - 1, s + 1, s)]
    goal = S - 1
    rows, cols, vals = [], [], []
    for a in range(A):
        for b in range(A):
            rows.append(s * A + a)
            cols.append(nxt[b])
            vals.append(np.full(S, 1 - slip + slip / A if a == b else slip / A))
    rows, cols, vals = np.concatenate(rows), np.concatenate(cols), np.concatenate(vals)
    keep = rows // A != goal
    rows = np.concatenate([rows[keep], goal * A + np.arange(A)])
    cols = np.concatenate([cols[keep], np.full(A, goal)])
    vals = np.concatenate([vals[keep], np.ones(A)])
    P = sp.csr_array((vals, (rows, cols)), shape=(S * A, S))  # duplicates are summed
    P.sum_duplicates()
    P.sort_indices()
    R = np.full((S, A), -1.0)
    R[goal] = 0.0
    return dict(P_data=P.data, P_indices=P.indices.astype(np.int32),
                P_indptr=P.indptr.astype(np.int64), P_shape=np.array(P.shape),
                R=R, gamma=np.float64(gamma))


# ---------------------------------------------------------------------- access helpers
def is_sparse(w):
    return "P_data" in w


def shape(w):
    return w["R"].shape


def csr(w):
    """State-major (S*A, S) CSR matrix of the transitions (built from the dense P if needed)."""
    if is_sparse(w):
        return sp.csr_array((w["P_data"], w["P_indices"], w["P_indptr"]),
                            shape=tuple(int(x) for x in w["P_shape"]))
    S, A = shape(w)
    return sp.csr_array(w["P"].reshape(S * A, S))


def dense(w):
    """(S, A, S) dense transitions, or None for sparse workloads."""
    return None if is_sparse(w) else w["P"]


def p_bytes(w):
    """Size of P in the form it is given (dense array, or CSR data + indices + indptr)."""
    if is_sparse(w):
        return int(w["P_data"].nbytes + w["P_indices"].nbytes + w["P_indptr"].nbytes)
    return int(w["P"].nbytes)


def tiny_like(w):
    """A 12-state MDP stored the same way (dense or sparse), for JIT and import warm-up."""
    small = random_dense(12, shape(w)[1], 3, float(w["gamma"]), seed=1)
    if not is_sparse(w):
        return small
    P = sp.csr_array(small["P"].reshape(-1, 12))
    return dict(P_data=P.data, P_indices=P.indices.astype(np.int32),
                P_indptr=P.indptr.astype(np.int64), P_shape=np.array(P.shape),
                R=small["R"], gamma=small["gamma"])


def save(w, path):
    np.savez(path, **w)


def load(path):
    with np.load(path, allow_pickle=False) as f:
        return {k: f[k] for k in f.files}
