"""lava-dl ``netx`` HDF5 export (and import) of a feed-forward Loihi network.

netx (``lava.lib.dl.netx.hdf5.Network``) builds a sequential stack of blocks from
``layer/<i>/`` groups. For a Dense block it reads ``type`` (``"dense"``), ``shape`` (the
neuron count), ``weight`` ``(out, in)`` (the *effective* signed 8-bit integer weight: netx
re-derives sign mode, weight bits and exponent from it with ``optimize_weight_bits``), the
optional ``bias`` (bias mantissa; netx fixes ``bias_exp = 6``) and ``neuron/`` with ``type``
``"CUBA"``, ``iDecay`` (Lava ``du + 1``), ``vDecay`` (``dv``), ``vThMant`` (``vth``),
``refDelay`` and ``gradedSpike``. As in lava-dl's own exports of Dense stacks, there is no
input layer: the input spikes enter the first block's ``inp`` port.

So a network is exportable when it is a chain ``SpikeInput -> Dense/Sparse -> population ->
Dense/Sparse -> population ...`` whose weights are whole 8-bit integers after the weight
exponent (``w << weight_exp`` within -256..254) and whose biases are multiples of 64
(``bias_exp`` 6). Anything else raises :class:`~spikesim.errors.ParameterError` naming the
connection or population.
"""

from __future__ import annotations

import os

import numpy as np

from spikesim.errors import ConfigError, ParameterError

from .loihi.network import DelayDense, Dense, LifPopulation, LoihiNetwork, SignMode, SpikeInput

__all__ = ["read_netx", "write_netx"]


def _chain(net: LoihiNetwork) -> list:
    if len(net.inputs) != 1:
        raise ParameterError(
            "netx export",
            "inputs",
            "exactly one SpikeInput (netx describes a sequential stack)",
            [i.name for i in net.inputs],
        )
    order, current = [], net.inputs[0].name
    used = set()
    while True:
        outgoing = [c for c in net.connections if c.source == current]
        if not outgoing:
            break
        if len(outgoing) > 1:
            raise ParameterError(
                f"population {current!r}",
                "outgoing connections",
                "one (netx describes a sequential stack)",
                [c.name for c in outgoing],
            )
        conn = outgoing[0]
        if conn.target in used or conn.target == current:
            raise ParameterError(
                f"connection {conn.name!r}",
                "target",
                "a new layer (no recurrence in netx)",
                conn.target,
            )
        order.append(conn)
        used.add(conn.target)
        current = conn.target
    for c in net.connections:
        if c not in order:
            raise ParameterError(
                f"connection {c.name!r}", "placement", "part of the input's chain", c.source
            )
    for p in net.populations:
        if p.name not in used:
            raise ParameterError(f"population {p.name!r}", "placement", "in the chain", p.name)
    return order


def write_netx(net: LoihiNetwork, path: str | os.PathLike[str]) -> None:
    """Write ``net`` (a feed-forward chain, see the module doc) as a netx HDF5 file."""
    import h5py

    layers = []
    for conn in _chain(net):
        where = f"connection {conn.name!r}"
        if isinstance(conn, DelayDense):
            raise ParameterError(
                where, "kind", "Dense or Sparse (netx holds no per-synapse delays)", "DelayDense"
            )
        wq = conn.quantized_weights()
        e = conn.weight_exp
        eff = wq << e if e >= 0 else wq >> -e
        if e < 0 and np.any((eff << -e) != wq):
            raise ParameterError(
                where,
                "weight_exp",
                "a value that leaves whole integer weights (netx stores w << weight_exp)",
                e,
            )
        if eff.size and (eff.max() > 254 or eff.min() < -256):
            raise ParameterError(
                where, "weights << weight_exp", "within -256..254 (netx's 8-bit weights)",
                (int(eff.min()), int(eff.max())),
            )  # fmt: skip
        pop = net.population(conn.target)
        bias = pop.bias()
        if np.any(bias % 64):
            raise ParameterError(
                f"population {pop.name!r}",
                "bias",
                "multiples of 64 (netx fixes bias_exp = 6)",
                int(bias[np.flatnonzero(bias % 64)[0]]),
            )
        if np.any(np.abs(bias // 64) > 4095):
            raise ParameterError(
                f"population {pop.name!r}", "bias", "|bias| <= 4095 << 6", int(np.abs(bias).max())
            )
        layers.append((pop, eff, bias // 64))
    with h5py.File(os.fspath(path), "w") as f:
        f.attrs["exporter"] = "spikesim"
        sim = f.create_group("simulation")
        sim.create_dataset("Ts", data=1)
        sim.create_dataset("tSample", data=1)
        for i, (pop, w, b) in enumerate(layers):
            g = f.create_group(f"layer/{i}")
            g.create_dataset("type", data=np.array([b"dense"]))
            g.create_dataset("shape", data=np.array([pop.n], dtype=np.int64))
            g.create_dataset("weight", data=w.astype(np.int64))
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


def read_netx(path: str | os.PathLike[str], *, input_name: str = "inp") -> LoihiNetwork:
    """A LoihiNetwork from a netx HDF5 file of Dense CUBA layers, with netx's reading rules
    (``du = iDecay - 1``, ``bias_exp = 6``, the weights' sign mode from their signs)."""
    import h5py

    p = os.fspath(path)
    pops, conns = [], []
    with h5py.File(p, "r") as f:
        if "layer" not in f:
            raise ConfigError(p, "layer", "missing: not a netx network file")
        prev, n_prev = input_name, None
        for i in range(len(f["layer"])):
            g = f[f"layer/{i}"]
            kind = g["type"][()]
            kind = (kind[0] if np.ndim(kind) else kind).decode("ascii")
            if kind != "dense":
                raise ConfigError(p, f"layer/{i}/type", f"only dense layers are read, got {kind!r}")
            nt = g["neuron/type"][()]
            nt = (nt[0] if np.ndim(nt) else nt).decode("ascii")
            if nt not in ("CUBA", "LOIHI"):
                raise ConfigError(p, f"layer/{i}/neuron/type", f"CUBA expected, got {nt!r}")
            w = g["weight"][()].astype(np.int64)
            if n_prev is None:
                n_prev = w.shape[1]
            name = str(g.attrs.get("name", f"layer{i}"))
            bias = g["bias"][()].astype(np.int64) if "bias" in g else 0
            pops.append(
                LifPopulation(
                    name, int(np.prod(g["shape"][()])), du=int(g["neuron/iDecay"][()]) - 1,
                    dv=int(g["neuron/vDecay"][()]), vth=int(g["neuron/vThMant"][()]),
                    bias_mant=bias, bias_exp=6,
                )
            )  # fmt: skip
            mode = (
                SignMode.MIXED
                if (w > 0).any() and (w < 0).any()
                else SignMode.INHIBITORY
                if (w < 0).any()
                else SignMode.EXCITATORY
            )
            conns.append(Dense(f"{prev}_{name}", prev, name, mode, weights=w))
            prev = name
    if n_prev is None:
        raise ConfigError(p, "layer", "no layers")
    return LoihiNetwork(
        populations=tuple(pops), inputs=(SpikeInput(input_name, n_prev),), connections=tuple(conns)
    )
