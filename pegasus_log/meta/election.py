"""Meta leader election on ZooKeeper with kazoo's Lock recipe.

Every meta contends for the lock at the layout's leader lock path with its address as
identifier; the holder leads, and the first contender is the holder, so followers learn
the leader's address from ``contenders()``. The leader stops leading the moment its
ZooKeeper connection is suspended or its session lost (a new leader may be elected once
the session expires), then contends again.
"""

from __future__ import annotations

import asyncio
import logging
import threading

from kazoo.client import KazooClient, KazooState
from kazoo.exceptions import KazooException
from kazoo.recipe.lock import Lock

from pegasus_log.meta.service import MetaService
from pegasus_log.rpc.thrift import RpcAddress

log = logging.getLogger(__name__)

# How often a follower re-reads who leads; the Go client retries other metas after 1 s.
_LEADER_POLL_S = 0.5
# How long one attempt to take the lock blocks before checking for shutdown.
_ACQUIRE_SLICE_S = 1.0


class Election:
    def __init__(self, client: KazooClient, path: str, service: MetaService) -> None:
        self._client = client
        self._service = service
        self._lock = Lock(client, path, identifier=str(service.address))
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lost = threading.Event()
        self._stopping = False
        client.add_listener(self._on_state)

    def _on_state(self, state: str) -> None:
        # Runs on kazoo's thread: hand over to the event loop, never block here.
        if state in (KazooState.SUSPENDED, KazooState.LOST):
            self._lost.set()
            if self._loop is not None:
                self._loop.call_soon_threadsafe(self._service.step_down)

    async def run(self) -> None:
        self._loop = asyncio.get_running_loop()
        while not self._stopping:
            self._lost.clear()
            acquired = await asyncio.to_thread(self._acquire)
            if not acquired:
                await self._refresh_leader()
                await asyncio.sleep(_LEADER_POLL_S)
                continue
            try:
                await self._service.become_leader()
            except Exception:
                log.exception("could not take over as leader")
                self._service.step_down()
                await asyncio.to_thread(self._release)
                await asyncio.sleep(_LEADER_POLL_S)
                continue
            while not self._stopping and not self._lost.is_set() and self._service.leader:
                await asyncio.sleep(_LEADER_POLL_S / 5)
            self._service.step_down()
            await asyncio.to_thread(self._release)

    def _acquire(self) -> bool:
        try:
            return bool(self._lock.acquire(blocking=True, timeout=_ACQUIRE_SLICE_S))
        except KazooException as e:
            log.debug("lock attempt failed: %s", e)
            return False
        except Exception as e:
            if type(e).__name__ == "LockTimeout":
                return False
            raise

    def _release(self) -> None:
        try:
            self._lock.release()
        except KazooException as e:
            log.debug("lock release failed: %s", e)

    async def _refresh_leader(self) -> None:
        try:
            contenders = await asyncio.to_thread(self._lock.contenders)
        except KazooException:
            return
        leader = RpcAddress.parse(contenders[0]) if contenders else None
        self._service.set_leader_address(leader)

    async def stop(self) -> None:
        self._stopping = True
        self._service.step_down()
        await asyncio.to_thread(self._release)
