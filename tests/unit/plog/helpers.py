"""Mutations, strategies and small drivers shared by the plog tests."""

from __future__ import annotations

from collections.abc import Iterable

from hypothesis import strategies as st

from pegasus_log.replica.plog import (
    FileLogDisk,
    LogDisk,
    MemoryLogDisk,
    Mutation,
    MutationLog,
    MutationUpdate,
    PlogConfig,
)
from pegasus_log.rpc.thrift import Gpid

INT64_MAX = (1 << 63) - 1

# Small bounds so that tests roll segments and fill queues quickly.
SMALL = PlogConfig(
    segment_bytes_max=16 * 1024,
    block_bytes_max=4096,
    pending_bytes_max=8192,
    pending_mutations_max=64,
    append_waiters_max=8,
)


def mutation(
    decree: int, *, app: int = 1, pidx: int = 0, ballot: int = 1, size: int = 16
) -> Mutation:
    return Mutation(
        gpid=Gpid(app, pidx),
        ballot=ballot,
        decree=decree,
        last_committed_decree=decree - 1,
        timestamp_us=1_700_000_000_000_000 + decree,
        updates=(MutationUpdate("RPC_RRDB_RRDB_PUT", bytes([decree % 251]) * size),),
    )


@st.composite
def mutations(draw: st.DrawFn) -> Mutation:
    decree = draw(st.integers(1, INT64_MAX))
    return Mutation(
        gpid=Gpid(
            draw(st.integers(-(1 << 31), (1 << 31) - 1)), draw(st.integers(0, (1 << 31) - 1))
        ),
        ballot=draw(st.integers(1, INT64_MAX)),
        decree=decree,
        last_committed_decree=draw(st.integers(0, decree - 1)),
        timestamp_us=draw(st.integers(0, INT64_MAX)),
        updates=tuple(
            draw(
                st.lists(
                    st.builds(MutationUpdate, st.text(max_size=40), st.binary(max_size=200)),
                    max_size=5,
                )
            )
        ),
    )


def replay(
    disk: LogDisk, config: PlogConfig = SMALL, *, force: bool = False
) -> tuple[MutationLog, list[Mutation]]:
    seen: list[Mutation] = []
    log = MutationLog.open(disk, config, on_replay=seen.append, force=force)
    return log, seen


def decrees(ms: Iterable[Mutation]) -> list[int]:
    return [m.decree for m in ms]


def disk_copy(disk: LogDisk, files: dict[str, bytes]) -> LogDisk:
    """A disk of the same kind as ``disk`` holding exactly ``files``."""
    if isinstance(disk, MemoryLogDisk):
        return MemoryLogDisk(files)
    assert isinstance(disk, FileLogDisk)
    for p in disk.directory.iterdir():
        p.unlink()
    for name, data in files.items():
        (disk.directory / name).write_bytes(data)
    return disk


def snapshot(disk: LogDisk) -> dict[str, bytes]:
    return {name: disk.read(name) for name in disk.list_names()}
