"""Upstream's ``app_stat`` and ``app_disk`` reports, from the replica servers' metrics.

Every replica server serves, on its ``/metrics`` page, per partition replica it hosts
(labels ``table_id`` and ``partition_id``):

- ``replica_<op>_requests_total``: data requests it served as the partition's primary
  (``observability/metrics.py``);
- ``replica_rdb_*``: what RocksDB reports of the replica's store (``replica/stub.py``).

As upstream, a partition counts with its primary's figures only: ``app_stat`` takes each
partition's request rates (the counters' increase between two scrapes of the same server,
over the time between them) and storage figures from the server the meta names primary.
``app_disk`` shows every member's SST size and file count.

``nodes -u`` takes each server's memtable and index memory from the same figures, summed
over its replicas. Upstream's other ``app_stat`` columns (capacity units, expired /
filtered / abnormal reads, throttling, block cache and bloom filter rates) have no
counterpart here and are left out, as ``nodes -u`` leaves out its own.

Pure: scrapes (the page's text and when it was read) and routing tables in, printer
tables out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from prometheus_client.parser import text_string_to_metric_families

from pegasus_log.frozen import frozen
from pegasus_log.shell.shell.printer import Table, multi, single
from pegasus_log.shell.shell.reports import TableRouting

# Upstream's request columns and the operation each counts.
REQUEST_COLUMNS: tuple[tuple[str, str], ...] = (
    ("GET", "get"),
    ("MGET", "multi_get"),
    ("BGET", "batch_get"),
    ("PUT", "put"),
    ("MPUT", "multi_put"),
    ("DEL", "remove"),
    ("MDEL", "multi_remove"),
    ("INCR", "incr"),
    ("CAS", "check_and_set"),
    ("CAM", "check_and_mutate"),
    ("SCAN", "scan"),
)
SST_MB = "replica_rdb_total_sst_size_mb"
SST_FILES = "replica_rdb_total_sst_files"
# Upstream's usage columns: (column, gauge, scale to the column's unit).
USAGE_COLUMNS: tuple[tuple[str, str, float], ...] = (
    ("file_mb", SST_MB, 1.0),
    ("file_num", SST_FILES, 1.0),
    ("mem_tbl_mb", "replica_rdb_memtable_mem_usage_bytes", 1.0 / (1 << 20)),
    ("mem_idx_mb", "replica_rdb_index_and_filter_blocks_mem_usage_bytes", 1.0 / (1 << 20)),
)
# app_stat prints its figures with three decimals (upstream's printer precision there).
_PRECISION = 3

Gpid = tuple[int, int]


@frozen
class Scrape:
    """One read of a server's ``/metrics``: per sample name, the value of each partition
    replica (samples without both partition labels are left out)."""

    at_s: float
    samples: Mapping[str, Mapping[Gpid, float]]


def parse_scrape(text: str, at_s: float) -> Scrape:
    """A ``/metrics`` page as a ``Scrape``; ``ValueError`` for text that is not
    Prometheus's format."""
    samples: dict[str, dict[Gpid, float]] = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            table, index = s.labels.get("table_id"), s.labels.get("partition_id")
            if table is None or index is None or not (table.isdigit() and index.isdigit()):
                continue
            samples.setdefault(s.name, {})[(int(table), int(index))] = float(s.value)
    return Scrape(at_s, samples)


@frozen
class StatRow:
    name: str
    figures: Mapping[str, float]  # column -> value
    app_id: int = 0
    partition_count: int = 0


def _requests(op: str) -> str:
    return f"replica_{op}_requests_total"


def _partition_figures(
    gpid: Gpid, start: Scrape | None, end: Scrape | None
) -> dict[str, float] | None:
    """The columns of one partition from its primary's two scrapes; None when the
    primary did not answer both."""
    if start is None or end is None:
        return None
    seconds = max(end.at_s - start.at_s, 1e-9)
    figures: dict[str, float] = {}
    for column, op in REQUEST_COLUMNS:
        name = _requests(op)
        before = start.samples.get(name, {}).get(gpid, 0.0)
        after = end.samples.get(name, {}).get(gpid, 0.0)
        # A counter that went down belongs to a replica opened again meanwhile.
        figures[column] = max(after - before, 0.0) / seconds
    for column, gauge, scale in USAGE_COLUMNS:
        figures[column] = end.samples.get(gauge, {}).get(gpid, 0.0) * scale
    return figures


def _zero() -> dict[str, float]:
    return dict.fromkeys([c for c, _ in REQUEST_COLUMNS] + [c for c, _, _ in USAGE_COLUMNS], 0.0)


def _add(into: dict[str, float], figures: Mapping[str, float]) -> None:
    for column, value in figures.items():
        into[column] += value


ScrapePair = tuple[Scrape | None, Scrape | None]


def partition_rows(routing: TableRouting, scrapes: Mapping[str, ScrapePair]) -> list[StatRow]:
    """``app_stat -a <table>``: a row per partition, from its primary (zeros when it has
    none, or its primary did not answer)."""
    rows = []
    for p in routing.partitions:
        start, end = scrapes.get(p.primary, (None, None)) if p.primary else (None, None)
        figures = _partition_figures((routing.app_id, p.index), start, end)
        rows.append(StatRow(str(p.index), figures if figures is not None else _zero()))
    return rows


def table_rows(
    routings: Sequence[tuple[str, TableRouting]], scrapes: Mapping[str, ScrapePair]
) -> list[StatRow]:
    """``app_stat``: a row per table, the sum of its partitions."""
    rows = []
    for name, routing in routings:
        figures = _zero()
        for row in partition_rows(routing, scrapes):
            _add(figures, row.figures)
        rows.append(StatRow(name, figures, routing.app_id, routing.partition_count))
    return rows


def app_stat_report(
    rows: Sequence[StatRow], *, per_partition: bool, only_qps: bool, only_usage: bool
) -> Table:
    """Upstream's ``app_stat`` table, with its ``(total:N)`` row."""
    total = _zero()
    for row in rows:
        _add(total, row.figures)
    total_row = StatRow(f"(total:{len(rows)})", total, 0, sum(r.partition_count for r in rows))
    columns = [c for c, _ in REQUEST_COLUMNS] if not only_usage else []
    columns += [c for c, _, _ in USAGE_COLUMNS] if not only_qps else []
    head = ["pidx"] if per_partition else ["app_name", "app_id", "pcount"]
    table = multi("app_stat", head + columns, right=head[1:] + columns)
    for row in [*rows, total_row]:
        cells: list[object] = [row.name]
        if not per_partition:
            cells += [row.app_id, row.partition_count]
        for column in columns:
            value = row.figures[column]
            cells.append(int(value) if column == "file_num" else f"{value:.{_PRECISION}f}")
        table.add(*cells)
    return table


def node_memory(scrape: Scrape) -> dict[str, float]:
    """``nodes -u``'s memtable and index memory of one server: its replicas' figures
    summed, in MB."""
    return {
        column: sum(scrape.samples.get(gauge, {}).values()) * scale
        for column, gauge, scale in USAGE_COLUMNS
        if column in ("mem_tbl_mb", "mem_idx_mb")
    }


# ---- app_disk --------------------------------------------------------------------------


def _member(
    address: str, index: int, app_id: int, scrape: Scrape | None
) -> tuple[str, float | None]:
    """``address(MB,#files)`` of one member, and its MB (None when not reported)."""
    mb = files = None
    if scrape is not None:
        mb = scrape.samples.get(SST_MB, {}).get((app_id, index))
        files = scrape.samples.get(SST_FILES, {}).get((app_id, index))
    shown_mb = "-" if mb is None else f"{mb:g}"
    shown_files = "-" if files is None else f"#{files:g}"
    return f"{address}({shown_mb},{shown_files})", mb


def app_disk_report(
    name: str,
    routing: TableRouting,
    scrapes: Mapping[str, Scrape],
    *,
    detailed: bool,
    output: str | None = None,
) -> list[Table]:
    """Upstream's ``app_disk``: the SST size of the table's primaries and of all its
    replicas, how many were not reported, and with ``detailed`` each partition's members
    as ``address(MB,#files)``."""
    params = single("parameters", [("app_name", name)])
    if output is not None:
        params.add("out_file", output)
    params.add("detailed", detailed)
    details = multi("details", ["pidx", "ballot", "replica_count", "primary", "secondaries"])
    primary_mb = all_mb = 0.0
    primaries = replicas = 0
    for p in routing.partitions:
        primary = "-"
        if p.primary:
            primary, mb = _member(p.primary, p.index, routing.app_id, scrapes.get(p.primary))
            if mb is not None:
                primary_mb += mb
                all_mb += mb
                primaries += 1
                replicas += 1
        shown = []
        for s in p.secondaries:
            text, mb = _member(s, p.index, routing.app_id, scrapes.get(s))
            shown.append(text)
            if mb is not None:
                all_mb += mb
                replicas += 1
        details.add(
            p.index,
            p.ballot,
            f"{p.replica_count}/{p.max_replica_count}",
            primary,
            "[" + ",".join(shown) + "]",
        )
    count, copies = routing.partition_count, routing.partition_count * routing.max_replica_count
    result = single(
        "result",
        [
            ("app_name", name),
            ("app_id", routing.app_id),
            ("partition_count", count),
            ("max_replica_count", routing.max_replica_count),
            ("disk_used_for_primary_replicas(MB)", f"{primary_mb:.2f}"),
            ("disk_used_for_all_replicas(MB)", f"{all_mb:.2f}"),
            ("partitions not counted", f"{count - primaries}/{count}"),
            ("replicas not counted", f"{copies - replicas}/{copies}"),
        ],
    )
    return [params, result, *([details] if detailed else [])]
