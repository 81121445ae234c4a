"""Damaged network and result HDF5 files: the original data or a typed error naming the file.

Seeds are written once per module by the project's own writers: ``Network.to_hdf5`` of a
frozen network (its synapses stored as datasets) and ``Simulator.run(out=...)`` streaming a
result in several chunks (spike, state and rate monitors).

(a) Hypothesis fuzz, deterministic (``derandomize``) and bounded: 1-8 bytes XORed at
positions drawn uniformly from a seed that hypothesis chooses (800 files of each kind). A
damaged file must load to exactly what the undamaged one loads (the bytes hit were unused)
or raise a :class:`~spikesim.errors.SpikesimError` (a ValueError) whose message names the
file; any other exception or a warning fails, and so does data that differs from the
original. The files are checksummed throughout (HDF5 1.10 metadata and chunk indexes,
Fletcher-32 data chunks, SHA-256 beside the JSON texts; :mod:`spikesim._hdf5`), so no damage
should go unnoticed. A hang inside libhdf5 cannot be caught in-process (a damaged global heap
behind a variable-length string made it loop forever before the format change), so damaged
files are loaded in a worker subprocess: no answer within :data:`HANG_S` seconds fails the
test as a hang, and a worker that dies fails it as a crash.

(b) Explicit cases: truncated files (also through the worker), a missing dataset, a JSON
text that no longer matches its SHA-256, a description over 64 KiB (dense attribute storage,
which HDF5 does not checksum) round-trips and is refused once a byte of it is changed, no
variable-length strings in new files, and files in the layout written before the format
change (variable-length string attributes, earliest HDF5 format) still read.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest
from click.testing import CliRunner
from hdf5_damage import damage_first_heap_object
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from load_worker import Loader

import spikesim as ss
from spikesim._hdf5 import CORE_LIBVER
from spikesim.errors import ConfigError, ParameterError
from spikesim.network import _extract_arrays

FUZZ = settings(
    max_examples=800,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

#: Seconds a load may take in the worker before it counts as a hang (loads take ~10 ms).
HANG_S = 30.0

_LOAD = """
import spikesim as ss

def load(request):
    kind, p = request.split(" ", 1)
    if kind == "network":
        return ss.Network.from_hdf5(p).to_dict()
    r = ss.Result.from_hdf5(p)
    return {
        "network": r.network, "run": r.run, "provenance": r.provenance,
        "spikes": {k: [v.population, v.size, v.step, v.batch, v.index] for k, v in r.spikes.items()},
        "states": {k: [v.population, v.steps, v.indices, v.values] for k, v in r.states.items()},
        "rates": {k: [v.population, v.bin_s, v.rate_hz] for k, v in r.rates.items()},
    }
"""


@pytest.fixture(scope="module")
def loader() -> Iterator[Loader]:
    worker = Loader(_LOAD, hang_s=HANG_S)
    yield worker
    worker.close()


def _net() -> ss.Network:
    net = ss.Network(dt_s=1e-4, name="fuzz")
    net.add_poisson("in", 40, rate_hz=ss.Uniform(200.0, 400.0))
    net.add_population(
        "n", 30, ss.LIF(tau_mem_s=10e-3, tau_syn_exc_s=2e-3, v_init_mV=ss.Uniform(-65.0, -55.0))
    )
    net.add_projection("p", "in", "n", ss.FixedFanIn(k=10, weight=ss.Normal(12.0, 2.0)))
    net.monitor_spikes("n")
    net.monitor_state("n", ["v", "i_exc"], indices=[0, 3], every_steps=5)
    net.monitor_rate("n", bin_s=1e-3)
    return net


def _big_net(n_populations: int = 300) -> ss.Network:
    """A network whose description JSON is ~90 KiB (more than an attribute's 64 KiB)."""
    net = ss.Network(dt_s=1e-4, name="big")
    for i in range(n_populations):
        net.add_population(
            f"population_with_a_long_name_{i:04d}", 2, ss.LIF(tau_mem_s=10e-3 + i * 1e-6)
        )
    net.monitor_spikes("population_with_a_long_name_0000")
    return net


@pytest.fixture(scope="module")
def seeds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("hdf5_seeds")
    _net().frozen(seed=1).to_hdf5(d / "net.h5")
    res = ss.Simulator(_net(), seed=4, batch_size=2).run(0.03, out=d / "result.h5", chunk_steps=37)
    assert res.spikes["n_spikes"].count() > 100  # a typical file: data in every chunk
    return {"network": d / "net.h5", "result": d / "result.h5"}


@pytest.fixture(scope="module")
def reference(seeds: dict[str, Path], loader: Loader) -> dict[str, str]:
    out = {kind: loader.load(f"{kind} {path}") for kind, path in seeds.items()}
    assert all(v.startswith("ok ") for v in out.values()), out
    return out


def _check(kind: str, path: Path, loader: Loader, reference: dict[str, str], what: str) -> None:
    got = loader.load(f"{kind} {path}")
    assert got == reference[kind] or got.startswith("typed named"), f"{what}: {got}"


# ------------------------------------------------------------------------------- fuzz


def _damaged(src: Path, dst: Path, *, seed: int, n_flips: int) -> list[tuple[int, int]]:
    """Copy ``src`` to ``dst`` with ``n_flips`` bytes XORed at uniformly drawn positions
    (uniform so that the data chunks and chunk indexes are hit as often as the headers);
    returns the (position, xor) pairs."""
    data = bytearray(src.read_bytes())
    rng = np.random.default_rng(seed)
    flips = [(int(rng.integers(len(data))), int(rng.integers(1, 256))) for _ in range(n_flips)]
    for pos, xor in flips:
        data[pos] ^= xor
    dst.write_bytes(bytes(data))
    return flips


@pytest.mark.parametrize("kind", ["network", "result"])
def test_damaged_file_loads_unchanged_or_raises_a_named_typed_error(
    kind: str, seeds: dict[str, Path], loader: Loader, reference: dict[str, str]
) -> None:
    src = seeds[kind]
    dst = src.with_name(f"damaged_{kind}.h5")

    @FUZZ
    @given(seed=st.integers(0, 2**32 - 1), n_flips=st.integers(1, 8))
    def run(seed: int, n_flips: int) -> None:
        flips = _damaged(src, dst, seed=seed, n_flips=n_flips)
        _check(kind, dst, loader, reference, f"{kind} file with (byte, xor) {flips}")

    run()


@pytest.mark.parametrize("kind", ["network", "result"])
def test_truncated_file_is_a_named_typed_error(
    kind: str, seeds: dict[str, Path], loader: Loader, reference: dict[str, str]
) -> None:
    data = seeds[kind].read_bytes()
    dst = seeds[kind].with_name(f"truncated_{kind}.h5")
    for cut in (0, 8, 100, len(data) // 4, len(data) // 2, len(data) - 200, len(data) - 1):
        dst.write_bytes(data[:cut])
        got = loader.load(f"{kind} {dst}")
        assert got.startswith("typed named"), f"{kind} cut at {cut} of {len(data)}: {got}"


# ------------------------------------------------------------------------ explicit cases


def _copy(src: Path, dst: Path) -> Path:
    dst.write_bytes(src.read_bytes())
    return dst


def test_missing_dataset(seeds: dict[str, Path], tmp_path: Path) -> None:
    net = _copy(seeds["network"], tmp_path / "no_array.h5")
    with h5py.File(net, "a") as f:
        first = sorted(f["network/arrays"])[0]
        del f[f"network/arrays/{first}"]
    with pytest.raises(ConfigError, match=rf"{net}.*arrays/{first}.*missing dataset"):
        ss.Network.from_hdf5(net)
    res = _copy(seeds["result"], tmp_path / "no_index.h5")
    with h5py.File(res, "a") as f:
        del f["spikes/n_spikes/index"]
    with pytest.raises(ParameterError, match=rf"{res}.*missing or unreadable part.*index"):
        ss.Result.from_hdf5(res)
    with h5py.File(res, "a") as f:
        del f["network"]
    with pytest.raises(ParameterError, match=rf"{res}.*network"):
        ss.Result.from_hdf5(res)


def test_json_text_that_does_not_match_its_digest(seeds: dict[str, Path], tmp_path: Path) -> None:
    res = _copy(seeds["result"], tmp_path / "edited.h5")
    with h5py.File(res, "a") as f:
        run = json.loads(bytes(f.attrs["run_json"]))
        run["seed"] = 5
        f.attrs["run_json"] = np.bytes_(json.dumps(run).encode())
    with pytest.raises(ConfigError, match=rf"{res}.*run_json.*does not match the SHA-256"):
        ss.Result.from_hdf5(res)
    with h5py.File(res, "a") as f:
        del f.attrs["run_json_sha256"]
    with pytest.raises(ConfigError, match=rf"{res}.*run_json.*without its SHA-256"):
        ss.Result.from_hdf5(res)


def test_description_over_64_kib_round_trips_and_is_checked(tmp_path: Path) -> None:
    net = _big_net()
    text = json.dumps(net.to_dict())
    assert len(text) > 64 * 1024
    path = tmp_path / "big.h5"
    net.to_hdf5(path)
    assert ss.Network.from_hdf5(path).to_dict() == net.to_dict()
    out = tmp_path / "big_result.h5"
    res = ss.Simulator(net, seed=0).run(0.001, out=out)
    back = ss.Result.from_hdf5(out)
    assert back.network == res.network and ss.Network.from_hdf5(out).to_dict() == net.to_dict()
    # HDF5 keeps such an attribute in dense storage without a checksum: the SHA-256 beside it
    # is what notices a changed digit
    data = bytearray(path.read_bytes())
    pos = data.find(b'"population_with_a_long_name_0150"')
    assert pos > 0
    data[pos + 33] ^= 0x01  # "...0150" -> "...0151"
    path.write_bytes(bytes(data))
    with pytest.raises(ConfigError, match=rf"{path}.*description_json.*does not match the SHA-256"):
        ss.Network.from_hdf5(path)


def _attrs_and_datasets(path: Path) -> Iterator[tuple[str, Any, np.dtype]]:
    with h5py.File(path, "r") as f:
        objs: list[tuple[str, Any]] = [("/", f)]
        f.visititems(lambda name, obj: objs.append((name, obj)))
        for name, obj in objs:
            for key in obj.attrs:
                yield f"{name}@{key}", obj, obj.attrs.get_id(key).dtype
            if isinstance(obj, h5py.Dataset):
                yield name, obj, obj.dtype


def test_new_files_have_no_variable_length_strings_and_checksummed_data(
    seeds: dict[str, Path],
) -> None:
    for path in seeds.values():
        assert CORE_LIBVER == ("v110", "v110")
        assert path.read_bytes()[8] == 3  # superblock version 3: the HDF5 1.10 format
        n_datasets = 0
        for name, obj, dtype in _attrs_and_datasets(path):
            assert h5py.check_vlen_dtype(dtype) is None and dtype.kind != "O", (path, name)
            if isinstance(obj, h5py.Dataset) and "@" not in name and obj.size:
                n_datasets += 1
                assert obj.fletcher32, (path, name)
        assert n_datasets >= 3


def _write_old_network_group(f: Any, net: ss.Network) -> None:
    """The layout Network.to_hdf5 wrote before the format change."""
    g = f.create_group("network")
    arrays: dict[str, np.ndarray] = {}
    g.attrs["description_json"] = json.dumps(_extract_arrays(net.to_dict(), arrays, "a"))
    g.attrs["format_version"] = 1
    ag = g.create_group("arrays")
    for key, arr in arrays.items():
        ag.create_dataset(key, data=arr, compression="gzip" if arr.size > 1024 else None)


def test_files_written_before_the_format_change_still_read(tmp_path: Path) -> None:
    net = _net().frozen(seed=1)
    old_net = tmp_path / "old_net.h5"
    with h5py.File(old_net, "w") as f:  # earliest HDF5 format, variable-length strings
        _write_old_network_group(f, net)
    with h5py.File(old_net, "r") as f:
        assert h5py.check_string_dtype(f["network"].attrs.get_id("description_json").dtype)
        assert isinstance(f["network"].attrs["description_json"], str)
    assert ss.Network.from_hdf5(old_net).to_dict() == net.to_dict()

    res = ss.Simulator(_net(), seed=4, batch_size=2).run(0.01)
    old_res = tmp_path / "old_result.h5"
    with h5py.File(old_res, "w") as f:
        _write_old_network_group(f, ss.Network.from_dict(res.network))
        f.attrs["run_json"] = json.dumps(res.run)
        f.attrs["provenance_json"] = json.dumps(res.provenance)
        f.attrs["complete"] = True
        for name, s in res.spikes.items():
            g = f.create_group(f"spikes/{name}")
            g.attrs["population"], g.attrs["size"] = s.population, s.size
            for key in ("step", "batch", "index"):
                g.create_dataset(key, data=getattr(s, key), maxshape=(None,), chunks=True)
        for name, st_ in res.states.items():
            g = f.create_group(f"states/{name}")
            g.attrs["population"] = st_.population
            g.create_dataset("indices", data=st_.indices)
            g.create_dataset("steps", data=st_.steps, maxshape=(None,), chunks=True)
            for var, arr in st_.values.items():
                g.create_dataset(f"values/{var}", data=arr, maxshape=(None, *arr.shape[1:]))
        for name, r in res.rates.items():
            g = f.create_group(f"rates/{name}")
            g.attrs["population"], g.attrs["bin_s"] = r.population, r.bin_s
            g.create_dataset("rate_hz", data=r.rate_hz, maxshape=(None, r.rate_hz.shape[1]))
    back = ss.Result.from_hdf5(old_res)
    assert back.run == res.run and back.network == res.network
    assert back.spikes["n_spikes"].population == "n" and back.states["n_state"].population == "n"
    for name, s in res.spikes.items():
        for key in ("step", "batch", "index"):
            assert np.array_equal(getattr(back.spikes[name], key), getattr(s, key))
    for name, st_ in res.states.items():
        for var, arr in st_.values.items():
            assert np.array_equal(back.states[name].values[var], arr)
    for name, r in res.rates.items():
        assert np.array_equal(back.rates[name].rate_hz, r.rate_hz)
        assert back.rates[name].bin_s == r.bin_s
    assert ss.Network.from_hdf5(old_res).to_dict() == ss.Network.from_dict(res.network).to_dict()


def _old_files(tmp_path: Path) -> tuple[Path, Path]:
    """A network file and a result file in the layout written before the format change."""
    net = _net().frozen(seed=1)
    old_net = tmp_path / "old_net.h5"
    with h5py.File(old_net, "w") as f:
        _write_old_network_group(f, net)
    res = ss.Simulator(_net(), seed=4).run(0.002)
    old_res = tmp_path / "old_result.h5"
    with h5py.File(old_res, "w") as f:  # the description first: the first heap object
        _write_old_network_group(f, ss.Network.from_dict(res.network))
        f.attrs["run_json"] = json.dumps(res.run)
        f.attrs["provenance_json"] = json.dumps(res.provenance)
        f.attrs["complete"] = True
    return old_net, old_res


def test_old_format_files_that_hang_libhdf5_are_errors_after_the_timeout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Files in the earliest HDF5 format are read in a worker process (spikesim._hdf5.
    load_isolated): a damaged global heap that makes libhdf5 loop is an error naming the file
    after LEGACY_TIMEOUT_S (set to 1 s here), ConfigError for networks, ParameterError for
    results (as their other file problems), and the CLI exits 1 with the message."""
    import spikesim._hdf5 as h5
    from spikesim.cli import cli

    monkeypatch.setattr(h5, "LEGACY_TIMEOUT_S", 1.0)
    old_net, old_res = _old_files(tmp_path)
    assert h5.is_legacy_format(old_net) and h5.is_legacy_format(old_res)
    assert not h5.is_legacy_format(tmp_path / "missing.h5")
    for path in (old_net, old_res):
        damage_first_heap_object(path)
    with pytest.raises(ConfigError, match=rf"{old_net}.*no answer in 1 s.*before 2026-11-26"):
        ss.Network.from_hdf5(old_net)
    with pytest.raises(ParameterError, match=rf"{old_res}: file must be .*no answer in 1 s"):
        ss.Result.from_hdf5(old_res)
    r = CliRunner().invoke(cli, ["info", str(old_net)])
    assert r.exit_code == 1 and "no answer in 1 s" in r.output, r.output


def test_old_format_reader_crash_and_errors_come_back_from_the_worker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker that dies (here: a reader that raises SIGSEGV on purpose) is an error naming
    the signal; a spikesim error raised in the worker comes back with its type and fields."""
    import spikesim._hdf5 as h5

    old_net, _ = _old_files(tmp_path)
    (tmp_path / "crashing_reader.py").write_text(
        "import faulthandler\n\n\ndef read(path):\n    faulthandler._sigsegv()\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))  # the worker gets this process's sys.path
    with pytest.raises(ConfigError, match=rf"{old_net}.*died \(signal SIGSEGV"):
        h5.load_isolated("crashing_reader:read", str(old_net), {}, what="test file")
    with pytest.raises(ConfigError, match=rf"{old_net}.*'nope'.*no network description") as e:
        ss.Network.from_hdf5(old_net, name="nope")
    assert e.value.key == "nope"
