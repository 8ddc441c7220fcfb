"""The run's phases on a time axis, as a hand-written SVG (no plotting dependency; inline in the HTML report)."""

from __future__ import annotations

from datetime import datetime
from html import escape
from typing import Any

COLOURS = {"succeeded": "#1f9d55", "degraded": "#d69e2e", "failed": "#d64545", "cancelled": "#8e44ad",
           "running": "#3182ce", "interrupted": "#8e44ad", "skipped": "#a0aec0", "not_available": "#cbd5e0", "not_selected": "#e2e8f0",
           "kept": "#9ae6b4"}

WIDTH = 860
LABEL_W = 130  # phase names on the left
RIGHT_W = 70  # durations on the right
ROW_H = 30
BAR_H = 18
TOP = 10
AXIS_H = 30


def _t(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _ticks(total: float) -> list[float]:
    """About five round tick positions (seconds) from 0 to total."""
    for step in (0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200):
        if total / step <= 6:
            break
    n = int(total / step) + 1
    return [i * step for i in range(n)]


def _fmt(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f}s" if seconds < 10 and seconds != int(seconds) else f"{seconds:.0f}s"
    m, s = divmod(round(seconds), 60)
    return f"{m}m{s:02d}s" if s else f"{m}m"


def svg(phases: list[dict[str, Any]]) -> str:
    """One row per phase; a bar from its start to its end (x and width proportional to time) coloured by status.
    Phases that never ran (not available, skipped, left out) keep their row, with the status instead of a bar."""
    timed = [(p, _t(p.get("started_at")), _t(p.get("ended_at"))) for p in phases]
    starts = [s for _, s, e in timed if s and e]
    ends = [e for _, s, e in timed if s and e]
    rows = len(phases)
    height = TOP + rows * ROW_H + AXIS_H
    plot_w = WIDTH - LABEL_W - RIGHT_W
    out = [(f'<svg xmlns="http://www.w3.org/2000/svg" class="timeline" role="img" viewBox="0 0 {WIDTH} {height}" '
            f'width="{WIDTH}" height="{height}" font-family="inherit" font-size="12">'),
           "<title>Phases of the run on a time axis</title>"]
    if not starts:
        out.append(f'<text x="{LABEL_W}" y="{TOP + 14}" fill="#4a5568">No phase has start and end times.</text>')
    t0 = min(starts) if starts else None
    total = max((max(ends) - t0).total_seconds(), 0.001) if starts else 1.0
    scale = plot_w / total
    axis_y = TOP + rows * ROW_H
    # Grid lines and tick labels first, so the bars sit on top of them.
    if starts:
        for tick in _ticks(total):
            x = LABEL_W + tick * scale
            out.append(f'<line x1="{x:.2f}" y1="{TOP - 4}" x2="{x:.2f}" y2="{axis_y}" stroke="#e2e8f0"/>')
            out.append(f'<text x="{x:.2f}" y="{axis_y + 16}" text-anchor="middle" fill="#718096">{_fmt(tick)}</text>')
        out.append(f'<line x1="{LABEL_W}" y1="{axis_y}" x2="{LABEL_W + plot_w}" y2="{axis_y}" stroke="#a0aec0"/>')
    for i, (p, start, end) in enumerate(timed):
        y = TOP + i * ROW_H
        name, status = escape(p["phase"]), p["status"]
        colour = COLOURS.get(status, "#718096")
        out.append(f'<text x="{LABEL_W - 10}" y="{y + BAR_H / 2 + 4:.1f}" text-anchor="end" fill="#2d3748" '
                   f'font-weight="600">{name}</text>')
        if start and end and t0 is not None:
            x = LABEL_W + (start - t0).total_seconds() * scale
            w = max((end - start).total_seconds() * scale, 0.0)
            seconds = (end - start).total_seconds()
            out.append(f'<rect class="bar" data-phase="{name}" data-status="{escape(status)}" '
                       f'data-seconds="{seconds:.3f}" x="{x:.2f}" y="{y}" width="{w:.2f}" height="{BAR_H}" rx="3" '
                       f'fill="{colour}"><title>{name}: {escape(status)}, {_fmt(seconds)}</title></rect>')
            label_x = min(x + w + 6, LABEL_W + plot_w + 4)
            out.append(f'<text x="{label_x:.2f}" y="{y + BAR_H / 2 + 4:.1f}" fill="#4a5568">{_fmt(seconds)}</text>')
        else:
            note = "no end recorded" if start else "did not run"  # an interrupted run leaves phases open
            out.append(f'<text x="{LABEL_W + 4}" y="{y + BAR_H / 2 + 4:.1f}" fill="#718096" '
                       f'font-style="italic">{escape(status.replace("_", " "))} ({note})</text>')
    out.append("</svg>")
    return "\n".join(out)
