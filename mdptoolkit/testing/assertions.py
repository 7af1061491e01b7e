r"""Assertion helpers for tests: is V optimal, is V the value of a policy, is a policy optimal?

Each helper raises ``AssertionError`` with a report in the format of
:func:`numpy.testing.assert_allclose`: a header naming the check and its tolerance, the number of
mismatched states, the worst state with the actual and the desired value, and the arrays.

What ``atol`` means
-------------------
In all three helpers ``atol`` bounds the **error** in the sup norm, never a residual:

- :func:`assert_bellman_optimal`: :math:`\max_s |V(s) - V^*(s)| \le \text{atol}`;
- :func:`assert_policy_value`: :math:`\max_s |V(s) - V^\pi(s)| \le \text{atol}`;
- :func:`assert_optimal_policy`: :math:`\max_s |V^\pi(s) - V^*(s)| \le \text{atol}`.

A small Bellman residual :math:`\|TV - V\|_\infty` does *not* make V accurate when
:math:`\gamma` is near 1: :math:`V^* + c` has residual :math:`(1 - \gamma) c`. The residual bounds
the error only through :math:`\|V - V^*\|_\infty \le \|TV - V\|_\infty / (1 - \gamma)`, and the
sharper MacQueen–Porteus bounds (Puterman 2005, Thm 6.6.3)

.. math::

    TV + \tfrac{\gamma}{1-\gamma} \min_s (TV - V)(s) \;\le\; V^* \;\le\;
    TV + \tfrac{\gamma}{1-\gamma} \max_s (TV - V)(s).

:func:`assert_bellman_optimal` first tries these bounds: when they prove the error is within
``atol`` it passes without further work. Otherwise (and always when :math:`\gamma = 1`) it
computes :math:`V^*` exactly and compares. "Exactly" means policy iteration with a direct linear
solve at each step: exact up to round-off, about :math:`\epsilon \|V^*\|_\infty / (1-\gamma)` with
:math:`\epsilon` the machine epsilon (policy iteration ignores gains in Q below about
``S * eps * max|Q|``, which could otherwise cycle on tied actions). At :math:`\gamma = 0.9999` and
:math:`|V| \sim 10^4` that is about 1e-8, so an ``atol`` far below ``1e-16 |V| / (1 - gamma)``
asks for more than float64 can check.

The reference values are computed here by a deliberately plain implementation (Howard's policy
iteration, one dense or sparse direct solve per step) that shares no code with mdptoolkit's
solvers, so that tests can cross-check them. It costs :math:`O(S^3)` per step for dense MDPs and is
meant for the small MDPs of tests.

With :math:`\gamma = 1` the MDP must have terminal states and a proper policy (one that reaches a
terminal state with probability 1), and improper policies must have value :math:`-\infty` from
some state (Bertsekas & Tsitsiklis 1991); otherwise :math:`V^*` is not defined by these methods and
:class:`~mdptoolkit.ImproperPolicyError` is raised.

References
----------
Puterman, M. L. (2005). Markov Decision Processes. Wiley. §6.4 (policy iteration), §6.6.
Bertsekas, D. P. and Tsitsiklis, J. N. (1991). An analysis of stochastic shortest path problems.
"""

from __future__ import annotations

import numbers

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from .. import _validation as val
from .._typing import ArrayLike, FloatArray, Policy
from ..exceptions import ImproperPolicyError, MDPValidationError
from ..mdp import MDP

__all__ = ["assert_bellman_optimal", "assert_policy_value", "assert_optimal_policy"]

_EPS = np.finfo(np.float64).eps


def _tie_tolerance(S, Q):
    """Gains below this are round-off in Q = R + gamma P V (about S terms of size |V| each):
    reference policy iteration ignores them, so it never cycles between tied actions."""
    return 8 * _EPS * (S + 8) * (1.0 + np.abs(Q[np.isfinite(Q)]).max())


# ---------------------------------------------------------------------- reference computations
def _flat(mdp):
    """State-major (S*A, S) transitions: dense ndarray or CSR; rewards with 0 at disallowed."""
    S, A = mdp.n_states, mdp.n_actions
    P = mdp.P
    flat = sp.csr_array(P) if sp.issparse(P) else np.asarray(P).reshape(S * A, S)
    R0 = np.where(mdp.allowed, mdp.R, 0.0)
    return flat, R0


def _q(mdp, flat, R0, V):
    """Q = R + gamma P V, -inf at disallowed actions."""
    S, A = mdp.n_states, mdp.n_actions
    Q = R0 + mdp.gamma * (flat @ V).reshape(S, A)
    return np.where(mdp.allowed, Q, -np.inf)


def _chain(mdp, flat, R0, pi):
    """P_pi (S, S) and R_pi (S,) of an (S, A) policy matrix."""
    S, A = mdp.n_states, mdp.n_actions
    Pi = sp.csr_array((pi.ravel(), (np.repeat(np.arange(S), A), np.arange(S * A))),
                      shape=(S, S * A))
    return Pi @ flat, np.einsum("sa,sa->s", pi, R0)


def _reaches_terminal(mdp, P_pi):
    """Boolean (S,): states from which the chain P_pi reaches a terminal state."""
    step = sp.csr_array(P_pi) > 0
    reach = np.asarray(mdp.terminal).copy()
    while True:
        new = reach | (step @ reach.astype(np.float64) > 0)
        if (new == reach).all():
            return reach
        reach = new


def _policy_values(mdp, flat, R0, pi):
    r"""V^pi by one direct solve of (I - gamma P_pi) V = R_pi over the non-terminal states."""
    S = mdp.n_states
    P_pi, R_pi = _chain(mdp, flat, R0, pi)
    if mdp.gamma == 1.0:
        reach = _reaches_terminal(mdp, P_pi)
        if not reach.all():
            s = int(np.argmin(reach))
            raise ImproperPolicyError(
                f"policy must reach a terminal state with probability 1 when gamma == 1; got "
                f"state {s} that never reaches one ({int((~reach).sum())} such states)")
    live = np.flatnonzero(~np.asarray(mdp.terminal))
    V = np.zeros(S)
    if live.size:
        if sp.issparse(P_pi):
            M = sp.identity(live.size, format="csc") - mdp.gamma * sp.csc_array(P_pi[live][:, live])
            V[live] = np.atleast_1d(spla.spsolve(M, R_pi[live]))
        else:
            M = np.eye(live.size) - mdp.gamma * P_pi[np.ix_(live, live)]
            V[live] = np.linalg.solve(M, R_pi[live])
    return V


def _proper_policy(mdp, flat):
    """A deterministic proper policy: each state moves towards the terminal states (attractor)."""
    S, A = mdp.n_states, mdp.n_actions
    allowed = np.asarray(mdp.allowed)
    policy = np.argmax(allowed, axis=1)
    reach = np.asarray(mdp.terminal).copy()
    while not reach.all():
        mass = np.where(allowed, (flat @ reach.astype(np.float64)).reshape(S, A), 0.0)
        new = ~reach & (mass.max(axis=1) > 0)
        if not new.any():
            s = int(np.argmin(reach))
            raise ImproperPolicyError(
                f"mdp must have a proper policy when gamma == 1; got state {s} from which no "
                f"policy reaches a terminal state ({int((~reach).sum())} such states)")
        policy[new] = np.argmax(mass[new], axis=1)
        reach |= new
    return policy


def _optimal(mdp, policy0=None):
    """(V*, Q*, pi*) by Howard's policy iteration with exact evaluation (the reference)."""
    S, A = mdp.n_states, mdp.n_actions
    flat, R0 = _flat(mdp)
    eye = np.eye(A)
    if policy0 is None or mdp.gamma == 1.0:
        policy = _proper_policy(mdp, flat) if mdp.gamma == 1.0 else np.argmax(
            np.where(mdp.allowed, mdp.R, -np.inf), axis=1)
        if policy0 is not None:  # warm start when the candidate is proper
            P_pi, _ = _chain(mdp, flat, R0, eye[policy0])
            if _reaches_terminal(mdp, P_pi).all():
                policy = policy0
    else:
        policy = policy0
    states = np.arange(S)
    for _ in range(10 * S * A + 100):  # Howard PI needs far fewer steps; a guard, not a budget
        V = _policy_values(mdp, flat, R0, eye[policy])
        Q = _q(mdp, flat, R0, V)
        best = np.argmax(Q, axis=1)
        gain = Q[states, best] - Q[states, policy]
        switch = gain > _tie_tolerance(S, Q)
        if not switch.any():
            return V, Q, policy
        policy = np.where(switch, best, policy)
    raise RuntimeError("reference policy iteration did not stabilize; please report this MDP")


# ---------------------------------------------------------------------- reports
def _check_atol(atol):
    if isinstance(atol, bool) or not isinstance(atol, numbers.Real) or not 0 <= atol < np.inf:
        raise ValueError(f"atol must be a finite number >= 0; got {atol!r}")
    return float(atol)


def _check_mdp(mdp):
    if not isinstance(mdp, MDP):
        hint = ": pass its .mdp (env.mdp)" if isinstance(getattr(mdp, "mdp", None), MDP) else ""
        raise TypeError(f"mdp must be an mdptoolkit.MDP; got {type(mdp).__name__}{hint}")


def _state(mdp, s):
    name = f" ({mdp.state_names[s]!r})" if mdp.state_names is not None else ""
    return f"state {s}{name}"


def _action(mdp, a):
    name = f" ({mdp.action_names[a]!r})" if mdp.action_names is not None else ""
    return f"action {a}{name}"


def _num(x):
    return f"{x:.10g}"


def _as_values(mdp: MDP, V: ArrayLike, name: str) -> FloatArray:
    """V as float64 (S,); non-finite entries fail the assertion (they are never a correct value)."""
    V = np.asarray(V, dtype=np.float64)
    if V.shape != (mdp.n_states,):
        raise MDPValidationError(f"{name} must have shape ({mdp.n_states},); got {V.shape}")
    bad = ~np.isfinite(V)
    if bad.any():
        s = int(np.argmax(bad))
        raise AssertionError(f"\n{name} must be finite; got {V[s]} at {name}[{s}] "
                             f"({int(bad.sum())} non-finite entries)")
    return V


def _as_policy(mdp, policy):
    """(S, A) matrix of a policy; a disallowed action fails the assertion."""
    arr = np.asarray(policy)
    S, A = mdp.n_states, mdp.n_actions
    if arr.ndim == 1 and arr.shape == (S,) and np.issubdtype(arr.dtype, np.integer):
        valid = (arr >= 0) & (arr < A)
        ok = valid & mdp.allowed[np.arange(S), np.where(valid, arr, 0)]
        if not ok.all():
            s = int(np.argmin(ok))
            raise AssertionError(f"\npolicy must choose allowed actions; got action {int(arr[s])} "
                                 f"at {_state(mdp, s)} ({int((~ok).sum())} such states)")
    elif arr.shape == (S, A):
        leak = (np.asarray(arr, dtype=np.float64) > 0) & ~mdp.allowed
        if leak.any():
            s, a = np.argwhere(leak)[0]
            raise AssertionError(f"\npolicy must give probability 0 to disallowed actions; got "
                                 f"{_num(arr[s, a])} for {_action(mdp, a)} at {_state(mdp, s)} "
                                 f"({int(leak.sum())} such entries)")
    return val.as_policy_matrix(mdp, arr)


def _report(header, atol, actual, desired, actual_name, desired_name, worst_lines, extra=()):
    diff = np.abs(actual - desired)
    bad = diff > atol
    n = actual.size
    with np.printoptions(threshold=100, edgeitems=5, precision=8):
        lines = [
            "",
            f"{header} to tolerance atol={atol:g}",
            "",
            f"Mismatched states: {int(bad.sum())} / {n} ({100.0 * bad.sum() / n:.3g}%)",
            f"Max absolute difference among states: {_num(diff.max())}",
            *worst_lines,
            *extra,
            f" {actual_name}: {np.array_repr(actual)}",
            f" {desired_name}: {np.array_repr(desired)}",
        ]
    return "\n".join(lines)


# ---------------------------------------------------------------------- public helpers
def assert_bellman_optimal(mdp: MDP, V: ArrayLike, *, atol: float = 1e-8) -> None:
    r"""Assert that ``V`` is the optimal value :math:`V^*` within ``atol`` in every state.

    Passes iff :math:`\max_s |V(s) - V^*(s)| \le \text{atol}` — an error bound, not a residual
    bound (see the module notes): the check is sound for :math:`\gamma` near 1 too.

    Parameters
    ----------
    mdp : MDP
    V : array_like (S,)
        Claimed optimal values.
    atol : float, default 1e-8
        Bound on the sup-norm error :math:`\|V - V^*\|_\infty`.

    Raises
    ------
    AssertionError
        With a report: number of mismatched states, the worst state with V and V* there, the
        Bellman residual :math:`\|TV - V\|_\infty` and where it is largest.
    ImproperPolicyError
        When :math:`\gamma = 1` and the MDP has no proper policy.

    See Also
    --------
    assert_optimal_policy, assert_policy_value

    Notes
    -----
    Fast path for :math:`\gamma < 1` (Puterman 2005, Thm 6.6.3): with :math:`r = TV - V`,

    .. math::

        TV + \tfrac{\gamma}{1-\gamma} \min r \le V^* \le TV + \tfrac{\gamma}{1-\gamma} \max r,

    so when both ends lie within ``atol`` of V the check passes at the cost of one backup.
    Otherwise :math:`V^*` is computed by reference policy iteration (warm-started from the
    policy greedy in V) and compared state by state.

    Examples
    --------
    Puterman's (2005, §3.1) two-state example, :math:`V^* = (-8.5714..., -20)` at
    :math:`\gamma = 0.95`:

    >>> import numpy as np, mdptoolkit as mt
    >>> from mdptoolkit.testing import assert_bellman_optimal
    >>> P = np.zeros((2, 2, 2)); P[0, 0] = [0.5, 0.5]; P[0, 1] = [0, 1]; P[1, :] = [0, 1]
    >>> mdp = mt.MDP(P, [[5.0, 10.0], [-1.0, -1.0]], 0.95)
    >>> assert_bellman_optimal(mdp, [-60 / 7, -20.0])
    >>> assert_bellman_optimal(mdp, [-8.5, -20.0], atol=1e-3)  # doctest: +NORMALIZE_WHITESPACE
    Traceback (most recent call last):
    ...
    AssertionError:
    V is not optimal to tolerance atol=0.001
    <BLANKLINE>
    Mismatched states: 1 / 2 (50%)
    Max absolute difference among states: 0.07142857143
    Worst state 0: V[0] = -8.5, V*[0] = -8.571428571
    Bellman residual max|TV - V|: 0.0375 at state 0
     ACTUAL: array([ -8.5, -20. ])
     DESIRED: array([ -8.57142857, -20.        ])
    """
    _check_mdp(mdp)
    atol = _check_atol(atol)
    V = _as_values(mdp, V, "V")
    flat, R0 = _flat(mdp)
    Q = _q(mdp, flat, R0, V)
    TV = Q.max(axis=1)
    residual = TV - V
    gamma = mdp.gamma
    if gamma < 1.0:
        k = gamma / (1.0 - gamma)
        lower = TV + k * residual.min()
        upper = TV + k * residual.max()
        if np.maximum(np.abs(upper - V), np.abs(lower - V)).max() <= atol:
            return
    V_star, _, _ = _optimal(mdp, policy0=np.argmax(Q, axis=1))
    error = np.abs(V - V_star)
    if error.max() <= atol:
        return
    s = int(np.argmax(error))
    r = int(np.argmax(np.abs(residual)))
    raise AssertionError(_report(
        "V is not optimal", atol, V, V_star, "ACTUAL", "DESIRED",
        [f"Worst {_state(mdp, s)}: V[{s}] = {_num(V[s])}, V*[{s}] = {_num(V_star[s])}",
         f"Bellman residual max|TV - V|: {_num(abs(residual[r]))} at {_state(mdp, r)}"]))


def assert_policy_value(mdp: MDP, policy: Policy, V: ArrayLike, *, atol: float = 1e-8) -> None:
    r"""Assert that ``V`` is the value :math:`V^\pi` of ``policy`` within ``atol`` in every state.

    Passes iff :math:`\max_s |V(s) - V^\pi(s)| \le \text{atol}`, with :math:`V^\pi` from one
    direct solve of :math:`(I - \gamma P_\pi) V = R_\pi` over the non-terminal states.

    Parameters
    ----------
    mdp : MDP
    policy : array_like, int (S,) or float (S, A)
        Deterministic or stochastic policy.
    V : array_like (S,)
        Claimed values of the policy.
    atol : float, default 1e-8
        Bound on the sup-norm error :math:`\|V - V^\pi\|_\infty`.

    Raises
    ------
    AssertionError
        With a report (mismatched states, worst state, :math:`V^\pi` there, the residual
        :math:`\|T^\pi V - V\|_\infty`); also when the policy uses a disallowed action or V is not
        finite.
    ImproperPolicyError
        When :math:`\gamma = 1` and the policy does not reach a terminal state with probability 1.

    See Also
    --------
    assert_bellman_optimal, mdptoolkit.evaluate_policy

    Examples
    --------
    >>> import numpy as np, mdptoolkit as mt
    >>> from mdptoolkit.testing import assert_policy_value
    >>> P = np.zeros((2, 2, 2)); P[0, 0] = [0.5, 0.5]; P[0, 1] = [0, 1]; P[1, :] = [0, 1]
    >>> mdp = mt.MDP(P, [[5.0, 10.0], [-1.0, -1.0]], 0.95)
    >>> assert_policy_value(mdp, np.array([1, 0]), [10 - 0.95 * 20, -20.0])
    >>> assert_policy_value(mdp, np.array([1, 0]), [-8.0, -20.0])  # doctest: +NORMALIZE_WHITESPACE
    Traceback (most recent call last):
    ...
    AssertionError:
    V is not the value of the policy to tolerance atol=1e-08
    <BLANKLINE>
    Mismatched states: 1 / 2 (50%)
    Max absolute difference among states: 1
    Worst state 0: V[0] = -8, V^pi[0] = -9
    Residual max|T^pi V - V|: 1 at state 0
     ACTUAL: array([ -8., -20.])
     DESIRED: array([ -9., -20.])
    """
    _check_mdp(mdp)
    atol = _check_atol(atol)
    V = _as_values(mdp, V, "V")
    pi = _as_policy(mdp, policy)
    flat, R0 = _flat(mdp)
    V_pi = _policy_values(mdp, flat, R0, pi)
    error = np.abs(V - V_pi)
    if error.max() <= atol:
        return
    s = int(np.argmax(error))
    P_pi, R_pi = _chain(mdp, flat, R0, pi)
    residual = np.abs(R_pi + mdp.gamma * (P_pi @ V) - V)
    r = int(np.argmax(residual))
    raise AssertionError(_report(
        "V is not the value of the policy", atol, V, V_pi, "ACTUAL", "DESIRED",
        [f"Worst {_state(mdp, s)}: V[{s}] = {_num(V[s])}, V^pi[{s}] = {_num(V_pi[s])}",
         f"Residual max|T^pi V - V|: {_num(residual[r])} at {_state(mdp, r)}"]))


def assert_optimal_policy(mdp: MDP, policy: Policy, *, atol: float = 1e-8) -> None:
    r"""Assert that ``policy`` is optimal: :math:`V^\pi` is within ``atol`` of :math:`V^*`.

    Passes iff :math:`\max_s |V^\pi(s) - V^*(s)| \le \text{atol}`, both computed exactly (direct
    evaluation of the policy; reference policy iteration for :math:`V^*`).

    Parameters
    ----------
    mdp : MDP
    policy : array_like, int (S,) or float (S, A)
        Deterministic or stochastic policy.
    atol : float, default 1e-8
        Bound on the sup-norm value loss :math:`\|V^\pi - V^*\|_\infty`.

    Raises
    ------
    AssertionError
        With a report: mismatched states, the worst state with :math:`V^\pi` and :math:`V^*`
        there, the policy's action and the better action there, and the state where the
        policy's one-step loss :math:`\max_a Q^*(s, a) - \sum_a \pi(a|s) Q^*(s, a)` is largest
        (where changing the action helps most). Also when the policy uses a disallowed action.
    ImproperPolicyError
        When :math:`\gamma = 1` and the policy (or every policy) is improper.

    See Also
    --------
    assert_bellman_optimal, assert_policy_value

    Examples
    --------
    >>> import numpy as np, mdptoolkit as mt
    >>> from mdptoolkit.testing import assert_optimal_policy
    >>> P = np.zeros((2, 2, 2)); P[0, 0] = [0.5, 0.5]; P[0, 1] = [0, 1]; P[1, :] = [0, 1]
    >>> mdp = mt.MDP(P, [[5.0, 10.0], [-1.0, -1.0]], 0.95)
    >>> assert_optimal_policy(mdp, np.array([0, 0]))
    >>> assert_optimal_policy(mdp, np.array([1, 0]))  # doctest: +NORMALIZE_WHITESPACE
    Traceback (most recent call last):
    ...
    AssertionError:
    policy is not optimal to tolerance atol=1e-08
    <BLANKLINE>
    Mismatched states: 1 / 2 (50%)
    Max absolute difference among states: 0.4285714286
    Worst state 0: V^pi[0] = -9, V*[0] = -8.571428571
    At state 0 the policy takes action 1 (Q* = -9); better: action 0 (Q* = -8.571428571)
     ACTUAL: array([ -9., -20.])
     DESIRED: array([ -8.57142857, -20.        ])
    """
    _check_mdp(mdp)
    atol = _check_atol(atol)
    pi = _as_policy(mdp, policy)
    flat, R0 = _flat(mdp)
    V_pi = _policy_values(mdp, flat, R0, pi)
    V_star, Q_star, _ = _optimal(mdp, policy0=np.argmax(_q(mdp, flat, R0, V_pi), axis=1))
    error = np.abs(V_pi - V_star)
    if error.max() <= atol:
        return
    s = int(np.argmax(error))
    Q0 = np.where(mdp.allowed, Q_star, 0.0)
    q_pi = np.einsum("sa,sa->s", pi, Q0)
    loss = Q_star.max(axis=1) - q_pi
    lines = [f"Worst {_state(mdp, s)}: V^pi[{s}] = {_num(V_pi[s])}, V*[{s}] = {_num(V_star[s])}"]
    for t in dict.fromkeys([s, int(np.argmax(loss))]):
        best = int(np.argmax(Q_star[t]))
        if loss[t] <= atol:
            lines.append(f"At {_state(mdp, t)} the policy's choice is optimal "
                         f"(Q* = {_num(q_pi[t])}); the loss comes from the states it leads to")
            continue
        taken = np.flatnonzero(pi[t] > 0)
        if taken.size == 1:
            what = f"takes {_action(mdp, int(taken[0]))} (Q* = {_num(q_pi[t])})"
        else:
            probs = ", ".join(f"{int(a)}: {_num(pi[t, a])}" for a in taken)
            what = f"mixes actions {{{probs}}} (expected Q* = {_num(q_pi[t])})"
        lines.append(f"At {_state(mdp, t)} the policy {what}; better: {_action(mdp, best)} "
                     f"(Q* = {_num(Q_star[t, best])})")
    raise AssertionError(_report("policy is not optimal", atol, V_pi, V_star, "ACTUAL",
                                 "DESIRED", lines))
