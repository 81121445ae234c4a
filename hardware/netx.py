"""lava-dl ``netx`` HDF5 export (and import) of a layered Loihi network, and runs of the written
file with lava-dl's own loader in Lava.

netx (``lava.lib.dl.netx.hdf5.Network``) builds a sequential stack of blocks from
``layer/<i>/`` groups. For a ``dense`` block it reads ``shape`` (the neuron count), ``weight``
``(out, in)``, optional ``bias`` (bias mantissa; netx fixes ``bias_exp = 6``), optional
``delay`` ``(out, in)`` (the block then uses Lava's ``DelayDense``) and ``neuron/`` with
``type`` ``"CUBA"``, ``iDecay`` (Lava ``du + 1``), ``vDecay`` (``dv``), ``vThMant`` (``vth``),
``refDelay`` and ``gradedSpike``. A ``dense_rec`` block adds ``weight_rec`` ``(out, out)``, a
recurrent Dense from the layer onto itself. As in lava-dl's own exports of Dense stacks, there
is no input layer: the input spikes enter the first block's ``inp`` port.

The ``weight`` is the *effective* integer weight (``w << weight_exp`` here): netx re-derives
the Lava synapse from it with its ``optimize_weight_bits`` (scale up by ``2**s``, then
``weight_exp = -s`` and a number of weight bits; for ``dense_rec`` one ``s`` for both
matrices), and Lava then picks each synapse's sign mode from its weights, clips and truncates.
:func:`netx_synapse` derives what Lava ends up with; :func:`write_netx` writes a layer only
when that equals the weights spikesim simulates (``w'' == eff << s``, so the shifted sums are
identical), else it raises. Weight matrices netx maps lossily are: an all-zero matrix (netx
divides by the largest weight), a matrix netx calls mixed (it has zeros and negative weights,
or, in ``dense_rec``, the two matrices differ in sign) whose most negative weight is a power
of two (scaled to -256, which Lava's inhibitory mode clips to -255), a weight of 255 in a
matrix with negative weights (netx clips it to 254), and matrices outside -256..255.

So a network is exportable when it is a chain ``SpikeInput -> Dense/Sparse/DelayDense ->
population -> ...`` (each population optionally with one Dense/Sparse connection onto itself),
whose effective weights are whole 8-bit integers (``w << weight_exp`` within -256..255) and
whose biases are multiples of 64 (``bias_exp`` 6). ``quantize(net, **NETX_QUANTIZE)``
produces such networks from a float spikesim network. lava-dl 0.6 gives a ``dense_rec`` layer
with delays the forward delay matrix for its recurrent synapse and drops its weight exponent,
so delays are refused in layers with recurrence. Anything else raises
:class:`~spikesim.errors.ParameterError` naming the connection or population.

:func:`run_netx_in_lava` runs written files in the managed Lava environment with lava-dl's
``hdf5.Network`` (``netx_runner.py``; lava-dl is installed there without torch, see
:mod:`spikesim.hardware.lava_env`).
"""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from spikesim.errors import ConfigError, ParameterError, SpikesimError

from .hdf5_files import (
    H5_ERRORS,
    LIBVER,
    add_digest,
    file_path,
    naming_file,
    open_checked,
    writable_path,
)
from .loihi.network import (
    BIAS_MANT_RANGE,
    DELAY_RANGE,
    DelayDense,
    Dense,
    LifPopulation,
    LoihiNetwork,
    SignMode,
    SpikeInput,
    _int_array,
    spike_array,
)

__all__ = [
    "NETX_QUANTIZE",
    "NETX_RUNNER",
    "NetxLavaResult",
    "NetxSynapse",
    "netx_synapse",
    "read_netx",
    "run_netx_in_lava",
    "write_netx",
]

#: :func:`~spikesim.hardware.quantize.quantize` options for netx: it stores ``w << weight_exp``
#: as 8-bit integers and fixes ``bias_exp = 6``; weights within 7 bits keep mixed-sign
#: (``dense_rec``) layers exact.
NETX_QUANTIZE: dict[str, int] = {"weight_exp": 0, "bias_exp": 6, "weight_max": 120}

#: The script executed inside the Lava environment.
NETX_RUNNER = Path(__file__).resolve().parent / "netx_runner.py"


@dataclass(frozen=True)
class NetxSynapse:
    """What Lava runs for a netx weight matrix: ``weights`` after Lava's clip and truncation
    (``None`` when Lava's truncation would shift by a negative count), the ``weight_exp``
    applied to the summed activation, netx's ``num_weight_bits`` and Lava's sign mode."""

    weights: np.ndarray | None
    weight_exp: int
    num_weight_bits: int
    sign_mode: SignMode


def _netx_scale(weights: np.ndarray, where: str) -> tuple[int, int]:
    """``(s, num_weight_bits)`` of lava-dl 0.6's ``optimize_weight_bits`` for ``weights``."""
    w = np.asarray(weights, dtype=np.int64)
    w_max, w_min = int(w.max(initial=0)), int(w.min(initial=0))
    if w_max == 0 and w_min == 0:
        raise ParameterError(
            where,
            "weights",
            "at least one non-zero weight (lava-dl's netx scales by the largest weight)",
            "all zero",
        )
    if w_max < 0:  # netx: inhibitory only when every weight is negative
        scale, signed = -256 / w_min, 0
    elif w_min >= 0:
        scale, signed = 255 / w_max, 0
    else:
        pos = 127 / w_max if w_max > 0 else math.inf
        scale, signed = min(pos, -128 / w_min), 1
    s = int(np.floor(np.log2(scale))) + signed
    n = 8  # the largest power of two (<= 2**8) dividing every weight
    while n > 0 and np.any(w % (1 << n)):
        n -= 1
    return s, 8 - s - (n - signed)


def _lava_sign(w: np.ndarray) -> SignMode:
    if w.min(initial=0) >= 0:
        return SignMode.EXCITATORY
    if w.max(initial=0) <= 0:
        return SignMode.INHIBITORY
    return SignMode.MIXED


def _lava_quantize(w: np.ndarray, num_weight_bits: int) -> tuple[np.ndarray | None, SignMode]:
    """Lava 0.10 Dense/DelayDense: sign mode from the weights, clip to 8 bits, truncate."""
    mode = _lava_sign(w)
    mixed = int(mode is SignMode.MIXED)
    k = 8 - num_weight_bits + mixed
    if k < 0:
        return None, mode
    x = -w if mode is SignMode.INHIBITORY else w
    x = (np.clip(x, -256 * mixed, 255) >> k) << k
    return (-x if mode is SignMode.INHIBITORY else x), mode


def _weight_matrix(where: str, field: str, value: Any, rows: int | None) -> np.ndarray:
    """A 2-D matrix of whole numbers (``rows`` rows when given) as int64."""
    a = np.asarray(value)
    if a.ndim != 2 or (rows is not None and a.shape[0] != rows):
        raise ParameterError(
            where, field, "a 2-D integer matrix" + ("" if rows is None else f" with {rows} rows"),
            f"an array of shape {a.shape}",
        )  # fmt: skip
    return _int_array(where, field, a, a.shape, -(2**62), 2**62)


def netx_synapse(
    weights: Any, *, shared_with: Any = None, where: str = "netx layer"
) -> NetxSynapse:
    """The Lava synapse netx builds from an effective weight matrix (see the module doc).

    ``shared_with``: the other matrix of a ``dense_rec`` layer (netx scales both together).
    """
    w = _weight_matrix(where, "weights", weights, None)
    both = w
    if shared_with is not None:
        both = np.hstack([w, _weight_matrix(where, "shared_with", shared_with, w.shape[0])])
    if both.size and (both.max() > 255 or both.min() < -256):
        raise ParameterError(
            where, "weights", "within -256..255 (netx's 8-bit weights)",
            (int(both.min()), int(both.max())),
        )  # fmt: skip
    if both.max(initial=0) > 254 and both.min(initial=0) < 0:  # netx clips mixed matrices
        w, both = np.clip(w, -256, 254), np.clip(both, -256, 254)
    s, nwb = _netx_scale(both, where)
    lava_w, mode = _lava_quantize(w << s if s >= 0 else w >> -s, nwb)
    return NetxSynapse(lava_w, -s, nwb, mode)


def _effective(conn: Any) -> np.ndarray:
    """The integer weights whose unshifted sum spikesim adds: ``quantized << weight_exp``."""
    where = f"connection {conn.name!r}"
    wq = conn.quantized_weights()
    e = conn.weight_exp
    eff = wq << e if e >= 0 else wq >> -e
    if e < 0 and np.any((eff << -e) != wq):
        raise ParameterError(
            where,
            "weight_exp",
            "a value that leaves whole integer weights (netx stores w << weight_exp)",
            e,
            hint="quantize(net, **netx.NETX_QUANTIZE) makes netx-ready networks",
        )
    if eff.size and (eff.max() > 255 or eff.min() < -256):
        raise ParameterError(
            where, "weights << weight_exp", "within -256..255 (netx's 8-bit weights)",
            (int(eff.min()), int(eff.max())),
            hint="quantize(net, **netx.NETX_QUANTIZE) makes netx-ready networks",
        )  # fmt: skip
    return eff


def _check_exact(conn: Any, eff: np.ndarray, other: np.ndarray | None) -> None:
    where = f"connection {conn.name!r}"
    syn = netx_synapse(eff, shared_with=other, where=where)
    s = -syn.weight_exp  # >= 0 for weights within -256..254
    if syn.weights is None:
        raise ParameterError(
            where,
            "weights",
            "weights lava-dl's netx maps onto Lava without loss",
            f"min {int(eff.min())}, max {int(eff.max())}",
            hint=f"netx gives them {syn.num_weight_bits} weight bits, and Lava's "
            f"{syn.sign_mode.value} synapse would truncate by a negative bit count",
        )
    bad = np.argwhere(syn.weights != eff << s)
    if bad.size:
        r, c = (int(x) for x in bad[0])
        raise ParameterError(
            where,
            "weights",
            "weights lava-dl's netx maps onto Lava without loss",
            f"weight {int(eff[r, c])} at [{r}, {c}]",
            hint=f"netx scales the matrix by 2**{s} ({syn.num_weight_bits} weight bits) and "
            f"Lava's {syn.sign_mode.value} synapse turns it into {int(syn.weights[r, c])}/2**{s}",
        )


def _chain(net: LoihiNetwork) -> list[tuple[Any, Any | None]]:
    """``[(forward connection, recurrent connection or None), ...]`` along the input's chain."""
    if len(net.inputs) != 1:
        raise ParameterError(
            "netx export",
            "inputs",
            "exactly one SpikeInput (netx describes a sequential stack)",
            [i.name for i in net.inputs],
        )
    order: list[tuple[Any, Any | None]] = []
    current = net.inputs[0].name
    used: set[str] = set()
    while True:
        outgoing = [c for c in net.connections if c.source == current and c.target != current]
        if not outgoing:
            break
        if len(outgoing) > 1:
            raise ParameterError(
                f"population {current!r}",
                "outgoing connections",
                "one to the next layer (netx describes a sequential stack)",
                [c.name for c in outgoing],
            )
        conn = outgoing[0]
        if conn.target in used:
            raise ParameterError(
                f"connection {conn.name!r}",
                "target",
                "a new layer (netx recurrence is a layer onto itself only)",
                conn.target,
            )
        rec = [c for c in net.connections if c.source == c.target == conn.target]
        into = [c for c in net.connections if c.target == conn.target and c is not conn]
        if len(rec) > 1 or len(into) > len(rec):
            raise ParameterError(
                f"population {conn.target!r}",
                "incoming connections",
                "one from the previous layer and at most one from itself (netx dense_rec)",
                [c.name for c in (conn, *into)],
            )
        order.append((conn, rec[0] if rec else None))
        used.add(conn.target)
        current = conn.target
    placed = {id(c) for pair in order for c in pair if c is not None}
    for c in net.connections:
        if id(c) not in placed:
            raise ParameterError(
                f"connection {c.name!r}", "placement", "part of the input's chain", c.source
            )
    for p in net.populations:
        if p.name not in used:
            raise ParameterError(f"population {p.name!r}", "placement", "in the chain", p.name)
    return order


def write_netx(net: LoihiNetwork, path: str | os.PathLike[str]) -> None:
    """Write ``net`` (a chain, see the module doc) as a netx HDF5 file; nothing is written
    when a layer cannot be represented exactly (or ``path``'s folder does not exist)."""
    import h5py

    if not isinstance(net, LoihiNetwork):
        raise ParameterError("write_netx", "net", "a LoihiNetwork", type(net).__name__)
    path = writable_path("write_netx", path)
    layers = []
    for conn, rec in _chain(net):
        if isinstance(rec, DelayDense):
            raise ParameterError(
                f"connection {rec.name!r}",
                "kind",
                "Dense or Sparse (lava-dl 0.6 mishandles delays in dense_rec layers)",
                "DelayDense",
            )
        if rec is not None and isinstance(conn, DelayDense):
            raise ParameterError(
                f"connection {conn.name!r}",
                "kind",
                "Dense or Sparse in a layer with recurrence (lava-dl 0.6 gives a dense_rec "
                "layer's delays to its recurrent synapse too and drops its weight exponent)",
                "DelayDense",
            )
        eff = _effective(conn)
        eff_rec = _effective(rec) if rec is not None else None
        _check_exact(conn, eff, eff_rec)
        if rec is not None:
            _check_exact(rec, eff_rec, eff)  # type: ignore[arg-type]
        pop = net.population(conn.target)
        bias = pop.bias()
        if np.any(bias % 64):
            raise ParameterError(
                f"population {pop.name!r}",
                "bias",
                "multiples of 64 (netx fixes bias_exp = 6)",
                int(bias[np.flatnonzero(bias % 64)[0]]),
                hint="quantize(net, **netx.NETX_QUANTIZE) makes netx-ready networks",
            )
        if np.any(np.abs(bias // 64) > 4095):
            raise ParameterError(
                f"population {pop.name!r}", "bias", "|bias| <= 4095 << 6", int(np.abs(bias).max())
            )
        delays = conn.delays if isinstance(conn, DelayDense) else None
        layers.append((pop, eff, eff_rec, delays, bias // 64))
    with h5py.File(os.fspath(path), "w", libver=LIBVER) as f:
        f.attrs["exporter"] = "spikesim"
        sim = f.create_group("simulation")
        sim.create_dataset("Ts", data=1)
        sim.create_dataset("tSample", data=1)
        for i, (pop, w, w_rec, delays, b) in enumerate(layers):
            g = f.create_group(f"layer/{i}")
            kind = b"dense" if w_rec is None else b"dense_rec"
            g.create_dataset("type", data=np.array([kind]))
            g.create_dataset("shape", data=np.array([pop.n], dtype=np.int64))
            g.create_dataset("weight", data=w.astype(np.int64))
            if w_rec is not None:
                g.create_dataset("weight_rec", data=w_rec.astype(np.int64))
            if delays is not None:
                g.create_dataset("delay", data=np.asarray(delays, dtype=np.int64))
            if np.any(b):
                g.create_dataset("bias", data=b.astype(np.int64))
            g.attrs["name"] = pop.name
            n = g.create_group("neuron")
            n.create_dataset("type", data=np.array([b"CUBA"]))
            n.create_dataset("iDecay", data=pop.du + 1)
            n.create_dataset("vDecay", data=pop.dv)
            n.create_dataset("vThMant", data=pop.vth)
            n.create_dataset("refDelay", data=1)
            n.create_dataset("gradedSpike", data=False)
        add_digest(f)


def _dataset(g: Any, p: str, key: str) -> np.ndarray:
    """``g[key][()]`` as an array; a missing or unreadable dataset is a ConfigError."""
    full = f"{g.name.strip('/')}/{key}"
    if key not in g:
        raise ConfigError(p, full, "missing (netx layers need type, shape, weight and neuron/)")
    obj = g[key]
    if not hasattr(obj, "dtype"):
        raise ConfigError(p, full, f"expected a dataset, found {type(obj).__name__}")
    return np.asarray(obj[()])


def _str(g: Any, p: str, key: str) -> str:
    v = _dataset(g, p, key)
    v = v.reshape(-1)[0] if v.ndim and v.size == 1 else v
    if isinstance(v, np.ndarray) or not isinstance(v, (bytes, str, np.bytes_, np.str_)):
        raise ConfigError(p, f"{g.name.strip('/')}/{key}", f"expected a string, found {v!r}")
    return v.decode("ascii", "replace") if isinstance(v, bytes) else str(v)


def _scalar_int(g: Any, p: str, key: str) -> int:
    v = _dataset(g, p, key)
    try:
        return int(_int_array(f"{p}: {g.name.strip('/')}", key, v.reshape(-1), (1,), *_INT64)[0])
    except SpikesimError as err:
        raise ConfigError(p, f"{g.name.strip('/')}/{key}", f"expected one integer: {err}") from None


_INT64 = (-(2**63), 2**63 - 1)


def _connection(
    p: str, key: str, name: str, source: str, target: str, w: np.ndarray, other: Any, delays: Any
) -> list[Any]:
    """spikesim connection(s) that compute what Lava runs for netx weights ``w``."""
    try:
        syn = netx_synapse(w, shared_with=other, where=f"{p}: {key}")
    except ParameterError as err:
        raise ConfigError(p, key, str(err)) from None
    extra = {} if delays is None else {"delays": delays}
    cls = Dense if delays is None else DelayDense
    if syn.weights is not None and 1 <= syn.num_weight_bits <= 8:
        return [
            cls(name, source, target, syn.sign_mode, syn.num_weight_bits, syn.weight_exp,
                weights=syn.weights, **extra)
        ]  # fmt: skip
    if syn.weights is not None and syn.weight_exp == 0 and syn.sign_mode is SignMode.MIXED:
        # 9 weight bits (odd mixed weights, no shift): the positive and negative parts add
        pos, neg = np.clip(syn.weights, 0, None), np.clip(syn.weights, None, 0)
        if neg.min(initial=0) >= -255:
            return [
                cls(f"{name}_pos", source, target, "excitatory", weights=pos, **extra),
                cls(f"{name}_neg", source, target, "inhibitory", weights=neg, **extra),
            ]
    raise ConfigError(
        p,
        key,
        f"weights netx maps to {syn.num_weight_bits} weight bits with Lava sign mode "
        f"{syn.sign_mode.value}, which spikesim's Loihi synapses cannot reproduce",
    )


def read_netx(path: str | os.PathLike[str], *, input_name: str = "inp") -> LoihiNetwork:
    """A LoihiNetwork from a netx HDF5 file of ``dense``/``dense_rec`` CUBA layers, read with
    netx's rules (``du = iDecay - 1``, ``bias_exp = 6``, :func:`netx_synapse` for weights).

    Every dataset is checked before anything is built (layers ``0..L-1``, whole-integer
    weights of shape ``(n, n_prev)``, delays in :data:`DELAY_RANGE`, neuron counts up to
    :data:`MAX_NETX_NEURONS` per layer, register ranges), and files written by
    :func:`write_netx` are checked against their content digest
    (:mod:`~spikesim.hardware.hdf5_files`). Anything wrong raises
    :class:`~spikesim.errors.ConfigError` naming the file and the dataset (or the
    :class:`~spikesim.errors.ParameterError` of the Loihi class that refuses a value, with
    the file's path in front)."""
    p = file_path("read_netx", path)
    with open_checked(p, what="netx network file") as f:
        try:
            return _read_netx(f, p, input_name)
        except ConfigError:
            raise
        except SpikesimError as err:  # a register or name the Loihi classes refuse
            raise naming_file(err, p) from None
        except H5_ERRORS as err:
            raise ConfigError(
                p, "-", f"not a readable netx file: {type(err).__name__}: {err}"
            ) from None


#: Largest neuron count of one netx layer read (Loihi 2 has 120 cores of at most 8192
#: neurons; a larger count is a damaged file).
MAX_NETX_NEURONS = 120 * 8192


def _read_netx(f: Any, p: str, input_name: str) -> LoihiNetwork:
    if "layer" not in f:
        raise ConfigError(p, "layer", "missing: not a netx network file")
    keys = sorted(f["layer"].keys(), key=lambda k: (len(k), k))
    if keys != [str(i) for i in range(len(keys))]:
        raise ConfigError(p, "layer", f"expected layers named 0..{len(keys) - 1}, found {keys}")
    pops, conns = [], []
    prev, n_prev = input_name, None
    for i in range(len(keys)):
        g = f[f"layer/{i}"]
        kind = _str(g, p, "type")
        if kind not in ("dense", "dense_rec"):
            raise ConfigError(
                p, f"layer/{i}/type", f"only dense and dense_rec layers are read, got {kind!r}"
            )
        nt = _str(g, p, "neuron/type")
        if nt not in ("CUBA", "LOIHI"):
            raise ConfigError(p, f"layer/{i}/neuron/type", f"CUBA expected, got {nt!r}")
        shape = _dataset(g, p, "shape")
        if shape.ndim > 1 or not 1 <= shape.size <= 3:
            raise ConfigError(
                p, f"layer/{i}/shape", f"1 to 3 neuron counts, got an array of shape {shape.shape}"
            )
        where = f"{p}: layer/{i}"
        shape = _int_array(where, "shape", shape.reshape(-1), (shape.size,), 1, MAX_NETX_NEURONS)
        if np.prod(shape, dtype=np.float64) > MAX_NETX_NEURONS:
            raise ConfigError(
                p, f"layer/{i}/shape", f"at most {MAX_NETX_NEURONS} neurons, got {shape.tolist()}"
            )
        n = int(np.prod(shape))
        w = _dataset(g, p, "weight")
        if w.ndim == 1 and w.size % n == 0:  # netx also accepts a flat (out * in) weight
            w = w.reshape(n, -1)
        expected = (n, n_prev if n_prev is not None else (w.shape[1] if w.ndim == 2 else 0))
        w = _int_array(where, "weight", w, expected, -(2**31), 2**31 - 1)
        w_rec = None
        if kind == "dense_rec":
            w_rec = _int_array(where, "weight_rec", _dataset(g, p, "weight_rec"), (n, n),
                               -(2**31), 2**31 - 1)  # fmt: skip
        delays = None
        if "delay" in g:
            if w_rec is not None:
                raise ConfigError(
                    p, f"layer/{i}/delay", "no delays in dense_rec layers (lava-dl 0.6)"
                )
            delays = _int_array(where, "delay", _dataset(g, p, "delay"), w.shape, *DELAY_RANGE)
        name = g.attrs.get("name", f"layer{i}")
        name = name.decode("ascii", "replace") if isinstance(name, bytes) else str(name)
        bias = (
            _int_array(where, "bias", _dataset(g, p, "bias").reshape(-1), (n,), *BIAS_MANT_RANGE)
            if "bias" in g
            else 0
        )
        pops.append(
            LifPopulation(
                name, n, du=_scalar_int(g, p, "neuron/iDecay") - 1,
                dv=_scalar_int(g, p, "neuron/vDecay"), vth=_scalar_int(g, p, "neuron/vThMant"),
                bias_mant=bias, bias_exp=6,
            )
        )  # fmt: skip
        conns += _connection(p, f"layer/{i}/weight", f"{prev}_{name}", prev, name, w, w_rec, delays)
        if w_rec is not None:
            conns += _connection(
                p, f"layer/{i}/weight_rec", f"{name}_{name}", name, name, w_rec, w, None
            )
        prev, n_prev = name, n
    if n_prev is None:
        raise ConfigError(p, "layer", "no layers")
    n_in = conns[0].shape[1]
    return LoihiNetwork(
        populations=tuple(pops), inputs=(SpikeInput(input_name, n_in),), connections=tuple(conns)
    )


# ------------------------------------------------------------------------------ Lava run


@dataclass(frozen=True, eq=False)
class NetxLavaResult:
    """Spikes (bool ``[n_steps, batch, n]``) and optional ``v`` (int32) per netx layer name,
    as lava-dl's ``hdf5.Network`` ran them in Lava's fixed_pt simulation."""

    spikes: dict[str, np.ndarray]
    v: dict[str, np.ndarray] | None
    lava_version: str
    lava_dl_version: str
    seconds_run: float


def run_netx_in_lava(
    files: Sequence[tuple[str | os.PathLike[str], Any]],
    *,
    record_v: bool = False,
    env: str | os.PathLike[str] | None = None,
    timeout_s: float = 1800.0,
) -> list[NetxLavaResult]:
    """Load each netx file with ``lava.lib.dl.netx.hdf5.Network`` and run it in Lava.

    ``files``: ``(netx file, input spikes [n_steps, batch, n_in] 0/1)`` pairs, all run in one
    subprocess of the managed Lava environment (``spikesim lava setup``). Raises
    :class:`~spikesim.hardware.lava_env.LavaEnvError` without that environment and
    :class:`~spikesim.errors.SimulationError` when Lava fails (its output is included).
    """
    from spikesim._validate import check_positive

    from . import lava_env

    check_positive("run_netx_in_lava", "timeout_s", timeout_s)
    if not isinstance(record_v, (bool, np.bool_)):
        raise ParameterError("run_netx_in_lava", "record_v", "True or False", record_v)
    checked: list[tuple[str, np.ndarray]] = []
    for k, item in enumerate(files):
        if not (isinstance(item, (tuple, list)) and len(item) == 2):
            raise ParameterError(
                "run_netx_in_lava", f"files[{k}]", "a (netx file, input spikes) pair", item
            )
        path, spikes = item
        if not isinstance(path, (str, os.PathLike)):
            raise ParameterError("run_netx_in_lava", f"files[{k}]", "a netx file path", path)
        if not Path(path).is_file():
            raise ConfigError(os.fspath(path), "-", "netx file not found")
        x = spike_array(f"inputs of {os.fspath(path)!r}", "spikes", spikes)
        if x.ndim != 3:
            raise ParameterError(
                f"inputs of {os.fspath(path)!r}", "spikes", "a 3-D array [n_steps, batch, n_in]",
                f"shape {x.shape}",
            )  # fmt: skip
        checked.append((str(Path(path).resolve()), x))
    if not checked:
        raise ParameterError("run_netx_in_lava", "files", "at least one (file, spikes) pair", [])
    python = lava_env.require_ready(env)
    jobs: list[str] = []
    with tempfile.TemporaryDirectory(prefix="spikesim-netx-") as tmp:
        for k, (path, x) in enumerate(checked):
            inp, out = Path(tmp) / f"in{k}.npz", Path(tmp) / f"out{k}.npz"
            np.savez(inp, spikes=x, record_v=np.array(int(record_v)))
            jobs += [path, str(inp), str(out)]
        lava_env.run_script(
            python, NETX_RUNNER, jobs, cwd=tmp, timeout_s=timeout_s, what="lava netx"
        )
        results = []
        for k in range(len(checked)):
            with np.load(Path(tmp) / f"out{k}.npz", allow_pickle=False) as d:
                names = [str(x) for x in d["layer_names"]]
                spikes_out = {n: d[f"spikes{i}"].astype(bool) for i, n in enumerate(names)}
                v = (
                    {n: d[f"v{i}"].astype(np.int32) for i, n in enumerate(names)}
                    if record_v
                    else None
                )
                results.append(
                    NetxLavaResult(
                        spikes_out,
                        v,
                        str(d["lava_version"]),
                        str(d["lava_dl_version"]),
                        float(d["seconds_run"]),
                    )
                )
    return results
