"""The blocking Pegasus client: the asyncio client run on a private event-loop thread.

with Client(["127.0.0.1:34601"]) as client:
    table = client.open_table("temp")
    table.set(b"h", b"s", b"v")
    assert table.get(b"h", b"s") == b"v"
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Generator, Iterable, Iterator, Sequence
from typing import Any, TypeVar

from pegasus_log.client.admin import DEFAULT_TIMEOUT_S as ADMIN_TIMEOUT_S
from pegasus_log.client.admin import AsyncAdmin, TableInfo
from pegasus_log.client.aio import (
    DEFAULT_TIMEOUT_S,
    AsyncClient,
    AsyncTable,
    CheckAndSetResult,
    MultiGetOptions,
    Mutation,
    ScanItem,
    Scanner,
    ScanOptions,
)
from pegasus_log.client.routing import Route
from pegasus_log.rpc import admin as a
from pegasus_log.rpc.messages import CasCheckType
from pegasus_log.rpc.thrift import Gpid

T = TypeVar("T")


class Client:
    """``backup_request_delay_s``: as ``AsyncClient``'s."""

    def __init__(
        self,
        metas: list[str],
        *,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        backup_request_delay_s: float | None = None,
    ) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="pegasus-log-client", daemon=True
        )
        self._thread.start()
        self._aio = self.run(self._make(metas, timeout_s, backup_request_delay_s))

    @staticmethod
    async def _make(
        metas: list[str], timeout_s: float, backup_request_delay_s: float | None = None
    ) -> AsyncClient:
        return AsyncClient(
            metas, timeout_s=timeout_s, backup_request_delay_s=backup_request_delay_s
        )

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result()

    def open_table(self, name: str) -> Table:
        return Table(self, self.run(self._aio.open_table(name)))

    def route(self, name: str) -> Route:
        """The table's routing as the meta answers it now (not cached)."""
        return self.run(self._aio.route(name))

    def close(self) -> None:
        if self._loop.is_closed():
            return
        self.run(self._aio.close())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Table:
    """Blocking twins of every AsyncTable operation."""

    def __init__(self, client: Client, table: AsyncTable) -> None:
        self._client = client
        self._t = table
        self.name = table.name

    @property
    def partition_count(self) -> int:
        return self._t.partition_count

    def get(self, hash_key: bytes, sort_key: bytes) -> bytes | None:
        return self._client.run(self._t.get(hash_key, sort_key))

    def set(self, hash_key: bytes, sort_key: bytes, value: bytes, *, ttl_seconds: int = 0) -> None:
        self._client.run(self._t.set(hash_key, sort_key, value, ttl_seconds=ttl_seconds))

    def delete(self, hash_key: bytes, sort_key: bytes) -> None:
        self._client.run(self._t.delete(hash_key, sort_key))

    def exist(self, hash_key: bytes, sort_key: bytes) -> bool:
        return self._client.run(self._t.exist(hash_key, sort_key))

    def ttl(self, hash_key: bytes, sort_key: bytes) -> int:
        return self._client.run(self._t.ttl(hash_key, sort_key))

    def incr(
        self, hash_key: bytes, sort_key: bytes, increment: int, *, ttl_seconds: int = 0
    ) -> int:
        return self._client.run(
            self._t.incr(hash_key, sort_key, increment, ttl_seconds=ttl_seconds)
        )

    def multi_set(
        self,
        hash_key: bytes,
        values: dict[bytes, bytes] | Sequence[tuple[bytes, bytes]],
        *,
        ttl_seconds: int = 0,
    ) -> None:
        self._client.run(self._t.multi_set(hash_key, values, ttl_seconds=ttl_seconds))

    def multi_get(
        self,
        hash_key: bytes,
        sort_keys: Iterable[bytes] = (),
        *,
        max_count: int = 0,
        max_size: int = 0,
        no_value: bool = False,
    ) -> tuple[list[tuple[bytes, bytes]], bool]:
        return self._client.run(
            self._t.multi_get(
                hash_key, sort_keys, max_count=max_count, max_size=max_size, no_value=no_value
            )
        )

    def multi_get_range(
        self,
        hash_key: bytes,
        start_sort_key: bytes,
        stop_sort_key: bytes,
        options: MultiGetOptions | None = None,
    ) -> tuple[list[tuple[bytes, bytes]], bool]:
        return self._client.run(
            self._t.multi_get_range(hash_key, start_sort_key, stop_sort_key, options)
        )

    def multi_del(self, hash_key: bytes, sort_keys: Iterable[bytes]) -> int:
        return self._client.run(self._t.multi_del(hash_key, sort_keys))

    def sortkey_count(self, hash_key: bytes) -> int:
        return self._client.run(self._t.sortkey_count(hash_key))

    def check_and_set(
        self,
        hash_key: bytes,
        check_sort_key: bytes,
        check_type: CasCheckType,
        check_operand: bytes,
        set_sort_key: bytes,
        set_value: bytes,
        *,
        ttl_seconds: int = 0,
        return_check_value: bool = False,
    ) -> CheckAndSetResult:
        return self._client.run(
            self._t.check_and_set(
                hash_key,
                check_sort_key,
                check_type,
                check_operand,
                set_sort_key,
                set_value,
                ttl_seconds=ttl_seconds,
                return_check_value=return_check_value,
            )
        )

    def check_and_mutate(
        self,
        hash_key: bytes,
        check_sort_key: bytes,
        check_type: CasCheckType,
        check_operand: bytes,
        mutations: Sequence[Mutation],
        *,
        return_check_value: bool = False,
    ) -> CheckAndSetResult:
        return self._client.run(
            self._t.check_and_mutate(
                hash_key,
                check_sort_key,
                check_type,
                check_operand,
                mutations,
                return_check_value=return_check_value,
            )
        )

    def batch_get(self, keys: Sequence[tuple[bytes, bytes]]) -> list[bytes | None]:
        return self._client.run(self._t.batch_get(keys))

    def scan(
        self,
        hash_key: bytes,
        start_sort_key: bytes = b"",
        stop_sort_key: bytes = b"",
        options: ScanOptions | None = None,
    ) -> Generator[ScanItem, None, None]:
        """Records of one hash key in sort-key order (``close()`` it to stop early: the
        server's scanner is cleared)."""
        return self._iterate(self._t.get_scanner(hash_key, start_sort_key, stop_sort_key, options))

    def full_scan(
        self, max_split: int = 0, options: ScanOptions | None = None
    ) -> Iterator[ScanItem]:
        """Every record of the table, partition by partition (unordered)."""
        for scanner in self._t.get_unordered_scanners(max_split, options):
            yield from self._iterate(scanner)

    def count_scan(self, max_split: int = 0, options: ScanOptions | None = None) -> int:
        """Records counted server-side (only_return_count) over the whole table."""
        total = 0
        base = options or ScanOptions()
        opts = ScanOptions(**{**_fields(base), "only_return_count": True})
        for scanner in self._t.get_unordered_scanners(max_split, opts):
            for _ in self._iterate(scanner):
                pass
            total += scanner.count
        return total

    def _iterate(self, scanner: Scanner) -> Generator[ScanItem, None, None]:
        try:
            while True:
                batch = self._client.run(scanner.next_batch())
                if batch is None:
                    return
                yield from batch
        finally:
            self._client.run(scanner.close())


def _fields(o: ScanOptions) -> dict[str, Any]:
    return {name: getattr(o, name) for name in o.__dataclass_fields__}


class Admin:
    """Blocking table and cluster administration (see pegasus_log.client.admin)."""

    def __init__(self, metas: list[str], *, timeout_s: float = ADMIN_TIMEOUT_S) -> None:
        self._runner = Client(metas, timeout_s=timeout_s)
        self._aio = self._runner.run(self._make(metas, timeout_s))

    @staticmethod
    async def _make(metas: list[str], timeout_s: float) -> AsyncAdmin:
        return AsyncAdmin(metas, timeout_s=timeout_s)

    def create_table(self, name: str, **kwargs: Any) -> int:
        return self._runner.run(self._aio.create_table(name, **kwargs))

    def drop_table(self, name: str, *, reserve_seconds: int | None = None) -> None:
        self._runner.run(self._aio.drop_table(name, reserve_seconds=reserve_seconds))

    def recall_table(self, app_id: int, new_name: str = "") -> TableInfo:
        return self._runner.run(self._aio.recall_table(app_id, new_name))

    def rename_table(self, old_name: str, new_name: str) -> None:
        self._runner.run(self._aio.rename_table(old_name, new_name))

    def start_manual_compact(self, name: str, **kwargs: Any) -> None:
        self._runner.run(self._aio.start_manual_compact(name, **kwargs))

    def query_manual_compact(self, name: str) -> int:
        return self._runner.run(self._aio.query_manual_compact(name))

    def start_recovery(self, nodes: list[str], **kwargs: Any) -> tuple[str, str]:
        return self._runner.run(self._aio.start_recovery(nodes, **kwargs))

    def list_tables(self, *, include_dropped: bool = False) -> list[TableInfo]:
        return self._runner.run(self._aio.list_tables(include_dropped=include_dropped))

    def set_app_envs(self, name: str, envs: dict[str, str]) -> None:
        self._runner.run(self._aio.set_app_envs(name, envs))

    def get_app_envs(self, name: str) -> dict[str, str]:
        return self._runner.run(self._aio.get_app_envs(name))

    def del_app_envs(self, name: str, keys: list[str]) -> None:
        self._runner.run(self._aio.del_app_envs(name, keys))

    def clear_app_envs(self, name: str, prefix: str = "") -> None:
        self._runner.run(self._aio.clear_app_envs(name, prefix))

    def list_nodes(self) -> list[tuple[str, bool]]:
        return self._runner.run(self._aio.list_nodes())

    def cluster_info(self) -> dict[str, str]:
        return self._runner.run(self._aio.cluster_info())

    def get_meta_level(self) -> str:
        return self._runner.run(self._aio.get_meta_level())

    def set_meta_level(self, level: str) -> str:
        return self._runner.run(self._aio.set_meta_level(level))

    def ddd_diagnose(self, app_id: int = -1, partition_index: int = -1) -> list[a.DddPartitionInfo]:
        return self._runner.run(self._aio.ddd_diagnose(app_id, partition_index))

    def get_max_replica_count(self, name: str) -> int:
        return self._runner.run(self._aio.get_max_replica_count(name))

    def set_max_replica_count(self, name: str, count: int) -> tuple[int, str]:
        return self._runner.run(self._aio.set_max_replica_count(name, count))

    def get_atomic_idempotent(self, name: str) -> bool:
        return self._runner.run(self._aio.get_atomic_idempotent(name))

    def set_atomic_idempotent(self, name: str, enabled: bool) -> tuple[bool, str]:
        return self._runner.run(self._aio.set_atomic_idempotent(name, enabled))

    def propose(
        self, gpid: Gpid, config_type: str, target: str, node: str, *, force: bool = False
    ) -> None:
        self._runner.run(self._aio.propose(gpid, config_type, target, node, force=force))

    def balance(self, gpid: Gpid, kind: str, source: str, destination: str) -> None:
        self._runner.run(self._aio.balance(gpid, kind, source, destination))

    def remote_command(self, node: str, command: str, arguments: Sequence[str] = ()) -> str:
        return self._runner.run(self._aio.remote_command(node, command, arguments))

    def remote_commands(
        self, nodes: Sequence[str], command: str, arguments: Sequence[str] = ()
    ) -> list[tuple[bool, str]]:
        return self._runner.run(self._aio.remote_commands(nodes, command, arguments))

    def detect_hotkey(
        self,
        node: str,
        gpid: tuple[int, int],
        *,
        kind: a.HotkeyType,
        action: a.DetectAction,
    ) -> a.DetectHotkeyResponse:
        return self._runner.run(self._aio.detect_hotkey(node, gpid, kind=kind, action=action))

    def query_disk_info(self, node: str, app_name: str = "") -> a.QueryDiskInfoResponse:
        return self._runner.run(self._aio.query_disk_info(node, app_name))

    def close(self) -> None:
        self._runner.run(self._aio.close())
        self._runner.close()

    def __enter__(self) -> Admin:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
