r"""Sizes and layout of the language MDP's states and sequences (see :mod:`mdptoolkit.language`):
the state count checked before any allocation, level offsets, token tuples computed on access,
and :func:`sequence_ids`."""

from __future__ import annotations

import math
import operator
from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import _validation as val
from .._typing import IntArray
from ..exceptions import MDPValidationError

#: Default limit on the number of states of a :class:`LanguageMDP`. Building vocab 10,
#: max_len 7 (1 111 112 states, 11 actions) peaks at about 1.3 GB and takes a few seconds
#: (P, R, names and the MDP's internal copies), so the limit stands at about 2.3 GB; pass
#: ``max_states`` to go further.
DEFAULT_MAX_STATES = 2_000_000

BOS_NAME = "<bos>"  #: state name of the empty prefix
END_NAME = "<end>"  #: state name of the terminal state


# ---------------------------------------------------------------------- sizes and layout
def _n_prefixes(V, L):
    """Exact sum_{l<L} V**l as a Python int, or None when it is astronomically large."""
    if V == 1:
        return L
    if L * math.log2(V) > 4096:
        return None
    return (V ** L - 1) // (V - 1)


def _check_size(V, L, max_states):
    """Number of states o(L) + 1, checked against max_states before anything is allocated."""
    n = _n_prefixes(V, L)
    if n is None or n + 1 > max_states:
        if n is None:
            got = f"about 10^{(L - 1) * math.log10(V):.0f}"
        elif n < 10 ** 30:
            got = f"{n + 1:,}" + (f" (about {n + 1:.2g})" if n >= 10 ** 9 else "")
        else:
            got = f"about {_scientific(n + 1)}"  # exact ints beyond float64 never go through float
        raise MDPValidationError(f"number of states must be at most max_states={max_states:,}; "
                                 f"got {got} for vocab size {V} and max_len {L} (sum of {V}**l "
                                 f"over l < {L} prefixes plus 1 terminal state); pass a larger "
                                 "max_states to build it anyway")
    return n + 1


def _scientific(n):
    """'1.2e+389' for a Python int of any size (float() would overflow)."""
    exponent = len(str(n)) - 1
    mantissa = int(str(n)[:3]) / 100
    return f"{mantissa:.2g}e+{exponent:02d}"


def _offsets(V, L):
    """o(l) = sum_{j<l} V**j for l = 0..L+1 (int64)."""
    sizes = [V ** j for j in range(L + 1)]
    return np.concatenate([[0], np.cumsum(sizes, dtype=np.int64)])


def _check_vocab(vocab: Any, eos: Any) -> tuple[tuple[Any, ...], dict[Any, int]]:
    if isinstance(vocab, str) or not isinstance(vocab, (Sequence, np.ndarray)):
        raise TypeError(f"vocab must be a sequence of tokens (e.g. a list of str); got "
                        f"{type(vocab).__name__}")
    vocab = tuple(vocab.tolist() if isinstance(vocab, np.ndarray) else vocab)
    if not vocab:
        raise MDPValidationError("vocab must contain at least one token; got an empty sequence")
    seen: dict[Any, int] = {}
    for k, token in enumerate(vocab):
        _check_hashable(token, "vocab tokens", "str or int", f" at position {k}")
        if token in seen:
            raise MDPValidationError(f"vocab tokens must be distinct; got {token!r} at positions "
                                     f"{seen[token]} and {k}")
        seen[token] = k
    _check_hashable(eos, "eos", "a str")
    if eos in seen:
        raise MDPValidationError(f"vocab must not contain eos={eos!r}; got it at position "
                                 f"{seen[eos]}")
    return vocab, seen


def _check_hashable(obj: Any, what: str, example: str, where: str = "") -> None:
    """A TypeError naming ``what`` (and ``where``) unless ``obj`` can key a dict."""
    try:
        hash(obj)
    except TypeError:
        raise TypeError(f"{what} must be hashable (e.g. {example}); got {obj!r} of type "
                        f"{type(obj).__name__}{where}") from None


def _level_tuples(vocab, n_levels):
    """Lists of all token tuples of length 0, 1, ..., n_levels-1, each in index order."""
    level = [()]
    for _ in range(n_levels):
        yield level
        level = [p + (t,) for p in level for t in vocab]


class _TokenTuples(Sequence):
    """Read-only sequence: index -> tuple of tokens, computed arithmetically on access."""

    def __init__(self, vocab, n, n_levels):
        self._vocab = vocab
        self._n = n
        self._n_levels = n_levels

    def __len__(self):
        return self._n

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(self._n))]
        i = operator.index(index)
        if i < 0:
            i += self._n
        if not 0 <= i < self._n:
            raise IndexError(f"index must be in 0..{self._n - 1}; got {index}")
        V, out = len(self._vocab), []
        while i > 0:
            i, t = divmod(i - 1, V)
            out.append(self._vocab[t])
        return tuple(reversed(out))

    def __iter__(self):
        count = 0
        for level in _level_tuples(self._vocab, self._n_levels):
            for item in level:
                if count == self._n:
                    return
                yield item
                count += 1

    def __repr__(self):
        head = ", ".join(repr(self[i]) for i in range(min(3, self._n)))
        return f"<{self._n} token tuples: {head}{', ...' if self._n > 3 else ''}>"


def sequence_ids(n_vocab: int, max_len: int, *,
                 max_states: int = DEFAULT_MAX_STATES) -> tuple[IntArray, IntArray]:
    r"""Token ids of every complete sequence, in sequence-index order.

    The table a vectorized reward model needs: compute ``r = f(ids, lengths)`` for all
    sequences at once and pass the array as ``reward`` to :class:`LanguageMDP`.

    Parameters
    ----------
    n_vocab : int
        Vocabulary size V.
    max_len : int
        Maximum sequence length L.
    max_states : int
        The state limit of :class:`LanguageMDP`, checked the same way (before allocation).

    Returns
    -------
    ids : ndarray of int64, shape (n_sequences, max_len)
        ``ids[j, :lengths[j]]`` are the token ids (indices into ``vocab``) of sequence j; the
        rest is -1. ``n_sequences`` = :math:`\sum_{l \le L} V^l`.
    lengths : ndarray of int64, shape (n_sequences,)

    Raises
    ------
    MDPValidationError
        When the language MDP would have more than ``max_states`` states.

    Examples
    --------
    >>> from mdptoolkit.language import sequence_ids
    >>> ids, lengths = sequence_ids(2, 2)
    >>> ids.tolist(), lengths.tolist()
    ([[-1, -1], [0, -1], [1, -1], [0, 0], [0, 1], [1, 0], [1, 1]], [0, 1, 1, 2, 2, 2, 2])
    """
    V = val.check_positive(n_vocab, "n_vocab", integer=True)
    L = val.check_positive(max_len, "max_len", integer=True)
    max_states = val.check_positive(max_states, "max_states", integer=True)
    _check_size(V, L, max_states)
    off = _offsets(V, L)
    n = int(off[L + 1])
    ids = np.full((n, L), -1, dtype=np.int64)
    lengths = np.empty(n, dtype=np.int64)
    lengths[0] = 0
    for l in range(1, L + 1):
        a, b = off[l], off[l + 1]
        lengths[a:b] = l
        ids[a:b, :l - 1] = np.repeat(ids[off[l - 1]:a, :l - 1], V, axis=0)
        ids[a:b, l - 1] = np.tile(np.arange(V), (b - a) // V)
    return ids, lengths
