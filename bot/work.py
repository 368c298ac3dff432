"""Bounded executors for slow work, off Bolt's listener pool.

Handlers ack, then hand slow work (matching, fan-out, refreshing DMs) to
``Work.submit``. Fan-out inside that work runs on a second pool (``Work.map``)
so the two never wait on each other. Tests call ``drain()`` to wait until
everything submitted has finished instead of sleeping.
"""

from __future__ import annotations

import logging
import threading
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Callable, Iterable, TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")
R = TypeVar("R")


class Work:
    def __init__(self, *, threads: int, send_threads: int, name: str = "presales") -> None:
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix=f"{name}-work")
        self._send = ThreadPoolExecutor(max_workers=send_threads, thread_name_prefix=f"{name}-send")
        self._pending = 0
        self._idle = threading.Condition()
        self._closed = False
        self.failures: list[str] = []  # "name: ExceptionType (ref)", for monitoring and tests

    def submit(self, fn: Callable[..., object], *args, **kwargs) -> Future:
        """Run ``fn`` in the background; an exception is logged with a reference id."""
        with self._idle:
            if self._closed:
                raise RuntimeError("work executor is shut down")
            self._pending += 1

        def run():
            try:
                return fn(*args, **kwargs)
            except Exception as exc:
                ref = uuid.uuid4().hex[:8]
                name = getattr(fn, "__name__", str(fn))
                log.exception("background work %s failed (ref %s)", name, ref)
                self.failures.append(f"{name}: {type(exc).__name__} ({ref})")
                return None
            finally:
                with self._idle:
                    self._pending -= 1
                    if self._pending == 0:
                        self._idle.notify_all()

        return self._pool.submit(run)

    def map(self, fn: Callable[[T], R], items: Iterable[T], *, pool: str = "send") -> list[R]:
        """Run ``fn`` over ``items`` concurrently; results in order. ``fn`` must handle its own
        errors (one failure must not stop the others). ``pool="send"`` for single Slack calls;
        ``pool="work"`` for flows that fan out themselves (never call it from a work thread)."""
        executor = self._send if pool == "send" else self._pool
        futures = [executor.submit(fn, item) for item in items]
        return [f.result() for f in futures]

    def drain(self, timeout: float = 30.0) -> bool:
        """Wait until all submitted work (and work it submitted) has finished."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout=timeout)

    @property
    def pending(self) -> int:
        return self._pending

    def shutdown(self, timeout: float = 20.0) -> None:
        """Stop taking work; let in-flight work finish (bounded by ``timeout``)."""
        with self._idle:
            self._closed = True
        self.drain(timeout)
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._send.shutdown(wait=False, cancel_futures=True)


_quick = ThreadPoolExecutor(max_workers=4, thread_name_prefix="presales-quick")


def within(seconds: float, fn: Callable[[], R], default: R) -> R:
    """Run ``fn`` but give up after ``seconds`` (for work before a trigger_id expires)."""
    future = _quick.submit(fn)
    try:
        return future.result(timeout=seconds)
    except Exception as exc:  # timeout or the function's own error: the caller has a fallback
        log.warning("quick work gave up: %s", type(exc).__name__)
        return default
