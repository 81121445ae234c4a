"""lava-dl netx HDF5 export: layout and values, read back with netx's rules, refusals."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest
from spikesim.hardware.loihi import (
    DelayDense,
    Dense,
    LifPopulation,
    LoihiNetwork,
    Sparse,
    SpikeInput,
    simulate_fixed_point,
)
from spikesim.hardware.netx import read_netx, write_netx

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
    with pytest.raises(ParameterError, match=r"connection 'out_out': target must be a new layer"):
        write_netx(_chain(rec=True), out)
    net = _chain()
    delayed = LoihiNetwork(
        populations=net.populations,
        inputs=net.inputs,
        connections=(
            DelayDense("in_hid", "inp", "hid", "excitatory", weights=np.ones((16, 10)),
                       delays=np.ones((16, 10), dtype=int)),
            net.connections[1],
        ),
    )  # fmt: skip
    with pytest.raises(ParameterError, match=r"connection 'in_hid': kind must be Dense or Sparse"):
        write_netx(delayed, out)
    big = LoihiNetwork(
        populations=(LifPopulation("a", 2, du=1, dv=1, vth=1),),
        inputs=(SpikeInput("i", 2),),
        connections=(Dense("i_a", "i", "a", "excitatory", weight_exp=2, weights=np.full((2, 2), 100)),),
    )  # fmt: skip
    with pytest.raises(ParameterError, match=r"connection 'i_a': weights << weight_exp must be"):
        write_netx(big, out)
    assert not out.exists()


def _biased() -> LoihiNetwork:
    net = _chain()
    hid = net.populations[0]
    pops = (
        LifPopulation("hid", 16, du=hid.du, dv=hid.dv, vth=hid.vth, bias_mant=5, bias_exp=2),
        net.populations[1],
    )
    return LoihiNetwork(populations=pops, inputs=net.inputs, connections=net.connections)
