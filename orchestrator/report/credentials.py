"""The credentials the roles generated, read from the inventory's vault files, shown masked and handed over
encrypted (ansible-vault, with the inventory's own vault password) in the report folder.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from orchestrator import atomic, vault
from orchestrator.errors import BadInput
from orchestrator.inventory_yaml import StrictLoader

MASK = "••••••••"
# The files the service roles write their generated secrets to (vault_n8n.yml, vault_supabase.yml, ...).
VAULT_GLOB = "group_vars/all/vault_*.yml"


# Vault values that name an account rather than unlock it: shown, since one signs in with them.
_NOT_SECRET = re.compile(r"(^|_)(user|username|email)$")


@dataclass
class Secret:
    key: str
    value: str
    source: str  # the vault file, relative to the inventory

    @property
    def secret(self) -> bool:
        return not _NOT_SECRET.search(self.key)

    def shown(self, reveal: bool) -> str:
        return self.value if reveal or not self.secret else MASK


@dataclass
class Credentials:
    secrets: list[Secret] = field(default_factory=list)
    password_file: Path | None = None

    def get(self, key: str) -> Secret | None:
        return next((s for s in self.secrets if s.key == key), None)

    def values(self) -> list[str]:
        """The values to mask wherever else they show up."""
        return [s.value for s in self.secrets if s.secret]


def _flatten(data: Any, prefix: str = "") -> list[tuple[str, str]]:
    if isinstance(data, dict):
        return [kv for k, v in data.items() for kv in _flatten(v, f"{prefix}{k}" if not prefix else f"{prefix}.{k}")]
    if isinstance(data, list):
        return [kv for i, v in enumerate(data) for kv in _flatten(v, f"{prefix}[{i}]")]
    return [] if data is None else [(prefix, str(data))]


def read(inventory: Path) -> Credentials:
    """Every value of the inventory's generated vault files (decrypted with the inventory's vault password)."""
    from ansible.errors import AnsibleError

    pw = vault.password_file(inventory)
    creds = Credentials(password_file=pw)
    lib = None
    for path in sorted(inventory.glob(VAULT_GLOB)):
        text = path.read_text(errors="replace")
        if text.startswith("$ANSIBLE_VAULT"):
            if pw is None:
                raise BadInput("the file is vault-encrypted but no vault password is configured", where=str(path),
                               hint=f"set ANSIBLE_VAULT_PASSWORD_FILE or put the password in {inventory / vault.PASSWORD_FILE}")
            lib = lib or vault.vault_lib(pw)
            try:
                text = lib.decrypt(text).decode()
            except AnsibleError as exc:
                raise BadInput(f"cannot decrypt: {exc}", where=str(path), hint="check the vault password") from None
        try:
            data = yaml.load(text, Loader=StrictLoader) or {}  # noqa: S506
        except yaml.YAMLError:
            raise BadInput("invalid YAML in a vault file", where=str(path), hint="fix or regenerate it") from None
        rel = str(path.relative_to(inventory))
        creds.secrets.extend(Secret(k, v, rel) for k, v in _flatten(data))
    return creds


def write_encrypted(creds: Credentials, logins: list[dict[str, Any]], dest: Path) -> Path | None:
    """The credentials as an ansible-vault file (same password as the inventory); None when there is nothing
    to hand over or no password to encrypt with (then no clear-text copy is written either)."""
    if not creds.secrets or creds.password_file is None:
        return None
    by_file: dict[str, dict[str, str]] = {}
    for s in creds.secrets:
        by_file.setdefault(s.source, {})[s.key] = s.value
    body = {"logins": logins, "vault_files": by_file}
    header = ("# aidevops: the credentials generated for this deployment. Read with\n"
              "#   ansible-vault view --vault-password-file <inventory>/.vault-pass credentials.vault.yml\n")
    plain = header + yaml.safe_dump(body, sort_keys=False, allow_unicode=True)
    encrypted = vault.vault_lib(creds.password_file).encrypt(plain.encode())
    dest.parent.mkdir(parents=True, exist_ok=True)
    return atomic.write_bytes(dest, encrypted, mode=0o600)
