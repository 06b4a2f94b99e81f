"""``pegasus-log shell``: the interactive loop (GNU readline: line editing, history in
``~/.pegasus-log_history``, tab completion of commands and flags) and the one-shot mode
(``-e "cmd; cmd"``, or commands piped on stdin).

The standard library's ``readline`` is enough for a line-per-command shell like
upstream's (which uses linenoise), keeps the terminal output plain for scripts and
pseudo-terminal tests, and adds no dependency.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable, Sequence
from importlib import metadata
from pathlib import Path
from types import ModuleType

from pegasus_log.shell.shell.commands import parse_meta_list
from pegasus_log.shell.shell.escaping import split_commands
from pegasus_log.shell.shell.flags import UsageError
from pegasus_log.shell.shell.session import Session, ShellExit
from pegasus_log.shell.shell.vocabulary import COMMANDS, COMMANDS_BY_NAME

PROMPT = ">>> "
HISTORY_FILE_NAME = ".pegasus-log_history"
# Lines of history kept (readline's own default is unbounded).
HISTORY_LENGTH_MAX = 1000
# What shells return for a process stopped by SIGINT.
EXIT_INTERRUPTED = 130
_LONG_FLAG = re.compile(r"--[A-Za-z_]+")


def run_shell(args: argparse.Namespace) -> int:
    """Entry point of ``pegasus-log shell``; the process exit code."""
    try:
        metas = parse_meta_list(str(args.meta).encode())
    except UsageError as e:
        print(f"ERROR: --meta: {e}", file=sys.stderr)
        return 2
    if args.execute is not None:
        return run_commands(metas, split_commands(args.execute))
    return run_interactive(metas)


def _read(prompt: str) -> str | None:
    """One line of input; None at end of input."""
    try:
        return input(prompt)
    except EOFError:
        return None


def run_commands(
    metas: Sequence[str],
    commands: Sequence[str],
    *,
    read_line: Callable[[str], str | None] = _read,
) -> int:
    """Run ``commands`` in order (all of them, unless one is ``exit``); 1 if any failed."""
    session = Session(metas, out=sys.stdout, err=sys.stderr, read_line=read_line)
    failed = 0
    try:
        for line in commands:
            failed += not session.execute(line)
    except ShellExit:
        pass
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    finally:
        session.close()
    return 1 if failed else 0


def run_interactive(metas: Sequence[str]) -> int:
    """Read commands until ``exit`` or end of input. On a terminal: prompt, history,
    completion, exit code 0. From a pipe: no prompt, exit code 1 if any command failed."""
    tty = sys.stdin.isatty() and sys.stdout.isatty()
    prompt = PROMPT if tty else ""
    rl = _setup_readline() if tty else None
    history = Path.home() / HISTORY_FILE_NAME
    if rl is not None:
        _load_history(rl, history)
        _banner(metas)

    def read_line(p: str) -> str | None:
        return _read(p if tty else "")

    session = Session(metas, out=sys.stdout, err=sys.stderr, read_line=read_line)
    failed = 0
    try:
        while True:
            try:
                line = _read(prompt)
                if line is None:
                    if tty:
                        print(file=sys.stdout)
                    break
                failed += not session.execute(line)
                if rl is not None and line.strip():
                    _save_history(rl, history)
            except KeyboardInterrupt:
                if not tty:
                    return EXIT_INTERRUPTED
                print(file=sys.stdout)  # Ctrl-C outside a command: a fresh prompt, as bash
    except ShellExit:
        pass
    finally:
        session.close()
    return 0 if tty or not failed else 1


def _banner(metas: Sequence[str]) -> None:
    try:
        version = metadata.version("pegasus-log")
    except metadata.PackageNotFoundError:
        version = "unknown"
    print(f"Pegasus Shell (pegasus-log {version})")
    print('Type "help" for more information.')
    print('Type "Ctrl-D" or "exit" to exit the shell.')
    print()
    print(f"The cluster meta list is: {','.join(metas)}")


# ---- readline --------------------------------------------------------------------------


def completions(before: str, word: str) -> list[str]:
    """What ``word`` may complete to, given the line before it: command names first,
    then the long flags of the command (or command names again after ``help``)."""
    words = before.split()
    if not words:
        return [c.name for c in COMMANDS if c.name.startswith(word)]
    command = COMMANDS_BY_NAME.get(words[0])
    if command is None:
        return []
    if command.name == "help" and len(words) == 1:
        return [c.name for c in COMMANDS if c.name.startswith(word)]
    if word.startswith("-"):
        flags = sorted(set(_LONG_FLAG.findall(command.usage)))
        return [f for f in flags if f.startswith(word)]
    return []


def _setup_readline() -> ModuleType | None:
    try:
        import readline
    except ImportError:  # a Python built without it: plain input() still works
        return None
    readline.set_completer_delims(" \t\n\"'")
    if "libedit" in (readline.__doc__ or ""):
        readline.parse_and_bind("bind ^I rl_complete")
    else:
        readline.parse_and_bind("tab: complete")
        # Plain output for scripts and pseudo-terminals: no bracketed-paste escapes.
        readline.parse_and_bind("set enable-bracketed-paste off")

    def complete(word: str, state: int) -> str | None:
        before = readline.get_line_buffer()[: readline.get_begidx()]
        found = completions(before, word)
        return found[state] if state < len(found) else None

    readline.set_completer(complete)
    readline.set_history_length(HISTORY_LENGTH_MAX)
    return readline


def _load_history(rl: ModuleType, path: Path) -> None:
    try:
        rl.read_history_file(str(path))
    except OSError:
        pass  # none yet, or unreadable: start empty


def _save_history(rl: ModuleType, path: Path) -> None:
    """Saved after every command, as upstream does, so a killed shell keeps it."""
    try:
        rl.write_history_file(str(path))
    except OSError:
        pass  # a read-only home must not break the shell
