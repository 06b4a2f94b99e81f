"""The simulated cluster: N replica servers, one meta, one client, one network, one clock,
one seeded random generator, and the checker watching every event.

``World`` is what both the random runs (``run.py``) and the scripted scenarios
(``scenario.py``) drive. Everything that happens is an event on ``queue``; nothing reads
the wall clock or an unseeded generator, so a seed replays exactly.
"""

from __future__ import annotations

import random

from pegasus_log.meta.core.recovery import NodeReport, Refused
from pegasus_log.replica.core import status as st
from pegasus_log.replica.core.replica import ReplicaCore
from pegasus_log.replica.plog.disk import DiskFault
from pegasus_log.rpc.admin import AppInfoMessage, AppStatus
from pegasus_log.rpc.error_code import ErrorCode
from pegasus_log.rpc.messages import PartitionConfiguration
from pegasus_log.rpc.thrift import Gpid, RpcAddress
from pegasus_log.sim.checker import Checker
from pegasus_log.sim.client import ClientReplyMsg, SimClient
from pegasus_log.sim.events import EventQueue
from pegasus_log.sim.meta import Beacon, SimMeta, SyncRequest, UpdateRequest
from pegasus_log.sim.network import Network
from pegasus_log.sim.node import SimNode
from pegasus_log.sim.options import SimOptions
from pegasus_log.sim.storage import Checkpoint

APP_ID = 1
META = RpcAddress("10.0.1.1", 34601)
CLIENT = RpcAddress("10.0.2.1", 34701)


def node_address(index: int) -> RpcAddress:
    return RpcAddress(f"10.0.0.{index}", 34801)


class World:
    def __init__(self, options: SimOptions, rng: random.Random) -> None:
        self.options = options
        self.rng = rng
        self.queue = EventQueue()
        self.checker = Checker()
        self.meta_address = META
        self.client = SimClient(CLIENT)
        self.gpids = [Gpid(APP_ID, i) for i in range(options.partitions)]
        self.nodes = [
            SimNode(self, i, node_address(i), self.gpids) for i in range(1, options.nodes + 1)
        ]
        self._by_address = {n.address: n for n in self.nodes}
        self._names: dict[RpcAddress, str] = {n.address: n.name for n in self.nodes}
        self._names[META] = "meta"
        self._names[CLIENT] = "client"
        configs = {
            g: PartitionConfiguration(pid=g, max_replica_count=options.max_replica_count)
            for g in self.gpids
        }
        self.meta = SimMeta(
            address=META,
            configs=configs,
            fd=options.fd,
            proposal_interval_s=options.proposal_interval_s,
            balancing=options.balance,
            copies_max=options.balance_copies_max,
            copy_timeout_s=options.balance_copy_timeout_s,
        )
        self.network = Network(
            queue=self.queue,
            rng=rng,
            rates=options.faults,
            delay_min_s=options.delay_min_s,
            delay_max_s=options.delay_max_s,
            long_delay_s=options.long_delay_s,
            deliver=self._deliver,
            names=self.name_of,
        )
        self._checkpoints: dict[str, tuple[RpcAddress, Checkpoint]] = {}
        self._client_running = False
        self.queue.after_event = self.after_event

    # ---- naming ----

    def name_of(self, address: RpcAddress) -> str:
        return self._names.get(address, str(address))

    def node(self, name: str) -> SimNode:
        for n in self.nodes:
            if n.name == name:
                return n
        raise KeyError(f"no node {name!r}")

    def address_of(self, name: str) -> RpcAddress:
        if name == "meta":
            return META
        if name == "client":
            return CLIENT
        return self.node(name).address

    # ---- start ----

    def start(self, *, down: frozenset[str] = frozenset()) -> None:
        """Boot every server but those named in ``down`` (they may join later), and start
        the meta and the client."""
        for node in self.nodes:
            if node.name not in down:
                node.boot()
        self.queue.after(self.options.meta_tick_s, "meta tick", self._meta_tick)
        self.queue.after(self.options.tick_s, "client tick", self._client_tick)

    def _meta_tick(self) -> None:
        for dst, message in self.meta.tick(self.queue.now):
            self.network.send(META, dst, message)
        self.queue.after(self.options.meta_tick_s, "meta tick", self._meta_tick)

    # ---- delivery ----

    def _deliver(self, src: RpcAddress, dst: RpcAddress, message: object) -> None:
        if dst == META:
            self._meta_receive(message)
        elif dst == CLIENT:
            self._client_receive(message)
        else:
            node = self._by_address.get(dst)
            if node is not None:
                node.on_message(src, message)

    def _meta_receive(self, message: object) -> None:
        now = self.queue.now
        if isinstance(message, Beacon):
            out = self.meta.on_beacon(message, now)
        elif isinstance(message, SyncRequest):
            out = self.meta.on_sync(message)
        elif isinstance(message, UpdateRequest):
            out = self.meta.on_update(message)
        else:
            raise AssertionError(f"meta got {message!r}")
        for dst, reply in out:
            self.network.send(META, dst, reply)

    def after_event(self) -> None:
        self.checker.after_event(self.cores(), self.client)

    def cores(self) -> list[tuple[str, ReplicaCore]]:
        return [(n.name, c) for n in self.nodes if n.up for c in n.cores.values()]

    # ---- the client ----

    def start_client(self) -> None:
        self._client_running = True

    def stop_client(self) -> None:
        self._client_running = False

    def _client_tick(self) -> None:
        options = self.options
        self.client.expire(self.queue.now, options.client_timeout_s)
        if self._client_running and options.client_interval_s > 0:
            session = self.rng.randrange(options.client_sessions)
            for gpid in self.gpids:
                to = self.route(session, gpid)
                if to is None:
                    continue
                if self.rng.random() < options.read_share:
                    self.client_read(gpid, to, session)
                else:
                    self.client_write(gpid, to, session)
        interval = options.client_interval_s if options.client_interval_s > 0 else options.tick_s
        self.queue.after(interval, "client tick", self._client_tick)

    def primary_of(self, gpid: Gpid) -> RpcAddress | None:
        primary = self.meta.configs[gpid].primary
        return None if primary.is_invalid else primary

    def route(self, session: int, gpid: Gpid) -> RpcAddress | None:
        """The session's cached primary, looked up from the meta when it has none."""
        cached = self.client.routes.get((session, gpid))
        if cached is None:
            cached = self.primary_of(gpid)
            if cached is not None:
                self.client.routes[(session, gpid)] = cached
        return cached

    def client_write(
        self, gpid: Gpid, to: RpcAddress | None = None, session: int = 0
    ) -> int | None:
        target = to or self.primary_of(gpid)
        if target is None:
            return None
        size = self.rng.randint(self.options.value_bytes_min, self.options.value_bytes_max)
        message = self.client.new_write(gpid, target, self.queue.now, size, session)
        self.network.send(CLIENT, target, message)
        return message.request_id

    def client_read(self, gpid: Gpid, to: RpcAddress | None = None, session: int = 0) -> int | None:
        target = to or self.primary_of(gpid)
        if target is None:
            return None
        message = self.client.new_read(gpid, target, self.queue.now, session)
        self.network.send(CLIENT, target, message)
        return message.request_id

    def _client_receive(self, message: object) -> None:
        assert isinstance(message, ClientReplyMsg), message
        pending = self.client.on_reply(message)
        if pending is None or message.err != ErrorCode.ERR_OK:
            return
        if pending.kind == "write":
            self.checker.on_write_acked(pending.gpid, message.request_id, message.decree)

    def on_read_served(self, node: SimNode, gpid: Gpid, request_id: int) -> None:
        applied = node.storages[gpid].applied_decree
        pending = self.client.pending.get(request_id)
        if pending is not None:
            self.checker.on_read(node.name, gpid, applied, pending.required)
        reply = ClientReplyMsg(request_id, ErrorCode.ERR_OK, applied)
        self.network.send(node.address, CLIENT, reply)

    # ---- checkpoints (the transfer service between replica servers) ----

    def register_checkpoint(self, checkpoint: Checkpoint, source: RpcAddress | None = None) -> str:
        handle = f"ckpt-{len(self._checkpoints) + 1}"
        self._checkpoints[handle] = (source or META, checkpoint)
        return handle

    def fetch_checkpoint(self, handle: str, source: RpcAddress) -> Checkpoint | None:
        found = self._checkpoints.get(handle)
        node = self._by_address.get(source)
        if found is None or node is None or not node.up:
            return None
        return found[1]

    # ---- faults ----

    def crash(self, name: str, *, power_loss: bool) -> None:
        self.queue.trace(f"crash {name} power_loss={power_loss}")
        self.node(name).crash(power_loss=power_loss)

    def boot(self, name: str) -> None:
        self.queue.trace(f"boot {name}")
        node = self.node(name)
        if not node.up:
            node.boot()

    def lose_meta_state(self) -> None:
        self.queue.trace("meta state lost")
        self.meta.lose_state(self.queue.now)

    def recover_meta(self, *, skip_bad_nodes: bool, skip_lost_partitions: bool = False) -> str:
        """The operator's ``recover`` naming every server: each one that is up answers
        with the table's record and its replicas (as RPC_QUERY_APP_INFO and
        RPC_QUERY_REPLICA_INFO would; a partition of which it has no ballot, no decree
        and nothing logged is not stored there). A server that is down fails it unless
        ``skip_bad_nodes``; a partition no server stores, unless
        ``skip_lost_partitions``. The error name."""
        down = [n.name for n in self.nodes if not n.up]
        if down and not skip_bad_nodes:
            self.queue.trace(f"recover refused: {','.join(down)} down")
            return ErrorCode.ERR_TRY_AGAIN.name
        count = self.meta.replica_count or self.options.max_replica_count
        app = AppInfoMessage(
            status=AppStatus.AS_AVAILABLE,
            app_name="sim",
            app_id=APP_ID,
            partition_count=len(self.gpids),
            max_replica_count=count,
        )
        reports = [
            NodeReport(
                str(node.address),
                (app,),
                tuple(
                    info
                    for info in (core.replica_info() for core in node.cores.values())
                    if info.ballot > 0 or info.last_prepared_decree > 0
                ),
            )
            for node in self.nodes
            if node.up
        ]
        built = self.meta.recover(reports, skip_lost_partitions=skip_lost_partitions)
        self.queue.trace(f"recover: {'; '.join(built.hints) or 'no hint'}")
        if isinstance(built, Refused):
            return ErrorCode.ERR_TRY_AGAIN.name
        return ErrorCode.ERR_OK.name

    def disk_fault(self, name: str, fault: DiskFault) -> None:
        self.queue.trace(f"disk fault {name} {fault.op.value}")
        self.node(name).inject_disk_fault(fault)

    # ---- looking at the state ----

    def core(self, name: str, gpid: Gpid) -> ReplicaCore | None:
        node = self.node(name)
        return node.cores.get(gpid) if node.up else None

    def healthy(self) -> str | None:
        """None when every partition has a full configuration whose primary serves and
        whose members all committed as far as the primary; else what is still missing."""
        if self.meta.recovering:
            return "the meta lost its state and waits for recover"
        for gpid in self.gpids:
            pc = self.meta.configs[gpid]
            if pc.primary.is_invalid:
                return f"{gpid}: no primary"
            if 1 + len(pc.secondaries) != pc.max_replica_count:
                return f"{gpid}: {1 + len(pc.secondaries)} members of {pc.max_replica_count}"
            if gpid in self.meta.copies:
                return f"{gpid}: a balancer copy is under way"
            primary = self._core_at(pc.primary, gpid)
            node = self._by_address[pc.primary]
            lease = node.lease.valid(self.queue.now)
            if primary is None or not lease or not primary.serving or primary.ballot != pc.ballot:
                return f"{gpid}: primary {self.name_of(pc.primary)} not serving at {pc.ballot}"
            for secondary in pc.secondaries:
                core = self._core_at(secondary, gpid)
                if core is None or core.status != st.SECONDARY or core.ballot != pc.ballot:
                    return f"{gpid}: {self.name_of(secondary)} not secondary at {pc.ballot}"
                if core.last_committed_decree != primary.last_committed_decree:
                    return f"{gpid}: {self.name_of(secondary)} behind the primary"
        return None

    def replica_counts(self, *, primaries: bool = False) -> dict[str, int]:
        """Members (primary or secondary; or primaries only) per server that is up, as
        the meta has them."""
        counts = {n.name: 0 for n in self.nodes if n.up}
        for pc in self.meta.configs.values():
            for member in [pc.primary] if primaries else [pc.primary, *pc.secondaries]:
                name = self.name_of(member)
                if not member.is_invalid and name in counts:
                    counts[name] += 1
        return counts

    def _core_at(self, address: RpcAddress, gpid: Gpid) -> ReplicaCore | None:
        node = self._by_address.get(address)
        if node is None or not node.up:
            return None
        return node.cores.get(gpid)

    def describe(self) -> str:
        lines = []
        for gpid in self.gpids:
            pc = self.meta.configs[gpid]
            members = ",".join(self.name_of(s) for s in pc.secondaries)
            drops = ",".join(self.name_of(s) for s in pc.last_drops)
            lines.append(
                f"meta {gpid.app_id}.{gpid.partition_index}: ballot {pc.ballot} primary "
                f"{self.name_of(pc.primary) if not pc.primary.is_invalid else '-'} "
                f"secondaries [{members}] last_drops [{drops}]"
            )
        for node in self.nodes:
            if not node.up:
                lines.append(f"{node.name}: down")
                continue
            lease = "lease" if node.lease.valid(self.queue.now) else "no-lease"
            for gpid, core in node.cores.items():
                lines.append(
                    f"{node.name} {gpid.app_id}.{gpid.partition_index}: "
                    f"{st.SHORT_NAMES.get(core.status, '?')}@{core.ballot} "
                    f"committed {core.last_committed_decree} prepared {core.max_prepared_decree}"
                    f" {lease} {'serving' if core.serving else ''}"
                    f" learner={core.learner_status.value}"
                )
        cuts = ", ".join(f"{self.name_of(a)}|{self.name_of(b)}" for a, b in self.network.cuts())
        lines.append(f"cuts: {cuts or '-'}")
        return "\n".join(lines)
