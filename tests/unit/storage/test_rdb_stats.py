"""What a partition's store reports of RocksDB (the replica_rdb_* metrics, app_stat and
app_disk), and the gauge rows a replica server makes of it."""

from __future__ import annotations

import os

from pegasus_log.replica.stub import storage_rows
from pegasus_log.storage import PartitionStore
from tests.unit.storage.helpers import Client


def test_sst_files_appear_after_a_flush(store: PartitionStore, client: Client) -> None:
    empty = store.rdb_stats()
    assert (empty.sst_files, empty.sst_bytes, empty.estimated_keys) == (0, 0, 0)
    for i in range(100):
        client.set(b"h%d" % i, b"s", os.urandom(100))
    written = store.rdb_stats()
    assert written.sst_files == 0 and written.memtable_bytes > empty.memtable_bytes
    assert written.estimated_keys == 100
    store.checkpoint(store.path + ".cp")  # flushes the memtables first
    flushed = store.rdb_stats()
    assert flushed.sst_files == 1
    assert flushed.sst_bytes > 100 * 100  # 100 random values do not compress
    assert flushed.index_and_filter_bytes > 0


def test_storage_rows_label_each_partition_and_skip_closed_stores(
    store: PartitionStore, client: Client
) -> None:
    client.set(b"h", b"s", b"v")
    rows = {
        name: (labels, values) for name, _doc, labels, values in storage_rows([((3, 1), store)])
    }
    labels, values = rows["replica_rdb_estimated_keys"]
    assert labels == ["table_id", "partition_id"] and values == [(["3", "1"], 1)]
    assert set(rows) == {
        "replica_rdb_total_sst_size_mb",
        "replica_rdb_total_sst_files",
        "replica_rdb_memtable_mem_usage_bytes",
        "replica_rdb_index_and_filter_blocks_mem_usage_bytes",
        "replica_rdb_estimated_keys",
        "replica_rdb_block_cache_mem_usage_bytes",
    }
    store.close()
    assert all(values == [] for _n, _d, _l, values in storage_rows([((3, 1), store)]))
