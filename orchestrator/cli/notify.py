"""`aidevops notify test`: one test message to every notification channel of the inventory's vault."""

from __future__ import annotations

import socket
import sys

import click

from orchestrator.cli.common import inventory_option, resolve_inventory


@click.group()
def notify() -> None:
    """Notifications: Apprise URLs in the vault (aidevops_notify_urls), events in the request's notifications:."""


@notify.command("test")
@inventory_option
def notify_test(inventory):
    """Send a test message to every channel and say which worked (exit 1 when one did not)."""
    from orchestrator import vault
    from orchestrator.errors import BadInput
    from orchestrator.notify import VAULT_KEY, load_channels, send
    from orchestrator.redact import Redactor
    from orchestrator.request import check_inventory

    request = check_inventory(resolve_inventory(inventory), validates=False)
    channels = load_channels(request.inventory)
    if not channels:
        raise BadInput(f"no notification channels: {VAULT_KEY} is not in the vault",
                       where=str(request.inventory / "group_vars/all"),
                       hint=f'ansible-vault edit {request.inventory / "group_vars/all/vault.yml"} and add '
                            f'{VAULT_KEY}: ["json://hooks.example.com/aidevops", ...]')
    redactor = Redactor(vault.secret_values(request.inventory))
    for channel in channels:
        for secret in channel.secrets():
            redactor.add(secret)
    name = request.inventory.name
    body = (f"A test from `aidevops notify test` on {socket.gethostname()}: the runs and alerts of inventory "
            f"{name} ({request.inventory}) are sent here.")
    deliveries = send(channels, f"aidevops: test notification for {name}", body)
    for d in deliveries:
        tags = f" [{', '.join(d.channel.tags)}]" if d.channel.tags else ""
        if d.ok:
            click.echo(f"ok      {d.channel.name}{tags}")
        else:
            click.echo(f"failed  {d.channel.name}{tags}: {redactor.text(d.error)}")
    worked = sum(d.ok for d in deliveries)
    click.echo(f"{worked} of {len(deliveries)} channel(s) worked")
    if worked < len(deliveries):
        sys.exit(1)
