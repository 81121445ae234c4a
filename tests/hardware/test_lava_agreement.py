"""spikesim's fixed-point simulator vs Lava (lava-nc 0.10, Loihi2SimCfg fixed_pt), for real.

Lava runs in the managed Python 3.10 environment (``spikesim lava setup``). All cases are
merged into one network of disconnected parts and run in a single Lava subprocess (one
import of Lava); each part is then compared step by step and neuron by neuron, spikes and
membrane voltage. Without the environment these tests fail when CI is set (CI runs the setup
first) and are skipped, with the command to run, on a developer machine.
"""

from __future__ import annotations

import numpy as np
import pytest
from spikesim.hardware.lava_run import LavaResult, run_in_lava
from spikesim.hardware.loihi import simulate_fixed_point
from spikesim.hardware.loihi.examples import (
    Case,
    bias_only,
    delay_network,
    extremes,
    feedforward,
    models_ring_attractor,
    nir_paper_single_lif,
    recurrent_ei,
    ring_attractor,
)
from spikesim.hardware.verify import case_steps, merge_cases

pytestmark = pytest.mark.lava

CASES = {
    c.name: c
    for c in (
        nir_paper_single_lif(),
        bias_only(),
        feedforward(),
        recurrent_ei(),
        delay_network(max_delay=15),
        extremes(),
        ring_attractor(),
        models_ring_attractor(),
    )
}
#: Minimum total spikes per case and population, so that equality is not vacuous.
FLOORS = {
    "nir_paper_single_lif": {"lif": 4},
    "bias_only": {"biased": 100},
    "feedforward": {"hidden": 500, "out": 300},
    "recurrent_ei": {"exc": 2000, "inh": 500},
    "delay_network": {"delayed": 1000},
    "extremes": {"wrap_u": 10, "clip_v": 50},
    "ring_attractor": {"ring": 1000, "inh": 500},
    "models_ring_attractor": {"exc": 200, "inh": 50},  # the bump-holding ring: ~1371 exc, ~96 inh
}


@pytest.fixture(scope="module")
def lava_merged(lava_ready: None) -> LavaResult:
    merged = merge_cases(list(CASES.values()))
    return run_in_lava(
        merged.net,
        n_steps=merged.n_steps,
        inputs=merged.inputs,
        record_v=True,
        steps_per_population=case_steps(list(CASES.values())),
    )


def _compare(case: Case, lava: LavaResult) -> dict[str, int]:
    ours = simulate_fixed_point(
        case.net, n_steps=case.n_steps, inputs=case.inputs or None, record_state=True
    )
    counts = {}
    for p in case.net.populations:
        key = f"{case.name}__{p.name}"
        s_lava = lava.spikes[key][: case.n_steps]
        v_lava = lava.v[key][: case.n_steps]  # type: ignore[index]
        s_ours = ours.spikes[p.name].numpy()
        v_ours = ours.v[p.name].numpy()  # type: ignore[index]
        assert s_lava.shape == s_ours.shape == (case.n_steps, 1, p.n)
        np.testing.assert_array_equal(s_ours, s_lava, err_msg=f"spikes of {key}")
        np.testing.assert_array_equal(v_ours, v_lava, err_msg=f"v of {key}")
        counts[p.name] = int(s_ours.sum())
    for name, floor in FLOORS[case.name].items():
        assert counts[name] >= floor, f"{case.name}/{name}: only {counts[name]} spikes"
    return counts


@pytest.mark.parametrize("name", [n for n in CASES if n != "nir_paper_single_lif"])
def test_lava_agrees_spike_for_spike(name: str, lava_merged: LavaResult) -> None:
    _compare(CASES[name], lava_merged)


def test_recurrent_ei_has_activity_in_both_populations(lava_merged: LavaResult) -> None:
    counts = _compare(CASES["recurrent_ei"], lava_merged)
    assert counts["exc"] > 0 and counts["inh"] > 0
    # a recurrent network that is not simply saturated
    assert counts["exc"] < 0.95 * 400 * 80 and counts["inh"] < 0.95 * 400 * 20


def test_extremes_hit_the_wrap_and_the_clip(lava_merged: LavaResult) -> None:
    case = CASES["extremes"]
    _compare(case, lava_merged)
    v = lava_merged.v["extremes__clip_v"]  # type: ignore[index]
    assert v.min() == -(2**23 - 1)  # Lava saturates v as we do


def test_nir_paper_chip_run_reproduced(lava_merged: LavaResult) -> None:
    case = CASES["nir_paper_single_lif"]
    _compare(case, lava_merged)
    ours = simulate_fixed_point(case.net, n_steps=1000, inputs=case.inputs, record_state=True)
    for spikes, v in (
        (ours.spikes["lif"].numpy(), ours.v["lif"].numpy()),  # type: ignore[index]
        (
            lava_merged.spikes["nir_paper_single_lif__lif"],
            lava_merged.v["nir_paper_single_lif__lif"],
        ),  # type: ignore[index]
    ):
        assert np.flatnonzero(spikes[:, 0, 0]).tolist() == [461, 511, 711, 761]
        assert v[61:66, 0, 0].tolist() == [640, 614, 589, 565, 542]
        assert int(v[:1000].max()) == 1589


def test_batched_run_matches_per_sample(lava_ready: None) -> None:
    case = feedforward(batch=2, n_steps=80, seed=11)
    lava = run_in_lava(case.net, n_steps=80, inputs=case.inputs)
    ours = simulate_fixed_point(case.net, n_steps=80, inputs=case.inputs)
    assert lava.v is None
    for name in ("hidden", "out"):
        np.testing.assert_array_equal(ours.spikes[name].numpy(), lava.spikes[name])
    assert lava.spikes["out"].sum() > 50
    assert not np.array_equal(lava.spikes["hidden"][:, 0], lava.spikes["hidden"][:, 1])


def test_ring_attractor_holds_its_bump_in_lava(lava_merged: LavaResult) -> None:
    case = CASES["ring_attractor"]
    _compare(case, lava_merged)
    ring = lava_merged.spikes["ring_attractor__ring"][:, 0]  # [steps, 48]
    # after the cue (steps 0-29) the activity persists, every 50 steps, near the cue (20..24)
    for start in range(50, case.n_steps, 50):
        active = np.flatnonzero(ring[start : start + 50].sum(axis=0))
        assert active.size >= 3, f"bump lost at {start}"
        assert active.min() >= 15 and active.max() <= 29, active
