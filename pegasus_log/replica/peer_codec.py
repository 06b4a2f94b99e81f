"""A thrift-binary codec derived from dataclass type hints, for the replica servers' own
messages (replica <-> replica), whose content types live in the pure replica core.

A message travels as the thrift binary encoding of a struct whose field ids are the
dataclass fields in declaration order (1, 2, ...). Supported field types: int (i64), bool,
str, bytes, IntEnum (i32), Enum with str values (string), RpcAddress, Gpid, any class with
a ``THRIFT`` schema (the wire messages), ``Mutation`` (its own binary encoding, as a blob),
nested dataclasses, ``tuple[T, ...]`` and ``T | None``. Field ids make old and new readers
tolerate appended fields, as thrift does. Decoding is bounded by ``DecodeLimits``.

``encode_message`` / ``decode_message`` add the message's class name so one RPC can carry
every kind of peer message.
"""

from __future__ import annotations

import dataclasses
import enum
import struct
import types
import typing
from collections.abc import Callable
from typing import Any

from pegasus_log.replica.plog.mutation import (
    Mutation,
    MutationDecodeError,
    decode_mutation,
    encode_mutation,
)
from pegasus_log.rpc.thrift import (
    DecodeLimits,
    Gpid,
    Reader,
    RpcAddress,
    ThriftDecodeError,
    TType,
    decoder_for,
    encoder_for,
)

_Enc = Callable[[bytearray, Any], None]
_Dec = Callable[[Reader], Any]
_I16 = struct.Struct(">h")
_I32 = struct.Struct(">i")
_I64 = struct.Struct(">q")


def _w_blob(out: bytearray, raw: bytes) -> None:
    out += _I32.pack(len(raw))
    out += raw


def _codec(tp: Any) -> tuple[TType, _Enc, _Dec]:
    """(wire type, encoder, decoder) of one field type."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        raise AssertionError(f"unions other than T | None are not supported: {tp}")
    if origin is tuple:
        args = typing.get_args(tp)
        assert len(args) == 2 and args[1] is Ellipsis, f"only tuple[T, ...]: {tp}"
        return _list_codec(args[0])
    if tp is bool:
        return TType.BOOL, lambda o, v: o.append(1 if v else 0), Reader.bool
    if tp is int:
        return TType.I64, lambda o, v: o.extend(_I64.pack(v)), Reader.i64
    if tp is str:
        return TType.STRING, lambda o, v: _w_blob(o, v.encode()), Reader.string
    if tp is bytes:
        return TType.STRING, _w_blob, Reader.binary
    if tp is Mutation:
        return TType.STRING, lambda o, v: _w_blob(o, encode_mutation(v)), _read_mutation
    if isinstance(tp, type) and issubclass(tp, enum.IntEnum):
        enum_cls = tp
        return TType.I32, lambda o, v: o.extend(_I32.pack(int(v))), lambda r: enum_cls(r.i32())
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        plain = tp
        return (
            TType.STRING,
            lambda o, v: _w_blob(o, str(v.value).encode()),
            lambda r: plain(r.string()),
        )
    if tp is RpcAddress or tp is Gpid:
        enc, dec = (
            encoder_for("rpc_address" if tp is RpcAddress else "gpid"),
            decoder_for("rpc_address" if tp is RpcAddress else "gpid"),
        )
        return TType.I64, enc, dec
    if isinstance(tp, type) and hasattr(tp, "THRIFT"):
        return TType.STRUCT, encoder_for(tp), decoder_for(tp)
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return TType.STRUCT, *_struct_codec(tp)
    raise AssertionError(f"no codec for field type {tp!r}")


def _read_mutation(r: Reader) -> Mutation:
    raw = r.binary()
    try:
        mutation, end = decode_mutation(raw)
    except MutationDecodeError as e:
        raise ThriftDecodeError(f"bad mutation: {e}") from None
    if end != len(raw):
        raise ThriftDecodeError("trailing bytes after a mutation")
    return mutation


def _list_codec(elem: Any) -> tuple[TType, _Enc, _Dec]:
    etype, eenc, edec = _codec(elem)

    def enc(out: bytearray, v: Any) -> None:
        out.append(etype)
        out += _I32.pack(len(v))
        for item in v:
            eenc(out, item)

    def dec(r: Reader) -> tuple[Any, ...]:
        r.enter()
        t, n = r.list_header()
        if n and t != etype:
            raise ThriftDecodeError(f"list of type {t}, expected {int(etype)}")
        items = tuple(edec(r) for _ in range(n))
        r.leave()
        return items

    return TType.LIST, enc, dec


_structs: dict[type[Any], tuple[_Enc, _Dec]] = {}


def _struct_codec(cls: type[Any]) -> tuple[_Enc, _Dec]:
    found = _structs.get(cls)
    if found is not None:
        return found
    hints = typing.get_type_hints(cls)
    plan: list[tuple[int, str, bool, TType, _Enc, _Dec]] = []
    for i, f in enumerate(dataclasses.fields(cls), start=1):
        tp = hints[f.name]
        optional = False
        if typing.get_origin(tp) in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(tp) if a is not type(None)]
            assert len(args) == 1, f"{cls.__name__}.{f.name}: only T | None unions"
            tp, optional = args[0], True
        plan.append((i, f.name, optional, *_codec(tp)))
    by_id = {fid: (name, wt, dec) for fid, name, _, wt, _, dec in plan}

    def enc(out: bytearray, v: Any) -> None:
        for fid, name, _, wt, fenc, _ in plan:
            value = getattr(v, name)
            if value is None:
                continue
            out.append(wt)
            out += _I16.pack(fid)
            fenc(out, value)
        out.append(TType.STOP)

    def dec(r: Reader) -> Any:
        r.enter()
        values: dict[str, Any] = {}
        while True:
            t, fid = r.field_header()
            if t == TType.STOP:
                break
            known = by_id.get(fid)
            if known is None or known[1] != t:
                r.skip(t)
                continue
            values[known[0]] = known[2](r)
        r.leave()
        try:
            return cls(**values)
        except (TypeError, ValueError, AssertionError) as e:
            raise ThriftDecodeError(f"{cls.__name__}: {e}") from None

    _structs[cls] = (enc, dec)
    return enc, dec


def encode_message(msg: Any) -> bytes:
    out = bytearray()
    _w_blob(out, type(msg).__name__.encode())
    _struct_codec(type(msg))[0](out, msg)
    return bytes(out)


def decode_message(
    raw: bytes, kinds: dict[str, type[Any]], limits: DecodeLimits | None = None
) -> Any:
    """Decode a message of one of ``kinds`` (class name -> class)."""
    r = Reader(raw, limits or DecodeLimits())
    name = r.string()
    cls = kinds.get(name)
    if cls is None:
        raise ThriftDecodeError(f"unknown message kind {name!r}")
    value = _struct_codec(cls)[1](r)
    if r.pos != r.end:
        raise ThriftDecodeError(f"{r.end - r.pos} trailing bytes")
    return value
