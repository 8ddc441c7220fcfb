"""The final report of a run: what was deployed, how it was checked, and how to look after it.

build.py gathers the data from the run store and the inventory, timeline.py draws the phases as SVG,
maintenance.py writes the guide for what was deployed, credentials.py delivers the generated secrets
vault-encrypted, output.py renders the jinja2 templates and writes the files; agent.py is the `report` phase.
"""

from orchestrator.report.output import ReportFiles, write_report

__all__ = ["ReportFiles", "write_report"]
