"""What an AI decision may change, generated from the roles, and the check of every answer against it.

A role's variables are those declared in `roles/<role>/meta/argument_specs.yml` (entry point `main`), with
their type, element type and choices. Ranges and patterns are not part of Ansible's argument specs (an
unknown key there would break Ansible's own check), so they live beside the critical variables in
`roles/<role>/meta/aidevops.yml`:

    critical_variables: [base_server_ufw_enabled, ...]   # never set without the operator's confirmation
    bounds:
      nginx_proxy_read_timeout: {min: 5, max: 3600}
      nginx_proxy_client_max_body_size: {pattern: '^[0-9]+[kKmMgG]?$'}
      base_server_security_level: {order: [baseline, hardened, strict]}   # weakest first

A variable with an `order` is critical only downwards: a value below the one in force (the inventory's, else
the role default) needs the operator's confirmation; keeping or raising it does not.

The check runs in code on whatever came back, whichever provider answered: the schema given to the model
is a hint, never the guard.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from orchestrator import project
from orchestrator.errors import BadInput
from orchestrator.inventory_yaml import load_yaml, safe_load
from orchestrator.request.preflight import vars_files

_JSON_TYPES = {"str": "string", "path": "string", "int": "integer", "float": "number", "bool": "boolean",
               "list": "array", "dict": "object"}
MAX_STRING = 512  # no variable the AI may set needs a longer value; a longer one is likely pasted output
# Strings end up in config files and command lines: no value the AI sets may carry a line break, a
# directive or statement separator, a quote or a shell expansion, whatever the role does with it.
_UNSAFE = re.compile(r"[\x00-\x1f;{}\"'`$\\]")


@dataclass(frozen=True)
class VarSpec:
    role: str
    name: str
    type: str  # argument_specs type
    elements: str | None = None
    choices: tuple | None = None
    minimum: float | None = None
    maximum: float | None = None
    pattern: str | None = None
    critical: bool = False
    description: str = ""
    order: tuple | None = None  # weakest first: a value below `in_force` is critical
    in_force: Any = None  # the inventory's value, else the role default (ordered variables only)

    def schema(self) -> dict[str, Any] | None:
        """The variable's JSON Schema as the providers' strict modes accept it: nullable (null keeps the value
        in force), no numeric or pattern keywords (Anthropic's strict grammar has none; they are stated in
        the description and enforced by check()). None for a free-form dict: strict modes cannot express it."""
        if self.type == "dict":
            return None
        s: dict[str, Any] = {"type": [_JSON_TYPES[self.type], "null"]}
        if self.choices:
            s["enum"] = [*self.choices, None]
        if self.type == "list" and self.elements in _JSON_TYPES and self.elements != "dict":
            s["items"] = {"type": _JSON_TYPES[self.elements]}
        elif self.type == "list":
            return None
        notes = [self.description[:200]] if self.description else []
        if self.minimum is not None or self.maximum is not None:
            notes.append(f"Range: {_num(self.minimum)} to {_num(self.maximum)}.")
        if self.pattern:
            notes.append(f"Must match {self.pattern}.")
        if self.critical:
            notes.append("CRITICAL: applied only after the operator confirms.")
        elif self.order and self.in_force in self.order:
            notes.append(f"Order, weakest first: {', '.join(map(str, self.order))}. In force: {self.in_force}; "
                         "a lower value is CRITICAL (applied only after the operator confirms).")
        notes.append("null keeps the current value.")
        s["description"] = " ".join(notes)
        return s

    def lowers(self, value: Any) -> bool:
        """Whether `value` is below the value in force in the declared order (an unknown value in force
        counts as the strongest: nothing is assumed safe)."""
        if not self.order or value not in self.order:
            return False
        ceiling = self.order.index(self.in_force) if self.in_force in self.order else len(self.order) - 1
        return self.order.index(value) < ceiling

    def critical_for(self, value: Any) -> str | None:
        """Why setting `value` needs the operator's confirmation, or None."""
        if self.critical:
            return "critical"
        if self.lowers(value):
            if self.in_force not in self.order:
                return f"critical, the value in force ({self.in_force}) cannot be compared with {value}"
            return f"critical, lowers it from {self.in_force} to {value}"
        return None

    def check(self, value: Any) -> str | None:
        """Why `value` is not allowed, or None."""
        if not _is_type(value, self.type):
            return f"expected {self.type}, got {type(value).__name__}"
        if self.choices and value not in self.choices:
            return f"{value!r} is not one of {list(self.choices)}"
        if self.type in ("int", "float"):
            if self.minimum is not None and value < self.minimum:
                return f"{value} is below the minimum {self.minimum:g}"
            if self.maximum is not None and value > self.maximum:
                return f"{value} is above the maximum {self.maximum:g}"
        if self.type in ("str", "path"):
            if len(value) > MAX_STRING:
                return f"longer than {MAX_STRING} characters"
            if _UNSAFE.search(value):
                return "contains a line break, quote, ';', '{', '}', '$', '`' or backslash"
            if self.pattern and not re.search(self.pattern, value):
                return f"{value!r} does not match {self.pattern}"
        if self.type == "list" and self.elements in _JSON_TYPES:
            bad = [v for v in value if not _is_type(v, self.elements)
                   or (isinstance(v, str) and (_UNSAFE.search(v) or len(v) > MAX_STRING))]
            if bad:
                return f"elements must be {self.elements}, got {bad[0]!r}"
        return None


def _num(value: float | None) -> str:
    return "any" if value is None else f"{value:g}"


def _is_type(value: Any, kind: str) -> bool:
    if kind in ("str", "path"):
        return isinstance(value, str)
    if kind == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "float":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == "bool":
        return isinstance(value, bool)
    if kind == "list":
        return isinstance(value, list)
    if kind == "dict":
        return isinstance(value, dict)
    return False


def _read(path: Path) -> dict:
    if not path.exists():
        return {}
    data = safe_load(path.read_text()) or {}
    return data if isinstance(data, dict) else {}


def inventory_values(inventory: Path | None, names: set[str]) -> dict[str, list[Any]]:
    """Each of NAMES' values set in the inventory's plain vars files (group_vars, host_vars); vault-encrypted
    files are not opened (no ordered variable is a secret) and Jinja expressions are not resolved (a value
    that is not one of the order's words cannot be compared: it counts as the strongest)."""
    found: dict[str, list[Any]] = {}
    if inventory is None or not names:
        return found
    for path in vars_files(inventory):
        try:
            data = load_yaml(path)
        except (BadInput, OSError):  # unreadable or not YAML: the preflight says so, not this
            continue
        if isinstance(data, dict):
            for name in names & set(data):
                found.setdefault(name, []).append(data[name])
    return found


def _value_in_force(order: tuple, set_values: list[Any], default: Any) -> Any:
    """The strongest value the inventory sets (a lower answer would lower some host), else the role default;
    a value outside the order (a Jinja expression, a typo) is returned as is: nothing compares below it."""
    unknown = [v for v in set_values if v not in order]
    if unknown:
        return unknown[0]
    return max(set_values, key=order.index) if set_values else default


def role_variables(role: str, roles_dir: Path | None = None, inventory: Path | None = None) -> dict[str, VarSpec]:
    """The variables of one role an AI decision could set; `raw` ones are left out (no type to check).
    INVENTORY gives the values in force of the ordered variables (else the role defaults are)."""
    root = roles_dir or project.roles_dir()
    base = root / role / "meta"
    specs = _read(base / "argument_specs.yml").get("argument_specs", {}).get("main", {}).get("options") or {}
    extra = _read(base / "aidevops.yml")
    critical = set(extra.get("critical_variables") or [])
    ranges = extra.get("bounds") or {}
    ordered = {n for n, r in ranges.items() if isinstance(r, dict) and r.get("order")}
    defaults = _read(root / role / "defaults/main.yml") if ordered else {}
    set_values = inventory_values(inventory, ordered)
    out: dict[str, VarSpec] = {}
    for name, spec in specs.items():
        kind = (spec or {}).get("type", "str")
        if kind not in _JSON_TYPES:
            continue
        r = ranges.get(name) or {}
        order = tuple(r["order"]) if r.get("order") else None
        desc = spec.get("description") or ""
        out[name] = VarSpec(
            role=role, name=name, type=kind, elements=spec.get("elements"),
            choices=tuple(spec["choices"]) if spec.get("choices") else None,
            minimum=r.get("min"), maximum=r.get("max"), pattern=r.get("pattern"),
            critical=name in critical or kind == "path" or role_critical_by_name(name),
            description=" ".join(desc) if isinstance(desc, list) else str(desc),
            order=order,
            in_force=_value_in_force(order, set_values.get(name, []), defaults.get(name)) if order else None,
        )
    return out


# Names that reach who can log in or what is destroyed are critical even if a role forgets to list them.
_CRITICAL_WORDS = re.compile(
    r"(firewall|ufw|ssh|sudo|password|secret|token|_keys?$|_key_file|private_key|vault|delete|destroy|purge|wipe|"
    r"_state$|_url$)")


def role_critical_by_name(name: str) -> bool:
    return bool(_CRITICAL_WORDS.search(name))


@dataclass
class Checked:
    """An answer's variables after the check: what may be applied, what was refused and why."""
    applied: dict[str, dict[str, Any]] = field(default_factory=dict)  # phase -> {var: value}
    rejected: list[str] = field(default_factory=list)  # "phase.var: why" (invalid: the answer falls back)
    dropped: list[str] = field(default_factory=list)  # critical and not confirmed (valid, not applied)

    @property
    def valid(self) -> bool:
        return not self.rejected


Confirm = Callable[[str, str, Any], bool]  # (phase, variable, value) -> confirmed?


class Bounds:
    """The variables each planned phase's role declares."""

    def __init__(self, phases: list[str], roles_dir: Path | None = None, inventory: Path | None = None):
        root = roles_dir or project.roles_dir()
        self.vars = {p: role_variables(p, root, inventory) for p in phases if (root / p / "meta").is_dir()}

    def phase_schema(self, phase: str, include_critical: bool = False) -> dict[str, Any]:
        """{variable: value} for one phase's role. Every property is required and nullable, as OpenAI's strict
        mode wants; critical variables are offered only when the operator can confirm them, so the model is not
        invited to propose what would be dropped."""
        props = {}
        for name, spec in self.vars.get(phase, {}).items():
            s = spec.schema() if include_critical or not spec.critical else None
            if s is not None:
                props[name] = s
        return {"type": "object", "properties": props, "required": list(props), "additionalProperties": False}

    def schema(self, phases: list[str] | None = None, include_critical: bool = False) -> dict[str, Any]:
        """{phase: {variable: value}} for these phases."""
        props = {p: self.phase_schema(p, include_critical) for p in (phases or list(self.vars)) if p in self.vars}
        return {"type": "object", "properties": props, "required": list(props), "additionalProperties": False}

    def check(self, answer: Any, confirm: Confirm | None = None, phases: list[str] | None = None,
              unconfirmed: str = "use --yes to allow") -> Checked:
        out = Checked()
        if answer is None or answer == {}:
            return out
        if not isinstance(answer, dict):
            out.rejected.append(f"variables: expected an object, got {type(answer).__name__}")
            return out
        allowed = phases if phases is not None else list(self.vars)
        for phase, variables in answer.items():
            if phase not in allowed or phase not in self.vars:
                out.rejected.append(f"{phase}: not a planned phase with declared variables")
                continue
            if not isinstance(variables, dict):
                out.rejected.append(f"{phase}: expected an object of variables")
                continue
            for name, value in variables.items():
                if value is None:  # null: keep what is in force
                    continue
                spec = self.vars[phase].get(name)
                if spec is None:
                    out.rejected.append(f"{phase}.{name}: not declared in roles/{phase}/meta/argument_specs.yml")
                    continue
                why = spec.check(value)
                if why:
                    out.rejected.append(f"{phase}.{name}: {why}")
                    continue
                critical = spec.critical_for(value)
                if critical and not (confirm and confirm(phase, name, value)):
                    out.dropped.append(f"{phase}.{name}: {critical}, not confirmed ({unconfirmed})")
                    continue
                out.applied.setdefault(phase, {})[name] = value
        return out
