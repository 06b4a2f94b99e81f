"""Promise: listeners run inside set_result, awaiting works, a bad listener is contained."""

from __future__ import annotations

import asyncio

import pytest

from pegasus_log.promise import Promise


def test_listeners_run_inside_set_result_in_order() -> None:
    seen: list[str] = []
    p: Promise[int] = Promise()
    p.add_done_callback(lambda q: seen.append(f"a{q.result()}"))
    p.add_done_callback(lambda q: seen.append(f"b{q.result()}"))
    assert not p.done() and seen == []
    p.set_result(7)
    assert seen == ["a7", "b7"] and p.done() and p.exception() is None
    p.add_done_callback(lambda q: seen.append("late"))  # already settled: called at once
    assert seen[-1] == "late"


def test_error_reaches_listeners_and_result_raises() -> None:
    p: Promise[int] = Promise()
    got: list[BaseException | None] = []
    p.add_done_callback(lambda q: got.append(q.exception()))
    p.set_exception(ValueError("no"))
    assert isinstance(got[0], ValueError)
    with pytest.raises(ValueError):
        p.result()


def test_pending_promise_refuses_result_and_settles_once() -> None:
    p: Promise[int] = Promise()
    with pytest.raises(asyncio.InvalidStateError):
        p.result()
    p.set_result(1)
    with pytest.raises(AssertionError):
        p.set_result(2)


def test_a_failing_listener_does_not_stop_the_others(caplog: pytest.LogCaptureFixture) -> None:
    p: Promise[int] = Promise()
    seen: list[int] = []

    def bad(_q: Promise[int]) -> None:
        raise RuntimeError("listener bug")

    p.add_done_callback(bad)
    p.add_done_callback(lambda q: seen.append(q.result()))
    p.set_result(3)
    assert seen == [3] and "listener bug" in caplog.text


def test_await_and_cancelled_await_leaves_the_promise_alone() -> None:
    async def run() -> None:
        p: Promise[str] = Promise()
        asyncio.get_running_loop().call_later(0.01, p.set_result, "ok")
        assert await p == "ok"
        assert await p == "ok"  # settled: no waiting

        q: Promise[str] = Promise()
        waiter = asyncio.ensure_future(_wait(q))
        await asyncio.sleep(0)
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter
        assert not q.done()
        q.set_result("later")  # the promise still settles, its cancelled waiter aside
        assert q.result() == "later"

    asyncio.run(run())


async def _wait(p: Promise[str]) -> str:
    return await p
