"""Heaviside spike functions with surrogate gradients (for BPTT through spiking networks),
and compact storage of the binary tensors that BPTT keeps for the backward pass.

Training a spiking network by BPTT keeps, for every step, the tensors the backward pass needs:
the surrogate's argument (membrane potential minus threshold), the membrane before the reset,
``1 - z`` of the reset ``v * (1 - z)``, the spikes ``z`` that the next layer's convolution or
matrix product saves for its weight gradient, and the input spikes. The last three hold only
0 and 1 but are float32 (4 bytes per element). Inside :func:`compact_saved_spikes` they are
saved as ``torch.bool`` (1 byte) and converted back, bit-identically, when the backward pass
reads them; the float copies are freed as soon as the forward pass drops them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import torch

__all__ = [
    "superspike",
    "heaviside",
    "SavedTensorStats",
    "compact_saved_spikes",
    "register_spike_function",
]


def _step(x: torch.Tensor) -> torch.Tensor:
    """``(x > 0)`` in ``x``'s dtype (1.0 / 0.0; NaN gives 0). The comparison writes the float
    result directly: on CPU this is several times faster than ``(x > 0).to(x.dtype)``, whose
    bool-to-float conversion is the slow part."""
    if not x.is_floating_point():
        return (x > 0).to(x.dtype)
    return torch.gt(x, 0, out=torch.empty_like(x, memory_format=torch.contiguous_format))


class _SuperSpike(torch.autograd.Function):
    """Forward: ``x > 0``; backward: the fast-sigmoid derivative ``1 / (alpha |x| + 1)^2``."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, alpha: float) -> torch.Tensor:  # type: ignore[override]
        ctx.save_for_backward(x)
        ctx.alpha = alpha
        return _step(x)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):  # type: ignore[override]
        (x,) = ctx.saved_tensors
        return grad / (ctx.alpha * x.abs() + 1.0) ** 2, None


def superspike(x: torch.Tensor, alpha: float = 100.0) -> torch.Tensor:
    """Spike where ``x > 0`` (x = v - threshold, suitably scaled); SuperSpike surrogate."""
    return _SuperSpike.apply(x, alpha)


def heaviside(x: torch.Tensor) -> torch.Tensor:
    """Spike where ``x > 0`` without a gradient path (inference)."""
    return _step(x)


# ------------------------------------------------------------ compact saved tensors

# autograd nodes whose output holds a subset of their (first) input's values
_SAME_VALUES = frozenset(
    {
        "ViewBackward0",
        "UnsafeViewBackward0",
        "ReshapeAliasBackward0",
        "UnsqueezeBackward0",
        "SqueezeBackward0",
        "SqueezeBackward1",
        "TBackward0",
        "TransposeBackward0",
        "PermuteBackward0",
        "ExpandBackward0",
        "SelectBackward0",
        "SliceBackward0",
        "CloneBackward0",
        "AsStridedBackward0",
    }
)
# nodes that may map spikes to spikes (1 - z): their output is checked value by value
_MAYBE_BINARY = frozenset({"RsubBackward1", "RsubBackward0"})


def _origin(node: Any, output_nr: int = 0) -> tuple[Any, int]:
    """Follow value-preserving nodes back to the node that made the values, and which of its
    outputs they are."""
    while node is not None and type(node).__name__ in _SAME_VALUES:
        node, output_nr = node.next_functions[0] if node.next_functions else (None, 0)
    return node, output_nr


def _is_parameter(t: torch.Tensor) -> bool:
    """A leaf that requires grad (a parameter) or a view of one."""
    if not t.requires_grad:
        return False
    node = t.grad_fn
    return node is None or type(_origin(node)[0]).__name__ == "AccumulateGrad"


_SPIKE_NODES: set[type] = {_SuperSpike._backward_cls}  # type: ignore[attr-defined]


def register_spike_function(fn: type[torch.autograd.Function]) -> None:
    """Declare that the FIRST output of the custom autograd function ``fn`` holds only 0 and 1
    (spikes), so :func:`compact_saved_spikes` stores it, where saved, as bool without a check."""
    _SPIKE_NODES.add(fn._backward_cls)  # type: ignore[attr-defined]


def _is_spike_node(node: Any, output_nr: int) -> bool:
    """The first output of a registered spike function (other outputs, e.g. states, are not
    spikes)."""
    return node is not None and output_nr == 0 and type(node) in _SPIKE_NODES


def _binary_kind(t: torch.Tensor) -> str:
    """How to tell whether float ``t`` holds only 0 and 1:

    - ``"spikes"``: made by the surrogate spike function (or a view of its output): 0/1 by
      construction, no check;
    - ``"two_values"``: an elementwise ``c - a * z`` of such spikes (``1 - z``): it has at most
      two distinct values, so it is 0/1 exactly when its minimum and maximum are (one
      reduction);
    - ``"check"``: a leaf without gradient (an input spike tensor): every element is compared;
    - ``""``: anything else, kept as is.
    """
    if not t.is_floating_point():
        return ""
    node = t.grad_fn
    if node is None:
        return "" if t.requires_grad else "check"
    node, nr = _origin(node, t.output_nr)
    if _is_spike_node(node, nr):
        return "spikes"
    if node is not None and type(node).__name__ in _MAYBE_BINARY:
        if _is_spike_node(*_origin(*node.next_functions[0])):
            return "two_values"
    return ""


def _to_float(b: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    # bool -> float through a uint8 view: same values, a faster kernel on CPU
    return b.view(torch.uint8).to(dtype)


def _as_bool(t: torch.Tensor, kind: str) -> torch.Tensor | None:
    """``t`` as bool if it holds only 0 and 1 (decided as :func:`_binary_kind` says)."""
    if kind == "two_values":
        lo, hi = t.aminmax()
        if not (float(lo) in (0.0, 1.0) and float(hi) in (0.0, 1.0)):
            return None
    b = t.to(torch.bool)
    if kind == "check" and not torch.equal(_to_float(b, t.dtype), t):
        return None
    return b


@dataclass
class SavedTensorStats:
    """Bytes of the tensors autograd saved for backward inside :func:`compact_saved_spikes`.

    Activations only: parameters and views of them (``n_parameters`` saves) are kept by the
    model anyway and count no bytes. Each other saved tensor counts with its own extent
    (``numel * element_size``), so a tensor saved twice counts twice; ``original_bytes`` is
    what they take as saved, ``stored_bytes`` what was kept. ``n_compacted`` of ``n_saved``
    tensors were stored as bool.
    """

    n_saved: int = 0
    n_compacted: int = 0
    n_parameters: int = 0
    original_bytes: int = 0
    stored_bytes: int = 0

    @property
    def ratio(self) -> float:
        """original / stored (1.0 when nothing was saved)."""
        return self.original_bytes / self.stored_bytes if self.stored_bytes else 1.0


class _Packed:
    __slots__ = ("bits", "dtype")

    def __init__(self, bits: torch.Tensor, dtype: torch.dtype) -> None:
        self.bits = bits
        self.dtype = dtype


@contextmanager
def compact_saved_spikes(
    *, enabled: bool = True, stats: SavedTensorStats | None = None
) -> Iterator[SavedTensorStats]:
    """Within the block, tensors saved for backward that hold only 0 and 1 are stored as bool.

    Spikes of :func:`superspike` (and views of them) are stored without a check; ``1 - z``
    and leaf tensors without gradient (input spikes) are stored as bool only if every element
    is exactly 0 or 1, otherwise unchanged (see :func:`_binary_kind`). Gradients are bit-identical to
    a run without the block. ``enabled=False`` stores everything unchanged but still counts
    (for measuring). Yields the :class:`SavedTensorStats` (or fills ``stats``).
    """
    st = stats if stats is not None else SavedTensorStats()

    def pack(t: torch.Tensor) -> Any:
        st.n_saved += 1
        if _is_parameter(t):
            st.n_parameters += 1
            return t
        nbytes = t.numel() * t.element_size()
        st.original_bytes += nbytes
        kind = _binary_kind(t) if enabled else ""
        b = _as_bool(t, kind) if kind else None
        if b is None:
            st.stored_bytes += nbytes
            return t
        st.n_compacted += 1
        st.stored_bytes += b.numel() * b.element_size()
        return _Packed(b, t.dtype)

    def unpack(p: Any) -> torch.Tensor:
        return _to_float(p.bits, p.dtype) if isinstance(p, _Packed) else p

    with torch.autograd.graph.saved_tensors_hooks(pack, unpack):
        yield st
