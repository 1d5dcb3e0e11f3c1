"""A recording HTTP proxy in front of the simulator's REST APIs: every request the application makes
upstream is logged with its time and the upstream's answer, so a test can measure request spacing
(e.g. that Retry-After is honoured)."""

from __future__ import annotations

import asyncio
import dataclasses
import threading
import time

import aiohttp
from aiohttp import web

from tests.conftest import free_port


@dataclasses.dataclass(frozen=True)
class Hit:
    at: float  # monotonic seconds, when the request arrived
    path: str  # path and query
    status: int
    retry_after: float | None


class RecordingProxy:
    def __init__(self, target: str) -> None:
        self.target = target.rstrip("/")
        self.port = free_port()
        self.hits: list[Hit] = []
        self._loop = asyncio.new_event_loop()
        self._started = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> RecordingProxy:
        self._thread.start()
        self._started.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)

    def _run(self) -> None:
        self._loop.run_until_complete(self._serve())

    async def _serve(self) -> None:
        self._stop = asyncio.Event()
        session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60), auto_decompress=False)
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", lambda request: self._forward(session, request))
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", self.port).start()
        self._started.set()
        await self._stop.wait()
        await runner.cleanup()
        await session.close()

    async def _forward(self, session: aiohttp.ClientSession, request: web.Request) -> web.Response:
        arrived = time.monotonic()
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("host", "content-length")}
        async with session.request(request.method, self.target + request.path_qs, headers=headers,
                                   data=await request.read()) as upstream:
            body = await upstream.read()
            retry = upstream.headers.get("Retry-After")
            self.hits.append(Hit(arrived, request.path_qs, upstream.status, float(retry) if retry else None))
            keep = {k: v for k, v in upstream.headers.items()
                    if k.lower() in ("content-type", "retry-after", "content-encoding")}
            return web.Response(status=upstream.status, body=body, headers=keep)

    def timeline(self, since: float) -> list[tuple[float, str, int]]:
        """(seconds after `since`, path, status) of the requests that arrived since then, in arrival order."""
        return [(round(hit.at - since, 2), hit.path[:40], hit.status)
                for hit in sorted(self.hits, key=lambda hit: hit.at) if hit.at >= since]

    def retry_after_violations(self) -> tuple[int, list[str]]:
        """(429 answers followed by another request to the same API, those that came before Retry-After).

        Retry-After applies to the client as a whole, so the next request to that API (/gamma or /clob),
        whatever its path, must wait. Each API has one client here (the sports worker, the stream worker)."""
        hits = sorted(self.hits, key=lambda h: h.at)
        followed, early = 0, []
        for index, hit in enumerate(hits):
            if hit.status != 429 or hit.retry_after is None:
                continue
            api = hit.path.split("/")[1]
            retry = next((h for h in hits[index + 1:] if h.path.split("/")[1] == api), None)
            if retry is None:
                continue
            followed += 1
            gap = retry.at - hit.at
            if gap < hit.retry_after - 0.05:
                early.append(f"{hit.path} -> {retry.path}: next request after {gap:.2f}s < Retry-After "
                             f"{hit.retry_after}s")
        return followed, early
