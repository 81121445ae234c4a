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

import numpy as np

EXCHANGE_FORMAT = "spikesim-loihi-exchange"
EXCHANGE_VERSION = 1


def _load(path: str) -> dict:
    with np.load(path, allow_pickle=False) as data:
        d = {k: data[k] for k in data.files}
    if str(d.get("format")) != EXCHANGE_FORMAT or int(d.get("version", -1)) != EXCHANGE_VERSION:
        raise SystemExit(
            f"lava_runner: {path} is not a {EXCHANGE_FORMAT} v{EXCHANGE_VERSION} file "
            f"(format={d.get('format')!r}, version={d.get('version')!r})"
        )
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

    d = _load(argv[1])
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
    out = {
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
