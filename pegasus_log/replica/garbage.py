"""Garbage replicas: a replica server closes the replicas the meta no longer needs, moves
their data aside, and deletes it later (upstream's replica_stub gc and disk cleaner).

A replica removed from its group (REMOVE after a balancer copy, or by the cure) goes
INACTIVE and would otherwise stay open with its data for good. The rule, in two steps:

1. Close and move aside. The meta names, in each config sync's ``gc_replicas``, the
   stored replicas of this server it has no use for (``meta/core/guardian.garbage``: a
   whole group without this server). A named replica is closed once it has been named in
   every sync for ``close_delay_s`` (upstream keeps a closed replica in memory 10 minutes,
   ``gc_memory_replica_interval_ms``, for a quick return), and only while this server's
   latest configuration of the partition does not name it and it is not a learner in
   progress (POTENTIAL_SECONDARY) nor a primary or secondary, nor busy with its
   directories (a local checkpoint or a checkpoint install under way: the next sync tries
   again). Its store ``<app>.<index>.pegasus`` is renamed
   ``<app>.<index>.pegasus.<time_us>.gar`` (upstream's name), and so are its local
   checkpoints (``<app>.<index>.checkpoints``); its ballot and table record files and any
   half-done fetch, restore or swap directory are deleted. It is no longer stored, so no
   longer reported, and its records in the mutation log may be collected
   (``GarbageCollector.collected``).
   Which replicas were collected, with the last decree each logged, is kept in
   ``<data>/garbage_replicas`` (written durably on every change) until the log has
   removed all their records: after a restart the log still knows those records can go
   (without it they would hold every segment they are in for good).
2. Delete. A ``.gar`` directory is deleted ``remove_delay_s`` after the time in its name
   (upstream ``gc_disk_garbage_replica_interval_seconds``, one day), for an operator who
   wants it back; deleting runs on a worker thread (``GarbageCollector.sweep``).

``GarbageRule`` decides (pure: what the meta named, the hosted replicas and a clock
reading in, the replicas to close out); ``GarbageDirs`` does the file work.
"""

from __future__ import annotations

import logging
import shutil
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from pegasus_log.frozen import frozen
from pegasus_log.replica.store_dirs import write_file_durably
from pegasus_log.rpc.admin import PartitionStatus, ReplicaInfo

log = logging.getLogger(__name__)

GAR_SUFFIX = ".gar"
# As ``replica.stub.GaugeRows`` (which imports this module for its options).
GaugeRows = tuple[str, str, list[str], list[tuple[list[str], float]]]


@frozen
class GarbageOptions:
    # Upstream gc_memory_replica_interval_ms = 10 min: a replica the meta no longer lists
    # stays open that long, in case it is wanted back.
    close_delay_s: float = 600.0
    # Upstream gc_disk_garbage_replica_interval_seconds = 1 day.
    remove_delay_s: float = 24 * 3600.0


@frozen
class Hosted:
    """What the rule needs of a hosted replica."""

    status: PartitionStatus
    # the server's latest configuration of the partition names it (primary or secondary)
    member: bool
    # its directories are being worked on (local checkpoint, checkpoint install)
    busy: bool = False


# Statuses a replica may be closed in: out of every group, not learning.
_CLOSABLE = frozenset({PartitionStatus.PS_INACTIVE, PartitionStatus.PS_ERROR})


@dataclass(slots=True)
class GarbageRule:
    options: GarbageOptions
    # gpid -> when the meta first named it, in the run of syncs that named it since
    _named_since: dict[tuple[int, int], float] = field(default_factory=dict)

    def on_sync(
        self,
        named: Iterable[tuple[int, int]],
        *,
        hosted: Mapping[tuple[int, int], Hosted],
        stored: Iterable[tuple[int, int]],
        now: float,
    ) -> list[tuple[int, int]]:
        """The replicas to close and move aside now, after a config sync whose
        gc_replicas were ``named``. A replica not named in a sync starts over."""
        on_disk = set(stored) | set(hosted)
        current = {g for g in named if g in on_disk}
        self._named_since = {g: self._named_since.get(g, now) for g in current}
        out = []
        for gpid, since in sorted(self._named_since.items()):
            view = hosted.get(gpid)
            if view is not None and (view.member or view.status not in _CLOSABLE):
                del self._named_since[gpid]  # wanted again, or learning: start over
                continue
            if view is not None and view.busy:
                continue  # keeps its turn: closed at a sync once idle
            if now - since >= self.options.close_delay_s:
                out.append(gpid)
        for gpid in out:
            del self._named_since[gpid]
        return out


def garbage_name(store_dir: str, now_us: int) -> str:
    return f"{store_dir}.{now_us}{GAR_SUFFIX}"


def garbage_time_us(name: str) -> int | None:
    """The time in a ``.gar`` directory's name (microseconds), or None if it has none."""
    if not name.endswith(GAR_SUFFIX):
        return None
    stamp = name[: -len(GAR_SUFFIX)].rsplit(".", 1)
    if len(stamp) != 2 or not stamp[1].isdigit():
        return None
    return int(stamp[1])


def expired(names: Iterable[str], *, now_us: int, remove_delay_s: float) -> list[str]:
    """The ``.gar`` names whose time is ``remove_delay_s`` or more in the past."""
    out = []
    for name in names:
        stamp = garbage_time_us(name)
        if stamp is not None and now_us - stamp >= remove_delay_s * 1e6:
            out.append(name)
    return sorted(out)


class GarbageDirs:
    """The file side: move a replica's data aside, delete old garbage, count both."""

    def __init__(self, data_dir: Path, options: GarbageOptions) -> None:
        self._data_dir = data_dir
        self.options = options
        self.moved = 0  # replicas moved aside since start (upstream moved_garbage_replicas)
        self.removed = 0

    def move_aside(self, gpid: tuple[int, int], *, now_us: int) -> None:
        """Rename the store and its local checkpoints ``*.<now_us>.gar``; delete the
        ballot and table record files and what a fetch, restore or swap left
        (``store_dirs.py``). The store goes first: once it is gone the replica is no
        longer stored here."""
        prefix = f"{gpid[0]}.{gpid[1]}."
        moved = []
        for kept in ("pegasus", "checkpoints"):
            src = self._data_dir / (prefix + kept)
            if src.exists():
                src.rename(self._data_dir / garbage_name(src.name, now_us))
                moved.append(src.name)
        for transient in ("pegasus.old", "fetch", "restore"):
            shutil.rmtree(self._data_dir / (prefix + transient), ignore_errors=True)
        for record in ("ballot", "app-info"):
            (self._data_dir / (prefix + record)).unlink(missing_ok=True)
        if moved:
            self.moved += 1
            log.info("replica %d.%d moved aside as garbage: %s", gpid[0], gpid[1], moved)

    def names(self) -> list[str]:
        return sorted(p.name for p in self._data_dir.glob(f"*{GAR_SUFFIX}") if p.is_dir())

    def sweep(self, *, now_us: int) -> None:
        """Delete the garbage directories past ``remove_delay_s`` (blocking)."""
        for name in expired(
            self.names(), now_us=now_us, remove_delay_s=self.options.remove_delay_s
        ):
            shutil.rmtree(self._data_dir / name, ignore_errors=True)
            self.removed += 1
            log.info("garbage %s deleted", name)


COLLECTED_FILE = "garbage_replicas"
# Lines of the file read at start; a server collects a few replicas per rebalance and
# forgets each once the log has dropped its records, so this is far above real use.
COLLECTED_LINES_MAX = 100_000


def read_collected(path: Path) -> dict[tuple[int, int], int]:
    """The collected replicas kept in ``path`` (``<app>.<index> <decree>`` per line); a
    missing file is none, a line that does not parse is skipped with a warning (its
    records then stay in the log, as they would without the file)."""
    try:
        text = path.read_text(errors="replace")
    except FileNotFoundError:
        return {}
    out: dict[tuple[int, int], int] = {}
    for number, line in enumerate(text.splitlines()[:COLLECTED_LINES_MAX], 1):
        gpid, _, decree = line.partition(" ")
        app, _, index = gpid.partition(".")
        if not all(part.isascii() and part.isdigit() for part in (app, index, decree)):
            log.warning("%s line %d unreadable, skipped: %r", path, number, line[:80])
            continue
        out[(int(app), int(index))] = int(decree)
    return out


class GarbageCollector:
    """``GarbageRule`` and ``GarbageDirs`` for a replica server. ``close`` unhosts a
    replica and answers the last decree it logged; ``collected`` keeps it per collected
    replica, so its records in the server's mutation log may go while the partition is
    not hosted here again."""

    def __init__(
        self,
        data_dir: Path,
        options: GarbageOptions,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self._rule = GarbageRule(options)
        self._dirs = GarbageDirs(data_dir, options)
        self._clock = clock
        self._wall = wall_clock
        self._sweeping = threading.Lock()
        self._collected_path = data_dir / COLLECTED_FILE
        self.collected: dict[tuple[int, int], int] = read_collected(self._collected_path)

    def on_sync(
        self,
        named: Iterable[ReplicaInfo],
        *,
        hosted: Mapping[tuple[int, int], Hosted],
        stored: Iterable[tuple[int, int]],
        close: Callable[[tuple[int, int]], int],
    ) -> None:
        """Close and move aside what the rule says (quick: renames only)."""
        gpids = [(r.pid.app_id, r.pid.partition_index) for r in named]
        now_us = int(self._wall() * 1e6)
        for gpid in self._rule.on_sync(gpids, hosted=hosted, stored=stored, now=self._clock()):
            self.collected[gpid] = close(gpid)
            self._save_collected()
            self._dirs.move_aside(gpid, now_us=now_us)

    def forget(self, gpids: Iterable[tuple[int, int]]) -> None:
        """The log holds no more records of ``gpids`` (blocking: writes the file)."""
        for gpid in gpids:
            self.collected.pop(gpid, None)
        self._save_collected()

    def _save_collected(self) -> None:
        lines = "".join(f"{a}.{i} {d}\n" for (a, i), d in sorted(self.collected.items()))
        try:
            write_file_durably(self._collected_path, lines.encode())
        except OSError as e:  # a full disk: only a restart's log collection loses out
            log.warning("could not save %s: %s", self._collected_path, e)

    def sweep(self) -> None:
        """Delete expired garbage (blocking: run it on a worker thread); one at a time."""
        if not self._sweeping.acquire(blocking=False):
            return
        try:
            self._dirs.sweep(now_us=int(self._wall() * 1e6))
        finally:
            self._sweeping.release()

    def metric_rows(self) -> list[GaugeRows]:
        dirs = self._dirs
        return [
            (
                "replica_garbage_dirs",
                "garbage replica dirs (*.gar)",
                [],
                [([], float(len(dirs.names())))],
            ),
            (
                "moved_garbage_replicas",
                "replicas moved aside as garbage since start",
                [],
                [([], float(dirs.moved))],
            ),
            (
                "removed_garbage_replicas",
                "garbage replica dirs deleted since start",
                [],
                [([], float(dirs.removed))],
            ),
        ]
