r"""Modified policy iteration (Puterman 2005, §6.5): a greedy step, then ``m`` applications of
:math:`T^\pi`; the same stopping guarantee as value iteration."""

from __future__ import annotations

import time

import numpy as np
import scipy.sparse as sp

from .. import _validation as val
from .._stopping import SpanRule, callback_state
from .._typing import ArrayLike, Callback
from ..evaluation import _kernels as eval_kernels
from ..evaluation.sweeps import default_max_iter
from ..mdp import MDP
from ..operators import _Backup
from ..result import SolverResult
from . import _kernels
from ._common import _finish, _initial_values, _policy_matrix_rows, check_rewards, greedy_rows


def modified_policy_iteration(mdp: MDP, *, m: int = 5, tol: float = 1e-8,
                              max_iter: int | None = None, V0: ArrayLike | None = None,
                              callback: Callback | None = None) -> SolverResult:
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
        where :math:`TV` is computed anyway), and as there the corrected values and their
        ``error_bound`` on every exit. ``history`` has one entry per greedy step
        (``iterations`` entries): ``residual``, ``error_bound``, ``policy_changes`` and
        ``elapsed``.

    Notes
    -----
    The span of :math:`TV_k - V_k` need not shrink at every greedy step here (it does for value
    iteration), so a pause in its decrease is a stall only at round-off level
    (``mdptoolkit._stopping``); above it the run continues up to ``max_iter``.

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
    check_rewards(mdp)
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
    # the partial evaluations compiled (evaluation._kernels) where the solvers' loops are used
    use = sp.issparse(mdp._op) and _kernels.for_mdp(mdp, upto=None) is not None
    sweeps = eval_kernels.compiled() if use else None
    if sweeps is not None:
        spare, stats = np.empty_like(V), np.empty((1, 4))
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
            break
        if rule.stop_reason or k == max_iter:
            break
        if policy is None or changes[-1]:
            policy = new_policy
            if sweeps is None:
                P_pi, R_pi = _policy_matrix_rows(mdp, policy)
            else:  # the policy's rows of P, read in place
                rows = policy * mdp.n_states + np.arange(mdp.n_states)
                R_pi = mdp._R_am.reshape(-1)[rows]
        V = TV.copy()  # TV itself is kept: the bound certifies its correction
        if sweeps is not None and m:  # the m sweeps in one compiled loop
            op = mdp._op
            if sweeps.eval_sweeps_csr(op.indptr, op.indices, op.data, rows, gamma, R_pi, V, spare,
                                      m, stats):
                V, spare = spare, V  # the last sweep's values are in the second buffer
        else:
            for _ in range(m):
                V = R_pi + gamma * (P_pi @ V)
        if callback is not None and callback(k, callback_state(V=V, residual=rule.residual[-1],
                                                               error_bound=rule.bound[-1],
                                                               policy=policy)):
            by_callback = True
            break
    rule.check_overflow("modified_policy_iteration")
    # every exit: TV = T(V_k) and the bound certifies its midpoint correction
    V = rule.corrected(TV, out=TV)
    message = rule.final_message(converged, by_callback, k, max_iter, float(np.abs(V).max()))
    history = rule.history(elapsed)
    history["policy_changes"] = np.array(changes)
    return _finish(mdp, "modified_policy_iteration", V, k, converged, message, history,
                   rule.error_bound, backup=backup)
