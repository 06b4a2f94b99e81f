"""Bounds and switches of one mutation log (plog).

Every queue, batch and file the log keeps is bounded here. Memory held by the log at any
moment is at most ``pending_bytes_max`` of queued records plus ``block_bytes_max`` of the
batch being written, plus one segment of ``segment_bytes_max`` while recovering or serving a
learner (segments are read whole).
"""

from __future__ import annotations

from pegasus_log.frozen import frozen

MIB = 1 << 20


class PlogConfigError(ValueError):
    """A plog configuration that cannot work (an operator's mistake, reported at start)."""


@frozen
class PlogConfig:
    # Largest segment file ``log.<index>.<start_offset>``. Upstream
    # [replication] log_private_file_size_mb = 32. A segment holds at least one block, so
    # it is never larger than this unless its header alone is (one entry per partition).
    segment_bytes_max: int = 32 * MIB
    # Largest block = largest group-commit batch written with one write and one fsync.
    # Upstream log_appender::DEFAULT_MAX_BLOCK_BYTES = 1 MiB. One append (all its
    # mutations) must fit in one block; larger appends are refused.
    block_bytes_max: int = 1 * MIB
    # Records queued behind the write in flight before appenders are pushed back.
    # Upstream has no bound; 4 MiB is four full blocks, enough to keep the disk busy while
    # the next batch fills, and small beside the 512 MiB process budget.
    pending_bytes_max: int = 4 * MIB
    # Mutations queued behind the write in flight. Each costs a Python object and a
    # future (about 1 KiB); 8192 keeps that under 10 MiB and is twice what 4 MiB of
    # 1 KiB mutations would hold.
    pending_mutations_max: int = 8192
    # Appenders allowed to wait for room in the pending queue (back-pressure); past this
    # an append fails at once with PlogBusyError (ERR_BUSY, retriable). 1024 is four times
    # the concurrent client writes one replica server is expected to hold.
    append_waiters_max: int = 1024
    # fdatasync every batch before its appenders are told it is durable. Upstream
    # (plog_force_flush = false) writes to the page cache only, so an OS crash or power
    # loss can lose acknowledged mutations; ours is on by default (DESIGN.md section 5).
    fsync: bool = True
    # Where a batch is written and fsync'd. "loop": on the event loop itself, after the
    # frames of the same loop pass are sent (etcd's raft loop does the same); the loop
    # waits out the fdatasync while the peers work on their prepares, and everything that
    # arrives meanwhile joins the next batch. "thread": on a worker thread, the loop
    # running on meanwhile, at the cost of a thread hand-off each way per batch (on two
    # cores shared by three replica servers those hand-offs were the largest single cost
    # of a write: see docs/benchmarks.md).
    write_on: str = "loop"

    def __post_init__(self) -> None:
        if self.block_bytes_max < 4096:
            raise PlogConfigError(f"block_bytes_max {self.block_bytes_max} < 4096")
        if self.segment_bytes_max < 2 * self.block_bytes_max:
            raise PlogConfigError(
                f"segment_bytes_max {self.segment_bytes_max} must hold two blocks of "
                f"{self.block_bytes_max} bytes"
            )
        if self.pending_bytes_max < self.block_bytes_max:
            raise PlogConfigError(
                f"pending_bytes_max {self.pending_bytes_max} < block_bytes_max "
                f"{self.block_bytes_max}: a full block could never be queued"
            )
        if self.write_on not in ("loop", "thread"):
            raise PlogConfigError(f"write_on {self.write_on!r}: expected 'loop' or 'thread'")
        if self.pending_mutations_max < 1 or self.append_waiters_max < 0:
            raise PlogConfigError("pending_mutations_max must be >= 1, waiters >= 0")
