"""Times the timer sweep (``cases.timers.sweep_due_cases``) over N cases, D of them due.

Seeds a fresh PostgreSQL database (all in SQL, so seeding is fast) with N cases, O of
them open and D of those past their 72-hour deadline (assured, ``opened``, outreach
started, ``next_action_at = reach_deadline`` in the last hour); the other open cases
have their timer in the next 72 hours, the closed ones none. Then:

* explains, under ``EXPLAIN (ANALYZE, BUFFERS)``, the sweep's batch query (the SQL the
  sweep itself emits, captured with ``connection.execute_wrapper``) and the two
  statements of ``requeue_due_attempts``, and checks that none reads ``cases_case`` or
  ``notifications_contactattempt`` with a Seq Scan;
* times one full sweep, ``sweep_due_cases(now=<seed time>)``, which escalates the D
  cases as unreachable (one transition and one event each): seconds, cases per second,
  queries per case, the median batch;
* with ``--sweep-repeats R``, puts the D cases back (SQL, then VACUUM) and sweeps again,
  R full sweeps in all (medians);
* times the sweep again right after (nothing due: what every idle minute costs),
  ``--idle-repeats`` times.

Deliveries are not executed: tasks queued on commit (and by the re-queue) go to
Celery's in-memory broker, not eager, so the figures are the sweep's own cost.

    DATABASE_URL=postgres://postgres@127.0.0.1:55432/postgres \\
        .venv/bin/python benchmarks/sweep.py --cases 1000000 --open 100000 --due 10000

Prints one JSON document on stdout; progress and the plans go to stderr. The database
is dropped at the end unless --keep.
"""

from __future__ import annotations

import argparse
import bisect
import datetime as dt
import json
import os
import platform
import re
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from _common import (
    Timer,
    create_database,
    database_urls,
    django_setup,
    drop_database,
    file_hashes,
    log,
    server_settings,
    sql_one_line,
)

CASES = "cases_case"
ATTEMPTS = "notifications_contactattempt"
EVENTS = "cases_caseevent"
WATCHED = (CASES, ATTEMPTS)
USER_PREFIX = "bench_sweep_"

# One row per case, in the order cases open (the heap order production produces): the
# closed cases over the two years before the last 73 hours, then the D due cases
# (opened 73 to 72 hours ago, so their deadline passed within the last hour), then the
# other open cases (opened within the last 72 hours; timer = opened_at + 72 h, so spread
# over the next 72 hours). Every "random" choice is a hash of the case number.
CASES_INSERT = """
INSERT INTO cases_case (
    seller_id, policy_area, severity, summary, evidence, upstream_id, assured,
    assigned_to_id, status, opened_at, reach_deadline, first_attempt_at, contacted_at,
    sla_met, remediation_started_at, resolved_at, resolution_reason, escalated_at,
    escalation_reason, escalation_note, reinstated_at, last_seller_activity_at,
    next_action_at, outreach_started_at, call_rounds, deadline_warnings,
    inactivity_warned_at, updated_at)
SELECT
    %(first_seller)s + h.seller_pick %% %(sellers)s,
    (%(areas)s::text[])[1 + h.area_pick %% cardinality(%(areas)s::text[])],
    (%(severities)s::text[])[1 + h.severity_pick %% cardinality(%(severities)s::text[])],
    'Bench case ' || g.i,
    '',
    CASE WHEN h.upstream_pick %% 10 <> 0 THEN 'bench-' || g.i END,
    a.assured,
    (%(specialists)s::bigint[])[1 + h.specialist_pick %% cardinality(%(specialists)s::bigint[])],
    s.status,
    g.opened_at,
    CASE WHEN a.assured THEN g.opened_at + interval '72 hours' END,
    g.opened_at,
    t.contacted_at,
    CASE WHEN t.contacted_at IS NOT NULL
        THEN NOT a.assured OR t.contacted_at <= g.opened_at + interval '72 hours' END,
    t.remediation_started_at,
    t.resolved_at,
    CASE WHEN s.status = 'resolved' THEN 'Plan done.' ELSE '' END,
    t.escalated_at,
    CASE WHEN s.status = 'escalated' THEN 'unreachable' ELSE '' END,
    '',
    NULL,
    coalesce(t.remediation_started_at, t.contacted_at),
    CASE WHEN g.kind <> 'closed' THEN g.opened_at + interval '72 hours' END,
    g.opened_at,
    CASE WHEN g.kind = 'due' THEN 5 ELSE 1 END,
    CASE WHEN g.kind = 'due' THEN 2 ELSE 0 END,
    NULL,
    coalesce(t.resolved_at, t.escalated_at, t.remediation_started_at, t.contacted_at, g.opened_at)
FROM (
    SELECT i, k.kind,
        CASE k.kind
            WHEN 'closed' THEN %(now)s::timestamptz - interval '73 hours'
                - (%(closed)s - i)::float8 / %(closed_div)s * interval '730 days'
            WHEN 'due' THEN %(now)s::timestamptz - interval '73 hours'
                + (i - %(closed)s - 0.5)::float8 / %(due_div)s * interval '1 hour'
            ELSE %(now)s::timestamptz - interval '72 hours'
                + (i - %(closed)s - %(due)s)::float8 / %(later_div)s * interval '72 hours'
        END AS opened_at
    FROM generate_series(1, %(n)s) AS i
    CROSS JOIN LATERAL (
        SELECT CASE WHEN i <= %(closed)s THEN 'closed'
                    WHEN i <= %(closed)s + %(due)s THEN 'due'
                    ELSE 'open' END AS kind
    ) k
) g
CROSS JOIN LATERAL (
    SELECT abs(hashint8(g.i * 8 + 0)::bigint) AS status_pick,
           abs(hashint8(g.i * 8 + 1)::bigint) AS seller_pick,
           abs(hashint8(g.i * 8 + 2)::bigint) AS specialist_pick,
           abs(hashint8(g.i * 8 + 3)::bigint) AS area_pick,
           abs(hashint8(g.i * 8 + 4)::bigint) AS severity_pick,
           abs(hashint8(g.i * 8 + 5)::bigint) AS assured_pick,
           abs(hashint8(g.i * 8 + 6)::bigint) AS attempt_pick,
           abs(hashint8(g.i * 8 + 7)::bigint) AS upstream_pick
) h
CROSS JOIN LATERAL (SELECT g.kind = 'due' OR h.assured_pick %% 5 <> 0 AS assured) a
CROSS JOIN LATERAL (
    SELECT CASE
        WHEN g.kind = 'due' THEN 'opened'
        WHEN g.kind = 'open' THEN
            CASE WHEN h.status_pick %% 10 < 2 THEN 'opened'
                 WHEN h.status_pick %% 10 < 5 THEN 'contacted'
                 ELSE 'in_remediation' END
        WHEN h.status_pick %% 100 < 85 THEN 'resolved'
        ELSE 'escalated'
    END AS status
) s
CROSS JOIN LATERAL (
    SELECT c.contacted_at, r.remediation_started_at,
           CASE WHEN s.status = 'resolved'
               THEN least(r.remediation_started_at
                          + (1 + h.attempt_pick %% 20) * interval '1 day', %(now)s)
           END AS resolved_at,
           CASE WHEN s.status = 'escalated' THEN g.opened_at + interval '72 hours'
           END AS escalated_at
    FROM (SELECT CASE WHEN s.status IN ('contacted', 'in_remediation', 'resolved')
                     THEN least(g.opened_at + h.attempt_pick %% 36000 * interval '1 second',
                                %(now)s)
                 END AS contacted_at) c
    CROSS JOIN LATERAL (
        SELECT CASE WHEN s.status IN ('in_remediation', 'resolved')
                   THEN least(c.contacted_at + interval '1 day', %(now)s)
               END AS remediation_started_at) r
) t
ORDER BY g.i
"""

# Every case's audit trail starts with its "opened" event.
EVENTS_INSERT = """
INSERT INTO cases_caseevent (case_id, kind, transition, from_status, to_status, actor_id,
    actor_process, reason, created_at)
SELECT id, 'opened', '', '', 'opened', NULL, 'upstream feed',
    CASE WHEN assured THEN 'Assured: reach the seller by the deadline.'
         ELSE 'The seller is not enrolled in AHA: no 72-hour guarantee.' END,
    opened_at
FROM cases_case ORDER BY opened_at, id
"""

# The attempts the cases made so far, in the order they were made: the opening email
# (sent) and one unanswered call per call round; then a few deliveries still in flight,
# on the newest opened cases: retries waiting (pending, due in the next minutes), claims
# being sent (sending, claimed 30 s ago) and lost tasks (pending, due and queued 10
# minutes ago: the sweep's re-queue takes them).
ATTEMPTS_INSERT = """
INSERT INTO notifications_contactattempt (case_id, channel, purpose, destination, language,
    provider_id, status, history, outcome, answered_by, error, tries, next_try_at,
    enqueued_at, claimed_at, sent_at, connected_at, created_at, updated_at)
SELECT case_id, channel, 'outreach', destination, 'en', provider_id, status,
    jsonb_build_array(jsonb_build_object('status', 'pending', 'at', created_at)),
    outcome, '', error, tries, next_try_at, enqueued_at, claimed_at, sent_at, NULL,
    created_at, created_at
FROM (
    SELECT c.id AS case_id, 'email' AS channel, s.email AS destination, '' AS provider_id,
        'sent' AS status, '' AS outcome, '' AS error, 1 AS tries, c.opened_at AS next_try_at,
        c.opened_at AS enqueued_at, c.opened_at AS claimed_at, c.opened_at AS sent_at,
        c.opened_at AS created_at
    FROM cases_case c JOIN sellers_seller s ON s.id = c.seller_id
    UNION ALL
    SELECT c.id, 'call', e.phone, 'CA' || md5(c.id || '-' || r), 'no-answer', 'no_answer', '',
        1, x.at, x.at, x.at, x.at, x.at
    FROM cases_case c
    JOIN sellers_emergencycontact e ON e.seller_id = c.seller_id
    CROSS JOIN LATERAL generate_series(1, c.call_rounds) AS r
    CROSS JOIN LATERAL (
        SELECT least(c.opened_at + (r - 1) * interval '16 hours', %(now)s) AS at
    ) x
    UNION ALL
    SELECT f.id, 'call', e.phone, '',
        CASE WHEN f.k <= %(sending)s THEN 'sending' ELSE 'pending' END,
        '',
        CASE WHEN f.k <= %(sending)s + %(retrying)s THEN 'Twilio 503' ELSE '' END,
        CASE WHEN f.k <= %(sending)s + %(retrying)s THEN 1 ELSE 0 END,
        CASE WHEN f.k <= %(sending)s THEN %(now)s::timestamptz - interval '30 seconds'
             WHEN f.k <= %(sending)s + %(retrying)s
                 THEN %(now)s::timestamptz + (1 + f.k %% 8) * interval '1 minute'
             ELSE %(now)s::timestamptz - interval '10 minutes' END,
        CASE WHEN f.k <= %(sending)s THEN %(now)s::timestamptz - interval '30 seconds'
             WHEN f.k <= %(sending)s + %(retrying)s THEN NULL
             ELSE %(now)s::timestamptz - interval '10 minutes' END,
        CASE WHEN f.k <= %(sending)s THEN %(now)s::timestamptz - interval '30 seconds' END,
        NULL,
        least(f.opened_at + interval '4 hours', %(now)s::timestamptz - interval '10 minutes')
    FROM (
        SELECT id, seller_id, opened_at, row_number() OVER (ORDER BY id DESC) AS k
        FROM cases_case WHERE status = 'opened' AND next_action_at > %(now)s
    ) f
    JOIN sellers_emergencycontact e ON e.seller_id = f.seller_id
    WHERE f.k <= %(sending)s + %(retrying)s + %(lost)s
) a
ORDER BY created_at
"""


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=1_000_000, help="N cases in all")
    parser.add_argument("--open", type=int, default=100_000, help="O of them open")
    parser.add_argument("--due", type=int, default=10_000, help="D open cases past deadline")
    parser.add_argument(
        "--sellers", type=int, default=None, help="sellers the cases belong to (default N/20)"
    )
    parser.add_argument("--specialists", type=int, default=50, help="users cases go to")
    parser.add_argument(
        "--batch-size",
        type=int,
        default=None,
        help="the sweep's batch size (default: settings.AHA['SWEEP_BATCH_SIZE'])",
    )
    parser.add_argument(
        "--sweep-repeats",
        type=int,
        default=1,
        help="full sweeps, the due cases put back (and VACUUM) between them; medians",
    )
    parser.add_argument(
        "--idle-repeats", type=int, default=5, help="idle sweeps after the full ones (median)"
    )
    parser.add_argument(
        "--database-url",
        default=None,
        help="postgres://user@host:port/maintenance_db (default: $DATABASE_URL)",
    )
    parser.add_argument("--keep", action="store_true", help="do not drop the database")
    args = parser.parse_args()
    if not 0 < args.due <= args.open <= args.cases:
        parser.error("need 0 < --due <= --open <= --cases")
    if args.open == args.due:
        parser.error("--open must be larger than --due (some open cases are not due)")
    if min(args.specialists, args.idle_repeats, args.sweep_repeats) < 1:
        parser.error("--specialists, --sweep-repeats and --idle-repeats must be at least 1")
    if args.batch_size is not None and args.batch_size < 1:
        parser.error("--batch-size must be at least 1")
    if args.sellers is None:
        args.sellers = max(args.cases // 20, 1)
    return args


def in_flight_counts(open_cases: int) -> dict[str, int]:
    """Deliveries in flight at the start: claims being sent, retries waiting, lost tasks."""
    return {
        "sending": max(open_cases // 5000, 1),
        "retrying": max(open_cases // 1000, 1),
        "lost": max(open_cases // 2000, 1),
    }


def seed_users(*, specialists: int) -> list[int]:
    from accounts.models import User

    users = []
    for number in range(1, specialists + 1):
        user = User(
            username=f"{USER_PREFIX}{number:03}",
            first_name="Bench",
            last_name=f"Specialist {number}",
            email=f"{USER_PREFIX}{number:03}@example.com",
            is_staff=True,
        )
        user.set_unusable_password()
        users.append(user)
    return [user.pk for user in User.objects.bulk_create(users)]


def plain_indexes(cursor, table: str) -> list[tuple[str, str]]:
    """The indexes of ``table`` that back no constraint: dropped during a load."""
    cursor.execute(
        """SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %(t)s
           AND indexname NOT IN (SELECT conname FROM pg_constraint
                                 WHERE conrelid = %(t)s::regclass)""",
        {"t": table},
    )
    return cursor.fetchall()


def seed(*, args: argparse.Namespace, now: dt.datetime) -> dict[str, Any]:
    """Sellers with emails and callable contacts, the cases, their events and attempts."""
    from django.db import connection

    from sellers.models import PolicyArea, Severity, Store

    stores = dict(Store.objects.filter(code__in=["US", "CA"]).values_list("code", "pk"))
    specialist_ids = seed_users(specialists=args.specialists)
    severities = [
        *[Severity.CRITICAL] * 1,
        *[Severity.HIGH] * 3,
        *[Severity.MEDIUM] * 4,
        *[Severity.LOW] * 2,
    ]
    closed = args.cases - args.open
    in_flight = in_flight_counts(args.open)
    seconds: dict[str, float] = {}
    with connection.cursor() as cursor:

        def step(name: str, sql: str, params: dict[str, Any] | None = None) -> None:
            start = time.perf_counter()
            cursor.execute(sql, params)
            seconds[name] = round(seconds.get(name, 0) + time.perf_counter() - start, 2)

        step(
            "sellers",
            """INSERT INTO sellers_seller (seller_id, name, store_id, account_type, email,
                    created_at, updated_at)
               SELECT 'W' || lpad(i::text, 8, '0'), 'Bench seller ' || i,
                    CASE WHEN i %% 5 = 0 THEN %(ca)s ELSE %(us)s END,
                    'professional', 'seller' || i || '@example.com', %(now)s, %(now)s
               FROM generate_series(1, %(n)s) AS i ORDER BY i""",
            {"ca": stores["CA"], "us": stores["US"], "n": args.sellers, "now": now},
        )
        # +1 212 200-0000 upward: valid, callable US numbers (as in ahr_ingest.py).
        step(
            "sellers",
            """INSERT INTO sellers_emergencycontact (seller_id, phone, verified_at,
                    verified_by, updated_at, callable)
               SELECT s.id, '+1212' || lpad((2000000 + s.id %% 8000000)::text, 7, '0'),
                    %(now)s, 'upstream', %(now)s, TRUE
               FROM sellers_seller s ORDER BY s.id""",
            {"now": now},
        )
        cursor.execute(
            "SELECT min(id) FROM sellers_seller WHERE seller_id LIKE %(prefix)s", {"prefix": "W%"}
        )
        first_seller = cursor.fetchone()[0]
        # Load without the plain indexes, then build them as the migrations made them.
        dropped = {table: plain_indexes(cursor, table) for table in (CASES, EVENTS, ATTEMPTS)}
        for indexes in dropped.values():
            for index_name, _definition in indexes:
                cursor.execute(f'DROP INDEX "{index_name}"')
        step(
            "cases",
            CASES_INSERT,
            {
                "n": args.cases,
                "closed": closed,
                "due": args.due,
                "closed_div": max(closed, 1),
                "due_div": args.due,
                "later_div": args.open - args.due,
                "now": now,
                "first_seller": first_seller,
                "sellers": args.sellers,
                "specialists": specialist_ids,
                "areas": list(PolicyArea.values),
                "severities": [str(value) for value in severities],
            },
        )
        step("events", EVENTS_INSERT)
        step("attempts", ATTEMPTS_INSERT, {"now": now, **in_flight})
        cursor.execute("SET maintenance_work_mem = '512MB'")
        for indexes in dropped.values():
            for _index_name, definition in indexes:
                step("indexes", definition)
        cursor.execute("RESET maintenance_work_mem")
        for table in (
            "sellers_store",
            "sellers_seller",
            "sellers_emergencycontact",
            "accounts_user",
            CASES,
            EVENTS,
            ATTEMPTS,
        ):
            step("vacuum_analyze", f"VACUUM (ANALYZE) {table}")
        cursor.execute(
            f"""SELECT count(*),
                    count(*) FILTER (WHERE status IN ('opened', 'contacted', 'in_remediation')),
                    count(*) FILTER (WHERE next_action_at <= %(now)s),
                    count(*) FILTER (WHERE next_action_at > %(now)s),
                    min(next_action_at) FILTER (WHERE next_action_at > %(now)s) - %(now)s,
                    max(next_action_at) - %(now)s
                FROM {CASES}""",
            {"now": now},
        )
        total, open_cases, due, later, first_later, last_later = cursor.fetchone()
        cursor.execute(f"SELECT status, count(*) FROM {CASES} GROUP BY 1 ORDER BY 2 DESC")
        by_status = dict(cursor.fetchall())
        cursor.execute(f"SELECT status, count(*) FROM {ATTEMPTS} GROUP BY 1 ORDER BY 2 DESC")
        attempts_by_status = dict(cursor.fetchall())
        cursor.execute(f"SELECT count(*) FROM {EVENTS}")
        events = cursor.fetchone()[0]
        sizes = {}
        for table in (CASES, EVENTS, ATTEMPTS):
            cursor.execute(f"SELECT pg_total_relation_size('{table}') / 1048576")
            sizes[f"{table}_mb"] = cursor.fetchone()[0]
        cursor.execute(
            """SELECT indexrelid::regclass::text, pg_relation_size(indexrelid) / 1048576.0
               FROM pg_index WHERE indexrelid::regclass::text IN
                   ('case_next_action_idx', 'attempt_due_idx')"""
        )
        sizes["indexes_mb"] = {name: round(float(mb), 2) for name, mb in cursor.fetchall()}
        cursor.execute("SELECT pg_database_size(current_database()) / 1048576")
        sizes["database_mb"] = cursor.fetchone()[0]
    if due != args.due:
        sys.exit(f"seeding made {due} due cases, not {args.due}")
    return {
        "cases": total,
        "open_cases": open_cases,
        "due_cases": due,
        "timers_later": later,
        "timers_later_span": [str(first_later), str(last_later)],
        "by_status": by_status,
        "sellers": args.sellers,
        "specialists": args.specialists,
        "events": events,
        "attempts": sum(attempts_by_status.values()),
        "attempts_by_status": attempts_by_status,
        "in_flight": in_flight,
        "sizes": sizes,
        "seconds": seconds,
    }


def statement_kind(sql: str) -> str:
    """A short name for each statement the sweep runs."""
    line = sql_one_line(sql, 100_000)
    head = line[:60].upper()
    if line.startswith("SELECT") and f'FROM "{CASES}"' in line and "SKIP LOCKED" in line:
        return "batch select (FOR UPDATE SKIP LOCKED)"
    for verb in ("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT"):
        if head.startswith(verb):
            return verb.lower()
    table = next(
        (name for name in line.split('"') if "_" in name and name.islower() and " " not in name),
        "?",
    )
    verb = line.split(None, 1)[0].upper()
    if verb == "SELECT" and "FOR UPDATE" in line:
        verb = "SELECT FOR UPDATE"
    return f"{verb} {table}"


class SweepRecorder:
    """An execute_wrapper: each statement's start, duration, rows and phase.

    Keeps the SQL and parameters of the batch selects and of the re-queue statements
    (to explain them afterwards), the kind of every other statement.
    """

    def __init__(self) -> None:
        self.phase = "batches"
        self.records: list[dict[str, Any]] = []

    def __call__(self, execute, sql, params, many, context):
        kind = statement_kind(sql)
        start = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            seconds = time.perf_counter() - start
            record = {"phase": self.phase, "kind": kind, "start": start, "seconds": seconds}
            if kind.startswith("batch select") or self.phase == "requeue":
                record["sql"] = sql
                record["params"] = params
                record["rows"] = getattr(context["cursor"], "rowcount", None)
            self.records.append(record)


class Phases:
    """Wraps ``requeue_due_attempts`` as the sweep calls it, to tag its statements."""

    def __init__(self, recorder: SweepRecorder) -> None:
        self.recorder = recorder
        self.requeue_start: float | None = None
        self.requeue_seconds: float | None = None

    def __enter__(self) -> Phases:
        from cases import timers

        self.original = timers.requeue_due_attempts

        def requeue(**kwargs: Any) -> int:
            self.recorder.phase = "requeue"
            self.requeue_start = time.perf_counter()
            try:
                return self.original(**kwargs)
            finally:
                self.requeue_seconds = time.perf_counter() - self.requeue_start
                self.recorder.phase = "after"

        timers.requeue_due_attempts = requeue
        return self

    def __exit__(self, *exc: object) -> None:
        from cases import timers

        timers.requeue_due_attempts = self.original


def run_sweep(*, now: dt.datetime, batch_size: int | None) -> dict[str, Any]:
    """One ``sweep_due_cases(now=...)``, timed whole, by batch and by statement."""
    from django.db import connection

    from cases.timers import sweep_due_cases

    recorder = SweepRecorder()
    with Phases(recorder) as phases, connection.execute_wrapper(recorder):
        start = time.perf_counter()
        report = sweep_due_cases(now=now, batch_size=batch_size)
        seconds = time.perf_counter() - start
    records = recorder.records
    batch_selects = [r for r in records if r["kind"].startswith("batch select")]
    # A batch runs from its select to the next batch's select (or to the re-queue): the
    # acting on its cases and its commit.
    ends = [r["start"] for r in batch_selects[1:]] + [phases.requeue_start or start + seconds]
    starts = [r["start"] for r in records if r["phase"] == "batches"]  # in order
    batches = [
        {
            "rows": select["rows"],
            "seconds": end - select["start"],
            "select_seconds": select["seconds"],
            "statements": bisect.bisect_left(starts, end)
            - bisect.bisect_left(starts, select["start"]),
        }
        for select, end in zip(batch_selects, ends, strict=True)
    ]
    full = [b for b in batches if b["rows"]] or batches
    in_batches = [r for r in records if r["phase"] == "batches"]
    cases = report.cases
    by_kind: dict[str, list[float]] = {}
    for record in records:
        by_kind.setdefault(f"{record['phase']}: {record['kind']}", []).append(record["seconds"])
    sql_seconds = sum(r["seconds"] for r in records)
    return {
        "report": report.as_dict(),
        "seconds": seconds,
        "cases_per_second": round(cases / seconds, 1) if cases else None,
        "queries": len(records),
        "queries_in_batches": len(in_batches),
        "queries_per_case": round(len(in_batches) / cases, 2) if cases else None,
        "sql_seconds": sql_seconds,
        "python_seconds": seconds - sql_seconds,
        "batches": batches,
        "batch_ms_median": ms(statistics.median(b["seconds"] for b in full)),
        "batch_ms_min_max": [
            ms(min(b["seconds"] for b in full)),
            ms(max(b["seconds"] for b in full)),
        ],
        "batch_select_ms": {
            "median": ms(statistics.median(b["select_seconds"] for b in batches)),
            "first": ms(batches[0]["select_seconds"]),
            "last": ms(batches[-1]["select_seconds"]),
        },
        "requeue_ms": ms(phases.requeue_seconds or 0),
        "ms_per_case": ms(seconds / cases) if cases else None,
        # Every kind of statement: calls, total seconds, median ms, calls per case.
        "statements": {
            kind: {
                "calls": len(times),
                "seconds": round(sum(times), 3),
                "ms_median": ms(statistics.median(times)),
                "per_case": round(len(times) / cases, 2) if cases else None,
            }
            for kind, times in sorted(by_kind.items(), key=lambda item: -sum(item[1]))
        },
        "first_batch_select": batch_selects[0],
        "last_batch_select": batch_selects[-1],
        "requeue_statements": [r for r in records if r["phase"] == "requeue"],
    }


def sql_digest(sql: str, width: int = 600) -> str:
    """One line; the list of columns cut to "SELECT ... FROM", a long IN list to its size."""
    line = sql_one_line(sql, 10**9)
    columns = re.match(r"SELECT (.{60,}?) FROM ", line)
    if columns and "(" not in columns.group(1):
        line = f"SELECT ... FROM {line[columns.end() :]}"
    line = re.sub(
        r"IN \(((?:%s|\d+)(?:, (?:%s|\d+)){9,})\)",
        lambda match: f"IN (<{match.group(1).count(',') + 1} values>)",
        line,
    )
    return line[:width]


def ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


def plan_nodes(node: dict[str, Any]) -> list[dict[str, Any]]:
    nodes = [node]
    for child in node.get("Plans", []):
        nodes.extend(plan_nodes(child))
    return nodes


def node_label(node: dict[str, Any]) -> str:
    label = ("Parallel " if node.get("Parallel Aware") else "") + node["Node Type"]
    if "Index Name" in node:
        label += f" using {node['Index Name']}"
    if "Relation Name" in node:
        label += f" on {node['Relation Name']}"
    return label


class _Rollback(Exception):
    pass


def explain(name: str, sql: str, params: Any) -> dict[str, Any]:
    """EXPLAIN (ANALYZE, BUFFERS) of one statement in a transaction rolled back after.

    The text plan goes to stderr with the statement (parameters inlined, for psql); the
    JSON gets the node list, the seq scans and the key lines.
    """
    from django.db import connection, transaction

    result: dict[str, Any] = {}
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {sql}", params)
            document = cursor.fetchone()[0]
            result["document"] = json.loads(document) if isinstance(document, str) else document
            raise _Rollback
    except _Rollback:
        pass
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", params)
            text = [line for (line,) in cursor.fetchall()]
            raw = cursor.cursor
            literal = (
                raw.mogrify(sql, params) if hasattr(raw, "mogrify") else f"{sql} -- {params!r}"
            )
            raise _Rollback
    except _Rollback:
        pass
    top = result["document"][0]
    nodes = plan_nodes(top["Plan"])
    if isinstance(literal, bytes):
        literal = literal.decode()
    if len(literal) > 3000:
        literal = f"{literal[:1500]} ... {literal[-1000:]}  -- {len(literal)} characters in all"
    print(f"\n=== {name}:", literal, *text, sep="\n", file=sys.stderr)
    return {
        "statement": sql_digest(sql),
        "parameters": len(params or ()),
        "execution_ms": round(top["Execution Time"], 2),
        "planning_ms": round(top["Planning Time"], 2),
        "nodes": [node_label(node) for node in nodes],
        "seq_scans": sorted(
            {node.get("Relation Name", "?") for node in nodes if node["Node Type"] == "Seq Scan"}
        ),
        "indexes": sorted({node["Index Name"] for node in nodes if "Index Name" in node}),
        # Without the Buffers lines and the rest: what to read first.
        "text": [
            line.rstrip()
            for line in text
            if "->" in line
            or line.lstrip().startswith(("Limit", "LockRows", "Update", "Index", "Sort"))
            or "Index Cond" in line
            or "Filter" in line
            or "Sort Key" in line
            or "Presorted" in line
            or "Time:" in line
        ],
    }


class _FirstBatchCaught(Exception):
    def __init__(self, sql: str, params: Any) -> None:
        super().__init__()
        self.sql = sql
        self.params = params


def first_batch_statement(*, now: dt.datetime, batch_size: int | None) -> tuple[str, Any]:
    """The SQL and parameters of the sweep's first batch, before anything is swept.

    Runs ``sweep_due_cases`` and stops it at its first batch select (before the select
    executes), so the transaction rolls back and nothing changes.
    """
    from django.db import connection

    from cases.timers import sweep_due_cases

    def stop(execute, sql, params, many, context):
        if statement_kind(sql).startswith("batch select"):
            raise _FirstBatchCaught(sql, params)
        return execute(sql, params, many, context)

    try:
        with connection.execute_wrapper(stop):
            sweep_due_cases(now=now, batch_size=batch_size)
    except _FirstBatchCaught as caught:
        return caught.sql, caught.params
    sys.exit("the sweep ran no batch select")


def requeue_statements(*, now: dt.datetime) -> list[tuple[str, Any]]:
    """The statements ``requeue_due_attempts(now=...)`` runs, in a transaction rolled back.

    Its deliveries go to the in-memory broker; the attempts are as they were after.
    """
    from django.db import connection, transaction

    from notifications.services import requeue_due_attempts

    captured: list[tuple[str, Any]] = []

    def capture(execute, sql, params, many, context):
        captured.append((sql, params))
        return execute(sql, params, many, context)

    with transaction.atomic():
        with connection.execute_wrapper(capture):
            requeue_due_attempts(now=now)
        transaction.set_rollback(True)
    return captured


def round_trip_ms(samples: int = 200) -> dict[str, float]:
    """``SELECT 1`` on the benchmark's connection: the floor under every statement.

    On an idle machine this is well under 0.1 ms; under CPU load from other work it
    grows with the scheduler's delays, and so does every figure here.
    """
    from django.db import connection

    times = []
    with connection.cursor() as cursor:
        for _ in range(samples):
            start = time.perf_counter()
            cursor.execute("SELECT 1")
            cursor.fetchone()
            times.append(time.perf_counter() - start)
    times.sort()
    return {"median": ms(statistics.median(times)), "p90": ms(times[int(len(times) * 0.9)])}


def check_after(now: dt.datetime) -> dict[str, Any]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT count(*) FILTER (WHERE next_action_at <= %(now)s),
                    count(*) FILTER (WHERE status = 'escalated'
                                     AND escalation_reason = 'unreachable'
                                     AND escalated_at >= %(now)s)
                FROM {CASES}""",
            {"now": now},
        )
        still_due, escalated = cursor.fetchone()
        cursor.execute(
            f"""SELECT count(*) FROM {EVENTS} WHERE kind = 'transition'
                AND transition = 'escalate' AND created_at >= %(now)s""",
            {"now": now},
        )
        events = cursor.fetchone()[0]
    return {"still_due": still_due, "escalated_now": escalated, "escalation_events": events}


def code_fingerprint() -> dict[str, str]:
    return file_hashes(
        (
            "cases/timers.py",
            "cases/outreach.py",
            "cases/services.py",
            "cases/signals.py",
            "cases/models.py",
            "notifications/services.py",
            "notifications/models.py",
        )
    )


def machine() -> dict[str, Any]:
    info: dict[str, Any] = {
        "cpus": os.cpu_count(),
        "machine": platform.machine(),
        "system": platform.platform(),
        "python": platform.python_version(),
    }
    try:
        with Path("/proc/meminfo").open() as meminfo:
            for line in meminfo:
                if line.startswith("MemTotal:"):
                    info["memory_gb"] = round(int(line.split()[1]) / 2**20, 1)
        with Path("/proc/cpuinfo").open() as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    info["cpu"] = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return info


def load() -> list[float]:
    return [round(value, 2) for value in os.getloadavg()]


RESET_DUE = """
WITH swept AS (
    UPDATE cases_case SET status = 'opened', escalated_at = NULL, escalation_reason = '',
        escalation_note = '', next_action_at = reach_deadline, call_rounds = 5,
        deadline_warnings = 2, updated_at = %(now)s
    WHERE status = 'escalated' AND escalated_at >= %(now)s
    RETURNING id
)
DELETE FROM cases_caseevent e USING swept
WHERE e.case_id = swept.id AND e.kind = 'transition' AND e.created_at >= %(now)s
"""


def reset_due(now: dt.datetime) -> None:
    """Puts the swept cases back as they were seeded (for --sweep-repeats), then VACUUM."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(RESET_DUE, {"now": now})
        for table in (CASES, EVENTS, ATTEMPTS):
            cursor.execute(f"VACUUM (ANALYZE) {table}")


def measure(args: argparse.Namespace, timer: Timer) -> dict[str, Any]:
    """Seeds, explains, sweeps: everything measured, as plain data."""
    from django.conf import settings
    from django.core.management import call_command
    from django.utils import timezone

    from config.celery import app as celery_app

    # Deliveries are queued on commit (and by the re-queue): keep them in memory, not
    # eager, so the sweep's own cost is measured and no broker is reached.
    celery_app.conf.broker_url = "memory://"
    celery_app.conf.task_always_eager = False

    batch_size = args.batch_size or settings.AHA["SWEEP_BATCH_SIZE"]
    with timer.phase("migrate"):
        call_command("migrate", verbosity=0)
    now = timezone.now().replace(microsecond=0)
    with timer.phase("seeding"):
        seeded = seed(args=args, now=now)
    log(f"seeded: {json.dumps(seeded, default=str)}")

    plans: dict[str, Any] = {}
    with timer.phase("explain_before"):
        sql, params = first_batch_statement(now=now, batch_size=batch_size)
        plans["batch_first"] = explain("sweep batch select, first batch (D due)", sql, params)
        for number, (statement, values) in enumerate(requeue_statements(now=now), start=1):
            plans[f"requeue_{number}"] = explain(
                f"requeue_due_attempts statement {number} (before the sweep)", statement, values
            )

    sweeps = []
    for repeat in range(args.sweep_repeats):
        if repeat:
            with timer.phase(f"reset_{repeat}"):
                reset_due(now)
        load_before = load()
        round_trip = round_trip_ms()
        with timer.phase(f"sweep_{repeat + 1}"):
            run = run_sweep(now=now, batch_size=batch_size)
        run["load_average"] = {"before": load_before, "after": load()}
        run["round_trip_ms_before"] = round_trip
        run["first_batch_sql_same_as_explained"] = run["first_batch_select"]["sql"] == sql
        run["check"] = {**check_after(now), "expected_escalated": seeded["due_cases"]}
        log(f"sweep: {json.dumps(run['report'])} in {run['seconds']:.2f} s")
        sweeps.append(run)

    with timer.phase("idle_sweeps"):
        idle = [run_sweep(now=now, batch_size=batch_size) for _ in range(args.idle_repeats)]
    round_trip_after = round_trip_ms()

    with timer.phase("explain_after"):
        last = sweeps[-1]["last_batch_select"]
        plans["batch_last"] = explain(
            f"sweep batch select, last batch ({len(last['params'])} parameters, none due)",
            last["sql"],
            last["params"],
        )
        plans["batch_idle"] = explain(
            "sweep batch select, idle sweep",
            idle[-1]["first_batch_select"]["sql"],
            idle[-1]["first_batch_select"]["params"],
        )
        for number, record in enumerate(idle[-1]["requeue_statements"], start=1):
            plans[f"requeue_idle_{number}"] = explain(
                f"requeue_due_attempts statement {number} (idle sweep)",
                record["sql"],
                record["params"],
            )
    return {
        "batch_size": batch_size,
        "seeded": seeded,
        "plans": plans,
        "sweeps": sweeps,
        "idle": idle,
        "round_trip_after": round_trip_after,
        "server": server_settings(),
    }


TRANSIENT = ("first_batch_select", "last_batch_select", "requeue_statements", "batches")


def sweep_figures(run: dict[str, Any]) -> dict[str, Any]:
    """One timed sweep for the JSON: rounded, with batches by position."""
    batches = run["batches"]
    with_rows = [b for b in batches if b["rows"]]
    figures = {
        key: (round(value, 5) if isinstance(value, float) else value)
        for key, value in run.items()
        if key not in TRANSIENT
    }
    figures["batch_ms_by_position"] = {
        "first_5": [ms(b["seconds"]) for b in batches[:5]],
        "last_5": [ms(b["seconds"]) for b in batches[-5:]],
    }
    figures["batch_select_ms_by_position"] = {
        "first_5": [ms(b["select_seconds"]) for b in batches[:5]],
        "last_5": [ms(b["select_seconds"]) for b in batches[-5:]],
    }
    figures["statements_per_full_batch"] = (
        statistics.median(b["statements"] for b in with_rows) if with_rows else None
    )
    return figures


def median_of(runs: list[dict[str, Any]], key: str) -> float | None:
    values = [run[key] for run in runs if run[key] is not None]
    return round(statistics.median(values), 3) if values else None


def build_result(measured: dict[str, Any], timer: Timer, code_before: dict[str, str]) -> dict:
    plans = measured["plans"]
    sweeps = [sweep_figures(run) for run in measured["sweeps"]]
    idle = [sweep_figures(run) for run in measured["idle"]]
    seeded = measured["seeded"]
    seq_scans = {
        plan_name: [table for table in plan["seq_scans"] if table in WATCHED]
        for plan_name, plan in plans.items()
    }
    return {
        "cases": seeded["cases"],
        "open_cases": seeded["open_cases"],
        "due_cases": seeded["due_cases"],
        "batch_size": measured["batch_size"],
        # Medians over the --sweep-repeats full sweeps (one by default).
        "summary": {
            "sweeps": len(sweeps),
            "sweep_seconds": median_of(sweeps, "seconds"),
            "cases_per_second": median_of(sweeps, "cases_per_second"),
            "ms_per_case": median_of(sweeps, "ms_per_case"),
            "queries_per_case": median_of(sweeps, "queries_per_case"),
            "batch_ms_median": median_of(sweeps, "batch_ms_median"),
            "batches": sweeps[0]["report"]["batches"],
            "escalated": [run["report"]["escalated"] for run in sweeps],
            "sql_share": round(
                statistics.median(run["sql_seconds"] / run["seconds"] for run in sweeps), 2
            ),
            "batch_select_ms_first_last": [
                sweeps[-1]["batch_select_ms"]["first"],
                sweeps[-1]["batch_select_ms"]["last"],
            ],
            "idle_sweep_ms_median": ms(statistics.median(run["seconds"] for run in idle)),
            "idle_sweep_queries": idle[0]["queries"],
            "round_trip_ms_median": sweeps[0]["round_trip_ms_before"]["median"],
        },
        "seq_scan_on_watched_tables": any(seq_scans.values()),
        "seq_scans": seq_scans,
        "plans": plans,
        "sweeps": sweeps,
        "idle_sweep": {
            "runs_ms": [ms(run["seconds"]) for run in idle],
            "median_ms": ms(statistics.median(run["seconds"] for run in idle)),
            "queries": idle[0]["queries"],
            "statements": idle[-1]["statements"],
            "report": idle[-1]["report"],
        },
        "celery": "in-memory broker, not eager: deliveries queued, not executed",
        "seed": seeded,
        "seconds": {name: round(value, 3) for name, value in timer.seconds.items()},
        "server": measured["server"],
        # The cores are shared with other work: compare runs at similar load and similar
        # round trips (SELECT 1 on the benchmark's connection, ms; each sweep has its own).
        "round_trip_ms_after": measured["round_trip_after"],
        "load_average_now": load(),
        "machine": machine(),
        "code": code_before,
        "code_changed_during_run": sorted(
            name for name, digest in code_fingerprint().items() if code_before[name] != digest
        ),
    }


def main() -> None:
    args = parse_args()
    code_before = code_fingerprint()
    maintenance_url, bench_url, name = database_urls(args.database_url, script="sweep.py")

    timer = Timer()
    create_database(maintenance_url, name)
    log(f"created database {name}")
    try:
        django_setup(bench_url)
        from django.db import connections

        measured = measure(args, timer)
        connections.close_all()
    finally:
        if args.keep:
            log(f"kept database {name}")
        else:
            from django.db import connections

            connections.close_all()
            drop_database(maintenance_url, name)
            log(f"dropped database {name}")
    print(json.dumps(build_result(measured, timer, code_before), indent=2, default=str))


if __name__ == "__main__":
    main()
