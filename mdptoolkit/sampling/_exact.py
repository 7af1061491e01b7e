"""The exact references the sampled learners are measured against (computed on the states a
policy reaches from mu)."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import scipy.sparse.csgraph as csgraph

from ..evaluation.chain import policy_chain
from ..evaluation.linear import solve_chain
from ..exceptions import ImproperPolicyError
from ..solvers import policy_iteration


def _reachable(G, sources):
    """Mask of states reachable in the directed graph G (CSR, 0/1) from the ``sources`` mask:
    one breadth-first search from a hub state S pointing at every source."""
    S = G.shape[0]
    src = np.flatnonzero(sources)
    if src.size == 0:
        return np.zeros(S, bool)
    indptr = np.append(G.indptr, G.indptr[-1] + src.size)
    indices = np.concatenate([G.indices, src]).astype(indptr.dtype, copy=False)
    hub = sp.csr_array((np.ones(indices.size), indices, indptr), shape=(S + 1, S + 1))
    order = csgraph.breadth_first_order(hub, S, directed=True, return_predecessors=False)
    mask = np.zeros(S + 1, bool)
    mask[order] = True
    return mask[:S]


def _reachable_dense(G, sources):
    """The same for a dense boolean adjacency matrix (small dense MDPs): frontier expansion."""
    reach = sources.copy()
    frontier = reach
    while frontier.any():
        frontier = G[frontier].any(axis=0) & ~reach
        reach |= frontier
    return reach


class _Exact:
    r""":math:`V^\pi` on the states :math:`\pi` reaches from :math:`\mu`, and :math:`J(\pi)`.

    ``proper`` is False when :math:`\gamma = 1` and some reached state cannot reach a
    terminal state; then ``V`` is None and ``J = -inf``.
    """

    def __init__(self, mdp, pi):
        P_pi, R_pi = policy_chain(mdp, pi)
        if sp.issparse(P_pi):
            G = sp.csr_array(P_pi > 0, dtype=np.float64)
            self.reach = _reachable(G, mdp.mu > 0)

            def finishes():
                return _reachable(G.T.tocsr(), mdp.terminal)
        else:
            G = P_pi > 0
            self.reach = _reachable_dense(G, mdp.mu > 0)

            def finishes():
                return _reachable_dense(G.T, mdp.terminal)
        N = np.flatnonzero(self.reach & ~mdp.terminal)
        self.proper = True
        if mdp.gamma == 1.0 and N.size:
            self.proper = bool(finishes()[N].all())
        if not self.proper:
            self.V, self.J = None, -np.inf
            return
        self.V = np.zeros(mdp.n_states)
        if N.size:
            if sp.issparse(P_pi):
                self.V[N] = solve_chain(sp.csr_array(P_pi[N][:, N]), R_pi[N], mdp.gamma)
            elif N.size <= 256:  # small and dense: LAPACK at once, without structure analysis
                M = np.eye(N.size) - mdp.gamma * P_pi[np.ix_(N, N)]
                self.V[N] = np.linalg.solve(M, R_pi[N])
            else:
                self.V[N] = solve_chain(P_pi[np.ix_(N, N)], R_pi[N], mdp.gamma)
        self.J = float(mdp.mu @ self.V)

    def error(self, V):
        return float(np.abs(V - self.V)[self.reach].max())


def _exact_or_raise(mdp, pi, what):
    exact = _Exact(mdp, pi)
    if not exact.proper:
        raise ImproperPolicyError(f"{what} must reach a terminal state with probability 1 from "
                                  f"mu when gamma = 1; got a policy that does not, so V^pi is "
                                  f"undefined")
    return exact


def _optimum(mdp):
    result = policy_iteration(mdp)
    return float(mdp.mu @ result.V), np.asarray(result.Q)
