"""Upstream's output shapes, as pure functions from values to lines of text."""

from __future__ import annotations

import datetime
from collections.abc import Sequence

from pegasus_log.shell.shell.escaping import c_escape
from pegasus_log.shell.shell.vocabulary import Command

# Upstream wraps a command's usage in help at about this many characters.
HELP_USAGE_WIDTH = 70


def local_time_us(timestamp_us: int) -> str:
    """Microseconds since the Unix epoch as ``YYYY-MM-DD HH:MM:SS.mmm`` in the machine's
    time zone, as upstream prints times (a value no calendar holds: ``<n>us``)."""
    seconds, micros = divmod(timestamp_us, 1_000_000)
    try:
        moment = datetime.datetime.fromtimestamp(seconds)
    except (OverflowError, OSError, ValueError):
        return f"{timestamp_us}us"
    return f"{moment:%Y-%m-%d %H:%M:%S}.{micros // 1000:03d}"


def quoted(data: bytes, *, escape_all: bool = False) -> str:
    return '"' + c_escape(data, escape_all=escape_all) + '"'


def kv_line(
    hash_key: bytes,
    sort_key: bytes,
    value: bytes | None,
    *,
    escape_all: bool = False,
    detail: str = "",
) -> str:
    """``"hk" : "sk" => "value"`` (no ``=> ...`` when value is None), then any detail."""
    line = f"{quoted(hash_key, escape_all=escape_all)} : {quoted(sort_key, escape_all=escape_all)}"
    if value is not None:
        line += f" => {quoted(value, escape_all=escape_all)}"
    if detail:
        line += " " + detail
    return line


def location_detail(app_id: int, partition_index: int, server: str) -> str:
    return f"{{app_id={app_id}, partition_index={partition_index}, server={server}}}"


def info_lines(app_id: int, partition_index: int, server: str) -> list[str]:
    """The block upstream prints after every single-key operation."""
    return [
        "",
        f"app_id          : {app_id}",
        f"partition_index : {partition_index}",
        f"server          : {server}",
    ]


def fetch_summary(count: int, completed: bool, what: str = "key-value pairs") -> str:
    return f"{count} {what} got, fetch {'completed' if completed else 'not completed'}."


def name_value_table(rows: Sequence[tuple[str, str]]) -> list[str]:
    """Upstream's single-column ``table_printer``: names padded, then ``: value``."""
    if not rows:
        return []
    width = max(len(name) for name, _ in rows) + 2
    return [f"{name:<{width}}: {value}" for name, value in rows]


def _usage_chunks(usage: str) -> list[str]:
    """Split a usage string at blanks outside ``[...]`` and ``<...>`` groups."""
    chunks: list[str] = []
    depth = 0
    current = ""
    for ch in usage:
        if ch in "[<":
            depth += 1
        elif ch in "]>":
            depth = max(depth - 1, 0)
        if ch == " " and depth == 0:
            if current:
                chunks.append(current)
            current = ""
            continue
        current += ch
    if current:
        chunks.append(current)
    return chunks


def wrap_usage(usage: str, width: int = HELP_USAGE_WIDTH) -> list[str]:
    lines: list[str] = []
    line = ""
    for chunk in _usage_chunks(usage):
        if line and len(line) + 1 + len(chunk) > width:
            lines.append(line)
            line = chunk
        else:
            line = f"{line} {chunk}" if line else chunk
    if line:
        lines.append(line)
    return lines


def help_entry(command: Command, name_width: int) -> list[str]:
    """``<tab>name  usage``, continuation lines indented under the usage, as upstream."""
    lines = wrap_usage(command.usage)
    head = "\t" + command.name.ljust(name_width + 2)
    if not lines:
        return [head.rstrip()]
    out = [head + lines[0]]
    out.extend("\t" + " " * (name_width + 2) + rest for rest in lines[1:])
    return out


def usage_lines(command: Command) -> list[str]:
    """``USAGE: name <usage>``, wrapped, continuation lines under the usage."""
    head = f"USAGE: {command.name} "
    lines = wrap_usage(command.usage)
    if not lines:
        return [head.rstrip()]
    return [head + lines[0], *(" " * len(head) + rest for rest in lines[1:])]


def help_all(commands: Sequence[Command]) -> list[str]:
    width = max(len(c.name) for c in commands)
    lines = ["Usage:"]
    for c in commands:
        lines.extend(help_entry(c, width))
    return lines


def help_one(command: Command) -> list[str]:
    lines = [f"{command.name}: {command.summary}"]
    if command.unavailable:
        lines.append(f"(not available yet: {command.unavailable})")
    lines.extend(help_entry(command, len(command.name)))
    return lines
