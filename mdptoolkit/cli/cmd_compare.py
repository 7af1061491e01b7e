"""``mdptoolkit compare``: every method on the toy language MDP against the DP optimum, as a
table and a figure."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .. import plot
from ..compare import compare
from ..language import toy
from ._common import EXIT_OK, CLIError, arg, check_output_path, command, save_figure

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from ..compare import Comparison


def _positive_int(flag: str) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise CLIError(f"{flag} must be a positive integer; got {text!r}") from None
        if value <= 0:
            raise CLIError(f"{flag} must be a positive integer; got {value}")
        return value
    return parse


def _beta(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise CLIError(f"--beta must be a number >= 0; got {text!r}") from None
    if not value >= 0 or value == float("inf"):
        raise CLIError(f"--beta must be a finite number >= 0; got {text}")
    return value


@command("compare", "the main demo: DP vs exact policy gradient, natural PG, actor-critic and "
         "sampled methods on the toy language MDP, with a table and a PNG of the curves",
         arg("--vocab", default=None,
             help="comma-separated words (default: the, cat, dog, sat, on, mat)"),
         arg("--max-len", type=_positive_int("--max-len"), default=5,
             help="longest sentence (default 5)"),
         arg("--max-states", type=_positive_int("--max-states"), default=None, metavar="N",
             help="refuse language MDPs with more states than N (default: the library's "
             "limit, a few million)"),
         arg("--beta", type=_beta, default=0.0,
             help="KL temperature towards the reference model (default 0)"),
         arg("--iterations", type=_positive_int("--iterations"), default=300,
             help="updates of each exact gradient method (default 300)"),
         arg("--episodes", type=_positive_int("--episodes"), default=2000,
             help="episodes of each sampled method (default 2000)"),
         arg("--seed", type=int, default=0, help="seed of the sampled methods (default 0)"),
         arg("--plot", default="compare.png", metavar="FILE",
             help="where to write the convergence curves (default compare.png; '' for none)"),
         arg("--json", action="store_true", help="print the results as JSON instead of a table"),
         arg("--quiet", action="store_true", help="no progress bar (there is none unless "
             "stderr is a terminal)"))
def _compare(args: argparse.Namespace) -> int:
    if args.plot:
        check_output_path(args.plot)
    vocab = None
    if args.vocab is not None:
        vocab = [w for w in (t.strip() for t in args.vocab.split(",")) if w]
        if not vocab:
            raise CLIError(f"--vocab must list at least one word; got {args.vocab!r}")
    target = ("the", "cat", "sat")
    if vocab is not None and not set(target) <= set(vocab):
        target = tuple(vocab[:min(3, args.max_len)])
    limit = {} if args.max_states is None else {"max_states": args.max_states}
    try:
        lm = toy(max_len=args.max_len, vocab=vocab, target=target, **limit)
    except ValueError as exc:  # the state limit: name the flag that raises it
        raise CLIError(str(exc).replace("max_states=", "--max-states ")
                       .replace("a larger max_states", "a larger --max-states N")) from None
    bar = None
    if not args.quiet and not args.json and sys.stderr.isatty():  # no bar in logs and pipes
        bar = _progress_bar(total=8 if args.beta > 0 else 7)
    started: list[str] = []

    def progress(method: str) -> None:
        if bar is not None:
            if started:
                bar.update(1)  # the previous method is done
            started.append(method)
            bar.set_description(method)

    comparison = compare(lm, beta=args.beta, iterations=args.iterations,
                         episodes=args.episodes, seed=args.seed, progress=progress)
    if bar is not None:
        bar.update(bar.total - bar.n)
        bar.close()
    if args.json:
        print(json.dumps(comparison.to_dict(), indent=2))
    else:
        objective = "E[r(y)]" if args.beta == 0 else f"E[r(y)] - {args.beta:g} KL(pi || pi_ref)"
        print(f"{lm!r}; objective {objective}; DP optimum {comparison.optimum:.6f}")
        print(comparison.table())
    if args.plot:
        save_figure(_compare_figure(comparison), args.plot)
        if not args.json:
            print(f"wrote {args.plot}")
    return EXIT_OK


def _progress_bar(total: int) -> Any:
    """A tqdm bar on stderr (a plain counter if tqdm is missing)."""
    try:
        from tqdm import tqdm
    except ImportError:  # pragma: no cover - tqdm is a dependency
        class _Plain:
            n = 0

            def set_description(self, text: str) -> None:
                print(f"  running {text} ...", file=sys.stderr)

            def update(self, k: int) -> None:
                self.n += k

            def close(self) -> None:
                pass
        return _Plain()
    return tqdm(total=total, file=sys.stderr, leave=False, unit="method")


def _compare_figure(comparison: Comparison) -> Figure:
    """Two panels, every curve the exact gap to the DP optimum of the objective the title
    names (J_beta when beta > 0): exact gradient methods by iteration, sampled methods by the
    sequences they have sampled."""
    import numpy as np
    from matplotlib.figure import Figure

    beta = comparison.beta
    objective = r"$\mathbb{E}[r]$" if beta == 0 else (
        rf"$\mathbb{{E}}[r] - {beta:g}\,\mathrm{{KL}}(\pi \,\|\, \pi_{{ref}})$")
    ylabel = r"exact gap $J^* - J(\pi)$"
    figure = Figure(figsize=(13, 5.2), layout="constrained")
    left, right = figure.subplots(1, 2)
    kinds = {row.method: row.kind for row in comparison.rows}
    exact = {name: comparison.results[name] for name, kind in kinds.items()
             if kind == "exact gradient"}
    plot.convergence(exact, key="gap", ax=left)
    left.set_ylabel(ylabel)
    left.set_title("exact gradient methods")
    right.set_yscale("log", nonpositive="mask")
    sampled = [name for name, kind in kinds.items() if kind in ("sampled", "RL fine-tuning")]
    for k, name in enumerate(sampled):
        x, gap = comparison.gap_curve(name)
        style = "--" if kinds[name] == "RL fine-tuning" else "-"
        label = name
        if name == "grpo" and beta > 0:   # why its gap stays: a biased penalty, not slowness
            label += " (its k3 KL penalty is not J's: biased)"
        right.plot(x, np.where(gap > 0, gap, np.nan), color=f"C{k}", linestyle=style,
                   linewidth=1.3, label=label)
    right.set_xlabel("sequences sampled")
    right.set_ylabel(ylabel)
    right.grid(True, alpha=0.3)
    right.legend(fontsize="small", loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=2,
                 frameon=False)
    right.set_title("sampled methods (solid) and RL fine-tuning methods (dashed)")
    figure.suptitle(f"mdptoolkit compare: each method's gap to the DP optimum "
                    f"{comparison.optimum:.4f} of J = " + objective)
    return figure
