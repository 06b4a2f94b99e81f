"""The balancer's proposals: even primaries first, then even replica counts, only on
healthy partitions, never more than the bound, and converging when applied."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as hs

from pegasus_log.meta.core.balancer import (
    COPY_PRIMARY,
    COPY_SECONDARY,
    MOVE_PRIMARY,
    Proposal,
    advance,
    balance_table,
    completed,
    hand_over,
    hand_over_ready,
    move_primary,
    next_copy_step,
)
from pegasus_log.meta.core.guardian import members
from pegasus_log.rpc.admin import ConfigType, PartitionStatus, ReplicaInfo
from pegasus_log.rpc.messages import PartitionConfiguration
from pegasus_log.rpc.thrift import Gpid, RpcAddress

NODES = [RpcAddress("127.0.0.1", 34801 + i) for i in range(4)]
A, B, C, D = NODES


def pc(i: int, primary: RpcAddress, *secondaries: RpcAddress) -> PartitionConfiguration:
    return PartitionConfiguration(
        pid=Gpid(1, i),
        ballot=3,
        max_replica_count=1 + len(secondaries),
        primary=primary,
        secondaries=list(secondaries),
    )


def apply(configs: list[PartitionConfiguration], p: Proposal) -> list[PartitionConfiguration]:
    out = []
    for c in configs:
        if c.pid != p.gpid:
            out.append(c)
            continue
        if p.kind == "move_primary":
            old, new = p.steps[0].node, p.steps[1].node
            c = replace(c, primary=new, secondaries=[old if s == new else s for s in c.secondaries])
        elif p.kind == "copy_primary":
            old, new = p.steps[0].target, p.steps[0].node
            assert old == c.primary and new not in members(c)
            c = replace(c, primary=new)
        else:
            add, remove = p.steps[0].node, p.steps[1].node
            c = replace(c, secondaries=[add if s == remove else s for s in c.secondaries])
        out.append(c)
    return out


def test_primaries_move_to_where_a_secondary_already_is() -> None:
    configs = [pc(i, A, B, C) for i in range(6)]
    proposals = balance_table(configs, frozenset([A, B, C]))
    assert proposals and all(p.kind == "move_primary" for p in proposals)
    first = proposals[0]
    assert first.steps[0].type == ConfigType.CT_DOWNGRADE_TO_SECONDARY and first.steps[0].node == A
    assert first.steps[1].type == ConfigType.CT_UPGRADE_TO_PRIMARY
    for p in proposals:
        configs = apply(configs, p)
    prim = [sum(c.primary == n for c in configs) for n in (A, B, C)]
    assert max(prim) - min(prim) <= 1


def test_secondaries_copy_to_an_idle_node_once_primaries_are_even() -> None:
    configs = [pc(0, A, B), pc(1, B, A)]
    proposals = balance_table(configs, frozenset([A, B, C]))
    assert proposals and all(p.kind == "copy_secondary" for p in proposals)
    step_add, step_remove = proposals[0].steps
    assert step_add.type == ConfigType.CT_ADD_SECONDARY_FOR_LB and step_add.node == C
    assert step_remove.type == ConfigType.CT_REMOVE and step_remove.node in (A, B)


def test_unhealthy_partitions_are_left_to_the_guardian() -> None:
    configs = [pc(i, A, B) for i in range(4)]
    assert balance_table(configs, frozenset([A, C])) == []  # B dead: every partition ill
    assert balance_table(configs, frozenset([A])) == []


def test_bound_on_proposals() -> None:
    configs = [pc(i, A, B, C) for i in range(40)]
    assert len(balance_table(configs, frozenset([A, B, C]), max_proposals=3)) == 3


@settings(max_examples=60, deadline=None)
@given(
    layout=hs.lists(hs.permutations(NODES).map(lambda p: p[:3]), min_size=1, max_size=24),
)
def test_repeated_rounds_converge(layout: list[list[RpcAddress]]) -> None:
    configs = [pc(i, grp[0], grp[1], grp[2]) for i, grp in enumerate(layout)]
    alive = frozenset(NODES)
    for _ in range(200):
        proposals = balance_table(configs, alive)
        if not proposals:
            break
        for p in proposals:
            configs = apply(configs, p)
            assert all(len(set(members(c))) == 3 for c in configs)
    else:
        raise AssertionError("balancing did not converge")
    prim = [sum(c.primary == n for c in configs) for n in NODES]
    counts = [sum(n in members(c) for c in configs) for n in NODES]
    # move_primary or copy_primary always fits a pair two primaries apart; replicas end
    # even too (copy_secondary, or copy_primary where no secondary can move)
    assert max(prim) - min(prim) <= 1, prim
    assert max(counts) - min(counts) <= 1, counts


# ---- copy_primary -------------------------------------------------------------------------


def test_a_primary_is_copied_when_none_can_move() -> None:
    """D is a member of nothing, so no primary can move there: A's is copied (upstream's
    copy_primary: primaries are balanced before replicas)."""
    configs = [*spread_over_three(), pc(3, A, B, C)]
    [p] = balance_table(configs, frozenset(NODES))
    assert p.kind == COPY_PRIMARY and p.source == A and p.destination == D
    add, hand, upgrade, remove = p.steps
    assert (add.type, add.target, add.node) == (ConfigType.CT_ADD_SECONDARY_FOR_LB, A, D)
    assert (hand.type, hand.node) == (ConfigType.CT_DOWNGRADE_TO_SECONDARY, A)
    assert (upgrade.type, upgrade.node) == (ConfigType.CT_UPGRADE_TO_PRIMARY, D)
    # the old primary is removed by the new one
    assert (remove.type, remove.target, remove.node) == (ConfigType.CT_REMOVE, D, A)


def only_primaries_on_the_busy_node() -> list[PartitionConfiguration]:
    """Two replicas each; primaries even (2, 2, 1, 1) but A holds 4 replicas and B 2. The
    partitions B lacks have A as primary or not at all: no secondary can go from A to B."""
    return [
        pc(0, C, D),
        pc(1, A, D),
        pc(2, B, A),
        pc(3, B, A),
        pc(4, D, C),
        pc(5, A, C),
    ]


def test_replicas_even_out_by_copy_primary_when_no_secondary_can_move() -> None:
    configs = only_primaries_on_the_busy_node()
    proposals = balance_table(configs, frozenset(NODES))
    assert proposals and proposals[0].kind == COPY_PRIMARY
    assert (proposals[0].source, proposals[0].destination) == (A, B)
    for _ in range(20):
        proposals = balance_table(configs, frozenset(NODES))
        if not proposals:
            break
        for p in proposals:
            configs = apply(configs, p)
    counts = [sum(n in members(c) for c in configs) for n in NODES]
    prim = [sum(c.primary == n for c in configs) for n in NODES]
    assert max(counts) - min(counts) <= 1 and max(prim) - min(prim) <= 1, (counts, prim)


def test_copy_primary_steps_follow_the_configuration() -> None:
    configs = [*spread_over_three(), pc(3, A, B, C)]
    [p] = balance_table(configs, frozenset(NODES))
    add, hand, _upgrade, remove = p.steps
    alive = frozenset(NODES)
    start = next(c for c in configs if c.pid == p.gpid)
    assert next_copy_step(p, start, alive) == add
    grown = replace(start, ballot=4, secondaries=[*start.secondaries, D])
    assert next_copy_step(p, grown, alive) == hand
    handed = hand_over(grown, p)
    assert handed.ballot == grown.ballot + 1 and handed.primary == D
    assert sorted(members(handed), key=lambda a: a.port) == sorted(
        members(grown), key=lambda a: a.port
    )
    assert next_copy_step(p, handed, alive) == remove
    done = replace(handed, ballot=6, secondaries=[s for s in handed.secondaries if s != A])
    assert next_copy_step(p, done, alive) is None
    assert advance({p.gpid: p}, {p.gpid: handed}, alive) == {p.gpid: remove}
    # each stage projects to the same end: D leads, A is gone
    for stage in (start, grown, handed, done):
        end = completed(stage, p)
        assert end.primary == D and A not in members(end) and len(members(end)) == 3


def test_the_hand_over_waits_for_the_destination_to_know_it_is_a_secondary() -> None:
    configs = [*spread_over_three(), pc(3, A, B, C)]
    [p] = balance_table(configs, frozenset(NODES))
    start = next(c for c in configs if c.pid == p.gpid)
    grown = replace(start, ballot=4, secondaries=[*start.secondaries, D])

    def info(status: PartitionStatus, ballot: int) -> dict[RpcAddress, ReplicaInfo]:
        return {D: ReplicaInfo(pid=p.gpid, ballot=ballot, status=status)}

    assert not hand_over_ready(grown, p, {})
    assert not hand_over_ready(grown, p, info(PartitionStatus.PS_POTENTIAL_SECONDARY, 3))
    assert not hand_over_ready(grown, p, info(PartitionStatus.PS_SECONDARY, 3))  # older
    assert hand_over_ready(grown, p, info(PartitionStatus.PS_SECONDARY, 4))


def test_a_copy_primary_never_lowers_redundancy() -> None:
    configs = [*spread_over_three(), pc(3, A, B, C)]
    [p] = balance_table(configs, frozenset(NODES))
    start = next(c for c in configs if c.pid == p.gpid)
    grown = replace(start, ballot=4, secondaries=[*start.secondaries, D])
    handed = hand_over(grown, p)
    other = next(s for s in start.secondaries if s != D)
    without = frozenset(NODES) - {other}
    # a member is dead: no step at any stage (removing A would leave two alive)
    for stage in (start, grown, handed):
        assert next_copy_step(p, stage, without) is None
    # the dead member was dropped after the hand-over: A is not removed from a group of 3
    dropped = replace(handed, ballot=6, secondaries=[s for s in handed.secondaries if s != other])
    assert next_copy_step(p, dropped, without) is None
    # the destination died before the hand-over: over, the old primary stays primary
    assert next_copy_step(p, grown, frozenset(NODES) - {D}) is None


def test_a_copy_primary_ends_when_a_third_node_becomes_primary() -> None:
    configs = [*spread_over_three(), pc(3, A, B, C)]
    [p] = balance_table(configs, frozenset(NODES))
    start = next(c for c in configs if c.pid == p.gpid)
    grown = replace(start, ballot=4, secondaries=[*start.secondaries, D])
    third = next(s for s in start.secondaries if s != D)
    moved = replace(
        grown,
        ballot=5,
        primary=third,
        secondaries=[A if s == third else s for s in grown.secondaries],
    )
    assert next_copy_step(p, moved, frozenset(NODES)) is None


# ---- copies under way -------------------------------------------------------------------


def copy_of(configs: list[PartitionConfiguration]) -> Proposal:
    [first, *_rest] = [
        p for p in balance_table(configs, frozenset(NODES)) if p.kind == COPY_SECONDARY
    ]
    return first


def spread_over_three() -> list[PartitionConfiguration]:
    """Three partitions of 3 replicas on A, B, C, one primary each; D is new and empty."""
    return [pc(0, A, B, C), pc(1, B, C, A), pc(2, C, A, B)]


def test_a_new_node_gets_copies_of_secondaries_once_primaries_are_even() -> None:
    proposals = balance_table(spread_over_three(), frozenset(NODES))
    assert proposals and all(p.kind == COPY_SECONDARY for p in proposals)
    assert all(p.destination == D for p in proposals)
    for p in proposals:
        add, remove = p.steps
        assert add.type == ConfigType.CT_ADD_SECONDARY_FOR_LB and add.node == D
        assert remove.type == ConfigType.CT_REMOVE and remove.node == p.source
        assert add.target == remove.target  # both asked of the partition's primary


def test_copy_steps_follow_the_configuration() -> None:
    configs = spread_over_three()
    p = copy_of(configs)
    start = next(c for c in configs if c.pid == p.gpid)
    alive = frozenset(NODES)
    assert next_copy_step(p, start, alive) == p.steps[0]
    # The learner was upgraded: max_replica_count + 1 members, so the source goes next.
    grown = replace(start, ballot=4, secondaries=[*start.secondaries, D])
    assert next_copy_step(p, grown, alive) == p.steps[1]
    done = replace(grown, ballot=5, secondaries=[s for s in grown.secondaries if s != p.source])
    assert next_copy_step(p, done, alive) is None


def test_a_copy_never_lowers_redundancy() -> None:
    configs = spread_over_three()
    p = copy_of(configs)
    start = next(c for c in configs if c.pid == p.gpid)
    grown = replace(start, ballot=4, secondaries=[*start.secondaries, D])
    other = next(s for s in start.secondaries if s != p.source)
    # A member other than the source was dropped half-way: removing the source now would
    # leave two members, so the copy is over and the guardian takes the partition back.
    dropped = replace(grown, ballot=5, secondaries=[s for s in grown.secondaries if s != other])
    assert next_copy_step(p, dropped, frozenset(NODES) - {other}) is None
    # A member died before the learner joined: nothing is added for the balancer.
    assert next_copy_step(p, start, frozenset(NODES) - {other}) is None
    # While the group is bigger than the replica count, a dead member stops the removal.
    assert next_copy_step(p, grown, frozenset(NODES) - {other}) is None


def test_a_copy_ends_when_its_primary_or_destination_changes() -> None:
    configs = spread_over_three()
    p = copy_of(configs)
    start = next(c for c in configs if c.pid == p.gpid)
    new_primary = start.secondaries[0]
    swapped = replace(
        start,
        ballot=4,
        primary=new_primary,
        secondaries=[start.primary if s == new_primary else s for s in start.secondaries],
    )
    assert next_copy_step(p, swapped, frozenset(NODES)) is None
    assert next_copy_step(p, start, frozenset([A, B, C])) is None  # destination died
    assert advance({p.gpid: p}, {p.gpid: swapped}, frozenset(NODES)) == {}
    assert advance({p.gpid: p}, {p.gpid: start}, frozenset(NODES)) == {p.gpid: p.steps[0]}


def test_copies_under_way_count_as_done_and_block_their_partition() -> None:
    configs = spread_over_three()
    alive = frozenset(NODES)
    first = balance_table(configs, alive, max_proposals=1)
    assert len(first) == 1
    again = balance_table(configs, alive, max_proposals=1, in_flight={first[0].gpid: first[0]})
    # Without the copy under way the same partition would be chosen again.
    assert again and again[0].gpid != first[0].gpid
    # Two copies under way even the counts out (3, 2, 2, 2): nothing more to do.
    under_way: dict[Gpid, Proposal] = {}
    for _ in range(2):
        [nxt] = balance_table(configs, alive, max_proposals=1, in_flight=under_way)
        under_way[nxt.gpid] = nxt
    assert balance_table(configs, alive, in_flight=under_way) == []


def test_half_way_copies_project_without_duplicates() -> None:
    configs = spread_over_three()
    p = copy_of(configs)
    grown = [replace(c, secondaries=[*c.secondaries, D]) if c.pid == p.gpid else c for c in configs]
    projected = completed(next(c for c in grown if c.pid == p.gpid), p)
    assert sorted(members(projected), key=lambda a: a.port) == sorted(
        {*members(next(c for c in configs if c.pid == p.gpid)), D} - {p.source},
        key=lambda a: a.port,
    )


def test_move_primary_swaps_roles_with_ballot_plus_one() -> None:
    configs = [pc(i, A, B, C) for i in range(6)]
    [p, *_] = balance_table(configs, frozenset([A, B, C]))
    assert p.kind == MOVE_PRIMARY
    before = next(c for c in configs if c.pid == p.gpid)
    after = move_primary(before, p)
    assert after.ballot == before.ballot + 1
    assert after.primary == p.destination and p.source in after.secondaries
    assert sorted(members(after), key=lambda a: a.port) == sorted(
        members(before), key=lambda a: a.port
    )


@settings(max_examples=60, deadline=None)
@given(
    layout=hs.lists(hs.permutations(NODES).map(lambda p: p[:3]), min_size=1, max_size=16),
    late=hs.integers(min_value=0, max_value=3),
)
def test_copies_step_by_step_keep_every_group_whole(
    layout: list[list[RpcAddress]], late: int
) -> None:
    """Carry out copies one step at a time as the replicas would (the learner joins, then
    the source leaves), with several under way: every group always has at least
    max_replica_count members, and replica counts end within one of each other."""
    configs = {c.pid: c for c in (pc(i, g[0], g[1], g[2]) for i, g in enumerate(layout))}
    alive = frozenset(NODES)
    under_way: dict[Gpid, Proposal] = {}
    for _round in range(400):
        steps = advance(under_way, configs, alive)
        under_way = {g: p for g, p in under_way.items() if g in steps}
        for gpid, step in steps.items():
            c = configs[gpid]
            if step.type == ConfigType.CT_ADD_SECONDARY_FOR_LB:
                c = replace(c, ballot=c.ballot + 1, secondaries=[*c.secondaries, step.node])
            elif step.type == ConfigType.CT_DOWNGRADE_TO_SECONDARY:
                c = hand_over(c, under_way[gpid])
            else:
                assert step.type == ConfigType.CT_REMOVE and step.target == c.primary
                c = replace(
                    c, ballot=c.ballot + 1, secondaries=[s for s in c.secondaries if s != step.node]
                )
            configs[gpid] = c
            assert len(members(c)) >= c.max_replica_count
            assert len(set(members(c))) == len(members(c))
        slots = 1 + late - len(under_way)
        proposals = balance_table(
            list(configs.values()), alive, max_proposals=max(slots, 1), in_flight=under_way
        )
        if proposals and proposals[0].kind == MOVE_PRIMARY:
            configs[proposals[0].gpid] = move_primary(configs[proposals[0].gpid], proposals[0])
        else:
            for p in proposals[: max(slots, 0)]:
                under_way[p.gpid] = p
        if not proposals and not under_way:
            break
    else:
        raise AssertionError("balancing did not converge")
    counts = [sum(n in members(c) for c in configs.values()) for n in NODES]
    prim = [sum(c.primary == n for c in configs.values()) for n in NODES]
    assert max(counts) - min(counts) <= 1, counts
    assert max(prim) - min(prim) <= 1, prim
