r"""The dynamic-programming solvers, and :func:`solve`, which dispatches to them by name.

=================================  ==========================================================
module                             solver
=================================  ==========================================================
:mod:`.value_iteration`            :func:`value_iteration` (Jacobi or Gauss–Seidel, span rule)
:mod:`.policy_iteration`           :func:`policy_iteration` (Howard; exact)
:mod:`.modified_policy_iteration`  :func:`modified_policy_iteration`
:mod:`.linear_programming`         :func:`linear_programming` (HiGHS; dual = occupancy)
:mod:`.finite_horizon`             :func:`backward_induction`
:mod:`.average_reward`             :func:`relative_value_iteration` (gain and bias)
:mod:`.soft_value_iteration`       :func:`soft_value_iteration` (KL/entropy-regularized)
=================================  ==========================================================

Every solver is a function ``solver(mdp, *, options) -> SolverResult``; a new one goes in its
own module here and into :data:`SOLVERS`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..mdp import MDP
from ..result import SolverResult
from .average_reward import relative_value_iteration
from .finite_horizon import backward_induction
from .linear_programming import linear_programming
from .modified_policy_iteration import modified_policy_iteration
from .policy_iteration import policy_iteration
from .soft_value_iteration import soft_value_iteration
from .value_iteration import value_iteration

__all__ = ["value_iteration", "policy_iteration", "modified_policy_iteration",
           "linear_programming", "backward_induction", "relative_value_iteration",
           "soft_value_iteration", "solve", "SOLVERS"]

#: The registry behind :func:`solve`: one canonical name per method.
SOLVERS: dict[str, Callable[..., SolverResult]] = {
    f.__name__: f for f in (value_iteration, policy_iteration, modified_policy_iteration,
                            linear_programming, backward_induction, relative_value_iteration,
                            soft_value_iteration)}


def solve(mdp: MDP, method: str = "policy_iteration", **options: Any) -> SolverResult:
    """Solve an MDP with the solver named ``method``; ``options`` go to that solver.

    Parameters
    ----------
    mdp : MDP
    method : str
        One of ``"value_iteration"``, ``"policy_iteration"``, ``"modified_policy_iteration"``,
        ``"linear_programming"``, ``"backward_induction"``, ``"relative_value_iteration"``,
        ``"soft_value_iteration"``.
    **options
        Keyword arguments of the solver (``horizon`` for backward induction, ``beta`` for
        soft value iteration, ...).

    Returns
    -------
    SolverResult

    Examples
    --------
    >>> import numpy as np, mdptoolkit as mt
    >>> mdp = mt.MDP(np.ones((1, 2, 1)), [[1.0, 2.0]], 0.5)
    >>> mt.solve(mdp, method="linear_programming").V
    array([4.])
    >>> mt.solve(mdp, method="simplex")
    Traceback (most recent call last):
    ...
    ValueError: method must be one of 'backward_induction', 'linear_programming',
    'modified_policy_iteration', 'policy_iteration', 'relative_value_iteration',
    'soft_value_iteration', 'value_iteration'; got 'simplex'
    """
    if method not in SOLVERS:
        valid = ", ".join(repr(name) for name in sorted(SOLVERS))
        raise ValueError(f"method must be one of {valid}; got {method!r}")
    return SOLVERS[method](mdp, **options)
