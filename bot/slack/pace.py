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
- The background fan-out of a paced method (every DM of a claimed request, Homes to refresh)
  runs on that method's lane (``bot.work.Lane``, one thread each), so a paced wait holds no
  shared pool.

The rates come from ``PRESALES_SLACK_PACE``, parsed by ``bot.config`` (``Settings.pace_rates``).
"""

from __future__ import annotations

import threading
import time

from bot.config import Rate


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
