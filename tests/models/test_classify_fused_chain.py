"""The classifiers' layer-by-layer training path (the simulator's fused feed-forward chain,
``Simulator.fused_layers``) against the simulator's step-by-step loop."""

from __future__ import annotations

import pytest
import torch
from spikesim.models.classify import build_classifier
from spikesim.models.classify.networks import SpikingClassifier

import spikesim as ss

pytestmark = pytest.mark.usefixtures("one_thread")


def _input(T: int, B: int, n: int, density: float, seed: int = 0) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return (torch.rand(T, B, n, generator=gen) < density).to(torch.uint8)


def _loss(rec: dict[str, torch.Tensor]) -> torch.Tensor:
    total = torch.zeros((), dtype=next(iter(rec.values())).dtype)
    for z in rec.values():  # a loss that reaches every layer's spikes with distinct weights
        ramp = torch.linspace(-1.0, 1.0, z.shape[-1], dtype=z.dtype)
        total = total + (z.sum(0) * ramp).sum() + (z.sum(0) ** 2).mean()
    return total


def _both(sim: ss.Simulator, inputs: dict, names: tuple[str, ...], carry=None):
    """(fused chain, step loop) runs of the same simulator: spikes and carries."""
    runs = []
    for fused in (True, False):
        sim.fused_layers = fused
        runs.append(sim(inputs, record=names, carry=carry, return_carry=True))
    sim.fused_layers = True
    return runs


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_conv_chain_matches_step_loop_spikes_gradients_and_carry(dtype) -> None:
    m = build_classifier(
        "conv", input_shape=(2, 34, 34), n_classes=10, batch_size=5, weight_scale=15.0
    )
    sim = m.sim.to(dtype)
    sim.dtype = dtype
    x = _input(16, 5, 2 * 34 * 34, 0.2)
    names = ("conv0", "conv1", "output")
    (out, carry), (ref, ref_carry) = _both(sim, {"input": x}, names)
    sim.fused_layers = False
    g_ref = torch.autograd.grad(_loss(sim({"input": x}, record=names)), list(sim.parameters()))
    sim.fused_layers = True
    g = torch.autograd.grad(_loss(sim({"input": x}, record=names)), list(sim.parameters()))
    assert sim.fused_populations == names  # every layer fused: no step loop
    for n in names:
        assert ref[n].mean() > 0.02  # every layer fires: the comparison covers spikes and resets
        assert torch.equal(out[n], ref[n])
    rtol = 1e-12 if dtype == torch.float64 else 2e-5  # summation order of weight gradients
    for a, b in zip(g_ref, g, strict=True):
        assert float(a.abs().max()) > 0
        assert float((a - b).abs().max()) <= rtol * float(a.abs().max())
    for key, due in ref_carry["pending"].items():
        # batched and per-step products of a layer's spikes may differ in float32's last bit
        torch.testing.assert_close(carry["pending"][key][0], due[0], rtol=1e-6, atol=1e-6)
    for n in names:
        for a, b in zip(ref_carry["states"][n], carry["states"][n], strict=True):
            assert torch.equal(a, b)
    # truncated BPTT: two fused pieces continue exactly, and the step loop continues a fused
    # carry (and the other way round) with the same spikes
    first, c1 = sim({"input": x[:7]}, record=names, return_carry=True)
    assert sim.fused_populations == names
    (second, _), (by_loop, c_loop) = _both(sim, {"input": x[7:]}, names, carry=c1)
    assert sim.fused_populations == ()  # the last run stepped
    for n in names:
        assert torch.equal(torch.cat([first[n], second[n]]), ref[n])
        assert torch.equal(by_loop[n], second[n])
    sim.fused_layers = False
    _, c_loop = sim({"input": x[:7]}, record=names, return_carry=True)
    sim.fused_layers = True
    from_loop = sim({"input": x[7:]}, record=names, carry=c_loop)
    for n in names:
        assert torch.equal(from_loop[n], second[n])


def test_inhibitory_and_lif_layers_match_step_loop() -> None:
    net = ss.Network(dt_s=1e-3)
    net.add_spike_tensor("x", 40)
    net.add_population("h", 30, ss.CubaLIF(tau_syn_s=3e-3, tau_mem_s=8e-3, v_th=1.0))
    net.add_population("g", 20, ss.LIF(tau_mem_s=10e-3, v_th_mV=-50.0, v_reset_mV=-65.0))
    net.add_population("y", 5, ss.CubaLIF(tau_syn_s=3e-3, tau_mem_s=8e-3, v_th=1.0))
    net.add_projection("xh", "x", "h", ss.Dense(weight=ss.Normal(0.6, 0.3)), trainable=True)
    net.add_projection("hg", "h", "g", ss.Dense(weight=ss.Normal(6.0, 2.0)), trainable=True)
    net.add_projection(
        "gy", "g", "y", ss.Dense(weight=ss.Normal(-1.0, 0.5)), receptor="inh", trainable=True
    )
    sim = ss.Simulator(net, batch_size=4, differentiable=True, surrogate_alpha=5.0, seed=2)
    x = _input(30, 4, 40, 0.3, seed=5)
    names = ("h", "g", "y")
    sim.fused_layers = False
    ref = sim({"x": x}, n_steps=30, record=names)
    g_ref = torch.autograd.grad(_loss(ref), list(sim.parameters()))
    sim.fused_layers = True
    out = sim({"x": x}, n_steps=30, record=names)
    assert sim.fused_populations == names
    for n in names:
        assert ref[n].mean() > 0.01, n
        assert torch.equal(out[n], ref[n]), n
    g = torch.autograd.grad(_loss(out), list(sim.parameters()))
    for a, b in zip(g_ref, g, strict=True):
        assert float(a.abs().max()) > 0
        assert float((a - b).abs().max()) <= 2e-5 * float(a.abs().max()) + 1e-12


def test_recurrent_population_is_stepped_the_rest_fused() -> None:
    model = ss.CubaLIF(tau_syn_s=3e-3, tau_mem_s=8e-3, v_th=1.0)
    net = ss.Network(dt_s=1e-3)
    net.add_spike_tensor("input", 8)
    net.add_population("hidden", 6, model)
    net.add_population("output", 4, model)
    net.add_projection("ih", "input", "hidden", ss.Dense(weight=0.5), trainable=True)
    net.add_projection("ho", "hidden", "output", ss.Dense(weight=0.8), trainable=True)
    net.add_projection("oo", "output", "output", ss.Dense(weight=0.1))  # recurrence
    clf = SpikingClassifier(net, batch_size=2)
    x = torch.ones(2, 5, 8)
    logits = clf(x)["logits"]
    assert clf.sim.fused_populations == ("hidden",)  # output is recurrent: stepped
    assert logits.shape == (2, 4) and float(logits.detach().sum()) > 0
    clf.sim.fused_layers = False
    assert torch.equal(clf(x)["logits"], logits)


def test_layerwise_training_step_saves_less_than_step_by_step() -> None:
    x = _input(16, 4, 2 * 34 * 34, 0.1, seed=1).transpose(0, 1).reshape(4, 16, 2, 34, 34)
    stats = {}
    for lw in (False, True):
        m = build_classifier(
            "conv",
            input_shape=(2, 34, 34),
            n_classes=10,
            batch_size=4,
            seed=3,
            track_rates=False,
            compact_saved=lw,
            layerwise=lw,  # False: the simulator's step-by-step graph (the baseline)
        )
        m(x)["logits"].sum().backward()
        stats[lw] = m.saved_stats
    # step-by-step float graph 4.12 MB vs layer-wise with bool spikes 1.53 MB (measured,
    # T=16, batch 4): the membrane once (4 bytes) + spikes as bool instead of 16 bytes per
    # neuron and step
    assert stats[False].stored_bytes / stats[True].stored_bytes >= 2.4, stats


def test_only_the_spike_output_of_the_fused_layer_is_stored_as_bool() -> None:
    from spikesim.dynamics import CubaLIFParams, CubaLIFState, cuba_lif_sequence
    from spikesim.dynamics.surrogate import compact_saved_spikes

    p = CubaLIFParams(tau_syn_s=3e-3, tau_mem_s=8e-3, v_th=1.0, bias=0.0)
    gen = torch.Generator().manual_seed(4)
    drive = (torch.rand(12, 3, 7, generator=gen) * 0.25).requires_grad_()
    w = torch.randn(7, generator=gen).requires_grad_()
    grads = []
    for enabled in (False, True):
        start = CubaLIFState(torch.zeros(3, 7), torch.zeros(3, 7))
        with compact_saved_spikes(enabled=enabled) as st:
            z, end = cuba_lif_sequence(drive, start, p, dt_s=1e-3, alpha=5.0)
            # the final membrane and current (outputs 2 and 3, not spikes) are saved by the
            # products with w; the spikes by the product with the membrane
            loss = (end.v * w).sum() + (end.u * w).sum() + (z[-1] * end.v).sum()
        grads.append(torch.autograd.grad(loss, (drive, w)))
        assert z.sum() > 0 and end.v.abs().sum() > 0
    assert st.n_compacted == 1  # z[-1] only
    for a, b in zip(*grads, strict=True):
        assert torch.equal(a, b)
