"""Role settings in the inventory (`group_vars/*/<role>.yml` and the like) checked against each role's
`meta/argument_specs.yml` before anything runs: the type and choices of each declared variable, and any
`<role>_` variable the role does not declare, named with the closest one it does (a typo would otherwise be
ignored by Ansible and the default used without a word).

Types follow Ansible's own conversions (an int may be written "8", a bool "yes", a list "a,b"), so nothing
Ansible accepts is refused here; a value that is a Jinja expression is left to Ansible.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

from orchestrator.errors import BadInput
from orchestrator.inventory_yaml import load_yaml
from orchestrator.request.fields import excerpt

_TRUE = {"yes", "on", "1", "true", "y", "t", 1, 1.0, True}
_FALSE = {"no", "off", "0", "false", "n", "f", 0, 0.0, False}


def role_specs(roles_dir: Path) -> dict[str, dict[str, dict]]:
    """Each role's declared variables (entry point `main`), by role name."""
    out: dict[str, dict[str, dict]] = {}
    for spec_file in sorted(roles_dir.glob("*/meta/argument_specs.yml")):
        data = load_yaml(spec_file) or {}
        options = ((data.get("argument_specs") or {}).get("main") or {}).get("options") or {}
        out[spec_file.parent.parent.name] = {k: (v or {}) for k, v in options.items()}
    return out


def _is(value: Any, kind: str) -> bool:
    if kind in ("raw", "", None):
        return True
    if kind in ("str", "path"):
        return not isinstance(value, (dict, list))
    if kind == "int":
        if isinstance(value, bool):
            return False
        return isinstance(value, int) or (isinstance(value, str) and value.strip().lstrip("+-").isdigit())
    if kind == "float":
        if isinstance(value, bool):
            return False
        try:
            float(value)
            return True
        except (TypeError, ValueError):
            return False
    if kind == "bool":
        return (value.lower() if isinstance(value, str) else value) in _TRUE | _FALSE
    if kind == "list":
        return isinstance(value, (list, str, int, float)) and not isinstance(value, bool)
    if kind == "dict":
        return isinstance(value, dict)
    return True


def _jinja(value: Any) -> bool:
    return isinstance(value, str) and "{{" in value


def check_value(name: str, spec: dict, value: Any) -> str | None:
    """Why `value` does not fit the variable's spec, or None."""
    if _jinja(value) or value is None:
        return None
    kind = spec.get("type", "str")
    if not _is(value, kind):
        return f"expected {kind}, got {type(value).__name__} {excerpt(value)}"
    choices = spec.get("choices")
    items = value if isinstance(value, list) else [value]
    if kind == "list" and spec.get("elements") and isinstance(value, list):
        bad = next((v for v in value if not _jinja(v) and not _is(v, spec["elements"])), None)
        if bad is not None:
            return f"expected a list of {spec['elements']}, got an element {excerpt(bad)}"
    if choices:
        wrong = next((v for v in items if not _jinja(v) and v not in choices and str(v) not in map(str, choices)),
                     None)
        if wrong is not None:
            return f"{excerpt(wrong)} is not one of {', '.join(map(str, choices))}"
    return None


def check_vars(path: Path, data: Any, specs: dict[str, dict[str, dict]]) -> None:
    """The variables of one plain vars file, each `<role>_` one against its role's specs."""
    if data is None:
        return
    if not isinstance(data, dict):
        raise BadInput(f"expected a mapping of variables, got {type(data).__name__}", where=str(path),
                       hint="write `name: value` lines")
    # The longest prefix wins: nginx_proxy_x belongs to nginx_proxy, not to a role called nginx.
    prefixes = sorted(specs, key=len, reverse=True)
    for name, value in data.items():
        if not isinstance(name, str):
            raise BadInput(f"{excerpt(name)}: a variable name must be text", where=str(path))
        role = next((r for r in prefixes if name.startswith(r + "_")), None)
        if role is None:
            continue
        spec = specs[role].get(name)
        if spec is None:
            close = difflib.get_close_matches(name, specs[role], n=1, cutoff=0.6)
            hint = f"did you mean {close[0]}?" if close else f"see roles/{role}/README.md for its variables"
            raise BadInput(f"{name}: not a variable of the {role} role", where=str(path), hint=hint)
        problem = check_value(name, spec, value)
        if problem:
            raise BadInput(f"{name}: {problem}", where=str(path),
                           hint=f"declared in roles/{role}/meta/argument_specs.yml")
