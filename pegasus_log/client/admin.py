"""Table and cluster administration through the meta servers (what the Pegasus shell and
Go admin-cli do): create, drop, recall and list tables, app envs, nodes, cluster info and
the meta function level; and remote commands (``server-info``, ``server-stat``, ...) sent
to any server, meta or replica.

A follower answers ERR_FORWARD_TO_OTHERS; the call then goes to the next meta, starting
from the last one that led, until one answers or the deadline passes.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any

from pegasus_log.client.errors import PegasusError
from pegasus_log.client.routing import ConnectionPool
from pegasus_log.frozen import frozen
from pegasus_log.rpc import admin as a
from pegasus_log.rpc.error_code import RETRIABLE, ErrorCode, error_from_name
from pegasus_log.rpc.messages import RpcSpec
from pegasus_log.rpc.remote_command import CLI_CLI_CALL, RemoteCommand
from pegasus_log.rpc.thrift import Gpid, HostPort, RpcAddress
from pegasus_log.transport.connection import CallFailed

DEFAULT_TIMEOUT_S = 15.0
_PAUSE_S = 0.1  # between rounds over every meta
# ``balance`` types, as upstream's shell names them.
BALANCE_TYPES = ("move_pri", "copy_pri", "copy_sec")
# Upstream's shell gives each remote command 5 s.
REMOTE_COMMAND_TIMEOUT_S = 5.0


@frozen
class TableInfo:
    app_id: int
    name: str
    status: str
    partition_count: int
    replica_count: int
    envs: dict[str, str]
    create_second: int
    drop_second: int
    expire_second: int


def _table(info: a.AppInfoMessage) -> TableInfo:
    return TableInfo(
        app_id=info.app_id,
        name=info.app_name,
        status=a.AppStatus(info.status).name,
        partition_count=info.partition_count,
        replica_count=info.max_replica_count,
        envs=dict(info.envs),
        create_second=info.create_second,
        drop_second=info.drop_second,
        expire_second=info.expire_second,
    )


class AsyncAdmin:
    def __init__(self, metas: list[str], *, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        self._metas = [RpcAddress.parse(x) for x in metas]
        if not self._metas:
            raise ValueError("at least one meta server address is needed")
        self._leader = 0
        self._timeout_s = timeout_s
        self._pool = ConnectionPool()

    async def _call(
        self, spec: RpcSpec, arg: Any, *, timeout_s: float | None = None, attempt_s: float = 5.0
    ) -> Any:
        """``spec`` asked of the leading meta, followed through the others until
        ``timeout_s`` (the admin's own by default), each attempt at most ``attempt_s``."""
        deadline = time.monotonic() + (self._timeout_s if timeout_s is None else timeout_s)
        last = "no meta answered"
        while True:
            for step in range(len(self._metas)):
                i = (self._leader + step) % len(self._metas)
                meta = self._metas[i]
                left = deadline - time.monotonic()
                if left <= 0:
                    raise PegasusError(spec.name, code=ErrorCode.ERR_TIMEOUT, detail=last)
                try:
                    resp = await self._pool.get(meta.host, meta.port).call(
                        spec, arg, timeout_s=min(left, attempt_s)
                    )
                except CallFailed as e:
                    if e.code not in RETRIABLE:
                        # e.g. ERR_HANDLER_NOT_FOUND from a static meta: no retry helps
                        raise PegasusError(spec.name, code=e.code, detail=str(meta)) from None
                    last = f"{meta}: {e}"
                    continue
                if resp.err == ErrorCode.ERR_FORWARD_TO_OTHERS.name:
                    last = f"{meta} does not lead"
                    continue
                self._leader = i
                return resp
            await asyncio.sleep(_PAUSE_S)

    @staticmethod
    def _check(op: str, err: str, detail: str = "") -> None:
        code = error_from_name(err)
        if code != ErrorCode.ERR_OK:
            raise PegasusError(op, code=code, detail=detail)

    async def create_table(
        self,
        name: str,
        *,
        partition_count: int = 8,
        replica_count: int = 3,
        envs: dict[str, str] | None = None,
        success_if_exist: bool = False,
        atomic_idempotent: bool = False,
    ) -> int:
        opts = a.CreateAppOptions(
            partition_count=partition_count,
            replica_count=replica_count,
            success_if_exist=success_if_exist,
            app_type="pegasus",
            is_stateful=True,
            envs=envs or {},
            atomic_idempotent=atomic_idempotent,
        )
        resp: a.CreateAppResponse = await self._call(
            a.CM_CREATE_APP, a.CreateAppRequest(app_name=name, options=opts)
        )
        self._check("create", resp.err, name)
        return resp.appid

    async def drop_table(self, name: str, *, reserve_seconds: int | None = None) -> None:
        opts = a.DropAppOptions(success_if_not_exist=False, reserve_seconds=reserve_seconds)
        resp: a.DropAppResponse = await self._call(
            a.CM_DROP_APP, a.DropAppRequest(app_name=name, options=opts)
        )
        self._check("drop", resp.err, name)

    async def recall_table(self, app_id: int, new_name: str = "") -> TableInfo:
        resp: a.RecallAppResponse = await self._call(
            a.CM_RECALL_APP, a.RecallAppRequest(app_id=app_id, new_app_name=new_name)
        )
        self._check("recall", resp.err, str(app_id))
        return _table(resp.info)

    async def rename_table(self, old_name: str, new_name: str) -> None:
        req = a.RenameAppRequest(old_app_name=old_name, new_app_name=new_name)
        resp: a.RenameAppResponse = await self._call(a.CM_RENAME_APP, req)
        self._check("rename", resp.err, resp.hint_message)

    async def start_manual_compact(
        self,
        name: str,
        *,
        trigger_time_s: int | None = None,
        target_level: int | None = None,
        bottommost: bool | None = None,
        max_running_count: int | None = None,
    ) -> None:
        """Start a manual compaction of every replica of table ``name`` (each replica
        runs its own once the meta's envs reach it)."""
        req = a.StartAppManualCompactRequest(
            app_name=name,
            trigger_time=trigger_time_s,
            target_level=target_level,
            bottommost=bottommost,
            max_running_count=max_running_count,
        )
        resp: a.StartAppManualCompactResponse = await self._call(a.CM_START_MANUAL_COMPACT, req)
        self._check("start manual compaction", resp.err, resp.hint_msg)

    async def query_manual_compact(self, name: str) -> int:
        """The percent of table ``name``'s replicas whose manual compaction finished
        (``PegasusError`` ERR_INVALID_STATE when none is under way or done)."""
        req = a.QueryAppManualCompactRequest(app_name=name)
        resp: a.QueryAppManualCompactResponse = await self._call(
            a.CM_QUERY_MANUAL_COMPACT_STATUS, req
        )
        self._check("query manual compaction", resp.err, resp.hint_msg)
        return resp.progress or 0

    async def start_recovery(
        self,
        nodes: list[str],
        *,
        skip_bad_nodes: bool = False,
        skip_lost_partitions: bool = False,
        wait_s: float = 100.0,
    ) -> tuple[str, str]:
        """Meta recovery from ``nodes`` (replica servers, host:port): (error name, the
        meta's hint lines). Waits up to ``wait_s`` for the meta's answer, asking it once
        (a second request would find it serving)."""
        req = a.ConfigurationRecoveryRequest(
            recovery_nodes=[RpcAddress.parse(n) for n in nodes],
            skip_bad_nodes=skip_bad_nodes,
            skip_lost_partitions=skip_lost_partitions,
        )
        resp: a.ConfigurationRecoveryResponse = await self._call(
            a.CM_START_RECOVERY, req, timeout_s=wait_s, attempt_s=wait_s
        )
        return resp.err, resp.hint_message

    async def list_tables(self, *, include_dropped: bool = False) -> list[TableInfo]:
        status = a.AppStatus.AS_INVALID if include_dropped else a.AppStatus.AS_AVAILABLE
        resp: a.ListAppsResponse = await self._call(
            a.CM_LIST_APPS, a.ListAppsRequest(status=int(status))
        )
        self._check("ls", resp.err)
        return [_table(i) for i in resp.infos]

    async def _env(self, req: a.UpdateAppEnvRequest) -> None:
        resp: a.UpdateAppEnvResponse = await self._call(a.CM_UPDATE_APP_ENV, req)
        self._check("app envs", resp.err, resp.hint_message)

    async def set_app_envs(self, name: str, envs: dict[str, str]) -> None:
        await self._env(
            a.UpdateAppEnvRequest(
                app_name=name,
                op=int(a.AppEnvOperation.APP_ENV_OP_SET),
                keys=list(envs),
                values=list(envs.values()),
            )
        )

    async def del_app_envs(self, name: str, keys: list[str]) -> None:
        await self._env(
            a.UpdateAppEnvRequest(
                app_name=name, op=int(a.AppEnvOperation.APP_ENV_OP_DEL), keys=keys
            )
        )

    async def clear_app_envs(self, name: str, prefix: str = "") -> None:
        await self._env(
            a.UpdateAppEnvRequest(
                app_name=name, op=int(a.AppEnvOperation.APP_ENV_OP_CLEAR), clear_prefix=prefix
            )
        )

    async def get_app_envs(self, name: str) -> dict[str, str]:
        for t in await self.list_tables():
            if t.name == name:
                return t.envs
        raise PegasusError("get_app_envs", code=ErrorCode.ERR_APP_NOT_EXIST, detail=name)

    async def list_nodes(self) -> list[tuple[str, bool]]:
        resp: a.ListNodesResponse = await self._call(a.CM_LIST_NODES, a.ListNodesRequest())
        self._check("nodes", resp.err)
        return [(str(n.node), n.status == a.NodeStatus.NS_ALIVE) for n in resp.infos]

    async def cluster_info(self) -> dict[str, str]:
        resp: a.ClusterInfoResponse = await self._call(a.CM_CLUSTER_INFO, a.ClusterInfoRequest())
        self._check("cluster_info", resp.err)
        return dict(zip(resp.keys, resp.values, strict=False))

    async def get_meta_level(self) -> str:
        resp: a.MetaControlResponse = await self._call(
            a.CM_CONTROL_META, a.MetaControlRequest(level=int(a.MetaFunctionLevel.fl_invalid))
        )
        self._check("get_meta_level", resp.err)
        return a.MetaFunctionLevel(resp.old_level).name

    async def set_meta_level(self, level: str) -> str:
        wanted = a.MetaFunctionLevel[level if level.startswith("fl_") else f"fl_{level}"]
        resp: a.MetaControlResponse = await self._call(
            a.CM_CONTROL_META, a.MetaControlRequest(level=int(wanted))
        )
        self._check("set_meta_level", resp.err, level)
        return a.MetaFunctionLevel(resp.old_level).name

    async def ddd_diagnose(
        self, app_id: int = -1, partition_index: int = -1
    ) -> list[a.DddPartitionInfo]:
        """The partitions whose every replica died and that have no primary yet (all
        tables with app_id -1, all partitions of the table with partition_index -1)."""
        req = a.DddDiagnoseRequest(pid=Gpid(app_id, partition_index))
        resp: a.DddDiagnoseResponse = await self._call(a.CM_DDD_DIAGNOSE, req)
        self._check("ddd_diagnose", resp.err)
        return list(resp.partitions)

    async def get_max_replica_count(self, name: str) -> int:
        """Table ``name``'s replica count (upstream's shell ``get_replica_count``)."""
        req = a.GetMaxReplicaCountRequest(app_name=name)
        resp: a.GetMaxReplicaCountResponse = await self._call(a.CM_GET_MAX_REPLICA_COUNT, req)
        self._check("get_replica_count", resp.err, resp.hint_message or name)
        return int(resp.max_replica_count)

    async def set_max_replica_count(self, name: str, count: int) -> tuple[int, str]:
        """Set table ``name``'s replica count (``set_replica_count``): every partition
        takes it at once (a new ballot), then the meta adds or removes secondaries until
        each has that many members. (the count before, the meta's hint)."""
        req = a.SetMaxReplicaCountRequest(app_name=name, max_replica_count=count)
        resp: a.SetMaxReplicaCountResponse = await self._call(a.CM_SET_MAX_REPLICA_COUNT, req)
        self._check("set_replica_count", resp.err, resp.hint_message or name)
        return int(resp.old_max_replica_count), resp.hint_message

    async def get_atomic_idempotent(self, name: str) -> bool:
        """Whether table ``name``'s atomic writes are to be made idempotent (upstream's
        shell ``get_atomic_idempotent``)."""
        req = a.GetAtomicIdempotentRequest(app_name=name)
        resp: a.GetAtomicIdempotentResponse = await self._call(a.CM_GET_ATOMIC_IDEMPOTENT, req)
        self._check("get_atomic_idempotent", resp.err, resp.hint_message or name)
        return bool(resp.atomic_idempotent)

    async def set_atomic_idempotent(self, name: str, enabled: bool) -> tuple[bool, str]:
        """Set it (``enable_atomic_idempotent`` / ``disable_atomic_idempotent``): (the
        value before, the meta's hint)."""
        req = a.SetAtomicIdempotentRequest(app_name=name, atomic_idempotent=enabled)
        resp: a.SetAtomicIdempotentResponse = await self._call(a.CM_SET_ATOMIC_IDEMPOTENT, req)
        self._check("set_atomic_idempotent", resp.err, resp.hint_message or name)
        return bool(resp.old_atomic_idempotent), resp.hint_message

    async def propose(
        self, gpid: Gpid, config_type: str, target: str, node: str, *, force: bool = False
    ) -> None:
        """One configuration proposal (upstream's shell ``propose``): ``config_type`` a
        ConfigType name (``CT_ASSIGN_PRIMARY``), carried out by ``target`` about ``node``.
        The meta serves forced ones for a partition whose every member died
        (``docs/meta.md``)."""
        t, n = RpcAddress.parse(target), RpcAddress.parse(node)
        action = a.ConfigurationProposalAction(
            target=t,
            node=n,
            type=int(a.ConfigType[config_type]),
            hp_target=HostPort(t.host, t.port),
            hp_node=HostPort(n.host, n.port),
        )
        req = a.ConfigurationBalancerRequest(gpid=gpid, action_list=[action], force=force)
        resp: a.ConfigurationBalancerResponse = await self._call(a.CM_PROPOSE_BALANCER, req)
        self._check("propose", resp.err, f"{gpid.app_id}.{gpid.partition_index}")

    async def balance(self, gpid: Gpid, kind: str, source: str, destination: str) -> None:
        """Ask the meta to move one partition (upstream's shell ``balance``): ``kind`` is
        move_pri (the primary role to a secondary), copy_pri (the primary to a node that is
        no member) or copy_sec (a secondary to a node that is no member); ``source`` and
        ``destination`` are replica servers as ``ip:port``."""
        req = self.balance_request(gpid, kind, source, destination)
        resp: a.ConfigurationBalancerResponse = await self._call(a.CM_PROPOSE_BALANCER, req)
        self._check("balance", resp.err, f"{gpid.app_id}.{gpid.partition_index}")

    @staticmethod
    def balance_request(
        gpid: Gpid, kind: str, source: str, destination: str
    ) -> a.ConfigurationBalancerRequest:
        """The request ``balance`` sends: the actions upstream's shell writes for ``kind``
        (the copy_sec ones name no target; the meta asks the primary)."""
        frm, to = RpcAddress.parse(source), RpcAddress.parse(destination)
        none = RpcAddress("", 0)
        t = a.ConfigType
        steps = {
            "move_pri": [
                (frm, frm, t.CT_DOWNGRADE_TO_SECONDARY),
                (to, to, t.CT_UPGRADE_TO_PRIMARY),
            ],
            "copy_pri": [
                (frm, to, t.CT_ADD_SECONDARY_FOR_LB),
                (frm, frm, t.CT_DOWNGRADE_TO_SECONDARY),
                (to, to, t.CT_UPGRADE_TO_PRIMARY),
            ],
            "copy_sec": [
                (none, to, t.CT_ADD_SECONDARY_FOR_LB),
                (none, frm, t.CT_DOWNGRADE_TO_INACTIVE),
            ],
        }[kind]
        actions = [
            a.ConfigurationProposalAction(
                target=target,
                node=node,
                type=int(step),
                hp_target=None if target.is_invalid else HostPort(target.host, target.port),
                hp_node=HostPort(node.host, node.port),
            )
            for target, node, step in steps
        ]
        return a.ConfigurationBalancerRequest(gpid=gpid, action_list=actions)

    async def remote_command(
        self,
        node: str,
        command: str,
        arguments: Sequence[str] = (),
        *,
        timeout_s: float = REMOTE_COMMAND_TIMEOUT_S,
    ) -> str:
        """The output of ``command`` run by the server at ``node`` (host:port); an unknown
        command is answered, not raised: ``unknown command '<command>'``."""
        address = RpcAddress.parse(node)
        request = RemoteCommand(cmd=command, arguments=list(arguments))
        try:
            output: str = await self._pool.get(address.host, address.port).call(
                CLI_CLI_CALL, request, timeout_s=timeout_s
            )
        except CallFailed as e:
            raise PegasusError("remote_command", code=e.code, detail=node) from None
        return output

    async def remote_commands(
        self,
        nodes: Sequence[str],
        command: str,
        arguments: Sequence[str] = (),
        *,
        timeout_s: float = REMOTE_COMMAND_TIMEOUT_S,
    ) -> list[tuple[bool, str]]:
        """``command`` sent to every node at once: per node (True, output), or (False, the
        error name) when it did not answer."""

        async def one(node: str) -> tuple[bool, str]:
            try:
                return True, await self.remote_command(
                    node, command, arguments, timeout_s=timeout_s
                )
            except PegasusError as e:
                return False, e.code.name

        return list(await asyncio.gather(*(one(n) for n in nodes)))

    async def query_disk_info(
        self, node: str, app_name: str = "", *, timeout_s: float = REMOTE_COMMAND_TIMEOUT_S
    ) -> a.QueryDiskInfoResponse:
        """The disks of the replica server at ``node`` and the replicas each holds (of
        table ``app_name`` only, when given). Raises PegasusError on any error, the
        server's own (ERR_OBJECT_NOT_FOUND: it holds no replica of that table) included."""
        address = RpcAddress.parse(node)
        request = a.QueryDiskInfoRequest(node1=address, app_name=app_name)
        try:
            resp: a.QueryDiskInfoResponse = await self._pool.get(address.host, address.port).call(
                a.QUERY_DISK_INFO, request, timeout_s=timeout_s
            )
        except CallFailed as e:
            raise PegasusError("query_disk_info", code=e.code, detail=node) from None
        if resp.err != ErrorCode.ERR_OK.name:
            raise PegasusError("query_disk_info", code=error_from_name(resp.err), detail=node)
        return resp

    async def detect_hotkey(
        self,
        node: str,
        gpid: tuple[int, int],
        *,
        kind: a.HotkeyType,
        action: a.DetectAction,
        timeout_s: float = REMOTE_COMMAND_TIMEOUT_S,
    ) -> a.DetectHotkeyResponse:
        """``RPC_DETECT_HOTKEY`` to the replica server at ``node``: start, stop or query the
        detection of partition ``gpid``'s hot read or write hash key. The server's own
        answer comes back as it is (its ``err`` included); PegasusError only when the
        call fails."""
        address = RpcAddress.parse(node)
        request = a.DetectHotkeyRequest(type=int(kind), action=int(action), pid=Gpid(*gpid))
        try:
            resp: a.DetectHotkeyResponse = await self._pool.get(address.host, address.port).call(
                a.DETECT_HOTKEY, request, timeout_s=timeout_s
            )
        except CallFailed as e:
            raise PegasusError("detect_hotkey", code=e.code, detail=node) from None
        return resp

    async def close(self) -> None:
        await self._pool.close()
