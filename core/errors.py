"""Errors shared by the realtime modules (kept here so they import without side effects)."""

from __future__ import annotations


class StaleFenceError(Exception):
    """A writer holding an outdated fencing token tried to write; nothing was written."""
