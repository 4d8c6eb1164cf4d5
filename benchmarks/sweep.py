"""Times the timer sweep (``cases.timers.sweep_due_cases``) over N cases, D of them due.

Seeds a fresh PostgreSQL database (all in SQL, so seeding is fast, with the shared
``_common.seed_cases``) with N cases, O of them open and D of those past their 72-hour
deadline (assured, ``opened``, outreach started, ``next_action_at = reach_deadline`` in
the last hour), their "opened" events and the attempts made so far; the other open
cases have their timer in the next 72 hours, the closed ones none. Then:

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
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import _common as common

WATCHED = (common.CASES, common.ATTEMPTS)
USER_PREFIX = "bench_sweep_"
# What the JSON keeps of each plan (``_common.explain`` sums up more).
PLAN_KEYS = (
    "statement",
    "parameters",
    "execution_ms",
    "planning_ms",
    "nodes",
    "seq_scans",
    "indexes",
    "text",
)


# The files on the measured path (their hashes tie the figures to the code).
MEASURED_FILES = (
    *[f"cases/{name}.py" for name in ("timers", "outreach", "services", "signals", "models")],
    *[f"notifications/{name}.py" for name in ("services", "models")],
)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=1_000_000, help="N cases in all")
    parser.add_argument("--open", type=int, default=100_000, help="O of them open")
    parser.add_argument("--due", type=int, default=10_000, help="D open cases past deadline")
    common.add_people_arguments(parser, specialists_help="users cases go to")
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
    common.add_database_arguments(parser)
    args = parser.parse_args()
    if not 0 < args.due <= args.open <= args.cases:
        parser.error("need 0 < --due <= --open <= --cases")
    if args.open == args.due:
        parser.error("--open must be larger than --due (some open cases are not due)")
    if min(args.specialists, args.idle_repeats, args.sweep_repeats) < 1:
        parser.error("--specialists, --sweep-repeats and --idle-repeats must be at least 1")
    if args.batch_size is not None and args.batch_size < 1:
        parser.error("--batch-size must be at least 1")
    args.sellers = common.sellers_for(args.cases, args.sellers)
    return args


def in_flight_counts(open_cases: int) -> dict[str, int]:
    """Deliveries in flight at the start: claims being sent, retries waiting, lost tasks."""
    return {
        "sending": max(open_cases // 5000, 1),
        "retrying": max(open_cases // 1000, 1),
        "lost": max(open_cases // 2000, 1),
    }


def seed(*, args: argparse.Namespace, now: dt.datetime) -> dict[str, Any]:
    """Sellers with emails and callable contacts, the cases, their events and attempts."""
    users = common.seed_specialists(args.specialists, prefix=USER_PREFIX, desk=False)
    mix = common.CaseMix(
        cases=args.cases,
        open=args.open,
        due=args.due,
        sellers=args.sellers,
        seller_prefix="W",
        events=True,
        attempts=True,
        in_flight=in_flight_counts(args.open),
    )
    seeded = common.seed_cases(mix, now=now, specialists=[user.pk for user in users])
    indexes_mb = {
        name: mb
        for table_indexes in seeded["indexes_mb"].values()
        for name, mb in table_indexes.items()
        if name in ("case_next_action_idx", "attempt_due_idx")
    }
    cases = ("cases", "open_cases", "due_cases", "timers_later", "timers_later_span", "by_status")
    return {
        **{key: seeded[key] for key in cases},
        "sellers": seeded["sellers"],
        "specialists": args.specialists,
        **{key: seeded[key] for key in ("events", "attempts", "attempts_by_status", "in_flight")},
        "sizes": {
            **{
                f"{table}_mb": seeded["tables_mb"][table]
                for table in (common.CASES, common.EVENTS, common.ATTEMPTS)
            },
            "indexes_mb": indexes_mb,
            "database_mb": seeded["database_mb"],
        },
        "seconds": seeded["seconds"],
    }


def statement_kind(sql: str) -> str:
    """A short name for each statement the sweep runs."""
    line = common.sql_one_line(sql, 100_000)
    head = line[:60].upper()
    if line.startswith("SELECT") and f'FROM "{common.CASES}"' in line and "SKIP LOCKED" in line:
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
        "batch_ms_median": common.ms(statistics.median(b["seconds"] for b in full)),
        "batch_ms_min_max": [
            common.ms(min(b["seconds"] for b in full)),
            common.ms(max(b["seconds"] for b in full)),
        ],
        "batch_select_ms": {
            "median": common.ms(statistics.median(b["select_seconds"] for b in batches)),
            "first": common.ms(batches[0]["select_seconds"]),
            "last": common.ms(batches[-1]["select_seconds"]),
        },
        "requeue_ms": common.ms(phases.requeue_seconds or 0),
        "ms_per_case": common.ms(seconds / cases) if cases else None,
        # Every kind of statement: calls, total seconds, median ms, calls per case.
        "statements": {
            kind: {
                "calls": len(times),
                "seconds": round(sum(times), 3),
                "ms_median": common.ms(statistics.median(times)),
                "per_case": round(len(times) / cases, 2) if cases else None,
            }
            for kind, times in sorted(by_kind.items(), key=lambda item: -sum(item[1]))
        },
        "first_batch_select": batch_selects[0],
        "last_batch_select": batch_selects[-1],
        "requeue_statements": [r for r in records if r["phase"] == "requeue"],
    }


def plan_figures(title: str, sql: str, params: Any) -> dict[str, Any]:
    """``_common.explain`` of one statement (rolled back after), as this benchmark keeps it."""
    plan = common.explain(title, sql, params)
    return {key: plan[key] for key in PLAN_KEYS}


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
    return {
        "median": common.ms(statistics.median(times)),
        "p90": common.ms(times[int(len(times) * 0.9)]),
    }


def check_after(now: dt.datetime) -> dict[str, Any]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT count(*) FILTER (WHERE next_action_at <= %(now)s),
                    count(*) FILTER (WHERE status = 'escalated'
                                     AND escalation_reason = 'unreachable'
                                     AND escalated_at >= %(now)s)
                FROM {common.CASES}""",
            {"now": now},
        )
        still_due, escalated = cursor.fetchone()
        cursor.execute(
            f"""SELECT count(*) FROM {common.EVENTS} WHERE kind = 'transition'
                AND transition = 'escalate' AND created_at >= %(now)s""",
            {"now": now},
        )
        events = cursor.fetchone()[0]
    return {"still_due": still_due, "escalated_now": escalated, "escalation_events": events}


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
        for table in (common.CASES, common.EVENTS, common.ATTEMPTS):
            cursor.execute(f"VACUUM (ANALYZE) {table}")


def measure(args: argparse.Namespace, timer: common.Timer) -> dict[str, Any]:
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
    common.log(f"seeded: {json.dumps(seeded, default=str)}")

    plans: dict[str, Any] = {}
    with timer.phase("explain_before"):
        sql, params = first_batch_statement(now=now, batch_size=batch_size)
        plans["batch_first"] = plan_figures("sweep batch select, first batch (D due)", sql, params)
        for number, (statement, values) in enumerate(requeue_statements(now=now), start=1):
            plans[f"requeue_{number}"] = plan_figures(
                f"requeue_due_attempts statement {number} (before the sweep)", statement, values
            )

    sweeps = []
    for repeat in range(args.sweep_repeats):
        if repeat:
            with timer.phase(f"reset_{repeat}"):
                reset_due(now)
        load_before = common.load_average()
        round_trip = round_trip_ms()
        with timer.phase(f"sweep_{repeat + 1}"):
            run = run_sweep(now=now, batch_size=batch_size)
        run["load_average"] = {"before": load_before, "after": common.load_average()}
        run["round_trip_ms_before"] = round_trip
        run["first_batch_sql_same_as_explained"] = run["first_batch_select"]["sql"] == sql
        run["check"] = {**check_after(now), "expected_escalated": seeded["due_cases"]}
        common.log(f"sweep: {json.dumps(run['report'])} in {run['seconds']:.2f} s")
        sweeps.append(run)

    with timer.phase("idle_sweeps"):
        idle = [run_sweep(now=now, batch_size=batch_size) for _ in range(args.idle_repeats)]
    round_trip_after = round_trip_ms()

    with timer.phase("explain_after"):
        last = sweeps[-1]["last_batch_select"]
        plans["batch_last"] = plan_figures(
            f"sweep batch select, last batch ({len(last['params'])} parameters, none due)",
            last["sql"],
            last["params"],
        )
        plans["batch_idle"] = plan_figures(
            "sweep batch select, idle sweep",
            idle[-1]["first_batch_select"]["sql"],
            idle[-1]["first_batch_select"]["params"],
        )
        for number, record in enumerate(idle[-1]["requeue_statements"], start=1):
            plans[f"requeue_idle_{number}"] = plan_figures(
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
        "server": common.server_settings(),
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
        "first_5": [common.ms(b["seconds"]) for b in batches[:5]],
        "last_5": [common.ms(b["seconds"]) for b in batches[-5:]],
    }
    figures["batch_select_ms_by_position"] = {
        "first_5": [common.ms(b["select_seconds"]) for b in batches[:5]],
        "last_5": [common.ms(b["select_seconds"]) for b in batches[-5:]],
    }
    figures["statements_per_full_batch"] = (
        statistics.median(b["statements"] for b in with_rows) if with_rows else None
    )
    return figures


def median_of(runs: list[dict[str, Any]], key: str) -> float | None:
    values = [run[key] for run in runs if run[key] is not None]
    return round(statistics.median(values), 3) if values else None


def build_result(
    measured: dict[str, Any], timer: common.Timer, code_before: dict[str, str]
) -> dict:
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
            "idle_sweep_ms_median": common.ms(statistics.median(run["seconds"] for run in idle)),
            "idle_sweep_queries": idle[0]["queries"],
            "round_trip_ms_median": sweeps[0]["round_trip_ms_before"]["median"],
        },
        "seq_scan_on_watched_tables": any(seq_scans.values()),
        "seq_scans": seq_scans,
        "plans": plans,
        "sweeps": sweeps,
        "idle_sweep": {
            "runs_ms": [common.ms(run["seconds"]) for run in idle],
            "median_ms": common.ms(statistics.median(run["seconds"] for run in idle)),
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
        "load_average_now": common.load_average(),
        "machine": machine(),
        "code": code_before,
        "code_changed_during_run": common.changed_files(code_before),
    }


def failed_checks(result: dict[str, Any]) -> list[str]:
    """What must hold after a run: every full sweep escalated exactly the D due cases
    (one event each, none left due, no error) with the batch select explained before,
    and the idle sweeps found nothing to act on."""
    failed = []
    for number, run in enumerate(result["sweeps"], start=1):
        check, report = run["check"], run["report"]
        expected = {
            "still due": (check["still_due"], 0),
            "escalated": (check["escalated_now"], check["expected_escalated"]),
            "escalation events": (check["escalation_events"], check["expected_escalated"]),
            "errors": (report["errors"], 0),
            "first batch select as explained": (run["first_batch_sql_same_as_explained"], True),
        }
        failed += [
            f"sweep {number}, {name}: {got}, expected {want}"
            for name, (got, want) in expected.items()
            if got != want
        ]
    idle = result["idle_sweep"]["report"]
    if idle["cases"] or idle["errors"]:
        failed.append(f"idle sweep acted on {idle['cases']} cases, {idle['errors']} errors")
    return failed


def main() -> None:
    args = parse_args()
    code_before = common.file_hashes(MEASURED_FILES)

    timer = common.Timer()
    with common.bench_database(args.database_url, script="sweep.py", keep=args.keep):
        measured = measure(args, timer)
    result = build_result(measured, timer, code_before)
    common.print_result(result, failed_checks(result))


if __name__ == "__main__":
    main()
