r"""The sampled estimates behind the on-policy methods, to hold against the exact answers.

Two studies a language MDP makes exact:

- :func:`gradient_estimates`: the ascent direction one group of sampled sequences gives
  REINFORCE, RLOO, GRPO or Dr. GRPO, many groups at once, to compare with
  :func:`~mdptoolkit.exact_gradient` — which estimators are unbiased for
  :math:`\nabla J_\beta`, and at what variance;
- :func:`kl_estimates`: the per-sequence KL estimates k1, k2, k3 (Schulman 2020), to compare
  with the exact :func:`~mdptoolkit.rlhf.kl`.

Both sample every sequence in one vectorized pass per token position, in chunks of bounded
memory.
"""

from __future__ import annotations

import numpy as np

from .. import _validation as val
from .._typing import ArrayLike, FloatArray, Seed
from ..exceptions import MDPValidationError
from ..language import LanguageMDP
from ._sampling import sample_batch, score_sum
from .group_relative import group_advantages, token_normalizer
from .onpolicy import _Model, kl_shaped_scores, leave_one_out

__all__ = ["gradient_estimates", "kl_estimates"]

GRADIENT_ESTIMATORS = ("reinforce", "rloo", "grpo", "dr_grpo")
KL_ESTIMATORS = ("k1", "k2", "k3")
CHUNK_ENTRIES = 1 << 22  #: about 32 MB of float64 per working array


def gradient_estimates(lm: LanguageMDP, theta: ArrayLike, *, estimator: str = "reinforce",
                       num_generations: int = 4, n: int, beta: float = 0.0,
                       seed: Seed = None) -> FloatArray:
    r"""Estimates of :math:`\nabla J_\beta(\theta)` from n independent groups of sequences.

    For tabular softmax logits :math:`\theta` (S, A) — the parametrization every method of
    :mod:`mdptoolkit.rlhf` tunes — each group of G = ``num_generations`` sequences drawn from
    :math:`\pi_\theta` gives one estimate, the direction the method would step in (at its
    first iteration, where importance ratios are 1):

    - ``"reinforce"``: :math:`\frac1G\sum_k R_k\nabla\log p_\theta(y_k)`, with the KL-shaped
      score :math:`R = r(y) - \beta\log(p_\theta(y)/p_{ref}(y))`;
    - ``"rloo"``: :math:`\frac1G\sum_k (R_k - \frac{1}{G-1}\sum_{i\ne k}R_i)\nabla\log
      p_\theta(y_k)`;
    - ``"grpo"``: :math:`\frac1G\sum_k \frac{1}{|y_k|}\sum_t \bigl(\hat A_k +
      \beta(\pi_{ref}/\pi_\theta - 1)(a_t|s_t)\bigr)\nabla\log\pi_\theta(a_t|s_t)`, with
      :math:`\hat A_k = (r_k - \bar r)/(\mathrm{std}(r) + 10^{-4})` (``scale_rewards="group"``,
      ``loss_type="grpo"`` of :func:`~mdptoolkit.rlhf.grpo`), :math:`|y_k|` its token count
      with eos;
    - ``"dr_grpo"``: the same with :math:`\hat A_k = r_k - \bar r` and :math:`\frac{1}{GL}
      \sum_k \sum_t` (``scale_rewards="none"``, ``loss_type="dr_grpo"``).

    Parameters
    ----------
    lm : LanguageMDP
    theta : array_like (S, A)
        Logits of :math:`\pi_\theta(a|s) \propto e^{\theta_{s,a}}` over the actions the
        reference allows (``lm.reference_policy > 0``; entries elsewhere are ignored).
    estimator : {"reinforce", "rloo", "grpo", "dr_grpo"}
    num_generations : int
        Group size G (>= 1 for "reinforce", >= 2 for the others).
    n : int
        Number of groups, i.e. of estimates (>= 1).
    beta : float
        KL coefficient of :math:`J_\beta` (>= 0).
    seed : int, numpy.random.Generator or None
        The sequences depend on ``seed`` (and on n, G, theta) only, not on ``estimator``:
        the four estimators with the same seed see the same groups.

    Returns
    -------
    ndarray (n, S·A)
        One estimate per row, the (S, A) gradient flattened in C order — the layout of
        :func:`mdptoolkit.gradient_estimates`, to compare with
        ``mt.exact_gradient(lm.mdp, param, theta, beta=beta,
        reference=lm.reference_policy)[1].ravel()`` for ``param =
        mt.TabularSoftmax(S, A, allowed=lm.reference_policy > 0)`` (``param=None`` when the
        reference is positive everywhere). Masked entries and the terminal row are 0.

    Raises
    ------
    MDPValidationError
        For an unknown estimator (the valid ones are listed), a too small num_generations,
        n < 1, a negative beta, or theta of the wrong shape or not finite.
    TypeError
        When ``lm`` is not a LanguageMDP or an option has the wrong type.

    See Also
    --------
    mdptoolkit.exact_gradient, mdptoolkit.rlhf.rloo, mdptoolkit.rlhf.grpo, kl_estimates

    Notes
    -----
    Unbiasedness. :math:`\nabla J_\beta = \mathbb E[R(y)\nabla\log p_\theta(y)]`, so
    "reinforce" is unbiased, and so is "rloo": its baseline is independent of the sample it
    multiplies (Kool et al. 2019; Ahmadian et al. 2024). "dr_grpo" at :math:`\beta = 0` has
    expectation exactly :math:`\frac{G-1}{GL}\nabla J_0` (its group mean includes the
    sample itself; L = ``lm.max_len``): unbiased in direction, scaled (Liu et al. 2025). "grpo"
    is biased in direction: the std normalization couples the samples of a group, the
    :math:`1/|y|` weights favour short sequences, and the k3 penalty's gradient
    :math:`\beta\,\mathbb E_{a\sim\pi}[(\pi_{ref}/\pi - 1)\nabla\log\pi]` is that of the
    reverse per-token KL, not of :math:`\mathrm{KL}(p_\theta\|p_{ref})`.

    Cost: n·G sequences, sampled together (in chunks of about 4 million entries), and one
    scatter of all their tokens into the (n, S·A) output, so memory is dominated by the
    output itself.

    .. math::

        \hat g = \sum_{i,t} c_{i,t}\bigl(e_{a_t} - \pi_\theta(\cdot|s_t)\bigr) \otimes e_{s_t}
        \quad\text{(the score of token t of sequence i, weight } c_{i,t}\text{)}.

    References
    ----------
    Williams, R. J. (1992). Machine Learning 8 (REINFORCE).
    Kool, W., van Hoof, H. & Welling, M. (2019). Buy 4 REINFORCE samples, get a baseline for
    free! ICLR workshop.
    Ahmadian, A. et al. (2024). Back to basics: revisiting REINFORCE-style optimization for
    learning from human feedback in LLMs. ACL (RLOO).
    Shao, Z. et al. (2024). DeepSeekMath. arXiv:2402.03300 (GRPO).
    Liu, Z. et al. (2025). Understanding R1-Zero-like training: a critical perspective.
    arXiv:2503.20783 (Dr. GRPO).

    Examples
    --------
    RLOO is unbiased: the mean of many estimates agrees with the exact gradient.

    >>> import numpy as np, mdptoolkit as mt
    >>> lm = mt.language.LanguageMDP(["a", "b"], 2, lambda y: float(y == ("a", "b")))
    >>> theta = np.log(lm.reference_policy)
    >>> g = mt.rlhf.gradient_estimates(lm, theta, estimator="rloo", n=20000, seed=0)
    >>> _, exact = mt.exact_gradient(lm.mdp, None, theta)
    >>> z = (g.mean(axis=0) - exact.ravel()) / (g.std(axis=0) / np.sqrt(20000) + 1e-300)
    >>> g.shape, bool(np.abs(z).max() < 4.5)   # max |z| over the 12 coordinates
    ((20000, 12), True)
    """
    model = _Model(lm)
    estimator = val.check_choice(estimator, "estimator", GRADIENT_ESTIMATORS)
    G = val.check_int(num_generations, "num_generations",
                      minimum=1 if estimator == "reinforce" else 2)
    n = val.check_int(n, "n", minimum=1)
    beta = val.check_real(beta, "beta", low=0.0)
    theta = model.check_theta(theta)
    rng = val.default_rng(seed)
    pi, log_pi = model.policy(theta)
    S, A, L = model.S, model.A, model.lm.max_len
    out = np.empty((n, S * A))
    chunk = max(1, min(n, CHUNK_ENTRIES // max(S * A, G * L)))
    for start in range(0, n, chunk):
        m = min(chunk, n - start)
        batch = sample_batch(model.lm, pi, m * G, rng)
        c = _token_weights(model, batch, log_pi, estimator, beta, m, G)
        groups = np.repeat(np.arange(m), G)
        out[start:start + m] = score_sum(pi, batch, c, groups=groups, n_groups=m).reshape(m, -1)
    return out


def _token_weights(model, batch, log_pi, estimator, beta, m, G):
    """(m·G, L) per-token weights c of each estimator (groups are consecutive rows)."""
    if estimator in ("reinforce", "rloo"):
        R = kl_shaped_scores(model, batch, log_pi, beta)[0].reshape(m, G)
        if estimator == "rloo":
            R = leave_one_out(R)
        return np.broadcast_to((R.reshape(-1) / G)[:, None], batch.mask.shape)
    r = model.rewards[batch.index].reshape(m, G)
    scale = "group" if estimator == "grpo" else "none"
    adv = group_advantages(r, scale).reshape(-1, 1)
    if beta > 0:
        log_ratio = batch.token_values(model.logref) - batch.token_values(log_pi)
        adv = adv + beta * np.expm1(log_ratio)
    loss_type = "grpo" if estimator == "grpo" else "dr_grpo"
    return adv * token_normalizer(batch, loss_type, G, model.lm.max_len) * batch.mask


def kl_estimates(lm: LanguageMDP, policy: ArrayLike, *, estimator: str = "k1", n: int,
                 seed: Seed = None) -> FloatArray:
    r"""Per-sequence Monte Carlo estimates of :math:`\mathrm{KL}(p_\pi \,\|\, p_{ref})`.

    Draws n sequences from ``policy`` and sums over each one's tokens (eos included) one of
    Schulman's three per-token estimates of the KL (Notes), computed from the ratio of the
    reference's to the policy's probability of each sampled token.

    Parameters
    ----------
    lm : LanguageMDP
    policy : array_like
        Deterministic int (S,) or stochastic (S, A); it must give probability 0 wherever the
        reference does (else the KL is infinite).
    estimator : {"k1", "k2", "k3"}
    n : int
        Number of sequences (>= 1).
    seed : int, numpy.random.Generator or None
        The sequences depend on ``seed`` only, not on ``estimator``.

    Returns
    -------
    ndarray (n,)

    Raises
    ------
    MDPValidationError
        For an unknown estimator (the valid ones are listed), n < 1, a policy that is not
        one of ``lm.mdp``, or one that puts mass where the reference has none.
    TypeError
        When ``lm`` is not a LanguageMDP or n is not an integer.

    See Also
    --------
    mdptoolkit.rlhf.kl : the exact value.

    Notes
    -----
    With :math:`\rho_t = \pi_{ref}(a_t|s_t)/\pi(a_t|s_t)` along a sampled y,

    .. math::

        k_1 = \sum_t -\log\rho_t, \qquad
        k_2 = \sum_t \tfrac12 (\log\rho_t)^2, \qquad
        k_3 = \sum_t (\rho_t - 1 - \log\rho_t).

    k1 sums to :math:`\log(p_\pi(y)/p_{ref}(y))`, whose mean is the KL: unbiased, but it
    takes negative values and has a high variance. k3 adds :math:`\rho_t - 1`, whose
    conditional mean given the prefix is :math:`\sum_a \pi_{ref}(a|s) - 1 = 0`, so it stays
    unbiased (for the sum over tokens, by the tower rule), and each term is >= 0 (as
    :math:`\log x \le x - 1`). k2 is biased: its per-token mean is
    :math:`\tfrac12\mathbb E[(\log\rho)^2]`, an f-divergence that only agrees with the KL to
    second order as :math:`\pi \to \pi_{ref}` (Schulman 2020). TRL's ``PPOTrainer`` puts
    k1 or k3 per token in the reward and ``GRPOTrainer`` k3 in the loss.

    References
    ----------
    Schulman, J. (2020). Approximating KL divergence. http://joschu.net/blog/kl-approx.html.

    Examples
    --------
    >>> import numpy as np, mdptoolkit as mt
    >>> lm = mt.language.toy(max_len=3)
    >>> tuned = mt.rlhf.optimal_policy(lm, 0.5)
    >>> exact = mt.rlhf.kl(lm, tuned)
    >>> k3 = mt.rlhf.kl_estimates(lm, tuned, estimator="k3", n=100000, seed=0)
    >>> bool(abs(k3.mean() - exact) < 4 * k3.std() / np.sqrt(k3.size)), bool(k3.min() >= 0)
    (True, True)
    """
    model = _Model(lm)
    estimator = val.check_choice(estimator, "estimator", KL_ESTIMATORS)
    n = val.check_int(n, "n", minimum=1)
    pi = val.as_policy_matrix(model.lm.mdp, policy)
    leak = (pi > 0) & ~model.allowed
    leak[model.lm.terminal_state] = False
    if leak.any():
        s, a = np.argwhere(leak)[0]
        raise MDPValidationError(
            f"policy must give probability 0 where the reference does (else the KL is "
            f"infinite); got {val.fmt_num(pi[s, a])} at policy[{s}, {a}] "
            f"({int(leak.sum())} such entries)")
    rng = val.default_rng(seed)
    with np.errstate(divide="ignore"):
        log_rho = np.where(model.allowed, model.logref - np.log(np.where(pi > 0, pi, 1.0)), 0.0)
    out = np.empty(n)
    chunk = max(1, CHUNK_ENTRIES // model.lm.max_len)
    for start in range(0, n, chunk):
        m = min(chunk, n - start)
        batch = sample_batch(model.lm, pi, m, rng)
        x = batch.token_values(log_rho)
        if estimator == "k1":
            terms = -x
        elif estimator == "k2":
            terms = 0.5 * x * x
        else:
            terms = np.where(batch.mask, np.expm1(x) - x, 0.0)
        out[start:start + m] = terms.sum(axis=1)
    return out
