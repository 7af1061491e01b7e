"""``mdptoolkit rlhf``: the RL fine-tuning lab from the command line, run in-process."""

import re

import pytest

import mdptoolkit as mt
from mdptoolkit.cli import main

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
METHODS = ("reference pi_ref", "exact optimum p*_beta", "best-of-4", "best-of-16", "best-of-64",
           "dpo", "ipo", "rloo", "grpo", "ppo")


def rows_of(out):
    """method -> the table's cells (split on runs of two or more spaces)."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("method"))
    rows = {}
    for line in lines[start + 2:]:
        cells = re.split(r"\s{2,}", line.strip())
        if cells[0] not in METHODS:
            break
        rows[cells[0]] = cells
    return rows


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    path = tmp_path_factory.mktemp("rlhf") / "lab.png"
    capture = pytest.MonkeyPatch()
    import io
    import sys
    out, err = io.StringIO(), io.StringIO()
    capture.setattr(sys, "stdout", out)
    capture.setattr(sys, "stderr", err)
    try:
        status = main(["rlhf", "--steps", "40", "--plot", str(path)])
    finally:
        capture.undo()
    return status, out.getvalue(), err.getvalue(), path


def test_rlhf_prints_every_method_measured_against_the_exact_optimum(lab):
    status, out, err, path = lab
    assert status == 0 and err == ""   # no progress when stderr is not a terminal
    lm = mt.language.toy()
    best = mt.rlhf.optimum(lm, 0.3)
    assert f"J* = beta log Z = {best:.6f}" in out
    rows = rows_of(out)
    assert tuple(rows) == METHODS
    header = out.splitlines()[2]
    for column in ("gold reward", "KL", "J_beta", "gap", "steps", "seconds",
                   "most likely sentence"):
        assert column in header
    # the optimum row is p*_beta itself: gap 0, KL and reward of the exact Gibbs policy
    # (Rafailov et al. 2023, eq. 4); the reference has KL 0
    J, reward, kl = mt.rlhf.measure(lm, mt.rlhf.optimal_policy(lm, 0.3), 0.3)
    star = rows["exact optimum p*_beta"]
    assert star[1:5] == [f"{reward:.4f}", f"{kl:.4f}", f"{J:.4f}", "0"]
    assert rows["reference pi_ref"][2] == "0.0000"
    # best-of-n: J = E[r] - beta KL of its exact distribution
    bon = mt.rlhf.best_of_n(lm, 16)
    assert rows["best-of-16"][3] == f"{bon.expected_reward - 0.3 * bon.kl:.4f}"
    # every trained method ran the requested steps and moved off the reference's gap
    start = float(rows["reference pi_ref"][4])
    for name in ("dpo", "ipo", "rloo", "grpo", "ppo"):
        assert rows[name][5] == "40"
        assert 0 < float(rows[name][4]) < start, name
    for cells in rows.values():   # gap = J* - J_beta, row by row
        gap = 0.0 if cells[4] == "0" else float(cells[4])
        assert gap == pytest.approx(best - float(cells[3]), rel=5e-3, abs=1e-4)
    assert "'the cat sat'" in rows["rloo"][7]
    assert f"wrote {path}" in out


def test_rlhf_writes_the_figure(lab):
    from matplotlib import image

    path = lab[3]
    assert path.read_bytes()[:8] == PNG_SIGNATURE
    height, width = image.imread(path).shape[:2]
    assert width > 1200 and height > 500


def test_rlhf_figure_draws_every_method_on_the_frontier_and_its_gap_curve():
    import matplotlib
    matplotlib.use("Agg")
    from mdptoolkit.cli.cmd_rlhf import _figure, _lab

    lm = mt.language.toy(max_len=3)
    best, rows = _lab(lm, 0.5, 5, 0, lambda name: None)
    figure = _figure(lm, 0.5, best, rows)
    left, right = figure.axes[:2]
    labels = [line.get_label() for line in left.get_lines() if not line.get_label()[0] == "_"]
    for name in ("dpo", "ipo", "rloo", "grpo", "ppo", "best-of-4"):
        assert name in labels
    by_name = {r.method: r for r in rows}
    curves = {line.get_label(): line for line in right.get_lines()}
    for name in ("dpo", "ipo", "rloo", "grpo", "ppo"):
        history = by_name[name].result.history
        assert list(curves[name].get_xdata()) == list(range(6))
        assert curves[name].get_ydata()[-1] == pytest.approx(history["gap"][-1])
    # the trajectory on the frontier is the history's (kl, reward)
    traj = next(line for line in left.get_lines() if line.get_label() == "rloo")
    assert list(traj.get_xdata()) == list(by_name["rloo"].result.history["kl"])


def test_rlhf_is_reproducible_for_a_seed(capsys, tmp_path):
    def table(seed):
        assert main(["rlhf", "--steps", "5", "--seed", str(seed), "--plot", ""]) == 0
        rows = rows_of(capsys.readouterr().out)
        return {name: cells[:6] for name, cells in rows.items()}   # all but the seconds
    first = table(3)
    assert table(3) == first
    assert table(4)["rloo"] != first["rloo"]


def test_rlhf_progress_only_on_a_terminal(capsys, monkeypatch):
    import sys

    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    assert main(["rlhf", "--steps", "2", "--plot", ""]) == 0
    err = capsys.readouterr().err
    assert "[1/10] exact optimum" in err and "ppo ..." in err
    assert main(["rlhf", "--steps", "2", "--plot", "", "--quiet"]) == 0
    assert capsys.readouterr().err == ""


BAD = [
    (["--beta", "0"], "--beta: must be > 0; got 0"),
    (["--beta", "-1"], "--beta: must be > 0"),
    (["--beta", "nan"], "--beta: must be finite"),
    (["--beta", "big"], "--beta: must be a number; got 'big'"),
    (["--steps", "0"], "--steps: must be >= 1; got 0"),
    (["--steps", "2.5"], "--steps: must be an integer; got '2.5'"),
    (["--seed", "-1"], "--seed: must be >= 0; got -1"),
    (["--plot", "lab.txt"], "--plot file must end in one of"),
    (["--plot", "no/such/dir/lab.png"], "does not exist"),
    (["--bogus"], "unrecognized arguments: --bogus"),
]


@pytest.mark.parametrize("options, message", BAD, ids=[" ".join(o) for o, _ in BAD])
def test_rlhf_bad_options_are_one_line_and_exit_2(options, message, capsys, tmp_path,
                                                   monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["rlhf", *options]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("mdptoolkit: error: ")
    assert message in lines[0]
    assert not list(tmp_path.iterdir())   # nothing written
