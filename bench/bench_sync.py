"""Games sync benchmark: a full Gamma sync of the simulator's default day (~150 games, ~12k tokens).

Measures, in one run against a private database and a paused simulator:
  cold   — sync into empty tables (leagues, teams, games, markets, outcomes), median of --repeat runs;
  idle   — the same sync again with no upstream change (must perform 0 writes);
  anchor — COPY of exactly the rows the cold sync wrote into empty copies of the same tables
           (the floor for moving that data into PostgreSQL), same run, same machine; for scale, the same
           COPY into the real tables (WAL and foreign-key checks, which any durable write pays).
Each sync runs against two upstreams serving the same bytes:
  direct — the simulator itself, which renders every page in Python (~0.25 s of JSON per full sync on
           one core: the upstream's cost, not the sync's);
  edge   — the simulator behind a private caching nginx (proxy_cache keyed by the request URI, warmed by
           an untimed sync of the same URLs first), as Gamma sits behind Cloudflare: what the sync itself
           costs once the upstream answers at network speed. The verdicts use this one; skipped, with
           the direct figures only, when nginx is not installed.
Reports cold/anchor and idle/anchor ratios with verdicts against the targets (cold <= 5x, idle <= 1.5x), query
counts, the time spent waiting on HTTP, and (for scale, not a target) the fetch floor: GET + JSON decode
of the same /events pages with no processing at all. A cold sync starts with the process's memory of
/events pages emptied (games.eventpages), as a fresh worker does.

Runs with DEBUG off, as in production: Django's debug cursor renders every query with its parameters
(the ~12k-element arrays of the bulk upserts included), which would be timed as sync work. Queries are
counted with an execute wrapper instead, on every connection the sync uses (the league writers' threads open
their own).

Usage (PostgreSQL and Redis running):
  DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres REDIS_URL=redis://127.0.0.1:6379/0 \
    .venv/bin/python bench/bench_sync.py [--repeat 3] [--games N]
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

REPO = Path(__file__).resolve().parent.parent
COLD_TARGET, IDLE_TARGET = 5.0, 1.5
sys.path.insert(0, str(REPO))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _database_url(name: str) -> str:
    base = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    return urlunsplit(urlsplit(base)._replace(path="/" + name))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--games", type=int, default=None, help="simulator fixtures (default: its realistic day)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    import psycopg

    db_name = f"mevu_bench_sync_{os.getpid()}"
    admin_url = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{db_name}"')
    os.environ.update(
        DATABASE_URL=_database_url(db_name), DEBUG="0", SECRET_KEY="bench-sync-not-secret",
        REDIS_PREFIX=f"benchsync{os.getpid()}", LOG_LEVEL="ERROR",
        DJANGO_SETTINGS_MODULE="mevu.settings",
    )
    port = _free_port()
    sim_argv = [sys.executable, "-m", "simulator", "--port", str(port), "--seed", str(args.seed), "--paused",
                "--new-game-every-s", "0", "--log-level", "WARNING"]
    if args.games:
        sim_argv += ["--games", str(args.games)]
    sim = subprocess.Popen(sim_argv, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    runtime = Path(tempfile.mkdtemp(prefix="bench-sync-edge-"))
    edge = _edge_start(runtime, port) if shutil.which("nginx") else None
    try:
        _run(port, edge[1] if edge else None, args.repeat)
    finally:
        sim.terminate()
        sim.wait(10)
        if edge:
            edge[0].terminate()
            edge[0].wait(10)
        shutil.rmtree(runtime, ignore_errors=True)
        from django.db import connections

        connections.close_all()
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')


def _edge_start(runtime: Path, upstream_port: int) -> tuple[subprocess.Popen[bytes], int]:
    """A private nginx caching every GET of the simulator by its URI (a CDN edge in front of the upstream)."""
    port = _free_port()
    user = "user root;\n" if os.geteuid() == 0 else ""
    temp = " ".join(f"{kind}_temp_path {runtime}/{kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi",
                                                                       "scgi"))
    (runtime / "nginx.conf").write_text(f"""{user}worker_processes 1;
pid {runtime}/nginx.pid;
error_log {runtime}/error.log warn;
events {{ worker_connections 256; }}
http {{
    access_log off;
    sendfile on;
    {temp}
    proxy_cache_path {runtime}/cache levels=1:2 keys_zone=gamma:10m max_size=1g inactive=1h use_temp_path=off;
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://127.0.0.1:{upstream_port};
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_cache gamma;
            proxy_cache_key $request_uri;
            proxy_cache_valid 200 1h;
            proxy_buffers 64 256k;
        }}
    }}
}}
""")
    proc = subprocess.Popen(["nginx", "-p", str(runtime), "-c", str(runtime / "nginx.conf"), "-g", "daemon off;"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return proc, port
        except OSError:
            time.sleep(0.1)
    raise SystemExit("nginx (the caching edge) did not start")


def _run(port: int, edge_port: int | None, repeat: int) -> None:
    import django
    import httpx

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.db.backends.signals import connection_created

    from core.redis import redis_key, redis_sync
    from games.eventpages import pages_forget
    from games.models import Game, League, Team
    from games.upstream import GammaClient
    from markets.models import Market, Outcome

    call_command("migrate", verbosity=0)
    for _ in range(100):
        try:
            state = httpx.get(f"http://127.0.0.1:{port}/_sim/state", timeout=1).json()
            break
        except httpx.HTTPError:
            time.sleep(0.1)
    else:
        raise SystemExit("simulator did not start")
    upstreams = {"direct": f"http://127.0.0.1:{port}/gamma"}
    if edge_port:
        upstreams["edge"] = f"http://127.0.0.1:{edge_port}/gamma"

    tables = [m._meta.db_table for m in (Outcome, Market, Game, Team, League)]

    class TimedClient(GammaClient):
        http_s = 0.0

        def get_bytes(self, path, params=None):  # type: ignore[no-untyped-def]
            started = time.perf_counter()
            try:
                return super().get_bytes(path, params)
            finally:
                TimedClient.http_s += time.perf_counter() - started

    import actions.sync as sync_actions

    publish = {"s": 0.0}
    refresh = sync_actions.changes_announce

    def timed_refresh(*args, **kwargs):  # type: ignore[no-untyped-def]
        started = time.perf_counter()
        try:
            return refresh(*args, **kwargs)
        finally:
            publish["s"] += time.perf_counter() - started

    sync_actions.changes_announce = timed_refresh  # the announcement's share of the sync time

    def sync(gamma: str, now: datetime) -> tuple[float, float, int, int, float]:
        TimedClient.http_s = 0.0
        publish["s"] = 0.0
        queries: list[str] = []

        def count(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
            queries.append(sql)
            return execute(sql, params, many, context)

        def count_on(sender, connection, **kwargs):  # type: ignore[no-untyped-def]
            connection.execute_wrappers.append(count)  # the league writers' own connections

        connection_created.connect(count_on)
        try:
            with TimedClient(gamma) as client, connection.execute_wrapper(count):
                started = time.perf_counter()
                sync_actions.do_sync_catalog(client, now=now)
                elapsed = time.perf_counter() - started
        finally:
            connection_created.disconnect(count_on)
        writes = sum(sql.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE")) for sql in queries)
        return elapsed, TimedClient.http_s, len(queries), writes, publish["s"]

    def truncate() -> None:
        with connection.cursor() as cursor:
            cursor.execute("TRUNCATE " + ", ".join(tables) + " RESTART IDENTITY CASCADE")
        redis_sync().delete(redis_key("tokens", "set"), redis_key("tokens", "version"), redis_key("games", "active"))
        pages_forget()

    runs: dict[str, dict[str, list]] = {name: {"cold": [], "idle": [], "fetch": []} for name in upstreams}
    anchors, durables = [], []
    for _ in range(repeat):
        now = datetime.now(UTC)  # one instant per round: time alone can change a game (its kickoff phase)
        for name, gamma in upstreams.items():
            if name == "edge":  # warm the edge with exactly the URLs of this round's syncs
                truncate()
                sync(gamma, now)
            truncate()
            runs[name]["cold"].append(sync(gamma, now))
            runs[name]["idle"].append(sync(gamma, now))
            runs[name]["fetch"].append(_fetch_floor(gamma, now))
        anchors.append(statistics.median(_copy_anchor(connection, tables) for _ in range(3)))
        durables.append(_copy_durable(connection, tables))
    counts = {"games": Game.objects.count(), "markets": Market.objects.count(), "outcomes": Outcome.objects.count(),
              "teams": Team.objects.count(), "leagues": League.objects.count()}
    anchor_s = statistics.median(anchors)
    print(f"simulator state: {state['counts']}")
    print(f"stored: {counts}")
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"anchor COPY of the same rows: {anchor_s:.3f} s (median of {repeat} rounds x 3)")
    print(f"for scale: the same COPY into the real tables (WAL, foreign keys): {statistics.median(durables):.3f} s")
    for name, figures in runs.items():
        colds, idles = figures["cold"], figures["idle"]
        cold_s = statistics.median(c[0] for c in colds)
        idle_s = statistics.median(i[0] for i in idles)
        http_share = statistics.median(c[1] / c[0] for c in colds)
        publish_share = statistics.median(c[4] / c[0] for c in colds)
        cold_ratio, idle_ratio = cold_s / anchor_s, idle_s / anchor_s
        verdict = name == "edge" or "edge" not in runs
        print(f"[{name}] cold sync: {cold_s:.3f} s median of {repeat} ({colds[0][2]} queries, {colds[0][3]} writes), "
              f"HTTP wait {http_share:.0%} (summed over fetch threads), token set + announce {publish_share:.0%}")
        print(f"[{name}] idle sync: {idle_s:.3f} s median of {repeat} ({idles[0][2]} queries, {idles[0][3]} writes), "
              f"HTTP wait {statistics.median(i[1] for i in idles):.3f} s (summed over fetch threads)")
        print(f"[{name}] fetch floor (GET + decode of every /events page, nothing else): "
              f"{statistics.median(figures['fetch']):.3f} s")
        print(f"[{name}] ratio cold/anchor: {cold_ratio:.1f}x   idle/anchor: {idle_ratio:.2f}x")
        if verdict:
            cold_verdict = "PASS" if cold_ratio <= COLD_TARGET else "FAIL"
            idle_verdict = "PASS" if idle_ratio <= IDLE_TARGET else "FAIL"
            print(f"verdict ({name}): cold {cold_verdict} (target <= {COLD_TARGET}x), "
                  f"idle {idle_verdict} (target <= {IDLE_TARGET}x)")


def _fetch_floor(gamma: str, now: datetime) -> float:
    """Every /events page the sync reads (the same URLs), fetched and decoded on one connection, nothing else."""
    import httpx
    import orjson

    from games.services import EVENTS_PAGE, events_params
    from games.upstream import GammaClient, rows_of

    started = time.perf_counter()
    with GammaClient(gamma) as client, httpx.Client(base_url=gamma, timeout=60) as http:
        for league in rows_of(client.get_json("/sports")):
            for series_id in str(league.get("series") or "").split(","):
                offset = 0
                while True:
                    params = {**events_params(series_id, now), "limit": EVENTS_PAGE, "offset": offset}
                    page = orjson.loads(http.get("/events", params=params).content)
                    if len(page) < EVENTS_PAGE:
                        break
                    offset += len(page)
    return time.perf_counter() - started


def _stored_rows(connection, tables: list[str]):  # type: ignore[no-untyped-def]
    """The psycopg 3 connection under Django's wrapper, and every stored row of the tables with their columns."""
    with connection.cursor():
        pass  # connects
    raw = connection.connection
    data: dict[str, tuple[list[str], list[tuple]]] = {}
    with raw.cursor() as cur:
        for table in tables:
            cur.execute(f"SELECT * FROM {table}")
            data[table] = ([d.name for d in cur.description], cur.fetchall())
    return raw, data


def _copy_anchor(connection, tables: list[str]) -> float:  # type: ignore[no-untyped-def]
    """COPY every stored row of the synced tables into empty same-shaped tables: the data-movement floor."""
    raw, data = _stored_rows(connection, tables)
    with raw.cursor() as cur:
        for table in tables:
            cur.execute(f"CREATE TEMP TABLE bench_{table} (LIKE {table} INCLUDING ALL)")
    raw.commit()
    started = time.perf_counter()
    with raw.cursor() as cur:
        for table in tables:
            columns, rows = data[table]
            with cur.copy(f"COPY bench_{table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
    raw.commit()
    elapsed = time.perf_counter() - started
    with raw.cursor() as cur:
        for table in tables:
            cur.execute(f"DROP TABLE bench_{table}")
    raw.commit()
    return elapsed


def _copy_durable(connection, tables: list[str]) -> float:  # type: ignore[no-untyped-def]
    """For scale, not a target: the same rows COPYed back into the real tables (emptied first, parents first),
    paying what any durable write of them pays and the anchor does not: WAL, foreign-key checks at commit."""
    raw, data = _stored_rows(connection, tables)
    with raw.cursor() as cur:
        cur.execute("TRUNCATE " + ", ".join(tables) + " CASCADE")
    raw.commit()
    started = time.perf_counter()
    with raw.cursor() as cur:
        for table in reversed(tables):
            columns, rows = data[table]
            with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
    raw.commit()
    return time.perf_counter() - started


if __name__ == "__main__":
    main()
