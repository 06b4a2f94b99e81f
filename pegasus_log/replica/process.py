"""The replica server process: the stub behind an RPC server, plus housekeeping."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import time
from dataclasses import replace
from pathlib import Path

from pegasus_log.meta.app_info import InvalidTableSpec, parse_tables
from pegasus_log.replica.stub import ReplicaStub, StubOptions
from pegasus_log.rpc.frame import FrameLimits
from pegasus_log.rpc.thrift import RpcAddress
from pegasus_log.transport.server import RpcServer

log = logging.getLogger(__name__)

# How often idle scanner contexts are looked for; they expire after 5 idle minutes, so a
# check every 10 s frees them within 2% of that.
_SCANNER_SWEEP_S = 10.0


def run_replica(args: argparse.Namespace) -> int:
    try:
        tables = parse_tables(args.table or ["temp:8"])
        address = RpcAddress.parse(f"{args.host}:{args.port}")
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
    data_dir = Path(args.data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    stub = ReplicaStub(
        data_dir=data_dir, address=address, tables=tables, options=options, clock=time.time
    )
    stub.open()
    try:
        asyncio.run(_serve(stub, args.host, args.port))
    finally:
        stub.close()
    return 0


async def _serve(stub: ReplicaStub, host: str, port: int) -> None:
    server = RpcServer(rpcs=stub.handlers(), limits=FrameLimits(), name="replica")
    bound = await server.start(host, port)
    log.info("replica serving on %s:%d", host, bound)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    while not stop.is_set():
        try:
            await asyncio.wait_for(stop.wait(), _SCANNER_SWEEP_S)
        except TimeoutError:
            expired = stub.expire_idle_scanners()
            if expired:
                log.info("expired %d idle scanner contexts", expired)
    await server.stop()
