"""Price history: our stored points when they cover the window, else the CLOB (the simulator, or a
stand-in at the network edge that logs every call) fetched once for many concurrent callers on two
instances, cached, with a fallback to stored points when the upstream fails."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import sys
from decimal import Decimal

import httpx
import pytest

from markets.models import PricePoint
from simulator.testing import run_simulator
from tests.conftest import daphne_argv, free_port, wait_until

TOKEN = "71321045679252212594626385532706912750332728571942532289631379312455583992563"


@pytest.fixture
def stack(service_env, spawn):
    """(two daphne base URLs, the CLOB stand-in's base URL)."""
    stub_port = free_port()
    spawn("clob-stub", [sys.executable, "-m", "tests.api.clob_stub", str(stub_port)], service_env)
    stub = f"http://127.0.0.1:{stub_port}"
    wait_until(lambda: httpx.get(f"{stub}/calls", timeout=2).status_code == 200, 20)
    env = {**service_env, "CLOB_URL": f"{stub}/clob"}
    bases = []
    for _ in range(2):
        port = free_port()
        spawn(f"daphne-ph-{port}", daphne_argv(port), env)
        bases.append(f"http://127.0.0.1:{port}")
    for base in bases:
        wait_until(lambda base=base: httpx.get(f"{base}/health", timeout=2).status_code == 200, 40)
    return bases, stub


def calls(stub: str) -> list[dict[str, str]]:
    return httpx.get(f"{stub}/calls", timeout=5).json()


async def fire(urls: list[str]) -> list[httpx.Response]:
    async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=len(urls))) as client:
        return await asyncio.gather(*(client.get(url) for url in urls))


def test_upstream_history_is_fetched_once_for_concurrent_callers(stack) -> None:
    bases, stub = stack
    urls = [f"{bases[i % 2]}/api/price-history/{TOKEN}?interval=1w&fidelity=2" for i in range(40)]
    responses = asyncio.run(fire(urls))
    assert {r.status_code for r in responses} == {200}
    bodies = [r.json() for r in responses]
    assert all(b == bodies[0] for b in bodies)
    body = bodies[0]
    # 1w enforces a 5-minute minimum fidelity; the malformed upstream point is dropped.
    assert (body["interval"], body["fidelity"], body["source"], body["cached"]) == ("1w", 5, "upstream", False)
    assert body["pointCount"] == 10 and body["history"][0] == {"timestamp": 1_700_000_000, "price": 0.5}
    assert body["history"][1]["timestamp"] - body["history"][0]["timestamp"] == 300
    assert calls(stub) == [{"market": TOKEN, "interval": "1w", "fidelity": "5"}]

    again = httpx.get(f"{bases[1]}/api/price-history/{TOKEN}", params={"interval": "1w"}, timeout=10).json()
    assert again["history"] == body["history"] and len(calls(stub)) == 1  # served from the Redis cache

    batch = httpx.post(f"{bases[0]}/api/price-history/batch",
                       json={"clobTokenIds": [TOKEN, "123"], "interval": "1w"}, timeout=10).json()
    assert batch["fidelity"] == 5 and batch["histories"][TOKEN] == body["history"]
    assert len(batch["histories"]["123"]) == 10 and len(calls(stub)) == 2


def test_stored_points_serve_covered_windows_and_upstream_failures(stack) -> None:
    bases, stub = stack
    now = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)
    PricePoint.objects.bulk_create(
        [PricePoint(token_id="555", minute=now - dt.timedelta(minutes=m), price=Decimal("0.4") + Decimal(m) / 1000)
         for m in range(70)]
    )
    covered = httpx.get(f"{bases[0]}/api/price-history/555", params={"interval": "1h", "fidelity": "10"},
                        timeout=10).json()
    assert covered["source"] == "db" and calls(stub) == []
    stamps = [p["timestamp"] for p in covered["history"]]
    assert stamps == sorted(stamps) and 6 <= len(stamps) <= 8  # one point per 10-minute bucket of the hour
    assert covered["history"][-1] == {"timestamp": int(now.timestamp()), "price": 0.4}

    # The 6 h window is not covered by 70 minutes of points: ask upstream.
    wider = httpx.get(f"{bases[0]}/api/price-history/555", params={"interval": "6h"}, timeout=10).json()
    assert wider["source"] == "upstream" and len(calls(stub)) == 1

    PricePoint.objects.create(token_id="999123", minute=now, price=Decimal("0.25"))
    failed = httpx.get(f"{bases[1]}/api/price-history/999123", params={"interval": "1d"}, timeout=10).json()
    assert (failed["source"], failed["cached"]) == ("fallback", True)
    assert failed["history"] == [{"timestamp": int(now.timestamp()), "price": 0.25}]


def _open_token(gamma_url: str) -> str:
    for event in httpx.get(f"{gamma_url}/events", params={"closed": "false", "limit": 50}, timeout=10).json():
        for market in event.get("markets", []):
            if not market.get("closed"):
                return json.loads(market["clobTokenIds"])[0]
    raise AssertionError("the simulator listed no open market")


def test_history_from_the_simulated_clob_and_its_failures(service_env, spawn) -> None:
    with run_simulator(seed=3, rate=20, extra_args=("--games", "6")) as sim:
        port = free_port()
        spawn("daphne-ph-sim", daphne_argv(port), {**service_env, "CLOB_URL": sim.clob_url})
        base = f"http://127.0.0.1:{port}"
        wait_until(lambda: httpx.get(f"{base}/health", timeout=2).status_code == 200, 40)
        token = _open_token(sim.gamma_url)

        body = httpx.get(f"{base}/api/price-history/{token}", params={"interval": "1d", "fidelity": "30"},
                         timeout=15).json()
        assert (body["source"], body["cached"], body["fidelity"]) == ("upstream", False, 30)
        stamps = [p["timestamp"] for p in body["history"]]
        assert stamps == sorted(set(stamps)) and body["pointCount"] == len(stamps) > 0
        assert all(0 <= p["price"] <= 1 for p in body["history"])
        assert stamps[-1] - stamps[0] <= 86400 + 1800

        sim.control("POST", "/_sim/faults", {"http_error_rate": 1.0})
        failed = httpx.get(f"{base}/api/price-history/{token}", params={"interval": "6h"}, timeout=30).json()
        assert (failed["source"], failed["cached"], failed["history"]) == ("fallback", True, [])
