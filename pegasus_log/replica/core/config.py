"""Bounds and timeouts of one partition replica's PacificA core.

Every queue and batch the core keeps is bounded here (STYLE rule 4). Times are seconds of
the runtime's monotonic clock, handed to the core by ``tick(now)``.
"""

from __future__ import annotations

from pegasus_log.frozen import frozen

KIB = 1024
MIB = 1024 * KIB


class ReplicaCoreConfigError(ValueError):
    """A configuration that cannot work (reported at start, an operator's mistake)."""


@frozen
class ReplicaCoreConfig:
    # Mutations prepared but not yet committed on the primary (bounded staleness): a new
    # mutation starts only while fewer are in flight. Upstream staleness_for_commit = 20.
    staleness_max: int = 20
    # Mutations of client writes a primary keeps prepared but uncommitted; writes that
    # arrive meanwhile wait and go together in the next mutation, started as soon as one
    # commits. Upstream starts one per write until ``staleness_max`` is reached. Holding
    # them back at 1 measured 13-18% less CPU per put and 11-13% more puts/s with 16 and
    # 64 clients (docs/benchmarks.md): a mutation's prepares, acks, log record and apply
    # are shared by every write in it, and it does not lengthen a lone write's path.
    write_mutations_in_flight_max: int = 1
    # Mutations the prepare list holds (committed ones are kept as a learning cache until
    # this is reached). Upstream max_mutation_count_in_prepare_list = 110.
    prepare_list_max: int = 110
    # Client writes put into one mutation. Upstream batches whatever queued while 2PC was
    # throttled; 64 keeps one mutation's apply short.
    batch_updates_max: int = 64
    # Body bytes of one mutation's writes; a batch is cut before it would pass this (a
    # single larger write goes alone). A quarter of the plog's 1 MiB block, so a batch
    # always fits in one log block.
    batch_bytes_max: int = 256 * KIB
    # Client writes waiting on the primary for a mutation; past this a write is refused
    # with ERR_BUSY. Four times the plog's append waiters, so the log pushes back first.
    write_queue_max: int = 4096
    # Members (primary included) a primary needs before it prepares a client write, but
    # never more than the table's replica count (a table of one replica writes on its
    # one); reconciliation ignores it (its mutations must commit, PacificA). Upstream
    # mutation_2pc_min_replica_count = 2.
    write_members_min: int = 2
    # A secondary that has not acked a prepare within this is reported to the meta
    # (DOWNGRADE_TO_INACTIVE); a learner is dropped. Upstream
    # prepare_timeout_ms_for_secondaries = 3000, _for_potential_secondaries = 5000.
    prepare_timeout_s: float = 3.0
    learner_prepare_timeout_s: float = 5.0
    # A prepare not acked within this is sent again (same ballot and decree; receivers
    # treat it as a duplicate). Upstream only retries on ERR_INACTIVE_STATE / TRY_AGAIN;
    # resending a lost prepare before the timeout spares a reconfiguration.
    prepare_retry_s: float = 0.5
    # Group check period: the primary tells every member and learner its configuration and
    # commit point. Upstream group_check_interval_ms = 100000; ours is short because a
    # silent member must be noticed fast.
    group_check_interval_s: float = 1.0
    # A primary that prepared nothing for this long issues an empty write, so the commit
    # point reaches the members' logs too (a group check only reaches their memory).
    # Upstream does it at its group check, every 100 s; 10 s keeps an idle log quiet.
    empty_write_idle_s: float = 10.0
    # A member or learner that answered nothing (no ack, no group check reply) for this
    # long is reported as failed.
    member_timeout_s: float = 3.0
    # A learner resends its learn request (or its completion notice) this often until
    # answered; a learner that hears nothing from its primary for ``member_timeout_s``
    # times two gives up (INACTIVE).
    learn_retry_s: float = 1.0
    # A primary waits this long for the runtime's answer to ReadLog / SendCheckpoint
    # before it forgets the round (the learner asks again).
    learn_io_timeout_s: float = 30.0
    # Mutation bytes (as the log encodes them) in one answer to a learner; the learner asks
    # again for the rest. A quarter of the 16 MiB frame limit, so an answer always fits
    # (one mutation is at most batch_bytes_max, or one write of up to 1 MiB). Upstream
    # has learners copy log files instead, in 4 MiB blocks (nfs_copy_block_bytes).
    learn_response_bytes_max: int = 4 * MIB
    # A configuration proposal to the meta is sent again until answered, this often.
    proposal_retry_s: float = 1.0

    def __post_init__(self) -> None:
        if self.staleness_max < 1:
            raise ReplicaCoreConfigError("staleness_max must be >= 1")
        if not 1 <= self.write_mutations_in_flight_max <= self.staleness_max:
            raise ReplicaCoreConfigError("need 1 <= write_mutations_in_flight_max <= staleness_max")
        if self.prepare_list_max < self.staleness_max:
            raise ReplicaCoreConfigError(
                f"prepare_list_max {self.prepare_list_max} < staleness_max {self.staleness_max}"
            )
        if self.batch_updates_max < 1 or self.batch_bytes_max < 1 or self.write_queue_max < 1:
            raise ReplicaCoreConfigError("batch and queue bounds must be >= 1")
        if self.write_members_min < 1:
            raise ReplicaCoreConfigError("write_members_min must be >= 1")
        if not 0 < self.prepare_retry_s < self.prepare_timeout_s:
            raise ReplicaCoreConfigError("need 0 < prepare_retry_s < prepare_timeout_s")
        if not 0 < self.group_check_interval_s < self.member_timeout_s:
            raise ReplicaCoreConfigError("need 0 < group_check_interval_s < member_timeout_s")
        if self.empty_write_idle_s < self.group_check_interval_s:
            raise ReplicaCoreConfigError("empty_write_idle_s < group_check_interval_s")
        if self.learn_response_bytes_max <= 0:
            raise ReplicaCoreConfigError("learn_response_bytes_max must be > 0")
        if self.learn_retry_s <= 0 or self.proposal_retry_s <= 0 or self.learn_io_timeout_s <= 0:
            raise ReplicaCoreConfigError("retry periods must be > 0")
