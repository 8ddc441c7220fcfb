"""Backups on the shared sandbox stack: `aidevops backup` takes a restic snapshot of n8n that holds what a
restore needs (the dump, the row counts, the key the vault holds, the data folder, meta.json), the nightly timer
is on, and retention keeps what the inventory's counts say with a repository that `restic check` finds clean,
on the host and in the off-host copy on a second sandbox container reached over SFTP."""

import json
import re
from contextlib import contextmanager
from types import SimpleNamespace

import pytest

from orchestrator import vault
from orchestrator.sandbox import docker as d
from orchestrator.sandbox.hosts import SYSTEMD_FLAGS
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


def _n8n_phase(inv, keep_daily: int, offsite: str = "") -> None:
    """The n8n phase again with these backup settings (an off-host repository when `offsite` is given)."""
    settings = inv / "group_vars/all/n8n.yml"
    text = re.sub(r"^n8n_backup_keep_daily: \d+$", f"n8n_backup_keep_daily: {keep_daily}", settings.read_text(),
                  flags=re.MULTILINE)
    settings.write_text(text)
    backup_settings = inv / "group_vars/all/backup.yml"
    if offsite:
        backup_settings.write_text(f'---\nrestic_backup_offsite_repository: "{offsite}"\n')
    else:
        backup_settings.unlink(missing_ok=True)
    r = aidevops("run", "--inventory", str(inv), "--only", "n8n", "--plain", timeout=1200)
    assert r.returncode == 0, r.stdout[-3000:]


@contextmanager
def backup_server(host):
    """A second sandbox container on the stack's network, as an SFTP backup server: an `offsite` user (Debian
    has a system user `backup` already) owning /srv/restic. Yields it and its address; removed afterwards."""
    name = host.container + "-backup-server"
    info = d.inspect("container", host.container)
    network = next(iter(info["NetworkSettings"]["Networks"]))
    d.docker("rm", "-f", name, check=False)
    d.docker("run", "-d", "--name", name, "--hostname", "backup-server", "--network", network, *SYSTEMD_FLAGS,
             info["Config"]["Image"])
    try:
        server = SimpleNamespace(container=name)  # what on_host needs
        on_host(server, "for i in $(seq 100); do systemctl is-active -q ssh && exit 0; sleep 0.2; done; exit 1")
        on_host(server, "useradd -m -s /bin/bash offsite && install -d -o offsite -m 0700 /srv/restic "
                        "/home/offsite/.ssh")
        address = d.inspect("container", name)["NetworkSettings"]["Networks"][network]["IPAddress"]
        yield server, address
    finally:
        d.docker("rm", "-f", name, check=False)


OFFSITE = "set -a; . /etc/aidevops/backup/restic-offsite.env; set +a; restic -o sftp.args=\"$RESTIC_SFTP_ARGS\" "


def test_retention_and_the_off_host_copy_keep_what_the_counts_say_and_stay_clean(stack, first_run):
    inv, _, host = stack
    assert first_run.returncode == 0, first_run.stdout[-3000:]
    with backup_server(host) as (server, address):
        _n8n_phase(inv, 1, offsite=f"sftp:offsite@{address}:/srv/restic")
        try:
            # The server does not accept the host's backup key yet: the backup fails, and says why.
            r = aidevops("backup", "--inventory", str(inv), "--service", "n8n", timeout=900)
            assert r.returncode == 1, r.stdout[-3000:] + r.stderr[-3000:]
            assert "sftp" in (r.stdout + r.stderr).lower(), r.stdout[-3000:] + r.stderr[-3000:]
            public_key = on_host(host, "cat /etc/aidevops/backup/offsite_ed25519.pub").stdout.strip()
            on_host(server, f"echo '{public_key}' > /home/offsite/.ssh/authorized_keys && "
                            "chown offsite /home/offsite/.ssh/authorized_keys && chmod 0600 /home/offsite/.ssh/authorized_keys")

            oldest = min(snapshots(host), key=lambda s: s["time"], default=None)
            taken = [backup(inv)[1] for _ in range(3)]
            kept = {s["short_id"] for s in snapshots(host)}
            # All taken today: the newest is the one daily snapshot (and this week's and month's); restic (0.17
            # and later) also keeps the repository's oldest while the weekly and monthly counts are not reached.
            assert kept == {oldest["short_id"] if oldest else taken[0], taken[-1]}, (kept, taken)
            check = on_host(host, RESTIC + "check")
            assert "no errors were found" in check.stdout, check.stdout + check.stderr

            # The off-host repository, on the other machine, holds the newest snapshot and is clean too.
            copied = json.loads(on_host(host, OFFSITE + "snapshots --json --tag service:n8n").stdout)
            assert any((c.get("original") or c["id"]).startswith(taken[-1]) for c in copied), (copied, taken)
            assert len(copied) <= 2, copied  # the same counts apply there
            check = on_host(host, OFFSITE + "check")
            assert "no errors were found" in check.stdout, check.stdout + check.stderr
            assert on_host(server, "find /srv/restic/snapshots -type f | wc -l").stdout.strip() == str(len(copied))
        finally:
            _n8n_phase(inv, 3)  # the sandbox inventory's own count, back, and no off-host copy
    script = on_host(host, "cat /usr/local/sbin/aidevops-backup-n8n").stdout
    assert "--keep-daily '3'" in script and "copy --from-repo" not in script
