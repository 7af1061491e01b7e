r"""Dynamic programming for the discounted (and episodic, :math:`\gamma = 1`) criterion.

- :func:`value_iteration` — :math:`V_{k+1} = T V_k` (Jacobi or Gauss–Seidel), stopped by the
  span bound with the MacQueen–Porteus correction (:mod:`mdptoolkit._stopping`).
- :func:`policy_iteration` — Howard's algorithm with exact evaluation (direct, or by warm-started
  sweeps certified to round-off level); exact in finitely many
  steps (Puterman 2005, Thm 6.4.2).
- :func:`modified_policy_iteration` — greedy step, then ``m`` applications of :math:`T^\pi`
  (Puterman 2005, §6.5); same stopping guarantee as value iteration.
- :func:`solve` — dispatch by the solver's function name.

The finite-horizon, linear-programming, average-reward and soft solvers live in their own
modules and are re-exported here for :func:`solve`.
"""

from __future__ import annotations

import time
import warnings

import numpy as np
import scipy.sparse as sp
import scipy.sparse.csgraph as csgraph

from . import _validation as val
from ._stopping import EPS, SpanRule, callback_state
from .evaluation import (check_proper, csr_rows, default_max_iter, policy_chain, solve_values,
                         sweep_budget, sweep_values)
from .exceptions import ConvergenceWarning
from .operators import _Backup
from .result import MESSAGES, SolverResult

__all__ = ["value_iteration", "policy_iteration", "modified_policy_iteration", "solve"]


def _initial_values(mdp, V0, name="V0"):
    """A fresh (S,) array of starting values (0 by default, and at terminal states)."""
    if V0 is None:
        return np.zeros(mdp.n_states)
    V = val.as_float_array(V0, name, shape=(mdp.n_states,))
    V[mdp.terminal] = 0.0
    return V


def _finish(mdp, method, V, k, converged, message, history, error_bound=None, backup=None,
            spare=None, **extra):
    """Common tail: Q from the returned V, greedy policy (lowest index among ties).

    ``V`` is the solver's own array (set to 0 at terminal states in place). Reuses the
    solver's backup buffer and the ``spare`` (S,) array when given, the solver being done
    with them: Q is returned as the (S, A) transposed view of the (A, S) buffer, and the
    greedy policy is found row by row, since ``np.argmax(Q, axis=0)`` would copy the buffer
    transposed. Value iteration then peaks at its working set, not above it."""
    V[mdp.terminal] = 0.0
    backup = _Backup(mdp) if backup is None else backup
    best, Q_am = backup.max(V, out=spare)
    policy = greedy_rows(Q_am, best)
    Q = Q_am.T
    return SolverResult(V=V, Q=Q, policy=policy, iterations=k, converged=converged,
                        method=method, message=message, history=history,
                        error_bound=error_bound, **extra)


def greedy_rows(Q_am, best):
    """argmax over the rows of the action-major (A, S) array whose maximum is ``best``:
    the lowest action attaining it, like ``np.argmax(Q_am, axis=0)`` but without its
    transposed copy of the array."""
    policy = np.zeros(Q_am.shape[1], dtype=np.intp)
    for a in range(Q_am.shape[0] - 1, -1, -1):
        policy[Q_am[a] == best] = a
    return policy


def _warn_if_stopped(converged, message, stopped_by_callback):
    if not converged and not stopped_by_callback:
        warnings.warn(message, ConvergenceWarning, stacklevel=3)


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


def one_hot(policy, n_actions):
    """(S, A) matrix of a deterministic policy."""
    pi = np.zeros((policy.size, n_actions))
    pi[np.arange(policy.size), policy] = 1.0
    return pi


def _policy_matrix_rows(mdp, policy, raw=False):
    """Transition matrix and rewards of a deterministic policy (CSR or dense rows of P);
    ``raw``: CSR rows as an :class:`~mdptoolkit.evaluation.CSRRows` (for the sweeps, which
    need no matrix object)."""
    rows = policy * mdp.n_states + np.arange(mdp.n_states)
    op = mdp._op
    R_pi = mdp._R_am.reshape(-1)[rows]
    if not sp.issparse(op):
        return op[rows], R_pi
    return csr_rows(op, rows, raw=raw), R_pi


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


def proper_policy(mdp):
    """A deterministic policy that reaches a terminal state from every state that can.

    Breadth-first search backwards from the terminal states over the union of allowed
    transitions gives each state its distance (in steps) to the nearest terminal state; each
    state then takes the allowed action with the largest probability of moving strictly
    closer, which is positive wherever the distance is finite, so the policy is proper there.
    States that cannot reach a terminal state at all get the greedy action on R.
    """
    S, A = mdp.n_states, mdp.n_actions
    policy = np.argmax(mdp._R_am, axis=0)
    T = mdp.terminal
    if not T.any():
        return policy
    op = sp.csr_array(mdp._op)
    allowed_rows = mdp.allowed.T.reshape(-1)
    # state graph s -> s2 when some allowed action of s reaches s2; reverse it for the search
    coo = op.tocoo()
    keep = allowed_rows[coo.row] & (coo.data > 0)
    src, dst = coo.row[keep] % S, coo.col[keep]
    n_term = int(T.sum())
    rev = sp.csr_array((np.ones(src.size + n_term),
                        (np.concatenate([dst, np.full(n_term, S)]),
                         np.concatenate([src, np.flatnonzero(T)]))), shape=(S + 1, S + 1))
    dist = csgraph.shortest_path(rev, method="D", unweighted=True, indices=S)[:S]
    # probability of moving strictly closer, for every (action, state) row
    closer = np.zeros(A * S)
    moves = coo.row[keep]
    gain = dist[dst] < dist[src]
    np.add.at(closer, moves[gain], coo.data[keep][gain])
    closer = closer.reshape(A, S)
    closer[~mdp.allowed.T] = -1.0
    movers = np.isfinite(dist) & ~T
    policy[movers] = np.argmax(closer[:, movers], axis=0)
    return policy


def policy_iteration(mdp, *, policy0=None, max_iter=None, tie_tol=None, evaluation="auto",
                     callback=None):
    r"""Howard's policy iteration; every policy is evaluated exactly or to a certified bound.

    Parameters
    ----------
    mdp : MDP
    policy0 : array_like of int (S,), optional
        Initial policy. Default: greedy on R for :math:`\gamma < 1`; for :math:`\gamma = 1` a
        proper policy found by breadth-first search backwards from the terminal states (so
        that episodic problems start from a policy with a finite value).
    max_iter : int, optional
        Maximum improvement steps (default 10 000; Howard's method needs far fewer in practice).
    tie_tol : float, optional
        An action replaces the current one only if its Q-value is larger by more than
        ``tie_tol`` plus ``2 gamma`` times the certified error of a sweeps evaluation, so exact
        ties and round-off never make the policy cycle. The default is the round-off level of
        the evaluation: ``max(64 eps max(1, |V|), 4 |r| / (1 - gamma))`` with ``r`` the
        residual of a direct solve (``16 |r|`` for gamma = 1).
    evaluation : {"auto", "direct", "sweeps"}
        How each policy is evaluated. ``"direct"`` solves :math:`(I - \gamma P_\pi) V = R_\pi`
        (triangular for acyclic chains, sparse LU, or LAPACK). ``"sweeps"`` (``gamma < 1``)
        applies :math:`T^\pi` starting from the previous policy's values until the span bound
        certifies an error below the round-off of a direct solve,
        :math:`(16 \epsilon + 4 \delta)(1 + \max|V|) / (1 - \gamma)` with :math:`\delta` the row-sum
        error of P, and gives way to the direct solve whenever the sweeps' observed rate says
        they would cost more. ``"auto"`` (default) is ``"sweeps"`` for ``gamma < 1``, else
        ``"direct"``. The improvement step allows for the certified error,
        so both evaluations give Howard's sequence of policies (up to exact ties) and the
        returned V is :math:`V^\pi` of the returned policy to round-off level.
    callback : callable, optional
        ``callback(k, state)`` with ``state.V``, ``state.policy``, ``state.policy_changes``.

    Returns
    -------
    SolverResult
        ``history``: ``policy_changes`` (states whose action changed at each improvement),
        ``J`` (:math:`\mu^\top V^{\pi_k}`, non-decreasing up to the evaluation error),
        ``sweeps`` (sweeps of each evaluation, 0 for a direct solve), ``elapsed``.
        For :math:`\gamma < 1`, ``error_bound`` bounds :math:`\max_s |V^*(s) - V(s)|` by
        :math:`\max_s |TV - V|(s) / (1 - \gamma)`.

    Raises
    ------
    ImproperPolicyError
        With :math:`\gamma = 1` when some state cannot reach a terminal state under any policy
        (or ``policy0`` is improper).

    References
    ----------
    Howard (1960); Puterman (2005), §6.4 and Thm 6.6.3 (the span bound of the sweeps).

    Examples
    --------
    >>> import numpy as np, mdptoolkit as mt
    >>> P = np.zeros((2, 2, 2)); P[0, 0] = [0.5, 0.5]; P[0, 1] = [0, 1]; P[1, :] = [0, 1]
    >>> mdp = mt.MDP(P, [[5.0, 10.0], [-1.0, -1.0]], 0.95)
    >>> result = mt.policy_iteration(mdp)
    >>> result.policy, np.round(result.V, 6), result.history["policy_changes"]
    (array([0, 0]), array([ -8.571429, -20.      ]), array([1, 0]))
    >>> direct = mt.policy_iteration(mdp, evaluation="direct")
    >>> bool(np.abs(direct.V - result.V).max() < 1e-10), direct.history["sweeps"]
    (True, array([0, 0]))
    """
    S = mdp.n_states
    gamma = mdp.gamma
    if evaluation not in ("auto", "direct", "sweeps"):
        raise ValueError(f"evaluation must be 'auto', 'direct' or 'sweeps'; got {evaluation!r}")
    if evaluation == "sweeps" and gamma == 1.0:
        raise ValueError("evaluation='sweeps' needs gamma < 1 (the span bound certifies nothing "
                         "at gamma = 1); use 'direct'")
    if policy0 is None:
        policy = proper_policy(mdp) if gamma == 1.0 else np.argmax(mdp._R_am, axis=0)
    else:
        val.as_policy_matrix(mdp, policy0, "policy0")
        if np.asarray(policy0).ndim != 1:
            raise val.MDPValidationError("policy0 must be a deterministic policy (int array (S,))")
        policy = np.array(policy0, dtype=np.intp)
        policy[mdp.terminal] = np.argmax(mdp.allowed[mdp.terminal], axis=1)
    max_iter = val.check_positive(10_000 if max_iter is None else max_iter, "max_iter", integer=True)
    if tie_tol is not None:
        tie_tol = val.check_positive(tie_tol, "tie_tol", allow_zero=True)
    # (on acyclic MDPs the sweeps are exact after as many sweeps as the longest path, and
    # a deep one sends them to the triangular solve through their rate check)
    sweeps = evaluation == "sweeps" or (evaluation == "auto" and gamma < 1.0)
    backup = _Backup(mdp)
    best = np.empty(S)
    changes, J, n_sweeps, elapsed, start = [], [], [], [], time.perf_counter()
    converged, by_callback, k = False, False, 0
    V = np.zeros(S)
    for k in range(1, max_iter + 1):
        what = ("policy0" if k == 1 and policy0 is not None
                else f"the policy at improvement step {k - 1}")
        V, error, used = _evaluate_step(mdp, policy, V, sweeps, what)
        improve, Q, best = _improvement(mdp, backup, policy, V, error, tie_tol, best)
        n_changed = int(improve.sum())
        changes.append(n_changed)
        n_sweeps.append(used)
        J.append(float(mdp.mu @ V))
        elapsed.append(time.perf_counter() - start)
        if n_changed == 0:
            converged = True
            break
        policy = np.where(improve, greedy_rows(Q, best), policy)
        if callback is not None and callback(k, callback_state(V=V, policy=policy,
                                                               policy_changes=n_changed)):
            by_callback = True
            break
    if converged:
        how = ("exact evaluation" if not any(n_sweeps) else
               "evaluation exact to round-off: warm-started sweeps certified by the span bound")
        message = MESSAGES["stable"].format(k=k - 1, evaluation=how)
    elif by_callback:
        message = MESSAGES["callback"].format(k=k)
    else:
        message = MESSAGES["max_iter"].format(max_iter=max_iter,
                                              detail=f"{changes[-1]} states still improving")
    _warn_if_stopped(converged, message, by_callback)
    history = {"policy_changes": np.array(changes), "J": np.array(J),
               "sweeps": np.array(n_sweeps), "elapsed": np.array(elapsed)}
    # best and Q are the last improvement test's, at the returned V
    bound = None
    if converged and gamma < 1.0:  # |V* - V| <= max|TV - V| / (1 - gamma) for any V
        bound = float(np.abs(best - V).max()) / (1.0 - gamma)
    return SolverResult(V=V, Q=Q.T, policy=policy, iterations=k, converged=converged,
                        method="policy_iteration", message=message, history=history,
                        error_bound=bound)


def _exact_rel(gamma, row_error):
    """Relative evaluation error that counts as exact: a direct solve's round-off,
    about eps * cond(I - gamma P_pi) <= eps * 2 / (1 - gamma), with room to spare."""
    return (16 * EPS + 4 * row_error) / (1.0 - gamma)


def _improvement(mdp, backup, policy, V, error, tie_tol, best):
    """Howard's improvement test: states where some action beats the current one by more
    than the tie tolerance plus what the evaluation error could account for."""
    best, Q = backup.max(V, out=best)
    current = Q[policy, np.arange(mdp.n_states)]
    tol = _tie_tolerance(mdp.gamma, V, current, error) if tie_tol is None else tie_tol
    # every Q is within gamma * error of Q^pi (error 0: a direct solve)
    return best > current + tol + 2 * mdp.gamma * error, Q, best


def _evaluate_step(mdp, policy, V, sweeps, what):
    """(V, certified error, sweeps used) for one policy of policy iteration (error 0: direct).

    Sweeps start from the previous policy's values and stop at round-off level, so the
    improvement step sees the values a direct solve would give; they give way to the direct
    solve when they would cost more than it (see :func:`sweep_values`)."""
    gamma = mdp.gamma
    if sweeps:
        P_pi, R_pi = _policy_matrix_rows(mdp, policy, raw=True)
        rel = _exact_rel(gamma, mdp._row_error)
        budget = sweep_budget(P_pi, dense_direct=not mdp.is_sparse)
        V_new, error, used = sweep_values(P_pi, R_pi, gamma, V, rel, budget, rel=rel,
                                          row_error=mdp._row_error)
        if V_new is not None:
            V_new[mdp.terminal] = 0.0
            return V_new, max(error, 1e-300), used
    P_pi, R_pi = policy_chain(mdp, one_hot(policy, mdp.n_actions))
    if gamma == 1.0:
        check_proper(mdp, P_pi, what)
    return solve_values(mdp, P_pi, R_pi), 0.0, 0


def _tie_tolerance(gamma, V, current, error):
    """Round-off level of the advantages Q(s, a) - Q(s, pi(s)): after a direct solve
    (``error`` 0) measured by its residual; after certified sweeps the same floor, their
    error being allowed for separately."""
    floor = 64 * EPS * max(1.0, float(np.abs(V).max()))
    if error > 0.0:
        return floor
    residual = float(np.abs(current - V).max())  # backward error of the solve
    forward = 4 * residual / (1 - gamma) if gamma < 1 else 16 * residual
    return max(floor, forward)


def solve(mdp, method="policy_iteration", **options):
    """Solve an MDP with the solver named ``method``; ``options`` go to that solver.

    Parameters
    ----------
    mdp : MDP
    method : str
        One of ``"value_iteration"``, ``"policy_iteration"``, ``"modified_policy_iteration"``,
        ``"linear_programming"``, ``"backward_induction"``, ``"relative_value_iteration"``,
        ``"soft_value_iteration"``.
    **options
        Keyword arguments of the solver (``horizon`` for backward induction, ``beta`` for
        soft value iteration, ...).

    Returns
    -------
    SolverResult

    Examples
    --------
    >>> import numpy as np, mdptoolkit as mt
    >>> mdp = mt.MDP(np.ones((1, 2, 1)), [[1.0, 2.0]], 0.5)
    >>> mt.solve(mdp, method="linear_programming").V
    array([4.])
    >>> mt.solve(mdp, method="simplex")
    Traceback (most recent call last):
    ...
    ValueError: method must be one of 'backward_induction', 'linear_programming', 'modified_policy_iteration', 'policy_iteration', 'relative_value_iteration', 'soft_value_iteration', 'value_iteration'; got 'simplex'
    """
    from .solvers import SOLVERS
    if method not in SOLVERS:
        valid = ", ".join(repr(name) for name in sorted(SOLVERS))
        raise ValueError(f"method must be one of {valid}; got {method!r}")
    return SOLVERS[method](mdp, **options)
