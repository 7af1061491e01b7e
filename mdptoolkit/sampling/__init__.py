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

Histories follow one rule: entry k describes the learner after ``history["episode"][k]``
episodes, and entry 0 is the start (episode 0). Evaluation records every episode
(``episodes + 1`` entries); control and policy search every ``eval_every`` episodes and at the
end (``episodes + 1`` entries with ``eval_every=1``). Histories are measured against exact
quantities computed with the package's linear solvers:
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

Modules: :mod:`.simulate`, :mod:`.evaluation` (TD, Monte Carlo), :mod:`.control` (Q-learning,
Sarsa), :mod:`.estimators` (single-episode gradient estimates), :mod:`.policy_search`
(REINFORCE, sampled actor-critic), their results in :mod:`.results`; the batched rollouts in
:mod:`._rollout` and the exact references in :mod:`._exact`.
"""

from __future__ import annotations

from .control import q_learning, sarsa
from .estimators import ESTIMATORS, gradient_estimates, gradient_estimator_stats
from .evaluation import mc_evaluation, td_evaluation
from .policy_search import reinforce, sampled_actor_critic
from .results import (ControlResult, EstimatorStats, EvaluationResult, PolicySearchResult,
                      Trajectories)
from .simulate import simulate

__all__ = ["simulate", "td_evaluation", "mc_evaluation", "q_learning", "sarsa", "reinforce",
           "sampled_actor_critic", "gradient_estimates", "gradient_estimator_stats",
           "Trajectories", "EvaluationResult", "ControlResult", "PolicySearchResult",
           "EstimatorStats", "ESTIMATORS"]
