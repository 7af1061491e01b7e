r"""Sampled policy evaluation: TD(0) and Monte Carlo (Sutton & Barto 2018, §6.1, §5.1)."""

from __future__ import annotations

import numpy as np

from .. import _validation as val
from .._typing import ArrayLike, Policy, Schedule, Seed
from ..mdp import MDP
from ..solvers._common import _initial_values
from ._checks import _DEFAULT_MAX_STEPS, _at, _check_count, _check_schedule
from ._exact import _exact_or_raise
from ._rollout import _Model, _Policy, _returns_to_go, _rollout
from .results import EvaluationResult

_TD_CHUNK = 256  # episodes sampled at once by TD and Monte Carlo evaluation


def _evaluation_chunks(model, policy, episodes, max_steps, rng):
    """Episodes in chunks of _TD_CHUNK, as Python lists per episode (for sequential updates)."""
    done = 0
    while done < episodes:
        m = min(_TD_CHUNK, episodes - done)
        states, actions, rewards, lengths = _rollout(model, policy, m, max_steps, rng)
        yield states, actions, rewards, lengths
        done += m


def td_evaluation(mdp: MDP, policy: Policy, *, episodes: int, alpha: Schedule = 0.1,
                  max_steps: int = _DEFAULT_MAX_STEPS, seed: Seed = None,
                  V0: ArrayLike | None = None) -> EvaluationResult:
    r"""TD(0) evaluation of a policy (Sutton & Barto 2018, §6.1).

    After every step, :math:`V(s_t) \leftarrow V(s_t) + \alpha_k [r_t + \gamma V(s_{t+1}) -
    V(s_t)]` with :math:`V = 0` at terminal states; a cut episode bootstraps from its last
    state as usual.

    Parameters
    ----------
    mdp : MDP
    policy : array_like
        Deterministic int (S,) or stochastic (S, A).
    episodes : int
    alpha : float in (0, 1] or callable, default 0.1
        Step size; a callable ``alpha(k)`` of the episode index k = 0, 1, ... gives a schedule
        (e.g. ``lambda k: 1 / (k + 1) ** 0.7``, which meets the Robbins-Monro conditions).
    max_steps : int, default 1000
    seed : int, numpy.random.Generator or None
    V0 : array_like (S,), optional
        Initial estimate (default 0; terminal states are set to 0).

    Returns
    -------
    EvaluationResult
        ``history["error"][k]`` is :math:`\max_s |V_k(s) - V^\pi(s)|` after k episodes, over
        the states the policy reaches from :math:`\mu`: ``episodes + 1`` entries, entry 0
        the start ``V0`` (``history["episode"]`` is ``0..episodes``), the rule of every
        sampling learner.

    Raises
    ------
    ImproperPolicyError
        When :math:`\gamma = 1` and the policy does not terminate with probability 1 from
        :math:`\mu` (:math:`V^\pi` is then undefined).

    Notes
    -----
    The policy is fixed, so episodes are sampled in vectorized chunks of 256 and the updates
    replayed in order; the result is that of the textbook's step-by-step loop.

    Examples
    --------
    >>> import numpy as np, mdptoolkit as mt
    >>> from mdptoolkit import envs
    >>> mdp = envs.sutton_barto_4x4().mdp
    >>> random_policy = np.full((16, 4), 0.25)
    >>> result = mt.td_evaluation(mdp, random_policy, episodes=1000, alpha=0.05, seed=0)
    >>> result.history["error"].shape, bool(result.error < 0.1 * result.history["error"][0])
    ((1001,), True)
    """
    return _evaluate(mdp, policy, episodes=episodes, alpha=alpha, max_steps=max_steps, seed=seed,
                     V0=V0, method="td_evaluation")


def mc_evaluation(mdp: MDP, policy: Policy, *, episodes: int, alpha: Schedule | None = None,
                  first_visit: bool = False, max_steps: int = _DEFAULT_MAX_STEPS,
                  seed: Seed = None, V0: ArrayLike | None = None) -> EvaluationResult:
    r"""Monte Carlo evaluation of a policy (Sutton & Barto 2018, §5.1 and eq. 6.1).

    After each episode, for its steps :math:`t = 0, 1, \dots` in order,
    :math:`V(s_t) \leftarrow V(s_t) + \alpha [G_t - V(s_t)]` with the return
    :math:`G_t = \sum_{k \ge t} \gamma^{k-t} r_k`; every visit of a state counts
    (every-visit MC) unless ``first_visit=True``.

    Parameters
    ----------
    mdp : MDP
    policy : array_like
    episodes : int
    alpha : float in (0, 1], callable or None, default None
        ``None``: sample averages, :math:`\alpha = 1/N(s)` with :math:`N(s)` the number of
        counted visits so far (then ``V0`` is ignored at visited states); a constant or a
        callable of the episode index as in :func:`td_evaluation`.
    first_visit : bool, default False
        Count only the first visit of a state in each episode.
    max_steps : int, default 1000
        Returns of cut episodes are truncated, which biases MC unless
        :math:`\gamma^{\text{max\_steps}}` is negligible or every episode terminates.
    seed : int, numpy.random.Generator or None
    V0 : array_like (S,), optional

    Returns
    -------
    EvaluationResult
        As for :func:`td_evaluation` (``episodes + 1`` history entries, the start included).

    Examples
    --------
    >>> import numpy as np, mdptoolkit as mt
    >>> from mdptoolkit import envs
    >>> mdp = envs.sutton_barto_4x4().mdp
    >>> result = mt.mc_evaluation(mdp, np.full((16, 4), 0.25), episodes=500, seed=0)
    >>> bool(result.error < 0.3 * result.history["error"][0])
    True
    """
    if not isinstance(first_visit, (bool, np.bool_)):
        raise TypeError(f"first_visit must be a bool; got {type(first_visit).__name__}")
    return _evaluate(mdp, policy, episodes=episodes, alpha=alpha, max_steps=max_steps, seed=seed,
                     V0=V0, method="mc_evaluation", first_visit=bool(first_visit))


def _evaluate(mdp, policy, *, episodes, alpha, max_steps, seed, V0, method, first_visit=False):
    pi = val.as_policy_matrix(mdp, policy)
    episodes = _check_count(episodes, "episodes")
    max_steps = _check_count(max_steps, "max_steps")
    averages = method == "mc_evaluation" and alpha is None
    if not averages:
        alpha = _check_schedule(alpha, "alpha", low_open=True)
    V = _initial_values(mdp, V0)
    rng = val.default_rng(seed)
    exact = _exact_or_raise(mdp, pi, "policy")
    model = _Model(mdp)
    gamma = mdp.gamma
    terminal = model.terminal.tolist()
    counts = np.zeros(mdp.n_states, np.int64)
    errors = np.empty(episodes + 1)  # entry k: after k episodes (entry 0: V0)
    reach = exact.reach
    V_true = exact.V
    errors[0] = np.abs(V - V_true)[reach].max()
    k = 0
    steps = 0
    for states, _, rewards, lengths in _evaluation_chunks(model, _Policy(pi), episodes,
                                                          max_steps, rng):
        steps += int(lengths.sum())
        if method == "mc_evaluation":
            G = _returns_to_go(rewards, gamma)
            counted = _visit_mask(states, lengths, mdp.n_states, first_visit)
        S_l, R_l = states.T.tolist(), rewards.T.tolist()
        for e, L in enumerate(lengths.tolist()):
            a_k = None if averages else _at(alpha, "alpha", k, low_open=True)
            s_e = S_l[e]
            if method == "td_evaluation":
                r_e = R_l[e]
                for t in range(L):
                    s, s2 = s_e[t], s_e[t + 1]
                    v2 = 0.0 if terminal[s2] else V[s2]
                    V[s] += a_k * (r_e[t] + gamma * v2 - V[s])
            else:
                g_e = G[:L, e].tolist()
                c_e = counted[:L, e].tolist()
                for t in range(L):
                    if c_e[t]:
                        s = s_e[t]
                        if averages:
                            counts[s] += 1
                            V[s] += (g_e[t] - V[s]) / counts[s]
                        else:
                            V[s] += a_k * (g_e[t] - V[s])
            errors[k + 1] = np.abs(V - V_true)[reach].max()
            k += 1
    return EvaluationResult(V=V, error=float(errors[-1]), episodes=episodes, steps=steps,
                            method=method,
                            history={"episode": np.arange(episodes + 1), "error": errors})


def _visit_mask(states, lengths, S, first_visit):
    """(T, n) mask of the steps whose return is counted (every visit, or first visits only)."""
    T, n = states.shape[0] - 1, states.shape[1]
    valid = np.arange(T)[:, None] < lengths[None, :]
    if not first_visit:
        return valid
    key = np.where(valid, np.arange(n)[None, :] * S + states[:T], -1)
    # first occurrence of (episode, state) in time order: scan the episode-major flattening
    flat = key.T.ravel()
    _, first = np.unique(flat, return_index=True)
    mask = np.zeros(flat.size, bool)
    mask[first] = True
    mask &= flat >= 0
    return mask.reshape(n, T).T
