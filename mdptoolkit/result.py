"""Solver results: frozen dataclasses with a summary-first repr."""

from __future__ import annotations

import types
from dataclasses import dataclass, field
from typing import Any, ClassVar, Mapping

import numpy as np

from ._typing import FloatArray, IntArray

__all__ = ["SolverResult", "GradientResult", "MESSAGES"]

#: The one table of solver messages: format strings keyed by outcome. ``converged: ...`` for
#: ``span``, ``residual``, ``stable``, ``horizon``, ``gain`` and ``lp``; ``stopped: ...`` for
#: ``max_iter``, ``stalled``, ``diverged``, ``callback``, ``precision`` and ``lp_failed``.
MESSAGES: dict[str, str] = {
    "span": "converged: span bound gamma/(1-gamma)*span(TV - V) = {value:.3g} <= tol = {tol:g} "
            "(max|V - V*| <= {bound:.3g})",
    "residual": "converged: max|V_k+1 - V_k| = {value:.3g} <= tol = {tol:g} (gamma = 1: tol bounds "
                "the Bellman residual, not the distance to V*)",
    "stable": "converged: policy stable after {k} improvement steps ({evaluation})",
    "horizon": "converged: {k} backward steps (exact)",
    "gain": "converged: span(T V - V) bounds the gain to within {value:.3g} <= tol = {tol:g}",
    "lp": "converged: HiGHS status {status} ({detail}); greedy policy evaluated exactly",
    "max_iter": "stopped: max_iter={max_iter} reached; {detail}",
    "stalled": "stopped: {what} stalled at {value:.3g} for {patience} iterations, above the "
               "{need:.3g} that tol = {tol:g} needs ({why})",
    "diverged": "stopped: values diverged at iteration {k} (max|V| = {value:.3g}); {why}",
    "callback": "stopped: callback returned True at iteration {k}",
    "precision": "stopped: the rows of P sum to 1 only within {row_error:.2g} in floating point, "
                 "which at gamma = {gamma:.10g} and |V| ~ {scale:.3g} limits the guaranteed "
                 "accuracy to ~{floor:.3g} > tol = {tol:g}; use a larger tol",
    "lp_failed": "stopped: HiGHS status {status}: {detail}",
}


def _freeze(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        value = value.view()
        value.flags.writeable = False
    return value


def _describe(array: Any) -> str:
    array = np.asarray(array)
    if array.size == 0:
        return f"array(shape={array.shape})"
    if array.size <= 6 and array.ndim == 1:
        return np.array2string(array, precision=4, separator=", ")
    finite = array[np.isfinite(array)] if array.dtype.kind == "f" else array
    if finite.size == 0:
        return f"array(shape={array.shape}, dtype={array.dtype})"
    return (f"array(shape={array.shape}, dtype={array.dtype}, "
            f"min={finite.min():.4g}, max={finite.max():.4g})")


class FrozenArrays:
    """Base of the frozen result dataclasses: the arrays named in ``_arrays`` are made
    read-only views and ``history`` (when present) a read-only mapping of read-only arrays."""

    _arrays: ClassVar[tuple[str, ...]] = ()

    def __post_init__(self) -> None:
        for name in self._arrays:
            object.__setattr__(self, name, _freeze(getattr(self, name)))
        if "history" in getattr(self, "__dataclass_fields__", {}):
            given = getattr(self, "history")  # a field of the dataclass, not of this base
            history = {k: _freeze(np.asarray(v)) for k, v in dict(given).items()}
            object.__setattr__(self, "history", types.MappingProxyType(history))


class GapToOptimum:
    """``gap`` = optimum − J, for results measured against the DP optimum."""

    optimum: float  # fields of the dataclasses that inherit this (annotations only)
    J: float

    @property
    def gap(self) -> float:
        """optimum − J of the final policy."""
        return self.optimum - self.J


@dataclass(frozen=True, repr=False)
class SolverResult(FrozenArrays):
    r"""What every dynamic-programming solver returns.

    Attributes
    ----------
    V : ndarray (S,)
        Values (for :func:`~mdptoolkit.backward_induction`: (horizon + 1, S); for
        :func:`~mdptoolkit.relative_value_iteration`: the bias, with ``V[0] = 0``).
    Q : ndarray (S, A)
        Action values computed from ``V`` (``-inf`` at disallowed actions).
    policy : ndarray
        Int (S,) for deterministic solvers, (S, A) for soft ones, (horizon, S) for backward
        induction.
    iterations : int
        Number of iterations (backups, improvement steps or simplex iterations).
    converged : bool
        True only when the method's stopping guarantee holds (see ``message``).
    method : str
        The solver's function name.
    message : str
        Why the solver stopped, from :data:`~mdptoolkit.result.MESSAGES`.
    history : Mapping[str, ndarray]
        One 1-D array per recorded quantity with one entry per iteration, ready to plot.
    error_bound : float or None
        A guaranteed bound on :math:`\max_s |V(s) - V^*(s)|` when the method gives one.
    occupancy : ndarray (S, A) or None
        Discounted state–action occupancy (set by :func:`~mdptoolkit.linear_programming`).
    gain : float or None
        Optimal average reward (set by :func:`~mdptoolkit.relative_value_iteration`).

    Examples
    --------
    >>> import numpy as np, mdptoolkit as mt
    >>> mdp = mt.MDP(np.ones((1, 2, 1)), [[1.0, 2.0]], 0.5)
    >>> result = mt.policy_iteration(mdp)
    >>> result.converged, result.policy, result.V
    (True, array([1]), array([4.]))
    >>> sorted(result.history)
    ['J', 'elapsed', 'policy_changes', 'sweeps']
    """

    V: FloatArray
    Q: FloatArray
    policy: IntArray | FloatArray
    iterations: int
    converged: bool
    method: str
    message: str
    history: Mapping[str, np.ndarray] = field(default_factory=dict)
    error_bound: float | None = None
    occupancy: FloatArray | None = None
    gain: float | None = None

    _arrays: ClassVar[tuple[str, ...]] = ("V", "Q", "policy", "occupancy")

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__}(method={self.method!r}, converged={self.converged}, "
                 f"iterations={self.iterations},",
                 f"    message={self.message!r},"]
        if self.error_bound is not None:
            lines.append(f"    error_bound={self.error_bound:.3g},")
        if self.gain is not None:
            lines.append(f"    gain={self.gain:.10g},")
        lines.append(f"    V={_describe(self.V)},")
        lines.append(f"    policy={_describe(self.policy)},")
        lines.append(f"    history keys={sorted(self.history)})")
        return "\n".join(lines)


@dataclass(frozen=True, repr=False)
class GradientResult(GapToOptimum, FrozenArrays):
    r"""What the gradient methods return, measured against the DP optimum of the same objective.

    Attributes
    ----------
    theta : ndarray
        Final parameters.
    policy : ndarray (S, A)
        The policy of ``theta``.
    J : float
        Exact objective of the final policy.
    optimum : float
        The DP optimum of the same objective (plain or KL-regularized).
    iterations : int
        Parameter updates made.
    converged : bool
        The gradient norm fell below ``tol`` (a stationary point of the parametrized objective,
        not necessarily the optimum for a restricted policy class).
    method : str
    message : str
    history : Mapping[str, ndarray]
        ``J``, ``gap`` (optimum − J), ``grad_norm`` (one entry per evaluated iterate, the start
        included), ``elapsed``; method-specific extras such as ``critic_error``.

    Examples
    --------
    >>> import numpy as np, mdptoolkit as mt
    >>> mdp = mt.MDP(np.ones((1, 2, 1)), [[1.0, 2.0]], 0.5)
    >>> result = mt.policy_gradient(mdp, iterations=3)
    >>> result.optimum, len(result.history["J"])
    (4.0, 4)
    """

    theta: FloatArray
    policy: FloatArray
    J: float
    optimum: float
    iterations: int
    converged: bool
    method: str
    message: str
    history: Mapping[str, np.ndarray] = field(default_factory=dict)

    _arrays: ClassVar[tuple[str, ...]] = ("theta", "policy")

    def __repr__(self) -> str:
        return "\n".join([
            f"{type(self).__name__}(method={self.method!r}, converged={self.converged}, "
            f"iterations={self.iterations},",
            f"    message={self.message!r},",
            f"    J={self.J:.10g}, optimum={self.optimum:.10g}, gap={self.gap:.3g},",
            f"    theta={_describe(self.theta)},",
            f"    history keys={sorted(self.history)})"])
