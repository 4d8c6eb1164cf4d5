"""Times ``import_ahr`` for one new day of AHR values against a bare PostgreSQL COPY.

Seeds N sellers with H days of history in a fresh PostgreSQL database (all in SQL,
so seeding is fast), brings every seller's AssuranceState to yesterday, writes a CSV
of one value per seller for today, then times

* the ingest: ``sellers.importing.import_ahr_csv`` (the code path of
  ``manage.py import_ahr``): parse, stage with COPY, upsert, evaluate, enroll/remove;
* a bare ``COPY`` of the same CSV file into an empty regular (logged) table with
  columns ``seller_id text, date date, score smallint``.

Prints one JSON document on stdout: rows per second of both, the ratio
``ingest seconds / COPY seconds``, the phases and the slowest SQL statements of the
ingest. Progress goes to stderr. The database is dropped at the end unless --keep.

    DATABASE_URL=postgres://postgres@127.0.0.1:55432/postgres \\
        .venv/bin/python benchmarks/ahr_ingest.py --sellers 100000 --history-days 183

DATABASE_URL (or --database-url) names the server and the maintenance database the
benchmark database is created from; the benchmark never writes to that database.
Tasks queued on commit (enrollment emails) go to Celery's in-memory broker, so a
run never reaches Redis or a worker.
"""

from __future__ import annotations

import argparse
import datetime as dt
import platform
import statistics
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import _common as common

SNAP = "sellers_accounthealthsnapshot"
STATE = "sellers_assurancestate"
COPY_TABLE = "bench_copy_target"

# Deterministic scores, inlined by the planner (one SQL expression, no FROM).
# 0.1% "borderline" sellers (6% of days below 250) make the few enrollment changes of
# a day; 10% "struggling" sellers (a third of days below 250) are never eligible; the
# rest never fall below 250.
SCORE_FUNCTION = """
CREATE FUNCTION bench_score(seller bigint, day date) RETURNS smallint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT (CASE
        WHEN seller % 1000 = 0
            THEN 200 + abs(hashint8(seller * 100003 + (day - DATE '2000-01-01'))::bigint) % 800
        WHEN seller % 10 = 1
            THEN 150 + abs(hashint8(seller * 100003 + (day - DATE '2000-01-01'))::bigint) % 300
        ELSE 300 + abs(hashint8(seller * 100003 + (day - DATE '2000-01-01'))::bigint) % 700
    END)::smallint
$$"""


# The files on the measured path (their hashes tie the figures to the code).
MEASURED_FILES = (
    *[f"sellers/{name}.py" for name in ("importing", "staging")],
    *[f"sellers/services/{name}.py" for name in ("feed", "evaluation", "assurance")],
    "sellers/models.py",
)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sellers", type=int, required=True, help="N sellers")
    parser.add_argument("--history-days", type=int, required=True, help="H days of history")
    common.add_database_arguments(parser)
    parser.add_argument(
        "--copy-repeats", type=int, default=3, help="COPY runs; the median is reported"
    )
    parser.add_argument(
        "--chunk-size", type=int, default=None, help="ingest chunk (default: the code's)"
    )
    parser.add_argument(
        "--layout",
        choices=("by-day", "by-seller"),
        default="by-day",
        help="heap order of the history: by-day is what daily pushes produce",
    )
    parser.add_argument(
        "--explain",
        action="store_true",
        help="run the ingest's statements under EXPLAIN (ANALYZE, BUFFERS, WAL) and include "
        "the plans (timings are then inflated; use for diagnosis only)",
    )
    parser.add_argument("--top", type=int, default=15, help="statements listed in the JSON")
    args = parser.parse_args()
    if args.sellers < 1 or args.history_days < 1:
        parser.error("--sellers and --history-days must be at least 1")
    return args


def seed(*, sellers: int, history_days: int, today: dt.date, layout: str) -> dict[str, Any]:
    """Sellers, verified contacts, history ending yesterday and states evaluated to yesterday."""
    from django.db import connection
    from django.utils import timezone

    from sellers.assurance import Rules

    rules = Rules.current()
    yesterday = today - dt.timedelta(days=1)
    first_day = yesterday - dt.timedelta(days=history_days - 1)
    window_start = rules.window_start(yesterday)
    # All in the US store, no email; +1 212 200-0000 to +1 212 999-9999: valid, callable
    # US numbers (checked below).
    common.seed_sellers(sellers, prefix="B", now=timezone.now(), stores=(("US", 1),))
    with connection.cursor() as cursor:
        cursor.execute(SCORE_FUNCTION)
        # Load the history without its indexes and constraints, then rebuild them as
        # the migrations made them: much faster than maintaining them row by row.
        cursor.execute(
            """SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint
               WHERE conrelid = %(t)s::regclass ORDER BY contype = 'p' DESC""",
            {"t": SNAP},
        )
        constraints = cursor.fetchall()
        cursor.execute(
            """SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %(t)s
               AND indexname NOT IN (SELECT conname FROM pg_constraint
                                     WHERE conrelid = %(t)s::regclass)""",
            {"t": SNAP},
        )
        indexes = cursor.fetchall()
        for name, _definition in reversed(constraints):
            cursor.execute(f'ALTER TABLE {SNAP} DROP CONSTRAINT "{name}"')
        for name, _definition in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
        if layout == "by-day":
            # One INSERT a day, all sellers: the heap order daily pushes produce.
            for offset in range(history_days):
                cursor.execute(
                    f"""INSERT INTO {SNAP} (seller_id, date, score)
                        SELECT s.id, %(d)s, bench_score(s.id, %(d)s) FROM sellers_seller s
                        ORDER BY s.id""",
                    {"d": first_day + dt.timedelta(days=offset)},
                )
        else:
            cursor.execute(
                f"""INSERT INTO {SNAP} (seller_id, date, score)
                    SELECT s.id, d::date, bench_score(s.id, d::date)
                    FROM sellers_seller s,
                         generate_series(%(first)s::date, %(last)s::date, interval '1 day') d
                    ORDER BY s.id, d""",
                {"first": first_day, "last": yesterday},
            )
        cursor.execute("SET maintenance_work_mem = '1GB'")
        for name, definition in constraints:
            cursor.execute(f'ALTER TABLE {SNAP} ADD CONSTRAINT "{name}" {definition}')
        for _name, definition in indexes:
            cursor.execute(definition)
        cursor.execute("RESET maintenance_work_mem")
        # Every seller counted up to yesterday under the current rules, enrolled exactly
        # when eligible and already warned when near the limit: the new day then changes
        # only the few sellers whose values cross a line.
        cursor.execute(
            f"""INSERT INTO {STATE} (seller_id, evaluated_on, window_start, rules_key,
                    days_below_threshold, first_snapshot_on, latest_snapshot_on, latest_score,
                    contact_valid, contact_invalid_since, eligible, enrolled, enrolled_since,
                    warned_days_below_on, warned_contact_on, updated_at)
                SELECT c.seller_id, %(y)s, %(ws)s, %(key)s, c.days_below, c.first_on,
                    c.latest_on, c.latest_score, TRUE, NULL, c.ok, c.ok,
                    CASE WHEN c.ok THEN %(ws)s END,
                    CASE WHEN c.ok AND c.days_below >= %(warn)s THEN %(y)s END, NULL, now()
                FROM (
                    SELECT a.seller_id, a.days_below, a.first_on, a.latest_on,
                        latest.score AS latest_score,
                        (seller.account_type = 'professional' AND store.aha_enabled
                         AND a.first_on <= %(ws)s AND a.days_below <= %(maxdays)s
                         AND latest.score >= %(t)s) AS ok
                    FROM (
                        SELECT seller_id,
                            COUNT(*) FILTER (WHERE date >= %(ws)s AND score < %(t)s)
                                AS days_below,
                            MIN(date) AS first_on, MAX(date) AS latest_on
                        FROM {SNAP} GROUP BY seller_id
                    ) a
                    JOIN {SNAP} latest ON latest.seller_id = a.seller_id
                        AND latest.date = a.latest_on
                    JOIN sellers_seller seller ON seller.id = a.seller_id
                    JOIN sellers_store store ON store.id = seller.store_id
                ) c""",
            {
                "y": yesterday,
                "ws": window_start,
                "key": rules.key,
                "t": rules.threshold,
                "maxdays": rules.max_days_below,
                "warn": rules.warn_at_days_below,
            },
        )
        for table in ("sellers_seller", "sellers_emergencycontact", SNAP, STATE):
            cursor.execute(f"VACUUM (ANALYZE) {table}")
        cursor.execute(f"SELECT COUNT(*) FILTER (WHERE enrolled) FROM {STATE}")
        enrolled = cursor.fetchone()[0]
        cursor.execute(
            f"SELECT pg_total_relation_size('{SNAP}'), pg_database_size(current_database())"
        )
        snapshot_bytes, database_bytes = cursor.fetchone()
        cursor.execute("SELECT phone FROM sellers_emergencycontact ORDER BY random() LIMIT 2000")
        phones = [phone for (phone,) in cursor.fetchall()]
    return {
        "history_rows": sellers * history_days,
        "history_first_day": first_day.isoformat(),
        "enrolled_before": enrolled,
        "invalid_phones_in_sample": invalid_phones(phones),
        "snapshot_table_mb": round(snapshot_bytes / 2**20),
        "database_mb": round(database_bytes / 2**20),
    }


def invalid_phones(phones: list[str]) -> int:
    import phonenumbers

    from sellers.models import CALLABLE_NUMBER_TYPES

    bad = 0
    for phone in phones:
        number = phonenumbers.parse(phone)
        if (
            not phonenumbers.is_valid_number(number)
            or phonenumbers.number_type(number) not in CALLABLE_NUMBER_TYPES
        ):
            bad += 1
    return bad


def write_csv(path: Path, today: dt.date) -> int:
    from django.db import connection

    with (
        connection.cursor() as cursor,
        path.open("wb") as handle,
        cursor.cursor.copy(
            f"""COPY (SELECT s.seller_id, DATE '{today.isoformat()}' AS date,
                        bench_score(s.id, DATE '{today.isoformat()}') AS score
                      FROM sellers_seller s ORDER BY s.id)
                TO STDOUT WITH (FORMAT csv, HEADER)"""
        ) as copy,
    ):
        for block in copy:
            handle.write(block)
    return path.stat().st_size


def time_python_parse(path: Path, today: dt.date) -> float:
    """Only the per-row Python work of the ingest: csv.DictReader and check_row."""
    from sellers.importing import read_rows
    from sellers.services.feed import check_row

    start = time.perf_counter()
    with path.open(newline="", encoding="utf-8") as handle:
        for row in read_rows(handle):
            check_row(row, today=today)
    return time.perf_counter() - start


def time_ingest(
    path: Path, *, chunk_size: int | None, explain: bool, top: int
) -> tuple[float, dict[str, Any]]:
    """Runs import_ahr_csv with timers on its parts; returns (seconds, details)."""
    from django.db import connection, connections

    from sellers import importing, staging
    from sellers.services import feed

    recorder = common.StatementRecorder(explain=explain)
    parts: dict[str, list[float]] = defaultdict(list)
    changes: list[int] = []

    def timed(name: str, function, *, phase: str | None = None, count_changes=False):
        def wrapper(*args, **kwargs):
            previous = recorder.phase
            if phase:
                recorder.phase = phase
            start = time.perf_counter()
            try:
                result = function(*args, **kwargs)
            finally:
                parts[name].append(time.perf_counter() - start)
                recorder.phase = previous
            if count_changes:
                changes.append(len(args[0]))
            return result

        return wrapper

    wrapper_db = connections["default"]
    originals = {
        (feed, "_ingest_chunk"): feed._ingest_chunk,
        (staging, "fill"): staging.fill,
        (feed, "evaluate_affected"): feed.evaluate_affected,
        (feed, "apply_changes"): feed.apply_changes,
    }
    feed._ingest_chunk = timed("chunk", feed._ingest_chunk)
    staging.fill = timed("staging_copy", staging.fill, phase="staging_copy")
    feed.evaluate_affected = timed("evaluate", feed.evaluate_affected, phase="evaluate")
    feed.apply_changes = timed(
        "apply_changes", feed.apply_changes, phase="apply_changes", count_changes=True
    )
    wrapper_db._commit = timed("commit", wrapper_db._commit)
    rejected_path = path.with_suffix(".rejected.csv")
    kwargs = {"chunk_size": chunk_size} if chunk_size else {}
    try:
        with connection.execute_wrapper(recorder):
            start = time.perf_counter()
            summary = importing.import_ahr_csv(path, rejected_path=rejected_path, **kwargs)
            seconds = time.perf_counter() - start
    finally:
        for (module, name), original in originals.items():
            setattr(module, name, original)
        del wrapper_db._commit
    chunk_seconds = sum(parts["chunk"])
    sql_by_phase = recorder.by_phase()
    details: dict[str, Any] = {
        "accepted": summary.accepted,
        "rejected": summary.rejected_count,
        "enrollment": summary.enrollment,
        "chunks": len(parts["chunk"]),
        "phases_seconds": {
            # Reading the CSV, check_row and the chunk dict: all outside _ingest_chunk.
            "python_rows_outside_chunks": round(seconds - chunk_seconds, 4),
            # staging.fill: the generator over the chunk plus COPY into the temp table.
            "staging_copy": round(sum(parts["staging_copy"]), 4),
            "evaluate_affected": round(sum(parts["evaluate"]), 4),
            "apply_changes": round(sum(parts["apply_changes"]), 4),
            "commit": round(sum(parts["commit"]), 4),
            "other_sql_in_chunks": round(sql_by_phase.get("ingest", {}).get("seconds", 0), 4),
        },
        "changes": sum(changes),
        "sql_by_phase": sql_by_phase,
        "statements": recorder.by_statement(top),
    }
    if explain:
        details["plans"] = recorder.plans
    rejected_path.unlink(missing_ok=True)
    return seconds, details


def check_counts(today: dt.date) -> dict[str, int]:
    """Every state at today, and the incremental count equal to a recount (1% sample)."""
    from django.db import connection

    from sellers.assurance import Rules

    rules = Rules.current()
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT COUNT(*) FILTER (WHERE evaluated_on = %(d)s), COUNT(*) FROM {STATE}",
            {"d": today},
        )
        at_today, states = cursor.fetchone()
        cursor.execute(
            f"""SELECT COUNT(*) FROM {STATE} x WHERE x.seller_id %% 100 = 7
                AND x.days_below_threshold <> (
                    SELECT COUNT(*) FROM {SNAP} s WHERE s.seller_id = x.seller_id
                    AND s.date >= %(ws)s AND s.date <= %(d)s AND s.score < %(t)s)""",
            {"d": today, "ws": rules.window_start(today), "t": rules.threshold},
        )
        mismatches = cursor.fetchone()[0]
    return {"states": states, "states_at_today": at_today, "count_mismatches_1pct": mismatches}


def failed_checks(
    *, sellers: int, seeded: dict[str, Any], ingest: dict[str, Any], check: dict[str, int]
) -> list[str]:
    """What must hold after a run: every row accepted, every state at today, the
    incremental counts equal to a recount, the seeded phone numbers callable."""
    expected = {
        "ingest accepted": (ingest["accepted"], sellers),
        "ingest rejected": (ingest["rejected"], 0),
        "states": (check["states"], sellers),
        "states at today": (check["states_at_today"], sellers),
        "count mismatches (1% sample)": (check["count_mismatches_1pct"], 0),
        "invalid phones in the sample": (seeded["invalid_phones_in_sample"], 0),
    }
    return [
        f"{name}: {got}, expected {want}" for name, (got, want) in expected.items() if got != want
    ]


def time_copy(path: Path, repeats: int) -> list[float]:
    """COPY of the CSV file from the client into a fresh, empty, regular (logged) table."""
    from django.db import connection

    runs = []
    with connection.cursor() as cursor:
        raw = cursor.cursor
        for _ in range(repeats):
            cursor.execute(f"DROP TABLE IF EXISTS {COPY_TABLE}")
            cursor.execute(f"CREATE TABLE {COPY_TABLE} (seller_id text, date date, score smallint)")
            start = time.perf_counter()
            with (
                path.open("rb") as handle,
                raw.copy(f"COPY {COPY_TABLE} FROM STDIN WITH (FORMAT csv, HEADER)") as copy,
            ):
                while block := handle.read(1 << 20):
                    copy.write(block)
            runs.append(time.perf_counter() - start)  # autocommit: includes the commit
        cursor.execute(f"DROP TABLE IF EXISTS {COPY_TABLE}")
    return runs


def main() -> None:
    args = parse_args()

    timer = common.Timer()
    with common.bench_database(args.database_url, script="ahr_ingest.py", keep=args.keep):
        from django.core.management import call_command
        from django.utils import timezone

        from config.celery import app as celery_app

        # Enrollment emails are queued on commit; keep them away from any real broker.
        celery_app.conf.broker_url = "memory://"

        workdir = Path(tempfile.mkdtemp(prefix="aha_bench_"))
        csv_path = workdir / "ahr_today.csv"
        try:
            with timer.phase("migrate"):
                call_command("migrate", verbosity=0)
            today = timezone.localdate()
            with timer.phase("seeding"):
                seeded = seed(
                    sellers=args.sellers,
                    history_days=args.history_days,
                    today=today,
                    layout=args.layout,
                )
            with timer.phase("csv_writing"):
                csv_bytes = write_csv(csv_path, today)
            python_parse = time_python_parse(csv_path, today)
            common.log(f"python parse only: {python_parse:.2f} s")
            with timer.phase("ingest_and_evaluate"):
                ingest_seconds, ingest = time_ingest(
                    csv_path, chunk_size=args.chunk_size, explain=args.explain, top=args.top
                )
            check = check_counts(today)
            with timer.phase("copy"):
                copy_runs = time_copy(csv_path, args.copy_repeats)
            settings_seen = common.server_settings()
        finally:
            csv_path.unlink(missing_ok=True)
            workdir.rmdir()

    copy_seconds = statistics.median(copy_runs)
    result = {
        "sellers": args.sellers,
        "history_days": args.history_days,
        "today": today.isoformat(),
        "layout": args.layout,
        "rows": args.sellers,
        "ingest_rows_per_second": round(args.sellers / ingest_seconds),
        "copy_rows_per_second": round(args.sellers / copy_seconds),
        "ratio_ingest_to_copy": round(ingest_seconds / copy_seconds, 2),
        "seconds": {
            "seeding": round(timer.seconds["seeding"], 3),
            "csv_writing": round(timer.seconds["csv_writing"], 3),
            "ingest_and_evaluate": round(ingest_seconds, 3),
            "copy_median": round(copy_seconds, 3),
            "copy_runs": [round(value, 3) for value in copy_runs],
            "python_parse_only": round(python_parse, 3),
            "migrate": round(timer.seconds["migrate"], 3),
        },
        "copy_target": "regular (logged) table: seller_id text, date date, score smallint",
        "csv_bytes": csv_bytes,
        "seed": seeded,
        "ingest": ingest,
        "check": check,
        "server": settings_seen,
        "code": common.file_hashes(MEASURED_FILES),
        "explain": args.explain,
        "python": platform.python_version(),
    }
    common.print_result(
        result, failed_checks(sellers=args.sellers, seeded=seeded, ingest=ingest, check=check)
    )


if __name__ == "__main__":
    main()
