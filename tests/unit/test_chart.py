"""The digest's chart (bot/slack/chart.py): a PNG, drawn without pyplot's global state, so the
Monday digest's 4 managers at a time can each draw one at once (RELIABILITY 57)."""

from __future__ import annotations

import subprocess
import sys
import threading

import pytest

from bot.slack.chart import MAX_EXPERTS, ExpertBar, WeekPoint, expert_chart

# Pure functions: no database (the PostgreSQL pass skips this module).
pytestmark = pytest.mark.db_agnostic


def test_charts_drawn_in_threads_at_once_are_all_the_same_png():
    rows = [ExpertBar(f"expert {i}", answered=i, sent=40, median_min=float(i)) for i in range(1, 40)]
    rows.append(ExpertBar("silent", answered=0, sent=3, median_min=None))
    out: list[bytes | None] = []
    threads = [threading.Thread(target=lambda: out.append(expert_chart(rows, title="Experts, 2026-W47", team_rate=0.5,
                                                                       team_median_min=12.0)))
               for _ in range(4)]
    [t.start() for t in threads]
    [t.join(60) for t in threads]
    assert len(out) == 4 and all(png and png.startswith(b"\x89PNG\r\n\x1a\n") for png in out)
    assert len(set(out)) == 1  # no figure drew into another's
    width, height = int.from_bytes(out[0][16:20], "big"), int.from_bytes(out[0][20:24], "big")
    assert width == 1100 and height == round((0.34 * MAX_EXPERTS + 1.0 + 0.6) * 100)  # capped at 30 rows


def test_the_trend_adds_a_panel():
    rows = [ExpertBar("maria", answered=3, sent=4, median_min=5.0)]
    trend = [WeekPoint(f"{d} Nov", rate=0.8, median_min=6.0, sent=10) for d in (2, 9, 16)]
    without = expert_chart(rows, title="t")
    with_trend = expert_chart(rows, title="t", trend=trend)
    height = lambda png: int.from_bytes(png[20:24], "big")  # noqa: E731
    assert height(with_trend) == height(without) + 220


def test_no_rows_no_chart():
    assert expert_chart([], title="empty") is None


def test_matplotlib_is_not_imported_when_the_app_starts():
    """Every process (CLI command, gunicorn worker, scheduler) imports the app; matplotlib was half
    of that start-up for a chart drawn once a week."""
    probe = subprocess.run([sys.executable, "-c", "import sys, bot.app, bot.cli; print(sorted(m for m in sys.modules "
                            "if m.split('.')[0] == 'matplotlib'))"], capture_output=True, text=True, timeout=60)
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.strip() == "[]"
