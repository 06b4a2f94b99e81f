"""The meta server process."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal

from pegasus_log.meta.app_info import InvalidTableSpec, parse_tables
from pegasus_log.meta.static_meta import StaticMeta
from pegasus_log.rpc.frame import FrameLimits
from pegasus_log.rpc.thrift import RpcAddress
from pegasus_log.transport.server import RpcServer

log = logging.getLogger(__name__)


def run_meta(args: argparse.Namespace) -> int:
    if not args.static:
        log.error("the ZooKeeper-backed meta server is not built yet: run with --static")
        return 2
    try:
        tables = parse_tables(args.table or ["temp:8"])
        replica = RpcAddress.parse(args.replica)
    except (InvalidTableSpec, ValueError) as e:
        log.error("%s", e)
        return 2
    meta = StaticMeta(tables=tables, replica=replica)
    asyncio.run(_serve(meta, args.host, args.port))
    return 0


async def _serve(meta: StaticMeta, host: str, port: int) -> None:
    server = RpcServer(rpcs=meta.handlers(), limits=FrameLimits(), name="meta")
    bound = await server.start(host, port)
    log.info("static meta serving on %s:%d", host, bound)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await server.stop()
