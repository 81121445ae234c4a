"""Results: HDF5 files with the description, settings and provenance; streaming; reruns."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

import spikesim as ss
from spikesim.errors import ParameterError


def _net() -> ss.Network:
    net = ss.Network(dt_s=1e-4, name="results")
    net.add_poisson("in", 100, rate_hz=ss.Uniform(10.0, 30.0))
    net.add_population(
        "n", 50, ss.LIF(tau_mem_s=10e-3, tau_syn_exc_s=2e-3, v_init_mV=ss.Uniform(-65.0, -55.0))
    )
    net.add_projection("p", "in", "n", ss.FixedFanIn(k=20, weight=ss.Normal(12.0, 2.0)))
    net.monitor_spikes("n")
    net.monitor_state("n", ["v", "i_exc"], indices=[0, 3], every_steps=5)
    net.monitor_rate("n", bin_s=1e-3)
    return net


def _same(a: ss.Result, b: ss.Result) -> None:
    for name in a.spikes:
        for key in ("step", "batch", "index"):
            assert np.array_equal(getattr(a.spikes[name], key), getattr(b.spikes[name], key)), (
                name,
                key,
            )
    for name in a.states:
        assert np.array_equal(a.states[name].steps, b.states[name].steps)
        for var in a.states[name].values:
            assert np.array_equal(a.states[name].values[var], b.states[name].values[var])
    for name in a.rates:
        assert np.array_equal(a.rates[name].rate_hz, b.rates[name].rate_hz)


def test_streamed_file_equals_in_memory_result(tmp_path):
    path = tmp_path / "run.h5"
    mem = ss.Simulator(_net(), seed=4, batch_size=2).run(0.05)
    streamed = ss.Simulator(_net(), seed=4, batch_size=2).run(0.05, out=path, chunk_steps=37)
    assert mem.spikes["n_spikes"].count() > 20
    _same(mem, streamed)
    _same(mem, ss.Result.from_hdf5(path))
    assert streamed.states["n_state"].values["v"].shape == (100, 2, 2)


def test_result_file_carries_description_settings_and_provenance(tmp_path):
    path = tmp_path / "run.h5"
    res = ss.simulate(_net(), duration_s=0.02, seed=7, out=path)
    back = ss.Result.from_hdf5(path)
    assert back.run["seed"] == 7 and back.run["n_steps"] == 200 and back.run["mode"] == "spiking"
    assert back.run["dtype"] == "float32" and back.run["device"] == "cpu"
    assert {"spikesim", "torch", "numpy"} <= set(back.provenance["versions"])
    assert back.network == res.network
    assert ss.Network.from_hdf5(path).to_dict() == _net().to_dict()


def test_rerun_reproduces_the_recorded_run_exactly(tmp_path):
    path = tmp_path / "run.h5"
    first = ss.simulate(_net(), duration_s=0.03, seed=12, out=path, batch_size=3)
    again = ss.rerun(path)
    assert first.spikes["n_spikes"].count() > 0
    _same(first, again)


def test_rerun_applies_its_options(tmp_path):
    path = tmp_path / "run.h5"
    first = ss.simulate(_net(), duration_s=0.03, seed=12, out=path, batch_size=3)
    out = tmp_path / "again.h5"
    short = ss.rerun(path, duration_s=0.02, out=out, chunk_steps=33, progress=False)
    assert short.run["n_steps"] == 200 and short.duration_s == pytest.approx(0.02)
    assert short.run["seed"] == 12 and short.run["batch_size"] == 3
    assert ss.Result.from_hdf5(out).run["n_steps"] == 200  # the file was written
    # a shorter rerun repeats the start of the recorded run, spike for spike
    a, b = first.spikes["n_spikes"], short.spikes["n_spikes"]
    keep = a.step < 200
    assert b.count() > 0 and b.count() == int(keep.sum())
    for key in ("step", "batch", "index"):
        assert np.array_equal(getattr(a, key)[keep], getattr(b, key)), key
    wide = ss.rerun(path, dtype="float64", duration_s=0.01)
    assert wide.run["dtype"] == "float64" and wide.run["n_steps"] == 100


def test_rerun_refuses_options_it_cannot_apply(tmp_path):
    path = tmp_path / "run.h5"
    ss.simulate(_net(), duration_s=0.01, seed=1, out=path)
    with pytest.raises(ss.ConfigError, match="'bogus'.*accepted: duration_s, device") as err:
        ss.rerun(path, duration_s=0.1, bogus=3)
    assert err.value.key == "bogus"
    with pytest.raises(ss.ConfigError, match="keeps the recorded seed"):
        ss.rerun(path, seed=2)
    with pytest.raises(ParameterError, match="duration_s"):
        ss.rerun(path, duration_s=-1.0)


def test_interrupted_run_leaves_an_incomplete_file(tmp_path):
    path = tmp_path / "bad.h5"
    net = _net()
    net.add_spike_times("kick", 1, indices=[0, 0], times_s=[0.02, 0.0201])
    net.add_projection("boom", "kick", "n", ss.Dense(weight=3e38))  # float32 overflow at 20 ms
    with pytest.raises(ss.SimulationError):
        ss.Simulator(net, seed=1).run(0.05, out=path, chunk_steps=50)
    with h5py.File(path, "r") as f:
        assert not f.attrs["complete"]
    with pytest.raises(ParameterError, match="allow_incomplete"):
        ss.Result.from_hdf5(path)
    partial = ss.Result.from_hdf5(path, allow_incomplete=True)
    steps = partial.spikes["n_spikes"].step
    assert steps.size > 0 and steps.max() < 200  # what was streamed before the failure


def test_not_a_result_file(tmp_path):
    path = tmp_path / "other.h5"
    with h5py.File(path, "w") as f:
        f["x"] = 1
    with pytest.raises(ParameterError, match="result file"):
        ss.Result.from_hdf5(path)


def test_summary_and_statistics():
    res = ss.simulate(_net(), duration_s=0.05, seed=2)
    s = res.spikes["n_spikes"]
    assert res.mean_rate_hz("n_spikes") == pytest.approx(s.count() / (50 * 0.05))
    assert res.rates["n_rate"].rate_hz.mean() == pytest.approx(
        res.mean_rate_hz("n_spikes"), rel=1e-6
    )
    assert "n_spikes" in res.summary()
    with pytest.raises(ParameterError, match="monitor"):
        res.mean_rate_hz("nope")
