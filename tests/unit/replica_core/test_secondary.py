"""Secondaries: ballot rules, acks only after a durable append, commit up to the primary's
commit point without holes."""

from __future__ import annotations

from pegasus_log.replica.core import (
    AppendLog,
    CommittedLocally,
    ConfigUpdate,
    GroupCheck,
    GroupCheckReply,
    LogAppended,
    Prepare,
    PrepareNack,
    SaveBallot,
)
from pegasus_log.replica.core import status as st
from pegasus_log.rpc.error_code import ErrorCode

from .helpers import GPID, A, B, C, acks, applied, core, of, pc, sent
from .helpers import mutation as mu


def secondary(ballot: int = 1):  # type: ignore[no-untyped-def]
    """B as a secondary of A, made so by a learner session that finished."""
    c = core(B, ballot=ballot)
    c._status = st.SECONDARY  # test shortcut: the learning path is tested elsewhere
    c._primary_node = A
    return c


def prepare(decree: int, *, ballot: int = 1, committed: int | None = None, n: int = 1) -> Prepare:
    return Prepare(mu(decree, ballot=ballot, committed=committed, n=n), A, st.SECONDARY)


def test_ack_leaves_only_after_the_durable_append() -> None:
    c = secondary()
    effects = c.step(prepare(1, committed=0))
    assert len(of(effects, AppendLog)) == 1 and acks(effects) == []
    done = c.on_log_appended(LogAppended(GPID, 1, 1))
    [ack] = acks(done)
    assert ack.to == A and (ack.ack.ballot, ack.ack.decree) == (1, 1)
    assert ack.proof == LogAppended(GPID, 1, 1)


def test_a_failed_append_is_never_acked() -> None:
    c = secondary()
    c.step(prepare(1, committed=0))
    effects = c.on_log_appended(LogAppended(GPID, 1, 1, ok=False))
    assert acks(effects) == [] and c.status == st.ERROR


def test_older_ballot_is_refused() -> None:
    c = secondary(ballot=3)
    [nack] = sent(c.step(prepare(1, ballot=2)), PrepareNack)
    assert nack.err == ErrorCode.ERR_VERSION_OUTDATED and nack.ballot == 3


def test_newer_ballot_from_a_primary_is_followed() -> None:
    c = secondary(ballot=1)
    effects = c.step(Prepare(mu(1, ballot=4, committed=0), C, st.SECONDARY))
    assert c.ballot == 4 and c.primary == C and c.status == st.SECONDARY
    assert of(effects, SaveBallot) == [SaveBallot(GPID, 4)]
    assert len(of(effects, AppendLog)) == 1


def test_a_duplicate_is_acked_once_durable_without_logging_again() -> None:
    c = secondary()
    c.step(prepare(1, committed=0))
    waiting = c.step(prepare(1, committed=0))
    assert of(waiting, AppendLog) == [] and acks(waiting) == []
    assert len(acks(c.on_log_appended(LogAppended(GPID, 1, 1)))) == 1
    again = c.step(prepare(1, committed=0))
    assert len(acks(again)) == 1 and of(again, AppendLog) == []


def test_commit_follows_the_primary_without_holes() -> None:
    c = secondary()
    # Prepare 2 (carrying commit point 1) overtakes prepare 1.
    assert applied(c.step(prepare(2, committed=1))) == []
    assert applied(c.step(prepare(1, committed=0))) == [1]
    assert applied(c.step(GroupCheck(GPID, 1, A, st.SECONDARY, 2))) == [2]
    assert c.last_committed_decree == 2


def test_a_prepare_at_or_below_the_commit_point_is_acked_as_committed() -> None:
    c = secondary()
    c.step(prepare(1, committed=0))
    c.on_log_appended(LogAppended(GPID, 1, 1))
    c.step(GroupCheck(GPID, 1, A, st.SECONDARY, 1))
    # A new primary re-prepares decree 1 under ballot 2 during its reconciliation.
    [ack] = acks(c.step(Prepare(mu(1, ballot=2, committed=0), C, st.SECONDARY)))
    assert isinstance(ack.proof, CommittedLocally) and ack.ack.ballot == 2


def test_the_log_record_carries_our_commit_point_not_the_primarys() -> None:
    c = secondary()
    # Decrees 1 and 2 were never received; the primary's commit point is 4.
    [append] = of(c.step(prepare(5, committed=4)), AppendLog)
    assert append.mutation.last_committed_decree == 0


def test_an_inactive_replica_refuses_prepares_and_group_checks() -> None:
    c = core(B, ballot=1)
    [nack] = sent(c.step(prepare(1, committed=0)), PrepareNack)
    assert nack.err == ErrorCode.ERR_INVALID_STATE
    [reply] = sent(c.step(GroupCheck(GPID, 1, A, st.SECONDARY, 0)), GroupCheckReply)
    assert reply.err == ErrorCode.ERR_INVALID_STATE
    # Even when the meta names it a secondary: it may have missed prepares.
    c.step(ConfigUpdate(pc(2, A, [B, C])))
    assert c.status == st.INACTIVE


def test_group_check_with_an_older_ballot_is_answered_outdated() -> None:
    c = secondary(ballot=2)
    [reply] = sent(c.step(GroupCheck(GPID, 1, A, st.SECONDARY, 0)), GroupCheckReply)
    assert reply.err == ErrorCode.ERR_VERSION_OUTDATED
