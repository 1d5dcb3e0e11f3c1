"""`python -m ops.metrics_server`: the Prometheus endpoint of a workers container.

Celery workers, beat and the stream worker have no HTTP server, so `manage.py serve` starts this tiny
one next to them (on METRICS_PORT, BIND_HOST). It serves the container's multiprocess directory, i.e.
the sum over every worker process, including pool children that have already been replaced.
"""

from __future__ import annotations

import os
import signal
import sys
import threading

from django.conf import settings
from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.multiprocess import MultiProcessCollector

from core.metrics_cluster import ClusterCollector


def metrics_server_run(host: str, port: int) -> int:
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        sys.stderr.write("ops.metrics_server: PROMETHEUS_MULTIPROC_DIR is not set\n")
        return 2
    registry = CollectorRegistry()
    registry.register(ClusterCollector())  # first: a Redis error it meets is counted in the same scrape
    MultiProcessCollector(registry)
    try:
        server, thread = start_http_server(port, addr=host, registry=registry)
    except OSError as exc:
        sys.stderr.write(
            f"ops.metrics_server: cannot listen on {host}:{port} ({exc.strerror}); several workers instances on "
            "one host need distinct METRICS_PORT values (0 turns the endpoint off)\n"
        )
        return os.EX_CONFIG  # the supervisor does not restart a child that exits with it
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    while not stop.wait(0.5):  # short waits: the signal handler runs between them
        pass
    server.shutdown()
    thread.join(5)
    return 0


if __name__ == "__main__":
    raise SystemExit(metrics_server_run(settings.BIND_HOST, settings.METRICS_PORT))
