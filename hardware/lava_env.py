"""The managed Lava environment: a Python 3.10 venv holding ``lava-nc==0.10.0``.

lava-nc 0.10 imports only on Python 3.10 and with numpy < 2, so spikesim (Python >= 3.10,
numpy 2) cannot import it in-process. Instead :func:`setup` creates a separate virtual
environment (default ``<repo root>/.venv-lava``, overridable with the environment variable
``SPIKESIM_LAVA_ENV`` or the ``path=`` argument) and :mod:`spikesim.hardware.lava_runner`
runs inside it as a subprocess.

It also holds lava-dl 0.6 (``lava.lib.dl.netx``, to load the netx HDF5 files spikesim
exports with lava-dl's own loader), installed with ``--no-deps``: lava-dl declares torch,
torchvision, opencv, matplotlib and others, and any torch for Python 3.10 on PyPI is a
multi-GB CUDA build. netx itself needs only lava-nc, numpy, scipy and h5py (pinned in
:data:`LAVA_REQUIREMENTS`); ``netx_runner.py`` imports it without torch (see its doc).

``setup`` is idempotent: a marker file ``spikesim-lava.json`` inside the environment records
the requirements and versions; when it matches and the interpreter still imports lava and
netx, ``setup`` returns at once. An environment made by an older spikesim (a marker without
lava-dl) is upgraded in place by running ``setup`` again.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from spikesim.errors import ConfigError, ParameterError, SimulationError

__all__ = [
    "LAVA_NODEPS_REQUIREMENTS",
    "LAVA_REQUIREMENTS",
    "LavaEnvError",
    "LavaEnvInfo",
    "env_path",
    "find_python310",
    "is_ready",
    "python_path",
    "run_script",
    "setup",
]

#: Packages installed into the Lava environment (pip requirement strings).
LAVA_REQUIREMENTS: tuple[str, ...] = ("lava-nc==0.10.0", "numpy<2", "h5py==3.16.0")
#: Installed afterwards with ``pip install --no-deps`` (their declared deps pull torch).
LAVA_NODEPS_REQUIREMENTS: tuple[str, ...] = ("lava-dl==0.6.0",)
_MARKER = "spikesim-lava.json"
_MARKER_VERSION = 1
_ENV_VAR = "SPIKESIM_LAVA_ENV"
_REPO_ROOT = Path(__file__).resolve().parent.parent
_NETX_RUNNER = Path(__file__).resolve().parent / "netx_runner.py"


class LavaEnvError(ConfigError):
    """The Lava environment is missing, broken or cannot be created."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__("Lava environment", key, problem)


@dataclass(frozen=True)
class LavaEnvInfo:
    """What :func:`setup` found or built."""

    path: Path
    python: Path
    base_python: str
    lava_version: str
    numpy_version: str
    created: bool
    seconds: float
    lava_dl_version: str = ""
    h5py_version: str = ""


def env_path(path: str | os.PathLike[str] | None = None) -> Path:
    """The environment folder: ``path``, else ``$SPIKESIM_LAVA_ENV``, else ``<repo>/.venv-lava``."""
    if path is not None:
        if not isinstance(path, (str, os.PathLike)):
            raise ParameterError(
                "Lava environment", "path", "a folder path (str or os.PathLike)", path
            )
        return Path(path).expanduser().resolve()
    env = os.environ.get(_ENV_VAR)
    if env:
        return Path(env).expanduser().resolve()
    return _REPO_ROOT / ".venv-lava"


def python_path(path: str | os.PathLike[str] | None = None) -> Path:
    """The interpreter of the Lava environment (it may not exist yet; see :func:`is_ready`)."""
    root = env_path(path)
    if os.name == "nt":  # pragma: no cover - spikesim's Lava support targets Linux
        return root / "Scripts" / "python.exe"
    return root / "bin" / "python"


def _works_as_310(exe: str) -> bool:
    """True when ``exe`` runs and reports Python 3.10 (pyenv shims may exist but fail)."""
    try:
        out = subprocess.run(
            [exe, "-c", "import sys, venv; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            timeout=60,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return out.returncode == 0 and out.stdout.strip() == "3.10"


def _candidates() -> list[str]:
    """Places searched for a Python 3.10 interpreter, in order."""
    cands: list[str] = []
    on_path = shutil.which("python3.10")
    cands.append(on_path if on_path else "python3.10 on PATH (not found)")
    pyenv = shutil.which("pyenv")
    if pyenv:
        try:
            vers = subprocess.run(
                [pyenv, "versions", "--bare"], capture_output=True, text=True, timeout=60
            ).stdout.split()
        except (OSError, subprocess.TimeoutExpired):
            vers = []
        for ver in sorted((v for v in vers if v.startswith("3.10")), reverse=True):
            try:
                prefix = subprocess.run(
                    [pyenv, "prefix", ver], capture_output=True, text=True, timeout=60
                ).stdout.strip()
            except (OSError, subprocess.TimeoutExpired):
                prefix = ""
            if prefix:
                cands.append(str(Path(prefix) / "bin" / "python3.10"))
    else:
        cands.append("pyenv prefix 3.10.x (pyenv not on PATH)")
    roots = [os.environ.get("PYENV_ROOT", ""), str(Path.home() / ".pyenv"), "/root/.pyenv"]
    for root in dict.fromkeys(r for r in roots if r):
        cands += sorted(glob.glob(f"{root}/versions/3.10*/bin/python3.10"), reverse=True)
        if not glob.glob(f"{root}/versions/3.10*/bin/python3.10"):
            cands.append(f"{root}/versions/3.10*/bin/python3.10 (none)")
    cands += ["/usr/bin/python3.10", "/usr/local/bin/python3.10"]
    return list(dict.fromkeys(cands))


def find_python310() -> str:
    """Locate a working Python 3.10 interpreter or raise :class:`LavaEnvError` listing the search."""
    tried = []
    for cand in _candidates():
        if " (" in cand or not Path(cand).exists():
            tried.append(cand if " (" in cand else f"{cand} (missing)")
            continue
        if _works_as_310(cand):
            return cand
        tried.append(f"{cand} (does not run as Python 3.10)")
    raise LavaEnvError(
        "python3.10",
        "lava-nc 0.10 needs a Python 3.10 interpreter and none was found; searched: "
        + "; ".join(tried)
        + ". Install Python 3.10 (e.g. `pyenv install 3.10`) and rerun `spikesim lava setup`",
    )


def _child_env() -> dict[str, str]:
    """This process's environment without ``PYTHONPATH``/``PYTHONHOME``, for the Lava
    interpreter (they point at this interpreter's Python 3.11 packages)."""
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}


def _probe(python: Path) -> dict[str, str] | None:
    """Versions of lava-nc, lava-dl, numpy and h5py when ``python`` imports lava and netx
    (through ``netx_runner.py --probe``), else None."""
    if not python.exists():
        return None
    try:
        out = subprocess.run(
            [str(python), str(_NETX_RUNNER), "--probe"],
            capture_output=True,
            text=True,
            timeout=300,
            env=_child_env(),
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if out.returncode != 0:
        return None
    try:
        versions = json.loads(out.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return None
    return versions if isinstance(versions, dict) and "lava_dl" in versions else None


def _read_marker(root: Path) -> dict | None:
    try:
        return json.loads((root / _MARKER).read_text())
    except (OSError, ValueError):
        return None


def is_ready(path: str | os.PathLike[str] | None = None) -> bool:
    """True when the environment exists, its marker matches and its interpreter is present.

    This is cheap (no subprocess); :func:`setup` re-checks by importing lava.
    """
    root = env_path(path)
    marker = _read_marker(root)
    return (
        marker is not None
        and marker.get("marker_version") == _MARKER_VERSION
        and marker.get("requirements") == list(LAVA_REQUIREMENTS)
        and marker.get("nodeps_requirements") == list(LAVA_NODEPS_REQUIREMENTS)
        and python_path(root).exists()
    )


def _run_checked(cmd: list[str], what: str) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        tail = (proc.stdout + proc.stderr)[-3000:]
        raise LavaEnvError(
            what, f"command {' '.join(cmd)!r} failed (exit {proc.returncode}):\n{tail}"
        )


def setup(
    *, path: str | os.PathLike[str] | None = None, force: bool = False, quiet: bool = True
) -> LavaEnvInfo:
    """Create (or verify) the Lava environment and return what it holds.

    Parameters
    ----------
    path: environment folder; default ``$SPIKESIM_LAVA_ENV`` or ``<repo root>/.venv-lava``.
    force: rebuild from scratch even when the environment is ready.
    quiet: when False, pip's output goes to this process's stderr.

    Idempotent: when the marker file matches :data:`LAVA_REQUIREMENTS` and
    :data:`LAVA_NODEPS_REQUIREMENTS` and the interpreter imports lava and netx, it returns in
    a few seconds without touching the network. Otherwise it creates the venv if missing and
    runs ``pip install LAVA_REQUIREMENTS`` then ``pip install --no-deps
    LAVA_NODEPS_REQUIREMENTS`` in it (an existing environment is upgraded in place).
    Raises :class:`LavaEnvError` when no Python 3.10 is found or pip fails.
    """
    t0 = time.perf_counter()
    root = env_path(path)
    python = python_path(root)
    if not force and is_ready(root):
        versions = _probe(python)
        if versions is not None:
            marker = _read_marker(root) or {}
            return _info(root, python, str(marker.get("base_python", "")), versions, False, t0)
    base = find_python310()
    if force and root.exists():
        shutil.rmtree(root)
    if not python.exists():
        root.parent.mkdir(parents=True, exist_ok=True)
        _run_checked([base, "-m", "venv", str(root)], "venv")
    (root / _MARKER).unlink(missing_ok=True)
    pip = [str(python), "-m", "pip", "install", "--disable-pip-version-check"]
    if quiet:
        pip.append("--quiet")
    for args in (list(LAVA_REQUIREMENTS), ["--no-deps", *LAVA_NODEPS_REQUIREMENTS]):
        if quiet:
            _run_checked(pip + args, "pip install")
        else:
            proc = subprocess.run(pip + args, stdout=sys.stderr)
            if proc.returncode != 0:
                raise LavaEnvError("pip install", f"pip exited {proc.returncode} (output above)")
    versions = _probe(python)
    if versions is None:
        raise LavaEnvError(
            "lava-nc",
            f"installed {LAVA_REQUIREMENTS + LAVA_NODEPS_REQUIREMENTS} into {root} but {python} "
            f"cannot import lava and lava.lib.dl.netx ({_NETX_RUNNER.name} --probe failed); "
            "rerun `spikesim lava setup --force`",
        )
    marker = {
        "marker_version": _MARKER_VERSION,
        "requirements": list(LAVA_REQUIREMENTS),
        "nodeps_requirements": list(LAVA_NODEPS_REQUIREMENTS),
        "base_python": base,
        "lava": versions["lava"],
        "lava_dl": versions["lava_dl"],
        "numpy": versions["numpy"],
        "h5py": versions["h5py"],
    }
    (root / _MARKER).write_text(json.dumps(marker, indent=1))
    return _info(root, python, base, versions, True, t0)


def _info(
    root: Path, python: Path, base: str, versions: dict[str, str], created: bool, t0: float
) -> LavaEnvInfo:
    return LavaEnvInfo(
        root,
        python,
        base,
        versions["lava"],
        versions["numpy"],
        created,
        time.perf_counter() - t0,
        lava_dl_version=versions["lava_dl"],
        h5py_version=versions["h5py"],
    )


def require_ready(path: str | os.PathLike[str] | None = None) -> Path:
    """The Lava interpreter, or :class:`LavaEnvError` telling to run ``spikesim lava setup``."""
    root = env_path(path)
    if not is_ready(root):
        raise LavaEnvError(
            "lava-nc",
            f"the Lava environment at {root} is not set up (no valid {_MARKER}); "
            "run `spikesim lava setup` (or spikesim.hardware.lava_env.setup())",
        )
    return python_path(root)


def run_script(
    python: Path, script: Path, args: list[str], *, cwd: str, timeout_s: float, what: str
) -> subprocess.CompletedProcess[str]:
    """Run ``script args`` with the Lava interpreter ``python`` in ``cwd``.

    The child gets :func:`_child_env` (no ``PYTHONPATH``/``PYTHONHOME``). Raises :class:`~spikesim.errors.SimulationError`
    naming ``what`` when it does not finish within ``timeout_s`` or exits non-zero (the tail
    of its output is included).
    """
    try:
        proc = subprocess.run(
            [str(python), str(script), *args],
            capture_output=True,
            text=True,
            timeout=timeout_s,
            env=_child_env(),
            cwd=cwd,
        )
    except subprocess.TimeoutExpired:
        raise SimulationError(
            what, 0, f"the Lava run did not finish within {timeout_s} s"
        ) from None
    if proc.returncode != 0:
        tail = (proc.stdout + proc.stderr)[-4000:]
        raise SimulationError(what, 0, f"{script.name} exited {proc.returncode}:\n{tail}")
    return proc
