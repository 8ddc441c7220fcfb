"""Backups: the services' backup declarations, `aidevops backup`'s bad input and failure, and the backup script
restic_backup renders from a declaration (rendered by Ansible, checked by bash -n)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from orchestrator.agents import declaration
from orchestrator.errors import BadInput
from orchestrator.state import StateDir
from tests.conftest import ROOT, write

GOOD = {
    "summary": "its database and its key",
    "project_dir_variable": "svc_project_dir",
    "database": {"compose_service": "postgres", "name_variable": "svc_db_name", "user": "svc"},
    "tables": ["items", "auth.users"],
    "secrets": {"SVC_KEY": "svc_key"},
    "data": [{"name": "svc_data", "compose_service": "svc", "path": "/data"}, {"name": "uploads", "path": "up"}],
}


def _role(tmp_path, backup) -> Path:
    role = tmp_path / "svc"
    agent = {"title": "Svc", "service": {"name": "svc", "secrets": ["svc_key"], "backup": backup, "sites": []}}
    write(role / "meta/aidevops.yml", yaml.safe_dump({"agent": agent}))
    return role


def test_the_roles_declare_what_cannot_be_regenerated():
    n8n = declaration.load(ROOT / "roles/n8n").service.backup
    assert n8n.database.compose_service == "postgres" and n8n.database.name_variable == "n8n_db_name"
    assert n8n.tables == ("workflow_entity", "credentials_entity", "user", "execution_entity")
    assert n8n.secrets == {"N8N_ENCRYPTION_KEY": "n8n_encryption_key"}
    assert [(d.name, d.compose_service, d.path) for d in n8n.data] == [("n8n_data", "n8n", "/home/node/.n8n")]
    supabase = declaration.load(ROOT / "roles/supabase").service.backup
    assert supabase.database.compose_service == "db" and supabase.database.user == "postgres"
    assert supabase.secrets == {"JWT_SECRET": "supabase_jwt_secret"} and supabase.data[0].path == "volumes/storage"


def test_a_declaration_is_read_whole_and_the_older_sentence_still_reads(tmp_path):
    b = declaration.load(_role(tmp_path, GOOD)).service.backup
    assert b.summary == "its database and its key" and b.database.user == "svc" and b.tables[1] == "auth.users"
    assert b.data[1].compose_service is None and b.project_dir_variable == "svc_project_dir"
    old = declaration.load(_role(tmp_path / "old", "its database, every night")).service.backup
    assert old.summary == "its database, every night" and old.database is None


BAD = [
    ("no summary", {"summary": ""}, "agent.service.backup.summary"),
    ("unknown key", {"retention": 3}, "agent.service.backup.retention"),
    ("no database", {"database": None}, "agent.service.backup.database"),
    ("name twice", {"database": {"compose_service": "pg", "name": "a", "name_variable": "b", "user": "u"}},
     "exactly one of name and name_variable"),
    ("no user", {"database": {"compose_service": "pg", "name": "a"}}, "exactly one of user and user_variable"),
    ("bad compose service", {"database": {"compose_service": "Pg DB", "name": "a", "user": "u"}},
     "agent.service.backup.database.compose_service"),
    ("no tables", {"tables": []}, "agent.service.backup.tables"),
    ("an injected table", {"tables": ["items; DROP TABLE x"]}, "agent.service.backup.tables"),
    ("secrets as a list", {"secrets": ["SVC_KEY"]}, "agent.service.backup.secrets"),
    ("a secret the service does not have", {"secrets": {"K": "other_key"}}, "agent.service.backup.secrets.other_key"),
    ("data without a path", {"data": [{"name": "x"}]}, "agent.service.backup.data[0].path"),
    ("data with a bad name", {"data": [{"name": "../x", "path": "/x"}]}, "agent.service.backup.data[0].name"),
    ("no project folder", {"project_dir_variable": None}, "agent.service.backup.project_dir_variable"),
]


@pytest.mark.parametrize("why,change,key", BAD, ids=[b[0] for b in BAD])
def test_a_bad_backup_declaration_is_one_clear_bad_input(tmp_path, why, change, key):
    role = _role(tmp_path, {**GOOD, **change})
    with pytest.raises(BadInput) as caught:
        declaration.load(role)
    message = str(caught.value)
    assert key in message and str(role / "meta/aidevops.yml") in message and "\n" not in message


# --- aidevops backup ---------------------------------------------------------------------------------------

def aidevops(*args):
    return subprocess.run([sys.executable, "-m", "orchestrator.cli", *args], check=False, capture_output=True,
                          text=True, timeout=300, cwd=ROOT)


def _n8n_only(inventory):
    write(inventory / "group_vars/all/aidevops.yml",
          "aidevops:\n  domain: example.com\n  admin_email: a@example.com\n  services: [n8n]\n"
          "  dns: {provider: none}\n")
    return inventory


@pytest.mark.parametrize("service,expected", [("supabase", "'supabase' is not deployed by this inventory"),
                                              ("mysql", "unknown service 'mysql'")])
def test_backup_of_a_service_not_deployed_is_bad_input_and_records_nothing(inventory, service, expected):
    inv = _n8n_only(inventory)
    r = aidevops("backup", "--inventory", str(inv), "--service", service)
    assert r.returncode == 2, r.stdout + r.stderr
    assert r.stderr.count("\n") == 1 and r.stderr.startswith("error: ") and expected in r.stderr, r.stderr
    assert "Traceback" not in r.stderr and not (inv / ".aidevops").exists()


def test_a_failed_backup_exits_1_is_recorded_and_raises_the_alert(inventory):
    """The local host has no backup unit: the playbook fails, the run is recorded as failed with the alert."""
    inv = _n8n_only(inventory)
    write(inv / "host_vars/local-1.yml", "ansible_become: false\n")
    r = aidevops("backup", "--inventory", str(inv), "--service", "n8n")
    assert r.returncode == 1, r.stdout + r.stderr
    assert "backup failed" in r.stdout and "n8n: no backup on this host" in r.stdout
    shown = json.loads(aidevops("runs", "show", "--inventory", str(inv), "--json").stdout)
    assert shown["run"]["command"] == "backup" and shown["run"]["status"] == "failed"
    assert shown["run"]["exit_code"] == 1
    log = (StateDir(inv).run_dir(shown["run"]["id"]) / "run.log.jsonl").read_text()
    alert = [json.loads(line) for line in log.splitlines() if "backup of n8n failed" in line]
    assert alert and alert[0]["level"] == "warning" and alert[0]["context"]["severity"] == "high", log[-2000:]


# --- the script restic_backup renders ---------------------------------------------------------------------

RENDER = """\
- hosts: localhost
  connection: local
  gather_facts: false
  # The roles' defaults, then what the service role passes (a later vars file wins).
  vars_files: ["{root}/roles/restic_backup/defaults/main.yml", "{root}/roles/{service}/defaults/main.yml",
               "{passed}"]
  tasks:
    - ansible.builtin.import_tasks: "{root}/roles/restic_backup/tasks/preflight.yml"
    - ansible.builtin.template:
        src: "{root}/roles/restic_backup/templates/aidevops-backup.sh.j2"
        dest: "{dest}"
"""

PASSED = """\
restic_backup_service: {service}
restic_backup_declaration: "{{{{ (lookup('file', '{root}/roles/{service}/meta/aidevops.yml') | from_yaml).agent.service.backup }}}}"
restic_backup_offsite_repository: "{offsite}"
restic_backup_keep_daily: 2
"""


def _render(tmp_path, service, offsite=""):
    dest = tmp_path / f"aidevops-backup-{service}"
    passed = write(tmp_path / "passed.yml", PASSED.format(root=ROOT, service=service, offsite=offsite))
    play = write(tmp_path / "render.yml", RENDER.format(root=ROOT, service=service, passed=passed, dest=dest))
    env = {**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1"}
    r = subprocess.run([str(Path(sys.executable).parent / "ansible-playbook"), "-i", "localhost,", str(play),
                        "-e", f"ansible_python_interpreter={sys.executable}"],
                       check=False, capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    script = dest.read_text()
    assert subprocess.run(["bash", "-n", str(dest)], check=False, capture_output=True).returncode == 0
    return script


def test_the_n8n_script_dumps_counts_and_tags_in_one_snapshot(tmp_path):
    s = _render(tmp_path, "n8n")
    assert "exec -T \"$DB_SERVICE\" pg_dump --format=custom --no-password --snapshot=\"$SNAPSHOT\"" in s
    assert "DB_SERVICE='postgres'" in s and "DB_NAME='n8n'" in s and "DB_USER='n8n'" in s
    assert ("'workflow_entity', (SELECT count(*) FROM \"workflow_entity\"), 'credentials_entity', (SELECT count(*) "
            "FROM \"credentials_entity\"), 'user', (SELECT count(*) FROM \"user\")") in s
    assert "exec -T 'n8n' tar -C '/home/node/.n8n'" in s and '"$STAGING/files/n8n_data"' in s
    assert "--tag aidevops --tag \"service:$SERVICE\"" in s and "--keep-daily '2'" in s and "--prune" in s
    assert s.rstrip().endswith('echo "snapshot $SNAPSHOT_ID"')
    assert "copy --from-repo" not in s, "no off-host copy unless a repository is set"


def test_the_supabase_script_is_rendered_from_its_declaration(tmp_path):
    """Supabase's images do not run here (FACTS.md): its backup is checked as rendered, not run."""
    s = _render(tmp_path, "supabase", offsite="sftp:backup@10.0.0.9:/srv/restic")
    assert "DB_SERVICE='db'" in s and "DB_NAME='postgres'" in s and "DB_USER='postgres'" in s
    assert "'auth.users', (SELECT count(*) FROM \"auth\".\"users\")" in s
    assert "cp -a '/opt/aidevops/supabase/volumes/storage/.' \"$STAGING/files/storage/\"" in s
    assert "--repo 'sftp:backup@10.0.0.9:/srv/restic'" in s and "copy --from-repo" in s
    # The off-host copy comes after the local backup and before the last line, so that its failure fails.
    assert s.index("copy --from-repo") < s.rindex('echo "snapshot $SNAPSHOT_ID"')
