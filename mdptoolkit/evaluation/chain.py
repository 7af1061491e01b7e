r"""The chain of a policy: :math:`P_\pi`, :math:`R_\pi`, the KL term, and properness.

For a policy :math:`\pi` (an (S, A) matrix), :math:`P_\pi(s, s') = \sum_a \pi(a|s) P(s'|s, a)`
and :math:`R_\pi(s) = \sum_a \pi(a|s) R(s, a)`; with temperature :math:`\beta > 0` the
regularized reward is :math:`R_\pi(s) - \beta\,\mathrm{KL}(\pi(\cdot|s) \,\|\, \pi_{ref}(\cdot|s))`.
"""

from __future__ import annotations


from typing import NamedTuple

import numpy as np
import scipy.sparse as sp
import scipy.sparse.csgraph as csgraph

from .. import _validation as val
from .._typing import ArrayLike, FloatArray, IntArray, Matrix
from ..exceptions import ImproperPolicyError, MDPValidationError
from ..mdp import MDP


#: Largest value magnitude the solvers accept: their bounds multiply values by up to
#: gamma/(1-gamma) and add a few of them, so a margin below float64's maximum is kept.
MAX_VALUE = float(np.finfo(np.float64).max) / 16


def check_value_range(R: ArrayLike, gamma: float, where: str = "R") -> None:
    r"""Refuse rewards whose values overflow float64: :math:`\max|R| / (1 - \gamma)` bounds
    every value (and every iterate of the DP methods from 0) for :math:`\gamma < 1`.

    ``R`` holds the rewards that can be earned (0 or -inf at disallowed actions are ignored).
    Cheap (one pass over R); for :math:`\gamma = 1` the callers check their results instead
    (:func:`check_finite_values`)."""
    R = np.asarray(R)
    if gamma >= 1.0 or R.size == 0:
        return
    # the MDP's rewards are finite (0 at disallowed actions): two reductions, no temporaries
    r_max = max(float(R.max()), -float(R.min()))
    if not np.isfinite(r_max):  # an R_pi with -inf (a caller's own array): ignore those
        r_max = float(np.abs(R[np.isfinite(R)]).max(initial=0.0))
    with np.errstate(over="ignore"):
        bound = r_max / (1.0 - gamma)
    if not bound <= MAX_VALUE:
        magnitude = np.abs(np.where(np.isfinite(R), R, 0.0))
        i = int(np.argmax(magnitude))
        r_max = float(magnitude.reshape(-1)[i])
        at = np.unravel_index(i, R.shape) if R.ndim > 1 else (i,)
        raise MDPValidationError(
            f"the values must fit in float64 (|V| <= max|R|/(1 - gamma) <= {MAX_VALUE:.3g}); "
            f"got max|R|/(1 - gamma) = {bound:.3g} with |{where}[{', '.join(map(str, at))}]| = "
            f"{r_max:.3g} and gamma = {gamma:g}: the values overflow float64 (rescale the rewards)")


def check_finite_values(V: ArrayLike, where: str) -> None:
    """Refuse a computed value array that overflowed float64 (inf or NaN)."""
    V = np.asarray(V)
    if not np.isfinite(V).all():
        bad = np.argwhere(~np.isfinite(V))
        at = ", ".join(map(str, bad[0]))
        raise MDPValidationError(
            f"the values must be finite float64 numbers; got {V[tuple(bad[0])]} at V[{at}] of "
            f"{where} ({len(bad)} entries): the values overflow float64 (rescale the rewards)")


def policy_reward(mdp: MDP, pi: FloatArray) -> FloatArray:
    """R_pi(s) = sum_a pi(a|s) R(s, a)."""
    return np.einsum("sa,sa->s", pi, mdp._R0)


def policy_chain(mdp: MDP, pi: FloatArray) -> tuple[Matrix, FloatArray]:
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


def kl_to_reference(mdp: MDP, pi: FloatArray, beta: float,
                    reference: ArrayLike | None) -> FloatArray:
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


def regularized_reward(mdp: MDP, pi: FloatArray, R_pi: FloatArray, beta: float,
                       reference: ArrayLike | None) -> FloatArray:
    """R_pi(s) - beta KL(pi(.|s) || ref(.|s)); R_pi itself when beta = 0 (``reference`` is
    still checked)."""
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


def check_proper(mdp: MDP, P_pi: Matrix, what: str = "policy") -> None:
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


class CSRRows(NamedTuple):
    """The parts of a CSR matrix, without SciPy's checks (which cost ~25 us per matrix)."""
    indptr: np.ndarray
    indices: np.ndarray
    data: np.ndarray
    shape: tuple[int, int]

    @property
    def nnz(self) -> int:
        return int(self.indptr[-1])


def csr_rows(op: Matrix, rows: IntArray, raw: bool = False) -> CSRRows | Matrix:
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
