"""ZooKeeperServer: the real JVM started, probed, restarted, stopped from elsewhere."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pegasus_log.meta.state.zookeeper import ZooKeeperStore, ZooKeeperStoreOptions
from pegasus_log.services.zookeeper import (
    ZOOKEEPER_VERSION,
    ZooKeeperServer,
    ZooKeeperServerError,
    ZooKeeperServerOptions,
)

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]


def test_version_is_pinned_in_one_place_each() -> None:
    script = (ROOT / "scripts" / "install_zookeeper.sh").read_text()
    pinned = re.search(r"^ZOOKEEPER_VERSION=(\S+)$", script, re.M)
    assert pinned is not None and pinned.group(1) == ZOOKEEPER_VERSION


def test_session_server_answers(zookeeper: ZooKeeperServer) -> None:
    assert zookeeper.is_running()
    assert zookeeper.four_letter_word("ruok") == "imok"
    srvr = zookeeper.four_letter_word("srvr")
    assert f"Zookeeper version: {ZOOKEEPER_VERSION}" in srvr
    assert "Mode: standalone" in srvr
    # -Xmx256m keeps an idle server far below the onebox budget.
    assert 16 << 20 < zookeeper.rss_bytes() < 400 << 20
    assert zookeeper.address == f"127.0.0.1:{zookeeper.port}"


def test_restart_keeps_port_and_data(tmp_path: Path) -> None:
    server = ZooKeeperServer(tmp_path / "zk")
    server.start()
    try:
        store = ZooKeeperStore(ZooKeeperStoreOptions(hosts=server.address))
        store.start()
        store.create("/kept", b"across restarts")
        store.close()
        first_pid, port = server.pid(), server.port
        server.start()  # running already: left alone
        assert server.pid() == first_pid

        server.restart()
        assert server.port == port and server.pid() not in (None, first_pid)
        store = ZooKeeperStore(ZooKeeperStoreOptions(hosts=server.address))
        store.start()
        assert store.read("/kept").data == b"across restarts"
        store.close()

        # Another object on the same folder (another process: `onebox stop`) finds it.
        other = ZooKeeperServer(tmp_path / "zk")
        assert other.port == port and other.pid() == server.pid()
        other.stop()
        assert not server.is_running() and not other.is_running()
        assert not (tmp_path / "zk" / "pid").exists()
        assert server.rss_bytes() == 0
    finally:
        server.kill()


def test_refuses_a_taken_port(zookeeper: ZooKeeperServer, tmp_path: Path) -> None:
    with pytest.raises(ZooKeeperServerError, match="taken"):
        ZooKeeperServer(tmp_path / "zk", port=zookeeper.port).start()


def test_missing_jars_say_how_to_install(tmp_path: Path) -> None:
    server = ZooKeeperServer(tmp_path / "zk", lib_dir=tmp_path / "nothing")
    with pytest.raises(ZooKeeperServerError, match=r"install_zookeeper\.sh"):
        server.start()


def test_a_server_that_never_serves_is_not_left_behind(
    zookeeper: ZooKeeperServer, tmp_path: Path
) -> None:
    # Without snappy-java the JVM stays up but its main thread dies: it never serves.
    lib = tmp_path / "lib"
    lib.mkdir()
    for jar in zookeeper.lib_dir.glob("*.jar"):
        if not jar.name.startswith("snappy-java"):
            (lib / jar.name).symlink_to(jar)
    server = ZooKeeperServer(
        tmp_path / "zk", lib_dir=lib, options=ZooKeeperServerOptions(start_timeout_s=2.0)
    )
    with pytest.raises(ZooKeeperServerError, match="did not serve"):
        server.start()
    assert not server.is_running()
