"""A mutation's timestamp: the wall clock its writes brought (microseconds since the Unix
epoch), always past every mutation the replica holds or held, so a partition's timestamps
grow with its decrees while the clock steps back and across a change of primary."""

from __future__ import annotations

from dataclasses import replace

from pegasus_log.replica.core import (
    AppendLog,
    ClientWrite,
    ConfigUpdate,
    LogAppended,
    Prepare,
    PrepareAck,
    ReplicaCore,
)
from pegasus_log.replica.core import status as st
from pegasus_log.replica.plog.mutation import Mutation

from .helpers import GPID, A, B, C, applied, core, log_all, of, pc, primary, update
from .helpers import mutation as mu

# 2026-11-27 12:00:00 UTC
NOON_US = 1_795_780_800_000_000


def write(c: ReplicaCore, request_id: int, arrived_us: int) -> Mutation:
    """Send one write to primary ``c``, commit it (its log append and both acks), and
    return its mutation."""
    effects = c.step(ClientWrite(request_id, update(request_id), arrived_us))
    [append] = of(effects, AppendLog)
    m = append.mutation
    log_all(c, effects)
    done = c.step(PrepareAck(GPID, m.ballot, m.decree, B)) + c.step(
        PrepareAck(GPID, m.ballot, m.decree, C)
    )
    assert applied(done) == [m.decree]
    return m


def test_a_mutation_takes_the_wall_clock_its_write_brought() -> None:
    c = primary()
    assert write(c, 1, NOON_US).timestamp_us == NOON_US
    assert write(c, 2, NOON_US + 2_500_000).timestamp_us == NOON_US + 2_500_000


def test_timestamps_grow_while_the_wall_clock_steps_back() -> None:
    c = primary()
    first = write(c, 1, NOON_US)
    # The server's clock was set back five seconds (NTP, an operator).
    second = write(c, 2, NOON_US - 5_000_000)
    third = write(c, 3, NOON_US - 4_000_000)
    assert first.timestamp_us < second.timestamp_us < third.timestamp_us
    assert (second.timestamp_us, third.timestamp_us) == (NOON_US + 1, NOON_US + 2)


def test_a_new_primary_continues_past_what_the_old_one_prepared() -> None:
    # B, secondary at ballot 1, holds decree 1 stamped by A, whose clock ran ahead.
    c = core(B, ballot=1)
    c._status = st.SECONDARY
    c._primary_node = A
    ahead = replace(mu(1, committed=0), timestamp_us=NOON_US + 60_000_000)
    c.step(Prepare(ahead, A, st.SECONDARY))
    c.on_log_appended(LogAppended(GPID, 1, 1))
    effects = c.step(ConfigUpdate(pc(2, B, [C])))
    log_all(c, effects)
    assert applied(c.step(PrepareAck(GPID, 2, 1, C))) == [1]
    assert c.serving
    [append] = of(c.step(ClientWrite(9, update(9), NOON_US)), AppendLog)
    assert append.mutation.decree == 2
    assert append.mutation.timestamp_us == NOON_US + 60_000_001


def test_a_replica_reopened_from_its_log_continues_past_it() -> None:
    logged = replace(mu(1, committed=0), timestamp_us=NOON_US)
    c = core(A, ballot=1, log=[logged])
    effects = c.step(ConfigUpdate(pc(2)))
    log_all(c, effects)
    c.step(PrepareAck(GPID, 2, 1, B))
    assert applied(c.step(PrepareAck(GPID, 2, 1, C))) == [1]
    [append] = of(c.step(ClientWrite(9, update(9), NOON_US - 1)), AppendLog)
    assert append.mutation.timestamp_us == NOON_US + 1
