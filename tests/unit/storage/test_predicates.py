from __future__ import annotations

import ctypes
import ctypes.util

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pegasus_log.storage.predicates import (
    INT64_MAX,
    INT64_MIN,
    add_int64,
    evaluate_check,
    is_check_type_supported,
    is_filter_type_supported,
    match_filter,
    parse_int64,
)
from pegasus_log.storage.types import CasCheckType as CT
from pegasus_log.storage.types import FilterType as FT

_libc = ctypes.CDLL(ctypes.util.find_library("c"))
_libc.strtoll.restype = ctypes.c_longlong
_libc.strtoll.argtypes = [ctypes.c_char_p, ctypes.POINTER(ctypes.c_char_p), ctypes.c_int]
_errno = ctypes.c_int.in_dll(_libc, "errno")


def buf2int64_via_libc(data: bytes) -> int | None:
    """Upstream's dsn::buf2int64, run on the real strtoll."""
    if not data or b"\x00" in data:
        return None
    buf = ctypes.create_string_buffer(data)
    end = ctypes.c_char_p()
    _errno.value = 0
    value = _libc.strtoll(buf, ctypes.byref(end), 0)
    consumed = ctypes.cast(end, ctypes.c_void_p).value - ctypes.addressof(buf)  # type: ignore[operator]
    if consumed != len(data) or _errno.value != 0:
        return None
    return int(value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (b"0", 0),
        (b"123", 123),
        (b"-123", -123),
        (b"+7", 7),
        (b" \t42", 42),
        (b"0x1f", 31),
        (b"-0X10", -16),
        (b"010", 8),
        (b"9223372036854775807", INT64_MAX),
        (b"-9223372036854775808", INT64_MIN),
        (b"9223372036854775808", None),
        (b"88888888888888888888888888888888888888888888888", None),
        (b"", None),
        (b" ", None),
        (b"-", None),
        (b"12 ", None),
        (b"08", None),
        (b"0x", None),
        (b"1.0", None),
        (b"v1", None),
        (b"1_000", None),
        (b"1\x002", None),
    ],
)
def test_parse_int64_cases(text: bytes, expected: int | None) -> None:
    assert parse_int64(text) == expected
    assert buf2int64_via_libc(text) == expected


@given(
    st.one_of(
        st.binary(max_size=24),
        st.text(alphabet=" \t+-0123456789abcdefxX", max_size=24).map(str.encode),
        st.integers(INT64_MIN * 2, INT64_MAX * 2).map(lambda i: str(i).encode()),
    )
)
def test_parse_int64_matches_strtoll(data: bytes) -> None:
    assert parse_int64(data) == buf2int64_via_libc(data)


def test_add_int64_overflow() -> None:
    assert add_int64(1, 2) == 3
    assert add_int64(INT64_MAX, 1) is None
    assert add_int64(INT64_MIN, -1) is None
    assert add_int64(INT64_MAX, INT64_MIN) == -1


@pytest.mark.parametrize(
    ("filter_type", "pattern", "data", "passes"),
    [
        (FT.FT_NO_FILTER, b"zz", b"abc", True),
        (FT.FT_MATCH_ANYWHERE, b"", b"abc", True),
        (FT.FT_MATCH_ANYWHERE, b"bc", b"abc", True),
        (FT.FT_MATCH_ANYWHERE, b"abcd", b"abc", False),
        (FT.FT_MATCH_PREFIX, b"ab", b"abc", True),
        (FT.FT_MATCH_PREFIX, b"bc", b"abc", False),
        (FT.FT_MATCH_POSTFIX, b"bc", b"abc", True),
        (FT.FT_MATCH_POSTFIX, b"ab", b"abc", False),
        (FT.FT_MATCH_POSTFIX, b"a", b"", False),
    ],
)
def test_match_filter(filter_type: int, pattern: bytes, data: bytes, passes: bool) -> None:
    assert match_filter(filter_type, pattern, data) is passes


def test_supported_types() -> None:
    assert all(is_filter_type_supported(t) for t in range(4))
    assert not is_filter_type_supported(4) and not is_filter_type_supported(-1)
    assert all(is_check_type_supported(t) for t in range(18))
    assert not is_check_type_supported(18) and not is_check_type_supported(100)


MISSING = None

# (check_type, operand, current value or MISSING) -> passes; "invalid" for kInvalidArgument
CHECKS = [
    (CT.CT_NO_CHECK, b"", MISSING, True),
    (CT.CT_VALUE_NOT_EXIST, b"", MISSING, True),
    (CT.CT_VALUE_NOT_EXIST, b"", b"", False),
    (CT.CT_VALUE_NOT_EXIST_OR_EMPTY, b"", MISSING, True),
    (CT.CT_VALUE_NOT_EXIST_OR_EMPTY, b"", b"", True),
    (CT.CT_VALUE_NOT_EXIST_OR_EMPTY, b"", b"v", False),
    (CT.CT_VALUE_EXIST, b"", MISSING, False),
    (CT.CT_VALUE_EXIST, b"", b"", True),
    (CT.CT_VALUE_NOT_EMPTY, b"", b"", False),
    (CT.CT_VALUE_NOT_EMPTY, b"", b"v", True),
    (CT.CT_VALUE_MATCH_ANYWHERE, b"", MISSING, False),
    (CT.CT_VALUE_MATCH_ANYWHERE, b"", b"", True),
    (CT.CT_VALUE_MATCH_ANYWHERE, b"23", b"v1234", True),
    (CT.CT_VALUE_MATCH_PREFIX, b"v1", b"v1234", True),
    (CT.CT_VALUE_MATCH_PREFIX, b"12", b"v1234", False),
    (CT.CT_VALUE_MATCH_POSTFIX, b"34", b"v1234", True),
    (CT.CT_VALUE_MATCH_POSTFIX, b"v1", b"v1234", False),
    (CT.CT_VALUE_BYTES_LESS, b"v2", MISSING, False),
    (CT.CT_VALUE_BYTES_LESS, b"v2", b"v1", True),
    (CT.CT_VALUE_BYTES_LESS, b"v2", b"v2", False),
    (CT.CT_VALUE_BYTES_LESS_OR_EQUAL, b"v2", b"v2", True),
    (CT.CT_VALUE_BYTES_LESS_OR_EQUAL, b"v2", b"v3", False),
    (CT.CT_VALUE_BYTES_EQUAL, b"v2", b"v2", True),
    (CT.CT_VALUE_BYTES_EQUAL, b"", b"", True),
    (CT.CT_VALUE_BYTES_EQUAL, b"v2", b"v20", False),
    (CT.CT_VALUE_BYTES_GREATER_OR_EQUAL, b"v2", b"v2", True),
    (CT.CT_VALUE_BYTES_GREATER_OR_EQUAL, b"v2", b"v1", False),
    (CT.CT_VALUE_BYTES_GREATER, b"v2", b"v3", True),
    (CT.CT_VALUE_BYTES_GREATER, b"v2", b"\xff", True),
    (CT.CT_VALUE_INT_LESS, b"2", MISSING, False),
    (CT.CT_VALUE_INT_LESS, b"2", b"1", True),
    (CT.CT_VALUE_INT_LESS, b"2", b"10", False),  # as ints, not bytes
    (CT.CT_VALUE_INT_LESS_OR_EQUAL, b"2", b"2", True),
    (CT.CT_VALUE_INT_EQUAL, b"-1", b"-1", True),
    (CT.CT_VALUE_INT_EQUAL, b"0x10", b"16", True),
    (CT.CT_VALUE_INT_GREATER_OR_EQUAL, b"4", b"4", True),
    (CT.CT_VALUE_INT_GREATER_OR_EQUAL, b"4", b"3", False),
    (CT.CT_VALUE_INT_GREATER, b"5", b"6", True),
    (CT.CT_VALUE_INT_EQUAL, b"1", b"", "invalid"),
    (CT.CT_VALUE_INT_EQUAL, b"", b"2", "invalid"),
    (CT.CT_VALUE_INT_EQUAL, b"v1", b"2", "invalid"),
    (CT.CT_VALUE_INT_EQUAL, b"88888888888888888888888", b"2", "invalid"),
]


@pytest.mark.parametrize(("check_type", "operand", "value", "expected"), CHECKS)
def test_evaluate_check(
    check_type: int, operand: bytes, value: bytes | None, expected: bool | str
) -> None:
    outcome = evaluate_check(check_type, operand, value_exist=value is not None, value=value or b"")
    if expected == "invalid":
        assert not outcome.passed and outcome.invalid_argument
    else:
        assert outcome.passed is expected and not outcome.invalid_argument


def test_every_check_type_is_covered() -> None:
    assert {c[0] for c in CHECKS} == set(CT)
