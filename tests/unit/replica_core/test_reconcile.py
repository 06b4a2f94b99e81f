"""A new primary re-prepares its uncommitted tail under its ballot before it serves."""

from __future__ import annotations

from pegasus_log.replica.core import (
    AppendLog,
    ClientRead,
    ClientWrite,
    ConfigUpdate,
    LogAppended,
    Prepare,
    PrepareAck,
    ReplicaCore,
)
from pegasus_log.replica.core import status as st
from pegasus_log.rpc.error_code import ErrorCode

from .helpers import GPID, A, B, C, applied, core, log_all, of, pc, replies, sent, update
from .helpers import mutation as mu


def secondary_with_tail() -> ReplicaCore:
    """B, secondary of A at ballot 1, holding decrees 1-3 with 1 committed."""
    c = core(B, ballot=1)
    c._status = st.SECONDARY
    c._primary_node = A
    for d in (1, 2, 3):
        c.step(Prepare(mu(d, committed=0), A, st.SECONDARY))
        c.on_log_appended(LogAppended(GPID, 1, d))
    c.step(Prepare(mu(3, committed=1), A, st.SECONDARY))
    assert c.last_committed_decree == 1 and c.max_prepared_decree == 3
    return c


def test_upgraded_secondary_re_prepares_its_tail_and_serves_after() -> None:
    c = secondary_with_tail()
    effects = c.step(ConfigUpdate(pc(2, B, [C])))
    assert c.status == st.PRIMARY
    again = of(effects, AppendLog)
    assert [(a.mutation.ballot, a.mutation.decree) for a in again] == [(2, 2), (2, 3)]
    assert [m.mutation.decree for m in sent(effects, Prepare, C)] == [2, 3]
    assert [a.mutation.updates for a in again] == [mu(2).updates, mu(3).updates]
    assert not c.serving
    assert replies(c.step(ClientRead(1)))[0].err == ErrorCode.ERR_INVALID_STATE
    assert replies(c.step(ClientWrite(2, update(2))))[0].err == ErrorCode.ERR_INVALID_STATE
    log_all(c, effects)
    assert applied(c.step(PrepareAck(GPID, 2, 2, C))) == [2]
    assert not c.serving
    assert applied(c.step(PrepareAck(GPID, 2, 3, C))) == [3]
    assert c.serving


def test_a_hole_becomes_an_empty_mutation() -> None:
    c = core(B, ballot=1)
    c._status = st.SECONDARY
    c._primary_node = A
    c.step(Prepare(mu(1, committed=0), A, st.SECONDARY))
    c.step(Prepare(mu(3, committed=0), A, st.SECONDARY))
    effects = c.step(ConfigUpdate(pc(2, B, [C])))
    by_decree = {a.mutation.decree: a.mutation for a in of(effects, AppendLog)}
    assert sorted(by_decree) == [1, 2, 3]
    assert by_decree[2].updates == () and by_decree[3].updates == mu(3).updates


def test_reconciliation_ignores_the_member_minimum() -> None:
    # Alone, the new primary may not take writes, but must still commit its tail.
    c = secondary_with_tail()
    effects = c.step(ConfigUpdate(pc(2, B, [])))
    assert [a.mutation.decree for a in of(effects, AppendLog)] == [2, 3]
    assert applied(log_all(c, effects)) == [2, 3]
    refused = replies(c.step(ClientWrite(1, update(1))))
    assert refused[0].err == ErrorCode.ERR_NOT_ENOUGH_MEMBER
