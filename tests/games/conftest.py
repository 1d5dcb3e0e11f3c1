"""Fixtures shared by the games tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from games import parse


@pytest.fixture
def parsed(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Ids of the events the games sync parses (the real parser, counted)."""
    seen: list[str] = []
    real: Callable[..., Any] = parse.event_parse

    def counting(raw: dict[str, Any], **kwargs: Any) -> Any:
        seen.append(str(raw.get("id")))
        return real(raw, **kwargs)

    monkeypatch.setattr(parse, "event_parse", counting)
    return seen
