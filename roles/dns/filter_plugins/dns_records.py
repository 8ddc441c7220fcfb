"""Filters of the dns role: the records a deployment needs, in the form each provider takes."""

from __future__ import annotations

import importlib.util
import ipaddress
import sys
from pathlib import Path

import yaml
from ansible.errors import AnsibleFilterError


def _load_records():
    """The role's module_utils/aidevops_dns_records.py, which the Cloudflare module uses too. A controller
    plugin cannot import a role's module_utils as `ansible.module_utils.*` (only modules get them, through
    AnsiballZ), so it is loaded by its path in this role."""
    path = Path(__file__).resolve().parents[1] / "module_utils" / "aidevops_dns_records.py"
    name = f"_aidevops_dns_role_records_{abs(hash(str(path)))}"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        sys.modules[name] = module
    return sys.modules[name]


_records = _load_records()

# The roles beside this one: their service declarations (meta/aidevops.yml) say which sites each service has.
ROLES_DIR = Path(__file__).resolve().parents[2]


def declared_sites(roles_dir=ROLES_DIR):
    """{service: [(site name, default subdomain)]} from the service declarations of the roles in roles_dir."""
    out = {}
    for path in sorted(Path(roles_dir).glob("*/meta/aidevops.yml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        service = (data.get("agent") or {}).get("service") if isinstance(data, dict) else None
        if service:
            out[service["name"]] = [(s["name"], s.get("subdomain") or s["name"]) for s in service.get("sites") or []]
    return out


def dns_global_address(candidates, version=4):
    """The first candidate that is a public (global) IPv4/IPv6 address, or '' when there is none."""
    for candidate in candidates or []:
        try:
            address = ipaddress.ip_address(str(candidate).strip())
        except ValueError:
            continue
        if address.version == int(version) and address.is_global:
            return str(address)
    return ""


def dns_service_hostnames(services, domain, hostnames=None, roles_dir=ROLES_DIR):
    """The host names of the requested services' sites: `hostnames` (site -> FQDN) over <subdomain>.<domain>,
    as each service's declaration names its sites (n8n; supabase and studio for Supabase)."""
    domain = str(domain or "").lower().rstrip(".")
    sites = declared_sites(roles_dir)
    names = {key: f"{sub}.{domain}" for declared in sites.values() for key, sub in declared}
    for key, name in (hostnames or {}).items():
        if key not in names:
            raise AnsibleFilterError(f"dns: unknown service '{key}' in hostnames (expected {', '.join(names)})")
        names[key] = str(name).lower().rstrip(".")
    out = []
    for service in services or []:
        if service not in sites:
            raise AnsibleFilterError(f"dns: unknown service '{service}' (expected {', '.join(sites)})")
        out.extend(names[key] for key, _ in sites[service] if names[key] not in out)
    return out


def dns_default_records(hostnames, ipv4="", ipv6="", caa_issuer="", state="present"):
    """A (and AAAA) records of each host name to the server, and a CAA record per name for the ACME CA.
    With state absent: A, AAAA and CAA of each name without values (whatever they point at)."""
    if state == "absent":
        return [{"name": name, "type": rtype} for name in hostnames or [] for rtype in ("A", "AAAA", "CAA")]
    records = []
    for name in hostnames or []:
        if ipv4:
            records.append({"name": name, "type": "A", "value": ipv4})
        if ipv6:
            records.append({"name": name, "type": "AAAA", "value": ipv6})
        if caa_issuer:
            records.append({"name": name, "type": "CAA", "value": f'0 issue "{caa_issuer}"'})
    return records


def dns_records(records, zone, ttl=300, proxied=False, state="present"):
    """Records checked and made uniform: {name (FQDN), type, value, ttl, proxied} (the Cloudflare module's
    input). Names may be relative to the zone, fully qualified, or '@'; each must lie inside the zone.
    The rules are module_utils/aidevops_dns_records.py's, the module's own."""
    zone = str(zone or "").lower().rstrip(".")
    if not zone:
        raise AnsibleFilterError("dns: the zone is empty (set dns_zone or aidevops.domain)")
    out = []
    for i, rec in enumerate(records or []):
        where = f"record {i + 1} ({rec.get('name') if isinstance(rec, dict) else rec})"
        try:
            item = _records.normalise_record(rec, zone, ttl=ttl, proxied=proxied, state=state, where=where)
        except _records.OutsideZoneError as exc:
            raise AnsibleFilterError(f"dns: {exc} (dns_zone)") from None
        except _records.DnsError as exc:
            raise AnsibleFilterError(f"dns: {exc}") from None
        if item not in out:
            out.append(item)
    return out


def _rfc2136_value(rtype, value):
    if rtype == "CNAME":
        return value.rstrip(".") + "."
    if rtype == "TXT" and not (len(value) >= 2 and value[0] == value[-1] == '"'):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return value


def dns_by_zone(host_records):
    """Merges the hosts' {zone, records} into one {zone, records} per zone (duplicates dropped), in order."""
    zones = {}
    for entry in host_records or []:
        if not entry:
            continue
        records = zones.setdefault(entry["zone"], [])
        records.extend(r for r in entry["records"] if r not in records)
    return [{"zone": zone, "records": records} for zone, records in zones.items()]


def dns_rrsets(by_zone):
    """Records grouped by name and type (RFC 2136 updates whole record sets): {zone, name, type, ttl, values}.
    The first record of a set gives its TTL; values are in zone-file form (quoted TXT, absolute CNAME)."""
    out = []
    for entry in by_zone or []:
        sets = {}
        for rec in entry["records"]:
            key = (rec["name"], rec["type"])
            rrset = sets.setdefault(key, {"zone": entry["zone"], "name": rec["name"], "type": rec["type"],
                                          "ttl": rec["ttl"], "values": []})
            if rec.get("value") not in (None, ""):
                value = _rfc2136_value(rec["type"], rec["value"])
                if value not in rrset["values"]:
                    rrset["values"].append(value)
        out.extend(sets.values())
    return out


def placed_on(services, placement, host):
    """The services placed on HOST: `aidevops_placement` (service -> hosts, set by the orchestrator when it
    places services on inventory groups); without it, every service (a plain ansible-playbook run)."""
    if not placement:
        return list(services or [])
    return [s for s in services or [] if host in (placement.get(s) or [])]


class FilterModule:
    def filters(self):
        return {
            "aidevops_dns_global_address": dns_global_address,
            "aidevops_dns_service_hostnames": dns_service_hostnames,
            "aidevops_dns_default_records": dns_default_records,
            "aidevops_dns_records": dns_records,
            "aidevops_dns_by_zone": dns_by_zone,
            "aidevops_dns_rrsets": dns_rrsets,
            "aidevops_placed_on": placed_on,
        }
