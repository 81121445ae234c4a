"""HDF5 pieces shared by every spikesim reader and writer (networks, results, hardware files).

Damaged HDF5 files can make libhdf5 crash (a damaged object header in the default earliest
format) or hang (a damaged global heap behind a variable-length string), and HDF5 keeps no
checksum of raw data, so a flipped byte in a weight matrix reads back as another weight. The
files spikesim writes therefore use:

* the HDF5 1.8 format (:data:`LIBVER`, hardware files) or 1.10 format (:data:`CORE_LIBVER`,
  network and result files): object headers, B-tree v2 nodes, fractal heaps and the
  superblock carry checksums that libhdf5 verifies on read, in 1.10 also the chunk indexes;
* no variable-length strings: texts are fixed-length byte attributes (:func:`write_text`);
  a text that may be large (a JSON description) has its SHA-256 beside it in the attribute
  ``<name>_sha256`` (:func:`read_text` verifies it), because an attribute over 64 KiB lives
  in dense storage whose data has no checksum;
* network and result datasets chunked with the Fletcher-32 filter (:func:`dataset_options`):
  a checksum per chunk, computed as the chunk is written, so it fits the result writer that
  streams and appends chunks; libhdf5 verifies it on read;
* hardware files (NIR, netx) written whole, which instead carry a SHA-256 of their entire
  content in the root attribute :data:`DIGEST_ATTR` (:func:`add_digest`), verified by
  :func:`open_checked`.

Reading, :func:`open_checked` refuses datasets whose declared size does not match the bytes
the file stores for them (a damaged dataspace would otherwise make ``ds[()]`` allocate the
declared size) and turns h5py's errors into :class:`~spikesim.errors.ConfigError` naming the
file. Network and result files written before these formats (variable-length string
attributes, no checksums, the earliest HDF5 format: superblock version 0) still read; only for
those can a damaged file still hang or crash libhdf5 or read back as other data, so the readers
load them in a worker process (:func:`load_isolated`): a hang becomes an error after
:data:`LEGACY_TIMEOUT_S` seconds (plus one per 20 MB), a crash an error naming the signal.
"""

from __future__ import annotations

import hashlib
import importlib
import os
import pickle
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from .errors import ConfigError, SpikesimError

__all__ = [
    "DIGEST_ATTR",
    "H5_ERRORS",
    "LEGACY_TIMEOUT_S",
    "LIBVER",
    "CORE_LIBVER",
    "add_digest",
    "check_sizes",
    "content_digest",
    "dataset_options",
    "naming_file",
    "open_checked",
    "is_legacy_format",
    "load_isolated",
    "read_text",
    "repack",
    "write_text",
    "TEXT_DIGEST_SUFFIX",
]

#: Root attribute holding the hex SHA-256 of a hardware file's content (see the module doc).
DIGEST_ATTR = "spikesim_sha256"

#: HDF5 format bounds of the hardware files (NIR, netx): HDF5 1.8 objects, whose metadata
#: (superblock, object headers, B-trees v2, heaps) carry checksums that the library verifies.
#: In the default (earliest) format a damaged object header can crash libhdf5 (a segmentation
#: fault reading an attribute), which no Python code can catch. Readable by HDF5 >= 1.8.
#: Their chunk indexes are v1 B-trees without checksums; the whole-file digest covers that.
LIBVER = ("v108", "v108")

#: HDF5 format bounds of the network and result files: HDF5 1.10 objects. Beyond the 1.8
#: checksums, their chunk indexes (fixed and extensible arrays) are checksummed too: in the
#: 1.8 format a damaged key in a chunk's v1 B-tree entry made the chunk unallocated, and it
#: read back silently as zeros (5 of 300 damaged result files). Readable by HDF5 >= 1.10.
CORE_LIBVER = ("v110", "v110")

#: What h5py (and numpy or json converting what it read) raise on damaged files.
H5_ERRORS = (OSError, KeyError, RuntimeError, TypeError, ValueError, IndexError, AttributeError)

#: Suffix of the attribute holding a text attribute's SHA-256 (:func:`write_text`).
TEXT_DIGEST_SUFFIX = "_sha256"

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


# ---------------------------------------------------------------------------- writing


def dataset_options(data: np.ndarray, *, resizable: bool = False) -> dict[str, Any]:
    """Keyword arguments of ``create_dataset`` for spikesim's network and result files:
    chunked with a Fletcher-32 checksum per chunk (gzip above 1024 values or when
    ``resizable``; ``resizable`` also makes axis 0 unlimited for appending). An empty fixed
    array stays contiguous (it stores no bytes to damage)."""
    if data.size == 0 and not resizable:
        return {}
    opts: dict[str, Any] = {"chunks": True, "fletcher32": True}
    if resizable:
        opts["maxshape"] = (None, *data.shape[1:])
    if resizable or data.size > 1024:
        opts["compression"] = "gzip"
    return opts


def write_text(obj: Any, key: str, text: str, *, digest: bool = True) -> None:
    """Store ``text`` as a fixed-length UTF-8 byte attribute ``key`` of the h5py group or
    dataset ``obj`` (never a variable-length string, whose global heap a damaged file can
    make libhdf5 loop on), with its SHA-256 in ``key + "_sha256"`` when ``digest``."""
    raw = text.encode("utf-8")
    if raw.endswith(b"\0"):  # numpy's fixed-length bytes drop trailing NULs
        raise ValueError(f"text attribute {key!r} must not end with a NUL character")
    obj.attrs[key] = np.bytes_(raw)  # b"" is stored as one NUL byte and reads back as b""
    if digest:
        obj.attrs[key + TEXT_DIGEST_SUFFIX] = np.bytes_(hashlib.sha256(raw).hexdigest().encode())


def read_text(obj: Any, key: str, *, source: str, digest: bool = True) -> str:
    """The text attribute ``key`` of ``obj`` as :func:`write_text` stored it, its SHA-256
    checked (``digest``: required beside a fixed-length text). An attribute of a file written
    before these formats (a variable-length string, no digest) reads as it is. Anything else
    is a ConfigError naming ``source``."""
    value = obj.attrs[key]
    stored = obj.attrs.get(key + TEXT_DIGEST_SUFFIX)
    if isinstance(value, str):  # variable-length string of a file written before
        if stored is not None:
            raise ConfigError(
                source, key, "a variable-length string beside a digest: the file is damaged"
            )
        return value
    if isinstance(value, (bytes, np.bytes_)):
        raw = bytes(value)
    else:
        raise ConfigError(source, key, f"expected a text attribute, found {type(value).__name__}")
    if digest and stored is None:
        raise ConfigError(
            source,
            key,
            f"a fixed-length text without its SHA-256 (attribute {key + TEXT_DIGEST_SUFFIX!r}): "
            "the file is damaged",
        )
    if stored is not None:
        digest_text = stored if isinstance(stored, str) else None
        if isinstance(stored, (bytes, np.bytes_)):
            digest_text = bytes(stored).decode("ascii", "replace")
        if digest_text is None:
            raise ConfigError(
                source, key + TEXT_DIGEST_SUFFIX, f"expected a hex digest, found {stored!r}"
            )
        actual = hashlib.sha256(raw).hexdigest()
        expected = digest_text
        if actual != expected:
            raise ConfigError(
                source,
                key,
                f"the text does not match the SHA-256 stored beside it (expected "
                f"{expected[:16]}..., found {actual[:16]}...): the file is damaged",
            )
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(source, key, f"not UTF-8 text ({exc}): the file is damaged") from None


# ------------------------------------------------------------- whole-file digest (hardware)


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
    name than a text's digest (the digest attribute's name was damaged)."""
    values = [f.attrs[k] for k in f.attrs if not str(k).endswith(TEXT_DIGEST_SUFFIX)]
    digest_like = any(
        isinstance(v, str) and len(v) == 64 and all(c in "0123456789abcdef" for c in v)
        for v in values
    )
    return digest_like or str(f.attrs.get("exporter", "")) == "spikesim"


# ---------------------------------------------------------------------------- reading


def _is_vlen(dtype: np.dtype) -> bool:
    import h5py

    return dtype.kind == "O" or h5py.check_vlen_dtype(dtype) is not None


def check_sizes(f: Any, path: str, file_size: int) -> None:
    """Refuse (ConfigError naming ``path``) a dataset of ``f`` whose declared size does not
    match what the file stores for it: contiguous ones must store exactly their declared
    bytes, chunked ones may declare at most ``1024 x file_size + 1 MiB``."""
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
                path,
                name,
                f"declares {obj.shape} {obj.dtype} ({declared} bytes) but the file stores "
                f"{stored} bytes for it: the file is damaged",
            )
        if obj.chunks is not None and declared > _MAX_EXPANSION * file_size + (1 << 20):
            raise ConfigError(
                path,
                name,
                f"declares {declared} bytes, more than {_MAX_EXPANSION}x the file's "
                f"{file_size} bytes: the file is damaged",
            )


def _check_digest(f: Any, p: str, what: str) -> None:
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
                "the file was damaged or edited (to load a file edited on purpose, delete its "
                f"root attributes {DIGEST_ATTR!r} and 'exporter' first)",
            )


#: How a reader words the failures h5py reports (see :func:`open_checked`): called with the
#: path, the failure (``"missing"``, ``"unreadable"``: no HDF5 file there; ``"damaged"``: an
#: h5py error while checking or reading it) and h5py's exception; returns the error to raise.
Refusal = Callable[[str, str, BaseException], SpikesimError]


@contextmanager
def open_checked(
    path: str | os.PathLike[str], *, what: str, refuse: Refusal | None = None
) -> Iterator[Any]:
    """Open ``path`` read-only after checking dataset sizes (:func:`check_sizes`) and the
    whole-file digest (when the file has one). ``what`` names the expected content in errors
    ("netx network file"). A missing or unreadable file, and h5py's errors inside the
    ``with`` block, raise :class:`~spikesim.errors.ConfigError` naming the file, or what
    ``refuse`` returns for them (a reader whose users get another error type for these);
    spikesim errors raised inside get the file's path in front (:func:`naming_file`)."""
    import h5py

    p = os.fspath(path)

    def fail(kind: str, err: BaseException, default: SpikesimError) -> SpikesimError:
        return default if refuse is None else refuse(p, kind, err)

    try:
        f = h5py.File(p, "r")
    except FileNotFoundError as err:
        raise fail("missing", err, ConfigError(p, "-", f"{what} not found")) from None
    except H5_ERRORS as err:
        first = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise fail(
            "unreadable", err, ConfigError(p, "-", f"not a readable HDF5 file ({what}): {first}")
        ) from None
    with f:
        try:
            check_sizes(f, p, os.path.getsize(p))
            _check_digest(f, p, what)
        except SpikesimError as err:
            raise naming_file(err, p) from None
        except H5_ERRORS as err:
            raise fail(
                "damaged",
                err,
                ConfigError(p, "-", f"not a readable {what}: {type(err).__name__}: {err}"),
            ) from None
        try:
            yield f
        except SpikesimError as err:
            raise naming_file(err, p) from None
        except H5_ERRORS as err:
            raise fail(
                "damaged",
                err,
                ConfigError(
                    p,
                    "-",
                    f"not a readable {what} (damaged or missing part): {type(err).__name__}: {err}",
                ),
            ) from None


# ------------------------------------------------- files in the format before the checksums

_SIGNATURE = b"\x89HDF\r\n\x1a\n"

#: Seconds a worker may take to read a file in the earliest HDF5 format before the read
#: counts as a hang (plus one second per 20 MB of file); such files read in milliseconds.
LEGACY_TIMEOUT_S = 30.0

#: Set in a worker's environment: its readers read in-process.
_WORKER_ENV = "SPIKESIM_HDF5_WORKER"

_WORKER = r"""
import importlib, os, pickle, sys
request = pickle.load(sys.stdin.buffer)
sys.path[:] = request["sys_path"]
from spikesim.errors import SpikesimError
module, qualname = request["target"].split(":")
fn = importlib.import_module(module)
for part in qualname.split("."):
    fn = getattr(fn, part)
try:
    answer = ("ok", fn(request["path"], **request["kwargs"]))
except SpikesimError as err:
    answer = ("spikesim", type(err).__module__, type(err).__qualname__, err.args, err.__dict__)
except Exception as err:
    answer = ("other", f"{type(err).__name__}: {err}")
sys.stdout.buffer.write(pickle.dumps(answer))
"""


def is_legacy_format(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is an HDF5 file in the earliest format (superblock version 0 or 1:
    no checksums anywhere), as spikesim wrote networks and results before 2026-11-26 and
    h5py writes by default. Reads the signature at offset 0, 512, 1024, ... (after a user
    block) and the version byte after it; False for anything else, also for unreadable paths."""
    try:
        with open(os.fspath(path), "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            offset = 0
            while offset + 9 <= size:
                fh.seek(offset)
                head = fh.read(9)
                if head[:8] == _SIGNATURE:
                    return head[8] in (0, 1)
                offset = 512 if offset == 0 else 2 * offset
    except OSError:
        return False
    return False


def in_worker() -> bool:
    """True inside :func:`load_isolated`'s worker (read in-process there)."""
    return os.environ.get(_WORKER_ENV) == "1"


def _rebuilt(module: str, qualname: str, args: tuple, state: dict) -> SpikesimError:
    """A spikesim error raised in the worker, same type, attributes and message."""
    cls: Any = importlib.import_module(module)
    for part in qualname.split("."):
        cls = getattr(cls, part)
    err = cls.__new__(cls)
    err.__dict__.update(state)
    err.args = args
    return err


def load_isolated(
    target: str,
    path: str,
    kwargs: dict[str, Any],
    *,
    what: str,
    refuse: Refusal | None = None,
) -> Any:
    """``target(path, **kwargs)`` (``"module:qualname"``, a reader) run in a fresh Python
    process, its value pickled back: for files in the earliest HDF5 format, where a damaged
    global heap (behind a variable-length string) makes libhdf5 loop forever and a damaged
    object header can make it crash, which no in-process code can stop. A spikesim error the
    reader raises is raised here as it was; no answer within :data:`LEGACY_TIMEOUT_S` (plus a
    second per 20 MB) and a worker that dies are errors naming the file (ConfigError, or what
    ``refuse`` returns for a ``"damaged"`` file). Costs ~0.5 s (a Python start)."""
    try:
        size = os.path.getsize(path)
    except OSError:
        size = 0
    timeout_s = LEGACY_TIMEOUT_S + size / 20e6
    request = {"sys_path": sys.path, "target": target, "path": path, "kwargs": kwargs}
    env = dict(os.environ, **{_WORKER_ENV: "1"})

    def fail(problem: str, err: BaseException) -> SpikesimError:
        if refuse is not None:
            return refuse(path, "damaged", err)
        return ConfigError(path, "-", f"not a readable {what}: {problem}")

    legacy = "a damaged file in the HDF5 format spikesim wrote before 2026-11-26 (no checksums)"
    try:
        done = subprocess.run(
            [sys.executable, "-c", _WORKER],
            input=pickle.dumps(request),
            capture_output=True,
            timeout=timeout_s,
            env=env,
        )
    except subprocess.TimeoutExpired:
        problem = f"libhdf5 gave no answer in {timeout_s:.0f} s reading it: {legacy}"
        raise fail(problem, TimeoutError(problem)) from None
    if done.returncode != 0 or not done.stdout:
        rc = done.returncode
        how = f"signal {signal.Signals(-rc).name}" if rc < 0 else f"exit status {rc}"
        last = done.stderr.decode("utf-8", "replace").strip().splitlines()[-1:]
        problem = f"the reading process died ({how}{': ' + last[0] if last else ''}): {legacy}"
        raise fail(problem, ChildProcessError(problem))
    try:
        answer = pickle.loads(done.stdout)
    except Exception as err:  # something in the worker wrote to its stdout
        problem = f"the reading process gave no readable answer ({type(err).__name__}: {err})"
        raise fail(problem, RuntimeError(problem)) from None
    if answer[0] == "ok":
        return answer[1]
    if answer[0] == "spikesim":
        raise _rebuilt(*answer[1:])
    raise fail(answer[1], RuntimeError(answer[1]))
