"""Times the specialist desk's queue page and the cases API list over N cases.

Seeds a fresh PostgreSQL database (all in SQL, so seeding is fast) with N cases, 10% of
them open, over N/20 sellers of the US and CA stores, assigned over S on-duty
specialists; then, as one specialist, requests (median over --repeats, after a warm-up)

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
import re
import statistics
import sys
import time
import warnings
from collections import defaultdict
from typing import Any

from _common import (
    StatementRecorder,
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
SPECIALIST_PREFIX = "bench_specialist_"
# A sort over more input rows than this, under the LIMIT of a page, is worth an index.
SLOW_SORT_ROWS = 10_000
# A statement slower than this (median) is listed in the JSON's slow_statements.
SLOW_STATEMENT_MS = 10.0

# One row per case, in the order cases open (the heap order production produces). Every
# "random" choice is a hash of the case number, so two runs seed the same data.
# Open cases (2 in 3 of the newest 15%, so 10% of all) spread 20/30/50 over opened,
# contacted and in_remediation; the older ones are resolved (85%) or escalated (15%).
# 80% are assured (reach_deadline = opened_at + 72 h); 90% came from upstream.
CASES_INSERT = """
INSERT INTO cases_case (
    seller_id, policy_area, severity, summary, evidence, upstream_id, assured,
    assigned_to_id, status, opened_at, reach_deadline, first_attempt_at, contacted_at,
    sla_met, remediation_started_at, resolved_at, resolution_reason, escalated_at,
    escalation_reason, escalation_note, reinstated_at, last_seller_activity_at, updated_at)
SELECT
    %(first_seller)s + h.seller_pick %% %(sellers)s,
    (%(areas)s::text[])[1 + h.area_pick %% cardinality(%(areas)s::text[])],
    (%(severities)s::text[])[1 + h.severity_pick %% cardinality(%(severities)s::text[])],
    'Bench case ' || g.i,
    '',
    CASE WHEN h.upstream_pick %% 10 <> 0 THEN 'bench-' || g.i END,
    h.assured_pick %% 5 <> 0,
    (%(specialists)s::bigint[])[1 + h.specialist_pick %% cardinality(%(specialists)s::bigint[])],
    s.status,
    g.opened_at,
    CASE WHEN h.assured_pick %% 5 <> 0 THEN g.opened_at + interval '72 hours' END,
    CASE WHEN s.status <> 'opened' OR h.attempt_pick %% 2 = 0
        THEN least(g.opened_at + h.attempt_pick %% 7200 * interval '1 second', %(now)s) END,
    t.contacted_at,
    CASE WHEN t.contacted_at IS NOT NULL
        THEN h.assured_pick %% 5 = 0 OR t.contacted_at <= g.opened_at + interval '72 hours' END,
    t.remediation_started_at,
    t.resolved_at,
    CASE WHEN s.status = 'resolved' THEN 'Plan done.' ELSE '' END,
    t.escalated_at,
    CASE WHEN s.status = 'escalated' THEN 'unreachable' ELSE '' END,
    '',
    NULL,
    coalesce(t.remediation_started_at, t.contacted_at),
    coalesce(t.resolved_at, t.escalated_at, t.remediation_started_at, t.contacted_at, g.opened_at)
FROM (
    SELECT i, %(now)s::timestamptz
              - (%(n)s - i)::float8 / %(n)s * interval '730 days' AS opened_at
    FROM generate_series(1, %(n)s) AS i
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
CROSS JOIN LATERAL (
    SELECT CASE
        WHEN g.i > %(n)s - %(open_window)s AND g.i %% 3 <> 0 THEN
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
                     THEN least(g.opened_at + h.attempt_pick %% 288000 * interval '1 second',
                                %(now)s)
                 END AS contacted_at) c
    CROSS JOIN LATERAL (
        SELECT CASE WHEN s.status IN ('in_remediation', 'resolved')
                   THEN least(c.contacted_at + interval '1 day', %(now)s)
               END AS remediation_started_at) r
) t
ORDER BY g.i
"""


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=1_000_000, help="N cases (10%% open)")
    parser.add_argument(
        "--specialists", type=int, default=50, help="S on-duty specialists the cases go to"
    )
    parser.add_argument(
        "--sellers", type=int, default=None, help="sellers the cases belong to (default N/20)"
    )
    parser.add_argument("--repeats", type=int, default=20, help="timed requests; the median")
    parser.add_argument("--warmup", type=int, default=2, help="untimed requests first")
    parser.add_argument(
        "--database-url",
        default=None,
        help="postgres://user@host:port/maintenance_db (default: $DATABASE_URL)",
    )
    parser.add_argument("--keep", action="store_true", help="do not drop the database")
    args = parser.parse_args()
    if args.cases < 1 or args.specialists < 1 or args.repeats < 1 or args.warmup < 0:
        parser.error("--cases, --specialists, --repeats must be at least 1, --warmup 0")
    if args.sellers is None:
        args.sellers = max(args.cases // 20, 1)
    return args


def seed_people(*, specialists: int) -> tuple[Any, str]:
    """S specialists on duty for US and CA; returns the first user and their API token."""
    from django.contrib.auth.models import Group
    from rest_framework.authtoken.models import Token

    from accounts.models import User
    from accounts.roles import Role
    from cases.models import Specialist
    from sellers.models import Store

    users = []
    for number in range(1, specialists + 1):
        user = User(
            username=f"{SPECIALIST_PREFIX}{number:03}",
            first_name="Bench",
            last_name=f"Specialist {number}",
            email=f"{SPECIALIST_PREFIX}{number:03}@example.com",
            is_staff=True,
        )
        user.set_unusable_password()
        users.append(user)
    users = User.objects.bulk_create(users)
    group = Group.objects.get(name=Role.SPECIALIST)
    User.groups.through.objects.bulk_create(
        User.groups.through(user_id=user.pk, group_id=group.pk) for user in users
    )
    desk = Specialist.objects.bulk_create(
        Specialist(user=user, on_duty=True, time_zone="America/New_York") for user in users
    )
    stores = list(Store.objects.filter(code__in=["US", "CA"]))
    Specialist.stores.through.objects.bulk_create(
        Specialist.stores.through(specialist_id=specialist.pk, store_id=store.pk)
        for specialist in desk
        for store in stores
    )
    token = Token.objects.create(user=users[0])
    return users[0], token.key


def seed_cases(*, cases: int, sellers: int, now: dt.datetime) -> dict[str, Any]:
    """Sellers (4 in 5 of the US store, the rest CA) and N cases, then VACUUM (ANALYZE)."""
    from django.db import connection

    from accounts.models import User
    from sellers.models import PolicyArea, Severity, Store

    stores = dict(Store.objects.filter(code__in=["US", "CA"]).values_list("code", "pk"))
    specialist_ids = list(
        User.objects.filter(username__startswith=SPECIALIST_PREFIX)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    # 10% critical, 30% high, 40% medium, 20% low.
    severities = [
        *[Severity.CRITICAL] * 1,
        *[Severity.HIGH] * 3,
        *[Severity.MEDIUM] * 4,
        *[Severity.LOW] * 2,
    ]
    with connection.cursor() as cursor:
        cursor.execute(
            """INSERT INTO sellers_seller (seller_id, name, store_id, account_type, email,
                    created_at, updated_at)
               SELECT 'Q' || lpad(i::text, 8, '0'), 'Bench seller ' || i,
                    CASE WHEN i %% 5 = 0 THEN %(ca)s ELSE %(us)s END,
                    'professional', '', %(now)s, %(now)s
               FROM generate_series(1, %(n)s) AS i ORDER BY i""",
            {"ca": stores["CA"], "us": stores["US"], "n": sellers, "now": now},
        )
        cursor.execute(
            "SELECT min(id) FROM sellers_seller WHERE seller_id LIKE %(prefix)s", {"prefix": "Q%"}
        )
        first_seller = cursor.fetchone()[0]
        # Load without the plain indexes, then build them as the migrations made them:
        # faster than maintaining them row by row. Constraints and their indexes stay.
        cursor.execute(
            """SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %(t)s
               AND indexname NOT IN (SELECT conname FROM pg_constraint
                                     WHERE conrelid = %(t)s::regclass)""",
            {"t": CASES},
        )
        indexes = cursor.fetchall()
        for name, _definition in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
        cursor.execute(
            CASES_INSERT,
            {
                "n": cases,
                "open_window": round(cases * 0.15),
                "now": now,
                "first_seller": first_seller,
                "sellers": sellers,
                "specialists": specialist_ids,
                "areas": list(PolicyArea.values),
                "severities": [str(value) for value in severities],
            },
        )
        cursor.execute("SET maintenance_work_mem = '512MB'")
        for _name, definition in indexes:
            cursor.execute(definition)
        cursor.execute("RESET maintenance_work_mem")
        for table in (
            "sellers_store",
            "sellers_seller",
            CASES,
            "accounts_user",
            "cases_specialist",
        ):
            cursor.execute(f"VACUUM (ANALYZE) {table}")
        cursor.execute(
            f"""SELECT count(*), count(*) FILTER (WHERE status IN
                        ('opened', 'contacted', 'in_remediation')),
                    pg_total_relation_size('{CASES}'), pg_database_size(current_database())
                FROM {CASES}"""
        )
        total, open_cases, table_bytes, database_bytes = cursor.fetchone()
        cursor.execute(
            f"SELECT status, count(*) FROM {CASES} GROUP BY status ORDER BY count(*) DESC"
        )
        by_status = dict(cursor.fetchall())
        cursor.execute(
            f"""SELECT indexrelid::regclass::text,
                    pg_relation_size(indexrelid) / 1048576
                FROM pg_index WHERE indrelid = '{CASES}'::regclass ORDER BY 1"""
        )
        index_mb = dict(cursor.fetchall())
    return {
        "cases": total,
        "open_cases": open_cases,
        "by_status": by_status,
        "cases_table_mb": round(table_bytes / 2**20),
        "database_mb": round(database_bytes / 2**20),
        "cases_indexes_mb": index_mb,
    }


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

        recorder = StatementRecorder(keep_params=True)
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
            self.statement_seconds[(position, sql_digest(sql))].append(statement_seconds)

    def figures(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "status": self.status_code,
            "response_bytes": self.response_bytes,
            "request_ms_median": ms(statistics.median(self.request_seconds)),
            "request_ms_min_max": [ms(min(self.request_seconds)), ms(max(self.request_seconds))],
            "sql_ms_median": ms(statistics.median(self.sql_seconds)),
            "queries": round(statistics.median(self.query_counts)),
            "queries_min_max": [min(self.query_counts), max(self.query_counts)],
            "statements": [
                {"sql": sql, "ms_median": ms(statistics.median(times))}
                for (_position, sql), times in sorted(self.statement_seconds.items())
            ],
        }


def sql_digest(sql: str, width: int = 300) -> str:
    """One line, a long list of columns cut to "SELECT ... FROM": what the statement reads."""
    line = sql_one_line(sql, 100_000)
    columns = re.match(r"SELECT (.{60,}?) FROM ", line)
    if columns and "(" not in columns.group(1):
        line = f"SELECT ... FROM {line[columns.end() :]}"
    return line[:width]


def ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


def plan_nodes(node: dict[str, Any]) -> list[dict[str, Any]]:
    """The nodes of a JSON plan, depth first."""
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


def explain(sql: str, params: Any) -> dict[str, Any]:
    """EXPLAIN (ANALYZE, BUFFERS) of one statement, as text (stderr) and as a summary."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {sql}", params)
        document = cursor.fetchone()[0]
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", params)
        text = [line for (line,) in cursor.fetchall()]
        # The statement with its parameters inlined, ready for psql.
        raw = cursor.cursor
        literal = raw.mogrify(sql, params) if hasattr(raw, "mogrify") else f"{sql} -- {params!r}"
    if isinstance(document, str):
        document = json.loads(document)
    top = document[0]
    nodes = plan_nodes(top["Plan"])
    sorts = []
    for node in nodes:
        if node["Node Type"] not in {"Sort", "Incremental Sort"}:
            continue
        rows_in = node["Plans"][0]["Actual Rows"] * node["Plans"][0].get("Actual Loops", 1)
        sorts.append(
            {
                "node": node["Node Type"],
                "key": node.get("Sort Key"),
                "method": node.get("Sort Method"),
                "rows_in": rows_in,
                "ms": round(node["Actual Total Time"], 2),
                "slow": rows_in > SLOW_SORT_ROWS,
            }
        )
    return {
        "statement": sql_digest(sql),
        "execution_ms": round(top["Execution Time"], 2),
        "planning_ms": round(top["Planning Time"], 2),
        "nodes": [node_label(node) for node in nodes],
        "node_types": sorted({node["Node Type"] for node in nodes}),
        "indexes": sorted({node["Index Name"] for node in nodes if "Index Name" in node}),
        "seq_scan_on_cases": any(
            node["Node Type"] == "Seq Scan" and node.get("Relation Name") == CASES for node in nodes
        ),
        "sorts": sorts,
        "text": text,
        "literal_sql": literal,
    }


def explain_scenario(scenario: Scenario) -> dict[str, Any]:
    """Every statement of the last request that reads cases_case, explained.

    The main SELECT is the page of rows (the one with a LIMIT); the others are the
    counts and aggregates around it.
    """
    explained = []
    for position, (_phase, sql, _seconds, params) in enumerate(scenario.last_records):
        if f'"{CASES}"' not in sql or not sql.lstrip().upper().startswith("SELECT"):
            continue
        plan = {
            "role": "main" if " LIMIT " in sql.upper() else "other",
            "position": position,
            "request_ms_median": ms(
                statistics.median(scenario.statement_seconds[(position, sql_digest(sql))])
            ),
            **explain(sql, params),
        }
        explained.append(plan)
        print(
            f"\n=== {scenario.name} ({plan['role']}, statement {position}):",
            plan.pop("literal_sql"),
            *plan.pop("text"),
            sep="\n",
            file=sys.stderr,
        )
    return {
        "main": next((plan for plan in explained if plan["role"] == "main"), None),
        "others": [plan for plan in explained if plan["role"] != "main"],
    }


def code_fingerprint() -> dict[str, str]:
    """Short hashes of the files on the measured path: the code changes between runs."""
    return file_hashes(
        (
            "cases/views.py",
            "cases/selectors.py",
            "cases/api.py",
            "cases/models.py",
            "cases/forms.py",
            "templates/cases/queue.html",
        )
    )


def main() -> None:
    args = parse_args()
    # Taken before Django imports the code and again at the end: files edited during a
    # run make its figures ambiguous.
    code_before = code_fingerprint()
    maintenance_url, bench_url, name = database_urls(args.database_url, script="case_queue.py")

    timer = Timer()
    create_database(maintenance_url, name)
    log(f"created database {name}")
    try:
        django_setup(bench_url)
        from django.core.management import call_command
        from django.db import connections
        from django.test import Client
        from django.utils import timezone

        with timer.phase("migrate"):
            call_command("migrate", verbosity=0)
        now = timezone.now()
        with timer.phase("seeding"):
            user, token = seed_people(specialists=args.specialists)
            seeded = seed_cases(cases=args.cases, sellers=args.sellers, now=now)
        log(f"seeded: {json.dumps(seeded)}")
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
        load_before = os.getloadavg()
        with timer.phase("requests"):
            for _ in range(args.warmup):
                for scenario in scenarios:
                    scenario.request(timed=False)
            # Round robin: a burst of load from elsewhere spreads over all the scenarios.
            for _ in range(args.repeats):
                for scenario in scenarios:
                    scenario.request(timed=True)
        load_after = os.getloadavg()
        with timer.phase("explain"):
            plans = {scenario.name: explain_scenario(scenario) for scenario in scenarios}
        settings_seen = server_settings()
        connections.close_all()
    finally:
        if args.keep:
            log(f"kept database {name}")
        else:
            from django.db import connections

            connections.close_all()
            drop_database(maintenance_url, name)
            log(f"dropped database {name}")

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
        "load_average": {
            "before": [round(value, 2) for value in load_before],
            "after": [round(value, 2) for value in load_after],
            "cpus": os.cpu_count(),
        },
        "code": code_before,
        "code_changed_during_run": sorted(
            name for name, digest in code_fingerprint().items() if code_before[name] != digest
        ),
        "python": platform.python_version(),
    }
    print(json.dumps(result, indent=2, default=str))


if __name__ == "__main__":
    main()
