"""Every hardening control named by the validator (orchestrator/validation/hardening.py) is a control of
base_server: a switch declared in the argument specs, a task file included from tasks/main.yml with its tag,
a key of the manifest, and a member of the levels; and the manifest reader copes with a host without it."""

from pathlib import Path

import pytest
import yaml

from orchestrator.validation import hardening

ROLE = Path(__file__).resolve().parents[2] / "roles" / "base_server"


def _yaml(path: str):
    return yaml.safe_load((ROLE / path).read_text())


def test_manifest_names_the_same_controls_as_the_checks():
    assert _yaml("vars/main.yml")["__base_server_controls"] == list(hardening.CONTROLS)


@pytest.mark.parametrize("name", list(hardening.CONTROLS))
def test_each_control_has_a_switch_a_task_file_and_a_tag(name):
    options = _yaml("meta/argument_specs.yml")["argument_specs"]["main"]["options"]
    switch = f"base_server_{name}_enabled"
    assert options[switch]["type"] == "bool", f"{switch} is not declared as a bool"
    main = _yaml("tasks/main.yml")
    if name == "ssh_crypto":  # one switch inside ssh.yml
        assert "base_server_ssh_crypto_enabled" in (ROLE / "tasks/ssh.yml").read_text()
        task_file = ROLE / "tasks/ssh.yml"
    else:
        include = [t for t in main if f"base_server_{name}_enabled | bool" == t.get("when")]
        assert include, f"tasks/main.yml does not include {name}.yml under its switch"
        assert include[0]["ansible.builtin.include_tasks"]["file"] == f"{name}.yml"
        assert {f"base_server_{name}", name} <= set(include[0]["tags"])
        task_file = ROLE / "tasks" / f"{name}.yml"
    # Every control records itself in the manifest, applied or skipped with a reason.
    assert f"'{name}'" in task_file.read_text(), f"{task_file.name} never records {name} in the manifest"


def test_levels_are_cumulative_and_name_only_known_controls():
    levels = _yaml("vars/main.yml")["__base_server_levels"]
    assert list(levels) == ["baseline", "hardened", "strict"]
    assert set(levels["baseline"]) <= set(levels["hardened"]) <= set(levels["strict"])
    assert set(levels["strict"]) <= set(hardening.CONTROLS)
    assert "remote_syslog" not in levels["strict"]  # on only with a target, at every level
    spec = _yaml("meta/argument_specs.yml")["argument_specs"]["main"]["options"]["base_server_security_level"]
    assert spec["choices"] == list(levels) and spec["default"] == "hardened"


def test_every_control_has_a_title_and_lynis_tests():
    for control in hardening.CONTROLS.values():
        assert control.title and control.lynis_tests and callable(control.check)


class _File:
    def __init__(self, content):
        self.exists = content is not None
        self.content_string = content or ""


class _Host:
    def __init__(self, content):
        self._content = content

    def file(self, path):
        assert path == hardening.MANIFEST
        return _File(self._content)


def test_manifest_reader_and_verify_without_and_with_a_manifest():
    assert hardening.read_manifest(_Host(None)) == {}
    assert hardening.read_manifest(_Host("not json")) == {}
    assert "has not run" in hardening.verify(_Host(None), "core_dumps")
    manifest = ('{"security_level": "baseline", "controls": {"core_dumps": {"state": "off", "reason": "off at level '
                'baseline"}, "proc_hidepid": {"state": "skipped", "reason": "a container cannot remount /proc"}}}')
    host = _Host(manifest)
    assert hardening.verify(host, "proc_hidepid") == "a container cannot remount /proc"
    assert hardening.verify(host, "core_dumps").startswith("off at level baseline")
    assert "does not list" in hardening.verify(host, "banners")
