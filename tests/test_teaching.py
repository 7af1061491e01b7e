"""The teaching surface (issue 18): the figures the command line saves, read back in-process
(what they draw, not pixels), `--set` / `--map`, progress bars, and the plot fixes."""

import io
import sys

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.collections import PathCollection  # noqa: E402
from matplotlib.quiver import Quiver  # noqa: E402

import mdptoolkit as mt  # noqa: E402
from mdptoolkit import envs, plot  # noqa: E402
from mdptoolkit.cli import cmd_solve, main  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.fixture
def saved(monkeypatch, tmp_path):
    """Run ``mdptoolkit ARGS --plot FILE`` in-process; return (exit status, the saved figure)."""
    figures = []

    def keep(figure, path, flag="--plot"):
        figures.append(figure)

    monkeypatch.setattr(cmd_solve, "save_figure", keep)

    def run(*args):
        status = main([*args, "--plot", str(tmp_path / "out.png")])
        return status, (figures[-1] if figures else None)
    return run


def images(figure):
    return [im for ax in figure.axes for im in ax.images]


def titles(figure):
    return [ax.get_title() for ax in figure.axes]


# --------------------------------------------------------------------------- solve --plot

def test_jacks_car_rental_is_drawn_as_figure_4_2(saved, capsys):
    status, figure = saved("solve", "jacks_car_rental")
    assert status == 0
    pictures = [im for im in images(figure) if im.get_array().shape == (21, 21)]
    assert len(pictures) == 2  # the policy and V*, both 21 x 21
    policy = np.asarray(pictures[0].get_array())
    # Sutton & Barto (2018) Figure 4.2, pi_4 = pi_*: 5 cars moved at (20, 0), -4 at (0, 20)
    assert policy[20, 0] == 5 and policy[0, 20] == -4 and policy[10, 10] == 0
    ax = pictures[0].axes
    assert ax.get_ylabel() == "cars at location 1" and ax.get_xlabel() == "cars at location 2"
    assert ax.get_ylim()[0] < ax.get_ylim()[1]  # 0 cars at the bottom, as in the book
    labels = {t.get_text() for t in ax.texts}
    assert {"5", "4", "3", "2", "1", "0", "-1", "-2", "-3", "-4"} <= labels  # region labels
    assert ax.collections  # the region outlines
    V = np.asarray(pictures[1].get_array())
    assert 420 < V.min() < V[0, 0] + 1e-9 and V.max() < 640  # v* in [421, 637]


@pytest.mark.parametrize("name, method, expected", [
    ("sutton_barto_5x5", "value_iteration", 45),  # Figure 3.5: 9 cells x 1 + 14 x 2 + 2 x 4
    ("sutton_barto_4x4", "policy_iteration", 24),  # Figure 4.1, last row: the tied arrows
])
def test_grid_figures_show_every_optimal_action(saved, name, method, expected, capsys):
    status, figure = saved("solve", name, "--method", method)
    assert status == 0
    (heat,) = [im for im in images(figure) if im.get_array().ndim == 2]
    env = getattr(envs, name)()
    assert heat.get_array().shape == env.shape
    (arrows,) = [c for ax in figure.axes for c in ax.collections if isinstance(c, Quiver)]
    assert len(arrows.get_offsets()) == expected
    assert any("every optimal action" in t for t in titles(figure))


def test_gamblers_figure_scatters_every_optimal_stake(saved, capsys):
    status, figure = saved("solve", "gamblers_problem", "--method", "value_iteration")
    assert status == 0
    (dots,) = [c for ax in figure.axes for c in ax.collections if isinstance(c, PathCollection)]
    capital, stake = np.asarray(dots.get_offsets()).T
    # Figure 4.3 (p_heads = 0.4): several optimal stakes at many capitals, e.g. 1 and 49 at
    # 51, and the whole bold-play stake at 50
    assert len(capital) == 195  # the same set for atol from 1e-12 to 1e-4
    assert set(stake[capital == 51]) == {1, 49} and set(stake[capital == 50]) == {50}
    policy_ax = dots.axes
    assert "every optimal stake" in dots.get_label()
    legend = [t.get_text() for t in policy_ax.get_legend().get_texts()]
    assert dots.get_label() in legend and "the policy's choice" in legend


@pytest.mark.parametrize("name, panels", [("russell_norvig_4x3", 4), ("gamblers_problem", 2)])
def test_backward_induction_is_drawn_per_stage_not_as_convergence(saved, name, panels, capsys):
    status, figure = saved("solve", name, "--method", "backward_induction", "--horizon", "6")
    assert status == 0
    assert not any("Convergence" in t for t in titles(figure))
    drawn = [ax for ax in figure.axes if ax.images or ax.get_lines()]
    assert len(drawn) == panels
    if name == "russell_norvig_4x3":  # V_t and pi_t at t = 0, 2, 3, 5: one colour scale
        assert [ax.get_title()[:5] for ax in drawn] == ["t = 0", "t = 2", "t = 3", "t = 5"]
        assert len({ax.images[0].get_clim() for ax in drawn}) == 1
    else:  # V_t for several t, and the non-stationary policy as a (stage, capital) picture
        assert len(drawn[0].get_lines()) == 6
        assert drawn[-1].images[0].get_array().shape == (6, 101)


# --------------------------------------------------------------------------- --set, --map

def test_set_passes_keywords_to_the_builder(capsys):
    assert main(["solve", "frozen_lake", "--set", "map_name=8x8", "--set", "gamma=1.0",
                 "--method", "value_iteration"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("frozen_lake_8x8: 64 states, 4 actions, gamma = 1;")
    assert main(["solve", "gamblers_problem", "--set", "p_heads=0.25", "--set", "goal=20"]) == 0
    assert "21 states, 11 actions" in capsys.readouterr().out


def test_map_reads_a_gridworld_from_a_text_file(tmp_path, capsys):
    path = tmp_path / "maze.txt"
    path.write_text("\nS..#\n.#..\n...G\n\n")
    assert main(["solve", "gridworld", "--map", str(path), "--set", "step_reward=-0.1"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("gridworld: 12 states, 4 actions")
    assert "  ↓ # → ↓" in out or "  v # > v" in out
    path.write_text("S.X\n..G\n")
    assert main(["solve", "gridworld", "--map", str(path)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and "gridworld refuses --map" in err[0] and "'X'" in err[0]


def test_set_value_is_a_literal_else_a_string():
    from mdptoolkit.cli._common import parse_setting

    assert parse_setting("reward_schedule=(2, -1, 0)") == ("reward_schedule", (2, -1, 0))
    assert parse_setting("map_name=8x8") == ("map_name", "8x8")
    assert parse_setting("name='x = 1'") == ("name", "x = 1")
    assert parse_setting("is_slippery=False") == ("is_slippery", False)


# --------------------------------------------------------------------------- progress bars

class _Terminal(io.StringIO):
    def isatty(self):
        return True


@pytest.mark.parametrize("stderr, shown", [(io.StringIO, False), (_Terminal, True)])
def test_compare_progress_bar_only_on_a_terminal(monkeypatch, tmp_path, stderr, shown, capsys):
    pytest.importorskip("tqdm")
    err = stderr()
    monkeypatch.setattr(sys, "stderr", err)
    assert main(["compare", "--max-len", "3", "--iterations", "5", "--episodes", "20",
                 "--plot", ""]) == 0
    assert ("method" in err.getvalue()) is shown


# --------------------------------------------------------------------------- plot fixes

def legend_texts(ax):
    return [t.get_text() for t in ax.get_legend().get_texts()]


def test_convergence_every_artist_has_a_legend_entry():
    mdp = envs.sutton_barto_4x4().mdp  # value iteration's residual reaches 0 exactly
    ax = plot.convergence([mt.value_iteration(mdp), mt.policy_iteration(mdp)])
    labelled = [line.get_label() for a in ax.figure.axes for line in a.get_lines()
                if not line.get_label().startswith("_")]
    assert sorted(labelled) == sorted(legend_texts(ax))
    assert all(not line.get_label().startswith("_") for a in ax.figure.axes
               for line in a.get_lines() if line.get_marker() == "v")


def test_convergence_marks_where_the_curve_first_reaches_zero():
    # a curve that reaches 0 at iteration 3 and stays there
    class Result:
        method, converged, message, iterations = "made up", True, "", 5
        history = {"residual": np.array([1.0, 0.1, 0.0, 0.0, 0.0])}

    ax = plot.convergence(Result())
    (marker,) = [line for line in ax.get_lines() if "exactly 0" in line.get_label()]
    assert marker.get_xdata()[0] == 3
    assert marker.get_label() == "made up: exactly 0 from iteration 3"


def test_convergence_puts_other_units_on_a_twin_axis_and_the_legend_off_the_data():
    mdp = envs.sutton_barto_5x5().mdp
    vi, pi = mt.value_iteration(mdp), mt.policy_iteration(mdp)
    ax = plot.convergence([vi, pi])
    twin = ax.figure.axes[-1]
    assert twin is not ax and twin.get_shared_x_axes().joined(ax, twin)
    np.testing.assert_array_equal(ax.get_lines()[0].get_ydata(), vi.history["error_bound"])
    assert twin.get_lines()[0].get_label().startswith("policy_iteration: gap")
    assert ax.get_ylabel().startswith("error bound") and twin.get_ylabel().startswith("gap")
    ax.figure.canvas.draw()
    legend = ax.get_legend().get_window_extent()
    assert legend.y1 <= ax.get_window_extent().y0  # below the axes


@pytest.mark.parametrize("values", [[4.0, 3.0, 2.5], [1.0, 1e-8], [0.5, 0.3, 0.2]])
def test_log_tick_labels_are_plain(values):
    class Result:
        method, converged, message, iterations = "r", False, "", len(values)
        history = {"residual": np.array(values)}

    ax = plot.convergence(Result(), tol=False)
    ax.figure.canvas.draw()
    labels = [t.get_text() for t in ax.get_yticklabels(minor=True) + ax.get_yticklabels()]
    assert not any("times" in t or "×" in t for t in labels), labels
    assert any(t for t in labels)


def test_grid_pictures_mark_the_start_and_name_the_exits():
    env = envs.russell_norvig_4x3()
    ax = plot.values(env, mt.policy_iteration(env.mdp).V)
    texts = {t.get_text(): t for t in ax.texts}
    assert texts["S"].get_position() == pytest.approx((0 - 0.4, 2 + 0.4))  # (row 2, col 0)
    assert "+1" in texts and "−1" in texts and "H" not in texts
    legend = legend_texts(ax)
    assert "start" in legend and "terminal, V = 0 (+1 exit, −1 exit)" in legend


def test_learning_curves_take_result_attributes_sutton_barto_6_4():
    # Sutton & Barto (2018) Figure 6.4: Sarsa's sum of rewards per episode beats Q-learning's
    # online (Q-learning walks the cliff edge and falls while exploring), epsilon = 0.1
    cliff = envs.cliff_walking().mdp
    runs = {name: [learn(cliff, episodes=200, alpha=0.5, epsilon=0.1, seed=k) for k in range(4)]
            for name, learn in (("Sarsa", mt.sarsa), ("Q-learning", mt.q_learning))}
    ax = plot.learning_curves(runs, key="returns", smooth=20, band=False)
    sarsa, q = ax.get_lines()[:2]
    mean = np.mean([r.returns for r in runs["Sarsa"]], axis=0)
    np.testing.assert_allclose(sarsa.get_ydata(), np.convolve(mean, np.full(20, 0.05), "valid"))
    np.testing.assert_array_equal(sarsa.get_xdata(), np.arange(20, 201))
    assert np.mean(sarsa.get_ydata()[-50:]) > np.mean(q.get_ydata()[-50:])
    assert ax.get_ylabel() == "sum of rewards during episode"
    with pytest.raises(ValueError, match="key must name a history entry or a one-dimensional "
                                         "array attribute"):
        plot.learning_curves(runs, key="no_such_thing")
    with pytest.raises(ValueError, match="smooth must be a positive integer"):
        plot.learning_curves(runs, key="returns", smooth=0)


def test_state_grid_refuses_what_is_not_two_dimensional():
    with pytest.raises(TypeError, match="two-dimensional state space"):
        plot.state_grid(envs.forest(), np.zeros(3))
    with pytest.raises(ValueError, match="needs V, policy or both"):
        plot.state_grid(envs.jacks_car_rental(max_cars=3))


def test_stages_refuses_a_stationary_result():
    env = envs.russell_norvig_4x3()
    with pytest.raises(ValueError, match="finite-horizon result"):
        plot.stages(env, mt.policy_iteration(env.mdp))
    with pytest.raises(ValueError, match=r"times must be decision times in 0..2"):
        plot.stages(env, mt.backward_induction(env.mdp, 3), times=[3])


def test_stages_draw_every_action_optimal_at_each_time():
    # Russell & Norvig's 4x3 world with one step to go: (0, 2) moves right into the +1 exit,
    # the two cells beside the -1 exit each have one move that cannot slip into it ((1, 2)
    # left into the wall, (2, 3) down); in the six other free cells all four moves tie at -0.04
    env = envs.russell_norvig_4x3()
    result = mt.backward_induction(env.mdp, 3)
    axes = plot.stages(env, result, times=[2])
    (arrows,) = [c for c in axes[0].collections if isinstance(c, Quiver)]
    Q = result.Q[2]
    free = ~env.mdp.terminal
    ties = np.isclose(Q, Q.max(axis=1, keepdims=True), rtol=0, atol=1e-9) & free[:, None]
    assert len(arrows.get_offsets()) == ties.sum() == 1 + 1 + 1 + 6 * 4
    with pytest.raises(ValueError, match="pass one of policy, all_optimal=True and actions"):
        plot.values(env, result.V[0], result.policy[0], actions=ties)


def test_solve_table_lists_the_tied_optimal_actions(capsys):
    # Figure 4.3: at capital 51 both stake 1 and stake 49 are optimal
    assert main(["solve", "gamblers_problem", "--full"]) == 0
    (row,) = [line for line in capsys.readouterr().out.splitlines() if "$51 " in line]
    stakes = {int(w.strip(",()")) for w in row.split("stake")[1:]
              for w in [w.split()[0]]}
    assert stakes == {1, 49} and "(ties: stake" in row
