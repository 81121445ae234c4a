"""Checks shared by the HDF5 readers of this package (NIR graphs, netx networks).

HDF5 keeps no checksum of its data, so a flipped byte in a weight matrix reads back as a
different weight. The files spikesim writes therefore carry a SHA-256 digest of their content
(every dataset's path, dtype, shape and bytes, and every attribute) in the root attribute
:data:`DIGEST_ATTR`, beside ``exporter = "spikesim"``; :func:`open_checked` recomputes it,
and refuses such a file without it. Files written by other tools (snnTorch, lava-dl) have
neither and are checked by the readers' validation only. To edit a file spikesim wrote on
purpose, delete both root attributes.

:func:`open_checked` also refuses datasets whose declared size does not match the bytes the
file stores for them (a corrupted dataspace would otherwise make ``ds[()]`` allocate the
declared size), and turns h5py's errors into :class:`~spikesim.errors.ConfigError` naming
the file.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from spikesim.errors import ConfigError, SpikesimError

__all__ = [
    "DIGEST_ATTR",
    "H5_ERRORS",
    "LIBVER",
    "add_digest",
    "content_digest",
    "naming_file",
    "open_checked",
    "repack",
]

#: Root attribute holding the hex SHA-256 of the file's content (see the module doc).
DIGEST_ATTR = "spikesim_sha256"

#: HDF5 format bounds of the files spikesim writes: HDF5 1.8 objects, whose metadata
#: (superblock, object headers, B-trees, heaps) carry checksums that the library verifies. In
#: the default (earliest) format a damaged object header can crash libhdf5 (a segmentation
#: fault reading an attribute), which no Python code can catch. Readable by HDF5 >= 1.8.
LIBVER = ("v108", "v108")

#: What h5py (and numpy converting what it read) raise on damaged files.
H5_ERRORS = (OSError, KeyError, RuntimeError, TypeError, ValueError, IndexError, AttributeError)

#: A chunked (possibly compressed) dataset may declare at most this many bytes per stored
#: byte of the whole file (gzip reaches ~1000x on constant data), plus 1 MiB.
_MAX_EXPANSION = 1024


def naming_file(err: SpikesimError, path: str) -> SpikesimError:
    """``err`` (same type and attributes) with its message prefixed by ``path`` unless it
    already names it: errors of the network classes name the node, readers add the file."""
    if path in str(err):
        return err
    new = type(err).__new__(type(err))
    new.__dict__.update(err.__dict__)
    new.args = (f"{path}: {err}",)
    return new


def _is_vlen(dtype: np.dtype) -> bool:
    import h5py

    return dtype.kind == "O" or h5py.check_vlen_dtype(dtype) is not None


def _value_bytes(value: Any) -> bytes:
    arr = np.asarray(value)
    if arr.dtype.kind == "O":
        return f"O{arr.shape}{arr.tolist()!r}".encode()
    return f"{arr.dtype.str}{arr.shape}".encode() + np.ascontiguousarray(arr).tobytes()


def content_digest(f: Any) -> str:
    """Hex SHA-256 of every dataset (path, dtype, shape, bytes) and attribute of ``f``,
    in sorted path order, leaving out the root's :data:`DIGEST_ATTR`."""
    import h5py

    h = hashlib.sha256()
    names: list[str] = []
    f.visit(names.append)
    for name in ["", *sorted(names)]:
        obj = f[name] if name else f
        h.update(f"\0{name}\0".encode())
        if isinstance(obj, h5py.Dataset):
            h.update(_value_bytes(obj[()]))
        for key in sorted(obj.attrs):
            if name == "" and key == DIGEST_ATTR:
                continue
            h.update(f"\0@{key}\0".encode())
            h.update(_value_bytes(obj.attrs[key]))
    return h.hexdigest()


def add_digest(f: Any) -> None:
    """Mark ``f`` as written by spikesim (root attribute ``exporter``) and store
    :func:`content_digest` in its root attribute :data:`DIGEST_ATTR`."""
    f.attrs["exporter"] = "spikesim"
    f.attrs[DIGEST_ATTR] = content_digest(f)


def repack(path: str | os.PathLike[str]) -> None:
    """Rewrite the HDF5 file ``path`` (written by another library) in the :data:`LIBVER`
    format with :func:`add_digest`: same groups, datasets and attributes."""
    import h5py

    p = os.fspath(path)
    tmp = f"{p}.repack"
    try:
        with h5py.File(p, "r") as src, h5py.File(tmp, "w", libver=LIBVER) as dst:
            for key in src:
                src.copy(src[key], dst, name=key)
            for key in src.attrs:
                dst.attrs[key] = src.attrs[key]
            add_digest(dst)
        os.replace(tmp, p)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def _written_by_spikesim(f: Any) -> bool:
    """The root says ``exporter = "spikesim"`` or holds a digest-like value under another
    name (the digest attribute's name was damaged)."""
    values = [f.attrs[k] for k in f.attrs]
    digest_like = any(
        isinstance(v, str) and len(v) == 64 and all(c in "0123456789abcdef" for c in v)
        for v in values
    )
    return digest_like or str(f.attrs.get("exporter", "")) == "spikesim"


def _check_sizes(f: Any, p: str, file_size: int) -> None:
    import h5py

    found: list[tuple[str, Any]] = []
    f.visititems(lambda name, obj: found.append((name, obj)))
    for name, obj in found:
        if not isinstance(obj, h5py.Dataset) or _is_vlen(obj.dtype):
            continue
        declared = int(np.prod(obj.shape, dtype=np.float64) * obj.dtype.itemsize)
        if declared == 0:
            continue
        stored = obj.id.get_storage_size()
        if obj.chunks is None and stored != declared:
            raise ConfigError(
                p,
                name,
                f"declares {obj.shape} {obj.dtype} ({declared} bytes) but the file stores "
                f"{stored} bytes for it: the file is damaged",
            )
        if obj.chunks is not None and declared > _MAX_EXPANSION * file_size + (1 << 20):
            raise ConfigError(
                p,
                name,
                f"declares {declared} bytes, more than {_MAX_EXPANSION}x the file's "
                f"{file_size} bytes: the file is damaged",
            )


@contextmanager
def open_checked(path: str | os.PathLike[str], *, what: str) -> Iterator[Any]:
    """Open ``path`` read-only after checking dataset sizes and the spikesim digest (when the
    file has one). ``what`` names the expected content in errors ("netx network file").
    Raises :class:`~spikesim.errors.ConfigError` naming the file."""
    import h5py

    p = os.fspath(path)
    try:
        f = h5py.File(p, "r")
    except FileNotFoundError:
        raise ConfigError(p, "-", f"{what} not found") from None
    except H5_ERRORS as err:
        raise ConfigError(p, "-", f"not a readable {what} (HDF5): {err}") from None
    with f:
        try:
            _check_sizes(f, p, os.path.getsize(p))
            stored = f.attrs.get(DIGEST_ATTR)
            if stored is None and _written_by_spikesim(f):
                raise ConfigError(
                    p,
                    DIGEST_ATTR,
                    f"missing from a {what} spikesim wrote (its root attributes are "
                    f"{sorted(f.attrs)}): the file is damaged",
                )
            if stored is not None:
                actual = content_digest(f)
                if str(stored) != actual:
                    raise ConfigError(
                        p,
                        DIGEST_ATTR,
                        f"the content does not match the digest spikesim stored when it wrote "
                        f"this {what} (expected {str(stored)[:16]}..., found {actual[:16]}...): "
                        "the file was damaged or edited",
                    )
        except SpikesimError:
            raise
        except H5_ERRORS as err:
            raise ConfigError(
                p, "-", f"not a readable {what}: {type(err).__name__}: {err}"
            ) from None
        yield f
