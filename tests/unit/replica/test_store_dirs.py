"""A partition's directories: local checkpoints, interrupted swaps, restoring a store that
fell behind its checkpoint."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from pegasus_log.replica.runtime import ReplicaServer
from pegasus_log.replica.store_dirs import (
    PartitionDirs,
    latest_checkpoint_decree,
    replace_store,
    settle,
    take_local_checkpoint,
)
from pegasus_log.replica.stub import StubOptions
from pegasus_log.rpc.thrift import RpcAddress
from pegasus_log.storage.schema import encode_key
from tests.unit.storage.helpers import Client, FakeClock, open_store


def _write(dirs: PartitionDirs, upto: int) -> None:
    clock = FakeClock()
    store = open_store(dirs.store, clock)
    client = Client(store, clock)
    while client.decree < upto:
        client.set(b"k%d" % (client.decree + 1), b"s", b"v")
    store.close()


def test_local_checkpoints_keep_only_the_latest(tmp_path: Path) -> None:
    dirs = PartitionDirs(tmp_path, 1, 0)
    assert latest_checkpoint_decree(dirs) == 0
    _write(dirs, 5)
    store = open_store(dirs.store, FakeClock())
    assert take_local_checkpoint(store, dirs) == 5
    assert take_local_checkpoint(store, dirs) == 5  # no progress: kept as it is
    store.close()
    _write(dirs, 9)
    store = open_store(dirs.store, FakeClock())
    assert take_local_checkpoint(store, dirs) == 9
    store.close()
    assert sorted(os.listdir(dirs.checkpoints)) == ["checkpoint.9"]
    assert latest_checkpoint_decree(dirs) == 9


def test_settle_undoes_a_swap_cut_after_its_first_rename(tmp_path: Path) -> None:
    dirs = PartitionDirs(tmp_path, 1, 0)
    _write(dirs, 3)
    os.rename(dirs.store, dirs.old)  # crash here: no store, the old one aside
    dirs.fetch.mkdir()
    settle(dirs)
    assert dirs.store.exists() and not dirs.old.exists() and not dirs.fetch.exists()
    store = open_store(dirs.store, FakeClock())
    assert store.last_applied_decree() == 3
    store.close()


def test_replace_store_swaps_in_the_new_directory(tmp_path: Path) -> None:
    dirs = PartitionDirs(tmp_path, 1, 0)
    _write(dirs, 3)
    other = PartitionDirs(tmp_path / "elsewhere", 1, 0)
    other.data_dir.mkdir()
    _write(other, 7)
    shutil.move(other.store, dirs.fetch)
    replace_store(dirs, dirs.fetch)
    assert not dirs.fetch.exists() and not dirs.old.exists()
    store = open_store(dirs.store, FakeClock())
    assert store.last_applied_decree() == 7
    store.close()


def test_a_store_behind_its_checkpoint_is_restored_from_it(tmp_path: Path) -> None:
    """What a machine crash that lost the store's unsynced WAL tail would leave."""
    dirs = PartitionDirs(tmp_path, 1, 0)
    _write(dirs, 6)
    store = open_store(dirs.store, FakeClock())
    take_local_checkpoint(store, dirs)
    store.close()
    shutil.rmtree(dirs.store)
    _write(dirs, 2)  # the store "lost" decrees 3..6
    server = ReplicaServer(
        data_dir=tmp_path, address=RpcAddress.parse("127.0.0.1:1"), options=StubOptions()
    )
    store, durable = server._open_durable_store(dirs, 1)
    try:
        assert durable == 6 and store.last_applied_decree() == 6
        assert store.get(encode_key(b"k6", b"s")).error == 0
    finally:
        store.close()
    # the checkpoint itself is untouched (hard links and copies only)
    assert latest_checkpoint_decree(dirs) == 6
    again = open_store(dirs.checkpoints / "checkpoint.6", FakeClock())
    assert again.last_applied_decree() == 6
    again.close()
