r"""The language MDP: text generation as a finite MDP, small enough to solve exactly.

RL fine-tuning of a language model is an MDP in disguise, and with a tiny vocabulary it is a
finite one:

==================  ============================================================================
MDP                 text generation
==================  ============================================================================
state :math:`s`     an unfinished prefix :math:`y_{<t}` (a tuple of tokens, length 0 .. L−1),
                    plus one absorbing terminal state
action :math:`a`    the next token: one of ``vocab`` or ``eos`` (``actions = vocab + [eos]``)
transition          deterministic: append the token. Choosing ``eos``, or a token at length
                    L−1, *completes* the sequence :math:`y` (``eos`` is not part of it) and
                    moves to the terminal state
reward              :math:`r(y)`, the score of the finished text by a reward model, earned on
                    the completing step (plus an optional per-token reward on every step)
policy :math:`\pi`  the language model being tuned, :math:`\pi(y) = \prod_t \pi(y_t \mid y_{<t})`
                    (times :math:`\pi(\mathrm{eos} \mid y)` when :math:`|y| < L`)
==================  ============================================================================

with :math:`\gamma = 1`, :math:`\mu` on the empty prefix and L = ``max_len``. Every policy
reaches the terminal state within L steps, so the chain is acyclic and exact evaluation is a
linear-time back substitution.

As in RL fine-tuning of LLMs (Ziegler et al. 2019; Ouyang et al. 2022), the objective is
usually regularized by the KL divergence to a reference model :math:`\pi_{ref}` with
temperature :math:`\beta > 0`. Because transitions are deterministic, the per-step KL terms
add up to the sequence-level KL, and the exact optimum is the reference tilted by the reward
(Korbak, Perez & Buckley 2022; Rafailov et al. 2023):

.. math::

    \max_\pi \; \mathbb E_{y \sim \pi}[r(y)] - \beta\,\mathrm{KL}(\pi \,\|\, \pi_{ref})
    \quad\Longrightarrow\quad
    p^*(y) = \frac{\pi_{ref}(y)\, e^{r(y)/\beta}}{Z}, \qquad
    Z = \sum_y \pi_{ref}(y)\, e^{r(y)/\beta}, \qquad V^*(\text{empty prefix}) = \beta \log Z .

:func:`~mdptoolkit.soft_value_iteration` with ``reference=lm.reference_policy`` computes it;
with ``token_reward`` given, :math:`r(y)` is the total reward along :math:`y`.

State layout. With V = ``len(vocab)`` and :math:`o(l) = \sum_{j<l} V^j`, the prefix
:math:`(y_1, \dots, y_l)` with token ids :math:`i_1, \dots, i_l` has state index
:math:`o(l) + \sum_k i_k V^{l-k}` (its level offset plus its token ids read as a base-V number),
so the children of state :math:`s` are the contiguous block :math:`Vs + 1 + t`, its parent is
:math:`\lfloor (s-1)/V \rfloor` and its last token :math:`(s-1) \bmod V`. The
:math:`o(L)` prefixes are followed by the terminal state, index :math:`o(L)`. Complete
sequences (length 0..L) are numbered the same way — the *sequence index*
:meth:`LanguageMDP.sequence_index`, :math:`0 .. o(L+1)-1` — so a sequence y shorter than L
has the same index as the state whose prefix is y (the one where eos completes it).

References
----------
Ziegler, D. M. et al. (2019). Fine-tuning language models from human preferences. arXiv:1909.08593.
Ouyang, L. et al. (2022). Training language models to follow instructions with human feedback.
NeurIPS.
Korbak, T., Perez, E. & Buckley, C. L. (2022). RL with KL penalties is better viewed as Bayesian
inference. Findings of EMNLP.
Rafailov, R. et al. (2023). Direct preference optimization. NeurIPS.

Modules: ``model`` (:class:`LanguageMDP`), ``reference`` (:func:`bigram_reference`,
:func:`bigram_features`), ``toy`` (:func:`toy`); the state layout and size checks in
``_layout``, the reading of rewards and reference models in ``_inputs``.
"""

from __future__ import annotations

from ._layout import DEFAULT_MAX_STATES, sequence_ids
from .model import LanguageMDP
from .reference import bigram_features, bigram_reference
from .toy import TOY_CORPUS, TOY_VOCAB, toy

__all__ = ["LanguageMDP", "bigram_reference", "bigram_features", "sequence_ids", "toy",
           "DEFAULT_MAX_STATES", "TOY_VOCAB", "TOY_CORPUS"]
