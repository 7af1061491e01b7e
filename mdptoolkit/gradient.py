r"""Exact policy gradients, natural policy gradient and expected actor-critic.

A parametrization maps :math:`\theta` to logits :math:`z_\theta(s, a)` and the policy
:math:`\pi_\theta(a|s) \propto \exp z_\theta(s, a)` over the allowed actions. For the
(regularized) objective :math:`J_\beta(\theta) = \mu^\top V^{\pi_\theta}_\beta` the policy
gradient theorem (Sutton et al. 2000; with the KL term e.g. Geist et al. 2019) gives

.. math::

    \nabla J_\beta = \sum_{s,a} d^\pi(s)\, \pi(a|s)\, A_\beta(s, a)\, \nabla_\theta \log \pi(a|s),
    \qquad A_\beta(s,a) = Q^\pi_\beta(s,a) - \beta \log\frac{\pi(a|s)}{\pi_{ref}(a|s)} - V^\pi_\beta(s),

with the unnormalized discounted occupancy :math:`d^\pi` of :func:`~mdptoolkit.occupancy`.
Because :math:`\nabla \log \pi(a|s) = \nabla z(s,a) - \sum_b \pi(b|s) \nabla z(s,b)`, the gradient
is the vector–Jacobian product of the logits with the *centred* weights
:math:`w(s,a) = d(s)\pi(a|s)(A(s,a) - \sum_b \pi(b|s) A(s,b))`. For
:class:`TabularSoftmax` this is :math:`\partial J / \partial\theta_{s,a} = d(s)\pi(a|s)A(s,a)`
(Agarwal et al. 2021, Lemma C.1). Everything is computed exactly — one policy evaluation and
one occupancy solve, linear time on acyclic MDPs such as the language MDP.
"""

from __future__ import annotations

import time

import numpy as np
import scipy.sparse as sp

from . import _validation as val
from ._stopping import callback_state
from .evaluation import kl_to_reference, policy_reward, values_and_occupancy
from .exceptions import ImproperPolicyError, MDPValidationError
from .operators import _Backup
from .result import GradientResult

__all__ = ["TabularSoftmax", "LogLinear", "exact_gradient", "policy_gradient", "actor_critic"]


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
    if not allowed.any(axis=1).all():
        s = int(np.argmin(allowed.any(axis=1)))
        raise MDPValidationError(f"every state must have at least one allowed action; got none at "
                                 f"state {s}")
    return allowed


class TabularSoftmax:
    r"""The tabular softmax policy :math:`\pi_\theta(a|s) \propto \exp\theta_{s,a}` over allowed actions.

    Parameters
    ----------
    n_states, n_actions : int
    allowed : array_like of bool (S, A), optional
        Actions outside it get probability 0 (default: all allowed).

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

    def __init__(self, n_states, n_actions, *, allowed=None):
        self.n_states = val.check_positive(n_states, "n_states", integer=True)
        self.n_actions = val.check_positive(n_actions, "n_actions", integer=True)
        self.allowed = _check_allowed(allowed, self.n_states, self.n_actions)
        self.all_allowed = bool(self.allowed.all())
        self.shape = (self.n_states, self.n_actions)

    def __repr__(self):
        return f"TabularSoftmax(n_states={self.n_states}, n_actions={self.n_actions})"

    def init(self):
        """Zeros: the uniform policy over allowed actions."""
        return np.zeros(self.shape)

    def check(self, theta):
        return val.as_float_array(theta, "theta", shape=self.shape)

    def logits(self, theta):
        """(S, A) logits, -inf at disallowed actions."""
        return np.where(self.allowed, theta, -np.inf)

    def policy(self, theta):
        """(S, A) policy."""
        return _softmax_rows(self.logits(self.check(theta)))

    def logits_vjp(self, theta, w):
        r""":math:`\sum_{s,a} w(s,a) \nabla_\theta z(s,a)` = ``w`` itself (masked)."""
        w = np.asarray(w, dtype=np.float64)
        return w if self.all_allowed else np.where(self.allowed, w, 0.0)

    def natural_direction(self, theta, pi, d, advantage, grad):
        r"""Natural gradient direction: the advantage itself (Kakade 2001; Agarwal et al. 2021)."""
        return np.where(self.allowed, advantage, 0.0)


class LogLinear:
    r"""The log-linear policy :math:`\pi_\theta(a|s) \propto \exp(\phi(s,a)^\top \theta)`.

    Parameters
    ----------
    features : array_like (S, A, d) or scipy sparse matrix (S*A, d)
        Feature vectors :math:`\phi(s, a)`; a sparse matrix has row ``s*A + a``.
    allowed : array_like of bool (S, A), optional
        Actions outside it get probability 0.
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

    def __init__(self, features, *, allowed=None, n_actions=None):
        if sp.issparse(features):
            if n_actions is None:
                raise TypeError("LogLinear with sparse features (S*A, d) needs n_actions=")
            rows, d = features.shape
            A = val.check_positive(n_actions, "n_actions", integer=True)
            if rows % A:
                raise MDPValidationError(f"sparse features must have S*A rows; got {rows} rows for "
                                         f"n_actions={A}")
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

    def __repr__(self):
        kind = "sparse" if sp.issparse(self.features) else "dense"
        return f"LogLinear(n_states={self.n_states}, n_actions={self.n_actions}, dim={self.dim}, {kind})"

    def init(self):
        """Zeros."""
        return np.zeros(self.dim)

    def check(self, theta):
        return val.as_float_array(theta, "theta", shape=self.shape)

    def raw_logits(self, theta):
        """(S, A) logits before the mask of allowed actions."""
        return np.asarray(self.features @ theta).reshape(self.n_states, self.n_actions)

    def logits(self, theta):
        return np.where(self.allowed, self.raw_logits(theta), -np.inf)

    def policy(self, theta):
        """(S, A) policy."""
        return _softmax_rows(self.logits(self.check(theta)))

    def logits_vjp(self, theta, w):
        r""":math:`\sum_{s,a} w(s,a) \phi(s,a)`."""
        w = np.where(self.allowed, w, 0.0).reshape(-1)
        return np.asarray(self.features.T @ w).reshape(-1)

    def natural_direction(self, theta, pi, d, advantage, grad):
        r"""Solve :math:`F x = \nabla J` with the Fisher matrix
        :math:`F = \sum_{s,a} d(s)\pi(a|s) g g^\top`, :math:`g = \phi(s,a) - \sum_b \pi(b|s)\phi(s,b)`
        (least squares, so a singular F is fine: Kakade 2001)."""
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
    leak = ~mdp.allowed & param.allowed & ~mdp.terminal[:, None]
    if leak.any():
        s, a = np.argwhere(leak)[0]
        raise MDPValidationError(f"param must not allow actions the MDP disallows; got action {a} "
                                 f"allowed at state {s} (pass allowed=mdp.allowed)")
    return param


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


def exact_gradient(mdp, param, theta, *, beta=0.0, reference=None):
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
    pieces (see ``mdptoolkit._prefix_tree``). On the language MDP with 10 tokens and
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
    tree = mdp._tree
    if tree is None or not isinstance(param, (TabularSoftmax, LogLinear)):
        return None
    allowed = None if param.all_allowed else param.allowed
    if beta > 0:
        positive = ref.min() > 0 if param.all_allowed else ((ref > 0) | ~param.allowed).all()
        if not positive:
            return None  # the KL term is infinite for some policies: let the general path say so
    if isinstance(param, TabularSoftmax):
        z = np.asarray(theta, dtype=np.float64)
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
    from .dp import policy_iteration
    from .soft import soft_value_iteration
    if beta == 0.0:
        return float(mdp.mu @ policy_iteration(mdp).V)
    tol = 1e-12 * max(1.0, float(np.abs(mdp.R[mdp.allowed]).max()))
    result = soft_value_iteration(mdp, beta, reference=ref, tol=tol)
    return float(mdp.mu @ result.V)


def _run(mdp, *, param, beta, reference, theta0, iterations, tol, callback, method, step):
    """The loop shared by policy_gradient and actor_critic; ``step`` returns the update."""
    param, beta, ref, logref = _setup(mdp, param, beta, reference)
    iterations = val.check_positive(iterations, "iterations", integer=True, allow_zero=True)
    tol = val.check_positive(tol, "tol", allow_zero=True)
    theta = param.init() if theta0 is None else param.check(theta0).copy()
    optimum = _optimum(mdp, beta, ref)
    hist = {"J": [], "gap": [], "grad_norm": [], "elapsed": []}
    extra_hist = {}
    start = time.perf_counter()
    converged, by_callback, k = False, False, 0
    state = {}
    failure = None
    previous = None
    for k in range(iterations + 1):
        pi = param.policy(theta)
        try:
            ev = _Evaluation(mdp, pi, beta, ref)
        except ImproperPolicyError as err:
            if previous is None:
                raise
            # the last step pushed probabilities to exactly 0 and the policy no longer
            # terminates: keep the last good iterate and say why we stopped
            failure = (f"stopped: the update at iteration {k} made the policy improper "
                       f"({err}); use a smaller step size")
            theta, pi, ev, grad_norm = previous
            k -= 1
            break
        Qs = _soft_q(mdp, ev.V, pi, beta, logref)
        grad, adv = _gradient_from(param, theta, pi, ev.d, Qs, mdp.terminal)
        grad_norm = float(np.linalg.norm(grad))
        hist["J"].append(ev.J)
        hist["gap"].append(optimum - ev.J)
        hist["grad_norm"].append(grad_norm)
        if grad_norm <= tol:
            converged = True
            hist["elapsed"].append(time.perf_counter() - start)
            break
        if k == iterations:
            hist["elapsed"].append(time.perf_counter() - start)
            break
        previous = (theta, pi, ev, grad_norm)
        update, extras = step(theta, pi, ev, adv, grad, param, logref, state)
        for name, value in extras.items():
            extra_hist.setdefault(name, []).append(value)
        theta = theta + update
        hist["elapsed"].append(time.perf_counter() - start)
        if callback is not None and callback(k + 1, callback_state(theta=theta, J=ev.J,
                                                                   gap=optimum - ev.J,
                                                                   grad_norm=grad_norm)):
            by_callback = True
            k += 1
            pi = param.policy(theta)
            ev = _Evaluation(mdp, pi, beta, ref)
            hist["J"].append(ev.J)
            hist["gap"].append(optimum - ev.J)
            hist["grad_norm"].append(np.nan)
            hist["elapsed"].append(time.perf_counter() - start)
            break
    if failure is not None:
        message = failure
        for values in hist.values():
            del values[k + 1:]
    elif converged:
        message = (f"converged: |grad J| = {grad_norm:.3g} <= tol = {tol:g} after {k} steps "
                   f"(a stationary point; gap to the DP optimum {optimum - ev.J:.3g})")
    elif by_callback:
        message = f"stopped: callback returned True at iteration {k}"
    else:
        message = (f"stopped: iterations={iterations} done; |grad J| = {grad_norm:.3g}, "
                   f"gap to the DP optimum {optimum - ev.J:.3g}")
    history = {name: np.array(values) for name, values in hist.items()}
    for name, values in extra_hist.items():
        history[name] = np.array(values)
    return GradientResult(theta=theta, policy=param.policy(theta), J=ev.J, optimum=optimum,
                          iterations=k, converged=converged, method=method, message=message,
                          history=history)


def _default_lr(natural, beta):
    """10 for the vanilla gradient (rewards of order 1), min(1, 1/beta) for the natural one."""
    if natural:
        return min(1.0, 1.0 / beta) if beta > 0 else 1.0
    return 10.0


def policy_gradient(mdp, *, param=None, lr=None, iterations=1000, natural=False, beta=0.0,
                    reference=None, theta0=None, tol=1e-10, callback=None):
    r"""Gradient ascent on :math:`J_\beta(\theta)` with exact gradients (vanilla or natural).

    Parameters
    ----------
    mdp : MDP
    param : TabularSoftmax or LogLinear, optional
        Default: ``TabularSoftmax`` with the MDP's ``allowed`` mask.
    lr : float, optional
        Step size. Defaults: 10 for the vanilla gradient — tuned for rewards of order 1 (the toy
        language MDP, the textbook grids); scale it inversely with the reward range — and
        ``min(1, 1/beta)`` for the natural one (with ``beta > 0`` and ``lr = 1/beta`` a tabular
        natural step is exactly soft policy iteration; Cen et al. 2021).
    iterations : int
        Number of updates; ``history`` has ``iterations + 1`` entries (the start included).
    natural : bool
        Natural policy gradient: for ``TabularSoftmax`` the update is ``theta += lr * A``
        (the soft advantage when ``beta > 0``); for ``LogLinear`` it solves the Fisher system.
    beta, reference
        The KL-regularized objective (see :func:`exact_gradient`).
    theta0 : ndarray, optional
        Initial parameters (default ``param.init()``: the uniform policy).
    tol : float
        ``converged`` means :math:`\|\nabla J\| \le` ``tol`` — a stationary point of the
        parametrized objective. A restricted class (e.g. a bigram LogLinear policy on a language
        MDP) can stop there with a positive gap.
    callback : callable, optional
        ``callback(k, state)`` with ``state.theta``, ``state.J``, ``state.gap``, ``state.grad_norm``;
        returning True stops.

    Returns
    -------
    GradientResult
        ``optimum`` is the DP optimum of the same objective (policy iteration for beta = 0, soft
        value iteration for beta > 0); ``history`` has ``J``, ``gap`` (optimum − J),
        ``grad_norm`` and ``elapsed``.

    References
    ----------
    Sutton, McAllester, Singh & Mansour (2000); Kakade (2001); Agarwal, Kakade, Lee & Mahajan
    (2021), "On the theory of policy gradient methods", JMLR.

    Examples
    --------
    >>> import numpy as np, mdptoolkit as mt
    >>> P = np.zeros((2, 2, 2)); P[0, 0] = [0.5, 0.5]; P[0, 1] = [0, 1]; P[1, :] = [0, 1]
    >>> mdp = mt.MDP(P, [[5.0, 10.0], [-1.0, -1.0]], 0.95)   # Puterman (2005), §3.1
    >>> result = mt.policy_gradient(mdp, natural=True, iterations=100)
    >>> result.converged, bool(result.gap < 1e-9), np.round(result.policy[0], 6)
    (True, True, array([1., 0.]))
    >>> vanilla = mt.policy_gradient(mdp, lr=1.0, iterations=100)
    >>> bool(vanilla.gap > 1e-3)   # the vanilla gradient is far slower near a deterministic optimum
    True
    """
    beta_value = val.check_beta(beta)
    if lr is None:
        lr = _default_lr(natural, beta_value)
    lr = val.check_positive(lr, "lr")

    def step(theta, pi, ev, adv, grad, param, logref, state):
        if natural:
            return lr * param.natural_direction(theta, pi, ev.d, adv, grad), {}
        return lr * grad, {}

    return _run(mdp, param=param, beta=beta, reference=reference, theta0=theta0,
                iterations=iterations, tol=tol, callback=callback,
                method="natural_policy_gradient" if natural else "policy_gradient", step=step)


def actor_critic(mdp, *, param=None, actor_lr=None, critic_lr=1.0, iterations=1000, critic="td",
                 natural=False, beta=0.0, reference=None, theta0=None, w0=None, tol=1e-10,
                 callback=None):
    r"""Expected (exact-expectation) two-timescale actor-critic with a tabular critic.

    Each iteration, with :math:`D = d^\pi / \max_s d^\pi(s)` the occupancy normalized so that
    the most visited state moves at the full rate ``critic_lr``:

    - critic: :math:`w \leftarrow w + \alpha_c\, D \odot (\text{target} - w)`, with target
      :math:`T^\pi w` (``critic="td"``, the expected TD(0) update), :math:`V^\pi`
      (``critic="mc"``, the expected Monte Carlo update) or ``w = V^pi`` outright
      (``critic="exact"``);
    - actor: the exact policy-gradient formula with the critic's advantage
      :math:`\hat A(s,a) = R(s,a) + \gamma (P w)(s,a) - \beta\log\frac{\pi}{\pi_{ref}} - w(s)` in
      place of :math:`A^\pi`: :math:`\theta \leftarrow \theta + \alpha_a \hat g` (or the natural
      direction).

    With ``critic="exact"`` it reproduces :func:`policy_gradient` step for step.

    Parameters
    ----------
    mdp : MDP
    param, beta, reference, theta0, tol, callback, natural
        As in :func:`policy_gradient`.
    actor_lr : float, optional
        Actor step size; defaults as ``lr`` of :func:`policy_gradient`. The critic must keep up
        with the actor: when it lags, the actor can follow a wrong advantage into a saturated
        policy where the true gradient vanishes — a stationary point with a positive gap (it
        happens on Sutton & Barto's 5x5 grid with the TD critic; the ``"mc"`` critic or a
        smaller ``actor_lr`` avoids it). The message and ``history["gap"]`` always show the gap.
    critic_lr : float
        Critic step size in (0, 1].
    iterations : int
    critic : {"td", "mc", "exact"}
    w0 : array_like (S,), optional
        Initial critic (default 0).

    Returns
    -------
    GradientResult
        ``history`` adds ``critic_error``: max over visited states of :math:`|w - V^\pi|`
        before each actor step. ``J``, ``gap`` and ``grad_norm`` are exact (the true gradient
        norm, not the critic's estimate).

    References
    ----------
    Konda & Tsitsiklis (2000), "Actor-critic algorithms"; Sutton & Barto (2018), §13.5.

    Examples
    --------
    >>> import numpy as np, mdptoolkit as mt
    >>> P = np.zeros((2, 2, 2)); P[0, 0] = [0.5, 0.5]; P[0, 1] = [0, 1]; P[1, :] = [0, 1]
    >>> mdp = mt.MDP(P, [[5.0, 10.0], [-1.0, -1.0]], 0.95)
    >>> result = mt.actor_critic(mdp, natural=True, critic="mc", iterations=1000)
    >>> bool(result.gap < 1e-9)
    True
    >>> lagging = mt.actor_critic(mdp, natural=True, critic="td", iterations=1000)
    >>> lagging.converged, round(lagging.gap, 4)   # trapped: a saturated policy, gradient ~ 0
    (True, 0.2143)
    >>> exact = mt.actor_critic(mdp, critic="exact", iterations=20)
    >>> np.allclose(exact.history["J"], mt.policy_gradient(mdp, iterations=20).history["J"])
    True
    """
    if critic not in ("td", "mc", "exact"):
        raise ValueError(f"critic must be 'td', 'mc' or 'exact'; got {critic!r}")
    beta_value = val.check_beta(beta)
    if actor_lr is None:
        actor_lr = _default_lr(natural, beta_value)
    actor_lr = val.check_positive(actor_lr, "actor_lr")
    critic_lr = val.check_positive(critic_lr, "critic_lr")
    if critic_lr > 1:
        raise ValueError(f"critic_lr must be in (0, 1]; got {critic_lr!r}")
    S = mdp.n_states
    w_init = np.zeros(S) if w0 is None else val.as_float_array(w0, "w0", shape=(S,))
    w_init[mdp.terminal] = 0.0
    flat = mdp._op

    def backup_of_w(w):
        """(A, S) array of sum_s2 P(s2 | s, a) w(s2)."""
        return np.asarray(flat @ w).reshape(mdp.n_actions, S)

    def step(theta, pi, ev, adv, grad, param, logref, state):
        w = state.setdefault("w", w_init.copy())
        visited = ev.d > 0
        if critic == "exact":
            w[:] = ev.V
        else:
            D = ev.d / ev.d.max()
            if critic == "td":  # T^pi w: the policy's expected backup of the critic
                target = ev.R_pi + mdp.gamma * np.einsum("sa,as->s", pi, backup_of_w(w))
            else:
                target = ev.V
            w += critic_lr * D * (target - w)
            w[mdp.terminal] = 0.0
        error = float(np.abs(w - ev.V)[visited].max()) if visited.any() else 0.0
        Q_hat = _soft_q(mdp, w, pi, 0.0, logref)
        if beta_value > 0:
            with np.errstate(divide="ignore"):
                Q_hat = Q_hat - beta_value * np.where(pi > 0, np.log(pi) - logref, 0.0)
        adv_hat = Q_hat - w[:, None]
        g_hat, centred = _gradient_from(param, theta, pi, ev.d, adv_hat, mdp.terminal)
        if natural:
            direction = param.natural_direction(theta, pi, ev.d, centred, g_hat)
        else:
            direction = g_hat
        return actor_lr * direction, {"critic_error": error}

    return _run(mdp, param=param, beta=beta, reference=reference, theta0=theta0,
                iterations=iterations, tol=tol, callback=callback, method="actor_critic",
                step=step)
