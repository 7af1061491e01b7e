"""``mdptoolkit compare``: every method on the toy language MDP against the DP optimum, as a
table and a figure."""

from __future__ import annotations

import json
import sys

from .. import plot
from ..compare import compare
from ..language import toy
from ._common import (EXIT_OK, CLIError, arg,
    check_output_path, command, save_figure)


def _positive_int(flag):
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise CLIError(f"{flag} must be a positive integer; got {text!r}") from None
        if value <= 0:
            raise CLIError(f"{flag} must be a positive integer; got {value}")
        return value
    return parse


def _beta(text):
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
         arg("--quiet", action="store_true", help="no progress bar"))
def _compare(args):
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
    lm = toy(max_len=args.max_len, vocab=vocab, target=target)
    bar = None
    if not args.quiet and not args.json:
        bar = _progress_bar(total=8 if args.beta > 0 else 7)
    started = []

    def progress(method):
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


def _progress_bar(total):
    """A tqdm bar on stderr (a plain counter if tqdm is missing)."""
    try:
        from tqdm import tqdm
    except ImportError:  # pragma: no cover - tqdm is a dependency
        class _Plain:
            n = 0

            def set_description(self, text):
                print(f"  running {text} ...", file=sys.stderr)

            def update(self, k):
                self.n += k

            def close(self):
                pass
        return _Plain()
    return tqdm(total=total, file=sys.stderr, leave=False, unit="method")


def _compare_figure(comparison):
    from matplotlib.figure import Figure


    figure = Figure(figsize=(13, 5), layout="constrained")
    left, right = figure.subplots(1, 2)
    exact = {name: comparison.results[name] for name in
             ("policy_gradient", "natural_policy_gradient", "actor_critic")}
    plot.convergence(exact, key="gap", ax=left)
    left.set_title("exact gradient methods: gap to the DP optimum")
    sampled = {name: comparison.results[name] for name in ("reinforce", "sampled_actor_critic")}
    plot.convergence(sampled, key="gap", ax=right)
    right.set_title("sampled methods: exact gap of the current policy" +
                    (" (plain objective E[r])" if comparison.beta > 0 else ""))
    figure.suptitle(f"mdptoolkit compare (beta = {comparison.beta:g}): every method against the "
                    f"DP optimum {comparison.optimum:.4f}")
    return figure
