"""Projections as tensors: the synapse tables a :class:`~spikesim.network.Projection` becomes
(dense, sparse, one-to-one, convolutional, circulant), their delivery per step (event-driven
for sparse spikes, with per-synapse delays) and the shared event-driven delivery of all
sparse projections leaving one population (:class:`_SparseGroup`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ..connectivity import (
    Circulant,
    Conv2d,
    Dense,
    OneToOne,
    materialize,
)
from ..errors import ParameterError
from ..network import (
    Network,
)
from ..values import draw

_COUNTING_SORT: list[Any] = []


def _stable_argsort(keys: np.ndarray, n_keys: int) -> np.ndarray:
    """``np.argsort(keys, kind="stable")`` for integer keys in ``[0, n_keys)``.

    Large arrays go through a counting sort compiled by numba (linear time: ~20x faster than
    numpy's stable comparison sort at 2e8 synapses, the same order); small ones, or without
    numba, through numpy."""
    if keys.size < 1 << 22 or n_keys > 4 * keys.size:  # small, or a too large count table
        return np.argsort(keys, kind="stable")
    if not _COUNTING_SORT:
        try:
            import numba

            @numba.njit(nogil=True)
            def counting_sort(keys, n_keys):  # pragma: no cover - compiled
                start = np.zeros(n_keys + 1, np.int64)
                for key in keys:
                    start[key + 1] += 1
                for i in range(n_keys):
                    start[i + 1] += start[i]
                order = np.empty(keys.size, np.int64)
                for i in range(keys.size):
                    key = keys[i]
                    order[start[key]] = i
                    start[key] += 1
                return order

            _COUNTING_SORT.append(counting_sort)
        except ImportError:  # pragma: no cover - numba is a dependency
            _COUNTING_SORT.append(None)
    fn = _COUNTING_SORT[0]
    if fn is None or int(keys.min()) < 0 or int(keys.max()) >= n_keys:
        return np.argsort(keys, kind="stable")
    return fn(keys, n_keys)


class _Projection(torch.nn.Module):
    """Runtime form of one projection: maps pre activity [B, N_pre] to post input [B, N_post]."""

    # attribute types (nn.Module's __getattr__ would otherwise type them Tensor | Module)
    name: str
    pre: str
    post: str
    receptor: str
    n_pre: int
    n_post: int
    base_delay: int
    max_delay: int
    hetero: bool
    differentiable: bool
    in_shape: tuple[int, ...]
    stride: int
    padding: int
    channels: int
    ring: int
    offsets: tuple[int, ...]
    weight: torch.Tensor
    rows_w: torch.Tensor
    rows_post: torch.Tensor
    rows_delay: torch.Tensor
    syn_pre: torch.Tensor
    syn_post: torch.Tensor
    n_syn: int

    def __init__(
        self,
        name: str,
        network: Network,
        gen: np.random.Generator,
        *,
        device: torch.device,
        dtype: torch.dtype,
        differentiable: bool,
        keep_coo: bool = True,
    ) -> None:
        super().__init__()
        pr = network.projections[name]
        self.name = name
        self.pre, self.post, self.receptor = pr.pre, pr.post, pr.receptor
        pre, post = network.populations[pr.pre], network.populations[pr.post]
        self.n_pre, self.n_post = pre.size, post.size
        self.base_delay = pr.delay_steps
        where = f"projection {name!r}"
        conn = pr.connectivity
        self.kind: str
        self.max_delay = pr.delay_steps
        self.hetero = False
        make = torch.nn.Parameter if pr.trainable else (lambda t: t)
        if isinstance(conn, Dense):
            w = draw(conn.weight, (self.n_post, self.n_pre), gen, where=where, field="weight")
            self.kind = "dense"
            self._set("weight", make(torch.as_tensor(w, dtype=dtype, device=device)), pr.trainable)
        elif isinstance(conn, OneToOne):
            w = draw(conn.weight, (self.n_pre,), gen, where=where, field="weight")
            self.kind = "one_to_one"
            self._set("weight", make(torch.as_tensor(w, dtype=dtype, device=device)), pr.trainable)
        elif isinstance(conn, Conv2d):
            self.kind = "conv2d"
            self.in_shape = pre.dims
            self.stride, self.padding = conn.stride, conn.padding
            k = torch.as_tensor(np.asarray(conn.kernel), dtype=dtype, device=device)
            self._set("weight", make(k), pr.trainable)
        elif isinstance(conn, Circulant):
            self.kind = "circulant"
            self.channels = conn.channels
            self.ring = self.n_pre // conn.channels
            self.offsets = tuple(int(o) for o in conn.offsets)
            k = torch.as_tensor(conn.kernel3(), dtype=dtype, device=device)
            self._set("weight", make(k), pr.trainable)
        else:
            table = materialize(
                conn,
                where=where,
                pre_shape=pre.dims,
                post_shape=post.dims,
                generator=gen,
                dt_s=network.dt_s,
                pre_layout=pre.layout,
                post_layout=post.layout,
            )
            self.kind = "sparse"
            n_syn = len(table)
            idx_np = np.int32 if max(self.n_pre, self.n_post) < 2**31 - 1 else np.int64
            w_np = np.float32 if dtype == torch.float32 else np.float64
            # pre-major (CSR over pre), post ascending within a pre neuron; where the table is
            # already sorted by post (fixed fan-in draws are), a stable radix sort over pre
            # gives the same order as the lexsort, several times faster
            if n_syn and bool(np.all(table.post[1:] >= table.post[:-1])):
                order = _stable_argsort(table.pre, self.n_pre)
            else:
                order = np.lexsort((table.post, table.pre))
            pre_i = table.pre[order].astype(idx_np)
            post_i = table.post[order].astype(idx_np)
            # float64 draws rounded once to the run's dtype (as torch.as_tensor would)
            w_i = table.weight[order].astype(w_np)
            d_raw = table.delay_steps
            uniform = not n_syn or d_raw.min() == d_raw.max()
            delays = (
                np.full(1, int(d_raw[0]) if n_syn else 0) if uniform else d_raw[order]
            ) + pr.delay_steps
            del table, order, d_raw  # the COO copies are not kept (memory per synapse)
            counts = np.bincount(pre_i, minlength=self.n_pre)
            indptr = np.concatenate([[0], np.cumsum(counts)])
            self.hetero = not uniform
            if n_syn and not self.hetero:
                self.base_delay = int(
                    delays[0]
                )  # one delay for every synapse (rule's + projection's)
            self.max_delay = int(delays.max()) if n_syn else pr.delay_steps
            # padded rows per pre neuron (ELL): one gather + one scatter per step, whatever
            # the number of spikes; memory = n_pre x max fan-out (pad index = n_post)
            fan = max(int(counts.max()) if counts.size else 0, 1)
            # flat slot of each synapse in the padded rows: pre * fan + rank within its row
            col = np.arange(n_syn, dtype=np.int64)
            col -= indptr[pre_i]
            col += pre_i.astype(np.int64) * fan
            rows_post = np.full((self.n_pre, fan), self.n_post, dtype=idx_np)
            rows_post.reshape(-1)[col] = post_i
            rows_w = np.zeros((self.n_pre, fan), dtype=w_np)
            rows_w.reshape(-1)[col] = w_i
            keep = keep_coo or pr.trainable
            if self.hetero or keep:  # per-synapse delays where they differ (or kept, below)
                rows_d = np.zeros((self.n_pre, fan), dtype=np.int64)
                rows_d.reshape(-1)[col] = delays
                self.register_buffer("rows_delay", torch.as_tensor(rows_d, device=device))
            del col
            self.n_syn = n_syn
            # the synapse list (COO, for rates and gradients) only where a run needs it; an
            # event-driven spiking run reads the padded rows alone. Where it is kept, the
            # buffers are those of earlier versions (a saved state_dict loads strictly).
            if keep:
                self.register_buffer("syn_pre", torch.as_tensor(pre_i, device=device))
                self.register_buffer("syn_post", torch.as_tensor(post_i, device=device))
                syn_d = np.broadcast_to(delays, (n_syn,)).astype(np.int64)
                self.register_buffer("syn_delay", torch.as_tensor(syn_d, device=device))
            del pre_i, post_i
            self.register_buffer("rows_post", torch.as_tensor(rows_post, device=device))
            self._set(
                "weight",
                make(torch.as_tensor(w_i, dtype=dtype, device=device)),
                pr.trainable,
            )
            self.register_buffer("rows_w", torch.as_tensor(rows_w, dtype=dtype, device=device))
            if differentiable and self.hetero:
                raise ParameterError(
                    where,
                    "connectivity",
                    "uniform delays for a differentiable run",
                    "per-synapse delays",
                )
        self.differentiable = differentiable

    def sync_rows(self) -> None:
        """Copy a trainable sparse ``weight`` into the padded rows ``rows_w`` if it changed.

        Event-driven delivery (runs without gradient, fused loop included) reads ``rows_w``;
        an optimizer step or an in-place edit changes the parameter only. The check is the
        parameter's identity and version counter (one comparison per run); the copy is the
        parameter's values in its own dtype (bit-identical to a projection built with them).
        """
        if self.kind != "sparse" or not isinstance(self.weight, torch.nn.Parameter):
            return
        w = self.weight
        key = (id(w), w._version, w.dtype, w.device)
        if self.__dict__.get("_rows_key") == key:
            return
        with torch.no_grad():
            valid = self.rows_post < self.n_post  # row-major: the order of ``weight``
            if self.rows_w.dtype != w.dtype or self.rows_w.device != w.device:
                self.rows_w = self.rows_w.to(device=w.device, dtype=w.dtype)
            self.rows_w[valid] = w.detach()
        self.__dict__["_rows_key"] = (id(w), w._version, w.dtype, w.device)

    def _set(self, name: str, t: torch.Tensor, trainable: bool) -> None:
        if trainable:
            self.register_parameter(name, t)  # type: ignore[arg-type]
        else:
            self.register_buffer(name, t)

    @property
    def n_synapses(self) -> int:
        if self.kind == "dense":
            return self.n_pre * self.n_post
        if self.kind == "one_to_one":
            return self.n_pre
        if self.kind == "sparse":
            return self.n_syn
        if self.kind == "conv2d":
            c_out, c_in, kh, kw = self.weight.shape
            return int(self.n_post * c_in * kh * kw)
        return int(self.n_post * self.channels * len(self.offsets))

    def forward(
        self,
        a: torch.Tensor,
        *,
        square: bool = False,
        dense_activity: bool = False,
        active: Any = None,
    ) -> torch.Tensor:
        """Weighted sum of pre activity (spikes or rates); ``square`` uses the squared weights.

        Sparse projections are event-driven for spikes; ``dense_activity`` (rates) or a
        differentiable run uses a sparse matrix product instead.
        """
        w = self.squared_weight() if square else self.weight
        B = a.shape[0]
        if self.kind == "dense":
            return a @ w.t()
        if self.kind == "one_to_one":
            return a * w
        if self.kind == "conv2d":
            c, h, ww = self.in_shape
            out = torch.nn.functional.conv2d(
                a.reshape(B, c, h, ww), w, stride=self.stride, padding=self.padding
            )
            return out.reshape(B, -1)
        if self.kind == "circulant":
            x = a.reshape(B, self.channels, self.ring)
            out = torch.zeros_like(x)
            for j, off in enumerate(self.offsets):
                rolled = torch.roll(x, shifts=off, dims=2)
                out = out + torch.einsum("oi,bin->bon", w[:, :, j], rolled)
            return out.reshape(B, -1)
        # sparse: gather-scatter over all synapses for rates and for differentiable runs
        # (differentiable in weights and activity); event-driven for spikes
        if self.differentiable or dense_activity:
            syn_pre, syn_post = self.coo_int64()
            out = torch.zeros(B, self.n_post, dtype=w.dtype, device=a.device)
            return out.index_add(1, syn_post, a.index_select(1, syn_pre) * w)
        return self._event_driven(a, w, active)

    def squared_weight(self) -> torch.Tensor:
        """``weight * weight`` (the variance term of rate mode), computed once per weight
        version where no gradient flows through it, else per call (part of the graph)."""
        w = self.weight
        if w.requires_grad and torch.is_grad_enabled():
            return w * w
        cached = self.__dict__.get("_w_sq")  # (the weight itself, its version, its square)
        if cached is None or cached[0] is not w or cached[1] != w._version:
            with torch.no_grad():
                cached = (w, w._version, w * w)
            self.__dict__["_w_sq"] = cached
        return cached[2]

    def rate_pair(self, a: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Rate mode's two sums of pre rates ``a`` [B, N_pre]: with the weights and with the
        squared weights (``(forward(a), forward(a, square=True))`` with ``dense_activity``).

        A sparse projection gathers the pre rates once for both; the sums are the same
        (same terms, same order)."""
        if self.kind != "sparse":
            return self(a, dense_activity=True), self(a, square=True, dense_activity=True)
        syn_pre, syn_post = self.coo_int64()
        w, w_sq = self.weight, self.squared_weight()
        g = a.index_select(1, syn_pre)
        B = a.shape[0]
        out = torch.zeros(B, self.n_post, dtype=w.dtype, device=a.device)
        out_sq = torch.zeros(B, self.n_post, dtype=w.dtype, device=a.device)
        return out.index_add(1, syn_post, g * w), out_sq.index_add(1, syn_post, g * w_sq)

    def coo_int64(self) -> tuple[torch.Tensor, torch.Tensor]:
        """:meth:`coo` as int64 tensors, converted once per table (and device) and kept.

        torch's CPU ``index_add`` along dim 1 takes a ~16x slower path for an int32 index
        (2.1 vs 0.13 ms for 32k synapses) and ``index_select`` wants int64 too; the tables
        stay int32 in the state_dict, the int64 copies (8 bytes per synapse and index) live
        beside them while the projection is used this way.
        """
        # the source tables themselves are the key (held, so their identity stays theirs)
        src = [self.syn_pre, self.syn_post] if "syn_pre" in self._buffers else [self.rows_post]
        key = [(t, t._version) for t in src]
        cached = self.__dict__.get("_coo64")
        if (
            cached is None
            or len(cached[0]) != len(key)
            or any(t is not u or v != x for (t, v), (u, x) in zip(cached[0], key, strict=True))
        ):
            syn_pre, syn_post = self.coo()
            cached = (key, (syn_pre.long(), syn_post.long()))
            self.__dict__["_coo64"] = cached
        return cached[1]

    def coo(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(pre, post) index of every synapse of a sparse projection, in ``weight``'s order.

        Kept when the simulator needs them (rate mode, gradients, trainable weights); else
        read from the padded rows (pre-major, the same order).
        """
        if "syn_pre" in self._buffers:
            return self.syn_pre, self.syn_post
        valid = self.rows_post < self.n_post
        return torch.nonzero(valid)[:, 0].to(self.rows_post.dtype), self.rows_post[valid]

    def _event_driven(self, a: torch.Tensor, w: torch.Tensor, active: Any = None) -> torch.Tensor:
        """Gather the padded rows of the active pre neurons and scatter-add into the targets.

        ``active`` is ``torch.nonzero(a, as_tuple=True)`` when the caller already has it (all
        projections leaving one population share it).
        """
        B = a.shape[0]
        n1 = self.n_post + 1
        out = torch.zeros(B * n1, dtype=self.rows_w.dtype, device=a.device)
        b, i = torch.nonzero(a, as_tuple=True) if active is None else active
        if b.numel():
            rw = self.rows_w[i] if w is self.weight else self.rows_w[i] ** 2
            vals = rw * a[b, i].to(rw.dtype).unsqueeze(1)
            out.index_add_(
                0, (b.unsqueeze(1) * n1 + self.rows_post[i]).reshape(-1), vals.reshape(-1)
            )
        return out.view(B, n1)[:, : self.n_post]

    def scatter_delayed(
        self,
        a: torch.Tensor,
        buf: torch.Tensor,
        step: int,
        *,
        square: bool = False,
        active: Any = None,
    ) -> None:
        """Per-synapse delays: add each active synapse's weight to buf[(step + 1 + d) % L].

        The ring buffer has one spare column per trial (index n_post) that absorbs padding.
        """
        b, i = torch.nonzero(a, as_tuple=True) if active is None else active
        if not b.numel():
            return
        L, B, N1 = buf.shape
        rw = self.rows_w[i] ** 2 if square else self.rows_w[i]
        vals = rw * a[b, i].to(rw.dtype).unsqueeze(1)
        slot = (step + 1 + self.rows_delay[i]) % L
        idx = (slot * B + b.unsqueeze(1)) * N1 + self.rows_post[i]
        buf.view(-1).index_add_(0, idx.reshape(-1), vals.reshape(-1))


class _SparseGroup:
    """The event-driven sparse projections leaving one population, delivered together.

    Their padded rows are concatenated (targets offset into one flat output), so one
    nonzero, one gather and one index_add serve them all. Each target element receives the
    same terms in the same order as with one projection at a time, so the sums are identical.
    """

    def __init__(self, projections: list[_Projection], B: int, *, binary: bool) -> None:
        self.B = B
        self.n_pre = projections[0].n_pre
        self.binary = binary  # activity is 0/1: the weights need no product with it
        posts, ws, strides = [], [], []
        self.members: list[tuple[_Projection, int, int]] = []
        off = 0
        for pr in projections:
            n1 = pr.n_post + 1
            posts.append(pr.rows_post.to(torch.int64) + off)
            ws.append(pr.rows_w)
            strides.append(torch.full((pr.rows_post.shape[1],), n1, dtype=torch.int64))
            self.members.append((pr, off, n1))
            off += B * n1
        self.total = off
        self.rows_post = torch.cat(posts, dim=1)
        self.rows_w = torch.cat(ws, dim=1)
        self.stride = torch.cat(strides).to(self.rows_post.device).unsqueeze(0)

    def deliver(self, a: torch.Tensor, out: dict[str, torch.Tensor]) -> None:
        B = self.B
        buf = torch.zeros(self.total, dtype=self.rows_w.dtype, device=a.device)
        flat_a = a.reshape(-1)
        j = torch.nonzero(flat_a).view(-1)  # row-major: the order of nonzero(a, as_tuple)
        if j.numel():
            if B == 1:
                i = j
                idx = self.rows_post[i]
            else:
                b = torch.div(j, self.n_pre, rounding_mode="floor")
                i = j - b * self.n_pre
                idx = self.rows_post[i] + b.unsqueeze(1) * self.stride
            vals = self.rows_w[i]
            if not self.binary:
                vals = vals * flat_a[j].to(vals.dtype).unsqueeze(1)
            buf.index_add_(0, idx.view(-1), vals.view(-1))
        for pr, off, n1 in self.members:
            out[pr.name] = buf[off : off + B * n1].view(B, n1)[:, : pr.n_post]


# ------------------------------------------------------------------- fused fast loop
