"""``mdptoolkit solve ENV --method METHOD``: build a textbook environment, solve it, print V and
the policy, and optionally draw them."""

from __future__ import annotations

import dataclasses
import inspect
import sys
import warnings

from .. import plot
from ..exceptions import ConvergenceWarning
from ._common import (EXIT_NOT_CONVERGED, EXIT_OK, PROG,
    SOLVER_OPTIONS, TABLE_HEAD, TABLE_TAIL, CLIError, _build, _count, _gamma,
    _number_format, _positive, _solvers, _stdout_can, _unknown, arg,
    check_output_path, command, save_figure)


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
         arg("--plot", metavar="FILE", help="write the convergence figure (and the values and "
             "policy) to FILE, e.g. solve.png"),
         arg("--full", action="store_true", help="print every state, not a head and tail"))
def _solve(args):
    solvers = _solvers()
    if args.method not in solvers:
        raise _unknown("method", args.method, list(solvers), "see `mdptoolkit list`")
    solver = solvers[args.method]
    params = inspect.signature(solver).parameters
    options = {}
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
    env = _build(args.env)
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
        save_figure(_solve_figure(env, result), args.plot)
        print(f"wrote {args.plot}")
    return EXIT_OK if result.converged else EXIT_NOT_CONVERGED


def _stage_zero(env, result):
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


def _print_solution(env, result, args):
    import numpy as np

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
    _print_table(env, V, policy, actions, what, stochastic, args.full)


_ARROWS = {"up": "↑", "right": "→", "down": "↓", "left": "←"}
_ASCII = {"up": "^", "right": ">", "down": "v", "left": "<"}


def _print_grid(env, V, actions, what, stochastic):
    import numpy as np

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
        legend.append("/".join(others) + " terminal")
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


def _print_moves(env, actions):
    import numpy as np

    moves = env.moves(np.asarray(actions))
    n = moves.shape[0]
    print()
    print("policy: cars moved from location 1 to 2 (rows: cars at location 1, columns: at "
          "location 2; as in Figure 4.2)")
    print("      " + " ".join(f"{c:>2d}" for c in range(n)))
    for r in range(n - 1, -1, -1):
        print(f"  {r:>2d}  " + " ".join(f"{m:>2d}" for m in moves[r]))


def _print_table(env, V, policy, actions, what, stochastic, full):

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
        rows.append((str(s), name, format(float(V[s]), fmt), act))
    header = ("state", "", what, "most likely action" if stochastic else "action")
    widths = [max(len(header[i]), *(len(r[i]) for r in rows)) for i in range(4)]

    def show(row):
        name = f"  {row[1]:<{widths[1]}}" if widths[1] else ""
        print(f"  {row[0]:>{widths[0]}}{name}  {row[2]:>{widths[2]}}  {row[3]}")

    print()
    show(header)
    cut = not full and S > TABLE_HEAD + TABLE_TAIL + 1
    for row in (rows[:TABLE_HEAD] + [None] + rows[-TABLE_TAIL:]) if cut else rows:
        if row is None:
            print(f"  ... {S - TABLE_HEAD - TABLE_TAIL} more states (--full prints them all, "
                  f"--plot FILE draws them)")
        else:
            show(row)


def _solve_figure(env, result):
    """Convergence curves (for iterative methods) beside the values and policy."""
    from matplotlib.figure import Figure


    V, policy, what = _stage_zero(env, result)
    iterative = max((len(h) for k, h in result.history.items() if k != "elapsed"), default=0) > 1
    title = f"{env.name}: {what} and policy"
    if hasattr(env, "actions") and hasattr(env, "shape"):
        H, W = env.shape
        if iterative:
            ratio = max(1.0, 0.8 * W / H)  # heat map width : convergence width
            heat_width = 13 * ratio / (1 + ratio) - 1.5  # inches, less the colorbar
            figure = Figure(figsize=(13, min(9.0, max(4.8, heat_width * H / W + 1.8))),
                            layout="constrained")
            conv, heat = figure.subplots(1, 2, width_ratios=[1, ratio])
            plot.convergence(result, ax=conv)
        else:
            figure = Figure(figsize=plot._figsize(H, W), layout="constrained")
            heat = figure.subplots()
        plot.values(env, V, policy, ax=heat, title=title)
    else:
        layout = [["conv", "V"], ["conv", "pi"]] if iterative else [["V"], ["pi"]]
        figure = Figure(figsize=(13 if iterative else 7, 6.5), layout="constrained")
        axes = figure.subplot_mosaic(layout)
        if iterative:
            plot.convergence(result, ax=axes["conv"])
        plot.line(env, V, policy, ax=axes["V"], policy_ax=axes["pi"], title=title)
    figure.suptitle(f"mdptoolkit solve {env.name} --method {result.method}")
    return figure
