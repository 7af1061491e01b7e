"""What the sampling-based learners return: frozen results with read-only arrays and a history."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

import numpy as np

from .._typing import FloatArray
from ..result import FrozenArrays, GapToOptimum, _describe


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
    def episodes(self) -> int:
        """Number of episodes."""
        return self.lengths.shape[0]

    @property
    def max_steps(self) -> int:
        """The step limit the episodes were sampled with."""
        return self.actions.shape[1]

    @property
    def returns(self) -> FloatArray:
        r"""Discounted return :math:`\sum_t \gamma^t r_t` of each episode (episodes,)."""
        return self.rewards @ (self.gamma ** np.arange(self.max_steps))

    def __repr__(self) -> str:
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
        ``episode`` (0, 1, ..., episodes) and ``error``: :math:`\max_s |V_k(s) - V^\pi(s)|`
        after k episodes (entry 0: the start ``V0``), ``episodes + 1`` entries.
    """

    V: np.ndarray
    error: float
    episodes: int
    steps: int
    method: str
    history: Mapping[str, np.ndarray] = field(default_factory=dict)

    _arrays = ("V",)

    def __repr__(self) -> str:
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

    def __repr__(self) -> str:
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

    def __repr__(self) -> str:
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
        One of ``mdptoolkit.sampling.ESTIMATORS``: "reinforce", "baseline", "actor_critic".
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
    def max_z(self) -> float:
        r""":math:`\max_i |\text{bias}_i| / \text{se}_i` over coordinates with se > 0.

        For an unbiased estimator and coordinates with many nonzero samples it stays near
        :math:`\sqrt{2 \log \dim}`; coordinates of rarely visited states have heavy-tailed
        estimates and unreliable standard errors, so judge those by their visit counts."""
        se = self.standard_error
        ok = se > 0
        return float((np.abs(self.bias[ok]) / se[ok]).max()) if ok.any() else 0.0

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(estimator={self.estimator!r}, n={self.n}, "
                f"total_variance={self.total_variance:.4g}, "
                f"|bias|={np.linalg.norm(self.bias):.3g}, "
                f"max |bias|/se={self.max_z:.3g})")
