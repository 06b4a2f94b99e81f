"""A replica server's link to the meta servers: beacons (the lease) and config sync.

Beacons go to the meta we believe leads, every ``beacon_interval_s``; a follower's ack
names the leader and we switch to it. An allowed ack extends the lease; once the lease
lapses the stub forgets every role (the meta may have moved our partitions meanwhile) and
the next config sync tells it what it is. Config sync runs every ``sync_interval_s`` and
right after the lease comes back; the meta also pushes configuration changes as they
happen (RPC_CONFIG_PROPOSAL), so sync only catches up what a lost push missed.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any, Protocol

from pegasus_log.failure_detector import FdOptions, WorkerLease
from pegasus_log.rpc import admin as a
from pegasus_log.rpc.messages import RpcSpec
from pegasus_log.rpc.thrift import RpcAddress
from pegasus_log.transport.connection import CallFailed, Connection
from pegasus_log.transport.server import Call

log = logging.getLogger(__name__)

# Upstream syncs every 30 s; pushes make sync a safety net, 3 s bounds how long a lost
# push can leave a partition unserved.
DEFAULT_SYNC_INTERVAL_S = 3.0


class HostedReplicas(Protocol):
    """What the link needs of the server's replicas (ReplicaStub or ReplicaServer)."""

    @property
    def address(self) -> RpcAddress: ...

    def on_proposal(self, req: a.ConfigurationUpdateRequest) -> None: ...

    def sync_configs(self, configs: list[a.ConfigurationUpdateRequest]) -> None: ...

    def forget_roles(self) -> None: ...

    def collect_garbage_replicas(self, named: list[a.ReplicaInfo]) -> None: ...

    def stored_replicas(self) -> list[a.ReplicaInfo]: ...


class MetaLink:
    def __init__(
        self,
        *,
        metas: list[RpcAddress],
        stub: HostedReplicas,
        fd: FdOptions,
        sync_interval_s: float = DEFAULT_SYNC_INTERVAL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not metas:
            raise ValueError("at least one meta server is needed")
        self._metas = list(metas)
        self._stub = stub
        self._fd = fd
        self._sync_interval_s = sync_interval_s
        self._clock = clock
        self.lease = WorkerLease(fd)
        self._target = self._metas[0]
        self._conns: dict[RpcAddress, Connection] = {}
        self._sync_now = asyncio.Event()
        self._roles_forgotten = True

    @property
    def fd(self) -> FdOptions:
        return self._fd

    @property
    def sync_interval_s(self) -> float:
        return self._sync_interval_s

    @sync_interval_s.setter
    def sync_interval_s(self, seconds: float) -> None:
        """Takes effect after the sync under way (a mutable flag, replica/flags.py)."""
        assert seconds > 0, seconds
        self._sync_interval_s = seconds

    def lease_valid(self) -> bool:
        return self.lease.valid(self._clock())

    def _conn(self, node: RpcAddress) -> Connection:
        conn = self._conns.get(node)
        if conn is None:
            conn = Connection(node.host, node.port)
            self._conns[node] = conn
        return conn

    def _next_meta(self) -> None:
        i = self._metas.index(self._target) if self._target in self._metas else -1
        self._target = self._metas[(i + 1) % len(self._metas)]

    async def run(self) -> None:
        await asyncio.gather(self._beacon_loop(), self._sync_loop())

    async def _beacon_loop(self) -> None:
        while True:
            await self._beacon_once()
            if not self.lease.valid(self._clock()) and not self._roles_forgotten:
                log.warning("lease from the meta lapsed: serving nothing until config sync")
                self._stub.forget_roles()
                self._roles_forgotten = True
            await asyncio.sleep(self._fd.beacon_interval_s)

    async def _beacon_once(self) -> None:
        send_time = self._clock()
        msg = a.BeaconMsg(
            time=int(time.time() * 1000), from_node=self._stub.address, to_node=self._target
        )
        try:
            ack: a.BeaconAck = await self._conn(self._target).call(
                a.FD_BEACON, msg, timeout_s=self._fd.beacon_interval_s * 2
            )
        except CallFailed as e:
            log.debug("beacon to %s failed: %s", self._target, e)
            self._next_meta()
            return
        if not ack.is_master:
            if not ack.primary_node.is_invalid and ack.primary_node != self._target:
                self._target = ack.primary_node
            else:
                self._next_meta()
            return
        was_valid = self.lease.valid(send_time)
        self.lease.on_beacon_ack(send_time=send_time, allowed=ack.allowed)
        if ack.allowed and (not was_valid or self._roles_forgotten):
            self._sync_now.set()

    async def _sync_loop(self) -> None:
        while True:
            try:
                await asyncio.wait_for(self._sync_now.wait(), self._sync_interval_s)
            except TimeoutError:
                pass
            self._sync_now.clear()
            if self.lease.valid(self._clock()):
                await self._sync_once()

    async def _sync_once(self) -> None:
        req = a.ConfigurationQueryByNodeRequest(
            node=self._stub.address, stored_replicas=self._stub.stored_replicas()
        )
        try:
            resp: a.ConfigurationQueryByNodeResponse = await self._conn(self._target).call(
                a.CM_CONFIG_SYNC, req, timeout_s=self._fd.lease_s
            )
        except CallFailed as e:
            log.debug("config sync with %s failed: %s", self._target, e)
            return
        if resp.err != "ERR_OK":
            log.debug("config sync answered %s", resp.err)
            return
        self._stub.sync_configs(resp.partitions)
        self._stub.collect_garbage_replicas(resp.gc_replicas or [])
        self._roles_forgotten = False

    def on_config_proposal(self, call: Call) -> None:
        """The meta pushed one partition's new configuration."""
        req: a.ConfigurationUpdateRequest = call.arg
        if not self.lease.valid(self._clock()) or self._roles_forgotten:
            return  # a config sync will bring it, once the lease is back
        self._stub.on_proposal(req)

    async def call_meta(self, spec: RpcSpec, arg: Any) -> Any:
        """One call to the meta we believe leads (for configuration proposals)."""
        return await self._conn(self._target).call(spec, arg, timeout_s=self._fd.lease_s)

    async def close(self) -> None:
        for conn in self._conns.values():
            await conn.close()
