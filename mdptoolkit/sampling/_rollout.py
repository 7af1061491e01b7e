r"""Rollouts: episodes of a whole batch sampled at once, one vectorized step per time step.

Next states are drawn by inverse CDF on the rows of the flat transition matrix (see the
package docstring); actions from the policy's rows the same way."""

from __future__ import annotations

import bisect

import numpy as np
import scipy.sparse as sp


class _Categorical:
    """Inverse-CDF sampling from many categorical distributions (one per row) at once.

    ``rows`` (sorted), ``labels`` and ``weights`` list the entries; zero weights are dropped
    and each row's cumulative sums F are normalized to end at exactly 1. A draw with uniform
    u takes the first entry of its row with F > u. Two vectorized layouts:

    - short rows (at most 32 entries, little padding): F padded column by column, and the
      index counted with one gather-and-compare per column — a few contiguous passes;
    - long rows: the keys ``row + F`` increase through the whole array, so one
      ``searchsorted`` serves every row.
    """

    _MAX_COLUMNS = 32

    def __init__(self, rows, labels, weights, n_rows):
        keep = weights > 0
        rows, labels, weights = rows[keep], labels[keep], weights[keep]
        counts = np.bincount(rows, minlength=n_rows)
        self.indptr = np.zeros(n_rows + 1, dtype=np.intp)
        np.cumsum(counts, out=self.indptr[1:])
        start, end = self.indptr[:-1], self.indptr[1:]
        nonempty = counts > 0
        self.labels = np.asarray(labels, dtype=np.intp)
        self._lists = None
        K = int(counts.max(initial=0))
        if K <= self._MAX_COLUMNS and n_rows * K <= 4 * weights.size + 1024:
            # row-local cumulative sums, exact to round-off of at most 32 terms
            position = np.arange(weights.size) - start[rows]
            C = np.zeros((K, n_rows))
            C[position, rows] = weights
            np.cumsum(C, axis=0, out=C)
            total = np.where(nonempty, C[-1], 1.0)
            C /= total
            np.minimum(C, 1.0, out=C)
            C[counts[nonempty] - 1, np.flatnonzero(nonempty)] = 1.0
            self.F = C[position, rows]
            pad = np.arange(K)[:, None] >= counts[None, :]
            C[pad] = 2.0  # 2 > any u: padding is never counted
            self.columns = C[:K - 1]  # the last entry of a row is 1 > u: never counted
            self.keys = None
        else:
            # long rows: global cumulative sums (absolute round-off ~ 2^-52 * nnz)
            csum = np.concatenate([[0.0], np.cumsum(weights)])
            total = np.where(nonempty, csum[end] - csum[start], 1.0)
            F = (csum[1:] - csum[start][rows]) / total[rows]
            np.minimum(F, 1.0, out=F)
            F[end[nonempty] - 1] = 1.0
            self.F = F
            self.columns = None
            self.keys = rows + F

    def sample(self, rows, u):
        """One label per entry of ``rows``, with uniforms ``u`` in [0, 1)."""
        if self.columns is not None:
            j = self.indptr[rows]
            for column in self.columns:
                j += column[rows] <= u
            return self.labels[j]
        j = np.searchsorted(self.keys, rows + u, side="right")
        np.minimum(j, self.indptr[rows + 1] - 1, out=j)  # round-off guard: stay in the row
        return self.labels[j]

    def sample_one(self, row, u):
        """The scalar version, for learners that act one step at a time."""
        if self._lists is None:
            self._lists = (self.F.tolist(), self.labels.tolist(), self.indptr.tolist())
        F, labels, indptr = self._lists
        return labels[bisect.bisect_right(F, u, indptr[row], indptr[row + 1] - 1)]


class _Model:
    """What sampling needs from an MDP, prepared once: transitions, rewards, start, terminals."""

    def __init__(self, mdp):
        S, A = mdp.n_states, mdp.n_actions
        self.S, self.A, self.gamma = S, A, mdp.gamma
        op = mdp._op
        if sp.issparse(op):
            rows = np.repeat(np.arange(A * S), np.diff(op.indptr))
            cols, data = op.indices, op.data
        else:
            rows, cols = np.nonzero(op)
            data = op[rows, cols]
        self.next = _Categorical(rows, cols, data, A * S)
        support = np.flatnonzero(mdp.mu > 0)
        self.start = _Categorical(np.zeros(support.size, np.intp), support, mdp.mu[support], 1)
        self.R = np.asarray(mdp._R0)
        self.terminal = np.asarray(mdp.terminal)

    @property
    def terminal_list(self):
        return self._lists()[0]

    @property
    def R_list(self):
        return self._lists()[1]

    def _lists(self):
        if not hasattr(self, "_cached_lists"):
            self._cached_lists = (self.terminal.tolist(), self.R.tolist())
        return self._cached_lists


class _Policy:
    """Action sampling for a fixed (S, A) policy; deterministic ones use no randomness."""

    def __init__(self, pi):
        self.pi = pi
        # rows sum to 1, so S nonzeros in all means one action of probability 1 per state
        self.deterministic = np.count_nonzero(pi) == pi.shape[0]
        self.table = np.argmax(pi, axis=1) if self.deterministic else None
        self._cat = None

    def __call__(self, s, rng):
        if self.deterministic:
            return self.table[s]
        if self._cat is None:
            rows, a = np.nonzero(self.pi)
            self._cat = _Categorical(rows, a, self.pi[rows, a], self.pi.shape[0])
        return self._cat.sample(s, rng.random(s.size))

    def one(self, s, rng):
        """The action in state ``s`` (an int), built from that row only."""
        if self.deterministic:
            return int(self.table[s])
        row = self.pi[s]
        a = np.flatnonzero(row)
        F = np.cumsum(row[a])
        F /= F[-1]
        return int(a[min(int(np.searchsorted(F, rng.random(), side="right")), a.size - 1)])


def _rollout(model, policy, n, max_steps, rng):
    """Sample ``n`` episodes at once; time-major padded arrays cut to the longest episode.

    Returns states (T+1, n), actions (T, n), rewards (T, n), lengths (n,) with T the
    longest episode's length. One episode is sampled by a scalar loop, which is faster there.
    """
    if n == 1:
        return _rollout_one(model, policy, max_steps, rng)
    S = model.S
    terminal = model.terminal
    s = model.start.sample(np.zeros(n, np.intp), rng.random(n))
    s0 = s
    lengths = np.zeros(n, np.intp)
    active = np.flatnonzero(~terminal[s])
    s = s[active]
    record = []
    t = 0
    while active.size and t < max_steps:
        a = policy(s, rng)
        s2 = model.next.sample(a * S + s, rng.random(active.size))
        record.append((active, a, model.R[s, a], s2))
        t += 1
        going = ~terminal[s2]
        if not going.all():
            lengths[active[~going]] = t
            active, s2 = active[going], s2[going]
        s = s2
    lengths[active] = t
    states = np.full((t + 1, n), -1, np.intp)
    actions = np.full((t, n), -1, np.intp)
    rewards = np.zeros((t, n))
    states[0] = s0
    for k, (idx, a, r, s2) in enumerate(record):
        if idx.size == n:
            actions[k], rewards[k], states[k + 1] = a, r, s2
        else:
            actions[k, idx], rewards[k, idx], states[k + 1, idx] = a, r, s2
    return states, actions, rewards, lengths


def _rollout_one(model, policy, max_steps, rng):
    S = model.S
    random = rng.random
    terminal, R = model.terminal_list, model.R_list
    s = model.start.sample_one(0, random())
    states, actions, rewards = [s], [], []
    for _ in range(max_steps):
        if terminal[s]:
            break
        a = policy.one(s, rng)
        s = model.next.sample_one(a * S + s, random())
        actions.append(a)
        rewards.append(R[states[-1]][a])
        states.append(s)
    T = len(actions)
    return (np.array(states, np.intp).reshape(T + 1, 1), np.array(actions, np.intp).reshape(T, 1),
            np.array(rewards, np.float64).reshape(T, 1), np.array([T], np.intp))


def _returns_to_go(rewards, gamma):
    """G_t = r_t + gamma G_{t+1} (time-major, zero-padded rewards)."""
    G = np.zeros_like(rewards)
    acc = np.zeros(rewards.shape[1])
    for t in range(rewards.shape[0] - 1, -1, -1):
        acc = rewards[t] + gamma * acc
        G[t] = acc
    return G
