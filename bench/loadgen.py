"""Load generator process: `python -m bench.loadgen < spec.json > result.json`.

Reads a :class:`bench.common.LoadSpec` as JSON on stdin, sends Slack-signed requests with
``SlackDriver`` from ``concurrency`` threads (closed loop: each thread waits for its answer
before sending the next), and writes every measured sample as JSON on stdout. It runs in
its own process so that the fake Slack's work in the benchmark process does not compete
with the timing threads for the GIL.
"""

from __future__ import annotations

import itertools
import json
import secrets
import sys
import threading
import time
from dataclasses import asdict
from typing import Any

from bench.common import LoadSpec, Sample
from tests.fakes.signing import Reply, SlackDriver

_trigger_seq = itertools.count(1)


class BenchDriver(SlackDriver):
    """A driver without the fake object: response_urls point at the fake over HTTP, and
    trigger_ids are ones the fake has not issued (so it accepts them whatever their age;
    the benchmark checks their age itself from the call log)."""

    def __init__(self, base_url: str, signing_secret: str, *, fake_base: str, team_id: str) -> None:
        super().__init__(base_url, signing_secret, team_id=team_id)
        self.fake_base = fake_base.rstrip("/")

    def new_trigger_id(self) -> str:
        return f"{23345224609 + next(_trigger_seq)}.738474920.{secrets.token_hex(11)[:21]}"

    def new_response_url(self) -> str:
        return f"{self.fake_base}/response/{secrets.token_hex(12)}"


def _send(driver: BenchDriver, spec: LoadSpec, index: int) -> Sample:
    user = spec.users[index % len(spec.users)]
    started = time.monotonic()
    key = ""
    try:
        if spec.kind == "command":
            key = driver.new_trigger_id()
            reply: Reply = driver.command(user, spec.text, channel_id="C0DEAL", trigger_id=key,
                                          response_url=driver.new_response_url(), timeout=spec.timeout)
        elif spec.kind == "action":
            key = spec.values[index % len(spec.values)]
            reply = driver.action(user, spec.action_id, key, block_id=spec.block_id, channel_id="D" + user[1:],
                                  timeout=spec.timeout)
        else:
            raise ValueError(f"unknown load kind {spec.kind!r}")
    except Exception:  # timeout, connection refused/reset: counted, never fatal
        return Sample(started, time.monotonic() - started, 0, key)
    return Sample(started, reply.elapsed, reply.status, key)


def run(spec: LoadSpec) -> tuple[list[Sample], float]:
    driver = BenchDriver(spec.url, spec.secret, fake_base=spec.fake_base, team_id=spec.team)
    lock = threading.Lock()
    samples: list[Sample] = []

    def phase(first: int, stop: int | None, deadline: float | None, keep: bool) -> None:
        """Send requests first, first+1, ... until index ``stop`` or the ``deadline``."""
        counter = itertools.count(first)

        def worker() -> None:
            while True:
                with lock:
                    index = next(counter)
                if (stop is not None and index >= stop) or (deadline is not None and time.monotonic() >= deadline):
                    return
                sample = _send(driver, spec, index)
                if keep:
                    with lock:
                        samples.append(sample)

        threads = [threading.Thread(target=worker, daemon=True) for _ in range(max(1, spec.concurrency))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    def bursts(first: int, waves: int, keep: bool) -> None:
        """``waves`` times: all threads send at once, wait for every answer, pause."""
        size = max(1, spec.concurrency)
        go = threading.Barrier(size)
        done = threading.Barrier(size)

        def worker(slot: int) -> None:
            for wave in range(waves):
                go.wait()
                sample = _send(driver, spec, first + wave * size + slot)
                if keep:
                    with lock:
                        samples.append(sample)
                done.wait()
                if slot == 0:
                    time.sleep(spec.pause)  # the others wait at `go` meanwhile

        threads = [threading.Thread(target=worker, args=(k,), daemon=True) for k in range(size)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    if spec.mode == "burst":
        size = max(1, spec.concurrency)
        warm_waves = -(-spec.warmup // size) if spec.warmup else 0
        bursts(0, warm_waves, keep=False)
        started = time.monotonic()
        bursts(warm_waves * size, max(1, -(-spec.count // size)), keep=True)
        return samples, time.monotonic() - started
    if spec.warmup:
        phase(0, spec.warmup, None, keep=False)
    if spec.start_at:
        time.sleep(max(0.0, spec.start_at - time.monotonic()))
    started = time.monotonic()
    if spec.duration > 0:
        phase(spec.warmup, None, started + spec.duration, keep=True)
    else:
        phase(spec.warmup, spec.warmup + spec.count, None, keep=True)
    return samples, time.monotonic() - started


def main() -> int:
    raw: dict[str, Any] = json.loads(sys.stdin.read())
    spec = LoadSpec(**raw)
    samples, wall = run(spec)
    json.dump({"samples": [list(asdict(s).values()) for s in samples], "wall": wall}, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
