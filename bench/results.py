"""bench/RESULTS.md and its chart, from the benches' JSON figures kept under bench/results/<stage>/.

A stage is one run of every bench on one machine (`before` the speed levers of issue 16, `after` them); each
bench wrote its figures there with --json, and the machine, date and commit it ran on (common.write_json).
The table gives every figure, before and after, against its goal; the chart draws each figure as a share of
its goal (at most 1.0 is met), before and after side by side, so that a reader sees at a glance what is met.
bench/results/NOTES.md, written by hand, follows the table: why each figure is where it is.

    .venv/bin/python bench/results.py            # writes bench/RESULTS.md and bench/results.svg
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from common import ROOT

RESULTS = ROOT / "bench/results"
STAGES = ("before", "after")
MARKDOWN, CHART = ROOT / "bench/RESULTS.md", ROOT / "bench/results.svg"


@dataclass(frozen=True)
class Figure:
    name: str
    bench: str
    unit: str
    goal: float
    at_most: bool  # the goal is a ceiling (a ratio, seconds) rather than a floor (events per second)
    read: Callable[[dict], float | None]

    def share(self, value: float) -> float:
        """value as a share of the goal, the way round where at most 1.0 is met."""
        return value / self.goal if self.at_most else self.goal / value


def _overhead(play: str) -> Callable[[dict], float | None]:
    return lambda d: next((r["ratio"] for r in d["results"] if r["play"] == play), None)


def _events_rate(d: dict) -> float:
    return min(r["events_per_s"] for r in d["results"])


def _events_growth(d: dict) -> float:
    """Memory the pipeline took on from the smallest to the largest size (flat: near 0)."""
    return d["results"][-1]["growth_mb"] - d["results"][0]["growth_mb"]


def _fleet(d: dict) -> float | None:
    done = {r["hosts"]: r["wall_s"] for r in d["results"] if r["ok"]}
    return done[8] / done[1] if 1 in done and 8 in done else None


FIGURES = (
    Figure("overhead, tiny play (aidevops / ansible-playbook)", "overhead", "x", 1.10, True, _overhead("tiny")),
    Figure("overhead, sandbox stack (aidevops / ansible-playbook)", "overhead", "x", 1.03, True, _overhead("stack")),
    Figure("re-run / bare default ansible-playbook", "rerun", "x", 0.25, True, lambda d: d["ratio_bare"]),
    Figure("re-run / fresh run", "rerun", "x", 0.2, True, lambda d: d["ratio_fresh"]),
    Figure("hybrid / sequential", "strategies", "x", 0.7, True, lambda d: d["ratio"]),
    Figure("event pipeline, slowest size", "events", "events/s", 50_000, False, _events_rate),
    # "Flat" made a number: at most 10 MB more at the largest size than at the smallest.
    Figure("event pipeline, memory taken on from 10k to 1M events", "events", "MB", 10, True, _events_growth),
    Figure("fresh host to n8n over TLS", "fresh", "s", 300, True, lambda d: d["n8n_tls_s"]),
    Figure("8 hosts / 1 host, wall time (issue 15)", "fleet", "x", 2.0, True, _fleet),
)


def load(stage: str, bench: str) -> dict | None:
    path = RESULTS / stage / f"{bench}.json"
    return json.loads(path.read_text()) if path.is_file() else None


def value(stage: str, figure: Figure) -> float | None:
    data = load(stage, figure.bench)
    return figure.read(data) if data else None


def fmt(v: float | None, unit: str) -> str:
    if v is None:
        return "not measured"
    if unit == "events/s":
        return f"{v:,.0f} {unit}"
    return f"{v:.2f}{unit}" if unit == "x" else f"{v:.1f} {unit}"


def markdown() -> str:
    lines = ["# Bench results", "",
             "Written by `bench/results.py` from the JSON under `bench/results/<stage>/`; each bench's docstring says",
             "what it measures and how. `before`: before the speed levers of issue 16; `after`: with the levers kept.",
             "", "![each figure as a share of its goal, before and after](results.svg)", "",
             "| figure | before | after | goal | met |", "|---|---|---|---|---|"]
    for f in FIGURES:
        before, after = value("before", f), value("after", f)
        last = after if after is not None else before
        met = "-" if last is None else ("yes" if f.share(last) <= 1 else "no")
        goal = f"{'at most' if f.at_most else 'at least'} {fmt(f.goal, f.unit)}"
        lines.append(f"| {f.name} | {fmt(before, f.unit)} | {fmt(after, f.unit)} | {goal} | {met} |")
    notes = RESULTS / "NOTES.md"  # hand-written: why each figure is where it is, what "after" covers
    if notes.is_file():
        lines += ["", notes.read_text().strip()]
    lines += ["", "## Where and when", "", "| stage | bench | date | commit | cores | memory | ansible-core | load |",
              "|---|---|---|---|---|---|---|---|"]
    for stage in STAGES:
        for bench in dict.fromkeys(f.bench for f in FIGURES):
            data = load(stage, bench)
            if data:
                m = data.get("machine", {})
                lines.append(f"| {stage} | {bench} | {m.get('date', '?')} | {m.get('commit', '?')} | "
                             f"{m.get('cores', '?')} | {m.get('memory_gib', '?')} GiB | {m.get('ansible_core', '?')} | "
                             f"{m.get('load_1min', '?')} |")
    return "\n".join(lines) + "\n"


def chart(path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [f.name for f in FIGURES]
    fig, ax = plt.subplots(figsize=(10, 0.55 * len(names) + 1.5))
    height = 0.38
    for k, (stage, colour) in enumerate(zip(STAGES, ("#9aa5b1", "#2b7bb9"), strict=True)):
        shares = [value(stage, f) for f in FIGURES]
        ys = [i + (k - 0.5) * height for i in range(len(names))]
        widths = [f.share(v) if v is not None else 0 for f, v in zip(FIGURES, shares, strict=True)]
        ax.barh(ys, widths, height=height, color=colour, label=stage)
        for y, w, v in zip(ys, widths, shares, strict=True):
            if v is None:
                ax.text(0.02, y, "not measured", va="center", fontsize=7, color="#555555")
    ax.axvline(1.0, color="#c0392b", linewidth=1.2, linestyle="--", label="goal")
    ax.set_yticks(range(len(names)), names, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("share of the goal (at most 1.0 is met)")
    ax.legend(loc="lower right", fontsize=8)
    ax.set_title("aidevops speed benches: each figure against its goal", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, format=path.suffix.lstrip("."), metadata={"Date": None} if path.suffix == ".svg" else None)
    plt.close(fig)


def main() -> None:
    MARKDOWN.write_text(markdown())
    chart(CHART)
    print(f"wrote {MARKDOWN} and {CHART}")


if __name__ == "__main__":
    main()
