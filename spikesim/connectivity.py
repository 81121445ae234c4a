"""Connectivity rules of projections, and how they turn into synapses.

A rule is a frozen dataclass (the description); :func:`materialize` draws its synapses from an
explicit ``numpy.random.Generator``. Structured rules (dense, one-to-one, convolutional,
circulant) keep their structure so a backend can run them without a synapse list; the random
sparse rules become a synapse table whose memory grows with the number of synapses, never N².
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any, ClassVar

import numpy as np

from ._validate import check_int, check_nonnegative, check_positive, check_probability
from .errors import ConfigError, ParameterError, ShapeError
from .values import Value, check_value, draw, value_from_json, value_to_json

__all__ = [
    "Connectivity",
    "Dense",
    "Sparse",
    "FixedFanIn",
    "OneToOne",
    "Conv2d",
    "Circulant",
    "DistanceDependent",
    "Explicit",
    "SynapseTable",
    "CONNECTIVITIES",
    "connectivity_from_dict",
]

_MAX_MASK_ELEMENTS = 1 << 24  # rows of a Bernoulli mask drawn at a time (bounded memory)
# pair-wise drawing (Sparse, DistanceDependent) costs ~50-150 ns per (pre, post) pair: from
# this many pairs on (minutes) a progress bar on stderr shows that it is drawing, not hung
_PROGRESS_PAIRS = 1 << 31


@dataclasses.dataclass(frozen=True)
class SynapseTable:
    """Synapses as parallel arrays (COO): pre index, post index, weight, delay in steps."""

    pre: np.ndarray
    post: np.ndarray
    weight: np.ndarray
    delay_steps: np.ndarray

    def __len__(self) -> int:
        return int(self.pre.shape[0])


@dataclasses.dataclass(frozen=True)
class Connectivity:
    """Base class of the connectivity rules (frozen dataclasses with a ``kind`` name)."""

    kind: ClassVar[str] = ""
    value_fields: ClassVar[tuple[str, ...]] = ("weight",)
    array_fields: ClassVar[tuple[str, ...]] = ()

    def validate(self, where: str, pre_shape: tuple[int, ...], post_shape: tuple[int, ...]) -> None:
        """Raise a ParameterError or ShapeError (naming ``where``) unless the rule's values
        are valid and fit populations of shapes ``pre_shape`` and ``post_shape``."""
        for name in self.value_fields:
            check_value(where, name, getattr(self, name))

    def _check_weight_shape(self, where: str, expected: tuple[int, ...] | None) -> None:
        """A per-synapse weight array must have ``expected`` shape (None: the synapse count is
        random, so only a number or a distribution can describe the weights)."""
        w = getattr(self, "weight", None)
        if not isinstance(w, np.ndarray) or w.ndim == 0:
            return
        if expected is None:
            raise ParameterError(
                where,
                "weight",
                f"a number or a distribution ({self.kind} draws a random number of synapses)",
                f"an array of shape {w.shape}",
            )
        if w.shape != expected:
            raise ShapeError(where, "weight", expected, w.shape)

    def to_dict(self) -> dict[str, Any]:
        """The rule as a JSON/TOML-ready table: ``kind`` and every field that is set."""
        d: dict[str, Any] = {"kind": self.kind}
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if v is None:
                continue
            if f.name in self.value_fields:
                v = value_to_json(v)
            elif isinstance(v, np.ndarray):
                v = v.tolist()
            elif isinstance(v, tuple):
                v = list(v)
            d[f.name] = v
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any], *, where: str) -> Connectivity:
        """The rule of :meth:`to_dict`'s table; unknown or missing fields are ConfigErrors
        naming ``where``."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - names - {"kind"})
        if unknown:
            raise ConfigError(
                where,
                unknown[0],
                f"unknown field of connectivity {cls.kind!r}; known: {', '.join(sorted(names))}",
            )
        kw: dict[str, Any] = {}
        for k, v in d.items():
            if k == "kind":
                continue
            if k in cls.value_fields:
                v = value_from_json(v, where=where, field=k)
            elif k in cls.array_fields:
                v = np.asarray(v)
            elif isinstance(v, list):
                v = tuple(v)
            kw[k] = v
        try:
            return cls(**kw)
        except TypeError as exc:
            raise ConfigError(where, cls.kind, f"missing fields: {exc}") from exc


@dataclasses.dataclass(frozen=True)
class Dense(Connectivity):
    """All-to-all: a weight from every pre to every post neuron (matrix [post, pre])."""

    kind: ClassVar[str] = "dense"
    weight: Value = 1.0

    def validate(self, where, pre_shape, post_shape):
        super().validate(where, pre_shape, post_shape)
        self._check_weight_shape(where, (int(np.prod(post_shape)), int(np.prod(pre_shape))))


@dataclasses.dataclass(frozen=True)
class OneToOne(Connectivity):
    """Neuron i to neuron i (pre and post of equal size)."""

    kind: ClassVar[str] = "one_to_one"
    weight: Value = 1.0

    def validate(self, where, pre_shape, post_shape):
        super().validate(where, pre_shape, post_shape)
        if int(np.prod(pre_shape)) != int(np.prod(post_shape)):
            raise ShapeError(where, "post size (one_to_one)", pre_shape, post_shape)
        self._check_weight_shape(where, (int(np.prod(pre_shape)),))


@dataclasses.dataclass(frozen=True)
class Sparse(Connectivity):
    """Each pre→post pair connected independently with probability ``p``."""

    kind: ClassVar[str] = "sparse"
    p: float = 0.1
    weight: Value = 1.0
    allow_self: bool = True

    def validate(self, where, pre_shape, post_shape):
        super().validate(where, pre_shape, post_shape)
        check_probability(where, "p", self.p)
        self._check_weight_shape(where, None)


@dataclasses.dataclass(frozen=True)
class FixedFanIn(Connectivity):
    """Every post neuron receives exactly ``k`` distinct pre neurons, chosen at random."""

    kind: ClassVar[str] = "fixed_fan_in"
    k: int = 10
    weight: Value = 1.0
    allow_self: bool = True

    def validate(self, where, pre_shape, post_shape):
        super().validate(where, pre_shape, post_shape)
        k = check_int(where, "k", self.k, minimum=0)
        n_pre = int(np.prod(pre_shape))
        limit = n_pre - (0 if self.allow_self else 1)
        if k > limit:
            raise ParameterError(where, "k", f"<= the number of candidate pre neurons ({limit})", k)
        self._check_weight_shape(where, (int(np.prod(post_shape)) * k,))


@dataclasses.dataclass(frozen=True)
class Conv2d(Connectivity):
    """2-D convolution from a pre population of shape (c_in, H, W) to (c_out, H', W').

    ``kernel`` has shape [c_out, c_in, kh, kw]; ``stride`` and ``padding`` as in torch.
    """

    kind: ClassVar[str] = "conv2d"
    value_fields: ClassVar[tuple[str, ...]] = ()
    array_fields: ClassVar[tuple[str, ...]] = ("kernel",)
    kernel: np.ndarray = dataclasses.field(default_factory=lambda: np.ones((1, 1, 3, 3)))
    stride: int = 1
    padding: int = 0

    def out_shape(self, pre_shape: tuple[int, ...]) -> tuple[int, int, int]:
        """(c_out, H', W') of the output for an input of shape (c_in, H, W)."""
        c_out, _, kh, kw = np.shape(self.kernel)
        _, h, w = pre_shape
        s, p = self.stride, self.padding
        return (int(c_out), (h + 2 * p - kh) // s + 1, (w + 2 * p - kw) // s + 1)

    def validate(self, where, pre_shape, post_shape):
        k = np.asarray(self.kernel)
        if k.ndim != 4:
            raise ShapeError(where, "kernel", ("c_out", "c_in", "kh", "kw"), k.shape)
        if k.dtype.kind not in "fiu":
            raise ParameterError(where, "kernel", "a numeric array", k.dtype)
        if not np.all(np.isfinite(k)):
            raise ParameterError(where, "kernel", "finite values", "NaN/Inf")
        check_int(where, "stride", self.stride, minimum=1)
        pad = check_int(where, "padding", self.padding, minimum=0)
        if len(pre_shape) != 3 or pre_shape[0] != k.shape[1]:
            raise ShapeError(where, "pre shape (c_in, H, W)", (k.shape[1], "H", "W"), pre_shape)
        if k.shape[2] > pre_shape[1] + 2 * pad or k.shape[3] > pre_shape[2] + 2 * pad:
            raise ParameterError(
                where,
                "kernel",
                f"no larger than the padded input ({pre_shape[1] + 2 * pad} x "
                f"{pre_shape[2] + 2 * pad})",
                f"{k.shape[2]} x {k.shape[3]}",
            )
        expected = self.out_shape(pre_shape)
        if tuple(post_shape) != expected:
            raise ShapeError(where, "post shape", expected, tuple(post_shape))


@dataclasses.dataclass(frozen=True)
class Circulant(Connectivity):
    """A ring kernel: post i receives ``weights[j]`` from pre ``(i - offsets[j]) mod n``.

    Pre and post are rings of equal size. With ``channels`` c > 1 both populations have shape
    (c, n) and ``weights`` has shape [c_out, c_in, len(offsets)] (a circular convolution).
    A single offset of +1 with weight 1 shifts activity one unit per step.
    """

    kind: ClassVar[str] = "circulant"
    value_fields: ClassVar[tuple[str, ...]] = ()
    array_fields: ClassVar[tuple[str, ...]] = ("weights",)
    offsets: tuple[int, ...] = (1,)
    weights: np.ndarray = dataclasses.field(default_factory=lambda: np.ones(1))
    channels: int = 1

    def kernel3(self) -> np.ndarray:
        """``weights`` as a float64 array [c_out, c_in, len(offsets)]."""
        w = np.asarray(self.weights, dtype=np.float64)
        if w.ndim == 1:
            w = w.reshape(1, 1, -1)
        return w

    def validate(self, where, pre_shape, post_shape):
        c = check_int(where, "channels", self.channels, minimum=1)
        if isinstance(self.offsets, (str, bytes)) or np.ndim(self.offsets) != 1:
            raise ParameterError(where, "offsets", "a sequence of integers", self.offsets)
        for o in self.offsets:
            check_int(where, "offsets", o)
        w = np.asarray(self.weights)
        if w.dtype.kind not in "fiu":
            raise ParameterError(where, "weights", "a numeric array", w.dtype)
        w = w.astype(np.float64)
        if not np.all(np.isfinite(w)):
            raise ParameterError(where, "weights", "finite values", "NaN/Inf")
        k = len(self.offsets)
        expected = (k,) if c == 1 and w.ndim == 1 else (c, c, k)
        if w.shape != expected:
            raise ShapeError(where, "weights", expected, w.shape)
        if tuple(pre_shape) != tuple(post_shape):
            raise ShapeError(
                where, "post shape (circulant needs equal rings)", pre_shape, post_shape
            )
        n = int(np.prod(pre_shape)) // c
        if n * c != int(np.prod(pre_shape)):
            raise ParameterError(where, "channels", f"a divisor of the ring size {pre_shape}", c)
        span = max(abs(int(o)) for o in self.offsets) if self.offsets else 0
        if 2 * span + 1 > n:
            raise ParameterError(
                where,
                "offsets",
                f"a kernel no wider than the ring (n = {n})",
                self.offsets,
                hint="Use a larger ring or a narrower kernel.",
            )


@dataclasses.dataclass(frozen=True)
class DistanceDependent(Connectivity):
    """Probability ``p_max * exp(-d^2 / (2 sigma^2))`` with d the distance between positions.

    Needs a spatial layout (ring or sheet) on both populations. With ``speed_m_s`` set, each
    synapse gets a conduction delay ``delay_offset_s + d / speed_m_s`` rounded to steps.
    """

    kind: ClassVar[str] = "distance"
    p_max: float = 1.0
    sigma_m: float = 1e-3
    weight: Value = 1.0
    speed_m_s: float | None = None
    delay_offset_s: float = 0.0
    allow_self: bool = False

    def validate(self, where, pre_shape, post_shape):
        super().validate(where, pre_shape, post_shape)
        check_probability(where, "p_max", self.p_max)
        check_positive(where, "sigma_m", self.sigma_m)
        check_nonnegative(where, "delay_offset_s", self.delay_offset_s)
        if self.speed_m_s is not None:
            check_positive(where, "speed_m_s", self.speed_m_s)
        self._check_weight_shape(where, None)


@dataclasses.dataclass(frozen=True)
class Explicit(Connectivity):
    """Given synapses: ``pre``, ``post`` index arrays and ``weight`` (array or rule)."""

    kind: ClassVar[str] = "explicit"
    array_fields: ClassVar[tuple[str, ...]] = ("pre", "post", "delay_steps")
    pre: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0, np.int64))
    post: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0, np.int64))
    weight: Value = 1.0
    delay_steps: np.ndarray | None = None

    def validate(self, where, pre_shape, post_shape):
        super().validate(where, pre_shape, post_shape)
        pre, post = np.asarray(self.pre), np.asarray(self.post)
        if pre.ndim != 1 or post.shape != pre.shape:
            raise ShapeError(where, "post (indices)", pre.shape, post.shape)
        for name, idx, n in (
            ("pre", pre, int(np.prod(pre_shape))),
            ("post", post, int(np.prod(post_shape))),
        ):
            if idx.size and (idx.dtype.kind not in "iu" or idx.min() < 0 or idx.max() >= n):
                raise ParameterError(
                    where,
                    name,
                    f"integer indices in [0, {n})",
                    f"{idx.dtype} in [{idx.min()}, {idx.max()}]",
                )
        w = self.weight
        if isinstance(w, np.ndarray) and w.shape != pre.shape:
            raise ShapeError(where, "weight", pre.shape, w.shape)
        if self.delay_steps is not None:
            d = np.asarray(self.delay_steps)
            if d.shape not in ((), pre.shape):
                raise ShapeError(where, "delay_steps", pre.shape, d.shape)
            if d.size and (d.dtype.kind not in "iu" or d.min() < 0):
                raise ParameterError(where, "delay_steps", "non-negative integers", d.min())


CONNECTIVITIES: dict[str, type[Connectivity]] = {
    c.kind: c
    for c in (Dense, OneToOne, Sparse, FixedFanIn, Conv2d, Circulant, DistanceDependent, Explicit)
}


def connectivity_from_dict(d: dict[str, Any], *, where: str) -> Connectivity:
    """The rule of a table with a ``kind`` (one of :data:`CONNECTIVITIES`)."""
    if not isinstance(d, dict):
        raise ConfigError(where, "connectivity", f"expected a table, got {d!r}")
    kind = d.get("kind")
    if kind not in CONNECTIVITIES:
        raise ParameterError(
            where, "connectivity.kind", f"one of {', '.join(sorted(CONNECTIVITIES))}", kind
        )
    return CONNECTIVITIES[kind].from_dict(d, where=where)


# --------------------------------------------------------------------------- materialisation


def _row_blocks(n_pre: int, n_post: int, what: str) -> Iterator[tuple[int, int]]:
    """(start, stop) blocks of post rows holding at most ~2^24 pairs each, with a tqdm bar
    (pairs drawn) when the projection has at least ``_PROGRESS_PAIRS`` pairs."""
    rows = max(1, _MAX_MASK_ELEMENTS // max(n_pre, 1))
    blocks = [(start, min(n_post, start + rows)) for start in range(0, n_post, rows)]
    if n_pre * n_post < _PROGRESS_PAIRS:
        yield from blocks
        return
    from tqdm import tqdm

    with tqdm(total=n_pre * n_post, desc=f"drawing {what}", unit="pairs", unit_scale=True) as bar:
        for start, stop in blocks:
            yield start, stop
            bar.update((stop - start) * n_pre)


def _sparse_bernoulli(
    n_pre: int,
    n_post: int,
    p: float,
    gen: np.random.Generator,
    allow_self: bool,
    what: str = "synapses",
) -> tuple[np.ndarray, np.ndarray]:
    """Bernoulli(p) pairs, drawn in row blocks so memory stays bounded."""
    pres, posts = [], []
    for start, stop in _row_blocks(n_pre, n_post, what):
        mask = gen.random((stop - start, n_pre)) < p
        if not allow_self:
            idx = np.arange(start, stop)
            ok = idx < n_pre
            mask[np.nonzero(ok)[0], idx[ok]] = False
        post, pre = np.nonzero(mask)
        pres.append(pre)
        posts.append(post + start)
    return np.concatenate(pres).astype(np.int64), np.concatenate(posts).astype(np.int64)


def _fixed_fan_in(
    n_pre: int, n_post: int, k: int, gen: np.random.Generator, allow_self: bool
) -> tuple[np.ndarray, np.ndarray]:
    """k distinct pre per post, O(n_post * k) memory (rejection of duplicates per row)."""
    if k == 0 or n_post == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    if k > n_pre // 2:  # dense regime: permutation per row (bounded blocks)
        out = np.empty((n_post, k), np.int64)
        for i in range(n_post):
            cand = gen.permutation(n_pre)
            if not allow_self:
                cand = cand[cand != i]
            out[i] = cand[:k]
    else:
        out = gen.integers(0, n_pre, size=(n_post, k))
        rows = np.arange(n_post)[:, None]
        for _ in range(1000):
            s = np.sort(out, axis=1)
            dup = np.zeros_like(out, dtype=bool)
            dup[:, 1:] = s[:, 1:] == s[:, :-1]
            if not allow_self:
                dup |= s == rows
            if not dup.any():
                out = s
                break
            s[dup] = gen.integers(0, n_pre, size=int(dup.sum()))
            out = s
        else:  # pragma: no cover - astronomically unlikely
            raise RuntimeError("fixed fan-in sampling did not converge")
    post = np.repeat(np.arange(n_post, dtype=np.int64), k)
    return out.reshape(-1).astype(np.int64), post


def positions_of(layout: Any, shape: tuple[int, ...]) -> np.ndarray:
    """Positions (metres) of the neurons of a population with a spatial layout."""
    from .network import Ring, Sheet  # local import: avoid a cycle

    n = int(np.prod(shape))
    if isinstance(layout, Ring):
        ang = 2 * np.pi * np.arange(n) / n
        r = layout.circumference_m / (2 * np.pi)
        return np.stack([r * np.cos(ang), r * np.sin(ang)], axis=1)
    if isinstance(layout, Sheet):
        rows, cols = layout.rows, layout.cols
        yy, xx = np.meshgrid(np.arange(rows), np.arange(cols), indexing="ij")
        pos = np.stack([xx.ravel(), yy.ravel()], axis=1) * layout.spacing_m
        return pos.astype(np.float64)
    raise ParameterError("population", "layout", "a Ring or Sheet layout", layout)


def ring_distance(layout: Any, pos_a: np.ndarray, pos_b: np.ndarray) -> np.ndarray:
    """Distance between positions; along the arc on a ring, wrapped on a torus sheet."""
    from .network import Ring, Sheet

    if isinstance(layout, Ring):
        r = layout.circumference_m / (2 * np.pi)
        ang_a = np.arctan2(pos_a[..., 1], pos_a[..., 0])
        ang_b = np.arctan2(pos_b[..., 1], pos_b[..., 0])
        d = np.abs(ang_a - ang_b)
        return r * np.minimum(d, 2 * np.pi - d)
    diff = np.abs(pos_a - pos_b)
    if isinstance(layout, Sheet) and layout.periodic:
        size = np.array([layout.cols, layout.rows]) * layout.spacing_m
        diff = np.minimum(diff, size - diff)
    return np.sqrt((diff**2).sum(-1))


def materialize(
    conn: Connectivity,
    *,
    where: str,
    pre_shape: tuple[int, ...],
    post_shape: tuple[int, ...],
    generator: np.random.Generator,
    dt_s: float,
    pre_layout: Any = None,
    post_layout: Any = None,
) -> SynapseTable:
    """Draw the synapses of a rule as a table (also used for structured rules when needed)."""
    n_pre, n_post = int(np.prod(pre_shape)), int(np.prod(post_shape))
    delay: np.ndarray | int = 0
    if isinstance(conn, Dense):
        post, pre = np.divmod(np.arange(n_pre * n_post, dtype=np.int64), n_pre)
    elif isinstance(conn, OneToOne):
        pre = post = np.arange(n_pre, dtype=np.int64)
    elif isinstance(conn, Sparse):
        pre, post = _sparse_bernoulli(n_pre, n_post, conn.p, generator, conn.allow_self, where)
    elif isinstance(conn, FixedFanIn):
        pre, post = _fixed_fan_in(n_pre, n_post, conn.k, generator, conn.allow_self)
    elif isinstance(conn, DistanceDependent):
        if pre_layout is None or post_layout is None:
            raise ParameterError(
                where,
                "connectivity",
                "populations with a spatial layout (Ring or Sheet) for distance-dependent connectivity",
                None,
            )
        pos_pre = positions_of(pre_layout, pre_shape)
        pos_post = positions_of(post_layout, post_shape)
        pres, posts, dists = [], [], []
        for start, stop in _row_blocks(n_pre, n_post, where):
            d = ring_distance(post_layout, pos_post[start:stop, None, :], pos_pre[None, :, :])
            prob = conn.p_max * np.exp(-(d**2) / (2 * conn.sigma_m**2))
            mask = generator.random(prob.shape) < prob
            if not conn.allow_self and n_pre == n_post:
                idx = np.arange(start, stop)
                mask[idx - start, idx] = False
            po, pr = np.nonzero(mask)
            pres.append(pr)
            posts.append(po + start)
            dists.append(d[po, pr])
        pre = np.concatenate(pres).astype(np.int64)
        post = np.concatenate(posts).astype(np.int64)
        dist = np.concatenate(dists)
        if conn.speed_m_s is not None:
            delay = np.rint((conn.delay_offset_s + dist / conn.speed_m_s) / dt_s).astype(np.int64)
        elif conn.delay_offset_s:
            delay = int(round(conn.delay_offset_s / dt_s))
    elif isinstance(conn, Explicit):
        pre = np.asarray(conn.pre, dtype=np.int64)
        post = np.asarray(conn.post, dtype=np.int64)
        if conn.delay_steps is not None:
            delay = np.asarray(conn.delay_steps, dtype=np.int64)
    elif isinstance(conn, Conv2d):
        return _conv_table(conn, pre_shape)
    elif isinstance(conn, Circulant):
        return _circulant_table(conn, pre_shape)
    else:  # pragma: no cover
        raise ParameterError(where, "connectivity", "a known connectivity rule", conn)
    if isinstance(conn, Dense) and isinstance(conn.weight, np.ndarray) and conn.weight.ndim == 2:
        # a full (n_post, n_pre) matrix: row-major order matches the (post, pre) enumeration
        weight = draw(conn.weight, (n_post, n_pre), generator, where=where, field="weight").reshape(
            -1
        )
    else:
        weight = draw(conn.weight, pre.shape, generator, where=where, field="weight")  # type: ignore[attr-defined]
    delays = np.broadcast_to(np.asarray(delay, dtype=np.int64), pre.shape).copy()
    return SynapseTable(pre=pre, post=post, weight=weight, delay_steps=delays)


def _conv_table(conn: Conv2d, pre_shape: tuple[int, ...]) -> SynapseTable:
    k = np.asarray(conn.kernel, dtype=np.float64)
    c_out, c_in, kh, kw = k.shape
    _, h, w = pre_shape
    _, ho, wo = conn.out_shape(pre_shape)
    pres, posts, ws = [], [], []
    oy, ox = np.meshgrid(np.arange(ho), np.arange(wo), indexing="ij")
    for co in range(c_out):
        for ci in range(c_in):
            for dy in range(kh):
                for dx in range(kw):
                    iy = oy * conn.stride - conn.padding + dy
                    ix = ox * conn.stride - conn.padding + dx
                    ok = (iy >= 0) & (iy < h) & (ix >= 0) & (ix < w)
                    pres.append((ci * h + iy[ok]) * w + ix[ok])
                    posts.append((co * ho + oy[ok]) * wo + ox[ok])
                    ws.append(np.full(int(ok.sum()), k[co, ci, dy, dx]))
    pre = np.concatenate(pres).astype(np.int64)
    return SynapseTable(
        pre=pre,
        post=np.concatenate(posts).astype(np.int64),
        weight=np.concatenate(ws),
        delay_steps=np.zeros(pre.shape, np.int64),
    )


def _circulant_table(conn: Circulant, pre_shape: tuple[int, ...]) -> SynapseTable:
    w = conn.kernel3()
    c = conn.channels
    n = int(np.prod(pre_shape)) // c
    i = np.arange(n)
    pres, posts, ws = [], [], []
    for co in range(c):
        for ci in range(c):
            for j, off in enumerate(conn.offsets):
                if w[co, ci, j] == 0:
                    continue
                pres.append(ci * n + (i - off) % n)
                posts.append(co * n + i)
                ws.append(np.full(n, w[co, ci, j]))
    if not pres:
        z = np.zeros(0, np.int64)
        return SynapseTable(z, z, np.zeros(0), z)
    pre = np.concatenate(pres).astype(np.int64)
    return SynapseTable(
        pre=pre,
        post=np.concatenate(posts).astype(np.int64),
        weight=np.concatenate(ws),
        delay_steps=np.zeros(pre.shape, np.int64),
    )
