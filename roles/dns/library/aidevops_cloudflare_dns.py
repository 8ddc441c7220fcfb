#!/usr/bin/python
# Copyright: aidevops contributors. MIT License.
"""Cloudflare DNS records that aidevops owns, marked by a comment; see DOCUMENTATION."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: aidevops_cloudflare_dns
short_description: Manage the DNS records aidevops owns in a Cloudflare zone
description:
  - Ensures DNS records exist in a Cloudflare zone with the given content, TTL and proxied flag, or are
    absent, through the official C(cloudflare) Python SDK (v4 API).
  - The module only ever changes or deletes records it manages. They carry a marker in their comment
    (O(comment), default C(managed by aidevops)). A record without the marker at the same name and type,
    or a CNAME at a name that needs other records (and the reverse), is a conflict. The module fails and
    lists the conflicts before it changes anything, unless O(adopt=true) lets it take those records over.
  - For each name and type given, the values listed are the whole set. Managed records of that name and
    type with other values are updated to the wanted values or deleted.
  - O(state=absent) deletes only managed records, and never records without the marker.
  - An identical record that appears between reading the zone and creating the record (Cloudflare error
    81058) is treated as present and read again. Rate limits (HTTP 429) and server errors are retried by
    the SDK, up to O(max_retries) times, honouring C(Retry-After).
version_added: "1.0.0"
author: aidevops
requirements:
  - python >= 3.9
  - cloudflare >= 4, < 6 (the official Cloudflare Python SDK)
attributes:
  check_mode:
    support: full
    description: Reads the zone and reports the changes it would make, with O(ignore:--diff) before/after.
  diff_mode:
    support: full
    description: Shows the affected records before and after, one zone-file style line per record.
options:
  api_token:
    description:
      - Cloudflare API token with C(Zone:Read) and C(DNS:Edit) on the zone.
      - Falls back to the environment variable E(CLOUDFLARE_API_TOKEN) of the host the module runs on.
      - Never returned or logged.
    type: str
    required: true
  zone:
    description: The zone's name, for example C(example.com).
    type: str
    required: true
  zone_id:
    description: The zone's identifier. When given, the zone is not looked up by name (saves a call).
    type: str
  records:
    description:
      - The records. Names may be relative to O(zone), fully qualified (with or without the final dot), or
        C(@) for the zone apex.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: Record name.
        type: str
        required: true
      type:
        description: Record type.
        type: str
        required: true
        choices: [A, AAAA, CNAME, CAA, TXT]
      value:
        description:
          - Record content. An address for A and AAAA, a host name for CNAME, the text for TXT,
            C(<flags> <tag> <value>) for CAA, for example C(0 issue letsencrypt.org).
          - Required with O(state=present). With O(state=absent), omit it to delete every managed record
            of that name and type.
        type: str
      ttl:
        description: TTL in seconds (60-86400) or 1 for automatic. Proxied records always use automatic.
        type: int
      proxied:
        description: Whether Cloudflare proxies the traffic (A, AAAA and CNAME only).
        type: bool
  ttl:
    description: TTL of records that do not set their own.
    type: int
    default: 300
  proxied:
    description: Proxied flag of A, AAAA and CNAME records that do not set their own.
    type: bool
    default: false
  state:
    description: Whether the records should exist or not.
    type: str
    choices: [present, absent]
    default: present
  comment:
    description: The marker (record comment) of the records this module manages.
    type: str
    default: managed by aidevops
  adopt:
    description:
      - Take over records without the marker that conflict with the wanted ones (they are updated and get
        the marker, or are deleted when not wanted). Only with O(state=present).
    type: bool
    default: false
  base_url:
    description:
      - API base URL. Default is the SDK's (E(CLOUDFLARE_BASE_URL), else C(https://api.cloudflare.com/client/v4)).
      - Set it for an API proxy, or for tests.
    type: str
  max_retries:
    description: How many times the SDK retries a request that was rate limited (429), timed out or failed with 5xx.
    type: int
    default: 4
  timeout:
    description: Seconds to wait for each API request.
    type: float
    default: 30
  per_page:
    description: Records per page when reading the zone.
    type: int
    default: 500
notes:
  - Runs where the API token is, normally on the controller (C(delegate_to: localhost)).
"""

EXAMPLES = r"""
- name: Point the service names at the server.
  aidevops_cloudflare_dns:
    api_token: "{{ vault_cloudflare_api_token }}"
    zone: example.com
    records:
      - {name: n8n, type: A, value: 203.0.113.10}
      - {name: supabase.example.com, type: A, value: 203.0.113.10, ttl: 600}
      - {name: studio, type: AAAA, value: "2001:db8::10", proxied: true}
      - {name: "@", type: CAA, value: 0 issue letsencrypt.org}
  delegate_to: localhost
  run_once: true

- name: Take over records made by hand in the dashboard.
  aidevops_cloudflare_dns:
    api_token: "{{ vault_cloudflare_api_token }}"
    zone: example.com
    adopt: true
    records:
      - {name: n8n, type: A, value: 203.0.113.10}
  delegate_to: localhost

- name: Remove the managed records of a name (records without the marker stay).
  aidevops_cloudflare_dns:
    api_token: "{{ vault_cloudflare_api_token }}"
    zone: example.com
    state: absent
    records:
      - {name: n8n, type: A}
  delegate_to: localhost
"""

RETURN = r"""
zone_id:
  description: The zone's identifier.
  returned: success
  type: str
  sample: 023e105f4ecef8ad9ca31a8372d0c353
changes:
  description: What was changed (or, in check mode, would be). C(action) is create, update, delete or exists
    (an identical record appeared meanwhile, error 81058).
  returned: always
  type: list
  elements: dict
  sample:
    - {action: create, name: n8n.example.com, type: A, content: 203.0.113.10, ttl: 300, proxied: false, id: null}
conflicts:
  description: Records without the marker that stand in the way (the module then fails and changes nothing).
  returned: always
  type: list
  elements: str
unmanaged:
  description: With O(state=absent), records without the marker that were left alone.
  returned: always
  type: list
  elements: dict
records:
  description: After the run, the records at the names and types given (managed and not).
  returned: success
  type: list
  elements: dict
  sample:
    - {id: 372e67954025e0ba6aaa6d586b9e0b59, name: n8n.example.com, type: A, content: 203.0.113.10,
       ttl: 300, proxied: false, comment: managed by aidevops}
"""

import traceback
from dataclasses import dataclass, field

from ansible.module_utils.basic import AnsibleModule, env_fallback, missing_required_lib

try:
    # The role's module_utils/ (shared with filter_plugins/dns_records.py); Ansible ships it with the module.
    from ansible.module_utils.aidevops_dns_records import (
        PROXIABLE,
        RECORD_TYPES,
        DnsError,
        canonical,
        normalise_record,
        parse_caa,
    )
except ImportError:  # pragma: no cover - this file loaded by path outside Ansible (the unit tests)
    import importlib.util
    import os
    import sys

    _path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "module_utils", "aidevops_dns_records.py")
    _spec = importlib.util.spec_from_file_location("aidevops_dns_records", os.path.normpath(_path))
    _records = importlib.util.module_from_spec(_spec)
    _spec.loader.exec_module(_records)
    sys.modules.setdefault(_spec.name, _records)
    PROXIABLE, RECORD_TYPES, DnsError = _records.PROXIABLE, _records.RECORD_TYPES, _records.DnsError
    canonical, normalise_record, parse_caa = _records.canonical, _records.normalise_record, _records.parse_caa

try:
    import cloudflare

    HAS_CLOUDFLARE = True
    CLOUDFLARE_IMPORT_ERROR = None
except ImportError:  # pragma: no cover - reported by the module
    cloudflare = None
    HAS_CLOUDFLARE = False
    CLOUDFLARE_IMPORT_ERROR = traceback.format_exc()

MANAGED_COMMENT = "managed by aidevops"
DUPLICATE_RECORD = 81058  # "An identical record already exists."


class ConflictError(DnsError):
    def __init__(self, conflicts):
        self.conflicts = list(conflicts)
        super().__init__(
            "records not managed by aidevops are in the way (nothing was changed): " + "; ".join(self.conflicts)
            + ". Delete them, or set adopt (dns_cloudflare_adopt: true) to let aidevops take them over.")


# --- records (names and values are made uniform by module_utils/aidevops_dns_records.py) ----------------
@dataclass(frozen=True)
class Wanted:
    name: str
    type: str
    content: str | None  # canonical; None = any (state absent)
    ttl: int
    proxied: bool

    @property
    def key(self):
        return (self.name, self.type)


@dataclass
class Existing:
    id: str
    name: str
    type: str
    content: str  # canonical
    ttl: int
    proxied: bool
    comment: str | None
    raw_content: str = ""

    @property
    def key(self):
        return (self.name, self.type)

    @classmethod
    def from_api(cls, rec):
        d = rec.to_dict() if hasattr(rec, "to_dict") else dict(rec)
        rtype = d.get("type")
        if rtype == "CAA" and isinstance(d.get("data"), dict):
            data = d["data"]
            content = f'{int(data.get("flags") or 0)} {str(data.get("tag", "")).lower()} "{data.get("value", "")}"'
        else:
            try:
                content = canonical(rtype, d.get("content") or "")
            except DnsError:
                content = str(d.get("content") or "")
        return cls(id=d["id"], name=str(d["name"]).lower().rstrip("."), type=rtype, content=content,
                   ttl=int(d.get("ttl") or 1), proxied=bool(d.get("proxied")), comment=d.get("comment"),
                   raw_content=str(d.get("content") or ""))

    def summary(self):
        return {"id": self.id, "name": self.name, "type": self.type, "content": self.content, "ttl": self.ttl,
                "proxied": self.proxied, "comment": self.comment}


def wanted_records(records, zone, ttl=300, proxied=False, state="present"):
    """The module's `records` option as Wanted records (validated, de-duplicated, in order). Cloudflare's
    own rules on top of the shared ones: a proxied record has the automatic TTL (1), others 30-86400."""
    out, seen = [], set()
    for i, rec in enumerate(records or []):
        label = " ".join(str(rec[k]) for k in ("name", "type") if rec.get(k)) if isinstance(rec, dict) else ""
        label = f" ({label})" if label else ""
        r = normalise_record(rec, zone, ttl=ttl, proxied=proxied, state=state, where=f"records[{i}]{label}")
        if r["ttl"] != 1 and not 30 <= r["ttl"] <= 86400:
            raise DnsError(f"records[{i}]{label}: ttl {r['ttl']} is not 1 (automatic) or 30-86400")
        w = Wanted(r["name"], r["type"], r["value"], 1 if r["proxied"] else r["ttl"], r["proxied"])
        if (w.key, w.content) in seen:
            continue
        seen.add((w.key, w.content))
        out.append(w)
    return out


# --- planning -----------------------------------------------------------------------------------------
@dataclass
class Change:
    action: str  # create, update, delete, exists
    name: str
    type: str
    content: str
    ttl: int
    proxied: bool
    id: str | None = None
    before: dict | None = None

    def as_dict(self):
        d = {"action": self.action, "name": self.name, "type": self.type, "content": self.content,
             "ttl": self.ttl, "proxied": self.proxied, "id": self.id}
        if self.before is not None:
            d["before"] = self.before
        return d


@dataclass
class Plan:
    changes: list = field(default_factory=list)
    conflicts: list = field(default_factory=list)
    unmanaged: list = field(default_factory=list)
    scope: list = field(default_factory=list)  # existing records the plan looked at (for the diff)

    @property
    def changed(self):
        return any(c.action != "exists" for c in self.changes)


def _line(name, rtype, content, ttl, proxied, comment):
    ttl_text = "auto" if ttl == 1 else str(ttl)
    extra = " ; proxied" if proxied else ""
    extra += f" ; {comment}" if comment else ""
    return f"{name}. {ttl_text} IN {rtype} {content}{extra}"


def plan_changes(existing, wanted, state="present", comment=MANAGED_COMMENT, adopt=False):
    """What to do so `wanted` holds in a zone that has `existing` records (lists of Wanted/Existing)."""
    plan = Plan()
    managed = lambda r: r.comment == comment
    by_key, by_name = {}, {}
    for rec in existing:
        by_key.setdefault(rec.key, []).append(rec)
        by_name.setdefault(rec.name, []).append(rec)
    groups = {}
    for w in wanted:
        groups.setdefault(w.key, []).append(w)
    scope_ids = set()

    def in_scope(recs):
        for r in recs:
            if r.id not in scope_ids:
                scope_ids.add(r.id)
                plan.scope.append(r)

    if state == "absent":
        for key, ws in groups.items():
            current = by_key.get(key, [])
            in_scope(current)
            any_value = any(w.content is None for w in ws)
            values = {w.content for w in ws}
            for rec in current:
                if not (any_value or rec.content in values):
                    continue
                if managed(rec):
                    plan.changes.append(Change("delete", rec.name, rec.type, rec.content, rec.ttl, rec.proxied,
                                               rec.id, rec.summary()))
                else:
                    plan.unmanaged.append(rec.summary())
        return plan

    wanted_types_by_name = {}
    for name, rtype in groups:
        wanted_types_by_name.setdefault(name, set()).add(rtype)
    deletes, updates, creates = [], [], []
    claimed = set()
    for (name, rtype), ws in groups.items():
        current = by_key.get((name, rtype), [])
        # A CNAME cannot share its name with other records, whoever made them.
        if rtype == "CNAME":
            blocking = [r for r in by_name.get(name, []) if r.type != "CNAME" and r.type not in wanted_types_by_name[name]]
        else:
            blocking = [r for r in by_name.get(name, []) if r.type == "CNAME" and "CNAME" not in wanted_types_by_name[name]]
        in_scope(current + blocking)
        for rec in current + blocking:
            if not managed(rec) and not adopt:
                plan.conflicts.append(
                    f"{rec.name} {rec.type} {rec.raw_content or rec.content} (id {rec.id}, comment "
                    f"{rec.comment!r}) is not marked '{comment}'")
        for rec in blocking:
            if (managed(rec) or adopt) and rec.id not in claimed:
                claimed.add(rec.id)
                deletes.append(Change("delete", rec.name, rec.type, rec.content, rec.ttl, rec.proxied, rec.id,
                                      rec.summary()))
        pool = [r for r in current if (managed(r) or adopt) and r.id not in claimed]
        todo = []
        for w in ws:
            match = next((r for r in pool if r.content == w.content), None)
            if match is None:
                todo.append(w)
                continue
            pool.remove(match)
            claimed.add(match.id)
            if (match.ttl, match.proxied, match.comment) != (w.ttl, w.proxied, comment):
                updates.append(Change("update", w.name, w.type, w.content, w.ttl, w.proxied, match.id,
                                      match.summary()))
        for w in todo:
            if pool:  # reuse a managed record with another value: one update instead of delete + create
                rec = pool.pop(0)
                claimed.add(rec.id)
                updates.append(Change("update", w.name, w.type, w.content, w.ttl, w.proxied, rec.id,
                                      rec.summary()))
            else:
                creates.append(Change("create", w.name, w.type, w.content, w.ttl, w.proxied))
        for rec in pool:
            claimed.add(rec.id)
            deletes.append(Change("delete", rec.name, rec.type, rec.content, rec.ttl, rec.proxied, rec.id,
                                  rec.summary()))
    plan.changes = deletes + updates + creates
    return plan


def plan_diff(plan, comment=MANAGED_COMMENT):
    """Ansible diff (before/after text) of the records the plan looked at."""
    before = {r.id: _line(r.name, r.type, r.content, r.ttl, r.proxied, r.comment) for r in plan.scope}
    after = dict(before)
    for i, c in enumerate(plan.changes):
        if c.action == "delete":
            after.pop(c.id, None)
        elif c.action in ("update", "create"):
            after[c.id or f"new-{i}"] = _line(c.name, c.type, c.content, c.ttl, c.proxied, comment)
    return {
        "before": "".join(line + "\n" for line in sorted(before.values())),
        "after": "".join(line + "\n" for line in sorted(after.values())),
        "before_header": "Cloudflare DNS (before)",
        "after_header": "Cloudflare DNS (after)",
    }


# --- the API ------------------------------------------------------------------------------------------
def api_error_codes(exc):
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        return [e.get("code") for e in body.get("errors") or [] if isinstance(e, dict)]
    return []


def describe_api_error(exc, retries=None):
    """One line: the status, the request, Cloudflare's errors, and for a status the SDK retries (429, 5xx)
    that it was retried and what to do."""
    body = getattr(exc, "body", None)
    status = getattr(exc, "status_code", None)
    if isinstance(body, dict) and body.get("errors"):
        errors = "; ".join(f"{e.get('code')}: {e.get('message')}" for e in body["errors"] if isinstance(e, dict))
    else:
        errors = type(exc).__name__
    where = f"HTTP {status}" if status else "no response"
    request = getattr(exc, "request", None)
    if request is not None:
        where += f" on {request.method} {request.url.path}"
    text = f"Cloudflare API error ({where}): {errors}"
    if retries is not None and status is not None and (status == 429 or status >= 500):
        text += (f"; still failing after {retries} retries with backoff (Retry-After honoured): Cloudflare is "
                 f"rate limiting or down. Wait a few minutes and run again, or raise dns_cloudflare_max_retries.")
    return text


class CloudflareDns:
    """The zone's records through the official SDK; `client` is a cloudflare.Cloudflare."""

    def __init__(self, client, zone, zone_id=None, comment=MANAGED_COMMENT, adopt=False, per_page=500):
        self.client = client
        self.zone = zone.lower().rstrip(".")
        self._zone_id = zone_id or None
        self.comment = comment
        self.adopt = adopt
        self.per_page = per_page

    @classmethod
    def connect(cls, api_token, zone, base_url=None, max_retries=4, timeout=30.0, **kw):
        if not HAS_CLOUDFLARE:
            raise DnsError(missing_required_lib("cloudflare"))
        client = cloudflare.Cloudflare(api_token=api_token, base_url=base_url or None, max_retries=max_retries,
                                       timeout=timeout)
        return cls(client, zone, **kw)

    @property
    def zone_id(self):
        if self._zone_id is None:
            zones = [z for z in self.client.zones.list(name=self.zone) if z.name == self.zone]
            if not zones:
                raise DnsError(f"zone {self.zone} not found: is it on this Cloudflare account, and may the token "
                               "read it (Zone:Read and DNS:Edit on the zone)?")
            self._zone_id = zones[0].id
        return self._zone_id

    def list_records(self, name=None, rtype=None):
        """Every record of the zone (or of one name/type), across all pages."""
        kw = {"zone_id": self.zone_id, "per_page": self.per_page}
        if name:
            kw["name"] = {"exact": name}
        if rtype:
            kw["type"] = rtype
        return [Existing.from_api(r) for r in self.client.dns.records.list(**kw)]

    def plan(self, wanted, state="present"):
        names = {w.name for w in wanted}
        existing = [r for r in self.list_records() if r.name in names]
        return plan_changes(existing, wanted, state=state, comment=self.comment, adopt=self.adopt)

    def _payload(self, c):
        body = {"zone_id": self.zone_id, "name": c.name, "type": c.type, "ttl": c.ttl, "comment": self.comment}
        if c.type in PROXIABLE:
            body["proxied"] = c.proxied
        if c.type == "CAA":
            body["data"] = parse_caa(c.content)
        else:
            body["content"] = c.content
        return body

    def apply(self, plan):
        """Carries out the plan's changes (in order); returns them, with ids and what really happened."""
        if plan.conflicts:
            raise ConflictError(plan.conflicts)
        done = []
        for c in plan.changes:
            if c.action == "delete":
                self.client.dns.records.delete(c.id, zone_id=self.zone_id)
            elif c.action == "update":
                self.client.dns.records.edit(c.id, **self._payload(c))
            elif c.action == "create":
                try:
                    c.id = self.client.dns.records.create(**self._payload(c)).id
                except cloudflare.BadRequestError as exc:
                    if DUPLICATE_RECORD not in api_error_codes(exc):
                        raise
                    c = self._settle_duplicate(c)
            done.append(c)
        return done

    def _settle_duplicate(self, c):
        """Cloudflare says the record exists already (made meanwhile): read it and make it ours if allowed."""
        twin = next((r for r in self.list_records(c.name, c.type) if r.content == c.content), None)
        if twin is None:
            raise DnsError(f"Cloudflare reports {c.name} {c.type} {c.content} exists (81058) but it cannot be read")
        if twin.comment != self.comment and not self.adopt:
            raise ConflictError([(f"{twin.name} {twin.type} {twin.content} (id {twin.id}, comment {twin.comment!r}) "
                                  f"appeared meanwhile and is not marked '{self.comment}'")])
        if (twin.ttl, twin.proxied, twin.comment) != (c.ttl, c.proxied, self.comment):
            c2 = Change("update", c.name, c.type, c.content, c.ttl, c.proxied, twin.id, twin.summary())
            self.client.dns.records.edit(twin.id, **self._payload(c2))
            return c2
        return Change("exists", c.name, c.type, c.content, c.ttl, c.proxied, twin.id, twin.summary())

    def records_at(self, wanted):
        keys = {w.key for w in wanted}
        return [r.summary() for r in self.list_records() if r.key in keys]


def run(params, check_mode=False):
    """The module's work, without AnsibleModule: returns the result dict (raises DnsError on failure)."""
    state = params.get("state") or "present"
    zone = params["zone"]
    wanted = wanted_records(params["records"], zone, ttl=params.get("ttl", 300), proxied=params.get("proxied", False),
                            state=state)
    dns = CloudflareDns.connect(params["api_token"], zone, base_url=params.get("base_url"),
                                max_retries=params.get("max_retries", 4), timeout=params.get("timeout", 30.0),
                                zone_id=params.get("zone_id"), comment=params.get("comment") or MANAGED_COMMENT,
                                adopt=bool(params.get("adopt")) and state == "present",
                                per_page=params.get("per_page", 500))
    try:
        plan = dns.plan(wanted, state=state)
        result = {"changed": plan.changed, "zone_id": dns.zone_id, "conflicts": plan.conflicts,
                  "unmanaged": plan.unmanaged, "diff": plan_diff(plan, dns.comment)}
        if plan.conflicts:
            raise ConflictError(plan.conflicts)
        if check_mode:
            result["changes"] = [c.as_dict() for c in plan.changes]
            return result
        done = dns.apply(plan)
        result["changes"] = [c.as_dict() for c in done]
        result["changed"] = any(c.action != "exists" for c in done)
        result["records"] = dns.records_at(wanted) if done else [r.summary() for r in plan.scope
                                                                  if r.key in {w.key for w in wanted}]
        return result
    except cloudflare.APIStatusError as exc:
        raise DnsError(describe_api_error(exc, params.get("max_retries", 4))) from exc
    except cloudflare.APIConnectionError as exc:
        raise DnsError(f"cannot reach the Cloudflare API at {dns.client.base_url}: {exc}") from exc


def main():
    module = AnsibleModule(
        argument_spec={
            "api_token": {"type": "str", "required": True, "no_log": True, "fallback": (env_fallback, ["CLOUDFLARE_API_TOKEN"])},
            "zone": {"type": "str", "required": True},
            "zone_id": {"type": "str"},
            "records": {"type": "list", "elements": "dict", "required": True, "options": {
                "name": {"type": "str", "required": True},
                "type": {"type": "str", "required": True, "choices": list(RECORD_TYPES)},
                "value": {"type": "str"},
                "ttl": {"type": "int"},
                "proxied": {"type": "bool"},
            }},
            "ttl": {"type": "int", "default": 300},
            "proxied": {"type": "bool", "default": False},
            "state": {"type": "str", "default": "present", "choices": ["present", "absent"]},
            "comment": {"type": "str", "default": MANAGED_COMMENT},
            "adopt": {"type": "bool", "default": False},
            "base_url": {"type": "str"},
            "max_retries": {"type": "int", "default": 4},
            "timeout": {"type": "float", "default": 30},
            "per_page": {"type": "int", "default": 500},
        },
        supports_check_mode=True,
    )
    if not HAS_CLOUDFLARE:
        module.fail_json(msg=missing_required_lib("cloudflare (pip install 'cloudflare>=4,<6')"),
                         exception=CLOUDFLARE_IMPORT_ERROR)
    try:
        result = run(module.params, check_mode=module.check_mode)
    except ConflictError as exc:
        module.fail_json(msg=str(exc), conflicts=exc.conflicts, changes=[])
    except DnsError as exc:
        module.fail_json(msg=str(exc), changes=[])
    if not module._diff:
        result.pop("diff", None)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
