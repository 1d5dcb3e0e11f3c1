"""Scraping and log-reading helpers shared by the observability tests."""

from __future__ import annotations

import re

import httpx
import orjson
from prometheus_client.parser import text_string_to_metric_families

from core.logs import BASE_KEYS

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(url: str) -> tuple[Samples, httpx.Response]:
    """GET a Prometheus endpoint (fresh connection) and parse it as the text exposition format."""
    response = httpx.get(url, timeout=10, headers={"Connection": "close"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    samples: Samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples, response


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def total(samples: Samples, name: str, **labels: str) -> float:
    """Sum of the samples of `name` whose labels include `labels`."""
    wanted = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and wanted <= ls)


# Human-facing start-up banner printed by the supervisor (not a log line).
BANNER_PREFIXES = ("MEVU live board:", "  ", "mevu: APP_MODE=")


# The bundled simulator (a stand-in for Polymarket in dev and tests, never run in production) logs text.
SIMULATOR_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} [A-Z]+ simulator")


def json_log_lines(text: str, *, simulator: bool = False) -> list[dict[str, object]]:
    """Every line of a JSON-mode process log, parsed; fails on any line that is neither JSON nor banner."""
    lines: list[dict[str, object]] = []
    for raw in text.splitlines():
        if not raw.strip() or raw.startswith(BANNER_PREFIXES):
            continue
        if simulator and SIMULATOR_LINE.match(raw):
            continue
        assert raw.startswith("{"), f"non-JSON log line: {raw!r}"
        payload = orjson.loads(raw)
        assert list(payload)[: len(BASE_KEYS)] == list(BASE_KEYS), payload
        lines.append(payload)
    return lines
