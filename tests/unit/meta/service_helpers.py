"""A leading MetaService on the in-memory store, for the tests of its RPC handlers: one
table ``t`` (app_id 1) of one partition, three replica servers alive, and no tick but
the ones a test runs."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

from pegasus_log.meta.service import MetaOptions, MetaService, NodeRecord
from pegasus_log.meta.state.layout import Layout
from pegasus_log.meta.state.memory import MemoryStore
from pegasus_log.meta.state.model import AppState, PartitionConfig
from pegasus_log.meta.state.repository import MetaStateRepository
from pegasus_log.rpc import admin as a
from pegasus_log.rpc.messages import RpcSpec
from pegasus_log.rpc.thrift import RpcAddress
from pegasus_log.transport.server import Call

# Nothing listens on these ports: configuration pushes fail at once (best effort).
A, B, C = (RpcAddress("127.0.0.1", p) for p in (1, 2, 3))
GPID = (1, 0)

HEALTHY = PartitionConfig(
    1, 0, ballot=3, max_replica_count=2, primary=str(A), secondaries=(str(B),)
)


async def leader(
    level: a.MetaFunctionLevel = a.MetaFunctionLevel.fl_steady,
    config: PartitionConfig = HEALTHY,
) -> MetaService:
    repo = MetaStateRepository(MemoryStore(), Layout.for_cluster("unit"))
    repo.initialize()
    app = AppState(
        app_id=1, app_name="t", partition_count=1, max_replica_count=config.max_replica_count
    )
    repo.create_app(app, [config])
    # An hour between ticks: the test's steps are the only ones.
    service = MetaService(
        repo=repo,
        address=RpcAddress("127.0.0.1", 4),
        options=MetaOptions(tick_s=3600.0, initial_level=level, push_timeout_s=0.5),
    )
    await service.become_leader()
    service._nodes = {n: NodeRecord(n) for n in (A, B, C)}
    return service


def call_of(spec: RpcSpec, arg: object) -> Call:
    return Call(spec, None, 1, arg, "test", 0)  # type: ignore[arg-type]  # no header needed


def run(test: Callable[[], Coroutine[Any, Any, None]]) -> None:
    asyncio.run(test())
