"""An asyncio server for the Pegasus framing, shared by replica and meta servers.

Each connection reads frames with ``RequestFramer``, resolves the RPC by name and hands
the decoded argument to a handler; replies are written as they complete, possibly out of
order (clients match them by seqid). Bad input costs only the offending connection:
- a frame that cannot be cut (bad magic, lengths over the limit) closes that connection;
- an unknown RPC name is answered ERR_HANDLER_NOT_FOUND;
- undecodable arguments are answered ERR_INVALID_DATA;
- a handler raising ``RpcError`` is answered with its error name.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
import urllib.parse
from collections.abc import Awaitable, Callable, Mapping
from functools import partial
from typing import Any, cast

from prometheus_client import CONTENT_TYPE_LATEST

from pegasus_log.frozen import frozen
from pegasus_log.observability.metrics import ServerMetrics
from pegasus_log.promise import Promise
from pegasus_log.rpc.error_code import ErrorCode
from pegasus_log.rpc.frame import (
    FrameError,
    FrameLimits,
    Request,
    RequestFramer,
    RequestHeader,
    encode_error_reply,
    encode_reply,
    read_args,
    read_args_encoded,
    read_call_header,
)
from pegasus_log.rpc.messages import RpcSpec
from pegasus_log.rpc.thrift import MessageType, ThriftDecodeError
from pegasus_log.transport.outbox import Outbox

log = logging.getLogger(__name__)

# A connection reads what the transport hands it (asyncio reads up to 256 KiB at a time);
# frames larger than one read are assembled by the framer (bounded by FrameLimits).
# A connection whose first bytes are an HTTP method is served as HTTP (GET /metrics); its
# request head is bounded like any frame.
_HTTP_METHODS = (b"GET ", b"HEAD")
# A page's query string is cut to this many fields (a head is at most 8 KiB anyway).
_HTTP_QUERY_FIELDS_MAX = 32
_HTTP_REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found"}
_HTTP_HEAD_BYTES_MAX = 8 << 10
# Requests in flight per connection before reading pauses: back-pressure for pipelining
# clients. The Go client keeps a few hundred in flight at most.
_MAX_IN_FLIGHT_PER_CONNECTION = 1024


class RpcError(Exception):
    """Raised by a handler to answer with an error name and no result."""

    def __init__(self, code: ErrorCode, detail: str = "") -> None:
        super().__init__(f"{code.name}: {detail}" if detail else code.name)
        self.code = code


class NoReply(Exception):
    """Raised by a handler (or set on its future) to send nothing back: the client times
    out (upstream's answer to a denied request or a rejected backup request)."""


@frozen
class Call:
    """What a handler sees of one request."""

    spec: RpcSpec
    header: RequestHeader
    seqid: int
    arg: Any
    peer: str
    body_bytes: int
    # Writes only: the argument's encoding as it came (``read_args_encoded``), so a
    # server that stores the request does not encode it again.
    arg_encoded: bytes = b""


@frozen
class _Waiting:
    """A call whose handler returned a future or a promise: answered from its callback,
    without a task of its own (from inside ``set_result`` for a promise)."""

    call: Call
    future: asyncio.Future[Any] | Promise[Any]
    started: int


# A page of the HTTP service: the query's fields in, (status code, body text) out.
HttpPage = Callable[[dict[str, str]], tuple[int, str]]

# A handler returns the result, or an awaitable of it when the answer must wait (a write
# waiting for replication). Reads answer inline, without the cost of a task.
Handler = Callable[[Call], Any]


class RpcServer:
    """Serves a fixed table of RPCs on one TCP port."""

    def __init__(
        self,
        *,
        rpcs: Mapping[str, tuple[RpcSpec, Handler]],
        limits: FrameLimits,
        name: str,
        metrics: ServerMetrics | None = None,
        http_pages: Mapping[str, HttpPage] | None = None,
    ) -> None:
        """``http_pages``: path -> page, served to plain HTTP GETs on the port beside
        ``/metrics`` (upstream's replica and meta HTTP services live on their RPC ports
        too)."""
        self._metrics = metrics
        self._http_pages = dict(http_pages or {})
        self._rpcs = dict(rpcs)
        self._limits = limits
        self._name = name
        self._server: asyncio.Server | None = None
        self._connections: set[_ServerConnection] = set()
        self.frames_refused = 0

    async def start(self, host: str, port: int) -> int:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(lambda: _ServerConnection(self), host, port)
        sock = self._server.sockets[0]
        return int(sock.getsockname()[1])

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for conn in list(self._connections):
            conn.close()
        if self._server is not None:
            await self._server.wait_closed()

    def _answered(
        self, waiting: _Waiting, future: asyncio.Future[Any] | Promise[Any]
    ) -> bytes | None:
        """The reply frame of a call whose future is done, or None to send nothing."""
        if future.cancelled():
            return None
        call, error = waiting.call, future.exception()
        if isinstance(error, NoReply):
            return None
        if error is None:
            self._observe(call, "ERR_OK", waiting.started)
            return self._ok(call, future.result())
        if isinstance(error, RpcError):
            self._observe(call, error.code.name, waiting.started)
            return self._error(call.spec, call.seqid, error.code)
        log.error("%s: %s failed", self._name, call.spec.name, exc_info=error)
        return None

    def _answer(self, req: Request, peer: str) -> bytes | _Waiting | Awaitable[bytes | None] | None:
        """The reply frame, or an awaitable of it, or None when nothing is to be sent."""
        try:
            call_header, r = read_call_header(req.body, self._limits.decode)
        except ThriftDecodeError as e:
            # No seqid to answer to: the client cannot match a reply, so log and drop.
            log.warning("%s: undecodable message header from %s: %s", self._name, peer, e)
            return None
        oneway = call_header.mtype == MessageType.ONEWAY
        found = self._rpcs.get(call_header.name)
        if found is None:
            log.info("%s: unknown rpc %r from %s", self._name, call_header.name, peer)
            if oneway:
                return None
            return encode_error_reply(
                error_name=ErrorCode.ERR_HANDLER_NOT_FOUND.name,
                ack_name=call_header.name + "_ACK",
                seqid=call_header.seqid,
            )
        spec, handler = found
        encoded = b""
        try:
            if spec.is_write:
                arg, encoded = read_args_encoded(spec, r)
            else:
                arg = read_args(spec, r)
        except ThriftDecodeError as e:
            log.info("%s: bad %s arguments from %s: %s", self._name, spec.name, peer, e)
            return self._error(spec, call_header.seqid, ErrorCode.ERR_INVALID_DATA)
        call = Call(spec, req.header, call_header.seqid, arg, peer, len(req.body), encoded)
        started = time.perf_counter_ns()
        try:
            result = handler(call)
        except RpcError as e:
            self._observe(call, e.code.name, started)
            return self._error(spec, call.seqid, e.code)
        except NoReply:
            return None
        if isinstance(result, asyncio.Future | Promise):
            return _Waiting(call, result, started)
        if result is not None and inspect.isawaitable(result):
            return self._await_result(call, result, started)
        self._observe(call, "ERR_OK", started)
        return self._ok(call, result)

    async def _await_result(self, call: Call, result: Awaitable[Any], started: int) -> bytes | None:
        try:
            value = await result
        except RpcError as e:
            self._observe(call, e.code.name, started)
            return self._error(call.spec, call.seqid, e.code)
        except NoReply:
            return None
        self._observe(call, "ERR_OK", started)
        return self._ok(call, value)

    def _observe(self, call: Call, error: str, started: int) -> None:
        if self._metrics is not None:
            header = call.header
            self._metrics.on_request(
                call.spec.name,
                error,
                time.perf_counter_ns() - started,
                (header.app_id, header.partition_index),
            )

    def _http_response(self, head: bytes) -> bytes:
        """The answer to a plain HTTP/1.x GET on the RPC port: /metrics, a page of
        ``http_pages``, else 404."""
        parts = head.split(b" ", 2)
        target = parts[1].decode("latin-1") if len(parts) > 1 else ""
        url = urllib.parse.urlsplit(target)
        page = self._http_pages.get(url.path)
        if url.path == "/metrics" and self._metrics is not None:
            status, ctype, body = 200, CONTENT_TYPE_LATEST.encode(), self._metrics.exposition()
        elif page is not None:
            try:
                fields = urllib.parse.parse_qsl(url.query, max_num_fields=_HTTP_QUERY_FIELDS_MAX)
            except ValueError:
                status, text = 400, f"more than {_HTTP_QUERY_FIELDS_MAX} query fields"
            else:
                status, text = page(dict(fields))
            ctype, body = b"text/plain; charset=utf-8", text.encode()
        else:
            status, ctype, body = 404, b"text/plain", b"not found\n"
        return (
            f"HTTP/1.1 {status} {_HTTP_REASONS.get(status, '')}".encode()
            + b"\r\nContent-Type: "
            + ctype
            + b"\r\nContent-Length: "
            + str(len(body)).encode()
            + b"\r\nConnection: close\r\n\r\n"
            + body
        )

    @staticmethod
    def _ok(call: Call, result: Any) -> bytes | None:
        if call.spec.oneway:
            return None
        return encode_reply(error_name="ERR_OK", spec=call.spec, seqid=call.seqid, result=result)

    @staticmethod
    def _error(spec: RpcSpec, seqid: int, code: ErrorCode) -> bytes | None:
        if spec.oneway:
            return None
        return encode_error_reply(error_name=code.name, ack_name=spec.ack_name, seqid=seqid)


def _peer_name(transport: asyncio.BaseTransport) -> str:
    info = transport.get_extra_info("peername")
    if isinstance(info, tuple) and len(info) >= 2:
        return f"{info[0]}:{info[1]}"
    return str(info)


class _ServerConnection(asyncio.Protocol):
    """One client connection, driven by the transport's callbacks: each read is framed
    and answered in the same callback (no reader task to wake, so a request is handled in
    the loop pass its bytes arrive in). Back-pressure: reading pauses while
    ``_MAX_IN_FLIGHT_PER_CONNECTION`` requests await their answers, or while the
    transport's send buffer is over its high-water mark."""

    def __init__(self, server: RpcServer) -> None:
        self._server = server
        self._framer = RequestFramer(server._limits)
        self._transport: asyncio.Transport | None = None
        self._outbox: Outbox | None = None
        self._peer = ""
        self._first = True
        self._http_head: bytearray | None = None
        self._in_flight = 0
        self._send_blocked = False
        self._reading = True
        self._tasks: set[asyncio.Task[None]] = set()

    # ---- transport callbacks ----

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # asyncio's or uvloop's TCP transport (uvloop's does not subclass asyncio's)
        self._transport = cast(asyncio.Transport, transport)
        self._outbox = Outbox(self._transport)
        self._peer = _peer_name(transport)
        self._server._connections.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        if exc is not None:
            log.debug("%s: connection %s lost: %s", self._server._name, self._peer, exc)
        self._server._connections.discard(self)
        for t in self._tasks:
            t.cancel()

    def pause_writing(self) -> None:
        self._send_blocked = True
        self._update_reading()

    def resume_writing(self) -> None:
        self._send_blocked = False
        self._update_reading()

    def data_received(self, data: bytes) -> None:
        transport, server = self._transport, self._server
        assert transport is not None and self._outbox is not None
        if self._http_head is not None or (self._first and data[:4] in _HTTP_METHODS):
            self._http(data)
            return
        self._first = False
        try:
            requests = self._framer.feed(data)
        except FrameError as e:
            server.frames_refused += 1
            log.warning("%s: closing %s: %s", server._name, self._peer, e)
            self.close()
            return
        # Replies answered inline are sent with one write per read: one send syscall
        # for a whole pipelined batch instead of one per request.
        ready: list[bytes] = []
        for req in requests:
            pending = server._answer(req, self._peer)
            if isinstance(pending, bytes):
                ready.append(pending)
            elif isinstance(pending, _Waiting):
                self._in_flight += 1
                pending.future.add_done_callback(partial(self._on_answered, pending))
            elif pending is not None:
                self._in_flight += 1
                task = asyncio.ensure_future(self._finish(pending))
                self._tasks.add(task)
                task.add_done_callback(self._task_done)
        if ready and not transport.is_closing():
            transport.write(b"".join(ready))
        self._update_reading()

    # ---- answers ----

    def _on_answered(self, waiting: _Waiting, future: asyncio.Future[Any] | Promise[Any]) -> None:
        self._in_flight -= 1
        reply = self._server._answered(waiting, future)
        if reply is not None and self._outbox is not None:
            self._outbox.put(reply)
        self._update_reading()

    async def _finish(self, pending: Awaitable[bytes | None]) -> None:
        reply = await pending
        if reply is not None and self._outbox is not None:
            self._outbox.put(reply)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._in_flight -= 1
        if not task.cancelled() and task.exception() is not None:
            error = task.exception()
            log.error("%s: a handler failed", self._server._name, exc_info=error)
        self._update_reading()

    def _update_reading(self) -> None:
        transport = self._transport
        if transport is None or transport.is_closing():
            return
        want = not self._send_blocked and self._in_flight < _MAX_IN_FLIGHT_PER_CONNECTION
        if want != self._reading:
            self._reading = want
            if want:
                transport.resume_reading()
            else:
                transport.pause_reading()

    def _http(self, data: bytes) -> None:
        """A plain HTTP/1.x request on the RPC port: gather its head, answer, close."""
        assert self._transport is not None
        self._first = False
        head = self._http_head = (self._http_head or bytearray()) + data
        if b"\r\n\r\n" not in head and len(head) < _HTTP_HEAD_BYTES_MAX:
            return
        self._transport.write(self._server._http_response(bytes(head)))
        self.close()

    def close(self) -> None:
        if self._outbox is not None:
            self._outbox.flush_now()
        if self._transport is not None:
            self._transport.close()
