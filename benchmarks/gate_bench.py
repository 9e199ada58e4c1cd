"""Gate benchmark: throughput and latency of POST /api/v1/gates/evaluate against a trivial authenticated
endpoint of the same app (GET /api/v1/whoami), both served by gunicorn in the same run.

Usage (from the project root):

    .venv/bin/python benchmarks/gate_bench.py [--workers 2] [--concurrency 8] [--seconds 10]

It creates a fresh PostgreSQL database, a governed model version whose gate decision allows (warm mirror:
GATE_MIRROR_MAX_AGE_SECONDS is raised so no MLflow call happens), an API key, starts gunicorn on a free
loopback port, and drives each endpoint with the same closed-loop load (N threads, keep-alive connections,
fixed duration). Server-side latency comes from the `Server-Timing: app;dur=` header every response carries.
Prints gate_rps / noop_rps (goal >= 0.5) and the gate's server-side p99 (goal <= 20 ms).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

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


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def recreate_database(url: str) -> None:
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = parts._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


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
    )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--workers", type=int, default=2, help="gunicorn sync workers (default: 2, one per core)"
    )
    parser.add_argument("--concurrency", type=int, default=8, help="client threads (default: 8)")
    parser.add_argument("--seconds", type=float, default=10.0, help="duration per endpoint (default: 10)")
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL))
    args = parser.parse_args()

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
        "GATE_RATE_LIMIT": "1000000/min",
        "MLFLOW_TRACKING_URI": "http://127.0.0.1:9",
        "POLICY_ENGINE": "embedded",
    }
    key, body = prepare(env)
    port = free_port()
    server = start_gunicorn(env, port=port, workers=args.workers)
    try:
        payload = json.dumps(body).encode()
        # Warm-up: each worker loads the policy engine and URL routes on its first requests.
        drive(
            port=port,
            method="POST",
            path="/api/v1/gates/evaluate",
            body=payload,
            key=key,
            concurrency=4,
            seconds=2,
        )
        drive(port=port, method="GET", path="/api/v1/whoami", body=None, key=key, concurrency=4, seconds=1)
        noop = drive(
            port=port, method="GET", path="/api/v1/whoami", body=None, key=key,
            concurrency=args.concurrency, seconds=args.seconds,
        )  # fmt: skip
        gate = drive(
            port=port, method="POST", path="/api/v1/gates/evaluate", body=payload, key=key,
            concurrency=args.concurrency, seconds=args.seconds,
        )  # fmt: skip
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=20)

    ratio = gate.rps / noop.rps if noop.rps else 0.0
    print(
        f"gunicorn: {args.workers} sync workers; load: {args.concurrency} keep-alive client threads, {args.seconds:.0f} s each"
    )
    print(
        f"{'endpoint':<32}{'req':>8}{'err':>6}{'rps':>9}{'p50 ms':>9}{'p99 ms':>9}{'srv p50':>9}{'srv p99':>9}"
    )
    for result in (noop, gate):
        print(
            f"{result.endpoint:<32}{result.requests:>8}{result.errors:>6}{result.rps:>9.1f}{result.client_p50_ms:>9.2f}"
            f"{result.client_p99_ms:>9.2f}{result.server_p50_ms:>9.2f}{result.server_p99_ms:>9.2f}"
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
                "concurrency": args.concurrency,
                "noop": asdict(noop),
                "gate": asdict(gate),
                "ratio": ratio,
            },
            indent=2,
        )
    )
    return 0 if ratio_ok and p99_ok and not gate.errors and not noop.errors else 1


if __name__ == "__main__":
    sys.exit(main())
