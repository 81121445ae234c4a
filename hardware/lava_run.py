"""Drive Lava (lava-nc 0.10, ``fixed_pt`` on CPU) from spikesim through a subprocess.

:func:`run_in_lava` writes the network and its inputs to an npz exchange file, runs
``lava_runner.py`` with the managed Lava environment's interpreter (see
:mod:`spikesim.hardware.lava_env`) and reads the spikes back.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from spikesim.errors import ParameterError, SimulationError

from . import lava_env
from .loihi.exchange import read_result, write_network
from .loihi.network import LoihiNetwork

__all__ = ["LavaResult", "RUNNER", "run_in_lava"]

#: The script executed inside the Lava environment.
RUNNER = Path(__file__).resolve().parent / "lava_runner.py"


@dataclass(frozen=True, eq=False)
class LavaResult:
    """Spikes (``[n_steps, batch, n]`` bool) and optional ``v`` (int32) per population."""

    spikes: dict[str, np.ndarray]
    v: dict[str, np.ndarray] | None
    lava_version: str
    seconds_run: float
    seconds_total: float


def _as_numpy_inputs(
    net: LoihiNetwork, inputs: dict[str, Any] | None, n_steps: int, batch_size: int | None
) -> tuple[dict[str, np.ndarray], int]:
    inputs = dict(inputs or {})
    names = {i.name: i.n for i in net.inputs}
    if set(inputs) != set(names):
        raise ParameterError(
            "run_in_lava",
            "inputs",
            f"exactly one spike train per input {sorted(names)}",
            sorted(inputs),
        )
    batch = batch_size
    out: dict[str, np.ndarray] = {}
    for name, data in inputs.items():
        arr = data.detach().cpu().numpy() if hasattr(data, "detach") else np.asarray(data)
        if batch is None and arr.ndim == 3:
            batch = arr.shape[1]
        expected = (n_steps, batch if batch is not None else -1, names[name])
        if arr.shape != expected:
            from spikesim.errors import ShapeError

            raise ShapeError(f"input {name!r}", "spikes [n_steps, batch, n]", expected, arr.shape)
        if arr.dtype != np.bool_ and not np.isin(arr, (0, 1)).all():
            raise ParameterError(
                f"input {name!r}", "spikes", "binary values (0/1 or bool)", "other values"
            )
        out[name] = arr.astype(np.uint8)
    batch = 1 if batch is None else batch
    if isinstance(batch, bool) or not isinstance(batch, (int, np.integer)) or batch < 1:
        raise ParameterError("run_in_lava", "batch_size", "an integer >= 1", batch)
    return out, int(batch)


def run_in_lava(
    net: LoihiNetwork,
    *,
    n_steps: int,
    inputs: dict[str, Any] | None = None,
    batch_size: int | None = None,
    record_v: bool = False,
    env: str | os.PathLike[str] | None = None,
    timeout_s: float = 1800.0,
    steps_per_population: dict[str, int] | None = None,
) -> LavaResult:
    """Run ``net`` in Lava's bit-accurate fixed-point CPU simulation.

    Same inputs as :func:`~spikesim.hardware.loihi.simulate_fixed_point` (input name ->
    ``[n_steps, batch, n]`` 0/1); each batch element is a separate Lava run. ``record_v``
    also returns the membrane voltage after each step. ``steps_per_population`` stops the
    disconnected part holding a population after that many steps (its later steps read 0).
    Raises
    :class:`~spikesim.hardware.lava_env.LavaEnvError` when the Lava environment is not set
    up (run ``spikesim lava setup``) and :class:`~spikesim.errors.SimulationError` when Lava
    fails (its output is included).
    """
    if isinstance(n_steps, bool) or not isinstance(n_steps, (int, np.integer)) or n_steps < 1:
        raise ParameterError("run_in_lava", "n_steps", "an integer >= 1", n_steps)
    if not isinstance(net, LoihiNetwork):
        raise ParameterError("run_in_lava", "net", "a LoihiNetwork", type(net).__name__)
    ins, batch = _as_numpy_inputs(net, inputs, int(n_steps), batch_size)
    python = lava_env.require_ready(env)
    import time

    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="spikesim-lava-") as tmp:
        net_file = Path(tmp) / "network.npz"
        out_file = Path(tmp) / "result.npz"
        write_network(
            net,
            net_file,
            n_steps=int(n_steps),
            inputs=ins,
            batch=batch,
            record_v=record_v,
            steps_per_population=steps_per_population,
        )
        lava_env.run_script(
            python,
            RUNNER,
            [str(net_file), str(out_file)],
            cwd=tmp,
            timeout_s=timeout_s,
            what="lava",
        )
        if not out_file.exists():
            raise SimulationError("lava", 0, f"{RUNNER.name} wrote no result file {out_file}")
        spikes, v, info = read_result(out_file, net, n_steps=int(n_steps), batch=batch)
    return LavaResult(
        spikes=spikes,
        v=v,
        lava_version=str(info.get("lava_version", "")),
        seconds_run=float(info.get("seconds_run", float("nan"))),
        seconds_total=time.perf_counter() - t0,
    )
