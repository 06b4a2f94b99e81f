"""A standalone Apache ZooKeeper server on loopback, run as a child JVM.

Tests, CI and the onebox use it; the jars come from ``scripts/install_zookeeper.sh``.
Everything the server owns lives in one directory::

    <root>/zoo.cfg        generated configuration (client port kept across restarts)
    <root>/logback.xml    logging: INFO into <root>/log, rolled at a bounded size
    <root>/data/          snapshots and transaction logs (kept by restart)
    <root>/pid            pid of the running JVM
    <root>/log            the server's log
    <root>/stdout         what the JVM prints itself (crashes, OOM)

The pid file lets another process (``pegasus-log onebox stop``) stop a server that this
one started: the JVM runs in its own session and outlives its parent.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType

from pegasus_log.frozen import frozen

# Keep in step with ZOOKEEPER_VERSION in scripts/install_zookeeper.sh.
ZOOKEEPER_VERSION = "3.8.6"
MAIN_CLASS = "org.apache.zookeeper.server.quorum.QuorumPeerMain"
HOST = "127.0.0.1"

_FOUR_LETTER_WORDS = "srvr,ruok,stat,mntr,conf,cons"


class ZooKeeperServerError(RuntimeError):
    """The server could not be started or stopped (missing jars, bad port, crash)."""


@frozen
class ZooKeeperServerOptions:
    # 256 MiB: a onebox (ZooKeeper, 2 metas, 3 replicas) must stay under 2 GiB; an idle
    # ZooKeeper with a few thousand znodes has an RSS near 60 MiB.
    heap_mb_max: int = 256
    # Sessions may last 2 to 20 ticks: 1 s to 10 s. Short ticks keep meta failover fast on
    # loopback; ZooKeeper's own default (2000 ms) allows 4 s to 40 s.
    tick_ms: int = 500
    # Connections one client address may hold (ZooKeeper's default 60 is tight for a
    # onebox whose metas, tools and tests all come from 127.0.0.1).
    client_connections_max: int = 500
    # Snapshots and transaction logs kept by the hourly purge; bounds the data folder.
    snapshots_kept: int = 3
    purge_interval_hours: int = 1
    # The log rolls at this size, keeping this many old files.
    log_file_mb_max: int = 16
    log_files_kept: int = 3
    # fsync the transaction log before acknowledging (ZooKeeper's default, forceSync=yes):
    # a killed server loses nothing it acknowledged.
    force_sync: bool = True
    # A cold JVM answers in about 0.3 s here; 30 s leaves room for a loaded CI machine.
    start_timeout_s: float = 30.0
    # After SIGTERM ZooKeeper's shutdown hook usually exits in under 0.5 s.
    stop_timeout_s: float = 10.0
    poll_interval_s: float = 0.05


def default_lib_dir() -> Path:
    """Where ``scripts/install_zookeeper.sh`` puts the jars (same environment variables)."""
    explicit = os.environ.get("PEGASUS_LOG_ZOOKEEPER_LIB")
    if explicit:
        return Path(explicit)
    cache = os.environ.get("PEGASUS_LOG_CACHE") or str(Path.home() / ".cache" / "pegasus-log")
    return Path(cache) / "zookeeper" / ZOOKEEPER_VERSION / "lib"


def _default_java() -> str:
    java_home = os.environ.get("JAVA_HOME")
    if java_home and (Path(java_home) / "bin" / "java").exists():
        return str(Path(java_home) / "bin" / "java")
    found = shutil.which("java")
    if found is None:
        raise ZooKeeperServerError("java is not on PATH (Java 17 runs ZooKeeper)")
    return found


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def _configured_port(config: Path) -> int | None:
    try:
        text = config.read_text()
    except OSError:
        return None
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and key.strip() == "clientPort" and value.strip().isdigit():
            return int(value.strip())
    return None


def _pid_alive(pid: int) -> bool:
    """True while the process exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    # The state letter follows the parenthesised command name.
    return stat.rpartition(")")[2].split()[0] != "Z"


class ZooKeeperServer:
    """One standalone ZooKeeper server on 127.0.0.1, its files under ``root``.

    ``port=None`` keeps the port of an earlier run in ``root`` or else picks a free one;
    the port then stays fixed for this object, across ``restart``.
    """

    def __init__(
        self,
        root: Path,
        *,
        port: int | None = None,
        options: ZooKeeperServerOptions | None = None,
        lib_dir: Path | None = None,
        java: str | None = None,
    ) -> None:
        self.root = Path(root).resolve()
        self.options = options or ZooKeeperServerOptions()
        self.lib_dir = lib_dir or default_lib_dir()
        self._java = java
        self.port = port or _configured_port(self.config_path) or _free_port()
        self._proc: subprocess.Popen[bytes] | None = None

    # -- where things are ---------------------------------------------------------------

    @property
    def address(self) -> str:
        """``127.0.0.1:<port>``, what a ZooKeeper client is given as its hosts."""
        return f"{HOST}:{self.port}"

    @property
    def config_path(self) -> Path:
        return self.root / "zoo.cfg"

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def log_path(self) -> Path:
        return self.root / "log"

    @property
    def pid_path(self) -> Path:
        return self.root / "pid"

    # -- life cycle ---------------------------------------------------------------------

    def start(self) -> None:
        """Start the server and wait until it serves; a running server is left alone."""
        if self.pid() is not None:
            self._wait_ready()
            return
        jar = self.lib_dir / f"zookeeper-{ZOOKEEPER_VERSION}.jar"
        if not jar.exists():
            raise ZooKeeperServerError(
                f"{jar} is missing: run scripts/install_zookeeper.sh to install ZooKeeper"
            )
        self._check_port_free()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._write_config()
        out = open(self.root / "stdout", "ab")  # noqa: SIM115 - handed to the child
        try:
            self._proc = subprocess.Popen(
                self._argv(),
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=self.root,
                start_new_session=True,
            )
        finally:
            out.close()
        self.pid_path.write_text(str(self._proc.pid))
        try:
            self._wait_ready()
        except ZooKeeperServerError:
            # A JVM whose main thread died can linger without serving: leave nothing.
            self.kill()
            raise

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after ``stop_timeout_s``. Data stays in ``data_dir``."""
        self._signal_and_wait(signal.SIGTERM, self.options.stop_timeout_s)

    def kill(self) -> None:
        """SIGKILL at once: a crash. Data stays in ``data_dir``."""
        self._signal_and_wait(signal.SIGKILL, self.options.stop_timeout_s)

    def restart(self) -> None:
        """Stop (SIGTERM) and start again on the same port and data."""
        self.stop()
        self.start()

    def pid(self) -> int | None:
        """The pid of the running server, or None."""
        if self._proc is not None:
            if self._proc.poll() is None:
                return self._proc.pid
            self._proc = None
            return None
        pid = self._pid_from_file()
        if pid is None or not _pid_alive(pid) or not self._is_ours(pid):
            return None
        return pid

    def is_running(self) -> bool:
        return self.pid() is not None

    def rss_bytes(self) -> int:
        """Resident memory of the JVM, 0 when it is not running."""
        pid = self.pid()
        if pid is None:
            return 0
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        except OSError:
            return 0
        return 0

    def four_letter_word(self, word: str, *, timeout_s: float = 2.0) -> str:
        """Send one of the whitelisted four-letter words (srvr, ruok, stat, mntr, ...)."""
        assert word in _FOUR_LETTER_WORDS.split(","), word
        chunks: list[bytes] = []
        with socket.create_connection((HOST, self.port), timeout=timeout_s) as s:
            s.sendall(word.encode())
            while chunk := s.recv(65536):
                chunks.append(chunk)
        return b"".join(chunks).decode(errors="replace")

    def log_tail(self, lines: int = 30) -> str:
        text = ""
        for path in (self.root / "stdout", self.log_path):
            try:
                text += path.read_text(errors="replace")
            except OSError:
                continue
        return "\n".join(text.splitlines()[-lines:])

    def __enter__(self) -> ZooKeeperServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- inside -------------------------------------------------------------------------

    def _argv(self) -> list[str]:
        o = self.options
        return [
            self._java or _default_java(),
            f"-Xmx{o.heap_mb_max}m",
            "-Xms16m",
            # The serial collector has the smallest footprint; ZooKeeper's heap is tiny.
            "-XX:+UseSerialGC",
            "-XX:+ExitOnOutOfMemoryError",
            "-Djava.net.preferIPv4Stack=true",
            "-Dzookeeper.jmx.log4j.disable=true",
            f"-Dlogback.configurationFile={self.root / 'logback.xml'}",
            "-cp",
            f"{self.lib_dir}/*",
            MAIN_CLASS,
            str(self.config_path),
        ]

    def _write_config(self) -> None:
        o = self.options
        config = {
            "tickTime": o.tick_ms,
            "initLimit": 10,
            "syncLimit": 5,
            "dataDir": self.data_dir,
            "clientPort": self.port,
            "clientPortAddress": HOST,
            "maxClientCnxns": o.client_connections_max,
            "admin.enableServer": "false",
            "4lw.commands.whitelist": _FOUR_LETTER_WORDS,
            "autopurge.snapRetainCount": o.snapshots_kept,
            "autopurge.purgeInterval": o.purge_interval_hours,
            "forceSync": "yes" if o.force_sync else "no",
        }
        self.config_path.write_text("".join(f"{k}={v}\n" for k, v in config.items()))
        (self.root / "logback.xml").write_text(_LOGBACK.format(log=self.log_path, o=o))

    def _check_port_free(self) -> None:
        """Another server on our port would answer our readiness probe: refuse early."""
        with socket.socket() as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind((HOST, self.port))
            except OSError as e:
                raise ZooKeeperServerError(f"port {self.address} is taken: {e}") from e

    def _pid_from_file(self) -> int | None:
        try:
            return int(self.pid_path.read_text().strip())
        except (OSError, ValueError):
            return None

    def _is_ours(self, pid: int) -> bool:
        """Guards against a recycled pid: the process must run our configuration."""
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            return False
        return str(self.config_path).encode() in cmdline

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.options.start_timeout_s
        last = "no answer yet"
        while time.monotonic() < deadline:
            if self.pid() is None:
                raise ZooKeeperServerError(
                    f"ZooKeeper exited while starting; log tail:\n{self.log_tail()}"
                )
            try:
                answer = self.four_letter_word("srvr", timeout_s=1.0)
            except OSError as e:
                last = str(e)
            else:
                if "Mode:" in answer:
                    return
                last = answer.strip()
            time.sleep(self.options.poll_interval_s)
        raise ZooKeeperServerError(
            f"ZooKeeper on {self.address} did not serve within "
            f"{self.options.start_timeout_s} s ({last}); log tail:\n{self.log_tail()}"
        )

    def _signal_and_wait(self, sig: signal.Signals, timeout_s: float) -> None:
        pid = self.pid()
        if pid is None:
            self.pid_path.unlink(missing_ok=True)
            return
        os.kill(pid, sig)
        if not self._wait_exit(pid, timeout_s) and sig != signal.SIGKILL:
            os.kill(pid, signal.SIGKILL)
            self._wait_exit(pid, timeout_s)
        if self.pid() is not None:
            raise ZooKeeperServerError(f"ZooKeeper (pid {pid}) survived SIGKILL")
        self.pid_path.unlink(missing_ok=True)

    def _wait_exit(self, pid: int, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._proc is not None:
                try:
                    self._proc.wait(self.options.poll_interval_s)
                except subprocess.TimeoutExpired:
                    continue
                self._proc = None
                return True
            if not _pid_alive(pid):
                return True
            time.sleep(self.options.poll_interval_s)
        return False


_LOGBACK = """\
<configuration>
  <appender name="FILE" class="ch.qos.logback.core.rolling.RollingFileAppender">
    <file>{log}</file>
    <encoder><pattern>%d{{ISO8601}} %-5level [%thread] %logger{{1}} - %msg%n</pattern></encoder>
    <rollingPolicy class="ch.qos.logback.core.rolling.FixedWindowRollingPolicy">
      <fileNamePattern>{log}.%i</fileNamePattern>
      <minIndex>1</minIndex>
      <maxIndex>{o.log_files_kept}</maxIndex>
    </rollingPolicy>
    <triggeringPolicy class="ch.qos.logback.core.rolling.SizeBasedTriggeringPolicy">
      <maxFileSize>{o.log_file_mb_max}MB</maxFileSize>
    </triggeringPolicy>
  </appender>
  <root level="INFO"><appender-ref ref="FILE"/></root>
</configuration>
"""
