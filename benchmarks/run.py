"""The benchmark suite: mdptoolkit against the raw NumPy/SciPy floor and against its peers.

    python benchmarks/run.py [--quick] [--json out.json] [--only NAME ...] [--tol 1e-6]

Peers (optional, ``pip install -r benchmarks/requirements.txt``): pymdptoolbox,
mdptoolbox-hiive, QuantEcon's ``DiscreteDP`` and mdpsolver. A missing peer is reported as such.

Each workload is built once as plain arrays (:mod:`_workloads`) and saved; every measurement
then runs in its own process (:mod:`_worker`) that converts the arrays to its library's layout
outside the timed region, with a timeout and a cap on its address space, so a peer that hangs,
cycles or tries to allocate a dense S x S matrix is reported as failed instead of stopping the
suite. Every process runs single-threaded (OPENBLAS/OMP/MKL/NUMBA threads = 1) unless
``--threads`` says otherwise: on a shared machine multi-threaded BLAS makes small solves tens of
times slower and noisier.

Reported, per workload: (1) one Bellman optimality backup against the bare matrix-vector
product it is built on, with GB/s of P read; (2) value iteration to ``--tol``: each library's
iterations, solve time and the *true* error max|V - V*| of what it returns; (3) policy
iteration and (3b) modified policy iteration, same columns; (4) exact evaluation of the
optimal policy; (5) the exact policy gradient on LanguageMDP(vocab 10, max_len 6); and the
peak memory of value iteration against the size of P. V* comes from an independent raw-SciPy
computation with a certificate: the bounds TV + gamma/(1-gamma) min(TV - V) <= V* <= TV +
gamma/(1-gamma) max(TV - V) (Puterman 2005, Thm 6.6.3) hold for every V, so the reference's own
error is bounded by computation, not assumed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")


def _set_threads(n):
    for var in THREAD_VARS:
        os.environ[var] = str(n)


if __name__ == "__main__":  # before NumPy is imported, for this process and every worker
    _threads = "1"
    if "--threads" in sys.argv:
        _threads = sys.argv[sys.argv.index("--threads") + 1]
    _set_threads(_threads)

import numpy as np  # noqa: E402
import scipy.sparse as sp  # noqa: E402

sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))
import _peers  # noqa: E402
import _workloads as wl  # noqa: E402

TASK_LIBS = {
    "vi": ("ours", "ours-numpy", "raw", "pymdptoolbox", "hiive", "quantecon", "mdpsolver"),
    "gs": ("ours", "ours-numpy"),
    "pi": ("ours", "ours-numpy", "pymdptoolbox", "hiive", "quantecon", "mdpsolver"),
    "mpi": ("ours", "ours-numpy", "pymdptoolbox", "hiive", "quantecon", "mdpsolver"),
    "eval": ("ours", "raw", "pymdptoolbox", "hiive", "quantecon"),
}
TASK_TITLES = {"vi": "2. Value iteration", "gs": "2b. Gauss-Seidel value iteration",
               "pi": "3. Policy iteration",
               "mpi": "3b. Modified policy iteration (each library's default m)",
               "eval": "4. Exact evaluation of the optimal policy"}


@dataclass
class Workload:
    name: str
    title: str
    build: callable
    tasks: tuple
    timeout: dict = field(default_factory=dict)  # task -> seconds
    quick_tasks: tuple = None  # tasks under --quick, if fewer
    quick: bool = True  # part of --quick
    full: bool = True  # part of the full run


def workloads():
    return [
        Workload("dense500x8", "dense random S=500, A=8, 20 successors/row, gamma=0.95",
                 lambda: wl.random_dense(500, 8, 20, 0.95, seed=1),
                 ("backup", "vi", "pi", "mpi", "eval")),
        Workload("dense2000x4", "dense random S=2000, A=4, 20 successors/row, gamma=0.99",
                 lambda: wl.random_dense(2000, 4, 20, 0.99, seed=2),
                 ("backup", "vi", "pi", "mpi", "eval")),
        Workload("dense2000x4-full", "dense random S=2000, A=4, every entry nonzero, gamma=0.99 "
                 "(the dense-GEMV target)",
                 lambda: wl.random_dense(2000, 4, 2000, 0.99, seed=3), ("backup", "vi"),
                 quick_tasks=("backup",)),
        Workload("forest1000", "pymdptoolbox forest S=1000 (r1=4, r2=2, p=0.1), gamma=0.96",
                 lambda: wl.forest(1000), ("backup", "vi", "gs", "pi", "mpi", "eval")),
        Workload("garnet20k", "sparse Garnet S=20000, A=4, 5 successors/row, gamma=0.99 (the "
                 "Gauss-Seidel check of issue 20)", lambda: wl.garnet_sparse(20000, 4, 5, 0.99, 4),
                 ("vi", "gs")),
        Workload("grid100", "sparse grid world 100x100, slip 0.2, gamma=0.99 (PI that every "
                 "peer can attempt)", lambda: wl.grid(100), ("pi", "mpi", "eval"),
                 timeout={"pi": 120}),
        Workload("grid300", "sparse grid world 300x300, slip 0.2, gamma=0.99",
                 lambda: wl.grid(300), ("backup", "vi", "pi", "mpi", "eval"),
                 timeout={"pi": 200, "vi": 150, "mpi": 150, "pi:quantecon": 60},
                 quick_tasks=("backup", "vi")),
        Workload("grid1000", "sparse grid world 1000x1000, slip 0.2, gamma=0.99 (VI only)",
                 lambda: wl.grid(1000), ("backup", "vi"), timeout={"vi": 400, "backup": 400},
                 quick=False),
    ]


def skip_reason(key, task, W, S, args):
    """Why a measurement known to take minutes is not attempted (None: attempt it)."""
    if args.all:
        return None
    dense_bytes = S * S * 8
    if (key in ("pymdptoolbox", "hiive") and task != "vi" and W.name.startswith("grid")
            and S >= 10_000 and dense_bytes < args.mem_gb * 2**30):
        return (f"builds the policy's S x S matrix densely ({dense_bytes / 2**30:.1f} GB) and "
                f"solves or multiplies it densely: minutes at S = {S:,} (timed out at 60 s in "
                f"trial runs); grid300 shows the same code failing at once; --all runs it")
    if key == "ours-numpy" and task == "gs" and S > 5_000:
        return ("the NumPy Gauss-Seidel sweep is a Python loop over states (teaching and small "
                "MDPs): minutes at this size")
    if key == "mdpsolver" and W.name == "grid1000" and task == "vi":
        return ("takes minutes: 285 s CPU (1832 iterations, max|V - V*| = 1e-6) in a trial run "
                "on this machine; --all runs it")
    return None


# ---------------------------------------------------------------------- running workers
def run_worker(spec, timeout, mem_gb):
    """Run one _worker.py process; return its JSON record (status ok/failed/timeout/n/a)."""
    def limit():
        import resource
        cap = int(mem_gb * 2**30)
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))

    spec = dict(spec, mem_gb=mem_gb)
    cmd = [sys.executable, str(HERE / "_worker.py"), json.dumps(spec)]
    start = time.perf_counter()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                              preexec_fn=limit, cwd=str(HERE), check=False)
    except subprocess.TimeoutExpired:
        return dict(status="timeout", error=f"no result within {timeout:.0f} s (killed)",
                    wall_s=time.perf_counter() - start)
    wall = time.perf_counter() - start
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if not lines:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        return dict(status="failed", error=f"worker exited with code {proc.returncode}: "
                                           + " | ".join(tail)[:300], wall_s=wall)
    out = json.loads(lines[-1])
    out["wall_s"] = wall
    return out


# ---------------------------------------------------------------------- reference V*
def certificate(P, R, gamma, S, A, V):
    """Half-width of the interval the bounds of Puterman Thm 6.6.3 put around V*, as an error
    bound for V: max_s max(|V - lo|, |V - hi|)."""
    TV = (R + gamma * (P @ V)).reshape(S, A).max(axis=1)
    d = TV - V
    f = gamma / (1 - gamma)
    lo, hi = TV + f * d.min(), TV + f * d.max()
    return float(np.maximum(np.abs(V - lo), np.abs(V - hi)).max())


def reference(w, V0=None, tol=1e-10, start="mdptoolkit's VI result"):
    """V* by raw SciPy: value iteration with the span rule from V0, then the exact value of its
    greedy policy when a direct solve is affordable; keep whichever has the smaller certificate."""
    S, A = wl.shape(w)
    gamma = float(w["gamma"])
    P, R = wl.csr(w), w["R"].reshape(-1)
    t0 = time.perf_counter()
    vi = _peers.raw_value_iteration(P, R, gamma, S, A, tol, V0=V0, max_iter=100_000)
    V, how = vi["V"], f"raw VI ({vi['iterations']} iterations from "
    how += f"{start})" if V0 is not None else "0)"
    cert = certificate(P, R, gamma, S, A, V)
    policy = vi["policy"]
    rows = policy + A * np.arange(S)
    try:
        if not wl.is_sparse(w) and S <= 5000:
            Vpi = np.linalg.solve(np.eye(S) - gamma * w["P"].reshape(S * A, S)[rows], R[rows])
        elif S <= 200_000 and not bool(w.get("random_graph", False)):
            # (a random graph's LU fills in to a dense S x S: the VI reference stands there)
            import scipy.sparse.linalg as spla
            Vpi = spla.splu(sp.csc_array(sp.eye_array(S) - gamma * P[rows])).solve(R[rows])
        else:
            Vpi = None
    except Exception:  # noqa: BLE001 - the VI reference stands
        Vpi = None
    if Vpi is not None:
        cert_pi = certificate(P, R, gamma, S, A, Vpi)
        if cert_pi < cert:
            V, cert, how = Vpi, cert_pi, "exact value of the greedy policy of " + how
    Q = (R + gamma * (P @ V)).reshape(S, A)
    return dict(V=V, Q=Q, policy=Q.argmax(axis=1), certificate=cert, how=how,
                seconds=time.perf_counter() - t0)


def judge(rec, ref, gamma, tmp_out):
    """Attach the true error and the policy-loss bound of a worker's saved result."""
    if rec.get("status") != "ok" or not os.path.exists(tmp_out):
        return
    with np.load(tmp_out) as f:
        V = f["V"]
        policy = f["policy"] if "policy" in f.files else None
    if V.shape != ref["V"].shape:
        rec["true_err"] = None
        rec["note"] = f"returned V of shape {V.shape}"
        return
    rec["true_err"] = float(np.abs(V - ref["V"]).max())
    if policy is not None and policy.shape == ref["V"].shape:
        Q = ref["Q"]
        gap = Q.max(axis=1) - Q[np.arange(Q.shape[0]), policy]
        rec["policy_loss_bound"] = float(max(gap.max(), 0.0) / (1 - gamma))
    os.remove(tmp_out)


# ---------------------------------------------------------------------- the suite
def available():
    out = {}
    for key, lib in _peers.LIBRARIES.items():
        try:
            out[key] = lib.version()
        except Exception as err:  # noqa: BLE001
            out[key] = None
            print(f"  {lib.name}: not installed ({type(err).__name__}); reported as missing")
    return out


def run_suite(args):
    versions = available()
    chosen = [w for w in workloads() if (w.quick if args.quick else w.full)
              and (not args.only or w.name in args.only)]
    tmp = Path(tempfile.mkdtemp(prefix="mdpbench-"))
    results = dict(machine=machine_info(), versions=versions, tol=args.tol, quick=args.quick,
                   clock=args.clock,
                   threads=os.environ["OPENBLAS_NUM_THREADS"], workloads={}, records=[])
    budget, long_run = (3.0, 3.0) if args.quick else (10.0, 8.0)
    skip = {}  # lib -> reason, after it failed on a smaller sparse workload
    t_suite = time.perf_counter()
    for W in chosen:
        t0 = time.perf_counter()
        w = W.build()
        path = tmp / f"{W.name}.npz"
        wl.save(w, path)
        S, A = wl.shape(w)
        gamma = float(w["gamma"])
        info = dict(title=W.title, S=S, A=A, gamma=gamma, sparse=wl.is_sparse(w),
                    nnz=int(wl.csr(w).nnz), P_bytes=wl.p_bytes(w), build_s=time.perf_counter() - t0)
        if W.name == "forest1000":
            info["matches_pymdptoolbox_forest"] = check_forest(w)
        results["workloads"][W.name] = info
        print(f"\n== {W.name}: {W.title} (S={S}, A={A}, nnz={info['nnz']:,})", flush=True)
        ref = None
        for task in (W.quick_tasks or W.tasks) if args.quick else W.tasks:
            default = W.timeout.get(task, 60 if args.quick else 180)
            if task == "backup":
                rec = run_worker(dict(workload=str(path), task="backup", clock=args.clock,
                                      rounds=9 if args.quick else 15), default, args.mem_gb)
                rec.update(workload=W.name, task="backup")
                results["records"].append(rec)
                print_backup(rec)
                continue
            libs = TASK_LIBS[task]
            for key in libs:
                if versions.get(key) is None:
                    rec = dict(status="missing", error="not installed")
                elif key in skip and wl.is_sparse(w) and S > 100_000:
                    rec = dict(status="skipped", error=skip[key])
                elif skip_reason(key, task, W, S, args):
                    rec = dict(status="skipped", error=skip_reason(key, task, W, S, args))
                else:
                    spec = dict(workload=str(path), lib=key, task=task, tol=args.tol,
                                out=str(tmp / f"out-{W.name}-{task}-{key}.npz"),
                                budget=budget, long=long_run, clock=args.clock)
                    if task == "eval":
                        spec["policy"] = str(tmp / f"policy-{W.name}.npz")
                    if ref is None and key != "ours":
                        ref = make_reference(w, tmp, W.name, results, info, tol=args.tol * 1e-3)
                    timeout = default if args.all else W.timeout.get(f"{task}:{key}", default)
                    rec = run_worker(spec, timeout, args.mem_gb)
                    if rec.get("status") == "ok" and ref is None:  # ours VI warm-starts V*
                        with np.load(spec["out"]) as f:
                            V0 = f["V"].copy()
                        ref = make_reference(w, tmp, W.name, results, info, V0=V0,
                                             tol=args.tol * 1e-3,
                                             start=f"mdptoolkit's {task.upper()} result")
                    if ref is not None:
                        judge(rec, ref, gamma, spec["out"])
                    if (task == "vi" and wl.is_sparse(w) and rec.get("status") in
                            ("failed", "timeout")):
                        skip[key] = f"{rec['status']} on {W.name} VI ({rec.get('error', '')[:80]})"
                rec.update(workload=W.name, task=task, lib=key)
                results["records"].append(rec)
                print_record(rec)
    if not args.only or "language" in args.only:
        rec = run_worker(dict(task="gradient", clock=args.clock, rounds=5 if args.quick else 9),
                         300, args.mem_gb)
        rec.update(workload="language", task="gradient")
        results["records"].append(rec)
        print(f"\n== language: LanguageMDP(vocab 10, max_len 6), exact gradient: {rec['status']} "
              f"{rec.get('error', '')}")
    results["suite_s"] = time.perf_counter() - t_suite
    results["machine"]["load_end"] = os.getloadavg()
    shutil.rmtree(tmp, ignore_errors=True)
    return results


def make_reference(w, tmp, name, results, info, V0=None, tol=1e-9, start=None):
    """V* for the workload (see reference()); saves its greedy policy for the "eval" task."""
    ref = reference(w, V0=V0, tol=tol, start=start)
    np.savez(tmp / f"policy-{name}.npz", policy=ref["policy"])
    info["reference"] = dict(how=ref["how"], certificate=ref["certificate"],
                             seconds=ref["seconds"])
    print(f"   V*: {ref['how']}, certified max|V_ref - V*| <= {ref['certificate']:.1e} "
          f"({ref['seconds']:.1f} s)", flush=True)
    return ref


def check_forest(w):
    try:
        import mdptoolbox.example
    except ImportError:
        return None
    P, R = mdptoolbox.example.forest(S=w["R"].shape[0])
    return bool(np.allclose(P.transpose(1, 0, 2), w["P"]) and np.allclose(R, w["R"]))


def machine_info():
    cpu = platform.processor()
    try:
        with open("/proc/cpuinfo") as f:
            names = [line.split(":", 1)[1].strip() for line in f if line.startswith("model name")]
        cpu = names[0] if names else cpu
    except OSError:
        pass
    import scipy
    return dict(cpu=cpu, cores=os.cpu_count(), python=platform.python_version(),
                numpy=np.__version__, scipy=scipy.__version__, load_start=os.getloadavg(),
                date=time.strftime("%Y-%m-%d %H:%M"))


# ---------------------------------------------------------------------- printing
def fmt_t(s):
    if s is None:
        return "-"
    return f"{s * 1e6:.0f} us" if s < 1e-3 else f"{s * 1e3:.1f} ms" if s < 1 else f"{s:.2f} s"


def fmt_e(x):
    return "-" if x is None else f"{x:.1e}"


def print_backup(rec):
    if rec["status"] != "ok":
        print(f"   backup: {rec['status']} {rec.get('error', '')}")
        return
    times = rec["times"]
    base = times.get("bare CSR matvec P @ V")
    gemv = times.get("bare dense GEMV P @ V")
    for name, t in sorted(times.items(), key=lambda kv: kv[1]):
        ratio = f"{t / base:5.2f}x CSR matvec" if base else ""
        r2 = f" {t / gemv:5.2f}x GEMV" if gemv else ""
        gbs = rec["bytes"].get(name, 0) / t / 1e9
        print(f"   backup {name:<52} {fmt_t(t):>9} {ratio}{r2}  {gbs:5.1f} GB/s")
    for name, why in rec.get("failures", {}).items():
        print(f"   backup {name:<52} {why}")


def print_record(rec):
    name = _peers.LIBRARIES[rec["lib"]].name
    if rec.get("status") != "ok":
        print(f"   {rec['task']:<4} {name:<22} {rec.get('status')}: {rec.get('error', '')[:120]}",
              flush=True)
        return
    it = rec.get("iterations")
    extra = f" (+{rec['inner_sweeps']} sweeps)" if rec.get("inner_sweeps") else ""
    print(f"   {rec['task']:<4} {name:<22} solve {fmt_t(rec['solve_s']):>9} "
          f"(setup {fmt_t(rec['setup_s'])}, {rec['runs']} runs)  iterations {it}{extra}  "
          f"max|V-V*| {fmt_e(rec.get('true_err'))}  policy loss <= "
          f"{fmt_e(rec.get('policy_loss_bound'))}", flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="smaller grids (100x100 for PI, no 1000x1000), fewer repeats")
    parser.add_argument("--json", metavar="PATH", help="write every measurement as JSON")
    parser.add_argument("--markdown", metavar="PATH", help="write the summary tables (Markdown)")
    parser.add_argument("--only", nargs="+", metavar="NAME",
                        help="workloads to run (names as printed; 'language' for workload 5)")
    parser.add_argument("--tol", type=float, default=1e-6,
                        help="accuracy asked of every VI/MPI, in each library's own sense")
    parser.add_argument("--threads", default="1", help="BLAS/OpenMP/Numba threads (default 1)")
    parser.add_argument("--all", action="store_true",
                        help="also attempt the measurements known to take minutes")
    parser.add_argument("--mem-gb", type=float, default=8.0,
                        help="address-space cap per measuring process (GB)")
    parser.add_argument("--busy", action="store_true",
                        help="keep a CPU-bound process running during the suite (the 'loaded "
                             "machine' run of issue 20)")
    args = parser.parse_args(argv)
    args.clock = "cpu" if args.threads == "1" else "wall"
    print(f"mdptoolkit benchmark suite ({'quick' if args.quick else 'full'}), tol={args.tol:g}, "
          f"threads={os.environ.get('OPENBLAS_NUM_THREADS')}")
    busy = (subprocess.Popen([sys.executable, "-c", "while True: pass"]) if args.busy
            else None)
    try:
        results = run_suite(args)
    finally:
        if busy is not None:
            busy.kill()
            busy.wait()
    results["busy"] = args.busy
    import _report
    text = _report.markdown(results)
    print("\n" + text)
    if args.markdown:
        Path(args.markdown).write_text(text)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1, default=float))
    print(f"suite took {results['suite_s']:.0f} s")


if __name__ == "__main__":
    main()
