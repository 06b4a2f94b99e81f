#!/usr/bin/env python3
"""Conformance driver for Apache Pegasus's Go ``admin-cli`` (an interactive shell).

Runs admin-cli commands against a cluster and checks what it prints. The binary is not
built here: give its path (``--admin-cli`` or ``PEGASUS_ADMIN_CLI``). Prints one JSON
line per check ``{"name", "ok", "detail"}`` on stdout and exits 1 if any check failed
(2 on usage errors).

    PEGASUS_ADMIN_CLI=/path/to/admin-cli \\
        python tests/conformance/admin_cli_driver.py --meta 127.0.0.1:34601,127.0.0.1:34602

How admin-cli is driven: with a command after its flags it runs that one command and
exits (exit status 1 on error); without one it reads commands line by line from stdin,
which the commands that need ``use <table>`` first (table-env, table-partitions) require.
It writes ``./shell.log`` and ``./.admin-cli-history``, so it runs in a scratch directory.
Its ``create`` always asks for 3 replicas (``-r`` only sets what it waits for), so the
cluster needs 3 replica servers.

``--self-test`` checks the output parsers on samples and exits.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

COMMAND_TIMEOUT_S = 120  # create waits for every partition's group; generous
# Replicas compact once the envs reach them and report it in their next config sync.
MANUAL_COMPACTION_WAIT_S = 60.0
CLUSTER_INFO_KEYS = {
    "meta_servers",
    "primary_meta_server",
    "zookeeper_hosts",
    "zookeeper_root",
    "meta_function_level",
    "balance_operation_count",
    "primary_replica_count_stddev",
    "total_replica_count_stddev",
    "cluster_name",
}
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


@dataclass(frozen=True)
class Run:
    returncode: int
    out: str  # stdout and stderr together, colours removed

    def brief(self, lines: int = 12) -> str:
        return f"rc={self.returncode}: " + " | ".join(self.out.strip().splitlines()[-lines:])


def table_rows(text: str) -> list[list[str]]:
    """The rows of the ASCII tables in ``text`` (header rows included), cells stripped."""
    rows = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("|") and line.endswith("|"):
            rows.append([c.strip() for c in line[1:-1].split("|")])
    return rows


def first_json_object(text: str) -> object:
    """The first JSON object printed in ``text`` (admin-cli indents it)."""
    start = text.find("{")
    if start < 0:
        raise ValueError("no JSON object")
    obj, _ = json.JSONDecoder().raw_decode(text[start:])
    return obj


class Driver:
    def __init__(self, binary: str, meta: str, workdir: Path, replicas: int) -> None:
        self.binary = binary
        self.meta = meta
        self.workdir = workdir
        self.replicas = replicas
        self.failures = 0

    # ---- running admin-cli -------------------------------------------------------------

    def one(self, *args: str) -> Run:
        return self._run([*args], stdin="")

    def shell(self, *lines: str) -> Run:
        return self._run([], stdin="".join(f"{line}\n" for line in [*lines, "exit"]))

    def _run(self, args: list[str], *, stdin: str) -> Run:
        try:
            proc = subprocess.run(
                [self.binary, "--nocolor", "-m", self.meta, *args],
                cwd=self.workdir,
                input=stdin,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,  # one stream: errors stay in order
                text=True,
                timeout=COMMAND_TIMEOUT_S,
            )
        except subprocess.TimeoutExpired as e:
            out = e.stdout if isinstance(e.stdout, str) else ""
            return Run(-1, _ANSI.sub("", out) + f"\n(killed after {COMMAND_TIMEOUT_S} s)")
        return Run(proc.returncode, _ANSI.sub("", proc.stdout))

    # ---- reporting ---------------------------------------------------------------------

    def check(self, name: str, ok: bool, detail: str = "") -> bool:
        if not ok:
            self.failures += 1
        shown = detail if not ok else detail[:200]
        print(json.dumps({"name": name, "ok": bool(ok), "detail": shown}), flush=True)
        return ok

    def guarded(self, name: str, fn: Callable[[], None]) -> None:
        try:
            fn()
        except Exception as e:  # a crashed step is one failed check
            self.check(name, False, f"{type(e).__name__}: {e}")

    # ---- the script --------------------------------------------------------------------

    def run_all(self) -> None:
        name = f"admincli_{time.time_ns() % 10**12}"
        self.guarded("cluster-info", self.cluster_info)
        self.guarded("nodes", self.nodes)
        self.guarded("server-info", self.server_info)
        self.guarded("meta-level", self.meta_level)
        self.guarded("create", lambda: self.create(name))
        self.guarded("table-partitions", lambda: self.table_partitions(name))
        self.guarded("disks", lambda: self.disks(name))
        self.guarded("data-version", lambda: self.data_version(name))
        self.guarded("server-config", self.server_config)
        self.guarded("table-env", lambda: self.table_env(name))
        self.guarded("drop and recall", lambda: self.drop_and_recall(name))
        self.guarded("not built yet", lambda: self.not_built(name + "_r"))
        self.guarded("manual compaction", lambda: self.manual_compaction(name + "_r"))
        self.guarded("cleanup", lambda: self.cleanup(name + "_r"))

    def cluster_info(self) -> None:
        r = self.one("cluster-info")
        info = first_json_object(r.out)
        assert isinstance(info, dict), r.brief()
        self.check("cluster-info exit 0", r.returncode == 0, r.brief())
        self.check(
            "cluster-info keys are upstream's",
            set(info) == CLUSTER_INFO_KEYS,
            f"got {sorted(info)}",
        )
        metas = set(self.meta.split(","))
        self.check(
            "cluster-info primary_meta_server is one of the metas",
            info.get("primary_meta_server") in metas,
            str(info.get("primary_meta_server")),
        )
        self.check(
            "cluster-info meta_servers lists every meta",
            set(str(info.get("meta_servers", "")).split(",")) == metas,
            str(info.get("meta_servers")),
        )

    def nodes(self) -> None:
        r = self.one("nodes")
        rows = table_rows(r.out)
        alive = [row for row in rows if len(row) == 5 and row[1] == "NS_ALIVE"]
        self.check("nodes exit 0", r.returncode == 0, r.brief())
        self.check(
            f"nodes lists {self.replicas} alive replica servers",
            len(alive) == self.replicas,
            r.brief(),
        )
        self.check(
            "nodes footer counts them",
            f"Alive({self.replicas}) | Unalive(0)" in r.out,
            r.brief(3),
        )

    def server_info(self) -> None:
        r = self.one("server-info")
        rows = [row for row in table_rows(r.out) if row and row[0] in ("meta", "replica")]
        metas = len(self.meta.split(","))
        self.check(
            "server-info has a row per server",
            len(rows) == metas + self.replicas,
            r.brief(),
        )
        versions = [json.loads(row[2]) for row in rows]
        self.check(
            "server-info versions are JSON with a version",
            all("version" in v and "start_time" in v for v in versions),
            r.brief(),
        )
        r = self.one("remote-command", "meta", "no-such-command")
        self.check(
            "remote-command unknown command text",
            "unknown command 'no-such-command'" in r.out,
            r.brief(),
        )

    def meta_level(self) -> None:
        r = self.one("meta-level")
        level = first_json_object(r.out)
        self.check("meta-level get", level == {"meta_level": "fl_steady"}, r.brief())
        r = self.one("meta-level", "set", "lively")
        self.check(
            "meta-level set lively",
            r.returncode == 0 and 'from "fl_steady" to "fl_lively"' in r.out,
            r.brief(),
        )
        r = self.one("meta-level", "set", "steady")
        self.check(
            "meta-level set back to steady",
            r.returncode == 0 and 'from "fl_lively" to "fl_steady"' in r.out,
            r.brief(),
        )

    def create(self, name: str) -> None:
        r = self.one("create", "-p", "4", "-r", str(self.replicas), name)
        self.check(
            "create waits for every partition",
            r.returncode == 0 and "Creating table" in r.out and "Done!" in r.out,
            r.brief(),
        )
        r = self.one("create", "-p", "4", name)
        self.check(
            "create of an existing table: ERR_APP_EXIST",
            r.returncode != 0 and "ERR_APP_EXIST" in r.out,
            r.brief(),
        )
        r = self.one("ls")
        mine = [row for row in table_rows(r.out) if len(row) > 3 and row[1] == name]
        self.check(
            "ls shows the table healthy",
            len(mine) == 1 and mine[0][2] == "4" and mine[0][3] == "0",
            r.brief(),
        )

    def table_partitions(self, name: str) -> None:
        r = self.shell(f"use {name}", "table-partitions")
        rows = table_rows(r.out)
        parts = [row for row in rows if len(row) == 3 and row[0].isdigit()]
        self.check(
            "table-partitions lists every partition",
            sorted(int(p[0]) for p in parts) == [0, 1, 2, 3],
            r.brief(20),
        )
        self.check(
            "table-partitions: a primary and replicas - 1 secondaries each",
            all(p[1] and len(p[2].split(",")) == self.replicas - 1 for p in parts),
            r.brief(20),
        )

    def disks(self, name: str) -> None:
        """disk-capacity / disk-replica (RPC_QUERY_DISK_INFO on a replica server)."""
        # nodes names a server "host(ip:port)"; -n takes the ip:port
        found = re.search(r"\((\d+\.\d+\.\d+\.\d+:\d+)\)", self.one("nodes").out)
        if not found:
            self.check("disk commands: a node to ask", False, "no ip:port in nodes")
            return
        node = found.group(1)
        r = self.one("disk-capacity", "-n", node)
        disk = [row for row in table_rows(r.out) if row and row[0] == "default"]
        self.check(
            "disk-capacity: one disk, usage within capacity",
            r.returncode == 0
            and len(disk) == 1
            and 0 < int(disk[0][2]) <= int(disk[0][1])
            and 0 <= int(disk[0][3]) <= 100,
            r.brief(),
        )
        r = self.one("disk-replica", "-n", node, "-t", name)
        counts = [row for row in table_rows(r.out) if row and row[0] == "default"]
        self.check(
            "disk-replica -t: the table's 4 partitions on this server",
            r.returncode == 0
            and len(counts) == 1
            and int(counts[0][1]) + int(counts[0][2]) == int(counts[0][3]) == 4,
            r.brief(),
        )
        r = self.one("disk-replica", "-n", node, "-t", "no_such_table")
        self.check(
            "disk-replica of an unknown table: ERR_OBJECT_NOT_FOUND",
            r.returncode != 0 and "ERR_OBJECT_NOT_FOUND" in r.out,
            r.brief(),
        )

    def data_version(self, name: str) -> None:
        """data-version: GET /replica/data_version on every replica server."""
        r = self.shell(f"use {name}", "data-version")
        self.check(
            "data-version: every replica at version 1",
            first_json_object(r.out) == {"data_version": "1"},
            r.brief(),
        )

    def server_config(self) -> None:
        """server-config: GET /configs, /config and /updateConfig on the servers' ports."""
        r = self.one("server-config", "meta", "list")
        metas = self.meta.split(",")
        self.check(
            "server-config meta list: every meta's mutable meta_server flags",
            r.returncode == 0
            and all(f"({meta})]" in r.out for meta in metas)  # "[host(ip:port)]"
            and r.out.count("[meta_server] max_allowed_replica_count=5") == len(metas)
            and "hosts_list" not in r.out,  # read-only flags are not listed
            r.brief(),
        )
        found = re.search(r"\((\d+\.\d+\.\d+\.\d+:\d+)\)", self.one("nodes").out)
        if not found:
            self.check("server-config: a node to ask", False, "no ip:port in nodes")
            return
        node = found.group(1)
        flag = "config_sync_interval_ms"
        r = self.one("server-config", "replica", "-n", node, flag, "set", "2500")
        self.check(f"server-config replica set {flag}", f"({node})] ERR_OK" in r.out, r.brief())
        r = self.one("server-config", "replica", "-n", node, flag, "get")
        self.check(
            f"server-config replica get {flag} shows the new value",
            f"({node})] {flag}=2500" in r.out,
            r.brief(),
        )
        self.one("server-config", "replica", "-n", node, flag, "set", "3000")
        r = self.one("server-config", "replica", "-n", node, "staleness_for_commit", "set", "5")
        self.check(
            "server-config replica set of a read-only flag is refused",
            "ERR_INVALID_PARAMETERS: staleness_for_commit is not mutable" in r.out,
            r.brief(),
        )

    def table_env(self, name: str) -> None:
        r = self.shell(
            f"use {name}",
            "table-env set default_ttl 3600",
            "table-env set rocksdb.usage_scenario bulk_load",
            "table-env set manual_compact.once.trigger_time 1700000000",
            "table-env set no.such.key 1",
            "table-env list",
        )
        envs = first_json_object(r.out.split("is not supported", 1)[-1])
        self.check(
            "table-env set and list",
            envs
            == {
                "default_ttl": "3600",
                "rocksdb.usage_scenario": "bulk_load",
                "manual_compact.once.trigger_time": "1700000000",
            },
            r.brief(),
        )
        self.check(
            "table-env set of an unknown key: hint",
            "ERR_INVALID_PARAMETERS" in r.out and "app_env 'no.such.key' is not supported" in r.out,
            r.brief(),
        )
        r = self.shell(
            f"use {name}",
            "table-env del default_ttl",
            "table-env del --prefix manual_compact.once",
            "table-env list",
        )
        envs = first_json_object(r.out)
        self.check(
            "table-env del and del --prefix",
            envs == {"rocksdb.usage_scenario": "bulk_load"},
            r.brief(),
        )
        r = self.shell(f"use {name}", "table-env clear", "table-env list")
        self.check("table-env clear", first_json_object(r.out) == {}, r.brief())

    def drop_and_recall(self, name: str) -> None:
        r = self.one("ls")
        mine = [row for row in table_rows(r.out) if len(row) > 1 and row[1] == name]
        app_id = mine[0][0]
        r = self.one("drop", "-r", "3600", name)
        self.check("drop", r.returncode == 0 and f'Dropped table "{name}"' in r.out, r.brief())
        r = self.one("ls", "--drop")
        dropped = [row for row in table_rows(r.out) if len(row) == 5 and row[1] == name]
        self.check(
            "ls --drop shows it with drop and expire dates",
            len(dropped) == 1 and dropped[0][0] == app_id and dropped[0][3] <= dropped[0][4],
            r.brief(),
        )
        r = self.one("recall", app_id, name + "_r")
        self.check(
            "recall under a new name",
            r.returncode == 0 and f'Recalling table "{name}_r"' in r.out and "Done!" in r.out,
            r.brief(),
        )
        r = self.one("ls")
        names = [row[1] for row in table_rows(r.out) if len(row) > 1]
        self.check("ls shows the recalled table", name + "_r" in names, r.brief())
        r = self.one("recall", app_id)
        self.check(
            "recall of a table not dropped: ERR_APP_EXIST",
            r.returncode != 0 and "ERR_APP_EXIST" in r.out,
            r.brief(),
        )
        r = self.one("recall", "999999")
        self.check(
            "recall of an unknown id: ERR_APP_NOT_EXIST",
            r.returncode != 0 and "ERR_APP_NOT_EXIST" in r.out,
            r.brief(),
        )

    def not_built(self, name: str) -> None:
        started = time.monotonic()
        r = self.shell(f"use {name}", "dup ls")
        took = time.monotonic() - started
        self.check(
            "features not built: ERR_NOT_IMPLEMENTED at once",
            r.out.count("ERR_NOT_IMPLEMENTED") == 1 and took < 5.0,
            f"{took:.1f} s; {r.brief()}",
        )

    def manual_compaction(self, name: str) -> None:
        r = self.one("manual-compaction", "query", "-a", name)
        self.check(
            "manual-compaction query before any: ERR_INVALID_STATE with the hint",
            r.returncode != 0
            and "ERR_INVALID_STATE" in r.out
            and f"app {name} is not manual compaction" in r.out,
            r.brief(),
        )
        r = self.one("manual-compaction", "start", "-a", name, "-b", "-c", "2")
        self.check(
            "manual-compaction start",
            r.returncode == 0 and f"Table {name} start manual compaction succeed" in r.out,
            r.brief(),
        )
        r = self.shell(f"use {name}", "table-env list")
        envs = first_json_object(r.out)
        self.check(
            "manual-compaction start wrote upstream's envs",
            isinstance(envs, dict)
            and envs.get("manual_compact.once.bottommost_level_compaction") == "force"
            and envs.get("manual_compact.once.target_level") == "-1"
            and envs.get("manual_compact.max_concurrent_running_count") == "2"
            and envs.get("manual_compact.once.trigger_time", "").isdigit(),
            r.brief(),
        )
        deadline = time.monotonic() + MANUAL_COMPACTION_WAIT_S
        while True:
            r = self.one("manual-compaction", "query", "-a", name)
            done = f"Table {name} manual compaction progress is 100" in r.out
            if done or time.monotonic() > deadline:
                break
            time.sleep(1.0)
        self.check("manual-compaction query reaches 100", done, r.brief())
        r = self.one("manual-compaction", "start", "-a", name, "-l", "-2")
        self.check(
            "manual-compaction start -l -2: refused by admin-cli itself",
            "targetLevel should be greater than -1" in r.out,
            r.brief(),
        )
        r = self.one("manual-compaction", "start", "-a", "no_such_table")
        self.check(
            "manual-compaction start of a missing table: ERR_APP_NOT_EXIST",
            r.returncode != 0 and "ERR_APP_NOT_EXIST" in r.out,
            r.brief(),
        )

    def cleanup(self, name: str) -> None:
        r = self.one("drop", name)
        self.check("drop the recalled table", r.returncode == 0, r.brief())


# ---- self test -------------------------------------------------------------------------


def self_test() -> int:
    sample = (
        "+----+------+\n"
        "| ID | Name |\n"
        "+----+------+\n"
        "| 3  | t1   |\n"
        "+----+------+\n"
        "error: x\n"
        '{\n  "a": "1"\n}\n'
        '{"b": 2}\n'
    )
    ok = table_rows(sample) == [["ID", "Name"], ["3", "t1"]]
    ok &= first_json_object(sample) == {"a": "1"}
    ok &= _ANSI.sub("", "\x1b[1mID\x1b[0m") == "ID"
    print(json.dumps({"name": "self-test parsers", "ok": bool(ok), "detail": ""}))
    return 0 if ok else 1


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--admin-cli", default=os.environ.get("PEGASUS_ADMIN_CLI", ""))
    p.add_argument("--meta", default=os.environ.get("PEGASUS_LOG_META", ""))
    p.add_argument("--replicas", type=int, default=3, help="replica servers in the cluster")
    p.add_argument("--self-test", action="store_true")
    args = p.parse_args(argv)
    if args.self_test:
        return self_test()
    if not args.admin_cli or not args.meta:
        p.error("give --admin-cli (or PEGASUS_ADMIN_CLI) and --meta (or PEGASUS_LOG_META)")
    with tempfile.TemporaryDirectory(prefix="admin-cli-") as work:
        driver = Driver(args.admin_cli, args.meta, Path(work), args.replicas)
        driver.run_all()
    return 1 if driver.failures else 0


if __name__ == "__main__":
    sys.exit(main())
