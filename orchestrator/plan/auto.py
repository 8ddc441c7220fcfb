"""`placement: auto`: the offline planner puts each service on a host that has room for it.

Each service role declares what it needs of its host (`agent.service.needs`: memory, cores, disk, from the
upstream project's documented minimum). The hosts' facts say what they have. Services are placed largest
first (by memory), each on a host that still fits all three needs: the one with the fewest services so far
(spread: Supabase's guide asks for a machine of its own), then the most memory left; ties go to the host listed
first. A service that fits
nowhere is refused with one line naming its needs and what each host has left. Deterministic: the same facts
give the same placement, and a run keeps it (later runs re-place only services it does not know).
"""

from __future__ import annotations

from dataclasses import dataclass

from orchestrator.agents.declaration import Needs
from orchestrator.errors import BadInput


@dataclass(frozen=True)
class HostFacts:
    name: str
    memory_mb: int  # ansible_memtotal_mb
    cores: int  # ansible_processor_vcpus
    disk_gb: float  # free space of the file system that holds / (ansible_mounts)


def _fits(left: dict[str, float], needs: Needs) -> bool:
    return left["memory_mb"] >= needs.memory_mb and left["cores"] >= needs.cores and left["disk_gb"] >= needs.disk_gb


def _describe(needs: Needs) -> str:
    return f"{needs.memory_mb} MB memory, {needs.cores} core(s), {needs.disk_gb} GB disk"


def _left(facts: list[HostFacts]) -> dict[str, dict[str, float]]:
    return {f.name: {"memory_mb": float(f.memory_mb), "cores": float(f.cores), "disk_gb": float(f.disk_gb)}
            for f in facts}


def _take(left: dict[str, float], needs: Needs) -> None:
    for key in left:
        left[key] -= getattr(needs, key)


def _kept(needs: dict[str, Needs], left: dict[str, dict[str, float]], count: dict[str, int],
          kept: dict[str, tuple[str, ...]] | None) -> tuple[dict[str, tuple[str, ...]], dict[str, str]]:
    """An earlier run's placement of some services, on hosts that still exist: taken as it is, counted first."""
    placed, reasons = {}, {}
    for service, hosts in (kept or {}).items():
        if service in needs and hosts and all(h in left for h in hosts):
            placed[service], reasons[service] = hosts, "auto: kept from an earlier run"
            for h in hosts:
                count[h] += 1
                _take(left[h], needs[service])
    return placed, reasons


def _room(service: str, want: Needs, host: str, left: dict[str, float]) -> str:
    return (f"{host} has {left['memory_mb']:.0f} MB, {left['cores']:.0f} core(s), {left['disk_gb']:.0f} GB left; "
            f"{service} needs {_describe(want)}")


def auto_place(needs: dict[str, Needs], facts: list[HostFacts],
               kept: dict[str, tuple[str, ...]] | None = None) -> tuple[dict[str, tuple[str, ...]], dict[str, str]]:
    """(service -> (host,), service -> why) for every service in NEEDS; KEPT (an earlier run's placement of some
    of them, on hosts that still exist) is taken as it is and its needs counted first."""
    left = _left(facts)
    order = [f.name for f in facts]
    count = dict.fromkeys(order, 0)  # services placed on each host so far
    placed, reasons = _kept(needs, left, count, kept)
    for service in sorted((s for s in needs if s not in placed), key=lambda s: (-needs[s].memory_mb, s)):
        want = needs[service]
        fitting = [h for h in order if _fits(left[h], want)]
        if not fitting:
            have = "; ".join(f"{h}: {left[h]['memory_mb']:.0f} MB, {left[h]['cores']:.0f} core(s), "
                             f"{left[h]['disk_gb']:.0f} GB left" for h in order)
            raise BadInput(f"placement auto: {service} needs {_describe(want)} and no host has that left ({have})",
                           hint="add a bigger host, or place the services yourself with inventory groups "
                                "(placement: groups)")
        best = max(fitting, key=lambda h: (-count[h], left[h]["memory_mb"], -order.index(h)))
        count[best] += 1
        placed[service] = (best,)
        reasons[service] = "auto: " + _room(service, want, best, left[best])
        _take(left[best], want)
    return {s: placed[s] for s in needs}, {s: reasons[s] for s in needs}


def check_placement(needs: dict[str, Needs], facts: list[HostFacts], proposal: dict[str, str],
                    kept: dict[str, tuple[str, ...]] | None = None, by: str = "proposed"
                    ) -> tuple[dict[str, tuple[str, ...]], dict[str, str]]:
    """A placement proposed elsewhere (an AI provider), held to the same needs: each service of NEEDS that KEPT
    does not place goes on one known host, and every host keeps within what its facts say it has, with what is
    kept counted first. (placed, reasons), or ValueError naming the first thing that does not hold."""
    left = _left(facts)
    count = dict.fromkeys(left, 0)
    placed, reasons = _kept(needs, left, count, kept)
    for service in sorted(needs, key=lambda s: (-needs[s].memory_mb, s)):
        if service in placed:
            continue
        host = proposal.get(service)
        if host not in left:
            raise ValueError(f"{service}: {host!r} is not one of the hosts ({', '.join(left)})" if host
                             else f"{service}: no host proposed")
        if not _fits(left[host], needs[service]):
            raise ValueError(f"{service} does not fit on {_room(service, needs[service], host, left[host])}")
        placed[service] = (host,)
        reasons[service] = f"auto ({by}): " + _room(service, needs[service], host, left[host])
        _take(left[host], needs[service])
    unknown = sorted(set(proposal) - set(needs))
    if unknown:
        raise ValueError(f"{unknown[0]} is not a service of this deployment ({', '.join(needs)})")
    return {s: placed[s] for s in needs}, {s: reasons[s] for s in needs}
