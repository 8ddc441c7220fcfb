"""Who holds the proxy's ports: read from `ss -Hltnp` on the host, before nginx is installed or started.

nginx that cannot bind 80 or 443 fails with systemd's "Job for nginx.service failed", which names neither
the port nor the process in the way; this names both, so the operator knows what to stop.
"""

from __future__ import annotations

import re

_USERS = re.compile(r'\("([^"]+)",pid=(\d+)')


def port_holders(ss_lines, ports, allowed=("nginx",)):
    """[{port, process, pid}] of each listener on one of `ports` whose process is not in `allowed`.

    ss_lines: lines of `ss -Hltnp` (State Recv-Q Send-Q Local:Port Peer:Port users:((...))).
    A listener ss cannot name (no users field: another network namespace) is reported as "unknown"."""
    wanted = {int(p) for p in ports}
    out, seen = [], set()
    for line in ss_lines or []:
        fields = line.split()
        if len(fields) < 4 or not fields[3].rsplit(":", 1)[-1].isdigit():
            continue
        port = int(fields[3].rsplit(":", 1)[-1])
        if port not in wanted:
            continue
        users = _USERS.findall(line) or [("unknown", "0")]
        for process, pid in users:
            if process in allowed or (port, process, pid) in seen:
                continue
            seen.add((port, process, pid))
            out.append({"port": port, "process": process, "pid": int(pid)})
    return sorted(out, key=lambda h: (h["port"], h["pid"]))


def describe_port_holders(holders):
    """'port 80 is taken by python3 (pid 4242), port 443 is taken by apache2 (pid 77)'."""
    return ", ".join(f"port {h['port']} is taken by {h['process']} (pid {h['pid']})" for h in holders)


class FilterModule:
    def filters(self):
        return {"aidevops_port_holders": port_holders, "aidevops_describe_port_holders": describe_port_holders}
