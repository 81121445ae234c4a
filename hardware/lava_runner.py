"""Run a spikesim Loihi exchange file in Lava (lava-nc 0.10, ``fixed_pt``) and write the spikes.

This script runs *inside the managed Lava environment* (Python 3.10, numpy < 2) as a
subprocess of spikesim, so it imports only numpy, scipy and lava -- never torch or spikesim.

Usage: ``python lava_runner.py NETWORK.npz RESULT.npz``

The exchange format is described in ``spikesim/hardware/loihi/exchange.py``. Process graph:
``RingBuffer`` (fixed_pt) injects each input's spike train, ``LIF``/``Dense``/``Sparse``/
``DelayDense`` use their bit-accurate ``fixed_pt`` models, and every population's ``s_out``
feeds an ``Extractor`` read once per step while the run proceeds (non-blocking run); ``v`` is
tapped per step with a ``VarWire``. Extractor and VarWire carry no tag, so their models are
mapped explicitly. Each batch element is a separate Lava run; disconnected parts of the network
are run one after the other (Lava only compiles what is connected to the process it runs).
"""

from __future__ import annotations

import sys
import time
from typing import Any

import numpy as np

EXCHANGE_FORMAT = "spikesim-loihi-exchange"
EXCHANGE_VERSION = 1

# Register ranges of spikesim.hardware.loihi.network (this script cannot import spikesim; a
# test checks that they agree).
DECAY_RANGE = (0, 4095)
VTH_RANGE = (0, 2**17 - 1)
BIAS_MANT_RANGE = (-(2**12), 2**12 - 1)
BIAS_EXP_RANGE = (-12, 7)
WEIGHT_EXP_RANGE = (-8, 7)
DELAY_RANGE = (0, 62)
WEIGHT_RANGE = (-256, 255)
#: Most neurons of one population (as LifPopulation).
MAX_NEURONS = 2**31 - 1
#: Most ``n_steps * batch * neurons`` entries of a run: the result holds that many spikes
#: (1 byte) and voltages (4 bytes), allocated before Lava starts.
MAX_OUTPUT_CELLS = 2**31
CONN_KINDS = ("dense", "sparse", "delay_dense")


class ExchangeFileError(ValueError):
    """A damaged or inconsistent exchange or result file: names the file, the key, what was
    expected and what was found (spikesim turns it into a ``ConfigError``)."""

    def __init__(self, path, key: str, problem: str) -> None:
        self.path, self.key, self.problem = str(path), key, problem
        super().__init__(f"{path}: key {key!r}: {problem}")


def load_npz(path, *, what: str) -> dict:
    """Every array of an npz file, read without pickles. Each member's declared shape is
    checked against the bytes the archive holds for it before anything is allocated, and
    zip, CRC and npy-header errors become :class:`ExchangeFileError` naming the file."""
    import zipfile
    import zlib

    try:
        with zipfile.ZipFile(path) as zf:
            for info in zf.infolist():
                key = info.filename[:-4] if info.filename.endswith(".npy") else info.filename
                if key == info.filename:
                    raise ExchangeFileError(path, key, f"expected .npy members, found {key!r}")
                with zf.open(info) as fh:
                    version = np.lib.format.read_magic(fh)
                    read_header = (
                        np.lib.format.read_array_header_1_0
                        if version == (1, 0)
                        else np.lib.format.read_array_header_2_0
                    )
                    shape, _, dtype = read_header(fh)
                    declared = float(np.prod(shape, dtype=np.float64)) * dtype.itemsize
                    if dtype.hasobject or declared > info.file_size:
                        raise ExchangeFileError(
                            path,
                            key,
                            f"declares an array {shape} of {dtype} ({declared:.0f} bytes) in a "
                            f"member of {info.file_size} bytes: the file is damaged",
                        )
        with np.load(path, allow_pickle=False) as data:
            return {k: data[k] for k in data.files}
    except ExchangeFileError:
        raise
    except FileNotFoundError:
        raise ExchangeFileError(path, "-", f"{what} not found") from None
    except (
        OSError, ValueError, EOFError, KeyError, RuntimeError, NotImplementedError,
        zipfile.BadZipFile, zlib.error,
    ) as err:  # fmt: skip
        raise ExchangeFileError(
            path, "-", f"not a readable {what} (npz): {type(err).__name__}: {err}"
        ) from None


def _array(path, d: dict, key: str, ndim: int, kinds: str = "iub") -> np.ndarray:
    if key not in d:
        raise ExchangeFileError(path, key, "missing")
    a = d[key]
    if a.ndim != ndim or a.dtype.kind not in kinds:
        raise ExchangeFileError(
            path, key, f"expected a {ndim}-D array of kind {kinds!r}, found {a.dtype} {a.shape}"
        )
    return a


def _ints(path, d: dict, key: str, shape: tuple, lo: int, hi: int) -> np.ndarray:
    a = _array(path, d, key, len(shape), "iu")
    if a.shape != tuple(shape):
        raise ExchangeFileError(path, key, f"expected shape {tuple(shape)}, found {a.shape}")
    if a.size and (a.min() < lo or a.max() > hi):
        raise ExchangeFileError(
            path, key, f"expected integers in {lo}..{hi}, found {a.min()}..{a.max()}"
        )
    return a.astype(np.int64)


def _names(path, d: dict, key: str) -> list:
    a = _array(path, d, key, 1, "U")
    names = [str(x) for x in a]
    if any(not n for n in names):
        raise ExchangeFileError(path, key, f"expected non-empty names, found {names}")
    return names


def load_exchange(path) -> dict:
    """The arrays of an exchange file (see ``loihi/exchange.py``), checked before anything
    is built: keys, dtypes, shapes, register ranges, names and sizes, and the size of the
    run's output. Raises :class:`ExchangeFileError` naming the file and key."""
    d = load_npz(path, what="spikesim exchange file")
    fmt, version = d.get("format"), d.get("version")
    if (
        fmt is None
        or version is None
        or fmt.shape != ()
        or str(fmt) != EXCHANGE_FORMAT
        or version.shape != ()
        or version.dtype.kind not in "iu"
        or int(version) != EXCHANGE_VERSION
    ):
        raise ExchangeFileError(
            path,
            "format",
            f"expected a {EXCHANGE_FORMAT} v{EXCHANGE_VERSION} file, found format={fmt!r}, "
            f"version={version!r}",
        )
    n_steps = int(_ints(path, d, "n_steps", (), 1, MAX_OUTPUT_CELLS))
    batch = int(_ints(path, d, "batch", (), 1, MAX_OUTPUT_CELLS))
    _ints(path, d, "record_v", (), 0, 1)
    pops = _names(path, d, "pop_names")
    inputs = _names(path, d, "input_names")
    conns = _names(path, d, "conn_names")
    if not pops or len(set(pops + inputs + conns)) != len(pops + inputs + conns):
        raise ExchangeFileError(
            path, "pop_names", f"expected unique names and >= 1 population, found {pops}"
        )
    sizes = {}
    for i, name in enumerate(pops):
        params = _ints(path, d, f"pop{i}_params", (4,), 0, MAX_NEURONS)
        n, du, dv, vth = (int(x) for x in params)
        for field, v, (lo, hi) in (
            ("n", n, (1, MAX_NEURONS)),
            ("du", du, DECAY_RANGE),
            ("dv", dv, DECAY_RANGE),
            ("vth", vth, VTH_RANGE),
        ):
            if not lo <= v <= hi:
                raise ExchangeFileError(
                    path, f"pop{i}_params", f"{field} of {name!r} must be in {lo}..{hi}, found {v}"
                )
        _ints(path, d, f"pop{i}_bias_mant", (n,), *BIAS_MANT_RANGE)
        _ints(path, d, f"pop{i}_bias_exp", (n,), *BIAS_EXP_RANGE)
        sizes[name] = n
    if n_steps * batch * sum(sizes.values()) > MAX_OUTPUT_CELLS:
        raise ExchangeFileError(
            path,
            "n_steps",
            f"n_steps x batch x neurons at most {MAX_OUTPUT_CELLS}, found {n_steps} x {batch} "
            f"x {sum(sizes.values())}",
        )
    if "pop_steps" in d:
        _ints(path, d, "pop_steps", (len(pops),), 0, n_steps)
    for i, name in enumerate(inputs):
        x = _array(path, d, f"input{i}_spikes", 3)
        if x.shape[:2] != (n_steps, batch) or x.shape[2] < 1 or x.min() < 0 or x.max() > 1:
            raise ExchangeFileError(
                path,
                f"input{i}_spikes",
                f"expected 0/1 spikes of shape ({n_steps}, {batch}, n >= 1), found {x.dtype} "
                f"{x.shape} with values up to {x.max() if x.size else None}",
            )
        sizes[name] = x.shape[2]
    keys = ("conn_kinds", "conn_sources", "conn_targets")
    kinds, sources, targets = (_names(path, d, k) for k in keys)
    if not len(kinds) == len(sources) == len(targets) == len(conns):
        raise ExchangeFileError(
            path, "conn_kinds", f"one kind, source and target per connection ({len(conns)})"
        )
    for j, (kind, src, tgt) in enumerate(zip(kinds, sources, targets, strict=True)):
        if kind not in CONN_KINDS or src not in sizes or tgt not in pops:
            raise ExchangeFileError(
                path,
                f"conn{j}",
                f"expected a kind in {CONN_KINDS}, a source in {sorted(sizes)} and a target in "
                f"{pops}, found {kind!r} from {src!r} to {tgt!r}",
            )
        shape = (sizes[tgt], sizes[src])
        mode, nwb, wexp = (int(x) for x in _ints(path, d, f"conn{j}_params", (3,), -8, 8))
        if mode not in (1, 2, 3) or not 1 <= nwb <= 8 or not -8 <= wexp <= 7:
            raise ExchangeFileError(
                path,
                f"conn{j}_params",
                f"expected sign mode 1..3, 1..8 weight bits, weight_exp in {WEIGHT_EXP_RANGE}, "
                f"found {[mode, nwb, wexp]}",
            )
        if kind == "sparse":
            found = tuple(int(x) for x in _ints(path, d, f"conn{j}_shape", (2,), 1, MAX_NEURONS))
            if found != shape:
                raise ExchangeFileError(path, f"conn{j}_shape", f"expected {shape}, found {found}")
            coo = _array(path, d, f"conn{j}_coo", 2, "iu")
            nnz = coo.shape[1]
            _ints(path, d, f"conn{j}_coo", (3, nnz), min(WEIGHT_RANGE[0], 0), MAX_NEURONS)
            for row, (what, hi) in enumerate((("rows", shape[0] - 1), ("cols", shape[1] - 1))):
                if nnz and coo[row].max() > hi:
                    raise ExchangeFileError(
                        path, f"conn{j}_coo", f"{what} in 0..{hi}, found {coo[row].max()}"
                    )
                if nnz and coo[row].min() < 0:
                    raise ExchangeFileError(path, f"conn{j}_coo", f"{what} >= 0")
            if nnz and (coo[2].min() < WEIGHT_RANGE[0] or coo[2].max() > WEIGHT_RANGE[1]):
                raise ExchangeFileError(path, f"conn{j}_coo", f"values in {WEIGHT_RANGE}")
        else:
            _ints(path, d, f"conn{j}_weights", shape, *WEIGHT_RANGE)
            if kind == "delay_dense":
                _ints(path, d, f"conn{j}_delays", shape, *DELAY_RANGE)
    return d


def _components(pop_names, input_names, sources, targets):
    """Groups of node names connected through connections (union-find)."""
    parent = {n: n for n in [*pop_names, *input_names]}

    def find(x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for s, t in zip(sources, targets, strict=True):
        parent[find(s)] = find(t)
    groups: dict[str, list[str]] = {}
    for n in parent:
        groups.setdefault(find(n), []).append(n)
    return list(groups.values())


def _run_sample(d: dict, b: int, record_v: bool):
    from lava.magma.core.run_conditions import RunSteps
    from lava.magma.core.run_configs import Loihi2SimCfg
    from lava.proc.dense.process import DelayDense, Dense
    from lava.proc.io.extractor import (
        Extractor,
        PyLoihiExtractorModel,
        PyLoihiVarWireModel,
        VarWire,
    )
    from lava.proc.io.source import RingBuffer
    from lava.proc.lif.process import LIF
    from lava.proc.sparse.process import Sparse
    from lava.utils.weightutils import SignMode
    from scipy.sparse import csr_matrix

    n_steps = int(d["n_steps"])
    pop_names = [str(x) for x in d["pop_names"]]
    input_names = [str(x) for x in d["input_names"]]
    conn_kinds = [str(x) for x in d["conn_kinds"]]
    sources = [str(x) for x in d["conn_sources"]]
    targets = [str(x) for x in d["conn_targets"]]

    lifs, exts, wires = {}, {}, {}
    for i, name in enumerate(pop_names):
        n, du, dv, vth = (int(x) for x in d[f"pop{i}_params"])
        lif = LIF(
            shape=(n,),
            du=du,
            dv=dv,
            vth=vth,
            bias_mant=d[f"pop{i}_bias_mant"].astype(np.int32),
            bias_exp=d[f"pop{i}_bias_exp"].astype(np.int32),
            name=name,
        )
        ext = Extractor(shape=(n,), buffer_size=64)
        lif.s_out.connect(ext.in_port)
        lifs[name], exts[name] = lif, ext
        if record_v:
            wire = VarWire(buffer_size=64)
            wire.connect_var(lif.v)
            wires[name] = wire
    srcs = {}
    for i, name in enumerate(input_names):
        spikes = d[f"input{i}_spikes"][:, b, :]  # [n_steps, n]
        srcs[name] = RingBuffer(data=np.ascontiguousarray(spikes.T).astype(np.int32))
    for j, kind in enumerate(conn_kinds):
        mode_code, nwb, wexp = (int(x) for x in d[f"conn{j}_params"])
        kw = dict(sign_mode=SignMode(mode_code), num_weight_bits=nwb, weight_exp=wexp)
        if kind == "dense":
            conn = Dense(weights=d[f"conn{j}_weights"].astype(np.int32), **kw)
        elif kind == "delay_dense":
            conn = DelayDense(
                weights=d[f"conn{j}_weights"].astype(np.int32),
                delays=d[f"conn{j}_delays"].astype(int),
                **kw,
            )
        elif kind == "sparse":
            rows, cols, vals = d[f"conn{j}_coo"]
            shape = tuple(int(x) for x in d[f"conn{j}_shape"])
            conn = Sparse(
                weights=csr_matrix((vals.astype(np.int32), (rows, cols)), shape=shape), **kw
            )
        else:
            raise SystemExit(f"lava_runner: unknown connection kind {kind!r}")
        src = lifs[sources[j]] if sources[j] in lifs else srcs[sources[j]]
        src.s_out.connect(conn.s_in)
        conn.a_out.connect(lifs[targets[j]].a_in)

    cfg = Loihi2SimCfg(
        select_tag="fixed_pt",
        exception_proc_model_map={Extractor: PyLoihiExtractorModel, VarWire: PyLoihiVarWireModel},
    )
    spikes_out = {n: np.zeros((n_steps, lifs[n].s_out.shape[0]), dtype=np.uint8) for n in pop_names}
    v_out = {n: np.zeros((n_steps, lifs[n].s_out.shape[0]), dtype=np.int32) for n in pop_names}
    for group in _components(pop_names, input_names, sources, targets):
        pops = [n for n in group if n in lifs]
        if not pops:
            continue  # an input that feeds nothing
        root = lifs[pops[0]]
        steps = n_steps
        if "pop_steps" in d:
            steps = max(int(d["pop_steps"][pop_names.index(n)]) for n in pops)
        root.run(condition=RunSteps(num_steps=steps, blocking=False), run_cfg=cfg)
        try:
            for t in range(steps):
                for n in pops:
                    spikes_out[n][t] = exts[n].receive() != 0
                    if record_v:
                        v_out[n][t] = np.asarray(wires[n].receive()).astype(np.int64)
            root.wait()
        finally:
            root.stop()
    return spikes_out, (v_out if record_v else None)


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    import lava

    try:
        d = load_exchange(argv[1])
    except ExchangeFileError as err:
        print(f"lava_runner: {err}", file=sys.stderr)
        return 2
    t_import = time.perf_counter() - t0
    n_steps, batch, record_v = int(d["n_steps"]), int(d["batch"]), bool(int(d["record_v"]))
    pop_names = [str(x) for x in d["pop_names"]]
    sizes = [int(d[f"pop{i}_params"][0]) for i in range(len(pop_names))]
    spikes = [np.zeros((n_steps, batch, n), dtype=np.uint8) for n in sizes]
    vs = [np.zeros((n_steps, batch, n), dtype=np.int32) for n in sizes]
    t1 = time.perf_counter()
    for b in range(batch):
        s_b, v_b = _run_sample(d, b, record_v)
        for i, name in enumerate(pop_names):
            spikes[i][:, b] = s_b[name]
            if v_b is not None:
                vs[i][:, b] = v_b[name]
    t_run = time.perf_counter() - t1
    out: dict[str, Any] = {
        "pop_names": np.array(pop_names, dtype=str),
        "lava_version": np.array(getattr(lava, "__version__", "") or _lava_version()),
        "seconds_build": np.array(t_import),
        "seconds_run": np.array(t_run),
    }
    for i in range(len(pop_names)):
        out[f"spikes{i}"] = spikes[i]
        if record_v:
            out[f"v{i}"] = vs[i]
    with open(argv[2], "wb") as fh:
        np.savez(fh, **out)
    return 0


def _lava_version() -> str:
    from importlib.metadata import version

    return version("lava-nc")


if __name__ == "__main__":
    sys.exit(main(sys.argv))
