"""Our netx HDF5 exports, loaded by lava-dl's own loader (``lava.lib.dl.netx.hdf5.Network``)
and run in Lava's fixed_pt simulation, spike for spike and voltage for voltage against
spikesim's fixed-point mode. lava-dl 0.6 runs in the managed Lava environment (installed
without torch by ``spikesim lava setup``); without it these tests fail when CI is set and are
skipped, with the command to run, on a developer machine."""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from spikesim.hardware import lava_env
from spikesim.hardware.loihi import LoihiNetwork, simulate_fixed_point
from spikesim.hardware.loihi.examples import Case, netx_cases
from spikesim.hardware.netx import (
    NETX_RUNNER,
    NetxLavaResult,
    netx_synapse,
    run_netx_in_lava,
    write_netx,
)

from spikesim.errors import ParameterError

pytestmark = pytest.mark.lava

CASES = {c.name: c for c in netx_cases()}
#: Minimum total spikes per case and layer, so that equality is not vacuous.
FLOORS = {
    "netx_feedforward": {"hidden": 1000, "out": 200},
    "netx_recurrent": {"ei": 1000, "readout": 40},
    "netx_delays": {"delayed": 500, "out": 80},
    "netx_quantized": {"hidden": 2000, "classes": 300},
}


@pytest.fixture(scope="module")
def lava_dl_runs(
    tmp_path_factory: pytest.TempPathFactory, lava_ready: None
) -> dict[str, NetxLavaResult]:
    folder = tmp_path_factory.mktemp("netx")
    files = []
    for case in CASES.values():
        path = folder / f"{case.name}.net"
        write_netx(case.net, path)
        (spikes,) = case.inputs.values()
        files.append((path, spikes))
    # the recurrent network once more without its recurrent synapses: recurrence must matter
    rec = CASES["netx_recurrent"]
    ff = replace(rec, name="no_rec", net=_without_recurrence(rec.net))
    write_netx(ff.net, folder / "no_rec.net")
    files.append((folder / "no_rec.net", rec.inputs["drive"]))
    results = run_netx_in_lava(files, record_v=True)
    return dict(zip([*CASES, "no_rec"], results, strict=True))


def _without_recurrence(net: LoihiNetwork) -> LoihiNetwork:
    conns = tuple(c for c in net.connections if c.source != c.target)
    return LoihiNetwork(populations=net.populations, inputs=net.inputs, connections=conns)


@pytest.mark.parametrize("name", list(CASES))
def test_lava_dl_netx_runs_our_export_spike_for_spike(
    name: str, lava_dl_runs: dict[str, NetxLavaResult]
) -> None:
    case: Case = CASES[name]
    lava = lava_dl_runs[name]
    assert lava.lava_dl_version == "0.6.0" and lava.lava_version == "0.10.0"
    ours = simulate_fixed_point(
        case.net, n_steps=case.n_steps, inputs=case.inputs, record_state=True
    )
    assert list(lava.spikes) == [p.name for p in case.net.populations]
    for p in case.net.populations:
        s_ours = ours.spikes[p.name].numpy()
        assert lava.spikes[p.name].shape == s_ours.shape == (case.n_steps, 1, p.n)
        np.testing.assert_array_equal(s_ours, lava.spikes[p.name], err_msg=f"spikes of {p.name}")
        np.testing.assert_array_equal(
            ours.v[p.name].numpy(),  # type: ignore[index]
            lava.v[p.name],  # type: ignore[index]
            err_msg=f"v of {p.name}",
        )
        assert int(s_ours.sum()) >= FLOORS[name][p.name], (p.name, int(s_ours.sum()))


def test_recurrent_layer_is_really_recurrent_in_lava(
    lava_dl_runs: dict[str, NetxLavaResult],
) -> None:
    with_rec, without = lava_dl_runs["netx_recurrent"], lava_dl_runs["no_rec"]
    diff = (with_rec.spikes["ei"] != without.spikes["ei"]).sum()
    assert diff > 100, diff  # the dense_rec synapses change hundreds of spikes
    case = CASES["netx_recurrent"]
    ours = simulate_fixed_point(
        _without_recurrence(case.net), n_steps=case.n_steps, inputs=case.inputs
    )
    np.testing.assert_array_equal(ours.spikes["ei"].numpy(), without.spikes["ei"])


def test_weight_mapping_matches_lava_dl_and_lava(tmp_path: Path, lava_ready: None) -> None:
    """netx_synapse against lava-dl's optimize_weight_bits followed by Lava's sign mode, clip
    and truncation, on 400 matrices of every sign pattern (with and without a partner matrix)."""
    rng = np.random.default_rng(0)
    mats, partners = [], []
    for k in range(400):
        lo, hi = [(0, 255), (-256, 0), (-256, 255), (-128, 127), (-4, 5)][k % 5]
        w = rng.integers(lo, hi, (6, 5)) * (rng.random((6, 5)) < 0.7)
        w = w << int(rng.integers(0, 4)) if k % 3 == 0 else w
        w = np.clip(w, -256, 255)
        if k % 11 == 0:
            w[-1, -1] = 255  # netx clips it to 254 when the matrix has negative weights
        if not w.any():
            w[0, 0] = 1
        if k % 7 == 0:
            w[0, 0] = -128  # a power of two as the most negative weight
        mats.append(w)
        partners.append(rng.integers(-60, 60, (6, 6)) if k % 4 == 0 else None)
    np.savez(
        tmp_path / "w.npz",
        **{f"w{k}": w for k, w in enumerate(mats)},
        **{f"p{k}": p for k, p in enumerate(partners) if p is not None},
    )
    script = f"""
import json, sys
import numpy as np
sys.path.insert(0, {str(NETX_RUNNER.parent)!r})
from netx_runner import import_netx_hdf5
import_netx_hdf5()
from lava.lib.dl.netx.utils import optimize_weight_bits
from lava.utils.weightutils import determine_sign_mode, clip_weights, truncate_weights, SignMode
d = np.load({str(tmp_path / "w.npz")!r})
out = []
for k in range({len(mats)}):
    w = d[f"w{{k}}"]
    both = np.hstack([w, d[f"p{{k}}"]]) if f"p{{k}}" in d.files else w
    opt, nwb, exp, _ = optimize_weight_bits(both)
    opt = opt[:, : w.shape[1]]
    mode = determine_sign_mode(opt)
    k_bits = 8 - nwb + int(mode == SignMode.MIXED)
    if k_bits < 0:
        out.append(None)
        continue
    q = truncate_weights(clip_weights(opt, mode, num_bits=8), mode, nwb)
    out.append([q.tolist(), int(exp), int(nwb), int(mode.value)])
print(json.dumps(out))
"""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    proc = subprocess.run(
        [str(lava_env.python_path()), "-c", script], capture_output=True, text=True, env=env
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    theirs = json.loads(proc.stdout.strip().splitlines()[-1])
    codes = {1: "mixed", 2: "excitatory", 3: "inhibitory"}
    lossy = 0
    for w, p, t in zip(mats, partners, theirs, strict=True):
        ours = netx_synapse(w, shared_with=p)
        if t is None:
            assert ours.weights is None
            continue
        q, exp, nwb, mode = t
        np.testing.assert_array_equal(ours.weights, np.array(q))
        assert (ours.weight_exp, ours.num_weight_bits, ours.sign_mode.value) == (
            exp,
            nwb,
            codes[mode],
        )
        lossy += not np.array_equal(ours.weights, w << -exp)
    assert lossy > 10  # the lossy cases are exercised (and write_netx refuses them)


def test_runner_reports_a_missing_file_and_bad_spikes(tmp_path: Path, lava_ready: None) -> None:
    from spikesim.errors import ConfigError

    with pytest.raises(ConfigError, match=r"netx file not found"):
        run_netx_in_lava([(tmp_path / "missing.net", np.zeros((5, 1, 3)))])
    case = CASES["netx_feedforward"]
    write_netx(case.net, tmp_path / "ff.net")
    with pytest.raises(ParameterError, match=r"spikes must be binary values \(0/1"):
        run_netx_in_lava([(tmp_path / "ff.net", np.full((5, 1, 24), 2))])
