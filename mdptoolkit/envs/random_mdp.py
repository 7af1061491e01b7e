r"""Random MDPs ("Garnets", Archibald, McKinnon & Thomas, 1995; Bhatnagar et al., 2009).

A Garnet(S, A, b) has, for every state-action pair, ``b`` distinct next states drawn uniformly
at random and transition probabilities drawn uniformly from the simplex over them (the gaps
between b - 1 uniform cut points of [0, 1], drawn here as normalized exponentials); rewards
:math:`R(s, a)` are uniform on [0, 1). Everything is drawn with whole-array operations, so a
sparse instance with 10^6 states builds in seconds.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from .._typing import Seed
from .._validation import default_rng
from ..exceptions import MDPValidationError
from ..mdp import MDP
from ._base import Environment, check_bytes, check_int

__all__ = ["random_mdp"]

#: A dense P with more entries than this is refused (8 bytes each): pass ``sparse=True``.
MAX_DENSE_ENTRIES = 10**8
#: Largest number of nonzero transition probabilities (8 + 4 bytes each, plus copies).
MAX_NONZEROS = 10**9
_INSERTION_LIMIT = 32  # branching up to this: draw by insertion; above, by random keys


def random_mdp(n_states: int, n_actions: int, *, branching: int | None = None,
               sparse: bool = False, gamma: float = 0.9, seed: Seed = None,
               max_bytes: int | None = None) -> Environment:
    r"""A random Garnet MDP, reproducible for a fixed ``seed``.

    Parameters
    ----------
    n_states : int >= 1
    n_actions : int >= 1
    branching : int in 1..n_states, optional
        Number of distinct next states of every state-action pair; default ``n_states`` (every
        state reachable). Small values give sparse MDPs.
    sparse : bool, default False
        Store P as a sparse (S·A, S) matrix. Needed for large ``n_states``: a dense P with more
        than 10^8 entries is refused before anything is allocated.
    gamma : float, default 0.9
    seed : int, numpy.random.Generator or None
        The same seed gives the same MDP, dense or sparse.
    max_bytes : int, optional
        Limit on the estimated peak memory of the build (default 2**32, 4 GiB): the draws,
        P and the model's internal copies, about ``S*A*(3*b*(8 + 4) + 40)`` bytes sparse
        (``b`` = branching) and ``24*S*A*S`` dense. A larger instance is refused before
        anything is allocated, naming its size.

    Returns
    -------
    Environment
        With ``.mdp``; :math:`\mu` uniform, no terminal states.

    Raises
    ------
    MDPValidationError
        When a size is out of range or the instance would be too large.
    TypeError
        When a size is not an integer or ``seed`` is of the wrong kind.

    Notes
    -----
    The next states of one pair are a uniformly random ``b``-subset of the states, drawn
    without replacement by the "insertion" method: the i-th draw is uniform over the
    ``S - i`` states not yet chosen. For ``b > 32`` random sort keys are used instead.

    Examples
    --------
    >>> import numpy as np, mdptoolkit as mt
    >>> from mdptoolkit import envs
    >>> env = envs.random_mdp(100, 4, branching=3, sparse=True, seed=0)
    >>> env.mdp
    MDP(n_states=100, n_actions=4, gamma=0.9, sparse)
    >>> env.mdp.P.nnz
    1200
    >>> dense = envs.random_mdp(100, 4, branching=3, seed=0).mdp
    >>> bool(np.array_equal(dense.P.reshape(400, 100), env.mdp.P.toarray()))
    True
    """
    S = check_int(n_states, "n_states", minimum=1)
    A = check_int(n_actions, "n_actions", minimum=1)
    b = S if branching is None else check_int(branching, "branching", minimum=1)
    if b > S:
        raise MDPValidationError(f"branching must be in 1..n_states={S}; got {b}")
    if not isinstance(sparse, bool):
        raise TypeError(f"sparse must be a bool; got {type(sparse).__name__}")
    if not sparse and S * A * S > MAX_DENSE_ENTRIES:
        raise MDPValidationError(f"a dense P must have at most {MAX_DENSE_ENTRIES:,} entries; got "
                                 f"S*A*S = {S * A * S:,} (pass sparse=True)")
    if S * A * b > MAX_NONZEROS:
        raise MDPValidationError("n_states * n_actions * branching must be at most "
                                 f"{MAX_NONZEROS:,}; got {S * A * b:,}")
    n_bytes = S * A * (3 * b * 12 + 40) if sparse else 24 * S * A * S + 40 * S * A
    check_bytes(n_bytes, max_bytes, "random_mdp",
                f"for n_states={S}, n_actions={A}, branching={b}, sparse={sparse}")
    rng = default_rng(seed)
    n_rows = S * A
    next_states = _distinct_states(rng, n_rows, S, b)
    weights = rng.exponential(size=(n_rows, b))
    weights /= weights.sum(axis=1, keepdims=True)
    R = rng.random((S, A))
    if sparse:
        itype = np.int32 if max(n_rows * b, S) < np.iinfo(np.int32).max else np.int64
        P = sp.csr_array((weights.ravel(), next_states.ravel().astype(itype, copy=False),
                          np.arange(0, n_rows * b + 1, b, dtype=itype)), shape=(n_rows, S))
    else:
        P = np.zeros((n_rows, S))
        P[np.arange(n_rows)[:, None], next_states] = weights
        P = P.reshape(S, A, S)
    del next_states, weights
    return Environment(mdp=MDP(P, R, gamma), name="random_mdp")


def _distinct_states(rng, n_rows, S, b):
    """(n_rows, b) array: each row a uniformly random b-subset of 0..S-1 (in draw order)."""
    itype = np.int32 if S < np.iinfo(np.int32).max else np.int64
    if b == S:
        return np.broadcast_to(np.arange(S, dtype=itype), (n_rows, S))
    if b <= _INSERTION_LIMIT:
        chosen = np.empty((n_rows, b), dtype=itype)
        for i in range(b):
            x = rng.integers(0, S - i, size=n_rows, dtype=itype)
            # the x-th state not chosen yet: step over the chosen ones in increasing order
            for p in np.sort(chosen[:, :i], axis=1).T:
                x += x >= p
            chosen[:, i] = x
        return chosen
    chunk = max(1, 10**7 // S)
    parts = []
    for start in range(0, n_rows, chunk):
        keys = rng.random((min(chunk, n_rows - start), S))
        parts.append(np.argpartition(keys, b - 1, axis=1)[:, :b].astype(itype))
    return np.concatenate(parts)
