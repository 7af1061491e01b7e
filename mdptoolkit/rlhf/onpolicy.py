r"""On-policy RL fine-tuning from sampled sequences: KL-regularized REINFORCE and RLOO.

Every method of this module, of ``mdptoolkit.rlhf.group_relative`` (GRPO) and of
``mdptoolkit.rlhf.proximal`` (PPO) tunes a tabular softmax language model :math:`\pi_\theta(a|s)
\propto e^{\theta_{s,a}}` (the logits of :class:`~mdptoolkit.TabularSoftmax`) started at the
reference, :math:`\theta_0 = \log\pi_{ref}`, toward the maximum of the KL-regularized objective
(actions the reference never takes are masked out: they keep probability 0 and the KL stays
finite)

.. math::

    J_\beta(\theta) = \mathbb E_{y \sim p_\theta}[r(y)]
                      - \beta\,\mathrm{KL}(p_\theta \,\|\, p_{ref}).

Each step samples fresh sequences from the current policy, forms an estimate :math:`\hat g` of
an ascent direction from them alone, and moves :math:`\theta \leftarrow \theta + \text{lr}\cdot
\hat g` — plain stochastic gradient ascent, no optimizer state, :math:`\hat g` averaged over
the step's sampled sequences. What the sampler never sees, the lab measures: after every step
the exact :math:`J_\beta`, its gap to the exact optimum :math:`\beta \log Z_\beta`
(:func:`~mdptoolkit.rlhf.optimum`), the expected reward and the KL of the current policy
(:func:`~mdptoolkit.rlhf.measure`), from the MDP, not from samples.

Sampled methods have no convergence test: they run the requested number of steps and return
``converged=False`` with a message that states the final gap.

The score of a sequence. Transitions are deterministic, so :math:`\log p_\theta(y) = \sum_t
\log\pi_\theta(a_t|s_t)` over its tokens (eos included when :math:`|y| < L`), and the
KL-shaped score

.. math::

    R(y) = r(y) - \beta \log\frac{p_\theta(y)}{p_{ref}(y)}
         = r(y) - \beta \sum_t \log\frac{\pi_\theta(a_t|s_t)}{\pi_{ref}(a_t|s_t)}

satisfies :math:`\nabla J_\beta = \mathbb E_{y \sim p_\theta}[R(y)\,\nabla\log p_\theta(y)]`
(the extra term :math:`-\beta\,\mathbb E[\nabla \log p_\theta(y)]` vanishes). :math:`r(y)` is
the total reward of y in ``lm.mdp`` (``lm.rewards`` plus any token rewards), as in
:mod:`~mdptoolkit.rlhf.objective`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

from .. import _validation as val
from .._typing import FloatArray, Seed
from ..exceptions import MDPValidationError
from ..language import LanguageMDP
from ..result import GradientResult
from ._sampling import Batch, Rows, sample_batch
from ._tree import check_lm, sequence_rewards
from .objective import Meter

__all__ = ["reinforce", "rloo"]

#: ``step(model, theta, pi, log_pi, J, rng, state) -> (theta, extras, touched)``: see :func:`train`.
Step = Callable[..., tuple[FloatArray, dict[str, float], Any]]


# ---------------------------------------------------------------------- the tabular model
def _softmax(theta, allowed):
    """Row softmax and log-softmax of the logits over the allowed actions (0 elsewhere)."""
    z = np.where(allowed, theta, -np.inf)
    z -= z.max(axis=1, keepdims=True)
    log_norm = np.log(np.exp(z).sum(axis=1, keepdims=True))
    log_pi = np.where(allowed, z - log_norm, 0.0)
    return np.where(allowed, np.exp(log_pi), 0.0), log_pi


class _Model:
    """The language MDP seen by the sampled methods: the masked tabular softmax started at
    the reference, the log-reference (0 where masked: only read at sampled tokens, which the
    mask allows) and the total reward per sequence index."""

    def __init__(self, lm):
        self.lm = check_lm(lm)
        ref = np.asarray(lm.reference_policy)
        self.S, self.A = ref.shape
        self.allowed = ref > 0
        self.logref = np.where(self.allowed, np.log(np.where(self.allowed, ref, 1.0)), 0.0)
        self.rewards = sequence_rewards(lm)

    def theta0(self):
        """Logits of the reference: log pi_ref where allowed, 0 elsewhere (masked)."""
        return self.logref.copy()

    def policy(self, theta):
        """(pi, log pi) of ``theta``; log pi is a stable log-softmax, 0 at masked actions."""
        return _softmax(theta, self.allowed)

    def policy_rows(self, theta, u):
        """(pi, log pi) of the rows ``u`` of ``theta`` only: (k, A) each."""
        return _softmax(theta[u], self.allowed[u])

    def check_theta(self, theta):
        """A fresh (S, A) float copy; -inf is accepted at masked actions only (set to 0)."""
        theta = val.as_float_array(theta, "theta", shape=(self.S, self.A), allow_neg_inf=True)
        bad = np.isneginf(theta) & self.allowed
        if bad.any():
            s, a = np.argwhere(bad)[0]
            raise MDPValidationError(f"theta must be finite where the reference is positive; "
                                     f"got -inf at theta[{s}, {a}] ({int(bad.sum())} entries)")
        return np.where(self.allowed, theta, 0.0)


def kl_shaped_scores(model: _Model, batch: Batch, log_pi: FloatArray,
                     beta: float) -> tuple[FloatArray, FloatArray, FloatArray]:
    r"""(R, r, log-ratio) per sampled sequence: :math:`R = r(y) - \beta \log(p/p_{ref})`."""
    r = model.rewards[batch.index]
    log_ratio = batch.sequence_sums(log_pi) - batch.sequence_sums(model.logref)
    return (r - beta * log_ratio if beta > 0 else r), r, log_ratio


def leave_one_out(R: FloatArray) -> FloatArray:
    r"""RLOO advantages over the last axis: :math:`R_k - \frac{1}{G-1}\sum_{i \ne k} R_i`."""
    G = R.shape[-1]
    return R - (R.sum(axis=-1, keepdims=True) - R) / (G - 1)


def _score_step(model, theta, pi, log_pi, rng, *, n, beta, lr, advantage):
    """One score-function update from n sampled sequences, each weighted by its
    ``advantage(R)`` / n (REINFORCE and RLOO differ only in that function)."""
    batch = sample_batch(model.lm, pi, n, rng)
    R, r, log_ratio = kl_shaped_scores(model, batch, log_pi, beta)
    w = np.broadcast_to((advantage(R) / n)[:, None], batch.mask.shape)
    rows = Rows(batch)
    theta[rows.u] += lr * rows.score_sum(pi[rows.u], w)
    return theta, {"sample_reward": float(r.mean()),
                   "sample_kl": float(log_ratio.mean())}, rows.u


# ---------------------------------------------------------------------- the shared loop
def train(lm: LanguageMDP, *, method: str, beta: float, lr: float, steps: int, seed: Seed,
          step: Step) -> GradientResult:
    r"""Run ``steps`` sampled updates from the reference and record the exact measurements.

    ``step(model, theta, pi, log_pi, J, rng, state) -> (theta, extras, touched)`` makes one
    update, in place on the rows ``touched`` of ``theta`` (the states the step's batch visits;
    ``theta`` belongs to the loop, which then recomputes the policy on those rows only; ``J``
    is the exact objective of the current policy, for the exact baseline); ``extras`` maps
    names to floats recorded once per step.
    """
    model = _Model(lm)
    beta = val.check_real(beta, "beta", low=0.0)
    lr = val.check_real(lr, "lr", low=0.0, low_open=True)
    steps = val.check_int(steps, "steps", minimum=0)
    rng = val.default_rng(seed)
    meter = Meter(model.lm, beta)   # one per run: the rewards and log-reference read once
    best = meter.optimum
    theta = model.theta0()
    hist: dict[str, list[float]] = {"J": [], "gap": [], "reward": [], "kl": [], "elapsed": []}
    extra: dict[str, list[float]] = {}
    state: dict[str, Any] = {}
    spent = 0.0
    pi, log_pi = model.policy(theta)
    for k in range(steps + 1):
        J, reward, divergence = meter(pi)
        hist["J"].append(J)
        hist["gap"].append(best - J)
        hist["reward"].append(reward)
        hist["kl"].append(divergence)
        hist["elapsed"].append(spent)
        if k == steps:
            break
        start = time.perf_counter()
        theta, extras, touched = step(model, theta, pi, log_pi, J, rng, state)
        pi[touched], log_pi[touched] = model.policy_rows(theta, touched)
        spent += time.perf_counter() - start
        for name, value in extras.items():
            extra.setdefault(name, []).append(value)
    history = {name: np.array(values) for name, values in hist.items()}
    history.update({name: np.array(values) for name, values in extra.items()})
    gap = best - J
    message = (f"stopped: ran {steps} sampled steps (sampled methods have no convergence test); "
               f"gap to the optimum {gap:.3g}, from {history['gap'][0]:.3g} at the reference")
    return GradientResult(theta=theta, policy=pi, J=J, optimum=best, iterations=steps,
                          converged=False, method=method, message=message, history=history)


# ---------------------------------------------------------------------- REINFORCE
def reinforce(lm: LanguageMDP, *, beta: float = 0.0, lr: float, steps: int, batch_size: int = 8,
              baseline: str = "none", seed: Seed = None) -> GradientResult:
    r"""KL-regularized REINFORCE on a language MDP, from the reference.

    Each step draws ``batch_size`` sequences from the current policy, scores each by its
    reward minus :math:`\beta` times its log-probability ratio to the reference, and takes a
    plain stochastic gradient step along the score-weighted sum of their log-probability
    gradients (Notes).

    Parameters
    ----------
    lm : LanguageMDP
    beta : float
        KL coefficient :math:`\beta \ge 0` of the objective and of the score.
    lr : float
        Step size (> 0): :math:`\theta \leftarrow \theta + \text{lr}\cdot\hat g`.
    steps : int
        Number of updates (>= 0).
    batch_size : int
        Sequences sampled per step (>= 1).
    baseline : {"none", "exact"}
        ``"none"``: b = 0. ``"exact"``: b = the exact :math:`J_\beta` of the current policy, a
        constant, so the estimate stays unbiased (the lab can afford the value a real trainer
        must learn; compare :func:`rloo`, whose baseline comes from the samples).
    seed : int, numpy.random.Generator or None
        The same seed gives the same run, bit for bit.

    Returns
    -------
    GradientResult
        ``theta`` (S, A) logits (masked actions hold 0 and have probability 0), ``policy``,
        exact ``J``, ``optimum`` (:func:`~mdptoolkit.rlhf.optimum`), ``gap``;
        ``converged`` is always False (no convergence test for a sampled method) and
        ``message`` states the final gap. ``history`` has, exactly from the MDP, ``J``
        (:math:`J_\beta` at the method's own KL coefficient), ``gap`` (``optimum - J``),
        ``reward`` (:math:`\mathbb E_\pi[r]`) and ``kl`` (:math:`\mathrm{KL}(p_\pi \|
        p_{ref})`), and ``elapsed`` (seconds of sampling and updating so far, the exact
        measurements excluded): one entry per iterate, the start (the reference) included,
        so ``steps + 1`` entries, entry k being the policy after k steps.
        Per step (``steps`` entries): ``sample_reward``, the mean :math:`r(y)` of the step's
        samples, and ``sample_kl``, their mean :math:`\log(p_\theta(y)/p_{ref}(y))`.

    Raises
    ------
    MDPValidationError
        For a negative beta, lr <= 0, negative steps, batch_size < 1 or an unknown baseline.
    TypeError
        When ``lm`` is not a LanguageMDP or a number has the wrong type.

    See Also
    --------
    rloo : the leave-one-out baseline; mdptoolkit.rlhf.gradient_estimates : the estimate alone.

    Notes
    -----
    With the n = ``batch_size`` sequences :math:`y_k \sim p_\theta` of a step,

    .. math::

        \theta \leftarrow \theta + \text{lr}\cdot\frac{1}{n} \sum_{k=1}^{n}
        \bigl(R(y_k) - b\bigr)\, \nabla_\theta \log p_\theta(y_k), \qquad
        R(y) = r(y) - \beta \log\frac{p_\theta(y)}{p_{ref}(y)} .

    By the score-function identity :math:`\nabla J_\beta = \mathbb E[R(y)\nabla\log
    p_\theta(y)]` (the term :math:`-\beta\,\mathbb E[\nabla \log p_\theta] = 0` drops), so the
    step is unbiased for any constant b (Williams 1992). A step costs one sampling pass per
    token position and one scatter over the sampled tokens, touching only the rows of
    ``theta`` the batch visits.

    References
    ----------
    Williams, R. J. (1992). Simple statistical gradient-following algorithms for connectionist
    reinforcement learning. Machine Learning 8.
    Ziegler, D. M. et al. (2019). Fine-tuning language models from human preferences.
    arXiv:1909.08593 (the KL-shaped reward).

    Examples
    --------
    >>> import mdptoolkit as mt
    >>> lm = mt.language.toy(max_len=3)
    >>> run = mt.rlhf.reinforce(lm, beta=0.1, lr=2.0, steps=100, batch_size=8, seed=0)
    >>> len(run.history["J"]), run.converged
    (101, False)
    >>> bool(run.gap < 0.5 * run.history["gap"][0])
    True
    """
    batch_size = val.check_int(batch_size, "batch_size", minimum=1)
    baseline = val.check_choice(baseline, "baseline", ("none", "exact"))
    beta_value = val.check_real(beta, "beta", low=0.0)
    lr_value = val.check_real(lr, "lr", low=0.0, low_open=True)

    def step(model, theta, pi, log_pi, J, rng, state):
        def advantage(R):
            return R - J if baseline == "exact" else R
        return _score_step(model, theta, pi, log_pi, rng, n=batch_size, beta=beta_value,
                           lr=lr_value, advantage=advantage)

    return train(lm, method="reinforce", beta=beta_value, lr=lr_value, steps=steps, seed=seed,
                 step=step)



# ---------------------------------------------------------------------- RLOO
def rloo(lm: LanguageMDP, *, num_generations: int = 4, beta: float = 0.0, lr: float, steps: int,
         seed: Seed = None) -> GradientResult:
    r"""REINFORCE Leave-One-Out (RLOO) on a language MDP, from the reference.

    Each step draws a group of G = ``num_generations`` sequences from the current policy,
    scores each by the KL-shaped :math:`R(y) = r(y) - \beta\log(p_\theta(y)/p_{ref}(y))` and
    uses the mean score of the *other* G − 1 as its baseline (Notes).

    Parameters
    ----------
    lm : LanguageMDP
    num_generations : int
        Group size G >= 2 (TRL's name; default 4 as in Ahmadian et al. 2024, k = 4).
    beta : float
        KL coefficient :math:`\beta \ge 0` (TRL's name).
    lr : float
        Step size (> 0).
    steps : int
        Number of updates (>= 0), one group each.
    seed : int, numpy.random.Generator or None
        The same seed gives the same run, bit for bit.

    Returns
    -------
    GradientResult
        As :func:`reinforce`: exact ``J``, ``gap``, ``reward``, ``kl`` and ``elapsed`` in
        ``history``, ``steps + 1`` entries (the start included); ``converged`` False.
        Per step: ``sample_reward`` and ``sample_kl`` (means over the group).

    Raises
    ------
    MDPValidationError
        For num_generations < 2, a negative beta, lr <= 0 or negative steps.
    TypeError
        When ``lm`` is not a LanguageMDP or a number has the wrong type.

    See Also
    --------
    reinforce, mdptoolkit.rlhf.grpo, mdptoolkit.rlhf.gradient_estimates

    Notes
    -----
    With the group :math:`y_1 .. y_G \sim p_\theta` of a step and :math:`R_k = R(y_k)`,

    .. math::

        \theta \leftarrow \theta + \text{lr}\cdot\frac{1}{G} \sum_{k=1}^{G}
        \Bigl(R_k - \frac{1}{G-1}\sum_{i \ne k} R_i\Bigr) \nabla_\theta \log p_\theta(y_k) .

    The baseline of sample k is independent of :math:`y_k`, so the step is an unbiased
    estimate of :math:`\nabla J_\beta` (Kool, van Hoof & Welling 2019; Ahmadian et al. 2024),
    unlike GRPO's std-normalized advantage. As in TRL's ``RLOOTrainer`` the KL enters the
    score at the sequence level (the sum of the per-token log-ratios, k1); TRL's optional
    advantage normalization and clipped multi-iteration updates are left out: one plain
    gradient step per group.

    References
    ----------
    Ahmadian, A. et al. (2024). Back to basics: revisiting REINFORCE-style optimization for
    learning from human feedback in LLMs. ACL.
    Kool, W., van Hoof, H. & Welling, M. (2019). Buy 4 REINFORCE samples, get a baseline for
    free! ICLR workshop.

    Examples
    --------
    >>> import mdptoolkit as mt
    >>> lm = mt.language.toy(max_len=3)
    >>> run = mt.rlhf.rloo(lm, num_generations=4, beta=0.1, lr=2.0, steps=100, seed=0)
    >>> bool(run.gap < 0.5 * run.history["gap"][0])
    True
    >>> again = mt.rlhf.rloo(lm, num_generations=4, beta=0.1, lr=2.0, steps=100, seed=0)
    >>> bool((again.history["J"] == run.history["J"]).all())   # same seed, same run
    True
    """
    G = val.check_int(num_generations, "num_generations", minimum=2)
    beta_value = val.check_real(beta, "beta", low=0.0)
    lr_value = val.check_real(lr, "lr", low=0.0, low_open=True)

    def step(model, theta, pi, log_pi, J, rng, state):
        return _score_step(model, theta, pi, log_pi, rng, n=G, beta=beta_value, lr=lr_value,
                           advantage=leave_one_out)

    return train(lm, method="rloo", beta=beta_value, lr=lr_value, steps=steps, seed=seed,
                 step=step)
