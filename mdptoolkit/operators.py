r"""Bellman operators: one matrix–vector product over the flat transition matrix.

With the action-major matrix :math:`\mathbf{P}` of shape (A·S, S) (row ``a*S + s`` holds
:math:`P(\cdot \mid s, a)`),

.. math::

    Q = R + \gamma \mathbf{P} V, \qquad (TV)(s) = \max_a Q(s, a), \qquad
    (T^\pi V)(s) = \sum_a \pi(a \mid s) Q(s, a).

Disallowed actions get :math:`Q = -\infty` before a maximum and probability 0 in a policy.
The soft (KL-regularized) operator with temperature :math:`\beta > 0` and reference policy
:math:`\pi_{ref}` (default uniform over allowed actions) is

.. math::

    (T_\beta V)(s) = \beta \log \sum_a \pi_{ref}(a \mid s) \exp(Q(s, a) / \beta),

whose maximizing policy is :math:`\pi(a \mid s) \propto \pi_{ref}(a \mid s) \exp(Q(s,a)/\beta)`.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from . import _validation as val
from ._typing import ArrayLike, BoolArray, FloatArray, IntArray, Policy
from .exceptions import MDPValidationError
from .mdp import MDP

try:  # y += A @ x into a preallocated buffer; private but present in every SciPy since 0.7
    from scipy.sparse._sparsetools import csr_matvec as _csr_matvec
except ImportError:  # pragma: no cover - fall back to the public product
    _csr_matvec = None

__all__ = ["q_values", "bellman_optimality", "bellman_expectation", "greedy_policy",
           "optimal_actions", "soft_bellman_optimality", "softmax_policy"]


def logsumexp(z: FloatArray, axis: int) -> FloatArray:
    """log(sum(exp(z), axis)) computed stably; -inf where every entry is -inf."""
    m = np.max(z, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    with np.errstate(divide="ignore"):
        out = np.log(np.sum(np.exp(z - m), axis=axis, keepdims=True)) + m
    return np.squeeze(out, axis=axis)


class _Backup:
    """Repeated Bellman backups of one MDP with preallocated buffers (used by the solvers).

    ``q(V)`` returns the action-major (A, S) array ``R + gamma * P V`` (``-inf`` at disallowed
    actions) in a buffer that the next call overwrites; it costs one product with the flat
    transition matrix, a copy of R and no allocation.
    """

    def __init__(self, mdp: MDP, gamma: float | None = None) -> None:
        self.S, self.A = mdp.n_states, mdp.n_actions
        self.op = mdp._op
        self.R = mdp._R_am
        self.gamma = mdp.gamma if gamma is None else gamma
        self.buf = np.empty((self.A, self.S))
        self.flat = self.buf.reshape(-1)
        self.x = np.empty(self.S)
        self.kind = (("csr" if _csr_matvec is not None else "sparse") if sp.issparse(self.op)
                     else "dense")

    def q(self, V: FloatArray) -> FloatArray:
        np.multiply(V, self.gamma, out=self.x)
        if self.kind == "csr":
            np.copyto(self.buf, self.R)
            op = self.op
            _csr_matvec(op.shape[0], op.shape[1], op.indptr, op.indices, op.data, self.x, self.flat)
        elif self.kind == "dense":
            np.dot(self.op, self.x, out=self.flat)
            self.buf += self.R
        else:
            np.add(self.R, (self.op @ self.x).reshape(self.A, self.S), out=self.buf)
        return self.buf

    def max(self, V: FloatArray,
            out: FloatArray | None = None) -> tuple[FloatArray, FloatArray]:
        """(TV), and the (A, S) Q buffer it came from.

        The maximum over actions is A - 1 elementwise ``np.maximum`` passes over contiguous
        rows: cheaper than ``np.max(axis=0)``, whose fixed cost shows on small MDPs."""
        Q = self.q(V)
        if out is None:
            out = np.empty(self.S)
        if self.A == 1:
            np.copyto(out, Q[0])
            return out, Q
        np.maximum(Q[0], Q[1], out=out)
        for a in range(2, self.A):
            np.maximum(out, Q[a], out=out)
        return out, Q


def _values(mdp: MDP, V: ArrayLike, name: str = "V") -> FloatArray:
    return val.as_float_array(V, name, shape=(mdp.n_states,))


def q_values(mdp: MDP, V: ArrayLike) -> FloatArray:
    r"""Action values :math:`Q(s, a) = R(s, a) + \gamma \sum_{s'} P(s' \mid s, a) V(s')`.

    Parameters
    ----------
    mdp : MDP
    V : array_like (S,)

    Returns
    -------
    Q : ndarray (S, A)
        ``-inf`` at disallowed actions.

    Examples
    --------
    >>> import numpy as np, mdptoolkit as mt
    >>> mdp = mt.MDP(np.ones((1, 2, 1)), [[1.0, 2.0]], 0.5)
    >>> mt.q_values(mdp, np.array([4.0]))
    array([[3., 4.]])
    """
    V = _values(mdp, V)
    return np.ascontiguousarray(_Backup(mdp).q(V).T)


def _q_finite(mdp: MDP, V: FloatArray) -> FloatArray:
    """(S, A) action values with 0 at disallowed actions (for expectations under a policy)."""
    return np.where(mdp.allowed, _Backup(mdp).q(V).T, 0.0)


def bellman_optimality(mdp: MDP, V: ArrayLike) -> FloatArray:
    r"""The optimality operator :math:`(TV)(s) = \max_a Q(s, a)` over allowed actions.

    Examples
    --------
    >>> import numpy as np, mdptoolkit as mt
    >>> mdp = mt.MDP(np.ones((1, 2, 1)), [[1.0, 2.0]], 0.5)
    >>> mt.bellman_optimality(mdp, [4.0])
    array([4.])
    """
    V = _values(mdp, V)
    return _Backup(mdp).max(V)[0]


def bellman_expectation(mdp: MDP, V: ArrayLike, policy: Policy) -> FloatArray:
    r"""The expectation operator :math:`(T^\pi V)(s) = \sum_a \pi(a \mid s) Q(s, a)`.

    ``policy`` is an int array (S,) or a stochastic (S, A) array.

    Examples
    --------
    >>> import numpy as np, mdptoolkit as mt
    >>> mdp = mt.MDP(np.ones((1, 2, 1)), [[1.0, 2.0]], 0.5)
    >>> mt.bellman_expectation(mdp, [4.0], np.array([[0.5, 0.5]]))
    array([3.5])
    """
    V = _values(mdp, V)
    pi = val.as_policy_matrix(mdp, policy)
    return np.einsum("sa,sa->s", pi, _q_finite(mdp, V))


def greedy_policy(mdp: MDP, V_or_Q: ArrayLike) -> IntArray:
    r"""Deterministic greedy policy :math:`\arg\max_a Q(s, a)`, lowest allowed index among ties.

    Parameters
    ----------
    mdp : MDP
    V_or_Q : array_like (S,) or (S, A)
        Values (Q is computed from them) or action values.

    Returns
    -------
    ndarray of int (S,)

    Examples
    --------
    >>> import numpy as np, mdptoolkit as mt
    >>> mdp = mt.MDP(np.ones((1, 3, 1)), [[1.0, 2.0, 2.0]], 0.5)
    >>> mt.greedy_policy(mdp, [0.0])
    array([1])
    """
    arr = np.asarray(V_or_Q)
    S, A = mdp.n_states, mdp.n_actions
    if arr.shape == (S,):
        Q = _Backup(mdp).q(_values(mdp, arr))
        return np.argmax(Q, axis=0)
    if arr.shape != (S, A):
        raise MDPValidationError(f"V_or_Q must have shape ({S},) or ({S}, {A}); got {arr.shape}")
    Q = val.as_float_array(arr, "Q", allow_neg_inf=True)
    Q[~mdp.allowed] = -np.inf
    return np.argmax(Q, axis=1)


def optimal_actions(mdp: MDP, V: ArrayLike, atol: float = 1e-9) -> BoolArray:
    """Boolean mask (S, A) of allowed actions whose Q is within ``atol`` of the best.

    Examples
    --------
    >>> import numpy as np, mdptoolkit as mt
    >>> mdp = mt.MDP(np.ones((1, 3, 1)), [[1.0, 2.0, 2.0]], 0.5)
    >>> mt.optimal_actions(mdp, [0.0])
    array([[False,  True,  True]])
    """
    atol = val.check_positive(atol, "atol", allow_zero=True)
    Q = q_values(mdp, V)
    best = Q.max(axis=1, keepdims=True)
    return (Q >= best - atol) & mdp.allowed


def _log_reference(mdp: MDP, reference: ArrayLike | None) -> FloatArray:
    ref = val.as_reference(mdp, reference)
    with np.errstate(divide="ignore"):
        return np.log(ref)


def soft_bellman_optimality(mdp: MDP, V: ArrayLike, beta: float,
                            reference: ArrayLike | None = None) -> FloatArray:
    r"""Soft optimality operator :math:`\beta \log \sum_a \pi_{ref}(a|s) e^{Q(s,a)/\beta}`.

    Computed as a log-sum-exp, stable for any :math:`\beta > 0`. As :math:`\beta \to 0` it tends
    to :func:`bellman_optimality` restricted to the support of the reference.

    Parameters
    ----------
    mdp : MDP
    V : array_like (S,)
    beta : float
        Temperature, > 0.
    reference : array_like (S, A), optional
        Reference policy; default uniform over allowed actions.

    Examples
    --------
    >>> import numpy as np, mdptoolkit as mt
    >>> mdp = mt.MDP(np.ones((1, 2, 1)), [[0.0, 0.0]], 0.5)
    >>> mt.soft_bellman_optimality(mdp, [0.0], beta=1.0)  # log(0.5 e^0 + 0.5 e^0) = 0
    array([0.])
    """
    beta = val.check_beta(beta, allow_zero=False)
    V = _values(mdp, V)
    Q = _Backup(mdp).q(V).T
    return beta * logsumexp(Q / beta + _log_reference(mdp, reference), axis=1)


def softmax_policy(Q: ArrayLike, beta: float,
                   reference: ArrayLike | None = None) -> FloatArray:
    r"""The policy :math:`\pi(a|s) \propto \pi_{ref}(a|s) \exp(Q(s,a)/\beta)`.

    Parameters
    ----------
    Q : array_like (S, A)
        Action values; ``-inf`` entries (disallowed actions) get probability 0.
    beta : float
        Temperature, > 0.
    reference : array_like (S, A), optional
        Reference policy; default uniform over the finite entries of each row of Q.

    Returns
    -------
    ndarray (S, A), rows summing to 1.

    Examples
    --------
    >>> import numpy as np, mdptoolkit as mt
    >>> mt.softmax_policy(np.array([[0.0, np.log(3.0), -np.inf]]), beta=1.0)
    array([[0.25, 0.75, 0.  ]])
    """
    beta = val.check_beta(beta, allow_zero=False)
    Q = val.as_float_array(Q, "Q", ndim=2, allow_neg_inf=True)
    finite = np.isfinite(Q)
    if not finite.any(axis=1).all():
        s = int(np.argmin(finite.any(axis=1)))
        raise MDPValidationError(f"Q must have a finite entry in every row; got none at Q[{s}, :]")
    if reference is None:
        logref = np.where(finite, 0.0, -np.inf)
    else:
        ref = val.as_float_array(reference, "reference", shape=Q.shape)
        if (ref < 0).any():
            s, a = np.argwhere(ref < 0)[0]
            raise MDPValidationError(f"reference must be non-negative; got {ref[s, a]} at "
                                     f"reference[{s}, {a}]")
        with np.errstate(divide="ignore"):
            logref = np.log(ref)
    z = Q / beta + logref
    z -= logsumexp(z, axis=1)[:, None]
    pi = np.exp(z)
    if not np.isfinite(pi).all():
        s = int(np.argwhere(~np.isfinite(pi))[0][0])
        raise MDPValidationError(f"reference must give positive probability to some action with "
                                 f"finite Q; got none at state {s}")
    return pi
