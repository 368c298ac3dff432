"""Pacing Slack calls to their rate tiers (RELIABILITY 55, 56).

Slack limits each Web API method per workspace: ``chat.update`` is Tier 3 (about 50 a minute),
``views.publish`` Tier 4 (about 100 a minute), ``chat.postMessage`` a few hundred a minute, with
short bursts allowed. A claim re-renders every expert's DM of its request and Home refreshes fan
out after every change, so a busy hour would otherwise run into 429s and wait them out on the
pools' threads.

- ``Pacer``: a token bucket per paced method (``PRESALES_SLACK_PACE``, per process). ``take()``
  waits for a token; ``take(urgent=True)`` — what the person who clicked is waiting for — never
  waits and may borrow from the next tokens, so a claim's own answer is never queued behind a
  fan-out.
- ``Lane``: one method's background fan-out (every DM of a claimed request, Homes to refresh),
  run by one thread of its own so a paced wait holds no shared pool. A call queued for a
  message (or a Home) that already has one waiting replaces it: the newest content is sent,
  once. What a lane holds is lost if the process dies; the next change or click re-renders it.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Callable, Hashable

log = logging.getLogger(__name__)

DEFAULT_PACE = "chat.postMessage=300/min,chat.update=50/min,views.publish=100/min"
_RULE = re.compile(r"^\s*([a-zA-Z_.]+)\s*=\s*(\d+)\s*/\s*(s|sec|second|m|min|minute)\s*$")


@dataclass(frozen=True)
class Rate:
    per_second: float
    burst: float  # tokens available at once (half a minute's worth)


def parse_pace(text: str) -> dict[str, Rate]:
    """'chat.update=50/min,views.publish=100/min' -> rates; '' or 'off' -> no pacing.
    Raises ValueError with the part that is wrong."""
    text = (text or "").strip()
    if text.lower() in ("", "off", "none"):
        return {}
    rates: dict[str, Rate] = {}
    for part in text.split(","):
        match = _RULE.match(part)
        if not match or int(match.group(2)) < 1:
            raise ValueError(f"'{part.strip()}' is not METHOD=N/min (e.g. chat.update=50/min)")
        count, unit = int(match.group(2)), match.group(3)
        per_second = count if unit.startswith("s") else count / 60
        rates[match.group(1)] = Rate(per_second=per_second, burst=max(1.0, per_second * 30))
    return rates


class Clock:
    """Real time; tests pass one that moves on its own when waited on."""

    def monotonic(self) -> float:
        return time.monotonic()

    def wait(self, condition: threading.Condition, seconds: float) -> None:
        condition.wait(seconds)


class Pacer:
    def __init__(self, rates: dict[str, Rate], *, clock: Clock | None = None) -> None:
        self.rates = rates
        self.clock = clock or Clock()
        self._cond = threading.Condition()
        now = self.clock.monotonic()
        self._tokens = {method: (rate.burst, now) for method, rate in rates.items()}
        self.waited: dict[str, float] = {method: 0.0 for method in rates}  # seconds spent waiting, per method

    def paces(self, method: str) -> bool:
        return method in self.rates

    def take(self, method: str, *, urgent: bool = False) -> float:
        """Wait until ``method`` may be called (no wait for an unpaced method); returns the wait."""
        rate = self.rates.get(method)
        if rate is None:
            return 0.0
        waited = 0.0
        with self._cond:
            while True:
                now = self.clock.monotonic()
                tokens, at = self._tokens[method]
                tokens = min(rate.burst, tokens + (now - at) * rate.per_second)
                if tokens >= 1.0 - 1e-9 or urgent:  # (a float sum of waits can fall short of 1 by an ulp)
                    self._tokens[method] = (tokens - 1.0, now)
                    self.waited[method] += waited
                    return waited
                self._tokens[method] = (tokens, now)
                pause = (1.0 - tokens) / rate.per_second
                self.clock.wait(self._cond, pause)
                waited += self.clock.monotonic() - now


class Lane:
    """Calls of one kind, one at a time on a thread of their own, newest per key."""

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
