"""The deployment request: what the user asks for, read from the inventory and checked before anything runs.

model.py is what the rest of the tool reads; inventory.py reads hosts.yml; parse.py checks the request file
(`group_vars/all/aidevops.yml`) section by section, with the `ai:` and `validation:` sections beside it.
"""

from orchestrator.request.inventory import HOSTS_FILES, inventory_dir, load_hosts, load_yaml
from orchestrator.request.model import DeploymentRequest, Host
from orchestrator.request.parse import DNS_PROVIDERS, STRATEGIES, load_request, parse_request, valid_domain
from orchestrator.request.validation import ValidationSettings

__all__ = ["DNS_PROVIDERS", "HOSTS_FILES", "STRATEGIES", "DeploymentRequest", "Host", "ValidationSettings",
           "inventory_dir", "load_hosts", "load_request", "load_yaml", "parse_request", "valid_domain"]
