"""The PacificA replica core: one partition replica's state machine, without I/O.

Layout: ``status`` (partition statuses and their transition table), ``config`` (bounds and
timeouts), ``messages`` (what comes in), ``effects`` (what goes out, and what each obliges
the runtime to do, in which order), ``prepare_list`` (mutations by decree), ``replica``
(the state machine and ``open_replica``). ``pegasus_log.sim`` drives it deterministically;
the asyncio runtime drives the same object over sockets, the plog and storage.
"""

from pegasus_log.replica.core.config import ReplicaCoreConfig, ReplicaCoreConfigError
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
from pegasus_log.replica.core.replica import NO_NODE, ReplicaCore, open_replica
from pegasus_log.replica.core.status import ALLOWED, IllegalTransition, allowed, transition

__all__ = [
    "ALLOWED",
    "NO_NODE",
    "AckProof",
    "AppendLog",
    "Apply",
    "CheckpointInstalled",
    "CheckpointReady",
    "CheckpointRef",
    "ClientRead",
    "ClientWrite",
    "ClientWrites",
    "CommittedLocally",
    "ConfigProposal",
    "ConfigUpdate",
    "ConfigUpdateReply",
    "Effect",
    "Entry",
    "GroupCheck",
    "GroupCheckReply",
    "IllegalTransition",
    "Inbound",
    "InstallCheckpoint",
    "LearnCompletion",
    "LearnRequest",
    "LearnResponse",
    "LearnerStatus",
    "LogAppended",
    "LogRead",
    "PeerMessage",
    "Prepare",
    "PrepareAck",
    "PrepareList",
    "PrepareNack",
    "ProposeConfig",
    "ReadLog",
    "ReplicaCore",
    "ReplicaCoreConfig",
    "ReplicaCoreConfigError",
    "Reply",
    "SaveBallot",
    "Send",
    "SendCheckpoint",
    "SendPrepareAck",
    "ServeRead",
    "allowed",
    "open_replica",
    "transition",
]
