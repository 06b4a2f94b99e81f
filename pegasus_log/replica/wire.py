"""Mapping between wire messages (pegasus_log.rpc.messages) and storage types
(pegasus_log.storage.types).

Both sides name their fields after upstream's IDL, so the mapping is by field name; the
routing fields (app_id, partition_index, server) exist only on the wire and are filled in
by the caller. Field-name plans are computed once per pair of classes.
"""

from __future__ import annotations

import dataclasses
import enum
import types
import typing
from typing import Any

from pegasus_log.rpc import messages as m
from pegasus_log.storage import types as st

# Nested structs that travel inside lists, in both directions.
_TO_STORAGE: dict[type[Any], type[Any]] = {
    m.KeyValue: st.KeyValue,
    m.FullKey: st.FullKey,
    m.Mutate: st.Mutate,
}
_TO_WIRE: dict[type[Any], type[Any]] = {
    st.KeyValue: m.KeyValue,
    st.FullData: m.FullData,
}

_SCALARS = (bytes, int, bool, str, float, type(None))

# (src, dst) -> (fields copied as they are, fields that may hold structs or lists)
_plans: dict[tuple[type[Any], type[Any]], tuple[tuple[str, ...], tuple[str, ...]]] = {}


def _plan(src: type[Any], dst: type[Any]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    key = (src, dst)
    plan = _plans.get(key)
    if plan is None:
        hints = typing.get_type_hints(src)
        src_names = {f.name for f in dataclasses.fields(src)}
        names = [f.name for f in dataclasses.fields(dst) if f.name in src_names]
        plain = tuple(n for n in names if _is_scalar(hints[n]))
        nested = tuple(n for n in names if n not in plain)
        plan = _plans[key] = (plain, nested)
    return plan


def _is_scalar(hint: Any) -> bool:
    """A field type whose values pass between the two sides unchanged."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        return all(_is_scalar(a) for a in typing.get_args(hint))
    return hint in _SCALARS or (isinstance(hint, type) and issubclass(hint, enum.Enum))


def _convert(value: Any, table: dict[type[Any], type[Any]]) -> Any:
    if isinstance(value, list | tuple):
        return [_convert(v, table) for v in value]
    dst = table.get(type(value))
    if dst is None:
        return value
    return _build(value, dst, table)


def _build(value: Any, dst: type[Any], table: dict[type[Any], type[Any]], **extra: Any) -> Any:
    plain, nested = _plan(type(value), dst)
    values = {n: getattr(value, n) for n in plain}
    for n in nested:
        values[n] = _convert(getattr(value, n), table)
    values.update(extra)
    return dst(**values)


def to_storage(msg: Any, cls: type[Any]) -> Any:
    """The storage request of class ``cls`` carrying the fields of wire message ``msg``."""
    return _build(msg, cls, _TO_STORAGE)


def to_wire(resp: Any, cls: type[Any], **routing: Any) -> Any:
    """The wire response of class ``cls`` carrying storage response ``resp`` and routing."""
    return _build(resp, cls, _TO_WIRE, **routing)
