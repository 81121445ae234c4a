"""Heaviside spike functions with surrogate gradients (for BPTT through spiking networks)."""

from __future__ import annotations

import torch

__all__ = ["superspike", "heaviside"]


class _SuperSpike(torch.autograd.Function):
    """Forward: ``x > 0``; backward: the fast-sigmoid derivative ``1 / (alpha |x| + 1)^2``."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, alpha: float) -> torch.Tensor:  # type: ignore[override]
        ctx.save_for_backward(x)
        ctx.alpha = alpha
        return (x > 0).to(x.dtype)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):  # type: ignore[override]
        (x,) = ctx.saved_tensors
        return grad / (ctx.alpha * x.abs() + 1.0) ** 2, None


def superspike(x: torch.Tensor, alpha: float = 100.0) -> torch.Tensor:
    """Spike where ``x > 0`` (x = v - threshold, suitably scaled); SuperSpike surrogate."""
    return _SuperSpike.apply(x, alpha)


def heaviside(x: torch.Tensor) -> torch.Tensor:
    """Spike where ``x > 0`` without a gradient path (inference)."""
    return (x > 0).to(x.dtype)
