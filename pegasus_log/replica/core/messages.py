"""What goes into a replica core: messages from peers, the meta and clients, and the
completions of the I/O the core asked its runtime for.

Messages between replicas are ours to define (DESIGN.md section 4); these dataclasses are
their content, and the runtime's codec gives them a wire form. Every peer message names
its partition (``gpid``) so the runtime can route it, and its sender where the receiver
must answer or account for it.
"""

from __future__ import annotations

from enum import Enum

from pegasus_log.frozen import frozen
from pegasus_log.replica.plog.mutation import Mutation, MutationUpdate
from pegasus_log.rpc.admin import ConfigType, PartitionStatus
from pegasus_log.rpc.error_code import ErrorCode
from pegasus_log.rpc.messages import PartitionConfiguration
from pegasus_log.rpc.thrift import Gpid, RpcAddress


class LearnerStatus(Enum):
    """Where a learner (POTENTIAL_SECONDARY) stands; upstream's learner_status."""

    INVALID = "invalid"
    # Asked the primary; has no prepare start decree yet.
    WITHOUT_PREPARE = "without_prepare"
    # Has learned up to the prepare start; waits for its learned mutations to be logged.
    WITH_PREPARE = "with_prepare"
    # Everything below the prepare start is logged: ready to become a secondary.
    SUCCEEDED = "succeeded"


# ---- clients ---------------------------------------------------------------------------


@frozen
class ClientWrite:
    """One client write; answered by the Apply that carries ``request_id`` (success) or
    by a Reply (refusal or failure)."""

    request_id: int
    update: MutationUpdate
    # When the write reached the replica server: microseconds since the Unix epoch, by
    # the server's wall clock (the core has no clock of its own). A primary's mutation
    # takes its timestamp from the writes it has seen (``ReplicaCore._timestamp_us``).
    arrived_us: int = 0


@frozen
class ClientWrites:
    """Client writes that arrived together: each is queued (or refused) as a
    ClientWrite would be, then mutations start once, so writes that came in one burst
    share mutations instead of each starting its own."""

    writes: tuple[ClientWrite, ...]


@frozen
class ClientRead:
    """One client read; answered by ServeRead (allowed) or Reply (refused)."""

    request_id: int


# ---- replica <-> replica ---------------------------------------------------------------


@frozen
class Prepare:
    """Primary -> secondary or learner: log this mutation. ``mutation.ballot`` is the
    primary's ballot; ``mutation.last_committed_decree`` its commit point."""

    mutation: Mutation
    primary: RpcAddress
    # The receiver's status in the primary's view: SECONDARY or POTENTIAL_SECONDARY.
    status: PartitionStatus
    # The learning session (POTENTIAL_SECONDARY only; 0 otherwise).
    signature: int = 0

    @property
    def gpid(self) -> Gpid:
        return self.mutation.gpid

    @property
    def ballot(self) -> int:
        return self.mutation.ballot


@frozen
class PrepareAck:
    """The mutation (ballot, decree) is durable in the sender's log. Leaves a core only
    inside SendPrepareAck, with the proof (see effects)."""

    gpid: Gpid
    ballot: int
    decree: int
    node: RpcAddress


@frozen
class PrepareNack:
    """The sender refuses the prepare; ``ballot`` is the sender's own."""

    gpid: Gpid
    ballot: int
    decree: int
    node: RpcAddress
    err: ErrorCode


@frozen
class GroupCheck:
    """Primary -> member or learner, periodically and to add a learner: the receiver's
    status and the primary's commit point."""

    gpid: Gpid
    ballot: int
    primary: RpcAddress
    status: PartitionStatus
    last_committed_decree: int
    signature: int = 0


@frozen
class GroupCheckReply:
    gpid: Gpid
    # The ballot of the group check answered (so the primary can drop stale replies).
    ballot: int
    node: RpcAddress
    err: ErrorCode
    last_committed_decree: int
    learner_status: LearnerStatus = LearnerStatus.INVALID
    signature: int = 0
    # The member's disk is short of space (upstream's group_check_response.disk_status).
    disk_insufficient: bool = False


@frozen
class LearnRequest:
    gpid: Gpid
    ballot: int
    learner: RpcAddress
    signature: int
    # Everything up to here is applied on the learner.
    last_committed_decree: int
    # The learner has had no answer in this learning session yet (replica/core/replica.py
    # ``_on_learn_request`` says why the primary needs to know).
    fresh: bool = False


@frozen
class CheckpointRef:
    """A checkpoint of a primary's storage the learner can fetch: the runtime's handle
    (a path, an id) and the decree it holds everything up to."""

    handle: str
    decree: int


@frozen
class LearnResponse:
    """Either ``mutations`` (every decree from the learner's committed + 1 to
    ``prepare_start_decree`` - 1, committed or not) or a ``checkpoint``; or an error."""

    gpid: Gpid
    ballot: int
    primary: RpcAddress
    signature: int
    err: ErrorCode
    last_committed_decree: int = 0
    prepare_start_decree: int = 0
    mutations: tuple[Mutation, ...] = ()
    checkpoint: CheckpointRef | None = None


@frozen
class LearnCompletion:
    """Learner -> primary: everything below the prepare start is logged."""

    gpid: Gpid
    ballot: int
    learner: RpcAddress
    signature: int


# ---- meta -> replica -------------------------------------------------------------------


@frozen
class ConfigUpdate:
    """The meta's configuration of the partition (a push after a change, or one entry of
    a config sync answer)."""

    config: PartitionConfiguration

    @property
    def gpid(self) -> Gpid:
        return self.config.pid


@frozen
class ConfigProposal:
    """The meta asks the primary to carry out ``type`` on ``node``: ADD_SECONDARY (make it
    a learner) or REMOVE (propose its removal)."""

    type: ConfigType
    node: RpcAddress
    config: PartitionConfiguration

    @property
    def gpid(self) -> Gpid:
        return self.config.pid


@frozen
class ConfigUpdateReply:
    """The meta's answer to a ProposeConfig: ERR_OK and the stored configuration, or an
    error and the configuration it holds instead."""

    err: ErrorCode
    config: PartitionConfiguration
    type: ConfigType
    node: RpcAddress

    @property
    def gpid(self) -> Gpid:
        return self.config.pid


# ---- runtime completions ---------------------------------------------------------------


@frozen
class LogAppended:
    """The AppendLog of mutation (ballot, decree) finished: durable (``ok``) or failed."""

    gpid: Gpid
    ballot: int
    decree: int
    ok: bool = True


@frozen
class LogRead:
    """The answer to ReadLog ``read_id``: the partition's mutations above the decree asked
    for, in log order (a decree may repeat; the last one counts), or an ``error``."""

    read_id: int
    mutations: tuple[Mutation, ...] = ()
    error: str = ""


@frozen
class CheckpointReady:
    """The answer to SendCheckpoint ``read_id``: the checkpoint, or an ``error``."""

    read_id: int
    checkpoint: CheckpointRef | None = None
    error: str = ""


@frozen
class CheckpointInstalled:
    """The answer to InstallCheckpoint: storage now holds everything up to ``decree``."""

    decree: int
    ok: bool = True


Inbound = (
    ClientWrite
    | ClientWrites
    | ClientRead
    | Prepare
    | PrepareAck
    | PrepareNack
    | GroupCheck
    | GroupCheckReply
    | LearnRequest
    | LearnResponse
    | LearnCompletion
    | ConfigUpdate
    | ConfigProposal
    | ConfigUpdateReply
)

# Messages a core sends to another replica with a plain Send (PrepareAck has its own
# effect, SendPrepareAck).
PeerMessage = (
    Prepare
    | PrepareNack
    | GroupCheck
    | GroupCheckReply
    | LearnRequest
    | LearnResponse
    | LearnCompletion
)
