"""One result object for every run: spikes, state traces and rates, with provenance.

A :class:`Result` is written to HDF5 together with the network description, the run
settings (duration, dt, mode, batch, dtype, seed), package versions and the device, so a run
is reproducible from its file alone (:func:`rerun`).
"""

from __future__ import annotations

import dataclasses
import json
import os
import platform
from typing import Any

import numpy as np

from .errors import ConfigError, ParameterError, ShapeError, SpikesimError

__all__ = ["SpikeData", "StateData", "RateData", "Result", "rerun", "versions"]


def versions() -> dict[str, str]:
    """Versions of spikesim, torch, numpy and Python (a result file's provenance)."""
    import torch

    from . import __version__

    out = {
        "spikesim": __version__,
        "torch": torch.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
    }
    return out


@dataclasses.dataclass
class SpikeData:
    """Spikes of one monitor: parallel arrays (step, trial in the batch, neuron index)."""

    population: str
    size: int
    step: np.ndarray
    batch: np.ndarray
    index: np.ndarray

    def times_s(self, dt_s: float) -> np.ndarray:
        """Spike times in seconds (``step * dt_s``), parallel to ``batch`` and ``index``."""
        return self.step * dt_s

    def count(self, *, batch: int | None = None) -> int:
        """Number of spikes recorded, in all trials or in trial ``batch`` only."""
        return int(self.step.size if batch is None else np.count_nonzero(self.batch == batch))


@dataclasses.dataclass
class StateData:
    """State traces of one monitor: ``values[var]`` is [n_records, batch, n_indices] at
    ``steps``, for the neurons ``indices``, in the model's units (mV for ``v``)."""

    population: str
    steps: np.ndarray
    indices: np.ndarray
    values: dict[str, np.ndarray]  # var -> [n_records, batch, n_indices]


@dataclasses.dataclass
class RateData:
    """Population rate of one monitor: ``rate_hz`` [n_bins, batch] in Hz, bins of ``bin_s``."""

    population: str
    bin_s: float
    rate_hz: np.ndarray  # [n_bins, batch]


@dataclasses.dataclass
class Result:
    """Everything a run produced. ``network`` is the description as a dict."""

    network: dict[str, Any]
    run: dict[str, Any]
    spikes: dict[str, SpikeData] = dataclasses.field(default_factory=dict)
    states: dict[str, StateData] = dataclasses.field(default_factory=dict)
    rates: dict[str, RateData] = dataclasses.field(default_factory=dict)
    provenance: dict[str, Any] = dataclasses.field(default_factory=dict)

    # -------------------------------------------------------------------- accessors
    @property
    def dt_s(self) -> float:
        """The network's time step in seconds."""
        return float(self.run["dt_s"])

    @property
    def duration_s(self) -> float:
        """The simulated time in seconds (steps run x ``dt_s``)."""
        return float(self.run["n_steps"]) * self.dt_s

    def _spk(self, monitor: str) -> SpikeData:
        if monitor not in self.spikes:
            raise ParameterError(
                "result", "monitor", f"one of the spike monitors {sorted(self.spikes)}", monitor
            )
        return self.spikes[monitor]

    def spike_trains(self, monitor: str, *, batch: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """(neuron indices, times in s) of one trial, sorted by time."""
        s = self._spk(monitor)
        m = s.batch == batch
        return s.index[m], s.step[m] * self.dt_s

    def mean_rate_hz(self, monitor: str, *, batch: int | None = None) -> float:
        """Mean firing rate per neuron over the run (all trials unless ``batch`` is given)."""
        s = self._spk(monitor)
        trials = int(self.run["batch_size"]) if batch is None else 1
        n = (
            s.size
            if not self.run.get("monitor_indices", {}).get(monitor)
            else len(self.run["monitor_indices"][monitor])
        )
        return s.count(batch=batch) / (n * trials * self.duration_s)

    def cv_isi(self, monitor: str, *, batch: int = 0, min_spikes: int = 3) -> float:
        """Mean coefficient of variation of inter-spike intervals over neurons with enough spikes."""
        idx, t = self.spike_trains(monitor, batch=batch)
        if idx.size == 0:
            return float("nan")
        order = np.lexsort((t, idx))
        idx, t = idx[order], t[order]
        cvs = []
        bounds = np.flatnonzero(np.diff(idx)) + 1
        for _seg_i, seg_t in zip(np.split(idx, bounds), np.split(t, bounds), strict=False):
            if seg_t.size >= min_spikes:
                isi = np.diff(seg_t)
                if isi.mean() > 0:
                    cvs.append(isi.std() / isi.mean())
        return float(np.mean(cvs)) if cvs else float("nan")

    def summary(self) -> str:
        """Run settings and wall time, then one line per monitor (spike count and mean rate,
        mean population rate, or the variables and samples of a state monitor)."""
        lines = [
            f"run: {self.run['mode']} mode, {self.duration_s:g} s at dt = {self.dt_s * 1e3:g} ms, "
            f"batch {self.run['batch_size']}, seed {self.run['seed']}, {self.run.get('device', '?')}, "
            f"{self.provenance.get('wall_time_s', float('nan')):.3g} s wall"
        ]
        for name, s in self.spikes.items():
            lines.append(
                f"  spikes {name} ({s.population}, {s.size} neurons): {s.count()} spikes, "
                f"{self.mean_rate_hz(name):.3g} Hz mean"
            )
        for name, r in self.rates.items():
            lines.append(f"  rate {name} ({r.population}): mean {float(r.rate_hz.mean()):.3g} Hz")
        for name, st in self.states.items():
            lines.append(
                f"  state {name} ({st.population}): {', '.join(st.values)} x {st.steps.size} samples"
            )
        return "\n".join(lines)

    # ------------------------------------------------------------------------ HDF5
    def to_hdf5(self, path: str | os.PathLike) -> None:
        """Write network, settings, provenance and monitor data (the layout a streamed run
        writes, through the same :class:`ResultWriter`)."""
        writer = ResultWriter(path, network=self.network, run=self.run)
        try:
            for name, s in self.spikes.items():
                writer.append_spikes(
                    name,
                    population=s.population,
                    size=s.size,
                    step=s.step,
                    batch=s.batch,
                    index=s.index,
                )
            for name, st in self.states.items():
                writer.append_states(
                    name,
                    population=st.population,
                    indices=st.indices,
                    steps=st.steps,
                    values=st.values,
                )
            for name, r in self.rates.items():
                writer.append_rates(name, population=r.population, bin_s=r.bin_s, rate_hz=r.rate_hz)
        except BaseException:
            writer.abort()
            raise
        writer.close(run=self.run, provenance=self.provenance, empty={})

    @classmethod
    def from_hdf5(cls, path: str | os.PathLike, *, allow_incomplete: bool = False) -> Result:
        """Read a result file; an interrupted streamed run needs ``allow_incomplete=True``.

        Files are checked as they are read (:mod:`spikesim._hdf5`): the 1.10 format's metadata
        checksums, the SHA-256 of the JSON texts, the Fletcher-32 checksums of the data and
        the declared dataset sizes. A missing, damaged or foreign file raises a
        :class:`~spikesim.errors.SpikesimError` naming it."""
        from ._hdf5 import in_worker, is_legacy_format, load_isolated, open_checked

        p = os.fspath(path) if isinstance(path, (str, os.PathLike)) else str(path)
        if is_legacy_format(p) and not in_worker():  # a damaged one may hang libhdf5
            return load_isolated(  # type: ignore[no-any-return]
                "spikesim.results:Result.from_hdf5",
                p,
                {"allow_incomplete": allow_incomplete},
                what="spikesim result file",
                refuse=_result_file_error,
            )
        with open_checked(p, what="spikesim result file", refuse=_result_file_error) as f:
            if "run_json" not in f.attrs:
                raise ParameterError(
                    p, "file", "a spikesim result file (run_json attribute)", "none"
                )
            complete = f.attrs.get("complete", True)
            if not isinstance(complete, (bool, np.bool_)):
                raise ParameterError(p, "complete", "a boolean attribute", f"{complete!r}")
            if not bool(complete) and not allow_incomplete:
                raise ParameterError(
                    p,
                    "file",
                    "a complete result file",
                    "the file of an interrupted run",
                    hint="pass allow_incomplete=True to read what was streamed before the "
                    "interruption",
                )
            return cls._read(f, p)

    @classmethod
    def _read(cls, f: Any, path: str) -> Result:
        """The result in an open file of the layout Result.to_hdf5 and ResultWriter write;
        h5py's errors propagate (the caller names the file), wrong shapes are ShapeErrors."""
        from ._hdf5 import read_text
        from .network import read_description

        run = _json_table(read_text(f, "run_json", source=path), path, "run_json")
        prov = _json_table(read_text(f, "provenance_json", source=path), path, "provenance_json")
        if "network" not in f:
            raise ParameterError(path, "network", "a network description group", "none")
        net = read_description(f["network"], source=f"{path}:/network")
        res = cls(network=_to_builtin(net), run=run, provenance=prov)
        for name, g in f.get("spikes", {}).items():
            where = f"{path}:/spikes/{name}"
            step, batch, index = (_int_1d(g[k], where, k) for k in ("step", "batch", "index"))
            if not step.size == batch.size == index.size:
                raise ShapeError(where, "step/batch/index", (step.size,) * 3,
                                 (step.size, batch.size, index.size))  # fmt: skip
            res.spikes[name] = SpikeData(
                _text(g, "population", where), int(g.attrs["size"]), step, batch, index
            )
        for name, g in f.get("states", {}).items():
            where = f"{path}:/states/{name}"
            steps = _int_1d(g["steps"], where, "steps")
            vals = {v: g["values"][v][()] for v in g.get("values", {})}
            for v, arr in vals.items():
                if arr.ndim != 3 or arr.shape[0] != steps.size:
                    raise ShapeError(where, f"values/{v}", (steps.size, "batch", "indices"),
                                     arr.shape)  # fmt: skip
            res.states[name] = StateData(
                _text(g, "population", where), steps, g["indices"][()], vals
            )
        for name, g in f.get("rates", {}).items():
            where = f"{path}:/rates/{name}"
            rate = g["rate_hz"][()]
            if rate.ndim != 2:
                raise ShapeError(where, "rate_hz", ("bins", "batch"), rate.shape)
            res.rates[name] = RateData(_text(g, "population", where), float(g.attrs["bin_s"]), rate)
        return res


def _result_file_error(path: str, kind: str, err: BaseException) -> SpikesimError:
    """Result.from_hdf5's words for what h5py reports (``open_checked``'s ``refuse``): a
    ParameterError on the argument ``file``, as result files have always been refused."""
    if kind == "missing":
        return ParameterError(path, "file", "an existing result file", "file not found")
    if kind == "unreadable":  # not HDF5, truncated, a directory
        first = str(err).splitlines()[0] if str(err) else type(err).__name__
        return ParameterError(path, "file", "a readable HDF5 result file", first)
    return ParameterError(  # another program's or a damaged file
        path,
        "file",
        "a complete spikesim result file",
        f"a file with a missing or unreadable part ({type(err).__name__}: {err})",
    )


class ResultWriter:
    """Streams monitor data into a result file chunk by chunk, in :meth:`Result.to_hdf5`'s layout.

    The file is marked incomplete (``complete = False``) until :meth:`close`; reading an
    incomplete file (a run that was interrupted) needs ``Result.from_hdf5(path,
    allow_incomplete=True)``. Memory stays bounded by one chunk whatever the run length.
    """

    def __init__(
        self,
        path: str | os.PathLike,
        *,
        network: dict[str, Any],
        run: dict[str, Any],
        field: str = "path",
    ) -> None:
        import h5py

        from ._hdf5 import CORE_LIBVER
        from .network import Network

        if not isinstance(path, (str, os.PathLike)):
            raise ParameterError("result file", field, "a file path (str or os.PathLike)", path)
        self.path = os.fspath(path)
        try:
            self._f = h5py.File(self.path, "w", libver=CORE_LIBVER)
        except OSError as exc:  # a missing folder, a folder, no permission
            raise ParameterError(
                "result file",
                field,
                "a writable file path in an existing folder",
                self.path,
                hint=str(exc).splitlines()[0],
            ) from None
        Network.from_dict(network).to_hdf5(self._f)
        _write_meta(self._f, run, {})
        self._f.attrs["complete"] = False

    def _append(self, name: str, data: np.ndarray) -> None:
        """Append ``data`` along axis 0 of dataset ``name`` (created chunked, gzip and
        Fletcher-32 checksummed on first use: the checksum is per chunk, so it fits appending)."""
        from ._hdf5 import dataset_options

        f = self._f
        if name not in f:
            f.create_dataset(name, data=data, **dataset_options(data, resizable=True))
            return
        ds = f[name]
        n = ds.shape[0]
        ds.resize(n + data.shape[0], axis=0)
        ds[n:] = data

    def _group(self, path: str, **attrs: Any) -> None:
        from ._hdf5 import write_text

        if path not in self._f:
            g = self._f.create_group(path)
            for k, v in attrs.items():
                if isinstance(v, str):
                    write_text(g, k, v, digest=False)  # short: in the checksummed header
                else:
                    g.attrs[k] = v

    def _create(self, name: str, data: np.ndarray) -> None:
        from ._hdf5 import dataset_options

        self._f.create_dataset(name, data=data, **dataset_options(data))

    def append_spikes(
        self,
        name: str,
        *,
        population: str,
        size: int,
        step: np.ndarray,
        batch: np.ndarray,
        index: np.ndarray,
    ) -> None:
        """Append spikes (parallel arrays: step, trial, neuron index) to monitor ``name``."""
        self._group(f"spikes/{name}", population=population, size=size)
        for key, arr, dt in (
            ("step", step, np.int64),
            ("batch", batch, np.int32),
            ("index", index, np.int64),
        ):
            self._append(f"spikes/{name}/{key}", np.asarray(arr, dtype=dt))

    def append_states(
        self,
        name: str,
        *,
        population: str,
        indices: np.ndarray,
        steps: np.ndarray,
        values: dict[str, np.ndarray],
    ) -> None:
        """Append records at ``steps`` (``values[var]``: [len(steps), batch, len(indices)])."""
        if f"states/{name}" not in self._f:
            self._group(f"states/{name}", population=population)
            self._create(f"states/{name}/indices", np.asarray(indices))
        self._append(f"states/{name}/steps", np.asarray(steps, dtype=np.int64))
        for var, arr in values.items():
            self._append(f"states/{name}/values/{var}", np.asarray(arr))

    def append_rates(
        self, name: str, *, population: str, bin_s: float, rate_hz: np.ndarray
    ) -> None:
        """Append bins of population rate (``rate_hz``: [n_bins, batch], Hz)."""
        self._group(f"rates/{name}", population=population, bin_s=bin_s)
        self._append(f"rates/{name}/rate_hz", np.asarray(rate_hz))

    def close(
        self, *, run: dict[str, Any], provenance: dict[str, Any], empty: dict[str, tuple[str, Any]]
    ) -> None:
        """Finish the file. ``empty`` names monitors that recorded nothing: (kind, info)."""
        for name, (kind, info) in empty.items():
            if kind == "spikes" and f"spikes/{name}" not in self._f:
                self.append_spikes(
                    name,
                    population=info[0],
                    size=info[1],
                    step=np.zeros(0),
                    batch=np.zeros(0),
                    index=np.zeros(0),
                )
            elif kind == "rates" and f"rates/{name}" not in self._f:
                self.append_rates(
                    name, population=info[0], bin_s=info[1], rate_hz=np.zeros((0, info[2]))
                )
            elif kind == "states" and f"states/{name}" not in self._f:
                self._group(f"states/{name}", population=info[0])
                self._create(f"states/{name}/indices", np.asarray(info[1]))
                self._create(f"states/{name}/steps", np.zeros(0, np.int64))
                self._f.create_group(f"states/{name}/values")
        _write_meta(self._f, run, provenance)
        self._f.attrs["complete"] = True
        self._f.close()

    def abort(self) -> None:
        """Close after an error; the file keeps what was streamed, marked incomplete."""
        if self._f.id.valid:
            self._f.close()


def _to_builtin(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _to_builtin(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_to_builtin(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    return obj


def _write_meta(f: Any, run: dict[str, Any], provenance: dict[str, Any]) -> None:
    from ._hdf5 import write_text

    write_text(f, "run_json", json.dumps(run))
    write_text(f, "provenance_json", json.dumps(provenance))


def _json_table(text: str, path: str, key: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise ConfigError(path, key, f"not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise ConfigError(path, key, f"expected a JSON table, found {type(value).__name__}")
    return value


def _int_1d(ds: Any, where: str, key: str) -> np.ndarray:
    arr = ds[()]
    if not isinstance(arr, np.ndarray) or arr.ndim != 1 or arr.dtype.kind not in "iu":
        raise ParameterError(where, key, "a 1-D integer dataset", f"{getattr(arr, 'dtype', arr)} "
                             f"{getattr(arr, 'shape', '')}")  # fmt: skip
    return arr


def _text(g: Any, key: str, where: str) -> str:
    from ._hdf5 import read_text

    return read_text(g, key, source=where, digest=False)


#: what :func:`rerun` may change: where, in which precision, how long and how it is streamed
RERUN_OPTIONS = (
    "duration_s",
    "device",
    "dtype",
    "inputs",
    "out",
    "chunk_steps",
    "progress",
    "nan_check_every",
)


def rerun(
    path: str | os.PathLike,
    *,
    duration_s: float | None = None,
    device: Any = "cpu",
    dtype: Any = None,
    inputs: dict[str, Any] | None = None,
    out: str | os.PathLike | None = None,
    chunk_steps: int | None = None,
    progress: bool | None = None,
    nan_check_every: int | None = None,
    **unknown: Any,
) -> Result:
    """Run again the simulation recorded in a result file: same network, mode, batch and seed.

    With the defaults the rerun reproduces the recorded spikes, states and rates bit for bit
    on the CPU (a run recorded on a GPU is reproduced on the CPU to float rounding; pass
    ``device=`` to rerun it there). The options change only where, in which precision, how
    long and how the run is streamed, never what is simulated (a different seed, mode or
    batch size is a new run: ``simulate(Network.from_hdf5(path), ...)``).

    Parameters
    ----------
    path : str or os.PathLike
        A result file written by ``Simulator.run(..., out=)``, :func:`simulate` or
        :meth:`Result.to_hdf5`.
    duration_s : float, optional
        Simulated time in seconds; default: the recorded duration. A shorter rerun repeats
        the start of the recorded run (same spikes over the steps they share).
    device : str or torch.device, optional
        Where to run; default ``"cpu"`` (not the device recorded in the file).
    dtype : str or torch.dtype, optional
        ``"float32"`` or ``"float64"``; default: the recorded dtype.
    inputs : dict, optional
        Tensors [steps, batch, size] for the spike-tensor sources of the network (a result
        file does not store them); required when the network has such sources.
    out : str or os.PathLike, optional
        Stream the new result to this HDF5 file (as ``Simulator.run``'s ``out``).
    chunk_steps : int, optional
        Steps per chunk (as ``Simulator.run``; results do not depend on it).
    progress : bool, optional
        Show a progress bar (None: from 100,000 steps on).
    nan_check_every : int, optional
        Steps between checks for non-finite states (as ``Simulator.run``).

    Returns
    -------
    Result
        The new run's result (read back from ``out`` when given).

    Raises
    ------
    ConfigError
        An option this function does not accept (naming it and the accepted ones).
    ParameterError
        An invalid value of an accepted option; a missing, damaged or foreign file.
    """
    from .engine import simulate
    from .network import Network

    if unknown:
        key = sorted(unknown)[0]
        problem = f"not an option of rerun; accepted: {', '.join(RERUN_OPTIONS)}"
        if key in ("seed", "mode", "batch_size"):
            problem += (
                f" (a rerun keeps the recorded {key}; a new run: "
                "simulate(Network.from_hdf5(path), ...))"
            )
        raise ConfigError("rerun", key, problem)
    old = Result.from_hdf5(path)
    net = Network.from_hdf5(path)
    run = old.run
    return simulate(
        net,
        duration_s=run["n_steps"] * run["dt_s"] if duration_s is None else duration_s,
        mode=run["mode"],
        batch_size=run["batch_size"],
        seed=run["seed"],
        dtype=run["dtype"] if dtype is None else dtype,
        device=device,
        inputs=inputs,
        out=out,
        progress=progress,
        chunk_steps=chunk_steps,
        nan_check_every=nan_check_every,
    )
