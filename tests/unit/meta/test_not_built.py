"""Admin RPCs of features not built yet: any plain request is read past, and the reply
carries only err = ERR_NOT_IMPLEMENTED."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from pegasus_log.meta import not_built
from pegasus_log.rpc.frame import (
    FrameLimits,
    ReplyFramer,
    encode_reply,
    encode_request,
    read_args,
    read_call_header,
    read_result,
)
from pegasus_log.rpc.messages import RpcSpec
from pegasus_log.rpc.thrift import BOOL, I32, I64, STRING, DecodeLimits, Field, ListOf


@dataclass(frozen=True, slots=True)
class _Plain:
    name: str = "t"
    count: int = 3
    stamp: int = 1 << 40
    flag: bool = True
    names: list[str] = field(default_factory=lambda: ["a", "b"])
    THRIFT: ClassVar = (
        Field(1, "name", STRING),
        Field(2, "count", I32),
        Field(3, "stamp", I64),
        Field(4, "flag", BOOL),
        Field(5, "names", ListOf(STRING)),
    )


def test_every_listed_rpc_reads_past_a_plain_request_and_answers_not_implemented() -> None:
    rpcs = not_built.rpcs()
    assert set(rpcs) == set(not_built.NOT_BUILT_RPCS)
    for name, (spec, handler) in rpcs.items():
        frame = encode_request(spec=RpcSpec(name, _Plain, None), seqid=5, arg=_Plain())
        header, r = read_call_header(frame[48:], DecodeLimits())
        assert header.name == name
        assert read_args(spec, r) == not_built.Unread()
        result = handler(None)  # type: ignore[arg-type]
        reply = encode_reply(error_name="ERR_OK", spec=spec, seqid=5, result=result)
        (got,) = ReplyFramer(FrameLimits()).feed(reply)
        assert got.error_name == "ERR_OK" and got.name == name + "_ACK"
        assert read_result(spec, got.reader) == not_built.ErrOnly("ERR_NOT_IMPLEMENTED")
