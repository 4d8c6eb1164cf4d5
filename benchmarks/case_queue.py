"""Times the specialist desk's queue page and the cases API list over N cases.

Seeds a fresh PostgreSQL database (all in SQL, so seeding is fast, with the shared
``_common.seed_cases``) with N cases, 10% of them open (``--open``), over N/20 sellers of
the US and CA stores, assigned over S on-duty specialists; then, as one specialist,
requests (median over --repeats, after a warm-up)

* the desk queue page, ``/desk/`` (my queue) and ``/desk/?scope=team`` (team queue),
  through Django's test Client, signed in with ``force_login``;
* the API list, ``/api/v1/cases/?assigned_to=<username>`` and ``/api/v1/cases/``, with
  the specialist's REST framework token;

timing the whole request and every SQL statement (``connection.execute_wrapper``). The
statements on ``cases_case`` are then run again under ``EXPLAIN (ANALYZE, BUFFERS)`` with
the same parameters; the plans go to stderr, their node types and indexes to the JSON.

    DATABASE_URL=postgres://postgres@127.0.0.1:55432/postgres \\
        .venv/bin/python benchmarks/case_queue.py --cases 1000000

Prints one JSON document on stdout; progress and plans go to stderr. The database is
dropped at the end unless --keep.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import sys
import time
import warnings
from collections import defaultdict
from typing import Any

import _common as common

SPECIALIST_PREFIX = "bench_specialist_"
# A sort over more input rows than this, under the LIMIT of a page, is worth an index.
SLOW_SORT_ROWS = 10_000
# A statement slower than this (median) is listed in the JSON's slow_statements.
SLOW_STATEMENT_MS = 10.0
# Statements as the JSON names them: one line, this long at most.
DIGEST_WIDTH = 300
# The open cases opened over the last 73 days (10% of the two years the closed ones
# span): every assigned specialist's queue mixes deadlines passed and to come.
OPEN_SPAN = dt.timedelta(days=73)


# The files on the measured path (their hashes tie the figures to the code): the
# view, selectors, API, models, forms and template of the queue.
MEASURED_FILES = (
    *[f"cases/{name}.py" for name in ("views", "selectors", "api", "models", "forms")],
    "templates/cases/queue.html",
)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=1_000_000, help="N cases")
    parser.add_argument(
        "--open", type=int, default=None, help="how many of them are open (default N/10)"
    )
    common.add_people_arguments(parser, specialists_help="S on-duty specialists the cases go to")
    parser.add_argument("--repeats", type=int, default=20, help="timed requests; the median")
    parser.add_argument("--warmup", type=int, default=2, help="untimed requests first")
    common.add_database_arguments(parser)
    args = parser.parse_args()
    if args.cases < 1 or args.specialists < 1 or args.repeats < 1 or args.warmup < 0:
        parser.error("--cases, --specialists, --repeats must be at least 1, --warmup 0")
    if args.open is None:
        args.open = args.cases // 10
    if not 0 <= args.open <= args.cases:
        parser.error("need 0 <= --open <= --cases")
    args.sellers = common.sellers_for(args.cases, args.sellers)
    return args


def seed(args: argparse.Namespace, *, now: dt.datetime) -> tuple[Any, str, dict[str, Any]]:
    """S on-duty specialists for US and CA, then the cases; returns the first specialist,
    their API token and what was seeded."""
    from rest_framework.authtoken.models import Token

    users = common.seed_specialists(args.specialists, prefix=SPECIALIST_PREFIX, desk=True)
    token = Token.objects.create(user=users[0])
    mix = common.CaseMix(
        cases=args.cases,
        open=args.open,
        sellers=args.sellers,
        seller_prefix="Q",
        open_span=OPEN_SPAN,
    )
    seeded = common.seed_cases(mix, now=now, specialists=[user.pk for user in users])
    return (
        users[0],
        token.key,
        {
            "cases": seeded["cases"],
            "open_cases": seeded["open_cases"],
            "by_status": seeded["by_status"],
            "cases_table_mb": seeded["tables_mb"][common.CASES],
            "database_mb": seeded["database_mb"],
            "cases_indexes_mb": seeded["indexes_mb"][common.CASES],
        },
    )


def specialist_counts(user) -> dict[str, int]:
    from cases.models import Case

    mine = Case.objects.filter(assigned_to=user)
    return {
        "cases": mine.count(),
        "open_cases": mine.filter(status__in=Case.OPEN_STATUSES).count(),
    }


class Scenario:
    """One URL requested by one client; the figures of every timed request."""

    def __init__(self, name: str, url: str, client) -> None:
        self.name = name
        self.url = url
        self.client = client
        self.request_seconds: list[float] = []
        self.sql_seconds: list[float] = []
        self.query_counts: list[int] = []
        self.statement_seconds: dict[tuple[int, str], list[float]] = defaultdict(list)
        self.last_records: list[tuple[str, str, float, Any]] = []
        self.status_code = 0
        self.response_bytes = 0

    def request(self, *, timed: bool) -> None:
        from django.db import connection

        recorder = common.StatementRecorder(keep_params=True)
        recorder.phase = self.name
        with connection.execute_wrapper(recorder):
            start = time.perf_counter()
            response = self.client.get(self.url)
            content = response.content  # the whole body, rendered
            seconds = time.perf_counter() - start
        if response.status_code != 200:
            sys.exit(f"{self.url} answered {response.status_code}: {content[:500]!r}")
        self.status_code = response.status_code
        self.response_bytes = len(content)
        self.last_records = recorder.records
        if not timed:
            return
        self.request_seconds.append(seconds)
        self.sql_seconds.append(sum(record[2] for record in recorder.records))
        self.query_counts.append(len(recorder.records))
        for position, (_phase, sql, statement_seconds, _params) in enumerate(recorder.records):
            self.statement_seconds[(position, common.sql_digest(sql, DIGEST_WIDTH))].append(
                statement_seconds
            )

    def figures(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "status": self.status_code,
            "response_bytes": self.response_bytes,
            "request_ms_median": common.ms(statistics.median(self.request_seconds)),
            "request_ms_min_max": [
                common.ms(min(self.request_seconds)),
                common.ms(max(self.request_seconds)),
            ],
            "sql_ms_median": common.ms(statistics.median(self.sql_seconds)),
            "queries": round(statistics.median(self.query_counts)),
            "queries_min_max": [min(self.query_counts), max(self.query_counts)],
            "statements": [
                {"sql": sql, "ms_median": common.ms(statistics.median(times))}
                for (_position, sql), times in sorted(self.statement_seconds.items())
            ],
        }


def plan_figures(title: str, sql: str, params: Any) -> dict[str, Any]:
    """``_common.explain`` of one statement, as this benchmark reports plans."""
    plan = common.explain(title, sql, params, width=DIGEST_WIDTH)
    kept = ("statement", "execution_ms", "planning_ms", "nodes", "node_types", "indexes")
    return {
        **{key: plan[key] for key in kept},
        "seq_scan_on_cases": common.CASES in plan["seq_scans"],
        "sorts": [{**sort, "slow": sort["rows_in"] > SLOW_SORT_ROWS} for sort in plan["sorts"]],
    }


def explain_scenario(scenario: Scenario) -> dict[str, Any]:
    """Every statement of the last request that reads cases_case, explained.

    The main SELECT is the page of rows (the one with a LIMIT); the others are the
    counts and aggregates around it.
    """
    explained = []
    for position, (_phase, sql, _seconds, params) in enumerate(scenario.last_records):
        if f'"{common.CASES}"' not in sql or not sql.lstrip().upper().startswith("SELECT"):
            continue
        role = "main" if " LIMIT " in sql.upper() else "other"
        times = scenario.statement_seconds[(position, common.sql_digest(sql, DIGEST_WIDTH))]
        explained.append(
            {
                "role": role,
                "position": position,
                "request_ms_median": common.ms(statistics.median(times)),
                **plan_figures(f"{scenario.name} ({role}, statement {position})", sql, params),
            }
        )
    return {
        "main": next((plan for plan in explained if plan["role"] == "main"), None),
        "others": [plan for plan in explained if plan["role"] != "main"],
    }


def failed_checks(args: argparse.Namespace, result: dict[str, Any]) -> list[str]:
    """What must hold after a run (every URL answered 200, or the run exited already):
    the cases seeded as asked, and each URL's page of rows found and explained."""
    failed = [
        f"{name}: {result[name]}, expected {want}"
        for name, want in (("cases", args.cases), ("open_cases", args.open))
        if result[name] != want
    ]
    failed += [
        f"{name}: no page of rows (a SELECT on {common.CASES} with a LIMIT) to explain"
        for name, figures in result["requests"].items()
        if figures["plans"]["main"] is None
    ]
    return failed


def main() -> None:
    args = parse_args()
    # Taken before Django imports the code and again at the end: files edited during a
    # run make its figures ambiguous.
    code_before = common.file_hashes(MEASURED_FILES)

    timer = common.Timer()
    with common.bench_database(args.database_url, script="case_queue.py", keep=args.keep):
        from django.core.management import call_command
        from django.test import Client
        from django.utils import timezone

        with timer.phase("migrate"):
            call_command("migrate", verbosity=0)
        now = timezone.now()
        with timer.phase("seeding"):
            user, token, seeded = seed(args, now=now)
        common.log(f"seeded: {json.dumps(seeded)}")
        mine = specialist_counts(user)

        # The test Client never closes the connection between requests (as with
        # CONN_MAX_AGE > 0 in production); DEBUG is off, so no query log either.
        desk = Client(SERVER_NAME="localhost")
        desk.force_login(user)
        api = Client(SERVER_NAME="localhost", headers={"authorization": f"Token {token}"})
        scenarios = [
            Scenario("desk_my_queue", "/desk/", desk),
            Scenario("desk_team_queue", "/desk/?scope=team", desk),
            Scenario("api_assigned_to_me", f"/api/v1/cases/?assigned_to={user.username}", api),
            Scenario("api_default", "/api/v1/cases/", api),
        ]
        # whitenoise's note that collectstatic has not run: nothing static is measured.
        warnings.filterwarnings("ignore", "No directory at", UserWarning)
        load_before = common.load_average()
        with timer.phase("requests"):
            for _ in range(args.warmup):
                for scenario in scenarios:
                    scenario.request(timed=False)
            # Round robin: a burst of load from elsewhere spreads over all the scenarios.
            for _ in range(args.repeats):
                for scenario in scenarios:
                    scenario.request(timed=True)
        load_after = common.load_average()
        with timer.phase("explain"):
            plans = {scenario.name: explain_scenario(scenario) for scenario in scenarios}
        settings_seen = common.server_settings()

    requests = {}
    for scenario in scenarios:
        figures = scenario.figures()
        figures["plans"] = plans[scenario.name]
        requests[scenario.name] = figures
    every_plan = [
        plan
        for scenario_plans in plans.values()
        for plan in [scenario_plans["main"], *scenario_plans["others"]]
        if plan
    ]
    result = {
        "cases": seeded["cases"],
        "open_cases": seeded["open_cases"],
        "specialists": args.specialists,
        "sellers": args.sellers,
        "repeats": args.repeats,
        "warmup": args.warmup,
        "specialist": {"username": user.username, **mine},
        "summary": {
            name: {
                "request_ms_median": figures["request_ms_median"],
                "sql_ms_median": figures["sql_ms_median"],
                "queries": figures["queries"],
                "main_select_ms": figures["plans"]["main"]["execution_ms"]
                if figures["plans"]["main"]
                else None,
                "main_select_nodes": figures["plans"]["main"]["nodes"]
                if figures["plans"]["main"]
                else None,
            }
            for name, figures in requests.items()
        },
        "index_names_used": sorted({index for plan in every_plan for index in plan["indexes"]}),
        "seq_scan_on_cases": any(plan["seq_scan_on_cases"] for plan in every_plan),
        "seq_scans_on_cases_in": [
            f"{name} ({plan['role']})"
            for name, scenario_plans in plans.items()
            for plan in [scenario_plans["main"], *scenario_plans["others"]]
            if plan and plan["seq_scan_on_cases"]
        ],
        "slow_sorts_in": [
            f"{name} ({plan['role']}): {sort['rows_in']} rows, {sort['method']}"
            for name, scenario_plans in plans.items()
            for plan in [scenario_plans["main"], *scenario_plans["others"]]
            if plan
            for sort in plan["sorts"]
            if sort["slow"]
        ],
        # Every statement slower than SLOW_STATEMENT_MS (median of the timed requests).
        "slow_statements": [
            {"request": name, "ms_median": statement["ms_median"], "sql": statement["sql"]}
            for name, figures in requests.items()
            for statement in figures["statements"]
            if statement["ms_median"] > SLOW_STATEMENT_MS
        ],
        "requests": requests,
        "seed": seeded,
        "seconds": {name: round(value, 3) for name, value in timer.seconds.items()},
        "server": settings_seen,
        # 1-, 5- and 15-minute load averages around the timed requests (shared cores).
        "load_average": {"before": load_before, "after": load_after, "cpus": os.cpu_count()},
        "code": code_before,
        "code_changed_during_run": common.changed_files(code_before),
        "python": platform.python_version(),
    }
    common.print_result(result, failed_checks(args, result))


if __name__ == "__main__":
    main()
