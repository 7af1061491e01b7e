"""mt.compare: every method on the toy language MDP against the DP optimum."""

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
