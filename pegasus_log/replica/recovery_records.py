"""What a replica server keeps on disk so that a meta that lost its state can rebuild the
cluster from it (meta recovery, ``meta/core/recovery.py``), and its answers to the
meta's two questions then.

Beside each partition's store, ``<app>.<index>.app-info`` holds the table's record as
the meta last sent it (upstream's ``.app-info``): name, partition count, replica count,
envs, status. It is the thrift binary encoding of ``app_info``, written durably whenever
the record the meta sends differs from the one on disk (a create, rename, env change,
replica count change or drop), so it costs nothing on the write path.

- ``RPC_QUERY_APP_INFO``: the record of every table this server stores a replica of.
- ``RPC_QUERY_REPLICA_INFO``: every replica stored here, with its ballot and decrees:
  those of the open replica, or, for one not open (a server that restarted while the
  meta was lost opens none), its saved ballot, the decree its store last applied (read
  without opening the store for writing) and the largest decree its log holds.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from pathlib import Path

from pegasus_log.replica.store_dirs import write_file_durably
from pegasus_log.rpc import admin as a
from pegasus_log.rpc.thrift import Gpid, ThriftDecodeError, decode, encode

log = logging.getLogger(__name__)

GpidKey = tuple[int, int]


def app_info_path(data_dir: Path, gpid: GpidKey) -> Path:
    return data_dir / f"{gpid[0]}.{gpid[1]}.app-info"


def read_app_info(data_dir: Path, gpid: GpidKey) -> a.AppInfoMessage | None:
    """The record beside a partition's store; None when there is none or it cannot be
    read (logged)."""
    path = app_info_path(data_dir, gpid)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as e:
        log.warning("reading %s: %s", path, e)
        return None
    try:
        info = decode(a.AppInfoMessage, raw)
    except ThriftDecodeError as e:
        log.warning("%s is not a table record: %s", path, e)
        return None
    assert isinstance(info, a.AppInfoMessage)
    return info


class AppInfoFiles:
    """The records beside the stores of one server; each written only when it changes."""

    def __init__(self, data_dir: Path) -> None:
        self._data_dir = data_dir
        self._written: dict[GpidKey, a.AppInfoMessage] = {}

    def note(self, gpid: GpidKey, info: a.AppInfoMessage) -> None:
        """The meta sent ``info`` for a partition stored here: keep it if it is new."""
        if self._written.get(gpid) == info:
            return
        if self._written.get(gpid) is None and read_app_info(self._data_dir, gpid) == info:
            self._written[gpid] = info
            return
        write_file_durably(app_info_path(self._data_dir, gpid), encode(a.AppInfoMessage, info))
        self._written[gpid] = info

    def forget(self, gpid: GpidKey) -> None:
        """The partition's replica is garbage here: its file goes with the store
        (``garbage.py``), so the next record for it is written again."""
        self._written.pop(gpid, None)

    def apps(self, stored: Iterable[GpidKey]) -> list[a.AppInfoMessage]:
        """``RPC_QUERY_APP_INFO``: one record per table among the stored partitions (the
        one of its lowest partition index, if they differ)."""
        out: dict[int, a.AppInfoMessage] = {}
        for gpid in sorted(stored):
            if gpid[0] in out:
                continue
            info = self._written.get(gpid) or read_app_info(self._data_dir, gpid)
            if info is not None:
                out[gpid[0]] = info
        return list(out.values())


def replica_infos(
    stored: Iterable[GpidKey],
    *,
    open_info: Callable[[GpidKey], a.ReplicaInfo | None],
    saved_ballot: Callable[[GpidKey], int],
    store_decree: Callable[[GpidKey], int | None],
    logged_decree: Callable[[GpidKey], int],
) -> list[a.ReplicaInfo]:
    """``RPC_QUERY_REPLICA_INFO``: each stored replica's ballot and decrees; a store that
    cannot be read is left out (logged by ``store_decree``, which answers None)."""
    out = []
    for gpid in sorted(stored):
        info = open_info(gpid)
        if info is None:
            committed = store_decree(gpid)
            if committed is None:
                continue
            info = a.ReplicaInfo(
                pid=Gpid(*gpid),
                ballot=saved_ballot(gpid),
                status=a.PartitionStatus.PS_INACTIVE,
                last_committed_decree=committed,
                last_prepared_decree=max(committed, logged_decree(gpid)),
                last_durable_decree=committed,
            )
        out.append(info)
    return out
