r"""Grid worlds drawn as text maps.

A grid of ``H`` rows and ``W`` columns has one state per cell, numbered row-major with row 0 at
the top: state = row * W + col. Every action is a compass move; with probability ``1 - slip`` the
agent moves as intended and with probability ``slip / 2`` to each side (perpendicular), as in
Russell & Norvig's 4x3 world (slip = 0.2) and gymnasium's FrozenLake (slip = 2/3). A move off the
grid or into a wall leaves the agent where it is.

The transition matrix is built by index arithmetic on whole arrays: one (S·A, k) array of next
states and one of probabilities (k = 3 outcomes per action with slip, 1 without), read as a CSR
matrix, so a 1000 x 1000 grid (10^6 states) builds in a few seconds.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from ..gym_env import make_env
from ..mdp import MDP
from .._typing import ArrayLike, BoolArray, FloatArray, IntArray
from ._base import Environment, check_bytes, check_int, check_real

if TYPE_CHECKING:
    import gymnasium

__all__ = ["GridWorld", "gridworld"]

#: (row, col) displacement of each compass move.
DIRECTIONS = {"up": (-1, 0), "right": (0, 1), "down": (1, 0), "left": (0, -1)}
_SIDEWAYS = {"up": ("left", "right"), "down": ("right", "left"),
             "left": ("down", "up"), "right": ("up", "down")}
_FIXED = {".": "free cell", "#": "wall", "S": "start", "C": "cliff"}

#: Grids with more states than this get a sparse P unless ``sparse=False`` is passed.
DENSE_LIMIT = 1024
NAMES_LIMIT = 10_000


@dataclass(frozen=True, repr=False)
class GridWorld(Environment):
    r"""A grid world: an :class:`~mdptoolkit.envs.Environment` that knows its cells.

    Attributes
    ----------
    mdp : MDP
    name : str
    layout : tuple of str
        The text map, one string per row (row 0 at the top).
    actions : tuple of str
        The compass direction of each action index, e.g. ``("up", "right", "down", "left")``.
    slip : float
        Probability of moving sideways instead of as intended (split evenly between the two
        sides).

    Examples
    --------
    >>> from mdptoolkit import envs
    >>> env = envs.gridworld(["S..", ".#G"], step_reward=-1.0, gamma=1.0)
    >>> env.shape, env.state_of(1, 2), env.cell_of(4)
    ((2, 3), 5, (1, 1))
    >>> env.action_deltas[env.actions.index("down")]
    array([1, 0])
    """

    layout: tuple[str, ...] = ()
    actions: tuple[str, ...] = ()
    slip: float = 0.0
    # the layout's characters, (H, W); built by gridworld() (the default: no cells)
    _cells: npt.NDArray[np.str_] = field(default_factory=lambda: np.empty((0, 0), dtype="<U1"),
                               compare=False)

    @property
    def shape(self) -> tuple[int, int]:
        """``(H, W)``: number of rows and columns."""
        H, W = self._cells.shape
        return H, W

    @property
    def cells(self) -> npt.NDArray[np.str_]:
        """Read-only (H, W) array of the layout's characters."""
        return self._cells

    @property
    def walls(self) -> BoolArray:
        """Boolean (H, W) mask of wall cells (``'#'``)."""
        return self._cells == "#"

    @property
    def action_deltas(self) -> IntArray:
        """Integer (A, 2) array: the (row, col) displacement each action intends."""
        return np.array([DIRECTIONS[a] for a in self.actions])

    def state_of(self, row: int, col: int) -> int:
        """State index of the cell at ``(row, col)``: ``row * W + col``.

        Raises
        ------
        ValueError
            When the cell is outside the grid.
        """
        H, W = self.shape
        row = check_int(row, "row", minimum=0)
        col = check_int(col, "col", minimum=0)
        if row >= H or col >= W:
            raise ValueError(f"cell must lie in the {H} x {W} grid; got (row, col) = "
                             f"({row}, {col})")
        return row * W + col

    def cell_of(self, state: int) -> tuple[int, int]:
        """``(row, col)`` of a state index.

        Raises
        ------
        ValueError
            When the state is not in ``0..S-1``.
        """
        H, W = self.shape
        state = check_int(state, "state", minimum=0)
        if state >= H * W:
            raise ValueError(f"state must be in 0..{H * W - 1}; got {state}")
        return divmod(state, W)

    def grid(self, values: ArrayLike) -> FloatArray:
        """Reshape per-state ``values`` (S,) to the (H, W) grid, with NaN at walls (for plots).

        Examples
        --------
        >>> import numpy as np
        >>> from mdptoolkit import envs
        >>> envs.gridworld(["S#G"]).grid(np.array([1.0, 2.0, 3.0]))
        array([[ 1., nan,  3.]])
        """
        values = np.asarray(values, dtype=np.float64)
        if values.shape != (self.mdp.n_states,):
            raise ValueError(f"values must have shape ({self.mdp.n_states},); got {values.shape}")
        out = values.reshape(self.shape).copy()
        out[self.walls] = np.nan
        return out

    def render_text(self, state: int | None = None) -> str:
        """The map as text, one line per row, with the agent drawn as ``@`` at ``state``.

        Examples
        --------
        >>> from mdptoolkit import envs
        >>> print(envs.gridworld(["S..", ".#G"]).render_text(2), end="")
        S.@
        .#G
        """
        rows = [list(r) for r in self.layout]
        if state is not None:
            r, c = self.cell_of(state)
            rows[r][c] = "@"
        return "".join("".join(r) + "\n" for r in rows)

    def to_gymnasium(self, *, max_episode_steps: int | None = None,
                     render_mode: str | None = None) -> gymnasium.Env:
        """:meth:`MDP.to_gymnasium <mdptoolkit.MDP.to_gymnasium>` of
        :attr:`~mdptoolkit.envs.Environment.mdp`, whose ``render_mode="ansi"`` draws the map
        (:meth:`render_text`).

        Examples
        --------
        >>> from mdptoolkit import envs
        >>> env = envs.frozen_lake("4x4").to_gymnasium(render_mode="ansi")
        >>> _ = env.reset(seed=0)
        >>> print(env.render(), end="")
        @FFF
        FHFH
        FFFH
        HFFG
        """
        return make_env(self.mdp, max_episode_steps=max_episode_steps, render_mode=render_mode,
                        render_text=self.render_text)

    def _summary(self) -> str:
        return f"{super()._summary()}, shape={self.shape}"


def gridworld(layout: str | Sequence[str], *, gamma: float = 0.9, step_reward: float = 0.0,
              slip: float = 0.0, rewards: dict[str, float] | None = None, terminal: str = "GH",
              bump_reward: float = 0.0, cliff_reward: float = -100.0,
              jumps: dict[tuple[int, int], tuple[tuple[int, int], float]] | None = None,
              actions: Sequence[str] = ("up", "right", "down", "left"),
              sparse: bool | None = None, name: str = "gridworld") -> GridWorld:
    r"""Build a grid world from a text map.

    Parameters
    ----------
    layout : sequence of str, or str
        One string per row, row 0 at the top (a single string is split into lines after
        dedenting). Characters:

        - ``.`` free cell;
        - ``S`` start cell (free; :math:`\mu` is uniform over the ``S`` cells, or over all
          non-terminal free cells when there is none);
        - ``#`` wall: moving into it leaves the agent in place;
        - ``C`` cliff: entering it earns ``cliff_reward`` *instead of* the step reward and sends
          the agent back to the (single) start cell, as in Sutton & Barto's Example 6.6;
        - ``G``, ``H`` (or any character in ``terminal``): terminal cells (goal, hole); the
          episode ends on entering them;
        - any other character must be a key of ``rewards`` and marks a free cell.

    gamma : float, default 0.9
        Discount factor.
    step_reward : float, default 0
        Reward of every move (from a non-terminal cell), also of the move into a terminal cell.
    slip : float in [0, 1], default 0
        Probability of moving to one of the two sides instead of the intended direction, split
        evenly: 0.2 gives Russell & Norvig's 0.8/0.1/0.1, 2/3 gives FrozenLake's 1/3 each way.
    rewards : dict of str to float, optional
        Reward for ending a move in a cell of that character, added to ``step_reward``
        (staying in place after bumping into a wall counts as ending in the current cell).
        Default ``{"G": 1.0, "H": -1.0}``.
    terminal : str, default "GH"
        The characters that mark terminal cells.
    bump_reward : float, default 0
        Added to the reward of a move that is blocked by the edge or a wall.
    cliff_reward : float, default -100
        Reward of a move into a cliff cell.
    jumps : dict, optional
        ``{(row, col): ((row2, col2), reward)}``: from that cell *every* action moves to
        ``(row2, col2)`` and earns ``reward`` (Sutton & Barto's states A and B of Example 3.5).
    actions : sequence of str, default ("up", "right", "down", "left")
        The direction of each action index; any order of distinct names from
        ``"up", "right", "down", "left"`` (FrozenLake uses left, down, right, up).
    sparse : bool or None, default None
        How P is stored, hence what ``env.mdp.P`` is: ``False``, a dense (S, A, S) array;
        ``True``, a sparse (S·A, S) CSR matrix, row ``s*A + a``; ``None`` (the default) picks
        by size: dense up to ``DENSE_LIMIT`` = 1024 states (a 32 x 32 map), sparse above
        (a dense P of a 100 x 100 map would take 3.2 GB). Code that needs one layout whatever
        the map should ask for it: ``env.mdp.P_as("dense")`` (S, A, S) or
        ``env.mdp.P_as("sparse")`` (see :meth:`MDP.P_as <mdptoolkit.MDP.P_as>`); both
        storages give the same solutions.
    name : str, default "gridworld"

    Returns
    -------
    GridWorld
        With ``.mdp``, ``.shape``, ``.state_of(row, col)``, ``.cell_of(state)``, ``.layout``,
        ``.actions``. State names are ``"(row, col)"`` for grids of at most 10,000 cells.

    Raises
    ------
    ValueError
        For a ragged or empty layout, an unknown character, a cliff without exactly one start
        cell, or a parameter out of range.
    TypeError
        For a layout that is not text.

    Notes
    -----
    Wall and cliff cells keep their state numbers (so that state = row * W + col everywhere) but
    cannot be occupied; they are modelled as terminal states (absorbing, value 0), as are the
    terminal cells. The reward of moving from cell :math:`s` in direction :math:`d` to the cell
    :math:`s'` where the move ends is

    .. math::

        r = \text{step\_reward} + \text{rewards}[\text{cell}(s')]
            + \text{bump\_reward} \cdot [\text{move blocked}],

    or ``cliff_reward`` when :math:`s'` is a cliff; :math:`R(s, a)` is its expectation over the
    intended and the two sideways directions.

    Examples
    --------
    A 1 x 4 corridor with a goal at the right end and -1 per step:

    >>> import numpy as np, mdptoolkit as mt
    >>> from mdptoolkit import envs
    >>> env = envs.gridworld(["S..G"], step_reward=-1.0, rewards={"G": 0.0}, gamma=1.0)
    >>> env.mdp
    MDP(n_states=4, n_actions=4, gamma=1, dense, 1 terminal state)
    >>> right = env.actions.index("right")
    >>> mt.evaluate_policy(env.mdp, np.full(4, right))
    array([-3., -2., -1.,  0.])

    Above 1024 cells P is sparse unless told otherwise; ``P_as`` gives the layout one asks for:

    >>> big = envs.gridworld(["." * 40] * 30)
    >>> big.mdp.is_sparse, big.mdp.P.shape, big.mdp.P_as("dense").shape
    (True, (4800, 1200), (1200, 4, 1200))
    >>> envs.gridworld(["." * 40] * 30, sparse=False).mdp.P.shape
    (1200, 4, 1200)
    """
    cells = _parse_layout(layout)
    H, W = cells.shape
    S = H * W
    gamma = check_real(gamma, "gamma", low=0.0, high=1.0)
    step_reward = check_real(step_reward, "step_reward")
    bump_reward = check_real(bump_reward, "bump_reward")
    cliff_reward = check_real(cliff_reward, "cliff_reward")
    slip = check_real(slip, "slip", low=0.0, high=1.0)
    actions = _check_actions(actions)
    rewards, terminal = _check_rewards(rewards, terminal)
    _check_characters(cells, rewards, terminal)

    flat = cells.ravel()
    is_terminal = np.isin(flat, list(terminal))
    is_wall = flat == "#"
    is_cliff = flat == "C"
    is_start = flat == "S"
    absorbing = is_terminal | is_wall | is_cliff
    if absorbing.all():
        raise ValueError("layout must have at least one free cell; got only walls, cliffs and "
                         "terminal cells")
    restart = -1
    if is_cliff.any():
        if is_start.sum() != 1:
            raise ValueError(f"a layout with cliff cells must have exactly one start cell 'S'; "
                             f"got {int(is_start.sum())}")
        restart = int(np.flatnonzero(is_start)[0])
    cell_reward = np.zeros(S)
    for char, value in rewards.items():
        cell_reward[flat == char] = value
    jump_from, jump_to, jump_reward = _check_jumps(jumps, cells, absorbing)

    # one target/reward array per compass direction, by index arithmetic
    s = np.arange(S)
    row, col = np.divmod(s, W)
    target, reward = {}, {}
    for d, (dr, dc) in DIRECTIONS.items():
        r2, c2 = row + dr, col + dc
        inside = (r2 >= 0) & (r2 < H) & (c2 >= 0) & (c2 < W)
        t = np.where(inside, r2 * W + c2, s)
        blocked = ~inside | is_wall[t]
        t = np.where(blocked, s, t)
        rew = step_reward + cell_reward[t] + bump_reward * blocked
        into_cliff = is_cliff[t]
        target[d] = np.where(into_cliff, restart, t)
        reward[d] = np.where(into_cliff, cliff_reward, rew)

    outcomes = [(0, 1.0 - slip)]
    if slip > 0:
        outcomes += [(1, slip / 2), (2, slip / 2)]
    k = len(outcomes)
    A = len(actions)
    itype = np.int32 if S * A * k < np.iinfo(np.int32).max else np.int64
    next_state = np.empty((S, A, k), dtype=itype)
    prob = np.empty((S, A, k))
    R = np.zeros((S, A))
    for a, d in enumerate(actions):
        dirs = (d,) + _SIDEWAYS[d]
        for j, (which, p) in enumerate(outcomes):
            next_state[:, a, j] = target[dirs[which]]
            prob[:, a, j] = p
            R[:, a] += p * reward[dirs[which]]
    if jump_from.size:
        next_state[jump_from] = jump_to[:, None, None]
        R[jump_from] = jump_reward[:, None]
    next_state[absorbing] = s[absorbing, None, None]
    R[absorbing] = 0.0
    del target, reward

    P = sp.csr_array((prob.ravel(), next_state.ravel(),
                      np.arange(0, S * A * k + 1, k, dtype=itype)), shape=(S * A, S))
    del prob, next_state
    if sparse is None:
        sparse = S > DENSE_LIMIT
    elif not isinstance(sparse, (bool, np.bool_)):
        raise TypeError(f"sparse must be True, False or None; got {type(sparse).__name__}")
    if not sparse:
        check_bytes(16 * S * A * S, None, "a dense grid world",
                    f"for {H} x {W} cells (pass sparse=True or None)")
    if not sparse:
        P.sum_duplicates()
        P = P.toarray().reshape(S, A, S)
    mu = is_start if is_start.any() else ~absorbing
    mu = mu / mu.sum()
    state_names = None
    if S <= NAMES_LIMIT:
        state_names = [f"({r}, {c})" for r, c in zip(row.tolist(), col.tolist())]
    mdp = MDP(P, R, gamma, mu=mu, terminal=absorbing, state_names=state_names,
              action_names=actions)
    cells.flags.writeable = False
    return GridWorld(mdp=mdp, name=name, layout=tuple("".join(r) for r in cells),
                     actions=tuple(actions), slip=slip, _cells=cells)


def _parse_layout(layout: str | Sequence[str]) -> npt.NDArray[np.str_]:
    if isinstance(layout, str):
        rows = textwrap.dedent(layout).strip("\n").splitlines()
    else:
        try:
            rows = list(layout)
        except TypeError:
            raise TypeError(f"layout must be a sequence of strings or a string; "
                            f"got {type(layout).__name__}") from None
    if not rows:
        raise ValueError("layout must have at least one row; got none")
    for i, r in enumerate(rows):
        if not isinstance(r, str):
            raise TypeError(f"layout rows must be strings; got {type(r).__name__} in row {i}")
    widths = [len(r) for r in rows]
    if min(widths) == 0:
        raise ValueError(f"layout rows must not be empty; got an empty row {widths.index(0)}")
    if len(set(widths)) > 1:
        i = next(i for i, w in enumerate(widths) if w != widths[0])
        raise ValueError(f"layout rows must all have the same length; got {widths[0]} in row 0 "
                         f"and {widths[i]} in row {i}")
    return np.array(rows).view("<U1").reshape(len(rows), widths[0])


def _check_actions(actions: str | Sequence[str]) -> tuple[str, ...]:
    actions = tuple(actions) if not isinstance(actions, str) else (actions,)
    if (not actions or len(set(actions)) != len(actions)
            or any(a not in DIRECTIONS for a in actions)):
        raise ValueError(f"actions must be distinct names from {tuple(DIRECTIONS)}; "
                         f"got {actions!r}")
    return actions


def _check_rewards(rewards: object, terminal: object) -> tuple[dict[str, float], str]:
    if rewards is None:
        rewards = {"G": 1.0, "H": -1.0}
    if not isinstance(rewards, dict):
        raise TypeError(f"rewards must be a dict of character to reward; "
                        f"got {type(rewards).__name__}")
    if not isinstance(terminal, str):
        raise TypeError(f"terminal must be a string of characters; got {type(terminal).__name__}")
    checked = {}
    for char, value in rewards.items():
        if not isinstance(char, str) or len(char) != 1 or char in "#C":
            raise ValueError(f"rewards keys must be single layout characters other than '#' and "
                             f"'C'; got {char!r}")
        checked[char] = check_real(value, f"rewards[{char!r}]")
    bad = [c for c in terminal if c in _FIXED]
    if bad:
        raise ValueError(f"terminal characters must not be one of {''.join(_FIXED)!r}; "
                         f"got {bad[0]!r}")
    return checked, terminal


def _check_characters(cells: np.ndarray, rewards: dict[str, float], terminal: str) -> None:
    known = set(_FIXED) | set(terminal) | set(rewards)
    unknown = ~np.isin(cells, sorted(known))
    if unknown.any():
        r, c = np.argwhere(unknown)[0]
        raise ValueError(f"layout characters must be one of {''.join(sorted(known))!r} "
                         f"(others need a rewards entry); got {str(cells[r, c])!r} at row {r}, "
                         f"col {c}")


def _check_jumps(jumps: object, cells: np.ndarray,
                 absorbing: np.ndarray) -> tuple[IntArray, IntArray, FloatArray]:
    H, W = cells.shape
    if not jumps:
        return np.zeros(0, int), np.zeros(0, int), np.zeros(0)
    if not isinstance(jumps, dict):
        raise TypeError(f"jumps must be a dict {{(row, col): ((row2, col2), reward)}}; "
                        f"got {type(jumps).__name__}")
    src, dst, rew = [], [], []
    for cell, spec in jumps.items():
        try:
            (r, c), ((r2, c2), value) = cell, spec
        except (TypeError, ValueError):
            raise ValueError(f"jumps entries must be (row, col): ((row2, col2), reward); "
                             f"got {cell!r}: {spec!r}") from None
        for rr, cc in ((r, c), (r2, c2)):
            if not (0 <= rr < H and 0 <= cc < W):
                raise ValueError(f"jumps cells must lie in the {H} x {W} grid; got ({rr}, {cc})")
        if absorbing[r * W + c] or cells[r2, c2] in "#C":
            raise ValueError(f"jumps must start from a free cell and end in a non-wall, "
                             f"non-cliff cell; got ({r}, {c}) -> ({r2}, {c2})")
        src.append(r * W + c)
        dst.append(r2 * W + c2)
        rew.append(check_real(value, f"jumps[{cell!r}] reward"))
    return np.array(src), np.array(dst), np.array(rew)
