"""The account-health figures of the SLA report (issue 15, item 5): by store and ISO week
of opening, cases opened, first attempt within target, recovered within 30 days.

Hand-computable data: in the week of Monday 2 March 2026 the US store opens four cases,
three of them decided for the first attempt (two on time, one late: 2/3), and all four
decided for recovery (opened more than 30 days before "now"), one of them recovered
within 30 days (1/4).
"""

import csv
import datetime as dt
import io
from zoneinfo import ZoneInfo

import pytest
import time_machine

from accounts.roles import Role
from cases.models import Case, CaseEvent
from reports.selectors import account_health_figures, default_period
from sellers.models import Store
from sellers.services import ahr_ingest, assurance_evaluate
from tests.builders import enrolled_seller
from tests.factories import SellerFactory, UserFactory

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 4, 20, 12, 0, tzinfo=dt.UTC)  # a Monday, week 2026-W17
WEEK_10 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)  # Monday of 2026-W10


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def health_case(
    *,
    opened_at: dt.datetime,
    store: str = "US",
    first_attempt_after: dt.timedelta | None = None,
    target: dt.timedelta = dt.timedelta(days=1),
    closed_after: dt.timedelta | None = None,
    closed_by: str = "recover",
) -> Case:
    """An account-health case: its first call ``first_attempt_after`` opening (None: not
    made), its target ``target`` after opening, closed by ``closed_by`` after
    ``closed_after`` (None: still open)."""
    seller = SellerFactory(store=Store.objects.get(code=store))
    closed = closed_after is not None
    case = Case.objects.create(
        kind=Case.Kind.ACCOUNT_HEALTH,
        seller=seller,
        policy_area="a_to_z_claims",
        severity="high",
        summary="Account Health Rating fell to 150 (At Risk).",
        assured=False,
        opened_at=opened_at,
        first_attempt_due=opened_at + target,
        first_attempt_at=opened_at + first_attempt_after if first_attempt_after else None,
        status=Case.Status.RESOLVED if closed else Case.Status.OPENED,
        resolved_at=opened_at + closed_after if closed else None,
    )
    if closed:
        CaseEvent.objects.create(
            case=case,
            kind=CaseEvent.Kind.TRANSITION,
            transition=closed_by,
            from_status="contacted",
            to_status="resolved",
            actor_process="account health",
            created_at=opened_at + closed_after,
        )
    return case


@pytest.fixture
def week_10():
    """The US store's week of 2 March: 2 of 3 first attempts on time, 1 of 4 recovered."""
    hour, day = dt.timedelta(hours=1), dt.timedelta(days=1)
    health_case(opened_at=WEEK_10, first_attempt_after=2 * hour, closed_after=10 * day)
    health_case(
        opened_at=WEEK_10 + 2 * day,
        first_attempt_after=day,
        closed_after=5 * day,
        closed_by="resolve",
    )  # on time to the minute; resolved by the specialist, not recovered
    health_case(opened_at=WEEK_10 + 3 * day, first_attempt_after=30 * hour, closed_after=40 * day)
    # Sunday afternoon is still the same ISO week; its target is still ahead and no call
    # was made yet: not decided for the first attempt, but 30 days old for recovery.
    health_case(opened_at=WEEK_10 + 6 * day + 14 * hour, target=dt.timedelta(days=60))
    # A critical policy case the same week does not count.
    Case.objects.create(
        seller=SellerFactory(),
        policy_area="counterfeit",
        severity="critical",
        summary="Counterfeit",
        opened_at=WEEK_10,
        first_attempt_at=WEEK_10,
    )


def figures(**period):
    start, end = default_period(NOW.date())
    return account_health_figures(
        start=period.get("start", start), end=period.get("end", end), now=NOW
    )


def test_three_decided_first_attempts_two_on_time_is_two_thirds(week_10):
    (row,) = figures()
    assert (row.store, row.iso_week, row.week) == ("US", "2026-W10", dt.date(2026, 3, 2))
    assert row.opened == 4
    assert (row.first_attempt_in_time, row.first_attempt_decided) == (2, 3)
    assert row.first_attempt_share == pytest.approx(2 / 3)


def test_only_cases_closed_by_recover_within_30_days_count_as_recovered(week_10):
    (row,) = figures()
    assert (row.recovered, row.recovery_decided) == (1, 4)
    assert row.recovered_share == pytest.approx(0.25)


def test_a_young_case_counts_for_recovery_once_recovered_and_not_before(week_10):
    monday = dt.datetime(2026, 4, 13, 8, 0, tzinfo=dt.UTC)  # one week before now
    health_case(opened_at=monday, store="CA", closed_after=dt.timedelta(days=5))
    health_case(opened_at=monday, store="CA")  # neither 30 days old nor recovered
    ca = [row for row in figures() if row.store == "CA"]
    assert [(row.iso_week, row.opened) for row in ca] == [("2026-W16", 2)]
    assert (ca[0].recovered, ca[0].recovery_decided) == (1, 1)
    assert (ca[0].first_attempt_in_time, ca[0].first_attempt_decided) == (0, 2)


def test_nothing_decided_is_no_share_rather_than_zero():
    health_case(opened_at=NOW - dt.timedelta(hours=3))
    (row,) = figures()
    assert row.first_attempt_decided == 0
    assert row.first_attempt_share is None
    assert row.recovered_share is None


def test_rows_come_by_week_then_store(week_10):
    health_case(opened_at=WEEK_10 + dt.timedelta(days=1), store="CA")
    health_case(opened_at=WEEK_10 + dt.timedelta(days=7), store="CA")
    assert [(row.iso_week, row.store) for row in figures()] == [
        ("2026-W10", "CA"),
        ("2026-W10", "US"),
        ("2026-W11", "CA"),
    ]


def test_the_period_is_utc_dates_inclusive():
    health_case(opened_at=dt.datetime(2026, 3, 9, 23, 59, 59, tzinfo=dt.UTC))
    health_case(opened_at=dt.datetime(2026, 3, 10, 0, 0, tzinfo=dt.UTC))
    health_case(opened_at=dt.datetime(2026, 3, 8, 23, 59, 59, tzinfo=dt.UTC))
    (row,) = figures(start=dt.date(2026, 3, 9), end=dt.date(2026, 3, 9))
    assert row.opened == 1
    assert [row.opened for row in figures(start=dt.date(2026, 3, 8), end=dt.date(2026, 3, 9))] == [
        1,
        1,
    ], "Sunday 8 March is week 10, Monday 9 March week 11"


def test_the_default_period_is_the_last_eight_iso_weeks():
    assert default_period(dt.date(2026, 4, 20)) == (dt.date(2026, 3, 2), dt.date(2026, 4, 20))
    assert default_period(dt.date(2026, 4, 26)) == (dt.date(2026, 3, 2), dt.date(2026, 4, 26))
    health_case(opened_at=dt.datetime(2026, 3, 1, 23, 0, tzinfo=dt.UTC))  # week 9: out
    health_case(opened_at=dt.datetime(2026, 3, 2, 0, 0, tzinfo=dt.UTC))
    assert [row.iso_week for row in figures()] == ["2026-W10"]


def test_the_figures_are_one_query(week_10, django_assert_num_queries):
    with django_assert_num_queries(1):
        figures()


# --- The page and the CSV ------------------------------------------------------------------


@pytest.fixture
def manager(client):
    client.force_login(UserFactory(role=Role.MANAGER))
    return client


def test_managers_see_the_table_on_the_reports_page(manager, week_10):
    response = manager.get("/reports/")
    assert response.status_code == 200
    page = response.content.decode()
    assert 'data-testid="row-US-2026-W10"' in page
    assert "67 %" in page
    assert "2 / 3" in page
    assert "1 / 4" in page
    assert "/reports/account-health.csv?start=2026-03-02&amp;end=2026-04-20" in page
    assert 'value="2026-03-02"' in page, "the period shown in the form"
    assert 'value="2026-04-20"' in page


@pytest.mark.parametrize("role", [Role.SPECIALIST, Role.SELLER])
def test_only_managers_read_the_reports(client, role):
    client.force_login(UserFactory(role=role))
    assert client.get("/reports/").status_code == 403
    assert client.get("/reports/account-health.csv").status_code == 403


def test_anonymous_visitors_are_sent_to_sign_in(client):
    assert client.get("/reports/").status_code == 302
    assert client.get("/reports/account-health.csv").status_code == 302


def test_the_csv_has_the_same_rows_as_the_table(manager, week_10):
    response = manager.get("/reports/account-health.csv", {"start": "2026-03-01"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "account-health-2026-03-01-2026-04-20.csv" in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert rows == [
        {
            "store": "US",
            "iso_week": "2026-W10",
            "week_start": "2026-03-02",
            "opened": "4",
            "first_attempt_decided": "3",
            "first_attempt_in_time": "2",
            "first_attempt_share": "0.6667",
            "recovery_decided": "4",
            "recovered_within_30_days": "1",
            "recovered_share": "0.2500",
        }
    ]


def test_a_bad_date_is_a_form_error_keeping_what_was_typed(manager):
    response = manager.get("/reports/", {"start": "2026-13-01", "end": "2026-04-01"})
    assert response.status_code == 200
    page = response.content.decode()
    assert 'data-testid="error-start"' in page
    assert 'value="2026-13-01"' in page
    assert 'data-testid="account-health-figures"' not in page


def test_a_period_ending_before_it_starts_names_the_end(manager):
    response = manager.get("/reports/", {"start": "2026-04-01", "end": "2026-03-01"})
    assert "The end of the period is before its start." in response.content.decode()
    csv_answer = manager.get("/reports/account-health.csv", {"start": "x", "end": "2026-03-01"})
    assert csv_answer.status_code == 400
    assert csv_answer.content.decode().startswith("start: ")


def test_an_empty_period_says_so(manager):
    assert "No account-health cases were opened in this period." in (
        manager.get("/reports/").content.decode()
    )


@pytest.mark.postgres
def test_the_figures_are_the_same_on_postgresql(week_10):
    (row,) = figures()
    assert (row.opened, row.first_attempt_in_time, row.first_attempt_decided) == (4, 2, 3)
    assert (row.recovered, row.recovery_decided) == (1, 4)


def test_a_case_opened_and_recovered_by_the_evaluation_counts_as_recovered(
    django_capture_on_commit_callbacks,
):
    """The real flow (cases.health): a drop to 150 opens the case and calls at once (noon
    in Los Angeles), fourteen Healthy days close it with ``recover``."""
    seller = enrolled_seller()
    noon = dt.datetime(2026, 3, 2, 12, 0, tzinfo=ZoneInfo("America/Los_Angeles"))
    with time_machine.travel(noon, tick=False):
        for day, score in [(dt.date(2026, 3, 2), 150), (dt.date(2026, 3, 3), 400)]:
            with django_capture_on_commit_callbacks(execute=True):
                rows = [{"seller_id": seller.seller_id, "date": str(day), "score": score}]
                assert ahr_ingest(rows, today=day).rejected == []
    with time_machine.travel(noon + dt.timedelta(days=18), tick=False):
        assurance_evaluate(day=dt.date(2026, 3, 16))
    case = Case.objects.get(seller=seller, kind=Case.Kind.ACCOUNT_HEALTH)
    assert case.status == Case.Status.RESOLVED
    (row,) = figures()
    assert (row.store, row.iso_week, row.opened) == ("US", "2026-W10", 1)
    assert (row.first_attempt_in_time, row.first_attempt_decided) == (1, 1)
    assert (row.recovered, row.recovery_decided) == (1, 1)
