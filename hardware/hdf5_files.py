"""Checks shared by the HDF5 readers of this package (NIR graphs, netx networks).

The pieces live in the core (:mod:`spikesim._hdf5`, shared with the network and result
files) and are re-exported here. Hardware files are written whole, so the files spikesim
writes carry a SHA-256 digest of their entire content (every dataset's path, dtype, shape
and bytes, and every attribute) in the root attribute :data:`DIGEST_ATTR`, beside
``exporter = "spikesim"``; :func:`open_checked` recomputes it, and refuses such a file
without it. Files written by other tools (snnTorch, lava-dl) have neither and are checked by
the readers' validation only. To edit a file spikesim wrote on purpose, delete both root
attributes.

:func:`open_checked` also refuses datasets whose declared size does not match the bytes the
file stores for them (a corrupted dataspace would otherwise make ``ds[()]`` allocate the
declared size), and turns h5py's errors into :class:`~spikesim.errors.ConfigError` naming
the file. Files are written in the HDF5 1.8 format (:data:`LIBVER`, checksummed metadata).

Network and result files in the earliest HDF5 format (no checksums, as spikesim wrote them
before 2026-11-26: :func:`is_legacy_format`) can make libhdf5 hang or crash when damaged; the
core reads them in a worker process with a timeout (:func:`load_isolated`), and so does the
command line here (:func:`spikesim.hardware.cli.load_config_or_result`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from spikesim._hdf5 import (
    DIGEST_ATTR,
    H5_ERRORS,
    LIBVER,
    add_digest,
    content_digest,
    in_worker,
    is_legacy_format,
    load_isolated,
    naming_file,
    open_checked,
    repack,
)

__all__ = [
    "DIGEST_ATTR",
    "file_path",
    "H5_ERRORS",
    "LIBVER",
    "add_digest",
    "content_digest",
    "in_worker",
    "is_legacy_format",
    "load_isolated",
    "naming_file",
    "open_checked",
    "repack",
    "writable_path",
]


def file_path(where: str, path: Any, field: str = "path") -> str:
    """``os.fspath(path)``, with anything but a str or os.PathLike refused as a
    :class:`~spikesim.errors.ParameterError` naming it (os.fspath raises TypeError)."""
    from spikesim.errors import ParameterError

    if not isinstance(path, (str, os.PathLike)):
        raise ParameterError(where, field, "a file path (str or os.PathLike)", path)
    return os.fspath(path)


def writable_path(where: str, path: Any, field: str = "path") -> str:
    """``path`` as a string, checked before anything is computed or written: a path (str or
    os.PathLike) whose folder exists and which is not itself a folder; else a
    :class:`~spikesim.errors.ParameterError` naming it (as the core's result files do)."""
    from spikesim.errors import ParameterError

    p = file_path(where, path, field)
    folder = Path(p).parent
    if Path(p).is_dir() or not folder.is_dir():
        raise ParameterError(
            where,
            field,
            "a writable file path in an existing folder",
            p,
            hint=f"{p} is a folder" if Path(p).is_dir() else f"no folder {str(folder)!r}",
        )
    return p
