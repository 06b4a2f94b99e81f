"""Mapping between wire messages (pegasus_log.rpc.messages) and storage types
(pegasus_log.storage.types).

Both sides name their fields after upstream's IDL, so the mapping is by field name; the
routing fields (app_id, partition_index, server) exist only on the wire and are filled in
by the caller. Field-name plans are computed once per pair of classes.
"""

from __future__ import annotations

import dataclasses
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

_plans: dict[tuple[type[Any], type[Any]], tuple[str, ...]] = {}


def _plan(src: type[Any], dst: type[Any]) -> tuple[str, ...]:
    key = (src, dst)
    names = _plans.get(key)
    if names is None:
        src_names = {f.name for f in dataclasses.fields(src)}
        names = tuple(f.name for f in dataclasses.fields(dst) if f.name in src_names)
        _plans[key] = names
    return names


def _convert(value: Any, table: dict[type[Any], type[Any]]) -> Any:
    if isinstance(value, list | tuple):
        return [_convert(v, table) for v in value]
    dst = table.get(type(value))
    if dst is None:
        return value
    return dst(**{n: _convert(getattr(value, n), table) for n in _plan(type(value), dst)})


def to_storage(msg: Any, cls: type[Any]) -> Any:
    """The storage request of class ``cls`` carrying the fields of wire message ``msg``."""
    return cls(**{n: _convert(getattr(msg, n), _TO_STORAGE) for n in _plan(type(msg), cls)})


def to_wire(resp: Any, cls: type[Any], **routing: Any) -> Any:
    """The wire response of class ``cls`` carrying storage response ``resp`` and routing."""
    values = {n: _convert(getattr(resp, n), _TO_WIRE) for n in _plan(type(resp), cls)}
    values.update(routing)
    return cls(**values)
