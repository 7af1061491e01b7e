r"""PPO for RL fine-tuning (the RLHF recipe) on a language MDP, with a tabular critic.

The recipe of Ziegler et al. (2019) and Ouyang et al. (2022), as in Hugging Face TRL's
``PPOTrainer``: the reward model's score is paid at the completing token, every token pays a
KL penalty :math:`-\text{kl\_coef}\cdot k(s_t, a_t)` to the reference, advantages come from
GAE(:math:`\lambda`) with a learned state-value critic, and the policy ascends PPO's clipped
surrogate for several epochs on each sampled batch. On a language MDP the critic is a table
:math:`V(s)` over prefixes, and everything the sampler cannot see — the exact objective, the
gap to the exact optimum — is measured after each step.
"""

from __future__ import annotations

import numpy as np

from .. import _validation as val
from .._typing import BoolArray, FloatArray, Seed
from ..language import LanguageMDP
from ..result import GradientResult
from ._sampling import Batch, Rows, sample_batch
from .onpolicy import _Model, train

__all__ = ["ppo"]

KL_ESTIMATORS = ("k1", "k3")
WHITEN_EPS = 1e-8  #: as TRL's masked_whiten


def token_rewards(model: _Model, batch: Batch, old_log_pi_tok: FloatArray, kl_coef: float,
                  kl_estimator: str) -> FloatArray:
    r"""Per-token rewards (n, L): :math:`-\text{kl\_coef}\cdot k_t`, plus :math:`r(y)` at each
    sequence's last token; 0 at padding. :math:`k1 = \log(\pi/\pi_{ref})`, :math:`k3 =
    \pi_{ref}/\pi - 1 - \log(\pi_{ref}/\pi)`, at the sampling policy."""
    log_r = batch.token_values(model.logref) - old_log_pi_tok   # log(pi_ref / pi)
    kl = -log_r if kl_estimator == "k1" else np.expm1(log_r) - log_r
    rewards = np.where(batch.mask, -kl_coef * kl, 0.0)
    rewards[np.arange(batch.n), batch.n_tokens - 1] += model.rewards[batch.index]
    return rewards


def gae(rewards: FloatArray, values: FloatArray, gamma: float, lam: float) -> FloatArray:
    r"""GAE(:math:`\lambda`) advantages (n, L), one backward pass over the token positions.

    :math:`\delta_t = r_t + \gamma V(s_{t+1}) - V(s_t)`, :math:`A_t = \delta_t + \gamma\lambda
    A_{t+1}`, with :math:`V = 0` after the last token. ``values`` holds 0 at padding (the
    terminal state), so padded positions contribute nothing.
    """
    n, L = rewards.shape
    adv = np.empty((n, L))
    last = np.zeros(n)
    for t in range(L - 1, -1, -1):
        next_values = values[:, t + 1] if t < L - 1 else 0.0
        delta = rewards[:, t] + gamma * next_values - values[:, t]
        last = delta + gamma * lam * last
        adv[:, t] = last
    return adv


def whiten(x: FloatArray, mask: BoolArray) -> FloatArray:
    """(x - mean) / sqrt(var + 1e-8) over the masked entries (unbiased var), 0 elsewhere."""
    values = x[mask]
    var = values.var(ddof=1) if values.size > 1 else 0.0
    return np.where(mask, (x - values.mean()) / np.sqrt(var + WHITEN_EPS), 0.0)


def clipped_weights(adv: FloatArray, log_pi_tok: FloatArray, old_log_pi_tok: FloatArray,
                    cliprange: float) -> tuple[FloatArray, BoolArray]:
    r"""Ascent weights of PPO's clipped surrogate: :math:`\rho A` where the clip is inactive,
    0 where it is (A > 0 and :math:`\rho > 1 + \epsilon`, or A < 0 and :math:`\rho < 1 -
    \epsilon`); and the clipped mask."""
    ratio = np.exp(log_pi_tok - old_log_pi_tok)
    clipped = ((adv > 0) & (ratio > 1 + cliprange)) | ((adv < 0) & (ratio < 1 - cliprange))
    return np.where(clipped, 0.0, adv * ratio), clipped


def critic_step(V: FloatArray, rows: Rows, returns: FloatArray, old_values: FloatArray,
                vf_lr: float, cliprange_value: float) -> FloatArray:
    r"""One tabular step on TRL's clipped value loss, per state averaged over its visits.

    :math:`\ell = \tfrac12\max\bigl((V - G)^2, (\mathrm{clip}(V, V_{old} \pm c) - G)^2\bigr)`;
    :math:`V(s) \leftarrow V(s) - \text{vf\_lr}\cdot\operatorname{mean}_{t: s_t = s}
    \partial\ell_t/\partial V(s)` (with vf_lr = 1 and no clipping: the batch's mean return
    from s). ``V`` holds the values of the visited states ``rows.u`` only.
    """
    m = rows.mask
    s = rows.local[m]
    v = V[s]
    g = returns[m]
    v_old = old_values[m]
    v_clip = np.clip(v, v_old - cliprange_value, v_old + cliprange_value)
    inside = np.abs(v - v_old) <= cliprange_value
    plain = (v - g) ** 2 >= (v_clip - g) ** 2
    grad = np.where(plain, v - g, np.where(inside, v_clip - g, 0.0))
    count = np.bincount(s, minlength=V.size)
    total = np.bincount(s, grad, minlength=V.size)
    return V - vf_lr * total / np.maximum(count, 1)


def ppo(lm: LanguageMDP, *, kl_coef: float = 0.05, kl_estimator: str = "k1",
        cliprange: float = 0.2, lam: float = 0.95, gamma: float = 1.0, num_ppo_epochs: int = 4,
        batch_size: int = 16, vf_lr: float = 0.5, cliprange_value: float = 0.2,
        whiten_advantages: bool = True, lr: float, steps: int,
        seed: Seed = None) -> GradientResult:
    r"""PPO with a per-token KL penalty and a tabular critic on a language MDP, from the reference.

    Each step samples ``batch_size`` sequences from the current policy, pays each token a KL
    penalty to the reference and the completing token the reward, estimates advantages by
    GAE(:math:`\lambda`) from a table of state values, and takes ``num_ppo_epochs`` gradient
    steps on PPO's clipped surrogate (and on the critic) with that batch; the equations are
    under Notes.

    Parameters
    ----------
    lm : LanguageMDP
    kl_coef : float
        KL penalty per token, >= 0 (TRL's default 0.05); also the :math:`\beta` of the
        objective :math:`J_\beta` the history measures.
    kl_estimator : {"k1", "k3"}
        Per-token KL estimate in the reward (TRL's name). Summed over a sequence, both are
        unbiased for the sequence KL; k1 sums to :math:`\log(p_{old}(y)/p_{ref}(y))` exactly,
        so with k1 the shaped return from the first token is the KL-shaped score of
        :func:`~mdptoolkit.rlhf.reinforce`.
    cliprange : float
        :math:`\epsilon` > 0 of the ratio clip (TRL's default 0.2).
    lam, gamma : float
        GAE :math:`\lambda` and discount :math:`\gamma`, in [0, 1] (TRL's defaults 0.95, 1).
    num_ppo_epochs : int
        Gradient steps on each batch (>= 1; TRL's default 4).
    batch_size : int
        Sequences per step (>= 1).
    vf_lr : float
        Critic step size in [0, 1]: per epoch each visited state moves by ``vf_lr`` times the
        mean over its visits of the gradient of TRL's value loss :math:`\tfrac12\max((V -
        G)^2, (\mathrm{clip}(V, V_{old} \pm c) - G)^2)`; 0 keeps the critic at 0 (no critic).
        (TRL shares one optimizer and scales the value loss by ``vf_coef``; a tabular critic
        takes its own rate.)
    cliprange_value : float
        c > 0, the value clip (TRL's default 0.2).
    whiten_advantages : bool
        Standardize the advantages over the batch's tokens, as TRL always does (a bias of its
        own: the mean is subtracted from every token's advantage).
    lr : float
        Step size of the policy (> 0).
    steps : int
        Number of sampled batches (>= 0).
    seed : int, numpy.random.Generator or None
        The same seed gives the same run, bit for bit.

    Returns
    -------
    GradientResult
        As :func:`~mdptoolkit.rlhf.reinforce`: exact ``J`` (:math:`J_\beta` with
        :math:`\beta` = ``kl_coef``), ``gap``, ``reward``, ``kl`` and ``elapsed`` in
        ``history``, ``steps + 1`` entries (the start included); ``converged`` always False.
        Per step: ``sample_reward``, ``clip_fraction`` (fraction of tokens clipped, averaged
        over the epochs) and ``value_error`` (mean squared error of the critic against the
        batch's returns, before the step).

    Raises
    ------
    MDPValidationError
        For a negative kl_coef, an unknown kl_estimator (the valid ones are listed),
        cliprange <= 0, lam or gamma outside [0, 1], num_ppo_epochs < 1, batch_size < 1,
        vf_lr outside [0, 1], cliprange_value <= 0, lr <= 0 or negative steps.
    TypeError
        When ``lm`` is not a LanguageMDP or an option has the wrong type.

    See Also
    --------
    mdptoolkit.rlhf.reinforce : what one epoch without clip, critic or whitening reduces to.
    mdptoolkit.rlhf.grpo : the critic-free, group-relative variant.

    Notes
    -----
    A step samples n = ``batch_size`` sequences from the current policy :math:`\pi_{old}` and
    gives token t of each the reward

    .. math::

        r_t = -\text{kl\_coef}\cdot k(s_t, a_t) + [t = \text{last}]\, r(y), \qquad
        k_1 = \log\frac{\pi_{old}(a_t|s_t)}{\pi_{ref}(a_t|s_t)}, \quad
        k_3 = \frac{\pi_{ref}}{\pi_{old}} - 1 - \log\frac{\pi_{ref}}{\pi_{old}},

    advantages :math:`\hat A_t = \sum_{l \ge 0} (\gamma\lambda)^l \delta_{t+l}`,
    :math:`\delta_t = r_t + \gamma V(s_{t+1}) - V(s_t)` from the critic (GAE; Schulman et al.
    2016), returns :math:`\hat A_t + V(s_t)`, and (by default) whitens the advantages over the
    batch's tokens. Then ``num_ppo_epochs`` times, on the same batch:

    .. math::

        \theta \leftarrow \theta + \text{lr}\cdot\frac1n\sum_{i=1}^n \sum_t
        \nabla_\theta \min\bigl(\rho_{i,t}\hat A_{i,t},\,
        \operatorname{clip}(\rho_{i,t}, 1-\epsilon, 1+\epsilon)\hat A_{i,t}\bigr),
        \qquad \rho = \pi_\theta/\pi_{old},

    and the critic steps on TRL's clipped value loss (see ``vf_lr``).

    The first epoch has :math:`\rho = 1`, so its direction is :math:`\frac1n \sum_i\sum_t
    \hat A_{i,t}\nabla\log\pi(a_t|s_t)`. With :math:`\lambda = \gamma = 1`, no critic
    (``vf_lr=0``) and no whitening, :math:`\hat A_t` is the KL-shaped return from t, and by
    causality the expected direction is exactly :math:`\nabla J_{\text{kl\_coef}}` with k1
    (the same as REINFORCE's; Sutton & Barto 2018, §13.3). Unlike TRL, which averages the
    surrogate over all tokens of a minibatch, the loss here is summed over each sequence's
    tokens and averaged over sequences — that is what makes the first epoch an unbiased
    gradient step; every epoch uses the whole batch (no minibatches).

    References
    ----------
    Schulman, J., Wolski, F., Dhariwal, P., Radford, A. & Klimov, O. (2017). Proximal policy
    optimization algorithms. arXiv:1707.06347.
    Schulman, J., Moritz, P., Levine, S., Jordan, M. & Abbeel, P. (2016). High-dimensional
    continuous control using generalized advantage estimation. ICLR.
    Ziegler, D. M. et al. (2019). Fine-tuning language models from human preferences.
    arXiv:1909.08593.
    Schulman, J. (2020). Approximating KL divergence. http://joschu.net/blog/kl-approx.html.

    Examples
    --------
    >>> import mdptoolkit as mt
    >>> lm = mt.language.toy(max_len=3)
    >>> run = mt.rlhf.ppo(lm, kl_coef=0.1, lr=0.5, steps=60, seed=0)
    >>> len(run.history["J"]), bool(run.gap < 0.5 * run.history["gap"][0])
    (61, True)
    """
    kl_coef = val.check_real(kl_coef, "kl_coef", low=0.0)
    kl_estimator = val.check_choice(kl_estimator, "kl_estimator", KL_ESTIMATORS)
    cliprange = val.check_real(cliprange, "cliprange", low=0.0, low_open=True)
    lam = val.check_real(lam, "lam", low=0.0, high=1.0)
    gamma = val.check_real(gamma, "gamma", low=0.0, high=1.0)
    epochs = val.check_int(num_ppo_epochs, "num_ppo_epochs", minimum=1)
    n = val.check_int(batch_size, "batch_size", minimum=1)
    vf_lr = val.check_real(vf_lr, "vf_lr", low=0.0, high=1.0)
    cliprange_value = val.check_real(cliprange_value, "cliprange_value", low=0.0,
                                     low_open=True)
    if not isinstance(whiten_advantages, (bool, np.bool_)):
        raise TypeError(f"whiten_advantages must be a bool; got "
                        f"{type(whiten_advantages).__name__}")
    lr = val.check_real(lr, "lr", low=0.0, low_open=True)

    def step(model, theta, pi, log_pi, J, rng, state):
        V = state.setdefault("V", np.zeros(model.S))   # the critic; 0 at the terminal state
        batch = sample_batch(model.lm, pi, n, rng)
        rows = Rows(batch)
        V_u = V[rows.u]
        pi_u, log_pi_u = pi[rows.u], log_pi[rows.u]
        old = rows.token_values(log_pi_u)
        rewards = token_rewards(model, batch, old, kl_coef, kl_estimator)
        values = np.where(batch.mask, V_u[rows.local], 0.0)
        adv = gae(rewards, values, gamma, lam)
        returns = adv + values
        value_error = float(((values - returns)[batch.mask] ** 2).mean())
        if whiten_advantages:
            adv = whiten(adv, batch.mask)
        weight = batch.mask / n
        clipped_tokens = 0
        for epoch in range(epochs):
            if epoch > 0:
                pi_u, log_pi_u = model.policy_rows(theta, rows.u)
            c, clipped = clipped_weights(adv, rows.token_values(log_pi_u), old, cliprange)
            clipped_tokens += np.count_nonzero(clipped & batch.mask)
            theta[rows.u] += lr * rows.score_sum(pi_u, c * weight)
            if vf_lr > 0:
                V_u = critic_step(V_u, rows, returns, values, vf_lr, cliprange_value)
        V[rows.u] = V_u
        return theta, {"sample_reward": float(model.rewards[batch.index].mean()),
                       "clip_fraction": clipped_tokens / (epochs * batch.n_tokens.sum()),
                       "value_error": value_error}, rows.u

    return train(lm, method="ppo", beta=kl_coef, lr=lr, steps=steps, seed=seed, step=step)
