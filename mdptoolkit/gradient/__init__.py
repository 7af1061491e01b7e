r"""Exact policy gradients, natural policy gradient and expected actor-critic.

A parametrization maps :math:`\theta` to logits :math:`z_\theta(s, a)` and the policy
:math:`\pi_\theta(a|s) \propto \exp z_\theta(s, a)` over the allowed actions. For the
(regularized) objective :math:`J_\beta(\theta) = \mu^\top V^{\pi_\theta}_\beta` the policy
gradient theorem (Sutton et al. 2000; with the KL term e.g. Geist et al. 2019) gives

.. math::

    \nabla J_\beta = \sum_{s,a} d^\pi(s)\, \pi(a|s)\, A_\beta(s, a)\, \nabla_\theta \log \pi(a|s),
    \qquad A_\beta(s,a) = Q^\pi_\beta(s,a) - \beta \log\frac{\pi(a|s)}{\pi_{ref}(a|s)}
    - V^\pi_\beta(s),

with the unnormalized discounted occupancy :math:`d^\pi` of :func:`~mdptoolkit.occupancy`.
Because :math:`\nabla \log \pi(a|s) = \nabla z(s,a) - \sum_b \pi(b|s) \nabla z(s,b)`, the gradient
is the vector–Jacobian product of the logits with the *centred* weights
:math:`w(s,a) = d(s)\pi(a|s)(A(s,a) - \sum_b \pi(b|s) A(s,b))`. For
:class:`TabularSoftmax` this is :math:`\partial J / \partial\theta_{s,a} = d(s)\pi(a|s)A(s,a)`
(Agarwal et al. 2021, Lemma C.1). Everything is computed exactly — one policy evaluation and
one occupancy solve, linear time on acyclic MDPs such as the language MDP.

Modules: :mod:`.parametrizations` (:class:`TabularSoftmax`, :class:`LogLinear`), :mod:`.exact`
(:func:`exact_gradient`), :mod:`.methods` (:func:`policy_gradient`, :func:`actor_critic`), and
the matrix-free path for prefix trees (:mod:`._prefix_tree`, compiled loops in :mod:`._fused`).
"""

from __future__ import annotations

from .exact import exact_gradient
from .methods import actor_critic, policy_gradient
from .parametrizations import LogLinear, TabularSoftmax

__all__ = ["TabularSoftmax", "LogLinear", "exact_gradient", "policy_gradient", "actor_critic"]
