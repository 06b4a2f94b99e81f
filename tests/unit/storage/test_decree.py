"""The last applied decree: atomic with the data, persistent across reopen and in
checkpoints; and the raw layout of what a write stores."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from rocksdict import Options, Rdict

from pegasus_log.storage import PartitionStore, StoreClosedError
from pegasus_log.storage import StorageStatus as S
from pegasus_log.storage.schema import decode_value, encode_key, epoch_now
from pegasus_log.storage.types import (
    CasCheckType,
    CheckAndSetRequest,
    IncrRequest,
    KeyValue,
    MultiPutRequest,
    UpdateRequest,
)
from tests.unit.storage.helpers import Client, FakeClock, open_store


def test_new_store_starts_at_decree_zero(store: PartitionStore) -> None:
    assert store.last_applied_decree() == 0


def test_decree_survives_reopen(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "db"
    with open_store(path, clock) as store:
        client = Client(store, clock)
        assert client.set(b"h", b"s", b"v") == S.kOk
        assert client.incr(b"h", b"n", 5).error == S.kOk
        store.empty_write(client.next_decree())
        # a failed check still consumes its decree
        failed = client.check_and_set(b"h", b"s", CasCheckType.CT_VALUE_NOT_EXIST, b"", b"s", b"x")
        assert failed.error == S.kTryAgain
        assert store.last_applied_decree() == 4
    with open_store(path, clock) as store:
        assert store.last_applied_decree() == 4
        client = Client(store, clock)
        assert client.get(b"h", b"s") == (S.kOk, b"v")
        assert client.incr(b"h", b"n", 1).new_value == 6
        assert store.last_applied_decree() == 5


def test_decrees_must_increase(client: Client) -> None:
    assert client.set(b"h", b"s", b"v") == S.kOk
    with pytest.raises(AssertionError):
        client.store.put(client.decree, UpdateRequest(encode_key(b"h", b"s"), b"again"))
    with pytest.raises(AssertionError):
        client.store.empty_write(client.decree - 1)
    assert client.get(b"h", b"s") == (S.kOk, b"v")
    client.store.empty_write(client.decree + 10)  # gaps are the replica's business
    assert client.store.last_applied_decree() == client.decree + 10


def test_meta_column_family_layout(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "db"
    with open_store(path, clock) as store:
        store.empty_write(42)
    assert sorted(Rdict.list_cf(str(path))) == ["default", "pegasus_meta_cf"]
    raw_options = Options(raw_mode=True)
    db = Rdict(str(path), raw_options, column_families={"pegasus_meta_cf": raw_options})
    meta = db.get_column_family("pegasus_meta_cf")
    assert meta.get(b"pegasus_last_flushed_decree") == b"42"
    assert meta.get(b"pegasus_data_version") == b"1"
    del meta
    db.close()


def test_checkpoint_holds_data_and_decree(tmp_path: Path, clock: FakeClock) -> None:
    with open_store(tmp_path / "db", clock) as store:
        client = Client(store, clock)
        assert client.multi_set(b"h", {b"a": b"1", b"b": b"2"}) == S.kOk
        assert store.checkpoint(tmp_path / "ckpt") == 1
        assert client.set(b"h", b"c", b"3") == S.kOk  # after the checkpoint
        with pytest.raises(FileExistsError):
            store.checkpoint(tmp_path / "ckpt")
    with open_store(tmp_path / "ckpt", clock) as copy:
        assert copy.last_applied_decree() == 1
        assert Client(copy, clock).multi_get(b"h") == (S.kOk, {b"a": b"1", b"b": b"2"})


def test_checkpoint_taken_under_writes_is_exactly_its_decree(
    tmp_path: Path, clock: FakeClock
) -> None:
    """The checkpoint flushes before it takes the write lock, so writes go on during it;
    what it holds must still be every write up to its decree and none after."""
    with open_store(tmp_path / "db", clock) as store:
        for d in range(1, 3001):  # a memtable worth flushing
            store.put(d, UpdateRequest(encode_key(b"h", b"%06d" % d), b"x" * 200))
        stop = threading.Event()
        written: list[int] = []

        def writer() -> None:
            d = 3000
            while not stop.is_set():
                d += 1
                store.put(d, UpdateRequest(encode_key(b"w", b"%06d" % d), b"v"))
                written.append(d)

        thread = threading.Thread(target=writer)
        thread.start()
        try:
            decree = store.checkpoint(tmp_path / "ckpt")
        finally:
            stop.set()
            thread.join()
        assert written and store.last_applied_decree() == written[-1]
    with open_store(tmp_path / "ckpt", clock) as copy:
        assert copy.last_applied_decree() == decree
        for d in (3001, decree, decree + 1, written[-1]):
            if d in written:
                resp = copy.get(encode_key(b"w", b"%06d" % d))
                assert (resp.error == S.kOk) == (d <= decree), d
        assert copy.get(encode_key(b"h", b"003000")).value == b"x" * 200


def test_stored_value_carries_timetag(client: Client) -> None:
    store = client.store
    key = encode_key(b"h", b"s")
    store.put(1, UpdateRequest(key, b"v", expire_ts_seconds=77), timestamp_us=123_456)
    raw = store._store.get(key)
    assert raw is not None
    assert decode_value(raw) == (77, 123_456 << 8 | 3 << 1, b"v")


def test_replicas_applying_the_same_mutations_store_the_same_bytes(
    tmp_path: Path, clock: FakeClock
) -> None:
    """Values depend on the mutation (decree, timestamp), never on when a replica applies
    it, as long as the replicas' clocks agree on the TTL epoch second."""
    stores = [open_store(tmp_path / f"r{i}", clock) for i in range(2)]
    dumps = []
    for store in stores:
        store.set_default_ttl(1000)
        store.multi_put(1, MultiPutRequest(b"h", [KeyValue(b"a", b"1")]), timestamp_us=10)
        store.incr(2, IncrRequest(encode_key(b"h", b"a"), 4), timestamp_us=20)
        store.check_and_set(
            3,
            CheckAndSetRequest(b"h", b"a", CasCheckType.CT_VALUE_INT_EQUAL, b"5", set_value=b"x"),
            timestamp_us=30,
        )
        clock.advance(0.3)  # the second replica applies a bit later
        it = store._store.iterator()
        it.seek_to_first()
        rows = []
        while it.valid():
            rows.append((it.key(), it.value()))
            it.next()
        dumps.append(rows)
        del it
        store.close()
    assert dumps[0] == dumps[1]
    assert decode_value(dumps[0][0][1])[0] == epoch_now(clock.now) + 1000


def test_closed_store_refuses_calls(tmp_path: Path, clock: FakeClock) -> None:
    store = open_store(tmp_path / "db", clock)
    store.close()
    store.close()  # idempotent
    assert store.closed
    with pytest.raises(StoreClosedError):
        store.get(encode_key(b"h", b"s"))
    with pytest.raises(StoreClosedError):
        store.put(1, UpdateRequest(encode_key(b"h", b"s"), b"v"))


def test_constructor_validation(tmp_path: Path, clock: FakeClock) -> None:
    with pytest.raises(ValueError):
        open_store(tmp_path / "a", clock, partition_count=3)
    with pytest.raises(ValueError):
        open_store(tmp_path / "b", clock, partition_index=2, partition_count=2)
    with pytest.raises(ValueError):
        PartitionStore(
            tmp_path / "c", clock=clock, cluster_id=128, partition_index=0, partition_count=1
        )
