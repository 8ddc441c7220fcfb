"""The `report` phase of `aidevops run`: the run's last phase, whatever happened before it."""

from __future__ import annotations

from orchestrator.outcome import SUCCEEDED
from orchestrator.report.output import write_report
from orchestrator.run.context import AgentResult, PhaseContext


def run(ctx: PhaseContext) -> AgentResult:
    ctx.note("rendering the report")
    files = write_report(ctx.store, ctx.run_id, ctx.request.inventory, ctx.redactor, folder=ctx.phase_dir)
    ctx.log.log("info", ctx.phase, "report written", html=str(files.html), markdown=str(files.markdown),
                credentials=str(files.credentials) if files.credentials else None)
    return AgentResult(SUCCEEDED, f"report: {files.html}")
