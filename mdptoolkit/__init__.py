r"""mdptoolkit: finite Markov decision processes for teaching and for checking RL theory.

Notation, used by every docstring in the package:

==========================  ==================================================================
symbol                      meaning
==========================  ==================================================================
:math:`S`, :math:`A`        numbers of states and actions; states ``0..S-1``, actions ``0..A-1``
:math:`P(s' \mid s, a)`     transition probability, ``P[s, a, s2]``
:math:`R(s, a)`             expected immediate reward, ``R[s, a]``
:math:`\gamma`              discount factor in [0, 1]
:math:`\mu`                 initial-state distribution
:math:`\pi(a \mid s)`       policy: int array (S,) (deterministic) or float array (S, A)
:math:`V^\pi, Q^\pi`        value and action value of :math:`\pi`
:math:`V^*`, :math:`Q^*`    optimal values
:math:`d^\pi(s)`            discounted occupancy :math:`\sum_t \gamma^t \Pr(s_t = s)`,
                            :math:`s_0 \sim \mu`
:math:`T`                   Bellman optimality operator,
                            :math:`(TV)(s) = \max_a R(s,a) + \gamma \sum_{s'} P(s'|s,a) V(s')`
:math:`T^\pi`               Bellman expectation operator of :math:`\pi`
:math:`\beta`               temperature of the KL/entropy-regularized ("soft") objective
==========================  ==================================================================

Examples
--------
>>> import mdptoolkit as mt
>>> import numpy as np
>>> P = np.zeros((2, 2, 2)); P[0, 0] = [0.5, 0.5]; P[0, 1] = [0, 1]; P[1, :] = [0, 1]
>>> mdp = mt.MDP(P, [[5.0, 10.0], [-1.0, -1.0]], 0.95)
>>> result = mt.value_iteration(mdp, tol=1e-10)
>>> np.round(result.V, 4), result.policy
(array([ -8.5714, -20.    ]), array([0, 0]))
"""

from .compare import Comparison, compare
from .evaluation import evaluate_policy, evaluate_q, expected_return, occupancy
from .exceptions import ConvergenceWarning, ImproperPolicyError, MDPValidationError
from .gradient import LogLinear, TabularSoftmax, actor_critic, exact_gradient, policy_gradient
from .mdp import MDP
from .operators import (bellman_expectation, bellman_optimality, greedy_policy, optimal_actions,
                        q_values, soft_bellman_optimality, softmax_policy)
from .result import GradientResult, SolverResult
from .sampling import (ControlResult, EstimatorStats, EvaluationResult, PolicySearchResult,
                       Trajectories, gradient_estimates, gradient_estimator_stats, mc_evaluation,
                       q_learning, reinforce, sampled_actor_critic, sarsa, simulate, td_evaluation)
from .solvers import (backward_induction, linear_programming, modified_policy_iteration,
                      policy_iteration, relative_value_iteration, soft_value_iteration, solve,
                      value_iteration)

from . import envs, language, plot, rlhf, testing  # noqa: E402  (after the core names they build on)

__version__ = "0.1.0"

__all__ = [
    "MDP",
    "MDPValidationError",
    "ImproperPolicyError",
    "ConvergenceWarning",
    "q_values",
    "bellman_optimality",
    "bellman_expectation",
    "greedy_policy",
    "optimal_actions",
    "soft_bellman_optimality",
    "softmax_policy",
    "evaluate_policy",
    "evaluate_q",
    "occupancy",
    "expected_return",
    "SolverResult",
    "value_iteration",
    "policy_iteration",
    "modified_policy_iteration",
    "linear_programming",
    "backward_induction",
    "relative_value_iteration",
    "soft_value_iteration",
    "solve",
    "TabularSoftmax",
    "LogLinear",
    "exact_gradient",
    "policy_gradient",
    "actor_critic",
    "GradientResult",
    "simulate",
    "td_evaluation",
    "mc_evaluation",
    "q_learning",
    "sarsa",
    "reinforce",
    "sampled_actor_critic",
    "gradient_estimates",
    "gradient_estimator_stats",
    "Trajectories",
    "EvaluationResult",
    "ControlResult",
    "PolicySearchResult",
    "EstimatorStats",
    "compare",
    "Comparison",
    "envs",
    "language",
    "plot",
    "testing",
    "rlhf",
    "__version__",
]
