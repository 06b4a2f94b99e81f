"""Request and reply framing: both header versions, streaming, and bad input."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs

from pegasus_log.rpc import messages as m
from pegasus_log.rpc.frame import (
    FrameError,
    FrameLimits,
    ReplyFramer,
    RequestFramer,
    encode_reply,
    encode_request,
    read_args,
    read_args_encoded,
    read_call_header,
    read_result,
)
from pegasus_log.rpc.thrift import (
    DecodeLimits,
    MessageType,
    Reader,
    ThriftDecodeError,
    decode,
    encode,
    read_message_begin,
    write_message_begin,
)

LIMITS = FrameLimits()


def _get(seqid: int = 7) -> bytes:
    return encode_request(
        spec=m.RRDB_GET,
        seqid=seqid,
        arg=b"\x00\x01hs",
        app_id=2,
        partition_index=3,
        timeout_ms=1000,
        partition_hash=0xFFFF_FFFF_FFFF_FFF0,
    )


def _v1(body: bytes, meta: m.RequestMetaV1) -> bytes:
    raw_meta = encode(m.RequestMetaV1, meta)
    return b"THFT" + struct.pack(">III", 1, len(raw_meta), len(body)) + raw_meta + body


def test_v0_request_header_fields() -> None:
    (req,) = RequestFramer(LIMITS).feed(_get())
    h = req.header
    assert (h.version, h.app_id, h.partition_index, h.client_timeout_ms) == (0, 2, 3, 1000)
    assert h.thread_hash == 2 * 7919 + 3
    assert h.partition_hash == 0xFFFF_FFFF_FFFF_FFF0
    call, r = read_call_header(req.body, DecodeLimits())
    assert (call.name, call.mtype, call.seqid) == ("RPC_RRDB_RRDB_GET", MessageType.CALL, 7)
    assert read_args(m.RRDB_GET, r) == b"\x00\x01hs"


def test_v1_request_header_fields() -> None:
    body = _get()[48:]
    frame = _v1(
        body,
        m.RequestMetaV1(
            app_id=5,
            partition_index=1,
            client_timeout=9,
            client_partition_hash=-1,
            is_backup_request=True,
        ),
    )
    (req,) = RequestFramer(LIMITS).feed(frame)
    h = req.header
    assert (h.version, h.app_id, h.partition_index, h.client_timeout_ms) == (1, 5, 1, 9)
    assert h.partition_hash == 2**64 - 1 and h.is_backup_request
    assert req.body == body


def test_a_backup_request_goes_in_a_v1_header() -> None:
    frame = encode_request(
        spec=m.RRDB_GET,
        seqid=7,
        arg=b"\x00\x01hs",
        app_id=2,
        partition_index=3,
        timeout_ms=1000,
        partition_hash=0xFFFF_FFFF_FFFF_FFF0,
        backup_request=True,
    )
    (req,) = RequestFramer(LIMITS).feed(frame)
    (plain,) = RequestFramer(LIMITS).feed(_get())
    assert req.header.version == 1 and req.header.is_backup_request
    assert req.header == plain.header.__class__(
        1, 2, 3, 1000, plain.header.thread_hash, plain.header.partition_hash, True
    )
    assert req.body == plain.body


@settings(max_examples=50)
@given(cuts=hs.lists(hs.integers(0, 200), max_size=6))
def test_frames_arrive_in_any_pieces(cuts: list[int]) -> None:
    stream = _get(1) + _v1(_get(2)[48:], m.RequestMetaV1(app_id=1)) + _get(3)
    framer = RequestFramer(LIMITS)
    got = []
    pos = 0
    for c in [*sorted(set(cuts)), len(stream)]:
        got += framer.feed(stream[pos:c])
        pos = max(pos, c)
    seqids = [read_call_header(r.body, DecodeLimits())[0].seqid for r in got]
    assert seqids == [1, 2, 3]


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (b"HTTP/1.1 GET /", "bad magic"),
        (b"THFT" + struct.pack(">I", 7) + b"\0" * 40, "unknown header version"),
        (b"THFT" + struct.pack(">II", 0, 47) + b"\0" * 40, "header length"),
        (b"THFT" + struct.pack(">IIII", 0, 48, 0, 1 << 30) + b"\0" * 32, "over the"),
        (b"THFT" + struct.pack(">III", 1, 1 << 20, 10), "request meta"),
    ],
)
def test_bad_frames_are_refused(frame: bytes, message: str) -> None:
    with pytest.raises(FrameError, match=message):
        RequestFramer(LIMITS).feed(frame)


def test_garbage_v1_meta_is_refused() -> None:
    frame = b"THFT" + struct.pack(">III", 1, 3, 0) + b"\x0c\x00\x01"
    with pytest.raises(FrameError, match="v1 request meta"):
        RequestFramer(LIMITS).feed(frame)


@settings(max_examples=300)
@given(junk=hs.binary(max_size=300))
def test_random_bytes_never_crash_the_framer(junk: bytes) -> None:
    framer = RequestFramer(FrameLimits(max_body_bytes=1 << 12))
    try:
        for req in framer.feed(b"THFT" + junk):
            try:
                _call, r = read_call_header(req.body, DecodeLimits())
                read_args(m.RRDB_MULTI_GET, r)
            except ThriftDecodeError:
                pass
    except FrameError:
        pass


def test_reply_frames_carry_the_result_only_on_ok() -> None:
    ok = encode_reply(
        error_name="ERR_OK", spec=m.RRDB_TTL, seqid=4, result=m.TtlResponse(ttl_seconds=9)
    )
    err = encode_reply(error_name="ERR_TIMEOUT", spec=m.RRDB_TTL, seqid=5, result=None)
    assert struct.unpack(">i", ok[:4])[0] == len(ok)
    replies = ReplyFramer(LIMITS).feed(ok[:3]) + ReplyFramer(LIMITS).feed(b"")
    assert replies == []
    framer = ReplyFramer(LIMITS)
    first, second = framer.feed(ok + err)
    assert (first.error_name, first.name, first.seqid) == ("ERR_OK", "RPC_RRDB_RRDB_TTL_ACK", 4)
    assert read_result(m.RRDB_TTL, first.reader).ttl_seconds == 9
    assert (second.error_name, second.seqid) == ("ERR_TIMEOUT", 5)
    assert second.reader.pos == second.reader.end


def test_reply_length_out_of_bounds() -> None:
    with pytest.raises(FrameError):
        ReplyFramer(LIMITS).feed(struct.pack(">i", 2))


def _put_body(args: bytes) -> bytes:
    out = bytearray()
    write_message_begin(out, m.RRDB_PUT.name, MessageType.CALL, 9)
    return bytes(out) + args


@settings(max_examples=50, deadline=None)
@given(key=hs.binary(max_size=30), value=hs.binary(max_size=30), ttl=hs.integers(0, 2**31 - 1))
def test_a_write_argument_comes_with_its_encoding(key: bytes, value: bytes, ttl: int) -> None:
    request = m.UpdateRequest(key=key, value=value, expire_ts_seconds=ttl)
    inner = encode(m.UpdateRequest, request)
    # an unknown field before and after the argument: skipped, and not in the encoding
    extra = b"\x08\x00\x07" + struct.pack(">i", 5)
    args = extra + b"\x0c\x00\x01" + inner + extra + b"\x00"
    _, r = read_call_header(_put_body(args), LIMITS.decode)
    value_read, encoded = read_args_encoded(m.RRDB_PUT, r)
    assert value_read == request
    assert encoded == inner
    assert decode(m.UpdateRequest, encoded) == request


def test_a_write_argument_missing_is_refused() -> None:
    _, r = read_call_header(_put_body(b"\x00"), LIMITS.decode)
    with pytest.raises(ThriftDecodeError, match="field 1 missing"):
        read_args_encoded(m.RRDB_PUT, r)


@settings(max_examples=30, deadline=None)
@given(first=hs.binary(max_size=20), last=hs.binary(max_size=20))
def test_the_argument_alone_and_the_argument_repeated(first: bytes, last: bytes) -> None:
    one = m.UpdateRequest(key=first, value=b"v1", expire_ts_seconds=1)
    two = m.UpdateRequest(key=last, value=b"v2", expire_ts_seconds=2)
    field = [b"\x0c\x00\x01" + encode(m.UpdateRequest, x) for x in (one, two)]
    _, r = read_call_header(_put_body(field[0] + b"\x00"), LIMITS.decode)
    assert read_args_encoded(m.RRDB_PUT, r) == (one, field[0][3:])
    assert (r.pos, r.end, r.depth) == (len(r.buf), len(r.buf), 0)
    # sent twice: the last one wins, as thrift readers do
    _, r = read_call_header(_put_body(field[0] + field[1] + b"\x00"), LIMITS.decode)
    assert read_args_encoded(m.RRDB_PUT, r) == (two, field[1][3:])
    # no STOP after the argument: truncated
    _, r = read_call_header(_put_body(field[0]), LIMITS.decode)
    with pytest.raises(ThriftDecodeError, match="truncated"):
        read_args_encoded(m.RRDB_PUT, r)


def _begin(raw: bytes) -> tuple[str, int, int]:
    return read_message_begin(Reader(raw, DecodeLimits(max_string_bytes=64)))


def test_message_headers_strict_old_style_and_bad() -> None:
    out = bytearray()
    write_message_begin(out, "RPC_CM_QUERY", MessageType.ONEWAY, 3)
    assert _begin(bytes(out)) == ("RPC_CM_QUERY", MessageType.ONEWAY, 3)
    old_style = struct.pack(">i", 5) + b"RPC_X" + bytes([1]) + struct.pack(">i", 8)
    assert _begin(old_style) == ("RPC_X", MessageType.CALL, 8)
    bad_version = struct.pack(">ii", -0x7FFE0000 | 1, 1) + b"X" + struct.pack(">i", 1)
    with pytest.raises(ThriftDecodeError, match="version"):
        _begin(bad_version)
    not_utf8 = struct.pack(">ii", -0x7FFF0000 | 1, 2) + b"\xff\xfe" + struct.pack(">i", 1)
    with pytest.raises(ThriftDecodeError, match="utf-8"):
        _begin(not_utf8)
    too_long = struct.pack(">ii", -0x7FFF0000 | 1, 65) + b"x" * 65 + struct.pack(">i", 1)
    with pytest.raises(ThriftDecodeError, match="string length"):
        _begin(too_long)
    with pytest.raises(ThriftDecodeError, match="truncated"):
        _begin(bytes(out)[:-1])
