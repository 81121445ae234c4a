"""The ``spikesim`` command line.

The core commands (``run``, ``info``) live here. Commands of the optional parts (``events``
from spikesim.sensors, ``lava`` and ``export`` from spikesim.hardware, ``train`` and ``demo``
from spikesim.models) are plugins declared as entry points in the ``spikesim.cli`` group of
pyproject.toml and imported only when invoked, so the core never imports them.
"""

from __future__ import annotations

import importlib.metadata
import os
import sys
from typing import Any

import click

from . import __version__
from .errors import ConfigError, SpikesimError

__all__ = ["main", "cli", "load_run_config"]

_PLUGIN_GROUP = "spikesim.cli"

RUN_KEYS = {
    "duration_s",
    "mode",
    "seed",
    "batch_size",
    "device",
    "dtype",
    "chunk_steps",
    "out",
    "progress",
}


def _plugins() -> dict[str, importlib.metadata.EntryPoint]:
    # every installed copy's metadata (a stale egg-info beside the checkout must not hide them)
    found: dict[str, importlib.metadata.EntryPoint] = {}
    for dist in importlib.metadata.distributions():
        for ep in dist.entry_points:
            if ep.group == _PLUGIN_GROUP:
                found.setdefault(ep.name, ep)
    return found


class _SpikesimGroup(click.Group):
    """A click group that adds plugin commands lazily, by entry point."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(_plugins()))

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        cmd = super().get_command(ctx, name)
        if cmd is not None:
            return cmd
        ep = _plugins().get(name)
        if ep is None:
            return None
        try:
            obj = ep.load()
        except ImportError as exc:
            message = f"the {name!r} command comes from {ep.value!r}, which failed to import: {exc}"

            def unavailable() -> None:
                raise click.ClickException(message)

            return click.Command(
                name, callback=unavailable, help=message, short_help="(unavailable)"
            )
        if not isinstance(obj, click.Command):
            raise click.ClickException(f"entry point {ep.value!r} is not a click command")
        return obj


@click.group(cls=_SpikesimGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="spikesim")
def cli() -> None:
    """spikesim: rate-coded and spiking networks on PyTorch, from DVS events to Loihi."""


def load_run_config(path: str | os.PathLike[str]) -> tuple[Any, dict[str, Any]]:
    """Read a TOML file holding a network description plus an optional ``[run]`` table.

    Returns ``(network, run_options)``; unknown ``[run]`` keys raise :class:`ConfigError`.
    """
    from .network import Network, read_toml

    path = os.fspath(path)
    doc = read_toml(path)
    run = doc.pop("run", {})
    if not isinstance(run, dict):
        raise ConfigError(path, "run", f"expected a table, found {type(run).__name__}")
    unknown = sorted(set(run) - RUN_KEYS)
    if unknown:
        raise ConfigError(
            path, f"run.{unknown[0]}", f"unknown key; known keys: {', '.join(sorted(RUN_KEYS))}"
        )
    net = Network.from_dict(doc, source=path)
    return net, run


@cli.command("run")
@click.argument("config", type=click.Path(dir_okay=False))
@click.option(
    "--duration-s",
    type=float,
    default=None,
    help="Simulated time in seconds; required here or in [run].",
)
@click.option(
    "--mode",
    type=click.Choice(["spiking", "rate"]),
    default=None,
    help="Spiking neurons or their rate-model counterpart.",
    show_default="[run] mode, else spiking",
)
@click.option(
    "--seed",
    type=int,
    default=None,
    help="Seed of connectivity, initial values and input noise (same seed, same run on CPU).",
    show_default="[run] seed, else 0",
)
@click.option(
    "--batch-size",
    type=int,
    default=None,
    help="Independent trials run side by side.",
    show_default="[run] batch_size, else 1",
)
@click.option(
    "--device",
    default=None,
    help="torch device, e.g. cpu or cuda:0.",
    show_default="[run] device, else cpu",
)
@click.option(
    "--dtype",
    type=click.Choice(["float32", "float64"]),
    default=None,
    help="Floating-point precision of the simulation.",
    show_default="[run] dtype, else float32",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False),
    default=None,
    help="Result HDF5 file, streamed as the run goes (`spikesim info` reads it).",
    show_default="[run] out, else no file",
)
@click.option(
    "--progress/--no-progress",
    default=None,
    help="Show a progress bar.",
    show_default="[run] progress, else shown",
)
def run_cmd(config: str, **overrides: Any) -> None:
    """Run the network described in CONFIG (TOML with an optional [run] table).

    Options given here override the [run] table's keys of the same name (duration_s, mode,
    seed, batch_size, device, dtype, out, progress; chunk_steps only in [run])."""
    from .engine import Simulator

    try:
        net, run = load_run_config(config)
        run.update({k: v for k, v in overrides.items() if v is not None})
        if "duration_s" not in run:
            raise ConfigError(
                config, "run.duration_s", "missing: give it in [run] or with --duration-s"
            )
        sim = Simulator(  # values as written: the simulator checks them and names them
            net,
            mode=run.get("mode", "spiking"),
            batch_size=run.get("batch_size", 1),
            device=run.get("device", "cpu"),
            dtype=run.get("dtype", "float32"),
            seed=run.get("seed", 0),
        )
        result = sim.run(
            run["duration_s"],
            out=run.get("out"),
            chunk_steps=run.get("chunk_steps"),
            progress=run.get("progress", True),
        )
    except SpikesimError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(result.summary())
    if run.get("out"):
        click.echo(f"result written to {run['out']}")


def hdf5_summary(path: str) -> str:
    """The summary of a network or result HDF5 file (``spikesim info``)."""
    from ._hdf5 import open_checked
    from .network import Network
    from .results import Result

    with open_checked(path, what="spikesim network or result file") as fh:
        is_result = "run_json" in fh.attrs
    return Result.from_hdf5(path).summary() if is_result else Network.from_hdf5(path).summary()


@cli.command("info")
@click.argument("path", type=click.Path(exists=True, dir_okay=False), required=False)
def info_cmd(path: str | None) -> None:
    """Versions and devices; with PATH, describe a network (TOML/HDF5) or a result file."""
    from ._hdf5 import in_worker, is_legacy_format, load_isolated
    from .results import versions

    if path is None:
        import platform

        import torch

        for name, version in versions().items():
            click.echo(f"{name:<12}{version}")
        for dep in ("scipy", "h5py", "brian2", "nir", "numba", "triton"):
            try:
                click.echo(f"{dep:<12}{importlib.metadata.version(dep)}")
            except importlib.metadata.PackageNotFoundError:
                click.echo(f"{dep:<12}not installed")
        click.echo(
            f"{'cpu':<12}{platform.machine()}, {os.cpu_count()} cores, torch threads {torch.get_num_threads()}"
        )
        if torch.cuda.is_available():
            for i in range(torch.cuda.device_count()):
                props = torch.cuda.get_device_properties(i)
                click.echo(
                    f"{'cuda:' + str(i):<12}{props.name}, {props.total_memory / 2**30:.0f} GiB"
                )
        else:
            click.echo(f"{'cuda':<12}no CUDA device")
        return
    try:
        if path.endswith((".h5", ".hdf5")):
            if is_legacy_format(path) and not in_worker():  # a damaged one may hang libhdf5
                what = "spikesim network or result file"
                click.echo(load_isolated("spikesim.cli:hdf5_summary", path, {}, what=what))
            else:
                click.echo(hdf5_summary(path))
        else:
            net, run = load_run_config(path)
            click.echo(net.summary())
            if run:
                click.echo("run: " + ", ".join(f"{k}={v}" for k, v in run.items()))
    except SpikesimError as exc:
        raise click.ClickException(str(exc)) from exc


def main(argv: list[str] | None = None) -> None:
    """The ``spikesim`` console script: run the CLI on ``argv`` (default ``sys.argv[1:]``)."""
    cli.main(args=argv if argv is not None else sys.argv[1:], prog_name="spikesim")


if __name__ == "__main__":
    main()
