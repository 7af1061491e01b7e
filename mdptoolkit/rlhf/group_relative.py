r"""Group Relative Policy Optimization (GRPO) and Dr. GRPO on a language MDP.

GRPO (Shao et al. 2024) replaces PPO's critic by the statistics of a group of G sequences
sampled for the same prompt: each sequence's advantage is its reward standardized within the
group, shared by all its tokens, and the policy ascends a clipped importance-ratio surrogate
with a per-token KL penalty. Dr. GRPO (Liu et al. 2025) removes the two normalizations that
bias it — the group standard deviation and the division by each sequence's own length.

Here the prompt is the empty prefix, so a step samples one group; the formulas, option names
and defaults follow Hugging Face TRL's ``GRPOTrainer``/``GRPOConfig``.
"""

from __future__ import annotations

import numpy as np

from .. import _validation as val
from .._typing import BoolArray, FloatArray, Seed
from ..language import LanguageMDP
from ..result import GradientResult
from ._sampling import Batch, Rows, sample_batch
from .onpolicy import train

__all__ = ["grpo"]

STD_EPS = 1e-4  #: added to the group standard deviation, as in TRL
LOSS_TYPES = ("grpo", "dr_grpo")
SCALE_REWARDS = ("group", "none")


def group_advantages(r: FloatArray, scale_rewards: str) -> FloatArray:
    r"""GRPO advantages over the last axis: :math:`(r - \bar r)/(\mathrm{std}(r) + 10^{-4})`
    (unbiased std, ddof = 1, as ``torch.std``), or :math:`r - \bar r` with ``"none"``."""
    adv = r - r.mean(axis=-1, keepdims=True)
    if scale_rewards == "group":
        adv = adv / (r.std(axis=-1, ddof=1, keepdims=True) + STD_EPS)
    return adv


def token_normalizer(batch: Batch, loss_type: str, G: int, max_len: int) -> FloatArray:
    r"""Per-sequence factor (n, 1) turning token terms into the loss: ``"grpo"`` averages each
    sequence's tokens, then the group (:math:`1/(G |o_i|)`); ``"dr_grpo"`` sums all tokens over
    the constant :math:`G \cdot L` (TRL: ``batch size * max_completion_length``)."""
    if loss_type == "grpo":
        return (1.0 / (G * batch.n_tokens))[:, None]
    return np.full((batch.n, 1), 1.0 / (G * max_len))


def surrogate_weights(adv: FloatArray, log_pi_tok: FloatArray, old_log_pi_tok: FloatArray,
                      logref_tok: FloatArray, epsilon: float,
                      beta: float) -> tuple[FloatArray, BoolArray]:
    r"""Per-token ascent weights :math:`c_t` of :math:`-\text{loss} = \sum_t c_t \nabla\log\pi`
    (before normalization), and the clipped mask.

    :math:`\rho_t = \pi/\pi_{old}`; the clipped term :math:`\min(\rho A, \mathrm{clip}(\rho,
    1-\epsilon, 1+\epsilon) A)` has gradient :math:`\rho A \nabla\log\pi` unless the clip is
    active (:math:`A > 0, \rho > 1+\epsilon` or :math:`A < 0, \rho < 1-\epsilon`), then 0; the
    penalty :math:`-\beta k_3`, :math:`k_3 = \pi_{ref}/\pi - 1 - \log(\pi_{ref}/\pi)`, has
    gradient :math:`\beta(\pi_{ref}/\pi - 1)\nabla\log\pi`.
    """
    ratio = np.exp(log_pi_tok - old_log_pi_tok)
    clipped = ((adv > 0) & (ratio > 1 + epsilon)) | ((adv < 0) & (ratio < 1 - epsilon))
    c = np.where(clipped, 0.0, adv * ratio)
    if beta > 0:
        c = c + beta * np.expm1(logref_tok - log_pi_tok)
    return c, clipped


def grpo(lm: LanguageMDP, *, num_generations: int = 8, beta: float = 0.0, epsilon: float = 0.2,
         scale_rewards: str = "group", loss_type: str = "grpo", num_iterations: int = 1,
         lr: float, steps: int, seed: Seed = None) -> GradientResult:
    r"""GRPO (or Dr. GRPO) on a language MDP, from the reference.

    Each step samples a group of G = ``num_generations`` sequences from the current policy,
    gives each the group-relative advantage of its reward (centred, and by default divided by
    the group's standard deviation), and takes ``num_iterations`` gradient steps on the
    clipped-ratio surrogate with a per-token k3 KL penalty, averaged per sequence
    (``"grpo"``) or summed over a constant length (``"dr_grpo"``); the equations are under
    Notes.

    Parameters
    ----------
    lm : LanguageMDP
    num_generations : int
        Group size G >= 2 (TRL's default 8).
    beta : float
        Coefficient of the per-token k3 KL penalty in the loss, >= 0; also the KL coefficient of
        the objective :math:`J_\beta` the history measures.
    epsilon : float
        Clipping range of the ratio, in (0, 1) (TRL's default 0.2).
    scale_rewards : {"group", "none"}
        Divide the centred rewards by the group's standard deviation (GRPO) or not (Dr. GRPO).
        (TRL's ``"batch"`` equals ``"group"`` here: a batch is one group.)
    loss_type : {"grpo", "dr_grpo"}
        Token aggregation: the mean over each sequence's tokens, then over the group, or the
        sum over all tokens divided by :math:`G \cdot L`.
    num_iterations : int
        Gradient steps on each sampled group (TRL's :math:`\mu`, default 1); the ratios are
        taken against the sampling policy, so the clip only acts from the second one on.
    lr : float
        Step size (> 0).
    steps : int
        Number of sampled groups (>= 0); ``steps * num_iterations`` gradient steps in all.
    seed : int, numpy.random.Generator or None
        The same seed gives the same run, bit for bit.

    Returns
    -------
    GradientResult
        As :func:`~mdptoolkit.rlhf.reinforce`: exact ``J`` (:math:`J_\beta`), ``gap``,
        ``reward``, ``kl`` and ``elapsed`` in ``history``, ``steps + 1`` entries (entry k
        after k sampled groups, the start included); ``converged`` is always False (a sampled
        method has no convergence test). Per step: ``sample_reward`` (mean reward of the
        group) and ``clip_fraction`` (fraction of the group's tokens whose ratio was clipped,
        averaged over the iterations; 0 when ``num_iterations = 1``).

    Raises
    ------
    MDPValidationError
        For num_generations < 2, a negative beta, epsilon outside (0, 1), an unknown
        scale_rewards or loss_type (the valid ones are listed), num_iterations < 1, lr <= 0
        or negative steps.
    TypeError
        When ``lm`` is not a LanguageMDP or a number has the wrong type.

    See Also
    --------
    mdptoolkit.rlhf.rloo : the unbiased leave-one-out estimate.
    mdptoolkit.rlhf.gradient_estimates : GRPO's first-iteration direction, against the exact
        gradient.

    Notes
    -----
    A step samples :math:`o_1 .. o_G` from the current policy :math:`\pi_{old}` and computes
    the group-relative advantages

    .. math::

        \hat A_i = \frac{r(o_i) - \operatorname{mean}_j r(o_j)}{\operatorname{std}_j r(o_j)
        + 10^{-4}} \quad (\texttt{scale\_rewards="group"}), \qquad
        \hat A_i = r(o_i) - \operatorname{mean}_j r(o_j) \quad (\texttt{"none"}),

    then takes ``num_iterations`` gradient steps :math:`\theta \leftarrow \theta - \text{lr}
    \cdot \nabla\mathcal L` on that group, with the per-token ratio :math:`\rho_{i,t} =
    \pi_\theta(o_{i,t}|o_{i,<t}) / \pi_{old}(o_{i,t}|o_{i,<t})` and loss

    .. math::

        \ell_{i,t} = -\min\bigl(\rho_{i,t}\hat A_i,\,
        \operatorname{clip}(\rho_{i,t}, 1-\epsilon, 1+\epsilon)\hat A_i\bigr)
        + \beta\Bigl(\frac{\pi_{ref}}{\pi_\theta} - 1
        - \log\frac{\pi_{ref}}{\pi_\theta}\Bigr)_{i,t},

    .. math::

        \mathcal L_{\text{grpo}} = \frac{1}{G}\sum_i \frac{1}{|o_i|}\sum_t \ell_{i,t},
        \qquad
        \mathcal L_{\text{dr\_grpo}} = \frac{1}{G L}\sum_i \sum_t \ell_{i,t},

    :math:`|o_i|` counting the generated tokens, eos included, and L = ``lm.max_len`` (TRL's
    ``max_completion_length``: no completion is longer).

    At the first iteration :math:`\rho = 1` and the direction is
    :math:`\frac{1}{G}\sum_i \frac{\hat A_i}{|o_i|} \nabla\log p_\theta(o_i)` plus the
    penalty's :math:`\beta\,(\pi_{ref}/\pi - 1)\nabla\log\pi` per token. Neither factor of
    GRPO's advantage is harmless: dividing by the group's std and by the sequence's length
    makes the expected direction differ from :math:`\nabla J_\beta` (Liu et al. 2025: a bias
    toward long wrong answers and toward easy or hard prompts). Dr. GRPO's direction at
    :math:`\beta = 0` is exactly :math:`\frac{G-1}{G L}\nabla J_0` in expectation (the group
    mean includes the sequence itself). And the k3 penalty's ascent direction has expectation
    :math:`\beta\sum_s d^\pi(s)\sum_a(\pi_{ref} - \pi)(a|s)\nabla\log\pi(a|s) =
    -\beta\sum_s d^\pi(s)\nabla_\theta\mathrm{KL}(\pi_{ref}(\cdot|s)\|\pi_\theta(\cdot|s))`
    (occupancy held fixed): it pulls toward the reference through the *reverse* per-state KL,
    not along :math:`-\nabla\mathrm{KL}(p_\theta\|p_{ref})`, so with :math:`\beta > 0` the
    run's fixed point is not the optimum of :math:`J_\beta` (the ``gap`` shows by how much).

    References
    ----------
    Shao, Z. et al. (2024). DeepSeekMath: pushing the limits of mathematical reasoning in open
    language models. arXiv:2402.03300 (GRPO, eq. 3).
    Liu, Z. et al. (2025). Understanding R1-Zero-like training: a critical perspective.
    arXiv:2503.20783 (Dr. GRPO).
    Schulman, J. (2020). Approximating KL divergence. http://joschu.net/blog/kl-approx.html (k3).

    Examples
    --------
    >>> import mdptoolkit as mt
    >>> lm = mt.language.toy(max_len=3)
    >>> run = mt.rlhf.grpo(lm, num_generations=8, lr=0.5, steps=60, seed=0)
    >>> len(run.history["J"]), bool(run.gap < 0.5 * run.history["gap"][0])
    (61, True)
    >>> dr = mt.rlhf.grpo(lm, loss_type="dr_grpo", scale_rewards="none", lr=5.0, steps=60, seed=0)
    >>> bool(dr.gap < 0.5 * dr.history["gap"][0])
    True
    """
    G = val.check_int(num_generations, "num_generations", minimum=2)
    beta = val.check_real(beta, "beta", low=0.0)
    epsilon = val.check_real(epsilon, "epsilon", low=0.0, high=1.0, low_open=True,
                             high_open=True)
    scale_rewards = val.check_choice(scale_rewards, "scale_rewards", SCALE_REWARDS)
    loss_type = val.check_choice(loss_type, "loss_type", LOSS_TYPES)
    mu = val.check_int(num_iterations, "num_iterations", minimum=1)
    lr = val.check_real(lr, "lr", low=0.0, low_open=True)

    def step(model, theta, pi, log_pi, J, rng, state):
        batch = sample_batch(model.lm, pi, G, rng)
        r = model.rewards[batch.index]
        adv = group_advantages(r, scale_rewards)[:, None]
        norm = token_normalizer(batch, loss_type, G, model.lm.max_len) * batch.mask
        rows = Rows(batch)
        pi_u, log_pi_u = pi[rows.u], log_pi[rows.u]
        old = rows.token_values(log_pi_u)
        logref = batch.token_values(model.logref)
        clipped_tokens = 0
        for it in range(mu):
            if it > 0:
                pi_u, log_pi_u = model.policy_rows(theta, rows.u)
            c, clipped = surrogate_weights(adv, rows.token_values(log_pi_u), old, logref,
                                           epsilon, beta)
            clipped_tokens += np.count_nonzero(clipped & batch.mask)
            theta[rows.u] += lr * rows.score_sum(pi_u, c * norm)
        return theta, {"sample_reward": float(r.mean()),
                       "clip_fraction": clipped_tokens / (mu * batch.n_tokens.sum())}, rows.u

    return train(lm, method=loss_type, beta=beta, lr=lr, steps=steps, seed=seed, step=step)
