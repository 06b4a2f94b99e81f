"""The meta server process: static routing (``--static``) or the ZooKeeper-backed meta."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import time

from kazoo.client import KazooClient

from pegasus_log.meta import not_built
from pegasus_log.meta.app_info import InvalidTableSpec, parse_tables
from pegasus_log.meta.election import Election
from pegasus_log.meta.flags import meta_flags
from pegasus_log.meta.service import MetaOptions, MetaService
from pegasus_log.meta.state.layout import Layout
from pegasus_log.meta.state.repository import MetaStateRepository
from pegasus_log.meta.state.store import StoreError
from pegasus_log.meta.state.zookeeper import ZooKeeperStore, ZooKeeperStoreOptions
from pegasus_log.meta.static_meta import StaticMeta
from pegasus_log.observability.commands import server_commands
from pegasus_log.observability.flags import FlagRegistry
from pegasus_log.observability.metrics import ServerMetrics
from pegasus_log.observability.process import build_info
from pegasus_log.rpc.frame import FrameLimits
from pegasus_log.rpc.messages import RpcSpec
from pegasus_log.rpc.remote_command import CLI_CLI_CALL
from pegasus_log.rpc.thrift import RpcAddress
from pegasus_log.transport.server import Handler, RpcServer

log = logging.getLogger(__name__)

# The election's ZooKeeper session: when a leader dies, its lock node goes with this
# session, so it bounds meta failover. ZooKeeper grants 2 to 20 ticks; the onebox's tick
# is 500 ms, so 3 s is granted as asked.
ELECTION_SESSION_S = 3.0


def run_meta(args: argparse.Namespace) -> int:
    started_at_s = time.time()
    if args.static:
        return _run_static(args, started_at_s)
    if not args.zookeeper:
        log.error("give --zookeeper HOST:PORT[,...] (or --static for static routing)")
        return 2
    try:
        address = RpcAddress.parse(f"{args.host}:{args.port}")
        layout = Layout.for_cluster(args.cluster)
    except ValueError as e:
        log.error("%s", e)
        return 2
    try:
        asyncio.run(
            _serve_zk(
                address,
                layout,
                MetaOptions(
                    cluster_name=args.cluster,
                    zookeeper_hosts=args.zookeeper,
                    recover_from_replica_servers=args.recover_from_replica_servers,
                ),
                started_at_s,
                args.fault_injection,
            )
        )
    except StoreError as e:
        log.error("ZooKeeper: %s", e)
        return 1
    return 0


def _run_static(args: argparse.Namespace, started_at_s: float) -> int:
    try:
        tables = parse_tables(args.table or ["temp:8"])
        replica = RpcAddress.parse(args.replica)
    except (InvalidTableSpec, ValueError) as e:
        log.error("%s", e)
        return 2
    meta = StaticMeta(tables=tables, replica=replica)
    asyncio.run(_serve_static(meta, args.host, args.port, started_at_s))
    return 0


async def _until_signalled() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()


def _with_commands(
    rpcs: dict[str, tuple[RpcSpec, Handler]],
    metrics: ServerMetrics,
    started_at_s: float,
    fault_injection: bool = False,
) -> dict[str, tuple[RpcSpec, Handler]]:
    """``rpcs``, the remote commands every server answers, and the not-yet answers of the
    admin RPCs of features not built (pegasus_log.meta.not_built)."""
    commands = server_commands(
        build=build_info(),
        metrics=metrics,
        started_at_s=started_at_s,
        fault_injection=fault_injection,
    )
    return {**not_built.rpcs(), **rpcs, CLI_CLI_CALL.name: (CLI_CLI_CALL, commands.on_call)}


async def _serve_static(meta: StaticMeta, host: str, port: int, started_at_s: float) -> None:
    metrics = ServerMetrics("meta")
    server = RpcServer(
        rpcs=_with_commands(meta.handlers(), metrics, started_at_s),
        limits=FrameLimits(),
        name="meta",
        metrics=metrics,
    )
    bound = await server.start(host, port)
    log.info("static meta serving on %s:%d", host, bound)
    await _until_signalled()
    await server.stop()


async def _serve_zk(
    address: RpcAddress,
    layout: Layout,
    options: MetaOptions,
    started_at_s: float,
    fault_injection: bool,
) -> None:
    store = ZooKeeperStore(ZooKeeperStoreOptions(hosts=options.zookeeper_hosts))
    await asyncio.to_thread(store.start)
    repo = MetaStateRepository(store, layout)
    service = MetaService(repo=repo, address=address, options=options)
    metrics = ServerMetrics("meta")
    metrics.add_gauges(service.metric_rows)
    server = RpcServer(
        rpcs=_with_commands(service.handlers(), metrics, started_at_s, fault_injection),
        limits=FrameLimits(),
        name="meta",
        metrics=metrics,
        http_pages=FlagRegistry(meta_flags(service)).pages(),
    )
    # Serve before joining the election: until it leads, the meta answers as a follower
    # (ERR_FORWARD_TO_OTHERS), which clients follow, instead of refusing connections
    # while its election session connects (slow when ZooKeeper itself is restarting).
    await server.start(address.host, address.port)
    log.info(
        "meta serving on %s, ZooKeeper %s, root %s",
        address,
        options.zookeeper_hosts,
        layout.cluster_root,
    )
    election_client = KazooClient(hosts=options.zookeeper_hosts, timeout=ELECTION_SESSION_S)
    await asyncio.to_thread(election_client.start, 15)
    election = Election(election_client, layout.leader_lock_path, service)
    campaign = asyncio.create_task(election.run())
    await _until_signalled()
    campaign.cancel()
    await election.stop()
    await server.stop()
    await service.close()
    await asyncio.to_thread(election_client.stop)
    await asyncio.to_thread(store.close)
