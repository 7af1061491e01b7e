r"""Plots of solver results, values and policies (matplotlib, imported only when a plot is drawn).

Every function takes an optional ``ax`` (a new figure is made when it is None), draws on it and
returns it; none calls ``plt.show()``. The y-data of every curve are the numbers in the result's
``history``, unchanged, so a plot can be checked by reading its lines back.

==============================  ===============================================================
function                        draws
==============================  ===============================================================
:func:`convergence`             residual / error bound / gap per iteration, log scale, ``tol``
:func:`learning_curves`         :math:`J(\pi_k)` of gradient or sampled methods, mean and band
                                over seeds, against the DP optimum :math:`J^*`
:func:`values`                  heat map of :math:`V` on a grid world, policy arrows, walls and
                                terminal cells marked
:func:`policy`                  the arrows alone
:func:`line`                    :math:`V` over states and the policy (e.g. the gambler's stake),
                                every optimal action where several tie
:func:`state_grid`              two-dimensional state spaces (Jack's car rental): the policy as
                                a picture with labelled regions, :math:`V` as a heat map
:func:`stages`                  finite-horizon results: :math:`V_t` per stage and the
                                non-stationary policy :math:`\pi_t`
:func:`sequence_distribution`   the most likely sentences of a language MDP policy
:func:`reward_kl_frontier`      gold reward against KL(p || p_ref): the exact Gibbs curve and
                                the methods of :mod:`mdptoolkit.rlhf` as points or trajectories
:func:`overoptimization`        gold and proxy reward against sqrt(KL) (Gao et al. 2022)
==============================  ===============================================================

Examples
--------
>>> import matplotlib; matplotlib.use("Agg")
>>> import mdptoolkit as mt
>>> from mdptoolkit import envs, plot
>>> env = envs.sutton_barto_5x5()
>>> methods = ("value_iteration", "modified_policy_iteration")
>>> ax = plot.convergence([mt.solve(env.mdp, method=m) for m in methods])
>>> [line.get_label() for line in ax.get_lines()]
['value_iteration', 'modified_policy_iteration', 'tol = 1e-08']
>>> ax.get_ylabel()
'error bound on $\\max_s |V_k(s) - V^*(s)|$'
"""

from __future__ import annotations

from .convergence import convergence, learning_curves
from .finite_horizon import stages
from .grid import policy, values
from .language import sequence_distribution
from .line import line
from .rlhf import overoptimization, reward_kl_frontier
from .state_grid import state_grid

__all__ = ["convergence", "learning_curves", "values", "policy", "line", "state_grid", "stages",
           "sequence_distribution", "reward_kl_frontier", "overoptimization"]
