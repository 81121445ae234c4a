"""Ring temporal convolution: a linear ring of ``n`` units x ``c`` channels with a circulant kernel.

Each channel is a ring of ``n`` units. At every step the state is multiplied by a circulant matrix
(the *shift kernel*: every unit passes its value to its neighbour one position further round the
ring) and the input is added at an *input site*, ring position 0 of every channel. Starting from a
zero state, ring position ``k`` then holds the input from ``k`` steps ago, so any linear readout
of the ring is a temporal convolution of the input history::

    h[t] = W h[t-1] + g * x[t] * e_0            (h[-1] = 0)
    h[t][ch, k] = g[ch] * x[t - k]              (t < n, shift kernel)
    r . h[t] = sum_k K[k] x[t - k],  K[k] = sum_ch r[ch, k] g[ch]

After ``n`` steps the activity wraps round the ring and the readout becomes a convolution with
the kernel periodised with period ``n`` (see :func:`periodic_kernel`).

:func:`shift_kernel` returns the circulant weights as dense ``(c, n, n)`` matrices
``W[ch, i, j]`` (weight from unit ``j`` to unit ``i``), the form a spiking ring on the simulator
core needs; :func:`ring_conv_run` runs the ring in torch.
"""

from __future__ import annotations

import numpy as np
import torch

from spikesim import Circulant, Explicit, Network, RateUnit, Ring, Simulator
from spikesim._validate import check_finite, check_int
from spikesim.errors import ParameterError, ShapeError

from .._checks import check_device, check_fits, check_float_dtype, check_seed, finite_array

__all__ = [
    "circulant_from_taps",
    "shift_kernel",
    "ring_conv_run",
    "readout_kernel",
    "periodic_kernel",
    "spacetime_velocity",
    "ring_network",
    "run_ring_network",
]

_WHERE = "wave ring"


def _check_int(field: str, value: object, minimum: int, where: str = _WHERE) -> int:
    return check_int(where, field, value, minimum=minimum)


def _tensor(field: str, value: object, dtype: torch.dtype, device: object) -> torch.Tensor:
    """``value`` as a tensor of finite numbers (a tensor keeps its autograd graph)."""
    if not isinstance(value, torch.Tensor):
        value = finite_array(_WHERE, field, value)
    t = torch.as_tensor(value, dtype=dtype, device=device)  # type: ignore[arg-type]
    if not bool(torch.isfinite(t).all()):
        raise ParameterError(_WHERE, field, "finite values (no NaN or Inf)", "values with NaN/Inf")
    return t


def circulant_from_taps(taps: np.ndarray, n: int) -> np.ndarray:
    """Circulant ring weights from per-channel taps.

    Parameters
    ----------
    taps: array ``(c, k)`` with ``k`` odd; ``taps[ch, m + k // 2]`` is the weight with which the
        unit at position ``i - m`` drives the unit at position ``i`` (offset ``m`` moves activity
        ``m`` positions forward round the ring).
    n: ring size, ``>= k``.

    Returns
    -------
    ``(c, n, n)`` array ``W`` with ``W[ch, i, (i - m) mod n] = taps[ch, m + k // 2]``.
    """
    dtype = np.asarray(taps).dtype if np.asarray(taps).dtype.kind == "f" else np.float64
    taps = finite_array(_WHERE, "taps", taps).astype(dtype)
    if taps.ndim != 2:
        raise ShapeError(_WHERE, "taps", ("c", "k"), taps.shape)
    c, k = taps.shape
    _check_int("taps.shape[0] (channels)", c, 1)
    if k % 2 != 1:
        raise ParameterError(_WHERE, "taps.shape[1] (kernel_size)", "an odd integer", k)
    n = _check_int("n", n, 1)
    if n < k:
        raise ParameterError(
            _WHERE,
            "n",
            f"a ring size >= the kernel size {k}",
            n,
            "the kernel would wrap onto itself",
        )
    check_fits(_WHERE, "n", float(c) * n * n * taps.dtype.itemsize, f"{c} dense {n} x {n} rings")
    w = np.zeros((c, n, n), dtype=taps.dtype)
    rows = np.arange(n)
    half = k // 2
    for idx in range(k):
        m = idx - half
        w[:, rows, (rows - m) % n] = taps[:, idx, None]
    return w


def shift_kernel(
    n: int,
    c: int,
    *,
    kernel_size: int = 3,
    shift: int = 1,
    gain: float = 1.0,
    dtype: np.dtype | type = np.float64,
) -> np.ndarray:
    """Circulant shift weights for ``c`` independent rings of ``n`` units.

    Every unit drives the unit ``shift`` positions further round its ring with weight ``gain``
    (``shift = +1``: activity moves one unit per step towards higher positions). The weights are
    those of a circular convolution with a ``kernel_size``-tap kernel that is zero except at
    offset ``shift``.

    Returns
    -------
    ``(c, n, n)`` array ``W[ch, i, j]``: weight from unit ``j`` to unit ``i`` of channel ``ch``.
    """
    kernel_size = _check_int("kernel_size", kernel_size, 1)
    if kernel_size % 2 != 1:
        raise ParameterError(_WHERE, "kernel_size", "an odd integer", kernel_size)
    n = _check_int("n", n, 1)
    c = _check_int("c", c, 1)
    if isinstance(shift, bool) or not isinstance(shift, (int, np.integer)):
        raise ParameterError(_WHERE, "shift", "an integer", shift)
    if abs(int(shift)) > kernel_size // 2:
        raise ParameterError(
            _WHERE,
            "shift",
            f"an integer with |shift| <= kernel_size // 2 = {kernel_size // 2}",
            shift,
        )
    if n < kernel_size:
        raise ParameterError(
            _WHERE,
            "n",
            f"a ring size >= kernel_size = {kernel_size}",
            n,
            "the kernel would wrap onto itself",
        )
    taps = np.zeros((c, kernel_size), dtype=dtype)
    taps[:, kernel_size // 2 + int(shift)] = check_finite(_WHERE, "gain", gain)
    return circulant_from_taps(taps, n)


def ring_conv_run(
    x: torch.Tensor | np.ndarray,
    *,
    n: int,
    c: int,
    weights: torch.Tensor | np.ndarray | None = None,
    input_gain: torch.Tensor | np.ndarray | None = None,
    activation: str = "linear",
    dtype: torch.dtype = torch.float64,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """Run the ring on an input sequence and return its state at every step.

    Parameters
    ----------
    x: input, ``(T,)`` or ``(T, batch)``; ``x[t]`` enters ring position 0 of every channel.
    n: ring size (units per channel).
    c: number of channels.
    weights: ``(c, n, n)`` recurrent weights (default: :func:`shift_kernel` ``(n, c)``).
    input_gain: ``(c,)`` gain of the input site of each channel (default all ones).
    activation: ``"linear"`` or ``"relu"``.

    Returns
    -------
    states: ``(T, c, n)`` for a 1-D input, ``(T, batch, c, n)`` otherwise; ``states[t]`` is the
    ring after the input ``x[t]`` was added.
    """
    n = _check_int("n", n, 1)
    c = _check_int("c", c, 1)
    if activation not in ("linear", "relu"):
        raise ParameterError(_WHERE, "activation", "'linear' or 'relu'", activation)
    dtype = check_float_dtype(_WHERE, "dtype", dtype)
    device = check_device(_WHERE, device)
    xt = _tensor("x", x, dtype, device)
    if xt.ndim not in (1, 2) or xt.shape[0] < 1:
        raise ShapeError(_WHERE, "x", ("T", "batch"), tuple(xt.shape))
    itemsize = torch.finfo(dtype).bits // 8
    steps_, batch_ = xt.shape[0], (xt.shape[1] if xt.ndim == 2 else 1)
    check_fits(
        _WHERE,
        "x",
        float(steps_) * batch_ * c * n * itemsize + float(c) * n * n * itemsize,
        f"{steps_} steps x batch {batch_} x {c} channels x {n} units",
    )
    squeeze = xt.ndim == 1
    if squeeze:
        xt = xt[:, None]
    if weights is None:
        w = torch.as_tensor(shift_kernel(n, c), dtype=dtype, device=xt.device)
    else:
        w = _tensor("weights", weights, dtype, xt.device)
        if tuple(w.shape) != (c, n, n):
            raise ShapeError(_WHERE, "weights", (c, n, n), tuple(w.shape))
    if input_gain is None:
        g = torch.ones(c, dtype=dtype, device=xt.device)
    else:
        g = _tensor("input_gain", input_gain, dtype, xt.device)
        if tuple(g.shape) != (c,):
            raise ShapeError(_WHERE, "input_gain", (c,), tuple(g.shape))
    steps, batch = xt.shape
    h = torch.zeros(batch, c, n, dtype=dtype, device=xt.device)
    out = torch.empty(steps, batch, c, n, dtype=dtype, device=xt.device)
    for t in range(steps):
        h = torch.einsum("cij,bcj->bci", w, h)
        h[:, :, 0] += g[None, :] * xt[t, :, None]
        if activation == "relu":
            h = torch.relu(h)
        out[t] = h
    return out[:, 0] if squeeze else out


def readout_kernel(readout: np.ndarray, input_gain: np.ndarray | None = None) -> np.ndarray:
    """Temporal kernel ``K[k] = sum_ch readout[ch, k] * input_gain[ch]`` of a ring readout.

    For the shift ring (``t < n``) ``(readout * states[t]).sum() == sum_k K[k] x[t - k]``.
    """
    r = finite_array(_WHERE, "readout", readout)
    if r.ndim != 2:
        raise ShapeError(_WHERE, "readout", ("c", "n"), r.shape)
    g = (
        np.ones(r.shape[0])
        if input_gain is None
        else finite_array(_WHERE, "input_gain", input_gain)
    )
    if g.shape != (r.shape[0],):
        raise ShapeError(_WHERE, "input_gain", (r.shape[0],), g.shape)
    return g @ r


def periodic_kernel(kernel: np.ndarray, length: int) -> np.ndarray:
    """The ring kernel of period ``n = len(kernel)`` repeated to ``length`` taps.

    Once activity wraps round the ring, position ``k`` holds ``x[t-k] + x[t-k-n] + ...``, so the
    readout is the convolution with this periodised kernel.
    """
    k = finite_array(_WHERE, "kernel", kernel)
    if k.ndim != 1 or k.size < 1:
        raise ShapeError(_WHERE, "kernel", ("n",), k.shape)
    length = _check_int("length", length, 1)
    check_fits(_WHERE, "length", 8.0 * (length + k.size), f"{length} taps")
    reps = -(-length // k.size)
    return np.tile(k, reps)[:length]


def spacetime_velocity(states: np.ndarray, *, max_speed: int = 3) -> tuple[int, float]:
    """Velocity (units per step) of the wave in a space-time record, from its 2-D FFT.

    ``states`` is ``(T, n)`` (time x ring position), ``T >= n``; the last ``n`` steps are used
    (a square window, so the lines ``a = -v b (mod n)`` of the FFT grid are exact: a pattern
    ``p(j - v t)`` has all its power there). Returns the integer ``v`` in
    ``[-max_speed, max_speed]`` whose line carries the most power of the mean-subtracted record
    outside the ``b = 0`` column (which holds no motion), and that power's fraction.
    """
    s = finite_array(_WHERE, "states", states)
    if s.ndim != 2 or s.shape[0] < s.shape[1] or s.shape[1] < 2:
        raise ShapeError(_WHERE, "states", ("T >= n", "n >= 2"), s.shape)
    max_speed = _check_int("max_speed", max_speed, 0)
    n = s.shape[1]
    win = s[-n:] - s[-n:].mean()
    power = np.abs(np.fft.fft2(win)) ** 2  # [a (temporal freq), b (spatial freq)]
    power[:, 0] = 0.0
    total = power.sum()
    if total <= 0:
        raise ParameterError(_WHERE, "states", "a record with spatial structure", "a flat record")
    b = np.arange(n)
    best_v, best_frac = 0, -1.0
    for v in range(-max_speed, max_speed + 1):
        frac = float(power[(-v * b) % n, b].sum() / total)
        if frac > best_frac:
            best_v, best_frac = v, frac
    return best_v, best_frac


def ring_network(
    *,
    n: int,
    c: int = 1,
    input_gain: np.ndarray | None = None,
    activation: str = "linear",
    shift: int = 1,
    dt_s: float = 1e-3,
    name: str = "wave_ring",
) -> Network:
    """The ring as a simulator-core description: discrete-time rate units on a ring.

    Populations: ``"x"`` (a 1-unit spike-tensor source carrying the input sequence) and
    ``"ring"`` (``c * n`` :class:`~spikesim.RateUnit` s, shape ``(c, n)``, :class:`~spikesim.Ring`
    layout, time constants 0 so each unit is the map ``r[k] = f(drive[k])``). Projections:
    ``"input"`` (:class:`~spikesim.Explicit`, the input site = position 0 of each channel, weight
    ``input_gain``) and ``"recurrent"`` (:class:`~spikesim.Circulant`, one offset ``shift``,
    identity across channels, weight ``1 / dt_s`` so that one step of the unit moves activity
    exactly one position). In rate mode, ``r[k + 1] = W r[k] + g x[k]`` (one step behind
    :func:`ring_conv_run`, the synaptic delay); :func:`run_ring_network` aligns the two.
    """
    n = _check_int("n", n, 1)
    c = _check_int("c", c, 1)
    if isinstance(shift, bool) or not isinstance(shift, (int, np.integer)) or shift == 0:
        raise ParameterError(_WHERE, "shift", "a non-zero integer", shift)
    if n < 2 * abs(int(shift)) + 1:
        raise ParameterError(
            _WHERE, "n", f"a ring size >= the kernel size {2 * abs(int(shift)) + 1}", n
        )
    if activation not in ("linear", "relu"):
        raise ParameterError(_WHERE, "activation", "'linear' or 'relu'", activation)
    g = np.ones(c) if input_gain is None else finite_array(_WHERE, "input_gain", input_gain)
    if g.shape != (c,):
        raise ShapeError(_WHERE, "input_gain", (c,), g.shape)
    # the channel identity (c, c) of the Circulant and the ring's state
    check_fits(_WHERE, "c", 8.0 * c * c + 8.0 * c * n, f"{c} channels x {n} units")
    unit = RateUnit(
        tau_s=0.0,
        tau_syn_exc_s=0.0,
        tau_syn_inh_s=0.0,
        transfer=activation,
        gain_hz_per_mV=1.0,
    )
    net = Network(dt_s=dt_s, name=name)
    net.add_spike_tensor("x", 1)
    net.add_population("ring", c * n, unit, shape=(c, n), layout=Ring())
    net.add_projection(
        "input",
        "x",
        "ring",
        Explicit(pre=np.zeros(c, np.int64), post=np.arange(c, dtype=np.int64) * n, weight=g),
    )
    weights = np.eye(c)[:, :, None] / dt_s if c > 1 else np.array([1.0 / dt_s])
    net.add_projection(
        "recurrent", "ring", "ring", Circulant(offsets=(int(shift),), weights=weights, channels=c)
    )
    net.monitor_state("ring", variables=("r",), name="ring_r")
    return net


def run_ring_network(
    net: Network, x: np.ndarray | torch.Tensor, *, mode: str = "rate", seed: int = 0
) -> np.ndarray:
    """Run a :func:`ring_network` on ``x`` ``(T,)`` or ``(T, batch)``; ring states ``(T, batch, c, n)``.

    Runs ``T + 1`` steps in float64 and drops the first, so that ``out[t]`` is the ring after
    input ``x[t]`` arrived, as in :func:`ring_conv_run`.
    """
    xa = finite_array(_WHERE, "x", x)
    xt = torch.as_tensor(xa, dtype=torch.float64)
    if xt.ndim == 1:
        xt = xt[:, None]
    if xt.ndim != 2 or xt.shape[0] < 1:
        raise ShapeError(_WHERE, "x", ("T", "batch"), xa.shape)
    steps, batch = xt.shape
    if not isinstance(net, Network) or "ring" not in net.populations or "x" not in net.populations:
        raise ParameterError(
            _WHERE,
            "net",
            "a network from ring_network (populations 'x' and 'ring')",
            sorted(net.populations) if isinstance(net, Network) else type(net).__name__,
        )
    check_seed(_WHERE, seed)
    ring = net.populations["ring"]
    c, n = ring.shape if ring.shape is not None else (1, ring.size)
    sim = Simulator(net, mode=mode, batch_size=batch, dtype="float64", seed=seed)
    drive = torch.zeros(steps + 1, batch, 1, dtype=torch.float64)
    drive[:steps, :, 0] = xt
    res = sim.run((steps + 1) * net.dt_s, inputs={"x": drive})
    r = res.states["ring_r"].values["r"]  # (steps + 1, batch, c * n)
    return r[1:].reshape(steps, batch, c, n)
