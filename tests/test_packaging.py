"""The release's files and the documentation's coverage of the public API.

Fast checks (no build): the version is written in one place and agrees everywhere it is read;
LICENSE, CHANGELOG.md and py.typed exist and are declared; every public name has an entry in
the API reference sources (docs/api/*.rst), so a new public name without documentation fails
here; every subcommand has its page. The Sphinx build itself (with -W) is run by .ci/run.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import mdptoolkit as mt
from mdptoolkit.cli._common import COMMANDS

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    tomllib = pytest.importorskip("tomli")

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "mdptoolkit"
DOCS = ROOT / "docs"
SUBPACKAGES = ("envs", "language", "rlhf", "plot", "testing")


def _pyproject():
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def _version_assignments():
    tree = ast.parse((PACKAGE / "__init__.py").read_text(encoding="utf-8"))
    return [node for node in tree.body if isinstance(node, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == "__version__" for t in node.targets)]


# --------------------------------------------------------------------------- version

def test_version_is_written_once_as_a_literal_in_the_package():
    assignments = _version_assignments()
    assert len(assignments) == 1, "mdptoolkit/__init__.py must assign __version__ exactly once"
    value = assignments[0].value
    # a literal, so setuptools reads it without importing the package
    assert isinstance(value, ast.Constant) and isinstance(value.value, str)
    assert value.value == mt.__version__


def test_version_follows_pep_440():
    # PEP 440, public version identifiers (Appendix B's regular expression, simplified)
    assert re.fullmatch(r"\d+(\.\d+)*((a|b|rc)\d+)?(\.post\d+)?(\.dev\d+)?", mt.__version__)


def test_pyproject_reads_the_version_from_the_package():
    project = _pyproject()
    assert "version" not in project["project"], "the version must not be repeated in pyproject"
    assert "version" in project["project"]["dynamic"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "mdptoolkit.__version__"}


def test_docs_read_the_version_from_the_package():
    conf = (DOCS / "conf.py").read_text(encoding="utf-8")
    assert "release = mdptoolkit.__version__" in conf
    assert mt.__version__ not in conf


def test_changelog_has_the_current_version_or_an_unreleased_section():
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    headings = re.findall(r"^## \[?([^\]\s]+)\]?", changelog, flags=re.M)
    assert "Unreleased" in headings
    assert mt.__version__ in headings, (f"CHANGELOG.md has no section for {mt.__version__}; "
                                        f"it has {headings}")


# --------------------------------------------------------------------------- release files

def test_license_is_mit_and_declared():
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert text.startswith("MIT License")
    assert "mdptoolkit contributors" in text
    project = _pyproject()["project"]
    assert project["license"] == "MIT"
    assert "LICENSE" in project["license-files"]


def test_py_typed_ships_with_the_package():
    assert (PACKAGE / "py.typed").is_file()
    package_data = _pyproject()["tool"]["setuptools"]["package-data"]
    assert "py.typed" in package_data["mdptoolkit"]


def test_docs_extra_has_what_the_build_uses():
    extra = " ".join(_pyproject()["project"]["optional-dependencies"]["docs"])
    for package in ("sphinx", "pydata-sphinx-theme", "numpydoc", "myst-nb", "jupytext",
                    "ipykernel"):
        assert re.search(rf"(^|\s){re.escape(package)}\b", extra), f"docs extra lacks {package}"


# --------------------------------------------------------------------------- API reference

_DIRECTIVE = re.compile(r"^\.\. (?:py:)?(currentmodule|automodule|module|autosummary|data|"
                        r"autofunction|autoclass|autodata)::\s*(\S*)")


def documented_names(sources):
    """Fully qualified names that the reST sources document: autosummary entries (qualified by
    the current module), module directives and data/auto* directives."""
    names = set()
    for path in sources:
        module, in_summary = None, False
        for line in path.read_text(encoding="utf-8").splitlines():
            match = _DIRECTIVE.match(line)
            if match:
                kind, argument = match.groups()
                in_summary = kind == "autosummary"
                if kind in ("currentmodule", "automodule", "module"):
                    module = argument
                if kind in ("automodule", "module"):
                    names.add(argument)
                elif kind in ("data", "autofunction", "autoclass", "autodata"):
                    names.add(argument if "." in argument else f"{module}.{argument}")
                continue
            if in_summary:
                entry = line.strip()
                if not line.startswith("   ") and entry:
                    in_summary = False
                elif entry and not entry.startswith(":"):
                    names.add(entry if entry.startswith("mdptoolkit.") else f"{module}.{entry}")
    return names


DOCUMENTED = documented_names(sorted((DOCS / "api").glob("*.rst")))


def test_the_reader_of_the_api_sources_finds_entries():
    # guards the parser above: a few names known to be listed, and nothing made up
    assert {"mdptoolkit.MDP", "mdptoolkit.envs", "mdptoolkit.__version__",
            "mdptoolkit.rlhf.ppo", "mdptoolkit.testing.mdps"} <= DOCUMENTED
    assert "mdptoolkit.no_such_name" not in DOCUMENTED


@pytest.mark.parametrize("name", mt.__all__)
def test_every_top_level_name_is_in_the_api_reference(name):
    assert f"mdptoolkit.{name}" in DOCUMENTED, (
        f"mdptoolkit.{name} is public (in mt.__all__) but has no entry in docs/api/*.rst; "
        "add it to the autosummary list of its layer")


@pytest.mark.parametrize("qualified", [f"mdptoolkit.{sub}.{name}" for sub in SUBPACKAGES
                                       for name in getattr(mt, sub).__all__])
def test_every_subpackage_name_is_in_the_api_reference(qualified):
    assert qualified in DOCUMENTED, (
        f"{qualified} is public (in its package's __all__) but has no entry in docs/api/*.rst")


def test_every_api_page_is_in_the_api_toctree():
    index = (DOCS / "api" / "index.rst").read_text(encoding="utf-8")
    for page in (DOCS / "api").glob("*.rst"):
        if page.stem != "index":
            assert re.search(rf"^   {page.stem}$", index, flags=re.M), f"{page.name} not listed"


# --------------------------------------------------------------------------- command line

@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_subcommand_has_a_page_with_its_help(command):
    page = DOCS / "cli" / f"{command}.rst"
    assert page.is_file(), f"subcommand {command!r} has no page docs/cli/{command}.rst"
    assert f".. cli-help:: {command}" in page.read_text(encoding="utf-8")
    index = (DOCS / "cli" / "index.rst").read_text(encoding="utf-8")
    assert re.search(rf"^   {command}$", index, flags=re.M), f"{command} not in cli/index.rst"
