from django.contrib import admin
from django.urls import path

from api.app import api, api_index_view
from api.gamepage import api_docs_redirect
from delivery.board import board_page_view, game_page_view
from delivery.sse import activity_stream_view, games_stream_view
from ops.health import health_view, readiness_view, ws_health_view

urlpatterns = [
    path("health", health_view),
    path("api/health", readiness_view),
    path("ws/health", ws_health_view),
    path("admin/", admin.site.urls),
    path("api/games/stream", games_stream_view),  # SSE; before the ninja include, which owns api/
    path("api/activitywatcher/<str:slug>/stream", activity_stream_view),  # SSE, same
    path("api", api_index_view),  # the original's `GET /api` (no slash)
    path("api-docs", api_docs_redirect),  # the original's Swagger UI path
    path("api/", api.urls),
    path("", board_page_view, name="board"),  # the live board (delivery/board.py)
    path("games/<str:slug>", game_page_view, name="board-game"),
]
