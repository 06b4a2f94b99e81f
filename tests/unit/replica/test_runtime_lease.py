"""A replica server checks its lease when a request arrives, not only on its ticks.

After a pause (SIGSTOP, a stalled machine) the requests that waited in a socket are
handled before the tick that would see the lease lapsed; a primary the meta replaced
meanwhile must not answer a read from its stale data. The linearizability test caught
one such read; this pins it without timing: the lease lapses and a read is handled
with no tick in between."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from pegasus_log.replica.runtime import ReplicaServer
from pegasus_log.replica.stub import StubOptions
from pegasus_log.rpc import admin as a
from pegasus_log.rpc import messages as m
from pegasus_log.rpc.error_code import ErrorCode
from pegasus_log.rpc.frame import RequestHeader
from pegasus_log.rpc.thrift import Gpid, RpcAddress
from pegasus_log.storage.keyhash import partition_hash
from pegasus_log.storage.schema import encode_key
from pegasus_log.transport.server import Call, RpcError

ME = RpcAddress.parse("127.0.0.1:1")


def _get(key: bytes) -> Call:
    header = RequestHeader(0, 1, 0, 1000, 0, partition_hash(key, b"s"))
    return Call(m.RRDB_GET, header, 1, encode_key(key, b"s"), "test", 0)


def test_a_read_after_the_lease_lapsed_is_refused_before_any_tick(tmp_path: Path) -> None:
    async def main() -> None:
        lease = [True]
        server = ReplicaServer(
            data_dir=tmp_path, address=ME, options=StubOptions(), lease_valid=lambda: lease[0]
        )
        await server.open()
        try:
            info = a.AppInfoMessage(
                status=a.AppStatus.AS_AVAILABLE,
                app_name="t",
                app_id=1,
                partition_count=1,
                max_replica_count=1,
            )
            config = m.PartitionConfiguration(
                pid=Gpid(1, 0), ballot=1, max_replica_count=1, primary=ME
            )
            server.apply_config(info, config)
            read = server.handlers()[m.RRDB_GET.name][1]
            for _ in range(100):  # the empty log reconciles at once; give it a few passes
                result = read(_get(b"k"))
                if not asyncio.isfuture(result) and not asyncio.iscoroutine(result):
                    break
                if asyncio.iscoroutine(result):
                    result.close()
                else:
                    result.cancel()
                await asyncio.sleep(0.01)
            assert result.error == 1  # served: kNotFound
            lease[0] = False  # lapsed, and no tick has run since
            with pytest.raises(RpcError) as refused:
                result = read(_get(b"k"))
                if asyncio.iscoroutine(result):
                    await result
            assert refused.value.code == ErrorCode.ERR_INVALID_STATE
        finally:
            await server.close()

    asyncio.run(main())
