"""Load files in a worker subprocess, so that a hang or a crash inside libhdf5 (which no
Python code can catch) is seen as such by a fuzz test instead of stopping the suite.

The worker runs with warnings as errors. For each request line it calls the test's
``load(line)`` (Python source given to :class:`Loader`) and answers one line:
``ok <sha256 of the normalised loaded content>``, ``typed named|UNNAMED <Error>: message``
(a spikesim error; "named" when the message holds the request's path and the error is a
ValueError), or ``other <Exception>: message``. The loader itself answers ``hang ...`` when
no answer comes within ``hang_s`` seconds (the worker is killed and restarted) and
``crash ...`` when the worker died.
"""

from __future__ import annotations

import select
import subprocess
import sys

_WORKER = r"""
import hashlib, pickle, sys, warnings
warnings.simplefilter("error")
import numpy as np
from spikesim.errors import SpikesimError

def norm(o):
    if isinstance(o, dict):
        return {str(k): norm(v) for k, v in sorted(o.items())}
    if isinstance(o, (list, tuple)):
        return [norm(v) for v in o]
    if isinstance(o, np.ndarray):
        return ("array", o.dtype.str, o.shape, o.tobytes())
    if isinstance(o, np.generic):
        return o.item()
    return o

LOAD_SOURCE

print("ready", flush=True)
for line in sys.stdin:
    request = line.rstrip("\n")
    path = request.split(" ", 1)[-1]
    try:
        out = "ok " + hashlib.sha256(pickle.dumps(norm(load(request)))).hexdigest()
    except SpikesimError as e:
        named = path in str(e) and isinstance(e, ValueError)
        out = f"typed {'named' if named else 'UNNAMED'} {type(e).__name__}: {e}"
    except BaseException as e:
        out = f"other {type(e).__name__}: {e}"
    print(out.replace("\n", " "), flush=True)
"""


class Loader:
    """A worker subprocess that runs ``load(request)`` per request line (``load_source``
    defines ``load``; a request ends with the file's path, after a space if it has more)."""

    def __init__(self, load_source: str, *, hang_s: float) -> None:
        self.script = _WORKER.replace("LOAD_SOURCE", load_source)
        self.hang_s = hang_s
        self._start()

    def _start(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", self.script],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert self.proc.stdout is not None
        assert self.proc.stdout.readline().strip() == "ready"

    def load(self, request: str) -> str:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        try:
            self.proc.stdin.write(f"{request}\n")
            self.proc.stdin.flush()
        except BrokenPipeError:
            self._start()
            return "crash (worker gone before the load)"
        ready, _, _ = select.select([self.proc.stdout], [], [], self.hang_s)
        if not ready:
            self.close()
            self._start()
            return f"hang (no answer in {self.hang_s:g} s)"
        line = self.proc.stdout.readline()
        if not line:
            rc = self.proc.wait()
            self._start()
            return f"crash (worker exited with {rc})"
        return line.strip()

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait()
        for pipe in (self.proc.stdin, self.proc.stdout):
            if pipe is not None:
                pipe.close()
