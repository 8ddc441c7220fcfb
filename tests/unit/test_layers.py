"""The package's layers contract (pyproject.toml, import-linter) holds, and it would catch an upward import."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def lint(project: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(project)}
    return subprocess.run([str(LINT_IMPORTS), "--no-cache"], cwd=project, env=env, capture_output=True, text=True,
                          check=False, timeout=120)


def test_the_layers_contract_is_kept():
    r = lint(ROOT)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "1 kept, 0 broken" in r.stdout


def test_an_upward_import_inside_a_function_breaks_the_contract(tmp_path):
    shutil.copytree(ROOT / "orchestrator", tmp_path / "orchestrator", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    # The run store reaching up into the report, hidden in a function as the old code did.
    with open(tmp_path / "orchestrator/store/database.py", "a") as f:
        f.write("\n\ndef _report():\n    from orchestrator.report import write_report\n\n    return write_report\n")
    r = lint(tmp_path)
    assert r.returncode != 0
    assert "orchestrator.store is not allowed to import orchestrator.report" in r.stdout
