"""Upstream's reports of tables, partitions and nodes (``ls``, ``app``, ``nodes``,
``cluster_info``, ``get_app_envs``) as printer tables, from what the meta servers
answered; and the JSON report of a remote command (``remote_command``, ``server_info``,
``server_stat``) from what each server answered.

Pure: the routing tables (``TableRouting``, with every partition's primary and
secondaries) and the table list come in; tables of text cells go out. Health follows
upstream: a partition is *read-healthy* when it has a primary, *fully healthy* when it
has ``max_replica_count`` members, *write-unhealthy* when it has no primary or fewer than
two members.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from pegasus_log.client.admin import TableInfo
from pegasus_log.frozen import frozen
from pegasus_log.shell.shell.printer import Table, multi, single

AVAILABLE = "AS_AVAILABLE"
DROPPED = "AS_DROPPED"
# Every table the meta serves is a stateful "pegasus" table (it refuses other app
# types), so the table list does not carry these two fields.
APP_TYPE = "pegasus"
IS_STATEFUL = True


@frozen
class PartitionView:
    index: int
    ballot: int
    max_replica_count: int
    primary: str  # "host:port", "" when the partition has none
    secondaries: tuple[str, ...] = ()

    @property
    def replica_count(self) -> int:
        return (1 if self.primary else 0) + len(self.secondaries)


@frozen
class TableRouting:
    app_id: int
    partition_count: int
    partitions: tuple[PartitionView, ...]

    @property
    def max_replica_count(self) -> int:
        return self.partitions[0].max_replica_count if self.partitions else 0


@frozen
class Health:
    partition_count: int
    fully_healthy: int = 0
    write_unhealthy: int = 0
    read_unhealthy: int = 0

    @property
    def unhealthy(self) -> int:
        return self.partition_count - self.fully_healthy


def health(routing: TableRouting) -> Health:
    fully = write = read = 0
    for p in routing.partitions:
        if not p.primary:
            write += 1
            read += 1
        elif p.replica_count >= p.max_replica_count:
            fully += 1
        elif p.replica_count < 2:
            write += 1
    return Health(routing.partition_count, fully, write, read)


def ready_count(routing: TableRouting) -> int:
    """Partitions that serve reads and writes of one copy: those with a primary."""
    return sum(1 for p in routing.partitions if p.primary)


def date_time(seconds: int) -> str:
    """Upstream's ``YYYY-MM-DD_hh:mm:ss`` in local time; ``-`` for none."""
    if seconds <= 0:
        return "-"
    return time.strftime("%Y-%m-%d_%H:%M:%S", time.localtime(seconds))


def _address_key(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    return host, int(port) if port.isdigit() else 0


# ---- ls --------------------------------------------------------------------------------


def _general_row(t: TableInfo) -> list[object]:
    drop_time = drop_expire = "-"
    if t.status == DROPPED and t.expire_second > 0:
        drop_time, drop_expire = date_time(t.drop_second), date_time(t.expire_second)
    return [
        t.app_id,
        t.status.removeprefix("AS_"),
        t.name,
        APP_TYPE,
        t.partition_count,
        t.replica_count,
        IS_STATEFUL,
        date_time(t.create_second),
        drop_time,
        drop_expire,
        len(t.envs),
    ]


def ls_report(
    tables: Sequence[TableInfo], routings: Mapping[int, TableRouting] | None = None
) -> list[Table]:
    """``ls``: every table listed; with ``routings`` (app_id -> routing of each available
    table, for ``-d``) their health too."""
    general = multi(
        "general_info",
        [
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
        ],
    )
    for t in tables:
        general.add(*_general_row(t))
    available = [t for t in tables if t.status == AVAILABLE]
    out = [general]
    summary = single("summary", [("total_app_count", len(available))])
    if routings is not None and available:
        out.append(_healthy_info(available, routings, summary))
    out.append(summary)
    return out


def _healthy_info(
    available: Sequence[TableInfo], routings: Mapping[int, TableRouting], summary: Table
) -> Table:
    table = multi(
        "healthy_info",
        [
            "app_id",
            "app_name",
            "partition_count",
            "fully_healthy",
            "unhealthy",
            "write_unhealthy",
            "read_unhealthy",
        ],
    )
    fully_apps = unhealthy_apps = write_apps = read_apps = 0
    for t in available:
        h = health(routings[t.app_id])
        table.add(
            t.app_id,
            t.name,
            t.partition_count,
            h.fully_healthy,
            h.unhealthy,
            h.write_unhealthy,
            h.read_unhealthy,
        )
        if h.fully_healthy == t.partition_count:
            fully_apps += 1
        else:
            unhealthy_apps += 1
        write_apps += h.write_unhealthy > 0
        read_apps += h.read_unhealthy > 0
    summary.add("fully_healthy_app_count", fully_apps)
    summary.add("unhealthy_app_count", unhealthy_apps)
    summary.add("write_unhealthy_app_count", write_apps)
    summary.add("read_unhealthy_app_count", read_apps)
    return table


# ---- app -------------------------------------------------------------------------------


def app_report(
    name: str, routing: TableRouting, *, detailed: bool, output: str | None = None
) -> list[Table]:
    params = single("parameters", [("app_name", name)])
    if output is not None:
        params.add("out_file", output)
    params.add("detailed", detailed)
    general = single(
        "general",
        [
            ("app_name", name),
            ("app_id", routing.app_id),
            ("partition_count", routing.partition_count),
            ("max_replica_count", routing.max_replica_count),
        ],
    )
    if not detailed:
        return [params, general]
    return [params, general, *_app_details(routing)]


def _app_details(routing: TableRouting) -> list[Table]:
    replicas = multi("replicas", ["pidx", "ballot", "replica_count", "primary", "secondaries"])
    primaries: dict[str, int] = {}
    secondaries: dict[str, int] = {}
    for p in routing.partitions:
        replicas.add(
            p.index,
            p.ballot,
            f"{p.replica_count}/{p.max_replica_count}",
            p.primary or "-",
            "[" + ",".join(p.secondaries) + "]",
        )
        if p.primary:
            primaries[p.primary] = primaries.get(p.primary, 0) + 1
        for s in p.secondaries:
            secondaries[s] = secondaries.get(s, 0) + 1
    nodes = multi("nodes", ["node", "primary", "secondary", "total"])
    for node in sorted({*primaries, *secondaries}, key=_address_key):
        pri, sec = primaries.get(node, 0), secondaries.get(node, 0)
        nodes.add(node, pri, sec, pri + sec)
    pri, sec = sum(primaries.values()), sum(secondaries.values())
    nodes.add("", pri, sec, pri + sec)
    h = health(routing)
    healthy = single(
        "healthy",
        [
            ("fully_healthy_partition_count", h.fully_healthy),
            ("unhealthy_partition_count", h.unhealthy),
            ("write_unhealthy_partition_count", h.write_unhealthy),
            ("read_unhealthy_partition_count", h.read_unhealthy),
        ],
    )
    return [replicas, nodes, healthy]


# ---- nodes -----------------------------------------------------------------------------


@frozen
class NodeCount:
    primary: int = 0
    secondary: int = 0


def node_counts(routings: Iterable[TableRouting]) -> dict[str, NodeCount]:
    """Primaries and secondaries each node holds, over every table given."""
    primaries: dict[str, int] = {}
    secondaries: dict[str, int] = {}
    for routing in routings:
        for p in routing.partitions:
            if p.primary:
                primaries[p.primary] = primaries.get(p.primary, 0) + 1
            for s in p.secondaries:
                secondaries[s] = secondaries.get(s, 0) + 1
    return {
        n: NodeCount(primaries.get(n, 0), secondaries.get(n, 0)) for n in {*primaries, *secondaries}
    }


# ``nodes -u`` / ``-q``: upstream's columns this project measures, each from a figure of
# the replica server's ``server-stat`` line (memtable and index memory from its /metrics,
# table_stats.node_memory), and the scale from that figure to the column. Upstream's other
# columns (block cache, write buffer manager, read/write capacity units) have no
# counterpart here and are left out.
USAGE_COLUMNS: tuple[tuple[str, str, float], ...] = (
    ("memused_res_mb", "memused_res(MB)", 1.0),
    ("mem_tbl_mb", "mem_tbl_mb", 1.0),
    ("mem_idx_mb", "mem_idx_mb", 1.0),
    ("disk_avl_total_ratio", "disk_available_total_ratio", 1.0),
    ("disk_avl_min_ratio", "disk_available_total_ratio", 1.0),  # one data directory
)
QPS_COLUMNS: tuple[tuple[str, str, float], ...] = (
    ("get_qps", "get_qps", 1.0),
    ("mget_qps", "multi_get_qps", 1.0),
    ("bget_qps", "batch_get_qps", 1.0),
    ("put_qps", "put_qps", 1.0),
    ("mput_qps", "multi_put_qps", 1.0),
    ("get_p99(ms)", "get_p99(ns)", 1e-6),
    ("mget_p99(ms)", "multi_get_p99(ns)", 1e-6),
    ("bget_p99(ms)", "batch_get_p99(ns)", 1e-6),
    ("put_p99(ms)", "put_p99(ns)", 1e-6),
    ("mput_p99(ms)", "multi_put_p99(ns)", 1e-6),
)


def parse_brief_stat(line: str) -> dict[str, float]:
    """A ``server-stat`` answer (``name=value, name=value``) as figures; a part that is
    not ``name=number`` is skipped."""
    figures: dict[str, float] = {}
    for part in line.split(","):
        name, sep, value = part.strip().partition("=")
        if not sep:
            continue
        try:
            figures[name] = float(value)
        except ValueError:
            continue
    return figures


def _stat_cells(
    stat: Mapping[str, float] | None, columns: Sequence[tuple[str, str, float]]
) -> list[object]:
    cells: list[object] = []
    for _column, figure, scale in columns:
        value = None if stat is None else stat.get(figure)
        if value is None:
            cells.append("-")
        elif scale == 1.0:
            cells.append(round(value))
        else:
            cells.append(f"{value * scale:.2f}")
    return cells


def nodes_report(
    nodes: Sequence[tuple[str, bool]],
    counts: Mapping[str, NodeCount] | None = None,
    *,
    status: str = "",
    output: str | None = None,
    stats: Mapping[str, Mapping[str, float]] | None = None,
    usage: bool = False,
    qps: bool = False,
) -> list[Table]:
    """``nodes``: each node's status; with ``counts`` (``-d``) its replicas too; with
    ``stats`` (each node's ``server-stat`` figures; ``-u`` and ``-q``) its resource usage
    and request rates. A node that did not answer shows ``-``."""
    out: list[Table] = []
    if status or output is not None:
        params = single("parameters")
        if status:
            params.add("status", status)
        if output is not None:
            params.add("out_file", output)
        out.append(params)
    columns = ["address", "status"]
    right: list[str] = []
    if counts is not None:
        right += ["replica_count", "primary_count", "secondary_count"]
    measured = (USAGE_COLUMNS if usage else ()) + (QPS_COLUMNS if qps else ())
    right += [column for column, _figure, _scale in measured]
    details = multi("details", columns + right, right=right)
    alive_count = 0
    for address, alive in sorted(nodes, key=lambda n: _address_key(n[0])):
        alive_count += alive
        row: list[object] = [address, "ALIVE" if alive else "UNALIVE"]
        if counts is not None:
            c = counts.get(address, NodeCount())
            row += [c.primary + c.secondary, c.primary, c.secondary]
        if measured:
            row += _stat_cells((stats or {}).get(address), measured)
        details.add(*row)
    summary = single(
        "summary",
        [
            ("total_node_count", len(nodes)),
            ("alive_node_count", alive_count),
            ("unalive_node_count", len(nodes) - alive_count),
        ],
    )
    return [*out, details, summary]


# ---- single tables ---------------------------------------------------------------------


def cluster_info_report(info: Mapping[str, str]) -> Table:
    return single("cluster_info", list(info.items()))


def app_envs_report(envs: Mapping[str, str]) -> Table:
    """Envs in key order (upstream keeps them in a std::map)."""
    return single("app_envs", sorted(envs.items()))


@frozen
class NodeDesc:
    """A server a remote command goes to."""

    address: str
    role: str  # meta-server, replica-server, user-specified


def _message(output: str) -> Any:
    """A server's answer as JSON when it is JSON (``server-info``), else as text."""

    def refuse(constant: str) -> Any:
        raise ValueError(constant)  # NaN and Infinity are not JSON

    try:
        return json.loads(output, parse_constant=refuse)
    except ValueError:
        return output


def remote_command_report(
    command: str,
    arguments: Sequence[str],
    nodes: Sequence[NodeDesc],
    results: Sequence[tuple[bool, str]],
) -> str:
    """Upstream's ``remote_command`` report: one JSON document, per node whether it
    answered and what (its error name when it did not), and the counts."""
    assert len(nodes) == len(results), "one result per node"
    details: dict[str, Any] = {}
    for node, (acked, output) in zip(nodes, results, strict=True):
        message = _message(output) if acked else output
        details.setdefault(node.address, {"role": node.role, "acked": acked, "message": message})
    succeeded = sum(1 for acked, _ in results if acked)
    doc = {
        "command": f"{command} {' '.join(arguments)}",
        "details": details,
        "succeed_count": succeeded,
        "failed_count": len(results) - succeeded,
    }
    return json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False)
