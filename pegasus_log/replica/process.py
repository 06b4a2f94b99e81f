"""The replica server process: the stub behind an RPC server, the link to the meta, and
housekeeping."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import time
from dataclasses import replace
from pathlib import Path

from pegasus_log.failure_detector import FdOptions
from pegasus_log.meta.app_info import AppInfo, InvalidTableSpec, parse_tables
from pegasus_log.observability.commands import server_commands
from pegasus_log.observability.flags import FlagRegistry
from pegasus_log.observability.metrics import ServerMetrics
from pegasus_log.observability.process import build_info
from pegasus_log.replica.flags import replica_flags, stub_flags
from pegasus_log.replica.log_gc import DurabilityOptions, DurabilityOptionsError
from pegasus_log.replica.meta_link import MetaLink
from pegasus_log.replica.plog import PlogConfigError
from pegasus_log.replica.runtime import ReplicaServer
from pegasus_log.replica.stub import ReplicaStub, StubOptions
from pegasus_log.rpc.admin import CONFIG_PROPOSAL
from pegasus_log.rpc.frame import FrameLimits
from pegasus_log.rpc.remote_command import CLI_CLI_CALL
from pegasus_log.rpc.thrift import RpcAddress
from pegasus_log.transport.loops import run_on
from pegasus_log.transport.server import RpcServer

log = logging.getLogger(__name__)

# How often idle scanner contexts are looked for; they expire after 5 idle minutes, so a
# check every 10 s frees them within 2% of that.
_SCANNER_SWEEP_S = 10.0


def run_replica(args: argparse.Namespace) -> int:
    started_at_s = time.time()
    try:
        address = RpcAddress.parse(f"{args.host}:{args.port}")
        metas = [RpcAddress.parse(x) for x in args.meta.split(",")] if args.meta else []
        tables = parse_tables(args.table or ["temp:8"]) if not metas else []
    except (InvalidTableSpec, ValueError) as e:
        log.error("%s", e)
        return 2
    options = StubOptions()
    storage = options.storage
    if args.block_cache_mb is not None:
        storage = replace(storage, block_cache_bytes=args.block_cache_mb << 20)
    if args.write_buffer_mb is not None:
        storage = replace(storage, write_buffer_bytes=args.write_buffer_mb << 20)
    options = replace(options, storage=storage)
    try:
        durability = _durability(args)
    except (DurabilityOptionsError, PlogConfigError) as e:
        log.error("%s", e)
        return 2
    garbage = options.garbage
    if args.gc_close_delay_s is not None:
        garbage = replace(garbage, close_delay_s=args.gc_close_delay_s)
    if args.gc_remove_delay_s is not None:
        garbage = replace(garbage, remove_delay_s=args.gc_remove_delay_s)
    options = replace(options, garbage=garbage)
    if args.hotkey_analyse_interval_s is not None:
        if args.hotkey_analyse_interval_s <= 0:
            log.error("--hotkey-analyse-interval-s must be above 0")
            return 2
        options = replace(options, hotkey_analyse_interval_s=args.hotkey_analyse_interval_s)
    data_dir = Path(args.data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    # 3: the disk failed the server (see on_disk_failed in _serve)
    failed = run_on(
        args.event_loop,
        _serve(
            address,
            data_dir,
            options,
            durability,
            tables,
            metas,
            started_at_s,
            fault_injection=args.fault_injection,
        ),
    )
    return 3 if failed else 0


def _durability(args: argparse.Namespace) -> DurabilityOptions:
    given = {
        "checkpoint_interval_s": args.checkpoint_interval_s,
        "gc_interval_s": args.log_gc_interval_s,
        "log_reserve_bytes": None if args.log_reserve_mb is None else args.log_reserve_mb << 20,
        "plog_segment_bytes": None if args.log_segment_mb is None else args.log_segment_mb << 20,
        "plog_write_on": args.log_write_on,
    }
    options = DurabilityOptions(**{k: v for k, v in given.items() if v is not None})
    options.plog_config()  # refuses a bad size now
    return options


async def _serve(
    address: RpcAddress,
    data_dir: Path,
    options: StubOptions,
    durability: DurabilityOptions,
    tables: list[AppInfo],
    metas: list[RpcAddress],
    started_at_s: float,
    *,
    fault_injection: bool = False,
) -> bool:
    """Serve until signalled; True if it stopped because its disk failed it."""
    stop = asyncio.Event()
    disk_failure: list[str] = []

    def on_disk_failed(reason: str) -> None:
        log.error(
            "stopping: the disk failed this server (%s); the meta moves its replicas to"
            " other servers. Free or fix the disk, then start it again: its log replays.",
            reason,
        )
        disk_failure.append(reason)
        stop.set()

    link: MetaLink | None = None
    stub: ReplicaStub | ReplicaServer
    if metas:
        server_replicas = ReplicaServer(
            data_dir=data_dir, address=address, options=options, durability=durability
        )
        server_replicas.set_on_disk_failed(on_disk_failed)
        link = MetaLink(metas=metas, stub=server_replicas, fd=FdOptions())
        server_replicas.set_lease(link.lease_valid)
        server_replicas.set_meta_call(link.call_meta)
        await server_replicas.open()
        stub = server_replicas
        flags = FlagRegistry(replica_flags(server_replicas, link))
    else:
        stub = ReplicaStub(data_dir=data_dir, address=address, options=options, clock=time.time)
        stub.host_static(tables)
        flags = FlagRegistry(stub_flags(options))
    rpcs = stub.handlers()
    if link is not None:
        rpcs[CONFIG_PROPOSAL.name] = (CONFIG_PROPOSAL, link.on_config_proposal)
    metrics = ServerMetrics("replica")
    metrics.add_gauges(stub.metric_rows)
    if isinstance(stub, ReplicaServer):
        stub.set_on_collected(metrics.forget_partition)
    commands = server_commands(
        build=build_info(),
        metrics=metrics,
        started_at_s=started_at_s,
        data_dir=data_dir,
        fault_injection=fault_injection,
    )
    if isinstance(stub, ReplicaServer):
        for names, help_text, args, handler in stub.remote_commands():
            commands.register(names, help=help_text, args=args, handler=handler)
    rpcs[CLI_CLI_CALL.name] = (CLI_CLI_CALL, commands.on_call)
    server = RpcServer(
        rpcs=rpcs,
        limits=FrameLimits(),
        name="replica",
        metrics=metrics,
        http_pages={**stub.http_pages(), **flags.pages()},
    )
    bound = await server.start(address.host, address.port)
    log.info(
        "replica serving on %s:%d (%s)",
        address.host,
        bound,
        f"meta {','.join(map(str, metas))}" if metas else "static tables",
    )
    link_task = asyncio.create_task(link.run()) if link is not None else None
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        while not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), _SCANNER_SWEEP_S)
            except TimeoutError:
                expired = stub.expire_idle_scanners()
                if expired:
                    log.info("expired %d idle scanner contexts", expired)
    finally:
        if link_task is not None:
            link_task.cancel()
        await server.stop()
        if link is not None:
            await link.close()
        if isinstance(stub, ReplicaServer):
            await stub.close()
        else:
            stub.close()
    return bool(disk_failure)
