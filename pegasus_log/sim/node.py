"""One simulated replica server: its replica cores, their storage, its mutation log (the
real ``PlogCore`` on a ``MemoryLogDisk``), its lease from the meta, and the runtime duties
``replica/core/effects.py`` lists, carried out against the simulated world.

A crash loses everything in memory (cores, storage above its durable point, the lease),
and with ``power_loss`` the disk's unsynced bytes too (``MemoryLogDisk.crash``). A restart
replays the log as the real server does: ``recover``, then ``open_replica`` per partition
with the storage's durable decree and the saved ballot.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING

from pegasus_log.failure_detector import WorkerLease
from pegasus_log.replica.core.effects import (
    AppendLog,
    Apply,
    Effect,
    InstallCheckpoint,
    ProposeConfig,
    ReadLog,
    Reply,
    SaveBallot,
    Send,
    SendCheckpoint,
    SendPrepareAck,
    ServeRead,
)
from pegasus_log.replica.core.messages import (
    CheckpointInstalled,
    CheckpointReady,
    CheckpointRef,
    ClientRead,
    ClientWrite,
    ConfigProposal,
    ConfigUpdate,
    ConfigUpdateReply,
    Inbound,
    LogAppended,
    LogRead,
)
from pegasus_log.replica.core.replica import ReplicaCore, open_replica
from pegasus_log.replica.plog.core import PlogCore, WriteBatch
from pegasus_log.replica.plog.disk import DiskFault, MemoryLogDisk
from pegasus_log.replica.plog.errors import PlogBusyError, PlogError
from pegasus_log.replica.plog.log import perform_write
from pegasus_log.replica.plog.mutation import Mutation
from pegasus_log.replica.plog.recovery import newest_per_decree, read_mutations, recover
from pegasus_log.rpc.error_code import ErrorCode
from pegasus_log.rpc.thrift import Gpid, RpcAddress
from pegasus_log.sim.client import ClientReadMsg, ClientReplyMsg, ClientWriteMsg
from pegasus_log.sim.meta import (
    Beacon,
    BeaconAck,
    ConfigPush,
    SyncReply,
    SyncRequest,
    UpdateRequest,
)
from pegasus_log.sim.storage import SimStorage

if TYPE_CHECKING:
    from pegasus_log.sim.world import World

Token = tuple[Gpid, int, int]


class SimNode:
    def __init__(self, world: World, index: int, address: RpcAddress, gpids: list[Gpid]) -> None:
        self.world = world
        self.name = f"r{index}"
        self.address = address
        self.gpids = gpids
        self.disk = MemoryLogDisk()
        self.storages = {g: SimStorage() for g in gpids}
        self.saved_ballots = dict.fromkeys(gpids, 0)
        self.up = False
        self.incarnation = 0
        self.cores: dict[Gpid, ReplicaCore] = {}
        self.plog: PlogCore[Token] | None = None
        self.lease = WorkerLease(world.options.fd)
        self.last_beacon = float("-inf")
        self.last_sync = float("-inf")
        self._writing: WriteBatch[Token] | None = None
        self._overflow: deque[tuple[Gpid, Mutation]] = deque()
        self.crashes = 0
        self.restarts = 0
        # What happened to this server, for scenarios and reports.
        self.counters: dict[str, int] = dict.fromkeys(
            (
                "log_reads",
                "checkpoints_sent",
                "checkpoints_installed",
                "log_failures",
                "boots",
                "gc_segments",
            ),
            0,
        )

    # ---- life cycle ----

    def boot(self) -> None:
        assert not self.up
        world = self.world
        self.incarnation += 1
        replayed: dict[Gpid, list[Mutation]] = {g: [] for g in self.gpids}
        try:
            segments, _report = recover(
                self.disk,
                world.options.plog,
                on_mutation=lambda m: replayed.setdefault(m.gpid, []).append(m),
            )
            # What recovery kept may be page cache only (a sync failed, then the process
            # restarted): make it durable before anything is written after it, or a power
            # loss later leaves a hole before the new segment that recovery refuses. The
            # plog's recovery does not do this itself (reported to its owner).
            for segment in segments:
                self.disk.sync(segment.name.file_name)
        except OSError as e:
            # The disk failed while opening: the supervisor tries again a bit later.
            world.queue.trace(f"boot {self.name} failed: {e}")
            world.queue.after(
                world.options.restart_after_failure_s, f"boot {self.name} again", self._retry_boot
            )
            return
        self.plog = PlogCore(world.options.plog, segments)
        self.counters["boots"] += 1
        self._writing = None
        self._overflow.clear()
        self.lease = WorkerLease(world.options.fd)
        self.up = True
        for gpid in self.gpids:
            storage = self.storages[gpid]
            core, effects = open_replica(
                gpid=gpid,
                node=self.address,
                config=world.options.core,
                now=world.queue.now,
                ballot=self.saved_ballots[gpid],
                last_committed_decree=storage.applied_decree,
                log_mutations=replayed.get(gpid, []),
            )
            self.cores[gpid] = core
            self.execute(gpid, effects)
        self._schedule_tick()

    def _retry_boot(self) -> None:
        if not self.up:
            self.boot()

    def crash(self, *, power_loss: bool) -> None:
        if not self.up:
            return
        self.up = False
        self.crashes += 1
        self.incarnation += 1
        self.cores = {}
        self.plog = None
        self._writing = None
        self._overflow.clear()
        if power_loss:
            self.disk = self.disk.crash(self.world.rng)
        for storage in self.storages.values():
            storage.crash()
        self.world.checker.forget_node(self.address)

    def restart(self, *, power_loss: bool = False) -> None:
        self.crash(power_loss=power_loss)
        self.restarts += 1
        self.boot()

    def inject_disk_fault(self, fault: DiskFault) -> None:
        self.disk.inject(fault)

    # ---- time ----

    def _schedule_tick(self) -> None:
        incarnation = self.incarnation
        self.world.queue.after(
            self.world.options.tick_s, f"tick {self.name}", lambda: self._tick(incarnation)
        )

    def _tick(self, incarnation: int) -> None:
        if not self.up or incarnation != self.incarnation:
            return
        world = self.world
        now = world.queue.now
        options = world.options
        for gpid, core in list(self.cores.items()):
            self._sync_lease(gpid, core)
            self.execute(gpid, core.tick(now))
        if now - self.last_beacon >= options.fd.beacon_interval_s:
            self.last_beacon = now
            world.network.send(self.address, world.meta_address, Beacon(self.address, now))
        if self.lease.valid(now) and now - self.last_sync >= options.sync_interval_s:
            self._config_sync()
        if world.rng.random() < options.flush_probability:
            self.flush_and_gc()
        self._schedule_tick()

    def _config_sync(self) -> None:
        self.last_sync = self.world.queue.now
        infos = tuple(core.replica_info() for core in self.cores.values())
        self.world.network.send(
            self.address, self.world.meta_address, SyncRequest(self.address, infos)
        )

    def _sync_lease(self, gpid: Gpid, core: ReplicaCore) -> None:
        self.execute(gpid, core.set_lease(self.lease.valid(self.world.queue.now)))

    def flush_and_gc(self) -> None:
        """Storage flushes (its durable decree moves up), then the log drops what no
        partition needs any more."""
        plog = self.plog
        assert plog is not None
        durable: dict[Gpid, int] = {}
        for gpid, storage in self.storages.items():
            storage.flush()
            durable[gpid] = storage.durable_decree
        for name in plog.plan_gc(durable):
            self.disk.remove(name.file_name)
            plog.on_removed(name)
            self.counters["gc_segments"] += 1

    # ---- messages ----

    def on_message(self, src: RpcAddress, message: object) -> None:
        if not self.up:
            return
        now = self.world.queue.now
        match message:
            case BeaconAck():
                was_valid = self.lease.valid(now)
                self.lease.on_beacon_ack(send_time=message.send_time, allowed=message.allowed)
                if message.allowed and not was_valid and self.lease.valid(now):
                    self._config_sync()
            case SyncReply():
                if self.lease.valid(now):
                    for config in message.configs:
                        self._step(config.pid, ConfigUpdate(config))
            case ConfigPush():
                if self.lease.valid(now):
                    self._step(message.config.pid, ConfigUpdate(message.config))
            case ConfigProposal() | ConfigUpdateReply():
                self._step(message.gpid, message)
            case ClientWriteMsg():
                # The simulated clock stands in for the server's wall clock.
                arrived_us = int(now * 1_000_000)
                write = ClientWrite(message.request_id, message.update, arrived_us)
                self._step(message.gpid, write)
            case ClientReadMsg():
                self._step(message.gpid, ClientRead(message.request_id))
            case _:
                gpid = getattr(message, "gpid", None)
                assert isinstance(gpid, Gpid), message
                self._step(gpid, message)  # type: ignore[arg-type]

    def _step(self, gpid: Gpid, message: Inbound) -> None:
        core = self.cores.get(gpid)
        if core is None:
            return
        self._sync_lease(gpid, core)
        self.execute(gpid, core.step(message))

    def _call(
        self, gpid: Gpid, incarnation: int, call: Callable[[ReplicaCore], list[Effect]]
    ) -> None:
        """Deliver a completion to a core, unless the node restarted since."""
        if not self.up or incarnation != self.incarnation:
            return
        core = self.cores.get(gpid)
        if core is None:
            return
        self._sync_lease(gpid, core)
        self.execute(gpid, call(core))

    # ---- effects (the runtime's side of effects.py) ----

    def execute(self, gpid: Gpid, effects: list[Effect]) -> None:
        world = self.world
        for effect in effects:
            match effect:
                case SaveBallot():
                    assert effect.ballot >= self.saved_ballots[gpid]
                    self.saved_ballots[gpid] = effect.ballot
                case AppendLog():
                    self._append(gpid, effect.mutation)
                case Apply():
                    self.storages[gpid].apply(effect.mutation)
                    world.checker.on_apply(self.name, gpid, effect.mutation)
                    for request_id in effect.request_ids:
                        if request_id is not None:
                            reply = ClientReplyMsg(
                                request_id, ErrorCode.ERR_OK, effect.mutation.decree
                            )
                            world.network.send(self.address, world.client.address, reply)
                case Reply():
                    reply = ClientReplyMsg(effect.request_id, effect.err)
                    world.network.send(self.address, world.client.address, reply)
                case ServeRead():
                    world.on_read_served(self, gpid, effect.request_id)
                case Send():
                    world.network.send(self.address, effect.to, effect.message)
                case SendPrepareAck():
                    world.network.send(self.address, effect.to, effect.ack)
                case ProposeConfig():
                    world.network.send(
                        self.address, world.meta_address, UpdateRequest(effect.request)
                    )
                case ReadLog():
                    self._read_log(effect)
                case SendCheckpoint():
                    self._send_checkpoint(effect)
                case InstallCheckpoint():
                    self._install_checkpoint(effect)

    def _append(self, gpid: Gpid, mutation: Mutation) -> None:
        plog = self.plog
        assert plog is not None
        token = (gpid, mutation.ballot, mutation.decree)
        if self._overflow:
            self._overflow.append((gpid, mutation))
            return
        try:
            plog.submit([mutation], token)
        except PlogBusyError:
            self._overflow.append((gpid, mutation))
            return
        except PlogError:
            self._fail_soon([token])
            return
        self._kick()

    def _kick(self) -> None:
        plog = self.plog
        if plog is None or self._writing is not None:
            return
        batch = plog.flush()
        if batch is None:
            return
        self._writing = batch
        incarnation = self.incarnation
        self.world.queue.after(
            self.world.options.disk_latency_s,
            f"disk write {self.name} {batch.mutation_count}",
            lambda: self._write_done(incarnation, batch),
        )

    def _write_done(self, incarnation: int, batch: WriteBatch[Token]) -> None:
        if not self.up or incarnation != self.incarnation:
            return
        plog = self.plog
        assert plog is not None and batch is self._writing
        self._writing = None
        try:
            perform_write(self.disk, batch)
        except OSError as e:
            failed = plog.on_write_failed(batch, str(e)) + tuple(
                (g, m.ballot, m.decree) for g, m in self._overflow
            )
            self._overflow.clear()
            self.counters["log_failures"] += 1
            self._report(failed, ok=False)
            # The supervisor restarts a server whose log failed (the log must be reopened).
            self.world.queue.after(
                self.world.options.restart_after_failure_s,
                f"restart {self.name} after log failure",
                lambda: self._restart_after_failure(incarnation),
            )
            return
        done = plog.on_write_done(batch)
        while self._overflow:
            gpid, mutation = self._overflow[0]
            try:
                plog.submit([mutation], (gpid, mutation.ballot, mutation.decree))
            except PlogBusyError:
                break
            self._overflow.popleft()
        self._report(done, ok=True)
        self._kick()

    def _restart_after_failure(self, incarnation: int) -> None:
        if self.up and incarnation == self.incarnation:
            self.world.queue.trace(f"restart {self.name}")
            self.restart(power_loss=False)

    def _fail_soon(self, tokens: list[Token]) -> None:
        incarnation = self.incarnation
        self.world.queue.after(
            0.0,
            f"append failed {self.name}",
            lambda: self._report_if(incarnation, tuple(tokens)),
        )

    def _report_if(self, incarnation: int, tokens: tuple[Token, ...]) -> None:
        if self.up and incarnation == self.incarnation:
            self._report(tokens, ok=False)

    def _report(self, tokens: tuple[Token, ...], *, ok: bool) -> None:
        incarnation = self.incarnation
        for gpid, ballot, decree in tokens:
            self._call(gpid, incarnation, _appended(LogAppended(gpid, ballot, decree, ok)))

    def _read_log(self, effect: ReadLog) -> None:
        plog = self.plog
        assert plog is not None
        self.counters["log_reads"] += 1
        try:
            found = newest_per_decree(
                read_mutations(
                    self.disk,
                    plog.segments(),
                    effect.gpid,
                    decree_gt=effect.decree_gt,
                    block_bytes_max=self.world.options.plog.block_bytes_max,
                ),
                bytes_max=effect.bytes_max,
            )
            event = LogRead(effect.read_id, found)
        except (PlogError, OSError) as e:
            event = LogRead(effect.read_id, error=str(e))
        self._later(effect.gpid, f"log read {self.name}", lambda core: core.on_log_read(event))

    def _send_checkpoint(self, effect: SendCheckpoint) -> None:
        checkpoint = self.storages[effect.gpid].checkpoint()
        self.counters["checkpoints_sent"] += 1
        handle = self.world.register_checkpoint(checkpoint)
        event = CheckpointReady(effect.read_id, CheckpointRef(handle, checkpoint.decree))
        self._later(
            effect.gpid, f"checkpoint {self.name}", lambda core: core.on_checkpoint_ready(event)
        )

    def _install_checkpoint(self, effect: InstallCheckpoint) -> None:
        gpid = effect.gpid
        incarnation = self.incarnation

        def install(core: ReplicaCore) -> list[Effect]:
            checkpoint = self.world.fetch_checkpoint(effect.checkpoint.handle, effect.source)
            if checkpoint is None or checkpoint.decree != effect.checkpoint.decree:
                return core.on_checkpoint_installed(CheckpointInstalled(0, ok=False))
            self.storages[gpid].install(checkpoint)
            self.counters["checkpoints_installed"] += 1
            self.world.checker.on_install(self.name, gpid, checkpoint)
            return core.on_checkpoint_installed(CheckpointInstalled(checkpoint.decree))

        self.world.queue.after(
            self.world.options.io_latency_s,
            f"install checkpoint {self.name}",
            lambda: self._call(gpid, incarnation, install),
        )

    def _later(self, gpid: Gpid, label: str, call: Callable[[ReplicaCore], list[Effect]]) -> None:
        incarnation = self.incarnation
        self.world.queue.after(
            self.world.options.io_latency_s, label, lambda: self._call(gpid, incarnation, call)
        )


def _appended(event: LogAppended) -> Callable[[ReplicaCore], list[Effect]]:
    def call(core: ReplicaCore) -> list[Effect]:
        return core.on_log_appended(event)

    return call
