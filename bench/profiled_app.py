"""The production WSGI app with a sampling profiler, for finding where time goes under load.

``gunicorn -c gunicorn.conf.py 'bench.profiled_app:create_app()'`` with
``BENCH_PROFILE_DIR`` set: every ``BENCH_PROFILE_INTERVAL`` seconds (default 5 ms) a thread
samples the stack of every other thread (``sys._current_frames``); when the worker exits
(gunicorn's worker_exit hook calls ``close()``) the counts are written to
``$BENCH_PROFILE_DIR/worker-<pid>.txt``: per thread pool, the share of samples per stack,
innermost frames first. A thread waiting on a lock, a socket or SQLite's busy handler is
sampled where it waits, so this shows waiting as well as CPU. Used by ``--profile`` in the
benchmarks; nothing in the product imports it.
"""

from __future__ import annotations

import os
import re
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from types import FrameType
from typing import Any, Callable, Iterable

StartResponse = Callable[..., Any]
_ROOT = str(Path(__file__).resolve().parents[1]) + "/"
_POOL = re.compile(r"^(.*?)(?:[-_]\d+)*(?:_\d+)?$")


def _pool_name(name: str) -> str:
    """'bolt_3' -> 'bolt', 'presales-send_7' -> 'presales-send', 'ThreadPoolExecutor-0_12' -> ..."""
    return _POOL.sub(r"\1", name) or name


def _stack(frame: FrameType | None, depth: int) -> tuple[str, ...]:
    out: list[str] = []
    while frame is not None and len(out) < depth:
        code = frame.f_code
        path = code.co_filename
        short = path.split("site-packages/")[-1].split("lib/python3.11/")[-1]
        if _ROOT and short.startswith(_ROOT):
            short = short[len(_ROOT):]
        out.append(f"{short}:{frame.f_lineno} {code.co_name}")
        frame = frame.f_back
    return tuple(out)


_OWN = ("bot/", "handlers/", "models/", "bench/")


def _condense(stack: tuple[str, ...], inner: int = 3) -> list[str]:
    """The innermost frames (where the thread is), then only our own code outwards."""
    own = [f for f in stack[inner:] if f.startswith(_OWN)]
    out = list(stack[:inner])
    if own:
        out.append("  ...")
        out.extend(own)
    elif len(stack) > inner:
        out.append(f"  ... {stack[-1]}")
    return out


class Sampler:
    def __init__(self, out_dir: Path, interval: float, depth: int = 80) -> None:
        self.out_dir = out_dir
        self.interval = interval
        self.depth = depth
        self.samples: Counter[tuple[str, tuple[str, ...]]] = Counter()
        self.ticks = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-sampler", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        me = threading.get_ident()
        while not self._stop.wait(self.interval):
            names = {t.ident: t.name for t in threading.enumerate()}
            self.ticks += 1
            for ident, frame in sys._current_frames().items():
                if ident == me:
                    continue
                self.samples[(_pool_name(names.get(ident, "?")), _stack(frame, self.depth))] += 1

    def dump(self) -> None:
        self._stop.set()
        self._thread.join(timeout=1)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        path = self.out_dir / f"worker-{os.getpid()}.txt"
        by_pool: dict[str, Counter[tuple[str, ...]]] = {}
        for (pool, stack), count in self.samples.items():
            by_pool.setdefault(pool, Counter())[stack] += count
        lines = [f"# {self.ticks} ticks of {self.interval * 1000:.0f} ms"]
        for pool, stacks in sorted(by_pool.items(), key=lambda kv: -sum(kv[1].values())):
            total = sum(stacks.values())
            lines.append(f"\n## {pool}: {total} samples ({total / max(self.ticks, 1):.1f} threads on average)")
            for stack, count in stacks.most_common(12):
                lines.append(f"\n{count / total * 100:5.1f}%  {count}")
                lines.extend(f"    {frame}" for frame in _condense(stack))
        path.write_text("\n".join(lines) + "\n")


class ProfiledWeb:
    def __init__(self, inner: Any, sampler: Sampler) -> None:
        self.inner = inner
        self.sampler = sampler

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        return self.inner(environ, start_response)

    def close(self) -> None:
        try:
            self.sampler.dump()
        finally:
            if hasattr(self.inner, "close"):
                self.inner.close()


def create_app() -> ProfiledWeb:
    target = os.environ.get("BENCH_PROFILE_APP", "product")
    if target == "bare":
        from bench.bare_app import create_app as make
    else:
        from bot.web import create_app as make
    interval = float(os.environ.get("BENCH_PROFILE_INTERVAL", "0.005"))
    sampler = Sampler(Path(os.environ.get("BENCH_PROFILE_DIR", "bench/out/profile")), interval)
    time.sleep(0)  # let the sampler thread start before the first request
    return ProfiledWeb(make(), sampler)
