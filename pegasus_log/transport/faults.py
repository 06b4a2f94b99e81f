"""Network partitions acted out by one process, for fault-injection tests.

A server started with ``--fault-injection`` answers the remote command
``fault-inject-network`` (``network_faults_command``). Told to block an address, the
process behaves towards it as if the network between them dropped every packet: its
outgoing calls to that address are not sent and fail once their timeout passes, its
one-way messages are lost, and replies from it to calls made before are dropped.
Blocking each other on both sides cuts two servers apart; blocking one side only is
a one-way fault. Clients are not affected (they are other processes), nor is ZooKeeper
(its client keeps its own connections).

Without the flag nothing can block anything, and every check is one test of an empty
set.
"""

from __future__ import annotations

from collections.abc import Iterable


class NetworkFaults:
    """The addresses ("host:port") this process cannot reach."""

    __slots__ = ("_blocked",)

    def __init__(self) -> None:
        self._blocked: frozenset[str] = frozenset()

    def blocked(self, address: str) -> bool:
        return address in self._blocked if self._blocked else False

    @property
    def addresses(self) -> frozenset[str]:
        return self._blocked

    def block(self, addresses: Iterable[str]) -> None:
        self._blocked = self._blocked | frozenset(addresses)

    def unblock(self, addresses: Iterable[str]) -> None:
        self._blocked = self._blocked - frozenset(addresses)

    def clear(self) -> None:
        self._blocked = frozenset()


# This process's faults: every Connection consults it.
NETWORK = NetworkFaults()

COMMAND = "fault-inject-network"
COMMAND_ARGS = "block|unblock ADDR[,ADDR...] | clear | list"
COMMAND_HELP = "Act out a network partition towards servers (fault-injection tests only)"


def network_faults_command(args: list[str], faults: NetworkFaults = NETWORK) -> str:
    """The remote command's handler: changes the blocked addresses and answers with the
    ones blocked now (``blocked: a,b`` or ``blocked: none``), or says what is wrong."""
    if args == ["clear"]:
        faults.clear()
    elif len(args) == 2 and args[0] in ("block", "unblock"):
        addresses = [a for a in args[1].split(",") if a]
        bad = [a for a in addresses if not _is_address(a)]
        if bad or not addresses:
            return f"invalid address list {args[1]!r}: want host:port[,host:port...]"
        (faults.block if args[0] == "block" else faults.unblock)(addresses)
    elif args != ["list"] and args:
        return f"invalid arguments {' '.join(args)!r}: want {COMMAND_ARGS}"
    return "blocked: " + (",".join(sorted(faults.addresses)) or "none")


def _is_address(text: str) -> bool:
    host, sep, port = text.rpartition(":")
    return bool(host) and bool(sep) and port.isdigit() and 0 < int(port) < 65536
