"""What the subcommands share: the registry (:func:`command`), option types that refuse bad
values in one line, the environment and solver tables, figure saving."""

from __future__ import annotations

import argparse
import ast
import difflib
import inspect
import math
import os
import sys
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

from .. import envs
from ..solvers import SOLVERS

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from ..envs import Environment

_T = TypeVar("_T")
#: A subcommand: ``function(args) -> exit status``.
Command = Callable[[argparse.Namespace], int]
#: One ``add_argument`` call: (flags, keyword options).
Argument = tuple[tuple[str, ...], dict[str, Any]]

PROG = "mdptoolkit"
EXIT_OK, EXIT_NOT_CONVERGED, EXIT_USAGE = 0, 1, 2

#: Keyword arguments the command line gives builders that have no default for them.
BUILD_ARGUMENTS: dict[str, dict[str, Any]] = {
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

    def error(self, message: str) -> NoReturn:
        raise CLIError(message)


# --------------------------------------------------------------------------- registry

#: name -> (function, help, arguments); filled by :func:`command`.
COMMANDS: dict[str, tuple[Command, str, tuple[Argument, ...]]] = {}


def arg(*flags: str, **options: Any) -> Argument:
    """One ``add_argument`` call, declared for :func:`command`."""
    return flags, options


def command(name: str, help: str, *arguments: Argument) -> Callable[[Command], Command]:
    """Register ``function(args) -> int`` as the subcommand ``name`` with its arguments.

    A new subcommand is one decorated function::

        @command("compare", "compare the methods on the toy language MDP",
                 arg("--beta", type=_nonnegative("--beta"), default=0.0))
        def _compare(args):
            ...
            return EXIT_OK
    """
    def register(function: Command) -> Command:
        COMMANDS[name] = (function, help, arguments)
        return function
    return register


# --------------------------------------------------------------------------- option types

def _number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number; got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be finite; got {text!r}")
    return value


def _gamma(text: str) -> float:
    value = _number(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be in [0, 1]; got {text}")
    return value


def _integer(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer; got {text!r}") from None


def _checked(flag: str, convert: Callable[[str], _T], ok: Callable[[_T], bool],
             rule: str) -> Callable[[str], _T]:
    """An argparse type: ``convert`` the text, then require ``ok`` of the value (``rule`` says
    what in the error)."""
    def parse(text: str) -> _T:
        value = convert(text)
        if not ok(value):
            raise argparse.ArgumentTypeError(f"must be {rule}; got {text}")
        return value
    parse.__name__ = flag.lstrip("-")
    return parse


def _positive(flag: str) -> Callable[[str], float]:
    return _checked(flag, _number, lambda v: v > 0, "> 0")


def _nonnegative(flag: str) -> Callable[[str], float]:
    return _checked(flag, _number, lambda v: v >= 0, ">= 0")


def _count(flag: str) -> Callable[[str], int]:
    return _checked(flag, _integer, lambda v: v >= 1, ">= 1")


# --------------------------------------------------------------------------- shared helpers

def _unknown(what: str, name: str, choices: Sequence[str], hint: str) -> CLIError:
    close = difflib.get_close_matches(name, choices, n=1)
    maybe = f"did you mean {close[0]!r}? " if close else ""
    return CLIError(f"unknown {what} {name!r}; {maybe}choose from {', '.join(choices)} ({hint})")


def _builders() -> dict[str, Callable[..., Environment]]:
    """name -> builder function, for every builder in :mod:`mdptoolkit.envs`."""
    return {name: getattr(envs, name) for name in envs.__all__
            if name[0].islower() and inspect.isfunction(getattr(envs, name))}


def _solvers() -> dict[str, Callable[..., Any]]:
    return dict(SOLVERS)


def _first_line(obj: object) -> str:
    doc = inspect.getdoc(obj) or ""
    return doc.strip().splitlines()[0].replace("``", "") if doc.strip() else ""


#: Builders that take a text map, and the keyword it goes to (``--map FILE``).
MAP_KEYWORDS = {"gridworld": "layout", "frozen_lake": "desc"}
# a --set value that starts like a container or a string literal but does not parse is a typo,
# not a string (``--set rewards={'G': 1``)
_LITERAL_STARTS = tuple("[({'\"")


def parse_setting(text: str) -> tuple[str, Any]:
    """``KEY=VALUE`` of ``--set``: the value read as a Python literal, else kept as a string.

    >>> parse_setting("gamma=0.5"), parse_setting("map_name=8x8"), parse_setting("p=(1, 2)")
    (('gamma', 0.5), ('map_name', '8x8'), ('p', (1, 2)))
    """
    key, sep, value = text.partition("=")
    key = key.strip()
    if not sep or not key.isidentifier():
        raise CLIError(f"--set must be KEY=VALUE with KEY a keyword name; got {text!r}")
    try:
        return key, ast.literal_eval(value.strip())
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        if value.strip().startswith(_LITERAL_STARTS):
            raise CLIError(f"--set {key}: value must be a Python literal (a number, string, "
                           f"tuple, list or dict) or a plain word; got {value!r}") from None
        return key, value.strip()


def read_map(path: str) -> tuple[str, ...]:
    """The rows of a text map file (blank lines around the map and trailing spaces dropped)."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        raise CLIError(f"cannot read --map file {path!r}: {reason}") from None
    rows = [r.rstrip() for r in text.splitlines()]
    while rows and not rows[0]:
        rows.pop(0)
    while rows and not rows[-1]:
        rows.pop()
    if not rows:
        raise CLIError(f"--map file must hold a text map, one line per row; got an empty file "
                       f"{path!r}")
    return tuple(rows)


def _build(name: str, settings: Sequence[str] | None = (),
           map_file: str | None = None) -> Environment:
    """Build environment ``name`` with the command line's defaults, ``--set KEY=VALUE``
    settings and a ``--map FILE``; every bad value is a :class:`CLIError`."""
    builders = _builders()
    if name not in builders:
        raise _unknown("environment", name, list(builders), "see `mdptoolkit list`")
    builder = builders[name]
    params = inspect.signature(builder).parameters
    valid = [p for p in params if params[p].kind in (inspect.Parameter.KEYWORD_ONLY,
                                                      inspect.Parameter.POSITIONAL_OR_KEYWORD)]
    kwargs = dict(BUILD_ARGUMENTS.get(name, {}))
    given: dict[str, Any] = {}
    for text in settings or ():
        key, value = parse_setting(text)
        if key not in valid:
            close = difflib.get_close_matches(key, valid, n=1)
            maybe = f"did you mean {close[0]!r}? " if close else ""
            raise CLIError(f"--set key must be a keyword of {name}(); got {key!r}; {maybe}"
                           f"valid keys: {', '.join(valid)}")
        if key in given:
            raise CLIError(f"--set {key} must be given once; got {given[key]!r} and {value!r}")
        given[key] = value
    if map_file is not None:
        if name not in MAP_KEYWORDS:
            raise CLIError(f"--map applies to {' and '.join(MAP_KEYWORDS)}; got environment "
                           f"{name!r}")
        keyword = MAP_KEYWORDS[name]
        if keyword in given:
            raise CLIError(f"--map and --set {keyword}= both give the map; pass one of them")
        given[keyword] = read_map(map_file)
    kwargs.update(given)
    try:
        return builder(**kwargs)
    except (TypeError, ValueError) as exc:
        flags = " ".join([f"--set {t}" for t in settings or ()] +
                         ([f"--map {map_file}"] if map_file is not None else []))
        raise CLIError(f"{name} refuses {flags or 'its defaults'}: "
                       f"{' '.join(str(exc).split())}") from None


def check_output_path(path: str, flag: str = "--plot") -> None:
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


def save_figure(figure: Figure, path: str, flag: str = "--plot") -> None:
    """Write a figure (made with ``matplotlib.figure.Figure``, no pyplot) as a one-line error."""
    try:
        figure.savefig(path, dpi=110)
    except (OSError, ValueError) as exc:
        raise CLIError(f"cannot write {flag} file {path!r}: {exc}") from None


def _stdout_can(text: str) -> bool:
    encoding = getattr(sys.stdout, "encoding", None) or "ascii"
    try:
        text.encode(encoding)
    except (UnicodeEncodeError, LookupError):
        return False
    return True


def _number_format(values: Iterable[float]) -> str:
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
