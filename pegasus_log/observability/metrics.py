"""Prometheus metrics with upstream Pegasus's metric names.

Every server serves ``GET /metrics`` on its RPC port (as upstream's servers answer HTTP on
theirs). Names follow upstream where it has one: per-operation request counters
(``get_requests``, ``put_requests``, ...) and latency percentiles (``get_latency_ns`` with
a ``p`` label of p50/p90/p95/p99/p999, upstream's percentile set), replica counts by status
(``total_replicas``, ``primary_replicas``, ...), partition health per table on the meta
(``healthy_partitions``, ``unreadable_partitions``, ``unwritable_partitions``,
``writable_ill_partitions``, ``dead_partitions``). Upstream keeps request counters per
replica too; those are ``replica_<op>_requests`` here, labelled ``table_id`` and
``partition_id`` (a family of their own, so that the server-wide ones keep no labels).

Percentiles are computed at scrape time over a bounded window of the latest samples per
operation (prometheus_client's Summary has no quantiles in Python). Recent request rates
(for the ``server-stat`` remote command) come from per-second counts over the last
``RATE_WINDOW_S`` seconds.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator

from prometheus_client import CollectorRegistry, Counter, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

# Latest samples kept per operation for percentiles: enough for a stable p999 over the
# last few seconds of a busy server, 8 bytes each.
LATENCY_WINDOW_SAMPLES = 4096
PERCENTILES = (("p50", 0.50), ("p90", 0.90), ("p95", 0.95), ("p99", 0.99), ("p999", 0.999))
# Recent rates are averaged over this many whole seconds: upstream's perf counters update
# their rates every 10 s (perf_counter_update_interval_seconds).
RATE_WINDOW_S = 10

GaugeSource = Callable[[], Iterable[tuple[str, str, list[str], list[tuple[list[str], float]]]]]

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

    def percentile(self, op: str, q: float) -> int | None:
        """The ``q`` quantile of the latest samples of ``op``; None before its first."""
        with self._lock:
            window = self._windows.get(op)
            samples = sorted(window) if window else []
        if not samples:
            return None
        return samples[min(len(samples) - 1, int(q * len(samples)))]

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


class _RequestCounts(Collector):
    """``rpc_requests_total`` by (rpc, error) as plain integers: every request of every
    kind, replica-to-replica messages included, is counted on the event loop's thread, and
    a locked prometheus counter child costs more than the rest of a small request's
    bookkeeping. A scrape reads a copy."""

    def __init__(self) -> None:
        self._counts: dict[tuple[str, str], int] = {}

    def add(self, rpc_name: str, error: str) -> None:
        key = (rpc_name, error)
        self._counts[key] = self._counts.get(key, 0) + 1

    def collect(self) -> Iterator[CounterMetricFamily]:
        family = CounterMetricFamily(
            "rpc_requests", "RPC requests served, by RPC name and error", labels=["rpc", "error"]
        )
        for (rpc_name, error), count in list(self._counts.items()):
            family.add_metric([rpc_name, error], count)
        yield family


class _PartitionRequests(Collector):
    """Data requests served (ERR_OK) per partition replica and operation, upstream's
    replica-entity request counters (``get_requests``, ``put_requests``, ... of each
    replica), as ``replica_<op>_requests`` labelled ``table_id`` and ``partition_id``:
    plain integers, as ``_RequestCounts``. The shell's ``app_stat`` reads them."""

    def __init__(self) -> None:
        self._counts: dict[tuple[str, int, int], int] = {}

    def add(self, op: str, app_id: int, partition_index: int) -> None:
        key = (op, app_id, partition_index)
        self._counts[key] = self._counts.get(key, 0) + 1

    def forget(self, app_id: int, partition_index: int) -> None:
        for key in [k for k in self._counts if k[1:] == (app_id, partition_index)]:
            del self._counts[key]

    def collect(self) -> Iterator[CounterMetricFamily]:
        families: dict[str, CounterMetricFamily] = {}
        for (op, app_id, index), count in sorted(self._counts.items()):
            family = families.get(op)
            if family is None:
                family = CounterMetricFamily(
                    f"replica_{op}_requests",
                    f"{op} requests served, per partition replica",
                    labels=["table_id", "partition_id"],
                )
                families[op] = family
            family.add_metric([str(app_id), str(index)], count)
        yield from families.values()


class _RecentRates:
    """Requests per whole second of a monotonic clock, per operation, in a ring of
    ``RATE_WINDOW_S`` slots: constant memory per operation, O(1) per request."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._slots: dict[str, tuple[list[int], list[int]]] = {}

    def observe(self, op: str) -> None:
        second = int(self._clock())
        slots = self._slots.get(op)
        if slots is None:
            slots = ([-1] * RATE_WINDOW_S, [0] * RATE_WINDOW_S)
            self._slots[op] = slots
        seconds, counts = slots
        i = second % RATE_WINDOW_S
        if seconds[i] != second:
            seconds[i], counts[i] = second, 0
        counts[i] += 1

    def rate(self, op: str) -> float:
        """Requests per second over the last ``RATE_WINDOW_S`` whole seconds (the
        current, partial second left out)."""
        slots = self._slots.get(op)
        if slots is None:
            return 0.0
        now = int(self._clock())
        seconds, counts = slots
        total = sum(
            c for s, c in zip(seconds, counts, strict=True) if now - RATE_WINDOW_S <= s < now
        )
        return total / RATE_WINDOW_S


class _Gauges(Collector):
    """Gauges computed at scrape time by a callback: (name, help, labels, rows)."""

    def __init__(self, source: GaugeSource) -> None:
        self._source = source

    def collect(self) -> Iterator[GaugeMetricFamily]:
        for name, doc, labels, rows in self._source():
            family = GaugeMetricFamily(name, doc, labels=labels)
            for values, v in rows:
                family.add_metric(values, v)
            yield family


class ServerMetrics:
    """The metrics of one server process."""

    def __init__(self, role: str, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.role = role
        self.registry = CollectorRegistry()
        self._requests: dict[str, Counter] = {}
        self._rpc = _RequestCounts()
        self.registry.register(self._rpc)
        self._latency = _LatencyWindows()
        self.registry.register(self._latency)
        self._rates = _RecentRates(clock)
        self._partitions = _PartitionRequests()
        self.registry.register(self._partitions)
        self._gauge_sources: list[GaugeSource] = []

    def on_request(
        self, rpc_name: str, error: str, latency_ns: int, gpid: tuple[int, int] = (0, 0)
    ) -> None:
        """One request answered; ``gpid`` is the partition its header named (app id 0:
        none, as for requests to the meta)."""
        self._rpc.add(rpc_name, error)
        op = op_of(rpc_name)
        if op is None:
            return
        if error == "ERR_OK" and gpid[0] > 0:
            self._partitions.add(op, gpid[0], gpid[1])
        counter = self._requests.get(op)
        if counter is None:
            counter = Counter(f"{op}_requests", f"{op} requests served", registry=self.registry)
            self._requests[op] = counter
        counter.inc()
        self._latency.observe(op, latency_ns)
        self._rates.observe(op)

    def forget_partition(self, gpid: tuple[int, int]) -> None:
        """The partition's replica left this server: its request counters go, as
        upstream removes a replica's metric entity with the replica."""
        self._partitions.forget(*gpid)

    def add_gauges(self, source: GaugeSource) -> None:
        self._gauge_sources.append(source)
        self.registry.register(_Gauges(source))

    def recent_rate(self, op: str) -> float:
        """Requests of ``op`` (``get``, ``put``, ...) per second, lately."""
        return self._rates.rate(op)

    def latency_percentile_ns(self, op: str, q: float) -> int | None:
        return self._latency.percentile(op, q)

    def gauge_values(self) -> dict[str, float]:
        """The gauges without labels (``total_replicas``, ...), as they are now."""
        values: dict[str, float] = {}
        for source in self._gauge_sources:
            for name, _doc, labels, rows in source():
                if not labels and rows:
                    values[name] = float(rows[0][1])
        return values

    def exposition(self) -> bytes:
        return bytes(generate_latest(self.registry))
