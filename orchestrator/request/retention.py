"""The request's `retention:` section: how long the controller keeps what runs leave in the state folder (run
folders and their records, the AI's raw answers, the AI cache, revealed reports). `aidevops runs prune` applies
it, and so does the end of every recorded run (orchestrator/run/retention.py)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from orchestrator.request.fields import Section

TEN_YEARS_DAYS = 3650  # the longest any limit goes: "keep it" without a switch of its own


class RetentionPolicy(Section):
    runs_days: int = Field(
        30, ge=0, le=TEN_YEARS_DAYS, json_schema_extra={"unit": "days"},
        description="Days a run is kept: its folder (ansible-runner artifacts, run log, report) and its rows in "
                    "the run store. An older run is removed unless it is one of the keep_last_runs latest, the "
                    "latest successful `aidevops run`, the last deployment of a phase (`aidevops check` replays "
                    "it), a run the next run compares its phases with, or still running. A month covers the "
                    "review after an incident and a monthly maintenance cycle.")
    keep_last_runs: int = Field(
        10, ge=1, le=10_000,
        description="The latest runs kept whatever their age, so that an inventory left alone for months still "
                    "has its last runs to show, report and resume.")
    raw_answers_days: int = Field(
        14, ge=0, le=TEN_YEARS_DAYS, json_schema_extra={"unit": "days"},
        description="Days the AI's raw answers (the model's text as received, redacted) are kept in the run "
                    "store; then they are blanked. The decision row stays: what was used, its validation, "
                    "tokens, latency and cost, for `aidevops decisions`, `run --resume` and metrics. Two weeks "
                    "is time enough to look into a decision that went wrong.")
    ai_cache_days: int = Field(
        30, ge=0, le=TEN_YEARS_DAYS, json_schema_extra={"unit": "days"},
        description="Days an answer stays in the AI cache (the state folder's `ai-cache/`), counted from when "
                    "it was asked; then the same question is asked again. A month keeps monthly re-runs free "
                    "while answers still get refreshed.")
    revealed_hours: int = Field(
        24, ge=0, le=24 * TEN_YEARS_DAYS, json_schema_extra={"unit": "hours"},
        description="Hours a revealed report (`aidevops report --reveal`: report.revealed.html/.md, the "
                    "credentials in clear text) is kept; the first prune after that deletes it. A day is time "
                    "enough to move the credentials to a password manager. The masked report and the "
                    "vault-encrypted credentials stay with their run.")
    after_run: bool = Field(
        True, description="Prune at the end of every recorded run (run, validate, check, backup, restore, "
                          "upgrade); a failed prune is a warning in the run log and never changes the run's "
                          "outcome. Off: only `aidevops runs prune` prunes (from cron, say).")

    def as_dict(self) -> dict[str, Any]:
        return self.model_dump()

    def summary(self) -> str:
        """The policy in one line, for the output of a prune."""
        return (f"runs {self.runs_days} days (always the last {self.keep_last_runs}), raw AI answers "
                f"{self.raw_answers_days} days, AI cache {self.ai_cache_days} days, revealed reports "
                f"{self.revealed_hours} hours")
