"""A league's /events pages, each known by the hash of its bytes.

Polling while nothing changes upstream returns byte-identical pages. The events of a page seen before are
not decoded or digested again: their ids and digests are remembered (PAGE_MEMORY pages per process) and the
page is decoded only if one of its events has to be parsed after all (its game's stored content hash was
cleared, say, by a live-score write). Equal bytes are equal events, whatever URL or thread fetched them.
"""

from __future__ import annotations

import dataclasses
import hashlib
import threading
from collections.abc import Callable, Iterator
from typing import Any

import cachetools
import orjson

from games.digest import EventDigest, event_digest
from games.upstream import Rows, rows_of

PAGE_MEMORY = 256  # a few full syncs of every followed league; ~30 KB of ids and digests per page


@dataclasses.dataclass(frozen=True, slots=True)
class Entry:
    """An event object of a page: where it sits, its id as listed, its digest (None: always parsed)."""

    position: int
    key: str | None
    digest: EventDigest | None


@dataclasses.dataclass(frozen=True, slots=True)
class Summary:
    ids: list[Any]  # each row's id, None for a row that is not an object (pagination compares them)
    entries: tuple[Entry, ...]
    not_objects: tuple[str, ...]  # short reprs of the rows that are not objects


_memory: cachetools.LRUCache[bytes, Summary] = cachetools.LRUCache(maxsize=PAGE_MEMORY)
_memory_lock = threading.Lock()  # pages are read by the fetch-ahead threads


class EventPage:
    """One fetched page: its summary now, its rows only when asked for."""

    def __init__(self, body: bytes, summary: Summary | None = None) -> None:
        self._body = body
        self._rows: list[Any] | None = None
        self.summary = summary or _summarise(self.rows())

    @property
    def ids(self) -> list[Any]:
        return self.summary.ids

    def __len__(self) -> int:
        return len(self.summary.ids)

    def rows(self) -> list[Any]:
        if self._rows is None:
            self._rows = rows_of(orjson.loads(self._body))
        return self._rows


def event_page_read(body: bytes) -> EventPage:
    """GammaClient.pages' reader for /events: decodes and digests a page only if its bytes are new."""
    key = hashlib.sha256(body).digest()
    with _memory_lock:
        summary = _memory.get(key)
    if summary is not None:
        return EventPage(body, summary)
    page = EventPage(body)
    with _memory_lock:
        _memory[key] = page.summary
    return page


def _summarise(rows: list[Any]) -> Summary:
    entries, not_objects = [], []
    for position, raw in enumerate(rows):
        if not isinstance(raw, dict):
            not_objects.append(f"{raw!r:.40}")
            continue
        key = raw.get("id")
        entries.append(Entry(position, None if key is None else str(key).strip(), event_digest(raw)))
    ids = Rows(rows).ids
    return Summary(ids, tuple(entries), tuple(not_objects))


class Listing:
    """A league's events across its pages, the first copy of each id kept (an event Gamma lists twice, on
    two pages or under two series, counts once)."""

    def __init__(self) -> None:
        self._first: dict[object, tuple[EventPage, Entry]] = {}

    def add(self, page: EventPage) -> None:
        for entry in page.summary.entries:
            key = entry.key if entry.key is not None else (id(page), entry.position)  # no id: its own
            self._first.setdefault(key, (page, entry))

    def digests(self) -> list[EventDigest]:
        return [entry.digest for _, entry in self._first.values() if entry.digest is not None]

    def raws(self, wanted: Callable[[EventDigest | None], bool]) -> Iterator[dict[str, Any]]:
        """The events whose digest is `wanted`, decoding only the pages that hold one."""
        for page, entry in self._first.values():
            if wanted(entry.digest):
                yield page.rows()[entry.position]


def pages_forget() -> None:
    """Empty this process's memory of pages (a benchmark's cold sync starts as a fresh worker would)."""
    with _memory_lock:
        _memory.clear()
