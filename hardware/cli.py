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
@click.option(
    "--path",
    type=click.Path(file_okay=False),
    default=None,
    help="Folder of the environment.",
    show_default="$SPIKESIM_LAVA_ENV, else .venv-lava in the spikesim checkout",
)
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


def _steps_option(help: str) -> Any:
    return click.option(
        "--steps",
        type=click.IntRange(min=1),
        default=None,
        help=help,
        show_default="the file's [run] duration_s / dt_s, or a result file's steps",
    )


_STEPS_OPTION = _steps_option("Time steps to simulate.")
_SEED_OPTION = click.option(
    "--seed",
    type=click.IntRange(0, 2**62 - 1),
    default=None,
    help="Seed of the network's random parts (weights and connections drawn from "
    "distributions) and of the poisson sources' spikes.",
    show_default="the file's run seed, else 0",
)
_INPUTS_OPTION = click.option(
    "--inputs",
    "inputs_file",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="NumPy .npz file with the spikes of the network's spike_tensor sources: one 0/1 "
    "array [n_steps, batch, n] per source, named after it (needed when the network has "
    "spike_tensor sources; sets the batch size).",
)
_common = [
    click.argument("config_or_result", type=click.Path(dir_okay=False)),
    _STEPS_OPTION,
    _SEED_OPTION,
    _INPUTS_OPTION,
]
_export_options = [
    click.argument("config_or_result", type=click.Path(dir_okay=False)),
    _steps_option("Time steps of input spikes to write (lava only)."),
    _SEED_OPTION,
    _INPUTS_OPTION,
]

#: File name endings each output accepts (a file with another ending would lie about its
#: content: np.savez writes a zip archive whatever the name, and appends .npz to names
#: that lack it, so `lava run -o spikes.h5` used to write spikes.h5.npz).
OUT_EXTENSIONS: dict[str, tuple[str, ...]] = {
    "lava run": (".npz",),
    "export lava": (".npz",),
    "export nir": (".nir", ".h5", ".hdf5"),
    "export netx": (".net", ".h5", ".hdf5"),
}
_OUT_KINDS = {
    "lava run": "a NumPy .npz archive of spikes",
    "export lava": "a NumPy .npz archive",
    "export nir": "an NIR graph in HDF5",
    "export netx": "a netx network in HDF5",
}


def _check_out_extension(command: str, out: str) -> None:
    """Refuse an output name whose ending does not match what ``command`` writes (a usage
    error naming --out, the accepted endings and the name given)."""
    ends = OUT_EXTENSIONS[command]
    if not out.lower().endswith(ends):
        raise click.BadParameter(
            f"`spikesim {command}` writes {_OUT_KINDS[command]}; expected a file name ending "
            f"in {' or '.join(ends)}, found {out!r}",
            param_hint="'-o' / '--out'",
        )


def _with_common(fn, options=None):
    for deco in reversed(_common if options is None else options):
        fn = deco(fn)
    return fn


def _with_export_options(fn):
    return _with_common(fn, _export_options)


@lava.command("run")
@_with_common
@click.option(
    "-o",
    "--out",
    type=click.Path(dir_okay=False),
    default=None,
    help="Also write the spikes to this .npz file: one 0/1 array [n_steps, batch, n] per "
    "population, named after it.",
)
def run_cmd(
    config_or_result: str, steps: int | None, seed: int | None, inputs_file: str | None, out: str
) -> None:
    """Quantise the network of CONFIG_OR_RESULT (a TOML run configuration, a network HDF5
    or a result HDF5 file) to Loihi 2 fixed point and run it in Lava's CPU simulation of the
    chip (the environment `spikesim lava setup` makes); prints the spike counts."""
    from .hdf5_files import writable_path
    from .lava_run import run_in_lava

    try:
        if out:
            writable_path("spikesim lava run", out, "--out")  # before the Lava run, not after
            _check_out_extension("lava run", out)
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
@_STEPS_OPTION
@_SEED_OPTION
@_INPUTS_OPTION
@click.option(
    "--netx",
    is_flag=True,
    help="Check the netx route instead: write the network as `spikesim export netx` does "
    "and run that file with lava-dl's netx loader in Lava (layered networks only).",
)
def verify_cmd(
    config_or_result: str | None,
    steps: int | None,
    seed: int | None,
    inputs_file: str | None,
    netx: bool,
) -> None:
    """Run spikesim's fixed-point mode and Lava and compare spikes and v at every step.

    CONFIG_OR_RESULT is a TOML run configuration, a network HDF5 or a result HDF5 file.
    Without it the reference cases run (NIR paper, bias, feed-forward,
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
@_with_export_options
@click.option(
    "-o",
    "--out",
    type=click.Path(dir_okay=False),
    required=True,
    help="Output file: .npz for lava; .nir, .h5 or .hdf5 for nir; .net, .h5 or .hdf5 for netx.",
)
def export(
    target: str,
    config_or_result: str,
    steps: int | None,
    seed: int | None,
    inputs_file: str | None,
    out: str,
) -> None:
    """Export the network of CONFIG_OR_RESULT (a TOML run configuration, a network HDF5 or a
    result HDF5 file) for Loihi 2 tools. Every target takes only networks Loihi 2 can run:
    CubaLIF populations, or current-based LIF ones with one synaptic time constant, no
    refractory period and reset to rest; delays up to 62 steps. Anything else is refused with
    the population or projection named. TARGET:

    \b
    lava  the network in Loihi 2 fixed point (integer weights, decays, thresholds) with
          its input spikes for --steps steps, as one .npz file; the command prints how
          to run the file in the Lava environment (`spikesim lava run` runs the same
          network from CONFIG_OR_RESULT directly).
    nir   the float network (not quantised) as an NIR graph, the HDF5 file that NIR
          tools such as snnTorch and Norse read; the network alone, no inputs.
    netx  a layered network (each population fed only by the one before it, optionally
          also by itself) in Loihi 2 fixed point as the HDF5 file lava-dl's netx loader
          reads (netx fixes the exponents: weights are whole 8-bit numbers, biases
          multiples of 64); the network alone, no inputs.
    """
    import time

    from .hdf5_files import writable_path

    t0 = time.perf_counter()
    try:
        writable_path(f"spikesim export {target}", out, "--out")  # before any work
        _check_out_extension(f"export {target}", out)
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
            try:  # refuse what Loihi cannot run before writing anything
                quantize(net, seed=seed_v)
                write_nir(net, out, seed=seed_v)
            except SpikesimError as exc:  # the refusals speak of Loihi: say why
                raise click.ClickException(
                    "export nir takes the networks Loihi 2 can run (the NIR graph is the float "
                    f"form of spikesim's Loihi mapping): {exc}"
                ) from exc
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
