"""Building blocks: bounded route labels, backend error counting, the multiprocess directory sweep."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap

import pytest
import redis
from django.db import ProgrammingError, connection
from prometheus_client import CollectorRegistry
from prometheus_client.multiprocess import MultiProcessCollector

from core import metrics
from core.metrics_cluster import metrics_render
from ops.metrics_asgi import route_label, ws_route_label
from tests.conftest import free_port, wait_until


def _value(counter: object, *labels: str) -> float:
    return counter.labels(*labels)._value.get()  # type: ignore[attr-defined]


def test_route_labels_are_url_templates_and_unknown_paths_fold_into_unmatched() -> None:
    assert route_label("/api/health") == "api/health"
    assert route_label("/health") == "health"
    assert route_label("/metrics") == "metrics"
    assert route_label("/static/app.js") == "static"
    assert route_label("/wp-login.php") == "unmatched"
    assert route_label("/api/" + "x" * 300) == "unmatched"
    assert ws_route_label("/ws/games") == "ws/games"
    assert ws_route_label("/ws/games/123") == "ws/games/*"
    assert ws_route_label("/evil/../x") == "other"


def test_redis_errors_are_counted_once_even_when_rewrapped() -> None:
    client = redis.Redis(host="127.0.0.1", port=free_port(), socket_connect_timeout=1)
    before = _value(metrics.REDIS_ERRORS, "ConnectionError")
    with pytest.raises(redis.ConnectionError) as caught:
        client.ping()
    assert metrics.backend_error(caught.value) is True
    try:
        raise RuntimeError("task failed") from caught.value
    except RuntimeError as wrapper:
        assert metrics.backend_error(wrapper) is False  # the cause was already counted
    assert _value(metrics.REDIS_ERRORS, "ConnectionError") == before + 1
    assert metrics.backend_error(ValueError("not a backend error")) is False


@pytest.mark.django_db
def test_postgres_errors_are_counted_by_the_execute_wrapper() -> None:
    connection.ensure_connection()
    from ops.observability import _on_db_connection

    _on_db_connection(connection=connection)  # the test DB connection predates the signal receiver
    before = _value(metrics.POSTGRES_ERRORS, "ProgrammingError")
    with pytest.raises(ProgrammingError), connection.cursor() as cursor:
        cursor.execute("SELECT * FROM no_such_table_for_metrics")
    assert _value(metrics.POSTGRES_ERRORS, "ProgrammingError") == before + 1


_CHILD = textwrap.dedent(
    """
    from prometheus_client import Counter, Gauge
    Gauge("demo_connections", "h", multiprocess_mode="livesum").inc(3)
    Counter("demo_requests", "h").inc(5)
    print("ready", flush=True)
    import time
    time.sleep(60)
    """
)


def _samples(path: str) -> dict[str, float]:
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=path)
    return {s.name: s.value for family in registry.collect() for s in family.samples}


def test_killed_process_live_gauges_vanish_but_its_counters_stay(tmp_path) -> None:
    path, created = metrics.metrics_dir_prepare({"PROMETHEUS_MULTIPROC_DIR": str(tmp_path)})
    assert (path, created) == (str(tmp_path), False)
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": path}
    children = [subprocess.Popen([sys.executable, "-c", _CHILD], env=env, stdout=subprocess.PIPE) for _ in range(2)]
    try:
        for child in children:
            assert child.stdout.readline().strip() == b"ready"  # type: ignore[union-attr]
        assert _samples(path) == {"demo_connections": 6.0, "demo_requests_total": 10.0}
        assert metrics.metrics_dir_sweep(path) == []  # both alive: nothing to forget

        children[0].send_signal(signal.SIGKILL)
        children[0].wait(10)
        assert metrics.metrics_dir_sweep(path) == [children[0].pid]
        assert _samples(path) == {"demo_connections": 3.0, "demo_requests_total": 10.0}
    finally:
        for child in children:
            child.kill()
            child.wait(10)
    wait_until(lambda: metrics.metrics_dir_sweep(path) == [children[1].pid], 5)
    assert _samples(path) == {"demo_requests_total": 10.0}


def test_metrics_dir_prepare_empties_a_given_dir_and_removes_only_a_private_one(tmp_path) -> None:
    (tmp_path / "counter_1.db").write_bytes(b"stale")
    (tmp_path / "keep.txt").write_text("not ours")
    env: dict[str, str] = {"PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    path, created = metrics.metrics_dir_prepare(env)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.txt"] and not created
    metrics.metrics_dir_remove(path, created)
    assert tmp_path.exists()

    env = {}
    path, created = metrics.metrics_dir_prepare(env)
    assert created and env["PROMETHEUS_MULTIPROC_DIR"] == path and os.path.isdir(path)
    metrics.metrics_dir_remove(path, created)
    assert not os.path.exists(path)


def _rendered() -> dict[tuple[str, frozenset], float]:
    from prometheus_client.parser import text_string_to_metric_families

    body, _ = metrics_render()
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(body.decode()) for s in family.samples}


def test_cluster_lease_facts_come_from_redis_at_scrape_time() -> None:
    from core.lease import lease_acquire, lease_release

    held = ("mevu_lease_cluster_held", frozenset({("lease", "stream")}))
    fence = ("mevu_lease_cluster_fencing_token", frozenset({("lease", "stream")}))
    before = _rendered()
    assert before[("mevu_redis_up", frozenset())] == 1 and before[held] == 0
    lease = lease_acquire("stream", "test-holder", 5000)
    assert lease is not None
    during = _rendered()
    assert during[held] == 1 and during[fence] == lease.token
    lease_release(lease)
    assert _rendered()[held] == 0


def test_a_scrape_still_answers_when_redis_is_down() -> None:
    code = ("from core.metrics_cluster import metrics_render; body, _ = metrics_render(); import sys; "
            "sys.stdout.write(body.decode())")
    env = {**os.environ, "REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, timeout=60, text=True)
    assert out.returncode == 0, out.stderr
    assert "mevu_redis_up 0.0" in out.stdout and "mevu_lease_cluster_held" not in out.stdout
    assert 'mevu_redis_errors_total{kind="ConnectionError"} 1.0' in out.stdout


def test_private_dirs_of_killed_supervisors_are_removed_at_the_next_start() -> None:
    import tempfile
    from pathlib import Path

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait(10)
    base = Path(tempfile.gettempdir())
    orphan = base / f"mevu-metrics-{dead.pid}-testorphan"
    alive = base / f"mevu-metrics-{os.getpid()}-testalive"
    for path in (orphan, alive):
        path.mkdir()
        (path / "counter_1.db").write_bytes(b"x")
    try:
        env: dict[str, str] = {}
        path, created = metrics.metrics_dir_prepare(env)
        assert created and Path(path).name.startswith(f"mevu-metrics-{os.getpid()}-")
        assert not orphan.exists() and alive.exists()
        metrics.metrics_dir_remove(path, created)
    finally:
        shutil.rmtree(orphan, ignore_errors=True)
        shutil.rmtree(alive, ignore_errors=True)
