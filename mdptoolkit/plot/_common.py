"""What the plots share: axis labels of history keys, reading series out of results, the
labelled legend, markers for infinite values."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.axis import Axis
    from matplotlib.legend import Legend

#: How each history key reads on an axis.
KEY_LABELS = {
    "residual": r"residual $\max_s |V_{k+1}(s) - V_k(s)|$",
    "error_bound": r"error bound on $\max_s |V_k(s) - V^*(s)|$",
    "gap": r"gap $J^* - J(\pi_k)$",
    "J": r"$J(\pi_k) = \mu^\top V^{\pi_k}$",
    "grad_norm": r"$\|\nabla_\theta J(\theta_k)\|$",
    "policy_changes": "states whose action changed",
    "critic_error": r"critic error $\max_s |w_k(s) - V^{\pi_k}(s)|$",
    "objective": "LP objective",
    "error": r"error $\max_s |V_k(s) - V^\pi(s)|$",
    "q_error": r"$\max_{s,a} |Q_k(s,a) - Q^*(s,a)|$",
    "returns": "sum of rewards during episode",
}
_NOT_MEASURES = ("elapsed", "episode")  # history entries that are x coordinates

# which history key each kind of solver message compares with tol (see result.MESSAGES)
_TOL_KEYS = {"error_bound": "span bound", "residual": "max|V_k+1 - V_k|", "grad_norm": "|grad J|"}
_TOL = re.compile(r"tol = ([-+0-9.eE]+|inf)")


def _new_axes(ax: Axes | None, figsize: tuple[float, float]) -> Axes:
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax


def _labelled(results: Any, labels: Sequence[str] | None) -> list[tuple[str, Any]]:
    """[(label, result)] from one result, a sequence, or a mapping label -> result."""
    if isinstance(results, Mapping):
        pairs = [(str(k), v) for k, v in results.items()]
    else:
        if not isinstance(results, Sequence) or isinstance(results, str):
            results = [results]
        pairs = [(getattr(r, "method", f"result {i}"), r) for i, r in enumerate(results)]
    if not pairs:
        raise ValueError("results must hold at least one result; got none")
    if labels is not None:
        labels = [str(label) for label in labels]
        if len(labels) != len(pairs):
            raise ValueError(f"labels must have one entry per result; got {len(labels)} labels "
                             f"for {len(pairs)} results")
        return list(zip(labels, (r for _, r in pairs)))
    counts: dict[str, int] = {}
    for label, _ in pairs:
        counts[label] = counts.get(label, 0) + 1
    seen: dict[str, int] = {}
    out: list[tuple[str, Any]] = []
    for label, r in pairs:  # the same method twice: number them
        if counts[label] > 1:
            seen[label] = seen.get(label, 0) + 1
            label = f"{label} #{seen[label]}"
        out.append((label, r))
    return out


def _history(result: Any) -> Mapping[str, Any]:
    history = getattr(result, "history", None)
    if not isinstance(history, Mapping):
        raise TypeError(f"results must be solver results with a history mapping; got "
                        f"{type(result).__name__}")
    return history


def _default_key(result: Any) -> str:
    """The natural convergence measure of a result (see :func:`convergence`)."""
    history = _history(result)
    if "gap" in history:
        return "gap"
    bound = history.get("error_bound")
    if bound is not None and np.isfinite(bound).any():
        return "error_bound"
    if "residual" in history:
        return "residual"
    if "error" in history:
        return "error"  # sampled evaluation: distance to V^pi
    if "J" in history and getattr(result, "converged", False):
        return "gap"  # policy iteration: exact, so the last J is J*
    for key in history:
        if key not in _NOT_MEASURES:
            return key
    raise ValueError(f"result of {getattr(result, 'method', '?')!r} has no history to plot")


def _series(result: Any, key: str, label: str) -> np.ndarray:
    """The y-data of ``key``: the history entry itself, J[-1] - J for an exact method, or a
    one-dimensional array attribute of the result (e.g. ``returns``, one per episode)."""
    history = _history(result)
    if key in history:
        return np.asarray(history[key], dtype=np.float64)
    if key == "gap" and "J" in history and getattr(result, "converged", False):
        J = np.asarray(history["J"], dtype=np.float64)
        return J[-1] - J
    value = getattr(result, key, None) if isinstance(key, str) and key.isidentifier() else None
    if value is not None and not callable(value) and np.ndim(value) == 1:
        return np.asarray(value, dtype=np.float64)
    raise ValueError(f"key must name a history entry or a one-dimensional array attribute of "
                     f"every result; got {key!r}, which {label!r} lacks (its history has "
                     f"{sorted(history)})")


def _attribute_steps(result: Any, key: str, n: int) -> np.ndarray | None:
    """x of an attribute series: 1..n (e.g. ``returns``: one entry per training episode)."""
    return np.arange(1, n + 1) if key not in _history(result) else None


def _steps(result: Any, n: int) -> np.ndarray:
    """x of n history entries: the recorded episodes of sampled methods, else iteration
    numbers (from 0 when the history records the start)."""
    episode = _history(result).get("episode")
    if episode is not None and len(episode) == n:
        return np.asarray(episode)
    iterations = getattr(result, "iterations", None)
    start = 0 if iterations is not None and n == iterations + 1 else 1
    return np.arange(start, start + n)


def _x_label(results: Sequence[Any]) -> str:
    """"iteration", "episode" (sampled methods) or both."""
    kinds = {"episode" if "episode" in _history(r) else "iteration" for r in results}
    return " / ".join(sorted(kinds, reverse=True))


def _tol_of(result: Any, key: str) -> float | None:
    """The tol a converged result's stopping rule compared ``key`` with, else None."""
    marker = _TOL_KEYS.get(key)
    message = getattr(result, "message", "")
    if marker is None or marker not in message:
        return None
    match = _TOL.search(message)
    return float(match.group(1)) if match else None


def _mark_infinite(ax: Axes, xs: np.ndarray, y: np.ndarray, color: Any) -> bool:
    """Draw ±inf entries (e.g. J = -inf of a policy that never terminates, gamma = 1) as
    markers on the top (+inf) or bottom (-inf) edge, where a line cannot go."""
    xs = np.asarray(xs, dtype=np.float64)
    for sign, height, marker in ((1, 0.98, "^"), (-1, 0.02, "v")):
        hit = np.isinf(y) & (np.sign(y) == sign)
        if hit.any():
            ax.plot(xs[hit], np.full(hit.sum(), height), linestyle="none", marker=marker,
                    markersize=4, color=color, alpha=0.6, transform=ax.get_xaxis_transform(),
                    clip_on=False, label="_infinite")
    return bool(np.isinf(y).any())


def _explain_infinite(ax: Axes) -> None:
    ax.plot([], [], linestyle="none", marker="^", color="0.4",
            label="±∞ on the edge (a policy that never terminates)")


def _integer_ticks(axis: Axis) -> None:
    from matplotlib.ticker import MaxNLocator

    axis.set_major_locator(MaxNLocator(integer=True))


def _plain_log_ticks(axis: Axis) -> None:
    """Plain tick labels on a log axis: "0.4", never "4×10⁻¹". Powers of ten read
    :math:`10^{k}` when the axis spans two decades or more; under two decades the 2 and 5
    multiples are labelled too, in plain numbers."""
    from matplotlib.ticker import FuncFormatter, LogLocator

    def decades() -> float:
        low, high = sorted(axis.get_view_interval())
        return np.log10(high / low) if low > 0 and high > 0 else np.inf

    def plain(v: float) -> str:
        return f"{v:.10g}" if 1e-4 <= abs(v) < 1e5 else f"{v:.0e}".replace("e-0", "e-") \
            .replace("e+0", "e")

    def major(v: float, _: Any) -> str:
        if v <= 0:
            return ""
        k = np.log10(v)
        if decades() >= 2:
            return f"$10^{{{int(round(k))}}}$" if abs(k - round(k)) < 1e-9 else ""
        return plain(v)

    def minor(v: float, _: Any) -> str:
        if v <= 0 or decades() >= 2:
            return ""
        lead = round(v / 10 ** np.floor(np.log10(v) + 1e-9), 6)
        return plain(v) if lead in (2.0, 5.0) or (decades() < 0.5 and lead == int(lead)) else ""

    axis.set_major_locator(LogLocator(base=10))
    axis.set_minor_locator(LogLocator(base=10, subs=list(range(2, 10))))
    axis.set_major_formatter(FuncFormatter(major))
    axis.set_minor_formatter(FuncFormatter(minor))


def _legend_below(ax: Axes, handles: Sequence[Any] | None = None,
                  labels: Sequence[str] | None = None, *, ncol: int | None = None) -> Legend | None:
    """A legend under the axes (below the x label), off the data; None when nothing is
    labelled."""
    from matplotlib.transforms import ScaledTranslation

    if handles is None or labels is None:
        handles, labels = ax.get_legend_handles_labels()
    if not handles:
        return None
    ncol = ncol or (1 if max(map(len, labels)) > 40 else min(3, len(labels)))
    below = ax.transAxes + ScaledTranslation(0, -0.5, ax.figure.dpi_scale_trans)
    return ax.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, 0),
                     bbox_transform=below, ncol=ncol, fontsize="small", frameon=False)
