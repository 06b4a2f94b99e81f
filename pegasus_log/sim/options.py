"""What one simulation run looks like: sizes, timings and fault rates.

Timings are those of the real defaults scaled down about five times, so that one seed
covers several failovers in a few simulated seconds while keeping every ordering the real
ones have (beacon < lease < grace; retry < prepare timeout < member timeout < grace).
``for_seed`` draws the fault mix of a random run from the seed's generator; scenarios use
``scripted`` (no random faults, fixed delays).
"""

from __future__ import annotations

import random
from dataclasses import field, replace

from pegasus_log.failure_detector import FdOptions
from pegasus_log.frozen import frozen
from pegasus_log.replica.core.config import ReplicaCoreConfig
from pegasus_log.replica.plog.config import PlogConfig

SIM_CORE = ReplicaCoreConfig(
    staleness_max=4,
    # Several mutations in flight by default: scenarios see pipelined prepares.
    write_mutations_in_flight_max=4,
    # Small, so that learners often fall out of the cache and learn from the log, and
    # sometimes (after log GC) from a checkpoint.
    prepare_list_max=12,
    batch_updates_max=8,
    # Fits one plog block of SIM_PLOG with room to spare.
    batch_bytes_max=1024,
    write_queue_max=64,
    write_members_min=2,
    prepare_timeout_s=0.6,
    learner_prepare_timeout_s=0.8,
    prepare_retry_s=0.12,
    group_check_interval_s=0.2,
    empty_write_idle_s=1.5,
    member_timeout_s=0.7,
    learn_retry_s=0.25,
    learn_io_timeout_s=2.0,
    # A few small mutations an answer, so that a learner far behind learns over several
    # answers and the seeds exercise partial ones.
    learn_response_bytes_max=512,
    proposal_retry_s=0.25,
)

SIM_PLOG = PlogConfig(
    segment_bytes_max=8 * 1024,
    block_bytes_max=4096,
    pending_bytes_max=64 * 1024,
    pending_mutations_max=512,
    append_waiters_max=0,
)

SIM_FD = FdOptions(beacon_interval_s=0.1, lease_s=0.6, grace_s=0.8)


@frozen
class FaultRates:
    """Per-message probabilities, and per fault-check (every ``check_interval_s``)
    probabilities of starting each kind of fault."""

    loss: float = 0.0
    duplicate: float = 0.0
    # A message is held back by up to ``long_delay_s`` (so it overtakes or is overtaken).
    reorder: float = 0.0
    check_interval_s: float = 0.5
    crash: float = 0.0
    # Of crashes: how many lose the page cache too (power loss) rather than the process.
    power_loss: float = 0.5
    # All replica servers crash at once (upstream's DDD case).
    crash_all: float = 0.0
    partition: float = 0.0
    meta_partition: float = 0.0
    # A server cut from the meta and every other server, while clients still reach it.
    isolate: float = 0.0
    disk_fault: float = 0.0
    # The meta's state is lost (ZooKeeper wiped); recover follows once every server is up.
    meta_state_loss: float = 0.0
    # Per learner check (every ``learner_check_interval_s``): a server hosting a learner
    # crashes (its process only) and boots again before its primary notices, so that it
    # starts learning over under the same signature.
    learner_crash: float = 0.0
    learner_check_interval_s: float = 0.05


@frozen
class SimOptions:
    nodes: int = 3
    partitions: int = 1
    max_replica_count: int = 3
    core: ReplicaCoreConfig = SIM_CORE
    plog: PlogConfig = SIM_PLOG
    fd: FdOptions = SIM_FD
    tick_s: float = 0.05
    meta_tick_s: float = 0.05
    sync_interval_s: float = 0.3
    proposal_interval_s: float = 0.2
    delay_min_s: float = 0.001
    delay_max_s: float = 0.01
    long_delay_s: float = 0.2
    disk_latency_s: float = 0.002
    io_latency_s: float = 0.005
    # A storage flush (durable point moves up, the log can be collected) per node tick.
    flush_probability: float = 0.05
    # A node whose log failed is restarted by its supervisor after this.
    restart_after_failure_s: float = 0.3
    # Client: one write (and with ``read_share``, a read) every ``client_interval_s``.
    client_interval_s: float = 0.03
    read_share: float = 0.3
    # Independent client processes, each with its own routing table.
    client_sessions: int = 3
    client_timeout_s: float = 2.0
    value_bytes_min: int = 8
    value_bytes_max: int = 200
    # Random runs: faults until ``fault_s``, then heal and wait at most ``heal_s``.
    fault_s: float = 6.0
    heal_s: float = 20.0
    restart_min_s: float = 0.3
    restart_max_s: float = 2.5
    partition_min_s: float = 0.2
    partition_max_s: float = 2.0
    # The meta balances (fl_lively): primary swaps and secondary copies.
    balance: bool = False
    # Balancer copies under way at once, and how long one may take before it is given up.
    balance_copies_max: int = 2
    balance_copy_timeout_s: float = 5.0
    faults: FaultRates = field(default_factory=FaultRates)

    @staticmethod
    def scripted() -> SimOptions:
        """Scenarios: fixed delays, no random faults, no background client."""
        return SimOptions(delay_min_s=0.002, delay_max_s=0.002, client_interval_s=0.0)

    @staticmethod
    def for_seed(rng: random.Random) -> SimOptions:
        faults = FaultRates(
            loss=rng.choice((0.0, 0.01, 0.03, 0.08)),
            duplicate=rng.choice((0.0, 0.01, 0.05)),
            reorder=rng.choice((0.0, 0.02, 0.1)),
            crash=rng.choice((0.0, 0.05, 0.15)),
            power_loss=rng.choice((0.0, 0.5, 1.0)),
            crash_all=rng.choice((0.0, 0.0, 0.02)),
            partition=rng.choice((0.0, 0.05, 0.15)),
            meta_partition=rng.choice((0.0, 0.05, 0.15)),
            isolate=rng.choice((0.0, 0.03, 0.1)),
            disk_fault=rng.choice((0.0, 0.03, 0.08)),
        )
        base = SimOptions(
            nodes=rng.choice((3, 3, 4, 5)),
            partitions=rng.choice((1, 1, 2)),
            flush_probability=rng.choice((0.01, 0.05, 0.2)),
            delay_max_s=rng.choice((0.003, 0.01, 0.03)),
            faults=faults,
            balance=rng.random() < 0.5,
        )
        # Both write policies: one mutation in flight (the default) and a pipeline of
        # several, which gives more orderings of prepares, acks and commits.
        core = replace(SIM_CORE, write_mutations_in_flight_max=rng.choice((1, 4)))
        return replace(base, max_replica_count=min(3, base.nodes), core=core)
