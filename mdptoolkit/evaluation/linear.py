r"""Linear solves of :math:`(I - \gamma P_\pi) x = b` and of its transpose.

The solver is chosen from the chain's structure: triangular back substitution when the chain
is acyclic, SuperLU for sparse chains (minimum degree on :math:`A^\top + A`, no pivoting:
:math:`I - \gamma P_\pi` is an M-matrix), LAPACK for dense ones.
"""

from __future__ import annotations


from typing import Any

import numpy as np
import scipy.linalg
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from .._typing import FloatArray, Matrix
from ..mdp import MDP
from .chain import check_proper, policy_chain
from .structure import _topological_order, layers_of


class ChainSystem:
    """The system (I - gamma P_NN) on the non-terminal states, analysed once, solvable many times.

    The structure decides the solver: states already in topological order (every transition
    to a higher index, as in language MDPs) or an acyclic chain after reordering by strongly
    connected components use a triangular solve, linear in the number of transitions; other
    sparse chains use a sparse LU (SuperLU), dense ones LAPACK.
    """

    def __init__(self, P_NN: Matrix, gamma: float) -> None:
        self.n = n = P_NN.shape[0]
        self.sparse = sp.issparse(P_NN)
        self.order = None
        self.kind = "general"
        self._lu: Any = None  # the factorization, made on the first general solve
        if n == 0:
            return
        if self.sparse:
            self.M = (sp.eye_array(n, format="csr") - gamma * P_NN).tocsr()
            coo = P_NN.tocoo()
            off = coo.row != coo.col
            rows, cols = coo.row[off], coo.col[off]
        else:
            self.M = np.eye(n) - gamma * P_NN
            rows, cols = np.nonzero(P_NN)
            off = rows != cols
            rows, cols = rows[off], cols[off]
        if (cols > rows).all():
            self.kind = "upper"  # already topological: upper triangular as it stands
            return
        G = sp.csr_array((np.ones(rows.size), (rows, cols)), shape=(n, n))
        order = _topological_order(G)
        if order is not None:
            self.kind, self.order = "permuted", order
            # rows in successor-first order: M[order][:, order] is lower triangular
            self.Mp = self.M[order][:, order]

    def solve(self, b: FloatArray, *, transpose: bool = False) -> FloatArray:
        """x with (I - gamma P_NN) x = b, or with the transposed matrix."""
        if self.n == 0:
            return b.copy()
        if self.kind == "upper":
            M = self.M.T if transpose else self.M
            return self._triangular(M, b, lower=transpose)
        if self.kind == "permuted":
            Mp = self.Mp.T if transpose else self.Mp
            x = np.empty(self.n)
            x[self.order] = self._triangular(Mp, b[self.order], lower=not transpose)
            return x
        if self.sparse:
            if self._lu is None:
                # I - gamma P_NN is a nonsingular M-matrix (diagonally dominant by rows), so
                # elimination without pivoting is stable; that keeps the fill-reducing order,
                # and minimum degree on A^T + A suits the near-symmetric patterns of grid-like
                # MDPs (300x300 grid: half the fill and time of the default COLAMD).
                self._lu = spla.splu(sp.csc_array(self.M), permc_spec="MMD_AT_PLUS_A",
                                     diag_pivot_thresh=0.0)
            return self._lu.solve(b, trans="T" if transpose else "N")
        if self._lu is None:
            self._lu = scipy.linalg.lu_factor(self.M, check_finite=False)
        return scipy.linalg.lu_solve(self._lu, b, trans=1 if transpose else 0, check_finite=False)

    def _triangular(self, M, b, lower):
        if self.sparse:
            return spla.spsolve_triangular(sp.csr_array(M), b, lower=lower)
        return scipy.linalg.solve_triangular(M, b, lower=lower, check_finite=False)


def solve_chain(P_NN: Matrix, b: FloatArray, gamma: float, *,
                transpose: bool = False) -> FloatArray:
    """Solve (I - gamma P_NN) x = b, or its transpose, choosing the solver by structure."""
    return ChainSystem(P_NN, gamma).solve(b, transpose=transpose)


def solve_values(mdp: MDP, P_pi: Matrix, R_pi: FloatArray) -> FloatArray:
    """V solving (I - gamma P_pi) V = R_pi on the non-terminal states, 0 on terminal ones."""
    N = np.flatnonzero(~mdp.terminal)
    V = np.zeros(mdp.n_states)
    V[N] = solve_chain(_restrict(P_pi, N), R_pi[N], mdp.gamma)
    return V


def values_and_occupancy(mdp: MDP, pi: FloatArray,
                         R_pi: FloatArray) -> tuple[FloatArray, FloatArray]:
    """(V^pi, d^pi) of a policy matrix and its (possibly regularized) reward, both from one
    analysis of the chain: height-layer sweeps on acyclic MDPs, else one ChainSystem."""
    layers = layers_of(mdp)
    if layers is not None:
        return layers.values(pi, R_pi, mdp.gamma), layers.occupancy(pi, mdp.mu, mdp.gamma)
    P_pi, _ = policy_chain(mdp, pi)
    if mdp.gamma == 1.0:
        check_proper(mdp, P_pi)
    N = np.flatnonzero(~mdp.terminal)
    system = ChainSystem(_restrict(P_pi, N), mdp.gamma)
    V = np.zeros(mdp.n_states)
    d = np.zeros(mdp.n_states)
    V[N] = system.solve(R_pi[N])
    d[N] = system.solve(mdp.mu[N], transpose=True)
    return V, d


def _restrict(P_pi, N):
    if sp.issparse(P_pi):
        return sp.csr_array(P_pi[N][:, N])
    return P_pi[np.ix_(N, N)]
