r"""Value iteration, :math:`V_{k+1} = T V_k` (Jacobi or Gauss–Seidel), stopped by the span bound
with the MacQueen–Porteus correction (:mod:`mdptoolkit._stopping`)."""

from __future__ import annotations

import time

import numpy as np
import scipy.sparse as sp

from .. import _validation as val
from .._stopping import SpanRule, callback_state
from ..evaluation.sweeps import default_max_iter
from ..operators import _Backup
from ._common import _finish, _initial_values


def value_iteration(mdp, *, tol=1e-8, max_iter=None, V0=None, gauss_seidel=False, callback=None):
    r"""Value iteration with a stopping rule that guarantees what it says.

    Parameters
    ----------
    mdp : MDP
    tol : float
        Target accuracy (see the guarantee below).
    max_iter : int, optional
        Default: for :math:`\gamma < 1` the a-priori number of iterations after which the rule
        must hold in exact arithmetic (the span contracts by at least :math:`\gamma` per step),
        capped at 10^6; 100 000 for :math:`\gamma = 1`.
    V0 : array_like (S,), optional
        Initial values (default 0; terminal entries are set to 0).
    gauss_seidel : bool
        Update states in place in index order (a Python loop over states: meant for teaching
        and small MDPs). The stopping rule is then checked with one Jacobi backup of the
        Gauss–Seidel iterate, so the guarantee is the same.
    callback : callable, optional
        ``callback(k, state)`` after iteration k, with ``state.V``, ``state.residual`` and
        ``state.error_bound``; returning True stops (``converged=False``).

    Returns
    -------
    SolverResult
        ``history`` has ``residual`` (max|V_k+1 - V_k|), ``error_bound`` (the guaranteed
        max|V - V*| had the method stopped there) and ``elapsed`` (seconds).

    Notes
    -----
    Let :math:`V` be the last iterate, :math:`m, M` the minimum and maximum of :math:`TV - V`.
    The bounds of Puterman (2005, Thm 6.6.3)

    .. math::

        TV + \tfrac{\gamma}{1-\gamma} m \le V^* \le TV + \tfrac{\gamma}{1-\gamma} M

    hold for every :math:`V`. The method returns the midpoint
    :math:`\hat V = TV + \tfrac{\gamma}{1-\gamma}\tfrac{m+M}{2}` and stops as soon as
    :math:`\tfrac{\gamma}{1-\gamma}(M - m)\max(\tfrac12, \gamma) \le` ``tol``. Then

    1. :math:`\max_s|\hat V(s) - V^*(s)| \le \tfrac{\gamma}{2(1-\gamma)}(M - m) \le` ``tol``;
    2. the greedy policy :math:`\pi` of :math:`\hat V` (the same as that of :math:`TV`) satisfies
       :math:`0 \le V^* - V^\pi \le \tfrac{\gamma}{1-\gamma}\mathrm{sp}(T^2V - TV) \le
       \tfrac{\gamma^2}{1-\gamma}(M - m) \le` ``tol``, by the same bounds applied at
       :math:`TV` and :math:`\mathrm{sp}(T^2 V - TV) \le \gamma\,\mathrm{sp}(TV - V)`
       (Puterman 2005, Prop. 6.6.1), together with
       :math:`V^\pi \ge T(TV) + \tfrac{\gamma}{1-\gamma}\min(T^2V - TV)`.

    Peers that stop on the span but return :math:`TV` uncorrected are off by up to
    :math:`\tfrac{\gamma}{1-\gamma}\max|m|` — a constant, often large. If round-off keeps the
    span from falling below what ``tol`` needs (e.g. ``tol=1e-8`` at :math:`\gamma = 0.9999`
    with :math:`|V| \sim 10^4`), the method stops with ``converged=False`` and says so.

    With :math:`\gamma = 1` no such bound exists: ``tol`` bounds the residual
    :math:`\max|TV - V|` and the message says so.

    References
    ----------
    Puterman, M. L. (2005). *Markov Decision Processes*, §6.3 and §6.6. Wiley.

    Examples
    --------
    >>> import numpy as np, mdptoolkit as mt
    >>> P = np.zeros((2, 2, 2)); P[0, 0] = [0.5, 0.5]; P[0, 1] = [0, 1]; P[1, :] = [0, 1]
    >>> mdp = mt.MDP(P, [[5.0, 10.0], [-1.0, -1.0]], 0.95)   # Puterman (2005), §3.1
    >>> result = mt.value_iteration(mdp, tol=1e-9)
    >>> result.converged, np.round(result.V, 6), result.policy
    (True, array([ -8.571429, -20.      ]), array([0, 0]))
    >>> result.error_bound <= 1e-9
    True
    """
    tol = val.check_positive(tol, "tol")
    V = _initial_values(mdp, V0)
    backup = _Backup(mdp)
    TV = np.empty_like(V)
    # the backup's scratch vector is free between backups: the rule computes TV - V in it
    rule = SpanRule(mdp.gamma, tol, mdp.n_states, row_error=mdp._row_error, work=backup.x)
    if max_iter is None:
        diff0 = backup.max(V, out=TV)[0] - V
        span0 = float(np.ptp(diff0))
        if gauss_seidel and mdp.gamma < 1:
            # no span contraction for the Gauss-Seidel iterates; use the sup-norm one:
            # span(TV_k - V_k) <= 2 (1 + gamma) |V_k - V*| <= 2 (1 + gamma) gamma^k |TV0 - V0| / (1 - gamma)
            span0 = 4 * float(np.abs(diff0).max()) / (1 - mdp.gamma)
        max_iter = default_max_iter(mdp.gamma, tol, span0)
    max_iter = val.check_positive(max_iter, "max_iter", integer=True)
    sweep = _gauss_seidel_sweep(mdp) if gauss_seidel else None
    if sweep is not None:
        # the span of Gauss-Seidel iterates need not shrink monotonically (their sup-norm
        # error does), so a pause in its decrease is no stall: only max_iter ends the run
        rule.patience = max_iter + 1
    elapsed, start = [], time.perf_counter()
    converged, by_callback, k = False, False, 0
    for k in range(1, max_iter + 1):
        if sweep is not None:
            V_next = sweep(V)  # one in-place sweep; the rule checks a Jacobi backup of it
            backup.max(V_next, out=TV)
            done = rule.update(k, V_next, TV)
            rule.residual[-1] = float(np.abs(V_next - V).max())
        else:
            backup.max(V, out=TV)
            done = rule.update(k, V, TV)
            V_next = TV
        elapsed.append(time.perf_counter() - start)
        if done:
            converged = True
            spare, V = V, rule.corrected(TV, out=TV)  # the last iterate's buffer is free now
            break
        if rule.stop_reason:
            V = V_next.copy()
            break
        if callback is not None and callback(k, callback_state(V=V_next, residual=rule.residual[-1],
                                                               error_bound=rule.bound[-1])):
            by_callback = True
            V = V_next.copy()
            break
        if sweep is not None:
            V = V_next
        else:
            V, TV = TV, V
    else:
        V = V_next.copy()
    message = rule.final_message(converged, by_callback, k, max_iter, float(np.abs(TV).max()))
    return _finish(mdp, "value_iteration", V, k, converged, message, rule.history(elapsed),
                   rule.error_bound if converged else None, backup=backup,
                   spare=spare if converged and sweep is None else None)


def _gauss_seidel_sweep(mdp):
    """A function V -> V' doing one Gauss–Seidel sweep in state order (state-major rows)."""
    S, A = mdp.n_states, mdp.n_actions
    op = sp.csr_array(mdp._op)
    perm = (np.arange(S)[:, None] + S * np.arange(A)[None, :]).ravel()  # state-major rows
    P_sm = op[perm]
    indptr, indices, data = P_sm.indptr, P_sm.indices, P_sm.data
    action_of = np.repeat(np.arange(S * A) % A, np.diff(indptr))  # action of each nonzero
    R = mdp._R_am.T  # (S, A), -inf at disallowed
    gamma = mdp.gamma
    bounds = indptr[::A]

    def sweep(V):
        V = V.copy()
        for s in range(S):
            lo, hi = bounds[s], bounds[s + 1]
            sums = np.bincount(action_of[lo:hi], data[lo:hi] * V[indices[lo:hi]], minlength=A)
            V[s] = np.max(R[s] + gamma * sums)
        return V

    return sweep
