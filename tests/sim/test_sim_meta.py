"""The simulated meta: the meta core's decisions wired to messages (beacons and grace,
config sync, proposals to primaries, replica-proposed updates through ``reconfig``)."""

from __future__ import annotations

from dataclasses import replace

from pegasus_log.failure_detector import FdOptions
from pegasus_log.replica.core.messages import ConfigProposal, ConfigUpdateReply
from pegasus_log.rpc.admin import (
    ConfigType,
    ConfigurationUpdateRequest,
    PartitionStatus,
    ReplicaInfo,
)
from pegasus_log.rpc.error_code import ErrorCode
from pegasus_log.rpc.messages import PartitionConfiguration
from pegasus_log.rpc.thrift import Gpid, RpcAddress
from pegasus_log.sim.meta import (
    Beacon,
    BeaconAck,
    ConfigPush,
    SimMeta,
    SyncReply,
    SyncRequest,
    UpdateRequest,
)

A, B, C = (RpcAddress(f"10.0.0.{i}", 34801) for i in (1, 2, 3))
META = RpcAddress("10.0.1.1", 34601)
GPID = Gpid(1, 0)
FD = FdOptions(beacon_interval_s=0.1, lease_s=0.6, grace_s=0.8)


def meta(config: PartitionConfiguration | None = None) -> SimMeta:
    pc = config or PartitionConfiguration(pid=GPID, max_replica_count=3)
    return SimMeta(address=META, configs={GPID: pc}, fd=FD, proposal_interval_s=0.2)


def test_a_fresh_partition_gets_a_primary_then_proposals_to_add_secondaries() -> None:
    m = meta()
    for node in (A, B, C):
        m.on_beacon(Beacon(node, 0.0), 0.0)
    out = m.tick(0.05)
    assert m.configs[GPID].primary == A and m.configs[GPID].ballot == 1
    assert (A, ConfigPush(m.configs[GPID])) in out
    out = m.tick(0.1)
    [(to, proposal)] = [(t, p) for t, p in out if isinstance(p, ConfigProposal)]
    assert to == A and proposal.type == ConfigType.CT_ADD_SECONDARY and proposal.node == B
    # Not again before the proposal interval.
    assert not [p for _t, p in m.tick(0.15) if isinstance(p, ConfigProposal)]


def test_grace_expiry_drops_the_node_and_its_first_beacon_back_is_refused() -> None:
    pc = PartitionConfiguration(pid=GPID, ballot=3, max_replica_count=3, primary=A, secondaries=[B])
    m = meta(pc)
    m.on_beacon(Beacon(A, 0.0), 0.0)
    m.on_beacon(Beacon(B, 0.0), 0.0)
    m.on_beacon(Beacon(A, 0.5), 0.5)
    m.tick(0.9)
    assert m.configs[GPID].secondaries == [] and m.configs[GPID].last_drops == [B]
    [(_to, first)] = m.on_beacon(Beacon(B, 1.0), 1.0)
    [(_to, second)] = m.on_beacon(Beacon(B, 1.1), 1.1)
    assert first == BeaconAck(1.0, False) and second == BeaconAck(1.1, True)


def test_config_sync_answers_members_only_and_only_alive_nodes() -> None:
    pc = PartitionConfiguration(pid=GPID, ballot=3, max_replica_count=3, primary=A, secondaries=[B])
    m = meta(pc)
    assert m.on_sync(SyncRequest(A, ())) == []  # never beaconed
    m.on_beacon(Beacon(A, 0.0), 0.0)
    m.on_beacon(Beacon(C, 0.0), 0.0)
    assert m.on_sync(SyncRequest(A, ())) == [(A, SyncReply((pc,)))]
    assert m.on_sync(SyncRequest(C, ())) == [(C, SyncReply(()))]


def test_an_accepted_update_is_pushed_to_old_and_new_members() -> None:
    pc = PartitionConfiguration(
        pid=GPID, ballot=3, max_replica_count=3, primary=A, secondaries=[B, C]
    )
    m = meta(pc)
    proposed = replace(pc, ballot=4, secondaries=[C])
    request = ConfigurationUpdateRequest(
        config=proposed, type=ConfigType.CT_DOWNGRADE_TO_INACTIVE, node=B, host_node=A
    )
    out = m.on_update(UpdateRequest(request))
    stored = m.configs[GPID]
    assert (stored.ballot, stored.secondaries, stored.last_drops) == (4, [C], [B])
    pushed = sorted((t.host for t, msg in out if isinstance(msg, ConfigPush)))
    assert pushed == [A.host, B.host, C.host]
    [(to, reply)] = [(t, r) for t, r in out if isinstance(r, ConfigUpdateReply)]
    assert to == A and reply.err == ErrorCode.ERR_OK and reply.config == stored
    assert m.history[GPID][-1] == stored


def test_a_refused_update_answers_with_what_is_stored() -> None:
    pc = PartitionConfiguration(pid=GPID, ballot=3, max_replica_count=3, primary=A, secondaries=[B])
    m = meta(pc)
    stale = replace(pc, ballot=3, secondaries=[])  # a deposed primary's view: ballot behind
    request = ConfigurationUpdateRequest(
        config=stale, type=ConfigType.CT_DOWNGRADE_TO_INACTIVE, node=B, host_node=A
    )
    [(to, reply)] = m.on_update(UpdateRequest(request))
    assert isinstance(reply, ConfigUpdateReply) and reply.err != ErrorCode.ERR_OK
    assert to == A and reply.config == pc and m.configs[GPID] == pc


# ---- balancing: cure first, copies bounded and stepped from the configuration ---------

D = RpcAddress("10.0.0.4", 34801)


def balancing_meta(configs: list[PartitionConfiguration], copies_max: int = 2) -> SimMeta:
    m = SimMeta(
        address=META,
        configs={c.pid: c for c in configs},
        fd=FD,
        proposal_interval_s=0.2,
        balancing=True,
        copies_max=copies_max,
    )
    for node in (A, B, C, D):
        m.on_beacon(Beacon(node, 0.0), 0.0)
    return m


def full(i: int, primary: RpcAddress, *secondaries: RpcAddress) -> PartitionConfiguration:
    return PartitionConfiguration(
        pid=Gpid(1, i),
        ballot=3,
        max_replica_count=3,
        primary=primary,
        secondaries=list(secondaries),
    )


def proposals_of(out: list[tuple[RpcAddress, object]]) -> list[ConfigProposal]:
    return [p for _t, p in out if isinstance(p, ConfigProposal)]


def test_no_balancing_while_a_partition_needs_curing() -> None:
    ill = replace(full(3, A, B, C), secondaries=[B])
    m = balancing_meta([full(0, A, B, C), full(1, B, C, A), full(2, C, A, B), ill])
    out = m.tick(0.05)
    [cure] = proposals_of(out)
    assert cure.type == ConfigType.CT_ADD_SECONDARY and cure.gpid == Gpid(1, 3)
    assert m.copies == {}


def test_copies_are_bounded_and_each_step_is_asked_of_the_primary() -> None:
    # One primary each, so D gets copies of secondaries; two are needed, one at a time.
    m = balancing_meta([full(0, A, B, C), full(1, B, C, A), full(2, C, A, B)], copies_max=1)
    asked = proposals_of(m.tick(0.05))
    assert len(m.copies) == 1 and len(asked) == 1
    assert all(p.type == ConfigType.CT_ADD_SECONDARY_FOR_LB and p.node == D for p in asked)
    # The learner of one copy is upgraded: the next step is the removal of the source.
    gpid = asked[0].gpid
    proposal, _started = m.copies[gpid]
    pc = m.configs[gpid]
    grown = replace(pc, ballot=pc.ballot + 1, secondaries=[*pc.secondaries, D])
    request = ConfigurationUpdateRequest(
        config=grown, type=ConfigType.CT_UPGRADE_TO_SECONDARY, node=D, host_node=pc.primary
    )
    m.on_update(UpdateRequest(request))
    [remove] = [p for p in proposals_of(m.tick(0.3)) if p.gpid == gpid]
    assert remove.type == ConfigType.CT_REMOVE and remove.node == proposal.source
    assert len(m.copies) == 1  # no second copy while one is under way


def test_copy_primary_hand_over_is_written_by_the_meta() -> None:
    """D is a member of nothing and A holds two primaries: A's primary is copied to D.
    The primary adds D; once D is a secondary the meta itself hands the primary role over
    (ballot + 1, A a secondary); then it asks D, the new primary, to remove A."""
    m = balancing_meta([full(0, A, B, C), full(1, B, C, A), full(2, C, A, B), full(3, A, B, C)])
    [add] = proposals_of(m.tick(0.05))
    assert add.type == ConfigType.CT_ADD_SECONDARY_FOR_LB and add.node == D
    gpid = add.gpid
    proposal, _started = m.copies[gpid]
    assert proposal.source == A and proposal.destination == D
    pc = m.configs[gpid]
    grown = replace(pc, ballot=pc.ballot + 1, secondaries=[*pc.secondaries, D])
    request = ConfigurationUpdateRequest(
        config=grown, type=ConfigType.CT_UPGRADE_TO_SECONDARY, node=D, host_node=A
    )
    m.on_update(UpdateRequest(request))
    # Not before D says it is a secondary at that ballot: a learner not yet told of its
    # upgrade would ignore a configuration naming it primary.
    m.tick(0.1)
    assert m.configs[gpid] == grown
    learning = ReplicaInfo(
        pid=gpid, ballot=pc.ballot, status=PartitionStatus.PS_POTENTIAL_SECONDARY
    )
    m.on_sync(SyncRequest(D, (learning,)))
    m.tick(0.15)
    assert m.configs[gpid] == grown
    upgraded = ReplicaInfo(pid=gpid, ballot=grown.ballot, status=PartitionStatus.PS_SECONDARY)
    m.on_sync(SyncRequest(D, (upgraded,)))
    m.tick(0.2)
    handed = m.configs[gpid]
    assert handed.ballot == grown.ballot + 1 and handed.primary == D
    assert A in handed.secondaries and len(handed.secondaries) == 3
    [remove] = [p for p in proposals_of(m.tick(0.5)) if p.gpid == gpid]
    assert remove.type == ConfigType.CT_REMOVE and remove.node == A
    assert m.counters["primary_copies"] == 1
