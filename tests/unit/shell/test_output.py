"""Upstream's output shapes, help, and completion."""

from __future__ import annotations

from pegasus_log.shell.shell.output import (
    HELP_USAGE_WIDTH,
    fetch_summary,
    help_all,
    help_one,
    info_lines,
    kv_line,
    location_detail,
    name_value_table,
    usage_lines,
    wrap_usage,
)
from pegasus_log.shell.shell.repl import completions
from pegasus_log.shell.shell.vocabulary import COMMANDS, COMMANDS_BY_NAME


def test_kv_line_shapes() -> None:
    assert kv_line(b"hk", b"sk", b"v") == '"hk" : "sk" => "v"'
    assert kv_line(b"hk", b"sk", None) == '"hk" : "sk"'
    assert kv_line(b"h\x00", b"", b"\n") == '"h\\x00" : "" => "\\n"'
    assert kv_line(b"a", b"b", b"c", escape_all=True) == '"\\x61" : "\\x62" => "\\x63"'
    detail = location_detail(3, 5, "127.0.0.1:34801")
    assert detail == "{app_id=3, partition_index=5, server=127.0.0.1:34801}"
    assert kv_line(b"a", b"b", None, detail=detail).endswith('"b" ' + detail)


def test_info_block_and_summaries() -> None:
    assert info_lines(2, 7, "127.0.0.1:1") == [
        "",
        "app_id          : 2",
        "partition_index : 7",
        "server          : 127.0.0.1:1",
    ]
    assert fetch_summary(3, True) == "3 key-value pairs got, fetch completed."
    assert fetch_summary(0, False, "sort keys") == "0 sort keys got, fetch not completed."


def test_name_value_table_aligns_like_table_printer() -> None:
    assert name_value_table([("key_hash", "1"), ("partition_index", "22")]) == [
        "key_hash         : 1",
        "partition_index  : 22",
    ]
    assert name_value_table([]) == []


def test_usage_wraps_between_groups_only() -> None:
    usage = COMMANDS_BY_NAME["full_scan"].usage
    lines = wrap_usage(usage)
    assert " ".join(lines) == usage
    for line in lines:
        assert line.startswith(("[", "<"))
        assert len(line) <= HELP_USAGE_WIDTH or " " not in line.strip("[]")
    assert usage_lines(COMMANDS_BY_NAME["get"]) == ["USAGE: get <hash_key> <sort_key>"]
    assert usage_lines(COMMANDS_BY_NAME["exit"]) == ["USAGE: exit"]


def test_help_lists_every_command() -> None:
    text = "\n".join(help_all(COMMANDS))
    assert text.startswith("Usage:\n")
    listed = [line.split()[0] for line in text.splitlines()[1:] if line[1:2] != " "]
    assert listed == [c.name for c in COMMANDS]
    one = help_one(COMMANDS_BY_NAME["sst_dump"])
    assert one[0].startswith("sst_dump: ") and "not available yet" in one[1]
    assert "not available yet" not in "\n".join(help_one(COMMANDS_BY_NAME["ls"]))


def test_completion_of_commands_and_flags() -> None:
    assert completions("", "multi_get") == ["multi_get", "multi_get_range", "multi_get_sortkeys"]
    assert completions("   ", "coun") == ["count", "count_data"]
    assert completions("help ", "che") == ["check_and_set", "check_and_mutate"]
    assert completions("multi_get_range h a z ", "--re") == ["--reverse"]
    assert "--force" in completions("clear_data ", "--")
    assert completions("nosuch ", "--") == []
    assert completions("get ", "h") == []
