from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from ops.supervisor import Supervisor


class Command(BaseCommand):
    help = "Run the processes of APP_MODE (http|workers|all) and supervise them."

    def handle(self, *args: Any, **options: Any) -> None:
        supervisor = Supervisor(settings.APP_MODE, settings.WORKER_COUNT, settings.PORT, settings.SPORTS_CONCURRENCY)
        code = supervisor.run()
        raise SystemExit(code)
