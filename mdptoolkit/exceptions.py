"""Exceptions and warnings raised by mdptoolkit."""

__all__ = ["MDPValidationError", "ImproperPolicyError", "ConvergenceWarning"]


class MDPValidationError(ValueError):
    """An MDP, a policy or a value array does not satisfy its definition.

    The message names what was wrong and where, e.g.
    ``"row P[3, 1, :] sums to 0.97, expected 1 (rtol=1e-09); 2 rows are bad"``.

    Examples
    --------
    >>> import numpy as np, mdptoolkit as mt
    >>> try:
    ...     mt.MDP(np.full((1, 1, 1), 0.5), np.zeros((1, 1)), 0.9)
    ... except mt.MDPValidationError as e:
    ...     print(e)
    row P[0, 0, :] sums to 0.5, expected 1 (rtol=1e-09); 1 of 1 allowed rows is bad
    """


class ImproperPolicyError(ValueError):
    """With ``gamma == 1`` a policy does not reach a terminal state with probability 1.

    Its value is then undefined (or infinite), so evaluation refuses it and names a state
    from which no terminal state can be reached.

    Examples
    --------
    >>> import numpy as np, mdptoolkit as mt
    >>> P = np.zeros((2, 2, 2)); P[0, 0, 0] = P[0, 1, 1] = P[1, :, 1] = 1
    >>> mdp = mt.MDP(P, -np.ones((2, 2)), 1.0, terminal=[False, True])
    >>> try:
    ...     mt.evaluate_policy(mdp, np.array([0, 0]))
    ... except mt.ImproperPolicyError as e:
    ...     print(e)  # doctest: +ELLIPSIS
    policy is improper: state 0 never reaches a terminal state ...
    """


class ConvergenceWarning(UserWarning):
    """An iterative method stopped at ``max_iter`` (or stalled) before its tolerance held."""
