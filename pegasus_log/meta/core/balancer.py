"""The load balancer: proposals that spread primaries and replicas evenly over the alive
replica servers, per table (upstream's greedy app-balance policy).

Pure: partition configurations and the alive nodes in, a bounded list of proposals out.
Only healthy partitions (primary and every secondary alive, full replica count) are moved,
one step per partition per round, so a proposal never lowers a partition's redundancy
below what it had:
- move_primary: a partition whose primary sits on a node with more than its share of the
  table's primaries, and one of whose secondaries sits on a node with fewer, swaps the
  two: DOWNGRADE_TO_SECONDARY of the primary, then UPGRADE_TO_PRIMARY of that secondary.
  Both members keep their data; only the roles change.
- copy_secondary: when replica counts (primaries + secondaries) are uneven, a secondary
  on the busiest node is copied to the idlest node that is not a member:
  ADD_SECONDARY_FOR_LB (the new node learns), then REMOVE of the old one.
Primaries are balanced first; replica counts only once primaries are even (upstream's
order), so the two never undo each other in one round.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from pegasus_log.meta.core.guardian import members
from pegasus_log.rpc.admin import ConfigType
from pegasus_log.rpc.messages import PartitionConfiguration
from pegasus_log.rpc.thrift import Gpid, RpcAddress

# Proposals per round: upstream bounds balancing to a few moves at a time so client
# traffic is not swamped by learning.
DEFAULT_MAX_PROPOSALS = 8


@dataclass(frozen=True, slots=True)
class Step:
    type: ConfigType
    target: RpcAddress
    node: RpcAddress


@dataclass(frozen=True, slots=True)
class Proposal:
    gpid: Gpid
    kind: str  # "move_primary" or "copy_secondary"
    steps: tuple[Step, ...]


def _healthy(pc: PartitionConfiguration, alive: frozenset[RpcAddress]) -> bool:
    group = members(pc)
    return (
        not pc.primary.is_invalid
        and len(group) == pc.max_replica_count
        and all(m in alive for m in group)
    )


def _key(a: RpcAddress) -> tuple[str, int]:
    return (a.host, a.port)


def _counts(
    configs: Iterable[PartitionConfiguration], alive: frozenset[RpcAddress], *, primaries: bool
) -> dict[RpcAddress, int]:
    counts = dict.fromkeys(alive, 0)
    for pc in configs:
        for m in [pc.primary] if primaries else members(pc):
            if m in counts:
                counts[m] += 1
    return counts


def balance_table(
    configs: Sequence[PartitionConfiguration],
    alive: frozenset[RpcAddress],
    *,
    max_proposals: int = DEFAULT_MAX_PROPOSALS,
) -> list[Proposal]:
    """Proposals for one table's partitions."""
    if len(alive) < 2:
        return []
    moves = _move_primaries(configs, alive, max_proposals)
    if moves:
        return moves
    return _copy_secondaries(configs, alive, max_proposals)


def _move_primaries(
    configs: Sequence[PartitionConfiguration], alive: frozenset[RpcAddress], limit: int
) -> list[Proposal]:
    counts = _counts(configs, alive, primaries=True)
    out: list[Proposal] = []
    moved: set[Gpid] = set()
    while len(out) < limit:
        busiest = max(counts, key=lambda a: (counts[a], _key(a)))
        idlest = min(counts, key=lambda a: (counts[a], _key(a)))
        if counts[busiest] - counts[idlest] <= 1:
            break
        candidate = next(
            (
                pc
                for pc in configs
                if pc.pid not in moved
                and pc.primary == busiest
                and idlest in pc.secondaries
                and _healthy(pc, alive)
            ),
            None,
        )
        if candidate is None:
            break
        out.append(
            Proposal(
                candidate.pid,
                "move_primary",
                (
                    Step(ConfigType.CT_DOWNGRADE_TO_SECONDARY, busiest, busiest),
                    Step(ConfigType.CT_UPGRADE_TO_PRIMARY, idlest, idlest),
                ),
            )
        )
        moved.add(candidate.pid)
        counts[busiest] -= 1
        counts[idlest] += 1
    return out


def _copy_secondaries(
    configs: Sequence[PartitionConfiguration], alive: frozenset[RpcAddress], limit: int
) -> list[Proposal]:
    counts = _counts(configs, alive, primaries=False)
    out: list[Proposal] = []
    moved: set[Gpid] = set()
    while len(out) < limit:
        busiest = max(counts, key=lambda a: (counts[a], _key(a)))
        idlest = min(counts, key=lambda a: (counts[a], _key(a)))
        if counts[busiest] - counts[idlest] <= 1:
            break
        candidate = next(
            (
                pc
                for pc in configs
                if pc.pid not in moved
                and busiest in pc.secondaries
                and idlest not in members(pc)
                and _healthy(pc, alive)
            ),
            None,
        )
        if candidate is None:
            break
        out.append(
            Proposal(
                candidate.pid,
                "copy_secondary",
                (
                    Step(ConfigType.CT_ADD_SECONDARY_FOR_LB, candidate.primary, idlest),
                    Step(ConfigType.CT_REMOVE, candidate.primary, busiest),
                ),
            )
        )
        moved.add(candidate.pid)
        counts[busiest] -= 1
        counts[idlest] += 1
    return out
