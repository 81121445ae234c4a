"""NIR export/import: spikesim round trip, a file written by snnTorch itself, refusals."""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import nir
import numpy as np
import pytest
import torch
from spikesim.hardware.nir_io import from_nir, read_nir, to_nir, write_nir

from spikesim import Network, Simulator
from spikesim.connectivity import Dense, Sparse
from spikesim.errors import ParameterError
from spikesim.neurons import CubaLIF
from spikesim.values import Normal

T = 400


def _net() -> Network:
    net = Network(dt_s=1e-3)
    net.add_spike_tensor("x", 12)
    net.add_population("h", 20, CubaLIF(tau_syn_s=5e-3, tau_mem_s=20e-3, v_th=1.0, bias=0.02))
    net.add_population("o", 6, CubaLIF(tau_syn_s=8e-3, tau_mem_s=10e-3, v_th=0.5))
    net.add_projection("xh", "x", "h", Dense(weight=Normal(0.3, 0.1, low=0.0)))
    net.add_projection("hh", "h", "h", Sparse(p=0.2, weight=0.1), receptor="inh", delay_steps=3)
    net.add_projection("ho", "h", "o", Dense(weight=Normal(0.05, 0.2)))
    return net


def _run(net: Network, x: np.ndarray, seed: int) -> dict[str, np.ndarray]:
    sim = Simulator(net, batch_size=x.shape[1], dtype="float64", seed=seed)
    out = sim.forward({"x": torch.as_tensor(x, dtype=torch.float64)}, n_steps=T, record=("h", "o"))
    return {k: v.numpy().astype(bool) for k, v in out.items()}


def test_round_trip_through_an_nir_file_gives_the_same_spikes(tmp_path: Path) -> None:
    net = _net()
    write_nir(net, tmp_path / "net.nir", seed=4)
    graph = nir.read(str(tmp_path / "net.nir"))
    kinds = {k: type(v).__name__ for k, v in graph.nodes.items()}
    assert kinds == {
        "x": "Input", "h": "CubaLIF", "o": "CubaLIF", "xh": "Linear", "hh": "Linear",
        "hh_delay": "Delay", "ho": "Linear", "h_output": "Output", "o_output": "Output",
    }  # fmt: skip
    assert ("hh", "hh_delay") in graph.edges and ("hh_delay", "h") in graph.edges
    np.testing.assert_allclose(graph.nodes["hh_delay"].delay, 3e-3)
    assert graph.nodes["hh"].weight.max() <= 0 < graph.nodes["hh"].weight.min() + 0.1 + 1e-12
    back = read_nir(tmp_path / "net.nir")  # dt_s from the graph's metadata
    assert back.dt_s == net.dt_s
    h = back.populations["h"].model
    assert math.exp(-1e-3 / h.tau_syn_s) == pytest.approx(math.exp(-0.2), rel=1e-12)
    assert back.projections["hh"].delay_steps == 3
    x = (np.random.default_rng(1).random((T, 2, 12)) < 0.1).astype(np.uint8)
    a, b = _run(net, x, seed=4), _run(back, x, seed=0)
    for name in ("h", "o"):
        assert a[name].sum() > 500
        np.testing.assert_array_equal(a[name], b[name])


def test_import_of_an_nir_file_written_by_snntorch(tmp_path: Path) -> None:
    snn = pytest.importorskip("snntorch", reason="snntorch writes the reference NIR file")
    from snntorch.export_nir import export_to_nir

    torch.manual_seed(0)
    alpha, beta = 0.8, 0.9
    model = torch.nn.Sequential(
        torch.nn.Linear(4, 3, bias=False),
        snn.Synaptic(
            alpha=torch.full((3,), alpha),
            beta=torch.full((3,), beta),
            threshold=torch.full((3,), 0.7),
            reset_mechanism="zero",
            init_hidden=True,
            output=True,
        ),
    )
    with warnings.catch_warnings():  # nirtorch deprecates the API snnTorch 1.0 calls
        warnings.simplefilter("ignore", DeprecationWarning)
        graph = export_to_nir(model, torch.zeros(4))
    nir.write(str(tmp_path / "snntorch.nir"), graph)
    # snnTorch exports at its fixed dt of 1e-4 s and stores no dt in the graph
    with pytest.raises(ParameterError, match=r"dt_s must be the time step"):
        read_nir(tmp_path / "snntorch.nir")
    net = read_nir(tmp_path / "snntorch.nir", dt_s=1e-4)
    assert set(net.populations) == {"input", "node_1"}  # snnTorch names nodes "0", "1"
    lif = net.populations["node_1"].model
    assert isinstance(lif, CubaLIF) and lif.v_th == pytest.approx(0.7)
    # the discrete decays are snnTorch's alpha and beta
    assert math.exp(-1e-4 / lif.tau_syn_s) == pytest.approx(alpha, rel=1e-5)
    assert math.exp(-1e-4 / lif.tau_mem_s) == pytest.approx(beta, rel=1e-5)
    (proj,) = net.projections.values()
    assert (proj.name, proj.pre, proj.post) == ("node_0", "input", "node_1")
    w = model[0].weight.detach().numpy()
    np.testing.assert_allclose(proj.connectivity.weight, w, rtol=1e-5)


def test_per_neuron_parameters_are_folded_or_refused() -> None:
    n = 3
    base = dict(
        tau_syn=np.full(n, 5e-3), tau_mem=np.full(n, 1e-2), r=np.array([1.0, 2.0, 4.0]),
        v_leak=np.zeros(n), v_threshold=np.array([1.0, 2.0, 0.5]), v_reset=np.zeros(n),
        w_in=np.ones(n),
    )  # fmt: skip

    def graph(**over) -> nir.NIRGraph:
        return nir.NIRGraph(
            nodes={
                "inp": nir.Input(input_type={"input": np.array([2])}),
                "fc": nir.Affine(weight=np.ones((n, 2)), bias=over.pop("bias", np.zeros(n))),
                "lif": nir.CubaLIF(**{**base, **over}),
            },
            edges=[("inp", "fc"), ("fc", "lif")],
        )

    net = from_nir(graph(), dt_s=1e-3)
    lif = net.populations["lif"].model
    assert lif.v_th == 1.0  # per-neuron thresholds normalised to 1, folded into the weights
    w = net.projections["fc"].connectivity.weight
    gain = (1e-3 / 5e-3) * (1e-3 / 1e-2) * np.array([1.0, 2.0, 4.0]) / np.array([1.0, 2.0, 0.5])
    np.testing.assert_allclose(w, np.ones((n, 2)) * gain[:, None])
    with pytest.raises(ParameterError, match=r"NIR node 'lif': tau_mem must be one value"):
        from_nir(graph(tau_mem=np.array([1e-2, 2e-2, 1e-2])), dt_s=1e-3)
    with pytest.raises(ParameterError, match=r"NIR node 'lif': v_reset must be 0"):
        from_nir(graph(v_reset=np.full(n, 0.1)), dt_s=1e-3)
    with pytest.raises(ParameterError, match=r"NIR node 'fc': bias must be 0"):
        from_nir(graph(bias=np.ones(n)), dt_s=1e-3)
    lif_graph = nir.NIRGraph(
        nodes={
            "inp": nir.Input(input_type={"input": np.array([2])}),
            "lif": nir.LIF(tau=np.full(2, 1e-2), r=np.ones(2), v_leak=np.zeros(2), v_threshold=np.ones(2)),
        },
        edges=[("inp", "lif")],
    )  # fmt: skip
    with pytest.raises(ParameterError, match=r"NIR node 'lif': type must be CubaLIF"):
        from_nir(lif_graph, dt_s=1e-3)


def test_export_refuses_per_synapse_delays_and_needs_a_seed() -> None:
    from spikesim.connectivity import Explicit

    net = Network(dt_s=1e-3)
    net.add_spike_tensor("x", 2)
    net.add_population("p", 2, CubaLIF())
    net.add_projection(
        "xp", "x", "p", Explicit(pre=np.array([0, 1]), post=np.array([0, 1]), weight=0.5,
                                 delay_steps=np.array([1, 2])),
    )  # fmt: skip
    with pytest.raises(ParameterError, match=r"projection 'xp': delay_steps must be one delay"):
        to_nir(net)
    with pytest.raises(ParameterError, match=r"to_nir: seed must be an integer"):
        to_nir(_net())


def test_conv2d_round_trip_with_flatten(tmp_path: Path) -> None:
    from spikesim.connectivity import Conv2d

    rng = np.random.default_rng(2)
    net = Network(dt_s=1e-3)
    net.add_spike_tensor("img", 2 * 8 * 8, shape=(2, 8, 8))
    cell = CubaLIF(tau_syn_s=3e-3, tau_mem_s=8e-3, v_th=1.0)
    net.add_population("conv", 3 * 8 * 8, cell, shape=(3, 8, 8))
    net.add_population("out", 5, cell)
    kernel = rng.normal(0.4, 0.3, (3, 2, 3, 3))
    net.add_projection("img_conv", "img", "conv", Conv2d(kernel=kernel, stride=1, padding=1))
    net.add_projection("conv_out", "conv", "out", Dense(weight=Normal(0.05, 0.1)), delay_steps=2)
    write_nir(net, tmp_path / "conv.nir", seed=1)
    graph = nir.read(str(tmp_path / "conv.nir"))
    assert type(graph.nodes["img_conv"]).__name__ == "Conv2d"
    assert ("conv", "conv_out_flatten") in graph.edges
    assert graph.nodes["conv"].tau_mem.shape == (3, 8, 8)
    back = read_nir(tmp_path / "conv.nir")
    assert back.populations["conv"].dims == (3, 8, 8)
    assert back.projections["img_conv"].connectivity.kind == "conv2d"
    assert back.projections["conv_out"].delay_steps == 2
    x = (rng.random((T, 2, 128)) < 0.15).astype(np.float64)

    def run(n: Network, seed: int) -> dict[str, np.ndarray]:
        sim = Simulator(n, batch_size=2, dtype="float64", seed=seed)
        out = sim.forward({"img": torch.as_tensor(x)}, n_steps=T, record=("conv", "out"))
        return {k: v.numpy().astype(bool) for k, v in out.items()}

    a, b = run(net, 1), run(back, 0)
    for name in ("conv", "out"):
        assert a[name].sum() > 200
        np.testing.assert_array_equal(a[name], b[name])
