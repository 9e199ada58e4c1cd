"""Gate benchmark: throughput and latency of POST /api/v1/gates/evaluate against a trivial authenticated
endpoint of the same app (GET /api/v1/whoami), both served by gunicorn in the same run.

Usage (from the project root):

    .venv/bin/python benchmarks/gate_bench.py [--workers N] [--concurrency 8] [--seconds 10] [--rounds 5] [--client wrk]

It creates a fresh PostgreSQL database, a governed model version whose gate decision allows (warm mirror:
GATE_MIRROR_MAX_AGE_SECONDS is raised so no MLflow call happens), an API key, starts gunicorn on a free
loopback port (2 x cores + 1 sync workers by default, persistent DB connections, the rate-limit counters in
Redis, as in production), and drives each endpoint with the same closed-loop load (8 keep-alive connections,
fixed duration; the endpoints take turns in rounds, so drift in the machine's speed slows both alike) from wrk
(`make bench` installs it) or, without wrk, a Python thread loop (which costs the 2-core machine far more client
CPU). Server-side latency comes from the `Server-Timing: app;dur=` header every
response carries. Prints gate_rps / noop_rps (goal >= 0.5) and the gate's server-side p99 (goal <= 20 ms), and
the CPU each request cost (read from /proc): in the gunicorn workers, in the PostgreSQL backends serving the
benchmark database, and on the whole machine (wrk, Redis, WAL writes and the kernel included).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.common import percentile, recreate_database  # noqa: E402 (after the sys.path line above)

DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/mlgov_gate_bench"
RESULTS_DIR = ROOT / "benchmarks" / "results"
GOAL_RATIO = 0.5
GOAL_P99_MS = 20.0


@dataclass
class LoadResult:
    endpoint: str
    requests: int
    errors: int
    seconds: float
    rps: float
    client_p50_ms: float
    client_p99_ms: float
    server_p50_ms: float
    server_p99_ms: float
    cpu_app_ms: float = float("nan")  # per request, gunicorn workers
    cpu_db_ms: float = float("nan")  # per request, PostgreSQL backends of the benchmark database
    cpu_machine_ms: float = float("nan")  # per request, every process and the kernel (/proc/stat)
    server_samples: list[float] = field(default_factory=list, repr=False)  # Server-Timing, ms


def combine(rounds: list[LoadResult]) -> LoadResult:
    """One endpoint's rounds as one result: requests over the time spent in its rounds, server percentiles over
    every sample; wrk reports client percentiles per run only, so the median round's p50 and the worst p99."""
    samples = [ms for result in rounds for ms in result.server_samples]
    requests = sum(result.requests for result in rounds)
    seconds = sum(result.seconds for result in rounds)
    return LoadResult(
        endpoint=rounds[0].endpoint,
        requests=requests,
        errors=sum(result.errors for result in rounds),
        seconds=round(seconds, 2),
        rps=round(requests / seconds, 1) if seconds else 0.0,
        client_p50_ms=round(statistics.median(result.client_p50_ms for result in rounds), 2),
        client_p99_ms=max(result.client_p99_ms for result in rounds),
        server_p50_ms=round(statistics.median(samples), 2) if samples else float("nan"),
        server_p99_ms=round(percentile(samples, 0.99), 2),
        server_samples=samples,
    )


_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _process_cpu(pid: int) -> float:
    """CPU seconds (user + system) a process has used; 0 when it is gone or /proc is missing."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICKS


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(entry.name))
            except (OSError, IndexError, ValueError):
                continue
    return found


def _machine_busy() -> float:
    """CPU seconds all cores spent busy (not idle or waiting for I/O) since boot."""
    try:
        values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    except OSError:
        return float("nan")
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    return (sum(values[:8]) - idle) / _TICKS


class CpuMeter:
    """CPU used by the gunicorn workers, the database's backends and the machine between start() and stop()."""

    def __init__(self, server_pid: int, database_url: str) -> None:
        import psycopg

        self.server_pid = server_pid
        self.database = database_url.rsplit("/", 1)[1]
        self.admin = psycopg.connect(database_url, autocommit=True)

    def _snapshot(self) -> dict[str, Any]:
        rows = self.admin.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", [self.database]
        ).fetchall()
        app = {pid: _process_cpu(pid) for pid in [self.server_pid, *_children(self.server_pid)]}
        return {"app": app, "db": {pid: _process_cpu(pid) for (pid,) in rows}, "machine": _machine_busy()}

    def start(self) -> None:
        self.started = self._snapshot()

    def stop(self) -> tuple[float, float, float]:
        """CPU seconds since start(): gunicorn workers, database backends, whole machine."""
        ended = self._snapshot()

        def used(kind: str) -> float:
            before = self.started[kind]
            return sum(cpu - before.get(pid, 0.0) for pid, cpu in ended[kind].items())

        return used("app"), used("db"), ended["machine"] - self.started["machine"]

    @staticmethod
    def per_request(result: LoadResult, used: list[tuple[float, float, float]]) -> LoadResult:
        per_request = 1000 / max(result.requests, 1)
        app, db, machine = (sum(values) for values in zip(*used, strict=True))
        result.cpu_app_ms = round(app * per_request, 3)
        result.cpu_db_ms = round(db * per_request, 3)
        result.cpu_machine_ms = round(machine * per_request, 3)
        return result

    def close(self) -> None:
        self.admin.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def prepare(env: dict[str, str]) -> tuple[str, dict[str, str]]:
    """Migrate and create one governed version whose production gate allows; returns (api key, body)."""
    os.environ.update(env)
    import django

    django.setup()
    from django.contrib.auth.models import Group, User
    from django.core.management import call_command

    from governance.models import ModelGovernance, SignOff
    from governance.services.apikeys import api_key_create
    from governance.services.gate import gate_public_key
    from registry_sync.models import ModelVersion, RegisteredModel, Run

    call_command("migrate", verbosity=0)
    model = RegisteredModel.objects.create(name="bench-scorer", tags={"team": "bench"})
    run = Run.objects.create(
        run_id="0" * 32,
        user_id="submitter",
        metrics={"bias.demographic_parity_difference": 0.04, "bias.equal_opportunity_difference": 0.03},
        datasets=[
            {"name": "d", "digest": "abc", "source": "s3://d", "source_type": "s3", "context": "training"}
        ],
    )
    version = ModelVersion.objects.create(
        registered_model=model, version=1, run=run, mlflow_run_id=run.run_id
    )
    ModelGovernance.objects.create(registered_model=model, risk_tier="minimal")
    owner = User.objects.create(username="owner")
    owner.groups.add(Group.objects.get(name="model_owner"))
    SignOff.objects.create(model_version=version, target_stage="production", role="owner", user=owner)
    bot = User.objects.create(username="ci-bot")
    key = api_key_create(name="bench", scopes=["evaluate"], user=bot, actor="bench").secret
    gate_public_key()  # creates the signing key file once, before several workers could race to do it
    return key, {"model": "bench-scorer", "version": "1", "target": "production"}


def start_gunicorn(env: dict[str, str], *, port: int, workers: int) -> subprocess.Popen[bytes]:
    command = [
        str(Path(sys.executable).parent / "gunicorn"),
        "config.wsgi:application",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--preload",
        "--timeout",
        "120",  # the master imports the URLconf and MLflow before forking: slow on a loaded machine
        "--log-level",
        "warning",
    ]
    process = subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return process
        except OSError:
            time.sleep(0.3)
    os.killpg(process.pid, signal.SIGTERM)
    raise RuntimeError("gunicorn did not come up")


def drive(
    *, port: int, method: str, path: str, body: bytes | None, key: str, concurrency: int, seconds: float
) -> LoadResult:
    client_ms: list[float] = []
    server_ms: list[float] = []
    errors = 0
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}

    def worker() -> None:
        nonlocal errors
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        local_client, local_server, local_errors = [], [], 0
        while time.monotonic() < stop_at:
            started = time.perf_counter()
            try:
                conn.request(method, path, body=body, headers=headers)
                response = conn.getresponse()
                response.read()
            except (OSError, http.client.HTTPException):
                local_errors += 1
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                continue
            local_client.append((time.perf_counter() - started) * 1000)
            if response.status != 200:
                local_errors += 1
            timing = response.getheader("Server-Timing", "")
            if timing.startswith("app;dur="):
                local_server.append(float(timing.removeprefix("app;dur=")))
        conn.close()
        with lock:
            client_ms.extend(local_client)
            server_ms.extend(local_server)
            errors += local_errors

    started = time.monotonic()
    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    return LoadResult(
        endpoint=f"{method} {path}",
        requests=len(client_ms),
        errors=errors,
        seconds=round(elapsed, 2),
        rps=round(len(client_ms) / elapsed, 1),
        client_p50_ms=round(statistics.median(client_ms), 2) if client_ms else float("nan"),
        client_p99_ms=round(percentile(client_ms, 0.99), 2),
        server_p50_ms=round(statistics.median(server_ms), 2) if server_ms else float("nan"),
        server_p99_ms=round(percentile(server_ms, 0.99), 2),
        server_samples=server_ms,
    )


WRK_SCRIPT = """
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) samples = {}; count = 0; bad = 0 end
function response(status, headers, body)
  if status ~= 200 then bad = bad + 1 end
  local timing = headers["Server-Timing"] or headers["server-timing"]
  local ms = timing and timing:match("app;dur=([%d%.]+)")
  if ms then count = count + 1; samples[count] = tonumber(ms) end
end
function done(summary, latency, requests)
  local bad_total, out = 0, {}
  for _, thread in ipairs(threads) do
    bad_total = bad_total + thread:get("bad")
    for _, ms in ipairs(thread:get("samples")) do table.insert(out, string.format("%.3f", ms)) end
  end
  io.write("MLGOV ", summary.requests, " ", summary.duration, " ", summary.errors.connect + summary.errors.read
    + summary.errors.write + summary.errors.timeout + bad_total, " ", latency:percentile(50) / 1000, " ",
    latency:percentile(99) / 1000, "\\n")
  io.write("SERVER ", table.concat(out, " "), "\\n")
end
"""


def drive_wrk(
    *, port: int, method: str, path: str, body: bytes | None, key: str, concurrency: int, seconds: float
) -> LoadResult:
    """The same closed loop with wrk (C, a fraction of the client CPU a Python loop needs on a 2-core machine,
    so the server rather than the client sets the pace); server-side times from Server-Timing via its Lua API."""
    request = [f'wrk.method = "{method}"', f'wrk.headers["Authorization"] = "Bearer {key}"']
    if body is not None:
        request += [
            'wrk.headers["Content-Type"] = "application/json"',
            f"wrk.body = {json.dumps(body.decode())}",
        ]
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write("\n".join(request) + "\n" + WRK_SCRIPT)
    try:
        completed = subprocess.run(
            [
                shutil.which("wrk") or "wrk",
                f"-t{min(concurrency, 2)}",
                f"-c{concurrency}",
                f"-d{seconds:g}s",
                "--timeout",
                "10s",
                "-s",
                script.name,
                f"http://127.0.0.1:{port}{path}",
            ],
            capture_output=True,
            text=True,
            check=True,
        )
    finally:
        os.unlink(script.name)
    summary = next(line for line in completed.stdout.splitlines() if line.startswith("MLGOV "))
    requests, duration_us, errors, p50_ms, p99_ms = summary.split()[1:]
    server_line = next(line for line in completed.stdout.splitlines() if line.startswith("SERVER"))
    server_ms = [float(value) for value in server_line.split()[1:]]
    elapsed = int(duration_us) / 1e6
    return LoadResult(
        endpoint=f"{method} {path}",
        requests=int(requests),
        errors=int(errors),
        seconds=round(elapsed, 2),
        rps=round(int(requests) / elapsed, 1),
        client_p50_ms=round(float(p50_ms), 2),
        client_p99_ms=round(float(p99_ms), 2),
        server_p50_ms=round(statistics.median(server_ms), 2) if server_ms else float("nan"),
        server_p99_ms=round(percentile(server_ms, 0.99), 2),
        server_samples=server_ms,
    )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=2 * (os.cpu_count() or 1) + 1,
        help="gunicorn sync workers (default: 2 x cores + 1, gunicorn's and docs/operations.md's sizing)",
    )
    parser.add_argument("--concurrency", type=int, default=8, help="client threads (default: 8)")
    parser.add_argument("--seconds", type=float, default=10.0, help="duration per endpoint (default: 10)")
    parser.add_argument(
        "--rounds",
        type=int,
        default=5,
        help="the endpoints take turns this many times, splitting --seconds (default: 5); a machine whose speed "
        "drifts during the run then slows both alike",
    )
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL))
    parser.add_argument(
        "--client",
        choices=["wrk", "python"],
        default="wrk" if shutil.which("wrk") else "python",
        help="load generator: wrk (default when installed; `make bench` installs it) or a Python thread loop",
    )
    args = parser.parse_args()
    load = drive_wrk if args.client == "wrk" else drive

    recreate_database(args.database_url)
    data_dir = Path(os.environ.get("TMPDIR", "/tmp")) / "mlgov-gate-bench"
    data_dir.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": args.database_url,
        "DEBUG": "false",
        "DATABASE_CONN_MAX_AGE": "600",  # persistent connections, as in production
        "MLGOV_DATA_DIR": str(data_dir),
        "GATE_MIRROR_MAX_AGE_SECONDS": "86400",  # a warm mirror: no MLflow round trip per decision
        "GATE_RATE_LIMIT": "1000000/min",  # the throttle still runs, against a limit the load never reaches
        "CACHE_USE_REDIS": "true",  # as in production: the gate's rate-limit counters live in Redis
        "MLFLOW_TRACKING_URI": "http://127.0.0.1:9",
        "POLICY_ENGINE": "embedded",
    }
    key, body = prepare(env)
    port = free_port()
    server = start_gunicorn(env, port=port, workers=args.workers)
    try:
        payload = json.dumps(body).encode()
        # Warm-up: each worker loads the policy engine and URL routes on its first requests.
        load(
            port=port,
            method="POST",
            path="/api/v1/gates/evaluate",
            body=payload,
            key=key,
            concurrency=4,
            seconds=2,
        )
        load(port=port, method="GET", path="/api/v1/whoami", body=None, key=key, concurrency=4, seconds=1)
        meter = CpuMeter(server.pid, args.database_url)
        endpoints: dict[str, tuple[str, str, bytes | None]] = {
            "noop": ("GET", "/api/v1/whoami", None),
            "gate": ("POST", "/api/v1/gates/evaluate", payload),
        }
        rounds: dict[str, list[LoadResult]] = {name: [] for name in endpoints}
        cpu: dict[str, list[tuple[float, float, float]]] = {name: [] for name in endpoints}
        seconds = args.seconds / max(args.rounds, 1)
        for _ in range(max(args.rounds, 1)):
            for name, (method, path, body_bytes) in endpoints.items():
                meter.start()
                rounds[name].append(
                    load(
                        port=port, method=method, path=path, body=body_bytes, key=key,
                        concurrency=args.concurrency, seconds=seconds,
                    )
                )  # fmt: skip
                cpu[name].append(meter.stop())
        meter.close()
        noop, gate = (CpuMeter.per_request(combine(rounds[name]), cpu[name]) for name in endpoints)
        round_ratios = [
            g.rps / n.rps if n.rps else 0.0 for n, g in zip(rounds["noop"], rounds["gate"], strict=True)
        ]
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=20)

    ratio = gate.rps / noop.rps if noop.rps else 0.0
    print(
        f"gunicorn: {args.workers} sync workers; load: {args.client}, {args.concurrency} keep-alive connections, "
        f"{args.seconds:g} s each in {len(round_ratios)} alternating rounds"
    )
    print(
        f"{'endpoint':<32}{'req':>8}{'err':>6}{'rps':>9}{'p50 ms':>9}{'p99 ms':>9}{'srv p50':>9}{'srv p99':>9}"
        f"{'cpu app':>9}{'cpu db':>8}{'cpu all':>9}"
    )
    for result in (noop, gate):
        print(
            f"{result.endpoint:<32}{result.requests:>8}{result.errors:>6}{result.rps:>9.1f}{result.client_p50_ms:>9.2f}"
            f"{result.client_p99_ms:>9.2f}{result.server_p50_ms:>9.2f}{result.server_p99_ms:>9.2f}"
            f"{result.cpu_app_ms:>9.2f}{result.cpu_db_ms:>8.2f}{result.cpu_machine_ms:>9.2f}"
        )
    print(
        "cpu: milliseconds of CPU per request in the gunicorn workers, the database backends, the whole machine"
    )
    print(
        "gate_rps / noop_rps per round: "
        + ", ".join(f"{value:.2f}" for value in round_ratios)
        + f" (median {statistics.median(round_ratios):.2f})"
    )
    ratio_ok = ratio >= GOAL_RATIO
    p99_ok = gate.server_p99_ms <= GOAL_P99_MS
    print(f"gate_rps / noop_rps = {ratio:.2f}  (goal >= {GOAL_RATIO}: {'PASS' if ratio_ok else 'FAIL'})")
    print(
        f"gate server-side p99 = {gate.server_p99_ms:.2f} ms  (goal <= {GOAL_P99_MS:.0f} ms: {'PASS' if p99_ok else 'FAIL'})"
    )
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    (RESULTS_DIR / f"gate_bench-{stamp}.json").write_text(
        json.dumps(
            {
                "workers": args.workers,
                "client": args.client,
                "concurrency": args.concurrency,
                "rounds": len(round_ratios),
                "noop": _summary(noop),
                "gate": _summary(gate),
                "ratio": ratio,
                "round_ratios": round_ratios,
            },
            indent=2,
        )
    )
    return 0 if ratio_ok and p99_ok and not gate.errors and not noop.errors else 1


def _summary(result: LoadResult) -> dict[str, Any]:
    summary = asdict(result)
    del summary["server_samples"]
    return summary


if __name__ == "__main__":
    sys.exit(main())
