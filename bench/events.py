"""The event pipeline fed recorded ansible-runner events: events per second, and whether its memory stays flat.

The events are a real sandbox run's (every phase's `job_events/`, kept in bench/data/ by `--record RUN_DIR`),
replayed over and over with fresh counters up to each size (10k, 100k, 1M by default). Each size runs in a
process of its own, through the run's own pipeline: a RunSession (the SQLite store, the JSON-lines log, the
recorder), the redactor knowing a secret, the failure collector, plain progress into /dev/null, and the
EventPump that ansible-runner's handler feeds. The events go in batches of FLUSH_EVERY, each made first and
then put on the pump's queue and digested under the clock (a real producer is slower than the pump, and a
queue left to grow would measure the feeder): the figure is the handler's and the pipeline's time only.
Memory: the peak RSS of the process over its RSS just before the first event.
The goal (issue 16): at least 50k events/s, and memory flat from 10k to 1M. Prints the figures last; asserts
nothing.

    .venv/bin/python bench/events.py [--sizes 10000,100000,1000000] [--json PATH]
    .venv/bin/python bench/events.py --sizes 10000        # small, as `make test` runs it
    .venv/bin/python bench/events.py --record RUN_DIR     # keep a run's events as the recorded set
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from common import ROOT, write_json

RECORDED = ROOT / "bench/data/sandbox-run-events.jsonl.gz"
FLUSH_EVERY = 1000
GOAL_RATE = 50_000
SECRET = "bench-s3cret-value"
# The sandbox's request: its phases are the recorded run's, so that progress knows each event's phase.
REQUEST = "aidevops:\n  domain: sandbox.test\n  admin_email: admin@sandbox.test\n  services: [n8n]\n" \
          "  dns: {provider: rfc2136}\n"  # known to the redactor, as a run knows its vault's values
# What a replayed event keeps of a recorded one: what parse() and the recorder read, and what ansible-runner's
# handler hands over besides (uuid, stdout), so that each event costs what a real one does.
KEPT = ("event", "uuid", "counter", "stdout", "start_line", "end_line", "runner_ident", "created", "event_data")


# -- the recorded set ----------------------------------------------------------------------------------------


def record(run_dir: Path, out: Path = RECORDED) -> int:
    """Every phase's job events under run_dir (a run's folder), in order, as one gzipped JSON-lines file:
    a line is {"phase": ..., "raw": <the event>}. How many were kept (files that are not JSON are left out)."""
    files = sorted(run_dir.glob("*/artifacts/*/job_events/*.json"),
                   key=lambda f: (f.parts[-4], int(f.name.split("-", 1)[0])))
    if not files:
        sys.exit(f"bench/events.py: no job_events under {run_dir}; give a run's folder "
                 "(`aidevops runs show --json` prints it as run_dir)")
    out.parent.mkdir(parents=True, exist_ok=True)
    kept = 0
    with gzip.open(out, "wt") as f:
        for path in files:
            try:
                raw = json.loads(path.read_text())
            except (OSError, json.JSONDecodeError):  # a file torn by a crash (or, before 2026-12-01, by masking)
                continue
            f.write(json.dumps({"phase": path.parts[-4], "raw": {k: raw[k] for k in KEPT if k in raw}}) + "\n")
            kept += 1
    if kept < len(files):
        print(f"left out {len(files) - kept} of {len(files)} event files that are not JSON")
    return kept


def load_recorded() -> list[tuple[str, dict]]:
    if not RECORDED.exists():
        sys.exit(f"bench/events.py: {RECORDED.relative_to(ROOT)} is missing; record a run with --record RUN_DIR")
    with gzip.open(RECORDED, "rt") as f:
        return [(line["phase"], line["raw"]) for line in map(json.loads, f)]


def replayed(recorded: list[tuple[str, dict]], n: int) -> Iterator[tuple[str, dict]]:
    """n events cycling through the recorded ones, each a fresh dict with its own counter (the feeder holds no
    more than one at a time)."""
    for i in range(n):
        phase, raw = recorded[i % len(recorded)]
        yield phase, {**raw, "counter": i + 1}


# -- one size, in a process of its own -------------------------------------------------------------------------


def rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def measure(n: int) -> dict:
    from orchestrator.cli.progress import Progress
    from orchestrator.plan import build_plan
    from orchestrator.request import load_request
    from orchestrator.run.bus import Topic
    from orchestrator.run.pump import EventPump
    from orchestrator.run.recording import FailureCollector
    from orchestrator.run.session import RunSession

    recorded = load_recorded()
    hosts = sorted({raw["event_data"]["host"] for _, raw in recorded if (raw.get("event_data") or {}).get("host")})
    with tempfile.TemporaryDirectory(prefix="aidevops-bench-events-") as tmp:
        inventory = Path(tmp) / "inventory"
        inventory.mkdir()
        (inventory / "hosts.yml").write_text(
            "all:\n  hosts:\n" + "".join(f"    {h}:\n      ansible_host: 127.0.0.1\n" for h in hosts or ["h1"]))
        (inventory / "group_vars/all").mkdir(parents=True)
        (inventory / "group_vars/all/aidevops.yml").write_text(REQUEST)
        plan = build_plan(load_request(inventory))
        session = RunSession(inventory, "run")
        session.redactor.add(SECRET)
        session.start({"bench": "events"})
        failures = FailureCollector()
        session.bus.subscribe(failures, topics=[Topic.TASK])
        with open(os.devnull, "w") as null:
            progress = Progress(plan, stream=null, live=False)
            session.bus.subscribe(progress.on_message)
            before = rss_kib()
            seconds = 0.0
            batch: list[tuple[str, dict]] = []
            with EventPump(session.bus, session.redactor) as pump:
                for i, item in enumerate(replayed(recorded, n), 1):
                    batch.append(item)
                    if i % FLUSH_EVERY and i != n:
                        continue
                    # Timed: ansible-runner's handler putting the events, and the pump digesting them. Not
                    # timed: the bench making the copies it replays.
                    t0 = time.perf_counter()
                    for event in batch:
                        pump.queue.put(event)
                    pump.flush()
                    seconds += time.perf_counter() - t0
                    batch.clear()
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
        log_mb = (session.run_dir / "run.log.jsonl").stat().st_size / 1e6
        session.finish("succeeded", 0)
        db_mb = session.state.db.stat().st_size / 1e6
    return {"events": n, "seconds": round(seconds, 3), "events_per_s": round(n / seconds),
            "rss_before_mb": round(before / 1024, 1), "peak_rss_mb": round(peak / 1024, 1),
            "growth_mb": round((peak - before) / 1024, 1), "log_mb": round(log_mb, 1), "db_mb": round(db_mb, 1)}


def measure_in_child(n: int) -> dict:
    """measure(n) in a fresh interpreter, so that one size's peak RSS is not another's."""
    r = subprocess.run([sys.executable, __file__, "--child", str(n)], capture_output=True, text=True, check=False)
    if r.returncode != 0:
        sys.exit(f"bench/events.py: the {n:,}-event run failed:\n{r.stderr[-3000:]}")
    return json.loads(r.stdout.splitlines()[-1])


# -- the figures -----------------------------------------------------------------------------------------------


def print_figures(results: list[dict], recorded: int) -> None:
    print(f"\nevent pipeline: {recorded:,} recorded runner events of a sandbox run, replayed; "
          f"store + JSON log + redaction + failures + plain progress; the feeder waits every {FLUSH_EVERY}")
    print(f"{'events':>10} {'seconds':>8} {'events/s':>10} {'RSS before MB':>14} {'peak RSS MB':>12} "
          f"{'growth MB':>10} {'log MB':>7} {'store MB':>9}")
    for r in results:
        print(f"{r['events']:>10,} {r['seconds']:>8.2f} {r['events_per_s']:>10,} {r['rss_before_mb']:>14.1f} "
              f"{r['peak_rss_mb']:>12.1f} {r['growth_mb']:>10.1f} {r['log_mb']:>7.1f} {r['db_mb']:>9.1f}")
    slowest = min(r["events_per_s"] for r in results)
    growth = [r["growth_mb"] for r in results]
    print(f"\nat least {GOAL_RATE:,} events/s: {'met' if slowest >= GOAL_RATE else 'not met'} (slowest {slowest:,}); "
          f"memory growth from {results[0]['events']:,} to {results[-1]['events']:,} events: "
          f"{growth[0]:.1f} -> {growth[-1]:.1f} MB")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="10000,100000,1000000", help="event counts, comma-separated")
    ap.add_argument("--json", type=Path, help="also write the figures as JSON to this file")
    ap.add_argument("--record", type=Path, metavar="RUN_DIR", help="keep this run's events as the recorded set")
    ap.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        sys.stdout = io.TextIOWrapper(sys.stdout.buffer, line_buffering=True)
        print(json.dumps(measure(args.child)))
        return
    if args.record:
        print(f"kept {record(args.record):,} events in {RECORDED.relative_to(ROOT)}")
        return
    try:
        sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    except ValueError:
        ap.error(f"--sizes {args.sizes!r}: expected counts such as 10000,100000")
    if not sizes or min(sizes) < 1:
        ap.error(f"--sizes {args.sizes!r}: each count must be at least 1")
    recorded = len(load_recorded())
    results = []
    for n in sizes:
        print(f"{n:,} events ...", flush=True)
        results.append(measure_in_child(n))
    if args.json:
        write_json(args.json, {"recorded": recorded, "results": results})
    print_figures(results, recorded)


if __name__ == "__main__":
    main()
