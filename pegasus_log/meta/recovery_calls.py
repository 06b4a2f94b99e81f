"""The meta's questions to replica servers during meta recovery: each server's table
records (``RPC_QUERY_APP_INFO``) and stored replicas (``RPC_QUERY_REPLICA_INFO``),
asked of every server at once. What to do with the answers is
``meta/core/recovery.py``'s."""

from __future__ import annotations

import asyncio

from pegasus_log.meta.core.recovery import NodeReport
from pegasus_log.rpc import admin as a
from pegasus_log.rpc.error_code import ErrorCode
from pegasus_log.rpc.thrift import RpcAddress
from pegasus_log.transport.connection import CallFailed, Connection


async def ask_replica_servers(
    nodes: list[RpcAddress], *, meta: RpcAddress, timeout_s: float
) -> list[NodeReport | str]:
    """Per node, in order, its report or why there is none (an error name)."""
    return list(await asyncio.gather(*(_ask(n, meta, timeout_s) for n in nodes)))


async def _ask(node: RpcAddress, meta: RpcAddress, timeout_s: float) -> NodeReport | str:
    conn = Connection(node.host, node.port)
    try:
        apps: a.QueryAppInfoResponse = await conn.call(
            a.QUERY_APP_INFO, a.QueryAppInfoRequest(meta_server=meta), timeout_s=timeout_s
        )
        replicas: a.QueryReplicaInfoResponse = await conn.call(
            a.QUERY_REPLICA_INFO, a.QueryReplicaInfoRequest(node1=node), timeout_s=timeout_s
        )
    except CallFailed as e:
        return e.code.name
    finally:
        await conn.close()
    for err in (apps.err, replicas.err):
        if err != ErrorCode.ERR_OK.name:
            return err
    return NodeReport(str(node), tuple(apps.apps), tuple(replicas.replicas))
