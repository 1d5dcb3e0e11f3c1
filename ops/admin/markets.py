"""Admin for markets and their outcome tokens (all upstream-owned, so read-only)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from markets.models import Market, Outcome


class OutcomeInline(admin.TabularInline):
    model = Outcome
    fields = ("index", "label", "team", "best_bid", "best_ask", "last_trade", "price", "price_updated_at", "token_id")
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ("index",)

    def get_queryset(self, request: HttpRequest) -> Any:
        return super().get_queryset(request).select_related("team")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Market)
class MarketAdmin(admin.ModelAdmin):
    list_display = ("question", "game", "type", "line", "active", "closed", "volume")
    list_filter = ("type", "closed", "game__league")
    list_select_related = ("game",)
    search_fields = ("question", "slug", "condition_id", "game__slug")
    raw_id_fields = ("game",)
    inlines = (OutcomeInline,)
    readonly_fields = (
        "condition_id", "gamma_id", "game", "type", "sports_market_type", "line", "question", "slug",
        "group_item_title", "active", "closed", "volume", "liquidity", "updated_at",
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(Outcome)
class OutcomeAdmin(admin.ModelAdmin):
    list_display = ("label", "market", "team", "best_bid", "best_ask", "last_trade", "price")
    list_select_related = ("market", "team")
    search_fields = ("token_id", "label", "market__question")
    readonly_fields = (
        "token_id", "market", "label", "index", "team", "best_bid", "best_ask", "last_trade", "price",
        "price_updated_at",
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

