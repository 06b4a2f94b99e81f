"""One partition's RocksDB instance: the data column family, the meta column family that
records the last applied decree, and atomic writes of both.

Layout (as upstream, so checkpoints look like Pegasus's): user records live in the
``default`` column family under their encoded keys; the ``pegasus_meta_cf`` column family
holds ``pegasus_last_flushed_decree`` (decimal ASCII), ``pegasus_data_version`` ("1") and,
after a manual compaction, ``pegasus_last_manual_compact_finish_time``. Every write at a
decree puts the data and the decree in one ``WriteBatch``, so after any crash the data
and ``last_applied_decree()`` agree.

The RocksDB WAL stays on (upstream turns it off and flushes both column families
atomically instead; rocksdict cannot flush several column families as one). With the WAL,
RocksDB's point-in-time recovery replays whole batches only, which keeps data and decree
consistent across a process crash without any flush ordering.

Reads see the latest committed batch; the writes of one replicated mutation gather in a
group (``begin_group``) and see each other before it commits as one batch. A RocksDB
iterator reads the point-in-time view of the moment it was created (an implicit
snapshot), which is what multi_get and scanner contexts rely on. (rocksdict's explicit
``Snapshot.iter`` does not honour its snapshot in 0.3.x, so it is not used.)
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field

from rocksdict import (
    AccessType,
    BottommostLevelCompaction,
    Checkpoint,
    ColumnFamily,
    CompactOptions,
    Options,
    Rdict,
    RdictIter,
    ReadOptions,
    WriteBatch,
    WriteOptions,
)

from pegasus_log.frozen import frozen
from pegasus_log.storage.options import (
    META_COLUMN_FAMILY,
    StorageOptions,
    build_rocksdb_options,
)
from pegasus_log.storage.schema import DATA_VERSION

log = logging.getLogger(__name__)

META_LAST_FLUSHED_DECREE = b"pegasus_last_flushed_decree"
META_DATA_VERSION = b"pegasus_data_version"
META_LAST_MANUAL_COMPACT_FINISH_TIME = b"pegasus_last_manual_compact_finish_time"


class StoreClosedError(RuntimeError):
    """The partition store was closed."""


class StoreWriteError(OSError):
    """RocksDB refused a write (an I/O error, a full disk). The store may be left
    read-only by RocksDB and no longer holds what its caller meant to apply."""


class CorruptMetaError(RuntimeError):
    """The meta column family holds something this engine did not write."""


@frozen
class Put:
    key: bytes
    value: bytes


@frozen
class Delete:
    key: bytes


WriteOp = Put | Delete


@dataclass(slots=True)
class _Group:
    """The writes of one mutation, gathered to be written as one batch: ``overlay`` is
    what they did to each key so far, so a later write of the group reads an earlier one."""

    decree: int
    ops: list[WriteOp] = field(default_factory=list)
    overlay: dict[bytes, bytes | None] = field(default_factory=dict)


def _parse_meta_int(name: bytes, raw: bytes | None) -> int:
    if raw is None:
        return 0
    text = raw.decode("ascii", errors="replace")
    if not text.isdigit():
        raise CorruptMetaError(f"meta {name!r} is {raw!r}, not a decimal integer")
    return int(text)


def stored_decree(path: str | os.PathLike[str]) -> int:
    """The last applied decree of the store at ``path``, read without opening it for
    writing (RocksDB's read-only mode takes no lock: a running server may hold it)."""
    db = Rdict(
        os.fspath(path),
        Options(raw_mode=True),
        column_families={META_COLUMN_FAMILY: Options(raw_mode=True)},
        access_type=AccessType.read_only(),
    )
    try:
        return _parse_meta_int(
            META_LAST_FLUSHED_DECREE,
            db.get_column_family(META_COLUMN_FAMILY).get(META_LAST_FLUSHED_DECREE),
        )
    finally:
        db.close()


# RocksDB's default number of levels; the files of every level are counted, and a manual
# compaction's target level is at most this.
LEVELS = 7


@frozen
class RdbStats:
    sst_bytes: int
    sst_files: int
    memtable_bytes: int
    index_and_filter_bytes: int
    estimated_keys: int
    block_cache_bytes: int


class RocksStore:
    def __init__(self, path: str | os.PathLike[str], options: StorageOptions) -> None:
        self._path = os.fspath(path)
        data_options, cf_options = build_rocksdb_options(options)
        self._write_options = WriteOptions()
        self._write_options.sync = options.sync_writes
        self._db: Rdict | None = Rdict(self._path, data_options, column_families=cf_options)
        self._meta: Rdict | None = self._db.get_column_family(META_COLUMN_FAMILY)
        self._meta_handle: ColumnFamily | None = self._db.get_column_family_handle(
            META_COLUMN_FAMILY
        )
        raw_version = self._meta.get(META_DATA_VERSION)
        if raw_version is None:
            self._meta.put(META_DATA_VERSION, str(DATA_VERSION).encode(), self._write_options)
        elif (version := _parse_meta_int(META_DATA_VERSION, raw_version)) != DATA_VERSION:
            raise CorruptMetaError(f"data version {version}: only version 1 is supported")
        self._last_decree = _parse_meta_int(
            META_LAST_FLUSHED_DECREE, self._meta.get(META_LAST_FLUSHED_DECREE)
        )
        self._group: _Group | None = None
        self._read_options = ReadOptions()

    @property
    def path(self) -> str:
        return self._path

    def _require_db(self) -> Rdict:
        if self._db is None:
            raise StoreClosedError(f"storage at {self._path} is closed")
        return self._db

    # ---- reads ----

    def last_applied_decree(self) -> int:
        return self._last_decree

    def get(self, key: bytes) -> bytes | None:
        raw = self._require_db().get(key)
        assert raw is None or isinstance(raw, bytes)
        return raw

    def get_for_write(self, key: bytes) -> bytes | None:
        """What a write sees: the open group's own value for ``key`` (``begin_group``), else
        the committed one. Reads for clients use ``get`` and never see an open group."""
        if self._group is not None and key in self._group.overlay:
            return self._group.overlay[key]
        return self.get(key)

    def multi_get(self, keys: Sequence[bytes]) -> list[bytes | None]:
        if not keys:
            return []
        raws = self._require_db().get(list(keys))
        assert isinstance(raws, list) and len(raws) == len(keys)
        return raws

    def iterator(self) -> RdictIter:
        """A data iterator over the point-in-time view of now; not positioned yet.

        (No iterate bounds: rocksdict 0.3 keeps a reference to the bound only as long as
        its ReadOptions lives, so callers compare keys themselves.)"""
        return self._require_db().iter(self._read_options)

    def set_fill_cache(self, enabled: bool) -> None:
        """Whether reads put the blocks they read into the block cache (RocksDB's
        ``ReadOptions::fill_cache``, on by default)."""
        options = ReadOptions()
        options.fill_cache(enabled)  # type: ignore[call-arg]  # its stub omits the argument
        self._require_db().set_read_options(options)
        self._read_options = options

    def set_data_options(self, options: dict[str, str]) -> None:
        """Change options of the data column family while it runs (RocksDB's
        ``SetOptions``)."""
        self._require_db().set_options(options)

    def meta_int(self, key: bytes) -> int:
        self._require_db()
        assert self._meta is not None
        return _parse_meta_int(key, self._meta.get(key))

    # ---- writes ----

    def apply(self, decree: int, ops: Sequence[WriteOp]) -> None:
        """Write ``ops`` and ``decree`` as the last applied decree, atomically. ``ops`` may
        be empty: the decree still advances (upstream's "empty put"). Inside a group the
        ops join the group's batch instead, and ``decree`` must be the group's."""
        group = self._group
        if group is not None:
            assert decree == group.decree, (decree, group.decree)
            group.ops.extend(ops)
            for op in ops:
                group.overlay[op.key] = op.value if isinstance(op, Put) else None
            return
        self._write_at(decree, ops)

    def begin_group(self, decree: int) -> None:
        """Gather every ``apply`` at ``decree`` until ``commit_group``: the writes of one
        replicated mutation land in one batch, so a crash keeps all of them or none, and
        the decree advances once."""
        assert self._group is None, "groups do not nest"
        assert decree > self._last_decree, (decree, self._last_decree)
        self._group = _Group(decree)

    def commit_group(self) -> None:
        group = self._group
        assert group is not None
        self._group = None
        self._write_at(group.decree, group.ops)

    def abort_group(self) -> None:
        self._group = None

    def _write_at(self, decree: int, ops: Sequence[WriteOp]) -> None:
        db = self._require_db()
        assert decree > self._last_decree, (decree, self._last_decree)
        assert self._meta_handle is not None
        batch = self._batch(ops)
        batch.put(META_LAST_FLUSHED_DECREE, str(decree).encode(), self._meta_handle)
        try:
            db.write(batch, self._write_options)
        except Exception as e:  # rocksdict raises a bare Exception with RocksDB's status
            raise StoreWriteError(f"write at decree {decree} failed: {e}") from e
        self._last_decree = decree

    def apply_local(self, ops: Sequence[WriteOp]) -> None:
        """Write ``ops`` without a decree: local maintenance (the compaction sweep) that every
        replica does on its own and that the log does not carry."""
        assert self._group is None, "maintenance waits for the open group"
        if ops:
            self._require_db().write(self._batch(ops), self._write_options)

    def put_meta_int(self, key: bytes, value: int) -> None:
        assert key != META_LAST_FLUSHED_DECREE, "the decree moves only with apply()"
        self._require_db()
        assert self._meta is not None
        self._meta.put(key, str(value).encode(), self._write_options)

    @staticmethod
    def _batch(ops: Sequence[WriteOp]) -> WriteBatch:
        batch = WriteBatch(raw_mode=True)
        for op in ops:
            if isinstance(op, Put):
                batch.put(op.key, op.value)
            else:
                batch.delete(op.key)
        return batch

    # ---- maintenance ----

    def checkpoint(self, dest_dir: str | os.PathLike[str]) -> None:
        dest = os.fspath(dest_dir)
        if os.path.exists(dest):
            raise FileExistsError(f"checkpoint destination {dest} already exists")
        Checkpoint(self._require_db()).create_checkpoint(dest)

    def flush(self) -> None:
        """Flush the memtables of both column families to SST files (waits for it)."""
        db = self._require_db()
        assert self._meta is not None
        db.flush(True)
        self._meta.flush(True)

    def compact_range(self, *, target_level: int = -1, bottommost_force: bool = False) -> None:
        """Compact the whole data column family, with RocksDB's ``CompactRangeOptions`` as
        upstream's manual compaction sets them: exclusive, the output moved to
        ``target_level`` (-1: the lowest level it fits), the bottommost level compacted
        again only when ``bottommost_force``."""
        options = CompactOptions()
        options.set_exclusive_manual_compaction(True)
        options.set_change_level(True)
        options.set_target_level(target_level)
        options.set_bottommost_level_compaction(
            BottommostLevelCompaction.force()
            if bottommost_force
            else BottommostLevelCompaction.skip()
        )
        self._require_db().compact_range(None, None, options)

    def cancel_background(self) -> None:
        """Cancel RocksDB's background work and a running ``compact_range`` (it returns
        early), waiting for them to stop. For a close: writes still work after it, but
        no flush or compaction runs again, and the close that follows logs RocksDB's
        "Shutdown in progress" (the WAL keeps every write)."""
        db = self._db
        if db is not None:
            db.cancel_all_background(True)

    def stats(self) -> RdbStats:
        """What RocksDB reports of the data column family now (upstream's ``rdb_*``
        replica metrics): SST files and their bytes, memtables, index and filter blocks,
        the estimated number of keys, the block cache in use (the partition's own)."""
        db = self._require_db()

        def prop(name: str) -> int:
            return db.property_int_value(name) or 0

        return RdbStats(
            sst_bytes=prop("rocksdb.live-sst-files-size"),
            sst_files=sum(prop(f"rocksdb.num-files-at-level{n}") for n in range(LEVELS)),
            memtable_bytes=prop("rocksdb.cur-size-all-mem-tables"),
            index_and_filter_bytes=prop("rocksdb.estimate-table-readers-mem"),
            estimated_keys=prop("rocksdb.estimate-num-keys"),
            block_cache_bytes=prop("rocksdb.block-cache-usage"),
        )

    def close(self) -> None:
        """Close the database. Callers drop their iterators first."""
        db = self._db
        if db is None:
            return
        self._meta = None
        self._meta_handle = None
        self._db = None
        try:
            db.close()
        except Exception as e:  # rocksdict raises a bare Exception with RocksDB's status
            # Closing flushes the memtables; on a full or failing disk that fails. Nothing
            # is lost: every write in them is in the WAL, which the next open replays.
            log.warning("closing %s: %s", self._path, e)

    @property
    def closed(self) -> bool:
        return self._db is None
