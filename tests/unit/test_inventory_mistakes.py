"""Broken copies of inventories/example, each given to `aidevops plan` as a user would: exit 2, exactly one
`error:` line naming the file and the key (or what is wrong with the file), no traceback, a short excerpt at
most of a bad value, and nothing created anywhere in the inventory.

Each row: an id saying how the copy is broken, the change, the file the message must name, and the text
(key path and what was expected) it must hold.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from orchestrator import vault
from tests.conftest import ROOT

EXAMPLE = ROOT / "inventories/example"
REQUEST = "group_vars/all/aidevops.yml"
HOSTS = "hosts.yml"
BASE = "group_vars/all/base_server.yml"
PASSWORD = "correct horse battery staple"


# --- ways to break a copy --------------------------------------------------------------------------------
def put(rel: str, text: str) -> Callable[[Path], None]:
    def change(inv: Path) -> None:
        (inv / rel).parent.mkdir(parents=True, exist_ok=True)
        (inv / rel).write_text(text)
    return change


def put_bytes(rel: str, data: bytes) -> Callable[[Path], None]:
    def change(inv: Path) -> None:
        (inv / rel).write_bytes(data)
    return change


def sub(rel: str, old: str, new: str) -> Callable[[Path], None]:
    def change(inv: Path) -> None:
        text = (inv / rel).read_text()
        assert old in text, f"{old!r} not in {rel}"  # the row really breaks what it says
        (inv / rel).write_text(text.replace(old, new, 1))
    return change


def add(rel: str, text: str) -> Callable[[Path], None]:
    def change(inv: Path) -> None:
        with open(inv / rel, "a") as f:
            f.write(text)
    return change


def both(*changes: Callable[[Path], None]) -> Callable[[Path], None]:
    def change(inv: Path) -> None:
        for c in changes:
            c(inv)
    return change


def folder(rel: str) -> Callable[[Path], None]:
    def change(inv: Path) -> None:
        path = inv / rel
        if path.exists():
            path.unlink()
        (path / "inside.yml").parent.mkdir(parents=True)
        (path / "inside.yml").write_text("a: 1\n")
    return change


def loop(rel: str) -> Callable[[Path], None]:
    def change(inv: Path) -> None:
        path = inv / rel
        path.unlink(missing_ok=True)
        other = path.with_name(path.name + ".other")
        os.symlink(other.name, path)
        os.symlink(path.name, other)
    return change


def remove(rel: str) -> Callable[[Path], None]:
    return lambda inv: (inv / rel).unlink()


def password(text: str = PASSWORD, mode: int = 0o600) -> Callable[[Path], None]:
    def change(inv: Path) -> None:
        pw = inv / vault.PASSWORD_FILE
        pw.write_text(text + "\n")
        pw.chmod(mode)
    return change


def encrypted(rel: str, text: str, with_password: str = PASSWORD) -> Callable[[Path], None]:
    """A vault file encrypted (in-process, as ansible-vault does) with `with_password`."""
    def change(inv: Path) -> None:
        key = inv.parent / "encrypting-password"
        key.write_text(with_password)
        data = vault.vault_lib(key).encrypt(text.encode())
        key.unlink()
        (inv / rel).write_bytes(data)
    return change


def node(value: str) -> Callable[[Path], None]:
    """hosts.yml with aidevops_execution_node set to value in the vars of `all`."""
    return sub(HOSTS, "  vars:\n", f"  vars:\n    aidevops_execution_node: {value}\n")


# The request with one line changed; each row keeps the rest of the example as it is.
def req(old: str, new: str) -> Callable[[Path], None]:
    return sub(REQUEST, old, new)


MB = 1_000_000
CASES: list[tuple[str, Callable[[Path], None], str, str]] = [
    # hosts.yml in the shapes users write it
    ("hosts-as-a-list", put(HOSTS, "all:\n  hosts:\n    - vps-1\n"), HOSTS, "all.hosts: expected a mapping of host names"),
    ("host-vars-as-a-string", put(HOSTS, "all:\n  hosts:\n    vps-1: 203.0.113.10\n"), HOSTS,
     "all.hosts.vps-1: expected a mapping of variables, got text"),
    ("group-vars-as-a-list", put(HOSTS, "all:\n  hosts:\n    vps-1:\n  vars:\n    - ansible_user=root\n"), HOSTS,
     "all.vars: expected a mapping of variables, got a list"),
    ("children-as-a-list", put(HOSTS, "all:\n  children:\n    - web\n"), HOSTS,
     "all.children: expected a mapping of groups, got a list"),
    ("child-group-as-a-string", put(HOSTS, "all:\n  children:\n    web: vps-1\n"), HOSTS,
     "all.children.web: expected a group"),
    ("child-hosts-as-a-list", put(HOSTS, "all:\n  children:\n    web:\n      hosts: [vps-1]\n"), HOSTS,
     "all.children.web.hosts: expected a mapping of host names"),
    ("host-name-with-brackets", put(HOSTS, "all:\n  hosts:\n    'vps[1':\n"), HOSTS,
     "all.hosts: 'vps[1' is not a host name"),
    ("host-name-with-a-space", put(HOSTS, "all:\n  hosts:\n    my server:\n"), HOSTS,
     "all.hosts: 'my server' is not a host name"),
    ("host-name-a-number-list", put(HOSTS, "all:\n  hosts:\n    [1, 2]:\n"), HOSTS, "a key that is a list"),
    ("group-key-typo", sub(HOSTS, "  hosts:", "  host:"), HOSTS, "all.host: unknown key"),
    ("every-host-in-another-services-group", put(HOSTS, "all:\n  children:\n    n8n:\n      hosts:\n        vps-1:\n"),
     HOSTS, "service supabase has no host: every host is in another service's group (n8n)"),
    ("variable-name-with-a-space", sub(HOSTS, "ansible_user: root", "ansible user: root"), HOSTS,
     "all.vars.ansible user: 'ansible user' is not a variable name"),
    ("hosts-file-a-list", put(HOSTS, "- vps-1\n"), HOSTS, "expected a mapping with an 'all' group, got a list"),
    ("hosts-file-empty", put(HOSTS, ""), HOSTS, "the file is empty"),
    ("hosts-file-no-host", put(HOSTS, "all:\n  hosts: {}\n"), HOSTS, "the inventory lists no host"),
    ("hosts-file-missing", remove(HOSTS), HOSTS, "no hosts file"),
    ("hosts-file-a-folder", folder(HOSTS), HOSTS, "expected a file, found a folder"),
    ("hosts-file-a-symlink-loop", loop(HOSTS), HOSTS, "cannot read the file: Too many levels of symbolic links"),
    ("hosts-file-latin-1", put_bytes(HOSTS, "all:\n  hosts:\n    vps-1:\n      # Zürich\n".encode("latin-1")),
     HOSTS + ":4", "not UTF-8 text"),
    ("hosts-file-tabs", put(HOSTS, "all:\n\thosts:\n\t\tvps-1:\n"), HOSTS, "indent with spaces, not tabs"),
    ("hosts-file-duplicate-host", add(HOSTS, "  hosts:\n    vps-2:\n"), HOSTS, "duplicate key 'hosts'"),
    ("hosts-file-10-mb", add(HOSTS, "# " + "x" * (10 * MB) + "\n"), HOSTS, "larger than a settings file can be"),
    ("hosts-file-unclosed-bracket", put(HOSTS, "all:\n  hosts: {vps-1: {ansible_host: [1}\n"), HOSTS, "invalid YAML"),
    ("ssh-key-missing", sub(HOSTS, "# ansible_ssh_private_key_file", "ansible_ssh_private_key_file"), HOSTS,
     "host 'vps-1': ansible_ssh_private_key_file ~/.ssh/id_ed25519 does not exist"),
    # the execution node a host's phases run on (aidevops_execution_node)
    ("execution-node-a-string", node("10.0.0.5"), HOSTS,
     "all.vars.aidevops_execution_node: expected a mapping with host (and port, user, private_key_file, python)"),
    ("execution-node-no-host", node("{port: 22}"), HOSTS, "all.vars.aidevops_execution_node.host: missing"),
    ("execution-node-host-with-a-space", node("{host: 'node 1'}"), HOSTS,
     "all.vars.aidevops_execution_node.host: expected an address or host name, got 'node 1'"),
    ("execution-node-port-quoted", node("{host: 10.0.0.5, port: '22'}"), HOSTS,
     "all.vars.aidevops_execution_node.port: expected a whole number from 1 to 65535, got '22'"),
    ("execution-node-port-too-high", node("{host: 10.0.0.5, port: 70000}"), HOSTS,
     "all.vars.aidevops_execution_node.port: expected a whole number from 1 to 65535, got 70000"),
    ("execution-node-key-typo", node("{host: 10.0.0.5, usr: deploy}"), HOSTS,
     "all.vars.aidevops_execution_node.usr: unknown key (expected one of host, port, user, private_key_file"),
    ("execution-node-user-a-list", node("{host: 10.0.0.5, user: [root]}"), HOSTS,
     "all.vars.aidevops_execution_node.user: expected a user name, got ['root']"),
    ("execution-node-key-file-missing", node("{host: 10.0.0.5, private_key_file: keys/node}"), HOSTS,
     "all.vars.aidevops_execution_node.private_key_file: 'keys/node' does not exist"),
    ("execution-node-python-with-options", node("{host: 10.0.0.5, python: 'python3 -u'}"), HOSTS,
     "all.vars.aidevops_execution_node.python: expected a command or a path without spaces, got 'python3 -u'"),
    ("execution-node-host-key-checking-no", node("{host: 10.0.0.5, host_key_checking: 'no'}"), HOSTS,
     "all.vars.aidevops_execution_node.host_key_checking: expected true or false, got 'no'"),
    ("execution-node-in-a-child-group", put(HOSTS, "all:\n  children:\n    far:\n      hosts:\n        vps-1:\n"
                                                  "      vars:\n        aidevops_execution_node: {host: 10.0.0.5, "
                                                  "port: 0}\n"), HOSTS,
     "all.children.far.vars.aidevops_execution_node.port: expected a whole number from 1 to 65535, got 0"),
    ("execution-node-for-some-hosts-of-a-service-that-generates-secrets",
     put(HOSTS, "all:\n  hosts:\n    vps-1:\n      aidevops_execution_node: {host: 10.0.0.5}\n    vps-2:\n"), HOSTS,
     ("phase n8n would run on the execution node root@10.0.0.5:22 and this machine for its hosts, and each would "
      "generate its own secrets for n8n (saved in group_vars/all/vault_n8n.yml)")),
    # the request
    ("option-typo", req("strategy: hybrid", "stratgy: hybrid"), REQUEST, "aidevops.options.stratgy: unknown key"),
    ("dns-unknown-key", req("provider: cloudflare", "provider: cloudflare\n    zone_id: abc"), REQUEST,
     "aidevops.dns.zone_id: unknown key"),
    ("unknown-strategy", req("strategy: hybrid", "strategy: fastest"), REQUEST,
     "aidevops.options.strategy: unknown strategy 'fastest'"),
    ("max-parallel-zero", req("max_parallel: 2", "max_parallel: 0"), REQUEST,
     "aidevops.options.max_parallel: expected a whole number from 1 to 8, got 0"),
    ("max-parallel-quoted", req("max_parallel: 2", "max_parallel: '2'"), REQUEST,
     "aidevops.options.max_parallel: expected a whole number from 1 to 8, got '2'"),
    ("max-parallel-bool", req("max_parallel: 2", "max_parallel: yes"), REQUEST,
     "aidevops.options.max_parallel: expected a whole number from 1 to 8, got True"),
    ("options-a-list", both(req("    max_parallel: 2\n", ""), req("    strategy: hybrid", "    - hybrid")), REQUEST,
     "aidevops.options: expected a mapping, got list"),
    ("duplicate-key", req("  admin_email: ops@example.com", "  admin_email: ops@example.com\n  domain: example.org"),
     REQUEST + ":", "duplicate key 'domain'"),
    ("one-mb-email", req("admin_email: ops@example.com", "admin_email: " + "o" * MB + "@example.com"), REQUEST,
     "aidevops.admin_email: longer than 254 characters: 'oooooooo"),
    ("n8n-and-supabase-on-one-name", req("    n8n: n8n.example.com", "    n8n: apps.example.com\n"
                                         "    supabase: apps.example.com"), REQUEST,
     "aidevops.hostnames.supabase: apps.example.com is also the host name of n8n"),
    ("studio-on-n8n-name", req("    n8n: n8n.example.com", "    studio: n8n.example.com"), REQUEST,
     "aidevops.hostnames.studio: n8n.example.com is also the host name of n8n"),
    ("ca-file-missing", req("# ca_file: ca/internal-root.pem", "ca_file: ca/internal-root.pem"), REQUEST,
     "aidevops.validation.ca_file: ") ,
    ("request-latin-1", put_bytes(REQUEST, "aidevops:\n  domain: exämple.com\n".encode("latin-1")), REQUEST + ":2",
     "not UTF-8 text"),
    ("request-utf-16-with-bom", put_bytes(REQUEST, "aidevops:\n  domain: example.com\n".encode("utf-16")), REQUEST,
     "not UTF-8 text"),
    ("request-bom-and-a-typo", both(req("strategy: hybrid", "stratgy: hybrid"),
                                    lambda inv: (inv / REQUEST).write_bytes(b"\xef\xbb\xbf" + (inv / REQUEST).read_bytes())),
     REQUEST, "aidevops.options.stratgy: unknown key"),
    ("request-crlf-and-a-typo", both(req("strategy: hybrid", "stratgy: hybrid"),
                                     lambda inv: (inv / REQUEST).write_bytes((inv / REQUEST).read_bytes()
                                                                             .replace(b"\n", b"\r\n"))),
     REQUEST, "aidevops.options.stratgy: unknown key (expected one of strategy, max_parallel, serial, max_fail_percentage)"),
    ("request-empty", put(REQUEST, ""), REQUEST, "aidevops: missing"),
    ("request-a-folder", folder(REQUEST), REQUEST, "expected a file, found a folder"),
    ("request-a-symlink-loop", loop(REQUEST), REQUEST, "Too many levels of symbolic links"),
    ("request-10-mb", add(REQUEST, "# " + "x" * (10 * MB) + "\n"), REQUEST, "larger than a settings file can be"),
    ("request-tabs", req("  domain: example.com", "\tdomain: example.com"), REQUEST + ":", "invalid YAML"),
    ("request-a-list", put(REQUEST, "- aidevops\n"), REQUEST, "aidevops: missing"),
    ("request-a-string", put(REQUEST, "aidevops: example.com\n"), REQUEST, "aidevops: expected a mapping, got str"),
    ("request-missing", remove(REQUEST), REQUEST, "no deployment request"),
    ("request-unclosed-bracket", req("services: [n8n, supabase]", "services: [n8n, supabase"), REQUEST + ":",
     "invalid YAML"),
    ("unknown-top-level-key", req("  domain: example.com", "  domian: example.com"), REQUEST,
     "aidevops.domian: unknown key"),
    ("domain-missing", req("  domain: example.com\n", ""), REQUEST, "aidevops.domain: missing"),
    ("domain-invalid", req("domain: example.com", "domain: exa_mple"), REQUEST,
     "aidevops.domain: 'exa_mple' is not a valid domain name"),
    ("domain-a-number", req("domain: example.com", "domain: 42"), REQUEST, "aidevops.domain: expected text, got int"),
    ("email-invalid", req("admin_email: ops@example.com", "admin_email: ops"), REQUEST,
     "aidevops.admin_email: expected an email address, got 'ops'"),
    ("service-unknown", req("services: [n8n, supabase]", "services: [n8n, wordpress]"), REQUEST,
     "aidevops.services[1]: unknown service 'wordpress'"),
    ("service-twice", req("services: [n8n, supabase]", "services: [n8n, n8n]"), REQUEST,
     "aidevops.services: lists a service twice"),
    ("services-a-string", req("services: [n8n, supabase]", "services: n8n"), REQUEST,
     "aidevops.services: expected a list, got str"),
    ("hostname-unknown-site", req("    n8n: n8n.example.com", "    wordpress: blog.example.com"), REQUEST,
     "aidevops.hostnames.wordpress: unknown site"),
    ("hostname-invalid", req("    n8n: n8n.example.com", "    n8n: n8n..example.com"), REQUEST,
     "aidevops.hostnames.n8n: 'n8n..example.com' is not a valid domain name"),
    ("dns-provider-unknown", req("provider: cloudflare", "provider: route53"), REQUEST,
     "aidevops.dns.provider: unknown provider 'route53'"),
    ("dns-missing", req("  dns:\n", "  dns_:\n"), REQUEST, "aidevops.dns_: unknown key"),
    ("ai-provider-unknown", add(REQUEST, "  ai:\n    provider: gpt-9\n"), REQUEST,
     "aidevops.ai.provider: expected one of anthropic, openai, offline or replay:FILE, got 'gpt-9'"),
    ("ai-api-key", add(REQUEST, "  ai:\n    api_key: sk-secret\n"), REQUEST,
     "aidevops.ai.api_key: unknown key (API keys come from ANTHROPIC_API_KEY / OPENAI_API_KEY)"),
    ("ai-timeout-zero", add(REQUEST, "  ai:\n    timeout: 0\n"), REQUEST,
     "aidevops.ai.timeout: expected seconds from 1 to 600, got 0"),
    ("tls-profile-unknown", req("tls_profile: intermediate", "tls_profile: strict"), REQUEST,
     "aidevops.validation.tls_profile: unknown profile 'strict'"),
    ("lynis-index-101", req("lynis_min_index: 75", "lynis_min_index: 101"), REQUEST,
     "aidevops.validation.lynis_min_index: expected a whole number from 0 to 100, got 101"),
    ("audit-yes-please", req("audit: true", "audit: yes please"), REQUEST,
     "aidevops.validation.audit: expected true or false, got 'yes please'"),
    ("load-negative", req("load_max_per_core: 2.0", "load_max_per_core: -1"), REQUEST,
     "aidevops.validation.load_max_per_core: expected a positive number, got -1"),
    # each role's settings against its argument specs
    ("role-var-wrong-type", sub(BASE, "base_server_ssh_port: 22", "base_server_ssh_port: twenty-two"), BASE,
     "base_server_ssh_port: expected int, got str 'twenty-two'"),
    ("role-var-wrong-choice", sub(BASE, "base_server_docker_source: official", "base_server_docker_source: snap"),
     BASE, "base_server_docker_source: 'snap' is not one of"),
    ("role-var-typo", sub(BASE, "base_server_ssh_port: 22", "base_server_ssh_prot: 22"), BASE,
     "base_server_ssh_prot: not a variable of the base_server role (did you mean base_server_ssh_port?)"),
    ("role-var-bool", sub(BASE, "automatic_reboot: true", "automatic_reboot: maybe"), BASE,
     "base_server_unattended_upgrades_automatic_reboot: expected bool"),
    ("role-var-list-as-mapping", sub(BASE, "base_server_trusted_networks: []", "base_server_trusted_networks: {a: 1}"),
     BASE, "base_server_trusted_networks: expected list, got dict"),
    ("role-file-a-list", put("group_vars/all/n8n.yml", "- n8n_version: 1\n"), "group_vars/all/n8n.yml",
     "expected a mapping of variables, got list"),
    ("role-file-duplicate-key", add(BASE, "base_server_ssh_port: 2222\n"), BASE,
     "duplicate key 'base_server_ssh_port'"),
    ("role-file-latin-1", put_bytes("group_vars/all/nginx_proxy.yml", "# café\n".encode("latin-1")),
     "group_vars/all/nginx_proxy.yml", "not UTF-8 text"),
    ("role-file-a-folder", folder("group_vars/all/extra.yml"), "group_vars/all/extra.yml",
     "expected a file, found a folder"),
    ("host-vars-wrong-type", put("host_vars/vps-1.yml", "nginx_proxy_read_timeout: [60]\n"), "host_vars/vps-1.yml",
     "nginx_proxy_read_timeout: expected int"),
    # the vault files
    ("vault-not-encrypted", put("group_vars/all/vault.yml", "vault_cloudflare_api_token: abc\n"),
     "group_vars/all/vault.yml", "a vault file that is not encrypted"),
    ("vault-no-password", encrypted("group_vars/all/vault.yml", "a: b\n"), "group_vars/all/vault.yml",
     "no vault password is configured"),
    ("vault-wrong-password", both(password("wrong"), encrypted("group_vars/all/vault.yml", "a: b\n")),
     "group_vars/all/vault.yml", "cannot decrypt"),
    ("vault-not-yaml", both(password(), encrypted("group_vars/all/vault.yml", "a: [b\n")),
     "group_vars/all/vault.yml", "invalid YAML"),
    ("vault-duplicate-key", both(password(), encrypted("group_vars/all/vault.yml", "a: b\na: c\n")),
     "group_vars/all/vault.yml", "duplicate key 'a'"),
    ("vault-password-world-readable", both(password(mode=0o644), encrypted("group_vars/all/vault.yml", "a: b\n")),
     ".vault-pass", "the vault password file can be read by anyone (mode 0o644) (chmod 600"),
    ("vault-password-a-folder", both(lambda inv: (inv / vault.PASSWORD_FILE).mkdir(),
                                     encrypted("group_vars/all/vault.yml", "a: b\n")),
     ".vault-pass", "the vault password file is not a file"),
]


def _files(inv: Path) -> set[str]:
    """Every path under the inventory, links not followed (a loop must not hang the walk)."""
    out = set()
    for base, dirs, files in os.walk(inv):
        out.update(os.path.relpath(os.path.join(base, n), inv) for n in dirs + files)
    return out


def _plan(inv: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "ANSIBLE_VAULT_PASSWORD_FILE"}
    return subprocess.run([sys.executable, "-m", "orchestrator.cli", "plan", "--inventory", str(inv), *args],
                          check=False, capture_output=True, text=True, cwd=ROOT, timeout=120, env=env)


def _broken_copy(tmp_path: Path, change: Callable[[Path], None]) -> Path:
    inv = tmp_path / "inv"
    shutil.copytree(EXAMPLE, inv)
    change(inv)
    return inv


def test_there_are_at_least_sixty_cases_with_distinct_ids():
    ids = [c[0] for c in CASES]
    assert len(ids) >= 60 and len(set(ids)) == len(ids)


def test_the_unbroken_copy_plans(tmp_path):
    """The baseline: without the change, the copy is accepted (so each row fails for its own reason)."""
    inv = _broken_copy(tmp_path, lambda inv: None)
    r = _plan(inv)
    assert r.returncode == 0, r.stderr


@pytest.mark.parametrize("how,change,file,expected", CASES, ids=[c[0] for c in CASES])
def test_a_broken_inventory_is_one_clear_line(tmp_path, how, change, file, expected):
    inv = _broken_copy(tmp_path, change)
    before = _files(inv)
    r = _plan(inv)
    lines = r.stderr.splitlines()
    assert r.returncode == 2, r.stderr[-2000:]
    assert len(lines) == 1 and lines[0].startswith("error: "), r.stderr[-2000:]
    assert "Traceback" not in r.stderr + r.stdout
    assert f"{inv}/{file}" in lines[0] and expected in lines[0], lines[0][:1000]
    assert len(lines[0]) < 500, "a bad value is quoted as a short excerpt at most"
    assert _files(inv) == before


def test_plan_with_offline_ai_and_a_wrong_vault_password_creates_nothing(tmp_path):
    inv = _broken_copy(tmp_path, both(password("wrong"), encrypted("group_vars/all/vault.yml", "a: b\n")))
    before = _files(inv)
    r = _plan(inv, "--ai", "offline")
    assert r.returncode == 2 and r.stderr.count("error:") == 1 and "cannot decrypt" in r.stderr
    assert _files(inv) == before and not (inv / ".aidevops").exists()


def test_a_utf8_bom_crlf_and_an_inline_vault_value_are_accepted(tmp_path):
    def change(inv: Path) -> None:
        data = (inv / REQUEST).read_bytes().replace(b"\n", b"\r\n")
        (inv / REQUEST).write_bytes(b"\xef\xbb\xbf" + data)
        (inv / "group_vars/all/dns.yml").write_text(
            "dns_cloudflare_api_token: !vault |\n  $ANSIBLE_VAULT;1.1;AES256\n  6134\n")
    r = _plan(_broken_copy(tmp_path, change))
    assert r.returncode == 0, r.stderr


def test_a_missing_ca_file_matters_only_to_a_run_that_validates(tmp_path):
    """`run --only base_server` never reads validation.ca_file (a sandbox without its CA yet): not refused."""
    inv = _broken_copy(tmp_path, req("# ca_file: ca/internal-root.pem", "ca_file: ca/internal-root.pem"))
    assert _plan(inv, "--only", "base_server").returncode == 0
    refused = _plan(inv)
    assert refused.returncode == 2 and "aidevops.validation.ca_file" in refused.stderr
