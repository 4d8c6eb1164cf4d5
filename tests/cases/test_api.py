"""The cases API: open, list, read, transitions with their 409/403/400 answers."""

from io import StringIO

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from accounts.roles import Role
from cases.models import Case
from cases.services import case_open, case_transition, remediation_step_add
from tests.factories import SellerFactory, SpecialistFactory, UserFactory

pytestmark = pytest.mark.django_db


def client_for(user=None, name="feed") -> APIClient:
    out = StringIO()
    args = [name, "--user", user.username] if user else [name]
    call_command("issue_api_token", *args, stdout=out, stderr=StringIO())
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {out.getvalue().strip()}")
    return client


@pytest.fixture
def specialist():
    return SpecialistFactory().user


@pytest.fixture
def seller():
    return SellerFactory(seller_id="S1")


def payload(**overrides):
    return {
        "seller_id": "S1",
        "policy_area": "counterfeit",
        "severity": "critical",
        "summary": "Counterfeit complaint on ASIN B00X",
        "upstream_id": "AH-1",
        **overrides,
    }


def test_upstream_opens_a_case_once_per_upstream_issue(seller, specialist):
    upstream = client_for()
    first = upstream.post("/api/v1/cases/", payload(), format="json")
    assert first.status_code == 201, first.json()
    body = first.json()
    assert body["status"] == "opened"
    assert body["assured"] is False
    assert body["reach_deadline"] is None
    assert body["assigned_to"] == specialist.username
    again = upstream.post("/api/v1/cases/", payload(summary="changed"), format="json")
    assert again.status_code == 200
    assert again.json()["id"] == body["id"]
    assert Case.objects.count() == 1


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"seller_id": "NOPE"}, "seller_id"),
        ({"severity": "urgent"}, "severity"),
        ({"policy_area": ""}, "policy_area"),
    ],
)
def test_bad_case_fields_are_named(seller, change, field):
    response = client_for().post("/api/v1/cases/", payload(**change), format="json")
    assert response.status_code == 400
    assert field in response.json()


def test_transition_answers_new_state_then_409_with_what_is_allowed(seller, specialist):
    case, _ = case_open(seller=seller, policy_area="counterfeit", severity="high", summary="x")
    api = client_for(specialist, "desk")
    ok = api.post(f"/api/v1/cases/{case.pk}/transitions/contact/", {}, format="json")
    assert ok.status_code == 200
    assert ok.json()["status"] == "contacted"
    again = api.post(f"/api/v1/cases/{case.pk}/transitions/contact/", {}, format="json")
    assert again.status_code == 409
    assert again.json()["status"] == "contacted"
    assert again.json()["allowed"] == ["escalate"]
    assert "cannot be contacted" in again.json()["error"]


def test_escalate_and_resolve_need_a_reason(seller, specialist):
    case, _ = case_open(seller=seller, policy_area="counterfeit", severity="high", summary="x")
    api = client_for(specialist, "desk")
    response = api.post(
        f"/api/v1/cases/{case.pk}/transitions/escalate/", {"reason": " "}, format="json"
    )
    assert response.status_code == 400
    assert "reason" in response.json()
    assert Case.objects.get().status == "opened"


def test_reinstate_is_for_managers_only(seller, specialist):
    case, _ = case_open(seller=seller, policy_area="counterfeit", severity="high", summary="x")
    case_transition(case_id=case.pk, name="escalate", by=specialist, reason="no answer")
    refused = client_for(specialist, "desk").post(
        f"/api/v1/cases/{case.pk}/transitions/reinstate/", {"reason": "x"}, format="json"
    )
    assert refused.status_code == 403
    manager = client_for(UserFactory(role=Role.MANAGER), "mgr")
    done = manager.post(
        f"/api/v1/cases/{case.pk}/transitions/reinstate/", {"reason": "spoke"}, format="json"
    )
    assert done.status_code == 200
    assert done.json()["status"] == "contacted"


def test_unknown_transition_is_404(seller, specialist):
    case, _ = case_open(seller=seller, policy_area="counterfeit", severity="high", summary="x")
    response = client_for(specialist, "desk").post(
        f"/api/v1/cases/{case.pk}/transitions/delete/", {}
    )
    assert response.status_code == 404


def test_sellers_read_only_their_own_cases(seller, specialist):
    mine, _ = case_open(seller=seller, policy_area="counterfeit", severity="high", summary="mine")
    theirs, _ = case_open(
        seller=SellerFactory(), policy_area="counterfeit", severity="high", summary="theirs"
    )
    seller_user = UserFactory(role=Role.SELLER)
    seller.users.add(seller_user)
    api = client_for(seller_user, "me")
    listed = api.get("/api/v1/cases/").json()
    assert [case["id"] for case in listed["results"]] == [mine.pk]
    assert api.get(f"/api/v1/cases/{theirs.pk}/").status_code == 404
    assert api.get(f"/api/v1/cases/{mine.pk}/events/").status_code == 200
    assert api.post(f"/api/v1/cases/{mine.pk}/transitions/contact/", {}).status_code == 403
    assert api.post("/api/v1/cases/", payload(upstream_id="AH-2"), format="json").status_code == 403


def test_list_filters_and_detail_with_events(seller, specialist):
    case, _ = case_open(
        seller=seller, policy_area="counterfeit", severity="high", summary="x", upstream_id="U"
    )
    remediation_step_add(
        case_id=case.pk, by=specialist, text="Remove listing", owner="seller", due_on="2030-01-01"
    )
    case_transition(case_id=case.pk, name="contact", by=specialist)
    api = client_for(specialist, "desk")
    assert api.get("/api/v1/cases/?status=contacted&seller_id=S1").json()["count"] == 1
    assert api.get("/api/v1/cases/?status=opened").json()["count"] == 0
    assert api.get(f"/api/v1/cases/?assigned_to={specialist.username}").json()["count"] == 1
    assert api.get("/api/v1/cases/?status=bogus").status_code == 400
    assert api.get("/api/v1/cases/?overdue=maybe").status_code == 400
    detail = api.get(f"/api/v1/cases/{case.pk}/").json()
    assert [event["kind"] for event in detail["events"]] == [
        "opened",
        "assignment",
        "step_added",
        "transition",
    ]
    assert detail["events"][-1]["actor"] == specialist.get_full_name()
