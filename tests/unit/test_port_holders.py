"""nginx_proxy names the process that holds port 80 or 443 (its filter reads `ss -Hltnp`)."""

import importlib.util

from tests.conftest import ROOT

_spec = importlib.util.spec_from_file_location(
    "port_holders", ROOT / "roles/nginx_proxy/filter_plugins/port_holders.py")
port_holders = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(port_holders)

SS = [
    'LISTEN 0      511          0.0.0.0:80        0.0.0.0:*    users:(("nginx",pid=1234,fd=6),("nginx",pid=1233,fd=6))',
    'LISTEN 0      5            0.0.0.0:443       0.0.0.0:*    users:(("python3",pid=42,fd=3))',
    'LISTEN 0      5               [::]:443          [::]:*    users:(("python3",pid=42,fd=4))',
    'LISTEN 0      4096       127.0.0.1:5678      0.0.0.0:*    users:(("docker-proxy",pid=9,fd=4))',
    'LISTEN 0      4096         0.0.0.0:8080      0.0.0.0:*',
]


def test_a_foreign_listener_on_80_or_443_is_named_once_and_nginx_is_not():
    holders = port_holders.port_holders(SS, [80, 443])
    assert holders == [{"port": 443, "process": "python3", "pid": 42}]
    assert port_holders.describe_port_holders(holders) == "port 443 is taken by python3 (pid 42)"


def test_free_ports_and_a_listener_without_a_process_name():
    assert port_holders.port_holders([], [80, 443]) == []
    assert port_holders.port_holders(SS[:1], [80, 443]) == []
    assert port_holders.port_holders(SS[4:], [8080]) == [{"port": 8080, "process": "unknown", "pid": 0}]
