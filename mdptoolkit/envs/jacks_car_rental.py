r"""Jack's car rental, Sutton & Barto (2018), Example 4.2 (Figure 4.2).

The model is exact: the Poisson requests and returns keep their whole tails (no truncation at
some largest count), and the transition matrix is built from two (N+1, N+1) per-location
matrices by an outer product, without a Python loop over states, actions or next states.

Per location with :math:`n` cars available in the morning (after the overnight moves), requests
:math:`X \sim \text{Poisson}(\lambda_\text{req})` and returns
:math:`Y \sim \text{Poisson}(\lambda_\text{ret})`:

.. math::

    \text{rented} = \min(X, n), \qquad
    \text{evening} = \min(n - \text{rented} + Y, N),

so returned cars can be rented from the next day on and cars beyond N disappear. The two
locations are independent given the morning counts, so
:math:`P(s' \mid s, a) = T_1[n_1, e_1] \, T_2[n_2, e_2]`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from scipy import special

from .._typing import ArrayLike, FloatArray, IntArray
from ..mdp import MDP
from ._base import Environment, check_int, check_real

__all__ = ["JacksCarRental", "jacks_car_rental"]


@dataclass(frozen=True, repr=False)
class JacksCarRental(Environment):
    """Jack's car rental: an :class:`Environment` that converts between states and car counts.

    Its states form a two-dimensional grid: :attr:`shape` is ``(N+1, N+1)``,
    ``state_of(cars1, cars2)`` and ``cell_of(state)`` convert, as for grid worlds, so
    :func:`mdptoolkit.plot.state_grid` draws V and the policy as pictures (Figure 4.2).

    Attributes
    ----------
    max_cars : int
        N, the most cars a location can hold overnight.
    max_move : int
        The most cars moved overnight.
    """

    max_cars: int = 20
    max_move: int = 5

    #: What the two coordinates of :attr:`shape` count, for two-dimensional pictures.
    axis_labels: ClassVar[tuple[str, str]] = ("cars at location 1", "cars at location 2")
    #: What :attr:`action_values` measure.
    action_label: ClassVar[str] = "cars moved from location 1 to 2"

    @property
    def shape(self) -> tuple[int, int]:
        """``(N+1, N+1)``: the states as a grid indexed ``[cars1, cars2]``."""
        return (self.max_cars + 1, self.max_cars + 1)

    @property
    def action_values(self) -> IntArray:
        """The net cars moved from location 1 to 2 by each action index, ``-max_move..max_move``."""
        return np.arange(-self.max_move, self.max_move + 1)

    def cell_of(self, state: int) -> tuple[int, int]:
        """``(cars1, cars2)`` of a state index, the same as :meth:`cars_of` (the name grid
        worlds use)."""
        return self.cars_of(state)

    def state_of(self, cars1: int, cars2: int) -> int:
        """State index of ``cars1`` cars at location 1 and ``cars2`` at location 2."""
        n = self.max_cars
        cars1 = check_int(cars1, "cars1", minimum=0)
        cars2 = check_int(cars2, "cars2", minimum=0)
        if cars1 > n or cars2 > n:
            raise ValueError(f"car counts must be in 0..{n}; got ({cars1}, {cars2})")
        return cars1 * (n + 1) + cars2

    def cars_of(self, state: int) -> tuple[int, int]:
        """``(cars1, cars2)`` of a state index."""
        n = self.max_cars
        state = check_int(state, "state", minimum=0)
        if state >= (n + 1) ** 2:
            raise ValueError(f"state must be in 0..{(n + 1) ** 2 - 1}; got {state}")
        return divmod(state, n + 1)

    def moves(self, policy: ArrayLike) -> IntArray:
        """The cars moved from location 1 to 2 by a deterministic ``policy``, as an (N+1, N+1)
        table indexed ``[cars1, cars2]`` (Figure 4.2 draws it with ``cars1`` on the vertical axis).
        """
        policy = np.asarray(policy)
        n = self.max_cars
        if policy.shape != ((n + 1) ** 2,) or not np.issubdtype(policy.dtype, np.integer):
            raise ValueError(f"policy must be an integer array of shape ({(n + 1) ** 2},); "
                             f"got {policy.dtype} array of shape {policy.shape}")
        return (policy - self.max_move).reshape(n + 1, n + 1)

    def _summary(self) -> str:
        return f"{super()._summary()}, max_cars={self.max_cars}, max_move={self.max_move}"


def jacks_car_rental(*, max_cars: int = 20, max_move: int = 5,
                     request_rates: tuple[float, float] = (3.0, 4.0),
                     return_rates: tuple[float, float] = (3.0, 2.0), rental_reward: float = 10.0,
                     move_cost: float = 2.0, gamma: float = 0.9) -> JacksCarRental:
    r"""Jack's car rental of Sutton & Barto (2018), Example 4.2.

    Two locations hold at most ``max_cars`` cars each. Overnight Jack moves up to ``max_move``
    cars between them at ``move_cost`` each; during the day each location rents
    min(requests, cars available) cars at ``rental_reward`` each, requests and returns being
    Poisson with the given means; returned cars are available the next day; cars beyond
    ``max_cars`` at a location disappear.

    Parameters
    ----------
    max_cars : int, default 20
    max_move : int, default 5
    request_rates : (float, float), default (3, 4)
        Poisson means of the daily requests at locations 1 and 2.
    return_rates : (float, float), default (3, 2)
        Poisson means of the daily returns at locations 1 and 2.
    rental_reward : float, default 10
    move_cost : float, default 2
    gamma : float, default 0.9

    Returns
    -------
    JacksCarRental
        ``(N+1)^2`` states, state = cars at location 1 * (N+1) + cars at location 2 (counts at
        the end of the day); ``2 * max_move + 1`` actions, action = cars moved from location 1
        to 2, plus ``max_move`` (so action 5 moves nothing and action 0 moves 5 cars from 2 to
        1). Moving more cars than a location has is disallowed.

    Notes
    -----
    The expected reward is

    .. math::

        R(s, a) = \text{rental\_reward} \cdot (E[\min(X_1, n_1)] + E[\min(X_2, n_2)])
                  - \text{move\_cost} \cdot |m|

    with :math:`m = a - \text{max\_move}` and the morning counts
    :math:`n_1 = \min(c_1 - m, N)`, :math:`n_2 = \min(c_2 + m, N)`.

    Figure 4.2's final policy :math:`\pi_4` is optimal: it moves up to 5 cars from location 1
    to 2 when location 1 is full and location 2 nearly empty, nothing across a wide diagonal
    band, and up to 4 cars back from location 2 when location 1 is empty
    (:math:`\pi_*(0, 18..20) = -4`). Policy iteration from :math:`\pi_0` = "move nothing"
    reaches it after 4 improvements, as in the figure; :math:`v_*` lies between about 421 (both
    locations empty) and 637.

    Examples
    --------
    >>> import mdptoolkit as mt
    >>> from mdptoolkit import envs
    >>> env = envs.jacks_car_rental()
    >>> env.mdp.n_states, env.mdp.n_actions
    (441, 11)
    >>> result = mt.policy_iteration(env.mdp)
    >>> table = env.moves(result.policy)
    >>> int(table[20, 0]), int(table[10, 10]), int(table[0, 20])
    (5, 0, -4)
    """
    N = check_int(max_cars, "max_cars", minimum=1)
    M = check_int(max_move, "max_move", minimum=0)
    rates = []
    for name, pair in (("request_rates", request_rates), ("return_rates", return_rates)):
        if np.shape(pair) != (2,):
            raise ValueError(f"{name} must be a pair of Poisson means; got {pair!r}")
        rates.append([check_real(x, f"{name}[{i}]", low=0.0) for i, x in enumerate(pair)])
    rental_reward = check_real(rental_reward, "rental_reward")
    move_cost = check_real(move_cost, "move_cost")

    T1, rented1 = _location_model(N, rates[0][0], rates[1][0])
    T2, rented2 = _location_model(N, rates[0][1], rates[1][1])

    S, A = (N + 1) ** 2, 2 * M + 1
    cars1, cars2 = np.divmod(np.arange(S), N + 1)
    moved = np.arange(-M, M + 1)
    allowed = (moved[None, :] <= cars1[:, None]) & (-moved[None, :] <= cars2[:, None])
    # morning counts (clipped where the action is disallowed: those rows are never used)
    n1 = np.clip(cars1[:, None] - moved[None, :], 0, N)
    n2 = np.clip(cars2[:, None] + moved[None, :], 0, N)
    P = np.einsum("sai,saj->saij", T1[n1], T2[n2]).reshape(S, A, S)
    R = rental_reward * (rented1[n1] + rented2[n2]) - move_cost * np.abs(moved)[None, :]
    mdp = MDP(P, R, gamma, allowed=allowed,
              state_names=[f"({c1}, {c2})" for c1, c2 in zip(cars1.tolist(), cars2.tolist())],
              action_names=[f"move {m:+d}" for m in moved])
    return JacksCarRental(mdp=mdp, name="jacks_car_rental", max_cars=N, max_move=M)


def _poisson_pmf(k: ArrayLike, lam: float) -> FloatArray:
    """Pr(X = k) for X ~ Poisson(lam), 0 where k < 0."""
    k = np.asarray(k)
    kk = np.maximum(k, 0)
    return np.where(k >= 0, np.exp(special.xlogy(kk, lam) - lam - special.gammaln(kk + 1)), 0.0)


def _poisson_at_least(k: ArrayLike, lam: float) -> FloatArray:
    """Pr(X >= k) for X ~ Poisson(lam): the exact upper tail (1 where k <= 0)."""
    k = np.asarray(k)
    return np.where(k >= 1, special.pdtrc(np.maximum(k - 1, 0), lam), 1.0)


def _location_model(N: int, lam_request: float,
                    lam_return: float) -> tuple[FloatArray, FloatArray]:
    """Evening-count matrix T[n, e] and expected rentals E[min(X, n)] of one location."""
    n = np.arange(N + 1)
    # Rent[n, k] = Pr(k cars left after renting | n available): n - k requests served
    served = n[:, None] - n[None, :]
    rent = _poisson_pmf(served, lam_request)
    rent[:, 0] = _poisson_at_least(n, lam_request)  # every car rented: requests >= n
    expected_rented = (rent * np.maximum(served, 0)).sum(axis=1)
    # Ret[k, e] = Pr(min(k + Y, N) = e)
    returned = n[None, :] - n[:, None]
    ret = _poisson_pmf(returned, lam_return)
    ret[:, N] = _poisson_at_least(N - n, lam_return)  # Y >= N - k
    return rent @ ret, expected_rented
