"""The prepare list: decrees, ballots, commit contiguity, the cache bound."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as hs

from pegasus_log.replica.core.prepare_list import PrepareList

from .helpers import mutation


def test_empty() -> None:
    pl = PrepareList(last_committed_decree=5, capacity=4)
    assert (pl.last_committed_decree, pl.max_decree, pl.min_decree) == (5, 5, 6)
    assert pl.get(5) is None and len(pl) == 0


def test_newer_ballot_replaces_older_never_the_reverse() -> None:
    pl = PrepareList(last_committed_decree=0, capacity=4)
    pl.put(mutation(1, ballot=1))
    pl.put(mutation(1, ballot=3))
    entry = pl.get(1)
    assert entry is not None and entry.ballot == 3
    with pytest.raises(AssertionError):
        pl.put(mutation(1, ballot=2))


def test_cannot_prepare_at_or_below_the_commit_point() -> None:
    pl = PrepareList(last_committed_decree=3, capacity=4)
    with pytest.raises(AssertionError):
        pl.put(mutation(3))


def test_commit_stops_at_a_hole_and_resumes_toward_the_target() -> None:
    pl = PrepareList(last_committed_decree=0, capacity=8)
    pl.put(mutation(1))
    pl.put(mutation(3))
    pl.raise_target(3)
    assert [e.decree for e in pl.commit(lambda e: True)] == [1]
    assert pl.missing_up_to(3) == [2]
    pl.put(mutation(2))
    assert [e.decree for e in pl.commit(lambda e: True)] == [2, 3]
    assert pl.last_committed_decree == 3


def test_commit_respects_ready_and_up_to() -> None:
    pl = PrepareList(last_committed_decree=0, capacity=8)
    for d in (1, 2, 3):
        pl.put(mutation(d))
    assert [e.decree for e in pl.commit(lambda e: e.decree != 2, up_to=3)] == [1]
    assert [e.decree for e in pl.commit(lambda e: True, up_to=2)] == [2]


def test_committed_entries_stay_as_cache_until_capacity() -> None:
    pl = PrepareList(last_committed_decree=0, capacity=3)
    for d in (1, 2, 3):
        pl.put(mutation(d))
    pl.commit(lambda e: True, up_to=3)
    assert pl.min_decree == 1 and len(pl) == 3
    pl.put(mutation(4))
    pl.commit(lambda e: True, up_to=4)
    assert pl.min_decree == 2 and pl.max_decree == 4


def test_capacity_bounds_uncommitted_entries() -> None:
    pl = PrepareList(last_committed_decree=10, capacity=3)
    assert pl.has_room(13) and not pl.has_room(14)
    with pytest.raises(AssertionError):
        pl.put(mutation(14))


def test_truncate_drops_uncommitted_only_and_the_target() -> None:
    pl = PrepareList(last_committed_decree=0, capacity=8)
    for d in (1, 2, 3):
        pl.put(mutation(d))
    pl.commit(lambda e: True, up_to=1)
    pl.raise_target(3)
    dropped = pl.truncate()
    assert [e.decree for e in dropped] == [2, 3]
    assert pl.get(1) is not None and pl.commit_target == 1


def test_reset_to_a_checkpoint() -> None:
    pl = PrepareList(last_committed_decree=2, capacity=8)
    for d in (3, 4, 9):
        pl.put(mutation(d))
    pl.reset_to(6)
    assert pl.last_committed_decree == 6
    assert pl.get(4) is None and pl.get(9) is not None


@given(hs.lists(hs.integers(1, 12), max_size=40), hs.integers(1, 12))
def test_commit_is_gap_free(decrees: list[int], target: int) -> None:
    pl = PrepareList(last_committed_decree=0, capacity=12)
    for d in decrees:
        if d > pl.last_committed_decree:
            pl.put(mutation(d))
    pl.raise_target(target)
    done = [e.decree for e in pl.commit(lambda e: True)]
    assert done == list(range(1, len(done) + 1))
    assert pl.last_committed_decree <= target
    nxt = pl.last_committed_decree + 1
    assert pl.last_committed_decree == target or pl.get(nxt) is None


@given(
    hs.lists(
        hs.one_of(
            hs.tuples(hs.just("put"), hs.integers(1, 40), hs.integers(1, 3)),
            hs.tuples(hs.just("commit"), hs.integers(0, 40), hs.just(0)),
            hs.tuples(hs.just("truncate"), hs.just(0), hs.just(0)),
            hs.tuples(hs.just("reset"), hs.integers(1, 10), hs.just(0)),
        ),
        max_size=60,
    )
)
def test_cached_bounds_match_the_entries(ops: list[tuple[str, int, int]]) -> None:
    """max_decree / min_decree (cached) always equal what the entries say."""
    pl = PrepareList(last_committed_decree=0, capacity=6)
    held: dict[int, int] = {}  # decree -> ballot, the model
    for op, n, ballot in ops:
        committed = pl.last_committed_decree
        if op == "put":
            decree = committed + n
            if not pl.has_room(decree) or held.get(decree, 0) > ballot:
                continue
            pl.put(mutation(decree, ballot=ballot))
            held[decree] = ballot
        elif op == "commit":
            pl.commit(lambda _e: True, up_to=committed + n)
        elif op == "truncate":
            pl.truncate()
        else:
            pl.reset_to(committed + n)
        held = {d: b for d, b in held.items() if pl.get(d) is not None}
        assert len(pl) == len(held)
        assert pl.max_decree == max(held, default=pl.last_committed_decree)
        assert pl.min_decree == min(held, default=pl.last_committed_decree + 1)
