r"""Reward-model over-optimization (Goodhart's law), measured exactly on a language MDP.

Gao, Schulman & Hilton (2022) train a *proxy* reward model on preferences labelled by a
*gold* reward, optimize the proxy (by RL or by best-of-n), and plot the gold reward against
:math:`d = \sqrt{\mathrm{KL}(\pi \,\|\, \pi_{ref})}`: the proxy keeps rising while the gold
reward rises and then falls. They fit

.. math::

    R_{bon}(d) = d(\alpha_{bon} - \beta_{bon} d), \qquad
    R_{RL}(d) = d(\alpha_{RL} - \beta_{RL} \log d),

to the gold reward gained over the reference. Here the proxy is a Bradley–Terry fit
(:func:`~mdptoolkit.rlhf.fit_reward_model`), "RL" is the exact optimum of the proxy's
KL-regularized objective (:func:`~mdptoolkit.rlhf.optimal_policy` with ``reward=proxy``)
over a sweep of β, and best-of-n is exact (:func:`~mdptoolkit.rlhf.best_of_n`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import _validation as val
from .._typing import ArrayLike, FloatArray, Seed
from ..exceptions import MDPValidationError
from ..language import LanguageMDP
from ..result import FrozenArrays, _describe
from . import _tree
from .best_of_n import best_of_n
from .objective import Meter, optimal_policy
from .preferences import sample_preferences
from .reward_model import RewardModelResult, fit_reward_model

__all__ = ["OveroptimizationResult", "overoptimization", "gao_bon", "gao_rl"]

DEFAULT_BETAS = tuple(np.geomspace(3.0, 0.03, 13).round(6).tolist())
DEFAULT_NS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096, 16384)


def gao_bon(d: ArrayLike, alpha: float, beta: float) -> FloatArray:
    r"""Gao et al.'s best-of-n form :math:`R(d) = d(\alpha - \beta d)`.

    Parameters
    ----------
    d : array_like
        :math:`\sqrt{\mathrm{KL}}`, >= 0.
    alpha, beta : float
        The fitted coefficients (:attr:`OveroptimizationResult.bon_coef`).

    Returns
    -------
    ndarray
        The gold reward gained over the reference.

    Notes
    -----
    .. math::

        R_{bon}(d) = d(\alpha_{bon} - \beta_{bon} d)

    References
    ----------
    Gao, L., Schulman, J. & Hilton, J. (2022). arXiv:2210.10760, eq. 1.

    Examples
    --------
    >>> import mdptoolkit as mt
    >>> float(mt.rlhf.gao_bon(2.0, 1.0, 0.25))
    1.0
    """
    d = np.asarray(d, dtype=np.float64)
    return d * (alpha - beta * d)


def gao_rl(d: ArrayLike, alpha: float, beta: float) -> FloatArray:
    r"""Gao et al.'s RL form :math:`R(d) = d(\alpha - \beta \log d)` (0 at d = 0).

    Parameters
    ----------
    d : array_like
        :math:`\sqrt{\mathrm{KL}}`, >= 0.
    alpha, beta : float
        The fitted coefficients (:attr:`OveroptimizationResult.rl_coef`).

    Returns
    -------
    ndarray
        The gold reward gained over the reference (its limit 0 at d = 0).

    Notes
    -----
    .. math::

        R_{RL}(d) = d(\alpha_{RL} - \beta_{RL} \log d)

    References
    ----------
    Gao, L., Schulman, J. & Hilton, J. (2022). arXiv:2210.10760, eq. 2.

    Examples
    --------
    >>> import numpy as np, mdptoolkit as mt
    >>> float(mt.rlhf.gao_rl(np.e, 1.0, 0.5))   # e (1 - 0.5)
    1.3591409142295225
    """
    d = np.asarray(d, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(d > 0, d * (alpha - beta * np.log(np.where(d > 0, d, 1.0))), 0.0)


def _fit(d, y, form):
    """Least squares of y ~ alpha * d - beta * g(d), linear in (alpha, beta)."""
    keep = d > 0
    if keep.sum() < 2:
        return np.array([np.nan, np.nan])
    x = d[keep]
    g = x * x if form == "bon" else x * np.log(x)
    design = np.stack([x, -g], axis=1)
    coef, *_ = np.linalg.lstsq(design, y[keep], rcond=None)
    return coef


@dataclass(frozen=True, repr=False)
class OveroptimizationResult(FrozenArrays):
    r"""What :func:`overoptimization` returns: the curves as arrays and Gao's fits.

    Attributes
    ----------
    betas : ndarray (m,)
        The KL coefficients of the "RL" sweep (largest first: KL grows along the arrays).
    rl_kl, rl_gold, rl_proxy : ndarray (m,)
        KL to the reference, gold and proxy expected reward of the proxy's optimum at each β.
    ns : ndarray of int (k,)
        The best-of-n sweep.
    bon_kl, bon_gold, bon_proxy : ndarray (k,)
        The same for best-of-n by the proxy.
    gold_ref, proxy_ref : float
        Expected gold and proxy reward of the reference (the curves' origin, d = 0).
    rl_coef, bon_coef : ndarray (2,)
        :math:`(\alpha, \beta)` of :func:`gao_rl` and :func:`gao_bon` fitted by least squares to
        the gold reward gained over the reference, ``rl_gold - gold_ref`` against
        :math:`d = \sqrt{\mathrm{KL}}` (NaN when fewer than two points have d > 0).
    proxy : ndarray (N,)
        The fitted proxy reward per sequence.
    reward_model : RewardModelResult
        The proxy's fit (its ``message`` says whether it converged).
    n_comparisons : int
    """

    betas: np.ndarray
    rl_kl: np.ndarray
    rl_gold: np.ndarray
    rl_proxy: np.ndarray
    ns: np.ndarray
    bon_kl: np.ndarray
    bon_gold: np.ndarray
    bon_proxy: np.ndarray
    gold_ref: float
    proxy_ref: float
    rl_coef: np.ndarray
    bon_coef: np.ndarray
    proxy: np.ndarray
    reward_model: RewardModelResult
    n_comparisons: int

    _arrays = ("betas", "rl_kl", "rl_gold", "rl_proxy", "ns", "bon_kl", "bon_gold", "bon_proxy",
               "rl_coef", "bon_coef", "proxy")

    @property
    def rl_d(self) -> FloatArray:
        r""":math:`d = \sqrt{\mathrm{KL}}` of the RL sweep."""
        return np.sqrt(self.rl_kl)

    @property
    def bon_d(self) -> FloatArray:
        r""":math:`d = \sqrt{\mathrm{KL}}` of the best-of-n sweep."""
        return np.sqrt(self.bon_kl)

    def __repr__(self) -> str:
        best_rl = int(np.argmax(self.rl_gold))
        best_bon = int(np.argmax(self.bon_gold))
        return "\n".join([
            f"{type(self).__name__}(n_comparisons={self.n_comparisons}, "
            f"gold_ref={self.gold_ref:.4g},",
            f"    rl: gold peaks at {self.rl_gold[best_rl]:.4g} (beta={self.betas[best_rl]:g}, "
            f"d={np.sqrt(self.rl_kl[best_rl]):.3g}), ends at {self.rl_gold[-1]:.4g}; "
            f"alpha, beta = {_describe(self.rl_coef)},",
            f"    bon: gold peaks at {self.bon_gold[best_bon]:.4g} (n={self.ns[best_bon]}, "
            f"d={np.sqrt(self.bon_kl[best_bon]):.3g}), ends at {self.bon_gold[-1]:.4g}; "
            f"alpha, beta = {_describe(self.bon_coef)})"])


def overoptimization(lm: LanguageMDP, *, n_comparisons: int = 3000,
                     betas: ArrayLike = DEFAULT_BETAS, ns: ArrayLike = DEFAULT_NS,
                     l2: float = 0.1, policy: ArrayLike | None = None,
                     seed: Seed = None) -> OveroptimizationResult:
    r"""Gold vs proxy reward when a fitted reward model is optimized ever harder.

    Parameters
    ----------
    lm : LanguageMDP
        Its total reward per sequence is the gold reward.
    n_comparisons : int
        Number of Bradley–Terry comparisons (of pairs drawn from ``policy``) the proxy is
        fitted on; few comparisons give a poor proxy and strong over-optimization.
    betas : sequence of float
        KL coefficients (> 0) of the "RL" sweep; sorted largest first.
    ns : sequence of int
        Best-of-n sizes (>= 1); sorted ascending.
    l2 : float
        Ridge penalty of the proxy's fit (:func:`fit_reward_model`); > 0 keeps the proxy
        finite even on separable data.
    policy : array_like, optional
        The policy the compared pairs are drawn from, and the base of best-of-n (default the
        reference).
    seed : int, numpy.random.Generator or None

    Returns
    -------
    OveroptimizationResult

    Raises
    ------
    MDPValidationError
        For an empty sweep, a beta <= 0, an n < 1, a negative l2 or n_comparisons.

    Notes
    -----
    For each β the policy is the exact optimum of the proxy objective,
    :math:`p_\beta(y) \propto p_{ref}(y)\, e^{\hat r(y)/\beta}`, and for each n the exact
    best-of-n distribution by :math:`\hat r`; both are measured with the gold reward
    :math:`r` and the proxy :math:`\hat r`, against :math:`d = \sqrt{\mathrm{KL}}`. The Gao
    forms are fitted to :math:`R(d) = \mathbb E[r] - \mathbb E_{ref}[r]`:

    .. math::

        R_{bon}(d) = d(\alpha - \beta d), \qquad R_{RL}(d) = d(\alpha - \beta \log d) .

    With the defaults on :func:`mdptoolkit.language.toy` the gold reward of both sweeps rises
    and then falls while the proxy keeps rising.

    References
    ----------
    Gao, L., Schulman, J. & Hilton, J. (2022). Scaling laws for reward model overoptimization.
    arXiv:2210.10760 (ICML 2023), eqs. 1–2.

    Examples
    --------
    >>> import numpy as np, mdptoolkit as mt
    >>> res = mt.rlhf.overoptimization(mt.language.toy(), seed=0)
    >>> bool(np.all(np.diff(res.rl_proxy) > 0))    # the proxy keeps rising with the KL
    True
    >>> peak = int(np.argmax(res.rl_gold))         # the gold reward rises, then falls
    >>> 0 < peak < len(res.betas) - 1 and bool(res.rl_gold[-1] < res.rl_gold[peak])
    True
    """
    lm = _tree.check_lm(lm)
    n_comparisons = val.check_int(n_comparisons, "n_comparisons", minimum=0)
    beta_grid = _sweep(betas, "betas", float)
    n_grid = _sweep(ns, "ns", int)
    if beta_grid.min() <= 0:
        raise MDPValidationError(f"betas must be > 0; got {beta_grid.min()!r}")
    if n_grid.min() < 1:
        raise MDPValidationError(f"ns must be >= 1; got {int(n_grid.min())}")
    val.check_real(l2, "l2", low=0.0)
    beta_grid = np.sort(beta_grid)[::-1].copy()
    n_grid = np.sort(n_grid)
    rng = val.default_rng(seed)
    base = lm.reference_policy if policy is None else policy
    prefs = sample_preferences(lm, n_comparisons, policy=base, seed=rng)
    fit = fit_reward_model(lm, prefs, l2=l2)
    proxy = fit.rewards
    gold_meter = Meter(lm, 0.0)
    proxy_meter = Meter(lm, 0.0, reward=proxy)
    base_pi = val.as_policy_matrix(lm.mdp, base)
    _, gold_ref, _ = gold_meter(base_pi)
    _, proxy_ref, _ = proxy_meter(base_pi)
    rl = np.empty((3, beta_grid.size))
    for k, beta in enumerate(beta_grid):  # a sweep over the requested coefficients
        pi = optimal_policy(lm, beta, reward=proxy)
        _, rl[1, k], rl[0, k] = gold_meter(pi)
        rl[2, k] = proxy_meter(pi)[1]
    bon = np.empty((3, n_grid.size))
    for k, n in enumerate(n_grid):
        result = best_of_n(lm, int(n), policy=base, reward=proxy)
        q = result.probabilities
        bon[:, k] = result.kl, float(q @ gold_meter.rewards), result.expected_reward
    return OveroptimizationResult(
        betas=beta_grid, rl_kl=rl[0], rl_gold=rl[1], rl_proxy=rl[2], ns=n_grid, bon_kl=bon[0],
        bon_gold=bon[1], bon_proxy=bon[2], gold_ref=gold_ref, proxy_ref=proxy_ref,
        rl_coef=_fit(np.sqrt(rl[0]), rl[1] - gold_ref, "rl"),
        bon_coef=_fit(np.sqrt(bon[0]), bon[1] - gold_ref, "bon"),
        proxy=proxy, reward_model=fit, n_comparisons=n_comparisons)


def _sweep(values: ArrayLike, name: str, kind: type) -> np.ndarray:
    array = np.atleast_1d(np.asarray(values))
    if array.ndim != 1 or array.size == 0:
        raise MDPValidationError(f"{name} must be a non-empty 1-D sequence; got shape "
                                 f"{array.shape}")
    if kind is int:
        if array.dtype == bool or not np.issubdtype(array.dtype, np.integer):
            raise MDPValidationError(f"{name} must hold integers; got dtype {array.dtype}")
        return array.astype(np.int64)
    out = val.as_float_array(array, name)
    return out
