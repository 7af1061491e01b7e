"""The object every environment builder returns, and the argument checks the builders share."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NoReturn

# the package's number checks, re-exported for the builders beside check_bytes
from .._validation import check_int as check_int
from .._validation import check_real as check_real
from ..exceptions import MDPValidationError
from ..mdp import MDP

__all__ = ["Environment"]

#: Default limit on the estimated peak memory of a builder whose size is a parameter
#: (``random_mdp``, ``forest``, ``river_swim``): 4 GiB. Pass ``max_bytes`` to go further.
MAX_BYTES = 2**32


@dataclass(frozen=True, repr=False)
class Environment:
    r"""A named MDP built by one of the :mod:`mdptoolkit.envs` builders.

    Attributes
    ----------
    mdp : MDP
        The model :math:`(S, A, P, R, \gamma, \mu)`.
    name : str
        A short name of the problem, e.g. ``"forest"``.

    Examples
    --------
    >>> from mdptoolkit import envs
    >>> env = envs.forest()
    >>> env
    Environment(name='forest', n_states=3, n_actions=2, gamma=0.96)
    >>> env.action_names
    ('wait', 'cut')

    Functions take the model, ``env.mdp``; an environment in its place is a TypeError that
    says so:

    >>> import mdptoolkit as mt
    >>> mt.value_iteration(env)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    TypeError: an MDP is expected here, not an environment (Environment 'forest', ...): pass env.mdp
    """

    mdp: MDP
    name: str

    @property
    def n_states(self) -> int:
        """Number of states S of :attr:`mdp`."""
        return self.mdp.n_states

    @property
    def n_actions(self) -> int:
        """Number of actions A of :attr:`mdp`."""
        return self.mdp.n_actions

    @property
    def state_names(self) -> tuple[str, ...] | None:
        """Labels of the states (or None), as in :attr:`~mdptoolkit.MDP.state_names`."""
        return self.mdp.state_names

    @property
    def action_names(self) -> tuple[str, ...] | None:
        """Labels of the actions (or None), as in :attr:`~mdptoolkit.MDP.action_names`."""
        return self.mdp.action_names

    def __getattr__(self, name: str) -> NoReturn:
        # Called only for names an Environment lacks. Passing an environment where an MDP is
        # expected makes the function read an MDP attribute (P, R, _op, ...): say what to
        # pass instead of "AttributeError: _op". Dunders stay AttributeErrors, so hasattr and
        # numpy's probing work as usual.
        mdp = self.__dict__.get("mdp")
        if not (name.startswith("__") and name.endswith("__")) and mdp is not None \
                and hasattr(mdp, name):
            raise TypeError(f"an MDP is expected here, not an environment ({type(self).__name__}"
                            f" {self.name!r}, which has no {name!r}): pass env.mdp")
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def _summary(self):
        return (f"name={self.name!r}, n_states={self.mdp.n_states}, "
                f"n_actions={self.mdp.n_actions}, gamma={self.mdp.gamma:g}")

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._summary()})"


def check_bytes(n_bytes: int, max_bytes: int | None, what: str, hint: str) -> None:
    """Refuse, before anything is allocated, a model whose estimated peak memory ``n_bytes``
    (a Python int: no overflow) exceeds ``max_bytes`` (None: :data:`MAX_BYTES`)."""
    limit = MAX_BYTES if max_bytes is None else check_int(max_bytes, "max_bytes", minimum=1)
    if n_bytes > limit:
        raise MDPValidationError(f"{what} must take at most max_bytes={limit:,} bytes; got an "
                                 f"estimated {n_bytes:,} bytes ({n_bytes / 2**30:.3g} GiB) {hint}")
