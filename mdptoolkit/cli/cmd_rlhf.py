r"""``mdptoolkit rlhf``: the RL fine-tuning lab on the toy language MDP, every method
measured exactly against the optimum of
:math:`J_\beta = \mathbb E[r] - \beta\,\mathrm{KL}(p \| p_{ref})`, as a table and a figure."""

from __future__ import annotations

import argparse
import functools
import sys
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from .. import plot
from ..compare import step_scale
from ..language import toy
from ..rlhf import (best_of_n, grpo, measure, optimal_policy, optimum, ppo,
                    preference_optimization, rloo, sample_preferences)
from ._common import (EXIT_OK, _checked, _count, _integer, _positive, arg, check_output_path,
                      command, save_figure)

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from ..language import LanguageMDP

#: ``progress(name)`` before each method, ``progress(None)`` when all are done.
Progress = Callable[[str | None], None]

#: best-of-n sizes drawn from the reference
BEST_OF = (4, 16, 64)
#: comparisons the preference methods learn from, drawn from the reference
COMPARISONS = 3000


class _Row:
    """One line of the table: the method's final numbers and what the figure needs."""

    def __init__(self, method: str, reward: float, kl: float, J: float, gap: float,
                 steps: int | str, seconds: float, sentence: str, probability: float,
                 result: Any = None) -> None:
        self.method, self.reward, self.kl, self.J, self.gap = method, reward, kl, J, gap
        self.steps, self.seconds, self.result = steps, seconds, result
        self.sentence, self.probability = sentence, probability


def _sentence(tokens: Sequence[str]) -> str:
    return " ".join(tokens) or "<empty>"


def _policy_row(lm: LanguageMDP, beta: float, best: float, method: str, policy: Any,
                steps: int | str, seconds: float, result: Any = None) -> _Row:
    J, reward, kl = measure(lm, policy, beta)
    tokens, probability = lm.top_sequences(policy, 1)[0]
    return _Row(method, reward, kl, J, best - J, steps, seconds, _sentence(tokens),
                float(probability), result)


def _lab(lm: LanguageMDP, beta: float, steps: int, seed: int,
         progress: Progress) -> tuple[float, list[_Row]]:
    """Run every method; the rows in table order."""
    best = optimum(lm, beta)
    rows = [_policy_row(lm, beta, best, "reference pi_ref", lm.reference_policy, "-", 0.0)]

    def timed(name: str, fn: Callable[[], Any]) -> tuple[Any, float]:
        progress(name)
        start = time.perf_counter()
        result = fn()
        return result, time.perf_counter() - start

    star, seconds = timed("exact optimum", lambda: optimal_policy(lm, beta))
    rows.append(_policy_row(lm, beta, best, "exact optimum p*_beta", star, "-", seconds))
    for n in BEST_OF:
        result, seconds = timed(f"best-of-{n}", functools.partial(best_of_n, lm, n))
        J = result.expected_reward - beta * result.kl
        top = int(result.probabilities.argmax())
        rows.append(_Row(f"best-of-{n}", result.expected_reward, result.kl, J, best - J, "-",
                         seconds, _sentence(lm.sequences[top]),
                         float(result.probabilities[top]), result))
    prefs = sample_preferences(lm, COMPARISONS, seed=seed)
    scale = step_scale(beta)   # the KL-shaped scores grow with beta: smaller steps above 0.3
    trained = [
        ("dpo", lambda: preference_optimization(lm, prefs, loss_type="sigmoid", beta=beta,
                                                iterations=steps)),
        ("ipo", lambda: preference_optimization(lm, prefs, loss_type="ipo", beta=beta,
                                                iterations=steps)),
        ("rloo", lambda: rloo(lm, num_generations=4, beta=beta, lr=2.0 * scale, steps=steps,
                              seed=seed)),
        ("grpo", lambda: grpo(lm, num_generations=8, beta=beta, lr=scale, steps=steps,
                              seed=seed)),
        ("ppo", lambda: ppo(lm, kl_coef=beta, batch_size=16, lr=0.5 * scale, steps=steps,
                            seed=seed)),
    ]
    for name, fn in trained:
        result, seconds = timed(name, fn)
        rows.append(_policy_row(lm, beta, best, name, result.policy, steps, seconds, result))
    progress(None)
    return best, rows


def _table(rows: Sequence[_Row]) -> str:
    header = ("method", "gold reward", "KL", "J_beta", "gap", "steps", "seconds",
              "most likely sentence")
    lines = [[r.method, f"{r.reward:.4f}", f"{r.kl:.4f}", f"{r.J:.4f}",
              "0" if abs(r.gap) < 1e-12 else f"{r.gap:.2e}",
              str(r.steps), f"{r.seconds:.2f}", f"{r.sentence!r} ({r.probability:.2f})"]
             for r in rows]
    widths = [max(len(h), *(len(line[i]) for line in lines)) for i, h in enumerate(header)]
    right = {1, 2, 3, 4, 5, 6}   # numbers align right

    def fmt(cells: Sequence[str]) -> str:
        return "  ".join(c.rjust(w) if i in right else c.ljust(w)
                         for i, (c, w) in enumerate(zip(cells, widths))).rstrip()

    return "\n".join([fmt(header), "  ".join("-" * w for w in widths), *map(fmt, lines)])


def _progress(enabled: bool, total: int) -> Progress:
    """``progress(name)`` writing "[k/total] name ..." on stderr when ``enabled``."""
    count = [0]

    def progress(name: str | None) -> None:
        if not enabled:
            return
        if name is None:
            print("\r\033[K", end="", file=sys.stderr, flush=True)
            return
        count[0] += 1
        print(f"\r\033[K  [{count[0]}/{total}] {name} ...", end="", file=sys.stderr,
              flush=True)
    return progress


@command("rlhf", "the RL fine-tuning lab on the toy language MDP: the exact optimum of "
         "E[r] - beta KL, best-of-n, DPO and IPO on sampled comparisons, RLOO, GRPO and PPO, "
         "each measured exactly, with a table and a PNG (reward-KL frontier and gap curves)",
         arg("--beta", type=_positive("--beta"), default=0.3,
             help="KL coefficient of the objective and of every method (default 0.3)"),
         arg("--steps", type=_count("--steps"), default=300,
             help="updates of each trained method: DPO, IPO, RLOO, GRPO, PPO (default 300)"),
         arg("--seed", type=_checked("--seed", _integer, lambda v: v >= 0, ">= 0"), default=0,
             help="seed of the comparisons and of the sampled methods (default 0)"),
         arg("--plot", default="rlhf.png", metavar="FILE",
             help="where to write the figure (default rlhf.png; '' for none)"),
         arg("--quiet", action="store_true",
             help="no progress lines (there are none unless stderr is a terminal)"))
def _rlhf(args: argparse.Namespace) -> int:
    if args.plot:
        check_output_path(args.plot)
    lm = toy()
    total = 2 + len(BEST_OF) + 5
    progress = _progress(not args.quiet and sys.stderr.isatty(), total)
    best, rows = _lab(lm, args.beta, args.steps, args.seed, progress)
    print(f"{lm!r}")
    print(f"objective J_beta = E[r(y)] - {args.beta:g} KL(p || p_ref); exact optimum "
          f"J* = beta log Z = {best:.6f}")
    print(_table(rows))
    print(f"gold reward E_p[r], KL(p || p_ref) and J_beta are exact (from the MDP, not "
          f"from samples); gap = J* - J_beta.\nDPO and IPO learn from {COMPARISONS} "
          f"comparisons of reference samples (Bradley-Terry labels, seed {args.seed}); "
          f"best-of-n is the\nexact distribution of the best of n reference draws; seconds "
          f"are wall time, exact measurements included.")
    if args.plot:
        save_figure(_figure(lm, args.beta, best, rows), args.plot)
        print(f"wrote {args.plot}")
    return EXIT_OK


def _figure(lm: LanguageMDP, beta: float, best: float, rows: Sequence[_Row]) -> Figure:
    """Left: the reward-KL frontier with every method on it and the line J_beta = J*;
    right: the gap to J* of each trained method along its updates."""
    import numpy as np
    from matplotlib.figure import Figure

    figure = Figure(figsize=(13.5, 5.6), layout="constrained")
    left, right = figure.subplots(1, 2)
    # the trained methods first, so that they get the first (most distinct) colours
    results = [r for r in rows if r.result is not None]
    results.sort(key=lambda r: r.method.startswith("best-of"))
    shown = {r.method: r.result for r in results}
    plot.reward_kl_frontier(lm, shown, ax=left)
    by_name = {r.method: r for r in rows}
    star, ref = by_name["exact optimum p*_beta"], by_name["reference pi_ref"]
    top = max(r.kl for r in rows) * 1.05
    kl = np.linspace(0.0, top, 2)
    left.plot(kl, best + beta * kl, color="0.45", linestyle=":", linewidth=1.2,
              label=r"$J_\beta = J^*$ (a method's gap: its height below)")
    left.plot([star.kl], [star.reward], marker="*", markersize=15, color="gold",
              markeredgecolor="black", linestyle="none", label=rf"$p^*_\beta$, $\beta$ = {beta:g}")
    left.plot([ref.kl], [ref.reward], marker="s", markersize=7, color="0.3", linestyle="none",
              label=r"reference $\pi_{ref}$")
    left.set_xlim(-0.03 * top, top)
    left.legend(fontsize="small", loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=3,
                frameon=False)
    left.set_title("where each method gets: expected gold reward against KL")

    right.set_yscale("log", nonpositive="mask")
    for k, (name, result) in enumerate(shown.items()):
        color = f"C{k % 10}"
        if "gap" in getattr(result, "history", {}):
            gap = np.asarray(result.history["gap"], dtype=float)
            right.plot(np.arange(gap.size), np.where(gap > 0, gap, np.nan), color=color,
                       linewidth=1.3, label=name)
        else:   # best-of-n: no training, one number
            right.axhline(by_name[name].gap, color=color, linestyle=":", linewidth=1.2,
                          label=f"{name} (no training)")
    right.set_xlabel("update step (DPO, IPO: exact gradient steps; RLOO, GRPO, PPO: sampled)")
    right.set_ylabel(r"exact gap $J^* - J_\beta(\pi)$")
    right.grid(True, alpha=0.3)
    right.legend(fontsize="small", loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=4,
                 frameon=False)
    right.set_title(rf"gap to the optimum of $J_\beta$, $\beta$ = {beta:g}")
    figure.suptitle(rf"mdptoolkit rlhf: RL fine-tuning on the toy language MDP, "
                    rf"$J_\beta = \mathbb{{E}}[r] - {beta:g}\,\mathrm{{KL}}(p \,\|\, p_{{ref}})$, "
                    rf"$J^*$ = {best:.4f}")
    return figure
