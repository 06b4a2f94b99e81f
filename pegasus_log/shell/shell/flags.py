"""getopt_long-style flag parsing for shell commands, over byte arguments.

Upstream parses each command's flags with GNU ``getopt_long``: short flags (``-n 10``,
``-n10``), long flags (``--max_count 10``, ``--max_count=10``, unique prefixes accepted),
flags and positional arguments in any order, ``--`` ending the flags. The standard
library's ``getopt.gnu_getopt`` does exactly that on text; arguments are bytes here, so
they travel through it as latin-1 text, which maps every byte to one character and back.
"""

from __future__ import annotations

import getopt
import re
from collections.abc import Sequence

from pegasus_log.frozen import frozen

_INT_RE = re.compile(r"[+-]?[0-9]+")
INT32_MAX = 2**31 - 1
INT64_MAX = 2**63 - 1


class UsageError(ValueError):
    """Arguments a command cannot take; the shell prints this and the command's usage."""


class CommandError(Exception):
    """A command that cannot go on for a reason other than its syntax (a partition the
    table does not have, ...): the shell prints this alone."""


@frozen
class Flag:
    short: str  # one letter
    long: str
    takes_value: bool = True


@frozen
class Parsed:
    """Flags given (long name -> values, in order; a switch has one empty value per use)
    and the positional arguments."""

    flags: dict[str, list[bytes]]
    positional: list[bytes]

    def has(self, name: str) -> bool:
        return name in self.flags

    def last(self, name: str) -> bytes | None:
        values = self.flags.get(name)
        return values[-1] if values else None

    def all(self, name: str) -> list[bytes]:
        return list(self.flags.get(name, ()))


def text(raw: bytes) -> str:
    """An argument as text for messages and names (undecodable bytes kept as escapes)."""
    return raw.decode("utf-8", "backslashreplace")


def parse_flags(args: Sequence[bytes], flags: Sequence[Flag]) -> Parsed:
    """Parse ``args`` (the command's arguments, without its name)."""
    shortopts = "".join(f.short + (":" if f.takes_value else "") for f in flags)
    longopts = [f.long + ("=" if f.takes_value else "") for f in flags]
    by_short = {"-" + f.short: f.long for f in flags}
    by_long = {"--" + f.long: f.long for f in flags}
    try:
        opts, rest = getopt.gnu_getopt([a.decode("latin-1") for a in args], shortopts, longopts)
    except getopt.GetoptError as e:
        raise UsageError(str(e)) from None
    found: dict[str, list[bytes]] = {}
    for opt, value in opts:
        name = by_short.get(opt) or by_long[opt]
        found.setdefault(name, []).append(value.encode("latin-1"))
    return Parsed(found, [a.encode("latin-1") for a in rest])


def parse_int(name: str, raw: bytes, *, lo: int = -INT32_MAX - 1, hi: int = INT32_MAX) -> int:
    """A decimal integer in [lo, hi] (upstream's ``buf2int32`` / ``buf2int64``)."""
    s = raw.decode("latin-1")
    if not _INT_RE.fullmatch(s):
        raise UsageError(f"parse {s!r} as {name} failed")
    value = int(s)
    if not lo <= value <= hi:
        raise UsageError(f"{name} {value} out of range [{lo}, {hi}]")
    return value


def parse_bool(name: str, raw: bytes) -> bool:
    """``true`` or ``false``, any case (upstream's ``buf2bool``)."""
    s = raw.decode("latin-1").lower()
    if s == "true":
        return True
    if s == "false":
        return False
    raise UsageError(f"invalid {name} param {text(raw)!r}: expect true or false")


def expect_count(args: Sequence[bytes], *, lo: int, hi: int | None = None) -> None:
    """Upstream's positional-count checks: between ``lo`` and ``hi`` arguments."""
    n = len(args)
    if n < lo or (hi is not None and n > hi):
        if hi == lo:
            want = f"{lo}"
        elif hi is None:
            want = f"at least {lo}"
        else:
            want = f"{lo} to {hi}"
        raise UsageError(f"expect {want} argument(s), got {n}")
