"""Configuration of one partition's storage engine, and its translation to RocksDB options.

Every bound the engine enforces comes from here. RocksDB sizes are per partition replica:
a replica server hosting 8 partitions with the defaults spends at most about
8 x (8 MiB block cache + 2 x 8 MiB memtables) = 192 MiB in RocksDB, which keeps the whole
process well under 512 MiB RSS. Upstream sizes for a dedicated machine (one 10 GiB block
cache shared by every replica, 64 MiB memtables, 3 of them); ours assume many small
servers on one host, as in tests and the onebox cluster.
"""

from __future__ import annotations

from rocksdict import BlockBasedOptions, Cache, DBCompressionType, Options

from pegasus_log.frozen import frozen
from pegasus_log.storage.compaction_rules import Operation

MIB = 1 << 20

DATA_COLUMN_FAMILY = "default"  # upstream meta_store::DATA_COLUMN_FAMILY_NAME
META_COLUMN_FAMILY = "pegasus_meta_cf"  # upstream meta_store::META_COLUMN_FAMILY_NAME


@frozen
class StorageOptions:
    # ---- RocksDB memory and files (per partition replica) ----
    # Block cache for data, index and filter blocks. Upstream: rocksdb_block_cache_capacity
    # = 10 GiB shared by the whole process; 8 MiB per partition fits the 512 MiB budget.
    block_cache_bytes: int = 8 * MIB
    # Memtable size. Upstream rocksdb_write_buffer_size = 64 MiB; 8 MiB bounds memory and
    # still batches many small writes per flush.
    write_buffer_bytes: int = 8 * MIB
    # Memtables kept before writes stall. Upstream rocksdb_max_write_buffer_number = 3; 2 is
    # the smallest value that lets one flush run while writes continue.
    max_write_buffers: int = 2
    # Memtable of the small meta column family (one key per write): RocksDB's floor-ish.
    meta_write_buffer_bytes: int = 1 * MIB
    # Open SST files kept in the table cache. Upstream rocksdb_max_open_files = -1
    # (unbounded); 256 bounds file descriptors for many partitions per process.
    max_open_files: int = 256
    # Background flush and compaction threads. RocksDB's default is 2, matching the
    # 2-core machines this project runs on.
    max_background_jobs: int = 2
    # Bloom filter bits per key. Upstream rocksdb_bloom_filter_bits_per_key = 10.
    bloom_filter_bits_per_key: int = 10
    # Upstream rocksdb_compression_type default is lz4.
    compression: str = "lz4"
    # Level-0 files that start a compaction, slow writes down, stop them (RocksDB's
    # defaults; upstream's are 4, 30 and 60). The usage scenarios change them and set
    # them back to these.
    level0_compaction_trigger: int = 4
    level0_slowdown_trigger: int = 20
    level0_stop_trigger: int = 36
    # Pending compaction bytes past which writes slow down and stop (RocksDB's defaults).
    soft_pending_compaction_bytes: int = 64 << 30
    hard_pending_compaction_bytes: int = 256 << 30
    # Size of level 1, and of one SST file (RocksDB's defaults). A compaction takes at most
    # 25 files' worth (RocksDB's and upstream's max_compaction_bytes).
    max_bytes_for_level_base: int = 256 * MIB
    target_file_bytes: int = 64 * MIB
    # fsync the RocksDB WAL on each write. Off: the replica's own log (plog) is the durable
    # record of mutations; the WAL only keeps data and last-applied decree consistent
    # across a process crash (see rocks.py).
    sync_writes: bool = False

    # ---- range reads (upstream [pegasus.server] defaults) ----
    # rocksdb_multi_get_max_iteration_count: rows a range multi_get may visit, counting
    # expired and filtered ones; also caps max_kv_count.
    multi_get_max_iteration_count: int = 3000
    # rocksdb_multi_get_max_iteration_size: bytes of returned keys and values after which a
    # range multi_get stops (upstream 30 << 20). 0 means no limit beyond the request's.
    multi_get_max_iteration_size_bytes: int = 30 * MIB
    # rocksdb_max_iteration_count: rows one get_scanner / scan call may visit, and the
    # largest scan batch.
    max_iteration_count: int = 1000
    # rocksdb_iteration_threshold_time_ms: wall time after which a range read stops
    # (sortkey_count then answers count = -1). 0 means no time limit.
    iteration_time_max_ms: int = 30_000
    # Bytes of keys and values after which one scan batch stops early (the scan goes on in
    # the next batch). Upstream has no such limit; 16 MiB keeps one batch of 1000 large
    # values from inflating the process.
    scan_batch_size_max_bytes: int = 16 * MIB

    # ---- scanner contexts ----
    # A context not used for this long is dropped. Upstream drops it 5 minutes after the
    # last batch (LPC_PEGASUS_SERVER_DELAY with std::chrono::minutes(5)).
    scanner_idle_timeout_s: float = 300.0
    # Live contexts per partition. Upstream has no limit; each holds a RocksDB iterator
    # (which pins memtables and SST files), so past this the least recently used context
    # is dropped. Clients recover: a scan on a dropped context gets kNotFound and restarts
    # from its last key.
    scanner_contexts_max: int = 256

    # ---- manual compaction sweep ----
    # Rows examined per locked chunk of compact(): bounds the time writers wait.
    compaction_chunk_rows: int = 1000

    def __post_init__(self) -> None:
        positive = {
            "block_cache_bytes": self.block_cache_bytes,
            "write_buffer_bytes": self.write_buffer_bytes,
            "meta_write_buffer_bytes": self.meta_write_buffer_bytes,
            "max_background_jobs": self.max_background_jobs,
            "multi_get_max_iteration_count": self.multi_get_max_iteration_count,
            "max_iteration_count": self.max_iteration_count,
            "scan_batch_size_max_bytes": self.scan_batch_size_max_bytes,
            "scanner_idle_timeout_s": self.scanner_idle_timeout_s,
            "scanner_contexts_max": self.scanner_contexts_max,
            "compaction_chunk_rows": self.compaction_chunk_rows,
        }
        for name, value in positive.items():
            if value <= 0:
                raise ValueError(f"StorageOptions.{name} must be positive, got {value}")
        non_negative = {
            "multi_get_max_iteration_size_bytes": self.multi_get_max_iteration_size_bytes,
            "iteration_time_max_ms": self.iteration_time_max_ms,
            "bloom_filter_bits_per_key": self.bloom_filter_bits_per_key,
        }
        for name, value in non_negative.items():
            if value < 0:
                raise ValueError(f"StorageOptions.{name} must not be negative, got {value}")
        if self.max_write_buffers < 2:
            raise ValueError("StorageOptions.max_write_buffers must be at least 2")
        if self.max_open_files == 0 or self.max_open_files < -1:
            raise ValueError("StorageOptions.max_open_files must be positive or -1")
        if self.compression not in _COMPRESSION:
            raise ValueError(f"StorageOptions.compression must be one of {sorted(_COMPRESSION)}")


_COMPRESSION = {
    "none": DBCompressionType.none,
    "snappy": DBCompressionType.snappy,
    "lz4": DBCompressionType.lz4,
    "zstd": DBCompressionType.zstd,
}


def build_rocksdb_options(options: StorageOptions) -> tuple[Options, dict[str, Options]]:
    """RocksDB options for the data column family (and DB-wide settings), and the options
    of the other column families by name. Keys and values are raw bytes (rocksdict raw
    mode), so the files are readable by any RocksDB tool."""
    table = BlockBasedOptions()
    table.set_block_cache(Cache(options.block_cache_bytes))
    # Index and filter blocks live in the block cache, so the cache bounds them too.
    table.set_cache_index_and_filter_blocks(True)
    if options.bloom_filter_bits_per_key > 0:
        table.set_bloom_filter(options.bloom_filter_bits_per_key, False)

    data = Options(raw_mode=True)
    data.create_if_missing(True)
    data.create_missing_column_families(True)
    data.set_block_based_table_factory(table)
    data.set_write_buffer_size(options.write_buffer_bytes)
    data.set_max_write_buffer_number(options.max_write_buffers)
    data.set_max_open_files(options.max_open_files)
    data.set_max_background_jobs(options.max_background_jobs)
    data.set_compression_type(_COMPRESSION[options.compression]())
    data.set_keep_log_file_num(2)  # RocksDB's info LOG files, not the WAL
    data.set_level_zero_file_num_compaction_trigger(options.level0_compaction_trigger)
    data.set_level_zero_slowdown_writes_trigger(options.level0_slowdown_trigger)
    data.set_level_zero_stop_writes_trigger(options.level0_stop_trigger)
    data.set_soft_pending_compaction_bytes_limit(options.soft_pending_compaction_bytes)
    data.set_hard_pending_compaction_bytes_limit(options.hard_pending_compaction_bytes)
    data.set_max_bytes_for_level_base(options.max_bytes_for_level_base)
    data.set_target_file_size_base(options.target_file_bytes)
    data.set_max_compaction_bytes(25 * options.target_file_bytes)

    meta = Options(raw_mode=True)
    meta.set_write_buffer_size(options.meta_write_buffer_bytes)
    meta.set_max_write_buffer_number(2)
    return data, {META_COLUMN_FAMILY: meta}


# Table env ``rocksdb.usage_scenario``.
USAGE_NORMAL = "normal"
USAGE_PREFER_WRITE = "prefer_write"
USAGE_BULK_LOAD = "bulk_load"
USAGE_SCENARIOS = (USAGE_NORMAL, USAGE_PREFER_WRITE, USAGE_BULK_LOAD)
_NEVER = str(1_000_000_000)


def usage_scenario_options(
    old: str, new: str, options: StorageOptions, spread: tuple[float, float]
) -> dict[str, str]:
    """The RocksDB options (``SetOptions`` strings) that move the data column family from
    usage scenario ``old`` to ``new``, as upstream's ``set_usage_scenario``:

    - ``normal``: the configured memtable size, give or take a quarter, and the
      configured level-0 compaction trigger;
    - ``prefer_write``: a memtable of one to two times the configured size, and a level-0
      trigger of level 1's size (give or take a quarter) over it, at least 4, so fewer,
      larger compactions run. Ours also keeps it at most half the slowdown trigger: with
      upstream's sizes the quotient is about 7 against a slowdown at 30, with ours
      (smaller memtables) it would pass the slowdown trigger and stall writes;
    - ``bulk_load``: RocksDB's ``PrepareForBulkLoad``: no automatic compaction, no write
      slowdown or stop, a four times larger memtable (give or take a quarter), at least 6
      of them.

    Leaving ``bulk_load`` first sets back everything it changed. ``spread`` is two draws
    from [0, 1) (upstream draws at random, so the partitions of a table do not all flush
    at once); pure for a given draw."""
    if new not in USAGE_SCENARIOS:
        raise ValueError(f"usage scenario {new!r} is not one of {USAGE_SCENARIOS}")
    base_buffer = options.write_buffer_bytes

    def nearby(value: int, draw: float) -> int:  # upstream's get_random_nearby
        gap = value // 4
        return value - gap + int(draw * 2 * gap)

    if new == USAGE_BULK_LOAD:
        return {
            "level0_file_num_compaction_trigger": _NEVER,
            "level0_slowdown_writes_trigger": _NEVER,
            "level0_stop_writes_trigger": _NEVER,
            "soft_pending_compaction_bytes_limit": "0",
            "hard_pending_compaction_bytes_limit": "0",
            "disable_auto_compactions": "true",
            "max_compaction_bytes": str(1 << 60),
            "write_buffer_size": str(nearby(4 * base_buffer, spread[0])),
            "max_write_buffer_number": str(max(options.max_write_buffers, 6)),
        }
    out: dict[str, str] = {}
    if old == USAGE_BULK_LOAD:
        out.update(
            {
                "level0_slowdown_writes_trigger": str(options.level0_slowdown_trigger),
                "level0_stop_writes_trigger": str(options.level0_stop_trigger),
                "soft_pending_compaction_bytes_limit": str(options.soft_pending_compaction_bytes),
                "hard_pending_compaction_bytes_limit": str(options.hard_pending_compaction_bytes),
                "disable_auto_compactions": "false",
                "max_compaction_bytes": str(25 * options.target_file_bytes),
                "max_write_buffer_number": str(options.max_write_buffers),
            }
        )
    if new == USAGE_NORMAL:
        out["write_buffer_size"] = str(nearby(base_buffer, spread[0]))
        out["level0_file_num_compaction_trigger"] = str(options.level0_compaction_trigger)
    else:
        buffer = base_buffer + int(spread[0] * base_buffer)
        level_base = nearby(options.max_bytes_for_level_base, spread[1])
        out["write_buffer_size"] = str(buffer)
        trigger = min(max(4, level_base // buffer), options.level0_slowdown_trigger // 2)
        out["level0_file_num_compaction_trigger"] = str(trigger)
    return out


@frozen
class TableEnv:
    """Table settings the meta server may change while the partition runs (upstream app
    envs), replaced whole by the partition store's setters."""

    # "default_ttl": seconds of TTL given to written records that carry none. 0 = none.
    default_ttl_seconds: int = 0
    # "replica.split.validate_partition_hash": scans skip, and compaction drops, records
    # whose hash belongs to another partition (left behind by a partition split).
    # Upstream default: false.
    validate_partition_hash: bool = False
    # "replica.rocksdb_iteration_threshold_time_ms"; None means
    # StorageOptions.iteration_time_max_ms.
    iteration_time_max_ms: int | None = None
    # "user_specified_compaction", parsed (storage/compaction_rules.py).
    compaction_operations: tuple[Operation, ...] = ()
