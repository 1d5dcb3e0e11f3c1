"""JSON log lines carry a stable set of keys, whichever process or library wrote them."""

from __future__ import annotations

import logging
import os
import socket

import orjson

from core.logs import BASE_KEYS, JsonFormatter


def _record(msg: str, *args: object, exc_info: object = None, **extra: object) -> logging.LogRecord:
    logger = logging.getLogger("mevu.test")
    return logger.makeRecord("mevu.test", logging.WARNING, __file__, 1, msg, args, exc_info, extra=extra)


def test_json_line_has_the_stable_keys_in_order_and_the_extra_ids(monkeypatch) -> None:
    monkeypatch.setenv("MEVU_ROLE", "stream")
    line = JsonFormatter().format(_record("price for %s", "tok1", game_id="123", token_id="tok1", fence=7))
    assert "\n" not in line
    payload = orjson.loads(line)
    assert list(payload)[: len(BASE_KEYS)] == list(BASE_KEYS)
    assert payload["level"] == "WARNING" and payload["logger"] == "mevu.test"
    assert payload["event"] == "price for tok1"
    assert payload["role"] == "stream"
    assert payload["instance"] == f"{socket.gethostname()}:{os.getpid()}"
    assert payload["time"].endswith("+00:00") and "T" in payload["time"]
    assert (payload["game_id"], payload["token_id"], payload["fence"]) == ("123", "tok1", 7)


def test_extras_never_overwrite_base_keys_and_odd_values_still_serialize() -> None:
    payload = orjson.loads(JsonFormatter().format(_record("x", level="fake", role="fake", obj={1, 2})))
    assert payload["level"] == "WARNING" and payload["extra_level"] == "fake"
    assert payload["role"] != "fake" and payload["extra_role"] == "fake"
    assert payload["obj"] in ("{1, 2}", "{2, 1}")


def test_tracebacks_stay_on_one_line_as_exc() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        import sys

        line = JsonFormatter().format(_record("failed", exc_info=sys.exc_info()))
    assert "\n" not in line
    payload = orjson.loads(line)
    assert "ValueError: boom" in payload["exc"] and payload["event"] == "failed"
