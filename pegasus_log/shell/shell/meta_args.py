"""Pure parsers of the table and cluster commands (``ls``, ``app``, ``create``, ``drop``,
``recall``, the app env commands, ``cluster_info``, ``nodes``, ``remote_command``,
``server_info``, ``server_stat``, the meta level commands and ``balance``), like
``commands`` for the data commands: byte arguments after the command name in, typed
requests out, ``UsageError`` for what upstream would refuse.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import field

from pegasus_log.client.admin import BALANCE_TYPES
from pegasus_log.frozen import frozen
from pegasus_log.rpc.admin import AppStatus, ConfigType, MetaFunctionLevel
from pegasus_log.rpc.thrift import RpcAddress
from pegasus_log.shell.shell.commands import parse_meta_list
from pegasus_log.shell.shell.flags import (
    INT32_MAX,
    Flag,
    Parsed,
    UsageError,
    expect_count,
    parse_flags,
    parse_int,
    text,
)

# Upstream's defaults for ``create``.
DEFAULT_PARTITION_COUNT = 4
DEFAULT_REPLICA_COUNT = 3
# Upstream's ``tables_sample_interval_ms``: app_stat's time between its two samples.
TABLES_SAMPLE_INTERVAL_MS = 1000
MATCH_TYPES = ("all", "exact", "anywhere", "prefix", "postfix")
NODE_TYPES = ("all", "meta-server", "replica-server")
META_LEVELS = tuple(
    level.name.removeprefix("fl_") for level in MetaFunctionLevel if level.name != "fl_invalid"
)


def _output(parsed: Parsed) -> str | None:
    raw = parsed.last("output")
    return None if raw is None else text(raw)


def _one_name(parsed: Parsed, what: str = "app_name") -> str:
    if len(parsed.positional) != 1:
        raise UsageError(f"expect one <{what}>, got {len(parsed.positional)} argument(s)")
    name = text(parsed.positional[0])
    if not name:
        raise UsageError(f"null {what}")
    return name


def _no_positional(parsed: Parsed) -> None:
    if parsed.positional:
        extra = " ".join(text(a) for a in parsed.positional)
        raise UsageError(f"unexpected argument(s): {extra}")


# ---- tables ----------------------------------------------------------------------------


@frozen
class LsArgs:
    detailed: bool = False
    json: bool = False
    output: str | None = None
    statuses: frozenset[str] = frozenset({"AS_AVAILABLE"})  # empty: every status
    pattern: str = ""
    match_type: str = "all"

    def wants(self, status: str, name: str) -> bool:
        if self.statuses and status not in self.statuses:
            return False
        return name_matches(name, self.pattern, self.match_type)


def name_matches(name: str, pattern: str, match_type: str) -> bool:
    """Upstream's ``pattern_match``: ``all`` matches every name whatever the pattern."""
    if match_type == "all":
        return True
    if match_type == "exact":
        return name == pattern
    if match_type == "anywhere":
        return pattern in name
    if match_type == "prefix":
        return name.startswith(pattern)
    assert match_type == "postfix", match_type
    return name.endswith(pattern)


def parse_ls(args: Sequence[bytes]) -> LsArgs:
    flags = (
        Flag("a", "all", False),
        Flag("d", "detailed", False),
        Flag("j", "json", False),
        Flag("o", "output"),
        Flag("s", "status"),
        Flag("p", "app_name_pattern"),
        Flag("m", "match_type"),
    )
    parsed = parse_flags(args, flags)
    _no_positional(parsed)
    raw_status = parsed.last("status")
    # -a shows every status, unless -s names one (upstream: -s wins over -a).
    statuses: frozenset[str] = frozenset() if parsed.has("all") else frozenset({"AS_AVAILABLE"})
    if raw_status is not None:
        statuses = _status(text(raw_status))
    raw_match = parsed.last("match_type")
    match_type = "all" if raw_match is None else text(raw_match)
    if match_type not in MATCH_TYPES:
        raise UsageError(f"invalid match_type {match_type!r}: expect {'|'.join(MATCH_TYPES)}")
    raw_pattern = parsed.last("app_name_pattern")
    return LsArgs(
        detailed=parsed.has("detailed"),
        json=parsed.has("json"),
        output=_output(parsed),
        statuses=statuses,
        pattern="" if raw_pattern is None else text(raw_pattern),
        match_type=match_type,
    )


def _status(raw: str) -> frozenset[str]:
    if raw == "all":
        return frozenset()
    name = "AS_" + raw.upper()
    if name not in AppStatus.__members__ or name == "AS_INVALID":
        raise UsageError(f"parse {raw} as app_status::type failed")
    return frozenset({name})


@frozen
class AppArgs:
    name: str
    detailed: bool = False
    resolve_ip: bool = False
    json: bool = False
    output: str | None = None


def parse_app(args: Sequence[bytes]) -> AppArgs:
    flags = (
        Flag("d", "detailed", False),
        Flag("r", "resolve_ip", False),
        Flag("o", "output"),
        Flag("j", "json", False),
    )
    parsed = parse_flags(args, flags)
    return AppArgs(
        _one_name(parsed),
        detailed=parsed.has("detailed"),
        resolve_ip=parsed.has("resolve_ip"),
        json=parsed.has("json"),
        output=_output(parsed),
    )


@frozen
class AppStatArgs:
    name: str = ""  # empty: every table
    only_qps: bool = False
    only_usage: bool = False
    json: bool = False
    output: str | None = None
    sample_interval_ms: int = TABLES_SAMPLE_INTERVAL_MS


def parse_app_stat(args: Sequence[bytes]) -> AppStatArgs:
    flags = (
        Flag("a", "app_name"),
        Flag("q", "only_qps", False),
        Flag("u", "only_usage", False),
        Flag("j", "json", False),
        Flag("o", "output"),
        Flag("i", "sample_interval_ms"),
    )
    parsed = parse_flags(args, flags)
    _no_positional(parsed)
    if parsed.has("only_qps") and parsed.has("only_usage"):
        raise UsageError("only_qps and only_usage should not be set at the same time")
    raw_name, raw_interval = parsed.last("app_name"), parsed.last("sample_interval_ms")
    return AppStatArgs(
        name="" if raw_name is None else text(raw_name),
        only_qps=parsed.has("only_qps"),
        only_usage=parsed.has("only_usage"),
        json=parsed.has("json"),
        output=_output(parsed),
        sample_interval_ms=(
            TABLES_SAMPLE_INTERVAL_MS
            if raw_interval is None
            else parse_int("sample_interval_ms", raw_interval, lo=1)
        ),
    )


@frozen
class CreateArgs:
    name: str
    partition_count: int = DEFAULT_PARTITION_COUNT
    replica_count: int = DEFAULT_REPLICA_COUNT
    success_if_exist: bool = True  # upstream: creating an existing table succeeds, unless -f
    atomic_idempotent: bool = False
    envs: dict[str, str] = field(default_factory=dict)


def parse_envs(raw: str) -> dict[str, str]:
    """``k1=v1,k2=v2`` (upstream's ``parse_kv_map``: items split at ``,``, then at the
    first ``=``)."""
    envs: dict[str, str] = {}
    for item in raw.split(","):
        if not item:
            continue
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UsageError(f"invalid envs {raw!r}: expect k1=v1,k2=v2...")
        envs[key] = value
    return envs


def parse_create(args: Sequence[bytes]) -> CreateArgs:
    flags = (
        Flag("p", "partition_count"),
        Flag("r", "replica_count"),
        Flag("f", "fail_if_exist", False),
        Flag("i", "atomic_idempotent", False),
        Flag("e", "envs"),
    )
    parsed = parse_flags(args, flags)
    name = _one_name(parsed)
    raw_p, raw_r, raw_e = (
        parsed.last("partition_count"),
        parsed.last("replica_count"),
        parsed.last("envs"),
    )
    partitions = DEFAULT_PARTITION_COUNT
    if raw_p is not None:
        partitions = parse_int("partition_count", raw_p)
        if partitions < 1:
            raise UsageError("partition_count should >= 1")
    replicas = DEFAULT_REPLICA_COUNT
    if raw_r is not None:
        replicas = parse_int("replica_count", raw_r)
        if replicas < 1:
            raise UsageError("replica_count should >= 1")
    return CreateArgs(
        name,
        partition_count=partitions,
        replica_count=replicas,
        success_if_exist=not parsed.has("fail_if_exist"),
        atomic_idempotent=parsed.has("atomic_idempotent"),
        envs={} if raw_e is None else parse_envs(text(raw_e)),
    )


@frozen
class DropArgs:
    name: str
    reserve_seconds: int = 0  # 0: the meta's default hold time

    @property
    def reserve_or_default(self) -> int | None:
        """What to ask the meta for: None for its default (upstream sends 0 for that)."""
        return self.reserve_seconds or None


def parse_drop(args: Sequence[bytes]) -> DropArgs:
    parsed = parse_flags(args, (Flag("r", "reserve_seconds"),))
    name = _one_name(parsed)
    raw = parsed.last("reserve_seconds")
    reserve = 0 if raw is None else parse_int("reserve_seconds", raw, lo=0)
    return DropArgs(name, reserve)


@frozen
class RecallArgs:
    app_id: int
    new_name: str = ""


def parse_recall(args: Sequence[bytes]) -> RecallArgs:
    expect_count(args, lo=1, hi=2)
    app_id = parse_int("id", args[0], lo=1)
    return RecallArgs(app_id, text(args[1]) if len(args) == 2 else "")


@frozen
class RecoverArgs:
    nodes: tuple[str, ...]
    wait_seconds: int = 100  # upstream's default
    skip_bad_nodes: bool = False
    skip_lost_partitions: bool = False
    output: str | None = None


def parse_recover(args: Sequence[bytes], *, read_file: Callable[[str], str]) -> RecoverArgs:
    """``recover``: the replica servers from ``-s a,b`` or from a file of one per line
    (blank lines and lines starting with ``#`` or ``;`` skipped), as upstream reads them;
    duplicates are dropped. ``read_file`` reads the file (OSError when it cannot)."""
    flags = (
        Flag("f", "node_list_file"),
        Flag("s", "node_list_str"),
        Flag("w", "wait_seconds"),
        Flag("b", "skip_bad_nodes", False),
        Flag("l", "skip_lost_partitions", False),
        Flag("o", "output"),
    )
    parsed = parse_flags(args, flags)
    _no_positional(parsed)
    raw_wait = parsed.last("wait_seconds")
    wait = 100 if raw_wait is None else parse_int("wait_seconds", raw_wait, lo=1)
    from_file, listed = parsed.last("node_list_file"), parsed.last("node_list_str")
    if from_file is None and listed is None:
        raise UsageError("should specify one of node_list_file/node_list_str")
    if from_file is not None and listed is not None:
        raise UsageError("should only specify one of node_list_file/node_list_str")
    if listed is not None:
        tokens = [t.strip() for t in text(listed).split(",") if t.strip()]
        where = "node_list_str"
    else:
        name = text(from_file or b"")
        try:
            content = read_file(name)
        except OSError as e:
            raise UsageError(f"open file {name} failed: {e.strerror or e}") from None
        tokens = [
            line.strip()
            for line in content.splitlines()
            if line.strip() and line.strip()[0] not in "#;"
        ]
        where = f"file {name}"
    if not tokens:
        raise UsageError(f"no node specified in {where}")
    for token in tokens:
        try:
            RpcAddress.parse(token)
        except ValueError:
            raise UsageError(f"parse {token} as a host:port node failed") from None
    return RecoverArgs(
        nodes=tuple(dict.fromkeys(tokens)),
        wait_seconds=wait,
        skip_bad_nodes=parsed.has("skip_bad_nodes"),
        skip_lost_partitions=parsed.has("skip_lost_partitions"),
        output=_output(parsed),
    )


def parse_rename(args: Sequence[bytes]) -> tuple[str, str]:
    """``rename <old_app_name> <new_app_name>``."""
    expect_count(args, lo=2, hi=2)
    old, new = text(args[0]), text(args[1])
    if not old or not new:
        raise UsageError("null app name")
    return old, new


# ---- app envs --------------------------------------------------------------------------


def parse_json_flag(args: Sequence[bytes]) -> bool:
    """Commands whose one flag is ``-j|--json``."""
    parsed = parse_flags(args, (Flag("j", "json", False),))
    _no_positional(parsed)
    return parsed.has("json")


def parse_app_json(args: Sequence[bytes]) -> tuple[str, bool]:
    """``<app_name> [-j|--json]`` (``get_replica_count``, ``get_atomic_idempotent``):
    (table, json)."""
    parsed = parse_flags(args, (Flag("j", "json", False),))
    return _one_name(parsed), parsed.has("json")


def parse_one_app(args: Sequence[bytes]) -> str:
    """``<command> <app_name>`` (``enable_atomic_idempotent``, ``disable_...``)."""
    return _one_name(parse_flags(args, ()))


def parse_set_replica_count(args: Sequence[bytes]) -> tuple[str, int]:
    """``set_replica_count <app_name> <replica_count>``, with upstream's messages."""
    expect_count(args, lo=2, hi=2)
    try:
        count = parse_int("replica count", args[1])
    except UsageError:
        raise UsageError(f"parse '{text(args[1])}' as replica count failed") from None
    if count < 1:
        raise UsageError("replica count should be >= 1")
    return text(args[0]), count


def parse_set_app_envs(args: Sequence[bytes]) -> dict[str, str]:
    expect_count(args, lo=2)
    if len(args) % 2:
        raise UsageError(f"need specify the value for key = {text(args[-1])}")
    return {text(k): text(v) for k, v in zip(args[::2], args[1::2], strict=True)}


def parse_del_app_envs(args: Sequence[bytes]) -> list[str]:
    expect_count(args, lo=1)
    return list(dict.fromkeys(text(a) for a in args))


def parse_clear_app_envs(args: Sequence[bytes]) -> str:
    """The prefix of the env keys to clear; "" clears every one (``--all``)."""
    parsed = parse_flags(args, (Flag("a", "all", False), Flag("p", "prefix")))
    _no_positional(parsed)
    raw = parsed.last("prefix")
    prefix = "" if raw is None else text(raw)
    if parsed.has("all"):
        return ""
    if not prefix:
        raise UsageError("must specify one of --all and --prefix options")
    return prefix


# ---- cluster ---------------------------------------------------------------------------


@frozen
class ReportArgs:
    """What ``cluster_info`` takes: how to print."""

    resolve_ip: bool = False
    json: bool = False
    output: str | None = None


def parse_cluster_info(args: Sequence[bytes]) -> ReportArgs:
    flags = (Flag("r", "resolve_ip", False), Flag("j", "json", False), Flag("o", "output"))
    parsed = parse_flags(args, flags)
    _no_positional(parsed)
    return ReportArgs(parsed.has("resolve_ip"), parsed.has("json"), _output(parsed))


@frozen
class NodesArgs:
    detailed: bool = False
    resolve_ip: bool = False
    json: bool = False
    output: str | None = None
    status: str = ""  # "", all, alive or unalive
    resource_usage: bool = False
    qps: bool = False

    def wants(self, alive: bool) -> bool:
        if self.status in ("", "all"):
            return True
        return alive == (self.status == "alive")


def parse_nodes(args: Sequence[bytes]) -> NodesArgs:
    flags = (
        Flag("d", "detailed", False),
        Flag("r", "resolve_ip", False),
        Flag("u", "resource_usage", False),
        Flag("q", "qps", False),
        Flag("j", "json", False),
        Flag("s", "status"),
        Flag("o", "output"),
        Flag("i", "sample_interval_ms"),
    )
    parsed = parse_flags(args, flags)
    _no_positional(parsed)
    raw_status = parsed.last("status")
    status = "" if raw_status is None else text(raw_status)
    if status not in ("", "all", "alive", "unalive"):
        raise UsageError(f"parse {status} as node_status::type failed")
    raw_interval = parsed.last("sample_interval_ms")
    if raw_interval is not None:
        parse_int("sample_interval_ms", raw_interval, lo=1)
    return NodesArgs(
        detailed=parsed.has("detailed"),
        resolve_ip=parsed.has("resolve_ip"),
        json=parsed.has("json"),
        output=_output(parsed),
        status=status,
        resource_usage=parsed.has("resource_usage"),
        qps=parsed.has("qps"),
    )


# Shell command names that stand for a differently spelled remote command (upstream's
# mapping, plus server_stat); every other name is sent as given.
REMOTE_COMMAND_NAMES = {
    "server_info": "server-info",
    "server_stat": "server-stat",
    "flush_log": "flush-log",
}


@frozen
class RemoteCommandArgs:
    """``remote_command`` and the commands that are one remote command (``server_info``,
    ``server_stat``): what to send, and to which servers."""

    command: str
    arguments: tuple[str, ...] = ()
    node_type: str = "all"  # "" when nodes are listed
    nodes: tuple[str, ...] = ()
    resolve_ip: bool = False
    sample_interval_ms: int | None = None


def parse_remote_command(args: Sequence[bytes], *, command: str = "") -> RemoteCommandArgs:
    """The flags of upstream's ``remote_command``; ``command`` is fixed for ``server_info``
    and ``server_stat`` (which then take no positional argument), else the first positional
    argument names it and the rest are its arguments (after ``--`` when they start with
    ``-``)."""
    flags = (
        Flag("t", "type"),
        Flag("l", "nodes"),
        Flag("r", "resolve_ip", False),
        Flag("i", "sample_interval_ms"),
    )
    parsed = parse_flags(args, flags)
    positional = [text(x) for x in parsed.positional]
    if command:
        _no_positional(parsed)
    elif not positional:
        raise UsageError("missing <command>")
    else:
        command = REMOTE_COMMAND_NAMES.get(positional[0], positional[0])
        positional = positional[1:]
    raw_type, raw_nodes = parsed.last("type"), parsed.last("nodes")
    if raw_type is not None and raw_nodes is not None:
        raise UsageError("can not specify both node_type and nodes_str")
    nodes: tuple[str, ...] = ()
    node_type = "all"
    if raw_nodes is not None:
        nodes, node_type = tuple(parse_meta_list(raw_nodes)), ""
    elif raw_type is not None:
        node_type = text(raw_type)
        if node_type not in NODE_TYPES:
            raise UsageError(f"invalid node_type, should be in [{', '.join(NODE_TYPES)}]")
    raw_interval = parsed.last("sample_interval_ms")
    interval = None
    if raw_interval is not None:
        interval = parse_int("sample_interval_ms", raw_interval, lo=1)
    return RemoteCommandArgs(
        command=command,
        arguments=tuple(positional),
        node_type=node_type,
        nodes=nodes,
        resolve_ip=parsed.has("resolve_ip"),
        sample_interval_ms=interval,
    )


def parse_meta_level(args: Sequence[bytes]) -> str:
    """``set_meta_level``'s level, as the meta's name (``fl_steady``...)."""
    expect_count(args, lo=1, hi=1)
    level = text(args[0])
    if level not in META_LEVELS:
        raise UsageError(f"parse {level} as meta function level failed")
    return "fl_" + level


# ---- manual balancing --------------------------------------------------------------------


def parse_gpid(raw: bytes, *, partition_needed: bool) -> tuple[int, int] | None:
    """``app_id.partition_index`` (or ``app_id`` alone, partition -1, when the partition
    is not needed), each a non-negative int32; None for anything else."""
    app, dot, index = text(raw).partition(".")
    if not app.isdigit() or ((dot or partition_needed) and not index.isdigit()):
        return None
    gpid = (int(app), int(index) if dot else -1)
    return gpid if max(gpid) <= INT32_MAX else None


@frozen
class BalanceArgs:
    app_id: int
    partition_index: int
    kind: str  # one of BALANCE_TYPES
    source: str  # ip:port
    destination: str


_BALANCE_FLAGS = (
    Flag("g", "gpid"),
    Flag("p", "type"),
    Flag("f", "from"),
    Flag("t", "to"),
)


def _partition_gpid(parsed: Parsed, missing: str) -> tuple[int, int]:
    """``-g appid.pidx``: (app id, partition index); ``missing`` is upstream's message when
    it is absent (``balance`` and ``propose`` word it differently)."""
    raw = parsed.last("gpid")
    if raw is None:
        raise UsageError(missing)
    gpid = parse_gpid(raw, partition_needed=True)
    if gpid is None:
        raise UsageError(f"parse {text(raw)} as gpid failed")
    return gpid[0], gpid[1]


def _addresses(parsed: Parsed, *flags: tuple[str, str]) -> list[str]:
    """The ``ip:port`` each of ``flags`` (name, what upstream's message calls it) gives,
    in order; upstream's messages for one missing or malformed."""
    out = []
    for flag, what in flags:
        raw = parsed.last(flag)
        if raw is None:
            raise UsageError(f"need set {what}")
        try:
            out.append(str(RpcAddress.parse(text(raw))))
        except ValueError as e:
            raise UsageError(str(e)) from None
    return out


def parse_balance(args: Sequence[bytes]) -> BalanceArgs:
    """``balance -g appid.pidx -p move_pri|copy_pri|copy_sec -f ip:port -t ip:port``, with
    upstream's messages for what is missing or malformed."""
    parsed = parse_flags(args, _BALANCE_FLAGS)
    _no_positional(parsed)
    gpid = _partition_gpid(parsed, "need set the gpid by -g")
    kind = text(parsed.last("type") or b"")
    if kind not in BALANCE_TYPES:
        raise UsageError(f"parse {kind} as a balance type failed")
    addresses = _addresses(parsed, ("from", "from address by -f"), ("to", "target address by -t"))
    return BalanceArgs(gpid[0], gpid[1], kind, addresses[0], addresses[1])


@frozen
class ProposeArgs:
    app_id: int
    partition_index: int
    config_type: str  # a ConfigType name, CT_...
    target: str  # ip:port
    node: str
    force: bool


_PROPOSE_FLAGS = (
    Flag("f", "force", takes_value=False),
    Flag("g", "gpid"),
    Flag("p", "type"),
    Flag("t", "target"),
    Flag("n", "node"),
)


def parse_propose(args: Sequence[bytes]) -> ProposeArgs:
    """``propose [-f] -g appid.pidx -p config_type -t target -n node``; the type as
    upstream's shell takes it, without its ``CT_`` prefix (``ASSIGN_PRIMARY``)."""
    parsed = parse_flags(args, _PROPOSE_FLAGS)
    _no_positional(parsed)
    addresses = _addresses(parsed, ("target", "target by -t"), ("node", "node by -n"))
    gpid = _partition_gpid(parsed, "need set gpid by -g")
    config_type = "CT_" + text(parsed.last("type") or b"")
    if config_type not in ConfigType.__members__ or config_type == "CT_INVALID":
        raise UsageError(f"parse {config_type} as config_type failed.")
    return ProposeArgs(
        gpid[0], gpid[1], config_type, addresses[0], addresses[1], parsed.has("force")
    )


# ---- partitions whose every replica died ---------------------------------------------------


@frozen
class DddArgs:
    app_id: int = -1  # every table
    partition_index: int = -1  # every partition of the table
    diagnose: bool = False
    output: str | None = None


_DDD_FLAGS = (
    Flag("g", "gpid"),
    Flag("d", "diagnose", takes_value=False),
    Flag("a", "auto_diagnose", takes_value=False),
    Flag("s", "skip_prompt", takes_value=False),
    Flag("o", "output"),
)


def parse_ddd_diagnose(args: Sequence[bytes]) -> DddArgs:
    """``ddd_diagnose [-g appid|appid.pidx] [-d] [-a] [-s] [-o file]``. ``-a`` and ``-s``
    (upstream's answers to its prompt before proposing) are taken and change nothing:
    nothing is proposed."""
    parsed = parse_flags(args, _DDD_FLAGS)
    _no_positional(parsed)
    raw = parsed.last("gpid")
    gpid = (-1, -1) if raw is None else parse_gpid(raw, partition_needed=False)
    if gpid is None:
        raise UsageError(f"invalid gpid {text(raw or b'')}")
    return DddArgs(gpid[0], gpid[1], parsed.has("diagnose"), _output(parsed))


# ---- hotkey detection ------------------------------------------------------------------


@frozen
class DetectHotkeyArgs:
    app_id: int
    partition_index: int
    kind: str  # "read" or "write", as typed (upstream echoes it)
    action: str  # "start", "stop" or "query"
    address: str


_DETECT_HOTKEY_FLAGS = (
    Flag("a", "app_id"),
    Flag("p", "partition_index"),
    Flag("c", "hotkey_action"),
    Flag("t", "hotkey_type"),
    Flag("d", "address"),
)


def parse_detect_hotkey(args: Sequence[bytes]) -> DetectHotkeyArgs:
    """``detect_hotkey -a app_id -p partition_index -t read|write -c start|stop|query -d
    host:port``, with upstream's messages for what is malformed (types and actions in
    any case, as upstream's ``iequals``)."""
    parsed = parse_flags(args, _DETECT_HOTKEY_FLAGS)
    _no_positional(parsed)
    numbers = []
    for flag in ("app_id", "partition_index"):
        raw = text(parsed.last(flag) or b"")
        if not raw.lstrip("-").isdigit():
            raise UsageError(f'"{raw}" is an invalid num')
        numbers.append(int(raw))
    address = text(parsed.last("address") or b"")
    try:
        RpcAddress.parse(address)
    except ValueError:
        raise UsageError(
            f"invalid host:port '{address}', can't transform it into host_port"
        ) from None
    kind = text(parsed.last("hotkey_type") or b"")
    if kind.lower() not in ("read", "write"):
        raise UsageError(f"\"{kind}\" is an invalid hotkey type (should be 'read' or 'write')")
    action = text(parsed.last("hotkey_action") or b"")
    if action.lower() not in ("start", "stop", "query"):
        raise UsageError(
            f"\"{action}\" is an invalid hotkey detect action (should be 'start' or 'stop')"
        )
    return DetectHotkeyArgs(numbers[0], numbers[1], kind, action, address)
