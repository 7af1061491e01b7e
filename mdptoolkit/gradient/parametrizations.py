r"""Policy parametrizations: :math:`\theta \mapsto` logits :math:`z_\theta(s, a)` and
:math:`\pi_\theta(a|s) \propto \exp z_\theta(s, a)` over the allowed actions."""

from __future__ import annotations

import copy
from typing import Any, Union

import numpy as np
import scipy.sparse as sp

from .. import _validation as val
from .._typing import ArrayLike, FloatArray
from ..exceptions import MDPValidationError


def _softmax_rows(z):
    """Row softmax of logits with -inf entries (probability 0); overwrites ``z``."""
    z -= z.max(axis=1, keepdims=True)
    np.exp(z, out=z)
    z /= z.sum(axis=1, keepdims=True)
    return z


def _check_allowed(allowed, n_states, n_actions):
    if allowed is None:
        return np.ones((n_states, n_actions), dtype=bool)
    allowed = val.as_bool_mask(allowed, "allowed", (n_states, n_actions))
    val.check_some_allowed(allowed)
    return allowed


class TabularSoftmax:
    r"""The tabular softmax policy :math:`\pi_\theta(a|s) \propto \exp\theta_{s,a}` over allowed
    actions.

    Parameters
    ----------
    n_states, n_actions : int
    allowed : array_like of bool (S, A), optional
        Actions outside it get probability 0 (default: all allowed). On an MDP with disallowed
        actions the MDP's mask applies as well: every function taking ``param`` gives them
        probability 0, so a parametrization built without ``allowed`` works on any MDP.

    Attributes
    ----------
    shape : tuple
        Shape of ``theta``: (S, A).

    Examples
    --------
    >>> import numpy as np, mdptoolkit as mt
    >>> param = mt.TabularSoftmax(1, 3, allowed=[[True, True, False]])
    >>> param.policy(np.array([[0.0, np.log(3.0), 5.0]]))
    array([[0.25, 0.75, 0.  ]])
    """

    def __init__(self, n_states: int, n_actions: int, *,
                 allowed: ArrayLike | None = None) -> None:
        self.n_states = val.check_positive(n_states, "n_states", integer=True)
        self.n_actions = val.check_positive(n_actions, "n_actions", integer=True)
        self.allowed = _check_allowed(allowed, self.n_states, self.n_actions)
        self.all_allowed = bool(self.allowed.all())
        self.shape = (self.n_states, self.n_actions)

    def __repr__(self) -> str:
        return f"TabularSoftmax(n_states={self.n_states}, n_actions={self.n_actions})"

    def init(self) -> FloatArray:
        """Zeros: the uniform policy over allowed actions."""
        return np.zeros(self.shape)

    def check(self, theta: ArrayLike) -> FloatArray:
        return val.as_float_array(theta, "theta", shape=self.shape)

    def logits(self, theta: FloatArray) -> FloatArray:
        """(S, A) logits, -inf at disallowed actions."""
        return np.where(self.allowed, theta, -np.inf)

    def policy(self, theta: FloatArray) -> FloatArray:
        """(S, A) policy."""
        return _softmax_rows(self.logits(self.check(theta)))

    def logits_vjp(self, theta: FloatArray, w: FloatArray) -> FloatArray:
        r""":math:`\sum_{s,a} w(s,a) \nabla_\theta z(s,a)` = ``w`` itself (masked)."""
        w = np.asarray(w, dtype=np.float64)
        return w if self.all_allowed else np.where(self.allowed, w, 0.0)

    def natural_direction(self, theta: FloatArray, pi: FloatArray, d: FloatArray,
                          advantage: FloatArray, grad: FloatArray) -> FloatArray:
        r"""Natural gradient direction: the advantage itself (Kakade 2001; Agarwal et al. 2021)."""
        return np.where(self.allowed, advantage, 0.0)


class LogLinear:
    r"""The log-linear policy :math:`\pi_\theta(a|s) \propto \exp(\phi(s,a)^\top \theta)`.

    Parameters
    ----------
    features : array_like (S, A, d) or scipy sparse matrix (S*A, d)
        Feature vectors :math:`\phi(s, a)`; a sparse matrix has row ``s*A + a``.
    allowed : array_like of bool (S, A), optional
        Actions outside it get probability 0; on an MDP with disallowed actions, the MDP's
        mask applies as well (as for :class:`TabularSoftmax`).
    n_actions : int, optional
        Required with sparse ``features`` (their rows do not tell S and A apart).

    Examples
    --------
    One shared parameter: the log-odds of "right" (action 1) in every state.

    >>> import numpy as np, mdptoolkit as mt
    >>> phi = np.zeros((2, 2, 1)); phi[:, 1, 0] = 1.0
    >>> param = mt.LogLinear(phi)
    >>> param.policy(np.array([np.log(3.0)]))
    array([[0.25, 0.75],
           [0.25, 0.75]])
    """

    def __init__(self, features: Any, *, allowed: ArrayLike | None = None,
                 n_actions: int | None = None) -> None:
        if sp.issparse(features):
            if n_actions is None:
                raise TypeError("LogLinear with sparse features (S*A, d) needs n_actions=")
            rows, d = features.shape
            A = val.check_positive(n_actions, "n_actions", integer=True)
            if rows % A:
                raise MDPValidationError(f"sparse features must have S*A rows; got {rows} rows for "
                                         f"n_actions={A}")
            if features.dtype.kind == "c":
                val.check_real_dtype(sp.csr_array(features).data, "features",
                                     lambda k: f"stored entry {k} of features")
            self.features = sp.csr_array(features, dtype=np.float64)
            val.check_finite(self.features.data, "features.data")
            S = rows // A
        else:
            phi = val.as_float_array(features, "features", ndim=3)
            S, A, d = phi.shape
            self.features = phi.reshape(S * A, d)
        self.n_states, self.n_actions, self.dim = S, A, d
        self.allowed = _check_allowed(allowed, S, A)
        self.all_allowed = bool(self.allowed.all())
        self.shape = (d,)

    def __repr__(self) -> str:
        kind = "sparse" if sp.issparse(self.features) else "dense"
        return (f"LogLinear(n_states={self.n_states}, n_actions={self.n_actions}, "
                f"dim={self.dim}, {kind})")

    def init(self) -> FloatArray:
        """Zeros."""
        return np.zeros(self.dim)

    def check(self, theta: ArrayLike) -> FloatArray:
        return val.as_float_array(theta, "theta", shape=self.shape)

    def raw_logits(self, theta: FloatArray) -> FloatArray:
        """(S, A) logits before the mask of allowed actions."""
        return np.asarray(self.features @ theta).reshape(self.n_states, self.n_actions)

    def logits(self, theta: FloatArray) -> FloatArray:
        return np.where(self.allowed, self.raw_logits(theta), -np.inf)

    def policy(self, theta: FloatArray) -> FloatArray:
        """(S, A) policy."""
        return _softmax_rows(self.logits(self.check(theta)))

    def logits_vjp(self, theta: FloatArray, w: FloatArray) -> FloatArray:
        r""":math:`\sum_{s,a} w(s,a) \phi(s,a)`."""
        w = np.where(self.allowed, w, 0.0).reshape(-1)
        return np.asarray(self.features.T @ w).reshape(-1)

    def natural_direction(self, theta: FloatArray, pi: FloatArray, d: FloatArray,
                          advantage: FloatArray, grad: FloatArray) -> FloatArray:
        r"""Solve :math:`F x = \nabla J` with the Fisher matrix
        :math:`F = \sum_{s,a} d(s)\pi(a|s) g g^\top`,
        :math:`g = \phi(s,a) - \sum_b \pi(b|s)\phi(s,b)` (least squares, so a singular F is
        fine: Kakade 2001)."""
        S, A = self.n_states, self.n_actions
        weights = (d[:, None] * pi).reshape(-1)
        keep = weights > 0
        phi = self.features
        if sp.issparse(phi):
            Pi = sp.csr_array((pi.reshape(-1), (np.repeat(np.arange(S), A), np.arange(S * A))),
                              shape=(S, S * A))
            phi_bar = (Pi @ phi)  # (S, d)
            G = (phi - phi_bar[np.repeat(np.arange(S), A)]).tocsr()[keep]
            Gw = G.multiply(np.sqrt(weights[keep])[:, None]).tocsr()
            F = (Gw.T @ Gw).toarray()
        else:
            phi3 = phi.reshape(S, A, -1)
            phi_bar = np.einsum("sa,sad->sd", pi, phi3)
            G = (phi3 - phi_bar[:, None, :]).reshape(S * A, -1)[keep]
            F = (G * weights[keep][:, None]).T @ G
        x, *_ = np.linalg.lstsq(F, grad, rcond=1e-10)
        return x


#: Either policy parametrization (what ``param=`` accepts).
Parametrization = Union[TabularSoftmax, LogLinear]


def _param_for(mdp, param):
    if param is None:
        return TabularSoftmax(mdp.n_states, mdp.n_actions, allowed=mdp.allowed)
    if not hasattr(param, "policy") or not hasattr(param, "logits_vjp"):
        raise TypeError(f"param must be a parametrization such as TabularSoftmax or LogLinear; "
                        f"got {type(param).__name__}")
    if (param.n_states, param.n_actions) != (mdp.n_states, mdp.n_actions):
        raise MDPValidationError(f"param must be for {mdp.n_states} states and {mdp.n_actions} "
                                 f"actions; got {param.n_states} and {param.n_actions}")
    if mdp._all_allowed:
        return param
    # the MDP's mask applies: its disallowed actions get probability 0
    return _restricted(param, mdp.allowed, mdp.terminal, "the MDP allows")


def _restricted(param, keep, terminal, what):
    """``param`` with its mask narrowed to ``keep`` (S, A) outside terminal states (where no
    action matters); ``param`` itself when that changes nothing."""
    drop = param.allowed & ~keep & ~terminal[:, None]
    if not drop.any():
        return param
    mask = param.allowed & ~drop
    empty = ~mask.any(axis=1)
    if empty.any():
        s = int(np.argmax(empty))
        raise MDPValidationError(f"param must allow at least one action {what} in every state; "
                                 f"got none at state {s} ({int(empty.sum())} such states)")
    masked = copy.copy(param)
    masked.allowed = val.freeze(mask)
    masked.all_allowed = False
    return masked
