"""`aidevops run --resume` against a real sandbox host: a run whose dns phase fails on a bad token in host_vars,
the cause fixed, then resumed. base_server (real SSH, on the session's sandbox host) is kept, not run again; dns
runs again against the loopback Cloudflare fake and succeeds.
"""

import json
import subprocess
import sys
import time

import pytest

from orchestrator.state import StateDir
from tests.conftest import ROOT, write
from tests.fakes.cloudflare_api import FakeCloudflare

pytestmark = pytest.mark.integration

TOKEN = "cf-resume-token-5d2a9b"


@pytest.fixture(scope="module")
def cloudflare():
    with FakeCloudflare(token=TOKEN, zones=("sandbox.test",)) as fake:
        yield fake


@pytest.fixture(scope="module")
def resume_inventory(own_inventory, cloudflare):
    """The session's sandbox host under an inventory of this module's own, with DNS on the Cloudflare fake."""
    inv, _, host = own_inventory
    request = inv / "group_vars/all/aidevops.yml"
    request.write_text(request.read_text().replace("provider: rfc2136", "provider: cloudflare"))
    write(inv / "group_vars/all/dns.yml", f"dns_cloudflare_api_token: {TOKEN}\n"
                                          f"dns_cloudflare_base_url: {cloudflare.base_url}\n"
                                          "dns_target_ipv4: 203.0.113.10\ndns_ipv6_enabled: false\n")
    yield inv, host


def aidevops(*args, timeout=900):
    return subprocess.run([sys.executable, "-m", "orchestrator.cli", *args], capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT, check=False)


def shown(inv, run_id=None):
    r = aidevops("runs", "show", *([run_id] if run_id else []), "--inventory", str(inv), "--json")
    data = json.loads(r.stdout)
    return data["run"], {p["phase"]: p for p in data["phases"]}


def test_a_failed_phase_is_resumed_and_the_done_one_kept(resume_inventory, cloudflare):
    inv, host = resume_inventory
    bad_token = write(inv / f"host_vars/{host.name}.yml", "dns_cloudflare_api_token: not-the-token\n")
    first = aidevops("run", "--inventory", str(inv), "--only", "base_server,dns", "--plain")
    assert first.returncode == 1, first.stdout[-4000:] + first.stderr
    run_a, phases_a = shown(inv)
    assert (phases_a["base_server"]["status"], phases_a["dns"]["status"]) == ("succeeded", "failed")
    assert "Authentication error" in phases_a["dns"]["reason"] or "401" in phases_a["dns"]["reason"]
    assert cloudflare.records("sandbox.test") == []

    bad_token.unlink()  # the cause is fixed
    resumed = aidevops("run", "--resume", "--inventory", str(inv), "--plain")
    assert resumed.returncode == 0, resumed.stdout[-4000:] + resumed.stderr
    said = " ".join(resumed.stdout.split())
    a = run_a["id"]
    assert f"done in {a}, kept" in said and f"re-run: failed in {a}" in said
    assert "[base_server] started" not in said and "[dns] succeeded" in said

    run_b, phases_b = shown(inv)
    assert run_b["resumed_from"] == a and run_b["status"] == "succeeded" and run_b["exit_code"] == 0
    assert (phases_b["base_server"]["status"], phases_b["base_server"]["kept_from"]) == ("kept", a)
    assert phases_b["dns"]["status"] == "succeeded"
    # base_server was not run again: no folder, no ansible-runner artifacts of it in the resumed run.
    assert sorted(p.name for p in StateDir(inv).run_dir(run_b["id"]).iterdir()) == ["dns", "run.log.jsonl"]
    assert {r["name"] for r in cloudflare.records("sandbox.test")} >= {"n8n.sandbox.test"}

    chain = " ".join(aidevops("runs", "show", a, "--inventory", str(inv)).stdout.split())
    assert f"resumed by {run_b['id']}" in chain
    assert f"resumed from {a}" in " ".join(aidevops("runs", "show", "--inventory", str(inv)).stdout.split())


def on_host(host, command: str) -> subprocess.CompletedProcess:
    return subprocess.run(["docker", "exec", host.container, "bash", "-c", command], capture_output=True,
                          text=True, timeout=120, check=False)


def test_an_ssh_cut_mid_phase_fails_as_unreachable_and_the_resume_finishes(resume_inventory, tmp_path):
    """sshd stopped and its connections cut while base_server runs: the phase fails as unreachable (the offline
    recovery's retries meet the same closed port); dns, which ran beside it and was done before the cut (it asks
    the host for facts only, then talks to the DNS API), stays succeeded. SSH back, the resume re-runs
    base_server and keeps dns."""
    inv, host = resume_inventory
    log = tmp_path / "run.out"
    with open(log, "w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "orchestrator.cli", "run", "--inventory", str(inv),
                                 "--only", "base_server,dns", "--plain"], stdout=out, stderr=subprocess.STDOUT,
                                cwd=ROOT)
    try:
        # The cut comes once dns is done (on a loaded machine its fact gathering may start late, and would meet
        # the closed port too) and base_server is in the middle of its tasks, over an open SSH connection.
        deadline = time.monotonic() + 240
        while not all(line in log.read_text() for line in ("[base_server] started", "[dns] succeeded")):
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.5)
        assert "[base_server] succeeded" not in log.read_text(), "base_server ended before the cut"
        cut = on_host(host, "systemctl stop ssh.socket ssh 2>/dev/null; pkill -KILL -x sshd-session; "
                            "pkill -KILL -x sshd; ! ss -Hltn 'sport = :22' | grep -q .")
        assert cut.returncode == 0, cut.stderr
        assert proc.wait(timeout=600) == 1, log.read_text()[-4000:]
    finally:
        if proc.poll() is None:
            proc.kill()
        on_host(host, "systemctl start ssh")
    first, phases = shown(inv)
    assert phases["base_server"]["status"] == "failed", phases["base_server"]
    failed_events = aidevops("runs", "events", first["id"], "--inventory", str(inv), "--failed").stdout
    assert "runner_on_unreachable" in failed_events and host.name in failed_events
    assert phases["dns"]["status"] == "succeeded"

    resumed = aidevops("run", "--resume", "--inventory", str(inv), "--plain")
    assert resumed.returncode == 0, resumed.stdout[-4000:] + resumed.stderr
    said = " ".join(resumed.stdout.split())
    assert f"re-run: failed in {first['id']}" in said and f"done in {first['id']}, kept" in said
    run_b, phases_b = shown(inv)
    assert run_b["resumed_from"] == first["id"]
    assert (phases_b["base_server"]["status"], phases_b["dns"]["status"]) == ("succeeded", "kept")
