"""Vault secrets are found and masked; a vault file without a password is one clear error."""

import subprocess
import sys
from pathlib import Path

import pytest

from orchestrator import vault
from orchestrator.errors import BadInput
from orchestrator.redact import MASK, Redactor
from tests.conftest import write


def encrypt(path: Path, password_file: Path) -> None:
    ansible_vault = Path(sys.executable).parent / "ansible-vault"
    subprocess.run([str(ansible_vault), "encrypt", "--vault-password-file", str(password_file), str(path)],
                   check=True, capture_output=True)


def test_vault_values_and_secret_named_vars_are_collected(inventory, monkeypatch):
    monkeypatch.delenv("ANSIBLE_VAULT_PASSWORD_FILE", raising=False)
    pw = vault.ensure_password_file(inventory)
    assert pw == inventory / ".vault-pass" and oct(pw.stat().st_mode & 0o777) == "0o600"
    secret_file = write(inventory / "group_vars/all/vault.yml", "vault_n8n_encryption_key: Zm9vYmFyYmF6cXV4\n"
                                                                "nested: {token: tok-123456789}\n")
    encrypt(secret_file, pw)
    assert secret_file.read_text().startswith("$ANSIBLE_VAULT")
    write(inventory / "group_vars/all/other.yml", "db_password: plain-pass-1\nport: 5432\nname: visible-value\n")
    values = vault.secret_values(inventory)
    assert {"Zm9vYmFyYmF6cXV4", "tok-123456789", "plain-pass-1"} <= set(values)
    assert "visible-value" not in values
    assert Redactor(values).text("key=Zm9vYmFyYmF6cXV4") == f"key={MASK}"


def test_an_encrypted_file_without_a_password_is_bad_input(inventory, tmp_path, monkeypatch):
    monkeypatch.delenv("ANSIBLE_VAULT_PASSWORD_FILE", raising=False)
    pw = write(tmp_path / "pw", "s3cret-password\n")
    encrypt(write(inventory / "group_vars/all/vault.yml", "a: b\n"), pw)
    with pytest.raises(BadInput, match="no vault password is configured"):
        vault.secret_values(inventory)
    monkeypatch.setenv("ANSIBLE_VAULT_PASSWORD_FILE", str(write(tmp_path / "wrong", "nope\n")))
    with pytest.raises(BadInput, match="cannot decrypt"):
        vault.secret_values(inventory)


def test_vars_files_are_read_with_the_strict_loader(inventory):
    import yaml
    path = write(inventory / "group_vars/all/other.yml", "db_password: one\ndb_password: two\n")
    with pytest.raises(yaml.YAMLError, match="duplicate key 'db_password'"):
        vault.read_vars(path, inventory)
