"""Round trips of every wire message through the schema-driven thrift codec, and the
placeholder encodings the official clients expect."""

from __future__ import annotations

import dataclasses
import struct
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs

from pegasus_log.rpc import admin, thrift
from pegasus_log.rpc import messages as m
from pegasus_log.rpc.thrift import (
    BLOB,
    DecodeLimits,
    Gpid,
    HostPort,
    ListOf,
    MapOf,
    Reader,
    RpcAddress,
    SetOf,
    ThriftDecodeError,
    decode,
    decoder_for,
    encode,
)

ALL_STRUCTS = [
    c
    for module in (m, admin)
    for c in vars(module).values()
    if isinstance(c, type) and dataclasses.is_dataclass(c) and hasattr(c, "THRIFT")
]

_i32 = hs.integers(-(2**31), 2**31 - 1)
_i64 = hs.integers(-(2**63), 2**63 - 1)
_blob = hs.binary(max_size=40)


def _strategy(spec: Any) -> hs.SearchStrategy[Any]:
    simple: dict[str, hs.SearchStrategy[Any]] = {
        "bool": hs.booleans(),
        "i16": hs.integers(-(2**15), 2**15 - 1),
        "i32": _i32,
        "i64": _i64,
        "string": hs.text(max_size=20),
        "blob": _blob,
        "error_code": hs.sampled_from(["ERR_OK", "ERR_TIMEOUT", "ERR_OBJECT_NOT_FOUND"]),
        "gpid": hs.builds(Gpid, _i32, _i32),
        "host_port": hs.builds(HostPort, hs.text(max_size=15), hs.integers(0, 65535)),
        "rpc_address": hs.one_of(
            hs.just(RpcAddress("", 0)),
            hs.builds(
                lambda a, p: RpcAddress(f"127.0.0.{a}", p),
                hs.integers(0, 255),
                hs.integers(0, 65535),
            ),
        ),
    }
    if isinstance(spec, str):
        return simple[spec]
    if isinstance(spec, ListOf):
        return hs.lists(_strategy(spec.elem), max_size=4)
    if isinstance(spec, SetOf):  # decoded as a list, in wire order
        return hs.lists(_strategy(spec.elem), max_size=4, unique=True)
    if isinstance(spec, MapOf):
        return hs.dictionaries(_strategy(spec.key), _strategy(spec.value), max_size=4)
    return _struct_strategy(spec)


def _struct_strategy(cls: type[Any]) -> hs.SearchStrategy[Any]:
    kwargs = {}
    for f in cls.THRIFT:
        s = _strategy(f.type)
        kwargs[f.name] = hs.one_of(hs.none(), s) if f.optional else s
    return hs.builds(cls, **kwargs)


@pytest.mark.parametrize("cls", ALL_STRUCTS, ids=lambda c: c.__name__)
@settings(max_examples=60, deadline=None)
@given(data=hs.data())
def test_every_message_round_trips(cls: type[Any], data: hs.DataObject) -> None:
    value = data.draw(_struct_strategy(cls))
    assert decode(cls, encode(cls, value)) == value


def _outcome(dec: Any, data: bytes, limits: DecodeLimits) -> tuple[Any, ...]:
    r = Reader(data, limits)
    try:
        value = dec(r)
    except Exception as e:
        return ("raised", type(e), str(e))
    return ("decoded", value, r.pos, r.depth)


@pytest.mark.parametrize("cls", ALL_STRUCTS, ids=lambda c: c.__name__)
@settings(max_examples=40, deadline=None)
@given(data=hs.data())
def test_the_fast_decoder_has_the_general_decoders_outcome(
    cls: type[Any], data: hs.DataObject
) -> None:
    """Valid encodings, and the same damaged (bytes changed, cut short or added), decode
    to the same value or fail with the same error through both decoders of a struct."""
    raw = bytearray(encode(cls, data.draw(_struct_strategy(cls))))
    for _ in range(data.draw(hs.integers(0, 3))):
        if raw:
            raw[data.draw(hs.integers(0, len(raw) - 1))] = data.draw(hs.integers(0, 255))
    cut = data.draw(hs.integers(0, len(raw)))
    raw = raw[:cut] + data.draw(hs.binary(max_size=6))
    limits = DecodeLimits(max_string_bytes=data.draw(hs.sampled_from((8, 4 << 20))), max_depth=3)
    fast = _outcome(decoder_for(cls), bytes(raw), limits)
    general = _outcome(thrift._general_decoders[cls], bytes(raw), limits)
    assert fast == general


def test_placeholders_are_struct_typed_fields_with_plain_payloads() -> None:
    raw = encode(m.ReadResponse, m.ReadResponse(error=1, value=b"ab"))
    # field 2 (value, a blob) is declared STRUCT (12) and carries i32 length + bytes
    idx = raw.index(bytes([12, 0, 2]))
    assert raw[idx + 3 : idx + 9] == struct.pack(">i", 2) + b"ab"


def test_gpid_and_address_encodings() -> None:
    assert Gpid(2, 3).to_i64() == 2 | 3 << 32
    assert Gpid.from_i64(Gpid(-1, 7).to_i64()) == Gpid(-1, 7)
    addr = RpcAddress("127.0.0.1", 34801)
    assert addr.to_i64() == (0x7F000001 << 32 | 34801 << 16 | 1)
    assert RpcAddress.from_i64(addr.to_i64()) == addr
    assert RpcAddress.from_i64(0).is_invalid


@pytest.mark.parametrize("text", ["127.0.0.1", "1.2.3:4", "host:1", "1.2.3.4:99999", "1.2.3.256:1"])
def test_bad_addresses_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        RpcAddress.parse(text)


def test_unknown_fields_are_skipped() -> None:
    # A ScanResponse read as the older 6-field struct some clients know.
    raw = encode(m.ScanResponse, m.ScanResponse(error=0, context_id=5, kv_count=3))
    got = decode(m.ScanResponse, raw)
    assert got.kv_count == 3 and got.context_id == 5


def test_wrong_field_types_are_skipped_not_misread() -> None:
    # field 1 (error, i32) sent as a string: skipped, default kept.
    raw = bytes([11, 0, 1]) + struct.pack(">i", 3) + b"abc" + bytes([0])
    assert decode(m.ReadResponse, raw) == m.ReadResponse()


def test_absurd_lengths_are_refused_before_allocating() -> None:
    limits = DecodeLimits(max_string_bytes=100, max_list_items=10)
    big_string = bytes([12, 0, 1]) + struct.pack(">i", 1 << 30) + bytes([0])
    with pytest.raises(ThriftDecodeError, match="string length"):
        decode(m.UpdateRequest, big_string, limits)
    big_list = bytes([15, 0, 2, 12]) + struct.pack(">i", 1 << 30) + bytes([0])
    with pytest.raises(ThriftDecodeError, match="list length"):
        decode(m.MultiRemoveRequest, big_list, limits)
    negative = bytes([12, 0, 1]) + struct.pack(">i", -5) + bytes([0])
    with pytest.raises(ThriftDecodeError):
        decode(m.UpdateRequest, negative, limits)


def test_truncation_is_an_error() -> None:
    raw = encode(m.MultiPutRequest, m.MultiPutRequest(b"h", [m.KeyValue(b"k", b"v")], 0))
    for cut in range(len(raw)):
        with pytest.raises(ThriftDecodeError):
            decode(m.MultiPutRequest, raw[:cut])


def test_nesting_is_bounded() -> None:
    deep = bytes([12, 0, 9]) * 100 + bytes([0]) * 101
    with pytest.raises(ThriftDecodeError, match="nesting"):
        decode(m.ReadResponse, deep, DecodeLimits(max_depth=16))


def test_list_of_blobs() -> None:
    assert decode(ListOf(BLOB), encode(ListOf(BLOB), [b"", b"x" * 3])) == [b"", b"xxx"]
