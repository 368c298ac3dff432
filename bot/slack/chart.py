"""The digest's chart: per-expert response rate and median time to respond (PNG bytes).

matplotlib with the Agg backend: no display needed, safe in any thread (one figure per call,
closed afterwards)."""

from __future__ import annotations

import io
import threading

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

MAX_EXPERTS = 30
_lock = threading.Lock()  # pyplot's figure registry is global state


def expert_chart(rows: list[tuple[str, float | None, float | None]], *, title: str) -> bytes | None:
    """``rows``: (name, response rate 0..1 or None, median minutes or None). None when empty."""
    rows = rows[:MAX_EXPERTS]
    if not rows:
        return None
    names = [name[:24] for name, _, _ in rows][::-1]
    rates = [(rate or 0) * 100 for _, rate, _ in rows][::-1]
    minutes = [m or 0 for _, _, m in rows][::-1]
    height = max(2.5, 0.32 * len(rows) + 1.2)
    with _lock:
        fig, (left, right) = plt.subplots(1, 2, figsize=(10, height), sharey=True)
        try:
            left.barh(names, rates, color="#2a9d8f")
            left.set_xlim(0, 100)
            left.set_xlabel("response rate (%)")
            right.barh(names, minutes, color="#e76f51")
            right.set_xlabel("median time to respond (min)")
            fig.suptitle(title)
            fig.tight_layout()
            out = io.BytesIO()
            fig.savefig(out, format="png", dpi=100)
            return out.getvalue()
        finally:
            plt.close(fig)
