"""Run every benchmark with its defaults and print the tables (`make bench`).

    python -m bench.all [--only ack_latency,fanout,ack_under_load] [--quick]

Tables go to stdout (Markdown), progress to stderr. One benchmark failing does not stop
the others; the exit status says whether all of them ran.
"""

from __future__ import annotations

import argparse
import sys
import time
import traceback
from types import ModuleType

from bench import ack_latency, ack_under_load, fanout
from bench.common import say

BENCHES: dict[str, ModuleType] = {
    "ack_latency": ack_latency,
    "fanout": fanout,
    "ack_under_load": ack_under_load,
}

# Smaller runs for a quick look (about a minute in all); the defaults take about four.
QUICK: dict[str, list[str]] = {
    "ack_latency": ["--requests", "100", "--concurrency", "1,50", "--burst-requests", "100"],
    "fanout": ["--repeat", "1"],
    "ack_under_load": ["--duration", "5", "--drain", "15"],
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.all", description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", default=",".join(BENCHES), help=f"comma-separated subset of {', '.join(BENCHES)}")
    parser.add_argument("--quick", action="store_true", help="smaller runs (noisier figures)")
    args = parser.parse_args(argv)
    chosen = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = [name for name in chosen if name not in BENCHES]
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}")
    started = time.monotonic()
    failed: list[str] = []
    print(f"# presales-bot benchmarks ({time.strftime('%Y-%m-%d %H:%M')})\n", flush=True)
    for name in chosen:
        module = BENCHES[name]
        bench_started = time.monotonic()
        say(f"== {name}")
        try:
            output = module.run(module.parse_args(QUICK[name] if args.quick else []))
        except Exception:  # report and go on with the next benchmark
            failed.append(name)
            say(traceback.format_exc())
            output = f"### {name}\n\nfailed: see the traceback on stderr\n"
        print(output, flush=True)
        say(f"== {name}: {time.monotonic() - bench_started:.0f}s")
    say(f"all benchmarks: {time.monotonic() - started:.0f}s" + (f", failed: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
