"""The simulated network: every message between replica servers, the meta and the client
goes through ``Network.send``, which may drop, duplicate, delay or hold it back.

Faults, in the order they are checked:
- scripted rules (scenarios): drop or delay the next ``count`` messages of one kind on
  one directed link;
- partitions: a cut between two endpoints (a replica and another, or the meta) drops
  every message sent across it while it lasts;
- random loss, duplication and reordering (a long extra delay) at the run's rates.
Messages in flight when a partition starts are still delivered (they left before).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from pegasus_log.frozen import frozen
from pegasus_log.rpc.thrift import RpcAddress
from pegasus_log.sim.events import EventQueue
from pegasus_log.sim.options import FaultRates

_KINDS: dict[str, str] = {
    "Prepare": "prepare",
    "PrepareAck": "prepare_ack",
    "PrepareNack": "prepare_nack",
    "GroupCheck": "group_check",
    "GroupCheckReply": "group_check_reply",
    "LearnRequest": "learn",
    "LearnResponse": "learn_reply",
    "LearnCompletion": "learn_completion",
    "Beacon": "beacon",
    "BeaconAck": "beacon_ack",
    "SyncRequest": "config_sync",
    "SyncReply": "config_sync_reply",
    "ConfigPush": "config_push",
    "ConfigProposal": "config_proposal",
    "UpdateRequest": "config_update",
    "ConfigUpdateReply": "config_update_reply",
    "ClientWriteMsg": "client_write",
    "ClientReadMsg": "client_read",
    "ClientReplyMsg": "client_reply",
}
KINDS = frozenset(_KINDS.values())


def kind_of(message: object) -> str:
    return _KINDS.get(type(message).__name__, type(message).__name__)


@dataclass(slots=True)
class Rule:
    kind: str
    src: RpcAddress
    dst: RpcAddress
    # "drop", or "delay" by ``seconds``.
    action: str
    count: int
    seconds: float = 0.0


def _link(a: RpcAddress, b: RpcAddress) -> tuple[RpcAddress, RpcAddress]:
    return (a, b) if (a.host, a.port) <= (b.host, b.port) else (b, a)


class Network:
    def __init__(
        self,
        *,
        queue: EventQueue,
        rng: random.Random,
        rates: FaultRates,
        delay_min_s: float,
        delay_max_s: float,
        long_delay_s: float,
        deliver: Callable[[RpcAddress, RpcAddress, object], None],
        names: Callable[[RpcAddress], str],
    ) -> None:
        self._queue = queue
        self._rng = rng
        self.rates = rates
        self._delay_min_s = delay_min_s
        self._delay_max_s = delay_max_s
        self._long_delay_s = long_delay_s
        self._deliver = deliver
        self._names = names
        self._cuts: dict[tuple[RpcAddress, RpcAddress], None] = {}
        self.rules: list[Rule] = []
        # Endpoints exempt from random faults (the client, in scenarios).
        self.reliable: dict[RpcAddress, None] = {}
        self.sent = 0
        self.dropped = 0

    # ---- faults ----

    def cut(self, a: RpcAddress, b: RpcAddress) -> None:
        self._cuts[_link(a, b)] = None

    def heal(self, a: RpcAddress, b: RpcAddress) -> None:
        self._cuts.pop(_link(a, b), None)

    def heal_all(self) -> None:
        self._cuts.clear()
        self.rules.clear()

    def is_cut(self, a: RpcAddress, b: RpcAddress) -> bool:
        return _link(a, b) in self._cuts

    def cuts(self) -> list[tuple[RpcAddress, RpcAddress]]:
        return list(self._cuts)

    # ---- sending ----

    def send(self, src: RpcAddress, dst: RpcAddress, message: object) -> None:
        self.sent += 1
        kind = kind_of(message)
        extra = 0.0
        for rule in self.rules:
            if rule.count > 0 and rule.kind == kind and rule.src == src and rule.dst == dst:
                rule.count -= 1
                if rule.action == "drop":
                    self.dropped += 1
                    return
                extra += rule.seconds
                break
        if self.is_cut(src, dst):
            self.dropped += 1
            return
        rates = self.rates
        random_faults = src not in self.reliable and dst not in self.reliable
        if random_faults and rates.loss and self._rng.random() < rates.loss:
            self.dropped += 1
            return
        copies = 1
        if random_faults and rates.duplicate and self._rng.random() < rates.duplicate:
            copies = 2
        for _ in range(copies):
            delay = extra + self._rng.uniform(self._delay_min_s, self._delay_max_s)
            if random_faults and rates.reorder and self._rng.random() < rates.reorder:
                delay += self._rng.uniform(0.0, self._long_delay_s)
            label = f"deliver {kind} {self._names(src)}->{self._names(dst)}"
            self._queue.after(delay, label, _Delivery(self._deliver, src, dst, message))


@frozen
class _Delivery:
    deliver: Callable[[RpcAddress, RpcAddress, object], None]
    src: RpcAddress
    dst: RpcAddress
    message: object

    def __call__(self) -> None:
        self.deliver(self.src, self.dst, self.message)
