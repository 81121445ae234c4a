"""Simulator.forward runs a population fed only by spike-tensor inputs, or by populations
that ran so, with the fused sequence kernel: the same spikes (bit for bit here) and final
states as stepping it, the deliveries still due equal (exactly for products of the input;
products of a layer's spikes batched over all steps may differ in the last bit of float32
from per-step products), and the same weight gradients (float64, relative 1e-9)."""

from __future__ import annotations

import pytest
import torch

import spikesim as ss

T, B = 40, 2


def _net() -> ss.Network:
    net = ss.Network(dt_s=1e-3)
    net.add_spike_tensor("x", 30)
    net.add_population("c", 20, ss.CubaLIF(tau_syn_s=5e-3, tau_mem_s=20e-3, v_th=1.0))
    lif = ss.LIF(tau_mem_s=20e-3, t_ref_s=2e-3, v_init_mV=ss.Uniform(-65.0, -55.0))
    net.add_population("l", 25, lif)
    net.add_population("out", 10, ss.CubaLIF(tau_syn_s=5e-3, tau_mem_s=20e-3, v_th=1.0))
    dense = ss.Dense(weight=ss.Normal(0.02, 0.1))
    net.add_projection("x_c", "x", "c", dense, trainable=True)
    net.add_projection("x_l", "x", "l", ss.Dense(weight=ss.Normal(25.0, 10.0)), trainable=True)
    net.add_projection(
        "x_l_inh", "x", "l", ss.Dense(weight=ss.Normal(8.0, 2.0)), receptor="inh", delay_steps=2
    )
    net.add_projection("c_out", "c", "out", ss.Dense(weight=ss.Normal(0.0, 0.1)), trainable=True)
    net.add_projection("l_out", "l", "out", ss.Dense(weight=ss.Normal(0.0, 0.1)), trainable=True)
    return net


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_fused_layers_equal_the_step_loop(dtype):
    x = (torch.rand(T, B, 30, generator=torch.Generator().manual_seed(0)) < 0.3).double()
    runs, sims = [], []
    for fused in (True, False):
        sim = ss.Simulator(_net(), batch_size=B, dtype=dtype, differentiable=True, seed=4)
        sim.fused_layers = fused
        sims.append(sim)
        out, carry = sim({"x": x}, record=("c", "l", "out"), return_carry=True)
        loss = sum((z * (i + 1.0)).mean() for i, z in enumerate(out.values()))
        loss = loss + carry["states"]["l"].v.mean() * 0.01
        loss.backward()
        grads = {n: p.grad.clone() for n, p in sim.named_parameters()}
        runs.append((out, carry, grads))
    (o1, c1, g1), (o2, c2, g2) = runs
    for name in o1:
        assert torch.equal(o1[name], o2[name]), name
        assert 0.01 < float(o1[name].detach().mean()) < 0.6, name  # each layer spikes
    for name in ("c", "l"):
        for a, b in zip(c1["states"][name], c2["states"][name], strict=True):
            assert torch.equal(a.detach(), b.detach())
    assert c1["pending"].keys() == c2["pending"].keys()
    for key, due in c1["pending"].items():
        assert due.keys() == c2["pending"][key].keys()
        for k in due:
            if key[0] == "out":  # fed by c and l: their spikes' products batched over T
                torch.testing.assert_close(due[k], c2["pending"][key][k], rtol=1e-6, atol=1e-7)
            else:  # products of the input: the same tensors in both runs
                assert torch.equal(due[k], c2["pending"][key][k])
    assert sims[0].fused_populations == ("c", "l", "out") and sims[1].fused_populations == ()
    tol = {"rtol": 1e-9, "atol": 1e-12} if dtype == "float64" else {"rtol": 2e-4, "atol": 1e-6}
    for name, g in g1.items():
        assert g2[name].abs().max() > 0, name
        torch.testing.assert_close(g, g2[name], **tol)


def test_bf16_spike_product_equals_fp32_for_bf16_weights():
    """spike_product_precision='bf16': spikes are exact in bf16, so with weights that bf16
    represents exactly the layer's spikes equal the fp32 run's; the weight gradient differs
    only by the bf16 rounding of the output gradient (cosine > 0.999)."""
    net = ss.Network(dt_s=1e-3)
    net.add_spike_tensor("x", 48)
    net.add_population("y", 24, ss.CubaLIF(tau_syn_s=5e-3, tau_mem_s=20e-3, v_th=1.0))
    net.add_projection("w", "x", "y", ss.Dense(weight=ss.Normal(0.0, 0.2)), trainable=True)
    x = (torch.rand(60, 3, 48, generator=torch.Generator().manual_seed(2)) < 0.2).float()
    runs = []
    for precision in ("fp32", "bf16"):
        sim = ss.Simulator(net, batch_size=3, differentiable=True, seed=1)
        with torch.no_grad():  # weights exactly representable in bf16
            sim.projs["w"].weight.copy_(sim.projs["w"].weight.to(torch.bfloat16).float())
        sim.spike_product_precision = precision
        z = sim({"x": x}, record=("y",))["y"]
        ((z.mean(0) - 0.1) ** 2).sum().backward()
        runs.append((z.detach(), sim.projs["w"].weight.grad.detach().clone()))
    (z32, g32), (z16, g16) = runs
    assert 0.02 < float(z32.mean()) < 0.6
    assert torch.equal(z32, z16)
    cos = torch.nn.functional.cosine_similarity(g32.flatten(), g16.flatten(), dim=0)
    assert float(cos) > 0.999


def test_unknown_spike_product_precision_is_refused():
    net = ss.Network(dt_s=1e-3)
    net.add_spike_tensor("x", 4)
    net.add_population("y", 2, ss.CubaLIF(tau_syn_s=5e-3, tau_mem_s=20e-3, v_th=1.0))
    net.add_projection("w", "x", "y", ss.Dense(weight=0.5), trainable=True)
    sim = ss.Simulator(net, batch_size=1, differentiable=True)
    sim.spike_product_precision = "fp16"
    with pytest.raises(ss.ParameterError, match="precision"):
        sim({"x": torch.ones(5, 1, 4)}, record=("y",))


def test_feed_forward_run_without_step_loop_equals_step_loop(monkeypatch):
    """Every population fed only by spike tensors (delays 0 and 3): the run skips the step
    loop; spikes, recorded inputs, final states, the deliveries still due (carry) and the
    gradients equal the step-by-step run's."""
    net = ss.Network(dt_s=1e-3)
    net.add_spike_tensor("x", 30)
    net.add_population("c", 20, ss.CubaLIF(tau_syn_s=5e-3, tau_mem_s=20e-3, v_th=1.0))
    net.add_population("l", 15, ss.LIF(tau_mem_s=20e-3, v_init_mV=ss.Uniform(-65.0, -55.0)))
    net.add_projection("x_c", "x", "c", ss.Dense(weight=ss.Normal(0.02, 0.1)), trainable=True)
    net.add_projection(
        "x_l", "x", "l", ss.Dense(weight=ss.Normal(25.0, 10.0)), trainable=True, delay_steps=3
    )
    x = (torch.rand(T, B, 30, generator=torch.Generator().manual_seed(1)) < 0.3).float()
    calls = []
    original = ss.Simulator._finish_fused
    monkeypatch.setattr(
        ss.Simulator, "_finish_fused", lambda self, *a: calls.append(1) or original(self, *a)
    )
    runs = []
    for fused in (True, False):
        sim = ss.Simulator(net, batch_size=B, differentiable=True, seed=4)
        sim.fused_layers = fused
        out, carry = sim({"x": x}, record=("x", "c", "l"), return_carry=True)
        loss = out["c"].mean() + 2.0 * out["l"].mean() + carry["states"]["l"].v.mean() * 0.01
        loss.backward()
        runs.append((out, carry, {n: p.grad.clone() for n, p in sim.named_parameters()}))
    (o1, c1, g1), (o2, c2, g2) = runs
    assert calls == [1], "the fused run must skip the step loop"
    assert torch.equal(o1["x"], x)
    for name in ("x", "c", "l"):
        assert torch.equal(o1[name], o2[name]), name
    assert 0.01 < float(o1["c"].detach().mean()) < 0.6 and float(o1["l"].detach().mean()) > 0.01
    for name in ("c", "l"):
        for a, b in zip(c1["states"][name], c2["states"][name], strict=True):
            assert torch.equal(a.detach(), b.detach())
    assert c1["pending"].keys() == c2["pending"].keys() and c1["pending"]
    for key, due in c1["pending"].items():
        assert due.keys() == c2["pending"][key].keys(), key
        for k in due:
            assert torch.equal(due[k], c2["pending"][key][k])
    for name, g in g1.items():
        assert g.abs().max() > 0, name
        torch.testing.assert_close(g, g2[name], rtol=2e-4, atol=1e-6)


def test_fused_layer_under_autocast_takes_low_precision_currents():
    """Mixed precision: under autocast the batched product comes out in bf16; the fused layer
    integrates it in the state's dtype (float32), as the step loop does by promotion."""
    net = ss.Network(dt_s=1e-3)
    net.add_spike_tensor("x", 16)
    net.add_population("y", 8, ss.CubaLIF(tau_syn_s=5e-3, tau_mem_s=20e-3, v_th=1.0))
    net.add_projection("w", "x", "y", ss.Dense(weight=ss.Normal(0.1, 0.3)), trainable=True)
    x = (torch.rand(30, 2, 16, generator=torch.Generator().manual_seed(3)) < 0.3).float()
    sim = ss.Simulator(net, batch_size=2, differentiable=True, seed=0)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        z = sim({"x": x}, record=("y",))["y"]
    assert z.dtype == torch.float32
    z.sum().backward()
    assert sim.projs["w"].weight.grad is not None
    assert float(z.detach().mean()) > 0.01


def test_sparse_spike_products_equal_dense_ones():
    """sparse_spike_products: the batched product takes the input spikes as a CSR matrix;
    spikes equal the dense run's and weight gradients agree to float rounding (float64)."""
    net = ss.Network(dt_s=1e-3)
    net.add_spike_tensor("x", 40)
    net.add_population("y", 12, ss.CubaLIF(tau_syn_s=5e-3, tau_mem_s=20e-3, v_th=1.0))
    net.add_projection("w", "x", "y", ss.Dense(weight=ss.Normal(0.1, 0.4)), trainable=True)
    x = (torch.rand(50, 2, 40, generator=torch.Generator().manual_seed(5)) < 0.05).double()
    runs = []
    for sparse in (False, True):
        sim = ss.Simulator(net, batch_size=2, differentiable=True, dtype="float64", seed=0)
        sim.sparse_spike_products = sparse
        z = sim({"x": x}, record=("y",))["y"]
        ((z.mean(0) - 0.1) ** 2).sum().backward()
        runs.append((z.detach(), sim.projs["w"].weight.grad.detach().clone()))
    assert float(runs[0][0].mean()) > 0.01
    assert torch.equal(runs[0][0], runs[1][0])
    torch.testing.assert_close(runs[0][1], runs[1][1], rtol=1e-9, atol=1e-12)
    sim.spike_product_precision = "bf16"
    with pytest.raises(ss.ParameterError, match="sparse_spike_products"):
        sim({"x": x}, record=("y",))
