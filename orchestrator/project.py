"""Where the project's Ansible content lives (playbooks, roles, templates) and the Python that runs it."""

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


def source_root() -> Path:
    """The source checkout this package came from (its roles and templates, when a home has none)."""
    return Path(__file__).resolve().parent.parent


def declared_roles_dir() -> Path:
    """Where the agents' declarations are read: the home's roles, else the source checkout's."""
    home = roles_dir()
    return home if home.is_dir() else source_root() / "roles"


def playbooks_dir() -> Path:
    return project_root() / "playbooks"


def roles_dir() -> Path:
    return project_root() / "roles"


def templates_dir() -> Path:
    return project_root() / "templates"


def venv_bin_dir() -> Path:
    """The bin/ of the Python running us: ansible-playbook lives there, and it may not be on PATH."""
    return Path(sys.executable).parent
