"""A partition store's manual compaction: RocksDB's options, the finish time it records
(upstream's meta key, in ms), and a close that cuts a running one short."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from pegasus_log.storage import PartitionStore
from pegasus_log.storage.rocks import StoreClosedError
from tests.unit.storage.helpers import Client, FakeClock, open_store


def _fill(client: Client, store: PartitionStore, *, files: int, rows: int) -> None:
    """``files`` SST files of ``rows`` random records each (a checkpoint flushes)."""
    for f in range(files):
        for i in range(rows):
            client.set(b"h%d-%d" % (f, i), b"s", os.urandom(100))
        store.checkpoint(f"{store.path}.cp{f}")


def test_finish_time_is_recorded_in_ms(store: PartitionStore, client: Client) -> None:
    assert store.last_manual_compact_finish_ms() == 0
    client.set(b"h", b"s", b"v")
    client.clock.advance(1.25)
    store.compact()
    assert store.last_manual_compact_finish_ms() == int(client.clock.now * 1000)
    assert client.get(b"h", b"s")[1] == b"v"


def test_target_level_and_bottommost(store: PartitionStore, client: Client) -> None:
    _fill(client, store, files=3, rows=200)
    assert store.rdb_stats().sst_files == 3
    store.compact(target_level=1)
    assert store.rdb_stats().sst_files == 1
    # the data's one file is at the bottom: skip leaves it, force rewrites it (the meta
    # column family's files stay as they are)
    before = _ssts(store)
    store.compact(bottommost_force=False)
    assert _ssts(store) == before
    store.compact(bottommost_force=True)
    after = _ssts(store)
    assert len(after) == len(before) and len(after - before) == 1
    assert store.rdb_stats().sst_files == 1


def _ssts(store: PartitionStore) -> set[str]:
    return {f for f in os.listdir(store.path) if f.endswith(".sst")}


@pytest.mark.parametrize("phase", ["sweep", "compact_range"])
def test_close_cuts_a_running_compaction_short(tmp_path: Path, phase: str) -> None:
    store = open_store(tmp_path / "db", FakeClock())
    client = Client(store, FakeClock())
    _fill(client, store, files=6, rows=20000)
    errors: list[BaseException] = []

    def compact() -> None:
        try:
            store.compact(bottommost_force=True)
        except BaseException as e:  # handed to the test's thread
            errors.append(e)

    worker = threading.Thread(target=compact)
    worker.start()
    # the sweep runs while the flag is up; RocksDB's compact_range while the lock is held
    started = time.monotonic()
    in_phase = store._compacting.is_set if phase == "sweep" else store._compact_lock.locked
    while not in_phase():
        assert time.monotonic() - started < 30 and worker.is_alive(), "never reached " + phase
        time.sleep(0.001)
    closing = time.monotonic()
    store.close()
    closed_in_s = time.monotonic() - closing
    worker.join(timeout=30)
    assert not worker.is_alive()
    assert len(errors) == 1 and isinstance(errors[0], StoreClosedError), errors
    assert closed_in_s < 5.0, closed_in_s  # a liveness bound: the cut is quick
    # nothing recorded, nothing lost: the store opens with every record
    reopened = open_store(tmp_path / "db", FakeClock())
    try:
        assert reopened.last_manual_compact_finish_ms() == 0
        assert reopened.rdb_stats().estimated_keys >= 6 * 20000 * 0.9
        assert Client(reopened, FakeClock()).get(b"h5-19999", b"s")[1] != b""
    finally:
        reopened.close()


def test_a_closed_store_does_not_compact(store: PartitionStore) -> None:
    store.close()
    with pytest.raises(StoreClosedError):
        store.compact()
