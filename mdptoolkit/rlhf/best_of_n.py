r"""Best-of-n sampling, exactly: the distribution of the highest-reward of n draws.

Draw n sequences independently from a base distribution p (the reference model by default)
and keep the one with the highest reward. The result is a distribution over sequences that
can be computed in closed form from the reward CDF of the base; its KL to the base obeys the
bound :math:`\log n - (n-1)/n` (Beirami et al. 2024), the "analytical" KL that Gao et al.
(2022) and Stiennon et al. (2020) use for best-of-n.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import _validation as val
from .._typing import ArrayLike
from ..language import LanguageMDP
from ..result import FrozenArrays, _describe
from . import _tree

__all__ = ["BestOfNResult", "best_of_n"]


@dataclass(frozen=True, repr=False)
class BestOfNResult(FrozenArrays):
    r"""What :func:`best_of_n` returns.

    Attributes
    ----------
    n : int
    probabilities : ndarray (N,)
        :math:`p_n(y)`, by sequence index.
    policy : ndarray (S, A)
        A policy whose sequence distribution is ``probabilities`` (rows of prefixes it never
        reaches are the base policy's), for :func:`~mdptoolkit.rlhf.measure` and the plots.
    expected_reward : float
        :math:`\mathbb E_{p_n}[r]` for the reward used to pick the best.
    kl : float
        :math:`\mathrm{KL}(p_n \,\|\, p)`, exact.
    kl_bound : float
        :math:`\log n - (n-1)/n`.
    win_rate : float
        Pr(the best-of-n sequence's reward beats that of an independent base draw), ties
        counting one half: 1/2 for n = 1, tending to n/(n + 1) as the base's largest
        probability tends to 0.
    """

    n: int
    probabilities: np.ndarray
    policy: np.ndarray
    expected_reward: float
    kl: float
    kl_bound: float
    win_rate: float

    _arrays = ("probabilities", "policy")

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(n={self.n}, expected_reward={self.expected_reward:.6g}, "
                f"kl={self.kl:.6g}, kl_bound={self.kl_bound:.6g}, win_rate={self.win_rate:.4g}, "
                f"probabilities={_describe(self.probabilities)})")


def _policy_of(lm, q, base_pi):
    """The policy whose sequence distribution is q: subtree mass ratios (base rows where a
    prefix is never reached)."""
    T = _tree.layout(lm)
    V, n = T.V, T.n_prefixes
    mass = _tree.subtree_totals(lm, q)
    pi = np.array(base_pi, dtype=np.float64, copy=True)
    through = mass[:n]
    reached = through > 0
    rows = np.empty((n, T.A))
    rows[:, :V] = mass[1:].reshape(n, V)
    rows[:, V] = q[:n]
    rows[reached] /= through[reached, None]
    pi[:n][reached] = rows[reached]
    return pi


def best_of_n(lm: LanguageMDP, n: int, *, policy: ArrayLike | None = None,
              reward: ArrayLike | None = None) -> BestOfNResult:
    r"""The exact distribution of the best of ``n`` independent draws, by reward.

    Parameters
    ----------
    lm : LanguageMDP
    n : int
        Number of draws, >= 1 (n = 1 gives the base distribution).
    policy : array_like, optional
        Base policy, deterministic (S,) or stochastic (S, A); default ``lm.reference_policy``.
    reward : array_like (N,), optional
        The reward used to pick the best (e.g. a fitted proxy); default the total reward of
        each sequence in ``lm.mdp``.

    Returns
    -------
    BestOfNResult
        ``probabilities``, ``policy``, ``expected_reward``, ``kl``, ``kl_bound``,
        ``win_rate``, ``n``.

    Raises
    ------
    MDPValidationError
        For ``n < 1``, a bad policy or a bad reward.
    TypeError
        For a non-integer ``n``.

    Notes
    -----
    With F the reward CDF of the base distribution p, :math:`F(r^-)` the mass strictly below
    r, and ties broken uniformly among the tied draws, a sequence y in the tie group
    :math:`G = \{y' : r(y') = r(y)\}` is chosen with probability

    .. math::

        p_n(y) = \frac{p(y)}{p(G)} \bigl[F(r(y))^n - F(r(y)^-)^n\bigr]

    (the maximum falls in G with probability :math:`F(r)^n - F(r^-)^n`, and by symmetry the
    draw kept is then distributed as p restricted to G). The difference of powers is computed
    as :math:`F^n \cdot (-\mathrm{expm1}(n \log(1 - p(G)/F)))`, without cancellation. The KL
    satisfies :math:`\mathrm{KL}(p_n \| p) \le \log n - (n-1)/n` (Beirami et al. 2024, Thm 1).
    One sort, then group sums; no loop over sequences.

    References
    ----------
    Stiennon, N. et al. (2020). Learning to summarize from human feedback. NeurIPS.
    Gao, L., Schulman, J. & Hilton, J. (2022). Scaling laws for reward model overoptimization.
    arXiv:2210.10760.
    Beirami, A. et al. (2024). Theoretical guarantees on the best-of-n alignment policy.
    arXiv:2401.01879.

    Examples
    --------
    Three equally likely sequences with rewards 0, 1, 2; best of 2 picks the top one with
    probability 1 - (2/3)^2 = 5/9.

    >>> import numpy as np, mdptoolkit as mt
    >>> lm = mt.language.LanguageMDP(["a", "b"], 1, [0.0, 1.0, 2.0])   # uniform reference
    >>> bon = mt.rlhf.best_of_n(lm, 2)
    >>> np.round(bon.probabilities * 9, 12)
    array([1., 3., 5.])
    >>> round(bon.win_rate * 54, 12)   # (1/9)(1/6) + (3/9)(1/3 + 1/6) + (5/9)(2/3 + 1/6)
    35.0
    >>> bool(bon.kl <= bon.kl_bound)
    True
    """
    lm = _tree.check_lm(lm)
    n = val.check_int(n, "n", minimum=1)
    base_pi = val.as_policy_matrix(lm.mdp, lm.reference_policy if policy is None else policy)
    r = _tree.sequence_rewards(lm, reward)
    p = _tree.sequence_probs(lm, base_pi)
    p = p / p.sum()
    order = np.argsort(r, kind="stable")
    r_sorted = r[order]
    new_group = np.empty(r.size, dtype=bool)
    new_group[0] = True
    new_group[1:] = r_sorted[1:] != r_sorted[:-1]
    group_sorted = np.cumsum(new_group) - 1
    group = np.empty(r.size, dtype=np.int64)
    group[order] = group_sorted
    p_group = np.bincount(group, weights=p)
    F = np.minimum(np.cumsum(p_group), 1.0)
    F[-1] = 1.0
    F_below = np.maximum(F - p_group, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        # log(F^n - F_below^n) = n log F + log(-expm1(n log1p(-p_G/F)))
        ratio = np.where(F > 0, np.minimum(p_group / np.where(F > 0, F, 1.0), 1.0), 0.0)
        log_mass = n * np.log(F) + np.log(-np.expm1(n * np.log1p(-ratio)))
        mass = np.where(p_group > 0, np.exp(log_mass), 0.0)  # Pr(max in G)
        log_tilt = np.where(p_group > 0, log_mass - np.log(np.where(p_group > 0, p_group, 1.0)),
                            0.0)  # log(p_n(y) / p(y)), the same within a group
    q = p * np.exp(log_tilt[group])
    q[p == 0] = 0.0
    kl = max(0.0, float(mass @ log_tilt))
    win_rate = float(mass @ (F_below + 0.5 * p_group))
    return BestOfNResult(n=n, probabilities=q, policy=_policy_of(lm, q, base_pi),
                         expected_reward=float(q @ r), kl=kl,
                         kl_bound=float(np.log(n) - (n - 1) / n), win_rate=win_rate)
