"""A host-side agent's fingerprint: the sha256 of its role's files and its playbook, as they are now.

Recorded for each phase that runs, so `aidevops run --resume` can tell whether a role changed since the
phase was done (and run it again) or not (and keep it).
"""

from __future__ import annotations

import hashlib

from orchestrator import project
from orchestrator.agents.registry import AgentSpec

_IGNORED = {"__pycache__", ".pytest_cache"}


def role_fingerprint(spec: AgentSpec) -> str | None:
    """None for a controller-side agent (it has no role); else a hash over every file's path and bytes."""
    if spec.playbook is None:
        return None
    root = project.project_root()
    role = project.roles_dir() / spec.id
    files = [p for p in role.rglob("*") if p.is_file() and not _IGNORED & set(p.relative_to(role).parts)]
    playbook = project.playbooks_dir() / spec.playbook
    if playbook.is_file():
        files.append(playbook)
    digest = hashlib.sha256()
    for path in sorted(files):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()
