"""Plots of mt.rlhf: what they draw (the data of each line, one legend entry per artist)."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from numpy.testing import assert_allclose  # noqa: E402

import mdptoolkit as mt  # noqa: E402
from mdptoolkit import plot  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def legend_labels(ax):
    return [t.get_text() for t in ax.get_legend().get_texts()]


def test_reward_kl_frontier_draws_the_gibbs_curve_and_the_methods():
    lm = mt.language.toy(max_len=3)
    prefs = mt.rlhf.sample_preferences(lm, 2000, seed=0)
    dpo = mt.rlhf.preference_optimization(lm, prefs, beta=0.5, iterations=20)
    bon = mt.rlhf.best_of_n(lm, 8)
    ax = plot.reward_kl_frontier(lm, [dpo, bon], betas=[2.0, 1.0, 0.5], labels=["DPO", "BoN"])
    lines = ax.get_lines()
    frontier, trajectory, _end, point = lines
    xs, ys = frontier.get_data()
    expected = sorted(mt.rlhf.measure(lm, mt.rlhf.optimal_policy(lm, b), b)[:0:-1]
                      for b in [2.0, 1.0, 0.5])
    assert_allclose(np.c_[xs, ys], expected)
    assert_allclose(trajectory.get_ydata(), dpo.history["reward"])
    assert_allclose(trajectory.get_xdata(), dpo.history["kl"])
    assert_allclose(point.get_data(), [[bon.kl], [bon.expected_reward]])
    assert legend_labels(ax) == [frontier.get_label(), "DPO", "BoN"]


def test_overoptimization_plot():
    res = mt.rlhf.overoptimization(mt.language.toy(), seed=0)
    ax = plot.overoptimization(res)
    lines = ax.get_lines()
    assert len(lines) == 6 and len(legend_labels(ax)) == 6
    rl_gold = lines[0]
    assert_allclose(rl_gold.get_xdata(), np.sqrt(np.r_[0.0, res.rl_kl]))
    assert_allclose(rl_gold.get_ydata(), np.r_[res.gold_ref, res.rl_gold])
    assert_allclose(lines[2].get_ydata(), res.bon_gold)  # best-of-1 is the reference itself
    no_fits = plot.overoptimization(res, fits=False, ax=plt.figure().gca())
    assert len(no_fits.get_lines()) == 4
    with pytest.raises(TypeError, match="OveroptimizationResult"):
        plot.overoptimization(object())
