"""Wire-format helpers: the three Gamma timestamp formats, decimal strings, JSON-string fields."""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

try:
    _EASTERN: timezone | ZoneInfo = ZoneInfo("America/New_York")
except Exception:  # no tz database: a fixed offset is close enough for slug dates
    _EASTERN = timezone(timedelta(hours=-5))


# Every /events response renders ~50k timestamps and ~24k string lists, mostly the same few thousand values:
# memoised, a page costs what a real upstream's would (bytes, not Python formatting).
_memo = functools.lru_cache(maxsize=1 << 16)


def _dt(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


@_memo
def iso_micros(ms: int) -> str:
    """``2025-12-29T15:07:07.333949Z`` (listing/creation times carry microseconds)."""
    micros = (ms % 1000) * 1000 + (ms * 7919) % 1000  # stable sub-millisecond digits
    return f"{_dt(ms).strftime('%Y-%m-%dT%H:%M:%S')}.{micros:06d}Z"


@_memo
def iso_seconds(ms: int) -> str:
    """``2026-01-04T20:00:00Z`` (kickoff fields)."""
    return _dt(ms).strftime("%Y-%m-%dT%H:%M:%SZ")


@_memo
def pg_ts(ms: int) -> str:
    """``2026-01-04 20:00:00+00`` (market ``gameStartTime``/``closedTime``)."""
    return _dt(ms).strftime("%Y-%m-%d %H:%M:%S+00")


def rfc3339_nanos(ms: int, extra_ns: int = 0) -> str:
    """``2026-10-01T06:23:23.907040294Z`` (sports socket ``finishedTimestamp``)."""
    base = _dt(ms).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{base}.{(ms % 1000) * 1_000_000 + extra_ns % 1_000_000:09d}Z"


def utc_date(ms: int) -> str:
    return _dt(ms).strftime("%Y-%m-%d")


@_memo
def eastern_date(ms: int) -> str:
    """Slug and ``eventDate`` dates are the US-Eastern calendar date of kickoff."""
    return _dt(ms).astimezone(_EASTERN).strftime("%Y-%m-%d")


def eastern_clock(ms: int) -> str:
    """``January 4 at 3:00 PM ET`` as used in event descriptions."""
    local = _dt(ms).astimezone(_EASTERN)
    hour = local.hour % 12 or 12
    return f"{local.strftime('%B')} {local.day} at {hour}:{local.minute:02d} {'AM' if local.hour < 12 else 'PM'} ET"


def json_string_list(items: Sequence[str]) -> str:
    """Gamma's JSON-encoded string fields use ``", "`` separators: ``'["Over", "Under"]'``."""
    return _json_string_list(tuple(items))


@_memo
def _json_string_list(items: tuple[str, ...]) -> str:
    return json.dumps(list(items), ensure_ascii=False)


def price_str(milli: int) -> str:
    """Price in thousandths -> shortest decimal string (``490`` -> ``"0.49"``, ``5`` -> ``"0.005"``)."""
    return PRICE_STRINGS[milli]


def _build_price_strings() -> list[str]:
    out = []
    for milli in range(1001):
        if milli == 0:
            out.append("0")
        elif milli == 1000:
            out.append("1")
        else:
            out.append(f"0.{milli:03d}".rstrip("0"))
    return out


PRICE_STRINGS: list[str] = _build_price_strings()


def size_str(centi: int) -> str:
    """Size in hundredths of a share -> decimal string without trailing zeros."""
    whole, frac = divmod(centi, 100)
    if frac == 0:
        return str(whole)
    if frac % 10 == 0:
        return f"{whole}.{frac // 10}"
    return f"{whole}.{frac:02d}"


def ltp_str(milli: int | None) -> str:
    """``last_trade_price`` has three decimals (``"0.910"``) or is ``""`` before any trade."""
    return "" if milli is None else f"{milli / 1000:.3f}"


def decimal_str(value: float, places: int = 4) -> str:
    """Shortest decimal string for a probability (``0.2650`` -> ``"0.265"``)."""
    text = f"{value:.{places}f}".rstrip("0").rstrip(".")
    return text or "0"


def line_slug(line: float) -> str:
    """``5.5`` -> ``5pt5`` as in ``...-spread-home-5pt5`` / ``...-total-144pt5``."""
    text = f"{abs(line):g}"
    return text.replace(".", "pt")


def line_text(line: float) -> str:
    return f"{line:g}"
