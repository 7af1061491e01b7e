"""``.. cli-help:: [COMMAND]``: the ``--help`` text of ``mdptoolkit [COMMAND]``, captured when
the documentation is built, as a literal block.

The text comes from :func:`mdptoolkit.cli.main` itself, so a page can never show options the
command line does not have. An unknown subcommand is a build error (a warning, fatal under
``-W``).
"""

from __future__ import annotations

import contextlib
import io
import os

from docutils import nodes
from docutils.parsers.rst import Directive

WIDTH = "88"  # argparse wraps to $COLUMNS


def help_text(command: str | None) -> str:
    """The output of ``mdptoolkit [command] --help``; ValueError when it does not succeed."""
    from mdptoolkit.cli import main
    from mdptoolkit.cli._common import COMMANDS

    if command is not None and command not in COMMANDS:
        raise ValueError(f"mdptoolkit has no subcommand {command!r}; it has {sorted(COMMANDS)}")
    argv = ([command] if command else []) + ["--help"]
    out, err = io.StringIO(), io.StringIO()
    old = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = WIDTH
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                status = main(argv)
            except SystemExit as exc:  # argparse exits after printing the help
                status = exc.code
    finally:
        if old is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = old
    if status not in (0, None) or not out.getvalue().strip():
        raise ValueError(f"`mdptoolkit {' '.join(argv)}` exited with {status}: {err.getvalue()}")
    return out.getvalue().rstrip()


class CLIHelp(Directive):
    optional_arguments = 1
    has_content = False

    def run(self):
        command = self.arguments[0] if self.arguments else None
        try:
            text = help_text(command)
        except ValueError as exc:
            return [self.state.document.reporter.warning(str(exc), line=self.lineno)]
        shown = f"$ mdptoolkit {command + ' ' if command else ''}--help\n{text}"
        block = nodes.literal_block(shown, shown)
        block["language"] = "text"
        return [block]


def setup(app):
    app.add_directive("cli-help", CLIHelp)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
