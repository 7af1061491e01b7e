r"""The :class:`LanguageMDP`: prefixes are states, next tokens are actions (see
:mod:`mdptoolkit.language` for the layout and the objective)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp

from .. import _validation as val
from .._typing import ArrayLike, FloatArray, Seed
from ..exceptions import MDPValidationError
from ..mdp import MDP
from . import _inputs
from ._layout import DEFAULT_MAX_STATES, _check_size, _check_vocab, _offsets, _TokenTuples


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
    MDPValidationError
        When the state count exceeds ``max_states``, the vocabulary is empty or repeats a token
        or contains eos, a reward is not finite, or a reference row is not a distribution.
    TypeError
        When ``vocab`` is not a sequence or ``reward`` returns something that is not a number.

    See Also
    --------
    bigram_reference, bigram_features, toy, mdptoolkit.soft_value_iteration

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

    def __init__(self, vocab: Sequence[Any], max_len: int, reward: Any, *, eos: Any = "<eos>",
                 reference: Any = None, token_reward: Any = None,
                 max_states: int = DEFAULT_MAX_STATES) -> None:
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

        self._rewards = val.freeze(_inputs.sequence_rewards(self, reward))
        self._reference = val.freeze(_inputs.reference_matrix(self, reference))
        R = _inputs.token_rewards(self, token_reward)
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
        self._mdp = MDP(P, R, 1.0, mu=mu, terminal=terminal, state_names=_inputs.state_names(self),
                        action_names=[str(a) for a in self._actions])

    # ------------------------------------------------------------------ helpers
    def _describe(self, index, what="prefix"):
        return f"{what} {self._sequences[index]!r} (index {index})"

    # ------------------------------------------------------------------ attributes
    @property
    def mdp(self) -> MDP:
        """The :class:`~mdptoolkit.MDP` (sparse, :math:`\\gamma = 1`)."""
        return self._mdp

    @property
    def vocab(self) -> tuple[Any, ...]:
        """The tokens, a tuple."""
        return self._vocab

    @property
    def eos(self) -> Any:
        """The end-of-sequence action (last in :attr:`actions`)."""
        return self._eos

    @property
    def max_len(self) -> int:
        """Maximum sequence length L."""
        return self._max_len

    @property
    def actions(self) -> tuple[Any, ...]:
        """``vocab + (eos,)``: action j appends ``actions[j]``."""
        return self._actions

    @property
    def prefixes(self) -> Sequence[tuple[Any, ...]]:
        """State index -> prefix tuple, for the non-terminal states."""
        return self._prefixes

    @property
    def terminal_state(self) -> int:
        """Index of the absorbing terminal state (the last one)."""
        return self._n_states - 1

    @property
    def sequences(self) -> Sequence[tuple[Any, ...]]:
        """Sequence index -> complete sequence (tuple), for all of them."""
        return self._sequences

    @property
    def rewards(self) -> FloatArray:
        """:math:`r(y)` by sequence index, read-only."""
        return self._rewards

    @property
    def reference_policy(self) -> FloatArray:
        r""":math:`\pi_{ref}` as an (S, A) array, read-only (uniform at the terminal state)."""
        return self._reference

    def __repr__(self) -> str:
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
                    raise MDPValidationError(f"{what} must not contain "
                                             f"eos={self._eos!r} (it ends a sequence "
                                             "and is not part of it); got it at "
                                             f"position {k}") from None
                raise MDPValidationError(f"{what} tokens must be in vocab; got "
                                         f"{token!r} at position {k}") from None
        return out

    def _index(self, ids):
        V, i = len(self._vocab), 0
        for t in ids:
            i = V * i + 1 + t
        return i

    def state_of(self, prefix: Sequence[Any]) -> int:
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
        MDPValidationError
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
            raise MDPValidationError("prefix length must be at most max_len - 1 = "
                                     f"{self._max_len - 1}; got {len(ids)} (a sequence of length "
                                     "max_len is complete)")
        return self._index(ids)

    def sequence_index(self, y: Sequence[Any]) -> int:
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
            raise MDPValidationError(f"sequence length must be at most max_len = {self._max_len}; "
                                     f"got {len(ids)}")
        return self._index(ids)

    def reward_of(self, y: Sequence[Any]) -> float:
        """:math:`r(y)` of a complete sequence (a tuple of tokens or a str).

        Examples
        --------
        >>> from mdptoolkit.language import LanguageMDP
        >>> LanguageMDP(["a", "b"], 2, lambda y: len(y)).reward_of("a b")
        2.0
        """
        return float(self._rewards[self.sequence_index(y)])

    # ------------------------------------------------------------------ distributions
    def sequence_probability_array(self, policy: ArrayLike) -> FloatArray:
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

    def sequence_probabilities(self, policy: ArrayLike) -> dict[tuple[Any, ...], float]:
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

    def top_sequences(self, policy: ArrayLike, k: int = 10) -> list[tuple[tuple[Any, ...], float]]:
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

    def sample(self, policy: ArrayLike, n: int, seed: Seed = None) -> list[tuple[Any, ...]]:
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
