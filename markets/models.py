"""Markets of a game, their outcome tokens with the latest prices, and compact price history."""

from __future__ import annotations

from django.db import models

from games.models import Game, Team

PRICE = {"max_digits": 7, "decimal_places": 4, "null": True, "blank": True}


class Market(models.Model):
    class Type(models.TextChoices):
        MONEYLINE = "moneyline"
        SPREADS = "spreads"
        TOTALS = "totals"
        OTHER = "other"

    condition_id = models.CharField(max_length=80, unique=True)
    gamma_id = models.CharField(max_length=30, blank=True)
    game = models.ForeignKey(Game, on_delete=models.CASCADE, related_name="markets")
    type = models.CharField(max_length=10, choices=Type.choices, default=Type.OTHER)
    sports_market_type = models.CharField(max_length=60, blank=True, help_text="Raw Gamma value")
    line = models.FloatField(null=True, blank=True)
    question = models.CharField(max_length=500)
    slug = models.CharField(max_length=255, blank=True)
    group_item_title = models.CharField(max_length=200, blank=True)
    active = models.BooleanField(default=True)
    closed = models.BooleanField(default=False)
    volume = models.FloatField(default=0)
    liquidity = models.FloatField(default=0)
    neg_risk = models.BooleanField(default=False)
    neg_risk_market_id = models.CharField(max_length=80, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["game_id", "type", "line", "id"]
        indexes = [models.Index(fields=["game", "type"], name="market_game_type")]

    def __str__(self) -> str:
        return self.question


class Outcome(models.Model):
    token_id = models.CharField(max_length=100, unique=True, help_text="CLOB token (asset) id")
    market = models.ForeignKey(Market, on_delete=models.CASCADE, related_name="outcomes")
    label = models.CharField(max_length=200)
    index = models.PositiveSmallIntegerField()
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    best_bid = models.DecimalField(**PRICE)
    best_ask = models.DecimalField(**PRICE)
    last_trade = models.DecimalField(**PRICE)
    price = models.DecimalField(**PRICE, help_text="Mid when both sides exist, else Gamma's price")
    price_updated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["market_id", "index"]
        constraints = [models.UniqueConstraint(fields=["market", "index"], name="outcome_market_index")]

    def __str__(self) -> str:
        return self.label


class PricePoint(models.Model):
    """One price per token per minute while live: compact history for charts."""

    token_id = models.CharField(max_length=100)
    minute = models.DateTimeField()
    price = models.DecimalField(max_digits=7, decimal_places=4)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["token_id", "minute"], name="pricepoint_token_minute")]
        indexes = [models.Index(fields=["minute"], name="pricepoint_minute")]


class StreamFence(models.Model):
    """The current fencing token of a lease, as PostgreSQL sees it.

    The stream holder advances it right after acquiring the Redis lease and locks/compares it (FOR UPDATE)
    at the start of every write transaction, so a stale holder can never commit.
    """

    name = models.CharField(max_length=60, unique=True)
    token = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.name}#{self.token}"
