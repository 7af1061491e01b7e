r"""FrozenLake with the same dynamics and rewards as gymnasium's ``FrozenLake-v1``.

Maps use gymnasium's letters: ``S`` start, ``F`` frozen, ``H`` hole, ``G`` goal. Actions keep
gymnasium's order (0 left, 1 down, 2 right, 3 up), so a policy solved here runs unchanged in
``gymnasium.make("FrozenLake-v1")``. gymnasium is not needed to build the model.
"""

from __future__ import annotations

from collections.abc import Sequence

from ._base import check_real
from .gridworld import GridWorld, gridworld

__all__ = ["frozen_lake", "FROZEN_LAKE_MAPS"]

#: gymnasium's built-in maps.
FROZEN_LAKE_MAPS: dict[str, tuple[str, ...]] = {
    "4x4": ("SFFF", "FHFH", "FFFH", "HFFG"),
    "8x8": ("SFFFFFFF", "FFFFFFFF", "FFFHFFFF", "FFFFFHFF",
            "FFFHFFFF", "FHHFFFHF", "FHFFHFHF", "FFFHFFFG"),
}


def frozen_lake(map_name: str | Sequence[str] = "4x4", *, desc: Sequence[str] | None = None,
                is_slippery: bool = True, success_rate: float = 1.0 / 3.0,
                reward_schedule: Sequence[float] = (1.0, 0.0, 0.0),
                gamma: float = 0.99) -> GridWorld:
    r"""gymnasium's FrozenLake as an MDP (the same P and R as ``FrozenLake-v1``'s ``env.P``).

    The agent walks from S to G over frozen cells F; holes H and the goal G end the episode.
    On slippery ice an action moves as intended with probability ``success_rate`` and to each
    perpendicular side with probability ``(1 - success_rate) / 2``; moves off the grid leave
    the agent in place. A move earns ``reward_schedule[0]`` when it ends in G,
    ``reward_schedule[1]`` in H and ``reward_schedule[2]`` in F or S.

    Parameters
    ----------
    map_name : {"4x4", "8x8"} or sequence of str, default "4x4"
        A built-in map, or a custom map of the letters S, F, H, G.
    desc : sequence of str, optional
        A custom map; takes precedence over ``map_name``, as in gymnasium.
    is_slippery : bool, default True
    success_rate : float in [0, 1], default 1/3
        Probability of the intended move on slippery ice (gymnasium >= 1.1's keyword).
    reward_schedule : (float, float, float), default (1, 0, 0)
        Rewards for ending a move in G, H, and F/S.
    gamma : float, default 0.99
        gymnasium has no discount; with ``gamma=1`` and the default rewards, :math:`V^\pi(s)` is
        the probability of reaching the goal from ``s``.

    Returns
    -------
    GridWorld
        Holes and goal are terminal states; :math:`\mu` is uniform over the S cells.

    Notes
    -----
    With gamma = 1 the optimal success probability from the start of the slippery 4x4 map is
    0.8235 (14/17), and 1 on the 8x8 map; non-slippery, it is 1. gymnasium wraps
    ``FrozenLake-v1`` in a ``TimeLimit`` of 100 (4x4) or 200 (8x8) steps, which this model does
    not have.

    Examples
    --------
    >>> import mdptoolkit as mt
    >>> from mdptoolkit import envs
    >>> env = envs.frozen_lake("4x4", gamma=1.0)
    >>> env.layout
    ('SFFF', 'FHFH', 'FFFH', 'HFFG')
    >>> V = mt.value_iteration(env.mdp, tol=1e-12).V
    >>> round(float(V[0]), 4)          # 14/17
    0.8235
    """
    if desc is not None:
        layout, name = desc, "frozen_lake"
    elif isinstance(map_name, str):
        if map_name not in FROZEN_LAKE_MAPS:
            raise ValueError(f"map_name must be one of {sorted(FROZEN_LAKE_MAPS)} or a custom map; "
                             f"got {map_name!r}")
        layout, name = FROZEN_LAKE_MAPS[map_name], f"frozen_lake_{map_name}"
    else:
        layout, name = map_name, "frozen_lake"
    layout = tuple(layout)
    letters = set("".join(r for r in layout if isinstance(r, str)))
    if not letters <= set("SFHG"):
        raise ValueError(f"FrozenLake maps must use only the letters S, F, H, G; "
                         f"got {''.join(sorted(letters - set('SFHG')))!r}")
    if not isinstance(is_slippery, bool):
        raise TypeError(f"is_slippery must be a bool; got {type(is_slippery).__name__}")
    success_rate = check_real(success_rate, "success_rate", low=0.0, high=1.0)
    if len(reward_schedule) != 3:
        raise ValueError(f"reward_schedule must be (goal, hole, frozen) rewards; "
                         f"got {reward_schedule!r}")
    r_goal, r_hole, r_frozen = (check_real(x, "reward_schedule entries") for x in reward_schedule)
    return gridworld(layout, gamma=gamma, slip=1.0 - success_rate if is_slippery else 0.0,
                     rewards={"G": r_goal, "H": r_hole, "F": r_frozen, "S": r_frozen},
                     terminal="GH", actions=("left", "down", "right", "up"), name=name)
