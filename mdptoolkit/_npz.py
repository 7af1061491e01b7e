"""The model's file format: one ``.npz`` archive of plain arrays, read without pickle."""

from __future__ import annotations

import io
import os

import numpy as np
import scipy.sparse as sp

from .exceptions import MDPValidationError

FORMAT_VERSION = 1


def save(mdp, path):
    """Write the arrays of an MDP to ``path`` (a path or a binary file object)."""
    arrays = dict(format_version=np.array(FORMAT_VERSION), R=np.asarray(mdp.R),
                  gamma=np.array(mdp.gamma), mu=np.asarray(mdp.mu),
                  terminal=np.asarray(mdp.terminal), allowed=np.asarray(mdp.allowed))
    if mdp.is_sparse:
        P = mdp.P
        arrays.update(P_data=P.data, P_indices=P.indices, P_indptr=P.indptr,
                      P_shape=np.array(P.shape))
    else:
        arrays["P"] = np.asarray(mdp.P)
    for name in ("state_names", "action_names"):
        if getattr(mdp, name) is not None:
            arrays[name] = np.array(getattr(mdp, name), dtype=str)
    if isinstance(path, (str, os.PathLike)):
        np.savez_compressed(path, **arrays)
    else:
        buffer = io.BytesIO()
        np.savez_compressed(buffer, **arrays)
        path.write(buffer.getvalue())


def load(path):
    """The keyword arguments of :class:`~mdptoolkit.MDP` stored in a file written by :func:`save`."""
    with np.load(path, allow_pickle=False) as f:
        version = int(f["format_version"])
        if version != FORMAT_VERSION:
            raise MDPValidationError(f"file format_version must be {FORMAT_VERSION}; got {version}")
        if "P" in f:
            P = f["P"]
        else:
            P = sp.csr_array((f["P_data"], f["P_indices"], f["P_indptr"]),
                             shape=tuple(f["P_shape"]))
        names = {k: list(f[k]) for k in ("state_names", "action_names") if k in f}
        return dict(P=P, R=f["R"], gamma=float(f["gamma"]), mu=f["mu"], terminal=f["terminal"],
                    allowed=f["allowed"], **names)
