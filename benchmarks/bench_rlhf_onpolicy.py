"""Cost of one training step of each on-policy method (mt.rlhf) against the sampling it needs.

    python benchmarks/bench_rlhf_onpolicy.py [--quick] [--batch 64]

For each language MDP and method, one step's CPU time (single-threaded BLAS; the process's
CPU seconds, so the time the shared machine gives to other work is not counted) is that of a
run of ``--steps`` steps, minus the exact measurements its history records after each step
(``steps + 1`` evaluations of the same ``Meter`` the run uses, timed separately), divided by
the steps: sampling, updating, and the softmax of the rows the step changed. The floor it is
compared with is drawing the same number of sequences with the vectorized sampler alone
(``mdptoolkit.rlhf._sampling.sample_batch``, ``--steps`` draws), timed in the same round just
before the run. The ratio step / sampling is the figure to record, taken round by round, the
median over ``--rounds`` rounds reported with its range. The update is a few array passes over
the sampled tokens and a softmax of the visited rows per gradient step (O(tokens), whatever
S), so it should stay within a small multiple of sampling (PPO and multi-iteration GRPO take
several gradient steps per batch). The exact measurement per step (J, E[r] and KL, linear in
S·A) is shown for scale, as is one row of ``gradient_estimates``. (The runs' own
``history["elapsed"]`` is wall time, inflated by whatever else the machine runs.)
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from pathlib import Path

for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")   # before NumPy is imported
import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import mdptoolkit as mt  # noqa: E402
from mdptoolkit.rlhf._sampling import sample_batch  # noqa: E402
from mdptoolkit.rlhf.objective import Meter  # noqa: E402
from mdptoolkit.rlhf.onpolicy import _Model  # noqa: E402


def methods(batch):
    """name -> run(lm, steps, seed), every method sampling ``batch`` sequences per step."""
    return {
        "reinforce": lambda lm, k, s: mt.rlhf.reinforce(
            lm, beta=0.1, lr=1.0, steps=k, batch_size=batch, seed=s),
        "rloo": lambda lm, k, s: mt.rlhf.rloo(
            lm, num_generations=batch, beta=0.1, lr=1.0, steps=k, seed=s),
        "grpo": lambda lm, k, s: mt.rlhf.grpo(
            lm, num_generations=batch, beta=0.1, lr=0.5, steps=k, seed=s),
        "grpo x4 iterations": lambda lm, k, s: mt.rlhf.grpo(
            lm, num_generations=batch, beta=0.1, num_iterations=4, lr=0.5, steps=k, seed=s),
        "ppo (4 epochs)": lambda lm, k, s: mt.rlhf.ppo(
            lm, kl_coef=0.1, batch_size=batch, lr=0.5, steps=k, seed=s),
    }


def cpu_each(f, repeats):
    """Mean CPU seconds of one call of f over ``repeats`` calls."""
    start = time.process_time()
    for _ in range(repeats):
        f()
    return (time.process_time() - start) / repeats


def best_of(f, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        f()
        times.append(time.perf_counter() - start)
    return min(times)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer steps, toy MDP only")
    parser.add_argument("--batch", type=int, default=64, help="sequences per step")
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    steps = max(5, args.steps // 5) if args.quick else args.steps
    lms = {"toy (V=6, L=5)": mt.language.toy()}
    if not args.quick:
        big = mt.language.LanguageMDP([f"w{i}" for i in range(10)], 5,
                                      np.random.default_rng(0).normal(size=111111))
        lms["random (V=10, L=5)"] = big
    print(f"one training step vs the sampling it needs (CPU time): {args.batch} sequences per "
          f"step, {steps} steps, median over {args.rounds} rounds of the ratio within a round")
    for label, lm in lms.items():
        model = _Model(lm)
        pi, _ = model.policy(model.theta0())
        S, A = lm.mdp.n_states, lm.mdp.n_actions
        rng = np.random.default_rng(0)
        sampling = best_of(lambda lm=lm, pi=pi, rng=rng: sample_batch(lm, pi, args.batch, rng),
                           20)
        exact = best_of(lambda lm=lm, pi=pi: mt.rlhf.measure(lm, pi, 0.1), 5)
        print(f"\n{label}: S = {S}, A = {A}, {len(lm.sequences)} sequences")
        print(f"  sampling {args.batch} sequences      {sampling * 1e3:9.3f} ms")
        print(f"  exact measure (J, E r, KL)   {exact * 1e3:9.3f} ms  (history only)")
        for name, run in methods(args.batch).items():
            ratios, times = [], []
            meter = Meter(lm, 0.1)
            for seed in range(args.rounds):
                floor = cpu_each(lambda lm=lm, pi=pi, rng=rng: sample_batch(lm, pi, args.batch,
                                                                             rng), steps)
                measuring = cpu_each(lambda meter=meter, pi=pi: meter(pi), steps)
                total = cpu_each(lambda run=run, lm=lm, seed=seed: run(lm, steps, seed), 1)
                per_step = (total - (steps + 1) * measuring) / steps
                ratios.append(per_step / floor)
                times.append(per_step)
            print(f"  {name:<20} step   {np.median(times) * 1e3:9.3f} ms  = "
                  f"{np.median(ratios):5.1f} x sampling  (rounds: "
                  f"{min(ratios):.1f} .. {max(ratios):.1f})")
        theta = model.theta0()
        est = best_of(lambda lm=lm, theta=theta: mt.rlhf.gradient_estimates(
            lm, theta, estimator="rloo", num_generations=4, n=256, seed=0), 3) / 256
        print(f"  gradient_estimates (rloo, G=4) per estimate {est * 1e6:8.1f} us "
              f"(dense S*A = {S * A} row)")


if __name__ == "__main__":
    main()
