"""Renders a run's report with the jinja2 templates and writes it to `<state>/runs/<run_id>/report/`:
report.md, report.html (self-contained: inline CSS and SVG, nothing fetched) and credentials.vault.yml.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import jinja2
import markupsafe

from orchestrator import atomic, project
from orchestrator.redact import Redactor
from orchestrator.report.build import build
from orchestrator.report.credentials import write_encrypted
from orchestrator.state import REVEALED_STEM, StateDir
from orchestrator.store import RunStore

# The source checkout's templates: used when the project home (AIDEVOPS_HOME) has none of its own, as when
# a test or a user points the home at a folder holding only playbooks and roles.
PACKAGED_TEMPLATES = Path(__file__).resolve().parents[2] / "templates"


@dataclass
class ReportFiles:
    folder: Path
    markdown: Path
    html: Path
    credentials: Path | None
    revealed: list[str] = field(default_factory=list)  # the secrets written in clear (reveal), by name


def environment() -> jinja2.Environment:
    """Templates from the project home first (a user may restyle the report), then the source checkout's."""
    loader = jinja2.ChoiceLoader([jinja2.FileSystemLoader(str(project.templates_dir())),
                                  jinja2.FileSystemLoader(str(PACKAGED_TEMPLATES))])
    env = jinja2.Environment(loader=loader, autoescape=jinja2.select_autoescape(["html.j2"]),
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                             keep_trailing_newline=True)
    env.filters["mdcell"] = lambda v: str(v).replace("|", "\\|").replace("\n", " ")
    env.filters["ticks"] = _code_spans
    return env


def _code_spans(text: str) -> markupsafe.Markup:
    """`command` in the guide's sentences as <code> in HTML (escaped first: the text is never trusted markup)."""
    escaped = str(markupsafe.escape(text))
    return markupsafe.Markup(re.sub(r"`([^`]+)`", r"<code>\1</code>", escaped))


def _write(path: Path, text: str) -> None:
    atomic.write_text(path, text, mode=0o600)  # the report names hosts and accounts: for the operator's eyes first


def write_report(store: RunStore, run_id: str, inventory: Path, redactor: Redactor, *, reveal: bool = False,
                 folder: Path | None = None) -> ReportFiles:
    run = store.run(run_id)
    folder = folder or Path(run.state_dir or StateDir(inventory).run_dir(run.id)) / "report"
    folder.mkdir(parents=True, exist_ok=True)
    data = build(store, run.id, inventory, redactor, reveal=reveal, report_dir=folder)
    logins_full, creds = data.pop("_logins_full"), data.pop("_credentials")
    env = environment()
    # A revealed report gets its own names, so that the masked one stays the one safe to hand on (and
    # retention deletes it after `retention.revealed_hours`).
    stem = REVEALED_STEM if reveal else "report"
    md, html = folder / f"{stem}.md", folder / f"{stem}.html"
    _write(md, env.get_template("report.md.j2").render(**data))
    _write(html, env.get_template("report.html.j2").render(**data))
    cred_file = write_encrypted(creds, logins_full, folder / "credentials.vault.yml")
    revealed = sorted({s.key for s in creds.secrets if s.secret}) if reveal else []
    return ReportFiles(folder, md, html, cred_file, revealed)
