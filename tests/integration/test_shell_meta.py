"""``pegasus-log shell``'s table and cluster commands against a real ZooKeeper-backed
cluster (two metas, two replica servers): one interactive session in a pseudo-terminal
for a table's whole life, and the one-shot ``-e`` mode for the rest.

Every test works on tables of its own; the meta level is put back to steady whatever
happens.
"""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from pegasus_log.client.errors import PegasusError
from pegasus_log.client.sync import Admin, Client
from pegasus_log.replica.disk_info import disk_usage_mb
from pegasus_log.replica.store_dirs import PartitionDirs, latest_checkpoint_decree
from pegasus_log.rpc import admin as a
from pegasus_log.services.zookeeper import ZooKeeperServer
from tests.cluster import ZkCluster, free_port, zk_cluster_up
from tests.integration.helpers import eventually, fully_replicated, http_get
from tests.integration.shell_driver import Shell, one_shot

pytestmark = pytest.mark.integration

# Liveness bound for waiting on the cluster, not a speed claim.
WAIT_S = 30.0


@pytest.fixture(scope="module")
def zk_cluster(
    zookeeper: ZooKeeperServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ZkCluster]:
    with zk_cluster_up(
        tmp_path_factory.mktemp("shell-zk-cluster"),
        zookeeper.address,
        metas=2,
        replicas=2,
        prefix="shell",
    ) as c:
        yield c


@pytest.fixture(scope="module")
def metas(zk_cluster: ZkCluster) -> str:
    return ",".join(zk_cluster.meta_list)


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("shell-meta-home")


def _name() -> str:
    return "shell_" + uuid.uuid4().hex[:10]


def _rows(out: str, section: str) -> list[list[str]]:
    """The rows (split at blanks) of one ``[section]`` of a report, header included."""
    lines = out.splitlines()
    start = lines.index(f"[{section}]") + 1
    end = lines.index("", start) if "" in lines[start:] else len(lines)
    return [line.split() for line in lines[start:end]]


# ---- one interactive session: a table's life -------------------------------------------


def test_table_life_in_an_interactive_shell(zk_cluster: ZkCluster, metas: str, home: Path) -> None:
    name, back = _name(), _name()
    replicas = {zk_cluster.replica_address(f"replica{i}") for i in (1, 2)}
    sh = Shell(metas, home)
    try:
        out = sh.run(f"create {name} -p 4 -r 1 -e default_ttl=3600")
        assert f'create app "{name}" succeed' in out
        assert f"{name} is ready now: (4/4)" in out

        row = next(r for r in _rows(sh.run("ls"), "general_info") if name in r)
        app_id = row[0]
        assert row[1:7] == ["AVAILABLE", name, "pegasus", "4", "1", "true"]
        assert row[-1] == "1"  # envs_count
        health = next(r for r in _rows(sh.run("ls -d"), "healthy_info") if name in r)
        assert health[1:] == [name, "4", "4", "0", "0", "0"]

        out = sh.run(f"app {name} -d")
        assert f"app_id             : {app_id}" in out
        partitions = _rows(out, "replicas")[1:]
        assert [p[0] for p in partitions] == ["0", "1", "2", "3"]
        assert all(p[2] == "1/1" and p[3] in replicas and p[4] == "[]" for p in partitions)
        assert _rows(out, "nodes")[-1] == ["4", "0", "4"]
        assert "fully_healthy_partition_count    : 4" in out

        assert sh.run(f"use {name}").startswith("OK")
        assert sh.run("set_app_envs manual_compact.disabled true").startswith(
            "set app envs succeed"
        )
        envs = sh.run("get_app_envs")
        assert _rows(envs, "app_envs") == [
            ["default_ttl", ":", "3600"],
            ["manual_compact.disabled", ":", "true"],
        ]
        assert "del app envs succeed" in sh.run("del_app_envs default_ttl")
        assert _rows(sh.run("get_app_envs"), "app_envs") == [
            ["manual_compact.disabled", ":", "true"]
        ]
        out = sh.run("set_app_envs no.such.key 1")
        assert "ERROR: set app envs failed, error = ERR_INVALID_PARAMETERS" in out
        assert "clear app envs succeed" in sh.run("clear_app_envs --all")
        assert sh.run("get_app_envs") == ""

        assert sh.run("set hk sk v").startswith("OK")
        assert sh.run("get hk sk").startswith('"v"')

        out = sh.run(f"drop {name}")
        assert "reserve_seconds = 0" in out and f"drop app {name} succeed" in out
        assert all(name not in r for r in _rows(sh.run("ls"), "general_info"))
        dropped = next(r for r in _rows(sh.run("ls -a"), "general_info") if name in r)
        assert dropped[:3] == [app_id, "DROPPED", name]
        assert re.fullmatch(r"\d{4}-\d\d-\d\d_\d\d:\d\d:\d\d", dropped[8])  # drop_expire
        out = sh.run(f"app {name}")
        assert f"ERROR: query app {name} failed, error = ERR_OBJECT_NOT_FOUND" in out

        out = sh.run(f"recall {app_id} {back}")
        assert f"recall app ok, id({app_id}), name({back}), partition_count(4)" in out
        assert f"recall app {app_id} succeed" in out
        assert f"ERROR: recall app {app_id} failed, error = ERR_APP_EXIST" in sh.run(
            f"recall {app_id}"
        )

        nodes = _rows(sh.run("nodes -d"), "details")
        assert nodes[0] == [
            "address",
            "status",
            "replica_count",
            "primary_count",
            "secondary_count",
        ]
        assert {n[0] for n in nodes[1:]} == replicas
        assert all(n[1] == "ALIVE" for n in nodes[1:])
        assert re.search(r"\nmeta_function_level +: steady\n", sh.run("cluster_info"))
        assert sh.run("get_meta_level").startswith("current meta level is fl_steady")

        out = sh.run("create")
        assert "ERROR: expect one <app_name>, got 0" in out and "USAGE: create" in out
        assert "ERROR: parse high as meta function level failed" in sh.run("set_meta_level high")
        assert sh.run("version").startswith("Pegasus Shell")
    finally:
        assert sh.close() == 0
    with Client(zk_cluster.meta_list) as client:
        table = client.open_table(back)
        deadline = time.monotonic() + WAIT_S
        while True:  # the recalled table's replicas reopen its data
            try:
                if table.get(b"hk", b"sk") == b"v":
                    break
            except PegasusError:
                pass
            assert time.monotonic() < deadline, "recalled data not readable"
            time.sleep(0.1)


# ---- one-shot commands -----------------------------------------------------------------


def test_json_and_output_files(metas: str, home: Path, tmp_path: Path) -> None:
    name = _name()
    listing = tmp_path / "ls.json"
    r = one_shot(metas, f"create {name} -p 2 -r 3; ls -d -j -o {listing}; app {name} -d -j", home)
    assert r.returncode == 0, r.stderr
    doc = json.loads(listing.read_text())
    mine = next(v for v in doc["general_info"].values() if v["app_name"] == name)
    assert mine["replica_count"] == "3" and mine["status"] == "AVAILABLE"
    # two copies of three (two replica servers): readable and writable, not fully healthy
    health = doc["healthy_info"][mine["app_id"]]
    assert (health["fully_healthy"], health["write_unhealthy"], health["read_unhealthy"]) == (
        "0",
        "0",
        "0",
    )
    app = json.loads(r.stdout.split('create app "' + name + '" succeed\n', 1)[1])
    assert app["general"] == {
        "app_name": name,
        "app_id": mine["app_id"],
        "partition_count": "2",
        "max_replica_count": "3",
    }
    assert [p["replica_count"] for p in app["replicas"].values()] == ["2/3", "2/3"]


def test_drop_with_reserve_and_filtered_ls(metas: str, home: Path) -> None:
    name = _name()
    r = one_shot(
        metas,
        f"create {name} -p 1 -r 1; drop {name} -r 600; "
        f"ls -s dropped -p {name} -m exact -j; create {name} -p 1 -r 1 -f",
        home,
    )
    assert r.returncode == 0, r.stderr
    assert "reserve_seconds = 600" in r.stderr
    doc = json.loads(r.stdout.split(f"drop app {name} succeed\n", 1)[1].split("create app")[0])
    (listed,) = doc["general_info"].values()
    assert listed["app_name"] == name and listed["status"] == "DROPPED"
    assert doc["summary"] == {"total_app_count": "0"}
    # the name is free again once dropped
    assert f'create app "{name}" succeed' in r.stdout


def test_atomic_idempotent_flag(zk_cluster: ZkCluster, metas: str, home: Path) -> None:
    """``create -i`` and ``enable/disable_atomic_idempotent`` set the table's flag in the
    meta (RPC_CM_SET_ATOMIC_IDEMPOTENT), which ``get_atomic_idempotent`` reports."""
    name = _name()
    r = one_shot(
        metas,
        f"create {name} -p 1 -r 1 -i; get_atomic_idempotent {name} -j; "
        f"disable_atomic_idempotent {name}; get_atomic_idempotent {name}",
        home,
    )
    assert r.returncode == 0, r.stderr
    assert '"atomic_idempotent": "true"' in r.stdout
    assert "set_atomic_idempotent from true to false: succeed" in r.stdout
    assert r.stdout.rstrip().endswith("atomic_idempotent  : false")
    with Admin(zk_cluster.meta_list) as admin:
        assert admin.set_atomic_idempotent(name, True) == (False, "")
        assert admin.get_atomic_idempotent(name)
    r = one_shot(metas, "get_atomic_idempotent no_such_table", home)
    assert "get_atomic_idempotent failed, error=ERR_APP_NOT_EXIST" in r.stderr


def test_cluster_commands(zk_cluster: ZkCluster, metas: str, home: Path) -> None:
    nodes = json.loads(one_shot(metas, "nodes -j", home).stdout)
    assert nodes["summary"] == {
        "total_node_count": "2",
        "alive_node_count": "2",
        "unalive_node_count": "0",
    }
    info = json.loads(one_shot(metas, "cluster_info -j", home).stdout)["cluster_info"]
    assert info["meta_function_level"] == "steady"
    assert info["primary_meta_server"] in zk_cluster.meta_list
    # -u and -q: each live replica server's own figures (server-stat), as numbers
    doc = json.loads(one_shot(metas, "nodes -u -q -j", home).stdout)["details"]
    assert len(doc) == 2
    for row in doc.values():
        assert int(row["memused_res_mb"]) > 0 and 0 <= int(row["disk_avl_total_ratio"]) <= 100
        assert int(row["get_qps"]) >= 0 and float(row["put_p99(ms)"]) >= 0
    # from /metrics: the replicas' memtables and index blocks, summed per server
    for address, row in doc.items():
        status, text = http_get(address, "/metrics")
        assert status == 200
        families = list(text_string_to_metric_families(text))
        for column, gauge in (
            ("mem_tbl_mb", "replica_rdb_memtable_mem_usage_bytes"),
            ("mem_idx_mb", "replica_rdb_index_and_filter_blocks_mem_usage_bytes"),
        ):
            total = sum(s.value for f in families for s in f.samples if s.name == gauge)
            assert abs(int(row[column]) - total / (1 << 20)) <= 1, (column, row, total)
    r = one_shot(metas, "nodes -s unalive", home)
    assert r.returncode == 0, r.stderr
    assert _rows(r.stdout, "parameters") == [["status", ":", "unalive"]]
    assert _rows(r.stdout, "details") == [["address", "status"]]


def test_server_info_and_server_stat(zk_cluster: ZkCluster, metas: str, home: Path) -> None:
    """Every meta (leader and follower) and every live replica server answers."""
    replicas = [zk_cluster.replica_address(f"replica{i}") for i in (1, 2)]
    r = one_shot(metas, "server_info", home)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    roles = {address: d["role"] for address, d in doc["details"].items()}
    assert roles == {
        **dict.fromkeys(zk_cluster.meta_list, "meta-server"),
        **dict.fromkeys(replicas, "replica-server"),
    }
    assert (doc["succeed_count"], doc["failed_count"]) == (4, 0)
    for d in doc["details"].values():
        assert d["acked"] and d["message"]["version"] and d["message"]["git_SHA"]
        assert d["message"]["uptime_seconds"] >= 0
    r = one_shot(metas, "server_stat -t replica-server", home)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert sorted(doc["details"]) == sorted(replicas)
    for d in doc["details"].values():
        figures = dict(item.split("=") for item in d["message"].split(", "))
        assert int(figures["serving_replica_count"]) >= 0 and "put_qps" in figures


def test_remote_command_bad_input(zk_cluster: ZkCluster, metas: str, home: Path) -> None:
    """Unknown commands are answered by every server; an address nobody serves is reported
    unacked; bad flags are refused by the shell; the servers go on serving."""
    dead = f"127.0.0.1:{free_port()}"
    target = zk_cluster.meta_list[1]
    r = one_shot(
        metas,
        f"remote_command no-such; remote_command -l {target},{dead} server_info; "
        "remote_command -t proxy help",
        home,
    )
    assert r.returncode == 1  # the last command's flags are refused
    assert "invalid node_type, should be in [all, meta-server, replica-server]" in r.stderr
    decoder = json.JSONDecoder()
    unknown, end = decoder.raw_decode(r.stdout)
    listed = json.loads(r.stdout[end:])
    assert unknown["succeed_count"] == 4
    assert {d["message"] for d in unknown["details"].values()} == {"unknown command 'no-such'"}
    assert listed["details"][dead] == {
        "acked": False,
        "message": "ERR_NETWORK_FAILURE",
        "role": "user-specified",
    }
    assert listed["details"][target]["message"]["version"]
    r = one_shot(metas, "server_info -t meta-server", home)
    assert json.loads(r.stdout)["succeed_count"] == 2


def test_meta_level_round_trip(zk_cluster: ZkCluster, metas: str, home: Path) -> None:
    name = _name()
    try:
        r = one_shot(
            metas, f"set_meta_level stopped; get_meta_level; create {name} -p 1 -r 1", home
        )
        assert r.returncode == 1
        assert "control meta level ok, the old level is fl_steady" in r.stdout
        assert "current meta level is fl_stopped" in r.stdout
        assert "error = ERR_STATE_FREEZED: the meta level is stopped" in r.stderr
    finally:
        with Admin(zk_cluster.meta_list) as admin:
            admin.set_meta_level("steady")
    r = one_shot(metas, "get_meta_level", home)
    assert r.stdout == "current meta level is fl_steady\n"


def test_bad_commands_fail_clearly_and_the_rest_run(metas: str, home: Path) -> None:
    r = one_shot(
        metas,
        "get_app_envs; create x -p 0; app no_such_table; drop no_such_table; recall 999999; "
        "nodes -s dead; ls --bogus; rename a b; get_meta_level",
        home,
    )
    assert r.returncode == 1
    errors = [line for line in r.stderr.splitlines() if line.startswith("ERROR: ")]
    assert errors == [
        "ERROR: No app is using now",
        "ERROR: partition_count should >= 1",
        "ERROR: query app no_such_table failed, error = ERR_OBJECT_NOT_FOUND: "
        "no available table of that name",
        "ERROR: drop app no_such_table failed, error = ERR_APP_NOT_EXIST",
        "ERROR: recall app 999999 failed, error = ERR_APP_NOT_EXIST: "
        "no dropped table of that id, or its hold expired",
        "ERROR: parse dead as node_status::type failed",
        "ERROR: option --bogus not recognized",
        "ERROR: rename app failed, old_app_name(a), new_app_name(b), failed: "
        "ERR_APP_NOT_EXIST, ERROR: app(a) not exist!",
    ]
    assert r.stdout == "current meta level is fl_steady\n"


def test_replica_servers_answer_query_disk_info(zk_cluster: ZkCluster, metas: str) -> None:
    """RPC_QUERY_DISK_INFO (admin-cli disk-capacity / disk-replica) on each replica server:
    its data directory's filesystem, and between them every replica of a new table."""
    name = _name()
    with Admin(zk_cluster.meta_list) as admin, Client(zk_cluster.meta_list) as client:
        admin.create_table(name, partition_count=4, replica_count=2)
        app_id = client.route(name).app_id

        def answers() -> list[a.QueryDiskInfoResponse] | None:
            got = []
            for i in (1, 2):
                resp = admin.query_disk_info(zk_cluster.replica_address(f"replica{i}"), name)
                got.append(resp)
            disks = [r.disk_infos[0] for r in got]
            primaries = sum(len(d.holding_primary_replicas.get(app_id, [])) for d in disks)
            secondaries = sum(len(d.holding_secondary_replicas.get(app_id, [])) for d in disks)
            return got if (primaries, secondaries) == (4, 4) else None

        deadline = time.monotonic() + WAIT_S
        got = answers()
        while got is None and time.monotonic() < deadline:
            time.sleep(0.2)
            got = answers()
        assert got is not None, "every partition with a primary and a secondary"
        for i, resp in enumerate(got, 1):
            (disk,) = resp.disk_infos
            data_dir = zk_cluster.root / f"replica{i}"
            assert disk.full_dir == str(data_dir) and disk.tag == "default"
            capacity, available = disk_usage_mb(data_dir)
            assert disk.disk_capacity_mb == resp.total_capacity_mb == capacity
            assert 0 < resp.total_available_mb <= capacity
            assert abs(resp.total_available_mb - available) <= 64  # the disk moves meanwhile
            # only the asked table, and each partition once per server
            assert set(disk.holding_primary_replicas) <= {app_id}
            primaries = disk.holding_primary_replicas.get(app_id, [])
            held = primaries + disk.holding_secondary_replicas.get(app_id, [])
            assert len(held) == len(set(held)) == 4
        with pytest.raises(PegasusError) as e:
            admin.query_disk_info(zk_cluster.replica_address("replica1"), "no_such_table")
        assert e.value.code.name == "ERR_OBJECT_NOT_FOUND"
        admin.drop_table(name)


def _partition_samples(address: str, name: str, app_id: int) -> dict[int, float]:
    """Samples ``name`` of table ``app_id``'s partitions on the /metrics page at
    ``address``, by partition index."""
    status, text = http_get(address, "/metrics")
    assert status == 200, (address, status)
    return {
        int(s.labels["partition_id"]): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == name and s.labels.get("table_id") == str(app_id)
    }


def test_app_stat_and_app_disk(zk_cluster: ZkCluster, metas: str, home: Path) -> None:
    """The per-partition counters count every put and get once, at the primary that served
    it; app_stat shows puts per second while puts run and none of the table's gets;
    app_disk shows every replica's SST figures as the servers report them."""
    name = _name()
    replicas = [zk_cluster.replica_address(f"replica{i}") for i in (1, 2)]
    with Admin(zk_cluster.meta_list) as admin, Client(zk_cluster.meta_list) as client:
        admin.create_table(name, partition_count=4, replica_count=2)
        eventually("two members per partition", lambda: fully_replicated(client, name, 2))
        t = client.open_table(name)
        app_id = client.route(name).app_id
        for i in range(40):
            t.set(b"h%d" % i, b"s", b"v")
        for i in range(10):
            assert t.get(b"h%d" % i, b"s") == b"v"

        def served(op: str) -> float:
            return sum(
                sum(_partition_samples(r, f"replica_{op}_requests_total", app_id).values())
                for r in replicas
            )

        assert (served("put"), served("get"), served("remove")) == (40, 10, 0)

        stop = threading.Event()

        def load() -> None:
            i = 0
            while not stop.is_set():
                t.set(b"load%d" % (i % 50), b"s", b"v")
                i += 1

        loader = threading.Thread(target=load)
        loader.start()
        try:
            per_partition = one_shot(metas, f"app_stat -a {name} -i 1000", home)
            tables = one_shot(metas, "app_stat -q -i 500", home)
        finally:
            stop.set()
            loader.join()
        assert per_partition.returncode == 0, per_partition.stderr
        rows = _rows(per_partition.stdout, "app_stat")
        head = rows[0]
        assert head[:5] == ["pidx", "GET", "MGET", "BGET", "PUT"]
        assert head[-4:] == ["file_mb", "file_num", "mem_tbl_mb", "mem_idx_mb"]
        by_row = {r[0]: dict(zip(head, r, strict=True)) for r in rows[1:]}
        assert set(by_row) == {"0", "1", "2", "3", "(total:4)"}
        total = by_row["(total:4)"]
        assert float(total["PUT"]) > 0 and float(total["GET"]) == 0.0, total
        assert float(total["mem_tbl_mb"]) > 0, total
        assert sum(float(by_row[str(i)]["PUT"]) for i in range(4)) == pytest.approx(
            float(total["PUT"]), abs=0.01
        )

        assert tables.returncode == 0, tables.stderr
        rows = _rows(tables.stdout, "app_stat")
        columns = "app_name app_id pcount GET MGET BGET PUT MPUT DEL MDEL INCR CAS CAM SCAN"
        assert rows[0] == columns.split()
        ours = next(r for r in rows if r[0] == name)
        assert ours[1:3] == [str(app_id), "4"] and float(ours[6]) > 0, ours

        disk = one_shot(metas, f"app_disk {name} -d", home)
        assert disk.returncode == 0, disk.stderr
        result = {r[0]: r[-1] for r in _rows(disk.stdout, "result")}
        assert result["partitions"] == "0/4" and result["replicas"] == "0/8", disk.stdout
        details = _rows(disk.stdout, "details")[1:]
        assert [d[0] for d in details] == ["0", "1", "2", "3"]
        primary_mb = 0.0
        for d in details:
            (index, _ballot, count, primary, secondaries) = d
            assert count == "2/2"
            address, figures = primary.split("(")
            mb, files = figures.rstrip(")").split(",")
            assert address in replicas and files.startswith("#"), d
            sst = _partition_samples(address, "replica_rdb_total_sst_files", app_id)
            assert float(files[1:]) == sst[int(index)], d
            primary_mb += float(mb)
            assert secondaries.startswith("[") and "(" in secondaries, d
        used = float(result["disk_used_for_primary_replicas(MB)"].removeprefix(":"))
        assert used == pytest.approx(primary_mb, abs=0.01)

        missing = one_shot(metas, "app_disk no_such_table", home)
        assert missing.returncode == 1 and "ERR_OBJECT_NOT_FOUND" in missing.stderr
        admin.drop_table(name)


def test_rename_keeps_the_data_under_the_new_name(
    zk_cluster: ZkCluster, metas: str, home: Path
) -> None:
    """rename: the data reads back under the new name, the old name is gone, the replica
    servers hold the partitions under the new name, and names taken or missing are
    refused in upstream's words."""
    name, new, other = _name(), _name(), _name()
    with Admin(zk_cluster.meta_list) as admin, Client(zk_cluster.meta_list) as client:
        admin.create_table(name, partition_count=4, replica_count=2)
        admin.create_table(other, partition_count=4, replica_count=1)
        eventually("two members per partition", lambda: fully_replicated(client, name, 2))
        t = client.open_table(name)
        for i in range(20):
            t.set(b"r%d" % i, b"s", b"%d" % i)

        done = one_shot(metas, f"rename {name} {new}", home)
        assert done.returncode == 0, done.stderr
        assert done.stdout == f"rename app ok, old_app_name({name}), new_app_name({new})\n"
        renamed = client.open_table(new)
        assert [renamed.get(b"r%d" % i, b"s") for i in range(20)] == [b"%d" % i for i in range(20)]
        renamed.set(b"after", b"s", b"x")
        assert renamed.get(b"after", b"s") == b"x"
        with Client(zk_cluster.meta_list) as fresh, pytest.raises(PegasusError) as e:
            fresh.open_table(name)  # ``client`` holds the table open under its old name
        assert e.value.code.name == "ERR_OBJECT_NOT_FOUND"

        def held_under_new_name() -> bool:
            held = 0
            for i in (1, 2):
                (disk,) = admin.query_disk_info(
                    zk_cluster.replica_address(f"replica{i}"), new
                ).disk_infos
                for replicas in (disk.holding_primary_replicas, disk.holding_secondary_replicas):
                    held += sum(len(v) for v in replicas.values())
            return held == 8

        eventually("the replica servers know the new name", held_under_new_name)

        refused = {
            f"rename {new} {other}": f"ERR_INVALID_PARAMETERS, ERROR: app({other}) already exist!",
            f"rename {name} x_{name}": f"ERR_APP_NOT_EXIST, ERROR: app({name}) not exist!",
        }
        for command, reason in refused.items():
            r = one_shot(metas, command, home)
            assert r.returncode == 1, command
            assert reason in r.stderr, (command, r.stderr)
        assert {t.name for t in admin.list_tables()} >= {new, other}
        admin.drop_table(new)
        admin.drop_table(other)


def test_replica_data_version_page(zk_cluster: ZkCluster) -> None:
    """GET /replica/data_version?app_id=N on the replica port (admin-cli data-version)."""
    name = _name()
    with Admin(zk_cluster.meta_list) as admin, Client(zk_cluster.meta_list) as client:
        admin.create_table(name, partition_count=4, replica_count=2)
        app_id = client.route(name).app_id
        node = zk_cluster.replica_address("replica1")
        want = {str(i): {"data_version": "1"} for i in range(4)}
        deadline = time.monotonic() + WAIT_S
        status, body = http_get(node, f"/replica/data_version?app_id={app_id}")
        while (status != 200 or json.loads(body) != want) and time.monotonic() < deadline:
            time.sleep(0.2)
            status, body = http_get(node, f"/replica/data_version?app_id={app_id}")
        assert (status, json.loads(body)) == (200, want)
        assert http_get(node, "/replica/data_version") == (400, "app_id should not be empty")
        assert http_get(node, "/replica/data_version?app_id=x") == (400, "invalid app_id=x")
        assert http_get(node, "/replica/data_version?app_id=9999") == (
            404,
            "app_id=9999 not found",
        )
        many = "&".join(f"k{i}=v" for i in range(40))
        assert http_get(node, f"/replica/data_version?{many}")[0] == 400
        assert http_get(node, "/no/such/page")[0] == 404
        # the RPC port goes on serving RPCs
        assert admin.query_disk_info(node, name).err == "ERR_OK"
        admin.drop_table(name)


def _flag(address: str, name: str) -> dict[str, str]:
    status, body = http_get(address, f"/config?name={name}")
    assert status == 200, body
    flag: dict[str, str] = json.loads(body)
    return flag


def _set_flag(address: str, name: str, value: str) -> str:
    status, body = http_get(address, f"/updateConfig?{name}={value}")
    assert status == 200, body
    return str(json.loads(body)["update_status"])


def test_meta_flags_pages_change_the_running_meta(zk_cluster: ZkCluster) -> None:
    """/configs, /config and /updateConfig on the meta port (admin-cli server-config meta):
    a replica count outside the bounds set through the page is refused at create."""
    metas = zk_cluster.meta_list
    status, body = http_get(metas[0], "/configs")
    assert status == 200
    flags = json.loads(body)
    assert flags["max_allowed_replica_count"]["value"] == "5"
    assert flags["max_allowed_replica_count"]["tags"] == "flag_tag::FT_MUTABLE"
    assert flags["hosts_list"] == {
        "name": "hosts_list",
        "section": "zookeeper",
        "type": "FV_STRING",
        "tags": "",
        "description": "ZooKeeper hosts list",
        "value": zk_cluster.zookeeper,
    }
    name = _name()
    with Admin(metas) as admin:
        try:
            for meta in metas:  # whichever leads
                assert _set_flag(meta, "min_allowed_replica_count", "2") == "ERR_OK"
            with pytest.raises(PegasusError) as refused:
                admin.create_table(name, partition_count=4, replica_count=1)
            assert refused.value.code.name == "ERR_INVALID_PARAMETERS"
            # min above max: refused as a whole, nothing changes
            status_text = _set_flag(metas[0], "min_allowed_replica_count", "6")
            assert status_text.startswith("ERR_INVALID_PARAMETERS: need 1 <= min replica count")
            assert _flag(metas[0], "min_allowed_replica_count")["value"] == "2"
            assert _set_flag(metas[0], "fd_lease_seconds", "9") == (
                "ERR_INVALID_PARAMETERS: fd_lease_seconds is not mutable"
            )
        finally:
            for meta in metas:
                assert _set_flag(meta, "min_allowed_replica_count", "1") == "ERR_OK"
        admin.create_table(name, partition_count=4, replica_count=1)
        admin.drop_table(name)


def test_replica_flags_pages_change_the_running_server(zk_cluster: ZkCluster) -> None:
    """/updateConfig on a replica port: a shorter checkpoint_interval_seconds makes the
    server take local checkpoints of a table being written that often."""
    node = zk_cluster.replica_address("replica1")
    data_dir = zk_cluster.root / "replica1"
    assert _flag(node, "checkpoint_interval_seconds")["value"] == "100.00"
    assert _flag(node, "staleness_for_commit") == {
        "name": "staleness_for_commit",
        "section": "replication",
        "type": "FV_INT32",
        "tags": "",
        "description": "mutations a primary may hold prepared but uncommitted",
        "value": "20",
    }
    assert _set_flag(node, "gc_interval_ms", "0") == (
        "ERR_INVALID_PARAMETERS: value validation failed"
    )
    assert _set_flag(node, "gc_interval_ms", "x") == "ERR_INVALID_PARAMETERS: x is invalid"
    assert _set_flag(node, "config_sync_interval_ms", "2500") == "ERR_OK"
    assert _flag(node, "config_sync_interval_ms")["value"] == "2500"
    name = _name()
    with Admin(zk_cluster.meta_list) as admin, Client(zk_cluster.meta_list) as client:
        admin.create_table(name, partition_count=1, replica_count=2)
        table = client.open_table(name)
        app_id = client.route(name).app_id
        dirs = PartitionDirs(data_dir, app_id, 0)
        table.set(b"h", b"s0", b"v")
        # a new partition checkpoints at its first write; later ones wait 100 s ...
        deadline = time.monotonic() + WAIT_S
        while latest_checkpoint_decree(dirs) == 0 and time.monotonic() < deadline:
            time.sleep(0.2)
        first = latest_checkpoint_decree(dirs)
        assert first > 0
        try:
            assert _set_flag(node, "checkpoint_interval_seconds", "0.5") == "ERR_OK"
            # ... until the interval is shortened
            for i in range(1, 20):
                table.set(b"h", f"s{i}".encode(), b"v")
            deadline = time.monotonic() + WAIT_S
            while latest_checkpoint_decree(dirs) <= first and time.monotonic() < deadline:
                time.sleep(0.2)
            assert latest_checkpoint_decree(dirs) > first
        finally:
            assert _set_flag(node, "checkpoint_interval_seconds", "100") == "ERR_OK"
            assert _set_flag(node, "config_sync_interval_ms", "3000") == "ERR_OK"
        admin.drop_table(name)
