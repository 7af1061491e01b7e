r"""Sequence-level quantities on the prefix tree of a language MDP, one array step per level.

A :class:`~mdptoolkit.language.LanguageMDP` with V tokens and maximum length L numbers its
states breadth-first: with :math:`o(l) = \sum_{j<l} V^j`, level l (prefixes of length l) is the
contiguous range :math:`o(l) .. o(l+1)-1` and the children of state s are the contiguous block
:math:`Vs + 1 .. Vs + V`. Complete sequences use the same numbering (``N = o(L+1)`` of them):
a sequence shorter than L has the index of the state where eos completes it, and the
:math:`V^L` sequences of length L follow. Every function here therefore loops over the
:math:`\le L` levels only, each level one reshape of a contiguous slice; nothing loops over
states, actions or sequences.

Notation: ``n_states`` S (the prefixes plus one terminal state, index ``o(L)``),
``n_sequences`` N, eos is the last action (index V).
"""

from __future__ import annotations

import numpy as np

from .. import _validation as val
from .._typing import ArrayLike, FloatArray
from ..exceptions import MDPValidationError
from ..language import LanguageMDP

__all__ = ["Layout", "layout", "check_lm", "as_sequence_array", "sequence_log_probs",
           "reach_probabilities", "sequence_probs", "subtree_totals", "path_gradient",
           "sequence_rewards", "dot"]


class Layout:
    """Sizes of a language MDP's prefix tree: V, L, offsets o(0..L+1), S, N, A."""

    def __init__(self, lm):
        self.V = V = len(lm.vocab)
        self.L = L = lm.max_len
        self.off = off = [0]
        for j in range(L + 1):   # Python ints: exact, and cheap on every call
            off.append(off[-1] + V ** j)
        self.n_prefixes = self.off[L]  # o(L): non-terminal states
        self.S = self.n_prefixes + 1
        self.N = self.off[L + 1]  # complete sequences
        self.A = V + 1


def check_lm(lm: object) -> LanguageMDP:
    """Raise TypeError unless ``lm`` is a LanguageMDP (an MDP is not one)."""
    if not isinstance(lm, LanguageMDP):
        hint = " (build a mt.language.LanguageMDP)" if hasattr(lm, "n_states") else ""
        raise TypeError(f"lm must be a LanguageMDP{hint}; got {type(lm).__name__}")
    return lm


def layout(lm: LanguageMDP) -> Layout:
    """The :class:`Layout` of ``lm`` (checked to be a LanguageMDP)."""
    return Layout(check_lm(lm))


def as_sequence_array(lm: LanguageMDP, values: ArrayLike, name: str) -> FloatArray:
    """A fresh finite float array (N,) by sequence index (e.g. a reward), read-only."""
    N = layout(lm).N
    array = val.as_float_array(values, name)
    if array.shape != (N,):
        raise MDPValidationError(f"{name} must have shape ({N},) (one value per complete "
                                 f"sequence, by sequence index); got {array.shape}")
    return val.freeze(array)


def sequence_log_probs(lm: LanguageMDP, log_pi: FloatArray) -> FloatArray:
    r""":math:`\log p_\pi(y)` for every sequence index, from an (S, A) array of :math:`\log\pi`.

    The log-probabilities are summed along each path, eos included for sequences shorter than
    L (length-L sequences have no eos). ``-inf`` entries are allowed (probability 0) and give
    ``-inf``; ``log_pi`` must not contain NaN or ``+inf`` (not checked here: a private helper).

    Parameters
    ----------
    lm : LanguageMDP
    log_pi : ndarray (S, A)

    Returns
    -------
    ndarray (N,)
    """
    T = layout(lm)
    V, L, off = T.V, T.L, T.off
    out = np.empty(T.N)
    out[0] = 0.0
    for l in range(L):  # the reach log-probability of every prefix, level by level
        a, b, c = off[l], off[l + 1], off[l + 2]
        np.add(out[a:b, None], log_pi[a:b, :V], out=out[b:c].reshape(b - a, V))
    out[:T.n_prefixes] += log_pi[:T.n_prefixes, V]  # eos completes the shorter sequences
    return out


def reach_probabilities(lm: LanguageMDP, pi: FloatArray) -> FloatArray:
    r"""Probability of reaching each prefix (indexed like states, shape (S - 1,)) under ``pi``:
    the (undiscounted) occupancy :math:`d^\pi(s)` of the language MDP, level by level."""
    T = layout(lm)
    V, L, off = T.V, T.L, T.off
    reach = np.empty(T.n_prefixes)
    reach[0] = 1.0
    for l in range(L - 1):
        a, b, c = off[l], off[l + 1], off[l + 2]
        np.multiply(reach[a:b, None], pi[a:b, :V], out=reach[b:c].reshape(b - a, V))
    return reach


def sequence_probs(lm: LanguageMDP, pi: FloatArray) -> FloatArray:
    r""":math:`p_\pi(y)` for every sequence index (N,), from the reach probabilities: the
    reach of y times :math:`\pi(\mathrm{eos} \mid y)` for :math:`|y| < L`, the reach of its
    parent times the last token's probability for :math:`|y| = L`."""
    T = layout(lm)
    V, L, off, n = T.V, T.L, T.off, T.n_prefixes
    reach = reach_probabilities(lm, pi)
    p = np.empty(T.N)
    np.multiply(reach, pi[:n, V], out=p[:n])
    a, b = off[L - 1], off[L]
    np.multiply(reach[a:b, None], pi[a:b, :V], out=p[n:].reshape(b - a, V))
    return p


def subtree_totals(lm: LanguageMDP, weights: FloatArray) -> FloatArray:
    r"""``T[j]`` = sum of ``weights`` over the sequences that extend sequence j (j included):
    the weight of the sequences whose path passes through prefix j. Bottom-up, one
    reshape-sum per level (the children of j are the contiguous block Vj+1 .. Vj+V)."""
    T = layout(lm)
    V, L, off = T.V, T.L, T.off
    total = np.array(weights, dtype=np.float64, copy=True)
    for l in range(L - 1, -1, -1):
        a, b, c = off[l], off[l + 1], off[l + 2]
        total[a:b] += total[b:c].reshape(b - a, V).sum(axis=1)
    return total


def path_gradient(lm: LanguageMDP, pi: FloatArray, weights: np.ndarray) -> FloatArray:
    r""":math:`\sum_y w_y \nabla_\theta \log p_\theta(y)` for tabular softmax logits θ.

    With :math:`\pi = \mathrm{softmax}(\theta)` row by row, :math:`\nabla_{\theta_{s,a}} \log
    p_\theta(y) = [\text{y takes a in s}] - [\text{y passes through s}]\,\pi(a|s)`, so

    .. math::

        G[s, a] = N[s, a] - n[s]\,\pi(a|s),

    N[s, a] the weight of the sequences whose path takes action a in s (the subtree total of
    the child for a token, the weight of sequence s itself for eos) and n[s] the weight of the
    sequences through s. The terminal row is 0. Entries of ``pi`` that are 0 (masked actions)
    get gradient 0 as long as no weighted sequence takes them.

    Parameters
    ----------
    lm : LanguageMDP
    pi : ndarray (S, A)
        The policy :math:`\pi_\theta`.
    weights : ndarray (N,)
        One weight per sequence index (e.g. the loss derivative aggregated per sequence).

    Returns
    -------
    ndarray (S, A)
    """
    T = layout(lm)
    V, n_prefixes = T.V, T.n_prefixes
    total = subtree_totals(lm, weights)
    G = np.zeros((T.S, T.A))
    G[:n_prefixes, :V] = total[1:].reshape(n_prefixes, V)  # children V s + 1 .. V s + V
    G[:n_prefixes, V] = weights[:n_prefixes]
    G[:n_prefixes] -= total[:n_prefixes, None] * pi[:n_prefixes]
    return G


def sequence_rewards(lm: LanguageMDP, reward: ArrayLike | None = None) -> FloatArray:
    r"""The total reward :math:`r(y)` of every complete sequence, by sequence index.

    With ``reward=None`` it is the return of y in ``lm.mdp``: ``lm.rewards`` plus every
    ``token_reward`` along the path (the completing step included), summed level by level
    from ``lm.mdp.R``; without token rewards it equals ``lm.rewards`` exactly. A given
    ``reward`` (N,) is taken as the total reward itself (validated: finite, shape (N,)).
    """
    if reward is not None:
        return as_sequence_array(lm, reward, "reward")
    T = layout(lm)
    V, L, off = T.V, T.L, T.off
    R = np.asarray(lm.mdp.R)
    out = np.empty(T.N)
    out[0] = 0.0
    for l in range(L):  # the reward collected along each prefix
        a, b, c = off[l], off[l + 1], off[l + 2]
        np.add(out[a:b, None], R[a:b, :V], out=out[b:c].reshape(b - a, V))
    out[:T.n_prefixes] += R[:T.n_prefixes, V]
    return val.freeze(out)


def dot(a: np.ndarray, b: np.ndarray) -> float:
    """Sum of a * b for 1-D arrays, without BLAS (whose thread start-up costs milliseconds on
    vectors of this size when cores are shared)."""
    return float(np.multiply(a, b).sum())
