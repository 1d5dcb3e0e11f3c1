"""Failover benchmark (see docs/BENCHMARKS.md, "Failover"): SIGKILL the workers instance holding the stream lease.

A real deployment on one host: the simulator, 2 HTTP instances and 2 workers instances (`manage.py serve`,
each in its own process group), a private redis-server and a PostgreSQL database of your own. A /ws/games
client stays connected to each HTTP instance. Each round:
  1. wait for a lease renewal of the stream holder (polling the lease's `renewed_ms` every 5 ms) and SIGKILL
     the holder's whole workers instance right after it: the worst case, the lease has its full TTL left;
  2. measure from the SIGKILL to the first price frame on each HTTP instance's client (frames that arrive in
     the first 0.3 s are the dead holder's, still in flight, and are not counted: no successor can publish
     before the lease expires), to the survivor's lease takeover, and to the next "Sending due task" of beat
     (whose lock the killed instance also held from the second round on: the survivor holds both);
  3. restart the killed instance and wait until it stands by for both the stream lease and the beat lock.
The anchor repeats the rounds with the Kubernetes leader-election defaults (LeaseDuration 15 s, RetryPeriod 2 s:
STREAM_LEASE_TTL_S=15, STREAM_STANDBY_POLL_S=2, BEAT_LOCK_TIMEOUT_S=15, BEAT_LOOP_S=2).

Run (creates nothing outside its database, its Redis port and a temp dir):
  psql -h 127.0.0.1 -U postgres -c 'create database failover_bench'
  DATABASE_URL=postgresql://postgres@127.0.0.1:5432/failover_bench .venv/bin/python bench/bench_failover.py \
      --port-base 7100 --kills 10 --anchor-kills 3
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

ANCHOR_ENV = {"STREAM_LEASE_TTL_S": "15", "STREAM_STANDBY_POLL_S": "2", "BEAT_LOCK_TIMEOUT_S": "15",
              "BEAT_LOOP_S": "2"}
IN_FLIGHT_S = 0.3  # frames received this soon after the kill were published by the dead holder
ROUND_TIMEOUT_S = 40.0
TARGET_S = 5.0


class Server:
    """A child in its own process group (a SIGKILL of the group is a crashed container), logging to a file."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], logs: Path) -> None:
        self.name = name
        self.log_path = logs / f"{name}-{int(time.time() * 1000)}.log"
        self._log = self.log_path.open("wb")
        self.proc = subprocess.Popen(argv, cwd=REPO, env=env, stdout=self._log, stderr=subprocess.STDOUT,
                                     start_new_session=True)

    def pids(self) -> set[int]:
        import psutil

        try:
            root = psutil.Process(self.proc.pid)
            return {root.pid, *(c.pid for c in root.children(recursive=True))}
        except psutil.NoSuchProcess:
            return set()

    def log_size(self) -> int:
        return self.log_path.stat().st_size

    def log_since(self, offset: int) -> str:
        with self.log_path.open("rb") as handle:
            handle.seek(offset)
            return handle.read().decode(errors="replace")

    def kill_group(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)
        self._log.close()

    def stop(self, timeout_s: float = 30) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout_s)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)
        self._log.close()


def wait_until(check, timeout_s: float, interval_s: float = 0.05, what: str = ""):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(interval_s)
    raise TimeoutError(f"timed out after {timeout_s}s waiting for {what or check}")


class PriceClients:
    """One /ws/games client per HTTP instance, in a thread of its own: the arrival time of every price frame."""

    def __init__(self, ports: list[int]) -> None:
        self.arrivals: dict[int, list[float]] = {port: [] for port in ports}
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, name="ws-clients", daemon=True).start()
        for port in ports:
            asyncio.run_coroutine_threadsafe(self._client(port), self.loop)

    async def _client(self, port: int) -> None:
        import orjson
        import websockets

        from scripts.smoke import _is_price_event

        while True:
            try:
                async with websockets.connect(f"ws://127.0.0.1:{port}/ws/games", max_size=None) as ws:
                    async for raw in ws:
                        if _is_price_event(orjson.loads(raw)):
                            self.arrivals[port].append(time.monotonic())
            except (OSError, websockets.WebSocketException):
                await asyncio.sleep(0.2)

    def first_after(self, port: int, moment: float) -> float | None:
        return next((t for t in self.arrivals[port] if t > moment), None)


@dataclass
class Round:
    ws_s: dict[int, float] = field(default_factory=dict)
    lease_s: float = 0.0
    beat_s: float | None = None  # None when the killed instance did not hold the beat lock


class Deployment:
    def __init__(self, args: argparse.Namespace, tmp: Path) -> None:
        self.args, self.tmp = args, tmp
        self.servers: list[Server] = []
        base = args.port_base
        self.redis_port, self.sim_port, self.http_ports = base + 1, base + 2, [base + 10, base + 11]
        sim = f"127.0.0.1:{self.sim_port}"
        self.env = {
            **os.environ, "PYTHONUNBUFFERED": "1", "LOG_FORMAT": "text", "BIND_HOST": "127.0.0.1",
            "REDIS_URL": f"redis://127.0.0.1:{self.redis_port}/0", "REDIS_PREFIX": "failbench",
            "MEVU_UPSTREAM": "sim", "GAMMA_URL": f"http://{sim}/gamma", "CLOB_URL": f"http://{sim}/clob",
            "CLOB_WS_URL": f"ws://{sim}/clob/ws/market", "SPORTS_WS_URL": f"ws://{sim}/sports/ws",
            "DATA_API_URL": f"http://{sim}/data", "REALTIME_ALLOW_NO_ORIGIN": "true",
            "SYNC_LEAGUES_EVERY_S": "3600", "SYNC_TEAMS_EVERY_S": "3600", "SYNC_GAMES_EVERY_S": "60",
            "SYNC_LIVE_GAMES_EVERY_S": "15", "STREAM_WATCHDOG_EVERY_S": "1", "SPORTS_CONCURRENCY": "1",
            "METRICS_PORT": "0", "SECRET_KEY": os.environ.get("SECRET_KEY") or "bench-failover-" + "x" * 40,
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
        }
        os.environ.update({k: self.env[k] for k in ("REDIS_URL", "REDIS_PREFIX", "SECRET_KEY", "ALLOWED_HOSTS")})
        self.workers: dict[str, Server] = {}

    def spawn(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> Server:
        server = Server(name, argv, env or self.env, self.tmp)
        self.servers.append(server)
        return server

    def start_base(self) -> None:
        py = sys.executable
        redis_bin = shutil.which("redis-server") or "redis-server"
        self.spawn("redis", [redis_bin, "--port", str(self.redis_port), "--save", "", "--appendonly", "no",
                             "--bind", "127.0.0.1"])
        self.spawn("simulator", [py, "-m", "simulator", "--port", str(self.sim_port), "--games",
                                 str(self.args.games), "--rate", str(self.args.rate), "--new-game-every-s", "0"])
        wait_until(lambda: _http_ok(f"http://127.0.0.1:{self.sim_port}/_sim/state"), 60, 0.2, "the simulator")
        for argv in (["migrate", "--noinput", "-v", "0"], ["flush", "--noinput"], ["sync_upstream"]):
            subprocess.run([py, "manage.py", *argv], cwd=REPO, env=self.env, check=True, capture_output=True,
                           timeout=300)
        for i, port in enumerate(self.http_ports):
            self.spawn(f"http-{i}", [py, "manage.py", "serve"],
                       {**self.env, "APP_MODE": "http", "WORKER_COUNT": "1", "PORT": str(port)})

    def start_workers(self, node: str, extra: dict[str, str]) -> Server:
        env = {**self.env, **extra, "APP_MODE": "workers", "MEVU_NODE_NAME": f"{node}.bench"}
        self.workers[node] = self.spawn(f"workers-{node}", [sys.executable, "manage.py", "serve"], env)
        return self.workers[node]

    def instance_of(self, pid: int | None) -> str | None:
        return next((node for node, server in self.workers.items() if pid in server.pids()), None)

    def stop_workers(self) -> None:
        for server in self.workers.values():
            server.stop()
        self.workers.clear()

    def stop_all(self) -> None:
        for server in reversed(self.servers):
            if server.proc.poll() is None:
                server.stop(20)


def _http_ok(url: str) -> bool:
    import httpx

    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def _pid_of(holder: str | None) -> int | None:
    return int(holder.rsplit(":", 1)[1]) if holder else None


def stream_holder() -> int | None:
    from core.lease import lease_status

    return _pid_of(lease_status("stream")["holder"])


def beat_pids(role: str) -> set[int]:
    from core.heartbeats import heartbeats_alive

    return {int(b["pid"]) for b in heartbeats_alive(role)}  # type: ignore[call-overload]


def stream_standby() -> int | None:
    from core.redis import redis_sync
    from stream.holding import standby_key

    value = redis_sync().get(standby_key())
    return _pid_of(value.decode()) if value else None


def settle(dep: Deployment, holder_node: str, standby_node: str, clients: PriceClients) -> None:
    """Until `holder_node` holds the stream lease and the beat lock, the other stands by for both, prices flow."""
    holder, standby = dep.workers[holder_node], dep.workers[standby_node]

    def ready() -> bool:
        return (dep.instance_of(stream_holder()) == holder_node and stream_standby() in standby.pids()
                and beat_pids("beat") <= holder.pids() and bool(beat_pids("beat"))
                and bool(beat_pids("beat-standby") & standby.pids()))

    wait_until(ready, 180, 0.2, f"{holder_node} holding, {standby_node} standing by")
    now = time.monotonic()
    for port in clients.arrivals:
        wait_until(lambda p=port: clients.first_after(p, now), 60, 0.1, f"prices on :{port}")


def renewal_then_kill(victim: Server) -> float:
    """SIGKILL the victim's process group right after the stream holder's next lease renewal."""
    from core.redis import redis_key, redis_sync

    client, info = redis_sync(), redis_key("lease", "stream", "info")
    first = client.hget(info, "renewed_ms")
    deadline = time.monotonic() + 30
    while client.hget(info, "renewed_ms") == first:
        if time.monotonic() > deadline:
            raise TimeoutError("no lease renewal in 30 s")
        time.sleep(0.005)
    killed_at = time.monotonic()
    with contextlib.suppress(ProcessLookupError):
        os.killpg(victim.proc.pid, signal.SIGKILL)
    return killed_at


def one_round(dep: Deployment, clients: PriceClients, extra: dict[str, str]) -> Round:
    victim_node = dep.instance_of(stream_holder())
    assert victim_node is not None, "no stream holder"
    survivor_node = next(n for n in dep.workers if n != victim_node)
    victim, survivor = dep.workers[victim_node], dep.workers[survivor_node]
    beat_victim = bool(beat_pids("beat") & victim.pids())
    mark = survivor.log_size()
    killed_at = renewal_then_kill(victim)
    victim.kill_group()
    result = Round()
    seen: dict[str, float] = {}

    def done() -> bool:
        now = time.monotonic()
        if "lease" not in seen and dep.instance_of(stream_holder()) == survivor_node:
            seen["lease"] = now
        if beat_victim and "beat" not in seen and "Sending due task" in survivor.log_since(mark):
            seen["beat"] = now
        for port in clients.arrivals:
            first = clients.first_after(port, killed_at + IN_FLIGHT_S)
            if first is not None:
                result.ws_s[port] = first - killed_at
        return "lease" in seen and ("beat" in seen or not beat_victim) and len(result.ws_s) == len(clients.arrivals)

    wait_until(done, ROUND_TIMEOUT_S, 0.02, "failover")
    result.lease_s = seen["lease"] - killed_at
    result.beat_s = seen["beat"] - killed_at if beat_victim else None
    # The killed instance comes back (same node name) and must stand by before the next round.
    dep.workers[victim_node] = dep.spawn(f"workers-{victim_node}", victim.proc.args, {  # type: ignore[arg-type]
        **dep.env, **extra, "APP_MODE": "workers", "MEVU_NODE_NAME": f"{victim_node}.bench"})
    settle(dep, survivor_node, victim_node, clients)
    return result


def run_series(dep: Deployment, clients: PriceClients, label: str, kills: int, extra: dict[str, str]) -> list[Round]:
    if kills <= 0:
        return []
    dep.start_workers("a", extra)
    wait_until(lambda: dep.instance_of(stream_holder()) == "a" and beat_pids("beat") <= dep.workers["a"].pids()
               and beat_pids("beat"), 180, 0.2, "workers-a holding")
    dep.start_workers("b", extra)
    settle(dep, "a", "b", clients)
    rounds = []
    for i in range(kills):
        r = one_round(dep, clients, extra)
        rounds.append(r)
        ws = " ".join(f"{v:5.2f}" for v in r.ws_s.values())
        beat = f"{r.beat_s:5.2f}" if r.beat_s is not None else "  n/a"
        print(f"{label:7} kill {i + 1:2}: prices on each HTTP instance {ws} s | lease {r.lease_s:5.2f} s | "
              f"beat {beat} s", flush=True)
    dep.stop_workers()
    return rounds


def distribution(values: list[float]) -> str:
    ordered = sorted(values)
    if not ordered:
        return "n/a"
    p90 = ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]
    return (f"min {ordered[0]:5.2f}  p50 {statistics.median(ordered):5.2f}  p90 {p90:5.2f}  "
            f"max {ordered[-1]:5.2f}  (n={len(ordered)})")


def summarize(ours: list[Round], anchor: list[Round]) -> bool:
    def series(rounds: list[Round]) -> dict[str, list[float]]:
        return {
            "prices, every HTTP instance": [max(r.ws_s.values()) for r in rounds],
            "lease takeover": [r.lease_s for r in rounds],
            "beat schedules again": [r.beat_s for r in rounds if r.beat_s is not None],
        }

    mine, theirs = series(ours), series(anchor)
    print("\n=== Failover after SIGKILL of the stream holder's workers instance (kill just after a renewal) ===")
    ok = True
    for name in mine:
        print(f"{name:28} ours   {distribution(mine[name])}")
        print(f"{'':28} anchor {distribution(theirs[name])}")
        if mine[name] and theirs[name]:
            ratio_p50 = statistics.median(mine[name]) / statistics.median(theirs[name])
            ratio_max = max(mine[name]) / max(theirs[name])
            print(f"{'':28} ratio ours/anchor: p50 {ratio_p50:.2f}, max {ratio_max:.2f}")
        if name != "lease takeover":
            ok = ok and bool(mine[name]) and max(mine[name]) <= TARGET_S
    worst = max(mine["prices, every HTTP instance"] + mine["beat schedules again"])
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"verdict: worst failover {worst:.2f} s (prices on every HTTP instance and beat) -> "
          f"{'PASS' if ok else 'FAIL'} (target max <= {TARGET_S:.0f} s)")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port-base", type=int, default=7100, help="redis on +1, simulator +2, HTTP +10/+11")
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--anchor-kills", type=int, default=3)
    parser.add_argument("--games", type=int, default=12)
    parser.add_argument("--rate", type=float, default=50.0)
    args = parser.parse_args()
    if "DATABASE_URL" not in os.environ:
        parser.error("set DATABASE_URL to a database of your own (it is flushed)")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mevu.settings")
    tmp = Path(tempfile.mkdtemp(prefix="bench-failover-"))
    dep = Deployment(args, tmp)
    import django

    django.setup()
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}; logs in {tmp}", flush=True)
    try:
        dep.start_base()
        clients = PriceClients(dep.http_ports)
        ours = run_series(dep, clients, "ours", args.kills, {})
        anchor = run_series(dep, clients, "anchor", args.anchor_kills, ANCHOR_ENV)
    finally:
        dep.stop_all()
    return 0 if summarize(ours, anchor) else 1


if __name__ == "__main__":
    sys.exit(main())
