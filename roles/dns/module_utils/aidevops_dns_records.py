# Copyright: aidevops contributors. MIT License.
"""DNS records made uniform: one set of rules for the dns role's filters and its Cloudflare module.

Two callers, two ways in:
- library/aidevops_cloudflare_dns.py runs on the controller as a module: Ansible ships this file with it
  (AnsiballZ) because the role's module_utils/ is on the module_utils path while the role runs, so the
  module imports it as `ansible.module_utils.aidevops_dns_records`.
- filter_plugins/dns_records.py runs inside the controller's own Python, where `ansible.module_utils` is
  the installed package only (role module_utils are not merged into it for plugins): the filter loads this
  file by its path, next to its own (see `load()` there).

Standard library only: the module may run on any Python that Ansible supports.
"""

from __future__ import annotations

import ipaddress

RECORD_TYPES = ("A", "AAAA", "CNAME", "CAA", "TXT")
PROXIABLE = frozenset({"A", "AAAA", "CNAME"})
RECORD_KEYS = frozenset({"name", "type", "value", "ttl", "proxied"})


class DnsError(Exception):
    """A problem worth a clear message (bad input, API error)."""


class OutsideZoneError(DnsError):
    """A fully qualified record name that is not in the zone."""


def _unset(value):
    return value is None or value == ""


def fqdn(name, zone):
    """A record name, fully qualified, lower case, without the final dot. Names may be relative to the
    zone, fully qualified (with or without the final dot) or '@' for the apex; each must lie in the zone."""
    zone = str(zone or "").lower().rstrip(".")
    name = str(name or "").strip().lower()
    if name in ("@", "", zone, zone + "."):
        return zone
    if name.endswith("."):
        name = name[:-1]
        if name != zone and not name.endswith("." + zone):
            raise OutsideZoneError(f"record {name}. is not in the zone {zone}")
        return name
    if name.endswith("." + zone):
        return name
    return f"{name}.{zone}"


def parse_caa(value):
    """CAA text `flags tag value` (value quoted or not) as Cloudflare's data object."""
    parts = str(value).strip().split(None, 2)
    if len(parts) != 3 or not parts[0].isdigit():
        raise DnsError(f"CAA value '{value}' is not '<flags> <tag> <value>', e.g. '0 issue letsencrypt.org'")
    flags, tag, val = parts
    val = val.strip()
    if len(val) >= 2 and val[0] == val[-1] == '"':
        val = val[1:-1]
    return {"flags": int(flags), "tag": tag.lower(), "value": val}


def canonical(rtype, value):
    """The value in the one form used everywhere: addresses normalised (IPv6 compressed), CNAME targets
    lower case without the final dot, TXT without its surrounding quotes (one string), CAA as
    `<flags> <tag> "<value>"`."""
    value = str(value).strip()
    try:
        if rtype == "A":
            return str(ipaddress.IPv4Address(value))
        if rtype == "AAAA":
            return ipaddress.IPv6Address(value).compressed
    except ValueError:
        raise DnsError(f"'{value}' is not an IPv{4 if rtype == 'A' else 6} address ({rtype} record)") from None
    if rtype == "CNAME":
        return value.lower().rstrip(".")
    if rtype == "TXT":
        return value[1:-1] if len(value) >= 2 and value[0] == value[-1] == '"' and value.count('"') == 2 else value
    if rtype == "CAA":
        data = parse_caa(value)
        return f'{data["flags"]} {data["tag"]} "{data["value"]}"'
    return value


def normalise_record(rec, zone, ttl=300, proxied=False, state="present", where="record"):
    """One record checked and made uniform: {name (FQDN), type, value (canonical, None when absent and
    allowed), ttl, proxied (only ever true for A, AAAA and CNAME)}. `ttl` and `proxied` are the defaults
    for a record that does not set its own; `where` names the record in messages."""
    if not isinstance(rec, dict) or _unset(rec.get("name")) or _unset(rec.get("type")):
        raise DnsError(f"{where} needs a name and a type")
    unknown = set(rec) - RECORD_KEYS
    if unknown:
        raise DnsError(f"{where} has unknown keys: {', '.join(sorted(unknown))}")
    rtype = str(rec["type"]).upper()
    if rtype not in RECORD_TYPES:
        raise DnsError(f"{where}: type {rtype} is not one of {', '.join(RECORD_TYPES)}")
    name = fqdn(rec["name"], zone)  # its own message names the record and the zone
    value = rec.get("value")
    if _unset(value):
        if state == "present":
            raise DnsError(f"{where} needs a value")
        value = None
    else:
        try:
            value = canonical(rtype, value)
        except DnsError as exc:
            raise DnsError(f"{where}: {exc}") from None
    return {
        "name": name,
        "type": rtype,
        "value": value,
        "ttl": int(ttl if _unset(rec.get("ttl")) else rec["ttl"]),
        "proxied": bool(proxied if _unset(rec.get("proxied")) else rec["proxied"]) and rtype in PROXIABLE,
    }
