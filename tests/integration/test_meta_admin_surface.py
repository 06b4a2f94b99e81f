"""What the Go admin-cli reads from a running cluster, pinned in our own terms: every
table env key it offers is taken and bad values come back with a hint, cluster_info has
upstream's keys and figures, and the meta refuses the admin RPCs of features not built
yet at once (remote commands, which admin-cli's server-info uses, are pinned in
test_remote_commands.py)."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar

import pytest

from pegasus_log.client.errors import PegasusError
from pegasus_log.client.sync import Admin
from pegasus_log.meta.not_built import ErrOnly
from pegasus_log.rpc.messages import RpcSpec
from pegasus_log.rpc.thrift import I32, STRING, Field, RpcAddress
from pegasus_log.services.zookeeper import ZooKeeperServer
from pegasus_log.transport.connection import Connection
from tests.cluster import ZkCluster, zk_cluster_up

pytestmark = pytest.mark.integration

CLUSTER_INFO_KEYS = [
    "meta_servers",
    "primary_meta_server",
    "zookeeper_hosts",
    "zookeeper_root",
    "meta_function_level",
    "balance_operation_count",
    "primary_replica_count_stddev",
    "total_replica_count_stddev",
    "cluster_name",
]


@pytest.fixture(scope="module")
def cluster(
    zookeeper: ZooKeeperServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ZkCluster]:
    with zk_cluster_up(
        tmp_path_factory.mktemp("admin-surface"),
        zookeeper.address,
        metas=2,
        replicas=2,
        prefix="adm",
    ) as c:
        yield c


@pytest.fixture(scope="module")
def admin(cluster: ZkCluster) -> Iterator[Admin]:
    with Admin(cluster.meta_list) as a:
        yield a


def test_env_keys_offered_by_admin_cli_round_trip(admin: Admin) -> None:
    name = "t_" + uuid.uuid4().hex[:10]
    admin.create_table(name, partition_count=2, replica_count=1)
    envs = {
        "rocksdb.usage_scenario": "bulk_load",
        "replica.deny_client_request": "timeout*read",
        "replica.write_throttling": "100K*delay*100,200K*reject*100",
        "replica.write_throttling_by_size": "10M*reject*5",
        "default_ttl": "3600",
        "manual_compact.disabled": "false",
        "manual_compact.max_concurrent_running_count": "2",
        "manual_compact.once.trigger_time": "1700000000",
        "manual_compact.once.target_level": "-1",
        "manual_compact.once.bottommost_level_compaction": "force",
        "manual_compact.periodic.trigger_time": "3:00,21:00",
        "manual_compact.periodic.target_level": "2",
        "manual_compact.periodic.bottommost_level_compaction": "skip",
        "rocksdb.checkpoint.reserve_min_count": "2",
        "rocksdb.checkpoint.reserve_time_seconds": "3600",
        "replica.slow_query_threshold": "100",
    }
    admin.set_app_envs(name, envs)
    assert admin.get_app_envs(name) == envs
    with pytest.raises(PegasusError) as e:
        admin.set_app_envs(name, {"rocksdb.usage_scenario": "fast"})
    assert e.value.code.name == "ERR_INVALID_PARAMETERS"
    assert "bulk_load | normal | prefer_write" in str(e.value)
    with pytest.raises(PegasusError) as e:
        admin.set_app_envs(name, {"no.such.key": "1"})
    assert "app_env 'no.such.key' is not supported" in str(e.value)
    assert admin.get_app_envs(name) == envs  # a refused set changes nothing
    admin.clear_app_envs(name, prefix="manual_compact.once")
    assert not any(k.startswith("manual_compact.once.") for k in admin.get_app_envs(name))
    admin.clear_app_envs(name)
    assert admin.get_app_envs(name) == {}


def test_cluster_info_has_upstreams_keys(cluster: ZkCluster, admin: Admin) -> None:
    admin.create_table("t_" + uuid.uuid4().hex[:10], partition_count=4, replica_count=2)
    info = admin.cluster_info()
    assert list(info) == CLUSTER_INFO_KEYS
    assert info["cluster_name"] == cluster.cluster
    assert info["zookeeper_root"] == f"/pegasus/{cluster.cluster}"
    assert sorted(info["meta_servers"].split(",")) == sorted(cluster.meta_list)
    assert info["primary_meta_server"] in cluster.meta_list
    assert info["meta_function_level"] == "steady"
    assert json.loads(info["balance_operation_count"]) == {
        "copy_pri": 0,
        "copy_sec": 0,
        "move_pri": 0,
        "total": 0,
    }
    for key in ("primary_replica_count_stddev", "total_replica_count_stddev"):
        whole, _, hundredths = info[key].partition(".")
        assert whole.isdigit() and len(hundredths) == 2, info[key]


@dataclass(frozen=True, slots=True)
class _SplitRequest:
    """start_partition_split_request as admin tools send it."""

    app_name: str = ""
    new_partition_count: int = 0
    THRIFT: ClassVar = (Field(1, "app_name", STRING), Field(2, "new_partition_count", I32))


async def _meta_call(address: str, spec: RpcSpec, arg: object) -> ErrOnly:
    addr = RpcAddress.parse(address)
    conn = Connection(addr.host, addr.port)
    try:
        resp: ErrOnly = await conn.call(spec, arg, timeout_s=5.0)
        return resp
    finally:
        await conn.close()


def test_features_not_built_are_refused_at_once(cluster: ZkCluster) -> None:
    """Leader and follower alike answer ERR_NOT_IMPLEMENTED inside the response."""
    spec = RpcSpec("RPC_CM_START_PARTITION_SPLIT", _SplitRequest, ErrOnly)
    for address in cluster.meta_list:
        resp = asyncio.run(_meta_call(address, spec, _SplitRequest("t", 8)))
        assert resp.err == "ERR_NOT_IMPLEMENTED"
