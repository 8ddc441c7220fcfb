"""The restore drill and the real restore on the sandbox stack, against real restic backups on the host.

A drill of a fresh backup passes (row counts match, the scratch n8n decrypts the drill's credential with the
snapshot's key) and leaves no scratch container, network, volume or folder; a drill of a tampered snapshot (its
counts.json disagrees with its dump) fails with a high finding; a real restore brings back a workflow deleted
after the backup. The tampered snapshot is forgotten again, so the host is left as the other modules expect.
"""

import json
import re
import uuid

import pytest

from tests.e2e.conftest import aidevops, on_host

pytestmark = pytest.mark.integration
RESTIC = "set -a; . /etc/aidevops/backup/restic.env; set +a; "
N8N_DIR = "/opt/aidevops/n8n"


def backup_now(host) -> str:
    """A backup by the service's own unit; the id of the snapshot it made."""
    on_host(host, "systemctl start aidevops-backup-n8n.service")
    latest = json.loads(on_host(host, RESTIC + "restic snapshots --json --tag service:n8n --latest 1").stdout)
    return latest[-1]["short_id"]


def scratch_left(host) -> dict[str, str]:
    return {"containers": on_host(host, "docker ps -a -q --filter name=aidevops-drill").stdout.strip(),
            "networks": on_host(host, "docker network ls -q --filter name=aidevops-drill").stdout.strip(),
            "folders": on_host(host, "ls -d /var/tmp/aidevops-drill-* 2>/dev/null || true").stdout.strip()}


def psql(host, sql: str) -> str:
    return on_host(host, f"cd {N8N_DIR} && docker compose exec -T postgres sh -c "
                         f"'psql -X -At -U \"$POSTGRES_USER\" -d \"$POSTGRES_DB\"'", stdin=sql).stdout.strip()


@pytest.fixture(scope="module")
def deployed(stack, first_run):
    assert first_run.returncode == 0, first_run.stdout[-4000:]
    return stack


def test_a_drill_of_a_real_backup_passes_and_leaves_nothing_behind(deployed):
    inv, _, host = deployed
    volumes = on_host(host, "docker volume ls -q").stdout.split()
    snapshot = backup_now(host)
    r = aidevops("restore", "--drill", "--inventory", str(inv), "--service", "n8n", timeout=600)
    print(r.stdout)
    assert r.returncode == 0, r.stdout + r.stderr
    assert re.search(rf"n8n on \S+: passed; snapshot {snapshot} taken ", r.stdout), r.stdout
    assert "credential decrypted with the snapshot's key: yes" in r.stdout
    assert re.search(r"workflow_entity: (\d+) expected, \1 found", r.stdout), r.stdout
    assert scratch_left(host) == {"containers": "", "networks": "", "folders": ""}
    assert on_host(host, "docker volume ls -q").stdout.split() == volumes
    run_id = re.search(r"^Restore drill (\S+):", r.stdout, re.MULTILINE).group(1)
    shown = json.loads(aidevops("runs", "show", run_id, "--inventory", str(inv), "--json").stdout)
    assert shown["run"]["command"].startswith("restore --drill")
    checks = {f["check_id"]: f for f in shown["findings"]}
    assert checks["backup.n8n.drill"]["status"] == "passed" and checks["backup.n8n.age"]["status"] == "passed"


def test_a_drill_of_a_tampered_snapshot_fails_with_a_high_finding(deployed):
    inv, _, host = deployed
    backup_now(host)
    # The latest snapshot again, with counts.json claiming five workflows more than its dump holds.
    tampered = on_host(host, RESTIC + """set -euo pipefail
        t=$(mktemp -d); restic restore -q latest --tag service:n8n --target "$t"
        s=/var/backups/aidevops/staging/n8n; rm -rf "$s"; mkdir -p "$(dirname "$s")"; mv "$t$s" "$s"; rm -rf "$t"
        python3 -c 'import json,sys; p=sys.argv[1]; c=json.load(open(p)); c["workflow_entity"]+=5; json.dump(c,open(p,"w"))' "$s/counts.json"
        restic backup -q --json --tag aidevops --tag service:n8n --host "$(hostname)" "$s" | tail -1
        rm -rf "$s" """).stdout
    tampered_id = json.loads(tampered.strip().splitlines()[-1])["snapshot_id"]
    try:
        r = aidevops("validate", "--inventory", str(inv), "--no-audit", "--json", timeout=900)
        assert r.returncode == 1, r.stdout[-3000:] + r.stderr[-2000:]
        found = {f["check_id"]: f for f in json.loads(r.stdout)["findings"]}
        drill = found["backup.n8n.drill"]
        assert (drill["status"], drill["severity"]) == ("failed", "high"), drill
        assert "row counts differ" in drill["evidence"] and "workflow_entity" in drill["evidence"]
        assert found["backup.n8n.age"]["status"] == "passed"
        assert scratch_left(host) == {"containers": "", "networks": "", "folders": ""}
    finally:
        on_host(host, RESTIC + f"restic forget {tampered_id}")


def test_a_real_restore_brings_back_a_workflow_deleted_after_the_backup(deployed):
    inv, _, host = deployed
    workflow = "aidevopsrestore" + uuid.uuid4().hex[:4]
    on_host(host, f"cd {N8N_DIR} && docker compose exec -T n8n sh -c 'cat > /tmp/w.json && "
                  "n8n import:workflow --input=/tmp/w.json; rm -f /tmp/w.json'",
            stdin=json.dumps([{"id": workflow, "name": "restore e2e", "active": False, "nodes": [],
                               "connections": {}, "settings": {}}]))
    assert psql(host, f"SELECT name FROM workflow_entity WHERE id = '{workflow}'") == "restore e2e"
    snapshot = backup_now(host)
    psql(host, f"DELETE FROM workflow_entity WHERE id = '{workflow}'")
    assert psql(host, f"SELECT count(*) FROM workflow_entity WHERE id = '{workflow}'") == "0"

    refused = aidevops("restore", "--inventory", str(inv), "--service", "n8n", "--snapshot", "0000000f", "--yes")
    assert refused.returncode == 1 and "is not a snapshot of n8n" in refused.stdout + refused.stderr
    assert psql(host, f"SELECT count(*) FROM workflow_entity WHERE id = '{workflow}'") == "0"  # nothing touched

    r = aidevops("restore", "--inventory", str(inv), "--service", "n8n", "--snapshot", snapshot, "--yes",
                 timeout=900)
    print(r.stdout)
    assert r.returncode == 0, r.stdout + r.stderr
    assert psql(host, f"SELECT name FROM workflow_entity WHERE id = '{workflow}'") == "restore e2e"
    # A backup is taken before the restore: it is the newest snapshot now, and it forgot nothing, so the snapshot
    # just restored (today's, which the daily count would drop) can be restored again.
    first = re.search(r"backup taken first (\w+)", r.stdout).group(1)
    kept = json.loads(on_host(host, RESTIC + "restic snapshots --json --tag service:n8n").stdout)
    assert kept[-1]["short_id"] == first != snapshot
    assert snapshot in {s["short_id"] for s in kept}
    on_host(host, "curl -fsS http://127.0.0.1:5678/healthz/readiness")
