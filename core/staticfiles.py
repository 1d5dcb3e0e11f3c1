"""WhiteNoise as an async-capable Django middleware: the async request path never hops threads for it.

WhiteNoise's own Django middleware is sync-only, so in the ASGI stack Django ran it in a worker thread
and the rest of the chain back on the event loop: two thread hops on every request, static or not.
This subclass keeps WhiteNoise's file index and response headers (`WhiteNoiseMiddleware.serve`: the same
Cache-Control, ETag, Vary, compressed variants) and answers in the mode Django calls it in. A static
file's bytes are read in worker threads in the async mode (no blocking reads on the event loop).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import IO, Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.http import HttpRequest, HttpResponseBase
from whitenoise.middleware import WhiteNoiseMiddleware

CHUNK_BYTES = 64 * 1024


async def _chunks(file: IO[bytes] | None) -> AsyncIterator[bytes]:
    """The file's bytes (none for HEAD and 304), as the async iterator Django's ASGI handler expects."""
    if file is None:
        return
    try:
        while chunk := await asyncio.to_thread(file.read, CHUNK_BYTES):
            yield chunk
    finally:
        file.close()


class AsyncWhiteNoiseMiddleware(WhiteNoiseMiddleware):
    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        super().__init__(get_response)
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> Any:
        if self.is_async:
            return self.__acall__(request)
        return super().__call__(request)

    async def __acall__(self, request: HttpRequest) -> HttpResponseBase:
        if self.autorefresh:  # development: the lookup stats files
            static_file = await sync_to_async(self.find_file, thread_sensitive=False)(request.path_info)
        else:
            static_file = self.files.get(request.path_info)
        if static_file is None:
            return await self.get_response(request)
        response = self.serve(static_file, request)
        response.streaming_content = _chunks(response.file_to_stream)
        return response
