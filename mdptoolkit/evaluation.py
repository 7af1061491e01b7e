r"""Exact policy evaluation: values, action values, occupancy and expected return.

For a policy :math:`\pi` let :math:`P_\pi(s, s') = \sum_a \pi(a|s) P(s'|s, a)` and
:math:`R_\pi(s) = \sum_a \pi(a|s) R(s, a)`. Then

.. math::

    (I - \gamma P_\pi) V^\pi = R_\pi, \qquad
    (I - \gamma P_\pi)^\top d^\pi = \mu, \qquad J(\pi) = \mu^\top V^\pi = (d^\pi)^\top R_\pi .

Terminal states are removed from both systems (their value and occupancy are 0). The direct
method chooses its solver from the chain's structure:

- acyclic chain (every strongly connected component a single state, as in finite trees,
  finite-horizon unrollings and language MDPs): a triangular back substitution in topological
  order, linear in the number of transitions;
- sparse MDP: a sparse LU factorization (SuperLU);
- dense MDP: a dense LAPACK solve.

With :math:`\gamma = 1` the system is nonsingular exactly when every non-terminal state reaches a
terminal state with positive probability, i.e. when the policy is *proper*; otherwise
:class:`~mdptoolkit.ImproperPolicyError` names a state that never does. The regularized
objective with temperature :math:`\beta > 0` uses
:math:`R^\beta_\pi(s) = R_\pi(s) - \beta\, \mathrm{KL}(\pi(\cdot|s) \,\|\, \pi_{ref}(\cdot|s))`.
"""

from __future__ import annotations

import warnings
from typing import NamedTuple

import numpy as np
import scipy.linalg
import scipy.sparse as sp
import scipy.sparse.csgraph as csgraph
import scipy.sparse.linalg as spla

from . import _validation as val
from ._stopping import EPS
from .exceptions import ConvergenceWarning, ImproperPolicyError, MDPValidationError
from .operators import _csr_matvec

__all__ = ["evaluate_policy", "evaluate_q", "occupancy", "expected_return"]


# ---------------------------------------------------------------------- the policy's chain
def policy_reward(mdp, pi):
    """R_pi(s) = sum_a pi(a|s) R(s, a)."""
    return np.einsum("sa,sa->s", pi, mdp._R0)


def policy_chain(mdp, pi):
    """(P_pi, R_pi): the policy's transition matrix (CSR for sparse MDPs, dense (S, S) for
    dense ones, which are solved densely) and its expected reward (S,). ``pi`` is (S, A)."""
    S, A = mdp.n_states, mdp.n_actions
    R_pi = policy_reward(mdp, pi)
    deterministic = bool((pi.max(axis=1) == 1.0).all())
    if mdp.is_sparse:
        if deterministic:
            P_pi = csr_rows(mdp._op, np.argmax(pi, axis=1) * S + np.arange(S))
        else:
            s_idx, a_idx = np.nonzero(pi)
            Pi = sp.csr_array((pi[s_idx, a_idx], (s_idx, a_idx * S + s_idx)), shape=(S, A * S))
            P_pi = Pi @ mdp._op
        return sp.csr_array(P_pi), R_pi
    if deterministic:
        P_pi = mdp._Pam[np.argmax(pi, axis=1), np.arange(S)]
    else:
        P_pi = np.einsum("sa,ast->st", pi, mdp._Pam, optimize=True)
    return P_pi, R_pi


def kl_to_reference(mdp, pi, beta, reference):
    """Per-state KL(pi(.|s) || ref(.|s)) (S,), 0 at terminal states; checks absolute continuity."""
    ref = val.as_reference(mdp, reference)
    support = pi > 0
    bad = support & (ref <= 0) & ~mdp.terminal[:, None]
    if bad.any():
        s, a = np.argwhere(bad)[0]
        raise MDPValidationError(f"policy must be absolutely continuous w.r.t. the reference "
                                 f"(KL is infinite otherwise); got pi[{s}, {a}] = "
                                 f"{val.fmt_num(pi[s, a])} where reference[{s}, {a}] = 0")
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(support, pi * (np.log(np.where(support, pi, 1.0))
                                        - np.log(np.where(support, ref, 1.0))), 0.0)
    kl = terms.sum(axis=1)
    kl[mdp.terminal] = 0.0
    return kl


def regularized_reward(mdp, pi, R_pi, beta, reference):
    beta = val.check_beta(beta)
    if beta == 0.0:
        if reference is not None:
            val.as_reference(mdp, reference)
        return R_pi
    return R_pi - beta * kl_to_reference(mdp, pi, beta, reference)


def _graph(P_pi):
    """Sparse 0/1 adjacency of the chain (s -> s' when P_pi[s, s'] > 0)."""
    G = sp.csr_array(P_pi) if not sp.issparse(P_pi) else P_pi.copy()
    G.data = (G.data > 0).astype(np.float64)
    G.eliminate_zeros()
    return G


def check_proper(mdp, P_pi, what="policy"):
    """With gamma = 1, raise ImproperPolicyError unless every state reaches a terminal state."""
    S = mdp.n_states
    T = mdp.terminal
    G = _graph(P_pi)
    # reverse edges plus a super-source S pointing at every terminal state
    rev = G.T.tocsr()
    extra = sp.csr_array((np.ones(int(T.sum())), (np.full(int(T.sum()), S), np.flatnonzero(T))),
                         shape=(S + 1, S + 1))
    rev = sp.block_array([[rev, None], [None, sp.csr_array((1, 1))]], format="csr") + extra
    reached = np.zeros(S + 1, bool)
    reached[csgraph.breadth_first_order(rev, S, directed=True, return_predecessors=False)] = True
    stuck = ~reached[:S]
    if stuck.any():
        s = int(np.argmax(stuck))
        name = f" ({mdp.state_names[s]})" if mdp.state_names else ""
        hint = ("; mark terminal states with terminal=..., use gamma < 1, or "
                "relative_value_iteration for the average-reward criterion") if not T.any() else ""
        raise ImproperPolicyError(
            f"{what} is improper: state {s}{name} never reaches a terminal state under it "
            f"({int(stuck.sum())} such states), so with gamma = 1 its value is undefined{hint}")


def _topological_order(M_off):
    """Order of states with successors first, or None when the chain has a cycle.

    ``M_off`` is the sparse adjacency without self-loops. Uses the strongly connected
    components (all singletons iff acyclic); their labels are checked to be a topological
    order before use.
    """
    n = M_off.shape[0]
    n_comp, labels = csgraph.connected_components(M_off, directed=True, connection="strong")
    if n_comp != n:
        return None
    coo = M_off.tocoo()
    if coo.nnz and not (labels[coo.row] > labels[coo.col]).all():
        if (labels[coo.row] < labels[coo.col]).all():
            labels = -labels
        else:  # pragma: no cover - SciPy's labelling has always been topological
            return None
    return np.argsort(labels, kind="stable")


MAX_LAYERS = 256  # deeper acyclic MDPs are solved through ChainSystem instead


class Layers:
    r"""States of an acyclic MDP grouped by height, for sweeps that cost one pass over P.

    The height of a non-terminal state is 0 when every allowed transition leads to a terminal
    state, else one more than the largest height among its successors. When the union of all
    allowed transitions has no cycle among non-terminal states (language MDPs, finite-horizon
    unrollings, trees) and at most :data:`MAX_LAYERS` heights, every policy is proper and

    - ``values`` computes :math:`V^\pi` by a backward sweep (height 0 first),
    - ``occupancy`` computes :math:`d^\pi` by a forward sweep (largest height first),

    each touching every transition once. ``rows[h]`` holds the rows ``a*S + s`` of the flat
    transition matrix for the states of height h, action-major within the layer.
    """

    def __init__(self, mdp, heights):
        S, A = mdp.n_states, mdp.n_actions
        order = np.argsort(heights, kind="stable")
        counts = np.bincount(heights[heights >= 0])
        starts = np.cumsum(counts) - counts + int((heights < 0).sum())
        self.states, self.ops = [], []
        for start, count in zip(starts, counts):
            idx = order[start:start + count]
            rows = (np.arange(A)[:, None] * S + idx[None, :]).ravel()
            self.states.append(idx)
            self.ops.append(mdp._op[rows])
        self.n_actions = A
        self.terminal = mdp.terminal

    def values(self, pi, R_pi, gamma):
        V = np.zeros(R_pi.shape[0])
        for idx, op in zip(self.states, self.ops):
            q = np.asarray(op @ V).reshape(self.n_actions, idx.size)
            V[idx] = R_pi[idx] + gamma * np.einsum("ja,aj->j", pi[idx], q)
        return V

    def occupancy(self, pi, mu, gamma):
        d = np.where(self.terminal, 0.0, mu)
        for idx, op in zip(reversed(self.states), reversed(self.ops)):
            flow = gamma * (pi[idx] * d[idx][:, None]).T.reshape(-1)
            d += np.asarray(op.T @ flow).reshape(-1)
        d[self.terminal] = 0.0
        return d


def acyclic_layers(mdp):
    """A :class:`Layers` for the MDP, or None when it has a cycle or too many heights."""
    S = mdp.n_states
    T = mdp.terminal
    coo = sp.coo_array(mdp._op)
    src = coo.row % S
    keep = mdp.allowed.T.reshape(-1)[coo.row] & (coo.data > 0) & ~T[src] & ~T[coo.col]
    src, dst = src[keep], coo.col[keep]
    if (src == dst).any():
        return None
    G = sp.csr_array((np.ones(src.size), (src, dst)), shape=(S, S))
    G.sum_duplicates()
    G.data[:] = 1.0
    outdeg = np.asarray(G.sum(axis=1)).ravel()
    heights = np.full(S, -1)
    remaining = ~T
    n_left = int(remaining.sum())
    frontier = remaining & (outdeg == 0)
    h = 0
    while frontier.any():
        if h >= MAX_LAYERS:
            return None
        n_left -= int(frontier.sum())
        if h >= 8 and n_left * (h + 1) > (MAX_LAYERS - h) * (S - n_left):
            return None  # at this pace the layers would run past MAX_LAYERS: give up early
        heights[frontier] = h
        remaining = remaining & ~frontier
        outdeg = outdeg - G @ frontier.astype(np.float64)
        frontier = remaining & (outdeg < 0.5)
        h += 1
    if remaining.any():
        return None
    return Layers(mdp, heights)


class ChainSystem:
    """The system (I - gamma P_NN) on the non-terminal states, analysed once, solvable many times.

    The structure decides the solver: states already in topological order (every transition
    to a higher index, as in language MDPs) or an acyclic chain after reordering by strongly
    connected components use a triangular solve, linear in the number of transitions; other
    sparse chains use a sparse LU (SuperLU), dense ones LAPACK.
    """

    def __init__(self, P_NN, gamma):
        self.n = n = P_NN.shape[0]
        self.sparse = sp.issparse(P_NN)
        self.order = None
        self.kind = "general"
        self._lu = None
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

    def solve(self, b, *, transpose=False):
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


def solve_chain(P_NN, b, gamma, *, transpose=False):
    """Solve (I - gamma P_NN) x = b, or its transpose, choosing the solver by structure."""
    return ChainSystem(P_NN, gamma).solve(b, transpose=transpose)


# ---------------------------------------------------------------------- public functions
def evaluate_policy(mdp, policy, *, method="direct", tol=1e-10, max_iter=None, beta=0.0,
                    reference=None):
    r"""Value :math:`V^\pi` of a policy, exactly or iteratively.

    Parameters
    ----------
    mdp : MDP
    policy : array_like
        Deterministic int (S,) or stochastic (S, A).
    method : {"direct", "iterative"}
        ``"direct"`` solves :math:`(I - \gamma P_\pi) V = R_\pi` (triangular back substitution
        for acyclic chains, sparse LU for sparse MDPs, dense LAPACK otherwise).
        ``"iterative"`` applies :math:`T^\pi` until the a-posteriori bound below is under ``tol``.
    tol : float
        Iterative method only. For :math:`\gamma < 1` the returned V satisfies
        :math:`\max_s |V(s) - V^\pi(s)| \le` ``tol`` (span bound with the MacQueen midpoint, as in
        :func:`value_iteration`); for :math:`\gamma = 1` ``tol`` bounds the residual
        :math:`\max_s |T^\pi V - V|`.
    max_iter : int, optional
        Iterative method only; default the a-priori count that suffices for :math:`\gamma < 1`
        (100 000 when :math:`\gamma = 1`). A :class:`ConvergenceWarning` is issued when reached.
    beta : float
        Temperature of the regularized objective (0: the plain return).
    reference : array_like (S, A), optional
        Reference policy of the regularization; default uniform over allowed actions.

    Returns
    -------
    V : ndarray (S,)

    Raises
    ------
    ImproperPolicyError
        With :math:`\gamma = 1`, when some state never reaches a terminal state under the policy
        (both methods).
    MDPValidationError
        For a malformed policy, or one that puts mass where the reference has none (beta > 0).

    Examples
    --------
    Sutton & Barto (2018), Example 4.1: on the 4x4 grid the equiprobable random policy has value
    -14 next to the terminal corners.

    >>> import numpy as np, mdptoolkit as mt
    >>> S, A = 16, 4
    >>> moves = [(-1, 0), (1, 0), (0, -1), (0, 1)]
    >>> P = np.zeros((S, A, S))
    >>> for s in range(S):
    ...     r, c = divmod(s, 4)
    ...     for a, (dr, dc) in enumerate(moves):
    ...         r2, c2 = min(max(r + dr, 0), 3), min(max(c + dc, 0), 3)
    ...         P[s, a, 4 * r2 + c2] = 1
    >>> terminal = np.zeros(S, bool); terminal[[0, 15]] = True
    >>> mdp = mt.MDP(P, -np.ones((S, A)), 1.0, terminal=terminal)
    >>> V = mt.evaluate_policy(mdp, np.full((S, A), 0.25))
    >>> np.round(V.reshape(4, 4))
    array([[  0., -14., -20., -22.],
           [-14., -18., -20., -20.],
           [-20., -20., -18., -14.],
           [-22., -20., -14.,   0.]])
    """
    pi = val.as_policy_matrix(mdp, policy)
    if method not in ("direct", "iterative"):
        raise ValueError(f"method must be 'direct' or 'iterative'; got {method!r}")
    gamma = mdp.gamma
    if method == "direct" and mdp._layers is not None:
        R_pi = regularized_reward(mdp, pi, policy_reward(mdp, pi), beta, reference)
        return mdp._layers.values(pi, R_pi, gamma)
    P_pi, R_pi = policy_chain(mdp, pi)
    R_pi = regularized_reward(mdp, pi, R_pi, beta, reference)
    if gamma == 1.0:
        check_proper(mdp, P_pi)
    if method == "iterative":
        return _evaluate_iterative(mdp, P_pi, R_pi, tol, max_iter)
    return solve_values(mdp, P_pi, R_pi)


def solve_values(mdp, P_pi, R_pi):
    """V solving (I - gamma P_pi) V = R_pi on the non-terminal states, 0 on terminal ones."""
    N = np.flatnonzero(~mdp.terminal)
    V = np.zeros(mdp.n_states)
    V[N] = solve_chain(_restrict(P_pi, N), R_pi[N], mdp.gamma)
    return V


def values_and_occupancy(mdp, pi, R_pi):
    """(V^pi, d^pi) of a policy matrix and its (possibly regularized) reward, both from one
    analysis of the chain: height-layer sweeps on acyclic MDPs, else one ChainSystem."""
    layers = mdp._layers
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


def _evaluate_iterative(mdp, P_pi, R_pi, tol, max_iter):
    tol = val.check_positive(tol, "tol")
    gamma = mdp.gamma
    span0 = np.ptp(R_pi) + 1e-300
    if max_iter is None:
        max_iter = default_max_iter(gamma, tol, span0)
    max_iter = val.check_positive(max_iter, "max_iter", integer=True)
    from ._stopping import SpanRule

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


class CSRRows(NamedTuple):
    """The parts of a CSR matrix, without SciPy's checks (which cost ~25 us per matrix)."""
    indptr: np.ndarray
    indices: np.ndarray
    data: np.ndarray
    shape: tuple

    @property
    def nnz(self):
        return int(self.indptr[-1])


def csr_rows(op, rows, raw=False):
    """``op[rows]`` for a CSR matrix, gathered with a few vectorized steps (SciPy's fancy row
    indexing costs ~0.1 ms of fixed overhead, which showed on every step of policy iteration);
    a :class:`CSRRows` when ``raw``."""
    starts, stops = op.indptr[rows], op.indptr[rows + 1]
    lengths = stops - starts
    indptr = np.zeros(rows.size + 1, dtype=op.indptr.dtype)
    np.cumsum(lengths, out=indptr[1:])
    take = np.arange(int(indptr[-1]), dtype=op.indptr.dtype) + np.repeat(starts - indptr[:-1],
                                                                         lengths)
    parts = (op.data[take], op.indices[take], indptr)
    if raw:
        return CSRRows(parts[2], parts[1], parts[0], (rows.size, op.shape[1]))
    return sp.csr_array(parts, shape=(rows.size, op.shape[1]))


def sweep_budget(P_pi, dense_direct):
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


def sweep_values(P_pi, R_pi, gamma, V0, tol, max_sweeps, *, rel=0.0, row_error=EPS):
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
    returned V is always certified by a checked sweep.
    """
    factor = gamma / (1.0 - gamma)
    row_error = max(float(row_error), EPS)
    x = np.array(V0, dtype=np.float64)
    y = np.empty_like(x)
    diff = np.empty_like(x)
    if isinstance(P_pi, tuple) and _csr_matvec is None:  # pragma: no cover - old SciPy
        P_pi = sp.csr_array((P_pi.data, P_pi.indices, P_pi.indptr), shape=P_pi.shape)
    csr = not isinstance(P_pi, np.ndarray) and _csr_matvec is not None
    if csr:  # a SciPy sparse matrix, or CSRRows (the same three arrays, unchecked)
        if sp.issparse(P_pi) and not isinstance(P_pi, sp.csr_array):
            P_pi = sp.csr_array(P_pi)
        n = P_pi.shape[0]
        indptr, indices = P_pi.indptr, P_pi.indices
        data = P_pi.data * gamma  # gamma folded in once, not per sweep
    scale = max(float(x.max()), -float(x.min()))  # max|V|, refreshed as the sweeps go
    best, best_k = np.inf, 0
    checked = []  # (sweep, span) of the checked sweeps
    next_check = 1
    for k in range(1, max_sweeps + 1):
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


def default_max_iter(gamma, tol, span0, cap=1_000_000, gamma1=100_000):
    """Iterations after which gamma/(1-gamma) * gamma**k * span0 <= tol (the span contracts by
    at least gamma per step), capped; ``gamma1`` when gamma = 1."""
    if gamma >= 1.0:
        return gamma1
    scale = gamma * span0
    if scale <= tol * (1 - gamma):  # already within tol after one step (covers gamma = 0)
        return 2
    need = np.log(tol * (1 - gamma) / scale) / np.log(gamma)
    return int(min(cap, max(2, np.ceil(need) + 2)))


def evaluate_q(mdp, policy, *, beta=0.0, reference=None):
    r"""Action values :math:`Q^\pi(s, a) = R(s, a) + \gamma \sum_{s'} P(s'|s,a) V^\pi(s')`.

    With ``beta > 0`` this is the soft action value: the KL term of a state is charged in
    :math:`V^\pi(s) = \sum_a \pi(a|s) (Q^\pi(s,a) - \beta \log(\pi(a|s)/\pi_{ref}(a|s)))`.
    Disallowed actions get ``-inf``.

    Examples
    --------
    >>> import numpy as np, mdptoolkit as mt
    >>> mdp = mt.MDP(np.ones((1, 2, 1)), [[1.0, 2.0]], 0.5)
    >>> mt.evaluate_q(mdp, np.array([1]))  # V = 2 / (1 - 0.5) = 4
    array([[3., 4.]])
    """
    from .operators import q_values
    V = evaluate_policy(mdp, policy, beta=beta, reference=reference)
    return q_values(mdp, V)


def occupancy(mdp, policy):
    r"""Discounted state occupancy :math:`d^\pi(s) = \sum_t \gamma^t \Pr(s_t = s)`, :math:`s_0 \sim \mu`.

    Unnormalized (it sums to :math:`1/(1-\gamma)` without terminal states); with
    :math:`\gamma = 1` it is the expected number of visits. Terminal states get 0.

    Raises
    ------
    ImproperPolicyError
        With :math:`\gamma = 1` and an improper policy.

    Examples
    --------
    >>> import numpy as np, mdptoolkit as mt
    >>> mdp = mt.MDP(np.ones((1, 1, 1)), [[1.0]], 0.5)
    >>> mt.occupancy(mdp, np.array([0]))
    array([2.])
    """
    pi = val.as_policy_matrix(mdp, policy)
    if mdp._layers is not None:
        return mdp._layers.occupancy(pi, mdp.mu, mdp.gamma)
    P_pi, _ = policy_chain(mdp, pi)
    if mdp.gamma == 1.0:
        check_proper(mdp, P_pi)
    N = np.flatnonzero(~mdp.terminal)
    d = np.zeros(mdp.n_states)
    d[N] = solve_chain(_restrict(P_pi, N), mdp.mu[N], mdp.gamma, transpose=True)
    return d


def expected_return(mdp, policy, *, beta=0.0, reference=None):
    r"""Expected return :math:`J(\pi) = \mu^\top V^\pi` (of the regularized objective if ``beta > 0``).

    Examples
    --------
    >>> import numpy as np, mdptoolkit as mt
    >>> mdp = mt.MDP(np.ones((1, 2, 1)), [[1.0, 2.0]], 0.5)
    >>> float(mt.expected_return(mdp, np.array([1])))
    4.0
    """
    V = evaluate_policy(mdp, policy, beta=beta, reference=reference)
    return float(mdp.mu @ V)
