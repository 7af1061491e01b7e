r"""Structure of the transition graph: the height layers of acyclic MDPs.

Finite trees, finite-horizon unrollings and language MDPs have acyclic transitions; their
states fall into height layers (a state's layer is the longest path from it to a terminal
state), and every policy's values and occupancy follow by one sweep over the layers.
:func:`layers_of` analyses an MDP once and keeps the answer with it.
"""

from __future__ import annotations


import numpy as np
import scipy.sparse as sp
import scipy.sparse.csgraph as csgraph

from .._typing import FloatArray, IntArray
from ..mdp import MDP


def _topological_order(M_off):
    """Order of states with successors first, or None when the chain has a cycle.

    ``M_off`` is the sparse adjacency without self-loops. Uses the strongly connected
    components (all singletons iff acyclic); their labels are checked to be a topological
    order before use.
    """
    n = M_off.shape[0]
    n_comp, labels = csgraph.connected_components(M_off, directed=True, connection="strong")
    if n_comp != n:
        return None
    coo = M_off.tocoo()
    if coo.nnz and not (labels[coo.row] > labels[coo.col]).all():
        if (labels[coo.row] < labels[coo.col]).all():
            labels = -labels
        else:  # pragma: no cover - SciPy's labelling has always been topological
            return None
    return np.argsort(labels, kind="stable")


MAX_LAYERS = 256  # deeper acyclic MDPs are solved through ChainSystem instead


class Layers:
    r"""States of an acyclic MDP grouped by height, for sweeps that cost one pass over P.

    The height of a non-terminal state is 0 when every allowed transition leads to a terminal
    state, else one more than the largest height among its successors. When the union of all
    allowed transitions has no cycle among non-terminal states (language MDPs, finite-horizon
    unrollings, trees) and at most :data:`MAX_LAYERS` heights, every policy is proper and

    - ``values`` computes :math:`V^\pi` by a backward sweep (height 0 first),
    - ``occupancy`` computes :math:`d^\pi` by a forward sweep (largest height first),

    each touching every transition once. ``rows[h]`` holds the rows ``a*S + s`` of the flat
    transition matrix for the states of height h, action-major within the layer.
    """

    def __init__(self, mdp: MDP, heights: IntArray) -> None:
        S, A = mdp.n_states, mdp.n_actions
        order = np.argsort(heights, kind="stable")
        counts = np.bincount(heights[heights >= 0])
        starts = np.cumsum(counts) - counts + int((heights < 0).sum())
        self.states, self.ops = [], []
        for start, count in zip(starts, counts):
            idx = order[start:start + count]
            rows = (np.arange(A)[:, None] * S + idx[None, :]).ravel()
            self.states.append(idx)
            self.ops.append(mdp._op[rows])
        self.n_actions = A
        self.terminal = mdp.terminal

    def values(self, pi: FloatArray, R_pi: FloatArray, gamma: float) -> FloatArray:
        r""":math:`V^\pi` by one backward sweep over the layers."""
        V = np.zeros(R_pi.shape[0])
        for idx, op in zip(self.states, self.ops):
            q = np.asarray(op @ V).reshape(self.n_actions, idx.size)
            V[idx] = R_pi[idx] + gamma * np.einsum("ja,aj->j", pi[idx], q)
        return V

    def occupancy(self, pi: FloatArray, mu: FloatArray, gamma: float) -> FloatArray:
        r""":math:`d^\pi` by one forward sweep over the layers."""
        d = np.where(self.terminal, 0.0, mu)
        for idx, op in zip(reversed(self.states), reversed(self.ops)):
            flow = gamma * (pi[idx] * d[idx][:, None]).T.reshape(-1)
            d += np.asarray(op.T @ flow).reshape(-1)
        d[self.terminal] = 0.0
        return d


def acyclic_layers(mdp: MDP) -> Layers | None:
    """A :class:`Layers` for the MDP, or None when it has a cycle or too many heights."""
    S = mdp.n_states
    T = mdp.terminal
    coo = sp.coo_array(mdp._op)
    src = coo.row % S
    keep = mdp.allowed.T.reshape(-1)[coo.row] & (coo.data > 0) & ~T[src] & ~T[coo.col]
    src, dst = src[keep], coo.col[keep]
    if (src == dst).any():
        return None
    G = sp.csr_array((np.ones(src.size), (src, dst)), shape=(S, S))
    G.sum_duplicates()
    G.data[:] = 1.0
    outdeg = np.asarray(G.sum(axis=1)).ravel()
    heights = np.full(S, -1)
    remaining = ~T
    n_left = int(remaining.sum())
    frontier = remaining & (outdeg == 0)
    h = 0
    while frontier.any():
        if h >= MAX_LAYERS:
            return None
        n_left -= int(frontier.sum())
        if h >= 8 and n_left * (h + 1) > (MAX_LAYERS - h) * (S - n_left):
            return None  # at this pace the layers would run past MAX_LAYERS: give up early
        heights[frontier] = h
        remaining = remaining & ~frontier
        outdeg = outdeg - G @ frontier.astype(np.float64)
        frontier = remaining & (outdeg < 0.5)
        h += 1
    if remaining.any():
        return None
    return Layers(mdp, heights)


def layers_of(mdp: MDP) -> Layers | None:
    """The :class:`Layers` of an acyclic MDP (None for a cyclic one), analysed once per MDP."""
    return mdp._derived("acyclic_layers", acyclic_layers)
