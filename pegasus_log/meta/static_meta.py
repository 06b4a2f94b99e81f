"""A meta endpoint that answers routing queries from static configuration.

It stands in for the ZooKeeper-backed meta server while every partition has one replica
on one known server: each partition's primary is that server, ballot 1.
"""

from __future__ import annotations

from pegasus_log.meta.app_info import AppInfo
from pegasus_log.rpc.error_code import ErrorCode
from pegasus_log.rpc.messages import (
    CM_QUERY_PARTITION_CONFIG,
    PartitionConfiguration,
    QueryCfgRequest,
    QueryCfgResponse,
    RpcSpec,
)
from pegasus_log.rpc.thrift import Gpid, RpcAddress
from pegasus_log.transport.server import Call, Handler


class StaticMeta:
    def __init__(self, *, tables: list[AppInfo], replica: RpcAddress) -> None:
        self._tables = {t.name: t for t in tables}
        self._replica = replica

    def handlers(self) -> dict[str, tuple[RpcSpec, Handler]]:
        return {CM_QUERY_PARTITION_CONFIG.name: (CM_QUERY_PARTITION_CONFIG, self.on_query_cfg)}

    def on_query_cfg(self, call: Call) -> QueryCfgResponse:
        req: QueryCfgRequest = call.arg
        app = self._tables.get(req.app_name)
        if app is None:
            return QueryCfgResponse(err=ErrorCode.ERR_OBJECT_NOT_FOUND.name)
        wanted = req.partition_indices or list(range(app.partition_count))
        if any(i < 0 or i >= app.partition_count for i in wanted):
            return QueryCfgResponse(err=ErrorCode.ERR_INVALID_PARAMETERS.name)
        return QueryCfgResponse(
            err=ErrorCode.ERR_OK.name,
            app_id=app.app_id,
            partition_count=app.partition_count,
            is_stateful=True,
            partitions=[self._config(app, i) for i in wanted],
        )

    def _config(self, app: AppInfo, index: int) -> PartitionConfiguration:
        primary = self._replica
        return PartitionConfiguration(
            pid=Gpid(app.app_id, index),
            ballot=1,
            max_replica_count=app.max_replica_count,
            primary=primary,
            secondaries=[],
            last_drops=[],
            last_committed_decree=0,
            # hp_* fields stay unset: pypegasus3 cannot skip their placeholder encoding.
        )
