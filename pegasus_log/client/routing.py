"""Routing: which replica server is primary for each partition of a table.

The routing table of a table comes from the meta servers (query_cfg); a follower meta
answers ERR_FORWARD_TO_OTHERS naming the leader, which we follow. The table is cached and
refreshed when a replica answers an error that means "your routing is stale".
"""

from __future__ import annotations

import asyncio

from pegasus_log.client.errors import PegasusError
from pegasus_log.frozen import frozen
from pegasus_log.rpc.error_code import ErrorCode, error_from_name
from pegasus_log.rpc.messages import CM_QUERY_PARTITION_CONFIG, QueryCfgRequest, QueryCfgResponse
from pegasus_log.rpc.thrift import RpcAddress
from pegasus_log.transport.connection import CallFailed, Connection

# Forwards followed in one query before giving up: more than the number of metas in any
# sane deployment, so a loop between confused followers still terminates.
_MAX_FORWARDS = 8


@frozen
class Route:
    app_id: int
    partition_count: int
    primaries: tuple[RpcAddress, ...]
    ballots: tuple[int, ...]
    secondaries: tuple[tuple[RpcAddress, ...], ...] = ()

    def members(self, index: int) -> tuple[RpcAddress, ...]:
        """Primary and secondaries of one partition, as the meta answered."""
        primary = self.primaries[index]
        rest = self.secondaries[index] if self.secondaries else ()
        return (primary, *rest) if not primary.is_invalid else rest


class ConnectionPool:
    """One pipelined connection per server address, shared by every table."""

    def __init__(self) -> None:
        self._conns: dict[tuple[str, int], Connection] = {}

    def get(self, host: str, port: int) -> Connection:
        key = (host, port)
        conn = self._conns.get(key)
        if conn is None:
            conn = Connection(host, port)
            self._conns[key] = conn
        return conn

    async def close(self) -> None:
        conns, self._conns = list(self._conns.values()), {}
        await asyncio.gather(*(c.close() for c in conns))


class MetaResolver:
    """Asks the meta servers for routing tables, remembering the last leader."""

    def __init__(self, metas: list[str], pool: ConnectionPool) -> None:
        if not metas:
            raise ValueError("at least one meta server address is needed")
        self._metas = [(a.host, a.port) for a in map(RpcAddress.parse, metas)]
        self._leader = 0
        self._pool = pool

    async def query(self, table: str, *, timeout_s: float) -> Route:
        last: Exception | None = None
        order = self._metas[self._leader :] + self._metas[: self._leader]
        for host, port in order:
            try:
                resp = await self._query_following(host, port, table, timeout_s)
            except CallFailed as e:
                last = e
                continue
            return _route_of(table, resp)
        raise PegasusError(
            "query_cfg", code=ErrorCode.ERR_NETWORK_FAILURE, detail=f"no meta answered: {last}"
        )

    async def _query_following(
        self, host: str, port: int, table: str, timeout_s: float
    ) -> QueryCfgResponse:
        for _ in range(_MAX_FORWARDS):
            conn = self._pool.get(host, port)
            resp: QueryCfgResponse = await conn.call(
                CM_QUERY_PARTITION_CONFIG, QueryCfgRequest(app_name=table), timeout_s=timeout_s
            )
            if resp.err != ErrorCode.ERR_FORWARD_TO_OTHERS.name:
                if (host, port) in self._metas:
                    self._leader = self._metas.index((host, port))
                return resp
            if not resp.partitions or resp.partitions[0].primary.is_invalid:
                raise CallFailed(ErrorCode.ERR_FORWARD_TO_OTHERS, "follower knows no leader")
            leader = resp.partitions[0].primary
            host, port = leader.host, leader.port
        raise CallFailed(ErrorCode.ERR_FORWARD_TO_OTHERS, "too many forwards")


def _route_of(table: str, resp: QueryCfgResponse) -> Route:
    code = error_from_name(resp.err)
    if code != ErrorCode.ERR_OK:
        raise PegasusError("query_cfg", code=code, detail=f"table {table!r}")
    count = resp.partition_count
    if count <= 0 or count & (count - 1):
        raise PegasusError(
            "query_cfg", code=ErrorCode.ERR_INVALID_DATA, detail=f"partition count {count}"
        )
    primaries = [RpcAddress("", 0)] * count
    ballots = [0] * count
    secondaries: list[tuple[RpcAddress, ...]] = [()] * count
    for pc in resp.partitions:
        idx = pc.pid.partition_index
        if 0 <= idx < count:
            primaries[idx] = pc.primary
            ballots[idx] = pc.ballot
            secondaries[idx] = tuple(pc.secondaries)
    return Route(resp.app_id, count, tuple(primaries), tuple(ballots), tuple(secondaries))
