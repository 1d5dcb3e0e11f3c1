"""Leagues, teams and games as Gamma describes them, plus the live score state from the sports socket."""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.db import models


class League(models.Model):
    class Ordering(models.TextChoices):
        HOME = "home", "home team listed first"
        AWAY = "away", "away team listed first"

    code = models.CharField(max_length=40, unique=True, help_text="Gamma /sports `sport` code, e.g. nba")
    gamma_id = models.IntegerField(null=True, blank=True)
    label = models.CharField(max_length=120, blank=True)
    series_ids = ArrayField(models.CharField(max_length=20), default=list, blank=True)
    ordering = models.CharField(max_length=4, choices=Ordering.choices, default=Ordering.HOME)
    tag_ids = ArrayField(models.CharField(max_length=20), default=list, blank=True)
    image = models.URLField(max_length=500, blank=True)
    followed = models.BooleanField(default=True, help_text="Games of this league are ingested")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.code


class Team(models.Model):
    gamma_id = models.BigIntegerField(unique=True)
    league = models.ForeignKey(League, on_delete=models.CASCADE, related_name="teams")
    name = models.CharField(max_length=200)
    abbreviation = models.CharField(max_length=40, blank=True)
    alias = models.CharField(max_length=200, blank=True)
    record = models.CharField(max_length=40, blank=True)
    logo = models.URLField(max_length=500, blank=True)
    color = models.CharField(max_length=20, blank=True)
    provider_id = models.CharField(max_length=60, blank=True)
    upstream_created_at = models.DateTimeField(null=True, blank=True)
    upstream_updated_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["league__code", "name"]
        indexes = [models.Index(fields=["league", "abbreviation"], name="team_league_abbr")]

    def __str__(self) -> str:
        return f"{self.name} ({self.abbreviation})"


class Game(models.Model):
    class Status(models.TextChoices):
        SCHEDULED = "scheduled"
        LIVE = "live"
        FINAL = "final"
        POSTPONED = "postponed"
        CANCELED = "canceled"

    gamma_id = models.CharField(max_length=30, unique=True, help_text="Gamma event id")
    slug = models.CharField(max_length=255, unique=True)
    ticker = models.CharField(max_length=255, blank=True)
    title = models.CharField(max_length=500)
    league = models.ForeignKey(League, on_delete=models.PROTECT, related_name="games")
    series_id = models.CharField(max_length=20, blank=True)
    home_team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    away_team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    home_name = models.CharField(max_length=200, blank=True)
    away_name = models.CharField(max_length=200, blank=True)
    kickoff = models.DateTimeField(null=True, blank=True, db_index=True)
    game_id = models.BigIntegerField(null=True, blank=True, help_text="Gamma/sports-socket gameId")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.SCHEDULED)
    live = models.BooleanField(default=False)
    ended = models.BooleanField(default=False)
    active = models.BooleanField(default=True)
    closed = models.BooleanField(default=False)
    score_raw = models.CharField(max_length=80, blank=True)
    home_score = models.IntegerField(null=True, blank=True)
    away_score = models.IntegerField(null=True, blank=True)
    period = models.CharField(max_length=30, blank=True)
    elapsed = models.CharField(max_length=30, blank=True)
    period_scores = models.JSONField(default=dict, blank=True)
    volume = models.FloatField(default=0)
    volume_24h = models.FloatField(default=0)
    liquidity = models.FloatField(default=0)
    comment_count = models.IntegerField(null=True, blank=True)
    image = models.URLField(max_length=500, blank=True)
    # Event metadata the original's LiveGame carries (Gamma /events), kept as sent.
    description = models.TextField(blank=True)
    resolution_source = models.URLField(max_length=500, blank=True)
    listed_at = models.DateTimeField(null=True, blank=True, help_text="Gamma `startDate`: when it was listed")
    end_date = models.DateTimeField(null=True, blank=True, help_text="Gamma `endDate` (≈ kickoff for games)")
    tags = models.JSONField(default=list, blank=True, help_text="[{id, label, slug}]")
    neg_risk = models.BooleanField(default=False)
    neg_risk_market_id = models.CharField(max_length=80, blank=True)
    upstream_created_at = models.DateTimeField(null=True, blank=True)
    vanished_at = models.DateTimeField(null=True, blank=True, help_text="No longer listed upstream")
    upstream_updated_at = models.DateTimeField(null=True, blank=True)
    score_updated_at = models.DateTimeField(null=True, blank=True)
    content_hash = models.CharField(
        max_length=32, blank=True,
        help_text="Digest of the Gamma event(s) this row was last written from; '' = re-parse at the next sync",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["kickoff", "id"]
        indexes = [
            models.Index(fields=["game_id"], name="game_gameid"),
            models.Index(fields=["status", "kickoff"], name="game_status_kickoff"),
            models.Index(fields=["league", "status", "kickoff"], name="game_league_status_kickoff"),
        ]

    def __str__(self) -> str:
        return self.slug


class GameProbability(models.Model):
    """A snapshot of a game's moneyline probabilities (0-100), oriented home/away."""

    game = models.ForeignKey(Game, on_delete=models.CASCADE, related_name="probabilities")
    recorded_at = models.DateTimeField()
    home = models.FloatField()
    away = models.FloatField()
    draw = models.FloatField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["game", "-recorded_at"], name="prob_game_time"),
            models.Index(fields=["recorded_at"], name="prob_time"),
        ]
