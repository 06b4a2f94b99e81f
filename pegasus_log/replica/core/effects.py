"""What comes out of a replica core: effects, and what each obliges its runtime to do.

What the runtime feeds in: at start, ``open_replica`` with the storage's durable decree,
the saved ballot and the partition's log records in log order, and carry out the effects it
returns before anything else; ``tick(now)`` regularly, since retries and timeouts fire only
on ticks (a timer is late by up to one tick: keep ticks well under ``prepare_retry_s``; the
simulator ticks every 50 ms against a 120 ms retry); ``set_lease(valid)`` whenever the
server's lease may have changed and before any other event of the partition (the simulator
calls it before every event); every message for the partition through ``step``, routed by
its ``gpid`` (client requests by the partition the request names); every completion below.

Every event method of ``ReplicaCore`` returns a list of effects. The runtime (the asyncio
server, or the simulator) carries them out IN LIST ORDER, and the effects of one call
before any effect of the next call of the same partition. Effects marked (async) are only
started in that order; their completion comes back to the core as the named event, for the
same partition, whether it succeeded or not.

``SaveBallot(gpid, ballot)``
    Write the partition's ballot durably (upstream's init-info file) before carrying out
    any later effect. On restart the runtime passes the saved ballot to ``open_replica``,
    so a replica's ballot never goes back (later effects may already speak for it).
``AppendLog(mutation)`` (async -> ``on_log_appended(LogAppended)``)
    Append to the partition's mutation log. Appends of one partition reach the log in the
    order they were emitted, and none is durable before every earlier one is (the plog's
    group commit writes blocks in order and fails everything after a failed block); a
    decree may be appended again under a newer ballot, and replay keeps the last. The
    record's ``last_committed_decree`` is this replica's own commit point when it logged
    it, which replay relies on. Report ``LogAppended(ok=True)`` only once the record is durable
    (written and, with fsync on, synced); report ``ok=False`` if the append failed. The
    core sends no ack for a mutation before its ``LogAppended`` arrived.
``Apply(mutation, request_ids)``
    Execute the committed mutation on storage before carrying out the next effect. Decrees
    of one partition come consecutively, each once. For each update whose request id is not
    None, answer that client request with what storage returned for that update. An Apply
    may precede the mutation's own LogAppended (it was committed elsewhere first). Storage
    makes applies durable at its own pace; the runtime never garbage-collects log segments
    above the storage's durable decree (``PlogCore.plan_gc``). If storage refuses the
    write (an I/O error, a full disk), carry out no further effect of that call and
    report ``on_storage_failed()``: the replica fails (ERROR) and leaves its group, since
    its storage no longer holds what was committed. Its log still does, so nothing
    acknowledged is lost.
``Reply(request_id, err)``
    Answer a client request with an error (the write or read was refused or abandoned; an
    abandoned write may still commit later).
``ServeRead(request_id)``
    Run the client read on storage now, after every Apply emitted before it.
``Send(to, message)``
    Send a message to another replica server, best effort: it may be lost, duplicated or
    reordered; the core retries what matters. ``SendPrepareAck(to, ack, proof)`` likewise
    sends ``ack``; the proof stays home.
``ProposeConfig(request)``
    Send RPC_CM_UPDATE_PARTITION_CONFIGURATION to the meta leader; feed its answer back with
    ``step(ConfigUpdateReply)``. Best effort; the core resends until answered.
``ReadLog(read_id, gpid, decree_gt, bytes_max)`` (async -> ``on_log_read(LogRead)``)
    Read the partition's mutations with decree > ``decree_gt`` from the acknowledged part of
    the log (``plog.read_mutations``), in log order; an error if the read failed. Segments
    already collected simply yield nothing; the core checks the result is contiguous. The
    read may keep only the lowest decrees, about ``bytes_max`` of them, each with its last
    record (``plog.recovery.newest_per_decree``).
``SendCheckpoint(read_id, gpid, learner)`` (async -> ``on_checkpoint_ready(CheckpointReady)``)
    Take a durable checkpoint of storage (everything applied so far), make it fetchable by
    ``learner``, and report its handle and decree.
``InstallCheckpoint(gpid, source, checkpoint)`` (async ->
``on_checkpoint_installed(CheckpointInstalled)``)
    Fetch the checkpoint from ``source`` and replace the partition's storage with it,
    durably. Report ``ok=False`` only if storage was left untouched (the fetch failed); a
    failure while replacing storage is a local disk failure: close the replica and open it
    again from disk. The core emits no Apply for the partition until this is reported; the
    next Apply after it is ``checkpoint.decree + 1``.
"""

from __future__ import annotations

from pegasus_log.frozen import frozen
from pegasus_log.replica.core.messages import (
    CheckpointRef,
    LogAppended,
    PeerMessage,
    PrepareAck,
)
from pegasus_log.replica.plog.mutation import Mutation
from pegasus_log.rpc.admin import ConfigurationUpdateRequest
from pegasus_log.rpc.error_code import ErrorCode
from pegasus_log.rpc.thrift import Gpid, RpcAddress


@frozen
class CommittedLocally:
    """Proof for acking a prepare at or below the replica's commit point: the replica knew
    the decree committed, which it learns only from a primary that had the replica's own ack
    (so the replica logged it), or from learning, whose mutations are logged before the
    learner may become a member."""

    gpid: Gpid
    last_committed_decree: int


AckProof = LogAppended | CommittedLocally


@frozen
class SaveBallot:
    gpid: Gpid
    ballot: int


@frozen
class AppendLog:
    mutation: Mutation


@frozen
class Apply:
    mutation: Mutation
    # Per update: the client request to answer with its result, or None.
    request_ids: tuple[int | None, ...]

    def __post_init__(self) -> None:
        assert len(self.request_ids) == len(self.mutation.updates)


@frozen
class Reply:
    request_id: int
    err: ErrorCode

    def __post_init__(self) -> None:
        assert self.err != ErrorCode.ERR_OK, "successful writes are answered by Apply"


@frozen
class ServeRead:
    request_id: int


@frozen
class Send:
    to: RpcAddress
    message: PeerMessage

    def __post_init__(self) -> None:
        assert not isinstance(self.message, PrepareAck), "acks leave only by SendPrepareAck"


@frozen
class SendPrepareAck:
    """The only way a PrepareAck leaves a core. Safety argument: see ``ReplicaCore._ack``;
    the proof is checked here against the ack it justifies."""

    to: RpcAddress
    ack: PrepareAck
    proof: AckProof

    def __post_init__(self) -> None:
        proof = self.proof
        assert proof.gpid == self.ack.gpid
        if isinstance(proof, LogAppended):
            assert proof.ok, "a failed append proves nothing"
            assert (proof.ballot, proof.decree) == (self.ack.ballot, self.ack.decree)
        else:
            assert self.ack.decree <= proof.last_committed_decree


@frozen
class ProposeConfig:
    request: ConfigurationUpdateRequest


@frozen
class ReadLog:
    read_id: int
    gpid: Gpid
    decree_gt: int
    # The runtime may stop short of the end once it holds about this many bytes of
    # mutations (plog.recovery.newest_per_decree): what it returns is then, for every
    # decree from decree_gt + 1 up to some decree, the last record of it.
    bytes_max: int


@frozen
class SendCheckpoint:
    read_id: int
    gpid: Gpid
    learner: RpcAddress


@frozen
class InstallCheckpoint:
    gpid: Gpid
    source: RpcAddress
    checkpoint: CheckpointRef


Effect = (
    SaveBallot
    | AppendLog
    | Apply
    | Reply
    | ServeRead
    | Send
    | SendPrepareAck
    | ProposeConfig
    | ReadLog
    | SendCheckpoint
    | InstallCheckpoint
)
