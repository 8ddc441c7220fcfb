"""Where the project's Ansible content and a run's state live."""

from __future__ import annotations

import os
import sys
from pathlib import Path


def project_root() -> Path:
    """The folder holding playbooks/ and roles/ (the source checkout, or AIDEVOPS_HOME)."""
    override = os.environ.get("AIDEVOPS_HOME")
    if override:
        return Path(override).resolve()
    return Path(__file__).resolve().parent.parent


def playbooks_dir() -> Path:
    return project_root() / "playbooks"


def roles_dir() -> Path:
    return project_root() / "roles"


def templates_dir() -> Path:
    return project_root() / "templates"


def venv_bin_dir() -> Path:
    """The bin/ of the Python running us: ansible-playbook lives there, and it may not be on PATH."""
    return Path(sys.executable).parent


def state_dir(inventory: Path) -> Path:
    """Run state (SQLite store, ansible-runner artifacts, logs) lives beside the inventory."""
    return inventory / ".aidevops"
