"""Benchmark: the warm `/api/games/frontend` hot path and the Django request path, against anchors
measured in the same run.

All targets serve the SAME response bytes (the listing rendered from a seeded database):

  listing        the real application (mevu.asgi:application) on one daphne process: warm hits are
                 answered by the ASGI fast path (api/fastpath.py)
  listing_daphne the same application on plain daphne (no gc.freeze, Twisted's own header writes):
                 diagnostic, what the production server's two tweaks (ops/httpserver.py) are worth
  chain          a trivial (sync) Django view returning those bytes, served by THIS project's full chain:
                 mevu.asgi:application (outer ASGI middlewares, settings.MIDDLEWARE) with a URLconf that
                 adds the view, on one daphne process
  chain_async    the same process, an `async def` view
  bare_django    a bare Django project generated at run time (`django-admin startproject`, default
                 middleware, DEBUG off) with the same trivial view, on one daphne process
  bare_django_async  the same process, an `async def` view
  bare_asgi      a bare ASGI app returning those bytes on one daphne process
  nginx_static   nginx (1 worker) serving the bytes as a static file
  microcache     the listing through an nginx (1 worker) microcache in front of the `listing` daphne

Every daphne runs with production flags (`-v 0 --proxy-headers`, as ops/supervisor.py starts them);
`listing` and `chain` on the production server (`python -m ops.httpserver`), the anchors on plain daphne.

Ratios (faster of sync/async on each Django side):
  listing / bare_asgi          target >= 0.8 (the fast path costs little beyond daphne itself)
  chain / bare_django          target >= 0.8 (the project's request path costs little beyond Django's)
  listing / chain              target >= 2
  microcache / nginx_static    target >= 0.5
and the server CPU per listing hit (psutil CPU time of the `listing` process / requests served).

Load: wrk, 2 threads, 32 connections. Run from the repository root:

    .venv/bin/python bench/bench_listing.py [--duration 8] [--rounds 3]

Needs PostgreSQL and Redis (DATABASE_URL / REDIS_URL; a scratch database is created and dropped),
`wrk` and `nginx` on PATH. `listing_cpu_per_hit()` measures only the CPU per listing hit (for capacity
models): `from bench.bench_listing import listing_cpu_per_hit`.
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
TRIVIAL = "/api/bench/trivial"  # the trivial views (sync; "-async" for the `async def` one)
CONNECTIONS = 32
TARGETS = ("chain", "chain_async", "bare_django", "bare_django_async", "bare_asgi", "listing", "listing_daphne",
           "nginx_static", "microcache")
THREADS = 2

# --- The anchor applications (imported by the daphne children) -------------------------------------------


def _body() -> bytes:
    return Path(os.environ["BENCH_LISTING_BODY"]).read_bytes()


def trivial_view(request: HttpRequest) -> HttpResponse:
    return HttpResponse(_TRIVIAL_BODY, content_type="application/json")


async def trivial_view_async(request: HttpRequest) -> HttpResponse:
    return HttpResponse(_TRIVIAL_BODY, content_type="application/json")


_TRIVIAL_BODY = b""
urlpatterns = [
    path(TRIVIAL.lstrip("/"), trivial_view),
    path(TRIVIAL.lstrip("/") + "-async", trivial_view_async),
]


def _project_chain() -> Any:
    """The production application (mevu.asgi:application: every ASGI and Django middleware) with this
    module, the trivial views, as URLconf."""
    global _TRIVIAL_BODY
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mevu.settings")
    from django.conf import settings

    settings.ROOT_URLCONF = __name__
    from mevu.asgi import application

    _TRIVIAL_BODY = _body()
    return application


def __getattr__(name: str) -> Any:
    # `project_chain_app` is built when daphne looks it up, before its server starts (as mevu.asgi is in
    # production: ops.httpserver then freezes that heap); importing this module alone builds nothing.
    if name == "project_chain_app":
        return _project_chain()
    raise AttributeError(name)


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


bare_asgi_app = _BareAsgi()

BARE_URLS = f'''"""The trivial views of the bare-project anchor (written by bench/bench_listing.py)."""
import os
from pathlib import Path

from django.http import HttpResponse
from django.urls import path

BODY = Path(os.environ["BENCH_LISTING_BODY"]).read_bytes()


def trivial(request):
    return HttpResponse(BODY, content_type="application/json")


async def trivial_async(request):
    return HttpResponse(BODY, content_type="application/json")


urlpatterns = [path("{TRIVIAL.lstrip("/")}", trivial), path("{TRIVIAL.lstrip("/")}-async", trivial_async)]
'''


def bare_django_project(tmp: Path) -> Path:
    """`django-admin startproject barebench` (default settings and middleware), DEBUG off, the trivial views."""
    root = tmp / "bare"
    root.mkdir()
    admin = Path(sys.executable).with_name("django-admin")
    subprocess.run([str(admin), "startproject", "barebench", str(root)], check=True)
    (root / "barebench" / "urls.py").write_text(BARE_URLS)
    with (root / "barebench" / "settings.py").open("a") as settings_file:
        settings_file.write('\nDEBUG = False\nALLOWED_HOSTS = ["127.0.0.1", "localhost"]\n')
    return root


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
    requests = float(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    value, unit = re.search(r"99%\s+([\d.]+)(us|ms|s)", out).groups()  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: (.*)", out)
    failed = sum(int(x) for x in re.findall(r"\d+", socket_errors.group(1))) if socket_errors else 0
    return {
        "rps": rps,
        "requests": requests,
        "p99_ms": float(value) * _UNITS[unit],
        "non_2xx": float(errors.group(1)) if errors else 0.0,
        "socket_errors": float(failed),
    }


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process so far (all its threads)."""
    import psutil

    times = psutil.Process(pid).cpu_times()
    return times.user + times.system


class Children:
    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str, argv: list[str], env: dict[str, str], cwd: Path = REPO) -> int:
        log = (self.logs / f"{name}.log").open("wb")
        proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT)
        self.procs[name] = proc
        return proc.pid

    def stop(self) -> None:
        for proc in reversed(self.procs.values()):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()


def daphne(port: int, app: str, server: str = "daphne") -> list[str]:
    """A daphne process with production flags (ops/supervisor.py: `-v 0`, no daphne access log;
    `--proxy-headers`); `server="ops.httpserver"` is the production server (daphne + a graceful drain)."""
    return [sys.executable, "-m", server, "-v", "0", "--proxy-headers", "-b", "127.0.0.1", "-p", str(port), app]


PRODUCTION_SERVER = "ops.httpserver"


def production_env() -> dict[str, str]:
    """Production settings (DEBUG off, JSON logs at INFO, the default access log), plain HTTP on loopback."""
    return {
        **os.environ,
        "DEBUG": "0",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "0",
        "SECRET_KEY": os.environ.get("SECRET_KEY") or "bench-" + "x" * 50,
        "REDIS_PREFIX": f"mevubench{os.getpid()}",
        "PYTHONUNBUFFERED": "1",
    }


@contextlib.contextmanager
def seeded_stack(games: int) -> Iterator[tuple[dict[str, str], Path, Children]]:
    """A scratch database, migrated and seeded; the environment for the children, a temp dir, their
    supervisor. Everything is removed on exit."""
    db_base = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    tmp = Path(tempfile.mkdtemp(prefix="bench-listing-"))
    tmp.chmod(0o755)
    children = Children(tmp)
    try:
        with scratch_database(db_base) as db_url:
            env = {**production_env(), "DATABASE_URL": db_url, "BENCH_LISTING_BODY": str(tmp / "listing.json"),
                   "DJANGO_SETTINGS_MODULE": "mevu.settings"}
            subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=REPO, env=env, check=True)
            subprocess.run([sys.executable, "-c", f"import django; django.setup(); "
                            f"from bench.bench_listing import seed; seed({games})"], cwd=REPO, env=env, check=True)
            try:
                yield env, tmp, children
            finally:
                children.stop()
                _redis_cleanup(env)
    finally:
        if os.environ.get("BENCH_KEEP_TMP") != "1":
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print(f"kept {tmp}")


def _redis_cleanup(env: dict[str, str]) -> None:
    import redis

    client = redis.Redis.from_url(env.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    keys = list(client.scan_iter(f"{env['REDIS_PREFIX']}:*"))
    if keys:
        client.delete(*keys)


def start_listing(children: Children, env: dict[str, str], name: str = "listing") -> tuple[str, int]:
    """The production application on one daphne process, its listing warm; (url, pid)."""
    port = free_port()
    pid = children.start(name, daphne(port, "mevu.asgi:application", PRODUCTION_SERVER), env)
    url = f"http://127.0.0.1:{port}{LISTING}"
    wait_http(url)
    return url, pid


def cpu_per_request(url: str, pid: int, duration_s: int) -> tuple[float, dict[str, float]]:
    """Server CPU-seconds per request served by `pid` under the wrk load (after a 2 s warm-up)."""
    wrk(url, 2)
    before = cpu_seconds(pid)
    result = wrk(url, duration_s)
    return (cpu_seconds(pid) - before) / max(1.0, result["requests"]), result


def listing_cpu_per_hit(duration_s: int = 8, games: int = 28) -> float:
    """CPU-seconds one daphne process spends per warm `GET /api/games/frontend` hit (production settings,
    wrk -t2 -c32, the ~21 KB default page). Needs what the benchmark needs (PostgreSQL, Redis, wrk)."""
    with seeded_stack(games) as (env, _tmp, children):
        url, pid = start_listing(children, env)
        seconds, _ = cpu_per_request(url, pid, duration_s)
        return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=int, default=8, help="seconds per measurement (after a 2 s warm-up)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds over all targets; medians reported")
    parser.add_argument("--games", type=int, default=28, help="seeded games (28 -> a ~21 KB page)")
    args = parser.parse_args()
    for tool in ("wrk", "nginx"):
        if shutil.which(tool) is None:
            raise SystemExit(f"bench: `{tool}` is not installed")
    with seeded_stack(args.games) as (env, tmp, children):
        results, cpu_per_hit, builds = measure(args, env, tmp, children)
    report(args, results, cpu_per_hit, builds)


def measure(
    args: argparse.Namespace, env: dict[str, str], tmp: Path, children: Children
) -> tuple[dict[str, dict[str, float]], float, int]:
    listing_url, listing_pid = start_listing(children, env)
    body = wait_http(listing_url)
    (tmp / "listing.json").write_bytes(body)
    (tmp / "listing.json").chmod(0o644)
    ports = {name: free_port() for name in TARGETS}
    ports["listing"] = int(urlsplit(listing_url).port or 0)
    pids = {"listing": listing_pid}
    pids["listing_daphne"] = children.start(
        "listing_daphne", daphne(ports["listing_daphne"], "mevu.asgi:application"), env)
    pids["chain"] = pids["chain_async"] = children.start(
        "chain", daphne(ports["chain"], "bench.bench_listing:project_chain_app", PRODUCTION_SERVER), env)
    bare = bare_django_project(tmp)
    bare_env = {**production_env(), "BENCH_LISTING_BODY": env["BENCH_LISTING_BODY"],
                "DJANGO_SETTINGS_MODULE": "barebench.settings", "PYTHONPATH": str(bare)}
    pids["bare_django"] = pids["bare_django_async"] = children.start(
        "bare_django", daphne(ports["bare_django"], "barebench.asgi:application"), bare_env, cwd=bare)
    pids["bare_asgi"] = children.start(
        "bare_asgi", daphne(ports["bare_asgi"], "bench.bench_listing:bare_asgi_app"), env)
    conf = nginx_config(tmp, ports["nginx_static"], ports["microcache"], ports["listing"])
    children.start("nginx", ["nginx", "-c", str(conf), "-p", str(tmp)], env)

    urls = {name: f"http://127.0.0.1:{port}{LISTING}" for name, port in ports.items()}
    ports["chain_async"], ports["bare_django_async"] = ports["chain"], ports["bare_django"]
    for name in ("chain", "bare_django"):
        urls[name] = f"http://127.0.0.1:{ports[name]}{TRIVIAL}"
        urls[name + "_async"] = f"http://127.0.0.1:{ports[name]}{TRIVIAL}-async"
    for name, url in urls.items():
        served = wait_http(url)
        if served != body:
            raise SystemExit(f"bench: {name} does not serve the same {len(body)} bytes ({len(served)})")
    print(f"body: {len(body)} bytes, {json.loads(body)['count']} games; wrk -t{THREADS} -c{CONNECTIONS} "
          f"-d{args.duration}s; cpus: {os.cpu_count()}; load average {os.getloadavg()[0]:.1f}", flush=True)

    builds_before = _builds(env)
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in TARGETS}
    for round_no in range(1, args.rounds + 1):
        for name in TARGETS:  # interleaved, so machine noise spreads over every target
            if name in pids:  # a daphne process: its CPU per request too
                seconds, r = cpu_per_request(urls[name], pids[name], args.duration)
                r = {**r, "cpu_us": seconds * 1e6}
            else:
                wrk(urls[name], 2)
                r = wrk(urls[name], args.duration)
            runs[name].append(r)
            cpu = f"   cpu/request {r['cpu_us']:6.0f} us" if "cpu_us" in r else ""
            print(f"round {round_no} {name:17s} {r['rps']:10.0f} req/s   p99 {r['p99_ms']:8.2f} ms   "
                  f"non-2xx {r['non_2xx']:.0f}  socket errors {r['socket_errors']:.0f}{cpu}", flush=True)
    builds = _builds(env) - builds_before
    results = {name: {key: statistics.median(r[key] for r in measured) for key in measured[0]}
               for name, measured in runs.items()}
    return results, results["listing"]["cpu_us"] / 1e6, builds


def _builds(env: dict[str, str]) -> int:
    """Listing builds so far (the counter readmodels.listing keeps in Redis)."""
    out = subprocess.run([sys.executable, "-c", "import django; django.setup(); from core.redis import redis_sync; "
                          "from readmodels.listing import builds_key; print(int(redis_sync().get(builds_key()) or 0))"],
                         cwd=REPO, env=env, check=True, capture_output=True, text=True).stdout
    return int(out.strip().splitlines()[-1])


def _verdict(value: float, target: float) -> str:
    return "PASS" if value >= target else "FAIL"


def report(args: argparse.Namespace, results: dict[str, dict[str, float]], cpu_per_hit: float, builds: int) -> None:
    print(f"\nmedians of {args.rounds} rounds (load average now {os.getloadavg()[0]:.1f}):")
    print("| target | req/s | p99 ms | server CPU per request |\n|---|---:|---:|---:|")
    for name in TARGETS:
        cpu = f"{results[name]['cpu_us']:.0f} µs" if "cpu_us" in results[name] else "—"
        print(f"| {name} | {results[name]['rps']:.0f} | {results[name]['p99_ms']:.1f} | {cpu} |")
    rps = {name: r["rps"] for name, r in results.items()}
    cpu = {name: r["cpu_us"] for name, r in results.items() if "cpu_us" in r}
    chain, bare = max(rps["chain"], rps["chain_async"]), max(rps["bare_django"], rps["bare_django_async"])
    chain_cpu = min(cpu["chain"], cpu["chain_async"])
    bare_cpu = min(cpu["bare_django"], cpu["bare_django_async"])
    ratios = (  # label, req/s ratio, the same ratio from CPU per request (inverse), target
        ("listing / bare ASGI on daphne", rps["listing"] / rps["bare_asgi"], cpu["bare_asgi"] / cpu["listing"], 0.8),
        ("project chain / bare Django project (faster of sync/async each)", chain / bare, bare_cpu / chain_cpu, 0.8),
        ("listing / trivial view through the project chain", rps["listing"] / chain, chain_cpu / cpu["listing"], 2.0),
        ("microcache / nginx static", rps["microcache"] / rps["nginx_static"], None, 0.5),
    )
    print("\n| ratio | req/s ratio | by CPU per request | target | verdict (req/s) |\n|---|---:|---:|---:|---|")
    for label, value, by_cpu, target in ratios:
        cpu_text = "—" if by_cpu is None else f"{by_cpu:.2f}"
        print(f"| {label} | {value:.2f} | {cpu_text} | >= {target} | {_verdict(value, target)} |")
    print(f"diagnostic: listing on plain daphne / bare ASGI = {rps['listing_daphne'] / rps['bare_asgi']:.2f} "
          f"(by CPU per request {cpu['bare_asgi'] / cpu['listing_daphne']:.2f})")
    print(f"\nserver CPU per listing hit: {cpu_per_hit * 1e6:.0f} us (listing process CPU / requests served)")
    print(f"listing builds during the measurements: {builds}")
    failed = [label for label, value, _, target in ratios if value < target]
    print("verdict: " + ("all targets met" if not failed else "NOT met: " + "; ".join(failed)))


if __name__ == "__main__":
    main()
