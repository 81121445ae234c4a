"""Fuzz the hardware area's file readers with damaged copies of files its own writers wrote.

Readers: :func:`~spikesim.hardware.nir_io.read_nir` (NIR HDF5), :func:`~spikesim.hardware.
netx.read_netx` (lava-dl netx HDF5), ``lava_runner.load_exchange`` (the exchange npz of
``spikesim export lava``, read by the Lava runner with numpy only), :func:`~spikesim.hardware.
loihi.exchange.read_result` (the runner's result npz) and the CLI's readers (a TOML run
configuration through :func:`~spikesim.hardware.cli.load_config_or_result`, and the
``--inputs`` npz). Seeds are written once per module.

(a) Hypothesis fuzz, deterministic (``derandomize``) and bounded: 1-8 overwritten bytes and
an optional cut. A damaged binary file must either load to exactly what the undamaged one
loads (the bytes hit were unused) or raise a typed error (:class:`~spikesim.errors.
SpikesimError`; ``ExchangeFileError``, a ValueError, for the runner's numpy-only reader) whose
message names the file; any other exception, or a warning (pytest turns warnings into errors),
fails. HDF5 stores no checksums: files spikesim writes carry a content digest, so damaged
data is caught rather than read as other weights (and they use the HDF5 1.8 format, whose
checksummed metadata keeps libhdf5 from crashing on damaged headers). A TOML configuration
is text without a checksum, so a changed digit is a different valid configuration: there the
test asserts a typed error or a network, nothing else. The core's network/result HDF5 files
(read by the CLI through ``Network.from_hdf5``) are not fuzzed here: damaged ones can hang
libhdf5 reading their variable-length description attribute.

(b) Explicit structural damage with the expected message: a missing dataset or key, a shape
that does not match the neuron counts, NaN/Inf or fractional weights, a huge or negative
neuron count, a huge delay, an npy header declaring far more data than the archive holds.
The HDF5 cases drop the digest first (as in files written by snnTorch or lava-dl), so the
readers' own checks are what refuses them.
"""

from __future__ import annotations

import dataclasses
import enum
import io
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest
import tomli_w
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from spikesim.hardware import lava_runner
from spikesim.hardware.cli import _spike_tensor_inputs, export, load_config_or_result
from spikesim.hardware.hdf5_files import DIGEST_ATTR
from spikesim.hardware.loihi import examples, network
from spikesim.hardware.loihi.exchange import read_result, write_network
from spikesim.hardware.loihi.network import (
    DelayDense,
    Dense,
    LifPopulation,
    LoihiNetwork,
    Sparse,
    SpikeInput,
)
from spikesim.hardware.netx import read_netx, write_netx
from spikesim.hardware.nir_io import MAX_NIR_DELAY_STEPS, read_nir, write_nir

from spikesim import Network
from spikesim.connectivity import Dense as FloatDense
from spikesim.errors import ConfigError, ParameterError, ShapeError, SpikesimError
from spikesim.neurons import CubaLIF

FUZZ = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
TYPED = (SpikesimError, lava_runner.ExchangeFileError)


# ------------------------------------------------------------------------------ seeds


def _float_net() -> Network:
    """Spike tensor -> CubaLIF (bias) -> CubaLIF, an inhibitory recurrent projection with a
    3-step delay and weights of both signs."""
    net = Network(dt_s=1e-3)
    net.add_spike_tensor("x", 4)
    net.add_population("h", 5, CubaLIF(tau_syn_s=5e-3, tau_mem_s=20e-3, v_th=1.0, bias=0.02))
    net.add_population("o", 3, CubaLIF(tau_syn_s=8e-3, tau_mem_s=10e-3, v_th=0.5))
    net.add_projection("xh", "x", "h", FloatDense(weight=0.3))
    net.add_projection("hh", "h", "h", FloatDense(weight=0.1), receptor="inh", delay_steps=3)
    net.add_projection("ho", "h", "o", FloatDense(weight=np.linspace(-1, 1, 15).reshape(3, 5)))
    return net


def _loihi_net() -> LoihiNetwork:
    """Every exchange connection kind: DelayDense, Sparse (mixed) and a recurrent Dense."""
    rng = np.random.default_rng(5)
    return LoihiNetwork(
        populations=(
            LifPopulation("a", 5, du=900, dv=400, vth=300, bias_mant=rng.integers(-3, 6, 5)),
            LifPopulation("b", 4, du=3000, dv=200, vth=250, bias_mant=64, bias_exp=-1),
        ),
        inputs=(SpikeInput("x", 6),),
        connections=(
            DelayDense("x_a", "x", "a", "excitatory", weight_exp=-1,
                       weights=rng.integers(0, 200, (5, 6)), delays=rng.integers(0, 9, (5, 6))),
            Sparse("a_b", "a", "b", "mixed", n_target=4, n_source=5, rows=[0, 1, 3, 3],
                   cols=[4, 0, 1, 2], values=[-100, 50, 7, -256]),
            Dense("b_b", "b", "b", "inhibitory", num_weight_bits=6, weights=-rng.integers(0, 255, (4, 4))),
        ),
    )  # fmt: skip


N_STEPS, BATCH = 5, 2


def _inputs() -> dict[str, np.ndarray]:
    return {"x": (np.random.default_rng(6).random((N_STEPS, BATCH, 6)) < 0.3).astype(np.uint8)}


def _write_result(path: Path, net: LoihiNetwork, *, record_v: bool = True, **replace: Any) -> None:
    """A result file as ``lava_runner.main`` writes it (``replace``: keys to change, None to
    drop)."""
    rng = np.random.default_rng(7)
    out: dict[str, Any] = {
        "pop_names": np.array([p.name for p in net.populations], dtype=str),
        "lava_version": np.array("0.10.0"),
        "seconds_build": np.array(1.5),
        "seconds_run": np.array(0.25),
    }
    for i, p in enumerate(net.populations):
        out[f"spikes{i}"] = (rng.random((N_STEPS, BATCH, p.n)) < 0.3).astype(np.uint8)
        if record_v:
            out[f"v{i}"] = rng.integers(-(2**20), 2**20, (N_STEPS, BATCH, p.n)).astype(np.int32)
    out.update(replace)
    with open(path, "wb") as fh:
        np.savez(fh, **{k: v for k, v in out.items() if v is not None})


def _toml_config(path: Path) -> Path:
    doc = _float_net().to_dict()
    doc["run"] = {"duration_s": 0.005, "seed": 3}
    path.write_text(tomli_w.dumps(doc))
    return path


@pytest.fixture(scope="module")
def seeds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("seeds")
    write_nir(_float_net(), d / "net.nir")
    write_netx(examples.netx_delays(n_steps=4).net, d / "delays.net")
    write_netx(examples.netx_recurrent(n_steps=4).net, d / "recurrent.net")
    write_network(
        _loihi_net(), d / "exchange.npz", n_steps=N_STEPS, inputs=_inputs(), batch=BATCH,
        record_v=True, steps_per_population={"a": 3},
    )  # fmt: skip
    _write_result(d / "result.npz", _loihi_net())
    _toml_config(d / "run.toml")
    with open(d / "inputs.npz", "wb") as fh:
        np.savez(fh, x=(np.random.default_rng(8).random((N_STEPS, BATCH, 4)) < 0.3))
    return {p.name: p for p in d.iterdir()}


# ------------------------------------------------------------------------------ comparison


def canon(x: Any) -> Any:
    """A comparable form of what a reader returns (arrays by dtype, shape and bytes)."""
    if isinstance(x, Network):
        return canon(x.to_dict())
    if isinstance(x, enum.Enum):
        return x.value
    if dataclasses.is_dataclass(x) and not isinstance(x, type):
        return (
            type(x).__name__,
            {f.name: canon(getattr(x, f.name)) for f in dataclasses.fields(x)},
        )
    if isinstance(x, dict):
        return {k: canon(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [canon(v) for v in x]
    if isinstance(x, np.ndarray):
        return (x.dtype.str, x.shape, x.tobytes())
    return x


READERS: dict[str, tuple[str, Callable[[Path], Any]]] = {
    "nir": ("net.nir", read_nir),
    "netx delays": ("delays.net", lambda p: read_netx(p, input_name="pulses")),
    "netx dense_rec": ("recurrent.net", lambda p: read_netx(p, input_name="drive")),
    "exchange": ("exchange.npz", lava_runner.load_exchange),
    "result": ("result.npz", lambda p: read_result(p, _loihi_net(), n_steps=N_STEPS, batch=BATCH)),
    "inputs npz": ("inputs.npz", lambda p: _spike_tensor_inputs(str(p), _float_net(), N_STEPS, None)),
}  # fmt: skip


def _damage(data: bytes, edits: list[tuple[float, int]], cut: float) -> bytes:
    buf = bytearray(data)
    for where, value in edits:
        buf[int(where * len(buf))] = value
    return bytes(buf[: max(1, int(cut * len(buf)))])


def _read_or_typed_error(read: Callable[[Path], Any], data: bytes, suffix: str) -> Any:
    """``read`` of ``data`` written to a file; None when it raised a typed error naming the
    file (any other exception propagates and fails the test)."""
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / f"damaged{suffix}"
        path.write_bytes(data)
        try:
            return read(path)
        except TYPED as exc:
            assert str(path) in str(exc), f"{type(exc).__name__} without the path: {exc}"
            return None


EDITS = st.lists(
    st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 255)), min_size=1, max_size=8
)
CUT = st.one_of(st.just(1.0), st.floats(0, 1))


@pytest.mark.parametrize("reader", sorted(READERS))
def test_seed_files_load(seeds: dict[str, Path], reader: str) -> None:
    name, read = READERS[reader]
    assert read(seeds[name]) is not None


@pytest.mark.parametrize("reader", sorted(READERS))
def test_damaged_file_loads_unchanged_or_raises_a_typed_error_naming_it(
    seeds: dict[str, Path], reader: str
) -> None:
    name, read = READERS[reader]
    data = seeds[name].read_bytes()
    original = canon(read(seeds[name]))
    outcomes = {"error": 0, "same": 0}

    @FUZZ
    @given(edits=EDITS, cut=CUT)
    def check(edits: list[tuple[float, int]], cut: float) -> None:
        got = _read_or_typed_error(read, _damage(data, edits, cut), seeds[name].suffix)
        if got is None:
            outcomes["error"] += 1
        else:
            assert canon(got) == original, "damaged file loaded as different data"
            outcomes["same"] += 1

    check()
    assert outcomes["error"] > 0  # the damage reached the reader


def test_damaged_toml_configuration_is_a_network_or_a_typed_error(
    seeds: dict[str, Path],
) -> None:
    data = seeds["run.toml"].read_bytes()

    @settings(FUZZ, max_examples=60)
    @given(edits=EDITS, cut=CUT)
    def check(edits: list[tuple[float, int]], cut: float) -> None:
        got = _read_or_typed_error(load_config_or_result, _damage(data, edits, cut), ".toml")
        if got is not None:
            net, run = got
            assert isinstance(net, Network) and isinstance(run, dict)

    check()


# ------------------------------------------------------------------------------ structure


def _edit_h5(src: Path, dst: Path, edit: Callable[[Any], None], *, keep_digest: bool) -> Path:
    """A copy of ``src`` changed by ``edit(h5py.File)``; without spikesim's digest and
    exporter mark unless ``keep_digest`` (as a file written by another tool)."""
    dst.write_bytes(src.read_bytes())
    with h5py.File(dst, "a") as f:
        if not keep_digest:
            del f.attrs[DIGEST_ATTR], f.attrs["exporter"]
        edit(f)
    return dst


def _put(key: str, value: Any) -> Callable[[Any], None]:
    def edit(f: Any) -> None:
        del f[key]
        f[key] = value

    return edit


def _delete(key: str) -> Callable[[Any], None]:
    def edit(f: Any) -> None:
        del f[key]

    return edit


def _move(src: str, dst: str) -> Callable[[Any], None]:
    def edit(f: Any) -> None:
        f.move(src, dst)

    return edit


def _nothing(f: Any) -> None:
    pass


NIR_CASES = [
    ("missing weight", _delete("node/nodes/xh/weight"), ConfigError,
     r"not a readable NIR graph: TypeError: .*'weight'"),
    ("weight shape", _put("node/nodes/ho/weight", np.ones((3, 4))), ConfigError,
     r"type mismatch: h\.output: \[\[5\]\] -> ho\.input: \[\[4\]\]"),
    ("NaN weights", _put("node/nodes/ho/weight", np.full((3, 5), np.nan)), ParameterError,
     r"NIR node 'ho': weight must be finite numbers \(no NaN or Inf\)"),
    ("Inf tau_mem", _put("node/nodes/h/tau_mem", np.full(5, np.inf)), ParameterError,
     r"NIR node 'h': tau_mem must be finite numbers"),
    ("huge delay", _put("node/nodes/hh_delay/delay", np.full(5, 1e6)), ParameterError,
     rf"NIR node 'hh_delay': delay must be at most {MAX_NIR_DELAY_STEPS} steps of 0.001 s, got 1000000\.0"),
    ("huge count", _put("node/nodes/x/shape", np.array([10**12])), ConfigError,
     r"type mismatch: x\.output: \[\[1000000000000\]\] -> xh\.input: \[\[4\]\]"),
    ("no dt", _delete("node/metadata/dt_s"), ParameterError,
     r"dt_s must be the time step in seconds"),
]  # fmt: skip


@pytest.mark.parametrize(
    "edit,error,message", [c[1:] for c in NIR_CASES], ids=[c[0] for c in NIR_CASES]
)
def test_nir_structural_damage(
    seeds: dict[str, Path], tmp_path: Path, edit: Callable, error: type, message: str
) -> None:
    path = _edit_h5(seeds["net.nir"], tmp_path / "bad.nir", edit, keep_digest=False)
    with pytest.raises(error, match=message) as info:
        read_nir(path)
    assert str(path) in str(info.value)


NETX_CASES = [
    ("missing weight", _delete("layer/1/weight"), ConfigError, r"key 'layer/1/weight': missing"),
    ("weight shape", _put("layer/1/weight", np.ones((10, 41), dtype=np.int64)), ShapeError,
     r"layer/1: weight must have shape \(10, 40\), got \(10, 41\)"),
    ("fractional weights", _put("layer/1/weight", np.full((10, 40), 0.5)), ParameterError,
     r"layer/1: weight must be integers in .*, got 'array of dtype float64'"),
    ("NaN weights", _put("layer/1/weight", np.full((10, 40), np.nan)), ParameterError,
     r"layer/1: weight must be integers in"),
    ("huge count", _put("layer/1/shape", np.array([10**9])), ParameterError,
     r"layer/1: shape must be integers in 1\.\.983040, got 1000000000"),
    ("negative count", _put("layer/1/shape", np.array([-10])), ParameterError,
     r"layer/1: shape must be integers in 1\.\.983040, got -10"),
    ("huge delay", _put("layer/0/delay", np.full((40, 20), 10**9)), ParameterError,
     r"layer/0: delay must be integers in 0\.\.62, got 1000000000"),
    ("register", _put("layer/0/neuron/iDecay", 5000), ParameterError,
     r"population 'delayed': du must be an integer in 0\.\.4095, got 4999"),
    ("layer gap", _move("layer/1", "layer/2"), ConfigError,
     r"key 'layer': expected layers named 0\.\.1, found \['0', '2'\]"),
    ("layer type", _put("layer/0/type", np.array([b"conv"])), ConfigError,
     r"only dense and dense_rec layers are read, got 'conv'"),
]  # fmt: skip


@pytest.mark.parametrize(
    "edit,error,message", [c[1:] for c in NETX_CASES], ids=[c[0] for c in NETX_CASES]
)
def test_netx_structural_damage(
    seeds: dict[str, Path], tmp_path: Path, edit: Callable, error: type, message: str
) -> None:
    path = _edit_h5(seeds["delays.net"], tmp_path / "bad.net", edit, keep_digest=False)
    with pytest.raises(error, match=message) as info:
        read_netx(path, input_name="pulses")
    assert str(path) in str(info.value)


@pytest.mark.parametrize("name", ["net.nir", "delays.net"])
def test_edited_spikesim_hdf5_fails_its_digest(
    seeds: dict[str, Path], tmp_path: Path, name: str
) -> None:
    key = "node/nodes/ho/weight" if name == "net.nir" else "layer/1/weight"
    read = read_nir if name == "net.nir" else lambda p: read_netx(p, input_name="pulses")
    with h5py.File(seeds[name]) as f:
        w = f[key][()]
    w.flat[0] += 2  # still a valid network: only the digest can tell
    path = _edit_h5(seeds[name], tmp_path / name, _put(key, w), keep_digest=True)
    with pytest.raises(ConfigError, match=r"does not match the digest spikesim stored") as err:
        read(path)
    # the message says how to load a file edited on purpose, and that works
    assert f"delete its root attributes '{DIGEST_ATTR}' and 'exporter'" in str(err.value)
    on_purpose = _edit_h5(seeds[name], tmp_path / f"edited_{name}", _put(key, w), keep_digest=False)
    assert read(on_purpose) is not None
    path = _edit_h5(seeds[name], tmp_path / f"no_digest_{name}", _nothing, keep_digest=True)
    with h5py.File(path, "a") as f:
        del f.attrs[DIGEST_ATTR]
    with pytest.raises(ConfigError, match=rf"{DIGEST_ATTR}': missing from a .* spikesim wrote"):
        read(path)


def _npz(src: Path, dst: Path, **replace: Any) -> Path:
    """A copy of the npz ``src`` with keys replaced (None drops the key)."""
    with np.load(src) as data:
        arrays = {k: data[k] for k in data.files}
    arrays.update(replace)
    with open(dst, "wb") as fh:
        np.savez(fh, **{k: v for k, v in arrays.items() if v is not None})
    return dst


def _huge_header_npz(dst: Path) -> Path:
    """An npz whose ``n_steps`` member declares 10**12 int64 values and holds 8 bytes."""
    head = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        head, {"descr": "<i8", "fortran_order": False, "shape": (10**12,)}
    )
    with zipfile.ZipFile(dst, "w") as zf:
        zf.writestr("n_steps.npy", head.getvalue() + bytes(8))
    return dst


EXCHANGE_CASES = [
    ("missing params", {"pop0_params": None}, r"key 'pop0_params': missing"),
    ("weight shape", {"conn2_weights": -np.ones((4, 5), dtype=np.int64)},
     r"key 'conn2_weights': expected shape \(4, 4\), found \(4, 5\)"),
    ("NaN weights", {"conn2_weights": np.full((4, 4), np.nan)},
     r"key 'conn2_weights': expected a 2-D array of kind 'iu', found float64"),
    ("huge step count", {"n_steps": np.array(10**9)},
     r"key 'n_steps': n_steps x batch x neurons at most 2147483648, found 1000000000 x 2 x 9"),
    ("huge neuron count", {"pop0_params": np.array([2**40, 900, 400, 300])},
     r"key 'pop0_params': expected integers in 0\.\.2147483647"),
    ("huge delay", {"conn0_delays": np.full((5, 6), 10**9)},
     r"key 'conn0_delays': expected integers in 0\.\.62, found 1000000000"),
    ("sparse index", {"conn1_coo": np.array([[0, 1, 3, 3], [4, 0, 1, 5], [-100, 50, 7, -256]])},
     r"key 'conn1_coo': cols in 0\.\.4, found 5"),
    ("input values", {"input0_spikes": np.full((N_STEPS, BATCH, 6), 2, dtype=np.uint8)},
     r"key 'input0_spikes': expected 0/1 spikes of shape \(5, 2, n >= 1\)"),
    ("unknown source", {"conn_sources": np.array(["x", "nope", "b"])},
     r"key 'conn1': expected .* a source in \['a', 'b', 'x'\] .* found 'sparse' from 'nope'"),
    ("wrong format", {"format": np.array("something-else")},
     r"key 'format': expected a spikesim-loihi-exchange v1 file"),
]  # fmt: skip


@pytest.mark.parametrize(
    "replace,message", [c[1:] for c in EXCHANGE_CASES], ids=[c[0] for c in EXCHANGE_CASES]
)
def test_exchange_structural_damage(
    seeds: dict[str, Path], tmp_path: Path, replace: dict, message: str
) -> None:
    path = _npz(seeds["exchange.npz"], tmp_path / "bad.npz", **replace)
    with pytest.raises(lava_runner.ExchangeFileError, match=message) as info:
        lava_runner.load_exchange(path)
    assert str(path) in str(info.value)


def test_npy_header_declaring_more_than_the_archive_holds_is_refused(tmp_path: Path) -> None:
    path = _huge_header_npz(tmp_path / "huge.npz")
    with pytest.raises(
        lava_runner.ExchangeFileError,
        match=r"key 'n_steps': declares an array \(1000000000000,\) of int64",
    ):
        lava_runner.load_exchange(path)
    with pytest.raises(ConfigError, match=rf"{path}: key 'n_steps': declares an array"):
        read_result(path, _loihi_net())


def test_runner_ranges_agree_with_the_loihi_classes() -> None:
    for name in ("DECAY_RANGE", "VTH_RANGE", "BIAS_MANT_RANGE", "BIAS_EXP_RANGE",
                 "WEIGHT_EXP_RANGE", "DELAY_RANGE"):  # fmt: skip
        assert getattr(lava_runner, name) == getattr(network, name), name
    assert lava_runner.WEIGHT_RANGE == network.weight_range(network.SignMode.MIXED)


RESULT_CASES = [
    ("missing spikes", {"spikes1": None}, r"key 'spikes1': missing \(population 'b'\)"),
    ("neuron count", {"spikes1": np.zeros((N_STEPS, BATCH, 3), dtype=np.uint8)},
     r"key 'spikes1': expected integers of shape \(5, 2, 4\), found uint8 \(5, 2, 3\)"),
    ("step count", {"v0": np.zeros((N_STEPS + 1, BATCH, 5), dtype=np.int32)},
     r"key 'v0': expected integers of shape \(5, 2, 5\), found int32 \(6, 2, 5\)"),
    ("spike values", {"spikes0": np.full((N_STEPS, BATCH, 5), 3, dtype=np.uint8)},
     r"key 'spikes0': expected 0/1 spikes, found 3\.\.3"),
    ("float voltages", {"v1": np.full((N_STEPS, BATCH, 4), np.nan)},
     r"key 'v1': expected integers of shape"),
]  # fmt: skip


@pytest.mark.parametrize(
    "replace,message", [c[1:] for c in RESULT_CASES], ids=[c[0] for c in RESULT_CASES]
)
def test_result_structural_damage(tmp_path: Path, replace: dict, message: str) -> None:
    path = tmp_path / "result.npz"
    _write_result(path, _loihi_net(), **replace)
    with pytest.raises(ConfigError, match=message) as info:
        read_result(path, _loihi_net(), n_steps=N_STEPS, batch=BATCH)
    assert str(path) in str(info.value)


def test_export_lava_checks_the_inputs_file(seeds: dict[str, Path], tmp_path: Path) -> None:
    config = str(seeds["run.toml"])
    good, bad = tmp_path / "good.npz", tmp_path / "bad.npz"
    x = (np.random.default_rng(9).random((N_STEPS, BATCH, 4)) < 0.3).astype(np.uint8)
    np.savez(good, x=x)
    np.savez(bad, x=x[:, :, :3])
    runner = CliRunner()
    out = runner.invoke(
        export, ["lava", config, "--inputs", str(bad), "-o", str(tmp_path / "e.npz")]
    )
    assert out.exit_code == 1
    assert (
        f"{bad}: key 'x': expected spikes of shape (5, 2, 4), found uint8 (5, 2, 3)" in out.output
    )
    assert not (tmp_path / "e.npz").exists()
    out = runner.invoke(
        export, ["lava", config, "--inputs", str(good), "-o", str(tmp_path / "e.npz")]
    )
    assert out.exit_code == 0, out.output
    written = lava_runner.load_exchange(tmp_path / "e.npz")
    np.testing.assert_array_equal(written["input0_spikes"], x)
    with pytest.raises(ConfigError, match=rf"{tmp_path / 'missing.toml'}: key '-': file not found"):
        load_config_or_result(tmp_path / "missing.toml")
