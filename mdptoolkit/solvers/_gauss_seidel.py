r"""Gauss–Seidel value iteration: the shifted sweep, and why the stopping rule of Jacobi
iteration certifies it.

A Gauss–Seidel sweep updates the states one after the other, each from the values already
updated in this sweep. Plain Gauss–Seidel (Puterman 2005, §6.3.3) uses those values as they
are:

.. math::

    V'(s) = \max_a R(s, a) + \gamma \Big(\sum_{s' \text{ before } s} P(s' \mid s, a) V'(s')
            + \sum_{s' \text{ from } s \text{ on}} P(s' \mid s, a) V(s')\Big).

Its operator :math:`G` is a :math:`\gamma`-contraction in the sup norm, at least as fast as
Jacobi's in that norm (Thm 6.3.4) — but the sup norm is the slow measure. What makes Jacobi
iteration fast is the span rule: the error of :math:`T^k V` soon becomes nearly constant
(:math:`T(V + c\mathbf 1) = TV + \gamma c \mathbf 1`) and the bounds below ignore a constant.
:math:`G` does not commute with constants: a state late in the sweep sees more already-updated
successors than an early one, so a constant error :math:`c` comes out as :math:`c\,G\mathbf 1`
with row sums anywhere between :math:`\gamma^2` and :math:`\gamma`, a spread the span sees.
On a random sparse Garnet MDP (S = 20,000, 4 actions, 5 successors, gamma = 0.99) the span of
the plain Gauss–Seidel error stays near 5 % of its size for hundreds of sweeps, and an earlier
version of this module (plain sweeps, certified as below) needed 75 iterations of three passes
against Jacobi's 35.

**The shifted sweep.** Here a value updated in this sweep is stored less the mean change
:math:`\delta_s` of the states updated so far (itself included), and later states read it so:

.. math::

    V'(s) = \max_a R(s, a) + \gamma \Big(\sum_{s' \text{ before } s} P(s' \mid s, a)
            \big(V'(s') - \delta_{s'}\big)
            + \sum_{s' \text{ from } s \text{ on}} P(s' \mid s, a) V(s')\Big),
    \qquad \delta_{s'} = \operatorname{mean}_{u \le s'} \big(V'(u) - V(u)\big),

the true :math:`V'` being copied back at the end of the sweep. By induction over the sweep,
:math:`V + c\mathbf 1` gives :math:`V' + \gamma c \mathbf 1`: the first update is a Jacobi
one; if every earlier change moved by :math:`(\gamma - 1)c`, so did every mean
:math:`\delta`, every stored value moved by :math:`\gamma c - (\gamma - 1)c = c` like the values
not yet updated, and :math:`V'(s)` by :math:`\gamma c`. The sweep commutes with constants
exactly as :math:`T` does, so the constant part of the error no longer turns into a spread,
while the rest of the new information is used at once, as in Gauss–Seidel. Its fixed point is
:math:`V^*` (there every change, hence every shift, is 0).

**The certificate.** The bounds of Puterman (2005, Thm 6.6.3),

.. math::

    TW + \tfrac{\gamma}{1-\gamma}\min(TW - W) \le V^* \le TW + \tfrac{\gamma}{1-\gamma}\max(TW - W),

hold for *every* :math:`W`, with :math:`T` the Jacobi operator. Each iteration of
:func:`~mdptoolkit.value_iteration` with ``gauss_seidel=True`` therefore makes one sweep from
:math:`V_k` to :math:`W`, applies one Jacobi backup :math:`TW`, and checks the span rule at
:math:`W` exactly as Jacobi iteration checks it at its own iterate: on stopping, the
midpoint :math:`\hat V = TW + \tfrac{\gamma}{1-\gamma}\tfrac{m + M}{2}` (with
:math:`m, M` the extremes of :math:`TW - W`) satisfies
:math:`\max|\hat V - V^*| \le \tfrac{\gamma}{2(1-\gamma)}(M - m)`, and its greedy policy loses at
most :math:`\tfrac{\gamma^2}{1-\gamma}(M - m)` — the same guarantee and the same proof as for
Jacobi iteration (see :func:`~mdptoolkit.value_iteration`). The next iteration starts from
:math:`\hat V`. The certificate does not depend on how :math:`W` was produced, so the shift,
which makes the sweep neither monotone nor a sup-norm contraction, costs no guarantee.

**The safeguard.** No a-priori rate is claimed for the shifted sweeps, and on some MDPs they
fall behind Jacobi iteration: on random deterministic MDPs (one successor per action) the
bound can fall more slowly than :math:`\gamma` per iteration, where Jacobi's span contracts by
at least :math:`\gamma` (Puterman 2005, Prop. 6.6.1). When over the last
:data:`~mdptoolkit.solvers._kernels.GS_PATIENCE` (10) iterations the bound has fallen by less
than :math:`\gamma^{10}` (a stall included), the sweeps stop and the run goes on as Jacobi
iteration from the current iterate; the message says from which iteration. ``max_iter``'s
default keeps the sup-norm count of plain sweeps.

**The order of the states.** Index order, one sweep per iteration. The Jacobi backup that
certifies each iteration also moves values against that order, and the next iteration starts
from it. A forward and a backward sweep per iteration (symmetric Gauss–Seidel) needed about
two thirds of the iterations, each with three passes over P instead of two: no fewer passes
on any MDP below, and on pymdptoolbox's forest the backward sweep is slower than a backup (a
chain of dependent updates), so it was dropped. Numbering the states along which values flow
still helps: values then move through many states within one sweep.

**What it gives** (tol = 1e-6; iterations of one sweep and one backup, against Jacobi's
iterations of one backup): pymdptoolbox's forest (S = 1000, gamma = 0.96) 64 against 127; the
Garnet above 15 against 35; a random sparse MDP (500 states, 5 successors, gamma = 0.99) 14
against 33; Sutton and Barto's 5x5 grid (gamma = 0.9) 24 against 174; Jack's car rental 30
against 66; FrozenLake 8x8 (gamma = 0.99) 268 against 515; cliff walking (gamma = 0.99) 8
against 15; a deterministic cycle of 50 states 916 against 1832. An iteration costs two passes
over P against Jacobi's one, so in time the two are about even on these MDPs (forest and
Garnet within ±10 % in the benchmarks, in either direction on a shared machine): half the
iterations, not half the time. Random deterministic MDPs (one successor per action) are the
exception: Jacobi's error there is exactly constant once every state has reached its policy's
cycle, which the span rule sees at once, and Gauss–Seidel needed more iterations on 18 of 80
(up to 125 against 15) — converging on every one, 31 of them through the safeguard. The plain
sweeps of the earlier version needed 75 iterations on the Garnet, and on cliff walking and on
the deterministic MDPs never reached the tolerance (or overflowed).

Self-loops are not eliminated (dividing by :math:`1 - \gamma P(s \mid s, a)`, Porteus's
"Jacobi" variant): with the shift, that amplifies the difference between a nearly absorbing
state's change and the mean change and diverged on FrozenLake, the gambler and cliff walking;
without the shift, it breaks the commutation with constants (an absorbing state's value is
then exact while the rest carries the constant), and the span rule stalls.
"""

from __future__ import annotations

import types
from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.sparse as sp

from .._typing import FloatArray
from ..mdp import MDP

#: Appended to the result's message when the sweeps stopped (see "The safeguard" above).
JACOBI_NOTE = (" (Gauss-Seidel sweeps stopped at iteration {k}: over the last {patience} "
               "iterations the bound fell by less than the factor gamma^{patience} that Jacobi "
               "iteration guarantees; the run went on with Jacobi backups.)")


def forward_sweep(mdp: MDP,
                  kernels: types.SimpleNamespace | None) -> Callable[[FloatArray], None]:
    """A function ``sweep(V)`` doing one shifted Gauss–Seidel sweep of V in place, in index
    order: the compiled loop of :mod:`._kernels` when given, else a Python loop over states
    (the same arithmetic, meant for teaching and small MDPs)."""
    RT = np.ascontiguousarray(mdp._R_am.T)  # (S, A), -inf at disallowed actions
    gamma = mdp.gamma
    op = mdp._op
    if kernels is not None:
        args: tuple[Any, ...]
        if isinstance(op, np.ndarray):
            one, args = kernels.gs_sweep_dense, (op,)
        else:
            one, args = kernels.gs_sweep_csr, (op.indptr, op.indices, op.data)
        scratch = np.empty(mdp.n_states)

        def sweep(V: FloatArray) -> None:
            one(*args, RT, gamma, V, scratch)

        return sweep
    return _numpy_sweep(mdp, RT, gamma)


def _numpy_sweep(mdp: MDP, RT: FloatArray, gamma: float) -> Callable[[FloatArray], None]:
    """The sweep of :func:`._kernels.gs_sweep_csr` as a Python loop over states."""
    S, A = mdp.n_states, mdp.n_actions
    op = sp.csr_array(mdp._op)
    perm = (np.arange(S)[:, None] + S * np.arange(A)[None, :]).ravel()  # state-major rows
    P_sm = op[perm]
    indptr, indices, data = P_sm.indptr, P_sm.indices, P_sm.data
    action_of = np.repeat(np.arange(S * A) % A, np.diff(indptr))  # action of each nonzero

    bounds = indptr[::A].tolist()  # state s's nonzeros: bounds[s]:bounds[s + 1]

    def sweep(V: FloatArray) -> None:
        new = np.empty_like(V)
        total = 0.0  # the sum of the changes so far in this sweep
        for s in range(S):
            lo, hi = bounds[s], bounds[s + 1]
            sums = np.bincount(action_of[lo:hi], data[lo:hi] * V[indices[lo:hi]], minlength=A)
            best = float((RT[s] + gamma * sums).max())
            total += best - float(V[s])
            new[s] = best
            V[s] = best - total / (s + 1)  # stored shifted back by the mean change so far
        V[:] = new

    return sweep
