"""The directories of one partition replica on disk, and the file work on them.

Under the server's data directory, for partition ``<app>.<index>``:

- ``<app>.<index>.pegasus``: the RocksDB of the partition (``PartitionStore``);
- ``<app>.<index>.checkpoints/checkpoint.<decree>``: its latest local checkpoint, whose
  decree is the partition's durable decree (``log_gc.py`` says why);
- ``<app>.<index>.fetch``: a checkpoint being fetched from a primary (learning);
- ``<app>.<index>.restore``: the local checkpoint being copied back into place;
- ``<app>.<index>.pegasus.old``: the replaced store, for the moment of a swap.

Every function here blocks (file system calls); the runtime runs them on worker threads,
or inline where it already opens RocksDB inline (hosting a partition).

Replacing a store is atomic across crashes: the new directory is complete and fsync'd
before the swap; the swap is ``store -> store.old``, ``new -> store``, each rename made
durable with an fsync of the data directory. ``settle`` (at open) finishes or undoes a
swap a crash cut short: a store missing beside a ``.old`` gets the ``.old`` back (the
fetch is lost and learning starts again), a ``.old`` beside a store goes.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable
from pathlib import Path

from pegasus_log.frozen import frozen
from pegasus_log.storage.engine import PartitionStore

CHECKPOINT_PREFIX = "checkpoint."
# The one file kind RocksDB never changes once written: safe to hard-link, not copy.
_IMMUTABLE_SUFFIX = ".sst"


@frozen
class PartitionDirs:
    data_dir: Path
    app_id: int
    partition_index: int

    def _named(self, suffix: str) -> Path:
        return self.data_dir / f"{self.app_id}.{self.partition_index}.{suffix}"

    @property
    def store(self) -> Path:
        return self._named("pegasus")

    @property
    def old(self) -> Path:
        return self._named("pegasus.old")

    @property
    def fetch(self) -> Path:
        return self._named("fetch")

    @property
    def restore(self) -> Path:
        return self._named("restore")

    @property
    def checkpoints(self) -> Path:
        return self._named("checkpoints")


def checkpoint_decrees(names: Iterable[str]) -> list[int]:
    """The decrees of ``checkpoint.<decree>`` names, ascending; other names are ignored."""
    out = []
    for name in names:
        rest = name.removeprefix(CHECKPOINT_PREFIX)
        if rest != name and rest.isdigit() and rest.isascii():
            out.append(int(rest))
    return sorted(out)


def latest_checkpoint_decree(dirs: PartitionDirs) -> int:
    """The decree of the partition's latest local checkpoint (0: none)."""
    try:
        names = os.listdir(dirs.checkpoints)
    except FileNotFoundError:
        return 0
    decrees = checkpoint_decrees(names)
    return decrees[-1] if decrees else 0


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_file_durably(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` so that after a crash it holds the old bytes or the
    new ones, never a mix: write a temporary file, fsync it, rename it over ``path``,
    fsync the directory."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    fsync_dir(path.parent)


def fsync_tree(path: Path) -> None:
    """fsync every regular file directly under ``path``, then ``path`` itself."""
    for entry in os.scandir(path):
        if entry.is_file(follow_symlinks=False):
            fd = os.open(entry.path, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
    fsync_dir(path)


def take_local_checkpoint(store: PartitionStore, dirs: PartitionDirs) -> int:
    """Checkpoint ``store`` durably as ``checkpoint.<decree>``, drop older ones, and
    return the decree. A checkpoint of that decree already there is kept as it is."""
    dirs.checkpoints.mkdir(exist_ok=True)
    tmp = dirs.checkpoints / "tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    decree = store.checkpoint(tmp)
    final = dirs.checkpoints / f"{CHECKPOINT_PREFIX}{decree}"
    if final.exists():
        shutil.rmtree(tmp)
    else:
        fsync_tree(tmp)
        os.rename(tmp, final)
        fsync_dir(dirs.checkpoints)
    for older in checkpoint_decrees(os.listdir(dirs.checkpoints)):
        if older < decree:
            shutil.rmtree(dirs.checkpoints / f"{CHECKPOINT_PREFIX}{older}")
    return decree


def settle(dirs: PartitionDirs) -> None:
    """Before opening the store: finish or undo a swap a crash interrupted and remove
    half-made directories (module docstring)."""
    if not dirs.store.exists() and dirs.old.exists():
        os.rename(dirs.old, dirs.store)
        fsync_dir(dirs.data_dir)
    for leftover in (dirs.old, dirs.fetch, dirs.restore, dirs.checkpoints / "tmp"):
        shutil.rmtree(leftover, ignore_errors=True)


def replace_store(dirs: PartitionDirs, new: Path) -> None:
    """Make the complete, fsync'd directory ``new`` the partition's store (the store must
    be closed). Atomic across crashes with ``settle``."""
    if dirs.store.exists():
        shutil.rmtree(dirs.old, ignore_errors=True)
        os.rename(dirs.store, dirs.old)
        fsync_dir(dirs.data_dir)
    os.rename(new, dirs.store)
    fsync_dir(dirs.data_dir)
    shutil.rmtree(dirs.old, ignore_errors=True)


def restore_from_checkpoint(dirs: PartitionDirs, decree: int) -> None:
    """Put a copy of local checkpoint ``decree`` in place of the (closed) store: the
    machine lost applied writes the checkpoint holds. SST files are hard-linked (RocksDB
    never rewrites one), the rest copied, since RocksDB writes to them when it opens."""
    source = dirs.checkpoints / f"{CHECKPOINT_PREFIX}{decree}"
    shutil.rmtree(dirs.restore, ignore_errors=True)
    dirs.restore.mkdir()
    for entry in os.scandir(source):
        target = dirs.restore / entry.name
        if entry.name.endswith(_IMMUTABLE_SUFFIX):
            os.link(entry.path, target)
        else:
            shutil.copy2(entry.path, target)
    fsync_tree(dirs.restore)
    replace_store(dirs, dirs.restore)
