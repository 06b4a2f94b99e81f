"""Remote commands (RPC_CLI_CLI_CALL) against real servers: the static meta and replica
server of the session's cluster, through the admin client, raw sockets and the shell.
The ZooKeeper-backed metas and replica servers answer them in
tests/integration/test_shell_meta.py."""

from __future__ import annotations

import json
import struct
import time
from importlib import metadata
from pathlib import Path

import pytest

from pegasus_log.client.errors import PegasusError
from pegasus_log.client.sync import Admin, Client
from pegasus_log.observability.process import build_info
from pegasus_log.rpc.frame import encode_request, read_result
from pegasus_log.rpc.remote_command import CLI_CLI_CALL, RemoteCommand
from pegasus_log.rpc.thrift import MessageType, write_message_begin
from tests.cluster import StaticCluster, free_port
from tests.integration.helpers import RawConn, http_get
from tests.integration.shell_driver import one_shot

pytestmark = pytest.mark.integration


def _stat(line: str) -> dict[str, int]:
    return {k: int(v) for k, v in (item.split("=") for item in line.split(", "))}


def _call_frame(args: bytes, seqid: int) -> bytes:
    """An RPC_CLI_CLI_CALL request whose args struct is ``args`` as given."""
    body = bytearray()
    write_message_begin(body, CLI_CLI_CALL.name, MessageType.CALL, seqid)
    body += args
    header = struct.pack(">4sIIIIIiiIiQ", b"THFT", 0, 48, 0, len(body), 0, 0, 0, 0, 0, 0)
    return header + bytes(body)


def test_server_info_from_both_servers(cluster: StaticCluster) -> None:
    before = time.time()
    with Admin([cluster.meta]) as admin:
        for node in (cluster.meta, cluster.replica):
            info = json.loads(admin.remote_command(node, "server-info"))
            assert set(info) == {"version", "build_type", "git_SHA", "start_time", "uptime_seconds"}
            assert info["version"] == metadata.version("pegasus-log")
            assert info["git_SHA"] == build_info().git_sha
            started = time.mktime(time.strptime(info["start_time"], "%Y-%m-%d %H:%M:%S"))
            # started before this test, and up since then
            assert started <= before + 1
            assert abs(before - started - info["uptime_seconds"]) <= 3


def test_server_stat_shows_live_figures(cluster: StaticCluster) -> None:
    with Client([cluster.meta]) as client:
        table = client.open_table("temp")
        for i in range(100):
            table.set(f"stat-{i}".encode(), b"s", b"v")
    time.sleep(1.2)  # the rates count whole seconds that are over
    with Admin([cluster.meta]) as admin:
        replica = _stat(admin.remote_command(cluster.replica, "server-stat"))
        meta = _stat(admin.remote_command(cluster.meta, "server-stat"))
    # 100 puts within the last 10 s: at least 10 per second on average
    assert replica["put_qps"] >= 10 and replica["put_p99(ns)"] > 0
    assert replica["serving_replica_count"] == 12  # temp:8 and other:4
    assert replica["learning_count"] == 0
    assert replica["memused_res(MB)"] > 0 and replica["disk_capacity_total(MB)"] > 0
    assert set(meta) == {"memused_virt(MB)", "memused_res(MB)"}


def test_help_and_unknown_commands(cluster: StaticCluster) -> None:
    with Admin([cluster.meta]) as admin:
        for node in (cluster.meta, cluster.replica):
            assert admin.remote_command(node, "no-such", ["x"]) == "unknown command 'no-such'"
            listing = admin.remote_command(node, "help")
            assert "server-info - Query server information" in listing
            assert "server-stat - Query selected perf counters" in listing
            assert admin.remote_command(node, "H", ["nope"]) == "cannot find command 'nope'"


def test_an_address_that_does_not_answer(cluster: StaticCluster) -> None:
    dead = f"127.0.0.1:{free_port()}"
    with Admin([cluster.meta]) as admin:
        with pytest.raises(PegasusError, match="ERR_NETWORK_FAILURE"):
            admin.remote_command(dead, "server-info")
        results = admin.remote_commands([cluster.replica, dead], "server-info")
    assert results[0][0] and json.loads(results[0][1])["version"]
    assert results[1] == (False, "ERR_NETWORK_FAILURE")


@pytest.mark.parametrize(
    "args",
    [
        bytes([12, 0, 1, 11, 0, 1]) + struct.pack(">i", 2) + b"\xff\xfe" + b"\0\0",  # not utf-8
        bytes([11, 0, 1]) + struct.pack(">i", 2) + b"ab" + b"\0",  # field 1 is a string
        bytes([12, 0, 1, 15, 0, 2, 11]) + struct.pack(">i", 1 << 28) + b"\0\0",  # huge list
        bytes([12, 0, 1, 11, 0, 1]) + struct.pack(">i", -5) + b"\0\0",  # negative length
        bytes([12, 0, 1, 11]),  # truncated
        b"\0",  # no command at all
    ],
    ids=["not-utf8", "wrong-type", "absurd-list", "negative-length", "truncated", "missing"],
)
def test_malformed_requests_get_invalid_data_and_the_server_goes_on(
    cluster: StaticCluster, args: bytes
) -> None:
    for node in (cluster.meta, cluster.replica):
        conn = RawConn(node)
        conn.send(_call_frame(args, seqid=11))
        reply = conn.reply()
        assert (reply.error_name, reply.seqid) == ("ERR_INVALID_DATA", 11)
        # the same connection is still served
        conn.send(encode_request(spec=CLI_CLI_CALL, seqid=12, arg=RemoteCommand("server-info")))
        reply = conn.reply()
        assert (reply.error_name, reply.seqid) == ("ERR_OK", 12)
        assert "git_SHA" in json.loads(read_result(CLI_CLI_CALL, reply.reader))
        conn.close()
    with Client([cluster.meta]) as client:
        table = client.open_table("temp")
        table.set(b"after-bad-command", b"s", b"v")
        assert table.get(b"after-bad-command", b"s") == b"v"


def test_shell_commands_on_a_static_cluster(cluster: StaticCluster, tmp_path: Path) -> None:
    r = one_shot(
        cluster.meta,
        f"server_info; server_stat -l {cluster.replica}; remote_command -t all no-such a b",
        tmp_path,
    )
    assert r.returncode == 0, r.stderr
    # a static meta lists no replica servers: the shell says so and asks the meta alone
    assert "replica servers unknown" in r.stderr and "name them with -l" in r.stderr
    decoder = json.JSONDecoder()
    docs, rest = [], r.stdout.strip()
    while rest:
        doc, end = decoder.raw_decode(rest)
        docs.append(doc)
        rest = rest[end:].strip()
    info, stat, unknown = docs
    assert info["details"][cluster.meta]["role"] == "meta-server"
    assert info["details"][cluster.meta]["message"]["git_SHA"] == build_info().git_sha
    assert (info["succeed_count"], info["failed_count"]) == (1, 0)
    replica = stat["details"][cluster.replica]
    assert replica["role"] == "user-specified" and replica["acked"]
    assert _stat(replica["message"])["serving_replica_count"] == 12
    assert unknown["command"] == "no-such a b"
    assert unknown["details"][cluster.meta]["message"] == "unknown command 'no-such'"


def test_static_replica_answers_disk_info_and_data_version(cluster: StaticCluster) -> None:
    """The single-node replica server serves what admin-cli's disk-capacity, disk-replica
    and data-version ask, as the ZooKeeper-backed one does (test_shell_meta.py)."""
    with Admin([cluster.meta]) as admin, Client([cluster.meta]) as client:
        app_id = client.route("temp").app_id
        resp = admin.query_disk_info(cluster.replica, "temp")
        (disk,) = resp.disk_infos
        assert disk.full_dir == str(cluster.root / "replica") and disk.tag == "default"
        assert 0 < resp.total_available_mb <= resp.total_capacity_mb
        # the static server is every partition's primary
        assert sorted(g.partition_index for g in disk.holding_primary_replicas[app_id]) == list(
            range(8)
        )
        assert disk.holding_secondary_replicas == {}
        with pytest.raises(PegasusError) as e:
            admin.query_disk_info(cluster.replica, "no_such_table")
        assert e.value.code.name == "ERR_OBJECT_NOT_FOUND"
    status, page = http_get(cluster.replica, f"/replica/data_version?app_id={app_id}")
    assert status == 200
    assert json.loads(page) == {str(i): {"data_version": "1"} for i in range(8)}


def test_shell_flush_log(cluster: StaticCluster, tmp_path: Path) -> None:
    """flush_log is upstream's remote command flush-log, sent to the servers named."""
    r = one_shot(cluster.meta, f"flush_log -l {cluster.meta},{cluster.replica}", tmp_path)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["command"] == "flush-log "  # command, a space, its arguments: as upstream
    assert {d["message"] for d in doc["details"].values()} == {"Flush done."}
    assert (doc["succeed_count"], doc["failed_count"]) == (2, 0)
