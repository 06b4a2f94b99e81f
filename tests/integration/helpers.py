"""What the integration and chaos tests share: waiting for a cluster to get somewhere,
finding a replica server by address, the partitions of a replicated table, raw requests
to one server, and its HTTP pages."""

from __future__ import annotations

import http.client
import socket
import time
import uuid
from collections.abc import Callable
from typing import TypeVar

from prometheus_client.parser import text_string_to_metric_families

from pegasus_log.client.errors import PegasusError
from pegasus_log.client.sync import Admin, Client
from pegasus_log.rpc import messages as m
from pegasus_log.rpc.frame import FrameLimits, Reply, ReplyFramer, encode_request
from pegasus_log.storage.keyhash import partition_hash
from pegasus_log.storage.schema import encode_key
from tests.cluster import ZkCluster

T = TypeVar("T")

# Liveness bounds for waiting, not speed claims: failover figures come from
# bench/failover_bench.py.
WAIT_S = 30.0


def eventually(what: str, check: Callable[[], T | None], timeout_s: float = WAIT_S) -> T:
    """``check()``'s first result that is neither None nor False, asked every 0.1 s; a
    Pegasus or socket error counts as not yet."""
    deadline = time.monotonic() + timeout_s
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            got = check()
            if got is not None and got is not False:
                return got
        except (PegasusError, OSError) as e:
            last = e
        time.sleep(0.1)
    raise AssertionError(f"{what}: not within {timeout_s} s (last error: {last})")


def eventually_done(what: str, action: Callable[[], object], timeout_s: float = WAIT_S) -> None:
    """``action`` (a write, say) sent again until it returns without a Pegasus or socket
    error."""

    def attempt() -> bool:
        action()
        return True

    eventually(what, attempt, timeout_s)


def server_of(cluster: ZkCluster, address: str) -> str:
    """The name (``replica<N>``) of the cluster's replica server at ``address``."""
    for i in range(cluster.replicas):
        name = f"replica{i + 1}"
        if cluster.replica_address(name) == address:
            return name
    raise AssertionError(f"no replica server at {address}")


def fully_replicated(client: Client, table: str, members: int = 3) -> bool:
    """Every partition of ``table`` has exactly ``members`` members."""
    route = client.route(table)
    return all(len(route.members(i)) == members for i in range(route.partition_count))


def member_everywhere(client: Client, table: str, address: str) -> bool:
    """Every partition of ``table`` has three members, ``address`` among them."""
    route = client.route(table)
    return all(
        address in map(str, route.members(i)) and len(route.members(i)) == 3
        for i in range(route.partition_count)
    )


def keys_of_partition(index: int, count: int, partitions: int) -> list[bytes]:
    """``count`` keys (hash key, sort key ``s``) of partition ``index`` of ``partitions``."""
    keys = (b"key-%d" % i for i in range(100000))
    return [k for k in keys if partition_hash(k, b"s") % partitions == index][:count]


def raw_request(
    address: str,
    spec: m.RpcSpec,
    arg: object,
    key: bytes,
    app_id: int,
    partitions: int,
    *,
    conn: socket.socket | None = None,
    backup_request: bool = False,
) -> socket.socket:
    """A connection to ``address`` (``conn`` if given) that has sent one request for
    ``key`` of a table of ``partitions`` (a backup request if said); its reply is left
    unread."""
    host, port = address.rsplit(":", 1)
    h = partition_hash(key, b"s")
    frame = encode_request(
        spec=spec,
        seqid=1,
        arg=arg,
        app_id=app_id,
        partition_index=h % partitions,
        partition_hash=h,
        backup_request=backup_request,
    )
    s = conn or socket.create_connection((host, int(port)), timeout=10)
    s.sendall(frame)
    return s


def raw_reply(s: socket.socket) -> Reply:
    """The first reply on ``s``, which is closed after it."""
    framer = ReplyFramer(FrameLimits())
    replies: list[Reply] = []
    with s:
        while not replies:
            chunk = s.recv(65536)
            assert chunk, "connection closed without a reply"
            replies = framer.feed(chunk)
    return replies[0]


def assert_refuses_write(address: str, key: bytes, app_id: int, partitions: int) -> None:
    """A put of ``key`` sent straight to the server at ``address`` is not acknowledged."""
    put = m.UpdateRequest(key=encode_key(key, b"s"), value=b"x")
    write = raw_reply(raw_request(address, m.RRDB_PUT, put, key, app_id, partitions))
    assert write.error_name != "ERR_OK", f"{address}, no longer primary, acknowledged a write"


def http_get(address: str, target: str) -> tuple[int, str]:
    """GET ``target`` from the HTTP port at ``address``: (status, body)."""
    host, port = address.split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        conn.request("GET", target)
        resp = conn.getresponse()
        return resp.status, resp.read().decode()
    finally:
        conn.close()


def labelled_total(address: str, name: str, **labels: str) -> float:
    """The sum of the samples named ``name`` at ``address`` whose labels include
    ``labels``."""
    status, text = http_get(address, "/metrics")
    assert status == 200, (address, status)
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name and labels.items() <= sample.labels.items()
    )


def metrics(address: str) -> dict[str, float]:
    """The unlabelled samples of the Prometheus page at ``address``."""
    status, text = http_get(address, "/metrics")
    assert status == 200, (address, status)
    out: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if not sample.labels:
                out[sample.name] = sample.value
    return out


# Partitions of the tables the replication, linearizability and chaos tests make.
REPLICATED_PARTITIONS = 4


def new_replicated_table(cluster: ZkCluster) -> str:
    """A new table of REPLICATED_PARTITIONS x 3 replicas, once every partition has its
    three members (ballot 1 assigns the primary, 2 and 3 add the two secondaries)."""
    name = "rep_" + uuid.uuid4().hex[:8]
    with Admin(cluster.meta_list) as admin:
        admin.create_table(name, partition_count=REPLICATED_PARTITIONS, replica_count=3)
    with Client(cluster.meta_list) as client:
        eventually("every partition has three members", lambda: fully_replicated(client, name))
    return name


class RawConn:
    """A raw connection to a server: frames sent as they are, replies framed."""

    def __init__(self, address: str) -> None:
        host, port = address.rsplit(":", 1)
        self.sock = socket.create_connection((host, int(port)), timeout=5)
        self.framer = ReplyFramer(FrameLimits())
        self.replies: list[Reply] = []

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def reply(self) -> Reply:
        while not self.replies:
            data = self.sock.recv(65536)
            if not data:
                raise ConnectionError("closed by server")
            self.replies += self.framer.feed(data)
        return self.replies.pop(0)

    def closed_by_server(self) -> bool:
        try:
            while True:
                data = self.sock.recv(65536)
                if not data:
                    return True
        except (ConnectionResetError, TimeoutError):
            return True

    def close(self) -> None:
        self.sock.close()
