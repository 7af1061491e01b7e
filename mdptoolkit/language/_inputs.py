"""Reading the inputs of a :class:`~mdptoolkit.language.LanguageMDP`: the reward model, the
per-token rewards and the reference model in each of their accepted forms, checked with
messages that name the sequence, prefix or token at fault."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import _validation as val
from .._typing import FloatArray
from ..exceptions import MDPValidationError
from ._layout import BOS_NAME, END_NAME


def state_names(lm: Any) -> np.ndarray:
    L = lm._max_len
    words = np.array([str(t) for t in lm._vocab], dtype=object)
    levels = [np.array([BOS_NAME], dtype=object)]
    if L > 1:
        levels.append(words)
    spaced = " " + words
    for _ in range(2, L):
        levels.append((levels[-1][:, None] + spaced[None, :]).ravel())
    levels.append(np.array([END_NAME], dtype=object))
    return np.concatenate(levels)

def sequence_rewards(lm: Any, reward: Any) -> FloatArray:
    n = lm._n_sequences
    if callable(reward):
        out = np.empty(n)
        for j, y in enumerate(lm._sequences):
            out[j] = _as_real(reward(y), "reward", lambda: f"sequence {y!r}")
    elif isinstance(reward, (str, bytes)) or not isinstance(reward, (Sequence, np.ndarray)):
        raise TypeError(f"reward must be a callable on token tuples or an array of shape "
                        f"({n},); got {type(reward).__name__}")
    else:
        out = val.as_float_array(reward, "reward", allow_neg_inf=True)
        if out.shape != (n,):
            raise MDPValidationError(f"reward must have shape ({n},) (one value per complete "
                                     f"sequence, by sequence index); got {out.shape}")
    bad = ~np.isfinite(out)
    if bad.any():
        j = int(np.argmax(bad))
        raise MDPValidationError(f"reward must be finite; got {val.fmt_num(out[j])} for "
                                 f"{lm._describe(j, 'sequence')} ({int(bad.sum())} such sequences)")
    return out

def token_rewards(lm: Any, token_reward: Any) -> FloatArray:
    S, A = lm._n_states, lm._n_actions
    N = S - 1
    R = np.zeros((S, A))
    if token_reward is None:
        return R
    if callable(token_reward):
        for s, prefix in enumerate(lm._prefixes):
            for a, token in enumerate(lm._actions):
                R[s, a] = _as_real(token_reward(prefix, token), "token_reward",
                                   lambda: f"token {token!r} after {lm._describe(s)}")
    else:
        R[:] = val.as_float_array(token_reward, "token_reward", shape=(S, A))
        R[N] = 0.0
    bad = ~np.isfinite(R[:N])
    if bad.any():
        s, a = np.argwhere(bad)[0]
        raise MDPValidationError(f"token_reward must be finite; got {val.fmt_num(R[s, a])} for "
                                 f"token {lm._actions[a]!r} after {lm._describe(s)}")
    return R

def contexts(lm: Any) -> Any:
    """Bigram context of each state: id of its last token, V for the empty prefix and the
    terminal state."""
    V, S = len(lm._vocab), lm._n_states
    ctx = np.full(S, V, dtype=np.int64)
    ctx[1:S - 1] = (np.arange(1, S - 1) - 1) % V
    return ctx

def reference_matrix(lm: Any, reference: Any) -> FloatArray:
    S, A, V = lm._n_states, lm._n_actions, len(lm._vocab)
    N = S - 1
    ref = np.empty((S, A))
    if reference is None:
        ref[:] = 1.0 / A
        return ref
    if callable(reference):
        for s, prefix in enumerate(lm._prefixes):
            row = val.as_real_array(reference(prefix), "reference(prefix)").astype(np.float64)
            if row.shape != (A,):
                raise MDPValidationError(f"reference(prefix) must return {A} probabilities (one "
                                         f"per action); got shape {row.shape} for "
                                         f"{lm._describe(s)}")
            ref[s] = row
    else:
        table = val.as_float_array(reference, "reference")
        if table.shape == (S, A):
            ref[:N] = table[:N]
        elif table.shape == (V + 1, A):
            _check_rows(table, lambda i: f"bigram row {i} (after "
                        f"{repr(lm._vocab[i]) if i < V else BOS_NAME})", "reference")
            ref[:] = table[contexts(lm)]
        else:
            raise MDPValidationError(f"reference must have shape ({S}, {A}) (per state) or "
                                     f"({V + 1}, {A}) (bigram table); got {table.shape}")
    ref[N] = 1.0 / A
    _check_rows(ref[:N], lm._describe, "reference")
    return ref


def _as_real(value, name, where):
    """float(value), or a TypeError naming ``where()`` (None and str are not numbers)."""
    if value is None or isinstance(value, (str, bytes)):
        raise TypeError(f"{name} must return a real number; got {type(value).__name__} for "
                        f"{where()}")
    try:
        return float(value)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{name} must return a real number; got {type(value).__name__} for "
                        f"{where()}") from err


def _check_rows(table, describe, name):
    """Rows must be finite, non-negative and sum to 1 (rtol 1e-9)."""
    bad_value = ~np.isfinite(table) | (table < 0)
    if bad_value.any():
        i, j = np.argwhere(bad_value)[0]
        raise MDPValidationError(f"{name} probabilities must be finite and >= 0; got "
                                 f"{val.fmt_num(table[i, j])} in column {j} of {describe(int(i))}")
    err = val.row_sum_error(table.sum(axis=1), np.ones(table.shape[0], dtype=bool))
    if err is not None:
        i, total, n_bad, _ = err
        raise MDPValidationError(f"{name} rows must sum to 1 (rtol={val.ROW_SUM_RTOL:g}); got "
                                 f"{val.fmt_num(total)} for {describe(i)} ({n_bad} bad rows)")
