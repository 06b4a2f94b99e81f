"""The simulated clients: writes and reads sent to the primary their routing table names,
and the record of what was acknowledged.

Several client sessions share one record of acknowledged writes but each keeps its own
routing table, as separate application processes do: a route is looked up from the meta
when missing and dropped after an error that asks for a refresh, or a timeout. So a
session may keep talking to a primary the meta has already replaced; only the replica's
own rules (ballots, lease) stop that from turning into a stale read.

Each write carries a unique id in its value (``w<id>:`` then padding) and is sent once:
no retries, so an error or a timeout leaves its outcome unknown, and only acknowledged
writes are checked. A read remembers the largest decree acknowledged before it was sent;
whoever serves it must have applied at least that far (no stale read).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pegasus_log.frozen import frozen
from pegasus_log.replica.plog.mutation import MutationUpdate
from pegasus_log.rpc.error_code import REFRESH_CONFIG, ErrorCode
from pegasus_log.rpc.thrift import Gpid, RpcAddress

WRITE_RPC = "RPC_RRDB_RRDB_PUT"


def write_body(request_id: int, size: int) -> bytes:
    head = f"w{request_id}:".encode()
    return head + b"x" * max(0, size - len(head))


def write_id_of(update: MutationUpdate) -> int | None:
    body = update.body
    if not body.startswith(b"w"):
        return None
    head, sep, _rest = body[1:].partition(b":")
    return int(head) if sep and head.isdigit() else None


@frozen
class ClientWriteMsg:
    request_id: int
    gpid: Gpid
    update: MutationUpdate


@frozen
class ClientReadMsg:
    request_id: int
    gpid: Gpid


@frozen
class ClientReplyMsg:
    request_id: int
    err: ErrorCode
    # Writes: the decree that committed it. Reads: the decree the server had applied.
    decree: int = 0


@dataclass(slots=True)
class Pending:
    kind: str
    gpid: Gpid
    node: RpcAddress
    sent_at: float
    session: int
    # Reads: the largest decree acknowledged to this client before the read was sent.
    required: int = 0


@dataclass(slots=True)
class SimClient:
    address: RpcAddress
    next_id: int = 1
    pending: dict[int, Pending] = field(default_factory=dict)
    # Every reply received, by request id (scenarios look results up here).
    replies: dict[int, ClientReplyMsg] = field(default_factory=dict)
    # Acknowledged writes: per partition, write id -> decree.
    acked: dict[Gpid, dict[int, int]] = field(default_factory=dict)
    # Per (session, partition): the primary this session believes in.
    routes: dict[tuple[int, Gpid], RpcAddress] = field(default_factory=dict)
    writes_sent: int = 0
    reads_sent: int = 0
    reads_ok: int = 0

    def max_acked(self, gpid: Gpid) -> int:
        return max(self.acked.get(gpid, {}).values(), default=0)

    def new_write(
        self, gpid: Gpid, node: RpcAddress, now: float, size: int, session: int = 0
    ) -> ClientWriteMsg:
        request_id = self._new_id()
        self.pending[request_id] = Pending("write", gpid, node, now, session)
        self.writes_sent += 1
        update = MutationUpdate(WRITE_RPC, write_body(request_id, size))
        return ClientWriteMsg(request_id, gpid, update)

    def new_read(self, gpid: Gpid, node: RpcAddress, now: float, session: int = 0) -> ClientReadMsg:
        request_id = self._new_id()
        pending = Pending("read", gpid, node, now, session, self.max_acked(gpid))
        self.pending[request_id] = pending
        self.reads_sent += 1
        return ClientReadMsg(request_id, gpid)

    def _new_id(self) -> int:
        request_id = self.next_id
        self.next_id += 1
        return request_id

    def on_reply(self, reply: ClientReplyMsg) -> Pending | None:
        """Record a reply; the request it answers, or None if it timed out already."""
        pending = self.pending.pop(reply.request_id, None)
        if pending is None:
            return None
        self.replies[reply.request_id] = reply
        if reply.err in REFRESH_CONFIG:
            self.routes.pop((pending.session, pending.gpid), None)
        if reply.err == ErrorCode.ERR_OK:
            if pending.kind == "write":
                self.acked.setdefault(pending.gpid, {})[reply.request_id] = reply.decree
            else:
                self.reads_ok += 1
        return pending

    def expire(self, now: float, timeout_s: float) -> None:
        for request_id in [r for r, p in self.pending.items() if now - p.sent_at >= timeout_s]:
            pending = self.pending.pop(request_id)
            self.routes.pop((pending.session, pending.gpid), None)
