r"""The gymnasium view of an MDP: an environment that samples :math:`P` and :math:`R`.

:meth:`MDP.to_gymnasium <mdptoolkit.MDP.to_gymnasium>` hands a model to code written for
gymnasium (a student's own Q-learning agent, a library's agents). gymnasium is imported only
when such an environment is made, never by ``import mdptoolkit``; this module imports nothing
else of the package, so the model can use it without a cycle.

==================  ===================================================================
gymnasium           the MDP
==================  ===================================================================
observation_space   ``Discrete(S)``: the state index
action_space        ``Discrete(A)``: the action index
reset(seed=...)     :math:`s_0 \sim \mu`
step(a)             :math:`s' \sim P(\cdot \mid s, a)`, reward :math:`R(s, a)` (the expected
                    reward: the model keeps no reward noise)
terminated          :math:`s'` is a terminal state
truncated           ``max_episode_steps`` steps taken without reaching a terminal state
info                ``{"action_mask": int8 (A,)}``, 1 for the actions allowed in the
                    state just reached (``Discrete.sample(mask=...)`` takes it)
==================  ===================================================================
"""

from __future__ import annotations

import numbers
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import gymnasium

__all__ = ["make_env"]

# the gymnasium.Env subclass, made once gymnasium is imported
_CLASS: dict[str, Callable[..., gymnasium.Env]] = {}


def make_env(mdp: Any, *, max_episode_steps: int | None = None, render_mode: str | None = None,
             render_text: Callable[[int], str] | None = None) -> gymnasium.Env:
    r"""A ``gymnasium.Env`` that samples ``mdp`` (see :meth:`mdptoolkit.MDP.to_gymnasium`).

    Parameters
    ----------
    mdp : MDP
    max_episode_steps : int >= 1, optional
        Truncate an episode after this many steps (``truncated=True``); None never truncates.
    render_mode : {None, "ansi"}, optional
        ``"ansi"``: ``env.render()`` returns the current state as text.
    render_text : callable, optional
        ``render_text(state) -> str`` used by ``"ansi"`` rendering (grid worlds draw their
        map); default: the state's index and name.

    Returns
    -------
    gymnasium.Env

    Raises
    ------
    ImportError
        When gymnasium is not installed.
    ValueError
        For ``max_episode_steps`` < 1 or an unknown ``render_mode``.
    """
    if max_episode_steps is not None:
        if isinstance(max_episode_steps, bool) or not isinstance(max_episode_steps,
                                                                 numbers.Integral):
            raise TypeError(f"max_episode_steps must be an integer or None; got "
                            f"{type(max_episode_steps).__name__}")
        if max_episode_steps < 1:
            raise ValueError(f"max_episode_steps must be >= 1; got {max_episode_steps}")
        max_episode_steps = int(max_episode_steps)
    if render_mode not in (None, "ansi"):
        raise ValueError(f"render_mode must be None or 'ansi'; got {render_mode!r}")
    return _env_class()(mdp, max_episode_steps, render_mode, render_text)


def _env_class() -> Callable[..., gymnasium.Env]:
    if "Env" in _CLASS:
        return _CLASS["Env"]
    try:
        import gymnasium
    except ImportError:  # pragma: no cover - depends on the installation
        raise ImportError("MDP.to_gymnasium needs gymnasium: pip install gymnasium") from None
    from gymnasium import spaces

    class MDPEnv(gymnasium.Env):
        """A gymnasium environment sampling a finite MDP (made by ``MDP.to_gymnasium``)."""

        metadata = {"render_modes": ["ansi"], "render_fps": 4}

        def __init__(self, mdp: Any, max_episode_steps: int | None, render_mode: str | None,
                     render_text: Callable[[int], str] | None) -> None:
            self.mdp = mdp
            self.max_episode_steps = max_episode_steps
            self.render_mode = render_mode
            self._render_text = render_text
            S, A = mdp.n_states, mdp.n_actions
            self.observation_space = spaces.Discrete(S)
            self.action_space = spaces.Discrete(A)
            self._masks = np.asarray(mdp.allowed, dtype=np.int8)
            self._mu_cdf = np.cumsum(mdp.mu)
            self._P = mdp.P  # dense (S, A, S) view or CSR (S*A, S)
            self._state: int | None = None
            self._steps = 0

        def _draw(self, cdf: np.ndarray) -> int:
            """Index of the first cdf entry above a uniform draw (inverse transform)."""
            u = self.np_random.random() * cdf[-1]
            return min(int(np.searchsorted(cdf, u, side="right")), cdf.size - 1)

        def _next_state(self, s: int, a: int) -> int:
            if self.mdp.is_sparse:
                row = s * self.mdp.n_actions + a
                lo, hi = self._P.indptr[row], self._P.indptr[row + 1]
                return int(self._P.indices[lo + self._draw(np.cumsum(self._P.data[lo:hi]))])
            return self._draw(np.cumsum(self._P[s, a]))

        def _info(self) -> dict[str, np.ndarray]:
            return {"action_mask": self._masks[self._state].copy()}

        def reset(self, *, seed: int | None = None,
                  options: dict[str, Any] | None = None) -> tuple[int, dict[str, np.ndarray]]:
            super().reset(seed=seed)
            self._state = self._draw(self._mu_cdf)
            self._steps = 0
            return self._state, self._info()

        def step(self, action: int) -> tuple[int, float, bool, bool, dict[str, np.ndarray]]:
            if self._state is None:
                raise gymnasium.error.ResetNeeded("call reset() before step()")
            if isinstance(action, np.ndarray) and action.ndim == 0:
                action = action.item()
            if isinstance(action, bool) or not isinstance(action, numbers.Integral) \
                    or not 0 <= action < self.mdp.n_actions:
                raise ValueError(f"action must be an integer in 0..{self.mdp.n_actions - 1}; "
                                 f"got {action!r} at state {self._state}")
            s, a = self._state, int(action)
            if not self.mdp.allowed[s, a]:
                allowed = np.flatnonzero(self.mdp.allowed[s]).tolist()
                raise ValueError(f"action must be allowed in the current state; got action "
                                 f"{a} at state {s} (allowed: {allowed}; "
                                 f"info['action_mask'] marks them)")
            reward = float(self.mdp.R[s, a])
            self._state = self._next_state(s, a)
            self._steps += 1
            terminated = bool(self.mdp.terminal[self._state])
            truncated = (not terminated and self.max_episode_steps is not None
                         and self._steps >= self.max_episode_steps)
            return self._state, reward, terminated, bool(truncated), self._info()

        def render(self) -> str | None:
            if self.render_mode != "ansi" or self._state is None:
                return None
            if self._render_text is not None:
                return self._render_text(self._state)
            names = self.mdp.state_names
            name = f" {names[self._state]}" if names else ""
            return f"state {self._state}{name}\n"

    _CLASS["Env"] = MDPEnv
    return MDPEnv
