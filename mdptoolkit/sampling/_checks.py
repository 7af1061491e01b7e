"""Argument checks shared by the sampled learners: counts, step-size schedules, defaults."""

from __future__ import annotations

import numbers

from .. import _validation as val
from ..exceptions import MDPValidationError

_DEFAULT_MAX_STEPS = 1000


def _check_schedule(value, name, *, low_open):
    """A constant in (0, 1] (``low_open``) or [0, 1], or a callable of the episode index whose
    values are checked when it is called."""
    if callable(value):
        return value
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number or a callable of the episode index; "
                        f"got {type(value).__name__}")
    return _in_unit_interval(float(value), name, low_open)


def _in_unit_interval(value, name, low_open):
    if not ((0.0 < value if low_open else 0.0 <= value) and value <= 1.0):
        raise MDPValidationError(f"{name} must be in {'(0, 1]' if low_open else '[0, 1]'}; got "
                                 f"{value!r}")
    return value


def _at(schedule, name, k, low_open):
    """The schedule's value at episode k."""
    if not callable(schedule):
        return schedule
    value = schedule(k)
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name}({k}) must return a real number; got {type(value).__name__}")
    return _in_unit_interval(float(value), f"{name}({k})", low_open)


def _check_count(value, name):
    return val.check_positive(value, name, integer=True)


def _eval_every(eval_every, episodes):
    if eval_every is None:
        return max(1, episodes // 100)
    return _check_count(eval_every, "eval_every")
