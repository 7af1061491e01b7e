"""Build time and memory of the large environments.

    python benchmarks/build_envs.py [--quick]

Each case runs in a fresh Python process, so that its peak resident memory (``ru_maxrss``) is
its own; the table reports

- ``build s``: wall time of the builder call (best of ``--repeat`` calls in that process),
- ``peak MB``: the largest traced NumPy/Python allocation during one build (tracemalloc),
- ``kept MB``: the memory the finished MDP holds (its CSR transition matrix, rewards and masks),
- ``RSS MB``: the process's peak resident memory, interpreter and imports included.

Cases: ``random_mdp(10**6, 4, branching=3, sparse=True)`` (12 million transitions) and the
1000 x 1000 grid world (10^6 states, 4 actions), deterministic and with slip 0.2 (3 outcomes per
action). ``--quick`` builds 10x smaller instances (a smoke test).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CASES = {
    "random_mdp(10**6, 4, branching=3, sparse=True)":
        "envs.random_mdp({n}, 4, branching=3, sparse=True, seed=0)",
    "gridworld 1000 x 1000, slip=0":
        "envs.gridworld(['.' * {w}] * ({w} - 1) + ['.' * ({w} - 1) + 'G'], step_reward=-1.0)",
    "gridworld 1000 x 1000, slip=0.2":
        "envs.gridworld(['.' * {w}] * ({w} - 1) + ['.' * ({w} - 1) + 'G'], step_reward=-1.0, "
        "slip=0.2)",
}

CHILD = r"""
import gc, json, resource, sys, time, tracemalloc
sys.path.insert(0, {root!r})
import numpy as np
from mdptoolkit import envs

def kept(mdp):
    arrays = [mdp.R, mdp.mu, mdp.terminal, mdp.allowed]
    op = mdp._op if hasattr(mdp, "_op") else mdp.P
    arrays += [op.data, op.indices, op.indptr] if hasattr(op, "indptr") else [op]
    return sum(a.nbytes for a in arrays)

times = []
for _ in range({repeat}):
    gc.collect()
    t = time.perf_counter()
    env = {expr}
    times.append(time.perf_counter() - t)
    del env
gc.collect()
tracemalloc.start()
env = {expr}
peak = tracemalloc.get_traced_memory()[1]
tracemalloc.stop()
mdp = env.mdp
print(json.dumps(dict(build=min(times), peak=peak / 2**20, kept=kept(mdp) / 2**20,
                      rss=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                      states=mdp.n_states, nnz=mdp.nnz)))
"""


def run(expr, repeat):
    code = CHILD.format(root=str(ROOT), expr=expr, repeat=repeat)
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10x smaller instances")
    parser.add_argument("--repeat", type=int, default=3, help="timed builds per case")
    args = parser.parse_args(argv)
    n, w = (10**5, 316) if args.quick else (10**6, 1000)
    print(f"{'case':<48} {'states':>9} {'nnz':>10} {'build s':>8} {'peak MB':>8} "
          f"{'kept MB':>8} {'RSS MB':>8}")
    for name, template in CASES.items():
        if args.quick:
            name = name.replace("10**6", "10**5").replace("1000 x 1000", f"{w} x {w}")
        r = run(template.format(n=n, w=w), args.repeat)
        print(f"{name:<48} {r['states']:>9,} {r['nnz']:>10,} {r['build']:>8.2f} "
              f"{r['peak']:>8.0f} {r['kept']:>8.0f} {r['rss']:>8.0f}")


if __name__ == "__main__":
    main()
