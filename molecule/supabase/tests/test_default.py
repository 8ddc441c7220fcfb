"""What an operator would check after the supabase role rendered the stack (molecule verify, testinfra).

The images cannot be obtained on this machine, so converge runs with supabase_state: rendered. The last test
runs the role with supabase_state: started and checks that it fails the way a user needs: one message naming
the missing images and what to do. It runs here rather than as a side_effect step because Molecule treats a
failing side_effect as a failed scenario, while the failure is the expected outcome to assert on.
"""

import base64
import hashlib
import hmac
import io
import json
import os
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pytest
import yaml

PROJECT = "/opt/aidevops/supabase"
COMPOSE = f"docker compose --project-directory {PROJECT}"
SCENARIO = Path(__file__).resolve().parents[1]
EPHEMERAL = Path(os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY", "/nonexistent"))
VAULT_FILE = EPHEMERAL / "vault_supabase.yml"
VAULT_PASSWORD = SCENARIO / "vault-password.txt"
FIVE_YEARS = 5 * 365 * 24 * 3600
# The official stack's services (supabase/supabase docker/docker-compose.yml).
SERVICES = {"studio", "kong", "auth", "rest", "realtime", "storage", "imgproxy", "meta", "functions",
            "analytics", "db", "vector", "supavisor"}


@pytest.fixture(scope="module")
def secrets():
    """The secrets file the role wrote on the controller, decrypted with the scenario's vault password."""
    out = subprocess.run(
        [sys.executable, "-m", "ansible.cli.vault", "view", "--vault-password-file", str(VAULT_PASSWORD),
         str(VAULT_FILE)],
        capture_output=True, text=True, check=True,
    ).stdout
    return yaml.safe_load(out)


@pytest.fixture(scope="module")
def env(host):
    """The project's .env, parsed (KEY='value' lines)."""
    values = {}
    for line in host.file(f"{PROJECT}/.env").content_string.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.partition("=")
            values[name] = value.strip("'")
    return values


@pytest.fixture(scope="module")
def config(host):
    """The stack as docker compose resolves it (.env interpolated)."""
    return json.loads(host.check_output(f"{COMPOSE} config --format json"))


def b64url_decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def hs256_claims(token, secret):
    """The claims of token after checking its HS256 signature with secret (independently of the role's filter)."""
    header, payload, signature = token.split(".")
    expected = hmac.new(secret.encode(), f"{header}.{payload}".encode(), hashlib.sha256).digest()
    assert hmac.compare_digest(expected, b64url_decode(signature)), "signature does not verify with JWT_SECRET"
    assert json.loads(b64url_decode(header)) == {"alg": "HS256", "typ": "JWT"}
    return json.loads(b64url_decode(payload))


def run_role(*args):
    """The scenario's converge playbook with extra arguments, as an operator would run it."""
    inventory = Path(os.environ["MOLECULE_INVENTORY_FILE"]).parent
    run = subprocess.run(
        [sys.executable, "-m", "ansible.cli.playbook", "-i", str(inventory), str(SCENARIO / "converge.yml"), *args],
        capture_output=True, text=True, timeout=600, check=False,
    )
    return run.returncode, run.stdout + run.stderr


def unavailable_images(output):
    """The images named by the role's failure message."""
    listed = output.split("could not be pulled: ", 1)[1].split(". (docker pull said", 1)[0]
    return {image.strip() for image in listed.split(",")}


def tiny_image_archive(path, ref):
    """A `docker save` archive (gzip) of an image named ref with one empty layer: enough for `docker load`."""
    layer = io.BytesIO()
    with tarfile.open(fileobj=layer, mode="w"):
        pass
    layer_bytes = layer.getvalue()
    config = json.dumps({
        "architecture": "amd64", "os": "linux", "config": {},
        "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(layer_bytes).hexdigest()]},
    }).encode()
    config_name = hashlib.sha256(config).hexdigest() + ".json"
    manifest = json.dumps([{"Config": config_name, "RepoTags": [ref], "Layers": ["layer/layer.tar"]}]).encode()
    with tarfile.open(path, "w:gz") as archive:
        for name, data in (("layer/layer.tar", layer_bytes), (config_name, config), ("manifest.json", manifest)):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))


def test_docker_compose_accepts_the_rendered_stack(host):
    result = host.run(f"{COMPOSE} config --quiet")
    assert result.rc == 0, result.stderr
    assert "is not set" not in result.stderr, result.stderr  # every ${VAR} of the compose file is in .env


def test_the_stack_is_the_official_one(config):
    assert config["name"] == "supabase"
    assert set(config["services"]) == SERVICES
    assert config["services"]["realtime"]["container_name"] == "realtime-dev.supabase-realtime"
    assert config["services"]["analytics"]["environment"]["DB_DATABASE"] == "_supabase"
    mounts = {v["target"] for v in config["services"]["db"]["volumes"]}
    assert "/docker-entrypoint-initdb.d/migrations/97-_supabase.sql" in mounts
    for service in config["services"].values():
        assert ":" in service["image"] and not service["image"].endswith(":latest"), service["image"]


def test_every_published_port_is_on_loopback(config):
    published = {
        (name, int(port["published"]), port.get("host_ip"))
        for name, service in config["services"].items()
        for port in service.get("ports", [])
    }
    assert published == {
        ("kong", 8000, "127.0.0.1"), ("kong", 8443, "127.0.0.1"),
        ("supavisor", 5432, "127.0.0.1"), ("supavisor", 6543, "127.0.0.1"),
    }


def test_project_files_are_in_place(host):
    for path in ("volumes/api/kong.yml", "volumes/logs/vector.yml", "volumes/pooler/pooler.exs",
                 "volumes/db/_supabase.sql", "volumes/db/realtime.sql", "volumes/db/webhooks.sql",
                 "volumes/db/roles.sql", "volumes/db/jwt.sql", "volumes/db/logs.sql", "volumes/db/pooler.sql",
                 "volumes/functions/main/index.ts"):
        assert host.file(f"{PROJECT}/{path}").is_file, path
    assert host.file(f"{PROJECT}/volumes/db/data").mode == 0o700


def test_env_is_private_and_holds_the_secrets_and_urls(host, env, secrets):
    f = host.file(f"{PROJECT}/.env")
    assert f.user == "root" and f.group == "root" and f.mode == 0o600
    assert env["JWT_SECRET"] == secrets["supabase_jwt_secret"] and len(env["JWT_SECRET"]) >= 32
    assert env["ANON_KEY"] == secrets["supabase_anon_key"]
    assert env["SERVICE_ROLE_KEY"] == secrets["supabase_service_role_key"]
    assert env["POSTGRES_PASSWORD"] == secrets["supabase_postgres_password"]
    assert env["DASHBOARD_PASSWORD"] == secrets["supabase_dashboard_password"]
    assert len(env["REALTIME_DB_ENC_KEY"]) == 16 and len(env["VAULT_ENC_KEY"]) == 32
    for name in ("SECRET_KEY_BASE", "PG_META_CRYPTO_KEY", "LOGFLARE_PUBLIC_ACCESS_TOKEN",
                 "LOGFLARE_PRIVATE_ACCESS_TOKEN", "S3_PROTOCOL_ACCESS_KEY_ID", "S3_PROTOCOL_ACCESS_KEY_SECRET"):
        assert len(env[name]) >= 32, name
    assert env["SUPABASE_PUBLIC_URL"] == "https://supabase.molecule.test"
    assert env["API_EXTERNAL_URL"] == "https://supabase.molecule.test"
    assert env["SITE_URL"] == "https://studio.molecule.test"
    assert env["KONG_HTTP_PORT"] == "8000"


@pytest.mark.parametrize("name, role", [("ANON_KEY", "anon"), ("SERVICE_ROLE_KEY", "service_role")])
def test_api_keys_are_hs256_jwts_signed_with_the_jwt_secret(env, name, role):
    claims = hs256_claims(env[name], env["JWT_SECRET"])
    assert claims["role"] == role and claims["iss"] == "supabase"
    assert claims["exp"] - claims["iat"] == FIVE_YEARS
    assert claims["iat"] <= time.time() < claims["exp"]
    with pytest.raises(AssertionError):
        hs256_claims(env[name], env["JWT_SECRET"] + "x")


def test_secrets_are_vault_encrypted_and_never_rotated(secrets):
    assert VAULT_FILE.read_text().startswith("$ANSIBLE_VAULT;"), "the saved secrets must be vault-encrypted"
    assert oct(VAULT_FILE.stat().st_mode & 0o777) == "0o600"
    # Re-runs (idempotence, check) read the file and leave it alone: same bytes as after the first converge.
    first = VAULT_FILE.with_name(VAULT_FILE.name + ".first")
    assert first.read_bytes() == VAULT_FILE.read_bytes()
    assert len(secrets) == 13


def test_starting_fails_naming_the_missing_images(host):
    before = VAULT_FILE.read_bytes()
    rc, output = run_role("-e", "supabase_state=started")
    assert rc != 0, output
    assert "Supabase cannot start: 13 of its 13 images" in output, output[-3000:]
    assert {"supabase/postgres:15.8.1.085", "supabase/gotrue:v2.186.0", "kong:2.8.1"} <= unavailable_images(output)
    assert "supabase_image_archives" in output
    assert host.check_output("docker ps -aq") == ""  # nothing was started
    assert VAULT_FILE.read_bytes() == before


def test_a_check_run_with_state_started_succeeds_and_says_what_it_would_pull(host):
    rc, output = run_role("--check", "-e", "supabase_state=started")
    assert rc == 0, output[-3000:]
    assert "a real run loads" in output and "supabase/postgres:15.8.1.085" in output
    assert host.check_output("docker ps -aq") == ""


def test_images_given_as_archives_are_loaded_and_only_the_others_are_named(host, tmp_path):
    archive = tmp_path / "kong-2.8.1.tar.gz"
    tiny_image_archive(archive, "kong:2.8.1")
    extra = json.dumps({"supabase_state": "started", "supabase_image_source": "archive",
                        "supabase_image_archives": {"kong:2.8.1": str(archive)}})
    try:
        rc, output = run_role("-e", extra, "--tags", "supabase_image")
        assert rc != 0, output
        assert "Supabase cannot start: 12 of its 13 images" in output, output[-3000:]
        assert "kong:2.8.1" not in unavailable_images(output)
        assert host.run("docker image inspect kong:2.8.1").rc == 0
        assert not host.file(f"/var/tmp/aidevops-images/{archive.name}").exists  # the copy is removed
        assert host.check_output("docker ps -aq") == ""
    finally:
        host.run("docker image rm kong:2.8.1")
