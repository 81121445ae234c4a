"""Compiled CPU execution (numba) of the spiking fast loop without gradient.

:class:`CompiledLoop` takes the tensors an ``engine.fast_loop._FastLoop`` has built (activity ``A``,
arrival buffer, rings, fused LIF state, sparse tables) as numpy views and runs whole chunks of
steps in one numba call: no Python or torch dispatch per step. It performs the same
floating-point operations in the same order per element as the torch fast loop, so on CPU it
gives the same bits:

- the exponential of the conductance-based LIF update calls the function torch's ``exp_``
  itself calls on a contiguous CPU tensor (MKL VML ``vmdExp`` / ``vmsExp`` from libtorch_cpu,
  high-accuracy mode, in place); a self-test against ``torch.exp`` refuses the compiled path
  when they differ (another torch build);
- Poisson random numbers are drawn by torch with the run's generator, step by step and source
  by source in the same order as the torch loop, and passed to the compiled loop;
- synaptic delivery adds the same terms into the same slots in the same order (active units in
  increasing index, table columns in order) as ``index_add_`` on one thread.

Supported: fused LIF groups (current or conductance synapses, refractory), Poisson and
spike-times sources,
sparse / fixed-fan-in projections (tables), integer delays (rings), spike and rate monitors.
Anything else returns a reason from :func:`unsupported_reason` and the torch loop runs.
"""

from __future__ import annotations

import ctypes
import os
from typing import Any

import numpy as np
import torch

try:  # optional dependency
    import numba
    from llvmlite import binding as _llvm
    from llvmlite import ir as _ir
    from numba.core import cgutils as _cgutils
    from numba.extending import intrinsic as _intrinsic
except ImportError:  # pragma: no cover - exercised only without numba
    numba = None  # type: ignore[assignment]

_VML = ("vmdExp", "vmsExp")
# what ATen passes to MKL VML for exp: VML_HA | VML_FTZDAZ_OFF | VML_ERRMODE_IGNORE
_VML_MODE = 0x2 | 0x140000 | 0x100
_STATE: dict[str, Any] = {"registered": None}


def _register_vml() -> str | None:
    """Make torch's MKL VML exp symbols callable from numba; returns a reason on failure."""
    if _STATE["registered"] is not None:
        return _STATE["registered"] or None
    reason = ""
    if numba is None:
        reason = "numba is not installed"
    elif not torch.backends.mkl.is_available():
        reason = "torch is built without MKL (its exp is not reproduced)"
    else:
        path = os.path.join(os.path.dirname(torch.__file__), "lib", "libtorch_cpu.so")
        try:
            lib = ctypes.CDLL(path)
            for name in _VML:
                addr = ctypes.cast(getattr(lib, name), ctypes.c_void_p).value
                _llvm.add_symbol(name, addr)
        except (OSError, AttributeError) as exc:
            reason = f"MKL VML exp symbols not found in {path}: {exc}"
    _STATE["registered"] = reason
    return reason or None


if numba is not None:

    def _vml_codegen(ltype: Any, symbol: str) -> Any:
        def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
            i32, i64 = _ir.IntType(32), _ir.IntType(64)
            ptr = ltype.as_pointer()
            fnty = _ir.FunctionType(_ir.VoidType(), [i32, ptr, ptr, i64])
            fn = _cgutils.get_or_insert_function(builder.module, fnty, symbol)
            n = builder.trunc(args[0], i32)
            x = builder.inttoptr(args[1], ptr)
            builder.call(fn, [n, x, x, i64(_VML_MODE)])
            return context.get_dummy_value()

        return codegen

    @_intrinsic
    def _vml_exp_d(typingctx: Any, n: Any, addr: Any) -> Any:
        sig = numba.types.void(numba.types.intp, numba.types.intp)
        return sig, _vml_codegen(_ir.DoubleType(), "vmdExp")

    @_intrinsic
    def _vml_exp_f(typingctx: Any, n: Any, addr: Any) -> Any:
        sig = numba.types.void(numba.types.intp, numba.types.intp)
        return sig, _vml_codegen(_ir.FloatType(), "vmsExp")

    @numba.njit(cache=True)
    def _exp_inplace(x: Any) -> None:
        # torch.exp_ on a contiguous float tensor: MKL VML, in place, high accuracy mode
        if x.itemsize == 8:
            _vml_exp_d(x.size, x.ctypes.data)  # type: ignore[call-arg]
        else:
            _vml_exp_f(x.size, x.ctypes.data)  # type: ignore[call-arg]

    # error_model="numpy": a float division follows IEEE 754 (as torch's div_), no Python
    # ZeroDivisionError check per element
    @numba.njit(cache=True, error_model="numpy")
    def _run_chunk(
        k0,
        K,
        A,
        hist,
        buf,
        rand,
        src_spec,
        prob,
        st_spec,
        st_steps,
        st_idx,
        G,
        P,
        S,
        last,
        gscr,
        nscr,
        rings,
        trows,
        tw,
        tspec,
        merges,
        to_ring,
    ):
        B = A.shape[0]
        T = buf.shape[1]
        for kk in range(K):
            k = k0 + kk
            # 1) Poisson sources
            for s in range(src_spec.shape[0]):
                a0 = src_spec[s, 0]
                n = src_spec[s, 1]
                r = rand[s]
                pr = prob[s]
                for b in range(B):
                    for i in range(n):
                        on = r[kk, b, i] < pr[b, i]
                        hist[kk, b, a0 + i] = on
                        A[b, a0 + i] = 1.0 if on else 0.0
            # spike-times sources: the events of step k (steps sorted), in every trial
            for s in range(st_spec.shape[0]):
                a0 = st_spec[s, 0]
                n = st_spec[s, 1]
                e0 = st_spec[s, 2]
                e1 = st_spec[s, 3]
                for b in range(B):
                    for i in range(n):
                        A[b, a0 + i] = 0.0
                        hist[kk, b, a0 + i] = False
                lo = e0 + np.searchsorted(st_steps[e0:e1], k, side="left")
                hi = e0 + np.searchsorted(st_steps[e0:e1], k, side="right")
                for e in range(lo, hi):
                    for b in range(B):
                        A[b, a0 + st_idx[e]] = 1.0
                        hist[kk, b, a0 + st_idx[e]] = True
            # 2) fused LIF groups, the same operations as lif_step_
            for gi in range(G.shape[0]):
                a0 = G[gi, 0]
                n = G[gi, 1]
                ek = G[gi, 2]
                ex = G[gi, 3]
                ik = G[gi, 4]
                ix = G[gi, 5]
                ref_steps = G[gi, 6]
                cond = G[gi, 7]
                e_exc_zero = G[gi, 8]
                reset_lt_th = G[gi, 9]
                c = P[gi]
                st = S[gi]
                ls = last[gi]
                g = gscr[gi]
                num = nscr[gi]
                one, e_exc, e_inh, leak = c[0], c[1], c[2], c[3]
                a_m, c_e, c_i, v_th, v_reset, drive = c[4], c[5], c[6], c[7], c[8], c[9]
                dec_e, dec_i = c[10], c[11]
                re = rings[ex] if ek == 2 else rings[0]
                ri = rings[ix] if ik == 2 else rings[0]
                se = k % re.shape[0]
                si = k % ri.shape[0]
                since = k - ref_steps
                # per element the operations of lif_step_ in its order; the passes are
                # fused (each element's sequence is unchanged), torch's exp_ between them
                for b in range(B):
                    for i in range(n):
                        ie = st[1, b, i]
                        ii = st[2, b, i]
                        if ek == 1:
                            ie += buf[b, ex + i]
                        elif ek == 2:
                            ie += re[se, b, i]
                        if ik == 1:
                            ii += buf[b, ix + i]
                        elif ik == 2:
                            ii += ri[si, b, i]
                        if cond == 1:
                            gg = ie + one
                            gg = gg + ii
                            if e_exc_zero == 1:
                                nm = ii * e_inh + drive
                            else:
                                nm = ie * e_exc + drive
                                nm = nm + ii * e_inh
                            num[b * n + i] = nm / gg
                            g[b * n + i] = gg * leak
                        else:
                            v = (st[0, b, i] - drive) * a_m + drive
                            v = v + ie * c_e
                            st[0, b, i] = v - ii * c_i
                        st[1, b, i] = ie * dec_e
                        st[2, b, i] = ii * dec_i
                if cond == 1:
                    _exp_inplace(g)
                for b in range(B):
                    for i in range(n):
                        if cond == 1:
                            nm = num[b * n + i]
                            v = (st[0, b, i] - nm) * g[b * n + i] + nm
                        else:
                            v = st[0, b, i]
                        refr = False
                        if ref_steps > 0:
                            refr = ls[b, i] > since
                            if refr:
                                v = v_reset
                        spk = v > v_th
                        if ref_steps > 0:
                            if reset_lt_th == 0 and refr:
                                spk = False
                            if spk:
                                ls[b, i] = k
                        hist[kk, b, a0 + i] = spk
                        if spk:
                            A[b, a0 + i] = 1.0
                            v = v_reset
                        else:
                            A[b, a0 + i] = 0.0
                        st[0, b, i] = v
                if ek == 2:
                    rings[ex][k % rings[ex].shape[0]] = 0.0
                if ik == 2 and not (ek == 2 and ix == ex):
                    rings[ix][k % rings[ix].shape[0]] = 0.0
            # 3) delivery
            buf[:, :] = 0.0
            for t in range(tspec.shape[0]):
                a0 = tspec[t, 0]
                n = tspec[t, 1]
                base = tspec[t, 2]
                rows = trows[t]
                w = tw[t]
                W = rows.shape[1]
                for b in range(B):
                    for i in range(n):
                        if A[b, a0 + i] != 0.0:
                            for col in range(W):
                                buf[b, base + rows[i, col]] += w[i, col]
            for m in range(merges.shape[0]):
                d0 = merges[m, 0]
                s0 = merges[m, 1]
                n = merges[m, 2]
                for b in range(B):
                    for i in range(n):
                        buf[b, d0 + i] += buf[b, s0 + i]
            for m in range(to_ring.shape[0]):
                ring = rings[to_ring[m, 0]]
                slot = (k + 1 + to_ring[m, 1]) % ring.shape[0]
                o = to_ring[m, 2]
                n = to_ring[m, 3]
                for b in range(B):
                    for i in range(n):
                        ring[slot, b, i] += buf[b, o + i]
        return T


if numba is not None:

    @numba.njit(cache=True)
    def _events(hist: Any, m: int) -> Any:
        # the nonzero entries of hist[:m] (bool [steps, B, N]) in (step, trial, column) order
        count = 0
        for kk in range(m):
            for b in range(hist.shape[1]):
                for i in range(hist.shape[2]):
                    if hist[kk, b, i]:
                        count += 1
        steps = np.empty(count, dtype=np.int64)
        trial = np.empty(count, dtype=np.int64)
        cols = np.empty(count, dtype=np.int64)
        j = 0
        for kk in range(m):
            for b in range(hist.shape[1]):
                for i in range(hist.shape[2]):
                    if hist[kk, b, i]:
                        steps[j] = kk
                        trial[j] = b
                        cols[j] = i
                        j += 1
        return steps, trial, cols


def _np(t: torch.Tensor) -> np.ndarray:
    return t.detach().numpy()


def _col(view: torch.Tensor, base: torch.Tensor) -> int:
    """Column of ``view`` (a [B, n] slice of the [B, T] tensor ``base``)."""
    return int(view.storage_offset() - base.storage_offset())


def unsupported_reason(loop: Any, rec: Any) -> str | None:
    """Why the compiled loop cannot run this fast loop (None: it can)."""
    from .network import SpikeMonitor

    sim = loop.sim
    if sim.device.type != "cpu":
        return f"device is {sim.device}, the compiled loop runs on CPU only"
    if sim.dtype not in (torch.float32, torch.float64):
        return f"dtype {sim.dtype} not supported"
    reason = _register_vml()
    if reason:
        return reason
    for p, _ in loop.sources:
        if type(p.model).__name__ not in ("PoissonSource", "SpikeTimesSource"):
            return (
                f"source {p.name!r} is a {type(p.model).__name__} "
                "(only Poisson and spike-times sources)"
            )
    for g in loop.groups:
        if not g.fused:
            return f"population {g.p0.name!r} is not a fused LIF group"
    if loop.others:
        return f"projection {loop.others[0][0].name!r} is not sparse (only sparse tables)"
    for m in rec.mons:
        if isinstance(m, SpikeMonitor):
            if m.name not in rec.block_of:
                return f"spike monitor {m.name!r} is not read from the activity block"
        elif type(m).__name__ != "RateMonitor":
            return f"monitor {m.name!r} is a {type(m).__name__} (only spike and rate monitors)"
    if not _exp_matches(sim.dtype):
        return "MKL VML exp through numba differs from torch.exp on this machine"
    return None


def _exp_matches(dtype: torch.dtype) -> bool:
    gen = torch.Generator().manual_seed(0)
    x = -(torch.rand(4099, generator=gen, dtype=dtype) * 0.3)
    ours = _np(x).copy()
    _exp_inplace(ours)
    return bool(np.array_equal(ours, _np(torch.exp(x))))


class CompiledLoop:
    """Runs a built ``_FastLoop`` in compiled chunks (see the module docstring)."""

    def __init__(self, loop: Any, *, chunk: int = 256) -> None:
        self.loop = loop
        self.chunk = chunk
        B, dt = loop.B, loop.sim.dtype
        npdt = np.float64 if dt == torch.float64 else np.float32
        buf = loop.buf
        self.A = _np(loop.A)
        self.buf = _np(buf)
        ring_ids: dict[int, int] = {}
        rings: list[np.ndarray] = []
        for g in loop.groups:
            for ring in g.rings:
                ring_ids[id(ring)] = len(rings)
                rings.append(_np(ring))
        if not len(rings):
            rings.append(np.zeros((1, B, 1), dtype=npdt))
        self.rings = tuple(rings)
        G = np.zeros((len(loop.groups), 10), dtype=np.int64)
        P = np.zeros((len(loop.groups), 12), dtype=npdt)
        S: list[np.ndarray] = []
        last: list[np.ndarray] = []
        gscr: list[np.ndarray] = []
        nscr: list[np.ndarray] = []
        a_base = loop.A.storage_offset()
        for gi, g in enumerate(loop.groups):
            G[gi, 0] = g.z.storage_offset() - a_base
            G[gi, 1] = g.n
            for r, (kc, xc) in (("exc", (2, 3)), ("inh", (4, 5))):
                arr = g.arrive[r]
                if arr is None:
                    continue
                if arr.dim() == 3:
                    G[gi, kc], G[gi, xc] = 2, ring_ids[id(arr)]
                else:
                    G[gi, kc], G[gi, xc] = 1, _col(arr, buf)
            p = g.p0.params
            G[gi, 6] = p.ref_steps
            G[gi, 7] = int(bool(p.conductance))
            G[gi, 8] = int(p.e_exc_mV == 0.0)
            G[gi, 9] = int(p.v_reset_mV < p.v_th_mV)
            c = g.scratch.const
            drive = c["drive"].item()
            vals = [c[x].item() for x in ("one", "e_exc", "e_inh", "leak", "a_m", "c_e", "c_i")]
            vals += [c["v_th"].item(), c["v_reset"].item(), drive]
            vals += [float(g.scratch.decay[0, 0, 0]), float(g.scratch.decay[1, 0, 0])]
            P[gi] = np.asarray(vals, dtype=npdt)
            S.append(_np(g.S))
            last.append(_np(g.state.ref))
            gscr.append(np.empty(B * g.n, dtype=npdt))
            nscr.append(np.empty(B * g.n, dtype=npdt))
        self.G, self.P = G, P
        self.S, self.last = tuple(S), tuple(last)
        self.gscr, self.nscr = tuple(gscr), tuple(nscr)
        # Poisson sources
        self.src: list[tuple[Any, int]] = []
        spec: list[tuple[int, int]] = []
        prob: list[np.ndarray] = []
        dt_s = loop.sim.dt_s
        st_spec: list[tuple[int, int, int, int]] = []
        st_steps: list[np.ndarray] = []
        st_idx: list[np.ndarray] = []
        n_ev = 0
        for p, z in loop.sources:
            if type(p.model).__name__ == "SpikeTimesSource":
                steps, idx = p.params
                st_spec.append((z.storage_offset() - a_base, p.size, n_ev, n_ev + len(steps)))
                st_steps.append(np.asarray(steps, dtype=np.int64))
                st_idx.append(np.asarray(idx, dtype=np.int64))
                n_ev += len(steps)
                continue
            spec.append((z.storage_offset() - a_base, p.size))
            prob.append(_np((p.params * dt_s).expand(B, p.size).contiguous()))
            self.src.append((p, p.size))
        self.st_spec = np.asarray(st_spec, dtype=np.int64).reshape(-1, 4)
        self.st_steps = np.concatenate(st_steps + [np.zeros(0, np.int64)])
        self.st_idx = np.concatenate(st_idx + [np.zeros(0, np.int64)])
        if not len(prob):
            prob.append(np.zeros((B, 1), dtype=npdt))
        self.src_spec = np.asarray(spec, dtype=np.int64).reshape(-1, 2)
        self.prob = tuple(prob)
        # delivery: tables (absolute rows) then split projections (rows + base), in order;
        # a unit's spikes are read from A (the torch loop reads a bool copy of them)
        self._unit_at: dict[int, int] = {}
        for uname, mask in loop.mask.items():
            at = loop.where[uname] if uname in loop.where else None
            if at is None:  # a fused group: "group:" + its first member
                at = loop.where[uname.split(":", 1)[1]]
            self._unit_at[mask.untyped_storage().data_ptr()] = at[0]
        self._unit_at[loop.A.untyped_storage().data_ptr()] = 0
        trows: list[np.ndarray] = []
        tw: list[np.ndarray] = []
        tspec: list[tuple[int, int, int]] = []
        for a, n_u, _binary, rows, w in loop.tables:
            trows.append(_np(rows).astype(np.int64))
            tw.append(np.ascontiguousarray(_np(w)))
            tspec.append((self._a_offset(a), n_u, 0))
        for _name, a, n_pre, _n_post, _binary, rows, w, base in loop.split:
            trows.append(_np(rows).astype(np.int64))
            tw.append(np.ascontiguousarray(_np(w)))
            tspec.append((self._a_offset(a), n_pre, base))
        if not len(trows):
            trows.append(np.zeros((1, 1), dtype=np.int64))
            tw.append(np.zeros((1, 1), dtype=npdt))
        self.trows, self.tw = tuple(trows), tuple(tw)
        self.tspec = np.asarray(tspec, dtype=np.int64).reshape(-1, 3)
        self.merges = np.asarray(
            [(_col(d, buf), _col(s, buf), d.shape[1]) for d, s in loop.merge], dtype=np.int64
        ).reshape(-1, 3)
        self.to_ring = np.asarray(
            [(ring_ids[id(r)], d, _col(reg, buf), reg.shape[1]) for r, d, reg in loop.to_ring],
            dtype=np.int64,
        ).reshape(-1, 4)

    def _a_offset(self, a: torch.Tensor) -> int:
        """Column of A where the [B, n] slice ``a`` (of A or of a unit's bool mask) starts."""
        return self._unit_at[a.untyped_storage().data_ptr()] + int(a.storage_offset())

    def run(self, n_steps: int, rec: Any, chunk_steps: int, bar: Any, tgen: Any) -> None:
        loop = self.loop
        B, dt = loop.B, loop.sim.dtype
        for g in loop.groups:
            loop.states.update(g.views)
        K = max(1, min(self.chunk, n_steps))
        hist_t = torch.empty(K, *loop.A.shape, dtype=torch.bool)
        hist = _np(hist_t)
        rand_t = [torch.empty(K, B, n, dtype=dt) for _, n in self.src]
        rand = [_np(r) for r in rand_t]
        if not len(rand):
            rand.append(np.zeros((1, 1, 1), dtype=self.P.dtype))
        k = 0
        while k < n_steps:
            # stop at the recorder's flush points and at the end
            stop = min(n_steps, k + K, (k // chunk_steps + 1) * chunk_steps)
            m = stop - k
            for kk in range(m):  # the torch loop's draws, in its order
                for r in rand_t:
                    torch.rand(B, r.shape[2], generator=tgen, dtype=dt, out=r[kk])
            _run_chunk(
                k,
                m,
                self.A,
                hist,
                self.buf,
                tuple(rand),
                self.src_spec,
                self.prob,
                self.st_spec,
                self.st_steps,
                self.st_idx,
                self.G,
                self.P,
                self.S,
                self.last,
                self.gscr,
                self.nscr,
                self.rings,
                self.trows,
                self.tw,
                self.tspec,
                self.merges,
                self.to_ring,
            )
            rec.record_block(k, hist_t[:m], _events(hist, m), loop.where)
            k = stop
            loop._check_finite(k - 1)
            if k % chunk_steps == 0:
                rec.flush()
            if bar is not None:
                bar.update(m)
