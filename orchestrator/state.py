"""The state folder beside an inventory: the one module that knows its name and layout.

    <inventory>/.aidevops/
      aidevops.db            the run store (SQLite)
      run.lock               held (flock) by the one run of this inventory; its holder's run id, pid, host, start
      runs/<run id>/         one folder per recorded run: run.log.jsonl, a folder per phase, report/
        report/              the report; report.revealed.* when credentials were revealed (kept for hours only)
      ai-cache/              valid AI answers, by prompt hash
      placement.json         `placement: auto`: where the planner put each service, kept for later runs
      sandbox/               the local sandbox's keys, certificates, CA roots and fixed ports
      dockerd.log            the Docker engine's log when aidevops started it
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

FOLDER = ".aidevops"
REPORT = "report"
# `aidevops report --reveal` writes the report with the credentials in clear under this stem (.html, .md);
# retention deletes those files after the request's `retention.revealed_hours`.
REVEALED_STEM = "report.revealed"


def new_run_id() -> str:
    """Sortable by time, unique enough for one inventory: 20261129-221500-a1b2."""
    return datetime.now(UTC).strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(2)


@dataclass(frozen=True)
class StateDir:
    inventory: Path

    @property
    def root(self) -> Path:
        return Path(self.inventory) / FOLDER

    @property
    def db(self) -> Path:
        return self.root / "aidevops.db"

    @property
    def run_lock(self) -> Path:
        return self.root / "run.lock"

    @property
    def runs(self) -> Path:
        return self.root / "runs"

    def run_dir(self, run_id: str) -> Path:
        return self.runs / run_id

    def report_dir(self, run_id: str) -> Path:
        return self.run_dir(run_id) / REPORT

    def revealed_files(self) -> list[Path]:
        """Every run's revealed report files (credentials in clear), wherever a run folder holds them."""
        return sorted(self.runs.glob(f"*/{REPORT}/{REVEALED_STEM}.*"))

    @property
    def placement(self) -> Path:
        return self.root / "placement.json"

    @property
    def ai_cache(self) -> Path:
        return self.root / "ai-cache"

    @property
    def sandbox(self) -> Path:
        return self.root / "sandbox"

    @property
    def dockerd_log(self) -> Path:
        return self.root / "dockerd.log"
