"""The porcupine-based checker (tools/lincheck) on hand-made histories: it must accept
linearizable ones and reject each kind of violation the fault tests look for."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from pegasus_log.lincheck.checker import Verdict, check_history
from pegasus_log.lincheck.history import Kind, Operation, Outcome, read_history, write_history
from tests.unit.lincheck_binary import lincheck_binary

GET, SET, CAS = Kind.GET, Kind.SET, Kind.CHECK_AND_SET
OK, FAIL, UNKNOWN = Outcome.OK, Outcome.FAIL, Outcome.UNKNOWN


@pytest.fixture(scope="module")
def binary() -> Path:
    return lincheck_binary()


def op(
    client: int,
    kind: Kind,
    invoke: int,
    ret: int | None,
    *,
    value: str | None = None,
    expected: str | None = None,
    outcome: Outcome = OK,
    key: str = "k",
) -> Operation:
    return Operation(client, key, kind, invoke, ret, outcome, value, expected)


def verdict(binary: Path, tmp_path: Path, ops: list[Operation]) -> Verdict:
    path = tmp_path / "history.jsonl"
    write_history(path, ops)
    report = check_history(path, binary=binary)
    print(report.output)
    return report.verdict


def test_concurrent_writes_reads_and_unknowns_are_linearizable(
    binary: Path, tmp_path: Path
) -> None:
    ops = [
        op(0, SET, 0, 10, value="a"),
        op(1, GET, 5, 15, value="a"),  # overlaps the set: may see it
        op(2, GET, 1, 3, value=None),  # before the set took effect
        op(1, CAS, 20, 30, expected="a", value="b"),
        op(2, CAS, 22, 28, expected="a", value="c", outcome=FAIL),  # lost the race to b
        op(0, SET, 25, None, value="d", outcome=UNKNOWN),  # took effect, late
        op(2, SET, 26, None, value="e", outcome=UNKNOWN),  # never took effect
        op(3, GET, 31, 35, value="b"),
        op(3, GET, 36, 40, value="d"),
        op(3, GET, 41, 42, value=None, key="other"),
        op(3, GET, 43, None, outcome=UNKNOWN, key="other"),
        op(4, CAS, 50, 60, expected=None, value="x", key="other"),
        op(4, GET, 61, 62, value="x", key="other"),
    ]
    assert verdict(binary, tmp_path, ops) == Verdict.LINEARIZABLE


def test_stale_read_after_a_completed_write(binary: Path, tmp_path: Path) -> None:
    ops = [
        op(0, SET, 0, 10, value="a"),
        op(0, SET, 11, 20, value="b"),
        op(1, GET, 21, 25, value="a"),  # b was acknowledged before this read began
    ]
    assert verdict(binary, tmp_path, ops) == Verdict.NOT_LINEARIZABLE


def test_lost_acknowledged_write(binary: Path, tmp_path: Path) -> None:
    ops = [
        op(0, SET, 0, 10, value="a"),
        op(1, SET, 20, 30, value="b"),
        op(2, SET, 25, None, value="c", outcome=UNKNOWN),
        # the closing read finds a value older than the acknowledged b
        op(3, GET, 100, 110, value="a"),
    ]
    assert verdict(binary, tmp_path, ops) == Verdict.NOT_LINEARIZABLE


def test_write_that_was_never_made_is_read(binary: Path, tmp_path: Path) -> None:
    ops = [op(0, SET, 0, 10, value="a"), op(1, GET, 20, 30, value="ghost")]
    assert verdict(binary, tmp_path, ops) == Verdict.NOT_LINEARIZABLE


def test_check_and_set_succeeding_on_a_wrong_value(binary: Path, tmp_path: Path) -> None:
    ops = [
        op(0, SET, 0, 10, value="a"),
        op(1, CAS, 20, 30, expected="z", value="b"),  # the value was a, not z
    ]
    assert verdict(binary, tmp_path, ops) == Verdict.NOT_LINEARIZABLE


def test_check_and_set_failing_although_it_wrote(binary: Path, tmp_path: Path) -> None:
    # What a client that retries a check_and_set after a timeout can report: the first
    # attempt wrote b, the retry's check saw b and failed.
    ops = [
        op(0, SET, 0, 10, value="a"),
        op(1, CAS, 20, 50, expected="a", value="b", outcome=FAIL),
        op(2, GET, 60, 70, value="b"),
    ]
    assert verdict(binary, tmp_path, ops) == Verdict.NOT_LINEARIZABLE


def test_unknown_write_cannot_take_effect_before_its_invocation(
    binary: Path, tmp_path: Path
) -> None:
    ops = [
        op(1, GET, 0, 5, value="late"),
        op(0, SET, 10, None, value="late", outcome=UNKNOWN),
    ]
    assert verdict(binary, tmp_path, ops) == Verdict.NOT_LINEARIZABLE


def _report(binary: Path, tmp_path: Path, ops: list[Operation]) -> tuple[Verdict, str]:
    path = tmp_path / "history.jsonl"
    write_history(path, ops)
    report = check_history(path, binary=binary)
    print(report.output)
    return report.verdict, report.output


def test_unknown_writes_nobody_saw_are_left_out_of_a_passing_check(
    binary: Path, tmp_path: Path
) -> None:
    ops = [
        op(0, SET, 0, 10, value="a"),
        op(1, SET, 5, None, value="x", outcome=UNKNOWN),  # nobody reads x
        op(2, CAS, 6, None, expected="a", value="y", outcome=UNKNOWN),  # nor y
        op(3, GET, 20, 30, value="a"),
    ]
    found, output = _report(binary, tmp_path, ops)
    assert found == Verdict.LINEARIZABLE
    assert "2 writes of unknown outcome whose value nobody saw left out" in output


def test_an_unknown_write_nobody_saw_may_still_explain_a_failed_check(
    binary: Path, tmp_path: Path
) -> None:
    # Only w can have made the check of "a" fail: without it the kept operations do not
    # linearize, so the whole history is checked, and it does.
    ops = [
        op(0, SET, 0, 10, value="a"),
        op(1, SET, 20, None, value="w", outcome=UNKNOWN),
        op(2, CAS, 30, 40, expected="a", value="z", outcome=FAIL),
    ]
    found, output = _report(binary, tmp_path, ops)
    assert found == Verdict.LINEARIZABLE
    assert "nobody saw" not in output


def test_only_the_unseen_writes_near_where_the_check_got_stuck_are_put_back(
    binary: Path, tmp_path: Path
) -> None:
    s = 1_000_000_000  # ns
    ops = [
        op(0, SET, 0, 10, value="a"),
        op(1, SET, 1 * s, None, value="x1", outcome=UNKNOWN),  # nobody reads x1
        op(3, GET, 2 * s, 2 * s + 100, value="a"),
        op(0, SET, 3 * s, 3 * s + 100, value="b"),
        op(2, SET, 20 * s, None, value="w", outcome=UNKNOWN),  # nor w
        # Only an unseen write can have made this check fail. The check without them
        # gets stuck here; the writes invoked in the 5 s before are none, in the 20 s
        # before just w, which explains it: x1 stays left out.
        op(4, CAS, 30 * s, 31 * s, expected="b", value="z", outcome=FAIL),
    ]
    found, output = _report(binary, tmp_path, ops)
    assert found == Verdict.LINEARIZABLE
    assert "1 writes of unknown outcome whose value nobody saw left out" in output


def test_leaving_unseen_writes_out_does_not_hide_a_stale_read(binary: Path, tmp_path: Path) -> None:
    ops = [
        op(0, SET, 0, 10, value="a"),
        op(0, SET, 11, 20, value="b"),
        op(2, SET, 12, None, value="c", outcome=UNKNOWN),
        op(1, GET, 21, 25, value="a"),
    ]
    assert verdict(binary, tmp_path, ops) == Verdict.NOT_LINEARIZABLE


def test_an_unseen_write_after_the_stale_read_is_not_put_back_forever(
    binary: Path, tmp_path: Path
) -> None:
    # The only unseen write comes after the point where the check gets stuck, so it
    # cannot explain it: the checker must go on to the whole check (it once widened its
    # window for good here).
    ops = [
        op(0, SET, 0, 10, value="a"),
        op(0, SET, 11, 20, value="b"),
        op(1, GET, 21, 25, value="a"),
        op(2, SET, 30, None, value="late", outcome=UNKNOWN),
    ]
    assert verdict(binary, tmp_path, ops) == Verdict.NOT_LINEARIZABLE


def test_bad_input_exits_2(binary: Path, tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"client": 0, "key": "k", "op": "put", "invoke_ns": 0, "outcome": "ok"}\n')
    report = check_history(path, binary=binary)
    assert report.verdict == Verdict.BAD_INPUT
    assert 'op "put"' in report.output


def test_html_visualization_on_request(binary: Path, tmp_path: Path) -> None:
    path = tmp_path / "history.jsonl"
    write_history(path, [op(0, SET, 0, 10, value="a"), op(1, GET, 20, 30, value="b")])
    html = tmp_path / "history.html"
    report = check_history(path, binary=binary, html=html)
    assert report.verdict == Verdict.NOT_LINEARIZABLE
    assert 'key "k": NOT linearizable' in report.output
    assert html.read_text().lstrip().lower().startswith("<!doctype html>")


def test_json_array_input_and_round_trip(binary: Path, tmp_path: Path) -> None:
    ops = [
        op(0, CAS, 0, 10, expected=None, value="a"),
        op(1, GET, 11, None, outcome=UNKNOWN),
        op(1, GET, 12, 20, value="a"),
    ]
    lines = tmp_path / "history.jsonl"
    write_history(lines, ops)
    assert read_history(lines) == ops
    array = tmp_path / "history.json"
    array.write_text("[" + ",".join(lines.read_text().splitlines()) + "]")
    done = subprocess.run([str(binary), str(array)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "3 operations" in done.stdout


def test_go_unit_tests_of_the_checker(binary: Path) -> None:
    """tools/lincheck's own Go tests (its helpers, below what a history can reach)."""
    done = subprocess.run(
        ["go", "test", "./..."],
        cwd=binary.parents[1],
        capture_output=True,
        text=True,
        env={**os.environ, "GOFLAGS": "-mod=readonly -buildvcs=false", "GOTOOLCHAIN": "local"},
    )
    assert done.returncode == 0, done.stdout + done.stderr
