"""What `aidevops run` costs over bare ansible-playbook running the same playbooks, inventory, variables and settings.

One sandbox host of its own, the stack deployed once when the stack play is measured. Then, for each play, PAIRS
pairs of runs, alternated (the first of a pair swaps each time, so that a drift of the machine's load favours
neither side):
  - tiny: a play of four small tasks (a role `bench_tiny` added in a temporary project home, as a new agent would
    be), `aidevops run --only bench_tiny` against that phase's recorded command line run by ansible-playbook;
  - stack: the sandbox stack's host-side phases, `aidevops run --only <them> --strategy sequential` against their
    recorded command lines one after another (an idempotent re-run on both sides).
The aidevops side is the whole command as a user runs it: a fresh interpreter, the plan, the session and store,
ansible-runner and its events. The bare side is bench/common.py's replay: ansible-runner's event callback left
out, the project's settings kept. Goal (issue 16): at most 1.10x on the tiny play, 1.03x on the stack. Prints
the figures last; asserts nothing. Needs Docker and the sandbox images; about 15 minutes with 5 pairs.

    .venv/bin/python bench/overhead.py [--pairs 5] [--plays tiny,stack] [--keep] [--json PATH]
    .venv/bin/python bench/overhead.py --pairs 1 --plays tiny --inventory INV --prefix P   # small, on a deployed
                                                                   # sandbox (tests/e2e/test_benches.py)
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from common import (
    ROOT,
    bare_run,
    check_run,
    close_stack,
    deploy,
    fresh_sandbox,
    last_run,
    open_stack,
    phase_commands,
    stack_options,
    summary,
    timed_aidevops,
    write_json,
)

GOALS = {"tiny": 1.10, "stack": 1.03}
TINY_DECLARATION = "---\nagent:\n  title: Bench tiny play\n"
TINY_TASKS = """\
---
- name: Read the host's name.
  ansible.builtin.slurp:
    src: /etc/hostname
- name: Look at the configuration folder.
  ansible.builtin.stat:
    path: /etc
- name: Run a command that changes nothing.
  ansible.builtin.command: "true"
  changed_when: false
- name: Keep a marker file.
  ansible.builtin.copy:
    dest: /tmp/aidevops-bench-tiny
    content: "tiny\\n"
    mode: "0644"
"""
TINY_PLAYBOOK = "---\n- name: Bench tiny play.\n  hosts: all\n  gather_facts: false\n  roles: [bench_tiny]\n"


def tiny_home(folder: Path) -> Path:
    """A project home (AIDEVOPS_HOME) with the project's content and one more agent, bench_tiny."""
    home = folder / "home"
    for name in ("roles", "playbooks", "templates"):
        shutil.copytree(ROOT / name, home / name)
    shutil.copy(ROOT / "ansible.cfg", home / "ansible.cfg")
    role = home / "roles/bench_tiny"
    (role / "meta").mkdir(parents=True)
    (role / "tasks").mkdir()
    (role / "meta/aidevops.yml").write_text(TINY_DECLARATION)
    (role / "tasks/main.yml").write_text(TINY_TASKS)
    (home / "playbooks/bench_tiny.yml").write_text(TINY_PLAYBOOK)
    return home


def pairs(name: str, n: int, inv: Path, folder: Path, run_args: list[str], env: dict | None = None) -> dict:
    """n alternated pairs of `aidevops run RUN_ARGS` and the bare replay of that run's phases."""
    logs = folder / name
    logs.mkdir()
    code, _ = timed_aidevops("run", "--inventory", str(inv), "--plain", *run_args, log=logs / "warm.log", env=env)
    check_run(code, logs / "warm.log", f"the first `aidevops run {' '.join(run_args)}`")
    commands = phase_commands(last_run(inv))
    print(f"[{name}] phases: {', '.join(c.phase for c in commands)}; {n} pair(s)", flush=True)
    ours, bare = [], []
    for i in range(n):
        for side in (("ours", "bare") if i % 2 == 0 else ("bare", "ours")):
            if side == "ours":
                log = logs / f"aidevops-{i}.log"
                code, seconds = timed_aidevops("run", "--inventory", str(inv), "--plain", *run_args, log=log, env=env)
                check_run(code, log, f"`aidevops run {' '.join(run_args)}`")
                ours.append(seconds)
            else:
                bare.append(bare_run(commands, log_dir=logs))
        print(f"[{name}] pair {i + 1}: aidevops {ours[-1]:.1f}s, ansible-playbook {bare[-1]:.1f}s", flush=True)
    return {"play": name, "phases": [c.phase for c in commands], "aidevops": ours, "bare": bare,
            "aidevops_summary": summary(ours), "bare_summary": summary(bare),
            "ratio": summary(ours)["median"] / summary(bare)["median"]}


def print_figures(results: list[dict]) -> None:
    print("\noverhead: `aidevops run` against bare ansible-playbook on the same playbooks, inventory, variables and "
          "settings (seconds; alternated pairs)")
    print(f"{'play':<6} {'pairs':>5} {'aidevops median':>16} {'min':>7} {'max':>7} {'bare median':>12} {'min':>7} "
          f"{'max':>7} {'ratio':>6} {'goal':>6}  result")
    for r in results:
        a, b = r["aidevops_summary"], r["bare_summary"]
        goal = GOALS[r["play"]]
        print(f"{r['play']:<6} {a['n']:>5} {a['median']:>16.2f} {a['min']:>7.2f} {a['max']:>7.2f} "
              f"{b['median']:>12.2f} {b['min']:>7.2f} {b['max']:>7.2f} {r['ratio']:>6.3f} {goal:>6.2f}  "
              f"{'met' if r['ratio'] <= goal else 'not met'}")
    for r in results:
        print(f"{r['play']}: phases {', '.join(r['phases'])}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairs", type=int, default=5, help="pairs per play (default 5)")
    ap.add_argument("--plays", default="tiny,stack", help="tiny, stack or both (default)")
    stack_options(ap)
    ap.add_argument("--keep", action="store_true", help="leave the sandbox and its inventory up")
    ap.add_argument("--json", type=Path, help="also write the figures as JSON to this file")
    args = ap.parse_args()
    plays = [p.strip() for p in args.plays.split(",") if p.strip()]
    if not plays or any(p not in GOALS for p in plays):
        ap.error(f"--plays {args.plays!r}: expected tiny, stack or tiny,stack")
    if args.pairs < 1:
        ap.error("--pairs must be at least 1")

    stack = open_stack(args, "overhead")
    inv, work = stack.inventory, stack.work
    results = []
    try:
        if not stack.given:
            print("sandbox up (one host, images preloaded) ...", flush=True)
            fresh_sandbox(stack)
        if "stack" in plays:
            if not stack.given:  # the tiny play needs only the host
                print("deploying the sandbox stack once ...", flush=True)
                print(f"deployed in {deploy(inv, work / 'deploy.log', what='the first deployment'):.0f}s",
                      flush=True)
            stack_phases = [c.phase for c in phase_commands(last_run(inv))]  # before the tiny play's runs
        for play in plays:
            if play == "tiny":
                home = tiny_home(work)
                results.append(pairs("tiny", args.pairs, inv, work, ["--only", "bench_tiny"],
                                     env={"AIDEVOPS_HOME": str(home)}))
            else:
                results.append(pairs("stack", args.pairs, inv, work,
                                     ["--only", ",".join(stack_phases), "--strategy", "sequential"]))
    finally:
        close_stack(stack, keep=args.keep)
    if args.json:
        write_json(args.json, {"results": results})
    print_figures(results)


if __name__ == "__main__":
    main()
