"""The spiking mode is differentiable through surrogate gradients (BPTT) on the same description."""

from __future__ import annotations

import numpy as np
import torch

import spikesim as ss
from spikesim.dynamics.surrogate import superspike


def _net(model: ss.NeuronModel) -> ss.Network:
    net = ss.Network(dt_s=1e-3)
    net.add_spike_tensor("x", 30)
    net.add_population("h", 20, model)
    net.add_population("y", 3, model)
    net.add_projection("xh", "x", "h", ss.Dense(weight=ss.Normal(0.0, 0.3)), trainable=True)
    net.add_projection("hy", "h", "y", ss.Dense(weight=ss.Normal(0.0, 0.3)), trainable=True)
    return net


def test_superspike_is_heaviside_forward_with_smooth_gradient():
    v = torch.tensor([-0.2, -0.01, 0.0, 0.01, 0.3], requires_grad=True)
    z = superspike(v, 10.0)
    assert z.tolist() == [0.0, 0.0, 0.0, 1.0, 1.0]
    z.sum().backward()
    g = v.grad.numpy()
    assert np.all(g > 0)
    assert np.argmax(g) == 2  # steepest at threshold
    assert g[1] == g[3]  # symmetric: 1 / (1 + alpha |v|)^2


def _train(model: ss.NeuronModel, *, steps: int = 30) -> tuple[float, float]:
    torch.manual_seed(0)
    net = _net(model)
    sim = ss.Simulator(net, batch_size=8, seed=1, differentiable=True)
    gen = torch.Generator().manual_seed(2)
    x = (torch.rand(30, 8, 30, generator=gen) < 0.25).float()
    target = torch.tensor([2.0, 8.0, 4.0]).expand(8, 3)  # spike counts per output neuron
    opt = torch.optim.Adam(sim.parameters(), lr=0.05)
    losses = []
    for _ in range(steps):
        out = sim(inputs={"x": x}, record=("y",))["y"]
        loss = ((out.sum(0) - target) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    return losses[0], min(losses[-5:])


def test_training_cuba_lif_reduces_the_loss():
    first, last = _train(ss.CubaLIF(tau_syn_s=5e-3, tau_mem_s=10e-3, v_th=1.0))
    assert first > 5.0
    assert last < 0.2 * first


def test_training_lif_reduces_the_loss():
    first, last = _train(
        ss.LIF(
            tau_mem_s=10e-3, tau_syn_exc_s=5e-3, tau_syn_inh_s=5e-3, v_th_mV=-64.0, v_reset_mV=-65.0
        )
    )
    assert first > 5.0
    assert last < 0.2 * first


def test_trainable_weights_are_parameters_and_others_are_not():
    net = _net(ss.CubaLIF())
    net.add_projection("yy", "y", "y", ss.Dense(weight=0.1))
    sim = ss.Simulator(net, differentiable=True)
    names = {n for n, _ in sim.named_parameters()}
    assert names == {"projs.xh.weight", "projs.hy.weight"}
