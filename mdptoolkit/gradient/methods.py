r"""Gradient ascent with exact gradients: vanilla and natural policy gradient, and the expected
two-timescale actor-critic."""

from __future__ import annotations

import time

import numpy as np

from .. import _validation as val
from .._stopping import callback_state
from .._typing import ArrayLike, Callback
from ..exceptions import ImproperPolicyError, MDPValidationError
from ..mdp import MDP
from ..result import GradientResult
from .exact import _Evaluation, _gradient_from, _optimum, _setup, _soft_q
from .parametrizations import Parametrization, TabularSoftmax, _restricted

#: Below this probability an allowed action no longer changes the dominant one's in float64:
#: the softmax is saturated and its gradient vanishes whatever the objective's slope.
SATURATED = float(np.finfo(np.float64).eps)


def _start(mdp, param, beta, ref, logref, theta0):
    """The parametrization and the first iterate. With beta > 0 the KL term is infinite
    outside the reference's support, so the policy is restricted to it, and without
    ``theta0`` a TabularSoftmax starts at the reference itself (logits log ref), as RL
    fine-tuning starts from the reference model."""
    if beta > 0:
        param = _restricted(param, ref > 0, mdp.terminal, "the reference supports")
    if theta0 is not None:
        return param, param.check(theta0).copy()
    if beta > 0 and isinstance(param, TabularSoftmax):
        return param, np.where(param.allowed & (ref > 0), logref, 0.0)
    return param, param.init()


def _saturation(param, pi, d, terminal):
    """Number of visited states where an allowed action's probability is below SATURATED."""
    live = (d > 0) & ~terminal
    return int(((pi < SATURATED) & param.allowed & live[:, None]).any(axis=1).sum())


def _run(mdp, *, param, beta, reference, theta0, iterations, tol, callback, method, step,
         monitor=None):
    """The loop shared by policy_gradient and actor_critic; ``step`` returns the update and
    ``monitor(ev, state)`` extra history entries. Every history entry k describes the iterate
    after k updates (entry 0 the start)."""
    param, beta, ref, logref = _setup(mdp, param, beta, reference)
    iterations = val.check_positive(iterations, "iterations", integer=True, allow_zero=True)
    tol = val.check_positive(tol, "tol", allow_zero=True)
    param, theta = _start(mdp, param, beta, ref, logref, theta0)
    optimum = _optimum(mdp, beta, ref)
    gap_tol = 1e-8 * max(1.0, abs(optimum))
    hist = {"J": [], "gap": [], "grad_norm": [], "elapsed": []}
    start = time.perf_counter()
    converged, by_callback, k = False, False, 0
    state = {}
    failure = None
    previous = None

    def record(ev, grad_norm):
        values = {"J": ev.J, "gap": optimum - ev.J, "grad_norm": grad_norm}
        if monitor is not None:
            values.update(monitor(ev, state))
        for name, value in values.items():
            hist.setdefault(name, []).append(value)
        hist["elapsed"].append(time.perf_counter() - start)

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
        record(ev, grad_norm)
        if grad_norm <= tol:
            n_sat = _saturation(param, pi, ev.d, mdp.terminal)
            if n_sat and optimum - ev.J > gap_tol:
                z = np.where(param.allowed, param.logits(theta), np.nan)
                spread = float(np.nanmax(np.nanmax(z, axis=1) - np.nanmin(z, axis=1)))
                failure = (f"stopped: the softmax saturated in floating point at iteration {k}: "
                           f"in {n_sat} visited states an allowed action has probability "
                           f"< {SATURATED:.2g} (logit spread {spread:.3g}), so |grad J| = "
                           f"{grad_norm:.3g} vanished short of a stationary point; gap to the "
                           f"DP optimum {optimum - ev.J:.3g}; use a smaller step size")
            else:
                converged = True
            break
        if k == iterations:
            break
        previous = (theta, pi, ev, grad_norm)
        update = step(theta, pi, ev, adv, grad, param, logref, state)
        theta = theta + update
        if callback is not None and callback(k + 1, callback_state(theta=theta, J=ev.J,
                                                                   gap=optimum - ev.J,
                                                                   grad_norm=grad_norm)):
            by_callback = True
            k += 1
            pi = param.policy(theta)
            ev = _Evaluation(mdp, pi, beta, ref)
            record(ev, np.nan)
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
    return GradientResult(theta=theta, policy=param.policy(theta), J=ev.J, optimum=optimum,
                          iterations=k, converged=converged, method=method, message=message,
                          history=history)


def _default_lr(natural, beta):
    """min(10, 3/beta) for the vanilla gradient (rewards of order 1; the KL term adds curvature
    of order beta/2 per unit of occupancy, so 10 diverges for beta of a few units),
    min(1, 1/beta) for the natural one."""
    if natural:
        return min(1.0, 1.0 / beta) if beta > 0 else 1.0
    return min(10.0, 3.0 / beta) if beta > 0 else 10.0


def policy_gradient(mdp: MDP, *, param: Parametrization | None = None, lr: float | None = None,
                    iterations: int = 1000, natural: bool = False, beta: float = 0.0,
                    reference: ArrayLike | None = None, theta0: ArrayLike | None = None,
                    tol: float = 1e-10, callback: Callback | None = None) -> GradientResult:
    r"""Gradient ascent on :math:`J_\beta(\theta)` with exact gradients (vanilla or natural).

    Parameters
    ----------
    mdp : MDP
    param : TabularSoftmax or LogLinear, optional
        Default: ``TabularSoftmax`` with the MDP's ``allowed`` mask.
    lr : float, optional
        Step size. Defaults: ``min(10, 3/beta)`` for the vanilla gradient — tuned for rewards
        of order 1 (the toy language MDP, the textbook grids; the KL term's curvature grows
        with beta); scale it inversely with the reward range — and
        ``min(1, 1/beta)`` for the natural one (with ``beta > 0`` and ``lr = 1/beta`` a tabular
        natural step is exactly soft policy iteration; Cen et al. 2021).
    iterations : int
        Number of updates.
    natural : bool
        Natural policy gradient: for ``TabularSoftmax`` the update is ``theta += lr * A``
        (the soft advantage when ``beta > 0``); for ``LogLinear`` it solves the Fisher system.
    beta, reference
        The KL-regularized objective (see :func:`exact_gradient`). With ``beta > 0`` the
        policy is restricted to the reference's support (the KL term is infinite outside it),
        so a reference with zeros is fine.
    theta0 : ndarray, optional
        Initial parameters. Default: with ``beta > 0`` and a ``TabularSoftmax``, the reference
        itself (logits :math:`\log \pi_{ref}`, its zeros masked), as RL fine-tuning starts
        from the reference model; otherwise ``param.init()``, the uniform policy (over the
        reference's support when ``beta > 0``).
    tol : float
        ``converged`` means :math:`\|\nabla J\| \le` ``tol`` — a stationary point of the
        parametrized objective. A restricted class (e.g. a bigram LogLinear policy on a language
        MDP) can stop there with a positive gap. A softmax saturated in floating point (an
        allowed action's probability below 2.2e-16 in a visited state, e.g. after a huge
        step) has a vanishing gradient without being stationary: when the gap to the optimum
        is not ~0 (above 1e-8 relative) the run stops there with ``converged=False`` and a
        message that says so.
    callback : callable, optional
        ``callback(k, state)`` with ``state.theta``, ``state.J``, ``state.gap``,
        ``state.grad_norm``; returning True stops.

    Returns
    -------
    GradientResult
        ``optimum`` is the DP optimum of the same objective (policy iteration for beta = 0, soft
        value iteration for beta > 0); ``history`` has ``J``, ``gap`` (optimum − J),
        ``grad_norm`` and ``elapsed``, with ``iterations + 1`` entries: entry k describes
        the iterate after k updates, entry 0 the start (the rule of every gradient method).

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
            return lr * param.natural_direction(theta, pi, ev.d, adv, grad)
        return lr * grad

    return _run(mdp, param=param, beta=beta, reference=reference, theta0=theta0,
                iterations=iterations, tol=tol, callback=callback,
                method="natural_policy_gradient" if natural else "policy_gradient", step=step)


def actor_critic(mdp: MDP, *, param: Parametrization | None = None, actor_lr: float | None = None,
                 critic_lr: float = 1.0, iterations: int = 1000, critic: str = "td",
                 natural: bool = False, beta: float = 0.0, reference: ArrayLike | None = None,
                 theta0: ArrayLike | None = None, w0: ArrayLike | None = None, tol: float = 1e-10,
                 callback: Callback | None = None) -> GradientResult:
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
        As in :func:`policy_gradient` (with ``beta > 0`` the default start is the reference;
        a saturated softmax stops with ``converged=False``).
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
        ``history`` has ``iterations + 1`` entries, entry k after k updates (entry 0 the
        start), as for :func:`policy_gradient`, and adds ``critic_error``: max over visited
        states of :math:`|w - V^{\pi_k}|` for the critic the actor uses at iterate k (after
        its update for :math:`\pi_k`). ``J``, ``gap`` and ``grad_norm`` are exact (the true gradient
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
        raise MDPValidationError(f"critic must be 'td', 'mc' or 'exact'; got {critic!r}")
    beta_value = val.check_beta(beta)
    if actor_lr is None:
        actor_lr = _default_lr(natural, beta_value)
    actor_lr = val.check_positive(actor_lr, "actor_lr")
    critic_lr = val.check_positive(critic_lr, "critic_lr")
    if critic_lr > 1:
        raise MDPValidationError(f"critic_lr must be in (0, 1]; got {critic_lr!r}")
    S = mdp.n_states
    w_init = np.zeros(S) if w0 is None else val.as_float_array(w0, "w0", shape=(S,))
    w_init[mdp.terminal] = 0.0
    flat = mdp._op

    def backup_of_w(w):
        """(A, S) array of sum_s2 P(s2 | s, a) w(s2)."""
        return np.asarray(flat @ w).reshape(mdp.n_actions, S)

    def monitor(ev, state):
        """The critic's update for the current policy, and its error against the policy's
        exact values over the visited states (recorded for every iterate)."""
        w = state.setdefault("w", w_init.copy())
        if critic == "exact":
            w[:] = ev.V
        else:
            D = ev.d / ev.d.max()
            if critic == "td":  # T^pi w: the policy's expected backup of the critic
                target = ev.R_pi + mdp.gamma * np.einsum("sa,as->s", ev.pi, backup_of_w(w))
            else:
                target = ev.V
            w += critic_lr * D * (target - w)
            w[mdp.terminal] = 0.0
        visited = ev.d > 0
        return {"critic_error": float(np.abs(w - ev.V)[visited].max()) if visited.any() else 0.0}

    def step(theta, pi, ev, adv, grad, param, logref, state):
        w = state["w"]  # updated for pi by monitor
        Q_hat = _soft_q(mdp, w, pi, 0.0, logref)
        if beta_value > 0:
            with np.errstate(divide="ignore", invalid="ignore"):
                Q_hat = Q_hat - beta_value * np.where(pi > 0, np.log(pi) - logref, 0.0)
        adv_hat = Q_hat - w[:, None]
        g_hat, centred = _gradient_from(param, theta, pi, ev.d, adv_hat, mdp.terminal)
        if natural:
            direction = param.natural_direction(theta, pi, ev.d, centred, g_hat)
        else:
            direction = g_hat
        return actor_lr * direction

    return _run(mdp, param=param, beta=beta, reference=reference, theta0=theta0,
                iterations=iterations, tol=tol, callback=callback, method="actor_critic",
                step=step, monitor=monitor)
