"""Replication scenarios as data (STYLE rule 9): a script of client requests, message
drops and delays, crashes, partitions, disk faults and expected states, run on the
simulated cluster with no random faults and fixed network delays. The checker watches
every event of a scenario as it does in random runs.

One command per line; ``#`` starts a comment; arguments are words or ``key=value``.
Nodes are ``r1`` .. ``rN``; ``meta`` and ``client`` name the other endpoints. Partition
indexes default to 0. Waits give up after ``timeout=`` seconds (default 5) and fail.

    option nodes=3 partitions=1 replicas=3   before start (defaults shown)
    start [down=r4,r5]                       boot every server (but those) and the meta
    level lively|steady                      the meta balances (lively) or only cures
    replicas 4                               the table's replica count becomes 4 (the
                                               shell's set_replica_count)
    run 1.5                                  let 1.5 simulated seconds pass
    write 7 [to=r2] [partition=0]            client write number 7 (to the primary the
    read 8 [to=r2] [partition=0]               meta names, unless ``to``)
    load 200 [partition=0]                   200 writes one after another, each answered OK
    drop prepare from=r1 to=r2 [count=1]     drop the next messages of a kind on a link
    delay prepare_ack from=r2 to=r1 seconds=0.5 [count=1]
    crash r1 [power_loss=yes]                stop a server (power loss: unsynced bytes go)
    boot r1                                  start it again (replays its log)
    cut r1 r2 | cut r1 meta | heal r1 r2 | heal all
    isolate r1                               cut r1 from the meta and every server
    disk_fail r2 op=write|sync [torn=16]     the next such disk operation fails
    flush r2                                 storage flush, then log garbage collection
    lose_meta_state                          the meta's store is wiped: it waits for
                                               recover (no lease, nothing changed)
    recover [skip_bad=yes] [expect=ERR_OK]   the shell's recover naming every server
                                               (the down ones fail it, unless skipped)
    wait config ballot=4 primary=r1 secondaries=r3 [partition=0]
         [replicas=3] [members=3]           (its replica count; primary and secondaries)
    wait state r2 status=pri|sec|pot|ina|err [ballot=4] [committed=3] [partition=0]
    wait reply 7 [err=ERR_OK]                the client got an answer to request 7
    wait healthy                             every partition has its replica count of
                                               members, and they caught up
    wait spread [within=1] [primaries=yes]   members per server that is up differ by at
                                               most 1 (and primaries too), and no balancer
                                               copy is under way
    expect never_degraded                    no partition, once whole, ever had fewer
                                               members than its replica count since
    expect <config|state|reply|healthy> ...  as wait, but must hold now
    expect stored 7 on=r1,r2                 write 7 is applied on those servers
                                               (on=members: the partition's members now)
    expect count r2 checkpoints_installed>=1 a server counter (see SimNode.counters)
    expect count meta primary_copies>=1      the balancer's (see SimMeta.counters)

Message kinds: ``pegasus_log.sim.network.KINDS``.
"""

from __future__ import annotations

import random
import shlex
from collections.abc import Callable
from dataclasses import replace

from pegasus_log.frozen import frozen
from pegasus_log.replica.core import status as st
from pegasus_log.replica.plog.disk import DiskFault, DiskOp
from pegasus_log.rpc.error_code import ErrorCode
from pegasus_log.rpc.thrift import Gpid
from pegasus_log.sim.checker import SimFailure
from pegasus_log.sim.client import write_id_of
from pegasus_log.sim.network import KINDS, Rule
from pegasus_log.sim.options import SimOptions
from pegasus_log.sim.world import APP_ID, World

DEFAULT_TIMEOUT_S = 5.0
# Waits look at the state this often (simulated seconds).
POLL_S = 0.01

_STATUS = {name: status for status, name in st.SHORT_NAMES.items()}


class ScenarioError(AssertionError):
    """A scenario step failed (or the script is malformed): names the file and line."""


@frozen
class Command:
    line: int
    verb: str
    words: tuple[str, ...]
    args: dict[str, str]
    text: str


def parse(text: str) -> list[Command]:
    commands: list[Command] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        tokens = shlex.split(line)
        words = tuple(t for t in tokens[1:] if "=" not in t)
        args = dict(t.split("=", 1) for t in tokens[1:] if "=" in t)
        commands.append(Command(number, tokens[0], words, args, line))
    return commands


def run_scenario(text: str, *, name: str = "<scenario>", seed: int = 0) -> World:
    """Run a scenario script; raises ScenarioError (or SimFailure) with the line."""
    runner = _Runner(name, seed)
    for command in parse(text):
        try:
            runner.execute(command)
        except (ScenarioError, SimFailure, AssertionError) as e:
            where = f"{name}:{command.line}: {command.text}"
            state = runner.world.describe() if runner.world is not None else ""
            raise ScenarioError(f"{where}\n  {e}\n{state}") from e
    if runner.world is None:
        raise ScenarioError(f"{name}: never started")
    return runner.world


class _Runner:
    def __init__(self, name: str, seed: int) -> None:
        self.name = name
        self.seed = seed
        self.options = SimOptions.scripted()
        self._world: World | None = None
        # Scenario request numbers -> the client's request ids.
        self.requests: dict[str, int] = {}

    @property
    def world(self) -> World | None:
        return self._world

    def w(self) -> World:
        if self._world is None:
            raise ScenarioError("the scenario has not started (missing 'start')")
        return self._world

    def execute(self, c: Command) -> None:
        handler = getattr(self, f"do_{c.verb}", None)
        if handler is None:
            raise ScenarioError(f"unknown command {c.verb!r}")
        handler(c)

    # ---- setup ----

    def do_option(self, c: Command) -> None:
        if self._world is not None:
            raise ScenarioError("options go before start")
        changes: dict[str, int] = {}
        names = {"nodes": "nodes", "partitions": "partitions", "replicas": "max_replica_count"}
        for key, value in c.args.items():
            if key not in names:
                raise ScenarioError(f"unknown option {key!r}")
            changes[names[key]] = int(value)
        self.options = replace(self.options, **changes)  # type: ignore[arg-type]

    def do_start(self, c: Command) -> None:
        self._world = World(self.options, random.Random(self.seed))
        self._world.network.reliable[self._world.client.address] = None
        down = frozenset(n for n in c.args.get("down", "").split(",") if n)
        for name in down:
            self._world.node(name)  # an unknown name fails here
        self._world.start(down=down)

    def do_level(self, c: Command) -> None:
        level = _one(c)
        if level not in ("lively", "steady"):
            raise ScenarioError(f"unknown level {level!r} (lively or steady)")
        self.w().meta.balancing = level == "lively"

    def do_replicas(self, c: Command) -> None:
        count = int(_one(c))
        if not 1 <= count <= len(self.w().nodes):
            raise ScenarioError(f"replicas {count}: want 1 to {len(self.w().nodes)}")
        self.w().meta.replica_count = count

    def do_run(self, c: Command) -> None:
        world = self.w()
        world.queue.run_until(world.queue.now + float(_one(c)))

    # ---- client ----

    def do_write(self, c: Command) -> None:
        self._request(c, "write")

    def do_read(self, c: Command) -> None:
        self._request(c, "read")

    def _request(self, c: Command, kind: str) -> None:
        world = self.w()
        number = _one(c)
        gpid = self._gpid(c)
        to = world.address_of(c.args["to"]) if "to" in c.args else None
        send = world.client_write if kind == "write" else world.client_read
        request_id = send(gpid, to)
        if request_id is None:
            raise ScenarioError(f"no primary to send {kind} {number} to")
        self.requests[number] = request_id

    def do_load(self, c: Command) -> None:
        world = self.w()
        gpid = self._gpid(c)
        timeout = float(c.args.get("timeout", DEFAULT_TIMEOUT_S))
        for _ in range(int(_one(c))):
            request_id = world.client_write(gpid)
            if request_id is None:
                raise ScenarioError("load: no primary")
            deadline = world.queue.now + timeout
            while request_id not in world.client.replies:
                if world.queue.now >= deadline:
                    raise ScenarioError(f"load: no answer to request {request_id}")
                world.queue.run_until(world.queue.now + POLL_S / 5)
            reply = world.client.replies[request_id]
            if reply.err != ErrorCode.ERR_OK:
                raise ScenarioError(f"load: request {request_id} answered {reply.err.name}")

    # ---- faults ----

    def do_drop(self, c: Command) -> None:
        self._rule(c, "drop")

    def do_delay(self, c: Command) -> None:
        self._rule(c, "delay")

    def _rule(self, c: Command, action: str) -> None:
        world = self.w()
        kind = _one(c)
        if kind not in KINDS:
            raise ScenarioError(f"unknown message kind {kind!r} (known: {sorted(KINDS)})")
        rule = Rule(
            kind=kind,
            src=world.address_of(c.args["from"]),
            dst=world.address_of(c.args["to"]),
            action=action,
            count=int(c.args.get("count", "1")),
            seconds=float(c.args.get("seconds", "0")),
        )
        world.network.rules.append(rule)

    def do_lose_meta_state(self, c: Command) -> None:
        self.w().lose_meta_state()

    def do_recover(self, c: Command) -> None:
        err = self.w().recover_meta(skip_bad_nodes=c.args.get("skip_bad", "no") == "yes")
        want = c.args.get("expect", ErrorCode.ERR_OK.name)
        if err != want:
            raise ScenarioError(f"recover answered {err}, expected {want}")

    def do_crash(self, c: Command) -> None:
        self.w().crash(_one(c), power_loss=c.args.get("power_loss", "no") == "yes")

    def do_boot(self, c: Command) -> None:
        self.w().boot(_one(c))

    def do_cut(self, c: Command) -> None:
        a, b = _two(c)
        world = self.w()
        world.queue.trace(f"cut {a}|{b}")
        world.network.cut(world.address_of(a), world.address_of(b))

    def do_heal(self, c: Command) -> None:
        world = self.w()
        if c.words == ("all",):
            world.network.heal_all()
            return
        a, b = _two(c)
        world.network.heal(world.address_of(a), world.address_of(b))

    def do_isolate(self, c: Command) -> None:
        world = self.w()
        node = world.node(_one(c))
        for other in [world.meta_address, *(n.address for n in world.nodes if n is not node)]:
            world.network.cut(node.address, other)

    def do_disk_fail(self, c: Command) -> None:
        op = {"write": DiskOp.WRITE, "sync": DiskOp.SYNC}[c.args.get("op", "write")]
        fault = DiskFault(op, torn_bytes=int(c.args.get("torn", "0")))
        self.w().disk_fault(_one(c), fault)

    def do_flush(self, c: Command) -> None:
        node = self.w().node(_one(c))
        if not node.up:
            raise ScenarioError(f"{node.name} is down")
        node.flush_and_gc()

    # ---- expectations ----

    def do_wait(self, c: Command) -> None:
        check = self._predicate(c)
        world = self.w()
        deadline = world.queue.now + float(c.args.get("timeout", DEFAULT_TIMEOUT_S))
        while True:
            problem = check()
            if problem is None:
                return
            if world.queue.now >= deadline:
                raise ScenarioError(f"still waiting: {problem}")
            world.queue.run_until(world.queue.now + POLL_S)

    def do_expect(self, c: Command) -> None:
        problem = self._predicate(c)()
        if problem is not None:
            raise ScenarioError(problem)

    def _predicate(self, c: Command) -> Callable[[], str | None]:
        what = c.words[0] if c.words else ""
        rest = Command(c.line, what, c.words[1:], c.args, c.text)
        builders: dict[str, Callable[[Command], Callable[[], str | None]]] = {
            "config": self._config_is,
            "state": self._state_is,
            "reply": self._reply_is,
            "healthy": self._healthy,
            "stored": self._stored,
            "count": self._count,
            "spread": self._spread,
            "never_degraded": self._never_degraded,
        }
        builder = builders.get(what)
        if builder is None:
            raise ScenarioError(f"cannot wait for or expect {what!r}")
        return builder(rest)

    def _config_is(self, c: Command) -> Callable[[], str | None]:
        world = self.w()
        gpid = self._gpid(c)

        def check() -> str | None:
            pc = world.meta.configs[gpid]
            have = {
                "ballot": str(pc.ballot),
                "primary": world.name_of(pc.primary) if not pc.primary.is_invalid else "-",
                "secondaries": ",".join(sorted(world.name_of(s) for s in pc.secondaries)) or "-",
                "replicas": str(pc.max_replica_count),
                "members": str(1 + len(pc.secondaries) if not pc.primary.is_invalid else 0),
            }
            want = {k: v for k, v in c.args.items() if k in have}
            if "secondaries" in want:
                want["secondaries"] = ",".join(sorted(want["secondaries"].split(",")))
            wrong = {k: (v, have[k]) for k, v in want.items() if have[k] != v}
            return None if not wrong else f"config {have}, want {want}"

        return check

    def _state_is(self, c: Command) -> Callable[[], str | None]:
        world = self.w()
        name = _one(c)
        gpid = self._gpid(c)

        def check() -> str | None:
            core = world.core(name, gpid)
            if core is None:
                return f"{name} is down"
            have = {
                "status": st.SHORT_NAMES.get(core.status, "?"),
                "ballot": str(core.ballot),
                "committed": str(core.last_committed_decree),
                "serving": "yes" if core.serving else "no",
            }
            want = {k: v for k, v in c.args.items() if k in have}
            if "status" in want and want["status"] not in _STATUS:
                raise ScenarioError(f"unknown status {want['status']!r}")
            wrong = {k: v for k, v in want.items() if have[k] != v}
            return None if not wrong else f"{name} is {have}, want {want}"

        return check

    def _reply_is(self, c: Command) -> Callable[[], str | None]:
        world = self.w()
        number = _one(c)
        want = c.args.get("err", "ERR_OK")
        if want not in ErrorCode.__members__:
            raise ScenarioError(f"unknown error {want!r}")

        def check() -> str | None:
            request_id = self.requests.get(number)
            if request_id is None:
                raise ScenarioError(f"no request {number} was sent")
            reply = world.client.replies.get(request_id)
            if reply is None:
                return f"no reply to {number} yet"
            if reply.err.name != want:
                return f"reply to {number} is {reply.err.name}, want {want}"
            return None

        return check

    def _healthy(self, c: Command) -> Callable[[], str | None]:
        return self.w().healthy

    def _stored(self, c: Command) -> Callable[[], str | None]:
        world = self.w()
        number = _one(c)
        gpid = self._gpid(c)
        on = c.args.get("on", "")

        def check() -> str | None:
            request_id = self.requests.get(number)
            if request_id is None:
                raise ScenarioError(f"no request {number} was sent")
            names = on.split(",")
            if on == "members":
                pc = world.meta.configs[gpid]
                names = [world.name_of(m) for m in [pc.primary, *pc.secondaries]]
            for name in names:
                node = world.node(name)
                storage = node.storages[gpid]
                found = any(
                    write_id_of(u) == request_id
                    for d in range(1, storage.applied_decree + 1)
                    for u in storage.content(d)
                )
                if not found:
                    return f"write {number} not applied on {name}"
            return None

        return check

    def _count(self, c: Command) -> Callable[[], str | None]:
        world = self.w()
        name = _one(c)
        # "checkpoints_installed>=1" parses as key "checkpoints_installed>", value "1".
        found = [(k[:-1], v) for k, v in c.args.items() if k.endswith(">")]
        if len(found) != 1 or not found[0][1].isdigit():
            raise ScenarioError("expected: count <node> <counter>>=<n>")
        counter, least = found[0][0], int(found[0][1])

        def check() -> str | None:
            counters = world.meta.counters if name == "meta" else world.node(name).counters
            if counter not in counters:
                raise ScenarioError(f"unknown counter {counter!r} (known: {sorted(counters)})")
            have = counters[counter]
            return None if have >= least else f"{name} {counter} = {have} < {least}"

        return check

    def _spread(self, c: Command) -> Callable[[], str | None]:
        world = self.w()
        within = int(c.args.get("within", "1"))
        also_primaries = c.args.get("primaries", "no") == "yes"

        def check() -> str | None:
            counts = world.replica_counts()
            if world.meta.copies:
                return f"members per server {counts}, copies under way"
            if max(counts.values()) - min(counts.values()) > within:
                return f"members per server {counts}, want within {within}"
            primaries = world.replica_counts(primaries=True)
            if also_primaries and max(primaries.values()) - min(primaries.values()) > within:
                return f"primaries per server {primaries}, want within {within}"
            return None

        return check

    def _never_degraded(self, c: Command) -> Callable[[], str | None]:
        world = self.w()

        def check() -> str | None:
            for gpid, history in world.meta.history.items():
                whole = False
                for pc in history:
                    size = len([m for m in [pc.primary, *pc.secondaries] if not m.is_invalid])
                    if whole and size < pc.max_replica_count:
                        return f"{gpid} fell to {size} members at ballot {pc.ballot}"
                    whole = whole or size >= pc.max_replica_count
            return None

        return check

    def _gpid(self, c: Command) -> Gpid:
        return Gpid(APP_ID, int(c.args.get("partition", "0")))


def _one(c: Command) -> str:
    if len(c.words) != 1:
        raise ScenarioError(f"{c.verb} takes one word, got {list(c.words)}")
    return c.words[0]


def _two(c: Command) -> tuple[str, str]:
    if len(c.words) != 2:
        raise ScenarioError(f"{c.verb} takes two words, got {list(c.words)}")
    return c.words[0], c.words[1]
