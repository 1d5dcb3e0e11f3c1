"""`/metrics` never leaves the private network: the shipped nginx template (rendered for loopback as in
tests/scaling) hides it, and the application itself refuses it to anything that came through a proxy."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import httpx

from tests.conftest import daphne_argv, free_port, wait_until
from tests.scaling.harness import Server, nginx_argv, nginx_loopback_config, wait_port

METRICS_LOCATIONS = re.compile(r"\n\s*location (= /metrics|\^~ /metrics/) \{[^}]*\}")


def _nginx(tmp_path: Path, name: str, upstream: int, *, strip_metrics_deny: bool = False) -> tuple[Server, int]:
    port = free_port()
    config = nginx_loopback_config(tmp_path / name, port, [upstream])
    if strip_metrics_deny:  # an operator's broken copy of the template
        text, removed = METRICS_LOCATIONS.subn("", config.read_text())
        assert removed == 2
        config.write_text(text)
    checked = subprocess.run(nginx_argv(config, "-t"), capture_output=True, text=True, timeout=30)
    assert checked.returncode == 0, checked.stderr
    server = Server(name, nginx_argv(config, "-g", "daemon off;"))
    wait_port(port, 30)
    return server, port


def test_metrics_are_private_behind_the_shipped_nginx_and_even_behind_a_broken_one(
    service_env, spawn, tmp_path
) -> None:
    app_port = free_port()
    spawn("daphne-metrics", daphne_argv(app_port), service_env)
    direct = f"http://127.0.0.1:{app_port}"
    wait_until(lambda: httpx.get(f"{direct}/health", timeout=2).status_code == 200, 60)

    nginx, port = _nginx(tmp_path, "nginx-shipped", app_port)
    broken, broken_port = _nginx(tmp_path, "nginx-broken", app_port, strip_metrics_deny=True)
    try:
        public = f"http://127.0.0.1:{port}"
        proxied_health = httpx.get(f"{public}/health", timeout=10)
        assert proxied_health.status_code == 200 and "x-instance-id" in proxied_health.headers  # reaches the app
        for path in ("/metrics", "/metrics/", "/metrics?format=text", "/metrics/../metrics"):
            hidden = httpx.get(public + path, timeout=10)
            assert hidden.status_code == 404 and b"mevu_" not in hidden.content, path

        # Without nginx's deny, the app still answers 404 to the proxied request (its own JSON body).
        leaked = httpx.get(f"http://127.0.0.1:{broken_port}/metrics", timeout=10)
        assert leaked.status_code == 404 and leaked.json() == {"error": "not found"}
        assert b"mevu_" not in leaked.content

        # The private side works, and saw the public requests.
        private = httpx.get(f"{direct}/metrics", timeout=10)
        assert private.status_code == 200
        assert re.search(r'mevu_http_requests_total\{method="GET",route="health",status="200"\} [1-9]', private.text)
        assert re.search(r'mevu_http_requests_total\{method="GET",route="metrics",status="404"\} 1\.0', private.text)
    finally:
        nginx.stop()
        broken.stop()
