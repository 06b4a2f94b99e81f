"""``pegasus-log shell``: upstream's Pegasus shell over our client.

Layout: ``escaping`` (how arguments are read and bytes printed), ``flags`` (getopt-style
flags), ``vocabulary`` (every command and its usage), ``commands`` (pure argument
parsers), ``output`` (upstream's output shapes), ``client`` and ``bulk`` (what runs
against the cluster), ``progress``, ``session`` (one command line at a time), ``repl``
(the interactive loop and one-shot mode).
"""

from __future__ import annotations

from pegasus_log.shell.shell.repl import run_shell

__all__ = ["run_shell"]
