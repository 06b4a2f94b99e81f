"""Value predicates shared by reads and writes: key filters, check_and_set checks, and
upstream's int64 parsing (``dsn::buf2int64``).

``buf2int64`` is ``strtoll(s, &end, 0)`` that must consume the whole buffer: leading C
whitespace and one sign are allowed, the base follows the C prefix rules (``0x`` hex,
leading ``0`` octal, else decimal), and anything left over, an empty buffer, or a value
outside int64 is invalid. So ``" 12"``, ``"+7"``, ``"0x1f"`` and ``"010"`` (8) parse, while
``"12 "``, ``"08"``, ``"1.0"`` and ``""`` do not.
"""

from __future__ import annotations

from pegasus_log.frozen import frozen
from pegasus_log.storage.types import CasCheckType, FilterType

INT64_MIN = -(1 << 63)
INT64_MAX = (1 << 63) - 1

_C_SPACE = frozenset(b" \t\n\v\f\r")
_DIGITS = {
    8: frozenset(b"01234567"),
    10: frozenset(b"0123456789"),
    16: frozenset(b"0123456789abcdefABCDEF"),
}


def parse_int64(data: bytes) -> int | None:
    """The int64 that upstream's ``buf2int64`` reads from ``data``, or None if invalid."""
    end = len(data)
    i = 0
    while i < end and data[i] in _C_SPACE:
        i += 1
    negative = False
    if i < end and data[i] in b"+-":
        negative = data[i] == ord("-")
        i += 1
    base = 10
    if i < end and data[i] == ord("0"):
        base = 8
        if i + 2 < end and data[i + 1] in b"xX" and data[i + 2] in _DIGITS[16]:
            base = 16
            i += 2
    first_digit = i
    digits = _DIGITS[base]
    while i < end and data[i] in digits:
        i += 1
    if i == first_digit or i != end:
        return None
    value = int(data[first_digit:end], base)
    if negative:
        value = -value
    if value < INT64_MIN or value > INT64_MAX:
        return None
    return value


def add_int64(a: int, b: int) -> int | None:
    """``a + b``, or None when the sum leaves int64."""
    total = a + b
    if total < INT64_MIN or total > INT64_MAX:
        return None
    return total


# ---- key filters -----------------------------------------------------------------------


def is_filter_type_supported(filter_type: int) -> bool:
    return FilterType.FT_NO_FILTER <= filter_type <= FilterType.FT_MATCH_POSTFIX


def match_filter(filter_type: int, pattern: bytes, data: bytes) -> bool:
    """Does ``data`` (a hash key or sort key) pass the filter? An empty pattern passes all."""
    if filter_type == FilterType.FT_NO_FILTER or not pattern:
        return True
    if len(data) < len(pattern):
        return False
    if filter_type == FilterType.FT_MATCH_ANYWHERE:
        return pattern in data
    if filter_type == FilterType.FT_MATCH_PREFIX:
        return data.startswith(pattern)
    assert filter_type == FilterType.FT_MATCH_POSTFIX, filter_type
    return data.endswith(pattern)


# ---- check_and_set / check_and_mutate ---------------------------------------------------


@frozen
class CheckOutcome:
    passed: bool
    invalid_argument: bool = False  # an int compare met a value that is not an int64


def is_check_type_supported(check_type: int) -> bool:
    return CasCheckType.CT_NO_CHECK <= check_type <= CasCheckType.CT_VALUE_INT_GREATER


def _compare_passes(check_type: int, sign: int, less_or_equal: int, greater_or_equal: int) -> bool:
    """For the five compare types of one family, ordered LESS, LESS_OR_EQUAL, EQUAL,
    GREATER_OR_EQUAL, GREATER: does a comparison result ``sign`` satisfy ``check_type``?"""
    if sign < 0:
        return check_type <= less_or_equal
    if sign > 0:
        return check_type >= greater_or_equal
    return less_or_equal <= check_type <= greater_or_equal


def evaluate_check(
    check_type: int, operand: bytes, *, value_exist: bool, value: bytes
) -> CheckOutcome:
    """Evaluate a supported check type against the current value of the check key."""
    assert is_check_type_supported(check_type), check_type
    ct = CasCheckType
    if check_type == ct.CT_NO_CHECK:
        return CheckOutcome(passed=True)
    if check_type == ct.CT_VALUE_NOT_EXIST:
        return CheckOutcome(passed=not value_exist)
    if check_type == ct.CT_VALUE_NOT_EXIST_OR_EMPTY:
        return CheckOutcome(passed=not value_exist or not value)
    if check_type == ct.CT_VALUE_EXIST:
        return CheckOutcome(passed=value_exist)
    if check_type == ct.CT_VALUE_NOT_EMPTY:
        return CheckOutcome(passed=value_exist and bool(value))
    if not value_exist:
        return CheckOutcome(passed=False)
    if check_type <= ct.CT_VALUE_MATCH_POSTFIX:
        filter_type = {
            ct.CT_VALUE_MATCH_ANYWHERE: FilterType.FT_MATCH_ANYWHERE,
            ct.CT_VALUE_MATCH_PREFIX: FilterType.FT_MATCH_PREFIX,
            ct.CT_VALUE_MATCH_POSTFIX: FilterType.FT_MATCH_POSTFIX,
        }[ct(check_type)]
        return CheckOutcome(passed=match_filter(filter_type, operand, value))
    if check_type <= ct.CT_VALUE_BYTES_GREATER:
        sign = (value > operand) - (value < operand)
        passed = _compare_passes(
            check_type, sign, ct.CT_VALUE_BYTES_LESS_OR_EQUAL, ct.CT_VALUE_BYTES_GREATER_OR_EQUAL
        )
        return CheckOutcome(passed=passed)
    value_int = parse_int64(value)
    operand_int = parse_int64(operand)
    if value_int is None or operand_int is None:
        return CheckOutcome(passed=False, invalid_argument=True)
    sign = (value_int > operand_int) - (value_int < operand_int)
    passed = _compare_passes(
        check_type, sign, ct.CT_VALUE_INT_LESS_OR_EQUAL, ct.CT_VALUE_INT_GREATER_OR_EQUAL
    )
    return CheckOutcome(passed=passed)
