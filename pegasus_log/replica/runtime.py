"""The asyncio runtime of a replicating replica server: PacificA cores driven over real
sockets, the fsync'd mutation log and the storage engine.

One ``ReplicaServer`` hosts every partition replica of a server. For each partition it
keeps a ``ReplicaCore`` (pure), a ``PartitionStore`` and the client requests waiting for
an answer, and carries out the core's effects in the order the core emitted them
(``pegasus_log/replica/core/effects.py`` states each obligation):

- SaveBallot: a small file per partition, written and fsync'd before the next effect.
- AppendLog: submitted to the server's one mutation log (group commit, fsync); its
  completion comes back as ``on_log_appended`` in submission order.
- Apply: the mutation's client writes run on storage at the mutation's decree, with the
  mutation's timestamp, answering the requests waiting on them.
- Reply / ServeRead: answer a waiting request with an error / run the read now.
- Send / SendPrepareAck: one-way ``RPC_PEGASUS_LOG_PEER`` frames to the other server.
- ProposeConfig: RPC_CM_UPDATE_PARTITION_CONFIGURATION to the meta leader; the answer goes
  back to the core.
- ReadLog: read the log in a worker thread; segments already collected yield nothing,
  and the core, finding the range incomplete, falls back to a checkpoint.
- SendCheckpoint (primary) / InstallCheckpoint (learner): a RocksDB checkpoint streamed
  between replica servers over their RPC ports (``checkpoint_learning.py``).

Durability and log garbage collection run in ``maintenance.py`` (``log_gc.py`` has the
reasoning); a store found behind its checkpoint at open is restored from it here.

Learning metrics (upstream's names, ``LearnStats``) and the learning gauges
``learning_replicas_max_duration_ms`` / ``learning_replicas_max_copy_file_bytes`` are
served on /metrics beside the replica counts and ``private_log_size_mb``.

Reads bypass the core once it says it is ``serving`` (primary, reconciled, lease valid):
every Apply emitted before runs synchronously, so this is the ServeRead contract.
"""

from __future__ import annotations

import asyncio
import inspect
import itertools
import logging
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from pegasus_log.observability.commands import CommandHandler
from pegasus_log.promise import Promise
from pegasus_log.replica import abnormal_reads, client_gate, replica_commands
from pegasus_log.replica.apply import apply_mutation
from pegasus_log.replica.checkpoint_learning import CheckpointLearning
from pegasus_log.replica.core import effects as fx
from pegasus_log.replica.core import messages as cm
from pegasus_log.replica.core.config import ReplicaCoreConfig
from pegasus_log.replica.core.replica import open_replica
from pegasus_log.replica.disk_health import DiskHealth, DiskStatus
from pegasus_log.replica.disk_info import query_disk_info
from pegasus_log.replica.garbage import GarbageCollector, Hosted
from pegasus_log.replica.hotkey_detection import HotkeyDetection
from pegasus_log.replica.http_pages import data_version_page
from pegasus_log.replica.log_gc import DurabilityOptions
from pegasus_log.replica.maintenance import Maintenance
from pegasus_log.replica.manual_compact import ManualCompactions
from pegasus_log.replica.partition import Partition
from pegasus_log.replica.peer_codec import decode_message, encode_message
from pegasus_log.replica.plog import FileLogDisk, MutationLog, PlogError, newest_per_decree
from pegasus_log.replica.plog.mutation import Mutation, MutationUpdate
from pegasus_log.replica.recovery_records import AppInfoFiles, replica_infos
from pegasus_log.replica.store_dirs import (
    PartitionDirs,
    latest_checkpoint_decree,
    restore_from_checkpoint,
    settle,
    write_file_durably,
)
from pegasus_log.replica.stub import (
    OPS,
    OPS_BY_NAME,
    PARTITION_LABELS,
    GaugeRows,
    StubOptions,
    apply_envs,
    replica_status_rows,
    storage_rows,
    stored_gpids,
)
from pegasus_log.replica.wire import to_storage, to_wire
from pegasus_log.rpc import admin as a
from pegasus_log.rpc import messages as m
from pegasus_log.rpc import table_envs as te
from pegasus_log.rpc.error_code import ErrorCode
from pegasus_log.rpc.thrift import BINARY, Gpid, RpcAddress, ThriftDecodeError, encode
from pegasus_log.storage.engine import PartitionStore
from pegasus_log.storage.rocks import StoreWriteError, stored_decree
from pegasus_log.transport.connection import CallFailed, Connection
from pegasus_log.transport.server import Call, Handler, HttpPage, NoReply, RpcError

log = logging.getLogger(__name__)

PEER = m.RpcSpec("RPC_PEGASUS_LOG_PEER", BINARY, None, oneway=True)
_PEER_KINDS: dict[str, type[Any]] = {
    c.__name__: c
    for c in (
        cm.Prepare,
        cm.PrepareAck,
        cm.PrepareNack,
        cm.GroupCheck,
        cm.GroupCheckReply,
        cm.LearnRequest,
        cm.LearnResponse,
        cm.LearnCompletion,
    )
}
# How often cores are ticked: a tenth of the shortest core timeout (prepare retry 0.5 s).
_TICK_S = 0.05
_PEER_TIMEOUT_S = 1.0  # peer messages are one-way; the core retries what matters
# How long a request waits for a primary that is still reconciling before it is refused:
# reconciliation takes one round of prepares, a few milliseconds on a healthy group.
_SERVING_WAIT_S = 2.0


class ReplicaServer:
    """Same duties towards the meta link as ``ReplicaStub`` (address, apply proposals,
    sync configurations, report stored replicas), with replication."""

    def __init__(
        self,
        *,
        data_dir: Path,
        address: RpcAddress,
        options: StubOptions,
        lease_valid: Callable[[], bool] = lambda: False,
        meta_call: Callable[[m.RpcSpec, Any], Any] | None = None,
        core_config: ReplicaCoreConfig | None = None,
        durability: DurabilityOptions | None = None,
    ) -> None:
        self._data_dir = data_dir
        self._durability = durability or DurabilityOptions()
        self.address = address
        self._server_name = str(address)
        self._options = options
        self._lease_valid = lease_valid
        self._meta_call = meta_call
        self._core_config = core_config or ReplicaCoreConfig()
        self._parts: dict[tuple[int, int], Partition] = {}
        self._replayed: dict[tuple[int, int], list[Mutation]] = {}
        self._app_infos = AppInfoFiles(data_dir)
        self._ids = itertools.count(1)
        # The last peer message encoded: a primary sends one prepare to each secondary.
        self._last_sent: tuple[object, bytes] = (None, b"")
        self._peers: dict[RpcAddress, Connection] = {}
        self._plog: MutationLog | None = None
        self._disk = DiskHealth(
            data_dir=data_dir, durability=lambda: self._durability, on_status=self._on_disk_status
        )
        self._tasks: set[asyncio.Task[Any]] = set()
        self._ticker: asyncio.Task[None] | None = None
        self._maintainer: asyncio.Task[None] | None = None
        self._learning = CheckpointLearning(
            data_dir=data_dir,
            durability=self._durability,
            hosted=self._hosted,
            run=self._run,
            unhost=self._unhost,
            open_store=self._open_store,
        )
        self._restored = 0
        self._on_collected: Callable[[tuple[int, int]], None] = lambda _gpid: None
        self._compactions = ManualCompactions(spawn=self._spawn)
        self._hotkeys = HotkeyDetection(
            hosted=self._parts.__contains__,
            analyse_interval_s=options.hotkey_analyse_interval_s,
        )
        self._garbage = GarbageCollector(data_dir, options.garbage)
        self._maintenance = Maintenance(
            data_dir=data_dir,
            durability=lambda: self._durability,
            parts=self._parts,
            hosted=self._hosted,
            garbage=self._garbage,
            shelf=self._learning.shelf,
            check_disk=self._disk.check,
        )

    def set_lease(self, lease_valid: Callable[[], bool]) -> None:
        self._lease_valid = lease_valid

    @property
    def durability(self) -> DurabilityOptions:
        return self._durability

    @property
    def core_config(self) -> ReplicaCoreConfig:
        return self._core_config

    @property
    def options(self) -> StubOptions:
        return self._options

    def update_durability(self, **changes: Any) -> None:
        """Change durability options of the running server (its mutable flags,
        replica/flags.py); the maintenance rounds read them from their next round (the
        learning options among them are not mutable). DurabilityOptionsError if the
        result cannot work."""
        self._durability = replace(self._durability, **changes)

    def set_meta_call(self, meta_call: Callable[[m.RpcSpec, Any], Any]) -> None:
        self._meta_call = meta_call

    def set_on_disk_failed(self, on_disk_failed: Callable[[str], None]) -> None:
        """Called once, with the reason, when this server's disk fails it (disk_health.py):
        the process then stops."""
        self._disk.set_on_failed(on_disk_failed)

    def set_on_collected(self, on_collected: Callable[[tuple[int, int]], None]) -> None:
        """Called with a partition's gpid when its replica here is collected as garbage
        (the server's per-partition metrics of it go then)."""
        self._on_collected = on_collected

    def _on_disk_status(self, status: DiskStatus) -> None:
        insufficient, reject = status
        for part in list(self._parts.values()):
            effects = part.core.set_disk_status(insufficient=insufficient, reject_writes=reject)
            self._run(part, effects)

    # ---- life cycle --------------------------------------------------------------------

    async def open(self) -> None:
        plog_dir = self._data_dir / "plog"
        plog_dir.mkdir(parents=True, exist_ok=True)

        def replayed(mu: Mutation) -> None:
            key = (mu.gpid.app_id, mu.gpid.partition_index)
            self._replayed.setdefault(key, []).append(mu)

        # Blocking, once at start; the log then lives on this event loop.
        config = self._durability.plog_config()
        self._plog = MutationLog.open(FileLogDisk(plog_dir), config, on_replay=replayed)
        self._maintenance.plog = self._plog
        log.info("mutation log replayed: %d partitions", len(self._replayed))
        self._learning.shelf.reset()
        self._ticker = asyncio.create_task(self._tick_loop())
        self._maintainer = asyncio.create_task(self._maintenance.run())
        self._spawn(self._hotkeys.run())

    async def close(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
        if self._maintainer is not None:
            self._maintainer.cancel()
        for t in list(self._tasks):
            t.cancel()
        for p in self._parts.values():
            p.store.close()
        self._parts.clear()
        if self._plog is not None:
            await self._plog.close()
        for c in self._peers.values():
            await c.close()

    def _spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # ---- hosting -----------------------------------------------------------------------

    def _ballot_path(self, gpid: tuple[int, int]) -> Path:
        return self._data_dir / f"{gpid[0]}.{gpid[1]}.ballot"

    def _saved_ballot(self, gpid: tuple[int, int]) -> int:
        try:
            return int(self._ballot_path(gpid).read_text())
        except (OSError, ValueError):
            return 0

    def _save_ballot(self, gpid: tuple[int, int], ballot: int) -> None:
        write_file_durably(self._ballot_path(gpid), str(ballot).encode())

    def _host(self, info: a.AppInfoMessage, gpid: tuple[int, int]) -> Partition:
        part = self._parts.get(gpid)
        if part is not None:
            return part
        dirs = PartitionDirs(self._data_dir, *gpid)
        store, durable = self._open_durable_store(dirs, info.partition_count)
        core, effects = open_replica(
            gpid=Gpid(*gpid),
            node=self.address,
            config=self._core_config,
            now=time.monotonic(),
            ballot=self._saved_ballot(gpid),
            last_committed_decree=store.last_applied_decree(),
            log_mutations=self._replayed.pop(gpid, []),
        )
        part = Partition(Gpid(*gpid), core, store, info.partition_count, dirs, durable)
        part.app_name = info.app_name
        self._parts[gpid] = part
        log.info("partition %d.%d opened: %r", gpid[0], gpid[1], core)
        self._run(part, effects)
        # The core takes a configuration naming it primary only under a lease: tell it
        # the lease now, not at the next tick, or that configuration would be ignored.
        part.lease = self._lease_valid()
        self._run(part, core.set_lease(part.lease))
        insufficient, reject = self._disk.status
        self._run(part, core.set_disk_status(insufficient=insufficient, reject_writes=reject))
        return part

    def _open_store(self, dirs: PartitionDirs, partition_count: int, path: Path) -> PartitionStore:
        """A store of partition ``dirs`` at ``path`` (its store, or a fetched checkpoint)."""
        return PartitionStore(
            str(path),
            options=self._options.storage,
            clock=time.time,
            cluster_id=self._options.cluster_id,
            partition_index=dirs.partition_index,
            partition_count=partition_count,
        )

    def _open_durable_store(
        self, dirs: PartitionDirs, partition_count: int
    ) -> tuple[PartitionStore, int]:
        """Open the partition's store (blocking) and its durable decree. A store behind its
        latest local checkpoint lost applied writes with the machine (its WAL is not
        synced): it is restored from that checkpoint, since the log may no longer hold
        the writes below it (log_gc.py)."""
        settle(dirs)
        store = self._open_store(dirs, partition_count, dirs.store)
        durable = latest_checkpoint_decree(dirs)
        if store.last_applied_decree() < durable:
            log.warning(
                "partition %d.%d: storage at decree %d is behind its checkpoint %d: restoring",
                dirs.app_id,
                dirs.partition_index,
                store.last_applied_decree(),
                durable,
            )
            store.close()
            restore_from_checkpoint(dirs, durable)
            store = self._open_store(dirs, partition_count, dirs.store)
            assert store.last_applied_decree() == durable, (store.last_applied_decree(), durable)
            self._restored += 1
        return store, durable

    def on_proposal(self, req: a.ConfigurationUpdateRequest) -> None:
        """A configuration pushed by the meta, or a task for the primary."""
        gpid = (req.config.pid.app_id, req.config.pid.partition_index)
        if req.type in (
            a.ConfigType.CT_ADD_SECONDARY,
            a.ConfigType.CT_REMOVE,
            a.ConfigType.CT_ADD_SECONDARY_FOR_LB,
        ):
            part = self._parts.get(gpid)
            if part is not None:
                msg = cm.ConfigProposal(
                    type=a.ConfigType(req.type), node=req.node, config=req.config
                )
                self._run(part, part.core.step(msg))
            return
        self.apply_config(req.info, req.config)

    def apply_config(self, info: a.AppInfoMessage, config: m.PartitionConfiguration) -> None:
        gpid = (config.pid.app_id, config.pid.partition_index)
        member = config.primary == self.address or self.address in config.secondaries
        if info.status != a.AppStatus.AS_AVAILABLE:
            if gpid in self._parts:
                self._app_infos.note(gpid, info)  # a dropped table is recovered dropped
            self._unhost(gpid)
            return
        part = self._parts.get(gpid)
        if part is None and not member:
            return  # a learner is created by the primary's group check, not by the meta
        part = part or self._host(info, gpid)
        self._app_infos.note(gpid, info)
        if info.app_name:
            part.app_name = info.app_name
        if part.partition_count != info.partition_count:
            # a learner hosted from a group check guessed it; the meta knows
            part.partition_count = info.partition_count
            part.store.set_partition_count(info.partition_count)
        apply_envs(part.store, info.envs)
        part.envs = dict(info.envs)
        for change in part.gate.update(part.envs, part.partition_count):
            log.info("partition %d.%d: %s", gpid[0], gpid[1], change)
        part.slow_query_ns = abnormal_reads.slow_query_ns(part.envs)
        part.config = config
        self._compactions.on_envs(gpid, part.store, part.envs)
        self._run(part, part.core.step(cm.ConfigUpdate(config=config)))

    def sync_configs(self, configs: list[a.ConfigurationUpdateRequest]) -> None:
        for c in configs:
            self.apply_config(c.info, c.config)

    def collect_garbage_replicas(self, named: list[a.ReplicaInfo]) -> None:
        """A config sync's gc_replicas: close and move aside, delete old garbage on a
        worker thread (``replica/garbage.py``)."""
        hosted = {
            g: Hosted(
                a.PartitionStatus(p.core.status),
                _names(p.config, self.address),
                busy=p.disk_lock.locked(),
            )
            for g, p in self._parts.items()
        }
        stored = stored_gpids(self._data_dir)
        self._garbage.on_sync(named, hosted=hosted, stored=stored, close=self._close_garbage)
        self._spawn(asyncio.to_thread(self._garbage.sweep))

    def _close_garbage(self, gpid: tuple[int, int]) -> int:
        """Unhost a garbage replica; the last decree it logged (its log records go)."""
        part = self._parts.get(gpid)
        replayed = self._replayed.pop(gpid, [])
        last = part.core.replica_info().last_prepared_decree if part is not None else 0
        self._unhost(gpid)
        self._app_infos.forget(gpid)
        self._on_collected(gpid)
        return max([last, *(mu.decree for mu in replayed)])

    def forget_roles(self) -> None:
        """The lease lapsed: the cores hear it on the next tick (set_lease)."""

    def _unhost(self, gpid: tuple[int, int]) -> None:
        part = self._parts.pop(gpid, None)
        if part is None:
            return
        # Waiting writes may have been prepared, and may yet commit elsewhere: their
        # outcome is unknown (ERR_TIMEOUT), not a refusal a client would retry.
        for _arg, fut in part.waiting.values():
            if not fut.done():
                fut.set_exception(RpcError(ErrorCode.ERR_TIMEOUT, "unhosted, outcome unknown"))
        self._compactions.forget(gpid)
        self._hotkeys.forget(gpid)
        part.store.close()
        log.info("partition %d.%d closed (data kept)", gpid[0], gpid[1])

    def _kill(self, gpid: tuple[int, int]) -> None:
        """The operator's ``replica.kill_partition``: the replica fails as on a local
        failure (a primary asks the meta to remove it) and is closed, its data kept. The
        meta and the primary then treat it as any failed member: removed, and added back
        later as a learner, here or elsewhere."""
        part = self._parts.get(gpid)
        if part is None:
            return
        log.warning("partition %d.%d killed by remote command", gpid[0], gpid[1])
        self._run(part, part.core.on_storage_failed())
        self._unhost(gpid)

    def stored_replicas(self) -> list[a.ReplicaInfo]:
        out = []
        for gpid in stored_gpids(self._data_dir):
            part = self._parts.get(gpid)
            if part is not None:
                status = int(self._compactions.status(gpid))
                out.append(replace(part.core.replica_info(), manual_compact_status=status))
            else:
                out.append(a.ReplicaInfo(pid=Gpid(*gpid), ballot=self._saved_ballot(gpid)))
        return out

    def expire_idle_scanners(self) -> int:
        return sum(p.store.expire_idle_scanners() for p in self._parts.values())

    def metric_rows(self) -> list[GaugeRows]:
        rows = replica_status_rows(p.core.status for p in self._parts.values())
        size = sum(f.stat().st_size for f in (self._data_dir / "plog").glob("log.*"))
        rows.append(
            ("private_log_size_mb", "mutation log size", [], [([], float(size) / (1 << 20))])
        )
        rows.extend(self._learning.metric_rows(self._parts.values()))
        rows.extend(self._garbage.metric_rows())
        rows.extend(self._compactions.metric_rows())
        rows.extend(storage_rows((g, p.store) for g, p in self._parts.items()))
        rows.append(
            (
                "replica_abnormal_read_requests",
                "gets, multi_gets and batch_gets past a size, row or time bound",
                PARTITION_LABELS,
                [([str(g[0]), str(g[1])], float(p.abnormal_reads)) for g, p in self._parts.items()],
            )
        )
        counts = [([str(g[0]), str(g[1])], p.gate.counts) for g, p in self._parts.items()]
        rows.extend(
            (
                f"replica_{name}",
                f"client requests of the partition: {name.replace('_', ' ')}",
                PARTITION_LABELS,
                [(labels, float(c[name])) for labels, c in counts],
            )
            for name in client_gate.COUNTERS
        )
        return rows

    def _on_detect_hotkey(self, call: Call) -> a.DetectHotkeyResponse:
        return self._hotkeys.on_rpc(call.arg)

    def remote_commands(self) -> list[tuple[tuple[str, ...], str, str, CommandHandler]]:
        """Upstream's per-replica remote commands: (names, help, args, handler)."""

        def statuses() -> dict[tuple[int, int], int]:
            return {g: int(p.core.status) for g, p in self._parts.items()}

        def query_compact(args: list[str]) -> str:
            return replica_commands.report(
                args, statuses(), address=str(self.address), answer=self._compactions.state
            )

        def query_app_envs(args: list[str]) -> str:
            def envs(gpid: tuple[int, int]) -> str:
                # The table's envs, and the usage scenario the store runs (upstream
                # reports the running one).
                part = self._parts[gpid]
                values = {**part.envs, te.ROCKSDB_USAGE_SCENARIO: part.store.usage_scenario}
                return ",".join(f"{k}={v}" for k, v in sorted(values.items()))

            return replica_commands.report(args, statuses(), address=str(self.address), answer=envs)

        def trigger_checkpoint(args: list[str]) -> str:
            picked = replica_commands.chosen(args, statuses())
            if not isinstance(picked, str):
                gpids = set(picked[0])
                self._spawn(self._maintenance.take_due_checkpoints(force=True, only=gpids))
            return replica_commands.report(
                args, statuses(), address=str(self.address), answer=lambda _gpid: "triggered"
            )

        def plog_gc(enabled: bool | None) -> CommandHandler:
            def handler(args: list[str]) -> str:
                def answer(gpid: tuple[int, int]) -> str:
                    part = self._parts[gpid]
                    if enabled is not None:
                        part.plog_gc_enabled = enabled
                    return "enabled" if part.plog_gc_enabled else "disabled"

                return replica_commands.report(
                    args, statuses(), address=str(self.address), answer=answer
                )

            return handler

        def kill_partition(args: list[str]) -> str:
            targets = replica_commands.killed(args, self._parts.keys())
            if isinstance(targets, ErrorCode):
                return targets.name
            for gpid in targets:
                self._kill(gpid)
            return ErrorCode.ERR_OK.name

        which = "for replicas specified by comma-separated list of 'app_id' or "
        which += "'app_id.partition_id', or all replicas for empty"
        return [
            (
                ("replica.enable-plog-gc",),
                f"Enable plog garbage collection {which}",
                "[id1,id2,...]",
                plog_gc(True),
            ),
            (
                ("replica.disable-plog-gc",),
                f"Disable plog garbage collection {which}",
                "[id1,id2,...]",
                plog_gc(False),
            ),
            (
                ("replica.query-plog-gc-enabled-status",),
                f"Query if plog garbage collection is enabled or disabled {which}",
                "[id1,id2,...]",
                plog_gc(None),
            ),
            (
                ("replica.kill_partition",),
                "Kill partitions by (all, one app, one partition)",
                "[app_id [partition_index]]",
                kill_partition,
            ),
            (
                ("replica.trigger-checkpoint",),
                "Trigger replicas to do checkpoint by app_id or app_id.partition_id",
                "[id1,id2,...]",
                trigger_checkpoint,
            ),
            (
                ("replica.query-compact",),
                "Query full compact status on the underlying storage engine by app_id or "
                "app_id.partition_id",
                "[id1,id2,...]",
                query_compact,
            ),
            (
                ("replica.query-app-envs",),
                "Query app envs on the underlying storage engine by app_id or app_id.partition_id",
                "[id1,id2,...]",
                query_app_envs,
            ),
        ]

    # ---- RPCs --------------------------------------------------------------------------

    def handlers(self) -> dict[str, tuple[m.RpcSpec, Handler]]:
        table: dict[str, tuple[m.RpcSpec, Handler]] = {}
        for op in OPS:
            handler = self._on_write if op.spec.is_write else self._on_read
            table[op.spec.name] = (op.spec, handler)
        table[m.RRDB_CLEAR_SCANNER.name] = (m.RRDB_CLEAR_SCANNER, self._on_clear_scanner)
        table[PEER.name] = (PEER, self._on_peer)
        table[a.QUERY_DISK_INFO.name] = (a.QUERY_DISK_INFO, self._on_query_disk_info)
        table[a.DETECT_HOTKEY.name] = (a.DETECT_HOTKEY, self._on_detect_hotkey)
        table[a.QUERY_APP_INFO.name] = (a.QUERY_APP_INFO, self._on_query_app_info)
        table[a.QUERY_REPLICA_INFO.name] = (a.QUERY_REPLICA_INFO, self._on_query_replica_info)
        table.update(self._learning.handlers())
        return table

    def http_pages(self) -> dict[str, HttpPage]:
        return {"/replica/data_version": self._data_version_page}

    def _data_version_page(self, query: dict[str, str]) -> tuple[int, str]:
        return data_version_page(query, hosted=[p.gpid for p in self._parts.values()])

    def _on_query_disk_info(self, call: Call) -> a.QueryDiskInfoResponse:
        hosted = [(p.gpid, p.app_name, p.core.status) for p in self._parts.values()]
        return query_disk_info(call.arg, data_dir=self._data_dir, replicas=hosted)

    def _on_query_app_info(self, call: Call) -> a.QueryAppInfoResponse:
        """Meta recovery: the table record of every partition stored here."""
        return a.QueryAppInfoResponse(apps=self._app_infos.apps(stored_gpids(self._data_dir)))

    async def _on_query_replica_info(self, call: Call) -> a.QueryReplicaInfoResponse:
        """Meta recovery: every replica stored here with its ballot and decrees (the
        stores not open are read on a worker thread)."""
        stored = stored_gpids(self._data_dir)
        opened = {g: p.core.replica_info() for g, p in self._parts.items()}
        logged = {g: max((mu.decree for mu in ms), default=0) for g, ms in self._replayed.items()}
        saved = {g: self._saved_ballot(g) for g in stored if g not in opened}

        def store_decree(gpid: tuple[int, int]) -> int | None:
            path = PartitionDirs(self._data_dir, *gpid).store
            try:
                return stored_decree(path)
            except Exception as e:  # rocksdict raises a bare Exception with RocksDB's status
                log.warning("replica info: store %s cannot be read: %s", path, e)
                return None

        replicas = await asyncio.to_thread(
            replica_infos,
            stored,
            open_info=opened.get,
            saved_ballot=lambda g: saved.get(g, 0),
            store_decree=store_decree,
            logged_decree=lambda g: logged.get(g, 0),
        )
        return a.QueryReplicaInfoResponse(replicas=replicas)

    def _part_of(self, call: Call) -> Partition:
        gpid = (call.header.app_id, call.header.partition_index)
        part = self._parts.get(gpid)
        if part is None:
            raise RpcError(ErrorCode.ERR_OBJECT_NOT_FOUND, f"gpid {gpid} not hosted")
        return part

    def _on_read(self, call: Call) -> Any:
        part = self._part_of(call)
        if part.gate.active:
            verdict = part.gate.on_read(
                time.monotonic(),
                call.header.client_timeout_ms,
                backup=call.header.is_backup_request,
            )
            if verdict is not client_gate.PASS:
                return self._gated(part, call, verdict, self._serve_read)
        return self._serve_read(part, call)

    def _serve_read(self, part: Partition, call: Call) -> Any:
        if self._hotkeys.watching:
            self._hotkeys.on_request(part.gpid_key, call.spec.name, call.arg, write=False)
        if call.header.is_backup_request:
            status = part.core.status
            if status == a.PartitionStatus.PS_SECONDARY:
                # A backup request may read a secondary's state, which trails the
                # primary's by the writes it has not heard committed yet (upstream's rule).
                part.gate.counts["backup_requests"] += 1
                return self._read_now(part, call)
            if status == a.PartitionStatus.PS_PRIMARY:
                part.gate.counts["backup_requests"] += 1
        self._refresh_lease(part)
        if not part.core.serving:
            return self._after_serving(part, call, self._read_now)
        return self._read_now(part, call)

    def _gated(
        self,
        part: Partition,
        call: Call,
        verdict: client_gate.Verdict,
        then: Callable[[Partition, Call], Any],
    ) -> Any:
        """Carry out what the partition's client gate said of a request other than pass."""
        if verdict.action is client_gate.Action.REFUSE:
            raise RpcError(ErrorCode.ERR_INVALID_STATE, "client requests denied by table env")
        if verdict.action is client_gate.Action.DROP:
            raise NoReply
        return self._after_gate(part, call, verdict, then)

    async def _after_gate(
        self,
        part: Partition,
        call: Call,
        verdict: client_gate.Verdict,
        then: Callable[[Partition, Call], Any],
    ) -> Any:
        await asyncio.sleep(verdict.delay_ms / 1000)
        if verdict.action is client_gate.Action.REJECT:
            raise RpcError(ErrorCode.ERR_BUSY, "throttled by table env")
        if self._parts.get(part.gpid_key) is not part:
            raise RpcError(ErrorCode.ERR_OBJECT_NOT_FOUND, f"gpid {part.gpid} not hosted")
        result = then(part, call)
        if isinstance(result, Promise) or inspect.isawaitable(result):
            return await result
        return result

    async def _after_serving(
        self, part: Partition, call: Call, then: Callable[[Partition, Call], Any]
    ) -> Any:
        """A primary still reconciling (just assigned, or after a failover) is waited for
        a moment instead of refusing at once: clients such as the Go client do not retry
        ERR_INVALID_STATE. Anything else is refused."""
        deadline = time.monotonic() + _SERVING_WAIT_S
        while True:
            self._refresh_lease(part)
            if part.core.serving:
                break
            becoming = part.core.status == a.PartitionStatus.PS_PRIMARY or (
                part.config is not None and part.config.primary == self.address
            )
            if not becoming or time.monotonic() > deadline:
                raise RpcError(ErrorCode.ERR_INVALID_STATE, "not serving")
            await asyncio.sleep(_TICK_S)
        result = then(part, call)
        if isinstance(result, Promise):
            return await result
        return result

    def _refresh_lease(self, part: Partition) -> None:
        """The lease as of now, not as of the last tick. After a pause (SIGSTOP, a stalled
        machine) the requests that waited in the socket are handled before the tick that
        would see the lease lapsed (asyncio runs ready I/O before due timers), and a
        primary the meta has replaced meanwhile would answer a read from stale data."""
        lease = self._lease_valid()
        if part.lease != lease:
            self._set_lease(part, lease)

    def _set_lease(self, part: Partition, lease: bool) -> None:
        part.lease = lease
        self._run(part, part.core.set_lease(lease))
        if lease and part.config is not None:
            # a configuration that came while the lease was out was ignored
            self._run(part, part.core.step(cm.ConfigUpdate(config=part.config)))

    def _read_now(self, part: Partition, call: Call) -> Any:
        op = OPS_BY_NAME[call.spec.name]
        arg = call.arg if op.request is None else to_storage(call.arg, op.request)
        started = time.perf_counter_ns()
        resp = getattr(part.store, op.method)(arg)
        if part.gate.read_size is not None:
            part.gate.after_read(time.monotonic(), client_gate.read_bytes(op.method, arg, resp))
        if op.method in abnormal_reads.CHECKED:
            elapsed = time.perf_counter_ns() - started
            why = abnormal_reads.abnormal(op.method, resp, elapsed, slow_ns=part.slow_query_ns)
            if why is not None:
                self._abnormal_read(part, call, op.method, why)
        return self._wire(part, op, resp)

    def _abnormal_read(self, part: Partition, call: Call, method: str, why: str) -> None:
        if method in abnormal_reads.COUNTED:
            part.abnormal_reads += 1
        log.warning(
            "partition %d.%d: abnormal %s from %s: %s",
            part.gpid.app_id,
            part.gpid.partition_index,
            method,
            call.peer,
            why,
        )

    def _wire(self, part: Partition, op: Any, resp: Any) -> Any:
        return to_wire(
            resp,
            op.response,
            app_id=part.gpid.app_id,
            partition_index=part.gpid.partition_index,
            server=self._server_name,
        )

    def _on_write(self, call: Call) -> Any:
        part = self._part_of(call)
        if part.gate.active:
            verdict = part.gate.on_write(
                time.monotonic(), call.header.client_timeout_ms, call.body_bytes
            )
            if verdict is not client_gate.PASS:
                return self._gated(part, call, verdict, self._serve_write)
        return self._serve_write(part, call)

    def _serve_write(self, part: Partition, call: Call) -> Any:
        if self._hotkeys.watching:
            self._hotkeys.on_request(part.gpid_key, call.spec.name, call.arg, write=True)
        self._refresh_lease(part)
        if call.body_bytes > self._options.max_write_bytes:
            raise RpcError(ErrorCode.ERR_INVALID_DATA, f"write of {call.body_bytes} bytes")
        if not part.core.serving:
            return self._after_serving(part, call, self._write_now)
        return self._write_now(part, call)

    def _write_now(self, part: Partition, call: Call) -> Promise[Any]:
        request_id = next(self._ids)
        fut: Promise[Any] = Promise()
        part.waiting[request_id] = (call.arg, fut)
        body = call.arg_encoded or encode(call.spec.arg, call.arg)
        update = MutationUpdate(call.spec.name, body)
        if not part.arriving:
            asyncio.get_running_loop().call_soon(self._start_arrived, part)
        part.arriving.append(
            cm.ClientWrite(request_id=request_id, update=update, arrived_us=time.time_ns() // 1000)
        )
        return fut

    def _start_arrived(self, part: Partition) -> None:
        """The writes of one loop pass (a pipelined burst from the sockets) go to the core
        together, so they share mutations: one prepare, one log append and one ack per
        member for the lot instead of one each."""
        writes, part.arriving = tuple(part.arriving), []
        if self._hosted(part):
            self._run(part, part.core.step(cm.ClientWrites(writes)))

    def _on_clear_scanner(self, call: Call) -> None:
        part = self._parts.get((call.header.app_id, call.header.partition_index))
        if part is not None:
            part.store.clear_scanner(call.arg)

    def _on_peer(self, call: Call) -> None:
        try:
            msg = decode_message(call.arg, _PEER_KINDS)
        except ThriftDecodeError as e:
            log.info("bad peer message from %s: %s", call.peer, e)
            return
        gpid = (msg.gpid.app_id, msg.gpid.partition_index)
        part = self._parts.get(gpid)
        if part is None and isinstance(msg, cm.GroupCheck):
            # A primary makes us its learner: host the partition to learn it.
            info = a.AppInfoMessage(
                app_id=gpid[0],
                partition_count=_partition_count(msg),
                status=a.AppStatus.AS_AVAILABLE,
                max_replica_count=3,
            )
            part = self._host(info, gpid)
        if part is None:
            return
        if isinstance(msg, cm.LearnRequest) and part.core.status == a.PartitionStatus.PS_PRIMARY:
            part.learn_floors[msg.learner] = msg.last_committed_decree
        elif isinstance(msg, cm.LearnResponse):
            self._learning.on_learn_response(part, msg)
        self._run(part, part.core.step(msg))

    # ---- effects -----------------------------------------------------------------------

    def _run(self, part: Partition, effects: list[fx.Effect]) -> None:
        try:
            for e in effects:
                self._do(part, e)
        except StoreWriteError as e:
            self._storage_failed(part, e)
        if part.core.status != part.status:
            self._learning.on_status_change(part, part.core.status)

    def _storage_failed(self, part: Partition, error: StoreWriteError) -> None:
        """Storage refused an Apply: the rest of that call's effects are dropped (effects.py)
        and the replica fails: it stops serving at once and, if primary, asks the meta to
        remove it. The writes still waiting here were committed or may yet be: their
        outcome is unknown to this server (ERR_TIMEOUT). Then the server stops."""
        self._run(part, part.core.on_storage_failed())
        for _arg, fut in part.waiting.values():
            if not fut.done():
                fut.set_exception(RpcError(ErrorCode.ERR_TIMEOUT, "storage failed"))
        part.waiting.clear()
        self._disk.failed(f"storage of partition {part.gpid} failed: {error}")

    def _do(self, part: Partition, e: fx.Effect) -> None:
        if isinstance(e, fx.Apply):
            self._apply(part, e)
        elif isinstance(e, fx.AppendLog):
            self._append(part, e.mutation)
        elif isinstance(e, fx.Reply):
            entry = part.waiting.pop(e.request_id, None)
            if entry is not None and not entry[1].done():
                entry[1].set_exception(RpcError(e.err, "refused by the replica"))
        elif isinstance(e, fx.ServeRead):
            pass  # reads are served inline once the core is serving (module docstring)
        elif isinstance(e, fx.SaveBallot):
            self._save_ballot((e.gpid.app_id, e.gpid.partition_index), e.ballot)
        elif isinstance(e, fx.Send):
            if isinstance(e.message, cm.LearnRequest):
                self._learning.stats.learn_rounds += 1
            self._send(e.to, e.message)
        elif isinstance(e, fx.SendPrepareAck):
            self._send(e.to, e.ack)
        elif isinstance(e, fx.ProposeConfig):
            self._spawn(self._propose(part, e.request))
        elif isinstance(e, fx.ReadLog):
            self._spawn(self._read_log(part, e))
        elif isinstance(e, fx.SendCheckpoint):
            self._spawn(self._learning.send_checkpoint(part, e))
        elif isinstance(e, fx.InstallCheckpoint):
            self._spawn(self._learning.install_checkpoint(part, e))
        else:
            raise AssertionError(f"unhandled effect {e!r}")

    def _apply(self, part: Partition, e: fx.Apply) -> None:
        """Every client write of the mutation, in order, as one storage batch at its
        decree (``apply.py``); the clients waiting on them hear the answers once the batch
        is written."""
        mu = e.mutation
        waiting = part.waiting
        # The primary's own requests were decoded on arrival, their bodies made from
        # them; members and replays decode the body.
        mine = [waiting.get(rid) if rid is not None else None for rid in e.request_ids]
        resps = apply_mutation(part.store, mu, [w[0] if w is not None else None for w in mine])
        wired: dict[int, Any] = {}  # one wire answer per distinct storage response
        for update, request_id, resp in zip(mu.updates, e.request_ids, resps, strict=True):
            if request_id is None:
                continue
            answer = wired.get(id(resp))
            if answer is None:
                answer = wired[id(resp)] = self._wire(part, OPS_BY_NAME[update.rpc_name], resp)
            entry = waiting.pop(request_id, None)
            if entry is not None and not entry[1].done():
                entry[1].set_result(answer)

    def _append(self, part: Partition, mutation: Mutation) -> None:
        assert self._plog is not None
        try:
            fut = self._plog.submit(mutation)
        except PlogError as e:
            # Refused at once (the log failed, or too many appends wait for room): the
            # core hears a failed append, after this call's other effects (effects.py).
            fut = Promise()
            asyncio.get_running_loop().call_soon(fut.set_exception, e)

        def done(f: Promise[None]) -> None:
            ok = not f.cancelled() and f.exception() is None
            if not ok and self._plog is not None and self._plog.failed is not None:
                self._disk.failed(f"mutation log failed: {self._plog.failed}")
            if self._hosted(part):
                event = cm.LogAppended(mutation.gpid, mutation.ballot, mutation.decree, ok)
                self._run(part, part.core.on_log_appended(event))

        fut.add_done_callback(done)

    def _send(self, to: RpcAddress, message: Any) -> None:
        conn = self._peers.get(to)
        if conn is None:
            conn = Connection(to.host, to.port)
            self._peers[to] = conn
        if message is not self._last_sent[0]:
            self._last_sent = (message, encode_message(message))
        raw = self._last_sent[1]
        if not conn.post(PEER, raw, timeout_s=_PEER_TIMEOUT_S):
            self._spawn(_send_quietly(conn, raw))

    async def _propose(self, part: Partition, request: a.ConfigurationUpdateRequest) -> None:
        if self._meta_call is None:
            return
        try:
            resp: a.ConfigurationUpdateResponse = await self._meta_call(
                a.CM_UPDATE_PARTITION_CONFIGURATION, request
            )
        except (CallFailed, OSError) as e:
            log.debug("proposal for %s failed: %s", part.gpid, e)
            return
        reply = cm.ConfigUpdateReply(
            err=ErrorCode.__members__.get(resp.err, ErrorCode.ERR_UNKNOWN),
            config=resp.config,
            type=a.ConfigType(request.type),
            node=request.node,
        )
        if self._hosted(part):
            self._run(part, part.core.step(reply))

    async def _read_log(self, part: Partition, e: fx.ReadLog) -> None:
        assert self._plog is not None
        plog = self._plog
        try:
            mutations = await asyncio.to_thread(
                lambda: newest_per_decree(
                    plog.read_mutations(e.gpid, decree_gt=e.decree_gt), bytes_max=e.bytes_max
                )
            )
            event = cm.LogRead(read_id=e.read_id, mutations=mutations)
        except Exception as err:
            event = cm.LogRead(read_id=e.read_id, error=str(err))
        if self._hosted(part):
            self._run(part, part.core.on_log_read(event))

    def _hosted(self, part: Partition) -> bool:
        return part is self._parts.get((part.gpid.app_id, part.gpid.partition_index))

    # ---- time ----------------------------------------------------------------------------

    async def _tick_loop(self) -> None:
        while True:
            await asyncio.sleep(_TICK_S)
            now = time.monotonic()
            lease = self._lease_valid()
            for part in list(self._parts.values()):
                if part.lease != lease:
                    self._set_lease(part, lease)
                self._run(part, part.core.tick(now))


def _names(config: m.PartitionConfiguration | None, node: RpcAddress) -> bool:
    return config is not None and (config.primary == node or node in config.secondaries)


def _partition_count(msg: cm.GroupCheck) -> int:
    # A learner learns its partition count from the meta's config sync soon after; until
    # then the partition index bounds it from below.
    count = 1
    while count <= msg.gpid.partition_index:
        count <<= 1
    return count


async def _send_quietly(conn: Connection, raw: bytes) -> None:
    try:
        await conn.call(PEER, raw, timeout_s=_PEER_TIMEOUT_S)
    except CallFailed:
        pass  # peer messages are best effort; the core retries what matters
