r"""The model: an immutable finite MDP.

An :class:`MDP` holds data only: transitions :math:`P`, expected rewards :math:`R`, the discount
:math:`\gamma`, the initial distribution :math:`\mu`, terminal states and the mask of allowed
actions. Solvers are plain functions of it. Inputs are copied once, checked once and stored
read-only.

Internally the transitions are kept in an *action-major* flat layout: the matrix of shape
(A·S, S) whose row ``a*S + s`` is :math:`P(\cdot \mid s, a)`. One Bellman backup is then one
matrix–vector product with it, and the maximum over actions is a reduction over contiguous rows
of an (A, S) array. Dense transitions that are mostly zeros (density below
:data:`SPARSE_DENSITY_THRESHOLD`) are multiplied through a CSR copy of that matrix, which is many
times faster than the dense product for the typical few-successors-per-row MDP.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Any

import numpy as np
import scipy.sparse as sp

from . import _validation as val
from ._typing import ArrayLike, BoolArray, FloatArray
from . import _npz, _storage, interop
from .gym_env import make_env  # gymnasium itself is imported only when an env is made
from .exceptions import MDPValidationError

__all__ = ["MDP", "SPARSE_DENSITY_THRESHOLD"]

#: Dense transitions whose fraction of nonzero entries is below this are multiplied through a
#: CSR copy. Measured by ``benchmarks/bench_core.py`` (S=2000, A=4): the CSR product is 15-80x
#: faster than the dense one at 1-5 % density and 1.2-3x at 20 %; the dense BLAS product wins
#: from about 30-50 %, depending on how many threads BLAS gets.
SPARSE_DENSITY_THRESHOLD = 0.2

class MDP:
    r"""A finite Markov decision process :math:`(S, A, P, R, \gamma, \mu)`.

    Parameters
    ----------
    P : array_like of shape (S, A, S) or scipy.sparse matrix/array of shape (S*A, S)
        Transition probabilities, ``P[s, a, s2]`` = Pr(s2 | s, a); a sparse matrix has
        ``P[s*A + a, s2]`` and stays sparse end to end.
    R : array_like of shape (S, A), (S,) or (S, A, S)
        Expected immediate rewards ``R[s, a]``. State rewards (S,) apply to every action;
        transition rewards (S, A, S) are reduced to ``sum_s2 P[s, a, s2] R[s, a, s2]``.
        ``-inf`` is accepted only at disallowed actions; with ``allowed=None`` the ``-inf``
        entries *define* the disallowed actions (QuantEcon's convention).
    gamma : float
        Discount factor in [0, 1]. ``gamma == 1`` suits episodic problems whose policies reach a
        terminal state.
    mu : array_like of shape (S,), optional
        Initial-state distribution; default uniform.
    terminal : array_like of bool, shape (S,), optional
        Terminal states: absorbing, zero reward, value 0. Their rows of P and R are set so.
    allowed : array_like of bool, shape (S, A), optional
        Actions available in each state (default all). Rows of P for disallowed actions are not
        checked to sum to 1 and never used.
    state_names, action_names : sequence of str, optional
        Labels for printing and plotting.

    Attributes
    ----------
    n_states, n_actions : int
    P : ndarray (S, A, S) or scipy.sparse.csr_array (S*A, S)
        Read-only, in the form it was given.
    R : ndarray (S, A)
        Read-only expected rewards (``-inf`` where given at disallowed actions).
    gamma : float
    mu : ndarray (S,)
    terminal : ndarray of bool (S,)
    allowed : ndarray of bool (S, A)
    is_sparse : bool
        Whether P was given (and is stored) as a sparse matrix. :meth:`P_as` gives P in the
        layout one asks for (``mdp.P_as("dense")`` is (S, A, S) whatever the storage).
    state_names, action_names : tuple of str or None

    Raises
    ------
    MDPValidationError
        When shapes disagree, a value is not finite, a probability is outside [0, 1], a row of P
        for an allowed action does not sum to 1 (rtol 1e-9 for float64 input), a state has no
        allowed action, ``mu`` is not a distribution or ``gamma`` is outside [0, 1]. The message
        names the worst offending entry and how many are bad.
    TypeError
        When an argument is not array-like.

    See Also
    --------
    value_iteration, policy_iteration, evaluate_policy

    Notes
    -----
    Probabilities within 1e-12 outside [0, 1] (round-off such as ``1 - 0.9 - 0.1``) are clipped
    into the interval; anything further out is an error. Allowed rows that sum to 1 within the
    tolerance but not within 1e-12 are divided by their sum, so the stored model is stochastic
    (the stopping rules' bounds assume it). A P given in lower precision (float32 from a GPU
    framework) may have rows that sum to 1 within that precision,
    ``4 * eps * max(1, ceil(log2(S)))`` (about 1e-6 for float32), and is renormalized in float64;
    float64 keeps the 1e-9 rule. Complex P or R are refused, never silently made real.

    Examples
    --------
    Puterman's (2005, §3.1) two-state example: in state 0, action 0 earns 5 and stays with
    probability 0.5, action 1 earns 10 and moves to state 1, where the only action earns -1
    forever.

    >>> import numpy as np, mdptoolkit as mt
    >>> P = np.zeros((2, 2, 2))
    >>> P[0, 0] = [0.5, 0.5]; P[0, 1] = [0, 1]; P[1, :] = [0, 1]
    >>> R = np.array([[5.0, 10.0], [-1.0, -np.inf]])
    >>> mdp = mt.MDP(P, R, 0.95)
    >>> mdp
    MDP(n_states=2, n_actions=2, gamma=0.95, dense, 3 allowed state-action pairs)
    >>> mdp.allowed
    array([[ True,  True],
           [ True, False]])
    """

    def __init__(self, P: Any, R: ArrayLike, gamma: float, *, mu: ArrayLike | None = None,
                 terminal: ArrayLike | None = None, allowed: ArrayLike | None = None,
                 state_names: Iterable[Any] | None = None,
                 action_names: Iterable[Any] | None = None) -> None:
        self._gamma = val.check_gamma(gamma)
        if sp.issparse(P):
            self._init_sparse(P, R)
        else:
            self._init_dense(P, R)
        S, A = self._n_states, self._n_actions
        self._init_masks(R, terminal, allowed)
        self._apply_terminal()
        self._row_error = _storage.check_rows(self._Pam, self._Pcsr, self._allowed,
                                              self._terminal, rtol=self._rtol)
        self._mu = val.check_distribution(mu, S, "mu")
        self._state_names = val.check_names(state_names, S, "state_names")
        self._action_names = val.check_names(action_names, A, "action_names")
        self._finish_operator()

    # ------------------------------------------------------------------ construction
    def _init_dense(self, P, R):
        self._Pam, self._rtol = _storage.read_dense(P)  # (A, S, S)
        A, S, _ = self._Pam.shape
        self._n_states, self._n_actions = S, A
        self._Pcsr = None
        self._R = self._reduce_R(R, S, A)

    def _init_sparse(self, P, R):
        self._Pcsr, S, A, self._rtol = _storage.read_sparse(P)  # (A*S, S), row a*S + s
        self._n_states, self._n_actions = S, A
        self._Pam = None
        self._R = self._reduce_R(R, S, A)

    def _reduce_R(self, R, S, A):
        if sp.issparse(R):
            raise TypeError("R must be a dense array of shape (S, A), (S,) or (S, A, S)")
        R = val.as_float_array(R, "R", allow_neg_inf=True)
        if R.shape == (S,):
            val.check_finite(R, "R")
            return np.repeat(R[:, None], A, axis=1)
        if R.shape == (S, A):
            return R
        if R.shape == (S, A, S):
            val.check_finite(R, "R")
            if self._Pam is not None:
                return np.einsum("ast,sat->sa", self._Pam, R)
            rows = self._Pcsr.multiply(R.transpose(1, 0, 2).reshape(A * S, S))
            return np.asarray(rows.sum(axis=1)).reshape(A, S).T.copy()
        raise MDPValidationError(f"R must have shape ({S}, {A}), ({S},) or ({S}, {A}, {S}); "
                                 f"got {R.shape}")

    def _init_masks(self, R_given, terminal, allowed):
        S, A = self._n_states, self._n_actions
        R = self._R
        neg_inf = np.isneginf(R)
        if allowed is None:
            allowed = ~neg_inf
        else:
            allowed = val.as_bool_mask(allowed, "allowed", (S, A))
            clash = neg_inf & allowed
            if clash.any():
                s, a = np.argwhere(clash)[0]
                raise MDPValidationError(f"R must be finite at allowed actions; got -inf at "
                                         f"R[{s}, {a}] ({int(clash.sum())} such entries)")
        val.check_some_allowed(allowed)
        self._allowed = val.freeze(np.array(allowed, dtype=bool))
        if terminal is None:
            terminal = np.zeros(S, dtype=bool)
        self._terminal = val.as_bool_mask(terminal, "terminal", (S,))

    def _apply_terminal(self):
        """Terminal states absorb with zero reward."""
        T = self._terminal
        R = self._R
        R[T] = np.where(self._allowed[T], 0.0, R[T])
        if not T.any():
            return
        S, A = self._n_states, self._n_actions
        idx = np.flatnonzero(T)
        if self._Pam is not None:
            self._Pam[:, idx, :] = 0.0
            self._Pam[:, idx, idx] = 1.0
        else:
            self._Pcsr = _storage.absorbing_csr(self._Pcsr, T, S, A)

    def _finish_operator(self):
        S, A = self._n_states, self._n_actions
        val.freeze(self._R)
        # rewards in action-major layout: -inf at disallowed (for maxima), 0 there (for sums).
        # When every action is allowed the three are the same numbers: store them once (R is
        # then a transposed view of the action-major array), which matters for sparse MDPs,
        # where one (S, A) array is a sizeable fraction of P.
        self._all_allowed = bool(self._allowed.all())
        if self._all_allowed:
            self._R_am = val.freeze(np.ascontiguousarray(self._R.T))
            self._R = self._R0 = val.freeze(self._R_am.T)
        else:
            self._R_am = val.freeze(np.where(self._allowed, self._R, -np.inf).T.copy())
            self._R0 = val.freeze(np.where(self._allowed, self._R, 0.0))
        if self._Pam is not None:
            val.freeze(self._Pam)
            nnz = np.count_nonzero(self._Pam)
            if nnz < SPARSE_DENSITY_THRESHOLD * self._Pam.size:
                self._op = _storage.freeze_csr(_storage.as_csr(self._Pam.reshape(A * S, S)))
            else:
                self._op = self._Pam.reshape(A * S, S)
        else:
            self._op = _storage.freeze_csr(self._Pcsr)

    # ------------------------------------------------------------------ attributes
    @property
    def n_states(self) -> int:
        """Number of states S."""
        return self._n_states

    @property
    def n_actions(self) -> int:
        """Number of actions A."""
        return self._n_actions

    @property
    def gamma(self) -> float:
        r"""Discount factor :math:`\gamma`."""
        return self._gamma

    @property
    def R(self) -> FloatArray:
        """Expected rewards (S, A), read-only."""
        return self._R

    @property
    def mu(self) -> FloatArray:
        r"""Initial-state distribution :math:`\mu` (S,), read-only."""
        return self._mu

    @property
    def terminal(self) -> BoolArray:
        """Boolean mask (S,) of terminal states, read-only."""
        return self._terminal

    @property
    def allowed(self) -> BoolArray:
        """Boolean mask (S, A) of allowed actions, read-only."""
        return self._allowed

    @property
    def is_sparse(self) -> bool:
        """Whether P is stored as a sparse (S*A, S) matrix."""
        return self._Pam is None

    @property
    def state_names(self) -> tuple[str, ...] | None:
        return self._state_names

    @property
    def action_names(self) -> tuple[str, ...] | None:
        return self._action_names

    @functools.cached_property
    def P(self) -> Any:
        """Transitions in the form given: dense (S, A, S) view, or sparse CSR (S*A, S).
        Read-only."""
        if self._Pam is not None:
            return self._Pam.transpose(1, 0, 2)
        S, A = self._n_states, self._n_actions
        inverse = np.argsort(_storage.state_to_action_major(S, A))
        return _storage.freeze_csr(_storage.as_csr(self._Pcsr[inverse]))

    def P_as(self, layout: str, *, max_bytes: int = 2**31) -> Any:
        """Transitions in the layout asked for, whatever the storage (see :attr:`P`).

        Parameters
        ----------
        layout : {"dense", "sparse"}
            ``"dense"``: a read-only ndarray (S, A, S), ``P[s, a, s2]``; ``"sparse"``: a
            read-only CSR array (S*A, S), row ``s*A + a``.
        max_bytes : int, default 2**31
            A dense copy of a sparse P larger than this (8·S·A·S bytes) is refused.

        Examples
        --------
        >>> import numpy as np, mdptoolkit as mt
        >>> m = mt.MDP(np.ones((1, 2, 1)), [[1.0, 2.0]], 0.9)
        >>> m.P_as("sparse").shape, m.P_as("dense").shape
        ((2, 1), (1, 2, 1))
        """
        S, A = self._n_states, self._n_actions
        if layout == "sparse":
            return self.P if self.is_sparse else _storage.freeze_csr(
                _storage.as_csr(self._Pam.transpose(1, 0, 2).reshape(S * A, S)))
        if layout != "dense":
            raise MDPValidationError(f"layout must be 'dense' or 'sparse'; got {layout!r}")
        if not self.is_sparse:
            return self.P
        n_bytes = 8 * S * A * S
        if n_bytes > max_bytes:
            raise MDPValidationError(f"a dense P must take at most max_bytes={max_bytes:,} bytes; "
                                     f"got 8*S*A*S = {n_bytes:,} bytes for S={S}, A={A} (use "
                                     f"P_as('sparse'), or pass a larger max_bytes)")
        return val.freeze(self.P.toarray().reshape(S, A, S))

    def _derived(self, name, compute):
        """``compute(self)``, computed once per MDP and kept with it: structural analyses of
        the transitions (the acyclic layers of :mod:`mdptoolkit.evaluation.structure`, the
        prefix tree of :mod:`mdptoolkit.gradient._prefix_tree`). The layers that own an
        analysis call this, so the model imports none of them. Copies made by
        :meth:`replace` that keep P and the masks share the cache (the structure is the same)."""
        cache = self.__dict__.setdefault("_analyses", {})
        if name not in cache:
            cache[name] = compute(self)
        return cache[name]

    @property
    def nnz(self) -> int:
        """Number of nonzero transition probabilities."""
        return int(self._op.nnz) if sp.issparse(self._op) else int(np.count_nonzero(self._Pam))

    def __repr__(self) -> str:
        kind = "sparse" if self.is_sparse else "dense"
        parts = [f"n_states={self._n_states}", f"n_actions={self._n_actions}",
                 f"gamma={self._gamma:g}", kind]
        n_term = int(self._terminal.sum())
        if n_term:
            parts.append(f"{n_term} terminal state{'s' if n_term > 1 else ''}")
        n_allowed = int(self._allowed.sum())
        if n_allowed < self._allowed.size:
            parts.append(f"{n_allowed} allowed state-action pairs")
        return f"MDP({', '.join(parts)})"

    # ------------------------------------------------------------------ copies
    def replace(self, **changes: Any) -> MDP:
        """Return a new, validated MDP with some fields changed.

        Parameters
        ----------
        **changes
            Any of ``P, R, gamma, mu, terminal, allowed, state_names, action_names``. Unless
            ``allowed`` is given, the mask is kept, less the actions where a new (S, A) ``R`` is
            ``-inf``; ``allowed=None`` derives it from the ``-inf`` entries of R alone.

        Returns
        -------
        MDP

        Examples
        --------
        >>> import numpy as np, mdptoolkit as mt
        >>> m = mt.MDP(np.ones((1, 1, 1)), [[1.0]], 0.9)
        >>> m.replace(gamma=0.5).gamma
        0.5
        """
        fields = ("P", "R", "gamma", "mu", "terminal", "allowed", "state_names", "action_names")
        unknown = set(changes) - set(fields)
        if unknown:
            raise TypeError(f"replace() got unknown field(s) {sorted(unknown)}; valid: "
                            f"{list(fields)}")
        if set(changes) <= {"gamma", "mu", "state_names", "action_names"}:
            new = object.__new__(MDP)
            new.__dict__.update({k: v for k, v in self.__dict__.items() if k != "P"})
            if "gamma" in changes:
                new._gamma = val.check_gamma(changes["gamma"])
            if "mu" in changes:
                new._mu = val.check_distribution(changes["mu"], self._n_states, "mu")
            for name in ("state_names", "action_names"):
                if name in changes:
                    n = self._n_states if name == "state_names" else self._n_actions
                    setattr(new, "_" + name, val.check_names(changes[name], n, name))
            return new
        current = dict(P=self.P, R=self.R, gamma=self.gamma, mu=self.mu, terminal=self.terminal,
                       allowed=self.allowed, state_names=self.state_names,
                       action_names=self.action_names)
        current.update(changes)
        if "R" in changes and "allowed" not in changes:
            R_new = val.as_real_array(changes["R"], "R")
            if R_new.shape == self._R.shape:
                current["allowed"] = self._allowed & ~np.isneginf(R_new)
        return MDP(current.pop("P"), current.pop("R"), current.pop("gamma"), **current)

    # ------------------------------------------------------------------ files
    def save(self, path: Any) -> None:
        """Save to a ``.npz`` file (no pickle); :meth:`load` reads it back.

        Examples
        --------
        >>> import numpy as np, mdptoolkit as mt, tempfile, os
        >>> m = mt.MDP(np.ones((1, 1, 1)), [[1.0]], 0.9, state_names=["only"])
        >>> path = os.path.join(tempfile.mkdtemp(), "m.npz")
        >>> m.save(path)
        >>> mt.MDP.load(path).state_names
        ('only',)
        """
        _npz.save(self, path)

    @classmethod
    def load(cls, path: Any) -> MDP:
        """Load an MDP written by :meth:`save` (``allow_pickle=False``).

        ``path`` is tried as given, then with ``.npz`` appended (``save("model")`` writes
        ``model.npz``). A file that is not such an archive (truncated, not a zip, a key or
        ``format_version`` missing) raises one :class:`MDPValidationError` naming the file;
        a missing file, ``FileNotFoundError``.
        """
        kwargs, what = _npz.load(path)
        try:
            return cls(**kwargs)
        except (MDPValidationError, TypeError) as err:
            raise MDPValidationError(f"{what} must hold a valid MDP; got: {err}") from None

    # ------------------------------------------------------------------ interop
    @classmethod
    def from_pymdptoolbox(cls, P: Any, R: Any, gamma: float, **kwargs: Any) -> MDP:
        """Build from pymdptoolbox's ``(P, R)``, in every form pymdptoolbox accepts: P (A, S, S)
        or a sequence (or dict keyed 0..A-1) of A (sparse) (S, S); R (S,), (S, A) (also sparse),
        (A, S, S), a sequence of A (S, S), or a sequence of S numbers or of S rows of A (a
        sequence of length A is read per action, pymdptoolbox's rule when S == A). ``kwargs``
        go to :class:`MDP` (``mu``, ``terminal``, ...). See
        ``mdptoolkit.interop.read_pymdptoolbox``.

        Examples
        --------
        >>> import numpy as np, mdptoolkit as mt
        >>> P = np.array([[[0.5, 0.5], [0.8, 0.2]], [[0.0, 1.0], [0.1, 0.9]]])  # (A, S, S)
        >>> mt.MDP.from_pymdptoolbox(P, np.array([[5.0, 10.0], [-1.0, 2.0]]), 0.9)  # R (S, A)
        MDP(n_states=2, n_actions=2, gamma=0.9, dense)
        """
        P, R = interop.read_pymdptoolbox(P, R)
        return cls(P, R, gamma, **kwargs)

    def to_pymdptoolbox(self) -> tuple[Any, FloatArray]:
        """Return ``(P, R)`` in pymdptoolbox's layout; see
        ``mdptoolkit.interop.to_pymdptoolbox``."""
        return interop.to_pymdptoolbox(self)

    @classmethod
    def from_gymnasium(cls, env_or_P: Any, gamma: float, *, sparse: bool | None = None,
                       mu: ArrayLike | None = None, **kwargs: Any) -> MDP:
        """Build from a gymnasium toy-text env (read through ``.unwrapped``), an env id, or its
        ``P[s][a] = [(prob, next_state, reward, terminated), ...]``; ``kwargs`` (``state_names``,
        ``action_names``) go to :class:`MDP`. See ``mdptoolkit.interop.read_gymnasium``
        for the treatment of ``terminated``, duplicates and missing actions.

        Examples
        --------
        >>> import mdptoolkit as mt
        >>> P = {0: {0: [(1.0, 1, 1.0, True)]}, 1: {0: [(1.0, 1, 0.0, False)]}}
        >>> mt.MDP.from_gymnasium(P, 0.9)  # plus an absorbing state for the terminated step
        MDP(n_states=3, n_actions=1, gamma=0.9, dense, 1 terminal state)
        """
        for key in ("terminal", "allowed"):
            if key in kwargs:
                raise TypeError(f"from_gymnasium derives {key} from P; got {key}= as a keyword")
        arrays = interop.read_gymnasium(env_or_P, sparse=sparse, mu=mu)
        return cls(gamma=gamma, **arrays, **kwargs)

    def to_gymnasium(self, *, max_episode_steps: int | None = None,
                     render_mode: str | None = None) -> Any:
        """A ``gymnasium.Env`` that samples this MDP: ``Discrete`` spaces, ``reset`` draws from
        ``mu``, ``step(a)`` draws s' from P[s, a] and returns R[s, a], ``terminated`` at a
        terminal state, ``truncated`` after ``max_episode_steps``; ``info["action_mask"]``
        (int8 (A,)) marks the allowed actions and a disallowed one raises ``ValueError``;
        ``render_mode="ansi"`` renders the state as text. See ``mdptoolkit.gym_env``.

        Examples
        --------
        >>> from mdptoolkit import envs
        >>> env = envs.sutton_barto_4x4().mdp.to_gymnasium(max_episode_steps=100)
        >>> state, info = env.reset(seed=0)
        >>> env.observation_space, env.action_space, info["action_mask"]
        (Discrete(16), Discrete(4), array([1, 1, 1, 1], dtype=int8))
        """
        return make_env(self, max_episode_steps=max_episode_steps, render_mode=render_mode)
