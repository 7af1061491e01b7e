"""The model's file format: one ``.npz`` archive of plain arrays, read without pickle."""

from __future__ import annotations

import io
import os
import zipfile
import zlib
from typing import Any

import numpy as np
import scipy.sparse as sp

from .exceptions import MDPValidationError

FORMAT_VERSION = 1
_COMMON = ("format_version", "R", "gamma", "mu", "terminal", "allowed")
_SPARSE = ("P_data", "P_indices", "P_indptr", "P_shape")
#: What reading a damaged archive can raise, turned into one MDPValidationError naming the file.
_READ_ERRORS = (zipfile.BadZipFile, zlib.error, OSError, ValueError, EOFError, KeyError,
                TypeError, IndexError)


def save(mdp: Any, path: Any) -> None:
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
        np.savez_compressed(path, allow_pickle=False, **arrays)
    else:
        buffer = io.BytesIO()
        np.savez_compressed(buffer, allow_pickle=False, **arrays)
        path.write(buffer.getvalue())


def resolve(path: Any) -> tuple[Any, str]:
    """The file to read: ``path`` as given, else ``path + ".npz"`` (what :func:`save` wrote for
    a name without the suffix, as :func:`numpy.savez` does); a file object is returned as is."""
    if not isinstance(path, (str, os.PathLike)):
        return path, f"file object {path!r}"
    name = os.fspath(path)
    if not os.path.exists(name) and os.path.exists(name + ".npz"):
        name = name + ".npz"
    if not os.path.exists(name):
        raise FileNotFoundError(f"MDP file must exist; got no file {name!r} (nor "
                                f"{name + '.npz'!r})")
    return name, f"file {name!r}"


def load(path: Any) -> tuple[dict[str, Any], str]:
    """The keyword arguments of :class:`~mdptoolkit.MDP` stored in a file written by
    :func:`save`, and the file's description for messages. A file that is not such an archive
    (not a zip, truncated, a key missing, arrays that need pickle) is one MDPValidationError
    naming the file and what is wrong."""
    source, what = resolve(path)

    def bad(rule, got):
        return MDPValidationError(f"{what} must be {rule}; got {got}")

    if isinstance(source, str):
        with open(source, "rb") as head:
            magic = head.read(4)
        if magic[:2] != b"PK":
            raise bad("an .npz (zip) archive written by MDP.save",
                      f"a file that starts with {magic!r}, not a zip archive")
    try:
        archive = np.load(source, allow_pickle=False)
    except _READ_ERRORS as err:
        raise bad("an .npz archive written by MDP.save", f"{type(err).__name__}: {err}") from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise bad("an .npz archive written by MDP.save",
                  f"a single .npy array of shape {np.shape(archive)}")
    with archive as f:
        keys = set(f.files)
        required = _COMMON + (("P",) if "P" in keys else _SPARSE)
        missing = [k for k in required if k not in keys]
        if missing:
            raise bad("an .npz archive written by MDP.save (keys "
                      f"{', '.join(required)})", f"no {', '.join(missing)} among "
                      f"{sorted(keys) or 'no arrays'}")
        try:
            version = f["format_version"]
            if version.shape != () or version.dtype.kind not in "iu":
                raise bad("an archive with an integer format_version", f"{version!r}")
            if int(version) != FORMAT_VERSION:
                raise MDPValidationError(f"format_version of {what} must be {FORMAT_VERSION}; got "
                                         f"{int(version)}")
            if "P" in keys:
                P = f["P"]
            else:
                P = sp.csr_array((f["P_data"], f["P_indices"], f["P_indptr"]),
                                 shape=tuple(int(n) for n in f["P_shape"]))
            names = {k: [str(x) for x in f[k]] for k in ("state_names", "action_names")
                     if k in keys}
            return dict(P=P, R=f["R"], gamma=float(f["gamma"]), mu=f["mu"],
                        terminal=f["terminal"], allowed=f["allowed"], **names), what
        except MDPValidationError:
            raise
        except _READ_ERRORS as err:
            raise bad("a readable .npz archive written by MDP.save",
                      f"{type(err).__name__}: {err}") from None
