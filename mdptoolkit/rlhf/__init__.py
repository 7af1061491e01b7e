r"""RL fine-tuning of language models, computed exactly on a :class:`~mdptoolkit.language.LanguageMDP`.

The language MDP seen one sequence at a time: ``lm.sequences`` (the N complete sequences,
index i), ``lm.rewards`` (N,) (the gold reward :math:`r(y)`) and
``lm.sequence_probability_array(policy)`` (:math:`p_\pi`, shape (N,)); :math:`p_{ref}` is the
reference model's sequence distribution. The objective of RL fine-tuning is

.. math::

    J_\beta(\pi) = \mathbb E_{y \sim p_\pi}[r(y)] - \beta\,\mathrm{KL}(p_\pi \,\|\, p_{ref}),

whose exact maximizer is :math:`p^*(y) \propto p_{ref}(y)\, e^{r(y)/\beta}`.
"""

__all__ = []
