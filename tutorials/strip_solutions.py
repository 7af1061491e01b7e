"""Make the students' copies of the tutorials: the same files without the solution cells.

A solution cell is marked in jupytext's percent format by the ``solution`` tag::

    # %% tags=["solution"]
    # %% [markdown] tags=["solution"]

Usage (one command, from the repository root)::

    python tutorials/strip_solutions.py students/            # every tutorial 01-05
    python tutorials/strip_solutions.py students/ tutorials/02_value_vs_policy_iteration.py

The copies are percent-format scripts again (open them in Jupyter with jupytext, or convert
with ``jupytext --to notebook``). The same filter on a notebook is nbconvert's
``--TagRemovePreprocessor.remove_cell_tags solution``; this script needs neither package.
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

HEADER = re.compile(r"^# %%(?P<rest>.*)$")
TAGS = re.compile(r"\btags\s*=\s*(?P<list>\[[^\]]*\])")


def cells(text):
    """Split a percent-format script into cells: [(header line or None, text)]; the text
    before the first ``# %%`` is a cell with no header."""
    out, header, lines = [], None, []
    for line in text.splitlines(keepends=True):
        if HEADER.match(line.rstrip("\n")):
            if header is not None or lines:
                out.append((header, "".join(lines)))
            header, lines = line, [line]
        else:
            lines.append(line)
    if header is not None or lines:
        out.append((header, "".join(lines)))
    return out


def tags(header):
    """The tags of a cell header, e.g. ``{'solution'}``."""
    match = TAGS.search(header or "")
    if match is None:
        return set()
    try:
        value = ast.literal_eval(match.group("list"))
    except (ValueError, SyntaxError):
        raise ValueError(f"cell tags must be a list of strings; got {match.group('list')!r} "
                         f"in {header.strip()!r}") from None
    return {str(t) for t in value}


def strip(text, tag="solution"):
    """The script without the cells tagged ``tag``."""
    return "".join(body for header, body in cells(text) if tag not in tags(header))


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0 if argv else 2
    out = Path(argv[0])
    paths = [Path(p) for p in argv[1:]] or sorted(Path(__file__).parent.glob("0[1-5]_*.py"))
    out.mkdir(parents=True, exist_ok=True)
    for path in paths:
        text = path.read_text(encoding="utf-8")
        student = strip(text)
        (out / path.name).write_text(student, encoding="utf-8")
        n = len(cells(text)) - len(cells(student))
        print(f"{out / path.name}: {n} solution cells removed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
