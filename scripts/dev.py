"""Bootstrap for the two README commands: `make run` and `make test`.

Starts embedded PostgreSQL/Redis when their URLs are unset, then runs the system or the tests.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "scripts"))

from devservices import services_env  # noqa: E402

DATA = Path(os.environ.get("MEVU_DATA_DIR", REPO / ".data"))
PY = sys.executable


def _dev_secret(env: dict[str, str]) -> str:
    """SECRET_KEY from the environment, else one generated once and kept under .data/."""
    if env.get("SECRET_KEY"):
        return env["SECRET_KEY"]
    path = DATA / "secret_key"
    if not path.exists():
        DATA.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(48))
    return path.read_text().strip()


def _run(env: dict[str, str], *args: str) -> int:
    proc = subprocess.Popen([PY, *args], cwd=REPO, env=env)
    try:
        return proc.wait()
    except KeyboardInterrupt:
        proc.send_signal(signal.SIGINT)
        return proc.wait()


def run_system(extra: list[str]) -> int:
    with services_env(DATA) as env:
        env.setdefault("DEBUG", "true")
        env["SECRET_KEY"] = _dev_secret(env)
        env.setdefault("MEVU_UPSTREAM", "sim")
        env.setdefault("APP_MODE", "all")
        for step in (["manage.py", "migrate", "--noinput"],):
            if _run(env, *step) != 0:
                return 1
        if env.get("DJANGO_SUPERUSER_USERNAME") and env.get("DJANGO_SUPERUSER_PASSWORD"):
            _run(env, "manage.py", "ensure_superuser")
        return _run(env, "manage.py", "serve", *extra)


def run_tests(extra: list[str]) -> int:
    with services_env(DATA) as env:  # tests/bootstrap.py sets the test run's DEBUG and SECRET_KEY
        code = _run(env, "-m", "pytest", *extra)
        # pytest exits 5 when it collected nothing: that is a failure here, never a pass.
        return 1 if code == 5 else code


def _interrupted(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt  # `kill` or a closed terminal stops everything, as Ctrl-C does


def main() -> int:
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _interrupted)
    if len(sys.argv) < 2 or sys.argv[1] not in {"run", "test"}:
        print("usage: dev.py run|test [args...]", file=sys.stderr)
        return 2
    command, extra = sys.argv[1], sys.argv[2:]
    return run_system(extra) if command == "run" else run_tests(extra)


if __name__ == "__main__":
    raise SystemExit(main())
