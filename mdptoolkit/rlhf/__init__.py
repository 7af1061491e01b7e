r"""RL fine-tuning of language models, computed exactly on a
:class:`~mdptoolkit.language.LanguageMDP`.

The language MDP seen one sequence at a time: ``lm.sequences`` (the N complete sequences,
index i), ``lm.rewards`` (N,) (the gold reward :math:`r(y)`) and
``lm.sequence_probability_array(policy)`` (:math:`p_\pi`, shape (N,)); :math:`p_{ref}` is the
reference model's sequence distribution. The objective of RL fine-tuning is

.. math::

    J_\beta(\pi) = \mathbb E_{y \sim p_\pi}[r(y)] - \beta\,\mathrm{KL}(p_\pi \,\|\, p_{ref}),

whose exact maximizer is :math:`p^*(y) \propto p_{ref}(y)\, e^{r(y)/\beta}`.
"""

from .objective import kl, measure, optimal_policy, optimum
from .preferences import Preferences, sample_preferences
from .reward_model import RewardModelResult, fit_reward_model
from .dpo import preference_optimization
from .best_of_n import BestOfNResult, best_of_n
from .overoptimization import OveroptimizationResult, gao_bon, gao_rl, overoptimization
from .estimators import gradient_estimates, kl_estimates
from .group_relative import grpo
from .onpolicy import reinforce, rloo
from .proximal import ppo

__all__ = []
__all__ += ["kl", "optimal_policy", "measure", "optimum"]
__all__ += ["Preferences", "sample_preferences", "RewardModelResult", "fit_reward_model"]
__all__ += ["preference_optimization", "BestOfNResult", "best_of_n", "OveroptimizationResult",
            "overoptimization", "gao_bon", "gao_rl"]
__all__ += ["reinforce", "rloo", "grpo", "ppo", "gradient_estimates", "kl_estimates"]
