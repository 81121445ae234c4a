"""Transfer functions of the rate mode: each spiking model's f-I curve.

In ``mode="rate"`` every population is a firing-rate unit whose transfer function is the
stationary rate of its spiking neuron for the mean and the fluctuation of its input:

- LIF: the Siegert formula (diffusion approximation) with the Fourcaud-Brunel correction for
  synaptic filtering, and the exact noiseless f-I curve when there is no fluctuation;
- CUBA LIF (discrete time): the exact noiseless inter-spike interval in steps;
- Izhikevich: an f-I table obtained by simulating the neuron itself (noiseless).
"""

from __future__ import annotations

import math

import numpy as np
import torch

__all__ = ["siegert_rate", "lif_noiseless_rate", "cuba_lif_rate", "izhikevich_fi_table", "interp"]

_ALPHA = math.sqrt(2.0) * 1.4603545088095868  # sqrt(2) |zeta(1/2)|
_TABLE_LO, _TABLE_HI, _TABLE_H = -12.0, 26.0, 1e-2
_TABLE: dict[torch.device, tuple[torch.Tensor, torch.Tensor]] = {}


def _erfcx_table() -> tuple[np.ndarray, np.ndarray]:
    """G(y) = int_0^y erfcx(-u) du and G'(y) = erfcx(-y) on a grid (Gauss-Legendre per cell)."""
    from scipy.special import erfcx

    grid = np.arange(_TABLE_LO, _TABLE_HI + _TABLE_H / 2, _TABLE_H)
    x, w = np.polynomial.legendre.leggauss(8)
    mid = (grid[:-1] + grid[1:]) / 2
    cell = (erfcx(-(mid[:, None] + _TABLE_H / 2 * x)) * w).sum(1) * _TABLE_H / 2
    g = np.concatenate([[0.0], np.cumsum(cell)])
    g -= np.interp(0.0, grid, g)  # anchor G(0) = 0 (0 lies on the grid)
    return g, erfcx(-grid)


def _prim(x: torch.Tensor | float) -> torch.Tensor | float:
    """int_{12}^{x} erfcx(u) du + const for x >= 12: the integrated asymptotic series
    ``(ln x + 1/(4 x^2) - 3/(16 x^4) + 5/(16 x^6) - 105/(128 x^8) + 189/(64 x^10)) / sqrt(pi)``
    (the next term is below 2e-12 at x = 12)."""
    log = math.log(x) if isinstance(x, float) else torch.log(x)
    r = 1 / (x * x)
    series = r * (1 / 4 + r * (-3 / 16 + r * (5 / 16 + r * (-105 / 128 + r * (189 / 64)))))
    return (log + series) / math.sqrt(math.pi)


def _erfcx_antiderivative(*ys: torch.Tensor) -> list[torch.Tensor]:
    """G(y) = int_0^y erfcx(-u) du in float64, for y <= 26, of each of ``ys`` (one shape):
    cubic Hermite on the table, below the table the asymptotic series of erfcx.

    The tensors are evaluated together (one pass of the table arithmetic, which is exact
    per element whatever the batching); the series (a logarithm, whose vectorised and
    scalar kernels may round differently) is evaluated per tensor, so each value is the one
    a call with that tensor alone gives, and only where some value is below the table.
    """
    y = torch.stack(ys) if len(ys) > 1 else ys[0].unsqueeze(0)
    dev = y.device
    if dev not in _TABLE:
        g_np, dg_np = _erfcx_table()
        _TABLE[dev] = (torch.as_tensor(g_np, device=dev), torch.as_tensor(dg_np, device=dev))
    g, dg = _TABLE[dev]
    yc = y.clamp(_TABLE_LO, _TABLE_HI)
    pos = (yc - _TABLE_LO) / _TABLE_H
    i = pos.floor().clamp(0, g.numel() - 2).long()
    t = pos - i
    i1 = i + 1
    u = 1 - t
    uu, tt = u**2, t * t
    h00, h10 = (1 + 2 * t) * uu, t * uu
    h01, h11 = tt * (3 - 2 * t), tt * (t - 1)
    val = (
        h00 * g.take(i)
        + h10 * _TABLE_H * dg.take(i)
        + h01 * g.take(i1)
        + h11 * _TABLE_H * dg.take(i1)
    )
    below = y < _TABLE_LO
    if dev.type == "cpu" and not bool(below.any()):  # no value below the table: no series
        return list(val.unbind(0))
    # below the table: int_{12}^{s} erfcx(x) dx from the asymptotic series (_prim)
    s = (-y).clamp_min(-_TABLE_LO)
    p_lo = _prim(-_TABLE_LO)
    out = []
    for j in range(len(ys)):
        tail = g[0] - (_prim(s[j].contiguous()) - p_lo)
        out.append(torch.where(below[j], tail, val[j]))
    return out


def lif_noiseless_rate(
    mu: torch.Tensor, *, tau_mem_s: float, v_th_mV: float, v_reset_mV: float, t_ref_s: float
) -> torch.Tensor:
    """Rate (Hz) of a LIF with constant mean potential ``mu`` (mV) and no noise."""
    above = mu > v_th_mV
    ratio = (mu - v_reset_mV) / torch.where(above, mu - v_th_mV, torch.ones_like(mu))
    isi = t_ref_s + tau_mem_s * torch.log(torch.where(above, ratio, torch.full_like(mu, 2.0)))
    return torch.where(above, 1.0 / isi, torch.zeros_like(mu))


def siegert_rate(
    mu: torch.Tensor,
    sigma: torch.Tensor,
    *,
    tau_mem_s: float | torch.Tensor,
    tau_syn_s: float | torch.Tensor,
    v_th_mV: float,
    v_reset_mV: float,
    t_ref_s: float,
) -> torch.Tensor:
    """Stationary LIF rate (Hz) for Gaussian input of mean ``mu`` and std ``sigma`` (mV).

    ``rate = 1 / (t_ref + tau sqrt(pi) int_{y_r}^{y_th} exp(u^2)(1 + erf u) du)`` with
    ``y = (v - mu) / sigma + alpha/2 sqrt(tau_syn / tau_mem)`` (Fourcaud & Brunel 2002).
    Computed in float64 from a tabulated antiderivative of ``erfcx(-u)`` (cubic Hermite,
    error < 1e-9 relative); falls back to the noiseless curve where sigma vanishes.
    """
    dtype = mu.dtype
    mu64, sig64 = mu.double(), sigma.double()
    tiny = sig64 < 1e-9
    sig_safe = torch.where(tiny, torch.ones_like(sig64), sig64)
    ratio = torch.as_tensor(tau_syn_s, dtype=torch.float64) / torch.as_tensor(
        tau_mem_s, dtype=torch.float64
    )
    shift = _ALPHA / 2 * torch.sqrt(ratio)
    y_th = (v_th_mV - mu64) / sig_safe + shift
    y_r = (v_reset_mV - mu64) / sig_safe + shift
    y_th = y_th.clamp(max=26.0)
    y_r = torch.minimum(y_r, y_th)
    g_th, g_r = _erfcx_antiderivative(y_th, y_r)
    integral = g_th - g_r
    tau_m = torch.as_tensor(tau_mem_s, dtype=torch.float64)
    rate = 1.0 / (t_ref_s + tau_m * math.sqrt(math.pi) * integral)
    rate = torch.where(torch.isfinite(rate), rate, torch.zeros_like(rate))
    if tiny.any():
        det = lif_noiseless_rate(
            mu64,
            tau_mem_s=float(tau_m.mean()),
            v_th_mV=v_th_mV,
            v_reset_mV=v_reset_mV,
            t_ref_s=t_ref_s,
        )
        rate = torch.where(tiny, det, rate)
    return rate.to(dtype)


def cuba_lif_rate(
    drive: torch.Tensor, *, tau_mem_s: float, v_th: float, dt_s: float
) -> torch.Tensor:
    """Rate (Hz) of the discrete-time CUBA LIF with constant per-step drive ``u + bias``.

    v_n = D (1 - a^n) / (1 - a) with a = exp(-dt/tau_mem); the first n with v_n > v_th is the
    inter-spike interval in steps (reset to 0 after a spike).
    """
    a = math.exp(-dt_s / tau_mem_s)
    v_inf = drive / (1 - a)
    fires = v_inf > v_th
    arg = 1 - v_th * (1 - a) / torch.where(fires, drive, torch.ones_like(drive))
    arg = torch.where(fires, arg, torch.full_like(drive, 0.5)).clamp_min(1e-300)
    n = torch.floor(torch.log(arg) / math.log(a)) + 1
    n = n.clamp_min(1)
    return torch.where(fires, 1.0 / (n * dt_s), torch.zeros_like(drive))


def izhikevich_fi_table(
    a: float,
    b: float,
    c: float,
    d: float,
    *,
    v_peak_mV: float = 30.0,
    i_max: float = 40.0,
    n_points: int = 161,
    dt_s: float = 1e-4,
    duration_s: float = 2.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Noiseless f-I curve of an Izhikevich neuron, by simulating it (rate over the last half)."""
    from .spiking import IzhikevichParams, IzhikevichState, SynapticInput, izhikevich_step

    currents = torch.linspace(-10.0, i_max, n_points, dtype=torch.float64)
    p = IzhikevichParams(a, b, c, d, v_peak_mV, 0.0, 5e-3, 5e-3)
    v = torch.full((1, n_points), -65.0, dtype=torch.float64)
    st = IzhikevichState(v, b * v, torch.zeros_like(v), torch.zeros_like(v))
    n_steps = int(round(duration_s / dt_s))
    count = torch.zeros(n_points, dtype=torch.float64)
    x = SynapticInput(0.0, 0.0, currents.unsqueeze(0))
    for k in range(n_steps):
        z, st = izhikevich_step(x, st, p, dt_s=dt_s)
        if k >= n_steps // 2:
            count += z[0]
    rate = count / (duration_s / 2)
    return currents.numpy(), rate.numpy()


def interp(x: torch.Tensor, xp: torch.Tensor, fp: torch.Tensor) -> torch.Tensor:
    """Piecewise-linear interpolation (clamped at the ends), differentiable in x."""
    x_c = x.clamp(float(xp[0]), float(xp[-1]))
    idx = torch.searchsorted(xp, x_c.contiguous()).clamp(1, xp.numel() - 1)
    x0, x1 = xp[idx - 1], xp[idx]
    f0, f1 = fp[idx - 1], fp[idx]
    t = (x_c - x0) / (x1 - x0)
    return f0 + t * (f1 - f0)
