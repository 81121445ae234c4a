"""Integer-level Loihi-2 network description (what lava-nc 0.10's fixed-point models run).

All values are the integers the chip (and Lava's ``fixed_pt`` models) use; there are no
physical units at this level. Conventions follow Lava:

* weight matrices have shape ``(n_target, n_source)`` (row = post-synaptic neuron);
* the threshold compared with ``v`` is ``vth << 6``; the synaptic input is ``a_in << 6``;
* ``bias = bias_mant << bias_exp`` (``>> -bias_exp`` for a negative exponent).

Every class is a frozen dataclass whose validator raises
:class:`~spikesim.errors.ParameterError` naming the population/connection, the field, the
allowed range and the value found. Array fields are stored as read-only numpy arrays.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any

import numpy as np

from spikesim._memory import require_fits as require_memory
from spikesim.errors import ParameterError, ShapeError

__all__ = [
    "BIAS_EXP_RANGE",
    "BIAS_MANT_RANGE",
    "DECAY_RANGE",
    "DELAY_RANGE",
    "VTH_RANGE",
    "WEIGHT_EXP_RANGE",
    "Connection",
    "Dense",
    "DelayDense",
    "LifPopulation",
    "LoihiNetwork",
    "SignMode",
    "Sparse",
    "SpikeInput",
    "quantize_weights",
    "require_memory",
    "spike_array",
    "weight_range",
]

#: du and dv: unsigned 12-bit.
DECAY_RANGE = (0, 4095)
#: vth mantissa: unsigned 17-bit (the compared threshold is vth << 6).
VTH_RANGE = (0, 2**17 - 1)
#: bias_mant: signed 13-bit.
BIAS_MANT_RANGE = (-(2**12), 2**12 - 1)
#: bias_exp: Loihi's register is unsigned 3-bit (0..7); Lava's model also right-shifts for a
#: negative exponent, which we accept down to -12 (a 13-bit mantissa shifted to 0 or -1).
BIAS_EXP_RANGE = (-12, 7)
#: weight_exp: shared weight exponent (Loihi 1 range, -8..7).
WEIGHT_EXP_RANGE = (-8, 7)
#: DelayDense per-synapse delays (6-bit; the arrival is delay + 1 steps after the spike).
DELAY_RANGE = (0, 62)


class SignMode(str, Enum):  # noqa: UP042 - StrEnum needs Python 3.11
    """Sign mode of a connection's weights (lava.utils.weightutils.SignMode)."""

    EXCITATORY = "excitatory"
    INHIBITORY = "inhibitory"
    MIXED = "mixed"


def _sign_mode(where: str, value: Any) -> SignMode:
    try:
        return SignMode(value)
    except ValueError:
        raise ParameterError(
            where, "sign_mode", "one of 'excitatory', 'inhibitory', 'mixed'", value
        ) from None


def weight_range(sign_mode: SignMode | str) -> tuple[int, int]:
    """Inclusive weight range Lava keeps for a sign mode (clip_weights with num_bits=8)."""
    return {
        SignMode.EXCITATORY: (0, 255),
        SignMode.INHIBITORY: (-255, 0),
        SignMode.MIXED: (-256, 255),
    }[_sign_mode("weight_range", sign_mode)]


def spike_array(where: str, field: str, value: Any) -> np.ndarray:
    """``value`` (numpy, torch or nested lists) as a uint8 array of 0/1 spikes, of any shape
    (the caller checks it); anything but 0/1 or bool values is a ParameterError."""
    try:
        arr = value.detach().cpu().numpy() if hasattr(value, "detach") else np.asarray(value)
    except (TypeError, ValueError):  # ragged nesting
        raise ParameterError(where, field, "binary values (0/1 or bool)", value) from None
    if arr.dtype.kind not in "biuf":
        raise ParameterError(
            where, field, "binary values (0/1 or bool)", f"an array of dtype {arr.dtype}"
        )
    if arr.dtype != np.bool_ and not np.isin(arr, (0, 1)).all():
        raise ParameterError(where, field, "binary values (0/1 or bool)", "other values")
    return arr.astype(np.uint8)


def quantize_weights(
    weights: Any, *, sign_mode: SignMode | str, num_weight_bits: int = 8
) -> np.ndarray:
    """Weights as Lava's fixed-point Dense/Sparse/DelayDense use them (int64 array).

    Exactly ``clip_weights(w, sign_mode, 8)`` then ``truncate_weights(w, sign_mode,
    num_weight_bits)`` of lava-nc 0.10: clip to the sign mode's 8-bit range, then drop
    ``k = 8 - num_weight_bits + is_mixed`` low bits with ``(w >> k) << k`` (inhibitory weights
    are negated first, so they truncate toward zero; mixed weights floor toward -inf).
    The ``weight_exp`` shift is applied later, to the summed activation.
    """
    mode = _sign_mode("quantize_weights", sign_mode)
    if isinstance(num_weight_bits, bool) or not isinstance(num_weight_bits, (int, np.integer)):
        raise ParameterError(
            "quantize_weights", "num_weight_bits", "an integer 1..8", num_weight_bits
        )
    if not 1 <= int(num_weight_bits) <= 8:
        raise ParameterError(
            "quantize_weights", "num_weight_bits", "an integer 1..8", num_weight_bits
        )
    w = np.asarray(weights)
    w = _int_array("quantize_weights", "weights", w, w.shape, -(2**62), 2**62)
    mixed = int(mode is SignMode.MIXED)
    if mode is SignMode.INHIBITORY:
        w = -w
    w = np.clip(w, -256 * mixed, 255)
    k = 8 - int(num_weight_bits) + mixed
    w = (w >> k) << k
    if mode is SignMode.INHIBITORY:
        w = -w
    return w


# --------------------------------------------------------------------------- validators


def _int(where: str, name: str, value: Any, lo: int, hi: int) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise ParameterError(where, name, f"an integer in {lo}..{hi}", value)
    if not lo <= int(value) <= hi:
        raise ParameterError(where, name, f"an integer in {lo}..{hi}", int(value))
    return int(value)


def _int_array(
    where: str, name: str, value: Any, shape: tuple[int, ...], lo: int, hi: int
) -> np.ndarray:
    try:
        arr = np.asarray(value)
    except (TypeError, ValueError):  # ragged nesting
        raise ParameterError(where, name, f"integers in {lo}..{hi}", value) from None
    if arr.dtype == np.bool_ or not (
        np.issubdtype(arr.dtype, np.integer)
        or (
            np.issubdtype(arr.dtype, np.floating)
            and np.all(np.isfinite(arr))
            and np.all(arr == np.round(arr))
        )
    ):
        raise ParameterError(where, name, f"integers in {lo}..{hi}", f"array of dtype {arr.dtype}")
    if arr.shape != shape:
        raise ShapeError(where, name, shape, arr.shape)
    if arr.size:
        # the range is checked before the cast, so a float beyond int64 cannot wrap
        bad = (arr < lo) | (arr > hi)
        if bad.any():
            idx = tuple(int(i) for i in np.argwhere(bad)[0])
            raise ParameterError(
                where,
                name,
                f"integers in {lo}..{hi}",
                arr[idx].item(),
                hint=f"first offending entry at index {idx}",
            )
    arr = arr.astype(np.int64)
    arr.setflags(write=False)
    return arr


def _array(where: str, name: str, value: Any) -> np.ndarray | None:
    if value is None:
        return None
    try:
        return np.asarray(value)
    except (TypeError, ValueError):  # ragged nesting
        raise ParameterError(
            where, name, "a 2-D integer array (n_target, n_source)", value
        ) from None


def _name(where: str, value: Any) -> str:
    if not isinstance(value, str) or not value or not value.isidentifier():
        raise ParameterError(where, "name", "a non-empty identifier string", value)
    return value


def _per_neuron(where: str, name: str, value: Any, n: int, lo: int, hi: int) -> np.ndarray:
    if isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)):
        _int(where, name, value, lo, hi)
        value = np.full(n, int(value), dtype=np.int64)
    return _int_array(where, name, value, (n,), lo, hi)


# --------------------------------------------------------------------------- nodes


@dataclass(frozen=True, eq=False)
class LifPopulation:
    """A population of CUBA LIF neurons (Lava ``LIF`` with the bit-accurate model).

    ``du``, ``dv`` (12-bit) and ``vth`` (17-bit) are shared by the population; ``bias_mant``
    (13-bit signed) and ``bias_exp`` are per neuron (an int is repeated). ``u`` and ``v``
    start at 0; there is no refractory period.
    """

    name: str
    n: int
    du: int
    dv: int
    vth: int
    bias_mant: Any = 0
    bias_exp: Any = 0

    def __post_init__(self) -> None:
        where = f"population {self.name!r}"
        _name(where, self.name)
        n = _int(where, "n", self.n, 1, 2**31 - 1)
        # bias_mant and bias_exp are int64 per neuron
        require_memory(where, "n", 16.0 * n, f"{n} neurons")
        _int(where, "du", self.du, *DECAY_RANGE)
        _int(where, "dv", self.dv, *DECAY_RANGE)
        _int(where, "vth", self.vth, *VTH_RANGE)
        for attr in ("n", "du", "dv", "vth"):
            object.__setattr__(self, attr, int(getattr(self, attr)))
        object.__setattr__(
            self, "bias_mant", _per_neuron(where, "bias_mant", self.bias_mant, n, *BIAS_MANT_RANGE)
        )
        object.__setattr__(
            self, "bias_exp", _per_neuron(where, "bias_exp", self.bias_exp, n, *BIAS_EXP_RANGE)
        )

    def bias(self) -> np.ndarray:
        """Effective bias ``bias_mant << bias_exp`` (arithmetic ``>>`` for negative exponents)."""
        m, e = self.bias_mant, self.bias_exp
        return np.where(e >= 0, m << np.maximum(e, 0), m >> np.maximum(-e, 0))


@dataclass(frozen=True, eq=False)
class SpikeInput:
    """An external spike source of ``n`` channels, driven by a spike train per step."""

    name: str
    n: int

    def __post_init__(self) -> None:
        where = f"input {self.name!r}"
        _name(where, self.name)
        object.__setattr__(self, "n", _int(where, "n", self.n, 1, 2**31 - 1))


@dataclass(frozen=True, eq=False)
class _ConnectionBase:
    name: str
    source: str
    target: str
    sign_mode: SignMode | str
    num_weight_bits: int = 8
    weight_exp: int = 0

    def _check_common(self) -> str:
        where = f"connection {self.name!r}"
        _name(where, self.name)
        for attr in ("source", "target"):
            if not isinstance(getattr(self, attr), str):
                raise ParameterError(where, attr, "a population or input name", getattr(self, attr))
        object.__setattr__(self, "sign_mode", _sign_mode(where, self.sign_mode))
        object.__setattr__(
            self, "num_weight_bits", _int(where, "num_weight_bits", self.num_weight_bits, 1, 8)
        )
        object.__setattr__(
            self, "weight_exp", _int(where, "weight_exp", self.weight_exp, *WEIGHT_EXP_RANGE)
        )
        return where

    def _check_weights(self, where: str, name: str, w: Any, shape: tuple[int, ...]) -> np.ndarray:
        lo, hi = weight_range(self.sign_mode)  # type: ignore[arg-type]
        try:
            return _int_array(where, name, w, shape, lo, hi)
        except ParameterError as err:
            raise ParameterError(
                where,
                name,
                f"integers in {lo}..{hi} for sign_mode {self.sign_mode.value!r}",  # type: ignore[union-attr]
                err.found,
                hint=str(err).split(". ", 1)[1] if ". " in str(err) else "",
            ) from None

    @property
    def shape(self) -> tuple[int, int]:  # pragma: no cover - overridden
        raise NotImplementedError

    def dense_weights(self) -> np.ndarray:  # pragma: no cover - overridden
        raise NotImplementedError

    def quantized_weights(self) -> np.ndarray:
        """Dense ``(n_target, n_source)`` weights after Lava's clip + truncation."""
        return quantize_weights(
            self.dense_weights(), sign_mode=self.sign_mode, num_weight_bits=self.num_weight_bits
        )


@dataclass(frozen=True, eq=False)
class Dense(_ConnectionBase):
    """All-to-all connection (Lava ``Dense``): ``weights`` has shape (n_target, n_source).

    It adds one step of delay: the activation computed from spikes at step t reaches the
    target at step t + 1.
    """

    weights: Any = None

    def __post_init__(self) -> None:
        where = self._check_common()
        w = _array(where, "weights", self.weights)
        if w is None or w.ndim != 2:
            raise ParameterError(
                where,
                "weights",
                "a 2-D integer array (n_target, n_source)",
                None if w is None else f"array of shape {w.shape}",
            )
        object.__setattr__(self, "weights", self._check_weights(where, "weights", w, w.shape))

    @property
    def shape(self) -> tuple[int, int]:
        return tuple(self.weights.shape)  # type: ignore[return-value]

    def dense_weights(self) -> np.ndarray:
        return self.weights


@dataclass(frozen=True, eq=False)
class Sparse(_ConnectionBase):
    """Sparse connection (Lava ``Sparse``) in COO form: ``values[k]`` from ``cols[k]`` (source)
    to ``rows[k]`` (target); ``n_target`` x ``n_source`` matrix. Duplicate (row, col) pairs are
    refused (scipy would silently add them)."""

    n_target: int = 0
    n_source: int = 0
    rows: Any = None
    cols: Any = None
    values: Any = None

    def __post_init__(self) -> None:
        where = self._check_common()
        n_t = _int(where, "n_target", self.n_target, 1, 2**31 - 1)
        n_s = _int(where, "n_source", self.n_source, 1, 2**31 - 1)
        object.__setattr__(self, "n_target", n_t)
        object.__setattr__(self, "n_source", n_s)
        vals = np.asarray(self.values if self.values is not None else [])
        if vals.ndim != 1:
            raise ParameterError(
                where, "values", "a 1-D integer array", f"array of shape {vals.shape}"
            )
        nnz = vals.shape[0]
        rows = _int_array(
            where,
            "rows",
            np.asarray(self.rows if self.rows is not None else []),
            (nnz,),
            0,
            n_t - 1,
        )
        cols = _int_array(
            where,
            "cols",
            np.asarray(self.cols if self.cols is not None else []),
            (nnz,),
            0,
            n_s - 1,
        )
        vals = self._check_weights(where, "values", vals, (nnz,))
        if nnz:
            key = rows * n_s + cols
            uniq, counts = np.unique(key, return_counts=True)
            if (counts > 1).any():
                dup = int(uniq[counts > 1][0])
                raise ParameterError(
                    where,
                    "rows/cols",
                    "unique (row, col) pairs",
                    (dup // n_s, dup % n_s),
                    hint="that pair occurs more than once",
                )
        object.__setattr__(self, "rows", rows)
        object.__setattr__(self, "cols", cols)
        object.__setattr__(self, "values", vals)

    @property
    def shape(self) -> tuple[int, int]:
        return (self.n_target, self.n_source)

    def dense_weights(self) -> np.ndarray:
        n_t, n_s = self.shape
        require_memory(
            f"connection {self.name!r}",
            "n_target x n_source",
            8.0 * n_t * n_s,
            f"{n_t} x {n_s} dense weights",
            hint="the fixed-point simulation, the resource report and netx hold every "
            "connection as a dense matrix",
        )
        w = np.zeros(self.shape, dtype=np.int64)
        w[self.rows, self.cols] = self.values
        return w


@dataclass(frozen=True, eq=False)
class DelayDense(_ConnectionBase):
    """Dense connection with per-synapse delays (Lava ``DelayDense``): a spike at step t over a
    synapse of delay d reaches the target at step t + d + 1. ``delays`` has the shape of
    ``weights`` with values in 0..62."""

    weights: Any = None
    delays: Any = None

    def __post_init__(self) -> None:
        where = self._check_common()
        w = _array(where, "weights", self.weights)
        if w is None or w.ndim != 2:
            raise ParameterError(
                where,
                "weights",
                "a 2-D integer array (n_target, n_source)",
                None if w is None else f"array of shape {w.shape}",
            )
        object.__setattr__(self, "weights", self._check_weights(where, "weights", w, w.shape))
        if self.delays is None:
            raise ParameterError(
                where, "delays", f"integers in {DELAY_RANGE[0]}..{DELAY_RANGE[1]}", None
            )
        object.__setattr__(
            self, "delays", _int_array(where, "delays", self.delays, w.shape, *DELAY_RANGE)
        )

    @property
    def shape(self) -> tuple[int, int]:
        return tuple(self.weights.shape)  # type: ignore[return-value]

    @property
    def max_delay(self) -> int:
        """Largest delay (Lava sizes its activation ring buffer as max_delay + 1)."""
        return int(self.delays.max()) if self.delays.size else 0

    def dense_weights(self) -> np.ndarray:
        return self.weights


Connection = Dense | Sparse | DelayDense


def _tuple(where: str, field: str, value: Any) -> tuple:
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        raise ParameterError(where, field, "a tuple of objects", type(value).__name__)
    return tuple(value)


@dataclass(frozen=True, eq=False)
class LoihiNetwork:
    """Populations, external inputs and connections between them.

    Names are unique across populations, inputs and connections. A connection's source is a
    population or an input; its target must be a population. Weight shapes must match
    ``(target.n, source.n)``.
    """

    populations: tuple[LifPopulation, ...]
    inputs: tuple[SpikeInput, ...] = ()
    connections: tuple[Connection, ...] = field(default=())

    def __post_init__(self) -> None:
        where = "LoihiNetwork"
        for attr, cls in (("populations", LifPopulation), ("inputs", SpikeInput)):
            items = _tuple(where, attr, getattr(self, attr))
            for it in items:
                if not isinstance(it, cls):
                    raise ParameterError(where, attr, f"{cls.__name__} objects", type(it).__name__)
            object.__setattr__(self, attr, items)
        conns = _tuple(where, "connections", self.connections)
        for c in conns:
            if not isinstance(c, (Dense, Sparse, DelayDense)):
                raise ParameterError(
                    where, "connections", "Dense, Sparse or DelayDense objects", type(c).__name__
                )
        object.__setattr__(self, "connections", conns)
        if not self.populations:
            raise ParameterError(where, "populations", "at least one LifPopulation", ())
        seen: set[str] = set()
        for item in (*self.populations, *self.inputs, *conns):
            if item.name in seen:
                raise ParameterError(
                    where, "name", "unique across populations, inputs and connections", item.name
                )
            seen.add(item.name)
        pops = {p.name: p for p in self.populations}
        sizes = {**{i.name: i.n for i in self.inputs}, **{p.name: p.n for p in self.populations}}
        for c in conns:
            cw = f"connection {c.name!r}"
            if c.source not in sizes:
                raise ParameterError(cw, "source", f"one of {sorted(sizes)}", c.source)
            if c.target not in pops:
                raise ParameterError(
                    cw, "target", f"one of the populations {sorted(pops)}", c.target
                )
            expected = (pops[c.target].n, sizes[c.source])
            if c.shape != expected:
                raise ShapeError(cw, "weights (n_target, n_source)", expected, c.shape)

    def population(self, name: str) -> LifPopulation:
        for p in self.populations:
            if p.name == name:
                return p
        raise ParameterError(
            "LoihiNetwork", "population", f"one of {[p.name for p in self.populations]}", name
        )

    def size_of(self, name: str) -> int:
        """Number of neurons or channels of a population or input."""
        nodes: tuple[LifPopulation | SpikeInput, ...] = (*self.populations, *self.inputs)
        for node in nodes:
            if node.name == name:
                return node.n
        raise ParameterError("LoihiNetwork", "node", "a population or input name", name)
