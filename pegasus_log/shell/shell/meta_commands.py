"""The table and cluster commands of a shell session, run through the admin client
(``pegasus_log.client.sync.Admin``) and the full routing tables the meta servers answer.

Results (tables, ``... succeed``) go to the session's ``out`` (or the ``-o`` file); echoed
parameters and progress go to ``err``; failures raise ``CommandError`` with upstream's
``<what> failed, error = <ERR_...>`` wording, and the session prints them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from pegasus_log.client.errors import PegasusError
from pegasus_log.rpc import admin as a
from pegasus_log.rpc.error_code import ErrorCode
from pegasus_log.rpc.thrift import Gpid
from pegasus_log.shell.shell.ddd import ddd_report
from pegasus_log.shell.shell.flags import CommandError, UsageError, expect_count
from pegasus_log.shell.shell.meta_args import (
    RemoteCommandArgs,
    parse_app,
    parse_app_json,
    parse_app_stat,
    parse_balance,
    parse_clear_app_envs,
    parse_cluster_info,
    parse_create,
    parse_ddd_diagnose,
    parse_del_app_envs,
    parse_detect_hotkey,
    parse_drop,
    parse_json_flag,
    parse_ls,
    parse_meta_level,
    parse_nodes,
    parse_one_app,
    parse_propose,
    parse_recall,
    parse_recover,
    parse_remote_command,
    parse_rename,
    parse_set_app_envs,
    parse_set_replica_count,
)
from pegasus_log.shell.shell.printer import render, render_one, single
from pegasus_log.shell.shell.reports import (
    AVAILABLE,
    NodeDesc,
    TableRouting,
    app_envs_report,
    app_report,
    cluster_info_report,
    ls_report,
    node_counts,
    nodes_report,
    parse_brief_stat,
    ready_count,
    remote_command_report,
)
from pegasus_log.shell.shell.table_stats import (
    Scrape,
    app_disk_report,
    app_stat_report,
    node_memory,
    parse_scrape,
    partition_rows,
    table_rows,
)

if TYPE_CHECKING:
    from pegasus_log.shell.shell.session import Session

# How long create and recall wait for every partition of the table to get a primary: as
# long as the meta itself waits for them before answering a create (create_wait_s).
APP_READY_WAIT_S = 10.0
# Between two looks at the routing table while waiting.
APP_READY_POLL_S = 0.5

# What upstream would say went wrong, for errors whose name alone does not tell.
_HINTS = {
    ("create", ErrorCode.ERR_INVALID_PARAMETERS): (
        "the meta refuses partition counts that are not a power of two, replica counts "
        "above its maximum, and envs it does not know"
    ),
    ("create", ErrorCode.ERR_STATE_FREEZED): "the meta level is stopped",
    ("drop", ErrorCode.ERR_STATE_FREEZED): "the meta level is stopped",
    ("recall", ErrorCode.ERR_APP_NOT_EXIST): "no dropped table of that id, or its hold expired",
    ("recall", ErrorCode.ERR_INVALID_PARAMETERS): "a table of that name exists",
    ("app", ErrorCode.ERR_OBJECT_NOT_FOUND): "no available table of that name",
    ("balance", ErrorCode.ERR_INVALID_PARAMETERS): (
        "the partition must be healthy, and the move must fit it (move_pri: from the "
        "primary to a secondary; copy_pri: from the primary, copy_sec: from a secondary, "
        "each to a replica server that is no member); the meta's log says which"
    ),
    ("balance", ErrorCode.ERR_STATE_FREEZED): "the meta level is below steady",
    ("balance", ErrorCode.ERR_BUSY): "a copy of the partition is under way, or it just changed",
}

# Upstream's rule between the parts of the recover report.
_RULE = "============================="

# The admin client retries a meta that does not know the request until its deadline.
_NOT_SERVED = "the meta server does not serve this request (a --static meta answers routing only)"

Handler = Callable[[list[bytes]], bool]


def _code(e: PegasusError) -> str:
    """An error as upstream's shell shows it: the name, and the meta's hint after it."""
    return e.code.name + (f", {e.detail}" if e.detail else "")


def _failed(what: str, e: PegasusError, *, kind: str = "", subject: str = "") -> CommandError:
    """``<what> failed, error = ERR_... (detail)``, plus a hint where one helps; a detail
    that only repeats the ``subject`` (the table name or id) is left out."""
    reason = str(e).removeprefix(f"{e.op} failed: ")
    if subject:
        reason = reason.removesuffix(f" ({subject})").removesuffix(f" (table {subject!r})")
    hint = _HINTS.get((kind, e.code))
    if ErrorCode.ERR_HANDLER_NOT_FOUND.name in reason:
        hint = _NOT_SERVED
    if e.code == ErrorCode.ERR_UNDER_RECOVERY:
        hint = "the meta found no table and waits for recover -s <replica servers>"
    return CommandError(f"{what} failed, error = {reason}" + (f": {hint}" if hint else ""))


class MetaCommands:
    """The handlers of the table and cluster commands for one ``Session``."""

    def __init__(
        self,
        session: Session,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._s = session
        self._clock = clock
        self._sleep = sleep

    def handlers(self) -> dict[str, Handler]:
        return {
            "ls": self.cmd_ls,
            "app": self.cmd_app,
            "create": self.cmd_create,
            "drop": self.cmd_drop,
            "recall": self.cmd_recall,
            "rename": self.cmd_rename,
            "recover": self.cmd_recover,
            "get_app_envs": self.cmd_get_app_envs,
            "set_app_envs": self.cmd_set_app_envs,
            "del_app_envs": self.cmd_del_app_envs,
            "clear_app_envs": self.cmd_clear_app_envs,
            "cluster_info": self.cmd_cluster_info,
            "nodes": self.cmd_nodes,
            "remote_command": self.cmd_remote_command,
            "server_info": self.cmd_server_info,
            "flush_log": self.cmd_flush_log,
            "server_stat": self.cmd_server_stat,
            "get_meta_level": self.cmd_get_meta_level,
            "set_meta_level": self.cmd_set_meta_level,
            "balance": self.cmd_balance,
            "detect_hotkey": self.cmd_detect_hotkey,
            "get_replica_count": self.cmd_get_replica_count,
            "set_replica_count": self.cmd_set_replica_count,
            "propose": self.cmd_propose,
            "get_atomic_idempotent": self.cmd_get_atomic_idempotent,
            "enable_atomic_idempotent": self.cmd_enable_atomic_idempotent,
            "disable_atomic_idempotent": self.cmd_disable_atomic_idempotent,
            "ddd_diagnose": self.cmd_ddd_diagnose,
            "app_stat": self.cmd_app_stat,
            "app_disk": self.cmd_app_disk,
        }

    # ---- printing ------------------------------------------------------------------------

    def _print(self, lines: Sequence[str], output: str | None) -> None:
        """To ``out``, or into the file of ``-o`` (nothing on the terminal then)."""
        if output is None:
            for line in lines:
                self._s.say(line)
            return
        with open(output, "w", encoding="utf-8") as f:
            f.writelines(line + "\n" for line in lines)

    def _routing(self, name: str, *, what: str) -> TableRouting:
        try:
            return self._s.client.routing(name)
        except PegasusError as e:
            raise _failed(what, e, kind="app", subject=name) from None

    # ---- tables --------------------------------------------------------------------------

    def cmd_ls(self, args: list[bytes]) -> bool:
        a = parse_ls(args)
        try:
            listed = self._s.client.admin.list_tables(include_dropped=True)
        except PegasusError as e:
            raise _failed("list apps", e) from None
        tables = [t for t in listed if a.wants(t.status, t.name)]
        routings = None
        if a.detailed:
            routings = {
                t.app_id: self._routing(t.name, what=f"list app {t.name}")
                for t in tables
                if t.status == AVAILABLE
            }
        self._print(render(ls_report(tables, routings), json_output=a.json), a.output)
        return True

    def cmd_app(self, args: list[bytes]) -> bool:
        a = parse_app(args)
        routing = self._routing(a.name, what=f"query app {a.name}")
        report = app_report(a.name, routing, detailed=a.detailed, output=a.output)
        self._print(render(report, json_output=a.json), a.output)
        return True

    def cmd_app_stat(self, args: list[bytes]) -> bool:
        """Upstream's ``app_stat``: every table's (or, with ``-a``, one table's
        partitions') request rates and storage, from the primaries' metrics sampled twice
        ``-i`` ms apart."""
        a = parse_app_stat(args)
        if a.name:
            routings = [(a.name, self._routing(a.name, what=f"list app {a.name}"))]
        else:
            try:
                tables = self._s.client.admin.list_tables()
            except PegasusError as e:
                raise _failed("list apps", e) from None
            routings = [(t.name, self._routing(t.name, what=f"list app {t.name}")) for t in tables]
        addresses = self._alive_replica_servers()
        start = self._scrapes(addresses)
        self._sleep(a.sample_interval_ms / 1000)
        end = self._scrapes(addresses)
        pairs = {n: (start.get(n), end.get(n)) for n in addresses}
        if a.name:
            rows = partition_rows(routings[0][1], pairs)
        else:
            rows = table_rows(routings, pairs)
        table = app_stat_report(
            rows, per_partition=bool(a.name), only_qps=a.only_qps, only_usage=a.only_usage
        )
        self._print(render_one(table, json_output=a.json), a.output)
        return True

    def cmd_app_disk(self, args: list[bytes]) -> bool:
        """Upstream's ``app_disk``: the SST size and files of every replica of a table."""
        a = parse_app(args)
        routing = self._routing(a.name, what=f"list app {a.name}")
        scrapes = self._scrapes(self._alive_replica_servers())
        report = app_disk_report(a.name, routing, scrapes, detailed=a.detailed, output=a.output)
        self._print(render(report, json_output=a.json), a.output)
        return True

    def _alive_replica_servers(self) -> list[str]:
        try:
            return [n for n, alive in self._s.client.admin.list_nodes() if alive]
        except PegasusError as e:
            raise _failed("list nodes", e) from None

    def _scrapes(self, addresses: list[str]) -> dict[str, Scrape]:
        """Each server's metrics now; a server that does not answer, or answers what is
        not a metrics page, is left out (its replicas show as not counted) and named."""
        scrapes: dict[str, Scrape] = {}
        for address, (at_s, text) in self._s.client.metrics_pages(addresses).items():
            try:
                scrapes[address] = parse_scrape(text, at_s)
            except ValueError as e:
                self._s.note(f"WARNING: the metrics of {address} cannot be read: {e}")
        for address in addresses:
            if address not in scrapes:
                self._s.note(f"WARNING: no metrics from {address}")
        return scrapes

    def cmd_create(self, args: list[bytes]) -> bool:
        a = parse_create(args)
        shown = f'"{a.name}"'
        try:
            self._s.client.admin.create_table(
                a.name,
                partition_count=a.partition_count,
                replica_count=a.replica_count,
                envs=a.envs,
                success_if_exist=a.success_if_exist,
                atomic_idempotent=a.atomic_idempotent,
            )
        except PegasusError as e:
            raise _failed(f"create app {shown}", e, kind="create", subject=a.name) from None
        self._s.note(f"create app {a.name} succeed, waiting for app ready")
        self._wait_ready(a.name)
        self._s.say(f"create app {shown} succeed")
        return True

    def _wait_ready(self, name: str) -> None:
        """Until every partition has a primary (upstream waits for every secondary too;
        ours come with replication), at most APP_READY_WAIT_S."""
        deadline = self._clock() + APP_READY_WAIT_S
        while True:
            try:
                routing = self._s.client.routing(name)
            except PegasusError as e:
                self._s.note(f"WARNING: cannot see whether {name} is ready: {e}")
                return
            ready, count = ready_count(routing), routing.partition_count
            if ready == count:
                self._s.note(f"{name} is ready now: ({ready}/{count})")
                return
            if self._clock() >= deadline:
                self._s.note(
                    f"WARNING: {name} not ready after {APP_READY_WAIT_S:g} s: ({ready}/{count}) "
                    "partitions have a primary (are replica servers alive?)"
                )
                return
            self._s.note(f"{name} not ready yet, still waiting... ({ready}/{count})")
            self._sleep(APP_READY_POLL_S)

    def cmd_drop(self, args: list[bytes]) -> bool:
        a = parse_drop(args)
        self._s.note(f"reserve_seconds = {a.reserve_seconds}")
        try:
            self._s.client.admin.drop_table(a.name, reserve_seconds=a.reserve_or_default)
        except PegasusError as e:
            raise _failed(f"drop app {a.name}", e, kind="drop", subject=a.name) from None
        self._s.say(f"drop app {a.name} succeed")
        return True

    def cmd_recall(self, args: list[bytes]) -> bool:
        a = parse_recall(args)
        try:
            info = self._s.client.admin.recall_table(a.app_id, a.new_name)
        except PegasusError as e:
            raise _failed(
                f"recall app {a.app_id}", e, kind="recall", subject=str(a.app_id)
            ) from None
        self._s.note(
            f"recall app ok, id({info.app_id}), name({info.name}), "
            f"partition_count({info.partition_count}), wait it ready"
        )
        self._wait_ready(info.name)
        self._s.say(f"recall app {a.app_id} succeed")
        return True

    def cmd_rename(self, args: list[bytes]) -> bool:
        """Upstream's ``rename``, with its words for success and failure."""
        old, new = parse_rename(args)
        try:
            self._s.client.admin.rename_table(old, new)
        except PegasusError as e:
            reason = e.code.name + (f", {e.detail}" if e.detail else "")
            if e.code == ErrorCode.ERR_HANDLER_NOT_FOUND:
                reason += f": {_NOT_SERVED}"
            raise CommandError(
                f"rename app failed, old_app_name({old}), new_app_name({new}), failed: {reason}"
            ) from None
        self._s.say(f"rename app ok, old_app_name({old}), new_app_name({new})")
        return True

    def cmd_recover(self, args: list[bytes]) -> bool:
        """Upstream's ``recover``: a meta started with --recover-from-replica-servers
        rebuilds the tables from the replica servers named; upstream's report follows
        (without its line per second of waiting: the answer is awaited in one call)."""
        a = parse_recover(args, read_file=lambda name: Path(name).read_text(encoding="utf-8"))
        lines = [
            f"Wait seconds: {a.wait_seconds}",
            f"Skip bad nodes: {'true' if a.skip_bad_nodes else 'false'}",
            f"Skip lost partitions: {'true' if a.skip_lost_partitions else 'false'}",
            "Node list:",
            _RULE,
            *a.nodes,
            _RULE,
        ]
        try:
            err, hint = self._s.client.admin.start_recovery(
                list(a.nodes),
                skip_bad_nodes=a.skip_bad_nodes,
                skip_lost_partitions=a.skip_lost_partitions,
                wait_s=a.wait_seconds,
            )
        except PegasusError as e:
            err, hint = e.code.name, ""
            if e.code == ErrorCode.ERR_TIMEOUT:
                lines.append(
                    "Wait recovery failed, administrator should check the meta for progress"
                )
            else:
                lines.append(f"Recover result: {err}")
        else:
            lines.append(f"Recover result: {err}")
        if hint:
            lines += [_RULE, *hint.rstrip("\n").split("\n"), _RULE]
        self._print(lines, a.output)
        if a.output is not None:
            self._s.say(f"recover complete with err = {err}")
        if err != ErrorCode.ERR_OK.name:
            raise CommandError(f"recover failed, error = {err}")
        return True

    # ---- app envs (of the current table) -------------------------------------------------

    def cmd_get_app_envs(self, args: list[bytes]) -> bool:
        json_output = parse_json_flag(args)
        try:
            envs = self._s.client.admin.get_app_envs(self._s.table_name)
        except PegasusError as e:
            raise _failed("get app envs", e) from None
        self._print(render_one(app_envs_report(envs), json_output=json_output), None)
        return True

    def cmd_set_app_envs(self, args: list[bytes]) -> bool:
        envs = parse_set_app_envs(args)
        try:
            self._s.client.admin.set_app_envs(self._s.table_name, envs)
        except PegasusError as e:
            raise _failed("set app envs", e) from None
        self._s.say("set app envs succeed")
        return True

    def cmd_del_app_envs(self, args: list[bytes]) -> bool:
        keys = parse_del_app_envs(args)
        try:
            self._s.client.admin.del_app_envs(self._s.table_name, keys)
        except PegasusError as e:
            raise _failed("del app envs", e) from None
        self._s.say("del app envs succeed")
        return True

    def cmd_clear_app_envs(self, args: list[bytes]) -> bool:
        prefix = parse_clear_app_envs(args)
        try:
            self._s.client.admin.clear_app_envs(self._s.table_name, prefix)
        except PegasusError as e:
            raise _failed("clear app envs", e) from None
        self._s.say("clear app envs succeed")
        return True

    # ---- cluster -------------------------------------------------------------------------

    def cmd_cluster_info(self, args: list[bytes]) -> bool:
        a = parse_cluster_info(args)
        try:
            info = self._s.client.admin.cluster_info()
        except PegasusError as e:
            raise _failed("get cluster info", e) from None
        self._print(render_one(cluster_info_report(info), json_output=a.json), a.output)
        return True

    def cmd_nodes(self, args: list[bytes]) -> bool:
        a = parse_nodes(args)
        admin = self._s.client.admin
        try:
            nodes = [n for n in admin.list_nodes() if a.wants(n[1])]
        except PegasusError as e:
            raise _failed("list nodes", e) from None
        counts = None
        if a.detailed:
            try:
                tables = admin.list_tables()
            except PegasusError as e:
                raise _failed("list apps", e) from None
            counts = node_counts(self._routing(t.name, what=f"list app {t.name}") for t in tables)
        stats = None
        if a.resource_usage or a.qps:
            alive = [n for n, up in nodes if up]
            stats = self._server_stats(alive)
            if a.resource_usage:
                for address, scrape in self._scrapes(alive).items():
                    stats.setdefault(address, {}).update(node_memory(scrape))
        report = nodes_report(
            nodes,
            counts,
            status=a.status,
            output=a.output,
            stats=stats,
            usage=a.resource_usage,
            qps=a.qps,
        )
        self._print(render(report, json_output=a.json), a.output)
        return True

    def _server_stats(self, addresses: list[str]) -> dict[str, dict[str, float]]:
        """Each server's ``server-stat`` figures (a server that does not answer is left
        out, and its row shows ``-``)."""
        results = self._s.client.admin.remote_commands(addresses, "server-stat", [])
        return {
            address: parse_brief_stat(answer)
            for address, (ok, answer) in zip(addresses, results, strict=True)
            if ok
        }

    def cmd_remote_command(self, args: list[bytes]) -> bool:
        return self._remote(parse_remote_command(args))

    def cmd_server_info(self, args: list[bytes]) -> bool:
        return self._remote(parse_remote_command(args, command="server-info"))

    def cmd_flush_log(self, args: list[bytes]) -> bool:
        return self._remote(parse_remote_command(args, command="flush-log"))

    def cmd_server_stat(self, args: list[bytes]) -> bool:
        a = parse_remote_command(args, command="server-stat")
        if a.sample_interval_ms is not None:
            self._s.note(
                "-i|--sample_interval_ms is not used: the servers answer rates over "
                "their last 10 seconds"
            )
        return self._remote(a)

    def _remote(self, a: RemoteCommandArgs) -> bool:
        """Upstream's remote_command: the command sent to every chosen server at once,
        one JSON report of who answered what."""
        if a.nodes:
            nodes = [NodeDesc(n, "user-specified") for n in a.nodes]
        else:
            nodes = self._nodes_of_type(a.node_type)
        results = self._s.client.admin.remote_commands(
            [n.address for n in nodes], a.command, a.arguments
        )
        self._s.say(remote_command_report(a.command, a.arguments, nodes, results))
        return True

    def _nodes_of_type(self, node_type: str) -> list[NodeDesc]:
        """Every meta server given to the shell, and the replica servers the meta knows
        alive (upstream's fill_nodes)."""
        client = self._s.client
        nodes: list[NodeDesc] = []
        if node_type in ("all", "meta-server"):
            nodes += [NodeDesc(m, "meta-server") for m in client.metas]
        if node_type not in ("all", "replica-server"):
            return nodes
        if not any(client.meta_alive(m) for m in client.metas):
            self._s.note("WARNING: no meta server answers: replica servers unknown")
            return nodes
        try:
            listed = client.admin.list_nodes()
        except PegasusError as e:
            if e.code != ErrorCode.ERR_HANDLER_NOT_FOUND:
                raise _failed("list nodes", e) from None
            self._s.note(f"WARNING: replica servers unknown: {_NOT_SERVED}; name them with -l")
            return nodes
        return nodes + [NodeDesc(n, "replica-server") for n, alive in listed if alive]

    def cmd_get_meta_level(self, args: list[bytes]) -> bool:
        expect_count(args, lo=0, hi=0)
        try:
            level = self._s.client.admin.get_meta_level()
        except PegasusError as e:
            raise _failed("get meta level", e) from None
        self._s.say(f"current meta level is {level}")
        return True

    def cmd_set_meta_level(self, args: list[bytes]) -> bool:
        level = parse_meta_level(args)
        try:
            old = self._s.client.admin.set_meta_level(level)
        except PegasusError as e:
            raise _failed("control meta level", e) from None
        self._s.say(f"control meta level ok, the old level is {old}")
        return True

    def cmd_get_replica_count(self, args: list[bytes]) -> bool:
        name, json_output = parse_app_json(args)
        try:
            count = self._s.client.admin.get_max_replica_count(name)
        except PegasusError as e:
            raise CommandError(f"get replica count of app({name}) failed: {e.code.name}") from None
        table = single("max_replica_count", [("max_replica_count", count)])
        self._print(render_one(table, json_output=json_output), None)
        return True

    def cmd_set_replica_count(self, args: list[bytes]) -> bool:
        name, count = parse_set_replica_count(args)
        if not self._s.confirm(f"set the replica count of app({name}) to {count}"):
            return True
        try:
            old, hint = self._s.client.admin.set_max_replica_count(name, count)
        except PegasusError as e:
            why = e.code.name + (f", {e.detail}" if e.detail and e.detail != name else "")
            raise CommandError(f"set replica count of app({name}) failed: {why}") from None
        self._s.say(f"set replica count of app({name}) from {old} to {count}: {hint or 'success'}")
        return True

    def cmd_propose(self, args: list[bytes]) -> bool:
        """Upstream's ``propose``: one action sent as a balancer proposal; the meta's
        answer printed as upstream's shell prints it."""
        p = parse_propose(args)
        gpid = Gpid(p.app_id, p.partition_index)
        try:
            self._s.client.admin.propose(gpid, p.config_type, p.target, p.node, force=p.force)
        except PegasusError as e:
            self._s.say(f"send proposal response: {e.code.name}")
            return True
        self._s.say("send proposal response: ERR_OK")
        return True

    def cmd_get_atomic_idempotent(self, args: list[bytes]) -> bool:
        name, json_output = parse_app_json(args)
        try:
            enabled = self._s.client.admin.get_atomic_idempotent(name)
        except PegasusError as e:
            raise CommandError(f"get_atomic_idempotent failed, error={_code(e)}") from None
        table = single("atomic_idempotent", [("atomic_idempotent", str(enabled).lower())])
        self._print(render_one(table, json_output=json_output), None)
        return True

    def cmd_enable_atomic_idempotent(self, args: list[bytes]) -> bool:
        return self._set_atomic_idempotent(args, True)

    def cmd_disable_atomic_idempotent(self, args: list[bytes]) -> bool:
        return self._set_atomic_idempotent(args, False)

    def _set_atomic_idempotent(self, args: list[bytes], enabled: bool) -> bool:
        name = parse_one_app(args)
        try:
            old, hint = self._s.client.admin.set_atomic_idempotent(name, enabled)
        except PegasusError as e:
            raise CommandError(f"set_atomic_idempotent failed, error={_code(e)}") from None
        was, now = str(old).lower(), str(enabled).lower()
        self._s.say(f"set_atomic_idempotent from {was} to {now}: {hint or 'succeed'}")
        return True

    def cmd_balance(self, args: list[bytes]) -> bool:
        b = parse_balance(args)
        gpid = Gpid(b.app_id, b.partition_index)
        try:
            self._s.client.admin.balance(gpid, b.kind, b.source, b.destination)
        except PegasusError as e:
            subject = f"{b.app_id}.{b.partition_index}"
            raise _failed("send balance proposal", e, kind="balance", subject=subject) from None
        self._s.say("send balance proposal result: ERR_OK")
        return True

    def cmd_detect_hotkey(self, args: list[bytes]) -> bool:
        """Upstream's ``detect_hotkey``: one RPC_DETECT_HOTKEY to the replica server named
        by ``-d`` (one the meta knows); what it answers is printed as upstream does, a
        refusal on stderr with the command still counted as run."""
        d = parse_detect_hotkey(args)
        admin = self._s.client.admin
        try:
            known = {n for n, _alive in admin.list_nodes()}
        except PegasusError as e:
            raise CommandError(f"list nodes failed, error={e.code.name}") from None
        if d.address not in known:
            raise UsageError(f"invalid host:port '{d.address}', can't find it in the cluster")
        where = f"{d.app_id}.{d.partition_index}"
        kind = a.HotkeyType.READ if d.kind.lower() == "read" else a.HotkeyType.WRITE
        action = a.DetectAction[d.action.upper()]
        try:
            resp = admin.detect_hotkey(
                d.address, (d.app_id, d.partition_index), kind=kind, action=action
            )
        except PegasusError as e:
            self._s.note(
                f"Hotkey detection rpc sending failed, in {where}, error_hint:{e.code.name}"
            )
            return True
        if resp.err != ErrorCode.ERR_OK.name:
            self._s.note(
                f"Hotkey detection performed failed, in {where}, error_hint:{resp.err} "
                f"{resp.err_hint or ''}"
            )
            return True
        if action == a.DetectAction.START:
            self._s.say(
                f"Hotkey detection is starting, using 'detect_hotkey -a {d.app_id} -p "
                f"{d.partition_index} -t {d.kind} -c query -d {d.address}' to get the "
                "result later"
            )
        elif action == a.DetectAction.STOP:
            self._s.say("Hotkey detection is stopped now")
        else:
            self._s.say(f"Find {d.kind} hotkey in {where} result:{resp.hotkey_result or ''}")
        return True

    def cmd_ddd_diagnose(self, args: list[bytes]) -> bool:
        d = parse_ddd_diagnose(args)
        try:
            partitions = self._s.client.admin.ddd_diagnose(d.app_id, d.partition_index)
        except PegasusError as e:
            raise _failed("DDD diagnose", e) from None
        self._print(ddd_report(partitions, diagnose=d.diagnose), d.output)
        self._s.say("Diagnose ddd done.")
        return True
