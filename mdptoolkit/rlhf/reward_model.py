r"""The Bradley–Terry reward model: a maximum-likelihood reward per sequence, fitted by Newton.

Given comparisons :math:`(y_w^k, y_l^k)` with weights :math:`w_k`, the reward model maximizes
the Bradley–Terry likelihood (Bradley & Terry 1952), as the reward model of RLHF does with a
network in place of the table (Christiano et al. 2017; Ouyang et al. 2022). The problem is
convex; it is solved here by damped Newton steps whose Hessian is a weighted graph Laplacian
over the compared sequences.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from .. import _validation as val
from ..language import LanguageMDP
from ..result import FrozenArrays, _describe
from . import _tree
from .preferences import (
    Preferences,
    _sigmoid,
    check_preferences,
    pair_counts,
    separability_message,
    structure,
)

__all__ = ["RewardModelResult", "fit_reward_model"]


@dataclass(frozen=True, repr=False)
class RewardModelResult(FrozenArrays):
    r"""What :func:`fit_reward_model` returns.

    Attributes
    ----------
    rewards : ndarray (N,)
        The fitted reward per sequence index: mean 0 within each group (with ``l2 = 0``),
        0 for never-compared sequences.
    converged : bool
        True when the (penalized) likelihood is maximized to ``tol``: False for separable data
        with ``l2 = 0`` (no finite maximum) even though the partial fit is finite.
    message : str
    iterations : int
        Newton steps taken.
    loss : float
        Mean negative log-likelihood per unit of comparison weight at ``rewards`` (plus the
        penalty divided by the total weight), over the comparisons used in the fit.
    grad_norm : float
        :math:`\max |\nabla F| / W` at the end (F the penalized negative log-likelihood, W the
        total weight).
    groups : ndarray of int (N,)
        The gauge group of each sequence (-1: never compared or left out): connected groups of
        the comparison graph, or the strongly connected groups when the data are separable.
    history : Mapping[str, ndarray]
        ``loss`` and ``grad_norm`` per Newton iterate, the start included (iterations + 1
        entries), and ``elapsed``.
    """

    rewards: np.ndarray
    converged: bool
    message: str
    iterations: int
    loss: float
    grad_norm: float
    groups: np.ndarray
    history: Mapping[str, np.ndarray] = field(default_factory=dict)

    _arrays = ("rewards", "groups")

    def __repr__(self) -> str:
        return "\n".join([
            f"{type(self).__name__}(converged={self.converged}, iterations={self.iterations}, "
            f"loss={self.loss:.6g}, grad_norm={self.grad_norm:.3g},",
            f"    message={self.message!r},",
            f"    rewards={_describe(self.rewards)})"])


def _softplus(x):
    return np.logaddexp(0.0, x)


class _Problem:
    """F(x) = sum_p wins_p softplus(-d_p) + losses_p softplus(d_p) + l2/2 |x|^2, d = x_i - x_j,
    over m local variables."""

    def __init__(self, i, j, wins, losses, m, l2):
        self.i, self.j, self.wins, self.losses, self.m, self.l2 = i, j, wins, losses, m, l2
        self.n_pairs = wins + losses

    def value(self, x):
        d = x[self.i] - x[self.j]
        return float(self.wins @ _softplus(-d) + self.losses @ _softplus(d)
                     + 0.5 * self.l2 * (x @ x))

    def gradient_hessian(self, x):
        i, j, m = self.i, self.j, self.m
        d = x[i] - x[j]
        s = _sigmoid(d)
        gp = self.losses * s - self.wins * (1.0 - s)  # dF/dd per pair
        g = np.bincount(i, gp, minlength=m) - np.bincount(j, gp, minlength=m) + self.l2 * x
        h = self.n_pairs * s * (1.0 - s)
        diag = np.bincount(i, h, minlength=m) + np.bincount(j, h, minlength=m) + self.l2
        H = sp.coo_array((np.concatenate([-h, -h, diag]),
                          (np.concatenate([i, j, np.arange(m)]),
                           np.concatenate([j, i, np.arange(m)]))), shape=(m, m)).tocsc()
        return g, H


def _solve(H, b):
    """Solve the symmetric positive definite Laplacian system H x = b: conjugate gradients
    with a Jacobi preconditioner (a sparse LU of a random graph's Laplacian fills in), to a
    relative residual of 1e-12 — Newton steps tolerate that inexactness."""
    diag = H.diagonal()
    M = spla.LinearOperator(H.shape, matvec=lambda v: v / diag, dtype=np.float64)
    x, info = spla.cg(H, b, rtol=1e-12, atol=0.0, maxiter=10 * b.size + 100, M=M)
    if info != 0:
        x = spla.spsolve(H, b)  # CG stalled (extreme weights): the direct solve
    return np.atleast_1d(x)


def _newton(problem, free, tol, max_iter, scale):
    """Damped Newton with Armijo backtracking over the ``free`` variables (the others stay 0).
    Returns x, iterations, converged, history lists, and a stall note."""
    x = np.zeros(problem.m)
    free_idx = np.flatnonzero(free)
    value = problem.value(x)
    g, H = problem.gradient_hessian(x)
    losses, norms = [value], [float(np.abs(g).max(initial=0.0)) / scale]
    stall = None
    k = 0
    while norms[-1] > tol and k < max_iter:
        gf = g[free]
        Hf = H[free_idx][:, free_idx]
        step = np.zeros(problem.m)
        step[free] = _solve(Hf, -gf)
        slope = float(gf @ step[free])
        if not np.all(np.isfinite(step)) or slope >= 0:
            stall = "the Newton direction is not a descent direction (round-off)"
            break
        t = 1.0
        while True:
            candidate = problem.value(x + t * step)
            if candidate <= value + 1e-4 * t * slope:
                break
            t *= 0.5
            if t < 1e-12:
                break
        if t < 1e-12:
            stall = "the line search made no progress (round-off)"
            break
        x = x + t * step
        value = candidate
        g, H = problem.gradient_hessian(x)
        k += 1
        losses.append(value)
        norms.append(float(np.abs(g).max(initial=0.0)) / scale)
    return x, k, norms[-1] <= tol, losses, norms, stall


def fit_reward_model(lm: LanguageMDP, prefs: Preferences, *, l2: float = 0.0, tol: float = 1e-10,
                     max_iter: int = 100) -> RewardModelResult:
    r"""Bradley–Terry maximum-likelihood reward of every sequence from pairwise preferences.

    Parameters
    ----------
    lm : LanguageMDP
    prefs : Preferences
        Comparisons (optionally weighted); a sequence compared with itself carries no
        information and is only counted in the loss.
    l2 : float
        Ridge penalty :math:`\frac{\lambda}{2}\|r\|^2` (>= 0) on the *sum* of the comparisons'
        negative log-likelihoods: a Gaussian prior of variance :math:`1/\lambda` per reward.
        With ``l2 > 0`` the maximum is unique and finite, never-compared sequences get 0, and no
        shifting is done.
    tol : float
        ``converged`` requires :math:`\max|\nabla F| / W \le` ``tol`` (W the total weight).
    max_iter : int
        Maximum number of Newton steps (each solves one sparse Laplacian system).

    Returns
    -------
    RewardModelResult
        ``.rewards`` (N,), ``converged``, ``message``, ``iterations``, ``loss``, ``grad_norm``,
        ``groups``, ``history``.

    Raises
    ------
    MDPValidationError
        For a negative ``l2``, ``tol`` or ``max_iter``, or an index that is not a sequence of
        ``lm``.
    TypeError
        When ``prefs`` is not a :class:`Preferences`.

    Notes
    -----
    .. math::

        \hat r = \arg\min_r F(r), \qquad
        F(r) = -\sum_k w_k \log\sigma\bigl(r(y_w^k) - r(y_l^k)\bigr) + \frac{\lambda}{2}\|r\|^2 .

    The comparisons are aggregated per unordered pair (``np.unique``); the gradient is a pair
    of ``np.bincount`` and the Hessian the weighted graph Laplacian
    :math:`\sum_{\{i,j\}} (n_{ij}\sigma(d)\sigma(-d))(e_i - e_j)(e_i - e_j)^\top + \lambda I`,
    solved with ``scipy.sparse.linalg.spsolve`` on the compared sequences only.

    Identifiability (``l2 = 0``): F is unchanged by adding a constant to the rewards of a
    connected group of compared sequences, so one sequence per group is held at 0 during the
    solve and each group is then shifted to mean 0; never-compared sequences get 0. Known
    answer: if i beat j k times and lost m times (and nothing else), :math:`r_i - r_j =
    \log(k/m)`.

    Existence (``l2 = 0``): a finite maximum exists iff, within each connected group, the
    "beats" digraph is strongly connected (Zermelo 1929; Ford 1957). Otherwise the data are
    *separable* and the likelihood increases without bound; the result then fits only the
    comparisons within strongly connected groups (each shifted to mean 0, the sequences of a
    one-sequence group at 0), leaves out the comparisons across groups, returns
    ``converged=False`` and says so in ``message`` — finite values, never a huge number.

    References
    ----------
    Bradley, R. A. & Terry, M. E. (1952). Biometrika 39(3/4).
    Zermelo, E. (1929). Die Berechnung der Turnier-Ergebnisse als ein Maximumproblem der
    Wahrscheinlichkeitsrechnung. Math. Zeitschrift 29.
    Ford, L. R. (1957). Solution of a ranking problem from binary comparisons. Amer. Math.
    Monthly 64(8).
    Hunter, D. R. (2004). MM algorithms for generalized Bradley–Terry models. Ann. Stat. 32(1).

    Examples
    --------
    Sequence 1 beats sequence 2 three times and loses once: :math:`r_1 - r_2 = \log 3`.

    >>> import numpy as np, mdptoolkit as mt
    >>> lm = mt.language.LanguageMDP(["a", "b"], 1, lambda y: 0.0)   # sequences (), (a,), (b,)
    >>> prefs = mt.rlhf.Preferences([1, 1, 1, 2], [2, 2, 2, 1])
    >>> fit = mt.rlhf.fit_reward_model(lm, prefs)
    >>> fit.converged, np.round(fit.rewards, 6)
    (True, array([ 0.      ,  0.549306, -0.549306]))
    >>> bool(np.isclose(fit.rewards[1] - fit.rewards[2], np.log(3)))
    True
    >>> one_sided = mt.rlhf.fit_reward_model(lm, mt.rlhf.Preferences([1, 1], [2, 2]))
    >>> one_sided.converged, one_sided.rewards
    (False, array([0., 0., 0.]))
    """
    lm = _tree.check_lm(lm)
    N = check_preferences(lm, prefs)
    l2 = val.check_real(l2, "l2", low=0.0)
    tol = val.check_real(tol, "tol", low=0.0)
    max_iter = val.check_int(max_iter, "max_iter", minimum=0)
    start = time.perf_counter()
    counts = pair_counts(prefs)
    struct = structure(N, counts)
    keep = np.ones(counts.i.size, dtype=bool)
    gauge = struct.groups
    note = ""
    if l2 == 0.0 and struct.separable:
        keep = struct.strong[counts.i] == struct.strong[counts.j]
        gauge = struct.strong
        note = (separability_message(struct, counts) + f"; fitted only the "
                f"{_weight_text(counts, keep)} within strongly connected groups (each shifted to "
                f"mean 0) and left out the {_weight_text(counts, ~keep)} across groups; pass "
                f"l2 > 0 for a finite penalized fit")
    i, j = counts.i[keep], counts.j[keep]
    nodes, local = np.unique(np.concatenate([i, j]), return_inverse=True)
    li, lj = local[:i.size], local[i.size:]
    m = nodes.size
    problem = _Problem(li, lj, counts.wins[keep], counts.losses[keep], m, l2)
    used_weight = float(problem.n_pairs.sum()) + counts.ties
    scale = max(used_weight, 1e-300)
    free = np.ones(m, dtype=bool)
    if l2 == 0.0 and m:
        _, first = np.unique(gauge[nodes], return_index=True)
        free[first] = False  # one sequence per group held at 0: the gauge
    x, k, ok, losses, norms, stall = _newton(problem, free, tol, max_iter, scale)
    rewards = np.zeros(N)
    if l2 == 0.0 and m:
        labels = gauge[nodes]
        means = np.bincount(labels, x) / np.bincount(labels)
        x = x - means[labels]
    rewards[nodes] = x
    groups = np.full(N, -1, dtype=np.int64)
    groups[nodes] = _compact(gauge[nodes])
    const = counts.ties * np.log(2.0)
    history = {"loss": (np.array(losses) + const) / scale, "grad_norm": np.array(norms),
               "elapsed": np.full(len(losses), np.nan)}
    history["elapsed"][-1] = time.perf_counter() - start
    converged = ok and not note
    message = _message(ok, k, norms[-1], tol, max_iter, stall, l2, struct, nodes, N, note)
    return RewardModelResult(rewards=rewards, converged=converged, message=message,
                             iterations=k, loss=float(history["loss"][-1]),
                             grad_norm=norms[-1], groups=groups, history=history)


def _compact(labels):
    _, inverse = np.unique(labels, return_inverse=True)
    return inverse.astype(np.int64)


def _weight_text(counts, mask):
    n = int(mask.sum())
    weight = float(counts.wins[mask].sum() + counts.losses[mask].sum())
    return f"{n} compared pair(s) (comparison weight {weight:g})"


def _message(ok, k, grad_norm, tol, max_iter, stall, l2, struct, nodes, N, note):
    if ok:
        head = f"converged: max|grad F|/W = {grad_norm:.3g} <= tol = {tol:g} after {k} Newton steps"
    elif stall is not None:
        head = f"stopped: {stall} at max|grad F|/W = {grad_norm:.3g} > tol = {tol:g}"
    else:
        head = (f"stopped: max_iter={max_iter} reached; max|grad F|/W = {grad_norm:.3g} > "
                f"tol = {tol:g}")
    if note:
        return f"not converged: {note}. The partial fit {head}"
    uncompared = N - nodes.size
    if l2 > 0:
        return (f"{head} (l2 = {l2:g}: unique penalized maximum); {uncompared} never-compared "
                f"sequences get 0")
    return (f"{head}; rewards shifted to mean 0 in each of {struct.n_groups} connected group(s) "
            f"of compared sequences; {uncompared} never-compared sequences get 0")
