r"""Exact policy gradients on MDPs laid out as a prefix tree (language MDPs), without a matrix.

A language MDP stores its states breadth-first, so each height layer is a contiguous range of
states, and the token actions of the states ``lo:hi`` lead to one contiguous block of children,
``child(s, a) = c0 + (s - lo) k + (a - a0)`` for the ``k`` token actions ``a0:a1``; every other
action ends the episode. :func:`prefix_tree` recognizes that layout in any deterministic
acyclic MDP (it is a property of the arrays, not of :class:`~mdptoolkit.language.LanguageMDP`),
and :meth:`PrefixTree.gradient` then computes the objective and the logit weights of the
policy gradient with slices and reshapes only, in about as many passes over the (S, A) arrays
as the arithmetic needs:

- the softmax is never normalized as a whole array: with :math:`e = \exp z` and
  :math:`c(s) = 1 / \sum_a e(s, a)`, :math:`V(s) = c(s) \sum_a e(s,a) Q(s,a)` and the weights
  :math:`d(s)\pi(a|s)(Q(s,a) - V(s)) = (Q(s,a) - V(s))\, e(s,a)\, c(s) d(s)`;
- :math:`Q` is materialized only for the layers with children; the leaves' (the largest layer's)
  :math:`Q = R` is read in place;
- the logits are exponentiated without the usual per-row maximum when they all lie within
  :data:`EXP_RANGE` of 0 (no overflow, no subnormal result), and with one shift per piece
  when they span less than that, which costs one reduction instead of two passes;
- the layers are processed in pieces of :data:`PIECE` states, so that the dozen elementwise
  steps on a piece run in cache.

On large trees (``mdptoolkit.gradient._fused.MIN_ENTRIES`` entries and more) with Numba
installed, each piece's steps after the exponential run instead as one compiled loop over its rows
(``mdptoolkit.gradient._fused``): about half the time of the NumPy passes, which stay the path
without Numba. Both give the same numbers to round-off; the tests run every case through both.

Anything else (wider logits, a reference with zeros, a cyclic or stochastic MDP) goes through
the general path in :mod:`mdptoolkit.gradient`.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from .._typing import BoolArray, FloatArray
from ..evaluation.structure import layers_of
from ..mdp import MDP
from . import _fused

#: exp(z) is a normal double with full relative precision for |z| <= 600 (e^600 ~ 4e260).
EXP_RANGE = 600.0


#: States per piece of a layer: every (S, A) array of a piece (~350 kB) stays in cache while
#: the piece's dozen elementwise steps run, so the whole gradient reads the logits and R and
#: writes the result about once from memory.
PIECE = 4096


class PrefixTree:
    """Height layers of a breadth-first deterministic tree, cut into pieces of states.

    ``pieces`` holds ``(lo, hi, a0, a1, c0)`` in height order (leaves first): states
    ``lo:hi`` take the token actions ``a0:a1`` (none when ``a0 == a1``) to the children
    ``c0 + (s - lo) (a1 - a0) + (a - a0)`` and every other action to a terminal state.
    """

    def __init__(self, mdp, blocks):
        self.pieces = []
        for lo, hi, a0, a1, c0 in blocks:
            for start in range(lo, hi, PIECE):
                stop = min(hi, start + PIECE)
                self.pieces.append((start, stop, a0, a1, c0 + (start - lo) * (a1 - a0)))
        # (S, A), 0 at disallowed actions; the MDP may hold it as a transposed view of its
        # action-major copy, which the pieces would read with a stride of S
        self.R = np.ascontiguousarray(mdp._R0)
        self.terminal = np.flatnonzero(mdp.terminal)
        self.shape = (mdp.n_states, mdp.n_actions)

    def gradient(self, mdp: MDP, z: FloatArray, allowed: BoolArray | None = None,
                 beta: float = 0.0,
                 logref: FloatArray | None = None) -> tuple[float, FloatArray] | None:
        """``(J, W)`` for ``mdp`` (whose layout this is; gamma and mu are read from it, as
        ``mdp.replace`` shares the layout between MDPs that differ in them) and logits
        ``z`` (S, A): the objective and the weights ``W = d pi (Q - beta log(pi/ref) - V)``
        whose vector-Jacobian product with the logits is the gradient; None when the logits of
        some piece span more than :data:`EXP_RANGE` or are not finite (the general path
        handles or rejects those).

        ``allowed`` (S, A) masks actions (None: all allowed); ``logref`` is log of the
        reference policy, finite on allowed actions, used when ``beta > 0``.

        Two passes (the same in the NumPy and in the compiled version, :meth:`_fused_gradient`).
        Top-down over the pieces with children (a tenth of the states of a
        language MDP): their softmax and from it the occupancy d of every state. Then
        bottom-up over all pieces, each finished while in cache: the leaves' softmax, the
        values (children first) and the weights, so that the logits and R are read and W
        written about once from memory. Rows are scaled through ``np.repeat`` (one value per
        entry): broadcasting a column over rows of 11 runs NumPy's inner loop 11 entries at
        a time, which measured slower than the repeat and a flat product."""
        S, A = self.shape
        loops = _fused.compiled() if S * A >= _fused.MIN_ENTRIES else None
        if loops is not None:
            return self._fused_gradient(loops, mdp, z, allowed, beta, logref)
        gamma = mdp.gamma
        W = np.empty(self.shape)  # exp(logits - shift), then the weights
        c = np.empty(S)  # 1 / sum_a exp(z(s, a) - shift)
        lse = np.empty(S) if beta > 0 else None  # log sum_a exp z(s, a)
        ones = np.ones(A)
        scratch = np.empty(min(PIECE, S) * A)

        def softmax(lo, hi):  # exp(z - shift) into W[lo:hi], 1/sum into c[lo:hi]; False: no fit
            e = W[lo:hi]
            shift = _exponentiate(z, W, allowed, lo, hi)
            if shift is None:
                return False
            total = e @ ones  # a matrix-vector product sums short rows faster than a reduction
            if lse is not None:
                np.log(total, out=lse[lo:hi])
                lse[lo:hi] += shift
            np.divide(1.0, total, out=c[lo:hi])
            return True

        mu = np.where(mdp.terminal, 0.0, mdp.mu)
        d = mu.copy()
        for lo, hi, a0, a1, c0 in reversed(self.pieces):  # top-down: occupancy
            if a1 == a0:
                continue
            if not softmax(lo, hi):
                return None
            n, k = hi - lo, a1 - a0
            cd = c[lo:hi] * d[lo:hi]  # complete: the parents came first
            if gamma != 1.0:
                cd *= gamma
            d[c0:c0 + n * k].reshape(n, k)[...] += W[lo:hi, a0:a1] * cd[:, None]
        V = np.zeros(S)
        for lo, hi, a0, a1, c0 in self.pieces:  # bottom-up: values and weights
            if a1 == a0 and not softmax(lo, hi):
                return None
            e, cb = W[lo:hi], c[lo:hi]
            if beta > 0:  # Q - beta log(pi/ref), less the constant-in-a term beta lse(s)
                Q = z[lo:hi] - logref[lo:hi]  # type: ignore[index]  # given when beta > 0
                Q *= -beta
                Q += self.R[lo:hi]
                if allowed is not None:
                    np.copyto(Q, 0.0, where=~allowed[lo:hi])
            else:
                Q = self.R[lo:hi]
            if a1 > a0:
                n, k = hi - lo, a1 - a0
                Q = Q.copy() if beta == 0 else Q
                child = V[c0:c0 + n * k].reshape(n, k)
                Q[:, a0:a1] += child if gamma == 1.0 else gamma * child
            v = np.einsum("sa,sa->s", e, Q)
            v *= cb
            flat = e.reshape(-1)
            advantage = np.subtract(Q.reshape(-1), np.repeat(v, A), out=scratch[:flat.size])
            flat *= advantage
            flat *= np.repeat(cb * d[lo:hi], A)
            if lse is not None:
                v += beta * lse[lo:hi]
            V[lo:hi] = v
        W[self.terminal] = 0.0
        return float(mu @ V), W

    def _fused_gradient(self, loops, mdp, z, allowed, beta, logref):
        """:meth:`gradient` by the compiled loops of :mod:`mdptoolkit.gradient._fused`: the same two
        passes, with NumPy's exp and one fused loop per piece for the rest."""
        S = self.shape[0]
        gamma, beta = float(mdp.gamma), float(beta)
        z = np.ascontiguousarray(z, dtype=np.float64)
        if beta == 0:
            logref = z  # not read
        elif allowed is None:
            logref = np.ascontiguousarray(logref, dtype=np.float64)
        else:  # finite at masked actions too: the loops multiply them by 0
            logref = np.where(allowed, logref, 0.0)
        W = np.empty(self.shape)
        shifts = {}
        mu = np.where(mdp.terminal, 0.0, mdp.mu)
        d = mu.copy()
        for lo, hi, a0, a1, c0 in reversed(self.pieces):  # top-down: occupancy
            if a1 == a0:
                continue
            shift = _exponentiate(z, W, allowed, lo, hi)
            if shift is None:
                return None
            shifts[lo] = shift
            loops.occupancy(W[lo:hi], a0, a1, gamma, d[lo:hi], d[c0:c0 + (hi - lo) * (a1 - a0)])
        V = np.zeros(S)
        for lo, hi, a0, a1, c0 in self.pieces:  # bottom-up: values and weights
            if a1 == a0:
                shift = _exponentiate(z, W, allowed, lo, hi)
                if shift is None:
                    return None
            else:
                shift = shifts[lo]
            loops.weights(W[lo:hi], self.R[lo:hi], z[lo:hi], logref[lo:hi], beta, shift,
                          V[c0:c0 + (hi - lo) * (a1 - a0)], a0, a1, gamma, d[lo:hi], V[lo:hi])
        W[self.terminal] = 0.0
        return float(mu @ V), W


def _exponentiate(z, W, allowed, lo, hi):
    """``exp(z - shift)`` into ``W`` for the states ``lo:hi``, 0 where ``allowed`` (if not
    None) is False, with one shift for the piece (the softmax of each row is unchanged by it):
    0 when no exp can overflow or go subnormal, else the largest logit. Returns the shift, or
    None when the logits span more than :data:`EXP_RANGE` or are not finite."""
    zb, e = z[lo:hi], W[lo:hi]
    top, bottom = float(zb.max()), float(zb.min())
    if not (np.isfinite(top) and np.isfinite(bottom)) or top - bottom > EXP_RANGE:
        return None
    if -EXP_RANGE <= bottom and top <= EXP_RANGE:
        shift = 0.0
        np.exp(zb, out=e)
    else:
        shift = top
        np.subtract(zb, shift, out=e)
        np.exp(e, out=e)
    if allowed is not None:
        np.copyto(e, 0.0, where=~allowed[lo:hi])
    return shift


def prefix_tree(mdp: MDP) -> PrefixTree | None:
    """A :class:`PrefixTree` when the MDP has that layout, else None (checked once, O(S A))."""
    layers = layers_of(mdp)
    op = mdp._op
    S, A = mdp.n_states, mdp.n_actions
    if layers is None or not sp.issparse(op) or op.nnz != A * S:
        return None
    if not (np.array_equal(op.indptr, np.arange(A * S + 1)) and (op.data == 1.0).all()):
        return None  # not one successor with probability 1 per (action, state)
    child = op.indices.reshape(A, S)
    terminal = mdp.terminal
    covered = np.zeros(S, dtype=bool)
    blocks = []
    for states in layers.states:
        lo, hi = int(states[0]), int(states[-1]) + 1
        if hi - lo != states.size or not (np.diff(states) == 1).all():
            return None
        covered[lo:hi] = True
        ends = terminal[child[:, lo:hi]]
        ending, going = ends.all(axis=1), (~ends).all(axis=1)
        if not (ending | going).all():
            return None
        tokens = np.flatnonzero(going)
        if tokens.size == 0:
            blocks.append((lo, hi, 0, 0, 0))
            continue
        a0, a1 = int(tokens[0]), int(tokens[-1]) + 1
        if a1 - a0 != tokens.size:
            return None
        n, k = hi - lo, a1 - a0
        c0 = int(child[a0, lo])
        expected = c0 + np.arange(n)[None, :] * k + np.arange(k)[:, None]
        if not np.array_equal(child[a0:a1, lo:hi], expected):
            return None
        blocks.append((lo, hi, a0, a1, c0))
    if not np.array_equal(covered, ~terminal):
        return None
    return PrefixTree(mdp, blocks)


def tree_of(mdp: MDP) -> PrefixTree | None:
    """The :class:`PrefixTree` of an MDP with that layout (None otherwise), found once per MDP."""
    return mdp._derived("prefix_tree", prefix_tree)
