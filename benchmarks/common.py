"""Helpers the benchmark scripts share: their throw-away databases and percentiles."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit, urlunsplit


def percentile(values: list[float], fraction: float) -> float:
    """The nearest-rank percentile (`fraction` 0..1) of the values; NaN for none."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def _admin_url(url: str) -> tuple[str, str]:
    """The maintenance-database URL of the same server, and the benchmark database name."""
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if not name:
        raise SystemExit(f"--database-url needs a database name: {url}")
    return urlunsplit(parts._replace(scheme="postgresql", path="/postgres")), name


def drop_database(url: str) -> None:
    """Drop the benchmark database (a SQLite file is deleted)."""
    if url.startswith("sqlite"):
        path = Path(urlsplit(url).path)
        if path.name and path.exists():
            path.unlink()
        return
    import psycopg
    from psycopg import sql

    admin, name = _admin_url(url)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def recreate_database(url: str) -> None:
    """Drop and create the benchmark database: never point a benchmark at a database you care about."""
    drop_database(url)
    if url.startswith("sqlite"):
        return
    import psycopg
    from psycopg import sql

    admin, name = _admin_url(url)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
