"""Security: production settings, admin login + CSRF, CORS allowlist, WebSocket Origin, rate limits,
no secrets in logs, no public Redis/PostgreSQL ports in the compose files, dependency audit.

HTTP checks run against one real daphne started with production settings (DEBUG off) and known secrets.
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import subprocess
import sys
from http.cookies import SimpleCookie
from pathlib import Path

import httpx
import pytest
import websockets
import yaml

from tests.conftest import REPO, daphne_argv, database_url, free_port, isolated_env, wait_until

ALLOWED_ORIGIN = "https://app.mevu.example"
EVIL_ORIGIN = "https://evil.example"
RATE_LIMIT = 5


@pytest.fixture(scope="session")
def collected_static(tmp_path_factory: pytest.TempPathFactory) -> str:
    """DEBUG off serves hashed static files, collected at build time (docker/Dockerfile does the same);
    here into a temporary STATIC_ROOT, so a test run leaves the checkout as it was."""
    root = str(tmp_path_factory.mktemp("staticfiles"))
    env = isolated_env(DEBUG="0", SECRET_KEY="collectstatic-" + "k" * 40, STATIC_ROOT=root)
    done = subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"], cwd=REPO,
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return root


@pytest.fixture
def production(service_env, spawn, collected_static):
    """A daphne with DEBUG off, a known SECRET_KEY and DB password (PostgreSQL trusts loopback, so the
    password is carried but unused), plus an admin user created with a known password."""
    known = {
        "secret_key": "sk-" + secrets.token_urlsafe(40),
        "db_password": "dbpw-" + secrets.token_hex(12),
        "admin_password": "adminpw-" + secrets.token_hex(12),
    }
    port = free_port()
    env = {
        **service_env,
        "DEBUG": "false",
        "STATIC_ROOT": collected_static,
        "SECRET_KEY": known["secret_key"],
        "DATABASE_URL": database_url(service_env["DATABASE_URL"], password=known["db_password"]),
        "ALLOWED_HOSTS": "127.0.0.1",
        "CORS_ALLOWED_ORIGINS": ALLOWED_ORIGIN,
        "SECURE_SSL_REDIRECT": "false",  # TLS ends at the load balancer; this test speaks plain HTTP
        "LOG_FORMAT": "json",
        "RATELIMIT_EXPENSIVE_PER_WINDOW": str(RATE_LIMIT),
        "RATELIMIT_WINDOW_S": "30",
        "REALTIME_ALLOW_NO_ORIGIN": "true",
        "DJANGO_SUPERUSER_USERNAME": "ops",
        "DJANGO_SUPERUSER_PASSWORD": known["admin_password"],
    }
    created = subprocess.run([sys.executable, "manage.py", "ensure_superuser"], cwd=REPO, env=env,
                             capture_output=True, text=True, timeout=60)
    assert created.returncode == 0, created.stderr
    assert known["admin_password"] not in created.stdout + created.stderr
    # As the supervisor runs it in production: daphne's own access log off (-v 0), proxy headers on.
    argv = [*daphne_argv(port)[:3], "-v", "0", "--proxy-headers", *daphne_argv(port)[3:]]
    proc = spawn("daphne-production", argv, env)
    base = f"http://127.0.0.1:{port}"
    wait_until(lambda: httpx.get(f"{base}/health", timeout=2).status_code == 200, 30)
    return base, port, proc, known


def _cookie(response: httpx.Response, name: str) -> str:
    for header in response.headers.get_list("set-cookie"):
        jar = SimpleCookie()
        jar.load(header)
        if name in jar:
            return jar[name].value
    raise AssertionError(f"no {name} cookie set")


def _check_admin_login_and_csrf(production) -> None:
    base, _port, _proc, known = production
    with httpx.Client(base_url=base, timeout=10) as client:
        admin = client.get("/admin/")
        assert admin.status_code == 302 and "/admin/login/" in admin.headers["location"]

        blind = client.post("/admin/login/", data={"username": "ops", "password": known["admin_password"]})
        assert blind.status_code == 403  # no CSRF token: refused even with the right password

        page = client.get("/admin/login/")
        token = _cookie(page, "csrftoken")
        form_token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
        cookies = {"Cookie": f"csrftoken={token}"}
        forged = client.post("/admin/login/", headers=cookies, data={
            "csrfmiddlewaretoken": "x" * 64, "username": "ops", "password": known["admin_password"]})
        assert forged.status_code == 403

        wrong = client.post("/admin/login/", headers=cookies, data={
            "csrfmiddlewaretoken": form_token, "username": "ops", "password": "not-the-password"})
        assert wrong.status_code == 200 and "sessionid" not in wrong.headers.get("set-cookie", "")

        good = client.post("/admin/login/", headers=cookies, data={
            "csrfmiddlewaretoken": form_token, "username": "ops", "password": known["admin_password"],
            "next": "/admin/"})
        assert good.status_code == 302 and good.headers["location"] == "/admin/"
        session = _cookie(good, "sessionid")
        inside = client.get("/admin/", headers={"Cookie": f"sessionid={session}; csrftoken={token}"})
        assert inside.status_code == 200 and "Site administration" in inside.text


def _check_cors_is_an_allowlist(production) -> None:
    base, *_ = production
    allowed = httpx.get(f"{base}/api/sports", headers={"Origin": ALLOWED_ORIGIN}, timeout=10)
    assert allowed.headers.get("access-control-allow-origin") == ALLOWED_ORIGIN
    evil = httpx.get(f"{base}/api/sports", headers={"Origin": EVIL_ORIGIN}, timeout=10)
    assert "access-control-allow-origin" not in evil.headers
    preflight = httpx.options(f"{base}/api/sports", headers={
        "Origin": EVIL_ORIGIN, "Access-Control-Request-Method": "GET"}, timeout=10)
    assert "access-control-allow-origin" not in preflight.headers


def _check_websocket_origin_is_validated(production) -> None:
    _base, port, *_ = production
    url = f"ws://127.0.0.1:{port}/ws/games"

    async def attempt(origin: str | None) -> str:
        try:
            async with websockets.connect(url, origin=origin, open_timeout=10) as ws:  # type: ignore[arg-type]
                return json.loads(await asyncio.wait_for(ws.recv(), 10))["type"]
        except websockets.InvalidStatus as exc:
            return f"refused:{exc.response.status_code}"

    assert asyncio.run(attempt(EVIL_ORIGIN)) == "refused:403"
    assert asyncio.run(attempt(ALLOWED_ORIGIN)) == "subscribed"
    assert asyncio.run(attempt(None)) == "subscribed"  # non-browser client (REALTIME_ALLOW_NO_ORIGIN)


def _check_expensive_endpoints_are_rate_limited(production) -> None:
    base, *_ = production
    statuses = [httpx.get(f"{base}/api/price-history/not-a-token", timeout=10).status_code
                for _ in range(RATE_LIMIT)]
    assert 429 not in statuses
    limited = httpx.get(f"{base}/api/price-history/not-a-token", timeout=10)
    assert limited.status_code == 429
    retry_after = int(limited.headers["retry-after"])
    assert retry_after >= 1 and retry_after <= 30
    assert limited.json() == {"success": False, "error": "rate limit exceeded; retry later",
                              "retryAfter": retry_after}
    batch = httpx.post(f"{base}/api/price-history/batch", json={"clobTokenIds": ["1"]}, timeout=10)
    assert batch.status_code == 429  # the batch form shares the budget
    assert httpx.get(f"{base}/api/sports", timeout=10).status_code == 200  # cheap endpoints unaffected


def _check_no_secrets_in_logs(production) -> None:
    base, _port, proc, known = production
    bearer = "bearer-" + secrets.token_hex(16)
    with httpx.Client(base_url=base, timeout=10) as client:
        page = client.get("/admin/login/")
        token = _cookie(page, "csrftoken")
        form_token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
        client.post("/admin/login/", headers={"Cookie": f"csrftoken={token}"}, data={
            "csrfmiddlewaretoken": form_token, "username": "ops", "password": known["admin_password"] + "x"})
        client.post("/admin/login/", data={"username": "ops", "password": known["admin_password"]})  # 403
        client.get("/api/games/nope", headers={"Authorization": f"Bearer {bearer}"})
        client.get("/does-not-exist", headers={"Cookie": f"sessionid={bearer}"})
        client.get("/api/health")
    proc.stop()
    log = proc.log()
    assert len(log) > 200  # the process did log (access log lines, warnings)
    for name, value in {**known, "bearer": bearer}.items():
        assert value not in log, f"{name} leaked into the daphne log"


def test_production_http_surface(production) -> None:
    """One production daphne for every HTTP/WebSocket check; the secrets grep runs last over its whole log."""
    _check_admin_login_and_csrf(production)
    _check_cors_is_an_allowlist(production)
    _check_websocket_origin_is_validated(production)
    _check_expensive_endpoints_are_rate_limited(production)
    _check_no_secrets_in_logs(production)


def test_check_deploy_passes_with_sentinel_redis() -> None:
    env = isolated_env(
        DEBUG="false",
        SECRET_KEY="p" * 20 + "Q8v!x2Lr#9zW@k4sT7yN0mB5cF3hJ6dA1gE",
        ALLOWED_HOSTS="api.mevu.example",
        CORS_ALLOWED_ORIGINS="https://mevu.example",
        REDIS_URL="redis+sentinel://:pw@10.0.0.1:26379,10.0.0.2:26379,10.0.0.3:26379/mevu/0",
    )
    result = subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
                            cwd=REPO, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "WARNINGS" not in result.stdout + result.stderr


def _compose_files() -> list[Path]:
    return sorted((REPO / "docker").glob("compose*.y*ml"))


PRIVATE_SERVICES = re.compile(r"redis|postgres|pgbouncer|sentinel", re.IGNORECASE)
# A published port must name its host address: loopback, or a REQUIRED private-address variable
# (`${DATA_PRIVATE_IP:?...}` makes compose refuse to start when it is unset, so never 0.0.0.0).
PRIVATE_HOST = re.compile(r"^(127\.0\.0\.1|\[::1\]|\$\{[A-Z_]*PRIVATE[A-Z_]*:\?[^}]*\}):\d+(:\d+)?$")


def _public_ports(service: dict) -> list[str]:
    """Port mappings that could listen on a public interface."""
    public = []
    for entry in service.get("ports") or []:
        if isinstance(entry, dict):
            if entry.get("published") and str(entry.get("host_ip", "")) not in ("127.0.0.1", "::1"):
                public.append(str(entry))
        elif not PRIVATE_HOST.match(str(entry)):
            public.append(str(entry))
    return public


def test_redis_and_postgres_are_not_published_in_compose_files() -> None:
    files = _compose_files()
    assert files, "no compose file found"
    checked: set[str] = set()
    for path in files:
        doc = yaml.safe_load(path.read_text()) or {}
        for name, service in (doc.get("services") or {}).items():
            image = str(service.get("image", ""))
            if PRIVATE_SERVICES.search(name) or PRIVATE_SERVICES.search(image):
                checked.add(name)
                assert _public_ports(service) == [], f"{path.name}: {name} publishes {_public_ports(service)}"
                if name.startswith("postgres"):
                    assert not service.get("ports"), f"{path.name}: postgres is only reached through pgbouncer"
    assert {"redis", "postgres", "pgbouncer"} <= checked, checked
    # The check itself catches a public mapping.
    assert _public_ports({"ports": ["6379:6379"]}) == ["6379:6379"]
    assert _public_ports({"ports": ["0.0.0.0:5432:5432"]}) == ["0.0.0.0:5432:5432"]
    assert _public_ports({"ports": ["${DATA_PRIVATE_IP:?set it}:6379:6379", "127.0.0.1:6432:6432"]}) == []


def test_nginx_limit_req_answers_429_beyond_the_rate(tmp_path: Path) -> None:
    """The shipped nginx template, rendered with a 2 r/s rate and burst 3, in front of an upstream."""
    from tests.scaling.harness import Server, nginx_argv, nginx_loopback_config, wait_port

    upstream = free_port()
    app = Server("echo-upstream-rl", [sys.executable, "-m", "ops.httpserver", "-b", "127.0.0.1", "-p",
                                      str(upstream), "tests.scaling.echo_app:application"])
    port = free_port()
    config = nginx_loopback_config(tmp_path / "nginx", port, [upstream], rate="2r/s", burst=3, conns=100)
    assert "limit_req zone=" in config.read_text()
    nginx = Server("nginx-ratelimit", nginx_argv(config, "-g", "daemon off;"))
    try:
        wait_port(upstream, 30)
        wait_port(port, 30)
        with httpx.Client(timeout=10) as client:
            statuses = [client.get(f"http://127.0.0.1:{port}/api/games").status_code for _ in range(20)]
        assert statuses.count(200) >= 3 and statuses.count(429) >= 12, statuses
    finally:
        nginx.stop()
        app.stop()
