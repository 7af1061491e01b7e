"""Preference-learning performance figures (mt.rlhf part 1), as ratios measured in one run.

    python benchmarks/bench_rlhf.py [--quick]

On the toy language MDP (``mt.language.toy()``: 1556 states, 7 actions, 9331 sequences) with
1e5 Bradley–Terry comparisons drawn from the reference:

1. One full-batch DPO step (``loss_type="sigmoid"``) and one IPO step of
   ``mt.rlhf.preference_optimization``, history included (exact J, reward and KL of the
   iterate), as a ratio to the unit: computing the 2e5 sequence log-probabilities the step
   needs the way a batched implementation does, a log-softmax of the logits and a gather-sum of
   the token log-probabilities along each sequence's path (the path tables precomputed, not
   timed). Target <= 3x. The step time is (time of K steps - time of 0 steps) / K, so the
   one-off set-up (aggregating the pairs, the existence check, the optimum) is left out; it is
   reported separately.
2. ``mt.rlhf.fit_reward_model`` on the same 1e5 comparisons, with ``l2 = 0`` (separable data:
   only the strongly connected part is fitted) and ``l2 = 1``. Target well under 1 s.

Each figure is the median over interleaved rounds (the machine is shared and drifts).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import mdptoolkit as mt  # noqa: E402
from mdptoolkit.language import sequence_ids  # noqa: E402


def path_tables(lm, sequences):
    """(states, actions, mask) of shape (n, L + 1) along each sequence's path, eos included."""
    V, L = len(lm.vocab), lm.max_len
    ids, lengths = sequence_ids(V, L)
    ids, lengths = ids[sequences], lengths[sequences]
    n = sequences.size
    states = np.zeros((n, L + 1), dtype=np.int64)
    actions = np.full((n, L + 1), V, dtype=np.int64)
    actions[:, :L] = np.where(ids >= 0, ids, V)
    for t in range(1, L + 1):
        prev = states[:, t - 1]
        inside = (t <= lengths) & (t < L)  # a prefix of length t < L is a state
        states[:, t] = np.where(inside, V * prev + 1 + np.maximum(ids[:, t - 1], 0), 0)
    mask = np.arange(L + 1)[None, :] <= lengths[:, None]
    mask &= ~((np.arange(L + 1)[None, :] == lengths[:, None]) & (lengths[:, None] == L))
    return states, actions, mask


def unit(theta, states, actions, mask):
    """log p(y) for every row: log-softmax, then a gather-sum along the paths."""
    z = theta - theta.max(axis=1, keepdims=True)
    log_pi = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return np.where(mask, log_pi[states, actions], 0.0).sum(axis=1)


def timed(f):
    start = time.perf_counter()
    f()
    return time.perf_counter() - start


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds")
    args = parser.parse_args(argv)
    rounds, K = (3, 10) if args.quick else (7, 30)
    lm = mt.language.toy()
    n = 100_000
    prefs = mt.rlhf.sample_preferences(lm, n, seed=0)
    theta = np.log(np.asarray(lm.reference_policy))
    both = np.concatenate([prefs.chosen, prefs.rejected])
    tables = path_tables(lm, both)
    # the unit computes what the step needs: check it against the library's numbers
    p = lm.sequence_probability_array(lm.reference_policy)
    assert np.allclose(unit(theta, *tables), np.log(p[both]))
    print(f"toy language MDP: {lm.mdp.n_states} states, {lm.mdp.n_actions} actions, "
          f"{len(lm.sequences)} sequences; {n:,} comparisons "
          f"({np.unique(prefs.chosen * len(lm.sequences) + prefs.rejected).size:,} distinct)")

    def run(loss_type, iterations):
        return mt.rlhf.preference_optimization(lm, prefs, loss_type=loss_type, beta=0.1,
                                               iterations=iterations, tol=0.0)

    ratios = {"sigmoid": [], "ipo": []}
    steps = {"sigmoid": [], "ipo": []}
    setups = []
    units = []
    for _ in range(rounds):
        t_unit = min(timed(lambda: unit(theta, *tables)) for _ in range(5))
        units.append(t_unit)
        for loss_type in ratios:
            t0 = min(timed(lambda lt=loss_type: run(lt, 0)) for _ in range(2))
            tK = timed(lambda lt=loss_type: run(lt, K))
            step = (tK - t0) / K
            steps[loss_type].append(step)
            ratios[loss_type].append(step / t_unit)
            setups.append(t0)
    print(f"unit: 2e5 sequence log-probabilities (log-softmax + gather-sum): "
          f"{np.median(units) * 1e3:.2f} ms")
    for loss_type, name in (("sigmoid", "DPO"), ("ipo", "IPO")):
        step = np.median(steps[loss_type]) * 1e3
        print(f"one full-batch {name} step, history included: {step:.2f} ms = "
              f"{np.median(ratios[loss_type]):.2f}x the unit (median of {rounds} rounds; "
              f"target <= 3x)")
    print(f"set-up of preference_optimization (iterations=0): {np.median(setups) * 1e3:.1f} ms")

    for l2 in (0.0, 1.0):
        times = [timed(lambda l2=l2: mt.rlhf.fit_reward_model(lm, prefs, l2=l2))
                 for _ in range(rounds)]
        fit = mt.rlhf.fit_reward_model(lm, prefs, l2=l2)
        print(f"fit_reward_model on {n:,} comparisons, l2={l2:g}: {np.median(times) * 1e3:.0f} ms "
              f"(median of {rounds}; {fit.iterations} Newton steps, converged={fit.converged})")


if __name__ == "__main__":
    main()
