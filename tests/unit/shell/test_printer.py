"""Upstream's table printer: aligned columns and its JSON shape."""

from __future__ import annotations

import json

from pegasus_log.shell.shell.printer import (
    as_json,
    cell,
    multi,
    render,
    render_one,
    single,
    tabular,
)


def test_cells() -> None:
    assert [cell(True), cell(False), cell(3), cell("x")] == ["true", "false", "3", "x"]


def test_single_column_pads_names_then_colon() -> None:
    table = single("general", [("app_name", "t"), ("app_id", 3)])
    assert tabular([table]) == ["[general]", "app_name  : t", "app_id    : 3", ""]


def test_multi_column_left_and_right_alignment() -> None:
    # every column is as wide as its widest cell plus two; right-aligned ones pad before
    table = multi("details", ["address", "status", "replica_count"], right=["replica_count"])
    table.add("127.0.0.1:1", "ALIVE", 12)
    table.add("127.0.0.1:22", "UNALIVE", 3)
    assert tabular([table]) == [
        "[details]",
        "address       status     replica_count",
        "127.0.0.1:1   ALIVE                 12",
        "127.0.0.1:22  UNALIVE                3",
        "",
    ]


def test_empty_tables() -> None:
    # a single-column table with no rows prints nothing, not even its name (as upstream)
    assert tabular([single("app_envs")]) == [""]
    assert render_one(single("app_envs"), json_output=False) == []
    assert render_one(single("app_envs"), json_output=True) == ["{}"]
    # a multi-column table keeps its header
    assert tabular([multi("t", ["a", "b"])]) == ["[t]", "a  b", ""]


def test_several_tables_each_followed_by_a_blank_line() -> None:
    lines = render([single("one", [("a", 1)]), single("two", [("b", 2)])], json_output=False)
    assert lines == ["[one]", "a  : 1", "", "[two]", "b  : 2", ""]


def test_json_shape_is_upstreams() -> None:
    general = single("general", [("app_id", 3), ("detailed", True)])
    replicas = multi("replicas", ["pidx", "primary"])
    replicas.add(0, "127.0.0.1:1")
    replicas.add(1, "-")
    lines = as_json([general, replicas, single("empty")])
    assert lines[:2] == ["{", '    "general": {']  # four blanks per level, as RapidJSON
    assert json.loads("\n".join(lines)) == {
        "general": {"app_id": "3", "detailed": "true"},
        "replicas": {
            "0": {"pidx": "0", "primary": "127.0.0.1:1"},
            "1": {"pidx": "1", "primary": "-"},
        },
    }
