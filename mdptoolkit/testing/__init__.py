r"""Helpers for users' own tests: hypothesis strategies and assertion helpers.

- :func:`assert_bellman_optimal`, :func:`assert_policy_value`, :func:`assert_optimal_policy`
  raise ``AssertionError`` with a report in the style of :func:`numpy.testing.assert_allclose`.
  Their ``atol`` bounds the sup-norm *error* (:math:`\|V - V^*\|_\infty`,
  :math:`\|V - V^\pi\|_\infty`, :math:`\|V^\pi - V^*\|_\infty`), never a Bellman residual; see
  :mod:`mdptoolkit.testing.assertions`.
- :func:`mdps` and :func:`policies` (in :mod:`mdptoolkit.testing.strategies`) draw random valid
  MDPs and policies. They need hypothesis, which is imported only when they are first used, so
  the assertion helpers work without it.

Examples
--------
>>> import numpy as np, mdptoolkit as mt
>>> from mdptoolkit.testing import assert_optimal_policy
>>> mdp = mt.MDP(np.ones((1, 2, 1)), [[0.0, 1.0]], 0.5)
>>> assert_optimal_policy(mdp, np.array([1]))
"""

import importlib

from .assertions import assert_bellman_optimal, assert_optimal_policy, assert_policy_value

__all__ = ["assert_bellman_optimal", "assert_policy_value", "assert_optimal_policy",
           "mdps", "policies"]

_LAZY = ("mdps", "policies")


def __getattr__(name):
    # hypothesis is imported on first use of a strategy, never at ``import mdptoolkit.testing``
    if name in _LAZY or name == "strategies":
        strategies = importlib.import_module(f"{__name__}.strategies")
        return strategies if name == "strategies" else getattr(strategies, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
