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

Every replicated write costs one Prepare and one PrepareAck per member, so those two have
fast paths that produce and accept exactly the bytes of the generic encoding with fixed
``struct`` layouts. A message that does not match the fast layout byte for byte (another
field order, an appended field, a bad value) goes to the generic decoder, which accepts
or refuses it as before: the fast path changes the cost, never the outcome.
"""

from __future__ import annotations

import dataclasses
import enum
import struct
import types
import typing
from collections.abc import Callable
from functools import partial
from typing import Any

from pegasus_log.replica.core.messages import Prepare, PrepareAck
from pegasus_log.replica.plog.mutation import (
    Mutation,
    MutationDecodeError,
    decode_mutation,
    encode_mutation,
)
from pegasus_log.rpc.admin import PartitionStatus
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
        return TType.I32, lambda o, v: o.extend(_I32.pack(int(v))), partial(_read_enum, enum_cls)
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


def _read_enum(enum_cls: type[enum.IntEnum], r: Reader) -> enum.IntEnum:
    raw = r.i32()
    try:
        return enum_cls(raw)
    except ValueError:
        raise ThriftDecodeError(f"{enum_cls.__name__} has no value {raw}") from None


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
_DEFAULT_LIMITS = DecodeLimits()


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


# ---- fast paths: Prepare and PrepareAck --------------------------------------------------


def _name_prefix(cls: type[Any]) -> bytes:
    name = cls.__name__.encode()
    return _I32.pack(len(name)) + name


_ACK_PREFIX = _name_prefix(PrepareAck)
# name, then (type, id, value) for gpid, ballot, decree, node (all i64), then STOP
_ACK = struct.Struct(f">{len(_ACK_PREFIX)}s" + "bhq" * 4 + "b")
_ACK_TAGS = (TType.I64, 1, TType.I64, 2, TType.I64, 3, TType.I64, 4)
# name, then field 1 (the mutation blob): type, id, length; the record follows
_PREPARE_HEAD = _name_prefix(Prepare) + bytes([TType.STRING]) + _I16.pack(1)
# after the record: primary (i64), status (i32), signature (i64), STOP
_PREPARE_TAIL = struct.Struct(">bhqbhibhqb")
_PREPARE_TAIL_TAGS = (TType.I64, 2, TType.I32, 3, TType.I64, 4)


def _encode_ack(ack: PrepareAck) -> bytes:
    return _ACK.pack(
        _ACK_PREFIX,
        TType.I64,
        1,
        _signed64(ack.gpid.to_i64()),
        TType.I64,
        2,
        ack.ballot,
        TType.I64,
        3,
        ack.decree,
        TType.I64,
        4,
        ack.node.to_i64(),
        TType.STOP,
    )


def _decode_ack(raw: bytes) -> PrepareAck | None:
    if len(raw) != _ACK.size or not raw.startswith(_ACK_PREFIX):
        return None
    (_, t1, f1, gpid, t2, f2, ballot, t3, f3, decree, t4, f4, node, stop) = _ACK.unpack(raw)
    if (t1, f1, t2, f2, t3, f3, t4, f4) != _ACK_TAGS or stop != TType.STOP:
        return None
    return PrepareAck(Gpid.from_i64(gpid), ballot, decree, RpcAddress.from_i64(node))


def _encode_prepare(prepare: Prepare) -> bytes:
    record = encode_mutation(prepare.mutation)
    tail = _PREPARE_TAIL.pack(
        TType.I64,
        2,
        prepare.primary.to_i64(),
        TType.I32,
        3,
        int(prepare.status),
        TType.I64,
        4,
        prepare.signature,
        TType.STOP,
    )
    return b"".join((_PREPARE_HEAD, _I32.pack(len(record)), record, tail))


def _decode_prepare(raw: bytes, limits: DecodeLimits) -> Prepare | None:
    start = len(_PREPARE_HEAD) + _I32.size
    if len(raw) < start or not raw.startswith(_PREPARE_HEAD):
        return None
    (length,) = _I32.unpack_from(raw, len(_PREPARE_HEAD))
    end = start + length
    if not 0 <= length <= limits.max_string_bytes or len(raw) != end + _PREPARE_TAIL.size:
        return None
    t2, f2, primary, t3, f3, status, t4, f4, signature, stop = _PREPARE_TAIL.unpack_from(raw, end)
    if (t2, f2, t3, f3, t4, f4) != _PREPARE_TAIL_TAGS or stop != TType.STOP:
        return None
    try:
        mutation, record_end = decode_mutation(raw, start)
        if record_end != end:
            return None
        return Prepare(mutation, RpcAddress.from_i64(primary), PartitionStatus(status), signature)
    except (MutationDecodeError, ValueError, AssertionError):
        return None  # the generic decoder says what is wrong


def _signed64(v: int) -> int:
    return v - (1 << 64) if v >= 1 << 63 else v


def encode_message(msg: Any) -> bytes:
    kind = type(msg)
    if kind is PrepareAck:
        return _encode_ack(msg)
    if kind is Prepare:
        return _encode_prepare(msg)
    return encode_generic(msg)


def encode_generic(msg: Any) -> bytes:
    """``encode_message`` without the fast paths (the bytes those must equal)."""
    out = bytearray()
    _w_blob(out, type(msg).__name__.encode())
    _struct_codec(type(msg))[0](out, msg)
    return bytes(out)


def decode_message(
    raw: bytes, kinds: dict[str, type[Any]], limits: DecodeLimits | None = None
) -> Any:
    """Decode a message of one of ``kinds`` (class name -> class)."""
    limits = limits or _DEFAULT_LIMITS
    fast: Any = None
    if raw.startswith(_ACK_PREFIX) and kinds.get(PrepareAck.__name__) is PrepareAck:
        fast = _decode_ack(raw)
    elif raw.startswith(_PREPARE_HEAD) and kinds.get(Prepare.__name__) is Prepare:
        fast = _decode_prepare(raw, limits)
    if fast is not None:
        return fast
    return decode_generic(raw, kinds, limits)


def decode_generic(
    raw: bytes, kinds: dict[str, type[Any]], limits: DecodeLimits | None = None
) -> Any:
    """``decode_message`` without the fast paths (the outcome those must give)."""
    r = Reader(raw, limits or _DEFAULT_LIMITS)
    name = r.string()
    cls = kinds.get(name)
    if cls is None:
        raise ThriftDecodeError(f"unknown message kind {name!r}")
    value = _struct_codec(cls)[1](r)
    if r.pos != r.end:
        raise ThriftDecodeError(f"{r.end - r.pos} trailing bytes")
    return value
