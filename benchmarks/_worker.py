"""One measurement in its own process: ``python _worker.py '<json spec>'``.

``run.py`` starts one of these per (workload, library, task) with a timeout and an address-space
limit, so that a peer that hangs, loops or tries to allocate a dense S x S matrix cannot take the
suite (or the machine) down. The spec names the workload file, the library, the task and the
timing budget; the worker prints one JSON line (its last) and saves arrays to ``spec["out"]``.

Timing protocol: a warm-up solve on a 12-state MDP of the same storage kind (imports, Numba
compilation, first-touch allocations), then the real solve; if it took less than ``long``
seconds it counts as a second warm-up and the median of up to 7 further solves (as many as fit
in ``budget`` seconds, at least 3) is reported, else that single solve is.
"""

from __future__ import annotations

import json
import os
import sys
import time
import timeit
import traceback
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(1, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import _peers  # noqa: E402
import _workloads as wl  # noqa: E402

# CPU time of this (single-threaded) process: unlike wall time it does not count the time the
# scheduler gives to other work on a shared machine. With --threads > 1 run.py asks for wall time.
CLOCK = time.process_time


def timed(f, *args, **kwargs):
    t = CLOCK()
    out = f(*args, **kwargs)
    return CLOCK() - t, out


def solve_task(spec, w, lib):
    task = spec["task"]
    params = dict(tol=spec.get("tol"))
    if task == "eval":
        params = dict(policy=np.load(spec["policy"])["policy"])
    tiny = wl.tiny_like(w)
    tiny_params = dict(params)
    if task == "eval":
        tiny_params["policy"] = np.zeros(tiny["R"].shape[0], dtype=int)
    # warm-up on a tiny instance of the same kind
    lib.prepare(task, lib.convert(tiny), **tiny_params)()
    t_conv, layout = timed(lib.convert, w)
    setups, solves = [], []
    t_setup, run = timed(lib.prepare, task, layout, **params)
    t_solve, res = timed(run)
    warm = False
    if t_solve < spec["long"]:
        warm = True
        n_target = 7 if t_solve < 0.1 else 5 if t_solve < 1.0 else 3
        spent = 0.0
        while len(solves) < n_target and (len(solves) < 3 or spent < spec["budget"]):
            t_setup, run = timed(lib.prepare, task, layout, **params)
            t_solve, res = timed(run)
            setups.append(t_setup)
            solves.append(t_solve)
            spent += t_setup + t_solve
    else:
        setups, solves = [t_setup], [t_solve]
    out = dict(convert_s=t_conv, setup_s=float(np.median(setups)), solve_s=float(np.median(solves)),
               solve_min_s=float(min(solves)), runs=len(solves), warm=warm,
               iterations=res.get("iterations"))
    for key in ("error_bound", "converged"):
        if res.get(key) is not None:
            out[key] = res[key] if not isinstance(res[key], np.generic) else res[key].item()
    if res.get("inner_sweeps"):
        out["inner_sweeps"] = res["inner_sweeps"]
    if isinstance(lib, _peers.Ours) and task == "vi":
        out.update(memory(lib, layout, spec["tol"], long=t_solve > spec["long"]))
    arrays = dict(V=np.asarray(res["V"], dtype=float))
    if res.get("policy") is not None:
        arrays["policy"] = np.asarray(res["policy"]).astype(np.int64)
    np.savez(spec["out"], **arrays)
    return out


def memory(lib, layout, tol, long):
    """Peak traced allocation during one value_iteration call, next to the size of P."""
    import tracemalloc
    run = lib.prepare("vi", layout, tol=tol, max_iter=50 if long else None)
    tracemalloc.start()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        run()
    peak = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    return dict(vi_peak_bytes=int(peak), held_bytes=lib.held_bytes(layout),
                memory_run="max_iter=50" if long else "full")


def interleaved(cands, V, rounds, target=0.02):
    """Median seconds per call of each candidate, measured in interleaved rounds."""
    numbers = {}
    for name, f in cands.items():
        f(V)
        t = timeit.timeit(lambda f=f: f(V), number=1, timer=CLOCK)
        numbers[name] = max(1, int(target / max(t, 1e-7)))
    samples = {name: [] for name in cands}
    rng = np.random.default_rng(0)
    names = list(cands)
    for _ in range(rounds):
        rng.shuffle(names)
        for name in names:
            f, n = cands[name], numbers[name]
            samples[name].append(timeit.timeit(lambda f=f: f(V), number=n, timer=CLOCK) / n)
    return {name: float(np.median(s)) for name, s in samples.items()}


def backup_task(spec, w):
    S, A = wl.shape(w)
    rng = np.random.default_rng(0)
    V = rng.random(S) * 10
    cands, bytes_of, failures = {}, {}, {}
    raw = _peers.LIBRARIES["raw"]
    L_raw = raw.convert(w)
    reference = raw.backups(L_raw)["CSR backup (R + g P V).reshape(S, A).max(1)"](V)
    csr_bytes = int(L_raw["csr"].data.nbytes + L_raw["csr"].indices.nbytes
                    + L_raw["csr"].indptr.nbytes)
    for key in ["raw", "ours"] + list(_peers.PEERS):
        lib = _peers.LIBRARIES[key]
        try:
            L = L_raw if key == "raw" else lib.convert(w)
            fs = lib.backups(L)
        except Exception as err:  # a peer that cannot even take the input
            failures[lib.name] = f"{type(err).__name__}: {str(err)[:200]}"
            continue
        if not fs:
            failures[lib.name] = "no backup operator exposed"
        for name, f in fs.items():
            try:
                result = np.asarray(f(V)).reshape(-1)
                diff = 0.0 if name.startswith("bare") else float(np.abs(result - reference).max())
            except Exception as err:
                failures[name] = f"{type(err).__name__}: {str(err)[:200]}"
                continue
            if diff <= 1e-9 * (1 + np.abs(reference).max()):
                cands[name] = f
            else:
                failures[name] = f"wrong result: max diff {diff:.3g}"
            if key == "ours":
                bytes_of[name] = _peers.LIBRARIES["ours"].op_bytes(L)
            elif "dense" in name or "GEMV" in name or (key != "raw" and not wl.is_sparse(w)):
                bytes_of[name] = S * A * S * 8  # the peers multiply by the dense P as given
            else:
                bytes_of[name] = csr_bytes
    times = interleaved(cands, V, rounds=spec.get("rounds", 15))
    return dict(times=times, bytes=bytes_of, failures=failures, csr_bytes=csr_bytes,
                dense_bytes=None if wl.is_sparse(w) else S * A * S * 8)


#: The timing the issue-4 target is about: the default exact gradient (compiled loops when Numba
#: is installed).
GRADIENT = "mt.exact_gradient (TabularSoftmax)"


def gradient_task(spec):
    import mdptoolkit as mt
    from mdptoolkit.language import LanguageMDP, sequence_ids
    V, L = spec.get("vocab", 10), spec.get("max_len", 6)
    vocab = [f"w{i}" for i in range(V)]
    ids, lengths = sequence_ids(V, L)
    rewards = 0.5 * (ids[:, 0] == 3) - 0.1 * lengths
    lm = LanguageMDP(vocab, L, rewards)
    mdp = lm.mdp
    S, A = mdp.n_states, mdp.n_actions
    rng = np.random.default_rng(0)
    theta = rng.normal(size=(S, A))
    v = rng.random(S)
    P = mdp.P
    tab = mt.TabularSoftmax(S, A)
    from mdptoolkit.gradient import _fused
    compiled = _fused.compiled() is not None

    def numpy_passes(_):  # the prefix tree's NumPy passes, as without Numba
        saved, _fused.MIN_ENTRIES = _fused.MIN_ENTRIES, float("inf")
        try:
            return mt.exact_gradient(mdp, tab, theta)
        finally:
            _fused.MIN_ENTRIES = saved

    ref = lm.reference_policy
    cands = {"sparse matvec P @ v": lambda _: P @ v,
             GRADIENT: lambda _: mt.exact_gradient(mdp, tab, theta),
             "mt.exact_gradient, beta = 0.1 (KL to the bigram reference)":
                 lambda _: mt.exact_gradient(mdp, tab, theta, beta=0.1, reference=ref),
             "mt.evaluate_policy of the softmax policy":
                 lambda _: mt.evaluate_policy(mdp, tab.policy(theta))}
    if compiled:
        cands["mt.exact_gradient without Numba (the NumPy passes)"] = numpy_passes
    try:
        from bench_language import tree_gradient
        theta_am = np.ascontiguousarray(theta.T)
        J0, g0 = tree_gradient(lm, theta_am)
        J, g = mt.exact_gradient(mdp, tab, theta)
        agree = abs(J - J0) < 1e-9 and float(np.abs(g - g0.T).max()) < 1e-9
        cands["raw-NumPy floor (tree sweeps, bench_language.py)"] = \
            lambda _: tree_gradient(lm, theta_am)
    except ImportError:
        agree = None
    times = interleaved(cands, None, rounds=spec.get("rounds", 7), target=0.2)
    return dict(times=times, states=S, actions=A, nnz=int(P.nnz), floor_agrees=agree,
                compiled=compiled)


def main():
    global CLOCK
    spec = json.loads(sys.argv[1])
    if spec.get("clock") == "wall":
        CLOCK = time.perf_counter
    warnings.simplefilter("ignore")
    try:
        if spec["task"] == "gradient":
            out = gradient_task(spec)
        else:
            w = wl.load(spec["workload"])
            if spec["task"] == "backup":
                out = backup_task(spec, w)
            else:
                lib = _peers.LIBRARIES[spec["lib"]]
                out = solve_task(spec, w, lib)
        out["status"] = "ok"
    except _peers.NotAvailable:
        out = dict(status="n/a")
    except MemoryError:
        out = dict(status="failed", error="MemoryError (address space capped at "
                                           f"{spec.get('mem_gb')} GB)",
                   trace=traceback.format_exc()[-1500:])
    except BaseException as err:  # noqa: BLE001 - report any failure of a peer, even SystemExit
        out = dict(status="failed", error=f"{type(err).__name__}: {str(err)[:300]}",
                   trace=traceback.format_exc()[-1500:])
    sys.stdout.flush()
    print("\n" + json.dumps(out, default=float), flush=True)


if __name__ == "__main__":
    main()
