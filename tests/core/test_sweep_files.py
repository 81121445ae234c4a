"""Sweep HDF5 files (merged file, checkpoint chunks, Checkpoint states) against damage.

The files are written in the formats of :mod:`spikesim._hdf5` (HDF5 1.10, fixed-length
UTF-8 texts with their SHA-256, Fletcher-32 data chunks, compact scalars), so a damaged
file is noticed: :func:`~spikesim.sweep.load_sweep` and :meth:`Checkpoint.load` raise a
:class:`~spikesim.errors.ConfigError` (a ValueError) naming it, and a resumed sweep skips a
damaged checkpoint chunk and runs its points again.

(a) Hypothesis fuzz, deterministic (``derandomize``) and bounded (300 files): 1-4 bytes
XORed at uniformly drawn positions of a merged sweep file. Each damaged file must load to
exactly what the undamaged one loads or raise a named typed error; another exception, a
warning, other data, a hang (no answer from the worker subprocess in :data:`HANG_S` s) or a
crash of the worker fails. (b) Explicit cases: truncated file, missing ``points`` group, an
edited ``params`` text, a foreign HDF5 file, the layout written before the format change
(variable-length strings) still reads and resumes, resume skips a damaged chunk, damaged
Checkpoint state, no variable-length strings in new files.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from load_worker import Loader

from spikesim.errors import ConfigError
from spikesim.sweep import Checkpoint, load_sweep, sweep

FUZZ = settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

#: Seconds a load may take in the worker before it counts as a hang (loads take ~5 ms).
HANG_S = 30.0

GRID = {"a": [1, 2, 3], "b": [0.5, 1.0], "mode": ["x", "yé"]}

CALLS: list[tuple[int, float, str]] = []


class _Stop(BaseException):
    """Interrupts a sweep from inside an experiment (not caught as a point's failure)."""


STOP_AT: list[tuple[int, float, str]] = []


def experiment(*, a: int, b: float, mode: str) -> dict[str, Any]:
    """Numbers, an array and a string per point; (a=3, mode='yé') fails."""
    if (a, b, mode) in STOP_AT:
        raise _Stop
    CALLS.append((a, b, mode))
    if a == 3 and mode == "yé":
        raise RuntimeError("bad point")
    rng = np.random.default_rng([a, int(b * 10)])
    return {
        "y": a * a + b,
        "n": 7 * a,
        "ok": a % 2 == 0,
        "trace": rng.normal(size=20) * a,
        "tag": f"{mode}{a}",
    }


_LOAD = """
from spikesim.sweep import load_sweep

def load(request):
    r = load_sweep(request.split(" ", 1)[1])
    return [r.params, r.results, r.errors]
"""


@pytest.fixture(scope="module")
def loader() -> Iterator[Loader]:
    worker = Loader(_LOAD, hang_s=HANG_S)
    yield worker
    worker.close()


@pytest.fixture(scope="module")
def merged(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sweep_files") / "merged.h5"
    res = sweep(experiment, GRID, out=out, progress=False, on_error="record")
    assert sum(e is not None for e in res.errors) == 2 and res.results[0] is not None
    return out


@pytest.fixture(scope="module")
def reference(merged: Path, loader: Loader) -> str:
    got = loader.load(f"sweep {merged}")
    assert got.startswith("ok "), got
    return got


def _damaged(src: Path, dst: Path, *, seed: int, n_flips: int) -> list[tuple[int, int]]:
    data = bytearray(src.read_bytes())
    rng = np.random.default_rng(seed)
    flips = [(int(rng.integers(len(data))), int(rng.integers(1, 256))) for _ in range(n_flips)]
    for pos, xor in flips:
        data[pos] ^= xor
    dst.write_bytes(bytes(data))
    return flips


# ------------------------------------------------------------------------------- fuzz


def test_damaged_sweep_file_loads_unchanged_or_raises_a_named_typed_error(
    merged: Path, loader: Loader, reference: str
) -> None:
    dst = merged.with_name("damaged.h5")

    @FUZZ
    @given(seed=st.integers(0, 2**32 - 1), n_flips=st.integers(1, 4))
    def run(seed: int, n_flips: int) -> None:
        flips = _damaged(merged, dst, seed=seed, n_flips=n_flips)
        got = loader.load(f"sweep {dst}")
        assert got == reference or got.startswith("typed named ConfigError"), (flips, got)

    run()


def test_truncated_sweep_file_is_a_named_typed_error(merged: Path, loader: Loader) -> None:
    data = merged.read_bytes()
    dst = merged.with_name("truncated.h5")
    for cut in (0, 8, 100, len(data) // 4, len(data) // 2, len(data) - 200, len(data) - 1):
        dst.write_bytes(data[:cut])
        got = loader.load(f"sweep {dst}")
        assert got.startswith("typed named ConfigError"), f"cut at {cut} of {len(data)}: {got}"


# ------------------------------------------------------------------------ explicit cases


def _copy(src: Path, dst: Path) -> Path:
    dst.write_bytes(src.read_bytes())
    return dst


def test_merged_file_reads_back_exactly(merged: Path) -> None:
    back = load_sweep(merged)
    assert [p["mode"] for p in back.params] == ["x", "yé"] * 6
    assert back.results[0] is not None and back.results[0]["tag"] == "x1"
    assert back.results[0]["n"] == 7 and back.results[0]["ok"] is False
    assert back.results[0]["y"] == 1.5 and isinstance(back.results[0]["n"], int)
    rng = np.random.default_rng([1, 5])
    assert np.array_equal(back.results[0]["trace"], rng.normal(size=20))
    assert back.errors[9] is not None and "bad point" in back.errors[9]
    with h5py.File(merged, "r") as f:  # the table's string column: fixed-length UTF-8 bytes
        assert h5py.check_string_dtype(f["table/mode"].dtype).encoding == "utf-8"
        assert [v.decode("utf-8") for v in f["table/mode"][()]] == ["x", "yé"] * 6
        assert np.allclose(f["table/y"][()], back.column("y"), equal_nan=True)


def _files_have_no_vlen_strings(path: Path) -> int:
    """Asserts the HDF5 1.10 format, no variable-length strings, Fletcher-32 on arrays;
    returns the number of checked arrays."""
    assert path.read_bytes()[8] == 3  # superblock version 3: the HDF5 1.10 format
    n_arrays = 0
    with h5py.File(path, "r") as f:
        objs: list[tuple[str, Any]] = [("/", f)]
        f.visititems(lambda name, obj: objs.append((name, obj)))
        for name, obj in objs:
            for key in obj.attrs:
                dtype = obj.attrs.get_id(key).dtype
                assert h5py.check_vlen_dtype(dtype) is None and dtype.kind != "O", (name, key)
            if isinstance(obj, h5py.Dataset):
                assert h5py.check_vlen_dtype(obj.dtype) is None and obj.dtype.kind != "O"
                if obj.ndim:
                    n_arrays += 1
                    assert obj.fletcher32, (path, name)
                else:  # a scalar: compact, inside the checksummed object header
                    assert obj.id.get_create_plist().get_layout() == h5py.h5d.COMPACT
    return n_arrays


def test_new_files_have_no_variable_length_strings(merged: Path, tmp_path: Path) -> None:
    assert _files_have_no_vlen_strings(merged) >= 10  # 10 traces + table columns
    ck = Checkpoint(tmp_path / "state.h5")
    ck.save({"w": np.eye(3), "k": 3, "name": "walk"})
    assert _files_have_no_vlen_strings(ck.path) == 1


def test_missing_points_group_and_foreign_file(merged: Path, tmp_path: Path) -> None:
    path = _copy(merged, tmp_path / "no_points.h5")
    with h5py.File(path, "a") as f:
        del f["points"]
    with pytest.raises(ConfigError, match=rf"{path}.*'points'.*missing"):
        load_sweep(path)
    path = _copy(merged, tmp_path / "one_missing.h5")
    with h5py.File(path, "a") as f:
        del f["points/000004"]
    with pytest.raises(ConfigError, match=rf"{path}.*expected groups 000000..000011, found 11"):
        load_sweep(path)
    foreign = tmp_path / "foreign.h5"
    with h5py.File(foreign, "w") as f:
        f.create_dataset("x", data=np.arange(3))
    with pytest.raises(ConfigError, match=rf"{foreign}.*not a merged spikesim sweep file"):
        load_sweep(foreign)
    with pytest.raises(ConfigError, match=rf"{tmp_path / 'none.h5'}.*not found"):
        load_sweep(tmp_path / "none.h5")


def test_edited_params_text_is_refused(merged: Path, tmp_path: Path) -> None:
    path = _copy(merged, tmp_path / "edited.h5")
    with h5py.File(path, "a") as f:
        g = f["points/000002"]
        params = json.loads(bytes(g.attrs["params"]))
        params["b"] = 2.0
        g.attrs["params"] = np.bytes_(json.dumps(params, sort_keys=True).encode())
    with pytest.raises(ConfigError, match=rf"{path}:/points/000002.*params.*SHA-256"):
        load_sweep(path)


def _write_old_layout(path: Path, points: list[dict[str, Any]]) -> None:
    """A merged file as sweep() wrote it before the format change: earliest HDF5 format,
    variable-length string attributes and table column, contiguous datasets."""
    from spikesim.sweep import _key

    with h5py.File(path, "w") as f:
        f.attrs["experiment"] = "tests:experiment"
        f.attrs["n_points"] = len(points)
        f.attrs["complete"] = False
        pts = f.create_group("points")
        for i, p in enumerate(points):
            g = pts.create_group(f"{i:06d}")
            g.attrs["params"] = json.dumps(p, sort_keys=True)
            g.attrs["key"] = _key(p)
            if p["a"] == 3 and p["mode"] == "yé":
                g.attrs["error"] = "RuntimeError: bad point"
                continue
            for k, v in experiment(**p).items():
                if isinstance(v, str):
                    g.attrs[k] = v
                else:
                    g.create_dataset(k, data=np.asarray(v))
        table = f.create_group("table")
        table.create_dataset(
            "mode", data=np.array([p["mode"] for p in points], dtype=h5py.string_dtype())
        )


def test_old_format_file_still_reads_and_resumes(merged: Path, tmp_path: Path) -> None:
    new = load_sweep(merged)
    old = tmp_path / "old.h5"
    _write_old_layout(old, new.params)
    with h5py.File(old, "r") as f:
        assert isinstance(f["points/000000"].attrs["tag"], str)  # variable-length string
    back = load_sweep(old)
    assert back.params == new.params and back.errors[9] == "RuntimeError: bad point"
    for r_old, r_new in zip(back.results, new.results, strict=True):
        assert (r_old is None) == (r_new is None)
        if r_old is not None and r_new is not None:
            assert r_old.keys() == r_new.keys() and r_old["tag"] == r_new["tag"]
            assert all(np.array_equal(r_old[k], r_new[k]) for k in r_old)
    CALLS.clear()  # resuming over the old file reruns only the failed points
    res = sweep(experiment, GRID, out=old, progress=False, on_error="record")
    assert CALLS == [(3, 0.5, "yé"), (3, 1.0, "yé")]
    assert np.array_equal(res.column("y"), new.column("y"), equal_nan=True)
    _files_have_no_vlen_strings(old)  # rewritten in the new format


def test_resume_skips_a_damaged_chunk_and_reruns_its_points(
    merged: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    out = tmp_path / "r.h5"
    STOP_AT[:] = [(2, 0.5, "yé")]  # interrupted at point 5
    CALLS.clear()
    try:
        with pytest.raises(_Stop):
            sweep(experiment, GRID, out=out, progress=False, checkpoint_every=2)
    finally:
        STOP_AT.clear()
    chunks = sorted((tmp_path / "r.h5.partial").glob("chunk_*.h5"))
    assert len(chunks) == 3 and len(CALLS) == 5  # points 0-1, 2-3 and 4
    _files_have_no_vlen_strings(chunks[1])
    # chunk 1 (points 2, 3): one byte of a stored params text changed
    data = bytearray(chunks[1].read_bytes())
    pos = data.find(b'"b": 1.0')
    assert pos > 0
    data[pos + 5] ^= 0x01  # 1.0 -> 0.0
    chunks[1].write_bytes(bytes(data))
    # chunk 2 (point 4): truncated
    chunks[2].write_bytes(chunks[2].read_bytes()[:300])
    CALLS.clear()
    with caplog.at_level(logging.WARNING, logger="spikesim.sweep"):
        res = sweep(experiment, GRID, out=out, progress=False, on_error="record")
    warned = [r.getMessage() for r in caplog.records if "ignoring" in r.getMessage()]
    assert len(warned) == 2 and str(chunks[1]) in warned[0] and str(chunks[2]) in warned[1]
    assert "checksum" in warned[0]
    assert CALLS[:3] == [(1, 1.0, "x"), (1, 1.0, "yé"), (2, 0.5, "x")]  # 2, 3 and 4 again
    assert len(CALLS) == 12 - 2  # points 0, 1 kept from chunk 0
    assert np.array_equal(res.column("y"), load_sweep(merged).column("y"), equal_nan=True)


def test_resume_over_a_damaged_merged_file_keeps_it_aside(
    merged: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A damaged ``out`` found on resume is renamed to ``<out>.damaged``, not overwritten; all
    its points run again and the new ``out`` equals the undamaged sweep."""
    out = tmp_path / "m.h5"
    data = bytearray(merged.read_bytes())
    pos = data.find(b'"b": 1.0')
    assert pos > 0
    data[pos + 5] ^= 0x01
    out.write_bytes(bytes(data))
    CALLS.clear()
    with caplog.at_level(logging.WARNING, logger="spikesim.sweep"):
        res = sweep(experiment, GRID, out=out, progress=False, on_error="record")
    kept = tmp_path / "m.h5.damaged"
    assert kept.read_bytes() == bytes(data)
    assert any(str(kept) in r.getMessage() for r in caplog.records)
    assert len(CALLS) == 12
    assert np.array_equal(res.column("y"), load_sweep(merged).column("y"), equal_nan=True)
    out.write_bytes(bytes(data))  # a second damaged file does not replace the first one kept
    sweep(experiment, GRID, out=out, progress=False, on_error="record")
    assert (tmp_path / "m.h5.damaged1").read_bytes() == kept.read_bytes() == bytes(data)


def test_checkpoint_state_damaged_edited_or_old(tmp_path: Path) -> None:
    ck = Checkpoint(tmp_path / "state.h5")
    ck.save({"w": np.arange(100.0), "k": 3, "name": "walk"})
    good = ck.path.read_bytes()
    st_ = ck.load()
    assert st_ is not None and st_["k"] == 3 and st_["name"] == "walk"
    data = bytearray(good)
    data[data.find(b"walk")] ^= 0x20  # "walk" -> "Walk": in a checksummed object header
    ck.path.write_bytes(bytes(data))
    with pytest.raises(ConfigError, match=rf"{ck.path}.*incorrect metadata checksum"):
        ck.load()
    data = bytearray(good)
    pos = data.find(np.arange(100.0)[50:].tobytes())
    data[pos + 3] ^= 0x10  # a value of w: in a Fletcher-32 checksummed chunk
    ck.path.write_bytes(bytes(data))
    with pytest.raises(ConfigError, match=rf"{ck.path}.*filter returned failure"):
        ck.load()
    ck.path.write_bytes(good)
    with h5py.File(ck.path, "a") as f:  # edited with h5py: the SHA-256 beside it differs
        f.attrs["name"] = np.bytes_(b"Walk")
    with pytest.raises(ConfigError, match=rf"{ck.path}.*'name'.*SHA-256"):
        ck.load()
    ck.path.write_bytes(good[: len(good) // 2])
    with pytest.raises(ConfigError, match=rf"{ck.path}.*not a readable HDF5 file"):
        ck.load()
    with h5py.File(ck.path, "w") as f:  # a state saved before the format change
        f.attrs["name"] = "walk"
        f.create_dataset("k", data=3)
    assert ck.load() == {"name": "walk", "k": 3}
