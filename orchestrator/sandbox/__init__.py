"""Local test hosts: systemd containers reached over real SSH on 127.0.0.1, for the demo, tests and Molecule."""

from orchestrator.sandbox.hosts import Sandbox, SandboxHost
from orchestrator.sandbox.image import SUPPORTED_OS, image_name

__all__ = ["Sandbox", "SandboxHost", "SUPPORTED_OS", "image_name"]
