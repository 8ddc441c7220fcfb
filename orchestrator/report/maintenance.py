"""The maintenance guide, written from what this run deployed: only the services and parts that are there.

Each section is a title and a list of steps; a step is a sentence and the commands that carry it out. What is
said of each agent comes from its role's declaration (`agent.maintenance` in meta/aidevops.yml), rendered with
the inventory's values of the role's variables (versions, folders, schedules), so the guide matches the server.
What is said of the run itself (the vault, the run's log, re-running) is written here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import jinja2
from jinja2 import meta

from orchestrator.agents import registry
from orchestrator.agents.declaration import MaintenanceStep
from orchestrator.request.role_vars import RoleVars

TITLES = {"updates": "Updates", "backups": "Backups and restore", "certificates": "Certificate renewal",
          "secrets": "Secret rotation", "logs": "Where the logs are", "rerun": "Re-run and validate"}
_FALSE = {"", "none", "false", "0", "[]", "{}"}


@dataclass
class Step:
    text: str
    commands: list[str] = field(default_factory=list)


@dataclass
class Section:
    id: str
    title: str
    steps: list[Step] = field(default_factory=list)


class _Renderer:
    """Jinja over the role's variables (as this inventory sets them) and the run's own values."""

    def __init__(self, settings: RoleVars, run_vars: dict[str, Any]):
        self.settings, self.run_vars = settings, run_vars
        # In the text an unknown value shows as "?"; in a condition it is false.
        self.text_env = jinja2.Environment(finalize=lambda v: "?" if v is None else v, autoescape=False)
        self.condition_env = jinja2.Environment(autoescape=False)

    def __call__(self, source: str, env: jinja2.Environment | None = None) -> str:
        env = env or self.text_env
        names = meta.find_undeclared_variables(env.parse(source))
        values = {n: self.run_vars[n] if n in self.run_vars else self.settings.get(n) for n in names}
        return env.from_string(source).render(values).strip()

    def holds(self, condition: str | None) -> bool:
        return condition is None or self(condition, self.condition_env).lower() not in _FALSE

    def step(self, s: MaintenanceStep) -> Step:
        commands = [line.strip() for c in s.commands for line in self(c).splitlines() if line.strip()]
        return Step(" ".join(self(s.text).split()), commands)


def guide(deployed: set[str], settings: RoleVars, inventory: str, run_id: str, run_dir: str,
          vault_files: list[str], hostnames: dict[str, str], password_file: str | None = None) -> list[Section]:
    """`hostnames`: the sites the proxy serves (site name -> host name)."""
    inv = inventory
    render = _Renderer(settings, {"inventory": inv, "run_id": run_id, "run_dir": run_dir, "hostnames": hostnames})
    sections = {sid: Section(sid, TITLES[sid]) for sid in TITLES}
    password_file = password_file or f"{inv}/.vault-pass"
    if vault_files:
        sections["secrets"].steps.append(Step(
            "The generated secrets live in the inventory's vault files, encrypted with its vault password "
            f"({password_file}). A re-run reuses them; it never rotates them by itself.",
            [f"ansible-vault view --vault-password-file {password_file} {inv}/{f}" for f in vault_files]
            + [f"ansible-vault rekey --vault-password-file {password_file} {inv}/group_vars/all/vault_*.yml"]))
    for agent in registry().values():
        if agent.id not in deployed or agent.declaration is None:
            continue
        backup = agent.declaration.service.backup if agent.declaration.service else None
        if backup is not None and backup.database is not None:  # its declared backup, in one line
            sections["backups"].steps.append(Step(f"A backup of {agent.declaration.service.name} holds "
                                                  f"{backup.summary}.", []))
        for s in agent.declaration.maintenance:
            if s.section == "secrets" and not vault_files:
                continue  # nothing generated, nothing to rotate
            if render.holds(s.when):
                sections[s.section].steps.append(render.step(s))
    if sections["backups"].steps and vault_files:
        sections["backups"].steps.append(Step(
            "Keep a copy of the inventory's vault files and of its vault password off the server: they are needed "
            "to rebuild it.", [f"ls -l {inv}/{f}" for f in vault_files]))
    sections["logs"].steps.append(Step(
        f"This run, on the machine that ran aidevops: its JSON log and the ansible-runner artifacts of each phase "
        f"are under {run_dir}/.",
        [f"less {run_dir}/run.log.jsonl", f"aidevops runs events {run_id} --inventory {inv} --failed"]))
    sections["rerun"].steps.append(Step(
        "A run is safe to repeat: it brings the server back to what the inventory asks for and reuses the saved "
        "secrets. Check the server without changing it, review past runs, or render this report again:",
        [f"aidevops run --inventory {inv}", f"aidevops run --inventory {inv} --check",
         f"aidevops validate --inventory {inv}", f"aidevops runs show {run_id} --inventory {inv}",
         f"aidevops report {run_id} --inventory {inv}"]))
    return [s for s in sections.values() if s.steps]
