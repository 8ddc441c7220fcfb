"""The hardening controls of the level the scenario converged with (the default, hardened), checked as the
validator checks them (orchestrator/validation/hardening.py); what a container cannot do is skipped with the
role's reason, read from its manifest."""

import json
import os
import sys

import pytest

sys.path.insert(0, os.environ.get("MOLECULE_PROJECT_DIRECTORY", os.getcwd()))
from orchestrator.validation import hardening


def test_manifest_lists_every_control_at_the_default_level(host):
    manifest = json.loads(host.file(hardening.MANIFEST).content_string)
    assert manifest["security_level"] == "hardened"
    assert sorted(manifest["controls"]) == sorted(hardening.CONTROLS)
    assert host.file(hardening.MANIFEST).mode == 0o644
    states = {name: entry["state"] for name, entry in manifest["controls"].items()}
    assert states["remote_syslog"] == "off"  # no target in the scenario
    assert {s for n, s in states.items() if n != "remote_syslog"} <= {"applied", "skipped"}
    skipped = {n: e.get("reason") for n, e in manifest["controls"].items() if e["state"] == "skipped"}
    assert all(skipped.values()), f"skipped without a reason: {skipped}"


@pytest.mark.parametrize("name", list(hardening.CONTROLS))
def test_hardening_control(host, name):
    why_not = hardening.verify(host, name)
    if why_not is not None:
        pytest.skip(why_not)
