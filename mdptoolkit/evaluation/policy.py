r"""The public evaluation functions: :math:`V^\pi`, :math:`Q^\pi`, :math:`d^\pi`, :math:`J(\pi)`."""

from __future__ import annotations

from typing import Literal

import numpy as np

from .. import _validation as val
from .._typing import ArrayLike, FloatArray, Policy
from ..mdp import MDP
from ..operators import q_values
from .chain import (check_finite_values, check_proper, check_value_range, policy_chain,
                    policy_reward, regularized_reward)
from .structure import layers_of
from .linear import solve_chain, solve_values, _restrict
from .sweeps import _evaluate_iterative


# ---------------------------------------------------------------------- public functions
def evaluate_policy(mdp: MDP, policy: Policy, *,
                    method: Literal["direct", "iterative"] = "direct", tol: float = 1e-10,
                    max_iter: int | None = None, beta: float = 0.0,
                    reference: ArrayLike | None = None) -> FloatArray:
    r"""Value :math:`V^\pi` of a policy, exactly or iteratively.

    Parameters
    ----------
    mdp : MDP
    policy : array_like
        Deterministic int (S,) or stochastic (S, A).
    method : {"direct", "iterative"}
        ``"direct"`` solves :math:`(I - \gamma P_\pi) V = R_\pi` (triangular back substitution
        for acyclic chains, sparse LU for sparse MDPs, dense LAPACK otherwise).
        ``"iterative"`` applies :math:`T^\pi` until the a-posteriori bound below is under ``tol``.
    tol : float
        Iterative method only. For :math:`\gamma < 1` the returned V satisfies
        :math:`\max_s |V(s) - V^\pi(s)| \le` ``tol`` (span bound with the MacQueen midpoint, as in
        :func:`value_iteration`); for :math:`\gamma = 1` ``tol`` bounds the residual
        :math:`\max_s |T^\pi V - V|`.
    max_iter : int, optional
        Iterative method only; default the a-priori count that suffices for :math:`\gamma < 1`
        (100 000 when :math:`\gamma = 1`). A :class:`ConvergenceWarning` is issued when reached.
    beta : float
        Temperature of the regularized objective (0: the plain return).
    reference : array_like (S, A), optional
        Reference policy of the regularization; default uniform over allowed actions.

    Returns
    -------
    V : ndarray (S,)

    Raises
    ------
    ImproperPolicyError
        With :math:`\gamma = 1`, when some state never reaches a terminal state under the policy
        (both methods).
    MDPValidationError
        For a malformed policy, or one that puts mass where the reference has none (beta > 0),
        or when the values overflow float64 (:math:`\max|R_\pi|/(1-\gamma)` beyond ~1e307,
        checked before solving, or a non-finite result).

    Examples
    --------
    Sutton & Barto (2018), Example 4.1: on the 4x4 grid the equiprobable random policy has value
    -14 next to the terminal corners.

    >>> import numpy as np, mdptoolkit as mt
    >>> S, A = 16, 4
    >>> moves = [(-1, 0), (1, 0), (0, -1), (0, 1)]
    >>> P = np.zeros((S, A, S))
    >>> for s in range(S):
    ...     r, c = divmod(s, 4)
    ...     for a, (dr, dc) in enumerate(moves):
    ...         r2, c2 = min(max(r + dr, 0), 3), min(max(c + dc, 0), 3)
    ...         P[s, a, 4 * r2 + c2] = 1
    >>> terminal = np.zeros(S, bool); terminal[[0, 15]] = True
    >>> mdp = mt.MDP(P, -np.ones((S, A)), 1.0, terminal=terminal)
    >>> V = mt.evaluate_policy(mdp, np.full((S, A), 0.25))
    >>> np.round(V.reshape(4, 4))
    array([[  0., -14., -20., -22.],
           [-14., -18., -20., -20.],
           [-20., -20., -18., -14.],
           [-22., -20., -14.,   0.]])
    """
    pi = val.as_policy_matrix(mdp, policy)
    if method not in ("direct", "iterative"):
        raise ValueError(f"method must be 'direct' or 'iterative'; got {method!r}")
    gamma = mdp.gamma
    layers = layers_of(mdp) if method == "direct" else None
    if layers is not None:
        R_pi = regularized_reward(mdp, pi, policy_reward(mdp, pi), beta, reference)
        check_value_range(R_pi, gamma, "R_pi")
        V = layers.values(pi, R_pi, gamma)
    else:
        P_pi, R_pi = policy_chain(mdp, pi)
        R_pi = regularized_reward(mdp, pi, R_pi, beta, reference)
        check_value_range(R_pi, gamma, "R_pi")
        if gamma == 1.0:
            check_proper(mdp, P_pi)
        if method == "iterative":
            V = _evaluate_iterative(mdp, P_pi, R_pi, tol, max_iter)
        else:
            V = solve_values(mdp, P_pi, R_pi)
    check_finite_values(V, "evaluate_policy")
    return V


def evaluate_q(mdp: MDP, policy: Policy, *, beta: float = 0.0,
               reference: ArrayLike | None = None) -> FloatArray:
    r"""Action values :math:`Q^\pi(s, a) = R(s, a) + \gamma \sum_{s'} P(s'|s,a) V^\pi(s')`.

    With ``beta > 0`` this is the soft action value: the KL term of a state is charged in
    :math:`V^\pi(s) = \sum_a \pi(a|s) (Q^\pi(s,a) - \beta \log(\pi(a|s)/\pi_{ref}(a|s)))`.
    Disallowed actions get ``-inf``.

    Examples
    --------
    >>> import numpy as np, mdptoolkit as mt
    >>> mdp = mt.MDP(np.ones((1, 2, 1)), [[1.0, 2.0]], 0.5)
    >>> mt.evaluate_q(mdp, np.array([1]))  # V = 2 / (1 - 0.5) = 4
    array([[3., 4.]])
    """
    V = evaluate_policy(mdp, policy, beta=beta, reference=reference)
    return q_values(mdp, V)


def occupancy(mdp: MDP, policy: Policy) -> FloatArray:
    r"""Discounted state occupancy :math:`d^\pi(s) = \sum_t \gamma^t \Pr(s_t = s)`.

    The start state is drawn from :math:`\mu`, :math:`s_0 \sim \mu`. Unnormalized (it sums to
    :math:`1/(1-\gamma)` without terminal states); with :math:`\gamma = 1` it is the expected
    number of visits. Terminal states get 0.

    Raises
    ------
    ImproperPolicyError
        With :math:`\gamma = 1` and an improper policy.

    Examples
    --------
    >>> import numpy as np, mdptoolkit as mt
    >>> mdp = mt.MDP(np.ones((1, 1, 1)), [[1.0]], 0.5)
    >>> mt.occupancy(mdp, np.array([0]))
    array([2.])
    """
    pi = val.as_policy_matrix(mdp, policy)
    layers = layers_of(mdp)
    if layers is not None:
        return layers.occupancy(pi, mdp.mu, mdp.gamma)
    P_pi, _ = policy_chain(mdp, pi)
    if mdp.gamma == 1.0:
        check_proper(mdp, P_pi)
    N = np.flatnonzero(~mdp.terminal)
    d = np.zeros(mdp.n_states)
    d[N] = solve_chain(_restrict(P_pi, N), mdp.mu[N], mdp.gamma, transpose=True)
    return d


def expected_return(mdp: MDP, policy: Policy, *, beta: float = 0.0,
                    reference: ArrayLike | None = None) -> float:
    r"""Expected return :math:`J(\pi) = \mu^\top V^\pi` (regularized if ``beta > 0``).

    Examples
    --------
    >>> import numpy as np, mdptoolkit as mt
    >>> mdp = mt.MDP(np.ones((1, 2, 1)), [[1.0, 2.0]], 0.5)
    >>> float(mt.expected_return(mdp, np.array([1])))
    4.0
    """
    V = evaluate_policy(mdp, policy, beta=beta, reference=reference)
    return float(mdp.mu @ V)
