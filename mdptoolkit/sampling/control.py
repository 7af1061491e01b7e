r"""Sampled control: Q-learning and Sarsa (Sutton & Barto 2018, §6.5, §6.4)."""

from __future__ import annotations

import numpy as np

from .. import _validation as val
from .._typing import ArrayLike, Schedule, Seed
from ..exceptions import MDPValidationError
from ..mdp import MDP
from ._checks import _DEFAULT_MAX_STEPS, _at, _check_count, _check_schedule, _eval_every
from ._exact import _Exact, _optimum
from ._rollout import _Model
from .results import ControlResult


def q_learning(mdp: MDP, *, episodes: int, max_steps: int = _DEFAULT_MAX_STEPS,
               alpha: Schedule = 0.1, epsilon: Schedule = 0.1, seed: Seed = None,
               Q0: ArrayLike | None = None, eval_every: int | None = None) -> ControlResult:
    r"""Q-learning with an epsilon-greedy behaviour policy (Sutton & Barto 2018, §6.5).

    Each step acts epsilon-greedily in Q and updates
    :math:`Q(s,a) \leftarrow Q(s,a) + \alpha_k [r + \gamma \max_{a'} Q(s', a') - Q(s,a)]`,
    the maximum over the actions allowed in :math:`s'` and the bracket's second term 0 when
    :math:`s'` is terminal (a cut episode still bootstraps).

    Parameters
    ----------
    mdp : MDP
    episodes : int
    max_steps : int, default 1000
    alpha : float in (0, 1] or callable, default 0.1
        Step size; a callable ``alpha(k)`` of the episode index k = 0, 1, ... is a schedule.
    epsilon : float in [0, 1] or callable, default 0.1
        Exploration rate: with probability epsilon a uniformly random allowed action, else a
        greedy one (ties broken uniformly at random); a callable ``epsilon(k)`` is a schedule
        (e.g. ``lambda k: max(0.01, 0.5 * 0.99 ** k)``).
    seed : int, numpy.random.Generator or None
    Q0 : array_like (S, A), optional
        Initial action values (default 0; terminal states are fixed at 0).
    eval_every : int, optional
        Record the exact ``J``, ``gap`` and ``q_error`` of the greedy policy at the start
        (``history["episode"][0] == 0``), every ``eval_every`` episodes and at the end
        (default ``max(1, episodes // 100)``; each costs one exact policy evaluation): with
        ``eval_every=1``, ``episodes + 1`` entries.

    Returns
    -------
    ControlResult

    Raises
    ------
    ImproperPolicyError
        When :math:`\gamma = 1` and no policy terminates (the optimum is undefined).

    Examples
    --------
    Sutton & Barto (2018), Example 6.6: Q-learning learns the optimal path along the cliff.

    >>> import numpy as np, mdptoolkit as mt
    >>> from mdptoolkit import envs
    >>> env = envs.cliff_walking()
    >>> result = mt.q_learning(env.mdp, episodes=300, alpha=0.5, seed=0)
    >>> result.J, result.optimum
    (-13.0, -13.0)
    """
    return _control(mdp, "q_learning", episodes=episodes, max_steps=max_steps, alpha=alpha,
                    epsilon=epsilon, seed=seed, Q0=Q0, eval_every=eval_every)


def sarsa(mdp: MDP, *, episodes: int, max_steps: int = _DEFAULT_MAX_STEPS,
          alpha: Schedule = 0.1, epsilon: Schedule = 0.1, seed: Seed = None,
          Q0: ArrayLike | None = None, eval_every: int | None = None) -> ControlResult:
    r"""Sarsa, on-policy TD control with an epsilon-greedy policy (Sutton & Barto 2018, §6.4).

    Each step updates :math:`Q(s,a) \leftarrow Q(s,a) + \alpha_k [r + \gamma Q(s', a') -
    Q(s,a)]` with :math:`a'` the epsilon-greedy action then taken in :math:`s'` (target
    :math:`r` when :math:`s'` is terminal). With a constant epsilon it learns the best
    epsilon-greedy policy, not the optimal one: on the cliff (Example 6.6) the safe path
    away from the edge. Parameters and result as in :func:`q_learning`.

    Examples
    --------
    >>> import numpy as np, mdptoolkit as mt
    >>> from mdptoolkit import envs
    >>> env = envs.cliff_walking()
    >>> result = mt.sarsa(env.mdp, episodes=300, alpha=0.5, seed=0)
    >>> bool(-20 < result.J < -13)   # a longer, safer path than the optimal -13
    True
    """
    return _control(mdp, "sarsa", episodes=episodes, max_steps=max_steps, alpha=alpha,
                    epsilon=epsilon, seed=seed, Q0=Q0, eval_every=eval_every)


def _greedy(Q, allowed):
    return np.argmax(np.where(allowed, Q, -np.inf), axis=1)


def _control(mdp, method, *, episodes, max_steps, alpha, epsilon, seed, Q0, eval_every):
    episodes = _check_count(episodes, "episodes")
    max_steps = _check_count(max_steps, "max_steps")
    alpha = _check_schedule(alpha, "alpha", low_open=True)
    epsilon = _check_schedule(epsilon, "epsilon", low_open=False)
    eval_every = _eval_every(eval_every, episodes)
    S, A = mdp.n_states, mdp.n_actions
    allowed = np.asarray(mdp.allowed)
    if Q0 is None:
        Q_init = np.zeros((S, A))
    else:
        Q_init = val.as_float_array(Q0, "Q0", shape=(S, A), allow_neg_inf=True)
        bad = np.isneginf(Q_init) & allowed
        if bad.any():
            s, a = np.argwhere(bad)[0]
            raise MDPValidationError(f"Q0 must be finite at allowed actions; got -inf at "
                                     f"Q0[{s}, {a}]")
    Q_init[mdp.terminal] = 0.0
    Q_init[~allowed] = -np.inf
    rng = val.default_rng(seed)
    optimum, Q_star = _optimum(mdp)
    model = _Model(mdp)
    gamma = mdp.gamma
    # Python lists: these learners act one step at a time, where list access is fastest
    Q = Q_init.tolist()
    R = model.R.tolist()
    terminal = model.terminal.tolist()
    acts = [np.flatnonzero(row).tolist() for row in allowed]
    sample_next = model.next.sample_one
    sample_start = model.start.sample_one
    random = rng.random
    check = ~mdp.terminal[:, None] & allowed
    hist = {"episode": [], "J": [], "gap": [], "q_error": []}

    def record(k):
        Qa = np.array(Q)
        J = _Exact(mdp, _one_hot(_greedy(Qa, allowed), A)).J
        hist["episode"].append(k)
        hist["J"].append(J)
        hist["gap"].append(optimum - J)
        hist["q_error"].append(float(np.abs(Qa - Q_star)[check].max()) if check.any() else 0.0)

    def choose(s, eps):
        options = acts[s]
        if eps > 0.0 and random() < eps:
            return options[int(random() * len(options))]
        row = Q[s]
        best = max(row)
        ties = [a for a in options if row[a] == best]
        return ties[0] if len(ties) == 1 else ties[int(random() * len(ties))]

    record(0)
    steps = 0
    returns = np.zeros(episodes)
    for k in range(episodes):
        a_k = _at(alpha, "alpha", k, low_open=True)
        eps = _at(epsilon, "epsilon", k, low_open=False)
        s = sample_start(0, random())
        a = None if terminal[s] else choose(s, eps)
        ret, disc = 0.0, 1.0
        for t in range(max_steps if a is not None else 0):
            s2 = sample_next(a * S + s, random())
            q = Q[s]
            r = R[s][a]
            ret += disc * r
            disc *= gamma
            steps += 1
            if terminal[s2]:
                q[a] += a_k * (r - q[a])
                break
            if method == "q_learning":
                q[a] += a_k * (r + gamma * max(Q[s2]) - q[a])
                a2 = choose(s2, eps)
            else:
                a2 = choose(s2, eps)
                q[a] += a_k * (r + gamma * Q[s2][a2] - q[a])
            s, a = s2, a2
        returns[k] = ret
        if (k + 1) % eval_every == 0 or k + 1 == episodes:
            record(k + 1)
    Qa = np.array(Q)
    return ControlResult(Q=Qa, policy=_greedy(Qa, allowed), J=hist["J"][-1], optimum=optimum,
                         episodes=episodes, steps=steps, returns=returns, method=method,
                         history={name: np.array(v) for name, v in hist.items()})


def _one_hot(actions, A):
    pi = np.zeros((actions.size, A))
    pi[np.arange(actions.size), actions] = 1.0
    return pi
