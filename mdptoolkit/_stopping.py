r"""The a-posteriori stopping rule shared by value iteration, modified policy iteration, soft
value iteration and iterative evaluation.

For an operator :math:`T` that is monotone and satisfies :math:`T(v + c\mathbf 1) = Tv +
\gamma c \mathbf 1` (the optimality, expectation and soft operators all do), let
:math:`m = \min_s (Tv - v)(s)` and :math:`M = \max_s (Tv - v)(s)`. Then (Puterman 2005,
Thm 6.6.3; MacQueen 1966; Porteus 1971)

.. math::

    Tv + \tfrac{\gamma}{1-\gamma} m \;\le\; v^* \;\le\; Tv + \tfrac{\gamma}{1-\gamma} M .

Returning the midpoint :math:`Tv + \tfrac{\gamma}{1-\gamma}\tfrac{m+M}{2}` therefore errs by at
most :math:`\tfrac{\gamma}{2(1-\gamma)}\,\mathrm{sp}(Tv - v)`, where the span
:math:`\mathrm{sp}(x) = \max x - \min x` ignores any constant offset — which is why the rule
stops after a handful of iterations where the sup-norm rule (Thm 6.3.1) needs hundreds.

The bounds hold for *every* :math:`v`, so a run that stops short of ``tol`` (``max_iter``, a
stall at round-off level, a callback) still returns the midpoint and its bound as
``error_bound``; only a run that overflows has none (and is refused), and with
:math:`\gamma = 1` there is no bound at all (``error_bound`` is None and the message says so).

A stall (no new smallest bound for :data:`PATIENCE` iterations) is declared only where
round-off explains it: when the smallest bound seen is within the floating-point noise of
:math:`Tv - v`, about :math:`(16 + \sqrt S)\,\epsilon \max|Tv|` per entry (a sum over up to
S successors), times the rule's factor. Above that level a pause is the method's own
transient (modified policy iteration's span need not shrink at every step) and the run goes on.
"""

from __future__ import annotations

import types
import warnings
from typing import Any

import numpy as np

from ._typing import FloatArray
from .exceptions import ConvergenceWarning, MDPValidationError
from .result import MESSAGES

PATIENCE = 100  # iterations without a new minimum of the span before declaring a stall
EPS = float(np.finfo(float).eps)


class SpanRule:
    """Tracks Tv - v over iterations and decides when the guarantee holds.

    ``factor`` is gamma/(1-gamma). The rule stops when ``factor * span * max(1/2, gamma) <= tol``
    so that both the corrected values (error <= factor*span/2) and the greedy policy of the
    corrected values (error <= gamma*factor*span) are within ``tol`` of the optimum.
    For gamma = 1 it stops on the sup-norm residual and promises only that.
    """

    def __init__(self, gamma: float, tol: float, n_states: int, *,
                 what: str = "the bound gamma/(1-gamma)*span(TV - V)", row_error: float = EPS,
                 work: FloatArray | None = None) -> None:
        self.gamma = gamma
        self.row_error = max(float(row_error), EPS)
        self.tol = tol
        self.discounted = gamma < 1.0
        self.factor = gamma / (1.0 - gamma) if self.discounted else np.inf
        self.weight = self.factor * max(0.5, gamma) if self.discounted else 1.0
        self.patience = PATIENCE if self.discounted else PATIENCE + n_states
        self.noise = (16.0 + float(np.sqrt(n_states))) * EPS  # relative round-off of TV - V
        self.floor = 0.0  # the bound's round-off level at the last iteration
        self.what = what if self.discounted else "max|TV - V|"
        self.best = np.inf
        self.best_k = 0
        self.residual: list[float] = []
        self.bound: list[float] = []
        self.value = np.nan
        self.offset = 0.0
        self.stats = (np.nan, np.nan, np.nan)  # min, max of TV - V and max|TV| last recorded
        self.model = 0.0  # the row-sum round-off term of the bound at the last iteration
        self.stop_reason: str | None = None
        self._diff = work  # scratch (S,) array for TV - V; the caller's, when it has one free

    def update(self, k: int, V: FloatArray, TV: FloatArray) -> bool:
        """Record iteration k; return True when the guarantee holds."""
        if self._diff is None:
            self._diff = np.empty_like(TV)  # one buffer for every iteration
        diff = np.subtract(TV, V, out=self._diff)
        lo, hi = float(diff.min()), float(diff.max())
        scale = max(float(TV.max()), -float(TV.min()))  # max|TV| without a temporary
        return self.record(k, lo, hi, scale, TV=TV)

    def record(self, k: int, lo: float, hi: float, scale: float, TV: FloatArray | None = None,
               finite: bool = True) -> bool:
        """:meth:`update` from the statistics of TV - V (its min and max) and max|TV|; the
        compiled loops (:mod:`mdptoolkit.solvers._kernels`) compute them on the fly. ``TV``
        (or the flag ``finite``) tells whether every entry of TV is finite."""
        self.stats = (lo, hi, scale)
        residual = max(hi, -lo)
        self.residual.append(residual)
        if self.discounted:
            span = hi - lo
            self.offset = self.factor * (hi + lo) / 2
            # Rows of P sum to 1 only within row_error in floating point; the bounds' constant
            # shifts are then off by up to that fraction, amplified by gamma/(1-gamma).
            self.model = self.factor * self.row_error * (abs(self.offset) + scale)
            value = self.weight * span + self.model
            self.bound.append(self.factor * span / 2 + self.model)
            if self.model > self.tol and self.weight * span <= self.tol:
                self.value = value
                self.stop_reason = "precision"
                return False
        else:
            value = residual
            self.bound.append(np.nan)
        self.value = value
        if not np.isfinite(value) or not (finite if TV is None else np.isfinite(TV).all()):
            self.stop_reason = "diverged"
            return False
        if value <= self.tol:
            return True
        if self.discounted:
            self.floor = self.weight * self.noise * scale + self.model
        if value < self.best:
            self.best, self.best_k = value, k
        elif k - self.best_k >= self.patience and (not self.discounted
                                                   or self.best <= 2 * self.floor):
            self.stop_reason = "stalled"
        return False

    def extend(self, stats: FloatArray, best: float, best_k: int) -> None:
        """Record iterations that needed no decision (the compiled loop made it: the bound
        above tol and no stall), from their rows (min, max of TV - V, max|TV|) in ``stats``;
        ``best``, ``best_k``: the smallest bound so far and its iteration (gamma < 1)."""
        if len(stats):
            lo, hi, scale = stats[:, 0], stats[:, 1], stats[:, 2]
            self.residual.extend(np.maximum(hi, -lo).tolist())
            model = self.factor * self.row_error * (np.abs(self.factor * (hi + lo) / 2) + scale)
            self.bound.extend((self.factor * (hi - lo) / 2 + model).tolist())
        self.best, self.best_k = best, best_k

    def corrected(self, TV: FloatArray, out: FloatArray | None = None) -> FloatArray:
        """The returned values: the midpoint of the bounds (gamma < 1) or TV itself
        (``out=TV`` corrects in place)."""
        if not self.discounted:
            return TV
        return np.add(TV, self.offset, out=out)

    @property
    def error_bound(self) -> float | None:
        """max|V - V*| of the corrected values (every exit but an overflow); None for gamma = 1."""
        if not self.discounted or not self.bound or not np.isfinite(self.bound[-1]):
            return None
        return float(self.bound[-1])

    def check_overflow(self, where: str) -> None:
        """With gamma < 1 the iterates stay within max|R|/(1-gamma); a non-finite one means
        float64 overflowed (the bounds multiply values by gamma/(1-gamma)): refuse."""
        if self.discounted and self.stop_reason == "diverged":
            raise MDPValidationError(
                f"the values and their bounds must fit in float64; got a non-finite value at "
                f"iteration {len(self.residual)} of {where} (gamma/(1-gamma) = {self.factor:.3g}): "
                f"the values overflow float64 (rescale the rewards)")

    def converged_message(self) -> str:
        if self.discounted:
            return MESSAGES["span"].format(value=self.value, tol=self.tol, bound=self.bound[-1])
        return MESSAGES["residual"].format(value=self.value, tol=self.tol)

    def failure_message(self, k: int, max_iter: int, scale: float) -> str:
        if self.stop_reason == "diverged":
            why = ("with gamma = 1 some states cannot reach a terminal state, or a cycle earns "
                   "positive reward forever")
            return MESSAGES["diverged"].format(k=k, value=scale, why=why)
        if self.stop_reason == "precision":
            return MESSAGES["precision"].format(row_error=self.row_error, gamma=self.gamma,
                                                scale=scale, floor=self.model,
                                                tol=self.tol) + self.returned()
        if self.stop_reason == "stalled":
            noise = np.finfo(float).eps * max(scale, 1.0)
            if self.discounted:
                why = (f"floating-point round-off at |V| ~ {scale:.3g} is ~{noise:.1g} per entry "
                       f"and the bound multiplies it by gamma/(1-gamma) = {self.factor:.3g}; "
                       f"use a larger tol")
            else:
                why = ("with gamma = 1 this happens when some states never reach a terminal "
                       "state and their values drift")
            message = MESSAGES["stalled"].format(what=self.what, value=self.best,
                                                 patience=self.patience, need=self.tol,
                                                 tol=self.tol, why=why)
            return message + self.returned()
        detail = f"{self.what} = {self.value:.3g} > tol = {self.tol:g}"
        return MESSAGES["max_iter"].format(max_iter=max_iter, detail=detail) + self.returned()

    def returned(self) -> str:
        """What the returned values of a run that stopped short of tol guarantee."""
        if self.discounted:
            return (f"; the returned V is the corrected midpoint of the bounds, "
                    f"max|V - V*| <= {self.bound[-1]:.3g} (error_bound)")
        return "; with gamma = 1 nothing bounds max|V - V*| (error_bound is None)"

    def final_message(self, converged: bool, by_callback: bool, k: int, max_iter: int,
                      scale: float) -> str:
        """The result's message; a :class:`ConvergenceWarning` too when the guarantee fails."""
        if converged:
            return self.converged_message()
        if by_callback:
            return MESSAGES["callback"].format(k=k) + self.returned()
        message = self.failure_message(k, max_iter, scale)
        warnings.warn(message, ConvergenceWarning, stacklevel=3)
        return message

    def history(self, elapsed: list[float]) -> dict[str, FloatArray]:
        return {"residual": np.array(self.residual), "error_bound": np.array(self.bound),
                "elapsed": np.array(elapsed)}


def callback_state(**fields: Any) -> types.SimpleNamespace:
    """The read-only record handed to ``callback(k, state)``."""
    return types.SimpleNamespace(**{k: (v.copy() if isinstance(v, np.ndarray) else v)
                                    for k, v in fields.items()})
