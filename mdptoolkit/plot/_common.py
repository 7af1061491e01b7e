"""What the plots share: axis labels of history keys, reading series out of results, the
labelled legend, markers for infinite values."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import numpy as np



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
}
_NOT_MEASURES = ("elapsed", "episode")  # history entries that are x coordinates

# which history key each kind of solver message compares with tol (see result.MESSAGES)
_TOL_KEYS = {"error_bound": "span bound", "residual": "max|V_k+1 - V_k|", "grad_norm": "|grad J|"}
_TOL = re.compile(r"tol = ([-+0-9.eE]+|inf)")


def _new_axes(ax, figsize):
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax


def _labelled(results, labels):
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
    counts = {}
    for label, _ in pairs:
        counts[label] = counts.get(label, 0) + 1
    seen, out = {}, []
    for label, r in pairs:  # the same method twice: number them
        if counts[label] > 1:
            seen[label] = seen.get(label, 0) + 1
            label = f"{label} #{seen[label]}"
        out.append((label, r))
    return out


def _history(result):
    history = getattr(result, "history", None)
    if not isinstance(history, Mapping):
        raise TypeError(f"results must be solver results with a history mapping; got "
                        f"{type(result).__name__}")
    return history


def _default_key(result):
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


def _series(result, key, label):
    """The y-data of ``key``: the history entry itself, or J[-1] - J for an exact method."""
    history = _history(result)
    if key in history:
        return np.asarray(history[key], dtype=np.float64)
    if key == "gap" and "J" in history and getattr(result, "converged", False):
        J = np.asarray(history["J"], dtype=np.float64)
        return J[-1] - J
    raise ValueError(f"key must name a history entry of every result; got {key!r}, which "
                     f"{label!r} lacks (it has {sorted(history)})")


def _steps(result, n):
    """x of n history entries: the recorded episodes of sampled methods, else iteration
    numbers (from 0 when the history records the start)."""
    episode = _history(result).get("episode")
    if episode is not None and len(episode) == n:
        return np.asarray(episode)
    iterations = getattr(result, "iterations", None)
    start = 0 if iterations is not None and n == iterations + 1 else 1
    return np.arange(start, start + n)


def _x_label(results):
    """"iteration", "episode" (sampled methods) or both."""
    kinds = {"episode" if "episode" in _history(r) else "iteration" for r in results}
    return " / ".join(sorted(kinds, reverse=True))


def _tol_of(result, key):
    """The tol a converged result's stopping rule compared ``key`` with, else None."""
    marker = _TOL_KEYS.get(key)
    message = getattr(result, "message", "")
    if marker is None or marker not in message:
        return None
    match = _TOL.search(message)
    return float(match.group(1)) if match else None


def _mark_infinite(ax, xs, y, color):
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


def _explain_infinite(ax):
    ax.plot([], [], linestyle="none", marker="^", color="0.4",
            label="±∞ on the edge (a policy that never terminates)")


def _integer_ticks(axis):
    from matplotlib.ticker import MaxNLocator

    axis.set_major_locator(MaxNLocator(integer=True))


def _check_choice(value, name, choices):
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}; got {value!r}")
