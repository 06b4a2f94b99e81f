"""Remote commands: what a server answers to ``RPC_CLI_CLI_CALL`` (upstream's
command_manager).

A command is a name (and aliases) with a handler from its text arguments to its text
output. Every server registers ``help`` (with upstream's aliases ``h``, ``H``, ``Help``),
``server-info`` and ``server-stat``; a name nobody registered is answered with upstream's
``unknown command '<name>'``. Upstream's ``repeat`` is left out: it would hold the server's
event loop for as long as it repeats.

``server-info`` answers a compact JSON object with upstream's keys (``version``, ``build_type``,
``git_SHA``, ``start_time`` in local time) plus ``uptime_seconds``. ``server-stat``
answers upstream's brief ``name=value, name=value`` line with the figures this server has:
request rates and p99 latencies of the data operations and replica counts on replica
servers, memory on every server, the data disk on replica servers.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from pegasus_log.frozen import frozen
from pegasus_log.observability.metrics import ServerMetrics
from pegasus_log.observability.process import BuildInfo, disk_use, memory_use
from pegasus_log.rpc.error_code import ErrorCode
from pegasus_log.rpc.remote_command import RemoteCommand
from pegasus_log.transport import faults
from pegasus_log.transport.server import Call, RpcError

log = logging.getLogger(__name__)

CommandHandler = Callable[[list[str]], str]

# Data operations whose rate and p99 latency server-stat shows, in upstream's order.
_STAT_OPS = ("get", "multi_get", "batch_get", "put", "multi_put")
# Replica-server gauges shown by server-stat under upstream's brief names.
_STAT_GAUGES = (
    ("serving_replica_count", "total_replicas"),
    ("learning_count", "learning_replicas"),
)
_P99 = 0.99


def unknown_command(name: str) -> str:
    """Upstream's answer to a command nobody registered."""
    return f"unknown command '{name}'"


@frozen
class _Command:
    names: tuple[str, ...]
    help: str
    args: str
    handler: CommandHandler


class CommandManager:
    """The remote commands of one server."""

    def __init__(self) -> None:
        self._by_name: dict[str, _Command] = {}
        self.register(
            ("help", "h", "H", "Help"),
            help="Display help information",
            args="[command]",
            handler=self._help,
        )

    def register(
        self, names: Sequence[str], *, help: str, args: str, handler: CommandHandler
    ) -> None:
        assert names, "a command needs a name"
        shown = "|".join(names)
        command = _Command(tuple(names), f"{shown} - {help}", f"{shown} {args}".rstrip(), handler)
        for name in names:
            assert name and name not in self._by_name, f"command {name!r} registered twice"
            self._by_name[name] = command

    def run(self, name: str, args: list[str]) -> tuple[bool, str]:
        """(True, output), or (False, upstream's unknown-command text)."""
        command = self._by_name.get(name)
        if command is None:
            return False, unknown_command(name)
        return True, command.handler(args)

    def on_call(self, call: Call) -> str:
        """The RPC_CLI_CLI_CALL handler. A command that cannot read what it reports (a
        file gone under it) is answered ERR_FILE_OPERATION_FAILED; the server goes on."""
        request: RemoteCommand = call.arg
        try:
            known, output = self.run(request.cmd, list(request.arguments))
        except OSError as e:
            log.warning("remote command %r from %s failed: %s", request.cmd, call.peer, e)
            raise RpcError(ErrorCode.ERR_FILE_OPERATION_FAILED, str(e)) from None
        if not known:
            log.info("unknown remote command %r from %s", request.cmd, call.peer)
        return output

    def _help(self, args: list[str]) -> str:
        if args:
            command = self._by_name.get(args[0])
            if command is None:
                return f"cannot find command '{args[0]}'"
            return f"{command.help}\n{command.args}\n"
        seen: set[tuple[str, ...]] = set()
        lines: list[str] = []
        for name in sorted(self._by_name):
            command = self._by_name[name]
            if command.names not in seen:
                seen.add(command.names)
                lines.append(command.help + "\n")
        return "".join(lines)


def server_commands(
    *,
    build: BuildInfo,
    metrics: ServerMetrics,
    started_at_s: float,
    data_dir: Path | None = None,
    wall_clock: Callable[[], float] = time.time,
    fault_injection: bool = False,
) -> CommandManager:
    """The commands every server answers. ``started_at_s`` is the process's start on
    ``wall_clock``; ``data_dir`` is where a replica server keeps its data;
    ``fault_injection`` adds ``fault-inject-network`` (transport/faults.py)."""
    manager = CommandManager()
    if fault_injection:
        manager.register(
            (faults.COMMAND,),
            help=faults.COMMAND_HELP,
            args=faults.COMMAND_ARGS,
            handler=faults.network_faults_command,
        )

    def server_info(args: list[str]) -> str:
        return json.dumps(
            {
                "version": build.version,
                "build_type": build.build_type,
                "git_SHA": build.git_sha,
                "start_time": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(started_at_s)),
                "uptime_seconds": max(0, int(wall_clock() - started_at_s)),
            },
            separators=(",", ":"),
            sort_keys=True,
        )

    def server_stat(args: list[str]) -> str:
        return brief_stat(metrics, data_dir)

    manager.register(
        ("server-info",), help="Query server information", args="", handler=server_info
    )
    manager.register(
        ("server-stat",), help="Query selected perf counters", args="", handler=server_stat
    )
    manager.register(("flush-log",), help="Flush log to stderr or file", args="", handler=flush_log)
    return manager


def flush_log(args: list[str]) -> str:
    """Upstream's ``flush-log``: every logging handler of the process writes out what it
    holds (the shell's ``flush_log``)."""
    loggers = [logging.getLogger()] + [
        lg for lg in logging.Logger.manager.loggerDict.values() if isinstance(lg, logging.Logger)
    ]
    for handler in {h for lg in loggers for h in lg.handlers}:
        handler.flush()
    return "Flush done."


def brief_stat(metrics: ServerMetrics, data_dir: Path | None) -> str:
    """Upstream's brief stat line, ``name=value, ...``, values rounded to integers."""
    figures: list[tuple[str, float]] = []
    if metrics.role == "replica":
        for op in _STAT_OPS:
            figures.append((f"{op}_qps", metrics.recent_rate(op)))
            figures.append((f"{op}_p99(ns)", metrics.latency_percentile_ns(op, _P99) or 0))
    gauges = metrics.gauge_values()
    figures += [(shown, gauges[name]) for shown, name in _STAT_GAUGES if name in gauges]
    memory = memory_use()
    if memory is not None:
        figures += [
            ("memused_virt(MB)", memory.virtual_mb),
            ("memused_res(MB)", memory.resident_mb),
        ]
    disk = disk_use(data_dir) if data_dir is not None else None
    if disk is not None:
        figures += [
            ("disk_capacity_total(MB)", disk.total_mb),
            ("disk_available_total_ratio", disk.available_ratio),
        ]
    return ", ".join(f"{name}={value:.0f}" for name, value in figures)
