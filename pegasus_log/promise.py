"""A result that reaches its listeners the moment it is set.

An asyncio future runs its callbacks on the next pass of the event loop. On a replica
server's write path a result changes hands several times (the log append is durable ->
the core commits -> the storage batch is written -> the client's reply frame), and each
pass in between first runs everything else the busy loop has queued (other partitions'
messages, a log fsync). A ``Promise`` calls its listeners inside ``set_result``, so a
write's answer is encoded in the very callback that commits it.

It is awaitable too, for the rare caller that waits on one from a coroutine (a write
held until its primary starts serving): awaiting makes an asyncio future on demand.
Cancelling that await cancels the waiter only, never the promise (a write already handed
to the replica goes on; its outcome is what the promise will hold).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Generator
from typing import Any, Generic, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")

_PENDING = 0
_RESULT = 1
_ERROR = 2


class Promise(Generic[T]):
    __slots__ = ("_error", "_listeners", "_state", "_value")

    def __init__(self) -> None:
        self._state = _PENDING
        self._value: T | None = None
        self._error: BaseException | None = None
        self._listeners: list[Callable[[Promise[T]], None]] | None = None

    def done(self) -> bool:
        return self._state != _PENDING

    def cancelled(self) -> bool:
        """Always False: a promise is settled, never cancelled (the asyncio future
        interface, so a server can take either)."""
        return False

    def set_result(self, value: T) -> None:
        assert self._state == _PENDING, "a promise is settled once"
        self._state, self._value = _RESULT, value
        self._tell()

    def set_exception(self, error: BaseException) -> None:
        assert self._state == _PENDING, "a promise is settled once"
        self._state, self._error = _ERROR, error
        self._tell()

    def result(self) -> T:
        """The value; raises the error it was settled with, or when still pending."""
        if self._state == _ERROR:
            assert self._error is not None
            raise self._error
        if self._state == _PENDING:
            raise asyncio.InvalidStateError("promise is not settled")
        return self._value  # type: ignore[return-value]

    def exception(self) -> BaseException | None:
        if self._state == _PENDING:
            raise asyncio.InvalidStateError("promise is not settled")
        return self._error

    def add_done_callback(self, listener: Callable[[Promise[T]], None]) -> None:
        """Call ``listener(self)`` once settled: now if it already is."""
        if self._state != _PENDING:
            self._call(listener)
        elif self._listeners is None:
            self._listeners = [listener]
        else:
            self._listeners.append(listener)

    def __await__(self) -> Generator[Any, None, T]:
        if self._state == _PENDING:
            waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()

            def wake(_p: Promise[T]) -> None:
                if not waiter.done():
                    waiter.set_result(None)

            self.add_done_callback(wake)
            yield from waiter.__await__()
        return self.result()

    def _tell(self) -> None:
        listeners, self._listeners = self._listeners, None
        for listener in listeners or ():
            self._call(listener)

    def _call(self, listener: Callable[[Promise[T]], None]) -> None:
        # A failing listener must not keep the others (or the one settling) from going on.
        try:
            listener(self)
        except Exception:
            log.exception("promise listener %r failed", listener)
