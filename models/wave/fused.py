"""Fused wave-RNN recurrence: the whole sequence in one autograd node with a hand-written BPTT.

The recurrence of :class:`~spikesim.models.wave.rnn.WaveRNN`

    h[t] = act(V x[t] + a + u * h[t-1] + b),   h[-1] = 0,

(``*`` a circular cross-correlation over the ring, kernel ``u`` of shape ``(c, c, k)``, ``V`` the
input weights, ``a`` the input bias, ``b`` the per-channel recurrent bias) is run in a pure
function with a custom backward instead of an autograd graph of ~6 nodes per step. What makes it
faster than autograd on a CPU (see benchmarks/wave_rnn.md for the measured ratio):

* forward: the states are written into one preallocated, circularly *padded* buffer
  ``(T, B, c, n + k - 1)`` (the ``k // 2`` wrap-around columns are copied after each step), so
  a step is one small input matmul, one ``conv1d`` with no padding copy, and one activation;
  the input drive is computed per step in cache instead of as a ``(T, B, c n)`` tensor;
* backward: one loop over the steps; per step the gradient that flows through time is the
  transposed, flipped kernel applied (``conv1d``) to the circularly padded gradient, and the
  kernel gradient is one ``conv1d_weight`` on the saved padded state. (Autograd's
  ``convolution_backward`` computes both in one call that is ~2x slower on CPU, plus the
  gradient of the padding copy.) The input-weight gradient is accumulated per step as
  ``x[t]^T g[t]`` (a GEMM of a good shape, in cache) instead of one ``(c n, T B) x (T B, n_inp)``
  product, which MKL runs slowly;
* when only the last state is asked for, the backward gets the gradient of that state only
  (no full-size zero gradient for the unused states).

On a GPU the cost is the number of kernel launches per time step, not the FLOPs, so there the
``batched`` form is used (default on CUDA tensors; ``batched=True`` forces it anywhere): the
input drive of all steps is one GEMM before the loop, and the backward loop only carries the
gradient through time (threshold, wrap, one ``conv1d`` per step), writing every step's gradient
into one padded buffer; the kernel, input-weight and bias gradients are then one
``conv1d_weight`` per 64 steps, one GEMM and one sum over all ``T x B`` at the end (about 9
kernels per step instead of 17, at the price of two more ``(T, B, c, n)`` buffers).

Values and gradients equal autograd's through the step-by-step form (checked with
``torch.autograd.gradcheck`` in ``tests/models/test_wave_rnn.py``, both forms).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["wave_recurrence"]


def _wrap(buf: torch.Tensor, half: int) -> None:
    """Fill the ``half`` wrap-around columns of a padded ring buffer ``(..., n + 2 half)``."""
    if half:
        buf[..., :half] = buf[..., -2 * half : -half]
        buf[..., -half:] = buf[..., half : 2 * half]


class _WaveRecurrence(torch.autograd.Function):
    @staticmethod
    def forward(
        ctx, x, in_weight, in_bias, weight, bias, relu: bool, keep_all: bool, batched: bool
    ):  # type: ignore[override]
        steps, batch, n_inp = x.shape
        c, n, _ = in_weight.shape
        half = weight.shape[-1] // 2
        vt = in_weight.reshape(c * n, n_inp).t()
        const = (in_bias + bias[:, None]).reshape(c * n)  # a + b
        hp = x.new_empty(steps, batch, c, n + 2 * half)  # padded states
        core = hp[..., half : half + n]
        if batched:  # the drive of every step in one GEMM: (T, B, c, n)
            drive = torch.addmm(const, x.reshape(steps * batch, n_inp), vt)
            drive = drive.view(steps, batch, c, n)
        for t in range(steps):
            if batched:
                pre = drive[t]
            else:
                pre = torch.addmm(const, x[t], vt).view(batch, c, n)
            if t:
                pre.add_(F.conv1d(hp[t - 1], weight))
            if relu:
                torch.clamp(pre, min=0, out=core[t])
            else:
                core[t].copy_(pre)
            _wrap(hp[t], half)
        ctx.save_for_backward(x, in_weight, hp, weight)
        ctx.relu, ctx.half, ctx.keep_all, ctx.batched = relu, half, keep_all, batched
        ctx.set_materialize_grads(False)
        return core if keep_all else core[-1]

    @staticmethod
    def backward(ctx, grad_out):  # type: ignore[override]
        if grad_out is None:
            return None, None, None, None, None, None, None, None
        if ctx.batched:
            return _backward_batched(ctx, grad_out)
        x, in_weight, hp, weight = ctx.saved_tensors
        half, relu, keep_all = ctx.half, ctx.relu, ctx.keep_all
        steps, batch, c, width = hp.shape
        n_inp = x.shape[-1]
        n = width - 2 * half
        cn = c * n
        core = hp[..., half : half + n]
        need_x, need_v, need_a, need_w, need_b = ctx.needs_input_grad[:5]
        gpad = grad_out.new_empty(batch, c, width)  # circularly padded gradient of one step
        # transposed, flipped kernel: the adjoint of the circular cross-correlation
        wt = weight.transpose(0, 1).flip(-1).contiguous()
        grad_w = torch.zeros_like(weight) if need_w else None
        grad_vt = grad_out.new_zeros(n_inp, cn) if need_v else None
        grad_const = grad_out.new_zeros(c, n)
        grad_x = torch.empty_like(x) if need_x else None
        v = in_weight.reshape(cn, n_inp)
        carry = None
        for t in range(steps - 1, -1, -1):
            if keep_all:
                g = grad_out[t] if carry is None else grad_out[t] + carry
            else:
                g = grad_out if carry is None else carry
            gd = torch.ops.aten.threshold_backward(g, core[t], 0.0) if relu else g.contiguous()
            grad_const += gd.sum(0)
            gflat = gd.view(batch, cn)
            if need_v:
                grad_vt.addmm_(x[t].t(), gflat)
            if need_x:
                torch.mm(gflat, v, out=grad_x[t])
            if t:
                gpad[..., half : half + n] = gd
                _wrap(gpad, half)
                carry = F.conv1d(gpad, wt)
                if need_w:
                    grad_w += torch.nn.grad.conv1d_weight(hp[t - 1], weight.shape, gd)
        grad_v = grad_vt.t().reshape(c, n, n_inp) if need_v else None
        grad_a = grad_const if need_a else None
        grad_b = grad_const.sum(1) if need_b else None
        return grad_x, grad_v, grad_a, grad_w, grad_b, None, None, None


_CHUNK_STEPS = 64  # steps per kernel-gradient call in the batched backward


def _backward_batched(ctx, grad_out):
    """Backward of the ``batched`` form: a loop that only carries the gradient through time,
    then the parameter gradients of all steps at once."""
    x, in_weight, hp, weight = ctx.saved_tensors
    half, relu, keep_all = ctx.half, ctx.relu, ctx.keep_all
    steps, batch, c, width = hp.shape
    n_inp = x.shape[-1]
    n = width - 2 * half
    cn = c * n
    core = hp[..., half : half + n]
    need_x, need_v, need_a, need_w, need_b = ctx.needs_input_grad[:5]
    gp = grad_out.new_empty(steps, batch, c, width)  # padded gradient of every step
    gcore = gp[..., half : half + n]
    wt = weight.transpose(0, 1).flip(-1).contiguous()  # adjoint of the circular correlation
    carry = None
    for t in range(steps - 1, -1, -1):
        if keep_all:
            g = grad_out[t] if carry is None else grad_out[t] + carry
        else:
            g = grad_out if carry is None else carry
        if relu:
            torch.ops.aten.threshold_backward.grad_input(g, core[t], 0.0, grad_input=gcore[t])
        else:
            gcore[t].copy_(g)
        if t:
            _wrap(gp[t], half)
            carry = F.conv1d(gp[t], wt)
    gflat = gcore.reshape(steps * batch, cn)  # one copy: (T B, c n)
    grad_const = gflat.sum(0).view(c, n)
    grad_v = grad_x = grad_w = None
    if need_v:
        grad_v = torch.mm(gflat.t(), x.reshape(steps * batch, n_inp)).view(c, n, n_inp)
    if need_x:
        grad_x = torch.mm(gflat, in_weight.reshape(cn, n_inp)).view(steps, batch, n_inp)
    if need_w:
        # sum over t >= 1 of the correlation of h[t-1] with g[t], in chunks of at most
        # _CHUNK_STEPS steps (a batch of _CHUNK_STEPS * B, so no single call gets huge)
        grad_w = torch.zeros_like(weight)
        g_all = gflat.view(steps, batch, c, n)
        for t0 in range(1, steps, _CHUNK_STEPS):
            t1 = min(steps, t0 + _CHUNK_STEPS)
            grad_w += torch.nn.grad.conv1d_weight(
                hp[t0 - 1 : t1 - 1].reshape((t1 - t0) * batch, c, width),
                weight.shape,
                g_all[t0:t1].reshape((t1 - t0) * batch, c, n),
            )
    grad_a = grad_const if need_a else None
    grad_b = grad_const.sum(1) if need_b else None
    return grad_x, grad_v, grad_a, grad_w, grad_b, None, None, None


def wave_recurrence(
    x: torch.Tensor,
    input_weight: torch.Tensor,
    input_bias: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor,
    *,
    relu: bool = True,
    keep_all: bool = True,
    batched: bool | None = None,
) -> torch.Tensor:
    """States of ``h[t] = act(V x[t] + a + weight * h[t-1] + bias)``, ``h[-1] = 0``.

    ``x``: ``(T, B, n_inp)``; ``input_weight`` ``V``: ``(c, n, n_inp)``; ``input_bias`` ``a``:
    ``(c, n)``; ``weight``: ``(c, c, k)`` circular cross-correlation taps (``k`` odd, ``k <= n``);
    ``bias``: ``(c,)``; ``relu``: ReLU or linear. Returns all states ``(T, B, c, n)``
    (``keep_all``) or the last one ``(B, c, n)``, as views into a padded buffer (not contiguous).
    ``batched``: the form with fewer kernel launches per step (see the module docstring);
    ``None`` (default) uses it for CUDA tensors and the per-step form elsewhere.
    """
    if batched is None:
        batched = x.is_cuda
    return _WaveRecurrence.apply(
        x.contiguous(), input_weight, input_bias, weight, bias, relu, keep_all, bool(batched)
    )
