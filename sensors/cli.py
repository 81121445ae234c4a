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
import difflib
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


def open_recording(path: str | os.PathLike, *, format: str | None = None) -> io.EventReader:  # noqa: A002
    """Open ``path`` with :func:`spikesim.sensors.io.open`: the format from the first bytes,
    or the registered format named by ``format``."""
    return io.open(path, format=format)


def _input_format(help_prefix: str = "Format of FILE", flag: str = "--format") -> Any:
    """The option that forces the input's format (else detected from its first bytes)."""
    return click.option(
        flag,
        "in_format",
        default=None,
        help=f"{help_prefix}, a registered format name (AEDAT4, AEDAT3.1, AEDAT2, EVT3.0, "
        "EVT2.1, EVT2.0, DAT, EventStream, HDF5, NumPy, N-MNIST, text; any case), for a "
        "file the detection does not recognise (a truncated N-MNIST .bin: its reader then "
        "says where the file ends).",
        show_default="detected from the file's first bytes",
    )


def _check_input_format(name: str | None, hint: str) -> None:
    if name is not None:
        try:
            get_format(name)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint=hint) from None


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
@_input_format()
def info(file: str, chunk_events: int, as_json: bool, in_format: str | None) -> None:
    """Format, sensor size, duration, event counts and mean rate of FILE (streamed)."""
    _check_input_format(in_format, "--format")
    try:
        rec = open_recording(file, format=in_format)
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


#: Options of each format's writer for ``convert -o KEY=VALUE``: the accepted values (a
#: tuple, the default first), or the type ``int`` / ``bool`` / ``str``, and the default
#: (None: the writer chooses). Formats not listed take no options. The tests check this
#: table against the writers' signatures and value lists.
WRITER_OPTIONS: dict[str, dict[str, tuple[tuple[str, ...] | type, str | None]]] = {
    "AEDAT4": {
        "compression": (("lz4", "none", "lz4_high", "zstd", "zstd_high"), "lz4"),
        "packet_events": (int, "8192"),
        "source": (str, "spikesim"),
    },
    "HDF5": {
        "layout": (("generic", "dsec", "prophesee"), "generic"),
        "compression": (
            ("none", "gzip", "lzf", "blosc-zstd", "blosc-lz4"),
            "none; blosc-zstd for layout=dsec",
        ),
        "chunk_events": (int, "65536"),
        "t_offset_us": (int, "the first event's t, dsec only"),
    },
    "NumPy": {
        "container": (("npy", "npz"), "from OUT's extension"),
        "compress": (bool, "false"),
    },
    "text": {"t_unit": (("s", "us"), "s")},
    "EVT2.1": {"legacy": (bool, "false")},
}


def _option_values(kind: tuple[str, ...] | type) -> str:
    if isinstance(kind, tuple):
        return "|".join(kind)
    return {int: "INTEGER", bool: "true|false", str: "TEXT"}[kind]


def _writer_options_text(name: str) -> str:
    """``key=values (default d), ...`` for format ``name``'s writer, or ``"none"``."""
    table = WRITER_OPTIONS.get(name, {})
    if not table:
        return "none"
    return ", ".join(
        f"{key}={_option_values(kind)}" + (f" (default {default})" if default else "")
        for key, (kind, default) in table.items()
    )


def _options_help() -> str:
    per_format = "; ".join(f"{name}: {_writer_options_text(name)}" for name in WRITER_OPTIONS)
    return (
        "Writer option KEY=VALUE (repeatable), e.g. -o compression=blosc-zstd for HDF5 or "
        f"-o compression=zstd for AEDAT4. {per_format}. The other formats take none."
    )


def _parse_options(pairs: tuple[str, ...], spec: FormatSpec) -> dict[str, Any]:
    """``-o KEY=VALUE`` pairs as the keyword arguments of ``spec``'s writer, checked against
    :data:`WRITER_OPTIONS`: an unknown key or a value the writer does not accept is a usage
    error naming --option and listing what the writer accepts."""
    table = WRITER_OPTIONS.get(spec.name, {})
    accepted = f"the {spec.name} writer's options: {_writer_options_text(spec.name)}"
    opts: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"expected KEY=VALUE, found {pair!r}", param_hint="--option")
        if key not in table:
            raise click.BadParameter(
                f"unknown option {key!r} for {spec.name} output; {accepted}",
                param_hint="--option",
            )
        kind = table[key][0]
        near: list[str] = []
        if isinstance(kind, tuple) and value:  # zstd -> blosc-zstd, dse -> dsec
            near = [c for c in kind if value in c][:1] or difflib.get_close_matches(value, kind, 1)
        bad = click.BadParameter(
            f"{key}={value!r}: expected {key}={_option_values(kind)} for {spec.name} output"
            + (f" (did you mean {key}={near[0]}?)" if near else ""),
            param_hint="--option",
        )
        if isinstance(kind, tuple):
            if value not in kind:
                raise bad
            opts[key] = value
        elif kind is bool:
            if value.lower() not in ("true", "false"):
                raise bad
            opts[key] = value.lower() == "true"
        elif kind is int:
            try:
                opts[key] = int(value)
            except ValueError:
                raise bad from None
        else:
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
    "--format",
    "fmt",
    default=None,
    help="Output format: AEDAT4, EVT3.0, EVT2.1, EVT2.0, DAT, HDF5, NumPy, N-MNIST or text "
    "(any case).",
    show_default="from OUT's extension",
)
@_input_format("Format of IN", "--in-format")
@click.option(
    "--sensor-size",
    default=None,
    help="Sensor WIDTHxHEIGHT written to OUT, e.g. 640x480.",
    show_default="IN's, else the largest x and y in IN plus 1",
)
@click.option(
    "--option",
    "-o",
    "options",
    multiple=True,
    metavar="KEY=VALUE",
    help=_options_help(),
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
    in_format: str | None,
    sensor_size: str | None,
    options: tuple[str, ...],
    chunk_events: int,
) -> None:
    """Convert IN to OUT, streaming chunks when the output format can append."""
    _check_input_format(in_format, "--in-format")
    spec = _writer_spec(out, fmt)
    opts = _parse_options(options, spec)
    size = _parse_size(sensor_size)
    if os.path.abspath(src) == os.path.abspath(out):
        raise click.BadParameter("IN and OUT are the same file", param_hint="OUT")
    _out_dir(out, "OUT")
    try:
        rec = open_recording(src, format=in_format)
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
    help="Frames rendered.",
    show_default="16 for .png, 100 for .gif",
)
@click.option(
    "--scale",
    type=click.IntRange(min=1, max=32),
    default=None,
    help="Integer upscaling of each frame.",
    show_default="the smallest that makes frames at least 128 px wide",
)
@click.option(
    "--fps",
    type=click.FloatRange(min=0.1, max=100),
    callback=_finite,
    default=None,
    help="GIF frame rate in frames per second.",
    show_default="real time, 1000 / window-ms, at most 50",
)
@_input_format()
def view(
    file: str,
    out: str,
    window_ms: float,
    max_frames: int | None,
    scale: int | None,
    fps: float | None,
    in_format: str | None,
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
        rec = open_recording(file, format=in_format)
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
