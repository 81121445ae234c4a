"""The simulator on a CUDA device against the same run on the CPU (``gpu`` marker: skipped
where no CUDA device is present; the GPU machine runs them).

Float arithmetic differs between the devices only in rounding (exp, matmul order), so a
deterministic network is compared spike train by spike train with a tolerance, and the
training path (fused CubaLIF layer, Triton kernel on CUDA) by its weight gradients.
"""

from __future__ import annotations

import pytest
import torch

import spikesim as ss

pytestmark = pytest.mark.gpu


def _driven_net() -> ss.Network:
    """Deterministic drive: constant currents and given spike times, recurrent E/I with delays."""
    net = ss.Network(dt_s=1e-4)
    lif = ss.LIF(tau_mem_s=20e-3, tau_syn_exc_s=5e-3, tau_syn_inh_s=10e-3, t_ref_s=2e-3)
    net.add_population("e", 400, lif)
    net.add_population("i", 100, lif)
    times = torch.linspace(0.0, 0.19, 400).tolist()
    net.add_spike_times("s", 50, indices=[k % 50 for k in range(400)], times_s=times)
    net.add_current("drive", "e", amplitude_mV=18.0)
    net.add_projection("s_e", "s", "e", ss.FixedFanIn(k=10, weight=3.0))
    net.add_projection("e_e", "e", "e", ss.Sparse(p=0.05, weight=0.4), delay_steps=5)
    net.add_projection("e_i", "e", "i", ss.Sparse(p=0.1, weight=1.0), delay_steps=3)
    net.add_projection("i_e", "i", "e", ss.Sparse(p=0.2, weight=2.0), receptor="inh")
    net.monitor_spikes("e", name="e_spikes")
    return net


def test_spiking_run_on_cuda_matches_cpu():
    net = _driven_net()
    counts = []
    for device in ("cpu", "cuda"):
        sim = ss.Simulator(net, seed=3, device=device)
        res = sim.run(0.2)
        sp = res.spikes["e_spikes"]
        c = torch.bincount(torch.as_tensor(sp.index).long(), minlength=400)
        counts.append(c.cpu())
    cpu, gpu = counts
    assert cpu.sum() > 400, "the network must spike"
    # rounding may move a spike near threshold; the counts must agree almost everywhere
    same = float((cpu == gpu).float().mean())
    assert same >= 0.95, f"only {same:.3f} of the neurons have the same spike count"
    assert abs(int(gpu.sum()) - int(cpu.sum())) <= 0.01 * int(cpu.sum())


def test_fused_training_layer_on_cuda_matches_cpu():
    net = ss.Network(dt_s=1e-3)
    net.add_spike_tensor("x", 64)
    net.add_population("y", 32, ss.CubaLIF(tau_syn_s=5e-3, tau_mem_s=20e-3, v_th=1.0))
    net.add_projection("w", "x", "y", ss.Dense(weight=ss.Normal(0.05, 0.2)), trainable=True)
    x = (torch.rand(100, 4, 64, generator=torch.Generator().manual_seed(0)) < 0.2).float()
    grads, rates = [], []
    for device in ("cpu", "cuda"):
        sim = ss.Simulator(net, batch_size=4, device=device, differentiable=True, seed=1)
        z = sim({"x": x.to(device)}, record=("y",))["y"]
        ((z.mean(0) - 0.1) ** 2).sum().backward()
        grads.append(sim.projs["w"].weight.grad.detach().cpu())
        rates.append(float(z.detach().mean()))
    assert rates[0] > 0.02
    assert abs(rates[0] - rates[1]) < 1e-3
    cos = torch.nn.functional.cosine_similarity(grads[0].flatten(), grads[1].flatten(), dim=0)
    assert float(cos) > 0.999
