"""The Celery app: Redis broker, two queues (`sports` for polling, `stream` for the socket holder)."""

from __future__ import annotations

import os

from celery import Celery, signals
from kombu import Exchange, Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mevu.settings")

app = Celery("mevu")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.task_queues = tuple(Queue(name, Exchange(name), routing_key=name) for name in ("sports", "stream"))
app.autodiscover_tasks()

# Observability: worker/beat logs through LOGGING (JSON), task metrics, DB error counting.
from mevu.observability import observability_install_celery, observability_install_django  # noqa: E402

observability_install_celery()
observability_install_django()


def _beat_schedule() -> dict:
    from games.schedule import beat_schedule

    return beat_schedule()


app.conf.beat_schedule = _beat_schedule()


@signals.worker_ready.connect
def _worker_heartbeat(sender: object = None, **_: object) -> None:
    from realtime.heartbeats import heartbeat_start_thread

    queues = sorted(q.name for q in sender.app.amqp.queues.consume_from.values())  # type: ignore[attr-defined]
    heartbeat_start_thread("worker", sender.hostname, {"queues": queues})  # type: ignore[attr-defined]


@signals.beat_init.connect
def _beat_heartbeat(sender: object = None, **_: object) -> None:
    # Only the RedBeat lock holder reports as "beat"; beats waiting for the lock report "beat-standby".
    from mevu.beat import beat_heartbeat_start

    beat_heartbeat_start(sender.scheduler)  # type: ignore[attr-defined]
