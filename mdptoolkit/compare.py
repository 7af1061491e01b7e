r"""Every method on one language MDP, measured against the DP optimum (``mdptoolkit compare``).

The comparison solves a :class:`~mdptoolkit.language.LanguageMDP` (default
:func:`~mdptoolkit.language.toy`) for the objective :math:`J_\beta(\pi) = \mathbb E_\pi[r(y)] -
\beta\,\mathrm{KL}(\pi \| \pi_{ref})` by

- dynamic programming: value iteration and policy iteration (the plain optimum) and, when
  :math:`\beta > 0`, soft value iteration (the regularized optimum);
- exact gradient methods started at the reference model :math:`\pi_{ref}`, as RL fine-tuning
  starts at the pretrained model: policy gradient, natural policy gradient, expected
  actor-critic (its critic starting at the value of :math:`\pi_{ref}`);
- sampling methods from the same start: REINFORCE with a learned value baseline and the
  one-step sampled actor-critic (these optimize the plain objective; with :math:`\beta > 0`
  their policies are scored under the regularized one, so a gap remains).

Every row reports the exact objective of the returned policy, its gap to the DP optimum of the
same objective, the iterations (or episodes), the seconds and the most likely sentence.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from . import _validation as val
from .evaluation import evaluate_policy, expected_return
from .gradient import actor_critic, policy_gradient
from .language import toy
from .sampling import reinforce, sampled_actor_critic
from .solvers import policy_iteration, soft_value_iteration, value_iteration

__all__ = ["Comparison", "ComparisonRow", "compare"]


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

    rows: tuple
    results: dict = field(default_factory=dict)
    optimum: float = 0.0
    beta: float = 0.0

    def table(self):
        """The rows as an aligned text table."""
        header = ("method", "kind", "J", "gap", "iters", "seconds", "most likely sentence")
        lines = [[r.method, r.kind, f"{r.J:.6f}", f"{r.gap:.2e}", str(r.iterations),
                  f"{r.seconds:.2f}", f"{r.sentence!r} ({r.probability:.2f})"] for r in self.rows]
        widths = [max(len(h), *(len(line[i]) for line in lines)) for i, h in enumerate(header)]
        fmt = lambda cells: "  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()  # noqa: E731
        rule = "  ".join("-" * w for w in widths)
        return "\n".join([fmt(header), rule, *map(fmt, lines)])

    def to_dict(self):
        """JSON-ready summary."""
        return {"optimum": self.optimum, "beta": self.beta,
                "rows": [dict(vars(r)) for r in self.rows]}

    def __repr__(self):
        return f"Comparison(optimum={self.optimum:.6g}, beta={self.beta:g}, methods={len(self.rows)})"


def _top(lm, policy):
    sentence, probability = lm.top_sequences(policy, 1)[0]
    return " ".join(sentence) or "<empty>", float(probability)


def compare(lm=None, *, beta=0.0, iterations=300, episodes=2000, seed=0, progress=None):
    r"""Solve a language MDP by every method and measure each against the DP optimum.

    Parameters
    ----------
    lm : LanguageMDP, optional
        Default :func:`mdptoolkit.language.toy`.
    beta : float
        KL temperature of the objective (0: the plain expected reward).
    iterations : int
        Updates of each exact gradient method.
    episodes : int
        Episodes of each sampling method.
    seed : int
        Seed of the sampling methods.
    progress : callable, optional
        ``progress(method)`` is called before each method runs (the CLI's progress bar).

    Returns
    -------
    Comparison

    Examples
    --------
    >>> import mdptoolkit as mt
    >>> result = mt.compare(iterations=50, episodes=200)
    >>> [row.method for row in result.rows]  # doctest: +NORMALIZE_WHITESPACE
    ['value_iteration', 'policy_iteration', 'policy_gradient', 'natural_policy_gradient',
     'actor_critic', 'reinforce', 'sampled_actor_critic']
    >>> result.rows[1].sentence, round(result.optimum, 4)
    ('the cat sat', 0.1116)
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

    dp = [("value_iteration", lambda: value_iteration(mdp)),
          ("policy_iteration", lambda: policy_iteration(mdp))]
    if beta > 0:
        dp.append(("soft_value_iteration",
                   lambda: soft_value_iteration(mdp, beta, reference=ref, tol=1e-12)))
    optimum = None
    dp_rows = []
    for name, fn in dp:
        result, seconds = run(name, "DP", fn)
        if name == ("soft_value_iteration" if beta > 0 else "policy_iteration"):
            optimum = float(mdp.mu @ result.V)
        dp_rows.append((name, result, seconds))
    for name, result, seconds in dp_rows:
        J = objective(result.policy)
        rows.append(ComparisonRow(name, "DP", J, optimum - J, result.iterations, seconds,
                                  *_top(lm, result.policy)))

    # gradient methods start at the reference model, as RL fine-tuning does
    with np.errstate(divide="ignore"):
        theta0 = np.where(mdp.allowed, np.log(ref), 0.0)
    theta0[~np.isfinite(theta0)] = -50.0
    common = dict(beta=beta, reference=reference, theta0=theta0, iterations=iterations)
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

    eval_every = max(1, episodes // 50)
    sampled = [("reinforce", lambda: reinforce(mdp, lr=1.0, episodes=episodes, theta0=theta0,
                                                  baseline="value", seed=seed,
                                                  eval_every=eval_every)),
               ("sampled_actor_critic",
                lambda: sampled_actor_critic(mdp, actor_lr=1.0, critic_lr=0.5,
                                                episodes=episodes, theta0=theta0, seed=seed,
                                                eval_every=eval_every))]
    kind = "sampled" if beta == 0 else "sampled (plain J)"
    for name, fn in sampled:
        result, seconds = run(name, kind, fn)
        J = objective(result.policy)
        rows.append(ComparisonRow(name, kind, J, optimum - J, result.episodes, seconds,
                                  *_top(lm, result.policy)))
    return Comparison(rows=tuple(rows), results=results, optimum=optimum, beta=beta)
