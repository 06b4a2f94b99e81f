"""Disks that fail replica servers, and learners far behind, with real processes.

- A replica server whose data disk is short of space (below 10% available) refuses
  writes to its partitions with ERR_DISK_INSUFFICIENT and serves reads, until it has
  room again.

- A replica server whose data disk fills up (a small tmpfs) stops with exit code 3; the
  meta moves its replicas to another server; writes go on and every acknowledged write
  reads back.
- A secondary restarted after tens of MiB of writes learns them from its primary's log,
  in answers small enough for a frame (learn_response_bytes_max), and rejoins.
"""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from pegasus_log.client.errors import PegasusError
from pegasus_log.client.sync import Admin, Client, Table
from pegasus_log.rpc.error_code import ErrorCode
from pegasus_log.services.zookeeper import ZooKeeperServer
from tests.cluster import ZkCluster, zk_cluster_up
from tests.integration.helpers import eventually, eventually_done, http_get, metrics, server_of

pytestmark = pytest.mark.integration

WAIT_S = 60.0
VALUE_BYTES = 40 << 10


def _value(i: int) -> bytes:
    return (b"%08d" % i) * (VALUE_BYTES // 8)


def _write(table: Table, i: int) -> None:
    eventually_done(f"k{i} acknowledged", lambda: table.set(b"k%d" % i, b"s", _value(i)), 30.0)


def _lost(table: Table, keys: list[int]) -> list[int]:
    return [i for i in keys if table.get(b"k%d" % i, b"s") != _value(i)]


def _members(client: Client, name: str) -> list[list[str]]:
    route = client.route(name)
    return [[str(x) for x in route.members(i)] for i in range(route.partition_count)]


# ---- a learner far behind ---------------------------------------------------------------


@pytest.fixture(scope="module")
def three(
    zookeeper: ZooKeeperServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ZkCluster]:
    with zk_cluster_up(
        tmp_path_factory.mktemp("far-learner"),
        zookeeper.address,
        metas=2,
        replicas=3,
        prefix="far",
    ) as c:
        yield c


def test_a_secondary_far_behind_learns_from_the_log_in_bounded_answers(
    three: ZkCluster,
) -> None:
    """24 MiB written while a secondary is down: more than the 16 MiB frame limit, so a
    single answer holding all of it could never reach the learner."""
    name = "far_" + uuid.uuid4().hex[:8]
    writes_after_kill = 600  # x 40 KiB
    with Admin(three.meta_list) as admin, Client(three.meta_list, timeout_s=5.0) as client:
        admin.create_table(name, partition_count=1, replica_count=3)
        eventually("three members", lambda: len(_members(client, name)[0]) == 3, WAIT_S)
        primary = str(client.route(name).primaries[0])
        victim_address = next(a for a in _members(client, name)[0] if a != primary)
        victim = server_of(three, victim_address)
        table = client.open_table(name)
        acked = []
        for i in range(10):
            _write(table, i)
            acked.append(i)
        three.kill(victim)
        for i in range(10, 10 + writes_after_kill):
            _write(table, i)
            acked.append(i)
        three.restart(victim)
        eventually(
            "it learned and rejoined as a secondary",
            lambda: (
                victim_address in _members(client, name)[0] and len(_members(client, name)[0]) == 3
            ),
            WAIT_S,
        )
        learned = metrics(victim_address)
        assert learned["learn_lt_app_responses"] == 0, "it learned from a checkpoint"
        # 24 MiB in answers of at most 4 MiB of mutations each
        assert learned["learn_lt_log_responses"] >= 6
        assert learned["learn_copy_buffer_bytes"] >= writes_after_kill * VALUE_BYTES
        assert _lost(table, acked) == []
        admin.drop_table(name)


# ---- a disk that fills up ---------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """``tmp_path / "replica1"`` on its own 48 MiB tmpfs (replica1's data directory)."""
    mount_point = tmp_path / "replica1"
    mount_point.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=48M", "tmpfs", str(mount_point)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield tmp_path
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def test_a_server_whose_disk_fills_stops_and_its_replicas_move(
    small_disk: Path, zookeeper: ZooKeeperServer
) -> None:
    """With reject_write_when_disk_insufficient off (on every primary), nothing holds
    writes back before a write fails on the full disk."""
    with zk_cluster_up(small_disk, zookeeper.address, metas=2, replicas=4, prefix="full") as c:
        full = c.replica_address("replica1")
        _set_everywhere(c, "reject_write_when_disk_insufficient", "false")
        with Admin(c.meta_list) as admin, Client(c.meta_list, timeout_s=5.0) as client:
            _table_of_three_replicas(admin, client)
            assert any(full in m for m in _members(client, "t"))
            table = client.open_table("t")
            acked: list[int] = []
            i = 0
            # 40 KiB values: replica1's disk fills after about a thousand writes
            deadline = time.monotonic() + 3 * WAIT_S
            while c.processes["replica1"].alive() and time.monotonic() < deadline:
                _write(table, i)
                acked.append(i)
                i += 1
            proc = c.processes["replica1"].proc
            assert proc is not None
            assert proc.wait(WAIT_S) == 3, c.processes["replica1"].log_tail(60)
            assert "the disk failed this server" in c.processes["replica1"].log_tail(60)
            for j in range(i, i + 50):  # writes go on
                _write(table, j)
                acked.append(j)
            eventually(
                "every partition has three members again, none on the full disk",
                lambda: all(len(m) == 3 and full not in m for m in _members(client, "t")),
                WAIT_S,
            )
            assert _lost(table, acked) == []


def _table_of_three_replicas(admin: Admin, client: Client) -> None:
    """Table ``t``: 4 partitions x 3 replicas, every group formed."""
    admin.create_table("t", partition_count=4, replica_count=3)
    eventually(
        "every partition has three members",
        lambda: all(len(m) == 3 for m in _members(client, "t")),
        WAIT_S,
    )


def _set_everywhere(cluster: ZkCluster, flag: str, value: str) -> None:
    """Set a flag on every replica server (a primary refuses writes by its own flag)."""
    for i in range(cluster.replicas):
        address = cluster.replica_address(f"replica{i + 1}")
        answer = http_get(address, f"/updateConfig?{flag}={value}")
        assert answer == (200, '{"update_status":"ERR_OK"}'), (address, answer)


def _refused_for_disk(table: Table, key: bytes) -> bool:
    try:
        table.set(key, b"s", b"v")
    except PegasusError as e:
        if e.code == ErrorCode.ERR_DISK_INSUFFICIENT:
            return True
        raise
    return False


def test_a_disk_short_of_space_refuses_writes_until_it_has_room(
    small_disk: Path, zookeeper: ZooKeeperServer
) -> None:
    """Below disk_min_available_space_ratio (10%) on one member, its partitions refuse
    writes with ERR_DISK_INSUFFICIENT and keep serving reads; with room again, writes go
    on. reject_write_when_disk_insufficient=false lets them through meanwhile."""
    with zk_cluster_up(small_disk, zookeeper.address, metas=2, replicas=3, prefix="short") as c:
        short = c.replica_address("replica1")
        with Admin(c.meta_list) as admin, Client(c.meta_list, timeout_s=5.0) as client:
            _table_of_three_replicas(admin, client)
            table = client.open_table("t")
            for i in range(20):
                _write(table, i)
            # leave 5% of replica1's disk available
            disk = os.statvfs(small_disk / "replica1")
            ballast = small_disk / "replica1" / "ballast"
            size = disk.f_bavail * disk.f_frsize - disk.f_blocks * disk.f_frsize // 20
            ballast.write_bytes(b"\0" * size)
            eventually("writes refused", lambda: _refused_for_disk(table, b"k-new"), WAIT_S)
            # the short server says so in its log; the others' disks have room
            assert "data disk short of space" in c.processes["replica1"].log_tail(20)
            assert http_get(short, "/config?name=disk_min_available_space_ratio")[0] == 200
            assert _lost(table, list(range(20))) == []  # reads go on
            # the primaries' flag decides, as upstream's: replica1 is a member everywhere
            _set_everywhere(c, "reject_write_when_disk_insufficient", "false")
            eventually("writes let through", lambda: not _refused_for_disk(table, b"k1"), WAIT_S)
            _set_everywhere(c, "reject_write_when_disk_insufficient", "true")
            eventually("writes refused again", lambda: _refused_for_disk(table, b"k2"), WAIT_S)
            ballast.unlink()
            eventually("writes again", lambda: not _refused_for_disk(table, b"k3"), WAIT_S)
            assert c.processes["replica1"].alive()
