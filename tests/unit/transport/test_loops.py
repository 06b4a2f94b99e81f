"""A server process's event loop is chosen by name."""

from __future__ import annotations

import asyncio

import pytest
import uvloop

from pegasus_log.transport.loops import EVENT_LOOPS, loop_factory, run_on


async def _loop_type() -> type:
    return type(asyncio.get_running_loop())


def test_each_name_runs_its_loop() -> None:
    assert run_on("uvloop", _loop_type()) is uvloop.Loop
    got = run_on("asyncio", _loop_type())
    assert issubclass(got, asyncio.BaseEventLoop) and got.__module__.startswith("asyncio.")
    assert set(EVENT_LOOPS) == {"uvloop", "asyncio"}


def test_an_unknown_name_is_refused() -> None:
    with pytest.raises(ValueError, match="trio"):
        loop_factory("trio")
