"""The Pegasus storage engine on RocksDB: key and value schema, partition hashing, and every
data operation's semantics, per partition replica (``PartitionStore``)."""

from pegasus_log.storage.compaction import CompactionStats
from pegasus_log.storage.engine import Clock, PartitionStore
from pegasus_log.storage.keyhash import PartitionScope, crc64, key_hash, partition_hash
from pegasus_log.storage.options import StorageOptions, TableEnv
from pegasus_log.storage.rocks import StoreClosedError
from pegasus_log.storage.status import StorageStatus

__all__ = [
    "Clock",
    "CompactionStats",
    "PartitionScope",
    "PartitionStore",
    "StorageOptions",
    "StorageStatus",
    "StoreClosedError",
    "TableEnv",
    "crc64",
    "key_hash",
    "partition_hash",
]
