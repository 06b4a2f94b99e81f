"""Meta leader election on ZooKeeper with kazoo's Lock recipe.

Every meta contends for the lock at the layout's leader lock path with its address as
identifier and keeps contending (its lock node stays while it waits); the holder leads.
``contenders()`` lists every contending meta with the holder first, so every meta knows
the leader's address and the whole meta group from it. The leader stops leading the moment
its ZooKeeper connection is suspended or its session lost (a new leader may be elected
once the session expires), then contends again.
"""

from __future__ import annotations

import asyncio
import logging
import threading

from kazoo.client import KazooClient, KazooState
from kazoo.exceptions import CancelledError, KazooException
from kazoo.recipe.lock import Lock

from pegasus_log.meta.service import MetaService
from pegasus_log.rpc.thrift import RpcAddress

log = logging.getLogger(__name__)

# How often the contenders are read; the Go client retries other metas after 1 s.
_LEADER_POLL_S = 0.5
# Pause before contending again after a failed attempt (connection trouble).
_RETRY_S = 0.5


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
        poller = asyncio.create_task(self._poll_contenders())
        try:
            while not self._stopping:
                await self._term()
        finally:
            poller.cancel()

    async def _term(self) -> None:
        """Contend until elected, lead until the session wavers, then let go."""
        self._lost.clear()
        acquired = await asyncio.to_thread(self._acquire)
        if not acquired or self._stopping:
            await asyncio.sleep(_RETRY_S)
            return
        try:
            await self._service.become_leader()
        except Exception:
            log.exception("could not take over as leader")
            self._service.step_down()
            await asyncio.to_thread(self._release)
            await asyncio.sleep(_RETRY_S)
            return
        while not self._stopping and not self._lost.is_set() and self._service.leader:
            await asyncio.sleep(_LEADER_POLL_S / 5)
        self._service.step_down()
        await asyncio.to_thread(self._release)

    def _acquire(self) -> bool:
        """Blocks until this meta holds the lock (True), or contending failed or was
        cancelled (False)."""
        try:
            return bool(self._lock.acquire(blocking=True))
        except CancelledError:
            return False
        except KazooException as e:
            log.info("contending for leadership failed, will retry: %s", e)
            return False

    def _release(self) -> None:
        try:
            self._lock.release()
        except KazooException as e:
            log.debug("lock release failed: %s", e)

    async def _poll_contenders(self) -> None:
        while True:
            try:
                contenders = await asyncio.to_thread(self._lock.contenders)
            except KazooException:
                contenders = None
            if contenders is not None:
                known = [RpcAddress.parse(c) for c in contenders if c]
                self._service.meta_servers = sorted(known, key=lambda x: (x.host, x.port))
                self._service.set_leader_address(known[0] if known else None)
            await asyncio.sleep(_LEADER_POLL_S)

    async def stop(self) -> None:
        self._stopping = True
        self._lock.cancel()
        self._service.step_down()
        await asyncio.to_thread(self._release)
