r"""Finite-horizon dynamic programming: backward induction (Puterman 2005, §4.5).

.. math::

    V_H = v_{\text{terminal}}, \qquad
    Q_t(s, a) = R(s, a) + \gamma \sum_{s'} P(s' \mid s, a) V_{t+1}(s'), \qquad
    V_t(s) = \max_a Q_t(s, a), \quad t = H-1, \dots, 0.
"""

from __future__ import annotations

import time

import numpy as np

from .. import _validation as val
from .._typing import ArrayLike
from ..evaluation.chain import check_finite_values
from ..mdp import MDP
from ..operators import _Backup
from ..result import MESSAGES, SolverResult

__all__ = ["backward_induction"]


#: Default largest size of the result (V, Q and policy together), in bytes.
MAX_BYTES = 2**33


def backward_induction(mdp: MDP, horizon: int, *, terminal_values: ArrayLike | None = None,
                       max_bytes: int = MAX_BYTES) -> SolverResult:
    r"""Optimal non-stationary policy for a finite horizon.

    Parameters
    ----------
    mdp : MDP
        Discounting uses ``mdp.gamma`` (often 1 for finite-horizon problems).
    horizon : int
        Number of decisions H >= 1.
    terminal_values : array_like (S,), optional
        :math:`V_H`, the value of ending in each state (default 0).
    max_bytes : int, default 2**33 (8 GiB)
        The result holds (H + 1)·S values, H·S·A action values and H·S actions, 8 bytes each;
        a horizon that needs more than ``max_bytes`` is refused before anything is allocated.

    Returns
    -------
    SolverResult
        ``V`` of shape (H + 1, S): ``V[t]`` is the optimal value with H - t decisions to go
        (``V[H]`` = terminal values); ``Q`` (H, S, A); ``policy`` (H, S) with ``policy[t]`` the
        decision at time t (lowest index among ties). Exact: ``converged`` is True.
        ``history`` has one entry per backward step (``iterations`` = H entries):
        ``history["residual"][k]`` is max|V_t - V_t+1| at the k-th backward step, and
        ``elapsed``.

    Raises
    ------
    MDPValidationError
        When the result would take more than ``max_bytes`` (the message names the size), or
        when the values overflow float64.

    References
    ----------
    Puterman, M. L. (2005), §4.5, and the inventory example of §4.6.1.

    Examples
    --------
    A two-step problem: stay for 1, or jump to a state that pays 3 once.

    >>> import numpy as np, mdptoolkit as mt
    >>> P = np.zeros((2, 2, 2)); P[0, 0, 0] = P[0, 1, 1] = P[1, :, 1] = 1
    >>> mdp = mt.MDP(P, [[1.0, 0.0], [3.0, 3.0]], 1.0)
    >>> result = mt.backward_induction(mdp, 2)
    >>> result.V
    array([[3., 6.],
           [1., 3.],
           [0., 0.]])
    >>> result.policy
    array([[1, 0],
           [0, 0]])
    """
    H = val.check_positive(horizon, "horizon", integer=True)
    max_bytes = val.check_positive(max_bytes, "max_bytes", integer=True)
    S, A = mdp.n_states, mdp.n_actions
    n_bytes = 8 * ((H + 1) * S + H * S * A + H * S)
    if n_bytes > max_bytes:
        raise val.MDPValidationError(
            f"the result of backward_induction must take at most max_bytes={max_bytes:,} bytes; "
            f"got 8*((H + 1)*S + H*S*A + H*S) = {n_bytes:,} bytes ({n_bytes / 2**30:.3g} GiB) for "
            f"horizon H={H:,}, S={S}, A={A} (use a shorter horizon, or pass a larger max_bytes)")
    V = np.zeros((H + 1, S))
    if terminal_values is not None:
        V[H] = val.as_float_array(terminal_values, "terminal_values", shape=(S,))
    Q = np.empty((H, S, A))
    policy = np.empty((H, S), dtype=np.intp)
    backup = _Backup(mdp)
    residual, elapsed, start = [], [], time.perf_counter()
    for t in range(H - 1, -1, -1):
        Q_am = backup.q(V[t + 1])
        Q[t] = Q_am.T
        policy[t] = np.argmax(Q_am, axis=0)
        V[t] = Q_am.max(axis=0)
        residual.append(float(np.abs(V[t] - V[t + 1]).max()))
        elapsed.append(time.perf_counter() - start)
    check_finite_values(V, "backward_induction")
    return SolverResult(V=V, Q=Q, policy=policy, iterations=H, converged=True,
                        method="backward_induction", message=MESSAGES["horizon"].format(k=H),
                        history={"residual": np.array(residual), "elapsed": np.array(elapsed)},
                        error_bound=0.0)
