"""Child processes for the runs that start real servers (the topology test, bench/): each in a
process group of its own, tracked, and killed with its whole group (gunicorn workers included)
when the run ends, fails, or is itself stopped with SIGTERM, SIGHUP or Ctrl-C. Plus the small
helpers those runs share: ``python -m bot`` commands (``db upgrade``), a free port, /healthz, a
nearest-rank percentile, progress lines.

Importing this module installs the signal handlers (in the main thread): only runners import it,
never a pytest test module."""

from __future__ import annotations

import atexit
import math
import os
import signal
import socket
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Mapping, Sequence

ROOT = Path(__file__).resolve().parents[1]

_live: set[subprocess.Popen[Any]] = set()
_live_lock = threading.Lock()


def track(proc: subprocess.Popen[Any]) -> subprocess.Popen[Any]:
    """Kill ``proc``'s group when the run ends (it must have been started with
    ``start_new_session=True``)."""
    with _live_lock:
        _live.add(proc)
    return proc


def popen(args: Sequence[str], *, env: Mapping[str, str], log: Path | None = None,
          **kwargs: Any) -> subprocess.Popen[Any]:
    """Start a tracked subprocess in its own process group, its output appended to ``log``
    (discarded without one)."""
    if log is None:
        proc = subprocess.Popen(list(args), env=dict(env), cwd=ROOT, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, start_new_session=True, **kwargs)
    else:
        with open(log, "ab") as out:  # the child keeps its own descriptor
            proc = subprocess.Popen(list(args), env=dict(env), cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
                                    start_new_session=True, **kwargs)
    return track(proc)


def kill_process(proc: subprocess.Popen[Any], *, grace: float = 3.0, sig: int = signal.SIGTERM) -> None:
    """Send ``sig`` to the process group we created, wait ``grace`` seconds, then SIGKILL the
    group (gunicorn workers too, even when their master is gone)."""
    try:
        if proc.poll() is None and sig != signal.SIGKILL:
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                pass
            try:
                proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
    finally:
        with _live_lock:
            _live.discard(proc)


def run_bot(args: Sequence[str], *, env: Mapping[str, str], log: Path, timeout: float = 60.0) -> int:
    """``python -m bot ARGS`` run to its end, its output appended to ``log``; its exit status.
    Past ``timeout`` its group is killed and ``subprocess.TimeoutExpired`` raised."""
    proc = popen([sys.executable, "-m", "bot", *args], env=env, log=log)
    try:
        return proc.wait(timeout=timeout)
    finally:
        kill_process(proc, grace=0.5)


def db_upgrade(env: Mapping[str, str], log: Path, timeout: float = 120.0) -> None:
    """Migrate the database ``env`` names (DATABASE_URL) with ``python -m bot db upgrade``, as the
    Procfile's release step does; RuntimeError with the command's output when it fails."""
    code = run_bot(["db", "upgrade"], env=env, log=log, timeout=timeout)
    if code != 0:
        raise RuntimeError(f"`python -m bot db upgrade` failed ({code}):\n{log.read_text(errors='replace')}")


def kill_all() -> None:
    with _live_lock:
        procs = list(_live)
    for proc in procs:
        kill_process(proc, grace=1.0)


def _on_signal(signum: int, _frame: object) -> None:  # SIGTERM, SIGHUP
    raise SystemExit(128 + signum)  # unwinds through every finally, then atexit runs


atexit.register(kill_all)
if threading.current_thread() is threading.main_thread():
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGHUP, _on_signal)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # Ctrl-C works even if started with SIGINT ignored


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def healthz(base_url: str, timeout: float = 5.0) -> int | None:
    """The status of GET /healthz; None when nothing answers."""
    try:
        with urllib.request.urlopen(base_url + "/healthz", timeout=timeout) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code
    except (urllib.error.URLError, OSError):
        return None


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile (p99 of 200 samples is the 198th smallest); nan when empty."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(len(ordered) * pct / 100))  # multiply first: exact for whole percents
    return ordered[min(rank, len(ordered)) - 1]


def say(message: str) -> None:
    """Progress lines go to stderr, so that stdout holds only the results."""
    print(message, file=sys.stderr, flush=True)
