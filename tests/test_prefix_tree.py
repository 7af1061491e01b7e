"""The prefix-tree fast path of exact_gradient (mdptoolkit.gradient._prefix_tree).

The reference is the general path on the *same* MDP with its states stored in another order:
a permutation breaks the breadth-first layout, so that MDP goes through the height-layer
evaluation and the explicit occupancy, code the fast path does not share.

Every test runs three times, once per implementation of the fast path: its NumPy passes, the
loops of mdptoolkit.gradient._fused compiled by Numba (skipped where Numba is not installed), and
the same loops run as plain Python (so their logic is tested without Numba too).
"""

import numpy as np
import pytest
import scipy.sparse as sp

import mdptoolkit as mt
from mdptoolkit import language
from mdptoolkit.gradient import _fused
from mdptoolkit.gradient._prefix_tree import tree_of
from mdptoolkit.envs import random_mdp


@pytest.fixture(autouse=True, params=["numpy", "compiled", "python loops"])
def implementation(request, monkeypatch):
    """Which implementation the prefix tree uses, whatever the size of the MDP."""
    if request.param == "numpy":
        monkeypatch.setattr(_fused, "MIN_ENTRIES", np.inf)
        return request.param
    monkeypatch.setattr(_fused, "MIN_ENTRIES", 0)
    if request.param == "python loops":
        monkeypatch.setattr(_fused, "compiled", lambda: _fused.PYTHON)
    elif _fused.compiled() is None:
        pytest.skip("Numba is not installed")
    return request.param


def permuted(mdp, perm):
    """The same MDP with new state i = old state perm[i]."""
    S, A = mdp.n_states, mdp.n_actions
    inv = np.empty(S, dtype=np.intp)
    inv[perm] = np.arange(S)
    coo = sp.coo_array(mdp.P)  # state-major rows s*A + a
    s, a = np.divmod(coo.row, A)
    P = sp.csr_array((coo.data, (inv[s] * A + a, inv[coo.col])), shape=(S * A, S))
    return mt.MDP(P, mdp.R[perm], mdp.gamma, mu=mdp.mu[perm], terminal=mdp.terminal[perm],
                  allowed=mdp.allowed[perm])


@pytest.fixture(scope="module")
def lm():
    ids, lengths = language.sequence_ids(3, 4)
    rewards = np.sin(np.arange(ids.shape[0])) - 0.1 * lengths  # no structure to exploit
    return language.LanguageMDP(["a", "b", "c"], 4, rewards)


@pytest.fixture(scope="module")
def pair(lm):
    """(the language MDP, the same MDP with states shuffled, the permutation)."""
    perm = np.random.default_rng(0).permutation(lm.mdp.n_states)
    return lm.mdp, permuted(lm.mdp, perm), perm


def test_the_layout_is_recognized_only_where_it_holds(lm, pair):
    mdp, shuffled, _ = pair
    assert tree_of(mdp) is not None and tree_of(language.toy().mdp) is not None
    assert tree_of(shuffled) is None
    assert tree_of(random_mdp(20, 3, sparse=True, seed=0).mdp) is None
    assert tree_of(mdp.replace(gamma=0.9)) is not None
    # a stochastic transition breaks it: one token leads to two children
    P = sp.lil_array(mdp.P)
    P[0, 1] = 0.5
    P[0, 2] = 0.5
    sparse = mt.MDP(sp.csr_array(P), mdp.R, mdp.gamma, mu=mdp.mu, terminal=mdp.terminal)
    assert tree_of(sparse) is None


@pytest.mark.parametrize("gamma", [1.0, 0.9])
@pytest.mark.parametrize("beta", [0.0, 0.4])
@pytest.mark.parametrize("scale", [1.0, 40.0])
def test_tabular_fast_path_equals_the_general_path(pair, gamma, beta, scale):
    mdp, shuffled, perm = pair
    mdp, shuffled = mdp.replace(gamma=gamma), shuffled.replace(gamma=gamma)
    S, A = mdp.n_states, mdp.n_actions
    rng = np.random.default_rng(1)
    theta = scale * rng.normal(size=(S, A))
    ref = rng.dirichlet(np.ones(A), size=S)
    J, grad = mt.exact_gradient(mdp, None, theta, beta=beta, reference=ref)
    J2, grad2 = mt.exact_gradient(shuffled, None, theta[perm], beta=beta, reference=ref[perm])
    assert J == pytest.approx(J2, rel=1e-12, abs=1e-12)
    np.testing.assert_allclose(grad[perm], grad2, rtol=1e-9, atol=1e-13)


def test_masked_actions_and_loglinear_features_take_the_fast_path_too(lm, pair):
    mdp, shuffled, perm = pair
    S, A = mdp.n_states, mdp.n_actions
    rng = np.random.default_rng(2)
    mask = np.ones((S, A), bool)
    mask[rng.random(S) < 0.3, 1] = False  # action 1 forbidden in some states
    theta = rng.normal(size=(S, A))
    for beta in (0.0, 0.5):
        J, grad = mt.exact_gradient(mdp, mt.TabularSoftmax(S, A, allowed=mask), theta, beta=beta)
        J2, grad2 = mt.exact_gradient(shuffled, mt.TabularSoftmax(S, A, allowed=mask[perm]),
                                      theta[perm], beta=beta)
        assert J == pytest.approx(J2, abs=1e-12)
        np.testing.assert_allclose(grad[perm], grad2, rtol=1e-9, atol=1e-13)
        assert (grad[~mask] == 0).all()
    phi = language.bigram_features(lm, sparse=True)
    w = rng.normal(size=phi.shape[1])
    J, grad = mt.exact_gradient(mdp, mt.LogLinear(phi, n_actions=A), w, beta=0.3)
    phi_shuffled = sp.csr_array(phi[(perm[:, None] * A + np.arange(A)).ravel()])
    J2, grad2 = mt.exact_gradient(shuffled, mt.LogLinear(phi_shuffled, n_actions=A), w, beta=0.3)
    assert J == pytest.approx(J2, abs=1e-12)
    np.testing.assert_allclose(grad, grad2, rtol=1e-9, atol=1e-13)


@pytest.mark.parametrize("where", ["shifted", "too wide"])
def test_logits_far_from_zero_are_exact_either_by_a_shift_or_by_the_general_path(pair, where):
    # "shifted": all logits near 700 (exp would overflow unshifted); "too wide": a span over
    # 600 in one piece, which the fast path hands to the general one
    mdp, shuffled, perm = pair
    rng = np.random.default_rng(3)
    theta = rng.normal(size=(mdp.n_states, mdp.n_actions))
    theta += 700.0 if where == "shifted" else np.where(rng.random(theta.shape) < 0.5, -400, 400)
    J, grad = mt.exact_gradient(mdp, None, theta)
    J2, grad2 = mt.exact_gradient(shuffled, None, theta[perm])
    assert np.isfinite(J) and np.isfinite(grad).all()
    assert J == pytest.approx(J2, abs=1e-12)
    np.testing.assert_allclose(grad[perm], grad2, rtol=1e-9, atol=1e-13)


def test_fast_path_gradient_equals_finite_differences(lm):
    mdp = lm.mdp
    rng = np.random.default_rng(4)
    theta = rng.normal(size=(mdp.n_states, mdp.n_actions))
    param = mt.TabularSoftmax(mdp.n_states, mdp.n_actions)
    _, grad = mt.exact_gradient(mdp, param, theta)
    for s, a in zip(rng.integers(0, 13, 8), rng.integers(0, 4, 8)):  # states near the root
        e = np.zeros_like(theta)
        e[s, a] = 1e-6
        fd = (mt.expected_return(mdp, param.policy(theta + e))
              - mt.expected_return(mdp, param.policy(theta - e))) / 2e-6
        assert grad[s, a] == pytest.approx(fd, abs=1e-8)


@pytest.mark.parametrize("bad, message", [
    (np.nan, r"theta must not contain NaN; got nan at theta\[2, 1\]"),
    (np.inf, r"theta must be finite; got inf at theta\[2, 1\]"),
    (-np.inf, r"theta must be finite; got -inf at theta\[2, 1\]"),
])
def test_bad_logits_get_the_general_paths_errors(lm, bad, message):
    theta = np.zeros((lm.mdp.n_states, lm.mdp.n_actions))
    theta[2, 1] = bad
    with pytest.raises(mt.MDPValidationError, match=message):
        mt.exact_gradient(lm.mdp, None, theta)
    with pytest.raises(mt.MDPValidationError,
                       match=r"theta must have shape \(\d+, 4\); got \(3,\)"):
        mt.exact_gradient(lm.mdp, None, np.zeros(3))


def test_replace_shares_the_layout_but_not_gamma_or_mu(pair):
    # MDP.replace(gamma=..., mu=...) copies the cached layout; the gradient must read gamma and
    # mu from the MDP it is given, not from the one the layout was found on
    mdp, shuffled, perm = pair
    assert tree_of(mdp) is not None  # found (and cached) at gamma = 1 with mu on the root
    mu = np.random.default_rng(5).dirichlet(np.ones(mdp.n_states))
    other = mdp.replace(gamma=0.8, mu=mu)
    assert tree_of(other) is tree_of(mdp)
    theta = np.random.default_rng(6).normal(size=(mdp.n_states, mdp.n_actions))
    J, grad = mt.exact_gradient(other, None, theta)
    J2, grad2 = mt.exact_gradient(shuffled.replace(gamma=0.8, mu=mu[perm]), None, theta[perm])
    assert J == pytest.approx(J2, abs=1e-12)
    np.testing.assert_allclose(grad[perm], grad2, rtol=1e-9, atol=1e-13)


def test_each_implementation_computes_the_gradient_itself(lm, implementation, monkeypatch):
    # the comparisons above would pass if the fast path gave up (the general path answers then)
    mdp = lm.mdp
    theta = np.random.default_rng(7).normal(size=(mdp.n_states, mdp.n_actions))
    calls = []
    loops = _fused.compiled()
    monkeypatch.setattr(_fused, "compiled", lambda: calls.append(1) or loops)
    for beta in (0.0, 0.5):
        out = tree_of(mdp).gradient(mdp, theta, beta=beta, logref=np.log(lm.reference_policy))
        assert out is not None
        assert len(calls) == (0 if implementation == "numpy" else 1)
        calls.clear()
        J, W = out
        J2, grad2 = mt.exact_gradient(mdp, None, theta, beta=beta, reference=lm.reference_policy)
        assert J == pytest.approx(J2, abs=1e-12)
        np.testing.assert_allclose(W, grad2, rtol=1e-9, atol=1e-13)
        calls.clear()

