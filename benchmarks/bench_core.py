"""Core performance figures, as ratios measured in one run (this machine is shared and noisy).

    python benchmarks/bench_core.py [--quick]

1. One Bellman optimality backup against the raw product it is built on:
   dense S=2000, A=4 (GEMV of the (S*A, S) matrix) and the CSR product of the same matrix;
   a 300x300 sparse grid world against the bare SciPy CSR matvec (and the naive
   ``(R + gamma * P @ V).reshape(S, A).max(1)``).
2. Dense input that is mostly zeros: dense GEMV vs the CSR copy the MDP multiplies through,
   across densities (the basis of mdptoolkit.mdp.SPARSE_DENSITY_THRESHOLD).
3. Value iteration on random MDPs: iterations of our span rule vs the sup-norm rule
   (Puterman Thm 6.3.1), and the true error of what each returns.
4. Exact evaluation of an acyclic chain with 10^6 states (linear time).
"""

from __future__ import annotations

import argparse
import sys
import time
import timeit
from pathlib import Path

import numpy as np
import scipy.sparse as sp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import mdptoolkit as mt  # noqa: E402
from mdptoolkit.operators import _Backup  # noqa: E402


def best(f, number, repeat=7):
    f()
    return min(timeit.repeat(f, number=number, repeat=repeat)) / number


def random_P(S, A, k, rng):
    """(S, A, S) dense transitions with k successors per row."""
    P = np.zeros((S * A, S))
    cols = np.argsort(rng.random((S * A, S)), axis=1)[:, :k]
    P[np.arange(S * A)[:, None], cols] = rng.dirichlet(np.ones(k), size=S * A)
    return P.reshape(S, A, S)


def grid(n, slip=0.2, gamma=0.99):
    S, A = n * n, 4
    s = np.arange(S)
    r, c = np.divmod(s, n)
    nxt = [np.where(r > 0, s - n, s), np.where(r < n - 1, s + n, s),
           np.where(c > 0, s - 1, s), np.where(c < n - 1, s + 1, s)]
    rows, cols, vals = [], [], []
    for a in range(A):
        for b in range(A):
            rows.append(s * A + a)
            cols.append(nxt[b])
            vals.append(np.full(S, 1 - slip + slip / A if a == b else slip / A))
    P = sp.csr_array((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                     shape=(S * A, S))
    R = np.full((S, A), -1.0)
    terminal = np.zeros(S, bool)
    terminal[-1] = True
    return mt.MDP(P, R, gamma, terminal=terminal)


def backup_section(rng, quick):
    print("\n1. One Bellman backup (median of best-of-7 repeats)")
    S, A = 2000, 4
    P = rng.random((S, A, S))
    P /= P.sum(axis=2, keepdims=True)
    mdp = mt.MDP(P, rng.random((S, A)), 0.95)
    V = rng.random(S)
    flat = np.ascontiguousarray(P.reshape(S * A, S))
    b = _Backup(mdp)
    n = 20 if quick else 50
    raw = best(lambda: flat @ V, n)
    ours = best(lambda: b.max(V), n)
    public = best(lambda: mt.bellman_optimality(mdp, V), n)
    print(f"  dense S={S} A={A} (full P): raw GEMV {raw * 1e3:.3f} ms | our backup "
          f"{ours * 1e3:.3f} ms (ratio {ours / raw:.2f}) | mt.bellman_optimality "
          f"{public * 1e3:.3f} ms (ratio {public / raw:.2f})")
    Pk = random_P(S, A, 20, rng)
    mdp_k = mt.MDP(Pk, rng.random((S, A)), 0.95)
    flat_k = np.ascontiguousarray(Pk.reshape(S * A, S))
    csr_k = sp.csr_array(flat_k)
    b_k = _Backup(mdp_k)
    raw_d = best(lambda: flat_k @ V, n)
    raw_c = best(lambda: csr_k @ V, n * 5)
    ours_k = best(lambda: b_k.max(V), n * 5)
    print(f"  dense S={S} A={A} (20 successors/row): raw GEMV {raw_d * 1e3:.3f} ms | raw CSR "
          f"{raw_c * 1e3:.3f} ms | our backup {ours_k * 1e3:.3f} ms (vs GEMV {raw_d / ours_k:.1f}x "
          f"faster; vs bare CSR matvec ratio {ours_k / raw_c:.2f})")
    g = grid(150 if quick else 300)
    Sg = g.n_states
    Vg = rng.random(Sg)
    Pg = g.P  # state-major CSR as a user would hold it
    Rg = np.asarray(g.R).ravel()
    bg = _Backup(g)
    raw_g = best(lambda: Pg @ Vg, 20)
    naive = best(lambda: (Rg + 0.99 * (Pg @ Vg)).reshape(Sg, 4).max(axis=1), 20)
    ours_g = best(lambda: bg.max(Vg), 20)
    print(f"  sparse grid {int(np.sqrt(Sg))}x{int(np.sqrt(Sg))}: bare CSR matvec "
          f"{raw_g * 1e3:.3f} ms | naive reshape-max backup {naive * 1e3:.3f} ms "
          f"(ratio {naive / raw_g:.2f}) | our backup "
          f"{ours_g * 1e3:.3f} ms (ratio {ours_g / raw_g:.2f})")


def density_section(rng, quick):
    print("\n2. Dense GEMV vs CSR product of the same (S*A, S) matrix, S=2000, A=4")
    S, A = 2000, 4
    V = rng.random(S)
    for density in (0.01, 0.05, 0.1, 0.2, 0.3, 0.5):
        k = max(1, int(density * S))
        flat = random_P(S, A, k, rng).reshape(S * A, S)
        csr = sp.csr_array(flat)
        n = 10 if quick else 20
        t_dense = best(lambda: flat @ V, n)
        t_csr = best(lambda: csr @ V, n)
        print(f"  density {density:4.2f}: dense {t_dense * 1e3:7.3f} ms  "
              f"CSR {t_csr * 1e3:7.3f} ms  CSR speed-up {t_dense / t_csr:5.1f}x")
    print(f"  (threshold in use: SPARSE_DENSITY_THRESHOLD = {mt.mdp.SPARSE_DENSITY_THRESHOLD})")


def vi_section(rng, quick):
    print("\n3. Value iteration to tol=1e-8: span rule (ours) vs sup-norm rule (Thm 6.3.1)")
    for S, A, gamma in ((500, 8, 0.95), (2000, 4, 0.99)):
        mdp = mt.MDP(random_P(S, A, 20, rng), rng.random((S, A)), gamma)
        V_star = mt.policy_iteration(mdp).V
        t = time.perf_counter()
        res = mt.value_iteration(mdp, tol=1e-8)
        t_ours = time.perf_counter() - t
        # the sup-norm rule: stop when max|V_k+1 - V_k| < tol (1-gamma) / (2 gamma)
        b = _Backup(mdp)
        V = np.zeros(S)
        k = 0
        t = time.perf_counter()
        while True:
            k += 1
            TV = b.max(V)[0].copy()
            if np.abs(TV - V).max() < 1e-8 * (1 - gamma) / (2 * gamma):
                break
            V = TV
        t_sup = time.perf_counter() - t
        print(f"  S={S} A={A} gamma={gamma}: ours {res.iterations} it, {t_ours * 1e3:.1f} ms, "
              f"max|V - V*| = {np.abs(res.V - V_star).max():.1e} | sup-norm rule {k} it, "
              f"{t_sup * 1e3:.1f} ms, error {np.abs(TV - V_star).max():.1e} | uncorrected last "
              f"iterate after our {res.iterations} it would be off by "
              f"{np.abs(uncorrected(mdp, res.iterations) - V_star).max():.3g}")


def uncorrected(mdp, iterations):
    b = _Backup(mdp)
    V = np.zeros(mdp.n_states)
    for _ in range(iterations):
        V = b.max(V)[0].copy()
    return V


def acyclic_section(quick):
    n = 10**5 if quick else 10**6
    print(f"\n4. Exact evaluation of an acyclic chain with {n} states")
    # state s moves to s+1 or s+2 (last states to the terminal state n-1)
    s = np.arange(n)
    nxt1 = np.minimum(s + 1, n - 1)
    nxt2 = np.minimum(s + 2, n - 1)
    P = sp.csr_array((np.full(2 * n, 0.5), (np.repeat(s, 2), np.stack([nxt1, nxt2], 1).ravel())),
                     shape=(n, n))
    terminal = np.zeros(n, bool)
    terminal[-1] = True
    t = time.perf_counter()
    mdp = mt.MDP(P, -np.ones((n, 1)), 1.0, terminal=terminal)
    t_build = time.perf_counter() - t
    t = time.perf_counter()
    V = mt.evaluate_policy(mdp, np.zeros(n, dtype=int))
    t_eval = time.perf_counter() - t
    t_mv = best(lambda: mdp._op @ V, 5, repeat=3)
    print(f"  build {t_build:.2f} s, evaluate_policy {t_eval:.2f} s (= {t_eval / t_mv:.0f} sparse "
          f"matvecs), V[0] = {V[0]:.4f} (expected about -{(n - 1) / 1.5:.0f})")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes, fewer repeats")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    backup_section(rng, args.quick)
    density_section(rng, args.quick)
    vi_section(rng, args.quick)
    acyclic_section(args.quick)


if __name__ == "__main__":
    main()
