"""Sequential against hybrid on the sandbox stack: the same fresh deployment under each strategy.

Each run gets a fresh sandbox host of its own (images preloaded, so that no archive copy dominates), and the
strategies alternate (sequential first in even pairs, hybrid first in odd ones). Hybrid runs independent phases
side by side (on the sandbox: dns beside n8n after base_server). Goal (issue 16): hybrid at most 0.7x
sequential. Prints the figures last; asserts nothing. Needs Docker and the sandbox images; about 25 minutes
with 2 pairs.

    .venv/bin/python bench/strategies.py [--pairs 2] [--only PHASES] [--json PATH]
    .venv/bin/python bench/strategies.py --pairs 1 --only dns --inventory INV --prefix P   # small: no fresh host
"""

from __future__ import annotations

import argparse
from pathlib import Path

from common import (
    close_stack,
    deploy,
    fresh_sandbox,
    last_run,
    only_args,
    open_stack,
    stack_options,
    summary,
    write_json,
)

GOAL = 0.7
STRATEGIES = ("sequential", "hybrid")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairs", type=int, default=2, help="pairs of fresh runs (default 2)")
    ap.add_argument("--only", metavar="PHASE[,PHASE]", help="deploy these phases only (`aidevops run --only`)")
    stack_options(ap)
    ap.add_argument("--json", type=Path, help="also write the figures as JSON to this file")
    args = ap.parse_args()
    if args.pairs < 1:
        ap.error("--pairs must be at least 1")

    stack = open_stack(args, "strategies")
    times: dict[str, list[float]] = {s: [] for s in STRATEGIES}
    phases: dict[str, dict] = {}
    try:
        for i in range(args.pairs):
            for strategy in (STRATEGIES if i % 2 == 0 else STRATEGIES[::-1]):
                fresh_sandbox(stack)
                seconds = deploy(stack.inventory, stack.work / f"{strategy}-{i}.log", "--strategy", strategy,
                                 *only_args(args.only), what=f"the {strategy} run")
                times[strategy].append(seconds)
                phases[strategy] = {p["phase"]: p.get("duration") for p in last_run(stack.inventory)["phases"]}
                print(f"pair {i + 1}: {strategy} {seconds:.1f}s", flush=True)
    finally:
        close_stack(stack)

    s, h = summary(times["sequential"]), summary(times["hybrid"])
    ratio = h["median"] / s["median"]
    if args.json:
        write_json(args.json, {"times": times, "phases": phases, "ratio": ratio, "only": args.only,
                               "fresh_hosts": not stack.given})
    print(f"\nstrategies: {'a fresh deployment' if not stack.given else 'a re-run on a deployed sandbox'} of the "
          f"sandbox stack{f' (--only {args.only})' if args.only else ''} on one host; {args.pairs} pair(s), seconds")
    print(f"{'strategy':<11} {'median':>8} {'min':>8} {'max':>8}  last run's phases")
    for name, f in (("sequential", s), ("hybrid", h)):
        spans = ", ".join(f"{k} {v:.0f}" for k, v in phases[name].items() if v is not None)
        print(f"{name:<11} {f['median']:>8.1f} {f['min']:>8.1f} {f['max']:>8.1f}  {spans}")
    print(f"hybrid / sequential: {ratio:.3f} (goal at most {GOAL}): {'met' if ratio <= GOAL else 'not met'}")


if __name__ == "__main__":
    main()
