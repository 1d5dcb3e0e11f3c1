"""Admin page of the price stream: who holds the lease (holder, token, age, renewals) and its counters.

Registered on the StreamFence model (Markets > Stream fences); everything is read-only.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse

from core.lease import lease_status
from markets.models import StreamFence
from stream.program import LEASE_NAME, stream_metrics_read


class StreamFenceAdmin(admin.ModelAdmin):
    list_display = ("name", "token", "updated_at")
    readonly_fields = ("name", "token", "updated_at")
    change_list_template = "admin/markets/streamfence/change_list.html"

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        try:
            lease: dict[str, Any] | None = lease_status(LEASE_NAME)
            metrics = stream_metrics_read()
        except Exception as exc:  # Redis down: the page still renders and says so
            lease, metrics = None, {"error": f"{type(exc).__name__}: {exc}"}
        context = {
            **(extra_context or {}),
            "lease": lease,
            "lease_rows": sorted((lease or {}).items()),
            "metrics": metrics,
            "counters": sorted(((metrics or {}).get("counters") or {}).items()),
            "sockets": (metrics or {}).get("sockets") or [],
        }
        return super().changelist_view(request, extra_context=context)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


admin.site.register(StreamFence, StreamFenceAdmin)
