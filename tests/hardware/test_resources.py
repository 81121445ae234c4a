"""Resource report against configurable Loihi 2 limits: counts, core estimate, typed errors."""

from __future__ import annotations

import numpy as np
import pytest
from spikesim.hardware.loihi import DelayDense, Dense, LifPopulation, LoihiNetwork, SpikeInput
from spikesim.hardware.loihi.examples import feedforward, recurrent_ei
from spikesim.hardware.resources import LoihiLimits, check_resources, resource_report

from spikesim.errors import ParameterError


def _small() -> LoihiNetwork:
    # x(3) -> a(2): weights [[5, 0, 1], [7, 9, 0]] at 7 bits: the weight 1 truncates to 0
    w_xa = np.array([[5, 0, 1], [7, 9, 0]])
    w_ab = np.array([[-4, 6], [0, 0], [2, 0], [0, 0]])
    d_ab = np.array([[3, 1], [0, 0], [12, 0], [0, 0]])
    return LoihiNetwork(
        populations=(
            LifPopulation("a", 2, du=10, dv=10, vth=10),
            LifPopulation("b", 4, du=10, dv=10, vth=10),
        ),
        inputs=(SpikeInput("x", 3),),
        connections=(
            Dense("x_a", "x", "a", "excitatory", num_weight_bits=7, weights=w_xa),
            DelayDense("a_b", "a", "b", "mixed", weights=w_ab, delays=d_ab),
        ),
    )


def test_counts_of_a_hand_checked_network() -> None:
    rep = resource_report(_small())
    assert rep.fits and rep.violations == ()
    x_a, a_b = rep.connections
    # quantised x_a = [[4, 0, 0], [6, 8, 0]]: 3 synapses (5 -> 4, 1 -> 0, 7 -> 6, 9 -> 8)
    assert (x_a.synapses, x_a.weight_bits, x_a.bits_per_synapse) == (3, 7, 7)
    assert (x_a.max_fan_in, x_a.max_fan_out, x_a.active_sources, x_a.max_delay) == (2, 2, 2, 0)
    # a_b keeps -4, 6, 2 (mixed: even weights survive); 8 + 1 sign bit + 6 delay bits
    assert (a_b.synapses, a_b.weight_bits, a_b.bits_per_synapse, a_b.max_delay) == (3, 9, 15, 12)
    assert (a_b.max_fan_in, a_b.max_fan_out) == (2, 2)
    a, b = rep.populations
    assert (a.neurons, a.synapses_in, a.synapse_bits_in, a.input_axons) == (2, 3, 21, 2)
    assert (a.max_fan_in, a.max_fan_out, a.output_axons, a.cores) == (2, 2, 2, 1)
    assert (b.synapses_in, b.synapse_bits_in, b.input_axons, b.output_axons) == (3, 45, 2, 0)
    assert (rep.neurons, rep.synapses, rep.cores, rep.max_delay) == (6, 6, 2, 12)
    text = rep.format()
    assert "a_b" in text and "delay_dense" in text and "EXCEEDS" not in text


def test_reference_cases_fit_the_default_chip() -> None:
    for case in (feedforward(), recurrent_ei()):
        rep = check_resources(case.net)
        assert rep.neurons == sum(p.n for p in case.net.populations)
        expected = sum(int((c.quantized_weights() != 0).sum()) for c in case.net.connections)
        assert rep.synapses == expected > 0
        assert rep.cores == len(case.net.populations)


def test_core_estimate_follows_the_per_core_limits() -> None:
    net = LoihiNetwork(
        populations=(LifPopulation("big", 25, du=1, dv=1, vth=1),),
        inputs=(SpikeInput("x", 30),),
        connections=(Dense("x_big", "x", "big", "excitatory", weights=np.ones((25, 30))),),
    )
    assert resource_report(net, limits=LoihiLimits(neurons_per_core=10)).cores == 3
    # 750 synapses of 8 bits = 6000 bits over 1000-bit cores -> 6 cores
    assert resource_report(net, limits=LoihiLimits(synapse_bits_per_core=1000)).cores == 6
    # 30 input axons over 7 per core -> 5 cores (the fan-in of 30 exceeds 7 as well)
    rep = resource_report(net, limits=LoihiLimits(input_axons_per_core=7))
    assert rep.cores == 5
    assert [(v.where, v.field) for v in rep.violations] == [("population 'big'", "fan-in")]


def test_too_many_cores_names_the_limit_and_the_largest_population() -> None:
    net = LoihiNetwork(populations=(LifPopulation("huge", 50, du=1, dv=1, vth=1),))
    limits = LoihiLimits(neurons_per_core=10, cores_per_chip=4)
    rep = resource_report(net, limits=limits)
    assert not rep.fits
    with pytest.raises(ParameterError, match=r"estimated cores.*at most 4.*cores_per_chip.*'huge'"):
        check_resources(net, limits=limits)


def test_delay_and_weight_bit_limits_name_the_connection() -> None:
    with pytest.raises(
        ParameterError, match=r"connection 'a_b': delays must be at most 5 .*max_delay.*got 12"
    ):
        check_resources(_small(), limits=LoihiLimits(max_delay=5))
    rep = resource_report(_small(), limits=LoihiLimits(max_delay=5, max_weight_bits=6))
    assert [(v.where, v.field) for v in rep.violations] == [
        ("connection 'x_a'", "num_weight_bits"),
        ("connection 'a_b'", "delays"),
        ("connection 'a_b'", "num_weight_bits"),
    ]
    with pytest.raises(ParameterError, match=r"and 2 more limit"):
        check_resources(_small(), limits=LoihiLimits(max_delay=5, max_weight_bits=6))


def test_chip_totals() -> None:
    net = feedforward().net
    with pytest.raises(ParameterError, match=r"network: neurons must be at most 39 per chip"):
        check_resources(net, limits=LoihiLimits(neurons_per_chip=39))
    n_syn = resource_report(net).synapses
    with pytest.raises(ParameterError, match=rf"synapses must be at most {n_syn - 1} per chip"):
        check_resources(net, limits=LoihiLimits(synapses_per_chip=n_syn - 1))


def test_invalid_limits_are_refused() -> None:
    with pytest.raises(ParameterError, match=r"LoihiLimits: neurons_per_core"):
        LoihiLimits(neurons_per_core=0)
    with pytest.raises(ParameterError, match=r"cores_per_chip"):
        LoihiLimits(cores_per_chip=True)
    assert LoihiLimits(max_delay=0).max_delay == 0
    with pytest.raises(ParameterError, match=r"limits"):
        resource_report(feedforward().net, limits={"cores_per_chip": 1})  # type: ignore[arg-type]
