"""The command line runs in a subprocess, as a user would run it."""

import subprocess
import sys

import mdptoolkit


def run(*args):
    return subprocess.run([sys.executable, "-m", "mdptoolkit", *args], capture_output=True,
                          text=True, timeout=120)


def test_demo_prints_version_and_solution():
    proc = run()
    assert proc.returncode == 0, proc.stderr
    assert mdptoolkit.__version__ in proc.stdout
    # Puterman (2005) §3.1, gamma = 0.95: v*(s1) = -8.5714, v*(s2) = -20
    assert "-8.5714" in proc.stdout and "-20." in proc.stdout


def test_version_flag():
    proc = run("--version")
    assert proc.returncode == 0
    assert proc.stdout.strip() == mdptoolkit.__version__


def test_bad_option_exits_2_with_one_line():
    proc = run("--no-such-option")
    assert proc.returncode == 2
    assert "unrecognized arguments" in proc.stderr
    assert "Traceback" not in proc.stderr
