"""spikesim.sweep: grids, HDF5 gathering, configs, process pool, Ray, kill-and-resume."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

from spikesim.errors import ConfigError, ParameterError
from spikesim.sweep import Checkpoint, SweepError, expand_grid, load_sweep, run_config, sweep

# an importable experiment module (spawned workers and subprocesses import it by name)
EXPERIMENT = textwrap.dedent(
    '''
    import os, time
    import numpy as np

    LOG = os.environ.get("SWEEP_TEST_LOG")

    def _log(line):
        if LOG:
            with open(LOG, "a") as f:
                f.write(line + "\\n")

    def quadratic(*, a, b, seed=0, pause_s=0.0):
        _log(f"point {a} {b} {seed}")
        time.sleep(pause_s)
        rng = np.random.default_rng(seed)
        return {"y": a * a + b, "noise": float(rng.normal()), "trace": np.arange(3) * a, "tag": f"a{a}"}

    def failing(*, a):
        if a == 2:
            raise RuntimeError("bad point")
        return {"y": a}

    def long_walk(*, seed, n_steps=100, every=10, pause_s=0.0, checkpoint=None):
        """A seeded random walk that checkpoints its state every `every` steps."""
        state = checkpoint.load() if checkpoint is not None else None
        k, x = (int(state["k"]), float(state["x"])) if state else (0, 0.0)
        while k < n_steps:
            x += np.random.default_rng([seed, k]).normal()
            k += 1
            _log(f"step {k}")
            time.sleep(pause_s)
            if checkpoint is not None and k % every == 0:
                checkpoint.save({"k": k, "x": x})
        return {"x": x}
    '''
)


@pytest.fixture
def expmod(tmp_path, monkeypatch):
    d = tmp_path / "mods"
    d.mkdir()
    (d / "sweep_exp.py").write_text(EXPERIMENT)
    monkeypatch.syspath_prepend(str(d))
    log = tmp_path / "calls.log"
    monkeypatch.setenv("SWEEP_TEST_LOG", str(log))
    import importlib

    mod = importlib.import_module("sweep_exp")
    mod = importlib.reload(mod)
    return mod, d, log


def _lines(log: Path, prefix: str) -> list[str]:
    return (
        [ln for ln in log.read_text().splitlines() if ln.startswith(prefix)] if log.exists() else []
    )


def test_expand_grid_order_and_errors():
    pts = expand_grid({"a": [1, 2], "b": [10, 20, 30]})
    assert len(pts) == 6 and pts[0] == {"a": 1, "b": 10} and pts[1] == {"a": 1, "b": 20}
    assert expand_grid([{"x": 1}, {"x": 2.5}]) == [{"x": 1}, {"x": 2.5}]
    with pytest.raises(ParameterError, match="grid\\['a'\\]"):
        expand_grid({"a": []})
    with pytest.raises(ParameterError, match="points\\[0\\]\\['a'\\]"):
        expand_grid([{"a": [1, 2]}])
    with pytest.raises(ParameterError, match="fn"):
        sweep("no_such_module_xyz:f", {"a": [1]}, progress=False)


def test_sweep_gathers_into_one_hdf5(expmod, tmp_path):
    mod, _, log = expmod
    out = tmp_path / "r.h5"
    res = sweep(
        mod.quadratic,
        {"a": [1, 2, 3], "b": [0.5, 1.0]},
        out=out,
        progress=False,
        checkpoint_every=2,
    )
    assert np.allclose(res.column("y"), [1.5, 2.0, 4.5, 5.0, 9.5, 10.0])
    assert not (tmp_path / "r.h5.partial").exists()
    back = load_sweep(out)
    assert back.params == res.params
    assert np.array_equal(back.results[4]["trace"], [0, 3, 6]) and back.results[4]["tag"] == "a3"
    with h5py.File(out, "r") as f:
        assert f.attrs["complete"] and f.attrs["n_points"] == 6
        assert np.allclose(f["table/y"][:], res.column("y"))
        assert np.allclose(f["table/a"][:], [1, 1, 2, 2, 3, 3])
    # a completed sweep is not recomputed with resume=True
    n = len(_lines(log, "point"))
    again = sweep(mod.quadratic, {"a": [1, 2, 3], "b": [0.5, 1.0]}, out=out, progress=False)
    assert len(_lines(log, "point")) == n
    assert np.array_equal(again.column("noise"), res.column("noise"))


def test_errors_recorded_or_raised(expmod, tmp_path):
    mod, _, _ = expmod
    res = sweep(
        mod.failing, {"a": [1, 2, 3]}, out=tmp_path / "e.h5", progress=False, on_error="record"
    )
    assert res.errors[1] is not None and "bad point" in res.errors[1]
    assert res.results[0] == {"y": 1} and np.isnan(res.column("y")[1])
    with pytest.raises(SweepError, match="1 of 3 points failed"):
        sweep(mod.failing, {"a": [1, 2, 3]}, out=tmp_path / "e2.h5", progress=False)


@pytest.mark.slow
def test_process_pool_matches_serial(expmod, tmp_path):
    mod, _, _ = expmod
    grid = {"a": [1, 2], "b": [0.0], "seed": [3, 4]}
    serial = sweep(mod.quadratic, grid, out=tmp_path / "s.h5", progress=False)
    pool = sweep("sweep_exp:quadratic", grid, out=tmp_path / "p.h5", progress=False, workers=2)
    assert np.array_equal(serial.column("noise"), pool.column("noise"))
    assert np.array_equal(serial.column("y"), pool.column("y"))


def test_toml_config(expmod, tmp_path):
    cfg = tmp_path / "exp.toml"
    cfg.write_text(
        'experiment = "sweep_exp:quadratic"\n[grid]\na = [1, 2]\n[fixed]\nb = 0.25\n[options]\nout = "cfg.h5"\nprogress = false\n'
    )
    res = run_config(cfg)
    assert res.path == tmp_path / "cfg.h5" and np.allclose(res.column("y"), [1.25, 4.25])
    cfg.write_text('experiment = "sweep_exp:quadratic"\n[grid]\na = [1]\n[options]\nthreads = 2\n')
    with pytest.raises(ConfigError, match="options.threads"):
        run_config(cfg)


def _run_and_kill(script: Path, env: dict, ready) -> None:
    err = script.with_suffix(".err")
    with open(err, "wb") as ferr:
        proc = subprocess.Popen(
            [sys.executable, str(script)], env=env, stdout=subprocess.DEVNULL, stderr=ferr
        )
    try:
        for _ in range(3000):  # poll (up to ~60 s) until the run has progressed far enough
            if ready() or proc.poll() is not None:
                break
            time.sleep(0.02)
        assert proc.poll() is None, f"run ended before it was killed: {err.read_text()[-2000:]}"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()


def test_sweep_killed_and_resumed_loses_at_most_one_interval(expmod, tmp_path):
    mod, moddir, log = expmod
    out = tmp_path / "k.h5"
    grid = {"a": list(range(30)), "b": [0.0], "pause_s": [0.03]}
    script = tmp_path / "run.py"
    script.write_text(
        "import sweep_exp\nfrom spikesim.sweep import sweep\n"
        f"sweep(sweep_exp.quadratic, {grid!r}, out={str(out)!r}, progress=False, checkpoint_every=3)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(moddir), "SWEEP_TEST_LOG": str(log)}
    partial = tmp_path / "k.h5.partial"
    _run_and_kill(script, env, lambda: len(list(partial.glob("chunk_*.h5"))) >= 3)
    assert not out.exists()
    before = len(_lines(log, "point"))  # points started before the kill
    res = sweep(mod.quadratic, grid, out=out, progress=False, checkpoint_every=3)
    total = len(_lines(log, "point"))
    recomputed = total - before  # points computed after resuming
    # lost: at most the unsaved part of one checkpoint interval (2) plus the point in flight
    assert 30 - before <= recomputed <= 30 - before + 3
    assert np.allclose(res.column("y"), np.arange(30) ** 2)


def test_long_experiment_killed_and_resumed_loses_at_most_one_checkpoint(expmod, tmp_path):
    mod, moddir, log = expmod
    out = tmp_path / "w.h5"
    script = tmp_path / "walk.py"
    script.write_text(
        "import sweep_exp\nfrom spikesim.sweep import sweep\n"
        f"sweep(sweep_exp.long_walk, [{{'seed': 7, 'n_steps': 200, 'every': 10, 'pause_s': 0.01}}], out={str(out)!r}, progress=False)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(moddir), "SWEEP_TEST_LOG": str(log)}
    _run_and_kill(script, env, lambda: len(_lines(log, "step")) >= 75)
    n_before = len(_lines(log, "step"))
    assert 75 <= n_before < 200
    res = sweep(
        mod.long_walk,
        [{"seed": 7, "n_steps": 200, "every": 10, "pause_s": 0.01}],
        out=out,
        progress=False,
    )
    redone = len(_lines(log, "step")) - 200  # steps computed twice
    assert 0 <= redone <= 10
    ref = mod.long_walk(seed=7, n_steps=200)
    assert res.results[0]["x"] == pytest.approx(ref["x"], abs=1e-12)


def test_checkpoint_roundtrip(tmp_path):
    ck = Checkpoint(tmp_path / "c" / "s.h5")
    assert ck.load() is None
    ck.save({"w": np.eye(2), "k": 3, "name": "x"})
    st = ck.load()
    assert np.array_equal(st["w"], np.eye(2)) and st["k"] == 3 and st["name"] == "x"
    with pytest.raises(ParameterError, match="result 'bad'"):
        ck.save({"bad": object()})


@pytest.mark.slow
def test_ray_backend_local(expmod, tmp_path):
    pytest.importorskip("ray")
    mod, _, _ = expmod
    grid = {"a": [1, 2, 3], "b": [1.0]}
    res = sweep(
        "sweep_exp:quadratic",
        grid,
        backend="ray",
        workers=2,
        out=tmp_path / "ray.h5",
        progress=False,
    )
    assert np.allclose(res.column("y"), [2.0, 5.0, 10.0])
