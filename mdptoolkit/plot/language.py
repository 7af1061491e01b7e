r"""Language MDPs: the most likely sentences of a policy."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .._typing import ArrayLike
from ._common import _new_axes

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from ..language import LanguageMDP


def sequence_distribution(language_mdp: LanguageMDP, policy: ArrayLike, k: int = 10, *,
                          title: str | None = None, ax: Axes | None = None) -> Axes:
    r"""Horizontal bar chart of the ``k`` most likely complete sequences under a policy.

    Parameters
    ----------
    language_mdp : mdptoolkit.language.LanguageMDP
    policy : array_like
        Deterministic (S,) or stochastic (S, A) policy of ``language_mdp.mdp``.
    k : int, default 10
        Number of sequences (fewer when fewer have positive probability).
    title : str, optional
    ax : matplotlib.axes.Axes, optional

    Returns
    -------
    matplotlib.axes.Axes
        Bars from the most likely (top) down, each labelled with its sentence
        (``"(empty)"`` for the empty sequence) and probability.

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> from mdptoolkit import language, plot
    >>> lm = language.toy(max_len=3)
    >>> ax = plot.sequence_distribution(lm, lm.reference_policy, k=3)
    >>> [t.get_text() for t in ax.get_yticklabels()][0]
    'the mat'
    """
    if not hasattr(language_mdp, "top_sequences"):
        raise TypeError(f"language_mdp must be a LanguageMDP; got {type(language_mdp).__name__}")
    top = language_mdp.top_sequences(policy, k)
    names = [" ".join(map(str, y)) if y else "(empty)" for y, _ in top]
    probs = np.array([p for _, p in top], dtype=np.float64)
    ax = _new_axes(ax, (7, 1.2 + 0.38 * max(len(top), 1)))
    positions = np.arange(len(top))
    bars = ax.barh(positions, probs, color="C0", height=0.7)
    ax.bar_label(bars, labels=[f"{p:.3f}" for p in probs], padding=3, fontsize="small")
    ax.set_yticks(positions, names)
    ax.invert_yaxis()  # most likely on top
    ax.set_xlim(0, max(probs.max() * 1.18, 1e-12) if probs.size else 1)
    ax.set_xlabel("probability of the complete sequence")
    ax.grid(True, axis="x", alpha=0.3)
    ax.set_title(title if title is not None else f"{len(top)} most likely sequences")
    return ax
