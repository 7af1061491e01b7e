r"""Sampling-based learners beside the exact solvers, each measured against the exact answer.

Every function here samples episodes of an :class:`~mdptoolkit.MDP`: :math:`s_0 \sim \mu`,
:math:`a_t \sim \pi(\cdot \mid s_t)`, reward :math:`r_t = R(s_t, a_t)` and
:math:`s_{t+1} \sim P(\cdot \mid s_t, a_t)`. An episode ends on *entering* a terminal state or
is cut after ``max_steps`` steps (a cut episode is not terminated: learners that bootstrap
still bootstrap from its last state). The sampled reward is the expected reward
:math:`R(s, a)`: the model stores no reward distribution (transition rewards
:math:`R(s, a, s')` given to :class:`~mdptoolkit.MDP` are averaged at construction), so the
randomness of an episode comes from :math:`\mu`, :math:`\pi` and :math:`P` only.

Randomness comes from one ``numpy.random.Generator`` built from ``seed`` (int, Generator or
None); the same seed gives the same numbers bit for bit.

Next states are drawn by inverse CDF on the rows of the flat transition matrix (its nonzeros,
dense or sparse alike): with u uniform on [0, 1), the first successor whose normalized
cumulative probability exceeds u. One such step draws the next states of a whole batch of
episodes — for rows of at most 32 successors by a few gather-and-compare passes over the
padded cumulative rows, for longer rows by one ``searchsorted`` over the keys
``row + F_row``. Dense and sparse storage of the same MDP give the same episodes.

Histories are measured against exact quantities computed with the package's linear solvers:
:math:`V^\pi` for evaluation, :math:`J^* = \mu^\top V^*` and :math:`Q^*` (policy iteration)
for control, and the exact :math:`J(\pi_\theta) = \mu^\top V^{\pi_\theta}` for policy
search. :math:`V^\pi` and :math:`J` are computed on the states the policy reaches from
:math:`\mu`; with :math:`\gamma = 1` a policy that does not terminate from there with
probability 1 has :math:`J = -\infty` (its return is undefined, or :math:`-\infty` for the
usual negative step costs) and so ``gap = inf``.

References
----------
Sutton & Barto (2018), *Reinforcement Learning: An Introduction*, 2nd ed.: TD(0) §6.1,
Monte Carlo §5.1, Sarsa §6.4, Q-learning §6.5, REINFORCE §13.3-13.4, actor-critic §13.5.
Williams (1992), "Simple statistical gradient-following algorithms".
"""

from __future__ import annotations

import bisect
import numbers
from dataclasses import dataclass, field
from typing import Mapping

import numpy as np
import scipy.sparse as sp
import scipy.sparse.csgraph as csgraph

from . import _validation as val
from .dp import _initial_values, policy_iteration
from .evaluation import policy_chain, solve_chain
from .exceptions import ImproperPolicyError, MDPValidationError
from .gradient import LogLinear, TabularSoftmax, _param_for, exact_gradient
from .result import FrozenArrays, GapToOptimum, _describe

__all__ = ["simulate", "td_evaluation", "mc_evaluation", "q_learning", "sarsa", "reinforce",
           "sampled_actor_critic", "gradient_estimates", "gradient_estimator_stats",
           "Trajectories", "EvaluationResult", "ControlResult", "PolicySearchResult",
           "EstimatorStats", "ESTIMATORS"]

#: The single-episode policy-gradient estimators of :func:`gradient_estimates`.
ESTIMATORS = ("reinforce", "baseline", "actor_critic")
_BASELINES = (None, "value", "mean")
_DEFAULT_MAX_STEPS = 1000
_CHUNK_ENTRIES = 2**21  # episodes x parameters held at once by the estimator study
_TD_CHUNK = 256  # episodes sampled at once by TD and Monte Carlo evaluation


# ====================================================================== results
@dataclass(frozen=True, repr=False)
class Trajectories(FrozenArrays):
    r"""Episodes sampled by :func:`simulate`, as padded arrays (one row per episode).

    Attributes
    ----------
    states : ndarray of int (episodes, max_steps + 1)
        :math:`s_0, s_1, \dots, s_T` (the state reached last included), then -1.
    actions : ndarray of int (episodes, max_steps)
        :math:`a_0, \dots, a_{T-1}`, then -1.
    rewards : ndarray of float (episodes, max_steps)
        :math:`r_t = R(s_t, a_t)`, then 0.
    lengths : ndarray of int (episodes,)
        Number of steps T of each episode.
    terminated : ndarray of bool (episodes,)
        Whether the episode ended in a terminal state (else it was cut at ``max_steps``).
    gamma : float
        The MDP's discount, used by :attr:`returns`.

    Examples
    --------
    >>> import numpy as np, mdptoolkit as mt
    >>> P = np.zeros((2, 1, 2)); P[0, 0] = [0.5, 0.5]; P[1, 0, 1] = 1
    >>> mdp = mt.MDP(P, [[1.0], [0.0]], 1.0, mu=[1, 0], terminal=[False, True])
    >>> traj = mt.simulate(mdp, np.array([0, 0]), episodes=3, max_steps=4, seed=1)
    >>> traj.states
    array([[ 0,  1, -1, -1, -1],
           [ 0,  0,  1, -1, -1],
           [ 0,  0,  0,  1, -1]])
    >>> traj.lengths, traj.returns
    (array([1, 2, 3]), array([1., 2., 3.]))
    """

    states: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    lengths: np.ndarray
    terminated: np.ndarray
    gamma: float

    _arrays = ("states", "actions", "rewards", "lengths", "terminated")

    @property
    def episodes(self):
        """Number of episodes."""
        return self.lengths.shape[0]

    @property
    def max_steps(self):
        """The step limit the episodes were sampled with."""
        return self.actions.shape[1]

    @property
    def returns(self):
        r"""Discounted return :math:`\sum_t \gamma^t r_t` of each episode (episodes,)."""
        return self.rewards @ (self.gamma ** np.arange(self.max_steps))

    def __repr__(self):
        n = self.episodes
        mean_len = float(self.lengths.mean()) if n else 0.0
        mean_ret = float(self.returns.mean()) if n else 0.0
        return (f"Trajectories(episodes={n}, max_steps={self.max_steps}, mean length="
                f"{mean_len:.4g}, {int(self.terminated.sum())} terminated, mean return="
                f"{mean_ret:.4g})")


@dataclass(frozen=True, repr=False)
class EvaluationResult(FrozenArrays):
    r"""What :func:`td_evaluation` and :func:`mc_evaluation` return.

    Attributes
    ----------
    V : ndarray (S,)
        The estimate of :math:`V^\pi` after the last episode.
    error : float
        :math:`\max_s |V(s) - V^\pi(s)|` over the states the policy reaches from :math:`\mu`.
    episodes, steps : int
        Episodes sampled and steps taken in all.
    method : str
    history : Mapping[str, ndarray]
        ``episode`` (1, 2, ..., episodes) and ``error``: :math:`\max_s |V_k(s) - V^\pi(s)|`
        after each episode.
    """

    V: np.ndarray
    error: float
    episodes: int
    steps: int
    method: str
    history: Mapping[str, np.ndarray] = field(default_factory=dict)

    _arrays = ("V",)

    def __repr__(self):
        return "\n".join([
            f"{type(self).__name__}(method={self.method!r}, episodes={self.episodes}, "
            f"steps={self.steps}, error={self.error:.3g},",
            f"    V={_describe(self.V)},",
            f"    history keys={sorted(self.history)})"])


@dataclass(frozen=True, repr=False)
class ControlResult(GapToOptimum, FrozenArrays):
    r"""What :func:`q_learning` and :func:`sarsa` return, measured against the DP optimum.

    Attributes
    ----------
    Q : ndarray (S, A)
        Learned action values (``-inf`` at disallowed actions, 0 at terminal states).
    policy : ndarray of int (S,)
        Greedy in ``Q`` over the allowed actions, lowest index among ties.
    J : float
        Exact :math:`J(\pi) = \mu^\top V^\pi` of ``policy`` (``-inf`` if, with
        :math:`\gamma = 1`, it does not terminate from :math:`\mu`).
    optimum : float
        :math:`J^* = \mu^\top V^*` (policy iteration).
    episodes, steps : int
    returns : ndarray (episodes,)
        The discounted return :math:`\sum_t \gamma^t r_t` of every training episode, earned by
        the exploring behaviour policy ("sum of rewards during episode" of Sutton & Barto's
        Figure 6.4 when :math:`\gamma = 1`).
    method : str
    history : Mapping[str, ndarray]
        At ``episode`` = 0, eval_every, 2·eval_every, ..., episodes: ``J`` and ``gap``
        (:math:`J^* - J` of the greedy policy, exact) and ``q_error``
        (:math:`\max |Q_k - Q^*|` over all allowed pairs of non-terminal states, visited or not).
    """

    Q: np.ndarray
    policy: np.ndarray
    J: float
    optimum: float
    episodes: int
    steps: int
    returns: np.ndarray
    method: str
    history: Mapping[str, np.ndarray] = field(default_factory=dict)

    _arrays = ("Q", "policy", "returns")

    def __repr__(self):
        return "\n".join([
            f"{type(self).__name__}(method={self.method!r}, episodes={self.episodes}, "
            f"steps={self.steps},",
            f"    J={self.J:.10g}, optimum={self.optimum:.10g}, gap={self.gap:.3g},",
            f"    policy={_describe(self.policy)},",
            f"    history keys={sorted(self.history)})"])


@dataclass(frozen=True, repr=False)
class PolicySearchResult(GapToOptimum, FrozenArrays):
    r"""What :func:`reinforce` and :func:`sampled_actor_critic` return.

    The fields mirror :class:`~mdptoolkit.GradientResult`, so sampled and exact gradient
    methods plot and tabulate alike.

    Attributes
    ----------
    theta : ndarray
        Final parameters.
    policy : ndarray (S, A)
        The policy of ``theta``.
    J : float
        Exact objective :math:`J(\pi_\theta)` of the final policy.
    optimum : float
        The DP optimum :math:`J^*`.
    episodes, updates, steps : int
        Episodes sampled, parameter updates made, steps taken.
    method : str
    history : Mapping[str, ndarray]
        At ``episode`` = 0, about every ``eval_every`` episodes, and at the end: the exact
        ``J`` and ``gap`` (:math:`J^* - J`) of the current policy; with a learned critic or
        value baseline also ``critic_error`` (:math:`\max|w - V^\pi|` over the states the
        policy reaches).
    critic : ndarray (S,) or None
        The learned state values (actor-critic's critic, or REINFORCE's ``"value"`` baseline).
    """

    theta: np.ndarray
    policy: np.ndarray
    J: float
    optimum: float
    episodes: int
    updates: int
    steps: int
    method: str
    history: Mapping[str, np.ndarray] = field(default_factory=dict)
    critic: np.ndarray | None = None

    _arrays = ("theta", "policy", "critic")

    def __repr__(self):
        return "\n".join([
            f"{type(self).__name__}(method={self.method!r}, episodes={self.episodes}, "
            f"updates={self.updates}, steps={self.steps},",
            f"    J={self.J:.10g}, optimum={self.optimum:.10g}, gap={self.gap:.3g},",
            f"    theta={_describe(self.theta)},",
            f"    history keys={sorted(self.history)})"])


@dataclass(frozen=True, repr=False)
class EstimatorStats(FrozenArrays):
    r"""Mean, bias and variance of one single-episode gradient estimator
    (:func:`gradient_estimator_stats`).

    Attributes
    ----------
    estimator : str
        One of :data:`ESTIMATORS`.
    n : int
        Number of episodes (independent estimates).
    mean : ndarray (dim,)
        Sample mean of the estimates (parameters flattened in C order).
    exact : ndarray (dim,)
        :func:`~mdptoolkit.exact_gradient` at the same parameters.
    bias : ndarray (dim,)
        ``mean - exact``.
    standard_error : ndarray (dim,)
        Standard error of ``mean``, per coordinate: :math:`\hat\sigma_i / \sqrt{n}`.
    total_variance : float
        :math:`\operatorname{tr} \widehat{\mathrm{Cov}}` = sum of the per-coordinate sample
        variances (ddof = 1) of a single estimate.
    J : float
        Exact :math:`J(\pi_\theta)`.
    """

    estimator: str
    n: int
    mean: np.ndarray
    exact: np.ndarray
    bias: np.ndarray
    standard_error: np.ndarray
    total_variance: float
    J: float

    _arrays = ("mean", "exact", "bias", "standard_error")

    @property
    def max_z(self):
        r""":math:`\max_i |\text{bias}_i| / \text{se}_i` over coordinates with se > 0.

        For an unbiased estimator and coordinates with many nonzero samples it stays near
        :math:`\sqrt{2 \log \dim}`; coordinates of rarely visited states have heavy-tailed
        estimates and unreliable standard errors, so judge those by their visit counts."""
        se = self.standard_error
        ok = se > 0
        return float((np.abs(self.bias[ok]) / se[ok]).max()) if ok.any() else 0.0

    def __repr__(self):
        return (f"{type(self).__name__}(estimator={self.estimator!r}, n={self.n}, "
                f"total_variance={self.total_variance:.4g}, |bias|={np.linalg.norm(self.bias):.3g}, "
                f"max |bias|/se={self.max_z:.3g})")


# ====================================================================== sampling machinery
class _Categorical:
    """Inverse-CDF sampling from many categorical distributions (one per row) at once.

    ``rows`` (sorted), ``labels`` and ``weights`` list the entries; zero weights are dropped
    and each row's cumulative sums F are normalized to end at exactly 1. A draw with uniform
    u takes the first entry of its row with F > u. Two vectorized layouts:

    - short rows (at most 32 entries, little padding): F padded column by column, and the
      index counted with one gather-and-compare per column — a few contiguous passes;
    - long rows: the keys ``row + F`` increase through the whole array, so one
      ``searchsorted`` serves every row.
    """

    _MAX_COLUMNS = 32

    def __init__(self, rows, labels, weights, n_rows):
        keep = weights > 0
        rows, labels, weights = rows[keep], labels[keep], weights[keep]
        counts = np.bincount(rows, minlength=n_rows)
        self.indptr = np.zeros(n_rows + 1, dtype=np.intp)
        np.cumsum(counts, out=self.indptr[1:])
        start, end = self.indptr[:-1], self.indptr[1:]
        nonempty = counts > 0
        self.labels = np.asarray(labels, dtype=np.intp)
        self._lists = None
        K = int(counts.max(initial=0))
        if K <= self._MAX_COLUMNS and n_rows * K <= 4 * weights.size + 1024:
            # row-local cumulative sums, exact to round-off of at most 32 terms
            position = np.arange(weights.size) - start[rows]
            C = np.zeros((K, n_rows))
            C[position, rows] = weights
            np.cumsum(C, axis=0, out=C)
            total = np.where(nonempty, C[-1], 1.0)
            C /= total
            np.minimum(C, 1.0, out=C)
            C[counts[nonempty] - 1, np.flatnonzero(nonempty)] = 1.0
            self.F = C[position, rows]
            pad = np.arange(K)[:, None] >= counts[None, :]
            C[pad] = 2.0  # 2 > any u: padding is never counted
            self.columns = C[:K - 1]  # the last entry of a row is 1 > u: never counted
            self.keys = None
        else:
            # long rows: global cumulative sums (absolute round-off ~ 2^-52 * nnz)
            csum = np.concatenate([[0.0], np.cumsum(weights)])
            total = np.where(nonempty, csum[end] - csum[start], 1.0)
            F = (csum[1:] - csum[start][rows]) / total[rows]
            np.minimum(F, 1.0, out=F)
            F[end[nonempty] - 1] = 1.0
            self.F = F
            self.columns = None
            self.keys = rows + F

    def sample(self, rows, u):
        """One label per entry of ``rows``, with uniforms ``u`` in [0, 1)."""
        if self.columns is not None:
            j = self.indptr[rows]
            for column in self.columns:
                j += column[rows] <= u
            return self.labels[j]
        j = np.searchsorted(self.keys, rows + u, side="right")
        np.minimum(j, self.indptr[rows + 1] - 1, out=j)  # round-off guard: stay in the row
        return self.labels[j]

    def sample_one(self, row, u):
        """The scalar version, for learners that act one step at a time."""
        if self._lists is None:
            self._lists = (self.F.tolist(), self.labels.tolist(), self.indptr.tolist())
        F, labels, indptr = self._lists
        return labels[bisect.bisect_right(F, u, indptr[row], indptr[row + 1] - 1)]


class _Model:
    """What sampling needs from an MDP, prepared once: transitions, rewards, start, terminals."""

    def __init__(self, mdp):
        S, A = mdp.n_states, mdp.n_actions
        self.S, self.A, self.gamma = S, A, mdp.gamma
        op = mdp._op
        if sp.issparse(op):
            rows = np.repeat(np.arange(A * S), np.diff(op.indptr))
            cols, data = op.indices, op.data
        else:
            rows, cols = np.nonzero(op)
            data = op[rows, cols]
        self.next = _Categorical(rows, cols, data, A * S)
        support = np.flatnonzero(mdp.mu > 0)
        self.start = _Categorical(np.zeros(support.size, np.intp), support, mdp.mu[support], 1)
        self.R = np.asarray(mdp._R0)
        self.terminal = np.asarray(mdp.terminal)

    @property
    def terminal_list(self):
        return self._lists()[0]

    @property
    def R_list(self):
        return self._lists()[1]

    def _lists(self):
        if not hasattr(self, "_cached_lists"):
            self._cached_lists = (self.terminal.tolist(), self.R.tolist())
        return self._cached_lists


class _Policy:
    """Action sampling for a fixed (S, A) policy; deterministic ones use no randomness."""

    def __init__(self, pi):
        self.pi = pi
        # rows sum to 1, so S nonzeros in all means one action of probability 1 per state
        self.deterministic = np.count_nonzero(pi) == pi.shape[0]
        self.table = np.argmax(pi, axis=1) if self.deterministic else None
        self._cat = None

    def __call__(self, s, rng):
        if self.deterministic:
            return self.table[s]
        if self._cat is None:
            rows, a = np.nonzero(self.pi)
            self._cat = _Categorical(rows, a, self.pi[rows, a], self.pi.shape[0])
        return self._cat.sample(s, rng.random(s.size))

    def one(self, s, rng):
        """The action in state ``s`` (an int), built from that row only."""
        if self.deterministic:
            return int(self.table[s])
        row = self.pi[s]
        a = np.flatnonzero(row)
        F = np.cumsum(row[a])
        F /= F[-1]
        return int(a[min(int(np.searchsorted(F, rng.random(), side="right")), a.size - 1)])


def _rollout(model, policy, n, max_steps, rng):
    """Sample ``n`` episodes at once; time-major padded arrays cut to the longest episode.

    Returns states (T+1, n), actions (T, n), rewards (T, n), lengths (n,) with T the
    longest episode's length. One episode is sampled by a scalar loop, which is faster there.
    """
    if n == 1:
        return _rollout_one(model, policy, max_steps, rng)
    S = model.S
    terminal = model.terminal
    s = model.start.sample(np.zeros(n, np.intp), rng.random(n))
    s0 = s
    lengths = np.zeros(n, np.intp)
    active = np.flatnonzero(~terminal[s])
    s = s[active]
    record = []
    t = 0
    while active.size and t < max_steps:
        a = policy(s, rng)
        s2 = model.next.sample(a * S + s, rng.random(active.size))
        record.append((active, a, model.R[s, a], s2))
        t += 1
        going = ~terminal[s2]
        if not going.all():
            lengths[active[~going]] = t
            active, s2 = active[going], s2[going]
        s = s2
    lengths[active] = t
    states = np.full((t + 1, n), -1, np.intp)
    actions = np.full((t, n), -1, np.intp)
    rewards = np.zeros((t, n))
    states[0] = s0
    for k, (idx, a, r, s2) in enumerate(record):
        if idx.size == n:
            actions[k], rewards[k], states[k + 1] = a, r, s2
        else:
            actions[k, idx], rewards[k, idx], states[k + 1, idx] = a, r, s2
    return states, actions, rewards, lengths


def _rollout_one(model, policy, max_steps, rng):
    S = model.S
    random = rng.random
    terminal, R = model.terminal_list, model.R_list
    s = model.start.sample_one(0, random())
    states, actions, rewards = [s], [], []
    for _ in range(max_steps):
        if terminal[s]:
            break
        a = policy.one(s, rng)
        s = model.next.sample_one(a * S + s, random())
        actions.append(a)
        rewards.append(R[states[-1]][a])
        states.append(s)
    T = len(actions)
    return (np.array(states, np.intp).reshape(T + 1, 1), np.array(actions, np.intp).reshape(T, 1),
            np.array(rewards, np.float64).reshape(T, 1), np.array([T], np.intp))


def _returns_to_go(rewards, gamma):
    """G_t = r_t + gamma G_{t+1} (time-major, zero-padded rewards)."""
    G = np.zeros_like(rewards)
    acc = np.zeros(rewards.shape[1])
    for t in range(rewards.shape[0] - 1, -1, -1):
        acc = rewards[t] + gamma * acc
        G[t] = acc
    return G


# ====================================================================== exact references
def _reachable(G, sources):
    """Mask of states reachable in the directed graph G (CSR, 0/1) from the ``sources`` mask:
    one breadth-first search from a hub state S pointing at every source."""
    S = G.shape[0]
    src = np.flatnonzero(sources)
    if src.size == 0:
        return np.zeros(S, bool)
    indptr = np.append(G.indptr, G.indptr[-1] + src.size)
    indices = np.concatenate([G.indices, src]).astype(indptr.dtype, copy=False)
    hub = sp.csr_array((np.ones(indices.size), indices, indptr), shape=(S + 1, S + 1))
    order = csgraph.breadth_first_order(hub, S, directed=True, return_predecessors=False)
    mask = np.zeros(S + 1, bool)
    mask[order] = True
    return mask[:S]


def _reachable_dense(G, sources):
    """The same for a dense boolean adjacency matrix (small dense MDPs): frontier expansion."""
    reach = sources.copy()
    frontier = reach
    while frontier.any():
        frontier = G[frontier].any(axis=0) & ~reach
        reach |= frontier
    return reach


class _Exact:
    r""":math:`V^\pi` on the states :math:`\pi` reaches from :math:`\mu`, and :math:`J(\pi)`.

    ``proper`` is False when :math:`\gamma = 1` and some reached state cannot reach a
    terminal state; then ``V`` is None and ``J = -inf``.
    """

    def __init__(self, mdp, pi):
        P_pi, R_pi = policy_chain(mdp, pi)
        if sp.issparse(P_pi):
            G = sp.csr_array(P_pi > 0, dtype=np.float64)
            self.reach = _reachable(G, mdp.mu > 0)
            finishes = (lambda: _reachable(G.T.tocsr(), mdp.terminal))
        else:
            G = P_pi > 0
            self.reach = _reachable_dense(G, mdp.mu > 0)
            finishes = (lambda: _reachable_dense(G.T, mdp.terminal))
        N = np.flatnonzero(self.reach & ~mdp.terminal)
        self.proper = True
        if mdp.gamma == 1.0 and N.size:
            self.proper = bool(finishes()[N].all())
        if not self.proper:
            self.V, self.J = None, -np.inf
            return
        self.V = np.zeros(mdp.n_states)
        if N.size:
            if sp.issparse(P_pi):
                self.V[N] = solve_chain(sp.csr_array(P_pi[N][:, N]), R_pi[N], mdp.gamma)
            elif N.size <= 256:  # small and dense: LAPACK at once, without structure analysis
                M = np.eye(N.size) - mdp.gamma * P_pi[np.ix_(N, N)]
                self.V[N] = np.linalg.solve(M, R_pi[N])
            else:
                self.V[N] = solve_chain(P_pi[np.ix_(N, N)], R_pi[N], mdp.gamma)
        self.J = float(mdp.mu @ self.V)

    def error(self, V):
        return float(np.abs(V - self.V)[self.reach].max())


def _exact_or_raise(mdp, pi, what):
    exact = _Exact(mdp, pi)
    if not exact.proper:
        raise ImproperPolicyError(f"{what} must reach a terminal state with probability 1 from "
                                  f"mu when gamma = 1; got a policy that does not, so V^pi is "
                                  f"undefined")
    return exact


def _optimum(mdp):
    result = policy_iteration(mdp)
    return float(mdp.mu @ result.V), np.asarray(result.Q)


# ====================================================================== argument checks
def _check_schedule(value, name, *, low_open):
    """A constant in (0, 1] (``low_open``) or [0, 1], or a callable of the episode index whose
    values are checked when it is called."""
    if callable(value):
        return value
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number or a callable of the episode index; "
                        f"got {type(value).__name__}")
    return _in_unit_interval(float(value), name, low_open)


def _in_unit_interval(value, name, low_open):
    if not ((0.0 < value if low_open else 0.0 <= value) and value <= 1.0):
        raise ValueError(f"{name} must be in {'(0, 1]' if low_open else '[0, 1]'}; got {value!r}")
    return value


def _at(schedule, name, k, low_open):
    """The schedule's value at episode k."""
    if not callable(schedule):
        return schedule
    value = schedule(k)
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name}({k}) must return a real number; got {type(value).__name__}")
    return _in_unit_interval(float(value), f"{name}({k})", low_open)


def _check_count(value, name):
    return val.check_positive(value, name, integer=True)


def _eval_every(eval_every, episodes):
    if eval_every is None:
        return max(1, episodes // 100)
    return _check_count(eval_every, "eval_every")


# ====================================================================== simulate
def simulate(mdp, policy, *, episodes, max_steps, seed=None):
    r"""Sample many episodes of a policy at once.

    Parameters
    ----------
    mdp : MDP
    policy : array_like
        Deterministic int (S,) or stochastic (S, A).
    episodes : int
        Number of episodes, each starting from :math:`s_0 \sim \mu`.
    max_steps : int
        An episode ends on entering a terminal state or after ``max_steps`` steps.
    seed : int, numpy.random.Generator or None

    Returns
    -------
    Trajectories
        ``states`` (episodes, max_steps + 1), ``actions`` and ``rewards``
        (episodes, max_steps), ``lengths`` and ``terminated`` (episodes,); entries past an
        episode's length are -1 (states, actions) or 0 (rewards).

    Raises
    ------
    MDPValidationError
        For a malformed policy.
    ValueError, TypeError
        For a non-positive or non-integer ``episodes`` or ``max_steps``, or a bad ``seed``.

    Notes
    -----
    Vectorized across episodes: each time step draws the actions of every running episode by
    inverse CDF on the policy's cumulative rows, and their next states by inverse CDF on the
    cumulative rows of the transition matrix (CSR, or the nonzeros of a dense P), each in one
    vectorized step (see the module notes); finished episodes drop out of the batch. There is
    no Python loop over episodes or states: about 4-5 million steps per second for
    10^5 episodes on a 1000-state MDP, 50-100x a per-step Python loop
    (``benchmarks/bench_sampling.py``). A deterministic policy consumes no random numbers for
    its actions.

    Examples
    --------
    Sutton & Barto (2018), Example 4.1: the equiprobable random policy on the 4x4 grid.

    >>> import numpy as np, mdptoolkit as mt
    >>> from mdptoolkit import envs
    >>> mdp = envs.sutton_barto_4x4().mdp
    >>> traj = mt.simulate(mdp, np.full((16, 4), 0.25), episodes=2000, max_steps=500, seed=0)
    >>> traj.states.shape, bool(traj.terminated.all())
    ((2000, 501), True)
    >>> bool(abs(traj.returns.mean() - mt.expected_return(mdp, np.full((16, 4), 0.25))) < 1)
    True
    """
    pi = val.as_policy_matrix(mdp, policy)
    episodes = _check_count(episodes, "episodes")
    max_steps = _check_count(max_steps, "max_steps")
    rng = val.default_rng(seed)
    model = _Model(mdp)
    states, actions, rewards, lengths = _rollout(model, _Policy(pi), episodes, max_steps, rng)
    T = actions.shape[0]
    out_s = np.full((episodes, max_steps + 1), -1, np.intp)
    out_a = np.full((episodes, max_steps), -1, np.intp)
    out_r = np.zeros((episodes, max_steps))
    out_s[:, :T + 1] = states.T
    out_a[:, :T] = actions.T
    out_r[:, :T] = rewards.T
    last = out_s[np.arange(episodes), lengths]
    return Trajectories(states=out_s, actions=out_a, rewards=out_r, lengths=lengths,
                        terminated=model.terminal[last].copy(), gamma=mdp.gamma)


# ====================================================================== evaluation
def _evaluation_chunks(model, policy, episodes, max_steps, rng):
    """Episodes in chunks of _TD_CHUNK, as Python lists per episode (for sequential updates)."""
    done = 0
    while done < episodes:
        m = min(_TD_CHUNK, episodes - done)
        states, actions, rewards, lengths = _rollout(model, policy, m, max_steps, rng)
        yield states, actions, rewards, lengths
        done += m


def td_evaluation(mdp, policy, *, episodes, alpha=0.1, max_steps=_DEFAULT_MAX_STEPS, seed=None,
                  V0=None):
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
        ``history["error"][k]`` is :math:`\max_s |V_{k+1}(s) - V^\pi(s)|` after episode k+1,
        over the states the policy reaches from :math:`\mu` (one entry per episode).

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
    ((1000,), True)
    """
    return _evaluate(mdp, policy, episodes=episodes, alpha=alpha, max_steps=max_steps, seed=seed,
                     V0=V0, method="td_evaluation")


def mc_evaluation(mdp, policy, *, episodes, alpha=None, first_visit=False,
                  max_steps=_DEFAULT_MAX_STEPS, seed=None, V0=None):
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
        As for :func:`td_evaluation` (one history entry per episode).

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
    errors = np.empty(episodes)
    reach = exact.reach
    V_true = exact.V
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
            errors[k] = np.abs(V - V_true)[reach].max()
            k += 1
    return EvaluationResult(V=V, error=float(errors[-1]), episodes=episodes, steps=steps,
                            method=method,
                            history={"episode": np.arange(1, episodes + 1), "error": errors})


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


# ====================================================================== control
def q_learning(mdp, *, episodes, max_steps=_DEFAULT_MAX_STEPS, alpha=0.1, epsilon=0.1, seed=None,
               Q0=None, eval_every=None):
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
        Record the exact ``J``, ``gap`` and ``q_error`` of the greedy policy every
        ``eval_every`` episodes (default ``max(1, episodes // 100)``; each costs one exact
        policy evaluation).

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


def sarsa(mdp, *, episodes, max_steps=_DEFAULT_MAX_STEPS, alpha=0.1, epsilon=0.1, seed=None,
          Q0=None, eval_every=None):
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


# ====================================================================== score-function weights
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


def _check_estimator(estimator):
    if estimator not in ESTIMATORS:
        raise ValueError(f"estimator must be one of {ESTIMATORS}; got {estimator!r}")
    return estimator


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


def gradient_estimates(mdp, param, theta, *, estimator="reinforce", n, seed=None,
                       max_steps=_DEFAULT_MAX_STEPS):
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
        ``dim = theta.size``, parameters flattened in C order (as ``exact_gradient(...)[1].ravel()``).

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
    estimator = _check_estimator(estimator)
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


def gradient_estimator_stats(mdp, param, theta, *, estimators=ESTIMATORS, n, seed=None,
                             max_steps=_DEFAULT_MAX_STEPS):
    r"""Mean, bias against :func:`~mdptoolkit.exact_gradient` and variance of gradient estimators.

    The measurement behind "a baseline or a critic reduces variance": every estimator is
    computed from the *same* ``n`` episodes (common random numbers), in chunks, so memory
    stays bounded for large ``n`` and large parameter vectors.

    Parameters
    ----------
    mdp, param, theta, n, seed, max_steps
        As in :func:`gradient_estimates`; with the same seed the estimates are the same rows.
    estimators : sequence of str, default all of :data:`ESTIMATORS`

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
    estimators = tuple(_check_estimator(e) for e in estimators)
    if not estimators:
        raise ValueError("estimators must name at least one estimator; got none")
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


# ====================================================================== policy search
def reinforce(mdp, *, param=None, lr, episodes, theta0=None, baseline=None, baseline_lr=0.1,
              batch=1, max_steps=_DEFAULT_MAX_STEPS, seed=None, eval_every=None):
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
    lr : float > 0
        Step size of the parameters.
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
        and at the end.

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
        raise ValueError(f"baseline must be None, 'value' or 'mean'; got {baseline!r}")
    baseline_lr = val.check_positive(baseline_lr, "baseline_lr")
    if baseline_lr > 1:
        raise ValueError(f"baseline_lr must be in (0, 1]; got {baseline_lr!r}")
    batch = _check_count(batch, "batch")
    episodes = _check_count(episodes, "episodes")
    if episodes % batch:
        raise ValueError(f"episodes must be a multiple of batch={batch}; got {episodes}")
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


def sampled_actor_critic(mdp, *, param=None, actor_lr, critic_lr, episodes, theta0=None, w0=None,
                         max_steps=_DEFAULT_MAX_STEPS, seed=None, eval_every=None):
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
    actor_lr : float > 0
    critic_lr : float in (0, 1]
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
        raise ValueError(f"critic_lr must be in (0, 1]; got {critic_lr!r}")
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
