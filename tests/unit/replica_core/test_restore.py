"""Opening a replica from its storage and its log (what a restart finds)."""

from __future__ import annotations

from pegasus_log.replica.core import (
    AppendLog,
    Effect,
    GroupCheck,
    LogAppended,
    Prepare,
    ReplicaCore,
    open_replica,
)
from pegasus_log.replica.core import status as st
from pegasus_log.replica.plog.mutation import Mutation

from .helpers import CFG, GPID, A, B, applied, core, of
from .helpers import mutation as mu


def reopen(log: list[Mutation], *, ballot: int = 0, committed: int = 0):  # type: ignore[no-untyped-def]
    return open_replica(
        gpid=GPID,
        node=B,
        config=CFG,
        now=0.0,
        ballot=ballot,
        last_committed_decree=committed,
        log_mutations=log,
    )


def test_replay_commits_as_far_as_the_records_say() -> None:
    log = [mu(1, committed=0), mu(2, committed=1), mu(3, committed=2)]
    c, effects = reopen(log)
    assert applied(effects) == [1, 2]
    assert c.status == st.INACTIVE and c.max_prepared_decree == 3
    assert c.ballot == 1  # the log's ballots count too


def test_replay_starts_above_storage() -> None:
    log = [mu(1, committed=0), mu(2, committed=1), mu(3, committed=2)]
    _c, effects = reopen(log, committed=1)
    assert applied(effects) == [2]


def test_the_last_record_of_a_decree_wins() -> None:
    old = mu(2, ballot=1, committed=1)
    new = Mutation(GPID, 2, 2, 1, 0, mu(2, n=2).updates)
    c, _effects = reopen([mu(1, committed=0), old, new, mu(3, ballot=2, committed=2)])
    assert c.committed_mutation(2) == new


def test_a_long_committed_tail_never_overflows_the_list() -> None:
    log = [mu(d, committed=d - 1) for d in range(1, 200)]
    _c, effects = reopen(log)
    assert applied(effects) == list(range(1, 199))


def logged(c: ReplicaCore, effects: list[Effect], into: list[Mutation]) -> None:
    for e in of(effects, AppendLog):
        into.append(e.mutation)
        c.on_log_appended(LogAppended(GPID, e.mutation.ballot, e.mutation.decree))


def test_entries_a_learner_dropped_are_not_committed_by_replay() -> None:
    """The hazard ``_append_log`` closes: a learner drops stale uncommitted entries from
    memory, their records stay in the log; the primary's commit point on a later prepare
    covers those decrees (with other content). Replay must not commit the stale ones."""
    disk: list[Mutation] = []
    c = core(B, ballot=1)
    c._status = st.SECONDARY
    c._primary_node = A
    for d in (1, 2, 3):  # an old primary's writes, never committed
        logged(c, c.step(Prepare(mu(d, committed=0), A, st.SECONDARY)), disk)
    signature = (2 << 32) | 1
    c.step(GroupCheck(GPID, 2, A, st.POTENTIAL_SECONDARY, 0, signature))
    assert c.max_prepared_decree == 0  # dropped
    # Prepare start 10: the primary's commit point 9 covers decrees 1-9.
    fresh = Mutation(GPID, 2, 10, 9, 0, mu(10).updates)
    logged(c, c.step(Prepare(fresh, A, st.POTENTIAL_SECONDARY, signature)), disk)
    assert disk[-1].last_committed_decree == 0
    # The server crashes before learning decrees 1-9.
    restored, effects = reopen(disk, ballot=2)
    assert applied(effects) == [] and restored.last_committed_decree == 0
