"""Language-MDP performance figures, as ratios measured in one run (on a shared, noisy machine).

    python benchmarks/bench_language.py [--quick]

On LanguageMDP(vocab 10, max_len 6): sum_{l<6} 10^l = 111 111 prefixes + 1 terminal state,
11 actions, 1 222 232 transitions, 1 111 111 complete sequences.

1. Building it: the token-id table (``sequence_ids``), the MDP from an array of rewards, and
   (for scale) from a Python reward callable on the 111 111 sequences of max_len 5.
2. One sparse matrix-vector product over its transitions, ``mdp.P @ v`` with the (S*A, S) CSR
   matrix: the unit of cost.
3. One ``mt.exact_gradient`` (TabularSoftmax, and LogLinear on the sparse bigram features) at a
   random stochastic policy, as a ratio to that product (target <= 5x): best-of times, and
   for TabularSoftmax the median of ratios taken round by round (the one to quote: this
   shared machine drifts between speed phases that affect the two differently). With Numba
   installed the prefix tree runs compiled loops; the NumPy passes it uses without Numba are
   timed too.
4. The exact sequence distribution, 10 000 samples, and the refusal of vocab 50, max_len 10.
"""

from __future__ import annotations

import argparse
import sys
import time
import timeit
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import mdptoolkit as mt  # noqa: E402
from mdptoolkit.language import LanguageMDP, bigram_features, sequence_ids  # noqa: E402


def tree_gradient(lm, theta_am):
    """Raw-NumPy floor for the TabularSoftmax gradient on the prefix tree (beta = 0).

    Action-major (A, S) arrays, so that sums over actions are A vectorized adds (NumPy reduces
    rows of length 11 slowly); softmax, values by a backward sweep over lengths, occupancy by a
    forward sweep, then d(s) pi(a|s) (Q(s, a) - V(s)). Uses the layout: the children of state
    s are V*s + 1 + t. Returns J and the gradient as (A, S).
    """
    mdp = lm.mdp
    S = mdp.n_states
    V, L, N = len(lm.vocab), lm.max_len, S - 1
    off = np.concatenate([[0], np.cumsum([V ** j for j in range(L)])])
    pi = theta_am - np.maximum.reduce(theta_am, axis=0)
    np.exp(pi, out=pi)
    pi /= np.add.reduce(pi, axis=0)
    Q = mdp._R_am.copy()  # (A, S) rewards
    values = np.zeros(S)
    for l in range(L - 1, -1, -1):  # backward: V of the children are known
        a, b = off[l], off[l + 1]
        if l < L - 1:
            Q[:V, a:b] += values[off[l + 1]:off[l + 2]].reshape(b - a, V).T
        values[a:b] = np.add.reduce(pi[:, a:b] * Q[:, a:b], axis=0)
    d = np.zeros(S)
    d[0] = 1.0
    for l in range(L - 1):  # forward: reach probabilities
        a, b = off[l], off[l + 1]
        d[off[l + 1]:off[l + 2]] = (pi[:V, a:b] * d[a:b]).T.ravel()
    Q -= values
    Q *= pi
    Q *= d
    Q[:, N] = 0.0
    return float(values[0]), Q


def best(f, number=1, repeat=5):
    f()
    return min(timeit.repeat(f, number=number, repeat=repeat)) / number


def interleaved_ratios(f, unit, rounds):
    """Per round: best of 3 runs of f over best of 5 of unit, the two timed back to back."""
    out = []
    for _ in range(rounds):
        t_unit = min(timeit.repeat(unit, number=1, repeat=5))
        out.append(min(timeit.repeat(f, number=1, repeat=3)) / t_unit)
    return np.array(out)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    args = parser.parse_args(argv)
    repeat = 3 if args.quick else 7
    V, L = 10, 6
    vocab = [f"w{i}" for i in range(V)]
    rng = np.random.default_rng(0)

    print(f"LanguageMDP(vocab {V}, max_len {L}); best of {repeat} repeats")
    print("\n1. Build")
    t_ids = best(lambda: sequence_ids(V, L), repeat=repeat)
    ids, lengths = sequence_ids(V, L)
    rewards = 0.5 * (ids[:, 0] == 3) - 0.1 * lengths  # a vectorized "reward model"
    t_build = best(lambda: LanguageMDP(vocab, L, rewards), repeat=repeat)
    lm = LanguageMDP(vocab, L, rewards)
    mdp = lm.mdp
    S, A = mdp.n_states, mdp.n_actions
    print(f"  {lm}")
    print(f"  sequence_ids: {t_ids * 1e3:.1f} ms | LanguageMDP from a reward array: "
          f"{t_build * 1e3:.1f} ms")
    start = time.perf_counter()
    LanguageMDP(vocab, L - 1, lambda y: 0.1 * len(y))
    elapsed = time.perf_counter() - start
    print(f"  (max_len {L - 1}, Python reward callable on {sum(V ** j for j in range(L)):,} "
          f"sequences: {elapsed * 1e3:.0f} ms)")

    print("\n2. One sparse matvec over the transitions")
    P = mdp.P
    v = rng.random(S)
    t_matvec = best(lambda: P @ v, number=20, repeat=repeat)
    print(f"  P (S*A, S) = {P.shape}, nnz {P.nnz:,}: {t_matvec * 1e3:.3f} ms")

    print("\n3. One exact gradient (ratio to the matvec; target <= 5x)")
    theta = rng.normal(size=(S, A))
    theta_am = np.ascontiguousarray(theta.T)
    t_floor = best(lambda: tree_gradient(lm, theta_am), repeat=repeat)
    print(f"  raw-NumPy floor (tree sweeps): {t_floor * 1e3:8.1f} ms = {t_floor / t_matvec:6.1f}x")
    t_exp = best(lambda: np.exp(theta_am), repeat=repeat)
    print(f"  (np.exp of the (S, A) logits alone: {t_exp * 1e3:.1f} ms = {t_exp / t_matvec:.1f}x)")
    if not hasattr(mt, "exact_gradient"):
        print("  mt.exact_gradient not available yet: skipped")
    else:
        from mdptoolkit.gradient import _fused
        tab = mt.TabularSoftmax(S, A)
        how = ("compiled loops (Numba)" if _fused.compiled() is not None
               else "NumPy passes (Numba not installed)")
        print(f"  mt.exact_gradient takes the prefix tree's {how}")
        J, grad = mt.exact_gradient(mdp, tab, theta)
        J0, grad0 = tree_gradient(lm, theta_am)
        assert abs(J - J0) < 1e-9 and np.abs(grad - grad0.T).max() < 1e-9, "floor disagrees"
        t_tab = best(lambda: mt.exact_gradient(mdp, tab, theta), repeat=repeat)
        print(f"  TabularSoftmax:               {t_tab * 1e3:8.1f} ms = {t_tab / t_matvec:6.1f}x")
        # the machine's speed drifts between phases, differently for the memory-bound matvec
        # and the gradient: the ratio that counts is taken round by round, then the median
        ratios = interleaved_ratios(lambda: mt.exact_gradient(mdp, tab, theta), lambda: P @ v,
                                    rounds=9 if args.quick else 21)
        print(f"  TabularSoftmax, interleaved:  median {np.median(ratios):.2f}x over "
              f"{ratios.size} rounds (quartiles {np.percentile(ratios, 25):.2f}-"
              f"{np.percentile(ratios, 75):.2f}x; target <= 5x)")
        if _fused.compiled() is not None:
            saved, _fused.MIN_ENTRIES = _fused.MIN_ENTRIES, float("inf")
            J1, grad1 = mt.exact_gradient(mdp, tab, theta)
            assert abs(J - J1) < 1e-9 and np.abs(grad - grad1).max() < 1e-9, "paths disagree"
            t_np = best(lambda: mt.exact_gradient(mdp, tab, theta), repeat=repeat)
            ratios_np = interleaved_ratios(lambda: mt.exact_gradient(mdp, tab, theta),
                                           lambda: P @ v, rounds=9 if args.quick else 21)
            _fused.MIN_ENTRIES = saved
            print(f"  same, NumPy passes (no Numba): {t_np * 1e3:8.1f} ms = {t_np / t_matvec:6.1f}x"
                  f"; interleaved median {np.median(ratios_np):.2f}x")
        t_kl = best(lambda: mt.exact_gradient(mdp, tab, theta, beta=0.1,
                                              reference=lm.reference_policy), repeat=repeat)
        print(f"  TabularSoftmax, beta=0.1:     {t_kl * 1e3:8.1f} ms = {t_kl / t_matvec:6.1f}x")
        F = bigram_features(lm, sparse=True)
        loglin = mt.LogLinear(F, n_actions=A)
        w = rng.normal(size=F.shape[1])
        t_ll = best(lambda: mt.exact_gradient(mdp, loglin, w), repeat=repeat)
        print(f"  LogLinear (bigram, sparse):   {t_ll * 1e3:8.1f} ms = {t_ll / t_matvec:6.1f}x")
        t_pol = best(lambda: tab.policy(theta), repeat=repeat)
        t_eval = best(lambda: mt.evaluate_policy(mdp, tab.policy(theta)), repeat=repeat)
        print(f"  (parts: softmax policy {t_pol * 1e3:.1f} ms = {t_pol / t_matvec:.1f}x, "
              f"evaluate_policy {t_eval * 1e3:.1f} ms = {t_eval / t_matvec:.1f}x)")

    print("\n4. Distributions and the state limit")
    pi = rng.dirichlet(np.ones(A), size=S)
    t_probs = best(lambda: lm.sequence_probability_array(pi), repeat=repeat)
    t_sample = best(lambda: lm.sample(pi, 10_000, seed=0), repeat=repeat)
    print(f"  sequence_probability_array (1.1e6 sequences): {t_probs * 1e3:.1f} ms "
          f"= {t_probs / t_matvec:.1f}x matvec | sample(n=10 000): {t_sample * 1e3:.1f} ms")
    start = time.perf_counter()
    try:
        LanguageMDP([f"w{i}" for i in range(50)], 10, lambda y: 0.0)
    except ValueError as err:
        print(f"  vocab 50, max_len 10 refused in {(time.perf_counter() - start) * 1e6:.0f} us: "
              f"{str(err)[:80]}...")


if __name__ == "__main__":
    main()
