"""The `aidevops` command line: one file per command group, the terminal rendering beside them."""

from __future__ import annotations

import signal
import sys

import click

from orchestrator import errors
from orchestrator.cli import backup, check, deploy, metrics, notify, restore, runs, sandbox, upgrade, validate
from orchestrator.errors import AidevopsError


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="aidevops")
def cli() -> None:
    """Provision hardened n8n + Supabase servers with Ansible, planned and recorded by aidevops."""


cli.add_command(deploy.plan)
cli.add_command(deploy.run)
cli.add_command(validate.validate)
cli.add_command(backup.backup)
cli.add_command(check.check)
cli.add_command(restore.restore)
cli.add_command(upgrade.upgrade)
cli.add_command(runs.runs)
cli.add_command(runs.decisions)
cli.add_command(runs.report)
cli.add_command(metrics.metrics)
cli.add_command(sandbox.sandbox)
cli.add_command(notify.notify)


def _sigterm(signum, frame):
    raise KeyboardInterrupt


def main() -> None:
    # Before a run starts and after it ends, SIGTERM and SIGHUP cancel the command as Ctrl-C does; while it
    # runs, cli/hold.py's cancel_on_signals stops the run itself cleanly.
    for stop in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(stop, _sigterm)
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("cancelled", err=True)
        sys.exit(errors.EXIT_CANCELLED)
    except click.ClickException as exc:
        exc.show()
        sys.exit(errors.EXIT_BAD_INPUT)
    except AidevopsError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("cancelled", err=True)
        sys.exit(errors.EXIT_CANCELLED)


if __name__ == "__main__":
    main()
