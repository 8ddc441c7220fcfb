"""One sandbox stack against a fleet of sandbox hosts: the wall time of `aidevops run` and the controller's memory.

For each host count N: a fresh inventory (the sandbox's group_vars, no vault), a fresh sandbox of N hosts with
BIND and pebble beside them, the app images preloaded into each host's Docker (a copy of a kept volume, so no
image archive travels through Ansible), and every host one client of a fleet: `aidevops_host: {domain:
client-<i>.sandbox.test}` in hosts.yml, its records in the sandbox zone (`dns_zone: sandbox.test`), its own
certificate by HTTP-01 from pebble (no self-signed fallback here, so a failed issuance fails the figure instead
of hiding in a degraded run). Then one timed `aidevops run --plain`; meanwhile the summed RSS (and PSS) of the
run and all its descendants is sampled every 0.5 s. The goal (aidevops issue 15): 8 hosts within 2x one host.
Prints the figures last; asserts nothing. Needs Docker and the sandbox images. On a 2-core machine one count
took 6-12 minutes (sandbox up 1-2, `aidevops run` 4.5-10 with the machine's load), and the teardown 1-3.

    .venv/bin/python bench/fleet.py [--hosts 1,8] [--level baseline|hardened] [--keep] [--json PATH]
    .venv/bin/python bench/fleet.py --hosts 1,2          # small, as CI runs it
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import yaml
from common import ROOT, aidevops, make_inventory, set_vars, write_json

from orchestrator import atomic
from orchestrator.sandbox.hosts import Sandbox
from orchestrator.sandbox.hosts_file import HOSTS_FILE_HEADER

ZONE = "sandbox.test"
SAMPLE_SECONDS = 0.5
GOAL_HOSTS, GOAL_RATIO = 8, 2.0


# -- the controller's memory -------------------------------------------------------------------------


def descendants(pid: int) -> list[int]:
    """pid and every process below it (from /proc/<pid>/task/*/children), gone ones skipped."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        try:  # a process may end between two reads: it and its children are skipped
            tasks = os.listdir(f"/proc/{current}/task")
        except OSError:
            continue
        for task in tasks:
            try:
                todo.extend(int(c) for c in Path(f"/proc/{current}/task/{task}/children").read_text().split())
            except (OSError, ValueError):
                continue
    return found


def _kib(path: Path, field: str) -> int:
    try:
        for line in path.read_text().splitlines():
            if line.startswith(field):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def tree_memory(pid: int) -> tuple[int, int]:
    """(RSS, PSS) in KiB summed over pid and its descendants. Summed RSS counts the pages that forked Ansible
    workers share once per process; PSS divides them among their sharers."""
    pids = descendants(pid)
    rss = sum(_kib(Path(f"/proc/{p}/status"), "VmRSS:") for p in pids)
    pss = sum(_kib(Path(f"/proc/{p}/smaps_rollup"), "Pss:") for p in pids)
    return rss, pss


class PeakSampler(threading.Thread):
    """Samples tree_memory(pid) until stopped; keeps the peaks."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid, self.peak_rss, self.peak_pss, self.samples = pid, 0, 0, 0
        self.load_sum = 0.0  # the machine's 1-minute load average, summed over the samples
        self.done = threading.Event()  # not `_stop`: threading.Thread has a method of that name

    def run(self) -> None:
        while not self.done.is_set():
            try:
                rss, pss = tree_memory(self.pid)
            except OSError:  # a race with /proc that tree_memory did not foresee: skip this sample, not the rest
                rss = pss = 0
            self.peak_rss, self.peak_pss = max(self.peak_rss, rss), max(self.peak_pss, pss)
            self.load_sum += os.getloadavg()[0]
            self.samples += 1
            self.done.wait(SAMPLE_SECONDS)

    def stop(self) -> None:
        self.done.set()
        self.join()


# -- one host count ------------------------------------------------------------------------------------


def make_fleet_inventory(folder: Path, level: str) -> Path:
    """bench/common.py's inventory, with every client's names in the sandbox's zone."""
    inv = make_inventory(folder, level)
    # Each host has its own domain under the sandbox zone, for which the sandbox's BIND is authoritative.
    set_vars(inv / "group_vars/all/dns.yml", "every client's names go into the sandbox's zone.", dns_zone=ZONE)
    return inv


def make_fleet(hosts_file: Path) -> list[str]:
    """Gives every host of hosts.yml its own client domain (aidevops_host); returns the domains."""
    data = yaml.safe_load(hosts_file.read_text())
    domains = []
    for name, host_vars in data["all"]["hosts"].items():
        domain = f"client-{name.rsplit('-', 1)[1]}.{ZONE}"
        host_vars["aidevops_host"] = {"domain": domain, "admin_email": f"ops@{domain}"}
        domains.append(domain)
    atomic.write_text(hosts_file, HOSTS_FILE_HEADER + yaml.safe_dump(data, sort_keys=False), mode=0o600)
    return domains


def timed_run(inv: Path) -> dict:
    """One `aidevops run`, its wall time and the peak memory of its process tree."""
    log = inv.parent / "run.out"
    with log.open("w") as out:
        t0 = time.monotonic()
        proc = subprocess.Popen([sys.executable, "-m", "orchestrator.cli", "run", "--inventory", str(inv), "--plain"],
                                cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
        sampler = PeakSampler(proc.pid)
        sampler.start()
        try:
            code = proc.wait()
        except BaseException:
            # Ctrl-C reaches the run too (same process group): let it cancel, then make sure it is gone.
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            raise
        finally:
            sampler.stop()
        wall = time.monotonic() - t0
    output = log.read_text()
    found = re.search(r"^Run (\S+): ", output, re.MULTILINE)
    return {"exit_code": code, "wall_s": wall, "peak_rss_mb": sampler.peak_rss / 1024,
            "peak_pss_mb": sampler.peak_pss / 1024, "samples": sampler.samples,
            "mean_load": sampler.load_sum / max(sampler.samples, 1),
            "run_id": found.group(1) if found else None, "output": output}


def phase_durations(inv: Path, run_id: str | None) -> list[dict]:
    r = aidevops("runs", "show", *([run_id] if run_id else []), "--json", "--inventory", str(inv))
    if r.returncode != 0:
        return []
    return [{"phase": p["phase"], "status": p["status"], "duration": p["duration"]}
            for p in json.loads(r.stdout)["phases"]]


def bench(n: int, prefix: str, level: str, folder: Path) -> dict:
    inv = make_fleet_inventory(folder, level)
    box = Sandbox(inv, prefix=prefix)
    box.down(log=lambda m: None)  # whatever the previous count (or an interrupted bench) left
    print(f"[{n} host(s)] sandbox up ...", flush=True)
    t0 = time.monotonic()
    box.up(hosts=n, services=True, preload_images=True, log=lambda m: print(f"  {m}", flush=True))
    up_s = time.monotonic() - t0
    domains = make_fleet(box.hosts_file)
    print(f"[{n} host(s)] sandbox up in {up_s:.0f}s; aidevops run for {', '.join(domains)} ...", flush=True)
    run = timed_run(inv)
    ok = run["exit_code"] in (0, 3)
    print(f"[{n} host(s)] exit {run['exit_code']} in {run['wall_s']:.0f}s", flush=True)
    return {"hosts": n, "inventory": str(inv), "sandbox_up_s": round(up_s, 1), "exit_code": run["exit_code"],
            "ok": ok, "wall_s": round(run["wall_s"], 1), "peak_rss_mb": round(run["peak_rss_mb"], 1),
            "peak_pss_mb": round(run["peak_pss_mb"], 1), "memory_samples": run["samples"],
            "mean_load": round(run["mean_load"], 2),
            "run_id": run["run_id"], "phases": phase_durations(inv, run["run_id"]),
            **({} if ok else {"output_tail": run["output"][-4000:]})}


# -- the figures -----------------------------------------------------------------------------------------


def goal_line(results: list[dict]) -> str:
    done = {r["hosts"]: r for r in results if r["ok"]}
    if 1 in done and GOAL_HOSTS in done:
        ratio = done[GOAL_HOSTS]["wall_s"] / done[1]["wall_s"]
        verdict = "met" if ratio <= GOAL_RATIO else "not met"
        return f"{GOAL_HOSTS} hosts within {GOAL_RATIO:g}x one host: {verdict} (ratio {ratio:.2f})"
    counts = sorted(done)
    measured = (f"; {counts[-1]} hosts took {done[counts[-1]]['wall_s'] / done[counts[0]]['wall_s']:.2f}x the time "
                f"of {counts[0]}" if len(counts) > 1 else "")
    return f"{GOAL_HOSTS} hosts within {GOAL_RATIO:g}x one host: not measured (ran {','.join(map(str, counts)) or 'none'}" \
           f"{measured})"


def print_figures(results: list[dict], level: str) -> None:
    print()
    for r in results:
        if not r["ok"]:
            print(f"--- {r['hosts']} host(s): FAILED, exit {r['exit_code']}; last lines of `aidevops run`:")
            print("\n".join(r["output_tail"].splitlines()[-40:]))
    print(f"\nfleet bench: base_server_security_level {level}, images preloaded (kept volume), "
          f"one client domain per host under {ZONE}")
    base = next((r["wall_s"] for r in results if r["ok"]), None)
    print(f"{'hosts':>5} {'wall s':>8} {'ratio':>6} {'peak RSS MB':>12} {'MB/host':>8} {'peak PSS MB':>12} "
          f"{'PSS/host':>9} {'sandbox up s':>13} {'load':>5}  result")
    for r in results:
        ratio = f"{r['wall_s'] / base:.2f}" if r["ok"] and base else "-"
        result = "ok" if r["exit_code"] == 0 else "degraded (3)" if r["ok"] else f"FAILED ({r['exit_code']})"
        print(f"{r['hosts']:>5} {r['wall_s']:>8.1f} {ratio:>6} {r['peak_rss_mb']:>12.0f} "
              f"{r['peak_rss_mb'] / r['hosts']:>8.0f} {r['peak_pss_mb']:>12.0f} {r['peak_pss_mb'] / r['hosts']:>9.0f} "
              f"{r['sandbox_up_s']:>13.0f} {r['mean_load']:>5.1f}  {result}")
    print("controller memory: the `aidevops run` process and all its descendants, sampled every "
          f"{SAMPLE_SECONDS:g} s; RSS counts the pages forked Ansible workers share once per process, PSS shares them "
          f"out; load: the machine's mean 1-minute load average during the run ({os.cpu_count()} cores)")
    phases = list(dict.fromkeys(p["phase"] for r in results for p in r["phases"]))
    if phases:
        print(f"\n{'phase (s)':<16}" + "".join(f"{str(r['hosts']) + ' host(s)':>20}" for r in results))
        for name in phases:
            cells = []
            for r in results:
                p = next((p for p in r["phases"] if p["phase"] == name), None)
                dur = p["duration"] if p else None
                status = "" if p is None or p["status"] == "succeeded" else f" ({p['status']})"
                cells.append("-" if dur is None else f"{dur:.1f}{status}")
            print(f"{name:<16}" + "".join(f"{c:>20}" for c in cells))
    print("\n" + goal_line(results))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hosts", default="1,8", help="host counts, comma-separated (1-9 each; default 1,8)")
    ap.add_argument("--prefix", default="aidevops-bench-fleet", help="Docker name prefix of the sandbox")
    ap.add_argument("--level", default="baseline", choices=["baseline", "hardened"],
                    help="base_server_security_level (default baseline)")
    ap.add_argument("--keep", action="store_true", help="leave the last sandbox (and its inventory) up")
    ap.add_argument("--json", type=Path, help="also write the figures as JSON to this file")
    args = ap.parse_args()
    try:
        counts = sorted({int(c) for c in args.hosts.split(",") if c.strip()})
    except ValueError:
        ap.error(f"--hosts {args.hosts!r}: expected counts such as 1,8")
    if not counts or not all(1 <= c <= 9 for c in counts):
        ap.error(f"--hosts {args.hosts!r}: each count must be 1 to 9")

    work = Path(tempfile.mkdtemp(prefix="aidevops-bench-fleet-"))
    results: list[dict] = []
    last_inventory = None
    interrupted = False
    try:
        for n in counts:
            folder = work / f"hosts-{n}"
            folder.mkdir()
            last_inventory = folder / "inventory"
            results.append(bench(n, args.prefix, args.level, folder))
    except KeyboardInterrupt:  # the figures of the counts already measured are still worth printing
        interrupted = True
        print("\ninterrupted: the count under way is left out"
              + ("" if args.keep else "; tearing the sandbox down"), flush=True)
    finally:
        if args.keep and last_inventory is not None:
            print(f"\nkept: the sandbox '{args.prefix}' and its inventory {last_inventory} "
                  f"(remove: aidevops sandbox down --inventory {last_inventory} --prefix {args.prefix})")
        else:
            if last_inventory is not None and last_inventory.exists():
                Sandbox(last_inventory, prefix=args.prefix).down(log=lambda m: None)
            shutil.rmtree(work, ignore_errors=True)
    if args.json:
        write_json(args.json, {"level": args.level, "prefix": args.prefix, "results": results,
                                         "goal": goal_line(results)})
    print_figures(results, args.level)
    if interrupted:
        sys.exit(130)


if __name__ == "__main__":
    main()
