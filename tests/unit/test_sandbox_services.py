"""The pure part of orchestrator.sandbox.services: named.conf, zone, TSIG key and pebble configuration."""

import base64
import json
import re

import pytest

from orchestrator.sandbox import services as s


def test_tsig_secret_is_256_bits_of_base64():
    secret = s.new_tsig_secret()
    assert len(base64.b64decode(secret)) == 32
    assert s.new_tsig_secret() != secret


def test_tsig_key_in_bind_syntax():
    text = s.render_tsig_key("aidevops-sandbox-update", "c2VjcmV0")
    assert text == 'key "aidevops-sandbox-update" {\n\talgorithm hmac-sha256;\n\tsecret "c2VjcmV0";\n};\n'


def test_named_conf_is_authoritative_only_with_signed_updates():
    conf = s.render_named_conf("sandbox.test", "aidevops-sandbox-update")
    assert 'include "/config/tsig.key";' in conf
    assert "recursion no;" in conf and "allow-recursion { none; };" in conf
    assert 'zone "sandbox.test" {' in conf
    assert "type primary;" in conf
    assert 'file "/var/lib/bind/sandbox.test.zone";' in conf
    assert 'allow-update { key "aidevops-sandbox-update"; };' in conf
    assert "allow-transfer { none; };" in conf
    assert conf.count("{") == conf.count("}")


def test_zone_has_soa_ns_and_glue():
    zone = s.render_zone("sandbox.test", serial=42, ns_address="172.18.0.2", ttl=60)
    lines = zone.splitlines()
    assert lines[0] == "$ORIGIN sandbox.test."
    assert lines[1] == "$TTL 60"
    assert re.search(r"@\tIN SOA ns1\.sandbox\.test\. hostmaster\.sandbox\.test\. \( 42 ", zone)
    assert "@\tIN NS ns1.sandbox.test." in lines
    assert "ns1\tIN A 172.18.0.2" in lines


def test_zone_address_placeholder_is_filled_by_the_container():
    assert "ns1\tIN A __SELF_ADDRESS__" in s.render_zone("sandbox.test")


def test_pebble_config():
    config = json.loads(s.render_pebble_config())["pebble"]
    assert config["listenAddress"] == "0.0.0.0:14000"
    assert config["managementListenAddress"] == "0.0.0.0:15000"
    assert config["httpPort"] == 80 and config["tlsPort"] == 443
    assert config["certificate"] == "/config/listener.pem"
    assert config["privateKey"] == "/config/listener.key"
    assert config["certificateValidityPeriod"] == 90 * 24 * 3600
    assert config["externalAccountBindingRequired"] is False


def test_listener_certificate_names_the_container_and_the_machine():
    names = s.listener_names("aidevops-sandbox")
    assert names[0] == "DNS:aidevops-sandbox-acme"
    assert "IP:127.0.0.1" in names and "DNS:localhost" in names


def test_parse_pem_bundle_splits_key_and_certificate():
    key = "-----BEGIN PRIVATE KEY-----\nAAA\n-----END PRIVATE KEY-----\n"
    cert = "-----BEGIN CERTIFICATE-----\nBBB\n-----END CERTIFICATE-----\n"
    assert s.parse_pem_bundle("noise\n" + key + cert) == (key, cert)
    with pytest.raises(ValueError):
        s.parse_pem_bundle(cert)


def test_config_hash_changes_with_any_part():
    assert s.config_hash("a", "b") == s.config_hash("a", "b")
    assert s.config_hash("a", "b") != s.config_hash("a", "c")
    assert s.config_hash("ab", "") != s.config_hash("a", "b")


def test_image_is_tagged_with_the_recipe_version():
    assert s.image_name() == f"aidevops-sandbox-services:r{s.RECIPE_VERSION}"
    assert (s.DOCKERFILE_DIR / "Dockerfile").is_file()
    assert (s.DOCKERFILE_DIR / "entrypoint.sh").is_file()


def test_inventory_vars_names():
    answer = {
        "acme_directory": "https://p-acme:14000/dir", "acme_ca_pem": "CA", "acme_root_pem": "ROOT",
        "dns_server": "172.18.0.2", "dns_zone": "sandbox.test", "tsig_key_name": "p-update",
        "tsig_key_secret": "x", "tsig_key_algorithm": "hmac-sha256",
    }
    v = s.SandboxServices.inventory_vars(answer)
    assert v["aidevops_sandbox_acme_directory"] == "https://p-acme:14000/dir"
    assert v["aidevops_sandbox_acme_ca_pem"] == "CA"
    assert v["aidevops_sandbox_dns_server"] == "172.18.0.2"
    assert v["aidevops_sandbox_tsig_key_name"] == "p-update"
    assert all(k.startswith("aidevops_sandbox_") for k in v)


def test_names_follow_the_prefix(tmp_path):
    svc = s.SandboxServices("net", "pfx", "Sandbox.Test.", tmp_path)
    assert (svc.dns_name, svc.acme_name, svc.key_name, svc.domain) == ("pfx-dns", "pfx-acme", "pfx-update", "sandbox.test")
    assert svc.root_file == tmp_path.resolve() / "pebble-root.pem"
