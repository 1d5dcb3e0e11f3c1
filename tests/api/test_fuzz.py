"""Schema-driven fuzzing (schemathesis) of every endpoint of a running daphne instance: never a 5xx."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import httpx

from tests.api.seed import seed
from tests.conftest import ARTIFACTS, daphne_argv, free_port, wait_until

SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")


def test_fuzzing_every_operation_finds_no_server_error(service_env, spawn) -> None:
    seed()
    port = free_port()
    dead_upstream = f"http://127.0.0.1:{free_port()}/clob"  # price history must survive upstream failure
    spawn("daphne-fuzz", daphne_argv(port), {**service_env, "CLOB_URL": dead_upstream})
    base = f"http://127.0.0.1:{port}"
    wait_until(lambda: httpx.get(f"{base}/health", timeout=2).status_code == 200, 40)
    schema = httpx.get(f"{base}/api/openapi.json", timeout=10).json()
    assert len([op for ops in schema["paths"].values() for op in ops]) == 15

    ARTIFACTS.mkdir(exist_ok=True)
    run = subprocess.run(
        [str(SCHEMATHESIS), "run", f"{base}/api/openapi.json", "--checks", "not_a_server_error",
         "--max-examples", "12", "--seed", "20261127", "--workers", "2",
         "--request-timeout", "15", "--generation-database", "none", "--suppress-health-check", "all",
         "--no-color", "--report", "junit", "--report-dir", str(ARTIFACTS / f"schemathesis-{port}")],
        capture_output=True, text=True, timeout=150,
    )
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-4000:]
    counts = re.search(r"(\d+) generated, (\d+) passed", output)
    assert counts is not None, output[-2000:]
    generated, passed = int(counts.group(1)), int(counts.group(2))
    assert generated == passed and 200 <= generated <= 1500, output[-2000:]
    assert "Tested: 15" in output
