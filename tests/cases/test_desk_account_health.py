"""Account-health cases on the desk, in the API and in admin (issue 15, item 5).

The desk's default queue stays the critical policy queue (the 72-hour promise); the
"Account health" tab lists account-health cases by their first-attempt target. Their
page says there is no 72-hour guarantee and shows the target, the seller's rating and
the open violations that cost the most points. The API answers ``kind`` and
``first_attempt_due`` and filters by kind, but never opens an account-health case.
In admin, ``kind`` and ``first_attempt_due`` are read-only like every rule-bearing field.
"""

import datetime as dt

import pytest
import time_machine

from accounts.roles import Role
from cases.models import Case
from sellers.models import (
    AccountHealthSnapshot,
    AssuranceState,
    BandChange,
    NotificationPreferences,
)
from sellers.services import ahr_ingest
from sellers.services.notices import notification_post, notification_preferences_set
from tests.builders import api_client, enrolled_seller
from tests.cases.test_desk import queue_ids, row, text_of
from tests.factories import (
    AdminFactory,
    CaseFactory,
    SellerFactory,
    SpecialistFactory,
    UserFactory,
    ViolationFactory,
)

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 3, 16, 12, 0, tzinfo=dt.UTC)  # a Monday
Kind = Case.Kind


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def specialist():
    return SpecialistFactory(
        user__username="sam", user__first_name="Sam", user__last_name="Rivera"
    ).user


@pytest.fixture
def desk(client, specialist):
    client.force_login(specialist)
    return client


def rated(score: int, **fields):
    """A seller whose latest AHR is ``score`` (the value, and the state the evaluation keeps)."""
    seller = SellerFactory(**fields)
    AccountHealthSnapshot.objects.create(seller=seller, date=NOW.date(), score=score)
    AssuranceState.objects.create(seller=seller, latest_score=score, latest_snapshot_on=NOW.date())
    return seller


def health_case(*, due_in_hours: float, seller=None, **fields) -> Case:
    """An open account-health case, as cases.health opens one: no deadline, not assured."""
    fields.setdefault("severity", "high")
    return Case.objects.create(
        kind=Kind.ACCOUNT_HEALTH,
        seller=seller or rated(150),
        policy_area=fields.pop("policy_area", "a_to_z_claims"),
        summary=fields.pop("summary", "Account Health Rating fell to 150 (At Risk)."),
        assured=False,
        opened_at=NOW - dt.timedelta(hours=24) + dt.timedelta(hours=due_in_hours),
        first_attempt_due=NOW + dt.timedelta(hours=due_in_hours),
        **fields,
    )


def critical_case(**fields) -> Case:
    deadline = NOW + dt.timedelta(hours=fields.pop("hours_left", 30))
    return CaseFactory(
        assured=True, reach_deadline=deadline, opened_at=deadline - dt.timedelta(hours=72), **fields
    )


# --- The queue ---------------------------------------------------------------------------


def test_the_account_health_tab_lists_only_account_health_cases_earliest_target_first(
    desk, specialist
):
    later = health_case(due_in_hours=20, assigned_to=specialist)
    soonest = health_case(due_in_hours=-3, assigned_to=specialist)
    middle = health_case(due_in_hours=5, assigned_to=specialist)
    critical = critical_case(assigned_to=specialist)
    response = desk.get("/desk/", {"kind": "account_health"})
    assert response.status_code == 200
    assert queue_ids(response) == [soonest.pk, middle.pk, later.pk]
    assert critical.pk not in queue_ids(response)
    assert text_of(response, "count-account-health") == "3"
    assert text_of(response, "count-critical") == "1"


def test_a_case_the_evaluation_opens_is_on_the_account_health_tab_only(
    desk, specialist, django_capture_on_commit_callbacks
):
    seller = enrolled_seller()
    rows = [{"seller_id": seller.seller_id, "date": str(NOW.date()), "score": 180}]
    with django_capture_on_commit_callbacks(execute=True):
        assert ahr_ingest(rows, today=NOW.date()).rejected == []
    case = Case.objects.get(seller=seller, kind=Kind.ACCOUNT_HEALTH)
    assert case.assigned_to == specialist
    assert queue_ids(desk.get("/desk/", {"kind": "account_health"})) == [case.pk]
    assert queue_ids(desk.get("/desk/")) == []
    assert "180 At Risk" in row(desk.get("/desk/", {"kind": "account_health"}), case)


def test_the_default_queue_stays_the_critical_policy_queue(desk, specialist):
    critical = critical_case(assigned_to=specialist)
    health_case(due_in_hours=5, assigned_to=specialist)
    for params in ({}, {"scope": "team"}, {"kind": "critical_policy"}, {"kind": "bogus"}):
        response = desk.get("/desk/", params)
        assert queue_ids(response) == [critical.pk], params
        assert text_of(response, "count-mine") == "1"
    assert 'aria-current="page" data-testid="tab-critical"' in desk.get("/desk/").content.decode()


def test_the_team_tab_counts_and_lists_everyones_account_health_cases(desk, specialist):
    colleague = SpecialistFactory(user__username="kim").user
    mine = health_case(due_in_hours=8, assigned_to=specialist)
    theirs = health_case(due_in_hours=2, assigned_to=colleague)
    unassigned = health_case(due_in_hours=4)
    mine_only = desk.get("/desk/", {"kind": "account_health"})
    assert queue_ids(mine_only) == [mine.pk]
    team = desk.get("/desk/", {"kind": "account_health", "scope": "team"})
    assert queue_ids(team) == [theirs.pk, unassigned.pk, mine.pk]
    assert text_of(team, "count-team") == "3"
    assert text_of(team, "count-mine") == "1"


def test_an_account_health_row_shows_rating_band_severity_target_and_assignee(desk, specialist):
    case = health_case(
        due_in_hours=-2,
        seller=rated(80, seller_id="A-LOW"),
        severity="critical",
        assigned_to=specialist,
    )
    response = desk.get("/desk/", {"kind": "account_health"})
    text = row(response, case)
    assert "80 Unhealthy" in text
    assert "Critical" in text
    assert "Sam Rivera" in text
    assert "16 Mar 2026, 10:00" in text, "the first-attempt target (UTC)"
    assert "late" in text
    assert text_of(response, "rating") == "80 Unhealthy"


def test_late_only_when_the_target_passed_without_a_first_attempt(desk, specialist):
    due_later = health_case(due_in_hours=3, assigned_to=specialist)
    missed = health_case(due_in_hours=-1, assigned_to=specialist)
    made = health_case(
        due_in_hours=-1, assigned_to=specialist, first_attempt_at=NOW - dt.timedelta(hours=2)
    )
    response = desk.get("/desk/", {"kind": "account_health"})
    assert "late" not in row(response, due_later)
    assert "late" in row(response, missed)
    assert "late" not in row(response, made)
    assert "First attempt 16 Mar, 10:00" in row(response, made)


def test_the_account_health_queue_keeps_filters_and_kind_together(desk, specialist):
    high = health_case(due_in_hours=3, assigned_to=specialist, severity="high")
    health_case(due_in_hours=1, assigned_to=specialist, severity="critical")
    response = desk.get("/desk/", {"kind": "account_health", "severity": "high"})
    assert queue_ids(response) == [high.pk]
    page = response.content.decode()
    assert '<input type="hidden" name="kind" value="account_health">' in page
    assert "Clear filters" in page
    assert "?kind=account_health" in page


def test_the_account_health_queue_takes_a_fixed_number_of_queries(
    desk, specialist, django_assert_max_num_queries
):
    def add(count: int) -> None:
        for n in range(count):
            health_case(due_in_hours=n, seller=rated(120 + n), assigned_to=specialist)

    add(2)
    with django_assert_max_num_queries(10) as few:
        desk.get("/desk/", {"kind": "account_health"})
    add(20)
    with django_assert_max_num_queries(10) as many:
        response = desk.get("/desk/", {"kind": "account_health"})
    assert len(queue_ids(response)) == 22
    assert len(many.captured_queries) == len(few.captured_queries)


def test_empty_account_health_queues_say_so(desk):
    page = desk.get("/desk/", {"kind": "account_health"}).content.decode()
    assert "No open account-health cases are assigned to you." in page
    team = desk.get("/desk/", {"kind": "account_health", "scope": "team"}).content.decode()
    assert "The team has no open account-health cases." in team


# --- The case page -------------------------------------------------------------------------


def test_an_account_health_case_page_shows_no_guarantee_target_rating_and_violations(
    desk, specialist
):
    seller = rated(150, seller_id="A-SOL")
    small = ViolationFactory(seller=seller, points=10, policy_area="late_shipment_rate")
    big = ViolationFactory(seller=seller, points=40, policy_area="a_to_z_claims")
    middle = ViolationFactory(seller=seller, points=25, policy_area="valid_tracking_rate")
    ViolationFactory(seller=seller, points=90, status="resolved", resolved_on=NOW.date())
    case = health_case(due_in_hours=6, seller=seller, assigned_to=specialist)
    response = desk.get(f"/desk/cases/{case.pk}/")
    assert response.status_code == 200
    page = response.content.decode()
    assert text_of(response, "account-health") == "Account health — no 72-hour guarantee"
    assert 'class="countdown' not in page, "no deadline countdown"
    assert "AHA assured" not in page
    assert text_of(response, "first-attempt-due").startswith("16 Mar 2026, 18:00")
    assert "150 At Risk" in text_of(response, "seller-health")
    rows = [text_of(response, f"violation-{v.pk}") for v in (big, middle, small)]
    assert rows[0].startswith("40 A-to-z")
    order = [page.index(f'data-testid="violation-{v.pk}"') for v in (big, middle, small)]
    assert order == sorted(order), "most points first"
    assert page.count('data-testid="violation-') == 3, "open violations only"


def test_the_account_health_case_page_says_late_when_the_target_passed(desk, specialist):
    case = health_case(due_in_hours=-1, assigned_to=specialist)
    assert "late" in text_of(desk.get(f"/desk/cases/{case.pk}/"), "first-attempt-due")


def test_a_critical_case_page_keeps_its_countdown_and_no_account_health_label(desk, specialist):
    case = critical_case(hours_left=30, assigned_to=specialist)
    response = desk.get(f"/desk/cases/{case.pk}/")
    page = response.content.decode()
    assert 'data-testid="account-health"' not in page
    assert 'data-testid="violations"' not in page
    assert "countdown-ok" in page
    assert "Reach deadline" in page


# --- The API -------------------------------------------------------------------------------


def test_the_api_answers_kind_and_first_attempt_due_and_filters_by_kind(specialist):
    health = health_case(due_in_hours=6, assigned_to=specialist)
    critical = critical_case(assigned_to=specialist)
    api = api_client(specialist)
    every = api.get("/api/v1/cases/").json()["results"]
    assert {case["id"]: case["kind"] for case in every} == {
        health.pk: "account_health",
        critical.pk: "critical_policy",
    }
    only = api.get("/api/v1/cases/", {"kind": "account_health"}).json()["results"]
    assert [case["id"] for case in only] == [health.pk]
    assert only[0]["first_attempt_due"] == "2026-03-16T18:00:00Z"
    assert only[0]["reach_deadline"] is None
    critical_only = api.get("/api/v1/cases/", {"kind": "critical_policy"}).json()["results"]
    assert [case["id"] for case in critical_only] == [critical.pk]
    detail = api.get(f"/api/v1/cases/{health.pk}/").json()
    assert detail["kind"] == "account_health"


def test_an_unknown_kind_filter_is_a_400_naming_it(specialist):
    response = api_client(specialist).get("/api/v1/cases/", {"kind": "health"})
    assert response.status_code == 400
    assert "kind" in response.json()["errors"]


def case_payload(**overrides) -> dict:
    return {
        "seller_id": "S-API",
        "policy_area": "counterfeit",
        "severity": "critical",
        "summary": "Counterfeit complaint",
        **overrides,
    }


def test_a_client_cannot_open_an_account_health_case(specialist):
    SellerFactory(seller_id="S-API")
    response = api_client().post(
        "/api/v1/cases/", case_payload(kind="account_health"), format="json"
    )
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert list(errors) == ["kind"]
    assert "opened by AHA Desk" in errors["kind"][0]
    assert not Case.objects.exists()


@pytest.mark.parametrize("extra", [{}, {"kind": "critical_policy"}])
def test_a_case_opened_through_the_api_is_a_critical_policy_case(specialist, extra):
    SellerFactory(seller_id="S-API")
    response = api_client().post("/api/v1/cases/", case_payload(**extra), format="json")
    assert response.status_code == 201
    assert response.json()["kind"] == "critical_policy"
    assert response.json()["first_attempt_due"] is None
    assert Case.objects.get().kind == Kind.CRITICAL_POLICY


# --- Admin ---------------------------------------------------------------------------------


def test_admin_lists_and_filters_cases_by_kind(client, specialist):
    health = health_case(due_in_hours=6, assigned_to=specialist)
    critical = critical_case(assigned_to=specialist)
    client.force_login(AdminFactory())
    page = client.get("/admin/cases/case/", {"kind__exact": "account_health"})
    assert page.status_code == 200
    shown = [obj.pk for obj in page.context["cl"].result_list]
    assert shown == [health.pk]
    assert critical.pk not in shown
    assert "Account health" in page.content.decode()


@pytest.mark.parametrize("who", ["manager", "admin"])
def test_no_one_rewrites_the_kind_or_the_first_attempt_target_in_admin(client, specialist, who):
    case = health_case(due_in_hours=6, assigned_to=specialist)
    user = AdminFactory() if who == "admin" else UserFactory(role=Role.MANAGER)
    client.force_login(user)
    url = f"/admin/cases/case/{case.pk}/change/"
    page = client.get(url)
    assert page.status_code == 200
    form = page.context["adminform"].form
    assert "kind" not in form.fields
    assert "first_attempt_due" not in form.fields
    readonly = set(page.context["adminform"].readonly_fields)
    assert {"kind", "first_attempt_due"} <= readonly
    client.post(
        url,
        {
            "kind": "critical_policy",
            "first_attempt_due_0": "2030-01-01",
            "first_attempt_due_1": "00:00:00",
            "summary": case.summary,
            "evidence": case.evidence,
            "severity": case.severity,
            "policy_area": case.policy_area,
        },
    )
    case.refresh_from_db()
    assert case.kind == Kind.ACCOUNT_HEALTH
    assert case.first_attempt_due == NOW + dt.timedelta(hours=6)


@pytest.fixture
def seller_records():
    seller = rated(150, seller_id="A-BELL")
    BandChange.objects.create(
        seller=seller, from_band="healthy", to_band="at_risk", score=150, effective_on=NOW.date()
    )
    notification_post(seller=seller, kind="band_change", title="Your rating is At Risk", body="…")
    notification_preferences_set(seller=seller, second_email="", email={"violation": False})
    return seller


@pytest.mark.parametrize("model", ["bandchange", "sellernotification", "notificationpreferences"])
def test_the_new_sellers_admin_pages_render_and_search_by_seller_id(client, seller_records, model):
    client.force_login(AdminFactory())
    listing = client.get(f"/admin/sellers/{model}/")
    assert listing.status_code == 200
    found = client.get(f"/admin/sellers/{model}/", {"q": "A-BELL"})
    assert found.status_code == 200
    assert len(found.context["cl"].result_list) == 1
    assert not client.get(f"/admin/sellers/{model}/", {"q": "nobody"}).context["cl"].result_list
    assert client.get(f"/admin/sellers/{model}/add/").status_code == 403


def test_even_an_admin_reads_but_never_changes_band_changes_notifications_or_preferences(
    client, seller_records
):
    client.force_login(AdminFactory())
    preferences = NotificationPreferences.objects.get(seller=seller_records)
    notice = seller_records.notifications.get()
    change = BandChange.objects.get(seller=seller_records)
    for model, obj in [
        ("notificationpreferences", preferences),
        ("sellernotification", notice),
        ("bandchange", change),
    ]:
        url = f"/admin/sellers/{model}/{obj.pk}/change/"
        assert client.get(url).status_code == 200, "a read-only view"
        assert client.post(url, {"email_violation": "on", "title": "edited"}).status_code == 403
        assert client.get(f"/admin/sellers/{model}/{obj.pk}/delete/").status_code == 403
    preferences.refresh_from_db()
    notice.refresh_from_db()
    change.refresh_from_db()
    assert preferences.email_violation is False
    assert notice.title == "Your rating is At Risk"
    assert change.score == 150
