"""Wave-RNN (wRNN) and its baselines (iRNN, LSTM, GRU) behind one interface.

Keller, Muller, Sejnowski, Welling, "Traveling Waves Encode the Recent Past and Enhance Sequence
Learning", ICLR 2024 (arXiv 2309.08045). The wRNN is

    h[t] = ReLU(u * h[t-1] + V x[t] + b)

where ``*`` is a circular convolution over a ring of ``n`` units with ``c`` channels (kernel 3,
channel-mixing like ``nn.Conv1d(c, c, 3)``). Initialisation as in the official code
(``akandykeller/Wave_RNNs``, ``init='fwd'``, ``solo_init='yes'``): ``u`` is a one-unit shift
(identity across channels), ``V`` is zero except at ring position 0 of each channel where every
input has weight 1, and the input bias is zero.

Two documented differences to the official code, both options here:

* ``shift``: the official kernel (``roll(dirac, 1)`` under cross-correlation) moves activity to
  *lower* ring positions; the default ``shift=+1`` moves it to higher positions so that ring
  position ``k`` holds the input from ``k`` steps ago. The two are mirror images (relabel
  ``j -> -j``); ``shift=-1`` gives the official orientation.
* ``bias_init``: the official code leaves PyTorch's default uniform initialisation on the
  convolution bias (wRNN) and on the input bias (iRNN); ``bias_init="official"`` reproduces that,
  the default ``"zeros"`` keeps the linear regime exact (a clean delayed copy of the input).

All models take ``x`` of shape ``(T, batch, n_inp)`` (time first) and return the linear readout of
the last state ``(batch, n_out)`` or of every state ``(T, batch, n_out)``.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from typing import Any, TypedDict, TypeVar

import torch
import torch.nn.functional as F
from torch import nn

from spikesim._validate import check_int
from spikesim.errors import ParameterError, ShapeError

from .._checks import (
    check_device,
    check_fits,
    check_float_dtype,
    check_generator,
    check_options,
    check_tensor,
)
from .fused import wave_recurrence

__all__ = [
    "SequenceModel",
    "WaveRNN",
    "IRNN",
    "LSTMModel",
    "GRUModel",
    "ReferenceWaveRNN",
    "build_model",
    "CONV_IMPLS",
]

CONV_IMPLS = ("fused", "fused_step", "pad_conv", "roll", "unfold", "fft", "nn_conv")


class _Factory(TypedDict):
    """Keywords for torch factories and modules: where parameters live, in which dtype."""

    device: torch.device | str | None
    dtype: torch.dtype


def _check_int(where: str, field: str, value: object, minimum: int) -> int:
    return check_int(where, field, value, minimum=minimum)


def _check_choice(where: str, field: str, value: object, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise ParameterError(where, field, f"one of {', '.join(map(repr, choices))}", value)
    return str(value)


def _check_factory(
    where: str, generator: object, device: object, dtype: object, n_params: float
) -> None:
    """Generator, device and dtype torch accepts, and parameters that fit in memory."""
    check_generator(where, generator)
    check_device(where, device)
    dtype = check_float_dtype(where, "dtype", dtype)
    size = f"{n_params:.3g} parameters"
    check_fits(where, "size", n_params * (torch.finfo(dtype).bits // 8), size)


_M = TypeVar("_M", bound=nn.Module)


def _bare(cls: Callable[..., _M], *args: Any, device: Any, dtype: torch.dtype, **kw: Any) -> _M:
    """``cls(*args, **kw)`` with its parameters allocated on ``device`` but not initialised.

    Built on the meta device, so torch's default initialisation (which draws from, and
    advances, the global RNG even when ``generator`` is given) never runs; the caller sets
    every parameter.
    """
    target = torch.device(device) if device is not None else torch.get_default_device()
    return cls(*args, device="meta", dtype=dtype, **kw).to_empty(device=target)


def _uniform(t: torch.Tensor, bound: float, generator: torch.Generator | None) -> None:
    with torch.no_grad():
        nn.init.uniform_(t, -bound, bound, generator=generator)


class SequenceModel(nn.Module):
    """Common interface: ``forward(x, *, readout="last"|"all", return_hidden=False)``.

    ``x``: ``(T, batch, n_inp)``. Returns ``y`` (``(batch, n_out)`` for ``"last"``,
    ``(T, batch, n_out)`` for ``"all"``) or ``(y, hidden)`` with ``hidden`` ``(T, batch, H)`` when
    ``return_hidden`` is true.
    """

    n_inp: int
    n_out: int
    hidden_size: int

    def _init_readout(self, generator: torch.Generator | None, device, dtype) -> None:
        self.readout = _bare(nn.Linear, self.hidden_size, self.n_out, device=device, dtype=dtype)
        bound = 1.0 / math.sqrt(self.hidden_size)  # PyTorch's default Linear init
        _uniform(self.readout.weight, bound, generator)
        _uniform(self.readout.bias, bound, generator)

    def _check_x(self, x: torch.Tensor) -> None:
        name = type(self).__name__
        if not isinstance(x, torch.Tensor):
            raise ParameterError(name, "x", "a torch.Tensor (T, batch, n_inp)", type(x).__name__)
        if x.ndim != 3 or x.shape[2] != self.n_inp or x.shape[0] < 1 or x.shape[1] < 1:
            raise ShapeError(name, "x", ("T", "batch", self.n_inp), tuple(x.shape))
        check_tensor(name, "x", x, dtype=self.readout.weight.dtype)

    def _run(self, x: torch.Tensor, keep_all: bool) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Return (last hidden (batch, H), all hidden (T, batch, H) or None)."""
        raise NotImplementedError

    def forward(
        self, x: torch.Tensor, *, readout: str = "last", return_hidden: bool = False
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        self._check_x(x)
        _check_choice(type(self).__name__, "readout", readout, ("last", "all"))
        keep_all = readout == "all" or return_hidden
        last, seq = self._run(x, keep_all)
        y = self.readout(seq) if readout == "all" else self.readout(last)
        if return_hidden:
            assert seq is not None  # _run returns every step when keep_all is true
            return y, seq
        return y


class WaveRNN(SequenceModel):
    """Wave-RNN: ReLU RNN whose recurrence is a circular convolution over ``c`` rings of ``n`` units.

    Parameters
    ----------
    n_inp, n_out: input and output sizes.
    n: ring size (units per channel), ``>= kernel_size``.
    channels: number of channels ``c``; the hidden state has ``c * n`` units.
    kernel_size: odd recurrent kernel size (3 in the paper).
    shift: direction of the initial one-unit shift (+1: towards higher ring positions).
    init: ``"wave"`` (shift kernel), ``"identity"`` (dirac: static bump), ``"random"`` (PyTorch's
        default Conv1d init).
    input_init: ``"site"`` (V zero except ring position 0 of each channel = 1) or ``"normal"``
        (N(0, 0.001^2)).
    bias_init: ``"zeros"`` or ``"official"`` (PyTorch default uniform on the convolution bias).
    conv_impl: how the recurrence is computed: ``"fused"`` (default: the whole sequence in one
        autograd node with a hand-written backward, :mod:`.fused`; its per-step form on a CPU,
        its batched form on a GPU), ``"fused_step"`` (the fused per-step form on any device),
        ``"pad_conv"`` (manual
        circular pad + ``conv1d``), ``"roll"`` (three rolled copies, one matmul), ``"unfold"`` (circular pad +
        unfold + matmul), ``"fft"``, or ``"nn_conv"`` (``F.pad(mode="circular")`` + ``conv1d``,
        what ``nn.Conv1d(padding_mode="circular")`` does).
    generator: torch.Generator used for every random initialisation (default: global RNG).
    """

    def __init__(
        self,
        n_inp: int,
        n_out: int,
        *,
        n: int = 100,
        channels: int = 1,
        kernel_size: int = 3,
        shift: int = 1,
        init: str = "wave",
        input_init: str = "site",
        bias_init: str = "zeros",
        conv_impl: str = "fused",
        activation: str = "relu",
        generator: torch.Generator | None = None,
        device: torch.device | str | None = None,
        dtype: torch.dtype = torch.float32,
    ) -> None:
        super().__init__()
        w = "WaveRNN"
        self.n_inp = _check_int(w, "n_inp", n_inp, 1)
        self.n_out = _check_int(w, "n_out", n_out, 1)
        self.n = _check_int(w, "n", n, 1)
        self.channels = _check_int(w, "channels", channels, 1)
        self.kernel_size = kernel_size = _check_int(w, "kernel_size", kernel_size, 1)
        n, n_inp, n_out = self.n, self.n_inp, self.n_out
        if kernel_size % 2 != 1:
            raise ParameterError(w, "kernel_size", "an odd integer", kernel_size)
        if n < kernel_size:
            raise ParameterError(w, "n", f"a ring size >= kernel_size = {kernel_size}", n)
        if isinstance(shift, bool) or not isinstance(shift, int) or abs(shift) > kernel_size // 2:
            raise ParameterError(
                w, "shift", f"an integer with |shift| <= {kernel_size // 2}", shift
            )
        self.shift = shift
        self.init = _check_choice(w, "init", init, ("wave", "identity", "random"))
        self.input_init = _check_choice(w, "input_init", input_init, ("site", "normal"))
        self.bias_init = _check_choice(w, "bias_init", bias_init, ("zeros", "official"))
        self.conv_impl = _check_choice(w, "conv_impl", conv_impl, CONV_IMPLS)
        self.activation = _check_choice(w, "activation", activation, ("relu", "linear"))
        self.hidden_size = self.channels * self.n
        c, k = self.channels, self.kernel_size
        _check_factory(
            w, generator, device, dtype, float(c) * n * (n_inp + 1 + n_out) + c * c * k + c
        )
        kw: _Factory = {"device": device, "dtype": dtype}
        # V x + b: input weight (c, n, n_inp), input bias (c, n)
        self.input_weight = nn.Parameter(torch.zeros(c, n, n_inp, **kw))
        self.input_bias = nn.Parameter(torch.zeros(c, n, **kw))
        # u: (c_out, c_in, k) cross-correlation taps, recurrent bias (c,)
        self.recurrent_weight = nn.Parameter(torch.zeros(c, c, k, **kw))
        self.recurrent_bias = nn.Parameter(torch.zeros(c, **kw))
        with torch.no_grad():
            if self.input_init == "site":
                self.input_weight[:, 0, :] = 1.0
            else:
                self.input_weight.normal_(0.0, 0.001, generator=generator)
            half = k // 2
            if self.init == "random":
                _uniform(self.recurrent_weight, 1.0 / math.sqrt(c * k), generator)
            else:
                s = self.shift if self.init == "wave" else 0
                # cross-correlation: out[j] = sum_m w[m] h[j + m - half]; tap half - s gives
                # out[j] = h[j - s], i.e. activity moves s positions forward per step.
                idx = torch.arange(c)
                self.recurrent_weight[idx, idx, half - s] = 1.0
            if self.bias_init == "official":
                _uniform(self.recurrent_bias, 1.0 / math.sqrt(c * k), generator)
        self._init_readout(generator, device, dtype)

    # -- circular convolution -------------------------------------------------------------------
    def circular_conv(self, h: torch.Tensor) -> torch.Tensor:
        """``u * h`` for ``h`` of shape ``(batch, c, n)`` (bias included)."""
        w, b, half = self.recurrent_weight, self.recurrent_bias, self.kernel_size // 2
        impl = self.conv_impl
        if impl in ("pad_conv", "fused", "fused_step"):
            hp = torch.cat([h[..., -half:], h, h[..., :half]], dim=-1) if half else h
            return F.conv1d(hp, w, b)
        if impl == "nn_conv":
            return F.conv1d(F.pad(h, (half, half), mode="circular"), w, b)
        if impl == "roll":
            # stacked[b, m*c + i, j] = h[b, i, j + m - half]
            stacked = torch.cat(
                [torch.roll(h, shifts=half - m, dims=-1) for m in range(self.kernel_size)], dim=1
            )
            wm = w.permute(0, 2, 1).reshape(self.channels, -1)  # (c_out, k*c_in)
            return torch.matmul(wm, stacked) + b[:, None]
        if impl == "unfold":
            hp = torch.cat([h[..., -half:], h, h[..., :half]], dim=-1) if half else h
            cols = hp.unfold(-1, self.kernel_size, 1)  # (B, c_in, n, k)
            return torch.einsum("bink,oik->bon", cols, w) + b[:, None]
        # fft: circular cross-correlation via the spectrum of the zero-padded, rolled kernel
        kern = torch.zeros(self.channels, self.channels, self.n, dtype=h.dtype, device=h.device)
        for m in range(self.kernel_size):
            kern[:, :, (half - m) % self.n] = w[:, :, m]
        hf = torch.fft.rfft(h, dim=-1)
        kf = torch.fft.rfft(kern, dim=-1)
        out = torch.einsum("oif,bif->bof", kf, hf)
        return torch.fft.irfft(out, n=self.n, dim=-1) + b[:, None]

    def _run(self, x: torch.Tensor, keep_all: bool) -> tuple[torch.Tensor, torch.Tensor | None]:
        steps, batch, _ = x.shape
        c, n = self.channels, self.n
        if self.conv_impl in ("fused", "fused_step"):
            batched = False if self.conv_impl == "fused_step" else None
            args = (
                x,
                self.input_weight,
                self.input_bias,
                self.recurrent_weight,
                self.recurrent_bias,
            )
            relu = self.activation == "relu"
            if not keep_all:
                last = wave_recurrence(*args, relu=relu, keep_all=False, batched=batched)
                return last.reshape(batch, c * n), None
            seq = wave_recurrence(*args, relu=relu, batched=batched)
            seq = seq.reshape(steps, batch, c * n)
            return seq[-1], seq
        # V x + b for every step in one matmul: (T, B, c*n)
        drive = torch.addmm(
            self.input_bias.reshape(-1),
            x.reshape(steps * batch, self.n_inp),
            self.input_weight.reshape(c * n, self.n_inp).t(),
        ).reshape(steps, batch, c, n)
        act = torch.relu if self.activation == "relu" else (lambda v: v)
        # unbind, not drive[t]: one backward node for all steps instead of a full-size
        # zero-filled gradient per step (which made training O(T^2) in memory traffic)
        drives = drive.unbind(0)
        h = act(drives[0] + self.recurrent_bias[:, None])  # h[-1] = 0, conv of zero = bias
        states = [h] if keep_all else None
        for t in range(1, steps):
            h = act(drives[t] + self.circular_conv(h))
            if states is not None:
                states.append(h)
        hidden = torch.stack(states).reshape(steps, batch, c * n) if states is not None else None
        return h.reshape(batch, c * n), hidden

    def ring_state(self, hidden: torch.Tensor) -> torch.Tensor:
        """Reshape a hidden sequence ``(..., c*n)`` to ``(..., c, n)`` ring coordinates."""
        return hidden.reshape(*hidden.shape[:-1], self.channels, self.n)


class ReferenceWaveRNN(SequenceModel):
    """The wRNN written as the official code writes it, for throughput comparisons.

    A per-step ``nn.Linear`` encoder, ``nn.Conv1d(c, c, 3, padding=1, padding_mode='circular')``
    recurrence with ``view``/``flatten`` of the hidden state and a Python loop (official
    ``conv_rnn_model.py`` structure, same initialisation as :class:`WaveRNN` with
    ``bias_init="official"``, ``shift=-1``).
    """

    def __init__(
        self,
        n_inp: int,
        n_out: int,
        *,
        n: int = 100,
        channels: int = 1,
        kernel_size: int = 3,
        generator: torch.Generator | None = None,
        device: torch.device | str | None = None,
        dtype: torch.dtype = torch.float32,
    ) -> None:
        super().__init__()
        w = "ReferenceWaveRNN"
        self.n_inp = _check_int(w, "n_inp", n_inp, 1)
        self.n_out = _check_int(w, "n_out", n_out, 1)
        self.n = _check_int(w, "n", n, 1)
        self.channels = channels = _check_int(w, "channels", channels, 1)
        kernel_size = _check_int(w, "kernel_size", kernel_size, 1)
        n, n_inp, n_out = self.n, self.n_inp, self.n_out
        if kernel_size % 2 != 1:
            raise ParameterError(w, "kernel_size", "an odd integer", kernel_size)
        if n < kernel_size:
            raise ParameterError(w, "n", f"a ring size >= kernel_size = {kernel_size}", n)
        _check_factory(
            w,
            generator,
            device,
            dtype,
            float(channels) * n * (n_inp + 1 + n_out) + channels * channels * kernel_size,
        )
        self.hidden_size = n * channels
        kw: _Factory = {"device": device, "dtype": dtype}
        self.wx = _bare(nn.Linear, n_inp, n * channels, **kw)
        self.wy = _bare(
            nn.Conv1d,
            channels,
            channels,
            kernel_size,
            padding=kernel_size // 2,
            padding_mode="circular",
            **kw,
        )
        with torch.no_grad():
            self.wx.weight.zero_()
            self.wx.bias.zero_()
            self.wx.weight.view(channels, n, n_inp)[:, 0] = 1.0
            wts = torch.zeros(channels, channels, kernel_size)
            nn.init.dirac_(wts)
            self.wy.weight.copy_(torch.roll(wts, 1, -1))
            assert self.wy.bias is not None  # nn.Conv1d is built with bias=True
            _uniform(self.wy.bias, 1.0 / math.sqrt(channels * kernel_size), generator)
        self._init_readout(generator, device, dtype)

    def _run(self, x: torch.Tensor, keep_all: bool) -> tuple[torch.Tensor, torch.Tensor | None]:
        batch = x.shape[1]
        h = torch.zeros(batch, self.hidden_size, device=x.device, dtype=x.dtype)
        states = []
        for t in range(x.shape[0]):
            h = torch.relu(
                self.wx(x[t]) + self.wy(h.view(-1, self.channels, self.n)).flatten(start_dim=1)
            )
            if keep_all:
                states.append(h)
        return h, (torch.stack(states) if keep_all else None)


class IRNN(SequenceModel):
    """iRNN (Le, Jaitly, Hinton 2015): ReLU RNN with U = I, V ~ N(0, 0.001^2).

    ``bias_init="official"`` reproduces the official wRNN code's iRNN, which leaves PyTorch's
    default uniform init on the input bias; ``"zeros"`` (default) zeroes it.

    ``impl``: ``"loop"`` (default: a Python loop of ``addmm`` + ReLU, autograd per step) or
    ``"torch_rnn"`` (the same recurrence through ``torch.rnn_relu``, the op behind
    ``nn.RNN(nonlinearity="relu")``: one cuDNN call for the whole sequence on a GPU, the ATen
    loop on a CPU; ReLU only). Same parameters and values either way (tested).
    """

    def __init__(
        self,
        n_inp: int,
        n_out: int,
        *,
        hidden: int = 100,
        bias_init: str = "zeros",
        activation: str = "relu",
        impl: str = "loop",
        generator: torch.Generator | None = None,
        device: torch.device | str | None = None,
        dtype: torch.dtype = torch.float32,
    ) -> None:
        super().__init__()
        w = "IRNN"
        self.impl = _check_choice(w, "impl", impl, ("loop", "torch_rnn"))
        if impl == "torch_rnn" and activation != "relu":
            raise ParameterError(w, "activation", "'relu' with impl='torch_rnn'", activation)
        self.n_inp = _check_int(w, "n_inp", n_inp, 1)
        self.n_out = _check_int(w, "n_out", n_out, 1)
        self.hidden_size = hidden = _check_int(w, "hidden", hidden, 1)
        n_inp, n_out = self.n_inp, self.n_out
        self.bias_init = _check_choice(w, "bias_init", bias_init, ("zeros", "official"))
        self.activation = _check_choice(w, "activation", activation, ("relu", "linear"))
        _check_factory(w, generator, device, dtype, float(hidden) * (hidden + n_inp + 2 + n_out))
        kw: _Factory = {"device": device, "dtype": dtype}
        self.input_weight = nn.Parameter(torch.empty(hidden, n_inp, **kw))
        self.input_bias = nn.Parameter(torch.zeros(hidden, **kw))
        self.recurrent_weight = nn.Parameter(torch.eye(hidden, **kw))
        self.recurrent_bias = nn.Parameter(torch.zeros(hidden, **kw))
        with torch.no_grad():
            self.input_weight.normal_(0.0, 0.001, generator=generator)
            if self.bias_init == "official":
                _uniform(self.input_bias, 1.0 / math.sqrt(n_inp), generator)
        self._init_readout(generator, device, dtype)

    def _run(self, x: torch.Tensor, keep_all: bool) -> tuple[torch.Tensor, torch.Tensor | None]:
        steps, batch, _ = x.shape
        if self.impl == "torch_rnn":
            h0 = x.new_zeros(1, batch, self.hidden_size)
            params: list[torch.Tensor] = [
                self.input_weight,
                self.recurrent_weight,
                self.input_bias,
                self.recurrent_bias,
            ]
            # (input, hx, params, has_biases, num_layers, dropout, train, bidirectional,
            # batch_first), as nn.RNN calls it
            seq, _ = torch.rnn_relu(
                x.contiguous(), h0, params, True, 1, 0.0, self.training, False, False
            )
            return seq[-1], (seq if keep_all else None)
        drive = torch.addmm(
            self.input_bias + self.recurrent_bias,
            x.reshape(steps * batch, self.n_inp),
            self.input_weight.t(),
        ).reshape(steps, batch, self.hidden_size)
        act = torch.relu if self.activation == "relu" else (lambda v: v)
        wt = self.recurrent_weight.t()
        drives = drive.unbind(0)  # one backward node for all steps (see WaveRNN._run)
        h = act(drives[0])
        states = [h] if keep_all else None
        for t in range(1, steps):
            h = act(torch.addmm(drives[t], h, wt))
            if states is not None:
                states.append(h)
        return h, (torch.stack(states) if states is not None else None)


class _TorchRNN(SequenceModel):
    _cls: type[nn.Module]

    def __init__(
        self,
        n_inp: int,
        n_out: int,
        *,
        hidden: int = 100,
        generator: torch.Generator | None = None,
        device: torch.device | str | None = None,
        dtype: torch.dtype = torch.float32,
    ) -> None:
        super().__init__()
        w = type(self).__name__
        self.n_inp = _check_int(w, "n_inp", n_inp, 1)
        self.n_out = _check_int(w, "n_out", n_out, 1)
        self.hidden_size = hidden = _check_int(w, "hidden", hidden, 1)
        n_inp, n_out = self.n_inp, self.n_out
        gates = 4 if self._cls is nn.LSTM else 3
        n_params = float(hidden) * (gates * (hidden + n_inp + 2) + n_out)
        _check_factory(w, generator, device, dtype, n_params)
        self.rnn = _bare(self._cls, n_inp, hidden, device=device, dtype=dtype)
        bound = 1.0 / math.sqrt(hidden)  # PyTorch's default LSTM/GRU init, drawn from generator
        for p in self.rnn.parameters():
            _uniform(p, bound, generator)
        self._init_readout(generator, device, dtype)

    def _run(self, x: torch.Tensor, keep_all: bool) -> tuple[torch.Tensor, torch.Tensor | None]:
        seq, _ = self.rnn(x)
        return seq[-1], (seq if keep_all else None)


class LSTMModel(_TorchRNN):
    """LSTM baseline (``torch.nn.LSTM``) with a linear readout."""

    _cls = nn.LSTM


class GRUModel(_TorchRNN):
    """GRU baseline (``torch.nn.GRU``) with a linear readout."""

    _cls = nn.GRU


_MODELS: dict[str, type[SequenceModel]] = {
    "wrnn": WaveRNN,
    "irnn": IRNN,
    "lstm": LSTMModel,
    "gru": GRUModel,
    "wrnn_reference": ReferenceWaveRNN,
}


def build_model(kind: str, n_inp: int, n_out: int, **options) -> SequenceModel:
    """Build ``"wrnn"``, ``"irnn"``, ``"lstm"``, ``"gru"`` or ``"wrnn_reference"`` by name."""
    _check_choice("build_model", "kind", kind, tuple(_MODELS))
    cls = _MODELS[kind]
    known = [
        p.name
        for p in inspect.signature(cls.__init__).parameters.values()
        if p.kind is inspect.Parameter.KEYWORD_ONLY
    ]
    check_options("build_model", kind, options, known)
    return cls(n_inp, n_out, **options)
