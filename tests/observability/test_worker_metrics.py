"""The workers container: Celery task metrics on METRICS_PORT (summed over worker processes) and
worker/beat logs as JSON lines with the stable keys."""

from __future__ import annotations

import sys

import httpx
import pytest

from mevu.celery import app
from tests.conftest import free_port, wait_until
from tests.observability.helpers import json_log_lines, scrape, total, value

TASK = "celery.accumulate"  # Celery built-in: returns its args, or args[index] (IndexError when out of range)


def test_worker_metrics_count_task_runs_failures_and_durations(service_env, spawn) -> None:
    metrics_port, dead = free_port(), free_port()
    env = {**service_env, "APP_MODE": "workers", "METRICS_PORT": str(metrics_port), "BIND_HOST": "127.0.0.1",
           "LOG_FORMAT": "json", "MEVU_UPSTREAM": "live",
           # Upstream unreachable on loopback: beat's polling tasks fail fast instead of waiting on DNS, and
           # give up at once (no back-off retries for the stop at the end to wait out).
           "UPSTREAM_MAX_RETRIES": "0",
           "GAMMA_URL": f"http://127.0.0.1:{dead}/gamma", "CLOB_URL": f"http://127.0.0.1:{dead}/clob",
           "CLOB_WS_URL": f"ws://127.0.0.1:{dead}/ws", "SPORTS_WS_URL": f"ws://127.0.0.1:{dead}/sports"}
    serve = spawn("obs-workers", [sys.executable, "manage.py", "serve"], env)
    url = f"http://127.0.0.1:{metrics_port}/metrics"
    wait_until(lambda: httpx.get(url, timeout=2).status_code == 200, 60)

    results = [app.send_task(TASK, args=(i, i + 1), queue="sports") for i in range(5)]
    assert [r.get(timeout=60) for r in results] == [[i, i + 1] for i in range(5)]
    failing = app.send_task(TASK, args=(1,), kwargs={"index": 3}, queue="sports")
    with pytest.raises(IndexError):
        failing.get(timeout=60)

    def settled() -> dict | None:
        samples, _ = scrape(url)
        return samples if total(samples, "mevu_celery_task_runs_total", task=TASK) == 6 else None

    samples = wait_until(settled, 20)
    assert value(samples, "mevu_celery_task_runs_total", task=TASK, state="SUCCESS") == 5
    assert value(samples, "mevu_celery_task_runs_total", task=TASK, state="FAILURE") == 1
    assert value(samples, "mevu_celery_task_failures_total", task=TASK, exception="IndexError") == 1
    assert value(samples, "mevu_celery_task_duration_seconds_count", task=TASK) == 6
    assert value(samples, "mevu_celery_tasks_running", task=TASK) == 0

    def pipeline_tasks_seen() -> bool:  # beat schedules the pipeline's own tasks; workers run them
        samples, _ = scrape(url)
        other = {dict(labels)["task"] for (name, labels), v in samples.items()
                 if name in ("mevu_celery_task_runs_total", "mevu_celery_tasks_running") and v > 0}
        return bool(other - {TASK})

    wait_until(pipeline_tasks_seen, 30)

    # Nothing but JSON lines on stdout/stderr while running: worker, stream worker, beat, supervisor. The stream
    # worker starts beside the sports worker, but nothing above waits for it: wait for its first lines here.
    def every_role_logged() -> list[dict] | None:
        logs = json_log_lines(serve.log())
        return logs if {"supervisor", "sports", "stream", "beat"} <= {line["role"] for line in logs} else None

    logs = wait_until(every_role_logged, 30)
    assert any(line["logger"].startswith("celery") and line["role"] == "beat" for line in logs)
    failed = [line for line in logs if line["level"] == "ERROR" and line.get("task_id") == failing.id]
    assert failed and failed[0]["task"] == TASK and "IndexError" in failed[0]["exc"]
