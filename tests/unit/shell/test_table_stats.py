"""app_stat and app_disk computed from scrapes of the replica servers' /metrics pages."""

from __future__ import annotations

import pytest

from pegasus_log.observability.metrics import ServerMetrics
from pegasus_log.shell.shell.printer import tabular
from pegasus_log.shell.shell.reports import PartitionView, TableRouting
from pegasus_log.shell.shell.table_stats import (
    Scrape,
    app_disk_report,
    app_stat_report,
    parse_scrape,
    partition_rows,
    table_rows,
)

A, B = "127.0.0.1:35001", "127.0.0.1:35002"
ROUTING = TableRouting(
    7,
    2,
    (
        PartitionView(0, 3, 2, A, (B,)),
        PartitionView(1, 4, 2, B, (A,)),
    ),
)


def _page(puts: dict[tuple[int, int], int], sst_mb: dict[tuple[int, int], float]) -> str:
    """A replica server's /metrics page after ``puts`` per partition."""
    metrics = ServerMetrics("replica")
    for gpid, count in puts.items():
        for _ in range(count):
            metrics.on_request("RPC_RRDB_RRDB_PUT", "ERR_OK", 1000, gpid)
        metrics.on_request("RPC_RRDB_RRDB_GET", "ERR_INVALID_STATE", 1000, gpid)  # not served
    metrics.add_gauges(
        lambda: [
            (
                "replica_rdb_total_sst_size_mb",
                "sst",
                ["table_id", "partition_id"],
                [([str(g[0]), str(g[1])], mb) for g, mb in sst_mb.items()],
            ),
            (
                "replica_rdb_memtable_mem_usage_bytes",
                "mem",
                ["table_id", "partition_id"],
                [([str(g[0]), str(g[1])], 1 << 20) for g in sst_mb],
            ),
        ]
    )
    return metrics.exposition().decode()


def test_a_scrape_keeps_the_partition_samples_only() -> None:
    scrape = parse_scrape(_page({(7, 0): 3}, {(7, 0): 1.5}), at_s=10.0)
    assert scrape.samples["replica_put_requests_total"] == {(7, 0): 3.0}
    assert "replica_get_requests_total" not in scrape.samples  # only ERR_OK counts
    assert scrape.samples["replica_rdb_total_sst_size_mb"] == {(7, 0): 1.5}
    assert "put_requests_total" not in scrape.samples  # server-wide, no partition labels


def test_a_collected_partition_leaves_the_page() -> None:
    metrics = ServerMetrics("replica")
    for gpid in ((7, 0), (7, 1), (8, 0)):
        metrics.on_request("RPC_RRDB_RRDB_PUT", "ERR_OK", 1000, gpid)
        metrics.on_request("RPC_RRDB_RRDB_GET", "ERR_OK", 1000, gpid)
    metrics.forget_partition((7, 1))
    scrape = parse_scrape(metrics.exposition().decode(), at_s=0.0)
    assert scrape.samples["replica_put_requests_total"] == {(7, 0): 1.0, (8, 0): 1.0}
    assert scrape.samples["replica_get_requests_total"] == {(7, 0): 1.0, (8, 0): 1.0}


def test_text_that_is_not_a_metrics_page_is_refused() -> None:
    with pytest.raises(ValueError):
        parse_scrape("<html>not found</html>\n", at_s=0.0)


def _scrapes() -> dict[str, tuple[Scrape | None, Scrape | None]]:
    # A is primary of 7.0 and secondary of 7.1; it also counts puts of 7.1 it served
    # before the primary moved, which must not count.
    a0 = parse_scrape(_page({(7, 0): 10, (7, 1): 5}, {(7, 0): 2.0, (7, 1): 9.0}), 100.0)
    a1 = parse_scrape(_page({(7, 0): 30, (7, 1): 5}, {(7, 0): 2.5, (7, 1): 9.0}), 102.0)
    b0 = parse_scrape(_page({(7, 1): 0}, {(7, 1): 1.0, (7, 0): 8.0}), 100.5)
    b1 = parse_scrape(_page({(7, 1): 8}, {(7, 1): 1.0, (7, 0): 8.0}), 101.5)
    return {A: (a0, a1), B: (b0, b1)}


def test_partition_rows_take_each_partition_from_its_primary() -> None:
    rows = partition_rows(ROUTING, _scrapes())
    assert [r.name for r in rows] == ["0", "1"]
    assert rows[0].figures["PUT"] == pytest.approx(10.0)  # 20 puts in 2 s
    assert rows[1].figures["PUT"] == pytest.approx(8.0)  # 8 puts in 1 s, on B
    assert rows[0].figures["file_mb"] == 2.5 and rows[1].figures["file_mb"] == 1.0
    assert rows[0].figures["mem_tbl_mb"] == 1.0
    assert rows[0].figures["GET"] == 0.0


def test_a_primary_that_did_not_answer_counts_zero() -> None:
    scrapes = _scrapes()
    scrapes[B] = (None, scrapes[B][1])
    rows = partition_rows(ROUTING, scrapes)
    assert rows[1].figures["PUT"] == 0.0 and rows[1].figures["file_mb"] == 0.0
    no_primary = TableRouting(7, 1, (PartitionView(0, 5, 2, "", (B,)),))
    assert partition_rows(no_primary, scrapes)[0].figures["PUT"] == 0.0


def test_table_rows_and_the_report() -> None:
    rows = table_rows([("t", ROUTING)], _scrapes())
    assert rows[0].figures["PUT"] == pytest.approx(18.0)
    lines = tabular([app_stat_report(rows, per_partition=False, only_qps=False, only_usage=False)])
    head, row, total = lines[1].split(), lines[2].split(), lines[3].split()
    assert head[:7] == ["app_name", "app_id", "pcount", "GET", "MGET", "BGET", "PUT"]
    assert head[-4:] == ["file_mb", "file_num", "mem_tbl_mb", "mem_idx_mb"]
    assert row[:7] == ["t", "7", "2", "0.000", "0.000", "0.000", "18.000"]
    assert total[:3] == ["(total:1)", "0", "2"]
    assert row[head.index("file_mb")] == "3.500" and row[head.index("file_num")] == "0"

    qps = app_stat_report(rows, per_partition=True, only_qps=True, only_usage=False)
    assert qps.columns[0] == "pidx" and "file_mb" not in qps.columns
    usage = app_stat_report(rows, per_partition=True, only_qps=False, only_usage=True)
    assert usage.columns == ["pidx", "file_mb", "file_num", "mem_tbl_mb", "mem_idx_mb"]


def test_app_disk_counts_every_member_that_reported() -> None:
    scrapes = {n: end for n, (_start, end) in _scrapes().items() if end is not None}
    tables = app_disk_report("t", ROUTING, scrapes, detailed=True)
    result = dict(tables[1].rows)
    assert result["disk_used_for_primary_replicas(MB)"] == "3.50"  # 2.5 on A + 1.0 on B
    assert result["disk_used_for_all_replicas(MB)"] == "20.50"  # + 8.0 + 9.0
    assert result["partitions not counted"] == "0/2"
    assert result["replicas not counted"] == "0/4"
    assert tables[2].rows[0] == ["0", "3", "2/2", f"{A}(2.5,-)", f"[{B}(8,-)]"]

    only_a = app_disk_report("t", ROUTING, {A: scrapes[A]}, detailed=False)
    result = dict(only_a[1].rows)
    assert result["partitions not counted"] == "1/2"
    assert result["replicas not counted"] == "2/4"
    assert len(only_a) == 2  # no details without -d
