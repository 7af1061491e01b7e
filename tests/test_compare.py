"""mt.compare: every method on the toy language MDP against the DP optimum."""

import numpy as np
import pytest

import mdptoolkit as mt


@pytest.fixture(scope="module")
def plain():
    return mt.compare(iterations=60, episodes=400, seed=0)


def test_rows_are_measured_against_the_dp_optimum(plain):
    lm = mt.language.toy()
    # the toy's optimum "the cat sat" is worth 0.1116 (mdptoolkit.language.toy docstring)
    assert plain.optimum == pytest.approx(lm.reward_of("the cat sat"), abs=1e-12)
    for row in plain.rows:
        assert row.gap == pytest.approx(plain.optimum - row.J, abs=1e-12)
        assert row.gap >= -1e-9  # nothing beats the DP optimum
        J = mt.expected_return(lm.mdp, plain.results[row.method].policy)
        assert row.J == pytest.approx(J, abs=1e-12)
    dp = {row.method: row for row in plain.rows if row.kind == "DP"}
    assert dp["policy_iteration"].gap == 0 and dp["policy_iteration"].sentence == "the cat sat"


def test_natural_gradient_closes_the_gap_faster_than_vanilla(plain):
    rows = {row.method: row for row in plain.rows}
    assert rows["natural_policy_gradient"].gap < 1e-8
    assert rows["policy_gradient"].gap > 10 * rows["natural_policy_gradient"].gap


def test_regularized_comparison_uses_the_soft_optimum():
    result = mt.compare(beta=0.5, iterations=40, episodes=100)
    rows = {row.method: row for row in result.rows}
    assert abs(rows["soft_value_iteration"].gap) < 1e-9
    # deterministic DP policies pay the KL to the reference: a positive regularized gap
    assert rows["policy_iteration"].gap > 1e-3
    assert rows["natural_policy_gradient"].gap < 1e-6
    assert "soft_value_iteration" in result.table()
    assert result.to_dict()["beta"] == 0.5


def test_bad_arguments():
    with pytest.raises(ValueError, match="iterations must be finite and > 0"):
        mt.compare(iterations=0)
    with pytest.raises(ValueError, match="beta must be finite and >= 0"):
        mt.compare(beta=-1.0)


# ---------------------------------------------------------------------- beta > 0 (issue 17)
@pytest.fixture(scope="module")
def regularized():
    return mt.compare(beta=0.3, iterations=20, episodes=600, seed=0)


def test_every_row_is_scored_on_the_regularized_objective(regularized):
    lm = mt.language.toy()
    ref = lm.reference_policy
    # the exact optimum of J_beta is beta log Z (Rafailov et al. 2023, eq. 4)
    assert regularized.optimum == pytest.approx(mt.rlhf.optimum(lm, 0.3), abs=1e-12)
    for row in regularized.rows:
        policy = regularized.results[row.method].policy
        J = mt.expected_return(lm.mdp, policy, beta=0.3, reference=ref)
        assert row.J == pytest.approx(J, abs=1e-12)
        assert row.gap == pytest.approx(regularized.optimum - J, abs=1e-12)
        assert row.gap >= -1e-9


def test_sampled_rows_optimize_the_regularized_objective(regularized):
    # regression: REINFORCE and the sampled actor-critic used to maximize E[r] alone and sat at
    # the plain optimum's regularized gap (0.076 and 0.077, against policy iteration's 0.078);
    # with the per-token KL penalty in the reward they move toward p*_beta
    rows = {row.method: row for row in regularized.rows}
    start = regularized.results["rloo"].history["gap"][0]   # the reference model's gap
    plain = rows["policy_iteration"].gap
    assert {row.kind for row in regularized.rows} == {"DP", "exact gradient", "sampled",
                                                      "RL fine-tuning"}
    for name in ("reinforce", "sampled_actor_critic", "rloo", "grpo", "ppo"):
        history = regularized.results[name].history
        assert history["gap"][-1] == pytest.approx(rows[name].gap, abs=1e-12)
        assert rows[name].gap < 0.5 * start, name
    # measured at this budget: reinforce 0.016, rloo 0.018, ppo 0.036 (policy iteration 0.078)
    for name in ("reinforce", "rloo", "ppo"):
        assert rows[name].gap < 0.6 * plain, name
    # their KL to the reference is that of p*_beta's neighbourhood, not of a deterministic policy
    lm = mt.language.toy()
    kl_star = mt.rlhf.kl(lm, mt.rlhf.optimal_policy(lm, 0.3))
    assert mt.rlhf.kl(lm, regularized.results["reinforce"].policy) < 1.2 * kl_star   # 1.54
    assert mt.rlhf.kl(lm, regularized.results["policy_iteration"].policy) > 1.5 * kl_star  # 2.35


def test_sampled_rows_share_the_sequence_budget_and_the_seed(regularized):
    rows = {row.method: row for row in regularized.rows}
    assert rows["reinforce"].iterations == rows["rloo"].iterations == 600
    assert rows["ppo"].iterations == 16 * (600 // 16)
    x, gap = regularized.gap_curve("rloo")
    assert x[0] == 0 and x[-1] == 600 and len(x) == len(gap) == 600 // 4 + 1
    x, gap = regularized.gap_curve("policy_gradient")
    assert x[-1] == 20
    with pytest.raises(KeyError, match="method must be one of"):
        regularized.gap_curve("dpo")
    again = mt.compare(beta=0.3, iterations=5, episodes=160, seed=0)
    other = mt.compare(beta=0.3, iterations=5, episodes=160, seed=0)
    assert [r.J for r in again.rows] == [r.J for r in other.rows]


def test_compare_figure_draws_every_curve_on_the_titled_objective(regularized):
    # regression: the right panel plotted the plain-objective gap under a regularized title
    import matplotlib
    matplotlib.use("Agg")
    from mdptoolkit.cli.cmd_compare import _compare_figure

    figure = _compare_figure(regularized)
    left, right = figure.axes[:2]
    assert "0.3" in figure.get_suptitle() and "KL" in figure.get_suptitle()
    drawn = {line.get_label().split(" ")[0]: line for line in right.get_lines()}
    assert set(drawn) == {"reinforce", "sampled_actor_critic", "rloo", "grpo", "ppo"}
    for name, line in drawn.items():
        x, gap = regularized.gap_curve(name)
        np.testing.assert_array_equal(line.get_xdata(), x)
        np.testing.assert_array_equal(line.get_ydata(), np.where(gap > 0, gap, np.nan))
    for line in left.get_lines():
        name = line.get_label()
        if name in regularized.results:
            np.testing.assert_array_equal(line.get_ydata()[:3],
                                          regularized.results[name].history["gap"][:3])


def test_sampled_rows_stay_stable_at_a_large_beta():
    # regression: with fixed step sizes the KL-shaped scores (which grow with beta) made RLOO
    # and GRPO diverge at beta = 5 (gaps 24 and 0.2 after 50 steps, from 0.07 at the
    # reference), and PPO's whitened steps random-walked away from an optimum next to the
    # reference; the steps now shrink as 0.3 / beta
    result = mt.compare(beta=5.0, iterations=3, episodes=200, seed=0)
    rows = {row.method: row for row in result.rows}
    start = result.results["rloo"].history["gap"][0]
    for name in ("reinforce", "sampled_actor_critic", "rloo", "grpo", "ppo"):
        assert 0 <= rows[name].gap < start, name
