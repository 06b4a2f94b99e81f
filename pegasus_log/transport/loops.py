"""Which event loop a server process runs on.

uvloop (libuv under asyncio's API) is the replica servers' default: the same code spends
about a tenth less CPU per replicated put on it (docs/benchmarks.md, "uvloop"), most of
a put being socket and callback work. ``asyncio`` keeps the standard library's loop, for
comparison and for debugging with asyncio's own tools. The replica servers the
integration tests start run on uvloop; the in-process tests run on asyncio's loop, and
the RPC server's own tests on both. Meta servers stay on asyncio's loop: they are not on
the write path.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

EVENT_LOOPS = ("uvloop", "asyncio")


def loop_factory(name: str) -> Callable[[], asyncio.AbstractEventLoop] | None:
    """The factory ``asyncio.Runner`` takes for loop ``name`` (None: asyncio's own)."""
    if name == "asyncio":
        return None
    if name == "uvloop":
        import uvloop

        return uvloop.new_event_loop
    raise ValueError(f"event loop {name!r}: expected one of {', '.join(EVENT_LOOPS)}")


def run_on(name: str, main: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run(main)`` on event loop ``name``."""
    with asyncio.Runner(loop_factory=loop_factory(name)) as runner:
        return runner.run(main)
