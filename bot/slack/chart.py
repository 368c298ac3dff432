"""The digest's chart: per-expert response rate and median time to respond (PNG bytes).

matplotlib's object API (a ``Figure`` drawn by the Agg canvas, as matplotlib advises for web
servers): no display, no pyplot global state, so safe in any thread without a lock. matplotlib is
imported on the first chart, not when the app starts: it was half of every process's start-up
(CLI commands, gunicorn workers, schedulers) for a chart drawn once a week."""

from __future__ import annotations

import io

MAX_EXPERTS = 30


def expert_chart(rows: list[tuple[str, float | None, float | None]], *, title: str) -> bytes | None:
    """``rows``: (name, response rate 0..1 or None, median minutes or None). None when empty."""
    rows = rows[:MAX_EXPERTS]
    if not rows:
        return None
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    names = [name[:24] for name, _, _ in rows][::-1]
    rates = [(rate or 0) * 100 for _, rate, _ in rows][::-1]
    minutes = [m or 0 for _, _, m in rows][::-1]
    height = max(2.5, 0.32 * len(rows) + 1.2)
    fig = Figure(figsize=(10, height))
    FigureCanvasAgg(fig)
    left, right = fig.subplots(1, 2, sharey=True)
    # Bars at numbered rows, names as plain labels: two experts with the same display name get a
    # bar each, and a name with "$" in it is text, not mathtext (which fails on "$x^$").
    rows_at = list(range(len(names)))
    left.barh(rows_at, rates, color="#2a9d8f")
    left.set_yticks(rows_at, labels=names, parse_math=False)
    left.set_xlim(0, 100)
    left.set_xlabel("response rate (%)")
    right.barh(rows_at, minutes, color="#e76f51")
    right.set_xlabel("median time to respond (min)")
    fig.suptitle(title, parse_math=False)
    fig.tight_layout()
    out = io.BytesIO()
    fig.savefig(out, format="png", dpi=100)
    return out.getvalue()
