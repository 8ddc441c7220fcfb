"""`aidevops metrics --prometheus`: the figures in Prometheus's text format, for a node exporter's textfile
collector, written by prometheus_client (one custom collector, generate_latest).

Every series carries its inventory, so the files of several inventories can sit side by side in the
collector's folder. Counts from the store only grow while the store is kept, so they are counters; durations
are summaries (_sum and _count give the mean; an agent's also carries its p95, by nearest rank).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric, SummaryMetricFamily
from prometheus_client.samples import Sample

from orchestrator.store.metrics import InventoryMetrics

P95 = 0.95


class QuantileSummary(SummaryMetricFamily):
    """A summary with quantiles: prometheus_client's family takes only _count and _sum, as its own Summary
    computes no quantiles; the quantile sample is the text format's own (`name{quantile="0.95"}`)."""

    def add_quantiles(self, labels: list[str], count: int, total: float,
                      quantiles: dict[float, float]) -> None:
        labelled = dict(zip(self._labelnames, labels, strict=True))
        for q, value in quantiles.items():
            self.samples.append(Sample(self.name, {**labelled, "quantile": str(q)}, value))
        self.add_metric(labels, count, total)


class StoreCollector:
    """The figures of the inventories given, as metric families (prometheus_client's custom collector)."""

    def __init__(self, inventories: Iterable[InventoryMetrics]):
        self.inventories = list(inventories)

    def collect(self) -> Iterator[Metric]:
        for family in (*self._deployments(), *self._agents(), *self._ai()):
            if family.samples:  # a family with no series (no prices given, no agent timed) is left out
                yield family

    def _deployments(self) -> Iterator[Metric]:
        total = CounterMetricFamily("aidevops_deployments", "Deployments (`aidevops run`, dry runs left "
                                    "out), by how they ended.", labels=["inventory", "status"])
        duration = SummaryMetricFamily("aidevops_deployment_duration_seconds",
                                       "Duration of the successful deployments (succeeded or degraded).",
                                       labels=["inventory"])
        for inv in self.inventories:
            d = inv.deployments
            for status, n in d.by_status.items():
                total.add_metric([inv.inventory, status], n)
            duration.add_metric([inv.inventory], d.timed, d.total_seconds)
        yield from (total, duration)

    def _agents(self) -> Iterator[Metric]:
        labels = ["inventory", "agent"]
        runs = CounterMetricFamily("aidevops_agent_runs", "An agent's phases that started and ended, by "
                                   "status (dry runs left out).", labels=[*labels, "status"])
        success = GaugeMetricFamily("aidevops_agent_success_ratio", "An agent's phases that succeeded (or "
                                    "degraded) over those that succeeded or failed.", labels=labels)
        duration = QuantileSummary("aidevops_agent_duration_seconds", "Duration of an agent's phases that "
                                   "succeeded or failed (the last attempt's, after a recovery).",
                                   labels=labels)
        recoveries = CounterMetricFamily("aidevops_agent_recoveries", "Recovery attempts after a failed "
                                         "phase (the phase run again), by whether the phase then worked.",
                                         labels=[*labels, "result"])
        for inv in self.inventories:
            for a in inv.agents:
                names = [inv.inventory, a.agent]
                for status, n in a.by_status.items():
                    runs.add_metric([*names, status], n)
                if a.success_rate is not None:
                    success.add_metric(names, a.success_rate)
                if a.timed:
                    duration.add_quantiles(names, a.timed, a.total_seconds, {P95: a.p95_seconds})
                recoveries.add_metric([*names, "worked"], a.recoveries_worked)
                recoveries.add_metric([*names, "failed"], a.recoveries - a.recoveries_worked)
        yield from (runs, success, duration, recoveries)

    def _ai(self) -> Iterator[Metric]:
        labels = ["inventory", "provider", "model"]  # model "": the offline planner, remembered decisions

        def counter(name: str, doc: str, extra: tuple[str, ...] = ()) -> CounterMetricFamily:
            return CounterMetricFamily(name, doc, labels=[*labels, *extra])

        decisions = counter("aidevops_ai_decisions", "AI decisions, by the provider and model asked.")
        cached = counter("aidevops_ai_cached_decisions", "Decisions answered from the decision cache.")
        fallbacks = counter("aidevops_ai_fallbacks", "Decisions where the provider's answer was not used "
                            "(the offline choice was), by reason.", ("reason",))
        tokens = {key: counter(f"aidevops_ai_{key}_tokens", doc) for key, doc in (
            ("input", "Prompt tokens, those read from or written to the provider's cache included."),
            ("output", "Answer tokens."),
            ("cache_read", "Prompt tokens read from the provider's prompt cache."),
            ("cache_write", "Prompt tokens written to the provider's prompt cache."))}
        latency = SummaryMetricFamily("aidevops_ai_request_duration_seconds",
                                      "Latency of the provider's answers (cached decisions left out).",
                                      labels=labels)
        cost = counter("aidevops_ai_cost_usd", "Cost in US dollars, from the price table given (models with "
                       "a price only).")
        for inv in self.inventories:
            for a in inv.ai:
                names = [inv.inventory, a.provider, a.model or ""]
                decisions.add_metric(names, a.decisions)
                cached.add_metric(names, a.cached)
                for kind, fell in a.fallback_reasons.items():
                    fallbacks.add_metric([*names, kind], fell.count)
                for key, value in (("input", a.tokens_in), ("output", a.tokens_out), ("cache_read",
                                   a.cache_read_tokens), ("cache_write", a.cache_write_tokens)):
                    tokens[key].add_metric(names, value)
                latency.add_metric(names, a.answered, a.total_latency_seconds)
                if a.cost_usd is not None:
                    cost.add_metric(names, a.cost_usd)
        yield from (decisions, cached, fallbacks, *tokens.values(), latency, cost)


def exposition(inventories: Iterable[InventoryMetrics]) -> str:
    """The text format (version 0.0.4) that node_exporter's textfile collector and promtool read."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(StoreCollector(inventories))
    return generate_latest(registry).decode()
