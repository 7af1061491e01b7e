r"""Pairwise preference data over the sequences of a language MDP, and the Bradley–Terry model.

A comparison says that sequence :math:`y_w` ("chosen") was preferred to :math:`y_l`
("rejected"). Under the Bradley–Terry model (Bradley & Terry 1952) with reward :math:`r`,

.. math::

    \Pr(y_1 \succ y_2) = \sigma\bigl(r(y_1) - r(y_2)\bigr), \qquad
    \sigma(x) = \frac{1}{1 + e^{-x}} .

The private helpers here aggregate comparisons into win weights per unordered pair (one
``np.unique``, never a loop over comparisons) and decide whether the maximum-likelihood
problem has a finite solution: within each connected group of compared sequences the
"beats" digraph (an edge i → j when i beat j) must be strongly connected (Zermelo 1929;
Ford 1957). Both :func:`~mdptoolkit.rlhf.fit_reward_model` and
:func:`~mdptoolkit.rlhf.preference_optimization` use them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from .. import _validation as val
from .._typing import ArrayLike, FloatArray, Seed
from ..exceptions import MDPValidationError
from ..language import LanguageMDP
from ..result import FrozenArrays, _describe
from . import _tree

__all__ = ["Preferences", "sample_preferences"]


def _index_array(values, name):
    array = np.asarray(values)
    if array.ndim != 1:
        raise MDPValidationError(f"{name} must be a 1-D array of sequence indices; got shape "
                                 f"{array.shape}")
    if array.size and (array.dtype == bool or not np.issubdtype(array.dtype, np.integer)):
        raise MDPValidationError(f"{name} must hold integer sequence indices; got dtype "
                                 f"{array.dtype}")
    array = np.array(array, dtype=np.int64, copy=True)
    if array.size and array.min() < 0:
        k = int(np.argmin(array))
        raise MDPValidationError(f"{name} must be >= 0; got {int(array[k])} at {name}[{k}]")
    return val.freeze(array)


@dataclass(frozen=True, repr=False)
class Preferences(FrozenArrays):
    r"""Pairwise comparisons: entry k says ``chosen[k]`` was preferred to ``rejected[k]``.

    Parameters
    ----------
    chosen, rejected : array_like of int, shape (n,)
        Sequence indices (into ``lm.sequences``); copied and made read-only.
    weights : array_like of float, shape (n,), optional
        A non-negative weight per comparison (default 1 each): a weighted data set, e.g. the
        exact pair probabilities of a population loss.

    Raises
    ------
    MDPValidationError
        When the arrays are not 1-D, not integer, negative, of different lengths, or the
        weights are negative or not finite. Indices are checked against a language MDP by the
        functions that take one.

    Notes
    -----
    Under the Bradley–Terry model each entry is an independent draw with

    .. math::

        \Pr(\text{chosen}_k \succ \text{rejected}_k) = \sigma\bigl(r(\text{chosen}_k)
        - r(\text{rejected}_k)\bigr);

    a weight :math:`w_k` multiplies the entry's log-likelihood (and its DPO loss).

    References
    ----------
    Bradley, R. A. & Terry, M. E. (1952). Biometrika 39(3/4).

    Examples
    --------
    >>> import mdptoolkit as mt
    >>> prefs = mt.rlhf.Preferences([3, 3, 1], [1, 2, 3])
    >>> len(prefs), prefs.chosen
    (3, array([3, 3, 1]))
    >>> prefs
    Preferences(n=3, sequences compared=3, chosen=[3, 3, 1], rejected=[1, 2, 3])
    """

    chosen: np.ndarray
    rejected: np.ndarray
    weights: np.ndarray | None = None

    _arrays = ("chosen", "rejected", "weights")

    def __post_init__(self) -> None:
        chosen = _index_array(self.chosen, "chosen")
        rejected = _index_array(self.rejected, "rejected")
        if chosen.shape != rejected.shape:
            raise MDPValidationError(f"chosen and rejected must have the same length; got "
                                     f"{chosen.size} and {rejected.size}")
        object.__setattr__(self, "chosen", chosen)
        object.__setattr__(self, "rejected", rejected)
        if self.weights is not None:
            weights = val.as_float_array(self.weights, "weights", shape=chosen.shape)
            if weights.size and weights.min() < 0:
                k = int(np.argmin(weights))
                raise MDPValidationError(f"weights must be >= 0; got {weights[k]:g} at "
                                         f"weights[{k}]")
            object.__setattr__(self, "weights", weights)
        super().__post_init__()

    def __len__(self) -> int:
        return int(self.chosen.size)

    def __repr__(self) -> str:
        compared = np.unique(np.concatenate([self.chosen, self.rejected])).size
        text = (f"Preferences(n={len(self)}, sequences compared={compared}, "
                f"chosen={_describe(self.chosen)}, rejected={_describe(self.rejected)}")
        if self.weights is not None:
            text += f", weights={_describe(self.weights)}"
        return text + ")"

    def weight_array(self) -> FloatArray:
        """The weights, ones when none were given (float64, shape (n,))."""
        return np.ones(len(self)) if self.weights is None else self.weights


def check_preferences(lm: LanguageMDP, prefs: object, name: str = "prefs") -> int:
    """Check ``prefs`` is a Preferences whose indices are sequences of ``lm``; return N."""
    if not isinstance(prefs, Preferences):
        raise TypeError(f"{name} must be a mt.rlhf.Preferences; got {type(prefs).__name__}")
    N = _tree.layout(lm).N
    for field_name in ("chosen", "rejected"):
        idx = getattr(prefs, field_name)
        if idx.size and idx.max() >= N:
            k = int(np.argmax(idx))
            raise MDPValidationError(f"{name}.{field_name} indices must be < n_sequences = {N}; "
                                     f"got {int(idx[k])} at {field_name}[{k}]")
    return N


def _sigmoid(x):
    """Stable logistic function."""
    return np.exp(-np.logaddexp(0.0, -x))


def sample_preferences(lm: LanguageMDP, n: int, *, policy: ArrayLike | None = None,
                       reward: ArrayLike | None = None, seed: Seed = None) -> Preferences:
    r"""Draw ``n`` Bradley–Terry comparisons of sequences sampled from a policy.

    Parameters
    ----------
    lm : LanguageMDP
    n : int
        Number of comparisons (>= 0).
    policy : array_like, optional
        Deterministic int (S,) or stochastic (S, A) policy the two sequences of each pair are
        drawn from, independently (default ``lm.reference_policy``).
    reward : array_like (N,), optional
        The reward the labeller uses, by sequence index (default: the total reward of each
        sequence in ``lm.mdp``, see :mod:`mdptoolkit.rlhf.objective`).
    seed : int, numpy.random.Generator or None
        The same seed gives the same data.

    Returns
    -------
    Preferences

    Raises
    ------
    MDPValidationError
        For a negative ``n``, a bad policy or a bad reward.

    Notes
    -----
    For each k, :math:`y_1, y_2 \sim p_\pi` independently and :math:`y_1` is chosen with
    probability

    .. math::

        \Pr(y_1 \succ y_2) = \sigma\bigl(r(y_1) - r(y_2)\bigr) .

    Vectorized: one ``rng.choice`` with ``p`` for the 2n sequences and one uniform draw per
    label.

    References
    ----------
    Bradley, R. A. & Terry, M. E. (1952). Rank analysis of incomplete block designs: I. The
    method of paired comparisons. Biometrika 39(3/4).
    Christiano, P. et al. (2017). Deep reinforcement learning from human preferences. NeurIPS.

    Examples
    --------
    >>> import mdptoolkit as mt
    >>> lm = mt.language.toy()
    >>> prefs = mt.rlhf.sample_preferences(lm, 1000, seed=0)
    >>> again = mt.rlhf.sample_preferences(lm, 1000, seed=0)
    >>> len(prefs), bool((prefs.chosen == again.chosen).all())
    (1000, True)
    >>> r = lm.rewards   # the labeller prefers the higher reward more often than not
    >>> bool((r[prefs.chosen] > r[prefs.rejected]).mean() > 0.5)
    True
    """
    lm = _tree.check_lm(lm)
    n = val.check_int(n, "n", minimum=0)
    pi = val.as_policy_matrix(lm.mdp, lm.reference_policy if policy is None else policy)
    rewards = _tree.sequence_rewards(lm, reward)
    rng = val.default_rng(seed)
    p = _tree.sequence_probs(lm, pi)
    p /= p.sum()
    y = rng.choice(p.size, size=(2, n), p=p)
    first_wins = rng.random(n) < _sigmoid(rewards[y[0]] - rewards[y[1]])
    chosen = np.where(first_wins, y[0], y[1])
    rejected = np.where(first_wins, y[1], y[0])
    return Preferences(chosen, rejected)


# ---------------------------------------------------------------------- private helpers
@dataclass(frozen=True)
class PairCounts:
    """Comparisons aggregated per unordered pair ``i < j`` of distinct sequences: ``wins[p]``
    is the weight of "i beat j", ``losses[p]`` of "j beat i". ``ties`` is the weight of
    comparisons of a sequence with itself (they carry no information)."""

    i: np.ndarray
    j: np.ndarray
    wins: np.ndarray
    losses: np.ndarray
    ties: float
    total: float


def pair_counts(prefs: Preferences) -> PairCounts:
    """Aggregate the comparisons of ``prefs`` per unordered pair (one np.unique)."""
    c, r, w = prefs.chosen, prefs.rejected, prefs.weight_array()
    same = c == r
    ties = float(w[same].sum())
    keep = ~same & (w > 0)
    c, r, w = c[keep], r[keep], w[keep]
    lo, hi = np.minimum(c, r), np.maximum(c, r)
    n_max = int(hi.max()) + 1 if hi.size else 1
    keys, inverse = np.unique(lo * n_max + hi, return_inverse=True)
    lo_won = c == lo
    wins = np.bincount(inverse, weights=np.where(lo_won, w, 0.0), minlength=keys.size)
    losses = np.bincount(inverse, weights=np.where(lo_won, 0.0, w), minlength=keys.size)
    return PairCounts(i=keys // n_max, j=keys % n_max, wins=wins, losses=losses, ties=ties,
                      total=float(w.sum()) + ties)


@dataclass(frozen=True)
class Structure:
    """Groups of a comparison graph over N sequences: ``groups[y]`` labels the connected
    group of compared sequences (-1: never compared), ``strong[y]`` the strongly connected
    component of the "beats" digraph (-1: never compared). ``separable`` is True when some
    group is not strongly connected (no finite Bradley–Terry maximum)."""

    groups: np.ndarray
    strong: np.ndarray
    n_groups: int
    n_strong: int
    separable: bool
    n_compared: int


def structure(N: int, counts: PairCounts) -> Structure:
    """Connected groups and strongly connected components of the comparison graph."""
    i, j = counts.i, counts.j
    compared = np.zeros(N, dtype=bool)
    compared[i] = compared[j] = True
    # beats digraph: i -> j when i beat j, j -> i when j beat i
    src = np.concatenate([i[counts.wins > 0], j[counts.losses > 0]])
    dst = np.concatenate([j[counts.wins > 0], i[counts.losses > 0]])
    graph = sp.csr_array((np.ones(src.size), (src, dst)), shape=(N, N))
    _, weak = connected_components(graph, directed=True, connection="weak")
    _, strong = connected_components(graph, directed=True, connection="strong")
    groups = _relabel(weak, compared)
    strong = _relabel(strong, compared)
    n_groups = int(groups.max()) + 1 if compared.any() else 0
    n_strong = int(strong.max()) + 1 if compared.any() else 0
    return Structure(groups=groups, strong=strong, n_groups=n_groups, n_strong=n_strong,
                     separable=n_strong > n_groups, n_compared=int(compared.sum()))


def _relabel(labels, compared):
    """Labels 0..k-1 for the compared sequences (in order of first appearance), -1 elsewhere."""
    out = np.full(labels.size, -1, dtype=np.int64)
    if compared.any():
        _, first, inverse = np.unique(labels[compared], return_index=True, return_inverse=True)
        order = np.argsort(np.argsort(first))
        out[compared] = order[inverse]
    return out


def separability_message(struct: Structure, counts: PairCounts) -> str:
    """Why no finite maximum exists: how many groups split, and one example pair."""
    cross = struct.strong[counts.i] != struct.strong[counts.j]
    n_cross = int(cross.sum())
    k = int(np.argmax(cross))
    winner, loser = (counts.i[k], counts.j[k]) if counts.wins[k] > 0 else (counts.j[k], counts.i[k])
    return (f"the preference data are separable: the {struct.n_compared} compared sequences "
            f"form {struct.n_groups} connected group(s) but {struct.n_strong} strongly "
            f"connected group(s) of the 'beats' digraph, so across {n_cross} compared pair(s) "
            f"one side always wins (e.g. sequence {int(winner)} always beats {int(loser)}) "
            f"and the likelihood has no finite maximum (Zermelo 1929; Ford 1957)")
