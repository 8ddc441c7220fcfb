"""The deployment request: valid input loads; each kind of bad input gives one clear error."""

from pathlib import Path

import pytest

from orchestrator.errors import BadInput
from orchestrator.request import load_request, valid_domain
from tests.conftest import ROOT, write


def test_the_example_inventory_is_a_valid_request():
    req = load_request(ROOT / "inventories/example")
    assert req.domain == "example.com"
    assert req.services == ("n8n", "supabase")
    assert req.dns_provider == "cloudflare"
    assert req.hostnames["n8n"] == "n8n.example.com"
    assert req.hostnames["studio"] == "studio.example.com"
    assert [h.name for h in req.hosts] == ["vps-1"]


@pytest.mark.parametrize("name,ok", [
    ("example.com", True), ("n8n.sub.example.co.uk", True), ("xn--bcher-kva.example", True),
    ("localhost", False), ("-bad.example.com", False), ("bad-.example.com", False),
    ("exa mple.com", False), ("a" * 64 + ".com", False), ("example.123", False), ("", False),
])
def test_domain_names_are_checked(name, ok):
    assert valid_domain(name) is ok


def _error(inv: Path) -> str:
    with pytest.raises(BadInput) as exc:
        load_request(inv)
    return str(exc.value)


def test_bad_yaml_names_the_file_and_line(inventory):
    write(inventory / "group_vars/all/aidevops.yml", "aidevops:\n  domain: [example.com\n  services: x\n")
    msg = _error(inventory)
    assert "group_vars/all/aidevops.yml:" in msg and "invalid YAML" in msg
    assert ":3:" in msg or ":2:" in msg


def test_unknown_service_names_the_key_and_the_choices(inventory):
    write(inventory / "group_vars/all/aidevops.yml",
          "aidevops:\n  domain: example.com\n  admin_email: a@example.com\n  services: [n8n, n9n]\n"
          "  dns: {provider: none}\n")
    msg = _error(inventory)
    assert "aidevops.services[1]: unknown service 'n9n'" in msg
    assert "expected one of n8n, supabase" in msg


def test_invalid_domain(inventory):
    write(inventory / "group_vars/all/aidevops.yml",
          "aidevops:\n  domain: not_a_domain\n  admin_email: a@example.com\n  dns: {provider: none}\n")
    assert "aidevops.domain: 'not_a_domain' is not a valid domain name" in _error(inventory)


def test_unknown_key_is_refused(inventory):
    write(inventory / "group_vars/all/aidevops.yml",
          "aidevops:\n  domian: example.com\n  admin_email: a@example.com\n  dns: {provider: none}\n")
    assert "aidevops.domian: unknown key" in _error(inventory)


def test_missing_dns_provider(inventory):
    write(inventory / "group_vars/all/aidevops.yml", "aidevops:\n  domain: example.com\n  admin_email: a@example.com\n")
    assert "aidevops.dns.provider: missing" in _error(inventory)


def test_missing_hosts_file(inventory):
    (inventory / "hosts.yml").unlink()
    msg = _error(inventory)
    assert "hosts.yml: no hosts file" in msg and "sandbox up" in msg


def test_inventory_without_hosts(inventory):
    write(inventory / "hosts.yml", "all:\n  hosts: {}\n")
    assert "lists no host" in _error(inventory)


def test_missing_ssh_key_names_the_host(inventory):
    write(inventory / "hosts.yml", "all:\n  children:\n    web:\n      hosts:\n        vps-1:\n"
                                   "      vars:\n        ansible_ssh_private_key_file: keys/nope\n")
    msg = _error(inventory)
    assert "host 'vps-1'" in msg and "keys/nope does not exist" in msg


def test_missing_inventory():
    assert "inventory not found" in _error(Path("/nonexistent/inventory"))


def test_out_of_range_option(inventory):
    write(inventory / "group_vars/all/aidevops.yml",
          "aidevops:\n  domain: example.com\n  admin_email: a@example.com\n  dns: {provider: none}\n"
          "  options: {max_parallel: 99}\n")
    assert "aidevops.options.max_parallel" in _error(inventory)


def test_the_request_reference_is_generated_from_the_schema():
    from orchestrator.request import docs
    assert (ROOT / docs.DOC).read_text() == docs.render(), "run python -m orchestrator.request.docs"
    assert docs.main(["--check", str(ROOT / docs.DOC)]) == 0
    assert "| `max_parallel` | whole number | `2` | 1 to 8 |" in docs.render()


def test_the_cli_choices_come_from_the_schema():
    from orchestrator.cli.common import strategy_option
    from orchestrator.request import STRATEGIES

    @strategy_option
    def f(strategy):
        pass
    assert tuple(f.__click_params__[0].type.choices) == STRATEGIES


@pytest.mark.parametrize("body,message", [
    ("  options: {stratgy: hybrid}\n", "aidevops.options.stratgy: unknown key (expected one of strategy, max_parallel, serial, max_fail_percentage)"),
    ("  dns: {provider: none, zone: x}\n", "aidevops.dns.zone: unknown key"),
    ("  options: {strategy: fast}\n", "aidevops.options.strategy: unknown strategy 'fast'"),
    ("  admin_email: " + "a" * 1_000_000 + "@example.com\n", "aidevops.admin_email: longer than 254 characters"),
    ("  hostnames: {n8n: a.example.com, studio: a.example.com}\n",
     "aidevops.hostnames.studio: a.example.com is also the host name of n8n"),
])
def test_schema_mistakes_are_one_short_line(inventory, body, message):
    text = "aidevops:\n  domain: example.com\n  admin_email: a@example.com\n  dns: {provider: none}\n"
    lines = {line.split(":")[0]: line for line in text.splitlines()[1:]}
    lines[body.split(":")[0]] = body.rstrip("\n")
    write(inventory / "group_vars/all/aidevops.yml", "aidevops:\n" + "\n".join(lines.values()) + "\n")
    msg = _error(inventory)
    assert message in msg and len(msg) < 400


def test_the_commented_example_request_shows_every_key_of_the_schema():
    from orchestrator.request import schema
    text = (ROOT / "inventories/example/group_vars/all/aidevops.yml").read_text()
    for path, model in schema.SECTIONS.items():
        for name in model.model_fields:
            assert f" {name}:" in text, f"{path}.{name} is not in the example request"


def test_a_key_written_empty_keeps_its_default(inventory):
    write(inventory / "group_vars/all/aidevops.yml",
          "aidevops:\n  domain: example.com\n  admin_email: a@example.com\n  dns: {provider: none}\n"
          "  ai: {retries: null, timeout: null}\n  options: {strategy: null, max_parallel: null}\n"
          "  validation: {cert_min_days: null}\n")
    req = load_request(inventory)
    assert req.ai == {} and req.strategy is None and req.max_parallel == 2 and req.validation.cert_min_days == 14
    write(inventory / "group_vars/all/aidevops.yml", "aidevops:\n  domain:\n  admin_email: a@example.com\n")
    assert "aidevops.domain: missing" in _error(inventory)
