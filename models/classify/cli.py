"""``spikesim train CONFIG.toml``: train a spiking classifier on event data (see :mod:`.experiment`)."""

from __future__ import annotations

import click

__all__ = ["train"]


@click.command("train")
@click.argument("config", type=click.Path(dir_okay=False))
@click.option("--data", "data_path", type=click.Path(), default=None, help="Override [data] path.")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Override [train] out_dir.",
)
@click.option("--epochs", type=int, default=None, help="Override [train] epochs.")
@click.option("--device", default=None, help="Override [train] device (e.g. cuda).")
@click.option("--progress/--no-progress", default=True, help="Show progress bars.")
def train(
    config: str,
    data_path: str | None,
    out_dir: str | None,
    epochs: int | None,
    device: str | None,
    progress: bool,
) -> None:
    """Train the classifier described by CONFIG (TOML with [data], [model], [train])."""
    from spikesim.errors import SpikesimError

    from .experiment import load_config, run_experiment

    try:
        cfg = load_config(config)
        if data_path is not None:
            cfg["data"]["path"] = data_path
        for key, value in (("out_dir", out_dir), ("epochs", epochs), ("device", device)):
            if value is not None:
                cfg["train"][key] = value
        report = run_experiment(cfg, progress=progress)
    except SpikesimError as exc:
        raise click.ClickException(str(exc)) from None
    if report.skipped:
        click.echo(f"left out {len(report.skipped)} broken file(s) (on_error = 'skip'):", err=True)
        for path, reason in report.skipped:
            click.echo(f"  {path}: {reason}", err=True)
    last = report.history[-1] if report.history else {}
    click.echo(
        f"trained on {report.train_size} samples, tested on {report.test_size}: "
        f"test accuracy {report.test_accuracy:.4f} (train accuracy {last.get('train_accuracy', float('nan')):.4f}, "
        f"{len(report.history)} epochs, {report.wall_s:.1f} s)"
    )
    if report.out_dir is not None:
        click.echo(
            f"results in {report.out_dir} (metrics.csv, checkpoint.pt, confusion.png, result.json)"
        )
