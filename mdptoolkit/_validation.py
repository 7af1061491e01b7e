"""Private input checks shared by every entry point.

Every public function converts and checks its inputs here, once, so that messages follow one
template: ``"<what> must <rule>; got <actual> at <where>"``, naming the worst offender and how
many entries are bad.
"""

from __future__ import annotations

import numbers

import numpy as np

from .exceptions import MDPValidationError

ROW_SUM_RTOL = 1e-9  # allowed rows of P and rows of stochastic policies sum to 1 within this
PROB_SLACK = 1e-12  # entries in [-slack, 1 + slack] are accepted and clipped to [0, 1]


def freeze(array):
    """Mark an ndarray read-only and return it."""
    array.flags.writeable = False
    return array


def fmt_index(index):
    return ", ".join(str(int(i)) for i in index)


def check_gamma(gamma):
    if isinstance(gamma, bool) or not isinstance(gamma, numbers.Real):
        raise TypeError(f"gamma must be a real number; got {type(gamma).__name__}")
    gamma = float(gamma)
    if not 0.0 <= gamma <= 1.0:
        raise MDPValidationError(f"gamma must be in [0, 1]; got {gamma!r}")
    return gamma


def check_positive(value, name, *, allow_zero=False, integer=False):
    kind = numbers.Integral if integer else numbers.Real
    if isinstance(value, bool) or not isinstance(value, kind):
        raise TypeError(f"{name} must be {'an integer' if integer else 'a real number'}; "
                        f"got {type(value).__name__}")
    ok = value >= 0 if allow_zero else value > 0
    if not ok or not np.isfinite(value):
        rule = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be finite and {rule}; got {value!r}")
    return int(value) if integer else float(value)


def check_finite(array, name):
    """Raise naming the first non-finite entry of ``array``."""
    bad = ~np.isfinite(array)
    if bad.any():
        idx = np.argwhere(bad)
        first = tuple(idx[0])
        raise MDPValidationError(
            f"{name} must be finite; got {fmt_num(array[first])} at {name}[{fmt_index(first)}] "
            f"({len(idx)} non-finite entries)")


def as_float_array(x, name, *, shape=None, ndim=None, allow_neg_inf=False):
    """Copy ``x`` to a fresh float64 array and check its shape and finiteness."""
    try:
        array = np.array(x, dtype=np.float64, copy=True)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{name} must be array-like of real numbers; got {type(x).__name__}") from err
    if ndim is not None and array.ndim not in np.atleast_1d(ndim):
        raise MDPValidationError(f"{name} must have {ndim} dimensions; got shape {array.shape}")
    if shape is not None and array.shape != tuple(shape):
        raise MDPValidationError(f"{name} must have shape {tuple(shape)}; got {array.shape}")
    if array.dtype.kind == "f" and np.isfinite(array.sum()):
        return array  # one reduction: a NaN or an infinity would have made the sum non-finite
    if np.isnan(array).any():
        idx = tuple(np.argwhere(np.isnan(array))[0])
        raise MDPValidationError(f"{name} must not contain NaN; got nan at {name}[{fmt_index(idx)}]")
    if not allow_neg_inf:
        check_finite(array, name)
    else:
        pos = np.isposinf(array)
        if pos.any():
            idx = tuple(np.argwhere(pos)[0])
            raise MDPValidationError(f"{name} must not contain +inf; got inf at {name}[{fmt_index(idx)}]")
    return array


def as_bool_mask(x, name, shape):
    array = np.asarray(x)
    if array.shape != tuple(shape):
        raise MDPValidationError(f"{name} must have shape {tuple(shape)}; got {array.shape}")
    if array.dtype != bool:
        if not np.isin(array, (0, 1)).all():
            raise MDPValidationError(f"{name} must be a boolean mask; got values other than 0/1")
        array = array.astype(bool)
    return freeze(array.copy())


def check_probabilities(values, name):
    """Check entries lie in [0, 1] (with a round-off slack); clip the slack in place."""
    low, high = values.min(initial=0.0), values.max(initial=0.0)
    if low < -PROB_SLACK or high > 1 + PROB_SLACK:
        which = int(np.argmin(values) if low < -PROB_SLACK else np.argmax(values))
        n_bad = int(np.count_nonzero((values < -PROB_SLACK) | (values > 1 + PROB_SLACK)))
        return values.flat[which], which, n_bad
    np.clip(values, 0.0, 1.0, out=values)
    return None


def row_sum_error(sums, rows_checked):
    """Return (worst row position, its sum, count of bad rows) or None when all rows sum to 1."""
    dev = np.abs(sums - 1.0)
    dev[~rows_checked] = 0.0
    bad = dev > ROW_SUM_RTOL
    if not bad.any():
        return None
    worst = int(np.argmax(dev))
    return worst, float(sums[worst]), int(bad.sum()), int(rows_checked.sum())


def fmt_num(x):
    return f"{x:.10g}"


def as_policy_matrix(mdp, policy, name="policy"):
    """Return the (S, A) probability matrix of a deterministic or stochastic policy.

    Deterministic policies are integer arrays (S,). Stochastic policies are float arrays
    (S, A) with rows summing to 1 and zero probability on disallowed actions (terminal
    states excepted: any action is fine there).
    """
    S, A = mdp.n_states, mdp.n_actions
    arr = np.asarray(policy)
    if arr.ndim == 1:
        if arr.shape != (S,):
            raise MDPValidationError(f"{name} must have shape ({S},) (deterministic) or ({S}, {A}) "
                                     f"(stochastic); got {arr.shape}")
        if arr.dtype == bool or not np.issubdtype(arr.dtype, np.integer):
            raise TypeError(f"a deterministic {name} must be an integer array of actions; "
                            f"got dtype {arr.dtype}")
        out_of_range = (arr < 0) | (arr >= A)
        if out_of_range.any():
            s = int(np.argmax(out_of_range))
            raise MDPValidationError(f"{name} actions must be in 0..{A - 1}; got {int(arr[s])} "
                                     f"at {name}[{s}]")
        ok = mdp.allowed[np.arange(S), arr] | mdp.terminal
        if not ok.all():
            s = int(np.argmax(~ok))
            raise MDPValidationError(f"{name} must choose allowed actions; got disallowed action "
                                     f"{int(arr[s])} at state {s} ({int((~ok).sum())} states)")
        matrix = np.zeros((S, A))
        matrix[np.arange(S), arr] = 1.0
        return freeze(matrix)
    if arr.shape != (S, A):
        raise MDPValidationError(f"{name} must have shape ({S},) (deterministic) or ({S}, {A}) "
                                 f"(stochastic); got {arr.shape}")
    matrix = as_float_array(arr, name)
    if matrix.min(initial=0.0) < 0:
        s, a = np.argwhere(matrix < 0)[0]
        raise MDPValidationError(f"{name} probabilities must be >= 0; got {fmt_num(matrix[s, a])} "
                                 f"at {name}[{s}, {a}]")
    err = row_sum_error(matrix @ np.ones(A), np.ones(S, bool))  # sums short rows fast
    if err is not None:
        s, total, n_bad, _ = err
        raise MDPValidationError(f"row {name}[{s}, :] sums to {fmt_num(total)}, expected 1 "
                                 f"(rtol={ROW_SUM_RTOL:g}); {n_bad} rows are bad")
    if not mdp._all_allowed:
        leak = (matrix > 0) & ~mdp.allowed & ~mdp.terminal[:, None]
        if leak.any():
            s, a = np.argwhere(leak)[0]
            raise MDPValidationError(f"{name} must give probability 0 to disallowed actions; "
                                     f"got {fmt_num(matrix[s, a])} at {name}[{s}, {a}] "
                                     f"({int(leak.sum())} such entries)")
    return freeze(matrix)


def is_deterministic(policy):
    return np.asarray(policy).ndim == 1


def as_values(mdp, V, name="V"):
    return freeze(as_float_array(V, name, shape=(mdp.n_states,)))


def as_reference(mdp, reference, name="reference"):
    """(S, A) reference policy; default uniform over allowed actions."""
    if reference is None:
        ref = mdp.allowed / mdp.allowed.sum(axis=1, keepdims=True)
        return freeze(ref)
    ref = np.asarray(reference)
    if ref.ndim == 1:
        raise MDPValidationError(f"{name} must be a stochastic policy of shape "
                                 f"({mdp.n_states}, {mdp.n_actions}); got shape {ref.shape}")
    return as_policy_matrix(mdp, ref, name)


def check_beta(beta, *, allow_zero=True):
    return check_positive(beta, "beta", allow_zero=allow_zero)


def default_rng(seed):
    """The one place randomness is created: an int, a Generator or None."""
    if seed is not None and not isinstance(seed, (numbers.Integral, np.random.Generator,
                                                   np.random.SeedSequence)):
        raise TypeError(f"seed must be an int, a numpy Generator or None; got {type(seed).__name__}")
    return np.random.default_rng(seed)


def check_distribution(p, n, name):
    """A read-only probability vector of length n (uniform when ``p`` is None)."""
    if p is None:
        return freeze(np.full(n, 1.0 / n))
    p = as_float_array(p, name, shape=(n,))
    if (p < 0).any():
        s = int(np.argmin(p))
        raise MDPValidationError(f"{name} must be non-negative; got {fmt_num(p[s])} at {name}[{s}]")
    total = p.sum()
    if abs(total - 1) > ROW_SUM_RTOL:
        raise MDPValidationError(f"{name} must sum to 1 (rtol={ROW_SUM_RTOL:g}); got "
                                 f"{fmt_num(total)}")
    return freeze(p)


def check_names(names, n, what):
    """None, or a tuple of n str names."""
    if names is None:
        return None
    if isinstance(names, str):
        raise TypeError(f"{what} must be a sequence of {n} strings; got a single str")
    names = tuple(str(x) for x in names)
    if len(names) != n:
        raise MDPValidationError(f"{what} must have {n} entries; got {len(names)}")
    return names
