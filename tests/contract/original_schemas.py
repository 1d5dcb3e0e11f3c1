"""The original MEVU API's REST payloads and WebSocket/SSE frames as pydantic models, written from its
TypeScript declarations (frames: the hand-written messages.ts, one interface per literal the original sends).

Strict types (a string is not a number, null is not a string), extra fields allowed. An optional field
(`name?: T` in TypeScript) may be absent but, when present, must have its type: its default is a bare
`ABSENT` (None, which pydantic does not validate), so an explicit null still fails.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict

ABSENT: Any = None


class Original(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)


# --- FrontendGame (frontend-game.transformer.ts) -------------------------------------------------------


class QuarterScores(Original):
    q1: float
    q2: float
    q3: float
    q4: float


class FrontendTeam(Original):
    abbr: str
    name: str
    record: str
    probability: float
    buyPrice: float
    sellPrice: float
    score: float = ABSENT
    tennisScore: str = ABSENT
    setsWon: float = ABSENT
    quarterScores: QuarterScores = ABSENT
    kalshiBuyPrice: float = ABSENT
    kalshiSellPrice: float = ABSENT


class FrontendGame(Original):
    id: str
    endDate: str
    time: str
    volume: str
    awayTeam: FrontendTeam
    homeTeam: FrontendTeam
    liquidity: str
    chartData: list[float]
    percentChange: float
    traders: float
    spread: str
    isLive: bool = ABSENT
    ended: bool = ABSENT
    quarter: str = ABSENT
    gameTime: str = ABSENT
    sport: str = ABSENT
    league: str = ABSENT
    slug: str = ABSENT
    tennisScore: str = ABSENT
    kalshiTicker: str = ABSENT


# --- Team (teams.service.ts) ---------------------------------------------------------------------------


class Team(Original):
    id: int
    name: str
    league: str
    record: str
    logo: str
    abbreviation: str
    alias: str
    createdAt: str
    updatedAt: str
    providerId: int
    color: str


# --- LiveGame (polymarket.types.ts, live-games.service.ts) ---------------------------------------------


class TransformedOutcome(Original):
    label: str
    shortLabel: str
    price: str
    probability: float
    volume: float
    icon: str = ABSENT
    clobTokenId: str = ABSENT
    conditionId: str = ABSENT
    groupItemThreshold: str = ABSENT
    isWinner: bool = ABSENT
    buyPrice: float = ABSENT
    sellPrice: float = ABSENT


class TransformedMarket(Original):
    id: str
    question: str
    slug: str = ABSENT
    conditionId: str = ABSENT
    volume: float
    volume24Hr: float = ABSENT
    active: bool
    closed: bool
    archived: bool
    image: str = ABSENT
    icon: str = ABSENT
    description: str = ABSENT
    outcomes: list[str] = ABSENT
    outcomePrices: list[str] = ABSENT
    structuredOutcomes: list[TransformedOutcome] = ABSENT
    isGroupItem: bool = ABSENT
    groupItemTitle: str = ABSENT
    clobTokenIds: list[str] = ABSENT
    endDate: str = ABSENT
    startDate: str = ABSENT
    gameStartTime: str = ABSENT
    lastTradePrice: float = ABSENT
    bestBid: float = ABSENT
    bestAsk: float = ABSENT
    spread: float = ABSENT
    competitive: float = ABSENT
    liquidity: float = ABSENT
    negRisk: bool = ABSENT
    negRiskMarketId: str = ABSENT


class TransformedTag(Original):
    id: str
    label: str
    slug: str


class LiveGameEvent(Original):
    id: str
    ticker: str
    slug: str
    title: str
    description: str = ABSENT
    startDate: str
    endDate: str
    image: str = ABSENT
    active: bool
    closed: bool
    archived: bool
    liquidity: float = ABSENT
    volume: float = ABSENT
    negRisk: bool = ABSENT
    negRiskMarketID: str = ABSENT
    commentCount: float = ABSENT
    gameId: float = ABSENT
    score: str = ABSENT
    period: str = ABSENT
    elapsed: str = ABSENT
    live: bool = ABSENT
    ended: bool = ABSENT


class LiveGame(Original):
    id: str
    title: str
    slug: str
    description: str = ABSENT
    image: str = ABSENT
    icon: str = ABSENT
    totalVolume: float
    volume24Hr: float
    liquidity: float = ABSENT
    active: bool
    closed: bool
    archived: bool
    commentCount: float = ABSENT
    markets: list[TransformedMarket]
    tags: list[TransformedTag] = ABSENT
    startDate: str = ABSENT
    endDate: str = ABSENT
    gameStartTime: str = ABSENT
    createdAt: str  # a Date, serialised as an ISO string
    updatedAt: str
    ticker: str = ABSENT
    sport: str = ABSENT
    league: str = ABSENT
    seriesId: str = ABSENT
    gameId: float = ABSENT
    score: str = ABSENT
    period: str = ABSENT
    elapsed: str = ABSENT
    live: bool = ABSENT
    ended: bool = ABSENT
    homeTeam: Team = ABSENT
    awayTeam: Team = ABSENT
    rawData: LiveGameEvent


# --- ActivityWatcherGame (activity-watcher.transformer.ts) ---------------------------------------------


class ActivityWatcherOutcome(Original):
    label: str
    shortLabel: str = ABSENT
    price: float
    probability: float
    buyPrice: float = ABSENT
    sellPrice: float = ABSENT
    clobTokenId: str = ABSENT


class ActivityWatcherMarket(Original):
    id: str
    title: str
    question: str
    volume: str
    liquidity: str
    outcomes: list[ActivityWatcherOutcome]
    conditionId: str = ABSENT
    clobTokenIds: list[str] = ABSENT
    negRisk: bool = ABSENT
    negRiskMarketId: str = ABSENT


class ActivityWatcherGame(Original):
    id: str
    slug: str = ABSENT
    sport: str = ABSENT
    league: str = ABSENT
    homeTeam: FrontendTeam
    awayTeam: FrontendTeam
    markets: list[ActivityWatcherMarket]


# --- LiveStats (live-stats.types.ts), price history --------------------------------------------------


class Score(Original):
    home: float
    away: float


class LiveStats(Original):
    homeTeam: FrontendTeam
    awayTeam: FrontendTeam
    periodScores: dict[str, Score] | None
    finalScore: Score | None
    currentPeriod: str
    isLive: bool


class StoredPriceHistoryPoint(Original):
    timestamp: float
    price: float


# --- REST envelopes (the original's res.json literals) --------------------------------------------------


class FrontendGamesResponse(Original):
    success: Literal[True]
    count: int
    total: int
    page: int
    limit: int
    hasMore: bool
    games: list[FrontendGame]


class LiveGamesResponse(Original):
    success: Literal[True]
    count: int
    games: list[LiveGame]


class LiveGameResponse(Original):
    success: Literal[True]
    game: LiveGame


class FrontendGameResponse(Original):
    success: Literal[True]
    game: FrontendGame


class TeamsResponse(Original):
    success: Literal[True]
    league: str
    count: int
    teams: list[Team]


class TeamResponse(Original):
    success: Literal[True]
    team: Team


class LeaguesResponse(Original):
    success: Literal[True]
    leagues: list[str]


class LiveStatsResponse(Original):
    success: Literal[True]
    stats: LiveStats


class PriceHistoryResponse(Original):
    success: Literal[True]
    clobTokenId: str
    interval: str
    pointCount: int
    history: list[StoredPriceHistoryPoint]
    cached: bool = ABSENT


class PriceHistoryBatchResponse(Original):
    success: Literal[True]
    interval: str
    histories: dict[str, list[StoredPriceHistoryPoint]]


class ActivityWatcherResponse(Original):
    success: Literal[True]
    game: ActivityWatcherGame


# §3.6 (holders, trades) and §3.1 (index): field lists written down in the original's route code.


class HolderAsset(Original):
    assetId: str
    shortLabel: str
    question: str
    amount: float


class Holder(Original):
    id: str
    rank: int
    wallet: str
    totalAmount: float
    assets: list[HolderAsset]


class HoldersResponse(Original):
    success: Literal[True]
    count: int
    holders: list[Holder]


class Trade(Original):
    type: Literal["Buy", "Sell"]
    amount: float
    shares: float
    price: float
    trader: str
    traderAvatar: str
    outcome: str
    awayTeam: FrontendTeam
    homeTeam: FrontendTeam
    time: str


class TradesResponse(Original):
    success: Literal[True]
    count: int
    trades: list[Trade]


class IndexResponse(Original):
    message: str


class ErrorResponse(Original):
    success: Literal[False]
    error: str


# --- WebSocket / SSE frames (messages.ts) ------------------------------------------------------------------
# Every frame timestamp is `new Date().toISOString()` in the original (`@format date-time`).

_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


def _iso_time(value: str) -> str:
    if not _ISO.match(value):
        raise ValueError(f"not a toISOString() timestamp: {value!r}")
    datetime.fromisoformat(value)  # a real date, not just the right shape
    return value


IsoTime = Annotated[str, AfterValidator(_iso_time)]


class GamesSubscribedMessage(Original):
    type: Literal["subscribed"]
    message: str
    timestamp: IsoTime
    clientCount: float


class HeartbeatMessage(Original):  # GamesHeartbeatMessage and ActivityHeartbeatMessage are the same literal
    type: Literal["heartbeat"]
    timestamp: IsoTime


class GamesInitialMessage(Original):
    type: Literal["initial"]
    games: list[FrontendGame]
    timestamp: IsoTime


class GamesUpdateMessage(Original):
    type: Literal["games_update"]
    games: list[FrontendGame]
    timestamp: IsoTime


class GamesGameUpdateMessage(Original):
    type: Literal["game_update"]
    game: FrontendGame
    timestamp: IsoTime


class GamesPriceUpdateMessage(Original):
    type: Literal["price_update"]
    game: FrontendGame
    timestamp: IsoTime


class ErrorMessage(Original):  # GamesErrorMessage and ActivityErrorMessage are the same literal
    type: Literal["error"]
    message: str
    timestamp: IsoTime


class ActivitySubscribedMessage(Original):
    type: Literal["subscribed"]
    slug: str
    message: str
    timestamp: IsoTime


class ActivityInitialMessage(Original):
    type: Literal["initial"]
    game: ActivityWatcherGame
    timestamp: IsoTime


class ActivityGameUpdateMessage(Original):
    type: Literal["game_update"]
    game: ActivityWatcherGame
    timestamp: IsoTime


class ActivityPriceUpdateMessage(Original):
    type: Literal["price_update"]
    game: ActivityWatcherGame
    timestamp: IsoTime


GAMES_FRAMES: dict[str, type[Original]] = {
    "subscribed": GamesSubscribedMessage, "heartbeat": HeartbeatMessage, "initial": GamesInitialMessage,
    "games_update": GamesUpdateMessage, "game_update": GamesGameUpdateMessage,
    "price_update": GamesPriceUpdateMessage, "error": ErrorMessage,
}
ACTIVITY_FRAMES: dict[str, type[Original]] = {
    "subscribed": ActivitySubscribedMessage, "heartbeat": HeartbeatMessage, "initial": ActivityInitialMessage,
    "game_update": ActivityGameUpdateMessage, "price_update": ActivityPriceUpdateMessage, "error": ErrorMessage,
}
