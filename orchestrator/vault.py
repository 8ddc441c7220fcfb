"""The inventory's vault: where its password is, and which secret values every log must mask.

Secrets live in ansible-vault encrypted files in the inventory (`group_vars/*/vault*.yml`), as Ansible
users expect. The password comes from ANSIBLE_VAULT_PASSWORD_FILE or `<inventory>/.vault-pass`
(mode 0600, never committed).
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from orchestrator import atomic
from orchestrator.errors import BadInput
from orchestrator.inventory_yaml import StrictLoader

PASSWORD_FILE = ".vault-pass"
_SECRET_KEY = re.compile(r"(password|passwd|secret|token|api_?key|encryption_key|private_key)", re.IGNORECASE)


def password_file(inventory: Path) -> Path | None:
    env = os.environ.get("ANSIBLE_VAULT_PASSWORD_FILE")
    if env:
        return Path(env)
    local = inventory / PASSWORD_FILE
    return local if local.exists() else None


def ensure_password_file(inventory: Path) -> Path:
    """Create `<inventory>/.vault-pass` with a random password if no vault password is configured."""
    existing = password_file(inventory)
    if existing:
        return existing
    # Whole or absent: an empty password file left by a crash would lock the vault for good.
    return atomic.write_text(inventory / PASSWORD_FILE, secrets.token_urlsafe(32) + "\n", mode=0o600)


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def _secret_strings(value: Any, key: str = "") -> Iterator[str]:
    """Strings under keys that name a secret, in a plain (unencrypted) vars file."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _secret_strings(v, str(k))
    elif isinstance(value, list):
        for v in value:
            yield from _secret_strings(v, key)
    elif isinstance(value, str) and _SECRET_KEY.search(key) and "{{" not in value:
        yield value


def secret_values(inventory: Path) -> list[str]:
    """Every secret value the inventory holds: all of its vault files, and secret-named plain vars."""
    files = [p for d in ("group_vars", "host_vars") for p in sorted((inventory / d).rglob("*.y*ml"))]
    files += [p for p in (inventory / "hosts.yml", inventory / "hosts.yaml") if p.exists()]
    pw = password_file(inventory)
    vault = None
    values: list[str] = []
    for path in files:
        text = path.read_text(errors="replace")
        if text.startswith("$ANSIBLE_VAULT"):
            if pw is None:
                raise BadInput("the file is vault-encrypted but no vault password is configured", where=str(path),
                               hint=f"set ANSIBLE_VAULT_PASSWORD_FILE or put the password in {inventory / PASSWORD_FILE}")
            if vault is None:
                vault = vault_lib(pw)
            try:
                text = vault.decrypt(text).decode()
            except Exception as exc:
                raise BadInput(f"cannot decrypt: {exc}", where=str(path), hint="check the vault password") from None
            values.extend(_strings(yaml.load(text, Loader=StrictLoader)))  # noqa: S506
        else:
            try:
                values.extend(_secret_strings(yaml.load(text, Loader=StrictLoader)))  # noqa: S506
            except yaml.YAMLError:
                continue  # the request loader reports YAML errors where they matter
    return values


def read_vars(path: Path, inventory: Path) -> dict[str, Any]:
    """The variables of one vars file of the inventory, decrypted when it is vault-encrypted; {} when the file
    is missing, or encrypted with no vault password configured."""
    if not path.exists():
        return {}
    text = path.read_text()
    if text.startswith("$ANSIBLE_VAULT"):
        password = password_file(inventory)
        if password is None:
            return {}
        text = vault_lib(password).decrypt(text.encode()).decode()
    data = yaml.load(text, Loader=StrictLoader)  # noqa: S506
    return data if isinstance(data, dict) else {}


def vault_lib(password_path: Path):
    """Ansible's own vault, unlocked with the password in that file."""
    from ansible.constants import DEFAULT_VAULT_ID_MATCH
    from ansible.parsing.vault import VaultLib, VaultSecret

    secret = VaultSecret(password_path.read_bytes().strip())
    return VaultLib([(DEFAULT_VAULT_ID_MATCH, secret)])
