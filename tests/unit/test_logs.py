from __future__ import annotations

import json
import logging

from pegasus_log.observability.logs import JsonFormatter


def test_json_lines_carry_level_logger_message_and_exception() -> None:
    fmt = JsonFormatter("replica")
    record = logging.LogRecord("pegasus_log.x", logging.WARNING, __file__, 1, "a %s", ("b",), None)
    entry = json.loads(fmt.format(record))
    assert entry["level"] == "WARNING" and entry["msg"] == "a b" and entry["role"] == "replica"
    assert entry["ts"].endswith("Z") and "exc" not in entry
    try:
        raise ValueError("boom")
    except ValueError:
        import sys

        record.exc_info = sys.exc_info()
    assert "ValueError: boom" in json.loads(fmt.format(record))["exc"]
