r"""Howard's policy iteration with exact evaluation (direct, or by warm-started sweeps certified to
round-off level); exact in finitely many steps (Puterman 2005, Thm 6.4.2)."""

from __future__ import annotations

import time
from typing import Literal

import numpy as np
import scipy.sparse as sp
import scipy.sparse.csgraph as csgraph

from .. import _validation as val
from .._stopping import EPS, callback_state
from .._typing import Callback, IntArray, Policy
from ..evaluation import _kernels as eval_kernels
from ..evaluation.chain import check_finite_values, check_proper, policy_chain
from ..evaluation.linear import solve_values
from ..evaluation.sweeps import sweep_budget, sweep_values
from ..mdp import MDP
from ..operators import _Backup
from ..result import MESSAGES, SolverResult
from . import _kernels
from ._common import _policy_matrix_rows, _warn_if_stopped, check_rewards, greedy_rows, one_hot


def proper_policy(mdp: MDP) -> IntArray:
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
    closer = np.zeros((A, S))
    moves = coo.row[keep]
    gain = dist[dst] < dist[src]
    np.add.at(closer.reshape(-1), moves[gain], coo.data[keep][gain])  # a view: rows a*S + s
    closer[~mdp.allowed.T] = -1.0
    movers = np.isfinite(dist) & ~T
    policy[movers] = np.argmax(closer[:, movers], axis=0)
    return policy


def policy_iteration(mdp: MDP, *, policy0: Policy | None = None, max_iter: int | None = None,
                     tie_tol: float | None = None,
                     evaluation: Literal["auto", "direct", "sweeps"] = "auto",
                     callback: Callback | None = None) -> SolverResult:
    r"""Howard's policy iteration; every policy is evaluated exactly or to a certified bound.

    Parameters
    ----------
    mdp : MDP
    policy0 : array_like, optional
        Initial policy: deterministic (int array (S,)) or stochastic ((S, A) array, rows
        summing to 1 over allowed actions; Sutton & Barto's Figure 4.1 starts from the
        equiprobable policy). A stochastic policy0 is evaluated exactly (direct solve) and
        the first improvement step takes the greedy action in every state, after which the
        method runs on deterministic policies as usual; the first step counts every
        non-terminal state whose row of policy0 is not the greedy action's one-hot row as
        changed. Default: greedy on R for :math:`\gamma < 1`; for :math:`\gamma = 1` a
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
        ``history`` has one entry per improvement step (``iterations`` entries; the last
        one is the step that found the policy stable): ``policy_changes`` (states whose
        action changed at each improvement),
        ``J`` (:math:`\mu^\top V^{\pi_k}`, non-decreasing up to the evaluation error),
        ``sweeps`` (sweeps of each evaluation, 0 for a direct solve), ``elapsed``.
        For :math:`\gamma < 1`, ``error_bound`` bounds :math:`\max_s |V^*(s) - V(s)|` by
        :math:`\max_s |TV - V|(s) / (1 - \gamma)` (on every exit; None for :math:`\gamma = 1`).

    Raises
    ------
    ImproperPolicyError
        With :math:`\gamma = 1` when some state cannot reach a terminal state under any policy
        (or ``policy0`` is improper).
    MDPValidationError
        When the values overflow float64 (:math:`\max|R|/(1-\gamma)` beyond ~1e307, or a
        policy's value that is not finite).

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
    check_rewards(mdp)
    pi0 = None  # a stochastic starting policy, evaluated at the first step
    if policy0 is None:
        policy = proper_policy(mdp) if gamma == 1.0 else np.argmax(mdp._R_am, axis=0)
    else:
        pi = val.as_policy_matrix(mdp, policy0, "policy0")
        if np.asarray(policy0).ndim == 1:
            policy = np.array(policy0, dtype=np.intp)
        else:
            policy = np.argmax(pi, axis=1)
            if not (pi[~mdp.terminal].max(axis=1) == 1.0).all():
                pi0 = pi
        policy[mdp.terminal] = np.argmax(mdp.allowed[mdp.terminal], axis=1)
    max_iter = val.check_positive(10_000 if max_iter is None else max_iter, "max_iter",
                                  integer=True)
    if tie_tol is not None:
        tie_tol = val.check_positive(tie_tol, "tie_tol", allow_zero=True)
    # (on acyclic MDPs the sweeps are exact after as many sweeps as the longest path, and
    # a deep one sends them to the triangular solve through their rate check)
    sweeps = evaluation == "sweeps" or (evaluation == "auto" and gamma < 1.0)
    backup = _Backup(mdp)
    best = np.empty(S)
    fast = _Compiled.make(mdp) if sweeps else None  # Numba's loops for sweeps and improvement
    changes: list[int] = []
    J: list[float] = []
    n_sweeps: list[int] = []
    elapsed: list[float] = []
    start = time.perf_counter()
    converged, by_callback, k, direct = False, False, 0, False
    V = np.zeros(S)
    while k < max_iter:
        if fast is not None and callback is None and (k > 0 or pi0 is None) and not direct:
            # whole steps in one compiled call, the same decisions as the loop below
            done, event, V = fast.steps(policy, V, k, max_iter, tie_tol, changes, J, n_sweeps,
                                        elapsed, start)
            k += done
            if event == _kernels.PI_STABLE:
                converged = True
                break
            direct = event == _kernels.PI_DIRECT  # else a chunk of steps ended: run the next
            continue
        k += 1
        what = ("policy0" if k == 1 and policy0 is not None
                else f"the policy at improvement step {k - 1}")
        if k == 1 and pi0 is not None:
            V, error, used = _evaluate_stochastic(mdp, pi0), 0.0, 0
            best, Q = backup.max(V, out=best)
            # the first improvement is greedy everywhere: every state whose row of policy0 is
            # not already the greedy action's one-hot row changes (terminal states excepted)
            greedy = greedy_rows(Q, best)
            improve = (pi0[np.arange(S), greedy] < 1.0) & ~mdp.terminal
        else:
            V, error, used = _evaluate_step(mdp, policy, V, sweeps and not direct, what, fast)
            direct = False
            if fast is None:
                improve, Q, best = _improvement(mdp, backup, policy, V, error, tie_tol, best)
                greedy = None
            else:
                improve, greedy, best = fast.improvement(policy, V, error, tie_tol)
        n_changed = int(improve.sum())
        changes.append(n_changed)
        n_sweeps.append(used)
        J.append(float(mdp.mu @ V))
        elapsed.append(time.perf_counter() - start)
        if n_changed == 0:
            converged = True
            break
        if greedy is None:
            greedy = greedy_rows(Q, best)
        policy = np.where(improve, greedy, policy)
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
    if fast is not None:  # Q of the returned V (the compiled improvement keeps only its maxima)
        best, Q = backup.max(V, out=best)
    # best and Q are the last improvement test's, at the returned V
    bound = None
    if gamma < 1.0:  # |V* - V| <= max|TV - V| / (1 - gamma) for any V, on every exit
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


def _evaluate_stochastic(mdp, pi):
    """V^pi of a stochastic (S, A) starting policy, by a direct solve."""
    P_pi, R_pi = policy_chain(mdp, pi)
    if mdp.gamma == 1.0:
        check_proper(mdp, P_pi, "policy0")
    V = solve_values(mdp, P_pi, R_pi)
    check_finite_values(V, "policy_iteration (the value of policy0)")
    return V


#: Policy iteration takes the compiled loops up to this work per backup: where the Python
#: around each Howard step is the cost (forest 1000: 14 steps of ~0.2 ms). Above it, one
#: benchmark run measured them no faster (dense2000x4 1.22x, grid100 1.38x the NumPy path).
PI_WORK = 1 << 15
#: Most policy-iteration steps per compiled call (bounds the history buffer it fills).
PI_CHUNK = 256


class _Compiled:
    """The compiled loops policy iteration uses on sparse MDPs (with Numba): the evaluation
    sweeps read the policy's rows of P in place (:class:`~mdptoolkit.evaluation._kernels.
    PolicyRows`, no gathered copy), and the improvement test is one pass over P computing
    the best Q, its action and the current action's Q. Without a callback whole runs of
    steps are one compiled call (:meth:`steps`): forest 1000's 14 steps took 2.1 ms with a
    return to Python at every step and its sweeps' checks, 1.0 ms in one call."""

    def __init__(self, mdp, loops, sweeps):
        self.mdp, self.loops, self.sweeps = mdp, loops, sweeps
        self.op = mdp._op
        self.R = np.array(mdp._R_am)  # writable: Numba reads read-only arrays slower
        S = mdp.n_states
        self.states = np.arange(S)
        self.best, self.current = np.empty(S), np.empty(S)
        self.greedy = np.empty(S, dtype=np.intp)
        self.mu = np.array(mdp.mu, dtype=np.float64)

    @classmethod
    def make(cls, mdp):
        loops = _kernels.for_mdp(mdp, upto=PI_WORK)
        if loops is None or not sp.issparse(mdp._op):
            return None
        sweeps = eval_kernels.compiled()
        return None if sweeps is None else cls(mdp, loops, sweeps)

    def chain(self, policy):
        """(P_pi as PolicyRows, R_pi) of a deterministic policy."""
        op, S = self.op, self.mdp.n_states
        rows = policy * S + self.states
        nnz = int((op.indptr[rows + 1] - op.indptr[rows]).sum())
        P_pi = eval_kernels.PolicyRows(op.indptr, op.indices, op.data, rows, (S, S), nnz)
        return P_pi, self.mdp._R_am.reshape(-1)[rows]

    def steps(self, policy, V, k, max_iter, tie_tol, changes, J, n_sweeps, elapsed, start):
        """Steps k + 1, ... in one call of :func:`~mdptoolkit.solvers._kernels.pi_loop_csr`
        (at most :data:`PI_CHUNK`), the histories extended (``elapsed`` interpolated within
        the call); ``policy`` is updated in place. Returns (steps done, event, V)."""
        mdp, op = self.mdp, self.op
        stop = min(max_iter, k + PI_CHUNK)
        history = np.empty((stop - k, 3))
        V = np.array(V, dtype=np.float64)  # updated in place
        last = time.perf_counter()
        done, event, _ = self.loops.pi_loop_csr(
            op.indptr, op.indices, op.data, self.R, mdp.gamma, policy, V, mdp.terminal,
            self.mu, -1.0 if tie_tol is None else tie_tol, _exact_rel(mdp.gamma, mdp._row_error),
            max(mdp._row_error, EPS), EPS, not mdp.is_sparse, history, k, stop)
        now = time.perf_counter()
        changes.extend(history[:done, 0].astype(int).tolist())
        J.extend(history[:done, 1].tolist())
        n_sweeps.extend(history[:done, 2].astype(int).tolist())
        elapsed.extend((last - start + (now - last) * np.arange(1, done + 1) / max(done, 1))
                       .tolist())
        return done, event, V

    def improvement(self, policy, V, error, tie_tol):
        """As :func:`_improvement`: (states to improve, greedy actions, best Q)."""
        op, mdp = self.op, self.mdp
        self.loops.improve_csr(op.indptr, op.indices, op.data, self.R, mdp.gamma, V, policy,
                               self.best, self.current, self.greedy)
        tol = (_tie_tolerance(mdp.gamma, V, self.current, error) if tie_tol is None
               else tie_tol)
        improve = self.best > self.current + tol + 2 * mdp.gamma * error
        return improve, self.greedy.copy(), self.best


def _evaluate_step(mdp, policy, V, sweeps, what, fast=None):
    """(V, certified error, sweeps used) for one policy of policy iteration (error 0: direct).

    Sweeps start from the previous policy's values and stop at round-off level, so the
    improvement step sees the values a direct solve would give; they give way to the direct
    solve when they would cost more than it (see :func:`sweep_values`)."""
    gamma = mdp.gamma
    if sweeps:
        if fast is None:
            P_pi, R_pi = _policy_matrix_rows(mdp, policy, raw=True)
        else:
            P_pi, R_pi = fast.chain(policy)
        rel = _exact_rel(gamma, mdp._row_error)
        budget = sweep_budget(P_pi, dense_direct=not mdp.is_sparse)
        V_new, error, used = sweep_values(P_pi, R_pi, gamma, V, rel, budget, rel=rel,
                                          row_error=mdp._row_error,
                                          compiled=fast is not None)
        if V_new is not None:
            V_new[mdp.terminal] = 0.0
            return V_new, max(error, 1e-300), used
    P_pi, R_pi = policy_chain(mdp, one_hot(policy, mdp.n_actions))
    if gamma == 1.0:
        check_proper(mdp, P_pi, what)
    V = solve_values(mdp, P_pi, R_pi)
    check_finite_values(V, f"policy_iteration (the value of {what})")
    return V, 0.0, 0


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
