"""The digest's chart (bot/slack/chart.py): a PNG, drawn without pyplot's global state, so the
Monday digest's 4 managers at a time can each draw one at once (RELIABILITY 57)."""

from __future__ import annotations

import subprocess
import sys
import threading

import pytest

from bot.slack.chart import MAX_EXPERTS, expert_chart

# Pure functions: no database (the PostgreSQL pass skips this module).
pytestmark = pytest.mark.db_agnostic


def test_charts_drawn_in_threads_at_once_are_all_the_same_png():
    rows = [(f"expert {i}", i / 40, float(i)) for i in range(40)] + [("silent", None, None)]
    out: list[bytes | None] = []
    threads = [threading.Thread(target=lambda: out.append(expert_chart(rows, title="Experts, 2026-W47")))
               for _ in range(4)]
    [t.start() for t in threads]
    [t.join(60) for t in threads]
    assert len(out) == 4 and all(png and png.startswith(b"\x89PNG\r\n\x1a\n") for png in out)
    assert len(set(out)) == 1  # no figure drew into another's
    width, height = int.from_bytes(out[0][16:20], "big"), int.from_bytes(out[0][20:24], "big")
    assert width == 1000 and height == round((0.32 * MAX_EXPERTS + 1.2) * 100)  # capped at 30 rows


def test_no_rows_no_chart():
    assert expert_chart([], title="empty") is None


def test_matplotlib_is_not_imported_when_the_app_starts():
    """Every process (CLI command, gunicorn worker, scheduler) imports the app; matplotlib was half
    of that start-up for a chart drawn once a week."""
    probe = subprocess.run([sys.executable, "-c", "import sys, bot.app, bot.cli; print(sorted(m for m in sys.modules "
                            "if m.split('.')[0] == 'matplotlib'))"], capture_output=True, text=True, timeout=60)
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.strip() == "[]"
