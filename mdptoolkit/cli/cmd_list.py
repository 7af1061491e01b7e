"""``mdptoolkit list``: the environments and the methods."""

from __future__ import annotations

import argparse
import inspect
from collections.abc import Callable
from typing import Any

from ._common import (BUILD_ARGUMENTS, BUILD_NOTES, EXIT_OK, SOLVER_OPTIONS, _builders,
                      _first_line, _solvers, command)


@command("list", "list the environments and the solver methods")
def _list(args: argparse.Namespace) -> int:
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
    print("  (--set KEY=VALUE passes a keyword of the builder, e.g. `solve frozen_lake --set "
          "map_name=8x8`; --map FILE a text map to gridworld)")
    print()
    print("methods (mdptoolkit solve ENV --method METHOD):")
    solvers = _solvers()
    width = max(map(len, solvers))
    for name, solver in solvers.items():
        needs = _required_options(solver)
        extra = f" (needs {', '.join('--' + n for n in needs)})" if needs else ""
        print(f"  {name:<{width}}  {_first_line(solver)}{extra}")
    return EXIT_OK


def _required_options(solver: Callable[..., Any]) -> list[str]:
    params = inspect.signature(solver).parameters
    return [option for option, keyword in SOLVER_OPTIONS.items()
            if keyword in params and params[keyword].default is inspect.Parameter.empty]
