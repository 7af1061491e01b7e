r"""Hypothesis strategies for random finite MDPs and policies.

This is the only module of mdptoolkit that imports hypothesis. :func:`mdps` draws valid
:class:`~mdptoolkit.MDP` objects, :func:`policies` draws deterministic or stochastic policies of a
given MDP. Every array is drawn through hypothesis (no hidden random seed), so failing examples
shrink towards small, simple MDPs: one state, one action, self-loops, zero rewards.

What a drawn MDP guarantees
---------------------------
- It passes :class:`~mdptoolkit.MDP` validation: every allowed row of :math:`P` sums to 1, every
  state has at least one allowed action, and :math:`R` at allowed actions lies in
  ``[-reward_bound, reward_bound]``. Terminal states absorb with reward 0.
- ``with_allowed=True``: disallowed actions are *adversarial*. Their rows of P are all zero and
  their reward is the tempting ``100 * reward_bound``, so a solver that forgets the mask picks them
  (and gets a visibly wrong answer) on most examples.
- Terminal states (``with_terminal=True``, or always when :math:`\gamma = 1`): at least one state is
  terminal, and from every non-terminal state an action reaches a terminal state in one step with
  probability at least ``eps`` (0.1 when well conditioned, 0.001 otherwise); with
  ``proper="all"`` this holds for *every* allowed action, so every policy is proper (reaches a
  terminal state with probability 1) and :math:`|V^\pi| \le \text{reward\_bound} / \text{eps}` even
  at :math:`\gamma = 1`. With ``proper="optimal"`` it holds for one allowed action per state only;
  the other actions may cycle forever, but every non-terminal reward lies in
  ``[-reward_bound, -reward_bound / 10]``, so every improper policy has value :math:`-\infty` from
  some state and the optimal policy is proper (the stochastic-shortest-path assumptions of
  Bertsekas & Tsitsiklis 1991). The structure does not depend on :math:`\gamma`: an MDP drawn with
  terminal states stays episodic after ``mdp.replace(gamma=1.0)``.
- ``well_conditioned=True`` (default): probabilities are ratios of small integers, so every
  nonzero probability is at least :math:`1 / (100 S)`; the default :math:`\gamma` is at most 0.95,
  so :math:`|V^\pi| \le 20\,\text{reward\_bound}` and even the sup-norm a-priori bound of value
  iteration asks for at most a few hundred sweeps. ``well_conditioned=False`` draws arbitrary
  float weights (probabilities down to about 1e-308, near-ties between actions), terminal
  probabilities down to 0.001 and a default :math:`\gamma` up to 0.999.

References
----------
Bertsekas, D. P. and Tsitsiklis, J. N. (1991). An analysis of stochastic shortest path problems.
Mathematics of Operations Research 16(3), 580-595.

Examples
--------
Episodic MDPs (every policy proper at :math:`\gamma = 1`), dense or sparse, and their policies:

>>> import mdptoolkit as mt
>>> from hypothesis import given, settings, strategies as st
>>> from mdptoolkit.testing import assert_policy_value
>>> from mdptoolkit.testing.strategies import mdps, policies
>>> @settings(max_examples=10, derandomize=True, database=None)
... @given(st.data())
... def test_evaluation(data):
...     mdp = data.draw(mdps(sparse=None, gamma=1.0, with_allowed=True))
...     policy = data.draw(policies(mdp))
...     assert_policy_value(mdp, policy, mt.evaluate_policy(mdp, policy), atol=1e-9)
>>> test_evaluation()
"""

from __future__ import annotations

import numbers

import numpy as np
import scipy.sparse as sp

try:
    from hypothesis import strategies as st
    from hypothesis.errors import InvalidArgument
    from hypothesis.extra import numpy as hnp
    from hypothesis.strategies import SearchStrategy
except ModuleNotFoundError as err:  # an optional dependency: say how to get it
    raise ImportError("mdptoolkit.testing.strategies needs hypothesis, which is not installed; "
                      "install it with `pip install hypothesis`") from err

from ..mdp import MDP

__all__ = ["mdps", "policies"]

#: Reward of disallowed actions in drawn MDPs, in units of ``reward_bound``: large enough that a
#: solver ignoring ``allowed`` prefers them.
TEMPTING_REWARD = 100.0

_MAX_WEIGHT = 10  # well-conditioned transition weights are integers 0.._MAX_WEIGHT


def _size_strategy(value, name, default):
    if value is None:
        return default
    if isinstance(value, st.SearchStrategy):
        return value
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise InvalidArgument(f"{name} must be an integer >= 1 or a strategy; got {value!r}")
    return st.just(int(value))


def _gamma_strategy(gamma, well_conditioned):
    if gamma is None:
        return st.floats(0.0, 0.95 if well_conditioned else 0.999)
    if isinstance(gamma, st.SearchStrategy):
        return gamma
    if isinstance(gamma, bool) or not isinstance(gamma, numbers.Real) or not 0 <= gamma <= 1:
        raise InvalidArgument(f"gamma must be a number in [0, 1] or a strategy; got {gamma!r}")
    return st.just(float(gamma))


def mdps(n_states: int | SearchStrategy[int] | None = None,
         n_actions: int | SearchStrategy[int] | None = None, *, sparse: bool | None = False,
         gamma: float | SearchStrategy[float] | None = None, with_allowed: bool = False,
         with_terminal: bool = False, branching: int | None = None,
         well_conditioned: bool = True, proper: str = "all", reward_bound: float = 1.0,
         random_mu: bool = False) -> SearchStrategy[MDP]:
    r"""Strategy drawing valid random :class:`~mdptoolkit.MDP` objects.

    Parameters
    ----------
    n_states, n_actions : int or strategy of int, optional
        Sizes :math:`S` and :math:`A`; default ``integers(1, 6)`` states and ``integers(1, 3)``
        actions.
    sparse : bool or None, default False
        False: dense (S, A, S) transitions; True: scipy sparse (S*A, S); None: either, drawn.
    gamma : float or strategy of float, optional
        Discount factor. Default ``floats(0, 0.95)`` (``floats(0, 0.999)`` when not
        ``well_conditioned``), well away from 1 so that value-iteration-based checks are fast.
        When the drawn :math:`\gamma` is 1, terminal states are added even if ``with_terminal``
        is False (otherwise no policy would have a finite value).
    with_allowed : bool, default False
        Draw a mask of allowed actions with at least one allowed action per state. Disallowed
        actions get all-zero rows of P and the tempting reward ``100 * reward_bound``.
    with_terminal : bool, default False
        Draw a non-empty set of terminal states, reachable as described under ``proper``.
    branching : int, optional
        At most this many successor states per state-action pair (Garnet-style), plus one
        terminal state when terminal states are mixed in. Default: any number.
    well_conditioned : bool, default True
        See the module docstring: small-integer probability weights, terminal probability at
        least 0.1 per step, default :math:`\gamma \le 0.95`. False allows tiny probabilities,
        near-ties, terminal probabilities down to 0.001 and :math:`\gamma` up to 0.999.
    proper : {"all", "optimal"}, default "all"
        With terminal states: "all" makes every allowed action reach a terminal state with
        probability at least ``eps`` per step, so every policy is proper; "optimal" does so for
        one action per state and makes non-terminal rewards strictly negative, so only the
        optimal policy is guaranteed proper (stochastic shortest path).
    reward_bound : float, default 1.0
        Rewards of allowed actions lie in ``[-reward_bound, reward_bound]``.
    random_mu : bool, default False
        Draw the initial distribution :math:`\mu` (default uniform).

    Returns
    -------
    hypothesis.strategies.SearchStrategy of MDP

    Raises
    ------
    hypothesis.errors.InvalidArgument
        For an invalid size, gamma, branching, proper or reward_bound.

    See Also
    --------
    policies, mdptoolkit.testing.assert_bellman_optimal

    Examples
    --------
    >>> import numpy as np, mdptoolkit as mt
    >>> from hypothesis import given, settings
    >>> from mdptoolkit.testing.strategies import mdps
    >>> @settings(max_examples=20, derandomize=True, database=None)
    ... @given(mdps(n_states=4, n_actions=2, sparse=True, branching=2, with_allowed=True))
    ... def test_shape(mdp):
    ...     assert mdp.is_sparse and mdp.P.shape == (8, 4)
    ...     assert mdp.allowed.any(axis=1).all()
    ...     rows = np.diff(mdp.P.indptr).reshape(4, 2)  # successors per (s, a)
    ...     assert (rows[mdp.allowed] <= 2).all()
    >>> test_shape()
    """
    n_states = _size_strategy(n_states, "n_states", st.integers(1, 6))
    n_actions = _size_strategy(n_actions, "n_actions", st.integers(1, 3))
    gamma = _gamma_strategy(gamma, well_conditioned)
    if sparse is None:
        sparse_st = st.booleans()
    elif isinstance(sparse, bool):
        sparse_st = st.just(sparse)
    else:
        raise InvalidArgument(f"sparse must be True, False or None; got {sparse!r}")
    if branching is not None and (isinstance(branching, bool)
                                  or not isinstance(branching, numbers.Integral) or branching < 1):
        raise InvalidArgument(f"branching must be None or an integer >= 1; got {branching!r}")
    if proper not in ("all", "optimal"):
        raise InvalidArgument(f"proper must be 'all' or 'optimal'; got {proper!r}")
    if not (isinstance(reward_bound, numbers.Real) and 0 < reward_bound < 1e100):
        raise InvalidArgument(f"reward_bound must be a positive finite number; "
                              f"got {reward_bound!r}")
    return _mdps(n_states, n_actions, sparse_st, gamma, bool(with_allowed), bool(with_terminal),
                 None if branching is None else int(branching), bool(well_conditioned), proper,
                 float(reward_bound), bool(random_mu))


def _weights(draw, shape, well_conditioned):
    """Non-negative weights drawn by hypothesis; they shrink to zeros."""
    if well_conditioned:
        w = draw(hnp.arrays(np.int64, shape, elements=st.integers(0, _MAX_WEIGHT)))
        return w.astype(np.float64)
    return draw(hnp.arrays(np.float64, shape, elements=st.floats(0.0, 1.0, allow_subnormal=False)))


def _normalize_rows(W, fallback):
    """Rows of W divided by their sums; all-zero rows become the one-hot ``fallback`` rows."""
    sums = W.sum(axis=-1, keepdims=True)
    empty = sums[..., 0] == 0
    W = np.where(empty[..., None], fallback, W)
    return W / W.sum(axis=-1, keepdims=True)


@st.composite
def _mdps(draw, n_states, n_actions, sparse, gamma, with_allowed, with_terminal, branching,
          well_conditioned, proper, reward_bound, random_mu):
    S, A = draw(n_states), draw(n_actions)
    if S < 1 or A < 1:
        raise InvalidArgument(f"n_states and n_actions must be >= 1; got S={S}, A={A}")
    g = draw(gamma)
    if not 0 <= g <= 1:
        raise InvalidArgument(f"gamma must be in [0, 1]; got {g!r}")
    is_sparse = draw(sparse)
    states = np.arange(S)

    # designated action per state: always allowed; the proper one when proper == "optimal"
    keep = draw(hnp.arrays(np.int64, S, elements=st.integers(0, A - 1)))
    allowed = np.ones((S, A), dtype=bool)
    if with_allowed:
        allowed = draw(hnp.arrays(np.bool_, (S, A)))
        allowed[states, keep] = True

    terminal = np.zeros(S, dtype=bool)
    if with_terminal or g == 1:
        terminal = draw(hnp.arrays(np.bool_, S))
        terminal[draw(st.integers(0, S - 1))] = True

    # transitions: weights normalized per row; an all-zero row becomes a self-loop
    self_loop = np.zeros((S, A, S))
    self_loop[states, :, states] = 1.0
    if branching is None:
        W = _weights(draw, (S, A, S), well_conditioned)
    else:
        b = min(branching, S)
        successors = draw(hnp.arrays(np.int64, (S, A, b), elements=st.integers(0, S - 1)))
        w = _weights(draw, (S, A, b), well_conditioned)
        W = np.zeros((S, A, S))
        np.add.at(W, (states[:, None, None], np.arange(A)[None, :, None], successors), w)
    P = _normalize_rows(W, self_loop)

    R = draw(hnp.arrays(np.float64, (S, A), elements=st.floats(
        -reward_bound, reward_bound, allow_subnormal=False)))

    if terminal.any():
        # mix in a one-step chance eps of reaching a drawn terminal state
        targets = draw(hnp.arrays(np.int64, (S, A), elements=st.sampled_from(
            np.flatnonzero(terminal).tolist())))
        if well_conditioned:
            eps = draw(hnp.arrays(np.int64, (S, A), elements=st.integers(1, 9))) / 10.0
        else:
            eps = draw(hnp.arrays(np.float64, (S, A), elements=st.floats(1e-3, 1.0)))
        if proper == "optimal":
            designated = np.zeros((S, A), dtype=bool)
            designated[states, keep] = True
            eps = np.where(designated, eps, 0.0)
            R = -reward_bound / 10 - 0.9 * np.abs(R)
        to_terminal = np.zeros((S, A, S))
        to_terminal[states[:, None], np.arange(A)[None, :], targets] = 1.0
        P = (1.0 - eps)[..., None] * P + eps[..., None] * to_terminal
        P[terminal] = self_loop[terminal]
        R[terminal] = 0.0

    if with_allowed:
        P[~allowed] = 0.0
        R = np.where(allowed, R, TEMPTING_REWARD * reward_bound)

    mu = None
    if random_mu:
        mu = _normalize_rows(_weights(draw, S, well_conditioned), np.full(S, 1.0))

    if is_sparse:
        P = sp.csr_array(P.reshape(S * A, S))
    return MDP(P, R, g, mu=mu, terminal=terminal, allowed=allowed)


def policies(mdp: MDP, *,
             deterministic: bool | None = None) -> SearchStrategy[np.ndarray]:
    r"""Strategy drawing policies of ``mdp`` that respect ``mdp.allowed``.

    Parameters
    ----------
    mdp : MDP
    deterministic : bool or None, default None
        True: integer arrays (S,) of allowed actions; False: stochastic (S, A) arrays whose rows
        sum to 1 and give probability 0 to disallowed actions; None: either, drawn.

    Returns
    -------
    hypothesis.strategies.SearchStrategy of ndarray

    Notes
    -----
    Every drawn policy is proper (reaches a terminal state with probability 1) for MDPs drawn by
    :func:`mdps` with the default ``proper="all"``; with ``proper="optimal"`` it may be improper,
    and evaluating it at :math:`\gamma = 1` raises :class:`~mdptoolkit.ImproperPolicyError`.

    Examples
    --------
    >>> import numpy as np, mdptoolkit as mt
    >>> from hypothesis import given, settings
    >>> from mdptoolkit.testing.strategies import policies
    >>> mdp = mt.MDP(np.full((3, 2, 3), 1 / 3), [[0.0, -np.inf], [1.0, 2.0], [0.5, 0.5]], 0.9)
    >>> @settings(max_examples=20, derandomize=True, database=None)
    ... @given(policies(mdp, deterministic=False))
    ... def test_rows(pi):
    ...     assert np.allclose(pi.sum(axis=1), 1) and pi[0, 1] == 0
    >>> test_rows()
    """
    if not isinstance(mdp, MDP):
        hint = ": pass env.mdp" if isinstance(getattr(mdp, "mdp", None), MDP) else ""
        raise InvalidArgument(f"mdp must be an mdptoolkit.MDP; got {type(mdp).__name__}{hint}")
    if deterministic is None:
        kind = st.booleans()
    elif isinstance(deterministic, bool):
        kind = st.just(deterministic)
    else:
        raise InvalidArgument(f"deterministic must be True, False or None; got {deterministic!r}")
    return _policies(mdp, kind)


@st.composite
def _policies(draw, mdp, kind):
    S, A = mdp.n_states, mdp.n_actions
    allowed = np.asarray(mdp.allowed)
    # the k-th allowed action of each state, k drawn: allowed actions sorted first, stably
    n_allowed = allowed.sum(axis=1)
    k = draw(hnp.arrays(np.int64, S, elements=st.integers(0, A - 1))) % n_allowed
    order = np.argsort(~allowed, axis=1, kind="stable")
    choice = order[np.arange(S), k].astype(np.intp)
    if draw(kind):
        return choice
    W = draw(hnp.arrays(np.float64, (S, A), elements=st.floats(0.0, 1.0, allow_subnormal=False)))
    W = np.where(allowed, W, 0.0)
    return _normalize_rows(W, np.eye(A)[choice])
