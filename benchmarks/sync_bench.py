"""Registry sync benchmark: our full and no-change incremental sync against the MLflow reading floor.

Usage (from the project root):

    .venv/bin/python benchmarks/sync_bench.py [--versions 2000] [--models 20] [--database-url URL]

It starts a throw-away MLflow server, fills it with N model versions (each with its own run carrying
params, metrics and a dataset input), creates a fresh PostgreSQL database, and in the same process times:

* floor: the least MLflow reading that fetches the same data (list experiments, page every version with
  max_results=1000, fetch the distinct runs with `attributes.run_id IN (...)` batches), median of 3;
* full sync into an empty database, median of 3 (alternating with the floor, mirror emptied each time);
* a no-change incremental sync right after it, median of 3.

The ratios full_sync / floor (goal <= 2.0) and noop_incremental / full_sync (goal <= 0.05) are printed
with the SQL queries per MLflow page, measured at N and at N/2 to show that it stays constant. See
benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import json
import logging
import os
import platform
import pstats
import random
import signal
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.common import drop_database, recreate_database  # noqa: E402 (after the sys.path line above)

if TYPE_CHECKING:
    from mlflow import MlflowClient

    from registry_sync.mlflow_adapter import MlflowRegistry
    from registry_sync.models import SyncRun

DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/mlgov_bench"
RESULTS_DIR = ROOT / "benchmarks" / "results"
PAGE_SIZE = 1000  # MLflow's max_results ceiling for search_model_versions; also settings.SYNC_PAGE_SIZE
RUN_BATCH = 100  # run ids per `attributes.run_id IN (...)` request, as in the adapter
EXPERIMENT = "mlgov-bench"
BENCH_ALIAS = "bench-latest"  # not a protected (promotion) alias: moving it is ordinary registry activity
GOAL_FULL_OVER_FLOOR = 2.0
GOAL_NOOP_OVER_FULL = 0.05
METRIC_NAMES = ("accuracy", "f1", "precision", "recall", "roc_auc", "log_loss")


def log(message: str) -> None:
    print(f"[{datetime.now():%H:%M:%S}] {message}", flush=True)


# ------------------------------------------------------------------------------------------ database


def setup_django(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    os.environ.setdefault("DEBUG", "0")  # production-like: no query log unless we capture on purpose
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.setdefault("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "true")
    import django
    from django.core.management import call_command

    django.setup()
    logging.getLogger("mlflow").setLevel(logging.WARNING)
    call_command("migrate", verbosity=0, interactive=False)


def empty_mirror() -> None:
    """Empty the registry mirror and the audit trail (TRUNCATE on PostgreSQL: the audit triggers reject
    DELETE, and TRUNCATE unless the session opts in) so the next full sync starts from an empty database."""
    from django.apps import apps
    from django.core.management.color import no_style
    from django.db import connection

    tables = [m._meta.db_table for m in apps.get_app_config("registry_sync").get_models()]
    tables += [m._meta.db_table for m in apps.get_app_config("governance").get_models()]
    statements = connection.ops.sql_flush(no_style(), tables, reset_sequences=True, allow_cascade=True)
    with connection.cursor() as cursor:  # the audit trail's TRUNCATE trigger lets an opted-in session through
        cursor.execute("SET mlgov.allow_audit_truncate = on")
    connection.ops.execute_sql_flush(statements)


# ------------------------------------------------------------------------------------------ populate


@dataclass
class Populator:
    """Adds versions to a local MLflow concurrently: one MlflowClient per thread, a lock per model so
    version numbers are assigned one at a time per model."""

    url: str
    models: list[str]
    threads: int
    experiment: str = ""
    created: int = 0
    _local: threading.local = field(default_factory=threading.local)
    _locks: dict[str, threading.Lock] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def client(self) -> MlflowClient:
        from mlflow import MlflowClient

        client: MlflowClient | None = getattr(self._local, "client", None)
        if client is None:
            client = MlflowClient(tracking_uri=self.url, registry_uri=self.url)
            self._local.client = client
        return client

    def prepare(self) -> None:
        from tests.mlflow_factory import experiment_id

        client = self.client()
        self.experiment = experiment_id(client, EXPERIMENT)
        for name in self.models:
            client.create_registered_model(name, description=f"benchmark model {name}")
            self._locks[name] = threading.Lock()

    def _one(self, index: int) -> None:
        from tests.mlflow_factory import make_run

        rng = random.Random(index)
        client = self.client()
        model = self.models[index % len(self.models)]
        run_id = make_run(
            client,
            experiment=self.experiment,
            metrics={name: rng.random() for name in METRIC_NAMES},
            params={
                "learning_rate": f"{rng.choice([0.01, 0.05, 0.1])}",
                "max_depth": str(rng.randint(3, 12)),
            },
            dataset_name=f"training-{index % 50}",
            dataset_rows=1000 + index,
        )
        with self._locks[model]:
            client.create_model_version(
                model,
                f"runs:/{run_id}/model",
                run_id=run_id,
                tags={"bench.index": str(index)},
                await_creation_for=0,  # no artifacts to wait for: the version is READY at once
            )
        with self._lock:
            self.created += 1

    def add(self, count: int) -> float:
        start, target = self.created, self.created + count
        began = time.perf_counter()
        with ThreadPoolExecutor(max_workers=self.threads) as pool:
            for future in [pool.submit(self._one, i) for i in range(start, target)]:
                future.result()
        # One alias per model on its newest version: the full sync reconciles aliases too.
        client = self.client()
        for name in self.models:
            latest = max(int(mv.version) for mv in client.search_model_versions(f"name='{name}'"))
            client.set_registered_model_alias(name, BENCH_ALIAS, str(latest))
        return time.perf_counter() - began


# ------------------------------------------------------------------------------------------ measuring


@dataclass
class FloorResult:
    seconds: float
    requests: int
    versions: int
    runs: int
    phase_seconds: dict[str, float] = field(default_factory=dict)


def floor_read(url: str, *, page_size: int, run_batch: int) -> FloorResult:
    """The least MLflow reading that yields what a full sync needs: every version, and its run."""
    from mlflow import MlflowClient
    from mlflow.entities import ViewType

    began = time.perf_counter()
    client = MlflowClient(tracking_uri=url, registry_uri=url)
    requests = 0
    experiments: list[str] = []
    token: str | None = None
    while True:
        page = client.search_experiments(max_results=1000, page_token=token)
        requests += 1
        experiments.extend(e.experiment_id for e in page)
        token = page.token
        if not token:
            break
    phases = {"experiments": time.perf_counter() - began}
    run_ids: set[str] = set()
    versions = 0
    token = None
    while True:
        mvs = client.search_model_versions(max_results=page_size, page_token=token)
        requests += 1
        versions += len(mvs)
        run_ids.update(mv.run_id for mv in mvs if mv.run_id)
        token = mvs.token
        if not token:
            break
    phases["versions"] = time.perf_counter() - began - sum(phases.values())
    wanted = sorted(run_ids)
    runs = 0
    for start in range(0, len(wanted), run_batch):
        batch = wanted[start : start + run_batch]
        quoted = ",".join(f"'{rid}'" for rid in batch)
        found = client.search_runs(
            experiment_ids=experiments,
            filter_string=f"attributes.run_id IN ({quoted})",
            max_results=len(batch),
            run_view_type=ViewType.ALL,
        )
        requests += 1
        runs += len(found)
    seconds = time.perf_counter() - began
    phases["runs"] = seconds - sum(phases.values())
    return FloorResult(seconds, requests, versions, runs, phases)


class QueryCounter:
    """Counts queries as Django's CaptureQueriesContext does (every entry of the query log, transaction
    markers BEGIN/COMMIT included, as assertNumQueries counts them), with an execute wrapper as a floor
    in case a pathological pass overflows Django's 9,000-entry query log."""

    def __init__(self) -> None:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        self.connection = connection
        self.capture = CaptureQueriesContext(connection)
        self.statements = 0  # cursor executions only (no BEGIN/COMMIT)
        self._stack = contextlib.ExitStack()

    def _wrapper(self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        self.statements += 1
        return execute(sql, params, many, context)

    @property
    def count(self) -> int:
        logged = len(self.connection.queries_log) - self.capture.initial_queries
        return max(logged, self.statements)

    def __enter__(self) -> QueryCounter:
        self.connection.queries_log.clear()  # keep the log far from its 9,000-entry limit
        self._stack.enter_context(self.capture)
        self._stack.enter_context(self.connection.execute_wrapper(self._wrapper))
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    def kinds(self) -> dict[str, int]:
        counts: Counter[str] = Counter()
        for query in self.capture.captured_queries:
            words = query["sql"].lstrip().split(None, 1)
            counts[words[0].upper() if words else "?"] += 1
        return dict(counts.most_common())


@dataclass
class Segment:
    """The stretch of a sync pass up to one progress report (one MLflow page, or the alias phase)."""

    phase: str
    items: int
    queries: int
    seconds: float


@dataclass
class SyncMeasure:
    kind: str
    seconds: float
    queries: int
    pages: int
    versions_seen: int
    changes: int
    mlflow_seconds: float
    mlflow_requests: int
    mlflow_calls: dict[str, dict[str, float]]
    query_kinds: dict[str, int]
    segments: list[Segment]

    @property
    def version_page_queries(self) -> list[int]:
        return [seg.queries for seg in self.segments if seg.phase == "versions" and seg.items]

    @property
    def queries_per_page(self) -> float:
        return self.queries / self.pages if self.pages else float("nan")


def timed_registry(url: str) -> tuple[MlflowRegistry, dict[str, list[float]]]:
    """Our adapter, with the wall time of its MLflow calls (request + response parsing) recorded per
    MlflowClient method."""
    from registry_sync.mlflow_adapter import MlflowRegistry

    calls: dict[str, list[float]] = {}

    class TimedRegistry(MlflowRegistry):
        def _call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
            began = time.perf_counter()
            try:
                return super()._call(fn, *args, **kwargs)
            finally:
                calls.setdefault(getattr(fn, "__name__", "?"), []).append(time.perf_counter() - began)

    return TimedRegistry(url), calls


def measure_sync(kind: str, url: str, *, profile: cProfile.Profile | None = None) -> SyncMeasure:
    from registry_sync.services.sync import SyncProgress, sync_full, sync_incremental

    registry, calls = timed_registry(url)
    run_pass: Callable[..., SyncRun] = sync_full if kind == "full" else sync_incremental
    segments: list[Segment] = []
    with QueryCounter() as counter:
        began = time.perf_counter()
        mark_queries, mark_at = 0, began

        def progress(step: SyncProgress) -> None:
            nonlocal mark_queries, mark_at
            now = time.perf_counter()
            segments.append(Segment(step.phase, step.items, counter.count - mark_queries, now - mark_at))
            mark_queries, mark_at = counter.count, now

        if profile is not None:
            profile.enable()
        sync_run = run_pass(registry=registry, page_size=PAGE_SIZE, progress=progress)
        if profile is not None:
            profile.disable()
        seconds = time.perf_counter() - began
        segments.append(Segment("finish", 0, counter.count - mark_queries, began + seconds - mark_at))
    return SyncMeasure(
        kind=kind,
        seconds=seconds,
        queries=counter.count,
        pages=sync_run.pages,
        versions_seen=sync_run.versions_seen,
        changes=sync_run.changes,
        mlflow_seconds=sum(sum(times) for times in calls.values()),
        mlflow_requests=sum(len(times) for times in calls.values()),
        mlflow_calls={name: {"requests": len(t), "seconds": sum(t)} for name, t in calls.items()},
        query_kinds=counter.kinds(),
        segments=segments,
    )


def median_by_seconds(items: list[Any]) -> Any:
    return sorted(items, key=lambda item: item.seconds)[len(items) // 2]


@dataclass
class SizeResult:
    versions: int
    full: SyncMeasure
    noop: SyncMeasure
    floor: FloorResult | None = None
    floor_runs: list[float] = field(default_factory=list)
    full_runs: list[float] = field(default_factory=list)
    noop_runs: list[float] = field(default_factory=list)


def measure_size(url: str, versions: int, *, repeat: int, full_repeat: int, with_floor: bool) -> SizeResult:
    """Floor and full sync alternate (so both see the same machine load), each full sync into an emptied
    mirror; then the no-change incremental passes on top of the last full sync. Medians are reported."""
    floors: list[FloorResult] = []
    fulls: list[SyncMeasure] = []
    for i in range(max(repeat if with_floor else 0, full_repeat)):
        if with_floor and i < repeat:
            floors.append(floor_read(url, page_size=PAGE_SIZE, run_batch=RUN_BATCH))
            log(f"  floor #{i + 1}: {floors[-1].seconds:.3f}s ({floors[-1].requests} requests)")
            if floors[-1].versions != versions:
                raise SystemExit(f"floor read {floors[-1].versions} versions, expected {versions}")
        if i < full_repeat:
            empty_mirror()
            fulls.append(measure_sync("full", url))
            full = fulls[-1]
            log(f"  full sync #{i + 1}: {full.seconds:.3f}s, {full.queries} queries, {full.pages} pages")
            if full.versions_seen != versions:
                raise SystemExit(f"full sync saw {full.versions_seen} versions, expected {versions}")
    noops = []
    for i in range(repeat):
        noops.append(measure_sync("incremental", url))
        log(f"  noop incremental #{i + 1}: {noops[-1].seconds:.4f}s, {noops[-1].queries} queries")
    if any(n.changes for n in noops):
        raise SystemExit("the no-change incremental sync reported changes")
    return SizeResult(
        versions=versions,
        full=median_by_seconds(fulls),
        noop=median_by_seconds(noops),
        floor=median_by_seconds(floors) if floors else None,
        floor_runs=[f.seconds for f in floors],
        full_runs=[f.seconds for f in fulls],
        noop_runs=[n.seconds for n in noops],
    )


def profile_full(url: str, top: int, out: Path) -> str:
    """Re-run the full sync into an emptied mirror under cProfile; returns the top of the report."""
    empty_mirror()
    profile = cProfile.Profile()
    measure = measure_sync("full", url, profile=profile)
    profile.dump_stats(out)
    buffer = io.StringIO()
    stats = pstats.Stats(profile, stream=buffer).strip_dirs()
    buffer.write(f"full sync under cProfile: {measure.seconds:.3f}s (profiler overhead included)\n")
    stats.sort_stats("cumulative").print_stats(top)
    stats.sort_stats("tottime").print_stats(top)
    return buffer.getvalue()


# ------------------------------------------------------------------------------------------ report


def fmt_ratio(value: float, goal: float) -> str:
    return f"{value:.3f}  (goal <= {goal}: {'PASS' if value <= goal else 'FAIL'})"


def _segments(m: SyncMeasure) -> str:
    """Queries (and seconds) per stretch of the pass: each MLflow page, the alias phase, the finish."""
    parts = []
    for seg in m.segments:
        label = seg.phase if seg.phase in ("aliases", "finish") else f"{seg.phase} page ({seg.items})"
        parts.append(f"{label}: {seg.queries}q {seg.seconds:.2f}s")
    return "; ".join(parts)


def report(large: SizeResult, small: SizeResult | None, populate: dict[str, float]) -> dict[str, Any]:
    assert large.floor is not None
    full, noop, floor = large.full, large.noop, large.floor
    full_over_floor = full.seconds / floor.seconds
    noop_over_full = noop.seconds / full.seconds
    floor_phases = ", ".join(f"{k} {v:.2f}s" for k, v in floor.phase_seconds.items())
    sync_calls = ", ".join(
        f"{name} {int(c['requests'])}x {c['seconds']:.2f}s" for name, c in full.mlflow_calls.items()
    )
    rows: list[tuple[str, str]] = [
        ("populate MLflow (not in any ratio)", f"{sum(populate.values()):.1f}s  ({large.versions} versions)"),
        (
            f"floor, median of {len(large.floor_runs)}",
            f"{floor.seconds:.3f}s  ({floor.requests} requests: {floor_phases})",
        ),
        (
            f"full sync into an empty DB, median of {len(large.full_runs)}",
            f"{full.seconds:.3f}s  (MLflow {full.mlflow_seconds:.2f}s: {sync_calls}; "
            f"rest {full.seconds - full.mlflow_seconds:.2f}s)",
        ),
        (
            f"no-change incremental, median of {len(large.noop_runs)}",
            f"{noop.seconds:.4f}s  ({noop.mlflow_requests} MLflow requests {noop.mlflow_seconds:.4f}s)",
        ),
        ("full_sync / floor", fmt_ratio(full_over_floor, GOAL_FULL_OVER_FLOOR)),
        (
            "  same ratio, per alternating pair",
            ", ".join(f"{a / b:.2f}" for a, b in zip(large.full_runs, large.floor_runs, strict=False))
            + f"  (non-MLflow part of the full sync alone: {(full.seconds - full.mlflow_seconds) / floor.seconds:.2f}"
            " x floor)",
        ),
        ("noop_incremental / full_sync", fmt_ratio(noop_over_full, GOAL_NOOP_OVER_FULL)),
    ]
    sizes = [s for s in (small, large) if s is not None]
    for size in sizes:
        for m in (size.full, size.noop):
            rows.append(
                (
                    f"SQL, {'full' if m.kind == 'full' else 'noop incremental'}, N={size.versions}",
                    f"{m.queries} queries / {m.pages} pages = {m.queries_per_page:.1f} per page",
                )
            )
            rows.append(("  by stretch", _segments(m)))
    page_queries = sorted({q for size in sizes for q in size.full.version_page_queries})
    constant = len(page_queries) == 1
    rows.append(
        (
            "SQL per version page (full)",
            f"{page_queries} across N/2 and N -> {'constant' if constant else 'NOT constant'}",
        )
    )
    marginal = None
    if small is not None and large.full.pages != small.full.pages:
        marginal = (large.full.queries - small.full.queries) / (large.full.pages - small.full.pages)
        rows.append(("SQL per extra page (full, N vs N/2)", f"{marginal:.1f}"))
    width = max(len(label) for label, _ in rows)
    print()
    print(f"Registry sync benchmark: N={large.versions} versions, page size {PAGE_SIZE}")
    print("-" * (width + 60))
    for label, value in rows:
        print(f"{label:<{width}}  {value}")
    print("-" * (width + 60))
    return {
        "full_over_floor": full_over_floor,
        "noop_over_full": noop_over_full,
        "full_over_floor_pass": full_over_floor <= GOAL_FULL_OVER_FLOOR,
        "full_over_floor_pairs": [a / b for a, b in zip(large.full_runs, large.floor_runs, strict=False)],
        "noop_over_full_pass": noop_over_full <= GOAL_NOOP_OVER_FULL,
        "full_queries_per_version_page": page_queries,
        "full_queries_per_version_page_constant": constant,
        "full_queries_per_extra_page": marginal,
    }


def size_json(size: SizeResult) -> dict[str, Any]:
    data = asdict(size)
    for key in ("full", "noop"):
        data[key]["queries_per_page"] = getattr(size, key).queries_per_page
    return data


# ------------------------------------------------------------------------------------------ main


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--versions", type=int, default=2000, help="model versions to create (default 2000)")
    parser.add_argument("--models", type=int, default=20, help="registered models to spread them over")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL),
        help="database to (re)create and drop; its contents are destroyed",
    )
    parser.add_argument("--threads", type=int, default=8, help="populate concurrency (default 8)")
    parser.add_argument("--repeat", type=int, default=3, help="floor and noop repetitions (median)")
    parser.add_argument(
        "--full-repeat", type=int, default=3, help="full syncs, each into an emptied mirror (median)"
    )
    parser.add_argument("--no-half", action="store_true", help="skip the N/2 query-count pass")
    parser.add_argument("--profile", action="store_true", help="also profile a full sync with cProfile")
    parser.add_argument("--profile-top", type=int, default=35, help="rows of the cProfile report")
    parser.add_argument("--keep-db", action="store_true", help="do not drop the database at the end")
    parser.add_argument("--check", action="store_true", help="exit with status 1 when a goal is missed")
    args = parser.parse_args(argv)
    if min(args.models, args.threads, args.repeat, args.full_repeat) < 1 or args.versions < 2:
        parser.error("--versions must be >= 2; --models, --threads and the repeats >= 1")
    return args


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)  # run the finally blocks: stop the MLflow server, drop the database


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    recreate_database(args.database_url)
    try:
        setup_django(args.database_url)
        with tempfile.TemporaryDirectory(prefix="mlgov-bench-") as tmp:
            return run(args, Path(tmp), stamp)
    finally:
        if not args.keep_db:
            with contextlib.suppress(Exception):
                from django.db import connections

                connections.close_all()
            drop_database(args.database_url)


def run(args: argparse.Namespace, workdir: Path, stamp: str) -> int:
    import django
    import mlflow
    from django.db import connection

    from registry_sync.mlflow_server import start_mlflow_server

    log(f"starting MLflow {mlflow.__version__} in {workdir}")
    # MLflow 3's background job runner (huey consumers) costs several times the request latency on a
    # small machine and is not needed here.
    server = start_mlflow_server(workdir=workdir / "mlflow")
    try:
        populator = Populator(server.url, [f"bench-model-{i:03d}" for i in range(args.models)], args.threads)
        populator.prepare()
        populate: dict[str, float] = {}
        small: SizeResult | None = None
        half = args.versions // 2
        if not args.no_half:
            log(f"populating {half} versions over {args.models} models ({args.threads} threads)")
            populate["first_half"] = populator.add(half)
            log(f"  populated in {populate['first_half']:.1f}s; measuring SQL at N/2={half}")
            small = measure_size(server.url, half, repeat=1, full_repeat=1, with_floor=False)
        rest = args.versions - populator.created
        log(f"populating {rest} versions")
        populate["rest"] = populator.add(rest)
        log(f"  populated in {populate['rest']:.1f}s; measuring at N={args.versions}")
        large = measure_size(
            server.url, args.versions, repeat=args.repeat, full_repeat=args.full_repeat, with_floor=True
        )
        ratios = report(large, small, populate)
        profile_text = ""
        if args.profile:
            prof_path = RESULTS_DIR / f"sync_bench-{stamp}-full.prof"
            profile_text = profile_full(server.url, args.profile_top, prof_path)
            print(profile_text)
            log(f"cProfile data: {prof_path}")
        result = {
            "benchmark": "sync_bench",
            "timestamp": stamp,
            "config": {
                "versions": args.versions,
                "models": args.models,
                "threads": args.threads,
                "repeat": args.repeat,
                "full_repeat": args.full_repeat,
                "page_size": PAGE_SIZE,
                "run_batch": RUN_BATCH,
                "database_vendor": connection.vendor,
            },
            "environment": {
                "python": platform.python_version(),
                "django": django.get_version(),
                "mlflow": mlflow.__version__,
                "platform": platform.platform(),
                "cpus": os.cpu_count(),
            },
            "populate_seconds": populate,
            "goals": {"full_over_floor": GOAL_FULL_OVER_FLOOR, "noop_over_full": GOAL_NOOP_OVER_FULL},
            "ratios": ratios,
            "n": size_json(large),
            "half": size_json(small) if small is not None else None,
            "median_seconds": {
                "floor": statistics.median(large.floor_runs),
                "full_sync": statistics.median(large.full_runs),
                "noop_incremental": statistics.median(large.noop_runs),
            },
        }
        out = RESULTS_DIR / f"sync_bench-{stamp}.json"
        out.write_text(json.dumps(result, indent=2, default=str) + "\n")
        log(f"results: {out}")
        passed = ratios["full_over_floor_pass"] and ratios["noop_over_full_pass"]
        return 1 if args.check and not passed else 0
    finally:
        server.stop()


if __name__ == "__main__":
    sys.exit(main())
