"""Remote commands: the command registry, server-info, server-stat, the recent rates they
read, and the RPC_CLI_CLI_CALL wire form (real processes: tests/integration/
test_remote_commands.py)."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import pytest

from pegasus_log.observability.commands import CommandManager, brief_stat, server_commands
from pegasus_log.observability.metrics import RATE_WINDOW_S, ServerMetrics
from pegasus_log.observability.process import BuildInfo, build_info, disk_use, memory_use
from pegasus_log.rpc.error_code import ErrorCode
from pegasus_log.rpc.frame import (
    FrameLimits,
    RequestFramer,
    encode_reply,
    encode_request,
    read_args,
    read_call_header,
)
from pegasus_log.rpc.remote_command import CLI_CLI_CALL, RemoteCommand
from pegasus_log.rpc.thrift import ThriftDecodeError
from pegasus_log.shell.main import main
from pegasus_log.transport.server import Call, RpcError

BUILD = BuildInfo(version="9.9.9", git_sha="0123abc", build_type="CPython 3.11.7")


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def _call(cmd: str, *args: str) -> Call:
    return Call(CLI_CLI_CALL, None, 1, RemoteCommand(cmd, list(args)), "127.0.0.1:9", 0)  # type: ignore[arg-type]


# ---- the registry ----------------------------------------------------------------------


def test_unknown_commands_get_upstreams_text() -> None:
    manager = CommandManager()
    assert manager.run("no-such", []) == (False, "unknown command 'no-such'")
    assert manager.on_call(_call("")) == "unknown command ''"
    assert manager.on_call(_call("server-info")) == "unknown command 'server-info'"


def test_help_lists_each_command_once_and_explains_one() -> None:
    manager = CommandManager()
    manager.register(("echo", "e"), help="say it back", args="<words>", handler=" ".join)
    assert manager.run("echo", ["a", "b"]) == (True, "a b")
    assert manager.run("e", ["c"]) == (True, "c")
    listing = manager.run("help", [])[1]
    # in name order, byte-wise ("H" before "e"), as upstream's std::map has them
    assert listing == "help|h|H|Help - Display help information\necho|e - say it back\n"
    for alias in ("h", "H", "Help"):
        assert manager.run(alias, ["e"])[1] == "echo|e - say it back\necho|e <words>\n"
    assert manager.run("help", ["nope"])[1] == "cannot find command 'nope'"


def test_a_command_that_cannot_read_its_files_is_an_rpc_error() -> None:
    manager = CommandManager()

    def gone(_args: list[str]) -> str:
        raise FileNotFoundError("log.3 is gone")

    manager.register(("disk",), help="", args="", handler=gone)
    with pytest.raises(RpcError) as raised:
        manager.on_call(_call("disk"))
    assert raised.value.code == ErrorCode.ERR_FILE_OPERATION_FAILED
    assert manager.on_call(_call("h", "disk")) == "disk - \ndisk\n"


def test_a_name_registered_twice_is_a_programmer_error() -> None:
    manager = CommandManager()
    with pytest.raises(AssertionError):
        manager.register(("h",), help="", args="", handler=lambda _a: "")


# ---- server-info -----------------------------------------------------------------------


def test_server_info_has_upstreams_keys_and_uptime() -> None:
    wall = Clock(1_800_000_100.0)
    manager = server_commands(
        build=BUILD, metrics=ServerMetrics("meta"), started_at_s=1_800_000_000.0, wall_clock=wall
    )
    out = manager.run("server-info", [])[1]
    assert out == (
        '{"build_type":"CPython 3.11.7","git_SHA":"0123abc",'
        f'"start_time":"{time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(1_800_000_000))}",'
        '"uptime_seconds":100,"version":"9.9.9"}'
    )
    wall.now += 3600
    assert json.loads(manager.run("server-info", ["ignored"])[1])["uptime_seconds"] == 3700


def test_build_info_of_this_checkout(monkeypatch: pytest.MonkeyPatch) -> None:
    info = build_info()
    assert info.version != "" and info.build_type.startswith(("CPython", "PyPy"))
    assert len(info.git_sha) == 40 or info.git_sha == "unknown"
    monkeypatch.setenv("PEGASUS_LOG_GIT_COMMIT", "feedbeef")
    assert build_info().git_sha == "feedbeef"
    assert build_info().line("pegasus-log").endswith(f"(feedbeef) {info.build_type}")


# ---- server-stat -----------------------------------------------------------------------


def _stat(line: str) -> dict[str, int]:
    return {k: int(v) for k, v in (item.split("=") for item in line.split(", "))}


def test_recent_rates_count_whole_seconds_of_the_window() -> None:
    clock = Clock(1000.2)
    metrics = ServerMetrics("replica", clock=clock)
    for _ in range(30):
        metrics.on_request("RPC_RRDB_RRDB_PUT", "ERR_OK", 1000)
    assert metrics.recent_rate("put") == 0.0  # the current second is not over
    clock.now = 1001.0
    assert metrics.recent_rate("put") == 30 / RATE_WINDOW_S
    for _ in range(10):
        metrics.on_request("RPC_RRDB_RRDB_PUT", "ERR_OK", 1000)
    clock.now = 1002.5
    assert metrics.recent_rate("put") == 40 / RATE_WINDOW_S
    # the same ring slot, a window later, starts again from zero
    clock.now = 1000.0 + RATE_WINDOW_S
    metrics.on_request("RPC_RRDB_RRDB_PUT", "ERR_OK", 1000)
    clock.now += 1
    assert metrics.recent_rate("put") == 11 / RATE_WINDOW_S
    clock.now += RATE_WINDOW_S
    assert metrics.recent_rate("put") == 0.0
    assert metrics.recent_rate("get") == 0.0
    metrics.on_request("RPC_CM_LIST_APPS", "ERR_OK", 1000)  # not a data operation
    assert metrics.recent_rate("list_apps") == 0.0


def test_replica_server_stat(tmp_path: Path) -> None:
    clock = Clock(50.0)
    metrics = ServerMetrics("replica", clock=clock)
    for latency_ns in range(1, 101):
        metrics.on_request("RPC_RRDB_RRDB_GET", "ERR_OK", latency_ns * 1000)
    metrics.add_gauges(
        lambda: [
            ("total_replicas", "", [], [([], 8.0)]),
            ("learning_replicas", "", [], [([], 1.0)]),
            ("healthy_partitions", "", ["table"], [(["t"], 4.0)]),
        ]
    )
    clock.now = 51.0
    line = brief_stat(metrics, tmp_path)
    names = [item.split("=")[0] for item in line.split(", ")]
    assert names[:12] == [
        "get_qps", "get_p99(ns)", "multi_get_qps", "multi_get_p99(ns)", "batch_get_qps",
        "batch_get_p99(ns)", "put_qps", "put_p99(ns)", "multi_put_qps", "multi_put_p99(ns)",
        "serving_replica_count", "learning_count",
    ]  # fmt: skip
    stat = _stat(line)
    assert stat["get_qps"] == 10 and stat["get_p99(ns)"] == 100_000
    assert stat["put_qps"] == 0 and stat["put_p99(ns)"] == 0
    assert stat["serving_replica_count"] == 8 and stat["learning_count"] == 1
    assert stat["memused_res(MB)"] > 0 and stat["memused_virt(MB)"] >= stat["memused_res(MB)"]
    assert stat["disk_capacity_total(MB)"] > 0 and 0 <= stat["disk_available_total_ratio"] <= 100


def test_meta_server_stat_is_memory_only() -> None:
    manager = server_commands(build=BUILD, metrics=ServerMetrics("meta"), started_at_s=0.0)
    stat = _stat(manager.run("server-stat", [])[1])
    assert list(stat) == ["memused_virt(MB)", "memused_res(MB)"]


def test_process_facts_that_cannot_be_read(tmp_path: Path) -> None:
    memory = memory_use()
    assert memory is not None and memory.resident_mb > 0
    assert disk_use(tmp_path / "missing") is None
    disk = disk_use(tmp_path)
    assert disk is not None and 0 < disk.available_ratio <= 100


# ---- the wire --------------------------------------------------------------------------


def _decode(frame: bytes) -> RemoteCommand:
    (request,) = RequestFramer(FrameLimits()).feed(frame)
    _, r = read_call_header(request.body, FrameLimits().decode)
    decoded: RemoteCommand = read_args(CLI_CLI_CALL, r)
    return decoded


def test_wire_form_round_trips() -> None:
    sent = RemoteCommand("help", ["server-info", "ünï"])
    frame = encode_request(spec=CLI_CLI_CALL, seqid=7, arg=sent)
    assert b"RPC_CLI_CLI_CALL" in frame
    assert _decode(frame) == sent
    reply = encode_reply(error_name="ERR_OK", spec=CLI_CLI_CALL, seqid=7, result="out")
    # the result struct: field 0, a string
    assert b"RPC_CLI_CLI_CALL_ACK" in reply and reply.endswith(
        b"\x0b\x00\x00\x00\x00\x00\x03out\x00"
    )


def test_undecodable_arguments_are_refused() -> None:
    frame = encode_request(spec=CLI_CLI_CALL, seqid=7, arg=RemoteCommand("Xcmd", []))
    with pytest.raises(ThriftDecodeError, match="utf-8"):
        _decode(frame.replace(b"Xcmd", b"\xffcmd"))
    cut = frame.replace(b"\x0f\x00\x02\x0b\x00\x00\x00\x00", b"\x0f\x00\x02\x0b\x7f\xff\xff\xff")
    with pytest.raises(ThriftDecodeError):
        _decode(cut)


def test_command_line_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out == build_info().line("pegasus-log") + "\n"


# ---- flush-log -------------------------------------------------------------------------


class _Recording(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.flushes = 0

    def emit(self, record: logging.LogRecord) -> None:
        pass

    def flush(self) -> None:
        self.flushes += 1


def test_flush_log_flushes_every_handler_of_the_process() -> None:
    manager = server_commands(build=BUILD, metrics=ServerMetrics("replica"), started_at_s=0.0)
    root, named = _Recording(), _Recording()
    logging.getLogger().addHandler(root)
    logging.getLogger("pegasus_log.test_flush").addHandler(named)
    try:
        assert manager.run("flush-log", []) == (True, "Flush done.")
        assert (root.flushes, named.flushes) == (1, 1)
    finally:
        logging.getLogger().removeHandler(root)
        logging.getLogger("pegasus_log.test_flush").removeHandler(named)
