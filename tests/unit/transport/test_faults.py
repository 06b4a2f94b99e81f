"""Network faults acted out by a process (transport/faults.py): the remote command's
text interface, and what a Connection does towards a blocked address: calls are not
sent and time out, one-way messages are lost, replies already on the way are dropped,
and everything works again once unblocked."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from pegasus_log.rpc import messages as m
from pegasus_log.rpc.error_code import ErrorCode
from pegasus_log.rpc.frame import FrameLimits
from pegasus_log.transport.connection import CallFailed, Connection
from pegasus_log.transport.faults import NETWORK, NetworkFaults, network_faults_command
from pegasus_log.transport.server import Call, RpcServer


@pytest.fixture(autouse=True)
def clean() -> Iterator[None]:
    NETWORK.clear()
    yield
    NETWORK.clear()


def test_command_blocks_unblocks_lists_and_refuses_bad_input() -> None:
    faults = NetworkFaults()
    assert network_faults_command([], faults) == "blocked: none"
    assert (
        network_faults_command(["block", "127.0.0.1:2,127.0.0.1:1"], faults)
        == "blocked: 127.0.0.1:1,127.0.0.1:2"
    )
    assert faults.blocked("127.0.0.1:1") and not faults.blocked("127.0.0.1:3")
    assert network_faults_command(["unblock", "127.0.0.1:1"], faults) == "blocked: 127.0.0.1:2"
    assert network_faults_command(["list"], faults) == "blocked: 127.0.0.1:2"
    for bad in (["block", "nohost"], ["block", "h:99999"], ["block", ","], ["drop", "h:1"]):
        assert network_faults_command(bad, faults).startswith("invalid"), bad
    assert faults.addresses == frozenset({"127.0.0.1:2"})  # bad input changed nothing
    assert network_faults_command(["clear"], faults) == "blocked: none"


def test_connection_towards_a_blocked_address() -> None:
    received: list[bytes] = []
    answer: asyncio.Event | None = None

    async def put(call: Call) -> m.UpdateResponse:
        received.append(call.arg.key)
        if call.arg.key == b"slow":
            assert answer is not None
            await answer.wait()
        return m.UpdateResponse(decree=len(received))

    async def scenario() -> None:
        nonlocal answer
        answer = asyncio.Event()
        oneway = m.RpcSpec("RPC_TEST_ONEWAY", m.UpdateRequest, None, oneway=True)
        got_oneway: list[Any] = []
        rpcs = {
            m.RRDB_PUT.name: (m.RRDB_PUT, put),
            oneway.name: (oneway, lambda call: got_oneway.append(call.arg.key)),
        }
        server = RpcServer(rpcs=rpcs, limits=FrameLimits(), name="faults")
        port = await server.start("127.0.0.1", 0)
        conn = Connection("127.0.0.1", port)
        try:
            assert (await conn.call(m.RRDB_PUT, m.UpdateRequest(key=b"a"), timeout_s=5)).decree
            # A reply on its way when the block starts is dropped: the caller times out.
            slow = asyncio.ensure_future(
                conn.call(m.RRDB_PUT, m.UpdateRequest(key=b"slow"), timeout_s=0.5)
            )
            while b"slow" not in received:
                await asyncio.sleep(0.01)
            NETWORK.block([conn.address])
            answer.set()
            with pytest.raises(CallFailed) as dropped:
                await slow
            assert dropped.value.code == ErrorCode.ERR_TIMEOUT and dropped.value.unanswered
            # Blocked: nothing is sent, the call fails after its timeout.
            loop = asyncio.get_running_loop()
            started = loop.time()
            with pytest.raises(CallFailed) as lost:
                await conn.call(m.RRDB_PUT, m.UpdateRequest(key=b"b"), timeout_s=0.2)
            assert lost.value.code == ErrorCode.ERR_TIMEOUT
            assert loop.time() - started >= 0.2
            assert conn.post(oneway, m.UpdateRequest(key=b"c"), timeout_s=1) is True
            await conn.call(oneway, m.UpdateRequest(key=b"d"), timeout_s=1)
            await asyncio.sleep(0.1)
            assert b"b" not in received and got_oneway == []
            # Unblocked: both kinds go through again.
            NETWORK.unblock([conn.address])
            assert (await conn.call(m.RRDB_PUT, m.UpdateRequest(key=b"e"), timeout_s=5)).decree
            await conn.call(oneway, m.UpdateRequest(key=b"f"), timeout_s=1)
            while got_oneway != [b"f"]:
                await asyncio.sleep(0.01)
        finally:
            await conn.close()
            await server.stop()
        assert received == [b"a", b"slow", b"e"]

    asyncio.run(scenario())
