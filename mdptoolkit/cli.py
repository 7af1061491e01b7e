"""The ``mdptoolkit`` command line (the only module that prints).

Subcommands:

- ``mdptoolkit solve ENV --method METHOD [--gamma G] [--tol T] [--plot FILE]``: build an
  environment of :mod:`mdptoolkit.envs` with its defaults, solve it, print V and the policy
  (arrows for grid worlds) and the solver's message, and optionally write the figures;
- ``mdptoolkit list``: the environments and the methods.

Without a subcommand it prints the version, a usage hint and a solved textbook example.

Every subcommand is one function ``f(args) -> exit status`` registered with :func:`command`,
which also declares its arguments; errors are raised as :class:`CLIError` (or come from the
library as ``ValueError``) and :func:`main` turns them into one line on stderr,
``mdptoolkit: error: ...``, and exit status 2. Exit status 1 means a solver stopped without
meeting its convergence guarantee.
"""

from __future__ import annotations

import argparse
import dataclasses
import difflib
import inspect
import math
import os
import sys
import warnings

PROG = "mdptoolkit"
EXIT_OK, EXIT_NOT_CONVERGED, EXIT_USAGE = 0, 1, 2

#: Keyword arguments the command line gives builders that have no default for them.
BUILD_ARGUMENTS = {
    "gridworld": {"layout": ("S..#....",
                             ".#.#.##.",
                             ".#...#H.",
                             "...#...G")},
    "random_mdp": {"n_states": 50, "n_actions": 4, "seed": 0},
}
#: What the command line adds to a builder's one-line description.
BUILD_NOTES = {
    "gridworld": "a demo 4 x 8 map with walls, a hole H and a goal G",
    "random_mdp": "50 states, 4 actions, seed 0",
}
#: Options that only some solvers take: option -> solver keyword.
SOLVER_OPTIONS = {"tol": "tol", "beta": "beta", "horizon": "horizon"}

# rows of a table longer than this are cut to its head and tail (``--full`` prints them all)
TABLE_HEAD, TABLE_TAIL = 20, 5


class CLIError(Exception):
    """A usage or input error: printed as one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    """argparse, but errors are raised (one line, no usage dump) instead of printed."""

    def error(self, message):
        raise CLIError(message)


# --------------------------------------------------------------------------- registry

#: name -> (function, help, arguments); filled by :func:`command`.
COMMANDS = {}


def arg(*flags, **options):
    """One ``add_argument`` call, declared for :func:`command`."""
    return flags, options


def command(name, help, *arguments):
    """Register ``function(args) -> int`` as the subcommand ``name`` with its arguments.

    A new subcommand is one decorated function::

        @command("compare", "compare the methods on the toy language MDP",
                 arg("--beta", type=_nonnegative("--beta"), default=0.0))
        def _compare(args):
            ...
            return EXIT_OK
    """
    def register(function):
        COMMANDS[name] = (function, help, arguments)
        return function
    return register


# --------------------------------------------------------------------------- option types

def _number(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number; got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be finite; got {text!r}")
    return value


def _gamma(text):
    value = _number(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be in [0, 1]; got {text}")
    return value


def _integer(text):
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer; got {text!r}") from None


def _checked(flag, convert, ok, rule):
    """An argparse type: ``convert`` the text, then require ``ok`` of the value (``rule`` says
    what in the error)."""
    def parse(text):
        value = convert(text)
        if not ok(value):
            raise argparse.ArgumentTypeError(f"must be {rule}; got {text}")
        return value
    parse.__name__ = flag.lstrip("-")
    return parse


def _positive(flag):
    return _checked(flag, _number, lambda v: v > 0, "> 0")


def _nonnegative(flag):
    return _checked(flag, _number, lambda v: v >= 0, ">= 0")


def _count(flag):
    return _checked(flag, _integer, lambda v: v >= 1, ">= 1")


# --------------------------------------------------------------------------- shared helpers

def _unknown(what, name, choices, hint):
    close = difflib.get_close_matches(name, choices, n=1)
    maybe = f"did you mean {close[0]!r}? " if close else ""
    return CLIError(f"unknown {what} {name!r}; {maybe}choose from {', '.join(choices)} ({hint})")


def _builders():
    """name -> builder function, for every builder in :mod:`mdptoolkit.envs`."""
    from . import envs

    return {name: getattr(envs, name) for name in envs.__all__
            if name[0].islower() and inspect.isfunction(getattr(envs, name))}


def _solvers():
    from .solvers import SOLVERS

    return dict(SOLVERS)


def _first_line(obj):
    doc = inspect.getdoc(obj) or ""
    return doc.strip().splitlines()[0].replace("``", "") if doc.strip() else ""


def _build(name):
    builders = _builders()
    if name not in builders:
        raise _unknown("environment", name, list(builders), "see `mdptoolkit list`")
    return builders[name](**BUILD_ARGUMENTS.get(name, {}))


def check_output_path(path, flag="--plot"):
    """Fail early (before any solving) when matplotlib could not write ``path``."""
    from matplotlib.backend_bases import FigureCanvasBase

    supported = FigureCanvasBase.get_supported_filetypes()
    ext = os.path.splitext(path)[1].lstrip(".").lower()
    if ext not in supported:
        raise CLIError(f"{flag} file must end in one of {', '.join('.' + e for e in supported)}; "
                       f"got {path!r}")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise CLIError(f"cannot write {flag} file {path!r}: directory {folder!r} does not exist")
    if os.path.isdir(path):
        raise CLIError(f"cannot write {flag} file {path!r}: it is a directory")
    target = path if os.path.exists(path) else folder
    if not os.access(target, os.W_OK):
        raise CLIError(f"cannot write {flag} file {path!r}: permission denied")


def save_figure(figure, path, flag="--plot"):
    """Write a figure (made with ``matplotlib.figure.Figure``, no pyplot) as a one-line error."""
    try:
        figure.savefig(path, dpi=110)
    except (OSError, ValueError) as exc:
        raise CLIError(f"cannot write {flag} file {path!r}: {exc}") from None


def _stdout_can(text):
    encoding = getattr(sys.stdout, "encoding", None) or "ascii"
    try:
        text.encode(encoding)
    except (UnicodeEncodeError, LookupError):
        return False
    return True


def _number_format(values):
    finite = [abs(v) for v in values if math.isfinite(v)]
    big = max(finite, default=1.0)
    if big >= 1e6 or 0 < big < 1e-3:
        return ".4g"
    if big >= 1000:
        return ".1f"
    if big >= 10:
        return ".2f"
    if big >= 1:
        return ".3f"
    return ".4f"


# --------------------------------------------------------------------------- list

@command("list", "list the environments and the solver methods")
def _list(args):
    print("environments (mdptoolkit solve ENV):")
    rows = []
    for name, builder in _builders().items():
        env = builder(**BUILD_ARGUMENTS.get(name, {}))
        mdp = env.mdp
        size = f"{mdp.n_states} states, {mdp.n_actions} actions, gamma {mdp.gamma:g}"
        note = f" [{BUILD_NOTES[name]}]" if name in BUILD_NOTES else ""
        rows.append((name, size, _first_line(builder) + note))
    width = max(len(r[0]) for r in rows)
    size_width = max(len(r[1]) for r in rows)
    for name, size, text in rows:
        print(f"  {name:<{width}}  {size:<{size_width}}  {text}")
    print()
    print("methods (mdptoolkit solve ENV --method METHOD):")
    solvers = _solvers()
    width = max(map(len, solvers))
    for name, solver in solvers.items():
        needs = _required_options(solver)
        extra = f" (needs {', '.join('--' + n for n in needs)})" if needs else ""
        print(f"  {name:<{width}}  {_first_line(solver)}{extra}")
    return EXIT_OK


def _required_options(solver):
    params = inspect.signature(solver).parameters
    return [option for option, keyword in SOLVER_OPTIONS.items()
            if keyword in params and params[keyword].default is inspect.Parameter.empty]


# --------------------------------------------------------------------------- solve

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

    from .exceptions import ConvergenceWarning

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

    from . import plot

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


# --------------------------------------------------------------------------- compare

def _positive_int(flag):
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise CLIError(f"{flag} must be a positive integer; got {text!r}") from None
        if value <= 0:
            raise CLIError(f"{flag} must be a positive integer; got {value}")
        return value
    return parse


def _beta(text):
    try:
        value = float(text)
    except ValueError:
        raise CLIError(f"--beta must be a number >= 0; got {text!r}") from None
    if not value >= 0 or value == float("inf"):
        raise CLIError(f"--beta must be a finite number >= 0; got {text}")
    return value


@command("compare", "the main demo: DP vs exact policy gradient, natural PG, actor-critic and "
         "sampled methods on the toy language MDP, with a table and a PNG of the curves",
         arg("--vocab", default=None,
             help="comma-separated words (default: the, cat, dog, sat, on, mat)"),
         arg("--max-len", type=_positive_int("--max-len"), default=5,
             help="longest sentence (default 5)"),
         arg("--beta", type=_beta, default=0.0,
             help="KL temperature towards the reference model (default 0)"),
         arg("--iterations", type=_positive_int("--iterations"), default=300,
             help="updates of each exact gradient method (default 300)"),
         arg("--episodes", type=_positive_int("--episodes"), default=2000,
             help="episodes of each sampled method (default 2000)"),
         arg("--seed", type=int, default=0, help="seed of the sampled methods (default 0)"),
         arg("--plot", default="compare.png", metavar="FILE",
             help="where to write the convergence curves (default compare.png; '' for none)"),
         arg("--json", action="store_true", help="print the results as JSON instead of a table"),
         arg("--quiet", action="store_true", help="no progress bar"))
def _compare(args):
    import json

    import mdptoolkit as mt

    if args.plot:
        check_output_path(args.plot)
    vocab = None
    if args.vocab is not None:
        vocab = [w for w in (t.strip() for t in args.vocab.split(",")) if w]
        if not vocab:
            raise CLIError(f"--vocab must list at least one word; got {args.vocab!r}")
    target = ("the", "cat", "sat")
    if vocab is not None and not set(target) <= set(vocab):
        target = tuple(vocab[:min(3, args.max_len)])
    lm = mt.language.toy(max_len=args.max_len, vocab=vocab, target=target)
    bar = None
    if not args.quiet and not args.json:
        bar = _progress_bar(total=8 if args.beta > 0 else 7)
    started = []

    def progress(method):
        if bar is not None:
            if started:
                bar.update(1)  # the previous method is done
            started.append(method)
            bar.set_description(method)

    comparison = mt.compare(lm, beta=args.beta, iterations=args.iterations,
                            episodes=args.episodes, seed=args.seed, progress=progress)
    if bar is not None:
        bar.update(bar.total - bar.n)
        bar.close()
    if args.json:
        print(json.dumps(comparison.to_dict(), indent=2))
    else:
        objective = "E[r(y)]" if args.beta == 0 else f"E[r(y)] - {args.beta:g} KL(pi || pi_ref)"
        print(f"{lm!r}; objective {objective}; DP optimum {comparison.optimum:.6f}")
        print(comparison.table())
    if args.plot:
        save_figure(_compare_figure(comparison), args.plot)
        if not args.json:
            print(f"wrote {args.plot}")
    return EXIT_OK


def _progress_bar(total):
    """A tqdm bar on stderr (a plain counter if tqdm is missing)."""
    try:
        from tqdm import tqdm
    except ImportError:  # pragma: no cover - tqdm is a dependency
        class _Plain:
            n = 0

            def set_description(self, text):
                print(f"  running {text} ...", file=sys.stderr)

            def update(self, k):
                self.n += k

            def close(self):
                pass
        return _Plain()
    return tqdm(total=total, file=sys.stderr, leave=False, unit="method")


def _compare_figure(comparison):
    from matplotlib.figure import Figure

    from . import plot

    figure = Figure(figsize=(13, 5), layout="constrained")
    left, right = figure.subplots(1, 2)
    exact = {name: comparison.results[name] for name in
             ("policy_gradient", "natural_policy_gradient", "actor_critic")}
    plot.convergence(exact, key="gap", ax=left)
    left.set_title("exact gradient methods: gap to the DP optimum")
    sampled = {name: comparison.results[name] for name in ("reinforce", "sampled_actor_critic")}
    plot.convergence(sampled, key="gap", ax=right)
    right.set_title("sampled methods: exact gap of the current policy" +
                    (" (plain objective E[r])" if comparison.beta > 0 else ""))
    figure.suptitle(f"mdptoolkit compare (beta = {comparison.beta:g}): every method against the "
                    f"DP optimum {comparison.optimum:.4f}")
    return figure


# --------------------------------------------------------------------------- entry point

def _demo():
    import numpy as np

    import mdptoolkit as mt

    # Puterman (2005), §3.1: the two-state example, gamma = 0.95
    P = np.zeros((2, 2, 2))
    P[0, 0] = [0.5, 0.5]
    P[0, 1] = [0, 1]
    P[1, :] = [0, 1]
    mdp = mt.MDP(P, [[5.0, 10.0], [-1.0, -np.inf]], 0.95)
    print(f"{PROG} {mt.__version__}")
    print(f"usage: {PROG} {{{','.join(COMMANDS)}}} ...  (`{PROG} --help` for more, "
          f"`{PROG} list` for environments and methods)")
    print()
    print("Puterman (2005) §3.1 two-state example, gamma = 0.95:")
    for method in ("value_iteration", "policy_iteration", "linear_programming"):
        result = mt.solve(mdp, method=method)
        print(f"  {method:<20} V* = {np.array2string(result.V, precision=4)}  "
              f"policy = {result.policy}  ({result.message})")
    return EXIT_OK


def _parser():
    parser = _Parser(prog=PROG, description="Finite MDPs for teaching and for checking RL "
                     "theory: solve the textbook environments from the command line.",
                     epilog="exit status: 0 done, 1 a solver stopped without converging, "
                            "2 usage or input error")
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (function, help_text, arguments) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        for flags, options in arguments:
            p.add_argument(*flags, **options)
        p.set_defaults(run=function)
    return parser


def _fail(message):
    print(f"{PROG}: error: {' '.join(str(message).split())}", file=sys.stderr)
    return EXIT_USAGE


def main(argv=None):
    """Entry point of the ``mdptoolkit`` console script and ``python -m mdptoolkit``."""
    try:
        args = _parser().parse_args(argv)
        if args.version:
            from . import __version__
            print(__version__)
            return EXIT_OK
        if args.command is None:
            return _demo()
        return args.run(args)
    except CLIError as exc:
        return _fail(exc)
    except BrokenPipeError:  # e.g. `mdptoolkit list | head`: stop quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK
    except (ValueError, OSError) as exc:  # the library's input errors, e.g. an improper policy
        if os.environ.get("MDPTOOLKIT_TRACEBACK"):
            raise
        return _fail(exc)
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
