r"""The KL-regularized objective of RL fine-tuning, its exact optimum and its measurements.

On a language MDP with reference model :math:`\pi_{ref}` and sequence reward :math:`r(y)`,

.. math::

    J_\beta(\pi) = \mathbb E_{y \sim p_\pi}[r(y)] - \beta\,\mathrm{KL}(p_\pi \,\|\, p_{ref}),
    \qquad
    \max_\pi J_\beta = \beta \log Z_\beta, \quad
    Z_\beta = \sum_y p_{ref}(y)\, e^{r(y)/\beta},

attained by :math:`p^*_\beta(y) = p_{ref}(y) e^{r(y)/\beta} / Z_\beta` (Korbak, Perez & Buckley
2022; Rafailov et al. 2023, eq. 4). Everything here is exact, computed level by level over the
prefix tree (:mod:`mdptoolkit.rlhf._tree`).

Reward convention: :math:`r(y)` is the *total* reward along y, i.e. its return in ``lm.mdp``:
``lm.rewards`` plus any ``token_reward`` collected on the way (equal to ``lm.rewards`` when
the language MDP has no token rewards). A ``reward`` argument (N,) replaces that total.
"""

from __future__ import annotations

import numpy as np

from .. import _validation as val
from .._typing import ArrayLike, FloatArray
from ..language import LanguageMDP
from . import _tree

__all__ = ["kl", "optimal_policy", "measure", "optimum"]


def _log(x):
    with np.errstate(divide="ignore"):
        return np.log(x)


def _token_kl(lm, pi, logref):
    """sum_s d(s) sum_a pi log(pi / ref) with the convention 0 log 0 = 0; inf when pi puts
    mass (on a reachable state) where ref has none."""
    n = _tree.layout(lm).n_prefixes
    reach = _tree.reach_probabilities(lm, pi)
    p, lr = pi[:n], logref[:n]
    positive = p > 0
    if np.any(positive & np.isneginf(lr) & (reach[:, None] > 0)):
        return float("inf")
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(positive, p * (np.log(np.where(positive, p, 1.0))
                                        - np.where(positive, lr, 0.0)), 0.0)
    return max(0.0, _tree.dot(reach, terms.sum(axis=1)))


class Meter:
    """Exact (J_beta, E[r], KL) of policies on one language MDP, reusing the reward and the
    log-reference across calls (what the methods' histories record every step)."""

    def __init__(self, lm: LanguageMDP, beta: float, reward: ArrayLike | None = None) -> None:
        self.lm = _tree.check_lm(lm)
        self.beta = val.check_beta(beta, allow_zero=True)
        self.rewards = _tree.sequence_rewards(lm, reward)
        self.logref = _log(np.asarray(lm.reference_policy))
        self._optimum: float | None = None

    def __call__(self, pi: FloatArray) -> tuple[float, float, float]:
        """(J_beta, E_p[r], KL) of an (S, A) policy matrix (already validated)."""
        p = _tree.sequence_probs(self.lm, pi)
        expected = _tree.dot(p, self.rewards)
        divergence = _token_kl(self.lm, pi, self.logref)
        if self.beta == 0.0:
            return expected, expected, divergence
        return expected - self.beta * divergence, expected, divergence

    @property
    def optimum(self) -> float:
        """max_pi J_beta (cached)."""
        if self._optimum is None:
            if self.beta == 0.0:
                self._optimum = float(self.rewards.max())
            else:
                u, _ = _soft_backward(self.lm, self.beta, self.rewards, self.logref)
                self._optimum = self.beta * float(u[0])
        return self._optimum


def _soft_backward(lm, beta, rewards, logref, *, want_policy=False):
    r"""One backward pass over the levels: u(s) = log sum_a ref(a|s) exp(x(s, a)) with
    x(s, token) = u(child), x(s, eos) = r(s)/beta, x(s, last token at level L-1) = r(y)/beta;
    the soft value is beta * u(s) (plus the reward already collected on the way to s)."""
    T = _tree.layout(lm)
    V, L, off, n = T.V, T.L, T.off, T.n_prefixes
    u = np.empty(T.N)  # u[j] for prefixes j < n; r(y)/beta for the length-L sequences
    u[n:] = rewards[n:] / beta
    policy = np.empty((T.S, T.A)) if want_policy else None
    for l in range(L - 1, -1, -1):
        a, b, c = off[l], off[l + 1], off[l + 2]
        z = np.empty((b - a, T.A))
        z[:, :V] = u[b:c].reshape(b - a, V)
        z[:, V] = rewards[a:b] / beta
        z += logref[a:b]
        m = z.max(axis=1)
        z -= m[:, None]
        np.exp(z, out=z)
        total = z.sum(axis=1)
        u[a:b] = m + np.log(total)
        if want_policy:
            policy[a:b] = z / total[:, None]
    if want_policy:
        policy[n:] = lm.reference_policy[n:]  # the terminal row: uniform, as the reference
    return u, policy


def kl(lm: LanguageMDP, policy: ArrayLike) -> float:
    r"""Exact sequence-level KL divergence :math:`\mathrm{KL}(p_\pi \,\|\, p_{ref})`.

    Parameters
    ----------
    lm : LanguageMDP
    policy : array_like
        Deterministic int (S,) or stochastic (S, A).

    Returns
    -------
    float
        ``inf`` when the policy gives positive probability to a sequence the reference never
        produces (an action with :math:`\pi > 0 = \pi_{ref}` on a reachable prefix); never NaN.

    Raises
    ------
    MDPValidationError
        When ``policy`` is not a policy of ``lm.mdp``.
    TypeError
        When ``lm`` is not a LanguageMDP.

    Notes
    -----
    Transitions are deterministic, so the sequence-level KL is the expected sum of the
    per-token KLs along y (the chain rule), computed from the prefix reach probabilities
    :math:`d^\pi(s)`:

    .. math::

        \mathrm{KL}(p_\pi \,\|\, p_{ref}) = \sum_y p_\pi(y) \log\frac{p_\pi(y)}{p_{ref}(y)}
        = \sum_s d^\pi(s) \sum_a \pi(a|s) \log\frac{\pi(a|s)}{\pi_{ref}(a|s)} .

    References
    ----------
    Cover, T. M. & Thomas, J. A. (2006). Elements of Information Theory, Thm 2.5.3 (chain rule).

    Examples
    --------
    >>> import mdptoolkit as mt
    >>> lm = mt.language.LanguageMDP(["a"], 1, lambda y: 0.0)   # sequences (), (a,)
    >>> mt.rlhf.kl(lm, lm.reference_policy)
    0.0
    >>> round(mt.rlhf.kl(lm, [[1.0, 0.0], [0.5, 0.5]]), 6)   # log(1 / 0.5)
    0.693147
    """
    lm = _tree.check_lm(lm)
    pi = val.as_policy_matrix(lm.mdp, policy)
    return _token_kl(lm, pi, _log(np.asarray(lm.reference_policy)))


def optimal_policy(lm: LanguageMDP, beta: float, *,
                   reward: ArrayLike | None = None) -> FloatArray:
    r"""The maximizer of :math:`J_\beta`: the reference tilted by the reward.

    Parameters
    ----------
    lm : LanguageMDP
    beta : float
        KL coefficient, > 0.
    reward : array_like (N,), optional
        Total reward per sequence index, replacing the return of each sequence in ``lm.mdp``
        (``lm.rewards`` plus any token rewards; see the module notes) — e.g. a fitted reward
        model's ``rewards``.

    Returns
    -------
    ndarray (S, A)
        The policy whose sequence distribution is :math:`p^*_\beta`; rows where the reference
        is 0 stay 0. The terminal row is uniform.

    Raises
    ------
    MDPValidationError
        When ``beta <= 0`` or ``reward`` has the wrong shape or non-finite entries.

    Notes
    -----
    .. math::

        p^*_\beta(y) = \frac{p_{ref}(y)\, e^{r(y)/\beta}}{Z_\beta}, \qquad
        \pi^*(a|s) = \pi_{ref}(a|s) \exp\bigl(u(s a) - u(s)\bigr), \qquad
        u(s) = \log \sum_a \pi_{ref}(a|s)\, e^{u(s a)},

    where :math:`u(s a)` is :math:`r(y)/\beta` when action a completes y. One backward pass
    over the levels of the prefix tree with a stable log-sum-exp; :math:`\beta u(s)` is the
    soft value of :func:`~mdptoolkit.soft_value_iteration` on ``lm.mdp`` up to the reward
    collected before s, so the policy equals the soft-DP one (token rewards included).

    References
    ----------
    Rafailov, R. et al. (2023). Direct preference optimization, eq. 4. NeurIPS.
    Korbak, T., Perez, E. & Buckley, C. L. (2022). RL with KL penalties is better viewed as
    Bayesian inference. Findings of EMNLP.

    Examples
    --------
    >>> import numpy as np, mdptoolkit as mt
    >>> lm = mt.language.LanguageMDP(["a"], 1, [0.0, np.log(3.0)])   # r(()) = 0, r((a,)) = log 3
    >>> mt.rlhf.optimal_policy(lm, 1.0)[0]   # p* ∝ (1/2, 3/2)
    array([0.75, 0.25])
    """
    lm = _tree.check_lm(lm)
    beta = val.check_beta(beta, allow_zero=False)
    rewards = _tree.sequence_rewards(lm, reward)
    _, policy = _soft_backward(lm, beta, rewards, _log(np.asarray(lm.reference_policy)),
                               want_policy=True)
    return policy


def measure(lm: LanguageMDP, policy: ArrayLike, beta: float, *,
            reward: ArrayLike | None = None) -> tuple[float, float, float]:
    r"""Exact :math:`(J_\beta(\pi), \mathbb E_{p_\pi}[r], \mathrm{KL}(p_\pi \| p_{ref}))`.

    Parameters
    ----------
    lm : LanguageMDP
    policy : array_like
        Deterministic int (S,) or stochastic (S, A).
    beta : float
        KL coefficient, >= 0.
    reward : array_like (N,), optional
        Total reward per sequence index (default: the return in ``lm.mdp``).

    Returns
    -------
    (float, float, float)
        ``J`` = E[r] − beta·KL (``-inf`` when the KL is infinite and beta > 0; E[r] when
        beta = 0), the expected reward and the KL.

    Raises
    ------
    MDPValidationError
        For a bad policy, a negative beta or a bad reward.

    Notes
    -----
    .. math::

        J_\beta(\pi) = \sum_y p_\pi(y)\, r(y)
                     - \beta \sum_y p_\pi(y) \log\frac{p_\pi(y)}{p_{ref}(y)} .

    The KL is computed as in :func:`kl`; with ``beta = 0`` J is the expected reward even when
    the KL is infinite.

    References
    ----------
    Ziegler, D. M. et al. (2019). Fine-tuning language models from human preferences, eq. 2.
    arXiv:1909.08593.

    Examples
    --------
    >>> import numpy as np, mdptoolkit as mt
    >>> lm = mt.language.LanguageMDP(["a"], 1, [0.0, 1.0])
    >>> mt.rlhf.measure(lm, lm.reference_policy, 0.5)   # E r = 1/2, KL = 0
    (0.5, 0.5, 0.0)
    """
    lm = _tree.check_lm(lm)
    pi = val.as_policy_matrix(lm.mdp, policy)
    return Meter(lm, beta, reward)(pi)


def optimum(lm: LanguageMDP, beta: float, *, reward: ArrayLike | None = None) -> float:
    r"""The exact maximum of :math:`J_\beta` over all policies.

    Parameters
    ----------
    lm : LanguageMDP
    beta : float
        >= 0.
    reward : array_like (N,), optional
        Total reward per sequence index (default: the return in ``lm.mdp``).

    Returns
    -------
    float
        :math:`\beta \log Z_\beta` for beta > 0; :math:`\max_y r(y)` over all sequences for
        beta = 0 (the optimum of policy iteration on ``lm.mdp``).

    Raises
    ------
    MDPValidationError
        For a negative beta or a bad reward.

    Notes
    -----
    .. math::

        \max_\pi J_\beta(\pi) = \beta \log \sum_y p_{ref}(y)\, e^{r(y)/\beta}
        \;\xrightarrow[\beta \to 0]{}\; \max_{y:\, p_{ref}(y) > 0} r(y) .

    References
    ----------
    Rafailov, R. et al. (2023). Direct preference optimization, Appendix A.1. NeurIPS.

    Examples
    --------
    >>> import numpy as np, mdptoolkit as mt
    >>> lm = mt.language.LanguageMDP(["a"], 1, [0.0, np.log(3.0)])
    >>> bool(np.isclose(mt.rlhf.optimum(lm, 1.0), np.log(2.0), rtol=1e-14))   # log((1 + 3) / 2)
    True
    >>> bool(mt.rlhf.optimum(lm, 0.0) == np.log(3.0))
    True
    """
    return Meter(lm, beta, reward).optimum
