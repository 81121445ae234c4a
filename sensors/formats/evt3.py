"""Prophesee EVT 3.0 RAW: ``%`` text header, then 16-bit little-endian words.

Word type in bits 12–15 (OpenEB ``Evt3EventTypes_4bits``): 0 EVT_ADDR_Y (y in bits 0–11
as OpenEB stores it; bit 11 is the "orig" flag), 1 the ADDR_Y of non-CD (EM) rows, 2 EVT_ADDR_X
(x 0–10, polarity 11), 3 VECT_BASE_X (x 0–10, polarity 11), 4 VECT_12, 5 VECT_8,
6 EVT_TIME_LOW, 7 CONTINUED_4, 8 EVT_TIME_HIGH, 0xA EXT_TRIGGER, 0xD IMU, 0xE OTHERS,
0xF CONTINUED_12.

Decoding reproduces OpenEB's ``EVT3Decoder`` with its default ``BasicCheckValidator``:

* words before the first TIME_HIGH are skipped;
* time = loop·2^24 + TIME_HIGH·2^12 + TIME_LOW (µs, as stored). TIME_HIGH resets TIME_LOW to 0
  when its value changes; TIME_LOW sets the 12 low bits with no clamping, so time may step
  back (``expelliarmus_evt3_sample.raw`` does); a loop is counted when TIME_HIGH falls by
  2048 or more;
* a VECT_12 word starts a 3-word group (VECT_12, VECT_12, VECT_8: a 12+12+8 = 32-pixel valid
  mask from the base x), whatever the types of the next two words; OTHERS words announcing
  CD event counts (0x014, 0x016) start a 4-word group; the group is consumed whole;
* CD events come out only while the last ADDR_Y was a CD row with y < height; a vector
  group is only read on such a row, and then advances the base x by 32; it is dropped when
  no VECT_BASE_X has been seen since the last dropped vector or base + 32 > width.

Where OpenEB drops CD events for those reasons (or would forward an ADDR_X outside the
sensor), this reader raises :class:`EventFormatError` naming the word's byte offset; with
``strict=False`` it drops them as OpenEB does (and drops ADDR_X events with x ≥ width, which
OpenEB would forward). Decoding is vectorised per 256 KiB block; the multi-word groups are found
by a pattern guess that is verified exactly, with a sequential fallback for malformed data.

The writer emits TIME_HIGH (stepping by at most 2048·4096 µs so loops decode), TIME_LOW,
EVT_ADDR_Y and EVT_ADDR_X words, so any event array with non-decreasing t round-trips.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from ..errors import EventFormatError
from ..events import EVENT_DTYPE
from . import FormatSpec
from ._chunks import FileWriter
from ._prophesee import (
    Opened,
    WordReader,
    check_events_for_write,
    merge_emitters,
    open_raw,
    raw_header,
    sniff_encoding,
    write_sensor,
)

__all__ = ["SPEC", "Evt3Writer", "iter_chunks", "open_writer", "probe", "read", "sniff", "write"]

ENCODING = "EVT3"
WORD_BYTES = 2
ADDR_Y, ADDR_Y_EM, ADDR_X, VECT_BASE_X, VECT_12, VECT_8, TIME_LOW = 0, 1, 2, 3, 4, 5, 6
TIME_HIGH, OTHERS = 8, 0xE
_COUNT_SUBTYPES = (0x014, 0x016)  # MASTER_IN_CD_EVENT_COUNT, MASTER_RATE_CONTROL_CD_EVENT_COUNT
_MAX_STEP = 2048  # TIME_HIGH steps the writer may take and still decode (loop when fall >= 2048)


def sniff(head: bytes, path: str = "") -> bool:
    """True for a ``%`` header announcing EVT 3.0 (``% evt 3.0`` or ``% format EVT3``)."""
    return sniff_encoding(head, ENCODING)


def _pick(values: np.ndarray, idx: np.ndarray, default: int) -> np.ndarray:
    if values.shape[0] == 0:
        return np.full(idx.shape[0], default, dtype=np.int64)
    return np.where(idx >= 0, values[np.maximum(idx, 0)], default)


class _Decoder:
    """OpenEB's EVT 3.0 state machine, vectorised per block; state carried across blocks."""

    def __init__(self, path: str | os.PathLike, sensor: tuple[int, int] | None, strict: bool):
        self.path = path
        self.width = sensor[0] if sensor else None
        self.height = sensor[1] if sensor else None
        self.strict = strict
        self.started = False
        self.high = 0
        self.low = 0
        self.loop = 0
        self.y = 0  # state[EVT_ADDR_Y]
        self.is_cd = False
        self.vb = 0  # state[VECT_BASE_X], including the +32 advances
        self.has_vb = False
        self.fallbacks = 0  # blocks that needed the sequential group scan (malformed data)

    # -- multi-word groups ---------------------------------------------------------------
    def _groups(self, w: np.ndarray, typ: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(start positions, lengths) of the multi-word groups OpenEB consumes whole."""
        n = w.shape[0]
        is4 = typ == VECT_12
        cnt = (w | 2) == ((OTHERS << 12) | 0x016)  # OTHERS 0x014 or 0x016
        guess = cnt.copy()
        if n >= 3:
            guess[: n - 2] |= is4[: n - 2] & is4[1 : n - 1] & (typ[2:] == VECT_8)
        # A VECT_12 in the last two words whose group the block cuts: a start unless an
        # earlier group covers it (the caller carries it to the next block).
        for i in range(max(n - 2, 0), n):
            if is4[i] and not guess[i]:
                covered = (i >= 1 and guess[i - 1]) or (i >= 2 and guess[i - 2])
                covered = covered or (i >= 3 and cnt[i - 3])  # a 4-word count group
                guess[i] = not covered
        starts = np.flatnonzero(guess)
        lengths = np.where(cnt[starts], 4, 3)
        inside = np.zeros(n + 3, dtype=bool)
        inside[starts + 1] = True
        inside[starts + 2] = True
        inside[starts[lengths == 4] + 3] = True
        heads = is4 | cnt
        if not (guess & inside[:n]).any() and not (heads & ~guess & ~inside[:n]).any():
            return starts, lengths
        # The guess is not the scan's answer: scan the group heads in order, as OpenEB does.
        self.fallbacks += 1
        hpos = np.flatnonzero(heads)
        hlen = np.where(cnt[hpos], 4, 3)
        keep = []
        free = 0
        for i, ln in zip(hpos.tolist(), hlen.tolist(), strict=True):
            if i >= free:
                keep.append(i)
                free = i + ln
        starts = np.asarray(keep, dtype=np.int64)
        return starts, np.where(cnt[starts], 4, 3)

    def _error(self, offset: int, pos: int, reason: str) -> EventFormatError:
        return EventFormatError(self.path, offset + pos * WORD_BYTES, reason)

    def __call__(self, w: np.ndarray, offset: int, final: bool) -> tuple[np.ndarray, int]:
        n_all = w.shape[0]
        empty = np.zeros(0, dtype=EVENT_DTYPE)
        typ = w >> 12
        skip = 0
        if not self.started:
            first = np.flatnonzero(typ == TIME_HIGH)
            if first.shape[0] == 0:
                return empty, n_all
            skip = int(first[0])
            th0 = int(w[skip] & 0xFFF)
            self.high = th0 - 1 if th0 > 0 else 0
            self.started = True
            w, typ = w[skip:], typ[skip:]
            offset += skip * WORD_BYTES
        n = w.shape[0]
        starts, lengths = self._groups(w, typ)
        m = n
        over = np.flatnonzero(starts + lengths > n)
        if over.shape[0]:  # a group continues in the next block (or the file is truncated)
            m = int(starts[over[0]])
            keep = starts < m
            starts, lengths = starts[keep], lengths[keep]
        ev = self._decode(w[:m], typ[:m], starts, lengths, offset)
        return ev, skip + m

    def _decode(self, w, typ, starts, lengths, offset) -> np.ndarray:
        m = w.shape[0]
        content = w & 0xFFF
        inside = np.zeros(m + 3, dtype=bool)
        inside[starts + 1] = True
        inside[starts + 2] = True
        inside[starts[lengths == 4] + 3] = True
        ptyp = np.where(inside[:m], 0xFF, typ)  # types of the words the state machine steps on
        vec_pos = starts[typ[starts] == VECT_12]
        em_mask = ptyp == ADDR_X
        em_mask[vec_pos] = True
        em_pos = np.flatnonzero(em_mask)  # emitters in file order: ADDR_X words and vectors
        is_vec = typ[em_pos] == VECT_12

        def state(mask: np.ndarray, values: np.ndarray, carry: int) -> np.ndarray:
            """Value of the last word in ``mask`` before each emitter (``carry``: none).

            ``values`` holds one value per word of ``mask``, in order.
            """
            ext = np.empty(values.shape[0] + 1, dtype=np.int64)
            ext[0] = carry
            ext[1:] = values
            return ext[np.cumsum(mask, dtype=np.int32)[em_pos]]

        # ---- time. A TIME_HIGH equal to the previous one changes nothing; one that differs
        # sets the high bits (a loop when it falls by >= 2048) and resets TIME_LOW to 0;
        # TIME_LOW sets the low bits. Time is forward-filled from those "update" words.
        th_pos = np.flatnonzero(ptyp == TIME_HIGH)
        th_val = content[th_pos].astype(np.int64)
        prev = np.empty_like(th_val)
        if th_val.shape[0]:
            prev[0] = self.high
            prev[1:] = th_val[:-1]
        loops = self.loop + np.cumsum(prev >= _MAX_STEP + th_val)
        changed = th_val != prev
        u_mask = ptyp == TIME_LOW
        u_mask[th_pos[changed]] = True
        u_pos = np.flatnonzero(u_mask)
        u_is_th = ptyp[u_pos] == TIME_HIGH
        high = np.empty(int(changed.sum()) + 1, dtype=np.int64)
        high[0] = (self.loop << 24) | (self.high << 12)
        high[1:] = (loops[changed] << 24) | (th_val[changed] << 12)
        u_t = high[np.cumsum(u_is_th)] | np.where(u_is_th, 0, content[u_pos])
        t = state(u_mask, u_t, (self.loop << 24) | (self.high << 12) | self.low)

        # ---- rows: ADDR_Y of CD rows (y) and of EM rows (-1: no CD events)
        row_mask = ptyp <= ADDR_Y_EM
        row_pos = np.flatnonzero(row_mask)
        row_cd = ptyp[row_pos] == ADDR_Y
        y_rows = np.where(row_cd, content[row_pos].astype(np.int32), -1)
        y = state(row_mask, y_rows, self.y if self.is_cd else -1)
        is_cd = y >= 0
        row_ok = is_cd if self.height is None else is_cd & (y < self.height)

        # ---- vectors: base x state, validity (BasicCheckValidator), masks
        vb_pos = np.flatnonzero(ptyp == VECT_BASE_X)
        vsel = np.flatnonzero(is_vec)
        vpos = em_pos[vsel]
        vr = row_ok[vsel]
        cum = np.cumsum(vr)
        excl: np.ndarray = cum - vr
        iv = np.searchsorted(vb_pos, vpos) - 1
        vb_val = content[vb_pos].astype(np.int64)
        if vb_pos.shape[0]:  # index of the first vector after each vector's VECT_BASE_X
            seg_first = np.searchsorted(vpos, vb_pos[np.maximum(iv, 0)], side="right")
            seg_first = np.where(iv >= 0, seg_first, 0)
        else:
            seg_first = np.zeros(vpos.shape[0], dtype=np.int64)
        k = excl - np.where(iv >= 0, excl[np.minimum(seg_first, max(len(excl) - 1, 0))], 0)
        vstate = np.where(iv >= 0, _pick(vb_val, iv, 0), self.vb) + 32 * k
        xb = vstate & 0xF7FF
        vpol = (vstate >> 11) & 1
        has_base = np.where(iv >= 0, True, self.has_vb)
        fail_raw = vr & (~has_base | ((xb + 32 > self.width) if self.width else False))
        vidx = np.arange(vpos.shape[0])
        last_fail = np.maximum.accumulate(np.where(fail_raw, vidx, -1)) if vidx.shape[0] else vidx
        fail = vr & (last_fail >= seg_first)
        masks = np.zeros(vpos.shape[0], dtype=np.int64)
        if vpos.shape[0]:
            masks = (
                content[vpos].astype(np.int64)
                | (content[vpos + 1].astype(np.int64) << 12)
                | ((content[vpos + 2].astype(np.int64) & 0xFF) << 24)
            )

        # ---- state at the end of the block
        if th_pos.shape[0]:
            self.high = int(th_val[-1])
            self.loop = int(loops[-1])
        if u_pos.shape[0]:
            self.low = 0 if u_is_th[-1] else int(content[u_pos[-1]])
        y_last = row_pos[row_cd]
        if y_last.shape[0]:
            self.y = int(content[y_last[-1]])
        if row_pos.shape[0]:
            self.is_cd = bool(row_cd[-1])
        n_vr = int(cum[-1]) if cum.shape[0] else 0
        if vb_pos.shape[0]:
            first_after = int(np.searchsorted(vpos, vb_pos[-1], side="right"))
            before = int(excl[first_after]) if first_after < excl.shape[0] else n_vr
            self.vb = int(vb_val[-1]) + 32 * (n_vr - before)
            self.has_vb = not bool(fail[first_after:].any())
        else:
            self.vb += 32 * n_vr
            self.has_vb = self.has_vb and not bool(fail.any())

        # ---- emitters: ADDR_X (one pixel) and vectors (32-pixel masks)
        ok = row_ok.copy()
        ok[vsel] &= ~fail
        ax = ~is_vec
        xbase = (content[em_pos] & 0x7FF).astype(np.int64)
        if self.strict:
            bad_row = is_cd & ~row_ok
            bad_row[vsel] &= masks != 0
            if bad_row.any():
                i = int(np.flatnonzero(bad_row)[0])
                raise self._error(
                    offset,
                    int(em_pos[i]),
                    f"CD event on row y={int(y[i])}, outside the {self.width}x{self.height} "
                    "sensor (expected y < height; pass strict=False to drop such events as "
                    "OpenEB does)",
                )
            bad_vec = np.flatnonzero(fail & (masks != 0))
            if bad_vec.shape[0]:
                i = int(bad_vec[0])
                why = (
                    "no VECT_BASE_X since the last invalid vector"
                    if not has_base[i]
                    else f"vector base x={int(xb[i])} + 32 > sensor width {self.width}"
                )
                raise self._error(
                    offset,
                    int(vpos[i]),
                    f"VECT_12 group with pixels set is invalid: {why} (pass strict=False to "
                    "drop it as OpenEB does)",
                )
        if self.width is not None:
            out_x = ok & ax & (xbase >= self.width)
            if out_x.any():
                if self.strict:
                    i = int(np.flatnonzero(out_x)[0])
                    raise self._error(
                        offset,
                        int(em_pos[i]),
                        f"EVT_ADDR_X x={int(xbase[i])} is outside the {self.width}x"
                        f"{self.height} sensor (expected x < width; pass strict=False to drop "
                        "such events)",
                    )
                ok &= ~out_x
        pol = (content[em_pos] >> 11) & 1
        good = ~fail & vr
        out, _ = merge_emitters(
            ok & ax,
            xbase,
            pol,
            vsel[good],
            masks[good],
            xb[good],
            vpol[good],
            t,
            y,
        )
        return out


def _open(path: str | os.PathLike, sensor_size: Any) -> Opened:
    return open_raw(path, ENCODING, sensor_size, "evt3")


_READER = WordReader(
    name="EVT3.0",
    where="evt3",
    what="EVT 3.0",
    word=np.dtype("<u2"),
    open=_open,
    decoder=lambda path, opened, strict: _Decoder(path, opened.sensor, strict),
)
iter_chunks = _READER.iter_chunks  # (path, *, chunk_events, sensor_size, strict, ...)
probe = _READER.probe  # header facts: sensor size and source, camera, header, n_words
read = _READER.read  # the whole file as a Recording (t in µs as stored)


# ---------------------------------------------------------------- writing
def _write_sensor(sensor_size: Any) -> tuple[int, int]:
    return write_sensor(sensor_size, "evt3 write", bits=11)


_MAX_LEAD_WORDS = 1 << 22  # TIME_HIGH words allowed for one gap (each covers 8.4 s)


def _encode(
    events: np.ndarray, sensor: tuple[int, int], state: tuple[int, int, int]
) -> tuple[bytes, tuple[int, int, int]]:
    """EVT 3.0 words for ``events`` after a stream in ``state`` = (t >> 12, t, y) (-1: none)."""
    ev = check_events_for_write(events, "evt3 write")
    prev_h, prev_t, prev_y = state
    if ev.shape[0] == 0:
        return b"", state
    t = ev["t"].astype(np.int64)
    x = ev["x"].astype(np.int64)
    y = ev["y"].astype(np.int64)
    if t[0] < 0 or t[0] < prev_t or (t.shape[0] > 1 and np.any(np.diff(t) < 0)):
        raise ValueError(
            "evt3 write t: expected non-decreasing timestamps >= 0 (file order), found "
            f"t in [{t.min()}, {t.max()}]"
        )
    for name, v, lim in (("x", x, sensor[0]), ("y", y, sensor[1])):
        if v.min() < 0 or v.max() >= lim:
            raise ValueError(
                f"evt3 write {name}: expected 0 <= {name} < {lim} (sensor size), "
                f"found {name} in [{v.min()}, {v.max()}]"
            )
    hi = t >> 12  # absolute TIME_HIGH (with loops)
    hprev = np.empty_like(hi)
    hprev[0] = 0 if prev_h < 0 else prev_h
    hprev[1:] = hi[:-1]
    gap = hi - hprev
    n_th = -(-gap // _MAX_STEP)  # TIME_HIGH words to get there in steps of <= 2048
    if prev_h < 0:
        n_th[0] += 1  # the first TIME_HIGH of the file (value 0 when stepping from 0)
    if int(n_th.max()) > _MAX_LEAD_WORDS:
        raise ValueError(
            f"evt3 write t: a time gap needs more than {_MAX_LEAD_WORDS} TIME_HIGH words "
            "(EVT 3.0 counts time loops of 16.8 s from 0); shift the timestamps first"
        )
    tprev = np.empty_like(t)
    tprev[0] = prev_t
    tprev[1:] = t[:-1]
    low = t & 0xFFF
    # TIME_LOW after every TIME_HIGH (OpenEB would reset it to 0 itself, but decoders that
    # keep the previous TIME_LOW, such as expelliarmus, need it written) and on every change
    n_tl = (n_th > 0) | (t != tprev)
    yprev = np.empty_like(y)
    yprev[0] = prev_y
    yprev[1:] = y[:-1]
    n_y = y != yprev
    counts = n_th + n_tl + n_y + 1
    ends = np.cumsum(counts)
    out = np.empty(int(ends[-1]), dtype="<u2")
    ax = ends - 1
    out[ax] = (ADDR_X << 12) | ((ev["p"] > 0).astype(np.int64) << 11) | x
    yi = np.flatnonzero(n_y)
    out[ax[yi] - 1] = (ADDR_Y << 12) | y[yi]
    ti = np.flatnonzero(n_tl)
    out[ax[ti] - 1 - n_y[ti]] = (TIME_LOW << 12) | low[ti]
    hi_idx = np.flatnonzero(n_th)
    if hi_idx.shape[0]:
        reps = n_th[hi_idx]
        last = ax[hi_idx] - 1 - n_y[hi_idx] - n_tl[hi_idx]  # slot of the final TIME_HIGH
        ev_of = np.repeat(np.arange(hi_idx.shape[0]), reps)
        back = np.arange(int(reps.sum())) - np.repeat(np.cumsum(reps) - reps, reps)
        back = reps[ev_of] - 1 - back  # 0 for the last TIME_HIGH of each run
        value = np.maximum(hi[hi_idx][ev_of] - back * _MAX_STEP, 0)
        out[last[ev_of] - back] = (TIME_HIGH << 12) | (value & 0xFFF)
    return out.tobytes(), (int(hi[-1]), int(t[-1]), int(y[-1]))


class Evt3Writer(FileWriter):
    """Streaming EVT 3.0 writer: ``append`` chunks in time order, ``close`` (context manager)."""

    def __init__(self, path: str | os.PathLike, *, sensor_size: Any) -> None:
        self.sensor = _write_sensor(sensor_size)
        super().__init__(path, raw_header("3.0", "EVT3", self.sensor))
        self._state = (-1, -1, -1)

    def append(self, events: np.ndarray) -> None:
        words, self._state = _encode(events, self.sensor, self._state)
        self._f.write(words)


def open_writer(path: str | os.PathLike, *, sensor_size: Any = None, **options: Any) -> Evt3Writer:
    """A streaming :class:`Evt3Writer` (the ``events convert`` command appends chunks)."""
    if options:
        raise ValueError(f"evt3 write: unknown options {sorted(options)}")
    return Evt3Writer(path, sensor_size=sensor_size)


def write(path: str | os.PathLike, events: np.ndarray, *, sensor_size: Any = None) -> None:
    """Write CD events (non-decreasing t) as EVT 3.0 words so :func:`read` returns them."""
    sensor = _write_sensor(sensor_size)
    words, _ = _encode(events, sensor, (-1, -1, -1))  # validate before creating the file
    with Evt3Writer(path, sensor_size=sensor) as wr:
        wr._f.write(words)


SPEC = FormatSpec(
    name=_READER.name,
    description="Prophesee EVT 3.0 RAW (16-bit words, OpenEB decoding rules)",
    sniff=sniff,
    read=read,
    iter_chunks=iter_chunks,
    probe=probe,
    write=write,
    extensions=(".raw",),
)
