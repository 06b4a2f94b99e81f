"""The primary's two-phase commit: batching, bounded staleness, commit on the local log
AND every member's ack, the commit point, failure reports to the meta."""

from __future__ import annotations

from dataclasses import replace

import pytest

from pegasus_log.replica.core import (
    AppendLog,
    Apply,
    ClientRead,
    ClientWrite,
    ClientWrites,
    ConfigUpdate,
    ConfigUpdateReply,
    GroupCheck,
    GroupCheckReply,
    LogAppended,
    Prepare,
    PrepareAck,
    PrepareNack,
    SaveBallot,
    ServeRead,
)
from pegasus_log.replica.core import status as st
from pegasus_log.replica.core.config import ReplicaCoreConfig, ReplicaCoreConfigError
from pegasus_log.rpc.admin import ConfigType
from pegasus_log.rpc.error_code import ErrorCode
from pegasus_log.rpc.thrift import RpcAddress

from .helpers import (
    CFG,
    GPID,
    A,
    B,
    C,
    applied,
    core,
    log_all,
    of,
    pc,
    primary,
    proposals,
    replies,
    sent,
    update,
)


def ack(node: RpcAddress, decree: int, ballot: int = 1) -> PrepareAck:
    return PrepareAck(GPID, ballot, decree, node)


def test_meta_makes_an_inactive_replica_primary() -> None:
    c = core(A)
    effects = c.step(ConfigUpdate(pc(1)))
    assert c.status == st.PRIMARY and c.ballot == 1
    assert of(effects, SaveBallot) == [SaveBallot(GPID, 1)]
    assert {m.status for m in sent(effects, GroupCheck)} == {st.SECONDARY}
    assert len(sent(effects, GroupCheck)) == 2
    assert c.serving  # nothing to reconcile


def test_no_primary_without_a_lease() -> None:
    c = core(A, lease=False)
    c.step(ConfigUpdate(pc(1)))
    assert c.status == st.INACTIVE and c.ballot == 0


def test_a_write_is_logged_and_prepared_to_every_secondary() -> None:
    c = primary()
    effects = c.step(ClientWrite(7, update(7)))
    [append] = of(effects, AppendLog)
    assert (append.mutation.ballot, append.mutation.decree) == (1, 1)
    assert append.mutation.updates == (update(7),)
    assert len(sent(effects, Prepare, B)) == 1 and len(sent(effects, Prepare, C)) == 1
    assert applied(effects) == []


def test_commit_needs_the_local_log_and_every_ack() -> None:
    c = primary()
    effects = c.step(ClientWrite(7, update(7)))
    assert applied(c.step(ack(B, 1))) == []
    assert applied(log_all(c, effects)) == []  # C has not acked: all members, no quorum
    done = c.step(ack(C, 1))
    assert applied(done) == [1]
    [apply] = [e for e in done if isinstance(e, Apply)]
    assert apply.request_ids == (7,)
    assert c.last_committed_decree == 1


def test_acks_before_the_local_append_wait_for_it() -> None:
    c = primary()
    effects = c.step(ClientWrite(7, update(7)))
    assert applied(c.step(ack(B, 1)) + c.step(ack(C, 1))) == []
    assert applied(log_all(c, effects)) == [1]


def test_commits_go_in_decree_order() -> None:
    c = primary()
    e1 = c.step(ClientWrite(1, update(1)))
    e2 = c.step(ClientWrite(2, update(2)))
    log_all(c, e1 + e2)
    assert applied(c.step(ack(B, 2)) + c.step(ack(C, 2))) == []
    done = c.step(ack(B, 1)) + c.step(ack(C, 1))
    assert applied(done) == [1, 2]


def test_one_mutation_in_flight_and_the_rest_is_batched() -> None:
    assert ReplicaCoreConfig().write_mutations_in_flight_max == 1  # the default policy
    c = primary(config=replace(CFG, write_mutations_in_flight_max=1))
    first = c.step(ClientWrite(1, update(1)))
    queued = []
    for i in range(2, 6):
        queued += c.step(ClientWrite(i, update(i)))
    assert of(queued, AppendLog) == []  # only one mutation may be in flight
    log_all(c, first)
    c.step(ack(B, 1))
    after = c.step(ack(C, 1))
    [batch] = of(after, AppendLog)
    # batch_updates_max = 3: writes 2, 3, 4 go together; 5 waits for the next one.
    assert [u.body[:3] for u in batch.mutation.updates] == [b"w2:", b"w3:", b"w4:"]
    assert batch.mutation.last_committed_decree == 1


def test_a_pipeline_of_mutations_stops_at_its_bound() -> None:
    c = primary(config=replace(CFG, write_mutations_in_flight_max=2))
    started = []
    for i in range(1, 4):
        started += of(c.step(ClientWrite(i, update(i))), AppendLog)
    # writes 1 and 2 each start a mutation; 3 waits for one of them to commit
    assert [a.mutation.decree for a in started] == [1, 2]


def test_the_write_pipeline_cannot_pass_the_staleness_bound() -> None:
    with pytest.raises(ReplicaCoreConfigError, match="write_mutations_in_flight_max"):
        replace(CFG, staleness_max=2, write_mutations_in_flight_max=3)
    with pytest.raises(ReplicaCoreConfigError, match="write_mutations_in_flight_max"):
        replace(CFG, write_mutations_in_flight_max=0)


def test_writes_arriving_together_share_a_mutation() -> None:
    c = primary()  # a pipeline of 4 in flight: only a burst batches
    burst = ClientWrites(tuple(ClientWrite(i, update(i)) for i in range(1, 6)))
    effects = c.step(burst)
    # batch_updates_max = 3: writes 1-3 in decree 1, writes 4-5 in decree 2
    appends = of(effects, AppendLog)
    assert [len(a.mutation.updates) for a in appends] == [3, 2]
    assert [a.mutation.decree for a in appends] == [1, 2]
    assert len(sent(effects, Prepare, B)) == 2


def test_a_burst_on_a_secondary_is_refused_write_by_write() -> None:
    c = core(B)
    c.step(ConfigUpdate(pc(1)))
    effects = c.step(ClientWrites((ClientWrite(1, update(1)), ClientWrite(2, update(2)))))
    assert [(r.request_id, r.err) for r in replies(effects)] == [
        (1, ErrorCode.ERR_INVALID_STATE),
        (2, ErrorCode.ERR_INVALID_STATE),
    ]
    assert of(effects, AppendLog) == []


def test_batches_are_cut_by_bytes() -> None:
    c = primary(config=replace(CFG, write_mutations_in_flight_max=1, batch_bytes_max=25))
    first = c.step(ClientWrite(1, update(1)))
    for i in (2, 3, 4):
        c.step(ClientWrite(i, update(i, size=10)))
    log_all(c, first)
    c.step(ack(B, 1))
    [batch] = of(c.step(ack(C, 1)), AppendLog)
    assert len(batch.mutation.updates) == 2


def test_full_queue_answers_busy() -> None:
    c = primary(config=replace(CFG, write_mutations_in_flight_max=1, write_queue_max=2))
    for i in range(1, 4):
        c.step(ClientWrite(i, update(i)))
    [busy] = replies(c.step(ClientWrite(9, update(9))))
    assert busy.err == ErrorCode.ERR_BUSY


def test_too_few_members_refuse_writes() -> None:
    c = primary(secondaries=())
    [refused] = replies(c.step(ClientWrite(1, update(1))))
    assert refused.err == ErrorCode.ERR_NOT_ENOUGH_MEMBER


def test_the_member_minimum_is_capped_by_the_replica_count() -> None:
    # A table set down to one replica (set_replica_count): the meta's next configuration
    # says so, and the primary alone takes writes again; set back up, it needs two.
    c = primary(secondaries=())
    assert replies(c.step(ClientWrite(1, update(1))))[0].err == ErrorCode.ERR_NOT_ENOUGH_MEMBER
    c.step(ConfigUpdate(pc(2, A, [], replicas=1)))
    assert c.serving
    effects = c.step(ClientWrite(2, update(2)))
    assert replies(effects) == []
    assert applied(log_all(c, effects)) == [1]
    c.step(ConfigUpdate(pc(3, A, [], replicas=3)))
    assert replies(c.step(ClientWrite(3, update(3))))[0].err == ErrorCode.ERR_NOT_ENOUGH_MEMBER


def test_reads_are_served_only_while_serving() -> None:
    c = primary()
    assert of(c.step(ClientRead(5)), ServeRead) == [ServeRead(5)]
    c.set_lease(False)
    [refused] = replies(c.step(ClientRead(6)))
    assert refused.err == ErrorCode.ERR_INVALID_STATE


def test_a_lapsed_lease_ends_the_primary_and_fails_waiting_writes() -> None:
    # Write 1 is prepared (it may still commit under the next primary): its outcome is
    # unknown. Write 2 only queued behind it (one mutation in flight): it is refused, safe to
    # send again.
    c = primary(config=replace(CFG, write_mutations_in_flight_max=1))
    c.step(ClientWrite(1, update(1)))
    c.step(ClientWrite(2, update(2)))
    effects = c.set_lease(False)
    assert c.status == st.INACTIVE
    assert sorted((r.request_id, r.err) for r in replies(effects)) == [
        (1, ErrorCode.ERR_TIMEOUT),
        (2, ErrorCode.ERR_INVALID_STATE),
    ]


def test_group_check_carries_the_commit_point() -> None:
    c = primary()
    effects = c.step(ClientWrite(1, update(1)))
    log_all(c, effects)
    c.step(ack(B, 1))
    c.step(ack(C, 1))
    checks = sent(c.tick(1.0), GroupCheck)
    assert {m.last_committed_decree for m in checks} == {1} and len(checks) == 2


def test_an_idle_primary_issues_an_empty_write() -> None:
    c = primary(config=replace(CFG, member_timeout_s=100.0))
    assert of(c.tick(9.9), AppendLog) == []
    [empty] = of(c.tick(10.0), AppendLog)
    assert empty.mutation.updates == () and empty.mutation.decree == 1


def test_an_unacked_prepare_is_resent_then_the_member_reported() -> None:
    c = primary()
    effects = c.step(ClientWrite(1, update(1)))
    log_all(c, effects)
    c.step(ack(C, 1))
    resent = c.tick(0.5)
    assert len(sent(resent, Prepare, B)) == 1 and sent(resent, Prepare, C) == []
    [proposal] = proposals(c.tick(3.0))
    request = proposal.request
    assert request.type == ConfigType.CT_DOWNGRADE_TO_INACTIVE and request.node == B
    assert request.config.ballot == 2 and request.config.secondaries == [C]
    assert not c.serving  # no new mutation while a reconfiguration is out
    [refused] = replies(c.step(ClientWrite(2, update(2))))
    assert refused.err == ErrorCode.ERR_INVALID_STATE
    # Resent until the meta answers.
    assert proposals(c.tick(3.5)) == []
    assert len(proposals(c.tick(4.0))) == 1


def test_the_new_configuration_re_prepares_the_tail_without_the_failed_member() -> None:
    c = primary()
    effects = c.step(ClientWrite(1, update(1)))
    log_all(c, effects)
    c.step(ack(C, 1))
    [_proposal] = proposals(c.tick(3.0))
    new = pc(2, A, [C])
    reply = ConfigUpdateReply(ErrorCode.ERR_OK, new, ConfigType.CT_DOWNGRADE_TO_INACTIVE, B)
    effects = c.step(reply)
    assert c.ballot == 2 and c.secondaries == (C,)
    [again] = of(effects, AppendLog)
    assert (again.mutation.ballot, again.mutation.decree) == (2, 1)
    assert sent(effects, Prepare, B) == [] and len(sent(effects, Prepare, C)) == 1
    assert not c.serving  # reconciling
    log_all(c, effects)
    done = c.step(ack(C, 1, ballot=2))
    assert applied(done) == [1]
    assert [e.request_ids for e in done if isinstance(e, Apply)] == [(1,)]
    assert c.serving


def test_a_nack_for_an_awaited_prepare_reports_the_member() -> None:
    c = primary()
    c.step(ClientWrite(1, update(1)))
    nack = PrepareNack(GPID, 1, 1, B, ErrorCode.ERR_INVALID_STATE)
    [proposal] = proposals(c.step(nack))
    assert proposal.request.node == B


def test_a_late_nack_does_not_kick_a_member() -> None:
    c = primary()
    nack = PrepareNack(GPID, 1, 7, B, ErrorCode.ERR_INVALID_STATE)
    assert proposals(c.step(nack)) == []


def test_a_group_check_error_reports_the_member() -> None:
    c = primary()
    reply = GroupCheckReply(GPID, 1, C, ErrorCode.ERR_INVALID_STATE, 0)
    [proposal] = proposals(c.step(reply))
    assert proposal.request.node == C


def test_a_silent_member_is_reported() -> None:
    c = primary()
    assert proposals(c.tick(2.9)) == []
    assert len(proposals(c.tick(3.0))) == 1


def test_a_local_log_failure_makes_the_primary_ask_for_its_removal() -> None:
    c = primary()
    effects = c.step(ClientWrite(1, update(1)))
    [append] = of(effects, AppendLog)
    m = append.mutation
    failed = c.on_log_appended(LogAppended(GPID, m.ballot, m.decree, ok=False))
    assert c.status == st.ERROR
    [proposal] = proposals(failed)
    assert proposal.request.type == ConfigType.CT_DOWNGRADE_TO_INACTIVE
    assert proposal.request.node == A and proposal.request.config.primary.is_invalid
    # the secondaries may hold the mutation and the next primary commit it: unknown
    assert [r.err for r in replies(failed)] == [ErrorCode.ERR_TIMEOUT]


def test_an_inactive_replica_still_named_primary_forces_a_new_ballot() -> None:
    c = core(A, ballot=3)
    [proposal] = proposals(c.step(ConfigUpdate(pc(3))))
    assert proposal.request.type == ConfigType.CT_PRIMARY_FORCE_UPDATE_BALLOT
    assert proposal.request.config.ballot == 4
    assert proposal.request.config.secondaries == [B, C]
    c.step(ConfigUpdate(pc(4)))
    assert c.status == st.PRIMARY and c.serving


def test_a_newer_config_naming_another_primary_demotes() -> None:
    c = primary()
    c.step(ClientWrite(1, update(1)))
    effects = c.step(ConfigUpdate(pc(2, B, [A, C])))
    assert c.status == st.SECONDARY and c.primary == B
    # prepared, so it may commit under B: unknown outcome, not a refusal
    assert [r.err for r in replies(effects)] == [ErrorCode.ERR_TIMEOUT]


def test_a_newer_config_without_us_makes_us_inactive() -> None:
    c = primary()
    c.step(ConfigUpdate(pc(2, B, [C])))
    assert c.status == st.INACTIVE and c.ballot == 2


def test_a_disk_short_of_space_refuses_writes_not_reads() -> None:
    """Upstream's reject_write_when_disk_insufficient: the primary's own disk, or a
    secondary's as its group check reply says, short of space refuses client writes
    with ERR_DISK_INSUFFICIENT; reads go on; room again, writes again."""
    c = primary()
    c.set_disk_status(insufficient=True, reject_writes=True)
    [refused] = replies(c.step(ClientWrite(1, update(1))))
    assert refused.err == ErrorCode.ERR_DISK_INSUFFICIENT
    assert of(c.step(ClientRead(2)), ServeRead) == [ServeRead(2)]
    c.set_disk_status(insufficient=True, reject_writes=False)  # the flag off
    assert replies(c.step(ClientWrite(3, update(3)))) == []
    c.set_disk_status(insufficient=False, reject_writes=True)
    reply = GroupCheckReply(GPID, 1, C, ErrorCode.ERR_OK, 0, disk_insufficient=True)
    c.step(reply)
    [refused] = replies(c.step(ClientWrite(4, update(4))))
    assert refused.err == ErrorCode.ERR_DISK_INSUFFICIENT
    c.step(replace(reply, disk_insufficient=False))
    assert replies(c.step(ClientWrite(5, update(5)))) == []


def test_a_member_reports_its_disk_in_group_check_replies() -> None:
    c = core(B)
    c.set_disk_status(insufficient=True, reject_writes=True)
    [reply] = sent(c.step(GroupCheck(GPID, 1, A, st.SECONDARY, 0)), GroupCheckReply)
    assert reply.disk_insufficient
