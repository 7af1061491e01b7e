"""The model: construction, read-only storage, copies, files, pymdptoolbox interop and every
validation error (each triggered and its message matched).

Dense (S, A, S) and sparse (S*A, S) transitions are parametrized side by side through the
``kind`` fixture; a sparse MDP names rows as ``P[s*A + a, :]`` where a dense one writes
``P[s, a, :]``, so location patterns below accept either spelling.
"""

import dataclasses
import io
import re
import subprocess
import sys

import numpy as np
import pytest
import scipy.sparse as sp

import mdptoolkit as mt
from _helpers import as_kind, dense_P, random_P
from mdptoolkit import MDPValidationError

S, A = 3, 2


# ---------------------------------------------------------------------- helpers



def loc(s, a, rest):
    """Regex for an entry of P in either spelling: P[s, a, rest] (dense) or P[s*A + a, rest]."""
    return rf"P\[{s}(, |\*A \+ ){a}, {re.escape(rest)}\]"


@pytest.fixture(params=["dense", "sparse"])
def kind(request):
    return request.param


@pytest.fixture
def P3():
    """A valid (3, 2, 3) transition array: everything moves to state 0."""
    P = np.zeros((S, A, S))
    P[:, :, 0] = 1.0
    return P


def assert_same_mdp(m1, m2):
    assert (m1.n_states, m1.n_actions, m1.gamma) == (m2.n_states, m2.n_actions, m2.gamma)
    assert m1.is_sparse == m2.is_sparse
    np.testing.assert_array_equal(dense_P(m1), dense_P(m2))
    np.testing.assert_array_equal(m1.R, m2.R)
    np.testing.assert_array_equal(m1.mu, m2.mu)
    np.testing.assert_array_equal(m1.terminal, m2.terminal)
    np.testing.assert_array_equal(m1.allowed, m2.allowed)
    assert m1.state_names == m2.state_names
    assert m1.action_names == m2.action_names


# ---------------------------------------------------------------------- construction
def test_dense_and_sparse_agree_on_every_attribute():
    rng = np.random.default_rng(0)
    P = random_P(rng, 4, 3)
    R = rng.normal(size=(4, 3))
    R[1, 2] = -np.inf
    kwargs = dict(mu=[0.1, 0.2, 0.3, 0.4], terminal=[False, False, True, False],
                  state_names=["a", "b", "c", "d"], action_names=["x", "y", "z"])
    dense = mt.MDP(P, R, 0.9, **kwargs)
    sparse = mt.MDP(as_kind(P, "sparse"), R, 0.9, **kwargs)
    assert not dense.is_sparse and sparse.is_sparse
    assert isinstance(dense.P, np.ndarray) and dense.P.shape == (4, 3, 4)
    assert sp.issparse(sparse.P) and sparse.P.shape == (12, 4)
    for name in ("n_states", "n_actions", "gamma", "state_names", "action_names"):
        assert getattr(dense, name) == getattr(sparse, name), name
    for name in ("R", "mu", "terminal", "allowed"):
        np.testing.assert_array_equal(getattr(dense, name), getattr(sparse, name), err_msg=name)
    np.testing.assert_array_equal(dense_P(dense), dense_P(sparse))
    assert repr(dense).replace("dense", "sparse") == repr(sparse)


def test_values_are_stored_as_given(kind):
    rng = np.random.default_rng(1)
    P = random_P(rng, S, A)
    R = rng.normal(size=(S, A))
    mdp = mt.MDP(as_kind(P, kind), R, 0.75, mu=[0.5, 0.25, 0.25])
    assert (mdp.n_states, mdp.n_actions, mdp.gamma) == (S, A, 0.75)
    np.testing.assert_allclose(dense_P(mdp), P, rtol=0, atol=1e-15)
    np.testing.assert_array_equal(mdp.R, R)
    np.testing.assert_array_equal(mdp.mu, [0.5, 0.25, 0.25])
    assert mdp.R.dtype == np.float64 and mdp.mu.dtype == np.float64
    assert mdp.terminal.dtype == bool and not mdp.terminal.any()
    assert mdp.allowed.dtype == bool and mdp.allowed.all()
    assert mdp.state_names is None and mdp.action_names is None


def test_default_mu_is_uniform(kind, P3):
    mdp = mt.MDP(as_kind(P3, kind), np.zeros((S, A)), 0.9)
    np.testing.assert_array_equal(mdp.mu, np.full(S, 1 / S))


def test_nested_lists_are_accepted():
    mdp = mt.MDP([[[1.0]]], [[2.0]], 0.5)
    assert (mdp.n_states, mdp.n_actions) == (1, 1)


@pytest.mark.parametrize("gamma", [0, 0.0, 1, 1.0, np.float32(0.5), np.float64(0.25)])
def test_gamma_accepts_any_real_in_the_closed_interval(kind, P3, gamma):
    mdp = mt.MDP(as_kind(P3, kind), np.zeros((S, A)), gamma)
    assert mdp.gamma == float(gamma) and isinstance(mdp.gamma, float)


# ---------------------------------------------------------------------- the three shapes of R
def test_state_rewards_apply_to_every_action(kind):
    rng = np.random.default_rng(2)
    P = random_P(rng, S, A)
    r = np.array([1.0, -2.0, 0.5])
    mdp = mt.MDP(as_kind(P, kind), r, 0.9)
    np.testing.assert_array_equal(mdp.R, np.repeat(r[:, None], A, axis=1))


def test_transition_rewards_are_reduced_to_expected_rewards(kind):
    rng = np.random.default_rng(3)
    P = random_P(rng, S, A)
    P[0, 1] = [0.0, 1.0, 0.0]  # a row with zeros: sparse storage drops them
    R3 = rng.normal(size=(S, A, S))
    mdp = mt.MDP(as_kind(P, kind), R3, 0.9)
    expected = np.array([[sum(P[s, a, t] * R3[s, a, t] for t in range(S)) for a in range(A)]
                         for s in range(S)])
    np.testing.assert_allclose(mdp.R, expected, rtol=1e-14, atol=1e-15)


def test_the_three_shapes_agree_when_they_describe_the_same_rewards(kind):
    rng = np.random.default_rng(4)
    P = random_P(rng, S, A)
    r = rng.normal(size=S)
    by_state = mt.MDP(as_kind(P, kind), r, 0.9)
    by_pair = mt.MDP(as_kind(P, kind), np.repeat(r[:, None], A, axis=1), 0.9)
    by_transition = mt.MDP(as_kind(P, kind), np.broadcast_to(r[:, None, None], (S, A, S)), 0.9)
    np.testing.assert_array_equal(by_state.R, by_pair.R)
    np.testing.assert_allclose(by_transition.R, by_pair.R, rtol=1e-14)


# ---------------------------------------------------------------------- terminal states
def test_terminal_rows_become_absorbing_with_zero_reward(kind):
    rng = np.random.default_rng(5)
    P = random_P(rng, 4, A)  # terminal rows deliberately not absorbing
    R = rng.normal(size=(4, A)) + 10.0
    terminal = np.array([False, True, False, True])
    mdp = mt.MDP(as_kind(P, kind), R, 0.9, terminal=terminal)
    P_stored = dense_P(mdp)
    for t in (1, 3):
        for a in range(A):
            np.testing.assert_array_equal(P_stored[t, a], np.eye(4)[t])
        np.testing.assert_array_equal(mdp.R[t], 0.0)
    for s in (0, 2):  # other rows untouched
        np.testing.assert_allclose(P_stored[s], P[s], rtol=0, atol=1e-15)
        np.testing.assert_array_equal(mdp.R[s], R[s])
    np.testing.assert_array_equal(mdp.terminal, terminal)


def test_terminal_accepts_a_0_1_mask(kind, P3):
    mdp = mt.MDP(as_kind(P3, kind), np.ones((S, A)), 0.9, terminal=[0, 0, 1])
    np.testing.assert_array_equal(mdp.terminal, [False, False, True])


def test_already_absorbing_terminal_rows_are_kept(kind):
    P = np.zeros((2, 1, 2))
    P[0, 0, 1] = P[1, 0, 1] = 1.0
    mdp = mt.MDP(as_kind(P, kind), [[1.0], [0.0]], 1.0, terminal=[False, True])
    np.testing.assert_array_equal(dense_P(mdp), P)
    np.testing.assert_array_equal(mdp.R, [[1.0], [0.0]])


# ---------------------------------------------------------------------- allowed actions
def test_allowed_is_read_from_minus_inf_in_R(kind):
    rng = np.random.default_rng(6)
    P = random_P(rng, S, 3)
    R = rng.normal(size=(S, 3))
    R[0, 2] = R[2, 0] = R[2, 1] = -np.inf
    mdp = mt.MDP(as_kind(P, kind), R, 0.9)
    expected = np.array([[True, True, False], [True, True, True], [False, False, True]])
    np.testing.assert_array_equal(mdp.allowed, expected)
    np.testing.assert_array_equal(np.isneginf(mdp.R), ~expected)
    assert "6 allowed state-action pairs" in repr(mdp)


def test_explicit_allowed_mask_skips_checks_on_disallowed_rows(kind):
    P = np.zeros((S, A, S))
    P[:, 0, 1] = 1.0  # action 1 rows are all zero: fine, since action 1 is disallowed there
    P[2, 1, 2] = 1.0
    allowed = np.array([[True, False], [True, False], [True, True]])
    mdp = mt.MDP(as_kind(P, kind), np.ones((S, A)), 0.9, allowed=allowed)
    np.testing.assert_array_equal(mdp.allowed, allowed)
    np.testing.assert_array_equal(mdp.R, np.ones((S, A)))  # finite R at disallowed is kept


def test_allowed_accepts_a_0_1_mask(kind, P3):
    mdp = mt.MDP(as_kind(P3, kind), np.zeros((S, A)), 0.9, allowed=[[1, 0], [1, 1], [0, 1]])
    np.testing.assert_array_equal(mdp.allowed, [[True, False], [True, True], [False, True]])


# ---------------------------------------------------------------------- read-only storage
@pytest.mark.parametrize("name", ["P", "R", "mu", "terminal", "allowed"])
def test_arrays_are_read_only(kind, name):
    rng = np.random.default_rng(7)
    mdp = mt.MDP(as_kind(random_P(rng, S, A), kind), rng.normal(size=(S, A)), 0.9,
                 terminal=[False, False, True])
    array = getattr(mdp, name)
    if sp.issparse(array):
        with pytest.raises(ValueError, match="read-only"):
            array.data[0] = 0.5
        with pytest.raises(ValueError, match="read-only"):
            array[0, 0] = 0.5
        return
    assert not array.flags.writeable
    with pytest.raises(ValueError, match="read-only"):
        array[(0,) * array.ndim] = 1


def test_attributes_cannot_be_rebound(kind, P3):
    mdp = mt.MDP(as_kind(P3, kind), np.zeros((S, A)), 0.9)
    for name in ("R", "gamma", "mu", "terminal", "allowed", "n_states", "n_actions", "is_sparse"):
        with pytest.raises(AttributeError):
            setattr(mdp, name, None)


def test_callers_arrays_are_never_modified(kind):
    rng = np.random.default_rng(8)
    P = random_P(rng, 4, A)
    P[0, 0] = [1.0 + 5e-13, -5e-13, 0.0, 0.0]  # round-off the model clips into [0, 1]
    P_in = as_kind(P, kind)
    R = rng.normal(size=(4, A))
    R[2, 1] = -np.inf
    mu = np.array([0.25, 0.25, 0.25, 0.25])
    terminal = np.array([False, False, False, True])  # its row is rewritten in the model
    allowed = np.isfinite(R)
    snapshot = [x.copy() for x in (P, R, mu, terminal, allowed)]
    P_in_snapshot = P_in.copy()
    mdp = mt.MDP(P_in, R, 0.9, mu=mu, terminal=terminal, allowed=allowed)
    for before, after in zip(snapshot, (P, R, mu, terminal, allowed)):
        np.testing.assert_array_equal(before, after)
    if kind == "sparse":
        assert (P_in != P_in_snapshot).nnz == 0
    else:
        np.testing.assert_array_equal(P_in, P_in_snapshot)
    # and the model owns its copies: later writes by the caller do not reach it
    R_model = mdp.R.copy()
    R[0, 0] = 123.0
    mu[:] = [1.0, 0.0, 0.0, 0.0]
    np.testing.assert_array_equal(mdp.R, R_model)
    np.testing.assert_array_equal(mdp.mu, 0.25)
    assert dense_P(mdp)[0, 0, 1] == 0.0  # the -5e-13 was clipped in the model's copy only


def test_callers_arrays_with_one_action_are_copied():
    # With A = 1 the action-major transpose of P is contiguous: it must still be copied.
    P = np.zeros((2, 1, 2))
    P[0, 0, 1] = P[1, 0, 1] = 1.0
    P[0, 0] = [0.5, 0.5]
    P_before = P.copy()
    mdp = mt.MDP(P, [[1.0], [2.0]], 0.9, terminal=[False, True])
    np.testing.assert_array_equal(P, P_before)
    P[0, 0] = [1.0, 0.0]
    np.testing.assert_array_equal(mdp.P[0, 0], [0.5, 0.5])


# ---------------------------------------------------------------------- replace()
@pytest.fixture
def base(kind):
    rng = np.random.default_rng(9)
    R = rng.normal(size=(S, A))
    return mt.MDP(as_kind(random_P(rng, S, A), kind), R, 0.9, mu=[0.2, 0.3, 0.5],
                  state_names=["s0", "s1", "s2"], action_names=["left", "right"])


def _fields(mdp):
    return dict(P=dense_P(mdp), R=mdp.R, gamma=mdp.gamma, mu=mdp.mu, terminal=mdp.terminal,
                allowed=mdp.allowed, state_names=mdp.state_names, action_names=mdp.action_names)


def _assert_only_changed(old, new, changed):
    before, after = _fields(old), _fields(new)
    for name in before:
        if name in changed:
            continue
        np.testing.assert_array_equal(np.asarray(after[name], dtype=object),
                                      np.asarray(before[name], dtype=object), err_msg=name)


def test_replace_gamma(base):
    new = base.replace(gamma=0.5)
    assert new is not base and new.gamma == 0.5 and base.gamma == 0.9
    _assert_only_changed(base, new, {"gamma"})
    assert new.is_sparse == base.is_sparse


def test_replace_mu(base):
    new = base.replace(mu=[1.0, 0.0, 0.0])
    np.testing.assert_array_equal(new.mu, [1.0, 0.0, 0.0])
    np.testing.assert_array_equal(base.mu, [0.2, 0.3, 0.5])
    _assert_only_changed(base, new, {"mu"})


def test_replace_names(base):
    new = base.replace(state_names=["x", "y", "z"], action_names=None)
    assert new.state_names == ("x", "y", "z") and new.action_names is None
    assert base.state_names == ("s0", "s1", "s2") and base.action_names == ("left", "right")
    _assert_only_changed(base, new, {"state_names", "action_names"})


def test_replace_P(base, kind):
    P_new = np.zeros((S, A, S))
    P_new[:, :, 2] = 1.0
    new = base.replace(P=as_kind(P_new, kind))
    np.testing.assert_array_equal(dense_P(new), P_new)
    _assert_only_changed(base, new, {"P"})


def test_replace_R(base):
    R_new = np.arange(S * A, dtype=float).reshape(S, A)
    new = base.replace(R=R_new)
    np.testing.assert_array_equal(new.R, R_new)
    _assert_only_changed(base, new, {"R"})


def test_replace_R_with_minus_inf_redefines_allowed(base):
    R_new = np.zeros((S, A))
    R_new[1, 0] = -np.inf
    new = base.replace(R=R_new)
    np.testing.assert_array_equal(new.allowed, np.isfinite(R_new))


def test_replace_R_keeps_an_explicit_allowed_mask(kind):
    # Only R changes: the mask given at construction (with finite R at the disallowed
    # action, which the model accepts) must survive. Rows of disallowed actions "may be
    # anything", here all zeros.
    rng = np.random.default_rng(10)
    P = random_P(rng, S, A)
    P[1, 1] = 0.0
    allowed = np.array([[True, True], [True, False], [True, True]])
    mdp = mt.MDP(as_kind(P, kind), rng.normal(size=(S, A)), 0.9, allowed=allowed)
    new = mdp.replace(R=mdp.R + 1.0)
    np.testing.assert_array_equal(new.allowed, allowed)
    np.testing.assert_array_equal(new.R, mdp.R + 1.0)


def test_replace_terminal(base):
    new = base.replace(terminal=[False, True, False])
    np.testing.assert_array_equal(new.terminal, [False, True, False])
    np.testing.assert_array_equal(dense_P(new)[1], np.tile(np.eye(S)[1], (A, 1)))
    np.testing.assert_array_equal(new.R[1], 0.0)
    assert not base.terminal.any()


def test_replace_allowed(base):
    allowed = np.array([[True, False], [True, True], [False, True]])
    new = base.replace(allowed=allowed)
    np.testing.assert_array_equal(new.allowed, allowed)
    assert base.allowed.all()
    _assert_only_changed(base, new, {"allowed"})


@pytest.mark.parametrize("changes, error, pattern", [
    (dict(gamma=1.5), MDPValidationError, r"gamma must be in \[0, 1\]; got 1\.5"),
    (dict(gamma="0.5"), TypeError, r"gamma must be a real number; got str"),
    (dict(mu=[0.5, 0.5, 0.5]), MDPValidationError, r"mu must sum to 1 \(rtol=1e-09\); got 1\.5"),
    (dict(mu=[1.5, -0.5, 0.0]), MDPValidationError,
     r"mu must be non-negative; got -0\.5 at mu\[1\]"),
    (dict(state_names=["a"]), MDPValidationError, r"state_names must have 3 entries; got 1"),
    (dict(action_names="lr"), TypeError, r"action_names must be a sequence of 2 strings"),
    (dict(R=np.zeros((S, S))), MDPValidationError,
     r"R must have shape \(3, 2\), \(3,\) or \(3, 2, 3\); got \(3, 3\)"),
    (dict(P=np.full((S, A, S), 0.5)), MDPValidationError,
     r"row P\[0, 0, :\] sums to 1\.5, expected 1"),
    (dict(allowed=np.zeros((S, A), bool)), MDPValidationError,
     r"every state must have at least one allowed action; got none at state 0 \(3 such states\)"),
    (dict(terminal=[True]), MDPValidationError, r"terminal must have shape \(3,\); got \(1,\)"),
    (dict(discount=0.5), TypeError,
     r"replace\(\) got unknown field\(s\) \['discount'\]; valid: \['P', 'R', 'gamma'"),
])
def test_replace_validates(base, changes, error, pattern):
    with pytest.raises(error, match=pattern):
        base.replace(**changes)


# ---------------------------------------------------------------------- save / load
def _full_mdp(kind):
    rng = np.random.default_rng(11)
    R = rng.normal(size=(4, 3))
    R[0, 1] = -np.inf
    allowed = np.isfinite(R)
    allowed[2, 2] = False  # disallowed with a finite reward: only the mask says so
    return mt.MDP(as_kind(random_P(rng, 4, 3), kind), R, 0.95, mu=[0.4, 0.3, 0.2, 0.1],
                  terminal=[False, False, False, True], allowed=allowed,
                  state_names=["start", "middle", "end", "goal"],
                  action_names=["stay", "go", "jump"])


def test_save_load_round_trip(kind, tmp_path):
    mdp = _full_mdp(kind)
    path = tmp_path / "model.npz"
    mdp.save(path)
    loaded = mt.MDP.load(path)
    assert_same_mdp(mdp, loaded)
    assert loaded.state_names == ("start", "middle", "end", "goal")
    assert not loaded.allowed[2, 2] and not loaded.allowed[0, 1]


def test_save_load_round_trip_without_names(kind, tmp_path):
    rng = np.random.default_rng(12)
    mdp = mt.MDP(as_kind(random_P(rng, S, A), kind), rng.normal(size=S), 0.3)
    mdp.save(str(tmp_path / "plain.npz"))
    assert_same_mdp(mdp, mt.MDP.load(str(tmp_path / "plain.npz")))


def test_save_load_through_a_file_object(kind):
    mdp = _full_mdp(kind)
    buffer = io.BytesIO()
    mdp.save(buffer)
    buffer.seek(0)
    assert_same_mdp(mdp, mt.MDP.load(buffer))


def test_saved_file_needs_no_pickle(kind, tmp_path):
    mdp = _full_mdp(kind)
    path = tmp_path / "model.npz"
    mdp.save(path)
    with np.load(path, allow_pickle=False) as f:  # would raise on an object array
        for name in f.files:
            assert f[name].dtype != object, name


def test_load_refuses_an_unknown_format_version(kind, tmp_path):
    mdp = _full_mdp(kind)
    path = tmp_path / "model.npz"
    mdp.save(path)
    with np.load(path, allow_pickle=False) as f:
        arrays = {name: f[name] for name in f.files}
    arrays["format_version"] = np.array(99)
    np.savez(path, **arrays)
    with pytest.raises(MDPValidationError, match=r"format_version of file '.*model.npz' must be 1; "
                                                 r"got 99"):
        mt.MDP.load(path)


# ---------------------------------------------------------------------- pymdptoolbox interop
def _pymdptoolbox_arrays(seed=13, n_states=4, n_actions=3):
    rng = np.random.default_rng(seed)
    P = random_P(rng, n_states, n_actions).transpose(1, 0, 2).copy()  # (A, S, S)
    return rng, P


def test_from_pymdptoolbox_dense_round_trip():
    rng, P = _pymdptoolbox_arrays()
    R = rng.normal(size=(4, 3))
    mdp = mt.MDP.from_pymdptoolbox(P, R, 0.9)
    assert not mdp.is_sparse
    np.testing.assert_array_equal(mdp.P, P.transpose(1, 0, 2))
    P_out, R_out = mdp.to_pymdptoolbox()
    assert isinstance(P_out, np.ndarray) and P_out.shape == (3, 4, 4)
    np.testing.assert_array_equal(P_out, P)
    np.testing.assert_array_equal(R_out, R)
    assert_same_mdp(mdp, mt.MDP.from_pymdptoolbox(P_out, R_out, 0.9))


def test_from_pymdptoolbox_sparse_round_trip():
    rng, P = _pymdptoolbox_arrays()
    P[0, 1] = [0.0, 1.0, 0.0, 0.0]
    R = rng.normal(size=(4, 3))
    mats = [sp.csr_matrix(P[a]) for a in range(3)]
    mdp = mt.MDP.from_pymdptoolbox(mats, R, 0.9)
    assert mdp.is_sparse
    np.testing.assert_array_equal(dense_P(mdp), P.transpose(1, 0, 2))
    P_out, R_out = mdp.to_pymdptoolbox()
    assert isinstance(P_out, list) and len(P_out) == 3
    for a in range(3):
        assert sp.issparse(P_out[a]) and P_out[a].shape == (4, 4)
        np.testing.assert_array_equal(P_out[a].toarray(), P[a])
    np.testing.assert_array_equal(R_out, R)
    assert_same_mdp(mdp, mt.MDP.from_pymdptoolbox(P_out, R_out, 0.9))


@pytest.mark.parametrize("layout", ["array", "sparse list"])
@pytest.mark.parametrize("r_shape", ["(S,)", "(S, A)", "(A, S, S)", "list of (S, S)"])
def test_from_pymdptoolbox_reward_shapes(layout, r_shape):
    rng, P = _pymdptoolbox_arrays(seed=14)
    n_actions, n_states, _ = P.shape
    P_in = P if layout == "array" else [sp.csr_matrix(P[a]) for a in range(n_actions)]
    if r_shape == "(S,)":
        R_in = rng.normal(size=n_states)
        expected = np.repeat(R_in[:, None], n_actions, axis=1)
    elif r_shape == "(S, A)":
        R_in = rng.normal(size=(n_states, n_actions))
        expected = R_in
    else:
        R3 = rng.normal(size=(n_actions, n_states, n_states))
        expected = (P * R3).sum(axis=2).T  # expected reward of (s, a)
        R_in = R3 if r_shape == "(A, S, S)" else [sp.csr_matrix(R3[a]) for a in range(n_actions)]
    mdp = mt.MDP.from_pymdptoolbox(P_in, R_in, 0.8)
    np.testing.assert_allclose(mdp.R, expected, rtol=1e-13, atol=1e-15)
    P_out, R_out = mdp.to_pymdptoolbox()
    np.testing.assert_allclose(R_out, expected, rtol=1e-13, atol=1e-15)
    assert_same_mdp(mdp, mt.MDP.from_pymdptoolbox(P_out, R_out, 0.8))


def test_from_pymdptoolbox_passes_keywords_on():
    rng, P = _pymdptoolbox_arrays()
    mdp = mt.MDP.from_pymdptoolbox(P, rng.normal(size=4), 0.9, terminal=[False] * 3 + [True],
                                   state_names=list("abcd"))
    assert mdp.terminal[3] and mdp.state_names == tuple("abcd")


def test_from_pymdptoolbox_matches_its_forest_example():
    example = pytest.importorskip("mdptoolbox.example")
    P, R = example.forest(S=4)
    mdp = mt.MDP.from_pymdptoolbox(P, R, 0.9)
    np.testing.assert_array_equal(mdp.P, np.asarray(P).transpose(1, 0, 2))
    np.testing.assert_array_equal(mdp.R, R)
    P_s, R_s = example.forest(S=4, is_sparse=True)
    sparse = mt.MDP.from_pymdptoolbox(P_s, R_s, 0.9)
    assert sparse.is_sparse
    np.testing.assert_array_equal(dense_P(sparse), mdp.P)


@pytest.mark.parametrize("call, pattern", [
    (lambda P, R: mt.MDP.from_pymdptoolbox(np.zeros((2, 3, 4)), R, 0.9),
     r"pymdptoolbox P must have shape \(A, S, S\); got \(2, 3, 4\)"),
    (lambda P, R: mt.MDP.from_pymdptoolbox([], R, 0.9),
     r"pymdptoolbox P must hold at least one action"),
    (lambda P, R: mt.MDP.from_pymdptoolbox([sp.csr_matrix(P[0]), sp.csr_matrix(np.eye(3))], R, 0.9),
     r"pymdptoolbox P\[1\] must have shape \(4, 4\); got \(3, 3\)"),
    (lambda P, R: mt.MDP.from_pymdptoolbox(P, np.zeros(5), 0.9),
     r"pymdptoolbox R must have shape \(4,\), \(4, 3\) or \(3, 4, 4\); got \(5,\)"),
    (lambda P, R: mt.MDP.from_pymdptoolbox(P, [np.zeros((4, 4))] * 2, 0.9),
     r"pymdptoolbox R given as a sequence must hold 3 per-action entries, 4 state rewards or "
     r"4 rows of 3; got 2 entries"),
])
def test_from_pymdptoolbox_errors(call, pattern):
    rng, P = _pymdptoolbox_arrays()
    R = rng.normal(size=(4, 3))
    with pytest.raises(MDPValidationError, match=pattern):
        call(P, R)


def test_to_pymdptoolbox_refuses_disallowed_actions(kind, P3):
    R = np.zeros((S, A))
    R[1, 0] = -np.inf
    mdp = mt.MDP(as_kind(P3, kind), R, 0.9)
    with pytest.raises(MDPValidationError,
                       match=r"pymdptoolbox has no disallowed actions; action 0 is disallowed at "
                             r"state 1 \(1 pairs\)"):
        mdp.to_pymdptoolbox()


# ---------------------------------------------------------------------- validation: the model
def _bad_P(change):
    P = np.zeros((S, A, S))
    P[:, :, 0] = 1.0
    change(P)
    return P


def _set(*assignments):
    def change(P):
        for index, value in assignments:
            P[index] = value
    return change


@pytest.mark.parametrize("change, pattern", [
    (_set(((1, 0, 2), np.nan)), r"P(\.data)? must be finite; got \S*nan\)? at " + loc(1, 0, "2")),
    (_set(((1, 0, 2), np.inf)), r"P(\.data)? must be finite; got \S*inf\)? at " + loc(1, 0, "2")),
    (_set(((1, 0, 2), -np.inf)), r"P(\.data)? must be finite; got \S*-inf\)? at " + loc(1, 0, "2")),
], ids=["nan", "inf", "-inf"])
def test_non_finite_transition(kind, change, pattern):
    # The message names the offending (s, a) row and next state, as every other message about P
    # does (DESIGN.md: "names the offending state/action and value"), for sparse input too.
    with pytest.raises(MDPValidationError, match=pattern):
        mt.MDP(as_kind(_bad_P(change), kind), np.zeros((S, A)), 0.9)


@pytest.mark.parametrize("change, pattern", [
    # a negative entry compensated by one above 1: the row sums to 1, entries do not
    (_set(((1, 0, 2), -0.2), ((1, 0, 0), 1.2)),
     r"P entries must be probabilities in \[0, 1\]; got -0\.2 at " + loc(1, 0, "2")
     + r" \(2 bad entries\)"),
    (_set(((2, 1, 1), -0.5), ((2, 1, 0), 1.5)),
     r"P entries must be probabilities in \[0, 1\]; got -0\.5 at " + loc(2, 1, "1")
     + r" \(2 bad entries\)"),
    (_set(((0, 1, 0), 1.5)),
     r"P entries must be probabilities in \[0, 1\]; got 1\.5 at " + loc(0, 1, "0")
     + r" \(1 bad entries\)"),
    (_set(((0, 0, 0), 0.7), ((0, 0, 1), 0.3 + 1e-9), ((1, 1, 0), -1e-10), ((1, 1, 1), 1.0)),
     r"P entries must be probabilities in \[0, 1\]; got -1e-10 at " + loc(1, 1, "0")),
], ids=["negative", "negative-worst", "above-one", "just-outside"])
def test_probabilities_outside_the_unit_interval(kind, change, pattern):
    with pytest.raises(MDPValidationError, match=pattern):
        mt.MDP(as_kind(_bad_P(change), kind), np.zeros((S, A)), 0.9)


def test_round_off_outside_the_unit_interval_is_clipped(kind):
    P = _bad_P(_set(((1, 0, 0), 1 + 1e-13), ((1, 0, 1), -1e-13)))
    mdp = mt.MDP(as_kind(P, kind), np.zeros((S, A)), 0.9)
    stored = dense_P(mdp)
    assert stored.min() >= 0.0 and stored.max() <= 1.0


@pytest.mark.parametrize("change, pattern", [
    (_set(((1, 1, 0), 0.9)),
     r"row " + loc(1, 1, ":") + r" sums to 0\.9, expected 1 \(rtol=1e-09\); 1 of 6 allowed "
     r"rows is bad"),
    # the worst row is named and the bad rows are counted
    (_set(((2, 0, 0), 0.95), ((1, 1, 0), 0.5), ((0, 1, 1), 0.01)),
     r"row " + loc(1, 1, ":") + r" sums to 0\.5, expected 1 \(rtol=1e-09\); 3 of 6 allowed "
     r"rows are bad"),
    (_set(((0, 0, 1), 1.0)),
     r"row " + loc(0, 0, ":") + r" sums to 2, expected 1 \(rtol=1e-09\); 1 of 6 allowed "
     r"rows is bad"),
    (_set(((2, 1, 0), 1 - 1e-8)),
     r"row " + loc(2, 1, ":") + r" sums to 0\.99999999, expected 1"),
    (_set(((2, 1, 0), 0.0)),
     r"row " + loc(2, 1, ":") + r" sums to 0, expected 1"),
], ids=["one-row", "worst-of-three", "sum-two", "just-off", "empty-row"])
def test_row_sums(kind, change, pattern):
    with pytest.raises(MDPValidationError, match=pattern):
        mt.MDP(as_kind(_bad_P(change), kind), np.zeros((S, A)), 0.9)


def test_row_sums_within_tolerance_are_accepted(kind):
    P = _bad_P(_set(((2, 1, 0), 1 - 1e-10)))
    mt.MDP(as_kind(P, kind), np.zeros((S, A)), 0.9)


def test_row_sums_of_disallowed_actions_are_not_checked(kind):
    P = _bad_P(_set(((2, 1, 0), 0.3)))
    R = np.zeros((S, A))
    R[2, 1] = -np.inf
    mt.MDP(as_kind(P, kind), R, 0.9)
    allowed = np.ones((S, A), bool)
    allowed[2, 1] = False
    mt.MDP(as_kind(P, kind), np.zeros((S, A)), 0.9, allowed=allowed)


def test_bad_row_of_an_allowed_action_in_a_terminal_state_is_rewritten(kind):
    # terminal rows are set to absorbing before the sums are checked
    P = _bad_P(_set(((2, 1, 0), 0.3)))
    mdp = mt.MDP(as_kind(P, kind), np.zeros((S, A)), 0.9, terminal=[False, False, True])
    np.testing.assert_array_equal(dense_P(mdp)[2, 1], [0.0, 0.0, 1.0])


@pytest.mark.parametrize("P, pattern", [
    (np.zeros((S, A)),
     r"P must have shape \(S, A, S\); got \(3, 2\) \(a flat \(S\*A, S\) P must be a "
     r"scipy\.sparse matrix"),
    (np.zeros((S, A, S + 1)), r"P must have shape \(S, A, S\); got \(3, 2, 4\)"),
    (np.zeros((S,)), r"P must have shape \(S, A, S\); got \(3,\)"),
    (np.zeros((0, A, 0)), r"P must have at least one state and one action; got \(0, 2, 0\)"),
    (np.zeros((S, 0, S)), r"P must have at least one state and one action; got \(3, 0, 3\)"),
    (sp.csr_array(np.eye(5, 3)),
     r"a sparse P must have shape \(S\*A, S\) with S\*A a multiple of S; got \(5, 3\)"),
    (sp.csr_array((0, 3)),
     r"a sparse P must have shape \(S\*A, S\) with S\*A a multiple of S; got \(0, 3\)"),
], ids=["2d-dense", "not-square", "1d", "no-states", "no-actions", "sparse-rows", "sparse-empty"])
def test_bad_P_shape(P, pattern):
    with pytest.raises(MDPValidationError, match=pattern):
        mt.MDP(P, np.zeros((S, A)), 0.9)


@pytest.mark.parametrize("P", ["abc", object(), {"a": 1}], ids=["str", "object", "dict"])
def test_P_of_the_wrong_kind(P):
    with pytest.raises(TypeError, match=r"P must be array-like of probabilities or a scipy\.sparse "
                                        r"matrix; got \w+"):
        mt.MDP(P, np.zeros((S, A)), 0.9)


@pytest.mark.parametrize("R, pattern", [
    (np.zeros((S, S)), r"R must have shape \(3, 2\), \(3,\) or \(3, 2, 3\); got \(3, 3\)"),
    (np.zeros((A, S)), r"R must have shape \(3, 2\), \(3,\) or \(3, 2, 3\); got \(2, 3\)"),
    (np.zeros(S + 1), r"R must have shape \(3, 2\), \(3,\) or \(3, 2, 3\); got \(4,\)"),
    (np.zeros((A, S, S)), r"R must have shape \(3, 2\), \(3,\) or \(3, 2, 3\); got \(2, 3, 3\)"),
    (np.array([[0, 0], [0, np.nan], [0, 0]]), r"R must not contain NaN; got nan at R\[1, 1\]"),
    (np.array([[0, 0], [0, 0], [np.inf, 0]]), r"R must not contain \+inf; got inf at R\[2, 0\]"),
    (np.array([0, -np.inf, 0]), r"R must be finite; got .*-inf.* at R\[1\]"),
    (np.array([0, np.nan, 0]), r"R must not contain NaN; got nan at R\[1\]"),
    (np.where(np.arange(S * A * S).reshape(S, A, S) == 7, -np.inf, 0.0),
     r"R must be finite; got .*-inf.* at R\[1, 0, 1\] \(1 non-finite entries\)"),
], ids=["SxS", "AxS", "S+1", "AxSxS", "nan", "+inf", "state-minus-inf", "state-nan",
        "transition-minus-inf"])
def test_bad_R(kind, P3, R, pattern):
    with pytest.raises(MDPValidationError, match=pattern):
        mt.MDP(as_kind(P3, kind), R, 0.9)


@pytest.mark.parametrize("R, pattern", [
    ("abc", r"R must be array-like of real numbers; got str"),
    (sp.csr_array(np.zeros((S, A))),
     r"R must be a dense array of shape \(S, A\), \(S,\) or \(S, A, S\)"),
], ids=["str", "sparse"])
def test_R_of_the_wrong_kind(kind, P3, R, pattern):
    with pytest.raises(TypeError, match=pattern):
        mt.MDP(as_kind(P3, kind), R, 0.9)


def test_no_allowed_action_in_a_state_from_minus_inf(kind, P3):
    R = np.zeros((S, A))
    R[1] = -np.inf
    with pytest.raises(MDPValidationError,
                       match=r"every state must have at least one allowed action; got none at "
                             r"state 1 \(1 such states\)"):
        mt.MDP(as_kind(P3, kind), R, 0.9)


def test_no_allowed_action_in_a_state_from_the_mask(kind, P3):
    allowed = np.ones((S, A), bool)
    allowed[2] = allowed[1] = False
    with pytest.raises(MDPValidationError,
                       match=r"every state must have at least one allowed action; got none at "
                             r"state 1 \(2 such states\)"):
        mt.MDP(as_kind(P3, kind), np.zeros((S, A)), 0.9, allowed=allowed)


def test_minus_inf_reward_at_an_allowed_action(kind, P3):
    R = np.zeros((S, A))
    R[2, 1] = R[0, 0] = -np.inf
    with pytest.raises(MDPValidationError,
                       match=r"R must be finite at allowed actions; got -inf at R\[0, 0\] "
                             r"\(2 such entries\)"):
        mt.MDP(as_kind(P3, kind), R, 0.9, allowed=np.ones((S, A), bool))


@pytest.mark.parametrize("keyword, value, pattern", [
    ("allowed", np.ones((A, S), bool), r"allowed must have shape \(3, 2\); got \(2, 3\)"),
    ("allowed", np.full((S, A), 2), r"allowed must be a boolean mask; got values other than 0/1"),
    ("terminal", [True, False], r"terminal must have shape \(3,\); got \(2,\)"),
    ("terminal", [0.5, 0, 0], r"terminal must be a boolean mask; got values other than 0/1"),
])
def test_bad_masks(kind, P3, keyword, value, pattern):
    with pytest.raises(MDPValidationError, match=pattern):
        mt.MDP(as_kind(P3, kind), np.zeros((S, A)), 0.9, **{keyword: value})


@pytest.mark.parametrize("mu, pattern", [
    ([0.5, -0.25, 0.75], r"mu must be non-negative; got -0\.25 at mu\[1\]"),
    ([0.5, 0.2, 0.2], r"mu must sum to 1 \(rtol=1e-09\); got 0\.9"),
    ([0.5, 0.5, 1e-6], r"mu must sum to 1 \(rtol=1e-09\); got 1\.000001"),
    ([0.0, 0.0, 0.0], r"mu must sum to 1 \(rtol=1e-09\); got 0"),
    ([0.5, 0.5], r"mu must have shape \(3,\); got \(2,\)"),
    ([0.5, np.nan, 0.5], r"mu must not contain NaN; got nan at mu\[1\]"),
    ([0.5, np.inf, 0.5], r"mu must be finite; got .*inf.* at mu\[1\]"),
], ids=["negative", "sum-low", "sum-high", "zero", "shape", "nan", "inf"])
def test_bad_mu(kind, P3, mu, pattern):
    with pytest.raises(MDPValidationError, match=pattern):
        mt.MDP(as_kind(P3, kind), np.zeros((S, A)), 0.9, mu=mu)


def test_mu_within_tolerance_is_accepted(kind, P3):
    mt.MDP(as_kind(P3, kind), np.zeros((S, A)), 0.9, mu=[1 / 3, 1 / 3, 1 / 3 + 1e-12])


@pytest.mark.parametrize("gamma, pattern", [
    (1.5, r"gamma must be in \[0, 1\]; got 1\.5"),
    (-0.1, r"gamma must be in \[0, 1\]; got -0\.1"),
    (1 + 1e-12, r"gamma must be in \[0, 1\]; got 1\.000000000001"),
    (float("nan"), r"gamma must be in \[0, 1\]; got nan"),
    (float("inf"), r"gamma must be in \[0, 1\]; got inf"),
])
def test_gamma_outside_the_unit_interval(kind, P3, gamma, pattern):
    with pytest.raises(MDPValidationError, match=pattern):
        mt.MDP(as_kind(P3, kind), np.zeros((S, A)), gamma)


@pytest.mark.parametrize("gamma, type_name", [
    ("0.9", "str"), (None, "NoneType"), (True, "bool"), ([0.9], "list"), (0.9 + 0j, "complex"),
])
def test_gamma_not_a_number(kind, P3, gamma, type_name):
    with pytest.raises(TypeError, match=rf"gamma must be a real number; got {type_name}"):
        mt.MDP(as_kind(P3, kind), np.zeros((S, A)), gamma)


@pytest.mark.parametrize("keyword, value, error, pattern", [
    ("state_names", ["a", "b"], MDPValidationError, r"state_names must have 3 entries; got 2"),
    ("state_names", ["a", "b", "c", "d"], MDPValidationError,
     r"state_names must have 3 entries; got 4"),
    ("action_names", ["x", "y", "z"], MDPValidationError,
     r"action_names must have 2 entries; got 3"),
    ("action_names", [], MDPValidationError, r"action_names must have 2 entries; got 0"),
    ("action_names", "xy", TypeError,
     r"action_names must be a sequence of 2 strings; got a single str"),
    ("state_names", "abc", TypeError,
     r"state_names must be a sequence of 3 strings; got a single str"),
])
def test_names_of_the_wrong_length(kind, P3, keyword, value, error, pattern):
    with pytest.raises(error, match=pattern):
        mt.MDP(as_kind(P3, kind), np.zeros((S, A)), 0.9, **{keyword: value})


def test_names_are_stored_as_tuples_of_str(kind, P3):
    mdp = mt.MDP(as_kind(P3, kind), np.zeros((S, A)), 0.9, state_names=[1, 2, 3],
                 action_names=("l", "r"))
    assert mdp.state_names == ("1", "2", "3") and mdp.action_names == ("l", "r")


# ---------------------------------------------------------------------- validation: policies
@pytest.fixture
def policy_mdp(kind, P3):
    """3 states, 2 actions; action 1 is disallowed in state 2."""
    R = np.zeros((S, A))
    R[2, 1] = -np.inf
    return mt.MDP(as_kind(P3, kind), R, 0.9)


POLICY_ENTRY_POINTS = {
    "evaluate_policy": lambda mdp, pi: mt.evaluate_policy(mdp, pi),
    "evaluate_policy-iterative": lambda mdp, pi: mt.evaluate_policy(mdp, pi, method="iterative"),
    "evaluate_q": lambda mdp, pi: mt.evaluate_q(mdp, pi),
    "occupancy": lambda mdp, pi: mt.occupancy(mdp, pi),
    "expected_return": lambda mdp, pi: mt.expected_return(mdp, pi),
    "bellman_expectation": lambda mdp, pi: mt.bellman_expectation(mdp, np.zeros(S), pi),
}

BAD_POLICIES = [
    (np.array([0, 0]), MDPValidationError,
     r"policy must have shape \(3,\) \(deterministic\) or \(3, 2\) \(stochastic\); got \(2,\)"),
    (np.zeros((S, 3)), MDPValidationError,
     r"policy must have shape \(3,\) \(deterministic\) or \(3, 2\) \(stochastic\); got \(3, 3\)"),
    (np.zeros((S, A, 1)), MDPValidationError,
     r"policy must have shape \(3,\) \(deterministic\) or \(3, 2\) \(stochastic\); "
     r"got \(3, 2, 1\)"),
    (np.array([0.0, 1.0, 0.0]), TypeError,
     r"a deterministic policy must be an integer array of actions; got dtype float64"),
    (np.array([True, False, True]), TypeError,
     r"a deterministic policy must be an integer array of actions; got dtype bool"),
    (np.array([0, 2, 0]), MDPValidationError,
     r"policy actions must be in 0\.\.1; got 2 at policy\[1\]"),
    (np.array([0, 0, -1]), MDPValidationError,
     r"policy actions must be in 0\.\.1; got -1 at policy\[2\]"),
    (np.array([0, 0, 1]), MDPValidationError,
     r"policy must choose allowed actions; got disallowed action 1 at state 2 \(1 states\)"),
    (np.array([[1.0, 0.0], [0.5, 0.4], [1.0, 0.0]]), MDPValidationError,
     r"row policy\[1, :\] sums to 0\.9, expected 1 \(rtol=1e-09\); 1 rows are bad"),
    (np.array([[0.7, 0.7], [0.5, 0.4], [1.0, 0.0]]), MDPValidationError,
     r"row policy\[0, :\] sums to 1\.4, expected 1 \(rtol=1e-09\); 2 rows are bad"),
    (np.array([[1.0, 0.0], [1.5, -0.5], [1.0, 0.0]]), MDPValidationError,
     r"policy probabilities must be >= 0; got -0\.5 at policy\[1, 1\]"),
    (np.array([[1.0, 0.0], [0.5, 0.5], [0.5, 0.5]]), MDPValidationError,
     r"policy must give probability 0 to disallowed actions; got 0\.5 at policy\[2, 1\] "
     r"\(1 such entries\)"),
    (np.array([[1.0, 0.0], [np.nan, 0.5], [1.0, 0.0]]), MDPValidationError,
     r"policy must not contain NaN; got nan at policy\[1, 0\]"),
]
BAD_POLICY_IDS = ["short", "too-many-actions", "3d", "float-1d", "bool-1d", "action-too-large",
                  "negative-action", "disallowed-action", "row-sum-low", "row-sums-worst",
                  "negative-probability", "mass-on-disallowed", "nan"]


@pytest.mark.parametrize("entry", sorted(POLICY_ENTRY_POINTS))
@pytest.mark.parametrize("policy, error, pattern", BAD_POLICIES, ids=BAD_POLICY_IDS)
def test_bad_policies(policy_mdp, entry, policy, error, pattern):
    with pytest.raises(error, match=pattern):
        POLICY_ENTRY_POINTS[entry](policy_mdp, policy)


def test_bad_initial_policy_of_policy_iteration_is_named(policy_mdp):
    with pytest.raises(MDPValidationError, match=r"policy0 actions must be in 0\.\.1; got 5 at "
                                                 r"policy0\[0\]"):
        mt.policy_iteration(policy_mdp, policy0=np.array([5, 0, 0]))
    with pytest.raises(MDPValidationError, match=r"row policy0\[0, :\] sums to 0\.5"):
        mt.policy_iteration(policy_mdp, policy0=np.array([[0.5, 0.0]] * 3))


def test_policies_in_terminal_states_may_use_any_action(kind, P3):
    R = np.zeros((S, A))
    R[2, 1] = -np.inf
    mdp = mt.MDP(as_kind(P3, kind), R, 0.9, terminal=[False, False, True])
    mt.evaluate_policy(mdp, np.array([0, 0, 1]))
    mt.evaluate_policy(mdp, np.array([[1.0, 0.0], [1.0, 0.0], [0.5, 0.5]]))


def test_reference_must_be_a_stochastic_policy(policy_mdp):
    with pytest.raises(MDPValidationError,
                       match=r"reference must be a stochastic policy of shape \(3, 2\); got shape "
                             r"\(3,\)"):
        mt.evaluate_policy(policy_mdp, np.array([0, 0, 0]), beta=1.0, reference=np.array([0, 0, 0]))
    with pytest.raises(MDPValidationError, match=r"row reference\[0, :\] sums to 0\.5, expected 1"):
        mt.evaluate_policy(policy_mdp, np.array([0, 0, 0]), beta=1.0,
                           reference=np.array([[0.25, 0.25], [0.5, 0.5], [1.0, 0.0]]))


# ---------------------------------------------------------------------- validation: solver options
def _tol_calls():
    return {
        "value_iteration": lambda mdp, tol: mt.value_iteration(mdp, tol=tol),
        "modified_policy_iteration": lambda mdp, tol: mt.modified_policy_iteration(mdp, tol=tol),
        "soft_value_iteration": lambda mdp, tol: mt.soft_value_iteration(mdp, 1.0, tol=tol),
        "relative_value_iteration": lambda mdp, tol: mt.relative_value_iteration(mdp, tol=tol),
        "evaluate_policy": lambda mdp, tol: mt.evaluate_policy(mdp, np.zeros(S, int),
                                                               method="iterative", tol=tol),
    }


def _max_iter_calls():
    return {
        "value_iteration": lambda mdp, n: mt.value_iteration(mdp, max_iter=n),
        "modified_policy_iteration": lambda mdp, n: mt.modified_policy_iteration(mdp, max_iter=n),
        "policy_iteration": lambda mdp, n: mt.policy_iteration(mdp, max_iter=n),
        "soft_value_iteration": lambda mdp, n: mt.soft_value_iteration(mdp, 1.0, max_iter=n),
        "relative_value_iteration": lambda mdp, n: mt.relative_value_iteration(mdp, max_iter=n),
        "evaluate_policy": lambda mdp, n: mt.evaluate_policy(mdp, np.zeros(S, int),
                                                             method="iterative", max_iter=n),
    }


@pytest.mark.parametrize("entry", sorted(_tol_calls()))
@pytest.mark.parametrize("tol, error, pattern", [
    (0, ValueError, r"tol must be finite and > 0; got 0"),
    (-1e-3, ValueError, r"tol must be finite and > 0; got -0\.001"),
    (float("nan"), ValueError, r"tol must be finite and > 0; got nan"),
    (float("inf"), ValueError, r"tol must be finite and > 0; got inf"),
    ("1e-8", TypeError, r"tol must be a real number; got str"),
    (None, TypeError, r"tol must be a real number; got NoneType"),
])
def test_bad_tol(policy_mdp, entry, tol, error, pattern):
    with pytest.raises(error, match=pattern):
        _tol_calls()[entry](policy_mdp, tol)


@pytest.mark.parametrize("entry", sorted(_max_iter_calls()))
@pytest.mark.parametrize("max_iter, error, pattern", [
    (0, ValueError, r"max_iter must be finite and > 0; got 0"),
    (-5, ValueError, r"max_iter must be finite and > 0; got -5"),
    (10.0, TypeError, r"max_iter must be an integer; got float"),
    (True, TypeError, r"max_iter must be an integer; got bool"),
    ("10", TypeError, r"max_iter must be an integer; got str"),
])
def test_bad_max_iter(policy_mdp, entry, max_iter, error, pattern):
    with pytest.raises(error, match=pattern):
        _max_iter_calls()[entry](policy_mdp, max_iter)


@pytest.mark.parametrize("call, beta, error, pattern", [
    ("soft", 0.0, ValueError, r"beta must be finite and > 0; got 0\.0"),
    ("soft", -1.0, ValueError, r"beta must be finite and > 0; got -1\.0"),
    ("soft", float("inf"), ValueError, r"beta must be finite and > 0; got inf"),
    ("soft", None, TypeError, r"beta must be a real number; got NoneType"),
    ("softmax", 0, ValueError, r"beta must be finite and > 0; got 0"),
    ("soft_bellman", -2.0, ValueError, r"beta must be finite and > 0; got -2\.0"),
    ("evaluate", -1, ValueError, r"beta must be finite and >= 0; got -1"),
    ("evaluate", float("nan"), ValueError, r"beta must be finite and >= 0; got nan"),
    ("evaluate", "1", TypeError, r"beta must be a real number; got str"),
])
def test_bad_beta(policy_mdp, call, beta, error, pattern):
    calls = {
        "soft": lambda: mt.soft_value_iteration(policy_mdp, beta),
        "softmax": lambda: mt.softmax_policy(np.zeros((S, A)), beta),
        "soft_bellman": lambda: mt.soft_bellman_optimality(policy_mdp, np.zeros(S), beta),
        "evaluate": lambda: mt.evaluate_policy(policy_mdp, np.zeros(S, int), beta=beta),
    }
    with pytest.raises(error, match=pattern):
        calls[call]()


@pytest.mark.parametrize("call, error, pattern", [
    (lambda m: mt.evaluate_policy(m, np.zeros(S, int), method="exact"), ValueError,
     r"method must be 'direct' or 'iterative'; got 'exact'"),
    (lambda m: mt.modified_policy_iteration(m, m=-1), ValueError,
     r"m must be finite and >= 0; got -1"),
    (lambda m: mt.modified_policy_iteration(m, m=2.5), TypeError,
     r"m must be an integer; got float"),
    (lambda m: mt.backward_induction(m, 0), ValueError, r"horizon must be finite and > 0; got 0"),
    (lambda m: mt.backward_induction(m, 2.0), TypeError, r"horizon must be an integer; got float"),
    (lambda m: mt.backward_induction(m, 2, terminal_values=np.zeros(2)), MDPValidationError,
     r"terminal_values must have shape \(3,\); got \(2,\)"),
    (lambda m: mt.relative_value_iteration(m, tau=1.5), ValueError,
     r"tau must be in \(0, 1\]; got 1\.5"),
    (lambda m: mt.relative_value_iteration(m, tau=0.0), ValueError,
     r"tau must be finite and > 0; got 0\.0"),
    (lambda m: mt.policy_iteration(m, tie_tol=-1.0), ValueError,
     r"tie_tol must be finite and >= 0; got -1\.0"),
    (lambda m: mt.value_iteration(m, V0=np.zeros(2)), MDPValidationError,
     r"V0 must have shape \(3,\); got \(2,\)"),
    (lambda m: mt.value_iteration(m, V0=[0.0, np.nan, 0.0]), MDPValidationError,
     r"V0 must not contain NaN; got nan at V0\[1\]"),
    (lambda m: mt.q_values(m, np.zeros(4)), MDPValidationError,
     r"V must have shape \(3,\); got \(4,\)"),
    (lambda m: mt.bellman_optimality(m, [0.0, np.inf, 0.0]), MDPValidationError,
     r"V must be finite; got .*inf.* at V\[1\]"),
    (lambda m: mt.greedy_policy(m, np.zeros((S, 3))), MDPValidationError,
     r"V_or_Q must have shape \(3,\) or \(3, 2\); got \(3, 3\)"),
    (lambda m: mt.optimal_actions(m, np.zeros(S), atol=-1.0), ValueError,
     r"atol must be finite and >= 0; got -1\.0"),
    (lambda m: mt.softmax_policy(np.full((S, A), -np.inf), 1.0), MDPValidationError,
     r"Q must have a finite entry in every row; got none at Q\[0, :\]"),
    (lambda m: mt.solve(m, method="simplex"), ValueError,
     r"method must be one of 'backward_induction', 'linear_programming', "
     r"'modified_policy_iteration', 'policy_iteration', 'relative_value_iteration', "
     r"'soft_value_iteration', 'value_iteration'; got 'simplex'"),
], ids=["eval-method", "mpi-m-negative", "mpi-m-float", "horizon-zero", "horizon-float",
        "terminal-values-shape", "tau-large", "tau-zero", "tie-tol", "V0-shape", "V0-nan",
        "V-shape", "V-inf", "V_or_Q-shape", "atol", "softmax-row", "solve-name"])
def test_other_bad_options(policy_mdp, call, error, pattern):
    with pytest.raises(error, match=pattern):
        call(policy_mdp)


def test_validation_errors_are_value_errors():
    assert issubclass(mt.MDPValidationError, ValueError)
    assert issubclass(mt.ImproperPolicyError, ValueError)
    assert issubclass(mt.ConvergenceWarning, Warning)


def test_public_names_are_exported():
    assert dataclasses.is_dataclass(mt.SolverResult) and mt.SolverResult.__dataclass_params__.frozen
    assert set(mt.__all__) >= {"MDP", "MDPValidationError", "ImproperPolicyError",
                               "ConvergenceWarning", "value_iteration", "policy_iteration",
                               "solve", "SolverResult"}


def test_import_stays_light():
    # STYLE.md: matplotlib and hypothesis are imported inside the functions that need them;
    # so is Numba (the prefix-tree gradient's compiled loops, on large MDPs only)
    code = ("import mdptoolkit, sys; "
            "print(*(m in sys.modules for m in ('matplotlib', 'hypothesis', 'numba')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False", "False"], out.stdout + out.stderr
