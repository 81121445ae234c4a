"""The main job: ``spikesim demo`` on the bundled data (the classifier stage is tested in
tests/models/test_classify_models.py; here it is skipped to keep the suite short)."""

from __future__ import annotations

import re

import h5py
from click.testing import CliRunner
from spikesim.hardware import lava_env

from spikesim.cli import cli


def test_demo_runs_on_bundled_data(tmp_path):
    out = tmp_path / "demo"
    r = CliRunner().invoke(cli, ["demo", "--no-classifier", "--out", str(out)])
    assert r.exit_code == 0, r.output
    text = r.output
    assert "format N-MNIST (detected from the file's bytes), sensor 34x34, 4325 events" in text
    kept = int(re.search(r"keep (\d+) of 4325 events", text).group(1))
    assert 3000 < kept < 4325  # denoising removes some, not most
    counts = [int(c) for c in re.search(r"fired \[(\d+), (\d+), (\d+), (\d+)\]", text).groups()]
    assert min(counts) > 50
    same = float(re.search(r"identical for ([\d.]+) % of units", text).group(1))
    assert same > 90.0  # Loihi fixed point vs float, per-neuron spike counts
    assert (out / "dvs_pipeline.png").stat().st_size > 10_000
    with h5py.File(out / "dvs_edges_result.h5", "r") as f:
        assert f.attrs["complete"]
    if lava_env.is_ready():
        assert "every spike of every neuron at every step identical to spikesim" in text
