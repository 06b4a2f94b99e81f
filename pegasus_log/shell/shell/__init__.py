"""``pegasus-log shell``: upstream's Pegasus shell over our client.

Layout: ``escaping`` (how arguments are read and bytes printed), ``flags`` (getopt-style
flags), ``vocabulary`` (every command and its usage), ``commands`` and ``meta_args``
(pure argument parsers of the data and of the table/cluster commands), ``output`` and
``printer`` (upstream's output shapes and its aligned/JSON table printer), ``reports``
(pure table, partition and node reports), ``client`` and ``bulk`` (what runs against the
cluster), ``progress``, ``session`` (one command line at a time) with ``meta_commands``
(the table and cluster commands), ``repl`` (the interactive loop and one-shot mode).
"""

from __future__ import annotations

from pegasus_log.shell.shell.repl import run_shell

__all__ = ["run_shell"]
