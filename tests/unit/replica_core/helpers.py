"""Small drivers for replica-core tests: addresses, configurations, and effect filters."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

from pegasus_log.replica.core import (
    AppendLog,
    Apply,
    ConfigUpdate,
    Effect,
    LogAppended,
    ProposeConfig,
    ReplicaCore,
    ReplicaCoreConfig,
    Reply,
    Send,
    SendPrepareAck,
    open_replica,
)
from pegasus_log.replica.plog.mutation import Mutation, MutationUpdate
from pegasus_log.rpc.messages import PartitionConfiguration
from pegasus_log.rpc.thrift import Gpid, RpcAddress

T = TypeVar("T")

GPID = Gpid(1, 0)
A, B, C, D = (RpcAddress(f"10.0.0.{i}", 34801) for i in (1, 2, 3, 4))
NONE = RpcAddress("", 0)

CFG = ReplicaCoreConfig(
    staleness_max=4,
    # a pipeline of mutations (the default keeps one in flight; tests set it where it
    # matters)
    write_mutations_in_flight_max=4,
    prepare_list_max=16,
    batch_updates_max=3,
    batch_bytes_max=1000,
    write_queue_max=8,
    write_members_min=2,
    prepare_timeout_s=3.0,
    learner_prepare_timeout_s=5.0,
    prepare_retry_s=0.5,
    group_check_interval_s=1.0,
    member_timeout_s=3.0,
    empty_write_idle_s=10.0,
    learn_retry_s=1.0,
    learn_io_timeout_s=30.0,
    proposal_retry_s=1.0,
)


def pc(
    ballot: int,
    primary: RpcAddress = A,
    secondaries: Iterable[RpcAddress] = (B, C),
    replicas: int = 3,
) -> PartitionConfiguration:
    return PartitionConfiguration(
        pid=GPID,
        ballot=ballot,
        max_replica_count=replicas,
        primary=primary,
        secondaries=list(secondaries),
    )


def update(i: int, size: int = 10) -> MutationUpdate:
    return MutationUpdate("RPC_RRDB_RRDB_PUT", f"w{i}:".encode().ljust(size, b"x"))


def mutation(decree: int, *, ballot: int = 1, committed: int | None = None, n: int = 1) -> Mutation:
    lcd = decree - 1 if committed is None else committed
    return Mutation(GPID, ballot, decree, lcd, 0, tuple(update(decree * 100 + k) for k in range(n)))


def core(
    node: RpcAddress = A,
    *,
    ballot: int = 0,
    committed: int = 0,
    log: Iterable[Mutation] = (),
    config: ReplicaCoreConfig = CFG,
    lease: bool = True,
) -> ReplicaCore:
    c, _effects = open_replica(
        gpid=GPID,
        node=node,
        config=config,
        now=0.0,
        ballot=ballot,
        last_committed_decree=committed,
        log_mutations=log,
    )
    c.set_lease(lease)
    return c


def primary(
    secondaries: Iterable[RpcAddress] = (B, C), *, ballot: int = 1, config: ReplicaCoreConfig = CFG
) -> ReplicaCore:
    c = core(A, ballot=ballot - 1, config=config)
    c.step(ConfigUpdate(pc(ballot, A, secondaries)))
    assert c.serving
    return c


def of(effects: Iterable[Effect], kind: type[T]) -> list[T]:
    return [e for e in effects if isinstance(e, kind)]


def sent(effects: Iterable[Effect], kind: type[T], to: RpcAddress | None = None) -> list[T]:
    """Messages of ``kind`` sent (by Send), optionally to one node."""
    out: list[Any] = []
    for e in effects:
        if isinstance(e, Send) and isinstance(e.message, kind) and to in (None, e.to):
            out.append(e.message)
    return out


def acks(effects: Iterable[Effect]) -> list[SendPrepareAck]:
    return of(effects, SendPrepareAck)


def applied(effects: Iterable[Effect]) -> list[int]:
    return [e.mutation.decree for e in of(effects, Apply)]


def replies(effects: Iterable[Effect]) -> list[Reply]:
    return of(effects, Reply)


def proposals(effects: Iterable[Effect]) -> list[ProposeConfig]:
    return of(effects, ProposeConfig)


def log_all(c: ReplicaCore, effects: Iterable[Effect]) -> list[Effect]:
    """Complete every AppendLog in ``effects`` (durably), returning what that caused."""
    out: list[Effect] = []
    for e in of(effects, AppendLog):
        m = e.mutation
        out += c.on_log_appended(LogAppended(m.gpid, m.ballot, m.decree))
    return out
