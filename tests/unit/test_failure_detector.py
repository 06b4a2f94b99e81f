"""The lease / grace pair: a worker always stops serving before the meta replaces it."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as hs

from pegasus_log.failure_detector import FdOptions, MasterGrace, WorkerLease


def test_options_must_order_interval_lease_grace() -> None:
    with pytest.raises(ValueError):
        FdOptions(beacon_interval_s=1, lease_s=5, grace_s=5)
    with pytest.raises(ValueError):
        FdOptions(beacon_interval_s=6, lease_s=5, grace_s=7)


def test_lease_follows_acknowledged_beacons() -> None:
    lease = WorkerLease(FdOptions())
    assert not lease.valid(0.0)
    lease.on_beacon_ack(send_time=10.0, allowed=True)
    assert lease.valid(12.9) and not lease.valid(13.0)
    lease.on_beacon_ack(send_time=9.0, allowed=True)  # a late ack never shortens it
    assert lease.expires_at == 13.0
    lease.on_beacon_ack(send_time=11.0, allowed=False)
    assert lease.expires_at == 13.0
    lease.revoke()
    assert not lease.valid(10.5)


def test_grace_marks_silent_nodes_dead() -> None:
    grace = MasterGrace(FdOptions())
    grace.on_beacon("a", 1.0)
    grace.on_beacon("b", 3.0)
    assert grace.alive("a", 4.9) and not grace.alive("a", 5.0)
    assert grace.expired(5.5) == ["a"]
    grace.reset(10.0)
    assert grace.alive("a", 13.9) and not grace.alive("c", 0.0)


@given(
    sends=hs.lists(hs.floats(0, 100), min_size=1, max_size=20),
    delays=hs.lists(hs.floats(0, 2), min_size=20, max_size=20),
    now=hs.floats(0, 110),
)
def test_worker_never_serves_after_the_meta_declares_it_dead(
    sends: list[float], delays: list[float], now: float
) -> None:
    opts = FdOptions()
    lease, grace = WorkerLease(opts), MasterGrace(opts)
    for send, delay in zip(sorted(sends), delays, strict=False):
        grace.on_beacon("w", send + delay)  # received after it was sent
        lease.on_beacon_ack(send_time=send, allowed=True)
    if not grace.alive("w", now):
        assert not lease.valid(now)
