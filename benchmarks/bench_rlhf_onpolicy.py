"""Cost of one training step of each on-policy method (mt.rlhf) against the sampling it needs.

    python benchmarks/bench_rlhf_onpolicy.py [--quick] [--batch 64]

For each language MDP and method, a step's time is read from the run's own ``history["elapsed"]``
(sampling and updating only: the exact measurements the history records, and the softmax of
the whole (S, A) table they need, are excluded) over
``--steps`` steps, best of 3 runs; the floor it is compared with is drawing the same number of
sequences with the vectorized sampler alone (``mdptoolkit.rlhf._sampling.sample_batch``) at the
reference policy, best of 20. The ratio step / sampling is the figure to record: the update is a
few array passes over the sampled tokens plus one softmax of the (S, A) logits per gradient
step, so it should stay within a small multiple of sampling (PPO and multi-iteration GRPO take
several gradient steps per batch). The exact measurement per step (``mt.rlhf.measure``: J,
E[r] and KL, linear in S·A) is shown for scale, as is one row of ``gradient_estimates``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import mdptoolkit as mt  # noqa: E402
from mdptoolkit.rlhf._sampling import sample_batch  # noqa: E402
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
    args = parser.parse_args(argv)
    steps = max(5, args.steps // 5) if args.quick else args.steps
    lms = {"toy (V=6, L=5)": mt.language.toy()}
    if not args.quick:
        big = mt.language.LanguageMDP([f"w{i}" for i in range(10)], 5,
                                      np.random.default_rng(0).normal(size=111111))
        lms["random (V=10, L=5)"] = big
    print(f"one training step vs the sampling it needs: {args.batch} sequences per step, "
          f"{steps} steps, best of 3")
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
            per_step = min(run(lm, steps, seed).history["elapsed"][-1] / steps
                           for seed in range(3))
            print(f"  {name:<20} step   {per_step * 1e3:9.3f} ms  = "
                  f"{per_step / sampling:5.1f} x sampling")
        theta = model.theta0()
        est = best_of(lambda lm=lm, theta=theta: mt.rlhf.gradient_estimates(
            lm, theta, estimator="rloo", num_generations=4, n=256, seed=0), 3) / 256
        print(f"  gradient_estimates (rloo, G=4) per estimate {est * 1e6:8.1f} us "
              f"(dense S*A = {S * A} row)")


if __name__ == "__main__":
    main()
