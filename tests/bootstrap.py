"""Loaded with `-p tests.bootstrap` before pytest-django reads the settings: test-run environment."""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("DEBUG", "true")
os.environ.setdefault("SECRET_KEY", "test-secret-key-" + "x" * 40)
os.environ.setdefault("TEST_DB_NAME", f"test_mevu_{os.getpid()}")
# A private key prefix per run, so concurrent runs sharing one Redis never see each other's keys.
os.environ["REDIS_PREFIX"] = f"mevutest{os.getpid()}"
# Hypothesis (and schemathesis, which uses it) keep their caches under .data/, not in the checkout's root.
_DATA = Path(__file__).resolve().parent.parent / ".data"
os.environ.setdefault("HYPOTHESIS_STORAGE_DIRECTORY", str(_DATA / "hypothesis"))
