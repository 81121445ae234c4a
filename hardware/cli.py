"""``spikesim lava`` and ``spikesim export`` command groups (mounted by entry point).

``CONFIG_OR_RESULT`` is a TOML run configuration (network plus optional ``[run]`` table), a
network HDF5 file or a result HDF5 file (its network and run settings). The float network is
quantised (:func:`~spikesim.hardware.quantize.quantize`, seed from ``--seed``, the file's run
settings or 0) and checked against the chip limits before anything runs or is written.

Inputs: poisson and spike_times sources become spike trains (:func:`~spikesim.hardware.
quantize.input_trains`; poisson draws use ``--seed``, so they differ from the torch engine's
draws); spike_tensor sources need ``--inputs FILE.npz`` holding one ``[n_steps, batch, n]``
array per source name.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import click
import numpy as np

from spikesim._validate import _is_number
from spikesim.errors import ConfigError, SpikesimError

__all__ = ["export", "lava", "load_config_or_result"]


def load_config_or_result(path: str | os.PathLike[str]) -> tuple[Any, dict[str, Any]]:
    """``(network, run settings)`` from a TOML config, a network HDF5 or a result HDF5.

    A file that cannot be read raises :class:`~spikesim.errors.ConfigError` naming it; what
    the network description refuses raises its error with the file's path in front."""
    from .hdf5_files import H5_ERRORS, file_path, naming_file

    p = file_path("load_config_or_result", path)
    if not Path(p).is_file():
        raise ConfigError(p, "-", "file not found")
    try:
        return _load_config_or_result(p)
    except SpikesimError as err:
        raise naming_file(err, p) from None
    except H5_ERRORS as err:  # h5py, json and the description's readers on a damaged file
        raise ConfigError(
            p, "-", f"not a readable run configuration, network or result: "
            f"{type(err).__name__}: {err}"
        ) from None  # fmt: skip


def _load_config_or_result(p: str) -> tuple[Any, dict[str, Any]]:
    if p.endswith((".h5", ".hdf5")):
        from .hdf5_files import in_worker, is_legacy_format, load_isolated

        if is_legacy_format(p) and not in_worker():
            # the earliest HDF5 format (before 2026-11-26, no checksums): a damaged file can
            # hang or crash libhdf5, so it is read in the core's worker process with a timeout
            loaded: tuple[Any, dict[str, Any]] = load_isolated(
                "spikesim.hardware.cli:_load_hdf5", p, {}, what="spikesim network or result file"
            )
            return loaded
        return _load_hdf5(p)
    from spikesim.cli import load_run_config

    net, run = load_run_config(p)
    if "duration_s" in run:
        d = run["duration_s"]
        if not (_is_number(d) and math.isfinite(d) and d > 0):
            raise ConfigError(
                p, "run.duration_s", f"expected a duration > 0 in seconds, found {d!r}"
            )
        run["n_steps"] = max(1, int(round(float(d) / net.dt_s)))
    for key in ("batch_size", "seed"):
        v = run.get(key)
        if v is not None and (
            isinstance(v, bool) or not isinstance(v, int) or v < (key == "batch_size")
        ):
            floor = 1 if key == "batch_size" else 0
            raise ConfigError(p, f"run.{key}", f"expected an integer >= {floor}, found {v!r}")
    return net, run


def _load_hdf5(p: str) -> tuple[Any, dict[str, Any]]:
    """``(network, run settings)`` of a network or result HDF5 file, read in this process
    (:func:`_load_config_or_result` runs it in a worker process for files in the old format)."""
    from spikesim.network import Network

    from .hdf5_files import open_checked

    with open_checked(p, what="spikesim network or result file") as fh:
        is_result = "run_json" in fh.attrs
    net = Network.from_hdf5(p)
    run: dict[str, Any] = {}
    if is_result:
        from spikesim.results import Result

        res = Result.from_hdf5(p)
        run = {k: res.run[k] for k in ("seed", "n_steps", "batch_size") if k in res.run}
    return net, run


def _spike_tensor_inputs(
    path: str, net: Any, n_steps: int, batch: int | None
) -> dict[str, np.ndarray]:
    """The ``--inputs`` npz: one 0/1 array ``[n_steps, batch, n]`` (or ``[n_steps, batch,
    *shape]``) per spike_tensor source of ``net``, checked before anything is built."""
    from spikesim.network import SpikeTensorSource

    from .lava_runner import ExchangeFileError, load_npz

    try:
        given = load_npz(path, what="inputs file")
    except ExchangeFileError as err:
        raise ConfigError(path, err.key, err.problem) from None
    sources = {
        p.name: p.size for p in net.populations.values() if isinstance(p.model, SpikeTensorSource)
    }
    out: dict[str, np.ndarray] = {}
    for name, arr in given.items():
        if name not in sources:
            raise ConfigError(path, name, f"not a spike_tensor source; expected {sorted(sources)}")
        lead = (n_steps, batch if batch is not None else (arr.shape[1] if arr.ndim > 1 else 1))
        if (
            arr.ndim < 3
            or arr.shape[:2] != lead
            or int(np.prod(arr.shape[2:])) != sources[name]
            or arr.dtype.kind not in "biuf"
        ):
            raise ConfigError(
                path, name, f"expected spikes of shape {(*lead, sources[name])}, "
                f"found {arr.dtype} {arr.shape}"
            )  # fmt: skip
        if arr.size and not np.isin(arr, (0, 1)).all():
            raise ConfigError(path, name, "expected 0/1 spikes, found other values")
        batch = lead[1]
        out[name] = arr.reshape(*lead, sources[name]).astype(np.uint8)
    return out


def _prepare(
    path: str,
    steps: int | None,
    seed: int | None,
    inputs_file: str | None,
    *,
    trains: bool = True,
    netx: bool = False,
):
    from .quantize import input_trains, quantize
    from .resources import check_resources

    net, run = load_config_or_result(path)
    seed = int(seed if seed is not None else run.get("seed", 0))
    n_steps = steps if steps is not None else run.get("n_steps")
    if n_steps is None and not trains:
        n_steps = 1
    if n_steps is None:
        raise ConfigError(path, "run.duration_s", "missing: give it in [run] or with --steps")
    from .netx import NETX_QUANTIZE

    q = quantize(net, seed=seed, **(NETX_QUANTIZE if netx else {}))
    report = check_resources(q.loihi)
    given: dict[str, Any] = {}
    if inputs_file is not None:
        given = _spike_tensor_inputs(inputs_file, net, int(n_steps), None)
    batch = int(run.get("batch_size", 1))
    if given:
        batch = int(next(iter(given.values())).shape[1])
    spikes = (
        input_trains(net, n_steps=int(n_steps), batch=batch, seed=seed, given=given)
        if trains
        else {}
    )
    return q, report, spikes, int(n_steps), batch


def _fail(exc: Exception) -> click.ClickException:
    return click.ClickException(str(exc))


# ------------------------------------------------------------------------------ lava


@click.group("lava", context_settings={"help_option_names": ["-h", "--help"]})
def lava() -> None:
    """Run networks in Intel Lava (lava-nc 0.10, Loihi 2 fixed point) and verify them."""


@lava.command("setup")
@click.option("--path", type=click.Path(file_okay=False), default=None, help="Environment folder.")
@click.option("--force", is_flag=True, help="Rebuild the environment from scratch.")
def setup_cmd(path: str | None, force: bool) -> None:
    """Create, upgrade or check the managed Python 3.10 environment (lava-nc, lava-dl netx)."""
    from . import lava_env

    try:
        info = lava_env.setup(path=path, force=force)
    except SpikesimError as exc:
        raise _fail(exc) from exc
    state = f"installed in {info.seconds:.0f} s" if info.created else "already set up"
    click.echo(
        f"Lava environment {state}: {info.path}\n"
        f"  python {info.python} (from {info.base_python or 'unknown'})\n"
        f"  lava-nc {info.lava_version}, lava-dl {info.lava_dl_version} (netx, no torch), "
        f"numpy {info.numpy_version}, h5py {info.h5py_version}"
    )


_common = [
    click.argument("config_or_result", type=click.Path(dir_okay=False)),
    click.option(
        "--steps",
        type=click.IntRange(min=1),
        default=None,
        help="Time steps (default: from the file).",
    ),
    click.option(
        "--seed",
        type=click.IntRange(0, 2**62 - 1),
        default=None,
        help="Seed for random parts and poisson.",
    ),
    click.option(
        "--inputs",
        "inputs_file",
        type=click.Path(exists=True, dir_okay=False),
        default=None,
        help="npz with a [n_steps, batch, n] spike array per spike_tensor source.",
    ),
]


def _with_common(fn):
    for deco in reversed(_common):
        fn = deco(fn)
    return fn


@lava.command("run")
@_with_common
@click.option("-o", "--out", type=click.Path(dir_okay=False), default=None, help="Spikes (npz).")
def run_cmd(
    config_or_result: str, steps: int | None, seed: int | None, inputs_file: str | None, out: str
) -> None:
    """Quantise the network and run it in Lava's fixed-point CPU simulation."""
    from .hdf5_files import writable_path
    from .lava_run import run_in_lava

    try:
        if out:
            writable_path("spikesim lava run", out, "--out")  # before the Lava run, not after
        q, report, trains, n_steps, _ = _prepare(config_or_result, steps, seed, inputs_file)
        res = run_in_lava(q.loihi, n_steps=n_steps, inputs=trains or None)
    except SpikesimError as exc:
        raise _fail(exc) from exc
    click.echo(
        f"Lava {res.lava_version}: {n_steps} steps in {res.seconds_run:.2f} s "
        f"({res.seconds_total:.2f} s with start-up); {report.neurons} neurons, "
        f"{report.synapses} synapses, ~{report.cores} cores"
    )
    for name, s in res.spikes.items():
        click.echo(f"  {name}: {int(s.sum())} spikes")
    if out:
        arrays: dict[str, Any] = {name: s.astype(np.uint8) for name, s in res.spikes.items()}
        np.savez(out, **arrays)
        click.echo(f"spikes written to {out}")


@lava.command("verify")
@click.argument("config_or_result", type=click.Path(dir_okay=False), required=False)
@click.option(
    "--steps", type=click.IntRange(min=1), default=None, help="Time steps (default: from the file)."
)
@click.option(
    "--seed", type=click.IntRange(0, 2**62 - 1), default=None, help="Seed for random parts."
)
@click.option("--inputs", "inputs_file", type=click.Path(exists=True, dir_okay=False), default=None)
@click.option(
    "--netx",
    is_flag=True,
    help="Go through a netx HDF5 export loaded by lava-dl's hdf5.Network (quantised with "
    "weight_exp 0, bias_exp 6, weights within 7 bits).",
)
def verify_cmd(
    config_or_result: str | None,
    steps: int | None,
    seed: int | None,
    inputs_file: str | None,
    netx: bool,
) -> None:
    """Run spikesim's fixed-point mode and Lava and compare spikes and v at every step.

    Without CONFIG_OR_RESULT the reference cases run (NIR paper, bias, feed-forward,
    recurrent E/I, delays, extremes, ring attractors; with --netx the netx cases:
    feed-forward, dense_rec, delays, a quantised float network). Exit status 1 on any
    disagreement.
    """
    from .loihi.examples import Case, all_cases, netx_cases
    from .verify import verify_against_lava, verify_netx_in_lava

    try:
        if config_or_result is None:
            cases = netx_cases() if netx else all_cases()
        else:
            q, _, trains, n_steps, _ = _prepare(
                config_or_result, steps, seed, inputs_file, netx=netx
            )
            cases = [Case("network", q.loihi, n_steps, trains)]
        reports = verify_netx_in_lava(cases) if netx else verify_against_lava(cases)
    except SpikesimError as exc:
        raise _fail(exc) from exc
    ok = True
    for r in reports:
        agree = r.spikes_equal and r.v_equal
        ok &= agree
        counts = ", ".join(f"{k} {v}" for k, v in r.spike_counts.items())
        click.echo(
            f"{'AGREE' if agree else 'DIFFER'}  {r.name}: {r.n_steps} steps, spikes {counts}"
            + ("" if agree else f"; {r.first_mismatch}")
        )
    if not ok:
        raise click.exceptions.Exit(1)
    click.echo("spikes and v identical at every step for every neuron")


# ------------------------------------------------------------------------------ export


@click.command("export", context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("target", type=click.Choice(["lava", "nir", "netx"]))
@_with_common
@click.option("-o", "--out", type=click.Path(dir_okay=False), required=True, help="Output file.")
def export(
    target: str,
    config_or_result: str,
    steps: int | None,
    seed: int | None,
    inputs_file: str | None,
    out: str,
) -> None:
    """Export a network: TARGET lava (Lava exchange file with its inputs, run by
    lava_runner.py), nir (NIR HDF5 of the float network) or netx (lava-dl netx HDF5 of a
    layered network, quantised with weight_exp 0, bias_exp 6 and weights within 7 bits, see NETX_QUANTIZE)."""
    import time

    from .hdf5_files import writable_path

    t0 = time.perf_counter()
    try:
        writable_path(f"spikesim export {target}", out, "--out")  # before any work
        for flag, value in (("--steps", steps), ("--inputs", inputs_file)):
            if target != "lava" and value is not None:
                raise ConfigError(
                    f"spikesim export {target}", flag, "only `export lava` writes inputs; "
                    f"a {target} file holds the network alone",
                )  # fmt: skip
        if target == "nir":
            from .nir_io import write_nir
            from .quantize import quantize

            net, run = load_config_or_result(config_or_result)
            seed_v = int(seed if seed is not None else run.get("seed", 0))
            quantize(net, seed=seed_v)  # refuse what Loihi cannot run before writing anything
            write_nir(net, out, seed=seed_v)
            click.echo(f"NIR graph written to {out} ({time.perf_counter() - t0:.2f} s)")
            return
        q, report, trains, n_steps, batch = _prepare(
            config_or_result,
            steps,
            seed,
            inputs_file,
            trains=target == "lava",
            netx=target == "netx",
        )
        click.echo(q.report.format())
        click.echo(report.format())
        if target == "lava":
            from . import lava_env
            from .lava_run import RUNNER
            from .loihi.exchange import write_network

            write_network(q.loihi, out, n_steps=n_steps, inputs=trains, batch=batch)
            click.echo(
                f"run it in Lava with: {lava_env.python_path()} {RUNNER} {out} RESULT.npz "
                "(or `spikesim lava run`)"
            )
        else:
            from .netx import write_netx

            write_netx(q.loihi, out)
            click.echo(
                f"load it with lava.lib.dl.netx.hdf5.Network(net_config={out!r}) "
                "(or check it: `spikesim lava verify --netx`)"
            )
    except SpikesimError as exc:
        raise _fail(exc) from exc
    click.echo(f"{target} export written to {out} ({time.perf_counter() - t0:.2f} s)")
