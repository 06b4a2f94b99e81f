"""The argument parsers of the table and cluster commands."""

from __future__ import annotations

import re

import pytest

from pegasus_log.shell.shell.escaping import split_args
from pegasus_log.shell.shell.flags import UsageError
from pegasus_log.shell.shell.meta_args import (
    META_LEVELS,
    AppArgs,
    AppStatArgs,
    BalanceArgs,
    CreateArgs,
    DetectHotkeyArgs,
    DropArgs,
    LsArgs,
    NodesArgs,
    ProposeArgs,
    RecallArgs,
    RecoverArgs,
    RemoteCommandArgs,
    ReportArgs,
    name_matches,
    parse_app,
    parse_app_stat,
    parse_balance,
    parse_clear_app_envs,
    parse_cluster_info,
    parse_create,
    parse_del_app_envs,
    parse_detect_hotkey,
    parse_drop,
    parse_envs,
    parse_json_flag,
    parse_ls,
    parse_meta_level,
    parse_nodes,
    parse_propose,
    parse_recall,
    parse_recover,
    parse_remote_command,
    parse_set_app_envs,
)


def a(line: str) -> list[bytes]:
    return split_args(line)


# ---- ls --------------------------------------------------------------------------------


def test_ls_defaults_to_available_tables() -> None:
    got = parse_ls([])
    assert got == LsArgs()
    assert got.wants("AS_AVAILABLE", "t") and not got.wants("AS_DROPPED", "t")


def test_ls_all_and_status() -> None:
    every = parse_ls(a("-a"))
    assert every.wants("AS_DROPPED", "t") and every.wants("AS_AVAILABLE", "t")
    dropped = parse_ls(a("--all -s dropped"))  # -s wins over -a, as upstream
    assert dropped.wants("AS_DROPPED", "t") and not dropped.wants("AS_AVAILABLE", "t")
    assert parse_ls(a("-s all")).statuses == frozenset()
    assert parse_ls(a("--status=creating")).statuses == {"AS_CREATING"}


def test_ls_output_flags() -> None:
    got = parse_ls(a("-d -j -o /tmp/x"))
    assert (got.detailed, got.json, got.output) == (True, True, "/tmp/x")
    assert parse_ls(a("--detailed --json --output=f")).output == "f"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("-s bogus", "parse bogus as app_status::type failed"),
        ("-s invalid", "parse invalid as app_status::type failed"),
        ("-m sideways", "invalid match_type 'sideways'"),
        ("extra", "unexpected argument(s): extra"),
        ("-x", "option -x not recognized"),
    ],
)
def test_ls_refuses(line: str, message: str) -> None:
    with pytest.raises(UsageError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_ls(a(line))


def test_ls_pattern_match() -> None:
    got = parse_ls(a("-p tab -m prefix"))
    assert got.wants("AS_AVAILABLE", "table1") and not got.wants("AS_AVAILABLE", "my_table")
    # a pattern without a match type matches everything (upstream's PMT_MATCH_ALL)
    assert parse_ls(a("-p tab")).wants("AS_AVAILABLE", "zzz")


@pytest.mark.parametrize(
    ("match_type", "name", "expected"),
    [
        ("all", "anything", True),
        ("exact", "ab", True),
        ("exact", "abc", False),
        ("anywhere", "xaby", True),
        ("anywhere", "xay", False),
        ("prefix", "abz", True),
        ("prefix", "zab", False),
        ("postfix", "zab", True),
        ("postfix", "abz", False),
    ],
)
def test_name_matches(match_type: str, name: str, expected: bool) -> None:
    assert name_matches(name, "ab", match_type) is expected


# ---- app, create, drop, recall ---------------------------------------------------------


def test_app() -> None:
    assert parse_app(a("t")) == AppArgs("t")
    assert parse_app(a("-d t -r -j -o out")) == AppArgs(
        "t", detailed=True, resolve_ip=True, json=True, output="out"
    )
    with pytest.raises(UsageError, match="expect one <app_name>, got 0"):
        parse_app(a("-d"))
    with pytest.raises(UsageError, match="expect one <app_name>, got 2"):
        parse_app(a("t u"))
    with pytest.raises(UsageError, match="null app_name"):
        parse_app(a('""'))


def test_create_defaults_are_upstreams() -> None:
    assert parse_create(a("t")) == CreateArgs("t", 4, 3, success_if_exist=True, envs={})


def test_create_flags() -> None:
    got = parse_create(a("t -p 8 --replica_count 1 -f -e default_ttl=86400,manual_compact.a=b"))
    assert got == CreateArgs(
        "t",
        partition_count=8,
        replica_count=1,
        success_if_exist=False,
        envs={"default_ttl": "86400", "manual_compact.a": "b"},
    )
    assert parse_create(a("-i t")).atomic_idempotent


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("", "expect one <app_name>, got 0"),
        ("t -p 0", "partition_count should >= 1"),
        ("t -r 0", "replica_count should >= 1"),
        ("t -p x", "parse 'x' as partition_count failed"),
        ("t -e novalue", "invalid envs 'novalue'"),
        ("t -e =v", "invalid envs '=v'"),
    ],
)
def test_create_refuses(line: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        parse_create(a(line))


def test_envs_split_at_the_first_equals_sign() -> None:
    assert parse_envs("a=b=c,,d=") == {"a": "b=c", "d": ""}


def test_drop() -> None:
    assert parse_drop(a("t")) == DropArgs("t", 0)
    assert parse_drop(a("t")).reserve_or_default is None
    assert parse_drop(a("t -r 60")).reserve_or_default == 60
    assert parse_drop(a("--reserve_seconds=0 t")).reserve_or_default is None
    with pytest.raises(UsageError, match="out of range"):
        parse_drop(a("t -r -1"))
    with pytest.raises(UsageError):
        parse_drop(a("-r 5"))


def test_recall() -> None:
    assert parse_recall(a("3")) == RecallArgs(3, "")
    assert parse_recall(a("3 new")) == RecallArgs(3, "new")
    with pytest.raises(UsageError, match="parse 'x' as id failed"):
        parse_recall(a("x"))
    with pytest.raises(UsageError, match="expect 1 to 2 argument"):
        parse_recall(a("3 a b"))
    with pytest.raises(UsageError, match="out of range"):
        parse_recall(a("0"))


# ---- app envs --------------------------------------------------------------------------


def test_env_commands() -> None:
    assert parse_json_flag([]) is False
    assert parse_json_flag(a("--json")) is True
    assert parse_set_app_envs(a("k1 v1 k2 v2")) == {"k1": "v1", "k2": "v2"}
    with pytest.raises(UsageError, match="need specify the value for key = k2"):
        parse_set_app_envs(a("k1 v1 k2"))
    with pytest.raises(UsageError, match="at least 2"):
        parse_set_app_envs(a("k1"))
    assert parse_del_app_envs(a("k1 k2 k1")) == ["k1", "k2"]
    with pytest.raises(UsageError):
        parse_del_app_envs([])


def test_clear_app_envs_needs_all_or_a_prefix() -> None:
    assert parse_clear_app_envs(a("-a")) == ""
    assert parse_clear_app_envs(a("--prefix rocksdb.")) == "rocksdb."
    assert parse_clear_app_envs(a("-p x --all")) == ""
    with pytest.raises(UsageError, match="must specify one of --all and --prefix options"):
        parse_clear_app_envs([])


# ---- cluster ---------------------------------------------------------------------------


def test_cluster_info() -> None:
    assert parse_cluster_info([]) == ReportArgs()
    assert parse_cluster_info(a("-r -j -o f")) == ReportArgs(True, True, "f")


def test_nodes() -> None:
    assert parse_nodes([]) == NodesArgs()
    got = parse_nodes(a("-d -s alive -j -i 100"))
    assert got.detailed and got.json and got.status == "alive"
    assert got.wants(True) and not got.wants(False)
    assert parse_nodes(a("-s unalive")).wants(False)
    assert parse_nodes(a("-s all")).wants(False)
    assert parse_nodes(a("-u -q")) == NodesArgs(resource_usage=True, qps=True)
    with pytest.raises(UsageError, match="parse dead as node_status::type failed"):
        parse_nodes(a("-s dead"))
    with pytest.raises(UsageError):
        parse_nodes(a("-i 0"))


def test_server_info_and_server_stat_fix_the_command() -> None:
    assert parse_remote_command([], command="server-info") == RemoteCommandArgs("server-info")
    got = parse_remote_command(a("-t meta-server"), command="server-stat")
    assert (got.command, got.node_type) == ("server-stat", "meta-server")
    got = parse_remote_command(a("-l 127.0.0.1:1,127.0.0.1:2"), command="server-info")
    assert got == RemoteCommandArgs("server-info", (), "", ("127.0.0.1:1", "127.0.0.1:2"))
    assert parse_remote_command(a("-i 500"), command="server-stat").sample_interval_ms == 500
    with pytest.raises(UsageError, match="can not specify both"):
        parse_remote_command(a("-t all -l 127.0.0.1:1"), command="server-info")
    with pytest.raises(UsageError, match="invalid node_type"):
        parse_remote_command(a("-t proxy"), command="server-info")
    with pytest.raises(UsageError, match="unexpected argument"):
        parse_remote_command(a("extra"), command="server-info")
    with pytest.raises(UsageError, match=r"127\.0\.0\.1"):
        parse_remote_command(a("-l 127.0.0.1"), command="server-info")
    with pytest.raises(UsageError, match="sample_interval_ms"):
        parse_remote_command(a("-i 0"), command="server-stat")


def test_remote_command_names_its_command_and_arguments() -> None:
    got = parse_remote_command(a("help server-info -t replica-server"))
    assert got == RemoteCommandArgs("help", ("server-info",), "replica-server")
    # upstream's shell spellings map to the servers' command names
    assert parse_remote_command(a("server_info")).command == "server-info"
    assert parse_remote_command(a("server_stat")).command == "server-stat"
    assert parse_remote_command(a("flush_log")).command == "flush-log"
    # arguments that look like flags come after --
    arguments = parse_remote_command(a("-l 127.0.0.1:1 -- no-such -x")).arguments
    assert arguments == ("-x",)
    assert parse_remote_command(a("-l 127.0.0.1:1 -- no-such -x")).command == "no-such"
    with pytest.raises(UsageError, match="missing <command>"):
        parse_remote_command(a("-t all"))
    with pytest.raises(UsageError):
        parse_remote_command(a("help -x"))


def test_meta_levels() -> None:
    assert META_LEVELS == ("stopped", "blind", "freezed", "steady", "lively")
    assert parse_meta_level(a("lively")) == "fl_lively"
    with pytest.raises(UsageError, match="parse fl_steady as meta function level failed"):
        parse_meta_level(a("fl_steady"))
    with pytest.raises(UsageError):
        parse_meta_level([])


def test_balance_takes_upstreams_flags_long_or_short() -> None:
    want = BalanceArgs(2, 5, "copy_sec", "127.0.0.1:34801", "127.0.0.1:34803")
    short = split_args("-g 2.5 -p copy_sec -f 127.0.0.1:34801 -t 127.0.0.1:34803")
    assert parse_balance(short) == want
    long = split_args("--to 127.0.0.1:34803 --type=copy_sec --gpid 2.5 --from 127.0.0.1:34801")
    assert parse_balance(long) == want


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("-p move_pri -f 127.0.0.1:1 -t 127.0.0.1:2", "need set the gpid by -g"),
        ("-g 2 -p move_pri -f 127.0.0.1:1 -t 127.0.0.1:2", "parse 2 as gpid failed"),
        ("-g a.b -p move_pri -f 127.0.0.1:1 -t 127.0.0.1:2", "parse a.b as gpid failed"),
        ("-g 4294967297.0 -p move_pri -f 127.0.0.1:1 -t 127.0.0.1:2", "as gpid failed"),
        ("-g 2.1 -p move -f 127.0.0.1:1 -t 127.0.0.1:2", "parse move as a balance type failed"),
        ("-g 2.1 -f 127.0.0.1:1 -t 127.0.0.1:2", "parse  as a balance type failed"),
        ("-g 2.1 -p move_pri -t 127.0.0.1:2", "need set from address by -f"),
        ("-g 2.1 -p move_pri -f 127.0.0.1:1", "need set target address by -t"),
        ("-g 2.1 -p move_pri -f host:1 -t 127.0.0.1:2", "is not IPV4:PORT"),
        ("-g 2.1 -p move_pri -f 127.0.0.1:1 -t 127.0.0.1:2 extra", "unexpected argument"),
    ],
)
def test_balance_refuses_what_upstream_refuses(line: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        parse_balance(split_args(line))


def test_propose_takes_upstreams_flags() -> None:
    line = "-f -g 3.1 -p ASSIGN_PRIMARY -t 127.0.0.1:34801 -n 127.0.0.1:34801"
    assert parse_propose(split_args(line)) == ProposeArgs(
        3, 1, "CT_ASSIGN_PRIMARY", "127.0.0.1:34801", "127.0.0.1:34801", force=True
    )
    long = "--gpid 3.1 --type REMOVE --target 127.0.0.1:1 --node 127.0.0.1:2"
    assert not parse_propose(split_args(long)).force
    for bad, message in [
        ("-g 3.1 -p ASSIGN_PRIMARY -n 127.0.0.1:1", "need set target by -t"),
        ("-g 3.1 -p ASSIGN_PRIMARY -t 127.0.0.1:1", "need set node by -n"),
        ("-p ASSIGN_PRIMARY -t 127.0.0.1:1 -n 127.0.0.1:1", "need set gpid by -g"),
        ("-g 3.1 -p PROMOTE -t 127.0.0.1:1 -n 127.0.0.1:1", "parse CT_PROMOTE as config_type"),
        ("-g 3.1 -p INVALID -t 127.0.0.1:1 -n 127.0.0.1:1", "parse CT_INVALID as config_type"),
    ]:
        with pytest.raises(UsageError, match=message):
            parse_propose(split_args(bad))


def test_app_stat() -> None:
    assert parse_app_stat(a("")) == AppStatArgs()
    assert AppStatArgs().sample_interval_ms == 1000  # upstream's tables_sample_interval_ms
    assert parse_app_stat(a("-a temp -q -j -o f -i 200")) == AppStatArgs(
        "temp", only_qps=True, json=True, output="f", sample_interval_ms=200
    )
    assert parse_app_stat(a("--app_name t --only_usage")) == AppStatArgs("t", only_usage=True)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("-q -u", "only_qps and only_usage should not be set at the same time"),
        ("-i 0", "sample_interval_ms"),
        ("-i x", "sample_interval_ms"),
        ("temp", "unexpected argument(s): temp"),
    ],
)
def test_app_stat_refuses(line: str, message: str) -> None:
    with pytest.raises(UsageError, match=re.escape(message)):
        parse_app_stat(a(line))


def _no_file(name: str) -> str:
    raise FileNotFoundError(2, "No such file or directory", name)


def test_recover_takes_nodes_from_a_string_or_a_file() -> None:
    assert parse_recover(a("-s 127.0.0.1:1,127.0.0.1:2,127.0.0.1:1"), read_file=_no_file) == (
        RecoverArgs(("127.0.0.1:1", "127.0.0.1:2"))
    )
    listed = "# servers\n 127.0.0.1:3 \n\n;127.0.0.1:9\n127.0.0.1:4\n"
    got = parse_recover(a("-f nodes -w 5 -b -l -o out"), read_file=lambda _: listed)
    assert got == RecoverArgs(
        ("127.0.0.1:3", "127.0.0.1:4"),
        wait_seconds=5,
        skip_bad_nodes=True,
        skip_lost_partitions=True,
        output="out",
    )


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("", "should specify one of node_list_file/node_list_str"),
        ("-s 127.0.0.1:1 -f x", "should only specify one of node_list_file/node_list_str"),
        ("-s ,", "no node specified in node_list_str"),
        ("-s nohost", "parse nohost as a host:port node failed"),
        ("-s 127.0.0.1:1 -w 0", "wait_seconds"),
        ("-f missing", "open file missing failed: No such file or directory"),
    ],
)
def test_recover_refuses(line: str, message: str) -> None:
    with pytest.raises(UsageError, match=re.escape(message)):
        parse_recover(a(line), read_file=_no_file)


def test_detect_hotkey_takes_upstreams_flags() -> None:
    want = DetectHotkeyArgs(3, 1, "READ", "Start", "127.0.0.1:34801")
    line = "-a 3 -p 1 -t READ -c Start -d 127.0.0.1:34801"
    assert parse_detect_hotkey(split_args(line)) == want
    long = "--app_id 3 --partition_index 1 --hotkey_type READ --hotkey_action Start"
    assert parse_detect_hotkey(split_args(long + " --address 127.0.0.1:34801")) == want


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("-p 1 -t read -c start -d 127.0.0.1:1", '"" is an invalid num'),
        ("-a x -p 1 -t read -c start -d 127.0.0.1:1", '"x" is an invalid num'),
        ("-a 1 -p y -t read -c start -d 127.0.0.1:1", '"y" is an invalid num'),
        ("-a 1 -p 1 -t read -c start -d nowhere", "invalid host:port 'nowhere', can't transform"),
        ("-a 1 -p 1 -t hot -c start -d 127.0.0.1:1", '"hot" is an invalid hotkey type'),
        ("-a 1 -p 1 -t read -c go -d 127.0.0.1:1", '"go" is an invalid hotkey detect action'),
    ],
)
def test_detect_hotkey_refusals(line: str, message: str) -> None:
    with pytest.raises(UsageError, match=re.escape(message)):
        parse_detect_hotkey(split_args(line))
