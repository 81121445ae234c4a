"""lava-dl netx HDF5 export: layout and values, read back with netx's rules, refusals."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest
import torch
from spikesim.hardware.loihi import (
    DelayDense,
    Dense,
    LifPopulation,
    LoihiNetwork,
    Sparse,
    SpikeInput,
    simulate_fixed_point,
)
from spikesim.hardware.loihi.examples import netx_delays, netx_quantized_network, netx_recurrent
from spikesim.hardware.loihi.network import SignMode
from spikesim.hardware.netx import NETX_QUANTIZE, netx_synapse, read_netx, write_netx
from spikesim.hardware.quantize import quantize

from spikesim.errors import ParameterError


def _chain(*, bias_mant: int = 3, rec: bool = False) -> LoihiNetwork:
    rng = np.random.default_rng(7)
    w1 = rng.integers(0, 200, (16, 10)) * (rng.random((16, 10)) < 0.5)
    w2 = rng.integers(-120, 120, (5, 16)) * 2
    rows, cols = np.nonzero(w2)
    conns = [
        Dense("in_hid", "inp", "hid", "excitatory", weight_exp=0, weights=w1),
        Sparse(
            "hid_out", "hid", "out", "mixed", weight_exp=1, n_target=5, n_source=16,
            rows=rows, cols=cols, values=w2[rows, cols] // 2,
        ),
    ]  # fmt: skip
    if rec:
        conns.append(Dense("out_out", "out", "out", "inhibitory", weights=-np.ones((5, 5))))
    return LoihiNetwork(
        populations=(
            LifPopulation("hid", 16, du=900, dv=300, vth=120, bias_mant=bias_mant, bias_exp=6),
            LifPopulation("out", 5, du=4095, dv=100, vth=60),
        ),
        inputs=(SpikeInput("inp", 10),),
        connections=tuple(conns),
    )


def test_netx_layout_and_values(tmp_path: Path) -> None:
    net = _chain()
    write_netx(net, tmp_path / "net.net")
    with h5py.File(tmp_path / "net.net", "r") as f:
        assert sorted(f["layer"]) == ["0", "1"]
        l0, l1 = f["layer/0"], f["layer/1"]
        assert l0["type"][0] == b"dense" and l1["type"][0] == b"dense"
        assert l0["shape"][()].tolist() == [16] and l1["shape"][()].tolist() == [5]
        np.testing.assert_array_equal(l0["weight"][()], net.connections[0].weights)
        # the effective weight: quantised (mixed: even) << weight_exp
        np.testing.assert_array_equal(l1["weight"][()], net.connections[1].quantized_weights() * 2)
        np.testing.assert_array_equal(l0["bias"][()], np.full(16, 3))
        assert "bias" not in l1
        n0 = l0["neuron"]
        assert n0["type"][0] == b"CUBA"
        assert (n0["iDecay"][()], n0["vDecay"][()], n0["vThMant"][()]) == (901, 300, 120)
        assert (l1["neuron/iDecay"][()], l1["neuron/vDecay"][()]) == (4096, 100)
        assert n0["refDelay"][()] == 1 and not n0["gradedSpike"][()]


def test_read_back_with_netx_rules_gives_the_same_spikes(tmp_path: Path) -> None:
    net = _chain()
    write_netx(net, tmp_path / "net.net")
    back = read_netx(tmp_path / "net.net")
    assert [p.name for p in back.populations] == ["hid", "out"]
    x = (np.random.default_rng(0).random((300, 2, 10)) < 0.2).astype(np.uint8)
    a = simulate_fixed_point(net, n_steps=300, inputs={"inp": x})
    b = simulate_fixed_point(back, n_steps=300, inputs={"inp": x})
    for name in ("hid", "out"):
        assert a.spikes[name].sum() > 100
        assert np.array_equal(a.spikes[name].numpy(), b.spikes[name].numpy())


def test_what_netx_cannot_hold_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "x.net"
    with pytest.raises(ParameterError, match=r"population 'hid': bias must be multiples of 64"):
        write_netx(_biased(), out)
    # recurrent weights of -1 next to mixed forward weights: netx gives 9 weight bits, and
    # Lava's inhibitory synapse would truncate by -1 bits
    with pytest.raises(ParameterError, match=r"connection 'out_out': weights must be weights lava"):
        write_netx(_chain(rec=True), out)
    net = _chain()
    back = Dense("out_hid", "out", "hid", "excitatory", weights=np.ones((16, 5)))
    looped = LoihiNetwork(net.populations, net.inputs, (*net.connections, back))
    with pytest.raises(ParameterError, match=r"population 'hid': incoming connections must be"):
        write_netx(looped, out)
    rec_delayed = LoihiNetwork(
        populations=net.populations,
        inputs=net.inputs,
        connections=(
            DelayDense("in_hid", "inp", "hid", "excitatory", weights=np.ones((16, 10)),
                       delays=np.ones((16, 10), dtype=int)),
            Dense("hid_hid", "hid", "hid", "excitatory", weights=np.ones((16, 16))),
            net.connections[1],
        ),
    )  # fmt: skip
    with pytest.raises(ParameterError, match=r"connection 'in_hid': kind must be Dense or Sparse"):
        write_netx(rec_delayed, out)
    big = LoihiNetwork(
        populations=(LifPopulation("a", 2, du=1, dv=1, vth=1),),
        inputs=(SpikeInput("i", 2),),
        connections=(Dense("i_a", "i", "a", "excitatory", weight_exp=2, weights=np.full((2, 2), 100)),),
    )  # fmt: skip
    with pytest.raises(ParameterError, match=r"connection 'i_a': weights << weight_exp must be"):
        write_netx(big, out)
    zero = LoihiNetwork(
        populations=(LifPopulation("a", 2, du=1, dv=1, vth=1),),
        inputs=(SpikeInput("i", 2),),
        connections=(Dense("i_a", "i", "a", "excitatory", weights=np.zeros((2, 2))),),
    )
    with pytest.raises(ParameterError, match=r"'i_a': weights must be at least one non-zero"):
        write_netx(zero, out)
    # an inhibitory matrix with zeros whose most negative weight is -128: netx calls it mixed
    # and scales it to -256, Lava's inhibitory synapse clips that to -255
    pow2 = LoihiNetwork(
        populations=(LifPopulation("a", 2, du=1, dv=1, vth=1),),
        inputs=(SpikeInput("i", 2),),
        connections=(Dense("i_a", "i", "a", "inhibitory", weights=[[-128, 0], [-3, -7]]),),
    )
    with pytest.raises(ParameterError, match=r"weight -128 at \[0, 0\].*turns it into -255/2\*\*1"):
        write_netx(pow2, out)
    assert not out.exists()


def test_netx_synapse_scaling_rules() -> None:
    # excitatory: scaled to use 8 bits, exact
    syn = netx_synapse(np.array([[3, 0], [12, 6]]))
    assert (syn.weight_exp, syn.sign_mode) == (-4, SignMode.EXCITATORY)
    np.testing.assert_array_equal(syn.weights, np.array([[3, 0], [12, 6]]) << 4)
    # mixed with odd weights and no headroom: 9 bits, weight_exp 0, nothing lost
    syn = netx_synapse(np.array([[-255, 3], [254, 0]]))
    assert (syn.weight_exp, syn.num_weight_bits, syn.sign_mode) == (0, 9, SignMode.MIXED)
    np.testing.assert_array_equal(syn.weights, [[-255, 3], [254, 0]])
    # dense_rec: one scale for both matrices
    a = netx_synapse(np.array([[100, 50]]), shared_with=np.array([[-20, 0]]))
    assert a.weight_exp == -1 and a.sign_mode is SignMode.EXCITATORY
    with pytest.raises(ParameterError, match=r"within -256..255"):
        netx_synapse(np.array([[300]]))
    # 255 is exact alone; next to negative weights netx clips it to 254
    np.testing.assert_array_equal(netx_synapse(np.array([[255, 1]])).weights, [[255, 1]])
    clipped = netx_synapse(np.array([[255, -2]]))
    np.testing.assert_array_equal(clipped.weights, [[254, -2]])


def test_layers_with_recurrence_and_delays(tmp_path: Path) -> None:
    for case in (netx_recurrent(n_steps=120), netx_delays(n_steps=120)):
        path = tmp_path / f"{case.name}.net"
        write_netx(case.net, path)
        with h5py.File(path, "r") as f:
            kinds = [f[f"layer/{i}/type"][0] for i in range(len(f["layer"]))]
            first = f["layer/0"]
            if case.name == "netx_recurrent":
                assert kinds == [b"dense_rec", b"dense"]
                rec = case.net.connections[1]
                np.testing.assert_array_equal(first["weight_rec"][()], rec.quantized_weights())
                assert "delay" not in first
            else:
                assert kinds == [b"dense", b"dense"]
                np.testing.assert_array_equal(first["delay"][()], case.net.connections[0].delays)
        back = read_netx(path, input_name=case.net.inputs[0].name)
        a = simulate_fixed_point(case.net, n_steps=case.n_steps, inputs=case.inputs)
        b = simulate_fixed_point(back, n_steps=case.n_steps, inputs=case.inputs)
        for p in case.net.populations:
            assert a.spikes[p.name].sum() > 20
            assert torch.equal(a.spikes[p.name], b.spikes[p.name])


def test_quantize_for_netx_fixes_the_exponents(tmp_path: Path) -> None:
    net = netx_quantized_network()
    # the default quantisation picks exponents per connection, which netx cannot hold
    with pytest.raises(
        ParameterError, match=r"'events_hidden'.*quantize\(net, \*\*netx.NETX_QUANTIZE"
    ):
        write_netx(quantize(net).loihi, tmp_path / "q.net")
    q = quantize(net, **NETX_QUANTIZE)
    assert {c.weight_exp for c in q.loihi.connections} == {0}
    assert 100 <= max(int(np.abs(c.weights).max()) for c in q.loihi.connections) <= 120
    assert all((p.bias_exp == 6).all() for p in q.loihi.populations)
    assert max(c.max_abs_error / c.max_abs_weight for c in q.report.connections) < 0.01
    write_netx(q.loihi, tmp_path / "q.net")
    with pytest.raises(ParameterError, match=r"quantize: weight_exp must be None or an integer"):
        quantize(net, weight_exp=0.5)
    with pytest.raises(ParameterError, match=r"quantize: bias_exp must be None or an integer 0..7"):
        quantize(net, bias_exp=9)
    with pytest.raises(ParameterError, match=r"quantize: weight_max must be an integer 1..255"):
        quantize(net, weight_max=300)


def _biased() -> LoihiNetwork:
    net = _chain()
    hid = net.populations[0]
    pops = (
        LifPopulation("hid", 16, du=hid.du, dv=hid.dv, vth=hid.vth, bias_mant=5, bias_exp=2),
        net.populations[1],
    )
    return LoihiNetwork(populations=pops, inputs=net.inputs, connections=net.connections)
