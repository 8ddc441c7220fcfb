"""What a command that records a run holds while it runs: the inventory's run lock (one run per inventory at a
time, `--wait` for it), and the signals that stop it cleanly (Ctrl-C, SIGTERM, SIGHUP)."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import click

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def wait_options(command: Callable) -> Callable:
    command = click.option("--wait-timeout", type=click.FloatRange(min=0), metavar="SECONDS",
                           help="With --wait: give up after this many seconds (exit 75).")(command)
    return click.option("--wait", is_flag=True,
                        help="If another run holds the inventory, wait for it to end instead of refusing (exit 75)."
                        )(command)


def hold_inventory(inventory: Path, wait: bool = False, wait_timeout: float | None = None) -> None:
    """Take the inventory's run lock until the current command ends (released with click's context, however the
    command ends; by the kernel if the process is killed). Call it after the inventory was checked (bad input
    creates nothing) and before the run session creates anything."""
    from orchestrator.run.lock import RunLock

    lock = RunLock(inventory).acquire(wait=wait or wait_timeout is not None, timeout=wait_timeout,
                                      note=lambda m: click.echo(m, err=True))
    click.get_current_context().with_resource(lock)


@contextlib.contextmanager
def cancel_on_signals(cancel: threading.Event) -> Iterator[None]:
    """While the run runs, Ctrl-C, SIGTERM and SIGHUP set its cancel event: the phases stop their playbooks,
    the run ends as cancelled (exit 130) and is recorded so. Outside it, main() turns them into a plain cancel."""

    def stop(signum, frame) -> None:
        if not cancel.is_set():
            click.echo(f"{signal.Signals(signum).name}: cancelling the run...", err=True)
        cancel.set()

    previous = {s: signal.signal(s, stop) for s in STOP_SIGNALS}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
