"""One adapter per library: convert a plain-array workload to its layout, and wrap its solvers.

Each adapter has

- ``convert(w)``: the library's input layout, built from the plain arrays (not timed);
- ``prepare(task, layout, **params)``: the library's own setup for ``task`` (its model or solver
  object; timed separately as *setup*), returning a zero-argument ``run`` callable (timed as
  *solve*) that returns a dict with ``V``, ``policy`` and ``iterations`` (None when the library
  does not report it);
- ``backups(layout)``: name -> callable ``f(V)`` computing one Bellman optimality backup with
  the library's own operator (empty when the library exposes none).

Tasks: ``"vi"`` (value iteration to the accuracy ``tol`` in the library's own documented sense),
``"pi"`` (policy iteration), ``"mpi"`` (modified policy iteration, the library's defaults) and
``"eval"`` (exact evaluation of a given deterministic ``policy``). A task a library does not
have raises :class:`NotAvailable`.

Every solver object is built afresh for every timed run: pymdptoolbox's objects continue from
their last state when ``run()`` is called again, and mdpsolver warm-starts a second ``solve()``
from the first one's policy and values.
"""

from __future__ import annotations

import io
import os
import re
import sys
import tempfile

import _workloads as wl
import numpy as np
import scipy.sparse as sp

BIG_ITER = 10**6


class NotAvailable(Exception):
    """The library has no such operation."""


def _flat_R(w):
    return np.ascontiguousarray(w["R"])


# ---------------------------------------------------------------------- raw NumPy / SciPy
class Raw:
    """The floor: a few lines of NumPy/SciPy on the state-major (S*A, S) matrix."""

    name = "raw NumPy/SciPy"
    key = "raw"

    def version(self):
        import scipy
        return f"numpy {np.__version__}, scipy {scipy.__version__}"

    def convert(self, w):
        S, A = wl.shape(w)
        out = dict(csr=wl.csr(w), R=_flat_R(w).reshape(-1), S=S, A=A, gamma=float(w["gamma"]))
        if not wl.is_sparse(w):
            out["flat"] = np.ascontiguousarray(w["P"].reshape(S * A, S))
        return out

    def backups(self, L):
        S, A, g, R = L["S"], L["A"], L["gamma"], L["R"]
        P = L["csr"]
        out = {"bare CSR matvec P @ V": lambda V: P @ V,
               "CSR backup (R + g P V).reshape(S, A).max(1)":
                   lambda V: (R + g * (P @ V)).reshape(S, A).max(axis=1)}
        if "flat" in L:
            F = L["flat"]
            out["bare dense GEMV P @ V"] = lambda V: F @ V
            out["dense backup (R + g P V).reshape(S, A).max(1)"] = \
                lambda V: (R + g * (F @ V)).reshape(S, A).max(axis=1)
        return out

    def prepare(self, task, L, tol=None, policy=None):
        S, A, g, R, P = L["S"], L["A"], L["gamma"], L["R"], L["csr"]
        if task == "vi":
            return lambda: raw_value_iteration(P, R, g, S, A, tol)
        if task == "eval":
            rows = np.asarray(policy) + A * np.arange(S)
            if "flat" in L:
                M = np.eye(S) - g * L["flat"][rows]
                return lambda: dict(V=np.linalg.solve(M, R[rows]), policy=policy, iterations=None)
            import scipy.sparse.linalg as spla
            M = sp.csc_array(sp.eye_array(S) - g * P[rows])
            return lambda: dict(V=spla.splu(M).solve(R[rows]), policy=policy, iterations=None)
        raise NotAvailable(task)


def raw_value_iteration(P, R, gamma, S, A, tol, V0=None, max_iter=BIG_ITER):
    """Value iteration with the span rule and the MacQueen midpoint (Puterman 2005, Thm 6.6.3):
    returns V with max|V - V*| <= bound, bound = gamma/(1-gamma) span(TV - V)/2 <= tol."""
    V = np.zeros(S) if V0 is None else V0.copy()
    factor = gamma / (1 - gamma)
    best, best_k = np.inf, 0
    for k in range(1, max_iter + 1):
        Q = (R + gamma * (P @ V)).reshape(S, A)
        TV = Q.max(axis=1)
        d = TV - V
        lo, hi = d.min(), d.max()
        bound = factor * (hi - lo) / 2
        if bound <= tol or k - best_k > 200:  # the second: stalled at round-off
            return dict(V=TV + factor * (hi + lo) / 2, policy=Q.argmax(axis=1), iterations=k,
                        bound=float(bound))
        if bound < best:
            best, best_k = bound, k
        V = TV
    return dict(V=TV + factor * (hi + lo) / 2, policy=Q.argmax(axis=1), iterations=k,
                bound=float(bound))


# ---------------------------------------------------------------------- mdptoolkit
class Ours:
    """mdptoolkit as installed: its compiled loops (Numba, the ``fast`` extra) where it picks
    them, else its NumPy path."""
    name = "mdptoolkit"
    key = "ours"

    def _mt(self):
        import mdptoolkit as mt
        return mt

    def version(self):
        return getattr(self._mt(), "__version__", "dev")

    def convert(self, w):
        P = wl.csr(w) if wl.is_sparse(w) else w["P"]
        return dict(P=P, R=_flat_R(w), gamma=float(w["gamma"]))

    def build(self, L):
        return self._mt().MDP(L["P"], L["R"], L["gamma"])

    def backups(self, L):
        mt = self._mt()
        from mdptoolkit.operators import _Backup
        mdp = self.build(L)
        b = _Backup(mdp)
        out = np.empty(mdp.n_states)
        cands = {"mdptoolkit _Backup.max (solver inner loop)": lambda V: b.max(V, out=out)[0],
                 "mdptoolkit mt.bellman_optimality (public)":
                     lambda V: mt.bellman_optimality(mdp, V)}
        from mdptoolkit.solvers import _kernels as K
        kernels = self._kernels() and K.for_mdp(mdp)  # the loop value_iteration runs
        if kernels:
            op, R = mdp._op, np.array(mdp._R_am)
            stats = np.empty((K.n_blocks(kernels), 4))
            if sp.issparse(op):
                args = (op.indptr, op.indices, op.data)
                fused = kernels.backup_csr
            else:
                args, fused = (op,), kernels.backup_dense

            def compiled(V):
                fused(*args, R, mdp.gamma, V, out, stats)
                return out

            cands[COMPILED_BACKUP] = compiled
        return cands

    def _kernels(self):
        from mdptoolkit.solvers import _kernels as K
        return K.compiled()

    def op_bytes(self, L):
        """Bytes of the matrix the backup multiplies by (dense or CSR)."""
        op = self.build(L)._op
        if sp.issparse(op):
            return int(op.data.nbytes + op.indices.nbytes + op.indptr.nbytes)
        return int(op.nbytes)

    def held_bytes(self, L):
        """Bytes of every array the MDP object holds (views counted once, by their base)."""
        mdp = self.build(L)
        seen, total = set(), 0
        for value in vars(mdp).values():
            arrays = ([value.data, value.indices, value.indptr] if sp.issparse(value)
                      else [value] if isinstance(value, np.ndarray) else [])
            for arr in arrays:
                base = arr
                while isinstance(base.base, np.ndarray):
                    base = base.base
                if id(base) not in seen:
                    seen.add(id(base))
                    total += base.nbytes
        return int(total)

    def prepare(self, task, L, tol=None, policy=None, max_iter=None):
        mt = self._mt()
        mdp = self.build(L)

        def result(r):
            return dict(V=r.V, policy=r.policy, iterations=r.iterations,
                        error_bound=r.error_bound, converged=r.converged)

        if task == "vi":
            return lambda: result(mt.value_iteration(mdp, tol=tol, max_iter=max_iter))
        if task == "gs":
            return lambda: result(mt.value_iteration(mdp, tol=tol, max_iter=max_iter,
                                                     gauss_seidel=True))
        if task == "pi":
            return lambda: result(mt.policy_iteration(mdp))
        if task == "mpi":
            return lambda: result(mt.modified_policy_iteration(mdp, tol=tol))
        if task == "eval":
            return lambda: dict(V=mt.evaluate_policy(mdp, policy), policy=policy, iterations=None)
        raise NotAvailable(task)


# ---------------------------------------------------------------------- pymdptoolbox / hiive
class PyMDPToolbox:
    name = "pymdptoolbox"
    key = "pymdptoolbox"
    gamma_kw = "discount"

    def _mdp(self):
        import mdptoolbox.mdp
        return mdptoolbox.mdp

    def version(self):
        from importlib.metadata import version
        return version("pymdptoolbox")

    def convert(self, w):
        S, A = wl.shape(w)
        if wl.is_sparse(w):
            P = wl.csr(w)
            # its documented sparse input: one (S, S) scipy.sparse matrix per action
            Pl = [sp.csr_matrix(P[np.arange(S) * A + a]) for a in range(A)]
        else:
            Pl = np.ascontiguousarray(w["P"].transpose(1, 0, 2))
        return dict(P=Pl, R=_flat_R(w), gamma=float(w["gamma"]))

    def backups(self, L):
        m = self._mdp().MDP(L["P"], L["R"], L["gamma"], None, None)
        return {f"{self.name} MDP._bellmanOperator (private)": lambda V: m._bellmanOperator(V)[1]}

    def prepare(self, task, L, tol=None, policy=None):
        mdp = self._mdp()
        args = (L["P"], L["R"], L["gamma"])
        if task == "vi":
            obj = mdp.ValueIteration(*args, epsilon=tol)
        elif task == "pi":
            obj = mdp.PolicyIteration(*args)
        elif task == "mpi":
            obj = mdp.PolicyIterationModified(*args, epsilon=tol)
        elif task == "eval":
            obj = mdp.PolicyIteration(*args, policy0=np.asarray(policy))

            def run_eval():
                obj._evalPolicyMatrix()
                return dict(V=np.asarray(obj.V).reshape(-1), policy=policy, iterations=None)
            return run_eval
        else:
            raise NotAvailable(task)

        def run():
            obj.run()
            return dict(V=np.asarray(obj.V, dtype=float).reshape(-1),
                        policy=np.asarray(obj.policy), iterations=int(obj.iter))
        return run


class Hiive(PyMDPToolbox):
    name = "mdptoolbox-hiive"
    key = "hiive"

    def _mdp(self):
        from hiive.mdptoolbox import mdp
        return mdp

    def version(self):
        from importlib.metadata import version
        return version("mdptoolbox-hiive")


# ---------------------------------------------------------------------- QuantEcon
class QuantEcon:
    name = "quantecon DiscreteDP"
    key = "quantecon"

    def version(self):
        import quantecon
        return quantecon.__version__

    def convert(self, w):
        S, A = wl.shape(w)
        g = float(w["gamma"])
        if wl.is_sparse(w):
            # the state-action-pair formulation, its form for sparse transitions
            return dict(R=_flat_R(w).reshape(-1), Q=wl.csr(w), beta=g,
                        s_indices=np.repeat(np.arange(S), A), a_indices=np.tile(np.arange(A), S))
        return dict(R=_flat_R(w), Q=np.ascontiguousarray(w["P"]), beta=g)

    def build(self, L):
        from quantecon.markov import DiscreteDP
        if "s_indices" in L:
            return DiscreteDP(L["R"], L["Q"], L["beta"], L["s_indices"], L["a_indices"])
        return DiscreteDP(L["R"], L["Q"], L["beta"])

    def backups(self, L):
        ddp = self.build(L)
        out = np.empty(ddp.num_states)
        return {"quantecon DiscreteDP.bellman_operator": lambda V: ddp.bellman_operator(V, Tv=out)}

    def prepare(self, task, L, tol=None, policy=None):
        ddp = self.build(L)

        def result(res):
            return dict(V=np.asarray(res.v), policy=np.asarray(res.sigma),
                        iterations=int(res.num_iter))

        if task == "vi":
            return lambda: result(ddp.solve(method="value_iteration", epsilon=tol,
                                            max_iter=BIG_ITER))
        if task == "pi":
            return lambda: result(ddp.solve(method="policy_iteration", max_iter=1000))
        if task == "mpi":
            return lambda: result(ddp.solve(method="modified_policy_iteration", epsilon=tol,
                                            max_iter=BIG_ITER))
        if task == "eval":
            sigma = np.asarray(policy)
            return lambda: dict(V=ddp.evaluate_policy(sigma), policy=policy, iterations=None)
        raise NotAvailable(task)


# ---------------------------------------------------------------------- mdpsolver
class _Fd1Log:
    """Everything C++ code writes to file descriptor 1 (std::cout) goes to a temporary file,
    read back after each solve; Python's own output keeps the original descriptor."""

    def __init__(self):
        sys.stdout.flush()
        self.saved = os.dup(1)
        self.file = tempfile.TemporaryFile(mode="w+b")  # noqa: SIM115 - lives as long as the process
        os.dup2(self.file.fileno(), 1)
        sys.stdout = io.TextIOWrapper(os.fdopen(self.saved, "wb", buffering=0),
                                      write_through=True)
        self.pos = 0

    def new_text(self):
        self.file.seek(self.pos)
        data = self.file.read()
        self.pos += len(data)
        return data.decode(errors="replace")


_LOG = None


class MDPSolver:
    name = "mdpsolver"
    key = "mdpsolver"
    algorithms = ("vi", "pi", "mpi")  # its names for our tasks

    def version(self):
        from importlib.metadata import version
        return version("mdpsolver")

    def convert(self, w):
        S, A = wl.shape(w)
        P = wl.csr(w)
        data, cols, ptr = P.data.tolist(), P.indices.tolist(), P.indptr.tolist()
        probs = [[data[ptr[s * A + a]:ptr[s * A + a + 1]] for a in range(A)] for s in range(S)]
        columns = [[cols[ptr[s * A + a]:ptr[s * A + a + 1]] for a in range(A)] for s in range(S)]
        return dict(probs=probs, columns=columns, rewards=_flat_R(w).tolist(),
                    gamma=float(w["gamma"]), S=S)

    def build(self, L):
        import mdpsolver
        m = mdpsolver.model()
        m.mdp(discount=L["gamma"], rewards=L["rewards"], tranMatProbs=L["probs"],
              tranMatColumns=L["columns"])
        return m

    def backups(self, L):
        return {}

    def prepare(self, task, L, tol=None, policy=None):
        if task not in self.algorithms:
            raise NotAvailable(task)
        m = self.build(L)
        alg = task
        global _LOG
        if _LOG is None:
            _LOG = _Fd1Log()
        _LOG.new_text()

        def run():
            # verbose: mdpsolver reports its iteration counts only in its log (a few lines per
            # solve, written to a file; negligible next to the solve)
            m.solve(algorithm=alg, tolerance=tol, verbose=True)
            log = _LOG.new_text()
            found = re.search(r"Solution found in (\d+) iterations", log)
            inner = [int(x) for x in re.findall(r"parIter (\d+)", log)]
            return dict(V=np.array(m.getValueVector()), policy=np.array(m.getPolicy()),
                        iterations=int(found.group(1)) if found else None,
                        inner_sweeps=sum(inner) if inner and task != "vi" else None)
        return run


class OursNumPy(Ours):
    """mdptoolkit with its compiled loops switched off: the NumPy path (what users without the
    ``fast`` extra get)."""
    name = "mdptoolkit (NumPy path)"
    key = "ours-numpy"

    def _mt(self):
        import mdptoolkit as mt
        from mdptoolkit.evaluation import _kernels as E
        from mdptoolkit.solvers import _kernels as K
        K.MIN_WORK = E.MIN_WORK = 1 << 62
        return mt

    def backups(self, L):
        return {}  # its backup is the _Backup.max row of Ours

    def _kernels(self):
        return None


COMPILED_BACKUP = "mdptoolkit compiled fused backup (solver inner loop with Numba)"
LIBRARIES = {lib.key: lib for lib in (Raw(), Ours(), OursNumPy(), PyMDPToolbox(), Hiive(),
                                      QuantEcon(), MDPSolver())}
PEERS = ("pymdptoolbox", "hiive", "quantecon", "mdpsolver")
