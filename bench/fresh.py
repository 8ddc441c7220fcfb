"""A fresh sandbox host to n8n answering over TLS, with the images already built on the controller.

The sandbox host starts empty (no app images in its Docker: the n8n role brings them, as on a new VPS with no
registry); `aidevops run` deploys the sandbox stack while n8n's health URL is asked every second through the
host's published HTTPS port, with n8n's host name and the sandbox CA's root: the figure is the time from the
run's start to the first 200 over a verified TLS connection. Goal (issue 16): under 5 minutes. Prints the
figures last; asserts nothing. Needs Docker and the sandbox images; about 10 minutes.

    .venv/bin/python bench/fresh.py [--only PHASES] [--json PATH]
    .venv/bin/python bench/fresh.py --only dns --inventory INV --prefix P   # small: a deployed host, not a fresh one
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from pathlib import Path

import yaml
from common import (
    check_run,
    close_stack,
    last_run,
    only_args,
    open_stack,
    stack_options,
    timed_aidevops,
    tls_status,
    write_json,
)

from orchestrator.sandbox import app_images

GOAL_S = 300


class FirstAnswer(threading.Thread):
    """Asks until stopped; keeps when the first 200 came, in seconds from the start."""

    def __init__(self, port: int, hostname: str, cafile: Path):
        super().__init__(daemon=True)
        self.port, self.hostname, self.cafile = port, hostname, cafile
        self.started, self.at = time.monotonic(), None
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set() and self.at is None:
            if tls_status(self.port, self.hostname, self.cafile) == 200:
                self.at = time.monotonic() - self.started
            self.done.wait(1)

    def stop(self) -> None:
        self.done.set()
        self.join()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", metavar="PHASE[,PHASE]", help="deploy these phases only (`aidevops run --only`)")
    stack_options(ap)
    ap.add_argument("--json", type=Path, help="also write the figures as JSON to this file")
    args = ap.parse_args()

    app_images.ensure_all(log=lambda m: print(m, flush=True))  # built before the clock starts, as the goal says
    stack = open_stack(args, "fresh")
    inv = stack.inventory
    try:
        t0 = time.monotonic()
        if stack.given:
            host = next(h for h in stack.box.status() if h.state == "running")
        else:
            stack.box.down(log=lambda m: None)
            host = stack.box.up(hosts=1, services=True, preload_images=False, log=lambda m: None)[0]
        up_s = time.monotonic() - t0
        settings = yaml.safe_load((inv / "group_vars/all/aidevops.yml").read_text())["aidevops"]
        hostname = f"n8n.{settings['domain']}"
        poller = FirstAnswer(host.https_port, hostname, inv / settings["validation"]["ca_file"])
        print(f"sandbox {'up' if not stack.given else 'given'} in {up_s:.0f}s; aidevops run, asking "
              f"https://{hostname}/healthz every second ...", flush=True)
        poller.start()
        try:
            code, run_s = timed_aidevops("run", "--inventory", str(inv), "--plain", *only_args(args.only),
                                         log=stack.work / "run.log")
        finally:
            poller.stop()
        check_run(code, stack.work / "run.log", "the fresh run")
        phases = {p["phase"]: p.get("duration") for p in last_run(inv)["phases"]}
    finally:
        close_stack(stack)

    if args.json:
        write_json(args.json, {"sandbox_up_s": up_s, "run_s": run_s, "n8n_tls_s": poller.at, "phases": phases,
                               "only": args.only, "fresh_host": not stack.given})
    print(f"\nfresh: {'a new sandbox host (no app images on it)' if not stack.given else 'a deployed sandbox host'} "
          "to n8n answering over TLS; the images built on the controller beforehand")
    print(f"sandbox up (not counted):        {up_s:>7.1f} s")
    print(f"aidevops run, whole:             {run_s:>7.1f} s")
    print("phases: " + ", ".join(f"{k} {v:.1f}s" for k, v in phases.items() if v is not None))
    if poller.at is None:
        print(f"n8n over TLS: never answered 200 during the run (goal under {GOAL_S} s): not met")
        sys.exit(1)
    print(f"n8n over TLS after:              {poller.at:>7.1f} s (goal under {GOAL_S} s): "
          f"{'met' if poller.at < GOAL_S else 'not met'}")


if __name__ == "__main__":
    main()
