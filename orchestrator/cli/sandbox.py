"""`aidevops sandbox ...`: local test hosts."""

from __future__ import annotations

from pathlib import Path

import click

from orchestrator.cli.common import DEFAULT_INVENTORY
from orchestrator.state import StateDir


@click.group()
def sandbox() -> None:
    """Local test hosts: systemd containers reached over SSH on 127.0.0.1."""


sandbox_inventory = click.option(
    "--inventory", "-i", "inventory", default=DEFAULT_INVENTORY, show_default=True,
    help="Inventory folder the sandbox writes hosts.yml into.",
)
prefix_option = click.option("--prefix", default="aidevops-sandbox", show_default=True,
                             help="Name prefix of the containers, network and volumes.")


@sandbox.command("up")
@click.option("--hosts", default=1, show_default=True, help="Number of hosts.")
@click.option("--os", "os_name", default="debian13", show_default=True,
              type=click.Choice(["debian13", "debian12"]), help="Operating system of the hosts.")
@click.option("--no-services", is_flag=True, help="Hosts only: no ACME CA (pebble) and DNS server (BIND).")
@sandbox_inventory
@prefix_option
def sandbox_up(hosts, os_name, no_services, inventory, prefix):
    """Start (or keep) the sandbox hosts, its ACME CA and DNS server, and write their inventory.

    When the request asks for n8n, its images are built locally once (no registry here) and archived."""
    from orchestrator.cli.render import print_sandbox
    from orchestrator.sandbox.hosts import Sandbox

    box = Sandbox(Path(inventory), prefix=prefix)
    hosts = box.up(hosts=hosts, os_name=os_name, services=not no_services, log=lambda m: click.echo(m, err=True))
    print_sandbox(hosts, box)


@sandbox.command("image")
@click.option("--os", "os_name", default="debian13", show_default=True,
              type=click.Choice(["debian13", "debian12"]), help="Operating system of the image.")
def sandbox_image(os_name):
    """Build the sandbox base image if it is missing (Molecule uses it too) and print its name."""
    from orchestrator.sandbox import docker as d
    from orchestrator.sandbox.base_image import ensure_image

    d.ensure_engine(StateDir(Path(DEFAULT_INVENTORY)).dockerd_log)
    click.echo(ensure_image(os_name, log=lambda m: click.echo(m, err=True)))


@sandbox.command("status")
@sandbox_inventory
@prefix_option
def sandbox_status(inventory, prefix):
    """Show the sandbox hosts and their published ports."""
    from orchestrator.cli.render import print_sandbox
    from orchestrator.sandbox.hosts import Sandbox

    box = Sandbox(Path(inventory), prefix=prefix)
    print_sandbox(box.status(), box)


@sandbox.command("down")
@sandbox_inventory
@prefix_option
def sandbox_down(inventory, prefix):
    """Remove the sandbox hosts, their volumes, network, key and inventory."""
    from orchestrator.sandbox.hosts import Sandbox

    Sandbox(Path(inventory), prefix=prefix).down(log=lambda m: click.echo(m, err=True))
    click.echo("sandbox removed")


