"""Read a tutorial (a jupytext percent script) as a notebook for myst-nb.

``jupytext.reads`` gives a script without a kernel: the notebook is marked as Python here so
its cells are highlighted as Python even when it is not executed (``nb_execution_mode="off"``)
and run on the ``python3`` kernel that ipykernel installs.
"""

from __future__ import annotations

import jupytext


def reads(text: str, **kwargs):
    notebook = jupytext.reads(text, fmt="py:percent", **kwargs)
    notebook.metadata.setdefault("kernelspec", {"name": "python3", "display_name": "Python 3",
                                                "language": "python"})
    notebook.metadata.setdefault("language_info", {"name": "python",
                                                   "pygments_lexer": "ipython3"})
    return notebook
