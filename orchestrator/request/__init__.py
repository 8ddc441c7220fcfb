"""The deployment request: what the user asks for, read from the inventory and checked before anything runs.

schema.py declares the request once (one pydantic model per section, with ai.py and validation.py beside it);
model.py is what the rest of the tool reads; inventory.py reads hosts.yml; parse.py loads the request file
(`group_vars/all/aidevops.yml`) and checks it against the schema and the roles' declarations;
preflight.py checks every other file a run reads (role settings, vault files) before anything runs.
"""

from orchestrator.inventory_yaml import load_yaml
from orchestrator.request.ai import AI_PROVIDERS
from orchestrator.request.fields import valid_domain
from orchestrator.request.inventory import HOSTS_FILES, inventory_dir, load_hosts
from orchestrator.request.model import DeploymentRequest, Host
from orchestrator.request.parse import load_request, parse_request
from orchestrator.request.preflight import check_inventory
from orchestrator.request.schema import DNS_PROVIDERS, STRATEGIES
from orchestrator.request.validation import ValidationSettings

__all__ = ["AI_PROVIDERS", "DNS_PROVIDERS", "HOSTS_FILES", "STRATEGIES", "DeploymentRequest", "Host",
           "ValidationSettings", "check_inventory", "inventory_dir", "load_hosts", "load_request", "load_yaml",
           "parse_request", "valid_domain"]
