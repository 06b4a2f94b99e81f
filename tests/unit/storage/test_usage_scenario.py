"""Table envs ``rocksdb.usage_scenario`` and ``replica.rocksdb_block_cache_enabled`` on a
real RocksDB: the options each scenario sets (upstream's ``set_usage_scenario``), level 0
left uncompacted under ``bulk_load`` and compacted once back to ``normal``, and reads
that stop filling the block cache."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from pegasus_log.replica.stub import apply_envs
from pegasus_log.storage import PartitionStore, StorageOptions
from pegasus_log.storage.options import usage_scenario_options
from tests.unit.storage.helpers import Client, FakeClock, open_store

OPTIONS = StorageOptions()


def test_each_scenario_sets_upstreams_options() -> None:
    bulk = usage_scenario_options("normal", "bulk_load", OPTIONS, (0.5, 0.5))
    assert bulk["disable_auto_compactions"] == "true"
    assert bulk["level0_stop_writes_trigger"] == "1000000000"
    assert bulk["hard_pending_compaction_bytes_limit"] == "0"
    assert bulk["write_buffer_size"] == str(4 * OPTIONS.write_buffer_bytes)  # the middle draw
    assert bulk["max_write_buffer_number"] == "6"
    # Back from bulk_load, everything it changed is set back.
    normal = usage_scenario_options("bulk_load", "normal", OPTIONS, (0.0, 0.0))
    assert set(normal) == set(bulk)
    assert normal["disable_auto_compactions"] == "false"
    assert normal["level0_file_num_compaction_trigger"] == str(OPTIONS.level0_compaction_trigger)
    assert normal["level0_stop_writes_trigger"] == str(OPTIONS.level0_stop_trigger)
    assert int(normal["write_buffer_size"]) == OPTIONS.write_buffer_bytes * 3 // 4  # lowest draw
    # From normal to normal's neighbours, only the memtable and the level-0 trigger move.
    write = usage_scenario_options("normal", "prefer_write", OPTIONS, (0.999, 0.0))
    assert set(write) == {"write_buffer_size", "level0_file_num_compaction_trigger"}
    buffer = OPTIONS.write_buffer_bytes
    assert buffer <= int(write["write_buffer_size"]) < 2 * buffer
    trigger = int(write["level0_file_num_compaction_trigger"])
    assert 4 <= trigger <= OPTIONS.level0_slowdown_trigger // 2
    with pytest.raises(ValueError):
        usage_scenario_options("normal", "fast", OPTIONS, (0.0, 0.0))


def _flush(store: PartitionStore, scratch: Path) -> None:
    """A checkpoint flushes the memtables first; the checkpoint itself is not used."""
    store.checkpoint(scratch / f"cp{len(list(scratch.glob('cp*')))}")


def test_bulk_load_leaves_level0_to_grow_and_normal_compacts_it(
    store: PartitionStore, client: Client, tmp_path: Path
) -> None:
    apply_envs(store, {"rocksdb.usage_scenario": "bulk_load"})
    assert store.usage_scenario == "bulk_load"
    for n in range(6):  # past the level-0 trigger of 4, each file over the same keys
        for key in (b"a", b"z"):
            client.set(key, b"s", b"v%d" % n)
        _flush(store, tmp_path)
    time.sleep(0.5)
    assert store.rdb_stats().sst_files == 6  # no compaction ran
    apply_envs(store, {})  # the env removed: normal again
    assert store.usage_scenario == "normal"
    deadline = time.monotonic() + 10
    while store.rdb_stats().sst_files > 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert store.rdb_stats().sst_files == 1
    assert client.get(b"z", b"s") == (0, b"v5")


def test_reads_leave_the_block_cache_alone_when_it_is_off(tmp_path: Path) -> None:
    clock = FakeClock()
    with open_store(tmp_path / "db", clock) as store:
        client = Client(store, clock)
        for n in range(2000):
            client.set(b"h%04d" % n, b"s", b"v" * 200)
        _flush(store, tmp_path)
    with open_store(tmp_path / "db", clock) as store:
        client = Client(store, clock)
        apply_envs(store, {"replica.rocksdb_block_cache_enabled": "false"})
        before = store.rdb_stats().block_cache_bytes
        assert all(client.get(b"h%04d" % n, b"s") == (0, b"v" * 200) for n in range(0, 2000, 7))
        assert store.rdb_stats().block_cache_bytes == before
        apply_envs(store, {"replica.rocksdb_block_cache_enabled": "true"})
        assert all(client.get(b"h%04d" % n, b"s") == (0, b"v" * 200) for n in range(0, 2000, 7))
        assert store.rdb_stats().block_cache_bytes > before + 100_000


def _running_write_buffer_size(store: PartitionStore) -> int:
    """The data column family's memtable size in the newest OPTIONS file RocksDB wrote
    (it writes one at each SetOptions)."""
    newest = max(Path(store.path).glob("OPTIONS-*"), key=lambda p: int(p.name.split("-")[1]))
    section = newest.read_text().split('[CFOptions "default"]', 1)[1]
    for line in section.splitlines():
        key, _, value = line.strip().partition("=")
        if key == "write_buffer_size":
            return int(value)
    raise AssertionError("no write_buffer_size")


def test_the_write_buffer_size_env_runs_and_wins_over_the_scenario(
    store: PartitionStore,
) -> None:
    size = 32 << 20
    apply_envs(store, {"rocksdb.write_buffer_size": str(size)})
    assert _running_write_buffer_size(store) == size
    apply_envs(
        store, {"rocksdb.write_buffer_size": str(size), "rocksdb.usage_scenario": "bulk_load"}
    )
    assert store.usage_scenario == "bulk_load"
    assert _running_write_buffer_size(store) == size  # not the scenario's
    apply_envs(store, {"rocksdb.usage_scenario": "bulk_load"})  # removed: left as it runs
    assert _running_write_buffer_size(store) == size
    apply_envs(store, {})
    base = OPTIONS.write_buffer_bytes  # normal's: the configured size, give or take a quarter
    assert base * 3 // 4 <= _running_write_buffer_size(store) <= base * 5 // 4
