"""The ``mdptoolkit`` command line (the only package that prints).

Subcommands:

- ``mdptoolkit solve ENV --method METHOD [--set KEY=VALUE ...] [--map FILE] [--plot FILE]``:
  build an environment of :mod:`mdptoolkit.envs`, solve it, print V and the policy (arrows for
  grid worlds, every optimal action where several tie) and the solver's message, and
  optionally draw them;
- ``mdptoolkit compare``: every method on the toy language MDP against the DP optimum, a table
  and a figure;
- ``mdptoolkit rlhf``: the RL fine-tuning lab on the toy language MDP (the exact optimum,
  best-of-n, DPO, IPO, RLOO, GRPO, PPO), a table and the reward–KL frontier;
- ``mdptoolkit list``: the environments and the methods.

Without a subcommand it prints the version, a usage hint and a solved textbook example.

Every subcommand is one function ``f(args) -> exit status`` registered with :func:`command`,
which also declares its arguments; errors are raised as :class:`CLIError` (or come from the
library as ``ValueError``) and :func:`main` turns them into one line on stderr,
``mdptoolkit: error: ...``, and exit status 2. Exit status 1 means a solver stopped without
meeting its convergence guarantee.

Modules: one per subcommand (``cmd_list``, ``cmd_solve``, ``cmd_compare``, ``cmd_rlhf``), each
registering itself with ``_common.command``; the shared parser pieces in ``_common``. A new
subcommand is a new module here, imported below.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

import numpy as np

from .. import __version__
from ..mdp import MDP
from ..solvers import solve
from . import cmd_compare, cmd_list, cmd_rlhf, cmd_solve  # noqa: F401  (they register)
from ._common import COMMANDS, EXIT_OK, EXIT_USAGE, PROG, CLIError, _Parser

__all__ = ["main"]


def _demo() -> int:
    # Puterman (2005), §3.1: the two-state example, gamma = 0.95
    P = np.zeros((2, 2, 2))
    P[0, 0] = [0.5, 0.5]
    P[0, 1] = [0, 1]
    P[1, :] = [0, 1]
    mdp = MDP(P, [[5.0, 10.0], [-1.0, -np.inf]], 0.95)
    print(f"{PROG} {__version__}")
    print(f"usage: {PROG} {{{','.join(COMMANDS)}}} ...  (`{PROG} --help` for more, "
          f"`{PROG} list` for environments and methods)")
    print()
    print("Puterman (2005) §3.1 two-state example, gamma = 0.95:")
    for method in ("value_iteration", "policy_iteration", "linear_programming"):
        result = solve(mdp, method=method)
        print(f"  {method:<20} V* = {np.array2string(result.V, precision=4)}  "
              f"policy = {result.policy}  ({result.message})")
    return EXIT_OK


def _parser() -> argparse.ArgumentParser:
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


def _fail(message: object) -> int:
    print(f"{PROG}: error: {' '.join(str(message).split())}", file=sys.stderr)
    return EXIT_USAGE


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``mdptoolkit`` console script and ``python -m mdptoolkit``."""
    try:
        args = _parser().parse_args(argv)
        if args.version:
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
