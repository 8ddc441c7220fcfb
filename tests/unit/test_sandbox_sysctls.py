"""Sandbox hosts and Molecule's platform get base_server's net.* sysctls (Lynis reads live values, and
/proc/sys is read-only in a container): the same keys and values as the role's defaults, so they cannot drift."""

import yaml

from orchestrator.sandbox.hosts import net_sysctl_flags
from tests.conftest import ROOT


def _role_net_settings() -> dict[str, str]:
    defaults = yaml.safe_load((ROOT / "roles/base_server/defaults/main.yml").read_text())
    settings = defaults["base_server_sysctl_settings"]
    return {k: str(v) for k, v in settings.items() if k.startswith("net.")}


def test_the_flags_are_the_roles_net_defaults_and_nothing_kernel_wide():
    wanted = _role_net_settings()
    assert "net.ipv4.ip_forward" in wanted and wanted["net.ipv4.ip_forward"] == "1"  # Docker inside needs it
    flags = net_sysctl_flags()
    assert flags[::2] == ["--sysctl"] * len(wanted)
    assert dict(f.split("=", 1) for f in flags[1::2]) == wanted


def test_the_flags_follow_the_defaults_file(tmp_path):
    defaults = tmp_path / "base_server/defaults/main.yml"
    defaults.parent.mkdir(parents=True)
    defaults.write_text("base_server_sysctl_settings:\n  kernel.sysrq: 0\n  net.ipv4.tcp_syncookies: 1\n")
    assert net_sysctl_flags(tmp_path) == ["--sysctl", "net.ipv4.tcp_syncookies=1"]


def test_molecules_platform_gets_the_same_sysctls():
    config = yaml.safe_load((ROOT / ".config/molecule/config.yml").read_text())
    (platform,) = config["platforms"]
    assert {k: str(v) for k, v in platform["sysctls"].items()} == _role_net_settings()

