"""``ddd_diagnose``: the partitions whose every replica died, as upstream's shell prints
them, and the primary upstream's rule would recommend for each (pure: the meta's answer
in, lines out).

Upstream's rule (``diagnose_recommend``) looks at the last two members dropped, keeps
those alive and collected (synced since they came back), and picks the one with the
larger last committed decree (the larger ballot on a tie), provided it is not behind the
decree the meta recorded. Our meta assigns the latest dropped member by itself as soon
as it is alive and has reported, so what ``ddd_diagnose`` lists is waiting for that
member. Assigning another is the operator's ``propose -f`` (see docs/meta.md); this
command proposes nothing itself.
"""

from __future__ import annotations

from pegasus_log.rpc.admin import DddNodeInfo, DddPartitionInfo
from pegasus_log.rpc.thrift import RpcAddress


def recommend(info: DddPartitionInfo) -> RpcAddress | None:
    """The primary upstream's ``ddd_diagnose -d`` would recommend, or None."""
    drops = info.config.last_drops
    if len(drops) < 2:
        return None
    by_node = {n.node: n for n in info.dropped}
    candidates = [
        n for n in (by_node.get(d) for d in drops[-2:]) if n and n.is_alive and n.is_collected
    ]
    floor = info.config.last_committed_decree
    if len(candidates) == 1:
        (only,) = candidates
        return only.node if only.last_committed_decree >= floor else None
    if len(candidates) == 2:
        secondary, latest = candidates
        best = max(
            (latest, secondary), key=lambda n: (n.last_committed_decree, n.ballot)
        )  # latest first: it wins a full tie
        return best.node if best.last_committed_decree >= floor else None
    return None


def _mark(node: RpcAddress, drops: list[RpcAddress]) -> str:
    if drops and node == drops[-1]:
        return "  <== the latest"
    if len(drops) > 1 and node == drops[-2]:
        return "  <== the secondary latest"
    return ""


def _node_line(j: int, n: DddNodeInfo, drops: list[RpcAddress]) -> str:
    # The meta keeps no drop times: "-" where upstream prints the time.
    return (
        f"    dropped[{j}]: node({n.node}), drop_time(-), "
        f"alive({str(n.is_alive).lower()}), collected({str(n.is_collected).lower()}), "
        f"ballot({n.ballot}), last_committed({n.last_committed_decree}), "
        f"last_prepared({n.last_prepared_decree})" + _mark(n.node, drops)
    )


def ddd_report(partitions: list[DddPartitionInfo], *, diagnose: bool) -> list[str]:
    """Upstream's ``ddd_diagnose`` output; with ``diagnose``, each partition's recommended
    primary too (never proposed: see the module doc)."""
    lines = [f"Total {len(partitions)} ddd partitions:", ""]
    for i, info in enumerate(partitions, start=1):
        pc = info.config
        drops = list(pc.last_drops)
        lines += [
            f"({i}) {pc.pid.app_id}.{pc.pid.partition_index}",
            f"    config: ballot({pc.ballot}), last_committed({pc.last_committed_decree})",
            "    ----",
        ]
        lines += [_node_line(j, n, drops) for j, n in enumerate(info.dropped)]
        lines.append("    ----")
        lines += [f"    last_drops[{j}]: node({d})" + _mark(d, drops) for j, d in enumerate(drops)]
        lines += ["    ----", f"    ddd_reason: {info.reason}"]
        if diagnose:
            primary = recommend(info)
            shown = "none" if primary is None else str(primary) + _mark(primary, drops)
            lines += ["    ----", f"    recommend_primary: {shown}", "    propose_request: none"]
    if diagnose:
        lines += ["", f"Proposed count: 0/{len(partitions)}", ""]
    return lines
