"""The language MDP: layout, rewards, exact sequence distributions, sampling, reference models,
and the closed form of the KL-regularized optimum, p*(y) = pi_ref(y) exp(r(y)/beta) / Z
(Korbak, Perez & Buckley 2022; Rafailov et al. 2023, eq. 4).

Slow, obviously-correct versions (dict walks over itertools.product) cross-check the
arithmetic, vectorized ones.
"""

import itertools
import math
import time

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal

import mdptoolkit as mt
from mdptoolkit.language import (DEFAULT_MAX_STATES, LanguageMDP, bigram_features,
                                 bigram_reference, sequence_ids, toy)

VOCAB = ("a", "b", "c")
EOS = "<eos>"
ACTIONS = VOCAB + (EOS,)


def all_sequences(vocab, max_len):
    """Every complete sequence, shortest first."""
    return [y for n in range(max_len + 1) for y in itertools.product(vocab, repeat=n)]


def all_prefixes(vocab, max_len):
    return [y for y in all_sequences(vocab, max_len) if len(y) < max_len]


def random_model(vocab, max_len, seed):
    """Dicts: reward by sequence and reference distribution by prefix (ordered like ACTIONS)."""
    rng = np.random.default_rng(seed)
    rewards = {y: float(rng.normal()) for y in all_sequences(vocab, max_len)}
    ref = {p: rng.dirichlet(np.ones(len(vocab) + 1)) for p in all_prefixes(vocab, max_len)}
    return rewards, ref


def path_probability(prefix_probs, y, max_len, actions):
    """Probability of the complete sequence y under {prefix: probabilities}: a slow dict walk."""
    p = 1.0
    for t, token in enumerate(y):
        p *= prefix_probs[y[:t]][actions.index(token)]
    if len(y) < max_len:
        p *= prefix_probs[y][actions.index(EOS)]
    return p


@pytest.fixture(scope="module")
def small():
    rewards, ref = random_model(VOCAB, 4, seed=0)
    return LanguageMDP(VOCAB, 4, rewards.__getitem__, reference=ref.__getitem__), rewards, ref


def random_policy(lm, seed):
    rng = np.random.default_rng(seed)
    return rng.dirichlet(np.ones(lm.mdp.n_actions), size=lm.mdp.n_states)


# ---------------------------------------------------------------------- layout
def test_state_indexing_round_trip(small):
    lm, _, _ = small
    prefixes = all_prefixes(VOCAB, 4)
    assert len(lm.prefixes) == len(prefixes) == lm.mdp.n_states - 1 == lm.terminal_state
    assert list(lm.prefixes) == [lm.prefixes[s] for s in range(len(lm.prefixes))]
    assert set(lm.prefixes) == set(prefixes)
    for s, prefix in enumerate(lm.prefixes):
        assert lm.state_of(prefix) == s
        assert lm.state_of(" ".join(prefix)) == s
    assert lm.prefixes[-1] == ("c", "c", "c") and lm.prefixes[1:3] == [("a",), ("b",)]
    # children of a prefix are contiguous: index(p + (t,)) = V * index(p) + 1 + t
    s = lm.state_of(("b", "a"))
    assert [lm.state_of(("b", "a", t)) for t in VOCAB] == [3 * s + 1, 3 * s + 2, 3 * s + 3]


def test_sequences_and_sequence_ids(small):
    lm, rewards, _ = small
    assert set(lm.sequences) == set(rewards) and len(lm.sequences) == len(rewards)
    ids, lengths = sequence_ids(len(VOCAB), 4)
    for j, y in enumerate(lm.sequences):
        assert lm.sequence_index(y) == j
        assert tuple(VOCAB[i] for i in ids[j, :lengths[j]]) == y
        assert (ids[j, lengths[j]:] == -1).all()
        assert lm.rewards[j] == rewards[y] == lm.reward_of(y)


@pytest.mark.parametrize("prefix, match", [
    (("a", "x"), r"prefix tokens must be in vocab; got 'x' at position 1"),
    (("a", EOS), r"prefix must not contain eos='<eos>' .*; got it at position 1"),
    (("a",) * 4, r"prefix length must be at most max_len - 1 = 3; got 4"),
])
def test_state_of_rejects_bad_prefixes(small, prefix, match):
    lm, _, _ = small
    with pytest.raises(ValueError, match=match):
        lm.state_of(prefix)


def test_bad_indices(small):
    lm, _, _ = small
    with pytest.raises(IndexError, match="index must be in 0..39; got 40"):
        lm.prefixes[40]
    with pytest.raises(ValueError, match="sequence length must be at most max_len = 4; got 5"):
        lm.sequence_index("a a a a a")
    with pytest.raises(TypeError, match="prefix must be a tuple of tokens .*; got int"):
        lm.state_of(3)


def test_transitions_are_a_valid_mdp_matching_a_dict_walk(small):
    lm, _, _ = small
    mdp = lm.mdp
    S, A = mdp.n_states, mdp.n_actions
    assert mdp.is_sparse and mdp.gamma == 1.0 and A == len(ACTIONS)
    assert_array_equal(mdp.terminal, np.arange(S) == S - 1)
    assert_array_equal(mdp.mu, np.eye(S)[0])
    P = mdp.P.toarray().reshape(S, A, S)
    index = {p: s for s, p in enumerate(all_prefixes(VOCAB, 4))}  # the slow version
    index = {p: lm.state_of(p) for p in index}
    for prefix, s in index.items():
        for a, token in enumerate(ACTIONS):
            nxt = prefix + (token,)
            expected = S - 1 if token == EOS or len(nxt) == 4 else index[nxt]
            assert P[s, a, expected] == 1.0
    assert_array_equal(P[S - 1, :, S - 1], 1.0)
    # the MDP constructor re-validates the same matrix
    mt.MDP(mdp.P, mdp.R, 1.0, terminal=mdp.terminal, mu=mdp.mu)


def test_state_and_action_names():
    lm = LanguageMDP(["the", "cat"], 3, lambda y: 0.0)
    assert lm.mdp.action_names == ("the", "cat", "<eos>")
    assert lm.mdp.state_names[:4] == ("<bos>", "the", "cat", "the the")
    assert lm.mdp.state_names[lm.state_of("cat the")] == "cat the"
    assert lm.mdp.state_names[-1] == "<end>"


# ---------------------------------------------------------------------- rewards
def test_rewards_on_completion_only_plus_token_rewards_on_every_step():
    rewards, _ = random_model(VOCAB, 3, seed=1)

    def token_reward(prefix, token):
        return 0.1 * len(prefix) + 0.01 * ACTIONS.index(token)

    lm = LanguageMDP(VOCAB, 3, rewards.__getitem__, token_reward=token_reward)
    R = lm.mdp.R
    for prefix in all_prefixes(VOCAB, 3):
        s = lm.state_of(prefix)
        for a, token in enumerate(ACTIONS):
            y = prefix if token == EOS else prefix + (token,)
            complete = token == EOS or len(y) == 3
            assert R[s, a] == pytest.approx(token_reward(prefix, token)
                                            + (rewards[y] if complete else 0.0), abs=1e-15)
    assert_array_equal(R[-1], 0.0)
    # the array form of token_reward gives the same MDP
    lm2 = LanguageMDP(VOCAB, 3, lm.rewards, token_reward=lm.mdp.R - LanguageMDP(
        VOCAB, 3, lm.rewards).mdp.R)
    assert_allclose(lm2.mdp.R, R, atol=1e-15)


def test_reward_callable_called_once_per_sequence():
    calls = []
    lm = LanguageMDP(VOCAB, 3, lambda y: calls.append(y) or 0.0)
    assert calls == list(lm.sequences) and len(set(calls)) == len(calls) == 40


def test_reward_array_matches_callable():
    rewards, _ = random_model(VOCAB, 3, seed=2)
    by_call = LanguageMDP(VOCAB, 3, rewards.__getitem__)
    by_array = LanguageMDP(VOCAB, 3, np.array([rewards[y] for y in by_call.sequences]))
    assert_array_equal(by_array.mdp.R, by_call.mdp.R)


@pytest.mark.parametrize("reward, error, match", [
    (np.zeros(5), ValueError, r"reward must have shape \(40,\) .*; got \(5,\)"),
    (lambda y: "good", TypeError, r"reward must return a real number; got str for sequence \(\)"),
    (lambda y: [1.0, 2.0], TypeError, r"reward must return a real number; got list for sequence"),
    (lambda y: np.inf if y == ("b",) else 0.0, ValueError,
     r"reward must be finite; got inf for sequence \('b',\) \(index 2\)"),
    (3.0, TypeError, r"reward must be a callable on token tuples or an array .*; got float"),
])
def test_bad_rewards(reward, error, match):
    with pytest.raises(error, match=match):
        LanguageMDP(VOCAB, 3, reward)


@pytest.mark.parametrize("token_reward, error, match", [
    (lambda p, t: None, TypeError,
     r"token_reward must return a real number; got NoneType for token 'a' after prefix \(\)"),
    (lambda p, t: -np.inf if t == EOS and p == ("c",) else 0.0, ValueError,
     r"token_reward must be finite; got -inf for token '<eos>' after prefix \('c',\) "
     r"\(index 3\)"),
    (np.zeros((3, 4)), mt.MDPValidationError,
     r"token_reward must have shape \(5, 4\); got \(3, 4\)"),
])
def test_bad_token_rewards(token_reward, error, match):
    with pytest.raises(error, match=match):
        LanguageMDP(VOCAB, 2, lambda y: 0.0, token_reward=token_reward)


@pytest.mark.parametrize("vocab, max_len, error, match", [
    ("abc", 2, TypeError, "vocab must be a sequence of tokens .*; got str"),
    ([], 2, ValueError, "vocab must contain at least one token; got an empty sequence"),
    (["a", "b", "a"], 2, ValueError, "vocab tokens must be distinct; got 'a' at positions 0 and 2"),
    (["a", EOS], 2, ValueError, "vocab must not contain eos='<eos>'; got it at position 1"),
    (["a"], 0, ValueError, "max_len must be finite and > 0; got 0"),
    (["a"], 2.5, TypeError, "max_len must be an integer; got float"),
])
def test_bad_vocab_and_length(vocab, max_len, error, match):
    with pytest.raises(error, match=match):
        LanguageMDP(vocab, max_len, lambda y: 0.0)


# ---------------------------------------------------------------------- the state limit
def test_state_limit_refused_before_any_allocation():
    start = time.perf_counter()
    with pytest.raises(ValueError, match=r"number of states must be at most "
                                         r"max_states=2,000,000; got 1,992,984,693,877,552 "
                                         r"\(about 2e\+15\) for vocab size 50 and max_len 10"):
        LanguageMDP([f"w{i}" for i in range(50)], 10, lambda y: 0.0)
    assert time.perf_counter() - start < 0.5
    assert DEFAULT_MAX_STATES == 2_000_000


def test_state_limit_messages():
    with pytest.raises(ValueError, match=r"max_states=100; got 122 for vocab size 3 and max_len 5"):
        LanguageMDP(VOCAB, 5, lambda y: 0.0, max_states=100)
    with pytest.raises(ValueError, match=r"got about 10\^477121 for vocab size 3"):
        LanguageMDP(VOCAB, 10 ** 6, lambda y: 0.0)
    with pytest.raises(ValueError, match=r"max_states=5; got 8 for vocab size 2 and max_len 3"):
        sequence_ids(2, 3, max_states=5)
    assert LanguageMDP(VOCAB, 4, lambda y: 0.0, max_states=41).mdp.n_states == 41


# ---------------------------------------------------------------------- distributions
def test_sequence_probabilities_are_exact_path_products(small):
    lm, _, _ = small
    pi = random_policy(lm, seed=3)
    probs = lm.sequence_probabilities(pi)
    by_prefix = {p: pi[lm.state_of(p)] for p in all_prefixes(VOCAB, 4)}
    assert set(probs) == set(all_sequences(VOCAB, 4))
    for y, p in probs.items():
        assert p == pytest.approx(path_probability(by_prefix, y, 4, ACTIONS), rel=1e-12)
    assert math.fsum(probs.values()) == pytest.approx(1.0, abs=1e-12)
    assert_allclose(lm.sequence_probability_array(pi), [probs[y] for y in lm.sequences])


def test_deterministic_policy_puts_mass_on_one_sequence(small):
    lm, _, _ = small
    policy = np.full(lm.mdp.n_states, 3)  # eos at once ...
    policy[lm.state_of(())] = 1
    policy[lm.state_of("b")] = 0  # ... except: b, a, then eos
    assert lm.top_sequences(policy, 5) == [(("b", "a"), 1.0)]
    assert lm.sample(policy, 3, seed=0) == [("b", "a")] * 3
    policy[lm.state_of("b a")] = 2
    policy[lm.state_of("b a c")] = 2
    assert lm.top_sequences(policy, 1) == [(("b", "a", "c", "c"), 1.0)]  # max_len completes


def test_top_sequences_order(small):
    lm, _, _ = small
    pi = random_policy(lm, seed=4)
    probs = lm.sequence_probabilities(pi)
    top = lm.top_sequences(pi, 7)
    assert len(top) == 7
    assert [p for _, p in top] == sorted(probs.values(), reverse=True)[:7]
    assert all(probs[y] == p for y, p in top)
    everything = lm.top_sequences(pi, 10_000)
    assert len(everything) == len(probs)
    with pytest.raises(ValueError, match="k must be finite and > 0; got 0"):
        lm.top_sequences(pi, 0)


def test_sample_frequencies_match_probabilities(small):
    lm, _, _ = small
    pi = random_policy(lm, seed=5)
    pi[lm.state_of("a"), :] = [0.0, 0.5, 0.0, 0.5]  # zero-probability actions are never drawn
    n = 40_000
    samples = lm.sample(pi, n, seed=123)
    probs = lm.sequence_probabilities(pi)
    counts = {}
    for y in samples:
        counts[y] = counts.get(y, 0) + 1
    assert set(counts) <= {y for y, p in probs.items() if p > 0}
    for y, p in probs.items():
        freq = counts.get(y, 0) / n
        assert abs(freq - p) <= 5 * math.sqrt(p * (1 - p) / n) + 1e-12, y


def test_sample_is_reproducible(small):
    lm, _, _ = small
    pi = random_policy(lm, seed=6)
    first = lm.sample(pi, 500, seed=7)
    assert lm.sample(pi, 500, seed=7) == first
    assert lm.sample(pi, 500, seed=np.random.default_rng(7)) == first
    assert lm.sample(pi, 500, seed=8) != first
    assert lm.sample(pi, 0, seed=7) == []
    with pytest.raises(TypeError, match="seed must be an int, a numpy Generator or None; got str"):
        lm.sample(pi, 5, seed="x")


def test_bad_policy(small):
    lm, _, _ = small
    with pytest.raises(mt.MDPValidationError, match=r"policy must have shape \(41,\)"):
        lm.sequence_probabilities(np.zeros(5, dtype=int))


# ---------------------------------------------------------------------- reference models
def test_reference_forms_agree():
    rng = np.random.default_rng(9)
    table = rng.dirichlet(np.ones(4), size=4)  # rows: after a, b, c, <bos>
    from_table = LanguageMDP(VOCAB, 3, lambda y: 0.0, reference=table)

    def bigram(prefix):
        return table[VOCAB.index(prefix[-1]) if prefix else 3]

    from_callable = LanguageMDP(VOCAB, 3, lambda y: 0.0, reference=bigram)
    per_state = from_table.reference_policy.copy()
    per_state[-1] = 0.0  # the terminal row is ignored
    from_array = LanguageMDP(VOCAB, 3, lambda y: 0.0, reference=per_state)
    for lm in (from_table, from_callable, from_array):
        assert_array_equal(lm.reference_policy, from_table.reference_policy)
        assert_allclose(lm.reference_policy[-1], 0.25)
    for prefix in all_prefixes(VOCAB, 3):
        assert_array_equal(from_table.reference_policy[from_table.state_of(prefix)], bigram(prefix))
    uniform = LanguageMDP(VOCAB, 3, lambda y: 0.0)
    assert_array_equal(uniform.reference_policy, 0.25)
    assert not uniform.reference_policy.flags.writeable


@pytest.mark.parametrize("reference, match", [
    (np.full((4, 4), 0.3), r"reference rows must sum to 1 \(rtol=1e-09\); got 1.2 for bigram "
                           r"row 0 \(after 'a'\) \(4 bad rows\)"),
    (lambda p: [0.5, 0.5, 0.5, -0.5], r"reference probabilities must be finite and >= 0; got "
                                      r"-0.5 in column 3 of prefix \(\) \(index 0\)"),
    (lambda p: [1.0], r"reference\(prefix\) must return 4 probabilities .*; got shape \(1,\)"),
    (np.full((3, 4), 0.25), r"reference must have shape \(14, 4\) \(per state\) or \(4, 4\) "
                            r"\(bigram table\); got \(3, 4\)"),
])
def test_bad_references(reference, match):
    with pytest.raises(ValueError, match=match):
        LanguageMDP(VOCAB, 3, lambda y: 0.0, reference=reference)


def test_bigram_reference_counts():
    corpus = ["a b a", "b c", ["a", "c"], "a"]
    table = bigram_reference(corpus, VOCAB, smoothing=0.5)
    counts = np.zeros((4, 4))  # rows a, b, c, <bos>; columns a, b, c, eos
    for sentence in (s.split() if isinstance(s, str) else s for s in corpus):
        ids = [3] + [VOCAB.index(t) for t in sentence] + [3]
        for i, j in zip(ids[:-1], ids[1:]):
            counts[i, j] += 1
    assert_allclose(table.sum(axis=1), 1.0, rtol=1e-15)
    assert_allclose(table * (counts.sum(axis=1, keepdims=True) + 0.5 * 4) - 0.5, counts,
                    atol=1e-12)
    # the default vocab is the order of first appearance: a, b, c
    assert_array_equal(bigram_reference(corpus, smoothing=0.5), table)
    assert_allclose(bigram_reference(["b"], smoothing=0.0), [[0.0, 1.0], [1.0, 0.0]])


@pytest.mark.parametrize("corpus, kwargs, error, match", [
    ("a b", {}, TypeError, "corpus must be a sequence of sentences .*; got str"),
    (["a x"], {"vocab": VOCAB}, ValueError,
     "corpus tokens must be in vocab; got 'x' in sentence 0"),
    (["a", "a <eos>"], {}, ValueError,
     "corpus must not contain eos .*; got '<eos>' in sentence 1"),
    (["a"], {"vocab": VOCAB, "smoothing": 0.0}, ValueError,
     "smoothing must be > 0 when a context never occurs .*; "
     "got smoothing=0 and no token after 'b'"),
    (["a"], {"smoothing": -1.0}, ValueError, "smoothing must be finite and >= 0; got -1.0"),
])
def test_bad_corpus(corpus, kwargs, error, match):
    with pytest.raises(error, match=match):
        bigram_reference(corpus, **kwargs)


# ---------------------------------------------------------------------- the closed form
@pytest.fixture(scope="module")
def tilted():
    rewards, ref = random_model(VOCAB, 4, seed=10)

    def token_reward(prefix, token):
        return 0.3 * math.sin(len(prefix) + 2 * ACTIONS.index(token))

    lm = LanguageMDP(VOCAB, 4, rewards.__getitem__, reference=ref.__getitem__,
                     token_reward=token_reward)
    # total reward along y: token rewards of every step (eos included when |y| < 4) plus r(y)
    total = {}
    for y in rewards:
        steps = [(y[:t], y[t]) for t in range(len(y))] + ([(y, EOS)] if len(y) < 4 else [])
        total[y] = rewards[y] + sum(token_reward(p, a) for p, a in steps)
    return lm, total, ref


@pytest.mark.parametrize("beta", [0.05, 0.3, 1.0, 5.0])
def test_soft_optimum_is_the_tilted_reference(tilted, beta):
    """p*(y) = pi_ref(y) exp(r(y)/beta) / Z and V*(empty prefix) = beta log Z, with Z by brute
    force over the 121 complete sequences."""
    lm, total, ref = tilted
    weights = {y: path_probability(ref, y, 4, ACTIONS) * math.exp(r / beta)
               for y, r in total.items()}
    Z = math.fsum(weights.values())
    result = mt.soft_value_iteration(lm.mdp, beta, reference=lm.reference_policy)
    p_star = lm.sequence_probabilities(result.policy)
    for y, w in weights.items():
        assert abs(p_star[y] - w / Z) <= 1e-9, y
    assert result.V[0] == pytest.approx(beta * math.log(Z), abs=1e-9)
    # the optimum's own regularized value agrees
    J = mt.expected_return(lm.mdp, result.policy, beta=beta, reference=lm.reference_policy)
    assert J == pytest.approx(beta * math.log(Z), abs=1e-9)


def test_soft_optimum_is_not_a_bigram_policy():
    """Why bigram_features gives a restricted class: the regularized optimum of the toy acts
    differently in states that share their last token."""
    lm = toy()
    pi = mt.soft_value_iteration(lm.mdp, 0.3, reference=lm.reference_policy).policy
    a, b = lm.state_of("the"), lm.state_of("sat on the")
    assert np.abs(pi[a] - pi[b]).max() > 0.05


# ---------------------------------------------------------------------- features
def test_bigram_features():
    lm = LanguageMDP(VOCAB, 3, lambda y: 0.0)
    S, A = lm.mdp.n_states, lm.mdp.n_actions
    F = bigram_features(lm)
    Fs = bigram_features(lm, sparse=True)
    assert F.shape == (S, A, 4 * A) and sp.issparse(Fs) and Fs.shape == (S * A, 4 * A)
    assert_array_equal(Fs.toarray(), F.reshape(S * A, -1))
    for s, prefix in enumerate(lm.prefixes):
        context = VOCAB.index(prefix[-1]) if prefix else 3
        assert_array_equal(F[s], np.eye(4 * A)[context * A: context * A + A])
    assert_array_equal(F[-1], 0.0)
    with pytest.raises(TypeError, match="lm must be a LanguageMDP; got MDP"):
        bigram_features(lm.mdp)


# ---------------------------------------------------------------------- the toy
@pytest.mark.parametrize("solver", [mt.value_iteration, mt.policy_iteration])
def test_toy_optimum_is_the_documented_sentence(solver):
    lm = toy()
    result = solver(lm.mdp)
    assert lm.top_sequences(result.policy, 1) == [(("the", "cat", "sat"), 1.0)]
    assert result.V[0] == pytest.approx(lm.reward_of("the cat sat"), abs=1e-9)
    assert result.V[0] == pytest.approx(0.1116, abs=5e-5)
    assert lm.rewards.max() == lm.reward_of("the cat sat")
    assert -5 < lm.rewards.min() and lm.rewards.max() < 1  # order-1 rewards


def test_toy_options():
    lm = toy(max_len=3, target="the dog sat", bonus=2.0)
    best = mt.policy_iteration(lm.mdp)
    assert lm.top_sequences(best.policy, 1)[0][0] == ("the", "dog", "sat")
    with pytest.raises(ValueError, match=r"target must be a non-empty phrase of words from .*; "
                                         r"got \('the', 'bird'\)"):
        toy(target=("the", "bird"))
