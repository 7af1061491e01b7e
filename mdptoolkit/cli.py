"""The ``mdptoolkit`` command line (the only module that prints)."""

from __future__ import annotations

import argparse
import sys


def _demo(args):
    import numpy as np

    import mdptoolkit as mt

    # Puterman (2005), §3.1: the two-state example, gamma = 0.95
    P = np.zeros((2, 2, 2))
    P[0, 0] = [0.5, 0.5]
    P[0, 1] = [0, 1]
    P[1, :] = [0, 1]
    mdp = mt.MDP(P, [[5.0, 10.0], [-1.0, -np.inf]], 0.95)
    print(f"mdptoolkit {mt.__version__}")
    print("Puterman (2005) §3.1 two-state example, gamma = 0.95:")
    for method in ("value_iteration", "policy_iteration", "linear_programming"):
        result = mt.solve(mdp, method=method)
        print(f"  {method:<20} V* = {np.array2string(result.V, precision=4)}  "
              f"policy = {result.policy}  ({result.message})")
    return 0


def main(argv=None):
    """Entry point of the ``mdptoolkit`` console script and ``python -m mdptoolkit``."""
    parser = argparse.ArgumentParser(prog="mdptoolkit", description=__doc__)
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    args = parser.parse_args(argv)
    if args.version:
        import mdptoolkit
        print(mdptoolkit.__version__)
        return 0
    return _demo(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
