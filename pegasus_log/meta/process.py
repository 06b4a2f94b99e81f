"""The meta server process: static routing (``--static``) or the ZooKeeper-backed meta."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal

from kazoo.client import KazooClient

from pegasus_log.meta.app_info import InvalidTableSpec, parse_tables
from pegasus_log.meta.election import Election
from pegasus_log.meta.service import MetaOptions, MetaService
from pegasus_log.meta.state.layout import Layout
from pegasus_log.meta.state.repository import MetaStateRepository
from pegasus_log.meta.state.store import StoreError
from pegasus_log.meta.state.zookeeper import ZooKeeperStore, ZooKeeperStoreOptions
from pegasus_log.meta.static_meta import StaticMeta
from pegasus_log.observability.metrics import ServerMetrics
from pegasus_log.rpc.frame import FrameLimits
from pegasus_log.rpc.thrift import RpcAddress
from pegasus_log.transport.server import RpcServer

log = logging.getLogger(__name__)

# The election's ZooKeeper session: when a leader dies, its lock node goes with this
# session, so it bounds meta failover. ZooKeeper grants 2 to 20 ticks; the onebox's tick
# is 500 ms, so 3 s is granted as asked.
ELECTION_SESSION_S = 3.0


def run_meta(args: argparse.Namespace) -> int:
    if args.static:
        return _run_static(args)
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
        asyncio.run(_serve_zk(address, layout, args.zookeeper))
    except StoreError as e:
        log.error("ZooKeeper: %s", e)
        return 1
    return 0


def _run_static(args: argparse.Namespace) -> int:
    try:
        tables = parse_tables(args.table or ["temp:8"])
        replica = RpcAddress.parse(args.replica)
    except (InvalidTableSpec, ValueError) as e:
        log.error("%s", e)
        return 2
    meta = StaticMeta(tables=tables, replica=replica)
    asyncio.run(_serve_static(meta, args.host, args.port))
    return 0


async def _until_signalled() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()


async def _serve_static(meta: StaticMeta, host: str, port: int) -> None:
    server = RpcServer(
        rpcs=meta.handlers(), limits=FrameLimits(), name="meta", metrics=ServerMetrics("meta")
    )
    bound = await server.start(host, port)
    log.info("static meta serving on %s:%d", host, bound)
    await _until_signalled()
    await server.stop()


async def _serve_zk(address: RpcAddress, layout: Layout, zookeeper: str) -> None:
    store = ZooKeeperStore(ZooKeeperStoreOptions(hosts=zookeeper))
    await asyncio.to_thread(store.start)
    repo = MetaStateRepository(store, layout)
    service = MetaService(
        repo=repo,
        address=address,
        options=MetaOptions(cluster_name=layout.cluster_root, zookeeper_hosts=zookeeper),
    )
    election_client = KazooClient(hosts=zookeeper, timeout=ELECTION_SESSION_S)
    await asyncio.to_thread(election_client.start, 15)
    election = Election(election_client, layout.leader_lock_path, service)
    metrics = ServerMetrics("meta")
    metrics.add_gauges(service.metric_rows)
    server = RpcServer(rpcs=service.handlers(), limits=FrameLimits(), name="meta", metrics=metrics)
    await server.start(address.host, address.port)
    log.info("meta serving on %s, ZooKeeper %s, root %s", address, zookeeper, layout.cluster_root)
    campaign = asyncio.create_task(election.run())
    await _until_signalled()
    campaign.cancel()
    await election.stop()
    await server.stop()
    await service.close()
    await asyncio.to_thread(election_client.stop)
    await asyncio.to_thread(store.close)
