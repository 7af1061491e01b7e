r"""RL fine-tuning: the reward–KL frontier and reward over-optimization curves."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .._typing import ArrayLike
from ..rlhf.objective import Meter, optimal_policy
from ..rlhf.overoptimization import gao_bon, gao_rl
from ._common import _new_axes

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from ..language import LanguageMDP
    from ..rlhf import OveroptimizationResult


def _named(results: Any, labels: Sequence[str] | None) -> list[tuple[str, Any]]:
    """[(label, result)] from None, one result, a sequence or a mapping label -> result."""
    if results is None:
        return []
    if isinstance(results, Mapping):
        pairs = [(str(k), v) for k, v in results.items()]
    else:
        if not isinstance(results, Sequence) or isinstance(results, str):
            results = [results]
        pairs = [(getattr(r, "method", None) or f"best-of-{getattr(r, 'n', '?')}", r)
                 for r in results]
    if labels is not None:
        labels = [str(label) for label in labels]
        if len(labels) != len(pairs):
            raise ValueError(f"labels must have one entry per result; got {len(labels)} labels "
                             f"for {len(pairs)} results")
        pairs = list(zip(labels, (r for _, r in pairs), strict=True))
    return pairs


def reward_kl_frontier(lm: LanguageMDP, results: Any = None, *, betas: ArrayLike | None = None,
                       reward: ArrayLike | None = None, labels: Sequence[str] | None = None,
                       ax: Axes | None = None) -> Axes:
    r"""Expected reward against :math:`\mathrm{KL}(p_\pi \| p_{ref})`: the exact Gibbs frontier
    and where methods get to.

    The frontier is :math:`(\mathrm{KL}(p^*_\beta \| p_{ref}), \mathbb E_{p^*_\beta}[r])` over a
    sweep of β: no policy has a higher expected reward at the same KL (each :math:`p^*_\beta`
    maximizes :math:`\mathbb E[r] - \beta\,\mathrm{KL}`). Results are drawn on top: a result
    with ``history["reward"]`` and ``history["kl"]`` (DPO, the on-policy methods) as its
    trajectory with a marker at its end, a best-of-n result (``.kl`` and
    ``.expected_reward``) as one point.

    Parameters
    ----------
    lm : LanguageMDP
    results : result, sequence or mapping label -> result, optional
    betas : array_like, optional
        The sweep of the frontier (default ``np.geomspace(20, 0.01, 60)``).
    reward : array_like (N,), optional
        The reward of the frontier (default the gold total reward); the results' own numbers
        are drawn as they are.
    labels : sequence of str, optional
        Legend entries of the results (default their ``method``, or "best-of-n").
    ax : matplotlib.axes.Axes, optional

    Returns
    -------
    matplotlib.axes.Axes
        One legend entry per drawn artist: the frontier, then each result.

    Notes
    -----
    The frontier is exact (:func:`mdptoolkit.rlhf.optimal_policy` and
    :func:`mdptoolkit.rlhf.measure` at each β):

    .. math::

        \beta \mapsto \bigl(\mathrm{KL}(p^*_\beta \| p_{ref}),\;
        \mathbb E_{p^*_\beta}[r]\bigr), \qquad p^*_\beta \propto p_{ref}\, e^{r/\beta} .

    References
    ----------
    Gao, L., Schulman, J. & Hilton, J. (2022). Scaling laws for reward model overoptimization.
    arXiv:2210.10760.

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import mdptoolkit as mt
    >>> from mdptoolkit import plot
    >>> lm = mt.language.toy(max_len=3)
    >>> bon = mt.rlhf.best_of_n(lm, 4)
    >>> ax = plot.reward_kl_frontier(lm, {"best-of-4": bon})
    >>> [line.get_label() for line in ax.get_lines()]
    ['exact optimum $p^*_\\beta$ (sweep of $\\beta$)', 'best-of-4']
    """
    betas = np.geomspace(20.0, 0.01, 60) if betas is None else np.asarray(betas, dtype=float)
    meter = Meter(lm, 0.0, reward)
    curve = np.array([meter(optimal_policy(lm, b, reward=meter.rewards))[1:] for b in betas])
    ax = _new_axes(ax, (6.4, 4.4))
    order = np.argsort(curve[:, 1])
    ax.plot(curve[order, 1], curve[order, 0], color="0.2", linewidth=2,
            label=r"exact optimum $p^*_\beta$ (sweep of $\beta$)")
    for k, (label, result) in enumerate(_named(results, labels)):
        color = f"C{k % 10}"
        history = getattr(result, "history", None)
        if isinstance(history, Mapping) and "reward" in history and "kl" in history:
            kl = np.asarray(history["kl"], dtype=float)
            r = np.asarray(history["reward"], dtype=float)
            (line,) = ax.plot(kl, r, color=color, linewidth=1.2, alpha=0.8, label=label)
            ax.plot(kl[-1:], r[-1:], color=color, marker="o", linestyle="none", label="_end")
        elif hasattr(result, "kl") and hasattr(result, "expected_reward"):
            ax.plot([result.kl], [result.expected_reward], color=color, marker="D",
                    linestyle="none", markersize=7, label=label)
        else:
            raise TypeError(f"results must have history['reward'] and history['kl'] or .kl and "
                            f".expected_reward; got {type(result).__name__}")
    ax.set_xlabel(r"$\mathrm{KL}(p_\pi \,\|\, p_{ref})$ (nats)")
    ax.set_ylabel(r"expected reward $\mathbb{E}_{p_\pi}[r]$")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize="small", loc="lower right")
    return ax


def overoptimization(result: OveroptimizationResult, *, fits: bool = True,
                     ax: Axes | None = None) -> Axes:
    r"""Gold and proxy reward against :math:`d = \sqrt{\mathrm{KL}}`, after Gao et al. (2022).

    Parameters
    ----------
    result : OveroptimizationResult
        From :func:`mdptoolkit.rlhf.overoptimization`.
    fits : bool
        Also draw the fitted forms :math:`d(\alpha - \beta d)` (best-of-n) and
        :math:`d(\alpha - \beta \log d)` (RL), shifted by the reference's gold reward.
    ax : matplotlib.axes.Axes, optional

    Returns
    -------
    matplotlib.axes.Axes
        Solid lines with filled markers: gold reward; dotted lines with hollow markers: the
        proxy; dashed: the fits. One legend entry per artist.

    References
    ----------
    Gao, L., Schulman, J. & Hilton, J. (2022). Scaling laws for reward model overoptimization,
    Figure 1. arXiv:2210.10760.

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import mdptoolkit as mt
    >>> from mdptoolkit import plot
    >>> res = mt.rlhf.overoptimization(mt.language.toy(), seed=0)
    >>> ax = plot.overoptimization(res)
    >>> len(ax.get_lines()), ax.get_lines()[0].get_label()
    (6, 'RL (optimum of the proxy): gold')
    """
    needed = ("rl_kl", "rl_gold", "rl_proxy", "bon_kl", "bon_gold", "bon_proxy", "gold_ref")
    missing = [name for name in needed if not hasattr(result, name)]
    if missing:
        raise TypeError(f"result must be an OveroptimizationResult; got "
                        f"{type(result).__name__} (no {', '.join(missing)})")
    ax = _new_axes(ax, (6.8, 4.6))
    series = (("RL (optimum of the proxy)", "C0", result.rl_kl, result.rl_gold, result.rl_proxy),
              ("best-of-n by the proxy", "C1", result.bon_kl, result.bon_gold, result.bon_proxy))
    for name, color, kl, gold, proxy in series:
        if kl[0] > 0:  # start the curve at the reference (d = 0), as best-of-1 does
            kl, gold = np.r_[0.0, kl], np.r_[result.gold_ref, gold]
            proxy = np.r_[result.proxy_ref, proxy]
        d = np.sqrt(kl)
        ax.plot(d, gold, color=color, marker="o", markersize=4, label=f"{name}: gold")
        ax.plot(d, proxy, color=color, marker="o", markersize=4, markerfacecolor="white",
                linestyle=":", label=f"{name}: proxy")
    if fits:
        top = max(float(np.sqrt(result.rl_kl).max()), float(np.sqrt(result.bon_kl).max()))
        grid = np.linspace(0.0, top, 200)
        a, b = result.rl_coef
        ax.plot(grid, result.gold_ref + gao_rl(grid, a, b), color="C0", linestyle="--",
                linewidth=1, label=rf"fit $d(\alpha - \beta \log d)$, $\alpha$={a:.2f}, "
                                   rf"$\beta$={b:.2f}")
        a, b = result.bon_coef
        ax.plot(grid, result.gold_ref + gao_bon(grid, a, b), color="C1", linestyle="--",
                linewidth=1, label=rf"fit $d(\alpha - \beta d)$, $\alpha$={a:.2f}, $\beta$={b:.2f}")
    ax.set_xlabel(r"$d = \sqrt{\mathrm{KL}(\pi \,\|\, \pi_{ref})}$")
    ax.set_ylabel("expected reward")
    ax.set_title(f"proxy fitted on {result.n_comparisons} comparisons", fontsize="medium")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize="x-small", loc="best")
    return ax
