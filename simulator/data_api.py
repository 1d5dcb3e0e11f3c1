"""Polymarket's public data API under ``/data``: ``/holders`` and ``/trades`` (the two the original reads).

Wire conventions of data-api.polymarket.com: bare JSON arrays; ``market`` takes condition ids as a comma
list (repeated keys accepted too); numbers are JSON numbers (``size``, ``price``, ``amount``), ``timestamp``
is epoch seconds; ``side`` is ``BUY``/``SELL``; out-of-range ``limit``/``offset`` on /trades is a 400
``{"error": ...}``; /holders clamps ``limit`` to 500 and answers ``null`` for ``limit=0``.

Trades are the engine's real fills (``Market.fills``); wallets come from one seeded pool, so the same
traders show up across markets, and holders are that pool's positions sized from the market's volume.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from aiohttp import web

from .gamma import json_response, multi
from .scenario import Market, Scenario

WALLETS = 400
HOLDERS_DEFAULT, HOLDERS_MAX = 20, 500
TRADES_DEFAULT, TRADES_MAX_LIMIT, TRADES_MAX_OFFSET = 100, 10_000, 10_000


@dataclass(frozen=True, slots=True)
class Wallet:
    address: str
    name: str
    pseudonym: str
    bio: str
    image: str
    public: bool


def wallet_pool(seed: int) -> list[Wallet]:
    rng = random.Random(f"wallets:{seed}")
    adjectives = ("Quick", "Lucky", "Silent", "Bold", "Sharp", "Calm", "Brave", "Wild")
    animals = ("Otter", "Falcon", "Badger", "Lynx", "Heron", "Bison", "Fox", "Orca")
    pool = []
    for i in range(WALLETS):
        address = f"0x{rng.getrandbits(160):040x}"
        pseudonym = f"{rng.choice(adjectives)}-{rng.choice(animals)}"
        public = rng.random() < 0.4
        pool.append(Wallet(address, f"trader{i}" if public else address, pseudonym, "",
                           f"https://polymarket-upload.s3.us-east-2.amazonaws.com/profile/{address}.png"
                           if public else "", public))
    return pool


def _profile(wallet: Wallet) -> dict[str, object]:
    return {"name": wallet.name, "pseudonym": wallet.pseudonym, "bio": wallet.bio,
            "profileImage": wallet.image, "profileImageOptimized": wallet.image}


def _int(request: web.Request, key: str, default: int) -> int | None:
    raw = request.query.get(key)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        return None


class DataApi:
    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        self.wallets = wallet_pool(scenario.seed)

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/data/holders", self.holders), web.get("/data/trades", self.trades)]

    def _markets(self, request: web.Request) -> list[Market]:
        by_condition = self.scenario.markets_by_condition
        return [by_condition[c] for c in dict.fromkeys(multi(request, "market")) if c in by_condition]

    def _wallet(self, tx_hash: str) -> Wallet:
        return self.wallets[int(tx_hash[-8:], 16) % len(self.wallets)]

    # ----- /holders
    def _token_holders(self, market: Market, index: int, min_balance: float) -> list[dict[str, object]]:
        rng = random.Random(f"holders:{market.condition_id}:{index}")
        count = 5 + int(min(60, market.volume / 2_000))
        chosen = rng.sample(self.wallets, min(count, len(self.wallets)))
        rows = []
        for wallet in chosen:
            amount = round(rng.lognormvariate(0, 1.2) * max(market.volume, 100) / (40 * count), 6)
            if amount < min_balance:
                continue
            rows.append({"proxyWallet": wallet.address, **_profile(wallet), "asset": market.tokens[index],
                         "amount": amount, "displayUsernamePublic": wallet.public, "outcomeIndex": index,
                         "verified": False})
        rows.sort(key=lambda r: -float(r["amount"]))  # type: ignore[arg-type]
        return rows

    async def holders(self, request: web.Request) -> web.Response:
        limit = _int(request, "limit", HOLDERS_DEFAULT)
        min_balance = _int(request, "minBalance", 1)
        if limit is None or min_balance is None or limit < 0 or min_balance < 0:
            return json_response({"error": "invalid query parameters"}, status=400)
        if limit == 0:
            return json_response(None)
        limit = min(limit, HOLDERS_MAX)
        out = []
        for market in self._markets(request):
            for index in (0, 1):
                out.append({"token": market.tokens[index],
                            "holders": self._token_holders(market, index, min_balance)[:limit]})
        return json_response(out)

    # ----- /trades
    def _trade(self, market: Market, fill: tuple[int, int, str, float, float, str]) -> dict[str, object]:
        ts, index, side, price, size, tx = fill
        wallet = self._wallet(tx)
        event = market.event
        return {"proxyWallet": wallet.address, "side": side, "asset": market.tokens[index],
                "conditionId": market.condition_id, "size": size, "price": price, "timestamp": ts // 1000,
                "title": market.question, "slug": market.slug, "icon": event.game.league.image,
                "eventSlug": event.slug, "outcome": market.outcomes[index], "outcomeIndex": index,
                **_profile(wallet), "transactionHash": tx}

    async def trades(self, request: web.Request) -> web.Response:
        limit = _int(request, "limit", TRADES_DEFAULT)
        offset = _int(request, "offset", 0)
        if limit is None or not 0 <= limit <= TRADES_MAX_LIMIT:
            return json_response({"error": f"limit must be between 0 and {TRADES_MAX_LIMIT}"}, status=400)
        if offset is None or not 0 <= offset <= TRADES_MAX_OFFSET:
            return json_response({"error": f"offset must be between 0 and {TRADES_MAX_OFFSET}"}, status=400)
        side = request.query.get("side", "").upper()
        fills = [(fill, market) for market in self._markets(request) for fill in market.fills
                 if not side or fill[2] == side]
        fills.sort(key=lambda item: (-item[0][0], item[0][5]))  # newest first
        return json_response([self._trade(market, fill) for fill, market in fills[offset: offset + limit]])
