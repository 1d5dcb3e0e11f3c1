"""In-process listing state must not leak between tests (each test seeds its own games and prices)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from readmodels import listing


@pytest.fixture(autouse=True)
def _fresh_listing_cache() -> Iterator[None]:
    listing._local.clear()
    yield
    listing._local.clear()
