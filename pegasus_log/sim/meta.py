"""The meta server as the simulator runs it, on the meta's own pure decisions: the
partition guardian (``meta/core/guardian.py``: drop dead members, cure), the rule for
configuration changes replicas propose (``meta/core/reconfig.py``: ballot + 1 only), the
balancer (``meta/core/balancer.py``: primary swaps, copies of secondaries and of
primaries, when ``balancing`` is on, as the real meta at fl_lively), and the failure
detector's grace (``failure_detector.py``). Its tick runs in the real meta's order: drops,
a changed replica count given to every partition, copies under way, cure, and new
balancer moves only when nothing needed curing.

One meta, always up, whose state changes atomically (the ZooKeeper write that precedes
every reply in the real meta is instantaneous here). Its state can be lost (a wiped
ZooKeeper, scenario ``lose_meta_state``): it then waits as the real meta started with
``--recover-from-replica-servers`` does (no lease for anyone, nothing changed) until
``recover`` rebuilds the partitions from the servers' replicas with the real meta's
pure rules (``meta/core/recovery.py``). What it sends goes through the
simulated network like everything else, so replica <-> meta faults are real.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pegasus_log.failure_detector import FdOptions, MasterGrace
from pegasus_log.frozen import frozen
from pegasus_log.meta.convert import config_to_wire
from pegasus_log.meta.core import balancer, guardian, reconfig, recovery
from pegasus_log.replica.core.messages import ConfigProposal, ConfigUpdateReply
from pegasus_log.rpc.admin import ConfigType, ConfigurationUpdateRequest, ReplicaInfo
from pegasus_log.rpc.messages import PartitionConfiguration
from pegasus_log.rpc.thrift import Gpid, RpcAddress

NO_NODE = guardian.NO_NODE


# ---- messages between the simulated meta and replica servers ---------------------------


@frozen
class Beacon:
    node: RpcAddress
    send_time: float


@frozen
class BeaconAck:
    send_time: float
    allowed: bool


@frozen
class SyncRequest:
    node: RpcAddress
    replicas: tuple[ReplicaInfo, ...]


@frozen
class SyncReply:
    configs: tuple[PartitionConfiguration, ...]


@frozen
class ConfigPush:
    config: PartitionConfiguration


@frozen
class UpdateRequest:
    request: ConfigurationUpdateRequest


@dataclass(slots=True)
class _Node:
    alive: bool
    stored: dict[Gpid, ReplicaInfo] = field(default_factory=dict)


class SimMeta:
    """Pure and synchronous: each method returns (destination, message) pairs to send."""

    def __init__(
        self,
        *,
        address: RpcAddress,
        configs: dict[Gpid, PartitionConfiguration],
        fd: FdOptions,
        proposal_interval_s: float,
        balancing: bool = False,
        copies_max: int = 2,
        copy_timeout_s: float = 5.0,
    ) -> None:
        self.address = address
        self.balancing = balancing
        self._copies_max = copies_max
        self._copy_timeout_s = copy_timeout_s
        # gpid -> (balancer copy under way, when it started)
        self.copies: dict[Gpid, tuple[balancer.Proposal, float]] = {}
        self.moves_done = 0
        self.copies_started = 0
        self.primary_copies_started = 0
        self.configs = dict(configs)
        self._fd = fd
        self._grace = MasterGrace(fd)
        self._nodes: dict[RpcAddress, _Node] = {}
        # The state was lost: waiting for ``recover`` (options.recover_from_replica_servers).
        self.recovering = False
        # No lease before this time: after a loss of the state, until every lease granted
        # before it has lapsed (as the real meta, ``MetaService.become_leader``).
        self._leases_from = float("-inf")
        self.recoveries = 0
        self._proposal_interval_s = proposal_interval_s
        # The table's replica count once a scenario changed it (``replicas``), as the real
        # meta's table record: each tick gives it to every partition that lacks it.
        self.replica_count: int | None = None
        self._last_proposal: dict[Gpid, float] = {}
        # Every configuration ever stored, per partition, in order (for the checkers).
        self.history: dict[Gpid, list[PartitionConfiguration]] = {
            g: [c] for g, c in self.configs.items()
        }

    @property
    def counters(self) -> dict[str, int]:
        """The balancer's work so far (scenario ``count meta ...``)."""
        return {
            "primary_moves": self.moves_done,
            "copies": self.copies_started,
            "primary_copies": self.primary_copies_started,
        }

    def alive(self, node: RpcAddress) -> bool:
        rec = self._nodes.get(node)
        return rec is not None and rec.alive

    # ---- messages ----

    def on_beacon(self, beacon: Beacon, now: float) -> list[tuple[RpcAddress, object]]:
        rec = self._nodes.get(beacon.node)
        # As the real meta: a node declared dead has its first beacon back refused, so
        # its lease stays lapsed until it has forgotten its roles.
        allowed = rec is not None and rec.alive and not self.recovering and now >= self._leases_from
        if rec is None:
            self._nodes[beacon.node] = _Node(alive=True)
        else:
            rec.alive = True
        self._grace.on_beacon(str(beacon.node), now)
        return [(beacon.node, BeaconAck(beacon.send_time, allowed))]

    def on_sync(self, request: SyncRequest) -> list[tuple[RpcAddress, object]]:
        rec = self._nodes.get(request.node)
        if rec is None or not rec.alive or self.recovering:
            return []
        rec.stored = {r.pid: r for r in request.replicas}
        mine = tuple(c for c in self.configs.values() if request.node in guardian.members(c))
        return [(request.node, SyncReply(mine))]

    def on_update(self, message: UpdateRequest) -> list[tuple[RpcAddress, object]]:
        request = message.request
        gpid = request.config.pid
        stored = self.configs.get(gpid)
        if stored is None or self.recovering:
            return []
        kind = ConfigType(request.type)
        verdict = reconfig.accept(stored, request.config, type=kind, node=request.node)
        out: list[tuple[RpcAddress, object]] = []
        if verdict.changed:
            out += self._store(gpid, verdict.config)
        reply = ConfigUpdateReply(verdict.err, self.configs[gpid], kind, request.node)
        out.append((request.host_node, reply))
        return out

    # ---- the leader's loop ----

    def lose_state(self, now: float) -> None:
        """The store is wiped and the meta restarts with recovery on: it knows no node,
        no copy under way, and waits for ``recover``; it grants no lease for a grace from
        now, even once recovered."""
        self.recovering = True
        self._leases_from = now + self._fd.grace_s
        self._nodes = {}
        self._grace = MasterGrace(self._fd)
        self.copies.clear()
        self._last_proposal.clear()

    def recover(
        self, reports: list[recovery.NodeReport], *, skip_lost_partitions: bool = False
    ) -> recovery.Recovered | recovery.Refused:
        """The real meta's rebuild from these servers' answers: every partition at its
        best replica's ballot + 1 with no member, the servers in ``last_drops``."""
        built = recovery.construct(reports, skip_lost_partitions=skip_lost_partitions)
        if isinstance(built, recovery.Refused):
            return built
        for _app, partitions in built.tables:
            for pc in partitions:
                wire = config_to_wire(pc)
                self.configs[wire.pid] = wire
                self.history[wire.pid].append(wire)
        self.recovering = False
        self.recoveries += 1
        return built

    def tick(self, now: float) -> list[tuple[RpcAddress, object]]:
        if self.recovering:
            return []
        out: list[tuple[RpcAddress, object]] = []
        for name in self._grace.expired(now):
            node = RpcAddress.parse(name)
            rec = self._nodes[node]
            if rec.alive:
                rec.alive = False
                for gpid, pc in list(self.configs.items()):
                    dropped = guardian.drop_node(pc, node)
                    if dropped is not None:
                        out += self._store(gpid, dropped)
        if self.replica_count is not None:
            for gpid, pc in list(self.configs.items()):
                new = guardian.with_replica_count(pc, self.replica_count)
                if new is not None and gpid not in self.copies:
                    out += self._store(gpid, new)
        out += self._advance_copies(now)
        cured = False
        views = self._views()
        for gpid, pc in list(self.configs.items()):
            if gpid in self.copies:
                continue  # a balancer copy under way is its partition's one action
            reported = {
                a: r.stored[gpid] for a, r in self._nodes.items() if r.alive and gpid in r.stored
            }
            action = guardian.cure(pc, nodes=views, reported=reported)
            if action is None:
                continue
            cured = True
            if action.type in guardian.META_APPLIED:
                out += self._store(gpid, guardian.apply(pc, action))
                views = self._views()
            else:
                out += self._ask(gpid, action, now)
        if self.balancing and not cured:
            out += self._balance(now)
        return out

    def _ask(
        self, gpid: Gpid, action: guardian.Action, now: float
    ) -> list[tuple[RpcAddress, object]]:
        if now - self._last_proposal.get(gpid, float("-inf")) < self._proposal_interval_s:
            return []
        self._last_proposal[gpid] = now
        return [(action.target, ConfigProposal(action.type, action.node, self.configs[gpid]))]

    def _alive_nodes(self) -> frozenset[RpcAddress]:
        return frozenset(a for a, r in self._nodes.items() if r.alive)

    def _advance_copies(self, now: float) -> list[tuple[RpcAddress, object]]:
        in_flight = {g: p for g, (p, _started) in self.copies.items()}
        steps = balancer.advance(in_flight, self.configs, self._alive_nodes())
        out: list[tuple[RpcAddress, object]] = []
        for gpid, (proposal, started) in list(self.copies.items()):
            step = steps.get(gpid)
            if step is None or now - started >= self._copy_timeout_s:
                del self.copies[gpid]
                continue
            if step.type == ConfigType.CT_DOWNGRADE_TO_SECONDARY:
                # a copy_primary's hand-over, written by the meta itself
                pc = self.configs[gpid]
                reported = {
                    a: r.stored[gpid]
                    for a, r in self._nodes.items()
                    if r.alive and gpid in r.stored
                }
                if balancer.hand_over_ready(pc, proposal, reported):
                    out += self._store(gpid, balancer.hand_over(pc, proposal))
                continue
            out += self._ask(gpid, step, now)
        return out

    def _balance(self, now: float) -> list[tuple[RpcAddress, object]]:
        slots = self._copies_max - len(self.copies)
        in_flight = {g: p for g, (p, _started) in self.copies.items()}
        proposals = balancer.balance_table(
            list(self.configs.values()),
            self._alive_nodes(),
            max_proposals=max(slots, 1),
            in_flight=in_flight,
        )
        if proposals and proposals[0].kind == balancer.MOVE_PRIMARY:
            self.moves_done += 1
            gpid = proposals[0].gpid
            return self._store(gpid, balancer.move_primary(self.configs[gpid], proposals[0]))
        for proposal in proposals[: max(slots, 0)]:
            self.copies[proposal.gpid] = (proposal, now)
            self.copies_started += 1
            self.primary_copies_started += proposal.kind == balancer.COPY_PRIMARY
        return self._advance_copies(now) if proposals else []

    def _store(self, gpid: Gpid, new: PartitionConfiguration) -> list[tuple[RpcAddress, object]]:
        old = self.configs[gpid]
        assert new.ballot == old.ballot + 1, (old, new)
        self.configs[gpid] = new
        self.history[gpid].append(new)
        targets = dict.fromkeys([*guardian.members(new), *guardian.members(old)])
        return [(t, ConfigPush(new)) for t in targets]

    def _views(self) -> dict[RpcAddress, guardian.NodeView]:
        primaries: dict[RpcAddress, int] = {}
        partitions: dict[RpcAddress, int] = {}
        for pc in self.configs.values():
            for m in guardian.members(pc):
                partitions[m] = partitions.get(m, 0) + 1
            if not pc.primary.is_invalid:
                primaries[pc.primary] = primaries.get(pc.primary, 0) + 1
        return {
            a: guardian.NodeView(a, r.alive, primaries.get(a, 0), partitions.get(a, 0))
            for a, r in self._nodes.items()
        }
