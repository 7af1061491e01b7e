"""Speed of ``mt.simulate`` against a straightforward per-step Python loop, measured in one run.

    python benchmarks/bench_sampling.py [--quick]

Workload (issue 5): 10^5 episodes of length 20 on a 1000-state Garnet MDP (4 actions,
branching 10, no terminal states, so every episode runs the full 20 steps) under a random
stochastic policy. The loop is what one writes without vectorizing: for every episode and
step, draw the action and the next state by inverse CDF on precomputed cumulative rows
(``np.searchsorted`` on the row, not the slower ``rng.choice(p=...)``), and store into the same
padded arrays. Both use one ``numpy.random.Generator``. ``--quick`` shrinks the run 10x (for
CI smoke tests); the ratio is the figure to record.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from mdptoolkit import envs  # noqa: E402
from mdptoolkit.sampling import simulate  # noqa: E402


def python_loop(mdp, pi, episodes, max_steps, seed):
    """The per-step loop: one episode at a time, one step at a time."""
    rng = np.random.default_rng(seed)
    S, A = mdp.n_states, mdp.n_actions
    P = np.asarray(mdp.P.toarray()).reshape(S, A, S) if mdp.is_sparse else np.asarray(mdp.P)
    cdf_P = np.cumsum(P, axis=2)
    cdf_pi = np.cumsum(pi, axis=1)
    cdf_mu = np.cumsum(mdp.mu)
    R, terminal = np.asarray(mdp.R), np.asarray(mdp.terminal)
    states = np.full((episodes, max_steps + 1), -1, np.intp)
    actions = np.full((episodes, max_steps), -1, np.intp)
    rewards = np.zeros((episodes, max_steps))
    lengths = np.zeros(episodes, np.intp)
    for e in range(episodes):
        s = min(int(np.searchsorted(cdf_mu, rng.random() * cdf_mu[-1], side="right")), S - 1)
        states[e, 0] = s
        t = 0
        while t < max_steps and not terminal[s]:
            row = cdf_pi[s]
            a = min(int(np.searchsorted(row, rng.random() * row[-1], side="right")), A - 1)
            row = cdf_P[s, a]
            s2 = min(int(np.searchsorted(row, rng.random() * row[-1], side="right")), S - 1)
            actions[e, t], rewards[e, t], states[e, t + 1] = a, R[s, a], s2
            s = s2
            t += 1
        lengths[e] = t
    return states, actions, rewards, lengths


def timed(f):
    start = time.perf_counter()
    out = f()
    return time.perf_counter() - start, out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10x fewer episodes")
    parser.add_argument("--states", type=int, default=1000)
    parser.add_argument("--episodes", type=int, default=100_000)
    parser.add_argument("--steps", type=int, default=20)
    args = parser.parse_args(argv)
    episodes = args.episodes // 10 if args.quick else args.episodes
    S, A = args.states, 4
    rng = np.random.default_rng(0)
    pi = rng.dirichlet(np.ones(A), size=S)
    print(f"simulate vs a per-step Python loop: {episodes} episodes x {args.steps} steps, "
          f"S = {S}, A = {A}, branching 10")
    for sparse in (False, True):
        mdp = envs.random_mdp(S, A, branching=10, sparse=sparse, seed=1).mdp
        runs = [timed(lambda: simulate(mdp, pi, episodes=episodes, max_steps=args.steps,
                                       seed=2)) for _ in range(3)]
        t_vec, traj = min(runs, key=lambda run: run[0])  # best of 3 (the loop runs once)
        t_loop, (states, _, _, lengths) = timed(lambda: python_loop(mdp, pi, episodes,
                                                                    args.steps, seed=2))
        assert (traj.lengths == args.steps).all() and (lengths == args.steps).all()
        # same distribution: compare the state frequencies at the last step
        f_vec = np.bincount(traj.states[:, -1], minlength=S) / episodes
        f_loop = np.bincount(states[:, -1], minlength=S) / episodes
        kind = "sparse" if sparse else "dense "
        steps = episodes * args.steps
        print(f"  {kind} P: simulate {t_vec:7.3f} s ({steps / t_vec / 1e6:6.2f} M steps/s)   "
              f"loop {t_loop:7.2f} s ({steps / t_loop / 1e6:5.3f} M steps/s)   "
              f"speed-up {t_loop / t_vec:6.1f}x   "
              f"(max |freq diff| {np.abs(f_vec - f_loop).max():.4f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
