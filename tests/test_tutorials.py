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
