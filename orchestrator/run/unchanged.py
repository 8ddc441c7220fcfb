"""Phases that need not run again: `aidevops run` keeps a host-side phase whose inputs and host state are both
as the last successful run left them; `aidevops run --full` runs every phase.

Inputs: the role's files and playbook, the request's role input, the hosts the phase runs on, the variables it
is given, the inventory's files (hosts.yml, group_vars/, host_vars/; vault files by their bytes), ansible.cfg,
and the versions of Ansible and aidevops. Host state: what the role declares it manages (`agent.host_state` in
meta/aidevops.yml: files by content, mode and owner; systemd units, active and enabled; command outputs),
hashed on each host by one task (playbooks/host_state.yml, through probe.py, the way a phase reaches the host).
A run whose every phase succeeded records both for each host-side phase; the next plain `aidevops run` asks
the hosts again for the phases whose inputs are unchanged, and marks those whose hosts answer the same. Such a
phase is kept when it is its turn if every phase before it changed nothing (kept, or run with no changed task):
an idempotent re-run of the proxy's dependencies leaves the proxy kept, a real change runs it.

A role without a host_state declaration runs every time (dns: its state is at the DNS provider).
"""

from __future__ import annotations

import hashlib
import json
import re
import shlex
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from orchestrator import project
from orchestrator.agents.fingerprint import role_fingerprint
from orchestrator.outcome import KEPT, SUCCEEDED, PhaseResult
from orchestrator.plan import Kept, Phase, Plan, recorded_request
from orchestrator.request import DeploymentRequest
from orchestrator.request.role_vars import RoleVars
from orchestrator.run import probe, remote
from orchestrator.run.resume import NOT_ROLE_INPUT
from orchestrator.store import RunStore

PLAYBOOK = "host_state.yml"
_VARIABLE = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")


@dataclass(frozen=True)
class Candidate:
    """A phase whose inputs are the recorded ones, and the state its hosts had then."""
    phase: str
    run_id: str
    hosts: dict[str, str]


# -- inputs ------------------------------------------------------------------------------------------------------


def _versions() -> str:
    from ansible.release import __version__ as ansible_core

    try:
        ours = version("aidevops")
    except PackageNotFoundError:
        ours = "source"
    return f"ansible-core {ansible_core}; aidevops {ours}"


def inventory_files(inventory: Path) -> list[Path]:
    """The files Ansible reads of an inventory folder: its inventory files, group_vars/ and host_vars/; not its
    hidden folders (the run store, the sandbox's keys) nor the vault password file."""
    top = [p for p in inventory.iterdir() if p.is_file() and not p.name.startswith(".")]
    nested = [p for folder in ("group_vars", "host_vars") if (inventory / folder).is_dir()
              for p in (inventory / folder).rglob("*")
              if p.is_file() and not any(part.startswith(".") for part in p.relative_to(inventory).parts)]
    return sorted(top + nested)


def inputs_digest(request: DeploymentRequest, plan: Plan, phase: Phase, given: dict[str, Any]) -> str:
    """sha256 over everything the phase's playbook run is given (the module docstring lists it)."""
    digest = hashlib.sha256()

    def feed(label: str, data: bytes | str) -> None:
        digest.update(label.encode() + b"\0" + (data.encode() if isinstance(data, str) else data) + b"\0")

    feed("role", role_fingerprint(phase.agent) or "")
    role_input = {k: v for k, v in recorded_request(request, plan).items() if k not in NOT_ROLE_INPUT}
    feed("request", json.dumps(role_input, sort_keys=True, default=str))
    feed("hosts", ",".join(plan.placement.hosts.get(phase.id, ())))
    feed("given", json.dumps(given, sort_keys=True, default=str))
    for path in inventory_files(request.inventory):
        feed(path.relative_to(request.inventory).as_posix(), path.read_bytes())
    cfg = project.project_root() / "ansible.cfg"
    feed("ansible.cfg", cfg.read_bytes() if cfg.is_file() else b"")
    feed("versions", _versions())
    return digest.hexdigest()


# -- host state --------------------------------------------------------------------------------------------------


def render(template: str, lookup: Callable[[str], Any]) -> str | None:
    """`{{ name }}` replaced by the role variable's value; None when one has no plain value here."""
    missing = False

    def value(m: re.Match) -> str:
        nonlocal missing
        found = lookup(m.group(1))
        if found is None or isinstance(found, dict | list) or (isinstance(found, str) and "{{" in found):
            missing = True
            return ""
        return str(found)

    out = _VARIABLE.sub(value, template)
    return None if missing or "{{" in out or "{%" in out else out


def state_script(paths: Iterable[str], services: Iterable[str], commands: Iterable[str]) -> str:
    """One shell script whose only output is a sha256 over the declared state: each file under each path by
    name, mode, owner, group and content; each unit's active and enabled states; each command's output."""
    lines = ["set -o pipefail", "export LC_ALL=C", "{"]
    for path in paths:
        q = shlex.quote(path)
        lines.append(f"if [ -e {q} ]; then"
                     f" find {q} -xdev \\( -type f -o -type l \\) -print0 | sort -z | xargs -0r stat -c '%N %a %U %G';"
                     f" find {q} -xdev -type f -print0 | sort -z | xargs -0r sha256sum;"
                     f" else echo absent {q}; fi")
    for unit in services:
        q = shlex.quote(unit)
        lines.append(f"echo {q} $(systemctl is-active {q}) $(systemctl is-enabled {q})")
    for command in commands:
        lines.append(f"echo {shlex.quote('$ ' + command)}; {command}")
    lines.append("} 2>&1 | sha256sum | cut -d ' ' -f 1")
    return "\n".join(lines)


def state_scripts(request: DeploymentRequest, plan: Plan, phases: Iterable[str]) -> dict[str, dict[str, str]]:
    """host -> phase -> its state script, for the phases' hosts; a phase whose declaration cannot be rendered
    for a host (a variable with no plain value) is left out for that host, so it is never kept there."""
    settings = RoleVars(request.inventory, request.as_dict())
    by_name = {h.name: h for h in request.hosts}
    scripts: dict[str, dict[str, str]] = {}
    for phase_id in phases:
        state = plan.phase(phase_id).agent.declaration.host_state
        for name in plan.placement.hosts.get(phase_id, ()):
            host = by_name[name]

            def lookup(variable: str, host=host) -> Any:
                return settings.get(variable, host=host)

            rendered = [[render(t, lookup) for t in group] for group in (state.paths, state.services, state.commands)]
            if all(r is not None for group in rendered for r in group):
                scripts.setdefault(name, {})[phase_id] = state_script(*rendered)
    return scripts


def host_states(request: DeploymentRequest, scripts: dict[str, dict[str, str]],
                transport: remote.Transport = remote.over_ssh) -> dict[str, dict[str, str]]:
    """host -> phase -> sha256 of its state now; a host that did not answer is missing."""
    if not scripts:
        return {}
    hosts = [h for h in request.hosts if h.name in scripts]
    answers, _ = probe.ask(request, PLAYBOOK, hosts, extravars={"aidevops_host_state": scripts},
                           transport=transport)
    found: dict[str, dict[str, str]] = {}
    for host, res in answers.items():
        for item in res.get("results") or []:
            phase, out = (item.get("item") or {}).get("key"), str(item.get("stdout") or "").strip()
            if phase and not item.get("failed") and re.fullmatch(r"[0-9a-f]{64}", out):
                found.setdefault(host, {})[phase] = out
    return found


# -- the run's side ----------------------------------------------------------------------------------------------


def declared(plan: Plan) -> list[Phase]:
    """The plan's host-side phases whose role declares its host state (none in a project home without
    playbooks/host_state.yml: nothing is compared or recorded there)."""
    if not (project.playbooks_dir() / PLAYBOOK).is_file():
        return []
    return [p for p in plan.phases if p.agent.playbook and p.agent.declaration is not None
            and p.agent.declaration.host_state is not None]


def candidates(store: RunStore, digests: dict[str, str]) -> dict[str, Candidate]:
    """The phases whose inputs digest is the one recorded at the end of their last successful run."""
    found = {}
    for phase, digest in digests.items():
        row = store.last_phase_state(phase)
        if row is not None and row["inputs"] == digest:
            found[phase] = Candidate(phase, row["run_id"], row["hosts"])
    return found


def mark_unchanged(request: DeploymentRequest, plan: Plan, store: RunStore, given: Callable[[str], dict[str, Any]],
                   transport: remote.Transport = remote.over_ssh) -> dict[str, str]:
    """Sets `unchanged` on the plan's phases whose inputs and host state are as recorded; phase -> why each of
    the declared phases runs or may be kept (what the plan prints)."""
    phases = [p for p in declared(plan) if p.selected and p.available and p.kept is None]
    digests = {p.id: inputs_digest(request, plan, p, given(p.id)) for p in phases}
    found = candidates(store, digests)
    why = {p.id: "runs: no successful run recorded what it left" if store.last_phase_state(p.id) is None
           else "runs: its inputs changed since its last successful run" for p in phases if p.id not in found}
    now = host_states(request, state_scripts(request, plan, found), transport) if found else {}
    unchanged = {}
    for phase_id, candidate in found.items():
        hosts = plan.placement.hosts.get(phase_id, ())
        differ = [h for h in hosts if now.get(h, {}).get(phase_id) != candidate.hosts.get(h)]
        if differ or set(hosts) != set(candidate.hosts):
            why[phase_id] = f"runs: its state on {', '.join(differ) or 'its hosts'} is not as {candidate.run_id} left it"
            continue
        reason = f"unchanged since {candidate.run_id} (inputs and host state)"
        unchanged[phase_id] = Kept(candidate.run_id, reason, role_fingerprint(plan.phase(phase_id).agent))
        why[phase_id] = f"kept if the phases before it change nothing: {reason}"
    plan.phases = [_with(p, unchanged.get(p.id)) for p in plan.phases]
    return why


def _with(phase: Phase, kept: Kept | None) -> Phase:
    return replace(phase, unchanged=kept) if kept is not None else phase


def record(request: DeploymentRequest, plan: Plan, store: RunStore, run_id: str, results: dict[str, PhaseResult],
           given: Callable[[str], dict[str, Any]], transport: remote.Transport = remote.over_ssh) -> list[str]:
    """After a run that succeeded: what each declared phase was given and left on its hosts, for the next run.
    The phases recorded (a host that did not answer leaves its phases out)."""
    phases = [p for p in declared(plan) if (results.get(p.id) or PhaseResult(p.id, "")).status in (SUCCEEDED, KEPT)]
    scripts = state_scripts(request, plan, [p.id for p in phases])
    now = host_states(request, scripts, transport)
    recorded = []
    for p in phases:
        hosts = plan.placement.hosts.get(p.id, ())
        states = {h: now.get(h, {}).get(p.id) for h in hosts}
        if hosts and all(states.values()):
            store.record_phase_state(run_id, p.id, inputs_digest(request, plan, p, given(p.id)), states)
            recorded.append(p.id)
    return recorded
