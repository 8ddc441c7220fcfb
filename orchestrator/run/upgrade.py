"""An upgrade of a deployed service to another version, with a health gate and an automatic rollback
(`aidevops upgrade --service n8n --to VERSION`), recorded as one run.

The work is the role's (roles/n8n/tasks/upgrade.yml, through playbooks/n8n_upgrade.yml): it refuses before touching
anything when n8n does not run or the new image cannot be had, snapshots the database, switches, passes the health
gate or rolls back by itself in the same play. Each host writes its outcome as JSON into the run's folder; this
module reads them, records the upgrade and the rollback as the run's two phases (so `aidevops runs show` tells
both), publishes the `upgrade_rolled_back` alert, and maps the outcome to the exit code.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from orchestrator.errors import EXIT_BAD_INPUT, EXIT_CANCELLED, EXIT_FAILED, EXIT_OK, BadInput
from orchestrator.outcome import FAILED, SUCCEEDED, PhaseResult
from orchestrator.plan.placement import hosts_of, limit_for
from orchestrator.request import DeploymentRequest
from orchestrator.run import runner
from orchestrator.run.artifacts import scrub
from orchestrator.run.bus import Topic
from orchestrator.run.pump import EventPump
from orchestrator.run.session import RunSession
from orchestrator.store import now

# Services that can be upgraded, and the playbook that does it.
PLAYBOOKS = {"n8n": "n8n_upgrade.yml"}
# A version as the image tag carries it: X.Y.Z with an optional pre-release or build suffix (2.40.7, 2.41.0-rc.1).
VERSION = re.compile(r"[0-9]+\.[0-9]+\.[0-9]+(?:-[0-9A-Za-z][0-9A-Za-z._-]{0,62})?")

# One host's outcome (roles/n8n/tasks/upgrade_outcome.yml).
REFUSED, CURRENT, ABORTED, UPGRADED = "refused", "current", "aborted", "upgraded"
ROLLED_BACK, ROLLBACK_FAILED, NO_RECORD = "rolled_back", "rollback_failed", "no_record"
UPGRADE_PHASE, ROLLBACK_PHASE = "upgrade", "rollback"


def check_service(service: str, request: DeploymentRequest) -> str:
    if service not in PLAYBOOKS:
        raise BadInput(f"cannot upgrade '{service}': upgrades are supported for {', '.join(sorted(PLAYBOOKS))}",
                       hint="use --service n8n")
    if service not in request.services:
        raise BadInput(f"{service} is not deployed by this inventory (services: {', '.join(request.services)})",
                       where=str(request.inventory / "group_vars/all/aidevops.yml"),
                       hint=f"add {service} to aidevops.services and run `aidevops run` first")
    return service


def check_version(version: str) -> str:
    if not VERSION.fullmatch(version or ""):
        raise BadInput(f"'{version}' is not a version", where="--to",
                       hint="give the image's version tag, e.g. 2.40.7 or 2.41.0-rc.1")
    return version


@dataclass
class HostUpgrade:
    host: str
    outcome: str
    reason: str = ""
    version: str = ""
    image: str = ""
    previous_image: str = ""
    snapshot: str = ""
    rollback_reason: str = ""
    times: dict[str, float] = field(default_factory=dict)  # UTC epoch seconds of each step that happened

    @classmethod
    def read(cls, host: str, path: Path) -> HostUpgrade:
        try:
            data: dict[str, Any] = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError):
            return cls(host, NO_RECORD, "the host wrote no outcome (unreachable, or the play stopped early)")
        times = {k.removesuffix("_at"): float(v) for k, v in data.items()
                 if k.endswith("_at") and str(v).replace(".", "", 1).isdigit()}
        return cls(host, str(data.get("outcome", NO_RECORD)), str(data.get("reason", "")),
                   str(data.get("version", "")), str(data.get("image", "")), str(data.get("previous_image", "")),
                   str(data.get("snapshot", "")), str(data.get("rollback_reason", "")), times)

    def seconds(self, start: str, end: str) -> float | None:
        if start in self.times and end in self.times:
            return round(self.times[end] - self.times[start], 1)
        return None

    @property
    def rollback_seconds(self) -> float | None:
        """From the gate's failure to n8n passing the gate again on the previous version."""
        return self.seconds("failed", "rolled_back") or self.seconds("failed", "rollback_failed")

    def summary(self) -> str:
        took = self.seconds("switch", "gate_passed")
        if self.outcome == UPGRADED:
            return f"upgraded to {self.image} (from {self.previous_image}; switch and gate {took}s)"
        if self.outcome == CURRENT:
            return f"already on {self.image}: nothing to do"
        if self.outcome == ROLLED_BACK:
            return (f"upgrade to {self.image} failed ({self.reason}); rolled back to {self.previous_image} and the "
                    f"pre-upgrade database in {self.rollback_seconds}s")
        if self.outcome == ROLLBACK_FAILED:
            return (f"upgrade to {self.image} failed ({self.reason}); ROLLBACK FAILED ({self.rollback_reason}): "
                    f"n8n may be down; previous compose and env files are *.pre-upgrade in the project folder, "
                    f"the pre-upgrade dump {self.snapshot}")
        if self.outcome == ABORTED:
            return f"aborted before the switch, n8n untouched: {self.reason}"
        if self.outcome == REFUSED:
            return f"refused, nothing changed: {self.reason}"
        return self.reason


@dataclass
class UpgradeOutcome:
    run_id: str
    status: str
    exit_code: int
    service: str
    version: str
    hosts: list[HostUpgrade]
    duration: float = 0.0

    @property
    def rolled_back(self) -> bool:
        return any(h.outcome in (ROLLED_BACK, ROLLBACK_FAILED) for h in self.hosts)


def exit_code(hosts: list[HostUpgrade]) -> tuple[str, int]:
    """0 when every host runs the new version, 2 when every host refused (nothing changed), else 1."""
    outcomes = {h.outcome for h in hosts}
    if outcomes and outcomes <= {UPGRADED, CURRENT}:
        return SUCCEEDED, EXIT_OK
    if outcomes == {REFUSED}:
        return "refused", EXIT_BAD_INPUT
    return FAILED, EXIT_FAILED


class Upgrade:
    def __init__(self, request: DeploymentRequest, service: str, version: str):
        self.request, self.service, self.version = request, service, version
        self.session = RunSession(request.inventory, "upgrade")
        self.run_id = self.session.run_id
        self.cancel = threading.Event()

    def run(self) -> UpgradeOutcome:
        s = self.session
        s.start({**self.request.as_dict(), "service": self.service, "to": self.version},
                service=self.service, version=self.version, phases=[UPGRADE_PHASE])
        outcomes = s.run_dir / "upgrade-outcome"
        outcomes.mkdir(parents=True, exist_ok=True)
        private = s.phase_dir(UPGRADE_PHASE)
        started_at = now()
        s.bus.publish(UPGRADE_PHASE, Topic.PHASE, "started",
                      {"artifact_dir": str(private / "artifacts" / UPGRADE_PHASE), "playbook": PLAYBOOKS[self.service],
                       "entry": None})
        pump = EventPump(s.bus, s.redactor)
        try:
            with pump:
                run = runner.run_playbook(
                    phase=UPGRADE_PHASE, playbook=PLAYBOOKS[self.service], inventory=self.request.inventory,
                    private_data_dir=private, events=pump.queue, cancel=self.cancel,
                    extravars={"n8n_version": self.version, "n8n_upgrade_outcome_dir": str(outcomes),
                               "aidevops_run_id": self.run_id},
                    limit=limit_for(self.request, [self.service]))
                pump.flush()
        finally:
            runner.kill_run_leftovers(s.run_dir)
        scrub(private, s.redactor)
        hosts = [HostUpgrade.read(h, outcomes / f"{h}.json") for h in hosts_of(self.request, self.service)]
        status, code = exit_code(hosts)
        if self.cancel.is_set() or run.status == "canceled":
            status, code = "cancelled", EXIT_CANCELLED
        self._record(hosts, run, started_at)
        duration = s.finish(status, code)
        return UpgradeOutcome(self.run_id, status, code, self.service, self.version, hosts, duration)

    def _record(self, hosts: list[HostUpgrade], run: runner.PhaseRun, started_at: str) -> None:
        """The upgrade and, when one happened, the rollback as the run's phases; the alert for a rollback."""
        s = self.session
        lines = [f"{h.host}: {h.summary()}" for h in hosts]
        ok = all(h.outcome in (UPGRADED, CURRENT) for h in hosts)
        s.bus.publish(UPGRADE_PHASE, Topic.PHASE, "finished", PhaseResult(
            UPGRADE_PHASE, SUCCEEDED if ok else FAILED, s.redactor.text("; ".join(lines))[:2000], started_at, now(),
            run.duration, run.rc, str(run.artifact_dir)))
        rolled = [h for h in hosts if h.outcome in (ROLLED_BACK, ROLLBACK_FAILED)]
        if not rolled:
            return
        failed = [h for h in rolled if h.outcome == ROLLBACK_FAILED]
        reason = "; ".join(f"{h.host}: " + (f"rollback failed: {h.rollback_reason}" if h in failed else
                                            f"back on {h.previous_image} with the pre-upgrade database in "
                                            f"{h.rollback_seconds}s") for h in rolled)
        s.bus.publish(ROLLBACK_PHASE, Topic.PHASE, "finished", PhaseResult(
            ROLLBACK_PHASE, FAILED if failed else SUCCEEDED, s.redactor.text(reason)[:2000], started_at, now(),
            max((h.rollback_seconds or 0) for h in rolled), None, str(run.artifact_dir)))
        message = (f"upgrade of {self.service} to {self.version} failed the health gate on "
                   f"{', '.join(h.host for h in rolled)}: " + ("rollback FAILED" if failed else "rolled back"))
        s.alert("orchestrator", "upgrade_rolled_back", message, "high",
                service=self.service, version=self.version, rollback_succeeded=not failed,
                hosts={h.host: {"outcome": h.outcome, "previous_image": h.previous_image,
                                "rollback_seconds": h.rollback_seconds} for h in rolled})
