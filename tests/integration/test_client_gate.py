"""Table envs that act on client requests, and backup requests, on a real cluster
(ZooKeeper, a meta, three replica servers): upstream's ``replica.write_throttling``
(reject and delay), ``replica.deny_client_request``, backup requests answered by
secondaries, ``replica.backup_request_throttling``, and the Python client's backup
requests reading through a paused primary."""

from __future__ import annotations

import signal
import socket
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from pegasus_log.client.errors import PegasusError
from pegasus_log.client.sync import Admin, Client
from pegasus_log.rpc import messages as m
from pegasus_log.rpc.frame import Reply
from pegasus_log.services.zookeeper import ZooKeeperServer
from pegasus_log.storage.keyhash import partition_hash
from pegasus_log.storage.schema import encode_key
from tests.cluster import ZkCluster, zk_cluster_up
from tests.integration.helpers import (
    REPLICATED_PARTITIONS,
    eventually,
    labelled_total,
    new_replicated_table,
    raw_reply,
    raw_request,
    server_of,
)

pytestmark = pytest.mark.integration
KEY = b"gate-key"
INDEX = partition_hash(KEY, b"s") % REPLICATED_PARTITIONS


@pytest.fixture(scope="module")
def cluster(
    zookeeper: ZooKeeperServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ZkCluster]:
    root: Path = tmp_path_factory.mktemp("gate")
    with zk_cluster_up(root, zookeeper.address, metas=1, replicas=3, prefix="gate") as c:
        yield c


def _table_with_env(cluster: ZkCluster, key: str, value: str) -> tuple[str, int, str]:
    """A new 3-replica table holding KEY, with env ``key`` set: (name, app id, the
    address of KEY's primary)."""
    name = new_replicated_table(cluster)
    with Admin(cluster.meta_list) as admin, Client(cluster.meta_list) as client:
        client.open_table(name).set(KEY, b"s", b"before")
        admin.set_app_envs(name, {key: value})
        route = client.route(name)
    return name, route.app_id, str(route.primaries[INDEX])


def _put(address: str, app_id: int, value: bytes = b"v") -> Reply:
    put = m.UpdateRequest(key=encode_key(KEY, b"s"), value=value)
    return raw_reply(raw_request(address, m.RRDB_PUT, put, KEY, app_id, REPLICATED_PARTITIONS))


def _get(address: str, app_id: int, *, backup: bool = False, wait_s: float = 10.0) -> Reply:
    s = raw_request(
        address,
        m.RRDB_GET,
        encode_key(KEY, b"s"),
        KEY,
        app_id,
        REPLICATED_PARTITIONS,
        backup_request=backup,
    )
    s.settimeout(wait_s)
    return raw_reply(s)


def _count(address: str, name: str, app_id: int) -> float:
    return labelled_total(address, f"replica_{name}", table_id=str(app_id), partition_id=str(INDEX))


def test_write_throttling_rejects_past_the_limit(cluster: ZkCluster) -> None:
    # 4 a second for the table's 4 partitions: 4 // 4 + 1 = 2 a second per partition.
    _, app_id, primary = _table_with_env(cluster, "replica.write_throttling", "4*reject*0")

    def rejects() -> bool:
        errors = [_put(primary, app_id).error_name for _ in range(6)]
        return "ERR_BUSY" in errors

    eventually("a burst of writes meets ERR_BUSY", rejects)
    assert _count(primary, "throttling_rejected_write_requests", app_id) >= 1
    # The server goes on serving: reads are not throttled, and writes pass again later.
    assert _get(primary, app_id).error_name == "ERR_OK"
    eventually(
        "a write passes in a later second", lambda: _put(primary, app_id).error_name == "ERR_OK"
    )


def test_write_throttling_delays_past_the_limit(cluster: ZkCluster) -> None:
    _, app_id, primary = _table_with_env(cluster, "replica.write_throttling", "4*delay*400")

    def delayed() -> bool:
        took = []
        for _ in range(4):
            started = time.monotonic()
            assert _put(primary, app_id).error_name == "ERR_OK"
            took.append(time.monotonic() - started)
        return max(took) >= 0.35

    eventually("a write past the limit waits the delay, then succeeds", delayed)
    assert _count(primary, "throttling_delayed_write_requests", app_id) >= 1


def test_deny_client_request(cluster: ZkCluster) -> None:
    name, app_id, primary = _table_with_env(
        cluster, "replica.deny_client_request", "reconfig*write"
    )
    eventually(
        "writes refused with ERR_INVALID_STATE",
        lambda: _put(primary, app_id).error_name == "ERR_INVALID_STATE",
    )
    assert _get(primary, app_id).error_name == "ERR_OK"

    with Admin(cluster.meta_list) as admin:
        admin.set_app_envs(name, {"replica.deny_client_request": "timeout*read"})
    eventually("writes pass again", lambda: _put(primary, app_id).error_name == "ERR_OK")
    with pytest.raises(socket.timeout):
        _get(primary, app_id, wait_s=1.0)
    # Only the denied request went unanswered: the same server answers another table.
    other = new_replicated_table(cluster)
    with Client(cluster.meta_list) as client:
        client.open_table(other).set(KEY, b"s", b"fine")
        assert client.open_table(other).get(KEY, b"s") == b"fine"


def test_backup_requests_are_answered_by_secondaries(cluster: ZkCluster) -> None:
    name, app_id, _ = _table_with_env(cluster, "replica.backup_request_throttling", "4*reject*0")
    with Client(cluster.meta_list) as client:
        secondary = str(client.route(name).secondaries[INDEX][0])
    # A plain read to a secondary is refused; a backup request is served from its state.
    assert _get(secondary, app_id).error_name == "ERR_INVALID_STATE"
    backup = _get(secondary, app_id, backup=True)
    assert backup.error_name == "ERR_OK"
    assert _count(secondary, "backup_requests", app_id) >= 1

    def dropped() -> bool:
        for _ in range(4):
            try:
                _get(secondary, app_id, backup=True, wait_s=1.0)
            except TimeoutError:
                return True
        return False

    # Past the backup request limit (2 a second per partition) a backup request gets no
    # answer at all, as upstream's.
    eventually("a backup request past the limit goes unanswered", dropped)
    assert _count(secondary, "throttling_rejected_backup_requests", app_id) >= 1


def test_backup_requests_read_through_a_paused_primary(cluster: ZkCluster) -> None:
    name = new_replicated_table(cluster)
    value = uuid.uuid4().hex.encode()
    with Client(cluster.meta_list) as client:
        client.open_table(name).set(KEY, b"s", value)
        # A secondary applies a write once it hears it committed, on the next prepare:
        # a second write to the partition carries the first one's commit.
        client.open_table(name).set(KEY, b"t", b"next")
        route = client.route(name)
    primary = server_of(cluster, str(route.primaries[INDEX]))
    with (
        Client(cluster.meta_list, timeout_s=2.0, backup_request_delay_s=0.05) as reader,
        Client(cluster.meta_list, timeout_s=1.0) as plain,
    ):
        table, plain_table = reader.open_table(name), plain.open_table(name)
        assert table.get(KEY, b"s") == value == plain_table.get(KEY, b"s")
        cluster.kill(primary, signal.SIGSTOP)
        try:
            # The primary cannot answer; a secondary answers the backup request, well
            # before the meta would replace the primary (4 s after its last beacon)...
            assert table.get(KEY, b"s") == value
            # ...while a client without backup requests waits on the primary in vain.
            with pytest.raises(PegasusError):
                plain_table.get(KEY, b"s")
        finally:
            cluster.kill(primary, signal.SIGCONT)
    with Client(cluster.meta_list, timeout_s=2.0) as plain:
        table = plain.open_table(name)
        eventually("the table serves again after the pause", lambda: table.get(KEY, b"s"))


def test_iteration_threshold_env_bounds_range_reads(cluster: ZkCluster) -> None:
    """``replica.rocksdb_iteration_threshold_time_ms`` reaches the replicas' storage: a
    sortkey_count over 3000 records that outlasts 1 ms answers -1 (incomplete), as
    upstream's; 0 lifts the limit."""
    name = new_replicated_table(cluster)
    with Admin(cluster.meta_list) as admin, Client(cluster.meta_list) as client:
        table = client.open_table(name)
        for start in range(0, 3000, 250):
            table.multi_set(KEY, {b"sk-%05d" % i: b"v" for i in range(start, start + 250)})
        assert table.sortkey_count(KEY) == 3000
        admin.set_app_envs(name, {"replica.rocksdb_iteration_threshold_time_ms": "1"})
        eventually("a count cut short by the 1 ms limit", lambda: table.sortkey_count(KEY) == -1)
        admin.set_app_envs(name, {"replica.rocksdb_iteration_threshold_time_ms": "0"})
        eventually("the whole count again", lambda: table.sortkey_count(KEY) == 3000)


def test_abnormal_reads_are_counted(cluster: ZkCluster) -> None:
    """A get of a 1,000,000-byte value is abnormal by upstream's size bound; a 20 ms
    slow-query threshold set by env makes nothing of a quick get; both served."""
    name, app_id, primary = _table_with_env(cluster, "replica.slow_query_threshold", "20")
    with Client(cluster.meta_list) as client:
        table = client.open_table(name)
        before = _count(primary, "abnormal_read_requests", app_id)
        assert table.get(KEY, b"s") == b"before"
        assert _count(primary, "abnormal_read_requests", app_id) == before
        big = b"x" * 1_000_000
        table.set(KEY, b"big", big)
        assert table.get(KEY, b"big") == big
        assert _count(primary, "abnormal_read_requests", app_id) == before + 1


def test_read_throttling_by_size_refuses_reads_while_in_debt(cluster: ZkCluster) -> None:
    """``replica.read_throttling_by_size``: 40K a second over 4 partitions is a bucket of
    10240 bytes a second on each replica. A read of a 30000-byte value is served whole and
    leaves the bucket about 2 s in debt; reads meanwhile get ERR_BUSY, writes go on, and
    reads pass again once the debt is paid."""
    name, app_id, primary = _table_with_env(cluster, "replica.read_throttling_by_size", "40K")
    big = b"r" * 30_000
    assert _put(primary, app_id, big).error_name == "ERR_OK"

    def refused_after_a_large_read() -> bool:
        first = _get(primary, app_id)
        return first.error_name == "ERR_OK" and _get(primary, app_id).error_name == "ERR_BUSY"

    eventually("a read refused after a large one", refused_after_a_large_read)
    assert _count(primary, "throttling_rejected_read_requests", app_id) >= 1
    assert _put(primary, app_id, big).error_name == "ERR_OK"  # writes are not throttled
    eventually(
        "reads pass once the debt is paid", lambda: _get(primary, app_id).error_name == "ERR_OK"
    )
    with Admin(cluster.meta_list) as admin:
        admin.del_app_envs(name, ["replica.read_throttling_by_size"])

    def unthrottled() -> bool:
        return all(_get(primary, app_id).error_name == "ERR_OK" for _ in range(3))

    eventually("every read passes once the env is gone", unthrottled)


def test_usage_scenario_reaches_the_replicas_stores(cluster: ZkCluster) -> None:
    """``rocksdb.usage_scenario`` set on a table is what its replicas' stores run, as
    ``replica.query-app-envs`` reports it; removed, they run ``normal`` again."""
    name, app_id, primary = _table_with_env(cluster, "rocksdb.usage_scenario", "bulk_load")
    gpid = f"{app_id}.{INDEX}"

    def running() -> str:
        with Admin(cluster.meta_list) as admin:
            return admin.remote_command(primary, "replica.query-app-envs", [gpid])

    eventually("the store runs bulk_load", lambda: "rocksdb.usage_scenario=bulk_load" in running())
    with Admin(cluster.meta_list) as admin:
        admin.del_app_envs(name, ["rocksdb.usage_scenario"])
    eventually("the store runs normal again", lambda: "rocksdb.usage_scenario=normal" in running())
    with Client(cluster.meta_list) as client:
        assert client.open_table(name).get(KEY, b"s") == b"before"
