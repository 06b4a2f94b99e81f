"""Where the meta server keeps its state in the store, and how each node is encoded.

The layout is upstream Pegasus's (``server_state``, ``meta_service``, the shipped
``config.ini``), with ``cluster_root = /pegasus/<cluster>``::

    <cluster_root>                       empty
    <cluster_root>/apps                  b"unlock" (b"lock" while upstream's initial sync
                                         from replica servers is half done)
    <cluster_root>/apps/<app_id>         app_info as JSON
    <cluster_root>/apps/<app_id>/<i>     partition_configuration of partition i as JSON
    <cluster_root>/apps/<app_id>/duplication/<dupid>   duplications of that table
    <cluster_root>/backup                cold backup policies
    <cluster_root>/bulk_load             bulk load states
    <cluster_root>/lock/dsn.meta.server.leader/LOCKNODE<seq>   meta leader election:
                                         ephemeral sequential nodes, data = "host:port"

Upstream persists nothing else at the root: the meta function level lives in memory
(initialised from ``meta_function_level_on_start``) and the next app id is the largest
app id under ``apps`` plus one, computed when a table is created.

The JSON is upstream's encoding: field names of the thrift structs, ``app_status`` as
``"app_status::AS_AVAILABLE"``, a gpid as ``"<app_id>.<index>"``, addresses as
``"host:port"`` in both the ``primary``/``secondaries``/``last_drops`` fields and their
``hp_`` twins, ``"invalid address"`` / ``"invalid host_port"`` for no primary. Decoding
takes missing fields as their defaults (upstream decodes field by field) and ignores
unknown ones; a field of the wrong type is ``BadNodeData``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar, cast

from pegasus_log.frozen import frozen
from pegasus_log.meta.state.model import AppState, AppStatus, InvalidState, PartitionConfig
from pegasus_log.meta.state.store import BadNodeData

CLUSTER_ROOT_PREFIX = "/pegasus"
APPS_LOCKED = b"lock"
APPS_UNLOCKED = b"unlock"
LEADER_LOCK_ID = "dsn.meta.server.leader"
LOCK_NODE_PREFIX = "LOCKNODE"
DUPLICATION_CHILD = "duplication"

_STATUS_PREFIX = "app_status::"
_NO_ADDRESS = "invalid address"
_NO_HOST_PORT = "invalid host_port"

T = TypeVar("T")


@frozen
class Layout:
    cluster_root: str

    @classmethod
    def for_cluster(cls, cluster_name: str) -> Layout:
        if not cluster_name or "/" in cluster_name or cluster_name in (".", ".."):
            raise ValueError(f"bad cluster name {cluster_name!r}")
        return cls(f"{CLUSTER_ROOT_PREFIX}/{cluster_name}")

    @property
    def apps_root(self) -> str:
        return f"{self.cluster_root}/apps"

    def app_path(self, app_id: int) -> str:
        return f"{self.apps_root}/{app_id}"

    def partition_path(self, app_id: int, partition_index: int) -> str:
        return f"{self.apps_root}/{app_id}/{partition_index}"

    def duplication_root(self, app_id: int) -> str:
        return f"{self.app_path(app_id)}/{DUPLICATION_CHILD}"

    @property
    def backup_root(self) -> str:
        return f"{self.cluster_root}/backup"

    @property
    def bulk_load_root(self) -> str:
        return f"{self.cluster_root}/bulk_load"

    @property
    def lock_root(self) -> str:
        return f"{self.cluster_root}/lock"

    @property
    def leader_lock_path(self) -> str:
        """The directory whose ephemeral sequential children elect the meta leader."""
        return f"{self.lock_root}/{LEADER_LOCK_ID}"


def parse_index(name: str) -> int | None:
    """A child name that is an app id or partition index ("0", "17"), else None."""
    if not name.isdigit() or (len(name) > 1 and name[0] == "0"):
        return None
    return int(name)


# -- app_info -----------------------------------------------------------------------------


def encode_app(app: AppState) -> bytes:
    doc = {
        "status": _STATUS_PREFIX + app.status.name,
        "app_type": app.app_type,
        "app_name": app.app_name,
        "app_id": app.app_id,
        "partition_count": app.partition_count,
        "envs": dict(app.envs),
        "is_stateful": app.is_stateful,
        "max_replica_count": app.max_replica_count,
        "expire_second": app.expire_second,
        "create_second": app.create_second,
        "drop_second": app.drop_second,
        "duplicating": app.duplicating,
        "init_partition_count": app.init_partition_count,
        "is_bulk_loading": app.is_bulk_loading,
        "atomic_idempotent": app.atomic_idempotent,
    }
    return json.dumps(doc, separators=(",", ":")).encode()


def decode_app(data: bytes, *, path: str = "") -> AppState:
    doc = _object(data, path)
    f = _Fields(doc, path)
    try:
        return AppState(
            status=_status(f.get("status", str, _STATUS_PREFIX + "AS_INVALID"), path),
            app_type=f.get("app_type", str, "pegasus"),
            app_name=f.get("app_name", str, ""),
            app_id=f.get("app_id", int, 0),
            partition_count=f.get("partition_count", int, 0),
            envs=f.get("envs", _str_map, {}),
            is_stateful=f.get("is_stateful", bool, True),
            max_replica_count=f.get("max_replica_count", int, 3),
            expire_second=f.get("expire_second", int, 0),
            create_second=f.get("create_second", int, 0),
            drop_second=f.get("drop_second", int, 0),
            duplicating=f.get("duplicating", bool, False),
            init_partition_count=f.get("init_partition_count", int, -1),
            is_bulk_loading=f.get("is_bulk_loading", bool, False),
            atomic_idempotent=f.get("atomic_idempotent", bool, False),
        )
    except InvalidState as e:
        raise BadNodeData(f"{path}: {e}", path=path) from e


# -- partition_configuration --------------------------------------------------------------


def encode_partition(config: PartitionConfig) -> bytes:
    primary = config.primary
    doc = {
        "pid": f"{config.app_id}.{config.partition_index}",
        "ballot": config.ballot,
        "max_replica_count": config.max_replica_count,
        "primary": primary if primary is not None else _NO_ADDRESS,
        "secondaries": list(config.secondaries),
        "last_drops": list(config.last_drops),
        "last_committed_decree": config.last_committed_decree,
        "partition_flags": config.partition_flags,
        "hp_primary": primary if primary is not None else _NO_HOST_PORT,
        "hp_secondaries": list(config.secondaries),
        "hp_last_drops": list(config.last_drops),
    }
    return json.dumps(doc, separators=(",", ":")).encode()


def decode_partition(data: bytes, *, path: str = "") -> PartitionConfig:
    doc = _object(data, path)
    f = _Fields(doc, path)
    app_id, index = _gpid(f.get("pid", str, ""), path)
    if "hp_primary" in doc:
        primary = f.get("hp_primary", str, _NO_HOST_PORT)
    else:
        primary = f.get("primary", str, _NO_ADDRESS)
    members = "hp_secondaries" if "hp_secondaries" in doc else "secondaries"
    drops = "hp_last_drops" if "hp_last_drops" in doc else "last_drops"
    try:
        return PartitionConfig(
            app_id=app_id,
            partition_index=index,
            ballot=f.get("ballot", int, 0),
            max_replica_count=f.get("max_replica_count", int, 3),
            primary=None if primary in (_NO_ADDRESS, _NO_HOST_PORT, "") else primary,
            secondaries=tuple(f.get(members, _str_list, [])),
            last_drops=tuple(f.get(drops, _str_list, [])),
            last_committed_decree=f.get("last_committed_decree", int, 0),
            partition_flags=f.get("partition_flags", int, 0),
        )
    except InvalidState as e:
        raise BadNodeData(f"{path}: {e}", path=path) from e


# -- decoding helpers ---------------------------------------------------------------------


def _object(data: bytes, path: str) -> dict[str, Any]:
    try:
        doc = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise BadNodeData(f"{path}: not JSON: {e}", path=path) from e
    if not isinstance(doc, dict):
        raise BadNodeData(f"{path}: expected a JSON object", path=path)
    return doc


class _Fields:
    def __init__(self, doc: dict[str, Any], path: str) -> None:
        self._doc = doc
        self._path = path

    def get(self, name: str, kind: type[T] | Callable[[Any], T], default: T) -> T:
        if name not in self._doc:
            return default
        value = self._doc[name]
        if isinstance(kind, type):
            # bool is an int in Python, never in JSON.
            if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
                raise BadNodeData(
                    f"{self._path}: field {name} is {value!r}, not {kind.__name__}",
                    path=self._path,
                )
            return cast(T, value)
        try:
            return kind(value)
        except (TypeError, ValueError) as e:
            raise BadNodeData(f"{self._path}: field {name}: {e}", path=self._path) from e


def _str_map(value: Any) -> dict[str, str]:
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise ValueError(f"{value!r} is not an object of strings")
    return dict(value)


def _str_list(value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{value!r} is not a list of strings")
    return list(value)


def _status(text: str, path: str) -> AppStatus:
    name = text.removeprefix(_STATUS_PREFIX)
    try:
        return AppStatus[name]
    except KeyError:
        raise BadNodeData(f"{path}: unknown app status {text!r}", path=path) from None


def _gpid(text: str, path: str) -> tuple[int, int]:
    app_id, dot, index = text.partition(".")
    if not dot or not app_id.isdigit() or not index.isdigit():
        raise BadNodeData(f"{path}: bad pid {text!r}", path=path)
    return int(app_id), int(index)
