"""Content digests of Gamma events, so that a fixture whose events are what they were at its last write is
neither parsed nor written again (games.services.games_sync).

A fixture's digest covers the raw JSON of its main event and of its "More Markets" siblings (every market,
price, line, status, team name and score inside them), what else the parse reads (league code and
ordering, the league's teams), the code that turns events into rows, and the kickoff's side of the time
thresholds the parse depends on (rules.kickoff_phase). Key order counts: an upstream that reorders keys
only costs a re-parse.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from games import parse, rules
from games.parse import BadPayload
from games.rules import TeamRef

HEX_CHARS = 32  # Game.content_hash max_length


def _code_digest() -> bytes:
    """The modules that map events to stored rows: a deploy that changes them re-parses every game once."""
    here = Path(__file__).parent
    digest = hashlib.sha256()
    for name in ("parse.py", "rules.py", "services.py", "digest.py"):
        digest.update((here / name).read_bytes())
    return digest.digest()


CODE = _code_digest()


def context_digest(league_code: str, ordering: str, teams: Iterable[TeamRef]) -> bytes:
    """Everything besides the events that the parse of a league's events reads."""
    digest = hashlib.sha256(CODE)
    refs = sorted((t.pk, t.gamma_id, t.name, t.abbreviation, t.alias) for t in teams)
    digest.update(orjson.dumps([league_code, ordering, refs]))
    return digest.digest()


@dataclasses.dataclass(frozen=True, slots=True)
class EventDigest:
    gamma_id: str
    fixture: str  # slug of the fixture's main event
    main: bool
    digest: bytes


def event_digest(raw: Mapping[str, Any]) -> EventDigest | None:
    """An event's own digest (no DB, so it runs in the fetching thread); None for an event without a usable
    id or slug (it is always parsed)."""
    try:
        gamma_id, slug = parse.event_identity(raw)
        body = orjson.dumps(raw)
    except (BadPayload, TypeError, orjson.JSONEncodeError):
        return None
    fixture = parse.main_slug(slug)
    return EventDigest(gamma_id, fixture, fixture == slug, hashlib.sha256(body).digest())


def fixture_digests(events: Iterable[EventDigest], context: bytes) -> dict[str, tuple[str, bytes]]:
    """{fixture slug: (main event id, digest of the main event and its siblings in this context)} for every
    fixture whose main event is among `events`."""
    mains: dict[str, str] = {}
    members: dict[str, list[tuple[str, bytes]]] = {}
    for event in events:
        if event.main:
            mains.setdefault(event.fixture, event.gamma_id)
        members.setdefault(event.fixture, []).append((event.gamma_id, event.digest))
    result: dict[str, tuple[str, bytes]] = {}
    for slug, gamma_id in mains.items():
        digest = hashlib.sha256(context)
        for _, member in sorted(members[slug]):  # by event id: page order does not matter
            digest.update(member)
        result[slug] = (gamma_id, digest.digest())
    return result


def stored_form(digest: bytes, kickoff: datetime | None, now: datetime, horizon: timedelta) -> str:
    """The value kept in Game.content_hash: the fixture digest bound to the kickoff's time phase."""
    phase = rules.kickoff_phase(kickoff, now, horizon)
    return hashlib.sha256(digest + phase.to_bytes(1, "big", signed=True)).hexdigest()[:HEX_CHARS]
