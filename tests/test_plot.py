"""mt.plot: data, not pixels — the plotted numbers are the results' own numbers."""

import subprocess
import sys

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import mdptoolkit as mt  # noqa: E402
from mdptoolkit import envs  # noqa: E402
from mdptoolkit import plot  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def curves(ax):
    """The labelled data lines of ax and its twin (not the markers)."""
    twins = [a for a in ax.figure.axes if a is not ax and a.bbox.bounds == ax.bbox.bounds]
    return [line for a in [ax, *twins] for line in a.get_lines()
            if not line.get_label().startswith(("_", "tol = "))
            and line.get_linestyle() != "None"]


def by_label(ax, prefix):
    (line,) = [line for line in ax.get_lines() if line.get_label().startswith(prefix)]
    return line


@pytest.fixture(scope="module")
def grid():
    return envs.russell_norvig_4x3()


@pytest.fixture(scope="module")
def grid_solution(grid):
    return mt.policy_iteration(grid.mdp)


def test_import_mdptoolkit_does_not_import_matplotlib():
    code = ("import sys, mdptoolkit, mdptoolkit.plot, mdptoolkit.cli; "
            "assert 'matplotlib' not in sys.modules, 'matplotlib imported'")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr


# --------------------------------------------------------------------------- convergence

@pytest.mark.parametrize("make, key", [
    (lambda m: mt.value_iteration(m, tol=1e-6), "error_bound"),
    (lambda m: mt.modified_policy_iteration(m, tol=1e-6), "error_bound"),
    (lambda m: mt.value_iteration(m.replace(gamma=1.0), tol=1e-6), "residual"),
    (lambda m: mt.policy_gradient(m, iterations=30), "gap"),
    (lambda m: mt.actor_critic(m, iterations=30), "gap"),
], ids=["vi", "mpi", "vi-gamma-1", "pg", "actor-critic"])
def test_convergence_plots_the_natural_history_entry(make, key):
    mdp = envs.russell_norvig_4x3(gamma=0.95).mdp if key != "residual" else \
        envs.russell_norvig_4x3().mdp
    result = make(mdp)
    ax = plot.convergence(result)
    (line,) = curves(ax)[:1]
    np.testing.assert_array_equal(line.get_ydata(), result.history[key])
    assert line.get_label() == result.method
    assert ax.get_yscale() == "log"


def test_convergence_x_starts_at_0_when_the_history_records_the_start():
    mdp = envs.russell_norvig_4x3(gamma=0.95).mdp
    pg = mt.policy_gradient(mdp, iterations=10)  # the start and one entry per update
    assert len(pg.history["J"]) == pg.iterations + 1
    vi = mt.value_iteration(mdp)
    ax = plot.convergence([pg, vi])
    pg_line, vi_line = curves(ax)[:2]
    np.testing.assert_array_equal(pg_line.get_xdata(), np.arange(pg.iterations + 1))
    np.testing.assert_array_equal(vi_line.get_xdata(), np.arange(1, vi.iterations + 1))


def test_convergence_of_policy_iteration_is_the_gap_to_its_last_J():
    result = mt.policy_iteration(envs.sutton_barto_5x5().mdp)
    ax = plot.convergence(result)
    J = result.history["J"]
    np.testing.assert_array_equal(curves(ax)[0].get_ydata(), J[-1] - J)
    # it reaches the optimum exactly: a marker at the bottom where it first does, in the legend
    (marker,) = [line for line in ax.get_lines() if "exactly 0" in line.get_label()]
    first = int(np.flatnonzero(J[-1] - J <= 0)[0]) + 1  # iterations count from 1
    assert marker.get_xdata()[0] == first
    assert marker.get_label() == f"policy_iteration: exactly 0 from iteration {first}"
    assert marker.get_label() in [t.get_text() for t in ax.get_legend().get_texts()]


def test_convergence_key_override_and_linear_scale():
    result = mt.value_iteration(envs.sutton_barto_5x5().mdp)
    ax = plot.convergence(result, key="residual", logy=False)
    np.testing.assert_array_equal(curves(ax)[0].get_ydata(), result.history["residual"])
    assert ax.get_yscale() == "linear"
    with pytest.raises(ValueError, match="no_such_key"):
        plot.convergence(result, key="no_such_key")


def test_convergence_draws_tol_where_the_stopping_rule_used_it():
    mdp = envs.sutton_barto_5x5().mdp
    ax = plot.convergence([mt.value_iteration(mdp, tol=1e-6), mt.policy_iteration(mdp)])
    tol = by_label(ax, "tol")
    np.testing.assert_array_equal(tol.get_ydata(), [1e-6, 1e-6])
    assert tol.get_label() == "tol = 1e-06"
    assert not any(l.get_label().startswith("tol") for l in
                   plot.convergence(mt.value_iteration(mdp), tol=False).get_lines())
    explicit = plot.convergence(mt.policy_iteration(mdp), tol=1e-3)
    np.testing.assert_array_equal(by_label(explicit, "tol").get_ydata(), [1e-3, 1e-3])


def test_convergence_returns_the_axes_passed_in_and_labels():
    mdp = envs.sutton_barto_5x5().mdp
    fig, ax = plt.subplots()
    results = [mt.value_iteration(mdp, tol=1e-4), mt.value_iteration(mdp, tol=1e-8)]
    assert plot.convergence(results, ax=ax) is ax
    assert [l.get_label() for l in curves(ax)[:2]] == ["value_iteration #1", "value_iteration #2"]
    ax2 = plot.convergence({"loose": results[0], "tight": results[1]})
    assert [l.get_label() for l in curves(ax2)[:2]] == ["loose", "tight"]
    ax3 = plot.convergence(results, labels=["a", "b"])
    assert [l.get_label() for l in curves(ax3)[:2]] == ["a", "b"]
    with pytest.raises(ValueError, match="labels"):
        plot.convergence(results, labels=["a"])


def test_convergence_against_elapsed_time():
    result = mt.value_iteration(envs.sutton_barto_5x5().mdp)
    ax = plot.convergence(result, x="elapsed")
    np.testing.assert_array_equal(curves(ax)[0].get_xdata(), result.history["elapsed"])
    assert "time" in ax.get_xlabel()


def test_mixed_measures_say_which_is_which():
    mdp = envs.short_corridor().mdp
    ax = plot.convergence([mt.value_iteration(mdp), mt.policy_gradient(mdp, iterations=5)])
    labels = [l.get_label() for l in curves(ax)]
    assert labels[0].startswith("value_iteration: ") and labels[1].startswith("policy_gradient: ")


# --------------------------------------------------------------------------- learning curves

def test_learning_curves_plot_J_with_the_optimum_line():
    mdp = envs.short_corridor().mdp
    pg = mt.policy_gradient(mdp, iterations=40)
    npg = mt.policy_gradient(mdp, natural=True, iterations=40)
    fig, ax = plt.subplots()
    assert plot.learning_curves([pg, npg], ax=ax) is ax
    lines = curves(ax)
    np.testing.assert_array_equal(lines[0].get_ydata(), pg.history["J"])
    np.testing.assert_array_equal(lines[1].get_ydata(), npg.history["J"])
    optimum = by_label(ax, "DP optimum")
    np.testing.assert_allclose(optimum.get_ydata(), [pg.optimum, pg.optimum])
    np.testing.assert_allclose(pg.optimum, mt.policy_iteration(mdp).V @ mdp.mu)
    ax2 = plot.learning_curves(pg, optimum=-5.0)
    np.testing.assert_array_equal(by_label(ax2, "DP optimum").get_ydata(), [-5.0, -5.0])


@pytest.mark.parametrize("band", ["minmax", "std"])
def test_learning_curves_over_seeds_draw_the_mean_and_a_band(band):
    mdp = envs.short_corridor().mdp
    runs = [mt.policy_gradient(mdp, lr=lr, iterations=30) for lr in (0.05, 0.1, 0.2)]
    ax = plot.learning_curves({"PG": runs}, band=band)
    Y = np.stack([r.history["J"] for r in runs])
    np.testing.assert_allclose(curves(ax)[0].get_ydata(), Y.mean(axis=0))
    (fill,) = ax.collections
    ys = fill.get_paths()[0].vertices[:, 1]
    low, high = ((Y.min(axis=0), Y.max(axis=0)) if band == "minmax" else
                 (Y.mean(axis=0) - Y.std(axis=0), Y.mean(axis=0) + Y.std(axis=0)))
    np.testing.assert_allclose([ys.min(), ys.max()], [low.min(), high.max()])
    assert not plot.learning_curves({"PG": runs}, band=False).collections


# --------------------------------------------------------------------------- grid worlds

def test_values_heat_map_holds_V_with_walls_and_terminals_masked(grid, grid_solution):
    fig, ax = plt.subplots()
    assert plot.values(grid, grid_solution.V, ax=ax) is ax
    data = ax.images[0].get_array()
    H, W = grid.shape
    masked = grid.walls | grid.mdp.terminal.reshape(H, W)
    assert np.array_equal(np.ma.getmaskarray(data) | np.isnan(np.ma.getdata(data)), masked)
    expected = grid_solution.V.reshape(H, W)
    np.testing.assert_array_equal(np.ma.getdata(data)[~masked], expected[~masked])
    assert len(fig.axes) == 2  # the colorbar


def test_values_draws_one_arrow_per_non_terminal_cell_in_the_policy_direction(grid,
                                                                             grid_solution):
    ax = plot.values(grid, grid_solution.V, grid_solution.policy)
    arrows = ax.collections[-1]
    cells = {(int(round(y - 0.1)), int(round(x))) for x, y in arrows.get_offsets()}
    H, W = grid.shape
    free = {(r, c) for r in range(H) for c in range(W)
            if not grid.walls[r, c] and not grid.mdp.terminal[r * W + c]}
    assert cells == free and len(arrows.get_offsets()) == len(free)
    deltas = {"up": (0, -1), "right": (1, 0), "down": (0, 1), "left": (-1, 0)}
    for (x, y), u, v in zip(arrows.get_offsets(), arrows.U, arrows.V):
        s = grid.state_of(int(round(y - 0.1)), int(round(x)))
        dx, dy = deltas[grid.actions[grid_solution.policy[s]]]
        assert np.sign(u) == dx and np.sign(v) == dy


def test_values_all_optimal_draws_every_tied_action():
    # Sutton & Barto (2018) Figure 3.5: states A and B, where every action jumps, show all 4
    env = envs.sutton_barto_5x5()
    V = mt.value_iteration(env.mdp, tol=1e-10).V
    ax = plot.values(env, V, all_optimal=True)
    offsets = ax.collections[-1].get_offsets()
    best = mt.optimal_actions(env.mdp, V, atol=1e-6)
    assert len(offsets) == best.sum() == 45
    at_A = np.all(np.isclose(offsets, [1, 0.1]), axis=1).sum()
    assert at_A == 4
    with pytest.raises(ValueError, match="either policy or all_optimal"):
        plot.values(env, V, np.zeros(25, int), all_optimal=True)


def test_policy_arrows_only_and_cliffs_excluded():
    env = envs.cliff_walking()
    result = mt.policy_iteration(env.mdp)
    fig, ax = plt.subplots()
    assert plot.policy(env, result.policy, ax=ax) is ax
    assert not ax.images
    offsets = ax.collections[-1].get_offsets()
    assert len(offsets) == 48 - 10 - 1  # the 10 cliff cells and the goal get no arrow


def test_policy_stochastic_one_arrow_per_likely_action(grid):
    uniform = np.full((grid.mdp.n_states, 4), 0.25)
    ax = plot.policy(grid, uniform)
    assert len(ax.collections[-1].get_offsets()) == 9 * 4


def test_grid_plots_reject_non_grids():
    with pytest.raises(TypeError, match="grid world"):
        plot.values(envs.forest(), np.zeros(3))


# --------------------------------------------------------------------------- line plots

def test_line_plots_V_and_the_stake_of_the_gamblers_problem():
    env = envs.gamblers_problem()
    result = mt.value_iteration(env.mdp, tol=1e-10)
    ax = plot.line(env, result.V, result.policy)
    V_line = curves(ax)[0]
    expected = np.where(env.mdp.terminal, np.nan, result.V)
    np.testing.assert_array_equal(V_line.get_ydata(), expected)
    policy_ax = ax.figure.axes[-1]
    assert policy_ax is not ax and policy_ax.get_ylabel() == "stake"
    stake = curves(policy_ax)[0].get_ydata()
    np.testing.assert_array_equal(stake[1:100], result.policy[1:100])
    assert np.isnan(stake[[0, 100]]).all()


def test_line_returns_the_axes_passed_in_and_uses_a_twin_axis():
    env = envs.forest()
    result = mt.policy_iteration(env.mdp)
    fig, ax = plt.subplots()
    assert plot.line(env, result.V, result.policy, ax=ax) is ax
    assert len(fig.axes) == 2  # the twin axis for the policy
    fig2, (a1, a2) = plt.subplots(2)
    assert plot.line(env.mdp, result.V, result.policy, ax=a1, policy_ax=a2) is a1
    np.testing.assert_array_equal(curves(a2)[0].get_ydata(), result.policy)


# --------------------------------------------------------------------------- language MDPs

def test_sequence_distribution_bars_are_the_top_sequences():
    language = pytest.importorskip("mdptoolkit.language")
    lm = language.toy(max_len=3)
    policy = lm.reference_policy
    fig, ax = plt.subplots()
    assert plot.sequence_distribution(lm, policy, k=4, ax=ax) is ax
    top = lm.top_sequences(policy, 4)
    widths = [bar.get_width() for bar in ax.patches]
    np.testing.assert_allclose(widths, [p for _, p in top])
    names = [t.get_text() for t in ax.get_yticklabels()]
    assert names == [" ".join(y) if y else "(empty)" for y, _ in top]


# --------------------------------------------------------------------------- sampled methods

def test_sampled_results_plot_against_their_recorded_episodes():
    sampling = pytest.importorskip("mdptoolkit.sampling")
    mdp = envs.short_corridor().mdp
    runs = [sampling.reinforce(mdp, lr=0.01, episodes=40, seed=seed, eval_every=10)
            for seed in range(3)]
    ax = plot.convergence(runs[0])
    line = curves(ax)[0]
    np.testing.assert_array_equal(line.get_xdata(), runs[0].history["episode"])
    np.testing.assert_array_equal(line.get_ydata(), runs[0].history["gap"])
    assert ax.get_xlabel() == "episode"
    ax = plot.learning_curves({"REINFORCE": runs}, center="median")
    Y = np.stack([r.history["J"] for r in runs])
    np.testing.assert_array_equal(curves(ax)[0].get_ydata(), np.median(Y, axis=0))
    assert curves(ax)[0].get_label() == "REINFORCE (median of 3, min–max band)"


def test_infinite_values_are_marked_on_the_edge():
    # J = -inf: with gamma = 1 a greedy policy that never terminates has no finite return
    class Run:
        method = "toy"
        iterations = 3
        optimum = -1.0
        history = {"J": np.array([-np.inf, -np.inf, -2.0, -1.0]),
                   "gap": np.array([np.inf, np.inf, 1.0, 0.0])}

    ax = plot.learning_curves([Run()])
    (marks,) = [line for line in ax.get_lines() if line.get_label() == "_infinite"]
    np.testing.assert_array_equal(marks.get_xdata(), [0, 1])
    assert marks.get_marker() == "v"  # -inf: bottom edge
    np.testing.assert_array_equal(curves(ax)[0].get_ydata(), Run.history["J"])
    ax = plot.convergence(Run())
    (marks,) = [line for line in ax.get_lines() if line.get_label() == "_infinite"]
    assert marks.get_marker() == "^"  # gap = +inf: top edge
