r"""The toy language MDP of the command line and the tutorials: six words, a bigram reference
estimated from a tiny corpus, and a reward for one target sentence."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from ..exceptions import MDPValidationError
from ._layout import DEFAULT_MAX_STATES, _check_vocab, sequence_ids
from .model import LanguageMDP
from .reference import bigram_reference

TOY_VOCAB = ("the", "cat", "dog", "sat", "on", "mat")
TOY_CORPUS = (
    "the cat sat on the mat",
    "the dog sat on the mat",
    "the cat sat",
    "the dog sat",
)


def toy(*, max_len: int = 5, target: Sequence[str] = ("the", "cat", "sat"), bonus: float = 1.0,
        length_penalty: float = 0.1, smoothing: float = 0.1, vocab: Sequence[str] | None = None,
        corpus: Iterable[Sequence[str]] | None = None,
        max_states: int = DEFAULT_MAX_STATES) -> LanguageMDP:
    r"""The small default language MDP of the command line and the tutorials.

    Vocabulary ``("the", "cat", "dog", "sat", "on", "mat")``, sequences of at most ``max_len``
    tokens, and a reference model :math:`\pi_{ref}` = the add-0.1 bigram model
    (:func:`bigram_reference`) of the four sentences of :data:`TOY_CORPUS` ("the cat sat on
    the mat", "the dog sat on the mat", "the cat sat", "the dog sat"). The reward scores
    finished text like a small reward model:

    .. math::

        r(y) = \underbrace{\frac{1}{|y| + 1} \sum_{t=1}^{|y|+1}
               \log \pi_{ref}(y_t \mid y_{t-1})}_{\text{fluency}}
             + \text{bonus} \cdot [\text{target occurs in } y]
             - \text{length\_penalty} \cdot |y|,

    fluency being the mean log-probability of ``<bos> y eos`` under the bigram model, the
    bonus paid when the target phrase occurs contiguously. Rewards lie in about [-4.6, 0.12].

    With the defaults the unregularized optimum (value or policy iteration on ``lm.mdp``) is
    the sentence **"the cat sat"**, worth :math:`V^*(\text{empty prefix}) = r(\text{the cat
    sat}) \approx 0.1116` (fluency -0.5884, bonus 1, length penalty 0.3). The reference's own
    most likely sequence is "the mat" (probability 0.21: a bigram artifact of "on the mat"),
    with "the cat sat" second (0.095). With :math:`\beta > 0` the KL-regularized optimum is
    :math:`p^*(y) \propto \pi_{ref}(y) e^{r(y)/\beta}`: about 0.77 on "the cat sat" at
    :math:`\beta = 0.3`, while at :math:`\beta = 1` "the cat sat" and "the mat" share half the
    mass. A bigram policy (:func:`bigram_features`) cannot represent that tilt exactly, so it
    stops short of the regularized optimum.

    Parameters
    ----------
    max_len : int
        Maximum sequence length (default 5: 1556 states, 7 actions, 9331 sequences).
    target : sequence of str or str
        The phrase that earns ``bonus``.
    bonus, length_penalty : float
        Reward for the target phrase and cost per token.
    smoothing : float
        Add-``smoothing`` of the reference bigram model.
    vocab : sequence of str, optional
        Another vocabulary (default :data:`TOY_VOCAB`); the corpus keeps only its words.
    corpus : sequence of str, optional
        Another corpus for the reference bigram model (default :data:`TOY_CORPUS`).
    max_states : int
        As in :class:`LanguageMDP`.

    Returns
    -------
    LanguageMDP

    Examples
    --------
    >>> import mdptoolkit as mt
    >>> from mdptoolkit.language import toy
    >>> lm = toy()
    >>> lm
    LanguageMDP(vocab=6 tokens, max_len=5, n_states=1556, n_actions=7, n_sequences=9331)
    >>> best = mt.policy_iteration(lm.mdp)
    >>> lm.top_sequences(best.policy, 1)
    [(('the', 'cat', 'sat'), 1.0)]
    >>> round(float(best.V[0]), 4), round(lm.reward_of("the cat sat"), 4)
    (0.1116, 0.1116)
    >>> [(" ".join(y), round(p, 3)) for y, p in lm.top_sequences(lm.reference_policy, 2)]
    [('the mat', 0.213), ('the cat sat', 0.095)]
    """
    vocab = TOY_VOCAB if vocab is None else _check_vocab(vocab, "<eos>")[0]
    words = set(vocab)
    sentences = [" ".join(w for w in (s.split() if isinstance(s, str) else s) if w in words)
                 for s in (TOY_CORPUS if corpus is None else corpus)]
    table = bigram_reference([s for s in sentences if s] or [""], vocab, smoothing=smoothing)
    V = len(vocab)
    if isinstance(target, str):
        target = target.split()
    unknown = [t for t in target if t not in vocab]
    if unknown or not target:
        raise MDPValidationError(f"target must be a non-empty phrase of words from {vocab}; got "
                                 f"{tuple(target)!r}")
    target_ids = np.array([vocab.index(t) for t in target], dtype=np.int64)
    ids, lengths = sequence_ids(V, max_len, max_states=max_states)
    n, L = ids.shape
    # <bos> y eos as (context, next) pairs; positions t <= |y| are real
    ctx = np.concatenate([np.full((n, 1), V), ids], axis=1)
    nxt = np.concatenate([ids, np.full((n, 1), -1)], axis=1)
    nxt[np.arange(n), lengths] = V
    real = np.arange(L + 1)[None, :] <= lengths[:, None]
    logp = np.where(real, np.log(table[np.where(real, ctx, 0), np.where(real, nxt, 0)]), 0.0)
    fluency = logp.sum(axis=1) / (lengths + 1)
    k = target_ids.size
    hit = np.zeros(n, dtype=bool)
    for start in range(L - k + 1):
        hit |= (ids[:, start:start + k] == target_ids).all(axis=1)
    reward = fluency + bonus * hit - length_penalty * lengths
    return LanguageMDP(vocab, max_len, reward, reference=table, max_states=max_states)
