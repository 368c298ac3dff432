"""The digest's chart: per-expert response rate and median time to respond, with the values and
sample sizes written on the bars, the team's median marked, silent experts shown, and the team's
last weeks as a trend (PNG bytes).

matplotlib's object API (a ``Figure`` drawn by the Agg canvas, as matplotlib advises for web
servers): no display, no pyplot global state, so safe in any thread without a lock. matplotlib is
imported on the first chart, not when the app starts: it was half of every process's start-up
(CLI commands, gunicorn workers, schedulers) for a chart drawn once a week."""

from __future__ import annotations

import io
from dataclasses import dataclass

MAX_EXPERTS = 30


@dataclass(frozen=True)
class ExpertBar:
    name: str
    answered: int
    sent: int
    median_min: float | None  # working time; None when they answered nothing

    @property
    def rate(self) -> float:
        return self.answered / self.sent if self.sent else 0.0


@dataclass(frozen=True)
class WeekPoint:
    label: str  # "16 Nov"
    rate: float | None  # 0..1
    median_min: float | None
    sent: int


def expert_chart(bars: list[ExpertBar], *, title: str, team_rate: float | None = None,
                 team_median_min: float | None = None, trend: list[WeekPoint] | None = None) -> bytes | None:
    """None when nobody got a DM."""
    bars = bars[:MAX_EXPERTS]
    if not bars:
        return None
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    trend = trend if trend and any(p.sent for p in trend) else []
    rows = list(range(len(bars)))[::-1]  # the first expert on top
    bars_height = max(1.4, 0.34 * len(bars) + 1.0)
    ratios = [bars_height, 2.2] if trend else [bars_height]
    fig = Figure(figsize=(11, sum(ratios) + 0.6))
    FigureCanvasAgg(fig)
    grid = fig.add_gridspec(len(ratios), 2, height_ratios=ratios)
    left, right = fig.add_subplot(grid[0, 0]), fig.add_subplot(grid[0, 1])
    # Bars at numbered rows, names as plain labels: two experts with the same display name get a
    # bar each, and a name with "$" in it is text, not mathtext (which fails on "$x^$").
    left.barh(rows, [b.rate * 100 for b in bars], color=["#adb5bd" if not b.answered else "#2a9d8f" for b in bars])
    left.set_yticks(rows, labels=[b.name[:24] + ("  (silent)" if not b.answered else "") for b in bars],
                    parse_math=False)
    left.set_xlim(0, 118)
    left.set_xlabel("response rate (%) — answered of DMs sent")
    for row, bar in zip(rows, bars):
        left.text(bar.rate * 100 + 1, row, f"{bar.rate * 100:.0f}% ({bar.answered}/{bar.sent})", va="center",
                  fontsize=8, parse_math=False)
    if team_rate is not None:
        left.axvline(team_rate * 100, color="#264653", linestyle="--", linewidth=1)
        left.text(team_rate * 100, len(bars) - 0.4, f"team {team_rate * 100:.0f}%", fontsize=8, color="#264653")
    minutes = [b.median_min or 0 for b in bars]
    right.barh(rows, minutes, color="#e76f51")
    right.set_yticks(rows, labels=[""] * len(rows))
    right.set_xlim(0, max(minutes + [team_median_min or 0, 1]) * 1.3)
    right.set_xlabel("median time to respond (working minutes)")
    for row, bar in zip(rows, bars):
        right.text((bar.median_min or 0) + 0.2, row, "—" if bar.median_min is None else f"{bar.median_min:.0f} min",
                   va="center", fontsize=8)
    if team_median_min is not None:
        right.axvline(team_median_min, color="#264653", linestyle="--", linewidth=1)
        right.text(team_median_min, len(bars) - 0.4, f"team {team_median_min:.0f} min", fontsize=8, color="#264653")
    if trend:
        _trend(fig.add_subplot(grid[1, :]), trend)
    fig.suptitle(title, parse_math=False)
    fig.tight_layout()
    out = io.BytesIO()
    fig.savefig(out, format="png", dpi=100)
    return out.getvalue()


def _trend(axis, points: list[WeekPoint]) -> None:
    """The team's response rate over the last weeks, each week with its number of DMs (a week
    without DMs has no point)."""
    xs = list(range(len(points)))
    shown = [(x, p) for x, p in zip(xs, points) if p.sent and p.rate is not None]
    axis.plot([x for x, _ in shown], [p.rate * 100 for _, p in shown], color="#2a9d8f", marker="o")
    for x, p in shown:
        axis.annotate(f"{p.rate * 100:.0f}%", (x, p.rate * 100), textcoords="offset points", xytext=(0, 6),
                      ha="center", fontsize=8)
    axis.set_ylim(0, 110)
    axis.set_xlim(-0.5, len(points) - 0.5)
    axis.set_ylabel("response rate (%)")
    axis.set_xticks(xs, labels=[f"{p.label}\n{p.sent} DMs" for p in points])
    axis.set_title("Team response rate, last weeks (week starting)", fontsize=9)
