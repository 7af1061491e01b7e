"""Type aliases of the public signatures (private: users pass plain arrays and numbers).

``ArrayLike`` is what a function accepts and converts once (a list, a tuple, an ndarray);
the ``*Array`` aliases are what it returns: a read-only ndarray of that dtype.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Union

import numpy as np
import numpy.typing as npt

ArrayLike = npt.ArrayLike
FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.integer[Any]]
BoolArray = npt.NDArray[np.bool_]
#: A dense ndarray or a SciPy sparse array (a transition matrix; SciPy ships no type stubs, so
#: to a type checker this is Any).
Matrix = Any
#: A deterministic int (S,) policy or a stochastic (S, A) one.
Policy = npt.ArrayLike
#: What ``numpy.random.default_rng`` accepts: an int >= 0, a Generator or None.
Seed = Union[int, np.integer[Any], np.random.Generator, np.random.SeedSequence, None]
#: A step size or exploration rate: a constant, or a function of the episode index.
Schedule = Union[float, Callable[[int], float]]
#: ``callback(k, state)``, called once per iteration; its return value is ignored.
Callback = Callable[[int, Any], Any]

__all__ = ["ArrayLike", "BoolArray", "Callback", "FloatArray", "IntArray", "Matrix", "Policy",
           "Schedule", "Seed"]
