"""The partition guardian: what a partition needs next, decided from a view of the cluster.

Pure: a partition configuration and a view of the nodes in, at most one action out. The
meta runtime writes the resulting configuration to ZooKeeper before anyone acts on it.

Rules (upstream's partition_guardian, with a stricter all-dead rule):
- A dead member is dropped from the configuration (ballot + 1): a dead primary leaves the
  partition without primary; either way the node goes to the end of ``last_drops``.
- No primary, some secondary alive: UPGRADE_TO_PRIMARY of the alive secondary whose node
  holds the fewest primaries.
- No primary, no secondary, never had a member (ballot 0, no last_drops): ASSIGN_PRIMARY to
  the alive node holding the fewest primaries.
- No primary, no secondary, but members before (every replica died, upstream's "DDD"):
  ASSIGN_PRIMARY only to the most recently dropped node, once it is alive again and has
  reported a replica of the partition. Safety: a write is committed only when every member
  of the configuration of its ballot has it; the last member to be dropped belonged to
  every configuration from its joining on, and joined only after learning everything
  committed before; so it holds every committed write. Upstream may instead pick the one
  of the last two drops with the larger ballot and decrees; we wait, which can be slower
  but never picks a replica that misses a committed write.
- Primary alive with fewer members than ``max_replica_count``: ADD_SECONDARY, executed by
  the primary (it makes the node a learner), on the alive non-member with the fewest
  partitions, preferring dropped nodes (they may still hold most of the data).
- More members than ``max_replica_count``: REMOVE the secondary on the busiest node.
"""

from __future__ import annotations

from collections.abc import Container, Iterable, Mapping
from dataclasses import replace

from pegasus_log.frozen import frozen
from pegasus_log.rpc.admin import ConfigType, ReplicaInfo
from pegasus_log.rpc.messages import PartitionConfiguration
from pegasus_log.rpc.thrift import RpcAddress

NO_NODE = RpcAddress("", 0)

# last_drops keeps the most recent drops only; upstream bounds it the same way (the
# maximum replica count is 5, so 8 covers a whole group being replaced).
LAST_DROPS_MAX = 8


@frozen
class NodeView:
    address: RpcAddress
    alive: bool
    primaries: int = 0
    partitions: int = 0


@frozen
class Action:
    """``target`` carries the action out; ``node`` is the node it is about."""

    type: ConfigType
    target: RpcAddress
    node: RpcAddress


# Actions the meta applies itself (configuration written, then members told), and those
# it asks the primary to carry out.
META_APPLIED = frozenset({ConfigType.CT_ASSIGN_PRIMARY, ConfigType.CT_UPGRADE_TO_PRIMARY})
PRIMARY_APPLIED = frozenset({ConfigType.CT_ADD_SECONDARY, ConfigType.CT_REMOVE})


def replica_count_problem(count: int, low: int, high: int, alive: int) -> str | None:
    """Why a table cannot be set to ``count`` replicas (upstream's words), or None: it
    must lie in the allowed range and no table may want more members than there are
    alive replica servers."""
    if not low <= count <= high:
        return (
            f"requested replica count({count}) must be within the range of [min={low}, max={high}]"
        )
    if count > alive:
        return (
            f"there are not enough alive replica servers({alive}) "
            f"for the requested replica count({count})"
        )
    return None


def with_replica_count(pc: PartitionConfiguration, count: int) -> PartitionConfiguration | None:
    """The configuration a partition takes when its table's replica count becomes
    ``count``: the same members at ballot + 1 (the members learn it as any configuration;
    the cure then adds or removes). None when it already has that count, or has no
    primary (it waits for one)."""
    if pc.max_replica_count == count or pc.primary.is_invalid:
        return None
    return replace(pc, ballot=pc.ballot + 1, max_replica_count=count)


def members(pc: PartitionConfiguration) -> list[RpcAddress]:
    out = [] if pc.primary.is_invalid else [pc.primary]
    return out + list(pc.secondaries)


def _alive(nodes: Mapping[RpcAddress, NodeView], a: RpcAddress) -> bool:
    view = nodes.get(a)
    return view is not None and view.alive


def _fewest(candidates: Iterable[NodeView], *, by_primaries: bool) -> NodeView | None:
    def key(v: NodeView) -> tuple[int, int, str, int]:
        first = v.primaries if by_primaries else v.partitions
        second = v.partitions if by_primaries else v.primaries
        return (first, second, v.address.host, v.address.port)

    return min(candidates, key=key, default=None)


def drop_node(pc: PartitionConfiguration, node: RpcAddress) -> PartitionConfiguration | None:
    """The configuration without a dead ``node`` (ballot + 1), or None if not a member."""
    if node not in members(pc):
        return None
    drops = [d for d in pc.last_drops if d != node] + [node]
    return replace(
        pc,
        ballot=pc.ballot + 1,
        primary=NO_NODE if pc.primary == node else pc.primary,
        secondaries=[s for s in pc.secondaries if s != node],
        last_drops=drops[-LAST_DROPS_MAX:],
    )


def cure(
    pc: PartitionConfiguration,
    *,
    nodes: Mapping[RpcAddress, NodeView],
    reported: Mapping[RpcAddress, ReplicaInfo],
) -> Action | None:
    """The next action for one partition, or None when it is healthy or must wait.

    ``reported``: the replicas of this partition that alive nodes said they store.
    """
    if pc.primary.is_invalid:
        return _missing_primary(pc, nodes, reported)
    if not _alive(nodes, pc.primary):
        return None  # the runtime drops dead members first (drop_node)
    count = len(members(pc))
    if count < pc.max_replica_count:
        return _missing_secondary(pc, nodes)
    if count > pc.max_replica_count and pc.secondaries:
        busiest = max(
            (nodes.get(s, NodeView(s, False)) for s in pc.secondaries),
            key=lambda v: (v.partitions, v.address.host, v.address.port),
        )
        return Action(ConfigType.CT_REMOVE, pc.primary, busiest.address)
    return None


def _missing_primary(
    pc: PartitionConfiguration,
    nodes: Mapping[RpcAddress, NodeView],
    reported: Mapping[RpcAddress, ReplicaInfo],
) -> Action | None:
    alive_secondaries = [nodes[s] for s in pc.secondaries if _alive(nodes, s)]
    if alive_secondaries:
        best = _fewest(alive_secondaries, by_primaries=True)
        assert best is not None
        return Action(ConfigType.CT_UPGRADE_TO_PRIMARY, best.address, best.address)
    if pc.secondaries:
        return None  # members remain but none is alive: wait for one
    if not pc.last_drops:
        chosen = _fewest((v for v in nodes.values() if v.alive), by_primaries=True)
        if chosen is None:
            return None
        return Action(ConfigType.CT_ASSIGN_PRIMARY, chosen.address, chosen.address)
    last = pc.last_drops[-1]
    if _alive(nodes, last) and last in reported:
        return Action(ConfigType.CT_ASSIGN_PRIMARY, last, last)
    return None


def forced_primary(
    pc: PartitionConfiguration,
    target: RpcAddress,
    *,
    nodes: Mapping[RpcAddress, NodeView],
    reported: Mapping[RpcAddress, ReplicaInfo],
) -> Action | str:
    """An operator's ``propose -f`` of CT_ASSIGN_PRIMARY to ``target``: the action, or
    why it is refused. It is the way out of a partition whose every member died when the
    one that surely holds every committed write (the latest drop) will not come back: the
    operator accepts losing what only that one held. Refused unless the partition has no
    member at all and ``target`` is alive and reported a replica of it (forcing a server
    without one would start the partition empty; upstream sends the proposal anyway)."""
    if not pc.primary.is_invalid:
        return f"the partition has a primary, {pc.primary}"
    if pc.secondaries:
        return f"the partition still has members {list(map(str, pc.secondaries))}"
    if not _alive(nodes, target):
        return f"{target} is not an alive replica server"
    if target not in reported:
        return f"{target} holds no replica of the partition: forcing it would start it empty"
    return Action(ConfigType.CT_ASSIGN_PRIMARY, target, target)


def ddd_reason(
    pc: PartitionConfiguration,
    *,
    nodes: Mapping[RpcAddress, NodeView],
    reported: Mapping[RpcAddress, ReplicaInfo],
    synced: Container[RpcAddress],
) -> str | None:
    """Why a partition whose every member died ("DDD") has no primary, or None when it
    is not one or the cure assigns its primary now (``_missing_primary``). ``synced``:
    the alive nodes that reported what they store since they came back."""
    if not pc.primary.is_invalid or pc.secondaries or not pc.last_drops:
        return None
    last = pc.last_drops[-1]
    if not _alive(nodes, last):
        return (
            f"waiting for the latest dropped replica server {last} to come back: only it "
            "surely holds every committed write"
        )
    if last in reported:
        return None
    if last in synced:
        return (
            f"the latest dropped replica server {last} came back without a replica of the "
            "partition: what only it held is lost"
        )
    return f"waiting for the latest dropped replica server {last} to report its replica"


def _missing_secondary(
    pc: PartitionConfiguration, nodes: Mapping[RpcAddress, NodeView]
) -> Action | None:
    current = set(members(pc))
    candidates = [v for a, v in nodes.items() if v.alive and a not in current]
    if not candidates:
        return None
    dropped = [v for v in candidates if v.address in pc.last_drops]
    chosen = _fewest(dropped or candidates, by_primaries=False)
    assert chosen is not None
    return Action(ConfigType.CT_ADD_SECONDARY, pc.primary, chosen.address)


def apply(pc: PartitionConfiguration, action: Action) -> PartitionConfiguration:
    """The configuration after a meta-applied action (ballot + 1)."""
    assert action.type in META_APPLIED, action
    if action.type == ConfigType.CT_UPGRADE_TO_PRIMARY:
        assert action.node in pc.secondaries, (pc, action)
        return replace(
            pc,
            ballot=pc.ballot + 1,
            primary=action.node,
            secondaries=[s for s in pc.secondaries if s != action.node],
        )
    assert pc.primary.is_invalid and not pc.secondaries, pc
    return replace(
        pc,
        ballot=pc.ballot + 1,
        primary=action.node,
        last_drops=[d for d in pc.last_drops if d != action.node],
    )


def garbage(pc: PartitionConfiguration, node: RpcAddress, alive: Container[RpcAddress]) -> bool:
    """Whether ``node``'s stored copy of the partition is of no further use, so the meta
    may name it among a config sync's gc_replicas (upstream's "useless replica").

    Only when ``node`` is not a member and the group is whole: a primary and at least
    ``max_replica_count`` members, all alive. Safety: each member of a whole group learned
    everything committed before it joined and acks every write since, so the group alone
    holds every committed write, and the all-dead recovery (ASSIGN_PRIMARY to the last
    dropped member) never needs a non-member. A partition missing a member keeps every
    copy: the cure prefers a dropped node that still holds most of the data."""
    group = members(pc)
    return (
        node not in group
        and not pc.primary.is_invalid
        and len(group) >= pc.max_replica_count
        and all(m in alive for m in group)
    )
