"""Framing of the Pegasus client protocol.

Requests start with "THFT" and a header version:
- v0: 48 bytes: "THFT", version 0, header length 48, header crc, body length, body crc,
  app_id, partition_index, client timeout (ms), thread hash, u64 partition hash.
- v1: 16 bytes: "THFT", version 1, meta length, body length; then a thrift
  ``RequestMetaV1`` struct of meta length bytes; then the body.
The body is a thrift binary message (CALL or ONEWAY) whose args struct has field 1.

Replies: i32 total length (including itself), the error name as a thrift string, a REPLY
message header named ``<request>_ACK`` with the request's seqid, then, only when the error
is ERR_OK, the result struct ``{field 0: response}``.

``RequestFramer`` and ``ReplyFramer`` cut frames out of a byte stream; every length is
checked against a limit before anything is buffered for it. Pure: bytes in, frames out.
"""

from __future__ import annotations

import struct
from typing import Any

from pegasus_log.frozen import frozen
from pegasus_log.rpc.messages import RequestMetaV1, RpcSpec
from pegasus_log.rpc.thrift import (
    DecodeLimits,
    MessageType,
    Reader,
    ThriftDecodeError,
    TType,
    _signed64,
    decode,
    decoder_for,
    encode,
    encoder_for,
    read_message_begin,
    wire_type,
    write_message_begin,
)

MAGIC = b"THFT"
HEADER_V0_BYTES = 48
HEADER_V1_BYTES = 16
_V0 = struct.Struct(">4sIIIIIiiIiQ")
_V1 = struct.Struct(">4sIII")
_U32 = struct.Struct(">I")
_I32 = struct.Struct(">i")


class FrameError(ValueError):
    """The stream is not a valid Pegasus frame; the connection cannot be resynchronised."""


@frozen
class FrameLimits:
    """Bounds on one frame. Defaults: a write is refused above 1 MiB of payload
    (ERR_INVALID_DATA), and batch requests carry a few of those, so 16 MiB per frame is
    generous; v1 request metas are tens of bytes, 4 KiB bounds them."""

    max_body_bytes: int = 16 << 20
    max_meta_bytes: int = 4 << 10
    decode: DecodeLimits = DecodeLimits()


@frozen
class RequestHeader:
    version: int
    app_id: int
    partition_index: int
    client_timeout_ms: int
    thread_hash: int
    partition_hash: int
    is_backup_request: bool = False


@frozen
class Request:
    header: RequestHeader
    body: bytes


@frozen
class CallHeader:
    name: str
    mtype: int
    seqid: int


class RequestFramer:
    """Accumulates bytes from one connection and yields complete requests."""

    def __init__(self, limits: FrameLimits) -> None:
        self._limits = limits
        self._buf = bytearray()

    def feed(self, data: bytes) -> list[Request]:
        self._buf += data
        out: list[Request] = []
        while True:
            req = self._next()
            if req is None:
                return out
            out.append(req)

    def _next(self) -> Request | None:
        buf = self._buf
        if len(buf) < 8:
            return None
        if buf[:4] != MAGIC:
            raise FrameError(f"bad magic {bytes(buf[:4])!r}, expected b'THFT'")
        version = _U32.unpack_from(buf, 4)[0]
        if version == 0:
            return self._next_v0()
        if version == 1:
            return self._next_v1()
        raise FrameError(f"unknown header version {version}")

    def _check_body(self, body_len: int) -> None:
        if body_len > self._limits.max_body_bytes:
            raise FrameError(
                f"body of {body_len} bytes over the {self._limits.max_body_bytes} limit"
            )

    def _next_v0(self) -> Request | None:
        buf = self._buf
        if len(buf) < HEADER_V0_BYTES:
            return None
        (_, _, hdr_len, _, body_len, _, app_id, pidx, timeout, thash, phash) = _V0.unpack_from(buf)
        if hdr_len != HEADER_V0_BYTES:
            raise FrameError(f"header length {hdr_len}, expected {HEADER_V0_BYTES}")
        self._check_body(body_len)
        end = HEADER_V0_BYTES + body_len
        if len(buf) < end:
            return None
        body = bytes(buf[HEADER_V0_BYTES:end])
        del buf[:end]
        return Request(RequestHeader(0, app_id, pidx, timeout, thash, phash), body)

    def _next_v1(self) -> Request | None:
        buf = self._buf
        if len(buf) < HEADER_V1_BYTES:
            return None
        _, _, meta_len, body_len = _V1.unpack_from(buf)
        if meta_len > self._limits.max_meta_bytes:
            raise FrameError(f"request meta of {meta_len} bytes over the limit")
        self._check_body(body_len)
        end = HEADER_V1_BYTES + meta_len + body_len
        if len(buf) < end:
            return None
        meta_raw = bytes(buf[HEADER_V1_BYTES : HEADER_V1_BYTES + meta_len])
        body = bytes(buf[HEADER_V1_BYTES + meta_len : end])
        del buf[:end]
        try:
            meta: RequestMetaV1 = decode(RequestMetaV1, meta_raw, self._limits.decode)
        except ThriftDecodeError as e:
            raise FrameError(f"bad v1 request meta: {e}") from None
        app_id = meta.app_id or 0
        pidx = meta.partition_index or 0
        header = RequestHeader(
            version=1,
            app_id=app_id,
            partition_index=pidx,
            client_timeout_ms=meta.client_timeout or 0,
            thread_hash=app_id * 7919 + pidx,
            partition_hash=(meta.client_partition_hash or 0) & 0xFFFFFFFFFFFFFFFF,
            is_backup_request=bool(meta.is_backup_request),
        )
        return Request(header, body)


def read_call_header(body: bytes, limits: DecodeLimits) -> tuple[CallHeader, Reader]:
    """Parse the message header of a request body; the reader is left at the args."""
    r = Reader(body, limits)
    name, mtype, seqid = read_message_begin(r)
    return CallHeader(name, mtype, seqid), r


def read_args(spec: RpcSpec, r: Reader) -> Any:
    """Decode the args struct of a request: the value of field 1, typed by ``spec.arg``."""
    return _read_single_field(r, field_id=1, spec=spec.arg, what=f"{spec.name}: argument")


def read_args_encoded(spec: RpcSpec, r: Reader) -> tuple[Any, bytes]:
    """As ``read_args``, with the argument's own encoding as it came (the bytes of field
    1's value): what ``encode(spec.arg, value)`` would give, up to field order and fields
    this decoder skips, and decoding to the same value."""
    value, start, end = _read_field_span(
        r, field_id=1, spec=spec.arg, what=f"{spec.name}: argument"
    )
    return value, r.buf[start:end]


def _read_single_field(r: Reader, *, field_id: int, spec: Any, what: str) -> Any:
    """The value of one field of a struct, typed by ``spec``; other fields are skipped."""
    return _read_field_span(r, field_id=field_id, spec=spec, what=what)[0]


_FIELD_ID = struct.Struct(">h")
# type spec -> its wire type, as an int (asked for every request's argument)
_wire_types: dict[Any, int] = {}


def _read_field_span(r: Reader, *, field_id: int, spec: Any, what: str) -> tuple[Any, int, int]:
    """The value of one field of a struct and where its encoding starts and ends in the
    buffer (the last occurrence wins, as thrift readers do)."""
    want = _wire_types.get(spec)
    if want is None:
        want = _wire_types[spec] = int(wire_type(spec))
    dec = decoder_for(spec)
    # The usual shape, read without the loop below: the field, then STOP. Anything else
    # (another field, a repeated one, a missing STOP) is read again from the start the
    # general way, which gives the same value or the same error.
    buf, p, depth = r.buf, r.pos, r.depth
    if (
        p + 3 <= r.end
        and buf[p] == want
        and _FIELD_ID.unpack_from(buf, p + 1)[0] == field_id
        and depth < r.limits.max_depth
    ):
        r.pos, r.depth = p + 3, depth + 1
        value = dec(r)
        end = r.pos
        if end < r.end and buf[end] == 0:
            r.pos, r.depth = end + 1, depth
            return value, p + 3, end
        r.pos, r.depth = p, depth
    value = None
    start = end = 0
    r.enter()
    while True:
        t, fid = r.field_header()
        if t == 0:  # STOP
            break
        if fid == field_id and t == want:
            start = r.pos
            value = dec(r)
            end = r.pos
        else:
            r.skip(t)
    r.leave()
    if value is None:
        raise ThriftDecodeError(f"{what} field {field_id} missing")
    return value, start, end


def encode_reply(*, error_name: str, spec: RpcSpec, seqid: int, result: Any) -> bytes:
    """A whole reply frame; the result is only written when the error is ERR_OK."""
    out = bytearray(b"\0\0\0\0")
    body = encode("string", error_name)
    out += body
    write_message_begin(out, spec.ack_name, MessageType.REPLY, seqid)
    if error_name == "ERR_OK" and spec.result is not None:
        out += struct.pack(">bh", int(wire_type(spec.result)), 0)
        encoder_for(spec.result)(out, result)
        out.append(TType.STOP)
    _I32.pack_into(out, 0, len(out))
    return bytes(out)


def encode_error_reply(*, error_name: str, ack_name: str, seqid: int) -> bytes:
    """A reply carrying only an error, for requests whose RPC we could not resolve."""
    out = bytearray(b"\0\0\0\0")
    out += encode("string", error_name)
    write_message_begin(out, ack_name, MessageType.REPLY, seqid)
    _I32.pack_into(out, 0, len(out))
    return bytes(out)


# ---- the client side -------------------------------------------------------------------


def encode_request(
    *,
    spec: RpcSpec,
    seqid: int,
    arg: Any,
    app_id: int = 0,
    partition_index: int = 0,
    timeout_ms: int = 0,
    partition_hash: int = 0,
    backup_request: bool = False,
) -> bytes:
    """A v0 request frame, as the official clients send them; a v1 frame for a backup
    request (only v1 can say so)."""
    body = bytearray()
    mtype = MessageType.ONEWAY if spec.oneway else MessageType.CALL
    write_message_begin(body, spec.name, mtype, seqid)
    body += struct.pack(">bh", int(wire_type(spec.arg)), 1)
    encoder_for(spec.arg)(body, arg)
    body.append(TType.STOP)
    if backup_request:
        meta = encode(
            RequestMetaV1,
            RequestMetaV1(
                app_id=app_id,
                partition_index=partition_index,
                client_timeout=min(timeout_ms, 0x7FFFFFFF),
                client_partition_hash=_signed64(partition_hash & 0xFFFFFFFFFFFFFFFF),
                is_backup_request=True,
            ),
        )
        return _V1.pack(MAGIC, 1, len(meta), len(body)) + meta + bytes(body)
    header = _V0.pack(
        MAGIC,
        0,
        HEADER_V0_BYTES,
        0,
        len(body),
        0,
        app_id,
        partition_index,
        timeout_ms & 0xFFFFFFFF,
        app_id * 7919 + partition_index,
        partition_hash & 0xFFFFFFFFFFFFFFFF,
    )
    return header + bytes(body)


@frozen
class Reply:
    error_name: str
    name: str
    seqid: int
    reader: Reader


class ReplyFramer:
    """Cuts reply frames out of the byte stream of one client connection."""

    def __init__(self, limits: FrameLimits) -> None:
        self._limits = limits
        self._buf = bytearray()

    def feed(self, data: bytes) -> list[Reply]:
        self._buf += data
        out: list[Reply] = []
        while len(self._buf) >= 4:
            total = _I32.unpack_from(self._buf)[0]
            if total < 4 or total - 4 > self._limits.max_body_bytes:
                raise FrameError(f"reply length {total} out of bounds")
            if len(self._buf) < total:
                break
            frame = bytes(self._buf[4:total])
            del self._buf[:total]
            r = Reader(frame, self._limits.decode)
            error_name = r.string()
            name, _, seqid = read_message_begin(r)
            out.append(Reply(error_name, name, seqid, r))
        return out


def read_result(spec: RpcSpec, r: Reader) -> Any:
    """Decode the result struct of a successful reply: the value of field 0."""
    assert spec.result is not None
    return _read_single_field(r, field_id=0, spec=spec.result, what=f"{spec.ack_name}: result")
