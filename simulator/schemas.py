"""Wire schemas shared by the recordings and the simulator (strict pydantic models).

Each model states field names, JSON types and the string conventions of the real services
(upstream README §1-§5). Strict mode: a string is never accepted for a number, a number never for a
string, and a bool never for an int. Unknown keys are allowed everywhere (the real APIs add keys all
the time); the fields listed here are the ones clients rely on.

Conventions encoded here:
* Gamma ``outcomes``/``outcomePrices``/``clobTokenIds``/``umaResolutionStatuses`` are JSON-encoded
  *strings* written with ``", "`` separators, index-aligned with each other.
* Gamma ids are strings for events/markets/series/tags, integers for ``/sports`` entries, teams and
  the event ``gameId``; market ``volume``/``liquidity`` are strings, event ones numbers.
* Timestamps: ISO ``...Z`` (optionally with fraction), Postgres ``YYYY-MM-DD HH:MM:SS+00``, bare dates.
* CLOB prices and sizes are decimal strings; ``timestamp`` is epoch ms as a string; ``hash`` 40 hex;
  ``bids`` ascending and ``asks`` descending (best last); ``last_trade_price`` has 3 decimals or is "".
* Sports socket frames are single objects without a ``type``/``event_type`` key.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel, StringConstraints, field_validator, model_validator

DecimalStr = Annotated[str, StringConstraints(pattern=r"^\d+(\.\d+)?$")]
OptDecimalStr = Annotated[str, StringConstraints(pattern=r"^(\d+(\.\d+)?)?$")]  # "" when the side is empty
TokenId = Annotated[str, StringConstraints(pattern=r"^\d{30,80}$")]
ConditionId = Annotated[str, StringConstraints(pattern=r"^0x[0-9a-fA-F]{64}$")]
Sha1Hex = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{40}$")]
MsTimestamp = Annotated[str, StringConstraints(pattern=r"^\d{13}$")]
IdStr = Annotated[str, StringConstraints(pattern=r"^\d+$")]
IsoTime = Annotated[str, StringConstraints(pattern=r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$")]
PgTime = Annotated[str, StringConstraints(pattern=r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d{1,6})?\+00$")]
BareDate = Annotated[str, StringConstraints(pattern=r"^\d{4}-\d{2}-\d{2}$")]
LastTradePriceStr = Annotated[str, StringConstraints(pattern=r"^(\d\.\d{3})?$")]
Side = Literal["BUY", "SELL"]


class Wire(BaseModel):
    model_config = ConfigDict(strict=True, extra="allow")


def decode_json_string_list(value: str, field: str) -> list[str]:
    """Decode a Gamma JSON-encoded string field and check the server's ``", "`` formatting."""
    try:
        decoded = json.loads(value)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{field} is not a JSON-encoded string: {exc}") from exc
    if not isinstance(decoded, list) or not all(isinstance(x, str) for x in decoded):
        raise ValueError(f"{field} must encode a list of strings")
    if value not in (json.dumps(decoded), json.dumps(decoded, ensure_ascii=False)):
        raise ValueError(f'{field} must use the server\'s ", " separators, got {value!r}')
    return decoded


# ---------------------------------------------------------------------- Gamma
class SportsEntry(Wire):
    id: int
    sport: str
    image: str
    resolution: str
    ordering: Literal["home", "away"]
    tags: str  # comma-separated tag ids in ONE string ("1,745,100639")
    series: str  # a series id as a string
    createdAt: IsoTime | None = None


class SportsList(RootModel[list[SportsEntry]]):
    model_config = ConfigDict(strict=True)


class MarketTypes(Wire):
    marketTypes: list[str]

    @field_validator("marketTypes")
    @classmethod
    def _has_game_lines(cls, value: list[str]) -> list[str]:
        missing = {"moneyline", "spreads", "totals"} - set(value)
        if missing:
            raise ValueError(f"missing market types {sorted(missing)}")
        return value


class Team(Wire):
    id: int
    name: str | None = None
    league: str | None = None
    record: str | None = None  # "(14-5)" or ""
    logo: str | None = None
    abbreviation: str | None = None  # lower case, as in event slugs
    alias: str | None = None  # omitted when null
    createdAt: IsoTime | None = None
    updatedAt: IsoTime | None = None
    color: str | None = None

    @field_validator("abbreviation")
    @classmethod
    def _lower(cls, value: str | None) -> str | None:
        if value is not None and value != value.lower():
            raise ValueError("team abbreviations are lower case")
        return value


class TeamList(RootModel[list[Team]]):
    model_config = ConfigDict(strict=True)


class Tag(Wire):
    id: IdStr
    label: str
    slug: str


class SeriesRef(Wire):
    id: IdStr
    slug: str | None = None
    title: str | None = None


class EventStub(Wire):
    """Event objects embedded in ``/markets`` responses and in series (no markets)."""

    id: IdStr
    slug: str
    title: str | None = None
    series: list[SeriesRef] | None = None


class Market(Wire):
    id: IdStr
    question: str
    conditionId: ConditionId
    slug: str
    outcomes: str
    outcomePrices: str
    clobTokenIds: str | None = None
    umaResolutionStatuses: str | None = None
    active: bool
    closed: bool
    volume: DecimalStr | None = None  # string on markets
    liquidity: DecimalStr | None = None  # string on markets
    volumeNum: float | None = None
    liquidityNum: float | None = None
    bestBid: float | None = None  # omitted when there are no bids
    bestAsk: float | None = None
    lastTradePrice: float | None = None
    spread: float | None = None
    line: float | None = None
    sportsMarketType: str | None = None
    groupItemTitle: str | None = None
    orderPriceMinTickSize: float | None = None
    orderMinSize: float | None = None
    negRisk: bool | None = None
    acceptingOrders: bool | None = None
    startDate: IsoTime | None = None
    endDate: IsoTime | None = None
    gameStartTime: PgTime | None = None
    closedTime: PgTime | None = None
    endDateIso: BareDate | None = None
    startDateIso: BareDate | None = None
    gameId: str | None = None  # old markets: hex id unrelated to the sports feed
    events: list[EventStub] | None = None

    @model_validator(mode="after")
    def _conventions(self) -> Market:
        outcomes = decode_json_string_list(self.outcomes, "outcomes")
        prices = decode_json_string_list(self.outcomePrices, "outcomePrices")
        for price in prices:
            float(price)  # decimal strings, possibly with many digits
        lengths = {len(outcomes), len(prices)}
        if self.clobTokenIds is not None:
            tokens = decode_json_string_list(self.clobTokenIds, "clobTokenIds")
            if not all(t.isdigit() for t in tokens):
                raise ValueError("clobTokenIds must be decimal strings")
            lengths.add(len(tokens))
        if self.umaResolutionStatuses is not None:
            decode_json_string_list(self.umaResolutionStatuses, "umaResolutionStatuses")
        if len(lengths - {0}) > 1:
            raise ValueError("outcomes, outcomePrices and clobTokenIds must be index-aligned")
        smt = self.sportsMarketType
        if smt in ("spreads", "totals") and self.line is None:
            raise ValueError(f"{smt} markets carry a line")
        if smt == "moneyline" and self.line is not None:
            raise ValueError("moneyline markets carry no line")
        if smt == "totals" and outcomes != ["Over", "Under"]:
            raise ValueError('totals outcomes are ["Over", "Under"]')
        if smt == "spreads" and self.line is not None and self.line >= 0:
            raise ValueError("spread lines are negative (from outcomes[0]'s point of view)")
        return self


class MarketList(RootModel[list[Market]]):
    model_config = ConfigDict(strict=True)


class Event(Wire):
    id: IdStr
    ticker: str | None = None
    slug: str
    title: str
    active: bool
    closed: bool
    startDate: IsoTime | None = None  # listing date, not kickoff
    endDate: IsoTime | None = None
    creationDate: IsoTime | None = None
    startTime: IsoTime | None = None  # kickoff
    eventDate: BareDate | None = None
    liquidity: float | None = None  # number on events
    volume: float | None = None
    negRisk: bool | None = None
    markets: list[Market] | None = None
    series: list[SeriesRef] | None = None
    tags: list[Tag] | None = None
    seriesSlug: str | None = None
    gameId: int | None = None  # the sports socket's join key
    score: str | None = None
    elapsed: str | None = None
    period: str | None = None
    live: bool | None = None
    ended: bool | None = None
    finishedTimestamp: IsoTime | None = None


class EventList(RootModel[list[Event]]):
    model_config = ConfigDict(strict=True)


class Series(Wire):
    id: IdStr
    ticker: str
    slug: str
    title: str
    seriesType: str
    recurrence: str
    active: bool
    closed: bool
    archived: bool
    competitive: str | None = None  # a string "0"
    publishedAt: PgTime | None = None
    events: list[Event] = Field(default_factory=list)


# ---------------------------------------------------------------------- CLOB REST
class Level(Wire):
    price: DecimalStr
    size: DecimalStr


def _check_order(bids: list[Level], asks: list[Level]) -> None:
    bid_prices = [float(lvl.price) for lvl in bids]
    ask_prices = [float(lvl.price) for lvl in asks]
    if bid_prices != sorted(bid_prices):
        raise ValueError("bids must be ascending (best bid last)")
    if ask_prices != sorted(ask_prices, reverse=True):
        raise ValueError("asks must be descending (best ask last)")


class Book(Wire):
    """REST ``/book`` (and each element of ``POST /books``)."""

    market: ConditionId
    asset_id: TokenId
    timestamp: MsTimestamp
    hash: Sha1Hex
    bids: list[Level]
    asks: list[Level]
    min_order_size: DecimalStr
    tick_size: DecimalStr
    neg_risk: bool
    last_trade_price: LastTradePriceStr

    @model_validator(mode="after")
    def _ordering(self) -> Book:
        _check_order(self.bids, self.asks)
        return self


class BookList(RootModel[list[Book]]):
    model_config = ConfigDict(strict=True)


class Price(Wire):
    price: DecimalStr


class Midpoint(Wire):
    mid: DecimalStr


class SpreadResponse(Wire):
    spread: DecimalStr


class TickSize(Wire):
    minimum_tick_size: float  # a number here, unlike everywhere else


class NegRisk(Wire):
    neg_risk: bool


class LastTrade(Wire):
    price: DecimalStr
    side: Side


class HistoryPoint(Wire):
    t: int  # unix seconds
    p: float


class PricesHistory(Wire):
    history: list[HistoryPoint]

    @field_validator("history")
    @classmethod
    def _oldest_first(cls, value: list[HistoryPoint]) -> list[HistoryPoint]:
        times = [pt.t for pt in value]
        if times != sorted(times):
            raise ValueError("history is oldest first")
        if any(not 0 <= pt.p <= 1 for pt in value):
            raise ValueError("history prices are probabilities")
        return value


class ServerTime(RootModel[int]):
    """``GET /time``: a bare integer (seconds), not an object."""

    model_config = ConfigDict(strict=True)


# ---------------------------------------------------------------------- CLOB market WebSocket
class WsBook(Wire):
    event_type: Literal["book"]
    market: ConditionId
    asset_id: TokenId
    timestamp: MsTimestamp
    hash: Sha1Hex
    bids: list[Level]
    asks: list[Level]
    tick_size: DecimalStr | None = None  # initial dump since 2026; absent on post-trade books
    last_trade_price: LastTradePriceStr | None = None

    @model_validator(mode="after")
    def _ordering(self) -> WsBook:
        _check_order(self.bids, self.asks)
        return self


class WsBookDump(RootModel[list[WsBook]]):
    """The initial dump: ONE JSON array of book objects (``[]`` for unknown tokens)."""

    model_config = ConfigDict(strict=True)


class PriceChangeEntry(Wire):
    asset_id: TokenId
    price: DecimalStr
    size: DecimalStr  # absolute size at that level; "0" removes it
    side: Side
    hash: Sha1Hex
    best_bid: OptDecimalStr
    best_ask: OptDecimalStr


class PriceChange(Wire):
    """New format (since 2025-09-15): one market, ``price_changes[]`` entries."""

    event_type: Literal["price_change"]
    market: ConditionId
    price_changes: Annotated[list[PriceChangeEntry], Field(min_length=1)]
    timestamp: MsTimestamp


class LastTradePrice(Wire):
    event_type: Literal["last_trade_price"]
    asset_id: TokenId
    market: ConditionId
    price: DecimalStr
    side: Side
    size: DecimalStr
    fee_rate_bps: DecimalStr
    timestamp: MsTimestamp
    transaction_hash: str | None = None


class TickSizeChange(Wire):
    event_type: Literal["tick_size_change"]
    asset_id: TokenId
    market: ConditionId
    old_tick_size: DecimalStr
    new_tick_size: DecimalStr
    timestamp: MsTimestamp


WS_EVENT_MODELS: dict[str, type[Wire]] = {
    "book": WsBook,
    "price_change": PriceChange,
    "last_trade_price": LastTradePrice,
    "tick_size_change": TickSizeChange,
}


# ---------------------------------------------------------------------- sports WebSocket
class SportsFrame(Wire):
    gameId: int | None = None
    metadataGameId: str | None = None  # cricket frames use this instead of gameId
    leagueAbbreviation: str
    homeTeam: str | None = None
    awayTeam: str | None = None
    status: str | None = None
    score: str
    period: str
    elapsed: str | None = None
    live: bool
    ended: bool
    turn: str | None = None
    finishedTimestamp: IsoTime | None = None
    eventState: dict[str, Any] | None = None

    @model_validator(mode="before")
    @classmethod
    def _no_type(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for key in ("type", "event_type"):
                if key in data:
                    raise ValueError(f"sports frames carry no {key!r} field")
            if "gameId" not in data and "metadataGameId" not in data:
                raise ValueError("a sports frame names its game (gameId or metadataGameId)")
        return data
