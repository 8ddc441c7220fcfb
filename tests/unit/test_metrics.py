"""`aidevops metrics`: figures across the runs of an inventory's store, written as real runs write them (the
store's recording API), read back as a user does: the table, --json, and --prometheus parsed by
prometheus_client's own parser (and by promtool when this machine has it)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from orchestrator.errors import BadInput
from orchestrator.state import StateDir
from orchestrator.store import RunStore
from orchestrator.store.metrics import fallback_kind, inventory_metrics, nearest_rank
from orchestrator.store.prices import load_prices

RAW_SECRET = "sk-ant-RAW-ANSWER-never-printed"
SONNET, HAIKU = "claude-sonnet-4-5", "claude-haiku-4-5"
PRICES = f"{SONNET}: {{input: 3, output: 15, cache_read: 0.3, cache_write: 3.75}}\n"
# Recorded tokens of SONNET: 2200 in (800 read from the cache, 400 written to it), 150 out.
SONNET_COST = (1000 * 3 + 150 * 15 + 800 * 0.3 + 400 * 3.75) / 1e6


def phase(store: RunStore, run_id: str, name: str, status: str, duration: float | None) -> None:
    """A phase as RunRecorder records it: running when it starts, its result when it ends. One that never
    started (kept, skipped for a failed dependency) only gets its result."""
    if duration is None:
        store.record_phase(run_id, name, status, "not run")
        return
    started, ended = "2026-11-20T10:00:00.000+00:00", "2026-11-20T10:05:00.000+00:00"
    store.record_phase(run_id, name, "running", started_at=started)
    store.record_phase(run_id, name, status, "", started, ended, duration, 0 if status == "succeeded" else 2,
                       f"/runs/{run_id}/{name}")


def run(store: RunStore, run_id: str, command: str, status: str, duration: float,
        phases: dict[str, tuple[str, float | None]]) -> None:
    store.start_run(run_id, "inventories/prod", command, {"domain": "client.example"}, f"/runs/{run_id}")
    for name, (phase_status, took) in phases.items():
        phase(store, run_id, name, phase_status, took)
    exit_code = {"succeeded": 0, "degraded": 3, "failed": 1, "cancelled": 130}[status]
    store.finish_run(run_id, status, exit_code, duration)


def decision(store: RunStore, run_id: str, model: str | None, *, provider: str = "anthropic",
             tokens=(0, 0, 0, 0), latency: float = 0.0, fallback: str | None = None,
             cached: bool = False) -> None:
    """A decision as DecisionLog records it (tokens and latency 0 for a cached answer or a failed call)."""
    tokens_in, tokens_out, cache_read, cache_write = tokens
    store.record_decision(run_id, decision_type="recovery", agent_id="nginx_proxy", provider=provider,
                          model=model, prompt_sha256="0" * 64, prompt_chars=900,
                          raw_answer=f'{{"token": "{RAW_SECRET}"}}', validation={"ok": fallback is None},
                          decision={"action": "retry", "reason": "flaky"}, fallback_reason=fallback,
                          tokens_in=tokens_in, tokens_out=tokens_out, cache_read=cache_read,
                          cache_write=cache_write, latency=latency, request_id="req_1", cached=int(cached))


def fill(inventory: Path) -> Path:
    """Four deployments, a dry run and a validation, with recoveries and AI decisions:
    base_server 40, 50, 60 s (kept in the fourth); n8n succeeded 100, degraded 120, failed 30, succeeded 110;
    nginx_proxy 20, 25 after two recovery attempts (the second worked), skipped, cancelled."""
    inventory.mkdir(parents=True, exist_ok=True)
    store = RunStore(StateDir(inventory).db)
    run(store, "r1", "run", "succeeded", 200.0,
        {"base_server": ("succeeded", 40.0), "n8n": ("succeeded", 100.0), "nginx_proxy": ("succeeded", 20.0)})
    run(store, "r2", "run --ai anthropic", "degraded", 250.0,
        {"base_server": ("succeeded", 50.0), "n8n": ("degraded", 120.0), "nginx_proxy": ("succeeded", 25.0)})
    store.record_recovery("nginx_proxy:abc", "nginx_proxy", {"action": "retry"}, False, "r2")
    store.record_recovery("nginx_proxy:abc", "nginx_proxy", {"action": "retry_with_variables"}, True, "r2")
    decision(store, "r2", SONNET, tokens=(1200, 100, 800, 0), latency=2.0)
    decision(store, "r2", SONNET, fallback="timeout: the provider did not answer in 30s")
    decision(store, "r2", SONNET, tokens=(1000, 50, 0, 400), latency=4.0,
             fallback="invalid answer: nginx_proxy_foo is not a declared variable")
    decision(store, "r2", SONNET, cached=True)
    decision(store, "r2", SONNET, fallback="timeout: read timed out")
    decision(store, "r2", None, provider="offline")
    run(store, "r3", "run", "failed", 90.0, {"base_server": ("succeeded", 60.0), "n8n": ("failed", 30.0),
                                             "nginx_proxy": ("skipped", None)})
    run(store, "r4", "run --resume r3", "cancelled", 40.0,
        {"base_server": ("kept", None), "n8n": ("succeeded", 110.0), "nginx_proxy": ("cancelled", 3.0)})
    run(store, "r5", "run --check", "succeeded", 30.0, {"base_server": ("succeeded", 999.0)})  # a dry run
    run(store, "r6", "validate", "succeeded", 15.0, {"validator": ("succeeded", 15.0)})
    decision(store, "plan-1", HAIKU, tokens=(500, 20, 0, 0), latency=1.0)  # `aidevops plan --ai`: no run
    # A deployment in progress (this process is alive): neither it nor its running phase is counted yet.
    store.start_run("r7", "inventories/prod", "run", {}, "/runs/r7")
    store.record_phase("r7", "n8n", "running", started_at="2026-11-21T10:00:00.000+00:00")
    store.close()
    return inventory


@pytest.fixture(scope="module")
def prod(tmp_path_factory) -> Path:
    return fill(tmp_path_factory.mktemp("inventories") / "prod")


@pytest.fixture(scope="module")
def figures(prod):
    store = RunStore(StateDir(prod).db)
    yield inventory_metrics(store, "prod", str(prod), load_prices_text(prod.parent, PRICES))
    store.close()


def load_prices_text(folder: Path, text: str):
    path = folder / "prices.yml"
    path.write_text(text)
    return load_prices(path)


def cli(*args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "AIDEVOPS_INVENTORY"}
    return subprocess.run([sys.executable, "-m", "orchestrator.cli", "metrics", *args], capture_output=True,
                          text=True, timeout=120, check=False, env=env)


def by_agent(figures):
    return {a.agent: a for a in figures.agents}


# -- the figures ---------------------------------------------------------------------------------------------


def test_nearest_rank_p95_is_one_of_the_durations():
    assert nearest_rank([], 0.95) is None
    assert nearest_rank([7.0], 0.95) == 7.0
    assert nearest_rank([float(n) for n in range(20, 0, -1)], 0.95) == 19.0  # ceil(0.95 * 20) = 19th of 1..20
    assert nearest_rank([float(n) for n in range(1, 101)], 0.95) == 95.0
    assert nearest_rank([30.0, 100.0, 110.0, 120.0], 0.95) == 120.0  # ceil(3.8) = 4th


def test_an_agent_that_failed_once_in_four_runs_succeeds_three_times_in_four(figures):
    n8n = by_agent(figures)["n8n"]
    assert n8n.runs == 4 and n8n.by_status == {"degraded": 1, "failed": 1, "succeeded": 2}
    assert n8n.success_rate == 0.75
    assert n8n.mean_seconds == 90.0 and n8n.p95_seconds == 120.0


def test_dry_runs_kept_and_never_started_phases_are_not_agent_runs(figures):
    agents = by_agent(figures)
    base = agents["base_server"]  # its 999 s in `run --check` and its kept phase in r4 do not count
    assert (base.runs, base.success_rate, base.mean_seconds, base.p95_seconds) == (3, 1.0, 50.0, 60.0)
    nginx = agents["nginx_proxy"]  # skipped for a failed dependency: never started; cancelled: no verdict
    assert nginx.runs == 3 and nginx.by_status == {"cancelled": 1, "succeeded": 2}
    assert nginx.success_rate == 1.0 and nginx.mean_seconds == 22.5 and nginx.p95_seconds == 25.0
    assert agents["validator"].runs == 1  # `aidevops validate` runs an agent too
    assert sorted(agents) == ["base_server", "n8n", "nginx_proxy", "validator"]


def test_recovery_attempts_are_counted_per_agent_with_those_that_worked(figures):
    agents = by_agent(figures)
    assert (agents["nginx_proxy"].recoveries, agents["nginx_proxy"].recoveries_worked) == (2, 1)
    assert agents["n8n"].recoveries == 0


def test_deployments_are_the_runs_that_deploy_and_their_mean_time_that_of_the_successful_ones(figures):
    d = figures.deployments
    assert d.deployments == 4  # r1-r4: the dry run and the validation are not deployments, r7 has not ended
    assert d.by_status == {"cancelled": 1, "degraded": 1, "failed": 1, "succeeded": 1}
    assert d.successful == 2 and d.success_rate == pytest.approx(2 / 3)  # cancelled: judged neither way
    assert d.mean_seconds == 225.0 and d.timed == 2


def test_ai_figures_per_provider_and_model_with_fallbacks_and_why(figures):
    ai = {(a.provider, a.model): a for a in figures.ai}
    assert set(ai) == {("anthropic", HAIKU), ("anthropic", SONNET), ("offline", None)}
    sonnet = ai[("anthropic", SONNET)]
    assert (sonnet.decisions, sonnet.cached, sonnet.fallbacks) == (5, 1, 3)
    assert {k: f.count for k, f in sonnet.fallback_reasons.items()} == {"invalid_answer": 1, "timeout": 2}
    assert sonnet.fallback_reasons["timeout"].last == "timeout: read timed out"  # the latest of its kind
    assert (sonnet.tokens_in, sonnet.tokens_out, sonnet.cache_read_tokens, sonnet.cache_write_tokens) == (
        2200, 150, 800, 400)
    assert sonnet.mean_latency_seconds == 3.0 and sonnet.answered == 2  # failed calls and cache hits left out
    assert sonnet.cost_usd == pytest.approx(SONNET_COST)
    assert ai[("anthropic", HAIKU)].cost_usd is None  # no price given for it
    assert ai[("offline", None)].decisions == 1 and ai[("offline", None)].mean_latency_seconds is None


def test_fallback_reasons_become_a_few_kinds():
    assert fallback_kind("rate_limited: 429 after 3 retries") == "rate_limited"
    assert fallback_kind("invalid answer: not an object") == "invalid_answer"
    assert fallback_kind("error: RuntimeError('boom: x')") == "error"
    assert fallback_kind("Something odd happened") == "other"


def test_a_price_table_with_a_mistake_is_one_clear_error(tmp_path):
    with pytest.raises(BadInput, match=f"{SONNET}.output: field required"):
        load_prices_text(tmp_path, f"{SONNET}: {{input: 3}}\n")
    with pytest.raises(BadInput, match="input_price: extra inputs are not permitted"):
        load_prices_text(tmp_path, f"{SONNET}: {{input: 3, output: 15, input_price: 3}}\n")
    with pytest.raises(BadInput, match="cannot read the price table"):
        load_prices(tmp_path / "missing.yml")
    plain = load_prices_text(tmp_path, f"{SONNET}: {{input: 3, output: 15}}\n")[SONNET]
    assert plain.cost(1_000_000, 0, 0, 0) == 3.0
    assert plain.cost(1_000_000, 0, 1_000_000, 0) == 3.0  # cache reads at the input price when none is given


# -- the command ---------------------------------------------------------------------------------------------


def families(text: str) -> dict[tuple[str, frozenset], float]:
    """Every sample of the exposition, by name and labels, read by prometheus_client's parser."""
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def test_prometheus_output_parses_and_carries_the_numbers_of_the_json_output(prod):
    prices = prod.parent / "prices.yml"
    prices.write_text(PRICES)
    as_json = cli("--inventory", str(prod), "--json", "--prices", str(prices))
    exposition = cli("--inventory", str(prod), "--prometheus", "--prices", str(prices))
    assert as_json.returncode == 0 and exposition.returncode == 0, as_json.stderr + exposition.stderr
    doc, text = json.loads(as_json.stdout), exposition.stdout
    parsed = list(text_string_to_metric_families(text))
    assert all(f.name.startswith("aidevops_") for f in parsed)
    assert all(s.name.endswith("_total") for f in parsed if f.type == "counter" for s in f.samples)
    samples = families(text)

    def value(name, **labels):
        return samples[(name, frozenset({"inventory": "prod", **labels}.items()))]

    [inv] = doc["inventories"]
    for status, n in inv["by_status"].items():
        assert value("aidevops_deployments_total", status=status) == n
    total, count = (value(f"aidevops_deployment_duration_seconds_{part}") for part in ("sum", "count"))
    assert total / count == inv["mean_seconds"] == 225.0
    for a in doc["agents"]:
        agent = {"agent": a["agent"]}
        runs = {s: value("aidevops_agent_runs_total", **agent, status=s) for s in a["by_status"]}
        assert runs == a["by_status"]
        assert value("aidevops_agent_success_ratio", **agent) == a["success_rate"]
        assert value("aidevops_agent_duration_seconds", **agent, quantile="0.95") == a["p95_seconds"]
        total, count = (value(f"aidevops_agent_duration_seconds_{p}", **agent) for p in ("sum", "count"))
        assert total / count == pytest.approx(a["mean_seconds"])
        assert value("aidevops_agent_recoveries_total", **agent, result="worked") == a["recoveries_worked"]
        assert value("aidevops_agent_recoveries_total", **agent, result="failed") == \
            a["recoveries"] - a["recoveries_worked"]
    n8n = next(a for a in doc["agents"] if a["agent"] == "n8n")
    assert n8n["success_rate"] == 0.75 and value("aidevops_agent_success_ratio", agent="n8n") == 0.75
    for a in doc["ai"]:
        model = {"provider": a["provider"], "model": a["model"] or ""}
        assert value("aidevops_ai_decisions_total", **model) == a["decisions"]
        assert value("aidevops_ai_input_tokens_total", **model) == a["tokens_in"]
        assert value("aidevops_ai_output_tokens_total", **model) == a["tokens_out"]
        assert value("aidevops_ai_cache_read_tokens_total", **model) == a["cache_read_tokens"]
        assert value("aidevops_ai_cache_write_tokens_total", **model) == a["cache_write_tokens"]
        for kind, fell in a["fallback_reasons"].items():
            assert value("aidevops_ai_fallbacks_total", **model, reason=kind) == fell["count"]
        if a["answered"]:
            assert value("aidevops_ai_request_duration_seconds_sum", **model) / \
                value("aidevops_ai_request_duration_seconds_count", **model) == a["mean_latency_seconds"]
        if a["cost_usd"] is not None:
            assert value("aidevops_ai_cost_usd_total", **model) == pytest.approx(a["cost_usd"])
    assert value("aidevops_ai_fallbacks_total", provider="anthropic", model=SONNET, reason="timeout") == 2
    assert value("aidevops_ai_cost_usd_total", provider="anthropic", model=SONNET) == \
        pytest.approx(SONNET_COST)
    assert RAW_SECRET not in as_json.stdout + text  # decisions' raw answers are never printed


PROMTOOL = os.environ.get("PROMTOOL") or shutil.which("promtool")


@pytest.mark.skipif(not PROMTOOL, reason="promtool (Debian package prometheus) is not installed")
def test_promtool_accepts_the_prometheus_output(prod):
    exposition = cli("--inventory", str(prod), "--prometheus")
    checked = subprocess.run([PROMTOOL, "check", "metrics"], input=exposition.stdout, capture_output=True,
                             text=True, timeout=60, check=False)
    assert checked.returncode == 0 and not checked.stdout.strip(), checked.stdout + checked.stderr


def test_the_table_shows_each_part_and_no_raw_answer(prod):
    shown = cli("--inventory", str(prod))
    assert shown.returncode == 0, shown.stderr
    out = shown.stdout
    for heading in ("Deployments", "Agents", "AI decisions", "Why decisions fell back"):
        assert heading in out
    n8n = next(line for line in out.splitlines() if " n8n " in line)
    assert n8n.split()[2:6] == ["4", "75%", "90.0s", "120.0s"]
    assert "timeout x2: timeout: read timed out" in out
    assert RAW_SECRET not in out


def test_several_inventories_are_labelled_by_name_and_one_given_twice_counts_once(prod, tmp_path):
    staging = fill(tmp_path / "staging")
    doc = json.loads(cli("-i", str(prod), "-i", str(staging), "-i", str(prod), "--json").stdout)
    assert [i["inventory"] for i in doc["inventories"]] == ["prod", "staging"]
    assert {a["inventory"] for a in doc["agents"]} == {"prod", "staging"}
    samples = families(cli("-i", str(prod), "-i", str(staging), "--prometheus").stdout)
    labelled = {dict(labels)["inventory"] for name, labels in samples if name == "aidevops_deployments_total"}
    assert labelled == {"prod", "staging"}


@pytest.mark.parametrize("args, message", [
    (["--json", "--prometheus"], "error: --json and --prometheus are two outputs: choose one"),
    (["--prices", "{missing}"], "error: {missing}: cannot read the price table: No such file or directory"),
    (["-i", "{empty}"], "error: {empty}: no runs recorded for this inventory yet (run `aidevops run` first)"),
    (["-i", "{empty_store}"], "error: {empty_store}: no runs recorded for this inventory yet"),
    (["-i", "{prod}", "-i", "{other_prod}"], "error: two inventories are named 'prod'"),
])
def test_bad_input_is_one_clear_line_and_exit_2(prod, tmp_path, args, message):
    (tmp_path / "empty").mkdir()
    RunStore(StateDir(tmp_path / "empty_store").db).close()  # a store without any run
    (tmp_path / "elsewhere/prod").mkdir(parents=True)
    paths = {"missing": tmp_path / "missing.yml", "empty": tmp_path / "empty",
             "empty_store": tmp_path / "empty_store", "prod": prod, "other_prod": tmp_path / "elsewhere/prod"}
    result = cli(*(a.format(**paths) for a in args))
    assert result.returncode == 2
    assert result.stderr.startswith(message.format(**paths)), result.stderr
    assert len(result.stderr.splitlines()) == 1 and "Traceback" not in result.stderr and result.stdout == ""
