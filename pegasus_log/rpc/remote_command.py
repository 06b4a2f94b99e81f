"""The remote-command RPC every server answers (upstream's idl/command.thrift).

``RPC_CLI_CLI_CALL`` carries a ``command`` struct (the command's name and its arguments)
and is answered with one string, the command's output. An unknown command is not an RPC
error: it is answered ERR_OK with upstream's text ``unknown command '<name>'``.
"""

from __future__ import annotations

from dataclasses import field
from typing import ClassVar

from pegasus_log.frozen import frozen
from pegasus_log.rpc.messages import RpcSpec
from pegasus_log.rpc.thrift import STRING, Field, ListOf


@frozen
class RemoteCommand:
    """dsn.dist.cmd.command."""

    cmd: str = ""
    arguments: list[str] = field(default_factory=list)
    THRIFT: ClassVar = (Field(1, "cmd", STRING), Field(2, "arguments", ListOf(STRING)))


CLI_CLI_CALL = RpcSpec("RPC_CLI_CLI_CALL", RemoteCommand, STRING)
