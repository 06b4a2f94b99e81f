"""The client the shell drives: the blocking client plus the few things a shell needs that
an application does not (routing tables to print, with every partition's secondaries,
per-partition scanners, a second cluster to copy into, Ctrl-C that cancels a long job,
the admin client for the table and cluster commands)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import time
import urllib.request
from collections.abc import Callable, Coroutine, Iterator, Sequence
from typing import Any, TypeVar

from pegasus_log.client.aio import AsyncClient, AsyncTable, Scanner, ScanOptions
from pegasus_log.client.errors import PegasusError
from pegasus_log.client.routing import Route
from pegasus_log.client.sync import Admin, Client
from pegasus_log.rpc.error_code import ErrorCode, error_from_name
from pegasus_log.rpc.messages import (
    CM_QUERY_PARTITION_CONFIG,
    PartitionConfiguration,
    QueryCfgRequest,
    QueryCfgResponse,
)
from pegasus_log.rpc.thrift import RpcAddress
from pegasus_log.shell.shell.reports import PartitionView, TableRouting
from pegasus_log.transport.connection import CallFailed

T = TypeVar("T")

# How long a cancelled job may take to unwind (closing its scanners) after Ctrl-C.
_CANCEL_WAIT_S = 5.0
# Forwards from follower metas followed in one routing query: more than the metas of any
# sane deployment, so confused followers pointing at each other cannot loop forever.
_MAX_FORWARDS = 8


class ShellClient(Client):
    """``Client`` with routing, per-partition scanners, remote clusters and cancellable runs.

    It reaches the parent's asyncio client and loop (``_aio``, ``_loop``): the shell is the
    one user that needs them, so they stay unadvertised on ``Client`` itself.
    """

    def __init__(self, metas: Sequence[str], *, timeout_s: float) -> None:
        super().__init__(list(metas), timeout_s=timeout_s)
        self.metas = list(metas)
        self.timeout_s = timeout_s
        self._remotes: dict[tuple[str, ...], AsyncClient] = {}
        self._admin: Admin | None = None

    @property
    def admin(self) -> Admin:
        """The admin client of this cluster, made on first use (its own loop thread)."""
        if self._admin is None:
            self._admin = Admin(self.metas)
        return self._admin

    def routing(self, name: str) -> TableRouting:
        """The full routing table of ``name`` (primaries and secondaries), asked now."""
        resp = self.run(self._query_configs(name))
        code = error_from_name(resp.err)
        if code != ErrorCode.ERR_OK:
            raise PegasusError("query_cfg", code=code, detail=f"table {name!r}")
        return TableRouting(
            resp.app_id,
            resp.partition_count,
            tuple(sorted((_partition(pc) for pc in resp.partitions), key=lambda p: p.index)),
        )

    async def _query_configs(self, name: str) -> QueryCfgResponse:
        """Ask each meta in turn, following a follower's pointer to the leader."""
        last = "no meta server"
        for meta in self.metas:
            target = RpcAddress.parse(meta)
            for _ in range(_MAX_FORWARDS):
                try:
                    resp = await self._query(target, name)
                except CallFailed as e:
                    last = str(e)
                    break
                if resp.err != ErrorCode.ERR_FORWARD_TO_OTHERS.name:
                    return resp
                leader = resp.partitions[0].primary if resp.partitions else RpcAddress("", 0)
                if leader.is_invalid:
                    last = f"{target} does not lead and knows no leader"
                    break
                target = leader
        raise PegasusError(
            "query_cfg", code=ErrorCode.ERR_NETWORK_FAILURE, detail=f"no meta answered: {last}"
        )

    async def _query(self, target: RpcAddress, name: str) -> QueryCfgResponse:
        conn = self._aio.pool.get(target.host, target.port)
        resp: QueryCfgResponse = await conn.call(
            CM_QUERY_PARTITION_CONFIG, QueryCfgRequest(app_name=name), timeout_s=self.timeout_s
        )
        return resp

    def metrics_pages(self, addresses: Sequence[str]) -> dict[str, tuple[float, str]]:
        """Each server's ``/metrics`` page (served on its RPC port) read now, all at once,
        with when it arrived (``time.monotonic()``); a server that does not answer is left
        out."""

        def read(address: str) -> tuple[str, tuple[float, str] | None]:
            try:
                url = f"http://{address}/metrics"
                with urllib.request.urlopen(url, timeout=self.timeout_s) as reply:
                    body = reply.read().decode("utf-8", errors="replace")
            except (OSError, ValueError):
                return address, None
            return address, (time.monotonic(), body)

        with concurrent.futures.ThreadPoolExecutor(max(1, min(len(addresses), 16))) as pool:
            read_all = list(pool.map(read, addresses))
        return {address: page for address, page in read_all if page is not None}

    def meta_alive(self, address: str) -> bool:
        """Whether the meta server at ``address`` answers (a leader or a follower)."""
        try:
            self.run(self._query(RpcAddress.parse(address), ""))
        except CallFailed:
            return False
        return True

    def async_table(self, name: str) -> AsyncTable:
        return self.run(self._aio.open_table(name))

    def route(self, name: str) -> Route:
        """The routing table of ``name``, asked of the meta servers now."""
        return self.run(self._aio.route(name))

    def remote_table(self, metas: Sequence[str], name: str) -> AsyncTable:
        """A table of the cluster of ``metas`` (this one when they are ours), served from
        this client's event loop so jobs can read here and write there concurrently."""
        if sorted(metas) == sorted(self.metas):
            return self.async_table(name)
        key = tuple(sorted(metas))
        remote = self._remotes.get(key)
        if remote is None:
            remote = self.run(self._make_remote(list(metas), self.timeout_s))
            self._remotes[key] = remote
        return self.run(remote.open_table(name))

    @staticmethod
    async def _make_remote(metas: list[str], timeout_s: float) -> AsyncClient:
        return AsyncClient(metas, timeout_s=timeout_s)

    def partition_scanners(self, name: str, options: ScanOptions) -> list[Scanner]:
        """One full-table scanner per partition, index i scanning partition i."""
        table = self.async_table(name)
        return table.get_unordered_scanners(table.partition_count, options)

    def batches(self, scanner: Scanner) -> Iterator[list[Any]]:
        """The batches of ``scanner``; closes it however the iteration ends."""
        try:
            while True:
                batch = self.run(scanner.next_batch())
                if batch is None:
                    return
                yield batch
        finally:
            self.run(scanner.close())

    def run_job(
        self,
        coro: Coroutine[Any, Any, T],
        *,
        tick: Callable[[], None] | None = None,
        tick_s: float = 0.2,
        time_limit_s: float = 0.0,
    ) -> tuple[bool, T | None]:
        """Run ``coro`` on the client's loop, calling ``tick`` from this thread every
        ``tick_s`` while it runs. Returns (True, result) when it finished and (False, None)
        when ``time_limit_s`` (> 0) ran out and it was cancelled. Ctrl-C cancels it and is
        re-raised once the job has unwound; the job's own exception is raised as is."""
        future = asyncio.run_coroutine_threadsafe(coro, self._loop)
        started = time.monotonic()
        try:
            while not future.done():
                concurrent.futures.wait([future], timeout=tick_s)
                if tick is not None:
                    tick()
                if 0 < time_limit_s <= time.monotonic() - started and not future.done():
                    self._cancel(future)
                    return False, None
        except KeyboardInterrupt:
            self._cancel(future)
            raise
        return True, future.result()

    @staticmethod
    def _cancel(future: concurrent.futures.Future[Any]) -> None:
        future.cancel()
        # Whatever the job ends with now (cancelled, its own error, still unwinding) no
        # longer matters: the user or the time limit stopped it.
        with contextlib.suppress(Exception):
            future.result(_CANCEL_WAIT_S)

    def close(self) -> None:
        if self._admin is not None:
            admin, self._admin = self._admin, None
            admin.close()
        remotes, self._remotes = list(self._remotes.values()), {}
        for remote in remotes:
            self.run(remote.close())
        super().close()


def primary_of(route: Route, partition_index: int) -> str:
    """The primary of a partition as ``host:port`` (``-`` when it has none)."""
    addr: RpcAddress = route.primaries[partition_index]
    return "-" if addr.is_invalid else str(addr)


def _partition(pc: PartitionConfiguration) -> PartitionView:
    return PartitionView(
        index=pc.pid.partition_index,
        ballot=pc.ballot,
        max_replica_count=pc.max_replica_count,
        primary="" if pc.primary.is_invalid else str(pc.primary),
        secondaries=tuple(str(s) for s in pc.secondaries if not s.is_invalid),
    )
