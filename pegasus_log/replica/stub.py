"""The replica stub: every partition replica of one replica server, and the data RPCs.

One replica per partition for now (replication plugs in later): a write is given the next
decree of its partition and applied to the partition's store at once. Requests for a
partition this server does not host are answered ERR_OBJECT_NOT_FOUND, which tells a
client to refresh its routing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pegasus_log.frozen import frozen
from pegasus_log.meta.app_info import AppInfo
from pegasus_log.replica.disk_info import query_disk_info
from pegasus_log.replica.garbage import GarbageOptions
from pegasus_log.replica.http_pages import data_version_page
from pegasus_log.replica.wire import to_storage, to_wire
from pegasus_log.rpc import messages as m
from pegasus_log.rpc import table_envs as te
from pegasus_log.rpc.admin import (
    QUERY_DISK_INFO,
    AppInfoMessage,
    AppStatus,
    ConfigurationUpdateRequest,
    PartitionStatus,
    QueryDiskInfoResponse,
    ReplicaInfo,
)
from pegasus_log.rpc.error_code import ErrorCode
from pegasus_log.rpc.messages import PartitionConfiguration
from pegasus_log.rpc.thrift import Gpid, RpcAddress
from pegasus_log.storage import types as st
from pegasus_log.storage.engine import PartitionStore
from pegasus_log.storage.options import USAGE_NORMAL, USAGE_SCENARIOS, StorageOptions
from pegasus_log.storage.rocks import RdbStats, StoreClosedError, StoreWriteError
from pegasus_log.transport.server import Call, Handler, HttpPage, RpcError

log = logging.getLogger(__name__)


@frozen
class StubOptions:
    # Upstream's max_allowed_write_size: a write RPC body above 1 MiB is refused with
    # ERR_INVALID_DATA.
    max_write_bytes: int = 1 << 20
    # Written into every record's timetag; duplication tells clusters apart by it.
    cluster_id: int = 1
    storage: StorageOptions = StorageOptions()
    # When replicas the meta no longer needs are closed and their data deleted.
    garbage: GarbageOptions = GarbageOptions()
    # How often hotkey detection judges what it captured (upstream's
    # hotkey_analyse_time_interval_s, 10 s; replica/hotkey.py).
    hotkey_analyse_interval_s: float = 10.0


@dataclass(slots=True)
class PartitionReplica:
    app_id: int
    index: int
    partition_count: int
    store: PartitionStore
    last_decree: int
    status: PartitionStatus = PartitionStatus.PS_PRIMARY
    ballot: int = 0
    app_name: str = ""

    def next_decree(self) -> int:
        self.last_decree += 1
        return self.last_decree


@frozen
class _Op:
    """How one data RPC maps onto the store: the store method, its request type (None:
    the argument passes as is) and the wire response type."""

    spec: m.RpcSpec
    method: str
    request: type[Any] | None
    response: type[Any]


OPS: tuple[_Op, ...] = (
    _Op(m.RRDB_PUT, "put", st.UpdateRequest, m.UpdateResponse),
    _Op(m.RRDB_MULTI_PUT, "multi_put", st.MultiPutRequest, m.UpdateResponse),
    _Op(m.RRDB_REMOVE, "remove", None, m.UpdateResponse),
    _Op(m.RRDB_MULTI_REMOVE, "multi_remove", st.MultiRemoveRequest, m.MultiRemoveResponse),
    _Op(m.RRDB_INCR, "incr", st.IncrRequest, m.IncrResponse),
    _Op(m.RRDB_CHECK_AND_SET, "check_and_set", st.CheckAndSetRequest, m.CheckAndSetResponse),
    _Op(
        m.RRDB_CHECK_AND_MUTATE,
        "check_and_mutate",
        st.CheckAndMutateRequest,
        m.CheckAndMutateResponse,
    ),
    _Op(m.RRDB_GET, "get", None, m.ReadResponse),
    _Op(m.RRDB_MULTI_GET, "multi_get", st.MultiGetRequest, m.MultiGetResponse),
    _Op(m.RRDB_BATCH_GET, "batch_get", st.BatchGetRequest, m.BatchGetResponse),
    _Op(m.RRDB_SORTKEY_COUNT, "sortkey_count", None, m.CountResponse),
    _Op(m.RRDB_TTL, "ttl", None, m.TtlResponse),
    _Op(m.RRDB_GET_SCANNER, "get_scanner", st.GetScannerRequest, m.ScanResponse),
    _Op(m.RRDB_SCAN, "scan", st.ScanRequest, m.ScanResponse),
)
# wire RPC name -> its _Op
OPS_BY_NAME = {op.spec.name: op for op in OPS}


class ReplicaStub:
    """Hosts partition replicas. Two ways to be told what to host:
    - static: ``host_static(tables)``, every partition primary, always serving;
    - from the meta: ``apply_config`` / ``sync_configs`` with the configurations the meta
      decided, serving a partition only while this server is its primary and the lease
      from the meta holds (``lease_valid``)."""

    def __init__(
        self,
        *,
        data_dir: Path,
        address: RpcAddress,
        options: StubOptions,
        clock: Callable[[], float],
        lease_valid: Callable[[], bool] = lambda: True,
    ) -> None:
        self._data_dir = data_dir
        self._address = address
        self._server_name = str(address)
        self._options = options
        self._clock = clock
        self._lease_valid = lease_valid
        self._replicas: dict[tuple[int, int], PartitionReplica] = {}

    @property
    def address(self) -> RpcAddress:
        return self._address

    def set_lease(self, lease_valid: Callable[[], bool]) -> None:
        self._lease_valid = lease_valid

    def _path(self, app_id: int, index: int) -> Path:
        return self._data_dir / f"{app_id}.{index}.pegasus"

    def _open(
        self, app_id: int, index: int, partition_count: int, app_name: str
    ) -> PartitionReplica:
        replica = self._replicas.get((app_id, index))
        if replica is not None:
            replica.app_name = app_name or replica.app_name
            return replica
        store = PartitionStore(
            str(self._path(app_id, index)),
            options=self._options.storage,
            clock=self._clock,
            cluster_id=self._options.cluster_id,
            partition_index=index,
            partition_count=partition_count,
        )
        replica = PartitionReplica(
            app_id, index, partition_count, store, store.last_applied_decree(), app_name=app_name
        )
        self._replicas[(app_id, index)] = replica
        return replica

    def host_static(self, tables: list[AppInfo]) -> None:
        for app in tables:
            for index in range(app.partition_count):
                self._open(app.app_id, index, app.partition_count, app.name)
        log.info("opened %d partition replicas under %s", len(self._replicas), self._data_dir)

    # ---- configurations from the meta --------------------------------------------------

    def apply_config(self, info: AppInfoMessage, config: PartitionConfiguration) -> None:
        """Take one partition's configuration (a newer ballot than ours, or equal)."""
        gpid = (config.pid.app_id, config.pid.partition_index)
        current = self._replicas.get(gpid)
        if current is not None and config.ballot < current.ballot:
            return  # stale: a newer configuration arrived first
        if config.primary == self._address:
            status = PartitionStatus.PS_PRIMARY
        elif self._address in config.secondaries:
            status = PartitionStatus.PS_SECONDARY
        else:
            status = PartitionStatus.PS_INACTIVE
        if info.status != AppStatus.AS_AVAILABLE:
            status = PartitionStatus.PS_INACTIVE
        if status == PartitionStatus.PS_INACTIVE:
            self._unhost(gpid)
            return
        replica = self._open(gpid[0], gpid[1], info.partition_count, info.app_name)
        if replica.status != status or replica.ballot != config.ballot:
            log.info(
                "partition %d.%d: %s at ballot %d", gpid[0], gpid[1], status.name, config.ballot
            )
        replica.status = status
        replica.ballot = config.ballot
        apply_envs(replica.store, info.envs)

    def sync_configs(self, configs: list[ConfigurationUpdateRequest]) -> None:
        """The complete list of partitions this server is a member of: take each, and
        stop hosting every other."""
        listed = set()
        for c in configs:
            listed.add((c.config.pid.app_id, c.config.pid.partition_index))
            self.apply_config(c.info, c.config)
        for gpid in [g for g in self._replicas if g not in listed]:
            self._unhost(gpid)

    def on_proposal(self, req: ConfigurationUpdateRequest) -> None:
        """Without replication every proposal is just the partition's new configuration."""
        self.apply_config(req.info, req.config)

    def collect_garbage_replicas(self, named: list[ReplicaInfo]) -> None:
        """Replicas this stub no longer hosts are closed by ``sync_configs`` already; their
        data stays (a single-copy stub is the only holder of it)."""

    def forget_roles(self) -> None:
        """The lease lapsed: the meta may have moved our partitions. Serve nothing until a
        config sync says what we are."""
        for r in self._replicas.values():
            r.status = PartitionStatus.PS_INACTIVE

    def _unhost(self, gpid: tuple[int, int]) -> None:
        replica = self._replicas.pop(gpid, None)
        if replica is not None:
            replica.store.close()
            log.info("partition %d.%d no longer hosted (data kept)", gpid[0], gpid[1])

    def stored_replicas(self) -> list[ReplicaInfo]:
        """Every replica with data under the data directory, hosted or not."""
        out = []
        for gpid in stored_gpids(self._data_dir):
            hosted = self._replicas.get(gpid)
            decree = hosted.last_decree if hosted else 0
            out.append(
                ReplicaInfo(
                    pid=Gpid(*gpid),
                    ballot=hosted.ballot if hosted else 0,
                    status=int(hosted.status if hosted else PartitionStatus.PS_INACTIVE),
                    last_committed_decree=decree,
                    last_prepared_decree=decree,
                    last_durable_decree=decree,
                )
            )
        return out

    def close(self) -> None:
        for r in self._replicas.values():
            r.store.close()
        self._replicas.clear()

    def metric_rows(self) -> list[GaugeRows]:
        rows = replica_status_rows(r.status for r in self._replicas.values())
        return rows + storage_rows((g, r.store) for g, r in self._replicas.items())

    def expire_idle_scanners(self) -> int:
        return sum(r.store.expire_idle_scanners() for r in self._replicas.values())

    def handlers(self) -> dict[str, tuple[m.RpcSpec, Handler]]:
        table: dict[str, tuple[m.RpcSpec, Handler]] = {
            op.spec.name: (op.spec, self._handler(op)) for op in OPS
        }
        table[m.RRDB_CLEAR_SCANNER.name] = (m.RRDB_CLEAR_SCANNER, self._on_clear_scanner)
        table[QUERY_DISK_INFO.name] = (QUERY_DISK_INFO, self._on_query_disk_info)
        return table

    def http_pages(self) -> dict[str, HttpPage]:
        return {"/replica/data_version": self._data_version_page}

    def _data_version_page(self, query: dict[str, str]) -> tuple[int, str]:
        return data_version_page(query, hosted=[Gpid(*g) for g in self._replicas])

    def _on_query_disk_info(self, call: Call) -> QueryDiskInfoResponse:
        hosted = [(Gpid(*g), r.app_name, r.status) for g, r in self._replicas.items()]
        return query_disk_info(call.arg, data_dir=self._data_dir, replicas=hosted)

    def _replica_of(self, call: Call) -> PartitionReplica:
        key = (call.header.app_id, call.header.partition_index)
        replica = self._replicas.get(key)
        if replica is None:
            raise RpcError(ErrorCode.ERR_OBJECT_NOT_FOUND, f"gpid {key} not hosted")
        if replica.status != PartitionStatus.PS_PRIMARY or not self._lease_valid():
            raise RpcError(ErrorCode.ERR_INVALID_STATE, f"gpid {key}: not primary here")
        return replica

    def _handler(self, op: _Op) -> Handler:
        is_write = op.spec.is_write
        max_write = self._options.max_write_bytes

        def handle(call: Call) -> Any:
            replica = self._replica_of(call)
            if is_write and call.body_bytes > max_write:
                raise RpcError(ErrorCode.ERR_INVALID_DATA, f"write of {call.body_bytes} bytes")
            arg = call.arg if op.request is None else to_storage(call.arg, op.request)
            method = getattr(replica.store, op.method)
            # Bad keys from the network are answered kInvalidArgument by the store.
            try:
                resp = method(replica.next_decree(), arg) if is_write else method(arg)
            except StoreWriteError as e:  # a full or failing disk: this write only
                raise RpcError(ErrorCode.ERR_FILE_OPERATION_FAILED, str(e)) from e
            return to_wire(
                resp,
                op.response,
                app_id=replica.app_id,
                partition_index=replica.index,
                server=self._server_name,
            )

        return handle

    def _on_clear_scanner(self, call: Call) -> None:
        replica = self._replicas.get((call.header.app_id, call.header.partition_index))
        if replica is not None:
            replica.store.clear_scanner(call.arg)


def apply_envs(store: PartitionStore, envs: dict[str, str]) -> None:
    ttl = envs.get("default_ttl", "0")
    store.set_default_ttl(int(ttl) if ttl.isdigit() else 0)
    flag = envs.get("replica.split.validate_partition_hash", "")
    store.set_validate_partition_hash(flag.lower() == "true")
    # Upstream: a value that does not parse leaves the server's configured limit.
    limit = envs.get(te.ROCKSDB_ITERATION_THRESHOLD_TIME_MS, "")
    store.set_iteration_time_max_ms(int(limit) if limit.isascii() and limit.isdigit() else None)
    # The meta takes only valid values of these two; anything else keeps what runs.
    cache = envs.get(te.ROCKSDB_BLOCK_CACHE_ENABLED, "true").lower()
    if cache in ("true", "false"):
        store.set_block_cache_enabled(cache == "true")
    store.set_user_specified_compaction(envs.get(te.USER_SPECIFIED_COMPACTION, ""))
    scenario = envs.get(te.ROCKSDB_USAGE_SCENARIO, USAGE_NORMAL)
    if scenario in USAGE_SCENARIOS:
        store.set_usage_scenario(scenario)
    size = envs.get(te.ROCKSDB_WRITE_BUFFER_SIZE, "")
    store.set_write_buffer_size(int(size) if size.isascii() and size.isdigit() else None)


GaugeRows = tuple[str, str, list[str], list[tuple[list[str], float]]]


def stored_gpids(data_dir: Path) -> list[tuple[int, int]]:
    """The partitions with a store (``<app_id>.<index>.pegasus``) under ``data_dir``."""
    out = []
    for path in sorted(data_dir.glob("*.*.pegasus")):
        app_id, index, _ = path.name.split(".", 2)
        if app_id.isdigit() and index.isdigit():
            out.append((int(app_id), int(index)))
    return out


def replica_status_rows(statuses: Iterable[int]) -> list[GaugeRows]:
    """Replica counts by status, upstream's server-level gauges."""
    counts = dict.fromkeys(PartitionStatus, 0)
    total = 0
    for status in statuses:
        counts[PartitionStatus(status)] += 1
        total += 1
    rows: list[GaugeRows] = [("total_replicas", "replicas hosted", [], [([], total)])]
    for name, status in (
        ("primary_replicas", PartitionStatus.PS_PRIMARY),
        ("secondary_replicas", PartitionStatus.PS_SECONDARY),
        ("learning_replicas", PartitionStatus.PS_POTENTIAL_SECONDARY),
        ("inactive_replicas", PartitionStatus.PS_INACTIVE),
        ("error_replicas", PartitionStatus.PS_ERROR),
    ):
        rows.append((name, f"replicas in {status.name}", [], [([], counts[status])]))
    return rows


# Per partition replica, upstream's ``rdb_*`` replica metrics: (name, help, the figure).
_STORAGE_GAUGES: tuple[tuple[str, str, Callable[[RdbStats], float]], ...] = (
    ("rdb_total_sst_size_mb", "size of the live SST files", lambda s: s.sst_bytes / (1 << 20)),
    ("rdb_total_sst_files", "number of live SST files", lambda s: s.sst_files),
    ("rdb_memtable_mem_usage_bytes", "memory of the memtables", lambda s: s.memtable_bytes),
    (
        "rdb_index_and_filter_blocks_mem_usage_bytes",
        "memory of index and filter blocks",
        lambda s: s.index_and_filter_bytes,
    ),
    ("rdb_estimated_keys", "estimated number of keys", lambda s: s.estimated_keys),
    (
        "rdb_block_cache_mem_usage_bytes",
        "memory of the partition's block cache in use",
        lambda s: s.block_cache_bytes,
    ),
)
PARTITION_LABELS = ["table_id", "partition_id"]


def storage_rows(stores: Iterable[tuple[tuple[int, int], PartitionStore]]) -> list[GaugeRows]:
    """RocksDB's figures of every partition replica here, as ``replica_<name>`` gauges
    labelled ``table_id`` and ``partition_id`` (a store closed meanwhile is left out)."""
    figures: list[tuple[list[str], RdbStats]] = []
    for (app_id, index), store in stores:
        try:
            figures.append(([str(app_id), str(index)], store.rdb_stats()))
        except StoreClosedError:
            continue
    return [
        (f"replica_{name}", doc, PARTITION_LABELS, [(labels, of(s)) for labels, s in figures])
        for name, doc, of in _STORAGE_GAUGES
    ]
