"""The deployment request's schema: one pydantic model per section, each field with its description, limits
and character set. Validation, the reference in docs/request.md and the CLI's choices all come from here.

pydantic's own error texts name Python types; `describe` turns the first error into the one line the CLI
prints: the file, the key path (`aidevops.options.strategy`), what was expected, a short excerpt of what was
given, and a hint (`validate` raises it as BadInput). Service names and their sites are not in the schema:
they come from the roles' declarations and are checked in parse.py.
"""

from __future__ import annotations

import re
from typing import Any, Literal, get_args

from pydantic import BaseModel, Field, ValidationError, field_validator
from pydantic_core import PydanticCustomError

from orchestrator.errors import BadInput
from orchestrator.request.ai import AISection
from orchestrator.request.fields import Domain, Email, Section, ServiceName, excerpt
from orchestrator.request.notifications import NotificationSettings
from orchestrator.request.retention import RetentionPolicy
from orchestrator.request.validation import ValidationSettings

Strategy = Literal["sequential", "parallel", "hybrid", "adaptive"]
DnsProvider = Literal["cloudflare", "rfc2136", "none"]
STRATEGIES: tuple[str, ...] = get_args(Strategy)
DNS_PROVIDERS: tuple[str, ...] = get_args(DnsProvider)


class Dns(Section):
    provider: DnsProvider = Field(
        description="Who serves the domain's records: cloudflare (API token in the vault), rfc2136 (dynamic "
                    "updates with TSIG) or none (you manage DNS).")


class Options(Section):
    strategy: Strategy | None = Field(
        None, description="How phases are scheduled: sequential (one at a time), parallel (all that are ready), "
                          "hybrid (parallel, at most max_parallel at once; the default) or adaptive (the planner "
                          "decides from the request).")
    max_parallel: int = Field(2, ge=1, le=8, description="How many phases may run at once under hybrid.")
    serial: int | str | None = Field(
        None, description="Roll out in waves, Ansible's `serial`: a host count (1) or a share of the hosts ('30%'). "
                          "Each host-side phase goes through the hosts wave by wave; a wave that fails stops the "
                          "phase before the next wave (see max_fail_percentage) and the run after it. Default: "
                          "every host at once. DNS, one API call per zone, is never split.")
    max_fail_percentage: int | None = Field(
        None, ge=0, le=100, description="With serial: the share of a wave's hosts (percent) that may fail before "
                                        "the next wave is stopped, Ansible's `max_fail_percentage`; 0 stops at the "
                                        "first failed host. Default: Ansible's (the next wave goes on unless every "
                                        "host of a wave failed).")

    @field_validator("serial", mode="before")
    @classmethod
    def _serial(cls, value: Any) -> Any:
        ok = (isinstance(value, int) and not isinstance(value, bool) and value >= 1) or value is None or (
            isinstance(value, str) and re.fullmatch(r"(100|[1-9][0-9]?)%", value) is not None)
        if not ok:
            raise PydanticCustomError("serial", "expected a host count (1 or more) or a percentage such as "
                                                "'30%', got {value}", {"value": excerpt(value)})
        return value


class Request(Section):
    """The mapping under the key `aidevops` in `<inventory>/group_vars/all/aidevops.yml`."""

    domain: Domain = Field(description="The domain the services live under; each service gets a host name "
                                       "below it (see hostnames).")
    admin_email: Email = Field(description="Receives certificate expiry notices from the ACME CA.")
    services: list[ServiceName] | None = Field(
        None, max_length=32, description="Which services to deploy, by the names their roles declare "
                                         "(default: every declared service).")
    dns: Dns = Field(description="Where the DNS records of the host names are made.")
    hostnames: dict[ServiceName, Domain] | None = Field(
        None, max_length=32, description="Host name per site, by the site names the roles declare (default: "
                                         "the site's declared subdomain under domain).")
    options: Options | None = Field(None, description="How the run is scheduled.")
    placement: Literal["groups", "auto"] = Field(
        "groups", description="Which hosts run which service: groups (an inventory group named after a service "
                              "puts it on its hosts; the others go to the hosts in no service group) or auto (the "
                              "planner places each service on a host whose memory, cores and disk fit the "
                              "service's declared needs, from the hosts' facts; kept for later runs).")
    ai: AISection | None = Field(None, description="Which AI provider makes the decisions, and its limits. API "
                                                   "keys come from the environment, never from the request.")
    validation: ValidationSettings | None = Field(
        None, description="What the validator compares with: thresholds, the CA certificates must chain to, "
                          "whether the security audits run.")
    notifications: NotificationSettings | None = Field(
        None, description="Which events are sent to the notification channels (Apprise URLs in the vault, "
                          "`aidevops_notify_urls`); without channels nothing is sent.")
    retention: RetentionPolicy | None = Field(
        None, description="How long the controller keeps run folders and their records, the AI's raw answers, "
                          "the AI cache and revealed reports; applied by `aidevops runs prune` and at the end of "
                          "every run.")


SECTIONS: dict[str, type[Section]] = {"aidevops": Request, "aidevops.dns": Dns, "aidevops.options": Options,
                                      "aidevops.ai": AISection, "aidevops.validation": ValidationSettings,
                                      "aidevops.notifications": NotificationSettings,
                                      "aidevops.retention": RetentionPolicy}


def key_path(loc: tuple) -> str:
    path = "aidevops"
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


def _model_at(loc: tuple) -> type[BaseModel] | None:
    """The section model a location inside the request points into (None inside a list or a mapping)."""
    model: Any = Request
    for part in loc:
        if not (isinstance(model, type) and issubclass(model, BaseModel)) or part not in model.model_fields:
            return None
        annotation = model.model_fields[part].annotation
        model = next((a for a in get_args(annotation) if isinstance(a, type) and issubclass(a, BaseModel)),
                     annotation)
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


def _field(loc: tuple):
    parent = _model_at(loc[:-1])
    return parent.model_fields.get(loc[-1]) if parent is not None and isinstance(loc[-1], str) else None


def _range(field) -> tuple[Any, Any, Any]:
    ge = gt = le = None
    for m in getattr(field, "metadata", ()):
        ge = getattr(m, "ge", ge)
        gt = getattr(m, "gt", gt)
        le = getattr(m, "le", le)
    return ge, gt, le


def _kind(value: Any) -> str:
    return type(value).__name__


def describe(error: dict) -> tuple[str, str, str | None]:
    """(key path, message, hint) for one pydantic error."""
    loc, kind, value, ctx = tuple(error["loc"]), error["type"], error.get("input"), error.get("ctx") or {}
    # pydantic adds the validator's name to the location (`function-after[...]`): not a key of the file.
    loc = tuple(p for p in loc if not (isinstance(p, str) and ("[" in p or p.startswith("function-"))))
    key = key_path(loc)
    field = _field(loc) if loc else None
    if kind == "missing":
        section = _model_at(loc)
        required = [n for n, f in section.model_fields.items() if f.is_required()] if section else []
        if required:  # a missing section: name the key inside it that must be written
            loc, field = loc + (required[0],), section.model_fields[required[0]]
        choices = get_args(field.annotation) if field is not None else ()
        if choices and all(isinstance(c, str) for c in choices):
            return key_path(loc), "missing", f"expected one of {', '.join(choices)}"
        return key_path(loc), "missing", (field.description if field else None)
    if kind == "extra_forbidden":
        parent = _model_at(loc[:-1])
        known = ", ".join(parent.model_fields) if parent else ""
        if "key" in str(loc[-1]) and parent is AISection:
            return key, "unknown key", "API keys come from ANTHROPIC_API_KEY / OPENAI_API_KEY"
        return key, "unknown key", f"expected one of {known}"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return key, f"expected a mapping, got {_kind(value)}", None
    if kind == "literal_error":
        noun = str(loc[-1]).split("_")[-1]
        return key, f"unknown {noun} {excerpt(value)}", f"expected one of {ctx['expected'].replace(chr(39), '')}"
    if kind in ("domain", "email", "path", "ai_provider", "serial"):
        hint = {"domain": "expected a name like example.com", "email": "it receives certificate expiry notices",
                "ai_provider": None, "path": "relative to the inventory or absolute",
                "serial": "Ansible's serial: hosts per wave"}[kind]
        return key, error["msg"], hint
    if kind in ("int_type", "int_parsing", "float_type", "float_parsing", "greater_than", "greater_than_equal",
                "less_than", "less_than_equal", "int_from_float"):
        ge, gt, le = _range(field)
        unit = (field.json_schema_extra or {}).get("unit") if field and isinstance(field.json_schema_extra,
                                                                                   dict) else None
        whole = kind.startswith("int") or (field is not None and int in (field.annotation, *get_args(field.annotation)))
        if gt == 0:
            return key, f"expected a positive number, got {excerpt(value)}", (f"at most {le}" if le else None)
        noun = unit or ("a whole number" if whole else "a number")
        return key, f"expected {noun} from {ge} to {le}, got {excerpt(value)}", None
    if kind in ("bool_type", "bool_parsing"):
        return key, f"expected true or false, got {excerpt(value)}", None
    if kind in ("string_type", "list_type"):
        expected = "text" if kind == "string_type" else "a list"
        return key, f"expected {expected}, got {_kind(value)}", None
    if kind == "string_too_long":
        return key, f"longer than {ctx['max_length']} characters: {excerpt(value)}", None
    if kind == "too_long":
        return key, f"more than {ctx['max_length']} entries", None
    if kind == "string_pattern_mismatch":
        return key, f"{excerpt(value)} has characters that are not allowed", f"expected {ctx['pattern']}"
    return key, f"{error['msg']}, got {excerpt(value)}", None


class HostFields(Section):
    """`aidevops_host` in a host's vars: the request fields that host has of its own (a fleet)."""

    domain: Domain | None = Field(None, description="This host's domain; its services' names go below it.")
    admin_email: Email | None = Field(None, description="Receives this host's certificate expiry notices.")
    services: list[ServiceName] | None = Field(None, max_length=32, description="The services this host runs.")
    hostnames: dict[ServiceName, Domain] | None = Field(None, max_length=32,
                                                        description="Host name per site, on this host.")


def validate_host_fields(data: Any, where: str, key: str) -> HostFields:
    """A host's `aidevops_host` mapping, or its first problem as BadInput (KEY names the host)."""
    if not isinstance(data, dict):
        kind = {"list": "a list", "str": "text"}.get(type(data).__name__, type(data).__name__)
        raise BadInput(f"{key}: expected a mapping, got {kind}", where=where,
                       hint="domain, admin_email, services, hostnames: the request fields this host has of its own")
    try:
        return HostFields.model_validate(data)
    except ValidationError as exc:
        first = min(exc.errors(include_url=False), key=lambda e: e["type"] != "extra_forbidden")
        if first["type"] == "extra_forbidden" and len(first["loc"]) == 1:
            raise BadInput(f"{key}.{first['loc'][0]}: unknown key", where=where,
                           hint=f"expected one of {', '.join(HostFields.model_fields)}") from None
        path, message, hint = describe(first)
        path = path.replace("aidevops.", f"{key}.", 1) if path.startswith("aidevops.") else f"{key}.{path}"
        raise BadInput(f"{path}: {message}", where=where, hint=hint) from None


def validate(data: Any, where: str) -> Request:
    """The request mapping (what is under `aidevops`) as a Request, or the first problem as BadInput."""
    if not isinstance(data, dict):
        raise BadInput(f"aidevops: expected a mapping, got {_kind(data)}", where=where)
    try:
        return Request.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        # A misspelt key also makes the right one missing: the misspelling is the one to name.
        first = min(errors, key=lambda e: e["type"] != "extra_forbidden")
        key, message, hint = describe(first)
        raise BadInput(f"{key}: {message}", where=where, hint=hint) from None


def bounds(model: type[BaseModel], name: str) -> tuple[Any, Any]:
    """(lowest, highest) a numeric field allows, for code that must keep within the same range."""
    ge, gt, le = _range(model.model_fields[name])
    return (ge if ge is not None else gt), le


MAX_PARALLEL: tuple[int, int] = bounds(Options, "max_parallel")
