"""Throughput of spikesim.sensors transforms and representations on real recordings.

Measures events per second (best of ``--repeat`` runs, wall clock) of background-activity
denoise, the refractory filter and spike-tensor binning, and of tonic's equivalents in the same
run when tonic is importable. Run from the repository root:

    .venv/bin/python benchmarks/sensors_transforms.py [--data ../shared/data/dvs] [--repeat 5]
        [--max-events N]

Prints a Markdown table. ``--max-events``: only the first N events of each recording (a quick
run; the published table uses whole recordings, the default).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import time
from pathlib import Path

import numpy as np
import torch
from _timing import best
from spikesim.sensors import representations as R
from spikesim.sensors import transforms as T
from spikesim.sensors.formats import get_format

FILES = (
    ("AEDAT4", "aedat4/tonic_sample.aedat4"),
    ("AEDAT2", "aedat2/PyAedatTools_IMU_rotDisk.aedat"),
)


def _cases(rec, tf):
    ev = rec.events
    size3 = (*rec.sensor_size, 2)
    return [
        (
            "denoise 10 ms, 4-neighbourhood",
            lambda: T.denoise(ev, filter_time_us=10_000, neighbourhood=4),
            (lambda: tf.denoise_numpy(ev.copy(), 10_000)) if tf else None,
        ),
        ("denoise 10 ms, 8-neighbourhood", lambda: T.denoise(ev, filter_time_us=10_000), None),
        (
            "refractory 1 ms (any)",
            lambda: T.refractory_filter(ev, refractory_us=1000),
            (lambda: tf.refractory_period_numpy(ev.copy(), 1000)) if tf else None,
        ),
        (
            "refractory 1 ms (kept)",
            lambda: T.refractory_filter(ev, refractory_us=1000, reference="kept"),
            None,
        ),
        (
            "frames 1 ms [T,2,H,W] int counts",
            lambda: R.to_frames(rec, time_window_us=1000),
            (lambda: tf.to_frame_numpy(ev.copy(), size3, time_window=1000)) if tf else None,
        ),
        (
            "frames 10 ms [T,2,H,W] int counts",
            lambda: R.to_frames(rec, time_window_us=10_000),
            (lambda: tf.to_frame_numpy(ev.copy(), size3, time_window=10_000)) if tf else None,
        ),
        ("spike tensor 1 ms, bool", lambda: R.spike_tensor(rec, dt_us=1000), None),
        ("spike tensor 10 ms, bool", lambda: R.spike_tensor(rec, dt_us=10_000), None),
        (
            "spike tensor 1 ms, float32 counts",
            lambda: R.spike_tensor(rec, dt_us=1000, mode="count", dtype=torch.float32),
            None,
        ),
    ]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "dvs"
    ap.add_argument(
        "--data",
        type=Path,
        default=Path(os.environ.get("SPIKESIM_SHARED_DATA", default.parent)) / "dvs",
    )
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument(
        "--tonic-repeat", type=int, default=1, help="tonic's pure-Python loops are slow"
    )
    ap.add_argument(
        "--max-events", type=int, default=0, help="first N events per recording (0: all)"
    )
    args = ap.parse_args()
    if args.max_events < 0:
        ap.error(f"--max-events must be >= 0, got {args.max_events}")
    try:
        import tonic
        import tonic.functional as tf
    except ImportError:
        tonic = tf = None
    print(
        f"# {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} CPUs, numpy {np.__version__}, torch {torch.__version__}"
        + (f", tonic {tonic.__version__}" if tonic else ", tonic not installed")
    )
    print()
    print("| recording | events | operation | spikesim M ev/s | tonic M ev/s | same result |")
    print("|---|---:|---|---:|---:|---|")
    for fmt, rel in FILES:
        path = args.data / rel
        if not path.exists():
            print(f"| {rel} | missing | | | | |")
            continue
        rec = get_format(fmt).read(path)
        if args.max_events:
            rec = dataclasses.replace(rec, events=rec.events[: args.max_events])
        ev = rec.events
        n = ev.size
        cases = _cases(rec, tf)
        for name, ours, theirs in cases:
            t_ours = best(ours, args.repeat, warmup=False)
            cell_t, same = "", ""
            if theirs is not None:
                t_theirs = best(theirs, args.tonic_repeat, warmup=False)
                cell_t = f"{n / t_theirs / 1e6:.3f}"
                a, b = ours(), theirs()
                same = "yes" if np.array_equal(np.asarray(a), np.asarray(b)) else "NO"
            print(f"| {rel} | {n:,} | {name} | {n / t_ours / 1e6:.3f} | {cell_t} | {same} |")


if __name__ == "__main__":
    main()
