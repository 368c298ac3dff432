"""Fault injection: what the fake answers instead of the real thing when a test asks for it.

- queued faults for the next N calls of a method (or of any method, ``"*"``): ``ok: false``
  with an error code (``fail``), HTTP 429 with Retry-After (``rate_limit``), an HTTP 5xx with a
  non-JSON body (``server_error``); queued faults are used before chaos;
- chaos: from now on, a seeded random share of a method's calls rate-limited or failed;
- latency: seconds added to every request, and per method (also ``"response_url"``,
  ``"upload"``).

A Web API call is checked against the spec before a fault is taken (a faulted call that breaks
the spec is still a violation); every call is recorded with the outcome the fault gave it.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections import deque
from dataclasses import dataclass

from tests.fakes.slack.call import JSON_HEADERS, Call


@dataclass
class Fault:
    kind: str  # "fail" | "rate_limit" | "server_error"
    remaining: int
    error: str = ""
    retry_after: int = 1
    status: int = 500
    body: str = ""


@dataclass
class Chaos:
    rng: random.Random
    rate_limit: float
    server_error: float
    retry_after: int
    status: int


class Faults:
    """The faults and latency tests asked for (``fake.fail(...)``, ``fake.latency = ...``)."""

    def __init__(self, lock: threading.RLock) -> None:
        self._lock = lock  # the fake's: a fault is taken while a request holds it
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.latency = 0.0  # seconds added to every request
            self.latency_for: dict[str, float] = {}  # per method (also "response_url", "upload")
            self._queued: dict[str, deque[Fault]] = {}
            self._chaos: dict[str, Chaos] = {}

    def fail(self, method: str, error: str = "invalid_blocks", times: int = 1) -> None:
        """Answer the next ``times`` calls of ``method`` ("*" = any) with ok:false ``error``."""
        self._queue(method, Fault("fail", times, error=error))

    def rate_limit(self, method: str, times: int = 1, retry_after: int = 1) -> None:
        """Answer the next ``times`` calls with HTTP 429 and ``Retry-After``."""
        self._queue(method, Fault("rate_limit", times, retry_after=retry_after))

    def server_error(self, method: str, times: int = 1, status: int = 500, body: str = "") -> None:
        """Answer the next ``times`` calls with HTTP ``status`` and a non-JSON ``body``."""
        self._queue(method, Fault("server_error", times, status=status, body=body))

    def chaos(
        self,
        method: str,
        rate_limit: float = 0.2,
        server_error: float = 0.05,
        seed: int = 1,
        *,
        retry_after: int = 1,
        status: int = 500,
    ) -> None:
        """Randomly (seeded) rate-limit or fail calls of ``method`` ("*" = any) from now on."""
        with self._lock:
            self._chaos[method] = Chaos(random.Random(seed), rate_limit, server_error, retry_after, status)

    def clear(self) -> None:
        """Answer normally again (faults queued and not used yet are dropped)."""
        with self._lock:
            self._queued.clear()

    def _queue(self, method: str, fault: Fault) -> None:
        if fault.remaining < 1:
            return
        with self._lock:
            self._queued.setdefault(method, deque()).append(fault)

    def take(self, method: str) -> Fault | None:
        """Consume the next injected fault for ``method`` (queued first, then chaos)."""
        for key in (method, "*"):
            queue = self._queued.get(key)
            if queue:
                fault = queue[0]
                fault.remaining -= 1
                if fault.remaining <= 0:
                    queue.popleft()
                return fault
        for key in (method, "*"):
            chaos = self._chaos.get(key)
            if chaos is not None:
                roll = chaos.rng.random()
                if roll < chaos.rate_limit:
                    return Fault("rate_limit", 1, retry_after=chaos.retry_after)
                if roll < chaos.rate_limit + chaos.server_error:
                    return Fault("server_error", 1, status=chaos.status)
                return None
        return None

    def delay(self, method: str) -> None:
        """Sleep the latency asked for (before the request takes the fake's lock)."""
        delay = self.latency + self.latency_for.get(method, 0.0)
        if delay > 0:
            time.sleep(delay)


def fault_answer(call: Call, fault: Fault) -> tuple[int, dict[str, str], bytes]:
    """Build the HTTP answer for an injected fault and set the call's outcome."""
    if fault.kind == "rate_limit":
        call.status, call.outcome = 429, "429"
        call.response = {"ok": False, "error": "ratelimited"}
        headers = {**JSON_HEADERS, "Retry-After": str(fault.retry_after)}
        return 429, headers, json.dumps(call.response).encode()
    if fault.kind == "server_error":
        call.status, call.outcome = fault.status, str(fault.status)
        return fault.status, {"Content-Type": "text/plain"}, fault.body.encode()
    call.status, call.outcome = 200, f"error:{fault.error}"
    call.response = {"ok": False, "error": fault.error}
    return 200, JSON_HEADERS, json.dumps(call.response).encode()
