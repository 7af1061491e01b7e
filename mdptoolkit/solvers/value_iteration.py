r"""Value iteration, :math:`V_{k+1} = T V_k` (Jacobi or Gauss–Seidel), stopped by the span bound
with the MacQueen–Porteus correction (``mdptoolkit._stopping``)."""

from __future__ import annotations

import time
import types
from collections.abc import Callable
from typing import Any

import numpy as np

from .. import _validation as val
from .._stopping import SpanRule, callback_state
from .._typing import ArrayLike, Callback, FloatArray, IntArray
from ..evaluation.sweeps import default_max_iter
from ..mdp import MDP
from ..operators import _Backup
from ..result import SolverResult
from . import _gauss_seidel, _kernels
from ._common import _finish, _initial_values, check_rewards

#: Iterations per run of the compiled loop (its statistics are replayed between runs).
CHUNK = 4096


def value_iteration(mdp: MDP, *, tol: float = 1e-8, max_iter: int | None = None,
                    V0: ArrayLike | None = None, gauss_seidel: bool = False,
                    callback: Callback | None = None) -> SolverResult:
    r"""Value iteration with a stopping rule that guarantees what it says.

    Parameters
    ----------
    mdp : MDP
    tol : float
        Target accuracy (see the guarantee below).
    max_iter : int, optional
        Default: for :math:`\gamma < 1` the a-priori number of iterations after which the rule
        must hold in exact arithmetic (the span contracts by at least :math:`\gamma` per step),
        capped at 10^6; 100 000 for :math:`\gamma = 1`.
    V0 : array_like (S,), optional
        Initial values (default 0; terminal entries are set to 0).
    gauss_seidel : bool
        Each iteration makes one Gauss–Seidel sweep in index order (states updated in place,
        each from the values already updated, these read back less the sweep's mean change
        so far, so that the sweep commutes with constants), then one Jacobi backup of the
        result: the span rule is checked there, so the guarantee below is the same, and the
        next iteration starts from its corrected midpoint (``mdptoolkit.solvers._gauss_seidel``
        gives the proof, the shift and the order). About half of Jacobi's iterations on most
        MDPs, at two passes over P each. If over 10 iterations the bound falls by less than
        the factor gamma^10 that Jacobi iteration guarantees, the sweeps stop and the run
        goes on as Jacobi iteration (the message says from which iteration). Compiled with
        Numba (the ``fast`` extra); without it a Python loop over states, meant for teaching
        and small MDPs. ``history["residual"]`` is then max|TW - W| at the Gauss–Seidel
        iterate W.
    callback : callable, optional
        ``callback(k, state)`` after iteration k, with ``state.V``, ``state.residual`` and
        ``state.error_bound``; returning True stops (``converged=False``).

    Returns
    -------
    SolverResult
        ``V`` is the corrected midpoint of the bounds below on *every* exit (converged or not:
        ``max_iter``, a stall at round-off level, a callback), and ``error_bound`` its
        guaranteed max|V - V*| (None for :math:`\gamma = 1`, where no such bound exists; the
        message says so). ``history`` has one entry per iteration (``iterations`` entries):
        ``residual`` (max|V_k+1 - V_k|), ``error_bound`` (the guaranteed max|V - V*| had the
        method stopped there) and ``elapsed`` (seconds).

    Raises
    ------
    MDPValidationError
        When the values overflow float64 (:math:`\max|R|/(1-\gamma)` beyond ~1e307, or an
        iterate that is not finite).

    Notes
    -----
    Let :math:`V` be the last iterate, :math:`m, M` the minimum and maximum of :math:`TV - V`.
    The bounds of Puterman (2005, Thm 6.6.3)

    .. math::

        TV + \tfrac{\gamma}{1-\gamma} m \le V^* \le TV + \tfrac{\gamma}{1-\gamma} M

    hold for every :math:`V`. The method returns the midpoint
    :math:`\hat V = TV + \tfrac{\gamma}{1-\gamma}\tfrac{m+M}{2}` and stops as soon as
    :math:`\tfrac{\gamma}{1-\gamma}(M - m)\max(\tfrac12, \gamma) \le` ``tol``. Then

    1. :math:`\max_s|\hat V(s) - V^*(s)| \le \tfrac{\gamma}{2(1-\gamma)}(M - m) \le` ``tol``;
    2. the greedy policy :math:`\pi` of :math:`\hat V` (the same as that of :math:`TV`) satisfies
       :math:`0 \le V^* - V^\pi \le \tfrac{\gamma}{1-\gamma}\mathrm{sp}(T^2V - TV) \le
       \tfrac{\gamma^2}{1-\gamma}(M - m) \le` ``tol``, by the same bounds applied at
       :math:`TV` and :math:`\mathrm{sp}(T^2 V - TV) \le \gamma\,\mathrm{sp}(TV - V)`
       (Puterman 2005, Prop. 6.6.1), together with
       :math:`V^\pi \ge T(TV) + \tfrac{\gamma}{1-\gamma}\min(T^2V - TV)`.

    Peers that stop on the span but return :math:`TV` uncorrected are off by up to
    :math:`\tfrac{\gamma}{1-\gamma}\max|m|` — a constant, often large. If round-off keeps the
    span from falling below what ``tol`` needs (e.g. ``tol=1e-8`` at :math:`\gamma = 0.9999`
    with :math:`|V| \sim 10^4`), the method stops with ``converged=False`` and says so.

    With :math:`\gamma = 1` no such bound exists: ``tol`` bounds the residual
    :math:`\max|TV - V|` and the message says so.

    With Numba installed (the ``fast`` extra) and no ``callback``, the iterations run as one
    compiled loop (``mdptoolkit.solvers._kernels``: the backup, the maximum over actions
    and the statistics of :math:`TV - V` in one pass over P, and the rule's decisions inside)
    on MDPs where the Python around each backup is a sizeable share of the time; the rule
    replays the loop's statistics, so iterations, history and result are those of the NumPy
    path up to round-off (``history["elapsed"]`` is then interpolated within each compiled run).

    References
    ----------
    Puterman, M. L. (2005). *Markov Decision Processes*, §6.3 and §6.6. Wiley.

    Examples
    --------
    >>> import numpy as np, mdptoolkit as mt
    >>> P = np.zeros((2, 2, 2)); P[0, 0] = [0.5, 0.5]; P[0, 1] = [0, 1]; P[1, :] = [0, 1]
    >>> mdp = mt.MDP(P, [[5.0, 10.0], [-1.0, -1.0]], 0.95)   # Puterman (2005), §3.1
    >>> result = mt.value_iteration(mdp, tol=1e-9)
    >>> result.converged, np.round(result.V, 6), result.policy
    (True, array([ -8.571429, -20.      ]), array([0, 0]))
    >>> result.error_bound <= 1e-9
    True
    >>> seidel = mt.value_iteration(mdp, tol=1e-9, gauss_seidel=True)  # same guarantee
    >>> seidel.iterations, result.iterations, bool(np.abs(seidel.V - result.V).max() <= 1e-9)
    (16, 32, True)
    """
    tol = val.check_positive(tol, "tol")
    check_rewards(mdp)
    V = _initial_values(mdp, V0)
    backup = _Backup(mdp)
    TV = np.empty_like(V)
    # the backup's scratch vector is free between backups: the rule computes TV - V in it
    rule = SpanRule(mdp.gamma, tol, mdp.n_states, row_error=mdp._row_error, work=backup.x)
    if max_iter is None:
        diff0 = backup.max(V, out=TV)[0] - V
        span0 = float(np.ptp(diff0))
        if gauss_seidel and mdp.gamma < 1:
            # no a-priori span contraction for the shifted Gauss-Seidel iterates (the safeguard
            # holds them to Jacobi's rate or hands over to Jacobi); the generous count of plain
            # sweeps, span(TV_k - V_k) <= 2 (1 + gamma) |V_k - V*|
            # <= 2 (1 + gamma) gamma^k |TV0 - V0| / (1 - gamma), leaves room for both
            span0 = 4 * float(np.abs(diff0).max()) / (1 - mdp.gamma)
        max_iter = default_max_iter(mdp.gamma, tol, span0)
    max_iter = val.check_positive(max_iter, "max_iter", integer=True)
    elapsed: list[float] = []
    start = time.perf_counter()
    converged, by_callback, k = False, False, 0
    # Gauss-Seidel: compiled at every size (the NumPy sweep is a Python loop over states)
    kernels = (_kernels.for_mdp(mdp, upto=None) if gauss_seidel
               else _kernels.for_mdp(mdp) if rule.discounted else None)
    sweep = _gauss_seidel.forward_sweep(mdp, kernels) if gauss_seidel else None
    jacobi_from = np.zeros(1, dtype=np.int64)  # Gauss-Seidel: the iteration the sweeps stopped
    recent = np.full(_kernels.GS_PATIENCE, np.inf)  # ... and the bounds of the last iterations
    if kernels is not None and callback is None and rule.discounted:
        k, converged, V, TV = _compiled_run(kernels, mdp, rule, V, TV, max_iter, elapsed,
                                            gauss_seidel, jacobi_from, recent)
        max_iter_left = 0  # the compiled loop ran
    else:
        max_iter_left = max_iter
    iteration = (_gauss_seidel_iteration(mdp, kernels, backup, rule, sweep, jacobi_from,
                                         recent)
                 if sweep is not None else None)
    for k in range(1, max_iter_left + 1):
        if iteration is not None:
            done = iteration(k, V, TV)  # sweeps V in place; the rule checks a Jacobi backup of it
        else:
            backup.max(V, out=TV)
            done = rule.update(k, V, TV)
        elapsed.append(time.perf_counter() - start)
        if done:
            converged = True
            break
        if rule.stop_reason or k == max_iter:
            break
        if callback is not None and callback(k, callback_state(V=TV if sweep is None else V,
                                                               residual=rule.residual[-1],
                                                               error_bound=rule.bound[-1])):
            by_callback = True
            break
        if sweep is not None:
            np.add(TV, rule.offset, out=V)  # restart from the midpoint (gamma = 1: TV itself)
        else:
            V, TV = TV, V
    rule.check_overflow("value_iteration")
    # every exit: TV = T(last iterate), and its midpoint correction is what the bound certifies
    spare, V = V, rule.corrected(TV, out=TV)  # the last iterate's buffer is free now
    message = rule.final_message(converged, by_callback, k, max_iter, float(np.abs(TV).max()))
    if jacobi_from[0]:
        message += _gauss_seidel.JACOBI_NOTE.format(k=int(jacobi_from[0]),
                                                   patience=_kernels.GS_PATIENCE)
    return _finish(mdp, "value_iteration", V, k, converged, message, rule.history(elapsed),
                   rule.error_bound, backup=backup, spare=spare)


def _compiled_run(kernels: types.SimpleNamespace, mdp: MDP, rule: SpanRule, V: FloatArray,
                  TV: FloatArray, max_iter: int, elapsed: list[float],
                  gauss_seidel: bool, jacobi_from: IntArray,
                  recent: FloatArray) -> tuple[int, bool, FloatArray, FloatArray]:
    """Value iteration by the compiled loop (:mod:`._kernels`), in runs of up to CHUNK
    iterations without Python; the rule replays each run's statistics and decides as on the
    NumPy path. ``elapsed`` gets one entry per iteration (interpolated within a run).
    Returns (iterations, converged, last iterate, T of it) (the two buffers V and TV, in
    some order). Gauss–Seidel: ``jacobi_from`` and ``recent`` as in
    :func:`._kernels.gs_loop_csr`."""
    op = mdp._op
    R = np.array(mdp._R_am)  # writable: Numba reads read-only arrays markedly slower
    args: tuple[Any, ...]
    if isinstance(op, np.ndarray):
        loop, args = (kernels.gs_loop_dense if gauss_seidel else kernels.vi_loop_dense), (op,)
    else:
        loop = kernels.gs_loop_csr if gauss_seidel else kernels.vi_loop_csr
        args = (op.indptr, op.indices, op.data)
    stats = np.empty((_kernels.n_blocks(kernels), 4))
    history = np.empty((min(CHUNK, max_iter), 3))
    start = last = time.perf_counter()
    k = 0
    while True:
        n, code, best, best_k, swapped = loop(
            *args, R, mdp.gamma, V, TV, stats, history, min(CHUNK, max_iter - k), rule.tol,
            rule.factor, rule.weight, rule.row_error, rule.best, rule.best_k, k, rule.patience,
            *((jacobi_from, recent, np.ascontiguousarray(R.T)) if gauss_seidel else ()))
        if swapped:
            V, TV = TV, V
        rule.extend(history[:n - 1], best, best_k)
        lo, hi, scale = history[n - 1]
        done = rule.record(k + n, float(lo), float(hi), float(scale),
                           finite=code != _kernels.DIVERGED)
        now = time.perf_counter()
        elapsed.extend((last - start + (now - last) * np.arange(1, n + 1) / n).tolist())
        last, k = now, k + n
        if done or rule.stop_reason or k >= max_iter:
            return k, done, V, TV
        # a pause that is no stall, or the end of a run: go on from TV (Gauss-Seidel: from
        # its midpoint)
        if gauss_seidel:
            np.add(TV, rule.offset, out=V)
        else:
            V, TV = TV, V


def _gauss_seidel_iteration(
        mdp: MDP, kernels: types.SimpleNamespace | None, backup: _Backup, rule: SpanRule,
        sweep: Callable[[FloatArray], None],
        jacobi_from: IntArray,
        recent: FloatArray) -> Callable[[int, FloatArray, FloatArray], bool]:
    """``iteration(k, W, TW)``: the forward sweep of W in place (``sweep``), the
    Jacobi backup TW = T W of the resulting Gauss–Seidel iterate and the span rule's verdict on
    it (``_gauss_seidel``), by the compiled fused backup when given. As the compiled loop
    does, it stops sweeping (and records the iteration in ``jacobi_from[0]``) when the sweeps
    fall behind (``_kernels._gs_give_up``)."""
    def give_up(k: int) -> None:
        if jacobi_from[0] == 0 and rule.discounted:
            _kernels._gs_give_up(rule.stats, k, rule.gamma, rule.factor, rule.row_error,
                                 jacobi_from, recent)
        elif jacobi_from[0] == 0 and k - rule.best_k >= _kernels.GS_PATIENCE:  # gamma = 1
            jacobi_from[0] = k

    if kernels is None:
        def numpy_iteration(k: int, W: FloatArray, TW: FloatArray) -> bool:
            if jacobi_from[0] == 0:
                sweep(W)
            backup.max(W, out=TW)
            done = rule.update(k, W, TW)
            give_up(k)
            return done

        return numpy_iteration
    op = mdp._op
    R = np.array(mdp._R_am)
    stats = np.empty((_kernels.n_blocks(kernels), 4))
    args: tuple[Any, ...]
    if isinstance(op, np.ndarray):
        one, args = kernels.backup_dense, (op,)
    else:
        one, args = kernels.backup_csr, (op.indptr, op.indices, op.data)

    def iteration(k: int, W: FloatArray, TW: FloatArray) -> bool:
        if jacobi_from[0] == 0:
            sweep(W)
        one(*args, R, mdp.gamma, W, TW, stats)
        lo, hi, scale, finite = stats[:, 0].min(), stats[:, 1].max(), stats[:, 2].max(), \
            not stats[:, 3].any()
        done = rule.record(k, float(lo), float(hi), float(scale), finite=finite)
        give_up(k)
        return done

    return iteration
