"""Loaded with `-p tests.bootstrap` before pytest-django reads the settings: test-run environment."""

from __future__ import annotations

import os

os.environ.setdefault("DEBUG", "true")
os.environ.setdefault("SECRET_KEY", "test-secret-key-" + "x" * 40)
os.environ.setdefault("TEST_DB_NAME", f"test_mevu_{os.getpid()}")
# A private key prefix per run, so concurrent runs sharing one Redis never see each other's keys.
os.environ["REDIS_PREFIX"] = f"mevutest{os.getpid()}"
