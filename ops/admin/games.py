"""Admin for leagues, teams and games. Upstream-owned fields are read-only: the next sync would overwrite them."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import Prefetch, QuerySet
from django.http import HttpRequest

from games.models import Game, GameProbability, League, Team
from jobs.sync import sync_league_now
from markets.models import Market, Outcome


def _enqueue_league_syncs(modeladmin: admin.ModelAdmin, request: HttpRequest, codes: set[str]) -> None:
    for code in sorted(codes):
        sync_league_now.delay(code)
    modeladmin.message_user(request, f"Re-sync queued for: {', '.join(sorted(codes))}", messages.SUCCESS)


@admin.register(League)
class LeagueAdmin(admin.ModelAdmin):
    list_display = ("code", "label", "ordering", "series", "followed", "team_count", "updated_at")
    list_filter = ("followed", "ordering")
    search_fields = ("code", "label")
    # Which leagues are followed is configuration (settings.GAMES_LEAGUES), so it is shown, not edited.
    readonly_fields = ("code", "followed", "gamma_id", "series_ids", "ordering", "tag_ids", "image", "updated_at")
    fields = ("code", "label", "followed", "gamma_id", "series_ids", "ordering", "tag_ids", "image", "updated_at")
    actions = ("resync_now",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[League]:
        from django.db.models import Count

        return super().get_queryset(request).annotate(_teams=Count("teams"))

    @admin.display(description="series")
    def series(self, obj: League) -> str:
        return ", ".join(obj.series_ids)

    @admin.display(description="teams", ordering="_teams")
    def team_count(self, obj: League) -> int:
        return obj._teams  # type: ignore[attr-defined]

    @admin.action(description="Re-sync selected leagues now (teams and games)")
    def resync_now(self, request: HttpRequest, queryset: QuerySet[League]) -> None:
        _enqueue_league_syncs(self, request, set(queryset.values_list("code", flat=True)))


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ("name", "abbreviation", "league", "record", "gamma_id")
    list_filter = ("league",)
    list_select_related = ("league",)
    search_fields = ("name", "abbreviation", "alias")
    readonly_fields = (
        "gamma_id", "league", "name", "abbreviation", "alias", "record", "logo", "color", "provider_id",
        "upstream_updated_at", "updated_at",
    )


class MarketInline(admin.TabularInline):
    model = Market
    fields = ("type", "line", "question", "active", "closed", "volume")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True
    ordering = ("type", "line")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ProbabilityInline(admin.TabularInline):
    model = GameProbability
    fields = ("recorded_at", "home", "away", "draw")
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ("-recorded_at",)
    max_num = 0


def _price(value: object) -> str:
    return "–" if value is None else f"{float(value):.3f}"  # type: ignore[arg-type]


@admin.register(Game)
class GameAdmin(admin.ModelAdmin):
    list_display = ("slug", "league", "matchup", "kickoff", "status", "score", "moneyline", "vanished_at")
    list_filter = ("league", "status", ("kickoff", admin.DateFieldListFilter), "live")
    list_select_related = ("league", "home_team", "away_team")
    search_fields = ("slug", "title", "home_team__name", "away_team__name", "home_name", "away_name")
    date_hierarchy = "kickoff"
    ordering = ("-kickoff",)
    list_per_page = 100
    inlines = (MarketInline, ProbabilityInline)
    actions = ("resync_leagues_now",)
    readonly_fields = tuple(
        f.name for f in Game._meta.get_fields() if getattr(f, "concrete", False) and f.name != "id"
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[Game]:
        moneylines = Market.objects.filter(type=Market.Type.MONEYLINE, closed=False).prefetch_related(
            Prefetch("outcomes", queryset=Outcome.objects.order_by("index"))
        )
        return super().get_queryset(request).prefetch_related(Prefetch("markets", moneylines, to_attr="moneylines"))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # games come from upstream

    @admin.display(description="matchup")
    def matchup(self, obj: Game) -> str:
        away = obj.away_team.name if obj.away_team else obj.away_name
        home = obj.home_team.name if obj.home_team else obj.home_name
        return f"{away} @ {home}" if obj.league.ordering == "away" else f"{home} vs {away}"

    @admin.display(description="score (home-away)")
    def score(self, obj: Game) -> str:
        if obj.home_score is None and obj.away_score is None:
            return obj.score_raw or "–"
        return f"{obj.home_score}-{obj.away_score}" + (f" {obj.period}" if obj.period else "")

    @admin.display(description="moneyline (home / away / draw)")
    def moneyline(self, obj: Game) -> str:
        markets = getattr(obj, "moneylines", None)
        if markets is None:
            return "–"
        home = away = draw = None
        for market in markets:
            outcomes = list(market.outcomes.all())
            if [o.label.lower() for o in outcomes] == ["yes", "no"]:
                yes = outcomes[0]
                if yes.team_id and yes.team_id == obj.home_team_id:
                    home = yes.price
                elif yes.team_id and yes.team_id == obj.away_team_id:
                    away = yes.price
                else:
                    draw = yes.price
                continue
            for outcome in outcomes:
                if outcome.team_id and outcome.team_id == obj.home_team_id:
                    home = outcome.price
                elif outcome.team_id and outcome.team_id == obj.away_team_id:
                    away = outcome.price
        parts = [_price(home), _price(away)] + ([_price(draw)] if draw is not None else [])
        return " / ".join(parts)

    @admin.action(description="Re-sync the leagues of the selected games now")
    def resync_leagues_now(self, request: HttpRequest, queryset: QuerySet[Game]) -> None:
        _enqueue_league_syncs(self, request, set(queryset.values_list("league__code", flat=True)))
