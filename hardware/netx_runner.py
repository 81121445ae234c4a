"""Load netx HDF5 files with lava-dl's own loader and run them in Lava's ``fixed_pt`` simulation.

This script runs *inside the managed Lava environment* (Python 3.10, numpy < 2, lava-nc 0.10,
lava-dl 0.6 installed without its dependencies) as a subprocess of spikesim; it imports only
numpy, h5py and lava -- never torch or spikesim.

Usage::

    python netx_runner.py NET.net INPUTS.npz RESULT.npz [NET.net INPUTS.npz RESULT.npz ...]
    python netx_runner.py --probe

Each network is built by ``lava.lib.dl.netx.hdf5.Network(net_config=NET.net)``. ``INPUTS.npz``
holds ``spikes`` (uint8 ``[n_steps, batch, n_in]``, fed to the network's ``inp`` port through a
``RingBuffer``) and ``record_v`` (0/1). ``RESULT.npz`` gets, per netx layer ``i``,
``spikes{i}`` (uint8 ``[n_steps, batch, n_i]``, read through an ``Extractor`` on the layer's
neuron) and optionally ``v{i}`` (int32, through a ``VarWire``), plus ``layer_names``,
``lava_version``, ``lava_dl_version`` and ``seconds_run``. ``--probe`` prints the versions of
lava-nc, lava-dl, numpy and h5py as JSON once netx imports.

lava-dl without torch: ``lava.lib.dl.netx`` imports torch in two places that a netx network of
CUBA (LIF) layers never uses -- the package ``__init__`` imports ``sequential_modules`` (a torch
helper for PyTorch-side inference), and ``netx/hdf5.py`` imports ``neuron_params`` from
``lava.lib.dl.slayer.neuron.rf`` (its torch-based slayer package), called only for resonate-and-
fire (``RF``/``RF_IZ``) layers. :func:`import_netx_hdf5` registers the packages
``lava.lib.dl.netx``, ``lava.lib.dl.slayer`` and ``lava.lib.dl.slayer.neuron`` from their
installed locations without running their ``__init__`` files, and puts a module in place of
``lava.lib.dl.slayer.neuron.rf`` whose ``neuron_params`` raises ``ImportError`` (so an RF layer
fails loudly instead of silently). Everything else -- ``hdf5.Network``, its blocks, block
models and ``optimize_weight_bits`` -- is lava-dl's own code. When torch is importable, the
ordinary import is used.

lava-dl 0.6 declares no ProcessModel for its ``RecurrentDense`` block (``dense_rec`` layers):
its ``blocks/models.py`` implements ``Input``, ``Dense``, ``Conv`` and the complex blocks only,
so Lava cannot compile a ``dense_rec`` network. The runner maps ``RecurrentDense`` to a
sub-process model defined exactly like lava-dl's ``PyDenseModel`` (both derive from netx's
``AbstractPyBlockModel``; the block's ``__init__`` already wires synapses and neuron).
"""

from __future__ import annotations

import functools
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

_RF_MODULE = "lava.lib.dl.slayer.neuron.rf"


def _rf_needs_torch(*args, **kwargs):
    raise ImportError(
        "this netx file has a resonate-and-fire (RF) layer: lava-dl computes its parameters with "
        "lava.lib.dl.slayer (torch), which the managed Lava environment does not install"
    )


def import_netx_hdf5():
    """``lava.lib.dl.netx.hdf5``, imported without torch when torch is absent (module doc)."""
    import importlib.util
    import types

    try:
        import torch  # noqa: F401
    except ImportError:
        pass
    else:  # pragma: no cover - the managed environment has no torch
        from lava.lib.dl.netx import hdf5

        return hdf5
    for name in ("lava.lib.dl.netx", "lava.lib.dl.slayer", "lava.lib.dl.slayer.neuron"):
        if name in sys.modules:
            continue
        spec = importlib.util.find_spec(name)
        if spec is None or spec.submodule_search_locations is None:
            raise ImportError(f"{name} not found: lava-dl is not installed in {sys.prefix}")
        module = importlib.util.module_from_spec(spec)  # the package, its __init__ not run
        sys.modules[name] = module
        parent, _, child = name.rpartition(".")
        setattr(sys.modules[parent], child, module)
    seq = "lava.lib.dl.netx.sequential_modules"
    if seq not in sys.modules:
        # Lava's compiler imports every module of a Process's package while it looks for
        # ProcessModels; this one only needs to name its file (the compiler's own scan of that
        # file then fails inside its try block and is skipped).
        placeholder = types.ModuleType(seq, "placeholder: PyTorch-side helpers (netx_runner.py)")
        placeholder.__file__ = str(
            Path(sys.modules["lava.lib.dl.netx"].__path__[0]) / "sequential_modules.py"
        )
        sys.modules[seq] = placeholder
    if _RF_MODULE not in sys.modules:
        rf = types.ModuleType(_RF_MODULE, "placeholder: RF neurons need torch (netx_runner.py)")
        rf.neuron_params = _rf_needs_torch
        sys.modules[_RF_MODULE] = rf
        sys.modules["lava.lib.dl.slayer.neuron"].rf = rf
    from lava.lib.dl.netx import hdf5

    return hdf5


def _versions() -> dict[str, str]:
    from importlib.metadata import version

    import h5py

    return {
        "lava": version("lava-nc"),
        "lava_dl": version("lava-dl"),
        "numpy": np.__version__,
        "h5py": h5py.__version__,
    }


@functools.cache
def _recurrent_dense_model():
    """A ProcessModel for lava-dl's RecurrentDense block (see the module doc)."""
    from lava.lib.dl.netx.blocks.models import AbstractPyBlockModel
    from lava.lib.dl.netx.blocks.process import RecurrentDense
    from lava.magma.core.decorator import implements
    from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol

    @implements(proc=RecurrentDense, protocol=LoihiProtocol)
    class PyRecurrentDenseModel(AbstractPyBlockModel):
        def __init__(self, proc) -> None:
            super().__init__(proc)

    return RecurrentDense, PyRecurrentDenseModel


def _run_sample(hdf5, net_path: str, spikes: np.ndarray, record_v: bool):
    from lava.magma.core.run_conditions import RunSteps
    from lava.magma.core.run_configs import Loihi2SimCfg
    from lava.proc.io.extractor import (
        Extractor,
        PyLoihiExtractorModel,
        PyLoihiVarWireModel,
        VarWire,
    )
    from lava.proc.io.source import RingBuffer

    n_steps = spikes.shape[0]
    net = hdf5.Network(net_config=net_path)
    source = RingBuffer(data=np.ascontiguousarray(spikes.T).astype(np.int32))
    source.s_out.connect(net.inp)
    exts, wires = [], []
    for layer in net.layers:
        ext = Extractor(shape=layer.neuron.s_out.shape, buffer_size=64)
        layer.neuron.s_out.connect(ext.in_port)
        exts.append(ext)
        if record_v:
            wire = VarWire(buffer_size=64)
            wire.connect_var(layer.neuron.v)
            wires.append(wire)
    rec_cls, rec_model = _recurrent_dense_model()
    cfg = Loihi2SimCfg(
        select_tag="fixed_pt",
        exception_proc_model_map={
            Extractor: PyLoihiExtractorModel,
            VarWire: PyLoihiVarWireModel,
            rec_cls: rec_model,
        },
    )
    out_s = [np.zeros((n_steps, e.in_port.shape[0]), dtype=np.uint8) for e in exts]
    out_v = [np.zeros((n_steps, e.in_port.shape[0]), dtype=np.int32) for e in exts]
    net.run(condition=RunSteps(num_steps=n_steps, blocking=False), run_cfg=cfg)
    try:
        for t in range(n_steps):
            for i, ext in enumerate(exts):
                out_s[i][t] = ext.receive() != 0
                if record_v:
                    out_v[i][t] = np.asarray(wires[i].receive()).astype(np.int64)
        net.wait()
    finally:
        net.stop()
    return out_s, (out_v if record_v else None)


def _layer_names(net_path: str) -> list[str]:
    import h5py

    with h5py.File(net_path, "r") as f:
        return [str(f[f"layer/{i}"].attrs.get("name", f"layer{i}")) for i in range(len(f["layer"]))]


def run_one(hdf5, net_path: str, inputs_path: str, result_path: str) -> None:
    """Run one netx file on the spike trains of ``inputs_path``; write ``result_path``."""
    with np.load(inputs_path, allow_pickle=False) as data:
        spikes = data["spikes"].astype(np.uint8)
        record_v = bool(int(data["record_v"]))
    if spikes.ndim != 3:
        raise SystemExit(f"netx_runner: {inputs_path}: spikes must be [n_steps, batch, n]")
    n_steps, batch, _ = spikes.shape
    t0 = time.perf_counter()
    per_sample = [_run_sample(hdf5, net_path, spikes[:, b, :], record_v) for b in range(batch)]
    seconds = time.perf_counter() - t0
    versions = _versions()
    out: dict[str, Any] = {
        "layer_names": np.array(_layer_names(net_path), dtype=str),
        "lava_version": np.array(versions["lava"]),
        "lava_dl_version": np.array(versions["lava_dl"]),
        "seconds_run": np.array(seconds),
    }
    for i in range(len(per_sample[0][0])):
        out[f"spikes{i}"] = np.stack([s[i] for s, _ in per_sample], axis=1)
        if record_v:
            out[f"v{i}"] = np.stack([v[i] for _, v in per_sample], axis=1)  # type: ignore[index]
    with open(result_path, "wb") as fh:
        np.savez(fh, **out)


def main(argv: list[str]) -> int:
    if argv[1:] == ["--probe"]:
        import json

        import_netx_hdf5()
        print(json.dumps(_versions()))
        return 0
    jobs = argv[1:]
    if not jobs or len(jobs) % 3:
        print(__doc__, file=sys.stderr)
        return 2
    hdf5 = import_netx_hdf5()
    # the compiler's scan of netx's folder cannot execute sequential_modules.py (torch): skipped
    warnings.filterwarnings("ignore", message=r"Cannot import module '<module 'sequential_modules'")
    for k in range(0, len(jobs), 3):
        run_one(hdf5, *jobs[k : k + 3])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
