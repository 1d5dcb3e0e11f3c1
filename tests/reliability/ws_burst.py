"""A burst of WebSocket connection attempts, run as its own process (so it does not starve the test's
clients of the GIL): `python -m tests.reliability.ws_burst URL COUNT`. Accepted sockets are held until
every attempt has finished; prints a JSON object of outcome counts."""

from __future__ import annotations

import asyncio
import resource
import sys
from collections import Counter

import orjson
import websockets


async def burst(url: str, attempts: int) -> Counter[str]:
    outcomes: Counter[str] = Counter()
    hold = asyncio.Event()

    async def attempt() -> None:
        try:
            async with websockets.connect(url, open_timeout=30, close_timeout=1):
                outcomes["accepted"] += 1
                await hold.wait()  # keep the slot for the whole burst
        except websockets.InvalidStatus as exc:
            outcomes[f"refused_{exc.response.status_code}"] += 1
        except (OSError, TimeoutError, websockets.WebSocketException) as exc:
            outcomes[type(exc).__name__] += 1

    tasks = [asyncio.create_task(attempt()) for _ in range(attempts)]
    while sum(outcomes.values()) < attempts:  # every attempt accepted (and holding) or failed
        await asyncio.sleep(0.1)
    hold.set()
    await asyncio.gather(*tasks)
    return outcomes


def main() -> int:
    url, attempts = sys.argv[1], int(sys.argv[2])
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(max(soft, attempts + 500), hard), hard))
    sys.stdout.write(orjson.dumps(asyncio.run(burst(url, attempts))).decode() + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
