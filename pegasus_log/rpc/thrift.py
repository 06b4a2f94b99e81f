"""Thrift binary protocol, driven by schemas declared on dataclasses.

A message struct is a dataclass with a class attribute ``THRIFT`` listing its fields as
``Field(id, name, type)``. Types are the thrift primitives, the Pegasus placeholder types
(declared STRUCT on the wire but carrying a binary, string or i64 payload, so a generic
thrift decoder cannot skip them), ``ListOf`` / ``MapOf``, and other message structs.

Encoders and decoders are compiled once per struct class into closures, because the
codec sits on every request's path. Decoding is bounded: every length read from the wire
is checked against ``DecodeLimits`` before anything is allocated.

Pure: bytes in, objects out. No sockets, no clocks.
"""

from __future__ import annotations

import functools
import struct
from collections.abc import Callable
from enum import IntEnum
from typing import Any, ClassVar, Protocol, TypeAlias

from pegasus_log.frozen import frozen


class TType(IntEnum):
    STOP = 0
    BOOL = 2
    BYTE = 3
    DOUBLE = 4
    I16 = 6
    I32 = 8
    I64 = 10
    STRING = 11
    STRUCT = 12
    MAP = 13
    SET = 14
    LIST = 15


_STOP = int(TType.STOP)  # a plain int: compared for every field read


class MessageType(IntEnum):
    CALL = 1
    REPLY = 2
    EXCEPTION = 3
    ONEWAY = 4


class ThriftDecodeError(ValueError):
    """The bytes are not a valid encoding of the expected schema (an operating error)."""


@frozen
class DecodeLimits:
    """Bounds on what one decode may allocate. Defaults: a Pegasus write is capped at
    1 MiB of payload by the server, so 4 MiB per string leaves room for batch requests
    while refusing absurd lengths; 1 << 20 list items bounds a multi_get reply; nesting
    in the Pegasus IDL is at most 4 deep, 32 leaves room without recursion risk."""

    max_string_bytes: int = 4 << 20
    max_list_items: int = 1 << 20
    max_depth: int = 32


# ---- type specs -------------------------------------------------------------------------

BOOL = "bool"
BYTE = "byte"
I16 = "i16"
I32 = "i32"
I64 = "i64"
DOUBLE = "double"
STRING = "string"  # utf-8 text
BINARY = "binary"  # raw bytes with a plain STRING wire type
# Placeholder types: wire type STRUCT, payload not a struct.
BLOB = "blob"  # payload: binary
ERROR_CODE = "error_code"  # payload: string (the error name)
TASK_CODE = "task_code"  # payload: string
GPID = "gpid"  # payload: i64 = app_id | partition_index << 32
RPC_ADDRESS = "rpc_address"  # payload: i64 = ipv4 << 32 | port << 16 | 1
HOST_PORT = "host_port"  # payload: string host, i16 port, byte type


@frozen
class ListOf:
    elem: TypeSpec


@frozen
class SetOf:
    """A thrift set: encoded as a list is, with the SET type; decoded to a Python list
    in wire order (elements such as ``Gpid`` are hashable, callers may make a set)."""

    elem: TypeSpec


@frozen
class MapOf:
    key: TypeSpec
    value: TypeSpec


TypeSpec: TypeAlias = "str | ListOf | SetOf | MapOf | type[Any]"


@frozen
class Field:
    id: int
    name: str
    type: TypeSpec
    optional: bool = False


class ThriftStruct(Protocol):
    THRIFT: ClassVar[tuple[Field, ...]]


@frozen
class Gpid:
    app_id: int
    partition_index: int

    def to_i64(self) -> int:
        return (self.app_id & 0xFFFFFFFF) | (self.partition_index & 0xFFFFFFFF) << 32

    @staticmethod
    def from_i64(raw: int) -> Gpid:
        raw &= 0xFFFFFFFFFFFFFFFF
        return Gpid(_signed32(raw & 0xFFFFFFFF), _signed32(raw >> 32))


@frozen
class RpcAddress:
    """An IPv4 endpoint; 0 / the all-zero address means "none"."""

    host: str
    port: int

    def to_i64(self) -> int:
        return _address_to_i64(self.host, self.port)

    @staticmethod
    def from_i64(raw: int) -> RpcAddress:
        return _address_from_i64(raw & 0xFFFFFFFFFFFFFFFF)

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"

    @staticmethod
    def parse(text: str) -> RpcAddress:
        """``"a.b.c.d:port"``; ValueError for anything else."""
        host, sep, port = text.rpartition(":")
        parts = host.split(".")
        ok = sep and port.isdigit() and len(parts) == 4
        if not ok or not all(p.isdigit() and int(p) < 256 for p in parts):
            raise ValueError(f"address {text!r} is not IPV4:PORT")
        if not 0 < int(port) < 65536:
            raise ValueError(f"address {text!r}: port out of range")
        return RpcAddress(host, int(port))

    @property
    def is_invalid(self) -> bool:
        return not self.host


# A server sees a handful of peer addresses in every prepare and ack: converting them
# once each, not once per message, took about 2% of a replica server's CPU off each write.
# The bound keeps a stream of made-up addresses from growing the caches without limit.
_ADDRESS_CACHE_MAX = 4096


@functools.lru_cache(maxsize=_ADDRESS_CACHE_MAX)
def _address_to_i64(host: str, port: int) -> int:
    if not host:
        return 0
    a, b, c, d = (int(x) for x in host.split("."))
    ip = a << 24 | b << 16 | c << 8 | d
    return _signed64(ip << 32 | (port & 0xFFFF) << 16 | 1)


@functools.lru_cache(maxsize=_ADDRESS_CACHE_MAX)
def _address_from_i64(raw: int) -> RpcAddress:
    if raw == 0:
        return RpcAddress("", 0)
    ip = raw >> 32
    host = f"{ip >> 24 & 255}.{ip >> 16 & 255}.{ip >> 8 & 255}.{ip & 255}"
    return RpcAddress(host, raw >> 16 & 0xFFFF)


@frozen
class HostPort:
    host: str
    port: int
    type: int = 1  # HOST_TYPE_IPV4

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"


def _signed32(v: int) -> int:
    return v - (1 << 32) if v >= 1 << 31 else v


def _signed64(v: int) -> int:
    return v - (1 << 64) if v >= 1 << 63 else v


_WIRE_TYPE: dict[str, TType] = {
    BOOL: TType.BOOL,
    BYTE: TType.BYTE,
    I16: TType.I16,
    I32: TType.I32,
    I64: TType.I64,
    DOUBLE: TType.DOUBLE,
    STRING: TType.STRING,
    BINARY: TType.STRING,
    BLOB: TType.STRUCT,
    ERROR_CODE: TType.STRUCT,
    TASK_CODE: TType.STRUCT,
    GPID: TType.STRUCT,
    RPC_ADDRESS: TType.STRUCT,
    HOST_PORT: TType.STRUCT,
}


def wire_type(spec: TypeSpec) -> TType:
    if isinstance(spec, str):
        return _WIRE_TYPE[spec]
    if isinstance(spec, ListOf):
        return TType.LIST
    if isinstance(spec, SetOf):
        return TType.SET
    if isinstance(spec, MapOf):
        return TType.MAP
    return TType.STRUCT


# ---- reading ----------------------------------------------------------------------------

_I16 = struct.Struct(">h")
_I32 = struct.Struct(">i")
_I64 = struct.Struct(">q")
_DBL = struct.Struct(">d")
_FIELD_HDR = struct.Struct(">bh")
_LIST_HDR = struct.Struct(">bi")
_MAP_HDR = struct.Struct(">bbi")


class Reader:
    """A cursor over one buffer; every read is bounds-checked."""

    __slots__ = ("buf", "depth", "end", "limits", "pos")

    def __init__(
        self, buf: bytes | memoryview, limits: DecodeLimits, pos: int = 0, end: int = -1
    ) -> None:
        self.buf = bytes(buf)
        self.pos = pos
        self.end = len(self.buf) if end < 0 else end
        self.limits = limits
        self.depth = 0

    def _need(self, n: int) -> int:
        p = self.pos
        if n < 0 or p + n > self.end:
            raise ThriftDecodeError(f"truncated: need {n} bytes at offset {p}, have {self.end - p}")
        self.pos = p + n
        return p

    def byte(self) -> int:
        p = self._need(1)
        v = self.buf[p]
        return v - 256 if v > 127 else v

    def bool(self) -> bool:
        return self.byte() != 0

    # The fixed-size reads check bounds inline: they run for every field of every request.

    def i16(self) -> int:
        p = self.pos
        if p + 2 > self.end:
            self._need(2)  # raises
        self.pos = p + 2
        return int(_I16.unpack_from(self.buf, p)[0])

    def i32(self) -> int:
        p = self.pos
        if p + 4 > self.end:
            self._need(4)  # raises
        self.pos = p + 4
        return int(_I32.unpack_from(self.buf, p)[0])

    def i64(self) -> int:
        p = self.pos
        if p + 8 > self.end:
            self._need(8)  # raises
        self.pos = p + 8
        return int(_I64.unpack_from(self.buf, p)[0])

    def double(self) -> float:
        return float(_DBL.unpack_from(self.buf, self._need(8))[0])

    def binary(self) -> bytes:
        n = self.i32()
        if n < 0 or n > self.limits.max_string_bytes:
            raise ThriftDecodeError(
                f"string length {n} outside [0, {self.limits.max_string_bytes}]"
            )
        p = self.pos
        if p + n > self.end:
            self._need(n)  # raises
        self.pos = p + n
        return self.buf[p : p + n]

    def string(self) -> str:
        raw = self.binary()
        try:
            return raw.decode()
        except UnicodeDecodeError as e:
            raise ThriftDecodeError(f"string is not utf-8: {e}") from None

    def field_header(self) -> tuple[int, int]:
        p = self.pos
        if p + 1 > self.end:
            self._need(1)  # raises
        t = self.buf[p]
        if t == _STOP:
            self.pos = p + 1
            return 0, 0
        if p + 3 > self.end:
            self.pos = p + 1
            self._need(2)  # raises
        self.pos = p + 3
        return t, int(_I16.unpack_from(self.buf, p + 1)[0])

    def list_header(self) -> tuple[int, int]:
        et, n = _LIST_HDR.unpack_from(self.buf, self._need(5))
        if n < 0 or n > self.limits.max_list_items:
            raise ThriftDecodeError(f"list length {n} outside [0, {self.limits.max_list_items}]")
        return int(et), int(n)

    def map_header(self) -> tuple[int, int, int]:
        kt, vt, n = _MAP_HDR.unpack_from(self.buf, self._need(6))
        if n < 0 or n > self.limits.max_list_items:
            raise ThriftDecodeError(f"map size {n} outside [0, {self.limits.max_list_items}]")
        return int(kt), int(vt), int(n)

    def enter(self) -> None:
        self.depth += 1
        if self.depth > self.limits.max_depth:
            raise ThriftDecodeError(f"nesting deeper than {self.limits.max_depth}")

    def leave(self) -> None:
        self.depth -= 1

    def skip(self, ttype: int) -> None:
        """Skip one value of a standard thrift type (placeholders cannot be skipped)."""
        if ttype in (TType.BOOL, TType.BYTE):
            self._need(1)
        elif ttype == TType.I16:
            self._need(2)
        elif ttype == TType.I32:
            self._need(4)
        elif ttype in (TType.I64, TType.DOUBLE):
            self._need(8)
        elif ttype == TType.STRING:
            self.binary()
        elif ttype == TType.STRUCT:
            self.enter()
            while True:
                t, _ = self.field_header()
                if t == TType.STOP:
                    break
                self.skip(t)
            self.leave()
        elif ttype in (TType.LIST, TType.SET):
            self.enter()
            et, n = self.list_header()
            for _ in range(n):
                self.skip(et)
            self.leave()
        elif ttype == TType.MAP:
            self.enter()
            kt, vt, n = self.map_header()
            for _ in range(n):
                self.skip(kt)
                self.skip(vt)
            self.leave()
        else:
            raise ThriftDecodeError(f"unknown thrift type {ttype}")


Decoder: TypeAlias = Callable[[Reader], Any]
Encoder: TypeAlias = Callable[[bytearray, Any], None]


def _read_host_port(r: Reader) -> HostPort:
    host = r.string()
    port = r.i16() & 0xFFFF
    return HostPort(host, port, r.byte())


_PRIM_DECODERS: dict[str, Decoder] = {
    BOOL: Reader.bool,
    BYTE: Reader.byte,
    I16: Reader.i16,
    I32: Reader.i32,
    I64: Reader.i64,
    DOUBLE: Reader.double,
    STRING: Reader.string,
    BINARY: Reader.binary,
    BLOB: Reader.binary,
    ERROR_CODE: Reader.string,
    TASK_CODE: Reader.string,
    GPID: lambda r: Gpid.from_i64(r.i64()),
    RPC_ADDRESS: lambda r: RpcAddress.from_i64(r.i64()),
    HOST_PORT: _read_host_port,
}


# ---- writing ----------------------------------------------------------------------------


def _w_bool(out: bytearray, v: Any) -> None:
    out.append(1 if v else 0)


def _w_byte(out: bytearray, v: Any) -> None:
    out.append(int(v) & 0xFF)


def _w_i16(out: bytearray, v: Any) -> None:
    out += _I16.pack(int(v))


def _w_i32(out: bytearray, v: Any) -> None:
    out += _I32.pack(int(v))


def _w_i64(out: bytearray, v: Any) -> None:
    out += _I64.pack(int(v))


def _w_double(out: bytearray, v: Any) -> None:
    out += _DBL.pack(float(v))


def _w_binary(out: bytearray, v: Any) -> None:
    out += _I32.pack(len(v))
    out += v


def _w_string(out: bytearray, v: Any) -> None:
    _w_binary(out, v.encode())


def _w_gpid(out: bytearray, v: Any) -> None:
    out += _I64.pack(_signed64(v.to_i64()))


def _w_address(out: bytearray, v: Any) -> None:
    out += _I64.pack(v.to_i64())


def _w_host_port(out: bytearray, v: Any) -> None:
    _w_string(out, v.host)
    out += _I16.pack(_signed16(v.port))
    out.append(v.type & 0xFF)


def _signed16(v: int) -> int:
    return v - (1 << 16) if v >= 1 << 15 else v


_PRIM_ENCODERS: dict[str, Encoder] = {
    BOOL: _w_bool,
    BYTE: _w_byte,
    I16: _w_i16,
    I32: _w_i32,
    I64: _w_i64,
    DOUBLE: _w_double,
    STRING: _w_string,
    BINARY: _w_binary,
    BLOB: _w_binary,
    ERROR_CODE: _w_string,
    TASK_CODE: _w_string,
    GPID: _w_gpid,
    RPC_ADDRESS: _w_address,
    HOST_PORT: _w_host_port,
}


# ---- compiling schemas ------------------------------------------------------------------

_decoders: dict[Any, Decoder] = {}
_encoders: dict[Any, Encoder] = {}


def decoder_for(spec: TypeSpec) -> Decoder:
    """The decoding function of one type spec, compiled once and cached."""
    key = spec
    found = _decoders.get(key)
    if found is not None:
        return found
    if isinstance(spec, str):
        dec = _PRIM_DECODERS[spec]
    elif isinstance(spec, ListOf | SetOf):
        dec = _list_decoder(spec)
    elif isinstance(spec, MapOf):
        dec = _map_decoder(spec)
    else:
        _decoders[key] = lambda r: _lazy_struct_decoder(spec, r)
        dec = _struct_decoder(spec)
    _decoders[key] = dec
    return dec


def _lazy_struct_decoder(cls: type[Any], r: Reader) -> Any:
    return decoder_for(cls)(r)


def _list_decoder(spec: ListOf | SetOf) -> Decoder:
    elem = decoder_for(spec.elem)
    want = wire_type(spec.elem)

    def dec(r: Reader) -> list[Any]:
        r.enter()
        et, n = r.list_header()
        if et != want:
            raise ThriftDecodeError(f"list element type {et}, expected {int(want)}")
        items = [elem(r) for _ in range(n)]
        r.leave()
        return items

    return dec


def _map_decoder(spec: MapOf) -> Decoder:
    kdec = decoder_for(spec.key)
    vdec = decoder_for(spec.value)
    kwant, vwant = wire_type(spec.key), wire_type(spec.value)

    def dec(r: Reader) -> dict[Any, Any]:
        r.enter()
        kt, vt, n = r.map_header()
        if n and (kt != kwant or vt != vwant):
            raise ThriftDecodeError(f"map types ({kt}, {vt}), expected ({kwant}, {vwant})")
        out = {}
        for _ in range(n):
            k = kdec(r)
            out[k] = vdec(r)
        r.leave()
        return out

    return dec


def _struct_decoder(cls: type[Any]) -> Decoder:
    fields: tuple[Field, ...] = cls.THRIFT
    by_id: dict[int, tuple[str, int, Decoder]] = {
        f.id: (f.name, int(wire_type(f.type)), decoder_for(f.type)) for f in fields
    }

    def dec(r: Reader) -> Any:
        r.enter()
        values: dict[str, Any] = {}
        while True:
            t, fid = r.field_header()
            if t == _STOP:
                break
            known = by_id.get(fid)
            if known is None or known[1] != t:
                r.skip(t)
                continue
            values[known[0]] = known[2](r)
        r.leave()
        return cls(**values)

    _general_decoders[cls] = dec
    return _fast_struct_decoder(cls, fields, dec)


# struct class -> its general decoder (the fast one's fallback; tests compare the two)
_general_decoders: dict[Any, Decoder] = {}


# ---- the fast struct decoder --------------------------------------------------------------
#
# Every request and reply decodes a struct or two, and the general decoder above pays a
# method call per field header and per value. The decoder generated below reads the
# fields this struct declares inline, from local variables; the first thing it does not
# expect (an unknown field, a wrong type, a length out of bounds, truncation, text that is
# not UTF-8) sends the whole struct back to the general decoder from its first byte, so
# the outcome (value or error) is always the general decoder's: only the cost changes.

# spec -> (wire type, lines reading one value into ``v`` from ``buf`` at ``pos``)
_INLINE_READS: dict[str, tuple[TType, tuple[str, ...]]] = {
    BOOL: (
        TType.BOOL,
        ("if pos + 1 > end: return fallback(r, start, depth)", "v = buf[pos] != 0", "pos += 1"),
    ),
    BYTE: (
        TType.BYTE,
        (
            "if pos + 1 > end: return fallback(r, start, depth)",
            "v = buf[pos]",
            "v = v - 256 if v > 127 else v",
            "pos += 1",
        ),
    ),
    I16: (
        TType.I16,
        (
            "if pos + 2 > end: return fallback(r, start, depth)",
            "v = i16_at(buf, pos)[0]",
            "pos += 2",
        ),
    ),
    I32: (
        TType.I32,
        (
            "if pos + 4 > end: return fallback(r, start, depth)",
            "v = i32_at(buf, pos)[0]",
            "pos += 4",
        ),
    ),
    I64: (
        TType.I64,
        (
            "if pos + 8 > end: return fallback(r, start, depth)",
            "v = i64_at(buf, pos)[0]",
            "pos += 8",
        ),
    ),
    DOUBLE: (
        TType.DOUBLE,
        (
            "if pos + 8 > end: return fallback(r, start, depth)",
            "v = dbl_at(buf, pos)[0]",
            "pos += 8",
        ),
    ),
    GPID: (
        TType.STRUCT,
        (
            "if pos + 8 > end: return fallback(r, start, depth)",
            "v = gpid_of(i64_at(buf, pos)[0])",
            "pos += 8",
        ),
    ),
    RPC_ADDRESS: (
        TType.STRUCT,
        (
            "if pos + 8 > end: return fallback(r, start, depth)",
            "v = address_of(i64_at(buf, pos)[0])",
            "pos += 8",
        ),
    ),
}
_BYTES_READ = (
    "if pos + 4 > end: return fallback(r, start, depth)",
    "n = i32_at(buf, pos)[0]",
    "pos += 4",
    "if n < 0 or n > max_bytes or pos + n > end: return fallback(r, start, depth)",
    "v = buf[pos : pos + n]",
    "pos += n",
)
_TEXT_READ = (
    *_BYTES_READ,
    "try:",
    "    v = v.decode()",
    "except UnicodeDecodeError:",
    "    return fallback(r, start, depth)",
)
for _spec in (BINARY, BLOB):
    _INLINE_READS[_spec] = (_WIRE_TYPE[_spec], _BYTES_READ)
for _spec in (STRING, ERROR_CODE, TASK_CODE):
    _INLINE_READS[_spec] = (_WIRE_TYPE[_spec], _TEXT_READ)


def _fallback_to(general: Decoder) -> Callable[[Reader, int, int], Any]:
    def fallback(r: Reader, start: int, depth: int) -> Any:
        r.pos = start
        r.depth = depth
        return general(r)

    return fallback


def _fast_struct_decoder(cls: type[Any], fields: tuple[Field, ...], general: Decoder) -> Decoder:
    assert len({f.id for f in fields}) == len(fields), f"{cls.__name__}: duplicate field ids"
    env: dict[str, Any] = {
        "cls": cls,
        "fallback": _fallback_to(general),
        "i16_at": _I16.unpack_from,
        "i32_at": _I32.unpack_from,
        "i64_at": _I64.unpack_from,
        "dbl_at": _DBL.unpack_from,
        "gpid_of": Gpid.from_i64,
        "address_of": RpcAddress.from_i64,
        "UnicodeDecodeError": UnicodeDecodeError,
    }
    branches: list[str] = []
    for i, f in enumerate(fields):
        inline = _INLINE_READS.get(f.type) if isinstance(f.type, str) else None
        if inline is not None:
            wt, read = inline
        else:
            env[f"dec_{i}"] = decoder_for(f.type)
            wt = wire_type(f.type)
            read = (
                "r.pos = pos",
                "r.depth = depth + 1",
                f"v = dec_{i}(r)",
                "r.depth = depth",
                "pos = r.pos",
            )
        branches.append(
            f"        {'if' if not branches else 'elif'} fid == {f.id} and t == {int(wt)}:"
        )
        branches.extend(f"            {line}" for line in read)
        branches.append(f"            values[{f.name!r}] = v")
    if branches:
        branches.append("        else:")
        branches.append("            return fallback(r, start, depth)")
    else:
        branches.append("        return fallback(r, start, depth)")
    source = "\n".join(
        (
            "def dec(r):",
            "    buf = r.buf",
            "    start = pos = r.pos",
            "    end = r.end",
            "    depth = r.depth",
            "    if depth + 1 > r.limits.max_depth:",
            "        return fallback(r, start, depth)",
            "    max_bytes = r.limits.max_string_bytes",
            "    values = {}",
            "    while True:",
            "        if pos >= end:",
            "            return fallback(r, start, depth)",
            "        t = buf[pos]",
            "        if t == 0:",
            "            pos += 1",
            "            break",
            "        if pos + 3 > end:",
            "            return fallback(r, start, depth)",
            "        fid = i16_at(buf, pos + 1)[0]",
            "        pos += 3",
            *branches,
            "    r.pos = pos",
            "    return cls(**values)",
        )
    )
    exec(source, env)  # the source is built above from the schema's field ids and names
    dec: Decoder = env["dec"]
    return dec


def encoder_for(spec: TypeSpec) -> Encoder:
    found = _encoders.get(spec)
    if found is not None:
        return found
    if isinstance(spec, str):
        enc = _PRIM_ENCODERS[spec]
    elif isinstance(spec, ListOf | SetOf):
        enc = _list_encoder(spec)
    elif isinstance(spec, MapOf):
        enc = _map_encoder(spec)
    else:
        _encoders[spec] = lambda out, v: encoder_for(spec)(out, v)
        enc = _struct_encoder(spec)
    _encoders[spec] = enc
    return enc


def _list_encoder(spec: ListOf | SetOf) -> Encoder:
    elem = encoder_for(spec.elem)
    et = int(wire_type(spec.elem))

    def enc(out: bytearray, v: Any) -> None:
        out += _LIST_HDR.pack(et, len(v))
        for item in v:
            elem(out, item)

    return enc


def _map_encoder(spec: MapOf) -> Encoder:
    kenc, venc = encoder_for(spec.key), encoder_for(spec.value)
    kt, vt = int(wire_type(spec.key)), int(wire_type(spec.value))

    def enc(out: bytearray, v: Any) -> None:
        out += _MAP_HDR.pack(kt, vt, len(v))
        for k, val in v.items():
            kenc(out, k)
            venc(out, val)

    return enc


def _struct_encoder(cls: type[Any]) -> Encoder:
    plan = [
        (f.name, _FIELD_HDR.pack(int(wire_type(f.type)), f.id), encoder_for(f.type))
        for f in cls.THRIFT
    ]

    def enc(out: bytearray, v: Any) -> None:
        for name, header, fenc in plan:
            value = getattr(v, name)
            if value is None:
                continue
            out += header
            fenc(out, value)
        out.append(TType.STOP)

    return enc


# ---- public helpers ---------------------------------------------------------------------


def encode(spec: TypeSpec, value: Any) -> bytes:
    out = bytearray()
    encoder_for(spec)(out, value)
    return bytes(out)


def decode(spec: TypeSpec, buf: bytes | memoryview, limits: DecodeLimits | None = None) -> Any:
    r = Reader(buf, limits or DecodeLimits())
    value = decoder_for(spec)(r)
    if r.pos != r.end:
        raise ThriftDecodeError(f"{r.end - r.pos} trailing bytes")
    return value


_STRICT_VERSION = 0x80010000


def write_message_begin(out: bytearray, name: str, mtype: MessageType, seqid: int) -> None:
    out += _I32.pack(_signed32(_STRICT_VERSION | int(mtype)))
    _w_string(out, name)
    out += _I32.pack(seqid)


_MESSAGE_HEAD = struct.Struct(">ii")  # strict version | type, name length


def read_message_begin(r: Reader) -> tuple[str, int, int]:
    """Strict (versioned) or old-style message header: (name, type, seqid)."""
    # Every request starts with one: a well-formed strict header is read inline; anything
    # else (and every error) goes the general way below.
    buf, p = r.buf, r.pos
    if p + 8 <= r.end:
        first, n = _MESSAGE_HEAD.unpack_from(buf, p)
        name_end = p + 8 + n
        if (
            first < 0
            and first & 0xFFFF0000 == _STRICT_VERSION & 0xFFFF0000
            and 0 <= n <= r.limits.max_string_bytes
            and name_end + 4 <= r.end
        ):
            try:
                name = buf[p + 8 : name_end].decode()
            except UnicodeDecodeError:
                pass
            else:
                r.pos = name_end + 4
                return name, first & 0xFF, _I32.unpack_from(buf, name_end)[0]
    return _read_message_begin(r)


def _read_message_begin(r: Reader) -> tuple[str, int, int]:
    first = r.i32()
    if first < 0:
        if first & 0xFFFF0000 != _STRICT_VERSION & 0xFFFF0000:
            raise ThriftDecodeError(f"bad thrift message version {first & 0xFFFFFFFF:#x}")
        mtype = first & 0xFF
        name = r.string()
    else:
        if first > r.limits.max_string_bytes:
            raise ThriftDecodeError(f"message name length {first} too long")
        p = r._need(first)
        try:
            name = r.buf[p : p + first].decode()
        except UnicodeDecodeError:
            raise ThriftDecodeError("message name is not utf-8") from None
        mtype = r.byte()
    seqid = r.i32()
    return name, mtype, seqid
