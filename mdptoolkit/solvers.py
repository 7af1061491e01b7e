"""The registry behind :func:`mdptoolkit.solve`: one canonical name per method."""

from .average import relative_value_iteration
from .dp import modified_policy_iteration, policy_iteration, value_iteration
from .horizon import backward_induction
from .lp import linear_programming
from .soft import soft_value_iteration

SOLVERS = {f.__name__: f for f in (value_iteration, policy_iteration, modified_policy_iteration,
                                   linear_programming, backward_induction,
                                   relative_value_iteration, soft_value_iteration)}
