"""Configuration is strict: a bad value stops the process at start with one clear line."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import REPO


def manage(env_overrides: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in {"DEBUG"}}
    env.update(env_overrides)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize(
    ("name", "value", "accepts"),
    [
        ("APP_MODE", "foo", "http|workers|all"),
        ("DATABASE_URL", "mysql://nope", "postgresql://"),
        ("DATABASE_URL", "not a url at all", "postgresql://"),
        ("PORT", "eighty", "integer"),
        ("WORKER_COUNT", "0", "integer from 1"),
        ("MEVU_UPSTREAM", "staging", "live|sim"),
        ("DEBUG", "maybe", "boolean"),
        ("GAMMA_URL", "ftp://x", "http|https"),
    ],
)
def test_bad_value_exits_with_one_line(name: str, value: str, accepts: str) -> None:
    result = manage({"DEBUG": "true", name: value}, "check")
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert name in lines[0] and accepts in lines[0]


def test_secret_key_required_without_debug() -> None:
    result = manage({"DEBUG": "false", "SECRET_KEY": ""}, "check")
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_check_deploy_is_clean_with_production_environment() -> None:
    production = {
        "DEBUG": "false",
        "SECRET_KEY": "p" * 20 + "Q8v!x2Lr#9zW@k4sT7yN0mB5cF3hJ6dA1gE",
        "ALLOWED_HOSTS": "api.mevu.example",
        "CORS_ALLOWED_ORIGINS": "https://mevu.example",
    }
    result = manage(production, "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "WARNINGS" not in result.stdout + result.stderr


def test_pgbouncer_mode_disables_server_side_state() -> None:
    code = (
        "from django.conf import settings as s; d = s.DATABASES['default'];"
        "print(d['DISABLE_SERVER_SIDE_CURSORS'], d['OPTIONS']['prepare_threshold'], d['CONN_MAX_AGE'])"
    )
    result = manage({"DEBUG": "true", "DB_POOLER": "pgbouncer"}, "shell", "-v", "0", "-c", code)
    assert result.stdout.split() == ["True", "None", "0"], result.stderr
