"""A client written for the ORIGINAL /ws/games protocol, as the original frontend is: it knows nothing of
protocol 2 (no topics, batches, sequence numbers or resume) and dispatches on `msg.type`.

Run: `python original_client.py ws://host:port/ws/games`. It asks for the full list (`refresh`), keeps every game
by id, and answers each `dump` line on stdin with one JSON line: {"games": {id: FrontendGame}, "counts": {...}}.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections import Counter
from typing import Any

import websockets

games: dict[str, dict[str, Any]] = {}
counts: Counter[str] = Counter()


def on_message(msg: dict[str, Any]) -> None:
    counts[msg.get("type", "?")] += 1
    match msg.get("type"):
        case "subscribed":
            pass  # connected; the original pushes no snapshot
        case "initial" | "games_update":
            games.clear()
            games.update({game["id"]: game for game in msg["games"]})
        case "price_update" | "game_update":
            games[msg["game"]["id"]] = msg["game"]  # whole objects: replace by id
        case "heartbeat":
            pass
        case "error":
            print(json.dumps({"error": msg["message"]}), file=sys.stderr, flush=True)


async def read_socket(url: str) -> None:
    async with websockets.connect(url, max_size=None) as ws:
        await ws.send(json.dumps({"type": "refresh"}))
        async for raw in ws:
            on_message(json.loads(raw))


async def answer_dumps() -> None:
    loop = asyncio.get_running_loop()
    while line := await loop.run_in_executor(None, sys.stdin.readline):
        if line.strip() == "dump":
            print(json.dumps({"games": games, "counts": counts}), flush=True)


async def main(url: str) -> None:
    reader = asyncio.create_task(read_socket(url))
    await answer_dumps()  # until stdin closes
    reader.cancel()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
