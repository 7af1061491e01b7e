"""What the subcommands share: the registry (:func:`command`), option types that refuse bad
values in one line, the environment and solver tables, figure saving."""

from __future__ import annotations

import argparse
import difflib
import inspect
import math
import os
import sys

from .. import envs
from ..solvers import SOLVERS


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
    return {name: getattr(envs, name) for name in envs.__all__
            if name[0].islower() and inspect.isfunction(getattr(envs, name))}


def _solvers():
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
