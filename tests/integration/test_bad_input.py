"""Bad input over real sockets: the offending connection gets a clear error or is closed,
every other connection keeps being served, and no data is lost."""

from __future__ import annotations

import random
import struct
from collections.abc import Iterator
from typing import Any

import pytest

from pegasus_log.rpc import messages as m
from pegasus_log.rpc.frame import encode_request, read_result
from pegasus_log.rpc.thrift import MessageType, write_message_begin
from pegasus_log.storage.keyhash import partition_hash
from pegasus_log.storage.schema import encode_key
from tests.cluster import StaticCluster
from tests.integration.helpers import RawConn

pytestmark = pytest.mark.integration

APP_ID, COUNT = 1, 8  # table temp


def _route(hash_key: bytes, sort_key: bytes = b"") -> dict[str, Any]:
    h = partition_hash(hash_key, sort_key)
    return {"app_id": APP_ID, "partition_index": h % COUNT, "partition_hash": h}


def _put(seqid: int, hk: bytes, value: bytes) -> bytes:
    req = m.UpdateRequest(key=encode_key(hk, b"s"), value=value)
    return encode_request(spec=m.RRDB_PUT, seqid=seqid, arg=req, **_route(hk, b"s"))


def _get(seqid: int, hk: bytes) -> bytes:
    return encode_request(
        spec=m.RRDB_GET, seqid=seqid, arg=encode_key(hk, b"s"), **_route(hk, b"s")
    )


def _custom_body_frame(name: str, args: bytes, seqid: int = 1) -> bytes:
    body = bytearray()
    write_message_begin(body, name, MessageType.CALL, seqid)
    body += args
    header = struct.pack(">4sIIIIIiiIiQ", b"THFT", 0, 48, 0, len(body), 0, APP_ID, 0, 0, 0, 0)
    return header + bytes(body)


@pytest.fixture
def good(cluster: StaticCluster) -> Iterator[RawConn]:
    conn = RawConn(cluster.replica)
    conn.send(_put(1, b"bad-input-witness", b"kept"))
    assert conn.reply().error_name == "ERR_OK"
    yield conn
    conn.close()


def _still_serving(conn: RawConn, seqid: int) -> None:
    conn.send(_get(seqid, b"bad-input-witness"))
    reply = conn.reply()
    assert reply.error_name == "ERR_OK"
    assert read_result(m.RRDB_GET, reply.reader).value == b"kept"


@pytest.mark.parametrize(
    "junk",
    [
        b"GET / HTTP/1.1\r\n\r\n",
        b"THFT" + struct.pack(">I", 9) + b"\0" * 40,  # unknown header version
        b"THFT" + struct.pack(">II", 0, 12) + b"\0" * 40,  # wrong header length
        b"THFT" + struct.pack(">IIII", 0, 48, 0, 1 << 30) + b"\0" * 32,  # frame over limit
        b"THFT" + struct.pack(">III", 1, 1 << 24, 0),  # v1 meta over limit
    ],
    ids=["http", "version", "header-length", "huge-body", "huge-meta"],
)
def test_unframeable_input_closes_only_that_connection(
    cluster: StaticCluster, good: RawConn, junk: bytes
) -> None:
    bad = RawConn(cluster.replica)
    bad.send(junk)
    assert bad.closed_by_server()
    bad.close()
    _still_serving(good, 2)


def test_truncated_frame_then_hangup(cluster: StaticCluster, good: RawConn) -> None:
    bad = RawConn(cluster.replica)
    bad.send(_put(1, b"truncated", b"v")[:60])
    bad.close()
    _still_serving(good, 2)


def test_unknown_rpc_gets_handler_not_found(cluster: StaticCluster, good: RawConn) -> None:
    conn = RawConn(cluster.replica)
    conn.send(_custom_body_frame("RPC_NO_SUCH_THING", b"\0", seqid=9))
    reply = conn.reply()
    assert (reply.error_name, reply.seqid) == ("ERR_HANDLER_NOT_FOUND", 9)
    _still_serving(conn, 10)  # that connection survives a clear error
    conn.close()


@pytest.mark.parametrize(
    "args",
    [
        bytes([11, 0, 1]) + struct.pack(">i", 2) + b"ab" + b"\0",  # field 1 as string
        bytes([12, 0, 1, 15, 0, 2, 12]) + struct.pack(">i", 1 << 28) + b"\0\0",  # huge list
        bytes([12, 0, 1, 12, 0, 1]) + struct.pack(">i", -3) + b"\0\0",  # negative length
        bytes([12, 0, 1]),  # truncated
        b"\0",  # no argument
    ],
    ids=["wrong-type", "absurd-list", "negative-length", "truncated", "missing"],
)
def test_undecodable_arguments_get_invalid_data(
    cluster: StaticCluster, good: RawConn, args: bytes
) -> None:
    conn = RawConn(cluster.replica)
    conn.send(_custom_body_frame("RPC_RRDB_RRDB_MULTI_PUT", args, seqid=3))
    reply = conn.reply()
    assert (reply.error_name, reply.seqid) == ("ERR_INVALID_DATA", 3)
    conn.close()
    _still_serving(good, 2)


def test_partition_not_hosted(cluster: StaticCluster) -> None:
    conn = RawConn(cluster.replica)
    frame = encode_request(spec=m.RRDB_GET, seqid=4, arg=encode_key(b"a", b"b"), app_id=77)
    conn.send(frame)
    assert conn.reply().error_name == "ERR_OBJECT_NOT_FOUND"
    conn.close()


def test_long_hash_key_in_multi_put_is_refused(cluster: StaticCluster, good: RawConn) -> None:
    conn = RawConn(cluster.replica)
    req = m.MultiPutRequest(hash_key=b"h" * 70000, kvs=[m.KeyValue(b"s", b"v")])
    conn.send(encode_request(spec=m.RRDB_MULTI_PUT, seqid=5, arg=req, app_id=APP_ID))
    reply = conn.reply()
    if reply.error_name == "ERR_OK":
        assert read_result(m.RRDB_MULTI_PUT, reply.reader).error == 4  # kInvalidArgument
    else:
        assert reply.error_name in ("ERR_INVALID_PARAMETERS", "ERR_INVALID_DATA")
    conn.close()
    _still_serving(good, 2)


def test_random_mutations_of_valid_frames(cluster: StaticCluster, good: RawConn) -> None:
    """Flip, cut and splice bytes of valid frames, 200 times, seeded; after each the
    server still serves a separate connection."""
    rng = random.Random(20261126)
    valid = [
        _put(1, b"fuzz", b"v"),
        _get(2, b"fuzz"),
        encode_request(
            spec=m.RRDB_MULTI_GET,
            seqid=3,
            app_id=APP_ID,
            arg=m.MultiGetRequest(hash_key=b"fuzz", sort_keys=[b"a"]),
        ),
        encode_request(
            spec=m.RRDB_GET_SCANNER, seqid=4, app_id=APP_ID, arg=m.GetScannerRequest(batch_size=3)
        ),
    ]
    for i in range(200):
        frame = bytearray(rng.choice(valid))
        for _ in range(rng.randint(1, 4)):
            pos = rng.randrange(len(frame))
            if rng.random() < 0.7:
                frame[pos] = rng.randrange(256)
            else:
                del frame[pos:]
                frame += rng.randbytes(rng.randint(0, 8))
        conn = RawConn(cluster.replica)
        conn.sock.settimeout(0.5)
        conn.send(bytes(frame))
        try:
            conn.reply()
        except (ConnectionError, TimeoutError, OSError, ValueError):
            pass
        conn.close()
        if i % 20 == 0:
            _still_serving(good, 100 + i)
    _still_serving(good, 999)
    assert all(p.alive() for p in cluster.processes)
