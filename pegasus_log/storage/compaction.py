"""Manual compaction: drop what upstream's compaction filter drops, then compact.

Upstream installs ``KeyWithTTLCompactionFilter`` in RocksDB; rocksdict cannot run a Python
compaction filter, so this module sweeps the data with an iterator and writes the
filter's decisions as ordinary deletes and puts (without a decree: every replica sweeps
on its own, as every replica's RocksDB compacts on its own), then asks RocksDB to compact
the whole range so the deletes reclaim space (with the ``CompactRangeOptions`` the
replica's manual compaction asks for: ``replica/compact_rules.py``), and records when it
finished (``pegasus_last_manual_compact_finish_time``, in ms, as upstream). Per record, as
the filter does:

- a record with no TTL gets ``now + default_ttl`` when the table has a default TTL;
- the table's ``user_specified_compaction`` operations (``compaction_rules.py``) may then
  drop it or set its expire time; they see it with the default TTL applied;
- an expired record is dropped (by the expire time it had before those operations);
- with ``validate_partition_hash`` on, a record whose hash belongs to another partition
  (left behind by a partition split) is dropped.

The sweep runs in chunks of ``compaction_chunk_rows`` rows; each chunk reads and writes
under the partition's write lock, so it never overwrites a concurrent write, and writers
wait at most one chunk.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from pegasus_log.frozen import frozen
from pegasus_log.storage.compaction_rules import KEEP, decide
from pegasus_log.storage.keyhash import PartitionScope
from pegasus_log.storage.options import TableEnv
from pegasus_log.storage.rocks import (
    Delete,
    Put,
    RocksStore,
    StoreClosedError,
    WriteOp,
)
from pegasus_log.storage.schema import (
    EXPIRE_TS_MAX,
    decode_expire_ts,
    decode_key,
    epoch_now,
    is_ts_expired,
    is_valid_key,
    replace_expire_ts,
)


@frozen
class CompactionStats:
    rows_examined: int = 0
    expired_dropped: int = 0
    foreign_dropped: int = 0
    default_ttl_applied: int = 0
    user_deleted: int = 0
    user_ttl_updated: int = 0


def sweep(
    store: RocksStore,
    *,
    write_lock: threading.RLock,
    clock: Callable[[], float],
    env: TableEnv,
    scope: PartitionScope,
    chunk_rows: int,
    cancelled: Callable[[], bool],
) -> CompactionStats:
    """Write the filter's decisions over the whole key range, a chunk at a time under
    ``write_lock``; ``StoreClosedError`` when the store closes or ``cancelled()`` turns
    true between two chunks."""
    counts = dict.fromkeys(("expired", "foreign", "default_ttl", "user_deleted", "user_ttl"), 0)
    examined = 0
    resume: bytes | None = b""
    while resume is not None:
        with write_lock:
            if cancelled():
                raise StoreClosedError(f"storage at {store.path} is closing: compaction cut")
            now = epoch_now(clock())
            it = store.iterator()
            it.seek(resume)
            ops: list[WriteOp] = []
            rows = 0
            while rows < chunk_rows and it.valid():
                key: bytes = it.key()
                raw: bytes = it.value()
                rows += 1
                it.next()
                if not is_valid_key(key):
                    continue  # not a record this engine wrote; leave it alone
                op = _filter(key, raw, now, env, scope, counts)
                if op is not None:
                    ops.append(op)
            examined += rows
            resume = bytes(it.key()) if it.valid() else None
            del it
            store.apply_local(ops)
    return CompactionStats(
        rows_examined=examined,
        expired_dropped=counts["expired"],
        foreign_dropped=counts["foreign"],
        default_ttl_applied=counts["default_ttl"],
        user_deleted=counts["user_deleted"],
        user_ttl_updated=counts["user_ttl"],
    )


def _filter(
    key: bytes, raw: bytes, now: int, env: TableEnv, scope: PartitionScope, counts: dict[str, int]
) -> WriteOp | None:
    """What upstream's compaction filter does to one record, as a write (None: keep it
    as it is)."""
    expire_ts = decode_expire_ts(raw)
    new_ts: int | None = None
    if expire_ts == 0 and env.default_ttl_seconds != 0:
        expire_ts = new_ts = (now + env.default_ttl_seconds) & EXPIRE_TS_MAX
    decision = KEEP
    if env.compaction_operations:
        hash_key, sort_key = decode_key(key)
        decision = decide(env.compaction_operations, hash_key, sort_key, expire_ts, now)
    if decision.delete:
        counts["user_deleted"] += 1
        return Delete(key)
    if is_ts_expired(now, expire_ts):
        counts["expired"] += 1
        return Delete(key)
    if env.validate_partition_hash and not scope.serves(key):
        counts["foreign"] += 1
        return Delete(key)
    if decision.expire_ts is not None:
        counts["user_ttl"] += 1
        new_ts = decision.expire_ts
    elif new_ts is not None:
        counts["default_ttl"] += 1
    return None if new_ts is None else Put(key, replace_expire_ts(raw, new_ts))
