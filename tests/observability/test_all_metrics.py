"""One APP_MODE=all instance against the simulator: the numbers an operator watches all move, in one
scrape of `/metrics` — prices flowing, upstream age, lease holder and token, clients and their updates,
Celery runs, ingestion."""

from __future__ import annotations

import sys
import threading
import time

import httpx
import orjson
from websockets.sync.client import connect

from tests.conftest import free_port, wait_until
from tests.observability.helpers import json_log_lines, scrape, total, value


def test_all_mode_metrics_show_prices_flowing_to_clients(service_env, spawn) -> None:
    port = free_port()
    env = {**service_env, "APP_MODE": "all", "WORKER_COUNT": "1", "PORT": str(port), "BIND_HOST": "127.0.0.1",
           "LOG_FORMAT": "json", "MEVU_UPSTREAM": "sim", "SIM_ARGS": "--games 6 --rate 200 --seed 5",
           "SYNC_LEAGUES_EVERY_S": "5", "SYNC_TEAMS_EVERY_S": "5", "SYNC_GAMES_EVERY_S": "5",
           "SYNC_LIVE_GAMES_EVERY_S": "5", "STREAM_WATCHDOG_EVERY_S": "1"}
    serve = spawn("obs-all", [sys.executable, "manage.py", "serve"], env)
    base = f"http://127.0.0.1:{port}"
    url = f"{base}/metrics"

    def prices_flowing() -> dict | None:
        samples, _ = scrape(url)
        flowing = (value(samples, "mevu_lease_held", lease="stream") == 1
                   and value(samples, "mevu_upstream_subscribed_tokens") > 0
                   and total(samples, "mevu_upstream_frames_total", source="clob") > 0
                   and total(samples, "mevu_realtime_events_published_total") > 0)
        return samples if flowing else None

    wait_until(prices_flowing, 120, 1.0)

    frames: list[dict] = []
    stop = threading.Event()

    def read_socket() -> None:
        with connect(f"ws://127.0.0.1:{port}/ws/games", max_size=None) as ws:
            while not stop.is_set():
                try:
                    frames.append(orjson.loads(ws.recv(timeout=0.5)))
                except TimeoutError:
                    continue

    reader = threading.Thread(target=read_socket, daemon=True)
    reader.start()
    with httpx.Client(timeout=30) as client, client.stream("GET", f"{base}/api/games/stream") as sse:
        assert sse.status_code == 200
        wait_until(lambda: len(frames) >= 3, 30)
        samples = wait_until(lambda: (s := scrape(url)[0]) and value(s, "mevu_ws_connections", route="ws/games") == 1
                             and value(s, "mevu_sse_connections") == 1 and s, 20)
    stop.set()
    reader.join(10)

    # Prices flow: upstream messages by type, a live socket heard from recently, tokens subscribed.
    assert value(samples, "mevu_upstream_frames_total", source="clob", type="book") > 0
    assert value(samples, "mevu_upstream_frames_total", source="clob", type="price_change") > 0
    ages = [time.time() - v for (name, labels), v in samples.items()
            if name == "mevu_upstream_last_frame_timestamp_seconds" and ("source", "clob") in labels]
    assert ages and min(ages) < 30, ages
    # Who holds the lease, with which token: the holder's own gauge agrees with Redis.
    fence = value(samples, "mevu_lease_cluster_fencing_token", lease="stream")
    assert fence >= 1 and value(samples, "mevu_lease_fencing_token", lease="stream") == fence
    assert value(samples, "mevu_lease_cluster_held", lease="stream") == 1
    # The holder renews every lease TTL / 3: wait for its first renewal (the stream may have just started).
    wait_until(lambda: total(scrape(url)[0], "mevu_lease_renewals_total", lease="stream", result="ok") > 0, 20)
    # Clients and how fast they get updates.
    assert value(samples, "mevu_ws_frames_sent_total", route="ws/games") >= 3
    assert value(samples, "mevu_realtime_delivery_lag_seconds_count") > 0
    # Background work.
    assert value(samples, "mevu_celery_tasks_running", task="markets.tasks.stream_run") == 1
    assert total(samples, "mevu_celery_task_runs_total", task="games.tasks.sync_bootstrap", state="SUCCESS") > 0
    assert total(samples, "mevu_ingest_upserts_total") > 0
    assert total(samples, "mevu_upstream_http_requests_total", api="gamma") > 0

    # The socket closed: the connection gauge follows.
    after = wait_until(lambda: (s := scrape(url)[0]) and value(s, "mevu_ws_connections", route="ws/games") == 0
                       and value(s, "mevu_sse_connections") == 0 and s, 20)
    assert value(after, "mevu_ws_connections_opened_total", route="ws/games") == 1

    # Every process of the instance logged JSON lines with the stable keys.
    roles = {line["role"] for line in json_log_lines(serve.log(), simulator=True)}
    assert {"supervisor", "http", "stream", "beat"} <= roles, roles
