"""Quantise a float spikesim network into Loihi-2 integers, with the error it costs.

A spikesim :class:`~spikesim.network.Network` of :class:`~spikesim.neurons.CubaLIF` or
current-based :class:`~spikesim.neurons.LIF` populations (time constants in seconds, float
weights, ``dt_s``; a LIF is mapped exactly onto the CUBA form, see :func:`_as_cuba`) becomes a
:class:`~spikesim.hardware.loihi.LoihiNetwork`. The mapping (Lava's CUBA LIF, FIELD-NOTES §3):

* decays: ``du = 4095 - round(4096 exp(-dt/tau_syn))`` (Lava's ``u`` decays by
  ``(4095 - du) / 4096``, the "+1 offset"), ``dv = 4096 - round(4096 exp(-dt/tau_mem))``;
* a per-population scale ``s`` (integer state units per float unit) fixed by the integer
  threshold: ``s = 64 vth / v_th``, so the threshold itself is exact;
* weights: per projection, ``w_int 2**(6 + weight_exp) = s w`` with 8-bit ``w_int`` in the
  sign mode's range (inhibitory receptors negate the weights; a projection of both signs is
  ``mixed`` and keeps even weights only, as Lava does) and the smallest ``weight_exp`` that
  fits, so the largest weight uses the full 8 bits;
* bias: ``bias_mant 2**bias_exp = s bias`` with a 13-bit mantissa and ``bias_exp`` in 0..7;
* currents: a constant current is part of the bias; a current switched on at ``start_s > 0``
  (and off at ``stop_s``) becomes an input of three channels per neuron whose spikes drive
  ``u`` by ``I``, ``I (1 - a_syn)`` per step and ``-a_syn I``, so ``u`` carries exactly the
  current the float model adds to ``v`` (:func:`input_trains` makes the spike trains);
* delays: spikesim's ``delay_steps`` d (arrival d + 1 steps after the spike) is Lava's
  ``Dense`` (d = 0) or ``DelayDense`` delay d (arrival d + 1), 0..62.

When ``vth`` is not given it is chosen per population as large as possible (at most
``2**12``) such that (a) ``u`` can never wrap at 24 bits, even if every incoming synapse were
active every step (a hard bound; the report also gives the headroom before ``v`` would
saturate at its negative limit under sustained inhibition), (b) the weights fit 8 bits with
``weight_exp <= 7`` and (c) the bias fits ``4095 << 7``.

Anything Loihi cannot run raises :class:`~spikesim.errors.ParameterError` naming the
population or projection and the limit: other neuron models (AdLIF, Izhikevich, rate
units), conductance synapses, a refractory period, separate excitatory/inhibitory synaptic time
constants, a reset other than the rest potential, a non-rest initial state, delays above 62,
weights or biases outside the registers, a synaptic time constant above ``8191.5 dt_s`` (u
always decays by at least 1/4096 per step), a projection whose every weight rounds to 0 at
8 bits. A network whose dense ``(n_post, n_pre)`` matrices cannot fit the host's memory is
refused before anything is drawn (:func:`check_size`).
Nothing is approximated silently: :class:`QuantizationReport` lists the error of every
parameter, and :func:`loihi_to_float` maps integers back to float parameters for display.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from spikesim._memory import check_memory, host_memory_bytes
from spikesim._validate import _is_number, check_int, check_positive
from spikesim.connectivity import Dense as FloatDense
from spikesim.connectivity import materialize
from spikesim.dynamics.spiking import syn_coefficient
from spikesim.errors import ParameterError, ShapeError
from spikesim.network import Network, PoissonSource, SpikeTensorSource, SpikeTimesSource
from spikesim.neurons import LIF, AdLIF, CubaLIF
from spikesim.values import draw

from .loihi.network import (
    DECAY_RANGE,
    DELAY_RANGE,
    VTH_RANGE,
    WEIGHT_EXP_RANGE,
    DelayDense,
    Dense,
    LifPopulation,
    LoihiNetwork,
    SignMode,
    Sparse,
    SpikeInput,
    _int,
    require_memory,
    spike_array,
)

__all__ = [
    "ConnectionQuantization",
    "PopulationQuantization",
    "QuantizationReport",
    "QuantizedNetwork",
    "decay_from_tau",
    "input_trains",
    "loihi_to_float",
    "quantize",
    "tau_from_decay",
]

_U_LIMIT = 2**23 - 1
_BIAS_MANT_MAX = 4095
_BIAS_EXP_MAX = 7
_DEFAULT_VTH_MAX = 2**12
#: below this density a projection becomes a Sparse connection
_SPARSE_DENSITY = 0.25


# ------------------------------------------------------------------------------ decays


def decay_from_tau(tau_s: float, dt_s: float, *, which: str) -> int:
    """Loihi's 12-bit decay for a time constant: ``which`` is ``"u"`` (du, with Lava's +1
    offset: factor ``(4095 - du) / 4096``) or ``"v"`` (dv: factor ``(4096 - dv) / 4096``).
    ``tau_s`` > 0 (``inf``: no decay), ``dt_s`` > 0."""
    check_positive("decay_from_tau", "dt_s", dt_s)
    if not (_is_number(tau_s) and float(tau_s) > 0):  # NaN fails too
        raise ParameterError("decay_from_tau", "tau_s", "> 0 seconds (inf: no decay)", tau_s)
    keep = math.exp(-dt_s / tau_s) * 4096.0
    if which == "u":
        return int(min(4095, max(0, 4095 - round(keep))))
    if which == "v":
        return int(min(4095, max(0, 4096 - round(keep))))
    raise ParameterError("decay_from_tau", "which", "'u' or 'v'", which)


def _check_u_decay(where: str, tau_syn_s: float, dt_s: float) -> None:
    """Refuse a synaptic time constant Loihi cannot come near: with Lava's +1 offset, u
    decays by at least 1/4096 per step (du = 0), so a tau_syn_s for which ``du`` would round
    below 0 (longer than ``-dt / ln(4095.5 / 4096)``, about 8191.5 dt) would be clamped."""
    longest = -dt_s / math.log(4095.5 / 4096)
    if 4095 - round(math.exp(-dt_s / tau_syn_s) * 4096.0) < 0:
        raise ParameterError(
            where,
            "tau_syn_s",
            f"at most {longest:.6g} s (8191.5 dt_s: Loihi's u decays by at least 1/4096 "
            "per step, du >= 0)",
            tau_syn_s,
            hint="a synaptic current without decay does not exist on Loihi 2",
        )


def _keep(decay: int, which: str) -> float:
    return (4095 - decay) / 4096 if which == "u" else (4096 - decay) / 4096


def tau_from_decay(decay: int, dt_s: float, *, which: str) -> float:
    """The time constant (s) a 12-bit decay realises: ``-dt / ln(factor)``; 0.0 when the state
    is cleared every step and ``inf`` when it does not decay."""
    decay = _int("tau_from_decay", "decay", decay, *DECAY_RANGE)
    check_positive("tau_from_decay", "dt_s", dt_s)
    if which not in ("u", "v"):
        raise ParameterError("tau_from_decay", "which", "'u' or 'v'", which)
    k = _keep(decay, which)
    if k <= 0:
        return 0.0
    if k >= 1:
        return math.inf
    return -dt_s / math.log(k)


# ------------------------------------------------------------------------------ reports


@dataclass(frozen=True)
class PopulationQuantization:
    """How one population was quantised (float values and what the integers realise)."""

    name: str
    n: int
    scale: float
    vth: int
    du: int
    dv: int
    tau_syn_s: float
    tau_syn_s_loihi: float
    tau_mem_s: float
    tau_mem_s_loihi: float
    v_th: float
    bias_max_abs_error: float
    u_headroom: float
    model: str = "cuba_lif"
    v_clip_headroom: float = math.inf

    """``u_headroom``: 2**23 over the largest |u| (and v above threshold) the inputs can
    produce if every synapse fired every step; >= 1 means u can never wrap (the automatic vth
    guarantees it). ``v_clip_headroom``: the same for the most negative v under sustained
    inhibition; below 1, v would saturate at -(2**23 - 1) (Lava clips, as the fixed-point
    mode does) only in that extreme."""

    @property
    def tau_syn_rel_error(self) -> float:
        return _rel(self.tau_syn_s_loihi, self.tau_syn_s)

    @property
    def tau_mem_rel_error(self) -> float:
        return _rel(self.tau_mem_s_loihi, self.tau_mem_s)


@dataclass(frozen=True)
class ConnectionQuantization:
    """How one projection was quantised: Loihi connection, weight error in float units."""

    name: str
    kind: str
    sign_mode: str
    weight_exp: int
    num_weight_bits: int
    synapses: int
    max_abs_weight: float
    max_abs_error: float
    rms_error: float
    lost_synapses: int
    max_delay: int

    @property
    def rel_error(self) -> float:
        return self.max_abs_error / self.max_abs_weight if self.max_abs_weight else 0.0


@dataclass(frozen=True)
class QuantizationReport:
    """Quantisation error per population and projection."""

    dt_s: float
    populations: tuple[PopulationQuantization, ...]
    connections: tuple[ConnectionQuantization, ...]

    def format(self) -> str:
        lines = [
            f"{'population':<16}{'n':>6}{'vth':>7}{'du':>6}{'dv':>6}{'tau_syn ms':>12}"
            f"{'(loihi)':>10}{'tau_mem ms':>12}{'(loihi)':>10}{'bias err':>10}{'headroom':>10}"
        ]
        for p in self.populations:
            lines.append(
                f"{p.name:<16}{p.n:>6}{p.vth:>7}{p.du:>6}{p.dv:>6}{p.tau_syn_s * 1e3:>12.4g}"
                f"{p.tau_syn_s_loihi * 1e3:>10.4g}{p.tau_mem_s * 1e3:>12.4g}"
                f"{p.tau_mem_s_loihi * 1e3:>10.4g}{p.bias_max_abs_error:>10.2g}{p.u_headroom:>10.3g}"
            )
        lines.append(
            f"{'projection':<16}{'kind':>12}{'sign':>12}{'w_exp':>6}{'syn':>8}{'max |w|':>10}"
            f"{'max err':>10}{'rel err':>9}{'lost':>6}{'delay':>6}"
        )
        for c in self.connections:
            lines.append(
                f"{c.name:<16}{c.kind:>12}{c.sign_mode:>12}{c.weight_exp:>6}{c.synapses:>8}"
                f"{c.max_abs_weight:>10.4g}{c.max_abs_error:>10.2g}{c.rel_error:>9.2%}"
                f"{c.lost_synapses:>6}{c.max_delay:>6}"
            )
        return "\n".join(lines)


@dataclass(frozen=True, eq=False)
class QuantizedNetwork:
    """The Loihi network, its report, and the per-population scales (state units per float
    unit) needed to map states back."""

    loihi: LoihiNetwork
    report: QuantizationReport
    scales: dict[str, float]
    dt_s: float


def _rel(a: float, b: float) -> float:
    if b == 0 or math.isinf(b):
        return 0.0 if a == b else math.inf
    return abs(a - b) / abs(b)


# ------------------------------------------------------------------------------ helpers


@dataclass
class _Proj:
    name: str
    pre: str
    post: str
    w: np.ndarray  # dense (n_post, n_pre) signed float weights
    delays: np.ndarray  # (n_post, n_pre) int
    mask: np.ndarray  # (n_post, n_pre) bool: synapse exists
    sparse: bool


def _check_model(where: str, m: Any) -> CubaLIF:
    if isinstance(m, CubaLIF):
        return m
    if isinstance(m, LIF) and m.synapse == "conductance":
        raise ParameterError(
            where,
            "synapse",
            "'current' (Loihi 2 has no conductance-based synapses)",
            m.synapse,
            hint="Use current synapses (LIF(synapse='current') or CubaLIF) for Loihi.",
        )
    raise ParameterError(
        where,
        "model",
        "CubaLIF or a current-based LIF (Loihi's LIF core runs a CUBA LIF)",
        getattr(m, "kind", type(m).__name__),
    )


def _as_cuba(where: str, m: Any, n: int, dt: float) -> tuple[CubaLIF, float, float]:
    """The CubaLIF a population runs as, the gain of its incoming weights and of its currents.

    A current-based :class:`~spikesim.neurons.LIF` is exactly a CUBA LIF: with
    ``y = v - v_rest``, spikesim's closed-form step is ``u <- a_syn u + c w``,
    ``y <- a_mem y + u + (1 - a_mem) i_bias`` with ``c`` = ``syn_coefficient`` (the effect on v
    of a unit synaptic current over one step), threshold ``v_th - v_rest`` and reset to 0 --
    when it has one synaptic time constant, no refractory period and ``v_reset = v_rest``.
    """
    if isinstance(m, LIF) and not isinstance(m, AdLIF) and m.synapse == "current":
        if m.tau_syn_exc_s != m.tau_syn_inh_s:
            raise ParameterError(
                where,
                "tau_syn_inh_s",
                f"equal to tau_syn_exc_s ({m.tau_syn_exc_s}) (a Loihi compartment has one "
                "synaptic current: du is shared)",
                m.tau_syn_inh_s,
            )
        if m.t_ref_s > 0:
            raise ParameterError(
                where, "t_ref_s", "0 (Lava's LIF has no refractory period)", m.t_ref_s
            )
        if m.v_reset_mV != m.v_rest_mV:
            raise ParameterError(
                where,
                "v_reset_mV",
                f"equal to v_rest_mV ({m.v_rest_mV}) (Loihi resets v to its rest value 0)",
                m.v_reset_mV,
            )
        if m.v_init_mV is not None and np.any(_as_array(m.v_init_mV, n) != m.v_rest_mV):
            raise ParameterError(
                where, "v_init_mV", f"v_rest_mV ({m.v_rest_mV}): Loihi starts at rest", "other"
            )
        a_m = math.exp(-dt / m.tau_mem_s)
        cuba = CubaLIF(
            tau_syn_s=m.tau_syn_exc_s,
            tau_mem_s=m.tau_mem_s,
            v_th=m.v_th_mV - m.v_rest_mV,
            bias=(1 - a_m) * _as_array(m.i_bias_mV, n),
        )
        return cuba, syn_coefficient(m.tau_syn_exc_s, m.tau_mem_s, dt), 1 - a_m
    return _check_model(where, m), 1.0, 1.0


def _project_dense(net: Network, name: str) -> _Proj:
    pr = net.projections[name]
    where = f"projection {name!r}"
    pre, post = net.populations[pr.pre], net.populations[pr.post]
    sign = -1.0 if pr.receptor == "inh" else 1.0
    gen = np.random.default_rng(0)  # only structured / already-frozen rules reach here
    if pr.delay_steps > DELAY_RANGE[1]:
        raise ParameterError(
            where,
            "delay_steps",
            f"at most {DELAY_RANGE[1]} steps (Loihi 2 DelayDense holds 6-bit delays)",
            pr.delay_steps,
        )
    if isinstance(pr.connectivity, FloatDense):
        # the engine's layout: a (n_post, n_pre) matrix (an array weight has that shape)
        w = sign * draw(
            pr.connectivity.weight, (post.size, pre.size), gen, where=where, field="weight"
        )
        mask = np.ones(w.shape, dtype=bool)
        delays = np.full(w.shape, pr.delay_steps, dtype=np.int64)
        return _Proj(name, pr.pre, pr.post, w, delays, mask, False)
    table = materialize(
        pr.connectivity,
        where=where,
        pre_shape=pre.dims,
        post_shape=post.dims,
        generator=gen,
        dt_s=net.dt_s,
        pre_layout=pre.layout,
        post_layout=post.layout,
    )
    d_all = table.delay_steps + pr.delay_steps
    if d_all.size and int(d_all.max()) > DELAY_RANGE[1]:
        raise ParameterError(
            where,
            "delay_steps",
            f"at most {DELAY_RANGE[1]} steps (Loihi 2 DelayDense holds 6-bit delays)",
            int(d_all.max()),
        )
    key = table.post * pre.size + table.pre
    order = np.argsort(key, kind="stable")
    ks, ds = key[order], d_all[order]
    clash = np.flatnonzero((ks[1:] == ks[:-1]) & (ds[1:] != ds[:-1]))
    if clash.size:
        i = clash[0]
        raise ParameterError(
            where,
            "delay_steps",
            "one delay per (pre, post) pair (a Loihi synapse has a single delay)",
            (int(ds[i]), int(ds[i + 1])),
            hint=f"pre {int(ks[i] % pre.size)} -> post {int(ks[i] // pre.size)} has two "
            "synapses with different delays",
        )
    w = np.zeros((post.size, pre.size))
    np.add.at(w, (table.post, table.pre), sign * table.weight)
    mask = np.zeros(w.shape, dtype=bool)
    mask[table.post, table.pre] = True
    delays = np.zeros(w.shape, dtype=np.int64)
    delays[table.post, table.pre] = d_all
    dense = mask.mean() >= _SPARSE_DENSITY
    return _Proj(name, pr.pre, pr.post, w, delays, mask, not dense)


def _needs_seed(net: Network) -> list[str]:
    from spikesim.values import LogNormal, Normal, Uniform

    dists = (Normal, Uniform, LogNormal)
    out = []
    for p in net.populations.values():
        m = p.model
        vals = [getattr(m, f) for f in getattr(m, "value_fields", ())]
        if isinstance(m, PoissonSource):
            vals = [m.rate_hz]
        if any(isinstance(v, dists) for v in vals):
            out.append(f"population {p.name!r}")
    for pr in net.projections.values():
        c = pr.connectivity
        random_rule = c.kind in ("sparse", "fixed_fan_in", "distance")
        if random_rule or isinstance(getattr(c, "weight", None), dists):
            out.append(f"projection {pr.name!r}")
    return out


def _seed(where: str, seed: Any) -> int | None:
    """``None`` or a seed as the engine takes it (an integer in [0, 2**62))."""
    if seed is None:
        return None
    value = check_int(where, "seed", seed, minimum=0)
    if value >= 1 << 62:
        raise ParameterError(where, "seed", "an integer in [0, 2**62)", seed)
    return value


#: bytes per (post, pre) pair that quantize and to_nir hold while mapping a projection: the
#: dense float weights, mask and delays, and the scaled, rounded and realised copies
_BYTES_PER_PAIR = 64


def check_size(net: Network, where: str) -> None:
    """Refuse, before drawing or allocating anything, a network whose arrays cannot fit the
    host's memory: the core's estimate (:func:`spikesim._memory.check_memory`: neurons and
    synapses), and the dense ``(n_post, n_pre)`` matrices every projection (and the input of
    every switched current, ``(n, 3 n)``) is held as here."""
    if not isinstance(net, Network):
        raise ParameterError(where, "net", "a spikesim Network", type(net).__name__)
    check_memory(net, batch=1, itemsize=8, host_bytes=host_memory_bytes())
    hint = "quantize and to_nir hold every projection as dense (n_post, n_pre) matrices"
    for name, pr in net.projections.items():
        n_pre, n_post = net.populations[pr.pre].size, net.populations[pr.post].size
        require_memory(
            f"projection {name!r}",
            "connectivity",
            float(_BYTES_PER_PAIR) * n_pre * n_post,
            f"{n_post} x {n_pre} pre-post pairs",
            hint=hint,
        )
    for name, c in net.currents.items():
        n = net.populations[c.target].size
        require_memory(
            f"current {name!r}",
            "target",
            3.0 * _BYTES_PER_PAIR * n * n,
            f"{n} x {3 * n} input channels",
            hint="a switched current becomes a (n, 3 n) input connection",
        )


def _freeze(net: Network, seed: int) -> Network:
    """Like ``Network.frozen``: every random value drawn with ``seed`` in the engine's order
    (population values, then projections); Dense rules stay (n_post, n_pre) matrices."""
    import dataclasses

    from spikesim.connectivity import Circulant, Conv2d, Explicit
    from spikesim.network import draw_population_values

    out = Network.from_dict(net.to_dict())
    gen = np.random.default_rng(seed)
    for name, pop in net.populations.items():
        vals = draw_population_values(pop, gen)
        if not vals:
            continue
        if isinstance(pop.model, PoissonSource):
            model: Any = PoissonSource(rate_hz=vals["rate_hz"])
        else:
            drawn: Any = pop.model  # a neuron model: its drawn fields become arrays
            model = dataclasses.replace(drawn, **vals)
        out.populations[name] = dataclasses.replace(pop, model=model)
    for name, pr in net.projections.items():
        conn = pr.connectivity
        pre, post = net.populations[pr.pre], net.populations[pr.post]
        where = f"projection {name!r}"
        if isinstance(conn, (Conv2d, Circulant)):
            continue
        if isinstance(conn, FloatDense):
            w = draw(conn.weight, (post.size, pre.size), gen, where=where, field="weight")
            new: Any = FloatDense(weight=w)
        else:
            table = materialize(
                conn, where=where, pre_shape=pre.dims, post_shape=post.dims, generator=gen,
                dt_s=net.dt_s, pre_layout=pre.layout, post_layout=post.layout,
            )  # fmt: skip
            new = Explicit(
                pre=table.pre, post=table.post, weight=table.weight, delay_steps=table.delay_steps
            )
        out.projections[name] = dataclasses.replace(pr, connectivity=new)
    return out


def _choose_weight_exp(
    x_max: float,
    *,
    mixed: bool,
    num_weight_bits: int,
    where: str,
    vth: int,
    exps: tuple[int, ...] | None = None,
) -> int:
    k = 8 - num_weight_bits + int(mixed)
    top = (255 >> k) << k
    exps = tuple(range(WEIGHT_EXP_RANGE[0], WEIGHT_EXP_RANGE[1] + 1)) if exps is None else exps
    for e in exps:
        if round(x_max / 2.0**e / 2**k) * 2**k <= top:
            return e
    raise ParameterError(
        where,
        "weight",
        f"at most {top} x 2**{max(exps)} in threshold units of 1/(64 vth) "
        f"(8-bit weights, weight_exp <= {max(exps)})",
        x_max,
        hint=f"with vth = {vth} the largest weight is too large; pass a smaller vth",
    )


def _quantize_bias(
    b: np.ndarray, where: str, *, exps: tuple[int, ...] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    mant = np.zeros(b.shape, dtype=np.int64)
    exp = np.zeros(b.shape, dtype=np.int64)
    exps = tuple(range(_BIAS_EXP_MAX + 1)) if exps is None else exps
    for i, x in enumerate(b):
        for e in exps:
            m = round(x / 2.0**e)
            if -_BIAS_MANT_MAX - 1 <= m <= _BIAS_MANT_MAX:
                mant[i], exp[i] = m, e
                break
        else:
            raise ParameterError(
                where,
                "bias",
                f"within the 13-bit mantissa x 2**{max(exps)} register "
                f"(|bias| <= {_BIAS_MANT_MAX << max(exps)} state units)",
                float(x),
                hint=f"neuron {i}; a smaller vth lowers the bias in state units",
            )
    return mant, exp


# ------------------------------------------------------------------------------ quantize


def quantize(
    net: Network,
    *,
    seed: int | None = None,
    vth: int | dict[str, int] | None = None,
    num_weight_bits: int = 8,
    weight_exp: int | None = None,
    bias_exp: int | None = None,
    weight_max: int = 250,
) -> QuantizedNetwork:
    """Quantise ``net`` (CubaLIF populations) into a :class:`LoihiNetwork` and report the error.

    Parameters
    ----------
    net: the float network. Sources (spike_tensor, spike_times, poisson) become
      :class:`~spikesim.hardware.loihi.SpikeInput` (see :func:`input_trains`).
    seed: draws random connectivity and values first (the draws a
      :class:`~spikesim.engine.Simulator` with that seed makes, as ``Network.frozen``);
      required when the network has any random part.
    vth: the integer threshold mantissa, one for all or per population name (default: the
      largest safe value, see the module documentation).
    num_weight_bits: weight precision of every connection (1..8).
    weight_exp: one fixed weight exponent for every connection (default: the smallest that
      fits, per connection); the automatic ``vth`` then keeps the largest weight within 8 bits
      at that exponent. lava-dl's netx format stores ``w << weight_exp`` as 8-bit integers, so
      ``weight_exp=0, bias_exp=6`` (with ``weight_max=120``:
      :data:`spikesim.hardware.netx.NETX_QUANTIZE`) gives a network
      :func:`~spikesim.hardware.netx.write_netx` can write.
    bias_exp: one fixed bias exponent (0..7) for every neuron (default: the smallest that fits,
      per neuron); netx fixes it to 6.
    weight_max: the largest integer weight (at the connection's exponent) the automatic
      ``vth`` allows (1..255). netx layers whose weights have both signs (a ``dense_rec`` layer
      with excitatory input and inhibitory recurrence) map onto Lava exactly only when every
      weight is within -128..127, so the netx set-up uses ``weight_max=120``.
    """
    check_size(net, "quantize")
    seed = _seed("quantize", seed)
    random_parts = _needs_seed(net)
    if random_parts:
        if seed is None:
            raise ParameterError(
                "quantize",
                "seed",
                "an integer (the network has random parts: " + ", ".join(random_parts) + ")",
                None,
                hint="Pass the seed of the float run, or freeze the network first.",
            )
        net = _freeze(net, seed)
    dt = net.dt_s
    if (
        isinstance(num_weight_bits, bool)
        or not isinstance(num_weight_bits, (int, np.integer))
        or num_weight_bits not in range(1, 9)
    ):
        raise ParameterError("quantize", "num_weight_bits", "an integer 1..8", num_weight_bits)
    lo_e, hi_e = WEIGHT_EXP_RANGE
    if weight_exp is not None and (
        not isinstance(weight_exp, (int, np.integer))
        or isinstance(weight_exp, bool)
        or not lo_e <= weight_exp <= hi_e
    ):
        raise ParameterError(
            "quantize", "weight_exp", f"None or an integer {lo_e}..{hi_e}", weight_exp
        )
    if bias_exp is not None and (
        not isinstance(bias_exp, (int, np.integer))
        or isinstance(bias_exp, bool)
        or not 0 <= bias_exp <= _BIAS_EXP_MAX
    ):
        raise ParameterError(
            "quantize", "bias_exp", f"None or an integer 0..{_BIAS_EXP_MAX}", bias_exp
        )
    if (
        isinstance(weight_max, bool)
        or not isinstance(weight_max, (int, np.integer))
        or not (1 <= weight_max <= 255)
    ):
        raise ParameterError("quantize", "weight_max", "an integer 1..255", weight_max)
    w_exp_cap = WEIGHT_EXP_RANGE[1] if weight_exp is None else weight_exp
    b_exp_cap = _BIAS_EXP_MAX if bias_exp is None else bias_exp

    models: dict[str, CubaLIF] = {}
    gains: dict[str, float] = {}
    current_gain: dict[str, float] = {}
    kinds: dict[str, str] = {}
    inputs: list[SpikeInput] = []
    for p in net.populations.values():
        where = f"population {p.name!r}"
        if p.is_source:
            if not isinstance(p.model, (PoissonSource, SpikeTimesSource, SpikeTensorSource)):
                raise ParameterError(where, "source", "a spike source", p.model)
            inputs.append(SpikeInput(p.name, p.size))
            continue
        m, gains[p.name], current_gain[p.name] = _as_cuba(where, p.model, p.size, dt)
        kinds[p.name] = "cuba_lif" if m is p.model else f"{p.model.kind} as cuba_lif (exact)"
        if m.v_init is not None and np.any(np.asarray(_as_array(m.v_init, p.size)) != 0):
            raise ParameterError(
                where, "v_init", "0 (Loihi's LIF starts from u = v = 0)", "non-zero values"
            )
        _check_u_decay(where, m.tau_syn_s, dt)
        models[p.name] = m
    if not models:
        raise ParameterError("quantize", "net", "at least one CubaLIF population", "none")
    if isinstance(vth, dict):
        unknown = sorted(set(vth) - set(models), key=str)
        if unknown:
            raise ParameterError(
                "quantize", "vth", f"keys among the LIF populations {sorted(models)}", unknown
            )
        for key, value in vth.items():
            if value is not None:
                _int(f"population {key!r}", "vth", value, 1, VTH_RANGE[1])
    elif vth is not None:
        for key in models:  # one threshold for every population
            _int(f"population {key!r}", "vth", vth, 1, VTH_RANGE[1])

    bias_float = {n: _as_array(m.bias, net.populations[n].size) for n, m in models.items()}
    step_currents: list[_Proj] = []
    for c in net.currents.values():
        where = f"current {c.name!r}"
        if c.target not in models:
            raise ParameterError(where, "target", "a CubaLIF or LIF population", c.target)
        n = net.populations[c.target].size
        amp = _as_array(c.amplitude_mV, n) * current_gain[c.target]
        start, stop = _current_steps(net, c)
        if start == 0 and stop is None:
            bias_float[c.target] = bias_float[c.target] + amp  # constant: part of the bias
            continue
        if start == 0:
            raise ParameterError(
                where,
                "start_s",
                f">= dt_s ({net.dt_s}) for a current that stops (its onset is injected as a "
                "spike one step earlier), or a constant current",
                c.start_s,
            )
        # exactly as the float model: the current I(t) is carried in u, driven by three input
        # channels per neuron (onset I, hold I (1 - a_syn), offset -a_syn I), see _current_trains
        # with the chip's u decay, so that u holds I (up to the weight rounding)
        a_s = _keep(decay_from_tau(models[c.target].tau_syn_s, dt, which="u"), "u")
        w = np.zeros((n, 3 * n))
        idx = np.arange(n)
        w[idx, idx] = amp
        w[idx, n + idx] = amp * (1 - a_s)
        w[idx, 2 * n + idx] = -a_s * amp
        mask = w != 0
        inputs.append(SpikeInput(c.name, 3 * n))
        step_currents.append(
            _Proj(f"{c.name}_drive", c.name, c.target, w, np.zeros(w.shape, np.int64), mask, True)
        )

    projs = [_project_dense(net, name) for name in net.projections]
    for q in projs:
        if q.post in gains:
            q.w = q.w * gains[q.post]
    projs += step_currents

    # per population: the threshold mantissa and the scale
    vths: dict[str, int] = {}
    headroom: dict[str, float] = {}
    clip_room: dict[str, float] = {}
    for name, m in models.items():
        incoming = [q for q in projs if q.post == name]
        keep_u = _keep(decay_from_tau(m.tau_syn_s, dt, which="u"), "u")
        keep_v = _keep(decay_from_tau(m.tau_mem_s, dt, which="v"), "v")
        drive = sum((np.abs(q.w).sum(axis=1) for q in incoming), np.zeros(len(bias_float[name])))
        neg = sum((np.clip(-q.w, 0, None).sum(axis=1) for q in incoming), np.zeros(len(drive)))
        u_bound = float(drive.max()) / max(1.0 - keep_u, 1e-12) if drive.size else 0.0
        u_neg = float(neg.max()) / max(1.0 - keep_u, 1e-12) if neg.size else 0.0
        b_neg = float(np.clip(-bias_float[name], 0, None).max())
        v_neg = (u_neg + b_neg) / max(1.0 - keep_v, 1e-12)
        v_pos = m.v_th + u_bound + float(np.clip(bias_float[name], 0, None).max())
        w_max = max((float(np.abs(q.w).max()) for q in incoming if q.w.size), default=0.0)
        b_max = float(np.abs(bias_float[name]).max())
        # s = 64 vth / v_th; the largest vth with s * bound <= limit for each bound
        caps = [_DEFAULT_VTH_MAX, VTH_RANGE[1]]
        for bound, limit in (
            (u_bound, _U_LIMIT),
            (v_pos, _U_LIMIT),
            (w_max, weight_max * 2.0**w_exp_cap),
            (b_max, (_BIAS_MANT_MAX << b_exp_cap) / 64),
        ):
            if bound > 0:
                caps.append(int(limit * m.v_th / bound / (64 if limit == _U_LIMIT else 1)))
        auto = max(1, min(caps))
        given = vth.get(name) if isinstance(vth, dict) else vth
        chosen = auto if given is None else int(given)
        if not VTH_RANGE[0] < chosen <= VTH_RANGE[1]:
            raise ParameterError(
                f"population {name!r}", "vth", f"an integer in 1..{VTH_RANGE[1]}", given
            )
        vths[name] = chosen
        scale = 64.0 * chosen / m.v_th
        worst = max(u_bound, v_pos) * scale
        headroom[name] = _U_LIMIT / worst if worst > 0 else math.inf
        clip_room[name] = _U_LIMIT / (v_neg * scale) if v_neg > 0 else math.inf

    scales = {n: 64.0 * vths[n] / models[n].v_th for n in models}
    pops: list[LifPopulation] = []
    pop_reports: list[PopulationQuantization] = []
    for name, m in models.items():
        where = f"population {name!r}"
        s = scales[name]
        target = bias_float[name] * s
        mant, exp = _quantize_bias(target, where, exps=None if bias_exp is None else (bias_exp,))
        du = decay_from_tau(m.tau_syn_s, dt, which="u")
        dv = decay_from_tau(m.tau_mem_s, dt, which="v")
        pops.append(
            LifPopulation(
                name,
                net.populations[name].size,
                du=du,
                dv=dv,
                vth=vths[name],
                bias_mant=mant,
                bias_exp=exp,
            )
        )
        realised = (mant * 2.0**exp) / s
        pop_reports.append(
            PopulationQuantization(
                name=name,
                n=net.populations[name].size,
                scale=s,
                vth=vths[name],
                du=du,
                dv=dv,
                tau_syn_s=m.tau_syn_s,
                tau_syn_s_loihi=tau_from_decay(du, dt, which="u"),
                tau_mem_s=m.tau_mem_s,
                tau_mem_s_loihi=tau_from_decay(dv, dt, which="v"),
                v_th=m.v_th,
                bias_max_abs_error=float(np.abs(realised - bias_float[name]).max()),
                u_headroom=headroom[name],
                model=kinds[name],
                v_clip_headroom=clip_room[name],
            )
        )

    conns: list[Dense | Sparse | DelayDense] = []
    conn_reports: list[ConnectionQuantization] = []
    for q in projs:
        where = f"projection {q.name!r}"
        if q.post not in models:
            raise ParameterError(where, "post", "a CubaLIF population", q.post)
        s = scales[q.post]
        w = np.where(q.mask, q.w, 0.0)
        if not q.mask.any() or not np.any(w != 0):
            raise ParameterError(where, "weight", "at least one non-zero synapse", "none")
        pos, negs = bool((w > 0).any()), bool((w < 0).any())
        mode = (
            SignMode.MIXED if pos and negs else SignMode.INHIBITORY if negs else SignMode.EXCITATORY
        )
        x = w * s / 64.0  # in units of weight_exp = 0
        mixed = mode is SignMode.MIXED
        e = _choose_weight_exp(
            float(np.abs(x).max()),
            mixed=mixed,
            num_weight_bits=num_weight_bits,
            where=where,
            vth=vths[q.post],
            exps=None if weight_exp is None else (weight_exp,),
        )
        k = 8 - num_weight_bits + int(mixed)
        w_int = (np.round(x / 2.0**e / 2**k) * 2**k).astype(np.int64)
        lo, hi = (-256, 255) if mixed else ((0, 255) if mode is SignMode.EXCITATORY else (-255, 0))
        w_int = np.clip(w_int, lo, hi)
        if not np.any(w_int[q.mask] != 0):
            raise ParameterError(
                where,
                "weight",
                f"at least one weight of at least half a step of 2**{e} / (64 vth) of "
                f"the threshold (8-bit weights, weight_exp >= {WEIGHT_EXP_RANGE[0]})",
                float(np.abs(w).max()),
                hint=f"every synapse rounds to 0 with vth = {vths[q.post]}, so the projection "
                f"would vanish on the chip; a larger vth (up to {VTH_RANGE[1]}) gives finer "
                "weight steps",
            )
        realised = w_int * 2.0**e * 64.0 / s
        err = np.abs(realised - w)[q.mask]
        max_delay = int(q.delays[q.mask].max()) if q.mask.any() else 0
        common: dict[str, Any] = dict(sign_mode=mode, num_weight_bits=num_weight_bits, weight_exp=e)
        if max_delay > 0:
            conn: Dense | Sparse | DelayDense = DelayDense(
                q.name, q.pre, q.post, weights=w_int, delays=q.delays, **common
            )
            kind = "delay_dense"
        elif q.sparse:
            rows, cols = np.nonzero(q.mask & (w_int != 0))
            conn = Sparse(
                q.name,
                q.pre,
                q.post,
                n_target=w.shape[0],
                n_source=w.shape[1],
                rows=rows,
                cols=cols,
                values=w_int[rows, cols],
                **common,
            )
            kind = "sparse"
        else:
            conn = Dense(q.name, q.pre, q.post, weights=w_int, **common)
            kind = "dense"
        conns.append(conn)
        conn_reports.append(
            ConnectionQuantization(
                name=q.name,
                kind=kind,
                sign_mode=mode.value,
                weight_exp=e,
                num_weight_bits=num_weight_bits,
                synapses=int((q.mask & (w != 0)).sum()),
                max_abs_weight=float(np.abs(w).max()),
                max_abs_error=float(err.max()) if err.size else 0.0,
                rms_error=float(np.sqrt(np.mean(err**2))) if err.size else 0.0,
                lost_synapses=int(((w != 0) & (w_int == 0)).sum()),
                max_delay=max_delay,
            )
        )
    loihi = LoihiNetwork(populations=tuple(pops), inputs=tuple(inputs), connections=tuple(conns))
    report = QuantizationReport(dt, tuple(pop_reports), tuple(conn_reports))
    return QuantizedNetwork(loihi, report, scales, dt)


def _as_array(value: Any, n: int) -> np.ndarray:
    arr = np.asarray(value, dtype=np.float64)
    return np.full(n, float(arr)) if arr.ndim == 0 else arr.astype(np.float64)


# ------------------------------------------------------------------------------ inverse


def loihi_to_float(
    loihi: LoihiNetwork, *, dt_s: float, scales: dict[str, float] | None = None
) -> dict[str, dict[str, Any]]:
    """Float parameters a Loihi network realises (for display): per population ``tau_syn_s``,
    ``tau_mem_s``, ``v_th``, ``bias`` (array); per connection the float ``weights``
    ``(n_target, n_source)`` and ``delay_steps``. ``scales`` (state units per float unit, from
    :class:`QuantizedNetwork`) default to 64, i.e. a float threshold equal to ``vth``."""
    if not isinstance(loihi, LoihiNetwork):
        raise ParameterError("loihi_to_float", "loihi", "a LoihiNetwork", type(loihi).__name__)
    check_positive("loihi_to_float", "dt_s", dt_s)
    names = [p.name for p in loihi.populations]
    for key, value in (scales or {}).items():
        if key not in names:
            raise ParameterError("loihi_to_float", "scales", f"keys among {names}", key)
        check_positive(f"population {key!r}", "scale", value)
    out: dict[str, dict[str, Any]] = {}
    sc = {p.name: (scales or {}).get(p.name, 64.0) for p in loihi.populations}
    for p in loihi.populations:
        s = sc[p.name]
        out[p.name] = {
            "tau_syn_s": tau_from_decay(p.du, dt_s, which="u"),
            "tau_mem_s": tau_from_decay(p.dv, dt_s, which="v"),
            "v_th": 64.0 * p.vth / s,
            "bias": p.bias_mant * 2.0**p.bias_exp / s,
        }
    for c in loihi.connections:
        s = sc[c.target]
        out[c.name] = {
            "weights": c.quantized_weights() * 2.0**c.weight_exp * 64.0 / s,
            "delay_steps": np.asarray(c.delays) if isinstance(c, DelayDense) else 0,
        }
    return out


def float_network(qnet: QuantizedNetwork) -> Network:
    """A float spikesim Network with exactly the parameters the quantised network realises
    (CubaLIF populations, Explicit projections); inputs become spike_tensor sources.

    Raises ParameterError for a population whose dv is 0 (no leak: no finite tau_mem_s) or
    whose du is 4095 (u cleared every step: no positive tau_syn_s)."""
    from spikesim.connectivity import Explicit

    if not isinstance(qnet, QuantizedNetwork):
        raise ParameterError("float_network", "qnet", "a QuantizedNetwork", type(qnet).__name__)
    vals = loihi_to_float(qnet.loihi, dt_s=qnet.dt_s, scales=qnet.scales)
    net = Network(dt_s=qnet.dt_s, name="from_loihi")
    for i in qnet.loihi.inputs:
        net.add_spike_tensor(i.name, i.n)
    for p in qnet.loihi.populations:
        v = vals[p.name]
        for key in ("tau_syn_s", "tau_mem_s"):
            if not 0 < v[key] < math.inf:
                raise ParameterError(
                    f"population {p.name!r}",
                    key,
                    "a finite positive time constant",
                    v[key],
                    hint=f"du = {p.du}, dv = {p.dv}",
                )
        net.add_population(
            p.name,
            p.n,
            CubaLIF(
                tau_syn_s=v["tau_syn_s"], tau_mem_s=v["tau_mem_s"], v_th=v["v_th"], bias=v["bias"]
            ),
        )
    for c in qnet.loihi.connections:
        w = vals[c.name]["weights"]
        post, pre = np.nonzero(w)
        d = vals[c.name]["delay_steps"]
        delays = np.asarray(d)[post, pre] if isinstance(d, np.ndarray) else np.zeros(0, int)
        uniform = delays.size == 0 or bool((delays == delays[0]).all())
        # a uniform delay goes on the projection (the engine at the time of writing ignores a
        # uniform per-synapse delay of an Explicit rule), per-synapse delays stay per synapse
        net.add_projection(
            c.name,
            c.source,
            c.target,
            Explicit(
                pre=pre, post=post, weight=w[post, pre], delay_steps=None if uniform else delays
            ),
            delay_steps=int(delays[0]) if uniform and delays.size else 0,
        )
    return net


def _current_steps(net: Network, c: Any) -> tuple[int, int | None]:
    """The engine's step window of a current: active for start <= k < stop."""
    start = int(round(c.start_s / net.dt_s))
    stop = None if c.stop_s is None else int(round(c.stop_s / net.dt_s))
    return start, stop


def _current_trains(net: Network, c: Any, n_steps: int, batch: int) -> np.ndarray:
    """Input trains ``[n_steps, batch, 3 n]`` carrying a step current (see :func:`quantize`):
    onset spike at ``start - 1``, hold spikes at ``start .. stop - 2``, offset at ``stop - 1``
    (a spike at step t reaches u at t + 1, as in the engine)."""
    n = net.populations[c.target].size
    start, stop = _current_steps(net, c)
    end = n_steps + 1 if stop is None else stop
    arr = np.zeros((n_steps, batch, 3 * n), dtype=np.uint8)
    if start - 1 < n_steps:
        arr[start - 1, :, :n] = 1
    arr[start : min(end - 1, n_steps), :, n : 2 * n] = 1
    if stop is not None and stop - 1 < n_steps and stop > start:
        arr[stop - 1, :, 2 * n :] = 1
    return arr


def _spikes(where: str, value: Any, shape: tuple[int, int, int], dims: tuple) -> np.ndarray:
    """Given 0/1 spikes ``[n_steps, batch, n]`` or ``[n_steps, batch, *dims]`` (numpy or
    torch) as uint8 ``[n_steps, batch, n]``."""
    arr = spike_array(where, "given", value)
    if arr.shape == (*shape[:2], *dims):
        arr = arr.reshape(shape)
    if arr.shape != shape:
        raise ShapeError(where, "given [n_steps, batch, n]", shape, arr.shape)
    return arr


def input_trains(
    net: Network, *, n_steps: int, batch: int = 1, seed: int, given: dict[str, Any] | None = None
) -> dict[str, np.ndarray]:
    """Spike trains ``[n_steps, batch, n]`` (uint8) for every input of ``quantize(net)``:
    spike_times sources binned exactly as the engine bins them, poisson sources drawn with
    ``seed`` (Bernoulli ``rate dt`` per step), spike_tensor sources taken from ``given``, and
    the channels of time-limited currents."""
    if not isinstance(net, Network):
        raise ParameterError("input_trains", "net", "a spikesim Network", type(net).__name__)
    n_steps = check_int("input_trains", "n_steps", n_steps, minimum=1)
    batch = check_int("input_trains", "batch", batch, minimum=1)
    if seed is None:  # the poisson draws must be reproducible
        raise ParameterError("input_trains", "seed", "an integer in [0, 2**62)", None)
    seed_value = _seed("input_trains", seed)
    if given is not None and not isinstance(given, dict):
        raise ParameterError(
            "input_trains", "given", "a dict of source name -> spikes", type(given).__name__
        )
    given = dict(given or {})
    tensors = [p.name for p in net.populations.values() if isinstance(p.model, SpikeTensorSource)]
    unknown = sorted(set(given) - set(tensors), key=str)
    if unknown:
        raise ParameterError(
            "input_trains", "given", f"keys among the spike_tensor sources {tensors}", unknown
        )
    n_in = sum(p.size for p in net.populations.values() if p.is_source)
    n_in += sum(3 * net.populations[c.target].size for c in net.currents.values())
    # uint8 trains, and the float64 uniform draws of a poisson source
    require_memory(
        "input_trains",
        "n_steps",
        9.0 * n_steps * batch * n_in,
        f"{n_steps} steps x batch {batch} x {n_in} input channels",
        hint="Make the trains for fewer steps at a time.",
    )
    gen = np.random.default_rng(seed_value)
    out: dict[str, np.ndarray] = {}
    for p in net.populations.values():
        m = p.model
        if isinstance(m, SpikeTensorSource):
            where = f"population {p.name!r}"
            if p.name not in given:
                raise ParameterError(where, "given", "a spike tensor for this source", None)
            out[p.name] = _spikes(where, given[p.name], (n_steps, batch, p.size), tuple(p.dims))
        elif isinstance(m, SpikeTimesSource):
            steps = np.floor((np.asarray(m.times_s) + 1e-3 * net.dt_s) / net.dt_s).astype(int)
            arr = np.zeros((n_steps, batch, p.size), dtype=np.uint8)
            ok = steps < n_steps
            arr[steps[ok], :, np.asarray(m.indices)[ok]] = 1
            out[p.name] = arr
        elif isinstance(m, PoissonSource):
            rate = _as_array(m.rate_hz, p.size)
            out[p.name] = (gen.random((n_steps, batch, p.size)) < rate * net.dt_s).astype(np.uint8)
    for c in net.currents.values():
        start, stop = _current_steps(net, c)
        if not (start == 0 and stop is None):
            out[c.name] = _current_trains(net, c, n_steps, batch)
    return out
