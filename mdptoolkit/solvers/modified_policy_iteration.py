r"""Modified policy iteration (Puterman 2005, §6.5): a greedy step, then ``m`` applications of
:math:`T^\pi`; the same stopping guarantee as value iteration."""

from __future__ import annotations

import time

import numpy as np

from .. import _validation as val
from .._stopping import SpanRule, callback_state
from ..evaluation.sweeps import default_max_iter
from ..operators import _Backup
from ._common import _finish, _initial_values, _policy_matrix_rows, greedy_rows


def modified_policy_iteration(mdp, *, m=5, tol=1e-8, max_iter=None, V0=None, callback=None):
    r"""Modified policy iteration: a greedy step, then ``m`` partial evaluation steps.

    Parameters
    ----------
    mdp : MDP
    m : int
        Applications of :math:`T^\pi` after each greedy step (``m = 0`` is value iteration).
    tol, max_iter, V0, callback
        As in :func:`value_iteration`; ``max_iter`` counts greedy steps.

    Returns
    -------
    SolverResult
        Same guarantee as :func:`value_iteration` (the rule is checked at every greedy step,
        where :math:`TV` is computed anyway). ``history`` has ``residual``, ``error_bound``,
        ``policy_changes`` and ``elapsed``.

    References
    ----------
    Puterman, M. L. (2005), §6.5; Puterman & Shin (1978).

    Examples
    --------
    >>> import numpy as np, mdptoolkit as mt
    >>> P = np.zeros((2, 2, 2)); P[0, 0] = [0.5, 0.5]; P[0, 1] = [0, 1]; P[1, :] = [0, 1]
    >>> mdp = mt.MDP(P, [[5.0, 10.0], [-1.0, -1.0]], 0.95)
    >>> result = mt.modified_policy_iteration(mdp, m=3)
    >>> result.converged, np.round(result.V, 6), result.policy
    (True, array([ -8.571429, -20.      ]), array([0, 0]))
    """
    m = val.check_positive(m, "m", allow_zero=True, integer=True)
    tol = val.check_positive(tol, "tol")
    V = _initial_values(mdp, V0)
    backup = _Backup(mdp)
    TV = np.empty_like(V)
    rule = SpanRule(mdp.gamma, tol, mdp.n_states, row_error=mdp._row_error)
    if max_iter is None:
        span0 = float(np.ptp(backup.max(V, out=TV)[0] - V))
        max_iter = default_max_iter(mdp.gamma, tol, span0)
    max_iter = val.check_positive(max_iter, "max_iter", integer=True)
    gamma = mdp.gamma
    policy = None
    changes, elapsed, start = [], [], time.perf_counter()
    converged, by_callback, k = False, False, 0
    for k in range(1, max_iter + 1):
        _, Q = backup.max(V, out=TV)
        new_policy = greedy_rows(Q, TV)
        changes.append(mdp.n_states if policy is None else int((new_policy != policy).sum()))
        done = rule.update(k, V, TV)
        elapsed.append(time.perf_counter() - start)
        if done:
            converged = True
            V = rule.corrected(TV)
            break
        if rule.stop_reason:
            V = TV.copy()
            break
        if policy is None or changes[-1]:
            policy = new_policy
            P_pi, R_pi = _policy_matrix_rows(mdp, policy)
        V = TV.copy()
        for _ in range(m):
            V = R_pi + gamma * (P_pi @ V)
        if callback is not None and callback(k, callback_state(V=V, residual=rule.residual[-1],
                                                               error_bound=rule.bound[-1],
                                                               policy=policy)):
            by_callback = True
            break
    message = rule.final_message(converged, by_callback, k, max_iter, float(np.abs(V).max()))
    history = rule.history(elapsed)
    history["policy_changes"] = np.array(changes)
    return _finish(mdp, "modified_policy_iteration", V, k, converged, message, history,
                   rule.error_bound if converged else None, backup=backup)
