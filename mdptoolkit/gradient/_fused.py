r"""Fused loops of the prefix-tree gradient (``mdptoolkit.gradient._prefix_tree``), compiled by
Numba.

NumPy runs each step of the gradient as its own pass over the (S, A) arrays, and on rows of a
dozen actions its reductions and row-broadcasts are slow; together they cost about five sparse
matrix–vector products on a large language MDP. The two loops here do a piece's row sums, values
and weights in one pass over rows that stay in the first-level cache. The exponentials stay with
NumPy, whose vectorized ``exp`` is several times faster than a compiled loop calling the scalar
one.

The functions are plain Python, so that the logic runs (slowly) and is tested without Numba;
:func:`compiled` returns them compiled when Numba is installed (``pip install mdptoolkit[fast]``)
and None otherwise, in which case the prefix tree uses its NumPy passes. Numba is imported on
the first call only, never by ``import mdptoolkit``, and the compiled code is cached on disk
where the package directory is writable, so the compilation (about a second) is paid once.
"""

from __future__ import annotations

import math
from types import SimpleNamespace
from typing import Any

import numpy as np

#: Prefix trees with at least this many (state, action) entries use the compiled loops (when
#: Numba is installed): below it the NumPy passes take a few milliseconds at most, and a first
#: call would otherwise import Numba for nothing.
MIN_ENTRIES = 1 << 17


def occupancy(e: Any, a0: int, a1: int, gamma: float, d: Any, children: Any) -> None:
    """Add to ``children`` (the occupancy of the token children, ``n (a1 - a0)`` of them in
    order) the occupancy that the states of a piece pass down: ``gamma d(s) pi(a|s)`` with
    ``pi = e / sum_a e`` from the exponentiated logits ``e`` (n, A)."""
    n, A = e.shape
    k = a1 - a0
    for i in range(n):
        total = 0.0
        for a in range(A):
            total += e[i, a]
        scale = gamma * d[i] / total
        for a in range(a0, a1):
            children[i * k + a - a0] += e[i, a] * scale


def weights(e: Any, R: Any, z: Any, logref: Any, beta: float, shift: Any, child: Any, a0: int,
            a1: int, gamma: float, d: Any, V: Any) -> None:
    r"""The values ``V`` (n,) of the states of a piece and, over ``e`` (n, A) (their
    exponentiated logits ``exp(z - shift)``, 0 at masked actions), the weights
    :math:`d(s)\pi(a|s)(Q(s,a) - \beta \log(\pi/\pi_{ref}) - V(s))`.

    ``Q = R + gamma child`` on the token actions ``a0:a1`` (``child`` holds the values of the
    ``n (a1 - a0)`` children in order) and ``R`` elsewhere. With ``beta > 0`` the term
    :math:`-\beta(z - \log\pi_{ref})` enters Q and ``V`` gets back the row constant
    :math:`\beta \log\sum_a e^{z}` that it leaves out; ``z`` and ``logref`` are not read when
    ``beta == 0``, and must be finite (masked actions, where ``e == 0``, get weight 0 whatever
    their Q, but a NaN would spread).

    Three copies of one loop: with the tests of beta and of the token range taken out of the
    loop over a row, the leaves (nine in ten entries of a language MDP) run about twice as
    fast as in the general loop."""
    n, A = e.shape
    if a1 == a0 and beta == 0.0:  # Q = R
        for i in range(n):
            total = 0.0
            dot = 0.0
            for a in range(A):
                total += e[i, a]
                dot += e[i, a] * R[i, a]
            v = dot / total
            scale = d[i] / total
            for a in range(A):
                e[i, a] = e[i, a] * (R[i, a] - v) * scale
            V[i] = v
        return
    if a1 == a0:  # Q = R - beta (z - log ref)
        for i in range(n):
            total = 0.0
            dot = 0.0
            for a in range(A):
                total += e[i, a]
                dot += e[i, a] * (R[i, a] - beta * (z[i, a] - logref[i, a]))
            v = dot / total
            scale = d[i] / total
            for a in range(A):
                e[i, a] = e[i, a] * (R[i, a] - beta * (z[i, a] - logref[i, a]) - v) * scale
            V[i] = v + beta * (math.log(total) + shift)
        return
    k = a1 - a0
    q = np.empty(A)  # one row of Q
    for i in range(n):
        total = 0.0
        dot = 0.0
        for a in range(A):
            qa = R[i, a]
            if beta > 0.0:
                qa -= beta * (z[i, a] - logref[i, a])
            if a0 <= a < a1:
                qa += gamma * child[i * k + a - a0]
            q[a] = qa
            total += e[i, a]
            dot += e[i, a] * qa
        v = dot / total
        scale = d[i] / total
        for a in range(A):
            e[i, a] = e[i, a] * (q[a] - v) * scale
        if beta > 0.0:
            v += beta * (math.log(total) + shift)
        V[i] = v


#: The loops uncompiled (for tests, and to read).
PYTHON = SimpleNamespace(occupancy=occupancy, weights=weights)

_compiled: SimpleNamespace | bool | None = None  # None: not tried; False: no Numba


def compiled() -> SimpleNamespace | None:
    """The loops compiled by Numba (a namespace with ``occupancy`` and ``weights``), or None
    when Numba is not installed."""
    global _compiled
    if _compiled is None:
        try:
            import numba
        except ImportError:
            _compiled = False
        else:
            def jit(f):
                try:
                    return numba.njit(cache=True, nogil=True)(f)
                except RuntimeError:  # no writable place for the cache
                    return numba.njit(nogil=True)(f)

            _compiled = SimpleNamespace(occupancy=jit(occupancy), weights=jit(weights))
    return _compiled if isinstance(_compiled, SimpleNamespace) else None
