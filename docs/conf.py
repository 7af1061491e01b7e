"""Sphinx configuration of the mdptoolkit documentation.

Build (from the repository root, after ``pip install -e ".[docs]"``)::

    python -m sphinx -W --keep-going -b html docs docs/_build/html

The tutorials (``tutorials/NN_*.py``, jupytext percent scripts) are copied into
``docs/tutorials/`` and executed by myst-nb on every build; the command-line pages run
``mdptoolkit COMMAND --help`` at build time (``_ext/cli_help.py``). Nothing is downloaded
while building: no intersphinx inventory, no remote images.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(DOCS / "_ext"))
sys.path.insert(0, str(ROOT))

import mdptoolkit  # noqa: E402

# --------------------------------------------------------------------------- project

project = "mdptoolkit"
author = "mdptoolkit contributors"
copyright = "mdptoolkit contributors"
release = mdptoolkit.__version__
version = ".".join(release.split(".")[:2])

# --------------------------------------------------------------------------- extensions

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "myst_nb",
    "cli_help",
]

exclude_patterns = ["_build", "conf.py", "_ext", "_templates", "**.ipynb_checkpoints",
                    "Thumbs.db", ".DS_Store"]
templates_path = ["_templates"]
nitpicky = True
# no intersphinx (nothing is downloaded at build time), so names of other libraries cannot
# resolve; every name of mdptoolkit must
nitpick_ignore_regex = [(r"py:.*", r"(numpy|scipy|matplotlib|hypothesis|gymnasium)(\..*)?")]
suppress_warnings: list[str] = []

# --------------------------------------------------------------------------- API reference

autosummary_generate = True
autosummary_imported_members = False
autodoc_typehints = "none"           # the numpydoc Parameters sections carry the types
autodoc_member_order = "bysource"
numpydoc_show_class_members = False  # members listed by the autosummary class template
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
numpydoc_validation_checks: set[str] = set()

# --------------------------------------------------------------------------- tutorials

# myst-nb reads the tutorials' percent scripts through jupytext (_ext/tutorial_reader.py) and
# executes them
nb_custom_formats = {".py": ["tutorial_reader.reads", {}]}
# always re-run: a tutorial that breaks fails the build (MDPTOOLKIT_DOCS_EXECUTE=off skips
# running them while writing pages; "cache" re-runs only the tutorials that changed)
nb_execution_mode = os.environ.get("MDPTOOLKIT_DOCS_EXECUTE", "force")
nb_execution_raise_on_error = True
nb_execution_timeout = 300
nb_execution_in_temp = True          # the PNGs the tutorials save land in a temporary folder
nb_execution_show_tb = True
nb_merge_streams = True
myst_enable_extensions = ["dollarmath", "amsmath"]
myst_heading_anchors = 3

# figures show inline in the executed notebooks, whatever MPLBACKEND the caller has set
os.environ["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"


def _copy_tutorials() -> None:
    """Copy ``tutorials/NN_*.py`` to ``docs/tutorials/`` (only what changed, so an unchanged
    tutorial keeps its timestamp); copies whose source is gone are removed."""
    target = DOCS / "tutorials"
    target.mkdir(exist_ok=True)
    sources = sorted((ROOT / "tutorials").glob("[0-9][0-9]_*.py"))
    names = {path.name for path in sources}
    for stale in target.glob("*.py"):
        if stale.name not in names:
            stale.unlink()
    for path in sources:
        copy = target / path.name
        if not copy.exists() or copy.read_bytes() != path.read_bytes():
            shutil.copyfile(path, copy)


_copy_tutorials()

# --------------------------------------------------------------------------- HTML

html_theme = "pydata_sphinx_theme"
html_title = f"mdptoolkit {release}"
html_static_path: list[str] = []
html_theme_options = {
    "navigation_depth": 3,
    "show_toc_level": 2,
    "navbar_align": "left",
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
}
html_show_sourcelink = False
