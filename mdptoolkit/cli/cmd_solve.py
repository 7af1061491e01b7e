"""``mdptoolkit solve ENV --method METHOD [--set KEY=VALUE ...] [--map FILE] [--plot FILE]``:
build a textbook environment (with the builder's keywords from ``--set``, a grid from a text map
file), solve it, print V and the policy, and optionally draw them as what they are: grid worlds
and Jack's car rental in two dimensions, every optimal action where several tie, finite-horizon
results stage by stage."""

from __future__ import annotations

import argparse
import dataclasses
import inspect
import sys
import warnings
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import plot
from ..exceptions import ConvergenceWarning
from ..operators import optimal_actions
from ..plot.grid import TERMINAL_TEXT
from ._common import (EXIT_NOT_CONVERGED, EXIT_OK, PROG, SOLVER_OPTIONS, TABLE_HEAD, TABLE_TAIL,
                      CLIError, _build, _count, _gamma, _number_format, _positive, _solvers,
                      _stdout_can, _unknown, arg, check_output_path, command, save_figure)

if TYPE_CHECKING:
    from matplotlib.figure import Figure
    from matplotlib.typing import HashableList

    from ..envs import Environment
    from ..result import SolverResult


#: Methods whose V is V* (to the solver's tolerance): the table and the figure show every
#: action optimal with respect to it, where several tie, as Sutton & Barto's Figures 3.5 and
#: 4.3 do.
_TIES_SHOWN = ("value_iteration", "policy_iteration", "modified_policy_iteration",
               "linear_programming")


@command("solve", "solve an environment of mdptoolkit.envs and print V and the policy",
         arg("env", metavar="ENV", help="an environment builder's name (see `mdptoolkit list`)"),
         arg("--method", default="policy_iteration", metavar="METHOD",
             help="a solver's name, as in mt.solve (default: policy_iteration)"),
         arg("--gamma", type=_gamma, metavar="G", help="discount factor in [0, 1] "
             "(default: the environment's)"),
         arg("--tol", type=_positive("--tol"), metavar="T",
             help="tolerance of iterative methods (default: the solver's)"),
         arg("--beta", type=_positive("--beta"), metavar="B",
             help="temperature of soft_value_iteration"),
         arg("--horizon", type=_count("--horizon"), metavar="H",
             help="number of steps for backward_induction"),
         arg("--set", action="append", default=[], metavar="KEY=VALUE", dest="settings",
             help="a keyword of the environment's builder, e.g. --set map_name=8x8 or --set "
             "p_heads=0.25 (the value read as a Python literal, else as a string); repeatable"),
         arg("--map", metavar="FILE", dest="map_file",
             help="a text map file for gridworld (one line per row: . free, S start, # wall, "
             "G goal, H hole, C cliff) or frozen_lake (S, F, H, G)"),
         arg("--plot", metavar="FILE", help="write the figure (values and policy, every optimal "
             "action where several tie, and the convergence curves) to FILE, e.g. solve.png"),
         arg("--full", action="store_true", help="print every state, not a head and tail"))
def _solve(args: argparse.Namespace) -> int:
    solvers = _solvers()
    if args.method not in solvers:
        raise _unknown("method", args.method, list(solvers), "see `mdptoolkit list`")
    solver = solvers[args.method]
    params = inspect.signature(solver).parameters
    options: dict[str, Any] = {}
    for option, keyword in SOLVER_OPTIONS.items():
        value = getattr(args, option)
        if value is None:
            if keyword in params and params[keyword].default is inspect.Parameter.empty:
                raise CLIError(f"method {args.method!r} needs --{option}")
            continue
        if keyword not in params:
            raise CLIError(f"--{option} does not apply to method {args.method!r} (it takes no "
                           f"{keyword}); drop it")
        options[keyword] = value
    env = _build(args.env, args.settings, args.map_file)
    if args.plot is not None:
        check_output_path(args.plot)
    if args.gamma is not None:
        env = dataclasses.replace(env, mdp=env.mdp.replace(gamma=args.gamma))

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = solver(env.mdp, **options)
    for warning in caught:
        if not issubclass(warning.category, ConvergenceWarning):  # the message says it already
            print(f"{PROG}: warning: {' '.join(str(warning.message).split())}", file=sys.stderr)

    _print_solution(env, result, args)
    if args.plot is not None:
        save_figure(_solve_figure(env, result, args.tol), args.plot)
        print(f"wrote {args.plot}")
    return EXIT_OK if result.converged else EXIT_NOT_CONVERGED


def _stage_zero(env: Environment, result: SolverResult) -> tuple[np.ndarray, np.ndarray, str]:
    """V, policy and a description of what they are (backward induction: time 0)."""
    V, policy = result.V, result.policy
    what = "V*"
    if result.method == "backward_induction":
        H = policy.shape[0]
        V, policy = V[0], policy[0]
        what = f"V_0 ({H} steps to go)"
    elif result.gain is not None:
        what = "bias h (V[0] = 0)"
    elif result.method == "soft_value_iteration":
        what = "soft V*"
    return V, policy, what


def _print_solution(env: Environment, result: SolverResult, args: argparse.Namespace) -> None:
    mdp = env.mdp
    V, policy, what = _stage_zero(env, result)
    print(f"{env.name}: {mdp.n_states} states, {mdp.n_actions} actions, gamma = {mdp.gamma:g}; "
          f"{result.method}, {result.iterations} iterations")
    print(result.message)
    if result.gain is not None:
        print(f"gain (optimal average reward per step) = {result.gain:.10g}")
    stochastic = np.ndim(policy) == 2
    actions = np.argmax(policy, axis=1) if stochastic else np.asarray(policy)
    if hasattr(env, "actions") and hasattr(env, "shape") and env.shape[1] <= 30:
        _print_grid(env, V, actions, what, stochastic)
        return
    if type(env).__name__ == "JacksCarRental":
        _print_moves(env, actions)
    ties = None
    if result.method in _TIES_SHOWN and not stochastic:
        atol = max(1e-6, 2.0 * args.tol) if args.tol is not None else 1e-6
        ties = optimal_actions(mdp, V, atol=atol)
    _print_table(env, V, policy, actions, what, stochastic, args.full, ties)


_ARROWS = {"up": "↑", "right": "→", "down": "↓", "left": "←"}
_ASCII = {"up": "^", "right": ">", "down": "v", "left": "<"}


def _print_grid(env: Any, V: np.ndarray, actions: np.ndarray, what: str,
                stochastic: bool) -> None:
    H, W = env.shape
    cells = np.asarray(env.cells)
    terminal = np.asarray(env.mdp.terminal).reshape(H, W)
    arrows = _ARROWS if _stdout_can("".join(_ARROWS.values())) else _ASCII
    print()
    print("policy (most likely action):" if stochastic else "policy:")
    for r in range(H):
        row = []
        for c in range(W):
            s = r * W + c
            if cells[r, c] in "#C" or terminal[r, c]:
                row.append(cells[r, c] if cells[r, c] != "." else "T")
            else:
                row.append(arrows[env.actions[int(actions[s])]])
        print("  " + " ".join(row))
    legend = ["# wall"] * bool((cells == "#").any()) + ["C cliff"] * bool((cells == "C").any())
    others = sorted(set(cells[terminal & ~np.isin(cells, ["#", "C"])]))
    if others:
        kinds = [TERMINAL_TEXT.get(c, ("", ""))[1] for c in others]
        described = f" ({', '.join(k for k in kinds if k)})" if any(kinds) else ""
        legend.append("/".join(others) + " terminal" + described)
    if legend:
        print("  (" + ", ".join(legend) + ")")
    print()
    print(f"{what}:")
    fmt = _number_format(V.tolist())
    text = [format(v, fmt) for v in V.tolist()]
    for s in np.flatnonzero(np.isin(cells.ravel(), ["#", "C"])):
        text[s] = cells.ravel()[s]
    width = max(map(len, text))
    for r in range(H):
        print("  " + " ".join(t.rjust(width) for t in text[r * W:(r + 1) * W]))


def _print_moves(env: Any, actions: np.ndarray) -> None:
    moves = env.moves(np.asarray(actions))
    n = moves.shape[0]
    print()
    print("policy: cars moved from location 1 to 2 (rows: cars at location 1, columns: at "
          "location 2; as in Figure 4.2)")
    print("      " + " ".join(f"{c:>2d}" for c in range(n)))
    for r in range(n - 1, -1, -1):
        print(f"  {r:>2d}  " + " ".join(f"{m:>2d}" for m in moves[r]))


def _print_table(env: Environment, V: np.ndarray, policy: np.ndarray, actions: np.ndarray,
                 what: str, stochastic: bool, full: bool, ties: np.ndarray | None = None) -> None:
    mdp = env.mdp
    S = mdp.n_states
    names = mdp.state_names or None
    action_names = mdp.action_names or None
    fmt = _number_format(V.tolist())
    rows = []
    for s in range(S):
        name = "" if names is None or names[s] == str(s) else names[s]
        if mdp.terminal[s]:
            act = "(terminal)"
        else:
            a = int(actions[s])
            act = action_names[a] if action_names is not None else str(a)
            if stochastic:
                act += f" (p = {policy[s, a]:.3f})"
            elif ties is not None and ties[s].sum() > 1:  # every optimal action, as in the book
                others = [action_names[b] if action_names is not None else str(b)
                          for b in np.flatnonzero(ties[s]) if b != a]
                act += f" (ties: {', '.join(others)})"
        rows.append((str(s), name, format(float(V[s]), fmt), act))
    header = ("state", "", what, "most likely action" if stochastic else "action")
    widths = [max(len(header[i]), *(len(r[i]) for r in rows)) for i in range(4)]

    def show(row: tuple[str, str, str, str]) -> None:
        name = f"  {row[1]:<{widths[1]}}" if widths[1] else ""
        print(f"  {row[0]:>{widths[0]}}{name}  {row[2]:>{widths[2]}}  {row[3]}")

    print()
    show(header)
    cut = not full and S > TABLE_HEAD + TABLE_TAIL + 1
    shown: list[tuple[str, str, str, str] | None] = (
        [*rows[:TABLE_HEAD], None, *rows[-TABLE_TAIL:]] if cut else list(rows))
    for row in shown:
        if row is None:
            print(f"  ... {S - TABLE_HEAD - TABLE_TAIL} more states (--full prints them all, "
                  f"--plot FILE draws them)")
        else:
            show(row)


def _solve_figure(env: Any, result: SolverResult, tol: float | None = None) -> Figure:
    """The solution drawn as what it is: a grid's values with every optimal action, a
    two-dimensional state space as pictures, a one-dimensional one as lines (every optimal
    action as dots); convergence curves beside it for iterative methods; the values per stage
    and the non-stationary policy for a finite horizon."""
    from matplotlib.figure import Figure

    if result.method == "backward_induction":
        return _stages_figure(env, result)
    V, policy, what = _stage_zero(env, result)
    ties = result.method in _TIES_SHOWN and np.ndim(policy) == 1
    atol = max(1e-6, 2.0 * tol) if tol is not None else 1e-6  # V is exact to about tol
    iterative = max((len(h) for k, h in result.history.items() if k != "elapsed"), default=0) > 1
    shown = "every optimal action" if ties else "policy"
    title = f"{env.name}: {what} and {shown}"
    if hasattr(env, "actions") and hasattr(env, "shape"):  # a grid world
        H, W = env.shape
        if iterative:
            ratio = max(1.0, 0.8 * W / H)  # heat map width : convergence width
            heat_width = 13 * ratio / (1 + ratio) - 1.5  # inches, less the colorbar
            figure = Figure(figsize=(13, min(9.0, max(5.2, heat_width * H / W + 2.4))),
                            layout="constrained")
            conv, heat = figure.subplots(1, 2, width_ratios=[1, ratio])
            plot.convergence(result, ax=conv)
        else:
            figure = Figure(figsize=plot.grid._figsize(H, W), layout="constrained")
            heat = figure.subplots()
        plot.values(env, V, None if ties else policy, all_optimal=ties, atol=atol, ax=heat,
                    title=title)
    elif hasattr(env, "shape"):  # a two-dimensional state space: Figure 4.2
        figure = Figure(figsize=(18 if iterative else 12.5, 5.6), layout="constrained")
        panels = figure.subplots(1, 3 if iterative else 2,
                                 width_ratios=[1, 1.1, 1.1] if iterative else [1, 1])
        if iterative:
            plot.convergence(result, ax=panels[0])
        plot.state_grid(env, V, policy, ax=panels[-2], value_ax=panels[-1])
        panels[-2].set_title(f"{env.name}: policy (net cars moved)" if
                             type(env).__name__ == "JacksCarRental" else f"{env.name}: policy")
        panels[-1].set_title(f"{env.name}: {what}")
    else:
        layout: list[HashableList[str]] = ([["conv", "V"], ["conv", "pi"]] if iterative
                                           else [["V"], ["pi"]])
        figure = Figure(figsize=(13 if iterative else 7, 6.5), layout="constrained")
        axes = figure.subplot_mosaic(layout)
        if iterative:
            plot.convergence(result, ax=axes["conv"])
        plot.line(env, V, policy, all_optimal=ties, atol=atol, ax=axes["V"],
                  policy_ax=axes["pi"], title=title)
    figure.suptitle(f"mdptoolkit solve {env.name} --method {result.method}")
    return figure


def _stages_figure(env: Any, result: SolverResult) -> Figure:
    """Backward induction: V_t and pi_t at a few decision times (grids) or for all of them."""
    from matplotlib.figure import Figure

    horizon = result.policy.shape[0]
    if hasattr(env, "actions") and hasattr(env, "shape"):
        times = plot.finite_horizon._default_times(horizon, 4)
        H, W = env.shape
        width = min(4.4 * len(times) * max(1.0, W / H), 20)
        figure = Figure(figsize=(width, max(4.6, width / len(times) * H / W + 1.6)),
                        layout="constrained")
        axes = figure.subplots(1, len(times), squeeze=False)[0]
        plot.stages(env, result, times=times, axes=list(axes))
    else:
        figure = Figure(figsize=(9, 7.5), layout="constrained")
        plot.stages(env, result, axes=list(figure.subplots(2, 1, sharex=True)))
    figure.suptitle(f"mdptoolkit solve {env.name} --method backward_induction --horizon "
                    f"{horizon}\nvalues per stage and the non-stationary policy")
    return figure
