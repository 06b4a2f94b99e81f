"""Server flags as upstream's HTTP config pages show them (admin-cli ``server-config``).

A flag is one setting of a running server under upstream's section and name (its own
name where upstream has no such setting), with a type, a description, how to read its
value and, when it is mutable, how to change it on the running server. Three pages on the
server's RPC port, answered as upstream's ``config_http_service`` and ``http_server``
answer them:

- ``/configs``: every flag, ``{"<name>":{"name":..,"section":..,"type":..,"tags":..,
  "description":..,"value":..},...}`` (every value a string); 400 if given any argument.
- ``/config?name=N``: one flag's object; for an unknown name the text
  ``ERR_OBJECT_NOT_FOUND: 'N' is not found`` (status 200, as upstream); 400 without a
  name or with another argument.
- ``/updateConfig?N=V``: ``{"update_status":"ERR_OK"}`` once flag N holds V, else the
  status names the error: ``ERR_OBJECT_NOT_FOUND: N is not found``,
  ``ERR_INVALID_PARAMETERS: N is not mutable``, ``... V is invalid`` (not a value of the
  flag's type), ``... value validation failed`` (refused by the flag's check, or by the
  server when it applies it), or a group check's own message; exactly one argument.

A mutable flag's tags are ``flag_tag::FT_MUTABLE``, which is what admin-cli's ``list``
shows. Nothing here does I/O: a server builds its table of flags from its own options
and hands ``FlagRegistry.pages()`` to its RPC server.
"""

from __future__ import annotations

import enum
import json
import math
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from pegasus_log.frozen import frozen

MUTABLE_TAG = "flag_tag::FT_MUTABLE"


class FlagType(enum.Enum):
    """Upstream's flag value types; the name is what the pages show."""

    FV_BOOL = "bool"
    FV_INT32 = "int32"
    FV_UINT32 = "uint32"
    FV_INT64 = "int64"
    FV_UINT64 = "uint64"
    FV_DOUBLE = "double"
    FV_STRING = "string"


_INT_RANGES = {
    FlagType.FV_INT32: (-(1 << 31), (1 << 31) - 1),
    FlagType.FV_UINT32: (0, (1 << 32) - 1),
    FlagType.FV_INT64: (-(1 << 63), (1 << 63) - 1),
    FlagType.FV_UINT64: (0, (1 << 64) - 1),
}
_INTEGER = re.compile(r"[+-]?[0-9]+")
_DECIMAL = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")


class FlagRefused(Exception):
    """A mutable flag's setter refusing a value its check let through (the server's own
    rules, e.g. the failure detector's ordering); reported as a failed validation."""


@frozen
class Flag:
    section: str
    name: str
    type: FlagType
    description: str
    read: Callable[[], Any]
    # None: the flag is read-only. Otherwise called with the parsed value once ``check``
    # accepted it; raises FlagRefused to refuse it after all.
    write: Callable[[Any], None] | None = None
    check: Callable[[Any], bool] | None = None

    @property
    def mutable(self) -> bool:
        return self.write is not None

    def shown(self) -> dict[str, str]:
        return {
            "name": self.name,
            "section": self.section,
            "type": self.type.name,
            "tags": MUTABLE_TAG if self.mutable else "",
            "description": self.description,
            "value": format_value(self.type, self.read()),
        }


def format_value(kind: FlagType, value: Any) -> str:
    """A value as upstream's table printer writes it (doubles with two decimals)."""
    if kind is FlagType.FV_BOOL:
        return "true" if value else "false"
    if kind is FlagType.FV_DOUBLE:
        return "0.00" if abs(value) < 1e-6 else f"{value:.2f}"
    return str(value)


def parse_value(kind: FlagType, text: str) -> Any:
    """``text`` as a value of ``kind``; ValueError if it is not one."""
    if kind is FlagType.FV_BOOL:
        lowered = text.lower()
        if lowered not in ("true", "false"):
            raise ValueError(text)
        return lowered == "true"
    if kind is FlagType.FV_DOUBLE:
        number = float(text) if _DECIMAL.fullmatch(text) else math.nan
        if not math.isfinite(number):  # "1e999" overflows to inf
            raise ValueError(text)
        return number
    if kind is FlagType.FV_STRING:
        raise ValueError(text)  # upstream does not modify strings either
    if not _INTEGER.fullmatch(text):
        raise ValueError(text)
    low, high = _INT_RANGES[kind]
    number = int(text)
    if not low <= number <= high:
        raise ValueError(text)
    return number


class FlagRegistry:
    """The flags of one server, by name, and the three pages over them."""

    def __init__(self, flags: Iterable[Flag]) -> None:
        self._flags: dict[str, Flag] = {}
        for flag in flags:
            assert flag.name not in self._flags, f"flag {flag.name} twice"
            self._flags[flag.name] = flag

    def __contains__(self, name: object) -> bool:
        return name in self._flags

    def value(self, name: str) -> str:
        flag = self._flags[name]
        return format_value(flag.type, flag.read())

    def update(self, name: str, text: str) -> str:
        """Set flag ``name`` from ``text``; upstream's status text ("ERR_OK" or the error)."""
        flag = self._flags.get(name)
        if flag is None:
            return f"ERR_OBJECT_NOT_FOUND: {name} is not found"
        if flag.write is None:
            return f"ERR_INVALID_PARAMETERS: {name} is not mutable"
        if flag.type is FlagType.FV_STRING:
            return "ERR_INVALID_PARAMETERS: string modifications are not supported"
        try:
            value = parse_value(flag.type, text)
        except ValueError:
            return f"ERR_INVALID_PARAMETERS: {text} is invalid"
        if flag.check is not None and not flag.check(value):
            return "ERR_INVALID_PARAMETERS: value validation failed"
        try:
            flag.write(value)
        except FlagRefused as e:
            return f"ERR_INVALID_PARAMETERS: {e or 'value validation failed'}"
        return "ERR_OK"

    # ---- pages ------------------------------------------------------------------------

    def pages(self) -> dict[str, Callable[[dict[str, str]], tuple[int, str]]]:
        return {
            "/configs": self.list_page,
            "/config": self.get_page,
            "/updateConfig": self.update_page,
        }

    def list_page(self, query: Mapping[str, str]) -> tuple[int, str]:
        if query:
            return 400, ""
        every = {name: flag.shown() for name, flag in sorted(self._flags.items())}
        return 200, _compact(every)

    def get_page(self, query: Mapping[str, str]) -> tuple[int, str]:
        if set(query) - {"name"}:
            return 400, ""
        name = query.get("name", "")
        if not name:
            return 400, "name shouldn't be empty"
        flag = self._flags.get(name)
        if flag is None:
            return 200, f"ERR_OBJECT_NOT_FOUND: '{name}' is not found"
        return 200, _compact(flag.shown())

    def update_page(self, query: Mapping[str, str]) -> tuple[int, str]:
        if len(query) != 1:
            status = "ERR_INVALID_PARAMETERS: there should be exactly one config to be updated once"
        else:
            ((name, text),) = query.items()
            status = self.update(name, text)
        return 200, _compact({"update_status": status})


def _compact(value: object) -> str:
    return json.dumps(value, separators=(",", ":"))
