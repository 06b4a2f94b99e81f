"""Which mutation-log records a replica server may drop: the decisions, without I/O.

The log (``plog``) is one file sequence shared by every partition of the server; whole
segments go, oldest first, once every record in them is at or below its partition's
*cleanable decree* (``PlogCore.plan_gc``). This module computes those decrees and when
local checkpoints are due; ``runtime.py`` does the file work.

Durable decree: the decree of the partition's latest LOCAL CHECKPOINT
(``<app>.<index>.checkpoints/checkpoint.<decree>``, see ``store_dirs.py``), not the
storage's last applied decree. Why a checkpoint and not a bare RocksDB flush: storage
writes with the WAL on but not synced (``StorageOptions.sync_writes`` off), so what it
applied survives a crash of the process but not of the machine; a checkpoint is a
consistent copy of both column families (RocksDB flushes before it links the files) that
we fsync file by file and then publish with an fsync'd rename. So the checkpoint is on
disk whatever crashes after, and at open a store found behind its latest checkpoint (the
machine lost the WAL tail) is restored from it (``store_dirs.open_partition_dirs``). The
log then only has to hold what is above that decree, which GC never removes. A bare flush
would give the same guarantee only through RocksDB's internal ordering of flushes of
several column families, which rocksdict does not let us drive (no atomic flush).

What else holds records back:

- learners in progress: a primary serving a learner that has everything up to decree
  ``c`` (its last learn request, or the checkpoint it was sent) keeps every record above
  ``c``, so the learner can catch up from the log after the checkpoint instead of being
  sent a checkpoint again (a race the core would otherwise lose forever under steady
  writes when checkpoints are frequent);
- partitions of the log that the server does not host now: their stored checkpoint (on
  disk) gives the decree; a partition with no store at all keeps its records;
- the reserve: the newest removable segments up to ``log_reserve_bytes`` stay (upstream's
  ``log_private_reserve_max_size_mb``; upstream also drops reserved segments older than
  ``log_private_reserve_max_time_seconds``, which we do not: size alone bounds the disk).

A learner asking for records already collected is told the truth: the core's ReadLog
returns only what the files still hold, the core finds the range incomplete and falls back
to a checkpoint (``ReplicaCore._on_log_read``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from pegasus_log.frozen import frozen
from pegasus_log.replica.plog.config import PlogConfig
from pegasus_log.rpc.thrift import Gpid

MIB = 1 << 20


class DurabilityOptionsError(ValueError):
    """Options that cannot work (an operator's mistake, reported at start)."""


@frozen
class DurabilityOptions:
    # A partition takes a local checkpoint this often when it applied something since
    # the last one. Upstream checkpoint_interval_seconds = 100.
    checkpoint_interval_s: float = 100.0
    # Log garbage collection runs this often. Upstream runs it with the checkpoint timer;
    # ours is separate so that a test can make it aggressive without more checkpoints.
    gc_interval_s: float = 30.0
    # Removable log kept for learners a little behind (see the module docstring).
    # Upstream log_private_reserve_max_size_mb = 1000; 256 MiB is eight 32 MiB segments.
    log_reserve_bytes: int = 256 * MIB
    # Largest plog segment. Upstream log_private_file_size_mb = 32.
    plog_segment_bytes: int = 32 * MIB
    # Where the log writes and fsyncs: "loop" or "thread" (PlogConfig.write_on).
    plog_write_on: str = "loop"
    # Largest chunk of a checkpoint file sent in one RPC (the learner asks for at most
    # this; larger asks are cut). Upstream copies files in 1 MiB blocks too
    # (nfs copy_request's block size is FLAGS_nfs_copy_block_bytes = 4 MiB; 1 MiB keeps
    # one reply well under the 16 MiB frame limit and the event loop responsive).
    learn_chunk_bytes: int = 1 * MIB
    # A checkpoint made for a learner is deleted this long after its last use, if the
    # learner never said it was done. Upstream keeps learn checkpoints until the next
    # checkpoint replaces them; 300 s covers a slow copy of a few GiB.
    learn_checkpoint_keep_s: float = 300.0
    # Checkpoints made for learners that may exist at once on one server; more learn
    # requests wait (the learner asks again). 8 covers a server's share of a rebalance.
    learn_checkpoints_max: int = 8
    # Files and bytes a learner accepts from one checkpoint: a primary announcing more
    # is refused rather than allowed to fill the disk.
    learn_files_max: int = 10_000
    learn_bytes_max: int = 1 << 40
    # One chunk's RPC may take this long before the fetch is abandoned (and retried).
    learn_rpc_timeout_s: float = 30.0

    # A data disk with less than this percentage of its space available is short of
    # space. Upstream disk_min_available_space_ratio = 10.
    disk_min_available_space_ratio: int = 10
    # A primary refuses client writes (ERR_DISK_INSUFFICIENT) while its disk or a
    # secondary's is short of space, rather than run it full. Upstream
    # reject_write_when_disk_insufficient = true.
    reject_write_when_disk_insufficient: bool = True

    def __post_init__(self) -> None:
        if not 0 <= self.disk_min_available_space_ratio <= 100:
            raise DurabilityOptionsError("disk_min_available_space_ratio must be 0-100")
        if self.checkpoint_interval_s <= 0 or self.gc_interval_s <= 0:
            raise DurabilityOptionsError("checkpoint and gc intervals must be > 0")
        if self.log_reserve_bytes < 0:
            raise DurabilityOptionsError("log_reserve_bytes must be >= 0")
        if not 4096 <= self.learn_chunk_bytes <= 8 * MIB:
            raise DurabilityOptionsError("learn_chunk_bytes must be within [4 KiB, 8 MiB]")
        if self.learn_checkpoints_max < 1 or self.learn_checkpoint_keep_s <= 0:
            raise DurabilityOptionsError("learn checkpoint bounds must be > 0")
        if self.learn_files_max < 1 or self.learn_bytes_max < 1 or self.learn_rpc_timeout_s <= 0:
            raise DurabilityOptionsError("learn fetch bounds must be > 0")

    def plog_config(self) -> PlogConfig:
        """The mutation log's configuration; raises PlogConfigError when it cannot work."""
        return PlogConfig(segment_bytes_max=self.plog_segment_bytes, write_on=self.plog_write_on)


def cleanable_decrees(
    durable: Mapping[Gpid, int], learner_floors: Mapping[Gpid, Iterable[int]]
) -> dict[Gpid, int]:
    """Per partition, the largest decree whose log records may go: its durable decree,
    lowered to the committed decree of each of its learners in progress. A partition
    missing from ``durable`` is missing from the answer (its records all stay)."""
    out: dict[Gpid, int] = {}
    for gpid, decree in durable.items():
        assert decree >= 0, (gpid, decree)
        out[gpid] = min([decree, *learner_floors.get(gpid, ())])
    return out


def checkpoint_due(
    *, applied: int, durable: int, last_taken: float, now: float, interval_s: float
) -> bool:
    """A partition takes a local checkpoint when it applied something since its latest
    one and ``interval_s`` passed since it last took one."""
    return applied > durable and now - last_taken >= interval_s
