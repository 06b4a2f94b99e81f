"""The scenario language: what it accepts, and how a failing step reports itself."""

from __future__ import annotations

import pytest

from pegasus_log.sim.scenario import ScenarioError, parse, run_scenario

START = """
option nodes=3
start
wait config ballot=3 primary=r1 secondaries=r2,r3
"""


def test_parse_words_args_and_comments() -> None:
    [c] = parse("  drop prepare from=r1 to=r2 count=2   # lost twice\n\n# only a comment\n")
    assert (c.line, c.verb, c.words, c.args) == (
        1,
        "drop",
        ("prepare",),
        {"from": "r1", "to": "r2", "count": "2"},
    )


def test_a_failed_expectation_names_file_line_and_state() -> None:
    with pytest.raises(ScenarioError) as info:
        run_scenario(START + "expect config ballot=9\n", name="case.txt")
    text = str(info.value)
    assert "case.txt:5: expect config ballot=9" in text
    assert "meta 1.0: ballot 3 primary r1" in text


def test_a_wait_times_out() -> None:
    with pytest.raises(ScenarioError, match="still waiting"):
        run_scenario(START + "wait state r2 status=pri timeout=0.3\n")


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("frobnicate r1", "unknown command"),
        ("drop prepar from=r1 to=r2", "unknown message kind"),
        ("wait sunrise", "cannot wait for"),
        ("wait state r1 status=boss", "unknown status"),
        ("wait reply 1", "no request 1"),
        ("option nodes=4", "options go before start"),
    ],
)
def test_malformed_lines_are_reported(line: str, message: str) -> None:
    with pytest.raises(ScenarioError, match=message):
        run_scenario(START + line + "\n")


def test_commands_need_a_start() -> None:
    with pytest.raises(ScenarioError, match="missing 'start'"):
        run_scenario("write 1\n")
