"""Lynis and ssh-audit on one fresh sandbox host: before base_server, then after it at each security level.

Levels are cumulative (baseline < hardened < strict), so one host takes them in order, as an operator who raises
the level would. Needs Docker and the sandbox image (`aidevops sandbox image`); takes 10-20 minutes. Prints the
figures; asserts nothing.

    .venv/bin/python bench/security_levels.py [--levels baseline,hardened,strict] [--os debian13] [--keep]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from orchestrator.sandbox.hosts import Sandbox
from orchestrator.validation import audits

PREFIX = "bench-sec"


def on_host(box, host, command: str, timeout: int = 900) -> subprocess.CompletedProcess:
    return subprocess.run(["ssh", *box.ssh_options(), "-p", str(host.ssh_port), "root@127.0.0.1", command],
                          capture_output=True, text=True, timeout=timeout, check=False)


def lynis(box, host) -> audits.LynisReport:
    install = "command -v lynis >/dev/null || (apt-get update -q && DEBIAN_FRONTEND=noninteractive " \
              "apt-get install -y -q lynis)"
    done = on_host(box, host, f"{install} >/dev/null && lynis audit system --quick --no-colors >/dev/null; "
                              f"cat {audits.LYNIS_REPORT}")
    report = audits.parse_lynis_report(done.stdout)
    if report.hardening_index is None:
        raise SystemExit(f"Lynis gave no index: {done.stderr.strip()[-300:]}")
    return report


def ssh_audit(host) -> audits.SshAudit:
    return audits.parse_ssh_audit(audits.run_ssh_audit("127.0.0.1", host.ssh_port))


def deploy(inv: Path, level: str) -> float:
    settings = inv / "group_vars/all/base_server.yml"
    kept = [line for line in settings.read_text().splitlines() if not line.startswith("base_server_security_level:")]
    settings.write_text("\n".join([*kept, f"base_server_security_level: {level}", ""]))
    t0 = time.monotonic()
    r = subprocess.run([sys.executable, "-m", "orchestrator.cli", "run", "--inventory", str(inv), "--only",
                        "base_server", "--plain"], cwd=ROOT, capture_output=True, text=True, check=False)
    if r.returncode != 0:
        raise SystemExit(f"base_server at {level} failed (exit {r.returncode}):\n{r.stdout[-3000:]}{r.stderr[-1000:]}")
    return time.monotonic() - t0


def row(name: str, report: audits.LynisReport, audit: audits.SshAudit, seconds: float | None) -> str:
    took = f"{seconds:6.0f}s" if seconds is not None else "      -"
    return f"{name:<10} {report.hardening_index:>5} {len(report.warnings):>8} {len(report.suggestions):>11} " \
           f"{audit.fail:>8} {audit.warn:>8} {took}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--levels", default="baseline,hardened,strict")
    ap.add_argument("--os", default="debian13")
    ap.add_argument("--keep", action="store_true", help="leave the host running afterwards")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        inv = Path(tmp) / "inventory"
        shutil.copytree(ROOT / "inventories/sandbox/group_vars", inv / "group_vars")
        box = Sandbox(inv, prefix=PREFIX)
        box.down(log=lambda m: None)
        host = box.up(hosts=1, os_name=args.os, services=False, images=False, log=lambda m: None)[0]
        try:
            lines = [f"{'level':<10} {'Lynis':>5} {'warnings':>8} {'suggestions':>11} {'ssh fail':>8} "
                     f"{'ssh warn':>8} {'run':>7}"]
            last = lynis(box, host)
            lines.append(row("fresh", last, ssh_audit(host), None))
            print(lines[-1], flush=True)
            for level in args.levels.split(","):
                took = deploy(inv, level)
                last = lynis(box, host)
                lines.append(row(level, last, ssh_audit(host), took))
                print(lines[-1], flush=True)
            print(f"\nLynis 3.x, {args.os} sandbox host (a container: see FACTS.md for what it can never earn)")
            print("\n".join(lines))
            print(f"\nwarnings left at {args.levels.split(',')[-1]}:")
            print("\n".join(f"  {w}" for w in last.warnings) or "  none")
            print("suggestions left:")
            print("\n".join(f"  {s}" for s in last.suggestions) or "  none")
        finally:
            if not args.keep:
                box.down(log=lambda m: None)


if __name__ == "__main__":
    main()
