"""Seeded faults against a running ``ZkCluster`` and its ZooKeeper, one at a time, each
healed before the next: the nemesis of the chaos tests. Its servers must run with
``--fault-injection`` for the network cuts.

``plan(rng, ...)`` draws the faults (pure: the same seed gives the same plan, printed
by the test so a run can be repeated); ``Nemesis`` carries them out on real processes
with signals and restarts and records when each step happened, for the report beside
the history.
"""

from __future__ import annotations

import os
import random
import signal
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from pegasus_log.client.sync import Admin
from pegasus_log.services.zookeeper import ZooKeeperServer
from pegasus_log.transport.faults import COMMAND
from tests.cluster import ZkCluster, zk_cluster_up


@contextmanager
def fault_injection_cluster(root: Path, zookeeper: str, prefix: str) -> Iterator[ZkCluster]:
    """2 metas and 3 replica servers started with ``--fault-injection`` (so the nemesis
    can cut them apart)."""
    flag = ["--fault-injection"]
    with zk_cluster_up(
        root, zookeeper, metas=2, replicas=3, prefix=prefix, replica_args=flag, meta_args=flag
    ) as c:
        yield c


class FaultKind(StrEnum):
    # SIGKILL of replica servers, restarted after the hold: one (the group goes on with
    # two members), two at once (a partition left with one member waits), or all three
    # (a power cut: every partition must come back from the servers' own disks).
    KILL_REPLICA = "kill -9 one replica server"
    KILL_TWO_REPLICAS = "kill -9 two replica servers"
    KILL_ALL_REPLICAS = "kill -9 every replica server"
    # SIGSTOP of one replica server for the hold, then SIGCONT: shorter or longer than
    # its lease, so a paused primary is sometimes replaced and sometimes not.
    PAUSE_REPLICA = "SIGSTOP one replica server"
    # SIGKILL of one meta server, restarted after the hold (the other one leads).
    KILL_META = "kill -9 one meta server"
    # SIGSTOP of ZooKeeper for the hold: the metas' sessions may expire meanwhile.
    PAUSE_ZOOKEEPER = "SIGSTOP ZooKeeper"
    # Network partitions acted out by the servers (``--fault-injection``,
    # pegasus_log/transport/faults.py); clients and ZooKeeper still reach everyone.
    # One replica server cut off from the metas (a primary keeps its secondaries but
    # loses its lease), from the other replica servers (the meta still sees it alive),
    # or from both.
    CUT_REPLICA_FROM_METAS = "cut one replica server off from the metas"
    CUT_REPLICA_FROM_PEERS = "cut one replica server off from the other replica servers"
    CUT_REPLICA_OFF = "cut one replica server off from every server"
    # One-way faults: only one side drops what it sends (and the replies to what it
    # sends); the other side's calls and their answers still get through. A replica
    # server that cannot reach the metas while they still reach it, or one that every
    # other server cannot reach while it reaches them.
    MUTE_REPLICA_TO_METAS = "one replica server cannot reach the metas (one way)"
    MUTE_SERVERS_TO_REPLICA = "no server can reach one replica server (one way)"
    # Every meta killed and the cluster's state deleted from ZooKeeper; the metas restart
    # with --recover-from-replica-servers and wait. The heal is the operator's recover
    # naming every replica server. Not drawn by ``plan``: ``with_meta_losses`` adds it.
    LOSE_META_STATE = "the metas' state in ZooKeeper lost"
    # Every partition replica of one replica server failed by the operator's
    # replica.kill_partition, its process left running: each primary there asks the meta
    # to remove it, each secondary is removed by its primary, and the meta adds them back
    # as learners. Nothing to heal. Not drawn by ``plan``: ``with_partition_kills`` adds it.
    KILL_PARTITIONS = "replica.kill_partition of every replica on one replica server"


# How often each fault is drawn.
WEIGHTS: dict[FaultKind, int] = {
    FaultKind.KILL_REPLICA: 4,
    FaultKind.PAUSE_REPLICA: 4,
    FaultKind.KILL_TWO_REPLICAS: 1,
    FaultKind.KILL_ALL_REPLICAS: 1,
    FaultKind.KILL_META: 2,
    FaultKind.PAUSE_ZOOKEEPER: 1,
    FaultKind.CUT_REPLICA_FROM_METAS: 2,
    FaultKind.CUT_REPLICA_FROM_PEERS: 2,
    FaultKind.CUT_REPLICA_OFF: 2,
    FaultKind.MUTE_REPLICA_TO_METAS: 1,
    FaultKind.MUTE_SERVERS_TO_REPLICA: 1,
}
# Seconds a fault lasts before it is healed, drawn uniformly from this range. The pause
# range straddles the replica servers' 3 s lease and the metas' 3 s ZooKeeper session.
HOLD_S: dict[FaultKind, tuple[float, float]] = {
    FaultKind.KILL_REPLICA: (1.0, 6.0),
    FaultKind.PAUSE_REPLICA: (0.5, 7.0),
    FaultKind.KILL_TWO_REPLICAS: (0.5, 4.0),
    FaultKind.KILL_ALL_REPLICAS: (0.5, 3.0),
    FaultKind.KILL_META: (0.5, 4.0),
    FaultKind.PAUSE_ZOOKEEPER: (0.5, 5.0),
    FaultKind.CUT_REPLICA_FROM_METAS: (1.0, 7.0),
    FaultKind.CUT_REPLICA_FROM_PEERS: (1.0, 7.0),
    FaultKind.CUT_REPLICA_OFF: (1.0, 7.0),
    FaultKind.MUTE_REPLICA_TO_METAS: (1.0, 7.0),
    FaultKind.MUTE_SERVERS_TO_REPLICA: (1.0, 7.0),
}
CUTS = (
    FaultKind.CUT_REPLICA_FROM_METAS,
    FaultKind.CUT_REPLICA_FROM_PEERS,
    FaultKind.CUT_REPLICA_OFF,
    FaultKind.MUTE_REPLICA_TO_METAS,
    FaultKind.MUTE_SERVERS_TO_REPLICA,
)
# Seconds of load between a heal and the next fault.
GAP_S = (1.0, 4.0)
META_LOSS_HOLD_S = (1.0, 4.0)
# How long the operator's recover may take, metas' election included.
RECOVER_WAIT_S = 60.0


@dataclass(frozen=True)
class Fault:
    kind: FaultKind
    targets: tuple[str, ...]  # process names ("replica2", "meta1"), or ("zookeeper",)
    hold_s: float
    gap_s: float  # load after the heal, before the next fault

    def describe(self) -> str:
        """The plan's line for this fault: what, on which processes, for how long."""
        on = f" {','.join(self.targets)}" if self.targets else ""
        return f"{self.kind.value}{on} for {self.hold_s} s, then {self.gap_s} s"


def plan(rng: random.Random, *, replicas: int, metas: int, count: int) -> list[Fault]:
    """``count`` faults drawn from ``rng`` over servers named as ``ZkCluster`` names
    them."""
    kinds = list(WEIGHTS)
    weights = [WEIGHTS[k] for k in kinds]
    replica_names = [f"replica{i + 1}" for i in range(replicas)]
    meta_names = [f"meta{i + 1}" for i in range(metas)]
    faults = []
    for _ in range(count):
        kind = rng.choices(kinds, weights)[0]
        if kind in (FaultKind.KILL_REPLICA, FaultKind.PAUSE_REPLICA, *CUTS):
            targets: tuple[str, ...] = (rng.choice(replica_names),)
        elif kind == FaultKind.KILL_TWO_REPLICAS:
            targets = tuple(sorted(rng.sample(replica_names, 2)))
        elif kind == FaultKind.KILL_ALL_REPLICAS:
            targets = tuple(replica_names)
        elif kind == FaultKind.KILL_META:
            targets = (rng.choice(meta_names),)
        else:
            targets = ("zookeeper",)
        low, high = HOLD_S[kind]
        faults.append(
            Fault(kind, targets, round(rng.uniform(low, high), 2), round(rng.uniform(*GAP_S), 2))
        )
    return faults


def with_meta_losses(faults: list[Fault], count: int, rng: random.Random) -> list[Fault]:
    """``faults`` with ``count`` losses of the metas' state put between them, where
    ``rng`` says: the faults drawn by ``plan`` stay as they are, so a seed's plan without
    meta losses is the plan it always was."""
    out = list(faults)
    for _ in range(count):
        hold = round(rng.uniform(*META_LOSS_HOLD_S), 2)
        gap = round(rng.uniform(*GAP_S), 2)
        out.insert(rng.randint(0, len(out)), Fault(FaultKind.LOSE_META_STATE, (), hold, gap))
    return out


def with_partition_kills(
    faults: list[Fault], count: int, rng: random.Random, *, replicas: int
) -> list[Fault]:
    """``faults`` with ``count`` partition kills put between them, where ``rng`` says (the
    faults already there stay as they are, as ``with_meta_losses`` keeps them)."""
    out = list(faults)
    for _ in range(count):
        target = f"replica{rng.randint(1, replicas)}"
        gap = round(rng.uniform(*GAP_S), 2)
        out.insert(rng.randint(0, len(out)), Fault(FaultKind.KILL_PARTITIONS, (target,), 0.0, gap))
    return out


@dataclass(frozen=True)
class Event:
    what: str  # "kill -9", "restart", "SIGSTOP", "SIGCONT", a cut's kind, "rejoin"
    target: str
    at_ns: int


@dataclass
class Nemesis:
    cluster: ZkCluster
    zookeeper: ZooKeeperServer
    clock: Callable[[], int] = time.monotonic_ns
    events: list[Event] = field(default_factory=list)
    _paused: set[str] = field(default_factory=set)
    _killed: set[str] = field(default_factory=set)
    _cut: set[str] = field(default_factory=set)  # servers told to block someone
    _meta_state_lost: bool = False

    def run(self, fault: Fault) -> None:
        """Inject ``fault``, hold it, heal it, then keep the load on for its gap."""
        try:
            self.inject(fault)
            time.sleep(fault.hold_s)
        finally:
            self.heal()
        time.sleep(fault.gap_s)

    def inject(self, fault: Fault) -> None:
        """Start ``fault`` (``heal`` ends it)."""
        if fault.kind in CUTS:
            (target,) = fault.targets
            replicas = [f"replica{i + 1}" for i in range(self.cluster.replicas)]
            metas = [f"meta{i + 1}" for i in range(self.cluster.metas)]
            peers = [r for r in replicas if r != target]
            others = {
                FaultKind.CUT_REPLICA_FROM_METAS: metas,
                FaultKind.CUT_REPLICA_FROM_PEERS: peers,
                FaultKind.CUT_REPLICA_OFF: metas + peers,
                FaultKind.MUTE_REPLICA_TO_METAS: metas,
                FaultKind.MUTE_SERVERS_TO_REPLICA: metas + peers,
            }[fault.kind]
            if fault.kind != FaultKind.MUTE_SERVERS_TO_REPLICA:
                self._block(target, others)
            if fault.kind != FaultKind.MUTE_REPLICA_TO_METAS:
                for other in others:
                    self._block(other, [target])
            self._record(f"{fault.kind.name.lower()} {','.join(others)}", target)
        elif fault.kind == FaultKind.LOSE_META_STATE:
            for i in range(self.cluster.metas):
                self.cluster.kill(f"meta{i + 1}")
            self.cluster.delete_meta_state()
            self.cluster.restart_metas("--recover-from-replica-servers")
            self._meta_state_lost = True
            self._record("lose state", "metas")
        elif fault.kind == FaultKind.KILL_PARTITIONS:
            (target,) = fault.targets
            with Admin(self.cluster.meta_list) as admin:
                output = admin.remote_command(self._address(target), "replica.kill_partition")
            assert output == "ERR_OK", f"{target}: replica.kill_partition: {output}"
            self._record("kill_partition", target)
        elif fault.kind in (FaultKind.PAUSE_REPLICA, FaultKind.PAUSE_ZOOKEEPER):
            for target in fault.targets:
                self._signal(target, signal.SIGSTOP)
                self._paused.add(target)
                self._record("SIGSTOP", target)
        else:
            for target in fault.targets:
                self.cluster.kill(target)
                self._killed.add(target)
                self._record("kill -9", target)

    def heal(self) -> None:
        """Mend the cuts, resume what is paused and restart what was killed."""
        for name in sorted(self._cut):
            self._command(name, ["clear"])
        if self._cut:
            self._record("rejoin", ",".join(sorted(self._cut)))
        self._cut.clear()
        for target in sorted(self._paused):
            self._signal(target, signal.SIGCONT)
            self._record("SIGCONT", target)
        self._paused.clear()
        for target in sorted(self._killed):
            self.cluster.restart(target)
            self._record("restart", target)
        # A restarted server takes a second or two to listen; the next fault may need it
        # (a cut is told to the server itself).
        for target in sorted(self._killed):
            self._wait_listening(target)
        self._killed.clear()
        if self._meta_state_lost:
            self._recover()

    def _recover(self) -> None:
        """The operator's recover, naming every replica server (all up: one fault at a
        time, and every other one is healed above)."""
        for i in range(self.cluster.metas):
            self._wait_listening(f"meta{i + 1}")
        nodes = [
            self.cluster.replica_address(f"replica{i + 1}") for i in range(self.cluster.replicas)
        ]
        with Admin(self.cluster.meta_list, timeout_s=RECOVER_WAIT_S) as admin:
            err, hint = admin.start_recovery(nodes, wait_s=RECOVER_WAIT_S)
        assert err == "ERR_OK", f"recover answered {err}: {hint}\n{self.cluster.logs()}"
        self._meta_state_lost = False
        self._record("recover", "metas")

    def _wait_listening(self, name: str, timeout_s: float = 30.0) -> None:
        host, port = self._address(name).rsplit(":", 1)
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                socket.create_connection((host, int(port)), timeout=1).close()
                return
            except OSError:
                assert time.monotonic() < deadline, f"{name} not listening after {timeout_s} s"
                time.sleep(0.1)

    def _address(self, name: str) -> str:
        if name.startswith("meta"):
            return self.cluster.meta_list[int(name.removeprefix("meta")) - 1]
        return self.cluster.replica_address(name)

    def _block(self, name: str, others: list[str]) -> None:
        self._cut.add(name)
        self._command(name, ["block", ",".join(self._address(o) for o in others)])

    def _command(self, name: str, args: list[str]) -> None:
        with Admin(self.cluster.meta_list) as admin:
            output = admin.remote_command(self._address(name), COMMAND, args)
        assert output.startswith("blocked: "), f"{name}: {COMMAND} {args}: {output}"

    def _signal(self, target: str, sig: int) -> None:
        if target == "zookeeper":
            pid = self.zookeeper.pid()
            assert pid is not None, "ZooKeeper is not running"
            os.kill(pid, sig)
        else:
            self.cluster.kill(target, sig)

    def _record(self, what: str, target: str) -> None:
        self.events.append(Event(what, target, self.clock()))
