"""Lab-script parameter sweeps: an experiment is a function, a sweep runs it over a grid.

An *experiment* is a plain function of keyword parameters returning a dict of results
(numbers, strings or arrays), or a ``"package.module:function"`` reference to one (also what a
TOML config names). :func:`sweep` runs it over a grid (dict of lists: Cartesian product in a
stable order) or an explicit list of parameter dicts and gathers every result into one HDF5
file, with a tqdm progress bar.

Backends: ``"local"`` (default, no set-up): in this process when ``workers=1``, else a pool
of ``workers`` spawned processes; ``"ray"``: Ray tasks, on a local Ray instance when
``address`` is None or on the cluster at ``address`` (falls back to the process pool, with a
log message, when ray is not installed).

Checkpoints. Completed points are written every ``checkpoint_every`` completions to an atomic
chunk file in ``<out>.partial/``; with ``resume=True`` a rerun skips every point already
stored there, so an interrupted sweep (even SIGKILL) loses at most the last
``checkpoint_every`` points plus those in flight. A long experiment can also checkpoint its
own state: if its function accepts a ``checkpoint`` keyword it receives a :class:`Checkpoint`
whose ``save(state)`` writes atomically and whose ``load()`` returns the last saved state after
an interruption, so a resumed run loses at most one of its checkpoint intervals. When all
points are done the chunks are merged into ``out`` and ``<out>.partial/`` is removed. A chunk
(or ``out``) that does not read whole on resuming, damaged so that its checksums or digests
fail, is skipped with a logged warning and its points are run again; none of its values is
taken over.

HDF5 layout of ``out``: attributes ``experiment``, ``n_points``, ``complete``; group
``points/<i:06d>`` per point with attributes ``params`` (JSON), ``key`` and ``error`` (if it
failed), one attribute per string result and one dataset per numeric result; group ``table``
with one column per parameter and per scalar result (NaN where missing), for quick plotting.

Files (merged file, checkpoint chunks, :class:`Checkpoint` states) are written in the formats
of :mod:`spikesim._hdf5`: HDF5 1.10 (:data:`~spikesim._hdf5.CORE_LIBVER`, checksummed
metadata and chunk indexes); texts as fixed-length UTF-8 attributes with their SHA-256 beside
them (``<name>_sha256``, :func:`~spikesim._hdf5.write_text`), never variable-length strings;
arrays chunked with Fletcher-32 (:func:`~spikesim._hdf5.dataset_options`); a numeric scalar
as a compact dataset, its value inside the checksummed object header; string columns of the
table as fixed-length UTF-8 bytes. Reading checks all of it, so a damaged or foreign file is
a :class:`~spikesim.errors.ConfigError` naming it, not a hang or wrong values. Files written
before these formats (variable-length string attributes) still read, unchecked.
"""

from __future__ import annotations

import concurrent.futures as cf
import dataclasses
import hashlib
import importlib
import inspect
import itertools
import json
import logging
import multiprocessing
import os
import shutil
import sys
import tempfile
import traceback
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from ._hdf5 import (
    CORE_LIBVER,
    TEXT_DIGEST_SUFFIX,
    dataset_options,
    open_checked,
    read_text,
    write_text,
)
from ._validate import check_choice, check_int
from .errors import ConfigError, ParameterError, SpikesimError

__all__ = [
    "sweep",
    "expand_grid",
    "load_sweep",
    "run_config",
    "Checkpoint",
    "SweepResult",
    "SweepError",
]

log = logging.getLogger("spikesim.sweep")
_SCALARS = (int, float, bool, str, np.integer, np.floating, np.bool_)
#: Attributes of a point group that are not string results.
_RESERVED = ("params", "error", "key")
#: What the readers call the files in errors.
_WHAT = "spikesim sweep file"


class SweepError(RuntimeError):
    """One or more points of a sweep raised (with ``on_error="raise"``)."""


# ------------------------------------------------------------------------ experiments


def _resolve(fn: Callable[..., Any] | str) -> Callable[..., Any]:
    if callable(fn):
        return fn
    if not isinstance(fn, str) or ":" not in fn:
        raise ParameterError("sweep", "fn", "a callable or a 'package.module:function' string", fn)
    mod, _, name = fn.partition(":")
    try:
        obj = getattr(importlib.import_module(mod), name)
    except (ImportError, AttributeError) as exc:
        raise ParameterError("sweep", "fn", "an importable 'package.module:function'", fn) from exc
    if not callable(obj):
        raise ParameterError("sweep", "fn", "a callable", fn)
    return obj


def _fn_name(fn: Callable[..., Any] | str) -> str:
    if isinstance(fn, str):
        return fn
    return f"{getattr(fn, '__module__', '?')}:{getattr(fn, '__qualname__', repr(fn))}"


def expand_grid(
    grid_or_list: Mapping[str, Any] | Sequence[Mapping[str, Any]],
) -> list[dict[str, Any]]:
    """Parameter dicts of a grid (Cartesian product, last key fastest) or a list (as given)."""
    if isinstance(grid_or_list, Mapping):
        keys = list(grid_or_list)
        vals = []
        for k in keys:
            v = grid_or_list[k]
            if isinstance(v, (str, bytes)) or not isinstance(v, Iterable):
                v = [v]
            v = list(v)
            if not v:
                raise ParameterError("sweep", f"grid[{k!r}]", "a non-empty list of values", v)
            vals.append(v)
        points = [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*vals)]
    elif isinstance(grid_or_list, Sequence) and not isinstance(grid_or_list, (str, bytes)):
        points = []
        for i, p in enumerate(grid_or_list):
            if not isinstance(p, Mapping):
                raise ParameterError("sweep", f"points[{i}]", "a dict of parameters", p)
            points.append(dict(p))
    else:
        raise ParameterError(
            "sweep",
            "grid_or_list",
            "a dict of lists or a list of dicts",
            type(grid_or_list).__name__,
        )
    if not points:
        raise ParameterError("sweep", "grid_or_list", "at least one point", "no points")
    for i, p in enumerate(points):
        for k, v in p.items():
            if not isinstance(v, _SCALARS):
                raise ParameterError("sweep", f"points[{i}][{k!r}]", "a number, bool or string", v)
            p[k] = v.item() if isinstance(v, np.generic) else v
    return points


def _key(params: Mapping[str, Any]) -> str:
    return hashlib.sha1(json.dumps(params, sort_keys=True).encode()).hexdigest()[:16]


# ------------------------------------------------------------------------- checkpoints


class Checkpoint:
    """Atomic save/load of one experiment's state (dict of arrays, numbers, strings)."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)

    def save(self, state: Mapping[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, suffix=".tmp")
        os.close(fd)
        try:
            with h5py.File(tmp, "w", libver=CORE_LIBVER) as f:
                _write_values(f, state, where="checkpoint state")
            os.replace(tmp, self.path)
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)

    def load(self) -> dict[str, Any] | None:
        """The last saved state, or None before the first :meth:`save`. A damaged or foreign
        file is a :class:`~spikesim.errors.ConfigError` naming it."""
        if not self.path.exists():
            return None
        with open_checked(self.path, what="sweep checkpoint state") as f:
            return _read_values(f, source=str(self.path))

    def clear(self) -> None:
        self.path.unlink(missing_ok=True)


def _write_scalar(g: h5py.Group, key: str, arr: np.ndarray) -> None:
    """A 0-d numeric dataset in compact layout: its value is stored inside the dataset's
    object header, which HDF5 1.10 checksums (a scalar cannot be chunked for Fletcher-32)."""
    from h5py import h5d, h5p, h5s, h5t

    dcpl = h5p.create(h5p.DATASET_CREATE)
    dcpl.set_layout(h5d.COMPACT)
    tid = h5t.py_create(arr.dtype, logical=True)
    dsid = h5d.create(g.id, key.encode(), tid, h5s.create(h5s.SCALAR), dcpl=dcpl)
    dsid.write(h5s.ALL, h5s.ALL, np.ascontiguousarray(arr))


def _write_values(g: h5py.Group, values: Mapping[str, Any], *, where: str) -> None:
    texts = {k for k, v in values.items() if isinstance(v, str)}
    for k, v in values.items():
        if not isinstance(k, str) or not k or "/" in k:
            raise ParameterError(where, "keys", "non-empty names without '/'", k)
        if isinstance(v, str):
            base = k.removesuffix(TEXT_DIGEST_SUFFIX)
            if k in _RESERVED or (base != k and base in texts):
                raise ParameterError(
                    where,
                    f"result {k!r}",
                    f"a string result not named {', '.join(_RESERVED)} or '<other string "
                    f"result>{TEXT_DIGEST_SUFFIX}' (names the file uses)",
                    k,
                )
            if v.endswith("\0"):
                raise ParameterError(where, f"result {k!r}", "a string not ending in NUL", v)
            write_text(g, k, v)
            continue
        if hasattr(v, "detach"):  # torch tensor
            v = v.detach().cpu().numpy()
        arr = np.asarray(v)
        if arr.dtype == object or arr.dtype.kind not in "biuf":
            raise ParameterError(
                where, f"result {k!r}", "a number, bool, string or numeric array", type(v).__name__
            )
        if arr.ndim == 0:
            _write_scalar(g, k, arr)
        else:
            g.create_dataset(k, data=arr, **dataset_options(arr))


def _read_values(g: h5py.Group, *, source: str) -> dict[str, Any]:
    """Results (or a checkpoint state) stored by :func:`_write_values` in ``g``; anything
    else there (a subgroup, a non-numeric dataset, a non-text attribute) is a ConfigError
    naming ``source``. h5py's errors propagate (the caller names the file)."""
    out: dict[str, Any] = {}
    for k, ds in g.items():
        if not isinstance(ds, h5py.Dataset) or ds.dtype.kind not in "biuf":
            raise ConfigError(source, k, "expected a numeric result dataset")
        v = ds[()]
        out[k] = v.item() if isinstance(v, np.generic) else np.asarray(v)
    names = set(g.attrs)
    for k in names:
        if k in _RESERVED:
            continue
        base = k.removesuffix(TEXT_DIGEST_SUFFIX)
        if base != k and base in names:  # the digest of the text attribute `base`
            continue
        if k in out:
            raise ConfigError(source, k, "both a dataset and an attribute")
        out[k] = read_text(g, k, source=source)
    return out


# ---------------------------------------------------------------------------- workers


def _run_point(
    fn_ref: Any, params: dict[str, Any], ckpt_path: str | None
) -> tuple[dict[str, Any] | None, str | None]:
    """Worker body: run one point; returns (results, None) or (None, traceback text)."""
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:  # pragma: no cover
        pass
    try:
        fn = _resolve(fn_ref)
        kwargs = dict(params)
        if ckpt_path is not None and "checkpoint" in inspect.signature(fn).parameters:
            kwargs["checkpoint"] = Checkpoint(ckpt_path)
        res = fn(**kwargs)
        if res is None:
            res = {}
        elif not isinstance(res, Mapping):
            res = {"value": res}
        return dict(res), None
    except Exception:  # noqa: BLE001 - reported per point
        return None, traceback.format_exc()


@dataclasses.dataclass
class SweepResult:
    """Parameters and results of every point (in grid order), and the HDF5 path."""

    path: Path
    params: list[dict[str, Any]]
    results: list[dict[str, Any] | None]
    errors: list[str | None]

    def column(self, key: str) -> np.ndarray:
        """A scalar result (or parameter) for every point, NaN where missing."""
        out = np.full(len(self.params), np.nan)
        for i, (p, r) in enumerate(zip(self.params, self.results, strict=True)):
            src = r if r is not None and key in r else p
            v = src.get(key) if src is not None else None
            if isinstance(v, (int, float, np.integer, np.floating, bool)) or (
                isinstance(v, np.ndarray) and v.ndim == 0
            ):
                out[i] = float(v)
        return out


def _move_aside(path: Path) -> Path:
    """Rename ``path`` to ``<name>.damaged`` (or ``.damagedN`` if taken) and return it."""
    dest = path.with_name(path.name + ".damaged")
    k = 0
    while dest.exists():
        k += 1
        dest = path.with_name(f"{path.name}.damaged{k}")
    os.replace(path, dest)
    return dest


class _Store:
    """Chunk files under ``<out>.partial/`` plus the merged ``out``."""

    def __init__(self, out: Path, experiment: str, points: list[dict[str, Any]]) -> None:
        self.out = out
        self.partial = out.with_name(out.name + ".partial")
        self.experiment = experiment
        self.points = points
        self.keys = [_key(p) for p in points]

    def ckpt_path(self, i: int) -> str:
        return str(self.partial / "state" / f"{self.keys[i]}.h5")

    def load_done(self) -> dict[str, tuple[dict[str, Any] | None, str | None]]:
        """Points already stored in ``out`` or the checkpoint chunks, by key. A file that
        does not read whole (damaged: its checksums, SHA-256 digests or structure do not
        check out) is skipped with a warning, all of it, so its points are run again; no
        damaged value is taken over. The damaged file is kept, renamed to
        ``<name>.damaged`` (``.damaged1``, ... if taken), so the rerun overwrites nothing (a
        damaged chunk goes with ``<out>.partial/`` once the sweep completes)."""
        done: dict[str, tuple[dict[str, Any] | None, str | None]] = {}
        sources = []
        if self.out.exists():
            sources.append(self.out)
        if self.partial.is_dir():
            sources += sorted(self.partial.glob("chunk_*.h5"))
        for src in sources:
            try:
                with open_checked(src, what=_WHAT) as f:
                    found = _read_points(f, source=str(src))
            except SpikesimError as exc:
                kept = _move_aside(src)
                log.warning(
                    "ignoring unreadable or damaged checkpoint file %s (kept as %s; its points "
                    "run again): %s",
                    src,
                    kept,
                    exc,
                )
                continue
            for _, key, res, err in found:
                done[key] = (None, err) if err is not None else (res, None)
        return done

    def write_chunk(self, items: list[tuple[int, dict[str, Any] | None, str | None]]) -> None:
        if not items:
            return
        self.partial.mkdir(parents=True, exist_ok=True)
        n = len(list(self.partial.glob("chunk_*.h5")))
        fd, tmp = tempfile.mkstemp(dir=self.partial, suffix=".tmp")
        os.close(fd)
        with h5py.File(tmp, "w", libver=CORE_LIBVER) as f:
            self._write_points(f, items)
        dest = self.partial / f"chunk_{n:06d}.h5"
        while dest.exists():
            n += 1
            dest = self.partial / f"chunk_{n:06d}.h5"
        os.replace(tmp, dest)

    def _write_points(
        self, f: h5py.File, items: Iterable[tuple[int, dict[str, Any] | None, str | None]]
    ) -> None:
        pts = f.require_group("points")
        for i, res, err in items:
            g = pts.create_group(f"{i:06d}")
            write_text(g, "params", json.dumps(self.points[i], sort_keys=True))
            write_text(g, "key", self.keys[i])
            if err is not None:
                write_text(g, "error", err.rstrip("\0"))
            else:
                _write_values(g, res or {}, where=f"sweep point {i} ({self.points[i]})")

    def merge(self, done: dict[str, tuple[dict[str, Any] | None, str | None]]) -> None:
        self.out.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.out.parent, suffix=".h5.tmp")
        os.close(fd)
        items = [(i, *done[k]) for i, k in enumerate(self.keys)]
        with h5py.File(tmp, "w", libver=CORE_LIBVER) as f:
            write_text(f, "experiment", self.experiment)
            f.attrs["n_points"] = len(self.points)
            f.attrs["complete"] = all(e is None for _, _, e in items)
            self._write_points(f, items)
            table = f.create_group("table")
            names = list(dict.fromkeys(k for p in self.points for k in p))
            for k in names:
                col = [p.get(k) for p in self.points]
                texts = [v for v in col if isinstance(v, str) and not v.endswith("\0")]
                if len(texts) == len(col):  # fixed-length UTF-8 bytes (h5py reads bytes)
                    raw = [v.encode("utf-8") for v in texts]
                    n = max(1, *map(len, raw))
                    arr = np.array(raw, dtype=f"S{n}").astype(h5py.string_dtype("utf-8", n))
                    table.create_dataset(k, data=arr, **dataset_options(arr))
                elif all(isinstance(v, (int, float, bool)) for v in col):
                    arr = np.asarray(col, dtype=np.float64)
                    table.create_dataset(k, data=arr, **dataset_options(arr))
            rkeys = list(dict.fromkeys(k for _, r, _ in items if r for k in r))
            for k in rkeys:
                if k in table:
                    continue
                nums = np.full(len(items), np.nan)
                for i, r, _ in items:
                    v = None if r is None else r.get(k)
                    if isinstance(v, (int, float, bool, np.integer, np.floating)) or (
                        isinstance(v, np.ndarray) and v.ndim == 0
                    ):
                        nums[i] = float(v)
                if np.isfinite(nums).any():
                    table.create_dataset(k, data=nums, **dataset_options(nums))
        os.replace(tmp, self.out)
        shutil.rmtree(self.partial, ignore_errors=True)


# ----------------------------------------------------------------------------- sweep


def sweep(
    fn: Callable[..., Any] | str,
    grid_or_list: Mapping[str, Any] | Sequence[Mapping[str, Any]],
    *,
    backend: str = "local",
    address: str | None = None,
    out: str | os.PathLike = "results.h5",
    progress: bool = True,
    checkpoint_every: int = 1,
    resume: bool = True,
    workers: int = 1,
    on_error: str = "raise",
) -> SweepResult:
    """Run ``fn(**params)`` for every point and gather the results into ``out`` (HDF5).

    ``backend``: ``"local"`` (``workers=1``: in this process; more: spawned processes) or
    ``"ray"`` (``address=None``: a local Ray instance with ``workers`` CPUs; else the
    cluster there). ``checkpoint_every``: completed points per checkpoint chunk.
    ``resume``: skip points already stored in ``out`` or its checkpoint chunks (matched by
    their parameters); with ``resume=False`` earlier results are discarded.
    ``on_error``: ``"raise"`` (after storing the other points) or ``"record"``.
    """
    backend = check_choice("sweep", "backend", backend, ("local", "ray"))
    on_error = check_choice("sweep", "on_error", on_error, ("raise", "record"))
    checkpoint_every = check_int("sweep", "checkpoint_every", checkpoint_every, minimum=1)
    workers = check_int("sweep", "workers", workers, minimum=1)
    fn_obj = _resolve(fn)  # fail early on a bad reference
    fn_ref: Any = fn if isinstance(fn, str) else fn_obj
    points = expand_grid(grid_or_list)
    store = _Store(Path(out), _fn_name(fn), points)
    if not resume:
        shutil.rmtree(store.partial, ignore_errors=True)
        store.out.unlink(missing_ok=True)
    done = store.load_done() if resume else {}
    todo = [i for i, k in enumerate(store.keys) if k not in done or (done[k][1] is not None)]
    todo = list(dict.fromkeys(todo))
    from tqdm.auto import tqdm

    bar = tqdm(
        total=len(points),
        initial=len(points) - len(todo),
        disable=not progress,
        desc=_fn_name(fn),
        unit="pt",
    )
    pending: list[tuple[int, dict[str, Any] | None, str | None]] = []

    def finished(i: int, res: dict[str, Any] | None, err: str | None) -> None:
        done[store.keys[i]] = (res, err)
        pending.append((i, res, err))
        if len(pending) >= checkpoint_every:
            store.write_chunk(pending)
            pending.clear()
        bar.update(1)

    try:
        if backend == "ray":
            try:
                import ray  # noqa: F401
            except ImportError:
                log.info("ray is not installed: running the sweep on a local process pool")
                backend = "local"
                workers = max(workers, 2)
        if backend == "ray":
            _run_ray(fn_ref, points, todo, store, finished, address=address, workers=workers)
        elif workers == 1:
            for i in todo:
                finished(i, *_run_point(fn_ref, points[i], store.ckpt_path(i)))
        else:
            ctx = multiprocessing.get_context("spawn")
            with cf.ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as ex:
                futs = {
                    ex.submit(_run_point, fn_ref, points[i], store.ckpt_path(i)): i for i in todo
                }
                for fut in cf.as_completed(futs):
                    finished(futs[fut], *fut.result())
    finally:
        store.write_chunk(pending)
        bar.close()
    store.merge(done)
    results = [done[k][0] for k in store.keys]
    errors = [done[k][1] for k in store.keys]
    failed = [i for i, e in enumerate(errors) if e is not None]
    if failed and on_error == "raise":
        raise SweepError(
            f"{len(failed)} of {len(points)} points failed; first: point {failed[0]} {points[failed[0]]}:\n{errors[failed[0]]}"
        )
    return SweepResult(store.out, points, results, errors)


def _run_ray(
    fn_ref: Any, points, todo, store: _Store, finished, *, address: str | None, workers: int
) -> None:
    import ray

    started = False
    if not ray.is_initialized():
        if address is None:  # local instance: workers import from the driver's sys.path
            env = {"env_vars": {"PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}}
            ray.init(
                num_cpus=workers,
                include_dashboard=False,
                log_to_driver=False,
                configure_logging=False,
                runtime_env=env,
            )
        else:
            ray.init(address=address, log_to_driver=False, configure_logging=False)
        started = True
    try:
        task = ray.remote(num_cpus=1)(_run_point)
        refs = {task.remote(fn_ref, points[i], store.ckpt_path(i)): i for i in todo}
        waiting = list(refs)
        while waiting:
            ready, waiting = ray.wait(waiting, num_returns=1)
            for r in ready:
                finished(refs[r], *ray.get(r))
    finally:
        if started:
            ray.shutdown()


# ------------------------------------------------------------------------- reading back


def _read_points(
    f: h5py.File, *, source: str
) -> list[tuple[dict[str, Any], str, dict[str, Any] | None, str | None]]:
    """(params, key, results, error) of every group under ``points`` in name order; a
    missing or damaged part is a ConfigError naming ``source`` (h5py's errors propagate)."""
    if "points" not in f or not isinstance(f["points"], h5py.Group):
        raise ConfigError(source, "points", f"missing: not a {_WHAT}")
    out = []
    for name, g in sorted(f["points"].items()):
        where = f"{source}:/points/{name}"
        if not isinstance(g, h5py.Group) or not (len(name) == 6 and name.isdigit()):
            raise ConfigError(source, f"points/{name}", "expected a point group named <i:06d>")
        if "params" not in g.attrs or "key" not in g.attrs:
            raise ConfigError(source, f"points/{name}", "missing its 'params' or 'key' attribute")
        try:
            params = json.loads(read_text(g, "params", source=where))
        except json.JSONDecodeError as exc:
            raise ConfigError(where, "params", f"not valid JSON: {exc}") from None
        if not isinstance(params, dict):
            raise ConfigError(where, "params", f"expected a JSON object, found {params!r}")
        key = read_text(g, "key", source=where)
        if key != _key(params):
            raise ConfigError(where, "key", f"{key!r} does not match the parameters {params}")
        err = read_text(g, "error", source=where) if "error" in g.attrs else None
        res = None if err is not None else _read_values(g, source=where)
        out.append((params, key, res, err))
    return out


def load_sweep(path: str | os.PathLike) -> SweepResult:
    """Read a merged sweep file back (parameters, results and errors in grid order).

    The file is checked as it is read (checksums of the HDF5 1.10 metadata and of the data
    chunks, SHA-256 of the texts, declared sizes, the layout :func:`sweep` writes, every
    point present once); a missing, damaged or foreign file is a
    :class:`~spikesim.errors.ConfigError` (a ValueError) naming it."""
    path = Path(path)
    src = str(path)
    with open_checked(path, what=_WHAT) as f:
        if "n_points" not in f.attrs or "experiment" not in f.attrs:
            raise ConfigError(src, "n_points", f"missing root attribute: not a merged {_WHAT}")
        read_text(f, "experiment", source=src)
        n = f.attrs["n_points"]
        if not isinstance(n, (int, np.integer)) or n < 0:
            raise ConfigError(src, "n_points", f"expected a count, found {n!r}")
        found = _read_points(f, source=src)
        names = sorted(f["points"])
        if names != [f"{i:06d}" for i in range(int(n))]:
            raise ConfigError(
                src, "points", f"expected groups 000000..{int(n) - 1:06d}, found {len(names)}"
            )
        if "table" in f:  # not returned, but its checksums are verified: the file is whole
            f["table"].visititems(lambda _, o: o[()] if isinstance(o, h5py.Dataset) else None)
    params = [p for p, _, _, _ in found]
    results = [r for _, _, r, _ in found]
    errors = [e for _, _, _, e in found]
    return SweepResult(path, params, results, errors)


# ------------------------------------------------------------------------------ configs


_CONFIG_OPTIONS = {
    "backend",
    "address",
    "out",
    "progress",
    "checkpoint_every",
    "resume",
    "workers",
    "on_error",
}


def run_config(path: str | os.PathLike, **overrides: Any) -> SweepResult:
    """Run a sweep described by a TOML file::

        experiment = "spikesim.models.replay.experiments:consolidation_point"
        [grid]            # or [[points]] tables
        seed = [0, 1, 2]
        n_replays = [0, 50]
        [fixed]           # parameters added to every point (optional)
        n_cells = 40
        [options]         # keyword options of sweep() (optional)
        out = "consolidation.h5"
        workers = 2

    A relative ``out`` is taken relative to the config file. ``overrides`` replace options.
    """
    import tomllib

    path = Path(path)
    src = str(path)
    try:
        cfg = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(src, "<file>", f"cannot read TOML: {exc}") from exc
    unknown = sorted(set(cfg) - {"experiment", "grid", "points", "fixed", "options"})
    if unknown:
        raise ConfigError(
            src, unknown[0], "unknown key; known: experiment, grid, points, fixed, options"
        )
    if "experiment" not in cfg:
        raise ConfigError(src, "experiment", "missing ('package.module:function')")
    if ("grid" in cfg) == ("points" in cfg):
        raise ConfigError(src, "grid", "give exactly one of [grid] or [[points]]")
    fixed = dict(cfg.get("fixed", {}))
    if "grid" in cfg:
        points = [{**fixed, **p} for p in expand_grid(cfg["grid"])]
    else:
        points = [{**fixed, **p} for p in expand_grid(cfg["points"])]
    opts = dict(cfg.get("options", {}))
    bad = sorted(set(opts) - _CONFIG_OPTIONS)
    if bad:
        raise ConfigError(
            src, f"options.{bad[0]}", f"unknown option; known: {', '.join(sorted(_CONFIG_OPTIONS))}"
        )
    opts.update(overrides)
    out = Path(opts.pop("out", path.with_suffix(".h5").name))
    if not out.is_absolute():
        out = path.parent / out
    return sweep(cfg["experiment"], points, out=out, **opts)
