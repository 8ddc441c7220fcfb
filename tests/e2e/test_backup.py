"""Backups on the shared sandbox stack: `aidevops backup` takes a restic snapshot of n8n that holds what a
restore needs (the dump, the row counts, the key the vault holds, the data folder, meta.json), the nightly timer
is on, and retention keeps what the inventory's counts say with a repository that `restic check` finds clean."""

import json
import re

import pytest

from orchestrator import vault
from tests.e2e.conftest import aidevops, on_host

pytestmark = pytest.mark.integration

RESTIC = "set -a; . /etc/aidevops/backup/restic.env; set +a; restic "
STAGED = "/var/backups/aidevops/staging/n8n"
TABLES = {"workflow_entity", "credentials_entity", "user", "execution_entity"}
PSQL = "cd /opt/aidevops/n8n && docker compose exec -T postgres psql -X -A -t -U n8n -d n8n -c "


def snapshots(host) -> list[dict]:
    return json.loads(on_host(host, RESTIC + "snapshots --json --tag service:n8n").stdout)


def backup(inv) -> tuple[str, str]:
    r = aidevops("backup", "--inventory", str(inv), "--service", "n8n", timeout=900)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    printed = re.search(r"^(\S+)\s+n8n\s+snapshot (\w+)\s+[\d.]+ MB$", r.stdout, re.MULTILINE)
    assert printed, r.stdout
    return printed.group(1), printed.group(2)


def test_aidevops_backup_takes_a_snapshot_a_restore_can_use(stack, first_run):
    inv, _, host = stack
    assert first_run.returncode == 0, first_run.stdout[-3000:]
    assert on_host(host, "systemctl is-enabled aidevops-backup-n8n.timer").stdout.strip() == "enabled"
    assert on_host(host, "systemctl is-active aidevops-backup-n8n.timer").stdout.strip() == "active"
    assert on_host(host, "test -e /etc/systemd/system/n8n-backup.timer", check=False).returncode == 1

    before = {s["id"] for s in snapshots(host)}
    hostname, short_id = backup(inv)
    new = [s for s in snapshots(host) if s["id"] not in before]
    assert len(new) == 1 and new[0]["short_id"] == short_id and new[0]["hostname"] == hostname
    assert {"aidevops", "service:n8n"} <= set(new[0]["tags"])

    files = set(on_host(host, RESTIC + f"ls {short_id}").stdout.split())
    assert {f"{STAGED}/database.dump", f"{STAGED}/counts.json", f"{STAGED}/secrets.env", f"{STAGED}/meta.json",
            f"{STAGED}/files/n8n_data/config"} <= files
    assert on_host(host, f"test -e {STAGED}", check=False).returncode == 1  # the staging folder is removed

    counts = json.loads(on_host(host, RESTIC + f"dump {short_id} {STAGED}/counts.json").stdout)
    assert set(counts) == TABLES and counts["user"] >= 1  # the owner account
    live = int(on_host(host, PSQL + "'SELECT count(*) FROM workflow_entity'").stdout.strip())
    assert counts["workflow_entity"] == live
    toc = on_host(host, RESTIC + f"dump {short_id} {STAGED}/database.dump | "
                  "(cd /opt/aidevops/n8n && docker compose exec -T postgres pg_restore --list)").stdout
    assert "TABLE public workflow_entity" in toc and "TABLE public credentials_entity" in toc

    saved = vault.read_vars(inv / "group_vars/all/vault_n8n.yml", inv)
    secrets = on_host(host, RESTIC + f"dump {short_id} {STAGED}/secrets.env").stdout
    assert secrets.strip() == f"N8N_ENCRYPTION_KEY={saved['n8n_encryption_key']}"
    meta = json.loads(on_host(host, RESTIC + f"dump {short_id} {STAGED}/meta.json").stdout)
    assert meta["service"] == "n8n" and meta["host"] == hostname and meta["version"] == "2.40.7"
    assert "n8n" in meta["image"] and meta["taken_at"].endswith("Z")
    # The repository password came from the vault, where the role saved it encrypted.
    assert (inv / "group_vars/all/vault_backup.yml").read_text().startswith("$ANSIBLE_VAULT")

    shown = json.loads(aidevops("runs", "show", "--inventory", str(inv), "--json").stdout)
    assert shown["run"]["command"] == "backup" and shown["run"]["status"] == "succeeded"


def _n8n_phase(inv, keep_daily: int) -> None:
    settings = inv / "group_vars/all/n8n.yml"
    text = re.sub(r"^n8n_backup_keep_daily: \d+$", f"n8n_backup_keep_daily: {keep_daily}", settings.read_text(),
                  flags=re.MULTILINE)
    settings.write_text(text)
    r = aidevops("run", "--inventory", str(inv), "--only", "n8n", "--plain", timeout=1200)
    assert r.returncode == 0, r.stdout[-3000:]


def test_retention_keeps_what_the_counts_say_and_the_repository_stays_clean(stack, first_run):
    inv, _, host = stack
    assert first_run.returncode == 0, first_run.stdout[-3000:]
    _n8n_phase(inv, 1)
    try:
        oldest = min(snapshots(host), key=lambda s: s["time"], default=None)
        taken = [backup(inv)[1] for _ in range(3)]
        kept = {s["short_id"] for s in snapshots(host)}
        # All taken today: the newest is the one daily snapshot (and this week's and month's); restic (0.17 and
        # later) also keeps the repository's oldest while the weekly and monthly counts are not reached yet.
        assert kept == {oldest["short_id"] if oldest else taken[0], taken[-1]}, (kept, taken)
        check = on_host(host, RESTIC + "check")
        assert "no errors were found" in check.stdout, check.stdout + check.stderr
    finally:
        _n8n_phase(inv, 3)  # the sandbox inventory's own count, back
    assert "--keep-daily '3'" in on_host(host, "cat /usr/local/sbin/aidevops-backup-n8n").stdout
