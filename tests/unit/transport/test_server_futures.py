"""A handler that returns an asyncio future is answered when the future is done, from
its callback: results, RpcErrors and out-of-order completions reach the right callers.
Writes reach the handler with their argument's encoding as it came. Each runs on both
event loops a server may run on (asyncio's and uvloop's)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from pegasus_log.rpc import messages as m
from pegasus_log.rpc.error_code import ErrorCode
from pegasus_log.rpc.frame import FrameLimits
from pegasus_log.rpc.thrift import decode, encode
from pegasus_log.transport.connection import CallFailed, Connection
from pegasus_log.transport.loops import EVENT_LOOPS, run_on
from pegasus_log.transport.server import Call, RpcError, RpcServer


def _request(i: int) -> m.UpdateRequest:
    return m.UpdateRequest(key=b"\x00\x01h" + str(i).encode(), value=b"v" * i)


@pytest.mark.parametrize("loop", EVENT_LOOPS)
def test_future_answers_reach_their_callers_in_any_order(loop: str) -> None:
    futures: dict[bytes, asyncio.Future[Any]] = {}
    calls: list[Call] = []

    def handler(call: Call) -> asyncio.Future[Any]:
        calls.append(call)
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        futures[call.arg.key] = fut
        return fut

    async def scenario() -> None:
        rpcs = {m.RRDB_PUT.name: (m.RRDB_PUT, handler)}
        server = RpcServer(rpcs=rpcs, limits=FrameLimits(), name="futures")
        port = await server.start("127.0.0.1", 0)
        conn = Connection("127.0.0.1", port)
        try:
            pending = [
                asyncio.ensure_future(conn.call(m.RRDB_PUT, _request(i), timeout_s=5.0))
                for i in range(1, 6)
            ]
            while len(futures) < 5:
                await asyncio.sleep(0.01)
            # answer backwards; the third fails with an error name
            for i in range(5, 0, -1):
                fut = futures[_request(i).key]
                if i == 3:
                    fut.set_exception(RpcError(ErrorCode.ERR_BUSY, "scripted"))
                else:
                    fut.set_result(m.UpdateResponse(decree=i))
            results = await asyncio.gather(*pending, return_exceptions=True)
        finally:
            await conn.close()
            await server.stop()
        for i, result in enumerate(results, start=1):
            if i == 3:
                assert isinstance(result, CallFailed) and result.code == ErrorCode.ERR_BUSY
            else:
                assert isinstance(result, m.UpdateResponse) and result.decree == i
        for call in calls:
            assert call.arg_encoded == encode(m.UpdateRequest, call.arg)
            assert decode(m.UpdateRequest, call.arg_encoded) == call.arg

    run_on(loop, scenario())


@pytest.mark.parametrize("loop", EVENT_LOOPS)
def test_a_cancelled_future_sends_nothing_and_the_connection_goes_on(loop: str) -> None:
    def handler(call: Call) -> Any:
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        if call.arg.key.endswith(b"1"):
            fut.cancel()
        else:
            fut.set_result(m.UpdateResponse(decree=7))
        return fut

    async def scenario() -> None:
        rpcs = {m.RRDB_PUT.name: (m.RRDB_PUT, handler)}
        server = RpcServer(rpcs=rpcs, limits=FrameLimits(), name="futures")
        port = await server.start("127.0.0.1", 0)
        conn = Connection("127.0.0.1", port)
        try:
            with pytest.raises(CallFailed) as unanswered:
                await conn.call(m.RRDB_PUT, _request(1), timeout_s=0.5)
            assert unanswered.value.code == ErrorCode.ERR_TIMEOUT
            answer = await conn.call(m.RRDB_PUT, _request(2), timeout_s=5.0)
            assert answer.decree == 7
        finally:
            await conn.close()
            await server.stop()

    run_on(loop, scenario())
