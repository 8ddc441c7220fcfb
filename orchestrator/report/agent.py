"""The `report` phase of `aidevops run`: the run's last phase, whatever happened before it."""

from __future__ import annotations

from orchestrator.agents.context import AgentResult, PhaseContext
from orchestrator.report.output import write_report
from orchestrator.scheduler import SUCCEEDED


def run(ctx: PhaseContext) -> AgentResult:
    ctx.note("rendering the report")
    files = write_report(ctx.store, ctx.run_id, ctx.request.inventory, ctx.redactor, folder=ctx.phase_dir)
    ctx.log.log("info", ctx.phase, "report written", html=str(files.html), markdown=str(files.markdown),
                credentials=str(files.credentials) if files.credentials else None)
    return AgentResult(SUCCEEDED, f"report: {files.html}")
