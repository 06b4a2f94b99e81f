"""Meta recovery's pure core: tables and partitions rebuilt from the replica servers'
reports, and upstream's hint lines."""

from __future__ import annotations

from dataclasses import replace

from pegasus_log.meta.convert import config_to_wire
from pegasus_log.meta.core import guardian
from pegasus_log.meta.core.recovery import NodeReport, Recovered, Refused, construct
from pegasus_log.rpc.admin import (
    AppInfoMessage,
    AppStatus,
    ConfigType,
    PartitionStatus,
    ReplicaInfo,
)
from pegasus_log.rpc.thrift import Gpid, RpcAddress

A, B, C = "127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:3"
TEMP = AppInfoMessage(
    status=AppStatus.AS_AVAILABLE,
    app_name="temp",
    app_id=1,
    partition_count=2,
    max_replica_count=3,
    envs={"default_ttl": "60"},
)


def _replica(index: int, ballot: int, committed: int, prepared: int) -> ReplicaInfo:
    return ReplicaInfo(
        pid=Gpid(1, index),
        ballot=ballot,
        last_committed_decree=committed,
        last_prepared_decree=prepared,
    )


def _report(
    node: str, *replicas: ReplicaInfo, apps: tuple[AppInfoMessage, ...] = (TEMP,)
) -> NodeReport:
    return NodeReport(node, apps, replicas)


def test_every_partition_waits_for_its_best_replica_as_after_an_all_dead_failure() -> None:
    reports = [
        # partition 0: C was dropped at ballot 4; A and B stayed at ballot 5, B ahead
        _report(A, _replica(0, 5, 90, 95), _replica(1, 7, 10, 10)),
        _report(B, _replica(0, 5, 100, 101), _replica(1, 7, 10, 12)),
        _report(C, _replica(0, 4, 120, 130), _replica(1, 7, 10, 12)),
    ]
    got = construct(reports, skip_lost_partitions=False)
    assert isinstance(got, Recovered) and got.hints == ()
    ((app, (p0, p1)),) = got.tables
    assert (app.app_id, app.app_name, app.partition_count, dict(app.envs)) == (
        1,
        "temp",
        2,
        {"default_ttl": "60"},
    )
    # a ballot above every replica's: a proposal from before the loss is refused
    assert (p0.ballot, p0.primary, p0.secondaries) == (6, None, ())
    assert p0.last_drops == (C, A, B)  # best last: the larger ballot beats more decrees
    assert p1.last_drops == (A, B, C)  # equal ballot and committed: prepared, then address
    # The guardian's all-dead rule then names the best once it reports.
    nodes = {RpcAddress.parse(n): guardian.NodeView(RpcAddress.parse(n), True) for n in (A, B, C)}
    reported = {RpcAddress.parse(B): reports[1].replicas[0]}
    action = guardian.cure(config_to_wire(p0), nodes=nodes, reported=reported)
    assert action is not None
    assert (action.type, str(action.node)) == (ConfigType.CT_ASSIGN_PRIMARY, B)


def test_equally_good_replicas_spread_the_primaries() -> None:
    idle = [_replica(0, 3, 50, 50), _replica(1, 3, 50, 50)]
    tables = replace(TEMP, partition_count=4)
    replicas = [*idle, _replica(2, 3, 50, 50), _replica(3, 3, 50, 50)]
    reports = [_report(n, *replicas, apps=(tables,)) for n in (A, B, C)]
    got = construct(reports, skip_lost_partitions=False)
    assert isinstance(got, Recovered)
    bests = [p.last_drops[-1] for p in got.tables[0][1]]
    # one each, then the ties go by address again
    assert sorted(bests[:3]) == [A, B, C] and bests[3] == C


def test_a_learner_never_ranks_above_a_member() -> None:
    """A learner may hold prepares above a gap it has not learned yet: with the same
    ballot and decrees as a member (simulator seed 9050), or even more, it ranks below
    every other replica, so the all-dead rule never names it primary."""
    learner = replace(_replica(0, 2, 6, 12), status=PartitionStatus.PS_POTENTIAL_SECONDARY)
    reports = [
        _report(A, _replica(0, 2, 6, 10), _replica(1, 2, 6, 6)),
        _report(B, _replica(0, 2, 6, 9), _replica(1, 2, 6, 6)),
        _report(C, learner, _replica(1, 2, 6, 6)),
    ]
    got = construct(reports, skip_lost_partitions=False)
    assert isinstance(got, Recovered)
    ((_app, (p0, p1)),) = got.tables
    assert p0.last_drops == (C, B, A)
    assert p1.last_drops[-1] == C  # no learner there: the address decides as before


def test_missing_replicas_warn_and_a_lost_partition_refuses_unless_skipped() -> None:
    reports = [_report(A, _replica(0, 3, 5, 5))]
    refused = construct(reports, skip_lost_partitions=False)
    assert isinstance(refused, Refused)
    assert refused.hints == (
        "WARNING: partition(1.0) only collects 1/3 of replicas, may lost data",
        "ERROR: partition(1.1) has no replica collected, "
        "you can force recover it by set skip_lost_partitions option",
    )
    skipped = construct(reports, skip_lost_partitions=True)
    assert isinstance(skipped, Recovered)
    assert skipped.hints[1] == (
        "WARNING: partition(1.1) has no replica collected, force recover the lost "
        "partition to empty"
    )
    empty = skipped.tables[0][1][1]
    assert (empty.ballot, empty.last_drops, empty.max_replica_count) == (0, (), 3)


def test_records_dropped_tables_and_name_conflicts() -> None:
    renamed = replace(TEMP, app_name="temp2")
    dropped = AppInfoMessage(
        status=AppStatus.AS_DROPPED,
        app_name="old",
        app_id=2,
        partition_count=1,
        max_replica_count=3,
        drop_second=100,
        expire_second=200,
    )
    same_name = replace(TEMP, app_id=3, partition_count=1)
    replicas = [_replica(0, 1, 0, 0), _replica(1, 1, 0, 0)]
    third = ReplicaInfo(pid=Gpid(3, 0), ballot=1)
    reports = [
        _report(A, *replicas, third, apps=(TEMP, dropped, same_name)),
        _report(B, *replicas, third, apps=(renamed, same_name)),
        _report(C, *replicas, third, apps=(renamed, same_name)),
    ]
    got = construct(reports, skip_lost_partitions=False)
    assert isinstance(got, Recovered)
    tables = {app.app_id: (app, parts) for app, parts in got.tables}
    assert tables[1][0].app_name == "temp2"  # two of three servers saw the rename
    assert tables[2][0].status == AppStatus.AS_DROPPED
    (gone,) = tables[2][1]  # no server holds it any more: empty, and no hint about it
    assert (gone.ballot, gone.last_drops) == (0, ())
    assert tables[2][0].expire_second == 200
    assert tables[3][0].app_name == "temp"
    assert got.hints == (
        "WARNING: the servers hold 2 different records of app(1); taking the one most of "
        "them hold: name(temp2)",
    )
    # a true name conflict: the larger app id keeps the name
    clash = [_report(A, *replicas, third, apps=(TEMP, same_name))]
    got = construct(clash, skip_lost_partitions=True)
    assert isinstance(got, Recovered)
    names = {app.app_id: app.app_name for app, _ in got.tables}
    assert names == {1: "temp__1", 3: "temp"}
    assert "WARNING: app(1)'s old name(temp) is conflict with others, rename it to (temp__1)" in (
        got.hints
    )


def test_a_record_the_model_refuses_refuses_the_recovery() -> None:
    bad = replace(TEMP, partition_count=3)
    got = construct([_report(A, apps=(bad,))], skip_lost_partitions=True)
    assert isinstance(got, Refused)
    assert got.hints == (
        "ERROR: app(1) cannot be rebuilt: partition count 3 is not a power of two",
    )
