"""The network description: building, validation errors, and round trips (dict, TOML, HDF5)."""

from __future__ import annotations

import numpy as np
import pytest

import spikesim as ss
from spikesim.errors import ConfigError, ParameterError, ShapeError


def _rich_network() -> ss.Network:
    net = ss.Network(dt_s=1e-4, name="rich")
    net.add_poisson("noise", 50, rate_hz=ss.Uniform(5.0, 15.0))
    net.add_spike_times("cue", 4, indices=[0, 1, 3], times_s=[0.001, 0.002, 0.0035])
    net.add_spike_tensor("pixels", 2 * 4 * 4, shape=(2, 4, 4), values="count")
    net.add_spike_tensor("drive", 3)  # values="real", the default, is not written
    net.add_population(
        "exc",
        40,
        ss.LIF(tau_mem_s=15e-3, t_ref_s=2e-3, v_init_mV=ss.Normal(-60.0, 2.0)),
        layout=ss.Ring(circumference_m=0.04),
    )
    net.add_population("inh", 10, ss.AdLIF(tau_adapt_s=0.2, b_mV=0.5))
    net.add_population("cuba", 2 * 3 * 3, ss.CubaLIF(tau_syn_s=4e-3, bias=0.01), shape=(2, 3, 3))
    net.add_population("izh", 5, ss.Izhikevich(i_bias=ss.Uniform(5.0, 10.0)))
    net.add_population(
        "sheet",
        16,
        ss.RateUnit(tau_s=10e-3),
        shape=(4, 4),
        layout=ss.Sheet(rows=4, cols=4, spacing_m=1e-3),
    )
    net.add_projection("n_e", "noise", "exc", ss.FixedFanIn(k=5, weight=ss.LogNormal(0.0, 0.5)))
    net.add_projection(
        "e_e",
        "exc",
        "exc",
        ss.DistanceDependent(p_max=0.5, sigma_m=5e-3, weight=0.2, speed_m_s=1.0),
    )
    net.add_projection("e_i", "exc", "inh", ss.Sparse(p=0.3, weight=0.5), delay_steps=3)
    net.add_projection("i_e", "inh", "exc", ss.Dense(weight=0.1), receptor="inh")
    kernel = np.arange(2 * 2 * 2 * 2, dtype=float).reshape(2, 2, 2, 2) / 10
    net.add_projection(
        "conv", "pixels", "cuba", ss.Conv2d(kernel=kernel, stride=1, padding=0), trainable=True
    )
    net.add_projection(
        "ring", "exc", "exc", ss.Circulant(offsets=(-1, 1), weights=np.array([0.3, 0.7]))
    )
    net.add_projection(
        "cue_i",
        "cue",
        "izh",
        ss.Explicit(
            pre=np.array([0, 1, 3]), post=np.array([0, 2, 4]), weight=np.array([1.0, 2.0, 3.0])
        ),
    )
    net.add_projection("one", "izh", "izh", ss.OneToOne(weight=0.5))
    net.add_current("step", "exc", amplitude_mV=np.linspace(0, 10, 40), start_s=0.01, stop_s=0.02)
    net.monitor_spikes("exc", indices=[0, 5, 7])
    net.monitor_state("inh", ["v", "w"], every_steps=2)
    net.monitor_rate("sheet", bin_s=2e-3)
    return net


def test_dict_round_trip_is_exact():
    net = _rich_network()
    d = net.to_dict()
    again = ss.Network.from_dict(d).to_dict()
    assert again == d
    # plain builtins only (JSON/TOML ready)
    import json

    assert json.loads(json.dumps(d)) == d


def test_toml_round_trip(tmp_path):
    net = _rich_network()
    path = tmp_path / "net.toml"
    net.to_toml(path)
    assert ss.Network.from_toml(path).to_dict() == net.to_dict()


def test_hdf5_round_trip_keeps_weights(tmp_path):
    net = _rich_network().frozen(seed=5)
    path = tmp_path / "net.h5"
    net.to_hdf5(path)
    back = ss.Network.from_hdf5(path)
    assert back.to_dict() == net.to_dict()
    # the frozen weights of a random projection survive as arrays
    w0 = np.asarray(net.projections["n_e"].connectivity.weight)
    w1 = np.asarray(back.projections["n_e"].connectivity.weight)
    assert w0.shape == (40 * 5,) and np.array_equal(w0, w1)


def test_frozen_is_deterministic_and_matches_simulator_draws():
    net = _rich_network()
    a, b = net.frozen(seed=11), net.frozen(seed=11)
    assert a.to_dict() == b.to_dict()
    assert a.to_dict() != net.frozen(seed=12).to_dict()
    # frozen per-neuron values are the values the simulator draws with the same seed
    sim = ss.Simulator(net, seed=11)
    v0 = np.asarray(a.populations["exc"].model.v_init_mV)
    state = sim.pops["exc"].init(1)
    assert np.allclose(state.v.numpy()[0], v0, atol=1e-5)


def test_large_pairwise_draws_show_progress_and_draw_the_same(monkeypatch, capsys):
    """Sparse and DistanceDependent draw every (pre, post) pair (~50-150 ns each): from
    2^31 pairs on a bar on stderr says it is drawing; the synapses are the same with it."""
    import spikesim.connectivity as conn

    net = ss.Network(dt_s=1e-4)
    net.add_population("a", 300, ss.LIF(), layout=ss.Ring(circumference_m=1.0))
    net.add_population("b", 200, ss.LIF(), layout=ss.Ring(circumference_m=1.0))
    net.add_projection("sp", "a", "b", ss.Sparse(p=0.1, weight=1.0))
    net.add_projection("dd", "a", "b", ss.DistanceDependent(p_max=0.5, sigma_m=0.05))
    quiet = net.frozen(seed=3).to_dict()
    assert capsys.readouterr().err == ""
    monkeypatch.setattr(conn, "_PROGRESS_PAIRS", 300 * 200)
    monkeypatch.setattr(conn, "_MAX_MASK_ELEMENTS", 300 * 50)  # 4 blocks of 50 rows
    assert net.frozen(seed=3).to_dict() == quiet
    err = capsys.readouterr().err
    for name in ("sp", "dd"):
        assert f"drawing projection '{name}': 100%" in err and "60.0k/60.0k" in err, err


def test_unknown_key_in_config_is_named():
    d = _rich_network().to_dict()
    d["populations"][3]["modle"] = {}
    with pytest.raises(ConfigError, match="modle"):
        ss.Network.from_dict(d, source="bad.toml")


def test_bad_toml_syntax(tmp_path):
    path = tmp_path / "broken.toml"
    path.write_text("[network\n dt_s = ")
    with pytest.raises(ConfigError, match="broken.toml"):
        ss.Network.from_toml(path)


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda n: n.add_population("p", 10, ss.LIF(tau_mem_s=-1.0)), "tau_mem_s"),
        (lambda n: n.add_population("p", 0, ss.LIF()), "size"),
        (lambda n: n.add_population("p", 10, ss.LIF(v_th_mV=-70.0, v_reset_mV=-65.0)), "v_th_mV"),
        (lambda n: n.add_population("p", 10, ss.LIF(synapse="voltage")), "synapse"),
        (lambda n: n.add_projection("x", "a", "nowhere", ss.Dense()), "post"),
        (lambda n: n.add_projection("x", "a", "b", ss.Sparse(p=1.5)), "p"),
        (lambda n: n.add_projection("x", "a", "b", ss.Dense(), receptor="glu"), "receptor"),
        (lambda n: n.add_projection("x", "a", "b", ss.Dense(), delay_steps=-1), "delay_steps"),
        (lambda n: n.add_projection("x", "a", "b", ss.OneToOne()), "(20,)"),
        (lambda n: n.add_current("c", "b", amplitude_mV=np.ones(3)), "amplitude_mV"),
        (lambda n: n.monitor_state("b", ["nonsense"]), "variables"),
        (lambda n: n.monitor_spikes("b", indices=[99]), "indices"),
    ],
)
def test_bad_parameters_raise_named_errors(build, field):
    net = ss.Network(dt_s=1e-4)
    net.add_population("a", 10, ss.LIF())
    net.add_population("b", 20, ss.LIF())
    with pytest.raises((ParameterError, ConfigError, ShapeError)) as info:
        build(net)
    assert field in str(info.value)


def test_conductance_synapses_refuse_negative_weights():
    net = ss.Network(dt_s=1e-4)
    net.add_population("a", 10, ss.LIF(synapse="conductance"))
    with pytest.raises(ParameterError, match="weight"):
        net.add_projection("x", "a", "a", ss.Dense(weight=-0.1))


def test_dt_too_coarse_for_time_constant():
    net = ss.Network(dt_s=5e-3)
    with pytest.raises(ParameterError, match="dt_s"):
        net.add_population("p", 3, ss.LIF(tau_syn_exc_s=1e-3))


def test_parameter_error_carries_offending_value():
    net = ss.Network(dt_s=1e-4)
    with pytest.raises(ParameterError) as info:
        net.add_population("p", 3, ss.LIF(tau_mem_s=-2.0))
    err = info.value
    assert err.found == -2.0 and err.field == "tau_mem_s"
