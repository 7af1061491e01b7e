r"""Sampled policy search: REINFORCE and one-step actor-critic (Sutton & Barto 2018, §13.3–13.5)."""

from __future__ import annotations

import numpy as np

from .. import _validation as val
from .._typing import ArrayLike, Schedule, Seed
from ..exceptions import MDPValidationError
from ..gradient.parametrizations import Parametrization, _param_for
from ..mdp import MDP
from ..solvers._common import _initial_values
from ._checks import _DEFAULT_MAX_STEPS, _check_count, _eval_every
from ._exact import _Exact, _optimum
from ._rollout import _Model, _Policy, _returns_to_go, _rollout
from .estimators import _summed_weights
from .results import PolicySearchResult

_BASELINES = (None, "value", "mean")


def reinforce(mdp: MDP, *, param: Parametrization | None = None, lr: Schedule = 0.05,
              episodes: int, theta0: ArrayLike | None = None, baseline: str | None = None,
              baseline_lr: float = 0.1, batch: int = 1, max_steps: int = _DEFAULT_MAX_STEPS,
              seed: Seed = None, eval_every: int | None = None) -> PolicySearchResult:
    r"""REINFORCE: Monte Carlo policy gradient (Williams 1992; Sutton & Barto 2018, §13.3-13.4).

    Each update samples ``batch`` episodes of the current policy and steps along the mean of
    their single-episode gradient estimates,

    .. math::

        \theta \leftarrow \theta + \frac{\text{lr}}{\text{batch}} \sum_{\text{episodes}}
        \sum_t \gamma^t (G_t - b(s_t)) \nabla_\theta \log \pi_\theta(a_t \mid s_t),

    with :math:`G_t = \sum_{k \ge t} \gamma^{k-t} r_k`; with ``batch=1`` this is the textbook's
    one update per episode (with :math:`\theta` held fixed during the episode).

    Parameters
    ----------
    mdp : MDP
    param : TabularSoftmax, LogLinear or None
        ``None``: ``TabularSoftmax`` with the MDP's ``allowed`` mask.
    lr : float > 0, default 0.05
        Step size of the parameters; the default suits returns of order 1 to 10 (the short
        corridor, the textbook grids): the update scales with the returns, so scale ``lr``
        inversely with them.
    episodes : int
        Episodes sampled in all; a multiple of ``batch``.
    theta0 : ndarray, optional
        Initial parameters (default ``param.init()``).
    baseline : {None, "value", "mean"}
        ``None``: :math:`b = 0`. ``"value"``: a *learned* tabular state value :math:`w(s)`
        (§13.4; the exact :math:`V^\pi` would need the model — it is what
        :func:`gradient_estimates` uses): after each update, for every state visited in the
        batch, :math:`w(s) \leftarrow w(s) + \text{baseline\_lr}\,(\bar G(s) - w(s))` with
        :math:`\bar G(s)` the mean return observed from s. ``"mean"``: the running mean of the
        returns :math:`G_0` of all previous episodes, the same for every state and step.
        Both use only earlier episodes, so the update stays unbiased.
    baseline_lr : float in (0, 1], default 0.1
        Step size of the ``"value"`` baseline.
    batch : int, default 1
        Episodes per update, sampled at once (vectorized).
    max_steps : int, default 1000
    seed : int, numpy.random.Generator or None
    eval_every : int, optional
        Record the exact ``J`` and ``gap`` of the current policy whenever another
        ``eval_every`` episodes are done (default ``max(1, episodes // 100)``), at the start
        and at the end: ``history["episode"]`` holds the episode counts, 0 (the start)
        first, so with ``eval_every=1`` the history has ``episodes + 1`` entries (the rule
        of every sampling learner: entry k after ``history["episode"][k]`` episodes).

    Returns
    -------
    PolicySearchResult
        ``critic`` holds the ``"value"`` baseline (None otherwise), and ``history`` then also
        has ``critic_error``.

    Examples
    --------
    Sutton & Barto (2018), Example 13.1: the short corridor. The MDP tells the states apart,
    so the tabular softmax can reach the DP optimum :math:`J^* = -3`.

    >>> import numpy as np, mdptoolkit as mt
    >>> from mdptoolkit import envs
    >>> mdp = envs.short_corridor().mdp
    >>> result = mt.reinforce(mdp, lr=0.05, episodes=500, baseline="value", seed=0)
    >>> result.optimum, bool(result.history["gap"][0] > 5), bool(result.gap < 1)
    (-3.0, True, True)
    """
    if baseline not in _BASELINES:
        raise MDPValidationError(f"baseline must be None, 'value' or 'mean'; got {baseline!r}")
    baseline_lr = val.check_positive(baseline_lr, "baseline_lr")
    if baseline_lr > 1:
        raise MDPValidationError(f"baseline_lr must be in (0, 1]; got {baseline_lr!r}")
    batch = _check_count(batch, "batch")
    episodes = _check_count(episodes, "episodes")
    if episodes % batch:
        raise MDPValidationError(f"episodes must be a multiple of batch={batch}; got {episodes}")
    state = {"w": np.zeros(mdp.n_states) if baseline == "value" else None,
             "mean": 0.0, "seen": 0}
    terminal = np.asarray(mdp.terminal)

    def step(pi, states, actions, rewards, lengths):
        T = actions.shape[0]
        G = _returns_to_go(rewards, mdp.gamma)
        valid = np.arange(T)[:, None] < lengths[None, :]
        s_t = np.maximum(states[:T], 0)
        if baseline == "value":
            w = state["w"]
            b = w[s_t]
        elif baseline == "mean":
            b = state["mean"]
        else:
            b = 0.0
        coef = np.where(valid, (mdp.gamma ** np.arange(T))[:, None] * (G - b), 0.0)
        W = _summed_weights(pi, states, actions, lengths, coef) / lengths.size
        if baseline == "value":
            s_v, g_v = s_t[valid], G[valid]
            counts = np.bincount(s_v, minlength=w.size)
            seen = counts > 0
            mean_G = np.bincount(s_v, weights=g_v, minlength=w.size)[seen] / counts[seen]
            w[seen] += baseline_lr * (mean_G - w[seen])
            w[terminal] = 0.0
        elif baseline == "mean":
            G0 = G[0] if T else np.zeros(lengths.size)
            seen = state["seen"] + lengths.size
            state["mean"] += (G0.sum() - lengths.size * state["mean"]) / seen
            state["seen"] = seen
        return W

    return _policy_search(mdp, "reinforce", param=param, lr=lr, episodes=episodes, batch=batch,
                          theta0=theta0, max_steps=max_steps, seed=seed, eval_every=eval_every,
                          step=step, critic=lambda: state["w"])


def sampled_actor_critic(mdp: MDP, *, param: Parametrization | None = None,
                         actor_lr: Schedule = 0.1, critic_lr: float = 0.2, episodes: int,
                         theta0: ArrayLike | None = None, w0: ArrayLike | None = None,
                         max_steps: int = _DEFAULT_MAX_STEPS, seed: Seed = None,
                         eval_every: int | None = None) -> PolicySearchResult:
    r"""One-step actor-critic with a TD(0) tabular critic (Sutton & Barto 2018, §13.5).

    For every step of an episode, with :math:`w = 0` at terminal states,

    .. math::

        \delta_t = r_t + \gamma w(s_{t+1}) - w(s_t), \qquad
        w(s_t) \leftarrow w(s_t) + \text{critic\_lr}\, \delta_t,

    and at the end of the episode
    :math:`\theta \leftarrow \theta + \text{actor\_lr} \sum_t \gamma^t \delta_t
    \nabla_\theta \log \pi_\theta(a_t \mid s_t)`. The critic learns online, step by step, as in
    the book; the actor's steps of one episode are summed and applied at its end (one
    vector-Jacobian product per episode; the book applies each at once, which differs only at
    second order in actor_lr).

    Parameters
    ----------
    mdp : MDP
    param : TabularSoftmax, LogLinear or None
    actor_lr : float > 0, default 0.1
        Actor step size; the default suits rewards of order 1 (scale it inversely with them).
    critic_lr : float in (0, 1], default 0.2
        Critic (TD(0)) step size.
    episodes : int
    theta0 : ndarray, optional
    w0 : array_like (S,), optional
        Initial critic (default 0).
    max_steps : int, default 1000
        A cut episode bootstraps from :math:`w` at its last state.
    seed : int, numpy.random.Generator or None
    eval_every : int, optional
        As in :func:`reinforce`.

    Returns
    -------
    PolicySearchResult
        ``critic`` is the learned :math:`w`; ``history`` adds ``critic_error``.

    Examples
    --------
    >>> import numpy as np, mdptoolkit as mt
    >>> from mdptoolkit import envs
    >>> mdp = envs.short_corridor().mdp
    >>> result = mt.sampled_actor_critic(mdp, actor_lr=0.1, critic_lr=0.2, episodes=300, seed=0)
    >>> bool(result.history["gap"][0] > 5), bool(result.gap < 1)
    (True, True)
    """
    critic_lr = val.check_positive(critic_lr, "critic_lr")
    if critic_lr > 1:
        raise MDPValidationError(f"critic_lr must be in (0, 1]; got {critic_lr!r}")
    w = _initial_values(mdp, w0, "w0")
    terminal = np.asarray(mdp.terminal).tolist()
    gamma = mdp.gamma

    def step(pi, states, actions, rewards, lengths):
        S_l, R_l = states[:, 0].tolist(), rewards[:, 0].tolist()
        T = len(R_l)
        coef = np.zeros((T, 1))
        c = coef[:, 0]
        disc = 1.0
        for t in range(int(lengths[0])):
            s, s2 = S_l[t], S_l[t + 1]
            delta = R_l[t] + (0.0 if terminal[s2] else gamma * w[s2]) - w[s]
            c[t] = disc * delta
            w[s] += critic_lr * delta
            disc *= gamma
        return _summed_weights(pi, states, actions, lengths, coef)

    return _policy_search(mdp, "sampled_actor_critic", param=param, lr=actor_lr,
                          episodes=episodes, batch=1, theta0=theta0, max_steps=max_steps,
                          seed=seed, eval_every=eval_every, step=step, critic=lambda: w,
                          lr_name="actor_lr")


def _policy_search(mdp, method, *, param, lr, episodes, batch, theta0, max_steps, seed,
                   eval_every, step, critic, lr_name="lr"):
    """The loop shared by REINFORCE and actor-critic: sample, ``step`` gives the weights W
    (S, A) of the update direction, theta += lr * vjp(W); exact J recorded along the way."""
    param = _param_for(mdp, param)
    lr = val.check_positive(lr, lr_name)
    episodes = _check_count(episodes, "episodes")
    max_steps = _check_count(max_steps, "max_steps")
    eval_every = _eval_every(eval_every, episodes)
    theta = param.init() if theta0 is None else param.check(theta0).copy()
    rng = val.default_rng(seed)
    optimum, _ = _optimum(mdp)
    model = _Model(mdp)
    hist = {"episode": [], "J": [], "gap": []}
    has_critic = critic() is not None
    if has_critic:
        hist["critic_error"] = []

    def record(done, pi):
        exact = _Exact(mdp, pi)
        hist["episode"].append(done)
        hist["J"].append(exact.J)
        hist["gap"].append(optimum - exact.J)
        if has_critic:
            hist["critic_error"].append(exact.error(critic()) if exact.proper else np.inf)
        return exact.J

    pi = param.policy(theta)
    record(0, pi)
    done = updates = steps = 0
    while done < episodes:
        states, actions, rewards, lengths = _rollout(model, _Policy(pi), batch, max_steps, rng)
        steps += int(lengths.sum())
        W = step(pi, states, actions, rewards, lengths)
        theta = theta + lr * np.reshape(param.logits_vjp(theta, W), theta.shape)
        pi = param.policy(theta)
        updates += 1
        before, done = done, done + batch
        if done // eval_every > before // eval_every or done == episodes:
            J = record(done, pi)
    w = critic()
    return PolicySearchResult(theta=theta, policy=pi, J=J, optimum=optimum, episodes=episodes,
                              updates=updates, steps=steps, method=method,
                              history={k: np.array(v) for k, v in hist.items()},
                              critic=None if w is None else w.copy())
