"""Table, partition and node reports computed from routing tables."""

from __future__ import annotations

import json
import time

from pegasus_log.client.admin import TableInfo
from pegasus_log.shell.shell.printer import render, render_one
from pegasus_log.shell.shell.reports import (
    Health,
    NodeCount,
    NodeDesc,
    PartitionView,
    TableRouting,
    app_envs_report,
    app_report,
    cluster_info_report,
    date_time,
    health,
    ls_report,
    node_counts,
    nodes_report,
    parse_brief_stat,
    ready_count,
    remote_command_report,
)

A, B, C = "127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:10"


def routing(
    *partitions: tuple[str, tuple[str, ...]], app_id: int = 1, max_count: int = 3
) -> TableRouting:
    return TableRouting(
        app_id,
        len(partitions),
        tuple(
            PartitionView(i, 5 + i, max_count, primary, secondaries)
            for i, (primary, secondaries) in enumerate(partitions)
        ),
    )


def table(app_id: int, name: str, status: str = "AS_AVAILABLE", **kw: int) -> TableInfo:
    return TableInfo(
        app_id=app_id,
        name=name,
        status=status,
        partition_count=kw.get("partition_count", 2),
        replica_count=kw.get("replica_count", 3),
        envs={"default_ttl": "1"} if kw.get("envs") else {},
        create_second=kw.get("create_second", 0),
        drop_second=kw.get("drop_second", 0),
        expire_second=kw.get("expire_second", 0),
    )


# ---- health ----------------------------------------------------------------------------


def test_health_follows_upstream() -> None:
    r = routing(
        (A, (B, C)),  # fully healthy
        (A, (B,)),  # readable and writable, one copy short
        (A, ()),  # fewer than two members: write-unhealthy
        ("", (B,)),  # no primary: neither readable nor writable
    )
    assert health(r) == Health(4, fully_healthy=1, write_unhealthy=2, read_unhealthy=1)
    assert health(r).unhealthy == 3
    assert ready_count(r) == 3
    # a one-replica table is fully healthy with its primary alone
    assert health(routing((A, ()), max_count=1)) == Health(1, fully_healthy=1)


def test_node_counts_over_tables() -> None:
    counts = node_counts([routing((A, (B,)), (B, (A, C))), routing((C, ()), app_id=2)])
    assert counts == {A: NodeCount(1, 1), B: NodeCount(1, 1), C: NodeCount(1, 1)}


def test_date_time() -> None:
    assert date_time(0) == "-"
    assert date_time(1_700_000_000) == time.strftime(
        "%Y-%m-%d_%H:%M:%S", time.localtime(1_700_000_000)
    )


# ---- ls --------------------------------------------------------------------------------


def test_ls_columns_and_summary() -> None:
    tables = [
        table(1, "t1", create_second=1_700_000_000, envs=1),
        table(2, "gone", "AS_DROPPED", drop_second=1_700_000_100, expire_second=1_700_000_200),
    ]
    lines = render(ls_report(tables), json_output=False)
    assert lines[0] == "[general_info]"
    assert lines[1].split() == [
        "app_id",
        "status",
        "app_name",
        "app_type",
        "partition_count",
        "replica_count",
        "is_stateful",
        "create_time",
        "drop_time",
        "drop_expire",
        "envs_count",
    ]
    assert lines[2].split() == [
        "1",
        "AVAILABLE",
        "t1",
        "pegasus",
        "2",
        "3",
        "true",
        date_time(1_700_000_000),
        "-",
        "-",
        "1",
    ]
    row = lines[3].split()
    assert row[:3] == ["2", "DROPPED", "gone"]
    assert row[7:10] == ["-", date_time(1_700_000_100), date_time(1_700_000_200)]
    assert lines[4:] == ["", "[summary]", "total_app_count  : 1", ""]


def test_ls_detailed_adds_health() -> None:
    tables = [table(1, "t1"), table(2, "t2"), table(3, "old", "AS_DROPPED")]
    routings = {1: routing((A, (B, C)), (B, (A, C))), 2: routing(("", ()), (A, ()), app_id=2)}
    doc = json.loads("\n".join(render(ls_report(tables, routings), json_output=True)))
    assert list(doc) == ["general_info", "healthy_info", "summary"]
    assert doc["healthy_info"]["2"] == {
        "app_id": "2",
        "app_name": "t2",
        "partition_count": "2",
        "fully_healthy": "0",
        "unhealthy": "2",
        "write_unhealthy": "2",
        "read_unhealthy": "1",
    }
    assert "3" not in doc["healthy_info"]
    assert doc["summary"] == {
        "total_app_count": "2",
        "fully_healthy_app_count": "1",
        "unhealthy_app_count": "1",
        "write_unhealthy_app_count": "1",
        "read_unhealthy_app_count": "1",
    }


def test_ls_detailed_without_available_tables_has_no_health() -> None:
    doc = json.loads("\n".join(render(ls_report([], {}), json_output=True)))
    assert doc == {"general_info": {}, "summary": {"total_app_count": "0"}}


# ---- app -------------------------------------------------------------------------------


def test_app_report_brief() -> None:
    lines = render(app_report("t", routing((A, ())), detailed=False), json_output=False)
    assert lines == [
        "[parameters]",
        "app_name  : t",
        "detailed  : false",
        "",
        "[general]",
        "app_name           : t",
        "app_id             : 1",
        "partition_count    : 1",
        "max_replica_count  : 3",
        "",
    ]


def test_app_report_detailed() -> None:
    r = routing((C, (A, B)), (A, ()), ("", ()))
    lines = render(app_report("t", r, detailed=True, output="f"), json_output=False)
    text = "\n".join(lines)
    assert "out_file  : f" in text
    replicas = lines[lines.index("[replicas]") + 1 : lines.index("[nodes]") - 1]
    assert [line.split() for line in replicas] == [
        ["pidx", "ballot", "replica_count", "primary", "secondaries"],
        ["0", "5", "3/3", C, f"[{A},{B}]"],
        ["1", "6", "1/3", A, "[]"],
        ["2", "7", "0/3", "-", "[]"],
    ]
    nodes = lines[lines.index("[nodes]") + 1 : lines.index("[healthy]") - 1]
    # sorted by address, port as a number; the total row is unnamed
    assert [line.split() for line in nodes] == [
        ["node", "primary", "secondary", "total"],
        [A, "1", "1", "2"],
        [B, "0", "1", "1"],
        [C, "1", "0", "1"],
        ["2", "2", "4"],
    ]
    assert lines[lines.index("[healthy]") + 1 :] == [
        "fully_healthy_partition_count    : 1",
        "unhealthy_partition_count        : 2",
        "write_unhealthy_partition_count  : 2",
        "read_unhealthy_partition_count   : 1",
        "",
    ]


# ---- nodes and the rest ----------------------------------------------------------------


def test_nodes_report() -> None:
    nodes = [(B, False), (A, True)]
    lines = render(nodes_report(nodes), json_output=False)
    assert lines == [
        "[details]",
        "address      status",
        f"{A}  ALIVE",
        f"{B}  UNALIVE",
        "",
        "[summary]",
        "total_node_count    : 2",
        "alive_node_count    : 1",
        "unalive_node_count  : 1",
        "",
    ]
    detailed = render(nodes_report(nodes, {A: NodeCount(3, 1)}, status="all"), json_output=False)
    assert detailed[:3] == ["[parameters]", "status  : all", ""]
    assert detailed[4:7] == [
        "address      status     replica_count  primary_count  secondary_count",
        f"{A}  ALIVE                  4              3                1",
        f"{B}  UNALIVE                0              0                0",
    ]


def test_parse_brief_stat_skips_what_is_not_a_figure() -> None:
    assert parse_brief_stat("get_qps=3, put_p99(ns)=1500000, junk, x=y, memused_res(MB)=70") == {
        "get_qps": 3.0,
        "put_p99(ns)": 1500000.0,
        "memused_res(MB)": 70.0,
    }


def test_nodes_report_with_usage_and_qps() -> None:
    stats = {
        A: parse_brief_stat(
            "memused_res(MB)=70, disk_available_total_ratio=41, "
            "get_qps=12, put_qps=5, put_p99(ns)=2500000"
        )
    }
    table = nodes_report([(A, True), (B, True)], stats=stats, usage=True, qps=True)
    doc = render(table, json_output=True)
    details = json.loads("\n".join(doc))["details"]
    assert details[A]["memused_res_mb"] == "70"
    assert details[A]["disk_avl_total_ratio"] == "41"
    assert details[A]["get_qps"] == "12" and details[A]["mget_qps"] == "-"
    assert details[A]["put_p99(ms)"] == "2.50"
    assert set(details[B].values()) == {B, "ALIVE", "-"}  # did not answer server-stat
    plain = render(nodes_report([(A, True)], stats=stats, qps=True), json_output=False)
    assert plain[1].split()[:4] == ["address", "status", "get_qps", "mget_qps"]
    assert "memused_res_mb" not in plain[1]


def test_single_table_reports() -> None:
    info = cluster_info_report({"meta_servers": A, "meta_function_level": "fl_steady"})
    assert render_one(info, json_output=False) == [
        "[cluster_info]",
        f"meta_servers         : {A}",
        "meta_function_level  : fl_steady",
    ]
    envs = app_envs_report({"z": "1", "a": "2"})
    assert render_one(envs, json_output=False) == ["[app_envs]", "a  : 2", "z  : 1"]


def test_remote_command_report() -> None:
    nodes = [
        NodeDesc(A, "meta-server"),
        NodeDesc(B, "replica-server"),
        NodeDesc(C, "user-specified"),
    ]
    results = [
        (True, '{"version":"0.1.0","git_SHA":"abc"}'),
        (True, "get_qps=3, put_qps=0"),
        (False, "ERR_NETWORK_FAILURE"),
    ]
    out = remote_command_report("server-info", [], nodes, results)
    doc = json.loads(out)
    assert doc == {
        "command": "server-info ",
        "details": {
            A: {
                "acked": True,
                "message": {"git_SHA": "abc", "version": "0.1.0"},
                "role": "meta-server",
            },
            B: {"acked": True, "message": "get_qps=3, put_qps=0", "role": "replica-server"},
            C: {"acked": False, "message": "ERR_NETWORK_FAILURE", "role": "user-specified"},
        },
        "failed_count": 1,
        "succeed_count": 2,
    }  # fmt: skip
    # keys in order at every level, two-space indents
    assert out.splitlines()[3:7] == [
        '    "127.0.0.1:1": {',
        '      "acked": true,',
        '      "message": {',
        '        "git_SHA": "abc",',
    ]
    assert out.splitlines()[-3:] == ['  "failed_count": 1,', '  "succeed_count": 2', "}"]


def test_remote_command_report_keeps_text_that_is_not_json() -> None:
    nodes = [NodeDesc(A, "user-specified"), NodeDesc(A, "user-specified")]
    results = [(True, "NaN"), (True, "ignored: the first answer of a node is kept")]
    doc = json.loads(remote_command_report("help", ["x", "y"], nodes, results))
    assert doc["command"] == "help x y"
    assert doc["details"] == {A: {"acked": True, "message": "NaN", "role": "user-specified"}}
    assert doc["succeed_count"] == 2
