"""A concurrent get / set / check_and_set workload on a few keys that records every
operation's invocation, response and outcome for the linearizability checker.

Each client is its own ``AsyncClient`` (own connections, own routing cache) and has one
operation in flight at a time. Every written value is unique ("c<client>-<seq>"), so a
read names the write it saw. Any error from a write is recorded as UNKNOWN: the client
retries inside its deadline, so even a final refusal may follow an attempt that reached
a primary and was applied. A failed read constrains nothing and is recorded UNKNOWN too.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from pegasus_log.client.aio import AsyncClient, AsyncTable
from pegasus_log.client.errors import PegasusError
from pegasus_log.frozen import frozen
from pegasus_log.lincheck.history import Kind, Operation, Outcome
from pegasus_log.rpc import messages as m
from pegasus_log.transport.connection import CallFailed

Clock = Callable[[], int]  # nanoseconds, monotonic

# Errors after which an operation's outcome is unknown. Anything else is a bug and
# propagates.
_OPERATION_ERRORS = (PegasusError, CallFailed, OSError, TimeoutError)


@frozen
class WorkloadOptions:
    clients: int = 6
    keys: tuple[bytes, ...] = (b"lin-0", b"lin-1", b"lin-2")
    sort_key: bytes = b"s"
    read_share: float = 0.5
    check_and_set_share: float = 0.25  # the rest are sets
    # Per-operation deadline of each client; must cover a failover (lease 3 s + grace).
    op_timeout_s: float = 4.0
    # After an error, a client waits this long before its next operation, so a client
    # facing a dead primary does not spin.
    pause_after_error_s: float = 0.05
    # Upper bound on operations per client, whatever the duration: keeps the history
    # small enough for the checker (porcupine is exponential in concurrency, linear-ish
    # in length for a register).
    max_ops_per_client: int = 5000
    # Attempts of the closing read of each key (each recorded) before giving up.
    final_read_attempts: int = 20


@dataclass
class Recorder:
    """Runs one operation on a table and appends its record."""

    clock: Clock
    sort_key: bytes
    ops: list[Operation] = field(default_factory=list)

    async def get(self, client: int, table: AsyncTable, key: bytes) -> Operation:
        invoke = self.clock()
        try:
            value = await table.get(key, self.sort_key)
        except _OPERATION_ERRORS as e:
            return self._add(client, key, Kind.GET, invoke, None, Outcome.UNKNOWN, error=e)
        read = None if value is None else value.decode()
        return self._add(client, key, Kind.GET, invoke, self.clock(), Outcome.OK, value=read)

    async def set(self, client: int, table: AsyncTable, key: bytes, value: str) -> Operation:
        invoke = self.clock()
        try:
            await table.set(key, self.sort_key, value.encode())
        except _OPERATION_ERRORS as e:
            return self._add(
                client, key, Kind.SET, invoke, None, Outcome.UNKNOWN, value=value, error=e
            )
        return self._add(client, key, Kind.SET, invoke, self.clock(), Outcome.OK, value=value)

    async def check_and_set(
        self, client: int, table: AsyncTable, key: bytes, expected: str | None, value: str
    ) -> Operation:
        if expected is None:
            check, operand = m.CasCheckType.CT_VALUE_NOT_EXIST, b""
        else:
            check, operand = m.CasCheckType.CT_VALUE_BYTES_EQUAL, expected.encode()
        invoke = self.clock()
        try:
            result = await table.check_and_set(
                key, self.sort_key, check, operand, self.sort_key, value.encode()
            )
        except _OPERATION_ERRORS as e:
            return self._add(
                client,
                key,
                Kind.CHECK_AND_SET,
                invoke,
                None,
                Outcome.UNKNOWN,
                value=value,
                expected=expected,
                error=e,
            )
        outcome = Outcome.OK if result.set_succeed else Outcome.FAIL
        return self._add(
            client,
            key,
            Kind.CHECK_AND_SET,
            invoke,
            self.clock(),
            outcome,
            value=value,
            expected=expected,
        )

    def _add(
        self,
        client: int,
        key: bytes,
        kind: Kind,
        invoke: int,
        returned: int | None,
        outcome: Outcome,
        *,
        value: str | None = None,
        expected: str | None = None,
        error: BaseException | None = None,
    ) -> Operation:
        op = Operation(
            client=client,
            key=key.decode(),
            kind=kind,
            invoke_ns=invoke,
            return_ns=returned,
            outcome=outcome,
            value=value,
            expected=expected,
            error="" if error is None else f"{type(error).__name__}: {error}",
        )
        self.ops.append(op)
        return op


async def _client_loop(
    index: int,
    *,
    metas: list[str],
    table_name: str,
    options: WorkloadOptions,
    rng: random.Random,
    recorder: Recorder,
    should_stop: Callable[[], bool],
) -> None:
    client = AsyncClient(metas, timeout_s=options.op_timeout_s)
    seen: dict[bytes, str | None] = {}  # the last value this client saw per key
    try:
        table = await client.open_table(table_name)
        for seq in range(options.max_ops_per_client):
            if should_stop():
                return
            key = rng.choice(options.keys)
            draw = rng.random()
            value = f"c{index}-{seq}"
            if draw < options.read_share:
                op = await recorder.get(index, table, key)
            elif draw < options.read_share + options.check_and_set_share:
                op = await recorder.check_and_set(index, table, key, seen.get(key), value)
            else:
                op = await recorder.set(index, table, key, value)
            if op.outcome == Outcome.UNKNOWN:
                await asyncio.sleep(options.pause_after_error_s)
            elif op.kind == Kind.GET or op.outcome == Outcome.OK:
                seen[key] = op.value
    finally:
        await client.close()


async def run_workload(
    metas: list[str],
    table_name: str,
    *,
    options: WorkloadOptions,
    rng: random.Random,
    should_stop: Callable[[], bool],
    clock: Clock = time.monotonic_ns,
) -> list[Operation]:
    """Runs ``options.clients`` clients until ``should_stop()``, then reads every key
    once more (the closing reads that pin down each key's final value). Returns the
    history."""
    recorder = Recorder(clock, options.sort_key)
    seeds = [rng.randrange(2**32) for _ in range(options.clients)]
    await asyncio.gather(
        *(
            _client_loop(
                i,
                metas=metas,
                table_name=table_name,
                options=options,
                rng=random.Random(seeds[i]),
                recorder=recorder,
                should_stop=should_stop,
            )
            for i in range(options.clients)
        )
    )
    await final_reads(metas, table_name, options=options, recorder=recorder)
    return recorder.ops


async def final_reads(
    metas: list[str], table_name: str, *, options: WorkloadOptions, recorder: Recorder
) -> None:
    """After every client stopped: one successful read per key, by a fresh client."""
    client = AsyncClient(metas, timeout_s=options.op_timeout_s)
    final = options.clients  # its own client id
    try:
        table = await client.open_table(table_name)
        for key in options.keys:
            for _ in range(options.final_read_attempts):
                op = await recorder.get(final, table, key)
                if op.outcome == Outcome.OK:
                    break
                await asyncio.sleep(options.pause_after_error_s)
            else:
                raise RuntimeError(f"no closing read of {key!r} succeeded")
    finally:
        await client.close()
