"""The ``pegasus-log`` command line."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from pegasus_log.transport.loops import EVENT_LOOPS

DEFAULT_META_PORT = 34601
DEFAULT_REPLICA_PORT = 34801


def _add_logging(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--log-level",
        default="INFO",
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="log level (default INFO)",
    )
    p.add_argument(
        "--log-format",
        default="text",
        choices=["text", "json"],
        help="text, or one JSON object per line (default text)",
    )


class _Version(argparse.Action):
    """``-v|--version``: upstream's version line, with the git commit the servers report in
    ``server-info`` (asked only when wanted: it may run git)."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        super().__init__(
            option_strings,
            dest,
            nargs=0,
            default=argparse.SUPPRESS,
            help="print the version, git commit and Python, then exit",
        )

    def __call__(self, parser: argparse.ArgumentParser, *args: Any, **kwargs: Any) -> None:
        from pegasus_log.observability.process import build_info

        print(build_info().line("pegasus-log"))
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pegasus-log", description="pegasus-log: Apache Pegasus, in Python"
    )
    parser.add_argument("-v", "--version", action=_Version)
    sub = parser.add_subparsers(dest="command", required=True)

    rep = sub.add_parser("replica", help="run a replica server")
    rep.add_argument("--host", default="127.0.0.1")
    rep.add_argument("--port", type=int, default=DEFAULT_REPLICA_PORT)
    rep.add_argument("--data-dir", required=True, help="where RocksDB data lives")
    rep.add_argument(
        "--table",
        action="append",
        default=None,
        help="NAME:PARTITION_COUNT hosted here (repeatable; default temp:8)",
    )
    rep.add_argument(
        "--meta", default="", help="meta servers HOST:PORT[,...] (default: static tables)"
    )
    rep.add_argument("--block-cache-mb", type=int, default=None)
    rep.add_argument("--write-buffer-mb", type=int, default=None)
    rep.add_argument(
        "--checkpoint-interval-s",
        type=float,
        default=None,
        help="local checkpoint period of a partition (default 100)",
    )
    rep.add_argument(
        "--log-gc-interval-s", type=float, default=None, help="mutation log GC period (default 30)"
    )
    rep.add_argument(
        "--log-reserve-mb",
        type=int,
        default=None,
        help="collectable mutation log kept for learners (default 256)",
    )
    rep.add_argument(
        "--log-segment-mb", type=int, default=None, help="mutation log segment size (default 32)"
    )
    rep.add_argument(
        "--log-write-on",
        choices=("loop", "thread"),
        default=None,
        help="where the mutation log writes and fsyncs (default loop; see docs/durability.md)",
    )
    rep.add_argument(
        "--event-loop",
        choices=EVENT_LOOPS,
        default="uvloop",
        help="the event loop the server runs on (default uvloop; asyncio: the standard library's)",
    )
    rep.add_argument(
        "--gc-close-delay-s",
        type=float,
        default=None,
        help="close a replica the meta names as garbage after this long (default 600)",
    )
    rep.add_argument(
        "--gc-remove-delay-s",
        type=float,
        default=None,
        help="delete a replica moved aside as garbage after this long (default 86400)",
    )
    rep.add_argument(
        "--hotkey-analyse-interval-s",
        type=float,
        default=None,
        help="how often hotkey detection judges what it captured (default 10)",
    )
    rep.add_argument(
        "--fault-injection",
        action="store_true",
        help="answer the remote command fault-inject-network (tests only: it cuts this"
        " server off from others on request)",
    )
    _add_logging(rep)

    meta = sub.add_parser("meta", help="run a meta server")
    meta.add_argument("--host", default="127.0.0.1")
    meta.add_argument("--port", type=int, default=DEFAULT_META_PORT)
    meta.add_argument(
        "--static",
        action="store_true",
        help="answer routing from static configuration (one replica server hosts all)",
    )
    meta.add_argument(
        "--replica",
        default=f"127.0.0.1:{DEFAULT_REPLICA_PORT}",
        help="with --static: the replica server hosting every partition",
    )
    meta.add_argument("--table", action="append", default=None, help="NAME:PARTITION_COUNT")
    meta.add_argument("--zookeeper", default="", help="ZooKeeper servers HOST:PORT[,...]")
    meta.add_argument("--cluster", default="onebox", help="cluster name (ZooKeeper root)")
    meta.add_argument(
        "--recover-from-replica-servers",
        action="store_true",
        help="when ZooKeeper holds no table, wait for the shell's recover to rebuild the"
        " tables from the replica servers (upstream recover_from_replica_server)",
    )
    meta.add_argument(
        "--fault-injection",
        action="store_true",
        help="answer the remote command fault-inject-network (tests only: it cuts this"
        " server off from others on request)",
    )
    _add_logging(meta)

    box = sub.add_parser("onebox", help="a whole cluster on this machine")
    box.add_argument("action", choices=["start", "stop", "list", "clean", "restart", "kill"])
    box.add_argument("node", nargs="?", help="for restart/kill: meta1, replica1, ...")
    box.add_argument("--data-dir", default="onebox", help="onebox state folder (default ./onebox)")
    box.add_argument("--partitions", type=int, default=8, help="partitions of table temp")
    box.add_argument("--metas", type=int, default=2, help="meta servers (default 2)")
    box.add_argument("--replicas", type=int, default=3, help="replica servers (default 3)")

    sh = sub.add_parser("shell", help="the Pegasus shell: data commands on a cluster")
    sh.add_argument("--meta", default=f"127.0.0.1:{DEFAULT_META_PORT}", help="host:port[,...]")
    sh.add_argument("-e", dest="execute", help='run "cmd; cmd" and exit (1 if any failed)')

    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if hasattr(args, "log_level"):
        from pegasus_log.observability.logs import configure

        configure(level=args.log_level, fmt=args.log_format, role=args.command)
    if args.command == "replica":
        from pegasus_log.replica.process import run_replica

        return run_replica(args)
    if args.command == "meta":
        from pegasus_log.meta.process import run_meta

        return run_meta(args)
    if args.command == "onebox":
        from pegasus_log.shell.onebox import run_onebox

        return run_onebox(args)
    if args.command == "shell":
        from pegasus_log.shell.shell import run_shell

        return run_shell(args)
    raise AssertionError(f"unhandled command {args.command}")


if __name__ == "__main__":
    sys.exit(main())
