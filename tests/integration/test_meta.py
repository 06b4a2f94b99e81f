"""The ZooKeeper-backed meta server with real processes: DDL and envs round trips, bad
DDL, meta leader failover, ZooKeeper restart, replica server death and return."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest

from pegasus_log.client.errors import PegasusError
from pegasus_log.client.sync import Admin, Client
from pegasus_log.services.zookeeper import ZooKeeperServer
from tests.cluster import ZkCluster, zk_cluster_up
from tests.integration.helpers import eventually, eventually_done

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def zk_cluster(
    zookeeper: ZooKeeperServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ZkCluster]:
    with zk_cluster_up(
        tmp_path_factory.mktemp("zk-cluster"), zookeeper.address, metas=2, replicas=2, prefix="test"
    ) as c:
        yield c


@pytest.fixture
def admin(zk_cluster: ZkCluster) -> Iterator[Admin]:
    with Admin(zk_cluster.meta_list) as a:
        yield a


def _name() -> str:
    return "t_" + uuid.uuid4().hex[:10]


def test_create_write_drop_recall(zk_cluster: ZkCluster, admin: Admin) -> None:
    name = _name()
    app_id = admin.create_table(name, partition_count=4, replica_count=1)
    assert any(t.name == name and t.app_id == app_id for t in admin.list_tables())
    with Client(zk_cluster.meta_list) as client:
        table = client.open_table(name)
        for i in range(20):
            table.set(b"k%d" % i, b"s", b"v%d" % i)
        assert table.get(b"k7", b"s") == b"v7"
    admin.drop_table(name)
    assert all(t.name != name for t in admin.list_tables())
    dropped = [t for t in admin.list_tables(include_dropped=True) if t.app_id == app_id]
    assert dropped and dropped[0].status == "AS_DROPPED" and dropped[0].expire_second > 0
    with Client(zk_cluster.meta_list) as client, pytest.raises(PegasusError) as e:
        client.open_table(name)
    assert e.value.code.name == "ERR_OBJECT_NOT_FOUND"
    recalled = admin.recall_table(app_id, name + "_back")
    assert recalled.name == name + "_back" and recalled.status == "AS_AVAILABLE"
    with Client(zk_cluster.meta_list) as client:
        table = client.open_table(name + "_back")
        got = eventually("recalled data readable", lambda: table.get(b"k7", b"s"))
        assert got == b"v7"
        assert [table.get(b"k%d" % i, b"s") for i in range(20)] == [b"v%d" % i for i in range(20)]


def test_app_envs_round_trip_and_default_ttl(zk_cluster: ZkCluster, admin: Admin) -> None:
    name = _name()
    admin.create_table(name, partition_count=2, replica_count=1)
    admin.set_app_envs(name, {"default_ttl": "1", "manual_compact.disabled": "true"})
    assert admin.get_app_envs(name) == {"default_ttl": "1", "manual_compact.disabled": "true"}
    with Client(zk_cluster.meta_list) as client:
        table = client.open_table(name)

        # the env reaches the replicas by push or config sync: writes start expiring
        def expiring() -> bool:
            table.set(b"h", b"s", b"v")
            return 0 <= table.ttl(b"h", b"s") <= 1

        eventually("default_ttl applied on the replica", expiring)
        time.sleep(2.1)
        assert table.get(b"h", b"s") is None
    admin.del_app_envs(name, ["default_ttl"])
    assert admin.get_app_envs(name) == {"manual_compact.disabled": "true"}
    admin.clear_app_envs(name)
    assert admin.get_app_envs(name) == {}


@pytest.mark.parametrize(
    ("name", "partitions", "replicas", "code"),
    [
        ("bad name!", 4, 1, "ERR_INVALID_PARAMETERS"),
        ("", 4, 1, "ERR_INVALID_PARAMETERS"),
        ("t_three", 3, 1, "ERR_INVALID_PARAMETERS"),
        ("t_zero", 0, 1, "ERR_INVALID_PARAMETERS"),
        ("t_norep", 4, 0, "ERR_INVALID_PARAMETERS"),
        ("t_manyrep", 4, 6, "ERR_INVALID_PARAMETERS"),
    ],
)
def test_bad_create_is_refused_and_the_meta_keeps_serving(
    admin: Admin, name: str, partitions: int, replicas: int, code: str
) -> None:
    with pytest.raises(PegasusError) as e:
        admin.create_table(name, partition_count=partitions, replica_count=replicas)
    assert e.value.code.name == code
    assert admin.cluster_info()["meta_function_level"] == "steady"


def test_existing_and_missing_tables(admin: Admin) -> None:
    name = _name()
    app_id = admin.create_table(name, partition_count=2, replica_count=1)
    with pytest.raises(PegasusError) as e:
        admin.create_table(name, partition_count=2, replica_count=1)
    assert e.value.code.name == "ERR_APP_EXIST"
    assert (
        admin.create_table(name, partition_count=2, replica_count=1, success_if_exist=True)
        == app_id
    )
    with pytest.raises(PegasusError) as e:
        admin.drop_table(name + "_missing")
    assert e.value.code.name == "ERR_APP_NOT_EXIST"
    with pytest.raises(PegasusError) as e:
        admin.recall_table(app_id)  # not dropped
    assert e.value.code.name == "ERR_APP_EXIST"
    with pytest.raises(PegasusError) as e:
        admin.set_app_envs(name, {"no.such.env": "1"})
    assert e.value.code.name == "ERR_INVALID_PARAMETERS"
    with pytest.raises(PegasusError) as e:
        admin.set_app_envs(name, {"default_ttl": "soon"})
    assert e.value.code.name == "ERR_INVALID_PARAMETERS"


def test_meta_function_level(admin: Admin) -> None:
    assert admin.get_meta_level() == "fl_steady"
    assert admin.set_meta_level("lively") == "fl_steady"
    assert admin.get_meta_level() == "fl_lively"
    admin.set_meta_level("steady")
    with pytest.raises(KeyError):
        admin.set_meta_level("sleepy")


def _leader(cluster: ZkCluster) -> str:
    for i, meta in enumerate(cluster.meta_list):
        try:
            with Admin([meta], timeout_s=1.0) as one:
                one.cluster_info()
                return f"meta{i + 1}"
        except PegasusError:
            continue
    raise AssertionError("no meta leads")


def test_meta_leader_killed_follower_takes_over(zk_cluster: ZkCluster, admin: Admin) -> None:
    name = _name()
    admin.create_table(name, partition_count=4, replica_count=1)
    with Client(zk_cluster.meta_list) as client:
        client.open_table(name).set(b"before", b"s", b"kill")
    leader = _leader(zk_cluster)
    zk_cluster.kill(leader)
    eventually(
        "a follower leads and serves DDL",
        lambda: admin.create_table(_name(), partition_count=2, replica_count=1),
    )
    assert _leader(zk_cluster) != leader
    assert any(t.name == name for t in admin.list_tables())
    with Client(zk_cluster.meta_list) as client:
        table = client.open_table(name)
        assert (
            eventually("data readable after failover", lambda: table.get(b"before", b"s"))
            == b"kill"
        )
        table.set(b"after", b"s", b"ok")
    zk_cluster.restart(leader)  # back as a follower for the next tests
    restarted = zk_cluster.meta_list[int(leader.removeprefix("meta")) - 1]
    eventually(f"the restarted {leader} serves", lambda: admin.remote_command(restarted, "help"))


def test_zookeeper_restart_loses_nothing(
    zk_cluster: ZkCluster, zookeeper: ZooKeeperServer, admin: Admin
) -> None:
    name = _name()
    admin.create_table(name, partition_count=2, replica_count=1)
    admin.set_app_envs(name, {"default_ttl": "3600"})
    zookeeper.restart()
    eventually(
        "DDL works after the ZooKeeper restart",
        lambda: admin.create_table(_name(), partition_count=2, replica_count=1),
    )
    assert admin.get_app_envs(name) == {"default_ttl": "3600"}
    with Client(zk_cluster.meta_list) as client:
        table = client.open_table(name)
        eventually_done(
            "writes after the ZooKeeper restart", lambda: table.set(b"zk", b"s", b"back")
        )
        assert table.get(b"zk", b"s") == b"back"


def test_replica_server_killed_declared_dead_and_rejoins(
    zk_cluster: ZkCluster, admin: Admin
) -> None:
    name = _name()
    admin.create_table(name, partition_count=8, replica_count=1)
    victim = "replica2"
    victim_address = zk_cluster.replica_address(victim)
    with Client(zk_cluster.meta_list) as client:
        table = client.open_table(name)
        keys = [b"r%d" % i for i in range(40)]
        for k in keys:
            table.set(k, b"s", k)
    zk_cluster.kill(victim)
    killed_at = time.monotonic()
    eventually(
        "the killed server is declared dead", lambda: (victim_address, False) in admin.list_nodes()
    )
    print(f"declared dead after {time.monotonic() - killed_at:.1f} s")
    with Client(zk_cluster.meta_list) as client:

        def dropped_from_routing() -> bool:
            route = client.route(name)
            return all(str(p) != victim_address for p in route.primaries)

        # the dead flag and the configuration writes land one after the other
        eventually("the dead server's partitions lose it as primary", dropped_from_routing)
    zk_cluster.restart(victim)
    eventually("the server rejoins", lambda: (victim_address, True) in admin.list_nodes())
    with Client(zk_cluster.meta_list) as client:
        table = client.open_table(name)
        got = eventually(
            "every partition served again", lambda: all(table.get(k, b"s") == k for k in keys)
        )
        assert got


def test_malformed_admin_requests_get_clear_errors(zk_cluster: ZkCluster, admin: Admin) -> None:
    """Garbage and malformed admin frames to every meta: a clear error or a closed
    connection, and the metas keep serving."""
    import socket
    import struct

    from pegasus_log.rpc.frame import FrameLimits, Reply, ReplyFramer
    from pegasus_log.rpc.thrift import MessageType, write_message_begin

    def frame(name: str, args: bytes) -> bytes:
        body = bytearray()
        write_message_begin(body, name, MessageType.CALL, 7)
        body += args
        return struct.pack(">4sIIIIIiiIiQ", b"THFT", 0, 48, 0, len(body), 0, 0, 0, 0, 0, 0) + body

    for meta in zk_cluster.meta_list:
        host, port = meta.rsplit(":", 1)
        cases = [
            (
                frame("RPC_CM_CREATE_APP", bytes([11, 0, 1]) + struct.pack(">i", 2) + b"xx\0"),
                "ERR_INVALID_DATA",
            ),  # field 1 must be a struct
            (
                frame("RPC_CM_CREATE_APP", bytes([12, 0, 1, 11, 0, 1]) + struct.pack(">i", -9)),
                "ERR_INVALID_DATA",
            ),  # negative string length
            (frame("RPC_CM_LIST_APPS", bytes([12, 0, 1])), "ERR_INVALID_DATA"),  # truncated
            (frame("RPC_CM_NO_SUCH_ADMIN", b"\0"), "ERR_HANDLER_NOT_FOUND"),
        ]
        for data, expected in cases:
            with socket.create_connection((host, int(port)), timeout=5) as s:
                s.sendall(data)
                framer = ReplyFramer(FrameLimits())
                replies: list[Reply] = []
                while not replies:
                    chunk = s.recv(65536)
                    assert chunk, "closed without an answer"
                    replies = framer.feed(chunk)
                assert (replies[0].error_name, replies[0].seqid) == (expected, 7)
        with socket.create_connection((host, int(port)), timeout=5) as s:
            s.sendall(b"THFT" + struct.pack(">IIII", 0, 48, 0, 1 << 30) + b"\0" * 32)
            assert s.recv(100) == b""  # frame over the limit: connection closed
    assert admin.cluster_info()["meta_function_level"] == "steady"
    assert admin.create_table(_name(), partition_count=2, replica_count=1) > 0
