"""Mapping between wire messages (pegasus_log.rpc.messages) and storage types
(pegasus_log.storage.types).

Both sides name their fields after upstream's IDL, so the mapping is by field name; the
routing fields (app_id, partition_index, server) exist only on the wire and are filled in
by the caller. A converter is generated once per pair of classes.
"""

from __future__ import annotations

import dataclasses
import enum
import types
import typing
from collections.abc import Callable
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

# (src, dst, direction) -> a function building the dst carrying src's fields
_converters: dict[tuple[type[Any], type[Any], int], Callable[..., Any]] = {}


def _converter(src: type[Any], dst: type[Any], table: dict[type[Any], type[Any]]) -> Any:
    """A function ``(value, **routing) -> dst`` written for this pair of classes: scalar
    fields are passed as they are, the others through ``_convert``. Generated once per
    pair (as ``dataclasses`` writes ``__init__``): a loop over field names per request
    cost about 2% of a replica server's CPU per write."""
    key = (src, dst, id(table))
    conv = _converters.get(key)
    if conv is None:
        hints = typing.get_type_hints(src)
        src_names = {f.name for f in dataclasses.fields(src)}
        names = [f.name for f in dataclasses.fields(dst) if f.name in src_names]
        args = [
            f"{n}=v.{n}" if _is_scalar(hints[n]) else f"{n}=_convert(v.{n}, table)" for n in names
        ]
        source = f"def conv(v, **extra):\n    return dst({', '.join([*args, '**extra'])})\n"
        scope: dict[str, Any] = {"dst": dst, "table": table, "_convert": _convert}
        exec(source, scope)  # the text is made above from dataclass field names
        conv = _converters[key] = scope["conv"]
    return conv


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
    return _converter(type(value), dst, table)(value)


def to_storage(msg: Any, cls: type[Any]) -> Any:
    """The storage request of class ``cls`` carrying the fields of wire message ``msg``."""
    return _converter(type(msg), cls, _TO_STORAGE)(msg)


def to_wire(resp: Any, cls: type[Any], **routing: Any) -> Any:
    """The wire response of class ``cls`` carrying storage response ``resp`` and routing."""
    return _converter(type(resp), cls, _TO_WIRE)(resp, **routing)
