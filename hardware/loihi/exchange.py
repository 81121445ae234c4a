"""The npz exchange format between spikesim and the Lava runner subprocess.

Written by spikesim (:func:`write_network`), read by ``lava_runner.py`` with numpy only (no
pickles: every array is numeric or a fixed-width unicode array); its ``load_exchange`` checks
keys, dtypes, shapes and register ranges before Lava builds anything. Version 1 keys:

``format`` = "spikesim-loihi-exchange", ``version`` = 1, ``n_steps``, ``batch``,
``record_v`` (0/1);
``pop_names`` (str[P]) and per population i: ``pop{i}_params`` = [n, du, dv, vth],
``pop{i}_bias_mant``, ``pop{i}_bias_exp`` (int64[n]);
optionally ``pop_steps`` (int64[P]: steps to run for the part of the network holding the
population, at most ``n_steps``; later steps are left 0); ``input_names`` (str[I]) and ``input{i}_spikes`` (uint8[n_steps, batch, n]);
``conn_names``, ``conn_kinds`` ("dense" | "sparse" | "delay_dense"), ``conn_sources``,
``conn_targets`` (str[C]) and per connection j: ``conn{j}_params`` = [sign_mode code
(1 mixed, 2 excitatory, 3 inhibitory, as lava's SignMode), num_weight_bits, weight_exp],
``conn{j}_weights`` (int64[n_t, n_s]) for dense/delay_dense, ``conn{j}_delays`` for
delay_dense, ``conn{j}_coo`` (int64[3, nnz]: rows, cols, values) and ``conn{j}_shape`` for
sparse.

The result file has ``pop_names``, ``spikes{i}`` (uint8[n_steps, batch, n]), optionally
``v{i}`` (int32[n_steps, batch, n]), ``lava_version``, ``seconds_build``, ``seconds_run``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from spikesim._validate import check_int
from spikesim.errors import ConfigError, ParameterError, ShapeError

from .network import DelayDense, LoihiNetwork, SignMode, Sparse, require_memory, spike_array

__all__ = [
    "EXCHANGE_FORMAT",
    "EXCHANGE_VERSION",
    "SIGN_MODE_CODES",
    "check_run",
    "read_result",
    "write_network",
]

EXCHANGE_FORMAT = "spikesim-loihi-exchange"
EXCHANGE_VERSION = 1
SIGN_MODE_CODES = {SignMode.MIXED: 1, SignMode.EXCITATORY: 2, SignMode.INHIBITORY: 3}


def check_run(
    where: str,
    net: LoihiNetwork,
    *,
    n_steps: Any,
    inputs: Any,
    batch_size: Any = None,
    steps_per_population: Any = None,
    record_v: Any = False,
) -> tuple[dict[str, np.ndarray], int]:
    """Check a Lava run's arguments before anything is written or started; returns the
    inputs as uint8 numpy arrays ``[n_steps, batch, n]`` and the batch size.

    ``inputs``: input name -> 0/1 spikes (numpy or torch), exactly one per input of ``net``;
    ``batch_size`` (default: the inputs' batch, else 1) must match them. A run whose
    spikes (and ``v`` with ``record_v``) would not fit in memory is refused."""
    if not isinstance(net, LoihiNetwork):
        raise ParameterError(where, "net", "a LoihiNetwork", type(net).__name__)
    n_steps = check_int(where, "n_steps", n_steps, minimum=1)
    if batch_size is not None:
        batch_size = check_int(where, "batch_size", batch_size, minimum=1)
    if not isinstance(record_v, (bool, np.bool_)):
        raise ParameterError(where, "record_v", "True or False", record_v)
    if inputs is not None and not isinstance(inputs, Mapping):
        raise ParameterError(
            where, "inputs", "a dict of input name -> spikes", type(inputs).__name__
        )
    inputs = dict(inputs or {})
    names = {i.name: i.n for i in net.inputs}
    if set(inputs) != set(names):
        raise ParameterError(
            where, "inputs", f"exactly one spike train per input {sorted(names)}", sorted(inputs)
        )
    batch = batch_size
    out: dict[str, np.ndarray] = {}
    for name, data in inputs.items():
        arr = spike_array(f"input {name!r}", "spikes", data)
        if batch is None and arr.ndim == 3:
            batch = int(arr.shape[1])
        expected = (n_steps, batch if batch is not None else -1, names[name])
        if arr.shape != expected:
            raise ShapeError(f"input {name!r}", "spikes [n_steps, batch, n]", expected, arr.shape)
        out[name] = arr
    batch = 1 if batch is None else batch
    if batch < 1:  # inputs of shape [n_steps, 0, n]
        raise ParameterError(where, "batch_size", "an integer >= 1 (the inputs' batch)", batch)
    n = sum(p.n for p in net.populations)
    require_memory(
        where,
        "n_steps",
        float(n_steps) * batch * n * (5 if record_v else 1),
        f"{n_steps} steps x batch {batch} x {n} neurons of results",
        hint="Run fewer steps (or a smaller batch) at a time.",
    )
    if steps_per_population is not None:
        if not isinstance(steps_per_population, Mapping):
            raise ParameterError(
                where, "steps_per_population", "a dict of population name -> steps",
                type(steps_per_population).__name__,
            )  # fmt: skip
        pops = [p.name for p in net.populations]
        for key, value in steps_per_population.items():
            if key not in pops:
                raise ParameterError(
                    where, "steps_per_population", f"keys among the populations {pops}", key
                )
            steps = check_int(f"{where}: steps_per_population", repr(key), value, minimum=1)
            if steps > n_steps:
                raise ParameterError(
                    f"{where}: steps_per_population", repr(key), f"at most n_steps ({n_steps})",
                    steps,
                )  # fmt: skip
    return out, batch


def write_network(
    net: LoihiNetwork,
    path: str | os.PathLike[str],
    *,
    n_steps: int,
    inputs: dict[str, np.ndarray],
    batch: int,
    record_v: bool = False,
    steps_per_population: dict[str, int] | None = None,
) -> None:
    """Write ``net`` and its inputs ``[n_steps, batch, n]`` to ``path`` (checked first with
    :func:`check_run`; a path in a missing folder is a ParameterError, see
    :func:`~spikesim.hardware.hdf5_files.writable_path`).

    ``steps_per_population`` lets the runner stop a disconnected part early (merged cases of
    different lengths)."""
    from ..hdf5_files import writable_path

    path = writable_path("write_network", path)
    inputs, batch = check_run(
        "write_network",
        net,
        n_steps=n_steps,
        inputs=inputs,
        batch_size=batch,
        steps_per_population=steps_per_population,
        record_v=record_v,
    )
    n_steps = int(n_steps)
    arrays: dict[str, Any] = {
        "format": np.array(EXCHANGE_FORMAT),
        "version": np.array(EXCHANGE_VERSION),
        "n_steps": np.array(n_steps),
        "batch": np.array(batch),
        "record_v": np.array(int(record_v)),
        "pop_names": np.array([p.name for p in net.populations], dtype=str),
        "input_names": np.array([i.name for i in net.inputs], dtype=str),
        "conn_names": np.array([c.name for c in net.connections], dtype=str),
        "conn_kinds": np.array(
            [
                "sparse"
                if isinstance(c, Sparse)
                else "delay_dense"
                if isinstance(c, DelayDense)
                else "dense"
                for c in net.connections
            ],
            dtype="<U11",
        ),
        "conn_sources": np.array([c.source for c in net.connections], dtype=str),
        "conn_targets": np.array([c.target for c in net.connections], dtype=str),
    }
    if steps_per_population is not None:
        arrays["pop_steps"] = np.array(
            [min(int(steps_per_population.get(p.name, n_steps)), n_steps) for p in net.populations],
            dtype=np.int64,
        )
    for i, p in enumerate(net.populations):
        arrays[f"pop{i}_params"] = np.array([p.n, p.du, p.dv, p.vth], dtype=np.int64)
        arrays[f"pop{i}_bias_mant"] = p.bias_mant
        arrays[f"pop{i}_bias_exp"] = p.bias_exp
    for i, inp in enumerate(net.inputs):
        arrays[f"input{i}_spikes"] = np.asarray(inputs[inp.name], dtype=np.uint8)
    for j, c in enumerate(net.connections):
        arrays[f"conn{j}_params"] = np.array(
            [SIGN_MODE_CODES[SignMode(c.sign_mode)], c.num_weight_bits, c.weight_exp],
            dtype=np.int64,
        )
        if isinstance(c, Sparse):
            arrays[f"conn{j}_coo"] = np.stack([c.rows, c.cols, c.values]).astype(np.int64)
            arrays[f"conn{j}_shape"] = np.array(c.shape, dtype=np.int64)
        else:
            arrays[f"conn{j}_weights"] = c.weights
            if isinstance(c, DelayDense):
                arrays[f"conn{j}_delays"] = c.delays
    with open(path, "wb") as fh:
        np.savez(fh, **arrays)


def read_result(
    path: str | os.PathLike[str],
    net: LoihiNetwork,
    *,
    n_steps: int | None = None,
    batch: int | None = None,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray] | None, dict[str, Any]]:
    """Read the runner's result file: (spikes, v or None, info) keyed by population name.

    Every ``spikes{i}`` (and ``v{i}``, when present) must have the shape ``[n_steps, batch,
    n]`` of its population (``n_steps`` and ``batch`` when given, else one shape for all),
    spikes 0/1 and v integers; anything else raises :class:`~spikesim.errors.ConfigError`
    naming the file and key."""
    from ..lava_runner import ExchangeFileError, load_npz

    p = str(Path(path))
    try:
        data = load_npz(p, what="Lava result file")
    except ExchangeFileError as err:
        raise ConfigError(p, err.key, err.problem) from None
    if "pop_names" not in data or data["pop_names"].dtype.kind != "U":
        raise ConfigError(p, "pop_names", "missing or not an array of names")
    names = [str(x) for x in np.atleast_1d(data["pop_names"])]
    expected = [q.name for q in net.populations]
    if names != expected:
        raise ConfigError(p, "pop_names", f"expected {expected}, found {names}")
    lead: tuple[int | None, int | None] = (n_steps, batch)
    record_v = "v0" in data
    spikes: dict[str, np.ndarray] = {}
    v: dict[str, np.ndarray] | None = {} if record_v else None
    for i, pop in enumerate(net.populations):
        for key, kinds in ((f"spikes{i}", "iub"), *(((f"v{i}", "iu"),) if record_v else ())):
            a = data.get(key)
            if a is None:
                raise ConfigError(p, key, f"missing (population {pop.name!r})")
            ok = a.ndim == 3 and a.dtype.kind in kinds and a.shape[2] == pop.n
            ok = ok and all(
                want is None or want == got for want, got in zip(lead, a.shape[:2], strict=True)
            )
            if not ok:
                shape = tuple("?" if x is None else x for x in lead) + (pop.n,)
                raise ConfigError(
                    p, key, f"expected integers of shape {shape}, found {a.dtype} {a.shape}"
                )
            lead = (a.shape[0], a.shape[1])
            if key.startswith("spikes"):
                if a.size and (a.min() < 0 or a.max() > 1):
                    raise ConfigError(p, key, f"expected 0/1 spikes, found {a.min()}..{a.max()}")
                spikes[pop.name] = a.astype(bool)
            elif v is not None:
                if a.size and (a.min() < -(2**31) or a.max() > 2**31 - 1):
                    raise ConfigError(p, key, "expected int32 voltages")
                v[pop.name] = a.astype(np.int32)
    info = {
        k: (data[k].item() if data[k].ndim == 0 else data[k])
        for k in ("lava_version", "seconds_build", "seconds_run")
        if k in data
    }
    return spikes, v, info
