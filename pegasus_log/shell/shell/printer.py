"""Upstream's ``table_printer``: named tables of text cells, printed aligned or as JSON.

A table is either *single-column* (rows of ``name: value``) or *multi-column* (a header
row, then rows whose first cell names the row). Several tables print one after another,
each under ``[name]`` and followed by a blank line; as JSON they form one object keyed by
table name, every cell a string (upstream's shape: multi-column rows become objects keyed
by the row's first cell, holding every column including the first).

Pure: values in, lines of text out.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field

# Blanks added to the widest cell of every column (upstream's ``tabular_width``).
COLUMN_GAP = 2
# Upstream pretty-prints JSON with RapidJSON's PrettyWriter: four blanks per level.
JSON_INDENT = 4


def cell(value: object) -> str:
    """A value as upstream's printer shows it: booleans as true/false, the rest as text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@dataclass(slots=True)
class Table:
    name: str
    columns: list[str] = field(default_factory=list)  # empty: a single-column table
    right_aligned: set[str] = field(default_factory=set)
    rows: list[list[str]] = field(default_factory=list)

    @property
    def single_column(self) -> bool:
        return not self.columns

    def add(self, *values: object) -> None:
        """One row: ``name, value`` for a single-column table, one cell per column else."""
        want = 2 if self.single_column else len(self.columns)
        assert len(values) == want, (self.name, values)
        self.rows.append([cell(v) for v in values])


def single(name: str, rows: Sequence[tuple[str, object]] = ()) -> Table:
    table = Table(name)
    for key, value in rows:
        table.add(key, value)
    return table


def multi(name: str, columns: Sequence[str], *, right: Sequence[str] = ()) -> Table:
    assert columns, "a multi-column table needs its columns"
    return Table(name, list(columns), set(right))


def _tabular(table: Table) -> list[str]:
    matrix = table.rows if table.single_column else [table.columns, *table.rows]
    if not matrix:
        return []
    sep = ": " if table.single_column else ""
    right = [c in table.right_aligned for c in table.columns] or [False, False]
    widths = [max(len(row[c]) for row in matrix) for c in range(len(matrix[0]))]
    lines = [f"[{table.name}]"] if table.name else []
    for row in matrix:
        parts = []
        for c, value in enumerate(row):
            text = value if c == 0 else sep + value
            width = widths[c] + COLUMN_GAP
            parts.append(text.rjust(width) if right[c] else text.ljust(width))
        lines.append("".join(parts).rstrip())
    return lines


def tabular(tables: Sequence[Table]) -> list[str]:
    """Each table under its ``[name]``, columns aligned, a blank line after each one.
    (Upstream pads the last column with blanks; we strip them.)"""
    lines: list[str] = []
    for table in tables:
        lines.extend(_tabular(table))
        lines.append("")
    return lines


def as_json(tables: Sequence[Table]) -> list[str]:
    """Every non-empty table as one pretty JSON object."""
    doc: dict[str, dict[str, object]] = {}
    for table in tables:
        if not table.rows and table.single_column:
            continue
        if table.single_column:
            doc[table.name] = {row[0]: row[1] for row in table.rows}
        else:
            doc[table.name] = {
                row[0]: dict(zip(table.columns, row, strict=True)) for row in table.rows
            }
    return json.dumps(doc, indent=JSON_INDENT, ensure_ascii=False).splitlines()


def render(tables: Sequence[Table], *, json_output: bool) -> list[str]:
    """Several tables, as upstream's ``multi_table_printer``."""
    return as_json(tables) if json_output else tabular(tables)


def render_one(table: Table, *, json_output: bool) -> list[str]:
    """One table printed on its own (no blank line after it, as upstream)."""
    return as_json([table]) if json_output else _tabular(table)
