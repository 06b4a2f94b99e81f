"""The partition guardian's decisions, case by case, and properties over random views."""

from __future__ import annotations

from collections.abc import Iterable

from hypothesis import given
from hypothesis import strategies as hs

from pegasus_log.meta.core.guardian import (
    NO_NODE,
    Action,
    NodeView,
    apply,
    cure,
    ddd_reason,
    drop_node,
    garbage,
    members,
    replica_count_problem,
    with_replica_count,
)
from pegasus_log.rpc.admin import ConfigType, ReplicaInfo
from pegasus_log.rpc.messages import PartitionConfiguration
from pegasus_log.rpc.thrift import Gpid, RpcAddress

A, B, C, D = (RpcAddress("127.0.0.1", p) for p in (34801, 34802, 34803, 34804))
PID = Gpid(1, 0)


def pc(
    primary: RpcAddress = NO_NODE,
    secondaries: Iterable[RpcAddress] = (),
    last_drops: Iterable[RpcAddress] = (),
    ballot: int = 1,
    replicas: int = 3,
) -> PartitionConfiguration:
    return PartitionConfiguration(
        pid=PID,
        ballot=ballot,
        max_replica_count=replicas,
        primary=primary,
        secondaries=list(secondaries),
        last_drops=list(last_drops),
    )


def view(
    *alive: RpcAddress,
    dead: Iterable[RpcAddress] = (),
    primaries: dict[RpcAddress, int] | None = None,
    partitions: dict[RpcAddress, int] | None = None,
) -> dict[RpcAddress, NodeView]:
    primaries = primaries or {}
    partitions = partitions or {}
    out = {a: NodeView(a, True, primaries.get(a, 0), partitions.get(a, 0)) for a in alive}
    out.update({a: NodeView(a, False) for a in dead})
    return out


def info(ballot: int = 1) -> ReplicaInfo:
    return ReplicaInfo(pid=PID, ballot=ballot)


def test_new_partition_gets_the_node_with_fewest_primaries() -> None:
    got = cure(pc(ballot=0), nodes=view(A, B, C, primaries={A: 3, B: 1, C: 2}), reported={})
    assert got == Action(ConfigType.CT_ASSIGN_PRIMARY, B, B)
    assert cure(pc(ballot=0), nodes=view(dead=[A]), reported={}) is None


def test_dead_primary_is_replaced_by_a_secondary() -> None:
    config = pc(A, [B, C])
    dropped = drop_node(config, A)
    assert dropped is not None
    assert dropped.primary.is_invalid and dropped.ballot == 2 and dropped.last_drops == [A]
    got = cure(dropped, nodes=view(B, C, dead=[A], primaries={B: 5, C: 1}), reported={})
    assert got == Action(ConfigType.CT_UPGRADE_TO_PRIMARY, C, C)
    after = apply(dropped, got)
    assert (after.primary, after.secondaries, after.ballot) == (C, [B], 3)


def test_dead_secondary_leaves_the_group_then_a_new_one_is_added() -> None:
    dropped = drop_node(pc(A, [B, C]), C)
    assert dropped is not None and members(dropped) == [A, B]
    got = cure(dropped, nodes=view(A, B, D, dead=[C]), reported={})
    assert got == Action(ConfigType.CT_ADD_SECONDARY, A, D)
    # a dropped node that came back is preferred: it may hold most of the data
    got = cure(dropped, nodes=view(A, B, C, D, partitions={C: 9}), reported={})
    assert got == Action(ConfigType.CT_ADD_SECONDARY, A, C)


def test_non_member_death_changes_nothing() -> None:
    assert drop_node(pc(A, [B]), D) is None


def test_all_dead_waits_for_the_last_dropped_node() -> None:
    first = drop_node(pc(A, [B], replicas=2), B)  # B died, then A
    assert first is not None
    config = drop_node(first, A)
    assert config is not None and config.last_drops == [B, A] and not members(config)
    # B is back and reported, but A (the last to leave) holds every committed write
    assert cure(config, nodes=view(B, dead=[A]), reported={B: info()}) is None
    # A is back but has not reported its replica yet
    assert cure(config, nodes=view(A, B), reported={}) is None
    got = cure(config, nodes=view(A, B), reported={A: info(), B: info()})
    assert got == Action(ConfigType.CT_ASSIGN_PRIMARY, A, A)
    after = apply(config, got)
    assert after.primary == A and after.last_drops == [B] and after.ballot == config.ballot + 1


def test_single_replica_partition_returns_to_its_node() -> None:
    config = drop_node(pc(A, replicas=1), A)
    assert config is not None
    assert cure(config, nodes=view(B, dead=[A]), reported={}) is None
    got = cure(config, nodes=view(A, B), reported={A: info()})
    assert got == Action(ConfigType.CT_ASSIGN_PRIMARY, A, A)


def test_redundant_secondary_on_the_busiest_node_is_removed() -> None:
    got = cure(pc(A, [B, C], replicas=2), nodes=view(A, B, C, partitions={B: 1, C: 7}), reported={})
    assert got == Action(ConfigType.CT_REMOVE, A, C)


def test_healthy_partition_needs_nothing() -> None:
    assert cure(pc(A, [B, C]), nodes=view(A, B, C), reported={}) is None
    assert cure(pc(A, replicas=1), nodes=view(A, B), reported={}) is None


_nodes = hs.sampled_from([A, B, C, D])


@given(
    primary=hs.one_of(hs.just(NO_NODE), _nodes),
    secondaries=hs.lists(_nodes, unique=True, max_size=3),
    alive=hs.sets(_nodes),
    replicas=hs.integers(1, 3),
)
def test_actions_only_name_alive_nodes_and_keep_members_distinct(
    primary: RpcAddress, secondaries: list[RpcAddress], alive: set[RpcAddress], replicas: int
) -> None:
    secondaries = [s for s in secondaries if s != primary]
    config = pc(primary, secondaries, replicas=replicas)
    for dead in [a for a in members(config) if a not in alive]:
        nxt = drop_node(config, dead)
        assert nxt is not None and dead not in members(nxt)
        config = nxt
    nodes = view(*alive, dead=[a for a in (A, B, C, D) if a not in alive])
    action = cure(config, nodes=nodes, reported={a: info() for a in alive})
    if action is None:
        return
    assert action.node in alive and action.target in alive
    if action.type in (ConfigType.CT_ASSIGN_PRIMARY, ConfigType.CT_UPGRADE_TO_PRIMARY):
        after = apply(config, action)
        assert after.ballot == config.ballot + 1
        assert len(members(after)) == len(set(members(after)))
        assert after.primary == action.node


def test_a_non_member_copy_is_garbage_only_beside_a_whole_living_group() -> None:
    whole = pc(A, [B, C])
    assert garbage(whole, D, {A, B, C, D})
    assert not garbage(whole, B, {A, B, C, D})  # a member
    assert not garbage(whole, D, {A, B, D})  # a member is dead: every copy may be wanted
    assert not garbage(pc(A, [B]), D, {A, B, C, D})  # one member short: the cure's choice
    # every member dropped: D may be the last one standing with the data
    assert not garbage(pc(NO_NODE, [], last_drops=[C, D]), D, {A, B, C, D})
    assert not garbage(pc(NO_NODE, [B, C]), D, {A, B, C, D})  # no primary


def test_ddd_reason_says_what_a_partition_whose_members_all_died_waits_for() -> None:
    reported = {C: ReplicaInfo(pid=PID, ballot=3)}
    ddd = pc(last_drops=[A, B, C], ballot=4)
    dead_c = ddd_reason(ddd, nodes=view(A, B, dead=[C]), reported={}, synced={A, B})
    assert dead_c == (
        "waiting for the latest dropped replica server 127.0.0.1:34803 to come back: only it "
        "surely holds every committed write"
    )
    assert ddd_reason(ddd, nodes=view(A, B, C), reported={}, synced={A, B}) == (
        "waiting for the latest dropped replica server 127.0.0.1:34803 to report its replica"
    )
    # synced since it came back, but holds no replica of the partition: its disk was lost
    assert ddd_reason(ddd, nodes=view(A, B, C), reported={}, synced={C}) == (
        "the latest dropped replica server 127.0.0.1:34803 came back without a replica of "
        "the partition: what only it held is lost"
    )
    # alive and reported: the cure assigns it now, nothing to diagnose
    assert ddd_reason(ddd, nodes=view(C), reported=reported, synced={C}) is None
    assert cure(ddd, nodes=view(C), reported=reported) == Action(ConfigType.CT_ASSIGN_PRIMARY, C, C)
    # not a partition whose every member died
    for not_ddd in (pc(primary=A), pc(secondaries=[B], last_drops=[A]), pc()):
        assert ddd_reason(not_ddd, nodes=view(A), reported={}, synced={A}) is None


def test_a_new_replica_count_is_a_new_ballot_with_the_same_members() -> None:
    three = pc(A, [B, C], [D], ballot=7)
    two = with_replica_count(three, 2)
    assert two == pc(A, [B, C], [D], ballot=8, replicas=2)
    assert with_replica_count(three, 3) is None  # already so
    assert with_replica_count(pc(NO_NODE, [B, C], ballot=7), 2) is None  # waits for a primary
    # The cure then asks the primary to remove a secondary.
    action = cure(two, nodes=view(A, B, C, D), reported={})
    assert action is not None and (action.type, action.target) == (ConfigType.CT_REMOVE, A)
    assert action.node in (B, C)


def test_which_replica_counts_a_table_may_take() -> None:
    assert replica_count_problem(3, 1, 5, alive=3) is None
    assert replica_count_problem(6, 1, 5, alive=9) == (
        "requested replica count(6) must be within the range of [min=1, max=5]"
    )
    assert replica_count_problem(4, 1, 5, alive=3) == (
        "there are not enough alive replica servers(3) for the requested replica count(4)"
    )
