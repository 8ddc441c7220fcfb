"""A sandbox host runs with base_server's net.* sysctls live (passed with `docker run --sysctl`; a container's
/proc/sys is read-only): the values the role's defaults hold, read on the session's host over SSH."""

import pytest

from tests.integration.conftest import ssh
from tests.unit.test_sandbox_sysctls import _role_net_settings

pytestmark = pytest.mark.integration


def test_the_host_has_the_roles_net_sysctls_live(sandbox_inventory):
    _, box, host = sandbox_inventory
    wanted = _role_net_settings()
    keys = sorted(wanted)
    out = ssh(box, host, "; ".join(f"cat /proc/sys/{k.replace('.', '/')}" for k in keys))
    assert out.returncode == 0, out.stderr
    assert dict(zip(keys, out.stdout.split(), strict=True)) == wanted
