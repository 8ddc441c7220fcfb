"""`aidevops upgrade` on the shared stack: an upgrade to a deliberately broken image (built on the sandbox host from
the running n8n image, its entrypoint exiting at once) fails the health gate and rolls back by itself, within
2 minutes, to the old image and the pre-upgrade database; then an honest upgrade of the tag (the same n8n re-tagged
as another version) passes, and an upgrade back puts the stack as it was. Timings are printed (pytest -s).
"""

import json
import re
import subprocess
import time
from pathlib import Path

import pytest

from tests.e2e.conftest import DOMAIN, aidevops, on_host

pytestmark = pytest.mark.integration

N8N = f"n8n.{DOMAIN}"
COMPOSE = "docker compose --project-directory /opt/aidevops/n8n"
BROKEN, RETAGGED, ORIGINAL = "2.40.7-broken", "2.40.7-retag", "2.40.7"
DATA_WORKFLOW = "e2eUpgradeData1"


def n8n_image(host) -> str:
    name = on_host(host, "docker ps --filter label=com.docker.compose.project=n8n "
                         "--filter label=com.docker.compose.service=n8n --format '{{.Names}}'").stdout.strip()
    return on_host(host, f"docker inspect --format '{{{{.Config.Image}}}}' {name}").stdout.strip()


def tag_for(image: str, version: str) -> str:
    """The image name the sandbox settings derive for VERSION: aidevops/n8n:2.40.7-r1 -> aidevops/n8n:VERSION-r1."""
    found = re.fullmatch(r"(.+):(\d+\.\d+\.\d+)(-r\d+)", image)
    assert found, image
    return f"{found.group(1)}:{version}{found.group(3)}"


def workflows(host) -> list[str]:
    out = on_host(host, f"{COMPOSE} exec -T postgres sh -c "
                        "'psql -U \"$POSTGRES_USER\" -d \"$POSTGRES_DB\" -At -c \"SELECT id FROM workflow_entity\"'")
    return out.stdout.split()


def through_proxy(inv, host, path: str) -> str:
    root = inv / ".aidevops/sandbox/pebble-root.pem"
    r = subprocess.run(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "--cacert", str(root), "--resolve",
                        f"{N8N}:{host.https_port}:127.0.0.1", f"https://{N8N}:{host.https_port}{path}"],
                       capture_output=True, text=True, timeout=60, check=False)
    return r.stdout or r.stderr


def upgrade(inv, version: str):
    t0 = time.monotonic()
    r = aidevops("upgrade", "--inventory", str(inv), "--service", "n8n", "--to", version, timeout=900)
    return r, time.monotonic() - t0


def shown(inv, run_id: str) -> dict:
    return json.loads(aidevops("runs", "show", run_id, "--inventory", str(inv), "--json").stdout)


def run_id(r) -> str:
    return re.search(r"^Upgrade (\S+):", r.stdout, re.MULTILINE).group(1)


def outcome(inv, rid: str) -> dict:
    folder = shown(inv, rid)["run"]["state_dir"]
    """The host's outcome the role wrote (with the UTC times of each step)."""
    return json.loads(next(Path(folder, "upgrade-outcome").glob("*.json")).read_text())


def test_a_broken_upgrade_rolls_back_and_a_good_one_passes(stack, first_run):
    inv, _, host = stack
    assert first_run.returncode == 0, first_run.stdout[-3000:]
    settings = inv / "group_vars/all/n8n.yml"
    settings_before = settings.read_text()
    old = n8n_image(host)
    broken, retagged = tag_for(old, BROKEN), tag_for(old, RETAGGED)
    timings = {}
    # Data made before the upgrade: a workflow, imported as a user would from a file.
    # An n8n CLI command starts a second n8n process: a minute or more on a loaded machine.
    on_host(host, f"{COMPOSE} exec -T n8n sh -c 'cat > /tmp/data.json && n8n import:workflow --input=/tmp/data.json'"
                  f" <<'EOF'\n" + json.dumps([{
                      "id": DATA_WORKFLOW, "name": "e2e upgrade data", "active": False, "connections": {},
                      "settings": {}, "nodes": [{"id": "a1b2c3d4-0000-4000-8000-000000000001", "name": "Start",
                                                 "type": "n8n-nodes-base.manualTrigger", "typeVersion": 1,
                                                 "position": [0, 0], "parameters": {}}]}]) + "\nEOF")
    assert DATA_WORKFLOW in workflows(host)
    # A broken n8n for a made-up version: the image starts and exits at once.
    on_host(host, f"printf 'FROM {old}\\nENTRYPOINT [\"sh\", \"-c\", \"echo broken on purpose; exit 3\"]\\n' "
                  f"| DOCKER_BUILDKIT=0 docker build -q -t {broken} -")
    try:
        r, timings["broken upgrade (total)"] = upgrade(inv, BROKEN)
        assert r.returncode == 1, r.stdout[-4000:] + r.stderr[-4000:]
        assert "failed, rolled back" in r.stdout and f"rolled back to {old}" in r.stdout
        assert "ALERT (high): upgrade of n8n to 2.40.7-broken failed the health gate" in r.stderr
        rid = run_id(r)
        record = outcome(inv, rid)
        timings["broken: switch to gate failure"] = float(record["failed_at"]) - float(record["switch_at"])
        timings["broken: rollback (gate failure to healthy old n8n)"] = (float(record["rolled_back_at"])
                                                                        - float(record["failed_at"]))
        assert timings["broken: rollback (gate failure to healthy old n8n)"] < 120, timings
        # n8n is back on the old image, answers through the proxy, and has its data; the inventory is untouched.
        assert n8n_image(host) == old
        assert through_proxy(inv, host, "/healthz/readiness") == "200"
        assert DATA_WORKFLOW in workflows(host)
        assert settings.read_text() == settings_before
        run = shown(inv, rid)
        phases = {p["phase"]: p for p in run["phases"]}
        assert run["run"]["command"] == "upgrade" and run["run"]["exit_code"] == 1
        assert phases["upgrade"]["status"] == "failed" and BROKEN in phases["upgrade"]["reason"]
        assert phases["rollback"]["status"] == "succeeded" and f"back on {old}" in phases["rollback"]["reason"]

        # An honest upgrade of the tag: the same n8n under another version's name.
        on_host(host, f"docker tag {old} {retagged}")
        r, timings["retag upgrade (total)"] = upgrade(inv, RETAGGED)
        assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-4000:]
        assert n8n_image(host) == retagged and through_proxy(inv, host, "/healthz/readiness") == "200"
        assert DATA_WORKFLOW in workflows(host)
        assert f'n8n_version: "{RETAGGED}"' in settings.read_text()
        assert [p["status"] for p in shown(inv, run_id(r))["phases"]] == ["succeeded"]

        # Back to the original version (an upgrade too), then the same version again: nothing to do.
        r, timings["upgrade back (total)"] = upgrade(inv, ORIGINAL)
        assert r.returncode == 0 and n8n_image(host) == old, r.stdout[-4000:] + r.stderr[-4000:]
        r, timings["same version (total)"] = upgrade(inv, ORIGINAL)
        assert r.returncode == 0 and "already on" in r.stdout, r.stdout[-4000:]
    finally:
        settings.write_text(settings_before)
        on_host(host, f"docker rmi {broken} {retagged}", check=False)
        on_host(host, f"{COMPOSE} exec -T n8n sh -c 'rm -f /tmp/data.json'", check=False)
        # The stack as it was: without the test's workflow and the gate's.
        on_host(host, f"echo \"DELETE FROM workflow_entity WHERE id IN ('{DATA_WORKFLOW}', 'aidevopsHealthGt')\" | "
                      f"{COMPOSE} exec -T postgres sh -c 'psql -U \"$POSTGRES_USER\" -d \"$POSTGRES_DB\"'", check=False)
        for what, seconds in timings.items():
            print(f"upgrade timing: {what}: {seconds:.1f}s")
    assert n8n_image(host) == old and settings.read_text() == settings_before
