r"""Vectorized sampling of whole sequences from a policy, and per-token score-function sums.

Every on-policy method and estimator of :mod:`mdptoolkit.rlhf` needs the same two things:

- a batch of n sequences drawn from :math:`\pi`, as the (state, action) pairs along each one
  (:func:`sample_batch`: one vectorized pass per token position over the whole batch, never a
  Python loop over sequences);
- sums :math:`\sum_{t} w_t \nabla_\theta \log \pi_\theta(a_t \mid s_t)` over sampled tokens for
  tabular softmax logits, where :math:`\partial \log\pi(a|s) / \partial\theta_{s,\cdot} =
  e_a - \pi(\cdot|s)`, so the sum is one scatter (:func:`score_sum`; :class:`Rows` does the
  same over only the states the batch visits, so that a training step costs O(tokens), not
  O(S·A)):

.. math::

    G = \operatorname{bincount}\big((s_t, a_t), w\big) - \pi \odot
        \operatorname{bincount}(s_t, w)[:, \text{None}] .

A batch is laid out as (n, L) arrays over token positions, L = ``lm.max_len``; position t of
sequence i is a real token when ``t < n_tokens[i]``. Tokens are *actions*: the eos action
counts as a token (a sequence y with :math:`|y| < L` takes :math:`|y| + 1` actions, one of
length L takes L), as a language model's completion includes its end-of-sequence token.
Padded positions hold the terminal state and action 0, so that state-indexed lookups (values,
log-probabilities) stay in range; they are excluded by ``mask``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._typing import FloatArray, IntArray
from ..language import LanguageMDP

__all__ = []


@dataclass(frozen=True)
class Batch:
    """n sampled sequences as token-position arrays (private; see the module docstring).

    Attributes
    ----------
    states, actions : ndarray of int64 (n, L)
        State and action at each position; padding: the terminal state and action 0.
    mask : ndarray of bool (n, L)
        True at real tokens (``t < n_tokens``).
    n_tokens : ndarray of int64 (n,)
        Actions taken, eos included: :math:`|y| + [|y| < L]`, always >= 1.
    lengths : ndarray of int64 (n,)
        :math:`|y|`, eos excluded.
    index : ndarray of int64 (n,)
        Sequence index of each y (into ``lm.rewards`` and ``lm.sequences``).
    """

    states: np.ndarray
    actions: np.ndarray
    mask: np.ndarray
    n_tokens: np.ndarray
    lengths: np.ndarray
    index: np.ndarray

    @property
    def n(self) -> int:
        return self.states.shape[0]

    def token_values(self, table: FloatArray) -> FloatArray:
        """``table[s_t, a_t]`` at every position, 0 at padding: (n, L)."""
        return np.where(self.mask, table[self.states, self.actions], 0.0)

    def sequence_sums(self, table: FloatArray) -> FloatArray:
        """:math:`\\sum_t` ``table[s_t, a_t]`` over each sequence's tokens: (n,)."""
        return self.token_values(table).sum(axis=1)


def sample_batch(lm: LanguageMDP, pi: FloatArray, n: int, rng: np.random.Generator) -> Batch:
    r"""Draw n sequences from the (S, A) policy ``pi``, vectorized over the batch.

    One pass per token position: the active sequences draw their next action by inverse CDF
    from ``pi[s]`` (one uniform each), those choosing eos or reaching L tokens stop. Actions of
    probability 0 are never drawn (the draw is capped at the last action of positive mass).
    Only the rows of visited states are read: the cost is O(n·L·A), whatever S.
    """
    V, L = len(lm.vocab), lm.max_len
    terminal = lm.terminal_state
    A = pi.shape[1]
    states = np.full((n, L), terminal, dtype=np.int64)
    actions = np.zeros((n, L), dtype=np.int64)
    n_tokens = np.full(n, L, dtype=np.int64)
    lengths = np.full(n, L, dtype=np.int64)
    state = np.zeros(n, dtype=np.int64)   # also the running sequence index
    active = np.arange(n)
    for t in range(L):
        if active.size == 0:
            break
        s = state[active]
        p = pi[s]
        rows = np.cumsum(p, axis=1)
        last_positive = A - 1 - np.argmax(p[:, ::-1] > 0, axis=1)
        u = rng.random(active.size) * rows[:, -1]
        a = np.minimum((rows <= u[:, None]).sum(axis=1), last_positive)
        states[active, t] = s
        actions[active, t] = a
        stop = a == V
        n_tokens[active[stop]] = t + 1
        lengths[active[stop]] = t
        go = active[~stop]
        state[go] = V * state[go] + 1 + a[~stop]
        active = go
    mask = np.arange(L)[None, :] < n_tokens[:, None]
    return Batch(states=states, actions=actions, mask=mask, n_tokens=n_tokens, lengths=lengths,
                 index=state)


class Rows:
    """The distinct states a batch visits: ``u`` (k,) sorted, and ``local`` (n, L), each
    position's index into ``u`` (0 at padding, which ``mask`` excludes). Lets an update touch
    k rows of the (S, A) tables instead of all S."""

    def __init__(self, batch):
        self.u, inverse = np.unique(batch.states[batch.mask], return_inverse=True)
        self.local = np.zeros(batch.mask.shape, dtype=np.int64)
        self.local[batch.mask] = inverse
        self.actions = batch.actions
        self.mask = batch.mask

    def token_values(self, rows_table: FloatArray) -> FloatArray:
        """``rows_table[local, a_t]`` (a (k, A) table over ``u``), 0 at padding: (n, L)."""
        return np.where(self.mask, rows_table[self.local, self.actions], 0.0)

    def score_sum(self, pi_rows: FloatArray, weights: FloatArray) -> FloatArray:
        """:func:`score_sum` restricted to the visited rows: (k, A), row j for state u[j]."""
        k, A = pi_rows.shape
        m = self.mask
        w = weights[m]
        s = self.local[m]
        count = np.bincount(s * A + self.actions[m], w, minlength=k * A).reshape(k, A)
        return count - pi_rows * np.bincount(s, w, minlength=k)[:, None]


def score_sum(pi: FloatArray, batch: Batch, weights: FloatArray, *,
              groups: IntArray | None = None, n_groups: int = 1) -> FloatArray:
    r""":math:`\sum_t w_t \nabla_\theta \log\pi_\theta(a_t|s_t)` for tabular softmax logits.

    Parameters
    ----------
    pi : ndarray (S, A)
        The policy whose score is taken (0 at masked actions, so masked logits get 0).
    batch : Batch
    weights : ndarray (n, L)
        Per-token weights (ignored at padding).
    groups : ndarray of int64 (n,), optional
        Group of each sequence: one gradient per group, shape (n_groups, S, A). Default: one
        gradient over the whole batch, shape (S, A).

    Notes
    -----
    Two ``bincount`` calls (a scatter over the tokens) and one broadcast product.
    """
    S, A = pi.shape
    m = batch.mask
    w = weights[m]
    s = batch.states[m]
    a = batch.actions[m]
    if groups is None:
        count = np.bincount(s * A + a, w, minlength=S * A).reshape(S, A)
        return count - pi * np.bincount(s, w, minlength=S)[:, None]
    g = np.broadcast_to(groups[:, None], m.shape)[m]
    counts = np.bincount((g * S + s) * A + a, w, minlength=n_groups * S * A)
    mass = np.bincount(g * S + s, w, minlength=n_groups * S).reshape(n_groups, S, 1)
    return counts.reshape(n_groups, S, A) - pi[None] * mass
