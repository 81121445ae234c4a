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

from spikesim._validate import check_positive
from spikesim.errors import SimulationError

from . import lava_env
from .loihi.exchange import check_run, read_result, write_network
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
    ins, batch = check_run(
        "run_in_lava",
        net,
        n_steps=n_steps,
        inputs=inputs,
        batch_size=batch_size,
        steps_per_population=steps_per_population,
        record_v=record_v,
    )
    check_positive("run_in_lava", "timeout_s", timeout_s)
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
