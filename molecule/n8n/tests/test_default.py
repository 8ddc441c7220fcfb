"""What an operator would check on a server after the n8n role ran (molecule verify, testinfra)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

PROJECT = "/opt/aidevops/n8n"
COMPOSE = f"docker compose --project-directory {PROJECT}"
OWNER = {"email": "owner@molecule.test", "firstName": "Molly", "lastName": "Cule"}
EPHEMERAL = Path(os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY", "/nonexistent"))
VAULT_FILE = EPHEMERAL / "vault_n8n.yml"
VAULT_PASSWORD = Path(__file__).resolve().parents[1] / "vault-password.txt"


@pytest.fixture(scope="module")
def secrets():
    """The secrets file the role wrote on the controller, decrypted with the scenario's vault password."""
    assert VAULT_FILE.read_text().startswith("$ANSIBLE_VAULT;"), "the saved secrets must be vault-encrypted"
    out = subprocess.run(
        [sys.executable, "-m", "ansible.cli.vault", "view", "--vault-password-file", str(VAULT_PASSWORD),
         str(VAULT_FILE)],
        capture_output=True, text=True, check=True,
    ).stdout
    return yaml.safe_load(out)


def container_env(host, service, name):
    return host.check_output(f"{COMPOSE} exec -T {service} printenv {name}")


def test_secrets_were_generated_once_and_never_rotated(host, secrets):
    assert len(secrets["n8n_encryption_key"]) == 48
    assert len(secrets["n8n_db_password"]) == 32
    assert len(secrets["n8n_owner_password"]) >= 8
    first = VAULT_FILE.with_name(VAULT_FILE.name + ".first")
    # Re-runs (idempotence, check) read the file and leave it alone: same bytes as after the first converge.
    assert first.read_bytes() == VAULT_FILE.read_bytes()
    assert oct(VAULT_FILE.stat().st_mode & 0o777) == "0o600"


def test_containers_run_healthy_with_restart_policy(host):
    for service in ("n8n", "postgres"):
        cid = host.check_output(f"{COMPOSE} ps -q {service}")
        state = json.loads(host.check_output(f"docker inspect --format '{{{{json .State}}}}' {cid}"))
        assert state["Status"] == "running" and state["Health"]["Status"] == "healthy", service
        policy = host.check_output(f"docker inspect --format '{{{{.HostConfig.RestartPolicy.Name}}}}' {cid}")
        assert policy == "unless-stopped"


def test_n8n_listens_on_loopback_only(host):
    listeners = [line.split()[3] for line in host.check_output("ss -Htln").splitlines()]
    on_port = [addr for addr in listeners if addr.rsplit(":", 1)[1] == "5678"]
    assert on_port == ["127.0.0.1:5678"], on_port
    assert not any(addr.rsplit(":", 1)[1] == "5432" for addr in listeners), "PostgreSQL must not be published"


def test_n8n_is_ready(host):
    code = host.check_output("curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:5678/healthz/readiness")
    assert code == "200"


def test_n8n_runs_with_the_pinned_key_and_proxy_settings(host, secrets):
    assert container_env(host, "n8n", "N8N_ENCRYPTION_KEY") == secrets["n8n_encryption_key"]
    # n8n copies the key into its settings file on first start: both must agree, or it refuses to start.
    config = json.loads(host.check_output(f"{COMPOSE} exec -T n8n cat /home/node/.n8n/config"))
    assert config["encryptionKey"] == secrets["n8n_encryption_key"]
    assert container_env(host, "n8n", "N8N_HOST") == "n8n.molecule.test"
    assert container_env(host, "n8n", "N8N_WEBHOOK_URL") == "https://n8n.molecule.test/"
    assert container_env(host, "n8n", "DB_TYPE") == "postgresdb"


def test_env_files_are_private(host):
    for name in ("n8n.env", "postgres.env"):
        f = host.file(f"{PROJECT}/{name}")
        assert f.user == "root" and f.mode == 0o600, name


def test_owner_account_exists_and_can_log_in(host, secrets):
    settings = json.loads(host.check_output("curl -s http://127.0.0.1:5678/rest/settings"))
    assert settings["data"]["userManagement"]["showSetupOnFirstLoad"] is False
    body = json.dumps({"emailOrLdapLoginId": OWNER["email"], "password": secrets["n8n_owner_password"]})
    out = host.run(
        "curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' "
        f"--data-binary @- http://127.0.0.1:5678/rest/login <<'EOF'\n{body}\nEOF"
    )
    assert out.stdout.strip() == "200", out.stdout + out.stderr


def test_backup_timer_is_enabled(host):
    timer = host.service("aidevops-backup-n8n.timer")
    assert timer.is_enabled and timer.is_running
    assert not host.file("/etc/systemd/system/n8n-backup.timer").exists  # the pre-restic timer is gone


RESTIC = "set -a; . /etc/aidevops/backup/restic.env; set +a; restic "
STAGED = "/var/backups/aidevops/staging/n8n"


def test_manual_backup_writes_a_restorable_dump_with_its_key(host, secrets):
    snapshot = host.check_output("/usr/local/sbin/aidevops-backup-n8n").splitlines()[-1].split()[1]
    files = host.check_output(RESTIC + f"ls {snapshot}").split()
    assert {f"{STAGED}/database.dump", f"{STAGED}/counts.json", f"{STAGED}/secrets.env",
            f"{STAGED}/meta.json"} <= set(files)
    assert not host.file(STAGED).exists  # staged, backed up, removed
    # pg_restore reads the dump's table of contents: n8n's tables are in it.
    toc = host.check_output(f"{RESTIC} dump {snapshot} {STAGED}/database.dump | {COMPOSE} exec -T postgres pg_restore --list")
    assert "TABLE public workflow_entity" in toc and "TABLE public credentials_entity" in toc
    key = host.check_output(RESTIC + f"dump {snapshot} {STAGED}/secrets.env")
    assert key.strip() == f"N8N_ENCRYPTION_KEY={secrets['n8n_encryption_key']}"
