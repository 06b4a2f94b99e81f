"""``newest_per_decree``: a learner's log read kept to about ``bytes_max``, never an older
record of a decree in place of its last one."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from pegasus_log.replica.plog import Mutation, MutationUpdate, newest_per_decree
from pegasus_log.replica.plog.mutation import encoded_size
from pegasus_log.rpc.thrift import Gpid

GPID = Gpid(1, 0)


def record(decree: int, ballot: int, size: int) -> Mutation:
    body = f"{decree}:{ballot}:".encode().ljust(size, b"x")
    return Mutation(
        GPID, ballot, decree, decree - 1, 0, (MutationUpdate("RPC_RRDB_RRDB_PUT", body),)
    )


# A log: records of decrees 1..30 in any order, a decree logged again later always under
# a higher ballot (as a new primary re-prepares its tail), bodies of 10 to 400 bytes.
logs = st.lists(st.tuples(st.integers(1, 30), st.integers(10, 400)), min_size=0, max_size=80).map(
    lambda draws: [record(d, ballot, size) for ballot, (d, size) in enumerate(draws, start=1)]
)


@given(log=logs, bytes_max=st.integers(1, 6000))
def test_a_prefix_of_the_last_records_within_the_bound(log: list[Mutation], bytes_max: int) -> None:
    last = {m.decree: m for m in log}  # the last record of each decree, as the core keeps
    got = newest_per_decree(log, bytes_max=bytes_max)
    want = [last[d] for d in sorted(last)]
    assert list(got) == want[: len(got)]  # the lowest decrees, each with its last record
    assert bool(got) == bool(log)
    assert len(got) == 1 or sum(encoded_size(m) for m in got) <= bytes_max


@given(log=logs)
def test_a_read_that_fits_is_whole(log: list[Mutation]) -> None:
    last = {m.decree: m for m in log}
    bound = sum(encoded_size(m) for m in log)  # every record at once fits
    assert list(newest_per_decree(log, bytes_max=max(bound, 1))) == [last[d] for d in sorted(last)]


def test_a_later_record_above_the_cut_is_ignored() -> None:
    one = encoded_size(record(1, 1, 100))
    log = [record(1, 1, 100), record(2, 1, 100), record(3, 1, 100), record(3, 2, 100)]
    got = newest_per_decree(log, bytes_max=2 * one)
    assert [(m.decree, m.ballot) for m in got] == [(1, 1), (2, 1)]
