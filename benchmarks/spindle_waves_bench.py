"""Spindle traveling waves: reproduction of Muller et al. (eLife 2016) on the spindle model,
and the experiment on what sets the preferred rotation direction.

Usage::

    python benchmarks/spindle_waves_bench.py --out bench_out            # everything (~40 min, 2 cores)
    python benchmarks/spindle_waves_bench.py --out bench_out --quick    # smaller, for a smoke run

Parts:

1. ``baseline``: the default model (chirality 0) in spiking and in rate mode: spindle
   frequency, fractions of rotating / expanding / planar cycles, rotation direction, phase
   speed, beside the paper's numbers.
2. ``sweep`` (spiking mode) and ``ratesweep`` (rate mode): chirality of the thalamic reticular coupling (and, as non-chiral controls, a
   gradient of thalamic drive and the cortical conduction speed) vs the fraction of
   counter-clockwise rotations, run with :func:`spikesim.sweep.sweep` (local; ``--address``
   for a Ray cluster) into one HDF5 file.
3. ``thalamus``: the thalamic ring alone (rate mode; spiking for the default): winding
   statistics for the previous short-range coupling, the delayed all-round default and
   slower / faster ring conduction (what makes the twisted state common).
4. ``throughput``: analysis throughput (electrode-cycles per second) and simulation wall
   time per simulated second (extrapolated to a 1-hour sleep session).
5. ``session``: a whole simulated sleep session (default episode schedule: 0.5-3 s spindles
   every 5-15 s), spiking mode with the LIF thalamus, run as ``--session-trials`` batched
   independent segments of ``--session-segment-s`` each (24 x 150 s = one hour), streamed
   to HDF5 in chunks (``Simulator.run(out=...)``) with only the E and TC spike monitors;
   then the electrode LFP from the E spikes and the wave statistics of every spindle cycle.
6. ``timing``: wall time per step of the full-size spiking model (LIF thalamus, default
   monitors, as the CPU rows of benchmarks/spindle_waves.md) for 1 trial and for a batch of
   24 segments, on ``--device`` (the GPU part benchmarks/gpu/part_spindle.sh), with a wall
   budget (``--budget-s``) that sets how many steps are timed.

Episodes: in these runs spindles follow each other after 0.5-1 s instead of 5-15 s (the
model keeps no slow state between episodes; every activity decays within ~0.1 s), so the
simulated time is spent on spindles. Cycles are taken inside each gated episode, 0.2 s in
from its edges.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch
from spikesim.models.spindle import (
    LIF_THALAMUS,
    THALAMUS_ONLY,
    SpindleConfig,
    build_spindle_network,
    electrode_positions,
    episodes_of,
    gate_input,
    lfp,
    lfp_from_spikes,
    ring_winding,
    ring_winding_from_spikes,
    run_spindles,
)

from spikesim.analysis.waves import KINDS, analyze_waves, electrode_grid

BENCH = SpindleConfig(
    duration_s=6.0,
    first_episode_s=0.5,
    min_interval_s=0.5,
    max_interval_s=1.0,
)


def cycle_stats(cycles: list) -> dict:
    """Per-cycle wave statistics: count, fraction of each kind, rotation sense, phase speed
    (median, 20th and 80th percentile, m/s) and frequency (median, Hz)."""
    kinds = np.array([c.kind for c in cycles])
    rot = np.array([c.rotation for c in cycles if c.kind == "rotating"])
    speeds = np.array([c.speed_m_s for c in cycles if np.isfinite(c.speed_m_s)])
    freq = np.array([c.frequency_hz for c in cycles])
    return {
        "cycles": len(cycles),
        **{f"{k}_fraction": float(np.mean(kinds == k)) if len(kinds) else np.nan for k in KINDS},
        "rotating_cycles": int(rot.size),
        "ccw_fraction": float(np.mean(rot > 0)) if rot.size else np.nan,
        "speed_median_m_s": float(np.median(speeds)) if speeds.size else np.nan,
        "speed_p20_m_s": float(np.percentile(speeds, 20)) if speeds.size else np.nan,
        "speed_p80_m_s": float(np.percentile(speeds, 80)) if speeds.size else np.nan,
        "frequency_median_hz": float(np.median(freq)) if freq.size else np.nan,
    }


def thalamic_winding(result, cfg: SpindleConfig, episodes, *, batch: int) -> list[int]:
    """Winding number of the thalamic ring's phase (median over each episode's middle)."""
    return ring_winding(result, cfg, episodes, batch=batch)


def scaled_connectivity(base: SpindleConfig, spacing_m: float) -> dict:
    """Connection probabilities (and, where a probability would exceed 1, weights) that keep
    the synaptic input per unit area of ``base`` on a grid of ``spacing_m``."""
    scale = (spacing_m / base.spacing_m) ** 2
    out = {}
    for p_name, w_name in (("p_ee", "w_ee_mV"), ("p_ei", "w_ei_mV"), ("p_ie", "w_ie_mV")):
        p = getattr(base, p_name) * scale
        out[p_name] = min(1.0, p)
        out[w_name] = getattr(base, w_name) * max(1.0, p)
    return out


def experiment(
    *,
    chirality: float = 0.0,
    drive_gradient: float = 0.0,
    speed_m_s: float = 3.0,
    mode: str = "spiking",
    trials: int = 8,
    seed: int = 0,
    duration_s: float = BENCH.duration_s,
    rows: int = BENCH.rows,
    **model,
) -> dict:
    """One model run of ``trials`` independent trials; wave statistics of all their cycles.

    ``model`` overrides further :class:`SpindleConfig` fields (e.g. ``**LIF_THALAMUS``).
    """
    torch.set_num_threads(1)
    spacing = 0.08 / rows  # the sheet spans 80 mm (the electrode grid 70 mm)
    cfg = dataclasses.replace(
        BENCH,
        **scaled_connectivity(BENCH, spacing),
        chirality=chirality,
        drive_gradient=drive_gradient,
        speed_m_s=speed_m_s,
        duration_s=duration_s,
        rows=rows,
        cols=rows,
        spacing_m=spacing,
        **model,
    )
    t0 = time.perf_counter()
    res, eps = run_spindles(cfg, mode=mode, batch_size=trials, seed=seed)
    sim_wall = time.perf_counter() - t0
    el = electrode_positions(cfg)
    cycles, windings = [], []
    t1 = time.perf_counter()
    n_cyc = 0
    for b in range(trials):
        x, fs = lfp(res, cfg, batch=b)
        iv = [
            (e.start_s + 0.2, e.start_s + e.duration_s - 0.2) for e in eps[b] if e.duration_s > 0.5
        ]
        a = analyze_waves(x, fs_hz=fs, positions_m=el, spindles=iv, seed=seed + b)
        cycles += a.cycles
        n_cyc += len(a.cycles)
        windings += thalamic_winding(res, cfg, eps[b], batch=b)
    ana_wall = time.perf_counter() - t1
    w = np.array(windings)
    out = {
        "episodes": int(sum(len(e) for e in eps)),
        **cycle_stats(cycles),
        "winding_plus_fraction": float(np.mean(w > 0)) if w.size else np.nan,
        "winding_minus_fraction": float(np.mean(w < 0)) if w.size else np.nan,
        "winding_zero_fraction": float(np.mean(w == 0)) if w.size else np.nan,
        "sim_wall_s": sim_wall,
        "simulated_s": duration_s * trials,
        "analysis_wall_s": ana_wall,
        "electrode_cycles": n_cyc * 64,
    }
    return out


def thalamus_only(*, mode: str = "rate", trials: int = 16, seed: int = 0, **model) -> dict:
    """Winding statistics of the thalamic ring alone (a 2 x 2-site cortex, no background).

    ``trials`` episodes of 2-2.2 s; per episode the winding (median over its middle, as
    :func:`thalamic_winding`), the twist order parameters Z_q = |mean over modules of
    exp(i(phase_k - q 2 pi k / M))| (time-averaged), each module's phase coherence over
    360 ms (5 cycles) and the neighbouring modules' phase locking. ``model`` overrides
    :class:`SpindleConfig` fields (e.g. ``lateral_sigma_modules``, ``thalamic_speed_m_s``).
    """
    from scipy import signal

    torch.set_num_threads(1)
    cfg = SpindleConfig(**THALAMUS_ONLY, **model)
    res, eps = run_spindles(cfg, mode=mode, batch_size=trials, seed=seed)
    w = np.array([x for b in range(trials) for x in thalamic_winding(res, cfg, eps[b], batch=b)])
    M, K = cfg.n_modules, cfg.units_per_module
    tc = res.states["tc_rate"].values["r"]
    y = tc.reshape(tc.shape[0], trials, M, K).mean(-1)
    sos = signal.butter(2, (9.0, 18.0), btype="bandpass", fs=1 / cfg.dt_s, output="sos")
    y = signal.sosfiltfilt(sos, y, axis=0)
    ph = np.angle(signal.hilbert(y, axis=0))[int(0.6 / cfg.dt_s) : int(2.2 / cfg.dt_s)]
    ang = 2 * np.pi * np.arange(M) / M
    z = {q: np.abs(np.exp(1j * (ph - q * ang)).mean(-1)).mean(0) for q in (-2, -1, 0, 1, 2)}
    best = np.argmax(np.stack([z[q] for q in (-2, -1, 0, 1, 2)]), axis=0) - 2
    lag = int(0.36 / cfg.dt_s)
    return {
        "episodes": int(w.size),
        "winding_counts": {int(q): int(np.sum(w == q)) for q in np.unique(w)},
        "winding_pm1_fraction": float(np.mean(np.abs(w) == 1)),
        "closest_q_counts": {int(q): int(np.sum(best == q)) for q in np.unique(best)},
        "z_mean": {q: float(v.mean()) for q, v in z.items()},
        "coherence_360ms": float(np.abs(np.exp(1j * (ph[lag:] - ph[:-lag])).mean(0)).mean()),
        "neighbour_locking": float(np.abs(np.exp(1j * (np.roll(ph, -1, -1) - ph)).mean(0)).mean()),
    }


def analysis_throughput(seed: int = 0, *, duration_s: float = 60.0) -> float:
    """Electrode-cycles per second of analyze_waves on a synthetic 8 x 8 recording
    (``duration_s``, 500 Hz, a rotating 13.5 Hz wave plus noise of s.d. 1)."""
    pos = electrode_grid()
    fs, f = 500.0, 13.5
    t = np.arange(int(duration_s * fs)) / fs
    d = pos - pos.mean(axis=0)
    th = np.arctan2(d[:, 1], d[:, 0])
    x = np.cos(2 * np.pi * f * t[None] - th[:, None]) + np.random.default_rng(seed).normal(
        size=(64, t.size)
    )
    t0 = time.perf_counter()
    a = analyze_waves(x, fs_hz=fs, positions_m=pos, spindles=None, seed=seed)
    return len(a.cycles) * 64 / (time.perf_counter() - t0)


def _session_cfg(rows: int, segment_s: float) -> SpindleConfig:
    """Full-size session configuration: default episode schedule, LIF thalamus, an 80 mm
    sheet of ``rows`` x ``rows`` sites (connectivity scaled as in :func:`experiment`)."""
    spacing = 0.08 / rows
    return SpindleConfig(
        duration_s=segment_s,
        rows=rows,
        cols=rows,
        spacing_m=spacing,
        **scaled_connectivity(BENCH, spacing),
        **LIF_THALAMUS,
    )


def _session_network(cfg: SpindleConfig):
    """The model with the session's monitors only: E and TC spikes (events, small on disk)."""
    net = build_spindle_network(cfg, monitor=False)
    net.monitor_spikes("ex", name="ex_spikes")
    net.monitor_spikes("tc", name="tc_spikes")
    return net


def session(
    *,
    trials: int = 24,
    segment_s: float = 150.0,
    rows: int = 30,
    seed: int = 0,
    out_h5: str | Path = "/tmp/spindle_session.h5",
    device: str | None = None,
    analyze_only: bool = False,
) -> dict:
    """A whole simulated sleep session as ``trials`` batched segments, streamed to HDF5.

    Returns the wall times, the file size and the spindle / wave statistics of all
    segments (cycles 0.2 s inside each gated episode, as :func:`experiment`). Prints a
    ``SESSION_RUN`` line as soon as the simulation ends. ``analyze_only``: no simulation,
    analyse the file ``out_h5`` written by an earlier call with the same arguments (its run
    wall time is read from the file's provenance; episodes are redrawn from ``seed``).
    """
    from spikesim import Result, Simulator

    torch.set_num_threads(1)
    cfg = _session_cfg(rows, segment_s)
    out_h5 = Path(out_h5)
    build_wall = np.nan
    if analyze_only:
        eps = [episodes_of(cfg, seed=seed, trial=b) for b in range(trials)]
        dev = device or "cpu"
    else:
        t0 = time.perf_counter()
        net = _session_network(cfg)
        gate, eps = gate_input(cfg, mode="spiking", batch_size=trials, seed=seed)
        sim = Simulator(net, mode="spiking", batch_size=trials, seed=seed, device=device)
        dev = str(sim.device)
        build_wall = time.perf_counter() - t0
        if out_h5.exists():
            out_h5.unlink()
        t1 = time.perf_counter()
        sim.run(cfg.duration_s, inputs={"gate": gate}, out=out_h5, progress=False)
        wall = time.perf_counter() - t1
        del gate
        print(
            "SESSION_RUN",
            json.dumps({"run_wall_s": wall, "h5_size_mb": out_h5.stat().st_size / 1e6}),
            flush=True,
        )
    size_mb = out_h5.stat().st_size / 1e6
    t2 = time.perf_counter()
    res = Result.from_hdf5(out_h5)
    run_wall = float(res.provenance["wall_time_s"])
    n_steps = res.run["n_steps"]
    el = electrode_positions(cfg)
    cycles, windings = [], []
    ex, tc = res.spikes["ex_spikes"], res.spikes["tc_spikes"]
    for b in range(trials):
        sel = ex.batch == b
        x = lfp_from_spikes(ex.step[sel], ex.index[sel], cfg, n_steps=n_steps)
        iv = [
            (e.start_s + 0.2, e.start_s + e.duration_s - 0.2) for e in eps[b] if e.duration_s > 0.5
        ]
        if iv:
            a = analyze_waves(x, fs_hz=1.0 / cfg.dt_s, positions_m=el, spindles=iv, seed=seed + b)
            cycles += a.cycles
        selt = tc.batch == b
        windings += ring_winding_from_spikes(
            tc.step[selt], tc.index[selt], cfg, eps[b], n_steps=n_steps
        )
    ana_wall = time.perf_counter() - t2
    w = np.array(windings)
    durs = np.array([e.duration_s for ep in eps for e in ep])
    return {
        "trials": trials,
        "segment_s": segment_s,
        "simulated_s": trials * segment_s,
        "rows": rows,
        "seed": seed,
        "device": dev,
        "build_wall_s": build_wall,
        "run_wall_s": run_wall,
        "wall_per_step_ms": 1e3 * run_wall / n_steps,
        "analysis_wall_s": ana_wall,
        "h5": str(out_h5),
        "h5_size_mb": size_mb,
        "ex_spikes": int(ex.step.size),
        "tc_spikes": int(tc.step.size),
        "ex_rate_hz": float(ex.step.size / (trials * segment_s * cfg.rows * cfg.cols)),
        "episodes": int(durs.size),
        "episode_s_median": float(np.median(durs)) if durs.size else np.nan,
        "spindle_time_fraction": float(durs.sum() / (trials * segment_s)),
        **cycle_stats(cycles),
        "winding_counts": {int(q): int(np.sum(w == q)) for q in np.unique(w)},
    }


def timing(
    *,
    device: str = "cpu",
    rows: int = 30,
    batches: tuple[int | tuple[int, str], ...] = (1, 24),
    monitors: str = "default",
    budget_s: float = 30.0,
    max_steps: int = 10_000,
    seed: int = 4,
) -> list[dict]:
    """Wall per step of the full-size spiking model (LIF thalamus).

    ``monitors="default"``: the model's default monitors (E spikes, E and TC rates recorded
    every step; as the CPU rows of benchmarks/spindle_waves.md); ``"session"``: E and TC
    spikes only (as :func:`session`). For each batch size: build, a 200-step warm-up run, then a timed run whose length is
    chosen from the warm-up so it takes about ``budget_s / len(batches) / 2`` (between 500
    and ``max_steps`` steps); prints one ``TIMING`` JSON line each, with the 1-hour
    extrapolation (3.6 M steps / batch steps per trial).
    """
    from spikesim import Simulator

    torch.set_num_threads(1)
    rows_out = []
    cuda = torch.device(device).type == "cuda"

    def sync() -> None:
        if cuda:
            torch.cuda.synchronize()

    for entry in batches:
        # an entry is a batch size, or (batch size, monitors) to override ``monitors``
        B, mons = entry if isinstance(entry, tuple) else (entry, monitors)
        # the benchmark's episode schedule (spindles 0.5-1 s apart from 0.1 s on), as in the
        # CPU rows: the timed steps are mostly spindle steps (the busiest ones)
        base = dataclasses.replace(
            _session_cfg(rows, 0.2), first_episode_s=0.1, min_interval_s=0.5, max_interval_s=1.0
        )
        t0 = time.perf_counter()
        if mons not in ("default", "session"):
            raise ValueError(f"timing: monitors must be 'default' or 'session', not {mons!r}")
        net = build_spindle_network(base) if mons == "default" else _session_network(base)
        sim = Simulator(net, mode="spiking", batch_size=B, seed=seed, device=device)
        sync()
        build_wall = time.perf_counter() - t0
        gate, _ = gate_input(base, mode="spiking", batch_size=B, seed=seed)
        t0 = time.perf_counter()
        sim.run(base.duration_s, inputs={"gate": gate}, progress=False)
        sync()
        warm = (time.perf_counter() - t0) / 200
        share = budget_s / len(batches) / 2
        n = int(min(max_steps, max(500, share / max(warm, 1e-6))))
        cfg = dataclasses.replace(base, duration_s=n * base.dt_s)
        gate, _ = gate_input(cfg, mode="spiking", batch_size=B, seed=seed)
        sync()
        t0 = time.perf_counter()
        res = sim.run(cfg.duration_s, inputs={"gate": gate}, progress=False)
        sync()
        wall = time.perf_counter() - t0
        per_step = wall / n
        hour_steps = 3600.0 / base.dt_s / B
        r = {
            "device": device,
            "device_name": torch.cuda.get_device_name() if cuda else platform.processor(),
            "torch": torch.__version__,
            "batch": B,
            "monitors": mons,
            "rows": rows,
            "steps": n,
            "simulated_s": n * base.dt_s * B,
            "build_wall_s": build_wall,
            "warmup_ms_per_step": 1e3 * warm,
            "run_wall_s": wall,
            "ms_per_step": 1e3 * per_step,
            "wall_per_simulated_s": per_step / (base.dt_s * B),
            "hour_session_min": hour_steps * per_step / 60.0,
            "ex_spikes": int(res.spikes["ex_spikes"].step.size),
        }
        rows_out.append(r)
        print("TIMING", json.dumps(r), flush=True)
    return rows_out


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", default="spindle_bench_out")
    p.add_argument("--quick", action="store_true")
    p.add_argument("--address", default=None, help="Ray cluster address (default: local)")
    p.add_argument("--parts", default="baseline,sweep,ratesweep,throughput")
    p.add_argument("--device", default="cpu", help="session / timing parts: torch device")
    p.add_argument("--session-trials", type=int, default=24)
    p.add_argument("--session-segment-s", type=float, default=150.0)
    p.add_argument("--rows", type=int, default=30, help="session / timing parts: sheet rows")
    p.add_argument("--session-h5", default="/tmp/spindle_session.h5")
    p.add_argument(
        "--analyze-only", action="store_true", help="session part: analyse an existing file"
    )
    p.add_argument("--budget-s", type=float, default=30.0, help="timing part: wall budget")
    p.add_argument(
        "--batches",
        default="1,24",
        help="timing part: batch sizes, each optionally with :default or :session monitors",
    )
    p.add_argument("--monitors", default="default", help="timing part: default or session")
    p.add_argument("--analysis-s", type=float, default=60.0, help="throughput: recording s")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    parts = set(args.parts.split(","))
    trials = 2 if args.quick else 6
    dur = 3.0 if args.quick else 5.0
    rows = 12 if args.quick else 30  # spiking runs: 30 x 30 sites at 2.7 mm
    rate_rows = 12  # rate runs (slower per step): 12 x 12 at 6.7 mm
    report: dict = {
        "machine": f"{platform.machine()} {torch.get_num_threads()} torch thread(s)",
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "command": " ".join(
            [Path(sys.argv[0]).name] + (argv if argv is not None else sys.argv[1:])
        ),
        "trials": trials,
        "duration_s": dur,
        "rows": rows,
    }
    if "baseline" in parts:
        # spiking: 6 trials x 10 s (60 s simulated, also the wall-time measurement for the
        # 1-hour extrapolation); rate: 8 trials x 4 s on a 12 x 12 sheet (a rate step costs
        # more than a spiking one)
        for mode in ("spiking", "rate"):
            r = experiment(
                mode=mode,
                trials=trials if mode == "spiking" else (2 if args.quick else 8),
                duration_s=2 * dur if mode == "spiking" else (dur if args.quick else 4.0),
                rows=rows if mode == "spiking" else rate_rows,
                seed=0,
            )
            report[f"baseline_{mode}"] = r
            print(mode, json.dumps(r), flush=True)
    if "sweep" in parts:
        from spikesim.sweep import sweep

        points = [dict(chirality=c) for c in (-1.0, -0.5, 0.0, 0.5, 1.0)]
        points += [dict(drive_gradient=0.5)] if not args.quick else []
        points += [dict(speed_m_s=1.0), dict(speed_m_s=9.0)] if not args.quick else []
        for pt in points:
            pt.update(trials=trials, duration_s=dur, rows=rows, seed=1)
        res = sweep(
            experiment,
            points,
            backend="ray" if args.address else "local",
            address=args.address,
            out=out / "spindle_sweep.h5",
            progress=False,
        )
        rows_out = []
        for prm, r in zip(res.params, res.results, strict=True):
            rows_out.append({**prm, **(r or {})})
            print(json.dumps(rows_out[-1]), flush=True)
        report["sweep"] = rows_out
    if "ratesweep" in parts:
        # chirality in rate mode (the thalamic ring's twisted states are not smeared by
        # Poisson noise there); smaller sheet since a rate step costs more than a spiking one
        from spikesim.sweep import sweep

        points = [
            dict(chirality=c, mode="rate", trials=8, duration_s=4.0, rows=12, seed=sd)
            for c in (-1.0, 0.25, 1.0)
            for sd in (2,)
        ]
        if args.quick:
            points = [dict(p, trials=2, duration_s=3.0) for p in points[::2]]
        res = sweep(
            experiment,
            points,
            backend="ray" if args.address else "local",
            address=args.address,
            out=out / "spindle_sweep_rate.h5",
            progress=False,
        )
        rows_out = [{**prm, **(r or {})} for prm, r in zip(res.params, res.results, strict=True)]
        for r in rows_out:
            print(json.dumps(r), flush=True)
        report["sweep_rate"] = rows_out
    if "thalamus" in parts:
        # the ring alone: previous short-range coupling vs the delayed all-round default,
        # and the speed dependence (rate mode); spiking mode for the same default
        points = [
            dict(lateral_sigma_modules=1.0, lateral_fraction=0.12, thalamic_speed_m_s=2.0),
            dict(),
            dict(thalamic_speed_m_s=1.5),
            dict(thalamic_speed_m_s=4.0),
            dict(mode="spiking"),
            # spiking mode with deterministic LIF thalamic cells (LIF_THALAMUS), its seeds,
            # and its controls: fast conduction (10 m/s) and the rate ring's weaker coupling
            dict(mode="spiking", **LIF_THALAMUS),
            dict(mode="spiking", seed=1, **LIF_THALAMUS),
            dict(mode="spiking", seed=2, **LIF_THALAMUS),
            dict(mode="spiking", **{**LIF_THALAMUS, "thalamic_speed_m_s": 10.0}),
            dict(mode="spiking", **{**LIF_THALAMUS, "lateral_fraction": 0.2}),
        ]
        report["thalamus"] = []
        for pt in points:
            r = {**pt, **thalamus_only(trials=4 if args.quick else 16, **pt)}
            report["thalamus"].append(r)
            print(json.dumps(r), flush=True)
    if "lif" in parts:
        # reduced spiking reproduction, Poisson rate-unit thalamus vs LIF thalamus
        # (20 x 20 sites at 4.2 mm, 6 trials x 5 s, seed 0)
        for name, extra in (("poisson", {}), ("lif", LIF_THALAMUS)):
            r = experiment(
                mode="spiking",
                trials=2 if args.quick else 6,
                duration_s=dur,
                rows=12 if args.quick else 20,
                seed=0,
                **extra,
            )
            report[f"spiking_thalamus_{name}"] = r
            print(name, json.dumps(r), flush=True)
    if "throughput" in parts:
        t0 = time.perf_counter()
        report["analysis_electrode_cycles_per_s"] = analysis_throughput(duration_s=args.analysis_s)
        report["analysis_wall_s"] = time.perf_counter() - t0
        print("analysis electrode-cycles/s", report["analysis_electrode_cycles_per_s"], flush=True)
    if "timing" in parts:
        report["timing"] = timing(
            device=args.device,
            rows=args.rows,
            batches=tuple(
                (int(b.split(":")[0]), b.split(":")[1]) if ":" in b else int(b)
                for b in args.batches.split(",")
            ),
            monitors=args.monitors,
            budget_s=args.budget_s,
        )
    if "session" in parts:
        r = session(
            trials=args.session_trials,
            segment_s=args.session_segment_s,
            rows=args.rows,
            out_h5=args.session_h5,
            device=args.device,
            analyze_only=args.analyze_only,
        )
        report["session"] = r
        print("SESSION", json.dumps(r, default=float), flush=True)
    (out / "spindle_bench.json").write_text(json.dumps(report, indent=1, default=float))


if __name__ == "__main__":
    main()
