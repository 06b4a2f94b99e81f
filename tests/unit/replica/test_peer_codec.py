"""Every peer message of the replica core survives the derived thrift codec; bad bytes
are a clear decode error. The fast paths of Prepare and PrepareAck write the generic
encoding byte for byte and decide every input as the generic decoder does."""

from __future__ import annotations

import dataclasses
import enum
import types
import typing
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs

from pegasus_log.replica.core import messages as cm
from pegasus_log.replica.peer_codec import (
    decode_generic,
    decode_message,
    encode_generic,
    encode_message,
)
from pegasus_log.replica.plog.mutation import Mutation, MutationUpdate
from pegasus_log.rpc.admin import PartitionStatus
from pegasus_log.rpc.messages import PartitionConfiguration
from pegasus_log.rpc.thrift import Gpid, RpcAddress, ThriftDecodeError

KINDS = {
    n: c
    for n, c in vars(cm).items()
    if isinstance(c, type) and dataclasses.is_dataclass(c) and c.__module__ == cm.__name__
}
_i32 = hs.integers(-(2**31), 2**31 - 1)
_addr = hs.builds(lambda p: RpcAddress("127.0.0.1", p), hs.integers(1, 65535))
_gpid = hs.builds(Gpid, hs.integers(1, 1000), hs.integers(0, 255))
_mutation = hs.builds(
    Mutation,
    gpid=_gpid,
    ballot=hs.integers(0, 2**40),
    decree=hs.integers(1, 2**40),
    last_committed_decree=hs.integers(0, 2**40),
    timestamp_us=hs.integers(0, 2**60),
    updates=hs.lists(
        hs.builds(MutationUpdate, hs.sampled_from(["RPC_RRDB_RRDB_PUT"]), hs.binary(max_size=20)),
        max_size=3,
    ).map(tuple),
)
_config = hs.builds(
    PartitionConfiguration,
    pid=_gpid,
    ballot=hs.integers(0, 100),
    max_replica_count=hs.integers(1, 5),
    primary=_addr,
    secondaries=hs.lists(_addr, max_size=2),
)


def strategy(tp: Any) -> hs.SearchStrategy[Any]:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        (inner,) = [a for a in typing.get_args(tp) if a is not type(None)]
        return hs.one_of(hs.none(), strategy(inner))
    if origin is tuple:
        return hs.lists(strategy(typing.get_args(tp)[0]), max_size=3).map(tuple)
    simple = {
        bool: hs.booleans(),
        int: hs.integers(0, 2**62),
        str: hs.text(max_size=10),
        bytes: hs.binary(max_size=10),
        RpcAddress: _addr,
        Gpid: _gpid,
        Mutation: _mutation,
        PartitionConfiguration: _config,
    }
    if tp in simple:
        return simple[tp]
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return hs.sampled_from(list(tp))
    hints = typing.get_type_hints(tp)
    return hs.builds(tp, **{f.name: strategy(hints[f.name]) for f in dataclasses.fields(tp)})


@pytest.mark.parametrize("kind", sorted(KINDS), ids=str)
@settings(max_examples=30, deadline=None)
@given(data=hs.data())
def test_round_trip(kind: str, data: hs.DataObject) -> None:
    try:
        msg = data.draw(strategy(KINDS[kind]))
    except AssertionError:
        return  # the dataclass refused the drawn combination itself
    assert decode_message(encode_message(msg), KINDS) == msg


def test_bad_bytes_are_decode_errors() -> None:
    good = encode_message(cm.ClientRead(request_id=3))
    with pytest.raises(ThriftDecodeError, match="unknown message kind"):
        decode_message(b"\0\0\0\3Bad\0", KINDS)
    for cut in range(len(good)):
        with pytest.raises(ThriftDecodeError):
            decode_message(good[:cut], KINDS)


FAST_KINDS = (cm.Prepare, cm.PrepareAck)


def _draw(data: hs.DataObject, kind: type[Any]) -> Any:
    try:
        return data.draw(strategy(kind))
    except AssertionError:
        return None  # the dataclass refused the drawn combination itself


def _outcome(decoder: Any, raw: bytes) -> tuple[str, Any]:
    try:
        return "ok", decoder(raw, KINDS)
    except ThriftDecodeError:
        return "refused", None


@pytest.mark.parametrize("kind", FAST_KINDS, ids=lambda k: k.__name__)
@settings(max_examples=100, deadline=None)
@given(data=hs.data())
def test_fast_encoding_is_the_generic_encoding(kind: type[Any], data: hs.DataObject) -> None:
    msg = _draw(data, kind)
    if msg is None:
        return
    raw = encode_message(msg)
    assert raw == encode_generic(msg)
    assert decode_message(raw, KINDS) == msg == decode_generic(raw, KINDS)


@pytest.mark.parametrize("kind", FAST_KINDS, ids=lambda k: k.__name__)
@settings(max_examples=300, deadline=None)
@given(data=hs.data())
def test_damaged_fast_messages_are_decided_as_the_generic_decoder_does(
    kind: type[Any], data: hs.DataObject
) -> None:
    msg = _draw(data, kind)
    if msg is None:
        return
    raw = bytearray(encode_message(msg))
    how = data.draw(hs.sampled_from(["cut", "set", "append"]))
    if how == "cut":
        raw = raw[: data.draw(hs.integers(0, len(raw) - 1))]
    elif how == "set":
        raw[data.draw(hs.integers(0, len(raw) - 1))] = data.draw(hs.integers(0, 255))
    else:
        raw += data.draw(hs.binary(min_size=1, max_size=8))
    damaged = bytes(raw)
    assert _outcome(decode_message, damaged) == _outcome(decode_generic, damaged)


def test_unknown_enum_value_is_a_decode_error() -> None:
    mutation = Mutation(Gpid(1, 0), 2, 3, 2, 4, ())
    raw = bytearray(
        encode_message(cm.Prepare(mutation, RpcAddress("127.0.0.1", 1), PartitionStatus.PS_PRIMARY))
    )
    # the status value (i32) ends 12 bytes before the end: signature's header and value
    # (3 + 8 bytes), then STOP
    raw[-16:-12] = (99).to_bytes(4, "big")
    with pytest.raises(ThriftDecodeError, match="no value 99"):
        decode_message(bytes(raw), KINDS)
