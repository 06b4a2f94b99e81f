"""Failure detection between a replica server and the meta servers: the worker's lease.

A replica server sends a beacon to the meta leader every ``beacon_interval_s``. An
acknowledged beacon (``allowed``) extends the worker's lease to ``send_time + lease_s``;
while the lease holds the server serves, once it lapses every replica stops serving.
The meta declares the server dead ``grace_s`` after it last *received* a beacon.

Why a replica stops before the meta replaces it: a beacon is received after it is sent,
so for the last acknowledged beacon ``send_time <= receive_time``; with ``lease_s <
grace_s`` the worker's deadline ``send_time + lease_s`` comes strictly before the meta's
``receive_time + grace_s``. Both sides measure with monotonic clocks running at the same
rate on one machine; across machines the margin ``grace_s - lease_s`` must cover clock
rate drift over one lease (a few ms at worst).

Defaults, chosen for fast failover (upstream: beacon 3 s, lease 20 s, grace 22 s):
beacon every 0.5 s, lease 3 s, grace 4 s. A dead server is noticed within 4 s of its last
beacon; six beacons may be lost in a row before a healthy server loses its lease; the 1 s
margin covers scheduling delays of the meta's check loop.
"""

from __future__ import annotations

from pegasus_log.frozen import frozen
from pegasus_log.observability.flags import Flag, FlagType


@frozen
class FdOptions:
    beacon_interval_s: float = 0.5
    lease_s: float = 3.0
    grace_s: float = 4.0

    def __post_init__(self) -> None:
        if not 0 < self.beacon_interval_s < self.lease_s < self.grace_s:
            raise ValueError(
                "failure detection needs 0 < beacon interval < lease < grace, got "
                f"{self.beacon_interval_s} / {self.lease_s} / {self.grace_s}"
            )


def fd_flags(options: FdOptions) -> list[Flag]:
    """The failure detector's settings as server flags (section ``replication``, as
    upstream; observability/flags.py), read-only: a meta and its replica servers must
    agree on them."""
    return [
        Flag(
            "replication",
            "fd_beacon_interval_seconds",
            FlagType.FV_DOUBLE,
            "seconds between two beacons of a replica server to the meta",
            lambda: options.beacon_interval_s,
        ),
        Flag(
            "replication",
            "fd_lease_seconds",
            FlagType.FV_DOUBLE,
            "seconds a replica server serves after the send time of its last acked beacon",
            lambda: options.lease_s,
        ),
        Flag(
            "replication",
            "fd_grace_seconds",
            FlagType.FV_DOUBLE,
            "seconds the meta waits after a replica server's last beacon before taking it for dead",
            lambda: options.grace_s,
        ),
    ]


class WorkerLease:
    """The replica server's side: is it still allowed to serve? Pure; times are passed in
    from a monotonic clock."""

    def __init__(self, options: FdOptions) -> None:
        self._options = options
        self._expires_at = float("-inf")

    def on_beacon_ack(self, *, send_time: float, allowed: bool) -> None:
        if allowed:
            self._expires_at = max(self._expires_at, send_time + self._options.lease_s)

    def valid(self, now: float) -> bool:
        return now < self._expires_at

    def revoke(self) -> None:
        """The meta said we are not allowed (e.g. declared dead): stop serving at once."""
        self._expires_at = float("-inf")

    @property
    def expires_at(self) -> float:
        return self._expires_at


class MasterGrace:
    """The meta's side: which workers are alive. Pure; times from a monotonic clock."""

    def __init__(self, options: FdOptions) -> None:
        self._options = options
        self._last_beacon: dict[str, float] = {}

    def on_beacon(self, node: str, now: float) -> None:
        self._last_beacon[node] = now

    def alive(self, node: str, now: float) -> bool:
        last = self._last_beacon.get(node)
        return last is not None and now - last < self._options.grace_s

    def expired(self, now: float) -> list[str]:
        """Nodes whose grace has run out (they stay known, as dead)."""
        return [n for n, t in self._last_beacon.items() if now - t >= self._options.grace_s]

    def known(self) -> list[str]:
        return list(self._last_beacon)

    def reset(self, now: float) -> None:
        """A new leader gives every node it has heard of a full grace from ``now``."""
        for node in self._last_beacon:
            self._last_beacon[node] = now
