"""Every benchmark, run at a tiny size on PostgreSQL: benchmarks that cannot rot.

Each script runs as a subprocess (its own Django, ``config.settings.local``, as the
scripts expect) against the server of the test database: it creates ``aha_bench_<pid>``
from the maintenance database ``postgres``, seeds, measures, drops it and prints one
JSON document. The test asserts that it exited 0 (the scripts exit 1 when one of their
own checks fails), that the JSON parses, that its checks hold, and that its database is
gone. A schema or code change that breaks a seeder or a measured path fails here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from django.db import connection

from tests.conftest import database_url

ROOT = Path(__file__).resolve().parents[2]
# A bound for a hung run only: each takes well under a minute.
TIMEOUT_SECONDS = 300

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="the benchmarks need PostgreSQL (they create a database of their own); "
        "run with DATABASE_URL=postgres://...",
    ),
]


def check_ahr_ingest(result: dict[str, Any]) -> None:
    sellers = result["sellers"]
    assert result["ingest"]["accepted"] == sellers
    assert result["ingest"]["rejected"] == 0
    assert result["check"] == {
        "states": sellers,
        "states_at_today": sellers,
        "count_mismatches_1pct": 0,
    }
    assert result["seed"]["invalid_phones_in_sample"] == 0
    # History covers the window: the eligible sellers are enrolled (not a vacuous run).
    assert result["seed"]["enrolled_before"] > 0


def check_at_risk_wave(result: dict[str, Any]) -> None:
    sellers = result["sellers"]
    assert result["scenario"] == "at-risk-wave"
    assert result["within_60_s"] is True
    assert (result["cases_opened"], result["next_action_at_set"]) == (sellers, sellers)
    assert result["notifications_posted"] == 2 * sellers
    notifications = result["check"]["notifications"]
    assert (notifications["band_change"], notifications["account_health"]) == (sellers, sellers)
    # Two specialists in each of the two stores: routing spread the cases over all four.
    assert result["distinct_assignees"] == 4
    assert (result["check"]["unassigned"], result["check"]["misrouted"]) == (0, 0)
    assert result["check"]["wrong_policy_area"] == 0
    assert result["ingest"]["band_changes"] == sellers
    # History covers the window: the sellers were enrolled, and the drop removes them.
    assert result["ingest"]["enrollment"]["removed"] == sellers
    sweep = result["sweep"]
    assert sweep["report"]["cases"] == sweep["asked"] == 75
    assert sweep["report"]["emails"] == sweep["outreach_attempts"]["email"] == 75
    assert sweep["report"]["errors"] == 0
    assert sweep["still_due"] == sellers - 75


def check_case_queue(result: dict[str, Any]) -> None:
    assert (result["cases"], result["open_cases"]) == (300, 60)
    assert result["specialist"]["cases"] > 0
    assert set(result["requests"]) == {
        "desk_my_queue",
        "desk_team_queue",
        "api_assigned_to_me",
        "api_default",
    }
    for figures in result["requests"].values():
        assert figures["status"] == 200
        assert figures["plans"]["main"] is not None


def check_sweep(result: dict[str, Any]) -> None:
    due = result["due_cases"]
    assert (result["cases"], result["open_cases"], due) == (300, 60, 10)
    assert len(result["sweeps"]) == 2
    for run in result["sweeps"]:
        assert run["check"] == {
            "still_due": 0,
            "escalated_now": due,
            "escalation_events": due,
            "expected_escalated": due,
        }
        assert run["report"]["escalated"] == due
        assert run["report"]["errors"] == 0
        assert run["first_batch_sql_same_as_explained"] is True
    # Batches of 4: the 10 due cases take several, then an empty select ends the sweep.
    assert result["summary"]["batches"] >= 3
    assert result["idle_sweep"]["report"]["cases"] == 0


# The smallest sizes that still take every path: several ingest chunks over a history
# that covers the window; every desk and API list; sweeps of several batches, twice.
BENCHMARKS = {
    "ahr_ingest": (
        "--sellers 1000 --history-days 190 --chunk-size 250 --copy-repeats 1",
        check_ahr_ingest,
    ),
    # One ahr_ingest in which every seller falls to At Risk; a sweep of several batches.
    "ahr_ingest_at_risk_wave": (
        (
            "--scenario at-risk-wave --sellers 200 --history-days 190 --specialists-per-store 2 "
            "--violations-per-seller 2 --sweep-cases 75 --sweep-batch-size 25"
        ),
        check_at_risk_wave,
    ),
    "case_queue": (
        "--cases 300 --open 60 --specialists 3 --repeats 1 --warmup 1",
        check_case_queue,
    ),
    "sweep": (
        "--cases 300 --open 60 --due 10 --specialists 3 --batch-size 4 --sweep-repeats 2",
        check_sweep,
    ),
}


def maintenance_url() -> str:
    """The test database's server, user and password; the database ``postgres``."""
    parts = urlsplit(database_url())
    return urlunsplit((parts.scheme, parts.netloc, "/postgres", parts.query, ""))


def drop_if_left(url: str, name: str) -> bool:
    """Drops the database ``name`` if it is still there; says whether it was."""
    with psycopg.connect(url, autocommit=True) as conn:
        left = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if left:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return bool(left)


def last_json_document(stdout: str) -> dict[str, Any]:
    """The last document printed (``json.dumps(indent=2)``: its first line is "{")."""
    lines = stdout.splitlines()
    starts = [number for number, line in enumerate(lines) if line == "{"]
    assert starts, f"no JSON document on stdout:\n{stdout[-2000:]}"
    return json.loads("\n".join(lines[starts[-1] :]))


@pytest.mark.parametrize("name", sorted(BENCHMARKS))
def test_benchmark_runs_at_a_tiny_size(name: str) -> None:
    arguments, check = BENCHMARKS[name]
    url = maintenance_url()
    env = {
        **os.environ,
        # The scripts' own settings, not the suite's (pytest-django exported those).
        "DJANGO_SETTINGS_MODULE": "config.settings.local",
        "DEBUG": "false",
        "DATABASE_URL": url,
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    script = name.removesuffix("_at_risk_wave")  # a scenario of ahr_ingest.py
    command = [sys.executable, str(ROOT / "benchmarks" / f"{script}.py"), *arguments.split()]
    with subprocess.Popen(
        [*command, "--database-url", url],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as process:
        database = f"aha_bench_{process.pid}"  # bench_database's name for it
        try:
            stdout, stderr = process.communicate(timeout=TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            stdout, stderr = process.communicate()
            pytest.fail(f"{name} still ran after {TIMEOUT_SECONDS} s:\n{stderr[-4000:]}")
        finally:
            left = drop_if_left(url, database)
    assert process.returncode == 0, (
        f"{' '.join(command)} exited {process.returncode}:\n{stderr[-4000:]}"
    )
    assert not left, f"{name} left its database {database} behind"
    result = last_json_document(stdout)
    assert result["failed_checks"] == []
    check(result)
