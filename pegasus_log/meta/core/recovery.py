"""Meta recovery from replica servers: the tables and partitions a meta rebuilds when its
state in ZooKeeper is lost, from what the replica servers store (upstream's
``recover`` / ``RPC_CM_START_RECOVERY``).

Pure: each server's answer (the tables it holds replicas of, with the table's record as
the server last had it, and each replica's ballot and decrees) in; the tables and
partition configurations to write, and upstream's hint lines, out.

Rules:
- A table is taken from the record most of its servers hold (servers that saw a later
  rename or env change than others win by number; a tie goes to the record of the
  server listed first). A table whose records differ gets a WARNING line. Dropped tables
  come back dropped, with their expiry and their partitions rebuilt as below (without
  hints; a partition none holds any more comes back empty), so a recall until then
  brings their data back.
- Two available tables of one name: the one of the larger app id keeps it, the other
  gets ``__<app_id>`` appended (upstream's rule), with a WARNING line.
- Every partition of a table is rebuilt as one whose every member died
  (upstream's "DDD"), not with a primary: no member, the ballot of its best replica + 1
  (upstream keeps that ballot; a new one makes the meta refuse any configuration change
  a replica server still proposes from a configuration of before the loss), and
  ``last_drops`` holding the servers that reported a replica, best last, where best means
  not a learner's (a learner holds what it has learned so far, which may leave a gap
  below the prepares it received: it never leads), then the larger ballot, then last
  committed decree, then last prepared decree (and, between
  replicas equal in all three, the server chosen for the fewest partitions so far, so
  that an idle cluster's primaries come back spread over the servers). A member of
  the latest configuration has the largest ballot and every committed write (a write is
  committed only when every member of its ballot has it). The guardian's all-dead rule
  then assigns the primary to that server once it reports in a config sync, at ballot +
  1, and adds the others back as secondaries (they are preferred, being dropped
  members). So the primary comes from the replicas' own records, through the same path
  as after any all-dead failure.
- A partition with fewer replicas than its table's replica count gets a WARNING line
  (the missing ones may have held writes the others do not: when the server of the best
  replica is not among those asked, writes are lost). One with no replica at all refuses
  the recovery (ERR_TRY_AGAIN, with an ERROR line), unless ``skip_lost_partitions``: it
  then starts empty (ballot 0, no drops), with a WARNING line.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import replace

from pegasus_log.frozen import frozen
from pegasus_log.meta.convert import app_from_wire
from pegasus_log.meta.core.guardian import LAST_DROPS_MAX
from pegasus_log.meta.state.model import AppState, AppStatus, InvalidState, PartitionConfig
from pegasus_log.rpc.admin import AppInfoMessage, PartitionStatus, ReplicaInfo


@frozen
class NodeReport:
    """One replica server's answers to RPC_QUERY_APP_INFO and RPC_QUERY_REPLICA_INFO."""

    node: str  # host:port
    apps: tuple[AppInfoMessage, ...]
    replicas: tuple[ReplicaInfo, ...]


@frozen
class Recovered:
    """What to write: every table with its partitions."""

    tables: tuple[tuple[AppState, tuple[PartitionConfig, ...]], ...]
    hints: tuple[str, ...]


@frozen
class Refused:
    hints: tuple[str, ...]


def construct(reports: Sequence[NodeReport], *, skip_lost_partitions: bool) -> Recovered | Refused:
    hints: list[str] = []
    apps = _tables(reports, hints)
    if isinstance(apps, Refused):
        return apps
    _rename_conflicts(apps, hints)
    tables: list[tuple[AppState, tuple[PartitionConfig, ...]]] = []
    lost = False
    chosen: dict[str, int] = {}  # node -> partitions it was chosen best for so far
    held: dict[tuple[int, int], list[tuple[ReplicaInfo, str]]] = {}
    for report in reports:
        for r in report.replicas:
            held.setdefault((r.pid.app_id, r.pid.partition_index), []).append((r, report.node))
    for app_id in sorted(apps):
        app = apps[app_id]
        dropped = app.status != AppStatus.AS_AVAILABLE
        partitions = []
        for index in range(app.partition_count):
            replicas = held.get((app_id, index), [])
            config, hint, missing = _partition(app, index, replicas, skip_lost_partitions, chosen)
            partitions.append(config)
            if dropped:
                continue  # what is left of a dropped table comes back as it is
            lost |= missing
            if hint:
                hints.append(hint)
        tables.append((app, tuple(partitions)))
    if lost:
        return Refused(tuple(hints))
    return Recovered(tuple(tables), tuple(hints))


def _tables(reports: Sequence[NodeReport], hints: list[str]) -> dict[int, AppState] | Refused:
    records: dict[int, list[AppInfoMessage]] = {}
    for report in reports:
        for info in report.apps:
            records.setdefault(info.app_id, []).append(info)
    apps: dict[int, AppState] = {}
    for app_id in sorted(records):
        infos = records[app_id]
        keys = [_record_key(i) for i in infos]
        # The record most servers hold; of those tied, the one reported first.
        chosen = infos[max(range(len(infos)), key=lambda n: (keys.count(keys[n]), -n))]
        if len(set(keys)) > 1:
            hints.append(
                f"WARNING: the servers hold {len(set(keys))} different records of "
                f"app({app_id}); taking the one most of them hold: name({chosen.app_name})"
            )
        try:
            apps[app_id] = app_from_wire(chosen)
        except InvalidState as e:
            return Refused((*hints, f"ERROR: app({app_id}) cannot be rebuilt: {e}"))
    return apps


def _record_key(info: AppInfoMessage) -> Hashable:
    return (
        info.status,
        info.app_type,
        info.app_name,
        info.partition_count,
        tuple(sorted(info.envs.items())),
        info.max_replica_count,
        info.expire_second,
        info.create_second,
        info.drop_second,
    )


def _rename_conflicts(apps: dict[int, AppState], hints: list[str]) -> None:
    taken: set[str] = set()
    for app_id in sorted(apps, reverse=True):
        app = apps[app_id]
        if app.status != AppStatus.AS_AVAILABLE:
            continue
        name = app.app_name
        while name in taken:
            name = f"{name}__{app_id}"
        if name != app.app_name:
            hints.append(
                f"WARNING: app({app_id})'s old name({app.app_name}) is conflict with others, "
                f"rename it to ({name})"
            )
            apps[app_id] = replace(app, app_name=name)
        taken.add(name)


def _partition(
    app: AppState,
    index: int,
    held: list[tuple[ReplicaInfo, str]],
    skip_lost: bool,
    chosen: dict[str, int],
) -> tuple[PartitionConfig, str, bool]:
    """(configuration, hint line or "", whether the partition is lost and not skipped).
    Of replicas equally good (an idle group's members), the one on the server chosen
    least so far is best, so that the primaries spread over the servers."""
    gpid = f"{app.app_id}.{index}"
    count = app.max_replica_count
    if not held:
        fresh = PartitionConfig(app.app_id, index, max_replica_count=count)
        if skip_lost:
            hint = (
                f"WARNING: partition({gpid}) has no replica collected, "
                "force recover the lost partition to empty"
            )
            return fresh, hint, False
        hint = (
            f"ERROR: partition({gpid}) has no replica collected, "
            "you can force recover it by set skip_lost_partitions option"
        )
        return fresh, hint, True
    ranked = sorted(
        held,
        key=lambda h: (
            h[0].status != PartitionStatus.PS_POTENTIAL_SECONDARY,
            h[0].ballot,
            h[0].last_committed_decree,
            h[0].last_prepared_decree,
            -chosen.get(h[1], 0),
            h[1],
        ),
    )
    drops = [node for _info, node in ranked][-LAST_DROPS_MAX:]
    best = ranked[-1][0]
    chosen[ranked[-1][1]] = chosen.get(ranked[-1][1], 0) + 1
    config = PartitionConfig(
        app.app_id,
        index,
        ballot=best.ballot + 1,
        max_replica_count=count,
        last_drops=tuple(drops),
        last_committed_decree=best.last_committed_decree,
    )
    hint = ""
    if len(held) < count:
        hint = (
            f"WARNING: partition({gpid}) only collects {len(held)}/{count} of replicas, "
            "may lost data"
        )
    return config, hint, False
