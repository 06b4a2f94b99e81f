"""What a replica server keeps per partition replica it hosts, and its learning counters
(shared by the runtime and the checkpoint learning it drives)."""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass, field
from typing import Any

from pegasus_log.promise import Promise
from pegasus_log.replica.abnormal_reads import DEFAULT_BOUNDS
from pegasus_log.replica.client_gate import ClientGate
from pegasus_log.replica.core import messages as cm
from pegasus_log.replica.core.replica import ReplicaCore
from pegasus_log.replica.store_dirs import PartitionDirs
from pegasus_log.rpc import admin as a
from pegasus_log.rpc import messages as m
from pegasus_log.rpc.thrift import Gpid, RpcAddress
from pegasus_log.storage.engine import PartitionStore


@dataclass(slots=True)
class Partition:
    gpid: Gpid
    core: ReplicaCore
    store: PartitionStore
    partition_count: int
    dirs: PartitionDirs
    # Decree of the latest local checkpoint: the log above it must stay (log_gc.py).
    durable_decree: int = 0
    checkpoint_taken_at: float = -math.inf
    # client writes waiting for their mutation: request id -> (the decoded request, its
    # answer); Apply on this server uses the request as decoded instead of its body
    waiting: dict[int, tuple[Any, Promise[Any]]] = field(default_factory=dict)
    lease: bool = False
    config: m.PartitionConfiguration | None = None  # the meta's latest, as delivered
    # client writes of this event-loop pass, handed to the core together at its end
    arriving: list[cm.ClientWrite] = field(default_factory=list)
    envs: dict[str, str] = field(default_factory=dict)
    app_name: str = ""  # the table's name, from the meta's app info ("" until it comes)
    # Primary: per learner in progress, the decree it has everything up to.
    learn_floors: dict[RpcAddress, int] = field(default_factory=dict)
    # Serializes the store's directory work (local checkpoints, installing a checkpoint).
    disk_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    # Learner side, for the learning metrics.
    status: int = a.PartitionStatus.PS_INACTIVE
    learn_started: float = 0.0
    learn_copied_bytes: int = 0
    # The operator's replica.disable-plog-gc: the log keeps every record of this partition
    # until enabled again (in memory only, as upstream's; a reopened replica has it on).
    plog_gc_enabled: bool = True
    # What the table's envs say of client requests (throttling, denial).
    gate: ClientGate = field(default_factory=ClientGate)
    # Reads slower than this are abnormal (replica/abnormal_reads.py), and how many
    # gets, multi_gets and batch_gets were.
    slow_query_ns: int = DEFAULT_BOUNDS.slow_query_ns
    abnormal_reads: int = 0

    @property
    def gpid_key(self) -> tuple[int, int]:
        return (self.gpid.app_id, self.gpid.partition_index)


@dataclass(slots=True)
class LearnStats:
    """Learning counters of the server, under upstream's replica metric names (upstream
    keeps them per replica; ours add up the server's replicas). Learner side, as upstream:
    a learning session started / succeeded (became secondary) / failed (anything else);
    rounds = learn requests sent; responses by kind: a checkpoint (LT_APP) or mutations
    (LT_LOG: a learner cannot tell the primary's prepare list from its log, so there is
    no LT_CACHE count); files and bytes copied from checkpoints; mutation bytes learned."""

    learn_count: int = 0
    learn_successful_count: int = 0
    learn_failed_count: int = 0
    learn_rounds: int = 0
    learn_lt_app_responses: int = 0
    learn_lt_log_responses: int = 0
    learn_copy_files: int = 0
    learn_copy_file_bytes: int = 0
    learn_copy_buffer_bytes: int = 0
