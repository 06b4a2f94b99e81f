"""A replica server's flags (observability/flags.py; admin-cli ``server-config replica``).

Upstream's names and sections where upstream has the same setting (``replication``,
``pegasus.server``: sections admin-cli lists for a replica server), ours otherwise.
Mutable, as upstream has them: ``checkpoint_interval_seconds``, ``gc_interval_ms``,
``log_private_reserve_max_size_mb``, ``disk_min_available_space_ratio`` and
``reject_write_when_disk_insufficient`` (the maintenance rounds read them each round,
about every second) and ``config_sync_interval_ms`` (from the next sync). The rest is fixed at
start: the replica core's settings, failure detection, storage. Durations that are
fractional in ours are doubles, in the unit their name says; those upstream keeps in
milliseconds are shown rounded to milliseconds.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pegasus_log.failure_detector import fd_flags
from pegasus_log.observability.flags import Flag, FlagRefused, FlagType
from pegasus_log.replica.log_gc import DurabilityOptionsError
from pegasus_log.replica.meta_link import MetaLink
from pegasus_log.replica.runtime import ReplicaServer
from pegasus_log.replica.stub import StubOptions

_REPL = "replication"
_SERVER = "pegasus.server"
_MIB_SHIFT = 20


def _ms(seconds: float) -> int:
    return round(seconds * 1000)


def _positive(value: Any) -> bool:
    return bool(value > 0)


def stub_flags(options: StubOptions) -> list[Flag]:
    """What every replica server has, the static one included: its write limit and its
    storage's settings."""
    st = options.storage
    return [
        Flag(
            _REPL,
            "max_allowed_write_size",
            FlagType.FV_UINT32,
            "write requests with a body above this many bytes are refused",
            lambda: options.max_write_bytes,
        ),
        Flag(
            _SERVER,
            "rocksdb_write_buffer_size",
            FlagType.FV_UINT64,
            "memtable bytes of one partition's data",
            lambda: st.write_buffer_bytes,
        ),
        Flag(
            _SERVER,
            "rocksdb_max_write_buffer_number",
            FlagType.FV_INT32,
            "memtables kept before writes stall",
            lambda: st.max_write_buffers,
        ),
        Flag(
            _SERVER,
            "rocksdb_block_cache_bytes_per_partition",
            FlagType.FV_UINT64,
            "block cache of one partition (upstream's rocksdb_block_cache_capacity is"
            " shared by the process)",
            lambda: st.block_cache_bytes,
        ),
        Flag(
            _SERVER,
            "rocksdb_max_open_files",
            FlagType.FV_INT32,
            "SST files one partition keeps open",
            lambda: st.max_open_files,
        ),
        Flag(
            _SERVER,
            "rocksdb_bloom_filter_bits_per_key",
            FlagType.FV_INT32,
            "bloom filter bits per key",
            lambda: st.bloom_filter_bits_per_key,
        ),
        Flag(
            _SERVER,
            "rocksdb_compression_type",
            FlagType.FV_STRING,
            "compression of SST files",
            lambda: st.compression,
        ),
        Flag(
            _SERVER,
            "rocksdb_multi_get_max_iteration_count",
            FlagType.FV_UINT32,
            "rows a range multi_get may visit",
            lambda: st.multi_get_max_iteration_count,
        ),
        Flag(
            _SERVER,
            "rocksdb_multi_get_max_iteration_size",
            FlagType.FV_UINT64,
            "bytes of keys and values after which a range multi_get stops",
            lambda: st.multi_get_max_iteration_size_bytes,
        ),
        Flag(
            _SERVER,
            "rocksdb_max_iteration_count",
            FlagType.FV_UINT32,
            "rows one scan call may visit",
            lambda: st.max_iteration_count,
        ),
        Flag(
            _SERVER,
            "rocksdb_iteration_threshold_time_ms",
            FlagType.FV_UINT64,
            "milliseconds after which a range read stops (0: no limit)",
            lambda: st.iteration_time_max_ms,
        ),
    ]


def replica_flags(server: ReplicaServer, link: MetaLink) -> list[Flag]:
    """The flags of a replica server that replicates (meta link, PacificA, plog)."""

    def durability(field: str, shown: Callable[[Any], Any]) -> Callable[[], Any]:
        return lambda: shown(getattr(server.durability, field))

    def set_durability(field: str, stored: Callable[[Any], Any]) -> Callable[[Any], None]:
        def write(value: Any) -> None:
            try:
                server.update_durability(**{field: stored(value)})
            except DurabilityOptionsError as e:
                raise FlagRefused(str(e)) from e

        return write

    def set_sync_interval(ms: Any) -> None:
        link.sync_interval_s = ms / 1000

    core = server.core_config
    return [
        Flag(
            _REPL,
            "checkpoint_interval_seconds",
            FlagType.FV_DOUBLE,
            "seconds between two local checkpoints of a partition that applied writes",
            durability("checkpoint_interval_s", float),
            set_durability("checkpoint_interval_s", float),
            _positive,
        ),
        Flag(
            _REPL,
            "gc_interval_ms",
            FlagType.FV_INT32,
            "milliseconds between two garbage collections of the mutation log",
            durability("gc_interval_s", _ms),
            set_durability("gc_interval_s", lambda ms: ms / 1000),
            _positive,
        ),
        Flag(
            _REPL,
            "log_private_reserve_max_size_mb",
            FlagType.FV_INT32,
            "MiB of removable mutation log kept for learners a little behind",
            durability("log_reserve_bytes", lambda n: n >> _MIB_SHIFT),
            set_durability("log_reserve_bytes", lambda mb: mb << _MIB_SHIFT),
            lambda mb: bool(mb >= 0),
        ),
        Flag(
            _REPL,
            "disk_min_available_space_ratio",
            FlagType.FV_INT32,
            "percent of the data disk that must stay available; below it the disk is short"
            " of space",
            durability("disk_min_available_space_ratio", int),
            set_durability("disk_min_available_space_ratio", int),
            lambda pct: bool(0 <= pct <= 100),
        ),
        Flag(
            _REPL,
            "reject_write_when_disk_insufficient",
            FlagType.FV_BOOL,
            "refuse client writes (ERR_DISK_INSUFFICIENT) while a member's disk is short of space",
            durability("reject_write_when_disk_insufficient", bool),
            set_durability("reject_write_when_disk_insufficient", bool),
        ),
        Flag(
            _REPL,
            "config_sync_interval_ms",
            FlagType.FV_UINT32,
            "milliseconds between two config syncs of this server with the meta",
            lambda: _ms(link.sync_interval_s),
            set_sync_interval,
            _positive,
        ),
        Flag(
            _REPL,
            "log_private_file_size_mb",
            FlagType.FV_INT32,
            "largest mutation log segment, MiB",
            durability("plog_segment_bytes", lambda n: n >> _MIB_SHIFT),
        ),
        Flag(
            _REPL,
            "staleness_for_commit",
            FlagType.FV_INT32,
            "mutations a primary may hold prepared but uncommitted",
            lambda: core.staleness_max,
        ),
        Flag(
            _REPL,
            "max_mutation_count_in_prepare_list",
            FlagType.FV_INT32,
            "mutations a prepare list holds",
            lambda: core.prepare_list_max,
        ),
        Flag(
            _REPL,
            "prepare_timeout_ms_for_secondaries",
            FlagType.FV_INT32,
            "milliseconds a secondary may take to ack a prepare before it is reported",
            lambda: _ms(core.prepare_timeout_s),
        ),
        Flag(
            _REPL,
            "prepare_timeout_ms_for_potential_secondaries",
            FlagType.FV_INT32,
            "milliseconds a learner may take to ack a prepare before it is dropped",
            lambda: _ms(core.learner_prepare_timeout_s),
        ),
        Flag(
            _REPL,
            "group_check_interval_ms",
            FlagType.FV_INT32,
            "milliseconds between two group checks of a primary",
            lambda: _ms(core.group_check_interval_s),
        ),
        Flag(
            _REPL,
            "mutation_2pc_min_replica_count",
            FlagType.FV_INT32,
            "members (primary included) a primary needs to take a write",
            lambda: core.write_members_min,
        ),
        *fd_flags(link.fd),
        *stub_flags(server.options),
    ]
