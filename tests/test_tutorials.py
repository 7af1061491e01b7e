"""Every tutorial runs as a script (Agg backend, in a temporary folder) and exits 0.

The tutorials check their own results (assertion helpers and plain asserts, the exercises'
solutions included), so a tutorial that drifts from the library fails here.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TUTORIALS = sorted((ROOT / "tutorials").glob("[0-9][0-9]_*.py"))


def test_tutorials_exist_and_are_listed():
    assert len(TUTORIALS) >= 5
    readme = (ROOT / "tutorials" / "README.md").read_text()
    for path in TUTORIALS:
        assert path.name in readme, f"{path.name} is not listed in tutorials/README.md"


@pytest.mark.parametrize("path", TUTORIALS, ids=[p.stem for p in TUTORIALS])
def test_tutorial_is_a_percent_notebook(path):
    # jupytext "percent" format: starts with a markdown cell, ends with solved exercises
    text = path.read_text()
    assert text.startswith("# %% [markdown]\n# # "), "the first cell must be a markdown title"
    assert "plt.show(" not in text, "tutorials save figures; plt.show() would block a script"
    assert "Solution" in text


@pytest.mark.parametrize("path", TUTORIALS, ids=[p.stem for p in TUTORIALS])
def test_tutorial_runs(path, tmp_path):
    env = dict(os.environ, MPLBACKEND="Agg")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    proc = subprocess.run([sys.executable, str(path)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, (f"{path.name} exited with {proc.returncode}\n"
                                  f"--- stdout (end) ---\n{proc.stdout[-3000:]}\n"
                                  f"--- stderr (end) ---\n{proc.stderr[-5000:]}")
    for png in tmp_path.glob("*.png"):
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", f"{png.name} is not a PNG"


# --------------------------------------------------------------------------- students' copies
sys.path.insert(0, str(ROOT / "tutorials"))
import strip_solutions  # noqa: E402  (tutorials/strip_solutions.py, the instructors' command)

TAGGED = [p for p in TUTORIALS if p.name[:2] in ("01", "02", "03", "04", "05")]


@pytest.mark.parametrize("path", TAGGED, ids=[p.stem for p in TAGGED])
def test_solution_cells_are_tagged(path):
    cells = strip_solutions.cells(path.read_text())
    solutions = [h for h, _ in cells if "solution" in strip_solutions.tags(h)]
    assert solutions, "no cell is tagged solution"
    for header, body in cells:
        if "# ### Solution" in body:
            assert "solution" in strip_solutions.tags(header), header
    # the exercises' prompt stays in the students' copy, with a cell for their answers
    student = strip_solutions.strip(path.read_text())
    assert "# ## Exercises" in student and "Solution" not in student
    assert student.count("**Exercise") == path.read_text().count("**Exercise") >= 2
    assert student.rstrip().endswith("go here. (In the instructor's copy the solutions follow,\n"
                                     "# in cells tagged \"solution\"; tutorials/README.md says "
                                     "how to strip them.)")


@pytest.mark.parametrize("path", TAGGED, ids=[p.stem for p in TAGGED])
def test_students_copy_runs_up_to_the_exercises(path, tmp_path):
    out = tmp_path / "students"
    assert strip_solutions.main([str(out), str(path)]) == 0
    copy = out / path.name
    env = dict(os.environ, MPLBACKEND="Agg")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    proc = subprocess.run([sys.executable, str(copy)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-5000:]


def test_strip_keeps_untagged_cells_and_reads_jupytext_headers():
    text = ('# %% [markdown]\n# # Title\n\n# %%\nx = 1\n\n'
            '# %% tags=["solution"]\nx = 2\n\n# %% [markdown] tags=["hide", "solution"]\n# why\n'
            '\n# %% tags=["other"]\nprint(x)\n')
    assert strip_solutions.strip(text) == ('# %% [markdown]\n# # Title\n\n# %%\nx = 1\n\n'
                                           '# %% tags=["other"]\nprint(x)\n')
    with pytest.raises(ValueError, match="cell tags must be a list of strings"):
        strip_solutions.tags('# %% tags=[solution]')
