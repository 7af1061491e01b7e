"""Conversion from and to other libraries' layouts (the only module that knows them).

The readers return plain arrays (the keyword arguments of :class:`~mdptoolkit.MDP`); the
classmethods :meth:`MDP.from_pymdptoolbox <mdptoolkit.MDP.from_pymdptoolbox>` and
:meth:`MDP.from_gymnasium <mdptoolkit.MDP.from_gymnasium>` build the model from them, so this
module never imports the model.

- pymdptoolbox: ``P`` of shape (A, S, S) or a list of A (sparse) (S, S) matrices; ``R`` of
  shape (S,), (S, A) (also sparse), (A, S, S), a list of A per-action entries, or a list of S
  state rewards (see :func:`read_pymdptoolbox` for pymdptoolbox's rule when S == A).
- gymnasium toy-text: ``P[s][a] = [(prob, next_state, reward, terminated), ...]``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from . import _validation as val
from ._typing import ArrayLike, FloatArray
from .exceptions import MDPValidationError

__all__ = ["read_pymdptoolbox", "to_pymdptoolbox", "read_gymnasium"]


def read_pymdptoolbox(P: Any, R: Any) -> tuple[Any, Any]:
    r"""Read pymdptoolbox's ``(P, R)`` into the arrays of :class:`~mdptoolkit.MDP`.

    Every form :func:`mdptoolbox.util.check` and ``mdptoolbox.mdp.MDP`` accept is read the way
    pymdptoolbox reads it.

    Parameters
    ----------
    P : ndarray (A, S, S), or a sequence (list, tuple, object array, or dict keyed 0..A-1) of
        A (S, S) matrices, dense or sparse
        ``P[a][s, s2]`` = Pr(s2 | s, a). Any sparse matrix gives a sparse MDP.
    R : rewards in one of pymdptoolbox's forms
        - an ndarray (S,) (state rewards), (S, A), or (A, S, S) (transition rewards);
        - a scipy.sparse (S, A) matrix;
        - a sequence (list, tuple, or dict keyed 0..A-1) of **A** (S, S) matrices, dense or
          sparse: action ``a``'s transition rewards;
        - any other sequence: S state rewards, or S rows of A rewards (nested lists).

        pymdptoolbox's rule decides between the two: a sequence of length A is read per
        action. So when S == A a list of S numbers (or of S rows) is refused, as pymdptoolbox
        refuses it; pass ``np.asarray(R)``, whose shape (S,) or (S, A) says what it is.

    Returns
    -------
    P : ndarray (S, A, S) or scipy.sparse CSR (S*A, S)
    R : ndarray (S,), (S, A) or (S, A, S)

    Raises
    ------
    MDPValidationError
        When a shape does not fit, or P or R is complex.
    TypeError
        When P or R is of none of these kinds.

    Examples
    --------
    >>> import numpy as np, mdptoolkit as mt
    >>> P = np.array([[[0.5, 0.5], [0.8, 0.2]], [[0.0, 1.0], [0.1, 0.9]]])  # (A, S, S)
    >>> R = np.array([[5.0, 10.0], [-1.0, 2.0]])  # (S, A)
    >>> mdp = mt.MDP.from_pymdptoolbox(P, R, 0.9)
    >>> mdp.P[1, 0], mdp.n_actions
    (array([0.8, 0.2]), 2)
    >>> mt.MDP.from_pymdptoolbox(P[:1], (1.0, 2.0), 0.9).R   # len(R) == S != A: per state
    array([[1.],
           [2.]])
    >>> mt.MDP.from_pymdptoolbox(P, [np.eye(2), np.zeros((2, 2))], 0.9).R   # A (S, S) matrices
    array([[0.5, 0. ],
           [0.2, 0. ]])
    """
    if isinstance(P, np.ndarray) and P.dtype != object:
        val.check_real_dtype(P, "pymdptoolbox P")
        if P.ndim != 3 or P.shape[1] != P.shape[2]:
            raise MDPValidationError(f"pymdptoolbox P must have shape (A, S, S); got {P.shape}")
        A, S, _ = P.shape
        P_ours = np.asarray(P, dtype=np.float64).transpose(1, 0, 2)
        sparse = False
    else:
        mats = _per_action(P, "P")
        if not mats:
            raise MDPValidationError("pymdptoolbox P must hold at least one action; got none")
        mats = [m if sp.issparse(m) else val.as_real_array(m, f"pymdptoolbox P[{a}]")
                for a, m in enumerate(mats)]
        A = len(mats)
        S = mats[0].shape[0] if mats[0].ndim == 2 else -1
        for a, m in enumerate(mats):
            if m.shape != (S, S):
                raise MDPValidationError(f"pymdptoolbox P[{a}] must have shape ({S}, {S}); "
                                         f"got {m.shape}")
        sparse = any(sp.issparse(m) for m in mats)
        if sparse:
            stacked = sp.vstack([sp.csr_array(m) for m in mats], format="csr")  # row a*S + s
            perm = (np.arange(A)[None, :] * S + np.arange(S)[:, None]).ravel()  # row s*A + a
            P_ours = sp.csr_array(stacked[perm])
        else:
            P_ours = np.stack([np.asarray(m, dtype=np.float64) for m in mats], axis=1)
    return P_ours, _rewards_from_pymdptoolbox(R, S, A, P_ours, sparse)


def _per_action(X, name):
    """A list of the per-action entries of a sequence (or of a dict keyed 0..n-1)."""
    if isinstance(X, dict):
        keys = list(X)
        if sorted(keys, key=repr) != sorted(range(len(keys)), key=repr):
            raise MDPValidationError(f"pymdptoolbox {name} given as a dict must have the keys "
                                     f"0..{len(keys) - 1} (one per action); got {keys[:5]!r}")
        return [X[a] for a in range(len(keys))]
    if isinstance(X, (str, bytes)) or not hasattr(X, "__len__") or not hasattr(X, "__getitem__"):
        raise TypeError(f"pymdptoolbox {name} must be an array or a sequence of per-action "
                        f"matrices; got {type(X).__name__}")
    return list(X)


def _rewards_from_pymdptoolbox(R, S, A, P_ours, sparse):
    if sp.issparse(R):
        if R.shape != (S, A):
            raise MDPValidationError(f"a sparse pymdptoolbox R must have shape ({S}, {A}); got "
                                     f"{R.shape}")
        R = sp.csr_array(R).toarray()
    if isinstance(R, np.ndarray) and R.dtype != object:
        val.check_real_dtype(R, "pymdptoolbox R")
        if R.shape in ((S,), (S, A)):
            return R
        if R.shape == (A, S, S):
            return _expected_rewards(list(R), S, A, P_ours, sparse)
        raise MDPValidationError(f"pymdptoolbox R must have shape ({S},), ({S}, {A}) or "
                                 f"({A}, {S}, {S}); got {R.shape}")
    entries = _per_action(R, "R")
    if len(entries) == A:  # pymdptoolbox's rule: one entry per action
        return _expected_rewards(entries, S, A, P_ours, sparse)
    table = val.as_real_array(entries, "pymdptoolbox R")
    if table.dtype == object or table.shape not in ((S,), (S, A)):
        raise MDPValidationError(f"pymdptoolbox R given as a sequence must hold {A} per-action "
                                 f"entries, {S} state rewards or {S} rows of {A}; got "
                                 f"{len(entries)} entries")
    return table


def _expected_rewards(entries, S, A, P_ours, sparse):
    """(S, A) expected rewards sum_s2 P_a[s, s2] m_a[s, s2] of A per-action (S, S) matrices."""
    cols = []
    for a, m in enumerate(entries):
        Pa = P_ours[np.arange(S) * A + a] if sparse else P_ours[:, a, :]
        if not sp.issparse(m):
            m = val.as_real_array(m, f"pymdptoolbox R[{a}]")
        if m.shape != (S, S):
            hint = (f" (a sequence of A={A} entries is read per action, as pymdptoolbox does; "
                    f"pass np.asarray(R) of shape ({S},) or ({S}, {A}) for state rewards)"
                    if S == A else "")
            raise MDPValidationError(f"pymdptoolbox R[{a}] must be an ({S}, {S}) matrix; got "
                                     f"shape {m.shape}{hint}")
        if sp.issparse(m):
            prod = sp.csr_array(m).multiply(sp.csr_array(Pa))
        else:
            m = np.asarray(m, dtype=np.float64)
            prod = sp.csr_array(Pa).multiply(m) if sparse else Pa * m
        cols.append(np.asarray(prod.sum(axis=1)).ravel())
    return np.stack(cols, axis=1)


def to_pymdptoolbox(mdp: Any) -> tuple[Any, FloatArray]:
    """Return ``(P, R)`` in pymdptoolbox's layout.

    ``P`` is an (A, S, S) array for a dense MDP and a list of A CSR (S, S) matrices for a sparse
    one; ``R`` is (S, A). pymdptoolbox has no notion of disallowed actions, so an MDP with any is
    refused rather than silently changed.

    Examples
    --------
    >>> import numpy as np, mdptoolkit as mt
    >>> mdp = mt.MDP(np.ones((1, 2, 1)), [[1.0, 2.0]], 0.9)
    >>> P, R = mdp.to_pymdptoolbox()
    >>> P.shape, R.shape
    ((2, 1, 1), (1, 2))
    """
    if not mdp.allowed.all():
        s, a = np.argwhere(~mdp.allowed)[0]
        raise MDPValidationError(f"pymdptoolbox has no disallowed actions; action {a} is "
                                 f"disallowed at state {s} ({int((~mdp.allowed).sum())} pairs)")
    S, A = mdp.n_states, mdp.n_actions
    P_out: Any
    if mdp.is_sparse:
        P = mdp.P
        P_out = [sp.csr_matrix(P[np.arange(S) * A + a]) for a in range(A)]
    else:
        P_out = np.array(mdp.P.transpose(1, 0, 2))
    return P_out, np.array(mdp.R)


def read_gymnasium(env_or_P: Any, *, sparse: bool | None = None,
                   mu: ArrayLike | None = None) -> dict[str, Any]:
    r"""Read a gymnasium toy-text environment or its ``P`` into the arrays of
    :class:`~mdptoolkit.MDP`.

    Parameters
    ----------
    env_or_P : gymnasium.Env, str or dict
        An environment with a ``P`` attribute (read through ``env.unwrapped``, so wrappers such
        as ``TimeLimit`` are fine), an environment id for ``gymnasium.make`` (e.g.
        ``"FrozenLake-v1"``), or the raw dict ``P[s][a] = [(prob, next_state, reward, terminated),
        ...]`` with states ``0..S-1`` and actions ``0..A-1``.
    sparse : bool, optional
        Store P as a sparse (S·A, S) matrix; default: sparse when S > 1024.
    mu : array_like, optional
        Initial-state distribution; default: the environment's ``initial_state_distrib`` when
        it has one, else uniform.

    Returns
    -------
    dict
        The keyword arguments ``P``, ``R``, ``mu``, ``terminal`` and ``allowed`` of
        :class:`~mdptoolkit.MDP`, for ``S`` states, or ``S + 1`` when an extra absorbing state
        is needed (see Notes).

    Raises
    ------
    ImportError
        When an environment id is given and gymnasium is not installed.
    TypeError
        When ``env_or_P`` is none of the above, or a transition is not a 4-tuple.
    MDPValidationError
        When states or actions are not numbered ``0..S-1`` / ``0..A-1``, a next state is out of
        range, or the probabilities of an action do not sum to 1.

    Notes
    -----
    Duplicate next states of one action add up, and :math:`R(s, a) = \sum p \cdot r` over the
    listed transitions. An action missing from ``P[s]`` is disallowed in ``s``.

    A transition with ``terminated=True`` ends the episode: gymnasium's value of it is its
    reward alone, :math:`Q(s, a) = \sum p\,(r + \gamma V(s') [\text{not terminated}])`. The
    model reproduces this exactly:

    - a state whose every listed transition is terminated with reward 0 (gymnasium's own
      terminal states, e.g. FrozenLake's holes and goal, whose rows are
      ``(1.0, s, 0, True)``) is marked terminal; its value is 0 in both models, so transitions
      into it may keep their target;
    - any other terminated transition (e.g. Taxi's drop-off, CliffWalking's step onto the goal,
      whose targets have ordinary dynamics of their own) goes instead to one extra absorbing
      terminal state with index ``S``, appended only when needed (``mu`` gives it 0).

    So :math:`V` agrees with gymnasium's values on every original state, and a policy's
    first ``S`` entries run unchanged in the environment.

    Examples
    --------
    >>> import mdptoolkit as mt
    >>> P = {0: {0: [(0.5, 0, 0.0, False), (0.5, 1, 1.0, True)]},
    ...      1: {0: [(1.0, 1, 0.0, True)]}}
    >>> mdp = mt.MDP.from_gymnasium(P, 0.9)
    >>> mdp.terminal, mdp.R[:, 0]
    (array([False,  True]), array([0.5, 0. ]))
    """
    env: Any = None  # gymnasium's Env type does not declare the toy-text envs' P
    if isinstance(env_or_P, str):
        try:
            import gymnasium
        except ImportError as err:
            raise ImportError("from_gymnasium needs gymnasium to make an environment from an id; "
                              "install it with `pip install gymnasium`") from err
        env = gymnasium.make(env_or_P).unwrapped
        P = env.P
    elif isinstance(env_or_P, dict):
        P = env_or_P
    elif hasattr(env_or_P, "unwrapped") and hasattr(env_or_P.unwrapped, "P"):
        env = env_or_P.unwrapped
        P = env.P
    else:
        raise TypeError(f"env_or_P must be a gymnasium toy-text env (with a P attribute), an "
                        f"env id or a P dict; got {type(env_or_P).__name__}")

    S, A, listed, rows, cols, probs, rewards, ends = _read_gymnasium_P(P)
    # states whose every transition is terminated with reward 0: gymnasium's terminal states
    n_listed = np.bincount(rows // A, minlength=S)
    n_final = np.bincount(rows // A, weights=ends & (rewards == 0), minlength=S)
    is_terminal = (n_listed > 0) & (n_final == n_listed)
    redirect = ends & ~is_terminal[cols]
    n_total = S + 1 if redirect.any() else S
    cols = np.where(redirect, S, cols)

    allowed = np.zeros((n_total, A), dtype=bool)
    allowed[listed // A, listed % A] = True
    R = np.zeros(n_total * A)
    np.add.at(R, rows, probs * rewards)
    if n_total > S:  # the extra absorbing state: all actions allowed, self-loops
        allowed[S] = True
        rows = np.concatenate([rows, S * A + np.arange(A)])
        cols = np.concatenate([cols, np.full(A, S)])
        probs = np.concatenate([probs, np.ones(A)])
    terminal = np.append(is_terminal, True) if n_total > S else is_terminal
    empty = ~allowed.any(axis=1)
    if empty.any():
        raise MDPValidationError(f"every state must list at least one action in P; got none at "
                                 f"state {int(np.argmax(empty))} ({int(empty.sum())} states)")
    P_flat = sp.csr_array((probs, (rows, cols)), shape=(n_total * A, n_total))
    P_flat.sum_duplicates()
    if sparse is None:
        sparse = n_total > 1024
    P_out = P_flat if sparse else P_flat.toarray().reshape(n_total, A, n_total)

    if mu is None and env is not None and hasattr(env, "initial_state_distrib"):
        mu = np.asarray(env.initial_state_distrib, dtype=np.float64)
    if mu is not None and n_total > S and np.shape(mu) == (S,):
        mu = np.append(np.asarray(mu, dtype=np.float64), 0.0)
    if mu is None and n_total > S:
        mu = np.append(np.full(S, 1.0 / S), 0.0)
    return dict(P=P_out, R=R.reshape(n_total, A), mu=mu, terminal=terminal, allowed=allowed)


def _read_gymnasium_P(P):
    """Flatten ``P[s][a] = [(prob, next, reward, terminated), ...]`` to COO arrays."""
    try:
        states = sorted(P)
    except TypeError:
        raise TypeError(f"P must be a dict of states to dicts of actions; got keys that do not "
                        f"sort, in a {type(P).__name__}") from None
    S = len(states)
    if S == 0 or states != list(range(S)):
        raise MDPValidationError(f"P's states must be 0..S-1; got {S} keys from "
                                 f"{states[0] if S else None!r} to {states[-1] if S else None!r}")
    A = 0
    for s in states:
        actions = P[s]
        if not isinstance(actions, dict):
            raise TypeError(f"P[{s}] must be a dict of actions to transition lists; "
                            f"got {type(actions).__name__}")
        for a in actions:
            if isinstance(a, bool) or not isinstance(a, (int, np.integer)) or a < 0:
                raise MDPValidationError(f"P's actions must be integers 0..A-1; got {a!r} in "
                                         f"P[{s}]")
            A = max(A, int(a) + 1)
    listed, rows, cols, probs, rewards, ends = [], [], [], [], [], []
    for s in states:
        for a, transitions in P[s].items():
            listed.append(s * A + int(a))
            for i, t in enumerate(transitions):
                if not isinstance(t, (tuple, list)) or len(t) != 4:
                    raise TypeError(f"P[{s}][{a}] entries must be (prob, next_state, reward, "
                                    f"terminated) tuples; got {t!r} at P[{s}][{a}][{i}]")
                p, s2, r, done = t
                rows.append(s * A + int(a))
                cols.append(s2)
                probs.append(p)
                rewards.append(r)
                ends.append(bool(done))
    cols = np.asarray(cols)
    if cols.size and (not np.issubdtype(cols.dtype, np.integer) or cols.min() < 0
                      or cols.max() >= S):
        k = int(np.argmax((cols < 0) | (cols >= S))) if np.issubdtype(cols.dtype, np.integer) else 0
        raise MDPValidationError(f"P's next states must be integers in 0..{S - 1}; got "
                                 f"{cols[k]} (entry {k} of the flattened P)")
    probs = val.as_real_array(probs, "P's probabilities").astype(np.float64)
    rewards = val.as_real_array(rewards, "P's rewards").astype(np.float64)
    keep = probs != 0  # zero-probability outcomes change nothing
    rows = np.asarray(rows, dtype=np.int64)[keep]
    ends = np.asarray(ends, dtype=bool)[keep]
    return (S, A, np.asarray(listed, dtype=np.int64), rows, cols.astype(np.int64)[keep],
            probs[keep], rewards[keep], ends)
