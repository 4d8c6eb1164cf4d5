"""What the benchmark scripts share: a throwaway PostgreSQL database, Django, timers,
the seeders and the EXPLAIN helper.

Each script creates a database of its own (``aha_bench_<pid>``) on the server named by
DATABASE_URL/--database-url, points Django at it, migrates, measures, and drops it at
the end (``bench_database``). Progress goes to stderr (``log``); the figures go to
stdout as one JSON document.

Seeding is set-based SQL over ``generate_series``: ``seed_specialists`` (users, and
their desk profiles), ``seed_sellers`` (sellers with callable emergency contacts) and
``seed_cases`` (the cases of a ``CaseMix``: how many, how many open and past their
deadline, the status, severity and store mix; optionally their "opened" events and the
outreach attempts made so far). ``explain`` runs one statement under
``EXPLAIN (ANALYZE, BUFFERS)`` in a transaction rolled back and sums up its plan.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import re
import sys
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
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


def add_database_arguments(parser: argparse.ArgumentParser) -> None:
    """--database-url and --keep, as every benchmark takes them."""
    parser.add_argument(
        "--database-url",
        default=None,
        help="postgres://user@host:port/maintenance_db (default: $DATABASE_URL)",
    )
    parser.add_argument("--keep", action="store_true", help="do not drop the database")


def add_people_arguments(parser: argparse.ArgumentParser, *, specialists_help: str) -> None:
    """--sellers (default: set by ``sellers_for`` to N/20) and --specialists."""
    parser.add_argument(
        "--sellers", type=int, default=None, help="sellers the cases belong to (default N/20)"
    )
    parser.add_argument("--specialists", type=int, default=50, help=specialists_help)


def sellers_for(cases: int, sellers: int | None) -> int:
    """The sellers asked for, else one seller for every 20 cases."""
    return sellers if sellers is not None else max(cases // 20, 1)


@contextmanager
def bench_database(given_url: str | None, *, script: str, keep: bool) -> Iterator[str]:
    """A fresh database on the server of ``given_url``/DATABASE_URL, Django pointed at it.

    Yields its name; closes Django's connections and drops it at the end (unless
    ``keep``), whatever happened.
    """
    maintenance_url, bench_url, name = database_urls(given_url, script=script)
    create_database(maintenance_url, name)
    log(f"created database {name}")
    try:
        django_setup(bench_url)
        yield name
    finally:
        # DROP ... WITH (FORCE) ends any connection left; this is only the polite way,
        # and must not hide why a run failed (Django may not even be set up).
        with suppress(Exception):
            from django.db import connections

            connections.close_all()
        if keep:
            log(f"kept database {name}")
        else:
            drop_database(maintenance_url, name)
            log(f"dropped database {name}")


def print_result(result: dict[str, Any], failed_checks: list[str]) -> None:
    """Prints the figures on stdout as one JSON document, ``failed_checks`` in it; then
    exits with status 1 when a check failed (the run's figures measured something broken).

    ``tests/benchmarks`` runs every script at a tiny size in ``make test`` and relies on
    the status and on ``failed_checks``.
    """
    result["failed_checks"] = failed_checks
    print(json.dumps(result, indent=2, default=str), flush=True)
    if failed_checks:
        sys.exit("checks failed: " + "; ".join(failed_checks))


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


def load_average() -> list[float]:
    """1-, 5- and 15-minute load averages: the cores are shared with other work."""
    return [round(value, 2) for value in os.getloadavg()]


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


def file_hashes(files: Iterable[str]) -> dict[str, str]:
    """Short hashes of the files on the measured path: the code changes between runs.

    A module that became a package (``cases/outreach.py`` -> ``cases/outreach/``) is
    hashed over its ``.py`` files, under the name given; a file gone is "missing".
    """
    hashes = {}
    for name in files:
        path = ROOT / name
        package = path.with_suffix("")
        digest = hashlib.sha256()
        if path.is_file():
            digest.update(path.read_bytes())
        elif path.suffix == ".py" and package.is_dir():
            for part in sorted(package.rglob("*.py")):
                digest.update(part.relative_to(package).as_posix().encode())
                digest.update(part.read_bytes())
        else:
            hashes[name] = "missing"
            continue
        hashes[name] = digest.hexdigest()[:12]
    return hashes


def changed_files(before: dict[str, str]) -> list[str]:
    """The files of ``before`` (``file_hashes`` taken at the start) edited since."""
    now = file_hashes(before)
    return sorted(name for name, digest in now.items() if before[name] != digest)


# --- Plans -----------------------------------------------------------------------------


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


def _key_line(line: str) -> bool:
    """The lines of a text plan to read first: nodes, conditions, sort keys, times."""
    return (
        "->" in line
        or line.lstrip().startswith(("Limit", "LockRows", "Update", "Index", "Sort"))
        or "Index Cond" in line
        or "Filter" in line
        or "Sort Key" in line
        or "Presorted" in line
        or "Time:" in line
    )


def explain(title: str, sql: str, params: Any, *, width: int = 600) -> dict[str, Any]:
    """EXPLAIN (ANALYZE, BUFFERS) of one statement, in transactions rolled back after.

    Runs it twice, for the JSON plan and for the text; the text goes to stderr under
    ``title`` with the statement (parameters inlined, ready for psql). Returns the sum
    of the plan: ``statement`` (``sql_digest`` to ``width``), ``parameters`` (how many),
    ``execution_ms``, ``planning_ms``, ``nodes`` (labels, depth first), ``node_types``,
    ``indexes``, ``seq_scans`` (the relations read so), ``sorts`` (each sort node, its
    key, method, input rows and time) and ``text`` (the key lines of the text plan).
    Each benchmark keeps the parts it reports.
    """
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {sql}", params)
        document = cursor.fetchone()[0]
        transaction.set_rollback(True)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", params)
        text = [line for (line,) in cursor.fetchall()]
        raw = cursor.cursor
        literal = raw.mogrify(sql, params) if hasattr(raw, "mogrify") else f"{sql} -- {params!r}"
        transaction.set_rollback(True)
    if isinstance(document, str):
        document = json.loads(document)
    if isinstance(literal, bytes):
        literal = literal.decode()
    if len(literal) > 3000:
        literal = f"{literal[:1500]} ... {literal[-1000:]}  -- {len(literal)} characters in all"
    print(f"\n=== {title}:", literal, *text, sep="\n", file=sys.stderr)
    top = document[0]
    nodes = plan_nodes(top["Plan"])
    sorts = []
    for node in nodes:
        if node["Node Type"] not in {"Sort", "Incremental Sort"}:
            continue
        child = node["Plans"][0]
        sorts.append(
            {
                "node": node["Node Type"],
                "key": node.get("Sort Key"),
                "method": node.get("Sort Method"),
                "rows_in": child["Actual Rows"] * child.get("Actual Loops", 1),
                "ms": round(node["Actual Total Time"], 2),
            }
        )
    return {
        "statement": sql_digest(sql, width),
        "parameters": len(params or ()),
        "execution_ms": round(top["Execution Time"], 2),
        "planning_ms": round(top["Planning Time"], 2),
        "nodes": [node_label(node) for node in nodes],
        "node_types": sorted({node["Node Type"] for node in nodes}),
        "indexes": sorted({node["Index Name"] for node in nodes if "Index Name" in node}),
        "seq_scans": sorted(
            {node.get("Relation Name", "?") for node in nodes if node["Node Type"] == "Seq Scan"}
        ),
        "sorts": sorts,
        "text": [line.rstrip() for line in text if _key_line(line)],
    }


# --- Seeding ---------------------------------------------------------------------------

CASES = "cases_case"
EVENTS = "cases_caseevent"
ATTEMPTS = "notifications_contactattempt"
# Kept by the Specialist model in staff (Meta db_table), so raw SQL reads the same.
SPECIALISTS = "cases_specialist"
Mix = tuple[tuple[str, int], ...]


def weighted(mix: Mix) -> list[str]:
    """``(("a", 2), ("b", 3))`` -> ``["a", "a", "b", "b", "b"]``: a hash modulo its length
    picks each value with its weight."""
    return [value for value, weight in mix for _ in range(weight)]


def plain_indexes(cursor, table: str) -> list[tuple[str, str]]:
    """The indexes of ``table`` that back no constraint: dropped during a load."""
    cursor.execute(
        """SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %(t)s
           AND indexname NOT IN (SELECT conname FROM pg_constraint
                                 WHERE conrelid = %(t)s::regclass)""",
        {"t": table},
    )
    return cursor.fetchall()


def seed_specialists(
    count: int, *, prefix: str, desk: bool, stores: tuple[str, ...] = ("US", "CA")
) -> list[Any]:
    """``count`` staff users ``<prefix>001``...; with ``desk``, each in the specialists
    group with an on-duty ``Specialist`` profile serving ``stores``. Returns the users."""
    from django.contrib.auth.models import Group

    from accounts.models import User
    from accounts.roles import Role
    from sellers.models import Store
    from staff.models import Specialist

    users = []
    for number in range(1, count + 1):
        user = User(
            username=f"{prefix}{number:03}",
            first_name="Bench",
            last_name=f"Specialist {number}",
            email=f"{prefix}{number:03}@example.com",
            is_staff=True,
        )
        user.set_unusable_password()
        users.append(user)
    users = User.objects.bulk_create(users)
    if not desk:
        return users
    group = Group.objects.get(name=Role.SPECIALIST)
    User.groups.through.objects.bulk_create(
        User.groups.through(user_id=user.pk, group_id=group.pk) for user in users
    )
    profiles = Specialist.objects.bulk_create(
        Specialist(user=user, on_duty=True, time_zone="America/New_York") for user in users
    )
    served = list(Store.objects.filter(code__in=stores))
    Specialist.stores.through.objects.bulk_create(
        Specialist.stores.through(specialist_id=profile.pk, store_id=store.pk)
        for profile in profiles
        for store in served
    )
    return users


def seed_sellers(
    count: int,
    *,
    prefix: str,
    now: dt.datetime,
    stores: Mix = (("US", 4), ("CA", 1)),
    emails: bool = False,
) -> int:
    """``count`` professional sellers ``<prefix>00000001``..., returns the first one's id.

    Seller i is in the store ``weighted(stores)[(i - 1) % len]`` (the default: every
    fifth in CA, the rest US); with ``emails``, ``seller<i>@example.com``, else none.
    Each gets a verified, callable emergency contact, +1 212 200-0000 upward (valid US
    numbers).
    """
    from django.db import connection

    from sellers.models import Store

    codes = weighted(stores)
    ids = dict(Store.objects.filter(code__in=set(codes)).values_list("code", "pk"))
    with connection.cursor() as cursor:
        cursor.execute(
            """INSERT INTO sellers_seller (seller_id, name, store_id, account_type, email,
                    created_at, updated_at)
               SELECT %(prefix)s || lpad(i::text, 8, '0'), 'Bench seller ' || i,
                    (%(stores)s::bigint[])[1 + (i - 1) %% cardinality(%(stores)s::bigint[])],
                    'professional',
                    CASE WHEN %(emails)s THEN 'seller' || i || '@example.com' ELSE '' END,
                    %(now)s, %(now)s
               FROM generate_series(1, %(n)s) AS i ORDER BY i""",
            {
                "prefix": prefix,
                "stores": [ids[code] for code in codes],
                "emails": emails,
                "n": count,
                "now": now,
            },
        )
        cursor.execute(
            "SELECT min(id) FROM sellers_seller WHERE seller_id LIKE %(prefix)s",
            {"prefix": f"{prefix}%"},
        )
        first = cursor.fetchone()[0]
        cursor.execute(
            """INSERT INTO sellers_emergencycontact (seller_id, phone, verified_at,
                    verified_by, updated_at, callable)
               SELECT s.id, '+1212' || lpad((2000000 + s.id %% 8000000)::text, 7, '0'),
                    %(now)s, 'upstream', %(now)s, TRUE
               FROM sellers_seller s WHERE s.id >= %(first)s ORDER BY s.id""",
            {"now": now, "first": first},
        )
    return first


@dataclass(frozen=True)
class CaseMix:
    """What ``seed_cases`` makes: N cases, O of them open, D of those due.

    In heap order (the order cases open, as production writes them):

    - the N - O closed cases, opened over ``closed_span`` before the open ones (before
      the due ones' hour when there are some), ``closed_statuses`` by weight (default
      85% ``resolved``, 15% ``escalated`` at the deadline), no timer;
    - the D **due** cases: assured, ``opened``, outreach started, 5 call rounds and 2
      warnings made, opened 73 to 72 hours before ``now``, so their 72-hour deadline
      passed within the last hour and ``next_action_at = reach_deadline``;
    - the O - D other open cases, opened over the last ``open_span``,
      ``open_statuses`` by weight (default 20/30/50 ``opened``/``contacted``/
      ``in_remediation``), their timers spread evenly over the next 72 hours.

    Every other choice is a hash of the case number, so runs seed the same data: 80%
    of the cases not due are assured (``reach_deadline = opened_at + 72 h``); seller,
    assignee (evenly over the specialists), policy area and severity (``severities``
    by weight: 10% critical, 30% high, 40% medium, 20% low) by hash; 90% came from
    upstream; contact, plan, resolution and escalation times consistent with the
    status (contacted up to 80 hours after opening, so some missed the deadline).

    The sellers (``sellers``, default N/20, ``seller_prefix``) are spread over
    ``stores`` by weight (default 4 in 5 US, the rest CA), each with an email and a
    callable emergency contact. With ``events``, each case's "opened" event; with
    ``attempts``, the outreach made so far (one sent email a case, one unanswered call
    a call round) and ``in_flight`` deliveries on the newest opened cases: ``sending``
    (claimed 30 s ago), ``retrying`` (pending, due in the next minutes after a Twilio
    503) and ``lost`` (pending, due and queued 10 minutes ago).
    """

    cases: int
    open: int
    due: int = 0
    sellers: int | None = None
    seller_prefix: str = "S"
    stores: Mix = (("US", 4), ("CA", 1))
    open_statuses: Mix = (("opened", 2), ("contacted", 3), ("in_remediation", 5))
    closed_statuses: Mix = (("resolved", 85), ("escalated", 15))
    severities: Mix = (("critical", 1), ("high", 3), ("medium", 4), ("low", 2))
    open_span: dt.timedelta = dt.timedelta(hours=72)
    closed_span: dt.timedelta = dt.timedelta(days=730)
    events: bool = False
    attempts: bool = False
    in_flight: dict[str, int] = field(
        default_factory=lambda: {"sending": 0, "retrying": 0, "lost": 0}
    )

    def __post_init__(self) -> None:
        if not 0 <= self.due <= self.open <= self.cases:
            raise ValueError(f"need 0 <= due <= open <= cases, got {self}")

    @property
    def seller_count(self) -> int:
        return sellers_for(self.cases, self.sellers)


# One row per case, in the order cases open (see CaseMix): the closed cases, then the
# due ones, then the other open ones. Every "random" choice is a hash of the case number.
CASES_INSERT = """
INSERT INTO cases_case (
    seller_id, kind, policy_area, severity, summary, evidence, upstream_id, assured,
    assigned_to_id, status, opened_at, reach_deadline, first_attempt_at, contacted_at,
    sla_met, remediation_started_at, resolved_at, resolution_reason, escalated_at,
    escalation_reason, escalation_note, reinstated_at, last_seller_activity_at,
    next_action_at, outreach_started_at, call_rounds, deadline_warnings,
    inactivity_warned_at, updated_at)
SELECT
    %(first_seller)s + h.seller_pick %% %(sellers)s,
    'critical_policy',
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
    CASE g.kind
        WHEN 'due' THEN g.opened_at + interval '72 hours'
        WHEN 'open' THEN %(now)s::timestamptz
            + (g.i - %(closed)s - %(due)s)::float8 / %(later_div)s * interval '72 hours'
    END,
    g.opened_at,
    CASE WHEN g.kind = 'due' THEN 5 ELSE 1 END,
    CASE WHEN g.kind = 'due' THEN 2 ELSE 0 END,
    NULL,
    coalesce(t.resolved_at, t.escalated_at, t.remediation_started_at, t.contacted_at, g.opened_at)
FROM (
    SELECT i, k.kind,
        CASE k.kind
            WHEN 'closed' THEN %(closed_end)s::timestamptz
                - (%(closed)s - i)::float8 / %(closed_div)s * %(closed_span)s::interval
            WHEN 'due' THEN %(now)s::timestamptz - interval '73 hours'
                + (i - %(closed)s - 0.5)::float8 / %(due_div)s * interval '1 hour'
            ELSE %(now)s::timestamptz - %(open_span)s::interval
                + (i - %(closed)s - %(due)s)::float8 / %(later_div)s * %(open_span)s::interval
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
    SELECT CASE g.kind
        WHEN 'due' THEN 'opened'
        WHEN 'open' THEN (%(open_statuses)s::text[])[
            1 + h.status_pick %% cardinality(%(open_statuses)s::text[])]
        ELSE (%(closed_statuses)s::text[])[
            1 + h.status_pick %% cardinality(%(closed_statuses)s::text[])]
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
# (sent) and one unanswered call per call round; then the deliveries in flight on the
# newest opened cases (see CaseMix). An attempt names its case through the generic link
# (subject_type = the ContentType of cases.Case, subject_id = the case id); what it says
# (subject, body, TwiML route) is left empty, the benchmarks never send it.
ATTEMPTS_INSERT = """
INSERT INTO notifications_contactattempt (subject_type_id, subject_id, channel, purpose,
    destination, language, email_subject, body, html_body, twiml_route, provider_id,
    status, history, outcome, answered_by, error, tries, next_try_at, enqueued_at,
    claimed_at, sent_at, connected_at, created_at, updated_at)
SELECT %(case_type)s, case_id, channel, 'outreach', destination, 'en', '', '', '', '',
    provider_id, status,
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

# Read by the benchmarks: vacuumed and analyzed after a load.
SEEDED_TABLES = (
    "sellers_store",
    "sellers_seller",
    "sellers_emergencycontact",
    "accounts_user",
    SPECIALISTS,
    CASES,
    EVENTS,
    ATTEMPTS,
)


def seed_cases(mix: CaseMix, *, now: dt.datetime, specialists: list[int]) -> dict[str, Any]:
    """The sellers and cases of ``mix`` (with its events and attempts), assigned evenly
    over the ``specialists`` (user ids); then ``VACUUM (ANALYZE)``.

    The plain indexes of the tables loaded are dropped during the load and rebuilt as
    the migrations made them: faster than maintaining them row by row. Returns what was
    made: counts, sizes (MB) and the seconds of each step; exits if the counts of open
    and due cases are not the mix's.
    """
    from django.contrib.contenttypes.models import ContentType
    from django.db import connection

    from cases.models import Case
    from sellers.models import PolicyArea

    seconds: dict[str, float] = {}
    start = time.perf_counter()
    first_seller = seed_sellers(
        mix.seller_count, prefix=mix.seller_prefix, now=now, stores=mix.stores, emails=True
    )
    seconds["sellers"] = round(time.perf_counter() - start, 2)
    closed = mix.cases - mix.open
    due_hour = dt.timedelta(hours=73) if mix.due else mix.open_span
    with connection.cursor() as cursor:

        def step(name: str, sql: str, params: dict[str, Any] | None = None) -> None:
            start = time.perf_counter()
            cursor.execute(sql, params)
            seconds[name] = round(seconds.get(name, 0) + time.perf_counter() - start, 2)

        loaded = (CASES, *((EVENTS,) if mix.events else ()), *((ATTEMPTS,) if mix.attempts else ()))
        dropped = {table: plain_indexes(cursor, table) for table in loaded}
        for indexes in dropped.values():
            for index_name, _definition in indexes:
                cursor.execute(f'DROP INDEX "{index_name}"')
        step(
            "cases",
            CASES_INSERT,
            {
                "n": mix.cases,
                "closed": closed,
                "due": mix.due,
                "closed_div": max(closed, 1),
                "due_div": max(mix.due, 1),
                "later_div": max(mix.open - mix.due, 1),
                "now": now,
                "closed_end": now - max(mix.open_span, due_hour),
                "closed_span": mix.closed_span,
                "open_span": mix.open_span,
                "first_seller": first_seller,
                "sellers": mix.seller_count,
                "specialists": specialists,
                "areas": list(PolicyArea.values),
                "severities": weighted(mix.severities),
                "open_statuses": weighted(mix.open_statuses),
                "closed_statuses": weighted(mix.closed_statuses),
            },
        )
        if mix.events:
            step("events", EVENTS_INSERT)
        if mix.attempts:
            case_type = ContentType.objects.get_for_model(Case).pk
            step("attempts", ATTEMPTS_INSERT, {"now": now, "case_type": case_type, **mix.in_flight})
        cursor.execute("SET maintenance_work_mem = '512MB'")
        for indexes in dropped.values():
            for _index_name, definition in indexes:
                step("indexes", definition)
        cursor.execute("RESET maintenance_work_mem")
        for table in SEEDED_TABLES:
            step("vacuum_analyze", f"VACUUM (ANALYZE) {table}")
        figures = _seeded_figures(cursor, now)
    if (figures["open_cases"], figures["due_cases"]) != (mix.open, mix.due):
        sys.exit(
            f"seeding made {figures['open_cases']} open and {figures['due_cases']} due "
            f"cases, not {mix.open} and {mix.due}"
        )
    return {
        **figures,
        "sellers": mix.seller_count,
        "in_flight": dict(mix.in_flight) if mix.attempts else {},
        "seconds": seconds,
    }


def _seeded_figures(cursor, now: dt.datetime) -> dict[str, Any]:
    """Counts and sizes after seeding."""
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
    cursor.execute(f"SELECT status, count(*) FROM {CASES} GROUP BY 1 ORDER BY 2 DESC, 1")
    by_status = dict(cursor.fetchall())
    cursor.execute(f"SELECT status, count(*) FROM {ATTEMPTS} GROUP BY 1 ORDER BY 2 DESC, 1")
    attempts_by_status = dict(cursor.fetchall())
    cursor.execute(f"SELECT count(*) FROM {EVENTS}")
    events = cursor.fetchone()[0]
    tables_mb = {}
    indexes_mb: dict[str, dict[str, float]] = {}
    for table in (CASES, EVENTS, ATTEMPTS):
        cursor.execute(f"SELECT pg_total_relation_size('{table}')")
        tables_mb[table] = round(cursor.fetchone()[0] / 2**20)
        cursor.execute(
            """SELECT indexrelid::regclass::text, pg_relation_size(indexrelid)
               FROM pg_index WHERE indrelid = %(t)s::regclass ORDER BY 1""",
            {"t": table},
        )
        indexes_mb[table] = {name: round(size / 2**20, 2) for name, size in cursor.fetchall()}
    cursor.execute("SELECT pg_database_size(current_database())")
    database_mb = round(cursor.fetchone()[0] / 2**20)
    return {
        "cases": total,
        "open_cases": open_cases,
        "due_cases": due,
        "timers_later": later,
        "timers_later_span": [str(first_later), str(last_later)],
        "by_status": by_status,
        "events": events,
        "attempts": sum(attempts_by_status.values()),
        "attempts_by_status": attempts_by_status,
        "tables_mb": tables_mb,
        "indexes_mb": indexes_mb,
        "database_mb": database_mb,
    }
