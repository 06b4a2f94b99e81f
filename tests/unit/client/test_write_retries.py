"""The client sends a write again only when the server proved it did not apply it: a
write whose attempt went unanswered may have been applied (or be applied later), and a
second copy would apply it twice. Against a scripted replica on a loopback socket."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from pegasus_log.client.aio import AsyncClient, AsyncTable
from pegasus_log.client.errors import PegasusError
from pegasus_log.client.routing import Route
from pegasus_log.rpc import messages as m
from pegasus_log.rpc.error_code import ErrorCode
from pegasus_log.rpc.frame import FrameLimits
from pegasus_log.rpc.thrift import RpcAddress
from pegasus_log.transport.server import Call, RpcError, RpcServer

# No meta answers here: a routing refresh fails fast and the table keeps its route.
NO_META = "127.0.0.1:1"


async def _serve(handler: Callable[[Call], Any]) -> tuple[RpcServer, int]:
    rpcs = {spec.name: (spec, handler) for spec in (m.RRDB_CHECK_AND_SET, m.RRDB_GET)}
    server = RpcServer(rpcs=rpcs, limits=FrameLimits(), name="scripted")
    port = await server.start("127.0.0.1", 0)
    return server, port


def _table(client: AsyncClient, port: int) -> AsyncTable:
    route = Route(
        app_id=1, partition_count=1, primaries=(RpcAddress("127.0.0.1", port),), ballots=(1,)
    )
    return AsyncTable(client, "t", route)


async def _check_and_set(table: AsyncTable) -> bool:
    result = await table.check_and_set(
        b"h", b"s", m.CasCheckType.CT_VALUE_NOT_EXIST, b"", b"s", b"v"
    )
    return result.set_succeed


def test_an_unanswered_check_and_set_is_not_sent_again() -> None:
    calls: list[int] = []

    async def slow(call: Call) -> m.CheckAndSetResponse:
        calls.append(call.seqid)
        await asyncio.sleep(5.0)  # applied, but the answer comes after the deadline
        return m.CheckAndSetResponse()

    async def scenario() -> None:
        server, port = await _serve(slow)
        client = AsyncClient([NO_META], timeout_s=1.5)
        try:
            with pytest.raises(PegasusError) as failed:
                await _check_and_set(_table(client, port))
            assert failed.value.code == ErrorCode.ERR_TIMEOUT
            assert "outcome unknown" in str(failed.value)
            assert len(calls) == 1
        finally:
            await client.close()
            await server.stop()

    asyncio.run(scenario())


def test_a_check_and_set_answered_with_unknown_outcome_is_not_sent_again() -> None:
    calls: list[int] = []

    def abandoned(call: Call) -> m.CheckAndSetResponse:
        calls.append(call.seqid)
        raise RpcError(ErrorCode.ERR_TIMEOUT, "prepared, then the primary stepped down")

    async def scenario() -> None:
        server, port = await _serve(abandoned)
        client = AsyncClient([NO_META], timeout_s=3.0)
        try:
            with pytest.raises(PegasusError) as failed:
                await _check_and_set(_table(client, port))
            assert failed.value.code == ErrorCode.ERR_TIMEOUT
            assert len(calls) == 1
        finally:
            await client.close()
            await server.stop()

    asyncio.run(scenario())


def test_a_refused_check_and_set_is_sent_again() -> None:
    calls: list[int] = []

    def refuse_once(call: Call) -> m.CheckAndSetResponse:
        calls.append(call.seqid)
        if len(calls) == 1:
            raise RpcError(ErrorCode.ERR_INVALID_STATE, "not primary yet")
        return m.CheckAndSetResponse()

    async def scenario() -> None:
        server, port = await _serve(refuse_once)
        client = AsyncClient([NO_META], timeout_s=3.0)
        try:
            assert await _check_and_set(_table(client, port))
            assert len(calls) == 2
        finally:
            await client.close()
            await server.stop()

    asyncio.run(scenario())


def test_an_unanswered_read_is_sent_again() -> None:
    calls: list[int] = []

    async def first_lost(call: Call) -> m.ReadResponse:
        calls.append(call.seqid)
        if len(calls) == 1:
            await asyncio.sleep(5.0)
        return m.ReadResponse(value=b"v")

    async def scenario() -> None:
        server, port = await _serve(first_lost)
        client = AsyncClient([NO_META], timeout_s=4.0)  # attempts of 1 s
        try:
            assert await _table(client, port).get(b"h", b"s") == b"v"
            assert len(calls) == 2
        finally:
            await client.close()
            await server.stop()

    asyncio.run(scenario())
