"""A run without gradient reads the trainable weights as they are now, not as built.

Sparse projections keep a padded copy of their weights per pre neuron (``rows_w``) for
event-driven delivery; that copy must follow the trainable ``weight`` parameter after an
optimizer step or an in-place edit, in the fused fast loop and in the general loop alike.
The reference is a fresh simulator built with the edited weights loaded into it.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import spikesim as ss


def _net(conn: object) -> ss.Network:
    net = ss.Network(dt_s=1e-4)
    net.add_poisson("ext", 80, rate_hz=300.0)
    net.add_population("a", 40, ss.LIF(t_ref_s=1e-3))
    net.add_projection("w", "ext", "a", conn, trainable=True)
    net.monitor_spikes("a", name="a_spikes")
    net.monitor_state("a", "v", name="a_v", indices=[0, 5, 9])
    return net


_CONNS = {
    "fixed_fan_in": lambda: ss.FixedFanIn(k=20, weight=ss.Normal(2.0, 0.5)),
    "sparse": lambda: ss.Sparse(p=0.25, weight=ss.Normal(2.0, 0.5)),
    "dense": lambda: ss.Dense(weight=ss.Normal(0.5, 0.2)),
}


def _run(sim: ss.Simulator, *, fast: bool) -> ss.Result:
    sim.fast_loop = fast
    return sim.run(0.03)


def _same(r1: ss.Result, r2: ss.Result) -> bool:
    s, t = r1.spikes["a_spikes"], r2.spikes["a_spikes"]
    return (
        np.array_equal(s.step, t.step)
        and np.array_equal(s.index, t.index)
        and np.array_equal(r1.states["a_v"].values["v"], r2.states["a_v"].values["v"])
    )


@pytest.mark.parametrize("kind", list(_CONNS))
@pytest.mark.parametrize("edit", ["optimizer", "no_grad"])
def test_run_after_a_weight_change_uses_the_new_weights(kind, edit):
    net = _net(_CONNS[kind]())
    sim = ss.Simulator(net, seed=3, batch_size=2)
    before = _run(sim, fast=True)
    w = sim.projs["w"].weight
    assert isinstance(w, torch.nn.Parameter)
    if edit == "optimizer":  # one SGD step on a loss that pushes every weight down by 1.5
        opt = torch.optim.SGD([w], lr=1.5)
        (w.sum()).backward()
        opt.step()
    else:
        with torch.no_grad():
            w.mul_(0.25)
    new_w = w.detach().clone()
    # reference: a simulator built with the new weights in its description (the same
    # synapses, listed explicitly for sparse projections; copied in for dense ones)
    pr = sim.projs["w"]
    if pr.kind == "sparse":
        pre, post = (t.numpy().astype(np.int64) for t in pr.coo())  # type: ignore[operator]
        conn = ss.Explicit(pre=pre, post=post, weight=new_w.numpy().astype(np.float64))
        ref_sim = ss.Simulator(_net(conn), seed=3, batch_size=2)
    else:
        ref_sim = ss.Simulator(net, seed=3, batch_size=2)
        with torch.no_grad():
            ref_sim.projs["w"].weight.copy_(new_w)
    ref = _run(ref_sim, fast=False)
    assert ref.spikes["a_spikes"].count() != before.spikes["a_spikes"].count()
    for fast in (True, False):
        assert _same(_run(sim, fast=fast), ref), f"fast_loop={fast}"


def test_sync_rows_keeps_the_padded_table_equal_to_the_parameter():
    sim = ss.Simulator(_net(_CONNS["fixed_fan_in"]()), seed=1)
    pr = sim.projs["w"]
    with torch.no_grad():
        pr.weight.add_(torch.arange(pr.weight.numel(), dtype=pr.weight.dtype))
    pr.sync_rows()  # type: ignore[operator]
    valid = pr.rows_post < pr.n_post
    assert torch.equal(pr.rows_w[valid], pr.weight.detach())
    assert torch.equal(pr.rows_w[~valid], torch.zeros_like(pr.rows_w[~valid]))
