"""The vocabulary and the argument parsers of every shell command."""

from __future__ import annotations

import pytest

from pegasus_log.client.aio import Mutation
from pegasus_log.rpc.messages import CasCheckType, FilterType
from pegasus_log.shell.shell.commands import (
    DEFAULT_MAX_BATCH_COUNT,
    Filter,
    ScanFilters,
    parse_check_and_mutate,
    parse_check_and_set,
    parse_clear_data,
    parse_copy_data,
    parse_count_data,
    parse_full_scan,
    parse_hash_key,
    parse_hash_scan,
    parse_hex,
    parse_incr,
    parse_key,
    parse_meta_list,
    parse_multi_del,
    parse_multi_del_range,
    parse_multi_get,
    parse_multi_get_range,
    parse_multi_set,
    parse_mutation_line,
    parse_optional_bool,
    parse_set,
    parse_timeout,
)
from pegasus_log.shell.shell.escaping import split_args
from pegasus_log.shell.shell.flags import Flag, UsageError, parse_flags, parse_int
from pegasus_log.shell.shell.vocabulary import COMMANDS, COMMANDS_BY_NAME

# Every command of upstream's shell (src/shell/main.cpp), in its order.
_UPSTREAM_COMMANDS = """
help version cluster_info app app_disk ls nodes create drop recall rename set_meta_level
get_meta_level balance propose use cc escape_all timeout hash set multi_set get multi_get
multi_get_range multi_get_sortkeys del multi_del multi_del_range incr check_and_set
check_and_mutate exist count ttl hash_scan full_scan copy_data clear_data count_data
remote_command server_info server_stat app_stat flush_log local_get rdb_key_str2hex
rdb_key_hex2str rdb_value_hex2str sst_dump mlog_dump recover add_backup_policy
ls_backup_policy query_backup_policy modify_backup_policy disable_backup_policy
enable_backup_policy restore_app query_restore_status get_app_envs set_app_envs
del_app_envs clear_app_envs ddd_diagnose add_dup query_dup dups remove_dup start_dup
pause_dup set_dup_fail_mode start_bulk_load query_bulk_load_status pause_bulk_load
restart_bulk_load cancel_bulk_load clear_bulk_load detect_hotkey get_replica_count
set_replica_count get_atomic_idempotent enable_atomic_idempotent disable_atomic_idempotent
local_partition_split exit
"""
UPSTREAM_COMMANDS = _UPSTREAM_COMMANDS.split()


def a(line: str) -> list[bytes]:
    """Arguments of a command line (after the command name)."""
    return split_args(line)


# ---- vocabulary ------------------------------------------------------------------------


def test_every_upstream_command_is_registered_in_upstream_order() -> None:
    names = [c.name for c in COMMANDS]
    assert [n for n in names if n in UPSTREAM_COMMANDS] == UPSTREAM_COMMANDS
    assert set(names) - set(UPSTREAM_COMMANDS) == {"quit"}


@pytest.mark.parametrize(
    "name",
    [
        "ls",
        "app",
        "create",
        "drop",
        "recall",
        "get_app_envs",
        "set_app_envs",
        "del_app_envs",
        "clear_app_envs",
        "cluster_info",
        "nodes",
        "server_info",
        "get_meta_level",
        "set_meta_level",
    ],
)
def test_table_and_cluster_commands_run_now(name: str) -> None:
    assert not COMMANDS_BY_NAME[name].unavailable


def test_data_commands_need_a_table_and_run_now() -> None:
    data = [
        "set",
        "get",
        "del",
        "multi_set",
        "multi_get",
        "multi_get_range",
        "count_data",
        "multi_get_sortkeys",
        "multi_del",
        "multi_del_range",
        "incr",
        "check_and_set",
        "check_and_mutate",
        "exist",
        "count",
        "ttl",
        "hash_scan",
        "full_scan",
        "copy_data",
        "clear_data",
    ]
    for name in data:
        c = COMMANDS_BY_NAME[name]
        assert c.needs_table and not c.unavailable, name


# ---- flags -----------------------------------------------------------------------------


def test_flags_short_long_prefix_and_equals_in_any_order() -> None:
    flags = [Flag("n", "max_count"), Flag("i", "no_value", False)]
    p = parse_flags(a("x -n 3 y --max_count=4 --no_v z -n5 -- -i"), flags)
    assert p.all("max_count") == [b"3", b"4", b"5"]
    assert p.last("max_count") == b"5"
    assert p.has("no_value")
    assert p.positional == [b"x", b"y", b"z", b"-i"]


def test_flag_values_keep_binary_bytes() -> None:
    p = parse_flags(a('-y "\\x00\\xff"'), [Flag("y", "sort_key_filter_pattern")])
    assert p.last("sort_key_filter_pattern") == b"\x00\xff"


@pytest.mark.parametrize("line", ["-q", "--nope", "-n", "--max_count"])
def test_bad_flags_are_usage_errors(line: str) -> None:
    with pytest.raises(UsageError):
        parse_flags(a(line), [Flag("n", "max_count")])


@pytest.mark.parametrize(("raw", "value"), [(b"7", 7), (b"-3", -3), (b"+2", 2)])
def test_parse_int(raw: bytes, value: int) -> None:
    assert parse_int("n", raw) == value


@pytest.mark.parametrize("raw", [b"", b"1.5", b"0x10", b" 1", b"2147483648", b"1_0"])
def test_parse_int_refuses(raw: bytes) -> None:
    with pytest.raises(UsageError):
        parse_int("n", raw)


# ---- shell state -----------------------------------------------------------------------


def test_meta_list() -> None:
    assert parse_meta_list(b"127.0.0.1:1,127.0.0.2:2") == ["127.0.0.1:1", "127.0.0.2:2"]
    for bad in (b"", b"localhost:1", b"1.2.3.4", b"1.2.3.4:0"):
        with pytest.raises(UsageError):
            parse_meta_list(bad)


def test_escape_all_and_timeout_arguments() -> None:
    assert parse_optional_bool([], "escape_all") is None
    assert parse_optional_bool([b"TRUE"], "escape_all") is True
    assert parse_timeout([b"250"]) == 250
    for bad in ([b"0"], [b"x"], [b"1", b"2"]):
        with pytest.raises(UsageError):
            parse_timeout(bad)


# ---- single keys and one hash key ------------------------------------------------------


def test_key_commands() -> None:
    k = parse_key(a('h ""'))
    assert (k.hash_key, k.sort_key) == (b"h", b"")
    for bad in ("h", "h s x"):
        with pytest.raises(UsageError):
            parse_key(a(bad))


def test_set() -> None:
    s = parse_set(a('h s "v v" 60'))
    assert (s.hash_key, s.sort_key, s.value, s.ttl_seconds) == (b"h", b"s", b"v v", 60)
    assert parse_set(a("h s v")).ttl_seconds == 0
    for bad in ("h s", "h s v 0", "h s v -1", "h s v x", "h s v 1 2"):
        with pytest.raises(UsageError):
            parse_set(a(bad))


def test_incr() -> None:
    assert parse_incr(a("h s")).increment == 1
    assert parse_incr(a("h s -9223372036854775808")).increment == -(2**63)
    for bad in ("h", "h s x", "h s 9223372036854775808"):
        with pytest.raises(UsageError):
            parse_incr(a(bad))


def test_multi_set() -> None:
    m = parse_multi_set(a("h a 1 b 2"))
    assert m.pairs == [(b"a", b"1"), (b"b", b"2")]
    for bad in ("h a", "h a 1 b", "h a 1 a 2"):
        with pytest.raises(UsageError):
            parse_multi_set(a(bad))


def test_multi_get_and_multi_del_sort_and_dedupe_keys() -> None:
    assert parse_multi_get(a("h")).sort_keys == []
    assert parse_multi_get(a("h c a c")).sort_keys == [b"a", b"c"]
    assert parse_multi_del(a("h b a")).sort_keys == [b"a", b"b"]
    with pytest.raises(UsageError):
        parse_multi_del(a("h"))
    with pytest.raises(UsageError):
        parse_multi_get([])


def test_hash_key_commands() -> None:
    assert parse_hash_key(a("h")) == b"h"
    with pytest.raises(UsageError):
        parse_hash_key(a("h x"))


def test_multi_get_range_defaults() -> None:
    r = parse_multi_get_range(a('h "" ""'))
    assert r.max_count == -1 and not r.no_value and not r.reverse
    o = r.options
    assert o.start_inclusive and not o.stop_inclusive and o.max_count == 0
    assert o.sort_key_filter_type == FilterType.FT_NO_FILTER


def test_multi_get_range_every_flag() -> None:
    r = parse_multi_get_range(a("h a z -a false --stop_inclusive TRUE -s prefix -y p -n 5 -i -r"))
    assert (r.range.hash_key, r.range.start_sort_key, r.range.stop_sort_key) == (b"h", b"a", b"z")
    o = r.options
    assert (o.start_inclusive, o.stop_inclusive, o.max_count, o.no_value, o.reverse) == (
        False,
        True,
        5,
        True,
        True,
    )
    assert o.sort_key_filter_type == FilterType.FT_MATCH_PREFIX
    assert o.sort_key_filter_pattern == b"p"


@pytest.mark.parametrize(
    "line", ["h a", "h a z extra", "h a z -a yes", "h a z -s exact", "h a z -s x", "h a z -n x"]
)
def test_multi_get_range_refuses(line: str) -> None:
    with pytest.raises(UsageError):
        parse_multi_get_range(a(line))


def test_multi_del_range() -> None:
    d = parse_multi_del_range(a("h a z -o /tmp/x -i -s postfix -y q"))
    assert d.output == "/tmp/x" and d.silent
    assert d.range.sort_key_filter == Filter("postfix", b"q")
    with pytest.raises(UsageError):
        parse_multi_del_range(a("h a z -r"))


# ---- atomic writes ---------------------------------------------------------------------


def test_check_and_set() -> None:
    c = parse_check_and_set(a("h -c ck -t int_less -o 5 -s sk -v val -l 30 -r"))
    assert c.check.check_type == CasCheckType.CT_VALUE_INT_LESS
    assert c.check.check_type_name == "int_less"
    assert (c.check.check_sort_key, c.check.check_operand) == (b"ck", b"5")
    assert (c.set_sort_key, c.set_value, c.ttl_seconds) == (b"sk", b"val", 30)
    assert c.check.return_check_value


def test_check_and_set_operand_only_needed_for_value_checks() -> None:
    c = parse_check_and_set(a("h -c ck -t not_exist -s sk -v ''"))
    assert c.check.check_operand == b"" and c.set_value == b""


@pytest.mark.parametrize(
    "line",
    [
        "-c ck -t exist -s sk -v v",  # no hash key
        "h -t exist -s sk -v v",  # no check sort key
        "h -c ck -s sk -v v",  # no check type
        "h -c ck -t no_check -s sk -v v",
        "h -c ck -t match_prefix -s sk -v v",  # operand needed
        "h -c ck -t exist -v v",
        "h -c ck -t exist -s sk",
        "h -c ck -t exist -s sk -v v -l x",
    ],
)
def test_check_and_set_refuses(line: str) -> None:
    with pytest.raises(UsageError):
        parse_check_and_set(a(line))


def test_check_and_mutate_with_mutations_on_the_command_line() -> None:
    c = parse_check_and_mutate(
        a("""h -c ck -t exist -m 'set "s 1" "\\x00" 9' --mutation "del x" -r""")
    )
    assert c.mutations == [Mutation(b"s 1", b"\x00", 9), Mutation(b"x", None)]
    assert c.check.return_check_value


def test_check_and_mutate_without_mutations_reads_them_later() -> None:
    assert parse_check_and_mutate(a("h -c ck -t exist")).mutations is None


@pytest.mark.parametrize(
    ("line", "mutation"),
    [
        ("set a b", Mutation(b"a", b"b", 0)),
        ('set "" "x y" 5', Mutation(b"", b"x y", 5)),
        ("del a", Mutation(b"a", None)),
        ("   ", None),
    ],
)
def test_mutation_lines(line: str, mutation: Mutation | None) -> None:
    assert parse_mutation_line(line) == mutation


@pytest.mark.parametrize("line", ["set a", "set a b 0", "del", "del a b", "put a b", '"x'])
def test_bad_mutation_lines(line: str) -> None:
    with pytest.raises(UsageError):
        parse_mutation_line(line)


# ---- scans -----------------------------------------------------------------------------


def test_hash_scan() -> None:
    h = parse_hash_scan(a("h a z -v exact -z val -n 3 -t 100 -d -o out"), timeout_ms=5000)
    assert h.value_filter == Filter("exact", b"val")
    assert (h.max_count, h.timeout_ms, h.detailed, h.output) == (3, 100, True, "out")
    assert parse_hash_scan(a("h a z"), timeout_ms=77).timeout_ms == 77
    for bad in ("h a z -v exact -i", "h a z -s exact", "h a z -t 0", "h a"):
        with pytest.raises(UsageError):
            parse_hash_scan(a(bad), timeout_ms=1)


def test_full_scan() -> None:
    f = parse_full_scan(a("-h prefix -x hk -s exact -y sk -v anywhere -z v -p 3"), timeout_ms=1)
    assert f.filters.hash_key == Filter("prefix", b"hk")
    assert f.filters.sort_key == Filter("exact", b"sk")
    assert f.filters.sort_key.server_type == FilterType.FT_MATCH_PREFIX
    assert f.partition == 3
    assert parse_full_scan([], timeout_ms=1).partition == -1
    for bad in ("-h exact", "-p -1", "stray", "-v prefix -i -z x"):
        with pytest.raises(UsageError):
            parse_full_scan(a(bad), timeout_ms=1)


def test_filters_behave_like_upstream_validate_filter() -> None:
    assert Filter().matches(b"anything")
    assert Filter("anywhere", b"").matches(b"x")
    assert Filter("anywhere", b"b").matches(b"abc")
    assert Filter("prefix", b"ab").matches(b"abc") and not Filter("prefix", b"b").matches(b"abc")
    assert Filter("postfix", b"bc").matches(b"abc")
    assert Filter("exact", b"").matches(b"") and not Filter("exact", b"").matches(b"a")
    exact = ScanFilters(sort_key=Filter("exact", b"ab"))
    assert exact.keep(b"ab", b"") and not exact.keep(b"abc", b"")


# ---- bulk ------------------------------------------------------------------------------


def test_count_data() -> None:
    c = parse_count_data(a("-c -p 2 -b 10 -d -a -n 3 -r 5"), timeout_ms=1)
    assert c.precise and c.diff_hash_key and c.stat_size
    assert (c.bulk.partition, c.bulk.max_batch_count, c.top_count, c.run_seconds) == (2, 10, 3, 5)
    d = parse_count_data([], timeout_ms=1)
    assert d.bulk.max_batch_count == DEFAULT_MAX_BATCH_COUNT and d.bulk.partition == -1
    for bad in ("-b 1", "-n -1", "-r x", "-p x", "extra"):
        with pytest.raises(UsageError):
            parse_count_data(a(bad), timeout_ms=1)


def test_copy_data() -> None:
    c = parse_copy_data(a("-c 127.0.0.1:1,127.0.0.1:2 -a other -e -n -m 4 -o 50"), timeout_ms=1)
    assert c.target_metas == ["127.0.0.1:1", "127.0.0.1:2"] and c.target_table == "other"
    assert c.no_ttl and c.no_overwrite and not c.use_multi_set
    assert (c.max_multi_set_concurrency, c.scan_batch_size) == (4, 50)
    for bad in (
        "-a other",
        "-c 127.0.0.1:1",
        "-c nohost -a t",
        "-c 127.0.0.1:1 -a t -g",
        "-c 127.0.0.1:1 -a t -u -n",
        "-c 127.0.0.1:1 -a t -v prefix -i",
        "-c 127.0.0.1:1 -a t -m 0",
    ):
        with pytest.raises(UsageError):
            parse_copy_data(a(bad), timeout_ms=1)


def test_clear_data() -> None:
    assert parse_clear_data(a("-f"), timeout_ms=1).force
    assert not parse_clear_data([], timeout_ms=1).force
    with pytest.raises(UsageError):
        parse_clear_data(a("-x"), timeout_ms=1)  # -x needs a pattern


def test_hex() -> None:
    assert parse_hex([b"0x0001ff"]) == b"\x00\x01\xff"
    with pytest.raises(UsageError):
        parse_hex([b"zz"])
