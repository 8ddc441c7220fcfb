"""The sites the proxy serves, from the service declarations of the roles beside it (meta/aidevops.yml).

Each service role declares its public sites once (name, default subdomain, upstream port, and the proxy
settings the app needs: websockets, timeouts, body size, special locations); the aidevops orchestrator reads
the same declaration. These filters turn it into the role's defaults: host names, upstreams and sites.
"""

from __future__ import annotations

import glob
import os

import yaml


def declared_sites(roles_dir):
    """[{service, name, subdomain, upstream_port, proxy}] of every role under roles_dir that declares a service."""
    out = []
    for path in sorted(glob.glob(os.path.join(str(roles_dir), "*", "meta", "aidevops.yml"))):
        with open(path, encoding="utf-8") as f:
            data = yaml.safe_load(f) or {}
        service = ((data.get("agent") or {}).get("service")) if isinstance(data, dict) else None
        if not service:
            continue
        for site in service.get("sites") or []:
            out.append({"service": service["name"], "name": site["name"],
                        "subdomain": site.get("subdomain") or site["name"],
                        "upstream_port": int(site["upstream_port"]), "proxy": dict(site.get("proxy") or {})})
    return out


def site_hostnames(declared, domain, given=None):
    """Each site's host name: the request's `hostnames:` entry, else <subdomain>.<domain>."""
    given = given or {}
    return {s["name"]: given.get(s["name"]) or f"{s['subdomain']}.{domain}" for s in declared}


def site_upstreams(declared):
    """Each site's upstream on the host itself: the app listens on 127.0.0.1 only."""
    return {s["name"]: f"http://127.0.0.1:{s['upstream_port']}" for s in declared}


def service_sites(declared, services, hostnames, upstreams):
    """nginx_proxy_sites for the given services, with each site's declared proxy settings."""
    return [{"name": s["name"], "server_name": hostnames[s["name"]], "upstream": upstreams[s["name"]], **s["proxy"]}
            for s in declared if s["service"] in services]


def placed_on(services, placement, host):
    """The services placed on HOST: `aidevops_placement` (service -> hosts, set by the orchestrator when it
    places services on inventory groups); without it, every service (a plain ansible-playbook run)."""
    if not placement:
        return list(services or [])
    return [s for s in services or [] if host in (placement.get(s) or [])]


class FilterModule:
    def filters(self):
        return {"aidevops_declared_sites": declared_sites, "aidevops_site_hostnames": site_hostnames,
                "aidevops_site_upstreams": site_upstreams, "aidevops_service_sites": service_sites,
                "aidevops_placed_on": placed_on}
