"""Every script in examples/ runs as a user runs it (a fresh interpreter, warnings as errors,
the documented default arguments) and prints the figures its docstring promises.

Each test runs one example in a subprocess, in a temporary folder, and checks its printed
numbers against what the example claims, with the tolerances stated, plus the files it writes.
About 80 s for all six on one CPU core (the spindle example is the longest, ~25 s).
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def _run(script: str, *args: str | Path, cwd: Path, timeout_s: float = 300.0) -> str:
    """Run ``examples/<script>`` with ``python -W error`` and return its stdout (it must exit 0)."""
    cmd = [sys.executable, "-W", "error", str(EXAMPLES / script), *map(str, args)]
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout_s)
    assert proc.returncode == 0, f"{script} exited {proc.returncode}:\n{proc.stderr[-3000:]}"
    return proc.stdout


def _number(pattern: str, text: str) -> float:
    m = re.search(pattern, text)
    assert m, f"{pattern!r} not in the output:\n{text[-2000:]}"
    return float(m.group(1))


def _png(path: Path) -> None:
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", path
    assert path.stat().st_size > 10_000, path  # a drawn figure, not an empty canvas


def test_every_example_has_a_test() -> None:
    tested = {"ring_attractor", "wave_rnn_copy_task", "sleep_consolidation", "spindle_waves"}
    tested |= {"nmnist_classification", "lava_deploy"}
    assert {p.stem for p in EXAMPLES.glob("*.py")} == tested


def test_ring_attractor(tmp_path: Path) -> None:
    out = _run("ring_attractor.py", "--spiking", "--out", "ring.png", cwd=tmp_path)
    # Zhang (1996): the bump moves at gamma / tau, 100 rad/s per unit gamma at tau = 10 ms
    assert _number(r"speed per unit gamma ([\d.]+) rad/s", out) == pytest.approx(100.0, rel=0.1)
    assert _number(r"max integration error ([\d.]+) rad", out) < 0.01
    _png(tmp_path / "ring.png")


def test_wave_rnn_copy_task(tmp_path: Path) -> None:
    out = _run("wave_rnn_copy_task.py", "--out", "copy.png", cwd=tmp_path)
    # the wave travels one ring unit per step; 200 iterations learn the copy task
    assert _number(r"space-time FFT velocity (-?\d+) unit/step", out) == 1
    assert _number(r"recall accuracy ([\d.]+) after 200 iterations", out) > 0.95
    _png(tmp_path / "copy.png")


@pytest.mark.slow
def test_sleep_consolidation(tmp_path: Path) -> None:
    out = _run("sleep_consolidation.py", "--out", "sleep", cwd=tmp_path)
    lines = {ln.split(":", 1)[0]: ln.split(":", 1)[1] for ln in out.splitlines() if ":" in ln}
    hippo = ast.literal_eval(lines["hippocampus"].strip())
    assert hippo["decode_median_error_m"] < 0.05  # place-cell decoding on a 1.5 m track
    assert hippo["fraction_significant"] >= 0.5  # replay events beat the shuffles
    assert hippo["weight_asymmetry"] > 0  # CA3 STDP learned the running direction
    cortex = ast.literal_eval(lines["cortex"].strip())
    assert cortex[0] == 0.0 and cortex[20] > 0.2  # sleep replay writes the sequence to cortex
    go_cls = ast.literal_eval(lines["go-cls final errors"].strip())
    assert go_cls["reliable"][-1] < 0.05  # a reliable teacher, P/N = 8: generalizes
    assert go_cls["noisy"][-1] > go_cls["reliable"][-1]
    for name in ("place_fields", "replay_event", "consolidation", "go_cls"):
        _png(tmp_path / "sleep" / f"{name}.png")


@pytest.mark.slow
def test_spindle_waves(tmp_path: Path) -> None:
    out = _run("spindle_waves.py", "--out", "spindle", cwd=tmp_path)
    printed = json.loads(out[out.index("{") : out.rindex("}") + 1])
    saved = json.loads((tmp_path / "spindle" / "summary.json").read_text())
    assert {k: v for k, v in saved.items() if k != "episodes"} == printed
    assert printed["spindles"] == len(saved["episodes"]) == 1
    assert printed["cycles"] >= 10
    assert 10.0 <= printed["frequency_median_hz"] <= 16.0  # the spindle band
    assert printed["rotating_fraction"] > 0.5  # the model's spindles rotate (Muller 2016)
    assert 1.0 <= printed["speed_median_m_s"] <= 5.0
    for name in ("phase_maps", "spectrogram"):
        _png(tmp_path / "spindle" / f"{name}.png")


def test_nmnist_classification(tmp_path: Path, mnist_dir: Path) -> None:
    args = ("--mnist", mnist_dir, "--cache", tmp_path / "cache", "--out", tmp_path / "out")
    out = _run("nmnist_classification.py", *args, cwd=tmp_path)
    # 600 training digits, 3 epochs: well above chance (0.1); 0.865 measured with seed 0
    assert _number(r"test accuracy: ([\d.]+) on 200 digits", out) > 0.7
    _png(tmp_path / "out" / "confusion.png")


@pytest.mark.lava
def test_lava_deploy(tmp_path: Path, lava_ready: None) -> None:
    out = _run("lava_deploy.py", "--out-dir", tmp_path / "deploy", cwd=tmp_path)
    # Lava's fixed-point run (ring, inh) and lava-dl's netx network (hidden, classes) agree with
    # spikesim spike for spike, with real activity in every population
    pattern = r"^([\w ]+): spikesim (?:fixed point )?(\d+) spikes, .*identical spikes and v at every step$"
    agree = dict(re.findall(pattern, out, flags=re.M))
    assert sorted(agree) == ["inh", "netx classes", "netx hidden", "ring"], out
    assert all(int(n) > 100 for n in agree.values()), agree
    assert re.search(r"bump held by neurons (\d+)\.\.(\d+)", out)
    assert any((tmp_path / "deploy").iterdir())
