"""Credentials shown in clear are audited in the run store: who (OS user, controller), when, which secrets (names,
never values), which files, for which run; `aidevops runs show` lists it."""

import getpass
import json
import socket
import sqlite3

from orchestrator.store import RunStore
from tests.unit.test_report import SECRETS, cli, fill, inv, store  # noqa: F401 (inv, store: fixtures)


def test_a_store_made_before_the_audit_table_gets_it_when_opened(tmp_path):
    db = tmp_path / "aidevops.db"
    old = sqlite3.connect(db)  # a store as older versions made it: runs and phases only
    old.executescript("CREATE TABLE runs (id TEXT PRIMARY KEY, inventory TEXT NOT NULL, command TEXT NOT NULL,"
                      " strategy TEXT, strategy_reason TEXT, status TEXT NOT NULL, exit_code INTEGER,"
                      " started_at TEXT NOT NULL, ended_at TEXT, duration REAL, request TEXT, state_dir TEXT,"
                      " pid INTEGER);"
                      "INSERT INTO runs (id, inventory, command, status, started_at) VALUES"
                      " ('r0', '/inv', 'run', 'succeeded', '2026-11-01T00:00:00');")
    old.close()
    opened = RunStore(db)
    opened.record_access("r0", "report --reveal", ["n8n_owner_password", "n8n_db_password"], ["/x/report.revealed.md"])
    rows = opened.credential_accesses("r0")
    opened.close()
    assert len(rows) == 1
    row = rows[0]
    assert row["secrets"] == ["n8n_db_password", "n8n_owner_password"] and row["files"] == ["/x/report.revealed.md"]
    assert row["os_user"] == getpass.getuser() and row["controller"] == socket.gethostname()
    assert row["command"] == "report --reveal" and row["at"] and row["pid"]
    assert RunStore(db).credential_accesses("other") == []


def test_report_reveal_is_audited_and_runs_show_lists_it(store, inv):  # noqa: F811
    run_id = fill(store, inv)
    assert cli("report", "--inventory", str(inv)).returncode == 0
    assert store.credential_accesses(run_id) == []  # the masked report shows no secret: nothing to audit

    assert cli("report", "--inventory", str(inv), "--reveal").returncode == 0
    accesses = store.credential_accesses(run_id)
    assert len(accesses) == 1
    access = accesses[0]
    assert access["secrets"] == sorted(SECRETS) and access["command"] == "report --reveal"
    folder = inv / ".aidevops/runs" / run_id / "report"
    assert access["files"] == [str(folder / "report.revealed.html"), str(folder / "report.revealed.md")]

    shown = json.loads(cli("runs", "show", run_id, "--inventory", str(inv), "--json").stdout)
    assert shown["credential_access"][0]["secrets"] == sorted(SECRETS)
    assert not any(v in json.dumps(shown["credential_access"]) for v in SECRETS.values())
    text = cli("runs", "show", run_id, "--inventory", str(inv)).stdout
    section = text[text.index("Secrets shown in clear"):]  # (fill() plants a secret in a finding above it)
    assert f"{getpass.getuser()}@{socket.gethostname()} (report --reveal): n8n_db_password" in section
    assert "report.revealed.html" in section and not any(v in section for v in SECRETS.values())
