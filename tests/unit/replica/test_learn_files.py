"""Checkpoint files served by a replica server and fetched by a learner, over real
loopback sockets: a whole fetch, and the requests a primary refuses."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from pegasus_log.replica.learn_files import (
    LEARN_FILES,
    LEARN_READ,
    LEARN_RELEASE,
    CheckpointShelf,
    FetchError,
    FetchLimits,
    LearnFilesRequest,
    LearnReadRequest,
    ShelfFullError,
    fetch_checkpoint,
    plain_name,
)
from pegasus_log.replica.runtime import ReplicaServer
from pegasus_log.replica.stub import StubOptions
from pegasus_log.rpc.error_code import ErrorCode
from pegasus_log.rpc.frame import FrameLimits
from pegasus_log.rpc.thrift import RpcAddress
from pegasus_log.transport.connection import CallFailed, Connection
from pegasus_log.transport.server import RpcServer
from tests.unit.storage.helpers import Client, FakeClock, open_store

CHUNK = 16 << 10
LIMITS = FetchLimits(chunk_bytes=CHUNK, files_max=1000, bytes_max=1 << 30, timeout_s=5.0)


@dataclass
class Primary:
    server: ReplicaServer
    conn: Connection
    handle: str
    decree: int
    files: dict[str, int]


def run(test: Callable[[Primary, Path], Coroutine[Any, Any, None]], tmp_path: Path) -> None:
    async def main() -> None:
        async for primary in _primary(tmp_path):
            await test(primary, tmp_path)

    asyncio.run(main())


async def _primary(tmp_path: Path) -> AsyncIterator[Primary]:
    """A replica server (its real RPC table) with one learn checkpoint on its shelf."""
    server = ReplicaServer(
        data_dir=tmp_path / "primary",
        address=RpcAddress.parse("127.0.0.1:1"),
        options=StubOptions(),
    )
    await server.open()
    clock = FakeClock()
    store = open_store(tmp_path / "db", clock)
    writer = Client(store, clock)
    rng = random.Random(1)
    for i in range(300):  # 600 KiB that do not compress: an SST of many chunks
        writer.set(b"h%d" % i, b"s", bytes([i % 256]) * 8 + rng.randbytes(2000))
    shelf = server._learning.shelf
    handle, path = shelf.reserve(1, 0)
    decree = store.checkpoint(path)
    store.close()
    files = CheckpointShelf.scan(path)
    shelf.publish(handle, decree, files)
    rpc = RpcServer(rpcs=server.handlers(), limits=FrameLimits(), name="primary")
    port = await rpc.start("127.0.0.1", 0)
    conn = Connection("127.0.0.1", port)
    try:
        yield Primary(server, conn, handle, decree, files)
    finally:
        await conn.close()
        await rpc.stop()
        await server.close()


def test_a_learner_fetches_a_whole_checkpoint_and_reads_it(tmp_path: Path) -> None:
    async def check(p: Primary, tmp: Path) -> None:
        chunks: list[int] = []
        result = await fetch_checkpoint(
            p.conn, p.handle, tmp / "fetched", LIMITS, on_chunk=chunks.append
        )
        assert result.decree == p.decree == 300
        assert result.files == len(p.files) and result.bytes == sum(p.files.values())
        assert max(chunks) <= CHUNK and sum(chunks) == result.bytes
        assert len(chunks) > len(p.files)  # some file took several chunks
        for name, size in p.files.items():
            assert (tmp / "fetched" / name).stat().st_size == size
        store = open_store(tmp / "fetched", FakeClock())
        try:
            assert store.last_applied_decree() == 300
            assert store.get(_key(b"h299")).value[:8] == bytes([299 % 256]) * 8
        finally:
            store.close()
        # released: the primary deletes it at once
        await p.conn.call(LEARN_RELEASE, LearnFilesRequest(p.handle), timeout_s=5.0)
        await asyncio.sleep(0.05)
        with pytest.raises(CallFailed) as e:
            await p.conn.call(LEARN_FILES, LearnFilesRequest(p.handle), timeout_s=5.0)
        assert e.value.code == ErrorCode.ERR_OBJECT_NOT_FOUND

    run(check, tmp_path)


def _key(hash_key: bytes) -> bytes:
    from pegasus_log.storage.schema import encode_key

    return encode_key(hash_key, b"s")


@pytest.mark.parametrize(
    ("request_of", "code"),
    [
        (lambda h, f: LearnReadRequest("1.0.1.nope", f, 0, 10), ErrorCode.ERR_OBJECT_NOT_FOUND),
        (lambda h, f: LearnReadRequest(h, "../" + f, 0, 10), ErrorCode.ERR_OBJECT_NOT_FOUND),
        (lambda h, f: LearnReadRequest(h, "/etc/passwd", 0, 10), ErrorCode.ERR_OBJECT_NOT_FOUND),
        (lambda h, f: LearnReadRequest(h, "", 0, 10), ErrorCode.ERR_OBJECT_NOT_FOUND),
        (lambda h, f: LearnReadRequest(h, f, 1 << 62, 10), ErrorCode.ERR_INVALID_PARAMETERS),
        (lambda h, f: LearnReadRequest(h, f, -1, 10), ErrorCode.ERR_INVALID_PARAMETERS),
        (lambda h, f: LearnReadRequest(h, f, 0, -5), ErrorCode.ERR_INVALID_PARAMETERS),
    ],
)
def test_bad_file_requests_get_a_clear_error_and_cost_nothing(
    tmp_path: Path, request_of: Callable[[str, str], LearnReadRequest], code: ErrorCode
) -> None:
    async def check(p: Primary, tmp: Path) -> None:
        name = max(p.files, key=lambda n: p.files[n])
        with pytest.raises(CallFailed) as e:
            await p.conn.call(LEARN_READ, request_of(p.handle, name), timeout_s=5.0)
        assert e.value.code == code
        # the server, the connection and the checkpoint are all still fine
        listing = await p.conn.call(LEARN_FILES, LearnFilesRequest(p.handle), timeout_s=5.0)
        assert {f.name: f.size for f in listing.files} == p.files

    run(check, tmp_path)


def test_a_huge_length_is_cut_to_the_chunk_limit(tmp_path: Path) -> None:
    async def check(p: Primary, tmp: Path) -> None:
        name = max(p.files, key=lambda n: p.files[n])
        assert p.files[name] > 500 << 10
        reply = await p.conn.call(
            LEARN_READ, LearnReadRequest(p.handle, name, 0, 1 << 40), timeout_s=5.0
        )
        assert len(reply.data) == min(p.files[name], 1 << 20)
        assert reply.file_size == p.files[name]
        # reading at the very end is allowed and empty
        end = await p.conn.call(
            LEARN_READ, LearnReadRequest(p.handle, name, p.files[name], 10), timeout_s=5.0
        )
        assert end.data == b""

    run(check, tmp_path)


def test_an_unknown_checkpoint_fails_the_fetch_and_leaves_nothing(tmp_path: Path) -> None:
    async def check(p: Primary, tmp: Path) -> None:
        with pytest.raises(FetchError):
            await fetch_checkpoint(p.conn, "1.0.9.deadbeef", tmp / "fetched", LIMITS)
        assert not (tmp / "fetched").exists()

    run(check, tmp_path)


def test_plain_names_only() -> None:
    assert plain_name("000012.sst") and plain_name("MANIFEST-000005")
    for bad in ("", ".", "..", "a/b", "../a", "/abs", "a\\b", "a\x00b", "x" * 256):
        assert not plain_name(bad)


def test_the_shelf_deletes_idle_checkpoints_and_bounds_their_number(tmp_path: Path) -> None:
    clock = FakeClock()
    shelf = CheckpointShelf(
        tmp_path / "shelf", chunk_bytes_max=CHUNK, keep_s=300.0, count_max=2, clock=clock
    )
    shelf.reset()
    made = []
    for _ in range(2):
        handle, path = shelf.reserve(1, 0)
        path.mkdir()
        (path / "CURRENT").write_bytes(b"x")
        shelf.publish(handle, 5, CheckpointShelf.scan(path))
        made.append((handle, path))
    with pytest.raises(ShelfFullError):
        shelf.reserve(1, 0)
    clock.advance(200.0)
    shelf.listing(LearnFilesRequest(made[1][0]))  # used: its idle time starts again
    clock.advance(150.0)
    assert shelf.expire() == [made[0][0]]
    assert not made[0][1].exists() and made[1][1].exists()
    assert len(shelf) == 1
    shelf.reserve(1, 0)  # room again
    clock.advance(301.0)
    assert len(shelf.expire()) == 2 and len(shelf) == 0 and not made[1][1].exists()


def test_a_release_sent_just_before_closing_the_connection_arrives(tmp_path: Path) -> None:
    """The learner releases and closes at once: the one-way frame must not be left in the
    connection's outbox for a later loop pass that finds the socket closed."""

    async def check(p: Primary, tmp: Path) -> None:
        conn = Connection(p.conn.host, p.conn.port)
        await conn.call(LEARN_FILES, LearnFilesRequest(p.handle), timeout_s=5.0)
        await conn.call(LEARN_RELEASE, LearnFilesRequest(p.handle), timeout_s=5.0)
        await conn.close()
        for _ in range(100):
            if len(p.server._learning.shelf) == 0:
                break
            await asyncio.sleep(0.01)
        assert len(p.server._learning.shelf) == 0

    run(check, tmp_path)
