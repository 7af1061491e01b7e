r"""Reference models and features for the language MDP: a smoothed bigram model estimated from a
corpus, and the bigram one-hot features of a :class:`~mdptoolkit.LogLinear` policy."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp

from .. import _validation as val
from .._typing import FloatArray
from ..exceptions import MDPValidationError
from . import _inputs
from ._layout import BOS_NAME, _check_vocab
from .model import LanguageMDP


def _sentences(corpus):
    if isinstance(corpus, str) or not isinstance(corpus, (Sequence, np.ndarray)):
        raise TypeError(f"corpus must be a sequence of sentences (str or token lists); got "
                        f"{type(corpus).__name__}")
    out = []
    for k, sentence in enumerate(corpus):
        if isinstance(sentence, str):
            out.append(sentence.split())
        elif isinstance(sentence, (Sequence, np.ndarray)):
            out.append(list(sentence))
        else:
            raise TypeError(f"corpus sentences must be str or sequences of tokens; got "
                            f"{type(sentence).__name__} at position {k}")
    return out


def bigram_reference(corpus: Iterable[Sequence[Any]], vocab: Sequence[Any] | None = None, *,
                     smoothing: float = 1.0, eos: Any = "<eos>") -> FloatArray:
    r"""A Laplace-smoothed bigram language model, as the table :class:`LanguageMDP` takes.

    Every sentence is read as ``<bos> w_1 ... w_n eos``; with :math:`c(i, j)` the number of
    times action j follows context i,

    .. math::

        \pi_{ref}(j \mid i) = \frac{c(i, j) + \alpha}{\sum_{j'} c(i, j') + \alpha (V + 1)} .

    Parameters
    ----------
    corpus : sequence of str or of token sequences
        Sentences; a str is split on whitespace. They must not contain ``eos`` (it is added).
    vocab : sequence, optional
        The vocabulary; default the corpus tokens in order of first appearance,
        ``list(dict.fromkeys(token for sentence in corpus for token in sentence))``.
    smoothing : float
        Add-:math:`\alpha` (Laplace) smoothing, :math:`\alpha \ge 0`. With 0, every context must
        occur in the corpus.
    eos : hashable
        The end-of-sequence symbol (only checked to be absent from vocab and corpus).

    Returns
    -------
    ndarray, shape (V + 1, V + 1)
        Row ``i < V``: context "last token is ``vocab[i]``"; row ``V``: the empty prefix
        (beginning of sentence). Column ``j < V``: next token ``vocab[j]``; column ``V``: eos.
        Rows sum to 1.

    Raises
    ------
    MDPValidationError
        For a corpus token outside ``vocab`` or equal to eos, a negative smoothing, or
        smoothing 0 with a context that never occurs.

    Examples
    --------
    >>> from mdptoolkit.language import bigram_reference
    >>> table = bigram_reference(["a b", "a"], smoothing=0.0)   # vocab (a, b)
    >>> table   # rows: after a, after b, <bos>; columns: a, b, eos
    array([[0. , 0.5, 0.5],
           [0. , 0. , 1. ],
           [1. , 0. , 0. ]])
    """
    sentences = _sentences(corpus)
    for k, sentence in enumerate(sentences):
        if any(token == eos for token in sentence):
            raise MDPValidationError(f"corpus must not contain eos (it is added); got {eos!r} in "
                                     f"sentence {k}")
    if vocab is None:
        vocab = list(dict.fromkeys(token for sentence in sentences for token in sentence))
    vocab, ids = _check_vocab(vocab, eos)
    smoothing = val.check_positive(smoothing, "smoothing", allow_zero=True)
    V = len(vocab)
    ctx, nxt = [], []
    for k, sentence in enumerate(sentences):
        try:
            tokens = [ids[t] for t in sentence]
        except (KeyError, TypeError):
            bad = next(t for t in sentence if t not in ids)
            raise MDPValidationError(f"corpus tokens must be in vocab; got {bad!r} in "
                                     f"sentence {k}") from None
        ctx += [V] + tokens
        nxt += tokens + [V]
    counts = np.zeros((V + 1, V + 1))
    np.add.at(counts, (np.asarray(ctx, dtype=np.int64), np.asarray(nxt, dtype=np.int64)), 1.0)
    totals = counts.sum(axis=1, keepdims=True) + smoothing * (V + 1)
    if (totals == 0).any():
        i = int(np.argmax(totals[:, 0] == 0))
        context = repr(vocab[i]) if i < V else BOS_NAME
        raise MDPValidationError("smoothing must be > 0 when a context never occurs in the "
                                 f"corpus; got smoothing=0 and no token after {context}")
    return (counts + smoothing) / totals


def bigram_features(lm: LanguageMDP, *, sparse: bool = False) -> Any:
    r"""Features of a *bigram policy*: one that sees only the last token (and the action).

    :math:`\phi(s, a)` is the one-hot vector of the pair (context of s, a), the context being
    the last token of the prefix or ``<bos>`` for the empty prefix; feature index
    ``context * A + a`` with the context numbered as the rows of :func:`bigram_reference`.
    A log-linear policy :math:`\pi_\theta(a \mid s) \propto \exp(\theta^\top \phi(s, a))` on
    them is a bigram model: it must act alike in every state with the same last token, so
    its best member generally falls short of the DP optimum (always for the KL-regularized
    toy objective) — a restricted policy class with a visible gap. The terminal state gets
    zero features.

    Parameters
    ----------
    lm : LanguageMDP
    sparse : bool
        Return a scipy CSR array of shape (S*A, d), row ``s*A + a``, instead of a dense
        (S, A, d) array (the dense form has S·A·d entries: use sparse beyond toy sizes).

    Returns
    -------
    ndarray (S, A, d) or scipy.sparse.csr_array (S*A, d)
        With d = (V + 1)·A, for :class:`mdptoolkit.LogLinear`.

    Examples
    --------
    >>> from mdptoolkit.language import LanguageMDP, bigram_features
    >>> lm = LanguageMDP(["a", "b"], 3, lambda y: 0.0)
    >>> F = bigram_features(lm)
    >>> F.shape   # S = 1 + 2 + 4 prefixes + terminal, A = 3, d = 3 * 3
    (8, 3, 9)
    >>> bool((F[lm.state_of("a")] == F[lm.state_of("b a")]).all())   # same last token
    True
    >>> bigram_features(lm, sparse=True).shape
    (24, 9)
    """
    if not isinstance(lm, LanguageMDP):
        raise TypeError(f"lm must be a LanguageMDP; got {type(lm).__name__}")
    S, A = lm.mdp.n_states, lm.mdp.n_actions
    d = (len(lm.vocab) + 1) * A
    N = S - 1
    rows = np.arange(N * A)
    cols = (_inputs.contexts(lm)[:N, None] * A + np.arange(A)).ravel()
    if sparse:
        indptr = np.concatenate([np.arange(N * A + 1), np.full(A, N * A)])
        return sp.csr_array((np.ones(N * A), cols, indptr), shape=(S * A, d))
    F = np.zeros((S * A, d))
    F[rows, cols] = 1.0
    return F.reshape(S, A, d)
