"""A write RocksDB refuses (a full or failing disk) is that write's error, never the
connection's: the static replica server answers ERR_FILE_OPERATION_FAILED and goes on."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, cast

import pytest

from pegasus_log.meta.app_info import AppInfo
from pegasus_log.replica.stub import ReplicaStub, StubOptions
from pegasus_log.rpc import messages as m
from pegasus_log.rpc.error_code import ErrorCode
from pegasus_log.rpc.frame import RequestHeader
from pegasus_log.rpc.thrift import RpcAddress
from pegasus_log.storage.keyhash import partition_hash
from pegasus_log.storage.rocks import StoreWriteError
from pegasus_log.storage.schema import encode_key
from pegasus_log.transport.server import Call, RpcError


class _FullDisk:
    """Stands in for the RocksDB handle: every write fails as RocksDB reports ENOSPC."""

    def __init__(self, db: Any) -> None:
        self._db = db

    def write(self, *args: Any) -> None:
        raise Exception("IO error: No space left on device")  # as rocksdict raises it

    def __getattr__(self, name: str) -> Any:
        return getattr(self._db, name)


def _put(key: bytes) -> Call:
    header = RequestHeader(0, 1, 0, 1000, 0, partition_hash(key, b"s"))
    arg = m.UpdateRequest(key=encode_key(key, b"s"), value=b"v")
    return Call(m.RRDB_PUT, header, 1, arg, "test", 10)


def test_a_refused_write_fails_alone(tmp_path: Path) -> None:
    stub = ReplicaStub(
        data_dir=tmp_path, address=RpcAddress.parse("127.0.0.1:1"), options=StubOptions(),
        clock=time.time,
    )  # fmt: skip
    stub.host_static([AppInfo("t", 1, 1)])
    put = stub.handlers()[m.RRDB_PUT.name][1]
    assert put(_put(b"a")).error == 0
    rocks = stub._replicas[(1, 0)].store._store  # the partition's RocksStore
    healthy = rocks._db
    rocks._db = cast(Any, _FullDisk(healthy))
    with pytest.raises(RpcError) as refused:
        put(_put(b"b"))
    assert refused.value.code == ErrorCode.ERR_FILE_OPERATION_FAILED
    assert isinstance(refused.value.__cause__, StoreWriteError)
    rocks._db = healthy  # room again: writes go on
    assert put(_put(b"c")).error == 0
    stub.close()
