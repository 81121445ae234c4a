"""``events`` command group: ``info``, ``convert`` and ``view`` for event-camera recordings.

All commands stream: ``info`` computes its statistics chunk by chunk, ``convert`` appends
chunks to writers that support it (``open_writer`` in the format module) and only falls back
to read-then-write for writers that cannot append, ``view`` renders frames window by window.
Files are opened through :func:`spikesim.sensors.io.open` (format detection from the file's
first bytes). Frame rendering for ``view`` lives in ``sensors/cli_view.py`` and is imported
only when the command runs.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import sys
from collections.abc import Iterator
from typing import Any

import click
import numpy as np

from . import io
from ._checks import check_event_fields
from .errors import EventFormatError
from .formats import FormatSpec, all_formats, get_format

__all__ = ["EventStats", "events", "open_recording", "stream_stats"]

DEFAULT_CHUNK_EVENTS = 1 << 20


def open_recording(path: str | os.PathLike) -> io.EventReader:
    """Open ``path`` with :func:`spikesim.sensors.io.open` (format from the first bytes)."""
    return io.open(path)


# ------------------------------------------------------------------------------- statistics
@dataclasses.dataclass(frozen=True)
class EventStats:
    """Whole-recording statistics computed by :func:`stream_stats`."""

    n_events: int
    n_on: int
    n_off: int
    t_first_us: int | None
    t_last_us: int | None
    t_min_us: int | None
    t_max_us: int | None
    x_max: int | None
    y_max: int | None
    monotonic: bool

    @property
    def duration_s(self) -> float:
        if self.t_min_us is None or self.t_max_us is None:
            return 0.0
        return (self.t_max_us - self.t_min_us) * 1e-6

    @property
    def mean_rate_hz(self) -> float | None:
        """Events per second over the recording's span (None when the span is zero)."""
        d = self.duration_s
        return self.n_events / d if d > 0 else None


def stream_stats(chunks: Iterator[np.ndarray]) -> EventStats:
    """Count, polarity split, time span and coordinate maxima, one chunk at a time."""
    n = n_on = 0
    t_first = t_last = t_min = t_max = x_max = y_max = None
    monotonic = True
    for c in chunks:
        check_event_fields("stream_stats", c, "chunk")
        if c.shape[0] == 0:
            continue
        t = c["t"]
        n += c.shape[0]
        n_on += int(np.count_nonzero(c["p"] > 0))
        if t_last is not None and int(t[0]) < t_last:
            monotonic = False
        if monotonic and c.shape[0] > 1 and bool(np.any(t[1:] < t[:-1])):
            monotonic = False
        if t_first is None:
            t_first = int(t[0])
        t_last = int(t[-1])
        lo, hi = int(t.min()), int(t.max())
        t_min = lo if t_min is None else min(t_min, lo)
        t_max = hi if t_max is None else max(t_max, hi)
        xm, ym = int(c["x"].max()), int(c["y"].max())
        x_max = xm if x_max is None else max(x_max, xm)
        y_max = ym if y_max is None else max(y_max, ym)
    return EventStats(n, n_on, n - n_on, t_first, t_last, t_min, t_max, x_max, y_max, monotonic)


# ------------------------------------------------------------------------------- commands
@click.group(name="events")
def events() -> None:
    """Inspect, convert and view event-camera recordings (AEDAT, EVT, DAT, .es, HDF5 ...)."""


def _fail(exc: Exception) -> click.ClickException:
    return click.ClickException(str(exc))


def _finite(ctx: click.Context, param: click.Parameter, value: float | None) -> float | None:
    """Refuse NaN and infinity, which click's FloatRange lets through."""
    if value is not None and not math.isfinite(value):
        raise click.BadParameter(f"expected a finite number, found {value!r}")
    return value


def _out_dir(path: str, hint: str) -> None:
    """The folder an output file goes into must exist (else a traceback from the writer)."""
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise click.BadParameter(f"folder {folder!r} does not exist", param_hint=hint)


def _format_detail(meta: dict[str, Any]) -> str:
    """`` (layout dsec)``-style suffix from the probe's facts, or ``""``."""
    parts = []
    for key in ("layout", "container", "compression", "version"):
        v = meta.get(key)
        if isinstance(v, str) and v:
            parts.append(f"{key} {v}")
    return f" ({', '.join(parts)})" if parts else ""


@events.command("info")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--chunk-events",
    type=click.IntRange(min=1),
    default=DEFAULT_CHUNK_EVENTS,
    show_default=True,
    help="Events decoded per chunk (bounds memory).",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def info(file: str, chunk_events: int, as_json: bool) -> None:
    """Format, sensor size, duration, event counts and mean rate of FILE (streamed)."""
    try:
        rec = open_recording(file)
        stats = stream_stats(rec.iter_chunks(chunk_events=chunk_events))
    except (EventFormatError, ValueError) as exc:
        raise _fail(exc) from exc
    size = rec.sensor_size
    out = {
        "file": file,
        "format": rec.format,
        "format_detail": _format_detail(rec.metadata).strip(" ()") or None,
        "sensor_size": list(size) if size is not None else None,
        "n_events": stats.n_events,
        "n_on": stats.n_on,
        "n_off": stats.n_off,
        "t_first_us": stats.t_first_us,
        "t_last_us": stats.t_last_us,
        "duration_s": stats.duration_s,
        "mean_rate_hz": stats.mean_rate_hz,
        "monotonic": stats.monotonic,
    }
    if as_json:
        click.echo(json.dumps(out))
        return
    sensor = f"{size[0]} x {size[1]}" if size is not None else "not recorded in the file"
    rate = f"{stats.mean_rate_hz:,.1f} events/s" if stats.mean_rate_hz is not None else "n/a"
    click.echo(f"file:        {file}")
    detail = _format_detail(rec.metadata)
    click.echo(f"format:      {rec.format}{detail}")
    click.echo(f"sensor size: {sensor}")
    click.echo(f"events:      {stats.n_events:,} (ON {stats.n_on:,}, OFF {stats.n_off:,})")
    if stats.n_events:
        click.echo(f"time:        {stats.t_first_us} .. {stats.t_last_us} us")
    click.echo(f"duration:    {stats.duration_s:.6f} s")
    click.echo(f"mean rate:   {rate}")
    if not stats.monotonic:
        click.echo("note:        timestamps are not monotonic")


def _writer_spec(out: str, name: str | None) -> FormatSpec:
    writable = [s for s in all_formats() if s.write is not None]
    if name is not None:
        try:
            spec = get_format(name)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--format") from exc
        if spec.write is None:
            names = ", ".join(s.name for s in writable)
            raise click.BadParameter(
                f"format {spec.name} cannot be written; writable formats: {names}",
                param_hint="--format",
            )
        return spec
    ext = os.path.splitext(out)[1].lower()
    for spec in writable:
        if ext in spec.extensions:
            return spec
    names = ", ".join(f"{s.name} ({' '.join(s.extensions)})" for s in writable)
    raise click.BadParameter(
        f"cannot tell the output format from extension {ext!r}; pass --format "
        f"(writable formats: {names})",
        param_hint="OUT",
    )


def _parse_options(pairs: tuple[str, ...]) -> dict[str, Any]:
    opts: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"expected KEY=VALUE, found {pair!r}", param_hint="--option")
        if value.lower() in ("true", "false"):
            opts[key] = value.lower() == "true"
            continue
        try:
            opts[key] = int(value)
        except ValueError:
            opts[key] = value
    return opts


def _parse_size(text: str | None) -> tuple[int, int] | None:
    if text is None:
        return None
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise click.BadParameter(
            f"expected WIDTHxHEIGHT such as 640x480, found {text!r}", param_hint="--sensor-size"
        ) from None
    return (w, h)


@events.command("convert")
@click.argument("src", metavar="IN", type=click.Path(exists=True, dir_okay=False))
@click.argument("out", metavar="OUT", type=click.Path(dir_okay=False))
@click.option(
    "--format", "fmt", default=None, help="Output format name (default: from OUT's extension)."
)
@click.option("--sensor-size", default=None, help="WIDTHxHEIGHT when IN does not record it.")
@click.option(
    "--option",
    "-o",
    "options",
    multiple=True,
    metavar="KEY=VALUE",
    help="Writer option, e.g. -o compression=zstd (repeatable).",
)
@click.option(
    "--chunk-events",
    type=click.IntRange(min=1),
    default=DEFAULT_CHUNK_EVENTS,
    show_default=True,
    help="Events per streamed chunk.",
)
def convert(
    src: str,
    out: str,
    fmt: str | None,
    sensor_size: str | None,
    options: tuple[str, ...],
    chunk_events: int,
) -> None:
    """Convert IN to OUT, streaming chunks when the output format can append."""
    spec = _writer_spec(out, fmt)
    opts = _parse_options(options)
    size = _parse_size(sensor_size)
    if os.path.abspath(src) == os.path.abspath(out):
        raise click.BadParameter("IN and OUT are the same file", param_hint="OUT")
    _out_dir(out, "OUT")
    try:
        rec = open_recording(src)
        if size is None:
            size = rec.sensor_size  # (width, height) or None
        if size is None:  # one streaming pass to find the coordinate range
            stats = stream_stats(rec.iter_chunks(chunk_events=chunk_events))
            size = ((stats.x_max or 0) + 1, (stats.y_max or 0) + 1)
    except (EventFormatError, ValueError) as exc:
        raise _fail(exc) from exc
    write = spec.write
    assert write is not None  # _writer_spec returns writable formats only
    module = sys.modules[write.__module__]
    open_writer = getattr(module, "open_writer", None)
    n = 0
    try:
        if open_writer is not None:
            try:
                writer = open_writer(out, sensor_size=size, **opts)
            except TypeError as exc:  # unknown writer option
                raise click.BadParameter(
                    f"{spec.name} writer: {exc}", param_hint="--option"
                ) from exc
            with writer:
                for chunk in rec.iter_chunks(chunk_events=chunk_events):
                    writer.append(chunk)
                    n += chunk.shape[0]
            mode = "streamed"
        else:
            recording = rec.read()
            try:
                write(out, recording.events, sensor_size=size, **opts)
            except TypeError as exc:
                raise click.BadParameter(
                    f"{spec.name} writer: {exc}", param_hint="--option"
                ) from exc
            n = len(recording.events)
            mode = "read then written"
    except (EventFormatError, ValueError, OSError, click.BadParameter) as exc:
        if os.path.exists(out):  # never leave a half-written file behind
            os.unlink(out)
        if isinstance(exc, click.BadParameter):
            raise
        raise _fail(exc) from exc
    click.echo(f"wrote {n:,} events to {out} as {spec.name} ({mode}, sensor {size[0]}x{size[1]})")


@events.command("view")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(dir_okay=False),
    help="Output image: .png (a grid of frames) or .gif (an animation).",
)
@click.option(
    "--window-ms",
    type=click.FloatRange(min=0.001),
    callback=_finite,
    default=33.0,
    show_default=True,
    help="Time accumulated into each frame, in milliseconds.",
)
@click.option(
    "--max-frames",
    type=click.IntRange(min=1, max=10_000),
    default=None,
    help="Frames rendered (default: 16 for .png, 100 for .gif).",
)
@click.option(
    "--scale",
    type=click.IntRange(min=1, max=32),
    default=None,
    help="Integer upscaling of each frame (default: until frames are at least 128 px wide).",
)
@click.option(
    "--fps",
    type=click.FloatRange(min=0.1, max=100),
    callback=_finite,
    default=None,
    help="GIF frame rate (default: real time, 1000 / window-ms, capped at 50).",
)
def view(
    file: str,
    out: str,
    window_ms: float,
    max_frames: int | None,
    scale: int | None,
    fps: float | None,
) -> None:
    """Render FILE as event frames (ON blue, OFF red, accumulated over --window-ms)."""
    from . import cli_view

    ext = os.path.splitext(out)[1].lower()
    if ext not in (".png", ".gif"):
        raise click.BadParameter(
            f"expected a .png or .gif file name, found extension {ext!r}", param_hint="--out"
        )
    _out_dir(out, "--out")
    try:
        rec = open_recording(file)
        summary = cli_view.render(
            rec,
            out,
            window_us=max(1, round(window_ms * 1000)),
            max_frames=max_frames,
            scale=scale,
            fps=fps,
        )
    except (EventFormatError, ValueError, OSError) as exc:
        raise _fail(exc) from exc
    click.echo(
        f"wrote {summary.n_frames} frame(s) of {summary.width}x{summary.height} "
        f"({summary.n_events:,} events, {window_ms:g} ms each) to {out}"
    )
