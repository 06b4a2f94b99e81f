"""The replica stub: every partition replica of one replica server, and the data RPCs.

One replica per partition for now (replication plugs in later): a write is given the next
decree of its partition and applied to the partition's store at once. Requests for a
partition this server does not host are answered ERR_OBJECT_NOT_FOUND, which tells a
client to refresh its routing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pegasus_log.meta.app_info import AppInfo
from pegasus_log.replica.wire import to_storage, to_wire
from pegasus_log.rpc import messages as m
from pegasus_log.rpc.error_code import ErrorCode
from pegasus_log.rpc.thrift import RpcAddress
from pegasus_log.storage import types as st
from pegasus_log.storage.engine import PartitionStore
from pegasus_log.storage.options import StorageOptions
from pegasus_log.transport.server import Call, Handler, RpcError

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class StubOptions:
    # Upstream's max_allowed_write_size: a write RPC body above 1 MiB is refused with
    # ERR_INVALID_DATA.
    max_write_bytes: int = 1 << 20
    # Written into every record's timetag; duplication tells clusters apart by it.
    cluster_id: int = 1
    storage: StorageOptions = StorageOptions()


@dataclass(slots=True)
class PartitionReplica:
    app: AppInfo
    index: int
    store: PartitionStore
    last_decree: int

    def next_decree(self) -> int:
        self.last_decree += 1
        return self.last_decree


@dataclass(frozen=True, slots=True)
class _Op:
    """How one data RPC maps onto the store: the store method, its request type (None:
    the argument passes as is) and the wire response type."""

    spec: m.RpcSpec
    method: str
    request: type[Any] | None
    response: type[Any]


_OPS: tuple[_Op, ...] = (
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


class ReplicaStub:
    def __init__(
        self,
        *,
        data_dir: Path,
        address: RpcAddress,
        tables: list[AppInfo],
        options: StubOptions,
        clock: Callable[[], float],
    ) -> None:
        self._data_dir = data_dir
        self._address = address
        self._server_name = str(address)
        self._tables = tables
        self._options = options
        self._clock = clock
        self._replicas: dict[tuple[int, int], PartitionReplica] = {}

    def open(self) -> None:
        for app in self._tables:
            for index in range(app.partition_count):
                path = self._data_dir / f"{app.app_id}.{index}.pegasus"
                store = PartitionStore(
                    str(path),
                    options=self._options.storage,
                    clock=self._clock,
                    cluster_id=self._options.cluster_id,
                    partition_index=index,
                    partition_count=app.partition_count,
                )
                self._replicas[(app.app_id, index)] = PartitionReplica(
                    app, index, store, store.last_applied_decree()
                )
        log.info("opened %d partition replicas under %s", len(self._replicas), self._data_dir)

    def close(self) -> None:
        for r in self._replicas.values():
            r.store.close()
        self._replicas.clear()

    def expire_idle_scanners(self) -> int:
        return sum(r.store.expire_idle_scanners() for r in self._replicas.values())

    def handlers(self) -> dict[str, tuple[m.RpcSpec, Handler]]:
        table: dict[str, tuple[m.RpcSpec, Handler]] = {
            op.spec.name: (op.spec, self._handler(op)) for op in _OPS
        }
        table[m.RRDB_CLEAR_SCANNER.name] = (m.RRDB_CLEAR_SCANNER, self._on_clear_scanner)
        return table

    def _replica_of(self, call: Call) -> PartitionReplica:
        key = (call.header.app_id, call.header.partition_index)
        replica = self._replicas.get(key)
        if replica is None:
            raise RpcError(ErrorCode.ERR_OBJECT_NOT_FOUND, f"gpid {key} not hosted")
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
            resp = method(replica.next_decree(), arg) if is_write else method(arg)
            return to_wire(
                resp,
                op.response,
                app_id=replica.app.app_id,
                partition_index=replica.index,
                server=self._server_name,
            )

        return handle

    def _on_clear_scanner(self, call: Call) -> None:
        replica = self._replicas.get((call.header.app_id, call.header.partition_index))
        if replica is not None:
            replica.store.clear_scanner(call.arg)
