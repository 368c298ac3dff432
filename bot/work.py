"""Bounded executors, so that nothing slow ever runs on Bolt's listener threads.

Bolt runs a listener on its own small pool and cannot ack the next request while every
listener thread is busy. So listeners only ``ack()`` and hand the rest over:

- ``reply``: what the person who clicked or typed is waiting for (claim, list, an ephemeral
  answer) — its own pool, so a burst of broadcasts never delays it; ``reply(urgent=True)``
  for work that must reach Slack within the trigger_id's 3 s (a modal to open): a pool of its
  own again, so a storm of 20 Claim clicks per request never queues a `/presales` behind it;
- ``submit``: background flows (broadcast, refreshing DMs and Homes, digests);
- ``map(pool="send")``: the fan-out of single Slack calls inside a flow;
- ``paced(lane, key, fn)``: background calls of one paced Slack method (every DM of a claimed
  request, Homes to refresh), on a thread of their own per method so a wait for Slack's rate
  tier holds no pool thread; a newer call for the same key replaces a queued one
  (``Lane``; the pacing itself is bot/slack/pace.py).

The pools never wait on each other in a cycle (a flow may fan out on ``send``; nothing on
``send`` waits for anything). Tests call ``drain()`` to wait until everything submitted has
finished instead of sleeping.
"""

from __future__ import annotations

import contextvars
import logging
import threading
import uuid
from collections import OrderedDict
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Callable, Hashable, Iterable, TypeVar


log = logging.getLogger(__name__)
T = TypeVar("T")
R = TypeVar("R")


class Lane:
    """Calls of one kind (one paced Slack method), one at a time on a thread of their own,
    newest per key: a call queued for a message (or a Home) that already has one waiting
    replaces it, so the newest content is sent, once. What a lane holds is lost if the process
    dies; the next change or click re-renders it."""

    def __init__(self, name: str, *, on_start: Callable[[], None], on_done: Callable[[], None]) -> None:
        self.name = name
        self._on_start, self._on_done = on_start, on_done
        self._queue: OrderedDict[Hashable, Callable[[], object]] = OrderedDict()
        self._cond = threading.Condition()
        self._closed = False
        self.replaced = 0  # calls made unnecessary by a newer one for the same key
        self._thread = threading.Thread(target=self._run, name=f"lane-{name}", daemon=True)
        self._thread.start()

    def submit(self, key: Hashable, fn: Callable[[], object]) -> None:
        with self._cond:
            if self._closed:
                raise RuntimeError(f"lane {self.name} is shut down")
            if key in self._queue:
                self.replaced += 1
                self._queue[key] = fn  # keeps its place in the line, with the newest content
                return
            self._on_start()
            self._queue[key] = fn
            self._cond.notify()

    @property
    def queued(self) -> int:
        with self._cond:
            return len(self._queue)

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._closed:
                    self._cond.wait()
                if not self._queue:
                    return
                _key, fn = self._queue.popitem(last=False)
            try:
                fn()
            except Exception:  # one failed call must not stop the lane
                log.exception("lane %s: call failed", self.name)
            finally:
                self._on_done()

    def close(self, *, drop: bool) -> int:
        """Stop taking calls; ``drop`` forgets the queued ones (returns how many)."""
        with self._cond:
            self._closed = True
            dropped = 0
            if drop:
                dropped = len(self._queue)
                self._queue.clear()
                for _ in range(dropped):
                    self._on_done()
            self._cond.notify_all()
        return dropped


class Work:
    def __init__(self, *, threads: int, send_threads: int, reply_threads: int = 8, name: str = "presales") -> None:
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix=f"{name}-work")
        self._send = ThreadPoolExecutor(max_workers=send_threads, thread_name_prefix=f"{name}-send")
        self._reply = ThreadPoolExecutor(max_workers=reply_threads, thread_name_prefix=f"{name}-reply")
        self._urgent = ThreadPoolExecutor(max_workers=max(2, reply_threads // 2), thread_name_prefix=f"{name}-trigger")
        self._pending = 0
        self._idle = threading.Condition()
        self._closed = False
        self._lanes: dict[str, Lane] = {}
        self.failures: list[str] = []  # "name: ExceptionType (ref)", for monitoring and tests

    def _run(self, executor: ThreadPoolExecutor, fn: Callable[..., object], args, kwargs,
             on_error: Callable[[Exception], None] | None = None) -> Future:
        with self._idle:
            if self._closed:
                raise RuntimeError("work executor is shut down")
            self._pending += 1

        def run():
            try:
                return fn(*args, **kwargs)
            except Exception as exc:
                if on_error is not None:
                    try:
                        on_error(exc)
                        return None
                    except Exception:  # the error path itself failed: fall through to the log
                        pass
                self._failed(fn, exc)
                return None
            finally:
                self._done()

        # carry the request's log context (rid, team, user, action) into the background
        return executor.submit(contextvars.copy_context().run, run)

    def _failed(self, fn: Callable[..., object], exc: Exception) -> None:
        name = getattr(fn, "__name__", str(fn))
        ref = uuid.uuid4().hex[:8]
        log.error("background work %s failed (ref %s)", name, ref, exc_info=exc)
        self.failures.append(f"{name}: {type(exc).__name__} ({ref})")
        from bot import metrics

        metrics.background_failures.inc()

    def _started(self) -> None:
        with self._idle:
            self._pending += 1

    def _done(self) -> None:
        with self._idle:
            self._pending -= 1
            if self._pending == 0:
                self._idle.notify_all()

    def paced(self, lane: str, key: Hashable, fn: Callable[[], object]) -> None:
        """Queue ``fn`` on the lane of one paced Slack method (e.g. "chat.update"); a call already
        queued there for ``key`` (the same message, the same Home) is replaced by this newer one."""
        with self._idle:
            if self._closed:
                raise RuntimeError("work executor is shut down")
            line = self._lanes.get(lane)
            if line is None:
                line = self._lanes[lane] = Lane(lane, on_start=self._started, on_done=self._done)
        context = contextvars.copy_context()  # the request's log context, as submit() carries it

        def run() -> None:
            try:
                context.run(fn)
            except Exception as exc:
                self._failed(fn, exc)

        line.submit(key, run)

    def submit(self, fn: Callable[..., object], *args, **kwargs) -> Future:
        """Run a background flow; an exception is logged with a reference id."""
        return self._run(self._pool, fn, args, kwargs)

    def reply(self, fn: Callable[..., object], *args, on_error: Callable[[Exception], None], urgent: bool = False,
              **kwargs) -> Future:
        """Run what a person is waiting for, after the ack; ``on_error`` tells them if it fails.
        ``urgent``: it holds a trigger_id (a modal to open within 3 s of the click)."""
        return self._run(self._urgent if urgent else self._reply, fn, args, kwargs, on_error=on_error)

    def map(self, fn: Callable[[T], R], items: Iterable[T], *, pool: str = "send") -> list[R]:
        """Run ``fn`` over ``items`` concurrently; results in order. ``fn`` must handle its own
        errors (one failure must not stop the others). ``pool="send"`` for single Slack calls;
        ``pool="work"`` for flows that fan out themselves (never call it from a work thread)."""
        executor = self._send if pool == "send" else self._pool
        futures = [executor.submit(contextvars.copy_context().run, fn, item) for item in items]
        return [f.result() for f in futures]

    def drain(self, timeout: float = 30.0) -> bool:
        """Wait until all submitted work (and work it submitted) has finished."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout=timeout)

    @property
    def pending(self) -> int:
        return self._pending

    def shutdown(self, timeout: float = 20.0) -> None:
        """Let in-flight work and what it hands over finish (bounded by ``timeout``), then stop.
        Work still queued after that is dropped: the scheduler's safety net re-drives broadcasts."""
        self.drain(timeout)  # in-flight work may still hand over follow-ups (store -> broadcast): drained too
        with self._idle:
            self._closed = True
        for line in self._lanes.values():
            dropped = line.close(drop=True)
            if dropped:
                log.warning("shutdown: %d queued %s call(s) dropped (the next change re-renders them)", dropped,
                            line.name)
        for executor in (self._pool, self._send, self._reply, self._urgent):
            executor.shutdown(wait=False, cancel_futures=True)


_quick = ThreadPoolExecutor(max_workers=8, thread_name_prefix="presales-quick")


def within(seconds: float, fn: Callable[[], R], default: R) -> R:
    """Run ``fn`` but give up after ``seconds`` (for work before a trigger_id expires)."""
    future = _quick.submit(fn)
    try:
        return future.result(timeout=seconds)
    except Exception as exc:  # timeout or the function's own error: the caller has a fallback
        log.warning("quick work gave up: %s", type(exc).__name__)
        return default
