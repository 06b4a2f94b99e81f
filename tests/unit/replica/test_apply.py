"""apply_mutation: the one-batch path for puts gives what applying each write gives."""

from __future__ import annotations

import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as hs

from pegasus_log.replica import apply as ap
from pegasus_log.replica.plog.mutation import Mutation, MutationUpdate
from pegasus_log.replica.stub import OPS_BY_NAME
from pegasus_log.rpc import messages as m
from pegasus_log.rpc.thrift import Gpid, decode, encode
from pegasus_log.storage.engine import PartitionStore
from pegasus_log.storage.schema import encode_key
from pegasus_log.storage.status import StorageStatus


def _store(path: Path) -> PartitionStore:
    # a clock that does not move: both paths read it, and a default TTL depends on it
    return PartitionStore(
        path,
        clock=lambda: 1_700_000_000.0,
        cluster_id=3,
        partition_index=0,
        partition_count=1,
        rng=random.Random(7),
    )


def _contents(store: PartitionStore) -> list[tuple[bytes, bytes]]:
    it = store._store.iterator()
    it.seek_to_first()
    out = []
    while it.valid():
        out.append((bytes(it.key()), bytes(it.value())))
        it.next()
    return out


class _Pair:
    """Two stores fed the same mutations, one by apply_mutation, one write by write."""

    def __init__(self, tmp: Path) -> None:
        self.fast = _store(tmp / "fast")
        self.each = _store(tmp / "each")
        self.decree = 0

    def apply(
        self, updates: list[MutationUpdate], decoded: Sequence[Any | None]
    ) -> tuple[list[Any], list[Any]]:
        self.decree += 1
        mu = Mutation(
            Gpid(1, 0), 1, self.decree, self.decree - 1, 1_700_000_000_123_456, tuple(updates)
        )
        fast = ap.apply_mutation(self.fast, mu, decoded)
        args = [
            a if a is not None else decode(OPS_BY_NAME[u.rpc_name].spec.arg, u.body)
            for u, a in zip(updates, decoded, strict=True)
        ]
        each = ap._apply_each(self.each, mu, args)
        return fast, each

    def close(self) -> None:
        self.fast.close()
        self.each.close()


@pytest.fixture
def pair(tmp_path: Path):  # type: ignore[no-untyped-def]
    p = _Pair(tmp_path)
    yield p
    p.close()


def _put(key: bytes, value: bytes, expire_ts: int = 0) -> tuple[MutationUpdate, m.UpdateRequest]:
    req = m.UpdateRequest(key=key, value=value, expire_ts_seconds=expire_ts)
    return MutationUpdate(m.RRDB_PUT.name, encode(m.UpdateRequest, req)), req


_keys = hs.one_of(
    hs.builds(encode_key, hs.binary(max_size=6), hs.binary(max_size=6)),
    hs.binary(max_size=4),  # often malformed: a hash key length past the end
)
_puts = hs.lists(
    hs.tuples(_keys, hs.binary(max_size=20), hs.integers(-(2**31), 2**31 - 1), hs.booleans()),
    min_size=1,
    max_size=5,
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(puts=_puts)
def test_puts_match_write_by_write(pair: _Pair, puts: list[tuple[bytes, bytes, int, bool]]) -> None:
    updates, decoded = [], []
    for key, value, expire_ts, known in puts:
        update, req = _put(key, value, expire_ts)
        updates.append(update)
        decoded.append(req if known else None)
    fast, each = pair.apply(updates, decoded)
    assert fast == each
    assert _contents(pair.fast) == _contents(pair.each)
    assert pair.fast.last_applied_decree() == pair.each.last_applied_decree() == pair.decree


def test_a_malformed_key_fails_only_its_own_put(pair: _Pair) -> None:
    good, good_req = _put(encode_key(b"h", b"s"), b"v")
    bad, _bad_req = _put(b"\xff\xff", b"v")
    fast, each = pair.apply([good, bad], [good_req, None])
    assert fast == each
    assert [r.error for r in fast] == [StorageStatus.kOk, StorageStatus.kInvalidArgument]
    assert pair.fast.get(encode_key(b"h", b"s")).error == StorageStatus.kOk


def test_mixed_writes_take_the_general_path(pair: _Pair) -> None:
    put, put_req = _put(encode_key(b"h", b"s"), b"v")
    remove = MutationUpdate(m.RRDB_REMOVE.name, encode(m.RRDB_REMOVE.arg, encode_key(b"h", b"s")))
    fast, each = pair.apply([put, remove], [put_req, None])
    assert fast == each
    assert _contents(pair.fast) == _contents(pair.each)
    assert pair.fast.get(encode_key(b"h", b"s")).error == StorageStatus.kNotFound


def test_puts_share_one_response_at_the_decree(pair: _Pair) -> None:
    updates = [_put(encode_key(b"h", bytes([i])), b"v")[0] for i in range(3)]
    fast, _each = pair.apply(updates, [None] * 3)
    assert len(fast) == 3
    assert all(r is fast[0] for r in fast)
    assert fast[0].error == StorageStatus.kOk and fast[0].decree == pair.decree
