"""The object every environment builder returns, and the argument checks the builders share."""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np

from ..mdp import MDP

__all__ = ["Environment"]


@dataclass(frozen=True, repr=False)
class Environment:
    r"""A named MDP built by one of the :mod:`mdptoolkit.envs` builders.

    Attributes
    ----------
    mdp : MDP
        The model :math:`(S, A, P, R, \gamma, \mu)`.
    name : str
        A short name of the problem, e.g. ``"forest"``.

    Examples
    --------
    >>> from mdptoolkit import envs
    >>> env = envs.forest()
    >>> env
    Environment(name='forest', n_states=3, n_actions=2, gamma=0.96)
    >>> env.action_names
    ('wait', 'cut')
    """

    mdp: MDP
    name: str

    @property
    def n_states(self):
        """Number of states S of :attr:`mdp`."""
        return self.mdp.n_states

    @property
    def n_actions(self):
        """Number of actions A of :attr:`mdp`."""
        return self.mdp.n_actions

    @property
    def state_names(self):
        """Labels of the states (or None), as in :attr:`MDP.state_names`."""
        return self.mdp.state_names

    @property
    def action_names(self):
        """Labels of the actions (or None), as in :attr:`MDP.action_names`."""
        return self.mdp.action_names

    def _summary(self):
        return (f"name={self.name!r}, n_states={self.mdp.n_states}, "
                f"n_actions={self.mdp.n_actions}, gamma={self.mdp.gamma:g}")

    def __repr__(self):
        return f"{type(self).__name__}({self._summary()})"


def check_int(value, name, *, minimum):
    """An integer >= minimum; TypeError for a non-integer, ValueError for one out of range."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer; got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}; got {value}")
    return int(value)


def check_real(value, name, *, low=-np.inf, high=np.inf, low_open=False, high_open=False):
    """A finite real number in the given interval."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number; got {type(value).__name__}")
    value = float(value)
    ok = np.isfinite(value)
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
        raise ValueError(f"{name} must {rule}; got {value!r}")
    return value
