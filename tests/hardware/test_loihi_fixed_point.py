"""Unit tests of the bit-exact Loihi fixed-point kernel (no Lava needed).

Expected numbers are computed by hand from lava-nc 0.10's fixed_pt models (see the
comments); the Lava agreement itself is tested in test_lava_agreement.py.
"""

from __future__ import annotations

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
    lif_step,
    quantize_weights,
    simulate_fixed_point,
    wrap_int32,
)
from spikesim.hardware.loihi.examples import feedforward, nir_paper_single_lif, recurrent_ei

from spikesim.errors import ParameterError, ShapeError


def _step(u, v, a_in, *, du, dv, vth, bias=0):
    t = lambda x: torch.tensor([x], dtype=torch.int64)  # noqa: E731
    un, vn, s = lif_step(t(u), t(v), t(a_in), du=du, dv=dv, vth=vth, bias=t(bias))
    return int(un[0]), int(vn[0]), bool(s[0])


# ----------------------------------------------------------------------------- LIF arithmetic


def test_current_decay_rounds_toward_zero_with_du_offset():
    # u * (4096 - (409 + 1)) = 3686000; >> 12 = 899 (899.9 truncated)
    assert _step(1000, 0, 0, du=409, dv=0, vth=10**5)[0] == 899
    # negative: sign * (|x| >> 12) = -899, not floor -900
    assert _step(-1000, 0, 0, du=409, dv=0, vth=10**5)[0] == -899
    # du = 4095 -> factor 0: the current is only this step's input, shifted by 6
    assert _step(12345, 0, 3, du=4095, dv=0, vth=10**5)[0] == 3 * 64


def test_voltage_decay_has_no_offset_and_adds_u_and_bias():
    # v' = trunc(640 * (4096 - 163) / 4096) + u' + bias = 614 + 0 + 0
    assert _step(0, 640, 0, du=4095, dv=163, vth=25)[1] == 614
    # dv = 0 keeps v: 1000 + (a_in 2 << 6 = 128) + bias 7
    assert _step(0, 1000, 2, du=4095, dv=0, vth=10**5, bias=7)[1] == 1135
    assert _step(0, -999, 0, du=0, dv=2048, vth=10)[1] == -499  # trunc(-499.5)


def test_current_wraps_at_24_bits_with_lavas_asymmetric_rule():
    # 131073 << 6 = 2**23 + 64 > 2**23 -> minus 2**24
    assert _step(0, 0, 131073, du=4095, dv=0, vth=2**17 - 1)[0] == 2**23 + 64 - 2**24
    # exactly 2**23 is *not* wrapped (Lava tests u > 2**23)
    assert _step(0, 0, 131072, du=4095, dv=0, vth=2**17 - 1)[0] == 2**23
    # -2**23 is wrapped (Lava tests u <= -2**23) to +2**23
    assert _step(0, 0, -131072, du=4095, dv=0, vth=2**17 - 1)[0] == 2**23
    assert _step(0, 0, -131073, du=4095, dv=0, vth=2**17 - 1)[0] == -(2**23) - 64 + 2**24


def test_voltage_saturates_at_plus_minus_2_23_minus_1():
    u, v, s = _step(0, -8_388_000, -10, du=4095, dv=0, vth=10)
    assert (u, v, s) == (-640, -(2**23 - 1), False)
    # +side: clipped to 2**23 - 1 = 8388607 > vth << 6 = 8388544 -> spikes and resets
    u, v, s = _step(0, 8_388_000, 10, du=4095, dv=0, vth=2**17 - 1)
    assert (v, s) == (0, True)


def test_threshold_is_strict_and_shifted_by_6():
    # vth 25 -> 1600; v' = 1600 is not > 1600
    assert _step(0, 0, 25, du=4095, dv=0, vth=25) == (1600, 1600, False)
    assert _step(0, 0, 26, du=4095, dv=0, vth=25) == (1664, 0, True)


def test_wrap_int32_matches_numpy_overflow():
    x = np.array([2**31 - 1, 2**31, -(2**31) - 1, 5, -(2**33) + 7], dtype=np.int64)
    expected = x.astype(np.int32).astype(np.int64)  # numpy's two's-complement cast
    assert wrap_int32(torch.from_numpy(x)).tolist() == expected.tolist()


# ----------------------------------------------------------------------------- bias


def test_bias_exponent_positive_and_negative():
    p = LifPopulation(
        "b", 5, du=0, dv=0, vth=1, bias_mant=[-5, 5, 4095, -4096, 7], bias_exp=[-1, -1, 7, 7, -12]
    )
    # -5 >> 1 floors to -3; 5 >> 1 = 2; 4095 << 7; -4096 << 7; 7 >> 12 = 0
    assert p.bias().tolist() == [-3, 2, 524160, -524288, 0]


def test_bias_only_voltage_ramps_by_the_shifted_bias():
    net = LoihiNetwork(
        populations=(
            LifPopulation("ramp", 2, du=0, dv=0, vth=1, bias_mant=[-5, 3], bias_exp=[-1, 4]),
        )
    )
    r = simulate_fixed_point(net, n_steps=4, record_state=True)
    v = r.v["ramp"][:, 0].tolist()  # type: ignore[index]
    # neuron 0: -3 per step, never spikes; neuron 1: 48 > 64? no (vth 1 -> 64), 96 > 64 spikes
    assert [row[0] for row in v] == [-3, -6, -9, -12]
    assert [row[1] for row in v] == [48, 0, 48, 0]
    assert r.spikes["ramp"][:, 0, 1].tolist() == [False, True, False, True]


# ----------------------------------------------------------------------------- weights


def test_quantize_weights_excitatory_truncates_low_bits():
    # num_weight_bits 6 -> k = 2: (w >> 2) << 2; out-of-range values clip to 0..255 first
    w = quantize_weights([0, 3, 4, 7, 255, -3, 300], sign_mode="excitatory", num_weight_bits=6)
    assert w.tolist() == [0, 0, 4, 4, 252, 0, 252]


def test_quantize_weights_inhibitory_truncates_toward_zero():
    w = quantize_weights([-3, -4, -7, -255, 5, -300], sign_mode="inhibitory", num_weight_bits=6)
    assert w.tolist() == [0, -4, -4, -252, 0, -252]


def test_quantize_weights_mixed_loses_lowest_bit_and_floors():
    # mixed, 8 bits -> k = 1
    w = quantize_weights([-256, -5, -1, 0, 1, 5, 255], sign_mode="mixed", num_weight_bits=8)
    assert w.tolist() == [-256, -6, -2, 0, 0, 4, 254]
    # mixed, 6 bits -> k = 3
    w = quantize_weights([-256, -5, 5, 255, -300], sign_mode="mixed", num_weight_bits=6)
    assert w.tolist() == [-256, -8, 0, 248, -256]


def _one_synapse_net(weights, *, sign_mode="excitatory", weight_exp=0, du=4095, n_in=None):
    w = np.atleast_2d(np.asarray(weights))
    return LoihiNetwork(
        populations=(LifPopulation("post", w.shape[0], du=du, dv=0, vth=2**17 - 1),),
        inputs=(SpikeInput("pre", w.shape[1] if n_in is None else n_in),),
        connections=(Dense("syn", "pre", "post", sign_mode, weight_exp=weight_exp, weights=w),),
    )


def test_dense_adds_one_step_of_delay():
    net = _one_synapse_net([[10]])
    x = np.zeros((5, 1, 1), dtype=np.uint8)
    x[0] = 1
    r = simulate_fixed_point(net, n_steps=5, inputs={"pre": x}, record_state=True)
    assert r.u["post"][:, 0, 0].tolist() == [0, 640, 0, 0, 0]  # type: ignore[index]


def test_weight_exp_shifts_the_sum_not_each_synapse():
    # two synapses of weight 1, weight_exp -1: both spiking -> (1 + 1) >> 1 = 1; one -> 0
    net = _one_synapse_net([[1, 1]], weight_exp=-1)
    x = np.zeros((4, 1, 2), dtype=np.uint8)
    x[0] = [1, 1]
    x[1] = [1, 0]
    r = simulate_fixed_point(net, n_steps=4, inputs={"pre": x}, record_state=True)
    assert r.u["post"][:, 0, 0].tolist() == [0, 64, 0, 0]  # type: ignore[index]
    # negative sums floor: mixed weight -3 is quantised to -4; -4 >> 2 = -1 -> u = -64
    net = _one_synapse_net([[-3]], sign_mode="mixed", weight_exp=-2)
    r = simulate_fixed_point(net, n_steps=3, inputs={"pre": x[:3, :, :1]}, record_state=True)
    assert r.u["post"][:, 0, 0].tolist() == [0, -64, -64]  # type: ignore[index]
    # positive exponent: 5 << 3 = 40 -> u = 2560
    net = _one_synapse_net([[5]], weight_exp=3)
    r = simulate_fixed_point(net, n_steps=2, inputs={"pre": x[:2, :, :1]}, record_state=True)
    assert r.u["post"][1, 0, 0].item() == 40 * 64  # type: ignore[index]


def test_delay_dense_arrives_after_delay_plus_one_steps():
    net = LoihiNetwork(
        populations=(LifPopulation("post", 3, du=4095, dv=0, vth=2**17 - 1),),
        inputs=(SpikeInput("pre", 1),),
        connections=(
            DelayDense(
                "d", "pre", "post", "excitatory", weights=[[1], [2], [3]], delays=[[0], [3], [7]]
            ),
        ),
    )
    x = np.zeros((10, 1, 1), dtype=np.uint8)
    x[0] = 1
    r = simulate_fixed_point(net, n_steps=10, inputs={"pre": x}, record_state=True)
    u = r.u["post"][:, 0].numpy()  # type: ignore[index]
    assert np.flatnonzero(u[:, 0]).tolist() == [1] and u[1, 0] == 64
    assert np.flatnonzero(u[:, 1]).tolist() == [4] and u[4, 1] == 128
    assert np.flatnonzero(u[:, 2]).tolist() == [8] and u[8, 2] == 192


def test_delay_dense_shifts_each_sending_step_separately():
    # spikes at steps 0 (delay 2) and 1 (delay 1) meet at step 3; weight_exp -1 shifts each
    # step's contribution (1 >> 1 = 0) before they are added, as Lava does: u stays 0.
    # Two spikes at the same step and delay are summed first: (1 + 1) >> 1 = 1.
    net = LoihiNetwork(
        populations=(LifPopulation("post", 1, du=4095, dv=0, vth=2**17 - 1),),
        inputs=(SpikeInput("pre", 3),),
        connections=(
            DelayDense(
                "d", "pre", "post", "excitatory", weight_exp=-1,
                weights=[[1, 1, 1]], delays=[[2, 1, 1]],
            ),
        ),
    )  # fmt: skip
    x = np.zeros((6, 1, 3), dtype=np.uint8)
    x[0, 0, 0] = 1
    x[1, 0, 1] = 1
    r = simulate_fixed_point(net, n_steps=6, inputs={"pre": x}, record_state=True)
    assert r.u["post"][:, 0, 0].tolist() == [0] * 6  # type: ignore[index]
    x[1, 0, 2] = 1
    r = simulate_fixed_point(net, n_steps=6, inputs={"pre": x}, record_state=True)
    assert r.u["post"][:, 0, 0].tolist() == [0, 0, 0, 64, 0, 0]  # type: ignore[index]


def test_sparse_equals_dense_with_the_same_weights():
    rng = np.random.default_rng(7)
    w = rng.integers(-256, 256, (12, 9)) * (rng.random((12, 9)) < 0.4)
    rows, cols = np.nonzero(w)
    pop = LifPopulation("post", 12, du=500, dv=300, vth=20)
    kw = dict(sign_mode="mixed", num_weight_bits=7, weight_exp=-1)
    dense = LoihiNetwork(
        (pop,), (SpikeInput("pre", 9),), (Dense("c", "pre", "post", weights=w, **kw),)
    )
    sparse = LoihiNetwork(
        (pop,),
        (SpikeInput("pre", 9),),
        (Sparse("c", "pre", "post", n_target=12, n_source=9, rows=rows, cols=cols, values=w[rows, cols], **kw),),
    )  # fmt: skip
    x = (rng.random((100, 2, 9)) < 0.3).astype(np.uint8)
    a = simulate_fixed_point(dense, n_steps=100, inputs={"pre": x})
    b = simulate_fixed_point(sparse, n_steps=100, inputs={"pre": x})
    assert a.spikes["post"].sum().item() > 50
    assert torch.equal(a.spikes["post"], b.spikes["post"])


def test_nir_paper_run_spikes_and_voltages():
    case = nir_paper_single_lif()
    r = simulate_fixed_point(case.net, n_steps=1000, inputs=case.inputs, record_state=True)
    assert torch.nonzero(r.spikes["lif"][:, 0, 0]).flatten().tolist() == [461, 511, 711, 761]
    v = r.v["lif"][:, 0, 0]  # type: ignore[index]
    first = int(np.flatnonzero(case.inputs["spikes_in"][:, 0, 0])[0])
    assert first == 60
    assert v[first + 1 : first + 6].tolist() == [640, 614, 589, 565, 542]
    assert int(v.max()) == 1589


def test_batch_elements_are_independent_and_deterministic():
    case = feedforward(batch=3, n_steps=120)
    batched = simulate_fixed_point(case.net, n_steps=120, inputs=case.inputs)
    for b in range(3):
        single = simulate_fixed_point(
            case.net, n_steps=120, inputs={"x": case.inputs["x"][:, b : b + 1]}
        )
        for name in ("hidden", "out"):
            assert torch.equal(batched.spikes[name][:, b : b + 1], single.spikes[name])
    again = simulate_fixed_point(case.net, n_steps=120, inputs=case.inputs)
    assert all(torch.equal(again.spikes[k], batched.spikes[k]) for k in batched.spikes)
    assert batched.spikes["out"].sum().item() > 100


@pytest.mark.gpu
def test_cuda_matches_cpu():
    case = recurrent_ei(n_steps=200)
    cpu = simulate_fixed_point(case.net, n_steps=200, inputs=case.inputs, record_state=True)
    gpu = simulate_fixed_point(
        case.net, n_steps=200, inputs=case.inputs, device="cuda", record_state=True
    )
    for k in cpu.spikes:
        assert torch.equal(cpu.spikes[k], gpu.spikes[k].cpu())
        assert torch.equal(cpu.v[k], gpu.v[k].cpu())  # type: ignore[index]


# ----------------------------------------------------------------------------- validation


def test_population_validation_names_population_field_range_and_value():
    with pytest.raises(ParameterError, match=r"population 'exc'.*du.*0\.\.4095.*4096"):
        LifPopulation("exc", 3, du=4096, dv=0, vth=1)
    with pytest.raises(ParameterError, match=r"population 'exc'.*vth.*0\.\.131071.*131072"):
        LifPopulation("exc", 3, du=0, dv=0, vth=2**17)
    with pytest.raises(ParameterError, match=r"population 'exc'.*bias_mant.*-4096\.\.4095.*5000"):
        LifPopulation("exc", 3, du=0, dv=0, vth=1, bias_mant=[0, 5000, 0])
    with pytest.raises(ShapeError, match=r"population 'exc'.*bias_exp"):
        LifPopulation("exc", 3, du=0, dv=0, vth=1, bias_exp=[1, 2])


def test_connection_validation_names_connection_and_range():
    with pytest.raises(
        ParameterError, match=r"connection 'ee'.*weights.*0\.\.255.*'excitatory'.*-1"
    ):
        Dense("ee", "a", "b", "excitatory", weights=[[1, -1]])
    with pytest.raises(ParameterError, match=r"connection 'ie'.*weights.*-255\.\.0.*3"):
        Dense("ie", "a", "b", "inhibitory", weights=[[3]])
    with pytest.raises(ParameterError, match=r"connection 'dd'.*delays.*0\.\.62.*63"):
        DelayDense("dd", "a", "b", "mixed", weights=[[1]], delays=[[63]])
    with pytest.raises(ParameterError, match=r"connection 'x'.*num_weight_bits.*1\.\.8.*9"):
        Dense("x", "a", "b", "mixed", num_weight_bits=9, weights=[[1]])
    with pytest.raises(ParameterError, match=r"connection 'x'.*weight_exp.*-8\.\.7.*8"):
        Dense("x", "a", "b", "mixed", weight_exp=8, weights=[[1]])
    with pytest.raises(ParameterError, match=r"connection 'x'.*sign_mode"):
        Dense("x", "a", "b", "positive", weights=[[1]])
    with pytest.raises(ParameterError, match=r"connection 's'.*unique"):
        Sparse(
            "s", "a", "b", "mixed", n_target=2, n_source=2, rows=[0, 0], cols=[1, 1], values=[1, 2]
        )


def test_network_validation_checks_references_and_shapes():
    pop = LifPopulation("p", 2, du=0, dv=0, vth=1)
    with pytest.raises(ParameterError, match=r"connection 'c'.*source.*'nowhere'"):
        LoihiNetwork((pop,), (), (Dense("c", "nowhere", "p", "mixed", weights=[[1], [1]]),))
    with pytest.raises(ShapeError, match=r"connection 'c'.*\(2, 3\).*\(2, 1\)"):
        LoihiNetwork(
            (pop,), (SpikeInput("i", 3),), (Dense("c", "i", "p", "mixed", weights=[[1], [1]]),)
        )
    with pytest.raises(ParameterError, match=r"unique.*'p'"):
        LoihiNetwork((pop, LifPopulation("p", 1, du=0, dv=0, vth=1)))


def test_inputs_are_checked():
    net = _one_synapse_net([[1]])
    with pytest.raises(ShapeError, match=r"input 'pre'"):
        simulate_fixed_point(net, n_steps=5, inputs={"pre": np.zeros((4, 1, 1))})
    with pytest.raises(ParameterError, match=r"input 'pre'.*binary"):
        simulate_fixed_point(net, n_steps=2, inputs={"pre": np.full((2, 1, 1), 2)})
    with pytest.raises(ParameterError, match=r"missing \['pre'\]"):
        simulate_fixed_point(net, n_steps=2, inputs={})
    with pytest.raises(ParameterError, match=r"n_steps"):
        simulate_fixed_point(net, n_steps=0, inputs={"pre": np.zeros((0, 1, 1))})
