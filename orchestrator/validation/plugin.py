"""A pytest plugin (`-p orchestrator.validation.plugin`) that turns each test of a validation suite into a finding.

A finding is one check on one host or endpoint: check id `<agent>.<test>[<param>]` (the suite file is
test_<agent>.py), status passed|failed|error|skipped, severity from `@pytest.mark.severity("high")` (default
medium), title from the docstring's first line, evidence from the assertion's message. Tests record figures
through the `metric` fixture. Both go to the JSON file named by --aidevops-out; the validator redacts and
stores them. The suites read their targets and thresholds from --aidevops-config (JSON written by the agent).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from orchestrator import atomic
from orchestrator.validation.findings import SEVERITIES, Finding, Metric, Outcome

HOST_PARAM = "_testinfra_host"  # testinfra parametrizes host tests with this
TARGET_PARAMS = ("endpoint",)  # parameters naming what a controller-side check looks at
EVIDENCE_MAX = 500
_RESULT = pytest.StashKey[dict]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("aidevops")
    group.addoption("--aidevops-config", metavar="JSON", help="targets and thresholds of the validation suites")
    group.addoption("--aidevops-out", metavar="JSON", help="write findings and metrics here")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "severity(level): critical, high, medium, low or info (default medium)")
    config._aidevops = Outcome()  # type: ignore[attr-defined]


@pytest.fixture(scope="session")
def validation_config(pytestconfig: pytest.Config) -> dict[str, Any]:
    path = pytestconfig.getoption("aidevops_config")
    return json.loads(Path(path).read_text()) if path else {}


@pytest.fixture
def metric(request: pytest.FixtureRequest):
    """metric(name, target, value, unit=..., threshold=..., passed=..., detail=..., text_value=...)."""
    outcome: Outcome = request.config._aidevops  # type: ignore[attr-defined]

    def record(name: str, target: str | None, value: float | None, **kwargs: Any) -> Metric:
        m = Metric(name, target, value, **kwargs)
        outcome.metrics.append(m)
        return m

    return record


def check_id(item: pytest.Item) -> str:
    module = Path(str(item.fspath)).stem.removeprefix("test_")
    name = getattr(item, "originalname", item.name).removeprefix("test_")
    params = getattr(getattr(item, "callspec", None), "params", {})
    extra = [str(v) for k, v in params.items() if k != HOST_PARAM]
    return f"{module}.{name}" + (f"[{','.join(extra)}]" if extra else "")


def target_of(item: pytest.Item) -> str | None:
    params = getattr(getattr(item, "callspec", None), "params", {})
    for key in TARGET_PARAMS:
        if key in params:
            return str(params[key])
    host = params.get(HOST_PARAM)
    if host is not None:
        backend = host.backend
        return getattr(backend, "host", None) or backend.get_hostname()
    return None


def severity_of(item: pytest.Item) -> str:
    mark = item.get_closest_marker("severity")
    level = mark.args[0] if mark and mark.args else "medium"
    if level not in SEVERITIES:
        raise pytest.UsageError(f"{item.nodeid}: unknown severity {level!r}")
    return level


def title_of(item: pytest.Item) -> str:
    doc = (getattr(item, "function", None).__doc__ or "").strip() if hasattr(item, "function") else ""
    return doc.splitlines()[0] if doc else item.name


def evidence_of(report: pytest.TestReport, call: pytest.CallInfo | None) -> str:
    """The assertion's own message (the text after `assert cond, ...`), else the error's first line."""
    if report.skipped:
        longrepr = report.longrepr
        reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
        return reason.removeprefix("Skipped: ")[:EVIDENCE_MAX]
    if call is None or call.excinfo is None:
        return ""
    exc = call.excinfo.value
    if isinstance(exc, AssertionError):
        text = str(exc).split("\nassert ")[0].strip()
        return (text.splitlines()[0] if text else "assertion failed")[:EVIDENCE_MAX]
    first = (str(exc).strip().splitlines() or [""])[0]
    return f"{type(exc).__name__}: {first}"[:EVIDENCE_MAX]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    result = yield
    report: pytest.TestReport = result.get_result()
    results = item.stash.setdefault(_RESULT, {})
    # The first non-passing phase decides: a broken fixture (setup) is an error, a failed assertion a failure.
    if "status" in results:
        return
    if report.skipped:
        results.update(status="skipped", evidence=evidence_of(report, call))
    elif report.failed:
        is_assert = call.excinfo is not None and isinstance(call.excinfo.value, AssertionError)
        status = "failed" if report.when == "call" and is_assert else "error"
        results.update(status=status, evidence=evidence_of(report, call))
    elif report.when == "teardown":
        results.update(status="passed", evidence="")


def pytest_sessionfinish(session: pytest.Session) -> None:
    outcome: Outcome = session.config._aidevops  # type: ignore[attr-defined]
    for item in session.items:
        results = item.stash.get(_RESULT, {})
        if "status" not in results:
            continue
        outcome.findings.append(Finding(
            check_id=check_id(item), host=target_of(item), status=results["status"], severity=severity_of(item),
            title=title_of(item), evidence=results["evidence"], agent=Path(str(item.fspath)).stem.removeprefix("test_"),
        ))
    out = session.config.getoption("aidevops_out")
    if out:
        atomic.write_text(Path(out), json.dumps(outcome.as_dict(), indent=2))


def load_outcome(path: Path) -> Outcome:
    data = json.loads(path.read_text())
    return Outcome([Finding(**f) for f in data.get("findings", [])], [Metric(**m) for m in data.get("metrics", [])])

