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

``--scenario at-risk-wave`` measures a bad day instead (issue 15): N sellers (default
50,000) of the US and CA stores, Healthy with H days of history (default 190), a few
on-duty specialists per store and some open violations per seller, then ONE
``sellers.services.feed.ahr_ingest`` of a feed in which every one of them falls to At
Risk (150-199): one transaction that opens N account-health cases, posts 2N portal
notifications (band change + case opened) and leaves the outreach to the sweep
(``next_action_at`` = now). The aim is at most 60 s. Then, informative only, the sweep
(``cases.timers.sweep_due_cases``) acting on the first 5,000 of those cases.

    DATABASE_URL=postgres://postgres@127.0.0.1:55432/postgres \\
        .venv/bin/python benchmarks/ahr_ingest.py --scenario at-risk-wave
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
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

# The at-risk wave's history: every seller Healthy (and above the threshold) every day.
WAVE_SCORE_FUNCTION = """
CREATE FUNCTION bench_score(seller bigint, day date) RETURNS smallint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT (300 + abs(hashint8(seller * 100003 + (day - DATE '2000-01-01'))::bigint) % 700)
        ::smallint
$$"""
# ... and the day of the wave: everyone At Risk (150 to 199).
WAVE_SCORE_SQL = "150 + abs(hashint8(s.id * 7919))::bigint % 50"
WAVE_DEFAULT_SELLERS = 50_000
WAVE_DEFAULT_HISTORY_DAYS = 190
WAVE_TARGET_SECONDS = 60
WAVE_STORES = (("US", 4), ("CA", 1))


# The files on the measured path (their hashes tie the figures to the code).
MEASURED_FILES = (
    *[f"sellers/{name}.py" for name in ("importing", "staging")],
    *[f"sellers/services/{name}.py" for name in ("feed", "evaluation", "assurance")],
    "sellers/models.py",
)
WAVE_MEASURED_FILES = (
    *[f"sellers/{name}.py" for name in ("staging", "assurance", "models")],
    *[f"sellers/services/{name}.py" for name in ("feed", "evaluation", "assurance", "bands")],
    *[f"cases/{name}.py" for name in ("health", "timers", "outreach", "messages", "models")],
    "notifications/services.py",
)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--scenario",
        choices=("daily", "at-risk-wave"),
        default="daily",
        help="daily: one ordinary day through import_ahr against COPY (the default); "
        "at-risk-wave: every seller falls to At Risk in one ahr_ingest",
    )
    parser.add_argument(
        "--sellers",
        type=int,
        default=None,
        help=f"N sellers (required for daily; at-risk-wave: {WAVE_DEFAULT_SELLERS:,})",
    )
    parser.add_argument(
        "--history-days",
        type=int,
        default=None,
        help=f"H days of history (required for daily; at-risk-wave: {WAVE_DEFAULT_HISTORY_DAYS})",
    )
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
    wave = parser.add_argument_group("at-risk-wave")
    wave.add_argument(
        "--specialists-per-store", type=int, default=3, help="on-duty specialists per store"
    )
    wave.add_argument(
        "--violations-per-seller", type=int, default=3, help="open violations per seller"
    )
    wave.add_argument(
        "--sweep-cases",
        type=int,
        default=5000,
        help="cases the timed sweep acts on (0: none; whole batches)",
    )
    wave.add_argument(
        "--sweep-batch-size", type=int, default=None, help="default: AHA['SWEEP_BATCH_SIZE']"
    )
    args = parser.parse_args()
    if args.scenario == "at-risk-wave":
        args.sellers = WAVE_DEFAULT_SELLERS if args.sellers is None else args.sellers
        if args.history_days is None:
            args.history_days = WAVE_DEFAULT_HISTORY_DAYS
        if args.specialists_per_store < 1 or args.violations_per_seller < 0:
            parser.error("--specialists-per-store must be at least 1, violations at least 0")
        if args.sweep_cases < 0 or (args.sweep_batch_size or 1) < 1:
            parser.error("--sweep-cases must be at least 0, --sweep-batch-size at least 1")
    elif args.sellers is None or args.history_days is None:
        parser.error("the daily scenario needs --sellers and --history-days")
    if args.sellers < 1 or args.history_days < 1:
        parser.error("--sellers and --history-days must be at least 1")
    return args


def seed(
    *,
    sellers: int,
    history_days: int,
    today: dt.date,
    layout: str,
    score_function: str = SCORE_FUNCTION,
    prefix: str = "B",
    stores: common.Mix = (("US", 1),),
    emails: bool = False,
) -> dict[str, Any]:
    """Sellers, verified contacts, history ending yesterday and states evaluated to yesterday
    (each in the band of its latest value since that value's day)."""
    from django.db import connection
    from django.utils import timezone

    from sellers.assurance import Rules, band_sql

    rules = Rules.current()
    yesterday = today - dt.timedelta(days=1)
    first_day = yesterday - dt.timedelta(days=history_days - 1)
    window_start = rules.window_start(yesterday)
    # By default all in the US store, no email; +1 212 200-0000 to +1 212 999-9999: valid,
    # callable US numbers (checked below).
    common.seed_sellers(sellers, prefix=prefix, now=timezone.now(), stores=stores, emails=emails)
    with connection.cursor() as cursor:
        cursor.execute(score_function)
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
                    warned_days_below_on, warned_contact_on, updated_at, band, band_since)
                SELECT c.seller_id, %(y)s, %(ws)s, %(key)s, c.days_below, c.first_on,
                    c.latest_on, c.latest_score, TRUE, NULL, c.ok, c.ok,
                    CASE WHEN c.ok THEN %(ws)s END,
                    CASE WHEN c.ok AND c.days_below >= %(warn)s THEN %(y)s END, NULL, now(),
                    {band_sql("c.latest_score")}, c.latest_on
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


# --- The at-risk wave ------------------------------------------------------------------


def seed_wave(args: argparse.Namespace, *, today: dt.date) -> dict[str, Any]:
    """Healthy sellers with history, specialists on duty per store, open violations."""
    from django.db import connection

    from sellers.models import PolicyArea, Severity, Violation

    seconds: dict[str, float] = {}
    start = time.perf_counter()
    seeded = seed(
        sellers=args.sellers,
        history_days=args.history_days,
        today=today,
        layout=args.layout,
        score_function=WAVE_SCORE_FUNCTION,
        prefix="W",
        stores=WAVE_STORES,
        emails=True,
    )
    seconds["sellers_history_states"] = round(time.perf_counter() - start, 2)
    start = time.perf_counter()
    for code, _weight in WAVE_STORES:
        common.seed_specialists(
            args.specialists_per_store, prefix=f"wave-{code.lower()}-", desk=True, stores=(code,)
        )
    seconds["specialists"] = round(time.perf_counter() - start, 2)
    violation = Violation._meta.db_table
    start = time.perf_counter()
    with connection.cursor() as cursor:
        # V open violations per seller (points 1 to 50, distinct areas) and one resolved
        # one worth more points, which the top-violation look-up must pass over.
        cursor.execute(
            f"""INSERT INTO {violation} (seller_id, upstream_id, policy_area, severity, points,
                    description, opened_on, resolved_on, status)
                SELECT s.id, NULL,
                    (%(areas)s::text[])[1 + abs(hashint8(s.id * 31 + v))::bigint
                                             %% cardinality(%(areas)s::text[])],
                    (%(severities)s::text[])[1 + abs(hashint8(s.id * 37 + v))::bigint
                                                  %% cardinality(%(severities)s::text[])],
                    CASE WHEN v = 0 THEN 500
                         ELSE 1 + abs(hashint8(s.id * 41 + v))::bigint %% 50 END,
                    'Bench violation ' || v,
                    %(today)s::date - (1 + abs(hashint8(s.id * 43 + v))::bigint %% 90)::int,
                    CASE WHEN v = 0 THEN %(today)s::date - 1 END,
                    CASE WHEN v = 0 THEN 'resolved' ELSE 'open' END
                FROM sellers_seller s CROSS JOIN generate_series(0, %(v)s) AS v
                ORDER BY s.id, v""",
            {
                "areas": list(PolicyArea.values),
                "severities": list(Severity.values),
                "today": today,
                "v": args.violations_per_seller,
            },
        )
        for table in (violation, "accounts_user", common.SPECIALISTS, "cases_specialist_stores"):
            cursor.execute(f"VACUUM (ANALYZE) {table}")
        cursor.execute(
            f"""SELECT count(*) FILTER (WHERE band = 'healthy'), count(*) FROM {STATE}"""
        )
        healthy, states = cursor.fetchone()
        cursor.execute(f"SELECT count(*) FILTER (WHERE status = 'open') FROM {violation}")
        open_violations = cursor.fetchone()[0]
        cursor.execute("SELECT pg_database_size(current_database())")
        seeded["database_mb"] = round(cursor.fetchone()[0] / 2**20)
    seconds["violations"] = round(time.perf_counter() - start, 2)
    return {
        **seeded,
        "states": states,
        "healthy_before": healthy,
        "specialists": args.specialists_per_store * len(WAVE_STORES),
        "open_violations": open_violations,
        "seconds": seconds,
    }


def wave_rows(today: dt.date) -> list[dict[str, Any]]:
    """The feed of the bad day: every seller's value for today, At Risk (150 to 199), as
    the API receives it (JSON numbers)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"SELECT s.seller_id, {WAVE_SCORE_SQL} FROM sellers_seller s ORDER BY s.id")
        day = today.isoformat()
        return [
            {"seller_id": seller_id, "date": day, "score": score}
            for seller_id, score in cursor.fetchall()
        ]


def time_wave_ingest(
    rows: list[dict[str, Any]], *, today: dt.date, explain: bool, top: int
) -> tuple[float, dict[str, Any]]:
    """ONE ``ahr_ingest`` of the whole feed (one chunk: one transaction), with timers on
    its parts; returns (seconds, details). The parts nest: ``bands_update`` includes the
    notifications and the receiver of ``health_evaluated`` (the cases_* parts)."""
    from django.db import connection, connections

    from cases import health
    from sellers.services import bands, feed

    recorder = common.StatementRecorder(explain=explain)
    parts: dict[str, float] = defaultdict(float)

    def timed(name: str, function):
        def wrapper(*args, **kwargs):
            previous = recorder.phase
            recorder.phase = name
            start = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                parts[name] += time.perf_counter() - start
                recorder.phase = previous

        return wrapper

    patched = [
        (feed, "evaluate_affected"),
        (feed, "apply_changes"),
        (feed, "bands_update"),
        (bands, "_post_notifications"),
        (health, "account_health_cases_open"),
        (health, "_post_opened_notifications"),
        (health, "account_health_cases_raise"),
        (health, "account_health_cases_recover"),
    ]
    originals = {(module, name): getattr(module, name) for module, name in patched}
    for module, name in patched:
        setattr(module, name, timed(name, getattr(module, name)))
    wrapper_db = connections["default"]
    wrapper_db._commit = timed("commit", wrapper_db._commit)
    # The tasks queued on commit (one .delay each, to the in-memory broker).
    wrapper_db.run_and_clear_commit_hooks = timed(
        "on_commit_callbacks", wrapper_db.run_and_clear_commit_hooks
    )
    try:
        with connection.execute_wrapper(recorder):
            start = time.perf_counter()
            summary = feed.ahr_ingest(
                rows, today=today, chunk_size=max(len(rows), feed.DEFAULT_CHUNK)
            )
            seconds = time.perf_counter() - start
    finally:
        for (module, name), original in originals.items():
            setattr(module, name, original)
        del wrapper_db._commit
        del wrapper_db.run_and_clear_commit_hooks
    details: dict[str, Any] = {
        "accepted": summary.accepted,
        "rejected": summary.rejected_count,
        "band_changes": summary.band_changes,
        "enrollment": summary.enrollment,
        "parts_seconds": {name: round(value, 4) for name, value in parts.items()},
        "sql_by_phase": recorder.by_phase(),
        "statements": recorder.by_statement(top),
    }
    if explain:
        details["plans"] = recorder.plans
    return seconds, details


def wave_check(*, since: dt.datetime, sellers: int) -> dict[str, Any]:
    """What the wave left: the cases, their notifications and events, the routing."""
    from django.db import connection

    from cases.models import Case, CaseEvent
    from sellers.models import BandChange, SellerNotification

    cases = Case._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT count(*),
                    count(*) FILTER (WHERE next_action_at IS NOT NULL AND next_action_at <= now()),
                    count(*) FILTER (WHERE first_attempt_due > opened_at),
                    count(*) FILTER (WHERE assigned_to_id IS NULL),
                    count(DISTINCT assigned_to_id),
                    count(*) FILTER (WHERE assured OR reach_deadline IS NOT NULL)
                FROM {cases}
                WHERE kind = %(kind)s AND status = 'opened' AND opened_at >= %(since)s""",
            {"kind": Case.Kind.ACCOUNT_HEALTH, "since": since},
        )
        opened, next_action, first_due, unassigned, assignees, assured = cursor.fetchone()
        cursor.execute(
            f"""SELECT min(n), max(n) FROM (SELECT count(*) AS n FROM {cases}
                WHERE kind = %(kind)s GROUP BY assigned_to_id) a""",
            {"kind": Case.Kind.ACCOUNT_HEALTH},
        )
        load_min, load_max = cursor.fetchone()
        # Routed within the store: the assignee serves the seller's store.
        cursor.execute(
            f"""SELECT count(*) FROM {cases} k JOIN sellers_seller s ON s.id = k.seller_id
                WHERE k.kind = %(kind)s AND NOT EXISTS (
                    SELECT 1 FROM cases_specialist p
                    JOIN cases_specialist_stores ps ON ps.specialist_id = p.id
                    WHERE p.user_id = k.assigned_to_id AND ps.store_id = s.store_id)""",
            {"kind": Case.Kind.ACCOUNT_HEALTH},
        )
        misrouted = cursor.fetchone()[0]
        # The case's policy area is that of the seller's open violation costing most.
        cursor.execute(
            f"""SELECT count(*) FROM {cases} k WHERE k.kind = %(kind)s
                AND k.policy_area IS DISTINCT FROM COALESCE(
                    (SELECT v.policy_area FROM sellers_violation v
                     WHERE v.seller_id = k.seller_id AND v.status = 'open'
                     ORDER BY v.points DESC, v.opened_on DESC, v.id LIMIT 1), 'other_policy')""",
            {"kind": Case.Kind.ACCOUNT_HEALTH},
        )
        wrong_area = cursor.fetchone()[0]
        cursor.execute(
            f"SELECT kind, count(*) FROM {SellerNotification._meta.db_table} GROUP BY kind"
        )
        notices = dict(cursor.fetchall())
        cursor.execute(
            f"""SELECT count(*) FILTER (WHERE from_band = 'healthy' AND to_band = 'at_risk'),
                    count(*) FROM {BandChange._meta.db_table}"""
        )
        band_down, band_changes = cursor.fetchone()
        cursor.execute(f"SELECT count(*) FILTER (WHERE band = 'at_risk') FROM {STATE}")
        at_risk = cursor.fetchone()[0]
        cursor.execute(
            f"SELECT kind, count(*) FROM {CaseEvent._meta.db_table} GROUP BY kind ORDER BY kind"
        )
        events = dict(cursor.fetchall())
    notices_posted = notices.get("band_change", 0) + notices.get("account_health", 0)
    return {
        "cases_opened": opened,
        "notifications": notices,
        "notifications_posted": notices_posted,
        "next_action_at_set": next_action,
        "first_attempt_due_set": first_due,
        "unassigned": unassigned,
        "distinct_assignees": assignees,
        "cases_per_assignee_min_max": [load_min, load_max],
        "misrouted": misrouted,
        "wrong_policy_area": wrong_area,
        "assured": assured,
        "band_changes_healthy_to_at_risk": band_down,
        "band_changes": band_changes,
        "states_at_risk": at_risk,
        "events": events,
        "expected": {"cases": sellers, "notifications": 2 * sellers},
    }


def time_wave_sweep(*, cases: int, batch_size: int | None) -> dict[str, Any]:
    """``sweep_due_cases`` over the first ``cases`` of the due cases (in batches, as beat's
    sweep does), then what it made."""
    from django.conf import settings
    from django.db import connection
    from django.utils import timezone

    from cases.models import Case
    from cases.timers import sweep_due_cases
    from notifications.models import ContactAttempt

    batch_size = batch_size or settings.AHA["SWEEP_BATCH_SIZE"]
    now = timezone.now()
    recorder = common.StatementRecorder(keep_params=True)
    with connection.execute_wrapper(recorder):
        start = time.perf_counter()
        report = sweep_due_cases(
            now=now, batch_size=batch_size, max_batches=math.ceil(cases / batch_size)
        )
        seconds = time.perf_counter() - start
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT channel, count(*) FROM {ContactAttempt._meta.db_table}
                WHERE purpose = %(purpose)s GROUP BY channel ORDER BY channel""",
            {"purpose": Case.AttemptPurpose.OUTREACH},
        )
        attempts = dict(cursor.fetchall())
        cursor.execute(
            f"""SELECT count(*) FILTER (WHERE outreach_started_at IS NOT NULL),
                    count(*) FILTER (WHERE next_action_at <= %(now)s)
                FROM {Case._meta.db_table} WHERE kind = %(kind)s""",
            {"now": now, "kind": Case.Kind.ACCOUNT_HEALTH},
        )
        started, still_due = cursor.fetchone()
    acted = report.cases
    # The plan of the last batch's select (the due set is then at its smallest here).
    selects = [(sql, params) for _p, sql, _s, params in recorder.records if "SKIP LOCKED" in sql]
    plan = None
    if selects:
        batch_times = [seconds for _p, sql, seconds, _q in recorder.records if "SKIP LOCKED" in sql]
        explained = common.explain("sweep batch select (last batch)", *selects[-1])
        plan = {
            "first_last_median_ms": [
                common.ms(batch_times[0]),
                common.ms(batch_times[-1]),
                common.ms(statistics.median(batch_times)),
            ],
            **{key: explained[key] for key in ("execution_ms", "nodes", "sorts", "text")},
        }
    return {
        "asked": cases,
        "batch_size": batch_size,
        "seconds": round(seconds, 3),
        "ms_per_case": round(seconds * 1000 / acted, 2) if acted else None,
        "queries_per_case": round(len(recorder.records) / acted, 1) if acted else None,
        "report": report.as_dict(),
        "outreach_attempts": attempts,
        "outreach_started": started,
        "still_due": still_due,
        "batch_select": plan,
        "statements": recorder.by_statement(8),
    }


def wave_failed_checks(
    *, sellers: int, seconds: float, ingest: dict[str, Any], check: dict[str, Any]
) -> list[str]:
    """Every row accepted; N cases opened, each with its outreach queued and an assignee
    serving its store, led by the top open violation; 2N notifications; within 60 s."""
    expected = {
        "ingest accepted": (ingest["accepted"], sellers),
        "ingest rejected": (ingest["rejected"], 0),
        "band changes": (ingest["band_changes"], sellers),
        "states At Risk": (check["states_at_risk"], sellers),
        "cases opened": (check["cases_opened"], sellers),
        "notifications posted": (check["notifications_posted"], 2 * sellers),
        "next_action_at set (due now)": (check["next_action_at_set"], sellers),
        "first_attempt_due set": (check["first_attempt_due_set"], sellers),
        "unassigned cases": (check["unassigned"], 0),
        "misrouted cases": (check["misrouted"], 0),
        "cases not led by the top open violation": (check["wrong_policy_area"], 0),
        "assured cases": (check["assured"], 0),
        f"within {WAVE_TARGET_SECONDS} s": (seconds <= WAVE_TARGET_SECONDS, True),
    }
    return [
        f"{name}: {got}, expected {want}" for name, (got, want) in expected.items() if got != want
    ]


def main_wave(args: argparse.Namespace) -> None:
    timer = common.Timer()
    with common.bench_database(args.database_url, script="ahr_ingest.py", keep=args.keep):
        from django.core.management import call_command
        from django.utils import timezone

        from config.celery import app as celery_app

        # Sweeps and emails are queued on commit; keep them away from any real broker.
        celery_app.conf.broker_url = "memory://"
        with timer.phase("migrate"):
            call_command("migrate", verbosity=0)
        today = timezone.localdate()
        with timer.phase("seeding"):
            seeded = seed_wave(args, today=today)
        rows = wave_rows(today)
        load_before = common.load_average()
        since = timezone.now()
        with timer.phase("wave_ingest"):
            seconds, ingest = time_wave_ingest(
                rows, today=today, explain=args.explain, top=args.top
            )
        check = wave_check(since=since, sellers=args.sellers)
        sweep = None
        if args.sweep_cases:
            with timer.phase("sweep"):
                sweep = time_wave_sweep(
                    cases=min(args.sweep_cases, args.sellers), batch_size=args.sweep_batch_size
                )
        settings_seen = common.server_settings()
    result = {
        "scenario": "at-risk-wave",
        "sellers": args.sellers,
        "history_days": args.history_days,
        "today": today.isoformat(),
        "rows": args.sellers,
        "seconds": round(seconds, 3),
        "rows_per_second": round(args.sellers / seconds),
        "within_60_s": seconds <= WAVE_TARGET_SECONDS,
        "cases_opened": check["cases_opened"],
        "notifications_posted": check["notifications_posted"],
        "next_action_at_set": check["next_action_at_set"],
        "distinct_assignees": check["distinct_assignees"],
        "ingest": ingest,
        "check": check,
        "sweep": sweep,
        "seed": seeded,
        "phases_seconds": {name: round(value, 3) for name, value in timer.seconds.items()},
        "load_average_before_after": [load_before, common.load_average()],
        "server": settings_seen,
        "code": common.file_hashes(WAVE_MEASURED_FILES),
        "explain": args.explain,
        "python": platform.python_version(),
    }
    common.print_result(
        result,
        wave_failed_checks(sellers=args.sellers, seconds=seconds, ingest=ingest, check=check),
    )


def main() -> None:
    args = parse_args()
    if args.scenario == "at-risk-wave":
        main_wave(args)
        return

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
