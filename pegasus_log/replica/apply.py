"""A committed mutation's client writes, applied to a partition's storage.

Every update of a mutation is applied at the mutation's decree, in order, as one atomic
storage batch, and each gets its own storage response. A mutation made only of puts with
well-formed keys, the usual case by far, goes to the store as one ``batch_write``: one
batch of encoded records and no per-write group bookkeeping. Its puts' responses are
those the general path gives each of them (OK at the decree), and the stored bytes are
the same (``tests/unit/replica/test_apply.py`` compares the two). Anything else (another
write kind, a malformed key, which fails only its own put) takes the general path.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pegasus_log.replica.plog.mutation import Mutation
from pegasus_log.replica.stub import OPS_BY_NAME
from pegasus_log.replica.wire import to_storage
from pegasus_log.rpc import messages as m
from pegasus_log.rpc.thrift import decode
from pegasus_log.storage import types as st
from pegasus_log.storage.engine import PartitionStore
from pegasus_log.storage.schema import is_valid_key

_PUT = m.RRDB_PUT.name
_REMOVES = ("remove", "multi_remove")


def apply_mutation(
    store: PartitionStore, mutation: Mutation, decoded: Sequence[Any | None]
) -> list[Any]:
    """Apply ``mutation``'s updates to ``store`` at its decree; each update's storage
    response, in order. ``decoded[i]`` is update i's wire argument when the caller has it
    (a primary decoded its own clients' requests on arrival), else None: the update's body
    is decoded."""
    updates = mutation.updates
    args = [
        arg if arg is not None else decode(OPS_BY_NAME[u.rpc_name].spec.arg, u.body)
        for u, arg in zip(updates, decoded, strict=True)
    ]
    if all(u.rpc_name == _PUT for u in updates) and all(is_valid_key(a.key) for a in args):
        requests = [to_storage(a, st.UpdateRequest) for a in args]
        resp = store.batch_write(mutation.decree, requests, timestamp_us=mutation.timestamp_us)
        return [resp] * len(updates)
    return _apply_each(store, mutation, args)


def _apply_each(store: PartitionStore, mutation: Mutation, args: list[Any]) -> list[Any]:
    decree = mutation.decree
    out: list[Any] = []
    with store.mutation(decree):
        for update, arg in zip(mutation.updates, args, strict=True):
            op = OPS_BY_NAME[update.rpc_name]
            if op.request is not None:
                arg = to_storage(arg, op.request)
            method = getattr(store, op.method)
            if op.method in _REMOVES:
                out.append(method(decree, arg))
            else:
                out.append(method(decree, arg, timestamp_us=mutation.timestamp_us))
    return out
