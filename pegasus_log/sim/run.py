"""Random runs: one seed -> one fault mix, one schedule of faults, one client load.

A run has three phases: faults (crashes with and without power loss, network partitions
between replicas and between a replica and the meta, disk write and sync failures, message
loss, duplication and reordering, the meta's state lost and then recovered from the
replica servers) for ``fault_s`` simulated seconds while the client writes
and reads; then healing (every fault stops, every server boots) until every partition is
whole and caught up, within ``heal_s``; then a last write and read per partition, and the
final checks. The checker watches every event throughout. Anything that breaks raises
``SeedFailure`` naming the seed; ``python -m pegasus_log.sim --seed N`` replays it.
"""

from __future__ import annotations

import random
from dataclasses import replace

from pegasus_log.frozen import frozen
from pegasus_log.replica.core import status as st
from pegasus_log.replica.plog.disk import DiskFault, DiskOp
from pegasus_log.rpc.error_code import ErrorCode
from pegasus_log.rpc.thrift import Gpid, RpcAddress
from pegasus_log.sim.checker import SimFailure
from pegasus_log.sim.client import ClientReplyMsg, write_id_of
from pegasus_log.sim.node import SimNode
from pegasus_log.sim.options import FaultRates, SimOptions
from pegasus_log.sim.world import World

# How often the healing phase checks whether the cluster is whole again.
HEAL_CHECK_S = 0.1
# How long the final write and read may take once the cluster is whole.
PROBE_S = 3.0
# How often a meta that lost its state looks whether every server is up to recover.
RECOVER_POLL_S = 0.5


@frozen
class SeedResult:
    seed: int
    trace_hash: str
    events: int
    sim_seconds: float
    nodes: int
    partitions: int
    writes_sent: int
    writes_acked: int
    reads_ok: int
    reads_checked: int
    crashes: int
    messages: int
    dropped: int
    balancing: bool = False
    primary_moves: int = 0
    copies: int = 0  # of secondaries and of primaries
    primary_copies: int = 0
    meta_recoveries: int = 0


class SeedFailure(Exception):
    def __init__(
        self, seed: int, message: str, state: str, trace_hash: str, replay_flags: str = ""
    ) -> None:
        super().__init__(
            f"seed {seed} failed: {message}\n{state}\n"
            f"replay: python -m pegasus_log.sim --seed {seed}{replay_flags}"
        )
        self.seed = seed
        self.message = message
        self.state = state
        self.trace_hash = trace_hash


def run_seed(
    seed: int, *, options: SimOptions | None = None, fault_s: float | None = None
) -> SeedResult:
    """Run one seed: its own options (drawn from the seed), or ``options``; ``fault_s``
    replaces the seconds of faults before healing (longer runs reach further states)."""
    rng = random.Random(seed)
    if options is None:
        options = _with_learner_crashes(_with_meta_state_loss(SimOptions.for_seed(rng), seed), seed)
    if fault_s is not None:
        options = replace(options, fault_s=fault_s)
    opts = options
    world = World(opts, rng)
    try:
        _run(world)
    except (AssertionError, SimFailure) as e:
        message = str(e) or type(e).__name__
        flags = f" --fault-seconds {fault_s:g}" if fault_s is not None else ""
        raise SeedFailure(seed, message, world.describe(), world.queue.trace_hash, flags) from e
    return SeedResult(
        seed=seed,
        trace_hash=world.queue.trace_hash,
        events=world.queue.events,
        sim_seconds=world.queue.now,
        nodes=opts.nodes,
        partitions=opts.partitions,
        writes_sent=world.client.writes_sent,
        writes_acked=sum(len(a) for a in world.client.acked.values()),
        reads_ok=world.client.reads_ok,
        reads_checked=world.checker.reads_checked,
        crashes=sum(n.crashes for n in world.nodes),
        messages=world.network.sent,
        dropped=world.network.dropped,
        balancing=opts.balance,
        primary_moves=world.meta.moves_done,
        copies=world.meta.copies_started,
        primary_copies=world.meta.primary_copies_started,
        meta_recoveries=world.meta.recoveries,
    )


def _run(world: World) -> None:
    opts = world.options
    world.start()
    world.start_client()
    _schedule_fault_checks(world)
    world.queue.run_until(opts.fault_s)
    _heal(world)
    deadline = opts.fault_s + opts.heal_s
    while world.healthy() is not None:
        if world.queue.now >= deadline:
            raise SimFailure(f"not whole {opts.heal_s}s after healing: {world.healthy()}")
        world.queue.run_until(world.queue.now + HEAL_CHECK_S)
    _probe(world)
    # The probe's commit point reaches the members with the next group check.
    settle = world.queue.now + 2 * opts.core.group_check_interval_s + HEAL_CHECK_S
    while world.healthy() is not None and world.queue.now < settle:
        world.queue.run_until(world.queue.now + HEAL_CHECK_S)
    _final_checks(world)


def _with_meta_state_loss(opts: SimOptions, seed: int) -> SimOptions:
    """A third of the seeds may lose the meta's state. Drawn from a generator of its own,
    and the world's only when the rate is not zero, so that every other seed runs as it
    did before this fault existed."""
    rate = random.Random(f"meta-state-loss-{seed}").choice((0.0, 0.0, 0.03))
    return replace(opts, faults=replace(opts.faults, meta_state_loss=rate))


def _with_learner_crashes(opts: SimOptions, seed: int) -> SimOptions:
    """A third of the seeds crash learners in the middle of learning, the way
    ``_with_meta_state_loss`` draws its rate: every other seed runs as before."""
    rate = random.Random(f"learner-crash-{seed}").choice((0.0, 0.0, 0.2))
    return replace(opts, faults=replace(opts.faults, learner_crash=rate))


def _schedule_fault_checks(world: World) -> None:
    opts = world.options
    t = opts.faults.check_interval_s
    while t < opts.fault_s:
        world.queue.at(t, "fault check", lambda: _fault_check(world))
        t += opts.faults.check_interval_s
    if opts.faults.learner_crash:
        t = opts.faults.learner_check_interval_s
        while t < opts.fault_s:
            world.queue.at(t, "learner check", lambda: _learner_check(world))
            t += opts.faults.learner_check_interval_s


def _learner_check(world: World) -> None:
    """Crash a server that hosts a learner, and boot it again within 0.3 s (the sim's
    primaries forget a learner after 2 x 0.7 s): it comes back holding what its log
    kept, and is made a learner again under the same signature."""
    learning = [
        n
        for n in world.nodes
        if n.up and any(c.status == st.POTENTIAL_SECONDARY for c in n.cores.values())
    ]
    if not learning or world.rng.random() >= world.options.faults.learner_crash:
        return
    node = world.rng.choice(learning)
    world.crash(node.name, power_loss=False)
    delay = world.rng.uniform(0.02, 0.3)
    world.queue.after(delay, f"reboot {node.name}", lambda: world.boot(node.name))


def _fault_check(world: World) -> None:
    opts = world.options
    rates = opts.faults
    rng = world.rng
    up = [n for n in world.nodes if n.up]
    if up and len(up) >= 2 and rng.random() < rates.crash:
        node = rng.choice(up)
        _crash_and_reboot(world, node.name, power_loss=rng.random() < rates.power_loss)
    if rng.random() < rates.crash_all:
        for node in [n for n in world.nodes if n.up]:
            _crash_and_reboot(world, node.name, power_loss=rng.random() < rates.power_loss)
    if len(world.nodes) >= 2 and rng.random() < rates.partition:
        a, b = rng.sample(world.nodes, 2)
        _cut_for(world, a.address, b.address)
    if rng.random() < rates.meta_partition:
        node = rng.choice(world.nodes)
        _cut_for(world, node.address, world.meta_address)
    if rng.random() < rates.isolate:
        _isolate(world, rng.choice(world.nodes))
    up = [n for n in world.nodes if n.up]
    if up and rng.random() < rates.disk_fault:
        node = rng.choice(up)
        if rng.random() < 0.5:
            fault = DiskFault(DiskOp.WRITE, torn_bytes=rng.randint(0, 64))
        else:
            fault = DiskFault(DiskOp.SYNC)
        world.disk_fault(node.name, fault)
    losing = rates.meta_state_loss and not world.meta.recovering
    if losing and rng.random() < rates.meta_state_loss:
        world.lose_meta_state()
        world.queue.after(RECOVER_POLL_S, "recover", lambda: _recover_when_all_up(world))


def _recover_when_all_up(world: World) -> None:
    """The operator's recover, naming every server, once every one is up (with one down
    it is refused, and skipping it could lose writes only it holds). A partition no
    server stores (its only replica crashed before it saved anything) refuses it too: the
    operator then recovers with skip_lost_partitions, and the checker still holds every
    acknowledged write to account."""
    if all(n.up for n in world.nodes):
        err = world.recover_meta(skip_bad_nodes=False)
        if err == ErrorCode.ERR_TRY_AGAIN.name:
            err = world.recover_meta(skip_bad_nodes=False, skip_lost_partitions=True)
        if err != ErrorCode.ERR_OK.name:
            raise SimFailure(f"recover with every server up answered {err}")
        return
    world.queue.after(RECOVER_POLL_S, "recover", lambda: _recover_when_all_up(world))


def _crash_and_reboot(world: World, name: str, *, power_loss: bool) -> None:
    opts = world.options
    world.crash(name, power_loss=power_loss)
    delay = world.rng.uniform(opts.restart_min_s, opts.restart_max_s)
    world.queue.after(delay, f"reboot {name}", lambda: world.boot(name))


def _cut_for(world: World, a: RpcAddress, b: RpcAddress, seconds: float | None = None) -> None:
    opts = world.options
    world.queue.trace(f"cut {world.name_of(a)}|{world.name_of(b)}")
    world.network.cut(a, b)
    if seconds is None:
        seconds = world.rng.uniform(opts.partition_min_s, opts.partition_max_s)
    world.queue.after(
        seconds, f"heal {world.name_of(a)}|{world.name_of(b)}", lambda: world.network.heal(a, b)
    )


def _isolate(world: World, node: SimNode) -> None:
    opts = world.options
    seconds = world.rng.uniform(opts.partition_min_s, opts.partition_max_s)
    for other in [world.meta_address, *(n.address for n in world.nodes if n is not node)]:
        _cut_for(world, node.address, other, seconds)


def _heal(world: World) -> None:
    world.queue.trace("heal")
    world.stop_client()
    world.network.heal_all()
    world.network.rates = FaultRates()
    for node in world.nodes:
        if not node.up:
            world.boot(node.name)


def _probe(world: World) -> None:
    """Whole again: a write and then a read per partition must succeed within PROBE_S,
    retried as a client would after an error or a timeout."""
    for gpid in world.gpids:
        for kind in ("write", "read"):
            reply = _until_ok(world, gpid, kind)
            if reply is None:
                raise SimFailure(f"{kind} of {gpid} after healing: no success in {PROBE_S}s")


def _until_ok(world: World, gpid: Gpid, kind: str) -> ClientReplyMsg | None:
    deadline = world.queue.now + PROBE_S
    while world.queue.now < deadline:
        send = world.client_write if kind == "write" else world.client_read
        request_id = send(gpid, None)
        attempt_end = min(deadline, world.queue.now + 0.5)
        while world.queue.now < attempt_end:
            reply = world.client.replies.get(request_id) if request_id is not None else None
            if reply is not None:
                if reply.err == ErrorCode.ERR_OK:
                    return reply
                break
            world.queue.run_until(world.queue.now + 0.02)
        world.queue.run_until(world.queue.now + 0.05)
    return None


def _final_checks(world: World) -> None:
    """Every acknowledged write is committed on the primary and on every member."""
    for gpid in world.gpids:
        pc = world.meta.configs[gpid]
        acked = world.client.acked.get(gpid, {})
        for address in [pc.primary, *pc.secondaries]:
            node = next(n for n in world.nodes if n.address == address)
            core = node.cores[gpid]
            assert core.status in (st.PRIMARY, st.SECONDARY)
            storage = node.storages[gpid]
            for write_id, decree in acked.items():
                if decree > storage.applied_decree:
                    raise SimFailure(
                        f"write {write_id} (decree {decree}) missing on {node.name}: "
                        f"applied only {storage.applied_decree}"
                    )
                if write_id not in {write_id_of(u) for u in storage.content(decree)}:
                    raise SimFailure(f"write {write_id} not at decree {decree} on {node.name}")
