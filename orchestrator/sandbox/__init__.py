"""Local test hosts: systemd containers reached over real SSH on 127.0.0.1, for the demo, tests and Molecule."""

from orchestrator.sandbox.base_image import SUPPORTED_OS, image_name
from orchestrator.sandbox.hosts import Sandbox, SandboxHost

__all__ = ["SUPPORTED_OS", "Sandbox", "SandboxHost", "image_name"]
