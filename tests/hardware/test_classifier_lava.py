"""A classifier trained on event data (saccade MNIST, spikesim.models.classify), quantised
for Loihi: accuracy kept in fixed point, and Lava agrees spike for spike."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from spikesim.hardware.loihi import simulate_fixed_point
from spikesim.hardware.loihi.examples import trained_classifier, trained_network
from spikesim.hardware.netx import NETX_QUANTIZE, run_netx_in_lava, write_netx
from spikesim.hardware.verify import verify_against_lava

from spikesim import Simulator

pytestmark = [pytest.mark.slow, pytest.mark.lava]

N_TEST = 100


@pytest.fixture(scope="module")
def trained(mnist_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    classify = pytest.importorskip("spikesim.models.classify.experiment")
    saccade = pytest.importorskip("spikesim.models.classify.saccade")
    cache = tmp_path_factory.mktemp("saccade_cache")
    cfg = {
        "data": {
            "kind": "saccade_mnist", "path": str(mnist_dir), "n_train": 300, "n_test": N_TEST,
            "n_steps": 16, "cache_dir": str(cache),
        },
        "model": {"kind": "dense", "hidden": [64]},
        "train": {"epochs": 3, "batch_size": 20, "lr": 5e-3, "seed": 0},
    }  # fmt: skip
    report = classify.run_experiment(cfg, progress=False)
    test = saccade.SaccadeMNIST(mnist_dir, train=False, n=N_TEST, seed=0, cache_dir=cache)
    data = test.tensors(n_steps=16, duration_us=300_000)
    xs, ys = zip(*(data[i] for i in range(len(data))), strict=True)
    return report, torch.stack(xs), np.array([int(y) for y in ys])


def test_quantised_classifier_keeps_its_accuracy(trained) -> None:
    report, x, y = trained
    case = trained_classifier(report.model, x)
    fixed = simulate_fixed_point(case.net, n_steps=case.n_steps, inputs=case.inputs)
    acc_fixed = float((fixed.spikes["output"].sum(0).argmax(1).numpy() == y).mean())
    acc_float = _float_accuracy(report, case, y)
    assert acc_float > 0.25  # trained: chance is 0.1
    assert abs(acc_fixed - acc_float) <= 0.05, (acc_fixed, acc_float)


def _float_accuracy(report, case, y) -> float:
    net = trained_network(report.model)
    sim = Simulator(net, batch_size=len(y), dtype="float64")
    with torch.no_grad():
        out = sim.forward(
            {"input": torch.as_tensor(case.inputs["input"], dtype=torch.float64)},
            n_steps=case.n_steps,
            record=("output",),
        )
    return float((out["output"].sum(0).argmax(1).numpy() == y).mean())


def test_lava_runs_the_trained_classifier_spike_for_spike(trained, lava_ready: None) -> None:
    report, x, _ = trained
    case = trained_classifier(report.model, x[:3])
    (rep,) = verify_against_lava([case])
    assert rep.spikes_equal and rep.v_equal, rep.first_mismatch
    assert rep.spike_counts["hidden0"] > 50 and rep.spike_counts["output"] > 5


def test_lava_dl_netx_runs_the_trained_classifier_spike_for_spike(
    trained, tmp_path: Path, lava_ready: None
) -> None:
    """The trained classifier quantised for netx (NETX_QUANTIZE), written as netx
    HDF5, loaded by lava-dl's hdf5.Network and run in Lava: identical spikes and v; the netx
    quantisation keeps the accuracy of the float network within 5 points."""
    report, x, y = trained
    full = trained_classifier(report.model, x, **NETX_QUANTIZE)
    fixed = simulate_fixed_point(full.net, n_steps=full.n_steps, inputs=full.inputs)
    acc_netx = float((fixed.spikes["output"].sum(0).argmax(1).numpy() == y).mean())
    acc_float = _float_accuracy(report, full, y)
    assert acc_netx > 0.25 and abs(acc_netx - acc_float) <= 0.05, (acc_netx, acc_float)
    case = trained_classifier(report.model, x[:3], **NETX_QUANTIZE)
    write_netx(case.net, tmp_path / "classifier.net")
    ((inp,),) = [case.inputs.values()]
    (lava,) = run_netx_in_lava([(tmp_path / "classifier.net", inp)], record_v=True)
    ours = simulate_fixed_point(
        case.net, n_steps=case.n_steps, inputs=case.inputs, record_state=True
    )
    for p in case.net.populations:
        np.testing.assert_array_equal(ours.spikes[p.name].numpy(), lava.spikes[p.name])
        np.testing.assert_array_equal(ours.v[p.name].numpy(), lava.v[p.name])  # type: ignore[index]
    assert lava.spikes["hidden0"].sum() > 50 and lava.spikes["output"].sum() > 5
