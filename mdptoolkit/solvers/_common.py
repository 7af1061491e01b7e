"""What the dynamic-programming solvers share: starting values, the result's tail (greedy
policy, Q), a deterministic policy's rows."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import scipy.sparse as sp

from .. import _validation as val
from .._typing import ArrayLike, FloatArray, IntArray, Matrix
from ..evaluation.chain import check_value_range, csr_rows
from ..exceptions import ConvergenceWarning
from ..mdp import MDP
from ..operators import _Backup
from ..result import SolverResult


def _initial_values(mdp: MDP, V0: ArrayLike | None, name: str = "V0") -> FloatArray:
    """A fresh (S,) array of starting values (0 by default, and at terminal states)."""
    if V0 is None:
        return np.zeros(mdp.n_states)
    V = val.as_float_array(V0, name, shape=(mdp.n_states,))
    V[mdp.terminal] = 0.0
    return V


def check_rewards(mdp: MDP) -> None:
    """Refuse, before any work, an MDP whose values overflow float64 (gamma < 1)."""
    check_value_range(mdp._R0, mdp.gamma)


def _finish(mdp: MDP, method: str, V: FloatArray, k: int, converged: bool, message: str,
            history: dict[str, FloatArray], error_bound: float | None = None,
            backup: _Backup | None = None, spare: FloatArray | None = None,
            **extra: Any) -> SolverResult:
    """Common tail: Q from the returned V, greedy policy (lowest index among ties).

    ``V`` is the solver's own array (set to 0 at terminal states in place). Reuses the
    solver's backup buffer and the ``spare`` (S,) array when given, the solver being done
    with them: Q is returned as the (S, A) transposed view of the (A, S) buffer, and the
    greedy policy is found row by row, since ``np.argmax(Q, axis=0)`` would copy the buffer
    transposed. Value iteration then peaks at its working set, not above it."""
    V[mdp.terminal] = 0.0
    backup = _Backup(mdp) if backup is None else backup
    best, Q_am = backup.max(V, out=spare)
    policy = greedy_rows(Q_am, best)
    Q = Q_am.T
    return SolverResult(V=V, Q=Q, policy=policy, iterations=k, converged=converged,
                        method=method, message=message, history=history,
                        error_bound=error_bound, **extra)


def greedy_rows(Q_am: FloatArray, best: FloatArray) -> IntArray:
    """argmax over the rows of the action-major (A, S) array whose maximum is ``best``:
    the lowest action attaining it, like ``np.argmax(Q_am, axis=0)`` but without its
    transposed copy of the array."""
    policy = np.zeros(Q_am.shape[1], dtype=np.intp)
    for a in range(Q_am.shape[0] - 1, -1, -1):
        policy[Q_am[a] == best] = a
    return policy


def _warn_if_stopped(converged: bool, message: str, stopped_by_callback: bool) -> None:
    if not converged and not stopped_by_callback:
        warnings.warn(message, ConvergenceWarning, stacklevel=3)


def one_hot(policy: IntArray, n_actions: int) -> FloatArray:
    """(S, A) matrix of a deterministic policy."""
    pi = np.zeros((policy.size, n_actions))
    pi[np.arange(policy.size), policy] = 1.0
    return pi


def _policy_matrix_rows(mdp: MDP, policy: IntArray,
                        raw: bool = False) -> tuple[Matrix, FloatArray]:
    """Transition matrix and rewards of a deterministic policy (CSR or dense rows of P);
    ``raw``: CSR rows as an :class:`~mdptoolkit.evaluation.CSRRows` (for the sweeps, which
    need no matrix object)."""
    rows = policy * mdp.n_states + np.arange(mdp.n_states)
    op = mdp._op
    R_pi = mdp._R_am.reshape(-1)[rows]
    if not sp.issparse(op):
        return op[rows], R_pi
    return csr_rows(op, rows, raw=raw), R_pi
