"""The Celery app: Redis broker, two queues (`sports` for polling, `stream` for the socket holder)."""

from __future__ import annotations

import os

from celery import Celery, signals
from kombu import Exchange, Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mevu.settings")

app = Celery("mevu", include=["jobs.sync", "jobs.stream"])  # task modules (their names stay games./markets.tasks)
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.task_queues = tuple(Queue(name, Exchange(name), routing_key=name) for name in ("sports", "stream"))


# Connected before ops.beat imports RedBeat: RedBeat's own beat_init receiver blocks a standby beat until it
# holds the lock, and receivers run in the order they were connected, so this one must come first.
@signals.beat_init.connect
def _beat_heartbeat(sender: object = None, **_: object) -> None:
    # Only the RedBeat lock holder reports as "beat"; beats waiting for the lock report "beat-standby".
    beat_heartbeat_start(sender.scheduler)  # type: ignore[attr-defined]


# Observability: worker/beat logs through LOGGING (JSON), task metrics, DB error counting.
from core.heartbeats import heartbeat_start_thread  # noqa: E402
from jobs.schedule import beat_schedule  # noqa: E402
from ops.beat import beat_heartbeat_start  # noqa: E402
from ops.observability import observability_install_celery, observability_install_django  # noqa: E402

observability_install_celery()
observability_install_django()


app.conf.beat_schedule = beat_schedule()


@signals.worker_ready.connect
def _worker_heartbeat(sender: object = None, **_: object) -> None:
    queues = sorted(q.name for q in sender.app.amqp.queues.consume_from.values())  # type: ignore[attr-defined]
    heartbeat_start_thread("worker", sender.hostname, {"queues": queues})  # type: ignore[attr-defined]

