"""Container healthcheck (Dockerfile HEALTHCHECK): `python -m ops.healthcheck`; exit 0 = healthy.

http / all: GET /health on this container's port answers 200 (the process serves requests).
workers:    this container's Celery `sports` and `stream` workers have a live heartbeat in Redis, and its
            beat reports as holder or standby (the beat lock is cluster-wide, so standby is healthy).
"""

from __future__ import annotations

import os
import socket
import sys
import urllib.request

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mevu.settings")  # before core.redis reads the settings

from django.conf import settings

from core.heartbeats import heartbeat_key
from core.redis import redis_sync


def _http_host() -> str:
    # Django answers 400 to a Host outside ALLOWED_HOSTS; ask with a name it accepts.
    for host in settings.ALLOWED_HOSTS or ["localhost"]:
        host = host.strip().lstrip(".")
        if host and host != "*":
            return host
    return "localhost"


def http_healthy(port: int, timeout_s: float = 3.0) -> bool:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/health", headers={"Host": _http_host()})
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            return response.status == 200
    except OSError:
        return False


def workers_healthy(hostname: str) -> bool:
    client = redis_sync()
    needed = [heartbeat_key("worker", f"{queue}@{hostname}") for queue in ("sports", "stream")]
    if client.exists(*needed) != len(needed):
        return False
    beats = [*client.scan_iter(match=heartbeat_key("beat*", f"{socket.gethostname()}:*"), count=500)]
    return bool(beats)


def main() -> int:
    mode = settings.APP_MODE
    ok = True
    if mode in ("http", "all"):
        ok = ok and http_healthy(settings.PORT)
    if mode in ("workers", "all"):
        ok = ok and workers_healthy(settings.MEVU_NODE_NAME or socket.gethostname())
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
