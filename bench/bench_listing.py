"""Benchmark: the warm `/api/games/frontend` hot path against anchors measured in the same run.

All targets serve the SAME response bytes (the listing rendered from a seeded database):

  listing      the real application (mevu.asgi:application) on one daphne process: warm hits are
               answered by the ASGI fast path (api/fastpath.py)
  listing_quiet  the same with LOG_LEVEL=WARNING (no per-request access-log line): where the time goes
  django       anchor (a): a trivial (sync) Django view returning those bytes, through the same Django
               middleware stack and the same outer ASGI middlewares, on one daphne process
  django_async the same with an `async def` view; the ratio uses the faster of the two
  bare_asgi    anchor (b): a bare ASGI app returning those bytes on one daphne process
  nginx_static anchor (c): nginx (1 worker) serving the bytes as a static file
  microcache   the listing through an nginx (1 worker) microcache in front of the `listing` daphne

Load: wrk, 2 threads, 32 connections. Run from the repository root:

    .venv/bin/python bench/bench_listing.py [--duration 8] [--rounds 3]

Needs PostgreSQL and Redis (DATABASE_URL / REDIS_URL; a scratch database is created and dropped),
`wrk` and `nginx` on PATH.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from django.http import HttpRequest, HttpResponse
from django.urls import path

REPO = Path(__file__).resolve().parent.parent
LISTING = "/api/games/frontend"
CONNECTIONS = 32
TARGETS = ("django", "django_async", "bare_asgi", "listing", "listing_quiet", "nginx_static", "microcache")
THREADS = 2

# --- The anchor applications (imported by the daphne children) -------------------------------------------


def _body() -> bytes:
    return Path(os.environ["BENCH_LISTING_BODY"]).read_bytes()


def trivial_view(request: HttpRequest) -> HttpResponse:
    return HttpResponse(_TRIVIAL_BODY, content_type="application/json")


async def trivial_view_async(request: HttpRequest) -> HttpResponse:
    return HttpResponse(_TRIVIAL_BODY, content_type="application/json")


_VIEW = trivial_view_async if os.environ.get("BENCH_DJANGO_VIEW") == "async" else trivial_view
urlpatterns = [path(LISTING.lstrip("/"), _VIEW)]
_TRIVIAL_BODY = b""


class _TrivialDjango:
    """Django with this module as URLconf, wrapped exactly like mevu.asgi wraps the real application."""

    def __init__(self) -> None:
        self.app: Any = None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if self.app is None:
            global _TRIVIAL_BODY
            os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mevu.settings")
            from django.core.asgi import get_asgi_application

            django_app = get_asgi_application()
            from django.conf import settings

            settings.ROOT_URLCONF = __name__
            from core.instance import InstanceIdMiddleware
            from ops.metrics_asgi import MetricsMiddleware

            _TRIVIAL_BODY = _body()
            self.app = MetricsMiddleware(InstanceIdMiddleware(django_app))
        await self.app(scope, receive, send)


class _BareAsgi:
    def __init__(self) -> None:
        self.body: bytes | None = None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        if self.body is None:
            self.body = _body()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(self.body)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": self.body})


trivial_django_app = _TrivialDjango()
bare_asgi_app = _BareAsgi()

# --- Orchestration ---------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_http(url: str, timeout_s: float = 60) -> bytes:
    import httpx

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            response = httpx.get(url, timeout=5)
            if response.status_code == 200:
                return response.content
        time.sleep(0.2)
    raise SystemExit(f"bench: {url} did not answer 200 within {timeout_s}s")


@contextlib.contextmanager
def scratch_database(base_url: str) -> Iterator[str]:
    import psycopg

    name = f"mevu_bench_listing_{os.getpid()}"
    parts = urlsplit(base_url)
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit(parts._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def seed(games: int) -> None:
    """Games of four leagues with moneyline, spread and total markets: a ~21 KB first page."""
    import datetime as dt

    from games.models import Game, GameProbability, League, Team
    from markets.models import Market, Outcome

    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    leagues = [League.objects.create(code=c, label=c.upper(), ordering="away") for c in ("nba", "nfl", "nhl", "mlb")]
    teams = [
        Team.objects.create(gamma_id=i, league=leagues[i % 4], name=f"Team {i:03d}", abbreviation=f"T{i:02d}",
                            record=f"{i % 20}-{(i * 7) % 20}", logo=f"https://logos.example/{i}.png")
        for i in range(2 * games)
    ]
    for n in range(games):
        home, away = teams[2 * n], teams[2 * n + 1]
        live = n % 3 == 0
        game = Game.objects.create(
            gamma_id=str(100000 + n), slug=f"{home.league.code}-t{n}a-t{n}b-2026-11-27",
            title=f"{away.name} vs. {home.name}", league=home.league, home_team=home, away_team=away,
            kickoff=now + dt.timedelta(minutes=30 * n - 60),
            status="live" if live else "scheduled", live=live, home_score=n % 7 if live else None,
            away_score=n % 5 if live else None, period="Q2" if live else "", elapsed="7:12" if live else "",
            volume=12345.6 * (n + 1), liquidity=2345.6 * (n + 1), comment_count=n * 3,
        )
        for kind, line in (("moneyline", None), ("spreads", -3.5), ("totals", 210.5)):
            market = Market.objects.create(condition_id=f"0x{n:060x}{len(kind):04x}", game=game, type=kind, line=line,
                                           question=f"{kind} {n}")
            labels = (away.name, home.name) if kind != "totals" else ("Over", "Under")
            for index, label in enumerate(labels):
                Outcome.objects.create(token_id=f"{n:06d}{len(kind):02d}{index}{'7' * 60}", market=market, label=label,
                                       index=index, team=(away, home)[index] if kind == "moneyline" else None,
                                       price=0.4 + 0.2 * index)
        GameProbability.objects.bulk_create(
            GameProbability(game=game, recorded_at=now - dt.timedelta(hours=h), home=40 + h, away=60 - h)
            for h in range(0, 26, 2)
        )


def nginx_config(tmp: Path, static_port: int, cache_port: int, app_port: int) -> Path:
    conf = tmp / "nginx.conf"
    conf.write_text(f"""
worker_processes 1;
daemon off;
pid {tmp}/nginx.pid;
error_log {tmp}/nginx-error.log warn;
{"user root root;" if os.geteuid() == 0 else ""}
events {{ worker_connections 4096; }}
http {{
    access_log off;
    sendfile on;
    tcp_nodelay on;
    keepalive_requests 1000000;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    open_file_cache max=100 inactive=10s;
    open_file_cache_valid 1s;
    proxy_cache_path {tmp}/cache levels=1:2 keys_zone=listing:10m max_size=100m inactive=60s use_temp_path=off;
    upstream app {{ server 127.0.0.1:{app_port}; keepalive 16; }}
    server {{
        listen 127.0.0.1:{static_port};
        location = {LISTING} {{ default_type application/json; alias {tmp}/listing.json; }}
    }}
    server {{
        listen 127.0.0.1:{cache_port};
        location /api/ {{
            proxy_pass http://app;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
            proxy_cache listing;
            proxy_cache_key $scheme$host$request_uri;
            proxy_cache_lock on;
            proxy_cache_background_update on;
            proxy_cache_use_stale updating error timeout;
            proxy_cache_valid 200 1s;
            add_header X-Cache-Status $upstream_cache_status;
        }}
    }}
}}
""")
    return conf


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0}


def wrk(url: str, duration_s: int) -> dict[str, float]:
    out = subprocess.run(
        ["wrk", f"-t{THREADS}", f"-c{CONNECTIONS}", f"-d{duration_s}s", "--latency", url],
        capture_output=True, text=True, check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    value, unit = re.search(r"99%\s+([\d.]+)(us|ms|s)", out).groups()  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: (.*)", out)
    failed = sum(int(x) for x in re.findall(r"\d+", socket_errors.group(1))) if socket_errors else 0
    return {
        "rps": rps,
        "p99_ms": float(value) * _UNITS[unit],
        "non_2xx": float(errors.group(1)) if errors else 0.0,
        "socket_errors": float(failed),
    }


class Children:
    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self, name: str, argv: list[str], env: dict[str, str]) -> None:
        log = (self.logs / f"{name}.log").open("wb")
        self.procs.append(subprocess.Popen(argv, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT))

    def stop(self) -> None:
        for proc in reversed(self.procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()


def daphne(port: int, app: str) -> list[str]:
    return [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), app]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=int, default=8, help="seconds per measurement (after a 2 s warm-up)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds over all targets; medians reported")
    parser.add_argument("--games", type=int, default=28, help="seeded games (28 -> a ~21 KB page)")
    args = parser.parse_args()
    for tool in ("wrk", "nginx"):
        if shutil.which(tool) is None:
            raise SystemExit(f"bench: `{tool}` is not installed")

    base_env = {  # production settings (DEBUG off, JSON logs), plain HTTP on loopback
        **os.environ,
        "DEBUG": "0",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "0",
        "SECRET_KEY": os.environ.get("SECRET_KEY") or "bench-" + "x" * 50,
        "REDIS_PREFIX": f"mevubench{os.getpid()}",
        "PYTHONUNBUFFERED": "1",
    }
    db_base = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    tmp = Path(tempfile.mkdtemp(prefix="bench-listing-"))
    tmp.chmod(0o755)
    children = Children(tmp)
    results: dict[str, dict[str, float]] = {}
    try:
        with scratch_database(db_base) as db_url:
            env = {**base_env, "DATABASE_URL": db_url, "BENCH_LISTING_BODY": str(tmp / "listing.json")}
            subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=REPO, env=env, check=True)
            os.environ.update(env)  # the seeding below uses the same settings as the children
            os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mevu.settings")
            sys.path.insert(0, str(REPO))
            import django

            django.setup()
            seed(args.games)
            from django.db import connections

            connections.close_all()

            ports = {name: free_port() for name in TARGETS}
            children.start("listing", daphne(ports["listing"], "mevu.asgi:application"), env)
            body = wait_http(f"http://127.0.0.1:{ports['listing']}{LISTING}")
            (tmp / "listing.json").write_bytes(body)
            (tmp / "listing.json").chmod(0o644)
            children.start("listing_quiet", daphne(ports["listing_quiet"], "mevu.asgi:application"),
                           {**env, "LOG_LEVEL": "WARNING"})
            children.start("django", daphne(ports["django"], "bench.bench_listing:trivial_django_app"), env)
            children.start("django_async", daphne(ports["django_async"], "bench.bench_listing:trivial_django_app"),
                           {**env, "BENCH_DJANGO_VIEW": "async"})
            children.start("bare_asgi", daphne(ports["bare_asgi"], "bench.bench_listing:bare_asgi_app"), env)
            conf = nginx_config(tmp, ports["nginx_static"], ports["microcache"], ports["listing"])
            children.start("nginx", ["nginx", "-c", str(conf), "-p", str(tmp)], env)

            urls = {name: f"http://127.0.0.1:{port}{LISTING}" for name, port in ports.items()}
            for name, url in urls.items():
                served = wait_http(url)
                if served != body:
                    raise SystemExit(f"bench: {name} does not serve the same {len(body)} bytes ({len(served)})")
            print(f"body: {len(body)} bytes, {json.loads(body)['count']} games; wrk -t{THREADS} -c{CONNECTIONS} "
                  f"-d{args.duration}s; cpus: {os.cpu_count()}", flush=True)

            from core.redis import redis_sync
            from readmodels.listing import builds_key

            builds_before = int(redis_sync().get(builds_key()) or 0)
            runs: dict[str, list[dict[str, float]]] = {name: [] for name in TARGETS}
            for round_no in range(1, args.rounds + 1):
                for name in TARGETS:  # interleaved, so machine noise spreads over every target
                    wrk(urls[name], 2)
                    r = wrk(urls[name], args.duration)
                    runs[name].append(r)
                    print(f"round {round_no} {name:13s} {r['rps']:10.0f} req/s   p99 {r['p99_ms']:8.2f} ms   "
                          f"non-2xx {r['non_2xx']:.0f}  socket errors {r['socket_errors']:.0f}", flush=True)
            builds = int(redis_sync().get(builds_key()) or 0) - builds_before
            for name, measured in runs.items():
                results[name] = {key: statistics.median(r[key] for r in measured) for key in measured[0]}
            redis_sync().delete(*redis_sync().keys(f"{env['REDIS_PREFIX']}:*") or ["-"])
    finally:
        children.stop()
        if os.environ.get("BENCH_KEEP_TMP") != "1":
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print(f"kept {tmp}")

    print(f"\nmedians of {args.rounds} rounds:")
    print("| target | req/s | p99 ms |\n|---|---:|---:|")
    for name in TARGETS:
        print(f"| {name} | {results[name]['rps']:.0f} | {results[name]['p99_ms']:.1f} |")
    listing = results["listing"]["rps"]
    django_rps = max(results["django"]["rps"], results["django_async"]["rps"])  # the stronger anchor
    micro, static = results["microcache"]["rps"], results["nginx_static"]["rps"]
    print(f"listing / trivial Django view (faster of sync/async) = {listing / django_rps:.2f}x (target >= 2)")
    print(f"listing / bare ASGI on daphne      = {listing / results['bare_asgi']['rps']:.2f}x")
    print(f"microcache / nginx static          = {micro / static:.2f} (target >= 0.5)")
    print(f"listing builds during the measurements: {builds}")


if __name__ == "__main__":
    main()
