r"""Single-episode policy-gradient estimates (REINFORCE, with a baseline, actor-critic) and their
mean and variance against the exact gradient."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp

from .. import _validation as val
from .._typing import ArrayLike, FloatArray, Seed
from ..exceptions import MDPValidationError
from ..gradient import exact_gradient
from ..gradient.parametrizations import LogLinear, Parametrization, TabularSoftmax, _param_for
from ..mdp import MDP
from ._checks import _DEFAULT_MAX_STEPS, _check_count
from ._exact import _exact_or_raise
from ._rollout import _Model, _Policy, _returns_to_go, _rollout
from .results import EstimatorStats

#: The single-episode policy-gradient estimators of :func:`gradient_estimates`.
ESTIMATORS = ("reinforce", "baseline", "actor_critic")


_CHUNK_ENTRIES = 2**21  # episodes x parameters held at once by the estimator study


def _score_weights(pi, states, actions, lengths, coef):
    r"""Per-episode weights :math:`W_e = \sum_t c_t (e_{a_t} - \pi(\cdot|s_t))` at row s_t,
    as a CSR matrix (n, S*A) (column s*A + a), from time-major episode arrays."""
    S, A = pi.shape
    T, n = actions.shape
    valid = np.arange(T)[:, None] < lengths[None, :]
    t_idx, e_idx = np.nonzero(valid)
    s, a, c = states[t_idx, e_idx], actions[t_idx, e_idx], coef[t_idx, e_idx]
    # the -c_t pi(.|s_t) terms: aggregate c over (episode, state) first
    key = e_idx * S + s
    uniq, inv = np.unique(key, return_inverse=True)
    csum = np.bincount(inv, weights=c, minlength=uniq.size)
    ue, us = np.divmod(uniq, S)
    rows_b, cols_b = np.nonzero(pi[us] > 0)
    data = np.concatenate([c, -csum[rows_b] * pi[us[rows_b], cols_b]])
    rows = np.concatenate([e_idx, ue[rows_b]])
    cols = np.concatenate([s * A + a, us[rows_b] * A + cols_b])
    return sp.csr_array((data, (rows, cols)), shape=(n, S * A))


def _summed_weights(pi, states, actions, lengths, coef):
    """The sum over episodes of the weights above, as a dense (S, A) array."""
    S, A = pi.shape
    T = actions.shape[0]
    valid = np.arange(T)[:, None] < lengths[None, :]
    s, a, c = states[:T][valid], actions[valid], coef[valid]
    W = np.bincount(s * A + a, weights=c, minlength=S * A).reshape(S, A)
    return W - np.bincount(s, weights=c, minlength=S)[:, None] * pi


def _batched_vjp(param, theta, W):
    """Rows ``param.logits_vjp(theta, W_e)``, flattened, for every row W_e of the CSR matrix W:
    a CSR matrix for TabularSoftmax (the weights themselves), else a dense array."""
    S, A = param.n_states, param.n_actions
    if isinstance(param, TabularSoftmax):
        return W.multiply(param.allowed.reshape(1, -1)).tocsr()  # sparse: a few states per row
    if isinstance(param, LogLinear):
        G = W @ param.features
        return G.toarray() if sp.issparse(G) else np.asarray(G)
    out = np.empty((W.shape[0], int(np.prod(param.shape))))
    for e in range(W.shape[0]):
        out[e] = np.ravel(param.logits_vjp(theta, W[[e]].toarray().reshape(S, A)))
    return out


def _estimator_coefficients(estimator, states, rewards, lengths, gamma, V, terminal):
    r"""Coefficients c_t of :math:`\nabla\log\pi(a_t|s_t)`, time-major (T, n)."""
    T = rewards.shape[0]
    disc = (gamma ** np.arange(T))[:, None]
    valid = np.arange(T)[:, None] < lengths[None, :]
    if estimator == "actor_critic":
        s_next = states[1:]
        v_next = np.where((s_next >= 0) & ~terminal[np.maximum(s_next, 0)],
                          V[np.maximum(s_next, 0)], 0.0)
        delta = rewards + gamma * v_next - V[np.maximum(states[:T], 0)]
        return np.where(valid, disc * delta, 0.0)
    G = _returns_to_go(rewards, gamma)
    if estimator == "baseline":
        G = G - V[np.maximum(states[:T], 0)]
    return np.where(valid, disc * G, 0.0)


def _estimate_chunks(mdp, param, theta, estimators, n, max_steps, rng):
    """Yield {estimator: (m, dim) estimates} for chunks of episodes; the episodes (and so the
    random stream) do not depend on which estimators are asked for."""
    pi = param.policy(theta)
    exact = _exact_or_raise(mdp, pi, "the policy of theta")
    model = _Model(mdp)
    policy = _Policy(pi)
    dim = int(np.prod(param.shape))
    # dense estimates (chunk, dim) stay within _CHUNK_ENTRIES; tabular ones are sparse rows
    sparse = isinstance(param, TabularSoftmax)
    chunk = 4096 if sparse else int(min(4096, max(16, _CHUNK_ENTRIES // max(dim, 1))))
    V = exact.V
    done = 0
    while done < n:
        m = min(chunk, n - done)
        states, actions, rewards, lengths = _rollout(model, policy, m, max_steps, rng)
        out = {}
        for name in estimators:
            coef = _estimator_coefficients(name, states, rewards, lengths, mdp.gamma, V,
                                           model.terminal)
            W = _score_weights(pi, states, actions, lengths, coef)
            out[name] = _batched_vjp(param, theta, W)
        yield out
        done += m


def _param_and_theta(mdp, param, theta):
    param = _param_for(mdp, param)
    theta = param.init() if theta is None else param.check(theta)
    return param, theta


def gradient_estimates(mdp: MDP, param: Parametrization, theta: ArrayLike, *,
                       estimator: str = "reinforce", n: int, seed: Seed = None,
                       max_steps: int = _DEFAULT_MAX_STEPS) -> FloatArray:
    r"""Single-episode estimates of the policy gradient :math:`\nabla J(\theta)`.

    Each row is computed from one episode :math:`s_0, a_0, r_0, \dots, s_T` of
    :math:`\pi_\theta` as :math:`\sum_t c_t \nabla_\theta \log \pi_\theta(a_t \mid s_t)` with

    - ``"reinforce"``: :math:`c_t = \gamma^t G_t`, :math:`G_t = \sum_{k \ge t} \gamma^{k-t} r_k`
      (Williams 1992; Sutton & Barto 2018, §13.3);
    - ``"baseline"``: :math:`c_t = \gamma^t (G_t - V^\pi(s_t))` with the *exact*
      :math:`V^\pi` as baseline (§13.4);
    - ``"actor_critic"``: :math:`c_t = \gamma^t \delta_t` with the exact critic's TD error
      :math:`\delta_t = r_t + \gamma V^\pi(s_{t+1}) - V^\pi(s_t)` (:math:`V = 0` at terminal
      states; §13.5).

    All three are unbiased for episodes that terminate (:math:`E[\delta_t \mid s_t, a_t] =
    A^\pi(s_t, a_t)`, and a state baseline has zero mean against the score).

    Parameters
    ----------
    mdp : MDP
    param : TabularSoftmax, LogLinear or None
        ``None``: ``TabularSoftmax`` with the MDP's ``allowed`` mask.
    theta : ndarray or None
        Parameters of shape ``param.shape`` (None: ``param.init()``).
    estimator : {"reinforce", "baseline", "actor_critic"}
    n : int
        Number of episodes (= estimates).
    seed : int, numpy.random.Generator or None
        The episodes depend on ``seed`` only, not on ``estimator``: the three estimators with
        the same seed are computed from the same episodes.
    max_steps : int, default 1000
        Episodes are cut after this many steps, which biases the estimates by about
        :math:`\gamma^{\text{max\_steps}}` (or, with :math:`\gamma = 1`, by the probability of
        a cut).

    Returns
    -------
    ndarray (n, dim)
        ``dim = theta.size``, parameters flattened in C order (as
        ``exact_gradient(...)[1].ravel()``).

    Raises
    ------
    ImproperPolicyError
        When :math:`\gamma = 1` and :math:`\pi_\theta` does not terminate from :math:`\mu`.

    See Also
    --------
    gradient_estimator_stats : mean, bias and variance of these estimates.
    exact_gradient

    Notes
    -----
    Episodes are sampled in vectorized chunks; the score-function weights
    :math:`W_e(s, \cdot) = \sum_{t: s_t = s} c_t (e_{a_t} - \pi(\cdot \mid s))` of all episodes
    form one sparse matrix, mapped to parameter space in one product (``TabularSoftmax``:
    the weights themselves; ``LogLinear``: :math:`W \Phi`).

    Examples
    --------
    Sutton & Barto (2018), Example 13.1 with one shared log-odds of "right" (p = 1/2): the
    exact gradient is :math:`J'(p)\,p(1-p) = 8 \cdot 0.25 = 2` for
    :math:`J(p) = (2p - 4)/(p(1-p))`.

    >>> import numpy as np, mdptoolkit as mt
    >>> from mdptoolkit import envs
    >>> mdp = envs.short_corridor().mdp
    >>> phi = np.zeros((4, 2, 1)); phi[:, 1, 0] = 1.0
    >>> param = mt.LogLinear(phi)
    >>> g = mt.gradient_estimates(mdp, param, np.zeros(1), estimator="baseline", n=4000, seed=0)
    >>> g.shape, bool(abs(g.mean() - 2.0) < 4 * g.std() / np.sqrt(4000))
    ((4000, 1), True)
    """
    param, theta = _param_and_theta(mdp, param, theta)
    estimator = val.check_choice(estimator, "estimator", ESTIMATORS)
    n = _check_count(n, "n")
    max_steps = _check_count(max_steps, "max_steps")
    rng = val.default_rng(seed)
    parts = [out[estimator] for out in _estimate_chunks(mdp, param, theta, (estimator,), n,
                                                        max_steps, rng)]
    return np.concatenate([x.toarray() if sp.issparse(x) else x for x in parts], axis=0)


class _Moments:
    r"""Running mean and variance per coordinate, chunk by chunk.

    Dense chunks: Chan, Golub & LeVeque's pairwise update of the mean and the sum of squared
    deviations. Sparse chunks (tabular parameters: an episode touches a few states): running
    sums of ``x`` and ``x**2`` (cheap on sparse rows), :math:`M_2 = \sum x^2 - (\sum x)^2/n`
    at the end — exact 0 for coordinates no episode touched; the cancellation costs relative
    precision :math:`\epsilon (1 + \bar x^2/\hat\sigma^2)`, negligible for gradient
    estimates, whose variance dwarfs their squared mean.
    """

    def __init__(self, size):
        self.n = 0
        self.mean = np.zeros(size)
        self.M2 = np.zeros(size)
        self.s1 = np.zeros(size)
        self.s2 = np.zeros(size)
        self.n_sparse = 0

    def add(self, x):
        m = x.shape[0]
        if sp.issparse(x):
            self.s1 += np.asarray(x.sum(axis=0)).ravel()
            self.s2 += np.asarray(x.multiply(x).sum(axis=0)).ravel()
            self.n_sparse += m
            return
        x_mean = x.mean(axis=0)
        x_M2 = ((x - x_mean) ** 2).sum(axis=0)
        delta = x_mean - self.mean
        total = self.n + m
        self.mean = self.mean + delta * (m / total)
        self.M2 = self.M2 + x_M2 + delta ** 2 * (self.n * m / total)
        self.n = total

    def result(self):
        """(n, mean, variance with ddof=1)."""
        n, mean, M2 = self.n, self.mean, self.M2
        if self.n_sparse:
            k = self.n_sparse
            k_mean = self.s1 / k
            k_M2 = np.maximum(self.s2 - self.s1 * k_mean, 0.0)  # exactly 0 where never touched
            total = n + k
            delta = k_mean - mean
            mean = mean + delta * (k / total)
            M2 = M2 + k_M2 + delta ** 2 * (n * k / total)
            n = total
        var = M2 / (n - 1) if n > 1 else np.zeros_like(M2)
        return n, mean, var


def gradient_estimator_stats(mdp: MDP, param: Parametrization, theta: ArrayLike, *,
                             estimators: Sequence[str] = ESTIMATORS, n: int, seed: Seed = None,
                             max_steps: int = _DEFAULT_MAX_STEPS) -> dict[str, EstimatorStats]:
    r"""Mean, bias against :func:`~mdptoolkit.exact_gradient` and variance of gradient estimators.

    The measurement behind "a baseline or a critic reduces variance": every estimator is
    computed from the *same* ``n`` episodes (common random numbers), in chunks, so memory
    stays bounded for large ``n`` and large parameter vectors.

    Parameters
    ----------
    mdp, param, theta, n, seed, max_steps
        As in :func:`gradient_estimates`; with the same seed the estimates are the same rows.
    estimators : sequence of str, default all of ``ESTIMATORS``

    Returns
    -------
    dict of str to EstimatorStats
        For each estimator: ``mean``, ``exact``, ``bias``, its per-coordinate
        ``standard_error`` and the ``total_variance`` (trace of the covariance of one
        estimate).

    Examples
    --------
    >>> import numpy as np, mdptoolkit as mt
    >>> from mdptoolkit import envs
    >>> mdp = envs.short_corridor().mdp
    >>> stats = mt.gradient_estimator_stats(mdp, None, None, n=2000, seed=0)
    >>> stats["baseline"]          # doctest: +ELLIPSIS
    EstimatorStats(estimator='baseline', n=2000, total_variance=..., |bias|=..., max |bias|/se=...)
    >>> ratio = stats["baseline"].total_variance / stats["reinforce"].total_variance
    >>> bool(ratio < 0.5), all(s.max_z < 4 for s in stats.values())
    (True, True)
    """
    param, theta = _param_and_theta(mdp, param, theta)
    if isinstance(estimators, str):
        estimators = (estimators,)
    estimators = tuple(val.check_choice(e, "estimator", ESTIMATORS) for e in estimators)
    if not estimators:
        raise MDPValidationError("estimators must name at least one estimator; got none")
    n = _check_count(n, "n")
    max_steps = _check_count(max_steps, "max_steps")
    rng = val.default_rng(seed)
    J, exact = exact_gradient(mdp, param, theta)
    exact = np.ravel(exact)
    acc = {name: _Moments(exact.size) for name in estimators}
    for out in _estimate_chunks(mdp, param, theta, estimators, n, max_steps, rng):
        for name, x in out.items():
            acc[name].add(x)
    stats = {}
    for name, moments in acc.items():
        count, mean, var = moments.result()
        stats[name] = EstimatorStats(estimator=name, n=count, mean=mean, exact=exact,
                                     bias=mean - exact, standard_error=np.sqrt(var / count),
                                     total_variance=float(var.sum()), J=float(J))
    return stats
