r"""The language MDP: text generation as a finite MDP, small enough to solve exactly.

RL fine-tuning of a language model is an MDP in disguise, and with a tiny vocabulary it is a
finite one:

==================  ============================================================================
MDP                 text generation
==================  ============================================================================
state :math:`s`     an unfinished prefix :math:`y_{<t}` (a tuple of tokens, length 0 .. L−1),
                    plus one absorbing terminal state
action :math:`a`    the next token: one of ``vocab`` or ``eos`` (``actions = vocab + [eos]``)
transition          deterministic: append the token. Choosing ``eos``, or a token at length
                    L−1, *completes* the sequence :math:`y` (``eos`` is not part of it) and
                    moves to the terminal state
reward              :math:`r(y)`, the score of the finished text by a reward model, earned on
                    the completing step (plus an optional per-token reward on every step)
policy :math:`\pi`  the language model being tuned, :math:`\pi(y) = \prod_t \pi(y_t \mid y_{<t})`
                    (times :math:`\pi(\mathrm{eos} \mid y)` when :math:`|y| < L`)
==================  ============================================================================

with :math:`\gamma = 1`, :math:`\mu` on the empty prefix and L = ``max_len``. Every policy
reaches the terminal state within L steps, so the chain is acyclic and exact evaluation is a
linear-time back substitution.

As in RL fine-tuning of LLMs (Ziegler et al. 2019; Ouyang et al. 2022), the objective is
usually regularized by the KL divergence to a reference model :math:`\pi_{ref}` with
temperature :math:`\beta > 0`. Because transitions are deterministic, the per-step KL terms
add up to the sequence-level KL, and the exact optimum is the reference tilted by the reward
(Korbak, Perez & Buckley 2022; Rafailov et al. 2023):

.. math::

    \max_\pi \; \mathbb E_{y \sim \pi}[r(y)] - \beta\,\mathrm{KL}(\pi \,\|\, \pi_{ref})
    \quad\Longrightarrow\quad
    p^*(y) = \frac{\pi_{ref}(y)\, e^{r(y)/\beta}}{Z}, \qquad
    Z = \sum_y \pi_{ref}(y)\, e^{r(y)/\beta}, \qquad V^*(\text{empty prefix}) = \beta \log Z .

:func:`~mdptoolkit.soft_value_iteration` with ``reference=lm.reference_policy`` computes it;
with ``token_reward`` given, :math:`r(y)` is the total reward along :math:`y`.

State layout. With V = ``len(vocab)`` and :math:`o(l) = \sum_{j<l} V^j`, the prefix
:math:`(y_1, \dots, y_l)` with token ids :math:`i_1, \dots, i_l` has state index
:math:`o(l) + \sum_k i_k V^{l-k}` (its level offset plus its token ids read as a base-V number),
so the children of state :math:`s` are the contiguous block :math:`Vs + 1 + t`, its parent is
:math:`\lfloor (s-1)/V \rfloor` and its last token :math:`(s-1) \bmod V`. The
:math:`o(L)` prefixes are followed by the terminal state, index :math:`o(L)`. Complete
sequences (length 0..L) are numbered the same way — the *sequence index*
:meth:`LanguageMDP.sequence_index`, :math:`0 .. o(L+1)-1` — so a sequence y shorter than L
has the same index as the state whose prefix is y (the one where eos completes it).

References
----------
Ziegler, D. M. et al. (2019). Fine-tuning language models from human preferences. arXiv:1909.08593.
Ouyang, L. et al. (2022). Training language models to follow instructions with human feedback.
NeurIPS.
Korbak, T., Perez, E. & Buckley, C. L. (2022). RL with KL penalties is better viewed as Bayesian
inference. Findings of EMNLP.
Rafailov, R. et al. (2023). Direct preference optimization. NeurIPS.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp

from . import _validation as val
from .mdp import MDP

__all__ = ["LanguageMDP", "bigram_reference", "bigram_features", "sequence_ids", "toy",
           "DEFAULT_MAX_STATES"]

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
        else:
            got = f"{n + 1:,}" + (f" (about {n + 1:.2g})" if n >= 10 ** 9 else "")
        raise ValueError(
            f"number of states must be at most max_states={max_states:,}; got {got} for vocab size "
            f"{V} and max_len {L} (sum of {V}**l over l < {L} prefixes plus 1 terminal state); "
            f"pass a larger max_states to build it anyway")
    return n + 1


def _offsets(V, L):
    """o(l) = sum_{j<l} V**j for l = 0..L+1 (int64)."""
    sizes = [V ** j for j in range(L + 1)]
    return np.concatenate([[0], np.cumsum(sizes, dtype=np.int64)])


def _check_vocab(vocab, eos):
    if isinstance(vocab, str) or not isinstance(vocab, (Sequence, np.ndarray)):
        raise TypeError(f"vocab must be a sequence of tokens (e.g. a list of str); got "
                        f"{type(vocab).__name__}")
    vocab = tuple(vocab.tolist() if isinstance(vocab, np.ndarray) else vocab)
    if not vocab:
        raise ValueError("vocab must contain at least one token; got an empty sequence")
    seen = {}
    for k, token in enumerate(vocab):
        if token in seen:
            raise ValueError(f"vocab tokens must be distinct; got {token!r} at positions "
                             f"{seen[token]} and {k}")
        seen[token] = k
    if eos in seen:
        raise ValueError(f"vocab must not contain eos={eos!r}; got it at position {seen[eos]}")
    return vocab, seen


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


def sequence_ids(n_vocab, max_len, *, max_states=DEFAULT_MAX_STATES):
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
    ValueError
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


# ---------------------------------------------------------------------- the MDP
class LanguageMDP:
    r"""Text generation as an MDP: prefixes are states, next tokens are actions.

    Parameters
    ----------
    vocab : sequence of hashable
        The tokens (usually str), distinct; ``eos`` must not be among them. Token ids are
        positions in ``vocab``.
    max_len : int
        Maximum length L >= 1 of a generated sequence; at length L−1 any token completes it.
    reward : callable or array_like
        The reward model. Either a callable ``reward(y) -> float`` on the tuple of tokens of a
        complete sequence (called exactly once per complete sequence, in sequence-index order;
        there are :math:`\sum_{l \le L} V^l` of them), or an array of shape (n_sequences,)
        giving :math:`r(y)` by sequence index — the fast way for a vectorized reward model,
        with the token ids from :func:`sequence_ids`.
    eos : hashable
        The end-of-sequence action, appended to ``vocab`` as the last action.
    reference : None, callable or array_like, optional
        The reference language model :math:`\pi_{ref}`, in one of four forms:

        - ``None``: uniform over the V+1 actions;
        - a callable ``reference(prefix) -> probabilities`` over ``actions`` (length V+1),
          called once per prefix;
        - an (S, A) array: row s is :math:`\pi_{ref}(\cdot \mid \text{prefix } s)`; its last
          (terminal) row is ignored;
        - a **bigram table** of shape (V+1, A), as :func:`bigram_reference` returns: row
          ``i < V`` is the next-action distribution after the last token ``vocab[i]``, row
          ``V`` the one for the empty prefix; column ``j < V`` is ``vocab[j]``, column V is eos.

        (The two array shapes coincide only for V = 1, max_len = 1, where the (S, A) reading
        wins.) Rows must be non-negative and sum to 1 within 1e-9.
    token_reward : callable or array_like, optional
        Per-step reward added on every step, the completing one included: a callable
        ``token_reward(prefix, token)`` (``token`` in ``actions``; called once per prefix and
        action) or an (S, A) array by state and action (terminal row ignored).
    max_states : int
        Refuse to build more states than this (default :data:`DEFAULT_MAX_STATES`); the count
        :math:`\sum_{l<L} V^l + 1` is computed arithmetically, before any allocation.

    Attributes
    ----------
    mdp : MDP
        Sparse transitions (S*A, S), :math:`\gamma = 1`, ``mu`` on the empty prefix,
        ``terminal`` on the last state. ``state_names`` are the prefix texts joined by spaces
        (``"<bos>"`` for the empty prefix, ``"<end>"`` for the terminal state);
        ``action_names`` the str of each action.
    vocab, eos, max_len
    actions : tuple
        ``vocab + (eos,)``; action ``j`` appends ``actions[j]``.
    prefixes : sequence of tuple
        ``prefixes[s]`` is the prefix of state s, for the ``len(prefixes) = S - 1`` non-terminal
        states (computed on access).
    terminal_state : int
        Index of the terminal state, ``S - 1``.
    sequences : sequence of tuple
        Every complete sequence, by sequence index (computed on access).
    rewards : ndarray (n_sequences,)
        :math:`r(y)` by sequence index (read-only).
    reference_policy : ndarray (S, A)
        :math:`\pi_{ref}` per state (read-only; uniform at the terminal state): pass it as
        ``reference=`` to the soft solvers and gradient methods.

    Raises
    ------
    ValueError
        When the state count exceeds ``max_states``, the vocabulary is empty or repeats a token
        or contains eos, a reward is not finite, or a reference row is not a distribution.
    TypeError
        When ``vocab`` is not a sequence or ``reward`` returns something that is not a number.

    See Also
    --------
    bigram_reference, bigram_features, toy, soft_value_iteration

    Examples
    --------
    Two words, sequences of at most 2 tokens, reward 1 for "hi there":

    >>> import mdptoolkit as mt
    >>> from mdptoolkit.language import LanguageMDP
    >>> lm = LanguageMDP(["hi", "there"], 2, lambda y: float(y == ("hi", "there")))
    >>> lm.mdp
    MDP(n_states=4, n_actions=3, gamma=1, sparse, 1 terminal state)
    >>> lm.actions, list(lm.prefixes), lm.state_of(("there",))
    (('hi', 'there', '<eos>'), [(), ('hi',), ('there',)], 2)
    >>> best = mt.policy_iteration(lm.mdp)
    >>> lm.top_sequences(best.policy, 1)
    [(('hi', 'there'), 1.0)]

    The KL-regularized optimum is the reference tilted by exp(r / beta):

    >>> import numpy as np
    >>> soft = mt.soft_value_iteration(lm.mdp, 0.5, reference=lm.reference_policy)
    >>> p = lm.sequence_probabilities(soft.policy)
    >>> bool(np.isclose(p[("hi", "there")] / p[("hi",)], np.exp(1 / 0.5)))
    True
    """

    def __init__(self, vocab, max_len, reward, *, eos="<eos>", reference=None, token_reward=None,
                 max_states=DEFAULT_MAX_STATES):
        vocab, ids = _check_vocab(vocab, eos)
        L = val.check_positive(max_len, "max_len", integer=True)
        max_states = val.check_positive(max_states, "max_states", integer=True)
        V = len(vocab)
        S = _check_size(V, L, max_states)  # before any allocation
        A = V + 1
        self._vocab, self._ids, self._eos, self._max_len = vocab, ids, eos, L
        self._actions = vocab + (eos,)
        self._off = _offsets(V, L)
        self._n_states, self._n_actions = S, A
        N = S - 1
        self._n_sequences = int(self._off[L + 1])
        self._prefixes = _TokenTuples(vocab, N, L)
        self._sequences = _TokenTuples(vocab, self._n_sequences, L + 1)

        self._rewards = val.freeze(self._sequence_rewards(reward))
        self._reference = val.freeze(self._reference_matrix(reference))
        R = self._token_rewards(token_reward)
        R[:N, V] += self._rewards[:N]  # eos completes y = prefix
        R[self._off[L - 1]:N, :V] += self._rewards[N:].reshape(-1, V)  # last token completes

        # deterministic successors: child V*s + 1 + t below level L-1, else the terminal state
        inner = int(self._off[L - 1])
        nxt = np.full((S, A), N, dtype=np.int64)
        nxt[:inner, :V] = V * np.arange(inner)[:, None] + 1 + np.arange(V)
        P = sp.csr_array((np.ones(S * A), nxt.ravel(), np.arange(S * A + 1)), shape=(S * A, S))
        mu = np.zeros(S)
        mu[0] = 1.0
        terminal = np.zeros(S, dtype=bool)
        terminal[N] = True
        self._mdp = MDP(P, R, 1.0, mu=mu, terminal=terminal, state_names=self._state_names(),
                        action_names=[str(a) for a in self._actions])

    # ------------------------------------------------------------------ construction helpers
    def _state_names(self):
        L = self._max_len
        words = np.array([str(t) for t in self._vocab], dtype=object)
        levels = [np.array([BOS_NAME], dtype=object)]
        if L > 1:
            levels.append(words)
        spaced = " " + words
        for _ in range(2, L):
            levels.append((levels[-1][:, None] + spaced[None, :]).ravel())
        levels.append(np.array([END_NAME], dtype=object))
        return np.concatenate(levels)

    def _describe(self, index, what="prefix"):
        return f"{what} {self._sequences[index]!r} (index {index})"

    def _sequence_rewards(self, reward):
        n = self._n_sequences
        if callable(reward):
            out = np.empty(n)
            for j, y in enumerate(self._sequences):
                out[j] = _as_real(reward(y), "reward", lambda: f"sequence {y!r}")
        elif isinstance(reward, (str, bytes)) or not isinstance(reward, (Sequence, np.ndarray)):
            raise TypeError(f"reward must be a callable on token tuples or an array of shape "
                            f"({n},); got {type(reward).__name__}")
        else:
            out = val.as_float_array(reward, "reward", allow_neg_inf=True)
            if out.shape != (n,):
                raise ValueError(f"reward must have shape ({n},) (one value per complete sequence, "
                                 f"by sequence index); got {out.shape}")
        bad = ~np.isfinite(out)
        if bad.any():
            j = int(np.argmax(bad))
            raise ValueError(f"reward must be finite; got {val.fmt_num(out[j])} for "
                             f"{self._describe(j, 'sequence')} ({int(bad.sum())} such sequences)")
        return out

    def _token_rewards(self, token_reward):
        S, A = self._n_states, self._n_actions
        N = S - 1
        R = np.zeros((S, A))
        if token_reward is None:
            return R
        if callable(token_reward):
            for s, prefix in enumerate(self._prefixes):
                for a, token in enumerate(self._actions):
                    R[s, a] = _as_real(token_reward(prefix, token), "token_reward",
                                       lambda: f"token {token!r} after {self._describe(s)}")
        else:
            R[:] = val.as_float_array(token_reward, "token_reward", shape=(S, A))
            R[N] = 0.0
        bad = ~np.isfinite(R[:N])
        if bad.any():
            s, a = np.argwhere(bad)[0]
            raise ValueError(f"token_reward must be finite; got {val.fmt_num(R[s, a])} for token "
                             f"{self._actions[a]!r} after {self._describe(s)}")
        return R

    def _contexts(self):
        """Bigram context of each state: id of its last token, V for the empty prefix and the
        terminal state."""
        V, S = len(self._vocab), self._n_states
        ctx = np.full(S, V, dtype=np.int64)
        ctx[1:S - 1] = (np.arange(1, S - 1) - 1) % V
        return ctx

    def _reference_matrix(self, reference):
        S, A, V = self._n_states, self._n_actions, len(self._vocab)
        N = S - 1
        ref = np.empty((S, A))
        if reference is None:
            ref[:] = 1.0 / A
            return ref
        if callable(reference):
            for s, prefix in enumerate(self._prefixes):
                row = np.asarray(reference(prefix), dtype=np.float64)
                if row.shape != (A,):
                    raise ValueError(f"reference(prefix) must return {A} probabilities (one per "
                                     f"action); got shape {row.shape} for {self._describe(s)}")
                ref[s] = row
        else:
            table = val.as_float_array(reference, "reference")
            if table.shape == (S, A):
                ref[:N] = table[:N]
            elif table.shape == (V + 1, A):
                _check_rows(table, lambda i: f"bigram row {i} (after "
                            f"{repr(self._vocab[i]) if i < V else BOS_NAME})", "reference")
                ref[:] = table[self._contexts()]
            else:
                raise ValueError(f"reference must have shape ({S}, {A}) (per state) or "
                                 f"({V + 1}, {A}) (bigram table); got {table.shape}")
        ref[N] = 1.0 / A
        _check_rows(ref[:N], self._describe, "reference")
        return ref

    # ------------------------------------------------------------------ attributes
    @property
    def mdp(self):
        """The :class:`~mdptoolkit.MDP` (sparse, :math:`\\gamma = 1`)."""
        return self._mdp

    @property
    def vocab(self):
        """The tokens, a tuple."""
        return self._vocab

    @property
    def eos(self):
        """The end-of-sequence action (last in :attr:`actions`)."""
        return self._eos

    @property
    def max_len(self):
        """Maximum sequence length L."""
        return self._max_len

    @property
    def actions(self):
        """``vocab + (eos,)``: action j appends ``actions[j]``."""
        return self._actions

    @property
    def prefixes(self):
        """State index -> prefix tuple, for the non-terminal states."""
        return self._prefixes

    @property
    def terminal_state(self):
        """Index of the absorbing terminal state (the last one)."""
        return self._n_states - 1

    @property
    def sequences(self):
        """Sequence index -> complete sequence (tuple), for all of them."""
        return self._sequences

    @property
    def rewards(self):
        """:math:`r(y)` by sequence index, read-only."""
        return self._rewards

    @property
    def reference_policy(self):
        r""":math:`\pi_{ref}` as an (S, A) array, read-only (uniform at the terminal state)."""
        return self._reference

    def __repr__(self):
        return (f"LanguageMDP(vocab={len(self._vocab)} tokens, max_len={self._max_len}, "
                f"n_states={self._n_states}, n_actions={self._n_actions}, "
                f"n_sequences={self._n_sequences})")

    # ------------------------------------------------------------------ indexing
    def _token_ids(self, tokens, what):
        if isinstance(tokens, str):
            tokens = tokens.split()
        elif not isinstance(tokens, (Sequence, np.ndarray)):
            raise TypeError(f"{what} must be a tuple of tokens or a whitespace-separated str; "
                            f"got {type(tokens).__name__}")
        out = []
        for k, token in enumerate(tokens):
            try:
                out.append(self._ids[token])
            except (KeyError, TypeError):
                if token == self._eos:
                    raise ValueError(f"{what} must not contain eos={self._eos!r} (it ends a "
                                     f"sequence and is not part of it); got it at position {k}"
                                     ) from None
                raise ValueError(f"{what} tokens must be in vocab; got {token!r} at position "
                                 f"{k}") from None
        return out

    def _index(self, ids):
        V, i = len(self._vocab), 0
        for t in ids:
            i = V * i + 1 + t
        return i

    def state_of(self, prefix):
        r"""State index of a prefix (arithmetic, no lookup table).

        Parameters
        ----------
        prefix : sequence of tokens or str
            Tokens from ``vocab``, fewer than ``max_len`` of them; a str is split on whitespace.

        Returns
        -------
        int

        Raises
        ------
        ValueError
            For a token outside ``vocab`` (or eos), or a prefix of length ``max_len`` or more.

        Examples
        --------
        >>> from mdptoolkit.language import LanguageMDP
        >>> lm = LanguageMDP(["a", "b"], 3, lambda y: 0.0)
        >>> lm.state_of(()), lm.state_of(("b", "a")), lm.state_of("b a"), lm.prefixes[5]
        (0, 5, 5, ('b', 'a'))
        """
        ids = self._token_ids(prefix, "prefix")
        if len(ids) >= self._max_len:
            raise ValueError(f"prefix length must be at most max_len - 1 = {self._max_len - 1}; "
                             f"got {len(ids)} (a sequence of length max_len is complete)")
        return self._index(ids)

    def sequence_index(self, y):
        r"""Index of a complete sequence in :attr:`sequences` and :attr:`rewards`.

        Equal to :meth:`state_of` for sequences shorter than ``max_len``.

        Examples
        --------
        >>> from mdptoolkit.language import LanguageMDP
        >>> lm = LanguageMDP(["a", "b"], 2, lambda y: len(y))
        >>> j = lm.sequence_index(("b", "b")); j, lm.sequences[j], float(lm.rewards[j])
        (6, ('b', 'b'), 2.0)
        """
        ids = self._token_ids(y, "sequence")
        if len(ids) > self._max_len:
            raise ValueError(f"sequence length must be at most max_len = {self._max_len}; "
                             f"got {len(ids)}")
        return self._index(ids)

    def reward_of(self, y):
        """:math:`r(y)` of a complete sequence (a tuple of tokens or a str).

        Examples
        --------
        >>> from mdptoolkit.language import LanguageMDP
        >>> LanguageMDP(["a", "b"], 2, lambda y: len(y)).reward_of("a b")
        2.0
        """
        return float(self._rewards[self.sequence_index(y)])

    # ------------------------------------------------------------------ distributions
    def sequence_probability_array(self, policy):
        r"""Probability of every complete sequence under a policy, by sequence index.

        Computed level by level: the probability of reaching each prefix is its parent's times
        :math:`\pi(\text{token} \mid \text{parent})` (one vectorized product per length), and
        :math:`p(y) = \Pr(\text{reach } y)\,\pi(\mathrm{eos} \mid y)` for :math:`|y| < L`,
        :math:`\Pr(\text{reach } y)` for :math:`|y| = L`.

        Parameters
        ----------
        policy : array_like
            Deterministic int (S,) or stochastic (S, A).

        Returns
        -------
        ndarray (n_sequences,)
            Aligned with :attr:`sequences`; sums to 1.

        Examples
        --------
        >>> import numpy as np
        >>> from mdptoolkit.language import LanguageMDP
        >>> lm = LanguageMDP(["a"], 2, lambda y: 0.0)   # sequences (), (a,), (a, a)
        >>> lm.sequence_probability_array(lm.reference_policy)   # uniform over {a, eos}
        array([0.5 , 0.25, 0.25])
        """
        pi = val.as_policy_matrix(self._mdp, policy)
        V, L, off = len(self._vocab), self._max_len, self._off
        N = self._n_states - 1
        reach = np.empty(self._n_sequences)
        reach[0] = 1.0
        for l in range(L):
            a, b, c = off[l], off[l + 1], off[l + 2]
            reach[b:c] = (reach[a:b, None] * pi[a:b, :V]).ravel()
        reach[:N] *= pi[:N, V]
        return reach

    def sequence_probabilities(self, policy):
        r"""Exact probability of every complete sequence: ``{tuple: probability}``.

        See :meth:`sequence_probability_array` (the same numbers as an array).

        Examples
        --------
        >>> import numpy as np
        >>> from mdptoolkit.language import LanguageMDP
        >>> lm = LanguageMDP(["a", "b"], 1, lambda y: 0.0)
        >>> lm.sequence_probabilities(np.array([[0.5, 0.3, 0.2], [1/3, 1/3, 1/3]]))
        {(): 0.2, ('a',): 0.5, ('b',): 0.3}
        """
        p = self.sequence_probability_array(policy)
        return dict(zip(self._sequences, p.tolist()))

    def top_sequences(self, policy, k=10):
        r"""The ``k`` most likely complete sequences, most likely first.

        Ties are broken by sequence index (shorter first); sequences of probability 0 are
        left out, so fewer than ``k`` may be returned.

        Returns
        -------
        list of (tuple, float)

        Examples
        --------
        >>> from mdptoolkit.language import LanguageMDP
        >>> lm = LanguageMDP(["a"], 2, lambda y: 0.0)
        >>> lm.top_sequences(lm.reference_policy, 2)
        [((), 0.5), (('a',), 0.25)]
        """
        k = val.check_positive(k, "k", integer=True)
        p = self.sequence_probability_array(policy)
        order = np.argsort(-p, kind="stable")[:k]
        order = order[p[order] > 0]
        return [(self._sequences[int(j)], float(p[j])) for j in order]

    def sample(self, policy, n, seed=None):
        r"""Draw ``n`` complete sequences from a policy (vectorized across the samples).

        Parameters
        ----------
        policy : array_like
            Deterministic int (S,) or stochastic (S, A).
        n : int
            Number of samples.
        seed : int, numpy.random.Generator or None
            The same seed gives the same samples.

        Returns
        -------
        list of tuple

        Examples
        --------
        >>> from mdptoolkit.language import LanguageMDP
        >>> lm = LanguageMDP(["a", "b"], 3, lambda y: 0.0)
        >>> samples = lm.sample(lm.reference_policy, 4, seed=0)
        >>> len(samples), samples == lm.sample(lm.reference_policy, 4, seed=0)
        (4, True)
        """
        pi = val.as_policy_matrix(self._mdp, policy)
        n = val.check_positive(n, "n", integer=True, allow_zero=True)
        rng = val.default_rng(seed)
        V, L, A = len(self._vocab), self._max_len, self._n_actions
        last_positive = A - 1 - np.argmax(pi[:, ::-1] > 0, axis=1)
        state = np.zeros(n, dtype=np.int64)
        ids = np.full((n, L), -1, dtype=np.int64)
        lengths = np.full(n, L, dtype=np.int64)
        active = np.arange(n)
        for l in range(L):
            s = state[active]
            cdf = np.cumsum(pi[s], axis=1)
            u = rng.random(active.size) * cdf[:, -1]
            a = np.minimum((cdf <= u[:, None]).sum(axis=1), last_positive[s])  # inverse CDF
            stop = a == V
            lengths[active[stop]] = l
            active, a = active[~stop], a[~stop]
            ids[active, l] = a
            state[active] = V * state[active] + 1 + a
        vocab = self._vocab
        return [tuple(vocab[t] for t in row[:m]) for row, m in zip(ids.tolist(), lengths.tolist())]


def _as_real(value, name, where):
    """float(value), or a TypeError naming ``where()`` (None and str are not numbers)."""
    if value is None or isinstance(value, (str, bytes)):
        raise TypeError(f"{name} must return a real number; got {type(value).__name__} for "
                        f"{where()}")
    try:
        return float(value)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{name} must return a real number; got {type(value).__name__} for "
                        f"{where()}") from err


def _check_rows(table, describe, name):
    """Rows must be finite, non-negative and sum to 1 (rtol 1e-9)."""
    bad_value = ~np.isfinite(table) | (table < 0)
    if bad_value.any():
        i, j = np.argwhere(bad_value)[0]
        raise ValueError(f"{name} probabilities must be finite and >= 0; got "
                         f"{val.fmt_num(table[i, j])} in column {j} of {describe(int(i))}")
    err = val.row_sum_error(table.sum(axis=1), np.ones(table.shape[0], dtype=bool))
    if err is not None:
        i, total, n_bad, _ = err
        raise ValueError(f"{name} rows must sum to 1 (rtol={val.ROW_SUM_RTOL:g}); got "
                         f"{val.fmt_num(total)} for {describe(i)} ({n_bad} bad rows)")


# ---------------------------------------------------------------------- bigram models
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


def bigram_reference(corpus, vocab=None, *, smoothing=1.0, eos="<eos>"):
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
    ValueError
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
            raise ValueError(f"corpus must not contain eos (it is added); got {eos!r} in "
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
            raise ValueError(f"corpus tokens must be in vocab; got {bad!r} in sentence {k}"
                             ) from None
        ctx += [V] + tokens
        nxt += tokens + [V]
    counts = np.zeros((V + 1, V + 1))
    np.add.at(counts, (np.asarray(ctx, dtype=np.int64), np.asarray(nxt, dtype=np.int64)), 1.0)
    totals = counts.sum(axis=1, keepdims=True) + smoothing * (V + 1)
    if (totals == 0).any():
        i = int(np.argmax(totals[:, 0] == 0))
        context = repr(vocab[i]) if i < V else BOS_NAME
        raise ValueError(f"smoothing must be > 0 when a context never occurs in the corpus; got "
                         f"smoothing=0 and no token after {context}")
    return (counts + smoothing) / totals


def bigram_features(lm, *, sparse=False):
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
    cols = (lm._contexts()[:N, None] * A + np.arange(A)).ravel()
    if sparse:
        indptr = np.concatenate([np.arange(N * A + 1), np.full(A, N * A)])
        return sp.csr_array((np.ones(N * A), cols, indptr), shape=(S * A, d))
    F = np.zeros((S * A, d))
    F[rows, cols] = 1.0
    return F.reshape(S, A, d)


# ---------------------------------------------------------------------- the toy
TOY_VOCAB = ("the", "cat", "dog", "sat", "on", "mat")
TOY_CORPUS = (
    "the cat sat on the mat",
    "the dog sat on the mat",
    "the cat sat",
    "the dog sat",
)


def toy(*, max_len=5, target=("the", "cat", "sat"), bonus=1.0, length_penalty=0.1,
        smoothing=0.1, vocab=None, corpus=None, max_states=DEFAULT_MAX_STATES):
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
        raise ValueError(f"target must be a non-empty phrase of words from {vocab}; got "
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
