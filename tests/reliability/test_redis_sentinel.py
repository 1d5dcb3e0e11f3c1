"""Redis high availability: REDIS_URL names a Sentinel group and every Redis user follows a failover.

A real primary, replica and three Sentinels run on loopback (tests/reliability/servers.py). The primary
is SIGKILLed; the Sentinels promote the replica; daphne, the WebSocket feed, the fenced lease writer,
the prices hash, Celery broker/results, RedBeat, the cache and the channel layer keep working without
a restart, and the fencing token rejects the writer that lost its lease in the failover.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import httpx
import orjson
import pytest

from core.redisurl import (
    celery_sentinel_options,
    celery_url,
    channel_layer_host,
    redbeat_settings,
    redis_url_parse,
)
from tests.conftest import REPO, wait_until
from tests.realtime.helpers import daphne_start
from tests.reliability.helpers import WsRecorder, json_lines
from tests.reliability.servers import sentinel_group

RECOVERY_BOUND_S = 15.0


def test_sentinel_url_parsing_feeds_every_client_config() -> None:
    target = redis_url_parse("redis+sentinel://:s3cret@h1:26379,h2:26380,[::1]:26381/mymaster/3?sentinel_password=sp")
    assert target.sentinels == (("h1", 26379), ("h2", 26380), ("::1", 26381))
    assert (target.master, target.db, target.password, target.sentinel_password) == ("mymaster", 3, "s3cret", "sp")
    assert celery_url(target) == ";".join(
        f"sentinel://:s3cret@{h}:{p}/3" for h, p in (("h1", 26379), ("h2", 26380), ("::1", 26381))
    )
    assert celery_sentinel_options(target) == {"master_name": "mymaster", "sentinel_kwargs": {"password": "sp"}}
    host = channel_layer_host(target)
    assert host["master_name"] == "mymaster" and host["db"] == 3 and host["password"] == "s3cret"
    url, options = redbeat_settings(target)
    assert url.startswith("redis-sentinel://") and options["service_name"] == "mymaster" and options["db"] == 3
    plain = redis_url_parse("redis://127.0.0.1:6379/0")
    assert not plain.is_sentinel and celery_url(plain) == plain.url and channel_layer_host(plain) == plain.url


@pytest.mark.parametrize(
    "url",
    [
        "redis+sentinel://h1:26379/",  # no master name
        "redis+sentinel://h1/mymaster",  # no port
        "redis+sentinel://h1:99999/mymaster",  # port out of range
        "redis+sentinel://h1:26379,/mymaster",  # empty host
        "redis+sentinel://h1:26379/mymaster/x",  # db not an integer
        "redis+sentinel://h1:26379/mymaster/0?tls=yes",  # unknown option
        "sentinel://h1:26379/mymaster",  # kombu's form is derived, not accepted as REDIS_URL
    ],
)
def test_malformed_redis_urls_are_rejected(url: str) -> None:
    with pytest.raises(ValueError):
        redis_url_parse(url)


def test_settings_stop_the_process_on_a_malformed_sentinel_url() -> None:
    env = {**os.environ, "REDIS_URL": "redis+sentinel://h1:26379,h2/mymaster", "DEBUG": "1"}
    probe = "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='mevu.settings'; django.setup()"
    result = subprocess.run([sys.executable, "-c", probe], env=env, cwd=REPO, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 2
    assert "invalid REDIS_URL" in result.stderr and "'h2' must be host:port" in result.stderr


def _probe(env: dict[str, str]) -> dict[str, object]:
    result = subprocess.run([sys.executable, "-m", "tests.reliability.redis_users_probe"], env=env, cwd=REPO,
                            capture_output=True, text=True, timeout=90)
    lines = json_lines(result.stdout)
    assert lines, result.stderr[-2000:]
    return lines[-1]


def test_failover_keeps_every_redis_user_working_and_fencing_holds(service_env, spawn) -> None:
    with sentinel_group() as group:
        env = {**service_env, "REDIS_URL": group.url()}
        users = _probe(env)
        assert users.pop("primary_port") == group.primary.port
        assert set(users.values()) == {"ok"}, users

        port, _daphne = daphne_start(spawn, env, "daphne-sentinel")
        base = f"http://127.0.0.1:{port}"
        assert httpx.get(f"{base}/api/health", timeout=10).json()["redis"]["ok"] is True
        writer_argv = [sys.executable, "-m", "tests.reliability.lease_writer", "--lease", "chaos",
                       "--game", "g-failover", "--token-id", "tok-failover", "--ttl-ms", "3000"]
        with WsRecorder(f"ws://127.0.0.1:{port}/ws/games?protocol=2") as ws:
            writer_a = spawn("writer-a", writer_argv, env)
            wait_until(lambda: any(e["game"].get("writer") for _, e in ws.events()), 20)
            token_a = ws.events()[-1][1]["game"]["writer"]
            # B stands by, as a second stream worker does: running, polling for the lease A holds. The recovery
            # measured below is Redis' failover and the lease's expiry, not a process start on a busy machine.
            writer_b = spawn("writer-b", writer_argv, env)
            wait_until(lambda: [line["kind"] for line in json_lines(writer_b.log())] == ["started"], 30)

            # A pauses (GC, SIGSTOP) holding the lease; then the primary dies.
            writer_a.proc.send_signal(signal.SIGSTOP)
            group.primary.kill()
            killed_at = time.time()

            wait_until(lambda: group.master_port() == group.replica.port, RECOVERY_BOUND_S)
            promoted_s = time.time() - killed_at
            first_b = wait_until(
                lambda: next((at for at, e in ws.events(killed_at) if e["game"].get("writer", 0) > token_a), None),
                RECOVERY_BOUND_S + 5,
            )
            recovered_s = float(first_b) - killed_at  # type: ignore[arg-type]
            assert recovered_s < RECOVERY_BOUND_S

            # A wakes up believing it still holds the lease: its write must be rejected, not applied.
            writer_a.proc.send_signal(signal.SIGCONT)
            wait_until(lambda: any(line["kind"] == "stale" for line in json_lines(writer_a.log())), 10)
            time.sleep(1.0)

            tokens = [e["game"]["writer"] for _, e in ws.events() if "writer" in e["game"]]
            assert tokens == sorted(tokens), "events from two writers interleaved"
            a_lines = json_lines(writer_a.log())
            stale_at = next(line["t"] for line in a_lines if line["kind"] == "stale")
            resumed_writes = [line for line in a_lines if line["kind"] == "write" and line["t"] > killed_at]
            assert resumed_writes == [], "the paused writer wrote with its old token after the failover"
            assert stale_at > killed_at
            b_writes = [line for line in json_lines(writer_b.log()) if line["kind"] == "write"]
            assert b_writes and all(line["token"] > token_a for line in b_writes)

        # Health and every Redis user through the promoted replica, with no process restarted.
        wait_until(lambda: httpx.get(f"{base}/api/health", timeout=10).status_code == 200, 10)
        users = _probe(env)
        assert users.pop("primary_port") == group.replica.port
        assert set(users.values()) == {"ok"}, users
        price = orjson.loads(group.replica.client().hget(f"{env['REDIS_PREFIX']}:prices", "tok-failover"))
        assert price["writer"] > token_a
        assert _daphne.proc.poll() is None and writer_b.proc.poll() is None
        print(f"\nFAILOVER promoted_s={promoted_s:.2f} recovered_s={recovered_s:.2f}")
