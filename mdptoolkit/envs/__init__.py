r"""Environments: the textbook MDPs with their published answers, grid worlds, random MDPs.

Every builder returns an :class:`Environment` whose ``.mdp`` is an :class:`~mdptoolkit.MDP`;
grid worlds return a :class:`GridWorld`, which also has ``.shape``, ``.state_of(row, col)``,
``.cell_of(state)``, ``.layout`` and ``.actions``. States of a grid are numbered row-major,
state = row * W + col, row 0 at the top.

==========================  ================================================================
builder (module)            reproduces
==========================  ================================================================
``gridworld`` (gridworld)   any grid from a text map: walls, goals, holes, cliffs, slip
``sutton_barto_4x4``        Sutton & Barto (2018) Example 4.1, Figure 4.1 (sutton_barto)
``sutton_barto_5x5``        Sutton & Barto Example 3.5, Figures 3.2 and 3.5 (sutton_barto)
``cliff_walking``           Sutton & Barto Example 6.6 (sutton_barto)
``gamblers_problem``        Sutton & Barto Example 4.3, Figure 4.3 (gambler)
``jacks_car_rental``        Sutton & Barto Example 4.2, Figure 4.2 (jacks_car_rental)
``short_corridor``          Sutton & Barto Example 13.1 (classic)
``russell_norvig_4x3``      Russell & Norvig (AIMA) Figures 17.1-17.3 (russell_norvig)
``frozen_lake``             gymnasium's FrozenLake-v1 (frozen_lake)
``forest``                  pymdptoolbox's ``mdptoolbox.example.forest`` (classic)
``river_swim``              Strehl & Littman (2008) RiverSwim (classic)
``random_mdp``              Garnet random MDPs, dense or sparse, up to 10^6 states (random_mdp)
==========================  ================================================================

Examples
--------
>>> import mdptoolkit as mt
>>> from mdptoolkit import envs
>>> env = envs.russell_norvig_4x3()
>>> env.shape, env.actions
((3, 4), ('up', 'right', 'down', 'left'))
>>> result = mt.value_iteration(env.mdp, tol=1e-12)
>>> round(float(result.V[env.state_of(0, 2)]), 3)
0.918
"""

from ._base import Environment
from .classic import forest, river_swim, short_corridor
from .frozen_lake import FROZEN_LAKE_MAPS, frozen_lake
from .gambler import GamblersProblem, gamblers_problem
from .gridworld import GridWorld, gridworld
from .jacks_car_rental import JacksCarRental, jacks_car_rental
from .random_mdp import random_mdp
from .russell_norvig import russell_norvig_4x3
from .sutton_barto import cliff_walking, sutton_barto_4x4, sutton_barto_5x5

__all__ = [
    "Environment",
    "GridWorld",
    "GamblersProblem",
    "JacksCarRental",
    "FROZEN_LAKE_MAPS",
    "gridworld",
    "sutton_barto_4x4",
    "sutton_barto_5x5",
    "cliff_walking",
    "gamblers_problem",
    "jacks_car_rental",
    "short_corridor",
    "russell_norvig_4x3",
    "frozen_lake",
    "forest",
    "river_swim",
    "random_mdp",
]
