"""A fenced writer like the stream worker: holds a lease, writes the prices hash and publishes events.

Run as a child process: `python -m tests.reliability.lease_writer --lease NAME --game GID --token-id T`.
Every write is fenced (core.lease / core.publish). A writer paused past its TTL (SIGSTOP) and then resumed
tries one write with its old token, wherever the pause landed: exactly the dangerous case fencing exists for.
One JSON line per outcome on stdout.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Any

import django
import orjson

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mevu.settings")
django.setup()

from redis.exceptions import RedisError  # noqa: E402

from core.errors import StaleFenceError  # noqa: E402
from core.lease import Lease, fenced_hset, lease_acquire, lease_renew  # noqa: E402
from core.publish import game_events_publish  # noqa: E402
from markets.prices import prices_key  # noqa: E402


def emit(kind: str, at: float | None = None, **fields: Any) -> None:
    line = {"t": time.time() if at is None else at, "kind": kind, **fields}
    sys.stdout.write(orjson.dumps(line).decode() + "\n")
    sys.stdout.flush()


def write_once(lease: Lease, game_id: str, token_id: str, n: int) -> None:
    value = orjson.dumps({"bid": 0.5, "ask": 0.52, "mid": 0.51, "last": None, "ts": int(time.time() * 1000),
                          "writer": lease.token, "n": n})
    fenced_hset(lease.fence, prices_key(), {token_id: value})
    game: Any = {"id": game_id, "slug": f"chaos-{game_id}", "sport": "nba", "writer": lease.token, "n": n}
    game_events_publish([{"type": "price_update", "game": game}], fence=lease.fence)


def write_logged(lease: Lease, game_id: str, token_id: str, n: int) -> None:
    """One write and its line, stamped when issued: a pause (SIGSTOP) may land between the two."""
    issued = time.time()
    write_once(lease, game_id, token_id, n)
    emit("write", at=issued, token=lease.token, n=n)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lease", required=True)
    parser.add_argument("--game", required=True)
    parser.add_argument("--token-id", required=True)
    parser.add_argument("--ttl-ms", type=int, default=3000)
    parser.add_argument("--every-ms", type=int, default=100)
    args = parser.parse_args()
    holder = f"writer-{os.getpid()}"
    lease: Lease | None = None
    renewed = 0.0
    n = 0
    emit("started")
    while True:
        try:
            if lease is None:
                lease = lease_acquire(args.lease, holder, args.ttl_ms)
                if lease is None:
                    time.sleep(0.2)
                    continue
                renewed = time.monotonic()
                emit("acquired", token=lease.token)
            n += 1
            write_logged(lease, args.game, args.token_id, n)
            if time.monotonic() - renewed > args.ttl_ms / 3000:
                if not lease_renew(lease):
                    emit("lost", token=lease.token)
                    # A pause that landed after a write resumes here, at the renewal, not at a write. The stream's
                    # loops may still write before they learn of the loss: that write must be refused too.
                    n += 1
                    write_logged(lease, args.game, args.token_id, n)
                    lease = None
                    continue
                renewed = time.monotonic()
        except StaleFenceError as exc:
            emit("stale", token=lease.token if lease else None, error=str(exc))
            lease = None
        except RedisError as exc:
            emit("redis_error", error=f"{type(exc).__name__}: {exc}"[:200])
            time.sleep(0.2)
        time.sleep(args.every_ms / 1000)


if __name__ == "__main__":
    raise SystemExit(main())
