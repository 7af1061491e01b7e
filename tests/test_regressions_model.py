"""Regression tests of issue 21 (correctness), model side: one test per defect, named for what
it guards. Each failed before its fix."""

import builtins
import os
import sys
import time

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal

import mdptoolkit as mt
from mdptoolkit import envs
from mdptoolkit.exceptions import MDPValidationError
from mdptoolkit.language import LanguageMDP, bigram_reference, sequence_ids, toy


def puterman():
    """Puterman (2005), §3.1: two states, V* = (-8.57..., -20) with gamma = 0.95."""
    P = np.zeros((2, 2, 2))
    P[0, 0] = [0.5, 0.5]
    P[0, 1] = [0, 1]
    P[1, :] = [0, 1]
    return mt.MDP(P, [[5.0, 10.0], [-1.0, -1.0]], 0.95)


def masked_mdp():
    """A random MDP with a disallowed action in every other state, and one terminal state."""
    rng = np.random.default_rng(3)
    P = rng.random((6, 3, 6))
    P /= P.sum(axis=2, keepdims=True)
    allowed = np.ones((6, 3), dtype=bool)
    allowed[::2, 1] = False
    terminal = np.zeros(6, dtype=bool)
    terminal[5] = True
    return mt.MDP(P, rng.random((6, 3)), 0.9, allowed=allowed, terminal=terminal)


# ---------------------------------------------------------------------- 4: complex input
@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
def test_complex_P_is_refused(sparse):
    P = np.zeros((2, 1, 2), dtype=complex)
    P[:, 0, 0] = 1.0
    P[1, 0, 0] = 1 + 1e-3j
    if sparse:
        P = sp.csr_array(P.reshape(2, 2))
    with pytest.raises(MDPValidationError, match=r"P must be real; got dtype complex128: "
                                                 r"\(1\+0\.001j\) at .*1 entries with an "
                                                 r"imaginary part"):
        mt.MDP(P, np.zeros((2, 1)), 0.9)


def test_complex_R_and_other_arrays_are_refused_before_the_imaginary_part_is_dropped():
    P = np.ones((2, 1, 2)) / 2
    with pytest.raises(MDPValidationError, match=r"R must be real; got .* at R\[1, 0\]"):
        mt.MDP(P, np.array([[1.0], [2 + 3j]]), 0.9)
    with pytest.raises(MDPValidationError, match=r"mu must be real"):
        mt.MDP(P, np.zeros((2, 1)), 0.9, mu=np.array([0.5, 0.5 + 0.1j]))
    with pytest.raises(MDPValidationError, match=r"complex array whose imaginary parts are all 0"):
        mt.MDP(P.astype(complex), np.zeros((2, 1)), 0.9)
    mdp = mt.MDP(P, np.zeros((2, 1)), 0.9)
    with pytest.raises(MDPValidationError, match=r"V must be real"):
        mt.q_values(mdp, np.array([1.0, 1j]))
    with pytest.raises(MDPValidationError, match=r"pymdptoolbox P must be real"):
        mt.MDP.from_pymdptoolbox(np.ones((1, 2, 2), complex) / 2, np.zeros(2), 0.9)
    with pytest.raises(MDPValidationError, match=r"P's rewards must be real"):
        mt.MDP.from_gymnasium({0: {0: [(1.0, 0, 1j, False)]}}, 0.9)
    with pytest.raises(MDPValidationError, match=r"R must be real; got .* at R\[0, 0\]"):
        mdp.replace(R=[[1j], [0.0]])
    lm = LanguageMDP(["a"], 2, lambda y: 0.0)
    with pytest.raises(MDPValidationError, match=r"theta must be real"):
        mt.exact_gradient(lm.mdp, None, np.zeros((3, 2)) + 1j)
    with pytest.raises(MDPValidationError, match=r"reference\(prefix\) must be real"):
        LanguageMDP(["a"], 2, lambda y: 0.0, reference=lambda prefix: [0.5 + 1j, 0.5])


# ---------------------------------------------------------------------- 5: saturated softmax
def myopic_trap():
    """From state 0, "stop" earns 1 and ends; "go" earns 0 and leads to state 1, where "good"
    earns 10 and "bad" -100. The uniform policy values state 1 at -45, so one huge gradient
    step saturates state 0 on "stop": J = 1, while J* = 10."""
    P = np.zeros((3, 2, 3))
    P[0, 0, 1] = P[0, 1, 2] = 1.0
    P[1, :, 2] = 1.0
    P[2, :, 2] = 1.0
    R = np.array([[0.0, 1.0], [10.0, -100.0], [0.0, 0.0]])
    return mt.MDP(P, R, 1.0, mu=[1, 0, 0], terminal=[False, False, True])


@pytest.mark.parametrize("run", [
    lambda m: mt.actor_critic(m, actor_lr=1e12),
    lambda m: mt.actor_critic(m, actor_lr=1e12, critic="mc"),
    lambda m: mt.policy_gradient(m, lr=1e12),
    lambda m: mt.policy_gradient(m, lr=1e6, natural=True),
], ids=["actor_critic", "actor_critic_mc", "policy_gradient", "natural_policy_gradient"])
def test_saturated_softmax_is_not_reported_converged(run):
    result = run(myopic_trap())
    assert result.gap > 1  # J = 1, J* = 10
    assert not result.converged
    assert "softmax saturated in floating point" in result.message
    assert "gap to the DP optimum 9" in result.message
    assert len(result.history["J"]) == result.iterations + 1


def test_the_issue_case_actor_critic_huge_step_on_puterman_is_not_converged():
    # issue 21: actor_lr=1e12 reported converged=True after one step with gap 0.214 (the TD
    # critic lags; the true gradient underflowed to exactly 0)
    result = mt.actor_critic(puterman(), actor_lr=1e12)
    assert not result.converged and result.gap > 0.2
    assert "saturated" in result.message


def test_saturation_at_the_optimum_still_converges():
    result = mt.policy_gradient(puterman(), lr=1e12)
    assert result.converged and result.gap < 1e-9


# ---------------------------------------------------------------------- 6: huge state counts
def test_language_state_count_beyond_float_is_refused_in_one_line():
    with pytest.raises(MDPValidationError, match=r"number of states must be at most "
                                                 r"max_states=2,000,000; got about 2\.4e\+388"):
        LanguageMDP(list("abcdef"), 500, lambda y: 0.0)
    with pytest.raises(MDPValidationError, match=r"got about 2\.4e\+388"):
        sequence_ids(6, 500)
    for max_len in (397, 1584):  # the issue's range
        with pytest.raises(MDPValidationError, match="number of states must be at most"):
            LanguageMDP(list("abcdef"), max_len, lambda y: 0.0)


def test_compare_command_refuses_a_huge_max_len_in_one_line(capsys):
    from mdptoolkit.cli import main

    assert main(["compare", "--max-len", "500"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert "number of states must be at most --max-states 2,000,000" in err
    assert "Traceback" not in err


# ---------------------------------------------------------------------- 7: sizes refused first
def test_random_mdp_too_large_is_refused_before_allocating():
    start = time.perf_counter()
    with pytest.raises(MDPValidationError, match=r"random_mdp must take at most "
                                                 r"max_bytes=4,294,967,296 bytes; got an "
                                                 r"estimated 15,200,000,000 bytes"):
        envs.random_mdp(10**8, 2, branching=1, sparse=True)
    assert time.perf_counter() - start < 1.0  # the issue: 20 s into a MemoryError
    with pytest.raises(MDPValidationError, match=r"max_bytes=1,000"):
        envs.random_mdp(100, 2, branching=2, sparse=True, max_bytes=1000)
    assert envs.random_mdp(100, 2, branching=2, sparse=True, max_bytes=10**6).mdp.n_states == 100


@pytest.mark.parametrize("build, pattern", [
    (lambda: envs.forest(10**5), r"forest must take at most .* for S=100000, sparse=False "
                                 r"\(pass sparse=True\)"),
    (lambda: envs.river_swim(10**5), r"river_swim must take at most .* for n=100000"),
    (lambda: envs.gridworld(["." * 300] * 300, sparse=False), r"a dense grid world must take"),
])
def test_size_controlled_builders_refuse_before_allocating(build, pattern):
    with pytest.raises(MDPValidationError, match=pattern):
        build()


# ---------------------------------------------------------------------- 8: clear errors
def test_unhashable_vocab_token_is_named():
    with pytest.raises(TypeError, match=r"vocab tokens must be hashable .*got \['a'\] of type "
                                        r"list at position 0"):
        LanguageMDP([["a"]], 2, lambda y: 0.0)
    with pytest.raises(TypeError, match=r"eos must be hashable"):
        LanguageMDP(["a"], 2, lambda y: 0.0, eos=["<eos>"])


@pytest.mark.parametrize("call", [
    lambda: envs.random_mdp(3, 2, seed=-1),
    lambda: mt.simulate(puterman(), np.array([0, 0]), episodes=2, seed=-1),
    lambda: mt.q_learning(puterman(), episodes=2, seed=-1),
    lambda: mt.reinforce(puterman(), episodes=2, seed=-5),
], ids=["random_mdp", "simulate", "q_learning", "reinforce"])
def test_negative_seed_is_refused_naming_seed(call):
    with pytest.raises(MDPValidationError, match=r"seed must be a non-negative integer; got -\d"):
        call()


ENV = envs.forest(6)
TAKES_AN_MDP = {
    "q_values": lambda m: mt.q_values(m, np.zeros(6)),
    "bellman_optimality": lambda m: mt.bellman_optimality(m, np.zeros(6)),
    "greedy_policy": lambda m: mt.greedy_policy(m, np.zeros(6)),
    "evaluate_policy": lambda m: mt.evaluate_policy(m, np.zeros(6, dtype=int)),
    "occupancy": lambda m: mt.occupancy(m, np.zeros(6, dtype=int)),
    **{f"solve_{name}": (lambda name: lambda m: mt.solve(m, method=name))(name)
       for name in ("value_iteration", "policy_iteration", "modified_policy_iteration",
                    "linear_programming", "relative_value_iteration")},
    "backward_induction": lambda m: mt.backward_induction(m, 3),
    "soft_value_iteration": lambda m: mt.soft_value_iteration(m, 1.0),
    "exact_gradient": lambda m: mt.exact_gradient(m, None, np.zeros((6, 2))),
    "policy_gradient": lambda m: mt.policy_gradient(m, iterations=1),
    "actor_critic": lambda m: mt.actor_critic(m, iterations=1),
    "simulate": lambda m: mt.simulate(m, np.zeros(6, dtype=int), episodes=1),
    "td_evaluation": lambda m: mt.td_evaluation(m, np.zeros(6, dtype=int), episodes=1),
    "q_learning": lambda m: mt.q_learning(m, episodes=1),
    "reinforce": lambda m: mt.reinforce(m, episodes=1),
    "gradient_estimates": lambda m: mt.gradient_estimates(m, None, np.zeros((6, 2)), n=1),
}


@pytest.mark.parametrize("name", sorted(TAKES_AN_MDP))
def test_environment_instead_of_mdp_says_pass_env_mdp(name):
    with pytest.raises(TypeError, match=r"an MDP is expected here, not an environment "
                                        r"\(Environment 'forest'.*\): pass env\.mdp"):
        TAKES_AN_MDP[name](ENV)
    TAKES_AN_MDP[name](ENV.mdp)  # and the model itself works


def test_environment_attribute_probing_still_works():
    assert not hasattr(ENV, "__array__") and not hasattr(ENV, "unwrapped")
    with pytest.raises(AttributeError):
        ENV.no_such_attribute  # noqa: B018
    assert np.asarray([ENV], dtype=object).shape == (1,)


# ---------------------------------------------------------------------- 9: files
@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
def test_load_reads_what_save_wrote_without_the_suffix(tmp_path, sparse):
    mdp = envs.random_mdp(5, 2, branching=2, sparse=sparse, seed=0).mdp
    mdp.save(tmp_path / "model")
    assert os.listdir(tmp_path) == ["model.npz"]
    for path in (tmp_path / "model", str(tmp_path / "model"), tmp_path / "model.npz"):
        back = mt.MDP.load(path)
        assert_array_equal(back.R, mdp.R)
        assert back.is_sparse == sparse
    with pytest.raises(FileNotFoundError, match=r"no file .*nothing"):
        mt.MDP.load(tmp_path / "nothing")


def _saved(tmp_path):
    path = tmp_path / "m.npz"
    envs.forest().mdp.save(path)
    return path


def _rewrite(path, *, drop=(), **arrays):
    """Save the archive at ``path`` again without the keys ``drop`` and with ``arrays`` set."""
    with np.load(path) as f:
        kept = {k: f[k] for k in f.files if k not in drop}
    np.savez(path, **{**kept, **arrays})


def test_truncated_file_is_one_clear_error(tmp_path):
    path = _saved(tmp_path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(MDPValidationError, match=r"file '.*m\.npz' must be an \.npz archive "
                                                 r"written by MDP\.save; got BadZipFile"):
        mt.MDP.load(path)


def test_archive_without_a_key_names_the_key(tmp_path):
    path = _saved(tmp_path)
    _rewrite(path, drop=("mu",))
    with pytest.raises(MDPValidationError, match=r"file '.*m\.npz' must be .*; got no mu among"):
        mt.MDP.load(path)


def test_archive_without_format_version_is_one_clear_error(tmp_path):
    path = _saved(tmp_path)
    _rewrite(path, drop=("format_version",))
    with pytest.raises(MDPValidationError, match=r"got no format_version among"):
        mt.MDP.load(path)


@pytest.mark.parametrize("content, pattern", [
    (b"hello, world", r"must be an \.npz \(zip\) archive .*; got a file that starts with "
                      r"b'hell', not a zip archive"),
    (b"", r"got a file that starts with b'', not a zip archive"),
])
def test_a_file_that_is_not_an_npz_archive_is_one_clear_error(tmp_path, content, pattern):
    path = tmp_path / "model.npz"
    path.write_bytes(content)
    with pytest.raises(MDPValidationError, match=pattern):
        mt.MDP.load(path)


def test_an_npy_file_or_bad_contents_are_named(tmp_path):
    path = tmp_path / "a.npy"
    np.save(path, np.zeros(3))
    with pytest.raises(MDPValidationError, match=r"a\.npy' must be"):
        mt.MDP.load(path)
    good = _saved(tmp_path)
    _rewrite(good, gamma=np.array(2.0))
    with pytest.raises(MDPValidationError, match=r"file '.*m\.npz' must hold a valid MDP; got: "
                                                 r"gamma must be in \[0, 1\]"):
        mt.MDP.load(good)


# ---------------------------------------------------------------------- 10: pymdptoolbox forms
def _pymdptoolbox_V(P, R, gamma):
    mdptoolbox = pytest.importorskip("mdptoolbox.mdp")
    solver = mdptoolbox.PolicyIteration(P, R, gamma)
    solver.run()
    return np.array(solver.V)


@pytest.mark.parametrize("form", ["tuple_of_S", "list_of_S", "nested_S_by_A", "sparse_S_by_A",
                                  "list_of_A_matrices", "list_of_A_sparse", "tuple_of_A_lists"])
def test_from_pymdptoolbox_reads_every_reward_form(form):
    # pymdptoolbox's own forest example (S = 5, A = 2); the reference is pymdptoolbox's
    # policy iteration on the same (P, R)
    example = pytest.importorskip("mdptoolbox.example")
    P, R = example.forest(S=5)
    rng = np.random.default_rng(0)
    mats = [rng.random((5, 5)) for _ in range(2)]
    R_in, R_ref = {
        "tuple_of_S": (tuple(R[:, 0]), tuple(R[:, 0])),
        "list_of_S": (list(R[:, 1]), np.array(R[:, 1])),
        "nested_S_by_A": ([list(row) for row in R], R),
        "sparse_S_by_A": (sp.csr_matrix(R), R),
        "list_of_A_matrices": (mats, mats),
        "list_of_A_sparse": ([sp.csr_matrix(m) for m in mats], mats),
        "tuple_of_A_lists": (tuple(m.tolist() for m in mats), mats),
    }[form]
    mdp = mt.MDP.from_pymdptoolbox(P, R_in, 0.9)
    assert_allclose(mt.policy_iteration(mdp).V, _pymdptoolbox_V(P, R_ref, 0.9), atol=1e-9)


def test_from_pymdptoolbox_with_S_equal_A_follows_pymdptoolbox():
    # pymdptoolbox reads a sequence of length A per action, so with S == A a list of S numbers
    # is refused (mdptoolbox.util.check raises InvalidError); an ndarray says what it is
    P = np.array([np.eye(2), np.eye(2)[::-1]])
    with pytest.raises(MDPValidationError, match=r"R\[0\] must be an \(2, 2\) matrix; got shape "
                                                 r"\(\).*pass np\.asarray\(R\)"):
        mt.MDP.from_pymdptoolbox(P, [1.0, 2.0], 0.9)
    assert_array_equal(mt.MDP.from_pymdptoolbox(P, np.array([1.0, 2.0]), 0.9).R,
                       [[1.0, 1.0], [2.0, 2.0]])


def test_from_pymdptoolbox_reads_P_as_a_dict_and_refuses_other_keys():
    example = pytest.importorskip("mdptoolbox.example")
    P, R = example.forest(S=4)
    mdp = mt.MDP.from_pymdptoolbox({0: P[0], 1: sp.csr_matrix(P[1])}, R, 0.9)
    assert_allclose(mt.policy_iteration(mdp).V, _pymdptoolbox_V(P, R, 0.9), atol=1e-9)
    with pytest.raises(MDPValidationError, match=r"P given as a dict must have the keys 0\.\.1"):
        mt.MDP.from_pymdptoolbox({"wait": P[0], "cut": P[1]}, R, 0.9)
    with pytest.raises(TypeError, match=r"pymdptoolbox P must be an array or a sequence"):
        mt.MDP.from_pymdptoolbox(3.0, R, 0.9)


# ---------------------------------------------------------------------- 12: masks
def test_param_without_allowed_works_on_a_masked_mdp():
    mdp = masked_mdp()
    theta = np.random.default_rng(1).normal(size=(6, 3))
    plain, masked = mt.TabularSoftmax(6, 3), mt.TabularSoftmax(6, 3, allowed=mdp.allowed)
    J1, g1 = mt.exact_gradient(mdp, plain, theta)  # refused before the fix
    J2, g2 = mt.exact_gradient(mdp, masked, theta)
    assert J1 == J2
    assert_array_equal(g1, g2)
    phi = np.random.default_rng(2).normal(size=(6, 3, 4))
    J1, g1 = mt.exact_gradient(mdp, mt.LogLinear(phi), np.ones(4))
    J2, g2 = mt.exact_gradient(mdp, mt.LogLinear(phi, allowed=mdp.allowed), np.ones(4))
    assert J1 == J2
    assert_array_equal(g1, g2)
    for run in (lambda p: mt.policy_gradient(mdp, param=p, iterations=20),
                lambda p: mt.actor_critic(mdp, param=p, iterations=20)):
        a, b = run(plain), run(masked)
        assert_array_equal(a.history["J"], b.history["J"])
        assert (a.policy[~mdp.allowed & ~mdp.terminal[:, None]] == 0).all()
    for run in (lambda p: mt.reinforce(mdp, param=p, episodes=20, seed=0),
                lambda p: mt.sampled_actor_critic(mdp, param=p, episodes=20, seed=0)):
        a, b = run(plain), run(masked)
        assert_array_equal(a.history["J"], b.history["J"])
        assert_array_equal(a.policy, b.policy)
    a = mt.gradient_estimates(mdp, plain, theta, n=50, seed=0)
    b = mt.gradient_estimates(mdp, masked, theta, n=50, seed=0)
    assert_array_equal(a, b)


# ---------------------------------------------------------------------- 13: LanguageMDP errors
@pytest.mark.parametrize("call, pattern", [
    (lambda: LanguageMDP(list("ab"), 30, lambda y: 0.0), "number of states must be at most"),
    (lambda: LanguageMDP(["a", "a"], 2, lambda y: 0.0), "vocab tokens must be distinct"),
    (lambda: LanguageMDP(["a", "<eos>"], 2, lambda y: 0.0), "vocab must not contain eos"),
    (lambda: LanguageMDP([], 2, lambda y: 0.0), "vocab must contain at least one token"),
    (lambda: LanguageMDP(["a"], 0, lambda y: 0.0), "max_len must be finite and > 0"),
    (lambda: LanguageMDP(["a"], 2, np.zeros(5)), r"reward must have shape \(3,\)"),
    (lambda: LanguageMDP(["a"], 2, lambda y: np.inf), "reward must be finite"),
    (lambda: LanguageMDP(["a"], 2, lambda y: 0.0, reference=np.full((2, 2), 0.3)),
     "reference rows must sum to 1"),
    (lambda: LanguageMDP(["a"], 2, lambda y: 0.0, reference=np.zeros((7, 2))),
     r"reference must have shape"),
    (lambda: LanguageMDP(["a"], 2, lambda y: 0.0).state_of(("a", "a")),
     "prefix length must be at most"),
    (lambda: LanguageMDP(["a"], 2, lambda y: 0.0).state_of(("b",)), "tokens must be in vocab"),
    (lambda: bigram_reference(["a b"], ["a"]), "corpus tokens must be in vocab"),
    (lambda: bigram_reference(["a <eos>"], ["a"]), "corpus must not contain eos"),
    (lambda: toy(target=("zebra",)), "target must be a non-empty phrase"),
    (lambda: sequence_ids(2, 0), "max_len must be finite and > 0"),
])
def test_every_language_refusal_is_an_MDPValidationError(call, pattern):
    with pytest.raises(MDPValidationError, match=pattern):
        call()


# ---------------------------------------------------------------------- 14: histories
@pytest.mark.parametrize("run", [
    lambda m: mt.policy_gradient(m, iterations=7),
    lambda m: mt.policy_gradient(m, iterations=7, natural=True, lr=0.1),
    lambda m: mt.actor_critic(m, iterations=7),
    lambda m: mt.actor_critic(m, iterations=7, critic="mc"),
], ids=["policy_gradient", "natural", "actor_critic", "actor_critic_mc"])
def test_gradient_histories_have_iterations_plus_one_entries(run):
    result = run(puterman())
    assert result.iterations == 7
    for name, values in result.history.items():
        assert values.shape == (8,), name  # entry k after k updates, entry 0 the start
    start = mt.expected_return(puterman(), np.full((2, 2), 0.5))
    assert result.history["J"][0] == pytest.approx(start)


@pytest.mark.parametrize("run", [
    lambda m: mt.td_evaluation(m, np.array([0, 0]), episodes=9, seed=0),
    lambda m: mt.mc_evaluation(m, np.array([0, 0]), episodes=9, seed=0, max_steps=50),
    lambda m: mt.q_learning(m, episodes=9, eval_every=1, seed=0, max_steps=50),
    lambda m: mt.sarsa(m, episodes=9, eval_every=1, seed=0, max_steps=50),
    lambda m: mt.reinforce(m, episodes=9, eval_every=1, seed=0, max_steps=50),
    lambda m: mt.sampled_actor_critic(m, episodes=9, eval_every=1, seed=0, max_steps=50),
], ids=["td_evaluation", "mc_evaluation", "q_learning", "sarsa", "reinforce",
        "sampled_actor_critic"])
def test_sampling_histories_start_at_episode_zero(run):
    result = run(puterman())
    assert_array_equal(result.history["episode"], np.arange(10))
    for name, values in result.history.items():
        assert values.shape == (10,), name


@pytest.mark.parametrize("function", [mt.policy_gradient, mt.actor_critic, mt.td_evaluation,
                                      mt.mc_evaluation, mt.q_learning, mt.reinforce])
def test_history_rule_is_stated_in_the_docstring(function):
    doc = " ".join(function.__doc__.split())
    assert "+ 1" in doc and ("entry 0" in doc or "the start" in doc)


# ---------------------------------------------------------------------- 15: float32 input
def test_float32_P_rows_are_accepted_and_renormalized():
    rng = np.random.default_rng(0)
    P = rng.random((50, 3, 50)).astype(np.float32)
    P /= P.sum(axis=2, keepdims=True)  # rows sum to 1 within float32 round-off only
    assert np.abs(P.astype(np.float64).sum(axis=2) - 1).max() > 1e-9  # the 1e-9 rule fails
    mdp = mt.MDP(P, np.zeros((50, 3), np.float32), 0.9)
    assert_allclose(mdp.P.sum(axis=2), 1.0, rtol=0, atol=1e-15)
    sparse = mt.MDP(sp.csr_array(P.reshape(150, 50)), np.zeros((50, 3)), 0.9)
    assert_allclose(sparse.P.sum(axis=1), 1.0, rtol=0, atol=1e-15)
    # float64 keeps the 1e-9 rule, and float32 rows further off are still refused
    with pytest.raises(MDPValidationError, match=r"rtol=1e-09"):
        mt.MDP(P.astype(np.float64) * (1 + 1e-7), np.zeros((50, 3)), 0.9)
    with pytest.raises(MDPValidationError, match=r"sums to 1\.001"):
        mt.MDP(P * np.float32(1.001), np.zeros((50, 3)), 0.9)


def test_float32_policy_rows_are_accepted():
    mdp = masked_mdp()
    pi = np.where(mdp.allowed, 1.0, 0.0).astype(np.float32)
    pi /= np.float32(3.0)
    pi[~mdp.allowed.all(axis=1)] *= np.float32(1.5)
    exact = pi.astype(np.float64)
    exact /= exact.sum(axis=1, keepdims=True)
    a = mt.simulate(mdp, pi, episodes=20, max_steps=5, seed=0)  # the rows go through as float32
    b = mt.simulate(mdp, exact, episodes=20, max_steps=5, seed=0)
    assert_array_equal(a.actions, b.actions)


# ---------------------------------------------------------------------- 16: start at reference
@pytest.mark.parametrize("method", [mt.policy_gradient, mt.actor_critic])
def test_kl_regularized_gradient_starts_at_a_reference_with_zeros(method):
    mdp = masked_mdp()
    ref = np.where(mdp.allowed, 1.0, 0.0)
    ref[1, 2] = 0.0  # a zero where the MDP allows the action
    ref /= ref.sum(axis=1, keepdims=True)
    result = method(mdp, beta=0.5, reference=ref, iterations=50)
    assert result.history["J"][0] == pytest.approx(mt.expected_return(mdp, ref))
    assert result.policy[1, 2] == 0.0
    assert result.gap < result.history["gap"][0]


# ---------------------------------------------------------------------- 17: defaults
def test_sampler_defaults_are_documented_and_used():
    mdp = puterman()
    traj = mt.simulate(mdp, np.array([0, 0]), episodes=3, seed=0)
    assert traj.states.shape == (3, 1001)  # max_steps defaults to 1000, like every sampler
    assert mt.reinforce(mdp, episodes=5, seed=0).episodes == 5
    assert mt.sampled_actor_critic(mdp, episodes=5, seed=0).episodes == 5
    assert "default 0.05" in mt.reinforce.__doc__
    assert "default 0.1" in mt.sampled_actor_critic.__doc__
    assert "default 1000" in mt.simulate.__doc__


def test_strategies_without_hypothesis_say_how_to_install_it(monkeypatch):
    real_import = builtins.__import__

    def no_hypothesis(name, *args, **kwargs):
        if name == "hypothesis" or name.startswith("hypothesis."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return real_import(name, *args, **kwargs)

    for name in list(sys.modules):
        if name == "hypothesis" or name.startswith(("hypothesis.", "mdptoolkit.testing.strat")):
            monkeypatch.delitem(sys.modules, name)
    # set by an earlier import; removed from the module's dict, as hasattr (which
    # monkeypatch.delattr calls) would run mt.testing.__getattr__ and import hypothesis again
    monkeypatch.delitem(vars(mt.testing), "strategies", raising=False)
    monkeypatch.setattr(builtins, "__import__", no_hypothesis)
    with pytest.raises(ImportError, match=r"needs hypothesis.*pip install hypothesis"):
        mt.testing.strategies  # noqa: B018
    with pytest.raises(ImportError, match=r"pip install hypothesis"):
        from mdptoolkit.testing.strategies import mdps  # noqa: F401


# ---------------------------------------------------------------------- 18: P's layout
def test_gridworld_layout_rule_is_visible_and_P_as_gives_either_layout():
    small, big = ["S..G"], ["." * 33] * 32  # 4 and 1056 cells
    assert not envs.gridworld(small).mdp.is_sparse
    assert envs.gridworld(big).mdp.is_sparse  # above DENSE_LIMIT = 1024 states
    assert envs.gridworld(small, sparse=True).mdp.is_sparse
    dense = envs.gridworld(big, sparse=False).mdp
    sparse = envs.gridworld(big).mdp
    assert dense.P.shape == sparse.P_as("dense").shape == (1056, 4, 1056)
    assert_array_equal(sparse.P_as("dense"), dense.P)
    assert (sparse.P_as("sparse") != dense.P_as("sparse")).nnz == 0
    assert sparse.P_as("sparse") is sparse.P and dense.P_as("dense") is dense.P
    assert not sparse.P_as("dense").flags.writeable
    assert "DENSE_LIMIT" in envs.gridworld.__doc__ and "P_as" in envs.gridworld.__doc__
    with pytest.raises(TypeError, match="sparse must be True, False or None"):
        envs.gridworld(small, sparse="yes")


def test_P_as_refuses_a_huge_dense_copy_naming_the_bytes():
    mdp = envs.random_mdp(20_000, 2, branching=2, sparse=True, seed=0).mdp
    with pytest.raises(MDPValidationError, match=r"a dense P must take at most "
                                                 r"max_bytes=2,147,483,648 bytes; got 8\*S\*A\*S "
                                                 r"= 6,400,000,000 bytes"):
        mdp.P_as("dense")
    with pytest.raises(MDPValidationError, match=r"max_bytes=1,000 bytes"):
        envs.random_mdp(20, 2, branching=2, sparse=True, seed=0).mdp.P_as("dense", max_bytes=1000)
    with pytest.raises(MDPValidationError, match=r"layout must be 'dense' or 'sparse'"):
        mdp.P_as("csr")
