"""How fast the orchestrator digests ansible-runner events: parsing, the run store, the JSON log.

A large fleet run produces tens of thousands of events; the handler must keep up so ansible-runner
never waits on us. Prints figures; asserts nothing.

    .venv/bin/python bench/bench_events.py [N]
"""

from __future__ import annotations

import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from orchestrator.run.events import parse  # noqa: E402
from orchestrator.redact import Redactor  # noqa: E402
from orchestrator.run.log import RunLog  # noqa: E402
from orchestrator.store import RunStore  # noqa: E402


def sample(i: int) -> dict:
    kind = ("runner_on_ok", "playbook_on_task_start", "runner_on_failed")[i % 3]
    res = {"changed": i % 2 == 0, "msg": "non-zero return code", "stderr": "line\n" * 20}
    return {"event": kind, "counter": i, "created": "2026-11-25T10:00:00",
            "event_data": {"host": f"h{i % 50}", "task": f"Task {i}", "resolved_action": "ansible.builtin.apt",
                           "task_path": "/roles/x/tasks/main.yml:10", "duration": 0.5, "res": res}}


def main(n: int) -> None:
    events = [sample(i) for i in range(n)]
    t0 = time.perf_counter()
    parsed = [parse("bench", e) for e in events]
    t_parse = time.perf_counter() - t0

    with tempfile.TemporaryDirectory() as tmp:
        store = RunStore(Path(tmp) / "aidevops.db")
        store.start_run("r1", "inv", "run", {}, tmp)
        log = RunLog(Path(tmp) / "run.log.jsonl", "r1", Redactor(["s3cret-value"]))
        tracemalloc.start()
        t0 = time.perf_counter()
        for ev in parsed:
            if ev.is_failure:
                store.record_failure("r1", ev.phase, ev.host, ev.task, ev.action, ev.task_path, ev.message)
            log.log("info", ev.phase, ev.task or "", **ev.as_dict())
        t_sink = time.perf_counter() - t0
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        log.close()
        store.close()

    print(f"events:            {n}")
    print(f"parse:             {n / t_parse:,.0f} events/s ({t_parse * 1e6 / n:.1f} us each)")
    print(f"store + JSON log:  {n / t_sink:,.0f} events/s ({t_sink * 1e6 / n:.1f} us each)")
    print(f"peak memory (sinks): {peak / 1024:.0f} KiB")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20000)
