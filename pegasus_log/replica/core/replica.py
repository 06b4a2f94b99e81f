"""One partition replica's PacificA state machine, as Pegasus runs it.

A plain object (STYLE rules 1-3): events in, effects out, nothing else. ``open_replica``
builds one from what a restart finds on disk; then the runtime feeds it

- ``step(message)``: a client request, a peer's message, the meta's configuration;
- ``tick(now)``: the time, from the runtime's monotonic clock (the core has no other);
- ``set_lease(valid)``: whether the replica server's lease from the meta holds;
- ``set_disk_status(...)``: whether the server's disk is short of space;
- ``on_log_appended`` / ``on_log_read`` / ``on_checkpoint_ready`` /
  ``on_checkpoint_installed``: the completions of the I/O it asked for;
- ``on_storage_failed()``: storage refused an Apply;

and carries out the effects each call returns (``effects.py`` says how and in what
order).

Roles, in brief (DESIGN.md section 5):

- PRIMARY batches client writes into mutations (at most ``write_mutations_in_flight_max``
  of them uncommitted; writes arriving meanwhile wait for the next one), prepares each
  to every secondary and to every learner past its prepare start, appends it to its own
  log, and commits in decree order once its own append and EVERY such ack
  are in; then Apply answers the clients. The commit point rides on the next prepare and
  on the group check; a primary idle for ``empty_write_idle_s`` issues an empty write.
  A member that does not ack in time, or answers a group check with an error, or is silent
  for ``member_timeout_s``, is proposed to the meta for DOWNGRADE_TO_INACTIVE; a learner
  is simply dropped. While a proposal is out the primary starts no mutation.
- A new primary (and a primary whose ballot changed) first re-prepares its whole
  uncommitted tail under its ballot, filling holes with empty mutations; it serves reads
  and takes writes only once that tail is committed ("reconciled"), and only while the
  lease holds.
- SECONDARY and POTENTIAL_SECONDARY log what they are prepared and ack only after the
  append is durable; they commit up to the commit point they hear, never past a hole.
  A message with an older ballot is refused; a newer ballot from a primary is followed.
- Learning: a primary told ADD_SECONDARY makes the node a learner (a group check with
  status POTENTIAL_SECONDARY and a fresh signature). The learner drops its uncommitted
  entries and asks; the primary answers from its prepare list when it covers the gap,
  else from its log (ReadLog), else with a checkpoint (SendCheckpoint; the learner
  InstallCheckpoint-s it and asks again). A mutations answer fixes the learner's prepare
  start: from then on every new mutation is prepared to the learner too and needs its ack.
  Once everything below the prepare start is logged, the learner reports completion and
  the primary proposes UPGRADE_TO_SECONDARY. A learner added for the guardian is dropped
  instead if the group is full by then; one added for the balancer (ADD_SECONDARY_FOR_LB)
  may take the group to max_replica_count + 1, and the meta then asks the primary to
  REMOVE the secondary it replaces (a copy adds before it removes).
- A replica that finds itself primary in the meta's configuration at its own ballot while
  INACTIVE (it restarted, or its lease lapsed) proposes PRIMARY_FORCE_UPDATE_BALLOT and
  reconciles under the new ballot.
- A lapsed lease turns a primary INACTIVE at once (it may already have been replaced).
  A failed log append turns the replica ERROR (a primary first proposes its own removal);
  the runtime then reopens it from disk.

Why no committed write is lost, also when every replica died (the meta reassigns the
primary only to the last dropped member, ``meta/core/guardian.py``): a mutation commits
only when every member of its ballot and every learner past its prepare start has it in
its log (acks follow durable appends, ``_ack``); a learner becomes a member only after its
learned mutations are durable too; a replica that restarts replays its log on top of its
storage's durable state. So every member, and in particular the last one dropped, holds
every committed mutation durably, and reconciliation commits it again before anything new.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from pegasus_log.replica.core import status as st
from pegasus_log.replica.core.config import ReplicaCoreConfig
from pegasus_log.replica.core.effects import (
    AckProof,
    AppendLog,
    Apply,
    CommittedLocally,
    Effect,
    InstallCheckpoint,
    ProposeConfig,
    ReadLog,
    Reply,
    SaveBallot,
    Send,
    SendCheckpoint,
    SendPrepareAck,
    ServeRead,
)
from pegasus_log.replica.core.messages import (
    CheckpointInstalled,
    CheckpointReady,
    CheckpointRef,
    ClientRead,
    ClientWrite,
    ClientWrites,
    ConfigProposal,
    ConfigUpdate,
    ConfigUpdateReply,
    GroupCheck,
    GroupCheckReply,
    Inbound,
    LearnCompletion,
    LearnerStatus,
    LearnRequest,
    LearnResponse,
    LogAppended,
    LogRead,
    PeerMessage,
    Prepare,
    PrepareAck,
    PrepareNack,
)
from pegasus_log.replica.core.prepare_list import Entry, PrepareList
from pegasus_log.replica.plog.mutation import Mutation, MutationUpdate, encoded_size
from pegasus_log.rpc.admin import (
    ConfigType,
    ConfigurationUpdateRequest,
    PartitionStatus,
    ReplicaInfo,
)
from pegasus_log.rpc.error_code import ErrorCode
from pegasus_log.rpc.messages import PartitionConfiguration
from pegasus_log.rpc.thrift import Gpid, RpcAddress

NO_NODE = RpcAddress("", 0)
NEVER = float("-inf")
OK = ErrorCode.ERR_OK


@dataclass(slots=True)
class _InFlight:
    """A mutation the primary prepared and has not committed."""

    prepared_at: float
    # Members and learners whose ack is still needed -> when the prepare last went out.
    waiting: dict[RpcAddress, float]
    request_ids: tuple[int | None, ...]


@dataclass(slots=True)
class _RemoteLearner:
    """A learner, as its primary sees it."""

    signature: int
    last_heard: float
    # First decree prepared to the learner (0: not fixed yet).
    prepare_start: int = 0
    # The ReadLog / SendCheckpoint in flight for it (0: none), and the decree it serves.
    read_id: int = 0
    read_started: float = NEVER
    read_from: int = 0
    # Added by the balancer (ADD_SECONDARY_FOR_LB): may become a member one beyond
    # max_replica_count; the meta then removes the secondary it replaces.
    for_lb: bool = False


@dataclass(slots=True)
class _PrimaryState:
    config: PartitionConfiguration
    secondaries: tuple[RpcAddress, ...]
    learners: dict[RpcAddress, _RemoteLearner]
    in_flight: dict[int, _InFlight]
    queue: deque[tuple[int, MutationUpdate]]
    # Reconciled once the commit point reaches this (the tail when it became primary).
    reconcile_to: int
    last_heard: dict[RpcAddress, float]
    last_group_check: float
    last_prepare: float
    next_signature: int
    proposal: ConfigurationUpdateRequest | None = None
    proposal_sent: float = NEVER
    # Members whose last group check reply said their disk is short of space.
    disk_insufficient: set[RpcAddress] = field(default_factory=set)


@dataclass(slots=True)
class _LocalLearner:
    """This replica's learning session (POTENTIAL_SECONDARY)."""

    primary: RpcAddress
    signature: int
    last_heard: float
    status: LearnerStatus = LearnerStatus.WITHOUT_PREPARE
    prepare_start: int = 0
    requested_at: float = NEVER
    completion_sent: float = NEVER
    # A learn request is out and unanswered; the last answer held something new.
    asked: bool = False
    progressed: bool = False
    # Learned mutations whose AppendLog has not come back, by (ballot, decree). Kept
    # across sessions: a learner becomes a member only once all of them are durable.
    unlogged: dict[tuple[int, int], None] = field(default_factory=dict)


class ReplicaCore:
    def __init__(
        self,
        *,
        gpid: Gpid,
        node: RpcAddress,
        config: ReplicaCoreConfig,
        ballot: int,
        last_committed_decree: int,
        now: float,
    ) -> None:
        assert ballot >= 0 and last_committed_decree >= 0 and not node.is_invalid
        self._gpid = gpid
        self._node = node
        self._config = config
        self._status = st.INACTIVE
        self._ballot = ballot
        self._primary_node = NO_NODE
        self._list = PrepareList(
            last_committed_decree=last_committed_decree, capacity=config.prepare_list_max
        )
        # Decree of the last Apply emitted; equals the list's commit point between calls.
        self._applied = last_committed_decree
        self._now = now
        # The latest wall-clock time a client write brought (ClientWrite.arrived_us).
        self._wall_us = 0
        self._lease = False
        # set_disk_status: this server's disk is short of space; refuse client writes
        # when it or a secondary's is.
        self._disk_insufficient = False
        self._reject_writes_on_full_disk = True
        self._p: _PrimaryState | None = None
        self._l: _LocalLearner | None = None
        # Learned mutations not yet durable, kept when a learning session ends.
        self._unlogged_learned: dict[tuple[int, int], None] = {}
        self._installing: CheckpointRef | None = None
        # Log records below this may be stale copies that a checkpoint superseded (see
        # ``_on_log_read``); storage covers everything below it.
        self._log_trusted_from = last_committed_decree + 1
        self._force_sent = NEVER
        self._read_seq = 0
        self._out: list[Effect] = []

    # ---- what the runtime and the checkers may look at ----------------------------------

    @property
    def gpid(self) -> Gpid:
        return self._gpid

    @property
    def node(self) -> RpcAddress:
        return self._node

    @property
    def status(self) -> PartitionStatus:
        return self._status

    @property
    def ballot(self) -> int:
        return self._ballot

    @property
    def last_committed_decree(self) -> int:
        return self._list.last_committed_decree

    @property
    def max_prepared_decree(self) -> int:
        return self._list.max_decree

    @property
    def primary(self) -> RpcAddress:
        """The primary this replica follows (itself when primary; none when unknown)."""
        return self._primary_node

    @property
    def secondaries(self) -> tuple[RpcAddress, ...]:
        return self._p.secondaries if self._p is not None else ()

    @property
    def learners(self) -> tuple[RpcAddress, ...]:
        return tuple(self._p.learners) if self._p is not None else ()

    @property
    def learner_status(self) -> LearnerStatus:
        return self._l.status if self._l is not None else LearnerStatus.INVALID

    @property
    def reconciled(self) -> bool:
        p = self._p
        return p is not None and self._list.last_committed_decree >= p.reconcile_to

    @property
    def serving(self) -> bool:
        """May this replica serve reads and take writes now: primary, reconciled, not
        reconfiguring, lease valid."""
        p = self._p
        return (
            self._status == st.PRIMARY
            and p is not None
            and self._lease
            and p.proposal is None
            and self._list.last_committed_decree >= p.reconcile_to
        )

    def committed_mutation(self, decree: int) -> Mutation | None:
        """The committed mutation at ``decree`` if still cached (tests and checkers)."""
        entry = self._list.get(decree)
        if entry is None or decree > self._list.last_committed_decree:
            return None
        return entry.mutation

    def replica_info(self) -> ReplicaInfo:
        return ReplicaInfo(
            pid=self._gpid,
            ballot=self._ballot,
            status=self._status,
            last_committed_decree=self._list.last_committed_decree,
            last_prepared_decree=self._list.max_decree,
        )

    def __repr__(self) -> str:
        return (
            f"ReplicaCore({self._node} {self._gpid.app_id}.{self._gpid.partition_index} "
            f"{st.SHORT_NAMES.get(self._status, '?')}@{self._ballot} "
            f"c={self._list.last_committed_decree} p={self._list.max_decree})"
        )

    def restore(self, mutations: list[Mutation]) -> list[Effect]:
        """Hold replayed log records (durable already: the log itself is their receipt),
        in decree order, committing as far as their commit points reach while going, so
        a long committed tail never overflows the list. Called once, by ``open_replica``.
        """
        assert self._status == st.INACTIVE and not self._list.uncommitted_count()
        target = max((m.last_committed_decree for m in mutations), default=0)
        self._list.raise_target(target)
        for mutation in mutations:
            if not self._list.has_room(mutation.decree):
                break  # past a hole by more than any primary's staleness: never committed
            entry = self._list.put(mutation)
            entry.logged = LogAppended(mutation.gpid, mutation.ballot, mutation.decree)
            self._advance_commit(target)
        return self._take()

    # ---- events ---------------------------------------------------------------------

    def step(self, message: Inbound) -> list[Effect]:
        assert getattr(message, "gpid", self._gpid) == self._gpid, "misrouted message"
        match message:
            case ClientWrite():
                if self._queue_client_write(message):
                    self._start_writes()
            case ClientWrites():
                queued = [self._queue_client_write(w) for w in message.writes]
                if any(queued):
                    self._start_writes()
            case ClientRead():
                self._on_client_read(message)
            case Prepare():
                self._on_prepare(message)
            case PrepareAck():
                self._on_prepare_ack(message)
            case PrepareNack():
                self._on_prepare_nack(message)
            case GroupCheck():
                self._on_group_check(message)
            case GroupCheckReply():
                self._on_group_check_reply(message)
            case LearnRequest():
                self._on_learn_request(message)
            case LearnResponse():
                self._on_learn_response(message)
            case LearnCompletion():
                self._on_learn_completion(message)
            case ConfigUpdate():
                self._on_config(message.config)
            case ConfigProposal():
                self._on_config_proposal(message)
            case ConfigUpdateReply():
                self._on_config_update_reply(message)
        return self._take()

    def tick(self, now: float) -> list[Effect]:
        assert now >= self._now, (now, self._now)
        self._now = now
        if self._status == st.PRIMARY:
            self._tick_primary()
        elif self._status == st.POTENTIAL_SECONDARY:
            self._tick_learner()
        return self._take()

    def set_lease(self, valid: bool) -> list[Effect]:
        self._lease = valid
        if not valid and self._status == st.PRIMARY:
            # The meta may replace us once its grace runs out, which is after our lease
            # ends; from here on a newer primary may exist, so this one stops for good.
            self._leave_primary(st.INACTIVE, ErrorCode.ERR_INVALID_STATE)
        return self._take()

    def set_disk_status(self, *, insufficient: bool, reject_writes: bool) -> list[Effect]:
        """Whether this server's disk is short of space (the runtime measures it) and
        whether a primary then refuses client writes, with ERR_DISK_INSUFFICIENT, as
        upstream's reject_write_when_disk_insufficient: its own disk's or any
        secondary's (secondaries report theirs in group check replies). Reads go on;
        mutations already queued or prepared complete."""
        self._disk_insufficient = insufficient
        self._reject_writes_on_full_disk = reject_writes
        return self._take()

    def on_log_appended(self, event: LogAppended) -> list[Effect]:
        assert event.gpid == self._gpid
        key = (event.ballot, event.decree)
        self._unlogged_learned.pop(key, None)
        if self._l is not None:
            self._l.unlogged.pop(key, None)
        if self._status == st.ERROR:
            return self._take()
        if not event.ok:
            self._local_failure()
            return self._take()
        entry = self._list.get(event.decree)
        if entry is not None and entry.ballot == event.ballot and entry.logged is None:
            entry.logged = event
            if self._status == st.PRIMARY:
                self._commit_on_primary()
            elif entry.ack_to is not None:
                self._ack(entry.ack_to, event)
                entry.ack_to = None
        self._check_learn_done()
        return self._take()

    def on_storage_failed(self) -> list[Effect]:
        """Storage refused an Apply (effects.py): like a failed log append, nothing this
        replica holds can be trusted any more. Also the operator's
        ``replica.kill_partition`` (upstream injects a local failure the same way)."""
        self._local_failure()
        return self._take()

    def on_log_read(self, event: LogRead) -> list[Effect]:
        self._on_log_read(event)
        return self._take()

    def on_checkpoint_ready(self, event: CheckpointReady) -> list[Effect]:
        self._on_checkpoint_ready(event)
        return self._take()

    def on_checkpoint_installed(self, event: CheckpointInstalled) -> list[Effect]:
        self._on_checkpoint_installed(event)
        return self._take()

    # ---- plumbing ---------------------------------------------------------------------

    def _take(self) -> list[Effect]:
        out, self._out = self._out, []
        assert self._applied == self._list.last_committed_decree or self._installing is not None
        return out

    def _emit(self, effect: Effect) -> None:
        self._out.append(effect)

    def _send(self, to: RpcAddress, message: PeerMessage) -> None:
        self._emit(Send(to, message))

    def _set_status(self, new: PartitionStatus) -> None:
        self._status = st.transition(self._status, new)

    def _set_ballot(self, ballot: int) -> None:
        assert ballot >= self._ballot, (ballot, self._ballot)
        if ballot > self._ballot:
            self._ballot = ballot
            self._emit(SaveBallot(self._gpid, ballot))

    def _timestamp_us(self) -> int:
        """A new mutation's timestamp (microseconds since the Unix epoch), as upstream's
        unique timestamp: the wall clock the latest client write brought, but always past
        every mutation this replica holds or held, so a partition's timestamps grow with
        its decrees, across primaries too, while the wall clock steps back. Storage puts
        it in every value's timetag (``storage/schema.py``), which orders writes across
        clusters."""
        return max(self._list.timestamp_us_max + 1, self._wall_us)

    def _append_log(self, mutation: Mutation) -> None:
        """Log ``mutation`` with OUR commit point in its header, not its sender's.

        Replay commits up to the largest commit point found in the log (``restore``), so
        that point must never exceed what this replica had really committed: a learner
        drops stale uncommitted entries from memory while their records stay in the log,
        and a primary's commit point may cover decrees whose current version this replica
        has not received yet. Since appends become durable in order (effects.py), a
        durable record with commit point c means every version this replica committed up
        to c was durable before it; and a committed decree is never logged again.
        """
        own = min(self._list.last_committed_decree, mutation.decree - 1)
        if mutation.last_committed_decree != own:
            mutation = replace(mutation, last_committed_decree=own)
        self._emit(AppendLog(mutation))

    def _apply(self, mutation: Mutation, request_ids: tuple[int | None, ...]) -> None:
        assert self._installing is None, "no apply while a checkpoint is being installed"
        assert mutation.decree == self._applied + 1, (mutation.decree, self._applied)
        self._applied = mutation.decree
        self._emit(Apply(mutation, request_ids))

    def _ack(self, to: RpcAddress, proof: AckProof) -> None:
        """Ack a prepare, with the proof that justifies it.

        Safety argument (acks follow durability). A primary counts an ack as "this member
        holds the mutation durably", and commits when every member has acked. This is the
        only place a PrepareAck is made, and SendPrepareAck checks its proof: either the
        LogAppended event of that very (ballot, decree), which the runtime reports only
        after the record is durable (effects.py, AppendLog), or the replica's commit point
        at or above the decree, which a replica reaches only through a primary that already
        counted this replica's own ack of that decree (so it was logged), or through
        learning, whose mutations are durable before the learner may become a member
        (``_check_learn_done``). A crash therefore never loses a mutation that some ack
        said was durable, so a committed mutation survives on every member.
        """
        if isinstance(proof, LogAppended):
            decree, ballot = proof.decree, proof.ballot
        else:
            decree, ballot = proof.last_committed_decree, self._ballot
        ack = PrepareAck(self._gpid, ballot, decree, self._node)
        self._emit(SendPrepareAck(to, ack, proof))

    def _ack_committed(self, to: RpcAddress, decree: int) -> None:
        committed = self._list.last_committed_decree
        assert decree <= committed
        ack = PrepareAck(self._gpid, self._ballot, decree, self._node)
        self._emit(SendPrepareAck(to, ack, CommittedLocally(self._gpid, committed)))

    def _nack(self, to: RpcAddress, decree: int, err: ErrorCode) -> None:
        self._send(to, PrepareNack(self._gpid, self._ballot, decree, self._node, err))

    # ---- clients ----------------------------------------------------------------------

    def _queue_client_write(self, write: ClientWrite) -> bool:
        """Queue the write for a mutation (True), or refuse it."""
        if write.arrived_us > self._wall_us:
            self._wall_us = write.arrived_us
        p = self._p
        if p is None or not self.serving:
            self._emit(Reply(write.request_id, ErrorCode.ERR_INVALID_STATE))
        elif not self._members_enough(p):
            self._emit(Reply(write.request_id, ErrorCode.ERR_NOT_ENOUGH_MEMBER))
        elif len(p.queue) >= self._config.write_queue_max:
            self._emit(Reply(write.request_id, ErrorCode.ERR_BUSY))
        elif self._reject_writes_on_full_disk and (
            self._disk_insufficient or any(s in p.disk_insufficient for s in p.secondaries)
        ):
            self._emit(Reply(write.request_id, ErrorCode.ERR_DISK_INSUFFICIENT))
        else:
            p.queue.append((write.request_id, write.update))
            return True
        return False

    def _on_client_read(self, read: ClientRead) -> None:
        if self.serving:
            self._emit(ServeRead(read.request_id))
        else:
            self._emit(Reply(read.request_id, ErrorCode.ERR_INVALID_STATE))

    # ---- primary: two-phase commit ----------------------------------------------------

    def _members_enough(self, p: _PrimaryState) -> bool:
        """Whether the group may take client writes: ``write_members_min`` members, but
        no more than the table's replica count (as of the configuration it is primary at,
        so a table set to one replica takes writes on its one)."""
        needed = min(self._config.write_members_min, max(1, p.config.max_replica_count))
        return 1 + len(p.secondaries) >= needed

    def _start_writes(self) -> None:
        """Turn queued client writes into mutations while the staleness bound allows."""
        p = self._p
        assert p is not None
        cfg = self._config
        while p.queue and self.serving and self._members_enough(p):
            decree = self._list.max_decree + 1
            in_flight = decree - 1 - self._list.last_committed_decree
            if in_flight >= cfg.write_mutations_in_flight_max or not self._list.has_room(decree):
                return
            ids: list[int | None] = []
            updates: list[MutationUpdate] = []
            size = 0
            while p.queue and len(updates) < cfg.batch_updates_max:
                request_id, update = p.queue[0]
                if updates and size + len(update.body) > cfg.batch_bytes_max:
                    break
                p.queue.popleft()
                ids.append(request_id)
                updates.append(update)
                size += len(update.body)
            mutation = Mutation(
                self._gpid,
                self._ballot,
                decree,
                self._list.last_committed_decree,
                self._timestamp_us(),
                tuple(updates),
            )
            self._prepare(mutation, tuple(ids))

    def _empty_write(self) -> None:
        """Upstream's empty write: moves the commit point to the members when idle."""
        p = self._p
        assert p is not None
        decree = self._list.max_decree + 1
        if decree - 1 - self._list.last_committed_decree >= self._config.staleness_max:
            return
        mutation = Mutation(
            self._gpid,
            self._ballot,
            decree,
            self._list.last_committed_decree,
            self._timestamp_us(),
            (),
        )
        self._prepare(mutation, ())

    def _prepare(self, mutation: Mutation, request_ids: tuple[int | None, ...]) -> None:
        """Prepare locally (list + log) and remotely (every member, and every learner whose
        prepare start is at or below the decree); commit waits for all of them."""
        p = self._p
        assert p is not None and mutation.ballot == self._ballot
        self._list.put(mutation)
        self._append_log(mutation)
        targets = list(p.secondaries) + [
            node
            for node, learner in p.learners.items()
            if learner.prepare_start and learner.prepare_start <= mutation.decree
        ]
        p.in_flight[mutation.decree] = _InFlight(
            prepared_at=self._now,
            waiting={node: self._now for node in targets},
            request_ids=request_ids,
        )
        # Every secondary gets the same message object (the runtime encodes it once).
        to_secondary = Prepare(mutation, self._node, st.SECONDARY)
        for node in targets:
            self._send_prepare(node, mutation, to_secondary)
        p.last_prepare = self._now

    def _send_prepare(
        self, node: RpcAddress, mutation: Mutation, to_secondary: Prepare | None = None
    ) -> None:
        p = self._p
        assert p is not None
        learner = p.learners.get(node)
        if learner is None:
            message = to_secondary or Prepare(mutation, self._node, st.SECONDARY)
        else:
            message = Prepare(mutation, self._node, st.POTENTIAL_SECONDARY, learner.signature)
        self._send(node, message)

    def _on_prepare_ack(self, ack: PrepareAck) -> None:
        p = self._p
        if p is None or ack.ballot != self._ballot:
            return
        self._heard_from(ack.node)
        flight = p.in_flight.get(ack.decree)
        if flight is not None:
            flight.waiting.pop(ack.node, None)
        self._commit_on_primary()

    def _on_prepare_nack(self, nack: PrepareNack) -> None:
        p = self._p
        if p is None:
            return
        flight = p.in_flight.get(nack.decree)
        # Only a refusal of a prepare we still wait for counts: a late nack of an older
        # prepare must not kick a member that has since recovered.
        if flight is not None and nack.node in flight.waiting:
            self._remote_failure(nack.node)

    def _heard_from(self, node: RpcAddress) -> None:
        p = self._p
        assert p is not None
        if node in p.last_heard:
            p.last_heard[node] = self._now
        learner = p.learners.get(node)
        if learner is not None:
            learner.last_heard = self._now

    def _commit_on_primary(self) -> None:
        p = self._p
        assert p is not None

        def ready(entry: Entry) -> bool:
            flight = p.in_flight.get(entry.decree)
            return entry.logged is not None and flight is not None and not flight.waiting

        for entry in self._list.commit(ready, up_to=self._list.max_decree):
            flight = p.in_flight.pop(entry.decree)
            self._apply(entry.mutation, flight.request_ids)
        self._start_writes()

    # ---- primary: membership, failures, proposals -------------------------------------

    def _become_primary(self, config: PartitionConfiguration) -> None:
        """Take (or keep) the primary role at ``config`` and reconcile the tail."""
        assert config.primary == self._node and config.ballot == self._ballot
        old = self._p
        if self._status != st.PRIMARY:
            self._set_status(st.PRIMARY)
        self._primary_node = self._node
        self._l = None
        secondaries = tuple(config.secondaries)
        learners: dict[RpcAddress, _RemoteLearner] = {}
        if old is not None:
            learners = {
                n: lrn
                for n, lrn in old.learners.items()
                if n not in secondaries
                and n != self._node
                and 1 + len(secondaries) < _member_limit(config, lrn)
            }
        for learner in learners.values():
            learner.last_heard = self._now
        carried = {d: f.request_ids for d, f in old.in_flight.items()} if old else {}
        self._p = p = _PrimaryState(
            config=config,
            secondaries=secondaries,
            learners=learners,
            in_flight={},
            queue=old.queue if old is not None else deque(),
            reconcile_to=self._list.max_decree,
            last_heard={s: self._now for s in secondaries},
            last_group_check=self._now,
            last_prepare=self._now,
            next_signature=old.next_signature if old is not None else 1,
        )
        self._reconcile(carried)
        if not self._members_enough(p):
            self._fail_queue(ErrorCode.ERR_NOT_ENOUGH_MEMBER)
        self._broadcast_group_check()
        self._commit_on_primary()

    def _reconcile(self, carried: dict[int, tuple[int | None, ...]]) -> None:
        """Re-prepare every uncommitted decree under the current ballot; a hole (a decree
        this replica never got, so never committed) becomes an empty mutation."""
        committed = self._list.last_committed_decree
        for decree in range(committed + 1, self._list.max_decree + 1):
            entry = self._list.get(decree)
            updates = entry.mutation.updates if entry is not None else ()
            stamp = entry.mutation.timestamp_us if entry is not None else self._timestamp_us()
            ids = carried.get(decree, (None,) * len(updates))
            if len(ids) != len(updates):
                ids = (None,) * len(updates)
            mutation = Mutation(self._gpid, self._ballot, decree, committed, stamp, updates)
            self._prepare(mutation, ids)

    def _fail_queue(self, err: ErrorCode) -> None:
        p = self._p
        assert p is not None
        while p.queue:
            request_id, _update = p.queue.popleft()
            self._emit(Reply(request_id, err))

    def _leave_primary(self, new_status: PartitionStatus, err: ErrorCode) -> None:
        """Stop being primary. Queued writes were never prepared: their clients hear
        ``err`` and may send them again. A prepared mutation may still commit under the
        next primary (it reconciles what any member logged), so its clients hear
        ERR_TIMEOUT, an unknown outcome: a client that took it for a refusal and sent
        the write again could have it applied twice."""
        p = self._p
        assert p is not None and self._status == st.PRIMARY
        self._set_status(new_status)
        self._fail_queue(err)
        for flight in p.in_flight.values():
            for request_id in flight.request_ids:
                if request_id is not None:
                    self._emit(Reply(request_id, ErrorCode.ERR_TIMEOUT))
        self._p = None
        if new_status != st.SECONDARY:
            self._primary_node = NO_NODE

    def _remote_failure(self, node: RpcAddress) -> None:
        p = self._p
        assert p is not None
        if node in p.learners:
            self._drop_learner(node)
        elif node in p.secondaries:
            self._propose(ConfigType.CT_DOWNGRADE_TO_INACTIVE, node)

    def _drop_learner(self, node: RpcAddress) -> None:
        """A learner failed: forget it (it is not in the meta's configuration); the
        mutations that waited for its ack no longer do.

        Not while its UPGRADE_TO_SECONDARY is out: the meta may accept it, and a member
        must hold every mutation committed since its prepare start; so its acks stay
        required until the meta answers (after which the new ballot re-prepares the tail,
        or the learner is dropped if the meta refused).
        """
        p = self._p
        assert p is not None
        proposal = p.proposal
        if (
            proposal is not None
            and proposal.type == ConfigType.CT_UPGRADE_TO_SECONDARY
            and proposal.node == node
        ):
            return
        del p.learners[node]
        for flight in p.in_flight.values():
            flight.waiting.pop(node, None)
        self._commit_on_primary()

    def _propose(self, kind: ConfigType, node: RpcAddress) -> None:
        """Ask the meta for ballot + 1 with ``node`` added or removed; one at a time."""
        p = self._p
        assert p is not None
        if p.proposal is not None:
            return
        if kind == ConfigType.CT_UPGRADE_TO_SECONDARY:
            secondaries = [*p.secondaries, node]
        else:
            secondaries = [s for s in p.secondaries if s != node]
        config = replace(p.config, ballot=self._ballot + 1, secondaries=secondaries)
        request = ConfigurationUpdateRequest(
            config=config, type=kind, node=node, host_node=self._node
        )
        p.proposal = request
        p.proposal_sent = self._now
        self._emit(ProposeConfig(request))

    def _on_config_update_reply(self, reply: ConfigUpdateReply) -> None:
        p = self._p
        proposal = p.proposal if p is not None else None
        if (
            p is not None
            and proposal is not None
            and (reply.type, reply.node)
            == (
                proposal.type,
                proposal.node,
            )
        ):
            p.proposal = None
        self._on_config(reply.config)
        if self._p is not None and self._p.proposal is None:
            self._start_writes()

    def _on_config_proposal(self, proposal: ConfigProposal) -> None:
        p = self._p
        if p is None or proposal.config.ballot != self._ballot:
            return
        if proposal.type == ConfigType.CT_ADD_SECONDARY:
            self._add_learner(proposal.node, for_lb=False)
        elif proposal.type == ConfigType.CT_ADD_SECONDARY_FOR_LB:
            self._add_learner(proposal.node, for_lb=True)
        elif proposal.type == ConfigType.CT_REMOVE and proposal.node in p.secondaries:
            self._propose(ConfigType.CT_REMOVE, proposal.node)

    def _add_learner(self, node: RpcAddress, *, for_lb: bool) -> None:
        """Make ``node`` a learner (ADD_SECONDARY from the guardian, ADD_SECONDARY_FOR_LB
        from the balancer), or remind an existing learner with a group check."""
        p = self._p
        assert p is not None
        if node == self._node or node in p.secondaries:
            return
        learner = p.learners.get(node)
        if learner is None:
            if for_lb:
                # One member beyond max_replica_count at most, learners included
                # (upstream's rule): a balancer copy adds before it removes.
                if 1 + len(p.secondaries) + len(p.learners) > p.config.max_replica_count:
                    return
            elif len(p.learners) >= max(1, p.config.max_replica_count):
                # At most as many learners as the partition has replicas.
                return
            signature = self._ballot << 32 | p.next_signature
            p.next_signature += 1
            learner = _RemoteLearner(signature, last_heard=self._now, for_lb=for_lb)
            p.learners[node] = learner
        elif for_lb:
            learner.for_lb = True
        self._send_group_check(node)

    def _on_learner_done(self, node: RpcAddress, learner: _RemoteLearner) -> None:
        p = self._p
        assert p is not None
        if not learner.prepare_start or node in p.secondaries:
            return
        if 1 + len(p.secondaries) >= _member_limit(p.config, learner):
            self._drop_learner(node)
            return
        self._propose(ConfigType.CT_UPGRADE_TO_SECONDARY, node)

    # ---- primary: periodic work -------------------------------------------------------

    def _tick_primary(self) -> None:
        p = self._p
        assert p is not None
        cfg = self._config
        now = self._now
        failed: dict[RpcAddress, None] = {}
        for decree in sorted(p.in_flight):
            flight = p.in_flight[decree]
            for node, sent in list(flight.waiting.items()):
                is_learner = node in p.learners
                limit = cfg.learner_prepare_timeout_s if is_learner else cfg.prepare_timeout_s
                if now - flight.prepared_at >= limit:
                    failed[node] = None
                elif now - sent >= cfg.prepare_retry_s:
                    entry = self._list.get(decree)
                    assert entry is not None
                    flight.waiting[node] = now
                    self._send_prepare(node, entry.mutation)
        for node in p.secondaries:
            if now - p.last_heard[node] >= cfg.member_timeout_s:
                failed[node] = None
        for node, learner in p.learners.items():
            if now - learner.last_heard >= cfg.member_timeout_s:
                failed[node] = None
            if learner.read_id and now - learner.read_started >= cfg.learn_io_timeout_s:
                learner.read_id = 0
        for node in failed:
            if self._p is not p:
                break
            self._remote_failure(node)
        if now - p.last_group_check >= cfg.group_check_interval_s:
            self._broadcast_group_check()
        idle = now - p.last_prepare >= cfg.empty_write_idle_s
        if idle and not p.queue and self.serving and self._members_enough(p):
            self._empty_write()
        if p.proposal is not None and now - p.proposal_sent >= cfg.proposal_retry_s:
            p.proposal_sent = now
            self._emit(ProposeConfig(p.proposal))

    def _broadcast_group_check(self) -> None:
        p = self._p
        assert p is not None
        p.last_group_check = self._now
        for node in (*p.secondaries, *p.learners):
            self._send_group_check(node)

    def _send_group_check(self, node: RpcAddress) -> None:
        p = self._p
        assert p is not None
        learner = p.learners.get(node)
        status = st.SECONDARY if learner is None else st.POTENTIAL_SECONDARY
        signature = 0 if learner is None else learner.signature
        check = GroupCheck(
            self._gpid,
            self._ballot,
            self._node,
            status,
            self._list.last_committed_decree,
            signature,
        )
        self._send(node, check)

    def _on_group_check_reply(self, reply: GroupCheckReply) -> None:
        p = self._p
        if p is None or reply.ballot != self._ballot:
            return
        if reply.node not in p.secondaries and reply.node not in p.learners:
            return
        if reply.err != OK:
            self._remote_failure(reply.node)
            return
        if reply.disk_insufficient:
            p.disk_insufficient.add(reply.node)
        else:
            p.disk_insufficient.discard(reply.node)
        learner = p.learners.get(reply.node)
        if learner is None:
            self._heard_from(reply.node)
        elif reply.signature == learner.signature:
            self._heard_from(reply.node)
            if reply.learner_status == LearnerStatus.SUCCEEDED:
                self._on_learner_done(reply.node, learner)

    # ---- secondary and learner: following a primary -----------------------------------

    def _follow(
        self, primary: RpcAddress, ballot: int, role: PartitionStatus, signature: int
    ) -> bool:
        """Take the role a primary at ``ballot`` (>= ours) gives us, if the transition
        table and our state allow it. False: refuse the message."""
        assert ballot >= self._ballot
        if self._status == st.ERROR or primary == self._node:
            return False
        if role == st.SECONDARY:
            return self._follow_as_secondary(primary, ballot)
        if role == st.POTENTIAL_SECONDARY:
            return self._follow_as_learner(primary, ballot, signature)
        return False

    def _follow_as_secondary(self, primary: RpcAddress, ballot: int) -> bool:
        if self._status == st.SECONDARY:
            if ballot == self._ballot:
                return primary == self._primary_node or self._primary_node == NO_NODE
            self._set_ballot(ballot)
            self._primary_node = primary
            return True
        if ballot == self._ballot:
            return False
        if self._status == st.PRIMARY:
            self._set_ballot(ballot)
            self._leave_primary(st.SECONDARY, ErrorCode.ERR_INVALID_STATE)
            self._primary_node = primary
            return True
        learner = self._l
        if (
            self._status == st.POTENTIAL_SECONDARY
            and learner is not None
            and learner.status == LearnerStatus.SUCCEEDED
            and learner.primary == primary
        ):
            self._set_ballot(ballot)
            self._set_status(st.SECONDARY)
            self._primary_node = primary
            self._l = None
            return True
        return False

    def _follow_as_learner(self, primary: RpcAddress, ballot: int, signature: int) -> bool:
        if signature <= 0:
            return False
        if self._status == st.PRIMARY:
            if ballot == self._ballot:
                return False
            # A primary of a later configuration makes us its learner: ours is stale (the
            # meta replaced us while it could not reach us, or rebuilt the partition
            # after losing its state). Stop serving and learn, as a secondary of a later
            # ballot's primary does (simulator seed 18894: a stale primary refused for
            # ever, and its partition never got its third member back).
            self._leave_primary(st.INACTIVE, ErrorCode.ERR_INVALID_STATE)
        if self._status == st.SECONDARY and ballot == self._ballot:
            return False
        learner = self._l
        if learner is not None and signature < learner.signature:
            return False
        self._set_ballot(ballot)
        if self._status != st.POTENTIAL_SECONDARY:
            self._set_status(st.POTENTIAL_SECONDARY)
        self._primary_node = primary
        if learner is None or learner.signature != signature:
            self._start_learning(primary, signature)
        else:
            learner.last_heard = self._now
        return True

    def _on_prepare(self, prepare: Prepare) -> None:
        mutation = prepare.mutation
        if mutation.ballot < self._ballot:
            self._nack(prepare.primary, mutation.decree, ErrorCode.ERR_VERSION_OUTDATED)
            return
        if not self._follow(prepare.primary, mutation.ballot, prepare.status, prepare.signature):
            self._nack(prepare.primary, mutation.decree, ErrorCode.ERR_INVALID_STATE)
            return
        if mutation.decree <= self._list.last_committed_decree:
            self._ack_committed(prepare.primary, mutation.decree)
            self._advance_commit(mutation.last_committed_decree)
            return
        entry = self._list.get(mutation.decree)
        if entry is not None and entry.ballot == mutation.ballot:
            # A duplicate (or a resend): ack if already durable, else when it is.
            if entry.logged is not None:
                self._ack(prepare.primary, entry.logged)
            else:
                entry.ack_to = prepare.primary
        elif not self._list.has_room(mutation.decree):
            self._nack(prepare.primary, mutation.decree, ErrorCode.ERR_CAPACITY_EXCEEDED)
            return
        else:
            entry = self._list.put(mutation)
            entry.ack_to = prepare.primary
            self._advance_commit(mutation.last_committed_decree)
            self._append_log(mutation)
            return
        self._advance_commit(mutation.last_committed_decree)

    def _advance_commit(self, decree: int) -> None:
        """Commit up to the primary's commit point, as far as entries are held."""
        self._list.raise_target(decree)
        if self._installing is not None:
            return
        for entry in self._list.commit(lambda _e: True):
            self._apply(entry.mutation, (None,) * len(entry.mutation.updates))

    def _on_group_check(self, check: GroupCheck) -> None:
        if check.ballot < self._ballot:
            self._reply_group_check(check, ErrorCode.ERR_VERSION_OUTDATED)
            return
        if not self._follow(check.primary, check.ballot, check.status, check.signature):
            self._reply_group_check(check, ErrorCode.ERR_INVALID_STATE)
            return
        self._advance_commit(check.last_committed_decree)
        learner = self._l
        if (
            learner is not None
            and self._installing is None
            and learner.status == LearnerStatus.WITHOUT_PREPARE
            and self._now - learner.requested_at >= self._config.learn_retry_s
        ):
            self._send_learn_request()
        self._reply_group_check(check, OK)

    def _reply_group_check(self, check: GroupCheck, err: ErrorCode) -> None:
        learner = self._l
        reply = GroupCheckReply(
            self._gpid,
            check.ballot,
            self._node,
            err,
            self._list.last_committed_decree,
            learner.status if learner is not None else LearnerStatus.INVALID,
            learner.signature if learner is not None else 0,
            disk_insufficient=self._disk_insufficient,
        )
        self._send(check.primary, reply)

    # ---- learner ----------------------------------------------------------------------

    def _start_learning(self, primary: RpcAddress, signature: int) -> None:
        """A new session: forget uncommitted entries (they may be an old primary's), ask."""
        old = self._l
        if old is not None:
            self._unlogged_learned.update(old.unlogged)
        self._list.truncate()
        self._l = _LocalLearner(primary, signature, last_heard=self._now)
        self._l.unlogged.update(self._unlogged_learned)
        if self._installing is None:
            self._send_learn_request()

    def _send_learn_request(self) -> None:
        learner = self._l
        assert learner is not None and self._installing is None
        learner.requested_at = self._now
        learner.asked = True
        request = LearnRequest(
            self._gpid,
            self._ballot,
            self._node,
            learner.signature,
            self._list.last_committed_decree,
            fresh=learner.status == LearnerStatus.WITHOUT_PREPARE,
        )
        self._send(learner.primary, request)

    def _tick_learner(self) -> None:
        learner = self._l
        assert learner is not None
        cfg = self._config
        if self._now - learner.last_heard >= 2 * cfg.member_timeout_s:
            # The primary forgot us (or died): stop; a primary will add us again.
            self._unlogged_learned.update(learner.unlogged)
            self._l = None
            self._primary_node = NO_NODE
            self._set_status(st.INACTIVE)
            return
        if self._installing is not None:
            return
        if learner.status == LearnerStatus.SUCCEEDED:
            if self._now - learner.completion_sent >= cfg.learn_retry_s:
                self._send_completion()
        elif self._now - learner.requested_at >= cfg.learn_retry_s:
            self._send_learn_request()

    def _send_completion(self) -> None:
        learner = self._l
        assert learner is not None
        learner.completion_sent = self._now
        notice = LearnCompletion(self._gpid, self._ballot, self._node, learner.signature)
        self._send(learner.primary, notice)

    def _on_learn_response(self, response: LearnResponse) -> None:
        learner = self._l
        if (
            self._status != st.POTENTIAL_SECONDARY
            or learner is None
            or response.signature != learner.signature
            or response.primary != learner.primary
            or response.ballot < self._ballot
        ):
            return
        learner.asked = False
        if response.err != OK:
            # Only an answer that serves the session counts as hearing from a primary: a
            # former primary answers errors forever, and a learner kept alive by them
            # would never stop (its primary's group checks keep a live session going).
            return  # asked again after learn_retry_s
        learner.last_heard = self._now
        if self._installing is not None:
            return
        self._set_ballot(response.ballot)
        if response.checkpoint is not None:
            self._start_install(learner, response.checkpoint)
            return
        learner.progressed = self._take_learned(learner, response) > 0
        if learner.status == LearnerStatus.WITHOUT_PREPARE:
            learner.status = LearnerStatus.WITH_PREPARE
            learner.prepare_start = response.prepare_start_decree
        self._check_learn_done()

    def _take_learned(self, learner: _LocalLearner, response: LearnResponse) -> int:
        """Hold, log and (up to the primary's commit point) commit learned mutations; how
        many were new here."""
        taken = 0
        assert not learner.prepare_start or learner.prepare_start == response.prepare_start_decree
        self._list.raise_target(response.last_committed_decree)
        for mutation in sorted(response.mutations, key=lambda m: m.decree):
            if mutation.decree >= response.prepare_start_decree:
                break
            if mutation.decree <= self._list.last_committed_decree:
                continue
            entry = self._list.get(mutation.decree)
            if entry is not None and entry.ballot >= mutation.ballot:
                continue
            if not self._list.has_room(mutation.decree):
                break  # the rest comes with the next round
            self._list.put(mutation)
            learner.unlogged[(mutation.ballot, mutation.decree)] = None
            self._advance_commit(response.last_committed_decree)
            self._append_log(mutation)
            taken += 1
        return taken

    def _check_learn_done(self) -> None:
        """Learning succeeds once every decree below the prepare start is held and every
        learned mutation is durable: from then on the learner holds, durably, all the
        primary has below its prepare start, and acks (after logging) all above."""
        learner = self._l
        if learner is None or learner.status != LearnerStatus.WITH_PREPARE:
            return
        if learner.unlogged or self._installing is not None:
            return
        if self._list.missing_up_to(learner.prepare_start - 1):
            if learner.progressed and not learner.asked:
                # A partial answer (learn_response_bytes_max) is durable: ask for the
                # rest now rather than after learn_retry_s. Only after progress, so an
                # answer that brought nothing new cannot start a loop of asks.
                learner.progressed = False
                self._send_learn_request()
            return
        learner.status = LearnerStatus.SUCCEEDED
        self._send_completion()

    def _start_install(self, learner: _LocalLearner, checkpoint: CheckpointRef) -> None:
        if checkpoint.decree <= self._list.last_committed_decree:
            self._send_learn_request()
            return
        self._installing = checkpoint
        self._emit(InstallCheckpoint(self._gpid, learner.primary, checkpoint))

    def _on_checkpoint_installed(self, event: CheckpointInstalled) -> None:
        checkpoint = self._installing
        if checkpoint is None:
            return
        self._installing = None
        if not event.ok:
            # The fetch failed and storage is untouched (effects.py): ask again.
            if self._status == st.POTENTIAL_SECONDARY and self._l is not None:
                self._send_learn_request()
            return
        assert event.decree == checkpoint.decree
        if event.decree > self._list.last_committed_decree:
            self._list.reset_to(event.decree)
            self._applied = event.decree
            self._log_trusted_from = max(self._log_trusted_from, event.decree + 1)
        self._advance_commit(self._list.commit_target)
        if self._status == st.POTENTIAL_SECONDARY and self._l is not None:
            self._send_learn_request()

    # ---- primary: serving learners ----------------------------------------------------

    def _on_learn_request(self, request: LearnRequest) -> None:
        p = self._p
        if p is None:
            self._learn_error(request, ErrorCode.ERR_INVALID_STATE)
            return
        learner = p.learners.get(request.learner)
        if learner is None:
            self._learn_error(request, ErrorCode.ERR_OBJECT_NOT_FOUND)
            return
        if learner.signature != request.signature:
            self._learn_error(request, ErrorCode.ERR_WRONG_CHECKSUM)
            return
        learner.last_heard = self._now
        if (
            request.fresh
            and learner.prepare_start
            and learner.prepare_start <= self._list.max_decree
        ):
            # The learner starts a session over under the same signature (it restarted,
            # or its session lapsed) after this primary fixed its prepare start and
            # prepared to it from there: a new session forgets what it held above its
            # commit point, acked prepares included, so those acks no longer vouch for
            # it. It must not become a member on their count: forget it (the meta adds
            # it again, under a new signature), or, while its upgrade is out, refuse.
            self._drop_learner(request.learner)
            err = ErrorCode.ERR_OBJECT_NOT_FOUND
            if request.learner in p.learners:
                err = ErrorCode.ERR_INCONSISTENT_STATE
            self._learn_error(request, err)
            return
        c = request.last_committed_decree
        if c > self._list.last_committed_decree:
            # The learner has committed what we have not yet (we are reconciling, or it
            # holds more than we ever prepared, which the all-dead rule rules out): wait.
            self._learn_error(request, ErrorCode.ERR_INCONSISTENT_STATE)
            return
        if learner.read_id:
            return  # a log read or checkpoint for it is under way
        if c + 1 >= self._list.min_decree and self._respond_mutations(request.learner, c + 1, {}):
            return
        self._read_seq += 1
        learner.read_id = self._read_seq
        learner.read_started = self._now
        learner.read_from = c + 1
        self._emit(
            ReadLog(
                self._read_seq,
                self._gpid,
                decree_gt=c,
                bytes_max=self._config.learn_response_bytes_max,
            )
        )

    def _learn_error(self, request: LearnRequest, err: ErrorCode) -> None:
        response = LearnResponse(self._gpid, self._ballot, self._node, request.signature, err)
        self._send(request.learner, response)

    def _respond_mutations(
        self, node: RpcAddress, start: int, from_log: dict[int, Mutation]
    ) -> bool:
        """Answer with the decrees from ``start`` on, up to the prepare start - 1 (fixing
        the prepare start at our max decree + 1 the first time), or fewer: those held
        without a gap, at most about ``learn_response_bytes_max`` of them (so that the
        answer fits in a frame); the learner asks again for the rest. False if ``start``
        itself is not held (it must come from elsewhere: the log, or a checkpoint)."""
        p = self._p
        assert p is not None
        learner = p.learners[node]
        prepare_start = learner.prepare_start or self._list.max_decree + 1
        bytes_max = self._config.learn_response_bytes_max
        mutations: list[Mutation] = []
        size = 0
        for decree in range(start, prepare_start):
            entry = self._list.get(decree)
            mutation = entry.mutation if entry is not None else from_log.get(decree)
            if mutation is None:
                break
            size += encoded_size(mutation)
            if mutations and size > bytes_max:
                break
            mutations.append(mutation)
        if start < prepare_start and not mutations:
            return False
        learner.prepare_start = prepare_start
        response = LearnResponse(
            self._gpid,
            self._ballot,
            self._node,
            learner.signature,
            OK,
            last_committed_decree=self._list.last_committed_decree,
            prepare_start_decree=prepare_start,
            mutations=tuple(mutations),
        )
        self._send(node, response)
        return True

    def _learner_by_read(self, read_id: int) -> tuple[RpcAddress, _RemoteLearner] | None:
        p = self._p
        if p is None:
            return None
        for node, learner in p.learners.items():
            if learner.read_id == read_id:
                return node, learner
        return None

    def _on_log_read(self, event: LogRead) -> None:
        found = self._learner_by_read(event.read_id)
        if found is None:
            return
        node, learner = found
        learner.read_id = 0
        if not event.error:
            # The last record of a decree is the one this replica held last (a log keeps
            # every ballot it logged). Records below ``_log_trusted_from`` are not used: a
            # checkpoint installed since may have superseded them.
            from_log: dict[int, Mutation] = {}
            for mutation in event.mutations:
                if mutation.decree >= max(learner.read_from, self._log_trusted_from):
                    from_log[mutation.decree] = mutation
            if self._respond_mutations(node, learner.read_from, from_log):
                return
        self._read_seq += 1
        learner.read_id = self._read_seq
        learner.read_started = self._now
        self._emit(SendCheckpoint(self._read_seq, self._gpid, node))

    def _on_checkpoint_ready(self, event: CheckpointReady) -> None:
        found = self._learner_by_read(event.read_id)
        if found is None:
            return
        node, learner = found
        learner.read_id = 0
        if event.error or event.checkpoint is None:
            return  # the learner asks again
        response = LearnResponse(
            self._gpid,
            self._ballot,
            self._node,
            learner.signature,
            OK,
            last_committed_decree=self._list.last_committed_decree,
            checkpoint=event.checkpoint,
        )
        self._send(node, response)

    def _on_learn_completion(self, notice: LearnCompletion) -> None:
        p = self._p
        if p is None:
            return
        learner = p.learners.get(notice.learner)
        if learner is not None and learner.signature == notice.signature:
            learner.last_heard = self._now
            self._on_learner_done(notice.learner, learner)

    # ---- the meta's word ----------------------------------------------------------------

    def _on_config(self, config: PartitionConfiguration) -> None:
        if config.ballot < self._ballot or self._status == st.ERROR:
            return
        me = self._node
        if config.ballot == self._ballot:
            if config.primary == me and self._status == st.INACTIVE:
                self._propose_force_update(config)
            return
        if config.primary == me:
            if self._status == st.POTENTIAL_SECONDARY or not self._lease:
                return  # the meta never names a learner; without a lease, wait
            if self._installing is not None:
                return
            self._set_ballot(config.ballot)
            self._become_primary(config)
        elif me in config.secondaries:
            self._on_config_as_secondary(config)
        else:
            self._on_config_not_member(config)

    def _on_config_as_secondary(self, config: PartitionConfiguration) -> None:
        if self._status == st.POTENTIAL_SECONDARY:
            learner = self._l
            assert learner is not None
            if learner.status == LearnerStatus.SUCCEEDED and learner.primary == config.primary:
                self._set_ballot(config.ballot)
                self._set_status(st.SECONDARY)
                self._primary_node = config.primary
                self._l = None
            return
        self._set_ballot(config.ballot)
        if self._status == st.PRIMARY:
            self._leave_primary(st.SECONDARY, ErrorCode.ERR_INVALID_STATE)
        if self._status == st.SECONDARY:
            self._primary_node = config.primary
        # INACTIVE stays so: it may have missed prepares; its primary will remove it.

    def _on_config_not_member(self, config: PartitionConfiguration) -> None:
        learner = self._l
        if self._status == st.POTENTIAL_SECONDARY:
            assert learner is not None
            self._set_ballot(config.ballot)
            if config.primary != learner.primary:
                self._unlogged_learned.update(learner.unlogged)
                self._l = None
                self._primary_node = NO_NODE
                self._set_status(st.INACTIVE)
            return
        self._set_ballot(config.ballot)
        if self._status == st.PRIMARY:
            self._leave_primary(st.INACTIVE, ErrorCode.ERR_INVALID_STATE)
        elif self._status == st.SECONDARY:
            self._set_status(st.INACTIVE)
            self._primary_node = NO_NODE

    def _propose_force_update(self, config: PartitionConfiguration) -> None:
        """The meta still has us as primary but we stopped (restart, lapsed lease): ask
        for ballot + 1 with the same members, and reconcile under it."""
        if not self._lease or self._installing is not None:
            return
        if self._now - self._force_sent < self._config.proposal_retry_s:
            return
        self._force_sent = self._now
        request = ConfigurationUpdateRequest(
            config=replace(config, ballot=config.ballot + 1),
            type=ConfigType.CT_PRIMARY_FORCE_UPDATE_BALLOT,
            node=self._node,
            host_node=self._node,
        )
        self._emit(ProposeConfig(request))

    # ---- local failure ----------------------------------------------------------------

    def _local_failure(self) -> None:
        """Our log (or storage) failed: nothing we hold can be trusted to be durable any
        more. A primary asks the meta to remove it first (upstream does the same)."""
        if self._status == st.ERROR:
            return
        p = self._p
        if p is not None:
            config = replace(p.config, ballot=self._ballot + 1, primary=NO_NODE)
            request = ConfigurationUpdateRequest(
                config=config,
                type=ConfigType.CT_DOWNGRADE_TO_INACTIVE,
                node=self._node,
                host_node=self._node,
            )
            self._emit(ProposeConfig(request))
            self._leave_primary(st.ERROR, ErrorCode.ERR_FILE_OPERATION_FAILED)
        else:
            self._set_status(st.ERROR)
        if self._l is not None:
            self._l = None
        self._primary_node = NO_NODE


def open_replica(
    *,
    gpid: Gpid,
    node: RpcAddress,
    config: ReplicaCoreConfig,
    now: float,
    ballot: int,
    last_committed_decree: int,
    log_mutations: Iterable[Mutation],
) -> tuple[ReplicaCore, list[Effect]]:
    """A replica as a restart finds it: INACTIVE, at the saved ``ballot``, with storage
    holding everything up to ``last_committed_decree`` and the partition's log records
    (``log_mutations``, in log order) replayed on top.

    The last record of a decree wins (it is what the replica held last: a replica logs a
    decree again only under a newer ballot, or as a learner after dropping what it held).
    Each record carries the commit point its writer had when logging it
    (``ReplicaCore._append_log``), so the replayed entries are committed exactly as far as
    the replica had committed them; the effects returned are their Applies, for the
    runtime to carry out before anything else.
    """
    latest: dict[int, Mutation] = {}
    for mutation in log_mutations:
        assert mutation.gpid == gpid
        if mutation.decree > last_committed_decree:
            latest[mutation.decree] = mutation
    ballot = max([ballot, *(m.ballot for m in latest.values())])
    core = ReplicaCore(
        gpid=gpid,
        node=node,
        config=config,
        ballot=ballot,
        last_committed_decree=last_committed_decree,
        now=now,
    )
    effects = core.restore(sorted(latest.values(), key=lambda m: m.decree))
    return core, effects


def _member_limit(config: PartitionConfiguration, learner: _RemoteLearner) -> int:
    """How many members the group may have once ``learner`` joins: max_replica_count, or
    one more for a balancer's copy (the meta removes the copied secondary next)."""
    return config.max_replica_count + (1 if learner.for_lb else 0)
