"""What the benchmark scripts share: a throwaway PostgreSQL database, Django, timers.

Each script creates a database of its own (``aha_bench_<pid>``) on the server named by
DATABASE_URL/--database-url, points Django at it, migrates, measures, and drops it at
the end. Progress goes to stderr (``log``); the figures go to stdout as one JSON
document.
"""

from __future__ import annotations

import hashlib
import os
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
# The scripts run as ``python benchmarks/<name>.py``: make the project importable.
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

POSTGRES_SCHEMES = ("postgres", "postgresql")


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def database_urls(given: str | None, *, script: str) -> tuple[str, str, str]:
    """(maintenance URL, benchmark URL, benchmark database name), or exit with a message."""
    raw = given or os.environ.get("DATABASE_URL", "")
    parts = urlsplit(raw)
    if parts.scheme not in POSTGRES_SCHEMES or not parts.netloc:
        sys.exit(
            f"{script} needs PostgreSQL: set DATABASE_URL or pass --database-url, e.g. "
            "postgres://postgres@127.0.0.1:55432/postgres (got "
            f"{raw.split('@')[-1]!r})"
        )
    maintenance_db = parts.path.strip("/") or "postgres"
    name = f"aha_bench_{os.getpid()}"
    maintenance = urlunsplit((parts.scheme, parts.netloc, f"/{maintenance_db}", parts.query, ""))
    bench = urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, ""))
    return maintenance, bench, name


def libpq_url(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(("postgresql", parts.netloc, parts.path, parts.query, ""))


def create_database(maintenance_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(libpq_url(maintenance_url), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')


def drop_database(maintenance_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(libpq_url(maintenance_url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def django_setup(bench_url: str) -> None:
    """Points Django at the benchmark database and sets it up."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    os.environ["DATABASE_URL"] = bench_url
    # DEBUG keeps every query in memory and wraps cursors: not what production runs.
    os.environ.setdefault("DEBUG", "false")

    import django

    django.setup()


class Timer:
    """Named wall-clock phases, in seconds."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    def phase(self, name: str):
        timer = self

        class _Phase:
            def __enter__(self) -> None:
                self.start = time.perf_counter()
                log(f"{name}...")

            def __exit__(self, *exc: object) -> None:
                timer.seconds[name] = time.perf_counter() - self.start
                log(f"{name}: {timer.seconds[name]:.2f} s")

        return _Phase()


def sql_one_line(sql: str, width: int = 120) -> str:
    return " ".join(sql.split())[:width]


class StatementRecorder:
    """A Django execute_wrapper: times every statement, tagged with the current phase.

    ``records`` holds ``(phase, sql, seconds, params)``; ``params`` only with
    ``keep_params`` (to run a statement again, e.g. under EXPLAIN), else None.
    """

    def __init__(self, *, explain: bool = False, keep_params: bool = False) -> None:
        self.explain = explain
        self.keep_params = keep_params
        self.phase = "ingest"
        self.records: list[tuple[str, str, float, Any]] = []
        self.plans: list[dict[str, Any]] = []

    def __call__(self, execute, sql, params, many, context):
        verb = sql.lstrip().split(None, 1)[0].upper() if sql.strip() else ""
        if self.explain and not many and verb in {"SELECT", "INSERT", "UPDATE", "DELETE"}:
            return self._explained(execute, sql, params, many, context, verb=verb)
        start = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self._record(sql, params, time.perf_counter() - start)

    def _record(self, sql: str, params: Any, seconds: float) -> None:
        self.records.append((self.phase, sql, seconds, params if self.keep_params else None))

    def _explained(self, execute, sql, params, many, context, *, verb):
        # DML runs once, under EXPLAIN ANALYZE (callers of these ignore the rowcount);
        # a SELECT is explained, then run again for its rows.
        start = time.perf_counter()
        execute(f"EXPLAIN (ANALYZE, BUFFERS, WAL) {sql}", params, many, context)
        plan = [line for (line,) in context["cursor"].fetchall()]
        seconds = time.perf_counter() - start
        self.plans.append({"phase": self.phase, "statement": sql_one_line(sql), "plan": plan})
        if verb != "SELECT":
            self._record(sql, params, seconds)
            return None
        start = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self._record(sql, params, time.perf_counter() - start)

    def by_statement(self, top: int) -> list[dict[str, Any]]:
        totals: dict[tuple[str, str], list[float]] = defaultdict(list)
        for phase, sql, seconds, _params in self.records:
            totals[(phase, sql_one_line(sql))].append(seconds)
        rows = [
            {
                "phase": phase,
                "sql": text,
                "seconds": round(sum(times), 4),
                "calls": len(times),
            }
            for (phase, text), times in totals.items()
        ]
        rows.sort(key=lambda row: row["seconds"], reverse=True)
        return rows[:top]

    def by_phase(self) -> dict[str, dict[str, float]]:
        phases: dict[str, dict[str, float]] = defaultdict(lambda: {"seconds": 0.0, "calls": 0})
        for phase, _sql, seconds, _params in self.records:
            phases[phase]["seconds"] += seconds
            phases[phase]["calls"] += 1
        return {
            name: {"seconds": round(v["seconds"], 4), "calls": v["calls"]}
            for name, v in phases.items()
        }


def server_settings() -> dict[str, str]:
    from django.db import connection

    names = ("server_version", "shared_buffers", "work_mem", "synchronous_commit", "fsync")
    with connection.cursor() as cursor:
        result = {}
        for name in names:
            cursor.execute(f"SHOW {name}")
            result[name] = cursor.fetchone()[0]
    return result


def file_hashes(files: tuple[str, ...]) -> dict[str, str]:
    """Short hashes of the files on the measured path: the code changes between runs."""
    return {name: hashlib.sha256((ROOT / name).read_bytes()).hexdigest()[:12] for name in files}
