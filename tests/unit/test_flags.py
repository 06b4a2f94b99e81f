"""Server flags and their HTTP pages (pegasus_log/observability/flags.py), checked against
the shapes admin-cli's ``server-config`` reads (upstream's config_http_service)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pegasus_log.failure_detector import FdOptions, fd_flags
from pegasus_log.observability.flags import (
    MUTABLE_TAG,
    Flag,
    FlagRefused,
    FlagRegistry,
    FlagType,
    format_value,
    parse_value,
)


class Box:
    def __init__(self) -> None:
        self.limit = 5
        self.ratio = 0.5
        self.on = True

    def set_limit(self, value: int) -> None:
        if value > 100:
            raise FlagRefused("limit must stay <= 100")
        self.limit = value


def registry(box: Box) -> FlagRegistry:
    def set_ratio(value: float) -> None:
        box.ratio = value

    def set_on(value: bool) -> None:
        box.on = value

    return FlagRegistry(
        [
            Flag("meta_server", "limit", FlagType.FV_INT32, "a limit", lambda: box.limit,
                 box.set_limit, lambda v: v >= 0),
            Flag("replication", "ratio", FlagType.FV_DOUBLE, "a ratio", lambda: box.ratio,
                 set_ratio),
            Flag("replication", "on", FlagType.FV_BOOL, "a switch", lambda: box.on, set_on),
            Flag("zookeeper", "hosts_list", FlagType.FV_STRING, "hosts", lambda: "zk:2181"),
            Flag("replication", "fixed", FlagType.FV_INT64, "fixed", lambda: 7),
        ]
    )  # fmt: skip


def test_list_page_shows_every_flag_with_string_values() -> None:
    status, body = registry(Box()).list_page({})
    assert status == 200
    flags = json.loads(body)
    assert sorted(flags) == ["fixed", "hosts_list", "limit", "on", "ratio"]
    assert flags["limit"] == {
        "name": "limit",
        "section": "meta_server",
        "type": "FV_INT32",
        "tags": MUTABLE_TAG,
        "description": "a limit",
        "value": "5",
    }
    assert flags["ratio"]["value"] == "0.50" and flags["on"]["value"] == "true"
    assert flags["fixed"]["tags"] == "" and flags["hosts_list"]["value"] == "zk:2181"
    # admin-cli decodes every field into a Go string
    assert all(isinstance(v, str) for flag in flags.values() for v in flag.values())
    assert registry(Box()).list_page({"x": "1"}) == (400, "")


def test_get_page() -> None:
    reg = registry(Box())
    status, body = reg.get_page({"name": "limit"})
    assert status == 200 and json.loads(body)["value"] == "5"
    assert reg.get_page({"name": "nope"}) == (200, "ERR_OBJECT_NOT_FOUND: 'nope' is not found")
    assert reg.get_page({}) == (400, "name shouldn't be empty")
    assert reg.get_page({"name": "limit", "other": "1"})[0] == 400


def _update(reg: FlagRegistry, query: dict[str, str]) -> str:
    status, body = reg.update_page(query)
    assert status == 200
    answer: dict[str, Any] = json.loads(body)
    assert list(answer) == ["update_status"]
    return str(answer["update_status"])


def test_update_page_changes_the_value_or_says_why_not() -> None:
    box = Box()
    reg = registry(box)
    assert _update(reg, {"limit": "42"}) == "ERR_OK"
    assert box.limit == 42 and reg.value("limit") == "42"
    assert _update(reg, {"ratio": "2.25"}) == "ERR_OK" and box.ratio == 2.25
    assert _update(reg, {"on": "FALSE"}) == "ERR_OK" and box.on is False
    refusals = {
        "nope": ("1", "ERR_OBJECT_NOT_FOUND: nope is not found"),
        "fixed": ("1", "ERR_INVALID_PARAMETERS: fixed is not mutable"),
        "hosts_list": ("x", "ERR_INVALID_PARAMETERS: hosts_list is not mutable"),
    }
    for name, (text, status) in refusals.items():
        assert _update(reg, {name: text}) == status
    for text in ("abc", "1.5", "", " 3", "99999999999"):
        assert _update(reg, {"limit": text}) == f"ERR_INVALID_PARAMETERS: {text} is invalid"
    assert _update(reg, {"limit": "-1"}) == "ERR_INVALID_PARAMETERS: value validation failed"
    assert _update(reg, {"limit": "101"}) == "ERR_INVALID_PARAMETERS: limit must stay <= 100"
    assert _update(reg, {"on": "yes"}) == "ERR_INVALID_PARAMETERS: yes is invalid"
    for text in ("nan", "inf", "1e999", "-1e999", "1,5"):
        assert _update(reg, {"ratio": text}) == f"ERR_INVALID_PARAMETERS: {text} is invalid"
    assert box.limit == 42 and box.on is False and box.ratio == 2.25  # refusals changed nothing
    exactly_one = "ERR_INVALID_PARAMETERS: there should be exactly one config to be updated once"
    assert _update(reg, {}) == exactly_one
    assert _update(reg, {"limit": "1", "ratio": "1"}) == exactly_one
    assert box.limit == 42


@pytest.mark.parametrize(
    ("kind", "low", "high"),
    [
        (FlagType.FV_INT32, -(1 << 31), (1 << 31) - 1),
        (FlagType.FV_UINT32, 0, (1 << 32) - 1),
        (FlagType.FV_INT64, -(1 << 63), (1 << 63) - 1),
        (FlagType.FV_UINT64, 0, (1 << 64) - 1),
    ],
)
@given(number=st.integers(min_value=-(1 << 65), max_value=1 << 65))
def test_integers_parse_within_their_type_only(
    kind: FlagType, low: int, high: int, number: int
) -> None:
    text = str(number)
    if low <= number <= high:
        assert parse_value(kind, text) == number
        assert format_value(kind, number) == text
    else:
        with pytest.raises(ValueError):
            parse_value(kind, text)


@given(value=st.floats(allow_nan=False, allow_infinity=False, min_value=-1e9, max_value=1e9))
def test_doubles_round_trip_to_two_decimals(value: float) -> None:
    shown = format_value(FlagType.FV_DOUBLE, value)
    assert abs(parse_value(FlagType.FV_DOUBLE, shown) - value) <= 0.005 + 1e-9 * abs(value)


def test_failure_detector_flags_are_read_only() -> None:
    reg = FlagRegistry(fd_flags(FdOptions(beacon_interval_s=0.5, lease_s=3.0, grace_s=4.0)))
    assert reg.value("fd_lease_seconds") == "3.00"
    assert reg.update("fd_grace_seconds", "9") == (
        "ERR_INVALID_PARAMETERS: fd_grace_seconds is not mutable"
    )


def test_a_name_twice_is_a_programming_error() -> None:
    flag = Flag("s", "a", FlagType.FV_INT32, "", lambda: 1)
    with pytest.raises(AssertionError):
        FlagRegistry([flag, flag])
