"""The table and cluster commands of a session against an in-memory twin of the admin
client and the routing tables (the real meta is in tests/integration/test_shell_meta.py)."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator, Sequence
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from pegasus_log.client.admin import TableInfo
from pegasus_log.client.errors import PegasusError
from pegasus_log.client.routing import Route
from pegasus_log.observability.commands import CommandManager
from pegasus_log.observability.metrics import ServerMetrics
from pegasus_log.rpc.error_code import ErrorCode
from pegasus_log.rpc.thrift import Gpid, RpcAddress
from pegasus_log.shell.shell.flags import CommandError
from pegasus_log.shell.shell.meta_commands import APP_READY_POLL_S, APP_READY_WAIT_S, MetaCommands
from pegasus_log.shell.shell.reports import PartitionView, TableRouting
from pegasus_log.shell.shell.session import Session

NODES = ["127.0.0.1:35001", "127.0.0.1:35002"]
METAS = ["127.0.0.1:34601", "127.0.0.1:34602"]
SERVER_INFO = {
    n: json.dumps({"version": "0.1.0", "git_SHA": f"sha-{i}"}) for i, n in enumerate(METAS + NODES)
}


def _server_info(node: str, _arguments: list[str]) -> str:
    return SERVER_INFO[node]


class FakeAdmin:
    """What pegasus_log.client.sync.Admin answers, kept in memory."""

    def __init__(self) -> None:
        self.tables: dict[int, TableInfo] = {}
        self.level = "fl_steady"
        self.nodes = [(NODES[0], True), (NODES[1], False)]
        self.down = {NODES[1]}
        self.remote_calls: list[tuple[list[str], str, list[str]]] = []
        self.idempotent: dict[str, bool] = {}

    def _available(self, name: str) -> TableInfo:
        for t in self.tables.values():
            if t.name == name and t.status == "AS_AVAILABLE":
                return t
        raise PegasusError("app envs", code=ErrorCode.ERR_APP_NOT_EXIST, detail="no such table")

    def create_table(self, name: str, **kw: Any) -> int:
        if any(t.name == name and t.status == "AS_AVAILABLE" for t in self.tables.values()):
            if kw["success_if_exist"]:
                return self._available(name).app_id
            raise PegasusError("create", code=ErrorCode.ERR_APP_EXIST, detail=name)
        app_id = len(self.tables) + 1
        self.tables[app_id] = TableInfo(
            app_id, name, "AS_AVAILABLE", kw["partition_count"], kw["replica_count"],
            dict(kw["envs"]), 1_700_000_000, 0, 0,
        )  # fmt: skip
        self.idempotent[name] = kw["atomic_idempotent"]
        return app_id

    def propose(self, gpid: Any, config_type: str, target: str, node: str, *, force: bool) -> None:
        self.proposed = (gpid, config_type, target, node, force)
        if not force:
            raise PegasusError("propose", code=ErrorCode.ERR_INVALID_PARAMETERS, detail="1.0")

    def get_atomic_idempotent(self, name: str) -> bool:
        return self.idempotent[self._available(name).name]

    def set_atomic_idempotent(self, name: str, enabled: bool) -> tuple[bool, str]:
        old = self.get_atomic_idempotent(name)
        self.idempotent[name] = enabled
        return (
            old,
            "" if old != enabled else "no need to update atomic_idempotent since it's unchanged",
        )

    def drop_table(self, name: str, *, reserve_seconds: int | None = None) -> None:
        try:
            t = self._available(name)
        except PegasusError:
            raise PegasusError("drop", code=ErrorCode.ERR_APP_NOT_EXIST, detail=name) from None
        hold = 604800 if reserve_seconds is None else reserve_seconds
        self.tables[t.app_id] = replace(
            t, status="AS_DROPPED", drop_second=1_700_000_100, expire_second=1_700_000_100 + hold
        )

    def recall_table(self, app_id: int, new_name: str = "") -> TableInfo:
        t = self.tables.get(app_id)
        if t is None or t.status != "AS_DROPPED":
            raise PegasusError("recall", code=ErrorCode.ERR_APP_NOT_EXIST, detail=str(app_id))
        t = replace(t, name=new_name or t.name, status="AS_AVAILABLE", drop_second=0)
        self.tables[app_id] = t
        return t

    def start_recovery(self, nodes: list[str], **kw: Any) -> tuple[str, str]:
        self.recovered = (nodes, kw)
        if kw["skip_bad_nodes"]:
            return (
                "ERR_OK",
                "WARNING: partition(1.0) only collects 1/3 of replicas, may lost data\n",
            )
        return "ERR_TRY_AGAIN", "ERROR: collect app and replica info from node(x) failed\n"

    def rename_table(self, old_name: str, new_name: str) -> None:
        t = self._available(old_name)
        if any(u.name == new_name and u.status == "AS_AVAILABLE" for u in self.tables.values()):
            raise PegasusError(
                "rename",
                code=ErrorCode.ERR_INVALID_PARAMETERS,
                detail=f"ERROR: app({new_name}) already exist!",
            )
        self.tables[t.app_id] = replace(t, name=new_name)

    def list_tables(self, *, include_dropped: bool = False) -> list[TableInfo]:
        return [t for t in self.tables.values() if include_dropped or t.status == "AS_AVAILABLE"]

    def get_app_envs(self, name: str) -> dict[str, str]:
        return dict(self._available(name).envs)

    def get_max_replica_count(self, name: str) -> int:
        return self._available(name).replica_count

    def set_max_replica_count(self, name: str, count: int) -> tuple[int, str]:
        t = self._available(name)
        if count > 3:
            raise PegasusError(
                "set_replica_count",
                code=ErrorCode.ERR_INVALID_PARAMETERS,
                detail="there are not enough alive replica servers(3) for the requested "
                "replica count(4)",
            )
        self.tables[t.app_id] = replace(t, replica_count=count)
        return t.replica_count, ""

    def set_app_envs(self, name: str, envs: dict[str, str]) -> None:
        if "bogus" in envs:
            raise PegasusError(
                "app envs",
                code=ErrorCode.ERR_INVALID_PARAMETERS,
                detail="unsupported env key 'bogus'",
            )
        t = self._available(name)
        self.tables[t.app_id] = replace(t, envs={**t.envs, **envs})

    def del_app_envs(self, name: str, keys: list[str]) -> None:
        t = self._available(name)
        self.tables[t.app_id] = replace(t, envs={k: v for k, v in t.envs.items() if k not in keys})

    def clear_app_envs(self, name: str, prefix: str = "") -> None:
        t = self._available(name)
        envs = {k: v for k, v in t.envs.items() if not k.startswith(prefix)}
        self.tables[t.app_id] = replace(t, envs=envs)

    def list_nodes(self) -> list[tuple[str, bool]]:
        return list(self.nodes)

    def cluster_info(self) -> dict[str, str]:
        return {"meta_servers": METAS[0], "meta_function_level": self.level}

    def get_meta_level(self) -> str:
        return self.level

    def set_meta_level(self, level: str) -> str:
        old, self.level = self.level, level
        return old

    def remote_commands(
        self, nodes: Sequence[str], command: str, arguments: Sequence[str] = ()
    ) -> list[tuple[bool, str]]:
        """Each live server answers through a real CommandManager with a fixed
        server-info; the others time out."""
        self.remote_calls.append((list(nodes), command, list(arguments)))
        results: list[tuple[bool, str]] = []
        for node in nodes:
            if node in self.down:
                results.append((False, "ERR_TIMEOUT"))
                continue
            manager = CommandManager()
            manager.register(
                ("server-info",), help="info", args="", handler=partial(_server_info, node)
            )
            manager.register(
                ("server-stat",),
                help="stat",
                args="",
                handler=lambda _a: "get_qps=7, put_qps=3, put_p99(ns)=1200000, memused_res(MB)=64",
            )
            results.append((True, manager.run(command, list(arguments))[1]))
        return results


class FakeClient:
    """The parts of ShellClient the table and cluster commands use."""

    def __init__(self) -> None:
        self.metas = list(METAS)
        self.admin = FakeAdmin()
        self.dead_metas: set[str] = set()
        self.polls_until_ready = 0  # routing queries that still show partitions without primary

    def routing(self, name: str) -> TableRouting:
        try:
            t = self.admin._available(name)
        except PegasusError:
            raise PegasusError(
                "query_cfg", code=ErrorCode.ERR_OBJECT_NOT_FOUND, detail=f"table {name!r}"
            ) from None
        waiting = self.polls_until_ready > 0
        self.polls_until_ready -= 1
        return TableRouting(
            t.app_id,
            t.partition_count,
            tuple(
                PartitionView(i, 3, t.replica_count, "" if waiting and i == 0 else NODES[i % 2], ())
                for i in range(t.partition_count)
            ),
        )

    def meta_alive(self, address: str) -> bool:
        return address not in self.dead_metas

    def metrics_pages(self, addresses: Sequence[str]) -> dict[str, tuple[float, str]]:
        """Every live node's /metrics: 3 MiB of memtables and 1 MiB of index blocks over
        two partitions."""
        labels = ["table_id", "partition_id"]
        memtables = [(["1", "0"], float(2 << 20)), (["1", "1"], float(1 << 20))]
        indexes = [(["1", "0"], float(1 << 20))]
        metrics = ServerMetrics("replica")
        metrics.add_gauges(
            lambda: [
                ("replica_rdb_memtable_mem_usage_bytes", "", labels, memtables),
                ("replica_rdb_index_and_filter_blocks_mem_usage_bytes", "", labels, indexes),
            ]
        )
        page = metrics.exposition().decode()
        return {address: (0.0, page) for address in addresses}

    def open_table(self, name: str) -> object:
        self.admin._available(name)
        return object()

    def route(self, name: str) -> Route:
        r = self.routing(name)
        return Route(
            r.app_id,
            r.partition_count,
            tuple(RpcAddress.parse(p.primary) for p in r.partitions),
            tuple(p.ballot for p in r.partitions),
        )

    def close(self) -> None:
        pass


class Run:
    def __init__(self, session: Session, out: io.StringIO, err: io.StringIO) -> None:
        self.session, self._out, self._err = session, out, err

    def __call__(self, line: str) -> tuple[bool, str, str]:
        self._out.seek(0), self._out.truncate()
        self._err.seek(0), self._err.truncate()
        ok = self.session.execute(line)
        return ok, self._out.getvalue(), self._err.getvalue()


@pytest.fixture
def fake() -> FakeClient:
    return FakeClient()


@pytest.fixture
def run(fake: FakeClient, monkeypatch: pytest.MonkeyPatch) -> Iterator[Run]:
    out, err = io.StringIO(), io.StringIO()
    session = Session(["127.0.0.1:1"], out=out, err=err)
    real = session.client
    monkeypatch.setattr(session, "client", fake)
    yield Run(session, out, err)
    real.close()


# ---- tables ----------------------------------------------------------------------------


def test_create_ls_app(run: Run, fake: FakeClient) -> None:
    ok, out, err = run("create t1 -p 2 -r 1 -e default_ttl=60")
    assert (ok, out) == (True, 'create app "t1" succeed\n')
    assert err == "create app t1 succeed, waiting for app ready\nt1 is ready now: (2/2)\n"
    assert fake.admin.tables[1].envs == {"default_ttl": "60"}
    ok, out, _ = run("ls")
    assert ok and out.splitlines()[2].split()[:3] == ["1", "AVAILABLE", "t1"]
    assert "total_app_count  : 1" in out
    ok, out, _ = run("app t1 -d -j")
    doc = json.loads(out)
    assert doc["general"]["partition_count"] == "2"
    assert doc["replicas"]["1"]["primary"] == NODES[1]
    assert doc["healthy"]["fully_healthy_partition_count"] == "2"


def test_create_an_existing_table(run: Run) -> None:
    assert run("create t")[0]
    assert run("create t")[0]  # succeeds unless -f, as upstream
    ok, out, err = run("create t -f")
    assert (ok, out) == (False, "")
    assert err == 'ERROR: create app "t" failed, error = ERR_APP_EXIST\n'


def test_propose_prints_the_metas_answer(run: Run, fake: FakeClient) -> None:
    line = f"propose -g 1.0 -p ASSIGN_PRIMARY -t {NODES[0]} -n {NODES[0]}"
    assert run(line + " -f") == (True, "send proposal response: ERR_OK\n", "")
    assert fake.admin.proposed == (Gpid(1, 0), "CT_ASSIGN_PRIMARY", NODES[0], NODES[0], True)
    assert run(line) == (True, "send proposal response: ERR_INVALID_PARAMETERS\n", "")
    ok, _, err = run("propose -g 1.0 -p ASSIGN_PRIMARY")
    assert not ok and "need set target by -t" in err


def test_atomic_idempotent_at_creation_and_after(run: Run) -> None:
    assert run("create t -i")[0] and run("create u")[0]
    assert run("get_atomic_idempotent t")[1] == "[atomic_idempotent]\natomic_idempotent  : true\n"
    assert json.loads(run("get_atomic_idempotent u -j")[1]) == {
        "atomic_idempotent": {"atomic_idempotent": "false"}
    }
    assert run("enable_atomic_idempotent u") == (
        True,
        "set_atomic_idempotent from false to true: succeed\n",
        "",
    )
    assert run("get_atomic_idempotent u")[1].endswith(": true\n")
    ok, out, _ = run("enable_atomic_idempotent u")
    assert ok and out == (
        "set_atomic_idempotent from true to true: "
        "no need to update atomic_idempotent since it's unchanged\n"
    )
    assert run("disable_atomic_idempotent t")[1].startswith(
        "set_atomic_idempotent from true to false"
    )
    ok, _, err = run("get_atomic_idempotent nothing")
    assert (
        not ok
        and err == "ERROR: get_atomic_idempotent failed, error=ERR_APP_NOT_EXIST, no such table\n"
    )
    assert not run("enable_atomic_idempotent")[0]  # no table named


def test_create_waits_for_primaries(run: Run, fake: FakeClient) -> None:
    fake.polls_until_ready = 2
    now = [0.0]
    slept: list[float] = []

    def sleep(s: float) -> None:
        slept.append(s)
        now[0] += s

    commands = MetaCommands(run.session, clock=lambda: now[0], sleep=sleep)
    assert commands.cmd_create(split("t -p 4"))
    assert slept == [APP_READY_POLL_S, APP_READY_POLL_S]
    err = run._err.getvalue()
    assert err.count("t not ready yet, still waiting... (3/4)") == 2
    assert err.endswith("t is ready now: (4/4)\n")


def test_create_gives_up_waiting(run: Run, fake: FakeClient) -> None:
    fake.polls_until_ready = 10**6
    now = [0.0]

    def sleep(s: float) -> None:
        now[0] += s

    commands = MetaCommands(run.session, clock=lambda: now[0], sleep=sleep)
    assert commands.cmd_create(split("t"))  # created: the table exists, only not ready
    assert f"WARNING: t not ready after {APP_READY_WAIT_S:g} s: (3/4)" in run._err.getvalue()


def split(line: str) -> list[bytes]:
    return [w.encode() for w in line.split()]


def test_drop_ls_all_recall(run: Run, fake: FakeClient) -> None:
    run("create t")
    ok, out, err = run("drop t")
    assert (ok, out, err) == (True, "drop app t succeed\n", "reserve_seconds = 0\n")
    assert fake.admin.tables[1].expire_second == 1_700_000_100 + 604800  # the meta's default
    assert "total_app_count  : 0" in run("ls")[1]
    out = run("ls -a")[1]
    assert out.splitlines()[2].split()[:3] == ["1", "DROPPED", "t"]
    assert json.loads(run("ls -s dropped -j")[1])["general_info"]["1"]["status"] == "DROPPED"
    ok, out, err = run("recall 1 t2")
    assert (ok, out) == (True, "recall app 1 succeed\n")
    assert "recall app ok, id(1), name(t2), partition_count(4), wait it ready" in err
    assert fake.admin.tables[1].name == "t2"


def test_recover_prints_upstreams_report(run: Run, fake: FakeClient, tmp_path: Path) -> None:
    ok, out, _ = run("recover -s 127.0.0.1:1,127.0.0.1:2 -b -w 9")
    assert ok
    assert out == (
        "Wait seconds: 9\nSkip bad nodes: true\nSkip lost partitions: false\nNode list:\n"
        "=============================\n127.0.0.1:1\n127.0.0.1:2\n"
        "=============================\nRecover result: ERR_OK\n"
        "=============================\n"
        "WARNING: partition(1.0) only collects 1/3 of replicas, may lost data\n"
        "=============================\n"
    )
    assert fake.admin.recovered == (
        ["127.0.0.1:1", "127.0.0.1:2"],
        {"skip_bad_nodes": True, "skip_lost_partitions": False, "wait_s": 9},
    )
    ok, out, err = run("recover -s 127.0.0.1:1")
    assert not ok and "Recover result: ERR_TRY_AGAIN\n" in out
    assert err == "ERROR: recover failed, error = ERR_TRY_AGAIN\n"
    # -o: the report goes to the file, the outcome to the terminal (upstream's words)
    report = tmp_path / "recover.txt"
    ok, out, _ = run(f"recover -s 127.0.0.1:1 -b -o {report}")
    assert (ok, out) == (True, "recover complete with err = ERR_OK\n")
    assert report.read_text().splitlines()[-4:-2] == [
        "Recover result: ERR_OK",
        "=============================",
    ]


def test_rename(run: Run, fake: FakeClient) -> None:
    run("create t")
    run("create u")
    assert run("rename t t2") == (True, "rename app ok, old_app_name(t), new_app_name(t2)\n", "")
    assert fake.admin.tables[1].name == "t2"
    ok, out, err = run("rename t2 u")
    assert (ok, out) == (False, "")
    assert err == (
        "ERROR: rename app failed, old_app_name(t2), new_app_name(u), failed: "
        "ERR_INVALID_PARAMETERS, ERROR: app(u) already exist!\n"
    )
    ok, _, err = run("rename t2")
    assert not ok and "rename" in err and "expect" in err
    assert fake.admin.tables[1].name == "t2"


def test_table_errors_are_clear(run: Run) -> None:
    ok, _, err = run("app nosuch")
    assert not ok
    assert err == (
        "ERROR: query app nosuch failed, error = ERR_OBJECT_NOT_FOUND: "
        "no available table of that name\n"
    )
    assert run("drop nosuch")[2].endswith(
        "ERROR: drop app nosuch failed, error = ERR_APP_NOT_EXIST\n"
    )
    assert "recall app 7 failed, error = ERR_APP_NOT_EXIST: no dropped table" in run("recall 7")[2]
    ok, _, err = run("create")
    assert not ok and err.splitlines()[1].startswith("USAGE: create <app_name>")


def test_output_to_a_file(run: Run, tmp_path: Path) -> None:
    run("create t")
    path = tmp_path / "ls.txt"
    assert run(f"ls -d -o {path}") == (True, "", "")
    text = path.read_text()
    assert text.startswith("[general_info]\n") and "[healthy_info]" in text
    ok, _, err = run(f"app t -o {tmp_path}/no/such/dir")
    assert not ok and "No such file or directory" in err


# ---- app envs --------------------------------------------------------------------------


def test_env_commands_need_a_current_table(run: Run) -> None:
    for line in ["get_app_envs", "set_app_envs k v", "del_app_envs k", "clear_app_envs -a"]:
        assert run(line) == (False, "", "ERROR: No app is using now\nUSAGE: use [app_name]\n")


def test_env_commands(run: Run) -> None:
    run("create t -e default_ttl=5")
    assert run("use t")[0]
    assert run("get_app_envs")[1] == "[app_envs]\ndefault_ttl  : 5\n"
    assert run("set_app_envs manual_compact.disabled true rocksdb.x 1") == (
        True,
        "set app envs succeed\n",
        "",
    )
    assert json.loads(run("get_app_envs -j")[1]) == {
        "app_envs": {"default_ttl": "5", "manual_compact.disabled": "true", "rocksdb.x": "1"}
    }
    assert run("del_app_envs default_ttl")[1] == "del app envs succeed\n"
    assert run("clear_app_envs -p rocksdb.")[1] == "clear app envs succeed\n"
    assert run("get_app_envs")[1] == "[app_envs]\nmanual_compact.disabled  : true\n"
    assert run("clear_app_envs --all")[0]
    assert run("get_app_envs") == (True, "", "")
    ok, _, err = run("set_app_envs bogus 1")
    assert not ok
    assert err == (
        "ERROR: set app envs failed, error = ERR_INVALID_PARAMETERS (unsupported env key 'bogus')\n"
    )


# ---- cluster ---------------------------------------------------------------------------


def test_nodes(run: Run, fake: FakeClient) -> None:
    run("create t -p 4")
    out = run("nodes")[1]
    assert out.splitlines()[2:4] == [f"{NODES[0]}  ALIVE", f"{NODES[1]}  UNALIVE"]
    out = run("nodes -d -s alive")[1]
    assert out.splitlines()[0:2] == ["[parameters]", "status  : alive"]
    assert out.splitlines()[5].split() == [NODES[0], "ALIVE", "2", "2", "0"]
    assert "total_node_count    : 1" in out
    doc = json.loads(run("nodes -d -j")[1])
    assert doc["details"][NODES[1]]["primary_count"] == "2"
    ok, out, _ = run("nodes -u -q")
    assert ok
    header, alive, unalive = out.splitlines()[1:4]
    assert header.split()[:8] == [
        "address",
        "status",
        "memused_res_mb",
        "mem_tbl_mb",
        "mem_idx_mb",
        "disk_avl_total_ratio",
        "disk_avl_min_ratio",
        "get_qps",
    ]
    # the live node's server-stat figures and memory from /metrics; the dead one is not asked
    assert alive.split()[:8] == [NODES[0], "ALIVE", "64", "3", "1", "-", "-", "7"]
    assert set(unalive.split()[1:]) == {"UNALIVE", "-"}
    asked = [(nodes, command) for nodes, command, _ in fake.admin.remote_calls]
    assert asked[-1] == ([NODES[0]], "server-stat")


def test_cluster_info_and_meta_level(run: Run) -> None:
    assert run("cluster_info")[1] == (
        f"[cluster_info]\nmeta_servers         : {METAS[0]}\nmeta_function_level  : fl_steady\n"
    )
    assert json.loads(run("cluster_info -j")[1])["cluster_info"]["meta_servers"] == METAS[0]
    assert run("get_meta_level")[1] == "current meta level is fl_steady\n"
    assert run("set_meta_level lively")[1] == "control meta level ok, the old level is fl_steady\n"
    assert run("get_meta_level")[1] == "current meta level is fl_lively\n"
    assert not run("set_meta_level fl_lively")[0]
    assert not run("get_meta_level now")[0]


def test_server_info(run: Run, fake: FakeClient) -> None:
    fake.admin.down = {METAS[1]}
    ok, out, err = run("server_info")
    assert ok and err == ""
    doc = json.loads(out)
    # upstream's report: the metas given and the replica servers the meta knows alive
    assert fake.admin.remote_calls == [([*METAS, NODES[0]], "server-info", [])]
    assert doc["command"] == "server-info "
    info = {n: json.loads(text) for n, text in SERVER_INFO.items()}
    assert doc["details"] == {
        METAS[0]: {"role": "meta-server", "acked": True, "message": info[METAS[0]]},
        METAS[1]: {"role": "meta-server", "acked": False, "message": "ERR_TIMEOUT"},
        NODES[0]: {"role": "replica-server", "acked": True, "message": info[NODES[0]]},
    }
    assert (doc["succeed_count"], doc["failed_count"]) == (2, 1)
    # keys sorted and indented by two, as upstream's JSON printer does
    assert out.splitlines()[:3] == ["{", '  "command": "server-info ",', '  "details": {']
    doc = json.loads(run("server_info -t replica-server")[1])
    assert list(doc["details"]) == [NODES[0]]
    fake.admin.down = {"127.0.0.1:9"}
    doc = json.loads(run(f"server_info -l {NODES[1]},127.0.0.1:9")[1])
    assert doc["details"]["127.0.0.1:9"] == {
        "role": "user-specified",
        "acked": False,
        "message": "ERR_TIMEOUT",
    }
    assert doc["details"][NODES[1]]["acked"] and doc["failed_count"] == 1


def test_server_stat_and_remote_command(run: Run, fake: FakeClient) -> None:
    ok, out, err = run("server_stat -t meta-server -i 100")
    assert ok and "-i|--sample_interval_ms is not used" in err
    assert fake.admin.remote_calls[-1] == (METAS, "server-stat", [])
    assert json.loads(out)["details"][METAS[0]]["message"].startswith("get_qps=7, ")
    ok, out, _ = run("remote_command -l 127.0.0.1:9 flush-log")
    # upstream's text for a command the server does not have
    assert ok and json.loads(out)["details"]["127.0.0.1:9"]["message"] == (
        "unknown command 'flush-log'"
    )
    ok, out, _ = run("remote_command -l 127.0.0.1:9 help server-info")
    doc = json.loads(out)
    assert ok and doc["command"] == "help server-info"
    assert doc["details"]["127.0.0.1:9"]["message"] == "server-info - info\nserver-info\n"
    ok, _, err = run("remote_command -t meta-server")
    assert not ok and "missing <command>" in err and "USAGE" in err
    ok, _, err = run("server_info -t bogus")
    assert not ok and "invalid node_type" in err


def test_server_info_without_metas(run: Run, fake: FakeClient) -> None:
    fake.dead_metas = set(METAS)
    fake.admin.down = set(METAS)
    ok, out, err = run("server_info")
    doc = json.loads(out)
    assert ok and list(doc["details"]) == METAS and doc["failed_count"] == 2
    assert "WARNING: no meta server answers" in err


def test_failures_raise_command_errors(run: Run) -> None:
    with pytest.raises(CommandError, match="query app x failed"):
        MetaCommands(run.session).cmd_app([b"x"])


def test_a_meta_that_does_not_serve_admin_requests(
    run: Run, fake: FakeClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse() -> str:
        raise PegasusError(
            "get_meta_level",
            code=ErrorCode.ERR_TIMEOUT,
            detail="127.0.0.1:1: ERR_HANDLER_NOT_FOUND: from 127.0.0.1:1",
        )

    monkeypatch.setattr(fake.admin, "get_meta_level", refuse)
    ok, _, err = run("get_meta_level")
    assert not ok
    assert err.startswith("ERROR: get meta level failed, error = ERR_TIMEOUT (127.0.0.1:1: ")
    assert err.endswith("a --static meta answers routing only)\n")


# ---- replica count ---------------------------------------------------------------------


def test_get_and_set_replica_count(run: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    assert run("create t -r 3")[0]
    assert run("get_replica_count t")[1] == "[max_replica_count]\nmax_replica_count  : 3\n"
    assert json.loads(run("get_replica_count t -j")[1]) == {
        "max_replica_count": {"max_replica_count": "3"}
    }
    answers = iter(["maybe", "y", "n"])
    monkeypatch.setattr(run.session, "_read_line", lambda _prompt: next(answers))
    ok, out, _ = run("set_replica_count t 2")
    assert ok and out.splitlines() == [
        "you've chosen YES, we will continue ...",
        "set replica count of app(t) from 3 to 2: success",
    ]
    assert run("get_replica_count t")[1].endswith("max_replica_count  : 2\n")
    assert run("set_replica_count t 1") == (True, "you've chosen NO, we will stop !\n", "")
    assert run("get_replica_count t")[1].endswith(": 2\n")
    monkeypatch.setattr(run.session, "_read_line", lambda _prompt: "y")
    ok, _, err = run("set_replica_count t 4")
    assert not ok and err == (
        "ERROR: set replica count of app(t) failed: ERR_INVALID_PARAMETERS, there are not "
        "enough alive replica servers(3) for the requested replica count(4)\n"
    )
    monkeypatch.setattr(run.session, "_read_line", lambda _prompt: None)
    assert run("set_replica_count t 3") == (True, "no answer, we will stop !\n", "")
    assert run("get_replica_count nothing")[2] == (
        "ERROR: get replica count of app(nothing) failed: ERR_APP_NOT_EXIST\n"
    )
    for line, message in (
        ("set_replica_count t x", "parse 'x' as replica count failed"),
        ("set_replica_count t --5", "parse '--5' as replica count failed"),
        ("set_replica_count t 4294967296", "parse '4294967296' as replica count failed"),
        ("set_replica_count t 0", "replica count should be >= 1"),
        ("set_replica_count t", ""),
        ("get_replica_count", ""),
    ):
        ok, _, err = run(line)
        assert not ok and err.startswith(f"ERROR: {message}"), (line, err)
