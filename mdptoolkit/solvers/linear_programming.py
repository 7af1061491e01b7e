r"""The linear-programming formulation (Puterman 2005, §6.9), solved with HiGHS.

Primal, with positive state weights :math:`w` (uniform, so that every state is pinned down):

.. math::

    \min_V \; w^\top V \quad \text{s.t.} \quad
    V(s) \ge R(s, a) + \gamma \sum_{s'} P(s' \mid s, a) V(s') \;\; \text{for every allowed } (s, a),

with :math:`V = 0` at terminal states. Its optimum is :math:`V^*`. The dual with weights
:math:`\mu`, :math:`\max_x \sum x(s,a) R(s,a)` subject to
:math:`\sum_a x(s',a) - \gamma \sum_{s,a} P(s'|s,a) x(s,a) = \mu(s')`, :math:`x \ge 0`, is solved
by the discounted state–action occupancy measure of an optimal policy.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import scipy.sparse as sp

from .. import _validation as val
from ..evaluation.policy import occupancy as state_occupancy
from ..exceptions import ConvergenceWarning
from ..mdp import MDP
from ..operators import greedy_policy
from ..result import MESSAGES, SolverResult
from ._common import check_rewards
from .policy_iteration import policy_iteration

__all__ = ["linear_programming"]


def linear_programming(mdp: MDP, *, options: dict[str, Any] | None = None) -> SolverResult:
    r"""Solve the MDP as a linear program with ``scipy.optimize.linprog`` (HiGHS).

    Parameters
    ----------
    mdp : MDP
        Dense or sparse; the constraint matrix is built sparse either way.
    options : dict, optional
        Passed to ``linprog(..., method="highs", options=options)``. An option HiGHS does not
        know is refused (:class:`MDPValidationError` naming it and listing the valid ones),
        not just warned about.

    Returns
    -------
    SolverResult
        ``occupancy`` is the (S, A) discounted state–action occupancy
        :math:`x(s, a) = d^\pi(s)\pi(a|s)` of the returned optimal policy under ``mdp.mu`` — an
        optimal solution of the dual LP above. ``iterations`` is 1 (one LP solve; the message
        gives HiGHS's iteration count) and ``history`` has one entry per iteration (one).

    Raises
    ------
    MDPValidationError
        For an unknown option, or when the values overflow float64.

    Notes
    -----
    HiGHS solves to a feasibility tolerance of about 1e-7, so the LP's values are used only to
    pick the greedy policy; that policy is then evaluated exactly and polished by Howard
    improvement steps until stable, so ``V`` is exact (as in :func:`policy_iteration`).

    Examples
    --------
    >>> import numpy as np, mdptoolkit as mt
    >>> P = np.zeros((2, 2, 2)); P[0, 0] = [0.5, 0.5]; P[0, 1] = [0, 1]; P[1, :] = [0, 1]
    >>> mdp = mt.MDP(P, [[5.0, 10.0], [-1.0, -1.0]], 0.95, mu=[1.0, 0.0])
    >>> result = mt.linear_programming(mdp)
    >>> np.round(result.V, 6), np.round(result.occupancy, 4)
    (array([ -8.571429, -20.      ]), array([[ 1.9048,  0.    ],
           [18.0952,  0.    ]]))
    """
    from scipy.optimize import OptimizeWarning, linprog  # here: the import takes 0.25 s

    options = _check_options(options)
    check_rewards(mdp)
    S = mdp.n_states
    gamma = mdp.gamma
    rows = np.flatnonzero((mdp.allowed & ~mdp.terminal[:, None]).T.reshape(-1))  # action-major
    op = sp.csr_array(mdp._op)[rows]
    E = sp.csr_array((np.ones(rows.size), (np.arange(rows.size), rows % S)), shape=(rows.size, S))
    A_ub = (gamma * op - E).tocsr()
    b_ub = -mdp._R_am.reshape(-1)[rows]
    bounds = np.where(mdp.terminal[:, None], 0.0, [-np.inf, np.inf])
    with warnings.catch_warnings():
        # an option SciPy does not know is an error here, never a warning and a default run
        warnings.filterwarnings("error", message="Unrecognized options", category=OptimizeWarning)
        try:
            res = linprog(np.ones(S), A_ub=A_ub, b_ub=b_ub, bounds=bounds, method="highs",
                          options=options)
        except OptimizeWarning as warning:
            raise val.MDPValidationError(f"options must be HiGHS options of scipy's linprog; "
                                         f"got {warning} in options={options!r}") from None
    if res.status != 0 or res.x is None:
        # never a NaN answer: say so, and solve exactly by policy iteration instead
        message = MESSAGES["lp_failed"].format(status=res.status, detail=res.message)
        warnings.warn(message + "; falling back to policy iteration", ConvergenceWarning,
                      stacklevel=2)
        polished = policy_iteration(mdp)
        x = (state_occupancy(mdp, polished.policy)[:, None]
             * val.as_policy_matrix(mdp, polished.policy))
        return SolverResult(V=polished.V, Q=polished.Q, policy=polished.policy, iterations=1,
                            converged=False, method="linear_programming",
                            message=message + "; the result is policy iteration's",
                            history={"objective": np.array([np.nan]),
                                     "lp_max_error": np.array([np.nan])},
                            error_bound=polished.error_bound, occupancy=x)
    polished = policy_iteration(mdp, policy0=greedy_policy(mdp, res.x))
    pi = val.as_policy_matrix(mdp, polished.policy)
    x = state_occupancy(mdp, polished.policy)[:, None] * pi
    detail = f"{res.message.rstrip('.')}; {res.nit} simplex iterations"
    if polished.iterations > 1:
        detail += f"; {polished.iterations - 1} polishing improvement step(s)"
    return SolverResult(V=polished.V, Q=polished.Q, policy=polished.policy,
                        iterations=1, converged=polished.converged,
                        method="linear_programming",
                        message=MESSAGES["lp"].format(status=res.status, detail=detail),
                        history={"objective": np.array([res.fun]),
                                 "lp_max_error": np.array([np.abs(res.x - polished.V).max()])},
                        error_bound=polished.error_bound, occupancy=x)


def highs_options() -> list[str] | None:
    """The option names ``linprog(method="highs")`` accepts, from SciPy's own signature;
    None when this SciPy does not expose them (the run then refuses unknown ones itself)."""
    import inspect

    try:
        from scipy.optimize._linprog_highs import _linprog_highs
    except ImportError:  # pragma: no cover - a SciPy that moved it
        return None
    params = inspect.signature(_linprog_highs).parameters.values()
    return [p.name for p in params
            if p.kind is p.POSITIONAL_OR_KEYWORD and p.default is not p.empty]


def _check_options(options: dict[str, Any] | None) -> dict[str, Any] | None:
    if options is None:
        return None
    if not isinstance(options, dict):
        raise TypeError(f"options must be a dict of HiGHS options; got {type(options).__name__}")
    valid = highs_options()
    if valid is None:
        return options  # this SciPy does not list them: HiGHS refuses unknown ones itself
    unknown = [name for name in options if name not in valid]
    if unknown:
        raise val.MDPValidationError(
            f"options must name HiGHS options of scipy's linprog; got unknown "
            f"{', '.join(map(repr, unknown))} in options (valid: {', '.join(valid)})")
    return options
