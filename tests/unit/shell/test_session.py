"""Dispatch and the commands that need no server. The session's client points at a closed
port: nothing here sends a request."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest

from pegasus_log.shell.shell.session import Session, ShellExit
from pegasus_log.storage.keyhash import partition_hash


class Run:
    def __init__(self, session: Session, out: io.StringIO, err: io.StringIO) -> None:
        self.session, self._out, self._err = session, out, err

    def __call__(self, line: str) -> tuple[bool, str, str]:
        """Run a line; its success, its stdout and its stderr."""
        self._out.seek(0), self._out.truncate()
        self._err.seek(0), self._err.truncate()
        ok = self.session.execute(line)
        return ok, self._out.getvalue(), self._err.getvalue()


@pytest.fixture
def run() -> Iterator[Run]:
    out, err = io.StringIO(), io.StringIO()
    session = Session(["127.0.0.1:1"], out=out, err=err)
    yield Run(session, out, err)
    session.close()


def test_blank_lines_do_nothing(run: Run) -> None:
    assert run("   ") == (True, "", "")


def test_unknown_command_suggests_near_ones(run: Run) -> None:
    ok, _, err = run("mget a b")
    assert not ok
    assert "ERROR: invalid subcommand 'mget'" in err
    assert "Did you mean: get, multi_get" in err


def test_commands_not_built_yet_say_why(run: Run) -> None:
    ok, _, err = run("add_dup t remote")
    assert not ok
    assert err == "ERROR: add_dup is not available yet: duplication is not built yet\n"


def test_data_commands_need_use_first(run: Run) -> None:
    ok, _, err = run("get a b")
    assert not ok
    assert err == "ERROR: No app is using now\nUSAGE: use [app_name]\n"


def test_usage_errors_print_the_usage(run: Run) -> None:
    ok, _, err = run("hash onlyone")
    assert not ok
    assert err.splitlines() == [
        "ERROR: expect 2 argument(s), got 1",
        "USAGE: hash <hash_key> <sort_key>",
    ]


def test_bad_quoting_is_an_error(run: Run) -> None:
    ok, _, err = run('hash "a b')
    assert not ok and "ERROR: invalid argument(s): unbalanced double quote" in err


def test_help(run: Run) -> None:
    ok, out, _ = run("help")
    assert ok and out.startswith("Usage:\n") and "\tmulti_get_range " in out
    ok, out, _ = run("help copy_data")
    assert ok and out.startswith("copy_data: ")
    assert not run("help nosuch")[0]


def test_hash_without_a_table_prints_the_key_hash(run: Run) -> None:
    ok, out, _ = run('hash "h\\x00" s')
    assert ok
    assert out == f"key_hash  : {partition_hash(b'h' + bytes(1), b's')}\n"


def test_escape_all_and_timeout(run: Run) -> None:
    assert run("escape_all")[1] == "Current escape_all: false.\n"
    assert run("escape_all true") == (True, "OK\n", "")
    assert run("escape_all")[1] == "Current escape_all: true.\n"
    assert run("timeout")[1] == "Current timeout: 5000 ms.\n"
    assert run("timeout 250")[0]
    assert run("timeout")[1] == "Current timeout: 250 ms.\n"
    assert not run("timeout -1")[0]


def test_rdb_key_tools(run: Run) -> None:
    assert run("rdb_key_str2hex h s")[1] == '"00016873"\n'
    assert run("rdb_key_hex2str 00016873")[1] == 'hash key: "h"\nsort key: "s"\n'
    assert not run("rdb_key_hex2str 0005ab")[0]


def test_version(run: Run) -> None:
    ok, out, _ = run("version")
    assert ok and out.startswith("Pegasus Shell (pegasus-log ")


@pytest.mark.parametrize("line", ["exit", "quit"])
def test_exit(run: Run, line: str) -> None:
    with pytest.raises(ShellExit):
        run(line)


def test_use_without_a_table_is_a_usage_error(run: Run) -> None:
    ok, _, err = run("use")
    assert not ok and err.startswith("ERROR: Current app not specified.")


def test_cc_needs_a_meta_list(run: Run) -> None:
    assert not run("cc notanaddress")[0]
    assert run("cc 127.0.0.1:2") == (True, "The cluster meta list is: 127.0.0.1:2\n", "")
    assert run.session.client.metas == ["127.0.0.1:2"]
