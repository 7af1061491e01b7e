"""Private input checks shared by every entry point.

Every public function converts and checks its inputs here, once, so that messages follow one
template: ``"<what> must <rule>; got <actual> at <where>"``, naming the worst offender and how
many entries are bad.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Literal, TypeVar, overload

import numpy as np

from ._typing import ArrayLike, BoolArray, FloatArray
from .exceptions import MDPValidationError

ROW_SUM_RTOL = 1e-9  # allowed rows of P and rows of stochastic policies sum to 1 within this
PROB_SLACK = 1e-12  # entries in [-slack, 1 + slack] are accepted and clipped to [0, 1]

_A = TypeVar("_A", bound=np.ndarray)


def freeze(array: _A) -> _A:
    """Mark an ndarray read-only and return it."""
    array.flags.writeable = False
    return array


def fmt_index(index: Iterable[Any]) -> str:
    return ", ".join(str(int(i)) for i in index)


def check_gamma(gamma: object) -> float:
    if isinstance(gamma, bool) or not isinstance(gamma, numbers.Real):
        raise TypeError(f"gamma must be a real number; got {type(gamma).__name__}")
    gamma = float(gamma)
    if not 0.0 <= gamma <= 1.0:
        raise MDPValidationError(f"gamma must be in [0, 1]; got {gamma!r}")
    return gamma


def check_int(value: object, name: str, *, minimum: int) -> int:
    """An integer >= minimum; TypeError for a non-integer, MDPValidationError (a ValueError)
    for one out of range."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer; got {type(value).__name__}")
    if value < minimum:
        raise MDPValidationError(f"{name} must be >= {minimum}; got {value!r}")
    return int(value)


def check_real(value: object, name: str, *, low: float = -np.inf, high: float = np.inf,
               low_open: bool = False, high_open: bool = False) -> float:
    """A finite real number in the interval from ``low`` to ``high`` (open at an end whose
    ``*_open`` is set); TypeError for a non-number, MDPValidationError (a ValueError) else."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number; got {type(value).__name__}")
    value = float(value)
    ok = bool(np.isfinite(value))
    ok &= value > low if low_open else value >= low
    ok &= value < high if high_open else value <= high
    if not ok:
        left = "(" if low_open else "["
        right = ")" if high_open else "]"
        if np.isfinite(low) and np.isfinite(high):
            rule = f"be in {left}{low:g}, {high:g}{right}"
        elif np.isfinite(low):
            rule = f"be finite and {'>' if low_open else '>='} {low:g}"
        elif np.isfinite(high):
            rule = f"be finite and {'<' if high_open else '<='} {high:g}"
        else:
            rule = "be finite"
        raise MDPValidationError(f"{name} must {rule}; got {value!r}")
    return value


def check_choice(value: object, name: str, choices: Sequence[str]) -> str:
    """One of the strings ``choices``; MDPValidationError listing them otherwise."""
    if not isinstance(value, str) or value not in choices:
        valid = ", ".join(repr(c) for c in choices)
        raise MDPValidationError(f"{name} must be one of {valid}; got {value!r}")
    return value


@overload
def check_positive(value: object, name: str, *, allow_zero: bool = ...,
                   integer: Literal[False] = ...) -> float: ...
@overload
def check_positive(value: object, name: str, *, allow_zero: bool = ...,
                   integer: Literal[True]) -> int: ...
def check_positive(value: object, name: str, *, allow_zero: bool = False,
                   integer: bool = False) -> float:
    """A finite number > 0 (>= 0 with ``allow_zero``): an int when ``integer``, else a float."""
    if not integer:
        return check_real(value, name, low=0.0, low_open=not allow_zero)
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer; got {type(value).__name__}")
    if value < 0 or (value == 0 and not allow_zero):
        raise MDPValidationError(f"{name} must be finite and {'>=' if allow_zero else '>'} 0; "
                                 f"got {value!r}")
    return int(value)


def check_finite(array: np.ndarray, name: str) -> None:
    """Raise naming the first non-finite entry of ``array``."""
    bad = ~np.isfinite(array)
    if bad.any():
        idx = np.argwhere(bad)
        first = tuple(idx[0])
        raise MDPValidationError(f"{name} must be finite; got {fmt_num(array[first])} at "
                                 f"{name}[{fmt_index(first)}] ({len(idx)} non-finite entries)")


def check_real_dtype(array: np.ndarray, name: str,
                     where: Callable[[int], str] | None = None) -> None:
    """Refuse a complex array before anything drops its imaginary part.

    ``where(flat_index)`` names an entry (default ``name[i, j, ...]``)."""
    if array.dtype.kind != "c":
        return
    imag = array.imag
    nonzero = np.flatnonzero(imag)
    if nonzero.size:
        k = int(nonzero[0])
        loc = where(k) if where else f"{name}[{fmt_index(np.unravel_index(k, array.shape))}]"
        got = f"{complex(array.flat[k])} at {loc} ({nonzero.size} entries with an imaginary part)"
    else:
        got = "a complex array whose imaginary parts are all 0 (pass its .real)"
    raise MDPValidationError(f"{name} must be real; got dtype {array.dtype}: {got}")


def as_real_array(x: ArrayLike, name: str) -> np.ndarray:
    """``np.asarray(x)`` (no copy for an ndarray), refused when complex or not numeric."""
    try:
        array = np.asarray(x)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{name} must be array-like of real numbers; got "
                        f"{type(x).__name__}") from err
    check_real_dtype(array, name)
    return array


def as_float_array(x: ArrayLike, name: str, *, shape: tuple[int, ...] | None = None,
                   ndim: int | None = None, allow_neg_inf: bool = False) -> FloatArray:
    """Copy ``x`` to a fresh float64 array and check its shape and finiteness (complex input
    is refused, never silently made real)."""
    array = as_real_array(x, name)
    try:
        array = np.array(array, dtype=np.float64, copy=True)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{name} must be array-like of real numbers; got "
                        f"{type(x).__name__}") from err
    if ndim is not None and array.ndim not in np.atleast_1d(ndim):
        raise MDPValidationError(f"{name} must have {ndim} dimensions; got shape {array.shape}")
    if shape is not None and array.shape != tuple(shape):
        raise MDPValidationError(f"{name} must have shape {tuple(shape)}; got {array.shape}")
    with np.errstate(over="ignore", invalid="ignore"):  # huge finite entries may sum to inf
        total = array.sum() if array.dtype.kind == "f" else np.nan
    if np.isfinite(total):
        return array  # one reduction: a NaN or an infinity would have made the sum non-finite
    if np.isnan(array).any():
        idx = tuple(np.argwhere(np.isnan(array))[0])
        raise MDPValidationError(f"{name} must not contain NaN; got nan at "
                                 f"{name}[{fmt_index(idx)}]")
    if not allow_neg_inf:
        check_finite(array, name)
    else:
        pos = np.isposinf(array)
        if pos.any():
            idx = tuple(np.argwhere(pos)[0])
            raise MDPValidationError(f"{name} must not contain +inf; got inf at "
                                     f"{name}[{fmt_index(idx)}]")
    return array


def as_bool_mask(x: ArrayLike, name: str, shape: tuple[int, ...]) -> BoolArray:
    array = np.asarray(x)
    if array.shape != tuple(shape):
        raise MDPValidationError(f"{name} must have shape {tuple(shape)}; got {array.shape}")
    if array.dtype != bool:
        if not np.isin(array, (0, 1)).all():
            raise MDPValidationError(f"{name} must be a boolean mask; got values other than 0/1")
        array = array.astype(bool)
    return freeze(array.copy())


def check_some_allowed(allowed: BoolArray) -> None:
    """Every row (state) of the (S, A) mask ``allowed`` must allow an action."""
    none = ~allowed.any(axis=1)
    if none.any():
        s = int(np.argmax(none))
        raise MDPValidationError(f"every state must have at least one allowed action; got none "
                                 f"at state {s} ({int(none.sum())} such states)")


def check_probabilities(values: np.ndarray, name: str) -> tuple[Any, int, int] | None:
    """Check entries lie in [0, 1] (with a round-off slack); clip the slack in place.

    Returns (the worst entry, its flat index, the count of bad entries), or None when all
    are probabilities."""
    low, high = values.min(initial=0.0), values.max(initial=0.0)
    if low < -PROB_SLACK or high > 1 + PROB_SLACK:
        which = int(np.argmin(values) if low < -PROB_SLACK else np.argmax(values))
        n_bad = int(np.count_nonzero((values < -PROB_SLACK) | (values > 1 + PROB_SLACK)))
        return values.flat[which], which, n_bad
    np.clip(values, 0.0, 1.0, out=values)
    return None


def row_sum_rtol(dtype: Any, row_length: int) -> float:
    """Tolerance on the row sums of P (and of stochastic policies) given in ``dtype``.

    float64 (and integer) input: :data:`ROW_SUM_RTOL`. A lower precision (float32 from a GPU
    framework, float16): ``4 * eps * max(1, ceil(log2(row_length)))`` with ``eps`` the dtype's
    machine epsilon, the error of a pairwise sum in that precision (about 1e-6 for float32
    rows of a few hundred entries); the rows are then renormalized in float64."""
    dtype = np.dtype(dtype)
    if dtype.kind != "f" or np.finfo(dtype).eps <= np.finfo(np.float64).eps:
        return ROW_SUM_RTOL
    depth = max(1, int(np.ceil(np.log2(max(int(row_length), 1)))))
    return max(ROW_SUM_RTOL, 4.0 * float(np.finfo(dtype).eps) * depth)


def row_sum_error(sums: np.ndarray, rows_checked: BoolArray,
                  rtol: float = ROW_SUM_RTOL) -> tuple[int, float, int, int] | None:
    """Return (worst row position, its sum, count of bad rows, count of rows checked) or None
    when all rows sum to 1."""
    dev = np.abs(sums - 1.0)
    dev[~rows_checked] = 0.0
    bad = dev > rtol
    if not bad.any():
        return None
    worst = int(np.argmax(dev))
    return worst, float(sums[worst]), int(bad.sum()), int(rows_checked.sum())


def fmt_num(x: Any) -> str:
    return f"{x:.10g}"


def as_policy_matrix(mdp: Any, policy: ArrayLike, name: str = "policy") -> FloatArray:
    """Return the (S, A) probability matrix of a deterministic or stochastic policy.

    Deterministic policies are integer arrays (S,). Stochastic policies are float arrays
    (S, A) with rows summing to 1 and zero probability on disallowed actions (terminal
    states excepted: any action is fine there).
    """
    S, A = mdp.n_states, mdp.n_actions
    arr = np.asarray(policy)
    if arr.ndim == 1:
        if arr.shape != (S,):
            raise MDPValidationError(f"{name} must have shape ({S},) (deterministic) or ({S}, "
                                     f"{A}) (stochastic); got {arr.shape}")
        if arr.dtype == bool or not np.issubdtype(arr.dtype, np.integer):
            raise TypeError(f"a deterministic {name} must be an integer array of actions; "
                            f"got dtype {arr.dtype}")
        out_of_range = (arr < 0) | (arr >= A)
        if out_of_range.any():
            s = int(np.argmax(out_of_range))
            raise MDPValidationError(f"{name} actions must be in 0..{A - 1}; got {int(arr[s])} at "
                                     f"{name}[{s}]")
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
    rtol = row_sum_rtol(arr.dtype, A)
    if matrix.min(initial=0.0) < 0:
        s, a = np.argwhere(matrix < 0)[0]
        raise MDPValidationError(f"{name} probabilities must be >= 0; got {fmt_num(matrix[s, a])} "
                                 f"at {name}[{s}, {a}]")
    sums = matrix @ np.ones(A)  # sums short rows fast
    err = row_sum_error(sums, np.ones(S, bool), rtol)
    if err is not None:
        s, total, n_bad, _ = err
        raise MDPValidationError(f"row {name}[{s}, :] sums to {fmt_num(total)}, expected 1 "
                                 f"(rtol={rtol:g}); {n_bad} rows are bad")
    if rtol > ROW_SUM_RTOL:  # a low-precision policy: renormalize in float64
        matrix /= sums[:, None]
    if not mdp._all_allowed:
        leak = (matrix > 0) & ~mdp.allowed & ~mdp.terminal[:, None]
        if leak.any():
            s, a = np.argwhere(leak)[0]
            raise MDPValidationError(f"{name} must give probability 0 to disallowed actions; got "
                                     f"{fmt_num(matrix[s, a])} at {name}[{s}, {a}] "
                                     f"({int(leak.sum())} such entries)")
    return freeze(matrix)


def is_deterministic(policy: ArrayLike) -> bool:
    return np.asarray(policy).ndim == 1


def as_values(mdp: Any, V: ArrayLike, name: str = "V") -> FloatArray:
    return freeze(as_float_array(V, name, shape=(mdp.n_states,)))


def as_reference(mdp: Any, reference: ArrayLike | None, name: str = "reference") -> FloatArray:
    """(S, A) reference policy; default uniform over allowed actions."""
    if reference is None:
        ref = mdp.allowed / mdp.allowed.sum(axis=1, keepdims=True)
        return freeze(ref)
    ref = np.asarray(reference)
    if ref.ndim == 1:
        raise MDPValidationError(f"{name} must be a stochastic policy of shape ({mdp.n_states}, "
                                 f"{mdp.n_actions}); got shape {ref.shape}")
    return as_policy_matrix(mdp, ref, name)


def check_beta(beta: object, *, allow_zero: bool = True) -> float:
    return check_positive(beta, "beta", allow_zero=allow_zero)


def default_rng(seed: object) -> np.random.Generator:
    """The one place randomness is created: an int >= 0, a Generator or None."""
    if isinstance(seed, bool) or (
            seed is not None and not isinstance(seed, (numbers.Integral, np.random.Generator,
                                                       np.random.SeedSequence))):
        raise TypeError("seed must be an int, a numpy Generator or None; got "
                        f"{type(seed).__name__}")
    if isinstance(seed, numbers.Integral) and seed < 0:
        raise MDPValidationError(f"seed must be a non-negative integer; got {int(seed)}")
    return np.random.default_rng(seed)  # type: ignore[arg-type]  # Integral: numpy's stubs want int


def check_distribution(p: ArrayLike | None, n: int, name: str) -> FloatArray:
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


def check_names(names: Iterable[Any] | None, n: int, what: str) -> tuple[str, ...] | None:
    """None, or a tuple of n str names."""
    if names is None:
        return None
    if isinstance(names, str):
        raise TypeError(f"{what} must be a sequence of {n} strings; got a single str")
    names = tuple(str(x) for x in names)
    if len(names) != n:
        raise MDPValidationError(f"{what} must have {n} entries; got {len(names)}")
    return names
