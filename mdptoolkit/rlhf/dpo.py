r"""Direct preference optimization and its relatives, by exact full-batch gradient descent.

DPO (Rafailov et al. 2023) fits the policy to preferences directly: the *implicit reward*
:math:`\beta \log(p_\theta(y)/p_{ref}(y))` is plugged into the Bradley–Terry likelihood, so
that the minimizer of the population loss is the optimum :math:`p^*_\beta` of the
KL-regularized RLHF objective :math:`J_\beta`. Its relatives change the loss of the margin
:math:`h` (the names and definitions of Hugging Face TRL's ``DPOTrainer`` ``loss_type``):
IPO (Azar et al. 2023) regresses it to :math:`1/(2\beta)`, the hinge loss (Zhao et al. 2023,
SLiC) asks for :math:`\beta h \ge 1`, and the robust loss (Chowdhury et al. 2024) corrects for
labels flipped with probability ``label_smoothing``.

Here everything is exact: the log-probabilities of all sequences come from one pass over the
prefix tree and the gradient of the whole data set from one more (:mod:`._tree`), so the
iterates follow the full-batch gradient flow of the tabular softmax policy.
"""

from __future__ import annotations

import time
import types
from collections.abc import Callable
from typing import Any

import numpy as np

from .. import _validation as val
from .._typing import ArrayLike, FloatArray
from ..exceptions import MDPValidationError
from ..gradient import TabularSoftmax
from ..language import LanguageMDP
from ..result import GradientResult
from . import _tree
from .objective import Meter
from .preferences import (
    Preferences,
    check_preferences,
    pair_counts,
    separability_message,
    structure,
)

__all__ = ["preference_optimization", "LOSS_TYPES"]

#: The ``loss_type`` values and the method name each result carries.
LOSS_TYPES = {"sigmoid": "dpo", "ipo": "ipo", "hinge": "hinge", "robust": "robust_dpo"}


def margin_loss(loss_type: str, h: FloatArray, beta: float,
                eps: float) -> tuple[FloatArray, FloatArray]:
    r"""(loss, d loss / d h) elementwise for margins ``h`` (TRL's DPOTrainer definitions).

    Stable forms with one exponential: :math:`\mathrm{softplus}(\mp x) = \max(\mp x, 0) +
    \log(1 + e^{-|x|})`, :math:`\sigma(x) = 1/(1 + e^{-x})` from :math:`e^{-|x|}`."""
    x = beta * h
    if loss_type in ("sigmoid", "robust"):
        e = np.exp(-np.abs(x))
        log1pe = np.log1p(e)
        sp_neg = np.maximum(-x, 0.0) + log1pe  # -log sigma(x)
        sp_pos = np.maximum(x, 0.0) + log1pe  # -log sigma(-x)
        small = e / (1.0 + e)
        sig_pos = np.where(x >= 0, 1.0 - small, small)  # sigma(x)
        sig_neg = np.where(x >= 0, small, 1.0 - small)  # sigma(-x)
    if loss_type == "sigmoid":
        loss = (1 - eps) * sp_neg + eps * sp_pos
        slope = beta * (-(1 - eps) * sig_neg + eps * sig_pos)
    elif loss_type == "robust":
        loss = ((1 - eps) * sp_neg - eps * sp_pos) / (1 - 2 * eps)
        slope = beta * (-(1 - eps) * sig_neg - eps * sig_pos) / (1 - 2 * eps)
    elif loss_type == "ipo":
        loss = (h - 1 / (2 * beta)) ** 2
        slope = 2 * (h - 1 / (2 * beta))
    else:  # hinge
        loss = np.maximum(0.0, 1 - x)
        slope = np.where(x < 1, -beta, 0.0)
    return loss, slope


def default_lr(loss_type: str, beta: float, max_len: int) -> float:
    r"""``1 / (c · 2(L + 1))``: c bounds the curvature of the loss in the margin
    (:math:`\beta^2/4` for "sigmoid" and "robust", 2 for "ipo", :math:`\beta^2` for the
    non-smooth "hinge") and :math:`2(L+1)` bounds :math:`\|\nabla_\theta \log p_\theta(y)\|^2`
    for a sequence of at most L tokens plus eos."""
    c = {"sigmoid": beta ** 2 / 4, "robust": beta ** 2 / 4, "ipo": 2.0, "hinge": beta ** 2}
    return 1.0 / (c[loss_type] * 2 * (max_len + 1))


def _check_options(loss_type, beta, label_smoothing, lr, iterations, tol):
    val.check_choice(loss_type, "loss_type", LOSS_TYPES)
    beta = val.check_real(beta, "beta", low=0.0, low_open=True)
    eps = val.check_real(label_smoothing, "label_smoothing")
    if not 0.0 <= eps < 0.5:
        extra = (" (the robust loss divides by 1 - 2*label_smoothing)"
                 if loss_type == "robust" else "")
        raise MDPValidationError(f"label_smoothing must be in [0, 0.5){extra}; got "
                                 f"{label_smoothing!r}")
    if eps > 0 and loss_type not in ("sigmoid", "robust"):
        raise MDPValidationError(f"label_smoothing must be 0 for loss_type={loss_type!r} (it "
                                 f"applies to 'sigmoid' and 'robust' only); got "
                                 f"{label_smoothing!r}")
    tol = val.check_real(tol, "tol", low=0.0)
    if lr is not None:
        val.check_real(lr, "lr", low=0.0, low_open=True)
    val.check_int(iterations, "iterations", minimum=0)
    return beta, eps, tol


def _param(lm, param, ref):
    """TabularSoftmax on the reference's support (the default), or the caller's, checked."""
    S, A = ref.shape
    support = (ref > 0) & np.asarray(lm.mdp.allowed)
    support[-1] = True  # the terminal row: anything
    if param is None:
        return TabularSoftmax(S, A, allowed=support)
    if not isinstance(param, TabularSoftmax):
        raise TypeError(f"param must be None or a TabularSoftmax (the exact path gradient is "
                        f"tabular); got {type(param).__name__}")
    if param.shape != (S, A):
        raise MDPValidationError(f"param must be for {S} states and {A} actions; got "
                                 f"{param.shape[0]} and {param.shape[1]}")
    leak = param.allowed & ~support
    if leak.any():
        s, a = np.argwhere(leak)[0]
        raise MDPValidationError(f"param must disallow the actions the reference never takes "
                                 f"(log p_ref = -inf); got action {a} allowed at state {s}")
    return param


def _log_softmax(logits):
    z = logits - logits.max(axis=1, keepdims=True)
    with np.errstate(divide="ignore"):
        return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


def _existence(loss_type, eps, N, counts):
    """None when the loss has a minimizer over the implicit rewards, else the reason."""
    if loss_type in ("ipo", "hinge") or (loss_type == "sigmoid" and eps > 0):
        return None
    k, m = counts.wins, counts.losses
    if loss_type == "robust" and eps > 0:
        k, m = k * (1 - eps) - m * eps, m * (1 - eps) - k * eps  # the effective counts
        bad = (k < 0) | (m < 0)
        if bad.any():
            p = int(np.argmax(bad))
            frac = counts.wins[p] / (counts.wins[p] + counts.losses[p])
            return (f"the robust loss is unbounded below when a pair's win fraction lies "
                    f"outside [label_smoothing, 1 - label_smoothing] = [{eps:g}, {1 - eps:g}]; "
                    f"got {frac:.3g} for sequences {int(counts.i[p])} and {int(counts.j[p])} "
                    f"({int(bad.sum())} such pairs)")
    effective = type(counts)(i=counts.i, j=counts.j, wins=k, losses=m, ties=0.0, total=0.0)
    struct = structure(N, effective)
    if struct.separable:
        return separability_message(struct, effective)
    return None


def preference_optimization(lm: LanguageMDP, prefs: Preferences, *, loss_type: str = "sigmoid",
                            beta: float = 0.1, label_smoothing: float = 0.0,
                            param: TabularSoftmax | None = None, lr: float | None = None,
                            iterations: int = 1000, theta0: ArrayLike | None = None,
                            tol: float = 1e-8,
                            callback: Callable[[int, Any], Any] | None = None) -> GradientResult:
    r"""DPO-style preference optimization with exact full-batch gradient steps.

    Parameters
    ----------
    lm : LanguageMDP
    prefs : Preferences
        Comparisons (optionally weighted: the loss is then the weighted mean). Every compared
        sequence must have :math:`p_{ref}(y) > 0`.
    loss_type : {"sigmoid", "ipo", "hinge", "robust"}
        The loss of the margin (TRL's names; see Notes). ``result.method`` is "dpo", "ipo",
        "hinge" or "robust_dpo" respectively.
    beta : float
        The KL coefficient β > 0 (the temperature of the implicit reward); ``history["J"]`` is
        :math:`J_\beta` at this β.
    label_smoothing : float
        ε in [0, 0.5): the assumed probability of a flipped label ("sigmoid" and "robust" only).
    param : TabularSoftmax, optional
        Default: ``TabularSoftmax`` allowing the actions the reference takes (the MDP's own
        mask restricted to :math:`\pi_{ref} > 0`, so the KL stays finite). Other
        parametrizations are refused (the exact path gradient here is tabular).
    lr : float, optional
        Step size of :math:`\theta \leftarrow \theta - \mathrm{lr}\,\nabla L`. Default
        :math:`1/(c \cdot 2(L+1))`, c the curvature bound of the loss in the margin
        (:math:`\beta^2/4` for "sigmoid"/"robust", 2 for "ipo", :math:`\beta^2` for "hinge"):
        a step that cannot overshoot a single pair, which converges on the toy language MDP.
    iterations : int
        Number of updates; ``history`` has ``iterations + 1`` entries, entry k being the state
        after k updates (the start included).
    theta0 : ndarray (S, A), optional
        Initial logits; default the reference's, :math:`\log\pi_{ref}` (0 where masked).
    tol : float
        ``converged`` means :math:`\|\nabla L\| \le` ``tol`` *and* the loss has a minimizer on
        these data (see Notes).
    callback : callable, optional
        ``callback(k, state)`` after update k with ``state.theta``, ``state.loss``,
        ``state.J``, ``state.gap``, ``state.grad_norm``; returning True stops.

    Returns
    -------
    GradientResult
        ``theta``, ``policy``, ``J`` (:math:`J_\beta` of the final policy, gold reward),
        ``optimum`` (:math:`\max J_\beta`), ``history`` with ``loss``, ``margin`` (weighted
        mean h), ``J``, ``gap``, ``reward`` (:math:`\mathbb E_\pi[r]`), ``kl``, ``grad_norm``,
        ``elapsed``.

    Raises
    ------
    MDPValidationError
        For an unknown ``loss_type`` (the message lists the valid ones), ``beta <= 0``,
        ``label_smoothing`` outside [0, 0.5) (or non-zero with "ipo"/"hinge"), ``lr <= 0``,
        a negative ``iterations`` or ``tol``, a TabularSoftmax of the wrong shape or allowing
        actions the reference never takes, an index that is not a sequence of ``lm`` (naming
        the entry), a compared sequence the reference never produces, or preferences of total
        weight 0.
    TypeError
        When ``prefs`` is not a :class:`Preferences`, or ``param`` is neither None nor a
        :class:`~mdptoolkit.TabularSoftmax`.

    Notes
    -----
    With :math:`h_k = \log\frac{p_\theta(y_w^k)}{p_{ref}(y_w^k)}
    - \log\frac{p_\theta(y_l^k)}{p_{ref}(y_l^k)}`
    (log-probabilities summed over the tokens, eos included, no length normalization) the
    loss is :math:`L(\theta) = \sum_k w_k \ell(h_k) / \sum_k w_k` with

    .. math::

        \ell_{\text{sigmoid}} &= -(1-\varepsilon)\log\sigma(\beta h)
                                 - \varepsilon\log\sigma(-\beta h) \\
        \ell_{\text{ipo}} &= \bigl(h - \tfrac{1}{2\beta}\bigr)^2 \\
        \ell_{\text{hinge}} &= \max(0,\, 1 - \beta h) \\
        \ell_{\text{robust}} &= \frac{-(1-\varepsilon)\log\sigma(\beta h)
                                 + \varepsilon\log\sigma(-\beta h)}{1 - 2\varepsilon}

    The gradient
    :math:`\sum_k w_k \ell'(h_k)(\nabla\log p_\theta(y_w^k) - \nabla\log p_\theta(y_l^k))`
    is aggregated per sequence (``np.bincount``) and computed in one pass over the tree.
    Each loss is convex in h. Known optima for i beating j k times and losing m times:
    DPO :math:`h = \log(k/m)/\beta`; with label smoothing on one-sided data
    :math:`h = \log((1-\varepsilon)/\varepsilon)/\beta`; IPO on one-sided data
    :math:`h = 1/(2\beta)` (Azar et al. 2023, §5.2). With the exact Bradley–Terry population of
    pairs, the DPO minimizer is the Gibbs policy :math:`p^*_\beta` (Rafailov et al. 2023, §4–5).

    Existence: plain DPO (ε = 0) has a minimizer iff the data are not separable (the
    Bradley–Terry condition of :func:`fit_reward_model`); on one-sided data the margins grow
    without bound while the gradient fades, so ``converged`` stays False and the message says
    why. The robust loss reduces to Bradley–Terry with effective counts
    :math:`k(1-\varepsilon) - m\varepsilon` and :math:`m(1-\varepsilon) - k\varepsilon`; it
    is declared to have no minimizer when one is negative or those counts are separable.
    "sigmoid" with ε > 0, "ipo" and "hinge" always have one.

    References
    ----------
    Rafailov, R. et al. (2023). Direct preference optimization: your language model is secretly
    a reward model. NeurIPS.
    Azar, M. G. et al. (2023). A general theoretical paradigm to understand learning from human
    preferences. arXiv:2310.12036.
    Zhao, Y. et al. (2023). SLiC-HF: sequence likelihood calibration with human feedback.
    arXiv:2305.10425.
    Chowdhury, S. R., Kini, A. & Natarajan, N. (2024). Provably robust DPO. ICML.
    von Werra, L. et al. TRL: Transformer Reinforcement Learning, ``DPOTrainer``.

    Examples
    --------
    One pair, one-sided: IPO's margin settles at :math:`1/(2\beta) = 5`, DPO's keeps growing.

    >>> import numpy as np, mdptoolkit as mt
    >>> lm = mt.language.LanguageMDP(["a", "b"], 1, lambda y: 0.0)
    >>> prefs = mt.rlhf.Preferences([1], [2])
    >>> ipo = mt.rlhf.preference_optimization(lm, prefs, loss_type="ipo", iterations=400)
    >>> ipo.converged, round(float(ipo.history["margin"][-1]), 6)
    (True, 5.0)
    >>> dpo = mt.rlhf.preference_optimization(lm, prefs, iterations=400)
    >>> dpo.converged, bool(dpo.history["margin"][-1] > 20)
    (False, True)
    """
    lm = _tree.check_lm(lm)
    N = check_preferences(lm, prefs)
    beta, eps, tol = _check_options(loss_type, beta, label_smoothing, lr, iterations, tol)
    T = _tree.layout(lm)
    ref = np.asarray(lm.reference_policy)
    param = _param(lm, param, ref)
    if lr is None:
        lr = default_lr(loss_type, beta, T.L)
    lr = float(lr)
    log_ref = _tree.sequence_log_probs(lm, np.log(np.where(ref > 0, ref, 1.0))
                                       + np.where(ref > 0, 0.0, -np.inf))
    for field_name in ("chosen", "rejected"):
        idx = getattr(prefs, field_name)
        bad = np.isneginf(log_ref[idx])
        if bad.any():
            k = int(np.argmax(bad))
            raise MDPValidationError(
                f"compared sequences must have reference probability > 0 (else the log-ratio is "
                f"infinite); got p_ref = 0 for sequence {int(idx[k])} at {field_name}[{k}]")
    # the loss depends on (chosen, rejected) only: aggregate repeated comparisons
    weights = prefs.weight_array()
    keys, inverse = np.unique(prefs.chosen * N + prefs.rejected, return_inverse=True)
    w = np.asarray(np.bincount(inverse, weights=weights, minlength=keys.size), dtype=np.float64)
    total = float(w.sum())
    if not total > 0:
        raise MDPValidationError(f"prefs must have a positive total weight; got {total:g} "
                                 f"({len(prefs)} comparisons)")
    w /= total
    cw, rw = keys // N, keys % N
    base = log_ref[cw] - log_ref[rw]
    no_minimizer = _existence(loss_type, eps, N, pair_counts(prefs))
    if theta0 is None:
        theta = np.where(param.allowed, np.log(np.where(ref > 0, ref, 1.0)), 0.0)
    else:
        theta = param.check(theta0).copy()
    meter = Meter(lm, beta)
    optimum = meter.optimum
    names = ("loss", "margin", "J", "gap", "reward", "kl", "grad_norm", "elapsed")
    hist: dict[str, list[float]] = {name: [] for name in names}
    start = time.perf_counter()
    converged = by_callback = False
    k = 0
    while True:
        log_pi = _log_softmax(param.logits(theta))
        pi = np.exp(log_pi)
        lp = _tree.sequence_log_probs(lm, log_pi)
        h = lp[cw] - lp[rw] - base
        loss, slope = margin_loss(loss_type, h, beta, eps)
        coef = w * slope
        weights_seq = np.bincount(cw, coef, minlength=N) - np.bincount(rw, coef, minlength=N)
        grad = _tree.path_gradient(lm, pi, weights_seq)
        grad[~param.allowed] = 0.0
        grad_norm = float(np.sqrt(np.multiply(grad, grad).sum()))   # no BLAS: see _tree.dot
        J, reward, divergence = meter(pi)
        for name, value in (("loss", _tree.dot(w, loss)), ("margin", _tree.dot(w, h)), ("J", J),
                            ("gap", optimum - J), ("reward", reward), ("kl", divergence),
                            ("grad_norm", grad_norm), ("elapsed", time.perf_counter() - start)):
            hist[name].append(value)
        if grad_norm <= tol:
            converged = no_minimizer is None
            break
        if k == iterations or by_callback:
            break
        theta = theta - lr * grad
        k += 1
        if callback is not None:
            state = types.SimpleNamespace(theta=theta, loss=hist["loss"][-1], J=J, gap=optimum - J,
                                          grad_norm=grad_norm)
            by_callback = bool(callback(k, state))
    message = _message(converged, by_callback, no_minimizer, loss_type, k, iterations, grad_norm,
                       tol, hist)
    return GradientResult(theta=theta, policy=param.policy(theta), J=hist["J"][-1],
                          optimum=optimum, iterations=k, converged=converged,
                          method=LOSS_TYPES[loss_type], message=message,
                          history={name: np.array(values) for name, values in hist.items()})


def _message(converged, by_callback, no_minimizer, loss_type, k, iterations, grad_norm, tol, hist):
    tail = f"loss {hist['loss'][-1]:.6g}, gap to max J_beta {hist['gap'][-1]:.3g}"
    if converged:
        return f"converged: |grad L| = {grad_norm:.3g} <= tol = {tol:g} after {k} steps ({tail})"
    if by_callback:
        note = f"; the loss has no finite minimizer: {no_minimizer}" if no_minimizer else ""
        return f"stopped: callback returned True at iteration {k} ({tail}){note}"
    if no_minimizer is not None:
        return (f"not converged: the {loss_type!r} loss has no finite minimizer on these data, "
                f"so the margins grow without bound while the gradient fades (|grad L| = "
                f"{grad_norm:.3g} after {k} steps, mean margin {hist['margin'][-1]:.4g}): "
                f"{no_minimizer}")
    return (f"stopped: iterations={iterations} done; |grad L| = {grad_norm:.3g} > tol = {tol:g} "
            f"({tail})")
