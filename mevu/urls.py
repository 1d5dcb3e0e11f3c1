from django.contrib import admin
from django.urls import path

from mevu.api import api
from mevu.health import health_view, readiness_view, ws_health_view

urlpatterns = [
    path("health", health_view),
    path("api/health", readiness_view),
    path("ws/health", ws_health_view),
    path("admin/", admin.site.urls),
    path("api/", api.urls),
]
