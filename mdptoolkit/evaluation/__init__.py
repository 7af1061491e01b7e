r"""Exact policy evaluation: values, action values, occupancy and expected return.

For a policy :math:`\pi` let :math:`P_\pi(s, s') = \sum_a \pi(a|s) P(s'|s, a)` and
:math:`R_\pi(s) = \sum_a \pi(a|s) R(s, a)`. Then

.. math::

    (I - \gamma P_\pi) V^\pi = R_\pi, \qquad
    (I - \gamma P_\pi)^\top d^\pi = \mu, \qquad J(\pi) = \mu^\top V^\pi = (d^\pi)^\top R_\pi .

Terminal states are removed from both systems (their value and occupancy are 0). The direct
method chooses its solver from the chain's structure:

- acyclic chain (every strongly connected component a single state, as in finite trees,
  finite-horizon unrollings and language MDPs): a triangular back substitution in topological
  order, linear in the number of transitions;
- sparse MDP: a sparse LU factorization (SuperLU);
- dense MDP: a dense LAPACK solve.

With :math:`\gamma = 1` the system is nonsingular exactly when every non-terminal state reaches a
terminal state with positive probability, i.e. when the policy is *proper*; otherwise
:class:`~mdptoolkit.ImproperPolicyError` names a state that never does. The regularized
objective with temperature :math:`\beta > 0` uses
:math:`R^\beta_\pi(s) = R_\pi(s) - \beta\, \mathrm{KL}(\pi(\cdot|s) \,\|\, \pi_{ref}(\cdot|s))`.
"""

from __future__ import annotations

from .policy import evaluate_policy, evaluate_q, expected_return, occupancy

__all__ = ["evaluate_policy", "evaluate_q", "occupancy", "expected_return"]
