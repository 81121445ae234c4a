"""Every script in benchmarks/ still runs, at its smallest meaningful size, and prints the
tables the published figures (benchmarks/*.md) were pasted from.

Each test runs one script in a fresh interpreter (``python -W error``, one torch thread through
the script's ``--threads`` where it has one, ``OMP_NUM_THREADS=1`` otherwise), in a temporary
folder, and checks what a reader of the tables relies on: the rows and variant names, times
that are finite and positive, and the correctness figures the script prints (equal losses
and identical spikes where variants must agree, rates in their band, accuracy above chance).
Speed itself is not asserted. Measured on the 2-core sandbox (load ~2): ~80 s for the default
cases, +7 s for the optional Norse / SpikingJelly peers where installed, ~13 s for the two Lava
cases, ~65 s for the two slow ones.
"""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "benchmarks"


def _run(
    script: str,
    *args: str | Path,
    cwd: Path,
    env: dict[str, str] | None = None,
    timeout_s: float = 300.0,
) -> str:
    """Run ``benchmarks/<script>`` with ``python -W error`` and return its stdout (exit 0)."""
    cmd = [sys.executable, "-W", "error", str(BENCH / script), *map(str, args)]
    full_env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", **(env or {})}
    proc = subprocess.run(
        cmd, cwd=cwd, env=full_env, capture_output=True, text=True, timeout=timeout_s
    )
    assert proc.returncode == 0, f"{script} exited {proc.returncode}:\n{proc.stderr[-3000:]}"
    return proc.stdout


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def _table(text: str, first: str) -> list[dict[str, str]]:
    """The rows (header -> cell) of the markdown table whose first header cell is ``first``."""
    lines = text.splitlines()
    for i, line in enumerate(lines[:-1]):
        if line.startswith("|") and _cells(line)[0] == first:
            head = _cells(line)
            rows = []
            body = lines[i + 2 :] if lines[i + 1].startswith("|-") else lines[i + 1 :]
            for row in body:
                if not row.startswith("|"):
                    break
                cells = _cells(row)
                assert len(cells) == len(head), row
                rows.append(dict(zip(head, cells, strict=True)))
            assert rows, f"table {first!r} has no rows:\n{text[-2000:]}"
            return rows
    raise AssertionError(f"no table with first column {first!r} in:\n{text[-3000:]}")


def _num(cell: str) -> float:
    """A number cell: thousands separators and a trailing 'x' dropped."""
    return float(cell.replace(",", "").removesuffix("x"))


def _time(value: str | float) -> float:
    """A printed time (or throughput): finite and positive."""
    t = _num(value) if isinstance(value, str) else float(value)
    assert math.isfinite(t) and t > 0, value
    return t


def _pair(cell: str, sep: str = "/") -> tuple[float, float]:
    """Cells such as '17.6 / 17.6' (wall / CPU) or '358, 358' (median, best): both positive."""
    a, b = cell.split(sep)
    return _time(a), _time(b)


def _json_after(text: str, tag: str) -> dict:
    """The JSON object printed on the line starting with ``tag``."""
    lines = [ln for ln in text.splitlines() if ln.startswith(tag + " ")]
    assert len(lines) == 1, f"{tag!r}: {len(lines)} lines in:\n{text[-2000:]}"
    return json.loads(lines[0][len(tag) + 1 :])


def test_every_benchmark_has_a_test() -> None:
    tested = {"bench_prophesee_decode", "sensors_transforms", "scale_series", "coba_brian2"}
    tested |= {"linear_lif", "linear_lif_precision", "classification_accuracy"}
    tested |= {"classification_peers", "replay_bench", "wave_rnn_bench", "spindle_waves_bench"}
    tested |= {"hardware_lava", "spike_input_check", "rate_mode"}
    # every script; _timing.py is the helper the scripts import, not a benchmark
    assert {p.stem for p in BENCH.glob("*.py") if not p.stem.startswith("_")} == tested


# --------------------------------------------------------------------------- sensors


def test_bench_prophesee_decode(tmp_path: Path, dvs_dir: Path) -> None:
    # the script finds the samples through SPIKESIM_SHARED_DATA; 300k-event tiled files
    # (one 2^20-event chunk) instead of 100 M
    env = {"SPIKESIM_SHARED_DATA": str(dvs_dir.parent)}
    args = ("--repeats", 1, "--large-events", 300_000, "--tmp", tmp_path)
    out = _run("bench_prophesee_decode.py", *args, cwd=tmp_path, env=env)
    reference = json.loads((dvs_dir / "reference.json").read_text())["files"]
    rows = _table(out, "file")
    assert [r["file"] for r in rows] == [
        "evt2/expelliarmus_evt2_sample.raw",
        "evt2/faery_evt2.raw",
        "evt3/expelliarmus_evt3_sample.raw",
        "evt3/expelliarmus_evt3_test_pedestrians.raw",
        "dat/tonic_sample_ncars.dat",
        "dat/loris_NCARS_obj_004397_td.dat",
    ]
    for r in rows:
        # every decoder decoded the whole file (the script asserts they agree on the count)
        assert int(_num(r["events"])) == reference[r["file"]]["n_events"], r
        _pair(r["spikesim M ev/s (wall / CPU)"])
        _pair(r["expelliarmus M ev/s (wall / CPU)"])  # expelliarmus is in the test extra
        if r["file"].endswith(".dat"):
            assert r["faery M ev/s (wall / CPU)"] == "-"  # faery has no .dat decoder
        else:
            _pair(r["faery M ev/s (wall / CPU)"])
    large = _table(out, "generated file")
    decoders = [(r["generated file"], r["decoder"]) for r in large]
    assert decoders == [
        ("tiled expelliarmus_evt3_sample.raw", d) for d in ("spikesim", "expelliarmus", "faery")
    ] + [
        ("tiled expelliarmus_evt2_sample.raw", d) for d in ("spikesim", "expelliarmus", "faery")
    ] + [("tiled loris_NCARS_obj_004397_td.dat", d) for d in ("spikesim", "expelliarmus")]
    events: dict[str, set[float]] = {}
    for r in large:
        events.setdefault(r["generated file"], set()).add(_num(r["events"]))
        _pair(r["M ev/s (wall / CPU)"])
    for name, n in events.items():
        # every decoder streamed the whole tiled file (whole copies of a 0.2-0.6 M sample)
        assert len(n) == 1 and 300_000 <= n.pop() < 900_000, (name, events)
    assert not list(tmp_path.glob("**/large_*"))  # the generated files are removed


def test_sensors_transforms(tmp_path: Path, dvs_dir: Path) -> None:
    # the first 20,000 events of each recording (tonic's pure-Python filters take ~10 s on the
    # whole recordings)
    args = ("--data", dvs_dir, "--repeat", 1, "--max-events", 20_000)
    rows = _table(_run("sensors_transforms.py", *args, cwd=tmp_path), "recording")
    ops = [
        "denoise 10 ms, 4-neighbourhood",
        "denoise 10 ms, 8-neighbourhood",
        "refractory 1 ms (any)",
        "refractory 1 ms (kept)",
        "frames 1 ms [T,2,H,W] int counts",
        "frames 10 ms [T,2,H,W] int counts",
        "spike tensor 1 ms, bool",
        "spike tensor 10 ms, bool",
        "spike tensor 1 ms, float32 counts",
    ]
    files = ["aedat4/tonic_sample.aedat4", "aedat2/PyAedatTools_IMU_rotDisk.aedat"]
    assert [(r["recording"], r["operation"]) for r in rows] == [(f, o) for f in files for o in ops]
    compared = {ops[0], ops[2], ops[4], ops[5]}  # the operations tonic has (tonic: test extra)
    for r in rows:
        assert _num(r["events"]) == 20_000
        _time(r["spikesim M ev/s"])
        if r["operation"] in compared:
            _time(r["tonic M ev/s"])
            assert r["same result"] == "yes", r  # identical arrays to tonic's
        else:
            assert r["tonic M ev/s"] == r["same result"] == "", r


# ------------------------------------------------------------------------ core engine


def test_scale_series(tmp_path: Path) -> None:
    args = ("--sizes", 1000, 2000, "--fan-in", 20, "--duration-s", 0.02, "--threads", 1)
    rows = _table(_run("scale_series.py", *args, cwd=tmp_path), "neurons")
    assert [_num(r["neurons"]) for r in rows] == [1000, 2000]
    for r in rows:
        n = _num(r["neurons"])
        assert _num(r["synapses"]) == n * (20 + 100)  # fan-in 20 recurrent + 100 Poisson
        assert 5.0 <= _num(r["rate (Hz)"]) <= 25.0, r  # the docstring's inhibition-dominated band
        assert 0 <= _num(r["build (s)"]) < math.inf
        _time(r["wall per bio s (s)"])
        _time(r["syn. events/s"])
        _time(r["peak RSS (GiB)"])
        # compact projections (benchmarks/README.md: 15.7 bytes per synapse, was ~55)
        assert 4.0 < _num(r["bytes/synapse"]) < 20.0, r


def test_coba_brian2(tmp_path: Path) -> None:
    # 0.1 s of the 4000-neuron COBA network (the size is fixed); Brian2's numpy target only
    # (cpp_standalone needs a C++ build, cython a compiler cache: not run here)
    args = ("--targets", "numpy", "--duration-s", 0.1, "--repeat", 1, "--threads", 1)
    out = _run("coba_brian2.py", *args, cwd=tmp_path)
    m = re.search(r"best run ([\d.]+) s, spikes identical to the torch loop: (\w+)", out)
    assert m and m.group(2) == "True", out  # the numba loop gives the torch loop's spikes
    _time(m.group(1))
    rows = {r["engine"]: r for r in _table(out, "engine")}
    torch_row = rows["spikesim (torch CPU, 1 thread)"]
    compiled = rows["spikesim compiled (numba CPU, 1 thread)"]
    brian = rows["Brian2 2.9.0 numpy"]
    assert len(rows) == 3
    for r in (torch_row, brian):
        _time(r["run wall (s)"])
        _time(r["CPU (s)"])
    _time(brian["loop only (s)"])
    _time(brian["wall / spikesim wall"])
    for col in ("exc rate (Hz)", "inh rate (Hz)", "exc CV"):
        assert compiled[col] == torch_row[col]  # same spikes, same figures
        # same frozen network in both simulators: rates and CV agree within 5 %
        assert _num(torch_row[col]) == pytest.approx(_num(brian[col]), rel=0.05), col
    assert 5.0 < _num(torch_row["exc rate (Hz)"]) < 50.0
    _time(_num(re.search(r"Brian2 2.9.0 numpy loop / spikesim compiled run: ([\d.]+)", out)[1]))


def test_spike_input_check(tmp_path: Path) -> None:
    out = _run("spike_input_check.py", "--steps", 20, "--batch", 2, "--repeat", 1, cwd=tmp_path)
    rows = _table(out, "input dtype")
    kinds = {(r["input dtype"], r["values"]) for r in rows}
    dtypes = ("float32", "float64", "float16", "uint8", "bool")
    assert kinds == {(d, v) for d in dtypes for v in ("real", "count", "binary")}
    for r in rows:  # a bool input is not read: 0.0 ms is a valid time there
        assert math.isfinite(_num(r["check ms"])) and _num(r["check ms"]) >= 0, r
    assert "a 2 in a binary input refused, naming step and neuron: True" in out
    for line in ("Simulator.run (float32 input, check included)", "forward + backward"):
        (hit,) = [ln for ln in out.splitlines() if ln.startswith(line)]
        _time(hit.rsplit(":", 1)[1].removesuffix("ms"))


def test_rate_mode(tmp_path: Path) -> None:
    args = ("--steps", 20, "--repeat", 1, "--coba-n", 200, "--batch", 2, "--threads", 1)
    out = _run("rate_mode.py", *args, cwd=tmp_path)
    rows = {r["network"]: r for r in _table(out, "network")}
    assert set(rows) == {"quickstart", "coba"}
    assert _num(rows["quickstart"]["synapses"]) == 400 * 80  # FixedFanIn(k=80)
    assert _num(rows["coba"]["neurons"]) == 200
    for r in rows.values():
        assert _num(r["steps"]) == 20
        for col in ("rate ms/step", "spiking ms/step", "rate / spiking"):
            _time(r[col])
    (bptt,) = _table(out, "differentiable run")
    assert (_num(bptt["batch"]), _num(bptt["steps"])) == (2, 20)
    _time(bptt["forward ms/step"])
    _time(bptt["forward+backward ms/step"])
    assert re.search(r"BPTT check: \d+ spikes, weight gradients finite: True", out), out


def test_linear_lif(tmp_path: Path) -> None:
    # every variant that needs only the test extra (norse, spikingjelly: see the next test;
    # fp8 and the Triton kernels need CUDA); N 256, T 25, batch 8 instead of 2048 x 100 x 16
    variants = ["spikesim", "spikesim_steps", "spikesim_bf16", "spikesim_sparse", "plain_loop"]
    variants += ["plain_gemm", "fused", "fused_torch", "fused_bf16", "fused_sparse", "snntorch"]
    variants += ["floor", "floor_bf16"]
    size = ("--device", "cpu", "--n", 256, "--steps", 25, "--batch", 8, "--threads", 1)
    out = _run(
        "linear_lif.py", *size, "--repeat", 1, "--check", "--only", ",".join(variants), cwd=tmp_path
    )
    assert "FAILED" not in out, out
    # spikesim == the plain loop on the input shifted by one step (its delivery delay)
    m = re.search(r"check: spikes identical=(\w+), max rel. weight-gradient difference=(\S+),", out)
    assert m and m.group(1) == "True" and float(m.group(2)) < 1e-4, out
    assert _num(re.search(r"output rate=([\d.]+) spikes/step", out)[1]) > 0.01  # not silent
    fused = re.search(
        r"check fused: spikes identical to plain_gemm=(\w+), max rel. weight-gradient "
        r"difference=(\S+); fused \(backend auto\) vs fused_torch: spikes identical=(\w+), max "
        r"rel. weight-gradient difference (\S+); fused_bf16 vs fused: spike agreement (\S+), "
        r"max rel. weight-gradient difference \S+, gradient cosine (\S+); fused_sparse vs fused: "
        r"spike agreement (\S+), max rel. weight-gradient difference (\S+)",
        out,
    )
    assert fused, out
    same, err, same_torch, err_torch, agree_bf16, cos_bf16, agree_sparse, err_sparse = (
        fused.groups()
    )
    assert same == same_torch == "True"
    assert float(err) < 1e-5 and float(err_torch) < 1e-5
    # the sparse product: the same spikes, float32 sums in another order (2.4e-5 measured)
    assert float(agree_sparse) == 1.0 and float(err_sparse) < 1e-4
    assert float(agree_bf16) > 0.99 and float(cos_bf16) > 0.8  # rounded weights: a few flips
    pattern = r"^# (\w+): ([\d.]+) s \(CPU ([\d.]+) s; first call ([\d.]+) s\).* loss (\S+)$"
    lines = {m[0]: m[1:] for m in re.findall(pattern, out, flags=re.M)}
    assert list(lines) == variants
    loss = {name: float(v[3]) for name, v in lines.items()}
    for name, (wall, cpu, _, _) in lines.items():
        _time(wall), _time(cpu)
        assert math.isfinite(loss[name]), name
    # the same network and loss: equal losses within each family (spikesim's input arrives
    # one step later than the plain loop's, so the two families differ)
    for group in (
        ["spikesim", "spikesim_steps", "spikesim_sparse"],
        ["plain_loop", "plain_gemm", "fused", "fused_torch", "fused_sparse"],
    ):
        assert all(loss[g] == pytest.approx(loss[group[0]], rel=1e-3) for g in group), loss
    assert loss["spikesim_bf16"] == pytest.approx(loss["spikesim"], rel=0.02)
    assert loss["fused_bf16"] == pytest.approx(loss["fused"], rel=0.02)
    rows = _table(out, "variant")
    assert [r["variant"] for r in rows] == variants
    for r in rows:
        for col in ("x spikesim", "x floor (wall)", "x floor (CPU)"):
            _time(r[col])
    # the published CPU figures use --isolate: each variant in a fresh process, same problem
    iso = _run(
        "linear_lif.py", *size, "--repeat", 1, "--isolate", "--only", "spikesim,fused", cwd=tmp_path
    )
    iso_rows = {m[0]: m[1:] for m in re.findall(pattern, iso, flags=re.M)}
    assert list(iso_rows) == ["spikesim", "fused"]
    for name, (wall, cpu, _, child_loss) in iso_rows.items():
        _time(wall), _time(cpu)
        assert float(child_loss) == pytest.approx(loss[name], rel=1e-3)


@pytest.mark.parametrize("peer", ["norse", "spikingjelly"])
def test_linear_lif_bench_peer(tmp_path: Path, peer: str) -> None:
    # the peers of the `bench` extra, where installed (not needed by the test extra)
    pytest.importorskip(peer)
    args = ("--device", "cpu", "--n", 128, "--steps", 20, "--batch", 4, "--threads", 1)
    out = _run("linear_lif.py", *args, "--repeat", 1, "--only", f"fused,{peer}", cwd=tmp_path)
    assert "FAILED" not in out, out
    rows = {r["variant"]: r for r in _table(out, "variant")}
    assert list(rows) == ["fused", peer]
    m = re.search(rf"^# {peer}: ([\d.]+) s .* loss (\S+)$", out, flags=re.M)
    assert m and math.isfinite(float(m.group(2))), out
    _time(m.group(1))


def test_linear_lif_precision(tmp_path: Path, mnist_dir: Path) -> None:
    # 1024 training images, hidden 64, T 8, 2 epochs (published: 8000 images, hidden 256, T 25)
    args = ("--device", "cpu", "--precisions", "fp32,bf16,fp8", "--hidden", 64, "--steps", 8)
    args += ("--epochs", 2, "--batch-size", 64, "--train-limit", 1024, "--lr", 3e-3)
    args += ("--threads", 1, "--data-dir", mnist_dir)
    out = _run("linear_lif_precision.py", *args, cwd=tmp_path)
    assert "fp8 not supported on cpu" in out  # fp8 needs CUDA: reported and skipped
    assert "MNIST t10k split: 1024 train / 2000 test" in out
    # spikes are exact in bf16: only the rounding of g and W moves the gradient
    prod = re.search(
        r"\[bf16\] product-level 1 - cosine \(same g, x as fp32\): W1 (\S+), W2 (\S+)", out
    )
    assert prod and all(abs(float(v)) < 1e-4 for v in prod.groups()), out
    agree = re.search(r"layer-1 spikes equal to fp32: ([\d.]+)", out)
    assert agree and float(agree[1]) > 0.99
    for p in ("fp32", "bf16"):
        _time(re.search(rf"products alone \[{p}\] .*: ([\d.]+) ms", out)[1])
    summary = {}
    for line in out.splitlines():
        cells = _cells(line.removeprefix("SUMMARY "))
        if line.startswith("SUMMARY ") and len(cells) == 5 and cells[0] in ("fp32", "bf16"):
            summary[cells[0]] = cells
    assert list(summary) == ["fp32", "bf16"], out
    for _, acc, last, all_s, _ in summary.values():
        assert float(acc) > 0.5, summary  # 10 classes: chance is 0.1 (0.82 measured)
        _time(last)
        assert len(all_s.split()) == 2 and all(_time(s) for s in all_s.split())
    assert float(summary["bf16"][1]) == pytest.approx(float(summary["fp32"][1]), abs=0.05)
    _time(re.search(r"SUMMARY speed-up bf16 vs fp32 \(last epoch\): ([\d.]+)x", out)[1])


def test_classification_accuracy(tmp_path: Path, mnist_dir: Path) -> None:
    # 300 / 100 digits, 3 epochs (published: 8000 / 2000, 10 epochs, conv 16/32)
    args = ("--mnist", mnist_dir, "--n-train", 300, "--n-test", 100, "--epochs", 3)
    args += ("--threads", 1, "--cache", tmp_path / "cache", "--out", tmp_path / "out")
    out = _run("classification_accuracy.py", *args, cwd=tmp_path)
    (row,) = _table(out, "date")
    assert row["model"] == "conv [8, 16]" and row["train/test"] == "300/100"
    assert row["T"] == "16" and row["epochs"] == "3"
    assert int(row["neurons"]) > 0 and int(row["params"]) > 0
    _time(row["total s"])
    acc = float(row["test acc"])
    assert acc > 0.6  # chance is 0.1; 0.74 measured with seed 0
    epochs = re.findall(r"epoch (\d): loss ([\d.]+) acc ([\d.]+) (\d+) samples/s", out)
    assert [int(e[0]) for e in epochs] == [1, 2, 3]
    assert float(epochs[-1][1]) < float(epochs[0][1])  # the training loss falls
    assert all(_time(e[3]) for e in epochs)
    saved = json.loads((tmp_path / "out" / "result.json").read_text())
    assert saved["test_accuracy"] == pytest.approx(acc, abs=5e-5)
    assert all(_time(h["epoch_s"]) for h in saved["history"])  # the table rounds train s
    assert (tmp_path / "out" / "confusion.png").stat().st_size > 10_000


def test_classification_peers(tmp_path: Path) -> None:
    # T 4, batch 4, one step timed, one round (published: T 16, batch 20, 3 rounds x 3 x 5
    # steps). One subprocess per framework (~3 s each): spikesim and plain PyTorch there,
    # snnTorch in the --same-process run (Norse, SpikingJelly: the `bench` extra, not here)
    size = ("--batch", 4, "--steps", 4, "--batches", 1, "--repeats", 1, "--threads", 1)
    args = (*size, "--frameworks", "spikesim,torch", "--rounds", 1)
    rows = {
        r["framework"]: r
        for r in _table(_run("classification_peers.py", *args, cwd=tmp_path), "framework")
    }
    assert list(rows) == ["spikesim", "torch"]
    for r in rows.values():
        assert not r["samples/s (wall)"].startswith("failed"), r
        _time(r["samples/s (wall)"]), _time(r["samples per CPU-s"])
        _time(r["spikesim speed-up (samples_per_cpu_s)"])
        assert re.fullmatch(r"\d+ \(peak RSS growth\)", r["memory (MiB)"]), r
    assert rows["spikesim"]["spikesim speed-up (samples_per_cpu_s)"] == "1.00"
    # what autograd keeps: spikesim stores spikes as bool, the plain loop float activations
    saved = {k: float(r["saved for backward (MiB)"]) for k, r in rows.items()}
    assert 0 < saved["spikesim"] < saved["torch"], saved
    args = (*size, "--frameworks", "spikesim,torch,snntorch", "--same-process")
    out = _run("classification_peers.py", *args, cwd=tmp_path)
    steps = re.findall(r"^  (\w+): ([\d.]+) ms(?:, spikesim speed-up ([\d.]+))?$", out, flags=re.M)
    assert [s[0] for s in steps] == ["spikesim", "torch", "snntorch"], out
    assert all(_time(ms) and _time(ratio) for _, ms, ratio in steps)


# --------------------------------------------------------------------------- models


def test_replay_bench(tmp_path: Path) -> None:
    # one seed, 3 ripples, 100 shuffles (published: 2 seeds, 24 ripples, 200 shuffles; fewer
    # than 100 shuffles cannot reach p < 0.01)
    args = ("--seeds", 0, "--n-ripples", 3, "--n-shuffles", 100, "--out", tmp_path / "r.h5")
    rows = _table(_run("replay_bench.py", *args, cwd=tmp_path), "seed")
    assert [r["seed"] for r in rows] == ["0", "mean"]
    r = {k: float(v) for k, v in rows[0].items()}
    assert {k: float(v) for k, v in rows[1].items() if k != "seed"} == {
        k: v for k, v in r.items() if k != "seed"
    }  # one seed: the mean row repeats it
    assert r["track_m"] == 1.5
    assert r["decode_median_error_m"] < 0.05  # place-cell decoding (1.0 cm published here)
    assert r["weight_asymmetry"] > 0  # STDP learned the running direction
    assert r["n_candidates"] >= 2  # of 3 ripples
    assert r["fraction_significant"] > 0
    assert 10 <= r["compression_median"] <= 20  # the 10-20x replay compression
    assert r["abs_weighted_corr_median"] > 0.5
    assert (tmp_path / "r.h5").stat().st_size > 0


def test_wave_rnn_bench(tmp_path: Path) -> None:
    jsonl = tmp_path / "w.jsonl"
    # adding task, T 20, 60 iterations each (published: T 100..1000, thousands of iterations)
    args = ("--T", 20, "--models", "wrnn", "irnn", "--cap", "wrnn=60", "irnn=60", "--batch", 32)
    args += ("--eval-every", 20, "--eval-batch", 64, "--threads", 1, "--out", jsonl)
    out = _run("wave_rnn_bench.py", "adding", *args, cwd=tmp_path)
    rows = [ln for ln in out.splitlines() if ln.startswith("| adding |")]
    cells = {c[2]: c for c in map(_cells, rows)}
    assert list(cells) == ["wrnn", "irnn"]
    mse = {k: float(c[8].split()[0]) for k, c in cells.items()}
    for c in cells.values():
        assert c[1] == "20" and c[7].startswith("not solved within 60 iterations ("), c
        _time(c[9].removesuffix(" seq/s"))
    # the wave RNN learns sooner (the paper's claim): below the mean predictor's MSE (1/6)
    # and below the iRNN's after the same iterations (0.090 vs 0.199 measured)
    assert mse["wrnn"] < 1 / 6 and mse["wrnn"] < mse["irnn"], mse
    table = _run("wave_rnn_bench.py", "table", "--out", jsonl, cwd=tmp_path)
    assert [ln for ln in table.splitlines() if ln.startswith("|")] == rows  # from the JSON lines
    # throughput: the wRNN implementations against the reference loop, T 20, ring 16, c 2
    args = ("--T", 20, "--ring-n", 16, "--channels", 2, "--batch", 4, "--reps", 1, "--threads", 1)
    (row,) = _table(_run("wave_rnn_bench.py", "throughput", *args, cwd=tmp_path), "T")
    assert row["T"] == "20"
    for impl in ("reference", "fused", "pad_conv", "3 convs/step alone (floor)"):
        _pair(row[f"{impl} seq/CPU-s (median, best)"], sep=",")
    for impl in ("fused", "pad_conv", "3 convs/step alone (floor)"):
        _time(row[f"{impl} / reference"])
    # spiking ring: the input history decoded from spikes (16 x 8 neurons, 600 trials)
    args = ("--ring-n", 16, "--copies", 8, "--trials", 600, "--out", tmp_path / "s.jsonl")
    out = _run("wave_rnn_bench.py", "spiking", *args, cwd=tmp_path)
    res = json.loads(out[out.index("{") : out.rindex("}") + 1])
    assert res == {**json.loads((tmp_path / "s.jsonl").read_text()), "date": res["date"]}
    assert len(res["r2_rate"]) == 14  # delays 0 .. n - 3
    assert res["min_r2_rate"] > 0.999  # the linear rate ring keeps the whole history
    assert res["mean_r2_spiking_thermometer"] > 0.9  # 0.977 measured (0.995 published, n 32)
    assert 0.3 < res["mean_r2_spiking_bernoulli"] < res["mean_r2_spiking_thermometer"]


@pytest.mark.slow
def test_wave_rnn_bench_copy_and_smnist(tmp_path: Path, mnist_dir: Path) -> None:
    args = ("--T", 0, "--models", "wrnn", "--cap", "wrnn=100", "--batch", 32)
    args += ("--eval-every", 50, "--eval-batch", 64, "--threads", 1, "--out", tmp_path / "c.jsonl")
    out = _run("wave_rnn_bench.py", "copy", *args, cwd=tmp_path)
    (row,) = [_cells(ln) for ln in out.splitlines() if ln.startswith("| copy |")]
    assert row[2] == "wrnn" and row[6] == "100"
    assert float(row[9]) > 0.5  # recall accuracy after 100 iterations (0.83 measured)
    # sequential MNIST: 784 steps per image, 20 iterations of batch 16 per model
    args = ("--models", "wrnn", "irnn", "--batch", 16, "--cap", "wrnn=20", "irnn=20")
    args += ("--eval-every", 20, "--eval-batch", 100, "--mnist-dir", mnist_dir)
    args += ("--threads", 1, "--out", tmp_path / "m.jsonl")
    out = _run("wave_rnn_bench.py", "smnist", *args, cwd=tmp_path, timeout_s=600)
    rows = {c[1]: c for c in map(_cells, out.splitlines()) if c[0] == "smnist"}
    assert list(rows) == ["wrnn", "irnn"]
    assert float(rows["wrnn"][8]) > 0.2  # 0.31 after 20 iterations; chance 0.1
    assert all(math.isfinite(float(r[7])) for r in rows.values())


def test_spindle_waves_bench(tmp_path: Path) -> None:
    # analysis throughput on 5 s, step timing of an 8 x 8 sheet (batch 1 with the default
    # monitors, batch 2 with the session's), a 6-s session of one trial (published: 30 x 30
    # sites, 24 x 150 s)
    args = ("--out", tmp_path / "out", "--parts", "throughput,timing,session", "--analysis-s", 5)
    args += ("--rows", 8, "--batches", "1,2:session", "--budget-s", 1)
    args += ("--session-trials", 1, "--session-segment-s", 6, "--session-h5", tmp_path / "s.h5")
    out = _run("spindle_waves_bench.py", *args, cwd=tmp_path)
    _time(re.search(r"^analysis electrode-cycles/s (\S+)$", out, flags=re.M)[1])
    timing = [json.loads(ln[7:]) for ln in out.splitlines() if ln.startswith("TIMING ")]
    assert [(t["batch"], t["monitors"], t["rows"]) for t in timing] == [
        (1, "default", 8),
        (2, "session", 8),
    ]
    for t in timing:
        assert t["steps"] >= 500 and t["ex_spikes"] > 0
        for key in ("ms_per_step", "run_wall_s", "wall_per_simulated_s", "hour_session_min"):
            _time(t[key])
    run = _json_after(out, "SESSION_RUN")
    _time(run["run_wall_s"])
    s = _json_after(out, "SESSION")
    assert s["trials"] == 1 and s["simulated_s"] == 6.0 and s["episodes"] >= 1
    assert s["ex_spikes"] > 0 and s["tc_spikes"] > 0 and s["cycles"] > 0
    assert 10.0 <= s["frequency_median_hz"] <= 16.0  # the spindle band
    _time(s["wall_per_step_ms"])
    assert s["h5_size_mb"] == pytest.approx((tmp_path / "s.h5").stat().st_size / 1e6)
    report = json.loads((tmp_path / "out" / "spindle_bench.json").read_text())
    assert report["session"]["frequency_median_hz"] == s["frequency_median_hz"]
    assert [t["steps"] for t in report["timing"]] == [t["steps"] for t in timing]


@pytest.mark.slow
def test_spindle_waves_bench_baseline(tmp_path: Path) -> None:
    # the reproduction part, --quick (spiking 2 trials x 6 s on 12 x 12 sites, rate 2 x 3 s)
    out = _run(
        "spindle_waves_bench.py", "--out", tmp_path, "--parts", "baseline", "--quick", cwd=tmp_path
    )
    for mode in ("spiking", "rate"):
        (line,) = [ln for ln in out.splitlines() if ln.startswith(mode + " {")]
        r = json.loads(line[len(mode) + 1 :])
        assert r["cycles"] > 5 and r["episodes"] >= 1
        assert 10.0 <= r["frequency_median_hz"] <= 16.0  # the spindle band (13.2, 14.6 Hz)
        assert 0.1 < r["speed_median_m_s"] < 10.0  # phase speed, m/s
        fractions = [r[f"{k}_fraction"] for k in ("rotating", "expanding", "planar", "other")]
        assert sum(fractions) == pytest.approx(1.0)
        _time(r["sim_wall_s"])


# ------------------------------------------------------------------------- hardware


def _lava_table(out: str) -> dict[str, str]:
    (row,) = _table(out, "network")
    assert (row["network"], row["neurons"], row["steps"]) == ("ring_attractor", "56", "300")
    t1 = row["spikesim b=1 s (CPU s)"].split(" (")
    _time(t1[0]), _time(t1[1].rstrip(")"))
    _time(row["b=16 s"]), _time(row["b=64 s (CPU s)"].split(" (")[0])
    _time(row["b=64 sample-steps/s"])
    export = re.search(
        r"^export: ring attractor .* ([\d.]+) s; feedforward_benchmark .* ([\d.]+) s$",
        out,
        flags=re.M,
    )
    assert export, out
    return row


def test_hardware_lava_fixed_point(tmp_path: Path) -> None:
    # spikesim's fixed-point side only, on the ring attractor (the 2000-neuron feed-forward
    # network's batched timings take ~30 s)
    row = _lava_table(
        _run("hardware_lava.py", "--skip-lava", "--networks", "ring", "--threads", 1, cwd=tmp_path)
    )
    assert row["Lava run s"] == "nan" and row["ratio (run)"] == "nanx"  # Lava not run


@pytest.mark.lava
def test_hardware_lava(tmp_path: Path, lava_ready: None) -> None:
    # the script asserts spike for spike agreement with Lava's fixed_pt run before it prints
    row = _lava_table(_run("hardware_lava.py", "--networks", "ring", "--threads", 1, cwd=tmp_path))
    _time(row["Lava run s"]), _time(row["ratio (run)"]), _time(row["vs Lava per sample"])
    total, cpu = row["Lava total s (CPU s)"].split(" (")
    _time(total), _time(cpu.rstrip(")"))


@pytest.mark.lava
def test_hardware_lava_netx(tmp_path: Path, lava_ready: None) -> None:
    out = _run("hardware_lava.py", "--netx", "--networks", "ring", "--threads", 1, cwd=tmp_path)
    rows = _table(out, "network")
    names = ["netx_feedforward", "netx_recurrent", "netx_delays", "netx_quantized"]
    assert [r["network"] for r in rows] == names  # the feed-forward benchmark left out
    for r in rows:
        # lava-dl's netx network and spikesim's fixed-point mode: same spikes and v every step
        assert r["spikes equal"] == r["v equal"] == "True", r
        counts = [int(c.split()[-1]) for c in r["spikes (per layer)"].split(", ")]
        assert len(counts) == int(r["netx layers"]) and min(counts) > 0, r
        _time(r["lava-dl build+run s"]), _time(r["spikesim b=1 s"])
        assert 0 <= float(r["write_netx s"]) < math.inf
