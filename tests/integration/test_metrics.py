"""After traffic, every server's /metrics (HTTP on its RPC port) parses, and the counters
and gauges moved."""

from __future__ import annotations

import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

from pegasus_log.client.sync import Client
from tests.cluster import ZkCluster

pytestmark = pytest.mark.integration


def scrape(address: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    with urllib.request.urlopen(f"http://{address}/metrics", timeout=5) as resp:
        assert resp.status == 200
        text = resp.read().decode()
    out: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out.setdefault(sample.name, []).append((dict(sample.labels), sample.value))
    return out


def total(metrics: dict[str, list[tuple[dict[str, str], float]]], name: str) -> float:
    return sum(v for _, v in metrics.get(name, []))


def test_metrics_move_with_traffic(zk_onebox: ZkCluster) -> None:
    replicas = [zk_onebox.replica_address(f"replica{i + 1}") for i in range(3)]
    before = {r: scrape(r) for r in replicas}
    with Client(zk_onebox.meta_list) as client:
        table = client.open_table("temp")
        for i in range(50):
            table.set(b"metrics-%d" % i, b"s", b"v")
            assert table.get(b"metrics-%d" % i, b"s") == b"v"
        table.multi_get(b"metrics-1", [b"s"])
    after = {r: scrape(r) for r in replicas}
    gets = sum(
        total(after[r], "get_requests_total") - total(before[r], "get_requests_total")
        for r in replicas
    )
    puts = sum(
        total(after[r], "put_requests_total") - total(before[r], "put_requests_total")
        for r in replicas
    )
    assert gets >= 50 and puts >= 50
    assert sum(total(after[r], "multi_get_requests_total") for r in replicas) >= 1
    # percentiles of a busy operation exist and are ordered
    busy = max(replicas, key=lambda r: total(after[r], "get_requests_total"))
    p = {labels["p"]: v for labels, v in after[busy]["get_latency_ns"]}
    assert 0 < p["p50"] <= p["p99"] <= p["p999"]
    # replica counts by status: the 8 partitions of temp are all primaries somewhere
    assert sum(total(after[r], "primary_replicas") for r in replicas) >= 8
    assert all(
        total(after[r], "total_replicas") >= total(after[r], "primary_replicas") for r in replicas
    )


def test_meta_partition_health(zk_onebox: ZkCluster) -> None:
    leaders = [scrape(m) for m in zk_onebox.meta_list]
    leader = next(m for m in leaders if total(m, "meta_is_leader") == 1)
    healthy = {labels["table"]: v for labels, v in leader["healthy_partitions"]}
    assert healthy["temp"] == 8
    assert total(leader, "dead_partitions") == 0
    assert total(leader, "rpc_requests_total") > 0


def test_http_on_the_rpc_port_answers_404_elsewhere(zk_onebox: ZkCluster) -> None:
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(f"http://{zk_onebox.meta_list[0]}/nothing", timeout=5)
    assert e.value.code == 404
