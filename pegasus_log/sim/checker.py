"""What must hold in every run, checked as it happens and at the end.

- Same decree, same mutation: every replica applies, for a decree, the updates any other
  replica applied for it (installed checkpoints included). Ballots may differ (a mutation
  re-prepared by a new primary keeps its content and takes the new ballot).
- No lost acknowledged write: an acknowledged write sits in the committed mutation of its
  decree; every primary, once it serves, has committed past every write acknowledged
  before; at the end, after healing, the primary and every member hold all of them.
- No stale read: a read served by a primary sees every write acknowledged before it was
  sent.
- One primary per ballot: no two replicas are ever PRIMARY of a partition under the same
  ballot (so at most one serves per ballot).
- Ballots never go back on a replica, across restarts too.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pegasus_log.replica.core import status as st
from pegasus_log.replica.core.replica import ReplicaCore
from pegasus_log.replica.plog.mutation import Mutation
from pegasus_log.rpc.thrift import Gpid, RpcAddress
from pegasus_log.sim.client import SimClient, write_id_of
from pegasus_log.sim.storage import Checkpoint, Content


class SimFailure(AssertionError):
    """An invariant broke (the message says which, and the runner adds the seed)."""


@dataclass(slots=True)
class Checker:
    # Per partition: decree -> the content first applied there.
    committed: dict[Gpid, dict[int, Content]] = field(default_factory=dict)
    ballots: dict[tuple[RpcAddress, Gpid], int] = field(default_factory=dict)
    primaries: dict[tuple[Gpid, int], RpcAddress] = field(default_factory=dict)
    serving: dict[tuple[RpcAddress, Gpid], bool] = field(default_factory=dict)
    applies: int = 0
    reads_checked: int = 0

    def fail(self, message: str) -> None:
        raise SimFailure(message)

    def on_apply(self, node: str, gpid: Gpid, mutation: Mutation) -> None:
        self.applies += 1
        self._same(node, gpid, mutation.decree, mutation.updates)

    def on_install(self, node: str, gpid: Gpid, checkpoint: Checkpoint) -> None:
        for decree, content in enumerate(checkpoint.decrees, start=1):
            self._same(node, gpid, decree, content)

    def _same(self, node: str, gpid: Gpid, decree: int, content: Content) -> None:
        known = self.committed.setdefault(gpid, {})
        first = known.setdefault(decree, content)
        if first != content:
            self.fail(
                f"divergent commit: {node} applied at {_g(gpid)} decree {decree} "
                f"{_show(content)}, another replica {_show(first)}"
            )

    def on_write_acked(self, gpid: Gpid, write_id: int, decree: int) -> None:
        content = self.committed.get(gpid, {}).get(decree)
        if content is None or write_id not in {write_id_of(u) for u in content}:
            self.fail(f"write {write_id} acknowledged at {_g(gpid)} decree {decree}, not there")

    def on_read(self, node: str, gpid: Gpid, applied: int, required: int) -> None:
        self.reads_checked += 1
        if applied < required:
            self.fail(
                f"stale read on {node} {_g(gpid)}: applied {applied}, but decree {required} "
                "was acknowledged before the read was sent"
            )

    def after_event(self, cores: list[tuple[str, ReplicaCore]], client: SimClient) -> None:
        for name, core in cores:
            key = (core.node, core.gpid)
            last = self.ballots.get(key, 0)
            if core.ballot < last:
                self.fail(f"ballot of {name} {_g(core.gpid)} went back: {last} -> {core.ballot}")
            self.ballots[key] = core.ballot
            if core.status == st.PRIMARY:
                owner = self.primaries.setdefault((core.gpid, core.ballot), core.node)
                if owner != core.node:
                    self.fail(
                        f"two primaries of {_g(core.gpid)} at ballot {core.ballot}: "
                        f"{owner} and {core.node}"
                    )
            serving = core.serving
            if serving and not self.serving.get(key, False):
                self.check_has_acked(name, core, client)
            self.serving[key] = serving

    def check_has_acked(self, name: str, core: ReplicaCore, client: SimClient) -> None:
        acked = client.acked.get(core.gpid, {})
        if not acked:
            return
        write_id, decree = max(acked.items(), key=lambda kv: kv[1])
        if core.last_committed_decree < decree:
            self.fail(
                f"{name} serves {_g(core.gpid)} at ballot {core.ballot} with commit point "
                f"{core.last_committed_decree}, but write {write_id} was acknowledged at "
                f"decree {decree}"
            )

    def forget_node(self, node: RpcAddress) -> None:
        for key in [k for k in self.serving if k[0] == node]:
            self.serving[key] = False


def _g(gpid: Gpid) -> str:
    return f"{gpid.app_id}.{gpid.partition_index}"


def _show(content: Content) -> str:
    ids = [write_id_of(u) for u in content]
    return f"writes {ids}" if content else "(empty write)"
