"""Prometheus metrics with upstream Pegasus's metric names.

Every server serves ``GET /metrics`` on its RPC port (as upstream's servers answer HTTP on
theirs). Names follow upstream where it has one: per-operation request counters
(``get_requests``, ``put_requests``, ...) and latency percentiles (``get_latency_ns`` with
a ``p`` label of p50/p90/p95/p99/p999, upstream's percentile set), replica counts by status
(``total_replicas``, ``primary_replicas``, ...), partition health per table on the meta
(``healthy_partitions``, ``unreadable_partitions``, ``unwritable_partitions``,
``writable_ill_partitions``, ``dead_partitions``).

Percentiles are computed at scrape time over a bounded window of the latest samples per
operation (prometheus_client's Summary has no quantiles in Python).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator

from prometheus_client import CollectorRegistry, Counter, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

# Latest samples kept per operation for percentiles: enough for a stable p999 over the
# last few seconds of a busy server, 8 bytes each.
LATENCY_WINDOW_SAMPLES = 4096
PERCENTILES = (("p50", 0.50), ("p90", 0.90), ("p95", 0.95), ("p99", 0.99), ("p999", 0.999))

# Wire RPC names of the data operations -> upstream's metric stem.
_RRDB_PREFIX = "RPC_RRDB_RRDB_"


def op_of(rpc_name: str) -> str | None:
    """``RPC_RRDB_RRDB_MULTI_GET`` -> ``multi_get``; None for other RPCs."""
    if not rpc_name.startswith(_RRDB_PREFIX):
        return None
    op = rpc_name[len(_RRDB_PREFIX) :].lower()
    return "scan" if op == "get_scanner" else op


class _LatencyWindows(Collector):
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._windows: dict[str, deque[int]] = {}

    def observe(self, op: str, latency_ns: int) -> None:
        with self._lock:
            window = self._windows.get(op)
            if window is None:
                window = deque(maxlen=LATENCY_WINDOW_SAMPLES)
                self._windows[op] = window
            window.append(latency_ns)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        with self._lock:
            snapshot = {op: sorted(w) for op, w in self._windows.items()}
        for op, samples in snapshot.items():
            family = GaugeMetricFamily(
                f"{op}_latency_ns",
                f"latency of {op} requests, over the latest samples",
                labels=["p"],
            )
            for label, q in PERCENTILES:
                index = min(len(samples) - 1, int(q * len(samples)))
                family.add_metric([label], samples[index])
            yield family


class _Gauges(Collector):
    """Gauges computed at scrape time by a callback: (name, help, labels, rows)."""

    def __init__(
        self,
        source: Callable[[], Iterable[tuple[str, str, list[str], list[tuple[list[str], float]]]]],
    ) -> None:
        self._source = source

    def collect(self) -> Iterator[GaugeMetricFamily]:
        for name, doc, labels, rows in self._source():
            family = GaugeMetricFamily(name, doc, labels=labels)
            for values, v in rows:
                family.add_metric(values, v)
            yield family


class ServerMetrics:
    """The metrics of one server process."""

    def __init__(self, role: str) -> None:
        self.role = role
        self.registry = CollectorRegistry()
        self._requests: dict[str, Counter] = {}
        self._rpc = Counter(
            "rpc_requests",
            "RPC requests served, by RPC name and error",
            ["rpc", "error"],
            registry=self.registry,
        )
        self._latency = _LatencyWindows()
        self.registry.register(self._latency)

    def on_request(self, rpc_name: str, error: str, latency_ns: int) -> None:
        self._rpc.labels(rpc_name, error).inc()
        op = op_of(rpc_name)
        if op is None:
            return
        counter = self._requests.get(op)
        if counter is None:
            counter = Counter(f"{op}_requests", f"{op} requests served", registry=self.registry)
            self._requests[op] = counter
        counter.inc()
        self._latency.observe(op, latency_ns)

    def add_gauges(
        self,
        source: Callable[[], Iterable[tuple[str, str, list[str], list[tuple[list[str], float]]]]],
    ) -> None:
        self.registry.register(_Gauges(source))

    def exposition(self) -> bytes:
        return bytes(generate_latest(self.registry))
