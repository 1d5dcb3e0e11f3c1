from django.contrib import admin
from django.urls import path

from api.app import api
from delivery.board import board_page_view, game_page_view
from delivery.sse import games_stream_view
from ops.health import health_view, readiness_view, ws_health_view

urlpatterns = [
    path("health", health_view),
    path("api/health", readiness_view),
    path("ws/health", ws_health_view),
    path("admin/", admin.site.urls),
    path("api/games/stream", games_stream_view),  # SSE; before the ninja include, which owns api/
    path("api/", api.urls),
    path("", board_page_view, name="board"),  # the live board (delivery/board.py)
    path("games/<str:slug>", game_page_view, name="board-game"),
]
