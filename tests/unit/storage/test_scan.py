"""Storage-level versions of upstream's base_api/test_scan cases and basic scan_with_filter /
full_scan_with_filter, plus the scanner context lifecycle."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from pegasus_log.storage import PartitionStore, StorageOptions
from pegasus_log.storage import StorageStatus as S
from pegasus_log.storage.keyhash import partition_hash
from pegasus_log.storage.schema import decode_key, encode_key, epoch_now
from pegasus_log.storage.types import (
    SCAN_CONTEXT_ID_COMPLETED,
    SCAN_CONTEXT_ID_NOT_EXIST,
    GetScannerRequest,
    ScanRequest,
)
from pegasus_log.storage.types import FilterType as FT
from tests.unit.storage.helpers import Client, FakeClock, full_scan, hash_key_scan, open_store

TTL_SECONDS = 24 * 60 * 60


def fill(client: Client, rng: random.Random) -> tuple[bytes, dict[bytes, dict[bytes, bytes]]]:
    """One hash key with 100 sort keys, 30 hash keys with 5, 30 more with 5 under a TTL."""

    def word() -> bytes:
        return bytes(rng.choice(b"abcdefghij") for _ in range(rng.randint(1, 8)))

    data: dict[bytes, dict[bytes, bytes]] = {}
    main = b"main-" + word()
    data[main] = {}
    while len(data[main]) < 100:
        data[main][word()] = word()
    assert client.multi_set(main, data[main]) == S.kOk
    for i in range(60):
        hash_key = b"hk-%d-" % i + word()
        rows = {b"s%d" % j: word() for j in range(5)}
        data[hash_key] = rows
        assert client.multi_set(hash_key, rows, ttl_seconds=TTL_SECONDS if i >= 30 else 0) == 0
    return main, data


def rows_of(kvs: list) -> dict[bytes, dict[bytes, bytes]]:  # type: ignore[type-arg]
    out: dict[bytes, dict[bytes, bytes]] = {}
    for kv in kvs:
        hash_key, sort_key = decode_key(kv.key)
        assert sort_key not in out.setdefault(hash_key, {})
        out[hash_key][sort_key] = kv.value
    return out


@pytest.fixture
def filled(client: Client) -> tuple[Client, bytes, dict[bytes, dict[bytes, bytes]]]:
    main, data = fill(client, random.Random(42))
    return client, main, data


def test_all_sort_keys(filled: tuple[Client, bytes, dict[bytes, dict[bytes, bytes]]]) -> None:
    client, main, data = filled
    for batch_size in (0, 1, 7, 1000):
        kvs, responses = client.scan_all(hash_key_scan(main, batch_size=batch_size))
        assert rows_of(kvs) == {main: data[main]}
        assert [decode_key(kv.key)[1] for kv in kvs] == sorted(data[main])
        assert responses[-1].context_id == SCAN_CONTEXT_ID_COMPLETED


@pytest.mark.parametrize(
    ("start_inclusive", "stop_inclusive"), [(True, True), (False, False), (True, False)]
)
def test_bounds(
    filled: tuple[Client, bytes, dict[bytes, dict[bytes, bytes]]],
    start_inclusive: bool,
    stop_inclusive: bool,
) -> None:
    client, main, data = filled
    sort_keys = sorted(data[main])
    start, stop = sort_keys[10], sort_keys[60]
    request = hash_key_scan(
        main,
        start,
        stop,
        start_inclusive=start_inclusive,
        stop_inclusive=stop_inclusive,
        batch_size=7,
    )
    kvs, _ = client.scan_all(request)
    lower = 10 if start_inclusive else 11
    upper = 61 if stop_inclusive else 60
    assert [decode_key(kv.key)[1] for kv in kvs] == sort_keys[lower:upper]


def test_one_point_half_inclusive_and_void_span(
    filled: tuple[Client, bytes, dict[bytes, dict[bytes, bytes]]],
) -> None:
    client, main, data = filled
    sort_keys = sorted(data[main])
    point = sort_keys[42]
    kvs, _ = client.scan_all(hash_key_scan(main, point, point, stop_inclusive=True))
    assert [(kv.key, kv.value) for kv in kvs] == [(encode_key(main, point), data[main][point])]
    kvs, responses = client.scan_all(hash_key_scan(main, point, point, stop_inclusive=False))
    assert kvs == [] and responses[0].error == S.kOk
    assert responses[0].context_id == SCAN_CONTEXT_ID_COMPLETED
    stop, start = sort_keys[10], sort_keys[60]  # start after stop
    kvs, responses = client.scan_all(hash_key_scan(main, start, stop, stop_inclusive=True))
    assert kvs == [] and responses[0].context_id == SCAN_CONTEXT_ID_COMPLETED


def test_overall_unordered_scan_over_partitions(tmp_path: Path) -> None:
    """The whole table over 4 partitions, each written only its own records, each scanned
    with a full scan that validates the partition hash."""
    clock = FakeClock()
    reference = open_store(tmp_path / "all", clock)
    _main, data = fill(Client(reference, clock), random.Random(7))
    reference.close()
    stores = [
        open_store(tmp_path / f"p{i}", clock, partition_index=i, partition_count=4)
        for i in range(4)
    ]
    clients = [Client(s, clock) for s in stores]
    for hash_key, rows in data.items():
        owner = clients[partition_hash(hash_key, b"") % 4]
        assert owner.multi_set(hash_key, rows) == S.kOk
    seen: dict[bytes, dict[bytes, bytes]] = {}
    count_only = 0
    for client in clients:
        client.store.set_validate_partition_hash(True)
        kvs, _ = client.scan_all(full_scan(batch_size=13, validate_partition_hash=True))
        for hash_key, rows in rows_of(kvs).items():
            assert hash_key not in seen
            seen[hash_key] = rows
        _, responses = client.scan_all(full_scan(only_return_count=True, batch_size=50))
        assert all(r.kvs == () for r in responses)
        count_only += sum(r.kv_count or 0 for r in responses)
    assert seen == data
    assert count_only == sum(len(rows) for rows in data.values())
    for store in stores:
        store.close()


def test_validate_partition_hash_skips_foreign_records(tmp_path: Path) -> None:
    clock = FakeClock()
    with open_store(tmp_path / "db", clock, partition_index=1, partition_count=2) as store:
        client = Client(store, clock)
        keys = [b"k%d" % i for i in range(40)]
        for hash_key in keys:
            assert client.set(hash_key, b"s", b"v") == S.kOk
        mine = {k for k in keys if partition_hash(k, b"") & 1 == 1}
        assert 0 < len(mine) < len(keys)
        # the table env is off by default (upstream): nothing is skipped
        kvs, _ = client.scan_all(full_scan())
        assert len(kvs) == len(keys)
        store.set_validate_partition_hash(True)
        kvs, _ = client.scan_all(full_scan())
        assert set(rows_of(kvs)) == mine
        # ... unless the request opts out
        kvs, _ = client.scan_all(full_scan(validate_partition_hash=False))
        assert len(kvs) == len(keys)
        # compaction drops what a split left behind
        stats = store.compact()
        assert stats.foreign_dropped == len(keys) - len(mine)
        store.set_validate_partition_hash(False)
        kvs, _ = client.scan_all(full_scan())
        assert set(rows_of(kvs)) == mine


def test_return_expire_ts_and_no_value(
    filled: tuple[Client, bytes, dict[bytes, dict[bytes, bytes]]],
) -> None:
    client, _main, data = filled
    kvs, _ = client.scan_all(full_scan(return_expire_ts=True, batch_size=100))
    assert rows_of(kvs) == data
    expire_ts = epoch_now(client.clock.now) + TTL_SECONDS
    with_ttl = {decode_key(kv.key)[0] for kv in kvs if kv.expire_ts_seconds == expire_ts}
    assert len(with_ttl) == 30 and all(h.startswith(b"hk-") for h in with_ttl)
    assert all(kv.expire_ts_seconds in (0, expire_ts) for kv in kvs)
    kvs, _ = client.scan_all(full_scan(no_value=True))
    assert all(kv.value == b"" and kv.expire_ts_seconds is None for kv in kvs)
    assert len(kvs) == sum(len(rows) for rows in data.values())


def test_expired_rows_are_not_returned(client: Client) -> None:
    assert client.multi_set(b"h", {b"a": b"1", b"b": b"2"}) == S.kOk
    assert client.set(b"h", b"c", b"3", ttl_seconds=5) == S.kOk
    client.clock.advance(5)
    kvs, _ = client.scan_all(hash_key_scan(b"h"))
    assert [kv.key for kv in kvs] == [encode_key(b"h", b"a"), encode_key(b"h", b"b")]


M_N_ROWS = {b"m_%d" % i: b"a" for i in range(1, 6)} | {b"n_%d" % i: b"b" for i in range(1, 4)}


@pytest.mark.parametrize("batch_size", [10, 3])
def test_scan_with_filter(client: Client, batch_size: int) -> None:
    assert client.multi_set(b"xyz", M_N_ROWS) == S.kOk
    assert client.set(b"xy", b"m_9", b"other") == S.kOk
    request = hash_key_scan(
        b"xyz",
        batch_size=batch_size,
        sort_key_filter_type=FT.FT_MATCH_PREFIX,
        sort_key_filter_pattern=b"m",
    )
    kvs, _ = client.scan_all(request)
    assert rows_of(kvs) == {b"xyz": {k: v for k, v in M_N_ROWS.items() if k.startswith(b"m")}}
    request = hash_key_scan(
        b"xyz", batch_size=batch_size, hash_key_filter_type=FT.FT_MATCH_PREFIX,
        hash_key_filter_pattern=b"xy",
    )  # fmt: skip
    kvs, _ = client.scan_all(request)
    assert rows_of(kvs) == {b"xyz": M_N_ROWS}


def test_full_scan_with_filter(client: Client) -> None:
    assert client.multi_set(b"xyz", M_N_ROWS) == S.kOk
    assert client.multi_set(b"abc", {b"m_1": b"c"}) == S.kOk
    assert client.multi_set(b"x", {b"m_1": b"d"}) == S.kOk
    request = full_scan(
        batch_size=10, sort_key_filter_type=FT.FT_MATCH_PREFIX, sort_key_filter_pattern=b"m"
    )
    kvs, _ = client.scan_all(request)
    assert rows_of(kvs) == {
        b"x": {b"m_1": b"d"},
        b"abc": {b"m_1": b"c"},
        b"xyz": {k: v for k, v in M_N_ROWS.items() if k.startswith(b"m")},
    }
    # a hash-key prefix filter also raises the start of a full scan
    for filter_type, pattern, want in [
        (FT.FT_MATCH_PREFIX, b"xy", {b"xyz"}),
        (FT.FT_MATCH_POSTFIX, b"yz", {b"xyz"}),
        (FT.FT_MATCH_ANYWHERE, b"b", {b"abc"}),
        (FT.FT_MATCH_PREFIX, b"x", {b"x", b"xyz"}),
    ]:
        request = full_scan(
            batch_size=2, hash_key_filter_type=filter_type, hash_key_filter_pattern=pattern
        )
        kvs, _ = client.scan_all(request)
        assert set(rows_of(kvs)) == want, (filter_type, pattern)


def test_scan_within_a_hash_key_stops_at_its_end(client: Client) -> None:
    """A scan starting inside a hash key iterates only that hash key (upstream's prefix
    extractor), even when its stop key lies in a later hash key."""
    assert client.multi_set(b"a", {b"1": b"x", b"2": b"y"}) == S.kOk
    assert client.multi_set(b"b", {b"1": b"z"}) == S.kOk
    request = GetScannerRequest(
        start_key=encode_key(b"a", b""), stop_key=encode_key(b"b", b"9"), start_inclusive=True
    )
    kvs, _ = client.scan_all(request)
    assert [kv.key for kv in kvs] == [encode_key(b"a", b"1"), encode_key(b"a", b"2")]
    kvs, _ = client.scan_all(
        GetScannerRequest(
            start_key=encode_key(b"a", b""),
            stop_key=encode_key(b"b", b"9"),
            start_inclusive=True,
            full_scan=True,
        )
    )
    assert len(kvs) == 3


def test_invalid_filter_types(client: Client) -> None:
    assert client.store.get_scanner(full_scan(hash_key_filter_type=9)).error == (S.kInvalidArgument)
    assert client.store.get_scanner(full_scan(sort_key_filter_type=-1)).error == (
        S.kInvalidArgument
    )


# ---- context lifecycle ----


def many_rows(client: Client, n: int = 20) -> None:
    assert client.multi_set(b"h", {b"%03d" % i: b"v" for i in range(n)}) == S.kOk


def test_context_ids_change_per_batch_and_complete(client: Client) -> None:
    many_rows(client, 10)
    first = client.store.get_scanner(hash_key_scan(b"h", batch_size=4))
    assert first.error == S.kOk and len(first.kvs) == 4 and first.context_id >= 0
    second = client.store.scan(ScanRequest(first.context_id))
    assert second.context_id not in (first.context_id, SCAN_CONTEXT_ID_COMPLETED)
    # the fetched id is gone: a retry of the same scan finds nothing
    stale = client.store.scan(ScanRequest(first.context_id))
    assert (stale.error, stale.context_id) == (S.kNotFound, SCAN_CONTEXT_ID_NOT_EXIST)
    third = client.store.scan(ScanRequest(second.context_id))
    assert len(third.kvs) == 2 and third.context_id == SCAN_CONTEXT_ID_COMPLETED
    assert client.store.live_scanners() == 0


def test_exact_batch_end_keeps_a_context_while_the_iterator_shows_a_row(client: Client) -> None:
    many_rows(client, 10)
    # 8 rows fill the batch; the iterator then sits on 008, the exclusive stop key: a
    # context is parked, and its next batch is empty and completes
    request = hash_key_scan(b"h", b"000", b"008", batch_size=8)
    first = client.store.get_scanner(request)
    assert len(first.kvs) == 8 and first.context_id >= 0
    last = client.store.scan(ScanRequest(first.context_id))
    assert last.kvs == () and last.context_id == SCAN_CONTEXT_ID_COMPLETED
    # at the end of the hash key the iterator (bound to the hash key) ends: completed
    request = hash_key_scan(b"h", b"002", batch_size=8)
    only = client.store.get_scanner(request)
    assert len(only.kvs) == 8 and only.context_id == SCAN_CONTEXT_ID_COMPLETED


def test_clear_scanner(client: Client) -> None:
    many_rows(client)
    response = client.store.get_scanner(hash_key_scan(b"h", batch_size=5))
    assert client.store.live_scanners() == 1
    client.store.clear_scanner(response.context_id)
    client.store.clear_scanner(12345)  # unknown ids are ignored
    assert client.store.live_scanners() == 0
    assert client.store.scan(ScanRequest(response.context_id)).error == S.kNotFound


def test_idle_contexts_expire(client: Client) -> None:
    many_rows(client)
    old = client.store.get_scanner(hash_key_scan(b"h", batch_size=5))
    client.clock.advance(200)
    fresh = client.store.get_scanner(hash_key_scan(b"h", batch_size=5))
    client.clock.advance(100)  # old: 300 s idle, fresh: 100 s
    assert client.store.expire_idle_scanners() == 1
    assert client.store.scan(ScanRequest(old.context_id)).error == S.kNotFound
    kept = client.store.scan(ScanRequest(fresh.context_id))
    assert kept.error == S.kOk and len(kept.kvs) == 5
    # a context past its deadline is refused even before the periodic sweep ran
    client.clock.advance(300)
    assert client.store.scan(ScanRequest(kept.context_id)).error == S.kNotFound


def test_context_count_is_bounded(tmp_path: Path) -> None:
    clock = FakeClock()
    options = StorageOptions(scanner_contexts_max=3)
    with open_store(tmp_path / "db", clock, options=options) as store:
        client = Client(store, clock)
        many_rows(client)
        ids = [store.get_scanner(hash_key_scan(b"h", batch_size=2)).context_id for _ in range(5)]
        assert store.live_scanners() == 3
        # the least recently used contexts went first
        assert store.scan(ScanRequest(ids[0])).error == S.kNotFound
        assert store.scan(ScanRequest(ids[1])).error == S.kNotFound
        assert store.scan(ScanRequest(ids[4])).error == S.kOk


def test_context_reads_the_view_of_its_get_scanner(client: Client) -> None:
    many_rows(client, 6)
    first = client.store.get_scanner(hash_key_scan(b"h", batch_size=3))
    assert client.set(b"h", b"005", b"changed") == S.kOk
    assert client.set(b"h", b"004x", b"new") == S.kOk
    rest = client.store.scan(ScanRequest(first.context_id))
    assert [(kv.key, kv.value) for kv in rest.kvs] == [
        (encode_key(b"h", b"%03d" % i), b"v") for i in range(3, 6)
    ]


def test_scan_batch_size_bound(tmp_path: Path) -> None:
    clock = FakeClock()
    options = StorageOptions(scan_batch_size_max_bytes=100)
    with open_store(tmp_path / "db", clock, options=options) as store:
        client = Client(store, clock)
        assert client.multi_set(b"h", {b"%03d" % i: b"x" * 40 for i in range(10)}) == S.kOk
        kvs, responses = client.scan_all(hash_key_scan(b"h"))
        assert len(kvs) == 10
        assert all(len(r.kvs) <= 3 for r in responses) and len(responses) >= 4


def test_close_drops_contexts(tmp_path: Path) -> None:
    clock = FakeClock()
    store: PartitionStore = open_store(tmp_path / "db", clock)
    client = Client(store, clock)
    many_rows(client)
    store.get_scanner(hash_key_scan(b"h", batch_size=2))
    store.close()
    assert store.live_scanners() == 0
    reopened = open_store(tmp_path / "db", clock)
    assert reopened.get(encode_key(b"h", b"000")).value == b"v"
    reopened.close()
