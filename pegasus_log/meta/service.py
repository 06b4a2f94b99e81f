"""The meta server: tables, partitions, replica servers, routing and admin, on ZooKeeper.

Only the leader acts; a follower answers ERR_FORWARD_TO_OTHERS naming the leader. The
leader keeps the whole state in memory, loaded from the store when it is elected, and
writes every change to the store before acting on it or answering (the repository's
methods return only once written). Store writes are serialised by one lock so the memory
and the store change in the same order.

Every ``tick_s`` the leader
1. declares dead the replica servers whose beacons stopped (grace) and drops them from the
   configurations they were members of (ballot + 1);
2. moves the balancer's copies under way one step on (each step asked of the primary, but
   a copy_primary's hand-over of the primary role, which the meta writes itself);
3. asks the partition guardian what each other partition needs and carries out the
   actions the meta applies itself (assign a primary, upgrade a secondary), telling the
   members, or asks the primary (add a learner, remove a member);
4. only when nothing needed curing: asks the balancer for the next moves (one primary
   swap, or copies of secondaries or primaries up to ``balance_copies_max`` under way at
   once);
subject to the meta function level (blind: DDL only; freezed: drops only; steady: drops
and cure; lively: as steady, plus balancing).
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from pegasus_log.failure_detector import FdOptions, MasterGrace
from pegasus_log.frozen import frozen
from pegasus_log.meta import app_env
from pegasus_log.meta.convert import app_to_wire, config_from_wire, config_to_wire
from pegasus_log.meta.core import (
    balance_score,
    balancer,
    guardian,
    manual_compact,
    reconfig,
    recovery,
)
from pegasus_log.meta.recovery_calls import ask_replica_servers
from pegasus_log.meta.state.model import AppState, AppStatus, InvalidState, PartitionConfig
from pegasus_log.meta.state.repository import AppsLocked, MetaStateRepository, Stored
from pegasus_log.meta.state.store import BadVersion, StoreError
from pegasus_log.rpc import admin as a
from pegasus_log.rpc import messages as m
from pegasus_log.rpc.error_code import ErrorCode
from pegasus_log.rpc.thrift import HostPort, RpcAddress
from pegasus_log.transport.connection import CallFailed, Connection
from pegasus_log.transport.server import Call, Handler, RpcError

log = logging.getLogger(__name__)


class MetaOptionsError(ValueError):
    """Options that cannot work together (an operator's mistake)."""


@frozen
class MetaOptions:
    fd: FdOptions = FdOptions()
    # How often the leader checks node liveness and cures partitions: a quarter of the
    # grace margin, so a dead node is acted on within 0.25 s of its grace running out.
    tick_s: float = 0.25
    # Upstream starts at steady: cure, no balancing.
    initial_level: a.MetaFunctionLevel = a.MetaFunctionLevel.fl_steady
    # How long create_app waits for every partition's group to form before answering:
    # learning an empty partition takes well under a second per secondary.
    create_wait_s: float = 15.0
    # Per push of a configuration to a replica server.
    push_timeout_s: float = 2.0
    # How long an ADD_SECONDARY / REMOVE asked of a primary may take before it is asked
    # again: learning a partition from scratch takes seconds.
    proposal_retry_s: float = 3.0
    # Balancer copies (copy a secondary to another node, then remove it) under way at
    # once, cluster wide: each one is a partition being learned from scratch, which costs
    # its primary disk and network; upstream likewise balances a few partitions a round.
    balance_copies_max: int = 2
    # A copy not done after this is given up (the guardian removes a surplus member): a
    # learner that makes no progress, or a primary that keeps refusing, stalls no more.
    balance_copy_timeout_s: float = 300.0
    cluster_name: str = "onebox"
    zookeeper_hosts: str = ""
    # How long a dropped table can be recalled when its drop asked for no time of its
    # own. Upstream hold_seconds_for_dropped_app = 604800 (7 days).
    dropped_app_hold_s: int = 7 * 24 * 3600
    # The replica counts a table may be created with. Upstream min_allowed_replica_count
    # = 1, max_allowed_replica_count = 5.
    replica_count_min: int = 1
    replica_count_max: int = 5
    # Upstream recover_from_replica_server: a leader that finds no table at all waits for
    # an operator's ``recover`` (RPC_CM_START_RECOVERY) instead of starting empty.
    recover_from_replica_servers: bool = False
    # How long meta recovery waits for each replica server's answers.
    recovery_query_timeout_s: float = 30.0

    def __post_init__(self) -> None:
        if not 1 <= self.replica_count_min <= self.replica_count_max:
            raise MetaOptionsError(
                f"need 1 <= min replica count ({self.replica_count_min})"
                f" <= max replica count ({self.replica_count_max})"
            )
        if self.dropped_app_hold_s < 0 or self.balance_copies_max < 0:
            raise MetaOptionsError("hold time and balance copies must be >= 0")


@dataclass(slots=True)
class NodeRecord:
    address: RpcAddress
    alive: bool = True
    # gpid -> what the node said it stores, in its config syncs since it last came back
    stored: dict[tuple[int, int], a.ReplicaInfo] = field(default_factory=dict)
    # Whether it has synced since it registered or last came back.
    synced: bool = False
    # When it last synced (the meta's clock): what it reported then is that recent.
    synced_at: float = 0.0


# The admin requests that change tables or partitions (refused while recovering).
_CHANGES_STATE = (
    a.CM_CREATE_APP,
    a.CM_DROP_APP,
    a.CM_RECALL_APP,
    a.CM_UPDATE_APP_ENV,
    a.CM_PROPOSE_BALANCER,
    a.CM_SET_MAX_REPLICA_COUNT,
    a.CM_SET_ATOMIC_IDEMPOTENT,
    a.CM_RENAME_APP,
    a.CM_START_MANUAL_COMPACT,
)


class NotLeader(Exception):
    pass


class MetaService:
    def __init__(
        self,
        *,
        repo: MetaStateRepository,
        address: RpcAddress,
        options: MetaOptions,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self._repo = repo
        self.address = address
        self._options = options
        self._clock = clock
        self._wall = wall_clock
        self._grace = MasterGrace(options.fd)
        self.leader = False
        self.leader_address: RpcAddress | None = None
        self.level = options.initial_level
        # Every meta contending for leadership, as the election sees them.
        self.meta_servers: list[RpcAddress] = []
        self._apps: dict[int, Stored[AppState]] = {}
        self._partitions: dict[tuple[int, int], Stored[PartitionConfig]] = {}
        self._nodes: dict[RpcAddress, NodeRecord] = {}
        self._write_lock = asyncio.Lock()
        self._conns: dict[RpcAddress, Connection] = {}
        self._tick_task: asyncio.Task[None] | None = None
        # gpid -> (action asked of its primary, when): primary-applied actions in flight
        self._proposed: dict[tuple[int, int], tuple[guardian.Action, float]] = {}
        # gpid -> (balancer copy under way, when it started); at most one per partition
        self._copies: dict[tuple[int, int], tuple[balancer.Proposal, float]] = {}
        self._term = 0  # bumped on every leadership change; stale work checks it
        # Waiting for an operator's recover (options.recover_from_replica_servers).
        self.recovering = False
        # No lease before this time (on_beacon): set when leading in recovery mode.
        self._leases_from = -math.inf
        # app_id -> when its latest manual compaction was started (the meta's clock)
        self._compact_started: dict[int, float] = {}

    @property
    def options(self) -> MetaOptions:
        return self._options

    def update_options(self, **changes: Any) -> None:
        """Change options of the running meta (its mutable flags, meta/flags.py); the
        change applies from the next use. MetaOptionsError if the result cannot work.
        The failure detector's options are fixed at start (the grace is built on them)."""
        assert "fd" not in changes, "failure detection options are fixed at start"
        self._options = replace(self._options, **changes)

    # ---- leadership ---------------------------------------------------------------------

    async def become_leader(self) -> None:
        try:
            loaded = await asyncio.to_thread(self._load)
        except AppsLocked:
            # A recovery was cut short (its meta died between the lock and the unlock).
            # Upstream's meta stops there; with the flag this one clears what that
            # recovery wrote and waits for the operator's recover again.
            if not self._options.recover_from_replica_servers:
                raise
            log.warning(
                "the apps root is locked: a meta recovery was cut short; removing the "
                "tables it wrote"
            )
            await asyncio.to_thread(self._repo.clear_apps)
            loaded = {}, {}
        self._apps, self._partitions = loaded
        self.recovering = self._options.recover_from_replica_servers and not self._apps
        self._leases_from = -math.inf
        if self.recovering:
            self._leases_from = self._clock() + self._options.fd.grace_s
            log.warning(
                "no table in the store and recover_from_replica_servers is set: waiting for "
                "an operator's recover (the shell's recover -s <replica servers>)"
            )
        self._term += 1
        self._grace.reset(self._clock())
        self.leader = True
        self.leader_address = self.address
        self._tick_task = asyncio.create_task(self._tick_loop(self._term))
        log.info("leading: %d tables, %d partitions loaded", len(self._apps), len(self._partitions))

    def _load(
        self,
    ) -> tuple[dict[int, Stored[AppState]], dict[tuple[int, int], Stored[PartitionConfig]]]:
        self._repo.initialize()
        state = self._repo.load_all()
        return state.apps, state.partitions

    def step_down(self, leader: RpcAddress | None = None) -> None:
        if self.leader:
            log.warning("no longer leading")
        self.leader = False
        self._term += 1
        self.leader_address = leader
        if self._tick_task is not None:
            self._tick_task.cancel()
            self._tick_task = None
        self._apps, self._partitions = {}, {}
        self._copies.clear()
        self._proposed.clear()

    def set_leader_address(self, leader: RpcAddress | None) -> None:
        if not self.leader:
            self.leader_address = leader

    async def close(self) -> None:
        self.step_down()
        for conn in self._conns.values():
            await conn.close()

    # ---- the RPC table --------------------------------------------------------------------

    def handlers(self) -> dict[str, tuple[m.RpcSpec, Handler]]:
        table: list[tuple[m.RpcSpec, Handler]] = [
            (m.CM_QUERY_PARTITION_CONFIG, self.on_query_cfg),
            (a.CM_CREATE_APP, self.on_create_app),
            (a.CM_DROP_APP, self.on_drop_app),
            (a.CM_RECALL_APP, self.on_recall_app),
            (a.CM_LIST_APPS, self.on_list_apps),
            (a.QUERY_APP_INFO, self.on_query_app_info),
            (a.CM_UPDATE_APP_ENV, self.on_update_app_env),
            (a.CM_LIST_NODES, self.on_list_nodes),
            (a.CM_CLUSTER_INFO, self.on_cluster_info),
            (a.CM_CONTROL_META, self.on_control_meta),
            (a.CM_PROPOSE_BALANCER, self.on_propose_balancer),
            (a.CM_DDD_DIAGNOSE, self.on_ddd_diagnose),
            (a.CM_GET_MAX_REPLICA_COUNT, self.on_get_max_replica_count),
            (a.CM_SET_MAX_REPLICA_COUNT, self.on_set_max_replica_count),
            (a.CM_GET_ATOMIC_IDEMPOTENT, self.on_get_atomic_idempotent),
            (a.CM_SET_ATOMIC_IDEMPOTENT, self.on_set_atomic_idempotent),
            (a.CM_RENAME_APP, self.on_rename_app),
            (a.CM_START_MANUAL_COMPACT, self.on_start_manual_compact),
            (a.CM_QUERY_MANUAL_COMPACT_STATUS, self.on_query_manual_compact_status),
            (a.CM_START_RECOVERY, self.on_start_recovery),
            (a.FD_BEACON, self.on_beacon),
            (a.CM_CONFIG_SYNC, self.on_config_sync),
            (a.CM_UPDATE_PARTITION_CONFIGURATION, self.on_update_partition_configuration),
        ]
        guarded = {spec.name for spec in _CHANGES_STATE}
        return {
            spec.name: (spec, self._unless_recovering(h) if spec.name in guarded else h)
            for spec, h in table
        }

    def _unless_recovering(self, handler: Handler) -> Handler:
        """A request that would change the state, refused while the meta waits for an
        operator's recover: a table created now would take an app id the replica servers
        still hold data of."""

        def guarded(call: Call) -> Any:
            if self.leader and self.recovering:
                raise RpcError(ErrorCode.ERR_UNDER_RECOVERY, "waiting for recover")
            return handler(call)

        return guarded

    def _forward(self) -> str:
        return ErrorCode.ERR_FORWARD_TO_OTHERS.name

    # ---- routing -----------------------------------------------------------------------

    def on_query_cfg(self, call: Call) -> m.QueryCfgResponse:
        req: m.QueryCfgRequest = call.arg
        if not self.leader:
            leader = self.leader_address or RpcAddress("", 0)
            return m.QueryCfgResponse(
                err=self._forward(),
                is_stateful=False,
                partitions=[m.PartitionConfiguration(primary=leader)],
            )
        app = self._app_by_name(req.app_name)
        if app is None:
            return m.QueryCfgResponse(err=ErrorCode.ERR_OBJECT_NOT_FOUND.name, is_stateful=False)
        wanted = req.partition_indices or list(range(app.partition_count))
        if any(i < 0 or i >= app.partition_count for i in wanted):
            return m.QueryCfgResponse(err=ErrorCode.ERR_INVALID_PARAMETERS.name, is_stateful=False)
        return m.QueryCfgResponse(
            err=ErrorCode.ERR_OK.name,
            app_id=app.app_id,
            partition_count=app.partition_count,
            is_stateful=True,
            partitions=[config_to_wire(self._partitions[(app.app_id, i)].value) for i in wanted],
        )

    def _app_by_name(self, name: str) -> AppState | None:
        for stored in self._apps.values():
            app = stored.value
            if app.app_name == name and app.status == AppStatus.AS_AVAILABLE:
                return app
        return None

    # ---- DDL ---------------------------------------------------------------------------

    async def on_create_app(self, call: Call) -> a.CreateAppResponse:
        req: a.CreateAppRequest = call.arg
        if not self.leader:
            return a.CreateAppResponse(err=self._forward())
        if self.level <= a.MetaFunctionLevel.fl_freezed:
            return a.CreateAppResponse(err=ErrorCode.ERR_STATE_FREEZED.name)
        o = req.options
        problem = _check_create(req.app_name, o, self._options)
        if problem is not None:
            log.info("create_app %r refused: %s", req.app_name, problem)
            return a.CreateAppResponse(err=ErrorCode.ERR_INVALID_PARAMETERS.name)
        async with self._write_lock:
            existing = self._app_by_name(req.app_name)
            if existing is not None:
                if not o.success_if_exist:
                    return a.CreateAppResponse(err=ErrorCode.ERR_APP_EXIST.name)
                same = (
                    existing.partition_count == o.partition_count
                    and existing.max_replica_count == o.replica_count
                    and existing.app_type == (o.app_type or "pegasus")
                    and dict(existing.envs) == dict(o.envs)
                )
                err = ErrorCode.ERR_OK if same else ErrorCode.ERR_INVALID_PARAMETERS
                return a.CreateAppResponse(err=err.name, appid=existing.app_id if same else 0)
            try:
                app_id = await asyncio.to_thread(self._repo.next_app_id)
                app = AppState(
                    app_id=app_id,
                    app_name=req.app_name,
                    partition_count=o.partition_count,
                    status=AppStatus.AS_AVAILABLE,
                    app_type=o.app_type or "pegasus",
                    envs=dict(o.envs),
                    is_stateful=True,
                    max_replica_count=o.replica_count,
                    create_second=int(self._wall()),
                    init_partition_count=o.partition_count,
                    atomic_idempotent=bool(o.atomic_idempotent),
                )
                parts = app.initial_partitions()
                await asyncio.to_thread(self._repo.create_app, app, parts)
            except (StoreError, InvalidState) as e:
                log.warning("create_app %r failed: %s", req.app_name, e)
                return a.CreateAppResponse(err=ErrorCode.ERR_ZOOKEEPER_OPERATION.name)
            # New nodes start at version 0.
            self._apps[app_id] = Stored(app, 0)
            for part in parts:
                self._partitions[part.gpid] = Stored(part, 0)
        log.info(
            "created table %s (app_id %d, %d partitions)", req.app_name, app_id, o.partition_count
        )
        await self._wait_for_primaries(app_id)
        return a.CreateAppResponse(err=ErrorCode.ERR_OK.name, appid=app_id)

    async def _wait_for_primaries(self, app_id: int) -> None:
        """Answer a create once every partition has its full group (or as many members as
        there are alive servers): writes need two members, so a table answered earlier
        would refuse its first writes with ERR_NOT_ENOUGH_MEMBER. Bounded by
        ``create_wait_s``; after it the create is answered anyway."""
        deadline = self._clock() + self._options.create_wait_s
        while self.leader and self._clock() < deadline:
            alive = sum(r.alive for r in self._nodes.values())
            if not alive:
                return
            parts = [p.value for (aid, _), p in self._partitions.items() if aid == app_id]
            if all(
                p.primary and 1 + len(p.secondaries) >= min(p.max_replica_count, alive)
                for p in parts
            ):
                return
            await asyncio.sleep(self._options.tick_s / 2)

    async def on_drop_app(self, call: Call) -> a.DropAppResponse:
        req: a.DropAppRequest = call.arg
        if not self.leader:
            return a.DropAppResponse(err=self._forward())
        if self.level <= a.MetaFunctionLevel.fl_stopped:
            return a.DropAppResponse(err=ErrorCode.ERR_STATE_FREEZED.name)
        async with self._write_lock:
            app = self._app_by_name(req.app_name)
            if app is None:
                ok = req.options.success_if_not_exist
                return a.DropAppResponse(
                    err=(ErrorCode.ERR_OK if ok else ErrorCode.ERR_APP_NOT_EXIST).name
                )
            reserve = req.options.reserve_seconds
            if reserve is None or reserve <= 0:
                reserve = self._options.dropped_app_hold_s
            now = int(self._wall())
            dropped = replace(
                app, status=AppStatus.AS_DROPPED, drop_second=now, expire_second=now + reserve
            )
            err = await self._write_app(dropped)
            if err is not None:
                return a.DropAppResponse(err=err)
        log.info(
            "dropped table %s (app_id %d), recallable for %d s", app.app_name, app.app_id, reserve
        )
        await self._push_app(app.app_id)
        return a.DropAppResponse(err=ErrorCode.ERR_OK.name)

    async def on_recall_app(self, call: Call) -> a.RecallAppResponse:
        req: a.RecallAppRequest = call.arg
        if not self.leader:
            return a.RecallAppResponse(err=self._forward())
        async with self._write_lock:
            stored = self._apps.get(req.app_id)
            if stored is not None and stored.value.status == AppStatus.AS_AVAILABLE:
                return a.RecallAppResponse(err=ErrorCode.ERR_APP_EXIST.name)
            if stored is None or stored.value.status != AppStatus.AS_DROPPED:
                return a.RecallAppResponse(err=ErrorCode.ERR_APP_NOT_EXIST.name)
            app = stored.value
            if app.expire_second and app.expire_second <= self._wall():
                return a.RecallAppResponse(err=ErrorCode.ERR_APP_NOT_EXIST.name)
            name = req.new_app_name or app.app_name
            if self._app_by_name(name) is not None:
                return a.RecallAppResponse(err=ErrorCode.ERR_INVALID_PARAMETERS.name)
            try:
                recalled = replace(
                    app,
                    app_name=name,
                    status=AppStatus.AS_AVAILABLE,
                    drop_second=0,
                    expire_second=0,
                )
            except InvalidState:
                return a.RecallAppResponse(err=ErrorCode.ERR_INVALID_PARAMETERS.name)
            err = await self._write_app(recalled)
            if err is not None:
                return a.RecallAppResponse(err=err)
        log.info("recalled table %s (app_id %d)", name, app.app_id)
        await self._push_app(app.app_id)
        return a.RecallAppResponse(err=ErrorCode.ERR_OK.name, info=app_to_wire(recalled))

    async def on_rename_app(self, call: Call) -> a.RenameAppResponse:
        """A table's new name (upstream's ``rename``): its app record rewritten with the
        name, then pushed to its replica servers. Refused, with upstream's hint, for a
        name no available table has (``ERR_APP_NOT_EXIST``; a dropped table's name is
        free, as upstream), and a new name that an available table has or that no table
        may have (``ERR_INVALID_PARAMETERS``)."""
        req: a.RenameAppRequest = call.arg
        old, new = req.old_app_name, req.new_app_name
        if not self.leader:
            return a.RenameAppResponse(err=self._forward())
        if self.level <= a.MetaFunctionLevel.fl_stopped:
            return a.RenameAppResponse(err=ErrorCode.ERR_STATE_FREEZED.name)
        async with self._write_lock:
            app = self._app_by_name(old)
            if app is None:  # a dropped table's name is free, as upstream
                return a.RenameAppResponse(
                    err=ErrorCode.ERR_APP_NOT_EXIST.name,
                    hint_message=f"ERROR: app({old}) not exist!",
                )
            if self._app_by_name(new) is not None:
                return a.RenameAppResponse(
                    err=ErrorCode.ERR_INVALID_PARAMETERS.name,
                    hint_message=f"ERROR: app({new}) already exist!",
                )
            try:
                renamed = replace(app, app_name=new)
            except InvalidState as e:
                return a.RenameAppResponse(
                    err=ErrorCode.ERR_INVALID_PARAMETERS.name, hint_message=f"ERROR: {e}"
                )
            err = await self._write_app(renamed)
            if err is not None:
                return a.RenameAppResponse(err=err, hint_message="store write failed")
        log.info("renamed table %s (app_id %d) to %s", old, app.app_id, new)
        await self._push_app(app.app_id)
        return a.RenameAppResponse(err=ErrorCode.ERR_OK.name)

    async def on_start_recovery(self, call: Call) -> a.ConfigurationRecoveryResponse:
        """Meta recovery (the shell's ``recover``): ask every named replica server what it
        stores, rebuild the tables and partitions from the answers
        (``meta/core/recovery.py``), write them, then serve. Only a leader that found no
        table and was started to recover does it (else ``ERR_SERVICE_ALREADY_RUNNING``).
        Servers that do not answer fail it (``ERR_TRY_AGAIN``) unless ``skip_bad_nodes``;
        a partition no server holds fails it unless ``skip_lost_partitions``."""
        req: a.ConfigurationRecoveryRequest = call.arg
        if not self.leader:
            return a.ConfigurationRecoveryResponse(err=self._forward())
        if not self.recovering:
            return a.ConfigurationRecoveryResponse(
                err=ErrorCode.ERR_SERVICE_ALREADY_RUNNING.name,
                hint_message="the meta is serving: recover is for a meta started with "
                "--recover-from-replica-servers that found no table\n",
            )
        async with self._write_lock:
            err, hints = await self._recover(req)
        log.log(
            logging.INFO if err == ErrorCode.ERR_OK else logging.WARNING,
            "recover: %s\n%s",
            err.name,
            "".join(hints),
        )
        return a.ConfigurationRecoveryResponse(err=err.name, hint_message="".join(hints))

    async def _recover(self, req: a.ConfigurationRecoveryRequest) -> tuple[ErrorCode, list[str]]:
        nodes = list(dict.fromkeys(req.recovery_nodes))
        if not nodes:
            return ErrorCode.ERR_INVALID_PARAMETERS, ["ERROR: no replica server named\n"]
        answers = await ask_replica_servers(
            nodes, meta=self.address, timeout_s=self._options.recovery_query_timeout_s
        )
        hints: list[str] = []
        reports = []
        for node, answer in zip(nodes, answers, strict=True):
            if isinstance(answer, recovery.NodeReport):
                reports.append(answer)
            elif req.skip_bad_nodes:
                hints.append(
                    f"WARNING: collect app and replica info from node({node}) failed with "
                    f"err({answer}), skip the bad node\n"
                )
            else:
                hints.append(
                    f"ERROR: collect app and replica info from node({node}) failed with "
                    f"err({answer}), you can skip it by set skip_bad_nodes option\n"
                )
        if len(reports) < len(nodes) and not req.skip_bad_nodes:
            return ErrorCode.ERR_TRY_AGAIN, hints
        built = recovery.construct(reports, skip_lost_partitions=req.skip_lost_partitions)
        hints += [line + "\n" for line in built.hints]
        if isinstance(built, recovery.Refused):
            return ErrorCode.ERR_TRY_AGAIN, hints
        try:
            # Locked while the tables are written: a meta that dies in between leaves a
            # state the next leader will not serve (become_leader).
            await asyncio.to_thread(self._repo.lock_apps)
            await asyncio.to_thread(self._repo.clear_apps)
            for app, partitions in built.tables:
                await asyncio.to_thread(self._repo.create_app, app, partitions)
            await asyncio.to_thread(self._repo.unlock_apps)
            self._apps, self._partitions = await asyncio.to_thread(self._load)
        except StoreError as e:
            log.error("recover: writing the rebuilt state failed: %s", e)
            hints.append(f"ERROR: writing the rebuilt state failed: {e}\n")
            return ErrorCode.ERR_ZOOKEEPER_OPERATION, hints
        self.recovering = False
        log.info(
            "recovered %d tables, %d partitions from %d replica servers",
            len(self._apps),
            len(self._partitions),
            len(reports),
        )
        return ErrorCode.ERR_OK, hints

    async def _write_app(self, app: AppState) -> str | None:
        """Write a table (caller holds the write lock); an error name on failure."""
        stored = self._apps[app.app_id]
        try:
            version = await asyncio.to_thread(self._repo.update_app, app, stored.version)
        except StoreError as e:
            log.warning("writing table %s failed: %s", app.app_name, e)
            return ErrorCode.ERR_ZOOKEEPER_OPERATION.name
        self._apps[app.app_id] = Stored(app, version)
        return None

    def on_list_apps(self, call: Call) -> a.ListAppsResponse:
        req: a.ListAppsRequest = call.arg
        if not self.leader:
            return a.ListAppsResponse(err=self._forward())
        match = _name_matcher(req.app_name_pattern, req.match_type)
        if match is None:
            return a.ListAppsResponse(
                err=ErrorCode.ERR_INVALID_PARAMETERS.name, hint_message="bad name pattern"
            )
        infos = [
            app_to_wire(s.value)
            for s in sorted(self._apps.values(), key=lambda s: s.value.app_id)
            if (req.status == a.AppStatus.AS_INVALID or s.value.status == req.status)
            and match(s.value.app_name)
        ]
        return a.ListAppsResponse(err=ErrorCode.ERR_OK.name, infos=infos)

    def on_query_app_info(self, call: Call) -> a.QueryAppInfoResponse:
        if not self.leader:
            return a.QueryAppInfoResponse(err=self._forward())
        apps = [app_to_wire(s.value) for s in self._apps.values()]
        return a.QueryAppInfoResponse(err=ErrorCode.ERR_OK.name, apps=apps)

    async def on_update_app_env(self, call: Call) -> a.UpdateAppEnvResponse:
        req: a.UpdateAppEnvRequest = call.arg
        if not self.leader:
            return a.UpdateAppEnvResponse(err=self._forward())
        async with self._write_lock:
            app = self._app_by_name(req.app_name)
            if app is None:
                return a.UpdateAppEnvResponse(
                    err=ErrorCode.ERR_APP_NOT_EXIST.name, hint_message="no such table"
                )
            update = app_env.apply(dict(app.envs), req)
            if update.refused:
                return a.UpdateAppEnvResponse(
                    err=ErrorCode.ERR_INVALID_PARAMETERS.name, hint_message=update.hint
                )
            err = await self._write_app(replace(app, envs=update.envs))
            if err is not None:
                return a.UpdateAppEnvResponse(err=err, hint_message="store write failed")
        await self._push_app(app.app_id)
        return a.UpdateAppEnvResponse(err=ErrorCode.ERR_OK.name, hint_message="")

    # ---- manual compaction ---------------------------------------------------------------

    def _app_named(self, name: str) -> tuple[AppState | None, a.StartAppManualCompactResponse]:
        """The available table ``name``, or None and upstream's refusal (no such table,
        or only a dropped one)."""
        app = self._app_by_name(name)
        if app is not None:
            return app, a.StartAppManualCompactResponse()
        dropped = any(s.value.app_name == name for s in self._apps.values())
        err = ErrorCode.ERR_APP_DROPPED if dropped else ErrorCode.ERR_APP_NOT_EXIST
        state = "not available" if dropped else "not existed"
        return None, a.StartAppManualCompactResponse(
            err=err.name, hint_msg=f"app {name} is {state}"
        )

    async def on_start_manual_compact(self, call: Call) -> a.StartAppManualCompactResponse:
        """admin-cli's ``manual-compaction start``: write the table's once-compaction envs
        (``meta/core/manual_compact.py``); every replica then compacts on its own."""
        req: a.StartAppManualCompactRequest = call.arg
        if not self.leader:
            return a.StartAppManualCompactResponse(err=self._forward())
        async with self._write_lock:
            app, refused = self._app_named(req.app_name)
            if app is None:
                return refused
            if app.envs.get(manual_compact.DISABLED) == "true":
                return a.StartAppManualCompactResponse(
                    err=ErrorCode.ERR_OPERATION_DISABLED.name,
                    hint_msg=f"app {req.app_name} disable manual compaction",
                )
            envs = manual_compact.start_envs(req, now_s=int(self._wall()))
            if isinstance(envs, str):
                return a.StartAppManualCompactResponse(
                    err=ErrorCode.ERR_INVALID_PARAMETERS.name, hint_msg=envs
                )
            err = await self._write_app(replace(app, envs={**app.envs, **envs}))
            if err is not None:
                return a.StartAppManualCompactResponse(err=err, hint_msg="store write failed")
            # What the replicas reported before this counts as idle (upstream resets it).
            self._compact_started[app.app_id] = self._clock()
        log.info("manual compaction of %s started: %s", req.app_name, envs)
        await self._push_app(app.app_id)
        return a.StartAppManualCompactResponse(err=ErrorCode.ERR_OK.name, hint_msg="succeed")

    def on_query_manual_compact_status(self, call: Call) -> a.QueryAppManualCompactResponse:
        """admin-cli's ``manual-compaction query``: the percent of the table's replicas
        that finished, from their config syncs since the compaction started."""
        req: a.QueryAppManualCompactRequest = call.arg
        if not self.leader:
            return a.QueryAppManualCompactResponse(err=self._forward())
        app, refused = self._app_named(req.app_name)
        if app is None:
            return a.QueryAppManualCompactResponse(err=refused.err, hint_msg=refused.hint_msg)
        done = manual_compact.progress(
            self._compact_statuses(app), total=app.partition_count * app.max_replica_count
        )
        if done is None:
            return a.QueryAppManualCompactResponse(
                err=ErrorCode.ERR_INVALID_STATE.name,
                hint_msg=f"app {req.app_name} is not manual compaction",
            )
        return a.QueryAppManualCompactResponse(
            err=ErrorCode.ERR_OK.name, hint_msg="succeed", progress=done
        )

    def _compact_statuses(self, app: AppState) -> Iterator[a.ManualCompactStatus]:
        """What each serving replica of ``app`` (a member of its partition that reported
        it) last said of its manual compaction; idle when it has not synced since the
        compaction started."""
        started = self._compact_started.get(app.app_id, -1.0)
        for index in range(app.partition_count):
            pc = self._partitions[(app.app_id, index)].value
            for member in (pc.primary, *pc.secondaries):
                rec = self._nodes.get(RpcAddress.parse(member)) if member else None
                info = rec.stored.get((app.app_id, index)) if rec is not None else None
                if rec is None or info is None:
                    continue
                status = info.manual_compact_status
                if rec.synced_at < started or status is None:
                    yield a.ManualCompactStatus.IDLE
                else:
                    yield a.ManualCompactStatus(status)

    # ---- a table's replica count ---------------------------------------------------------

    def on_get_max_replica_count(self, call: Call) -> a.GetMaxReplicaCountResponse:
        req: a.GetMaxReplicaCountRequest = call.arg
        if not self.leader:
            return a.GetMaxReplicaCountResponse(err=self._forward())
        app = self._app_by_name(req.app_name)
        if app is None:
            return a.GetMaxReplicaCountResponse(
                err=ErrorCode.ERR_APP_NOT_EXIST.name,
                hint_message=f"app({req.app_name}) does not exist",
            )
        behind = self._replica_count_behind(app)
        if behind is not None:
            return a.GetMaxReplicaCountResponse(
                err=ErrorCode.ERR_INCONSISTENT_STATE.name, hint_message=behind
            )
        return a.GetMaxReplicaCountResponse(
            err=ErrorCode.ERR_OK.name, max_replica_count=app.max_replica_count
        )

    def on_get_atomic_idempotent(self, call: Call) -> a.GetAtomicIdempotentResponse:
        """Whether a table's atomic writes are to be made idempotent (upstream's
        ``app_info.atomic_idempotent``; set at creation or by ``set``)."""
        req: a.GetAtomicIdempotentRequest = call.arg
        if not self.leader:
            return a.GetAtomicIdempotentResponse(err=self._forward())
        app = self._app_by_name(req.app_name)
        if app is None:
            return a.GetAtomicIdempotentResponse(
                err=ErrorCode.ERR_APP_NOT_EXIST.name,
                hint_message=f"app({req.app_name}) does not exist",
            )
        return a.GetAtomicIdempotentResponse(atomic_idempotent=app.atomic_idempotent)

    async def on_set_atomic_idempotent(self, call: Call) -> a.SetAtomicIdempotentResponse:
        """Change a table's ``atomic_idempotent``, upstream's refusals and hints: the
        table's record in ZooKeeper, then its replicas see it at their next config sync."""
        req: a.SetAtomicIdempotentRequest = call.arg
        if not self.leader:
            return a.SetAtomicIdempotentResponse(err=self._forward())
        async with self._write_lock:
            app = self._app_by_name(req.app_name)
            if app is None:
                return a.SetAtomicIdempotentResponse(
                    err=ErrorCode.ERR_APP_NOT_EXIST.name,
                    hint_message=f"app({req.app_name}) does not exist",
                )
            old = app.atomic_idempotent
            if self.level <= a.MetaFunctionLevel.fl_freezed:
                return a.SetAtomicIdempotentResponse(
                    err=ErrorCode.ERR_STATE_FREEZED.name,
                    old_atomic_idempotent=old,
                    hint_message="current meta function level is freezed, since there are "
                    "too few alive nodes",
                )
            if req.atomic_idempotent == old:
                return a.SetAtomicIdempotentResponse(
                    old_atomic_idempotent=old,
                    hint_message="no need to update atomic_idempotent since it's unchanged",
                )
            err = await self._write_app(replace(app, atomic_idempotent=req.atomic_idempotent))
            if err is not None:
                return a.SetAtomicIdempotentResponse(err=err, old_atomic_idempotent=old)
        log.info(
            "atomic_idempotent of %s set from %s to %s", req.app_name, old, req.atomic_idempotent
        )
        return a.SetAtomicIdempotentResponse(old_atomic_idempotent=old)

    def _replica_count_behind(self, app: AppState) -> str | None:
        """Upstream's hint for a table with a partition whose replica count is not yet
        the table's (a change still being applied), or None."""
        for index in range(app.partition_count):
            count = self._partitions[(app.app_id, index)].value.max_replica_count
            if count != app.max_replica_count:
                return (
                    f"partition_max_replica_count({count}) != app_max_replica_count("
                    f"{app.max_replica_count}) for partition {app.app_id}.{index}"
                )
        return None

    async def on_set_max_replica_count(self, call: Call) -> a.SetMaxReplicaCountResponse:
        """A table's new replica count (the shell's ``set_replica_count``): the table's
        record first, then every partition with a new ballot (``_align_replica_counts``,
        which every tick also runs, so a change cut short by a meta failover is finished
        by the next leader); the guardian then adds or removes secondaries."""
        req: a.SetMaxReplicaCountRequest = call.arg
        if not self.leader:
            return a.SetMaxReplicaCountResponse(err=self._forward())
        err, old, hint = await self._set_max_replica_count(req.app_name, req.max_replica_count)
        if err != ErrorCode.ERR_OK:
            log.warning(
                "set_replica_count of %s to %d refused (%s): %s",
                req.app_name,
                req.max_replica_count,
                err.name,
                hint,
            )
        return a.SetMaxReplicaCountResponse(
            err=err.name, old_max_replica_count=old, hint_message=hint
        )

    async def _set_max_replica_count(self, name: str, count: int) -> tuple[ErrorCode, int, str]:
        async with self._write_lock:
            app = self._app_by_name(name)
            if app is None:
                return ErrorCode.ERR_APP_NOT_EXIST, 0, f"app({name}) does not exist"
            behind = self._replica_count_behind(app)
            if behind is not None:  # the last change is still being applied
                return ErrorCode.ERR_INCONSISTENT_STATE, 0, behind
            old = app.max_replica_count
            if self.level <= a.MetaFunctionLevel.fl_freezed:
                hint = "current meta function level is freezed, since there are too few alive nodes"
                return ErrorCode.ERR_STATE_FREEZED, old, hint
            o = self._options
            problem = guardian.replica_count_problem(
                count, o.replica_count_min, o.replica_count_max, len(self._alive())
            )
            if problem is not None:
                return ErrorCode.ERR_INVALID_PARAMETERS, old, problem
            if count == old:
                return (
                    ErrorCode.ERR_OK,
                    old,
                    "no need to update max_replica_count since it's not changed",
                )
            err = await self._write_app(replace(app, max_replica_count=count))
            if err is not None:
                return ErrorCode[err], old, "writing the table's record failed"
        log.info("table %s: replica count %d -> %d", name, old, count)
        # A partition not done here (written meanwhile, no primary yet) is done by a tick.
        await self._align_replica_counts(app.app_id)
        return ErrorCode.ERR_OK, old, ""

    async def _align_replica_counts(self, app_id: int | None = None) -> bool:
        """Give every partition (of ``app_id``, or of every table) whose replica count is
        not its table's the table's, with a new ballot (the members learn it as any
        configuration). A partition without a primary, or with a copy under way, waits
        for a later round. Whether none is left to do."""
        done = True
        for gpid, stored in list(self._partitions.items()):
            app = self._apps.get(gpid[0])
            if (app_id is not None and gpid[0] != app_id) or app is None:
                continue
            want, pc = app.value.max_replica_count, stored.value
            if app.value.status != AppStatus.AS_AVAILABLE or pc.max_replica_count == want:
                continue
            wire = guardian.with_replica_count(config_to_wire(pc), want)
            if wire is None or gpid in self._copies:
                done = False
                continue
            reason = f"replica count {pc.max_replica_count} -> {want}"
            if not await self._write_partition(gpid, wire, reason=reason):
                done = False
        return done

    # ---- nodes and cluster -------------------------------------------------------------

    def on_list_nodes(self, call: Call) -> a.ListNodesResponse:
        req: a.ListNodesRequest = call.arg
        if not self.leader:
            return a.ListNodesResponse(err=self._forward())
        infos = []
        for rec in sorted(self._nodes.values(), key=lambda r: (r.address.host, r.address.port)):
            status = a.NodeStatus.NS_ALIVE if rec.alive else a.NodeStatus.NS_UNALIVE
            if req.status in (a.NodeStatus.NS_INVALID, status):
                infos.append(a.NodeInfo(status=int(status), node=rec.address))
        return a.ListNodesResponse(err=ErrorCode.ERR_OK.name, infos=infos)

    def on_cluster_info(self, call: Call) -> a.ClusterInfoResponse:
        """Upstream's keys, in upstream's order."""
        if not self.leader:
            return a.ClusterInfoResponse(err=self._forward())
        score = balance_score.score(self._node_views().values())
        # Upstream counts the balancer's operations under way by kind. Ours: the copies
        # (of primaries, of secondaries) under way; a primary swap is written in the tick
        # that plans it, so none is ever pending.
        copies = [p for p, _started in self._copies.values()]
        copy_pri = sum(p.kind == balancer.COPY_PRIMARY for p in copies)
        operations = {
            "copy_pri": copy_pri,
            "copy_sec": len(copies) - copy_pri,
            "move_pri": 0,
            "total": len(copies),
        }
        info = {
            "meta_servers": ",".join(str(x) for x in self.meta_servers or [self.address]),
            "primary_meta_server": str(self.address),
            "zookeeper_hosts": self._options.zookeeper_hosts,
            "zookeeper_root": self._repo.layout.cluster_root,
            "meta_function_level": self.level.name.removeprefix("fl_"),
            "balance_operation_count": json.dumps(operations, indent=2),
            "primary_replica_count_stddev": f"{score.primary_stddev:.2f}",
            "total_replica_count_stddev": f"{score.total_stddev:.2f}",
            "cluster_name": self._options.cluster_name,
        }
        return a.ClusterInfoResponse(
            err=ErrorCode.ERR_OK.name, keys=list(info), values=list(info.values())
        )

    def on_control_meta(self, call: Call) -> a.MetaControlResponse:
        req: a.MetaControlRequest = call.arg
        if not self.leader:
            return a.MetaControlResponse(err=self._forward())
        old = self.level
        if req.level == a.MetaFunctionLevel.fl_invalid:
            return a.MetaControlResponse(err=ErrorCode.ERR_OK.name, old_level=int(old))
        try:
            self.level = a.MetaFunctionLevel(req.level)
        except ValueError:
            return a.MetaControlResponse(
                err=ErrorCode.ERR_INVALID_PARAMETERS.name, old_level=int(old)
            )
        log.info("meta function level %s -> %s", old.name, self.level.name)
        return a.MetaControlResponse(err=ErrorCode.ERR_OK.name, old_level=int(old))

    async def on_propose_balancer(self, call: Call) -> a.ConfigurationBalancerResponse:
        """An operator's move of one partition (the shell's ``balance``): move_pri,
        copy_pri or copy_sec, carried out as the balancer's own moves are, at meta level
        steady or lively (at lively the balancer may later move it back, as upstream); or,
        forced (``propose -f``), a primary for a partition whose every member died."""
        req: a.ConfigurationBalancerRequest = call.arg
        if not self.leader:
            return a.ConfigurationBalancerResponse(err=self._forward())
        err, why = await self._propose_balancer(req)
        if err != ErrorCode.ERR_OK:
            g = req.gpid
            log.warning(
                "balance of %d.%d refused (%s): %s", g.app_id, g.partition_index, err.name, why
            )
        return a.ConfigurationBalancerResponse(err=err.name)

    async def _forced_proposal(
        self, gpid: tuple[int, int], steps: list[balancer.Step]
    ) -> tuple[ErrorCode, str]:
        """``propose -f``: one CT_ASSIGN_PRIMARY of a partition without members, written
        by the meta as its own cure writes one (``guardian.forced_primary``)."""
        assign = a.ConfigType.CT_ASSIGN_PRIMARY
        if len(steps) != 1 or steps[0].type != assign or steps[0].target != steps[0].node:
            return ErrorCode.ERR_NOT_IMPLEMENTED, (
                "a forced proposal is served for one CT_ASSIGN_PRIMARY whose target is its node"
            )
        pc = config_to_wire(self._partitions[gpid].value)
        action = guardian.forced_primary(
            pc, steps[0].target, nodes=self._node_views(), reported=self._reported(gpid)
        )
        if isinstance(action, str):
            return ErrorCode.ERR_INVALID_PARAMETERS, action
        log.warning(
            "partition %d.%d: primary %s forced by the operator (propose -f)", *gpid, action.node
        )
        if not await self._write_partition(gpid, guardian.apply(pc, action), reason="propose -f"):
            return ErrorCode.ERR_BUSY, "the partition changed meanwhile"
        return ErrorCode.ERR_OK, ""

    async def _propose_balancer(self, req: a.ConfigurationBalancerRequest) -> tuple[ErrorCode, str]:
        invalid = ErrorCode.ERR_INVALID_PARAMETERS
        if self.level < a.MetaFunctionLevel.fl_steady:
            level = a.MetaFunctionLevel(self.level).name
            return ErrorCode.ERR_STATE_FREEZED, f"meta level {level}: partitions are not moved"
        gpid = (req.gpid.app_id, req.gpid.partition_index)
        app = self._apps.get(gpid[0])
        if app is None or app.value.status != AppStatus.AS_AVAILABLE:
            return invalid, "no available table of that app_id"
        if gpid not in self._partitions:
            return invalid, "the table has no partition of that index"
        steps = _steps(req.action_list)
        if req.force:
            return await self._forced_proposal(gpid, steps)
        spelled = balancer.requested(steps)
        if spelled is None:
            return invalid, "the actions spell no move_pri, copy_pri or copy_sec"
        kind, source, destination = spelled
        if req.balance_type is not None and _BALANCE_TYPES.get(req.balance_type) != kind:
            return invalid, f"balance_type {req.balance_type} does not match the actions"
        if gpid in self._copies:
            return ErrorCode.ERR_BUSY, "a copy of the partition is under way"
        pc = config_to_wire(self._partitions[gpid].value)
        if kind == balancer.COPY_SECONDARY and any(
            not s.target.is_invalid and s.target != pc.primary for s in steps
        ):
            return invalid, f"copy_sec steps are asked of the primary, {pc.primary}"
        proposal = balancer.manual_proposal(pc, kind, source, destination, self._alive())
        if isinstance(proposal, str):
            return invalid, proposal
        log.info("balance (operator): %s %d.%d from %s to %s", kind, *gpid, source, destination)
        if kind == balancer.MOVE_PRIMARY:
            moved = balancer.move_primary(pc, proposal)
            if not await self._write_partition(gpid, moved, reason="operator move_primary"):
                return ErrorCode.ERR_BUSY, "the partition changed meanwhile"
            return ErrorCode.ERR_OK, ""
        self._copies[gpid] = (proposal, self._clock())
        await self._advance_copies()
        return ErrorCode.ERR_OK, ""

    def on_ddd_diagnose(self, call: Call) -> a.DddDiagnoseResponse:
        """The partitions whose every member died and that have no primary yet (upstream's
        "DDD"), each with its dropped members as this meta knows them and why it waits
        (``guardian.ddd_reason``). ``pid``: app_id -1 for every table, partition_index -1
        for every partition of the table."""
        req: a.DddDiagnoseRequest = call.arg
        if not self.leader:
            return a.DddDiagnoseResponse(err=self._forward())
        views = self._node_views()
        synced = {r.address for r in self._nodes.values() if r.alive and r.synced}
        out = []
        for gpid, stored in sorted(self._partitions.items()):
            if req.pid.app_id not in (-1, gpid[0]) or req.pid.partition_index not in (-1, gpid[1]):
                continue
            if self._apps[gpid[0]].value.status != AppStatus.AS_AVAILABLE:
                continue
            reported = self._reported(gpid)
            wire = config_to_wire(stored.value)
            reason = guardian.ddd_reason(wire, nodes=views, reported=reported, synced=synced)
            if reason is None:
                continue
            dropped = [self._ddd_node(node, reported) for node in wire.last_drops]
            out.append(a.DddPartitionInfo(config=wire, dropped=dropped, reason=reason))
        return a.DddDiagnoseResponse(err=ErrorCode.ERR_OK.name, partitions=out)

    def _reported(self, gpid: tuple[int, int]) -> dict[RpcAddress, a.ReplicaInfo]:
        """The replicas of ``gpid`` that alive replica servers said they store."""
        return {
            r.address: r.stored[gpid] for r in self._nodes.values() if r.alive and gpid in r.stored
        }

    def _ddd_node(
        self, node: RpcAddress, reported: dict[RpcAddress, a.ReplicaInfo]
    ) -> a.DddNodeInfo:
        """What this meta knows of a dropped member: whether it is alive, whether it has
        synced since it came back (``is_collected``, as upstream), and what it reported of
        the partition (ballot -1 when it holds no replica of it, or has not synced)."""
        rec = self._nodes.get(node)
        info = reported.get(node)
        hp = HostPort(node.host, node.port)
        alive = rec is not None and rec.alive
        collected = rec is not None and rec.alive and rec.synced
        # Drop times are not stored (last_drops holds addresses only): 0, unknown.
        if info is None:
            return a.DddNodeInfo(node=node, is_alive=alive, is_collected=collected, hp_node=hp)
        return a.DddNodeInfo(
            node=node,
            is_alive=alive,
            is_collected=collected,
            ballot=info.ballot,
            last_committed_decree=info.last_committed_decree,
            last_prepared_decree=info.last_prepared_decree,
            hp_node=hp,
        )

    # ---- replica servers ---------------------------------------------------------------

    def on_beacon(self, call: Call) -> a.BeaconAck:
        msg: a.BeaconMsg = call.arg
        leader = self.leader_address or RpcAddress("", 0)
        if not self.leader:
            return a.BeaconAck(
                time=msg.time,
                this_node=self.address,
                primary_node=leader,
                is_master=False,
                allowed=False,
            )
        node = msg.from_node
        rec = self._nodes.get(node)
        now = self._clock()
        # A node we declared dead must first forget its roles (its lease lapsed before we
        # declared it dead) and sync its configuration: its first beacon back is refused,
        # and only the ones after are allowed.
        allowed = rec is not None and rec.alive
        if rec is None:
            self._nodes[node] = NodeRecord(node, alive=True)
            log.info("replica server %s registered", node)
        elif not rec.alive:
            # What it stored before it died counts again only once it says so: a server
            # back with an empty disk must not be taken for one holding its replicas.
            rec.alive, rec.stored, rec.synced = True, {}, False
            log.info("replica server %s is back", node)
        self._grace.on_beacon(str(node), now)
        return a.BeaconAck(
            time=msg.time,
            this_node=self.address,
            primary_node=self.address,
            is_master=True,
            # While recovering no server gets a lease: none syncs or serves, so none
            # closes a replica the meta does not know yet. Nor for a grace after this
            # leader began recovering: a lease the lost state's meta granted must lapse
            # (its primary stops for good) before the rebuilt partitions get new
            # primaries, or an old primary could serve beside a new one.
            allowed=allowed and not self.recovering and now >= self._leases_from,
        )

    def on_config_sync(self, call: Call) -> a.ConfigurationQueryByNodeResponse:
        req: a.ConfigurationQueryByNodeRequest = call.arg
        if not self.leader:
            return a.ConfigurationQueryByNodeResponse(err=self._forward())
        if self.recovering:
            return a.ConfigurationQueryByNodeResponse(err=ErrorCode.ERR_UNDER_RECOVERY.name)
        node = req.node
        rec = self._nodes.get(node)
        if rec is None or not rec.alive:
            return a.ConfigurationQueryByNodeResponse(err=ErrorCode.ERR_INVALID_STATE.name)
        rec.stored = {(r.pid.app_id, r.pid.partition_index): r for r in (req.stored_replicas or [])}
        rec.synced = True
        rec.synced_at = self._clock()
        garbage = [r for r in req.stored_replicas or [] if self._garbage(node, r)]
        if garbage:
            log.info(
                "config sync: %s may collect %s",
                node,
                ", ".join(f"{r.pid.app_id}.{r.pid.partition_index}" for r in garbage),
            )
        return a.ConfigurationQueryByNodeResponse(
            err=ErrorCode.ERR_OK.name,
            partitions=self._configs_of(str(node)),
            gc_replicas=garbage or None,
        )

    def _garbage(self, node: RpcAddress, replica: a.ReplicaInfo) -> bool:
        """Whether a replica ``node`` stores is of no further use (its server closes it,
        after a delay, and moves its data aside; ``replica/garbage.py``): a replica of a
        table dropped and past its reserve time, or of a partition whose group is whole
        without ``node`` (``guardian.garbage``) and has no cure or balancer action under
        way (a learner being added is not a member yet). Nothing at freezed or below."""
        if self.level <= a.MetaFunctionLevel.fl_freezed:
            return False
        gpid = (replica.pid.app_id, replica.pid.partition_index)
        stored_app = self._apps.get(gpid[0])
        stored = self._partitions.get(gpid)
        if stored_app is None or stored is None:
            return False  # not ours to judge
        app = stored_app.value
        if app.status == AppStatus.AS_DROPPED:
            return bool(app.expire_second) and app.expire_second <= self._wall()
        if app.status != AppStatus.AS_AVAILABLE or gpid in self._copies or gpid in self._proposed:
            return False
        return guardian.garbage(config_to_wire(stored.value), node, self._alive())

    def _configs_of(self, node: str) -> list[a.ConfigurationUpdateRequest]:
        out = []
        for stored in self._partitions.values():
            pc = stored.value
            app = self._apps[pc.app_id].value
            if app.status != AppStatus.AS_AVAILABLE:
                continue
            if node == pc.primary or node in pc.secondaries:
                out.append(
                    a.ConfigurationUpdateRequest(info=app_to_wire(app), config=config_to_wire(pc))
                )
        return out

    async def on_update_partition_configuration(self, call: Call) -> a.ConfigurationUpdateResponse:
        """A primary proposes its partition's next configuration (ballot + 1)."""
        req: a.ConfigurationUpdateRequest = call.arg
        if not self.leader:
            return a.ConfigurationUpdateResponse(err=self._forward())
        if self.level <= a.MetaFunctionLevel.fl_freezed:
            return a.ConfigurationUpdateResponse(err=ErrorCode.ERR_STATE_FREEZED.name)
        gpid = (req.config.pid.app_id, req.config.pid.partition_index)
        async with self._write_lock:
            stored = self._partitions.get(gpid)
            if stored is None or self._apps[gpid[0]].value.status != AppStatus.AS_AVAILABLE:
                return a.ConfigurationUpdateResponse(err=ErrorCode.ERR_OBJECT_NOT_FOUND.name)
            current = config_to_wire(stored.value)
            try:
                kind = a.ConfigType(req.type)
            except ValueError:
                kind = a.ConfigType.CT_INVALID
            verdict = reconfig.accept(current, req.config, type=kind, node=req.node)
            if verdict.err != ErrorCode.ERR_OK or not verdict.changed:
                return a.ConfigurationUpdateResponse(err=verdict.err.name, config=verdict.config)
            new = config_from_wire(stored.value, verdict.config)
            try:
                await self._store_partition(gpid, new, stored.version)
            except StoreError as e:
                log.warning("update of %d.%d failed: %s", gpid[0], gpid[1], e)
                return a.ConfigurationUpdateResponse(
                    err=ErrorCode.ERR_ZOOKEEPER_OPERATION.name, config=current
                )
            self._proposed.pop(gpid, None)
        log.info(
            "partition %d.%d -> ballot %d primary %s secondaries %s (%s from %s)",
            gpid[0],
            gpid[1],
            new.ballot,
            new.primary,
            list(new.secondaries),
            kind.name,
            req.node,
        )
        await self._push(gpid)
        if kind == a.ConfigType.CT_REMOVE:
            # The removed member is alive (a failed one is downgraded instead): tell it,
            # so it stops following the group now rather than hear nothing more.
            await self._send(req.node, self._update_request(gpid))
        return a.ConfigurationUpdateResponse(err=ErrorCode.ERR_OK.name, config=verdict.config)

    # ---- metrics ------------------------------------------------------------------------

    def metric_rows(self) -> list[tuple[str, str, list[str], list[tuple[list[str], float]]]]:
        """Partition health per table (upstream's table metrics), on the leader."""
        names = (
            "healthy_partitions",
            "writable_ill_partitions",
            "unwritable_partitions",
            "unreadable_partitions",
            "dead_partitions",
        )
        per_table: dict[str, dict[str, int]] = {}
        alive = {str(r.address) for r in self._nodes.values() if r.alive}
        for stored in self._partitions.values():
            pc = stored.value
            app = self._apps[pc.app_id].value
            if app.status != AppStatus.AS_AVAILABLE:
                continue
            counts = per_table.setdefault(app.app_name, dict.fromkeys(names, 0))
            members = ([pc.primary] if pc.primary else []) + list(pc.secondaries)
            if not any(mb in alive for mb in members):
                counts["dead_partitions"] += 1
            if pc.primary is None:
                counts["unreadable_partitions"] += 1
                counts["unwritable_partitions"] += 1
            elif len(members) < pc.max_replica_count:
                counts["writable_ill_partitions"] += 1
            else:
                counts["healthy_partitions"] += 1
        rows: list[tuple[str, str, list[str], list[tuple[list[str], float]]]] = [
            (
                n,
                f"partitions per table: {n}",
                ["table"],
                [([t], float(c[n])) for t, c in sorted(per_table.items())],
            )
            for n in names
        ]
        rows.append(("meta_is_leader", "1 on the leader meta", [], [([], float(self.leader))]))
        return rows

    # ---- the leader's loop -------------------------------------------------------------

    async def _tick_loop(self, term: int) -> None:
        while self.leader and self._term == term:
            try:
                await self.tick()
            except asyncio.CancelledError:
                raise
            except StoreError as e:
                log.warning("tick: store error, will retry: %s", e)
            await asyncio.sleep(self._options.tick_s)

    async def tick(self) -> None:
        if self.level <= a.MetaFunctionLevel.fl_blind:
            return
        now = self._clock()
        for name in self._grace.expired(now):
            rec = self._nodes.get(RpcAddress.parse(name))
            if rec is not None and rec.alive:
                rec.alive = False
                log.warning(
                    "replica server %s declared dead (no beacon for %.1f s)",
                    name,
                    self._options.fd.grace_s,
                )
        await self._drop_dead_members()
        if self.level <= a.MetaFunctionLevel.fl_freezed:
            return
        await self._align_replica_counts()
        await self._advance_copies()
        cured = await self._cure_all()
        if self.level >= a.MetaFunctionLevel.fl_lively and not cured:
            await self._balance()

    async def _drop_dead_members(self) -> None:
        """Drop the members this leader declared dead from their partitions. Run every
        tick, not just when a node is declared dead, so that a drop whose write failed
        (a ZooKeeper error, a stale version) is done on the next tick: a dead primary
        left in place would keep its partition without a primary for good."""
        dead = {str(r.address) for r in self._nodes.values() if not r.alive}
        if not dead:
            return
        for gpid, stored in list(self._partitions.items()):
            pc = stored.value
            for node in [pc.primary, *pc.secondaries]:
                if node not in dead:
                    continue
                wire = config_to_wire(self._partitions[gpid].value)
                nxt = guardian.drop_node(wire, RpcAddress.parse(node))
                if nxt is not None:
                    await self._write_partition(gpid, nxt, reason=f"drop dead {node}")

    def _node_views(self) -> dict[RpcAddress, guardian.NodeView]:
        primaries: dict[str, int] = {}
        partitions: dict[str, int] = {}
        for s in self._partitions.values():
            pc = s.value
            if pc.primary:
                primaries[pc.primary] = primaries.get(pc.primary, 0) + 1
                partitions[pc.primary] = partitions.get(pc.primary, 0) + 1
            for sec in pc.secondaries:
                partitions[sec] = partitions.get(sec, 0) + 1
        return {
            r.address: guardian.NodeView(
                r.address,
                r.alive,
                primaries.get(str(r.address), 0),
                partitions.get(str(r.address), 0),
            )
            for r in self._nodes.values()
        }

    def _alive(self) -> frozenset[RpcAddress]:
        return frozenset(r.address for r in self._nodes.values() if r.alive)

    async def _balance(self) -> None:
        """At fl_lively, once nothing needs curing: the balancer's next moves for the first
        table that has any. A primary swap (move_primary) is written by the meta itself,
        one per tick, so the group settles before the next; copies (copy_secondary,
        copy_primary) start while fewer than ``balance_copies_max`` are under way, and
        ``_advance_copies`` carries them out."""
        alive = self._alive()
        for app_id, stored_app in list(self._apps.items()):
            if stored_app.value.status != AppStatus.AS_AVAILABLE:
                continue
            slots = self._options.balance_copies_max - len(self._copies)
            configs = [
                config_to_wire(s.value) for (aid, _), s in self._partitions.items() if aid == app_id
            ]
            in_flight = {
                p.gpid: p for (aid, _), (p, _started) in self._copies.items() if aid == app_id
            }
            proposals = balancer.balance_table(
                configs, alive, max_proposals=max(slots, 1), in_flight=in_flight
            )
            if not proposals:
                continue
            if proposals[0].kind == balancer.MOVE_PRIMARY:
                await self._move_primary(proposals[0])
                return
            for proposal in proposals[: max(slots, 0)]:
                gpid = (proposal.gpid.app_id, proposal.gpid.partition_index)
                self._copies[gpid] = (proposal, self._clock())
                log.info(
                    "balancer: %s %d.%d from %s to %s",
                    proposal.kind,
                    gpid[0],
                    gpid[1],
                    proposal.source,
                    proposal.destination,
                )
            await self._advance_copies()
            return

    async def _move_primary(self, proposal: balancer.Proposal) -> None:
        gpid = (proposal.gpid.app_id, proposal.gpid.partition_index)
        wire = config_to_wire(self._partitions[gpid].value)
        moved = balancer.move_primary(wire, proposal)
        await self._write_partition(gpid, moved, reason="balancer move_primary")

    async def _advance_copies(self) -> None:
        """Take for each copy the step its partition needs now: ask the primary to add or
        remove a member (it proposes the result back), or, for a copy_primary whose
        destination has joined, write the hand-over of the primary role. Forget copies
        that are over or too old. The same request is asked again only after
        ``proposal_retry_s``; the hand-over is written once (the next tick reads it)."""
        if not self._copies:
            return
        now = self._clock()
        configs = {
            p.gpid: config_to_wire(self._partitions[g].value)
            for g, (p, _started) in self._copies.items()
            if g in self._partitions
        }
        in_flight = {p.gpid: p for p, _started in self._copies.values()}
        steps = balancer.advance(in_flight, configs, self._alive())
        for gpid, (proposal, started) in list(self._copies.items()):
            step = steps.get(proposal.gpid)
            late = now - started >= self._options.balance_copy_timeout_s
            app = self._apps.get(gpid[0])
            if step is None or late or app is None or app.value.status != AppStatus.AS_AVAILABLE:
                del self._copies[gpid]
                log.info(
                    "balancer: %s of %d.%d to %s %s",
                    proposal.kind,
                    gpid[0],
                    gpid[1],
                    proposal.destination,
                    "given up (timeout)"
                    if late
                    else "done"
                    if self._copied(gpid, proposal)
                    else "over",
                )
                continue
            if step.type == a.ConfigType.CT_DOWNGRADE_TO_SECONDARY:
                pc = configs[proposal.gpid]
                if balancer.hand_over_ready(pc, proposal, self._reported(gpid)):
                    handed = balancer.hand_over(pc, proposal)
                    reason = "balancer copy_primary hand-over"
                    await self._write_partition(gpid, handed, reason=reason)
                continue
            await self._propose_to_primary(gpid, step)

    def _copied(self, gpid: tuple[int, int], proposal: balancer.Proposal) -> bool:
        pc = self._partitions[gpid].value if gpid in self._partitions else None
        if pc is None:
            return False
        destination, source = str(proposal.destination), str(proposal.source)
        group = [pc.primary, *pc.secondaries]
        if proposal.kind == balancer.COPY_PRIMARY:
            return pc.primary == destination and source not in group
        return destination in pc.secondaries and source not in group

    async def _cure_all(self) -> bool:
        """Cure every partition; whether any action was taken or asked for."""
        acted = False
        views = self._node_views()
        for gpid, stored in list(self._partitions.items()):
            app = self._apps[gpid[0]].value
            if app.status != AppStatus.AS_AVAILABLE or gpid in self._copies:
                continue  # a balancer copy under way is its partition's one action
            reported = self._reported(gpid)
            wire = config_to_wire(stored.value)
            action = guardian.cure(wire, nodes=views, reported=reported)
            if action is None:
                continue
            acted = True
            if action.type in guardian.PRIMARY_APPLIED:
                await self._propose_to_primary(gpid, action)
                continue
            await self._write_partition(gpid, guardian.apply(wire, action), reason=action.type.name)
            views = self._node_views()  # the next choice sees this one's load
        return acted

    async def _propose_to_primary(self, gpid: tuple[int, int], action: guardian.Action) -> None:
        """Ask the primary to add (or remove) a member; it proposes the result back. The
        same request is repeated only after ``proposal_retry_s``: learning takes time."""
        now = self._clock()
        last = self._proposed.get(gpid)
        retry = self._options.proposal_retry_s
        if last is not None and last[0] == action and now - last[1] < retry:
            return
        self._proposed[gpid] = (action, now)
        req = self._update_request(gpid, type=action.type, node=action.node)
        log.info(
            "asking %s to %s %s for %d.%d",
            action.target,
            action.type.name,
            action.node,
            gpid[0],
            gpid[1],
        )
        await self._send(action.target, req)

    async def _write_partition(
        self, gpid: tuple[int, int], wire: m.PartitionConfiguration, *, reason: str
    ) -> bool:
        """Write the meta's own next configuration of ``gpid``; whether it was written.
        ``wire`` was worked out from the stored configuration, ballot + 1; if another write
        got in first while this one waited for the lock (a primary's proposal, a manual
        balance), it is stale and dropped: the next tick works from the new one."""
        async with self._write_lock:
            stored = self._partitions.get(gpid)
            if stored is None or not self.leader:
                return False
            if wire.ballot != stored.value.ballot + 1:
                log.info(
                    "partition %d.%d: %s worked out at ballot %d, now %d: dropped",
                    gpid[0],
                    gpid[1],
                    reason,
                    wire.ballot - 1,
                    stored.value.ballot,
                )
                return False
            new = config_from_wire(stored.value, wire)
            await self._store_partition(gpid, new, stored.version)
        log.info(
            "partition %d.%d -> ballot %d primary %s secondaries %s (%s)",
            gpid[0],
            gpid[1],
            new.ballot,
            new.primary,
            list(new.secondaries),
            reason,
        )
        await self._push(gpid)
        return True

    async def _store_partition(
        self, gpid: tuple[int, int], new: PartitionConfig, expected_version: int
    ) -> None:
        """Write ``new`` to ZooKeeper, then to the cache, as one step that cancelling the
        caller cannot cut in two: a proposal's handler is cancelled when the proposer's
        connection drops (a replica server that fails right after proposing), and a
        version written but not cached would make every later write of the partition
        fail. On BadVersion (the cache is behind ZooKeeper all the same) the cache is
        reloaded from ZooKeeper and the error raised: the next round works from it."""

        async def write() -> None:
            try:
                version = await asyncio.to_thread(
                    self._repo.update_partition, new, expected_version
                )
            except BadVersion:
                fresh = await asyncio.to_thread(self._repo.read_partition, *gpid)
                self._partitions[gpid] = fresh
                log.warning("partition %d.%d: cache reloaded from ZooKeeper", *gpid)
                raise
            self._partitions[gpid] = Stored(new, version)

        task = asyncio.ensure_future(write())
        # Its error reaches the caller. A cancelled caller no longer awaits it: the error
        # is marked retrieved here (a BadVersion was logged and the cache reloaded).
        task.add_done_callback(lambda t: t.cancelled() or t.exception())
        await asyncio.shield(task)

    # ---- telling replica servers -------------------------------------------------------

    def _update_request(
        self,
        gpid: tuple[int, int],
        *,
        type: a.ConfigType | None = None,
        node: RpcAddress | None = None,
    ) -> a.ConfigurationUpdateRequest:
        """The partition's stored configuration, as pushed to a member, or (with ``type``
        and ``node``) as an action asked of its primary."""
        pc = self._partitions[gpid].value
        app = self._apps[gpid[0]].value
        req = a.ConfigurationUpdateRequest(info=app_to_wire(app), config=config_to_wire(pc))
        if type is not None and node is not None:
            req = replace(req, type=int(type), node=node)
        return req

    async def _push(self, gpid: tuple[int, int]) -> None:
        """Send a partition's configuration to its members (they also learn it by config
        sync; this only makes it quicker)."""
        pc = self._partitions[gpid].value
        req = self._update_request(gpid)
        targets = [pc.primary, *pc.secondaries] if pc.primary else list(pc.secondaries)
        for t in targets:
            await self._send(RpcAddress.parse(t), req)

    async def _push_app(self, app_id: int) -> None:
        for gpid in [g for g in self._partitions if g[0] == app_id]:
            await self._push(gpid)

    async def _send(self, node: RpcAddress, req: a.ConfigurationUpdateRequest) -> None:
        conn = self._conns.get(node)
        if conn is None:
            conn = Connection(node.host, node.port)
            self._conns[node] = conn
        try:
            await conn.call(a.CONFIG_PROPOSAL, req, timeout_s=self._options.push_timeout_s)
        except CallFailed as e:
            log.debug("push to %s failed (config sync will catch up): %s", node, e)


def _check_create(name: str, o: a.CreateAppOptions, options: MetaOptions) -> str | None:
    try:
        AppState(app_id=1, app_name=name, partition_count=max(o.partition_count, 1))
    except InvalidState as e:
        return str(e)
    count = o.partition_count
    if count <= 0 or count & (count - 1):
        return f"partition count {count} is not a power of two"
    low, high = options.replica_count_min, options.replica_count_max
    if not low <= o.replica_count <= high:
        return f"replica count {o.replica_count} outside [{low}, {high}]"
    if o.app_type not in ("", "pegasus"):
        return f"app type {o.app_type!r} is not served"
    return app_env.check_at_create(dict(o.envs))


def _name_matcher(pattern: str | None, match_type: int | None) -> Callable[[str], bool] | None:
    """Upstream's pattern_match_type; None when the pattern cannot be used."""
    if pattern is None or match_type in (None, a.PatternMatchType.PMT_MATCH_ALL):
        return lambda _name: True
    kind = match_type
    if kind == a.PatternMatchType.PMT_MATCH_EXACT:
        return lambda name: name == pattern
    if kind == a.PatternMatchType.PMT_MATCH_ANYWHERE:
        return lambda name: pattern in name
    if kind == a.PatternMatchType.PMT_MATCH_PREFIX:
        return lambda name: name.startswith(pattern)
    if kind == a.PatternMatchType.PMT_MATCH_POSTFIX:
        return lambda name: name.endswith(pattern)
    if kind == a.PatternMatchType.PMT_MATCH_REGEX:
        try:
            compiled = re.compile(pattern)
        except re.error:
            return None
        return lambda name: compiled.fullmatch(name) is not None
    return None


# The wire's balancer_request_type, as the balancer's kinds.
_BALANCE_TYPES: dict[int, str] = {
    a.BalancerRequestType.move_primary: balancer.MOVE_PRIMARY,
    a.BalancerRequestType.copy_primary: balancer.COPY_PRIMARY,
    a.BalancerRequestType.copy_secondary: balancer.COPY_SECONDARY,
}


def _steps(actions: list[a.ConfigurationProposalAction]) -> list[balancer.Step]:
    """A manual proposal's actions as steps; an action of an unknown type or address
    becomes an invalid step, which no move spells."""

    def address(rpc: RpcAddress, hp: HostPort | None) -> RpcAddress:
        if not rpc.is_invalid or hp is None:
            return rpc
        try:
            return RpcAddress.parse(str(hp))
        except ValueError:
            return RpcAddress("", 0)

    out = []
    for act in actions:
        try:
            kind = a.ConfigType(act.type)
        except ValueError:
            kind = a.ConfigType.CT_INVALID
        out.append(
            balancer.Step(kind, address(act.target, act.hp_target), address(act.node, act.hp_node))
        )
    return out
