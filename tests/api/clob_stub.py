"""A stand-in for the CLOB `/prices-history` endpoint (the Polymarket network edge) for the API tests.

`python -m tests.api.clob_stub PORT`: history points are derived from the query so answers are checkable;
tokens starting with "999" answer HTTP 500; GET /calls lists the queries received.
"""

from __future__ import annotations

import asyncio
import sys

from aiohttp import web

calls: list[dict[str, str]] = []
DELAY_S = 0.3  # long enough that concurrent callers overlap


async def prices_history(request: web.Request) -> web.Response:
    query = dict(request.query)
    calls.append(query)
    await asyncio.sleep(DELAY_S)
    if query.get("market", "").startswith("999"):
        return web.json_response({"error": "boom"}, status=500)
    fidelity = int(query.get("fidelity", "1"))
    base = 1_700_000_000
    history = [{"t": base + i * fidelity * 60, "p": round(0.5 + i / 100, 3)} for i in range(10)]
    history.append({"t": "bad", "p": 0.4})  # malformed points are dropped by the parser
    return web.json_response({"history": history})


async def calls_view(request: web.Request) -> web.Response:
    return web.json_response(calls)


def main() -> None:
    app = web.Application()
    app.router.add_get("/clob/prices-history", prices_history)
    app.router.add_get("/calls", calls_view)
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None)


if __name__ == "__main__":
    main()
