"""``pegasus-log shell`` driven as a person would: the interactive shell in a
pseudo-terminal (pexpect), and the one-shot ``-e`` mode, against a real cluster.

Every test works on hash keys of its own (the cluster is shared with other tests), and
the bulk commands are narrowed to them with a hash key prefix filter.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from pegasus_log.client.sync import Client
from tests.cluster import StaticCluster
from tests.integration.shell_driver import PROMPT, TIMEOUT_S, Shell, one_shot

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("shell-home")


@pytest.fixture(scope="module")
def shell(cluster: StaticCluster, home: Path) -> Iterator[Shell]:
    sh = Shell(cluster.meta, home)
    yield sh
    assert sh.close() == 0


@pytest.fixture
def hk() -> str:
    return "shell-" + uuid.uuid4().hex[:12]


# ---- the interactive shell -------------------------------------------------------------


def test_banner_names_the_cluster(shell: Shell, cluster: StaticCluster) -> None:
    assert "Pegasus Shell" in shell.banner
    assert f"The cluster meta list is: {cluster.meta}" in shell.banner


def test_use_checks_the_table_exists(shell: Shell) -> None:
    out = shell.run("use no_such_table")
    assert "ERROR: query_cfg failed: ERR_OBJECT_NOT_FOUND" in out
    assert shell.run("use temp").startswith("OK")
    assert "Current app: temp" in shell.run("use")


def test_set_get_binary_values_with_escapes(shell: Shell, hk: str) -> None:
    shell.run("use temp")
    out = shell.run(f'set {hk} "s\\x00k" "v\\x01\\xff\\n\\"q\\" sp"')
    assert out.startswith("OK")
    assert re.search(r"app_id\s+: \d+\npartition_index : \d+\nserver\s+: 127\.0\.0\.1:\d+", out)
    out = shell.run(f'get {hk} "s\\x00k"')
    assert out.splitlines()[0] == '"v\\x01\\xFF\\n\\"q\\" sp"'
    # What get printed, pasted back, is the same value.
    shell.run(f"set {hk} copy {out.splitlines()[0]}")
    assert shell.run(f"get {hk} copy").splitlines()[0] == out.splitlines()[0]
    assert shell.run(f"get {hk} absent").splitlines()[0] == "Not found"
    # The same bytes, every one escaped.
    shell.run("escape_all true")
    assert shell.run(f"get {hk} copy").startswith('"\\x76\\x01\\xFF')
    shell.run("escape_all false")


def test_ttl_exist_incr_del(shell: Shell, hk: str) -> None:
    shell.run("use temp")
    shell.run(f"set {hk} t v 100")
    assert 90 <= int(shell.run(f"ttl {hk} t").splitlines()[0]) <= 100
    shell.run(f"set {hk} forever v")
    assert shell.run(f"ttl {hk} forever").startswith("Infinite")
    assert shell.run(f"exist {hk} t").startswith("True")
    assert shell.run(f"incr {hk} n 5").startswith("5")
    assert shell.run(f"incr {hk} n").startswith("6")
    assert shell.run(f"del {hk} t").startswith("OK")
    assert shell.run(f"exist {hk} t").startswith("False")


def test_multi_set_multi_get_range(shell: Shell, hk: str) -> None:
    shell.run("use temp")
    assert shell.run(f"multi_set {hk} a 1 b 2 c 3 d 4").startswith("OK")
    out = shell.run(f"multi_get_range {hk} a c")
    assert f'"{hk}" : "a" => "1"\n"{hk}" : "b" => "2"\n' in out
    assert '"c"' not in out.split("reverse: false")[1]
    assert "2 key-value pairs got, fetch completed." in out
    out = shell.run(f"multi_get_range {hk} a d --stop_inclusive true -n 3 -i")
    assert f'"{hk}" : "c"\n' in out and "=>" not in out
    assert "3 key-value pairs got" in out
    out = shell.run(f'multi_get_range {hk} "" "" -s postfix -y d')
    assert f'"{hk}" : "d" => "4"' in out and "1 key-value pairs got" in out
    out = shell.run(f"multi_get {hk}")
    assert "4 key-value pairs got, fetch completed." in out
    out = shell.run(f"multi_get_sortkeys {hk}")
    assert '"a"\n"b"\n"c"\n"d"\n' in out
    assert shell.run(f"count {hk}").startswith("4")
    assert shell.run(f"multi_del {hk} a b").startswith("2 key-value pairs deleted.")
    assert "OK, 2 sort keys deleted." in shell.run(f'multi_del_range {hk} "" ""')
    assert shell.run(f"count {hk}").startswith("0")


def test_scans(shell: Shell, hk: str) -> None:
    shell.run("use temp")
    shell.run(f'multi_set {hk} a 1 b 2 c "\\x00"')
    out = shell.run(f'hash_scan {hk} "" ""')
    assert f'"{hk}" : "c" => "\\x00"' in out and "3 key-value pairs got." in out
    out = shell.run(f"hash_scan {hk} a z -v exact -z 2 -d")
    assert re.search(rf'"{hk}" : "b" => "2" {{app_id=\d+, partition_index=\d+, server=', out)
    assert "1 key-value pairs got." in out
    out = shell.run(f"full_scan -h prefix -x {hk} -i")
    assert f'"{hk}" : "a"\n' in out and "3 key-value pairs got." in out
    assert "1 key-value pairs got." in shell.run(f"full_scan -h prefix -x {hk} -n 1")


def test_hash_names_the_partition(shell: Shell, hk: str) -> None:
    shell.run("use temp")
    out = shell.run(f"hash {hk} s")
    assert re.search(r"key_hash\s+: \d+", out)
    assert re.search(r"partition_count\s+: 8", out)
    assert re.search(r"primary\s+: 127\.0\.0\.1:\d+", out)


def test_check_and_set_and_mutate_interactively(shell: Shell, hk: str) -> None:
    shell.run("use temp")
    out = shell.run(f"check_and_set {hk} -c k -t not_exist -s k -v first -r")
    assert "Set succeed." in out and "Check value not exist." in out
    out = shell.run(f"check_and_set {hk} -c k -t not_exist -s k -v second -r")
    assert "Set failed, because check not passed." in out and 'Check value: "first"' in out
    # upstream's interactive loading of mutations
    shell.child.sendline(f"check_and_mutate {hk} -c k -t bytes_equal -o first")
    shell.child.expect_exact('"abort" to abort this command')
    shell.child.expect_exact(PROMPT)  # reading mutations, one a line
    assert (
        shell.run('set m "\\x00\\xff" 60').strip()
        == 'LOAD: set sortkey "m", value "\\x00\\xFF", ttl 60'
    )
    assert shell.run("del k").strip() == 'LOAD: del sortkey "k"'
    out = shell.run("ok")
    assert "Mutate succeed." in out and "mutation[1].type: DEL" in out
    assert shell.run(f"get {hk} m").startswith('"\\x00\\xFF"')
    # and the one-line form
    out = shell.run(f"check_and_mutate {hk} -c k -t not_exist -m 'set k again' -m 'del m'")
    assert "Mutate succeed." in out
    assert shell.run(f"get {hk} m").startswith("Not found")


def test_count_copy_clear(shell: Shell, cluster: StaticCluster, hk: str) -> None:
    rows = {
        (f"{hk}-{i}".encode(), f"s{j}".encode()): bytes([i, j, 0, 255])
        for i in range(25)
        for j in range(2)
    }
    with Client([cluster.meta]) as client:
        temp = client.open_table("temp")
        for (h, s), v in rows.items():
            temp.set(h, s, v)
    only = f"-h prefix -x {hk}-"
    shell.run("use temp")
    out = shell.run(f"count_data {only}")
    assert "Count done, total 50 rows." in out
    assert "INFO: split[7]:" in out
    out = shell.run(f"count_data -d {only}")
    assert "Count done, total 50 rows. (25 hash keys)" in out
    out = shell.run(f"count_data -p 0 {only}")
    assert "split_count = 1" in out
    out = shell.run(f"copy_data -c {cluster.meta} -a other {only}")
    assert "Copy done, total 50 rows." in out
    shell.run("use other")
    assert "Count done, total 50 rows." in shell.run(f"count_data {only}")
    assert shell.run(f"get {hk}-7 s1").startswith('"\\x07\\x01\\x00\\xFF"')
    out = shell.run(f"clear_data {only}")
    assert "Please specify --force" in out and "USAGE: clear_data" in out
    assert "Clear done, total 50 rows." in shell.run(f"clear_data -f {only}")
    assert "Count done, total 0 rows." in shell.run(f"count_data {only}")
    shell.run("use temp")
    assert "Count done, total 50 rows." in shell.run(f"count_data {only}")


def test_bad_commands_keep_the_shell_running(shell: Shell) -> None:
    out = shell.run("mget a b")
    assert "ERROR: invalid subcommand 'mget'" in out and "Did you mean: get, multi_get" in out
    out = shell.run("set onlyone")
    assert "ERROR: expect 3 to 4 argument(s), got 1" in out
    assert "USAGE: set <hash_key> <sort_key> <value> [ttl_in_seconds]" in out
    assert "ERROR: option --bogus not recognized" in shell.run("full_scan --bogus")
    assert "ERROR: invalid argument(s): unbalanced" in shell.run('get "open')
    out = shell.run("add_dup temp 127.0.0.1:1")
    assert "ERROR: add_dup is not available yet: duplication is not built yet" in out
    out = shell.run("propose -g 1.0 -p ASSIGN_PRIMARY -t 127.0.0.1:1 -n 127.0.0.1:1")
    assert "send proposal response: ERR_HANDLER_NOT_FOUND" in out  # the --static meta
    out = shell.run("rename a b")  # the --static meta serves routing only
    assert (
        "rename app failed, old_app_name(a), new_app_name(b), failed: ERR_HANDLER_NOT_FOUND" in out
    )
    assert "ERROR: start_dup is not available yet" in shell.run("start_dup t 1")
    assert shell.run("version").startswith("Pegasus Shell")


def test_completion_and_history(shell: Shell, home: Path, hk: str) -> None:
    shell.run("use temp")
    shell.run(f"set {hk} s v")
    shell.child.send("multi_get_so\t")
    shell.child.send(f" {hk}\r")
    shell.child.expect_exact(PROMPT)
    assert "1 sort keys got, fetch completed." in str(shell.child.before)
    history = (home / ".pegasus-log_history").read_text()
    assert f"multi_get_sortkeys {hk}" in history
    assert f"set {hk} s v" in history


# ---- one-shot mode ---------------------------------------------------------------------


def test_one_shot_runs_every_command(cluster: StaticCluster, home: Path, hk: str) -> None:
    r = one_shot(cluster.meta, f'use temp; set {hk} s "a;b"; get {hk} s', home)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["OK", "OK", '"a;b"']


def test_one_shot_fails_when_a_command_fails(cluster: StaticCluster, home: Path, hk: str) -> None:
    r = one_shot(cluster.meta, f"use temp; nosuch; set {hk} s v; get {hk} s", home)
    assert r.returncode == 1
    assert "ERROR: invalid subcommand 'nosuch'" in r.stderr
    assert r.stdout.splitlines()[-1] == '"v"'  # the rest still ran
    assert one_shot(cluster.meta, "get a b", home).returncode == 1  # no table in use


def test_piped_commands(cluster: StaticCluster, home: Path, hk: str) -> None:
    r = subprocess.run(
        [sys.executable, "-m", "pegasus_log.shell.main", "shell", "--meta", cluster.meta],
        input=f"use temp\nset {hk} s v\nfull_scan -h prefix -x {hk}\n",
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        env=dict(os.environ, HOME=str(home)),
        check=False,
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["OK", "OK", f'"{hk}" : "s" => "v"']
    assert ">>>" not in r.stdout
