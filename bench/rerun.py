"""An idempotent re-run of the sandbox stack: through aidevops, against bare ansible-playbook with Ansible's
default settings on the same roles, and against the fresh run.

One sandbox host of its own (images preloaded), deployed once by `aidevops run` (the fresh run). Then REPS
rounds, each in alternating order: `aidevops run` again (the whole run a user makes: the phases it does not
keep as unchanged, the validator and the report), and the host-side phases' recorded command lines through bare
ansible-playbook with Ansible's defaults (no ansible.cfg: no pipelining, 5 forks, implicit fact gathering;
bench/common.py). Each re-run's
changed tasks are counted: a re-run that changes something is not idempotent, and says so. Goal (issue 16): a
re-run at most 0.25x bare default ansible-playbook and at most 0.2x the fresh run. Prints the figures last;
asserts nothing. Needs Docker and the sandbox images; about 12 minutes with 3 rounds. With --inventory it uses a
deployed sandbox as it is (no fresh run: that ratio is not measured).

    .venv/bin/python bench/rerun.py [--reps 3] [--only PHASES] [--keep] [--json PATH]
    .venv/bin/python bench/rerun.py --reps 1 --only dns --inventory INV --prefix P   # small, on a deployed sandbox
"""

from __future__ import annotations

import argparse
from pathlib import Path

from common import (
    bare_run,
    changed_tasks,
    close_stack,
    deploy,
    fresh_sandbox,
    last_run,
    only_args,
    open_stack,
    phase_commands,
    stack_options,
    summary,
    write_json,
)

GOAL_BARE, GOAL_FRESH = 0.25, 0.2


def replayed(inv: Path, only: str | None) -> list:
    """The host-side phases of the inventory's latest run (those of --only), as bare ansible-playbook replays them."""
    commands = phase_commands(last_run(inv), only.split(",") if only else None)
    print(f"host-side phases replayed by the bare side: {', '.join(c.phase for c in commands)}", flush=True)
    return commands


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=3, help="rounds of re-runs (default 3)")
    ap.add_argument("--only", metavar="PHASE[,PHASE]",
                    help="re-run these phases only (`aidevops run --only`: no phase kept, no validator)")
    stack_options(ap)
    ap.add_argument("--keep", action="store_true", help="leave the sandbox and its inventory up")
    ap.add_argument("--json", type=Path, help="also write the figures as JSON to this file")
    args = ap.parse_args()
    if args.reps < 1:
        ap.error("--reps must be at least 1")
    if args.inventory and not args.only:
        # A plain re-run of a deployed stack keeps phases, which then have no command line to replay.
        ap.error("--inventory needs --only: the bare side replays the command lines of the phases a run ran")

    stack = open_stack(args, "rerun")
    inv, work = stack.inventory, stack.work
    try:
        if stack.given:  # its first run was the fresh one, made by whoever deployed it
            fresh = None
            print(f"the deployed sandbox of {inv}; its fresh run not measured here", flush=True)
        else:
            print("sandbox up (one host, images preloaded) ...", flush=True)
            fresh_sandbox(stack)
            fresh = deploy(inv, work / "fresh.log", what="the fresh run")
            print(f"fresh run {fresh:.0f}s ({changed_tasks(last_run(inv))} changed)", flush=True)
        # The bare side replays the phases the fresh run ran (all; those of --only), or on a given sandbox those
        # the first re-run ran (the first round starts with it).
        commands = None if stack.given else replayed(inv, args.only)
        ours, bare, changed = [], [], []
        for i in range(args.reps):
            for side in (("ours", "bare") if i % 2 == 0 else ("bare", "ours")):
                if side == "ours":
                    ours.append(deploy(inv, work / f"rerun-{i}.log", *only_args(args.only), what="the re-run"))
                    changed.append(changed_tasks(last_run(inv)))
                    commands = commands or replayed(inv, args.only)
                else:
                    logs = work / f"bare-{i}"
                    logs.mkdir()
                    bare.append(bare_run(commands, log_dir=logs, defaults=True))
            print(f"round {i + 1}: aidevops re-run {ours[-1]:.1f}s ({changed[-1]} changed), "
                  f"bare default ansible-playbook {bare[-1]:.1f}s", flush=True)
        phases = {p["phase"]: p.get("duration") if p.get("duration") is not None else p.get("status")
                  for p in last_run(inv)["phases"]}
    finally:
        close_stack(stack, keep=args.keep)

    a, b = summary(ours), summary(bare)
    result = {"fresh_s": fresh, "rerun": ours, "bare_default": bare, "changed": changed, "phases": phases,
              "only": args.only, "rerun_summary": a, "bare_summary": b, "ratio_bare": a["median"] / b["median"],
              "ratio_fresh": a["median"] / fresh if fresh else None}
    if args.json:
        write_json(args.json, result)
    print(f"\nre-run: the sandbox stack{f' (--only {args.only})' if args.only else ''}, one host; "
          f"{args.reps} round(s), seconds")
    print(f"{'':<34} {'median':>8} {'min':>8} {'max':>8}")
    print(f"{'aidevops run (plain re-run)':<34} {a['median']:>8.1f} {a['min']:>8.1f} {a['max']:>8.1f}")
    print(f"{'bare ansible-playbook, defaults':<34} {b['median']:>8.1f} {b['min']:>8.1f} {b['max']:>8.1f}")
    print(f"{'aidevops run (fresh)':<34} " + (f"{fresh:>8.1f}" if fresh else f"{'-':>8}  (not measured)"))
    print("last re-run's phases: " + ", ".join(f"{k} {v:.1f}s" if isinstance(v, (int, float)) else f"{k} {v}"
                                             for k, v in phases.items()))
    print(f"changed tasks per re-run: {', '.join(map(str, changed))}"
          + ("" if not any(changed) else "  (not idempotent: see the runs' changed tasks)"))
    for label, ratio, goal in (("bare default ansible-playbook", result["ratio_bare"], GOAL_BARE),
                               ("the fresh run", result["ratio_fresh"], GOAL_FRESH)):
        print(f"re-run / {label}: " + (f"{ratio:.3f} (goal at most {goal}): {'met' if ratio <= goal else 'not met'}"
                                        if ratio is not None else "not measured"))


if __name__ == "__main__":
    main()
