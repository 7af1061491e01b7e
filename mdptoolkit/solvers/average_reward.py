r"""The average-reward (gain) criterion: relative value iteration (Puterman 2005, §8.5).

For a unichain MDP the optimal gain :math:`g^*` and a bias :math:`h` solve
:math:`h(s) + g^* = \max_a R(s, a) + \sum_{s'} P(s' \mid s, a) h(s')`. Relative value iteration
runs on the aperiodicity-transformed MDP :math:`\tilde P = \tau P + (1-\tau) I`,
:math:`\tilde R = \tau R` (§8.5.4), which has gain :math:`\tau g^*` and the same bias, so it
converges also for periodic chains. With :math:`\tilde T` its operator, every iterate satisfies
:math:`\min_s (\tilde T v - v)(s) \le \tau g^* \le \max_s (\tilde T v - v)(s)` (Thm 8.5.5).
"""

from __future__ import annotations

import time
import warnings

import numpy as np

from .. import _validation as val
from .._stopping import callback_state
from .._typing import ArrayLike, Callback
from ..exceptions import ConvergenceWarning
from ..mdp import MDP
from ..operators import _Backup
from ..result import MESSAGES, SolverResult

__all__ = ["relative_value_iteration"]


def relative_value_iteration(mdp: MDP, *, tol: float = 1e-8, max_iter: int = 100_000,
                             tau: float = 0.5, V0: ArrayLike | None = None,
                             callback: Callback | None = None) -> SolverResult:
    r"""Optimal gain and bias of a unichain MDP (``mdp.gamma`` is ignored).

    Parameters
    ----------
    mdp : MDP
        Assumed unichain (every stationary policy has a single recurrent class); the bounds
        on the gain hold for weakly communicating MDPs as well.
    tol : float
        On ``converged=True``, :math:`|g - g^*| \le` ``tol``, by the bounds above.
    max_iter : int
    tau : float in (0, 1]
        Aperiodicity transformation (1 = none). The default 0.5 makes every chain aperiodic.
    V0 : array_like (S,), optional
        Initial bias guess.
    callback : callable, optional
        ``callback(k, state)`` with ``state.V`` and ``state.gain_bounds``.

    Returns
    -------
    SolverResult
        ``gain``: the midpoint of the final bounds; ``V``: the bias, normalized so that
        ``V[0] = 0``; ``policy``: greedy in the bias. ``history`` has one entry per iteration
        (``iterations`` entries): ``gain_lower``, ``gain_upper``, ``residual`` (span of the
        bounds) and ``elapsed``.

    References
    ----------
    Puterman, M. L. (2005), §8.5.

    Examples
    --------
    A two-state cycle (periodic: plain relative value iteration would oscillate) earning 1 and
    3 alternately has gain 2.

    >>> import numpy as np, mdptoolkit as mt
    >>> P = np.array([[[0.0, 1.0]], [[1.0, 0.0]]])
    >>> result = mt.relative_value_iteration(mt.MDP(P, [[1.0], [3.0]], 1.0))
    >>> round(result.gain, 9), np.round(result.V, 9)
    (2.0, array([0., 1.]))
    """
    tol = val.check_positive(tol, "tol")
    max_iter = val.check_positive(max_iter, "max_iter", integer=True)
    tau = val.check_positive(tau, "tau")
    if tau > 1:
        raise ValueError(f"tau must be in (0, 1]; got {tau!r}")
    S = mdp.n_states
    V = np.zeros(S) if V0 is None else val.as_float_array(V0, "V0", shape=(S,))
    backup = _Backup(mdp, gamma=1.0)
    lower, upper, elapsed, start = [], [], [], time.perf_counter()
    converged, by_callback, k = False, False, 0
    for k in range(1, max_iter + 1):
        TV = tau * backup.max(V)[0] + (1.0 - tau) * V
        diff = TV - V
        lo, hi = float(diff.min()), float(diff.max())
        lower.append(lo / tau)
        upper.append(hi / tau)
        elapsed.append(time.perf_counter() - start)
        V = TV - TV[0]
        if (hi - lo) / (2 * tau) <= tol:
            converged = True
            break
        if callback is not None and callback(k, callback_state(V=V, gain_bounds=(lo / tau,
                                                                             hi / tau))):
            by_callback = True
            break
    gain = (lower[-1] + upper[-1]) / 2
    span = upper[-1] - lower[-1]
    if converged:
        message = MESSAGES["gain"].format(value=span / 2, tol=tol)
    elif by_callback:
        message = MESSAGES["callback"].format(k=k)
    else:
        message = MESSAGES["max_iter"].format(
            max_iter=max_iter, detail=f"gain bounds [{lower[-1]:.6g}, {upper[-1]:.6g}] (is the MDP "
                                      f"multichain?)")
        warnings.warn(message, ConvergenceWarning, stacklevel=2)
    Q = backup.q(V).T.copy()
    return SolverResult(V=V, Q=Q, policy=np.argmax(Q, axis=1), iterations=k, converged=converged,
                        method="relative_value_iteration", message=message,
                        history={"gain_lower": np.array(lower), "gain_upper": np.array(upper),
                                 "residual": np.array(upper) - np.array(lower),
                                 "elapsed": np.array(elapsed)},
                        error_bound=None, gain=float(gain))
