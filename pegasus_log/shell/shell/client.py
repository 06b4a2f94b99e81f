"""The client the shell drives: the blocking client plus the few things a shell needs that
an application does not (routing tables to print, per-partition scanners, a second
cluster to copy into, Ctrl-C that cancels a long job)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import time
from collections.abc import Callable, Coroutine, Iterator, Sequence
from typing import Any, TypeVar

from pegasus_log.client.aio import AsyncClient, AsyncTable, Scanner, ScanOptions
from pegasus_log.client.routing import Route
from pegasus_log.client.sync import Client
from pegasus_log.rpc.thrift import RpcAddress

T = TypeVar("T")

# How long a cancelled job may take to unwind (closing its scanners) after Ctrl-C.
_CANCEL_WAIT_S = 5.0


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
        remotes, self._remotes = list(self._remotes.values()), {}
        for remote in remotes:
            self.run(remote.close())
        super().close()


def primary_of(route: Route, partition_index: int) -> str:
    """The primary of a partition as ``host:port`` (``-`` when it has none)."""
    addr: RpcAddress = route.primaries[partition_index]
    return "-" if addr.is_invalid else str(addr)
