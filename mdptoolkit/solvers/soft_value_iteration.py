r"""The entropy/KL-regularized ("soft") optimum.

With temperature :math:`\beta > 0` and reference policy :math:`\pi_{ref}`, the objective is
:math:`\mathbb E[\sum_t \gamma^t (R(s_t, a_t) - \beta\,\mathrm{KL}(\pi(\cdot|s_t) \,\|\,
\pi_{ref}(\cdot|s_t)))]`. Its optimal value is the fixed point of the soft operator

.. math::

    (T_\beta V)(s) = \beta \log \sum_a \pi_{ref}(a|s) \exp\big(Q(s,a)/\beta\big),
    \qquad Q = R + \gamma P V,

and the optimal policy is :math:`\pi^*(a|s) \propto \pi_{ref}(a|s) \exp(Q^*(s,a)/\beta)`
(e.g. Geist, Scherrer & Pietquin 2019; Ziebart 2010). :math:`T_\beta` is monotone and
satisfies :math:`T_\beta(V + c) = T_\beta V + \gamma c`, so the span stopping rule of
:func:`~mdptoolkit.value_iteration` applies verbatim. On an acyclic MDP with terminal rewards
(a language MDP) the optimum is :math:`p^*(y) \propto \pi_{ref}(y) \exp(r(y)/\beta)`.
"""

from __future__ import annotations

import time

import numpy as np

from .. import _validation as val
from .._stopping import SpanRule, callback_state
from .._typing import ArrayLike, Callback, FloatArray
from ..evaluation.chain import check_value_range
from ..evaluation.sweeps import default_max_iter
from ..mdp import MDP
from ..operators import _Backup, logsumexp, softmax_policy
from ..result import SolverResult

__all__ = ["soft_value_iteration"]


def soft_value_iteration(mdp: MDP, beta: float, *, reference: ArrayLike | None = None,
                         tol: float = 1e-8, max_iter: int | None = None,
                         V0: ArrayLike | None = None,
                         callback: Callback | None = None) -> SolverResult:
    r"""Optimum of the KL-regularized objective by soft value iteration.

    Parameters
    ----------
    mdp : MDP
    beta : float
        Temperature > 0; as it tends to 0 the result tends to the unregularized optimum on the
        reference's support.
    reference : array_like (S, A), optional
        Reference policy; default uniform over allowed actions (then the regularizer is the
        negative entropy up to a constant).
    tol, max_iter, V0, callback
        As in :func:`~mdptoolkit.value_iteration`, with the same guarantee for
        :math:`\gamma < 1`: ``max|V - V*_beta| <= tol`` and the returned softmax policy is within
        ``tol`` of the regularized optimum. For :math:`\gamma = 1`, ``tol`` bounds the residual;
        on acyclic MDPs the iteration is exact after (depth + 1) steps.

    Returns
    -------
    SolverResult
        ``policy`` is stochastic (S, A): ``softmax_policy(Q, beta, reference)``. As in
        :func:`~mdptoolkit.value_iteration`, ``V`` is the corrected midpoint with its
        ``error_bound`` on every exit, and ``history`` has one entry per iteration
        (``residual``, ``error_bound``, ``elapsed``).

    Examples
    --------
    One state, two actions worth 0 and log 3 with a uniform reference and beta = 1: the
    optimum is log((1 + 3) / 2) = log 2 and the policy (1/4, 3/4).

    >>> import numpy as np, mdptoolkit as mt
    >>> P = np.zeros((2, 2, 2)); P[:, :, 1] = 1
    >>> mdp = mt.MDP(P, [[0.0, np.log(3)], [0.0, 0.0]], 1.0, terminal=[False, True])
    >>> result = mt.soft_value_iteration(mdp, beta=1.0)
    >>> bool(np.isclose(result.V[0], np.log(2), atol=1e-12)), result.policy[0]
    (True, array([0.25, 0.75]))
    """
    beta = val.check_beta(beta, allow_zero=False)
    tol = val.check_positive(tol, "tol")
    ref = val.as_reference(mdp, reference)
    check_value_range(mdp._R0, mdp.gamma)
    with np.errstate(divide="ignore"):
        logref_am = np.log(ref).T.copy()  # (A, S)
    S = mdp.n_states
    V = np.zeros(S) if V0 is None else val.as_float_array(V0, "V0", shape=(S,))
    V[mdp.terminal] = 0.0
    backup = _Backup(mdp)

    def soft_backup(V: FloatArray) -> FloatArray:
        Q = backup.q(V)
        return beta * logsumexp(Q / beta + logref_am, axis=0)

    rule = SpanRule(mdp.gamma, tol, S, row_error=mdp._row_error)
    TV = soft_backup(V)
    if max_iter is None:
        max_iter = default_max_iter(mdp.gamma, tol, float(np.ptp(TV - V)))
    max_iter = val.check_positive(max_iter, "max_iter", integer=True)
    elapsed, start = [], time.perf_counter()
    converged, by_callback, k = False, False, 0
    for k in range(1, max_iter + 1):
        if k > 1:
            TV = soft_backup(V)
        done = rule.update(k, V, TV)
        elapsed.append(time.perf_counter() - start)
        if done:
            converged = True
            break
        if rule.stop_reason or k == max_iter:
            break
        if callback is not None and callback(k, callback_state(V=TV, residual=rule.residual[-1],
                                                               error_bound=rule.bound[-1])):
            by_callback = True
            break
        V = TV
    rule.check_overflow("soft_value_iteration")
    V = rule.corrected(TV)  # every exit: the bound certifies the midpoint correction of TV
    message = rule.final_message(converged, by_callback, k, max_iter, float(np.abs(V).max()))
    V = np.where(mdp.terminal, 0.0, V)
    Q = backup.q(V).T.copy()
    policy = softmax_policy(Q, beta, ref)
    return SolverResult(V=V, Q=Q, policy=policy, iterations=k, converged=converged,
                        method="soft_value_iteration", message=message,
                        history=rule.history(elapsed),
                        error_bound=rule.error_bound)
