"""The command line runs in a subprocess, as a user would run it."""

import inspect
import os
import subprocess
import sys
from pathlib import Path

import pytest

import mdptoolkit
from mdptoolkit import envs

ROOT = Path(mdptoolkit.__file__).resolve().parents[1]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

BUILDERS = [name for name in envs.__all__
            if name[0].islower() and inspect.isfunction(getattr(envs, name))]
# the default method (policy_iteration) except: a quick one for Jack's car rental (441 states,
# 11 actions), and value iteration on one grid
METHOD = {"jacks_car_rental": "modified_policy_iteration", "sutton_barto_5x5": "value_iteration"}


def start(*args, cwd=None):
    """Start ``python -m mdptoolkit ARGS`` (several can run at once: see :func:`run_all`)."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(ROOT)] + [p for p in [os.environ.get("PYTHONPATH")] if p]))
    return subprocess.Popen([sys.executable, "-m", "mdptoolkit", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=cwd, env=env)


def finish(proc):
    try:
        out, err = proc.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def run(*args, cwd=None):
    return finish(start(*args, cwd=cwd))


def run_all(cases):
    """{key: (args, cwd)} -> {key: CompletedProcess}, the processes running side by side."""
    procs = {key: start(*args, cwd=cwd) for key, (args, cwd) in cases.items()}
    return {key: finish(proc) for key, proc in procs.items()}


def test_demo_prints_version_and_solution():
    proc = run()
    assert proc.returncode == 0, proc.stderr
    assert mdptoolkit.__version__ in proc.stdout
    assert "usage" in proc.stdout and "solve" in proc.stdout
    # Puterman (2005) §3.1, gamma = 0.95: v*(s1) = -8.5714, v*(s2) = -20
    assert "-8.5714" in proc.stdout and "-20." in proc.stdout


def test_version_flag():
    proc = run("--version")
    assert proc.returncode == 0
    assert proc.stdout.strip() == mdptoolkit.__version__


def test_help_lists_the_subcommands():
    proc = run("--help")
    assert proc.returncode == 0
    assert "solve" in proc.stdout and "list" in proc.stdout


def test_list_names_every_environment_and_method():
    from mdptoolkit.solvers import SOLVERS

    proc = run("list")
    assert proc.returncode == 0, proc.stderr
    for name in BUILDERS + list(SOLVERS):
        assert f"  {name} " in proc.stdout, name
    assert "Example 4.2" in proc.stdout  # one-line descriptions


@pytest.fixture(scope="module")
def solved():
    return run_all({name: (["solve", name] + (["--method", METHOD[name]] if name in METHOD
                                              else []), None) for name in BUILDERS})


@pytest.mark.parametrize("name", BUILDERS)
def test_solve_every_environment(name, solved):
    proc = solved[name]
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    lines = proc.stdout.splitlines()
    assert lines[1].startswith("converged")
    assert len(lines) < 60  # long outputs are cut
    if name in ("gridworld", "sutton_barto_4x4", "sutton_barto_5x5", "cliff_walking",
                "russell_norvig_4x3", "frozen_lake"):
        assert "policy:" in proc.stdout and "V*:" in proc.stdout


def test_solve_prints_the_textbook_answers(solved):
    # Sutton & Barto (2018) Figure 3.5: v*(A) = 24.4 at row 0, column 1
    stdout = solved["sutton_barto_5x5"].stdout
    grid = stdout.split("V*:")[1].splitlines()[1].split()
    assert grid[1] == "24.42" and grid[0] == "21.98"
    # Figure 4.1 (gamma = 1): -1 per step to the nearest corner
    grid = solved["sutton_barto_4x4"].stdout.split("V*:")[1].splitlines()[1].split()
    assert grid == ["0.000", "-1.000", "-2.000", "-3.000"]
    # Figure 4.2: with 20 cars at location 1 and none at 2, move 5
    stdout = solved["jacks_car_rental"].stdout
    rows = [line.split() for line in stdout.splitlines() if line.startswith("  20 ")]
    assert rows[0][1] == "5"
    assert "more states (--full prints them all" in stdout


def test_solve_gamma_tol_and_full_table():
    proc = run("solve", "gamblers_problem", "--method", "value_iteration", "--tol", "1e-4",
               "--gamma", "0.9", "--full")
    assert proc.returncode == 0, proc.stderr
    assert "gamma = 0.9" in proc.stdout and "tol = 0.0001" in proc.stdout
    assert "$99" in proc.stdout and "more states" not in proc.stdout


@pytest.mark.parametrize("args", [
    ("solve", "sutton_barto_4x4", "--method", "soft_value_iteration", "--beta", "0.5"),
    ("solve", "forest", "--method", "backward_induction", "--horizon", "3"),
    ("solve", "russell_norvig_4x3", "--method", "relative_value_iteration"),
], ids=["soft", "backward", "average"])
def test_solve_methods_with_their_own_options(args):
    proc = run(*args)
    assert proc.returncode == 0, proc.stderr
    assert "converged" in proc.stdout


def test_solve_exits_1_when_the_solver_does_not_converge():
    # gamma = 1 without terminal states: value iteration's values drift, it stops and says so
    proc = run("solve", "sutton_barto_5x5", "--method", "value_iteration", "--gamma", "1")
    assert proc.returncode == 1
    assert "stopped:" in proc.stdout and "Traceback" not in proc.stderr


@pytest.mark.parametrize("name", ["sutton_barto_5x5", "gamblers_problem"])
def test_solve_plot_writes_a_valid_png(name, tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import image

    proc = run("solve", name, "--method", "value_iteration", "--plot", "out.png", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    path = tmp_path / "out.png"
    assert path.read_bytes()[:8] == PNG_SIGNATURE
    pixels = image.imread(path)
    assert pixels.ndim == 3 and pixels.shape[0] > 300 and pixels.shape[1] > 600
    assert "wrote out.png" in proc.stdout


BAD_INPUT = [
    (("--no-such-option",), "unrecognized arguments"),
    (("frobnicate",), "invalid choice"),
    (("solve",), "required"),
    (("solve", "no_such_env"), "unknown environment 'no_such_env'"),
    (("solve", "forst"), "did you mean 'forest'"),
    (("solve", "forest", "--method", "simplex"), "unknown method 'simplex'"),
    (("solve", "forest", "--tol", "-1"), "--tol: must be > 0"),
    (("solve", "forest", "--tol", "abc"), "--tol: must be a number"),
    (("solve", "forest", "--gamma", "1.5"), "--gamma: must be in [0, 1]"),
    (("solve", "forest", "--gamma", "-0.1"), "--gamma: must be in [0, 1]"),
    (("solve", "forest", "--plot", "no/such/dir/out.png"), "does not exist"),
    (("solve", "forest", "--plot", "out.notaformat"), "--plot file must end in one of"),
    (("solve", "forest", "--tol", "1e-3"), "--tol does not apply to method 'policy_iteration'"),
    (("solve", "forest", "--method", "soft_value_iteration"), "needs --beta"),
    (("solve", "forest", "--method", "backward_induction"), "needs --horizon"),
    # a library ValueError: with gamma = 1 the grid has no terminal state (ImproperPolicyError)
    (("solve", "sutton_barto_5x5", "--gamma", "1"), "improper"),
    (("compare", "--beta", "-1"), "--beta must be a finite number >= 0"),
    (("compare", "--iterations", "0"), "--iterations must be a positive integer"),
    (("compare", "--episodes", "many"), "--episodes must be a positive integer"),
    (("compare", "--vocab", ","), "--vocab must list at least one word"),
    (("compare", "--plot", "no/such/dir/c.png"), "does not exist"),
    # --set KEY=VALUE, --map FILE, --max-states N (issue 18)
    (("solve", "frozen_lake", "--set", "map_nam=8x8"),
     "--set key must be a keyword of frozen_lake(); got 'map_nam'; did you mean 'map_name'? "
     "valid keys: map_name, desc, is_slippery, success_rate, reward_schedule, gamma"),
    (("solve", "frozen_lake", "--set", "is_slippery"), "--set must be KEY=VALUE"),
    (("solve", "frozen_lake", "--set", "reward_schedule=(1, 0"),
     "--set reward_schedule: value must be a Python literal"),
    (("solve", "frozen_lake", "--set", "gamma=abc"),
     "frozen_lake refuses --set gamma=abc: gamma must be a real number; got str"),
    (("solve", "frozen_lake", "--set", "map_name=9x9"), "map_name must be one of"),
    (("solve", "frozen_lake", "--set", "gamma=0.5", "--set", "gamma=0.6"),
     "--set gamma must be given once"),
    (("solve", "gridworld", "--map", "no_such_map.txt"),
     "cannot read --map file 'no_such_map.txt': No such file or directory"),
    (("solve", "forest", "--map", "no_such_map.txt"), "--map applies to gridworld"),
    (("compare", "--max-len", "12"), "pass a larger --max-states N"),
    (("compare", "--max-states", "-3"), "--max-states must be a positive integer"),
]


@pytest.fixture(scope="module")
def bad_input_runs(tmp_path_factory):
    folders = {i: tmp_path_factory.mktemp(f"bad{i}") for i in range(len(BAD_INPUT))}
    runs = run_all({i: (args, folders[i]) for i, (args, _) in enumerate(BAD_INPUT)})
    return {i: (runs[i], folders[i]) for i in runs}


@pytest.mark.parametrize("case", range(len(BAD_INPUT)),
                         ids=[" ".join(args) for args, _ in BAD_INPUT])
def test_bad_input_exits_2_with_one_line(case, bad_input_runs):
    expected = BAD_INPUT[case][1]
    proc, tmp_path = bad_input_runs[case]
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("mdptoolkit: error: ")
    assert expected in lines[0]
    assert not list(tmp_path.iterdir())  # nothing written


def test_compare_prints_the_table_and_writes_the_png(tmp_path):
    import json

    from matplotlib import image

    proc = run("compare", "--iterations", "40", "--episodes", "200", "--quiet", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    for method in ("value_iteration", "policy_iteration", "policy_gradient",
                   "natural_policy_gradient", "actor_critic", "reinforce",
                   "sampled_actor_critic"):
        assert method in out
    # the toy's DP optimum is "the cat sat", worth 0.1116 (mdptoolkit.language.toy)
    assert "DP optimum 0.111579" in out and "'the cat sat'" in out
    path = tmp_path / "compare.png"
    assert path.read_bytes()[:8] == PNG_SIGNATURE
    assert image.imread(path).shape[1] > 1000
    proc = run("compare", "--iterations", "20", "--episodes", "100", "--beta", "0.3", "--json",
               "--plot", "", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["beta"] == 0.3
    rows = {row["method"]: row for row in data["rows"]}
    assert abs(rows["soft_value_iteration"]["gap"]) < 1e-9
    assert rows["natural_policy_gradient"]["gap"] < 1e-3


def test_compare_other_vocab_and_length(tmp_path):
    proc = run("compare", "--vocab", "the,cat,sat,on,mat", "--max-len", "4", "--iterations", "10",
               "--episodes", "50", "--quiet", "--plot", "", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "vocab=5 tokens, max_len=4" in proc.stdout
