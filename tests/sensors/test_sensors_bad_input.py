"""Bad input at the sensors' non-file public API, as a user hits it.

Every case asserts the typed error (a ValueError subclass: spikesim's ParameterError /
ShapeError) and that the message names the parameter and the offending value. The cases cover
what used to crash deep inside numpy/torch (overflowing casts, broadcast errors, IndexErrors),
what was silently accepted (truncated or wrapped coordinates and times, a negative pixel that
dropped another pixel, bad fields of frozen transforms), what tried to allocate terabytes
(checked here under an address-space cap, so an attempt fails the test instead of the
machine) and the important ones that already behaved. Valid neighbours still work, and no
transform or representation modifies its input. File parsers are fuzzed elsewhere
(test_fuzz_registry.py, test_prophesee_fuzz.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import re
import resource
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from spikesim.sensors import cli_view, io
from spikesim.sensors import representations as R
from spikesim.sensors import synthetic as S
from spikesim.sensors import transforms as T
from spikesim.sensors.cli import events as events_cli
from spikesim.sensors.cli import stream_stats
from spikesim.sensors.errors import EventFormatError
from spikesim.sensors.events import EVENT_DTYPE, Recording, empty_events, make_events
from spikesim.sensors.formats import get_format, numpy_files

import spikesim as ss
from spikesim.errors import ParameterError, ShapeError

SIZE = (4, 2)


def _ev() -> np.ndarray:
    return make_events([0, 10, 20, 30], [0, 1, 2, 3], [0, 1, 1, 0], [1, 0, 1, 0])


def _rec() -> Recording:
    return Recording(_ev(), SIZE, "test")


def _with(**fields) -> np.ndarray:
    ev = _ev()
    for k, v in fields.items():
        ev[k] = v
    return ev


_TONIC = [("x", "<i8"), ("y", "<i8"), ("t", "<i8"), ("p", "<i8")]


def _tonic(x, y, t, p) -> np.ndarray:
    ev = np.zeros(len(t), dtype=_TONIC)
    ev["x"], ev["y"], ev["t"], ev["p"] = x, y, t, p
    return ev


def _u32_times() -> np.ndarray:
    """tonic-like events whose t field is uint32: negative times cannot be stored."""
    ev = np.zeros(3, dtype=[("x", "<i2"), ("y", "<i2"), ("t", "<u4"), ("p", "i1")])
    ev["t"] = [5, 6, 7]
    return ev


_FRAMES = np.random.default_rng(0).random((3, 4, 4))
_IMG = np.zeros((28, 28), np.uint8)
_IMG[10:18, 10:18] = 255


def _windows(chunks, **kw):
    return list(io.iter_windows(iter(chunks), **kw))


def _aplay(source, **kw):
    async def consume():
        return [w async for w in io.aplay(source, **kw)]

    return asyncio.run(consume())


# (id, action, error type, regex the message must match: parameter and offending value)
CASES = [
    # ------------------------------------------------------------------ events.py
    ("make_events fraction", lambda: make_events([0.5], [0], [0], [1]), ParameterError, r"t.*0\.5"),
    ("make_events NaN t", lambda: make_events([np.nan], [0], [0], [1]), ParameterError, r"t.*nan"),
    ("make_events x -1", lambda: make_events([0], [-1], [0], [1]), ParameterError, r"x.*-1"),
    (
        "make_events x 70000",
        lambda: make_events([0], [70000], [0], [1]),
        ParameterError,
        r"x.*70000",
    ),
    ("make_events y str", lambda: make_events([0], [0], ["a"], [1]), ParameterError, r"y.*<U1"),
    (
        "make_events p 2",
        lambda: make_events([0], [0], [0], [2]),
        ParameterError,
        r"'?p'?.*0 \(OFF\) or 1 \(ON\).*2",
    ),
    ("make_events p -1", lambda: make_events([0], [0], [0], [-1]), ParameterError, r"p.*-1"),
    ("make_events scalar", lambda: make_events(1, 1, 1, 1), ShapeError, r"t.*\(\)"),
    (
        "make_events lengths",
        lambda: make_events([0, 1], [0], [0, 0], [0, 1]),
        ShapeError,
        r"x.*\(2,\).*\(1,\)",
    ),
    ("empty_events -1", lambda: empty_events(-1), ParameterError, r"n.*>= 0.*-1"),
    ("empty_events 1.5", lambda: empty_events(1.5), ParameterError, r"n.*integer.*1\.5"),
    ("empty_events 1e12", lambda: empty_events(10**12), ParameterError, r"n.*GiB.*1000000000000"),
    (
        "Recording float array",
        lambda: Recording(np.zeros(4), SIZE, "x"),
        ParameterError,
        r"events.*float64",
    ),
    (
        "Recording size -1",
        lambda: Recording(_ev(), (-1, 4), "x"),
        ParameterError,
        r"sensor_size.*\(-1, 4\)",
    ),
    (
        "Recording size bool",
        lambda: Recording(_ev(), (True, 4), "x"),
        ParameterError,
        r"sensor_size.*True",
    ),
    # ------------------------------------------------------------------ transforms.py: events
    (
        "denoise x = 2**40 in an int64 field (pixel index overflow)",
        lambda: T.denoise(_tonic([0, 2**40], [0, 2**40], [0, 1], [1, 1]), filter_time_us=5),
        ParameterError,
        r"events\['x'\].*<= 2147483647.*1099511627776",
    ),
    (
        "spike_tensor t_start -2**63 (t - t_start wrapped)",
        lambda: R.spike_tensor(_rec(), dt_us=1, n_steps=4, t_start_us=-(2**63)),
        ParameterError,
        r"t_start_us.*-9223372036854775808",
    ),
    (
        "iter_windows t_start -2**63",
        lambda: _windows([_ev()], window_us=5, t_start_us=-(2**63) + 1),
        ParameterError,
        r"t_start_us.*-9223372036854775807",
    ),
    (
        "saccade_frames path 1e300 px (int cast overflow)",
        lambda: S.saccade_frames(_IMG, path_px=[(0, 0), (1e300, 0)]),
        ParameterError,
        r"path_px.*1e\+300",
    ),
    (
        "crop float array",
        lambda: T.crop(np.zeros((4, 4)), x0=0, y0=0, width=1, height=1),
        ParameterError,
        r"events.*structured.*float64",
    ),
    (
        "crop list",
        lambda: T.crop([1, 2], x0=0, y0=0, width=1, height=1),
        ParameterError,
        r"events.*'list'",
    ),
    (
        "crop float t field",
        lambda: T.crop(
            np.zeros(2, [("t", "f8"), ("x", "u2"), ("y", "u2"), ("p", "i1")]),
            x0=0,
            y0=0,
            width=1,
            height=1,
        ),
        ParameterError,
        r"events\['t'\].*integer.*float64",
    ),
    (
        "crop missing field",
        lambda: T.crop(np.zeros(2, [("t", "i8"), ("x", "u2")]), x0=0, y0=0, width=1, height=1),
        ParameterError,
        r"events.*missing \['y', 'p'\]",
    ),
    (
        "crop 2-D events",
        lambda: T.crop(np.zeros((2, 2), EVENT_DTYPE), x0=0, y0=0, width=1, height=1),
        ParameterError,
        r"events.*1-D.*\(2, 2\)",
    ),
    (
        "crop polarity 2",
        lambda: T.crop(_with(p=2), x0=0, y0=0, width=1, height=1),
        ParameterError,
        r"events\['p'\].*0 \(OFF\) or 1 \(ON\).*2",
    ),
    (
        "crop negative x (tonic dtype)",
        lambda: T.crop(_tonic([-1], [0], [0], [1]), x0=0, y0=0, width=1, height=1),
        ParameterError,
        r"events\['x'\].*>= 0.*-1",
    ),
    (
        "crop events outside sensor",
        lambda: T.crop(_ev(), x0=0, y0=0, width=1, height=1, sensor_size=(2, 2)),
        ParameterError,
        r"events\['x'\].*< 2.*3",
    ),
    (
        "crop x0 float (no truncation)",
        lambda: T.crop(_ev(), x0=0.5, y0=0, width=1, height=1),
        ParameterError,
        r"x0.*integer.*0\.5",
    ),
    (
        "crop width 0",
        lambda: T.crop(_ev(), x0=0, y0=0, width=0, height=1),
        ParameterError,
        r"width.*> 0.*0",
    ),
    (
        "crop width bool",
        lambda: T.crop(_ev(), x0=0, y0=0, width=True, height=1),
        ParameterError,
        r"width.*True",
    ),
    (
        "crop shift 'no'",
        lambda: T.crop(_ev(), x0=0, y0=0, width=1, height=1, shift="no"),
        ParameterError,
        r"shift.*True or False.*'no'",
    ),
    (
        "crop sensor_size (0, 0)",
        lambda: T.crop(_ev(), x0=0, y0=0, width=1, height=1, sensor_size=(0, 0)),
        ParameterError,
        r"sensor_size.*\(0, 0\)",
    ),
    (
        "crop sensor_size float",
        lambda: T.crop(_ev(), x0=0, y0=0, width=1, height=1, sensor_size=(4.5, 2)),
        ParameterError,
        r"sensor_size.*4\.5",
    ),
    (
        "crop box outside sensor",
        lambda: T.crop(_rec(), x0=2, y0=0, width=3, height=1),
        ParameterError,
        r"x0 \+ width.*\(5, 1\)",
    ),
    (
        "center_crop without size",
        lambda: T.center_crop(_ev(), width=1, height=1),
        ParameterError,
        r"sensor_size.*None",
    ),
    (
        "center_crop wider than sensor",
        lambda: T.center_crop(_rec(), width=10, height=1),
        ParameterError,
        r"width.*<= 4.*10",
    ),
    (
        "downsample 0",
        lambda: T.downsample(_ev(), spatial_factor=0),
        ParameterError,
        r"spatial_factor.*> 0.*0",
    ),
    (
        "downsample NaN",
        lambda: T.downsample(_ev(), spatial_factor=float("nan")),
        ParameterError,
        r"spatial_factor.*nan",
    ),
    (
        "downsample 2",
        lambda: T.downsample(_ev(), spatial_factor=2),
        ParameterError,
        r"spatial_factor.*<= 1.*2",
    ),
    (
        "downsample 3 factors",
        lambda: T.downsample(_ev(), spatial_factor=(0.5, 0.5, 0.5)),
        ParameterError,
        r"spatial_factor.*\(0\.5, 0\.5, 0\.5\)",
    ),
    (
        "downsample str",
        lambda: T.downsample(_ev(), spatial_factor="0.5"),
        ParameterError,
        r"spatial_factor.*'0\.5'",
    ),
    (
        "downsample tensor by 0.3",
        lambda: T.downsample(torch.zeros(2, 4, 4), spatial_factor=0.3),
        ParameterError,
        r"spatial_factor.*1/k.*0\.3",
    ),
    ("flip_lr without size", lambda: T.flip_lr(_ev()), ParameterError, r"sensor_size.*None"),
    ("flip_lr 1-D tensor", lambda: T.flip_lr(torch.zeros(3)), ParameterError, r"frames.*\(3,\)"),
    (
        "flip_polarity 3 channels",
        lambda: T.flip_polarity(torch.zeros(3, 4, 4)),
        ParameterError,
        r"frames.*2, H, W.*\(3, 4, 4\)",
    ),
    (
        "merge_polarities 2-D tensor",
        lambda: T.merge_polarities(torch.zeros(4, 4)),
        ParameterError,
        r"frames.*\(4, 4\)",
    ),
    (
        "split_polarities floats",
        lambda: T.split_polarities(np.zeros(3)),
        ParameterError,
        r"events.*float64",
    ),
    ("align_time floats", lambda: T.align_time(np.zeros(3)), ParameterError, r"events.*float64"),
    # time transforms: results that would wrap are refused
    (
        "time_skew scale 0",
        lambda: T.time_skew(_ev(), time_scale=0),
        ParameterError,
        r"time_scale.*> 0.*0",
    ),
    (
        "time_skew scale inf",
        lambda: T.time_skew(_ev(), time_scale=float("inf")),
        ParameterError,
        r"time_scale.*inf",
    ),
    (
        "time_skew scale 1e30 (int64 overflow)",
        lambda: T.time_skew(_ev(), time_scale=1e30),
        ParameterError,
        r"time_scale.*int64.*1e\+30",
    ),
    (
        "time_skew offset 2**63-1 (wrapped)",
        lambda: T.time_skew(_ev(), time_offset_us=2**63 - 1),
        ParameterError,
        r"time_offset_us.*int64.*9223372036854775807",
    ),
    (
        "time_skew offset into uint32 t (wrapped)",
        lambda: T.time_skew(_u32_times(), time_offset_us=-100),
        ParameterError,
        r"time_offset_us.*uint32.*-100.*t = -95",
    ),
    (
        "time_skew offset float",
        lambda: T.time_skew(_ev(), time_offset_us=1.5),
        ParameterError,
        r"time_offset_us.*integer.*1\.5",
    ),
    (
        "time_jitter std -1",
        lambda: T.time_jitter(_ev(), std_us=-1),
        ParameterError,
        r"std_us.*>= 0.*-1",
    ),
    (
        "time_jitter std NaN",
        lambda: T.time_jitter(_ev(), std_us=float("nan")),
        ParameterError,
        r"std_us.*nan",
    ),
    (
        "time_jitter std 1e30 (cast overflow)",
        lambda: T.time_jitter(_ev(), std_us=1e30),
        ParameterError,
        r"std_us.*int64.*1e\+30",
    ),
    (
        "time_jitter negative into uint32 t",
        lambda: T.time_jitter(_u32_times(), std_us=100, seed=0),
        ParameterError,
        r"std_us.*uint32.*100",
    ),
    (
        "time_jitter seed -1",
        lambda: T.time_jitter(_ev(), std_us=1, seed=-1),
        ParameterError,
        r"seed.*-1",
    ),
    (
        "time_jitter seed str",
        lambda: T.time_jitter(_ev(), std_us=1, seed="a"),
        ParameterError,
        r"seed.*'a'",
    ),
    (
        "time_jitter sort 'no'",
        lambda: T.time_jitter(_ev(), std_us=1, sort="no"),
        ParameterError,
        r"sort.*'no'",
    ),
    (
        "drop_events 1.5",
        lambda: T.drop_events(_ev(), fraction=1.5),
        ParameterError,
        r"fraction.*<= 1.*1\.5",
    ),
    (
        "drop_events NaN",
        lambda: T.drop_events(_ev(), fraction=float("nan")),
        ParameterError,
        r"fraction.*nan",
    ),
    # filters
    (
        "refractory -1",
        lambda: T.refractory_filter(_ev(), refractory_us=-1),
        ParameterError,
        r"refractory_us.*>= 0.*-1",
    ),
    (
        "refractory inf",
        lambda: T.refractory_filter(_ev(), refractory_us=float("inf")),
        ParameterError,
        r"refractory_us.*inf",
    ),
    (
        "refractory reference 'last'",
        lambda: T.refractory_filter(_ev(), refractory_us=1, reference="last"),
        ParameterError,
        r"reference.*'any' or 'kept'.*'last'",
    ),
    (
        "refractory 'kept' span x pixels > 2**63",
        lambda: T.refractory_filter(
            make_events([0, 2**62, 2**62], [0, 1, 1], [0, 0, 0], [1, 1, 1]),
            refractory_us=1,
            reference="kept",
        ),
        ParameterError,
        r"refractory_filter.*events\['t'\].*active pixels \(2\).*4611686018427387904",
    ),
    (
        "denoise 0",
        lambda: T.denoise(_ev(), filter_time_us=0),
        ParameterError,
        r"filter_time_us.*> 0.*0",
    ),
    (
        "denoise neighbourhood 5",
        lambda: T.denoise(_ev(), filter_time_us=1, neighbourhood=5),
        ParameterError,
        r"neighbourhood.*8 or 4.*5",
    ),
    (
        "denoise neighbourhood 8.0",
        lambda: T.denoise(_ev(), filter_time_us=1, neighbourhood=8.0),
        ParameterError,
        r"neighbourhood.*8\.0",
    ),
    (
        "hot_pixels -1",
        lambda: T.hot_pixels(_ev(), max_rate_hz=-1),
        ParameterError,
        r"max_rate_hz.*>= 0.*-1",
    ),
    (
        "drop_pixels [k, 3] (was reshaped)",
        lambda: T.drop_pixels(_ev(), pixels=[[1, 2, 3], [4, 5, 6]]),
        ParameterError,
        r"pixels.*\[k, 2\].*\(2, 3\)",
    ),
    (
        "drop_pixels fractions (were truncated)",
        lambda: T.drop_pixels(_ev(), pixels=[[1.7, 1.2]]),
        ParameterError,
        r"pixels.*1\.7",
    ),
    (
        "drop_pixels negative (dropped another pixel)",
        lambda: T.drop_pixels(_ev(), pixels=[[-1, 1]]),
        ParameterError,
        r"pixels.*>= 0.*-1",
    ),
    (
        "drop_pixels odd length",
        lambda: T.drop_pixels(_ev(), pixels=[1, 2, 3]),
        ParameterError,
        r"pixels.*\(3,\)",
    ),
    ("drop_pixels int", lambda: T.drop_pixels(_ev(), pixels=5), ParameterError, r"pixels.*\(\)"),
    (
        "drop_pixels NaN",
        lambda: T.drop_pixels(_ev(), pixels=[[np.nan, 1]]),
        ParameterError,
        r"pixels.*nan",
    ),
    (
        "DenoiseStream sensor 1e6 x 1e6 (7 TiB)",
        lambda: T.DenoiseStream(sensor_size=(10**6, 10**6), filter_time_us=1),
        ParameterError,
        r"sensor_size.*GiB.*\(1000000, 1000000\)",
    ),
    (
        "RefractoryStream sensor 1e6 x 1e6",
        lambda: T.RefractoryStream(sensor_size=(10**6, 10**6), refractory_us=1),
        ParameterError,
        r"sensor_size.*GiB.*\(1000000, 1000000\)",
    ),
    (
        "DenoiseStream chunk outside sensor",
        lambda: T.DenoiseStream(sensor_size=(2, 2), filter_time_us=1)(_ev()),
        ParameterError,
        r"events\['x'\].*< 2.*3",
    ),
    (
        "DenoiseStream NaN",
        lambda: T.DenoiseStream(sensor_size=(2, 2), filter_time_us=float("nan")),
        ParameterError,
        r"filter_time_us.*nan",
    ),
    (
        "RefractoryStream reference",
        lambda: T.RefractoryStream(sensor_size=(2, 2), refractory_us=1, reference="x"),
        ParameterError,
        r"reference.*'x'",
    ),
    # frozen wrappers check their fields when built
    (
        "Crop(x0=-1)",
        lambda: T.Crop(x0=-1, y0=0, width=1, height=1),
        ParameterError,
        r"Crop.*x0.*>= 0.*-1",
    ),
    (
        "Crop(shift='no')",
        lambda: T.Crop(x0=0, y0=0, width=1, height=1, shift="no"),
        ParameterError,
        r"Crop.*shift.*'no'",
    ),
    (
        "CenterCrop(width=0)",
        lambda: T.CenterCrop(width=0, height=1),
        ParameterError,
        r"CenterCrop.*width.*0",
    ),
    (
        "Downsample(2.0)",
        lambda: T.Downsample(2.0),
        ParameterError,
        r"Downsample.*spatial_factor.*2\.0",
    ),
    (
        "FlipLR(sensor_size=(0, 0))",
        lambda: T.FlipLR(sensor_size=(0, 0)),
        ParameterError,
        r"FlipLR.*sensor_size.*\(0, 0\)",
    ),
    (
        "FlipUD(sensor_size=5)",
        lambda: T.FlipUD(sensor_size=5),
        ParameterError,
        r"FlipUD.*sensor_size.*5",
    ),
    (
        "TimeSkew(time_scale=-1)",
        lambda: T.TimeSkew(time_scale=-1),
        ParameterError,
        r"TimeSkew.*time_scale.*-1",
    ),
    (
        "TimeJitter(std_us=-1)",
        lambda: T.TimeJitter(std_us=-1),
        ParameterError,
        r"TimeJitter.*std_us.*-1",
    ),
    (
        "TimeJitter(seed=1.5)",
        lambda: T.TimeJitter(std_us=1, seed=1.5),
        ParameterError,
        r"TimeJitter.*seed.*1\.5",
    ),
    ("DropEvents(2)", lambda: T.DropEvents(fraction=2), ParameterError, r"DropEvents.*fraction.*2"),
    (
        "RefractoryFilter(-1)",
        lambda: T.RefractoryFilter(-1),
        ParameterError,
        r"RefractoryFilter.*refractory_us.*-1",
    ),
    (
        "RefractoryFilter(reference='x')",
        lambda: T.RefractoryFilter(1, reference="x"),
        ParameterError,
        r"RefractoryFilter.*reference.*'x'",
    ),
    ("Denoise(0)", lambda: T.Denoise(0), ParameterError, r"Denoise.*filter_time_us.*0"),
    (
        "DropPixels([(1, 2, 3)])",
        lambda: T.DropPixels(pixels=((1, 2, 3),)),
        ParameterError,
        r"DropPixels.*pixels.*\(1, 3\)",
    ),
    (
        "RemoveHotPixels(-1)",
        lambda: T.RemoveHotPixels(-1),
        ParameterError,
        r"RemoveHotPixels.*max_rate_hz.*-1",
    ),
    (
        "Compose(one transform)",
        lambda: T.Compose(T.FlipPolarity()),
        ParameterError,
        r"transforms.*sequence.*FlipPolarity",
    ),
    # ------------------------------------------------------------------ representations.py
    (
        "count_frame floats",
        lambda: R.count_frame(np.zeros((4, 4)), sensor_size=SIZE),
        ParameterError,
        r"events.*float64",
    ),
    (
        "count_frame without size",
        lambda: R.count_frame(_ev()),
        ParameterError,
        r"sensor_size.*None",
    ),
    (
        "count_frame events outside",
        lambda: R.count_frame(_ev(), sensor_size=(2, 2)),
        ParameterError,
        r"events\['x'\].*< 2.*3",
    ),
    (
        "count_frame sensor 1e6 x 1e6 (7 TiB)",
        lambda: R.count_frame(_ev(), sensor_size=(10**6, 10**6)),
        ParameterError,
        r"sensor_size.*GiB.*\(1000000, 1000000\)",
    ),
    (
        "count_frame split_polarity 'no'",
        lambda: R.count_frame(_rec(), split_polarity="no"),
        ParameterError,
        r"split_polarity.*'no'",
    ),
    (
        "count_frame device 'gpu'",
        lambda: R.count_frame(_rec(), device="gpu"),
        ParameterError,
        r"count_frame.*device.*'gpu'",
    ),
    (
        "count_frame device object",
        lambda: R.count_frame(_rec(), device=3.5),
        ParameterError,
        r"device.*3\.5",
    ),
    (
        "polarity_frame mode 'max'",
        lambda: R.polarity_frame(_rec(), mode="max"),
        ParameterError,
        r"mode.*'sum' or 'last'.*'max'",
    ),
    (
        "polarity_frame sensor 1e6 x 1e6",
        lambda: R.polarity_frame(_ev(), sensor_size=(10**6, 10**6)),
        ParameterError,
        r"sensor_size.*GiB",
    ),
    ("to_frames no slicing", lambda: R.to_frames(_rec()), ParameterError, r"exactly one.*None"),
    (
        "to_frames two slicings",
        lambda: R.to_frames(_rec(), time_window_us=1, n_time_bins=2),
        ParameterError,
        r"exactly one.*'n_time_bins': 2",
    ),
    (
        "to_frames window 0",
        lambda: R.to_frames(_rec(), time_window_us=0),
        ParameterError,
        r"time_window_us.*> 0.*0",
    ),
    (
        "to_frames window NaN",
        lambda: R.to_frames(_rec(), time_window_us=float("nan")),
        ParameterError,
        r"time_window_us.*nan",
    ),
    (
        "to_frames window 1e-300 (cast overflow)",
        lambda: R.to_frames(_rec(), time_window_us=1e-300),
        ParameterError,
        r"time_window_us.*GiB.*1e-300",
    ),
    (
        "to_frames window 1e-9",
        lambda: R.to_frames(_rec(), time_window_us=1e-9),
        ParameterError,
        r"time_window_us.*GiB.*1e-09",
    ),
    (
        "to_frames 1e9 bins",
        lambda: R.to_frames(_rec(), n_time_bins=10**9),
        ParameterError,
        r"n_time_bins.*GiB.*1000000000",
    ),
    (
        "to_frames 1e9 bins, no events",
        lambda: R.to_frames(Recording(empty_events(), SIZE, "x"), n_time_bins=10**9),
        ParameterError,
        r"n_time_bins.*GiB.*1000000000",
    ),
    (
        "to_frames 2.5 bins",
        lambda: R.to_frames(_rec(), n_time_bins=2.5),
        ParameterError,
        r"n_time_bins.*integer.*2\.5",
    ),
    (
        "to_frames event_count True",
        lambda: R.to_frames(_rec(), event_count=True),
        ParameterError,
        r"event_count.*True",
    ),
    (
        "to_frames t_start 'x'",
        lambda: R.to_frames(_rec(), time_window_us=5, t_start_us="x"),
        ParameterError,
        r"t_start_us.*'x'",
    ),
    (
        "to_frames t_start 'x', no events",
        lambda: R.to_frames(Recording(empty_events(), SIZE, "x"), time_window_us=5, t_start_us="x"),
        ParameterError,
        r"t_start_us.*'x'",
    ),
    (
        "to_frames include_incomplete 1",
        lambda: R.to_frames(_rec(), time_window_us=5, include_incomplete=1),
        ParameterError,
        r"include_incomplete.*1",
    ),
    (
        "voxel_grid 0 bins",
        lambda: R.voxel_grid(_rec(), n_time_bins=0),
        ParameterError,
        r"n_time_bins.*> 0.*0",
    ),
    (
        "voxel_grid 1e9 bins",
        lambda: R.voxel_grid(_rec(), n_time_bins=10**9),
        ParameterError,
        r"n_time_bins.*GiB.*1000000000",
    ),
    (
        "voxel_grid 3.0 bins",
        lambda: R.voxel_grid(_rec(), n_time_bins=3.0),
        ParameterError,
        r"n_time_bins.*integer.*3\.0",
    ),
    (
        "time_surface tau 0",
        lambda: R.time_surface(_rec(), tau_s=0),
        ParameterError,
        r"tau_s.*> 0.*0",
    ),
    (
        "time_surface tau NaN",
        lambda: R.time_surface(_rec(), tau_s=float("nan")),
        ParameterError,
        r"tau_s.*nan",
    ),
    (
        "time_surface t_us 1.5",
        lambda: R.time_surface(_rec(), tau_s=1, t_us=1.5),
        ParameterError,
        r"t_us.*integer.*1\.5",
    ),
    (
        "time_surfaces dt 0 (named dt_us)",
        lambda: R.time_surfaces(_rec(), tau_s=1, dt_us=0),
        ParameterError,
        r"time_surfaces: dt_us.*> 0.*0",
    ),
    (
        "time_surfaces dt 1e-300",
        lambda: R.time_surfaces(_rec(), tau_s=1, dt_us=1e-300),
        ParameterError,
        r"dt_us.*GiB.*1e-300",
    ),
    (
        "spike_tensor dt 0",
        lambda: R.spike_tensor(_rec(), dt_us=0),
        ParameterError,
        r"dt_us.*> 0.*0",
    ),
    (
        "spike_tensor dt 1e-300 (cast overflow)",
        lambda: R.spike_tensor(_rec(), dt_us=1e-300),
        ParameterError,
        r"dt_us.*GiB.*1e-300",
    ),
    (
        "spike_tensor dt 1e-320 (subnormal: inf steps)",
        lambda: R.spike_tensor(_rec(), dt_us=1e-320),
        ParameterError,
        r"dt_us.*GiB.*1e-320",
    ),
    (
        "to_frames window 1e-320 (inf frames)",
        lambda: R.to_frames(_rec(), time_window_us=1e-320),
        ParameterError,
        r"time_window_us.*GiB.*1e-320",
    ),
    (
        "time_surfaces dt 1e-320",
        lambda: R.time_surfaces(_rec(), tau_s=1, dt_us=1e-320),
        ParameterError,
        r"dt_us.*GiB.*1e-320",
    ),
    (
        "spike_tensor 1e9 steps",
        lambda: R.spike_tensor(_rec(), dt_us=1, n_steps=10**9),
        ParameterError,
        r"n_steps.*GiB.*1000000000",
    ),
    (
        "spike_tensor 1e9 steps of 34x34x2",
        lambda: R.spike_tensor(_rec(), sensor_size=(34, 34), dt_us=1, n_steps=10**9),
        ParameterError,
        r"n_steps.*GiB.*1000000000",
    ),
    (
        "spike_tensor numpy dtype",
        lambda: R.spike_tensor(_rec(), dt_us=1, dtype=np.float32),
        ParameterError,
        r"dtype.*torch dtype.*float32",
    ),
    (
        "spike_tensor mode 'counts'",
        lambda: R.spike_tensor(_rec(), dt_us=1, mode="counts"),
        ParameterError,
        r"mode.*'binary' or 'count'.*'counts'",
    ),
    (
        "spike_tensor count into bool",
        lambda: R.spike_tensor(_rec(), dt_us=1, mode="count"),
        ParameterError,
        r"dtype.*numeric.*torch\.bool",
    ),
    (
        "spike_tensor device 'gpu'",
        lambda: R.spike_tensor(_rec(), dt_us=1, device="gpu"),
        ParameterError,
        r"spike_tensor.*device.*'gpu'",
    ),
    (
        "spike_tensor t_start 1.5",
        lambda: R.spike_tensor(_rec(), dt_us=1, t_start_us=1.5),
        ParameterError,
        r"t_start_us.*integer.*1\.5",
    ),
    (
        "batch_spike_tensor empty",
        lambda: R.batch_spike_tensor([], dt_us=1),
        ParameterError,
        r"recordings.*non-empty.*'list'",
    ),
    (
        "batch_spike_tensor one array",
        lambda: R.batch_spike_tensor(_ev(), dt_us=1),
        ParameterError,
        r"recordings.*'ndarray'",
    ),
    (
        "batch_spike_tensor mixed sizes",
        lambda: R.batch_spike_tensor([_rec(), Recording(_ev(), (5, 5), "x")], dt_us=1),
        ParameterError,
        r"recordings\[1\] sensor_size.*\(5, 5\)",
    ),
    (
        "batch_spike_tensor 1e12 steps",
        lambda: R.batch_spike_tensor([_rec()], dt_us=1, n_steps=10**12),
        ParameterError,
        r"n_steps.*GiB.*1000000000000",
    ),
    (
        "batch_spike_tensor dt 1e-300",
        lambda: R.batch_spike_tensor([_rec(), _rec()], dt_us=1e-300),
        ParameterError,
        r"dt_us.*GiB.*1e-300",
    ),
    # ------------------------------------------------------------------ synthetic.py
    (
        "emulate_dvs 2-D frames",
        lambda: S.emulate_dvs(np.zeros((4, 4)), times_us=[0]),
        ParameterError,
        r"frames.*\(4, 4\)",
    ),
    (
        "emulate_dvs NaN frames",
        lambda: S.emulate_dvs(np.full((2, 2, 2), np.nan), times_us=[0, 1]),
        ParameterError,
        r"frames.*finite.*nan",
    ),
    (
        "emulate_dvs negative frames",
        lambda: S.emulate_dvs(-_FRAMES, times_us=[0, 1, 2]),
        ParameterError,
        r"frames.*>= 0.*-0\.9",
    ),
    (
        "emulate_dvs float times",
        lambda: S.emulate_dvs(_FRAMES, times_us=[0.0, 1.5, 2.0]),
        ParameterError,
        r"times_us.*integer.*float64",
    ),
    (
        "emulate_dvs unsorted times",
        lambda: S.emulate_dvs(_FRAMES, times_us=[0, 2, 1]),
        ParameterError,
        r"times_us.*increasing.*2 then 1",
    ),
    (
        "emulate_dvs threshold 0",
        lambda: S.emulate_dvs(_FRAMES, times_us=[0, 1, 2], threshold_on=0),
        ParameterError,
        r"threshold_on.*> 0.*0",
    ),
    (
        "emulate_dvs threshold 1e-12 (164 TiB)",
        lambda: S.emulate_dvs(
            _FRAMES, times_us=[0, 1000, 2000], threshold_on=1e-12, threshold_off=1e-12
        ),
        ParameterError,
        r"threshold_on / threshold_off.*GiB.*1e-12",
    ),
    (
        "emulate_dvs threshold 1e-320 (inf crossings, overflow)",
        lambda: S.emulate_dvs(
            _FRAMES, times_us=[0, 1000, 2000], threshold_on=1e-320, threshold_off=1e-320
        ),
        ParameterError,
        r"threshold_on / threshold_off.*GiB.*1e-320",
    ),
    (
        "emulate_dvs noise 1e15 Hz (233 TiB)",
        lambda: S.emulate_dvs(_FRAMES, times_us=[0, 1000, 2000], noise_rate_hz=1e15),
        ParameterError,
        r"noise_rate_hz.*GiB.*1000000000000000\.0",
    ),
    (
        "emulate_dvs times near 2**63 (overflowed)",
        lambda: S.emulate_dvs(_FRAMES[:2], times_us=[0, 2**63 - 1], noise_rate_hz=1e-12),
        ParameterError,
        r"times_us.*9223372036854775807",
    ),
    (
        "saccade_events t_start near 2**63 (overflowed)",
        lambda: S.saccade_events(_IMG, t_start_us=2**63 - 1000),
        ParameterError,
        r"t_start_us.*<= 4611686018427387904.*9223372036854774808",
    ),
    (
        "emulate_dvs seed -1",
        lambda: S.emulate_dvs(_FRAMES, times_us=[0, 1, 2], seed=-1),
        ParameterError,
        r"seed.*>= 0.*-1",
    ),
    (
        "emulate_dvs refractory 1.5",
        lambda: S.emulate_dvs(_FRAMES, times_us=[0, 1, 2], refractory_us=1.5),
        ParameterError,
        r"refractory_us.*integer.*1\.5",
    ),
    (
        "DVSEmulator(threshold_on=-1)",
        lambda: S.DVSEmulator(threshold_on=-1),
        ParameterError,
        r"DVSEmulator.*threshold_on.*-1",
    ),
    (
        "DVSEmulator(seed=True)",
        lambda: S.DVSEmulator(seed=True),
        ParameterError,
        r"DVSEmulator.*seed.*True",
    ),
    (
        "saccade_frames 3-D image",
        lambda: S.saccade_frames(np.zeros((2, 2, 2))),
        ParameterError,
        r"image.*\(2, 2, 2\)",
    ),
    (
        "saccade_frames image > 1",
        lambda: S.saccade_frames(np.full((4, 4), 2.0)),
        ParameterError,
        r"image.*\[0, 1\].*2\.0",
    ),
    (
        "saccade_frames image too big",
        lambda: S.saccade_frames(np.zeros((40, 40))),
        ParameterError,
        r"image.*34x34.*\(40, 40\)",
    ),
    (
        "saccade_frames 1e12 us saccades (22 GiB)",
        lambda: S.saccade_frames(_IMG, saccade_duration_us=10**12),
        ParameterError,
        r"saccade_duration_us / frame_dt_us.*GiB.*1000000000000",
    ),
    (
        "saccade_frames frame_dt 0",
        lambda: S.saccade_frames(_IMG, frame_dt_us=0),
        ParameterError,
        r"frame_dt_us.*> 0.*0",
    ),
    (
        "saccade_frames sensor 1e5 x 1e5 (75 GiB)",
        lambda: S.saccade_frames(_IMG, sensor_size=(10**5, 10**5)),
        ParameterError,
        r"sensor_size.*GiB.*\(100000, 100000\)",
    ),
    (
        "saccade_frames one vertex",
        lambda: S.saccade_frames(_IMG, path_px=[(0, 0)]),
        ParameterError,
        r"path_px.*\[\(0, 0\)\]",
    ),
    (
        "saccade_frames ragged path",
        lambda: S.saccade_frames(_IMG, path_px=[(0, 0), (1,)]),
        ParameterError,
        r"path_px.*\(1,\)",
    ),
    (
        "saccade_events threshold -1",
        lambda: S.saccade_events(_IMG, threshold=-1),
        ParameterError,
        r"saccade_events: threshold .*-1",
    ),
    (
        "SaccadeRecorder(background=2)",
        lambda: S.SaccadeRecorder(background=2),
        ParameterError,
        r"SaccadeRecorder.*background.*<= 1.*2",
    ),
    (
        "SaccadeRecorder(threshold=0)",
        lambda: S.SaccadeRecorder(threshold=0),
        ParameterError,
        r"SaccadeRecorder: threshold .*0",
    ),
    (
        "SaccadeRecorder(sensor_size=(0, 34))",
        lambda: S.SaccadeRecorder(sensor_size=(0, 34)),
        ParameterError,
        r"SaccadeRecorder.*sensor_size.*\(0, 34\)",
    ),
    (
        "saccade_dataset one image",
        lambda: S.saccade_dataset(_IMG),
        ParameterError,
        r"images.*\(28, 28\)",
    ),
    # ------------------------------------------------------------------ io.py (windows, playback)
    ("get_format 123", lambda: get_format(123), ValueError, r"format.*123"),
    ("get_format 'nope'", lambda: get_format("nope"), ValueError, r"unknown event format 'nope'"),
    (
        "iter_windows both widths",
        lambda: io._window_width_us(5, 0.1),
        ParameterError,
        r"window_us / window_s.*'window_s': 0\.1",
    ),
    (
        "iter_windows window 0",
        lambda: _windows([_ev()], window_us=0),
        ParameterError,
        r"window_us.*>= 1.*0",
    ),
    (
        "iter_windows window 1.5",
        lambda: _windows([_ev()], window_us=1.5),
        ParameterError,
        r"window_us.*integer.*1\.5",
    ),
    (
        "iter_windows window True",
        lambda: _windows([_ev()], window_us=True),
        ParameterError,
        r"window_us.*True",
    ),
    (
        "iter_windows t_start 'x'",
        lambda: _windows([_ev()], window_us=5, t_start_us="x"),
        ParameterError,
        r"t_start_us.*'x'",
    ),
    (
        "iter_windows t_start NaN",
        lambda: _windows([_ev()], window_us=5, t_start_us=float("nan")),
        ParameterError,
        r"t_start_us.*nan",
    ),
    (
        "iter_windows t_start inf",
        lambda: _windows([_ev()], window_us=5, t_start_us=float("inf")),
        ParameterError,
        r"t_start_us.*inf",
    ),
    (
        "iter_windows t_start 1.5 (was truncated)",
        lambda: _windows([_ev()], window_us=5, t_start_us=1.5),
        ParameterError,
        r"t_start_us.*integer.*1\.5",
    ),
    (
        "iter_windows end before start",
        lambda: _windows([_ev()], window_us=5, t_start_us=9, t_end_us=5),
        ParameterError,
        r"t_end_us.*t_start_us \(9\).*5",
    ),
    (
        "iter_windows float chunks",
        lambda: _windows([np.zeros(3)], window_us=5),
        ParameterError,
        r"chunk.*float64",
    ),
    (
        "iter_windows skip_empty 'no'",
        lambda: _windows([_ev()], window_us=5, skip_empty="no"),
        ParameterError,
        r"skip_empty.*'no'",
    ),
    (
        "window_s True (was a 1 s window)",
        lambda: io._window_width_us(None, True),
        ParameterError,
        r"window_s.*True",
    ),
    (
        "window_s 1e-9",
        lambda: io._window_width_us(None, 1e-9),
        ParameterError,
        r"window_s.*1 microsecond.*1e-09",
    ),
    (
        "play speed 0",
        lambda: list(io.play(iter([]), speed=0)),
        ParameterError,
        r"speed.*positive.*0",
    ),
    (
        "play speed NaN",
        lambda: list(io.play(iter([]), speed=float("nan"))),
        ParameterError,
        r"speed.*nan",
    ),
    (
        "play a Recording",
        lambda: list(io.play(_rec())),
        ParameterError,
        r"play: reader.*EventReader.*'Recording'",
    ),
    (
        "play non-windows",
        lambda: list(io.play(iter([_ev()]), speed=float("inf"))),
        ParameterError,
        r"reader.*EventWindow",
    ),
    (
        "play clock not callable",
        lambda: list(io.play(iter([]), clock=3)),
        ParameterError,
        r"clock.*function.*3",
    ),
    (
        "aplay decode_in_thread 'yes'",
        lambda: _aplay(iter([]), decode_in_thread="yes"),
        ParameterError,
        r"decode_in_thread.*'yes'",
    ),
    (
        "stream_stats float chunks",
        lambda: stream_stats(iter([np.zeros(3)])),
        ParameterError,
        r"stream_stats: chunk.*float64",
    ),
    (
        "denoise_mask floats",
        lambda: T.denoise_mask(np.zeros(3), filter_time_us=1),
        ParameterError,
        r"events.*float64",
    ),
    (
        "saccade_recording sensor (0, 0)",
        lambda: S.saccade_recording(_IMG, sensor_size=(0, 0)),
        ParameterError,
        r"sensor_size.*\(0, 0\)",
    ),
    # ------------------------------------------------------------------ cli_view (rendering API)
    (
        "event_frame events outside",
        lambda: cli_view.event_frame(_ev(), (2, 2)),
        ParameterError,
        r"events\['x'\].*< 2.*3",
    ),
    (
        "event_frame floats",
        lambda: cli_view.event_frame(np.zeros(3), (2, 2)),
        ParameterError,
        r"events.*float64",
    ),
    (
        "event_frame size (0, 0)",
        lambda: cli_view.event_frame(_ev(), (0, 0)),
        ParameterError,
        r"sensor_size.*\(0, 0\)",
    ),
    ("frame_grid no frames", lambda: cli_view.frame_grid([]), ParameterError, r"frames.*\[\]"),
]


@contextlib.contextmanager
def _address_space_cap(extra_bytes: int = 3 << 30) -> Iterator[None]:
    """Cap this process's address space at its current size plus ``extra_bytes`` while the
    body runs, so an attempt to allocate gigabytes fails (MemoryError) instead of swapping."""
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    vm_kb = next(
        int(line.split()[1])
        for line in Path("/proc/self/status").read_text().splitlines()
        if line.startswith("VmSize:")
    )
    cap = vm_kb * 1024 + extra_bytes
    if hard != resource.RLIM_INFINITY:
        cap = min(cap, hard)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


@pytest.mark.parametrize(("label", "action", "error", "pattern"), CASES, ids=[c[0] for c in CASES])
def test_bad_input_raises_a_named_typed_error(label, action, error, pattern):
    with _address_space_cap(), pytest.raises(error) as info:
        action()
    assert isinstance(info.value, ValueError)
    assert re.search(pattern, str(info.value)), str(info.value)


def test_simulator_inputs_bad_options_name_simulator_inputs_options():
    net = ss.Network(dt_s=1e-3)
    net.add_spike_tensor("cam", 16)
    net.add_population("a", 2, ss.LIF())
    net.add_projection("p", "cam", "a", ss.Dense(weight=1.0))
    sim = ss.Simulator(net, batch_size=2)
    recs = [_rec(), _rec()]
    for kw, pattern in [
        ({"source": ["cam"]}, r"source.*\['cam'\]"),
        ({"source": "a"}, r"source.*spike_tensor source.*'a'"),
        ({"source": "cam", "duration_s": float("nan")}, r"duration_s.*nan"),
        ({"source": "cam", "duration_s": 1e-9}, r"duration_s.*>= dt_s.*1e-09"),
        ({"source": "cam", "duration_s": 1e9}, r"simulator_inputs: duration_s.*GiB.*1000000000"),
        ({"source": "cam", "split_polarity": False}, r"source.*1\*2\*4 = 8.*'cam' of size 16"),
    ]:
        with _address_space_cap(), pytest.raises(ParameterError, match=pattern):
            R.simulator_inputs(recs, simulator=sim, **kw)
    with pytest.raises(ParameterError, match=r"recordings.*2 recordings.*1"):
        R.simulator_inputs([_rec()], simulator=sim, source="cam")
    out = R.simulator_inputs(recs, simulator=sim, source="cam", duration_s=0.04)
    # 40 steps of 1 ms, batch 2, P*H*W = 16; the events at 0, 10, 20, 30 us all fall in step 0
    assert tuple(out["cam"].shape) == (40, 2, 16)
    assert int(out["cam"][0].sum()) == 8 and int(out["cam"][1:].sum()) == 0


# ------------------------------------------------------------------ the CLIs


@pytest.fixture(scope="module")
def small_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("cli") / "a.npy"
    numpy_files.write(path, _ev(), sensor_size=SIZE)
    return path


@pytest.mark.parametrize(
    ("args", "code", "pattern"),
    [
        (["view", "{f}", "--out", "{d}/v.png", "--window-ms", "nan"], 2, r"--window-ms.*nan"),
        (["view", "{f}", "--out", "{d}/v.png", "--window-ms", "inf"], 2, r"--window-ms.*inf"),
        (["view", "{f}", "--out", "{d}/v.png", "--window-ms", "0"], 2, r"--window-ms.*0\.0"),
        (["view", "{f}", "--out", "{d}/v.gif", "--fps", "nan"], 2, r"--fps.*nan"),
        (["view", "{f}", "--out", "{d}/v.png", "--scale", "0"], 2, r"--scale.*0"),
        (["view", "{f}", "--out", "{d}/v.png", "--max-frames", "1000000000"], 2, r"--max-frames"),
        (["view", "{f}", "--out", "{d}/v.jpg"], 2, r"--out.*'\.jpg'"),
        (["view", "{f}", "--out", "{d}/nodir/v.png"], 2, r"--out.*nodir.*does not exist"),
        (["convert", "{f}", "{d}/nodir/o.h5"], 2, r"OUT.*nodir.*does not exist"),
        (["convert", "{f}", "{d}/o.dat", "--sensor-size", "0x0"], 1, r"sensor_size.*\(0, 0\)"),
        (["convert", "{f}", "{d}/o.dat", "--sensor-size", "2x2"], 1, r"x.*< 2.*\[0, 3\]"),
        (["convert", "{f}", "{d}/o.dat", "--sensor-size", "4x2x1"], 2, r"--sensor-size.*'4x2x1'"),
        (["convert", "{f}", "{d}/o.h5", "-o", "compresion=gzip"], 2, r"--option.*compresion"),
        (["convert", "{f}", "{d}/o.h5", "-o", "compression"], 2, r"--option.*KEY=VALUE"),
        (["convert", "{f}", "{d}/o.xyz"], 2, r"OUT.*'\.xyz'"),
        (["convert", "{f}", "{d}/o.h5", "--format", "nope"], 2, r"--format.*'nope'"),
        (["convert", "{f}", "{f}"], 2, r"same file"),
        (["info", "{f}", "--chunk-events", "0"], 2, r"--chunk-events.*0"),
    ],
)
def test_cli_bad_options_exit_cleanly_naming_the_option(small_file, tmp_path, args, code, pattern):
    argv = [a.format(f=small_file, d=tmp_path) for a in args]
    res = CliRunner().invoke(events_cli, argv)
    assert res.exit_code == code, (res.output, res.exception)
    assert isinstance(res.exception, SystemExit)  # a message, no traceback
    assert re.search(pattern, res.output), res.output
    leftovers = sorted(p.name for p in tmp_path.iterdir())
    assert leftovers == [], leftovers  # no half-written output


def test_reader_batch_and_chunk_options_are_named(small_file):
    reader = io.open(small_file)
    with pytest.raises(ParameterError, match=r"iter_batches: events_per_batch.*positive.*0"):
        next(reader.iter_batches(events_per_batch=0))
    with pytest.raises(ParameterError, match=r"iter_chunks: chunk_events.*positive.*2\.5"):
        next(reader.iter_chunks(chunk_events=2.5))
    with pytest.raises(ParameterError, match=r"iter_windows: chunk_events.*True"):
        next(reader.iter_windows(window_us=10, chunk_events=True))
    with pytest.raises(ParameterError, match=r"options.*'colour'"):
        io.open(small_file, colour=True)
    # valid neighbours: numpy integers
    batches = list(reader.iter_batches(events_per_batch=np.int64(3)))
    assert [len(b) for b in batches] == [3, 1]


def test_cli_view_render_api_checks_its_options(small_file, tmp_path):
    reader = io.open(small_file)
    for kw, pattern in [
        ({"scale": 0}, r"scale.*>= 1.*0"),
        ({"max_frames": 0}, r"max_frames.*>= 1.*0"),
        ({"fps": float("nan")}, r"fps.*nan"),
        ({"window_us": 0}, r"window_us.*>= 1.*0"),
    ]:
        with pytest.raises(ParameterError, match=pattern):
            cli_view.render(reader, tmp_path / "x.gif", **{"window_us": 10, **kw})
    with pytest.raises(ParameterError, match=r"reader.*EventReader.*'PosixPath'"):
        cli_view.render(small_file, tmp_path / "x.png", window_us=10)
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------ inputs never modified


def _calls():
    """(name, call) for every transform and representation on events of one sensor."""
    size = (40, 30)
    return [
        ("crop", lambda e: T.crop(e, x0=2, y0=3, width=20, height=10)),
        ("center_crop", lambda e: T.center_crop(e, width=20, height=10, sensor_size=size)),
        ("downsample", lambda e: T.downsample(e, spatial_factor=(0.5, 0.25))),
        ("flip_lr", lambda e: T.flip_lr(e, sensor_size=size)),
        ("flip_ud", lambda e: T.flip_ud(e, sensor_size=size)),
        ("flip_polarity", T.flip_polarity),
        ("merge_polarities", T.merge_polarities),
        ("split_polarities", T.split_polarities),
        ("time_skew", lambda e: T.time_skew(e, time_scale=1.5, time_offset_us=7)),
        ("align_time", T.align_time),
        ("time_jitter", lambda e: T.time_jitter(e, std_us=30, seed=1, sort=True)),
        ("drop_events", lambda e: T.drop_events(e, fraction=0.3, seed=1)),
        ("refractory any", lambda e: T.refractory_filter(e, refractory_us=500)),
        ("refractory kept", lambda e: T.refractory_filter(e, refractory_us=500, reference="kept")),
        ("denoise", lambda e: T.denoise(e, filter_time_us=2000)),
        ("hot_pixels", lambda e: T.hot_pixels(e, max_rate_hz=100)),
        ("remove_hot_pixels", lambda e: T.remove_hot_pixels(e, max_rate_hz=100)),
        ("drop_pixels", lambda e: T.drop_pixels(e, pixels=[[1, 1], [5, 7]])),
        ("DenoiseStream", T.DenoiseStream(sensor_size=size, filter_time_us=2000)),
        ("RefractoryStream", T.RefractoryStream(sensor_size=size, refractory_us=500)),
        ("Compose", T.Compose([T.FlipLR(sensor_size=size), T.Denoise(2000), T.AlignTime()])),
        ("count_frame", lambda e: R.count_frame(e, sensor_size=size, split_polarity=True)),
        ("polarity_frame", lambda e: R.polarity_frame(e, sensor_size=size, mode="last")),
        ("to_frames", lambda e: R.to_frames(e, sensor_size=size, time_window_us=5000)),
        ("voxel_grid", lambda e: R.voxel_grid(e, sensor_size=size, n_time_bins=5)),
        ("time_surface", lambda e: R.time_surface(e, sensor_size=size, tau_s=0.01)),
        ("time_surfaces", lambda e: R.time_surfaces(e, sensor_size=size, tau_s=0.01, dt_us=5000)),
        (
            "spike_tensor",
            lambda e: R.spike_tensor(
                e, sensor_size=size, dt_us=1000, mode="count", dtype=torch.uint8
            ),
        ),
        (
            "batch_spike_tensor",
            lambda e: R.batch_spike_tensor([e, e], sensor_size=size, dt_us=1000),
        ),
    ]


@pytest.mark.parametrize("as_recording", [False, True], ids=["array", "Recording"])
def test_no_transform_or_representation_modifies_its_input(as_recording):
    rng = np.random.default_rng(5)
    n = 3000
    t = np.sort(rng.integers(0, 50_000, n))
    base = make_events(t, rng.integers(0, 40, n), rng.integers(0, 30, n), rng.integers(0, 2, n))
    for name, call in _calls():
        ev = base.copy()
        ev.flags.writeable = True
        data = Recording(ev, (40, 30), "test", None, {"camera": "x"}) if as_recording else ev
        before = ev.tobytes()
        out = call(data)
        assert ev.tobytes() == before, name
        if as_recording:
            assert data.metadata == {"camera": "x"} and data.sensor_size == (40, 30), name
        outs = out if isinstance(out, tuple) else (out,)
        for o in outs:  # the result never shares memory with the input
            arr = o.events if isinstance(o, Recording) else o
            if isinstance(arr, np.ndarray):
                assert not np.shares_memory(arr, ev), name


# ------------------------------------------------------------------ valid neighbours


def test_valid_neighbours_of_the_refused_inputs_still_work():
    # make_events: numpy integers, integer-valued floats and bool polarities mean what they say
    ev = make_events(np.array([0.0, 5.0]), np.array([3, 65535], np.int64), [0, 2], [True, False])
    assert ev["t"].tolist() == [0, 5] and ev["x"].tolist() == [3, 65535]
    assert ev["p"].tolist() == [1, 0]
    assert empty_events(np.int64(2)).shape == (2,)
    # a Recording normalises its sensor size (tonic's (W, H, P) too) to a tuple of ints
    assert Recording(ev, [np.int64(65536), 3, 2], "x").sensor_size == (65536, 3)
    # numpy-integer seeds give the same jitter as Python ints
    a = T.time_jitter(_ev(), std_us=5, seed=np.int64(3))
    assert np.array_equal(a, T.time_jitter(_ev(), std_us=5, seed=3))
    # time_skew at the edge of int64 and of a uint32 field is exact, not refused
    top = make_events([0, 10], [0, 0], [0, 0], [1, 1])
    assert T.time_skew(top, time_offset_us=2**63 - 11)["t"].tolist() == [2**63 - 11, 2**63 - 1]
    assert T.time_skew(_u32_times(), time_offset_us=-5)["t"].tolist() == [0, 1, 2]
    # negative jittered times go when asked to, instead of wrapping in an unsigned field
    clipped = T.time_jitter(_u32_times(), std_us=100, seed=0, clip_negative=True)
    assert clipped.dtype == _u32_times().dtype and (clipped["t"] < 1000).all()
    # drop_pixels drops exactly the named pixels; integer-valued floats are pixels too
    ev = make_events([0, 1, 2, 3], [3, 0, 3, 1], [0, 1, 1, 0], [1, 1, 1, 1])
    kept = T.drop_pixels(ev, pixels=np.array([[3.0, 0.0]]))
    assert kept["t"].tolist() == [1, 2, 3]
    assert T.drop_pixels(ev, pixels=[])["t"].tolist() == [0, 1, 2, 3]
    assert T.DropPixels(pixels=())(ev).shape == (4,)
    # the frozen wrappers accept what their functions accept
    T.Crop(x0=np.int64(1), y0=0, width=2, height=1, sensor_size=[4, 2])
    T.Denoise(filter_time_us=10, neighbourhood=np.int64(4))
    assert S.DVSEmulator(threshold_on=0.1, seed=np.int64(2)).seed == 2
    # playback speed given as a numpy float, window_s as numpy float
    assert list(io.play(iter([]), speed=np.float32(2.0))) == []
    assert io._window_width_us(None, np.float64(0.002)) == 2000
    # a device given as a torch.device
    assert R.count_frame(_rec(), device=torch.device("cpu")).device.type == "cpu"


def test_denoise_and_hot_pixels_on_a_far_outlier_without_a_dense_grid():
    """One event at x = y = 65535 used to make denoise and hot_pixels allocate a 32 GiB dense
    grid; now the result equals that of the stream without the outlier, plus the outlier's
    own verdict, within a 3 GiB address-space cap."""
    rng = np.random.default_rng(2)
    n = 2000
    t = np.sort(rng.integers(0, 20_000, n))
    near = make_events(t, rng.integers(0, 20, n), rng.integers(0, 20, n), rng.integers(0, 2, n))
    far = make_events([10_000], [65535], [65535], [1])
    both = np.concatenate([near, far])
    both = both[np.argsort(both["t"], kind="stable")]
    with _address_space_cap():
        kept = T.denoise(both, filter_time_us=500)
        hot = T.hot_pixels(both, max_rate_hz=100)
    assert np.array_equal(kept, T.denoise(near, filter_time_us=500))  # the outlier is alone
    ref_hot = T.hot_pixels(near, max_rate_hz=100)
    # the durations are equal (the outlier lies inside the span), so are the hot pixels
    assert np.array_equal(hot, ref_hot) and len(ref_hot) > 0
    # an outlier next to a busy pixel is supported by it, on the sparse path too
    pair = make_events([0, 5], [65534, 65535], [65535, 65535], [1, 1])
    with _address_space_cap():
        assert T.denoise(pair, filter_time_us=10)["t"].tolist() == [5]


def test_refractory_kept_on_a_long_recording_with_few_pixels():
    """A span of 2**50 us with a pixel at (65535, 65535) used to overflow the vectorised search
    (a bare ValueError); pixel ids are compacted, so two far-apart pixels are fine."""
    big = 2**50
    ev = make_events([0, 1, big, big + 1], [0, 65535, 0, 65535], [0, 65535, 0, 65535], [1] * 4)
    kept = T.refractory_filter(ev, refractory_us=10, reference="kept")
    assert kept["t"].tolist() == [0, 1, big, big + 1]
    ev = make_events([0, 3, 20], [5, 5, 5], [5, 5, 5], [1, 1, 1])
    assert T.refractory_filter(ev, refractory_us=10, reference="kept")["t"].tolist() == [0, 20]


def test_time_surfaces_over_many_windows_is_vectorised_and_exact():
    """300,000 windows on a 4x2 sensor: every window's surface at its end, as the definition
    says (the loop over frames used to run in Python, one numpy call per frame)."""
    out = R.time_surfaces(_rec(), tau_s=1.0, dt_us=1e-4)
    assert out.shape == (300_000, 2, 2, 4)
    k = np.array([50_000, 150_000, 250_000, 299_998])  # windows away from the event times
    ends = (k + 1) * 1e-4  # us after the first event (t = 0)
    # ON at (x=0, y=0) fired at t = 0: exp(-end / tau) with tau = 1e6 us, in every window
    assert np.allclose(out[k, 1, 0, 0], np.exp(-ends / 1e6), rtol=0, atol=1e-7)
    # ON at (x=2, y=1) fired at t = 20: nothing before, exp(-(end - 20) / tau) after
    after = ends > 20
    assert (out[k[~after], 1, 1, 2] == 0).all()
    assert np.allclose(out[k[after], 1, 1, 2], np.exp((20 - ends[after]) / 1e6), atol=1e-7)


def test_wrappers_equal_their_functions_after_validation():
    ev = _ev()
    assert dataclasses.is_dataclass(T.TimeJitter)
    assert np.array_equal(T.TimeJitter(std_us=3, seed=4)(ev), T.time_jitter(ev, std_us=3, seed=4))
    assert np.array_equal(T.Crop(1, 0, 2, 2)(ev), T.crop(ev, x0=1, y0=0, width=2, height=2))


def test_frame_tensor_transforms_leave_their_input_unchanged():
    frames = torch.arange(2 * 2 * 6 * 8, dtype=torch.float32).reshape(2, 2, 6, 8)
    before = frames.clone()
    outs = [
        T.crop(frames, x0=1, y0=1, width=4, height=3),
        T.center_crop(frames, width=4, height=4),
        T.downsample(frames, spatial_factor=0.5),
        T.flip_lr(frames),
        T.flip_ud(frames),
        T.flip_polarity(frames),
        T.merge_polarities(frames),
    ]
    assert torch.equal(frames, before)
    for out in outs:
        out.add_(1)  # writing to a result never reaches the input
    assert torch.equal(frames, before)


def test_order_free_representations_do_not_depend_on_event_order():
    """Unsorted timestamps are legal input (real EVT3 streams step back): the count- and
    max-based representations of a shuffled stream equal those of the sorted one."""
    rng = np.random.default_rng(9)
    n = 2000
    t = np.sort(rng.integers(0, 40_000, n))
    ev = make_events(t, rng.integers(0, 12, n), rng.integers(0, 9, n), rng.integers(0, 2, n))
    shuffled = ev[rng.permutation(n)]
    size = (12, 9)
    for name, call in [
        ("count_frame", lambda e: R.count_frame(e, sensor_size=size, split_polarity=True)),
        ("polarity_frame sum", lambda e: R.polarity_frame(e, sensor_size=size)),
        ("to_frames window", lambda e: R.to_frames(e, sensor_size=size, time_window_us=3000)),
        ("to_frames bins", lambda e: R.to_frames(e, sensor_size=size, n_time_bins=7)),
        ("voxel_grid", lambda e: R.voxel_grid(e, sensor_size=size, n_time_bins=5)),
        ("time_surface", lambda e: R.time_surface(e, sensor_size=size, tau_s=0.01)),
        ("time_surfaces", lambda e: R.time_surfaces(e, sensor_size=size, tau_s=0.01, dt_us=4000)),
        ("spike_tensor", lambda e: R.spike_tensor(e, sensor_size=size, dt_us=1000)),
        ("hot_pixels", lambda e: T.hot_pixels(e, max_rate_hz=500)),
    ]:
        a, b = call(ev), call(shuffled)
        if isinstance(a, torch.Tensor):
            assert torch.equal(a, b), name
        elif a.dtype.kind == "f":
            # voxel_grid sums floats: equal up to summation order (float32 output)
            np.testing.assert_allclose(a, b, rtol=0, atol=1e-5, err_msg=name)
        else:
            assert np.array_equal(a, b), name


def test_a_reader_made_recording_with_a_bad_sensor_size_is_a_format_error(tmp_path):
    """Recording checks its sensor size; one made by a reader (``path`` set) reports it as an
    EventFormatError naming the file, the readers' contract. An AEDAT4 header with sizeX = 0
    used to give a Recording of sensor (0, 2)."""
    with pytest.raises(EventFormatError, match=r"f\.bin.*sensor_size.*\(0, 2\)"):
        Recording(_ev(), (0, 2), "X", str(tmp_path / "f.bin"))
    from spikesim.sensors.formats import aedat4

    path = tmp_path / "a.aedat4"
    aedat4.write(path, make_events([0, 10], [0, 1], [0, 1], [1, 0]), sensor_size=(4, 2))
    raw = path.read_bytes()
    bad = re.sub(rb'(key="sizeX"[^>]*>)4<', rb"\g<1>0<", raw)
    assert bad != raw and len(bad) == len(raw)
    path.write_bytes(bad)
    with pytest.raises(EventFormatError, match=r"a\.aedat4.*sizeX = 0, expected 1 \.\. 65536"):
        io.open(path).read()


def test_huge_refractory_periods_act_as_one_event_per_pixel():
    """refractory_us of 2**62 (emulate_dvs) or 1e300 (the 'kept' filters) used to overflow
    integer event times (RuntimeWarnings, errors under pytest); any period longer than the
    recording keeps one event per pixel, the same as a period just longer than the span."""
    frames = np.random.default_rng(0).random((3, 4, 4))
    kw = {"times_us": [0, 1000, 2000], "threshold_on": 0.05, "threshold_off": 0.05}
    ref = S.emulate_dvs(frames, refractory_us=10**9, **kw)
    assert len(ref) > 0 and len(np.unique(ref["y"] * 4 + ref["x"])) == len(ref)
    for r in (2001, 2**61, 2**62):
        assert np.array_equal(S.emulate_dvs(frames, refractory_us=r, **kw), ref), r
    ev = make_events([0, 5, 10, 3], [1, 1, 1, 2], [1, 1, 1, 2], [1, 1, 1, 0])
    for r in (11.0, 1e300):
        assert T.refractory_filter(ev, refractory_us=r, reference="kept")["t"].tolist() == [0, 3]
        stream = T.RefractoryStream(sensor_size=(4, 4), refractory_us=r, reference="kept")
        assert stream(ev[:2])["t"].tolist() == [0] and stream(ev[2:])["t"].tolist() == [3]
