r"""The exact gradient of the (regularized) objective from :math:`V^\pi`, :math:`Q^\pi` and
:math:`d^\pi`, and the DP optimum the gradient methods are measured against."""

from __future__ import annotations

import numpy as np

from .. import _validation as val
from .._typing import ArrayLike, FloatArray
from ..evaluation.chain import kl_to_reference, policy_reward
from ..evaluation.linear import values_and_occupancy
from ..mdp import MDP
from ..operators import _Backup
from ..solvers import policy_iteration, soft_value_iteration
from ._prefix_tree import tree_of
from .parametrizations import LogLinear, Parametrization, TabularSoftmax, _param_for


class _Evaluation:
    """Exact V, occupancy d, objective J and per-state reward of one policy (shared by every
    exact method)."""

    def __init__(self, mdp, pi, beta, ref):
        self.pi = pi
        R_pi = policy_reward(mdp, pi)
        if beta > 0:
            R_pi = R_pi - beta * kl_to_reference(mdp, pi, beta, ref)
        self.V, self.d = values_and_occupancy(mdp, pi, R_pi)
        self.J = float(mdp.mu @ self.V)
        self.R_pi = R_pi


def _soft_q(mdp, V, pi, beta, logref):
    """Q(s, a) - beta log(pi/ref), finite wherever pi > 0 (0 elsewhere: weight 0)."""
    Q = np.where(mdp.allowed, _Backup(mdp).q(V).T, 0.0)
    if beta > 0:
        with np.errstate(divide="ignore", invalid="ignore"):
            Q = Q - beta * np.where(pi > 0, np.log(pi) - logref, 0.0)
    return Q


def _gradient_from(param, theta, pi, d, adv, terminal):
    """grad = vjp of the logits with centred weights d * pi * (adv - E_pi adv)."""
    centred = adv - np.einsum("sa,sa->s", pi, adv)[:, None]
    weight = d.copy()
    weight[terminal] = 0.0
    w = pi * centred
    w *= weight[:, None]
    return param.logits_vjp(theta, w), centred


def _setup(mdp, param, beta, reference):
    param = _param_for(mdp, param)
    beta = val.check_beta(beta)
    if beta == 0.0 and reference is None:
        return param, beta, None, None  # the plain objective needs no reference
    ref = val.as_reference(mdp, reference)
    with np.errstate(divide="ignore"):
        logref = np.log(ref)
    return param, beta, ref, logref


def exact_gradient(mdp: MDP, param: Parametrization, theta: ArrayLike, *, beta: float = 0.0,
                   reference: ArrayLike | None = None) -> tuple[float, FloatArray]:
    r"""Exact objective and gradient :math:`(J_\beta(\theta), \nabla J_\beta(\theta))`.

    Parameters
    ----------
    mdp : MDP
    param : TabularSoftmax or LogLinear or None
        ``None`` means ``TabularSoftmax`` with the MDP's ``allowed`` mask.
    theta : ndarray
        Parameters, of shape ``param.shape``.
    beta : float
        KL temperature (0: the plain expected return).
    reference : array_like (S, A), optional
        Reference policy of the KL term; default uniform over allowed actions.

    Returns
    -------
    J : float
    grad : ndarray of ``param.shape``

    Notes
    -----
    Cost: one policy evaluation and one occupancy solve on the same factorized system (for
    acyclic chains two triangular solves, linear in the number of transitions), plus one
    Bellman backup and the vector–Jacobian product of the logits.

    MDPs stored as a breadth-first prefix tree (every :class:`~mdptoolkit.language.LanguageMDP`,
    and any deterministic acyclic MDP laid out the same way) take a fast path that needs no
    matrix at all: slices and reshapes over the height layers, processed in cache-sized
    pieces (see ``mdptoolkit.gradient._prefix_tree``). On the language MDP with 10 tokens and
    ``max_len`` 6 (1.1e5 states) it costs about 2.5 sparse matrix–vector products over the
    transitions when Numba is installed (``pip install mdptoolkit[fast]``: its per-row loops
    are compiled, on first use, for MDPs of 2**17 entries and more) and about 5 without
    (``benchmarks/bench_language.py``). Its results equal the general path's to round-off;
    logits spread over more than 600 within a few thousand states, and references with zeros,
    go through the general path.

    Examples
    --------
    Sutton & Barto (2018) Example 13.1, the short corridor: with one shared probability
    :math:`p` of "right", :math:`J(p) = (2p - 4)/(p(1 - p))`; the gradient in the log-odds is
    :math:`J'(p)\,p(1-p)`.

    >>> import numpy as np, mdptoolkit as mt
    >>> P = np.zeros((4, 2, 4))
    >>> P[0, 0, 0] = P[0, 1, 1] = 1              # start: left bumps, right moves
    >>> P[1, 0, 2] = P[1, 1, 0] = 1              # switched state
    >>> P[2, 0, 1] = P[2, 1, 3] = 1
    >>> P[3, :, 3] = 1                           # goal (terminal)
    >>> mdp = mt.MDP(P, -np.ones((4, 2)), 1.0, mu=[1, 0, 0, 0], terminal=[0, 0, 0, 1])
    >>> phi = np.zeros((4, 2, 1)); phi[:, 1, 0] = 1.0
    >>> J, grad = mt.exact_gradient(mdp, mt.LogLinear(phi), np.array([0.0]))   # p = 1/2
    >>> round(J, 6), np.round(grad, 6)      # J(1/2) = -12, J'(1/2) p (1 - p) = 8 * 0.25
    (-12.0, array([2.]))
    """
    param, beta, ref, logref = _setup(mdp, param, beta, reference)
    fast = _tree_gradient(mdp, param, theta, beta, ref, logref)
    if fast is not None:
        return fast
    theta = param.check(theta)
    pi = param.policy(theta)
    ev = _Evaluation(mdp, pi, beta, ref)
    Qs = _soft_q(mdp, ev.V, pi, beta, logref)
    grad, _ = _gradient_from(param, theta, pi, ev.d, Qs, mdp.terminal)
    return ev.J, grad


def _tree_gradient(mdp, param, theta, beta, ref, logref):
    """(J, grad) by the prefix-tree fast path (language MDPs), or None when it does not apply;
    the general path then computes (or rejects) the same thing."""
    tree = tree_of(mdp)
    if tree is None or not isinstance(param, (TabularSoftmax, LogLinear)):
        return None
    allowed = None if param.all_allowed else param.allowed
    if beta > 0:
        positive = ref.min() > 0 if param.all_allowed else ((ref > 0) | ~param.allowed).all()
        if not positive:
            return None  # the KL term is infinite for some policies: let the general path say so
    if isinstance(param, TabularSoftmax):
        z = val.as_real_array(theta, "theta").astype(np.float64, copy=False)
        if z.shape != param.shape:
            return None
    else:
        theta = param.check(theta)
        z = param.raw_logits(theta)
    out = tree.gradient(mdp, z, allowed, beta, logref)
    if out is None:
        return None
    J, W = out
    return J, param.logits_vjp(theta, W)


def _optimum(mdp, beta, ref):
    """The DP optimum J* of the same objective (exact PI for beta = 0, soft VI otherwise)."""
    if beta == 0.0:
        return float(mdp.mu @ policy_iteration(mdp).V)
    tol = 1e-12 * max(1.0, float(np.abs(mdp.R[mdp.allowed]).max()))
    result = soft_value_iteration(mdp, beta, reference=ref, tol=tol)
    return float(mdp.mu @ result.V)
