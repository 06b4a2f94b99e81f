"""The load balancer: proposals that spread primaries and replicas evenly over the alive
replica servers, per table (upstream's greedy app-balance policy).

Pure: partition configurations and the alive nodes in, a bounded list of proposals out.
Only healthy partitions (primary and every secondary alive, full replica count) are moved,
one proposal per partition at a time, and no step ever lowers a partition's redundancy
below ``max_replica_count``:
- move_primary: a partition whose primary sits on a node with more than its share of the
  table's primaries, and one of whose secondaries sits on a node with fewer, swaps the
  two: DOWNGRADE_TO_SECONDARY of the primary, then UPGRADE_TO_PRIMARY of that secondary.
  Both members keep their data; only the roles change. The meta writes the swap itself
  (``move_primary``), ballot + 1.
- copy_secondary: when replica counts (primaries + secondaries) are uneven, a secondary
  on the busiest node is copied to the idlest node that is not a member, in two steps
  asked of the primary: ADD_SECONDARY_FOR_LB (the new node learns, and is upgraded to
  secondary although the group then has ``max_replica_count`` + 1 members), then REMOVE of
  the old one.
- copy_primary: the primary itself is copied to a node that is not a member, in three
  steps: ADD_SECONDARY_FOR_LB asked of the primary (as above); then the meta hands the
  primary role over to the new secondary (DOWNGRADE_TO_SECONDARY of the old primary and
  UPGRADE_TO_PRIMARY of the new one, one write, as move_primary); then REMOVE of the old
  primary, asked of the new one. The source ends with neither the role nor the replica.
``advance`` says which step an in-flight copy needs next, from the partition's
configuration alone, so a lost message or a retry never confuses it.

The order of a round (upstream's app-balance policy, plus one case of our own):
1. primaries, by move_primary;
2. primaries, by copy_primary, when no primary can move (the node short of primaries is a
   secondary of no partition whose primary sits on a busy node: upstream's copy_primary);
3. replicas, by copy_secondary;
4. replicas, by copy_primary, when no secondary can move (every partition the idle node
   lacks has its primary on the busy node, the case upstream leaves uneven), only from a
   node holding at least as many primaries as the destination.
Each phase runs only when the ones before it proposed nothing, so they never undo each
other in one round. Phases 1 to 3 each lower (primary imbalance, replica imbalance) in
that order; phase 4 lowers the replica imbalance and may leave the two nodes' primaries
two apart, which the next round's phase 1 or 2 evens out. That this always ends is not
proven; the unit tests check it over random layouts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace

from pegasus_log.frozen import frozen
from pegasus_log.meta.core.guardian import Action, members
from pegasus_log.rpc.admin import ConfigType, PartitionStatus, ReplicaInfo
from pegasus_log.rpc.messages import PartitionConfiguration
from pegasus_log.rpc.thrift import Gpid, RpcAddress

# Proposals per round: upstream bounds balancing to a few moves at a time so client
# traffic is not swamped by learning.
DEFAULT_MAX_PROPOSALS = 8

MOVE_PRIMARY = "move_primary"
COPY_SECONDARY = "copy_secondary"
COPY_PRIMARY = "copy_primary"
# Proposals the meta carries out over several steps, tracked as copies under way.
COPIES = frozenset({COPY_SECONDARY, COPY_PRIMARY})

# A proposal's steps are actions as the guardian's: ``target`` carries it out, ``node`` is
# the node it is about.
Step = Action


@frozen
class Proposal:
    gpid: Gpid
    kind: str  # MOVE_PRIMARY, COPY_SECONDARY or COPY_PRIMARY
    steps: tuple[Step, ...]

    @property
    def source(self) -> RpcAddress:
        """The node that gives up a role: the old primary, or the copied replica."""
        if self.kind == MOVE_PRIMARY:
            return self.steps[0].node
        return self.steps[-1].node  # the REMOVE

    @property
    def destination(self) -> RpcAddress:
        """The node that takes it: the new primary, or the new replica."""
        if self.kind == MOVE_PRIMARY:
            return self.steps[1].node
        return self.steps[0].node  # the ADD_SECONDARY_FOR_LB


# A balancing phase: which partitions fit a move from a busy node to an idle one, and the
# proposal for it.
_Fits = Callable[[PartitionConfiguration, RpcAddress, RpcAddress], bool]
_Make = Callable[[PartitionConfiguration, RpcAddress, RpcAddress], Proposal]


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


def completed(pc: PartitionConfiguration, proposal: Proposal) -> PartitionConfiguration:
    """The configuration once ``proposal`` is carried out (same ballot: a projection)."""
    old, new = proposal.source, proposal.destination
    if proposal.kind == MOVE_PRIMARY:
        return _swap(pc, old, new)
    if proposal.kind == COPY_PRIMARY:
        # before, half-way or done: the destination leads, the source is gone
        return replace(
            pc, primary=new, secondaries=[s for s in pc.secondaries if s not in (old, new)]
        )
    # half-way through a copy both are members: the destination stays once
    secondaries = dict.fromkeys(new if s == old else s for s in pc.secondaries)
    return replace(pc, secondaries=list(secondaries))


def _swap(pc: PartitionConfiguration, old: RpcAddress, new: RpcAddress) -> PartitionConfiguration:
    return replace(pc, primary=new, secondaries=[old if s == new else s for s in pc.secondaries])


def move_primary(pc: PartitionConfiguration, proposal: Proposal) -> PartitionConfiguration:
    """The configuration the meta writes for a move_primary (ballot + 1). Safe because a
    write the old primary committed had every member's ack, the new primary's included,
    so the new primary's reconciliation under the new ballot keeps it."""
    assert proposal.kind == MOVE_PRIMARY and pc.primary == proposal.source, (pc, proposal)
    assert proposal.destination in pc.secondaries, (pc, proposal)
    return replace(completed(pc, proposal), ballot=pc.ballot + 1)


def hand_over_ready(
    pc: PartitionConfiguration, proposal: Proposal, reported: Mapping[RpcAddress, ReplicaInfo]
) -> bool:
    """Whether a copy_primary's hand-over may be written now: its destination has
    reported (config sync) that it is a secondary at the partition's ballot. A learner
    just upgraded may not have heard of the upgrade yet; named primary then, it would
    ignore the configuration (a learner never takes one naming it) and the partition would
    have no serving primary until its next sync."""
    info = reported.get(proposal.destination)
    return (
        info is not None
        and info.status == PartitionStatus.PS_SECONDARY
        and info.ballot >= pc.ballot
    )


def hand_over(pc: PartitionConfiguration, proposal: Proposal) -> PartitionConfiguration:
    """The configuration the meta writes for a copy_primary's middle step (ballot + 1):
    the copy's destination, now a secondary, becomes primary and the old primary a
    secondary, in a group of ``max_replica_count`` + 1. Safe for move_primary's reason:
    the destination acked every write committed since it joined, and learned all before."""
    assert proposal.kind == COPY_PRIMARY and pc.primary == proposal.source, (pc, proposal)
    assert proposal.destination in pc.secondaries, (pc, proposal)
    return replace(_swap(pc, proposal.source, proposal.destination), ballot=pc.ballot + 1)


def balance_table(
    configs: Sequence[PartitionConfiguration],
    alive: frozenset[RpcAddress],
    *,
    max_proposals: int = DEFAULT_MAX_PROPOSALS,
    in_flight: Mapping[Gpid, Proposal] | None = None,
) -> list[Proposal]:
    """Proposals for one table's partitions.

    ``in_flight``: proposals already under way; their partitions get no other, and the
    counts are taken as if they had completed."""
    if len(alive) < 2 or max_proposals <= 0:
        return []
    busy = dict(in_flight or {})
    projected = [completed(pc, busy[pc.pid]) if pc.pid in busy else pc for pc in configs]
    # Primaries first: replica counts only once primaries are even or cannot be evened.
    primaries = _counts(projected, alive, primaries=True)
    phases: list[tuple[bool, _Fits, _Make]] = [
        (True, _fits_move, _make_move),
        (True, _fits_copy_primary, _make_copy_primary),
        (False, _fits_copy, _make_copy),
        (False, *_copy_primary_for_replicas(primaries)),
    ]
    for by_primaries, fits, make in phases:
        proposals = _greedy(
            projected,
            alive,
            max_proposals,
            busy=busy.keys(),
            primaries=by_primaries,
            fits=fits,
            make=make,
        )
        if proposals:
            return proposals
    return []


def _fits_move(pc: PartitionConfiguration, busiest: RpcAddress, idlest: RpcAddress) -> bool:
    return pc.primary == busiest and idlest in pc.secondaries


def _make_move(pc: PartitionConfiguration, busiest: RpcAddress, idlest: RpcAddress) -> Proposal:
    return Proposal(
        pc.pid,
        MOVE_PRIMARY,
        (
            Step(ConfigType.CT_DOWNGRADE_TO_SECONDARY, busiest, busiest),
            Step(ConfigType.CT_UPGRADE_TO_PRIMARY, idlest, idlest),
        ),
    )


def _fits_copy(pc: PartitionConfiguration, busiest: RpcAddress, idlest: RpcAddress) -> bool:
    return busiest in pc.secondaries and idlest not in members(pc)


def _make_copy(pc: PartitionConfiguration, busiest: RpcAddress, idlest: RpcAddress) -> Proposal:
    return Proposal(
        pc.pid,
        COPY_SECONDARY,
        (
            Step(ConfigType.CT_ADD_SECONDARY_FOR_LB, pc.primary, idlest),
            Step(ConfigType.CT_REMOVE, pc.primary, busiest),
        ),
    )


def _fits_copy_primary(pc: PartitionConfiguration, busiest: RpcAddress, idlest: RpcAddress) -> bool:
    return pc.primary == busiest and idlest not in members(pc)


def _make_copy_primary(
    pc: PartitionConfiguration, busiest: RpcAddress, idlest: RpcAddress
) -> Proposal:
    return Proposal(
        pc.pid,
        COPY_PRIMARY,
        (
            Step(ConfigType.CT_ADD_SECONDARY_FOR_LB, busiest, idlest),
            Step(ConfigType.CT_DOWNGRADE_TO_SECONDARY, busiest, busiest),
            Step(ConfigType.CT_UPGRADE_TO_PRIMARY, idlest, idlest),
            Step(ConfigType.CT_REMOVE, idlest, busiest),
        ),
    )


def _copy_primary_for_replicas(primaries: dict[RpcAddress, int]) -> tuple[_Fits, _Make]:
    """copy_primary as a replica move (phase 4): only from a node holding at least as
    many primaries as the destination, so their primaries end at most two apart;
    ``primaries`` follows the proposals made."""

    def fits(pc: PartitionConfiguration, busiest: RpcAddress, idlest: RpcAddress) -> bool:
        enough = primaries.get(busiest, 0) >= primaries.get(idlest, 0)
        return enough and _fits_copy_primary(pc, busiest, idlest)

    def make(pc: PartitionConfiguration, busiest: RpcAddress, idlest: RpcAddress) -> Proposal:
        primaries[busiest] -= 1
        primaries[idlest] += 1
        return _make_copy_primary(pc, busiest, idlest)

    return fits, make


def _greedy(
    configs: Sequence[PartitionConfiguration],
    alive: frozenset[RpcAddress],
    limit: int,
    *,
    busy: Iterable[Gpid],
    primaries: bool,
    fits: _Fits,
    make: _Make,
) -> list[Proposal]:
    """Repeatedly move one unit (a primary, or a replica) from a busy node to an idle one,
    on the first healthy partition that ``fits``, until counts differ by at most one, no
    partition fits, or ``limit`` proposals are made. The busiest node and the idlest are
    tried first; when no partition fits them (every secondary of the busiest sits in a
    group the idlest is already in), the next pairs whose counts differ by more than one."""
    counts = _counts(configs, alive, primaries=primaries)
    out: list[Proposal] = []
    moved: set[Gpid] = set(busy)
    while len(out) < limit:
        found = _first_fit(configs, alive, counts, moved, fits)
        if found is None:
            break
        pc, source, destination = found
        out.append(make(pc, source, destination))
        moved.add(pc.pid)
        counts[source] -= 1
        counts[destination] += 1
    return out


def _first_fit(
    configs: Sequence[PartitionConfiguration],
    alive: frozenset[RpcAddress],
    counts: Mapping[RpcAddress, int],
    moved: set[Gpid],
    fits: _Fits,
) -> tuple[PartitionConfiguration, RpcAddress, RpcAddress] | None:
    by_load = sorted(counts, key=lambda a: (counts[a], _key(a)))
    for source in reversed(by_load):
        for destination in by_load:
            if counts[source] - counts[destination] <= 1:
                break  # the rest are busier still
            for pc in configs:
                if pc.pid not in moved and fits(pc, source, destination) and _healthy(pc, alive):
                    return pc, source, destination
    return None


def next_copy_step(
    proposal: Proposal, pc: PartitionConfiguration, alive: frozenset[RpcAddress]
) -> Step | None:
    """The step an in-flight copy needs now, or None when it is over: done, or no longer
    possible (the primary changed, a member died, the destination died, something else
    changed the group). Then the partition guardian takes the partition back: it adds
    what is missing, or removes the extra member of a copy that stopped half-way.

    Redundancy never drops below ``max_replica_count``: the source is removed only while
    the group has one member more than that, all of them alive."""
    assert proposal.kind in COPIES, proposal
    group = members(pc)
    if proposal.destination not in alive or any(m not in alive for m in group):
        return None
    if proposal.kind == COPY_PRIMARY:
        return _next_copy_primary_step(proposal, pc)
    add, remove = proposal.steps
    source, destination = proposal.source, proposal.destination
    if pc.primary != add.target or source not in group:
        return None
    if destination not in group:
        return add if len(group) == pc.max_replica_count else None
    return remove if len(group) > pc.max_replica_count else None


def _next_copy_primary_step(proposal: Proposal, pc: PartitionConfiguration) -> Step | None:
    """add (primary on the source, destination not a member, group full); hand over
    (destination now a secondary, one member beyond the replica count: the step whose type
    is DOWNGRADE_TO_SECONDARY, which the meta writes itself once ``hand_over_ready``, see
    ``hand_over``); remove
    (primary on the destination, the source still a secondary, one member too many)."""
    add, hand, _upgrade, remove = proposal.steps
    source, destination = proposal.source, proposal.destination
    size, full = len(members(pc)), pc.max_replica_count
    if pc.primary == source:
        if destination not in pc.secondaries:
            return add if size == full else None
        return hand if size == full + 1 else None
    if pc.primary == destination and source in pc.secondaries:
        return remove if size == full + 1 else None
    return None


def advance(
    in_flight: Mapping[Gpid, Proposal],
    configs: Mapping[Gpid, PartitionConfiguration],
    alive: frozenset[RpcAddress],
) -> dict[Gpid, Step]:
    """For each in-flight copy, the step to take now; copies left out are over."""
    out: dict[Gpid, Step] = {}
    for gpid, proposal in in_flight.items():
        pc = configs.get(gpid)
        step = next_copy_step(proposal, pc, alive) if pc is not None else None
        if step is not None:
            out[gpid] = step
    return out


# ---- manual proposals (the shell's ``balance``, RPC_CM_PROPOSE_BALANCER) -----------------


def requested(actions: Sequence[Step]) -> tuple[str, RpcAddress, RpcAddress] | None:
    """The (kind, source, destination) an operator's action list spells, as upstream's
    shell writes it for ``balance -p move_pri|copy_pri|copy_sec -f source -t destination``;
    None for any other list.

    - move_pri: DOWNGRADE_TO_SECONDARY of the source, UPGRADE_TO_PRIMARY of the destination,
      each its own target;
    - copy_pri: ADD_SECONDARY_FOR_LB of the destination asked of the source, then the same
      two steps as move_pri;
    - copy_sec: ADD_SECONDARY_FOR_LB of the destination, then DOWNGRADE_TO_INACTIVE (or
      REMOVE) of the source, both asked of the primary, whose address the shell leaves
      empty (the meta fills it in, upstream too)."""
    types = tuple(a.type for a in actions)
    add, down, up, drop = (
        ConfigType.CT_ADD_SECONDARY_FOR_LB,
        ConfigType.CT_DOWNGRADE_TO_SECONDARY,
        ConfigType.CT_UPGRADE_TO_PRIMARY,
        ConfigType.CT_DOWNGRADE_TO_INACTIVE,
    )
    if types == (down, up) and all(a.target == a.node for a in actions):
        return MOVE_PRIMARY, actions[0].node, actions[1].node
    if types == (add, down, up) and all(a.target == a.node for a in actions[1:]):
        source, destination = actions[1].node, actions[2].node
        if actions[0].target == source and actions[0].node == destination:
            return COPY_PRIMARY, source, destination
    if types in ((add, drop), (add, ConfigType.CT_REMOVE)):
        return COPY_SECONDARY, actions[1].node, actions[0].node
    return None


def manual_proposal(
    pc: PartitionConfiguration,
    kind: str,
    source: RpcAddress,
    destination: RpcAddress,
    alive: frozenset[RpcAddress],
) -> Proposal | str:
    """The proposal for an operator's ``kind`` move of ``pc`` from ``source`` to
    ``destination``, carried out exactly as the balancer's own; or, as text, why it cannot
    be. The balancer's rules hold: only a healthy partition moves, and nothing lowers its
    redundancy."""
    if not _healthy(pc, alive):
        return "the partition is not healthy (a primary and all its members alive, none missing)"
    if destination not in alive:
        return f"{destination} is not an alive replica server"
    if kind == MOVE_PRIMARY:
        if not _fits_move(pc, source, destination):
            return f"move_pri needs {source} to be the primary and {destination} a secondary"
        return _make_move(pc, source, destination)
    if kind == COPY_PRIMARY:
        if not _fits_copy_primary(pc, source, destination):
            return f"copy_pri needs {source} to be the primary and {destination} no member"
        return _make_copy_primary(pc, source, destination)
    assert kind == COPY_SECONDARY, kind
    if not _fits_copy(pc, source, destination):
        return f"copy_sec needs {source} to be a secondary and {destination} no member"
    return _make_copy(pc, source, destination)
