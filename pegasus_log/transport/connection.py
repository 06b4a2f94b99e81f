"""An asyncio client connection speaking the Pegasus framing to one server.

Requests are pipelined; replies are matched to their requests by seqid, in any order.
A lost connection fails every pending call with ERR_NETWORK_FAILURE; the next call
reconnects.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from typing import Any

from pegasus_log.rpc.error_code import ErrorCode, error_from_name
from pegasus_log.rpc.frame import (
    FrameError,
    FrameLimits,
    Reply,
    ReplyFramer,
    encode_request,
    read_result,
)
from pegasus_log.rpc.messages import RpcSpec
from pegasus_log.rpc.thrift import ThriftDecodeError
from pegasus_log.transport.faults import NETWORK
from pegasus_log.transport.outbox import Outbox

log = logging.getLogger(__name__)

# Seconds to wait for a TCP connect before giving up on a server for this call.
_CONNECT_TIMEOUT_S = 3.0
_READ_CHUNK_BYTES = 256 << 10


class CallFailed(Exception):
    """A call that got no result: an error name from the server, a timeout, or a lost
    connection.

    ``unanswered``: the request was sent and no answer came (a timeout, or the
    connection ended first), so the server may have acted on it. False when the server
    answered with an error, or when the request never left (no connection).
    """

    def __init__(self, code: ErrorCode, detail: str = "", *, unanswered: bool = False) -> None:
        super().__init__(f"{code.name}: {detail}" if detail else code.name)
        self.code = code
        self.unanswered = unanswered


class Connection:
    def __init__(self, host: str, port: int, *, limits: FrameLimits | None = None) -> None:
        self.host = host
        self.port = port
        self.address = f"{host}:{port}"
        self._limits = limits or FrameLimits()
        self._seq = itertools.count(1)
        self._pending: dict[int, tuple[RpcSpec, asyncio.Future[Any]]] = {}
        self._writer: asyncio.StreamWriter | None = None
        self._outbox: Outbox | None = None
        self._reader_task: asyncio.Task[None] | None = None
        self._connecting: asyncio.Lock | None = None

    async def _ensure(self) -> asyncio.StreamWriter:
        if self._writer is not None and not self._writer.is_closing():
            return self._writer
        if self._connecting is None:
            self._connecting = asyncio.Lock()
        async with self._connecting:
            if self._writer is not None and not self._writer.is_closing():
                return self._writer
            try:
                reader, writer = await asyncio.wait_for(
                    asyncio.open_connection(self.host, self.port), _CONNECT_TIMEOUT_S
                )
            except (OSError, TimeoutError) as e:
                raise CallFailed(ErrorCode.ERR_NETWORK_FAILURE, f"{self.address}: {e}") from None
            self._writer = writer
            self._outbox = Outbox(writer)
            # Each TCP connection has its own pending table, so a late end of an old
            # connection cannot fail calls sent on its successor.
            self._pending = {}
            self._reader_task = asyncio.create_task(self._read_loop(reader, writer, self._pending))
            return writer

    def post(self, spec: RpcSpec, arg: Any, *, timeout_s: float) -> bool:
        """Send a one-way request now, without a task, if the connection is up (True);
        False when it is not, and then ``call`` connects and sends it."""
        assert spec.oneway
        if NETWORK.blocked(self.address):
            return True  # lost on the way (faults.py)
        writer, outbox = self._writer, self._outbox
        if writer is None or outbox is None or writer.is_closing():
            return False
        outbox.put(self._frame(spec, arg, timeout_s, 0, 0, 0)[1])
        return True

    def _frame(
        self,
        spec: RpcSpec,
        arg: Any,
        timeout_s: float,
        app_id: int,
        partition_index: int,
        partition_hash: int,
        backup_request: bool = False,
    ) -> tuple[int, bytes]:
        seqid = next(self._seq) & 0x7FFFFFFF
        frame = encode_request(
            spec=spec,
            seqid=seqid,
            arg=arg,
            app_id=app_id,
            partition_index=partition_index,
            timeout_ms=int(timeout_s * 1000),
            partition_hash=partition_hash,
            backup_request=backup_request,
        )
        return seqid, frame

    async def call(
        self,
        spec: RpcSpec,
        arg: Any,
        *,
        timeout_s: float,
        app_id: int = 0,
        partition_index: int = 0,
        partition_hash: int = 0,
        backup_request: bool = False,
    ) -> Any:
        """Send one request and wait for its result (None for a one-way RPC). A backup
        request is a read a secondary may answer from its own, possibly older, state."""
        if NETWORK.blocked(self.address):
            return await self._lost(spec, timeout_s)
        await self._ensure()
        outbox = self._outbox
        assert outbox is not None
        seqid, frame = self._frame(
            spec, arg, timeout_s, app_id, partition_index, partition_hash, backup_request
        )
        if spec.oneway:
            outbox.put(frame)
            return None
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        pending = self._pending
        pending[seqid] = (spec, fut)
        outbox.put(frame)
        try:
            return await asyncio.wait_for(fut, timeout_s)
        except TimeoutError:
            raise CallFailed(
                ErrorCode.ERR_TIMEOUT, f"{spec.name} to {self.address}", unanswered=True
            ) from None
        finally:
            pending.pop(seqid, None)

    async def _lost(self, spec: RpcSpec, timeout_s: float) -> None:
        """What a call sees when the network drops it (faults.py): a one-way request is
        gone; a call hears nothing until its timeout."""
        if spec.oneway:
            return None
        await asyncio.sleep(timeout_s)
        raise CallFailed(
            ErrorCode.ERR_TIMEOUT, f"{spec.name} to {self.address} (blocked)", unanswered=True
        )

    async def _read_loop(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        pending: dict[int, tuple[RpcSpec, asyncio.Future[Any]]],
    ) -> None:
        framer = ReplyFramer(self._limits)
        reason = "closed by server"
        try:
            while True:
                data = await reader.read(_READ_CHUNK_BYTES)
                if not data:
                    break
                for reply in framer.feed(data):
                    self._deliver(pending, reply)
        except (FrameError, ThriftDecodeError, ConnectionError, OSError) as e:
            reason = str(e)
        finally:
            writer.close()
            if self._writer is writer:
                self._writer = None
                self._outbox = None
            _fail_all(pending, f"{self.address}: {reason}")

    def _deliver(
        self, pending: dict[int, tuple[RpcSpec, asyncio.Future[Any]]], reply: Reply
    ) -> None:
        if NETWORK.blocked(self.address):
            return  # dropped on the way: the caller times out (faults.py)
        entry = pending.pop(reply.seqid, None)
        if entry is None:
            return  # the caller timed out already
        spec, fut = entry
        if fut.done():
            return
        if reply.error_name != "ERR_OK":
            code = error_from_name(reply.error_name)
            fut.set_exception(CallFailed(code, f"from {self.address}"))
            return
        try:
            fut.set_result(read_result(spec, reply.reader))
        except ThriftDecodeError as e:
            fut.set_exception(CallFailed(ErrorCode.ERR_INVALID_DATA, str(e)))

    async def close(self) -> None:
        if self._outbox is not None:
            self._outbox.flush_now()  # one-way frames of this pass still go out
        if self._writer is not None:
            self._writer.close()
        if self._reader_task is not None:
            self._reader_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reader_task
        self._writer = None
        self._outbox = None
        self._reader_task = None


def _fail_all(pending: dict[int, tuple[RpcSpec, asyncio.Future[Any]]], reason: str) -> None:
    calls = list(pending.values())
    pending.clear()
    for _, fut in calls:
        if not fut.done():
            fut.set_exception(CallFailed(ErrorCode.ERR_NETWORK_FAILURE, reason, unanswered=True))
