"""A thalamocortical sleep-spindle model whose spindles are traveling waves on a cortical sheet.

One :class:`~spikesim.network.Network` description, run in rate or spiking mode:

- **Thalamus**: a ring of ``n_modules`` spindle generators. Each module is a relay (TC,
  excitatory) and a reticular (RE, inhibitory) pool of rate units (``RateUnit``; in spiking
  mode they fire Poisson spikes at their rate) in a delayed TC -> RE -> TC loop whose
  negative feedback oscillates at 11-15 Hz when the module is depolarised. Modules are
  coupled by TC -> RE collaterals all round the ring (Gaussian in ring distance,
  ``lateral_sigma_modules`` = half the ring by default) with conduction delays along it
  (the reticular shell is a closed sheet around the thalamus). At the default
  ``thalamic_speed_m_s`` the delay to the antipodal module is about half a spindle period,
  so near modules pull each other into phase and far ones push each other out of phase:
  the coupling kernel, weighted by cos(2 pi f delay), peaks at ring wavenumber 1, so the
  in-phase state is unstable and the twisted (winding +-1) states are stable (the
  delayed-ring travelling-wave result). ``chirality`` in [-1, 1] tilts that coupling
  towards one sense of the ring (+1: all towards increasing ring angle, counter-clockwise
  on the cortex) and so picks the sense of the twist.
  ``thalamus_neuron="lif"`` (use the :data:`LIF_THALAMUS` overrides) makes TC and RE
  deterministic LIF cells instead (TC: threshold ``lif_threshold_mV`` above rest, RE:
  ``lif_re_threshold_mV``, so RE fires on its own module's TC volley and the ring input
  only shifts its timing; RE -> TC inhibition decays with ``lif_tau_inh_s``) and the gate a
  smooth current: each module is then a relaxation oscillator paced by the loop, whose
  phase survives many cycles, so in spiking mode the ring twists as the rate ring does
  (the rate-unit pools' Poisson spikes decorrelate a module within a few cycles).
- **Episodes**: spindles are gated by a depolarising input to the TC pools (the ``gate``
  population, a spike_tensor source fed by :func:`gate_input`: expected spike counts in
  rate mode, Poisson spikes in spiking mode) whose rate waxes and wanes as a raised cosine
  for 0.5-3 s, recurring every 5-15 s (times drawn from the seed per trial; the reduced
  stand-in for the slow processes that start and end spindles). Each module switches on at
  a random delay within ``onset_jitter_s`` (about one cycle) and gets its own drive offset,
  so the modules start out of phase and the ring settles into a twisted (rotating) or,
  less often, an in-phase state; ``drive_gradient`` adds a gradient of drive along the x axis (a
  non-chiral asymmetry, for control experiments).
- **Cortex**: an excitatory and an inhibitory sheet of LIF neurons on a ``rows x cols`` grid
  (``Sheet`` layout) with Gaussian local E/I connectivity and distance-dependent conduction
  delays (``speed_m_s``). Thalamic module k projects topographically to the cortical sites
  whose polar angle around the sheet centre is near the module's ring angle (a closed loop
  of cortex around a centre, like the temporal-parietal-frontal loop around the Sylvian
  fissure), with a thalamocortical delay.
- **Electrodes**: an 8 x 8 grid at 10 mm over the sheet centre reads an LFP-like signal,
  the Gaussian-weighted (``lfp_sigma_m``) sum of the excitatory firing rates around each
  electrode (:func:`lfp`).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import torch

from spikesim import LIF, Network, RateUnit, Sheet, Simulator
from spikesim._validate import check_finite, check_index_array, check_int
from spikesim.analysis.waves import electrode_grid
from spikesim.connectivity import DistanceDependent, Explicit, positions_of
from spikesim.errors import ParameterError

from .._checks import check_fits, check_seed, dataclass_from_dict

__all__ = [
    "SpindleConfig",
    "LIF_THALAMUS",
    "Episode",
    "build_spindle_network",
    "episodes_of",
    "gate_rates_hz",
    "gate_input",
    "run_spindles",
    "lfp",
    "lfp_from_spikes",
    "ring_winding",
    "ring_winding_from_spikes",
    "cortex_positions",
    "electrode_positions",
]

_WHERE = "spindle model"

#: integer fields of SpindleConfig and their minimum (a float there used to be truncated or
#: crash deep in numpy)
_INT_FIELDS = {
    "n_modules": 2,
    "units_per_module": 1,
    "fan_in": 0,
    "rows": 2,
    "cols": 2,
    "electrode_rows": 2,
    "electrode_cols": 2,
}

#: Overrides that give the thalamus deterministic LIF relay/reticular cells (for spiking
#: runs): a smooth gate current instead of Poisson gate spikes, a stronger ring coupling
#: (40 % of the loop weight; the LIF modules lock to one another through pulses, not rates)
#: and 2.5 m/s along the ring, so that the antipodal delay (44 ms) is the same fraction of
#: the LIF loop's period (14 Hz) as 2.8 m/s is of the rate loop's (14.5 Hz). With them the
#: spiking ring twists in most episodes, as the rate-unit ring does in rate mode
#: (benchmarks/spindle_waves.md).
LIF_THALAMUS: dict[str, Any] = {
    "thalamus_neuron": "lif",
    "lateral_fraction": 0.4,
    "thalamic_speed_m_s": 2.5,
}

#: Overrides that leave the thalamic ring nearly alone (a 2 x 2-site cortex 8 cm apart, no
#: background) with one 2-2.2 s episode from 0.3 s in a 2.6 s run: the configuration for
#: studying the ring's winding (benchmarks' ``thalamus_only``, the spiking tests).
THALAMUS_ONLY: dict[str, Any] = {
    "duration_s": 2.6,
    "first_episode_s": 0.3,
    "min_episode_s": 2.0,
    "max_episode_s": 2.2,
    "rows": 2,
    "cols": 2,
    "spacing_m": 0.08,
    "background_hz": 0.0,
}


@dataclasses.dataclass(frozen=True)
class Episode:
    """One thalamic spindle episode: gate opens at ``start_s`` for ``duration_s``."""

    start_s: float
    duration_s: float


@dataclasses.dataclass(frozen=True)
class SpindleConfig:
    """Parameters of the spindle model (defaults: the benchmark's model).

    Units are in the names. ``speed_m_s`` is the intracortical conduction speed (0.1-10
    m/s), ``thalamic_speed_m_s`` the speed along the reticular ring whose length is
    ``ring_length_m``.
    """

    dt_s: float = 1e-3
    duration_s: float = 30.0
    # thalamus
    n_modules: int = 16
    units_per_module: int = 8
    fan_in: int = 32  # thalamic inputs per unit from each connected pool (all when >= K)
    tau_tc_s: float = 10e-3
    tau_re_s: float = 10e-3
    loop_delay_s: float = 4e-3  # conduction delay of the TC -> RE -> TC loop, on TC -> RE
    w_tc_re_mV: float = 40.0
    w_re_tc_mV: float = 40.0
    gain_hz_per_mV: float = 10.0
    # thalamic neuron model: "rate" (RateUnit; Poisson spikes in spiking mode) or "lif"
    # (deterministic LIF relay/reticular cells, the same network in both modes)
    thalamus_neuron: str = "rate"
    lif_threshold_mV: float = 0.5  # LIF thalamus: v_th - v_rest of the TC cells
    lif_re_threshold_mV: float = 6.0  # LIF thalamus: v_th - v_rest of the RE cells
    lif_tau_mem_s: float = 10e-3
    lif_tau_inh_s: float = 12e-3  # LIF thalamus: RE -> TC inhibitory synaptic time constant
    lif_t_ref_s: float = 2e-3
    lateral_fraction: float = 0.2
    lateral_sigma_modules: float = 8.0
    chirality: float = 0.0
    ring_length_m: float = 0.2
    thalamic_speed_m_s: float = 2.8
    # episodes
    drive_mV: float = 6.0
    drive_jitter_mV: float = 1.0
    onset_jitter_s: float = 0.08
    drive_gradient: float = 0.0
    gate_weight_mV: float = 10.0
    min_episode_s: float = 0.5
    max_episode_s: float = 3.0
    min_interval_s: float = 5.0
    max_interval_s: float = 15.0
    first_episode_s: float = 1.0
    # cortex
    rows: int = 20
    cols: int = 20
    spacing_m: float = 4e-3
    speed_m_s: float = 3.0
    sigma_ee_m: float = 6e-3
    p_ee: float = 0.5
    w_ee_mV: float = 1.0
    p_ei: float = 0.5
    w_ei_mV: float = 0.6
    p_ie: float = 0.5
    w_ie_mV: float = 0.8
    sigma_ie_m: float = 5e-3
    tc_weight_mV: float = 25.0
    tc_sigma_rad: float = 0.5
    tc_delay_s: float = 5e-3
    background_hz: float = 2500.0
    background_weight_mV: float = 1.0
    # electrodes
    electrode_rows: int = 8
    electrode_cols: int = 8
    electrode_spacing_m: float = 0.01
    lfp_sigma_m: float = 5e-3

    @classmethod
    def from_dict(cls, d: Any, *, source: str = "<dict>") -> SpindleConfig:
        """A validated config from a dict (e.g. a TOML table): an unknown key is a
        :class:`~spikesim.errors.ConfigError` naming it and ``source``."""
        return dataclass_from_dict(cls, d, source)

    def validate(self) -> None:
        if self.thalamus_neuron not in ("rate", "lif"):
            raise ParameterError(_WHERE, "thalamus_neuron", "'rate' or 'lif'", self.thalamus_neuron)
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if f.name == "thalamus_neuron":
                continue
            if f.name in _INT_FIELDS:
                check_int(_WHERE, f.name, v, minimum=_INT_FIELDS[f.name])
                if not isinstance(v, (int, np.integer)):
                    raise ParameterError(_WHERE, f.name, "an integer", v)
                continue
            check_finite(_WHERE, f.name, v)
            if f.name in ("chirality", "drive_gradient"):
                if not -1.0 <= v <= 1.0:
                    raise ParameterError(_WHERE, f.name, "in [-1, 1]", v)
                continue
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not np.isfinite(v):
                raise ParameterError(_WHERE, f.name, "a finite number", v)
            if v < 0 or (
                v == 0
                and f.name
                not in (
                    "drive_jitter_mV",
                    "onset_jitter_s",
                    "drive_gradient",
                    "lateral_fraction",
                    "tc_delay_s",
                    "loop_delay_s",
                    "background_hz",
                    "fan_in",
                )
            ):
                raise ParameterError(_WHERE, f.name, "> 0", v)
        if not 0.1 <= self.speed_m_s <= 10.0:
            raise ParameterError(_WHERE, "speed_m_s", "in [0.1, 10] m/s", self.speed_m_s)
        if self.max_episode_s <= self.min_episode_s:
            raise ParameterError(
                _WHERE,
                "max_episode_s",
                f"> min_episode_s ({self.min_episode_s})",
                self.max_episode_s,
            )
        if self.max_interval_s < self.min_interval_s:
            raise ParameterError(
                _WHERE,
                "max_interval_s",
                f">= min_interval_s ({self.min_interval_s})",
                self.max_interval_s,
            )
        if self.lateral_fraction > 1:
            raise ParameterError(_WHERE, "lateral_fraction", "in [0, 1]", self.lateral_fraction)
        M, N = self.n_modules, self.rows * self.cols
        check_fits(
            _WHERE,
            "n_modules, rows, cols",
            8.0
            * (4.0 * M * M + 4.0 * M * N + 4.0 * N + self.electrode_rows * self.electrode_cols * N),
            f"{M} modules and a {self.rows} x {self.cols} sheet",
        )
        ext_x = (self.electrode_cols - 1) * self.electrode_spacing_m
        ext_y = (self.electrode_rows - 1) * self.electrode_spacing_m
        if ext_x > (self.cols - 1) * self.spacing_m or ext_y > (self.rows - 1) * self.spacing_m:
            raise ParameterError(
                _WHERE,
                "rows, cols, spacing_m",
                f"a sheet at least as large as the electrode grid ({ext_x:g} x {ext_y:g} m)",
                ((self.cols - 1) * self.spacing_m, (self.rows - 1) * self.spacing_m),
            )


def _checked(cfg: Any, where: str) -> SpindleConfig:
    """A valid SpindleConfig (anything else is a ParameterError naming ``where``)."""
    if not isinstance(cfg, SpindleConfig):
        raise ParameterError(where, "cfg", "a SpindleConfig", type(cfg).__name__)
    cfg.validate()
    return cfg


def episodes_of(cfg: SpindleConfig, *, seed: int, trial: int = 0) -> list[Episode]:
    """Episode onsets and durations of one trial, drawn from ``seed``, within ``cfg.duration_s``."""
    _checked(cfg, "episodes_of")
    seed, trial = check_seed("episodes_of", seed), check_seed("episodes_of", trial, "trial")
    rng = np.random.default_rng([seed, trial, 1])
    out, t = [], cfg.first_episode_s
    while True:
        dur = rng.uniform(cfg.min_episode_s, cfg.max_episode_s)
        if t + dur > cfg.duration_s:
            break
        out.append(Episode(float(t), float(dur)))
        t += dur + rng.uniform(cfg.min_interval_s, cfg.max_interval_s)
    return out


def cortex_positions(cfg: SpindleConfig) -> np.ndarray:
    """Positions (m) of the cortical sites [rows*cols, 2] (the Sheet layout's)."""
    _checked(cfg, "cortex_positions")
    return positions_of(Sheet(cfg.rows, cfg.cols, cfg.spacing_m), (cfg.rows * cfg.cols,))


def electrode_positions(cfg: SpindleConfig) -> np.ndarray:
    """The electrode grid centred on the sheet, positions in metres."""
    _checked(cfg, "electrode_positions")
    pos = electrode_grid(
        rows=cfg.electrode_rows, cols=cfg.electrode_cols, spacing_m=cfg.electrode_spacing_m
    )
    centre = cortex_positions(cfg).mean(axis=0)
    return pos - pos.mean(axis=0) + centre


def _ring_offsets(m: int) -> np.ndarray:
    """Signed ring offsets (modules) j - k wrapped to [-m/2, m/2)."""
    k = np.arange(m)
    d = k[None, :] - k[:, None]
    return (d + m // 2) % m - m // 2


def _local(cfg: SpindleConfig, *, p_max: float, sigma_m: float, weight_mV: float) -> Any:
    """Local cortical connectivity: Gaussian in distance (``sigma_m``), delays at
    ``cfg.speed_m_s`` plus a 1 ms synaptic offset."""
    return DistanceDependent(
        p_max=p_max,
        sigma_m=sigma_m,
        weight=weight_mV,
        speed_m_s=cfg.speed_m_s,
        delay_offset_s=1e-3,
    )


def _fan(cfg: SpindleConfig) -> int:
    """Inputs per unit from one connected pool: ``fan_in``, at most the pool size."""
    return min(cfg.units_per_module, cfg.fan_in) if cfg.fan_in > 0 else cfg.units_per_module


def _pool_links(
    pre_pool: np.ndarray, post_pool: np.ndarray, cfg: SpindleConfig, *, post_size: int | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Unit-level synapses for pool-to-pool links ``pre_pool[i] -> post_pool[i]``.

    Pools are ``units_per_module`` (K) consecutive units (post pools of ``post_size`` units,
    default K). Post unit u of a pool hears F = :func:`_fan` units of the pre pool, evenly
    spread: (u + j K // F) mod K for j < F with u the post unit's index (all K units when F = K), so every pre unit has
    the same number of targets. Returns (pre, post, link) with ``link`` the index of the
    pool link each synapse belongs to.
    """
    K, F = cfg.units_per_module, _fan(cfg)
    P = K if post_size is None else post_size
    pre_pool, post_pool = np.asarray(pre_pool), np.asarray(post_pool)
    unit = post_pool[:, None, None] * P + np.arange(P)[None, :, None]  # [n, P, 1] post unit
    src = (unit + (np.arange(F)[None, None, :] * K) // F) % K  # [n, P, F]
    n = len(pre_pool)
    pre = (pre_pool[:, None, None] * K + src).ravel().astype(np.int64)
    post = np.broadcast_to(unit, (n, P, F))
    link = np.broadcast_to(np.arange(n)[:, None, None], (n, P, F))
    return pre, post.ravel().astype(np.int64), link.ravel()


def build_spindle_network(cfg: SpindleConfig = SpindleConfig(), *, monitor: bool = True) -> Network:
    """The network description (the same for rate and spiking runs).

    Its ``gate`` population is a spike_tensor source: give it :func:`gate_input` at run time.
    """
    _checked(cfg, "build_spindle_network")
    net = Network(dt_s=cfg.dt_s, name="spindles")
    M, K = cfg.n_modules, cfg.units_per_module
    tc_rate = RateUnit(
        tau_s=cfg.tau_tc_s,
        transfer="relu",
        gain_hz_per_mV=cfg.gain_hz_per_mV,
        threshold_mV=0.0,
        tau_syn_exc_s=5e-3,
        tau_syn_inh_s=10e-3,
    )
    tc_model: RateUnit | LIF = tc_rate
    re_model: RateUnit | LIF = dataclasses.replace(tc_rate, tau_s=cfg.tau_re_s)
    if cfg.thalamus_neuron == "lif":
        tc_lif = LIF(
            tau_mem_s=cfg.lif_tau_mem_s,
            v_rest_mV=-65.0,
            v_reset_mV=-65.0,
            v_th_mV=-65.0 + cfg.lif_threshold_mV,
            t_ref_s=cfg.lif_t_ref_s,
            tau_syn_exc_s=5e-3,
            tau_syn_inh_s=cfg.lif_tau_inh_s,
            tau_rate_s=cfg.tau_tc_s,
        )
        tc_model = tc_lif
        re_model = dataclasses.replace(
            tc_lif, v_th_mV=-65.0 + cfg.lif_re_threshold_mV, tau_rate_s=cfg.tau_re_s
        )
    net.add_population("tc", M * K, tc_model)
    net.add_population("re", M * K, re_model)
    # TC -> RE: own module (1 - lateral) and neighbours along the ring (lateral), delays
    # from the arc length / thalamic speed; chirality tilts the lateral kernel
    off = _ring_offsets(M)  # off[k, j]: module j relative to k
    lat = np.exp(-(off**2) / (2 * cfg.lateral_sigma_modules**2)) * (off != 0)
    lat = lat * (np.abs(off) <= 3 * cfg.lateral_sigma_modules)  # truncated at 3 sigma
    # chirality > 0: a module hears more from the modules behind it (lower ring angle), so
    # activity is passed on towards increasing angle: counter-clockwise on the cortex
    # (the antipode, off = -M/2 on an even ring, is neither behind nor ahead)
    lat = lat * (1 - cfg.chirality * np.sign(off) * (2 * np.abs(off) != M))
    lat = lat / lat.sum(axis=1, keepdims=True) * cfg.lateral_fraction
    mod_w = lat + np.eye(M) * (1 - cfg.lateral_fraction)  # [post module, pre module]
    arc_m = np.abs(off) * cfg.ring_length_m / M
    mod_d = np.rint((cfg.loop_delay_s + arc_m / cfg.thalamic_speed_m_s) / cfg.dt_s).astype(np.int64)
    post_m, pre_m = np.nonzero(mod_w > 0)
    pre, post, link = _pool_links(pre_m, post_m, cfg)
    F = _fan(cfg)
    w = mod_w[post_m, pre_m][link] * cfg.w_tc_re_mV / F
    net.add_projection(
        "tc_re",
        "tc",
        "re",
        Explicit(pre=pre, post=post, weight=w, delay_steps=mod_d[post_m, pre_m][link]),
    )
    # RE -> TC: inhibition within the module
    own = np.arange(M)
    pre2, post2, _ = _pool_links(own, own, cfg)
    net.add_projection(
        "re_tc",
        "re",
        "tc",
        Explicit(
            pre=pre2,
            post=post2,
            weight=np.full(pre2.size, cfg.w_re_tc_mV / F),
            delay_steps=np.full(pre2.size, 0, np.int64),
        ),
        receptor="inh",
    )
    # episodes: the gate (a spike_tensor source, one pool of K units per module) drives TC,
    # pool to pool within the module like RE -> TC
    net.add_spike_tensor("gate", M * K)
    net.add_projection(
        "gate_tc", "gate", "tc", Explicit(pre=pre2, post=post2, weight=cfg.gate_weight_mV / F)
    )
    # cortex
    N = cfg.rows * cfg.cols
    sheet = Sheet(cfg.rows, cfg.cols, cfg.spacing_m)
    exc = LIF(
        tau_mem_s=20e-3,
        v_rest_mV=-65.0,
        v_reset_mV=-65.0,
        v_th_mV=-50.0,
        t_ref_s=2e-3,
        tau_syn_exc_s=5e-3,
        tau_syn_inh_s=10e-3,
        tau_rate_s=10e-3,
    )
    inh = dataclasses.replace(exc, tau_mem_s=10e-3, tau_rate_s=5e-3)
    net.add_population("ex", N, exc, layout=sheet)
    net.add_population("in", N, inh, layout=sheet)
    for name, pre_pop, post_pop, p, sigma, w, receptor in (
        ("ex_ex", "ex", "ex", cfg.p_ee, cfg.sigma_ee_m, cfg.w_ee_mV, "exc"),
        ("ex_in", "ex", "in", cfg.p_ei, cfg.sigma_ee_m, cfg.w_ei_mV, "exc"),
        ("in_ex", "in", "ex", cfg.p_ie, cfg.sigma_ie_m, cfg.w_ie_mV, "inh"),
    ):
        net.add_projection(
            name,
            pre_pop,
            post_pop,
            _local(cfg, p_max=p, sigma_m=sigma, weight_mV=w),
            receptor=receptor,
        )
    if cfg.background_hz > 0:
        # background: n_bg units per site at background_hz / n_bg each (keeps every unit's
        # spike probability per step well below 1 in spiking mode)
        n_bg = max(1, int(np.ceil(cfg.background_hz * cfg.dt_s / 0.25)))
        net.add_poisson("bg", N * n_bg, rate_hz=cfg.background_hz / n_bg)
        bpre = np.arange(N * n_bg, dtype=np.int64)
        bpost = np.repeat(np.arange(N, dtype=np.int64), n_bg)
        for target in ("ex", "in"):
            net.add_projection(
                f"bg_{target}",
                "bg",
                target,
                Explicit(pre=bpre, post=bpost, weight=cfg.background_weight_mV),
            )
    # thalamocortical: module k -> sites at polar angle near the module's ring angle
    pos = cortex_positions(cfg)
    c = pos.mean(axis=0)
    phi = np.arctan2(pos[:, 1] - c[1], pos[:, 0] - c[0])
    ang_mod = 2 * np.pi * np.arange(M) / M
    dang = np.angle(np.exp(1j * (phi[None, :] - ang_mod[:, None])))  # [module, site]
    wmod = np.exp(-(dang**2) / (2 * cfg.tc_sigma_rad**2))
    wmod = wmod / wmod.sum(axis=0, keepdims=True)
    keep_m, keep_s = np.nonzero(wmod > 0.02)
    pre, post, link = _pool_links(keep_m, keep_s, cfg, post_size=1)
    wt = wmod[keep_m, keep_s][link] * cfg.tc_weight_mV / F
    dl = np.full(pre.size, int(round(cfg.tc_delay_s / cfg.dt_s)), np.int64)
    net.add_projection("tc_ex", "tc", "ex", Explicit(pre=pre, post=post, weight=wt, delay_steps=dl))
    net.add_projection("tc_in", "tc", "in", Explicit(pre=pre, post=post, weight=wt, delay_steps=dl))
    if monitor:
        net.monitor_spikes("ex", name="ex_spikes")
        net.monitor_state("ex", "r", name="ex_rate")
        net.monitor_state("tc", "r", name="tc_rate")
    return net


def gate_rates_hz(
    cfg: SpindleConfig, episodes: list[Episode], *, seed: int, trial: int = 0
) -> np.ndarray:
    """Rates (Hz) [steps, modules] of the gate pools for one trial.

    Each episode is a raised-cosine bump of ``duration_s`` reaching a drive of ``drive_mV``
    (times 1 + ``drive_gradient`` cos(ring angle), plus a per-module offset of s.d.
    ``drive_jitter_mV``), switched on in each module at a random delay in
    [0, ``onset_jitter_s``], so the modules start at random phases of the cycle.
    """
    _checked(cfg, "gate_rates_hz")
    seed, trial = check_seed("gate_rates_hz", seed), check_seed("gate_rates_hz", trial, "trial")
    if not all(isinstance(e, Episode) for e in episodes):
        raise ParameterError("gate_rates_hz", "episodes", "a list of Episode", episodes)
    rng = np.random.default_rng([seed, trial, 2])
    M = cfg.n_modules
    n = int(round(cfg.duration_s / cfg.dt_s))
    check_fits("gate_rates_hz", "duration_s", 8.0 * 4 * n * M, f"{n} steps x {M} modules")
    t = np.arange(n) * cfg.dt_s
    ang = 2 * np.pi * np.arange(M) / M
    out = np.zeros((n, M))
    tau_e = 5e-3  # the TC units' excitatory synaptic time constant
    for ep in episodes:
        amp = cfg.drive_mV * (1 + cfg.drive_gradient * np.cos(ang)) + rng.normal(
            0.0, cfg.drive_jitter_mV, M
        ) * (cfg.drive_jitter_mV > 0)
        onset = ep.start_s + rng.uniform(0.0, cfg.onset_jitter_s, M)
        x = np.clip((t[:, None] - onset[None, :]) / ep.duration_s, 0.0, 1.0)
        out += np.sin(np.pi * x) * np.clip(amp, 0.0, None)[None, :]
    return out / (tau_e * cfg.gate_weight_mV)


def gate_input(
    cfg: SpindleConfig, *, mode: str, batch_size: int = 1, seed: int = 0
) -> tuple[torch.Tensor, list[list[Episode]]]:
    """The gate tensor [steps, batch, modules * units] for a run, and each trial's episodes.

    Rate mode gets the expected spikes per step (rate x dt); spiking mode Bernoulli spikes
    with that probability (drawn from ``seed``), except with ``thalamus_neuron="lif"``,
    where the expected counts drive the LIF cells as a smooth current in both modes. Trials
    differ in their episodes and jitter.
    """
    if mode not in ("rate", "spiking"):
        raise ParameterError(_WHERE, "mode", "'rate' or 'spiking'", mode)
    _checked(cfg, "gate_input")
    batch_size = check_int("gate_input", "batch_size", batch_size, minimum=1)
    seed = check_seed("gate_input", seed)
    K = cfg.units_per_module
    n = int(round(cfg.duration_s / cfg.dt_s))
    check_fits(
        "gate_input",
        "batch_size",
        4.0 * n * batch_size * cfg.n_modules * K,
        f"{n} steps x batch {batch_size} x {cfg.n_modules * K} gate units",
    )
    out = torch.zeros((n, batch_size, cfg.n_modules * K), dtype=torch.float32)
    eps_all = []
    gen = torch.Generator().manual_seed(seed)
    for b in range(batch_size):
        eps = episodes_of(cfg, seed=seed, trial=b)
        eps_all.append(eps)
        p = torch.as_tensor(
            np.repeat(gate_rates_hz(cfg, eps, seed=seed, trial=b) * cfg.dt_s, K, axis=1),
            dtype=torch.float32,
        )
        if mode == "spiking" and cfg.thalamus_neuron == "rate":
            p = (torch.rand(p.shape, generator=gen) < p).to(torch.float32)
        out[:, b, :] = p
    return out, eps_all


def run_spindles(
    cfg: SpindleConfig, *, mode: str, batch_size: int = 1, seed: int = 0, device: str | None = None
) -> tuple[Any, list[list[Episode]]]:
    """Build, run (``cfg.duration_s``) and return the result and every trial's episodes."""
    net = build_spindle_network(cfg)
    gate, eps = gate_input(cfg, mode=mode, batch_size=batch_size, seed=seed)
    sim = Simulator(net, mode=mode, batch_size=batch_size, seed=seed, device=device)
    return sim.run(cfg.duration_s, inputs={"gate": gate}), eps


def lfp(
    result: Any, cfg: SpindleConfig, *, batch: int = 0, population: str = "ex"
) -> tuple[np.ndarray, float]:
    """LFP-like signal [electrodes, time] and its sampling rate (Hz) from a run's result.

    Each electrode reads the Gaussian-weighted (``cfg.lfp_sigma_m``) sum of the firing rates
    (Hz) of the ``population`` sites around it: from the ``<population>_rate`` state monitor
    in rate mode, from the ``<population>_spikes`` monitor (spike counts per step / dt) in
    spiking mode.
    """
    mode = result.run["mode"]
    dt = result.run["dt_s"]
    n_steps = result.run["n_steps"]
    _checked(cfg, "lfp")
    key = f"{population}_rate" if mode == "rate" else f"{population}_spikes"
    _check_result(result, key, batch, "lfp")
    if mode == "rate":
        r = result.states[f"{population}_rate"].values["r"][:, batch, :]  # [T, N]
        return _electrode_weights(cfg) @ r.T, 1.0 / dt
    sp = result.spikes[f"{population}_spikes"]
    sel = sp.batch == batch
    return lfp_from_spikes(sp.step[sel], sp.index[sel], cfg, n_steps=n_steps), 1.0 / dt


def _electrode_weights(cfg: SpindleConfig) -> np.ndarray:
    """Normalised Gaussian (``cfg.lfp_sigma_m``) weights [electrodes, sites] of the LFP."""
    pos = cortex_positions(cfg)
    el = electrode_positions(cfg)
    d2 = ((el[:, None, :] - pos[None, :, :]) ** 2).sum(-1)
    wgt = np.exp(-d2 / (2 * cfg.lfp_sigma_m**2))
    return wgt / wgt.sum(axis=1, keepdims=True)


def _check_result(result: Any, monitor: str, batch: Any, where: str) -> None:
    """``result`` holds the ``monitor`` (a state or spike monitor) and trial ``batch``."""
    found = {**getattr(result, "states", {}), **getattr(result, "spikes", {})}
    if monitor not in found:
        raise ParameterError(where, "result", f"a run with the monitor {monitor!r}", sorted(found))
    n_batch = int(result.run.get("batch_size", 1))
    check_int(where, "batch", batch, minimum=0)
    if batch >= n_batch:
        raise ParameterError(where, "batch", f"a trial index in [0, {n_batch})", batch)


def _check_events(
    step: Any, index: Any, n_steps: Any, size: int, where: str, per_step: int
) -> tuple[np.ndarray, np.ndarray, int]:
    n_steps = check_int(where, "n_steps", n_steps, minimum=1)
    check_fits(where, "n_steps", 8.0 * n_steps * per_step, f"{n_steps} steps x {per_step}")
    step = check_index_array(where, "step", step, n_steps)
    index = check_index_array(where, "index", index, size)
    if index.shape != step.shape:
        raise ParameterError(
            where, "step, index", "1-D arrays of equal length", (step.shape, index.shape)
        )
    return step, index, n_steps


def lfp_from_spikes(step: Any, index: Any, cfg: SpindleConfig, *, n_steps: int) -> np.ndarray:
    """LFP [electrodes, n_steps] of one trial from excitatory spike events (step, site index).

    The same signal as :func:`lfp` in spiking mode (Gaussian-weighted spike counts per step
    / dt), computed from the events alone, e.g. those of a session streamed to HDF5 without
    any state monitor; memory [electrodes, n_steps], not [n_steps, sites].
    """
    _checked(cfg, "lfp_from_spikes")
    n_el = cfg.electrode_rows * cfg.electrode_cols
    step, index, n_steps = _check_events(
        step, index, n_steps, cfg.rows * cfg.cols, "lfp_from_spikes", n_el
    )
    wgt = _electrode_weights(cfg)
    out = np.empty((wgt.shape[0], int(n_steps)))
    for e in range(wgt.shape[0]):
        out[e] = np.bincount(step, weights=wgt[e, index], minlength=int(n_steps)) / cfg.dt_s
    return out


def ring_winding(
    result: Any, cfg: SpindleConfig, episodes: list[Episode], *, batch: int = 0
) -> list[int]:
    """Winding number of the thalamic ring's phase in each episode (0: in phase, +-1: twisted).

    The TC pools' mean rate (``tc_rate`` monitor: rates in rate mode, spikes / dt in spiking
    mode) is band-passed at 9-18 Hz (zero phase); the winding at each step is the sum round
    the ring of the wrapped phase differences of neighbouring modules over 2 pi, and an
    episode's winding is its median over the episode less 0.3 s at either end (episodes
    shorter than that plus 50 steps are skipped).
    """
    _checked(cfg, "ring_winding")
    _check_result(result, "tc_rate", batch, "ring_winding")
    M, K = cfg.n_modules, cfg.units_per_module
    tc = result.states["tc_rate"].values["r"][:, batch, :]
    return _winding_of(tc.reshape(tc.shape[0], M, K).mean(-1), cfg, episodes)


def ring_winding_from_spikes(
    step: Any, index: Any, cfg: SpindleConfig, episodes: list[Episode], *, n_steps: int
) -> list[int]:
    """:func:`ring_winding` of one spiking trial from its TC spike events (step, TC index),
    e.g. those of a session streamed to HDF5 without the ``tc_rate`` state monitor."""
    _checked(cfg, "ring_winding_from_spikes")
    M, K = cfg.n_modules, cfg.units_per_module
    where = "ring_winding_from_spikes"
    step, index, n_steps = _check_events(step, index, n_steps, M * K, where, M)
    tcm = np.zeros((int(n_steps), M))
    np.add.at(tcm, (step, index // K), 1.0 / (K * cfg.dt_s))
    return _winding_of(tcm, cfg, episodes)


def _winding_of(tcm: np.ndarray, cfg: SpindleConfig, episodes: list[Episode]) -> list[int]:
    """Per-episode winding of module rates ``tcm`` [steps, modules] (see :func:`ring_winding`)."""
    from scipy import signal

    if not all(isinstance(e, Episode) for e in episodes):
        raise ParameterError("ring_winding", "episodes", "a list of Episode", episodes)
    fs = 1.0 / cfg.dt_s
    sos = signal.butter(2, (9.0, 18.0), btype="bandpass", fs=fs, output="sos")
    # sosfiltfilt's default edge padding (its padlen formula)
    pad = 3 * (2 * len(sos) + 1 - min(int((sos[:, 2] == 0).sum()), int((sos[:, 5] == 0).sum())))
    if tcm.shape[0] <= pad:
        raise ParameterError(
            "ring_winding",
            "n_steps",
            f"> {pad} steps (the band-pass filter's padding)",
            tcm.shape[0],
        )
    tcm = signal.sosfiltfilt(sos, tcm, axis=0)
    out = []
    for e in episodes:
        a, b = int((e.start_s + 0.3) * fs), int((e.start_s + e.duration_s - 0.3) * fs)
        if b - a < 50:
            continue
        ph = np.angle(signal.hilbert(tcm[a:b], axis=0))
        w = np.angle(np.exp(1j * (np.roll(ph, -1, axis=1) - ph))).sum(axis=1) / (2 * np.pi)
        out.append(int(np.round(np.median(w))))
    return out
