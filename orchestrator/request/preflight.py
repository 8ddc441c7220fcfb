"""Every file a run reads, checked before anything runs (`plan`, `run` and `validate` alike): the hosts and
the request (load_request), each role's settings against its argument specs, the vault files (encrypted,
opened by the password, valid YAML; the password file not readable by others), the notification URLs in the
vault (each one Apprise can use), and the CA file the request names. The first problem is one BadInput line; nothing has been created when it is raised.
"""

from __future__ import annotations

import stat
from pathlib import Path

from orchestrator import notify, project, vault
from orchestrator.errors import BadInput
from orchestrator.inventory_yaml import parse_yaml, read_text
from orchestrator.request.argument_specs import check_vars, role_specs
from orchestrator.request.model import DeploymentRequest
from orchestrator.request.parse import load_request

VARS_DIRS = ("group_vars", "host_vars")
ENCRYPTED = "$ANSIBLE_VAULT"


def check_inventory(path: Path, *, validates: bool = True) -> DeploymentRequest:
    """The request, once every file is checked. `validates`: the run checks the hosts, so the CA file the
    request names must be there too (a run of other phases only, `--only base_server`, never reads it)."""
    request = load_request(path)
    check_vars_files(request.inventory)
    notify.load_channels(request.inventory)
    if validates:
        check_ca_file(request)
    return request


def check_ca_file(request: DeploymentRequest) -> None:
    ca = request.validation.ca_path(request.inventory)
    if ca is not None and not ca.is_file():
        raise BadInput(f"aidevops.validation.ca_file: {str(ca)[:200]} does not exist",
                       where=str(request.inventory / "group_vars/all/aidevops.yml"),
                       hint="the PEM file of the CA, relative to the inventory or absolute")


def vars_files(inventory: Path) -> list[Path]:
    """The vars files Ansible reads from the inventory: group_vars/<group>.yml and group_vars/<group>/*.yml,
    the same under host_vars."""
    found: list[Path] = []
    for folder in VARS_DIRS:
        base = inventory / folder
        if not base.is_dir():
            continue
        for path in sorted(base.rglob("*")):
            if path.suffix in (".yml", ".yaml", ".json") or (path.is_symlink() and not path.exists()):
                found.append(path)
    return found


def _password(inventory: Path, where: Path) -> Path:
    pw = vault.password_file(inventory)
    hint = f"set ANSIBLE_VAULT_PASSWORD_FILE or put the password in {inventory / vault.PASSWORD_FILE}"
    if pw is None:
        raise BadInput("the file is vault-encrypted but no vault password is configured", where=str(where), hint=hint)
    try:
        mode = pw.stat().st_mode
    except OSError as exc:
        raise BadInput(f"cannot read the vault password file: {exc.strerror}", where=str(pw), hint=hint) from None
    if not stat.S_ISREG(mode):
        raise BadInput("the vault password file is not a file", where=str(pw), hint=hint)
    if mode & 0o007:
        raise BadInput(f"the vault password file can be read by anyone (mode {oct(mode & 0o777)})", where=str(pw),
                       hint=f"chmod 600 {pw}")
    return pw


def check_vars_files(inventory: Path) -> None:
    specs = role_specs(project.declared_roles_dir())
    opened = None
    for path in vars_files(inventory):
        text = read_text(path)
        if text.startswith(ENCRYPTED):
            pw = _password(inventory, path)
            try:
                opened = opened or vault.vault_lib(pw)
                text = opened.decrypt(text.encode()).decode("utf-8")
            except Exception as exc:  # ansible's AnsibleError and friends: all mean "cannot open it"
                reason = str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
                raise BadInput(f"cannot decrypt: {reason}", where=str(path),
                               hint="check the vault password, or re-encrypt the file with ansible-vault") from None
        elif path.name.startswith("vault") and text.strip():
            raise BadInput("a vault file that is not encrypted", where=str(path),
                           hint=f"encrypt it: ansible-vault encrypt {path}")
        check_vars(path, parse_yaml(text, str(path)), specs)
