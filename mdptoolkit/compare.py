r"""Every method on one language MDP, measured against the DP optimum (``mdptoolkit compare``).

The comparison solves a :class:`~mdptoolkit.language.LanguageMDP` (default
:func:`~mdptoolkit.language.toy`) for the objective :math:`J_\beta(\pi) = \mathbb E_\pi[r(y)] -
\beta\,\mathrm{KL}(\pi \| \pi_{ref})` by

- dynamic programming: value iteration and policy iteration (the plain optimum) and, when
  :math:`\beta > 0`, soft value iteration (the regularized optimum);
- exact gradient methods started at the reference model :math:`\pi_{ref}`, as RL fine-tuning
  starts at the pretrained model: policy gradient, natural policy gradient, expected
  actor-critic (its critic starting at the value of :math:`\pi_{ref}`);
- sampled learners from the same start: REINFORCE with a learned state-value baseline and the
  one-step sampled actor-critic. With :math:`\beta > 0` they optimize :math:`J_\beta` too:
  each token's reward carries the KL penalty :math:`-\beta\log(\pi/\pi_{ref})(a_t|s_t)` (the
  per-token k1 penalty of RLHF, which sums to :math:`-\beta\log(p_\pi(y)/p_{ref}(y))` along
  y), run as :func:`mdptoolkit.rlhf.ppo` reduced to the same algorithm — one epoch, no
  clipping, no whitening, one sequence per update, GAE with :math:`\lambda = 1` (returns minus
  the learned baseline) or :math:`\lambda = 0` (the TD error);
- the on-policy methods of RL fine-tuning (:mod:`mdptoolkit.rlhf`): RLOO, GRPO and PPO with
  TRL's defaults, their KL coefficient set to :math:`\beta`. GRPO's per-token k3 penalty in
  the loss is not the gradient of :math:`\beta\,\mathrm{KL}`, so with :math:`\beta > 0` a
  gap to the optimum of :math:`J_\beta` remains: that is GRPO's bias, measured.

Every row reports the exact objective :math:`J_\beta` of the returned policy, its gap to the
DP optimum of the same objective, the iterations (sequences sampled, for the sampled rows), the
seconds and the most likely sentence. Every sampled row gets the same budget of sequences.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import _validation as val
from ._typing import FloatArray, Seed
from .evaluation import evaluate_policy, expected_return
from .gradient import actor_critic, policy_gradient
from .language import LanguageMDP, toy
from .rlhf import grpo, ppo, rloo
from .sampling import reinforce, sampled_actor_critic
from .solvers import policy_iteration, soft_value_iteration, value_iteration

__all__ = ["Comparison", "ComparisonRow", "compare"]

SAMPLED_KINDS = ("sampled", "RL fine-tuning")
BETA_SCALE = 0.3   #: above this beta the sampled methods' step sizes shrink as BETA_SCALE / beta


@dataclass(frozen=True)
class ComparisonRow:
    """One method's line of the comparison table."""

    method: str
    kind: str
    J: float
    gap: float
    iterations: int
    seconds: float
    sentence: str
    probability: float


@dataclass(frozen=True, repr=False)
class Comparison:
    """The rows, the results behind them and the optimum they are measured against.

    Attributes
    ----------
    rows : tuple of ComparisonRow
    results : dict
        Method name -> the solver's result (``SolverResult``, ``GradientResult`` or
        ``PolicySearchResult``), for plotting.
    optimum : float
        The DP optimum of the objective (:math:`\\beta`-regularized when ``beta > 0``).
    beta : float
    """

    rows: tuple[ComparisonRow, ...]
    results: dict[str, Any] = field(default_factory=dict)
    optimum: float = 0.0
    beta: float = 0.0

    def table(self) -> str:
        """The rows as an aligned text table."""
        header = ("method", "kind", "J", "gap", "iters", "seconds", "most likely sentence")
        lines = [[r.method, r.kind, f"{r.J:.6f}", f"{r.gap:.2e}", str(r.iterations),
                  f"{r.seconds:.2f}", f"{r.sentence!r} ({r.probability:.2f})"] for r in self.rows]
        widths = [max(len(h), *(len(line[i]) for line in lines)) for i, h in enumerate(header)]
        fmt = lambda cells: "  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()  # noqa: E731
        rule = "  ".join("-" * w for w in widths)
        return "\n".join([fmt(header), rule, *map(fmt, lines)])

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary."""
        return {"optimum": self.optimum, "beta": self.beta,
                "rows": [dict(vars(r)) for r in self.rows]}

    def gap_curve(self, method: str) -> tuple[FloatArray, FloatArray]:
        r"""The exact gap history of one gradient or sampled method, for plotting.

        Parameters
        ----------
        method : str
            A row's ``method`` whose result records ``history["gap"]`` (every row but DP).

        Returns
        -------
        (ndarray, ndarray)
            ``x``: the iteration (exact gradient rows) or the number of sequences sampled so
            far (sampled rows, whose budgets are comparable that way); ``gap``: the optimum
            minus the exact objective of the policy at that point.

        Raises
        ------
        KeyError
            For a method that is not a row (the message lists the rows).

        Examples
        --------
        >>> import mdptoolkit as mt
        >>> result = mt.compare(iterations=5, episodes=64)
        >>> x, gap = result.gap_curve("rloo")       # groups of 4: 16 steps
        >>> x[:3].tolist(), x[-1].item(), len(gap)
        ([0, 4, 8], 64, 17)
        """
        row = next((r for r in self.rows if r.method == method), None)
        if row is None:
            raise KeyError(f"method must be one of {[r.method for r in self.rows]}; "
                           f"got {method!r}")
        history = self.results[method].history
        gap = np.asarray(history["gap"], dtype=float)
        if "episode" in history:
            x = np.asarray(history["episode"])
        elif row.kind in SAMPLED_KINDS:
            x = np.arange(gap.size) * (row.iterations // max(1, gap.size - 1))
        else:
            x = np.arange(gap.size)
        return x, gap

    def __repr__(self) -> str:
        return (f"Comparison(optimum={self.optimum:.6g}, beta={self.beta:g}, "
                f"methods={len(self.rows)})")


def _top(lm, policy):
    sentence, probability = lm.top_sequences(policy, 1)[0]
    return " ".join(sentence) or "<empty>", float(probability)


def step_scale(beta: float) -> float:
    """Factor on the sampled methods' step sizes: 1 up to beta = 0.3, then 0.3 / beta (the
    KL-shaped scores, and GRPO's penalty gradient, grow in proportion to beta, and the optimum
    comes so close to the reference that a fixed step is mostly noise)."""
    return min(1.0, BETA_SCALE / beta) if beta > 0 else 1.0


def _sampled_methods(lm, beta, episodes, seed, theta0):
    """[(name, kind, sequences, run)] of the sampled rows, each sampling ``episodes``
    sequences (rounded down to whole groups)."""
    scale = step_scale(beta)
    if beta == 0:
        eval_every = max(1, episodes // 50)
        learners = [
            ("reinforce", episodes, lambda: reinforce(
                lm.mdp, lr=1.0, episodes=episodes, theta0=theta0, baseline="value",
                baseline_lr=0.1, seed=seed, eval_every=eval_every)),
            ("sampled_actor_critic", episodes, lambda: sampled_actor_critic(
                lm.mdp, actor_lr=1.0, critic_lr=0.5, episodes=episodes, theta0=theta0,
                seed=seed, eval_every=eval_every))]
    else:
        # the same two learners with the per-token KL penalty in the reward: PPO reduced to
        # one plain gradient step per sequence (lam = 1: returns minus the learned value
        # baseline, stepped by baseline_lr; lam = 0: the TD error, critic stepped by critic_lr)
        plain = dict(kl_coef=beta, kl_estimator="k1", gamma=1.0, num_ppo_epochs=1,
                     batch_size=1, whiten_advantages=False, lr=scale, steps=episodes, seed=seed)
        learners = [
            ("reinforce", episodes, lambda: ppo(lm, lam=1.0, vf_lr=0.1, **plain)),
            ("sampled_actor_critic", episodes, lambda: ppo(lm, lam=0.0, vf_lr=0.5, **plain))]
    steps = {G: max(1, episodes // G) for G in (4, 8, 16)}
    fine_tuning = [
        ("rloo", 4 * steps[4], lambda: rloo(lm, num_generations=4, beta=beta, lr=2.0 * scale,
                                            steps=steps[4], seed=seed)),
        ("grpo", 8 * steps[8], lambda: grpo(lm, num_generations=8, beta=beta, lr=scale,
                                            steps=steps[8], seed=seed)),
        ("ppo", 16 * steps[16], lambda: ppo(lm, kl_coef=beta, batch_size=16, lr=0.5 * scale,
                                            steps=steps[16], seed=seed))]
    return ([(name, "sampled", n, fn) for name, n, fn in learners]
            + [(name, "RL fine-tuning", n, fn) for name, n, fn in fine_tuning])


def compare(lm: LanguageMDP | None = None, *, beta: float = 0.0, iterations: int = 300,
            episodes: int = 2000, seed: Seed = 0,
            progress: Callable[[str], Any] | None = None) -> Comparison:
    r"""Solve a language MDP by every method and measure each against the DP optimum.

    Parameters
    ----------
    lm : LanguageMDP, optional
        Default :func:`mdptoolkit.language.toy`.
    beta : float
        KL temperature of the objective (0: the plain expected reward). Every row, the
        sampled ones included, optimizes and is scored on the same :math:`J_\beta`.
    iterations : int
        Updates of each exact gradient method.
    episodes : int
        Sequences (episodes) sampled by each sampled method: one per update for REINFORCE and
        the sampled actor-critic, groups of 4 (RLOO), 8 (GRPO) and batches of 16 (PPO) per
        update for the RL fine-tuning methods. Their step sizes are fixed, tuned on the toy,
        and shrink as 0.3/beta above beta = 0.3: the KL-shaped scores grow with beta, and the
        optimum moves toward the reference, where a fixed step is mostly noise (PPO's
        whitened advantages would otherwise random-walk away from it).
    seed : int
        Seed of the sampling methods.
    progress : callable, optional
        ``progress(method)`` is called before each method runs (the CLI's progress bar).

    Returns
    -------
    Comparison
        ``seconds`` of a row is the wall time of its method; for the rows run by
        :mod:`mdptoolkit.rlhf` (RL fine-tuning, and the sampled learners when
        :math:`\beta > 0`) it is the time spent sampling and updating, the exact per-step
        measurements of their history left out.

    Examples
    --------
    >>> import mdptoolkit as mt
    >>> result = mt.compare(iterations=50, episodes=200)
    >>> [row.method for row in result.rows]  # doctest: +NORMALIZE_WHITESPACE
    ['value_iteration', 'policy_iteration', 'policy_gradient', 'natural_policy_gradient',
     'actor_critic', 'reinforce', 'sampled_actor_critic', 'rloo', 'grpo', 'ppo']
    >>> result.rows[1].sentence, round(result.optimum, 4)
    ('the cat sat', 0.1116)

    With :math:`\beta > 0` every row is scored on :math:`J_\beta`; the sampled rows optimize
    it from their samples:

    >>> soft = mt.compare(beta=0.3, iterations=20, episodes=400)
    >>> rows = {row.method: row for row in soft.rows}
    >>> bool(rows["rloo"].gap < 0.5 * rows["policy_iteration"].gap)
    True
    """
    if lm is None:
        lm = toy()
    beta = val.check_beta(beta)
    iterations = val.check_positive(iterations, "iterations", integer=True)
    episodes = val.check_positive(episodes, "episodes", integer=True)
    mdp, ref = lm.mdp, lm.reference_policy
    reference = ref if beta > 0 else None
    rows, results = [], {}

    def objective(policy):
        return expected_return(mdp, policy, beta=beta, reference=reference)

    def run(name, kind, fn):
        if progress is not None:
            progress(name)
        start = time.perf_counter()
        result = fn()
        seconds = time.perf_counter() - start
        results[name] = result
        return result, seconds

    dp: list[tuple[str, Callable[[], Any]]] = [("value_iteration", lambda: value_iteration(mdp)),
          ("policy_iteration", lambda: policy_iteration(mdp))]
    if beta > 0:
        dp.append(("soft_value_iteration",
                   lambda: soft_value_iteration(mdp, beta, reference=ref, tol=1e-12)))
    dp_rows = []
    for name, fn in dp:
        result, seconds = run(name, "DP", fn)
        dp_rows.append((name, result, seconds))
    optimum = float(mdp.mu @ results["soft_value_iteration" if beta > 0 else "policy_iteration"].V)
    for name, result, seconds in dp_rows:
        J = objective(result.policy)
        rows.append(ComparisonRow(name, "DP", J, optimum - J, result.iterations, seconds,
                                  *_top(lm, result.policy)))

    # gradient methods start at the reference model, as RL fine-tuning does
    with np.errstate(divide="ignore"):
        theta0 = np.where(mdp.allowed, np.log(ref), 0.0)
    theta0[~np.isfinite(theta0)] = -50.0
    common: dict[str, Any] = dict(beta=beta, reference=reference, theta0=theta0,
                                  iterations=iterations)
    # the critic starts at the reference model's value, as a value head is initialized in RL
    # fine-tuning (from w = 0 it is optimistic in rarely visited prefixes and misleads the actor)
    w0 = evaluate_policy(mdp, ref, beta=beta, reference=ref)
    exact = [("policy_gradient", lambda: policy_gradient(mdp, **common)),
             ("natural_policy_gradient", lambda: policy_gradient(mdp, natural=True, **common)),
             ("actor_critic", lambda: actor_critic(mdp, natural=True, w0=w0, **common))]
    for name, fn in exact:
        result, seconds = run(name, "exact gradient", fn)
        rows.append(ComparisonRow(name, "exact gradient", result.J, optimum - result.J,
                                  result.iterations, seconds, *_top(lm, result.policy)))

    for name, kind, sequences, fn in _sampled_methods(lm, beta, episodes, seed, theta0):
        result, seconds = run(name, kind, fn)
        if "elapsed" in result.history:   # mdptoolkit.rlhf: sampling and updating only
            seconds = float(result.history["elapsed"][-1])
        J = objective(result.policy)
        rows.append(ComparisonRow(name, kind, J, optimum - J, sequences, seconds,
                                  *_top(lm, result.policy)))
    return Comparison(rows=tuple(rows), results=results, optimum=optimum, beta=beta)
